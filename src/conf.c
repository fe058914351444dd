/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "compat.h"
#include "conf.h"
#include "db.h"
#include "err.h"
#include "log.h"
#include "misc.h"
#include "net.h"
#include "pool.h"
#include "xmalloc.h"

#define CONF_DEFAULT_LISTEN_HOST     "0.0.0.0"
#define CONF_DEFAULT_SSH_PORT        2222
#define CONF_DEFAULT_TUNNEL_ADDRESS  "0.0.0.0"
#define CONF_DEFAULT_PORT_LOW        10000
#define CONF_DEFAULT_PORT_HIGH       59999
#define CONF_DEFAULT_LOGIN_GRACE     120
#define CONF_DEFAULT_NODE_TIMEOUT    15 /* seconds */
#define CONF_MAX_NODE_TIMEOUT        3600
#define CONF_DEFAULT_MAX_ENDPOINTS   16
#define CONF_DEFAULT_MAX_CONNECTIONS 1024
#define CONF_DEFAULT_MAX_SESSIONS    10
#define CONF_DEFAULT_AFFINITY        (24 * 3600)
#define CONF_MAX_SESSIONS            100000
#define CONF_DEFAULT_MAX_ALL         1000
#define CONF_DEFAULT_EVENT_RETENTION (7 * 24 * 3600)
#define CONF_DEFAULT_SESS_RETENTION  (7 * 24 * 3600)
#define CONF_DEFAULT_EVENT_MAX       1000000
#define CONF_MAX_EVENT_COUNT         1000000000000LL
/* Webhook delivery: events per request, and seconds per request. */
#define CONF_DEFAULT_WEBHOOK_BATCH   100
#define CONF_MAX_WEBHOOK_BATCH       1000
#define CONF_DEFAULT_WEBHOOK_TIMEOUT 10
#define CONF_MAX_WEBHOOK_TIMEOUT     300
#define CONF_MAX_STARTUPS            100000
#define CONF_MAX_ENDPOINTS           1000
#define CONF_MAX_CONNECTIONS         65535
#define CONF_DATABASE_NAME           "porthole.db"
#define CONF_HOST_KEY_NAME           "ssh_host_ed25519_key"
#define CONF_TOKEN_KEY_NAME          "token.key"
#define CONF_HOSTNAME_MAX            253 /* RFC 1035 text form */
#define CONF_LABEL_MAX               63
#define CONF_NODE_NAME_MAX           63 /* NodeName */
#define CONF_REGION_MAX              32 /* Region */
#define CONF_QUOTE_LEN               101 /* values echoed in errors */
#define CONF_DEFAULT_API_CONNS       64
#define CONF_DEFAULT_API_PER_SOURCE  16
#define CONF_MAX_API_CONNS           10000
#define CONF_DEFAULT_API_BODY        (1024 * 1024)
#define CONF_MIN_API_BODY            1024
#define CONF_MAX_API_BODY            (64 * 1024 * 1024)
#define CONF_DEFAULT_API_HEADER      (32 * 1024)
#define CONF_MIN_API_HEADER          4096
#define CONF_MAX_API_HEADER          (1024 * 1024)
#define CONF_DEFAULT_API_TIMEOUT     30
#define CONF_MAX_API_TIMEOUT         3600
#define CONF_API_BASE_URL_MAX        200
#define CONF_LINE_ERR_LEN            512

#define CONF_BLANKS " \t\r\n\f\v"

enum conf_kw {
	CONF_KW_LISTEN_ADDRESS = 0,
	CONF_KW_STATE_DIRECTORY,
	CONF_KW_DATABASE,
	CONF_KW_HOST_KEY,
	CONF_KW_PUBLIC_HOST,
	CONF_KW_TUNNEL_ADDRESS,
	CONF_KW_PORT_RANGE,
	CONF_KW_LOGIN_GRACE_TIME,
	CONF_KW_MAX_ENDPOINTS_PER_SESSION,
	CONF_KW_MAX_CONNECTIONS_PER_ENDPOINT,
	CONF_KW_LOG_LEVEL,
	CONF_KW_SYSLOG_FACILITY,
	CONF_KW_ALLOW_ANONYMOUS,
	CONF_KW_ADDRESS_AFFINITY,
	CONF_KW_MAX_SESSIONS_PER_ACCOUNT,
	CONF_KW_TOKEN_KEY,
	CONF_KW_EVENT_LOG,
	CONF_KW_EVENT_RETENTION,
	CONF_KW_METRICS_LISTEN,
	CONF_KW_MAX_STARTUPS,
	CONF_KW_PER_SOURCE_MAX_STARTUPS,
	CONF_KW_MAX_AUTH_TRIES,
	CONF_KW_CLIENT_ALIVE_INTERVAL,
	CONF_KW_CLIENT_ALIVE_COUNT_MAX,
	CONF_KW_PER_SOURCE_PENALTIES,
	CONF_KW_USER,
	CONF_KW_MAX_SESSIONS,
	CONF_KW_SESSION_RETENTION,
	CONF_KW_EVENT_MAX_COUNT,
	CONF_KW_NODE_NAME,
	CONF_KW_REGION,
	CONF_KW_NODE_TIMEOUT,
	CONF_KW_API_LISTEN,
	CONF_KW_API_MAX_CONNECTIONS,
	CONF_KW_API_MAX_PER_SOURCE,
	CONF_KW_API_MAX_BODY_SIZE,
	CONF_KW_API_MAX_HEADER_SIZE,
	CONF_KW_API_REQUEST_TIMEOUT,
	CONF_KW_API_CERTIFICATE,
	CONF_KW_API_PRIVATE_KEY,
	CONF_KW_API_BASE_URL,
	CONF_KW_WEBHOOK_BATCH_SIZE,
	CONF_KW_WEBHOOK_TIMEOUT,
	CONF_KW_METRICS_ACCOUNT_LABELS,
	CONF_KW_COUNT /* not a keyword: how many there are */
};

/* conf_state's cmdline_set has one bit per keyword. */
_Static_assert(CONF_KW_COUNT <= 64, "one bit of cmdline_set per keyword");

/* How conf_set() treats a value it has checked. */
enum conf_mode {
	CONF_MODE_CHECK = 0, /* validate only: a file line -o overrides */
	CONF_MODE_SET, /* scalars: replace; lists: append */
	CONF_MODE_REPLACE, /* lists: drop what is there, then append */
};

