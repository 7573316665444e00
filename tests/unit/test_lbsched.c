/*
 * test_lbsched.c - tether-lb's balancing algorithms behind struct
 * lb_ops: smooth WRR sequences and proportions, round-robin, weighted
 * least-connections, and Maglev's table (prime size, balance, the keys
 * that move when a backend leaves or joins, agreement between nodes).
 */
#include "tether_test.h"

#include <stdio.h>
#include <string.h>

#include "lb.h"

static char names[LB_MAX_BACKENDS][24];

/* A pool of n backends named b0, b1, ... with the given weights (NULL:
 * all 1). */
static void
pool_make(struct lb_pool *pool, size_t n, const struct lb_ops *ops,
	  const unsigned *weights)
{
	size_t i;

	assert_int_equal(lb_pool_init(pool, n, ops), 0);
	for (i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "b%zu", i);
		pool->backends[i].name = names[i];
		pool->backends[i].weight = weights ? weights[i] : 1;
	}
	assert_int_equal(lb_pool_update(pool), 0);
}

static void
test_wrr_sequence(void **state)
{
	static const unsigned w[] = { 5, 1, 1 };
	struct lb_pool pool;
	char seq[8];
	int i;

	(void)state;
	pool_make(&pool, 3, &lb_ops_wrr, w);
	/* nginx's smooth sequence for 5,1,1: spread out, not a a a a a b c. */
	for (i = 0; i < 7; i++)
		seq[i] = (char)('a' + lb_pool_pick(&pool, 0, NULL)->index);
	seq[7] = '\0';
	assert_string_equal(seq, "aabacaa");
	lb_pool_fini(&pool);
}

static void
test_wrr_proportions(void **state)
{
	static const unsigned w[] = { 3, 1, 0, 6, 10 };
	struct lb_pool pool;
	unsigned count[5] = { 0 };
	int i;

	(void)state;
	pool_make(&pool, 5, &lb_ops_wrr, w);
	/* Exact shares over whole rounds of sum(w) = 20 picks. */
	for (i = 0; i < 2000; i++)
		count[lb_pool_pick(&pool, 0, NULL)->index]++;
	assert_int_equal(count[0], 300);
	assert_int_equal(count[1], 100);
	assert_int_equal(count[2], 0);		/* weight 0: never */
	assert_int_equal(count[3], 600);
	assert_int_equal(count[4], 1000);

	/* A backend goes down: its share is split by weight, and it is
	 * never picked; it comes back and gets its share again. */
	assert_int_equal(lb_backend_set_state(&pool, &pool.backends[4],
					      LB_BACKEND_DOWN, 0, 0), 0);
	memset(count, 0, sizeof(count));
	for (i = 0; i < 1000; i++)
		count[lb_pool_pick(&pool, 0, NULL)->index]++;
	assert_int_equal(count[4], 0);
	assert_int_equal(count[0], 300);
	assert_int_equal(count[1], 100);
	assert_int_equal(count[3], 600);
	assert_int_equal(lb_backend_set_state(&pool, &pool.backends[4],
					      LB_BACKEND_DRAINING, 0, 0), 0);
	for (i = 0; i < 100; i++)
		assert_int_not_equal(lb_pool_pick(&pool, 0, NULL)->index, 4);
	assert_int_equal(lb_backend_set_state(&pool, &pool.backends[4],
					      LB_BACKEND_UP, 0, 0), 0);
	memset(count, 0, sizeof(count));
	for (i = 0; i < 2000; i++)
		count[lb_pool_pick(&pool, 0, NULL)->index]++;
	assert_int_equal(count[4], 1000);

	/* Excluded backends are skipped (a retry). */
	{
		unsigned char ex[5] = { 0, 0, 0, 1, 1 };

		for (i = 0; i < 100; i++)
			assert_true(lb_pool_pick(&pool, 0, ex)->index < 2);
		memset(ex, 1, sizeof(ex));
		assert_null(lb_pool_pick(&pool, 0, ex));
	}
	lb_pool_fini(&pool);
}

static void
test_rr(void **state)
{
	static const unsigned w[] = { 9, 1, 1 };
	struct lb_pool pool;
	unsigned count[3] = { 0 };
	int i;

	(void)state;
	pool_make(&pool, 3, &lb_ops_rr, w);
	for (i = 0; i < 300; i++)
		count[lb_pool_pick(&pool, 0, NULL)->index]++;
	assert_int_equal(count[0], 100);	/* weights ignored */
	assert_int_equal(count[1], 100);
	assert_int_equal(count[2], 100);
	for (i = 0; i < 3; i++)
		assert_int_equal(lb_backend_set_state(&pool,
			&pool.backends[i], LB_BACKEND_DOWN, 0, 0), 0);
	assert_null(lb_pool_pick(&pool, 0, NULL));
	lb_pool_fini(&pool);
}

