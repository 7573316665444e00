/*
 * bench_xdr.c - XDR encode/decode throughput, ours against libtirpc in
 * the same run: a 1 MiB array of ints (with a plain htonl loop and
 * memcpy as the floor), an array of strings, and an NFSv3
 * READDIRPLUS-like reply of nested structs, unions and an optional-data
 * list. Prints ns per item and the ratios. Run the release build.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rpc/types.h>
#include <rpc/xdr.h>

#include "tether/xdr.h"

#define BARRIER() __asm__ volatile("" ::: "memory")

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

typedef void bench_fn(void *ctx);

/* One timed trial: ns per run over reps runs. */
static double
trial(bench_fn *fn, void *ctx, int reps)
{
	double t0 = now_ns();
	int r;

	for (r = 0; r < reps; r++) {
		fn(ctx);
		BARRIER();
	}
	return (now_ns() - t0) / reps;
}

#define TRIALS 9

/*
 * Best of TRIALS trials, in ns per run: the minimum is the figure least
 * disturbed by other load on a shared machine.
 */
static double
measure(bench_fn *fn, void *ctx, int reps)
{
	double best = 1e30, dt;
	int t;

	fn(ctx);	/* warm caches and the arena */
	for (t = 0; t < TRIALS; t++) {
		dt = trial(fn, ctx, reps);
		if (dt < best)
			best = dt;
	}
	return best;
}

/*
 * Ours and the peer's trials interleaved, so that load arriving during
 * the run hits both sides alike; best of TRIALS each.
 */
static void
measure_pair(bench_fn *a, bench_fn *b, void *ctx, int reps_a, int reps_b,
	     double *best_a /* OUT */, double *best_b /* OUT */)
{
	double dt;
	int t;

	a(ctx);
	b(ctx);
	*best_a = *best_b = 1e30;
	for (t = 0; t < TRIALS; t++) {
		dt = trial(a, ctx, reps_a);
		if (dt < *best_a)
			*best_a = dt;
		dt = trial(b, ctx, reps_b);
		if (dt < *best_b)
			*best_b = dt;
	}
}

static void
die(const char *what)
{
	fprintf(stderr, "bench_xdr: %s\n", what);
	exit(1);
}

/* ------------------------------------------------------------------ */
/* 1 MiB array of ints                                                 */
/* ------------------------------------------------------------------ */

#define NINTS (1u << 18)	/* 256 Ki ints = 1 MiB of data */

struct ints {
	int32_t *src;		/* values to encode */
	int32_t *dst;		/* libtirpc's / the loops' decode target */
	unsigned char *wire;	/* 4 + 1 MiB */
	size_t wire_len;
	struct tether_arena *arena;
};

static void
ints_ours_enc(void *ctx)
{
	struct ints *c = ctx;
	struct tether_xdr x;
	uint32_t n = NINTS;

	tether_xdr_init_encode(&x, c->wire, c->wire_len);
	if (tether_xdr_array(&x, (void **)&c->src, &n, NINTS, 4,
			     tether_xdr_codec_i32) != 0)
		die("ours: int array encode");
}

static void
ints_ours_dec(void *ctx)
{
	struct ints *c = ctx;
	struct tether_xdr x;
	int32_t *out = NULL;
	uint32_t n;

	tether_arena_reset(c->arena);
	tether_xdr_init_decode(&x, c->wire, c->wire_len, 0, c->arena);
	if (tether_xdr_array(&x, (void **)&out, &n, NINTS, 4,
			     tether_xdr_codec_i32) != 0 || n != NINTS)
		die("ours: int array decode");
}

/* Decode into the caller's own array (a fixed-size vector). */
static void
ints_ours_dec_vec(void *ctx)
{
	struct ints *c = ctx;
	struct tether_xdr x;

	tether_xdr_init_decode(&x, c->wire + 4, c->wire_len - 4, 0, NULL);
	if (tether_xdr_u32_vector(&x, (uint32_t *)c->dst, NINTS) != 0)
		die("ours: int vector decode");
}

static void
ints_tirpc_enc(void *ctx)
{
	struct ints *c = ctx;
	XDR x;
	char *p = (char *)c->src;
	u_int n = NINTS;

	xdrmem_create(&x, (char *)c->wire, (u_int)c->wire_len, XDR_ENCODE);
	if (!xdr_array(&x, &p, &n, NINTS, sizeof(int), (xdrproc_t)xdr_int))
		die("libtirpc: int array encode");
	xdr_destroy(&x);
}

