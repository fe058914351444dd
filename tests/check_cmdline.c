/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"
#include "cmdline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "buf.h"
#include "err.h"

#define ERRLEN 512

/* Commands that parse, and the fields they must give. */
static const struct {
	const char *cmd;
	int help;
	int json;
	int proxy_proto;
	const char *metadata; /* NULL: not set */
	const char *allow; /* entries joined with ',' */
	const char *deny;
} ok_cases[] = {
	{ "tcp", 0, 0, 0, NULL, "", "" },
	{ NULL, 0, 0, 0, NULL, "", "" },
	{ "", 0, 0, 0, NULL, "", "" },
	{ " \t ", 0, 0, 0, NULL, "", "" },
	{ "tcp --json", 0, 1, 0, NULL, "", "" },
	{ "  tcp\t--json \n", 0, 1, 0, NULL, "", "" },
	{ "tcp --proxy-proto=2", 0, 0, 2, NULL, "", "" },
	{ "tcp --proxy-proto 1", 0, 0, 1, NULL, "", "" },
	{ "tcp --proxy-proto=1 --proxy-proto=2", 0, 0, 2, NULL, "", "" },
	{ "tcp --cidr-allow=10.0.0.0/8,192.168.0.0/16 --cidr-deny 10.1.0.0/16",
	    0, 0, 0, NULL, "10.0.0.0/8,192.168.0.0/16", "10.1.0.0/16" },
	{ "tcp --cidr-allow=2001:db8::/32 --cidr-allow 127.0.0.1", 0, 0, 0,
	    NULL, "2001:db8::/32,127.0.0.1", "" },
	{ "tcp --cidr-deny ::/0 --cidr-deny=0.0.0.0/0,::1/128", 0, 0, 0, NULL,
	    "", "::/0,0.0.0.0/0,::1/128" },
	{ "tcp --metadata 'my app'", 0, 0, 0, "my app", "", "" },
	{ "tcp --metadata=\"x y\"", 0, 0, 0, "x y", "", "" },
	{ "tcp --metadata=", 0, 0, 0, "", "", "" },
	{ "tcp --metadata ''", 0, 0, 0, "", "", "" },
	{ "tcp --metadata=a --metadata=b", 0, 0, 0, "b", "", "" },
	{ "tcp --metadata my\\ app", 0, 0, 0, "my app", "", "" },
	{ "tcp --metadata=don\\'t", 0, 0, 0, "don't", "", "" },
	{ "tcp --metadata=\"say \\\"hi\\\" \\\\ \\$HOME \\`x\\`\"", 0, 0, 0,
	    "say \"hi\" \\ $HOME `x`", "", "" },
	{ "tcp --metadata=\"a\\b\"", 0, 0, 0, "a\\b", "", "" },
	{ "tcp --metadata='a\\b \"c\"'", 0, 0, 0, "a\\b \"c\"", "", "" },
	{ "tcp --metadata=x\\", 0, 0, 0, "x\\", "", "" },
	{ "tcp --metadata=caf\xc3\xa9", 0, 0, 0, "caf\xc3\xa9", "", "" },
	/* Past C1 (U+00A0), and 9B inside U+96C0: not controls. */
	{ "tcp --metadata=\xc2\xa0\xe9\x9b\x80", 0, 0, 0,
	    "\xc2\xa0\xe9\x9b\x80", "", "" },
	/* Not UTF-8 but no C1 byte: stored (listings escape it). */
	{ "tcp --metadata=caf\xe9", 0, 0, 0, "caf\xe9", "", "" },
	{ "tcp --metadata=$HOME*", 0, 0, 0, "$HOME*", "", "" },
	{ "tcp --metadata --json", 0, 0, 0, "--json", "", "" },
	{ "tcp --metadata=a=b", 0, 0, 0, "a=b", "", "" },
	{ "t'c'\"p\" --json", 0, 1, 0, NULL, "", "" },
	{ "tcp \\\n--json", 0, 1, 0, NULL, "", "" },
	{ "tcp --", 0, 0, 0, NULL, "", "" },
	{ "tcp -h", 1, 0, 0, NULL, "", "" },
	{ "tcp --help", 1, 0, 0, NULL, "", "" },
	{ "tcp --proxy-proto=2 -h", 1, 0, 2, NULL, "", "" },
	{ "tcp --json --proxy-proto 2 --metadata=ci --cidr-allow 10.0.0.0/8 "
	  "--cidr-deny=10.9.0.0/16",
	    0, 1, 2, "ci", "10.0.0.0/8", "10.9.0.0/16" },
};

