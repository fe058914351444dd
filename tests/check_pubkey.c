/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"
#include "pubkey.h"

#include <sys/stat.h>

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <sodium.h>

#include "err.h"

Suite *pubkey_suite(void);

/* A key made once with ssh-keygen; its fingerprint from ssh-keygen -l. */
#define ED_B64                                                                 \
	"AAAAC3NzaC1lZDI1NTE5AAAAIA188GwOIPgVjwhZYt5xP25H0Ikj78kJ"             \
	"HZzpXPBuNob5"
#define ED_FP "SHA256:TYwc6lKjbxVVDi/HzEUTS9ibvli60SpJVRWTAwNElls"

/* The fingerprint of the two-byte blob "\0\0". */
#define NUL2_FP "SHA256:lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c"

/* The temporary directory of the current TCase (unchecked fixture). */
static char tmpdir[4096];

/* Make the temporary directory for generated keys. */
static void
tmpdir_setup(void)
{
	const char *base = getenv("TMPDIR");

	if (base == NULL || *base == '\0')
		base = "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/check_pubkey.XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

/* nftw callback: remove one entry. */
static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Remove the temporary directory and everything in it. */
static void
tmpdir_teardown(void)
{
	if (*tmpdir != '\0')
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	*tmpdir = '\0';
}

/* Run shell command <cmd> and require it to succeed. */
static void
run(const char *cmd)
{
	int status = system(cmd);

	ck_assert_msg(status == 0, "\"%s\" exited %d", cmd, status);
}

/* Read the first line of <path> (newline kept) into a new string. */
static char *
read_line(const char *path)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0;

	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "open %s", path);
	ck_assert_int_gt(getline(&line, &cap, f), 0);
	fclose(f);
	return line;
}