static const struct conf_keyword {
	const char *name;
	enum conf_kw kw;
	int multi; /* repeatable: values accumulate */
} conf_keywords[] = {
	{ "ListenAddress", CONF_KW_LISTEN_ADDRESS, 1 },
	{ "StateDirectory", CONF_KW_STATE_DIRECTORY, 0 },
	{ "Database", CONF_KW_DATABASE, 0 },
	{ "HostKey", CONF_KW_HOST_KEY, 0 },
	{ "PublicHost", CONF_KW_PUBLIC_HOST, 1 },
	{ "TunnelAddress", CONF_KW_TUNNEL_ADDRESS, 0 },
	{ "PortRange", CONF_KW_PORT_RANGE, 0 },
	{ "LoginGraceTime", CONF_KW_LOGIN_GRACE_TIME, 0 },
	{ "MaxEndpointsPerSession", CONF_KW_MAX_ENDPOINTS_PER_SESSION, 0 },
	{ "MaxConnectionsPerEndpoint", CONF_KW_MAX_CONNECTIONS_PER_ENDPOINT,
	    0 },
	{ "LogLevel", CONF_KW_LOG_LEVEL, 0 },
	{ "SyslogFacility", CONF_KW_SYSLOG_FACILITY, 0 },
	{ "AllowAnonymous", CONF_KW_ALLOW_ANONYMOUS, 0 },
	{ "MetricsAccountLabels", CONF_KW_METRICS_ACCOUNT_LABELS, 0 },
	{ "AddressAffinity", CONF_KW_ADDRESS_AFFINITY, 0 },
	{ "MaxSessionsPerAccount", CONF_KW_MAX_SESSIONS_PER_ACCOUNT, 0 },
	{ "TokenKey", CONF_KW_TOKEN_KEY, 0 },
	{ "EventLog", CONF_KW_EVENT_LOG, 0 },
	{ "EventRetention", CONF_KW_EVENT_RETENTION, 0 },
	{ "MetricsListen", CONF_KW_METRICS_LISTEN, 0 },
	{ "MaxStartups", CONF_KW_MAX_STARTUPS, 0 },
	{ "PerSourceMaxStartups", CONF_KW_PER_SOURCE_MAX_STARTUPS, 0 },
	{ "MaxAuthTries", CONF_KW_MAX_AUTH_TRIES, 0 },
	{ "ClientAliveInterval", CONF_KW_CLIENT_ALIVE_INTERVAL, 0 },
	{ "ClientAliveCountMax", CONF_KW_CLIENT_ALIVE_COUNT_MAX, 0 },
	{ "PerSourcePenalties", CONF_KW_PER_SOURCE_PENALTIES, 0 },
	{ "User", CONF_KW_USER, 0 },
	{ "MaxSessions", CONF_KW_MAX_SESSIONS, 0 },
	{ "SessionRetention", CONF_KW_SESSION_RETENTION, 0 },
	{ "EventMaxCount", CONF_KW_EVENT_MAX_COUNT, 0 },
	{ "NodeName", CONF_KW_NODE_NAME, 0 },
	{ "NodeTimeout", CONF_KW_NODE_TIMEOUT, 0 },
	{ "Region", CONF_KW_REGION, 0 },
	{ "ApiListen", CONF_KW_API_LISTEN, 0 },
	{ "ApiMaxConnections", CONF_KW_API_MAX_CONNECTIONS, 0 },
	{ "ApiMaxConnectionsPerSource", CONF_KW_API_MAX_PER_SOURCE, 0 },
	{ "ApiMaxBodySize", CONF_KW_API_MAX_BODY_SIZE, 0 },
	{ "ApiMaxHeaderSize", CONF_KW_API_MAX_HEADER_SIZE, 0 },
	{ "ApiRequestTimeout", CONF_KW_API_REQUEST_TIMEOUT, 0 },
	{ "ApiCertificate", CONF_KW_API_CERTIFICATE, 0 },
	{ "ApiPrivateKey", CONF_KW_API_PRIVATE_KEY, 0 },
	{ "ApiBaseURL", CONF_KW_API_BASE_URL, 0 },
	{ "WebhookBatchSize", CONF_KW_WEBHOOK_BATCH_SIZE, 0 },
	{ "WebhookTimeout", CONF_KW_WEBHOOK_TIMEOUT, 0 },
};

/* SyslogFacility names that turn syslog on (log.c always uses DAEMON). */
static const char *const conf_facilities[] = { "DAEMON", "AUTH", "LOCAL0",
	"LOCAL1", "LOCAL2", "LOCAL3", "LOCAL4", "LOCAL5", "LOCAL6", "LOCAL7" };

/*
 * What conf_new() really allocates. The public struct comes first, so
 * the struct conf * handed out points at this too; the -o bookkeeping
 * lives here because struct conf has no field for it.
 */
struct conf_state {
	struct conf conf;
	uint64_t cmdline_set; /* bit (1 << kw): given by -o */
};

/* Write a reason into errbuf, if the caller gave one. */
static void __attribute__((format(printf, 3, 4)))
conf_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errbuf == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

/* Copy <s> for quoting in an error: escaped and clipped to 100 bytes. */
static char *
conf_quote(char *buf, size_t len, const char *s)
{
	return log_sanitize(buf, len, s);
}

/*
 * Parse decimal <s> (digits only: no sign, blanks or base prefix) within
 * [min, max] into *vp. Returns 0 or PORTHOLE_ERR_INVALID_FORMAT.
 */
static int
conf_parse_num(const char *s, long long min, long long max, long long *vp)
{
	const char *p;
	long long v = 0;

	if (*s == '\0')
		return PORTHOLE_ERR_INVALID_FORMAT;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return PORTHOLE_ERR_INVALID_FORMAT;
		v = v * 10 + (*p - '0');
		if (v > max)
			return PORTHOLE_ERR_INVALID_FORMAT;
	}
	if (v < min)
		return PORTHOLE_ERR_INVALID_FORMAT;
	*vp = v;
	return 0;
}

/*
 * Predicate: <s> is a numeric IPv4 or IPv6 address; stores its family
 * and bytes in *afp and addr (16 bytes) when those are not NULL.
 */
static int
conf_is_numeric_addr(const char *s, int *afp, unsigned char *addr)
{
	unsigned char buf[sizeof(struct in6_addr)];
	int af = AF_INET;

	memset(buf, 0, sizeof(buf));
	if (inet_pton(AF_INET, s, buf) != 1) {
		af = AF_INET6;
		if (inet_pton(AF_INET6, s, buf) != 1)
			return 0;
	}
	if (afp != NULL)
		*afp = af;
	if (addr != NULL)
		memcpy(addr, buf, sizeof(buf));
	return 1;
}

/*
 * Predicate: <s> is a name of 1 to <max> characters of [A-Za-z0-9._-],
 * not starting with '-' (NodeName, Region: they appear in rows, events,
 * metric labels and tables, so nothing needs quoting).
 */
static int
conf_is_label(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || s[0] == '-')
		return 0;
	return strspn(s,
	           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	           "0123456789._-") == n;
}

/*
 * Predicate: <s> is usable as a public host name: an IP literal, or
 * dot-separated labels of letters, digits and inner hyphens whose last
 * label is not all digits (so "300.1.1.1" is neither).
 */
static int
conf_is_hostname(const char *s)
{
	const char *p;
	size_t label = 0;
	int alldigits = 1;

	if (conf_is_numeric_addr(s, NULL, NULL))
		return 1;
	if (*s == '\0' || strlen(s) > CONF_HOSTNAME_MAX)
		return 0;
	for (p = s;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || label > CONF_LABEL_MAX ||
			    p[-1] == '-')
				return 0;
			if (*p == '\0')
				break;
			label = 0;
			alldigits = 1;
			continue;
		}
		if (*p == '-') {
			if (label == 0)
				return 0;
			alldigits = 0;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
			alldigits = 0;
		else if (*p < '0' || *p > '9')
			return 0;
		label++;
	}
	return !alldigits;
}

/* Free every ListenAddress and leave the list empty. */
static void
conf_clear_listen(struct conf *conf)
{
	size_t i;

	for (i = 0; i < conf->nlisten; i++)
		free(conf->listen[i].host);
	free(conf->listen);
	conf->listen = NULL;
	conf->nlisten = 0;
}

/* Free every PublicHost and leave the list empty. */
static void
conf_clear_public_hosts(struct conf *conf)
{
	size_t i;

	for (i = 0; i < conf->npublic_hosts; i++)
		free(conf->public_hosts[i]);
	free(conf->public_hosts);
	conf->public_hosts = NULL;
	conf->npublic_hosts = 0;
}

/* Append ListenAddress host:port, taking ownership of <host>. */
static void
conf_add_listen(struct conf *conf, char *host, uint16_t port)
{
	conf->listen = xrecallocarray(conf->listen, conf->nlisten,
	    conf->nlisten + 1, sizeof(*conf->listen));
	conf->listen[conf->nlisten].host = host;
	conf->listen[conf->nlisten].port = port;
	conf->nlisten++;
}

/* Append a copy of PublicHost <host>. */
static void
conf_add_public_host(struct conf *conf, const char *host)
{
	conf->public_hosts =
	    xrecallocarray(conf->public_hosts, conf->npublic_hosts,
	        conf->npublic_hosts + 1, sizeof(*conf->public_hosts));
	conf->public_hosts[conf->npublic_hosts++] = xstrdup(host);
}

/* Replace the string at *sp by a copy of <value>. */
static void
conf_set_str(char **sp, const char *value)
{
	free(*sp);
	*sp = xstrdup(value);
}

