/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "err.h"
#include "token.h"

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The random part of a well-formed token, and of a second one. */
#define TOK_R1 "0123456789ABCDEFGHIJabcdefghijKLMNOPQRST"
#define TOK_R2 "zyxwvutsrqponmlkjihgZYXWVUTSRQPONMLKJIHG"
#define TOK1   TOKEN_PREFIX TOK_R1
#define TOK2   TOKEN_PREFIX TOK_R2
/* The longest message body a log line keeps (LOG_LINE_MAX - 1). */
#define LINE_KEEP 1023

static const struct {
	const char *name;
	enum log_level level;
} level_ok[] = {
	{ "QUIET", LOG_LEVEL_QUIET },
	{ "FATAL", LOG_LEVEL_FATAL },
	{ "ERROR", LOG_LEVEL_ERROR },
	{ "INFO", LOG_LEVEL_INFO },
	{ "VERBOSE", LOG_LEVEL_VERBOSE },
	{ "DEBUG", LOG_LEVEL_DEBUG1 },
	{ "DEBUG1", LOG_LEVEL_DEBUG1 },
	{ "DEBUG2", LOG_LEVEL_DEBUG2 },
	{ "DEBUG3", LOG_LEVEL_DEBUG3 },
	{ "quiet", LOG_LEVEL_QUIET },
	{ "info", LOG_LEVEL_INFO },
	{ "Verbose", LOG_LEVEL_VERBOSE },
	{ "debug", LOG_LEVEL_DEBUG1 },
	{ "dEbUg3", LOG_LEVEL_DEBUG3 },
};

static const char *const level_bad[] = {
	"",
	"INFO ",
	" INFO",
	"INF",
	"INFOS",
	"trace",
	"DEBUG0",
	"DEBUG4",
	"3",
};

/* log_sanitize: input, buffer size, expected output. */
static const struct {
	const char *in;
	size_t len;
	const char *out;
} sanitize_cases[] = {
	{ "plain text", 64, "plain text" },
	{ "", 64, "" },
	{ "a\tb", 64, "a\\011b" },
	{ "line\nbreak\r", 64, "line\\012break\\015" },
	{ "back\\slash", 64, "back\\134slash" },
	{ "\x1b[31mred", 64, "\\033[31mred" },
	{ "del\x7f", 64, "del\\177" },
	{ "caf\xc3\xa9", 64, "caf\\303\\251" },
	/* C1 controls, in UTF-8 and as raw bytes: every byte escaped. */
	{ "\xc2\x80", 64, "\\302\\200" },
	{ "a\xc2\x9b"
	  "31m",
	    64, "a\\302\\23331m" },
	{ "\xc2\x9f\xc2\xa0", 64, "\\302\\237\\302\\240" },
	{ "\x9b"
	  "2J",
	    64, "\\2332J" },
	{ "\x80\x85\x9f", 64, "\\200\\205\\237" },
	{ "\xe9\x9b", 64, "\\351\\233" },
	{ "~ !", 64, "~ !" },
	/* Clipping keeps room for the NUL and never splits an escape. */
	{ "abcdef", 4, "abc" },
	{ "abc", 4, "abc" },
	{ "a\n", 5, "a" },
	{ "a\n", 6, "a\\012" },
	{ "a\nb", 6, "a\\012" },
	{ "\n", 4, "" },
	{ "abc", 1, "" },
};

/* Log one message from a function whose name the test knows. */
static void
log_helper(void)
{
	error_f("value %d", 42);
}

/* Log one message with a porthole_strerror suffix. */
static void
log_helper_r(void)
{
	error_fr(PORTHOLE_ERR_NOT_FOUND, "lookup %s", "acct");
}

/* Log a token as an argument from a function whose name the test knows. */
static void
log_helper_token(const char *tok)
{
	error_fr(PORTHOLE_ERR_DENIED, "user %s", tok);
}

/* Send logs to the capture buffer at <level>, starting empty. */
static void
capture_at(enum log_level level)
{
	log_init("test", level, LOG_SINK_CAPTURE);
	log_capture_reset();
}

