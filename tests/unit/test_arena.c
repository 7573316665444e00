/*
 * test_arena.c - the per-call arena: alignment, many allocations that
 * never overlap, reset that reuses memory (held constant across
 * cycles), the max_bytes bound and its giving back of unused chunks,
 * strndup/memdup, and allocation failure at every step.
 */
#include "tether_test.h"

#include <string.h>

/* A deterministic generator for sizes and patterns. */
static uint64_t
next_rand(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void
test_new_free(void **state)
{
	struct tether_arena *a;

	(void)state;
	tether_arena_free(NULL);
	a = tether_arena_new(0, 0);
	assert_non_null(a);
	assert_int_equal(tether_arena_used(a), 0);
	assert_int_equal(tether_arena_held(a), 0);
	tether_arena_reset(a);
	tether_arena_free(a);

	tether_alloc_fail_at(1, 0);
	assert_null(tether_arena_new(0, 0));
	tether_alloc_fail_at(0, 0);
}

static void
test_alignment(void **state)
{
	struct tether_arena *a = tether_arena_new(1024, 0);
	size_t align, i;
	unsigned char *p;

	(void)state;
	assert_non_null(a);
	/* The default is 16, whatever the previous request left. */
	for (i = 0; i < 200; i++) {
		p = tether_arena_alloc(a, i % 37);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % 16, 0);
		memset(p, 0xab, i % 37);
	}
	/* Every power of two up to 4096, after an odd-sized allocation
	 * so the cursor is misaligned, in chunks smaller and larger than
	 * the alignment itself. */
	for (align = 1; align <= 4096; align <<= 1) {
		for (i = 0; i < 4; i++) {
			assert_non_null(tether_arena_memdup(a, "x", 1));
			p = tether_arena_alloc_aligned(a, 1 + i * 700, align);
			assert_non_null(p);
			assert_int_equal((uintptr_t)p % align, 0);
			memset(p, 0xcd, 1 + i * 700);
		}
	}
	/* Not a power of two, zero, too large: refused. */
	assert_null(tether_arena_alloc_aligned(a, 8, 0));
	assert_null(tether_arena_alloc_aligned(a, 8, 3));
	assert_null(tether_arena_alloc_aligned(a, 8, 48));
	assert_null(tether_arena_alloc_aligned(a, 8, 8192));
	/* Sizes that overflow are refused, not wrapped. */
	assert_null(tether_arena_alloc(a, SIZE_MAX));
	assert_null(tether_arena_alloc_aligned(a, SIZE_MAX - 100, 4096));
	assert_null(tether_arena_strndup(a, "x", SIZE_MAX));
	tether_arena_free(a);
}

/* Many allocations of mixed sizes: none overlaps another, contents
 * survive, used counts what was asked for. */
static void
test_many(void **state)
{
	enum { N = 5000 };
	static unsigned char *ptrs[N];
	static size_t sizes[N];
	struct tether_arena *a = tether_arena_new(2048, 0);
	uint64_t seed = 1;
	size_t i, j, used = 0;

	(void)state;
	assert_non_null(a);
	for (i = 0; i < N; i++) {
		uint64_t r = next_rand(&seed);

		/* mostly small, now and then larger than a chunk */
		sizes[i] = r % 16 == 0 ? 2048 + r % 5000 : r % 100;
		ptrs[i] = tether_arena_alloc(a, sizes[i]);
		assert_non_null(ptrs[i]);
		memset(ptrs[i], (int)(i & 0xff), sizes[i]);
		used += sizes[i] ? sizes[i] : 1;
		assert_int_equal(tether_arena_used(a), used);
		assert_true(tether_arena_used(a) <= tether_arena_held(a));
	}
	for (i = 0; i < N; i++)
		for (j = 0; j < sizes[i]; j++)
			assert_int_equal(ptrs[i][j], i & 0xff);
	tether_arena_free(a);
}

static void
test_zero_size(void **state)
{
	struct tether_arena *a = tether_arena_new(64, 0);
	void *p, *q;

	(void)state;
	p = tether_arena_alloc(a, 0);
	q = tether_arena_alloc(a, 0);
	assert_non_null(p);
	assert_non_null(q);
	assert_ptr_not_equal(p, q);
	p = tether_arena_memdup(a, NULL, 0);
	assert_non_null(p);
	tether_arena_free(a);
}