/*
 * Parse MaxStartups: "N" (refuse at N) or "START:RATE:FULL" as sshd
 * (random early drop from START, RATE percent, rising to all at FULL).
 */
static int
conf_parse_startups(const char *s, int *beginp, int *ratep, int *fullp)
{
	long long b, r = 100, f;
	char *copy = xstrdup(s), *p, *q;
	const char *err = NULL;
	int ret = -1;

	if ((p = strchr(copy, ':')) == NULL) {
		b = strtonum(copy, 1, CONF_MAX_STARTUPS, &err);
		f = b;
		if (err != NULL)
			goto out;
	} else {
		*p++ = '\0';
		if ((q = strchr(p, ':')) == NULL)
			goto out;
		*q++ = '\0';
		b = strtonum(copy, 1, CONF_MAX_STARTUPS, &err);
		if (err == NULL)
			r = strtonum(p, 1, 100, &err);
		if (err == NULL)
			f = strtonum(q, 1, CONF_MAX_STARTUPS, &err);
		if (err != NULL || f < b)
			goto out;
	}
	*beginp = (int)b;
	*ratep = (int)r;
	*fullp = (int)f;
	ret = 0;
out:
	free(copy);
	return ret;
}

/*
 * Parse PerSourcePenalties: "no", or blank-free "key:time" words
 * separated by ',' or blanks — authfail, noauth, grace-exceeded (time
 * added per event), min (refuse once a source has this much), max (the
 * most a source can have). Unset keys keep their values.
 */
static int
conf_parse_penalties(struct conf *conf, const char *s, int check, char *errbuf,
    size_t errlen)
{
	int64_t v[6] = { conf->penalty_authfail, conf->penalty_noauth,
		conf->penalty_grace, conf->penalty_min, conf->penalty_max,
		conf->penalty_crash };
	static const char *const names[6] = { "authfail", "noauth",
		"grace-exceeded", "min", "max", "crash" };
	char *copy = xstrdup(s), *word, *save = NULL, *colon;
	char qw[CONF_QUOTE_LEN], qt[CONF_QUOTE_LEN];
	size_t i;
	int ret = -1, on = 1;

	if (strcasecmp(s, "no") == 0)
		on = 0;
	else if (strcasecmp(s, "yes") != 0) {
		for (word = strtok_r(copy, ", \t", &save); word != NULL;
		     word = strtok_r(NULL, ", \t", &save)) {
			if ((colon = strchr(word, ':')) == NULL) {
				conf_err(errbuf, errlen,
				    "PerSourcePenalties: '%s' is not KEY:TIME",
				    conf_quote(qw, sizeof(qw), word));
				goto out;
			}
			*colon++ = '\0';
			for (i = 0; i < 6; i++) {
				if (strcasecmp(word, names[i]) == 0)
					break;
			}
			if (i == 6 || misc_convtime(colon, &v[i]) != 0) {
				conf_err(errbuf, errlen,
				    "PerSourcePenalties: bad '%s:%s' "
				    "(authfail, noauth, grace-exceeded, crash, "
				    "min, max with a time)",
				    conf_quote(qw, sizeof(qw), word),
				    conf_quote(qt, sizeof(qt), colon));
				goto out;
			}
		}
	}
	if (!check) {
		conf->penalties = on;
		conf->penalty_authfail = v[0];
		conf->penalty_noauth = v[1];
		conf->penalty_grace = v[2];
		conf->penalty_min = v[3];
		conf->penalty_max = v[4];
		conf->penalty_crash = v[5];
	}
	ret = 0;
out:
	free(copy);
	return ret;
}

/*
 * Parse a byte size: digits with an optional K or M suffix (KiB, MiB),
 * within [min, max]. Returns 0 or PORTHOLE_ERR_INVALID_FORMAT.
 */
static int
conf_parse_size(const char *s, long long min, long long max, long long *vp)
{
	char digits[32];
	size_t len = strlen(s);
	long long mult = 1, v;

	if (len == 0 || len >= sizeof(digits))
		return PORTHOLE_ERR_INVALID_FORMAT;
	memcpy(digits, s, len + 1);
	if (digits[len - 1] == 'k' || digits[len - 1] == 'K')
		mult = 1024;
	else if (digits[len - 1] == 'm' || digits[len - 1] == 'M')
		mult = 1024 * 1024;
	if (mult != 1)
		digits[len - 1] = '\0';
	if (conf_parse_num(digits, 0, max / mult, &v) != 0 || v * mult < min)
		return PORTHOLE_ERR_INVALID_FORMAT;
	*vp = v * mult;
	return 0;
}

/* The Api* keywords (the HTTP API, src/api.c), as conf_set(). */
static int
conf_set_api(struct conf *conf, const struct conf_keyword *k, const char *arg,
    enum conf_mode mode, char *errbuf, size_t errlen)
{
	char q[CONF_QUOTE_LEN];
	char *host = NULL;
	uint16_t port;
	int64_t secs;
	long long n;
	int r = PORTHOLE_ERR_INVALID_FORMAT;

	conf_quote(q, sizeof(q), arg);
	switch (k->kw) {
	case CONF_KW_API_LISTEN:
		if (strcasecmp(arg, "none") == 0) {
			if (mode != CONF_MODE_CHECK) {
				free(conf->api_host);
				conf->api_host = NULL;
				conf->api_port = 0;
			}
			break;
		}
		if (net_split_hostport(arg, -1, &host, &port) != 0 ||
		    !conf_is_numeric_addr(host, NULL, NULL) || port == 0) {
			conf_err(errbuf, errlen,
			    "%s: '%s' is not ADDRESS:PORT (numeric, port not "
			    "0) or none",
			    k->name, q);
			goto out;
		}
		if (mode != CONF_MODE_CHECK) {
			free(conf->api_host);
			conf->api_host = host; /* now conf's */
			host = NULL;
			conf->api_port = port;
		}
		break;
	case CONF_KW_API_MAX_CONNECTIONS:
		if (conf_parse_num(arg, 1, CONF_MAX_API_CONNS, &n) != 0) {
			conf_err(errbuf, errlen, "%s: '%s' is not in 1..%d",
			    k->name, q, CONF_MAX_API_CONNS);
			goto out;
		}
		if (mode != CONF_MODE_CHECK)
			conf->api_max_connections = (int)n;
		break;
	case CONF_KW_API_MAX_PER_SOURCE:
		if (strcasecmp(arg, "none") == 0)
			n = 0;
		else if (conf_parse_num(arg, 1, CONF_MAX_API_CONNS, &n) != 0) {
			conf_err(errbuf, errlen,
			    "%s: '%s' is not in 1..%d or none", k->name, q,
			    CONF_MAX_API_CONNS);
			goto out;
		}
		if (mode != CONF_MODE_CHECK)
			conf->api_max_per_source = (int)n;
		break;
	case CONF_KW_API_MAX_BODY_SIZE:
	case CONF_KW_API_MAX_HEADER_SIZE:
		if (k->kw == CONF_KW_API_MAX_BODY_SIZE
		        ? conf_parse_size(arg, CONF_MIN_API_BODY,
		              CONF_MAX_API_BODY, &n) != 0
		        : conf_parse_size(arg, CONF_MIN_API_HEADER,
		              CONF_MAX_API_HEADER, &n) != 0) {
			conf_err(errbuf, errlen,
			    "%s: '%s' is not a size in bytes (K and M "
			    "suffixes allowed) from %d to %d",
			    k->name, q,
			    k->kw == CONF_KW_API_MAX_BODY_SIZE
			        ? CONF_MIN_API_BODY
			        : CONF_MIN_API_HEADER,
			    k->kw == CONF_KW_API_MAX_BODY_SIZE
			        ? CONF_MAX_API_BODY
			        : CONF_MAX_API_HEADER);
			goto out;
		}
		if (mode == CONF_MODE_CHECK)
			break;
		if (k->kw == CONF_KW_API_MAX_BODY_SIZE)
			conf->api_max_body = n;
		else
			conf->api_max_header = n;
		break;
	case CONF_KW_API_REQUEST_TIMEOUT:
		if (misc_convtime(arg, &secs) != 0 || secs < 1 ||
		    secs > CONF_MAX_API_TIMEOUT) {
			conf_err(errbuf, errlen,
			    "%s: bad time '%s' (1s to %ds)", k->name, q,
			    CONF_MAX_API_TIMEOUT);
			goto out;
		}
		if (mode != CONF_MODE_CHECK)
			conf->api_request_timeout = secs;
		break;
	case CONF_KW_API_CERTIFICATE:
	case CONF_KW_API_PRIVATE_KEY:
		if (strcasecmp(arg, "none") != 0 && arg[0] != '/') {
			conf_err(errbuf, errlen,
			    "%s: '%s' is not an absolute path or none", k->name,
			    q);
			goto out;
		}
		if (mode == CONF_MODE_CHECK)
			break;
		if (k->kw == CONF_KW_API_CERTIFICATE) {
			free(conf->api_cert);
			conf->api_cert =
			    strcasecmp(arg, "none") == 0 ? NULL : xstrdup(arg);
		} else {
			free(conf->api_key);
			conf->api_key =
			    strcasecmp(arg, "none") == 0 ? NULL : xstrdup(arg);
		}
		break;
	case CONF_KW_API_BASE_URL:
		if (strcasecmp(arg, "none") != 0 &&
		    ((strncmp(arg, "http://", 7) != 0 &&
		         strncmp(arg, "https://", 8) != 0) ||
		        strlen(arg) > CONF_API_BASE_URL_MAX ||
		        arg[strcspn(arg, "\"<>?# ")] != '\0')) {
			conf_err(errbuf, errlen,
			    "%s: '%s' is not an http:// or https:// URL (no "
			    "query, at most %d bytes) or none",
			    k->name, q, CONF_API_BASE_URL_MAX);
			goto out;
		}
		if (mode == CONF_MODE_CHECK)
			break;
		free(conf->api_base_url);
		conf->api_base_url = NULL;
		if (strcasecmp(arg, "none") != 0) {
			conf->api_base_url = xstrdup(arg);
			/* Paths are appended: no trailing slash. */
			n = (long long)strlen(conf->api_base_url);
			while (n > 0 && conf->api_base_url[n - 1] == '/')
				conf->api_base_url[--n] = '\0';
		}
		break;
	default:
		fatal_f("keyword %s is not an Api keyword", k->name);
	}
	r = 0;
out:
	free(host);
	return r;
}