static void
ints_tirpc_dec(void *ctx)
{
	struct ints *c = ctx;
	XDR x;
	char *p = (char *)c->dst;	/* preallocated: no malloc */
	u_int n = 0;

	xdrmem_create(&x, (char *)c->wire, (u_int)c->wire_len, XDR_DECODE);
	if (!xdr_array(&x, &p, &n, NINTS, sizeof(int), (xdrproc_t)xdr_int) ||
	    n != NINTS)
		die("libtirpc: int array decode");
	xdr_destroy(&x);
}

static void
ints_htonl_enc(void *ctx)
{
	struct ints *c = ctx;
	uint32_t *w = (uint32_t *)(c->wire + 4);
	size_t i;

	for (i = 0; i < NINTS; i++)
		w[i] = htonl((uint32_t)c->src[i]);
}

static void
ints_htonl_dec(void *ctx)
{
	struct ints *c = ctx;
	const uint32_t *w = (const uint32_t *)(c->wire + 4);
	size_t i;

	for (i = 0; i < NINTS; i++)
		c->dst[i] = (int32_t)ntohl(w[i]);
}

static void
ints_memcpy(void *ctx)
{
	struct ints *c = ctx;

	memcpy(c->dst, c->wire + 4, NINTS * 4);
}

static void
report(const char *what, double per_item_ours, double per_item_tirpc,
       double per_item_floor, const char *floor_name)
{
	printf("  %-10s ours %7.3f ns/item  libtirpc %7.3f ns/item"
	       "  libtirpc/ours %5.2fx",
	       what, per_item_ours, per_item_tirpc,
	       per_item_tirpc / per_item_ours);
	if (floor_name != NULL)
		printf("  %s %6.3f (ours/%s %4.2fx)", floor_name,
		       per_item_floor, floor_name,
		       per_item_ours / per_item_floor);
	printf("\n");
}

static void
bench_ints(void)
{
	struct ints c;
	double oe, od, ov, te, td, he, hd, mc;
	size_t i;

	c.wire_len = 4 + (size_t)NINTS * 4;
	c.src = malloc(NINTS * 4);
	c.dst = malloc(NINTS * 4);
	c.wire = aligned_alloc(64, c.wire_len + 60);
	c.arena = tether_arena_new(c.wire_len + 64, 0);
	if (!c.src || !c.dst || !c.wire || !c.arena)
		die("out of memory");
	for (i = 0; i < NINTS; i++)
		c.src[i] = (int32_t)(i * 2654435761u);

	/* Both sides must produce and accept the same bytes. */
	ints_tirpc_enc(&c);
	ints_ours_dec_vec(&c);
	if (memcmp(c.dst, c.src, NINTS * 4) != 0)
		die("ours cannot read libtirpc's int array");
	memset(c.wire, 0, c.wire_len);
	ints_ours_enc(&c);
	memset(c.dst, 0, NINTS * 4);
	ints_tirpc_dec(&c);
	if (memcmp(c.dst, c.src, NINTS * 4) != 0)
		die("libtirpc cannot read our int array");

	measure_pair(ints_ours_enc, ints_tirpc_enc, &c, 20, 5, &oe, &te);
	he = measure(ints_htonl_enc, &c, 20);
	ints_ours_enc(&c);
	measure_pair(ints_ours_dec, ints_tirpc_dec, &c, 20, 5, &od, &td);
	ov = measure(ints_ours_dec_vec, &c, 20);
	hd = measure(ints_htonl_dec, &c, 20);
	mc = measure(ints_memcpy, &c, 20);
	oe /= NINTS;
	te /= NINTS;
	he /= NINTS;
	od /= NINTS;
	td /= NINTS;
	ov /= NINTS;
	hd /= NINTS;
	mc /= NINTS;

	printf("int array, %u ints (1 MiB), per int:\n", NINTS);
	report("encode", oe, te, he, "htonl");
	report("decode", od, td, hd, "htonl");
	report("dec-vec", ov, td, hd, "htonl");
	printf("  memcpy %.3f ns/int; ours encode %.2f GB/s, decode %.2f GB/s,"
	       " libtirpc %.2f / %.2f GB/s\n", mc, 4 / oe, 4 / od, 4 / te,
	       4 / td);
	free(c.src);
	free(c.dst);
	free(c.wire);
	tether_arena_free(c.arena);
}

