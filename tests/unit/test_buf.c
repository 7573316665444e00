/*
 * test_buf.c - the bounded growable buffer: contents, growth, the hard
 * maximum, printf, consume, steal, and every allocation failure.
 */
#include "tether_test.h"

#include <stdio.h>
#include <string.h>
#include <wchar.h>

/* The header's invariants, checked after every operation. */
static void
check_inv(const struct tether_buf *b)
{
	assert_true(b->len <= b->max);
	if (b->data == NULL) {
		assert_int_equal(b->cap, 0);
		assert_int_equal(b->len, 0);
		return;
	}
	assert_true(b->cap > 0);
	assert_true(b->len < b->cap);
	if (b->max != SIZE_MAX)
		assert_true(b->cap <= b->max + 1);
	assert_int_equal(b->data[b->len], 0);
}

/* A snapshot to prove a failed call changed nothing. */
struct snap {
	const unsigned char *data;
	size_t len, cap;
	unsigned char bytes[256];
};

static void
take_snap(struct snap *s, const struct tether_buf *b)
{
	s->data = b->data;
	s->len = b->len;
	s->cap = b->cap;
	assert_true(b->len < sizeof(s->bytes));
	if (b->data != NULL)
		memcpy(s->bytes, b->data, b->len + 1);
}

static void
assert_unchanged(const struct snap *s, const struct tether_buf *b)
{
	assert_ptr_equal(s->data, b->data);
	assert_int_equal(s->len, b->len);
	assert_int_equal(s->cap, b->cap);
	if (b->data != NULL)
		assert_memory_equal(s->bytes, b->data, b->len + 1);
	check_inv(b);
}

static void
test_init_empty(void **state)
{
	struct tether_buf b;

	(void)state;
	tether_alloc_fail_at(0, 0);
	tether_buf_init(&b, 100);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 100);
	/* Appending nothing allocates nothing, even with p == NULL. */
	assert_int_equal(tether_buf_append(&b, NULL, 0), 0);
	assert_int_equal(tether_buf_append_str(&b, ""), 0);
	assert_int_equal(tether_alloc_count(), 0);
	assert_null(b.data);
	tether_buf_consume(&b, 5);
	tether_buf_reset(&b);
	check_inv(&b);
	tether_buf_free(&b);
	tether_buf_free(&b);	/* twice is harmless */
	check_inv(&b);
}

static void
test_append_and_grow(void **state)
{
	struct tether_buf b;
	unsigned char model[5000];
	size_t i, prev_cap = 0, reallocs = 0;

	(void)state;
	tether_buf_init(&b, sizeof(model));
	for (i = 0; i < sizeof(model); i++) {
		unsigned char c = (unsigned char)(i * 7 + 3);

		model[i] = c;
		assert_int_equal(tether_buf_append(&b, &c, 1), 0);
		check_inv(&b);
		if (b.cap != prev_cap) {
			/* Growth is geometric: each step at least doubles
			 * (except the last, capped at max + 1). */
			if (prev_cap != 0 && b.cap != b.max + 1)
				assert_true(b.cap >= 2 * prev_cap);
			prev_cap = b.cap;
			reallocs++;
		}
	}
	assert_int_equal(b.len, sizeof(model));
	assert_memory_equal(b.data, model, sizeof(model));
	assert_true(reallocs < 12);
	assert_int_equal(b.cap, sizeof(model) + 1);
	tether_buf_free(&b);
	check_inv(&b);
	assert_int_equal(b.max, sizeof(model));
}