/* Commands that fail, and a piece of the message each must give. */
static const struct {
	const char *cmd;
	const char *want;
} bad_cases[] = {
	{ "ls",
	    "unknown command 'ls'; this server only runs 'tcp' "
	    "(try 'tcp --help')" },
	{ "TCP", "unknown command 'TCP'" },
	{ "tcp; ls", "unknown command 'tcp;'" },
	{ "--json", "unknown command '--json'" },
	{ "tcp --foo", "unknown flag '--foo'; try 'tcp --help'" },
	{ "tcp -x", "unknown flag '-x'" },
	{ "tcp -hx", "unknown flag '-hx'" },
	{ "tcp --proxy-protocol=1", "unknown flag '--proxy-protocol=1'" },
	{ "tcp --JSON", "unknown flag '--JSON'" },
	{ "tcp --foo\x1b[2J", "unknown flag '--foo\\033[2J'" },
	{ "tcp --json=yes", "flag '--json' takes no value" },
	{ "tcp --help=1", "flag '--help' takes no value" },
	{ "tcp --proxy-proto=3",
	    "bad value '3' for --proxy-proto; "
	    "expected 1 or 2" },
	{ "tcp --proxy-proto 0", "bad value '0' for --proxy-proto" },
	{ "tcp --proxy-proto=", "bad value '' for --proxy-proto" },
	{ "tcp --proxy-proto=v2", "bad value 'v2'" },
	{ "tcp --proxy-proto", "flag '--proxy-proto' needs a value" },
	{ "tcp --metadata", "flag '--metadata' needs a value" },
	{ "tcp --cidr-allow", "flag '--cidr-allow' needs a value" },
	{ "tcp --json --cidr-deny", "flag '--cidr-deny' needs a value" },
	{ "tcp --metadata 'my app", "unbalanced single quote" },
	{ "tcp --metadata=\"x y", "unbalanced double quote" },
	{ "tcp --metadata=\"x\\\"", "unbalanced double quote" },
	{ "'", "unbalanced single quote" },
	{ "tcp extra-arg",
	    "unexpected argument 'extra-arg'; "
	    "try 'tcp --help'" },
	{ "tcp --metadata my app",
	    "unexpected argument 'app' after the value "
	    "of --metadata; quote values with blanks "
	    "twice" },
	{ "tcp --metadata=my app", "'app' after the value of --metadata" },
	{ "tcp --json extra", "unexpected argument 'extra'; try" },
	{ "tcp -- --json", "unexpected argument '--json'" },
	{ "tcp ''", "unexpected argument ''" },
	{ "tcp --cidr-allow=,", "empty CIDR in --cidr-allow ','" },
	{ "tcp --cidr-allow=", "empty CIDR in --cidr-allow ''" },
	{ "tcp --cidr-deny=10.0.0.0/8,", "empty CIDR in --cidr-deny" },
	{ "tcp --cidr-deny=,10.0.0.0/8", "empty CIDR in --cidr-deny" },
	{ "tcp --cidr-allow 10.0.0.0/8,,10.1.0.0/16", "empty CIDR" },
	{ "tcp --cidr-allow '10.0.0.0/8 10.1.0.0/16'",
	    "bad CIDR '10.0.0.0/8 10.1.0.0/16' in --cidr-allow" },
	{ "tcp --cidr-deny=\"10.0.0.0/8\t\"", "bad CIDR '10.0.0.0/8\\011'" },
	{ "tcp --metadata=\"a\tb\"", "--metadata must not contain control" },
	{ "tcp --metadata='a\nb'", "--metadata must not contain control" },
	{ "tcp --metadata=x\x7f", "--metadata must not contain control" },
	/* C1 controls: in UTF-8 (C2 80 to C2 9F), and as raw bytes. */
	{ "tcp --metadata=\xc2\x80",
	    "--metadata must not contain control characters: "
	    "C1 control U+0080 at offset 0" },
	{ "tcp --metadata='a\xc2\x9b"
	  "31m'",
	    "--metadata must not contain control characters: "
	    "C1 control U+009B at offset 1" },
	{ "tcp --metadata caf\xc3\xa9\xc2\x9f",
	    "C1 control U+009F at offset 5" },
	{ "tcp --metadata=\x9b"
	  "2J",
	    "--metadata must not contain control characters: "
	    "C1 control byte 0x9B (not UTF-8) at offset 0" },
	{ "tcp --metadata=ok\x85",
	    "C1 control byte 0x85 (not UTF-8) at offset 2" },
	{ "tcp --metadata=\xe9\x9b",
	    "C1 control byte 0x9B (not UTF-8) at offset 1" },
	{ "tcp --metadata=\x1b[2J", "C0 control U+001B at offset 0" },
};