/* ------------------------------------------------------------------ */
/* Array of strings                                                    */
/* ------------------------------------------------------------------ */

#define NSTRS 16384
#define STRMAX 255

struct strs {
	char **src;		/* NUL-terminated, lengths 1..32 */
	char **dst;		/* libtirpc decode targets, preallocated */
	unsigned char *wire;
	size_t wire_len, used;
	struct tether_arena *arena;
};

static int
ours_name(struct tether_xdr *x, void *obj)
{
	return tether_xdr_string(x, obj, STRMAX);
}

static void
strs_ours_enc(void *ctx)
{
	struct strs *c = ctx;
	struct tether_xdr x;
	uint32_t n = NSTRS;

	tether_xdr_init_encode(&x, c->wire, c->wire_len);
	if (tether_xdr_array(&x, (void **)&c->src, &n, NSTRS, sizeof(char *),
			     ours_name) != 0)
		die("ours: string array encode");
	c->used = x.pos;
}

static void
strs_ours_dec(void *ctx)
{
	struct strs *c = ctx;
	struct tether_xdr x;
	char **out = NULL;
	uint32_t n;

	tether_arena_reset(c->arena);
	tether_xdr_init_decode(&x, c->wire, c->used, 0, c->arena);
	if (tether_xdr_array(&x, (void **)&out, &n, NSTRS, sizeof(char *),
			     ours_name) != 0 || n != NSTRS)
		die("ours: string array decode");
}

static bool_t
tirpc_name(XDR *x, char **s)
{
	return xdr_string(x, s, STRMAX);
}

static void
strs_tirpc_enc(void *ctx)
{
	struct strs *c = ctx;
	XDR x;
	char *p = (char *)c->src;
	u_int n = NSTRS;

	xdrmem_create(&x, (char *)c->wire, (u_int)c->wire_len, XDR_ENCODE);
	if (!xdr_array(&x, &p, &n, NSTRS, sizeof(char *),
		       (xdrproc_t)tirpc_name))
		die("libtirpc: string array encode");
	c->used = xdr_getpos(&x);
	xdr_destroy(&x);
}

/* Preallocated targets: libtirpc's best case, no malloc per string. */
static void
strs_tirpc_dec(void *ctx)
{
	struct strs *c = ctx;
	XDR x;
	char *p = (char *)c->dst;
	u_int n = 0;

	xdrmem_create(&x, (char *)c->wire, (u_int)c->used, XDR_DECODE);
	if (!xdr_array(&x, &p, &n, NSTRS, sizeof(char *),
		       (xdrproc_t)tirpc_name) || n != NSTRS)
		die("libtirpc: string array decode");
	xdr_destroy(&x);
}

static void
strs_memcpy(void *ctx)
{
	struct strs *c = ctx;

	memcpy(c->wire + c->wire_len / 2, c->wire, c->used);
}

static void
bench_strings(void)
{
	struct strs c;
	double oe, od, te, td, mc;
	size_t i;

	c.src = malloc(NSTRS * sizeof(char *));
	c.dst = malloc(NSTRS * sizeof(char *));
	c.wire_len = 2 * (size_t)NSTRS * 40;
	c.wire = malloc(c.wire_len);
	c.arena = tether_arena_new(1 << 20, 0);
	if (!c.src || !c.dst || !c.wire || !c.arena)
		die("out of memory");
	for (i = 0; i < NSTRS; i++) {
		size_t len = 1 + (i * 7919) % 32, k;

		c.src[i] = malloc(len + 1);
		c.dst[i] = malloc(STRMAX + 1);
		if (!c.src[i] || !c.dst[i])
			die("out of memory");
		for (k = 0; k < len; k++)
			c.src[i][k] = (char)('a' + (i + k) % 26);
		c.src[i][len] = '\0';
	}
	strs_tirpc_enc(&c);
	strs_ours_dec(&c);
	strs_ours_enc(&c);
	strs_tirpc_dec(&c);
	for (i = 0; i < NSTRS; i++)
		if (strcmp(c.dst[i], c.src[i]) != 0)
			die("string arrays differ");

	measure_pair(strs_ours_enc, strs_tirpc_enc, &c, 50, 20, &oe, &te);
	measure_pair(strs_ours_dec, strs_tirpc_dec, &c, 50, 20, &od, &td);
	mc = measure(strs_memcpy, &c, 50);
	oe /= NSTRS;
	te /= NSTRS;
	od /= NSTRS;
	td /= NSTRS;
	mc /= NSTRS;
	printf("string array, %u strings of 1..32 bytes (%zu bytes), per "
	       "string:\n", NSTRS, c.used);
	report("encode", oe, te, mc, "memcpy");
	report("decode", od, td, mc, "memcpy");
	printf("  (libtirpc decodes into preallocated strings, its best "
	       "case; ours copies into the arena)\n");
	for (i = 0; i < NSTRS; i++) {
		free(c.src[i]);
		free(c.dst[i]);
	}
	free(c.src);
	free(c.dst);
	free(c.wire);
	tether_arena_free(c.arena);
}

