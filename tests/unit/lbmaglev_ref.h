/*
 * lbmaglev_ref.h - the reference for Maglev's table: the round-by-round
 * build sched_maglev.c had up to 2026-12-07, kept as it was, which
 * test_lbmaglev.c holds every new table to and bench/lb-maglev times
 * against the current build.
 */
#ifndef LBMAGLEV_REF_H
#define LBMAGLEV_REF_H

#include <stdlib.h>
#include <string.h>

#include "lb.h"

/* As in sched_maglev.c. */
#define LBMAGLEV_REF_RAMP_SCALE	256u

/*
 * Rounds r = 1, 2, ..., each walking every configured backend in index
 * order; a usable one claims its next free preferred slot while
 * claimed * wmax < r * w. Returns a table of m slots (malloc, -1:
 * empty; NULL without memory). If visits is not NULL it gets the
 * backends the rounds looked at.
 */
static inline int32_t *
lbmaglev_ref_build(const struct lb_pool *pool, uint32_t m,
		   uint64_t *visits /* OUT */)
{
	size_t n = pool->n, i;
	int32_t *table = malloc(m * sizeof(*table));
	uint32_t *offset = calloc(n, sizeof(*offset));
	uint32_t *skip = calloc(n, sizeof(*skip));
	uint32_t *next = calloc(n, sizeof(*next));
	uint32_t *claimed = calloc(n, sizeof(*claimed));
	uint64_t *weight = calloc(n, sizeof(*weight));
	uint64_t round = 0, wmax = 0, seen = 0;
	uint32_t filled = 0, s;

	if (table == NULL || offset == NULL || skip == NULL ||
	    next == NULL || claimed == NULL || weight == NULL) {
		free(table);
		table = NULL;
		goto out;
	}
	for (s = 0; s < m; s++)
		table[s] = -1;
	for (i = 0; i < n; i++) {
		const struct lb_backend *b = &pool->backends[i];
		size_t len = strlen(b->name);

		offset[i] = (uint32_t)(tether_hash_fast(b->name, len,
				LB_MAGLEV_SEED_OFFSET) % m);
		skip[i] = (uint32_t)(tether_hash_fast(b->name, len,
				LB_MAGLEV_SEED_SKIP) % (m - 1)) + 1;
		if (!lb_backend_usable(b))
			continue;
		weight[i] = lb_backend_ramp_weight(pool, b,
				LBMAGLEV_REF_RAMP_SCALE, NULL);
		if (weight[i] > wmax)
			wmax = weight[i];
	}
	while (wmax > 0 && filled < m) {
		round++;
		for (i = 0; i < n && filled < m; i++) {
			uint32_t c;

			seen++;
			if (weight[i] == 0)
				continue;
			if ((uint64_t)claimed[i] * wmax >= round * weight[i])
				continue;
			do {
				TETHER_BUG_ON(next[i] >= m);
				c = (uint32_t)((offset[i] +
					(uint64_t)next[i] * skip[i]) % m);
				next[i]++;
			} while (table[c] >= 0);
			table[c] = (int32_t)i;
			claimed[i]++;
			filled++;
		}
	}
out:
	if (visits != NULL)
		*visits = seen;
	free(offset);
	free(skip);
	free(next);
	free(claimed);
	free(weight);
	return table;
}

#endif
