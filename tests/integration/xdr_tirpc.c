/*
 * xdr_tirpc.c - differential tests against libtirpc: random values of
 * every RFC 4506 type, in one composite message, encoded by us and by
 * libtirpc give the same bytes; each decodes what the other encoded to
 * the same values; and whatever our strict decoder accepts from mutated
 * input, libtirpc accepts too and reads the same way.
 */
#include "tether_test.h"

#include <string.h>

#include <rpc/types.h>
#include <rpc/xdr.h>

#include "tether/xdr.h"

#define ITERATIONS 1500
#define MUTATIONS 3000
#define VOP_MAX 64
#define STR_MAX 40
#define VIA_MAX 300
#define VHA_MAX 50
#define SA_MAX 8
#define INNER_STR_MAX 12
#define ARM_STR_MAX 10
#define LIST_MAX 20

static const int32_t enum_values[] = { 0, 1, 2, 100 };

/* ---- our side ---- */

struct o_inner {
	int32_t a;
	char *s;		/* string<INNER_STR_MAX> */
};

struct o_node {
	uint32_t v;
	struct o_node *next;
};

struct o_sample {
	int32_t i;
	uint32_t u;
	int32_t e;
	bool b;
	int64_t h;
	uint64_t uh;
	float f;
	double d;
	struct tether_xdr_quad q;
	uint8_t fop[7];
	uint8_t *vop;
	uint32_t vop_len;
	char *str;
	int32_t fia[5];
	int32_t *via;
	uint32_t via_len;
	uint64_t *vha;
	uint32_t vha_len;
	struct o_inner *sa;
	uint32_t sa_len;
	int32_t disc;		/* 1: int, 2: string<10>, 3: void, else hyper */
	union {
		int32_t i;
		char *s;
		uint64_t h;
	} un;
	struct o_inner *opt;
	struct o_node *list;
};

static int
o_inner(struct tether_xdr *x, void *obj)
{
	struct o_inner *p = obj;
	int rc = tether_xdr_i32(x, &p->a);

	return rc ? rc : tether_xdr_string(x, &p->s, INNER_STR_MAX);
}

static int
o_node_fields(struct tether_xdr *x, void *obj)
{
	return tether_xdr_u32(x, &((struct o_node *)obj)->v);
}

static int
o_arm_string(struct tether_xdr *x, void *obj)
{
	return tether_xdr_string(x, obj, ARM_STR_MAX);
}

static int
o_sample(struct tether_xdr *x, void *obj)
{
	static const struct tether_xdr_arm arms[] = {
		{ 1, tether_xdr_codec_i32 },
		{ 2, o_arm_string },
		{ 3, tether_xdr_void },
	};
	struct o_sample *s = obj;
	int rc;

	if ((rc = tether_xdr_i32(x, &s->i)) ||
	    (rc = tether_xdr_u32(x, &s->u)) ||
	    (rc = tether_xdr_enum(x, &s->e, enum_values, 4)) ||
	    (rc = tether_xdr_bool(x, &s->b)) ||
	    (rc = tether_xdr_i64(x, &s->h)) ||
	    (rc = tether_xdr_u64(x, &s->uh)) ||
	    (rc = tether_xdr_float(x, &s->f)) ||
	    (rc = tether_xdr_double(x, &s->d)) ||
	    (rc = tether_xdr_quad(x, &s->q)) ||
	    (rc = tether_xdr_opaque(x, s->fop, sizeof(s->fop))) ||
	    (rc = tether_xdr_bytes(x, &s->vop, &s->vop_len, VOP_MAX)) ||
	    (rc = tether_xdr_string(x, &s->str, STR_MAX)) ||
	    (rc = tether_xdr_vector(x, s->fia, 5, sizeof(int32_t),
				    tether_xdr_codec_i32)) ||
	    (rc = tether_xdr_array(x, (void **)&s->via, &s->via_len, VIA_MAX,
				   sizeof(int32_t), tether_xdr_codec_i32)) ||
	    (rc = tether_xdr_u64_array(x, &s->vha, &s->vha_len, VHA_MAX)) ||
	    (rc = tether_xdr_array(x, (void **)&s->sa, &s->sa_len, SA_MAX,
				   sizeof(struct o_inner), o_inner)) ||
	    (rc = tether_xdr_union(x, &s->disc, &s->un, arms, 3,
				   tether_xdr_codec_u64)) ||
	    (rc = tether_xdr_optional(x, (void **)&s->opt,
				      sizeof(struct o_inner), o_inner)))
		return rc;
	return tether_xdr_list(x, (void **)&s->list, sizeof(struct o_node),
			       offsetof(struct o_node, next), o_node_fields);
}