/* ------------------------------------------------------------------ */
/* READDIRPLUS-like reply: nested structs, unions, optional-data list  */
/* ------------------------------------------------------------------ */

#define NENTRIES 512
#define FHSIZE 64

/* Our C types, as tether-rpcgen would map the .x types. */
struct o_time {
	uint32_t sec, nsec;
};

struct o_fattr {
	int32_t type;		/* ftype3: 1..7 */
	uint32_t mode, nlink, uid, gid;
	uint64_t size, used;
	uint32_t rdev1, rdev2;
	uint64_t fsid, fileid;
	struct o_time atime, mtime, ctime;
};

struct o_postop {		/* union switch (bool attributes_follow) */
	bool follows;
	struct o_fattr attr;
};

struct o_fh {			/* union switch (bool handle_follows) */
	bool follows;
	uint8_t *data;		/* opaque<64> */
	uint32_t len;
};

struct o_entry {
	uint64_t fileid;
	char *name;
	uint64_t cookie;
	struct o_postop attrs;
	struct o_fh fh;
	struct o_entry *next;
};

struct o_reply {
	struct o_postop dir;
	uint8_t verf[8];
	struct o_entry *entries;
	bool eof;
};

static int
o_time(struct tether_xdr *x, struct o_time *t)
{
	int rc = tether_xdr_u32(x, &t->sec);

	return rc ? rc : tether_xdr_u32(x, &t->nsec);
}

static int
o_fattr(struct tether_xdr *x, struct o_fattr *f)
{
	int rc;

	if ((rc = tether_xdr_enum_range(x, &f->type, 1, 7)) ||
	    (rc = tether_xdr_u32(x, &f->mode)) ||
	    (rc = tether_xdr_u32(x, &f->nlink)) ||
	    (rc = tether_xdr_u32(x, &f->uid)) ||
	    (rc = tether_xdr_u32(x, &f->gid)) ||
	    (rc = tether_xdr_u64(x, &f->size)) ||
	    (rc = tether_xdr_u64(x, &f->used)) ||
	    (rc = tether_xdr_u32(x, &f->rdev1)) ||
	    (rc = tether_xdr_u32(x, &f->rdev2)) ||
	    (rc = tether_xdr_u64(x, &f->fsid)) ||
	    (rc = tether_xdr_u64(x, &f->fileid)) ||
	    (rc = o_time(x, &f->atime)) ||
	    (rc = o_time(x, &f->mtime)))
		return rc;
	return o_time(x, &f->ctime);
}

static int
o_postop(struct tether_xdr *x, struct o_postop *p)
{
	int rc = tether_xdr_bool(x, &p->follows);

	if (rc || !p->follows)
		return rc;
	return o_fattr(x, &p->attr);
}

static int
o_entry_fields(struct tether_xdr *x, void *obj)
{
	struct o_entry *e = obj;
	int rc;

	if ((rc = tether_xdr_u64(x, &e->fileid)) ||
	    (rc = tether_xdr_string(x, &e->name, 255)) ||
	    (rc = tether_xdr_u64(x, &e->cookie)) ||
	    (rc = o_postop(x, &e->attrs)) ||
	    (rc = tether_xdr_bool(x, &e->fh.follows)))
		return rc;
	if (!e->fh.follows)
		return 0;
	return tether_xdr_bytes(x, &e->fh.data, &e->fh.len, FHSIZE);
}

