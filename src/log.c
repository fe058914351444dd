/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "compat.h"
#include "err.h"
#include "log.h"
#include "token.h"

#define LOG_LINE_MAX    1024
#define LOG_CAPTURE_MAX (64 * 1024)

/* The log configuration: the one piece of global state porthole keeps. */
static const char *log_progname = "porthole";
static enum log_level log_level_cur = LOG_LEVEL_INFO;
static enum log_sink log_sink_cur = LOG_SINK_STDERR;
static int log_syslog_open;
static char log_capture_buf[LOG_CAPTURE_MAX];
static size_t log_capture_len;

static const struct {
	const char *name;
	enum log_level level;
} log_levels[] = {
	{ "QUIET", LOG_LEVEL_QUIET },
	{ "FATAL", LOG_LEVEL_FATAL },
	{ "ERROR", LOG_LEVEL_ERROR },
	{ "INFO", LOG_LEVEL_INFO },
	{ "VERBOSE", LOG_LEVEL_VERBOSE },
	{ "DEBUG", LOG_LEVEL_DEBUG1 },
	{ "DEBUG1", LOG_LEVEL_DEBUG1 },
	{ "DEBUG2", LOG_LEVEL_DEBUG2 },
	{ "DEBUG3", LOG_LEVEL_DEBUG3 },
};

void
log_init(const char *progname, enum log_level level, enum log_sink sink)
{
	if (progname != NULL)
		log_progname = progname;
	log_level_cur = level;
	log_set_handler(sink);
}

void
log_set_level(enum log_level level)
{
	log_level_cur = level;
}

enum log_level
log_get_level(void)
{
	return log_level_cur;
}

void
log_set_handler(enum log_sink sink)
{
	if (sink == LOG_SINK_SYSLOG && !log_syslog_open) {
		/* Connected now: sandboxed session processes cannot connect. */
		openlog(log_progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_syslog_open = 1;
	}
	log_sink_cur = sink;
}

int
log_level_parse(const char *name, enum log_level *levelp)
{
	size_t i;

	for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++) {
		if (strcasecmp(name, log_levels[i].name) == 0) {
			*levelp = log_levels[i].level;
			return 0;
		}
	}
	return PORTHOLE_ERR_INVALID_FORMAT;
}

const char *
log_level_name(enum log_level level)
{
	size_t i;

	for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++) {
		if (log_levels[i].level == level)
			return log_levels[i].name;
	}
	return "UNKNOWN";
}

const char *
log_capture(void)
{
	log_capture_buf[log_capture_len] = '\0';
	return log_capture_buf;
}

void
log_capture_reset(void)
{
	log_capture_len = 0;
	log_capture_buf[0] = '\0';
}

char *
log_sanitize(char *buf, size_t len, const char *s)
{
	size_t o = 0;
	const unsigned char *p;

	if (len == 0)
		return buf;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
			if (o + 1 >= len)
				break;
			buf[o++] = (char)*p;
		} else {
			if (o + 4 >= len)
				break;
			snprintf(buf + o, len - o, "\\%03o", *p);
			o += 4;
		}
	}
	buf[o] = '\0';
	return buf;
}

/*
 * A message cut short may end inside a token or an API key, perhaps
 * leaving fewer characters than token_redact() recognises. Drop (and
 * wipe) a trailing "ph_" or "phk_" + base62 run, whatever its length;
 * only called on a message that was truncated.
 */
static void
log_clip_partial_token(char *msg)
{
	size_t len = strlen(msg), i = len;

	while (i > 0 &&
	    ((msg[i - 1] >= '0' && msg[i - 1] <= '9') ||
	        (msg[i - 1] >= 'A' && msg[i - 1] <= 'Z') ||
	        (msg[i - 1] >= 'a' && msg[i - 1] <= 'z')))
		i--;
	if (i >= APIKEY_PREFIX_LEN &&
	    strncmp(msg + i - APIKEY_PREFIX_LEN, APIKEY_PREFIX,
	        APIKEY_PREFIX_LEN) == 0)
		i -= APIKEY_PREFIX_LEN;
	else if (i >= TOKEN_PREFIX_LEN &&
	    strncmp(msg + i - TOKEN_PREFIX_LEN, TOKEN_PREFIX,
	        TOKEN_PREFIX_LEN) == 0)
		i -= TOKEN_PREFIX_LEN;
	else
		return;
	sodium_memzero(msg + i, len - i);
}

static int
log_syslog_priority(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_FATAL:
		return LOG_CRIT;
	case LOG_LEVEL_ERROR:
		return LOG_ERR;
	case LOG_LEVEL_INFO:
	case LOG_LEVEL_VERBOSE:
		return LOG_INFO;
	default:
		return LOG_DEBUG;
	}
}

void
sshlogv(const char *file, const char *func, int line, int showfunc,
    enum log_level level, const char *suffix, const char *fmt, va_list args)
{
	char msg[LOG_LINE_MAX], fmtbuf[LOG_LINE_MAX], safe[LOG_LINE_MAX];
	int saved_errno = errno, truncated = 0;
	size_t n;

	if (level > log_level_cur)
		return;
	if (showfunc) {
		if ((size_t)snprintf(fmtbuf, sizeof(fmtbuf), "%s: %s", func,
		        fmt) >= sizeof(fmtbuf))
			truncated = 1;
	} else if (strlcpy(fmtbuf, fmt, sizeof(fmtbuf)) >= sizeof(fmtbuf))
		truncated = 1;
		/* Format string is ours; arguments are checked by the attribute. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	if ((size_t)vsnprintf(msg, sizeof(msg), fmtbuf, args) >= sizeof(msg))
		truncated = 1;
#pragma GCC diagnostic pop
	if (truncated)
		log_clip_partial_token(msg);
	if (suffix != NULL) {
		strlcat(msg, ": ", sizeof(msg));
		strlcat(msg, suffix, sizeof(msg));
	}
	/*
	 * Never log a token, wherever it came from: a user name, a
	 * forwarded libssh line, a format string. This runs before every
	 * sink and before escaping, which cannot create a token.
	 */
	token_redact(msg);
	/* Strip control characters an untrusted argument may carry. */
	log_sanitize(safe, sizeof(safe), msg);

	switch (log_sink_cur) {
	case LOG_SINK_SYSLOG:
		syslog(log_syslog_priority(level), "%s", safe);
		break;
	case LOG_SINK_CAPTURE:
		n = strlen(safe);
		if (log_capture_len + n + 2 < sizeof(log_capture_buf)) {
			memcpy(log_capture_buf + log_capture_len, safe, n);
			log_capture_len += n;
			log_capture_buf[log_capture_len++] = '\n';
			log_capture_buf[log_capture_len] = '\0';
		}
		break;
	case LOG_SINK_STDERR:
	default:
		fprintf(stderr, "%s: %s\n", log_progname, safe);
		break;
	}
	(void)file;
	(void)line;
	errno = saved_errno;
}

void
sshlog(const char *file, const char *func, int line, int showfunc,
    enum log_level level, const char *suffix, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	sshlogv(file, func, line, showfunc, level, suffix, fmt, args);
	va_end(args);
}

void
sshfatal(const char *file, const char *func, int line, int showfunc,
    const char *suffix, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	sshlogv(file, func, line, showfunc, LOG_LEVEL_FATAL, suffix, fmt, args);
	va_end(args);
	exit(255);
}