/* ---- libtirpc's side, as rpcgen would write it ---- */

struct l_inner {
	int a;
	char *s;
};

struct l_node {
	u_int v;
	struct l_node *next;
};

struct l_sample {
	int i;
	u_int u;
	enum_t e;
	bool_t b;
	quad_t h;
	u_quad_t uh;
	float f;
	double d;
	char q[16];
	char fop[7];
	struct {
		u_int len;
		char *val;
	} vop;
	char *str;
	int fia[5];
	struct {
		u_int len;
		int *val;
	} via;
	struct {
		u_int len;
		u_quad_t *val;
	} vha;
	struct {
		u_int len;
		struct l_inner *val;
	} sa;
	enum_t disc;
	union {
		int i;
		char *s;
		u_quad_t h;
	} un;
	struct l_inner *opt;
	struct l_node *list;
};

static bool_t
l_inner(XDR *x, struct l_inner *p)
{
	return xdr_int(x, &p->a) && xdr_string(x, &p->s, INNER_STR_MAX);
}

static bool_t
l_node(XDR *x, struct l_node *n)
{
	return xdr_u_int(x, &n->v) &&
	       xdr_pointer(x, (char **)&n->next, sizeof(struct l_node),
			   (xdrproc_t)l_node);
}

static bool_t
l_arm_string(XDR *x, char **s)
{
	return xdr_string(x, s, ARM_STR_MAX);
}

/* xdr_void takes no arguments; a union arm needs the codec shape. */
static bool_t
l_void(XDR *x, void *p)
{
	(void)x;
	(void)p;
	return xdr_void();
}

static bool_t
l_sample(XDR *x, struct l_sample *s)
{
	static const struct xdr_discrim arms[] = {
		{ 1, (xdrproc_t)xdr_int },
		{ 2, (xdrproc_t)l_arm_string },
		{ 3, (xdrproc_t)l_void },
		{ __dontcare__, NULL },
	};
	char *via = (char *)s->via.val, *vha = (char *)s->vha.val;
	char *sa = (char *)s->sa.val;
	bool_t ok;

	ok = xdr_int(x, &s->i) && xdr_u_int(x, &s->u) &&
	     xdr_enum(x, &s->e) && xdr_bool(x, &s->b) &&
	     xdr_hyper(x, &s->h) && xdr_u_hyper(x, &s->uh) &&
	     xdr_float(x, &s->f) && xdr_double(x, &s->d) &&
	     xdr_opaque(x, s->q, 16) && xdr_opaque(x, s->fop, 7) &&
	     xdr_bytes(x, &s->vop.val, &s->vop.len, VOP_MAX) &&
	     xdr_string(x, &s->str, STR_MAX) &&
	     xdr_vector(x, (char *)s->fia, 5, sizeof(int),
			(xdrproc_t)xdr_int) &&
	     xdr_array(x, &via, &s->via.len, VIA_MAX, sizeof(int),
		       (xdrproc_t)xdr_int) &&
	     xdr_array(x, &vha, &s->vha.len, VHA_MAX, sizeof(u_quad_t),
		       (xdrproc_t)xdr_u_hyper) &&
	     xdr_array(x, &sa, &s->sa.len, SA_MAX, sizeof(struct l_inner),
		       (xdrproc_t)l_inner);
	s->via.val = (int *)via;
	s->vha.val = (u_quad_t *)vha;
	s->sa.val = (struct l_inner *)sa;
	return ok &&
	       xdr_union(x, &s->disc, (char *)&s->un, arms,
			 (xdrproc_t)xdr_u_hyper) &&
	       xdr_pointer(x, (char **)&s->opt, sizeof(struct l_inner),
			   (xdrproc_t)l_inner) &&
	       xdr_pointer(x, (char **)&s->list, sizeof(struct l_node),
			   (xdrproc_t)l_node);
}

/* ---- random values ---- */

static uint64_t rng_state;

static uint64_t
rnd(void)
{
	/* xorshift64*: reproducible from the seed printed on failure. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static uint32_t
rnd_below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

static char *
rnd_string(struct tether_arena *a, uint32_t max)
{
	uint32_t n = rnd_below(max + 1), i;
	char *s = tether_arena_alloc(a, n + 1);

	assert_non_null(s);
	for (i = 0; i < n; i++)
		s[i] = (char)(1 + rnd_below(255));	/* any byte but NUL */
	s[n] = '\0';
	return s;
}