/* Every level name parses, in any case; DEBUG is DEBUG1. */
START_TEST(test_level_parse_ok)
{
	enum log_level level = LOG_LEVEL_FATAL;

	if (level_ok[_i].level == LOG_LEVEL_FATAL)
		level = LOG_LEVEL_INFO;
	ck_assert_msg(log_level_parse(level_ok[_i].name, &level) == 0,
	    "rejected '%s'", level_ok[_i].name);
	ck_assert_int_eq(level, level_ok[_i].level);
}
END_TEST

/* Unknown names fail and leave *levelp alone. */
START_TEST(test_level_parse_bad)
{
	enum log_level level = LOG_LEVEL_VERBOSE;

	ck_assert_msg(log_level_parse(level_bad[_i], &level) ==
	        PORTHOLE_ERR_INVALID_FORMAT,
	    "accepted '%s'", level_bad[_i]);
	ck_assert_int_eq(level, LOG_LEVEL_VERBOSE);
}
END_TEST

/* log_level_name gives a name log_level_parse maps back to the level. */
START_TEST(test_level_name_roundtrip)
{
	enum log_level level, back;

	for (level = LOG_LEVEL_QUIET; level <= LOG_LEVEL_DEBUG3; level++) {
		ck_assert_int_eq(log_level_parse(log_level_name(level), &back),
		    0);
		ck_assert_int_eq(back, level);
	}
	ck_assert_str_eq(log_level_name(LOG_LEVEL_INFO), "INFO");
	ck_assert_str_eq(log_level_name(LOG_LEVEL_DEBUG1), "DEBUG");
	ck_assert_str_eq(log_level_name((enum log_level)99), "UNKNOWN");
}
END_TEST

/* Messages above the configured level are dropped, the rest kept. */
START_TEST(test_level_filter)
{
	capture_at(LOG_LEVEL_INFO);
	ck_assert_int_eq(log_get_level(), LOG_LEVEL_INFO);
	logit("info %d", 1);
	verbose("verbose %d", 2);
	debug("debug %d", 3);
	debug3("debug3 %d", 4);
	error("error %d", 5);
	ck_assert_str_eq(log_capture(), "info 1\nerror 5\n");

	log_capture_reset();
	log_set_level(LOG_LEVEL_DEBUG2);
	ck_assert_int_eq(log_get_level(), LOG_LEVEL_DEBUG2);
	verbose("v");
	debug("d1");
	debug2("d2");
	debug3("d3");
	ck_assert_str_eq(log_capture(), "v\nd1\nd2\n");

	log_capture_reset();
	log_set_level(LOG_LEVEL_QUIET);
	error("dropped");
	ck_assert_str_eq(log_capture(), "");

	log_capture_reset();
	log_set_level(LOG_LEVEL_ERROR);
	logit("dropped");
	error("kept");
	ck_assert_str_eq(log_capture(), "kept\n");
}
END_TEST

/* _f prefixes the function name; _fr appends the error text. */
START_TEST(test_prefix_suffix)
{
	capture_at(LOG_LEVEL_INFO);
	log_helper();
	log_helper_r();
	ck_assert_str_eq(log_capture(),
	    "log_helper: value 42\nlog_helper_r: lookup acct: not found\n");
}
END_TEST

/* Control characters inside a message are escaped, so one call = one line. */
START_TEST(test_message_sanitized)
{
	capture_at(LOG_LEVEL_INFO);
	logit("user %s", "evil\nfake line\x1b");
	ck_assert_str_eq(log_capture(), "user evil\\012fake line\\033\n");
}
END_TEST

/* C1 controls too, as an SSH user name may carry them (auth.c). */
START_TEST(test_message_c1_sanitized)
{
	capture_at(LOG_LEVEL_INFO);
	logit("user %s",
	    "a\xc2\x9b"
	    "2J\x9b"
	    "31m");
	ck_assert_str_eq(log_capture(), "user a\\302\\2332J\\23331m\n");
}
END_TEST

/* A token passed as a format argument never reaches the sink. */
START_TEST(test_token_in_argument)
{
	char tok[TOKEN_LEN + 1];

	capture_at(LOG_LEVEL_DEBUG3);
	logit("auth user %s", TOK1);
	debug3("user '%.100s' from %s", TOK2, "192.0.2.1");
	log_helper_token(TOK1);
	token_generate(tok, sizeof(tok));
	verbose("%s%s", tok, "\n");
	ck_assert_str_eq(log_capture(),
	    "auth user " TOKEN_REDACTED "\n"
	    "user '" TOKEN_REDACTED "' from 192.0.2.1\n"
	    "log_helper_token: user " TOKEN_REDACTED
	    ": permission denied\n" TOKEN_REDACTED "\\012\n");
}
END_TEST

