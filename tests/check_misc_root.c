/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include "misc.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <check.h>

/*
 * The misc functions that only root can exercise, apart from check_misc:
 * run by anyone else (or where there is no user nobody) this program
 * reports SKIP (exit status 77) instead of passing tests it did not run.
 */

Suite *misc_root_suite(void);

/*
 * As root, misc_become_user() leaves a child with nobody's IDs only and
 * no way back to root.
 */
START_TEST(test_become_user)
{
	struct passwd *pw;
	gid_t groups[1];
	pid_t pid;
	int status;

	ck_assert_ptr_nonnull(pw = getpwnam("nobody"));
	if ((pid = fork()) == 0) {
		if (misc_become_user(pw) != 0)
			_exit(10);
		if (getuid() != pw->pw_uid || geteuid() != pw->pw_uid ||
		    getgid() != pw->pw_gid || getegid() != pw->pw_gid)
			_exit(11);
		if (getgroups(0, NULL) > 1 ||
		    (getgroups(1, groups) == 1 && groups[0] != pw->pw_gid))
			_exit(12);
		if (setuid(0) != -1 || seteuid(0) != -1)
			_exit(13);
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* Build the suite of root's misc functions. */
Suite *
misc_root_suite(void)
{
	Suite *s = suite_create("misc_root");
	TCase *tc;

	tc = tcase_create("user");
	tcase_add_test(tc, test_become_user);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the suite as root, else tell the test driver it skipped. */
int
main(void)
{
	SRunner *sr;
	int failed;

	if (geteuid() != 0) {
		printf("SKIP: not run as root\n");
		return 77;
	}
	if (getpwnam("nobody") == NULL) {
		printf("SKIP: no user nobody to become\n");
		return 77;
	}
	sr = srunner_create(misc_root_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
