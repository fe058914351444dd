/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"
#include "readahead.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

/*
 * readahead.c defines recv() and poll() for the whole program, this test
 * included: the calls below are the ones libssh makes on the SSH socket.
 */

#define TOTAL 60000 /* fits a socketpair's buffer in one write */
#define CHUNK 4096 /* what libssh asks for */
#define FITS  "0.10.6/openssl/zlib" /* ssh_version(0) of Debian 12's */

static int sv[2];

static unsigned char
pattern(size_t i)
{
	return (unsigned char)(i * 7 + i / 251);
}

/* A non-blocking socketpair; TOTAL patterned bytes queued on sv[0]. */
static void
setup(void)
{
	unsigned char buf[TOTAL];
	size_t i;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	for (i = 0; i < TOTAL; i++)
		buf[i] = pattern(i);
	ck_assert_int_eq(write(sv[1], buf, TOTAL), TOTAL);
}

static void
teardown(void)
{
	readahead_attach(-1, NULL);
	close(sv[0]);
	close(sv[1]);
}

/* Bytes still in the socket itself, not in the read-ahead. */
static ssize_t
in_socket(void)
{
	unsigned char buf[TOTAL];

	return recvfrom(sv[0], buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT, NULL,
	    NULL);
}

/*
 * Read everything in CHUNKs as libssh does, poll, then recv, checking
 * the bytes from offset <got> of the pattern on; return the new offset.
 */
static size_t
drain(size_t got)
{
	unsigned char buf[CHUNK];
	struct pollfd pfd;
	ssize_t n;

	for (;;) {
		pfd.fd = sv[0];
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, 0) != 1)
			break;
		ck_assert(pfd.revents & POLLIN);
		n = recv(sv[0], buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			ck_assert_uint_eq(buf[i], pattern(got + (size_t)i));
		got += (size_t)n;
	}
	return got;
}

START_TEST(test_not_attached)
{
	unsigned char buf[CHUNK];
	struct pollfd pfd = { sv[0], POLLIN, 0 };

	/* Without attach: the plain calls, one CHUNK, the rest in the socket. */
	ck_assert_int_eq(recv(sv[0], buf, sizeof(buf), 0), CHUNK);
	ck_assert_int_eq(in_socket(), TOTAL - CHUNK);
	ck_assert_int_eq(poll(&pfd, 1, 0), 1);
	ck_assert_int_eq(buf[10], pattern(10));
}
END_TEST

START_TEST(test_reads_ahead)
{
	unsigned char buf[CHUNK];
	struct pollfd pfd = { sv[0], POLLIN, 0 };
	readahead_attach(sv[0], FITS);
	ck_assert_int_eq(recv(sv[0], buf, sizeof(buf), 0), CHUNK);
	/* One system call took everything the socket had. */
	ck_assert_int_eq(in_socket(), -1);
	ck_assert_int_eq(errno, EAGAIN);
	/* poll() still says readable, and does not wait to say it. */
	ck_assert_int_eq(poll(&pfd, 1, -1), 1);
	ck_assert_int_eq(pfd.revents, POLLIN);
	ck_assert_uint_eq(drain(CHUNK), TOTAL);
	/* Empty again: poll() is the system's, which finds nothing. */
	pfd.revents = 0;
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	ck_assert_int_eq(recv(sv[0], buf, sizeof(buf), 0), -1);
	ck_assert_int_eq(errno, EAGAIN);
}
END_TEST

START_TEST(test_end_in_order)
{
	unsigned char buf[CHUNK];

	readahead_attach(sv[0], FITS);
	ck_assert_int_eq(shutdown(sv[1], SHUT_WR), 0);
	/* Every byte comes before the end of the stream. */
	ck_assert_uint_eq(drain(0), TOTAL);
	ck_assert_int_eq(recv(sv[0], buf, sizeof(buf), 0), 0);
	ck_assert_int_eq(recv(sv[0], buf, sizeof(buf), 0), 0);
}
END_TEST

START_TEST(test_peek)
{
	unsigned char a[16], b[16];

	readahead_attach(sv[0], FITS);
	ck_assert_int_eq(recv(sv[0], a, 1, 0), 1);
	ck_assert_int_eq(recv(sv[0], a, sizeof(a), MSG_PEEK), sizeof(a));
	ck_assert_int_eq(recv(sv[0], b, sizeof(b), 0), sizeof(b));
	ck_assert_mem_eq(a, b, sizeof(a));
	ck_assert_int_eq(b[0], pattern(1));
}
END_TEST

START_TEST(test_others_polled)
{
	unsigned char buf[CHUNK];
	struct pollfd pfd[3];
	int other[2], i, seen = 0, n;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, other), 0);
	ck_assert_int_eq(write(other[1], "x", 1), 1);
	readahead_attach(sv[0], FITS);
	ck_assert_int_eq(recv(sv[0], buf, 1, 0), 1);
	/*
	 * While bytes wait in the read-ahead, the rest of the set is still
	 * polled (not every time: at least every 8th); a descriptor that does
	 * not ask for POLLIN gets only what the system reports.
	 */
	for (i = 0; i < 8 && !seen; i++) {
		pfd[0] = (struct pollfd){ other[0], POLLIN, 0 };
		pfd[1] = (struct pollfd){ sv[0], POLLIN, 0 };
		pfd[2] = (struct pollfd){ other[1], 0, 0 };
		n = poll(pfd, 3, -1);
		ck_assert(pfd[1].revents & POLLIN);
		ck_assert_int_eq(pfd[2].revents, 0);
		if (pfd[0].revents & POLLIN) {
			ck_assert_int_eq(n, 2);
			seen = 1;
		} else {
			ck_assert_int_eq(n, 1);
		}
	}
	ck_assert(seen);
	/* The attached socket without POLLIN: nothing to report, no wait. */
	pfd[0] = (struct pollfd){ sv[0], POLLOUT, 0 };
	ck_assert_int_eq(poll(pfd, 1, 0), 1);
	ck_assert_int_eq(pfd[0].revents, POLLOUT);
	close(other[0]);
	close(other[1]);
}
END_TEST

