/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"
#include "json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "buf.h"

/* json_str inputs and the exact literal expected for each. */
static const struct {
	const char *in;
	const char *out;
} str_cases[] = {
	{ NULL, "null" },
	{ "", "\"\"" },
	{ "tcp://tunnel.example.com:41234",
	    "\"tcp://tunnel.example.com:41234\"" },
	{ "say \"hi\"", "\"say \\\"hi\\\"\"" },
	{ "C:\\dir\\", "\"C:\\\\dir\\\\\"" },
	{ "/slash/", "\"/slash/\"" },
	{ "a\nb\rc\td\be\ff", "\"a\\nb\\rc\\td\\be\\ff\"" },
	{ "\x01", "\"\\u0001\"" },
	{ "\x1f|\x1b[31m", "\"\\u001f|\\u001b[31m\"" },
	{ "del\x7f", "\"del\\u007f\"" },
	{ "\x0b\x0e", "\"\\u000b\\u000e\"" },
	/* C1 controls, U+0080 to U+009F, as escapes: never raw. */
	{ "\xc2\x80", "\"\\u0080\"" },
	{ "\xc2\x85", "\"\\u0085\"" },
	{ "a\xc2\x9b"
	  "31mb",
	    "\"a\\u009b31mb\"" },
	{ "\xc2\x9f\xc2\xa0", "\"\\u009f\xc2\xa0\"" },
	{ "caf\xc3\xa9\xc2\x9d\"", "\"caf\xc3\xa9\\u009d\\\"\"" },
	/* Raw C1 bytes are not UTF-8, so U+FFFD as below. */
	{ "\x9b"
	  "31m",
	    "\"\\ufffd31m\"" },
	{ "\xe9\x9b", "\"\\ufffd\"" },
	/* Valid UTF-8 passes through unchanged. */
	{ "caf\xc3\xa9", "\"caf\xc3\xa9\"" },
	{ "\xc2\xa0", "\"\xc2\xa0\"" },
	{ "\xe9\x9b\x80", "\"\xe9\x9b\x80\"" },
	{ "\xdf\xbf", "\"\xdf\xbf\"" },
	{ "\xe0\xa0\x80", "\"\xe0\xa0\x80\"" },
	{ "\xe2\x82\xac 5", "\"\xe2\x82\xac 5\"" },
	{ "\xed\x9f\xbf", "\"\xed\x9f\xbf\"" },
	{ "\xee\x80\x80", "\"\xee\x80\x80\"" },
	{ "\xef\xbf\xbf", "\"\xef\xbf\xbf\"" },
	{ "\xf0\x90\x80\x80", "\"\xf0\x90\x80\x80\"" },
	{ "\xf0\x9f\x98\x80!", "\"\xf0\x9f\x98\x80!\"" },
	{ "\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"" },
	/* Invalid UTF-8: one U+FFFD per maximal subpart. */
	{ "\x80", "\"\\ufffd\"" },
	{ "a\xbf"
	  "b",
	    "\"a\\ufffdb\"" },
	{ "\xff\xfe", "\"\\ufffd\\ufffd\"" },
	{ "\xc0\x80", "\"\\ufffd\\ufffd\"" },
	{ "\xc1\xbf", "\"\\ufffd\\ufffd\"" },
	{ "\xc3", "\"\\ufffd\"" },
	{ "\xc3(", "\"\\ufffd(\"" },
	{ "\xe2\x82", "\"\\ufffd\"" },
	{ "\xe2\x82z", "\"\\ufffdz\"" },
	{ "\xe0\x80\x80", "\"\\ufffd\\ufffd\\ufffd\"" },
	{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },
	{ "\xed\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\"" },
	{ "\xf0\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },
	{ "\xf0\x9f\x98", "\"\\ufffd\"" },
	{ "\xf0\x9f\x98\"", "\"\\ufffd\\\"\"" },
	{ "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },
	{ "\xf5\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },
	{ "\xf8\x88\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"" },
	{ "\xe2\x82\xac\xe2\x82", "\"\xe2\x82\xac\\ufffd\"" },
};

/* json_raw: stored JSON text and what is printed of it. */
static const struct {
	const char *in;
	const char *out;
} raw_cases[] = {
	{ "", "" },
	{ "{\"a\":\"b\",\"n\":1}", "{\"a\":\"b\",\"n\":1}" },
	/* Quotes and escapes stay as they are. */
	{ "{\"a\":\"x\\\"y\\\\z\\u001b\"}", "{\"a\":\"x\\\"y\\\\z\\u001b\"}" },
	{ "{\"a\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}",
	    "{\"a\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}" },
	/* A store older than the C1 escapes: C1 raw in a string. */
	{ "{\"description\":\"a\xc2\x9b"
	  "31mb\"}",
	    "{\"description\":\"a\\u009b31mb\"}" },
	{ "{\"d\":\"\xc2\x80\xc2\x9f\"}", "{\"d\":\"\\u0080\\u009f\"}" },
	/* A row planted by hand: raw bytes, C0 and DEL. */
	{ "{\"d\":\"\x9b"
	  "2J\"}",
	    "{\"d\":\"\\ufffd2J\"}" },
	{ "{\"d\":\"\x1b[2J\x7f\"}", "{\"d\":\"\\u001b[2J\\u007f\"}" },
	{ "{\"d\":\"a\nb\tc\"}", "{\"d\":\"a\\nb\\tc\"}" },
};

/*
 * Check one UTF-8 sequence at s[*ip], independently of json.c: decode
 * it and reject overlongs, surrogates and values above U+10FFFF.
 */
static int
valid_utf8_at(const unsigned char *s, size_t len, size_t *ip)
{
	uint32_t cp, min;
	size_t n, k;

	if (s[*ip] >= 0xc0 && s[*ip] < 0xe0) {
		n = 2;
		cp = s[*ip] & 0x1f;
		min = 0x80;
	} else if (s[*ip] >= 0xe0 && s[*ip] < 0xf0) {
		n = 3;
		cp = s[*ip] & 0x0f;
		min = 0x800;
	} else if (s[*ip] >= 0xf0 && s[*ip] < 0xf8) {
		n = 4;
		cp = s[*ip] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (*ip + n > len)
		return 0;
	for (k = 1; k < n; k++) {
		if ((s[*ip + k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[*ip + k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*ip += n;
	return 1;
}

/* Whether <s> is exactly one well-formed JSON string literal (RFC 8259). */
static int
is_json_string(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t len = strlen(str), i, k;

	if (len < 2 || s[0] != '"' || s[len - 1] != '"')
		return 0;
	for (i = 1; i < len - 1;) {
		if (s[i] < 0x20 || s[i] == '"')
			return 0;
		if (s[i] == '\\') {
			if (i + 1 >= len - 1)
				return 0;
			if (strchr("\"\\/bfnrt", s[i + 1]) != NULL) {
				i += 2;
				continue;
			}
			if (s[i + 1] != 'u' || i + 6 > len - 1)
				return 0;
			for (k = 2; k < 6; k++) {
				if (strchr("0123456789abcdefABCDEF",
				        s[i + k]) == NULL)
					return 0;
			}
			i += 6;
			continue;
		}
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (!valid_utf8_at(s, len - 1, &i))
			return 0;
	}
	return 1;
}

START_TEST(test_str_table)
{
	struct buf *b;

	b = buf_new();
	json_str(b, str_cases[_i].in);
	ck_assert_msg(strcmp(buf_str(b), str_cases[_i].out) == 0,
	    "case %d: got %s, want %s", _i, buf_str(b), str_cases[_i].out);
	if (str_cases[_i].in != NULL)
		ck_assert(is_json_string(buf_str(b)));
	buf_free(b);
}
END_TEST

START_TEST(test_str_appends)
{
	struct buf *b;

	b = buf_new();
	buf_puts(b, "[");
	json_str(b, "a");
	buf_puts(b, ",");
	json_str(b, NULL);
	buf_puts(b, "]");
	ck_assert_str_eq(buf_str(b), "[\"a\",null]");
	buf_free(b);
}
END_TEST

START_TEST(test_str_every_byte)
{
	struct buf *b;
	char in[3];
	int c1, c2;

	/* Every one- and two-byte string gives a valid literal. */
	b = buf_new();
	for (c1 = 1; c1 < 256; c1++) {
		for (c2 = 0; c2 < 256; c2++) {
			in[0] = (char)c1;
			in[1] = (char)c2;
			in[2] = '\0';
			buf_reset(b);
			json_str(b, in);
			ck_assert_msg(is_json_string(buf_str(b)),
			    "bytes %02x %02x: %s", c1, c2, buf_str(b));
		}
	}
	buf_free(b);
}
END_TEST

START_TEST(test_str_random_bytes)
{
	struct buf *b;
	char in[48];
	uint32_t x = 2463534242U;
	size_t len, k;
	int iter;

	b = buf_new();
	for (iter = 0; iter < 20000; iter++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		len = x % (sizeof(in) - 1);
		for (k = 0; k < len; k++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			/* Lean towards the interesting bytes. */
			in[k] = (char)((x & 0x100) ? 0x80 | (x & 0x7f)
			                           : 1 + x % 255);
		}
		in[len] = '\0';
		buf_reset(b);
		json_str(b, in);
		ck_assert_msg(is_json_string(buf_str(b)), "iter %d: %s", iter,
		    buf_str(b));
	}
	buf_free(b);
}
END_TEST

START_TEST(test_str_all_code_points)
{
	struct buf *b;
	unsigned char in[5];
	char want[16];
	uint32_t cp;
	size_t n;

	/*
	 * Every scalar value from U+0080 up passes through unchanged but
	 * the C1 controls, U+0080 to U+009F, written as \u0080 to \u009f.
	 */
	b = buf_new();
	for (cp = 0x80; cp <= 0x10ffff; cp++) {
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		if (cp < 0x800) {
			in[0] = (unsigned char)(0xc0 | cp >> 6);
			n = 1;
		} else if (cp < 0x10000) {
			in[0] = (unsigned char)(0xe0 | cp >> 12);
			in[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
			n = 2;
		} else {
			in[0] = (unsigned char)(0xf0 | cp >> 18);
			in[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
			in[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
			n = 3;
		}
		in[n++] = (unsigned char)(0x80 | (cp & 0x3f));
		in[n] = '\0';
		if (cp <= 0x9f)
			snprintf(want, sizeof(want), "\"\\u%04x\"",
			    (unsigned int)cp);
		else {
			want[0] = '"';
			memcpy(want + 1, in, n);
			want[n + 1] = '"';
			want[n + 2] = '\0';
		}
		buf_reset(b);
		json_str(b, (const char *)in);
		/* Only on failure: each passing ck_assert reports to the parent. */
		if (strcmp(buf_str(b), want) != 0)
			ck_abort_msg("U+%04X: got %s", (unsigned int)cp,
			    buf_str(b));
	}
	buf_free(b);
}
END_TEST

START_TEST(test_raw_table)
{
	struct buf *b;

	b = buf_new();
	json_raw(b, raw_cases[_i].in);
	ck_assert_msg(strcmp(buf_str(b), raw_cases[_i].out) == 0,
	    "case %d: got %s, want %s", _i, buf_str(b), raw_cases[_i].out);
	buf_free(b);
}
END_TEST

/* What json_str writes, json_raw prints unchanged. */
START_TEST(test_raw_of_str)
{
	struct buf *b, *raw;

	b = buf_new();
	raw = buf_new();
	json_str(b, str_cases[_i].in);
	json_raw(raw, buf_str(b));
	ck_assert_str_eq(buf_str(raw), buf_str(b));
	buf_free(raw);
	buf_free(b);
}
END_TEST

START_TEST(test_kv_members)
{
	struct buf *b;

	b = buf_new();
	buf_putc(b, '{');
	json_kv_str(b, 1, "type", "endpoint");
	json_kv_str(b, 0, "url", "tcp://host:1");
	json_kv_str(b, 0, "metadata", NULL);
	json_kv_int(b, 0, "port", 41234);
	json_kv_bool(b, 0, "open", 1);
	json_kv_bool(b, 0, "closed", 0);
	json_kv_bool(b, 0, "odd", 7);
	buf_putc(b, '}');
	ck_assert_str_eq(buf_str(b),
	    "{\"type\":\"endpoint\",\"url\":\"tcp://host:1\","
	    "\"metadata\":null,\"port\":41234,\"open\":true,"
	    "\"closed\":false,\"odd\":true}");
	buf_free(b);
}
END_TEST

START_TEST(test_kv_int_limits)
{
	struct buf *b;

	b = buf_new();
	json_kv_int(b, 1, "min", INT64_MIN);
	json_kv_int(b, 0, "max", INT64_MAX);
	json_kv_int(b, 0, "zero", 0);
	json_kv_int(b, 0, "neg", -1);
	ck_assert_str_eq(buf_str(b),
	    "\"min\":-9223372036854775808,\"max\":9223372036854775807,"
	    "\"zero\":0,\"neg\":-1");
	buf_free(b);
}
END_TEST

START_TEST(test_kv_escapes_key_and_value)
{
	struct buf *b;

	b = buf_new();
	json_kv_str(b, 1, "k\"ey", "v\n\x80");
	ck_assert_str_eq(buf_str(b), "\"k\\\"ey\":\"v\\n\\ufffd\"");
	buf_free(b);
}
END_TEST

Suite *json_suite(void);

/* The json tests, one TCase per group of functions. */
Suite *
json_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("json");

	tc = tcase_create("str");
	tcase_add_loop_test(tc, test_str_table, 0,
	    (int)(sizeof(str_cases) / sizeof(str_cases[0])));
	tcase_add_test(tc, test_str_appends);
	tcase_add_test(tc, test_str_every_byte);
	tcase_add_test(tc, test_str_random_bytes);
	tcase_add_test(tc, test_str_all_code_points);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("raw");
	tcase_add_loop_test(tc, test_raw_table, 0,
	    (int)(sizeof(raw_cases) / sizeof(raw_cases[0])));
	tcase_add_loop_test(tc, test_raw_of_str, 0,
	    (int)(sizeof(str_cases) / sizeof(str_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("kv");
	tcase_add_test(tc, test_kv_members);
	tcase_add_test(tc, test_kv_int_limits);
	tcase_add_test(tc, test_kv_escapes_key_and_value);
	suite_add_tcase(s, tc);

	return s;
}

/* Run the suite; a non-zero exit tells the test driver it failed. */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(json_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
