/*
 * test_lbslowstart.c - slow start under Maglev: a backend back UP owns
 * a share of the table that grows step by step from about 1 / (sum of
 * weights) to its own, the rebuilds keep to their rate, persistence
 * pins survive them, and the table after the ramp is the stable one.
 */
#include "tether_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"

#define NB	10		/* backends */
#define W	10		/* weight of each */
#define RET	3		/* the one that goes DOWN and comes back */

static char names[NB][24];

static void
pool_make(struct lb_pool *pool, uint64_t slowstart_ms, uint64_t now)
{
	size_t i;

	assert_int_equal(lb_pool_init(pool, NB, &lb_ops_maglev), 0);
	for (i = 0; i < NB; i++) {
		snprintf(names[i], sizeof(names[i]), "be%zu", i);
		pool->backends[i].name = names[i];
		pool->backends[i].weight = W;
	}
	pool->slowstart_ms = slowstart_ms;
	pool->now = now;
	assert_int_equal(lb_pool_update(pool), 0);
}

static struct lb_maglev *
mg_of(struct lb_pool *pool)
{
	return pool->state;
}

static uint32_t
slots_of(struct lb_pool *pool, unsigned b)
{
	const struct lb_maglev *mg = mg_of(pool);
	uint32_t i, n = 0;

	for (i = 0; i < mg->m; i++)
		n += mg->table[i] == (int32_t)b;
	return n;
}

/* A copy of the table, to compare with later ones. */
static int32_t *
table_copy(struct lb_pool *pool)
{
	const struct lb_maglev *mg = mg_of(pool);
	int32_t *t = malloc(mg->m * sizeof(*t));

	assert_non_null(t);
	memcpy(t, mg->table, mg->m * sizeof(*t));
	return t;
}

static void
bounce(struct lb_pool *pool, uint64_t down, uint64_t up)
{
	assert_int_equal(lb_backend_set_state(pool, &pool->backends[RET],
					      LB_BACKEND_DOWN, down, 0), 0);
	assert_int_equal(slots_of(pool, RET), 0);
	assert_int_equal(lb_backend_set_state(pool, &pool->backends[RET],
					      LB_BACKEND_UP, up, 0), 0);
}

/* Ask the pool for a key at time now (which may rebuild the table). */
static void
pick_at(struct lb_pool *pool, uint64_t now)
{
	pool->now = now;
	assert_non_null(lb_pool_pick(pool, now * 7919u, NULL));
}

/*
 * DOWN -> UP with slowstart 16 s: the returning backend starts with
 * about 1/91 of the slots (weight 1 against 9 x 10), gains share at
 * every step (one rebuild a second), matches w(t) / (90 + w(t)) along
 * the way, and once the ramp is over the table is bit for bit the one
 * it had before it left, and the one a fresh node builds.
 */