static void
test_hard_maximum(void **state)
{
	struct tether_buf b;
	struct snap s;

	(void)state;
	tether_buf_init(&b, 10);
	assert_int_equal(tether_buf_append(&b, "0123456", 7), 0);
	take_snap(&s, &b);
	/* 7 + 4 > 10: refused whole, not truncated. */
	assert_tether_err(tether_buf_append(&b, "abcd", 4), TETHER_ENOSPC);
	assert_unchanged(&s, &b);
	assert_tether_err(tether_buf_append_str(&b, "abcd"), TETHER_ENOSPC);
	assert_unchanged(&s, &b);
	assert_tether_err(tether_buf_reserve(&b, 4), TETHER_ENOSPC);
	assert_unchanged(&s, &b);
	assert_tether_err(tether_buf_reserve(&b, SIZE_MAX), TETHER_ENOSPC);
	assert_unchanged(&s, &b);
	assert_tether_err(tether_buf_printf(&b, "%d", 1234), TETHER_ENOSPC);
	assert_unchanged(&s, &b);
	assert_string_equal((char *)b.data, "0123456");

	/* Exactly to the maximum is fine, and still NUL-terminated. */
	assert_int_equal(tether_buf_append(&b, "789", 3), 0);
	assert_int_equal(b.len, 10);
	assert_string_equal((char *)b.data, "0123456789");
	check_inv(&b);
	take_snap(&s, &b);
	assert_tether_err(tether_buf_append(&b, "x", 1), TETHER_ENOSPC);
	assert_unchanged(&s, &b);
	assert_tether_err(tether_buf_printf(&b, "x"), TETHER_ENOSPC);
	assert_unchanged(&s, &b);
	assert_int_equal(tether_buf_append(&b, "", 0), 0);
	assert_int_equal(tether_buf_printf(&b, "%s", ""), 0);
	assert_unchanged(&s, &b);
	assert_int_equal(tether_buf_reserve(&b, 0), 0);

	/* Room comes back after consume. */
	tether_buf_consume(&b, 4);
	assert_int_equal(tether_buf_append(&b, "abcd", 4), 0);
	assert_string_equal((char *)b.data, "456789abcd");
	tether_buf_free(&b);

	/* max 0: nothing fits, nothing is allocated. */
	tether_buf_init(&b, 0);
	tether_alloc_fail_at(0, 0);
	assert_tether_err(tether_buf_append(&b, "x", 1), TETHER_ENOSPC);
	assert_tether_err(tether_buf_printf(&b, "x"), TETHER_ENOSPC);
	assert_int_equal(tether_buf_printf(&b, "%s", ""), 0);
	assert_int_equal(tether_alloc_count(), 0);
	check_inv(&b);
	tether_buf_free(&b);

	/* An unbounded buffer cannot wrap around SIZE_MAX. */
	tether_buf_init(&b, SIZE_MAX);
	assert_int_equal(tether_buf_append(&b, "ab", 2), 0);
	take_snap(&s, &b);
	assert_tether_err(tether_buf_reserve(&b, SIZE_MAX), TETHER_ENOSPC);
	assert_unchanged(&s, &b);
	assert_tether_err(tether_buf_reserve(&b, SIZE_MAX - 2), TETHER_ENOMEM);
	assert_unchanged(&s, &b);
	tether_buf_free(&b);
}

static void
test_append_self(void **state)
{
	struct tether_buf b;
	size_t i;

	(void)state;
	tether_buf_init(&b, 1 << 20);
	assert_int_equal(tether_buf_append_str(&b, "abc"), 0);
	/* Each doubling forces a realloc with p inside the old block. */
	for (i = 0; i < 10; i++) {
		assert_int_equal(tether_buf_append(&b, b.data, b.len), 0);
		check_inv(&b);
	}
	assert_int_equal(b.len, 3 << 10);
	for (i = 0; i < b.len; i++)
		assert_int_equal(b.data[i], "abc"[i % 3]);
	/* A piece from the middle. */
	tether_buf_reset(&b);
	assert_int_equal(tether_buf_append_str(&b, "0123456789"), 0);
	assert_int_equal(tether_buf_append(&b, b.data + 3, 4), 0);
	assert_string_equal((char *)b.data, "01234567893456");
	tether_buf_free(&b);
}

static void
test_printf(void **state)
{
	struct tether_buf b;
	struct snap s;
	char big[300];
	int i;

	(void)state;
	tether_buf_init(&b, 4096);
	assert_int_equal(tether_buf_printf(&b, "%s=%d", "x", 42), 0);
	assert_string_equal((char *)b.data, "x=42");
	assert_int_equal(b.len, 4);
	check_inv(&b);
	/* Longer than the room: the second pass after growing. */
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(tether_buf_printf(&b, "[%s]", big), 0);
	assert_int_equal(b.len, 4 + 2 + 299);
	assert_int_equal(b.data[4], '[');
	assert_int_equal(b.data[b.len - 1], ']');
	assert_int_equal(strlen((char *)b.data), b.len);
	check_inv(&b);
	/* Many small ones. */
	tether_buf_reset(&b);
	for (i = 0; i < 100; i++)
		assert_int_equal(tether_buf_printf(&b, "%d,", i % 10), 0);
	assert_int_equal(b.len, 200);
	assert_memory_equal(b.data, "0,1,2,3,4,5,6,7,8,9,0,1", 23);
	check_inv(&b);

	/* Over the maximum: nothing written, NUL restored even though
	 * vsnprintf scribbled in the room. */
	tether_buf_free(&b);
	tether_buf_init(&b, 100);
	assert_int_equal(tether_buf_printf(&b, "%s", "head"), 0);
	take_snap(&s, &b);
	assert_tether_err(tether_buf_printf(&b, "%s", big), TETHER_ENOSPC);
	assert_unchanged(&s, &b);
	assert_string_equal((char *)b.data, "head");

	/* A format error (a wide character the C locale cannot encode). */
	assert_tether_err(tether_buf_printf(&b, "abc%ls", L"\x80\x1234"),
			  TETHER_EINVAL);
	assert_unchanged(&s, &b);
	assert_string_equal((char *)b.data, "head");
	tether_buf_free(&b);
	/* ... also on a never-allocated buffer. */
	tether_buf_init(&b, 100);
	assert_tether_err(tether_buf_printf(&b, "%ls", L"\x1234"),
			  TETHER_EINVAL);
	assert_null(b.data);
	check_inv(&b);
}