/* One "call": a fixed mix of small, large and aligned requests. */
static void
run_pattern(struct tether_arena *a, uint64_t seed)
{
	size_t i, n;

	for (i = 0; i < 300; i++) {
		uint64_t r = next_rand(&seed);
		void *p;

		n = r % 10 == 0 ? 1000 + r % 3000 : r % 200;
		if (r % 7 == 0)
			p = tether_arena_alloc_aligned(a, n, 256);
		else
			p = tether_arena_alloc(a, n);
		assert_non_null(p);
		memset(p, 0x5a, n);
	}
}

static void
test_reset_reuses(void **state)
{
	struct tether_arena *a = tether_arena_new(1024, 0);
	size_t held, cycle;

	(void)state;
	run_pattern(a, 42);
	held = tether_arena_held(a);
	assert_true(held > 0);
	for (cycle = 0; cycle < 20; cycle++) {
		tether_arena_reset(a);
		assert_int_equal(tether_arena_used(a), 0);
		assert_int_equal(tether_arena_held(a), held);
		/* The same calls again take nothing from the hook. */
		tether_alloc_fail_at(1, 1);
		run_pattern(a, 42);
		assert_int_equal(tether_alloc_count(), 0);
		tether_alloc_fail_at(0, 0);
		assert_int_equal(tether_arena_held(a), held);
	}
	tether_arena_free(a);
}

/*
 * Regression: "small, then larger than a chunk" used to link a fresh
 * large chunk after the cursor on every cycle, never reaching the one
 * kept from the cycle before, so held grew by the large size per call.
 */
static void
test_reset_small_then_large(void **state)
{
	struct tether_arena *a = tether_arena_new(1024, 0);
	size_t held = 0, cycle;
	char *s, *l;

	(void)state;
	for (cycle = 0; cycle < 10; cycle++) {
		s = tether_arena_alloc(a, 10);
		l = tether_arena_alloc(a, 5000);
		assert_non_null(s);
		assert_non_null(l);
		memset(s, 's', 10);
		memset(l, 'l', 5000);
		assert_int_equal(s[9], 's');
		if (cycle == 0)
			held = tether_arena_held(a);
		assert_int_equal(tether_arena_held(a), held);
		tether_arena_reset(a);
	}
	/* A different order over the same chunks also fits in them. */
	for (cycle = 0; cycle < 10; cycle++) {
		assert_non_null(tether_arena_alloc(a, 5000));
		assert_non_null(tether_arena_alloc(a, 10));
		assert_int_equal(tether_arena_held(a), held);
		tether_arena_reset(a);
	}
	tether_arena_free(a);
}

static void
test_max_bytes(void **state)
{
	struct tether_arena *a = tether_arena_new(1024, 4096);
	size_t got = 0, cycle;
	void *p;

	(void)state;
	assert_non_null(a);
	/* A request larger than the bound never fits. */
	assert_null(tether_arena_alloc(a, 5000));
	assert_int_equal(tether_arena_held(a), 0);
	for (cycle = 0; cycle < 3; cycle++) {
		got = 0;
		while ((p = tether_arena_alloc(a, 100)) != NULL) {
			memset(p, 1, 100);
			got += 100;
			assert_true(tether_arena_held(a) <= 4096);
			assert_true(got < 4096);
		}
		/* Most of the bound is usable (waste: alignment, ends). */
		assert_true(got >= 3500);
		assert_true(tether_arena_held(a) <= 4096);
		/* A failed allocation leaves the arena usable. */
		tether_arena_reset(a);
	}
	tether_arena_free(a);

	/* A chunk size above the bound is lowered to it. */
	a = tether_arena_new(8192, 4096);
	p = tether_arena_alloc(a, 100);
	assert_non_null(p);
	assert_true(tether_arena_held(a) <= 4096);
	tether_arena_free(a);

	/* Near the bound a smaller last chunk is made. */
	a = tether_arena_new(4096, 5000);
	assert_non_null(tether_arena_alloc(a, 4000));
	assert_non_null(tether_arena_alloc(a, 500));
	assert_true(tether_arena_held(a) <= 5000);
	assert_null(tether_arena_alloc(a, 1000));
	tether_arena_free(a);
}

/* Over the bound, chunks kept from earlier calls that this call does
 * not use are given back so a different shape of request still fits. */
