/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"
#include "utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "buf.h"
#include "err.h"

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *utf8_suite(void);

/* utf8_check_text: input, C0 controls allowed, and the message or NULL. */
static const struct {
	const char *in;
	const char *allow;
	const char *err; /* NULL: accepted */
} check_cases[] = {
	{ "", NULL, NULL },
	{ "CI runners", NULL, NULL },
	{ "{\"team\":\"x\"} ~!@#$%^&*()", NULL, NULL },
	{ "caf\xc3\xa9", NULL, NULL },
	{ "\xc2\xa0nbsp", NULL, NULL }, /* U+00A0, just past C1 */
	{ "\xc2\xbf\xdf\xbf", NULL, NULL },
	{ "\xe2\x82\xac 5", NULL, NULL },
	{ "\xf0\x9f\x98\x80", NULL, NULL },
	/* 9B continues a valid sequence here: U+96C0 and U+1F61B. */
	{ "\xe9\x9b\x80", NULL, NULL },
	{ "\xf0\x9f\x98\x9b", NULL, NULL },
	/* Not UTF-8, but no control either: let through. */
	{ "caf\xe9", NULL, NULL },
	{ "\xff\xfe", NULL, NULL },
	{ "\xc2", NULL, NULL },
	{ "\xc0\xaf", NULL, NULL },
	/* C0 and DEL. */
	{ "a\tb", NULL, "C0 control U+0009 at offset 1" },
	{ "\n", NULL, "C0 control U+000A at offset 0" },
	{ "x\x1b[2J", NULL, "C0 control U+001B at offset 1" },
	{ "del\x7f", NULL, "DEL (U+007F) at offset 3" },
	{ "a\tb", "\t", NULL },
	{ "a\tb\x01", "\t", "C0 control U+0001 at offset 3" },
	/* C1 in UTF-8: C2 80 to C2 9F. */
	{ "\xc2\x80", NULL, "C1 control U+0080 at offset 0" },
	{ "ab\xc2\x9b"
	  "31m",
	    NULL, "C1 control U+009B at offset 2" },
	{ "\xc2\x9f", NULL, "C1 control U+009F at offset 0" },
	{ "caf\xc3\xa9\xc2\x9d", NULL, "C1 control U+009D at offset 5" },
	{ "\xc2\x85", "\t", "C1 control U+0085 at offset 0" },
	/* C1 as raw bytes, outside any valid sequence. */
	{ "\x80", NULL, "C1 control byte 0x80 (not UTF-8) at offset 0" },
	{ "a\x9b"
	  "31m",
	    NULL, "C1 control byte 0x9B (not UTF-8) at offset 1" },
	{ "\x9f", NULL, "C1 control byte 0x9F (not UTF-8) at offset 0" },
	{ "\xe9\x9b", NULL, "C1 control byte 0x9B (not UTF-8) at offset 1" },
	{ "\xe9\x9b"
	  "x",
	    NULL, "C1 control byte 0x9B (not UTF-8) at offset 1" },
	{ "\xc3\xa9\x9b", NULL,
	    "C1 control byte 0x9B (not UTF-8) at offset 2" },
	{ "\xf0\x9f\x98\x9b\x9b", NULL,
	    "C1 control byte 0x9B (not UTF-8) at offset 4" },
	{ "\xc0\x9b", NULL, "C1 control byte 0x9B (not UTF-8) at offset 1" },
	/* The first one is named. */
	{ "\x9b\x1b", NULL, "C1 control byte 0x9B (not UTF-8) at offset 0" },
	{ "\x1b\x9b", NULL, "C0 control U+001B at offset 0" },
};

