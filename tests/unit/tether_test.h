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

#endif /* TETHER_TEST_H */