static void
test_wlc(void **state)
{
	static const unsigned w[] = { 1, 2, 1 };
	struct lb_pool pool;
	struct lb_backend *b;
	int i;

	(void)state;
	pool_make(&pool, 3, &lb_ops_wlc, w);
	/* 2/1 against 3/2 against 5/1: b1 has the least per weight. */
	pool.backends[0].conns = 2;
	pool.backends[1].conns = 3;
	pool.backends[2].conns = 5;
	assert_int_equal(lb_pool_pick(&pool, 0, NULL)->index, 1);
	pool.backends[1].conns = 4;	/* 2/1 == 4/2: a tie */
	b = lb_pool_pick(&pool, 0, NULL);
	assert_true(b->index == 0 || b->index == 1);
	/* Ties rotate: the next pick with the same loads takes the other. */
	assert_int_not_equal(lb_pool_pick(&pool, 0, NULL)->index, b->index);

	/* Loading from zero without closing: shares follow the weights. */
	for (i = 0; i < 3; i++)
		pool.backends[i].conns = 0;
	for (i = 0; i < 400; i++)
		lb_pool_pick(&pool, 0, NULL)->conns++;
	assert_int_equal(pool.backends[0].conns, 100);
	assert_int_equal(pool.backends[1].conns, 200);
	assert_int_equal(pool.backends[2].conns, 100);

	/* A closed connection makes that backend the next choice. */
	pool.backends[2].conns -= 10;
	assert_int_equal(lb_pool_pick(&pool, 0, NULL)->index, 2);
	/* Down and excluded backends are skipped; none left: NULL. */
	assert_int_equal(lb_backend_set_state(&pool, &pool.backends[2],
					      LB_BACKEND_DOWN, 0, 0), 0);
	assert_int_not_equal(lb_pool_pick(&pool, 0, NULL)->index, 2);
	{
		unsigned char ex[3] = { 1, 1, 0 };

		assert_null(lb_pool_pick(&pool, 0, ex));
	}
	lb_pool_fini(&pool);
}

static void
test_maglev_prime(void **state)
{
	(void)state;
	assert_int_equal(lb_maglev_prime(0), 2);
	assert_int_equal(lb_maglev_prime(2), 2);
	assert_int_equal(lb_maglev_prime(3), 3);
	assert_int_equal(lb_maglev_prime(100), 101);
	assert_int_equal(lb_maglev_prime(300), 307);
	assert_int_equal(lb_maglev_prime(1000), 1009);
	assert_int_equal(lb_maglev_prime(65537), 65537);
	assert_int_equal(lb_maglev_prime(100000), 100003);
	assert_int_equal(lb_maglev_prime(102400), 102407);
}

static uint32_t
owner_count(const struct lb_maglev *mg, int32_t b)
{
	uint32_t i, n = 0;

	for (i = 0; i < mg->m; i++)
		n += mg->table[i] == b;
	return n;
}

static void
test_maglev_balance(void **state)
{
	static const size_t sizes[] = { 1, 2, 3, 7, 10, 33, 100 };
	size_t k;

	(void)state;
	for (k = 0; k < TETHER_ARRAY_SIZE(sizes); k++) {
		struct lb_pool pool;
		const struct lb_maglev *mg;
		size_t n = sizes[k], i;

		pool_make(&pool, n, &lb_ops_maglev, NULL);
		mg = pool.state;
		/* A prime of at least 100 slots per backend. */
		assert_true(mg->m >= 100 * n);
		assert_int_equal(lb_maglev_prime(mg->m), mg->m);
		/* Taking turns, every backend owns M/N rounded down or up:
		 * within 1% of M/N as M >= 100 N. */
		for (i = 0; i < n; i++) {
			uint32_t c = owner_count(mg, (int32_t)i);

			assert_true(c == mg->m / n || c == mg->m / n + 1);
		}
		assert_int_equal(owner_count(mg, -1), 0);
		lb_pool_fini(&pool);
	}
}

/* Fraction (per million) of nkeys keys that map to a different backend
 * in b than in a. */
static unsigned
moved_ppm(struct lb_pool *a, struct lb_pool *b, unsigned nkeys)
{
	unsigned i, moved = 0;

	for (i = 0; i < nkeys; i++) {
		uint64_t key = tether_hash_u64(i + 1);

		moved += lb_pool_pick(a, key, NULL)->index !=
			 lb_pool_pick(b, key, NULL)->index;
	}
	return (unsigned)((uint64_t)moved * 1000000 / nkeys);
}