/* Fill o with random values and l with the same values. All storage
 * comes from arena a; the two sides share strings and int arrays. */
static void
generate(struct tether_arena *a, struct o_sample *o, struct l_sample *l)
{
	uint32_t k;

	memset(o, 0, sizeof(*o));
	memset(l, 0, sizeof(*l));
	l->i = o->i = (int32_t)rnd();
	l->u = o->u = (uint32_t)rnd();
	l->e = o->e = enum_values[rnd_below(4)];
	l->b = o->b = rnd() & 1;
	l->h = o->h = (int64_t)rnd();
	l->uh = o->uh = rnd();
	{
		uint32_t fb = (uint32_t)rnd();
		uint64_t db = rnd();

		memcpy(&o->f, &fb, 4);
		memcpy(&l->f, &fb, 4);
		memcpy(&o->d, &db, 8);
		memcpy(&l->d, &db, 8);
	}
	for (k = 0; k < 16; k++)
		l->q[k] = (char)(o->q.bytes[k] = (uint8_t)rnd());
	for (k = 0; k < 7; k++)
		l->fop[k] = (char)(o->fop[k] = (uint8_t)rnd());
	o->vop_len = rnd_below(VOP_MAX + 1);
	o->vop = tether_arena_alloc(a, o->vop_len);
	for (k = 0; k < o->vop_len; k++)
		o->vop[k] = (uint8_t)rnd();
	l->vop.len = o->vop_len;
	l->vop.val = (char *)o->vop;
	l->str = o->str = rnd_string(a, STR_MAX);
	for (k = 0; k < 5; k++)
		l->fia[k] = o->fia[k] = (int32_t)rnd();
	o->via_len = rnd_below(VIA_MAX + 1);
	o->via = tether_arena_alloc(a, o->via_len * 4);
	for (k = 0; k < o->via_len; k++)
		o->via[k] = (int32_t)rnd();
	l->via.len = o->via_len;
	l->via.val = o->via;
	o->vha_len = rnd_below(VHA_MAX + 1);
	o->vha = tether_arena_alloc(a, o->vha_len * 8);
	for (k = 0; k < o->vha_len; k++)
		o->vha[k] = rnd();
	l->vha.len = o->vha_len;
	l->vha.val = (u_quad_t *)o->vha;
	o->sa_len = rnd_below(SA_MAX + 1);
	o->sa = tether_arena_alloc(a, o->sa_len * sizeof(*o->sa));
	l->sa.val = tether_arena_alloc(a, o->sa_len * sizeof(*l->sa.val));
	l->sa.len = o->sa_len;
	for (k = 0; k < o->sa_len; k++) {
		l->sa.val[k].a = o->sa[k].a = (int32_t)rnd();
		l->sa.val[k].s = o->sa[k].s = rnd_string(a, INNER_STR_MAX);
	}
	/* Discriminants 1..3 hit the arms, others the default. */
	l->disc = o->disc = (int32_t)(rnd() & 1 ? 1 + rnd_below(3) : rnd());
	switch (o->disc) {
	case 1:
		l->un.i = o->un.i = (int32_t)rnd();
		break;
	case 2:
		l->un.s = o->un.s = rnd_string(a, ARM_STR_MAX);
		break;
	case 3:
		break;
	default:
		l->un.h = o->un.h = rnd();
	}
	if (rnd() & 1) {
		o->opt = tether_arena_alloc(a, sizeof(*o->opt));
		l->opt = tether_arena_alloc(a, sizeof(*l->opt));
		l->opt->a = o->opt->a = (int32_t)rnd();
		l->opt->s = o->opt->s = rnd_string(a, INNER_STR_MAX);
	}
	{
		uint32_t n = rnd_below(LIST_MAX + 1);
		struct o_node **ol = &o->list;
		struct l_node **ll = &l->list;

		for (k = 0; k < n; k++) {
			*ol = tether_arena_alloc(a, sizeof(**ol));
			*ll = tether_arena_alloc(a, sizeof(**ll));
			(*ll)->v = (*ol)->v = (uint32_t)rnd();
			ol = &(*ol)->next;
			ll = &(*ll)->next;
		}
		*ol = NULL;
		*ll = NULL;
	}
}

