/*
 * test_err.c - the error table, the errno mapping, and the allocator
 * hook with its fault injection.
 */
#include "tether_test.h"

#include <errno.h>
#include <string.h>

static void
test_names_and_messages(void **state)
{
	(void)state;
	assert_string_equal(tether_err_name(0), "TETHER_OK");
	assert_string_equal(tether_err_name(-TETHER_EINVAL), "TETHER_EINVAL");
	assert_string_equal(tether_err_name(TETHER_EINVAL), "TETHER_EINVAL");
	assert_string_equal(tether_err_name(-TETHER_EOF), "TETHER_EOF");
	assert_string_equal(tether_strerror(-TETHER_ENOMEM), "out of memory");
	assert_string_equal(tether_strerror(0), "success");
	assert_string_equal(tether_strerror(-9999), "unknown error");
	assert_string_equal(tether_err_name(9999), "TETHER_EUNKNOWN");
	assert_string_equal(tether_err_name(INT32_MIN), "TETHER_EUNKNOWN");
	assert_string_equal(tether_strerror(-TETHER_ERRNO_MAX), "unknown error");
}

static void
test_every_code_named(void **state)
{
	int i;

	(void)state;
	for (i = 1; i < TETHER_ERRNO_MAX; i++) {
		assert_non_null(strstr(tether_err_name(-i), "TETHER_E"));
		assert_string_not_equal(tether_strerror(-i), "unknown error");
	}
}

static void
test_from_errno(void **state)
{
	(void)state;
	assert_int_equal(tether_err_from_errno(0), 0);
	assert_int_equal(tether_err_from_errno(EINVAL), -TETHER_EINVAL);
	assert_int_equal(tether_err_from_errno(EWOULDBLOCK), -TETHER_EAGAIN);
	assert_int_equal(tether_err_from_errno(ECONNREFUSED),
			 -TETHER_ECONNREFUSED);
	assert_int_equal(tether_err_from_errno(ENOBUFS), -TETHER_ENOSPC);
	assert_int_equal(tether_err_from_errno(EXDEV), -TETHER_ESYS);
}

/* Every errno the table maps, so a dropped case shows. */
static void
test_from_errno_table(void **state)
{
	static const struct {
		int sys, code;
	} map[] = {
		{ EINVAL, TETHER_EINVAL },
		{ ENOMEM, TETHER_ENOMEM },
		{ ENOSPC, TETHER_ENOSPC },
		{ ENOBUFS, TETHER_ENOSPC },
		{ EAGAIN, TETHER_EAGAIN },
		{ EINPROGRESS, TETHER_EAGAIN },
		{ ERANGE, TETHER_ERANGE },
		{ EOVERFLOW, TETHER_EOVERFLOW },
		{ EMSGSIZE, TETHER_EMSGSIZE },
		{ EPROTO, TETHER_EPROTO },
		{ EBADMSG, TETHER_EBADMSG },
		{ ENOENT, TETHER_ENOENT },
		{ EEXIST, TETHER_EEXIST },
		{ EPERM, TETHER_EPERM },
		{ EACCES, TETHER_EACCES },
		{ EBUSY, TETHER_EBUSY },
		{ ECANCELED, TETHER_ECANCELED },
		{ ETIMEDOUT, TETHER_ETIMEDOUT },
		{ ECONNREFUSED, TETHER_ECONNREFUSED },
		{ ECONNRESET, TETHER_ECONNRESET },
		{ EPIPE, TETHER_EPIPE },
		{ EAFNOSUPPORT, TETHER_EAFNOSUPPORT },
		{ EADDRINUSE, TETHER_EADDRINUSE },
		{ ENOTSUP, TETHER_ENOTSUP },
		{ EOPNOTSUPP, TETHER_ENOTSUP },
		{ EIO, TETHER_EIO },
		{ EINTR, TETHER_ESYS },
		{ EBADF, TETHER_ESYS },
	};
	size_t i;

	(void)state;
	for (i = 0; i < TETHER_ARRAY_SIZE(map); i++)
		assert_string_equal(tether_err_name(tether_err_from_errno(
					    map[i].sys)),
				    tether_err_name(-map[i].code));
}

static void
test_fail_nth_allocation(void **state)
{
	void *a, *b, *c;

	(void)state;
	tether_alloc_fail_at(2, 0);
	a = tether_malloc(10);
	b = tether_malloc(10);
	c = tether_malloc(10);
	assert_non_null(a);
	assert_null(b);
	assert_non_null(c);
	assert_int_equal(tether_alloc_count(), 3);
	tether_free(a);
	tether_free(c);

	tether_alloc_fail_at(1, 1);
	assert_null(tether_malloc(1));
	assert_null(tether_calloc(2, 2));
	assert_null(tether_strdup("x"));
	tether_alloc_fail_at(0, 0);
	a = tether_strdup("hello");
	assert_string_equal(a, "hello");
	tether_free(a);
}

static void
test_realloc_failure_keeps_block(void **state)
{
	char *p = tether_malloc(4), *q;

	(void)state;
	memcpy(p, "abc", 4);
	tether_alloc_fail_at(1, 0);
	q = tether_realloc(p, 1 << 20);
	assert_null(q);
	assert_string_equal(p, "abc");
	tether_alloc_fail_at(0, 0);
	tether_free(p);
}

static void
test_overflow_checked(void **state)
{
	(void)state;
	assert_null(tether_calloc(SIZE_MAX / 2, 4));
	assert_null(tether_reallocarray(NULL, SIZE_MAX / 2, 4));
	/* Products that wrap to a small size: without the check these
	 * would "succeed" with 2 bytes. */
	assert_null(tether_calloc(SIZE_MAX / 2 + 2, 2));
	assert_null(tether_calloc(2, SIZE_MAX / 2 + 2));
	assert_null(tether_reallocarray(NULL, SIZE_MAX / 2 + 2, 2));
}

static size_t hook_calls;

static void *
hook_malloc(size_t n, void *ud)
{
	(void)ud;
	hook_calls++;
	return malloc(n);
}

static void *
hook_realloc(void *p, size_t n, void *ud)
{
	(void)ud;
	hook_calls++;
	return realloc(p, n);
}

static void
hook_free(void *p, void *ud)
{
	(void)ud;
	hook_calls++;
	free(p);
}

static void
test_custom_allocator(void **state)
{
	struct tether_allocator a = { hook_malloc, hook_realloc, hook_free, NULL };
	void *p;

	(void)state;
	tether_set_allocator(&a);
	p = tether_malloc(8);
	p = tether_realloc(p, 16);
	tether_free(p);
	tether_set_allocator(NULL);
	assert_int_equal(hook_calls, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_messages),
		cmocka_unit_test(test_every_code_named),
		cmocka_unit_test(test_from_errno),
		cmocka_unit_test(test_from_errno_table),
		cmocka_unit_test(test_fail_nth_allocation),
		cmocka_unit_test(test_realloc_failure_keeps_block),
		cmocka_unit_test(test_overflow_checked),
		cmocka_unit_test(test_custom_allocator),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
