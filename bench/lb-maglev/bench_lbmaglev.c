/*
 * bench_lbmaglev.c - one Maglev table build, sched_maglev.c's against
 * the round-by-round reference (lbmaglev_ref.h), on the same pools:
 * all up with equal weights, one of weight 1000 and the rest 1, only
 * one up, a second one back, weights 10 with one ramping. Prints the
 * best and the median of several builds, and the ratio of the medians.
 * Usage: bench_lbmaglev [N...] (10 100 1024).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lb.h"
#include "lbmaglev_ref.h"

#define RUNS	9

static char names[LB_MAX_BACKENDS][24];

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Best and median of RUNS builds, ours (ref 0) or the reference's. */
static int
time_builds(struct lb_pool *pool, int ref, double *best, double *median)
{
	const struct lb_maglev *mg = pool->state;
	double t[RUNS], t0;
	int k;

	for (k = 0; k < RUNS; k++) {
		t0 = now_ms();
		if (ref) {
			int32_t *table = lbmaglev_ref_build(pool, mg->m, NULL);

			if (table == NULL)
				return -1;
			free(table);
		} else if (lb_pool_update(pool) < 0) {
			return -1;
		}
		t[k] = now_ms() - t0;
	}
	qsort(t, RUNS, sizeof(t[0]), cmp_double);
	*best = t[0];
	*median = t[RUNS / 2];
	return 0;
}

static int
report(struct lb_pool *pool, const char *what)
{
	double ob, om, rb, rm;

	if (time_builds(pool, 0, &ob, &om) < 0 ||
	    time_builds(pool, 1, &rb, &rm) < 0)
		return -1;
	printf("N %4zu %-24s build %8.2f ms (best %8.2f)  "
	       "round-by-round %8.2f ms (best %8.2f)  x%.1f\n", pool->n,
	       what, om, ob, rm, rb, om > 0 ? rm / om : 0.0);
	return 0;
}

static int
bench(size_t n)
{
	struct lb_pool pool;
	size_t i;
	int err = -1;

	if (lb_pool_init(&pool, n, &lb_ops_maglev) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "b%zu", i);
		pool.backends[i].name = names[i];
		pool.backends[i].weight = 1;
	}
	if (report(&pool, "all up, weights 1") < 0)
		goto out;
	pool.backends[0].weight = 1000;
	if (report(&pool, "one 1000, the rest 1") < 0)
		goto out;
	pool.backends[0].weight = 1;
	pool.defer_update = 1;
	for (i = 1; i < n; i++)
		(void)lb_backend_set_state(&pool, &pool.backends[i],
					   LB_BACKEND_DOWN, 1, 0);
	pool.defer_update = 0;
	if (report(&pool, "only one up") < 0)
		goto out;
	if (n > 1) {
		pool.defer_update = 1;
		(void)lb_backend_set_state(&pool, &pool.backends[1],
					   LB_BACKEND_UP, 2, 0);
		pool.defer_update = 0;
		if (report(&pool, "a second one back") < 0)
			goto out;
	}
	/* Weights 10, all up, one half-way through a 16 s slow start. */
	pool.slowstart_ms = 16000;
	pool.now = 100000;
	pool.defer_update = 1;
	for (i = 0; i < n; i++) {
		pool.backends[i].weight = 10;
		(void)lb_backend_set_state(&pool, &pool.backends[i],
					   LB_BACKEND_UP, 1, 0);
		pool.backends[i].up_since = 0;
	}
	pool.backends[0].up_since = pool.now - 8000;
	pool.defer_update = 0;
	if (report(&pool, "weights 10, one ramping") < 0)
		goto out;
	err = 0;
out:
	lb_pool_fini(&pool);
	return err;
}

int
main(int argc, char **argv)
{
	static const size_t sizes[] = { 10, 100, LB_MAX_BACKENDS };
	size_t i;

	if (argc > 1) {
		for (i = 1; i < (size_t)argc; i++) {
			long n = strtol(argv[i], NULL, 10);

			if (n < 1 || n > LB_MAX_BACKENDS ||
			    bench((size_t)n) < 0)
				return 1;
		}
		return 0;
	}
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (bench(sizes[i]) < 0)
			return 1;
	return 0;
}
