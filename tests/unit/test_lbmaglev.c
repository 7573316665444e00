/*
 * test_lbmaglev.c - Maglev's table against a reference: lbmaglev_ref.h
 * has the round-by-round build tether-lb used up to 2026-12-07, and
 * every table sched_maglev.c builds, over many random pools (sizes,
 * names, weights, states, slow start), must be identical to it, since a
 * reload or a restart must not move clients; and the work of a build
 * is one turn per slot, however few backends are up.
 */
#include "tether_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"
#include "lbmaglev_ref.h"

/* xorshift64*, seeded per test so a failure can be replayed. */
static uint64_t rng_state;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static uint32_t
rng_below(uint32_t n)
{
	return (uint32_t)(rng() % n);
}

static char names[LB_MAX_BACKENDS][32];

/* Backend names: b<i>, or random ones of 1..24 characters. */
static void
name_backends(struct lb_pool *pool, int random_names)
{
	size_t i, k, len;

	for (i = 0; i < pool->n; i++) {
		if (!random_names) {
			snprintf(names[i], sizeof(names[i]), "b%zu", i);
		} else {
			len = 1 + rng_below(24);
			for (k = 0; k < len; k++)
				names[i][k] = (char)('!' + rng_below(94));
			names[i][len] = '\0';
		}
		pool->backends[i].name = names[i];
	}
}

/* A weight: mostly small, sometimes 0, sometimes the maximum. */
static unsigned
rand_weight(unsigned mode)
{
	switch (mode) {
	case 0:
		return 1;
	case 1:
		return 1 + rng_below(10);
	case 2:
		/* Skewed: a few heavy ones among many of weight 1. */
		return rng_below(8) == 0 ? LB_MAX_WEIGHT - rng_below(3) : 1;
	default:
		if (rng_below(6) == 0)
			return 0;
		return 1 + rng_below(LB_MAX_WEIGHT);
	}
}

/* floor(log2(k)) for k >= 1: the depth of a heap of k. */
static uint64_t
depth(uint64_t k)
{
	uint64_t d = 0;

	while (k > 1) {
		k /= 2;
		d++;
	}
	return d;
}

/* The work of the pool's last build: one turn per slot whatever the
 * number of rounds, and at most two heap walks (a pop and a push) of
 * the heap's depth each. */
static void
check_work(const struct lb_pool *pool)
{
	const struct lb_maglev *mg = pool->state;
	uint64_t usable = 0;
	size_t i;

	for (i = 0; i < pool->n; i++)
		usable += lb_backend_usable(&pool->backends[i]);
	if (usable == 0) {
		assert_int_equal(mg->turns, 0);
		return;
	}
	assert_int_equal(mg->turns, mg->m);
	assert_true(mg->sifts <= 2 * mg->turns * depth(usable));
	assert_true(mg->probes >= mg->turns);
}

/* The pool's table must be the reference's for the same pool. */
static void
check_same(struct lb_pool *pool, const char *what, unsigned cfg)
{
	const struct lb_maglev *mg = pool->state;
	int32_t *want = lbmaglev_ref_build(pool, mg->m, NULL);
	uint32_t s;

	assert_non_null(want);
	check_work(pool);

	assert_non_null(mg->table);
	for (s = 0; s < mg->m; s++)
		if (mg->table[s] != want[s]) {
			print_error("%s, configuration %u (n %zu, m %u): "
				    "slot %u is %d, reference %d\n", what,
				    cfg, pool->n, mg->m, s, mg->table[s],
				    want[s]);
			free(want);
			fail();
		}
	free(want);
}

/* Random pools, each built fresh and compared with the reference. */
static void
test_maglev_same_as_reference(void **state)
{
	/* Under valgrind: fewer pools, none large (the reference takes
	 * rounds x n steps). */
	int vg = getenv("TETHER_UNDER_VALGRIND") != NULL;
	unsigned cfg;

	(void)state;
	rng_state = 0x6d61676c65763033ULL;
	for (cfg = 0; cfg < (vg ? 100u : 400u); cfg++) {
		struct lb_pool pool;
		size_t n, i;
		unsigned wmode = rng_below(4), smode = rng_below(4);

		/* Mostly small pools; a few large ones. */
		n = cfg % 50 == 49 && !vg
			? 200 + rng_below(LB_MAX_BACKENDS - 199)
			: 1 + rng_below(cfg % 4 == 0 ? 64 : 12);
		assert_int_equal(lb_pool_init(&pool, n, &lb_ops_maglev), 0);
		name_backends(&pool, rng_below(2));
		pool.now = 1000000;
		if (rng_below(2))
			pool.slowstart_ms = 1 + rng_below(60000);
		for (i = 0; i < n; i++) {
			struct lb_backend *b = &pool.backends[i];
			uint32_t r = rng_below(100);

			b->weight = rand_weight(wmode);
			/* smode 0: all up; 1: about half down or draining;
			 * 2: one or two up; 3: mostly up. */
			if ((smode == 1 && r < 50) ||
			    (smode == 2 && i > 1) || (smode == 3 && r < 15))
				b->state = r % 2 ? LB_BACKEND_DOWN
						 : LB_BACKEND_DRAINING;
			/* Slow start: some came back up to 60 s ago. */
			if (pool.slowstart_ms != 0 && rng_below(3) == 0)
				b->up_since = pool.now - rng_below(60000);
		}
		assert_int_equal(lb_pool_update(&pool), 0);
		check_same(&pool, "fresh pool", cfg);
		lb_pool_fini(&pool);
	}
}