/* Do our values and libtirpc's agree, field by field? */
static void
assert_same(const struct o_sample *o, const struct l_sample *l)
{
	const struct o_node *on;
	const struct l_node *ln;
	uint32_t k;

	assert_int_equal(o->i, l->i);
	assert_int_equal(o->u, l->u);
	assert_int_equal(o->e, l->e);
	assert_int_equal(o->b, l->b != 0);
	assert_true(o->h == l->h);
	assert_true(o->uh == l->uh);
	assert_memory_equal(&o->f, &l->f, 4);	/* bits: NaNs included */
	assert_memory_equal(&o->d, &l->d, 8);
	assert_memory_equal(o->q.bytes, l->q, 16);
	assert_memory_equal(o->fop, l->fop, 7);
	assert_int_equal(o->vop_len, l->vop.len);
	if (o->vop_len)
		assert_memory_equal(o->vop, l->vop.val, o->vop_len);
	assert_string_equal(o->str, l->str);
	assert_memory_equal(o->fia, l->fia, sizeof(o->fia));
	assert_int_equal(o->via_len, l->via.len);
	for (k = 0; k < o->via_len; k++)
		assert_int_equal(o->via[k], l->via.val[k]);
	assert_int_equal(o->vha_len, l->vha.len);
	for (k = 0; k < o->vha_len; k++)
		assert_true(o->vha[k] == l->vha.val[k]);
	assert_int_equal(o->sa_len, l->sa.len);
	for (k = 0; k < o->sa_len; k++) {
		assert_int_equal(o->sa[k].a, l->sa.val[k].a);
		assert_string_equal(o->sa[k].s, l->sa.val[k].s);
	}
	assert_int_equal(o->disc, l->disc);
	switch (o->disc) {
	case 1:
		assert_int_equal(o->un.i, l->un.i);
		break;
	case 2:
		assert_string_equal(o->un.s, l->un.s);
		break;
	case 3:
		break;
	default:
		assert_true(o->un.h == l->un.h);
	}
	assert_int_equal(o->opt != NULL, l->opt != NULL);
	if (o->opt) {
		assert_int_equal(o->opt->a, l->opt->a);
		assert_string_equal(o->opt->s, l->opt->s);
	}
	for (on = o->list, ln = l->list; on && ln; on = on->next, ln = ln->next)
		assert_int_equal(on->v, ln->v);
	assert_null(on);
	assert_null(ln);
}

#define BUFSZ 8192

static void
test_random_both_ways(void **state)
{
	struct tether_arena *gen = tether_arena_new(0, 0);
	struct tether_arena *dec = tether_arena_new(0, 0);
	static unsigned char ours[BUFSZ], theirs[BUFSZ];
	int it;

	(void)state;
	assert_non_null(gen);
	assert_non_null(dec);
	rng_state = 0x7e7e7e7e12345678ull;
	for (it = 0; it < ITERATIONS; it++) {
		struct o_sample o, od;
		struct l_sample l, ld;
		struct tether_xdr x;
		XDR lx;
		size_t olen, sz;
		u_int llen;

		generate(gen, &o, &l);

		/* The same bytes from both encoders. */
		tether_xdr_init_encode(&x, ours, sizeof(ours));
		assert_int_equal(o_sample(&x, &o), 0);
		olen = x.pos;
		assert_int_equal(tether_xdr_sizeof(o_sample, &o, &sz), 0);
		assert_int_equal(sz, olen);
		xdrmem_create(&lx, (char *)theirs, sizeof(theirs), XDR_ENCODE);
		assert_true(l_sample(&lx, &l));
		llen = xdr_getpos(&lx);
		xdr_destroy(&lx);
		assert_int_equal(olen, llen);
		assert_memory_equal(ours, theirs, olen);

		/* libtirpc reads ours. */
		memset(&ld, 0, sizeof(ld));
		xdrmem_create(&lx, (char *)ours, (u_int)olen, XDR_DECODE);
		assert_true(l_sample(&lx, &ld));
		assert_int_equal(xdr_getpos(&lx), olen);
		xdr_destroy(&lx);
		assert_same(&o, &ld);
		xdr_free((xdrproc_t)l_sample, (char *)&ld);

		/* We read libtirpc's, copying and zero-copy. */
		memset(&od, 0, sizeof(od));
		tether_xdr_init_decode(&x, theirs, llen, 0, dec);
		assert_int_equal(o_sample(&x, &od), 0);
		assert_int_equal(x.pos, llen);
		assert_same(&od, &l);
		memset(&od, 0, sizeof(od));
		tether_xdr_init_decode(&x, theirs, llen, TETHER_XDR_ZEROCOPY,
				       dec);
		assert_int_equal(o_sample(&x, &od), 0);
		assert_same(&od, &l);

		tether_arena_reset(gen);
		tether_arena_reset(dec);
	}
	tether_arena_free(gen);
	tether_arena_free(dec);
}

