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

#endif /* TETHER_TEST_H */
