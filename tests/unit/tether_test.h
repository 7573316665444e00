/*
 * tether_test.h - what every cmocka unit test includes: cmocka itself
 * in the order it needs, and small helpers shared by the tests.
 */
#ifndef TETHER_TEST_H
#define TETHER_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

#endif /* TETHER_TEST_H */