static int
o_reply(struct tether_xdr *x, void *obj)
{
	struct o_reply *r = obj;
	int rc;

	if ((rc = o_postop(x, &r->dir)) ||
	    (rc = tether_xdr_opaque(x, r->verf, 8)) ||
	    (rc = tether_xdr_list(x, (void **)&r->entries,
				  sizeof(struct o_entry),
				  offsetof(struct o_entry, next),
				  o_entry_fields)))
		return rc;
	return tether_xdr_bool(x, &r->eof);
}

/* libtirpc's C types and routines, as rpcgen writes them (with its
 * default XDR_INLINE of runs of 32-bit fields in fattr3). */
struct l_time {
	u_int sec, nsec;
};

struct l_fattr {
	int type;
	u_int mode, nlink, uid, gid;
	u_quad_t size, used;
	u_int rdev1, rdev2;
	u_quad_t fsid, fileid;
	struct l_time atime, mtime, ctime;
};

struct l_postop {
	bool_t follows;
	struct l_fattr attr;
};

struct l_fh {
	bool_t follows;
	struct {
		u_int len;
		char *val;
	} data;
};

struct l_entry {
	u_quad_t fileid;
	char *name;
	u_quad_t cookie;
	struct l_postop attrs;
	struct l_fh fh;
	struct l_entry *next;
};

struct l_reply {
	struct l_postop dir;
	char verf[8];
	struct l_entry *entries;
	bool_t eof;
};

static bool_t
l_time(XDR *x, struct l_time *t)
{
	return xdr_u_int(x, &t->sec) && xdr_u_int(x, &t->nsec);
}

/* The five 32-bit fields rpcgen would inline, coded one by one. */
static bool_t
l_fattr_head(XDR *x, struct l_fattr *f)
{
	return xdr_int(x, &f->type) && xdr_u_int(x, &f->mode) &&
	       xdr_u_int(x, &f->nlink) && xdr_u_int(x, &f->uid) &&
	       xdr_u_int(x, &f->gid);
}

static bool_t
l_fattr(XDR *x, struct l_fattr *f)
{
	int32_t *buf;

	if (x->x_op == XDR_ENCODE) {
		buf = XDR_INLINE(x, 5 * BYTES_PER_XDR_UNIT);
		if (buf == NULL) {
			if (!l_fattr_head(x, f))
				return FALSE;
		} else {
			IXDR_PUT_ENUM(buf, f->type);
			IXDR_PUT_U_LONG(buf, f->mode);
			IXDR_PUT_U_LONG(buf, f->nlink);
			IXDR_PUT_U_LONG(buf, f->uid);
			IXDR_PUT_U_LONG(buf, f->gid);
		}
	} else if (x->x_op == XDR_DECODE) {
		buf = XDR_INLINE(x, 5 * BYTES_PER_XDR_UNIT);
		if (buf == NULL) {
			if (!l_fattr_head(x, f))
				return FALSE;
		} else {
			f->type = IXDR_GET_ENUM(buf, int);
			f->mode = IXDR_GET_U_LONG(buf);
			f->nlink = IXDR_GET_U_LONG(buf);
			f->uid = IXDR_GET_U_LONG(buf);
			f->gid = IXDR_GET_U_LONG(buf);
		}
	} else if (!l_fattr_head(x, f)) {
		return FALSE;
	}
	return xdr_u_int64_t(x, &f->size) && xdr_u_int64_t(x, &f->used) &&
	       xdr_u_int(x, &f->rdev1) && xdr_u_int(x, &f->rdev2) &&
	       xdr_u_int64_t(x, &f->fsid) && xdr_u_int64_t(x, &f->fileid) &&
	       l_time(x, &f->atime) && l_time(x, &f->mtime) &&
	       l_time(x, &f->ctime);
}

static bool_t
l_postop(XDR *x, struct l_postop *p)
{
	if (!xdr_bool(x, &p->follows))
		return FALSE;
	return !p->follows || l_fattr(x, &p->attr);
}

static bool_t
l_fh(XDR *x, struct l_fh *h)
{
	if (!xdr_bool(x, &h->follows))
		return FALSE;
	return !h->follows ||
	       xdr_bytes(x, &h->data.val, &h->data.len, FHSIZE);
}