/*
 * Disruption. With N backends, one leaving must move the keys it held
 * (1/N) and ideally no others; Maglev moves a little more. Measured
 * here (200000 keys, N = 10, M = 1009): one of ten leaves -> 12.10% of
 * keys move, of which 9.95% are the keys the leaving backend held
 * (ideal: those alone, 10%); one joins nine -> 12.10% (ideal 10%).
 * The test asserts the keys of the leaving backend all move, and that
 * at most 1.5/N of all keys move.
 */
static void
test_maglev_disruption(void **state)
{
	struct lb_pool before, after;
	const unsigned nkeys = 200000, n = 10;
	unsigned ppm, i, held = 0;

	(void)state;
	pool_make(&before, n, &lb_ops_maglev, NULL);
	pool_make(&after, n, &lb_ops_maglev, NULL);

	/* Leave: b3 goes down in "after". */
	assert_int_equal(lb_backend_set_state(&after, &after.backends[3],
					      LB_BACKEND_DOWN, 0, 0), 0);
	for (i = 0; i < nkeys; i++) {
		uint64_t key = tether_hash_u64(i + 1);

		if (lb_pool_pick(&before, key, NULL)->index == 3)
			held++;
		assert_int_not_equal(lb_pool_pick(&after, key, NULL)->index,
				     3);
	}
	ppm = moved_ppm(&before, &after, nkeys);
	print_message("maglev: 1 of %u leaves: %u.%02u%% of keys move "
		      "(b3 held %u.%02u%%)\n", n, ppm / 10000,
		      ppm / 100 % 100, held * 100 / nkeys,
		      held * 10000 / nkeys % 100);
	assert_true(ppm >= held * (1000000ull / nkeys));
	assert_true(ppm <= 1500000 / n);

	/* Join: "before" has b3 down, "after" brings it up. */
	assert_int_equal(lb_backend_set_state(&before, &before.backends[3],
					      LB_BACKEND_DOWN, 0, 0), 0);
	assert_int_equal(lb_backend_set_state(&after, &after.backends[3],
					      LB_BACKEND_UP, 0, 0), 0);
	ppm = moved_ppm(&before, &after, nkeys);
	print_message("maglev: 1 joins %u: %u.%02u%% of keys move\n", n - 1,
		      ppm / 10000, ppm / 100 % 100);
	assert_true(ppm >= 1000000 / n * 8 / 10);
	assert_true(ppm <= 1500000 / n);
	lb_pool_fini(&before);
	lb_pool_fini(&after);
}

/* Two nodes with the same configuration choose alike for every key;
 * a pool whose backends have other names does not. */
static void
test_maglev_nodes_agree(void **state)
{
	struct lb_pool a, b;
	unsigned i, same = 0;

	(void)state;
	pool_make(&a, 5, &lb_ops_maglev, NULL);
	pool_make(&b, 5, &lb_ops_maglev, NULL);
	assert_memory_equal(((struct lb_maglev *)a.state)->table,
			    ((struct lb_maglev *)b.state)->table,
			    ((struct lb_maglev *)a.state)->m *
			    sizeof(int32_t));
	for (i = 0; i < 10000; i++) {
		uint64_t key = tether_hash_u64(i * 7919u + 3);

		assert_int_equal(lb_pool_pick(&a, key, NULL)->index,
				 lb_pool_pick(&b, key, NULL)->index);
	}
	/* Pinned values: a change in the hashes or the population order
	 * would split a mixed-version cluster; it must be deliberate. */
	assert_int_equal(lb_pool_pick(&a, 0, NULL)->index, 3);
	assert_int_equal(lb_pool_pick(&a, 1, NULL)->index, 0);
	assert_int_equal(lb_pool_pick(&a, 123456789, NULL)->index, 2);
	b.backends[0].name = "other";
	assert_int_equal(lb_pool_update(&b), 0);
	for (i = 0; i < 10000; i++) {
		uint64_t key = tether_hash_u64(i * 7919u + 3);

		same += lb_pool_pick(&a, key, NULL)->index ==
			lb_pool_pick(&b, key, NULL)->index;
	}
	assert_true(same < 10000);
	lb_pool_fini(&a);
	lb_pool_fini(&b);
}

/*
 * Weighted Maglev: backends of weight 1, 2, 3, 4 own about 1/10, 2/10,
 * 3/10, 4/10 of the table (asserted within 2% of M) and of the keys.
 */
