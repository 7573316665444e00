/*
 * sched_maglev.c - Maglev consistent hashing (Eisenbud et al., "Maglev:
 * A Fast and Reliable Software Network Load Balancer", NSDI 2016, 3.4).
 *
 * Each backend gets a permutation of the M table slots from two hashes
 * of its name (offset, skip; M prime so every skip walks all slots);
 * backends take turns claiming their next free preferred slot until the
 * table is full. A client's key picks slot key % M. With equal weights
 * every backend ends with M/N or M/N + 1 slots, and when one backend
 * leaves or joins only about 1/N of the slots change hands
 * (tests/unit/test_lbsched.c measures it). The hashes use fixed seeds
 * and M depends only on the configured backend count (not on how many
 * are up), so tether-lb nodes with the same configuration and the same
 * view of health build the same table and send a client to the same
 * backend without talking.
 *
 * Weights: the turns are weighted (as in Envoy's and Cilium's Maglev).
 * Round r (1, 2, ...) lets backend i claim slots while it holds fewer
 * than r * w_i / w_max, so the heaviest usable backend claims one slot
 * every round and each backend ends with about w_i / sum(w) of M (the
 * unit test checks 1:2:3:4 within 2% of M). With equal weights this is
 * the paper's algorithm exactly. Weight 0 is never picked. The build
 * does not walk every backend in every round: each usable backend's
 * next round is computed, and a list and a heap give the backends due
 * in a round in index order (maglev_build), for the same table.
 *
 * Slow start: a backend back UP would otherwise take its whole share
 * of keys at once. Each build weighs the backends at pool->now with
 * lb_backend_ramp_weight in 1/256 steps of a weight, so the returning
 * one starts at 1 and grows; while one ramps, pick rebuilds the table
 * once the previous build is max(slowstart / 16, 100 ms) old, and also
 * at the moment a ramp ends. Once no backend ramps the weights are the
 * configured ones times 256, which claims exactly the slots of the
 * plain weights (claimed * wmax >= round * w is the same comparison),
 * so nodes that agree on health agree on every key again. Rebuilds
 * never touch the persistence table: pinned clients stay where they
 * are. A build is M turns of O(1), at worst O(log K) for K usable
 * backends, plus the slot probes (O(M log M) expected, M with one
 * backend up); the rebuild rate bounds what slow start adds
 * (docs/internals/lb.md).
 */
#include "lb.h"

#include <string.h>

/* Table size per configured backend (the paper suggests M >> N; 100
 * keeps each backend's share within 1% of M/N). */
#define MAGLEV_FACTOR 100u

/* Slow start: weights in 1/256ths; at most 16 ramp rebuilds per slow
 * start, at least 100 ms apart (a ramp's end aside); a failed build is
 * tried again 100 ms later. */
#define MAGLEV_RAMP_SCALE	256u
#define MAGLEV_RAMP_STEPS	16u
#define MAGLEV_REBUILD_MIN_MS	100u

uint32_t
lb_maglev_prime(uint32_t n)
{
	uint32_t c, d;

	if (n <= 2)
		return 2;
	for (c = n | 1u;; c += 2) {
		int prime = 1;

		for (d = 3; (uint64_t)d * d <= c; d += 2)
			if (c % d == 0) {
				prime = 0;
				break;
			}
		if (prime)
			return c;
	}
}

static int
maglev_init(struct lb_pool *pool)
{
	struct lb_maglev *mg;

	mg = tether_calloc(1, sizeof(*mg));
	if (mg == NULL)
		return -TETHER_ENOMEM;
	mg->m = lb_maglev_prime((uint32_t)pool->n * MAGLEV_FACTOR);
	pool->state = mg;
	return 0;
}

static void
maglev_fini(struct lb_pool *pool)
{
	struct lb_maglev *mg = pool->state;

	if (mg == NULL)
		return;
	tether_free(mg->table);
	tether_free(mg->offset);
	tether_free(mg->skip);
	tether_free(mg->next);
	tether_free(mg->claimed);
	tether_free(mg->weight);
	tether_free(mg->runs);
	tether_free(mg->heap);
	tether_free(mg);
	pool->state = NULL;
}

/* When a ramping pool rebuilds next: one step after now, or when the
 * first ramp ends if that is sooner (0: nothing ramps). */
static uint64_t
next_rebuild(const struct lb_pool *pool, uint64_t ramp_end)
{
	uint64_t step = pool->slowstart_ms / MAGLEV_RAMP_STEPS;

	if (ramp_end == 0)
		return 0;
	if (step < MAGLEV_REBUILD_MIN_MS)
		step = MAGLEV_REBUILD_MIN_MS;
	return pool->now + step < ramp_end ? pool->now + step : ramp_end;
}

