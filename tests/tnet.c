/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */

/*
 * tnet: the network tool the integration tests drive. It serves and makes
 * plain TCP connections, moves a deterministic byte stream through them and
 * reports byte counts and SHA-256 sums, so a shell script can check what
 * went through a tunnel without trusting any part of porthole.
 *
 * The stream: xorshift64 (shifts 13, 7, 17) from the seed STREAM_SEED;
 * bytes 8k to 8k+7 are the (k+1)th state, least significant byte first.
 * "tnet sum N" prints "<N> <sha256hex>" of its first N bytes, which is
 * what sink, recv and echo report for it. "many" gives each connection a
 * stream of its own.
 *
 * "listen proxy" serves what sits behind a relay that speaks the PROXY
 * protocol: it reads the header with porthole's own proxyhdr_parse(),
 * answers with one line saying what it held, then echoes. "tnet hdr"
 * prints the headers proxyhdr_v1() and proxyhdr_v2() build, so a script
 * can send them by hand, and "tnet line" reads a server's first line.
 *
 * "lat" and "rtt" time round trips through an echo server, for the
 * benchmark: "lat" a fresh connection per byte, "rtt" 64-byte messages on
 * one connection. Both print "p50=<us> p99=<us>".
 *
 * "flood" starts connections at a steady rate, from several source
 * addresses, and counts what the server did with each: how a test
 * floods a tunnel that refuses them.
 *
 * With TNET_NOSUM=1 in the environment, sink, send and recv count bytes
 * without hashing them and print "<nbytes> -": the benchmark's
 * throughput rows would otherwise measure SHA-256 on this side of the
 * tunnel as much as the tunnel.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/param.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "err.h"
#include "misc.h"
#include "proxyhdr.h"

#define EXIT_USAGE   2
#define EXIT_REFUSED 3

#define BUFSZ      (64 * 1024)
#define MANY_BUFSZ (8 * 1024)
#define HEXSZ      (crypto_hash_sha256_BYTES * 2 + 1)
#define SUMSZ      (24 + HEXSZ + 2)
#define PEERSZ     (INET6_ADDRSTRLEN + 8)
/* "PROXY v2 <ip> <port> <ip> <port>\n", with room to spare. */
#define PROXY_LINESZ 128

#define STREAM_SEED 0x9e3779b97f4a7c15ULL
#define STREAM_MIX  0xd1b54a32d192ed03ULL

#define DEFAULT_TIMEOUT 60
#define CLOSED_TIMEOUT  10
#define MAX_TIMEOUT     86400

/* lat and rtt: the most samples they take, and rtt's message size. */
#define MAX_SAMPLES 10000000
#define RTT_SIZE    64

/* The deterministic byte stream: xorshift64 words, little-endian. */
struct stream {
	uint64_t x;
	uint8_t word[8];
	size_t idx;
};

/* A numeric socket address and its length. */
struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* What a listener does with each connection. */
enum lmode {
	LMODE_ECHO,
	LMODE_SINK,
	LMODE_SOURCE,
	LMODE_HALFCLOSE,
	LMODE_HOLD,
	LMODE_STALL, /* accept, then never read or write */
	LMODE_PROXY /* report the PROXY header, then echo */
};

/* One accepted connection of "tnet listen". */
struct lconn {
	int fd;
	int rd_eof; /* the peer shut down its write side */
	int wr_shut; /* we shut down ours */
	int hdr_wait; /* proxy: buf holds the header so far, not output */
	int bad; /* proxy: the header was bad; drain input until EOF */
	uint8_t *buf; /* pending output, BUFSZ + PROXY_LINESZ bytes */
	size_t off;
	size_t len;
	uint64_t remain; /* stream bytes still to queue */
	struct stream st;
	uint64_t nread;
	crypto_hash_sha256_state sha;
	char peer[PEERSZ]; /* "ADDR:PORT", for -v */
};

/* A listening socket and the connections it accepted. */
struct listener {
	int fd;
	enum lmode mode;
	uint64_t n; /* the N of source:N and halfclose:N */
	int paused; /* out of descriptors: not accepting */
	int verbose; /* -v: report each accept and close on stdout */
	struct lconn **conns;
	size_t nconns;
	size_t cap;
};

/* One client connection: send a stream, read everything back. */
struct xfer {
	int fd;
	uint64_t tosend;
	uint64_t sent;
	int shut_after; /* shutdown(SHUT_WR) once all is sent */
	int shut_done;
	int rd_eof;
	struct stream out;
	uint8_t obuf[BUFSZ];
	size_t ooff;
	size_t olen;
	int verify; /* compare input with the stream */
	struct stream expect;
	uint64_t bad_at; /* first differing offset */
	int bad;
	int keep; /* keep the input in data */
	uint8_t *data;
	size_t datalen;
	size_t datacap;
	uint64_t nrecv;
	crypto_hash_sha256_state sha;
};

/* Where a connection of "tnet many" is in its life. */
enum mstate { MSTATE_CONNECTING, MSTATE_RUNNING, MSTATE_DONE, MSTATE_FAILED };

/* One connection of "tnet many". */
struct mconn {
	int fd;
	enum mstate state;
	struct stream out;
	struct stream expect;
	uint64_t sent;
	uint64_t recvd;
	size_t ooff;
	size_t olen;
	uint8_t obuf[MANY_BUFSZ];
};

static void vmsg(int, const char *, va_list)
    __attribute__((format(printf, 2, 0)));
static void tnet_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
static void tnet_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
static void tnet_fatal(const char *, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

/* Lines read from a descriptor, for chat. */
struct linebuf {
	int fd;
	const char *name;
	char buf[BUFSZ];
	size_t len;
	int eof;
};

/* Print the usage message and return the usage exit status. */
static int
usage(void)
{
	fprintf(stderr,
	    "usage: tnet listen [-v] [-b addr] "
	    "echo|sink|source:N|halfclose:N|hold|stall|proxy\n"
	    "       tnet freeport [-b addr]\n"
	    "       tnet send [-s src] [-t secs] host:port nbytes\n"
	    "       tnet recv [-s src] [-t secs] host:port\n"
	    "       tnet echo [-s src] [-t secs] host:port nbytes\n"
	    "       tnet many [-s src] [-t secs] host:port conns bytes\n"
	    "       tnet lat [-s src] [-t secs] host:port count\n"
	    "       tnet rtt [-s src] [-t secs] host:port count\n"
	    "       tnet sum nbytes\n"
	    "       tnet closed [-s src] [-t secs] host:port\n"
	    "       tnet refused [-s src] host:port\n"
	    "       tnet chat [-s src] [-t secs] host:port\n"
	    "       tnet line [-s src] [-t secs] host:port\n"
	    "       tnet hdr -1|-2 srcip srcport dstip dstport\n"
	    "       tnet delaypipe ms host:port\n"
	    "       tnet flood [-v] [-s src]... [-r rate] [-d secs] [-c max] "
	    "[-t secs] host:port\n");
	return EXIT_USAGE;
}

/*
 * Print "tnet: " and the message on stderr, then ": strerror(errno)" if
 * with_errno is set.
 */
static void
vmsg(int with_errno, const char *fmt, va_list ap)
{
	int saved = errno;

	fprintf(stderr, "tnet: ");
	vfprintf(stderr, fmt, ap);
	if (with_errno)
		fprintf(stderr, ": %s", strerror(saved));
	fputc('\n', stderr);
	errno = saved;
}

/* Print a message with the errno text on stderr; errno is kept. */
static void
tnet_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(1, fmt, ap);
	va_end(ap);
}

/* Print a message on stderr; errno is kept. */
static void
tnet_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(0, fmt, ap);
	va_end(ap);
}