static void
test_maglev_weights(void **state)
{
	static const unsigned w[] = { 1, 2, 3, 4 };
	struct lb_pool pool;
	const struct lb_maglev *mg;
	unsigned keys[4] = { 0 }, i;
	const unsigned nkeys = 100000;

	(void)state;
	pool_make(&pool, 4, &lb_ops_maglev, w);
	mg = pool.state;
	for (i = 0; i < 4; i++) {
		uint64_t want = (uint64_t)mg->m * w[i] / 10;
		uint32_t c = owner_count(mg, (int32_t)i);

		print_message("maglev weight %u: %u of %u slots (ideal %llu)\n",
			      w[i], c, mg->m, (unsigned long long)want);
		assert_true(c + mg->m / 50 >= want && c <= want + mg->m / 50);
	}
	assert_int_equal(owner_count(mg, -1), 0);
	for (i = 0; i < nkeys; i++)
		keys[lb_pool_pick(&pool, tether_hash_u64(i + 1),
				  NULL)->index]++;
	for (i = 0; i < 4; i++) {
		unsigned want = nkeys / 10 * w[i];

		assert_true(keys[i] + nkeys / 50 >= want &&
			    keys[i] <= want + nkeys / 50);
	}
	/* Weight 0 owns nothing; the others share in proportion. */
	pool.backends[0].weight = 0;
	assert_int_equal(lb_pool_update(&pool), 0);
	assert_int_equal(owner_count(mg, 0), 0);
	for (i = 1; i < 4; i++) {
		uint64_t want = (uint64_t)mg->m * w[i] / 9;
		uint32_t c = owner_count(mg, (int32_t)i);

		assert_true(c + mg->m / 50 >= want && c <= want + mg->m / 50);
	}
	lb_pool_fini(&pool);
}

/*
 * Weighted disruption: with weights 1..4 repeated over 8 backends
 * (sum 20), the leaving backend's keys all move and few others do; a
 * backend joining takes about its share. Two tables built apart from
 * the same weights are identical.
 */
static void
test_maglev_weighted_disruption(void **state)
{
	static const unsigned w[] = { 1, 2, 3, 4, 1, 2, 3, 4 };
	struct lb_pool before, after, again;
	const unsigned nkeys = 200000;
	unsigned ppm, i, held = 0;

	(void)state;
	pool_make(&before, 8, &lb_ops_maglev, w);
	pool_make(&after, 8, &lb_ops_maglev, w);
	pool_make(&again, 8, &lb_ops_maglev, w);
	assert_memory_equal(((struct lb_maglev *)before.state)->table,
			    ((struct lb_maglev *)again.state)->table,
			    ((struct lb_maglev *)before.state)->m *
			    sizeof(int32_t));
	/* b3 (weight 4 of 20: 20% of keys) leaves. */
	assert_int_equal(lb_backend_set_state(&after, &after.backends[3],
					      LB_BACKEND_DOWN, 0, 0), 0);
	for (i = 0; i < nkeys; i++) {
		uint64_t key = tether_hash_u64(i + 1);

		if (lb_pool_pick(&before, key, NULL)->index == 3)
			held++;
		assert_int_not_equal(lb_pool_pick(&after, key, NULL)->index,
				     3);
	}
	ppm = moved_ppm(&before, &after, nkeys);
	print_message("weighted maglev: b3 (w 4/20) leaves: %u.%02u%% of "
		      "keys move (b3 held %u.%02u%%)\n", ppm / 10000,
		      ppm / 100 % 100, held * 100 / nkeys,
		      held * 10000 / nkeys % 100);
	assert_true(held > nkeys / 5 - nkeys / 50 &&
		    held < nkeys / 5 + nkeys / 50);
	assert_true(ppm >= held * (1000000ull / nkeys));
	assert_true(ppm <= 1500000 / 5);
	/* b0 (weight 1 of 20: 5%) joins the others. */
	assert_int_equal(lb_backend_set_state(&after, &after.backends[3],
					      LB_BACKEND_UP, 0, 0), 0);
	assert_int_equal(lb_backend_set_state(&before, &before.backends[0],
					      LB_BACKEND_DOWN, 0, 0), 0);
	ppm = moved_ppm(&before, &after, nkeys);
	print_message("weighted maglev: b0 (w 1/20) joins: %u.%02u%% of "
		      "keys move\n", ppm / 10000, ppm / 100 % 100);
	assert_true(ppm >= 1000000 / 20 * 8 / 10);
	assert_true(ppm <= 1500000 / 20 + 10000);
	lb_pool_fini(&before);
	lb_pool_fini(&after);
	lb_pool_fini(&again);
}