/* a's turn comes before b's: an earlier round, or the same round and
 * a lower index (the order the rounds walked the backends in). */
static int
turn_before(const struct lb_maglev_turn *a, const struct lb_maglev_turn *b)
{
	return a->round < b->round ||
	       (a->round == b->round && a->backend < b->backend);
}

/* Put t at the root of heap (k entries, the root's old entry gone) and
 * move it down to its place. */
static void
heap_down(struct lb_maglev *mg, struct lb_maglev_turn *heap, uint32_t k,
	  struct lb_maglev_turn t)
{
	uint32_t i = 0, c;

	while ((c = 2 * i + 1) < k) {
		if (c + 1 < k && turn_before(&heap[c + 1], &heap[c]))
			c++;
		if (!turn_before(&heap[c], &t))
			break;
		heap[i] = heap[c];
		i = c;
		mg->sifts++;
	}
	heap[i] = t;
}

/* Add t to heap (k entries before). */
static void
heap_up(struct lb_maglev *mg, struct lb_maglev_turn *heap, uint32_t k,
	struct lb_maglev_turn t)
{
	uint32_t i = k;

	while (i > 0 && turn_before(&t, &heap[(i - 1) / 2])) {
		heap[i] = heap[(i - 1) / 2];
		i = (i - 1) / 2;
		mg->sifts++;
	}
	heap[i] = t;
}

/*
 * Build a fresh table from the usable backends weighed at pool->now;
 * the old one is replaced only when the new one is complete.
 *
 * The weighted rounds, without walking every backend in every round:
 * backend i claims in round r while claimed * wmax < r * w, and it
 * always can (a free slot remains in its permutation while the table
 * is not full), so its claim number k (from 0) falls in round
 * k * wmax / w + 1 (rounded down) whatever the others do, and the
 * rounds made the claims in the order of (that round, index). The
 * backends due in the next round (the heaviest ones, or all of them
 * with equal weights) go on a list that stays in index order as they
 * are appended; those due later wait in a min-heap keyed by (round,
 * index). A round merges its list with the heap's entries of that
 * round. So a build is M turns of O(1), or O(log K) for a backend that
 * skips rounds, with K usable backends (the rounds were up to M, each
 * walking all N), and the table is the one the rounds built.
 */