/* Print a message with the errno text and exit 1: used only on OOM. */
static void
tnet_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(1, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Allocate or resize, exiting on failure: a test tool has no way back. */
static void *
xrealloc(void *p, size_t n)
{
	void *q;

	if ((q = realloc(p, n == 0 ? 1 : n)) == NULL)
		tnet_fatal("realloc %zu", n);
	return q;
}

/* Milliseconds on the monotonic clock. */
static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Start stream <id>; id 0 is the stream that sum, send and sources use. */
static void
stream_init(struct stream *st, uint64_t id)
{
	st->x = STREAM_SEED ^ (id * STREAM_MIX);
	if (st->x == 0)
		st->x = STREAM_SEED;
	st->idx = sizeof(st->word);
}

/* Advance the generator by one 64-bit word. */
static void
stream_next(struct stream *st)
{
	uint64_t x = st->x;
	size_t i;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	st->x = x;
	for (i = 0; i < sizeof(st->word); i++)
		st->word[i] = (uint8_t)(x >> (8 * i));
	st->idx = 0;
}

/* Write the next len bytes of the stream to buf. */
static void
stream_fill(struct stream *st, uint8_t *buf, size_t len)
{
	size_t n;

	while (len > 0) {
		if (st->idx == sizeof(st->word))
			stream_next(st);
		n = sizeof(st->word) - st->idx;
		if (n > len)
			n = len;
		memcpy(buf, st->word + st->idx, n);
		st->idx += n;
		buf += n;
		len -= n;
	}
}

/* TNET_NOSUM: count, do not hash (see above). */
static int nosum;

/* Hash len bytes at p into sha, unless TNET_NOSUM is set. */
static void
sum_update(crypto_hash_sha256_state *sha, const uint8_t *p, size_t len)
{
	if (!nosum)
		crypto_hash_sha256_update(sha, p, len);
}

/* Format "<nbytes> <sha256hex>" from a finished hash state. */
static void
sum_format(char *out, size_t outlen, uint64_t n, crypto_hash_sha256_state *sha)
{
	uint8_t md[crypto_hash_sha256_BYTES];
	char hex[HEXSZ];

	if (nosum) {
		snprintf(out, outlen, "%" PRIu64 " -", n);
		return;
	}
	crypto_hash_sha256_final(sha, md);
	sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
	snprintf(out, outlen, "%" PRIu64 " %s", n, hex);
}

/* Format "<nbytes> <sha256hex>" of a buffer. */
static void
sum_buffer(char *out, size_t outlen, const uint8_t *p, size_t len)
{
	crypto_hash_sha256_state sha;

	crypto_hash_sha256_init(&sha);
	crypto_hash_sha256_update(&sha, p, len);
	sum_format(out, outlen, len, &sha);
}

/* Parse a decimal number in [min, max]; returns 0 or -1 with a message. */
static int
parse_num(const char *s, uint64_t min, uint64_t max, const char *what,
    uint64_t *vp)
{
	unsigned long long v;
	char *ep;

	if (*s < '0' || *s > '9')
		goto bad;
	errno = 0;
	v = strtoull(s, &ep, 10);
	if (*ep != '\0' || errno == ERANGE || v < min || v > max)
		goto bad;
	*vp = v;
	return 0;
bad:
	tnet_warnx("%s: \"%s\" is not a number from %llu to %llu", what, s,
	    (unsigned long long)min, (unsigned long long)max);
	return -1;
}

/* Parse a timeout in seconds for -t. */
static int
parse_timeout(const char *s, int *tp)
{
	uint64_t v;

	if (parse_num(s, 1, MAX_TIMEOUT, "timeout", &v) == -1)
		return -1;
	*tp = (int)v;
	return 0;
}

/*
 * Resolve a numeric host ("192.0.2.1", "::1" or "[::1]") and port into *a.
 * Returns 0, or -1 with a message.
 */
static int
parse_addr(const char *host, const char *port, struct addr *a)
{
	struct addrinfo hints, *res = NULL;
	char buf[NI_MAXHOST];
	size_t len = strlen(host);
	int r;

	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		host++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(buf)) {
		tnet_warnx("bad address \"%s\"", host);
		return -1;
	}
	memcpy(buf, host, len);
	buf[len] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if ((r = getaddrinfo(buf, port, &hints, &res)) != 0) {
		tnet_warnx("bad address \"%s\" port \"%s\": %s", buf, port,
		    gai_strerror(r));
		return -1;
	}
	memset(a, 0, sizeof(*a));
	memcpy(&a->ss, res->ai_addr, res->ai_addrlen);
	a->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/*
 * Parse "A.B.C.D:PORT" or "[V6]:PORT" with a port from 1 to 65535.
 * Returns 0, or -1 with a message.
 */
static int
parse_hostport(const char *s, struct addr *a)
{
	const char *colon = strrchr(s, ':');
	char host[NI_MAXHOST];
	size_t hlen;
	uint64_t port;

	if (colon == NULL || colon == s) {
		tnet_warnx("\"%s\": expected HOST:PORT", s);
		return -1;
	}
	hlen = (size_t)(colon - s);
	if (hlen >= sizeof(host)) {
		tnet_warnx("\"%s\": host too long", s);
		return -1;
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (host[0] != '[' && strchr(host, ':') != NULL) {
		tnet_warnx("\"%s\": write IPv6 addresses as [ADDR]:PORT", s);
		return -1;
	}
	if (parse_num(colon + 1, 1, 65535, "port", &port) == -1)
		return -1;
	return parse_addr(host, colon + 1, a);
}

/* Make fd non-blocking; returns 0 or -1. */
static int
set_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	return 0;
}

/*
 * Raise the soft RLIMIT_NOFILE to need descriptors (0: to the hard limit,
 * or 65536 if there is none).
 * Returns 0, or -1 with a message if the limit cannot go that high.
 */
static int
raise_nofile(rlim_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		tnet_warn("getrlimit");
		return -1;
	}
	if (need == 0)
		need = rl.rlim_max;
	if (need == RLIM_INFINITY)
		need = 65536;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
		rl.rlim_max = need; /* works only with privilege */
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		tnet_warn("cannot raise the open file limit to %llu",
		    (unsigned long long)need);
		return -1;
	}
	return 0;
}

/*
 * Start a non-blocking TCP connection to dst, bound to src if src->len is
 * not 0. Returns the descriptor, or -1 with errno set; the connection may
 * still be in progress.
 */
static int
tcp_start(const struct addr *dst, const struct addr *src)
{
	int fd, saved;

	if (src->len != 0 && src->ss.ss_family != dst->ss.ss_family) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if ((fd = socket(dst->ss.ss_family, SOCK_STREAM, 0)) == -1)
		return -1;
	if (set_nonblock(fd) == -1)
		goto fail;
	if (src->len != 0 &&
	    bind(fd, (const struct sockaddr *)&src->ss, src->len) == -1)
		goto fail;
	if (connect(fd, (const struct sockaddr *)&dst->ss, dst->len) == -1 &&
	    errno != EINPROGRESS)
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* Return 0 once a non-blocking connect on fd has finished, or -1 with errno. */
static int
tcp_finish(int fd)
{
	int e = 0;
	socklen_t elen = sizeof(e);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1)
		return -1;
	if (e != 0) {
		errno = e;
		return -1;
	}
	return 0;
}

/*
 * Connect to dst (from src if given), waiting up to timeout seconds.
 * Returns a non-blocking descriptor, or -1 with errno set (ETIMEDOUT).
 */
static int
tcp_connect(const struct addr *dst, const struct addr *src, int timeout)
{
	struct pollfd pfd;
	int fd, r, saved;

	if ((fd = tcp_start(dst, src)) == -1)
		return -1;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	while ((r = poll(&pfd, 1, timeout * 1000)) == -1 && errno == EINTR)
		;
	if (r == 0)
		errno = ETIMEDOUT;
	if (r == 1 && tcp_finish(fd) == 0)
		return fd;
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* Open a listening socket on a; returns the descriptor or -1 with errno. */
static int
tcp_listen(const struct addr *a)
{
	int fd, on = 1, saved;

	if ((fd = socket(a->ss.ss_family, SOCK_STREAM, 0)) == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, (const struct sockaddr *)&a->ss, a->len) == -1 ||
	    listen(fd, SOMAXCONN) == -1 || set_nonblock(fd) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Return the port of a socket address, or -1 if it is not IP. */
static int
sockaddr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return -1;
}

/* Return the local port of socket fd, or -1. */
static int
local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	return sockaddr_port(&ss);
}

/* Format a socket address as "A.B.C.D:PORT" or "[V6]:PORT" into PEERSZ. */
static void
format_addr(char out[PEERSZ], const struct sockaddr_storage *ss,
    socklen_t sslen)
{
	char host[INET6_ADDRSTRLEN];
	int r;

	r = getnameinfo((const struct sockaddr *)ss, sslen, host, sizeof(host),
	    NULL, 0, NI_NUMERICHOST);
	if (r != 0)
		snprintf(out, PEERSZ, "?");
	else if (ss->ss_family == AF_INET6)
		snprintf(out, PEERSZ, "[%s]:%d", host, sockaddr_port(ss));
	else
		snprintf(out, PEERSZ, "%s:%d", host, sockaddr_port(ss));
}

/* Parse a listen MODE argument into *modep and its byte count *np. */
static int
parse_lmode(const char *s, enum lmode *modep, uint64_t *np)
{
	*np = 0;
	if (strcmp(s, "echo") == 0)
		*modep = LMODE_ECHO;
	else if (strcmp(s, "sink") == 0)
		*modep = LMODE_SINK;
	else if (strcmp(s, "hold") == 0)
		*modep = LMODE_HOLD;
	else if (strcmp(s, "stall") == 0)
		*modep = LMODE_STALL;
	else if (strcmp(s, "proxy") == 0)
		*modep = LMODE_PROXY;
	else if (strncmp(s, "source:", 7) == 0) {
		*modep = LMODE_SOURCE;
		return parse_num(s + 7, 0, UINT64_MAX, "source", np);
	} else if (strncmp(s, "halfclose:", 10) == 0) {
		*modep = LMODE_HALFCLOSE;
		return parse_num(s + 10, 0, UINT64_MAX, "halfclose", np);
	} else {
		tnet_warnx("unknown listen mode \"%s\"", s);
		return -1;
	}
	return 0;
}

/* Set up a freshly accepted connection for mode; n is the mode's count. */
static struct lconn *
lconn_new(int fd, enum lmode mode, uint64_t n)
{
	struct lconn *c;

	c = xrealloc(NULL, sizeof(*c));
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	/* Proxy mode's report line can outgrow the header it replaces. */
	c->buf = xrealloc(NULL, BUFSZ + PROXY_LINESZ);
	stream_init(&c->st, 0);
	crypto_hash_sha256_init(&c->sha);
	if (mode == LMODE_SOURCE)
		c->remain = n;
	c->hdr_wait = mode == LMODE_PROXY;
	return c;
}

/* Close a listener connection and free it. */
static void
lconn_free(struct lconn *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c->buf);
	free(c);
}

/*
 * Proxy mode: give up on c's header. Queue "BAD <why>" in place of what
 * was read; lconn_finished() then half-closes and input is drained.
 */
static void
lconn_proxy_bad(struct lconn *c, const char *why)
{
	tnet_warnx("%s: bad PROXY header: %s", c->peer, why);
	c->bad = 1;
	c->hdr_wait = 0;
	c->off = 0;
	c->len = (size_t)snprintf((char *)c->buf, BUFSZ, "BAD %s\n", why);
}