/*
 * Reload generations: a backend linked to its successor hands on its
 * count; connections acquired or released on any generation count in
 * every later one; freeing a middle pool keeps the chain whole.
 */
static void
test_generations(void **state)
{
	struct lb_pool g0, g1, g2;
	struct lb_backend *a, *b, *c;

	(void)state;
	pool_make(&g0, 2, &lb_ops_wlc, NULL);
	pool_make(&g1, 2, &lb_ops_wlc, NULL);
	pool_make(&g2, 2, &lb_ops_wlc, NULL);
	a = &g0.backends[1];
	b = &g1.backends[1];
	c = &g2.backends[1];
	lb_backend_acquire(a);
	lb_backend_acquire(a);
	lb_backend_link(a, b);
	assert_int_equal(b->conns, 2);
	/* wlc on the new pool sees the old connections. */
	assert_ptr_equal(lb_pool_pick(&g1, 0, NULL), &g1.backends[0]);
	lb_backend_acquire(b);
	lb_backend_link(b, c);
	assert_int_equal(c->conns, 3);
	lb_backend_release(a);
	assert_int_equal(a->conns, 1);
	assert_int_equal(b->conns, 2);
	assert_int_equal(c->conns, 2);
	/* The middle generation goes first: a now hands on to c. */
	lb_backend_release(b);
	lb_pool_fini(&g1);
	assert_ptr_equal(a->next_gen, c);
	assert_ptr_equal(c->prev_gen, a);
	lb_backend_release(a);
	assert_int_equal(c->conns, 0);
	lb_pool_fini(&g2);
	assert_null(a->next_gen);
	lb_backend_acquire(a);
	assert_int_equal(a->conns, 1);
	lb_pool_fini(&g0);
}

/*
 * lb_backend_newest: a backend's latest generation and the service
 * whose pool holds it, walking the two chains together; a backend the
 * next configuration dropped stays where it was; freeing a middle
 * generation keeps the walk whole.
 */
static void
test_newest(void **state)
{
	struct lb_service s0, s1, s2, *svc;
	struct lb_backend *a0, *a1, *a2, *d0, *d1;

	(void)state;
	memset(&s0, 0, sizeof(s0));
	memset(&s1, 0, sizeof(s1));
	memset(&s2, 0, sizeof(s2));
	pool_make(&s0.pool, 2, &lb_ops_wrr, NULL);
	pool_make(&s1.pool, 2, &lb_ops_wrr, NULL);
	pool_make(&s2.pool, 1, &lb_ops_wrr, NULL);
	a0 = &s0.pool.backends[0];
	a1 = &s1.pool.backends[0];
	a2 = &s2.pool.backends[0];
	d0 = &s0.pool.backends[1];
	d1 = &s1.pool.backends[1];
	lb_service_link(&s0, &s1);
	lb_backend_link(a0, a1);
	lb_backend_link(d0, d1);
	lb_service_link(&s1, &s2);
	lb_backend_link(a1, a2);	/* d is not in s2 */
	svc = &s0;
	assert_ptr_equal(lb_backend_newest(a0, &svc), a2);
	assert_ptr_equal(svc, &s2);
	svc = &s0;
	assert_ptr_equal(lb_backend_newest(d0, &svc), d1);
	assert_ptr_equal(svc, &s1);
	svc = &s2;
	assert_ptr_equal(lb_backend_newest(a2, &svc), a2);
	assert_ptr_equal(svc, &s2);
	/* s1 freed first, as a proxy freed after its last connection. */
	lb_service_unlink(&s1);
	lb_pool_fini(&s1.pool);
	svc = &s0;
	assert_ptr_equal(lb_backend_newest(a0, &svc), a2);
	assert_ptr_equal(svc, &s2);
	svc = &s0;
	assert_ptr_equal(lb_backend_newest(d0, &svc), d0);
	assert_ptr_equal(svc, &s0);
	lb_pool_fini(&s0.pool);
	lb_pool_fini(&s2.pool);
}