static void
test_ramp_share(void **state)
{
	struct lb_pool pool, other;
	int32_t *stable;
	uint32_t m, prev, now_slots, full;
	uint64_t t, builds;
	int steps = 0;

	(void)state;
	pool_make(&pool, 16000, 500);
	m = mg_of(&pool)->m;
	stable = table_copy(&pool);
	full = slots_of(&pool, RET);
	assert_in_range(full, m / NB - m / 100, m / NB + m / 100);
	assert_int_equal(mg_of(&pool)->rebuild_at, 0);	/* no ramp at start */

	bounce(&pool, 1000, 2000);
	prev = slots_of(&pool, RET);
	/* Weight 1 of 91: about 1.1% of the slots, far from its 10%. */
	assert_in_range(prev, m / 91 - m / 200, m / 91 + m / 200);
	assert_true(prev * 5 < full);
	assert_int_equal(mg_of(&pool)->rebuild_at, 3000);

	for (t = 2000; t <= 18000; t += 250) {
		double w, want;

		builds = mg_of(&pool)->builds;
		pick_at(&pool, t);
		now_slots = slots_of(&pool, RET);
		/* One rebuild at each whole second, none between. */
		if (t % 1000 == 0 && t > 2000) {
			assert_int_equal(mg_of(&pool)->builds, builds + 1);
			steps++;
		} else {
			assert_int_equal(mg_of(&pool)->builds, builds);
		}
		/* Never loses share while it ramps. */
		assert_true(now_slots >= prev);
		/* The share of the weight at the last build. */
		w = (double)W * (double)(t / 1000 * 1000 - 2000) / 16000.0;
		if (w < 1.0)
			w = 1.0;
		want = (double)m * w / (90.0 + w);
		assert_true(now_slots >= want - m / 100.0 - 1 &&
			    now_slots <= want + m / 100.0 + 1);
		if (t % 1000 == 0)
			fprintf(stderr, "%s%u", t == 2000 ? "ramp: slots of "
				"the returning backend, one a second: " : " ",
				now_slots);
		prev = now_slots;
	}
	fprintf(stderr, " (of %u; stable %u)\n", m, full);
	assert_int_equal(steps, 16);
	assert_int_equal(mg_of(&pool)->rebuild_at, 0);
	assert_int_equal(prev, full);
	/* The stable table: as before the bounce, as on a fresh node. */
	assert_memory_equal(mg_of(&pool)->table, stable, m * sizeof(*stable));
	pool_make(&other, 16000, 0);
	assert_memory_equal(mg_of(&pool)->table, mg_of(&other)->table,
			    m * sizeof(*stable));
	/* No more rebuilds once stable. */
	builds = mg_of(&pool)->builds;
	pick_at(&pool, 60000);
	assert_int_equal(mg_of(&pool)->builds, builds);
	lb_pool_fini(&other);
	lb_pool_fini(&pool);
	free(stable);
}

/*
 * The rebuild rate: at most one per max(slowstart / 16, 100 ms) however
 * often clients come, and one exactly when the ramp ends (slowstart
 * 800 ms: steps of 100 ms, 8 rebuilds after the one of the UP).
 */
static void
test_ramp_rate(void **state)
{
	struct lb_pool pool;
	uint64_t t, builds, last = 0;

	(void)state;
	pool_make(&pool, 800, 1);
	bounce(&pool, 10, 1000);
	builds = mg_of(&pool)->builds;
	for (t = 1000; t <= 3000; t++) {
		uint64_t b = mg_of(&pool)->builds;

		pick_at(&pool, t);
		if (mg_of(&pool)->builds != b) {
			assert_true(t - (last ? last : 1000) >= 100);
			last = t;
		}
	}
	assert_int_equal(mg_of(&pool)->builds - builds, 8);
	assert_int_equal(last, 1800);		/* the end of the ramp */
	lb_pool_fini(&pool);

	/* Two backends ramping, from 1000 and 1050: steps of 100 ms from
	 * the last build, plus one at the first ramp's end (1800), the
	 * last one at the second's (1850). */
	pool_make(&pool, 800, 1);
	bounce(&pool, 10, 1000);
	lb_backend_set_state(&pool, &pool.backends[0], LB_BACKEND_DOWN, 1010,
			     0);
	lb_backend_set_state(&pool, &pool.backends[0], LB_BACKEND_UP, 1050,
			     0);
	builds = mg_of(&pool)->builds;
	last = 0;
	for (t = 1050; t <= 3000; t++) {
		uint64_t b = mg_of(&pool)->builds;

		pick_at(&pool, t);
		if (mg_of(&pool)->builds != b)
			last = t;
	}
	assert_int_equal(last, 1850);
	assert_int_equal(mg_of(&pool)->builds - builds, 9);
	assert_int_equal(mg_of(&pool)->rebuild_at, 0);
	lb_pool_fini(&pool);

	/* Weight 1 has nothing to ramp: no rebuild is even planned. */
	assert_int_equal(lb_pool_init(&pool, 2, &lb_ops_maglev), 0);
	pool.backends[0].name = "x";
	pool.backends[1].name = "y";
	pool.slowstart_ms = 10000;
	assert_int_equal(lb_pool_update(&pool), 0);
	lb_backend_set_state(&pool, &pool.backends[1], LB_BACKEND_DOWN, 1, 0);
	lb_backend_set_state(&pool, &pool.backends[1], LB_BACKEND_UP, 2, 0);
	assert_int_equal(mg_of(&pool)->rebuild_at, 0);
	lb_pool_fini(&pool);
}