/*
 * Check <arg> for keyword <k> and, unless <mode> is CONF_MODE_CHECK,
 * store it. Returns 0 or PORTHOLE_ERR_INVALID_FORMAT with a reason that
 * names the keyword in errbuf.
 */
static int
conf_set(struct conf *conf, const struct conf_keyword *k, const char *arg,
    enum conf_mode mode, char *errbuf, size_t errlen)
{
	char q[CONF_QUOTE_LEN];
	char *host = NULL;
	uint16_t port, low, high;
	int st_begin, st_rate, st_full;
	int64_t secs;
	long long n;
	enum log_level level;
	size_t i;
	int r = PORTHOLE_ERR_INVALID_FORMAT;

	conf_quote(q, sizeof(q), arg);
	if (*arg == '\0') {
		conf_err(errbuf, errlen, "%s: empty value", k->name);
		goto out;
	}
	switch (k->kw) {
	case CONF_KW_LISTEN_ADDRESS:
		if (net_split_hostport(arg, CONF_DEFAULT_SSH_PORT, &host,
		        &port) != 0) {
			conf_err(errbuf, errlen, "%s: bad address '%s'",
			    k->name, q);
			goto out;
		}
		if (!conf_is_numeric_addr(host, NULL, NULL)) {
			conf_err(errbuf, errlen,
			    "%s: '%s' is not a numeric IP address", k->name, q);
			goto out;
		}
		if (mode == CONF_MODE_CHECK)
			break;
		if (mode == CONF_MODE_REPLACE)
			conf_clear_listen(conf);
		/* host now belongs to conf. */
		conf_add_listen(conf, host, port);
		host = NULL;
		break;
	case CONF_KW_STATE_DIRECTORY:
		if (mode != CONF_MODE_CHECK)
			conf_set_str(&conf->state_dir, arg);
		break;
	case CONF_KW_DATABASE:
		if (mode != CONF_MODE_CHECK)
			conf_set_str(&conf->database, arg);
		break;
	case CONF_KW_HOST_KEY:
		if (mode != CONF_MODE_CHECK)
			conf_set_str(&conf->host_key, arg);
		break;
	case CONF_KW_PUBLIC_HOST:
		if (!conf_is_hostname(arg)) {
			conf_err(errbuf, errlen, "%s: bad host name '%s'",
			    k->name, q);
			goto out;
		}
		if (mode == CONF_MODE_CHECK)
			break;
		if (mode == CONF_MODE_REPLACE)
			conf_clear_public_hosts(conf);
		conf_add_public_host(conf, arg);
		break;
	case CONF_KW_TUNNEL_ADDRESS:
		if (!conf_is_numeric_addr(arg, NULL, NULL)) {
			conf_err(errbuf, errlen,
			    "%s: '%s' is not a numeric IP address", k->name, q);
			goto out;
		}
		if (mode != CONF_MODE_CHECK)
			conf_set_str(&conf->tunnel_address, arg);
		break;
	case CONF_KW_PORT_RANGE:
		if (pool_parse_range(arg, &low, &high) != 0) {
			conf_err(errbuf, errlen, "%s: bad range '%s'", k->name,
			    q);
			goto out;
		}
		if (mode != CONF_MODE_CHECK) {
			conf->port_low = low;
			conf->port_high = high;
		}
		break;
	case CONF_KW_LOGIN_GRACE_TIME:
		if (misc_convtime(arg, &secs) != 0) {
			conf_err(errbuf, errlen, "%s: bad time '%s'", k->name,
			    q);
			goto out;
		}
		if (mode != CONF_MODE_CHECK)
			conf->login_grace_time = secs;
		break;
	case CONF_KW_NODE_TIMEOUT:
		if (misc_convtime(arg, &secs) != 0 || secs < 3 ||
		    secs > CONF_MAX_NODE_TIMEOUT) {
			conf_err(errbuf, errlen,
			    "%s: bad time '%s' (3s to %ds)", k->name, q,
			    CONF_MAX_NODE_TIMEOUT);
			goto out;
		}
		if (mode != CONF_MODE_CHECK)
			conf->node_timeout = secs;
		break;
	case CONF_KW_MAX_ENDPOINTS_PER_SESSION:
		if (conf_parse_num(arg, 1, CONF_MAX_ENDPOINTS, &n) != 0) {
			conf_err(errbuf, errlen, "%s: '%s' is not in 1..%d",
			    k->name, q, CONF_MAX_ENDPOINTS);
			goto out;
		}
		if (mode != CONF_MODE_CHECK)
			conf->max_endpoints_per_session = (int)n;
		break;
	case CONF_KW_MAX_CONNECTIONS_PER_ENDPOINT:
		if (conf_parse_num(arg, 1, CONF_MAX_CONNECTIONS, &n) != 0) {
			conf_err(errbuf, errlen, "%s: '%s' is not in 1..%d",
			    k->name, q, CONF_MAX_CONNECTIONS);
			goto out;
		}
		if (mode != CONF_MODE_CHECK)
			conf->max_connections_per_endpoint = (int)n;
		break;
	case CONF_KW_LOG_LEVEL:
		if (log_level_parse(arg, &level) != 0) {
			conf_err(errbuf, errlen, "%s: unknown level '%s'",
			    k->name, q);
			goto out;
		}
		if (mode != CONF_MODE_CHECK)
			conf->log_level = level;
		break;
	case CONF_KW_SYSLOG_FACILITY:
		if (strcasecmp(arg, "none") == 0) {
			if (mode != CONF_MODE_CHECK)
				conf->syslog = 0;
			break;
		}
		for (i = 0;
		     i < sizeof(conf_facilities) / sizeof(conf_facilities[0]);
		     i++) {
			if (strcasecmp(arg, conf_facilities[i]) == 0)
				break;
		}
		if (i == sizeof(conf_facilities) / sizeof(conf_facilities[0])) {
			conf_err(errbuf, errlen, "%s: unknown facility '%s'",
			    k->name, q);
			goto out;
		}
		if (mode != CONF_MODE_CHECK)
			conf->syslog = 1;
		break;
	case CONF_KW_METRICS_ACCOUNT_LABELS:
		/* A stand-in until limctl's parse merges. */
		if (strcasecmp(arg, "yes") != 0 && strcasecmp(arg, "no") != 0) {
			conf_err(errbuf, errlen, "%s: '%s' is not yes or no",
			    k->name, q);
			goto out;
		}
		if (mode != CONF_MODE_CHECK)
			conf->metrics_account_labels =
			    strcasecmp(arg, "yes") == 0;
		break;
	case CONF_KW_ALLOW_ANONYMOUS:
		if (strcasecmp(arg, "yes") == 0)
			n = 1;
		else if (strcasecmp(arg, "no") == 0)
			n = 0;
		else {
			conf_err(errbuf, errlen, "%s: '%s' is not yes or no",
			    k->name, q);
			goto out;
		}
		if (mode != CONF_MODE_CHECK)
			conf->allow_anonymous = (int)n;
		break;
	case CONF_KW_ADDRESS_AFFINITY:
		if (misc_convtime(arg, &secs) != 0) {
			conf_err(errbuf, errlen, "%s: bad time '%s'", k->name,
			    q);
			goto out;
		}
		if (mode != CONF_MODE_CHECK)
			conf->address_affinity = secs;
		break;
	case CONF_KW_MAX_SESSIONS_PER_ACCOUNT:
		if (conf_parse_num(arg, 1, CONF_MAX_SESSIONS, &n) != 0) {
			conf_err(errbuf, errlen, "%s: '%s' is not in 1..%d",
			    k->name, q, CONF_MAX_SESSIONS);
			goto out;
		}
		if (mode != CONF_MODE_CHECK)
			conf->max_sessions_per_account = (int)n;
		break;
	case CONF_KW_MAX_SESSIONS:
		if (conf_parse_num(arg, 1, CONF_MAX_SESSIONS, &n) != 0) {
			conf_err(errbuf, errlen, "%s: '%s' is not in 1..%d",
			    k->name, q, CONF_MAX_SESSIONS);
			goto out;
		}
		if (mode != CONF_MODE_CHECK)
			conf->max_sessions = (int)n;
		break;
	case CONF_KW_TOKEN_KEY:
		if (mode != CONF_MODE_CHECK)
			conf_set_str(&conf->token_key, arg);
		break;
	case CONF_KW_EVENT_LOG:
		if (mode != CONF_MODE_CHECK)
			conf_set_str(&conf->event_log, arg);
		break;
	case CONF_KW_EVENT_RETENTION:
		if (misc_convtime(arg, &secs) != 0) {
			conf_err(errbuf, errlen, "%s: bad time '%s'", k->name,
			    q);
			goto out;
		}
		if (mode != CONF_MODE_CHECK)
			conf->event_retention = secs;
		break;
	case CONF_KW_EVENT_MAX_COUNT:
		if (conf_parse_num(arg, 0, CONF_MAX_EVENT_COUNT, &n) != 0) {
			conf_err(errbuf, errlen, "%s: '%s' is not in 0..%lld",
			    k->name, q, CONF_MAX_EVENT_COUNT);
			goto out;
		}
		if (mode != CONF_MODE_CHECK)
			conf->event_max_count = n;
		break;
	case CONF_KW_WEBHOOK_BATCH_SIZE:
		if (conf_parse_num(arg, 1, CONF_MAX_WEBHOOK_BATCH, &n) != 0) {
			conf_err(errbuf, errlen, "%s: '%s' is not in 1..%d",
			    k->name, q, CONF_MAX_WEBHOOK_BATCH);
			goto out;
		}
		if (mode != CONF_MODE_CHECK)
			conf->webhook_batch_size = (int)n;
		break;
	case CONF_KW_WEBHOOK_TIMEOUT:
		if (misc_convtime(arg, &secs) != 0 || secs < 1 ||
		    secs > CONF_MAX_WEBHOOK_TIMEOUT) {
			conf_err(errbuf, errlen,
			    "%s: '%s' is not a time of 1s to %ds", k->name, q,
			    CONF_MAX_WEBHOOK_TIMEOUT);
			goto out;
		}
		if (mode != CONF_MODE_CHECK)
			conf->webhook_timeout = secs;
		break;
	case CONF_KW_SESSION_RETENTION:
		if (misc_convtime(arg, &secs) != 0) {
			conf_err(errbuf, errlen, "%s: bad time '%s'", k->name,
			    q);
			goto out;
		}
		if (mode != CONF_MODE_CHECK)
			conf->session_retention = secs;
		break;
	case CONF_KW_MAX_STARTUPS:
		if (conf_parse_startups(arg, &st_begin, &st_rate, &st_full) !=
		    0) {
			conf_err(errbuf, errlen,
			    "%s: '%s' is not N or START:RATE:FULL "
			    "(1 <= START <= FULL, RATE 1-100)",
			    k->name, q);
			goto out;
		}
		if (mode != CONF_MODE_CHECK) {
			conf->max_startups_begin = st_begin;
			conf->max_startups_rate = st_rate;
			conf->max_startups_full = st_full;
		}
		break;
	case CONF_KW_PER_SOURCE_MAX_STARTUPS:
		if (strcasecmp(arg, "none") == 0)
			n = 0;
		else if (conf_parse_num(arg, 1, CONF_MAX_STARTUPS, &n) != 0) {
			conf_err(errbuf, errlen,
			    "%s: '%s' is not in 1..%d or none", k->name, q,
			    CONF_MAX_STARTUPS);
			goto out;
		}
		if (mode != CONF_MODE_CHECK)
			conf->per_source_max_startups = (int)n;
		break;
	case CONF_KW_MAX_AUTH_TRIES:
		if (conf_parse_num(arg, 1, 1000, &n) != 0) {
			conf_err(errbuf, errlen, "%s: '%s' is not in 1..1000",
			    k->name, q);
			goto out;
		}
		if (mode != CONF_MODE_CHECK)
			conf->max_auth_tries = (int)n;
		break;
	case CONF_KW_CLIENT_ALIVE_INTERVAL:
		if (misc_convtime(arg, &secs) != 0) {
			conf_err(errbuf, errlen, "%s: bad time '%s'", k->name,
			    q);
			goto out;
		}
		if (mode != CONF_MODE_CHECK)
			conf->client_alive_interval = secs;
		break;
	case CONF_KW_CLIENT_ALIVE_COUNT_MAX:
		if (conf_parse_num(arg, 1, 1000, &n) != 0) {
			conf_err(errbuf, errlen, "%s: '%s' is not in 1..1000",
			    k->name, q);
			goto out;
		}
		if (mode != CONF_MODE_CHECK)
			conf->client_alive_count_max = (int)n;
		break;
	case CONF_KW_PER_SOURCE_PENALTIES:
		if (conf_parse_penalties(conf, arg, mode == CONF_MODE_CHECK,
		        errbuf, errlen) != 0)
			goto out;
		break;
	case CONF_KW_USER:
		if (mode != CONF_MODE_CHECK)
			conf_set_str(&conf->user, arg);
		break;
	case CONF_KW_NODE_NAME:
		if (!conf_is_label(arg, CONF_NODE_NAME_MAX)) {
			conf_err(errbuf, errlen,
			    "%s: bad name '%s' (1-%d of A-Z a-z 0-9 . _ -, "
			    "not starting with '-')",
			    k->name, q, CONF_NODE_NAME_MAX);
			goto out;
		}
		if (mode != CONF_MODE_CHECK)
			conf_set_str(&conf->node_name, arg);
		break;
	case CONF_KW_REGION:
		if (strcasecmp(arg, "none") == 0) {
			if (mode != CONF_MODE_CHECK) {
				free(conf->region);
				conf->region = NULL;
			}
			break;
		}
		if (!conf_is_label(arg, CONF_REGION_MAX)) {
			conf_err(errbuf, errlen,
			    "%s: bad region '%s' (1-%d of A-Z a-z 0-9 . _ -, "
			    "not starting with '-')",
			    k->name, q, CONF_REGION_MAX);
			goto out;
		}
		if (mode != CONF_MODE_CHECK)
			conf_set_str(&conf->region, arg);
		break;
	case CONF_KW_METRICS_LISTEN:
		if (strcasecmp(arg, "none") == 0) {
			if (mode != CONF_MODE_CHECK) {
				free(conf->metrics_host);
				conf->metrics_host = NULL;
				conf->metrics_port = 0;
			}
			break;
		}
		if (net_split_hostport(arg, -1, &host, &port) != 0 ||
		    !conf_is_numeric_addr(host, NULL, NULL) || port == 0) {
			conf_err(errbuf, errlen,
			    "%s: '%s' is not ADDRESS:PORT (numeric, port not "
			    "0) "
			    "or none",
			    k->name, q);
			goto out;
		}
		if (mode != CONF_MODE_CHECK) {
			free(conf->metrics_host);
			conf->metrics_host = host; /* now conf's */
			host = NULL;
			conf->metrics_port = port;
		}
		break;
	case CONF_KW_API_LISTEN:
	case CONF_KW_API_MAX_CONNECTIONS:
	case CONF_KW_API_MAX_PER_SOURCE:
	case CONF_KW_API_MAX_BODY_SIZE:
	case CONF_KW_API_MAX_HEADER_SIZE:
	case CONF_KW_API_REQUEST_TIMEOUT:
	case CONF_KW_API_CERTIFICATE:
	case CONF_KW_API_PRIVATE_KEY:
	case CONF_KW_API_BASE_URL:
		if (conf_set_api(conf, k, arg, mode, errbuf, errlen) != 0)
			goto out;
		break;
	default:
		fatal_f("keyword %s has no handler", k->name);
	}
	r = 0;
out:
	free(host);
	return r;
}