/*
 * Flip bytes of valid encodings. Whatever our strict decoder accepts,
 * libtirpc (which checks less) accepts too, with the same values and
 * the same length consumed; and re-encoding gives the same bytes back.
 * Both must refuse a length over its maximum.
 */
static void
test_mutations_agree(void **state)
{
	struct tether_arena *gen = tether_arena_new(0, 0);
	struct tether_arena *dec = tether_arena_new(0, 0);
	static unsigned char buf[BUFSZ], again[BUFSZ];
	int it, accepted = 0, refused = 0;

	(void)state;
	assert_non_null(gen);
	assert_non_null(dec);
	rng_state = 0xfeedface0badf00dull;
	for (it = 0; it < MUTATIONS; it++) {
		struct o_sample o, od;
		struct l_sample l, ld;
		struct tether_xdr x;
		size_t len, k, flips;
		XDR lx;
		int rc;

		generate(gen, &o, &l);
		tether_xdr_init_encode(&x, buf, sizeof(buf));
		assert_int_equal(o_sample(&x, &o), 0);
		len = x.pos;
		flips = 1 + rnd_below(3);
		for (k = 0; k < flips; k++) {
			size_t at = rnd_below((uint32_t)len);

			/* Small values in length words hit edge cases. */
			buf[at] = rnd() & 1 ? (unsigned char)rnd() :
					      (unsigned char)rnd_below(4);
		}
		memset(&od, 0, sizeof(od));
		tether_xdr_init_decode(&x, buf, len, 0, dec);
		rc = o_sample(&x, &od);
		if (rc != 0) {
			refused++;
			assert_int_equal(rc, x.err.code);
			assert_non_null(x.err.what);
			assert_true(x.err.offset <= len);
		} else {
			size_t used = x.pos;

			accepted++;
			memset(&ld, 0, sizeof(ld));
			xdrmem_create(&lx, (char *)buf, (u_int)len,
				      XDR_DECODE);
			assert_true(l_sample(&lx, &ld));
			assert_int_equal(xdr_getpos(&lx), used);
			xdr_destroy(&lx);
			assert_same(&od, &ld);
			xdr_free((xdrproc_t)l_sample, (char *)&ld);
			tether_xdr_init_encode(&x, again, sizeof(again));
			assert_int_equal(o_sample(&x, &od), 0);
			assert_int_equal(x.pos, used);
			assert_memory_equal(again, buf, used);
		}
		tether_arena_reset(gen);
		tether_arena_reset(dec);
	}
	/* Both outcomes must have been exercised. */
	assert_true(accepted > 100);
	assert_true(refused > 100);
	tether_arena_free(gen);
	tether_arena_free(dec);
}

/* Bulk arrays of every length 0..70 match xdr_array/xdr_vector. */
static void
test_bulk_lengths(void **state)
{
	static int32_t v[70];
	static uint64_t w[70];
	static unsigned char a[4 + 70 * 8], b[4 + 70 * 8];
	uint32_t n, k;

	(void)state;
	rng_state = 99;
	for (k = 0; k < 70; k++) {
		v[k] = (int32_t)rnd();
		w[k] = rnd();
	}
	for (n = 0; n <= 70; n++) {
		struct tether_xdr x;
		int32_t *vp = v;
		uint64_t *wp = w;
		char *lp = (char *)v;
		u_int ln = n, cnt = n;
		XDR lx;

		tether_xdr_init_encode(&x, a, sizeof(a));
		assert_int_equal(tether_xdr_array(&x, (void **)&vp, &cnt, 70, 4,
						  tether_xdr_codec_i32), 0);
		xdrmem_create(&lx, (char *)b, sizeof(b), XDR_ENCODE);
		assert_true(xdr_array(&lx, &lp, &ln, 70, sizeof(int),
				      (xdrproc_t)xdr_int));
		assert_int_equal(x.pos, xdr_getpos(&lx));
		assert_memory_equal(a, b, x.pos);
		xdr_destroy(&lx);

		tether_xdr_init_encode(&x, a, sizeof(a));
		assert_int_equal(tether_xdr_u64_vector(&x, wp, n), 0);
		xdrmem_create(&lx, (char *)b, sizeof(b), XDR_ENCODE);
		assert_true(xdr_vector(&lx, (char *)w, n, sizeof(uint64_t),
				       (xdrproc_t)xdr_u_int64_t));
		assert_int_equal(x.pos, xdr_getpos(&lx));
		assert_memory_equal(a, b, x.pos);
		xdr_destroy(&lx);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_both_ways),
		cmocka_unit_test(test_mutations_agree),
		cmocka_unit_test(test_bulk_lengths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