static bool_t
l_entry(XDR *x, struct l_entry *e)
{
	return xdr_u_int64_t(x, &e->fileid) &&
	       xdr_string(x, &e->name, 255) &&
	       xdr_u_int64_t(x, &e->cookie) && l_postop(x, &e->attrs) &&
	       l_fh(x, &e->fh) &&
	       xdr_pointer(x, (char **)&e->next, sizeof(struct l_entry),
			   (xdrproc_t)l_entry);
}

static bool_t
l_reply(XDR *x, struct l_reply *r)
{
	return l_postop(x, &r->dir) && xdr_opaque(x, r->verf, 8) &&
	       xdr_pointer(x, (char **)&r->entries, sizeof(struct l_entry),
			   (xdrproc_t)l_entry) &&
	       xdr_bool(x, &r->eof);
}

struct msg {
	struct o_reply o;
	struct l_reply l;
	struct o_entry *oe;
	struct l_entry *le;
	unsigned char *wire;
	size_t wire_len, used;
	unsigned char *scratch;	/* memcpy floor target */
	struct tether_arena *arena;
	double tirpc_free_ns;	/* accumulated xdr_free time */
};

static void
fill_fattr(struct o_fattr *o, struct l_fattr *l, unsigned i)
{
	o->type = l->type = 1 + (int)(i % 7);
	o->mode = l->mode = 0644 + i;
	o->nlink = l->nlink = 1;
	o->uid = l->uid = 1000 + i;
	o->gid = l->gid = 100;
	o->size = l->size = 4096ull * i + 7;
	o->used = l->used = 4096ull * (i + 1);
	o->rdev1 = l->rdev1 = 0;
	o->rdev2 = l->rdev2 = i;
	o->fsid = l->fsid = 0x1234567890ull;
	o->fileid = l->fileid = 100000ull + i;
	o->atime.sec = l->atime.sec = 1700000000u + i;
	o->atime.nsec = l->atime.nsec = i;
	o->mtime = o->atime;
	o->ctime = o->atime;
	l->mtime.sec = l->ctime.sec = l->atime.sec;
	l->mtime.nsec = l->ctime.nsec = l->atime.nsec;
}

static void
msg_ours_enc(void *ctx)
{
	struct msg *c = ctx;
	struct tether_xdr x;

	tether_xdr_init_encode(&x, c->wire, c->wire_len);
	if (o_reply(&x, &c->o) != 0)
		die("ours: reply encode");
	c->used = x.pos;
}

static void
msg_ours_dec(void *ctx)
{
	struct msg *c = ctx;
	struct tether_xdr x;
	struct o_reply r;

	tether_arena_reset(c->arena);
	tether_xdr_init_decode(&x, c->wire, c->used, 0, c->arena);
	if (o_reply(&x, &r) != 0 || x.pos != c->used)
		die("ours: reply decode");
}

static void
msg_tirpc_enc(void *ctx)
{
	struct msg *c = ctx;
	XDR x;

	xdrmem_create(&x, (char *)c->wire, (u_int)c->wire_len, XDR_ENCODE);
	if (!l_reply(&x, &c->l))
		die("libtirpc: reply encode");
	c->used = xdr_getpos(&x);
	xdr_destroy(&x);
}

/* libtirpc allocates every node, string and handle (calloc/malloc);
 * xdr_free is timed apart and reported, not counted. */
static void
msg_tirpc_dec(void *ctx)
{
	struct msg *c = ctx;
	struct l_reply r;
	XDR x;
	double t0;

	memset(&r, 0, sizeof(r));
	xdrmem_create(&x, (char *)c->wire, (u_int)c->used, XDR_DECODE);
	if (!l_reply(&x, &r))
		die("libtirpc: reply decode");
	xdr_destroy(&x);
	t0 = now_ns();
	xdr_free((xdrproc_t)l_reply, (char *)&r);
	c->tirpc_free_ns += now_ns() - t0;
}

static void
msg_memcpy(void *ctx)
{
	struct msg *c = ctx;

	memcpy(c->scratch, c->wire, c->used);
}