/* An API key is redacted as a token is, and told apart from one. */
START_TEST(test_apikey_in_argument)
{
	capture_at(LOG_LEVEL_INFO);
	logit("key %s%s, token %s", APIKEY_PREFIX, TOK_R1, TOK2);
	ck_assert_str_eq(log_capture(),
	    "key " APIKEY_REDACTED ", token " TOKEN_REDACTED "\n");
}
END_TEST

/* A token inside the format string itself is redacted too. */
START_TEST(test_token_in_format)
{
	capture_at(LOG_LEVEL_INFO);
	logit("literal " TOK1 " here");
	error_f(TOK2);
	logit("two: " TOK1 ",%s.", TOK2);
	ck_assert_str_eq(log_capture(),
	    "literal " TOKEN_REDACTED " here\n"
	    "test_token_in_format_fn: " TOKEN_REDACTED "\n"
	    "two: " TOKEN_REDACTED "," TOKEN_REDACTED ".\n");
}
END_TEST

/* Token-free text, and short "ph_" runs, are left as they were. */
START_TEST(test_token_lookalikes_kept)
{
	capture_at(LOG_LEVEL_INFO);
	logit("ph_ ph_short graph_abc ph_%s", "abcdefghijklmno");
	ck_assert_str_eq(log_capture(),
	    "ph_ ph_short graph_abc ph_abcdefghijklmno\n");
}
END_TEST

/*
 * A message cut at LOG_LINE_MAX may end inside a token, perhaps with
 * too few characters left for token_redact(): that tail is dropped.
 */
START_TEST(test_token_truncated)
{
	char pad[LINE_KEEP + 1], want[LINE_KEEP + 2];
	int keep;

	/* From 0 (just the prefix kept) to 20 token characters kept. */
	for (keep = 0; keep <= 20; keep++) {
		capture_at(LOG_LEVEL_INFO);
		memset(pad, '.', sizeof(pad));
		pad[LINE_KEEP - TOKEN_PREFIX_LEN - keep] = '\0';
		logit("%s%s tail", pad, TOK1);
		snprintf(want, sizeof(want), "%s\n", pad);
		ck_assert_msg(strcmp(log_capture(), want) == 0,
		    "keep %d: got '%s'", keep, log_capture() + strlen(pad));
	}

	/* The same for an API key. */
	for (keep = 0; keep <= 20; keep++) {
		capture_at(LOG_LEVEL_INFO);
		memset(pad, '.', sizeof(pad));
		pad[LINE_KEEP - APIKEY_PREFIX_LEN - keep] = '\0';
		logit("%s%s%s tail", pad, APIKEY_PREFIX, TOK_R1);
		snprintf(want, sizeof(want), "%s\n", pad);
		ck_assert_msg(strcmp(log_capture(), want) == 0,
		    "key, keep %d: got '%s'", keep,
		    log_capture() + strlen(pad));
	}

	/* Not cut short: a short "ph_" run at the end is not a token. */
	capture_at(LOG_LEVEL_INFO);
	logit("end ph_abc");
	ck_assert_str_eq(log_capture(), "end ph_abc\n");
}
END_TEST

/* The stderr sink gets the redacted line as well. */
START_TEST(test_token_stderr)
{
	FILE *tmp;
	char buf[256];
	size_t n;
	int saved;

	ck_assert_ptr_nonnull(tmp = tmpfile());
	fflush(stderr);
	ck_assert_int_ne(saved = dup(STDERR_FILENO), -1);
	ck_assert_int_ne(dup2(fileno(tmp), STDERR_FILENO), -1);
	log_init("portholetest", LOG_LEVEL_INFO, LOG_SINK_STDERR);
	logit("token %s", TOK1);
	fflush(stderr);
	ck_assert_int_ne(dup2(saved, STDERR_FILENO), -1);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, sizeof(buf) - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
	ck_assert_str_eq(buf, "portholetest: token " TOKEN_REDACTED "\n");
}
END_TEST

/* Logging never changes errno. */
START_TEST(test_errno_preserved)
{
	capture_at(LOG_LEVEL_DEBUG3);
	errno = EINTR;
	logit("x");
	debug3("y");
	ck_assert_int_eq(errno, EINTR);
}
END_TEST

