/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"
#include "hook.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "store.h"
#include "token.h"

/* RFC 4231 test case 2: a short key. */
START_TEST(test_hook_sign)
{
	char sig[HOOK_SIGNATURE_LEN];
	const char *body = "what do ya want for nothing?";

	hook_sign("Jefe", body, strlen(body), sig);
	ck_assert_str_eq(sig,
	    "sha256="
	    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	ck_assert_int_eq(hook_verify("Jefe", body, strlen(body), sig), 1);
	/* Another secret, body or a cut signature does not verify. */
	ck_assert_int_eq(hook_verify("jefe", body, strlen(body), sig), 0);
	ck_assert_int_eq(hook_verify("Jefe", body, strlen(body) - 1, sig), 0);
	sig[HOOK_SIGNATURE_LEN - 2] = '\0';
	ck_assert_int_eq(hook_verify("Jefe", body, strlen(body), sig), 0);
	ck_assert_int_eq(hook_verify("Jefe", body, strlen(body), NULL), 0);
}
END_TEST

/* RFC 4231 test case 6: a key longer than a block is hashed first. */
START_TEST(test_hook_sign_long_key)
{
	char key[132], sig[HOOK_SIGNATURE_LEN];
	const char *body =
	    "Test Using Larger Than Block-Size Key - Hash Key First";

	memset(key, 0xaa, 131);
	key[131] = '\0';
	hook_sign(key, body, strlen(body), sig);
	ck_assert_str_eq(sig,
	    "sha256="
	    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}
END_TEST

START_TEST(test_hook_body)
{
	struct store_event e1 = { 0 }, e2 = { 0 };
	struct store_event *evs[] = { &e1, &e2 };
	char *body;
	size_t len;

	e1.json = (char *)"{\"a\":1}";
	e2.json = (char *)"{\"b\":2}";
	body = hook_body(evs, 2, &len);
	ck_assert_str_eq(body, "[{\"a\":1},{\"b\":2}]");
	ck_assert_uint_eq(len, strlen(body));
	free(body);
	body = hook_body(evs, 0, &len);
	ck_assert_str_eq(body, "[]");
	free(body);
}
END_TEST

START_TEST(test_hook_backoff)
{
	ck_assert_int_eq(hook_backoff_ms(1), 1000);
	ck_assert_int_eq(hook_backoff_ms(2), 2000);
	ck_assert_int_eq(hook_backoff_ms(6), 32000);
	ck_assert_int_eq(hook_backoff_ms(7), 60000);
	ck_assert_int_eq(hook_backoff_ms(1000000), 60000);
	ck_assert_int_eq(hook_backoff_ms(0), 1000);
}
END_TEST

START_TEST(test_hook_secret_url)
{
	char a[HOOK_SECRET_LEN + 1], b[HOOK_SECRET_LEN + 1];

	hook_secret_new(a, sizeof(a));
	hook_secret_new(b, sizeof(b));
	ck_assert_uint_eq(strlen(a), HOOK_SECRET_LEN);
	ck_assert_int_eq(strncmp(a, HOOK_SECRET_PREFIX, 6), 0);
	ck_assert_int_eq(token_is_prefixed(a, HOOK_SECRET_PREFIX), 1);
	ck_assert_str_ne(a, b);

	ck_assert_int_eq(hook_url_ok("http://127.0.0.1:8080/hook"), 1);
	ck_assert_int_eq(hook_url_ok("https://example.com"), 1);
	ck_assert_int_eq(hook_url_ok("ftp://example.com/"), 0);
	ck_assert_int_eq(hook_url_ok("file:///etc/passwd"), 0);
	ck_assert_int_eq(hook_url_ok("http://"), 0);
	ck_assert_int_eq(hook_url_ok("http:///x"), 0);
	ck_assert_int_eq(hook_url_ok("http://a b/"), 0);
	ck_assert_int_eq(hook_url_ok("http://a/\x7f"), 0);
	ck_assert_int_eq(hook_url_ok(NULL), 0);
}
END_TEST

static Suite *
hook_suite(void)
{
	Suite *s = suite_create("hook");
	TCase *tc = tcase_create("hook");

	tcase_add_test(tc, test_hook_sign);
	tcase_add_test(tc, test_hook_sign_long_key);
	tcase_add_test(tc, test_hook_body);
	tcase_add_test(tc, test_hook_backoff);
	tcase_add_test(tc, test_hook_secret_url);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(hook_suite());
	int nfailed;

	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