/* Build "tcp --metadata=" followed by <n> bytes of 'm'. */
static char *
metadata_cmd(size_t n)
{
	struct buf *b;
	char *s;

	b = buf_new();
	buf_puts(b, "tcp --metadata=");
	while (n-- > 0)
		buf_putc(b, 'm');
	s = buf_steal(b);
	buf_free(b);
	return s;
}

/* Build a command with <nallow> --cidr-allow and <ndeny> --cidr-deny. */
static char *
cidr_cmd(size_t nallow, size_t ndeny)
{
	struct buf *b;
	char *s;
	size_t i;

	b = buf_new();
	buf_puts(b, "tcp");
	/* Mix the forms: comma lists, "=" and separate values. */
	for (i = 0; i < nallow; i++)
		buf_printf(b, "%s10.%zu.0.0/16",
		    i == 0           ? " --cidr-allow="
		        : i % 3 == 0 ? " --cidr-allow "
		                     : ",",
		    i);
	for (i = 0; i < ndeny; i++)
		buf_printf(b, " --cidr-deny=fd00:%zx::/32", i);
	s = buf_steal(b);
	buf_free(b);
	return s;
}

/* Build "tcp" padded with blanks to exactly <len> bytes. */
static char *
padded_cmd(size_t len)
{
	char *s;

	s = malloc(len + 1);
	ck_assert_ptr_nonnull(s);
	memset(s, ' ', len);
	memcpy(s, "tcp", 3);
	s[len] = '\0';
	return s;
}

/* Join a list of strings with ','. The caller frees the result. */
static char *
join(char **v, size_t n)
{
	struct buf *b;
	char *s;
	size_t i;

	b = buf_new();
	for (i = 0; i < n; i++)
		buf_printf(b, "%s%s", i == 0 ? "" : ",", v[i]);
	s = buf_steal(b);
	buf_free(b);
	return s;
}

/* Assert that <err> is a single printable line of bounded length. */
static void
assert_one_line(const char *err)
{
	const char *p;

	ck_assert_uint_gt(strlen(err), 0);
	ck_assert_uint_lt(strlen(err), 300);
	for (p = err; *p != '\0'; p++)
		ck_assert_msg(*p >= ' ' && *p < 0x7f, "unprintable in '%s'",
		    err);
}