/* The capture buffer resets and drops what no longer fits. */
START_TEST(test_capture_limits)
{
	char line[200];
	size_t len;
	int i;

	capture_at(LOG_LEVEL_INFO);
	logit("something");
	ck_assert_str_ne(log_capture(), "");
	log_capture_reset();
	ck_assert_str_eq(log_capture(), "");

	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	for (i = 0; i < 1000; i++)
		logit("%s", line);
	len = strlen(log_capture());
	ck_assert_uint_gt(len, 60000);
	ck_assert_uint_lt(len, 64 * 1024);
	/* Only whole lines are kept. */
	ck_assert_int_eq(len % sizeof(line), 0);
	ck_assert_int_eq(log_capture()[len - 1], '\n');
}
END_TEST

/* The stderr sink writes "progname: message" lines. */
START_TEST(test_stderr_sink)
{
	FILE *tmp;
	char buf[256];
	size_t n;
	int saved;

	ck_assert_ptr_nonnull(tmp = tmpfile());
	fflush(stderr);
	ck_assert_int_ne(saved = dup(STDERR_FILENO), -1);
	ck_assert_int_ne(dup2(fileno(tmp), STDERR_FILENO), -1);
	log_init("portholetest", LOG_LEVEL_INFO, LOG_SINK_STDERR);
	logit("hello %s", "world");
	debug("hidden");
	fflush(stderr);
	ck_assert_int_ne(dup2(saved, STDERR_FILENO), -1);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, sizeof(buf) - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
	ck_assert_str_eq(buf, "portholetest: hello world\n");
}
END_TEST

/* fatal logs its message and exits with status 255. */
START_TEST(test_fatal_exits)
{
	capture_at(LOG_LEVEL_INFO);
	fatal("giving up");
}
END_TEST

/* Control, backslash and non-ASCII bytes become \ooo; output is clipped. */
START_TEST(test_sanitize)
{
	char buf[64];

	ck_assert_uint_le(sanitize_cases[_i].len, sizeof(buf));
	memset(buf, 'X', sizeof(buf));
	ck_assert_ptr_eq(log_sanitize(buf, sanitize_cases[_i].len,
	                     sanitize_cases[_i].in),
	    buf);
	ck_assert_str_eq(buf, sanitize_cases[_i].out);
}
END_TEST

/* A zero-length buffer is left untouched. */
START_TEST(test_sanitize_zero)
{
	char buf[4] = "XYZ";

	log_sanitize(buf, 0, "abc");
	ck_assert_str_eq(buf, "XYZ");
}
END_TEST

Suite *log_suite(void);

/* Build the log suite: one TCase per function group. */
Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc;

	tc = tcase_create("level");
	tcase_add_loop_test(tc, test_level_parse_ok, 0, NELEM(level_ok));
	tcase_add_loop_test(tc, test_level_parse_bad, 0, NELEM(level_bad));
	tcase_add_test(tc, test_level_name_roundtrip);
	tcase_add_test(tc, test_level_filter);
	suite_add_tcase(s, tc);

	tc = tcase_create("sink");
	tcase_add_test(tc, test_prefix_suffix);
	tcase_add_test(tc, test_message_sanitized);
	tcase_add_test(tc, test_message_c1_sanitized);
	tcase_add_test(tc, test_errno_preserved);
	tcase_add_test(tc, test_capture_limits);
	tcase_add_test(tc, test_stderr_sink);
	tcase_add_exit_test(tc, test_fatal_exits, 255);
	suite_add_tcase(s, tc);

	tc = tcase_create("redact");
	tcase_add_test(tc, test_token_in_argument);
	tcase_add_test(tc, test_apikey_in_argument);
	tcase_add_test(tc, test_token_in_format);
	tcase_add_test(tc, test_token_lookalikes_kept);
	tcase_add_test(tc, test_token_truncated);
	tcase_add_test(tc, test_token_stderr);
	suite_add_tcase(s, tc);

	tc = tcase_create("sanitize");
	tcase_add_loop_test(tc, test_sanitize, 0, NELEM(sanitize_cases));
	tcase_add_test(tc, test_sanitize_zero);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the log suite; exit status reflects any failure. */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(log_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