/* One pool through a run of changes (down, draining, back up with slow
 * start, weight changes, nothing usable), compared after each. */
static void
test_maglev_same_along_changes(void **state)
{
	struct lb_pool pool;
	size_t n = getenv("TETHER_UNDER_VALGRIND") ? 40 : 300, i;
	unsigned step;

	(void)state;
	rng_state = 0x6d61676c65763034ULL;
	assert_int_equal(lb_pool_init(&pool, n, &lb_ops_maglev), 0);
	name_backends(&pool, 0);
	for (i = 0; i < n; i++)
		pool.backends[i].weight = 1 + rng_below(20);
	pool.slowstart_ms = 8000;
	pool.now = 1000;
	assert_int_equal(lb_pool_update(&pool), 0);
	check_same(&pool, "start", 0);
	/* An outage: all but one go down at once. */
	pool.defer_update = 1;
	for (i = 1; i < n; i++)
		assert_int_equal(lb_backend_set_state(&pool,
				&pool.backends[i], LB_BACKEND_DOWN, 2000, 0),
				 0);
	pool.defer_update = 0;
	assert_int_equal(lb_pool_update(&pool), 0);
	check_same(&pool, "one left", 0);
	/* They come back one by one (ramping), with other changes. */
	for (step = 1; step < 200; step++) {
		struct lb_backend *b = &pool.backends[rng_below(n)];
		uint64_t now = 2000 + step * 97;

		switch (rng_below(5)) {
		case 0:
			assert_int_equal(lb_backend_set_state(&pool, b,
					LB_BACKEND_DRAINING, now, 0), 0);
			break;
		case 1:
			b->weight = rand_weight(3);
			pool.now = now;
			assert_int_equal(lb_pool_update(&pool), 0);
			break;
		default:
			assert_int_equal(lb_backend_set_state(&pool, b,
					LB_BACKEND_UP, now, 0), 0);
			break;
		}
		check_same(&pool, "change", step);
	}
	/* Nothing usable: an empty table. */
	pool.defer_update = 1;
	for (i = 0; i < n; i++)
		assert_int_equal(lb_backend_set_state(&pool,
				&pool.backends[i], LB_BACKEND_DOWN, 50000, 0),
				 0);
	pool.defer_update = 0;
	assert_int_equal(lb_pool_update(&pool), 0);
	check_same(&pool, "none usable", 0);
	lb_pool_fini(&pool);
}

/*
 * The reviewer's cases at N = 1024 (M = 102407): the round-by-round
 * build walked all 1024 backends in each of M rounds when one was up
 * (1e8 visits) and in each of about M / 2 rounds when one had weight
 * 1000 and the rest 1; here each is M turns, and with one backend up
 * its permutation is walked once, slot by slot, and the heap is one
 * entry.
 */
static void
test_maglev_work(void **state)
{
	struct lb_pool pool;
	const struct lb_maglev *mg;
	size_t n = LB_MAX_BACKENDS, i;

	(void)state;
	assert_int_equal(lb_pool_init(&pool, n, &lb_ops_maglev), 0);
	name_backends(&pool, 0);
	for (i = 0; i < n; i++)
		pool.backends[i].weight = 1;
	assert_int_equal(lb_pool_update(&pool), 0);
	mg = pool.state;
	assert_int_equal(mg->m, 102407);
	check_work(&pool);
	print_message("maglev N %zu all up: %llu turns, %llu sifts, "
		      "%llu probes\n", n, (unsigned long long)mg->turns,
		      (unsigned long long)mg->sifts,
		      (unsigned long long)mg->probes);
	pool.backends[0].weight = LB_MAX_WEIGHT;
	assert_int_equal(lb_pool_update(&pool), 0);
	check_work(&pool);
	print_message("maglev N %zu one of weight %u: %llu turns, %llu "
		      "sifts, %llu probes\n", n, LB_MAX_WEIGHT,
		      (unsigned long long)mg->turns,
		      (unsigned long long)mg->sifts,
		      (unsigned long long)mg->probes);
	pool.backends[0].weight = 1;
	pool.defer_update = 1;
	for (i = 1; i < n; i++)
		assert_int_equal(lb_backend_set_state(&pool,
				&pool.backends[i], LB_BACKEND_DOWN, 1, 0), 0);
	pool.defer_update = 0;
	assert_int_equal(lb_pool_update(&pool), 0);
	assert_int_equal(mg->turns, mg->m);
	assert_int_equal(mg->probes, mg->m);
	assert_int_equal(mg->sifts, 0);
	/* A second one back: two entries, at most one level per turn. */
	assert_int_equal(lb_backend_set_state(&pool, &pool.backends[1],
					      LB_BACKEND_UP, 2, 0), 0);
	assert_int_equal(mg->turns, mg->m);
	assert_true(mg->sifts <= mg->m);
	check_work(&pool);
	lb_pool_fini(&pool);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maglev_same_as_reference),
		cmocka_unit_test(test_maglev_same_along_changes),
		cmocka_unit_test(test_maglev_work),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