/* Assert that <cmd> is rejected with a message containing <want>. */
static void
assert_rejected(const char *cmd, const char *want)
{
	static struct cmdline sentinel;
	struct cmdline *cl = &sentinel;
	char err[ERRLEN];
	int r;

	/* *clp is cleared on failure, whatever it held. */
	r = cmdline_parse(cmd, &cl, err, sizeof(err));
	ck_assert_int_eq(r, PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_ptr_null(cl);
	assert_one_line(err);
	ck_assert_msg(strstr(err, want) != NULL, "'%s' not in '%s'", want, err);
}

START_TEST(test_accepts)
{
	struct cmdline *cl = NULL;
	char err[ERRLEN], *s;
	int r;

	strcpy(err, "stale");
	r = cmdline_parse(ok_cases[_i].cmd, &cl, err, sizeof(err));
	ck_assert_msg(r == 0, "'%s': %d %s", ok_cases[_i].cmd, r, err);
	ck_assert_ptr_nonnull(cl);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(cl->help, ok_cases[_i].help);
	ck_assert_int_eq(cl->json, ok_cases[_i].json);
	ck_assert_int_eq(cl->proxy_proto, ok_cases[_i].proxy_proto);
	if (ok_cases[_i].metadata == NULL)
		ck_assert_ptr_null(cl->metadata);
	else
		ck_assert_pstr_eq(cl->metadata, ok_cases[_i].metadata);
	s = join(cl->cidr_allow, cl->ncidr_allow);
	ck_assert_str_eq(s, ok_cases[_i].allow);
	free(s);
	s = join(cl->cidr_deny, cl->ncidr_deny);
	ck_assert_str_eq(s, ok_cases[_i].deny);
	free(s);
	cmdline_free(cl);
}
END_TEST

START_TEST(test_rejects)
{
	assert_rejected(bad_cases[_i].cmd, bad_cases[_i].want);
}
END_TEST

START_TEST(test_metadata_limit)
{
	struct cmdline *cl = NULL;
	char err[ERRLEN], *cmd;

	cmd = metadata_cmd(CMDLINE_METADATA_MAX);
	ck_assert_int_eq(cmdline_parse(cmd, &cl, err, sizeof(err)), 0);
	ck_assert_uint_eq(strlen(cl->metadata), CMDLINE_METADATA_MAX);
	cmdline_free(cl);
	free(cmd);

	cmd = metadata_cmd(CMDLINE_METADATA_MAX + 1);
	assert_rejected(cmd,
	    "--metadata is too long (1025 bytes, at most "
	    "1024)");
	free(cmd);
}
END_TEST

START_TEST(test_cidr_limit)
{
	struct cmdline *cl = NULL;
	char err[ERRLEN], *cmd;

	cmd = cidr_cmd(CMDLINE_CIDR_MAX, 0);
	ck_assert_int_eq(cmdline_parse(cmd, &cl, err, sizeof(err)), 0);
	ck_assert_uint_eq(cl->ncidr_allow, CMDLINE_CIDR_MAX);
	ck_assert_str_eq(cl->cidr_allow[0], "10.0.0.0/16");
	ck_assert_str_eq(cl->cidr_allow[CMDLINE_CIDR_MAX - 1], "10.63.0.0/16");
	cmdline_free(cl);
	free(cmd);

	cmd = cidr_cmd(CMDLINE_CIDR_MAX / 2, CMDLINE_CIDR_MAX / 2);
	ck_assert_int_eq(cmdline_parse(cmd, &cl, err, sizeof(err)), 0);
	ck_assert_uint_eq(cl->ncidr_allow + cl->ncidr_deny, CMDLINE_CIDR_MAX);
	cmdline_free(cl);
	free(cmd);

	cmd = cidr_cmd(CMDLINE_CIDR_MAX + 1, 0);
	assert_rejected(cmd, "too many CIDRs: at most 64");
	free(cmd);

	/* The limit counts both flags together. */
	cmd = cidr_cmd(CMDLINE_CIDR_MAX, 1);
	assert_rejected(cmd, "too many CIDRs");
	free(cmd);
}
END_TEST

START_TEST(test_command_limit)
{
	struct cmdline *cl = NULL;
	char err[ERRLEN], *cmd;

	cmd = padded_cmd(CMDLINE_MAX);
	ck_assert_int_eq(cmdline_parse(cmd, &cl, err, sizeof(err)), 0);
	cmdline_free(cl);
	free(cmd);

	cmd = padded_cmd(CMDLINE_MAX + 1);
	assert_rejected(cmd, "command is too long (8193 bytes, at most 8192)");
	free(cmd);
}
END_TEST

START_TEST(test_error_clips_untrusted_text)
{
	struct cmdline *cl = NULL;
	char *cmd, err[ERRLEN];
	size_t i;

	/* A long unknown flag is quoted only in part. */
	cmd = malloc(1100);
	ck_assert_ptr_nonnull(cmd);
	strcpy(cmd, "tcp --");
	for (i = 6; i < 1000; i++)
		cmd[i] = 'z';
	cmd[i] = '\0';
	assert_rejected(cmd, "unknown flag '--zzzz");
	ck_assert_int_eq(cmdline_parse(cmd, &cl, err, sizeof(err)),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_ptr_nonnull(strstr(err, "zzz...'"));
	ck_assert_uint_lt(strlen(err), 64 + 40);

	/* Escaping happens after clipping, so it cannot split an escape. */
	for (i = 6; i < 1000; i++)
		cmd[i] = '\001';
	ck_assert_int_eq(cmdline_parse(cmd, &cl, err, sizeof(err)),
	    PORTHOLE_ERR_INVALID_FORMAT);
	assert_one_line(err);
	ck_assert_ptr_nonnull(strstr(err, "\\001\\001...'"));
	free(cmd);
}
END_TEST

START_TEST(test_error_buffers)
{
	struct cmdline *cl = NULL;
	char small[8];

	/* No error buffer at all is allowed. */
	ck_assert_int_eq(cmdline_parse("ls", &cl, NULL, 0),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_ptr_null(cl);
	ck_assert_int_eq(cmdline_parse("tcp", &cl, NULL, 0), 0);
	cmdline_free(cl);

	/* A short one is truncated and still terminated. */
	memset(small, 'X', sizeof(small));
	ck_assert_int_eq(cmdline_parse("tcp --foo", &cl, small, sizeof(small)),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_str_eq(small, "unknown");
}
END_TEST

START_TEST(test_free_null)
{
	cmdline_free(NULL);
}
END_TEST

START_TEST(test_usage)
{
	const char *u = cmdline_usage(), *line, *nl;
	const char *flags[] = { "--json", "--proxy-proto=1|2", "--cidr-allow",
		"--cidr-deny", "--metadata", "-h", "--help" };
	const char *prefix = "usage: tcp [--json] [--proxy-proto=1|2] ";
	char limit[64];
	size_t i;

	ck_assert_ptr_nonnull(u);
	ck_assert_int_eq(strncmp(u, prefix, strlen(prefix)), 0);
	ck_assert_int_eq(u[strlen(u) - 1], '\n');
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		ck_assert_msg(strstr(u, flags[i]) != NULL, "%s undocumented",
		    flags[i]);
	/* It fits an 80-column terminal. */
	for (line = u; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		ck_assert_ptr_nonnull(nl);
		ck_assert_msg(nl - line <= 79, "long line: %.*s",
		    (int)(nl - line), line);
	}
	/* The limits it states are the ones cmdline.h enforces. */
	snprintf(limit, sizeof(limit), "(at most %d bytes)",
	    CMDLINE_METADATA_MAX);
	ck_assert_ptr_nonnull(strstr(u, limit));
	snprintf(limit, sizeof(limit), "(at most %d CIDRs in all)",
	    CMDLINE_CIDR_MAX);
	ck_assert_ptr_nonnull(strstr(u, limit));
	ck_assert_ptr_eq(cmdline_usage(), u);
}
END_TEST

Suite *cmdline_suite(void);

/* The cmdline tests, one TCase per group of functions. */
Suite *
cmdline_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("cmdline");

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_accepts, 0,
	    (int)(sizeof(ok_cases) / sizeof(ok_cases[0])));
	tcase_add_loop_test(tc, test_rejects, 0,
	    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, test_free_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, test_metadata_limit);
	tcase_add_test(tc, test_cidr_limit);
	tcase_add_test(tc, test_command_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_error_clips_untrusted_text);
	tcase_add_test(tc, test_error_buffers);
	suite_add_tcase(s, tc);

	tc = tcase_create("usage");
	tcase_add_test(tc, test_usage);
	suite_add_tcase(s, tc);

	return s;
}

/* Run the suite; a non-zero exit tells the test driver it failed. */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(cmdline_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