START_TEST(test_detach)
{
	unsigned char buf[CHUNK];

	readahead_attach(sv[0], FITS);
	ck_assert_int_eq(recv(sv[0], buf, 1, 0), 1);
	readahead_attach(-1, NULL);
	/* What was read ahead is dropped; the socket is plain again. */
	ck_assert_int_eq(recv(sv[0], buf, sizeof(buf), 0), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(write(sv[1], "yz", 2), 2);
	ck_assert_int_eq(recv(sv[0], buf, 1, 0), 1);
	ck_assert_int_eq(in_socket(), 1);
}
END_TEST

START_TEST(test_served)
{
	unsigned char buf[CHUNK];

	ck_assert_int_eq(readahead_attach(sv[0], FITS), 1);
	ck_assert_uint_eq(readahead_served(), 0);
	/* The first read fills the buffer with a system call: not counted. */
	ck_assert_int_eq(recv(sv[0], buf, sizeof(buf), 0), CHUNK);
	ck_assert_uint_eq(readahead_served(), 0);
	ck_assert_int_eq(recv(sv[0], buf, sizeof(buf), 0), CHUNK);
	ck_assert_uint_eq(readahead_served(), 1);
	/* Every other CHUNK of TOTAL is answered from the buffer. */
	ck_assert_uint_eq(drain(2 * CHUNK), TOTAL);
	ck_assert_uint_eq(readahead_served(), (TOTAL + CHUNK - 1) / CHUNK - 1);
	/* Reads that find the buffer empty are the system's. */
	ck_assert_int_eq(recv(sv[0], buf, sizeof(buf), 0), -1);
	ck_assert_uint_eq(readahead_served(), (TOTAL + CHUNK - 1) / CHUNK - 1);
	/* Stopping keeps the count for the session's last line ... */
	readahead_attach(-1, NULL);
	ck_assert_uint_eq(readahead_served(), (TOTAL + CHUNK - 1) / CHUNK - 1);
	/* ... a socket attached again starts from 0. */
	readahead_attach(sv[0], FITS);
	ck_assert_uint_eq(readahead_served(), 0);
}
END_TEST

START_TEST(test_unknown_version)
{
	unsigned char buf[CHUNK];
	struct pollfd pfd = { sv[0], POLLIN, 0 };

	/* A libssh it was not written for: recv() and poll() stay plain. */
	ck_assert_int_eq(readahead_attach(sv[0], "0.13.0/openssl/zlib"), 0);
	ck_assert_int_eq(recv(sv[0], buf, sizeof(buf), 0), CHUNK);
	ck_assert_int_eq(in_socket(), TOTAL - CHUNK);
	ck_assert_uint_eq(drain(CHUNK), TOTAL);
	ck_assert_uint_eq(readahead_served(), 0);
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	ck_assert_int_eq(readahead_attach(sv[0], NULL), 0);
	ck_assert_int_eq(readahead_attach(sv[0], ""), 0);
}
END_TEST

static const struct {
	const char *version;
	int fits;
} versions[] = {
	{ "0.10.6/openssl/zlib", 1 },
	{ "0.10.6/gcrypt", 1 },
	{ "0.10.6", 1 },
	{ "0.11.0/openssl/zlib", 1 },
	{ "0.11.5/openssl/zlib", 1 },
	{ "0.12.0/openssl/zlib", 1 },
	{ "0.12.2/mbedtls/zlib", 1 },
	{ "0.10.5/openssl/zlib", 0 },
	{ "0.10.7/openssl/zlib", 0 },
	{ "0.11.6/openssl/zlib", 0 },
	{ "0.12.3/openssl/zlib", 0 },
	{ "0.12.90/openssl/zlib", 0 },
	{ "0.13.0/openssl/zlib", 0 },
	{ "0.9.8/openssl/zlib", 0 },
	{ "1.10.6/openssl/zlib", 0 },
	{ "10.10.6", 0 },
	{ "0.106", 0 },
	{ "0.10", 0 },
	{ "0.10.", 0 },
	{ "0.10.6.1", 0 },
	{ "0.10.6 ", 0 },
	{ "0.10.6x", 0 },
	{ " 0.10.6", 0 },
	{ "0.10.-6", 0 },
	{ "0.10.4294967302", 0 },
	{ "", 0 },
};

START_TEST(test_fits)
{
	ck_assert_msg(readahead_fits(versions[_i].version) == versions[_i].fits,
	    "readahead_fits(\"%s\") is not %d", versions[_i].version,
	    versions[_i].fits);
}
END_TEST

START_TEST(test_fits_null)
{
	ck_assert_int_eq(readahead_fits(NULL), 0);
}
END_TEST

static Suite *
readahead_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("readahead");
	tc = tcase_create("socket");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_not_attached);
	tcase_add_test(tc, test_reads_ahead);
	tcase_add_test(tc, test_end_in_order);
	tcase_add_test(tc, test_peek);
	tcase_add_test(tc, test_others_polled);
	tcase_add_test(tc, test_detach);
	tcase_add_test(tc, test_served);
	tcase_add_test(tc, test_unknown_version);
	suite_add_tcase(s, tc);
	tc = tcase_create("version");
	tcase_add_loop_test(tc, test_fits, 0,
	    (int)(sizeof(versions) / sizeof(versions[0])));
	tcase_add_test(tc, test_fits_null);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the suite; a non-zero exit tells the test driver it failed. */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(readahead_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