static void
bench_message(void)
{
	static struct msg c;
	unsigned char *ours_bytes;
	size_t ours_len;
	double oe, od, te, td, mc, total, free_per;
	unsigned i;
	int reps = 200;

	c.oe = calloc(NENTRIES, sizeof(*c.oe));
	c.le = calloc(NENTRIES, sizeof(*c.le));
	c.wire_len = NENTRIES * 256 + 1024;
	c.wire = malloc(c.wire_len);
	c.scratch = malloc(c.wire_len);
	c.arena = tether_arena_new(256 * 1024, 0);
	if (!c.oe || !c.le || !c.wire || !c.scratch || !c.arena)
		die("out of memory");
	c.o.dir.follows = true;
	c.l.dir.follows = 1;
	fill_fattr(&c.o.dir.attr, &c.l.dir.attr, 0);
	memcpy(c.o.verf, "verifier", 8);
	memcpy(c.l.verf, "verifier", 8);
	for (i = 0; i < NENTRIES; i++) {
		struct o_entry *o = &c.oe[i];
		struct l_entry *l = &c.le[i];
		char name[32];
		uint8_t *fh = malloc(FHSIZE);

		if (fh == NULL)
			die("out of memory");
		memset(fh, (int)i, FHSIZE);
		snprintf(name, sizeof(name), "file-%u.txt", i * 37);
		o->fileid = l->fileid = 100000ull + i;
		o->name = l->name = strdup(name);
		o->cookie = l->cookie = i + 1;
		o->attrs.follows = true;
		l->attrs.follows = 1;
		fill_fattr(&o->attrs.attr, &l->attrs.attr, i);
		o->fh.follows = true;
		l->fh.follows = 1;
		o->fh.data = fh;
		l->fh.data.val = (char *)fh;
		o->fh.len = l->fh.data.len = 32 + i % 33;
		o->next = i + 1 < NENTRIES ? &c.oe[i + 1] : NULL;
		l->next = i + 1 < NENTRIES ? &c.le[i + 1] : NULL;
	}
	c.o.entries = c.oe;
	c.l.entries = c.le;
	c.o.eof = true;
	c.l.eof = 1;

	/* The same bytes from both, and each reads the other's. */
	msg_ours_enc(&c);
	ours_len = c.used;
	ours_bytes = malloc(ours_len);
	if (ours_bytes == NULL)
		die("out of memory");
	memcpy(ours_bytes, c.wire, ours_len);
	msg_tirpc_dec(&c);
	msg_tirpc_enc(&c);
	if (c.used != ours_len || memcmp(ours_bytes, c.wire, ours_len) != 0)
		die("ours and libtirpc encode the reply differently");
	msg_ours_dec(&c);
	free(ours_bytes);

	measure_pair(msg_ours_enc, msg_tirpc_enc, &c, reps, reps, &oe, &te);
	c.tirpc_free_ns = 0;
	measure_pair(msg_ours_dec, msg_tirpc_dec, &c, reps, reps, &od, &total);
	/* Every libtirpc decode, the warm-up included, timed its free. */
	free_per = c.tirpc_free_ns / (1 + TRIALS * reps);
	td = total - free_per;
	mc = measure(msg_memcpy, &c, reps);
	printf("READDIRPLUS-like reply, %u entries (%zu bytes), per entry:\n",
	       NENTRIES, c.used);
	report("encode", oe / NENTRIES, te / NENTRIES, mc / NENTRIES,
	       "memcpy");
	report("decode", od / NENTRIES, td / NENTRIES, mc / NENTRIES,
	       "memcpy");
	printf("  (libtirpc decode excludes xdr_free, about %.1f ns/entry "
	       "more; ours includes the arena reset)\n",
	       free_per / NENTRIES);
	for (i = 0; i < NENTRIES; i++) {
		free(c.oe[i].name);
		free(c.oe[i].fh.data);
	}
	free(c.oe);
	free(c.le);
	free(c.wire);
	free(c.scratch);
	tether_arena_free(c.arena);
}

/* Usage: bench_xdr [ints|strings|message]... (default: all three). */
int
main(int argc, char **argv)
{
	int i, all = argc < 2;

	printf("bench_xdr: tether XDR vs libtirpc, best of %d interleaved "
	       "trials\n", TRIALS);
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "ints") != 0 &&
		    strcmp(argv[i], "strings") != 0 &&
		    strcmp(argv[i], "message") != 0)
			die("usage: bench_xdr [ints|strings|message]...");
	for (i = all ? 0 : 1; i < (all ? 1 : argc); i++) {
		if (all || strcmp(argv[i], "ints") == 0)
			bench_ints();
		if (all || strcmp(argv[i], "strings") == 0)
			bench_strings();
		if (all || strcmp(argv[i], "message") == 0)
			bench_message();
	}
	return 0;
}