/* Advance past blanks. */
static char *
conf_skip_blanks(char *p)
{
	return p + strspn(p, CONF_BLANKS);
}

/*
 * Cut the next argument out of *sp in place: blanks separate arguments,
 * one that starts with '"' runs to the next '"', and an unquoted '#'
 * starts a comment. Returns 1 with the argument in *argp, 0 at the end
 * of the line, or PORTHOLE_ERR_INVALID_FORMAT for an unbalanced quote.
 */
static int
conf_next_arg(char **sp, char **argp)
{
	char *p = conf_skip_blanks(*sp), *end;

	if (*p == '\0' || *p == '#') {
		*sp = p;
		return 0;
	}
	if (*p == '"') {
		if ((end = strchr(p + 1, '"')) == NULL)
			return PORTHOLE_ERR_INVALID_FORMAT;
		/* The closing quote must end the argument. */
		if (end[1] != '\0' && strchr(CONF_BLANKS, end[1]) == NULL)
			return PORTHOLE_ERR_INVALID_FORMAT;
		*argp = p + 1;
	} else {
		*argp = p;
		end = p + strcspn(p, CONF_BLANKS);
	}
	if (*end != '\0')
		*end++ = '\0';
	*sp = end;
	return 1;
}

/* Look a keyword up, ignoring case; NULL if unknown. */
static const struct conf_keyword *
conf_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(conf_keywords) / sizeof(conf_keywords[0]); i++) {
		if (strcasecmp(name, conf_keywords[i].name) == 0)
			return &conf_keywords[i];
	}
	return NULL;
}