/*
 * Format what header h says as proxy mode's report line into out
 * (PROXY_LINESZ bytes): "PROXY v<version> <src-ip> <src-port> <dst-ip>
 * <dst-port>\n", or "PROXY v2 LOCAL" / "PROXY v1 UNKNOWN". Returns its
 * length.
 */
static size_t
proxy_report(char *out, const struct proxyhdr *h)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	const void *sa, *da;

	if (h->local)
		return (size_t)snprintf(out, PROXY_LINESZ, "PROXY v%d %s\n",
		    h->version, h->version == 1 ? "UNKNOWN" : "LOCAL");
	if (h->family == AF_INET) {
		sa = &((const struct sockaddr_in *)&h->src)->sin_addr;
		da = &((const struct sockaddr_in *)&h->dst)->sin_addr;
	} else {
		sa = &((const struct sockaddr_in6 *)&h->src)->sin6_addr;
		da = &((const struct sockaddr_in6 *)&h->dst)->sin6_addr;
	}
	if (inet_ntop(h->family, sa, src, sizeof(src)) == NULL ||
	    inet_ntop(h->family, da, dst, sizeof(dst)) == NULL) {
		snprintf(src, sizeof(src), "?");
		snprintf(dst, sizeof(dst), "?");
	}
	return (size_t)snprintf(out, PROXY_LINESZ, "PROXY v%d %s %d %s %d\n",
	    h->version, src, sockaddr_port(&h->src), dst,
	    sockaddr_port(&h->dst));
}

/*
 * Proxy mode: parse the header gathered at the start of c->buf. Once it
 * is whole, put the report line in its place, ahead of whatever followed
 * it, and echo from then on.
 */
static void
lconn_proxy_hdr(struct lconn *c)
{
	struct proxyhdr h;
	char line[PROXY_LINESZ];
	size_t hlen, n;
	int r;

	r = proxyhdr_parse(c->buf, c->len, &h, &hlen);
	if (r == PROXYHDR_INCOMPLETE) {
		if (c->len == BUFSZ)
			lconn_proxy_bad(c, "header too long");
		else if (c->rd_eof)
			lconn_proxy_bad(c, "truncated header");
		return;
	}
	if (r != 0) {
		lconn_proxy_bad(c, porthole_strerror(r));
		return;
	}
	/* The buffer has PROXY_LINESZ bytes beyond BUFSZ for this. */
	n = proxy_report(line, &h);
	memmove(c->buf + n, c->buf + hlen, c->len - hlen);
	memcpy(c->buf, line, n);
	c->len = c->len - hlen + n;
	c->off = 0;
	c->hdr_wait = 0;
}

/*
 * Read what the peer sent and act on it as mode says. Returns 0, or -1 if
 * the connection failed and should be dropped.
 */
static int
lconn_read(struct lconn *c, enum lmode mode, uint64_t n)
{
	uint8_t tmp[BUFSZ], *p = tmp;
	size_t room = sizeof(tmp);
	char reply[SUMSZ];
	ssize_t r;
	int into_buf = mode == LMODE_ECHO || (mode == LMODE_PROXY && !c->bad);

	if (into_buf) {
		/* Echo reads straight into the output buffer. */
		p = c->buf + c->len;
		room = BUFSZ - c->len;
	}
	if ((r = read(c->fd, p, room)) == -1)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	if (r > 0) {
		c->nread += (uint64_t)r;
		if (into_buf)
			c->len += (size_t)r;
		else if (mode == LMODE_SINK || mode == LMODE_HALFCLOSE)
			sum_update(&c->sha, p, (size_t)r);
		if (c->hdr_wait)
			lconn_proxy_hdr(c);
		return 0;
	}
	c->rd_eof = 1;
	if (c->hdr_wait)
		lconn_proxy_hdr(c);
	if (mode == LMODE_SINK || mode == LMODE_HALFCLOSE) {
		/* Nothing is pending in these modes before EOF. */
		sum_format(reply, sizeof(reply), c->nread, &c->sha);
		c->off = 0;
		c->len = (size_t)snprintf((char *)c->buf, BUFSZ, "%s\n", reply);
		if (mode == LMODE_HALFCLOSE)
			c->remain = n;
	}
	return 0;
}

/* Write pending output, queueing more of the stream when the buffer empties. */
static int
lconn_write(struct lconn *c)
{
	ssize_t r;

	if (c->hdr_wait)
		return 0;
	if (c->off == c->len && c->remain > 0) {
		c->off = 0;
		c->len = (size_t)MIN(c->remain, BUFSZ);
		stream_fill(&c->st, c->buf, c->len);
		c->remain -= c->len;
	}
	if (c->off == c->len)
		return 0;
	if ((r = write(c->fd, c->buf + c->off, c->len - c->off)) == -1)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	c->off += (size_t)r;
	if (c->off == c->len)
		c->off = c->len = 0;
	return 0;
}

/* Whether c has output to write. */
static int
lconn_wants_write(const struct lconn *c)
{
	return !c->hdr_wait && (c->off < c->len || c->remain > 0);
}

/*
 * Whether c wants to read: echo and proxy only while there is room to
 * read into, but a bad proxy connection drains its input.
 */
static int
lconn_wants_read(const struct lconn *c, enum lmode mode)
{
	if (c->rd_eof)
		return 0;
	if (mode == LMODE_ECHO || (mode == LMODE_PROXY && !c->bad))
		return c->len < BUFSZ;
	return 1;
}

/*
 * Shut down c's write side when its output is complete; returns 1 if the
 * connection is finished and can be closed.
 */
static int
lconn_finished(struct lconn *c, enum lmode mode)
{
	if (lconn_wants_write(c))
		return 0;
	switch (mode) {
	case LMODE_SOURCE:
		/*
		 * Half-close, then wait for the peer's EOF before closing,
		 * so data it sent meanwhile never turns our close into a RST.
		 */
		if (!c->wr_shut) {
			shutdown(c->fd, SHUT_WR);
			c->wr_shut = 1;
		}
		return c->rd_eof;
	case LMODE_ECHO:
	case LMODE_PROXY:
		/*
		 * Pass the peer's half-close on once everything is echoed;
		 * after "BAD", half-close at once and drain until EOF.
		 */
		if ((c->rd_eof || c->bad) && !c->wr_shut) {
			shutdown(c->fd, SHUT_WR);
			c->wr_shut = 1;
		}
		return c->rd_eof;
	default:
		/* Sink and halfclose: the reply is out; hold: peer left. */
		return c->rd_eof;
	}
}

/*
 * Serve c after poll reported revents. Returns 0, or -1 when the
 * connection is finished or failed and should be closed.
 */
static int
lconn_serve(struct lconn *c, short revents, enum lmode mode, uint64_t n)
{
	if (revents & POLLNVAL)
		return -1;
	if ((revents & (POLLIN | POLLHUP | POLLERR)) &&
	    lconn_wants_read(c, mode) && lconn_read(c, mode, n) == -1)
		return -1;
	if ((revents & (POLLOUT | POLLHUP | POLLERR)) && lconn_write(c) == -1)
		return -1;
	return lconn_finished(c, mode) ? -1 : 0;
}

/* Accept every pending connection on l; pause l if out of descriptors. */
static void
listen_accept(struct listener *l)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct lconn *c;
	int fd;

	for (;;) {
		sslen = sizeof(ss);
		if ((fd = accept(l->fd, (struct sockaddr *)&ss, &sslen)) ==
		    -1) {
			if (errno == EMFILE || errno == ENFILE) {
				/* Resume when a connection closes. */
				tnet_warn("accept");
				l->paused = 1;
			} else if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				tnet_warn("accept");
			return;
		}
		if (set_nonblock(fd) == -1) {
			tnet_warn("fcntl");
			close(fd);
			continue;
		}
		if (l->nconns == l->cap) {
			l->cap = l->cap == 0 ? 64 : l->cap * 2;
			l->conns =
			    xrealloc(l->conns, l->cap * sizeof(*l->conns));
		}
		c = lconn_new(fd, l->mode, l->n);
		format_addr(c->peer, &ss, sslen);
		if (l->verbose) {
			printf("accept %s\n", c->peer);
			fflush(stdout);
		}
		/* source:0 has nothing to send: half-close at once. */
		lconn_finished(c, l->mode);
		l->conns[l->nconns++] = c;
	}
}