static void
test_maglev_retry_and_empty(void **state)
{
	struct lb_pool pool;
	unsigned char ex[4] = { 0 };
	struct lb_backend *first, *second;
	unsigned i;

	(void)state;
	pool_make(&pool, 4, &lb_ops_maglev, NULL);
	for (i = 0; i < 1000; i++) {
		uint64_t key = tether_hash_u64(i + 99);

		first = lb_pool_pick(&pool, key, NULL);
		memset(ex, 0, sizeof(ex));
		ex[first->index] = 1;
		second = lb_pool_pick(&pool, key, ex);
		assert_non_null(second);
		assert_int_not_equal(second->index, first->index);
		/* The same retry on the same key gives the same answer. */
		assert_ptr_equal(lb_pool_pick(&pool, key, ex), second);
	}
	memset(ex, 1, sizeof(ex));
	assert_null(lb_pool_pick(&pool, 5, ex));
	/* Weight 0 is never picked. */
	pool.backends[1].weight = 0;
	assert_int_equal(lb_pool_update(&pool), 0);
	assert_int_equal(owner_count(pool.state, 1), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(lb_backend_set_state(&pool,
			&pool.backends[i], LB_BACKEND_DOWN, 0, 0), 0);
	assert_null(lb_pool_pick(&pool, 5, NULL));
	lb_pool_fini(&pool);
}

static void
test_maglev_alloc_failure(void **state)
{
	struct lb_pool pool;
	const int32_t *old;
	unsigned long n;

	(void)state;
	for (n = 1;; n++) {
		int err;

		tether_alloc_fail_at(n, 0);
		err = lb_pool_init(&pool, 3, &lb_ops_maglev);
		if (err == 0) {
			pool.backends[0].name = "x";
			pool.backends[1].name = "y";
			pool.backends[2].name = "z";
			err = lb_pool_update(&pool);
		}
		tether_alloc_fail_at(0, 0);
		if (err == 0)
			break;
		assert_tether_err(err, TETHER_ENOMEM);
		lb_pool_fini(&pool);
	}
	assert_true(n > 2);
	/* A failed rebuild keeps the old table in use. */
	old = ((struct lb_maglev *)pool.state)->table;
	tether_alloc_fail_at(1, 1);
	assert_tether_err(lb_backend_set_state(&pool, &pool.backends[0],
					       LB_BACKEND_DOWN, 0, 0),
			  TETHER_ENOMEM);
	tether_alloc_fail_at(0, 0);
	assert_ptr_equal(((struct lb_maglev *)pool.state)->table, old);
	assert_non_null(lb_pool_pick(&pool, 1, NULL));
	lb_pool_fini(&pool);
}

/* rise/fall: DOWN after fall failures in a row, UP after rise
 * successes in a row; a success or failure in between restarts the
 * count; a DRAINING backend only counts. */
static void
test_health_rise_fall(void **state)
{
	struct lb_pool pool;
	struct lb_backend *b;

	(void)state;
	pool_make(&pool, 2, &lb_ops_maglev, NULL);
	b = &pool.backends[0];
	assert_int_equal(lb_health_result(&pool, b, 0, 2, 3, 0), 0);
	assert_int_equal(lb_health_result(&pool, b, 0, 2, 3, 0), 0);
	assert_int_equal(lb_health_result(&pool, b, 1, 2, 3, 0), 0);
	assert_int_equal(lb_health_result(&pool, b, 0, 2, 3, 0), 0);
	assert_int_equal(lb_health_result(&pool, b, 0, 2, 3, 0), 0);
	assert_int_equal(b->state, LB_BACKEND_UP);
	assert_int_equal(lb_health_result(&pool, b, 0, 2, 3, 0), 1);
	assert_int_equal(b->state, LB_BACKEND_DOWN);
	/* The pool heard of it: Maglev no longer maps anything to b0. */
	assert_int_equal(owner_count(pool.state, 0), 0);
	assert_int_equal(lb_health_result(&pool, b, 0, 2, 3, 0), 0);
	assert_int_equal(lb_health_result(&pool, b, 1, 2, 3, 0), 0);
	assert_int_equal(lb_health_result(&pool, b, 0, 2, 3, 0), 0);
	assert_int_equal(lb_health_result(&pool, b, 1, 2, 3, 0), 0);
	assert_int_equal(b->state, LB_BACKEND_DOWN);
	assert_int_equal(lb_health_result(&pool, b, 1, 2, 3, 0), 1);
	assert_int_equal(b->state, LB_BACKEND_UP);
	assert_true(owner_count(pool.state, 0) > 0);
	assert_int_equal(lb_health_result(&pool, b, 1, 2, 3, 0), 0);
	/* fall 1, rise 1: every result flips. */
	assert_int_equal(lb_health_result(&pool, b, 0, 1, 1, 0), 1);
	assert_int_equal(lb_health_result(&pool, b, 1, 1, 1, 0), 1);
	/* Admin and health combine: disabled stays DOWN whatever the
	 * checks say; a draining backend that fails goes DOWN (its pinned
	 * clients must move) and comes back DRAINING, deadline kept. */
	assert_int_equal(lb_backend_admin(&pool, b, LB_ADMIN_DISABLED, 0, 0),
			 0);
	assert_int_equal(b->state, LB_BACKEND_DOWN);
	assert_int_equal(lb_health_result(&pool, b, 1, 1, 1, 0), 0);
	assert_int_equal(b->state, LB_BACKEND_DOWN);
	assert_int_equal(lb_backend_admin(&pool, b, LB_ADMIN_DRAINING, 100,
					  5000), 0);
	assert_int_equal(b->state, LB_BACKEND_DRAINING);
	assert_int_equal(b->drain_deadline, 5100);
	assert_int_equal(lb_health_result(&pool, b, 0, 1, 1, 200), 1);
	assert_int_equal(b->state, LB_BACKEND_DOWN);
	assert_int_equal(lb_health_result(&pool, b, 1, 1, 1, 300), 1);
	assert_int_equal(b->state, LB_BACKEND_DRAINING);
	assert_int_equal(b->drain_deadline, 5100);
	assert_int_equal(lb_backend_admin(&pool, b, LB_ADMIN_ENABLED, 400, 0),
			 0);
	assert_int_equal(b->state, LB_BACKEND_UP);
	assert_int_equal(b->drain_deadline, 0);
	/* Health down while enabled, then enabled again: still DOWN. */
	assert_int_equal(lb_health_result(&pool, b, 0, 1, 1, 500), 1);
	assert_int_equal(lb_backend_admin(&pool, b, LB_ADMIN_ENABLED, 600, 0),
			 0);
	assert_int_equal(b->state, LB_BACKEND_DOWN);
	/* Drained while the checks hold it down: the deadline is the
	 * drain's all the same, so it is DRAINING until then once it is
	 * back, and keeps no pinned client after. */
	assert_int_equal(lb_backend_admin(&pool, b, LB_ADMIN_DRAINING, 1000,
					  5000), 0);
	assert_int_equal(b->state, LB_BACKEND_DOWN);
	assert_int_equal(b->drain_deadline, 6000);
	assert_int_equal(lb_health_result(&pool, b, 1, 1, 1, 2000), 1);
	assert_int_equal(b->state, LB_BACKEND_DRAINING);
	assert_int_equal(b->drain_deadline, 6000);
	assert_true(lb_backend_keeps_pinned(b, 5999));
	assert_false(lb_backend_keeps_pinned(b, 6000));
	/* Drained with no deadline while down: none is left over. */
	assert_int_equal(lb_health_result(&pool, b, 0, 1, 1, 3000), 1);
	assert_int_equal(lb_backend_admin(&pool, b, LB_ADMIN_DRAINING, 3000,
					  0), 0);
	assert_int_equal(b->drain_deadline, 0);
	assert_int_equal(lb_health_result(&pool, b, 1, 1, 1, 4000), 1);
	assert_int_equal(b->state, LB_BACKEND_DRAINING);
	assert_true(lb_backend_keeps_pinned(b, 7000));
	assert_string_equal(lb_admin_name(LB_ADMIN_DRAINING), "draining");
	assert_string_equal(lb_admin_name(LB_ADMIN_MAX), "unknown");
	lb_pool_fini(&pool);
}

/* Slow start: a backend back UP gets a weight growing from 1 to its
 * own over slowstart_ms (WRR and WLC); backends UP from the start do
 * not ramp. */
static void
test_slowstart(void **state)
{
	static const unsigned w[] = { 10, 10 };
	struct lb_pool pool;
	unsigned count[2];
	int i;

	(void)state;
	pool_make(&pool, 2, &lb_ops_wrr, w);
	pool.slowstart_ms = 10000;
	pool.now = 500;
	memset(count, 0, sizeof(count));
	for (i = 0; i < 200; i++)
		count[lb_pool_pick(&pool, 0, NULL)->index]++;
	assert_int_equal(count[1], 100);	/* no ramp from the start */
	assert_int_equal(lb_backend_set_state(&pool, &pool.backends[1],
					      LB_BACKEND_DOWN, 1000, 0), 0);
	assert_int_equal(lb_backend_set_state(&pool, &pool.backends[1],
					      LB_BACKEND_UP, 2000, 0), 0);
	assert_int_equal(pool.backends[1].up_since, 2000);
	/* 10% in: weight 1 against 10, over whole rounds of 11. */
	pool.now = 3000;
	memset(count, 0, sizeof(count));
	for (i = 0; i < 110; i++)
		count[lb_pool_pick(&pool, 0, NULL)->index]++;
	assert_in_range(count[1], 9, 11);
	/* 50% in: 5 against 10. */
	pool.now = 7000;
	memset(count, 0, sizeof(count));
	for (i = 0; i < 150; i++)
		count[lb_pool_pick(&pool, 0, NULL)->index]++;
	assert_in_range(count[1], 49, 51);
	/* Done: equal shares. */
	pool.now = 12000;
	memset(count, 0, sizeof(count));
	for (i = 0; i < 200; i++)
		count[lb_pool_pick(&pool, 0, NULL)->index]++;
	assert_in_range(count[1], 99, 101);
	/* Enabled after a drain: it ramps again (tether-lb.conf(5)). */
	assert_int_equal(lb_backend_admin(&pool, &pool.backends[1],
					  LB_ADMIN_DRAINING, 13000, 0), 0);
	assert_int_equal(lb_backend_admin(&pool, &pool.backends[1],
					  LB_ADMIN_ENABLED, 14000, 0), 0);
	assert_int_equal(pool.backends[1].up_since, 14000);
	pool.now = 15000;
	memset(count, 0, sizeof(count));
	for (i = 0; i < 110; i++)
		count[lb_pool_pick(&pool, 0, NULL)->index]++;
	assert_in_range(count[1], 9, 11);
	lb_pool_fini(&pool);

	/* WLC: 10% in, b1 with 0 connections against b0 with 3: b1 is
	 * "full" at 1 connection per unit of weight 1, b0 at 3/10. */
	pool_make(&pool, 2, &lb_ops_wlc, w);
	pool.slowstart_ms = 10000;
	lb_backend_set_state(&pool, &pool.backends[1], LB_BACKEND_DOWN, 1, 0);
	lb_backend_set_state(&pool, &pool.backends[1], LB_BACKEND_UP, 1000, 0);
	pool.now = 2000;
	pool.backends[0].conns = 3;
	pool.backends[1].conns = 1;
	assert_int_equal(lb_pool_pick(&pool, 0, NULL)->index, 0);
	pool.now = 20000;	/* ramp over: 1/10 < 3/10 */
	assert_int_equal(lb_pool_pick(&pool, 0, NULL)->index, 1);
	lb_pool_fini(&pool);
}

static void
test_pool_args(void **state)
{
	struct lb_pool pool;

	(void)state;
	assert_tether_err(lb_pool_init(&pool, 0, &lb_ops_wrr), TETHER_EINVAL);
	assert_tether_err(lb_pool_init(&pool, LB_MAX_BACKENDS + 1,
				       &lb_ops_wrr), TETHER_EINVAL);
	assert_tether_err(lb_pool_init(&pool, 1, NULL), TETHER_EINVAL);
	lb_pool_fini(&pool);
	assert_ptr_equal(lb_ops_for(LB_BALANCE_RR), &lb_ops_rr);
	assert_ptr_equal(lb_ops_for(LB_BALANCE_WRR), &lb_ops_wrr);
	assert_ptr_equal(lb_ops_for(LB_BALANCE_WLC), &lb_ops_wlc);
	assert_ptr_equal(lb_ops_for(LB_BALANCE_MAGLEV), &lb_ops_maglev);
	assert_ptr_equal(lb_check_ops_for(LB_CHECK_TCP), &lb_check_ops_tcp);
	assert_string_equal(lb_check_ops_for(LB_CHECK_TCP)->name, "tcp");
	assert_null(lb_check_ops_for(LB_CHECK_NONE));
	assert_null(lb_check_ops_for(LB_CHECK_MAX));
	assert_null(lb_check_ops_for(-1));
	assert_null(lb_ops_for(LB_BALANCE_MAX));
	assert_string_equal(lb_backend_state_name(LB_BACKEND_DRAINING),
			    "draining");
	assert_string_equal(lb_backend_state_name(99), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrr_sequence),
		cmocka_unit_test(test_wrr_proportions),
		cmocka_unit_test(test_rr),
		cmocka_unit_test(test_wlc),
		cmocka_unit_test(test_maglev_prime),
		cmocka_unit_test(test_maglev_balance),
		cmocka_unit_test(test_maglev_disruption),
		cmocka_unit_test(test_maglev_weights),
		cmocka_unit_test(test_maglev_weighted_disruption),
		cmocka_unit_test(test_generations),
		cmocka_unit_test(test_newest),
		cmocka_unit_test(test_maglev_nodes_agree),
		cmocka_unit_test(test_maglev_retry_and_empty),
		cmocka_unit_test(test_maglev_alloc_failure),
		cmocka_unit_test(test_health_rise_fall),
		cmocka_unit_test(test_slowstart),
		cmocka_unit_test(test_pool_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