/* Make a conf holding the defaults; the caller frees it with conf_free. */
struct conf *
conf_new(void)
{
	struct conf_state *st;
	struct conf *conf;

	st = xcalloc(1, sizeof(*st));
	conf = &st->conf;
	conf->state_dir = xstrdup(CONF_DEFAULT_STATEDIR);
	conf->tunnel_address = xstrdup(CONF_DEFAULT_TUNNEL_ADDRESS);
	conf->port_low = CONF_DEFAULT_PORT_LOW;
	conf->port_high = CONF_DEFAULT_PORT_HIGH;
	conf->login_grace_time = CONF_DEFAULT_LOGIN_GRACE;
	conf->node_timeout = CONF_DEFAULT_NODE_TIMEOUT;
	conf->max_endpoints_per_session = CONF_DEFAULT_MAX_ENDPOINTS;
	conf->max_connections_per_endpoint = CONF_DEFAULT_MAX_CONNECTIONS;
	conf->max_sessions_per_account = CONF_DEFAULT_MAX_SESSIONS;
	conf->max_sessions = CONF_DEFAULT_MAX_ALL;
	conf->address_affinity = CONF_DEFAULT_AFFINITY;
	conf->allow_anonymous = 0;
	conf->event_log = xstrdup("none");
	conf->max_startups_begin = 10;
	conf->max_startups_rate = 30;
	conf->max_startups_full = 100;
	conf->per_source_max_startups = 10;
	conf->max_auth_tries = 6;
	conf->client_alive_interval = 15;
	conf->client_alive_count_max = 3;
	conf->penalties = 1;
	conf->penalty_authfail = 2;
	conf->penalty_noauth = 0;
	conf->penalty_grace = 10;
	conf->penalty_crash = 90;
	conf->penalty_min = 15;
	conf->penalty_max = 600;
	conf->event_retention = CONF_DEFAULT_EVENT_RETENTION;
	conf->event_max_count = CONF_DEFAULT_EVENT_MAX;
	conf->session_retention = CONF_DEFAULT_SESS_RETENTION;
	conf->api_max_connections = CONF_DEFAULT_API_CONNS;
	conf->api_max_per_source = CONF_DEFAULT_API_PER_SOURCE;
	conf->api_max_body = CONF_DEFAULT_API_BODY;
	conf->api_max_header = CONF_DEFAULT_API_HEADER;
	conf->api_request_timeout = CONF_DEFAULT_API_TIMEOUT;
	conf->webhook_batch_size = CONF_DEFAULT_WEBHOOK_BATCH;
	conf->webhook_timeout = CONF_DEFAULT_WEBHOOK_TIMEOUT;
	conf->log_level = LOG_LEVEL_INFO;
	conf->syslog = 0;
	return conf;
}

/* Free <conf> and everything it holds; NULL is a no-op. */
void
conf_free(struct conf *conf)
{
	if (conf == NULL)
		return;
	conf_clear_listen(conf);
	conf_clear_public_hosts(conf);
	free(conf->state_dir);
	free(conf->database);
	free(conf->node_name);
	free(conf->region);
	free(conf->host_key);
	free(conf->token_key);
	free(conf->event_log);
	free(conf->metrics_host);
	free(conf->api_host);
	free(conf->api_cert);
	free(conf->api_key);
	free(conf->api_base_url);
	free(conf->user);
	free(conf->tunnel_address);
	/* conf is the first member of the conf_state conf_new() made. */
	free((struct conf_state *)conf);
}

/*
 * Apply one "Keyword value" or "Keyword=value" line. A value from -o
 * (cmdline) wins: file lines for that keyword are still checked but not
 * stored, and the first -o for a repeatable keyword drops the file's
 * values.
 */
