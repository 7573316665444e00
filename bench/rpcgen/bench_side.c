/*
 * bench_side.c - one side of bench_rpcgen, compiled twice: SIDE_OURS
 * against tether-rpcgen's code for bench.x, SIDE_RPCGEN against Debian
 * rpcgen's with libtirpc. Both fill the same values (tether-rpcgen
 * --fill, same seeds) and time encoding and decoding them.
 */
#include "bench.h"
#include "bench_fill.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef SIDE_OURS
#define SIDE(name) ours_##name
#else
#define SIDE(name) rp_##name
#endif

double SIDE(run)(int which, int decode, int reps, size_t *bytes);

static unsigned char pool[8 << 20];
static size_t pool_used;
static unsigned char wire[4 << 20];

static void *
pool_alloc(void *ud, size_t n)
{
	void *p;

	(void)ud;
	n = (n + 15) & ~(size_t)15;
	if (n > sizeof(pool) - pool_used)
		abort();
	p = pool + pool_used;
	pool_used += n;
	memset(p, 0, n);
	return p;
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* A value big enough to time: many elements / a long list. */
static void
fill_big(int which, void *obj, struct txdr_fill *f)
{
	uint32_t i;

	switch (which) {
	case 0: {
		attrs *a = obj;

		a->a.a_len = 1000;
		a->a.a_val = pool_alloc(NULL, 1000 * sizeof(fattr));
		for (i = 0; i < 1000; i++)
			txdr_fill_fattr(f, &a->a.a_val[i], 0);
		break;
	}
	case 1: {
		times *t = obj;

		t->t.t_len = 4000;
		t->t.t_val = pool_alloc(NULL, 4000 * sizeof(nfstime));
		for (i = 0; i < 4000; i++)
			txdr_fill_nfstime(f, &t->t.t_val[i], 0);
		break;
	}
	case 2: {
		words *w = obj;

		w->w.w_len = 16384;
		w->w.w_val = pool_alloc(NULL, 16384 * sizeof(*w->w.w_val));
		for (i = 0; i < 16384; i++)
			w->w.w_val[i] = txdr_fill_u32(f);
		break;
	}
	default: {
		dirlist *d = obj;
		entry **tail = &d->entries;

		for (i = 0; i < 500; i++) {
			entry *e = pool_alloc(NULL, sizeof(*e));

			e->fileid = txdr_fill_u64(f);
			e->cookie = i;
			e->name = "a-file-name.txt";
			*tail = e;
			tail = &e->next;
		}
		d->eof = 1;
		break;
	}
	}
}

static const size_t sizes[] = { sizeof(attrs), sizeof(times),
				 sizeof(words), sizeof(dirlist) };

#ifdef SIDE_OURS
static tether_xdr_fn *const codecs[] = { txdr_attrs, txdr_times,
					 txdr_words, txdr_dirlist };

static int
encode(int which, void *obj, size_t *len)
{
	struct tether_xdr x;

	tether_xdr_init_encode(&x, wire, sizeof(wire));
	if (codecs[which](&x, obj) != 0)
		return -1;
	*len = tether_xdr_getpos(&x);
	return 0;
}

static struct tether_arena *arena;

static int
decode(int which, void *obj, size_t len)
{
	struct tether_xdr x;

	if (arena == NULL)
		arena = tether_arena_new(1u << 20, 0);
	tether_arena_reset(arena);
	memset(obj, 0, sizes[which]);
	tether_xdr_init_decode(&x, wire, len, 0, arena);
	return codecs[which](&x, obj);
}
#else
static const xdrproc_t codecs[] = { (xdrproc_t)xdr_attrs,
				    (xdrproc_t)xdr_times,
				    (xdrproc_t)xdr_words,
				    (xdrproc_t)xdr_dirlist };

static int
encode(int which, void *obj, size_t *len)
{
	XDR x;
	int ok;

	xdrmem_create(&x, (char *)wire, sizeof(wire), XDR_ENCODE);
	ok = codecs[which](&x, obj);
	*len = xdr_getpos(&x);
	xdr_destroy(&x);
	return ok ? 0 : -1;
}

static int
decode(int which, void *obj, size_t len)
{
	XDR x;
	int ok;

	memset(obj, 0, sizes[which]);
	xdrmem_create(&x, (char *)wire, (u_int)len, XDR_DECODE);
	ok = codecs[which](&x, obj);
	xdr_destroy(&x);
	/* rpcgen's decoders malloc: freeing is part of their cost */
	xdr_free(codecs[which], (char *)obj);
	return ok ? 0 : -1;
}
#endif

/* ns per run of encoding (or decoding) value `which`, best of 7. */
double
SIDE(run)(int which, int decode_it, int reps, size_t *bytes)
{
	struct txdr_fill f = { 42, pool_alloc, NULL };
	void *obj, *out;
	double best = 1e30;
	size_t len = 0;
	int t, r;

	pool_used = 0;
	obj = pool_alloc(NULL, sizes[which]);
	out = pool_alloc(NULL, sizes[which]);
	fill_big(which, obj, &f);
	if (encode(which, obj, &len) != 0)
		abort();
	*bytes = len;
	for (t = 0; t < 7; t++) {
		double t0 = now_ns();

		for (r = 0; r < reps; r++)
			if ((decode_it ? decode(which, out, len)
				       : encode(which, obj, &len)) != 0)
				abort();
		t0 = (now_ns() - t0) / reps;
		if (t0 < best)
			best = t0;
	}
	return best;
}
