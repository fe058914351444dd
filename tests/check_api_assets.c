/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include "api-assets.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

Suite *api_assets_suite(void);

/* What the dashboard is made of, and how each file is served. */
static const struct {
	const char *path;
	const char *type;
	const char *start; /* the first bytes of the file */
} served[] = {
	{ "/index.html", "text/html; charset=utf-8", "<!doctype html>" },
	{ "/assets/app.js", "text/javascript; charset=utf-8", "/*" },
	{ "/assets/app.css", "text/css; charset=utf-8", "/*" },
	{ "/assets/icon.svg", "image/svg+xml", "<svg" },
};
#define NSERVED (sizeof(served) / sizeof(served[0]))

/* Paths that must not find anything. */
static const char *const unserved[] = { "", "/", "index.html", "/assets",
	"/assets/", "/assets/nope.js", "/assets/../assets/app.js",
	"/assets/app.js/", "//assets/app.js", "/assets/APP.JS", "/app.js",
	"/assets/app.js?v=1", "/src/web/app.js" };
#define NUNSERVED (sizeof(unserved) / sizeof(unserved[0]))

/* The text of the asset at <path> (each is followed by a NUL). */
static const char *
text_of(const char *path)
{
	const struct api_asset *a = api_asset_find(path);

	ck_assert_msg(a != NULL, "%s is not served", path);
	return (const char *)a->data;
}

START_TEST(test_served)
{
	const struct api_asset *a;
	size_t n = strlen(served[_i].start);

	a = api_asset_find(served[_i].path);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a->path, served[_i].path);
	ck_assert_str_eq(a->type, served[_i].type);
	ck_assert_uint_gt(a->len, n);
	ck_assert_mem_eq(a->data, served[_i].start, n);
	/* Text, with the NUL after it that is not counted. */
	ck_assert_uint_eq(strlen((const char *)a->data), a->len);
	ck_assert_uint_ge(strlen(a->etag), 3);
	ck_assert_int_eq(a->etag[0], '"');
	ck_assert_int_eq(a->etag[strlen(a->etag) - 1], '"');
}
END_TEST

START_TEST(test_unserved)
{
	ck_assert_ptr_null(api_asset_find(unserved[_i]));
}
END_TEST

START_TEST(test_null)
{
	ck_assert_ptr_null(api_asset_find(NULL));
}
END_TEST

START_TEST(test_etags_differ)
{
	size_t i, j;

	for (i = 0; i < NSERVED; i++)
		for (j = i + 1; j < NSERVED; j++)
			ck_assert_str_ne(api_asset_find(served[i].path)->etag,
			    api_asset_find(served[j].path)->etag);
}
END_TEST

/*
 * The page runs under "default-src 'self'": no inline script, style or
 * event handler in index.html, and every file it names is one we serve.
 */
START_TEST(test_index_csp)
{
	const char *html = text_of("/index.html"), *p, *end, *src;
	char path[256];
	size_t n;

	for (p = html; (p = strstr(p, "<script")) != NULL; p++) {
		end = strchr(p, '>');
		ck_assert_ptr_nonnull(end);
		src = strstr(p, " src=\"/");
		ck_assert_msg(src != NULL && src < end,
		    "a script without src: %.40s", p);
		ck_assert_msg(strncmp(end + 1, "</script>", 9) == 0,
		    "a script with inline content: %.40s", p);
	}
	ck_assert_ptr_null(strstr(html, "<style"));
	ck_assert_ptr_null(strstr(html, " style="));
	ck_assert_ptr_null(strstr(html, " onclick="));
	ck_assert_ptr_null(strstr(html, " onload="));
	ck_assert_ptr_null(strstr(html, " onsubmit="));
	ck_assert_ptr_nonnull(strstr(html, "<meta name=\"viewport\""));

	/* Every src="/…" and href="/…" is served. */
	for (p = html; (p = strstr(p, "=\"/")) != NULL; p = end) {
		p += 2;
		end = strchr(p, '"');
		ck_assert_ptr_nonnull(end);
		n = (size_t)(end - p);
		ck_assert_uint_lt(n, sizeof(path));
		memcpy(path, p, n);
		path[n] = '\0';
		ck_assert_msg(api_asset_find(path) != NULL,
		    "index.html names %s, which is not served", path);
	}
}
END_TEST

/*
 * Nothing is fetched from elsewhere: the only absolute URL in any file is
 * the SVG namespace, which is a name, not a fetch. And the script never
 * turns text into code or markup.
 */
START_TEST(test_no_remote)
{
	const char *t = text_of(served[_i].path), *p;

	for (p = t; (p = strstr(p, "://")) != NULL; p += 3)
		ck_assert_msg(strncmp(p, "://www.w3.org/", 14) == 0,
		    "%s refers to %.40s", served[_i].path, p - 5);
	ck_assert_ptr_null(strstr(t, "eval("));
	ck_assert_ptr_null(strstr(t, "new Function"));
	ck_assert_ptr_null(strstr(t, "innerHTML"));
	ck_assert_ptr_null(strstr(t, "outerHTML"));
	ck_assert_ptr_null(strstr(t, "insertAdjacentHTML"));
	ck_assert_ptr_null(strstr(t, "document.write"));
}
END_TEST

/* Build the api_assets suite. */
Suite *
api_assets_suite(void)
{
	Suite *s = suite_create("api_assets");
	TCase *tc;

	tc = tcase_create("find");
	tcase_add_loop_test(tc, test_served, 0, NSERVED);
	tcase_add_loop_test(tc, test_unserved, 0, NUNSERVED);
	tcase_add_test(tc, test_null);
	tcase_add_test(tc, test_etags_differ);
	suite_add_tcase(s, tc);

	tc = tcase_create("content");
	tcase_add_test(tc, test_index_csp);
	tcase_add_loop_test(tc, test_no_remote, 0, NSERVED);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the api_assets suite; exit status reflects any failure. */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(api_assets_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
