/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_CONF_H
#define PORTHOLE_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

/* portholed.conf: sshd_config form, "Keyword value", '#' comments. */

#define CONF_DEFAULT_PATH     SYSCONFDIR "/porthole/portholed.conf"
#define CONF_DEFAULT_STATEDIR LOCALSTATEDIR "/lib/porthole"

struct conf_listen {
	char *host; /* numeric address; "0.0.0.0", "::", … */
	uint16_t port; /* 0: any free port */
};

struct conf {
	struct conf_listen *listen; /* ListenAddress (repeatable) */
	size_t nlisten;
	char *state_dir; /* StateDirectory */
	char *database; /* Database: a SQLite path or a libpq URI */
	char *node_name; /* NodeName; default the host name */
	char *region; /* Region; NULL: none */
	char *host_key; /* HostKey (path) */
	char **public_hosts; /* PublicHost; [0] default */
	size_t npublic_hosts;
	char *tunnel_address; /* TunnelAddress */
	uint16_t port_low; /* PortRange */
	uint16_t port_high;
	int64_t login_grace_time; /* seconds; 0 = off */
	int64_t node_timeout; /* NodeTimeout, seconds: silent this long, lost */
	int max_endpoints_per_session;
	int max_connections_per_endpoint;
	int max_sessions_per_account; /* MaxSessionsPerAccount */
	int max_sessions; /* MaxSessions: live sessions in all */
	/* Traffic limits, the defaults for accounts (0: none). */
	int64_t bandwidth_limit; /* BandwidthLimit, bytes/s each way */
	int64_t transfer_quota; /* TransferQuota bytes … */
	int64_t transfer_quota_period; /* … per this many seconds */
	int connection_rate_limit; /* ConnectionRateLimit, per minute */
	int max_connections_per_source; /* MaxConnectionsPerSource */
	int64_t connection_idle_timeout; /* ConnectionIdleTimeout, seconds */
	int metrics_account_labels; /* MetricsAccountLabels */
	int allow_anonymous; /* AllowAnonymous */
	int64_t address_affinity; /* AddressAffinity, seconds; 0 = off */
	char *token_key; /* TokenKey (path) */
	char *event_log; /* EventLog: "none", "-" (stdout) or a path */
	int64_t event_retention; /* EventRetention, seconds; 0 = keep */
	int64_t event_max_count; /* EventMaxCount; 0 = no cap */
	int64_t session_retention; /* SessionRetention, seconds; 0 = keep */
	int webhook_batch_size; /* WebhookBatchSize: events per request */
	int64_t webhook_timeout; /* WebhookTimeout, seconds per request */
	char *metrics_host; /* MetricsListen address, NULL when off */
	uint16_t metrics_port;
	char *api_host; /* ApiListen address, NULL when off */
	uint16_t api_port;
	int api_max_connections; /* ApiMaxConnections */
	int api_max_per_source; /* ApiMaxConnectionsPerSource; 0: none */
	int64_t api_max_body; /* ApiMaxBodySize, bytes */
	int64_t api_max_header; /* ApiMaxHeaderSize, bytes */
	int64_t api_request_timeout; /* ApiRequestTimeout, seconds */
	char *api_cert; /* ApiCertificate (PEM path), NULL: plain HTTP */
	char *api_key; /* ApiPrivateKey (PEM path) */
	char *api_base_url; /* ApiBaseURL, NULL: from the Host header */
	int max_startups_begin; /* MaxStartups start:rate:full */
	int max_startups_rate;
	int max_startups_full;
	int per_source_max_startups; /* 0: none */
	int max_auth_tries; /* MaxAuthTries */
	int64_t client_alive_interval; /* seconds; 0: off */
	int client_alive_count_max;
	int penalties; /* PerSourcePenalties on */
	int64_t penalty_authfail; /* seconds per failed authentication */
	int64_t penalty_noauth; /* per connection that never tried */
	int64_t penalty_grace; /* per LoginGraceTime exceeded */
	int64_t penalty_crash; /* per pre-auth process killed by a signal */
	int64_t penalty_min; /* refuse a source once it has this much */
	int64_t penalty_max; /* the most a source can have */
	char *user; /* User: drop privileges to it; NULL: stay */
	enum log_level log_level; /* LogLevel */
	int syslog; /* SyslogFacility != none */
};

/* Make a conf holding the defaults. Never fails (x*alloc). */
struct conf *conf_new(void);
void conf_free(struct conf *conf); /* NULL is a no-op */

/*
 * Apply one configuration line ("Keyword value", "Keyword=value" as in
 * -o, leading blanks and '#' comments allowed; a blank or comment line
 * is a no-op). Keywords are case-insensitive. <cmdline> is 1 for -o:
 * values from -o win over the file, so for a repeatable keyword the
 * first -o occurrence replaces what the file gave, and file lines for
 * a keyword set by -o are ignored (apply -o lines first, then the file).
 * Returns 0, or PORTHOLE_ERR_INVALID_FORMAT with a reason in errbuf
 * ("unknown keyword 'Foo'", "PortRange: bad range '9-1'").
 */
int conf_apply_line(struct conf *conf, const char *line, int cmdline,
    char *errbuf, size_t errlen);

/*
 * Read file <path> line by line with conf_apply_line(…, 0, …). If
 * <must_exist> is 0 a missing file is not an error. Errors are
 * reported in errbuf as "PATH:LINE: reason". Returns 0,
 * PORTHOLE_ERR_INVALID_FORMAT, or PORTHOLE_ERR_SYSTEM (cannot read).
 */
int conf_load_file(struct conf *conf, const char *path, int must_exist,
    char *errbuf, size_t errlen);

/*
 * Fill in derived defaults once everything is applied: ListenAddress
 * 0.0.0.0:2222 if none, Database = StateDirectory/porthole.db and
 * HostKey = StateDirectory/ssh_host_ed25519_key unless set, PublicHost
 * = gethostname() if none, NodeName = gethostname() (its first label)
 * unless set. Checks cross-keyword constraints (a
 * SessionRetention, unless 0, no shorter than AddressAffinity). Returns 0
 * or PORTHOLE_ERR_INVALID_FORMAT with a reason in errbuf.
 */
int conf_finish(struct conf *conf, char *errbuf, size_t errlen);

/*
 * A conf from <text>, conf_dump's lines (as sent to portholed's helper
 * processes), finished with conf_finish(). Returns it, or NULL with a
 * reason in errbuf.
 */
struct conf *conf_from_text(const char *text, char *errbuf, size_t errlen);

/*
 * Write the effective configuration, one "keyword value" per line in
 * lower case as sshd -T does, to <fp> (a FILE *, as void * to keep
 * stdio out of this header).
 */
void conf_dump(const struct conf *conf, void *fp);

#endif /* PORTHOLE_CONF_H */