static void
test_max_bytes_drops_unused(void **state)
{
	struct tether_arena *a = tether_arena_new(1024, 8192);
	size_t i;
	char *p, *q[4];

	(void)state;
	for (i = 0; i < 8; i++)
		assert_non_null(tether_arena_alloc(a, 1000));
	assert_int_equal(tether_arena_held(a), 8192);
	tether_arena_reset(a);
	/* Eight 1024-byte chunks are kept, none can take 5000 bytes. */
	p = tether_arena_alloc(a, 5000);
	assert_non_null(p);
	memset(p, 7, 5000);
	assert_true(tether_arena_held(a) <= 8192);
	/* Chunks in use this epoch are never given back. */
	tether_arena_reset(a);
	for (i = 0; i < 4; i++) {
		q[i] = tether_arena_alloc(a, 1000);
		assert_non_null(q[i]);
		memset(q[i], (int)i, 1000);
	}
	p = tether_arena_alloc(a, 3000);
	assert_non_null(p);
	memset(p, 9, 3000);
	assert_true(tether_arena_held(a) <= 8192);
	for (i = 0; i < 4; i++)
		assert_int_equal(q[i][0] + q[i][999], 2 * i);
	/* Over the bound with nothing unused: refused, nothing lost. */
	assert_null(tether_arena_alloc(a, 4000));
	for (i = 0; i < 4; i++)
		assert_int_equal(q[i][0] + q[i][999], 2 * i);
	tether_arena_free(a);
}

static void
test_strndup_memdup(void **state)
{
	struct tether_arena *a = tether_arena_new(32, 0);
	const unsigned char bin[5] = { 1, 0, 2, 0, 3 };
	unsigned char *m;
	char *s;

	(void)state;
	s = tether_arena_strndup(a, "hello, world", 5);
	assert_string_equal(s, "hello");
	s = tether_arena_strndup(a, "", 0);
	assert_string_equal(s, "");
	s = tether_arena_strndup(a, NULL, 0);
	assert_string_equal(s, "");
	/* Exactly n bytes, even past an embedded NUL. */
	s = tether_arena_strndup(a, "a\0b", 3);
	assert_memory_equal(s, "a\0b\0", 4);
	/* Longer than a chunk. */
	s = tether_arena_strndup(a,
		"0123456789012345678901234567890123456789", 40);
	assert_string_equal(s, "0123456789012345678901234567890123456789");
	m = tether_arena_memdup(a, bin, sizeof(bin));
	assert_memory_equal(m, bin, sizeof(bin));
	/* memdup packs (alignment 1). */
	assert_ptr_equal(tether_arena_memdup(a, bin, 1), m + sizeof(bin));
	tether_arena_free(a);
}

/*
 * Fail the kth hook allocation for k = 1, 2, ...: the failing call
 * returns NULL, everything allocated before keeps its contents, later
 * calls work, and free releases it all (valgrind / ASan check).
 */
static void
test_alloc_failure(void **state)
{
	unsigned long k, seen;

	(void)state;
	for (k = 1;; k++) {
		struct tether_arena *a;
		unsigned char *ptrs[200];
		size_t sizes[200], i, j, nulls = 0;
		uint64_t seed = 9;

		tether_alloc_fail_at(k, 0);
		a = tether_arena_new(512, 0);
		if (a == NULL) {
			assert_int_equal(k, 1);
			continue;
		}
		for (i = 0; i < 200; i++) {
			uint64_t r = next_rand(&seed);

			sizes[i] = r % 9 == 0 ? 600 + r % 900 : r % 120;
			ptrs[i] = tether_arena_alloc(a, sizes[i]);
			if (ptrs[i] == NULL) {
				nulls++;
				continue;
			}
			memset(ptrs[i], (int)i, sizes[i]);
		}
		/* Reset and run again: kept chunks serve the second pass,
		 * which may need a chunk the failed request never made. */
		for (i = 0; i < 200; i++)
			for (j = 0; ptrs[i] != NULL && j < sizes[i]; j++)
				assert_int_equal(ptrs[i][j], i & 0xff);
		tether_arena_reset(a);
		for (i = 0; i < 50; i++)
			assert_non_null(tether_arena_alloc(a, 64));
		tether_arena_free(a);
		seen = tether_alloc_count();
		tether_alloc_fail_at(0, 0);
		assert_true(nulls <= 1);
		if (nulls == 0 && seen < k)
			break;
	}
	assert_true(k > 5);
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
		T(test_new_free),
		T(test_alignment),
		T(test_many),
		T(test_zero_size),
		T(test_reset_reuses),
		T(test_reset_small_then_large),
		T(test_max_bytes),
		T(test_max_bytes_drops_unused),
		T(test_strndup_memdup),
		T(test_alloc_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