/* Serve l's connections and accept new ones until poll fails. */
static void
listen_loop(struct listener *l)
{
	struct pollfd *pfds = NULL;
	struct lconn *c;
	size_t i, j;
	short ev;

	for (;;) {
		pfds = xrealloc(pfds, (l->nconns + 1) * sizeof(*pfds));
		pfds[0].fd = l->paused ? -1 : l->fd;
		pfds[0].events = POLLIN;
		pfds[0].revents = 0;
		for (i = 0; i < l->nconns; i++) {
			c = l->conns[i];
			ev = 0;
			if (lconn_wants_read(c, l->mode))
				ev |= POLLIN;
			if (lconn_wants_write(c))
				ev |= POLLOUT;
			/* stall: poll nothing, so the kernel buffers fill. */
			pfds[i + 1].fd = l->mode == LMODE_STALL ? -1 : c->fd;
			pfds[i + 1].events = ev;
			pfds[i + 1].revents = 0;
		}
		if (poll(pfds, l->nconns + 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			tnet_warn("poll");
			break;
		}
		for (i = 0, j = 0; i < l->nconns; i++) {
			c = l->conns[i];
			ev = pfds[i + 1].revents;
			if (lconn_serve(c, ev, l->mode, l->n) == 0) {
				l->conns[j++] = c;
				continue;
			}
			if (l->verbose) {
				printf("close %s %llu\n", c->peer,
				    (unsigned long long)c->nread);
				fflush(stdout);
			}
			lconn_free(c);
			l->paused = 0;
		}
		l->nconns = j;
		if (pfds[0].revents & POLLIN)
			listen_accept(l);
	}
	free(pfds);
}

/*
 * tnet listen [-v] [-b addr] mode: serve connections until killed. With
 * -v, "accept ADDR:PORT" and "close ADDR:PORT NREAD" lines follow the port
 * line, so a script can wait for a connection to arrive or end.
 */
static int
cmd_listen(int argc, char **argv)
{
	struct listener l;
	struct addr a;
	const char *bind_addr = "127.0.0.1";
	size_t i;
	int ch, port, ret = 1;

	memset(&l, 0, sizeof(l));
	l.fd = -1;
	while ((ch = getopt(argc, argv, "b:v")) != -1) {
		switch (ch) {
		case 'b':
			bind_addr = optarg;
			break;
		case 'v':
			l.verbose = 1;
			break;
		default:
			return usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return usage();
	if (parse_lmode(argv[0], &l.mode, &l.n) == -1 ||
	    parse_addr(bind_addr, "0", &a) == -1)
		return EXIT_USAGE;
	if (raise_nofile(0) == -1)
		tnet_warnx("serving with the current open file limit");
	if ((l.fd = tcp_listen(&a)) == -1 || (port = local_port(l.fd)) == -1) {
		tnet_warn("listen on %s", bind_addr);
		goto out;
	}
	/* The port line is the readiness signal scripts wait for. */
	printf("%d\n", port);
	if (fflush(stdout) == EOF) {
		tnet_warn("stdout");
		goto out;
	}
	listen_loop(&l);
out:
	for (i = 0; i < l.nconns; i++)
		lconn_free(l.conns[i]);
	free(l.conns);
	if (l.fd != -1)
		close(l.fd);
	return ret;
}

/* tnet freeport [-b addr]: print a port that was free a moment ago. */
static int
cmd_freeport(int argc, char **argv)
{
	struct addr a;
	const char *bind_addr = "127.0.0.1";
	int ch, fd, port;

	while ((ch = getopt(argc, argv, "b:")) != -1) {
		switch (ch) {
		case 'b':
			bind_addr = optarg;
			break;
		default:
			return usage();
		}
	}
	if (argc != optind)
		return usage();
	if (parse_addr(bind_addr, "0", &a) == -1)
		return EXIT_USAGE;
	if ((fd = tcp_listen(&a)) == -1) {
		tnet_warn("bind %s", bind_addr);
		return 1;
	}
	port = local_port(fd);
	close(fd);
	if (port == -1) {
		tnet_warn("getsockname");
		return 1;
	}
	printf("%d\n", port);
	return 0;
}

/* Compare len received bytes at p with the expected stream. */
static void
xfer_verify(struct xfer *x, const uint8_t *p, size_t len)
{
	uint8_t want[BUFSZ];
	size_t i;

	stream_fill(&x->expect, want, len);
	if (x->bad || memcmp(p, want, len) == 0)
		return;
	for (i = 0; i < len && p[i] == want[i]; i++)
		;
	x->bad = 1;
	x->bad_at = x->nrecv + i;
}

/* Read what is available on x; returns 0, or -1 with a message. */
static int
xfer_read(struct xfer *x)
{
	uint8_t tmp[BUFSZ];
	ssize_t r;

	if ((r = read(x->fd, tmp, sizeof(tmp))) == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		tnet_warn("read after %" PRIu64 " bytes", x->nrecv);
		return -1;
	}
	if (r == 0) {
		x->rd_eof = 1;
		return 0;
	}
	if (x->verify)
		xfer_verify(x, tmp, (size_t)r);
	if (x->keep) {
		if (x->datacap - x->datalen < (size_t)r) {
			x->datacap = (x->datacap + (size_t)r) * 2;
			x->data = xrealloc(x->data, x->datacap);
		}
		memcpy(x->data + x->datalen, tmp, (size_t)r);
		x->datalen += (size_t)r;
	}
	sum_update(&x->sha, tmp, (size_t)r);
	x->nrecv += (uint64_t)r;
	return 0;
}

/* Write more of the stream on x; returns 0, or -1 with a message. */
static int
xfer_write(struct xfer *x)
{
	ssize_t r;

	if (x->ooff == x->olen && x->sent < x->tosend) {
		x->ooff = 0;
		x->olen = (size_t)MIN(x->tosend - x->sent, sizeof(x->obuf));
		stream_fill(&x->out, x->obuf, x->olen);
	}
	if (x->ooff < x->olen) {
		r = write(x->fd, x->obuf + x->ooff, x->olen - x->ooff);
		if (r == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			tnet_warn("write after %" PRIu64 " bytes", x->sent);
			return -1;
		}
		x->ooff += (size_t)r;
		x->sent += (uint64_t)r;
	}
	if (x->sent == x->tosend && x->shut_after && !x->shut_done) {
		if (shutdown(x->fd, SHUT_WR) == -1) {
			tnet_warn("shutdown");
			return -1;
		}
		x->shut_done = 1;
	}
	return 0;
}

/* Whether x still has sending to do, counting the final shutdown. */
static int
xfer_wants_write(const struct xfer *x)
{
	return x->sent < x->tosend || (x->shut_after && !x->shut_done);
}

/*
 * Send x->tosend bytes of the stream while reading to EOF, both at once so
 * neither side can block the other. Fails if nothing moves for timeout
 * seconds. Returns 0, or -1 with a message.
 */
static int
xfer_run(struct xfer *x, int timeout)
{
	struct pollfd pfd;
	int r;

	x->shut_done = 0;
	crypto_hash_sha256_init(&x->sha);
	while (!x->rd_eof || xfer_wants_write(x)) {
		pfd.fd = x->fd;
		pfd.events = 0;
		if (!x->rd_eof)
			pfd.events |= POLLIN;
		if (xfer_wants_write(x))
			pfd.events |= POLLOUT;
		if ((r = poll(&pfd, 1, timeout * 1000)) == -1) {
			if (errno == EINTR)
				continue;
			tnet_warn("poll");
			return -1;
		}
		if (r == 0) {
			tnet_warnx("stalled for %d s: sent %llu, received %llu",
			    timeout, (unsigned long long)x->sent,
			    (unsigned long long)x->nrecv);
			return -1;
		}
		if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) &&
		    !x->rd_eof && xfer_read(x) == -1)
			return -1;
		if ((pfd.revents & (POLLOUT | POLLHUP | POLLERR)) &&
		    xfer_wants_write(x) && xfer_write(x) == -1)
			return -1;
		if (pfd.revents & POLLNVAL) {
			tnet_warnx("poll: invalid descriptor");
			return -1;
		}
	}
	return 0;
}

/* Whether byte c may appear in a reply printed as text. */
static int
is_text(uint8_t c)
{
	return c == '\n' || c == '\r' || c == '\t' || (c >= 0x20 && c < 0x7f);
}

/*
 * Print a reply: text as is; otherwise its first line, if that is text,
 * then "<nbytes> <sha256hex>" of the rest.
 */
static void
print_reply(const uint8_t *p, size_t len)
{
	char sum[SUMSZ];
	size_t i, line = 0;

	for (i = 0; i < len && is_text(p[i]); i++) {
		if (p[i] == '\n' && line == 0)
			line = i + 1;
	}
	if (i == len) {
		if (len > 0)
			fwrite(p, 1, len, stdout);
		return;
	}
	if (line > 0)
		fwrite(p, 1, line, stdout);
	sum_buffer(sum, sizeof(sum), p + line, len - line);
	printf("%s\n", sum);
}

/* Parse the -s and -t options the client subcommands share. */
static int
client_opts(int argc, char **argv, struct addr *src, int *timeoutp)
{
	int ch;

	memset(src, 0, sizeof(*src));
	while ((ch = getopt(argc, argv, "s:t:")) != -1) {
		switch (ch) {
		case 's':
			if (parse_addr(optarg, "0", src) == -1)
				return -1;
			break;
		case 't':
			if (timeoutp == NULL ||
			    parse_timeout(optarg, timeoutp) == -1)
				return -1;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

/*
 * The send, recv and echo subcommands: connect, send nbytes (then
 * half-close for send and echo), read to EOF and report.
 */
static int
cmd_xfer(int argc, char **argv, const char *cmd)
{
	struct xfer *x = NULL;
	struct addr dst, src;
	char sum[SUMSZ];
	int timeout = DEFAULT_TIMEOUT, ret = 1;
	int is_recv = strcmp(cmd, "recv") == 0;
	int is_echo = strcmp(cmd, "echo") == 0;
	uint64_t n = 0;

	if (client_opts(argc, argv, &src, &timeout) == -1)
		return usage();
	argc -= optind;
	argv += optind;
	if (argc != (is_recv ? 1 : 2))
		return usage();
	if (parse_hostport(argv[0], &dst) == -1 ||
	    (!is_recv && parse_num(argv[1], 0, UINT64_MAX, "nbytes", &n) == -1))
		return EXIT_USAGE;

	x = xrealloc(NULL, sizeof(*x));
	memset(x, 0, sizeof(*x));
	x->tosend = n;
	x->shut_after = !is_recv;
	x->verify = is_echo;
	x->keep = !is_recv && !is_echo;
	x->fd = -1;
	stream_init(&x->out, 0);
	stream_init(&x->expect, 0);
	if ((x->fd = tcp_connect(&dst, &src, timeout)) == -1) {
		tnet_warn("connect %s", argv[0]);
		goto out;
	}
	if (xfer_run(x, timeout) == -1)
		goto out;
	if (x->keep)
		print_reply(x->data, x->datalen);
	else {
		sum_format(sum, sizeof(sum), x->nrecv, &x->sha);
		printf("%s\n", sum);
	}
	if (is_echo && x->bad) {
		tnet_warnx("echo differs from what was sent at byte %" PRIu64,
		    x->bad_at);
		goto out;
	}
	if (is_echo && x->nrecv != n) {
		tnet_warnx("sent %" PRIu64 " bytes, %" PRIu64 " came back", n,
		    x->nrecv);
		goto out;
	}
	ret = 0;
out:
	if (x != NULL) {
		if (x->fd != -1)
			close(x->fd);
		free(x->data);
		free(x);
	}
	return ret;
}

/* Record that many-connection i failed, telling why for the first few. */
static void
mconn_fail(struct mconn *c, size_t i, int *nreportedp, const char *why)
{
	if ((*nreportedp)++ < 5)
		tnet_warnx("connection %zu: %s; sent %" PRIu64 ", got %" PRIu64,
		    i, why, c->sent, c->recvd);
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->state = MSTATE_FAILED;
}

/*
 * Move one many-connection along after poll reported revents. Returns NULL,
 * or why the connection failed.
 */
static const char *
mconn_step(struct mconn *c, short revents, uint64_t bytes)
{
	uint8_t tmp[MANY_BUFSZ], want[MANY_BUFSZ];
	ssize_t r;

	if (c->state == MSTATE_CONNECTING) {
		if (!(revents & (POLLOUT | POLLERR | POLLHUP)))
			return NULL;
		if (tcp_finish(c->fd) == -1)
			return strerror(errno);
		c->state = MSTATE_RUNNING;
	}
	if ((revents & (POLLIN | POLLERR | POLLHUP)) && c->recvd < bytes) {
		r = read(c->fd, tmp, sizeof(tmp));
		if (r == -1 && errno != EAGAIN && errno != EINTR)
			return strerror(errno);
		if (r == 0)
			return "closed before everything came back";
		if (r > 0) {
			if ((uint64_t)r > bytes - c->recvd)
				return "more bytes came back than were sent";
			stream_fill(&c->expect, want, (size_t)r);
			if (memcmp(tmp, want, (size_t)r) != 0)
				return "echo differs from what was sent";
			c->recvd += (uint64_t)r;
		}
	}
	if (c->ooff == c->olen && c->sent < bytes) {
		c->ooff = 0;
		c->olen = (size_t)MIN(bytes - c->sent, sizeof(c->obuf));
		stream_fill(&c->out, c->obuf, c->olen);
	}
	if ((revents & POLLOUT) && c->ooff < c->olen) {
		r = write(c->fd, c->obuf + c->ooff, c->olen - c->ooff);
		if (r == -1 && errno != EAGAIN && errno != EINTR)
			return strerror(errno);
		if (r > 0) {
			c->ooff += (size_t)r;
			c->sent += (uint64_t)r;
		}
	}
	/* A finished connection stays open until all are finished. */
	if (c->sent == bytes && c->recvd == bytes)
		c->state = MSTATE_DONE;
	return NULL;
}

/* The poll events a running many-connection waits for. */
static short
mconn_events(const struct mconn *c, uint64_t bytes)
{
	short ev = 0;

	if (c->recvd < bytes)
		ev |= POLLIN;
	if (c->sent < bytes)
		ev |= POLLOUT;
	return ev;
}

/*
 * tnet many host:port conns bytes: run conns echo connections at once from
 * one poll loop and count how many got their bytes back intact.
 */
static int
cmd_many(int argc, char **argv)
{
	struct mconn *conns = NULL, *c;
	struct pollfd *pfds = NULL;
	size_t *idx = NULL;
	struct addr dst, src;
	const char *why;
	uint64_t nconns, bytes;
	size_t i, npfd, ok = 0, failed = 0;
	int timeout = DEFAULT_TIMEOUT, nreported = 0, ret = 1;
	int64_t deadline, left;

	if (client_opts(argc, argv, &src, &timeout) == -1)
		return usage();
	argc -= optind;
	argv += optind;
	if (argc != 3)
		return usage();
	if (parse_hostport(argv[0], &dst) == -1 ||
	    parse_num(argv[1], 1, 65536, "conns", &nconns) == -1 ||
	    parse_num(argv[2], 0, UINT64_MAX, "bytes", &bytes) == -1)
		return EXIT_USAGE;
	if (raise_nofile((rlim_t)nconns + 64) == -1)
		return 1;

	conns = xrealloc(NULL, nconns * sizeof(*conns));
	pfds = xrealloc(NULL, nconns * sizeof(*pfds));
	idx = xrealloc(NULL, nconns * sizeof(*idx));
	deadline = now_ms() + (int64_t)timeout * 1000;
	for (i = 0; i < nconns; i++) {
		c = &conns[i];
		memset(c, 0, sizeof(*c));
		stream_init(&c->out, i + 1);
		stream_init(&c->expect, i + 1);
		c->state = MSTATE_CONNECTING;
		if ((c->fd = tcp_start(&dst, &src)) == -1)
			mconn_fail(c, i, &nreported, strerror(errno));
	}
	for (;;) {
		for (i = 0, npfd = 0; i < nconns; i++) {
			c = &conns[i];
			if (c->state == MSTATE_DONE ||
			    c->state == MSTATE_FAILED)
				continue;
			pfds[npfd].fd = c->fd;
			pfds[npfd].events = POLLOUT;
			if (c->state == MSTATE_RUNNING)
				pfds[npfd].events = mconn_events(c, bytes);
			pfds[npfd].revents = 0;
			idx[npfd++] = i;
		}
		if (npfd == 0 || (left = deadline - now_ms()) <= 0)
			break;
		if (poll(pfds, npfd, (int)left) == -1) {
			if (errno == EINTR)
				continue;
			tnet_warn("poll");
			goto out;
		}
		for (i = 0; i < npfd; i++) {
			if (pfds[i].revents == 0)
				continue;
			c = &conns[idx[i]];
			if ((why = mconn_step(c, pfds[i].revents, bytes)))
				mconn_fail(c, idx[i], &nreported, why);
		}
	}
	for (i = 0; i < nconns; i++) {
		c = &conns[i];
		if (c->state == MSTATE_CONNECTING || c->state == MSTATE_RUNNING)
			mconn_fail(c, i, &nreported, "timed out");
		if (c->state == MSTATE_DONE)
			ok++;
		else
			failed++;
	}
	if (nreported > 5)
		tnet_warnx("... and %d more failures", nreported - 5);
	/*
	 * With TNET_PORTS=FILE, list the local port of each connection that
	 * succeeded, so a test can match them against what a server saw.
	 */
	if ((why = getenv("TNET_PORTS")) != NULL) {
		FILE *f = fopen(why, "w");

		for (i = 0; f != NULL && i < nconns; i++) {
			struct sockaddr_storage ls;
			socklen_t lslen = sizeof(ls);

			if (conns[i].state != MSTATE_DONE ||
			    getsockname(conns[i].fd, (struct sockaddr *)&ls,
			        &lslen) == -1)
				continue;
			fprintf(f, "%d\n", sockaddr_port(&ls));
		}
		if (f == NULL || fclose(f) != 0)
			tnet_warn("%s", why);
	}
	printf("ok=%zu failed=%zu\n", ok, failed);
	ret = failed == 0 ? 0 : 1;
out:
	for (i = 0; conns != NULL && i < nconns; i++) {
		if (conns[i].fd != -1)
			close(conns[i].fd);
	}
	free(conns);
	free(pfds);
	free(idx);
	return ret;
}

/* tnet sum nbytes: print the count and SHA-256 of the stream's first bytes. */
static int
cmd_sum(int argc, char **argv)
{
	crypto_hash_sha256_state sha;
	struct stream st;
	uint8_t buf[BUFSZ];
	char sum[SUMSZ];
	uint64_t n, left;
	size_t len;

	if (argc != 2)
		return usage();
	if (parse_num(argv[1], 0, UINT64_MAX, "nbytes", &n) == -1)
		return EXIT_USAGE;
	stream_init(&st, 0);
	crypto_hash_sha256_init(&sha);
	for (left = n; left > 0; left -= len) {
		len = left < sizeof(buf) ? (size_t)left : sizeof(buf);
		stream_fill(&st, buf, len);
		crypto_hash_sha256_update(&sha, buf, len);
	}
	sum_format(sum, sizeof(sum), n, &sha);
	printf("%s\n", sum);
	return 0;
}

/*
 * tnet closed [-t secs] host:port: connect, send nothing, and wait for the
 * peer to close. Exits 0 if it did, 1 if still open, 3 if refused.
 */
static int
cmd_closed(int argc, char **argv)
{
	struct addr dst, src;
	struct pollfd pfd;
	uint8_t tmp[BUFSZ];
	int timeout = CLOSED_TIMEOUT, fd, r, ret = 1;
	int64_t deadline, left;
	ssize_t n;

	if (client_opts(argc, argv, &src, &timeout) == -1)
		return usage();
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return usage();
	if (parse_hostport(argv[0], &dst) == -1)
		return EXIT_USAGE;
	deadline = now_ms() + (int64_t)timeout * 1000;
	if ((fd = tcp_connect(&dst, &src, timeout)) == -1) {
		r = errno;
		tnet_warn("connect %s", argv[0]);
		return r == ECONNREFUSED ? EXIT_REFUSED : 1;
	}
	for (;;) {
		if ((left = deadline - now_ms()) <= 0) {
			tnet_warnx("%s: still open after %d s", argv[0],
			    timeout);
			break;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		if ((r = poll(&pfd, 1, (int)left)) == -1) {
			if (errno == EINTR)
				continue;
			tnet_warn("poll");
			break;
		}
		if (r == 0)
			continue;
		if ((n = read(fd, tmp, sizeof(tmp))) == 0) {
			printf("eof\n");
			ret = 0;
			break;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			if (errno != ECONNRESET)
				tnet_warn("read");
			printf("reset\n");
			ret = 0;
			break;
		}
		/* The peer sent data: discard it and keep waiting. */
	}
	close(fd);
	return ret;
}

/* tnet refused host:port: exit 0 if the connection is refused. */
static int
cmd_refused(int argc, char **argv)
{
	struct addr dst, src;
	int fd;

	if (client_opts(argc, argv, &src, NULL) == -1)
		return usage();
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return usage();
	if (parse_hostport(argv[0], &dst) == -1)
		return EXIT_USAGE;
	if ((fd = tcp_connect(&dst, &src, CLOSED_TIMEOUT)) != -1) {
		close(fd);
		tnet_warnx("%s: connection accepted, expected it refused",
		    argv[0]);
		return 1;
	}
	if (errno != ECONNREFUSED) {
		tnet_warn("%s: expected connection refused", argv[0]);
		return 1;
	}
	return 0;
}

/*
 * Read more into lb, waiting up to timeout seconds (-1: forever). Sets
 * lb->eof at the end of input. Returns 0, or -1 with a message.
 */
static int
linebuf_fill(struct linebuf *lb, int timeout)
{
	struct pollfd pfd;
	ssize_t r;
	int n;

	if (lb->len == sizeof(lb->buf)) {
		tnet_warnx("%s: line too long", lb->name);
		return -1;
	}
	pfd.fd = lb->fd;
	pfd.events = POLLIN;
	while ((n = poll(&pfd, 1, timeout < 0 ? -1 : timeout * 1000)) == -1 &&
	    errno == EINTR)
		;
	if (n == -1) {
		tnet_warn("poll");
		return -1;
	}
	if (n == 0) {
		tnet_warnx("%s: nothing for %d s", lb->name, timeout);
		return -1;
	}
	r = read(lb->fd, lb->buf + lb->len, sizeof(lb->buf) - lb->len);
	if (r == -1 && errno != EAGAIN && errno != EINTR) {
		tnet_warn("%s: read", lb->name);
		return -1;
	}
	if (r == 0)
		lb->eof = 1;
	if (r > 0)
		lb->len += (size_t)r;
	return 0;
}

/*
 * Take the next line from lb into line (linecap bytes), without its
 * newline; at the end of input, what is left counts as a line. Returns 1
 * if there was one.
 */
static int
linebuf_take(struct linebuf *lb, char *line, size_t linecap)
{
	char *nl = memchr(lb->buf, '\n', lb->len);
	size_t n, used;

	if (nl == NULL && (!lb->eof || lb->len == 0))
		return 0;
	used = nl == NULL ? lb->len : (size_t)(nl - lb->buf) + 1;
	n = nl == NULL ? lb->len : (size_t)(nl - lb->buf);
	n = MIN(n, linecap - 1);
	memcpy(line, lb->buf, n);
	line[n] = '\0';
	memmove(lb->buf, lb->buf + used, lb->len - used);
	lb->len -= used;
	return 1;
}

/*
 * Write all len bytes of p to the non-blocking socket fd, waiting at most
 * timeout seconds each time it takes nothing.
 */
static int
write_all(int fd, const char *p, size_t len, int timeout)
{
	if (misc_write_all(fd, p, len, timeout * 1000) == 0)
		return 0;
	if (errno == ETIMEDOUT)
		tnet_warnx("write: blocked for %d s", timeout);
	else
		tnet_warn("write");
	return -1;
}

/*
 * Send line on the socket and print the line that comes back. Returns 0,
 * or -1 with a message ("closed" if the socket closed first).
 */
static int
chat_one(struct linebuf *sock, char *line, size_t linecap, int timeout)
{
	size_t n = strlen(line);

	line[n] = '\n';
	if (write_all(sock->fd, line, n + 1, timeout) == -1)
		return -1;
	while (!sock->eof && memchr(sock->buf, '\n', sock->len) == NULL) {
		if (linebuf_fill(sock, timeout) == -1)
			return -1;
	}
	if (memchr(sock->buf, '\n', sock->len) == NULL) {
		fprintf(stderr, "closed\n");
		return -1;
	}
	linebuf_take(sock, line, linecap);
	printf("%s\n", line);
	fflush(stdout);
	return 0;
}

/*
 * tnet chat host:port: send each stdin line and print the line that comes
 * back, for scripts that drive one long-lived connection.
 */
static int
cmd_chat(int argc, char **argv)
{
	static struct linebuf in, sock;
	static char line[BUFSZ + 1];
	struct addr dst, src;
	struct pollfd pfd[2];
	int timeout = DEFAULT_TIMEOUT, ret = 1;

	if (client_opts(argc, argv, &src, &timeout) == -1)
		return usage();
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return usage();
	if (parse_hostport(argv[0], &dst) == -1)
		return EXIT_USAGE;
	in.fd = STDIN_FILENO;
	in.name = "stdin";
	sock.name = argv[0];
	if ((sock.fd = tcp_connect(&dst, &src, timeout)) == -1) {
		tnet_warn("connect %s", argv[0]);
		return 1;
	}
	for (;;) {
		while (linebuf_take(&in, line, sizeof(line) - 1)) {
			if (chat_one(&sock, line, sizeof(line) - 1, timeout))
				goto out;
		}
		if (in.eof)
			break;
		/* Wait for stdin, noticing the socket closing meanwhile. */
		pfd[0].fd = in.fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = sock.fd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1 && errno != EINTR) {
			tnet_warn("poll");
			goto out;
		}
		if (pfd[1].revents && linebuf_fill(&sock, timeout) == -1)
			goto out;
		if (sock.eof) {
			fprintf(stderr, "closed\n");
			goto out;
		}
		if (pfd[0].revents && linebuf_fill(&in, -1) == -1)
			goto out;
	}
	ret = 0;
out:
	close(sock.fd);
	return ret;
}

/*
 * tnet line host:port: connect, print the first line the server sends
 * (such as the report of "listen proxy" behind a relay) and close.
 * Exits 1 if the connection closes before a whole line.
 */
static int
cmd_line(int argc, char **argv)
{
	static struct linebuf sock;
	static char line[BUFSZ + 1];
	struct addr dst, src;
	int timeout = DEFAULT_TIMEOUT, ret = 1;

	if (client_opts(argc, argv, &src, &timeout) == -1)
		return usage();
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return usage();
	if (parse_hostport(argv[0], &dst) == -1)
		return EXIT_USAGE;
	sock.name = argv[0];
	if ((sock.fd = tcp_connect(&dst, &src, timeout)) == -1) {
		tnet_warn("connect %s", argv[0]);
		return 1;
	}
	while (!sock.eof && memchr(sock.buf, '\n', sock.len) == NULL) {
		if (linebuf_fill(&sock, timeout) == -1)
			goto out;
	}
	if (memchr(sock.buf, '\n', sock.len) == NULL) {
		tnet_warnx("%s: closed before a whole line", argv[0]);
		goto out;
	}
	linebuf_take(&sock, line, sizeof(line));
	printf("%s\n", line);
	ret = 0;
out:
	close(sock.fd);
	return ret;
}

/*
 * tnet hdr -1|-2 srcip srcport dstip dstport: write the PROXY header that
 * proxyhdr_v1() or proxyhdr_v2() builds for that connection to stdout,
 * as is (v2 is binary).
 */
static int
cmd_hdr(int argc, char **argv)
{
	unsigned char buf[MAX(PROXYHDR_V1_MAX + 1, PROXYHDR_V2_MAX)];
	struct addr src, dst;
	uint64_t port;
	int ch, version = 0, n;

	while ((ch = getopt(argc, argv, "12")) != -1) {
		switch (ch) {
		case '1':
			version = 1;
			break;
		case '2':
			version = 2;
			break;
		default:
			return usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (version == 0 || argc != 4)
		return usage();
	if (parse_num(argv[1], 0, 65535, "srcport", &port) == -1 ||
	    parse_num(argv[3], 0, 65535, "dstport", &port) == -1 ||
	    parse_addr(argv[0], argv[1], &src) == -1 ||
	    parse_addr(argv[2], argv[3], &dst) == -1)
		return EXIT_USAGE;
	if (version == 1)
		n = proxyhdr_v1((char *)buf, sizeof(buf), &src.ss, &dst.ss);
	else
		n = proxyhdr_v2(buf, sizeof(buf), &src.ss, &dst.ss);
	if (n < 0) {
		tnet_warnx("proxyhdr_v%d: %s", version, porthole_strerror(n));
		return 1;
	}
	if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n ||
	    fflush(stdout) == EOF) {
		tnet_warn("stdout");
		return 1;
	}
	return 0;
}

/* Microseconds on the monotonic clock. */
static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Order two int64_t samples for qsort. */
static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/*
 * Sort the n (at least 1) samples in v and print "p50=<v> p99=<v>", each
 * by the nearest-rank method.
 */
static void
print_percentiles(int64_t *v, size_t n)
{
	size_t r50 = (n * 50 + 99) / 100, r99 = (n * 99 + 99) / 100;

	qsort(v, n, sizeof(*v), cmp_i64);
	printf("p50=%" PRId64 " p99=%" PRId64 "\n", v[MAX(r50, 1) - 1],
	    v[MAX(r99, 1) - 1]);
}

/*
 * Read exactly len bytes from the non-blocking socket fd into p, waiting
 * up to timeout seconds for each part. Returns 0, or -1 with a message.
 */
static int
read_full(int fd, uint8_t *p, size_t len, int timeout)
{
	struct pollfd pfd;
	ssize_t r;
	int n;

	while (len > 0) {
		if ((r = read(fd, p, len)) > 0) {
			p += r;
			len -= (size_t)r;
			continue;
		}
		if (r == 0) {
			tnet_warnx("read: closed with %zu bytes to come", len);
			return -1;
		}
		if (errno != EAGAIN && errno != EINTR) {
			tnet_warn("read");
			return -1;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		if ((n = poll(&pfd, 1, timeout * 1000)) == 0) {
			tnet_warnx("read: nothing for %d s", timeout);
			return -1;
		}
		if (n == -1 && errno != EINTR) {
			tnet_warn("poll");
			return -1;
		}
	}
	return 0;
}

/*
 * Parse the options and arguments lat and rtt share: host:port count.
 * Returns 0, or the exit status to return.
 */
static int
timing_args(int argc, char **argv, struct addr *dst, struct addr *src,
    int *timeoutp, uint64_t *countp)
{
	if (client_opts(argc, argv, src, timeoutp) == -1)
		return usage();
	argc -= optind;
	argv += optind;
	if (argc != 2)
		return usage();
	if (parse_hostport(argv[0], dst) == -1 ||
	    parse_num(argv[1], 1, MAX_SAMPLES, "count", countp) == -1)
		return EXIT_USAGE;
	return 0;
}

/*
 * tnet lat host:port count: count times in a row, connect to an echo
 * server, send one byte and read it back, then close. Prints the
 * percentiles of connect + first echoed byte, in microseconds.
 */
static int
cmd_lat(int argc, char **argv)
{
	struct addr dst, src;
	int64_t *us = NULL, t0;
	uint64_t count, i;
	uint8_t out, in;
	int timeout = DEFAULT_TIMEOUT, fd = -1, ret;

	if ((ret = timing_args(argc, argv, &dst, &src, &timeout, &count)))
		return ret;
	ret = 1;
	us = xrealloc(NULL, count * sizeof(*us));
	for (i = 0; i < count; i++) {
		out = (uint8_t)(i & 0xff);
		t0 = now_us();
		if ((fd = tcp_connect(&dst, &src, timeout)) == -1) {
			tnet_warn("connection %" PRIu64 ": connect %s", i,
			    argv[optind]);
			goto out;
		}
		if (write_all(fd, (const char *)&out, 1, timeout) == -1 ||
		    read_full(fd, &in, 1, timeout) == -1) {
			tnet_warnx("connection %" PRIu64 " failed", i);
			goto out;
		}
		us[i] = now_us() - t0;
		if (in != out) {
			tnet_warnx("connection %" PRIu64 ": sent 0x%02x, got "
			           "0x%02x",
			    i, out, in);
			goto out;
		}
		close(fd);
		fd = -1;
	}
	print_percentiles(us, count);
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	free(us);
	return ret;
}

/*
 * tnet rtt host:port count: on one connection to an echo server, send
 * count messages of RTT_SIZE stream bytes, each after the previous one came
 * back whole. Prints the percentiles of the round trips, in microseconds.
 * One uncounted round trip goes first: it waits for the tunnel to open.
 */
static int
cmd_rtt(int argc, char **argv)
{
	struct addr dst, src;
	struct stream st;
	int64_t *us = NULL, t0;
	uint64_t count, i;
	uint8_t out[RTT_SIZE], in[RTT_SIZE];
	int timeout = DEFAULT_TIMEOUT, fd = -1, on = 1, ret;

	if ((ret = timing_args(argc, argv, &dst, &src, &timeout, &count)))
		return ret;
	ret = 1;
	us = xrealloc(NULL, count * sizeof(*us));
	stream_init(&st, 0);
	if ((fd = tcp_connect(&dst, &src, timeout)) == -1) {
		tnet_warn("connect %s", argv[optind]);
		goto out;
	}
	/* Time the server, not Nagle's algorithm on our side. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1) {
		tnet_warn("TCP_NODELAY");
		goto out;
	}
	for (i = 0; i <= count; i++) {
		stream_fill(&st, out, sizeof(out));
		t0 = now_us();
		if (write_all(fd, (const char *)out, sizeof(out), timeout) ==
		        -1 ||
		    read_full(fd, in, sizeof(in), timeout) == -1) {
			tnet_warnx("round trip %" PRIu64 " failed", i);
			goto out;
		}
		if (i > 0)
			us[i - 1] = now_us() - t0;
		if (memcmp(in, out, sizeof(in)) != 0) {
			tnet_warnx("round trip %" PRIu64 ": echo differs", i);
			goto out;
		}
	}
	print_percentiles(us, count);
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	free(us);
	return ret;
}

/*
 * tnet delaypipe MS host:port: a ProxyCommand for ssh that passes the
 * connection through, delaying each chunk from stdin by MS milliseconds
 * (the server's answers pass at once). It widens the moment between a
 * forward being granted and the session command arriving, so a test can
 * connect inside it.
 */
static int
cmd_delaypipe(int argc, char **argv)
{
	struct addr dst, src;
	struct pollfd pfd[2];
	struct timespec ts;
	char buf[BUFSZ];
	long ms;
	ssize_t n;
	int fd, in_open = 1;

	if (argc != 3)
		return usage();
	ms = strtol(argv[1], NULL, 10);
	if (ms < 0 || ms > 10000 || parse_hostport(argv[2], &dst) == -1)
		return EXIT_USAGE;
	memset(&src, 0, sizeof(src));
	if ((fd = tcp_connect(&dst, &src, DEFAULT_TIMEOUT)) == -1) {
		tnet_warn("connect %s", argv[2]);
		return 1;
	}
	/* Blocking from here: a full socket simply waits. */
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	for (;;) {
		pfd[0].fd = in_open ? STDIN_FILENO : -1;
		pfd[0].events = POLLIN;
		pfd[1].fd = fd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			if ((n = read(fd, buf, sizeof(buf))) <= 0)
				break;
			if (write_all(STDOUT_FILENO, buf, (size_t)n,
			        DEFAULT_TIMEOUT) == -1)
				break;
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if ((n = read(STDIN_FILENO, buf, sizeof(buf))) <= 0) {
				shutdown(fd, SHUT_WR);
				in_open = 0;
				continue;
			}
			ts.tv_sec = ms / 1000;
			ts.tv_nsec = (ms % 1000) * 1000000L;
			nanosleep(&ts, NULL);
			if (write_all(fd, buf, (size_t)n, DEFAULT_TIMEOUT) ==
			    -1)
				break;
		}
	}
	close(fd);
	return 0;
}

/*
 * tnet flood: the most source addresses, the defaults, and the bit of an
 * epoll tag that says a connection is established (the rest is its fd).
 */
#define FLOOD_MAX_SRC   64
#define FLOOD_MAX_RATE  1000000
#define FLOOD_MAX_OPEN  10000
#define FLOOD_RATE      1000
#define FLOOD_SECS      10
#define FLOOD_WAIT      10
#define FLOOD_EVENTS    512
#define FLOOD_CONNECTED (1ULL << 32)

/* The state of "tnet flood" and what it counted. */
struct flood {
	struct addr dst;
	struct addr src[FLOOD_MAX_SRC];
	size_t nsrc;
	int epfd;
	uint64_t attempted; /* connect() started */
	uint64_t accepted; /* the handshake completed */
	uint64_t refused; /* then the server closed it without a byte */
	uint64_t relayed; /* then the server sent something */
	uint64_t rejected; /* ECONNREFUSED: nothing listens */
	uint64_t failed; /* any other error, such as no local port left */
	uint64_t open; /* started, not finished */
	int reported; /* the first failure was printed */
};

/* Count a failure <e> of connection <fd> and close it. */
static void
flood_fail(struct flood *fl, int fd, int e, const char *what)
{
	if (e == ECONNREFUSED)
		fl->rejected++;
	else {
		fl->failed++;
		if (!fl->reported) {
			errno = e;
			tnet_warn("first failure: %s", what);
			fl->reported = 1;
		}
	}
	if (fd != -1) {
		close(fd);
		fl->open--;
	}
}

/*
 * Start one connection from the next source. SO_LINGER 0 makes close()
 * send a reset, so that neither side keeps the connection in TIME_WAIT;
 * IP_BIND_ADDRESS_NO_PORT leaves the choice of the local port to
 * connect(), which may then reuse a port for another destination.
 */
static void
flood_start(struct flood *fl)
{
	const struct addr *src = &fl->src[fl->attempted % fl->nsrc];
	struct linger lg = { 1, 0 };
	struct epoll_event ev;
	int fd, on = 1, connected = 0;

	fl->attempted++;
	if ((fd = socket(fl->dst.ss.ss_family,
	         SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		flood_fail(fl, -1, errno, "socket");
		return;
	}
	fl->open++;
	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == -1) {
		flood_fail(fl, fd, errno, "SO_LINGER");
		return;
	}
	if (src->len != 0) {
		(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on,
		    sizeof(on));
		if (bind(fd, (const struct sockaddr *)&src->ss, src->len) ==
		    -1) {
			flood_fail(fl, fd, errno, "bind");
			return;
		}
	}
	if (connect(fd, (const struct sockaddr *)&fl->dst.ss, fl->dst.len) == 0)
		connected = 1;
	else if (errno != EINPROGRESS) {
		flood_fail(fl, fd, errno, "connect");
		return;
	}
	if (connected)
		fl->accepted++;
	memset(&ev, 0, sizeof(ev));
	ev.events = connected ? EPOLLIN | EPOLLRDHUP : EPOLLOUT;
	ev.data.u64 = (uint64_t)fd | (connected ? FLOOD_CONNECTED : 0);
	if (epoll_ctl(fl->epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
		tnet_fatal("epoll_ctl"); /* only for lack of memory */
}

/* Connection <fd> is established: wait for the server's verdict. */
static void
flood_established(struct flood *fl, int fd)
{
	struct epoll_event ev;

	fl->accepted++;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.u64 = (uint64_t)fd | FLOOD_CONNECTED;
	if (epoll_ctl(fl->epfd, EPOLL_CTL_MOD, fd, &ev) == -1)
		tnet_fatal("epoll_ctl");
}

/* Read what the server did with established connection <fd>. */
static void
flood_verdict(struct flood *fl, int fd)
{
	uint8_t tmp[512];
	ssize_t n;

	n = read(fd, tmp, sizeof(tmp));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	/* An end of file or a reset before any byte: refused. */
	if (n > 0)
		fl->relayed++;
	else
		fl->refused++;
	close(fd);
	fl->open--;
}

/* Handle one epoll event with tag <tag>. */
static void
flood_event(struct flood *fl, uint64_t tag)
{
	int fd = (int)(tag & 0xffffffffU);

	if (tag & FLOOD_CONNECTED) {
		flood_verdict(fl, fd);
		return;
	}
	if (tcp_finish(fd) == -1) {
		flood_fail(fl, fd, errno, "connect");
		return;
	}
	flood_established(fl, fd);
	/* The server may have closed it already. */
	flood_verdict(fl, fd);
}

/* Print the counts so far, prefixed with <what>. */
static void
flood_print(const struct flood *fl, const char *what, double secs)
{
	printf("%s attempted=%" PRIu64 " accepted=%" PRIu64 " refused=%" PRIu64
	       " relayed=%" PRIu64 " rejected=%" PRIu64 " failed=%" PRIu64
	       " open=%" PRIu64 " seconds=%.1f"
	       " rate=%.0f\n",
	    what, fl->attempted, fl->accepted, fl->refused, fl->relayed,
	    fl->rejected, fl->failed, fl->open, secs,
	    secs > 0 ? (double)fl->attempted / secs : 0.0);
	fflush(stdout);
}

/*
 * tnet flood [-v] [-s src]... [-r rate] [-d secs] [-c max] [-t secs]
 * host:port: for <secs> seconds, start <rate> connections a second to
 * host:port, from each -s source in turn, each non-blocking, with at most
 * <max> unfinished at once. An established connection is kept until the
 * server closes it or sends a byte, then reset. Then wait up to -t
 * seconds for the rest and print one line: attempted, accepted
 * (established), refused (closed by the server before any byte: how a
 * tunnel refuses), relayed (it sent a byte), rejected (ECONNREFUSED),
 * failed (other errors), open (still unanswered), the seconds spent
 * starting them and the rate achieved. With -v, a "progress" line every
 * second. A machine that cannot keep up starts fewer: the pace is a
 * token bucket holding at most 50 ms of connections, so the rate printed
 * is the one sustained.
 */
static int
cmd_flood(int argc, char **argv)
{
	struct flood fl;
	struct epoll_event evs[FLOOD_EVENTS];
	uint64_t rate = FLOOD_RATE, secs = FLOOD_SECS,
	         max_open = FLOOD_MAX_OPEN;
	uint64_t wait = FLOOD_WAIT, v;
	int64_t start, now, last, stop, deadline = 0, next_progress;
	double tokens = 1, burst;
	int ch, n, i, timeout, verbose = 0;

	memset(&fl, 0, sizeof(fl));
	while ((ch = getopt(argc, argv, "c:d:r:s:t:v")) != -1) {
		switch (ch) {
		case 'c':
			if (parse_num(optarg, 1, 1000000, "-c", &max_open) ==
			    -1)
				return EXIT_USAGE;
			break;
		case 'd':
			if (parse_num(optarg, 1, MAX_TIMEOUT, "-d", &secs) ==
			    -1)
				return EXIT_USAGE;
			break;
		case 'r':
			if (parse_num(optarg, 1, FLOOD_MAX_RATE, "-r", &rate) ==
			    -1)
				return EXIT_USAGE;
			break;
		case 's':
			if (fl.nsrc == FLOOD_MAX_SRC) {
				tnet_warnx("at most %d sources", FLOOD_MAX_SRC);
				return EXIT_USAGE;
			}
			if (parse_addr(optarg, "0", &fl.src[fl.nsrc]) == -1)
				return EXIT_USAGE;
			fl.nsrc++;
			break;
		case 't':
			if (parse_num(optarg, 0, MAX_TIMEOUT, "-t", &wait) ==
			    -1)
				return EXIT_USAGE;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			return usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return usage();
	if (parse_hostport(argv[0], &fl.dst) == -1)
		return EXIT_USAGE;
	if (fl.nsrc == 0)
		fl.nsrc = 1; /* src[0] is all zero: no bind */
	for (v = 0; v < fl.nsrc; v++) {
		if (fl.src[v].len != 0 &&
		    fl.src[v].ss.ss_family != fl.dst.ss.ss_family) {
			tnet_warnx("a source is not of the address family of "
			           "%s",
			    argv[0]);
			return EXIT_USAGE;
		}
	}
	if (raise_nofile(max_open + 64) == -1)
		return 1;
	if ((fl.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		tnet_warn("epoll_create1");
		return 1;
	}
	burst = rate / 20.0 > 1 ? rate / 20.0 : 1;
	start = last = now_us();
	stop = start + (int64_t)secs * 1000000;
	next_progress = start + 1000000;
	for (;;) {
		now = now_us();
		if (verbose && now >= next_progress && now < stop) {
			flood_print(&fl, "progress", (now - start) / 1e6);
			next_progress += 1000000;
		}
		if (now < stop) {
			tokens += (double)(now - last) * (double)rate / 1e6;
			if (tokens > burst)
				tokens = burst;
			last = now;
			while (tokens >= 1 && fl.open < max_open) {
				flood_start(&fl);
				tokens -= 1;
			}
			/* Until the next one is due (at least 1 ms). */
			timeout = (int)((1 - tokens) * 1000 / (double)rate) + 1;
			if (now + (int64_t)timeout * 1000 > stop)
				timeout = (int)((stop - now) / 1000) + 1;
		} else {
			if (deadline == 0) {
				deadline = now + (int64_t)wait * 1000000;
				flood_print(&fl, "started",
				    (stop - start) / 1e6);
			}
			if (fl.open == 0 || now >= deadline)
				break;
			timeout = (int)((deadline - now) / 1000) + 1;
		}
		if ((n = epoll_wait(fl.epfd, evs, FLOOD_EVENTS, timeout)) ==
		    -1) {
			if (errno == EINTR)
				continue;
			tnet_warn("epoll_wait");
			return 1;
		}
		for (i = 0; i < n; i++)
			flood_event(&fl, evs[i].data.u64);
	}
	flood_print(&fl, "flood", (stop - start) / 1e6);
	close(fl.epfd);
	return 0;
}

/* Dispatch to the subcommand named in argv[1]. */
int
main(int argc, char **argv)
{
	const char *cmd;

	if (sodium_init() == -1) {
		tnet_warnx("sodium_init failed");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	nosum = getenv("TNET_NOSUM") != NULL &&
	    strcmp(getenv("TNET_NOSUM"), "1") == 0;
	if (argc < 2)
		return usage();
	cmd = argv[1];
	argc--;
	argv++;
	optind = 1;
	if (strcmp(cmd, "listen") == 0)
		return cmd_listen(argc, argv);
	if (strcmp(cmd, "freeport") == 0)
		return cmd_freeport(argc, argv);
	if (strcmp(cmd, "send") == 0 || strcmp(cmd, "recv") == 0 ||
	    strcmp(cmd, "echo") == 0)
		return cmd_xfer(argc, argv, cmd);
	if (strcmp(cmd, "many") == 0)
		return cmd_many(argc, argv);
	if (strcmp(cmd, "lat") == 0)
		return cmd_lat(argc, argv);
	if (strcmp(cmd, "rtt") == 0)
		return cmd_rtt(argc, argv);
	if (strcmp(cmd, "sum") == 0)
		return cmd_sum(argc, argv);
	if (strcmp(cmd, "closed") == 0)
		return cmd_closed(argc, argv);
	if (strcmp(cmd, "refused") == 0)
		return cmd_refused(argc, argv);
	if (strcmp(cmd, "chat") == 0)
		return cmd_chat(argc, argv);
	if (strcmp(cmd, "line") == 0)
		return cmd_line(argc, argv);
	if (strcmp(cmd, "hdr") == 0)
		return cmd_hdr(argc, argv);
	if (strcmp(cmd, "delaypipe") == 0)
		return cmd_delaypipe(argc, argv);
	if (strcmp(cmd, "flood") == 0)
		return cmd_flood(argc, argv);
	return usage();
}