static int
maglev_build(struct lb_pool *pool)
{
	struct lb_maglev *mg = pool->state;
	uint32_t m = mg->m, filled = 0, runlen = 0, hlen = 0, i;
	int32_t *table;
	uint32_t *offset = mg->offset, *skip = mg->skip, *next = mg->next;
	uint32_t *claimed = mg->claimed, *runs = mg->runs, *run, *nrun;
	uint64_t *weight = mg->weight;
	struct lb_maglev_turn *heap = mg->heap;
	uint64_t round = 1, wmax = 0, ramp_end = 0;

	table = tether_reallocarray(NULL, m, sizeof(*table));
	if (offset == NULL)
		offset = tether_reallocarray(NULL, pool->n, sizeof(*offset));
	if (skip == NULL)
		skip = tether_reallocarray(NULL, pool->n, sizeof(*skip));
	if (next == NULL)
		next = tether_reallocarray(NULL, pool->n, sizeof(*next));
	if (claimed == NULL)
		claimed = tether_reallocarray(NULL, pool->n,
					      sizeof(*claimed));
	if (weight == NULL)
		weight = tether_reallocarray(NULL, pool->n, sizeof(*weight));
	if (runs == NULL)
		runs = tether_reallocarray(NULL, pool->n, 2 * sizeof(*runs));
	if (heap == NULL)
		heap = tether_reallocarray(NULL, pool->n, sizeof(*heap));
	/* Keep what was allocated for the next try, whatever happens. */
	mg->offset = offset;
	mg->skip = skip;
	mg->next = next;
	mg->claimed = claimed;
	mg->weight = weight;
	mg->runs = runs;
	mg->heap = heap;
	if (table == NULL || offset == NULL || skip == NULL || next == NULL ||
	    claimed == NULL || weight == NULL || runs == NULL ||
	    heap == NULL) {
		tether_free(table);
		return -TETHER_ENOMEM;
	}
	run = runs;
	nrun = runs + pool->n;
	for (i = 0; i < m; i++)
		table[i] = -1;
	for (i = 0; i < pool->n; i++) {
		const struct lb_backend *b = &pool->backends[i];
		size_t len;
		uint64_t end;

		if (!lb_backend_usable(b))
			continue;
		len = strlen(b->name);
		offset[i] = (uint32_t)(tether_hash_fast(b->name, len,
				LB_MAGLEV_SEED_OFFSET) % m);
		skip[i] = (uint32_t)(tether_hash_fast(b->name, len,
				LB_MAGLEV_SEED_SKIP) % (m - 1)) + 1;
		next[i] = 0;
		claimed[i] = 0;
		/* At most LB_MAX_WEIGHT * 256: the products below fit. */
		weight[i] = lb_backend_ramp_weight(pool, b, MAGLEV_RAMP_SCALE,
						   &end);
		if (end != 0 && (ramp_end == 0 || end < ramp_end))
			ramp_end = end;
		if (weight[i] > wmax)
			wmax = weight[i];
		/* Everyone's first claim is in round 1. */
		run[runlen++] = i;
	}
	mg->turns = mg->sifts = mg->probes = 0;
	/* The heaviest backend is due in every round, so the next round's
	 * list is never empty; each turn claims a slot, so m turns fill
	 * the table. */
	while (filled < m && runlen > 0) {
		uint32_t j = 0, nlen = 0, *t;

		for (; filled < m; filled++) {
			struct lb_maglev_turn due;
			uint32_t c;
			int from_heap;

			/* This round's next backend by index: from the list
			 * or from the heap. */
			from_heap = hlen > 0 && heap[0].round == round &&
				    (j == runlen || heap[0].backend < run[j]);
			if (from_heap)
				i = heap[0].backend;
			else if (j < runlen)
				i = run[j++];
			else
				break;
			/* Its next free preferred slot, (offset + next *
			 * skip) % m: offset[i] walks on by skip[i] instead,
			 * with no division (both < m, their sum fits).
			 * next[i] < m: a permutation has m distinct slots
			 * and a free one remains while filled < m. */
			do {
				TETHER_BUG_ON(next[i] >= m);
				c = offset[i];
				offset[i] += skip[i];
				if (offset[i] >= m)
					offset[i] -= m;
				next[i]++;
			} while (table[c] >= 0);
			table[c] = (int32_t)i;
			claimed[i]++;
			/* Due next round (the rounds' test, no division)? */
			if ((uint64_t)claimed[i] * wmax <
			    (round + 1) * weight[i]) {
				nrun[nlen++] = i;
				if (from_heap && --hlen > 0)
					heap_down(mg, heap, hlen, heap[hlen]);
				continue;
			}
			/* Else in the first round r with claimed * wmax <
			 * r * w, a later one. */
			due.round = (uint64_t)claimed[i] * wmax / weight[i] + 1;
			due.backend = i;
			TETHER_BUG_ON(due.round <= round + 1);
			if (from_heap)
				heap_down(mg, heap, hlen, due);
			else
				heap_up(mg, heap, hlen++, due);
		}
		t = run;
		run = nrun;
		nrun = t;
		runlen = nlen;
		round++;
	}
	mg->turns = filled;
	for (i = 0; i < pool->n; i++)
		if (lb_backend_usable(&pool->backends[i]))
			mg->probes += next[i];
	tether_free(mg->table);
	mg->table = table;
	mg->builds++;
	mg->rebuild_at = next_rebuild(pool, ramp_end);
	return 0;
}

static int
maglev_update(struct lb_pool *pool)
{
	struct lb_maglev *mg = pool->state;
	int err;

	err = maglev_build(pool);
	/* The old table stays in use; pick tries again a little later. */
	if (err < 0)
		mg->rebuild_at = pool->now + MAGLEV_REBUILD_MIN_MS;
	return err;
}

static struct lb_backend *
maglev_pick(struct lb_pool *pool, uint64_t key, const unsigned char *excluded)
{
	struct lb_maglev *mg = pool->state;
	uint32_t slot, k;

	/* Slow start's next step, or a retry of a failed build. */
	if (mg->rebuild_at != 0 && pool->now >= mg->rebuild_at)
		(void)maglev_update(pool);
	if (mg->table == NULL)
		return NULL;
	slot = (uint32_t)(key % mg->m);
	/* A retry walks on to the next slot held by another backend, which
	 * every node does alike too. */
	for (k = 0; k < mg->m; k++) {
		int32_t b = mg->table[(slot + k) % mg->m];

		if (b < 0)
			return NULL;	/* empty table: nothing usable */
		if (lb_backend_usable(&pool->backends[b]) &&
		    (excluded == NULL || !excluded[b]))
			return &pool->backends[b];
	}
	return NULL;
}

uint64_t
lb_pool_table_builds(const struct lb_pool *pool)
{
	const struct lb_maglev *mg = pool->state;

	if (pool->ops != &lb_ops_maglev || mg == NULL)
		return 0;
	return mg->builds;
}

const struct lb_ops lb_ops_maglev = {
	.name = "maglev",
	.init = maglev_init,
	.fini = maglev_fini,
	.update = maglev_update,
	.pick = maglev_pick,
};