/* utf8_escape: input, keep_nl, and the exact output. */
static const struct {
	const char *in;
	int keep_nl;
	const char *out;
} escape_cases[] = {
	{ "", 0, "" },
	{ "plain text", 0, "plain text" },
	{ "back\\slash \"q\"", 0, "back\\slash \"q\"" },
	{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0,
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
	{ "\xc2\xa0", 0, "\xc2\xa0" },
	{ "\xe9\x9b\x80", 0, "\xe9\x9b\x80" },
	/* C0 and DEL, as log_sanitize writes them. */
	{ "a\tb", 0, "a\\011b" },
	{ "\x1b[2Jx", 0, "\\033[2Jx" },
	{ "del\x7f", 0, "del\\177" },
	{ "a\nb\n", 0, "a\\012b\\012" },
	{ "a\nb\n", 1, "a\nb\n" },
	{ "a\r\n", 1, "a\\015\n" },
	/* C1 in UTF-8: both bytes. */
	{ "\xc2\x9b"
	  "31m",
	    0, "\\302\\23331m" },
	{ "\xc2\x80|\xc2\x9f", 0, "\\302\\200|\\302\\237" },
	/* Raw C1 bytes and other bytes that are not UTF-8. */
	{ "\x9b"
	  "31m",
	    0, "\\23331m" },
	{ "caf\xe9", 0, "caf\\351" },
	{ "\xe9\x9b", 0, "\\351\\233" },
	{ "\xff", 0, "\\377" },
	{ "\xc3", 0, "\\303" },
	{ "\xf0\x9f\x98", 0, "\\360\\237\\230" },
	{ "\xe2\x82\xac\xe2\x82", 0, "\xe2\x82\xac\\342\\202" },
};

START_TEST(test_check_table)
{
	char err[UTF8_ERRLEN];
	int r;

	r = utf8_check_text(check_cases[_i].in, check_cases[_i].allow, err,
	    sizeof(err));
	if (check_cases[_i].err == NULL) {
		ck_assert_msg(r == 0, "case %d: refused: %s", _i, err);
		ck_assert_str_eq(err, "");
	} else {
		ck_assert_msg(r == PORTHOLE_ERR_INVALID_FORMAT,
		    "case %d: accepted", _i);
		ck_assert_str_eq(err, check_cases[_i].err);
	}
	/* The answer does not depend on having a buffer for the reason. */
	ck_assert_int_eq(utf8_check_text(check_cases[_i].in,
	                     check_cases[_i].allow, NULL, 0),
	    r);
}
END_TEST

START_TEST(test_check_short_errbuf)
{
	char err[8];

	memset(err, 'x', sizeof(err));
	ck_assert_int_eq(utf8_check_text("\xc2\x9b", NULL, err, sizeof(err)),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_str_eq(err, "C1 cont");
}
END_TEST

/* Encode code point <cp> as UTF-8 into <s> (5 bytes); returns <s>. */
static char *
encode(uint32_t cp, char *s)
{
	unsigned char *p = (unsigned char *)s;

	if (cp < 0x80)
		*p++ = (unsigned char)cp;
	else if (cp < 0x800) {
		*p++ = (unsigned char)(0xc0 | cp >> 6);
		*p++ = (unsigned char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*p++ = (unsigned char)(0xe0 | cp >> 12);
		*p++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		*p++ = (unsigned char)(0x80 | (cp & 0x3f));
	} else {
		*p++ = (unsigned char)(0xf0 | cp >> 18);
		*p++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		*p++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		*p++ = (unsigned char)(0x80 | (cp & 0x3f));
	}
	*p = '\0';
	return s;
}

/*
 * Every scalar value but NUL: refused exactly when it is a C0, DEL or C1
 * control, and escaped exactly then, each byte as \ooo. (ck_abort_msg
 * only on failure: in fork mode a million passing ck_assert calls would
 * each report to the parent.)
 */
START_TEST(test_all_code_points)
{
	struct buf *b;
	char in[5], want[16];
	const unsigned char *p;
	uint32_t cp;
	int ctrl;

	b = buf_new();
	for (cp = 1; cp <= 0x10ffff; cp++) {
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		encode(cp, in);
		ctrl = cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
		if (utf8_check_text(in, NULL, NULL, 0) !=
		    (ctrl ? PORTHOLE_ERR_INVALID_FORMAT : 0))
			ck_abort_msg("U+%04X: wrongly %s", (unsigned int)cp,
			    ctrl ? "accepted" : "refused");
		want[0] = '\0';
		if (ctrl) {
			for (p = (const unsigned char *)in; *p != '\0'; p++)
				snprintf(want + strlen(want),
				    sizeof(want) - strlen(want), "\\%03o", *p);
		} else
			snprintf(want, sizeof(want), "%s", in);
		buf_reset(b);
		utf8_escape(b, in, 0);
		if (strcmp(buf_str(b), want) != 0)
			ck_abort_msg("U+%04X: got %s, want %s",
			    (unsigned int)cp, buf_str(b), want);
	}
	buf_free(b);
}
END_TEST

/*
 * Decode <str> apart from utf8.c: whether it is well-formed UTF-8 (no
 * overlongs, surrogates or values past U+10FFFF) holding no C0, DEL or
 * C1 control, so that no terminal, in any locale, finds a control in it.
 */
static int
is_safe_utf8(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t cp, min;
	size_t i, n, k;

	for (i = 0; s[i] != '\0'; i += n) {
		if (s[i] < 0x80) {
			n = 1;
			cp = s[i];
			min = 0;
		} else if (s[i] >= 0xc0 && s[i] < 0xe0) {
			n = 2;
			cp = s[i] & 0x1f;
			min = 0x80;
		} else if (s[i] >= 0xe0 && s[i] < 0xf0) {
			n = 3;
			cp = s[i] & 0x0f;
			min = 0x800;
		} else if (s[i] >= 0xf0 && s[i] < 0xf8) {
			n = 4;
			cp = s[i] & 0x07;
			min = 0x10000;
		} else
			return 0;
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return 0;
	}
	return 1;
}

/*
 * Every string of one or two bytes, and of three after a three-byte
 * lead, escapes to safe UTF-8 (ck_abort_msg only on failure, as above).
 */
START_TEST(test_escape_every_short_string)
{
	struct buf *b;
	char in[4];
	int c1, c2, c3, last;

	b = buf_new();
	for (c1 = 1; c1 < 256; c1++) {
		for (c2 = 0; c2 < 256; c2++) {
			last = c2 != 0 && c1 >= 0xe0 ? 255 : 0;
			for (c3 = 0; c3 <= last; c3++) {
				in[0] = (char)c1;
				in[1] = (char)c2;
				in[2] = (char)c3;
				in[3] = '\0';
				buf_reset(b);
				utf8_escape(b, in, 0);
				if (!is_safe_utf8(buf_str(b)))
					ck_abort_msg("%02x %02x %02x: %s", c1,
					    c2, c3, buf_str(b));
			}
		}
	}
	buf_free(b);
}
END_TEST

START_TEST(test_escape_table)
{
	struct buf *b;

	b = buf_new();
	buf_puts(b, "[");
	utf8_escape(b, escape_cases[_i].in, escape_cases[_i].keep_nl);
	ck_assert_msg(strcmp(buf_str(b) + 1, escape_cases[_i].out) == 0,
	    "case %d: got %s, want %s", _i, buf_str(b) + 1,
	    escape_cases[_i].out);
	/* It appends. */
	ck_assert_int_eq(buf_str(b)[0], '[');
	buf_free(b);
}
END_TEST

/* The utf8 tests, one TCase per group of functions. */
Suite *
utf8_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("utf8");

	tc = tcase_create("check");
	tcase_add_loop_test(tc, test_check_table, 0, NELEM(check_cases));
	tcase_add_test(tc, test_check_short_errbuf);
	suite_add_tcase(s, tc);

	tc = tcase_create("escape");
	tcase_add_loop_test(tc, test_escape_table, 0, NELEM(escape_cases));
	tcase_add_test(tc, test_escape_every_short_string);
	suite_add_tcase(s, tc);

	tc = tcase_create("sweep");
	tcase_add_test(tc, test_all_code_points);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	return s;
}

/* Run the suite; a non-zero exit tells the test driver it failed. */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(utf8_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
