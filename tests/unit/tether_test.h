/*
 * tether_test.h - what every cmocka unit test includes: cmocka itself
 * in the order it needs, and small helpers shared by the tests.
 */
#ifndef TETHER_TEST_H
#define TETHER_TEST_H

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "tether/core.h"

/* Assert that an expression returned the given negative tether code. */
#define assert_tether_err(expr, code) \
	assert_string_equal(tether_err_name(expr), tether_err_name(-(code)))

/*
 * A cmocka setup function: turn allocation fault injection off, so a
 * test that failed half-way through an allocation-failure loop does not
 * make the next test fail too. Use it as cmocka_unit_test_setup(f,
 * tether_test_injection_off).
 */
static inline int
tether_test_injection_off(void **state)
{
	(void)state;
	tether_alloc_fail_at(0, 0);
	return 0;
}

static inline int
tether_test_rm_one(const char *path, const struct stat *st, int flag,
		   struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/*
 * Remove a test's scratch directory and everything under it (without
 * following symbolic links). Returns 0, or -1 if something could not
 * be removed. For cmocka teardown functions.
 */
static inline int
tether_test_rm_tree(const char *dir)
{
	return nftw(dir, tether_test_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * A connected TCP pair on 127.0.0.1: *accepted is the listener's side,
 * *connected the connecting one. Fails the test on any error.
 */
static inline void
tether_test_tcp_pair(int *accepted, int *connected)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int l;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	*connected = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(*connected >= 0);
	assert_int_equal(connect(*connected, (struct sockaddr *)&sin,
				 sizeof(sin)), 0);
	*accepted = accept(l, NULL, NULL);
	assert_true(*accepted >= 0);
	close(l);
}

#endif /* TETHER_TEST_H */