int
conf_apply_line(struct conf *conf, const char *line, int cmdline, char *errbuf,
    size_t errlen)
{
	struct conf_state *st = (struct conf_state *)conf;
	const struct conf_keyword *k;
	enum conf_mode mode = CONF_MODE_SET;
	char *copy = NULL, *p, *kw, *arg, *extra;
	char q[CONF_QUOTE_LEN];
	uint64_t bit;
	int r = PORTHOLE_ERR_INVALID_FORMAT;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	copy = xstrdup(line);
	p = conf_skip_blanks(copy);
	if (*p == '\0' || *p == '#') {
		r = 0;
		goto out;
	}
	/* The keyword ends at a blank or '='; "Keyword = value" works too. */
	kw = p;
	p += strcspn(p, CONF_BLANKS "=");
	if (*p != '\0' && *p != '=') {
		*p++ = '\0';
		p = conf_skip_blanks(p);
	}
	if (*p == '=')
		*p++ = '\0';
	if (*kw == '\0') {
		conf_err(errbuf, errlen, "missing keyword");
		goto out;
	}
	if ((k = conf_lookup(kw)) == NULL) {
		conf_err(errbuf, errlen, "unknown keyword '%s'",
		    conf_quote(q, sizeof(q), kw));
		goto out;
	}
	switch (conf_next_arg(&p, &arg)) {
	case 1:
		break;
	case 0:
		conf_err(errbuf, errlen, "%s: missing value", k->name);
		goto out;
	default:
		conf_err(errbuf, errlen, "%s: unbalanced quote", k->name);
		goto out;
	}
	switch (conf_next_arg(&p, &extra)) {
	case 0:
		break;
	case 1:
		conf_err(errbuf, errlen, "%s: extra argument '%s'", k->name,
		    conf_quote(q, sizeof(q), extra));
		goto out;
	default:
		conf_err(errbuf, errlen, "%s: unbalanced quote", k->name);
		goto out;
	}

	bit = (uint64_t)1 << k->kw;
	if (!cmdline && (st->cmdline_set & bit) != 0) {
		debug2_f("%s: set by -o, file value ignored", k->name);
		mode = CONF_MODE_CHECK;
	} else if (cmdline && (st->cmdline_set & bit) == 0 && k->multi)
		mode = CONF_MODE_REPLACE;
	if ((r = conf_set(conf, k, arg, mode, errbuf, errlen)) != 0)
		goto out;
	if (cmdline)
		st->cmdline_set |= bit;
	r = 0;
out:
	free(copy);
	return r;
}

/* Read <path> line by line into <conf>; errors read "PATH:LINE: why". */
int
conf_load_file(struct conf *conf, const char *path, int must_exist,
    char *errbuf, size_t errlen)
{
	FILE *f = NULL;
	char *line = NULL;
	char lerr[CONF_LINE_ERR_LEN];
	size_t linesize = 0;
	ssize_t n;
	unsigned long lineno = 0;
	int r = PORTHOLE_ERR_INTERNAL, saved_errno;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT && !must_exist) {
			debug_f("%s: not found, using defaults", path);
			r = 0;
			goto out;
		}
		saved_errno = errno;
		conf_err(errbuf, errlen, "%s: %s", path, strerror(errno));
		errno = saved_errno;
		r = PORTHOLE_ERR_SYSTEM;
		goto out;
	}
	while ((n = getline(&line, &linesize, f)) != -1) {
		lineno++;
		if (strlen(line) != (size_t)n) {
			conf_err(errbuf, errlen, "%s:%lu: NUL byte in line",
			    path, lineno);
			r = PORTHOLE_ERR_INVALID_FORMAT;
			goto out;
		}
		if ((r = conf_apply_line(conf, line, 0, lerr, sizeof(lerr))) !=
		    0) {
			conf_err(errbuf, errlen, "%s:%lu: %s", path, lineno,
			    lerr);
			goto out;
		}
	}
	if (ferror(f)) {
		saved_errno = errno;
		conf_err(errbuf, errlen, "%s: %s", path, strerror(errno));
		errno = saved_errno;
		r = PORTHOLE_ERR_SYSTEM;
		goto out;
	}
	r = 0;
out:
	saved_errno = errno;
	free(line);
	if (f != NULL)
		fclose(f);
	errno = saved_errno;
	return r;
}

/* Make "<dir>/<name>" without doubling a trailing '/'; caller frees. */
static char *
conf_path_join(const char *dir, const char *name)
{
	char *s;
	size_t len = strlen(dir);

	if (len > 0 && dir[len - 1] == '/')
		xasprintf(&s, "%s%s", dir, name);
	else
		xasprintf(&s, "%s/%s", dir, name);
	return s;
}

/*
 * Predicate: ListenAddress entries <a> and <b> name the same address and
 * the same fixed port (port 0 asks for a fresh port each time).
 */
static int
conf_listen_same(const struct conf_listen *a, const struct conf_listen *b)
{
	unsigned char aa[sizeof(struct in6_addr)], ba[sizeof(aa)];
	int af_a, af_b;

	if (a->port != b->port || a->port == 0)
		return 0;
	if (!conf_is_numeric_addr(a->host, &af_a, aa) ||
	    !conf_is_numeric_addr(b->host, &af_b, ba))
		return 0;
	return af_a == af_b && memcmp(aa, ba, sizeof(aa)) == 0;
}

/* Fill in the derived defaults and check what spans keywords. */
int
conf_finish(struct conf *conf, char *errbuf, size_t errlen)
{
	char hostname[CONF_HOSTNAME_MAX + 2], q[CONF_QUOTE_LEN];
	char a[CONF_QUOTE_LEN];
	size_t i, j;
	int r = PORTHOLE_ERR_INVALID_FORMAT;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (conf->nlisten == 0)
		conf_add_listen(conf, xstrdup(CONF_DEFAULT_LISTEN_HOST),
		    CONF_DEFAULT_SSH_PORT);
	for (i = 0; i < conf->nlisten; i++) {
		for (j = i + 1; j < conf->nlisten; j++) {
			if (!conf_listen_same(&conf->listen[i],
			        &conf->listen[j]))
				continue;
			conf_err(errbuf, errlen,
			    "ListenAddress: %s port %u given twice",
			    conf_quote(a, sizeof(a), conf->listen[j].host),
			    conf->listen[j].port);
			goto out;
		}
	}
	if (conf->database == NULL)
		conf->database =
		    conf_path_join(conf->state_dir, CONF_DATABASE_NAME);
	if (conf->host_key == NULL)
		conf->host_key =
		    conf_path_join(conf->state_dir, CONF_HOST_KEY_NAME);
	if (conf->token_key == NULL)
		conf->token_key =
		    conf_path_join(conf->state_dir, CONF_TOKEN_KEY_NAME);
	if (conf->node_name == NULL) {
		if (gethostname(hostname, sizeof(hostname)) == -1) {
			conf_err(errbuf, errlen,
			    "NodeName: not set and gethostname failed: %s",
			    strerror(errno));
			goto out;
		}
		hostname[sizeof(hostname) - 1] = '\0';
		if (!conf_is_label(hostname, CONF_NODE_NAME_MAX)) {
			conf_err(errbuf, errlen,
			    "NodeName: not set and host name '%s' is not "
			    "usable",
			    conf_quote(q, sizeof(q), hostname));
			goto out;
		}
		conf->node_name = xstrdup(hostname);
	}
	if (conf->npublic_hosts == 0) {
		if (gethostname(hostname, sizeof(hostname)) == -1) {
			conf_err(errbuf, errlen,
			    "PublicHost: not set and gethostname failed: %s",
			    strerror(errno));
			goto out;
		}
		hostname[sizeof(hostname) - 1] = '\0';
		if (!conf_is_hostname(hostname)) {
			conf_err(errbuf, errlen,
			    "PublicHost: not set and host name '%s' is not "
			    "usable",
			    conf_quote(q, sizeof(q), hostname));
			goto out;
		}
		conf_add_public_host(conf, hostname);
	}
	if (conf->port_low == 0 || conf->port_low > conf->port_high) {
		conf_err(errbuf, errlen, "PortRange: bad range %u-%u",
		    conf->port_low, conf->port_high);
		goto out;
	}
	if ((conf->api_cert == NULL) != (conf->api_key == NULL)) {
		conf_err(errbuf, errlen,
		    "ApiCertificate and ApiPrivateKey go together: set both "
		    "(HTTPS) or neither (HTTP)");
		goto out;
	}
	/* Affinity reads the endpoints of ended sessions: keep them. */
	if (conf->session_retention > 0 &&
	    conf->address_affinity > conf->session_retention) {
		conf_err(errbuf, errlen,
		    "SessionRetention %llds is shorter than AddressAffinity "
		    "%llds: affinity needs the ended sessions it would delete "
		    "(raise SessionRetention, or lower AddressAffinity)",
		    (long long)conf->session_retention,
		    (long long)conf->address_affinity);
		goto out;
	}
	r = 0;
out:
	return r;
}

