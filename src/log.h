/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_LOG_H
#define PORTHOLE_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
	LOG_LEVEL_QUIET = 0,
	LOG_LEVEL_FATAL,
	LOG_LEVEL_ERROR,
	LOG_LEVEL_INFO,
	LOG_LEVEL_VERBOSE,
	LOG_LEVEL_DEBUG1,
	LOG_LEVEL_DEBUG2,
	LOG_LEVEL_DEBUG3,
};

enum log_sink {
	LOG_SINK_STDERR = 0,
	LOG_SINK_SYSLOG,
	LOG_SINK_CAPTURE, /* kept in memory, for tests */
};

/*
 * Set up logging: program name <progname> prefixes each stderr line,
 * messages above <level> are dropped. The log configuration is the only
 * global state in porthole.
 */
void log_init(const char *progname, enum log_level level, enum log_sink sink);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Switch the sink; for LOG_SINK_SYSLOG opens syslog with LOG_DAEMON. */
void log_set_handler(enum log_sink sink);

/*
 * Parse a LogLevel name (QUIET FATAL ERROR INFO VERBOSE DEBUG DEBUG1
 * DEBUG2 DEBUG3, any case). Returns 0 and stores it in *levelp, or
 * PORTHOLE_ERR_INVALID_FORMAT.
 */
int log_level_parse(const char *name, enum log_level *levelp);
const char *log_level_name(enum log_level level);

/*
 * The text captured so far by LOG_SINK_CAPTURE (borrowed, NUL-terminated,
 * lines separated by '\n'); log_capture_reset() empties it.
 */
const char *log_capture(void);
void log_capture_reset(void);

/*
 * Copy untrusted <s> into <buf> of size <len>, escaping control and
 * non-ASCII bytes as \ooo and clipping to fit. Returns buf.
 */
char *log_sanitize(char *buf, size_t len, const char *s);

void sshlog(const char *file, const char *func, int line, int showfunc,
    enum log_level level, const char *suffix, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
void sshlogv(const char *file, const char *func, int line, int showfunc,
    enum log_level level, const char *suffix, const char *fmt, va_list args)
    __attribute__((format(printf, 7, 0)));
void sshfatal(const char *file, const char *func, int line, int showfunc,
    const char *suffix, const char *fmt, ...) __attribute__((noreturn))
__attribute__((format(printf, 6, 7)));

#define do_log2(level, ...)                                                    \
	sshlog(__FILE__, __func__, __LINE__, 0, level, NULL, __VA_ARGS__)
#define error(...)                                                             \
	sshlog(__FILE__, __func__, __LINE__, 0, LOG_LEVEL_ERROR, NULL,         \
	    __VA_ARGS__)
#define logit(...)                                                             \
	sshlog(__FILE__, __func__, __LINE__, 0, LOG_LEVEL_INFO, NULL,          \
	    __VA_ARGS__)
#define verbose(...)                                                           \
	sshlog(__FILE__, __func__, __LINE__, 0, LOG_LEVEL_VERBOSE, NULL,       \
	    __VA_ARGS__)
#define debug(...)                                                             \
	sshlog(__FILE__, __func__, __LINE__, 0, LOG_LEVEL_DEBUG1, NULL,        \
	    __VA_ARGS__)
#define debug2(...)                                                            \
	sshlog(__FILE__, __func__, __LINE__, 0, LOG_LEVEL_DEBUG2, NULL,        \
	    __VA_ARGS__)
#define debug3(...)                                                            \
	sshlog(__FILE__, __func__, __LINE__, 0, LOG_LEVEL_DEBUG3, NULL,        \
	    __VA_ARGS__)
#define fatal(...) sshfatal(__FILE__, __func__, __LINE__, 0, NULL, __VA_ARGS__)

/* _f variants prefix the function name; _fr append porthole_strerror(r). */
#define error_f(...)                                                           \
	sshlog(__FILE__, __func__, __LINE__, 1, LOG_LEVEL_ERROR, NULL,         \
	    __VA_ARGS__)
#define logit_f(...)                                                           \
	sshlog(__FILE__, __func__, __LINE__, 1, LOG_LEVEL_INFO, NULL,          \
	    __VA_ARGS__)
#define verbose_f(...)                                                         \
	sshlog(__FILE__, __func__, __LINE__, 1, LOG_LEVEL_VERBOSE, NULL,       \
	    __VA_ARGS__)
#define debug_f(...)                                                           \
	sshlog(__FILE__, __func__, __LINE__, 1, LOG_LEVEL_DEBUG1, NULL,        \
	    __VA_ARGS__)
#define debug2_f(...)                                                          \
	sshlog(__FILE__, __func__, __LINE__, 1, LOG_LEVEL_DEBUG2, NULL,        \
	    __VA_ARGS__)
#define debug3_f(...)                                                          \
	sshlog(__FILE__, __func__, __LINE__, 1, LOG_LEVEL_DEBUG3, NULL,        \
	    __VA_ARGS__)
#define fatal_f(...)                                                           \
	sshfatal(__FILE__, __func__, __LINE__, 1, NULL, __VA_ARGS__)

#define error_r(r, ...)                                                        \
	sshlog(__FILE__, __func__, __LINE__, 0, LOG_LEVEL_ERROR,               \
	    porthole_strerror(r), __VA_ARGS__)
#define error_fr(r, ...)                                                       \
	sshlog(__FILE__, __func__, __LINE__, 1, LOG_LEVEL_ERROR,               \
	    porthole_strerror(r), __VA_ARGS__)
#define debug_fr(r, ...)                                                       \
	sshlog(__FILE__, __func__, __LINE__, 1, LOG_LEVEL_DEBUG1,              \
	    porthole_strerror(r), __VA_ARGS__)
#define fatal_fr(r, ...)                                                       \
	sshfatal(__FILE__, __func__, __LINE__, 1, porthole_strerror(r),        \
	    __VA_ARGS__)

#endif /* PORTHOLE_LOG_H */