/*
 * Persistence is not touched by the rebuilds: clients pinned early in
 * the ramp keep their backend after it, although the stable table would
 * send some of them to the returning backend.
 */
static void
test_ramp_keeps_pins(void **state)
{
	static const struct tether_hash_key hk = { 0x0706050403020100ULL,
						   0x0f0e0d0c0b0a0908ULL };
	struct lb_persist p;
	struct lb_pool pool;
	struct tether_addr c;
	unsigned char pinned[400];
	unsigned i, moved = 0, on_ret = 0;
	char a[32];

	(void)state;
	assert_int_equal(lb_persist_init(&p, 1024, 600000, 32, 128, &hk), 0);
	pool_make(&pool, 16000, 500);
	bounce(&pool, 1000, 2000);
	for (i = 0; i < 400; i++) {
		snprintf(a, sizeof(a), "10.1.%u.%u:1", i / 200, i % 200);
		assert_int_equal(tether_addr_parse(&c, a, -1), 0);
		pinned[i] = (unsigned char)lb_select(&pool, &p, &c,
						     2000 + i, NULL)->index;
		on_ret += pinned[i] == RET;
	}
	assert_true(on_ret < 400 / 20);		/* ~1% while at weight 1 */
	for (i = 0; i < 400; i++) {
		struct lb_backend *b;

		snprintf(a, sizeof(a), "10.1.%u.%u:1", i / 200, i % 200);
		assert_int_equal(tether_addr_parse(&c, a, -1), 0);
		b = lb_select(&pool, &p, &c, 20000 + i, NULL);
		assert_int_equal(b->index, pinned[i]);
		/* Where the stable table would send it without its pin. */
		moved += lb_select(&pool, NULL, &c, 20000 + i, NULL) != b;
	}
	assert_int_equal(mg_of(&pool)->rebuild_at, 0);
	assert_true(moved > 10);	/* the pins mattered */
	lb_persist_fini(&p);
	lb_pool_fini(&pool);
}

/* A ramp rebuild that cannot allocate keeps the old table in use and
 * is tried again 100 ms later. */
static void
test_ramp_nomem(void **state)
{
	struct lb_pool pool;
	const int32_t *old;
	uint64_t builds;

	(void)state;
	pool_make(&pool, 16000, 500);
	bounce(&pool, 1000, 2000);
	old = mg_of(&pool)->table;
	builds = mg_of(&pool)->builds;
	tether_alloc_fail_at(1, 1);
	pick_at(&pool, 3000);
	tether_alloc_fail_at(0, 0);
	assert_ptr_equal(mg_of(&pool)->table, old);
	assert_int_equal(mg_of(&pool)->builds, builds);
	assert_int_equal(mg_of(&pool)->rebuild_at, 3100);
	pick_at(&pool, 3099);
	assert_int_equal(mg_of(&pool)->builds, builds);
	pick_at(&pool, 3100);
	assert_int_equal(mg_of(&pool)->builds, builds + 1);
	assert_int_equal(mg_of(&pool)->rebuild_at, 4100);
	lb_pool_fini(&pool);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ramp_share),
		cmocka_unit_test(test_ramp_rate),
		cmocka_unit_test(test_ramp_keeps_pins),
		cmocka_unit_test(test_ramp_nomem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