/*
 * Print "keyword value", quoting a value that has blanks or starts with
 * '#' so that the line reads back as the same value.
 */
static void
conf_dump_str(FILE *f, const char *keyword, const char *value)
{
	/*
	 * Blanks or a leading '#' need quotes (such a value came from a
	 * quoted word, so it holds no '"'); a leading '=' would be read as
	 * the separator, so write one first ("keyword = =x").
	 */
	if (value[strcspn(value, CONF_BLANKS)] != '\0' || value[0] == '#')
		fprintf(f, "%s \"%s\"\n", keyword, value);
	else if (value[0] == '=')
		fprintf(f, "%s = %s\n", keyword, value);
	else
		fprintf(f, "%s %s\n", keyword, value);
}

/* Print the effective configuration as lower-case "keyword value" lines. */
void
conf_dump(const struct conf *conf, void *fp)
{
	FILE *f = fp;
	char shown[1024];
	size_t i;

	for (i = 0; i < conf->nlisten; i++) {
		if (strchr(conf->listen[i].host, ':') != NULL)
			fprintf(f, "listenaddress [%s]:%u\n",
			    conf->listen[i].host, conf->listen[i].port);
		else
			fprintf(f, "listenaddress %s:%u\n",
			    conf->listen[i].host, conf->listen[i].port);
	}
	conf_dump_str(f, "statedirectory", conf->state_dir);
	if (conf->database != NULL) {
		db_target_print(conf->database, shown, sizeof(shown));
		conf_dump_str(f, "database", shown);
	}
	if (conf->node_name != NULL)
		conf_dump_str(f, "nodename", conf->node_name);
	conf_dump_str(f, "region",
	    conf->region != NULL ? conf->region : "none");
	if (conf->host_key != NULL)
		conf_dump_str(f, "hostkey", conf->host_key);
	if (conf->token_key != NULL)
		conf_dump_str(f, "tokenkey", conf->token_key);
	for (i = 0; i < conf->npublic_hosts; i++)
		fprintf(f, "publichost %s\n", conf->public_hosts[i]);
	fprintf(f, "tunneladdress %s\n", conf->tunnel_address);
	fprintf(f, "portrange %u-%u\n", conf->port_low, conf->port_high);
	fprintf(f, "logingracetime %lld\n", (long long)conf->login_grace_time);
	fprintf(f, "nodetimeout %lld\n", (long long)conf->node_timeout);
	fprintf(f, "maxendpointspersession %d\n",
	    conf->max_endpoints_per_session);
	fprintf(f, "maxconnectionsperendpoint %d\n",
	    conf->max_connections_per_endpoint);
	fprintf(f, "loglevel %s\n", log_level_name(conf->log_level));
	fprintf(f, "syslogfacility %s\n", conf->syslog ? "DAEMON" : "none");
	fprintf(f, "allowanonymous %s\n", conf->allow_anonymous ? "yes" : "no");
	fprintf(f, "addressaffinity %lld\n", (long long)conf->address_affinity);
	fprintf(f, "maxsessionsperaccount %d\n",
	    conf->max_sessions_per_account);
	fprintf(f, "maxsessions %d\n", conf->max_sessions);
	conf_dump_str(f, "eventlog", conf->event_log);
	fprintf(f, "eventretention %lld\n", (long long)conf->event_retention);
	fprintf(f, "eventmaxcount %lld\n", (long long)conf->event_max_count);
	fprintf(f, "sessionretention %lld\n",
	    (long long)conf->session_retention);
	fprintf(f, "webhookbatchsize %d\n", conf->webhook_batch_size);
	fprintf(f, "webhooktimeout %lld\n", (long long)conf->webhook_timeout);
	if (conf->max_startups_begin == conf->max_startups_full)
		fprintf(f, "maxstartups %d\n", conf->max_startups_full);
	else
		fprintf(f, "maxstartups %d:%d:%d\n", conf->max_startups_begin,
		    conf->max_startups_rate, conf->max_startups_full);
	if (conf->per_source_max_startups == 0)
		fprintf(f, "persourcemaxstartups none\n");
	else
		fprintf(f, "persourcemaxstartups %d\n",
		    conf->per_source_max_startups);
	fprintf(f, "maxauthtries %d\n", conf->max_auth_tries);
	fprintf(f, "clientaliveinterval %lld\n",
	    (long long)conf->client_alive_interval);
	fprintf(f, "clientalivecountmax %d\n", conf->client_alive_count_max);
	if (!conf->penalties)
		fprintf(f, "persourcepenalties no\n");
	else
		fprintf(f,
		    "persourcepenalties authfail:%lld,noauth:%lld,"
		    "grace-exceeded:%lld,crash:%lld,min:%lld,max:%lld\n",
		    (long long)conf->penalty_authfail,
		    (long long)conf->penalty_noauth,
		    (long long)conf->penalty_grace,
		    (long long)conf->penalty_crash,
		    (long long)conf->penalty_min, (long long)conf->penalty_max);
	if (conf->user != NULL)
		conf_dump_str(f, "user", conf->user);
	if (conf->metrics_host == NULL)
		fprintf(f, "metricslisten none\n");
	else if (strchr(conf->metrics_host, ':') != NULL)
		fprintf(f, "metricslisten [%s]:%u\n", conf->metrics_host,
		    conf->metrics_port);
	else
		fprintf(f, "metricslisten %s:%u\n", conf->metrics_host,
		    conf->metrics_port);
	if (conf->api_host == NULL)
		fprintf(f, "apilisten none\n");
	else if (strchr(conf->api_host, ':') != NULL)
		fprintf(f, "apilisten [%s]:%u\n", conf->api_host,
		    conf->api_port);
	else
		fprintf(f, "apilisten %s:%u\n", conf->api_host, conf->api_port);
	fprintf(f, "apimaxconnections %d\n", conf->api_max_connections);
	if (conf->api_max_per_source == 0)
		fprintf(f, "apimaxconnectionspersource none\n");
	else
		fprintf(f, "apimaxconnectionspersource %d\n",
		    conf->api_max_per_source);
	fprintf(f, "apimaxbodysize %lld\n", (long long)conf->api_max_body);
	fprintf(f, "apimaxheadersize %lld\n", (long long)conf->api_max_header);
	fprintf(f, "apirequesttimeout %lld\n",
	    (long long)conf->api_request_timeout);
	conf_dump_str(f, "apicertificate",
	    conf->api_cert != NULL ? conf->api_cert : "none");
	conf_dump_str(f, "apiprivatekey",
	    conf->api_key != NULL ? conf->api_key : "none");
	conf_dump_str(f, "apibaseurl",
	    conf->api_base_url != NULL ? conf->api_base_url : "none");
}

struct conf *
conf_from_text(const char *text, char *errbuf, size_t errlen)
{
	struct conf *conf = conf_new();
	char *copy = xstrdup(text), *line, *save = NULL;

	for (line = strtok_r(copy, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (conf_apply_line(conf, line, 0, errbuf, errlen) != 0)
			goto fail;
	}
	if (conf_finish(conf, errbuf, errlen) != 0)
		goto fail;
	free(copy);
	return conf;
fail:
	free(copy);
	conf_free(conf);
	return NULL;
}