static void
test_consume(void **state)
{
	struct tether_buf b;
	void *storage;

	(void)state;
	tether_buf_init(&b, 100);
	assert_int_equal(tether_buf_append_str(&b, "hello, world"), 0);
	storage = b.data;
	tether_buf_consume(&b, 0);
	assert_string_equal((char *)b.data, "hello, world");
	tether_buf_consume(&b, 7);
	assert_int_equal(b.len, 5);
	assert_string_equal((char *)b.data, "world");
	check_inv(&b);
	tether_buf_consume(&b, 5);
	assert_int_equal(b.len, 0);
	assert_string_equal((char *)b.data, "");
	assert_int_equal(tether_buf_append_str(&b, "abc"), 0);
	tether_buf_consume(&b, 1000);
	assert_int_equal(b.len, 0);
	check_inv(&b);
	/* Storage is kept for reuse. */
	assert_ptr_equal(b.data, storage);
	assert_int_equal(tether_buf_append_str(&b, "xy"), 0);
	tether_buf_reset(&b);
	assert_ptr_equal(b.data, storage);
	assert_int_equal(b.len, 0);
	check_inv(&b);
	tether_buf_free(&b);
}

static void
test_steal(void **state)
{
	struct tether_buf b;
	unsigned char *p;
	size_t n = 99;

	(void)state;
	tether_buf_init(&b, 10);
	/* Never allocated: NULL and 0. */
	p = tether_buf_steal(&b, &n);
	assert_null(p);
	assert_int_equal(n, 0);
	/* Full to the maximum: still NUL-terminated, no reallocation. */
	assert_int_equal(tether_buf_append_str(&b, "0123456789"), 0);
	tether_alloc_fail_at(1, 1);
	p = tether_buf_steal(&b, &n);
	tether_alloc_fail_at(0, 0);
	assert_non_null(p);
	assert_int_equal(n, 10);
	assert_string_equal((char *)p, "0123456789");
	/* The buffer is empty again and reusable with the same max. */
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 10);
	assert_int_equal(tether_buf_append_str(&b, "new"), 0);
	assert_string_equal((char *)b.data, "new");
	assert_ptr_not_equal(b.data, p);
	tether_free(p);
	/* len_out may be NULL. */
	p = tether_buf_steal(&b, NULL);
	assert_string_equal((char *)p, "new");
	tether_free(p);
	tether_buf_free(&b);
}

/*
 * A fixed script of appends and printfs, run while the kth allocation
 * fails: a failed step returns -TETHER_ENOMEM and changes nothing, the
 * rest go on, and the end result is the model of the steps that
 * succeeded. Valgrind / ASan see any leak.
 */
static void
test_alloc_failure(void **state)
{
	unsigned long k, seen;
	int failed;

	(void)state;
	for (k = 1;; k++) {
		struct tether_buf b;
		struct snap s;
		char model[2048], piece[64];
		size_t mlen = 0, plen, i;
		unsigned char *p;
		int rc;

		tether_buf_init(&b, sizeof(model));
		tether_alloc_fail_at(k, 0);
		failed = 0;
		for (i = 0; i < 60; i++) {
			plen = (size_t)snprintf(piece, sizeof(piece),
						"<%zu:%.*s>", i, (int)(i % 20),
						"abcdefghijklmnopqrstuvwxyz");
			if (b.len < sizeof(s.bytes))
				take_snap(&s, &b);
			switch (i % 3) {
			case 0:
				rc = tether_buf_append(&b, piece, plen);
				break;
			case 1:
				rc = tether_buf_printf(&b, "<%zu:%.*s>", i,
					(int)(i % 20),
					"abcdefghijklmnopqrstuvwxyz");
				break;
			default:
				rc = tether_buf_append_str(&b, piece);
				break;
			}
			if (rc < 0) {
				assert_tether_err(rc, TETHER_ENOMEM);
				assert_int_equal(b.len, mlen);
				if (mlen < sizeof(s.bytes))
					assert_unchanged(&s, &b);
				failed++;
				continue;
			}
			memcpy(model + mlen, piece, plen);
			mlen += plen;
			check_inv(&b);
		}
		assert_true(failed <= 1);
		assert_int_equal(b.len, mlen);
		if (mlen != 0)
			assert_memory_equal(b.data, model, mlen);
		/* Steal must not allocate, whatever happened before. */
		p = tether_buf_steal(&b, &plen);
		assert_int_equal(plen, mlen);
		tether_free(p);
		seen = tether_alloc_count();
		tether_alloc_fail_at(0, 0);
		if (!failed) {
			/* The script made fewer than k allocations. */
			assert_true(seen < k);
			break;
		}
	}
	assert_true(k > 3);
}

/* A test that failed mid-way must not leave fault injection on. */
static int
injection_off(void **state)
{
	(void)state;
	tether_alloc_fail_at(0, 0);
	return 0;
}

#define T(f) cmocka_unit_test_setup(f, injection_off)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_init_empty),
		T(test_append_and_grow),
		T(test_hard_maximum),
		T(test_append_self),
		T(test_printf),
		T(test_consume),
		T(test_steal),
		T(test_alloc_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