/* Write <line> to <path>. */
static void
write_file(const char *path, const char *line)
{
	FILE *f;

	f = fopen(path, "w");
	ck_assert_msg(f != NULL, "create %s", path);
	ck_assert_int_ge(fputs(line, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

/* Store in <fp> the fingerprint ssh-keygen -l gives for <path>. */
static void
keygen_fp(const char *path, char *fp, size_t fplen)
{
	char out[1024], *cmd, *field;
	FILE *p;
	int r;

	r = asprintf(&cmd, "ssh-keygen -l -E sha256 -f '%s' 2>&1", path);
	ck_assert_int_ge(r, 0);
	p = popen(cmd, "r");
	free(cmd);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(fgets(out, sizeof(out), p));
	ck_assert_int_eq(pclose(p), 0);
	/* "BITS SHA256:… COMMENT (TYPE)" */
	field = strchr(out, ' ');
	ck_assert_msg(field != NULL, "ssh-keygen -l said: %s", out);
	field++;
	field[strcspn(field, " \n")] = '\0';
	ck_assert_msg(strncmp(field, "SHA256:", 7) == 0, "ssh-keygen -l: %s",
	    out);
	ck_assert_uint_lt(strlen(field), fplen);
	snprintf(fp, fplen, "%s", field);
}

/* Generate a key with ssh-keygen into <path>; the comment has spaces. */
static void
keygen(const char *path, const char *type, const char *bits,
    const char *comment)
{
	char *cmd;
	int r;

	r = asprintf(&cmd,
	    "ssh-keygen -q -t %s %s%s -N '' -C '%s' -f '%s' </dev/null "
	    ">/dev/null",
	    type, bits != NULL ? "-b " : "", bits != NULL ? bits : "", comment,
	    path);
	ck_assert_int_ge(r, 0);
	run(cmd);
	free(cmd);
}

/* Parse <line>, require success and the given type, comment and fp. */
static void
parse_ok(const char *line, const char *type, const char *blob,
    const char *comment, const char *fp)
{
	struct pubkey *key = NULL;
	char errbuf[256], fp2[PUBKEY_FP_LEN + 1];

	strcpy(errbuf, "unset");
	ck_assert_msg(pubkey_parse(line, &key, errbuf, sizeof(errbuf)) == 0,
	    "\"%s\": %s", line, errbuf);
	ck_assert_ptr_nonnull(key);
	ck_assert_str_eq(errbuf, "");
	ck_assert_str_eq(key->type, type);
	ck_assert_str_eq(key->blob, blob);
	ck_assert_str_eq(key->comment, comment);
	ck_assert_str_eq(key->fingerprint, fp);
	ck_assert_uint_eq(strlen(key->fingerprint), PUBKEY_FP_LEN - 1);
	ck_assert_int_eq(pubkey_fingerprint(key->blob, fp2, sizeof(fp2)), 0);
	ck_assert_str_eq(fp2, fp);
	pubkey_free(key);
}

static const struct {
	const char *keygen_type;
	const char *bits;
	const char *type;
} gen_cases[] = {
	{ "ed25519", NULL, "ssh-ed25519" },
	{ "rsa", "2048", "ssh-rsa" },
	{ "ecdsa", "256", "ecdsa-sha2-nistp256" },
	{ "ecdsa", "384", "ecdsa-sha2-nistp384" },
	{ "ecdsa", "521", "ecdsa-sha2-nistp521" },
};

START_TEST(test_generated)
{
	char path[4200], pub[4200], comment[64], fp[128], *line, *blob, *p;
	char *variant;

	snprintf(path, sizeof(path), "%s/gen%d", tmpdir, _i);
	snprintf(pub, sizeof(pub), "%s/gen%d.pub", tmpdir, _i);
	snprintf(comment, sizeof(comment), "porthole test key %d", _i);
	keygen(path, gen_cases[_i].keygen_type, gen_cases[_i].bits, comment);
	keygen_fp(pub, fp, sizeof(fp));
	line = read_line(pub);

	/* "TYPE BLOB COMMENT\n" */
	p = strchr(line, ' ');
	ck_assert_ptr_nonnull(p);
	blob = strdup(p + 1);
	ck_assert_ptr_nonnull(blob);
	blob[strcspn(blob, " ")] = '\0';

	parse_ok(line, gen_cases[_i].type, blob, comment, fp);

	/* Windows line end. */
	line[strcspn(line, "\n")] = '\0';
	ck_assert_int_ge(asprintf(&variant, "%s\r\n", line), 0);
	parse_ok(variant, gen_cases[_i].type, blob, comment, fp);
	free(variant);

	/* No comment at all. */
	ck_assert_int_ge(asprintf(&variant, "%s %s", gen_cases[_i].type, blob),
	    0);
	parse_ok(variant, gen_cases[_i].type, blob, "", fp);
	free(variant);

	free(blob);
	free(line);
}
END_TEST

/* Append SSH string <s> of <len> bytes to buf at *offp. */
static void
put_string(unsigned char *buf, size_t *offp, const void *s, size_t len)
{
	buf[(*offp)++] = (unsigned char)(len >> 24);
	buf[(*offp)++] = (unsigned char)(len >> 16);
	buf[(*offp)++] = (unsigned char)(len >> 8);
	buf[(*offp)++] = (unsigned char)len;
	memcpy(buf + *offp, s, len);
	*offp += len;
}

static const struct {
	const char *keygen_type;
	const char *bits;
	const char *plain_type;
	const char *sk_type;
} sk_cases[] = {
	{ "ed25519", NULL, "ssh-ed25519", "sk-ssh-ed25519@openssh.com" },
	{ "ecdsa", "256", "ecdsa-sha2-nistp256",
	    "sk-ecdsa-sha2-nistp256@openssh.com" },
};

/*
 * Security-key public keys without a security key: take the public part
 * of a fresh plain key, relabel it and append the application, then ask
 * ssh-keygen for the fingerprint of the result.
 */
START_TEST(test_security_key)
{
	struct pubkey *key = NULL;
	unsigned char bin[1024], skbin[1200];
	char path[4200], pub[4200], fp[128], b64[2048], *line, *p, *q;
	char *skline;
	size_t binlen, tlen, off = 0;
	int r;

	snprintf(path, sizeof(path), "%s/sk%d", tmpdir, _i);
	snprintf(pub, sizeof(pub), "%s/sk%d.pub", tmpdir, _i);
	keygen(path, sk_cases[_i].keygen_type, sk_cases[_i].bits, "plain");
	line = read_line(pub);
	p = strchr(line, ' ');
	ck_assert_ptr_nonnull(p);
	q = strchr(++p, ' ');
	ck_assert_ptr_nonnull(q);
	r = sodium_base642bin(bin, sizeof(bin), p, (size_t)(q - p), NULL,
	    &binlen, NULL, sodium_base64_VARIANT_ORIGINAL);
	ck_assert_int_eq(r, 0);
	tlen = strlen(sk_cases[_i].plain_type);
	ck_assert_uint_gt(binlen, 4 + tlen);

	put_string(skbin, &off, sk_cases[_i].sk_type,
	    strlen(sk_cases[_i].sk_type));
	memcpy(skbin + off, bin + 4 + tlen, binlen - 4 - tlen);
	off += binlen - 4 - tlen;
	put_string(skbin, &off, "ssh:", 4);
	sodium_bin2base64(b64, sizeof(b64), skbin, off,
	    sodium_base64_VARIANT_ORIGINAL);

	r = asprintf(&skline, "%s %s my token\n", sk_cases[_i].sk_type, b64);
	ck_assert_int_ge(r, 0);
	snprintf(pub, sizeof(pub), "%s/sk%d-sk.pub", tmpdir, _i);
	write_file(pub, skline);
	keygen_fp(pub, fp, sizeof(fp));
	parse_ok(skline, sk_cases[_i].sk_type, b64, "my token", fp);

	/* Without the application field the blob is cut short. */
	off -= 4 + 4;
	sodium_bin2base64(b64, sizeof(b64), skbin, off,
	    sodium_base64_VARIANT_ORIGINAL);
	free(skline);
	ck_assert_int_ge(asprintf(&skline, "%s %s", sk_cases[_i].sk_type, b64),
	    0);
	ck_assert_int_eq(pubkey_parse(skline, &key, NULL, 0),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_ptr_null(key);

	free(skline);
	free(line);
}
END_TEST

static const struct {
	const char *line;
	const char *type;
	const char *comment;
} good_cases[] = {
	{ "ssh-ed25519 " ED_B64 " vector key", "ssh-ed25519", "vector key" },
	{ "ssh-ed25519 " ED_B64, "ssh-ed25519", "" },
	{ "ssh-ed25519 " ED_B64 "\n", "ssh-ed25519", "" },
	{ "ssh-ed25519 " ED_B64 " \r\n", "ssh-ed25519", "" },
	{ "ssh-ed25519\t" ED_B64 "\tc", "ssh-ed25519", "c" },
	{ "  ssh-ed25519  " ED_B64 "  a  b\tc \n", "ssh-ed25519", "a  b\tc" },
	{ "ssh-ed25519 " ED_B64 " user@host (laptop) \303\251t\303\251\n",
	    "ssh-ed25519", "user@host (laptop) \303\251t\303\251" },
};

START_TEST(test_vector)
{
	parse_ok(good_cases[_i].line, good_cases[_i].type, ED_B64,
	    good_cases[_i].comment, ED_FP);
}
END_TEST

static const struct {
	const char *line;
	const char *reason;
} bad_cases[] = {
	{ "", "empty" },
	{ "\n", "empty" },
	{ " \t \r\n", "empty" },
	{ "ssh-ed25519", "no key data" },
	{ "ssh-ed25519   \n", "no key data" },
	{ "ssh-ed25519 !!!notbase64 c", "base64" },
	{ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA188GwOIPgVjwhZYt5xP25H0Ikj78kJ"
	  "HZzpXPBuNob",
	    "base64" },
	{ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA188GwOIPgVjwhZYt5xP25H0Ikj78kJ"
	  "HQ",
	    "base64" },
	{ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA188GwOIP@VjwhZYt5xP25H0Ikj78kJ"
	  "HZzpXPBuNob5",
	    "base64" },
	{ "ssh-rsa " ED_B64 " c", "does not hold a ssh-rsa key" },
	{ "ecdsa-sha2-nistp256 " ED_B64, "does not hold" },
	{ "sk-ssh-ed25519@openssh.com " ED_B64, "does not hold" },
	/* An Ed25519 key labelled ssh-rsa inside the blob. */
	{ "ssh-ed25519 AAAAB3NzaC1yc2EAAAAgDXzwbA4g+BWPCFli3nE/bkfQiSPvyQkd"
	  "nOlc8G42hvk=",
	    "does not hold a ssh-ed25519 key" },
	{ "ssh-dss AAAAB3NzaC1kc3MAAACBAN1CqinAa8jx6Mmx5hDR16RIhOh0pNlcVYxp "
	  "old",
	    "ssh-dss keys are not accepted" },
	{ "ssh-dss", "ssh-dss keys are not accepted" },
	{ "from=\"x\" ssh-ed25519 " ED_B64 " c", "options are not accepted" },
	{ "from=\"10.0.0.1 x\" ssh-ed25519 " ED_B64,
	    "options are not accepted" },
	{ "restrict ssh-ed25519 " ED_B64, "options are not accepted" },
	{ "no-pty,command=\"true\" ssh-ed25519 " ED_B64,
	    "options are not accepted" },
	{ "ssh-foo AAAA", "unknown key type" },
	{ "SSH-ED25519 " ED_B64, "unknown key type" },
	{ "ssh-ed25519-cert-v01@openssh.com " ED_B64, "unknown key type" },
	{ "AAAAC3NzaC1lZDI1NTE5", "unknown key type" },
	/* The key field loses its last 8 bytes. */
	{ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA188GwOIPgVjwhZYt5xP25H0Ikj78kJ"
	  "HQ==",
	    "truncated" },
	/* The type string itself is cut. */
	{ "ssh-ed25519 AAAAC3NzaA==", "truncated" },
	/* The type's length field claims 65535 bytes. */
	{ "ssh-ed25519 AAD//3NzaC1lZDI1NTE5", "truncated" },
	/* Shorter than a length field. */
	{ "ssh-ed25519 AAA=", "truncated" },
	{ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA188GwOIPgVjwhZYt5xP25H0Ikj78kJ"
	  "HZzpXPBuNob5AA==",
	    "trailing" },
	/* A 31-byte Ed25519 key. */
	{ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAHw188GwOIPgVjwhZYt5xP25H0Ikj78kJ"
	  "HZzpXPBuNoY=",
	    "malformed" },
	{ "ssh-ed25519 " ED_B64 " com\001ment", "control character" },
	{ "ssh-ed25519 " ED_B64 "\nssh-rsa AAAA", "control character" },
	{ "ssh-ed25519 " ED_B64 " a\rb", "control character" },
	{ "ssh-ed25519 " ED_B64 " del\177", "control character" },
	/* C1 controls in the comment, in UTF-8 and as a raw byte. */
	{ "ssh-ed25519 " ED_B64 " a\302\233"
	  "2J",
	    "control character: C1 control U+009B" },
	{ "ssh-ed25519 " ED_B64 " a\233"
	  "2J",
	    "control character: C1 control byte 0x9B (not UTF-8)" },
};

START_TEST(test_malformed)
{
	struct pubkey *key = (struct pubkey *)1;
	char errbuf[256], tiny[5];
	const char *line = bad_cases[_i].line;

	ck_assert_int_eq(pubkey_parse(line, &key, errbuf, sizeof(errbuf)),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_ptr_null(key);
	ck_assert_msg(strstr(errbuf, bad_cases[_i].reason) != NULL,
	    "\"%s\": reason \"%s\", want \"%s\"", line, errbuf,
	    bad_cases[_i].reason);

	/* No error buffer, or a tiny one, is fine. */
	key = (struct pubkey *)1;
	ck_assert_int_eq(pubkey_parse(line, &key, NULL, 0),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_ptr_null(key);
	memset(tiny, 'X', sizeof(tiny));
	ck_assert_int_eq(pubkey_parse(line, &key, tiny, sizeof(tiny) - 1),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_uint_eq(strlen(tiny), sizeof(tiny) - 2);
	ck_assert_int_eq(tiny[sizeof(tiny) - 1], 'X');
}
END_TEST

START_TEST(test_too_long)
{
	struct pubkey *key = NULL;
	char errbuf[256], *line;
	size_t n = 64 * 1024;

	line = malloc(n + 1);
	ck_assert_ptr_nonnull(line);
	memset(line, 'A', n);
	memcpy(line, "ssh-rsa ", 8);
	line[n] = '\0';
	ck_assert_int_eq(pubkey_parse(line, &key, errbuf, sizeof(errbuf)),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_ptr_null(key);
	ck_assert_ptr_nonnull(strstr(errbuf, "too long"));
	free(line);
}
END_TEST

START_TEST(test_fingerprint)
{
	char fp[PUBKEY_FP_LEN + 1];

	ck_assert_int_eq(pubkey_fingerprint(ED_B64, fp, sizeof(fp)), 0);
	ck_assert_str_eq(fp, ED_FP);
	ck_assert_int_eq(pubkey_fingerprint(ED_B64, fp, PUBKEY_FP_LEN), 0);
	ck_assert_str_eq(fp, ED_FP);

	ck_assert_int_eq(pubkey_fingerprint(ED_B64, fp, PUBKEY_FP_LEN - 1),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(pubkey_fingerprint(ED_B64, NULL, 0),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(pubkey_fingerprint("", fp, sizeof(fp)),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_str_eq(fp, "");
	ck_assert_int_eq(pubkey_fingerprint("!!!!", fp, sizeof(fp)),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_int_eq(pubkey_fingerprint(ED_B64 " x", fp, sizeof(fp)),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_int_eq(pubkey_fingerprint("AAA", fp, sizeof(fp)),
	    PORTHOLE_ERR_INVALID_FORMAT);
	/* Any well-formed base64 has a fingerprint; here SHA-256("\0\0"). */
	ck_assert_int_eq(pubkey_fingerprint("AAA=", fp, sizeof(fp)), 0);
	ck_assert_str_eq(fp, NUL2_FP);
}
END_TEST

START_TEST(test_free_null)
{
	pubkey_free(NULL);
}
END_TEST

/* The pubkey suite: parsing, checks and fingerprints against ssh-keygen. */
Suite *
pubkey_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("pubkey");

	tc = tcase_create("ssh-keygen");
	tcase_add_unchecked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_generated, 0,
	    sizeof(gen_cases) / sizeof(gen_cases[0]));
	tcase_add_loop_test(tc, test_security_key, 0,
	    sizeof(sk_cases) / sizeof(sk_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_vector, 0,
	    sizeof(good_cases) / sizeof(good_cases[0]));
	tcase_add_loop_test(tc, test_malformed, 0,
	    sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_too_long);
	tcase_add_test(tc, test_free_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("fingerprint");
	tcase_add_test(tc, test_fingerprint);
	suite_add_tcase(s, tc);

	return s;
}

/* Run the pubkey suite; fail if any test failed. */
int
main(void)
{
	SRunner *sr;
	int failed;

	if (sodium_init() == -1)
		return EXIT_FAILURE;
	sr = srunner_create(pubkey_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
