/*
 * roundtrip.c - built from all.x's generated codecs: for a value of every
 * type, decode(encode(x)) re-encodes to the same bytes, the size mode
 * agrees, every shorter buffer fails cleanly (encode: no room; decode:
 * truncated), and the checks the codecs make (bounds, enum values, union
 * arms, narrowed ints) reject bad values.
 */
#include "all.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond)                                                         \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s:%d: check failed: %s\n",        \
				__FILE__, __LINE__, #cond);                 \
			failures++;                                         \
		}                                                           \
	} while (0)

static unsigned char a_buf[1 << 16], b_buf[1 << 16];

/* Encode in, decode into out (zeroed, size bytes), re-encode: same
 * bytes. Returns the encoded length. */
static size_t
roundtrip(const char *what, tether_xdr_fn *fn, void *in, void *out,
	  size_t size, struct tether_arena *arena)
{
	struct tether_xdr x;
	size_t len, len2, sized = 0, k;
	int rc;

	tether_xdr_init_encode(&x, a_buf, sizeof(a_buf));
	rc = fn(&x, in);
	if (rc != 0) {
		fprintf(stderr, "%s: encode: %s\n", what, tether_strerror(rc));
		failures++;
		return 0;
	}
	len = tether_xdr_getpos(&x);
	CHECK(len % 4 == 0);
	CHECK(tether_xdr_sizeof(fn, in, &sized) == 0 && sized == len);

	memset(out, 0, size);
	tether_xdr_init_decode(&x, a_buf, len, 0, arena);
	rc = fn(&x, out);
	if (rc != 0) {
		fprintf(stderr, "%s: decode: %s\n", what, tether_strerror(rc));
		failures++;
		return 0;
	}
	CHECK(tether_xdr_getpos(&x) == len);

	tether_xdr_init_encode(&x, b_buf, sizeof(b_buf));
	CHECK(fn(&x, out) == 0);
	len2 = tether_xdr_getpos(&x);
	if (len2 != len || memcmp(a_buf, b_buf, len) != 0) {
		fprintf(stderr, "%s: re-encoding differs\n", what);
		failures++;
	}

	/* every shorter input is an error, never a success */
	for (k = 0; k < len; k++) {
		void *scratch = calloc(1, size);

		tether_xdr_init_decode(&x, a_buf, k, 0, arena);
		rc = fn(&x, scratch);
		if (rc == 0) {
			fprintf(stderr, "%s: decode of %zu/%zu bytes passed\n",
				what, k, len);
			failures++;
		}
		free(scratch);
		tether_xdr_init_encode(&x, b_buf, k);
		CHECK(fn(&x, in) == -TETHER_ENOSPC);
	}
	return len;
}

static void
test_scalars(struct tether_arena *ar)
{
	scalars s, d;

	memset(&s, 0, sizeof(s));
	s.i = -7;
	s.u = 0xfffffff0u;
	s.alone = 3;
	s.h = -1234567890123ll;
	s.uh = 0xfedcba9876543210ull;
	s.b = TRUE;
	s.f = 1.5f;
	s.d = -2.25;
	memset(s.q.bytes, 0xab, sizeof(s.q.bytes));
	s.c = -100;
	s.uc = 200;
	s.s = -30000;
	s.us = 60000;
	s.l = -1;
	s.ul = 0xffffffffu;
	/* rpcgen's layout: bool_t's 4 bytes, long's own size */
	CHECK(sizeof(s.b) == 4 && (int32_t)-1 < 0);
	CHECK(sizeof(s.l) == sizeof(long) && sizeof(s.ul) == sizeof(long));
	s.ui = 9;
	s.u32 = 10;
	s.i64 = -11;
	s.cnt = 12;
	s.usv = 65535;
	roundtrip("scalars", txdr_scalars, &s, &d, sizeof(d), ar);
	CHECK(d.i == -7 && d.uh == 0xfedcba9876543210ull && d.b == TRUE);
	/* long decodes sign-extended, unsigned long zero-extended */
	CHECK(d.l == -1L && d.ul == 0xffffffffUL);
	CHECK(d.c == -100 && d.uc == 200 && d.s == -30000 && d.us == 60000);
	CHECK(d.f == 1.5f && d.d == -2.25 && d.usv == 65535);
	CHECK(memcmp(d.q.bytes, s.q.bytes, 16) == 0);
}

static void
test_point(struct tether_arena *ar)
{
	point p = { 1, -2, 3000000000000ll, 0.5f, 0.25 }, d;

	CHECK(roundtrip("point", txdr_point, &p, &d, sizeof(d), ar) == 28);
	CHECK(d.x == 1 && d.y == -2 && d.z == 3000000000000ll);
	CHECK(d.f == 0.5f && d.d == 0.25);
}

static void
test_arrays(struct tether_arena *ar)
{
	arrays a, d;
	uint32_t uints[3] = { 1, 2, 0xffffffffu };
	double dbl[2] = { 1.0, -1.0 };
	point pts[2] = { { 1, 2, 3, 4, 5 }, { 6, 7, 8, 9, 10 } };
	int32_t flags[3] = { TRUE, FALSE, TRUE };
	long longs[3] = { INT32_MIN, -1, INT32_MAX };
	char *names[2] = { "alpha", "" };
	int i;

	memset(&a, 0, sizeof(a));
	for (i = 0; i < 4; i++)
		a.fixed_ints[i] = i * 1000 - 1;
	a.var_uints.var_uints_len = 3;
	a.var_uints.var_uints_val = uints;
	a.fixed_hypers[0] = -1;
	a.fixed_hypers[1] = 1;
	a.var_doubles.var_doubles_len = 2;
	a.var_doubles.var_doubles_val = dbl;
	a.fixed_floats[1] = 3.0f;
	memcpy(a.fixed_bytes, "abcde", 5);
	a.var_bytes.var_bytes_len = 3;
	a.var_bytes.var_bytes_val = "xyz";
	a.str = "hello";
	a.nm = "name";
	a.pts.pts_len = 2;
	a.pts.pts_val = pts;
	a.fixed_pts[1] = pts[1];
	a.cols[0] = RED;
	a.cols[1] = BLUE;
	a.cols[2] = GREEN;
	a.flags.flags_len = 3;
	a.flags.flags_val = flags;
	a.names.names_len = 2;
	a.names.names_val = names;
	memset(a.h, 7, sizeof(a.h));
	a.longs.longs_len = 3;
	a.longs.longs_val = longs;
	a.ulongs[0] = 0;
	a.ulongs[1] = UINT32_MAX;
	roundtrip("arrays", txdr_arrays, &a, &d, sizeof(d), ar);
	CHECK(d.longs.longs_len == 3 && d.longs.longs_val[0] == INT32_MIN &&
	      d.longs.longs_val[1] == -1 && d.longs.longs_val[2] == INT32_MAX);
	CHECK(d.ulongs[1] == UINT32_MAX);
	CHECK(d.var_uints.var_uints_len == 3 &&
	      d.var_uints.var_uints_val[2] == 0xffffffffu);
	CHECK(d.pts.pts_len == 2 && d.pts.pts_val[1].d == 10);
	CHECK(strcmp(d.str, "hello") == 0 && strcmp(d.nm, "name") == 0);
	CHECK(d.names.names_len == 2 &&
	      strcmp(d.names.names_val[0], "alpha") == 0);
	CHECK(d.cols[1] == BLUE && d.flags.flags_val[2]);
	CHECK(memcmp(d.var_bytes.var_bytes_val, "xyz", 3) == 0);

	/* over the bound <8>: the encoder refuses */
	{
		double many[9] = { 0 };
		struct tether_xdr x;

		a.var_doubles.var_doubles_len = 9;
		a.var_doubles.var_doubles_val = many;
		tether_xdr_init_encode(&x, a_buf, sizeof(a_buf));
		CHECK(txdr_arrays(&x, &a) == -TETHER_EOVERFLOW);
	}
}

static void
test_lists(struct tether_arena *ar)
{
	entry e[3], d;
	tree leaves[2], root, droot;
	holder h, dh;
	point p = { 5, 6, 7, 8, 9 };
	entrylist dl = NULL;
	const entry *n;
	int count = 0;

	e[0].key = "one";
	e[0].value = 1;
	e[0].next = &e[1];
	e[1].key = "two";
	e[1].value = 2;
	e[1].next = &e[2];
	e[2].key = "three";
	e[2].value = 3;
	e[2].next = NULL;
	roundtrip("entry", txdr_entry, &e[0], &d, sizeof(d), ar);
	for (n = &d; n != NULL; n = n->next)
		count++;
	CHECK(count == 3 && strcmp(d.next->next->key, "three") == 0);

	{
		entrylist l = &e[0];

		roundtrip("entrylist", txdr_entrylist, &l, &dl, sizeof(dl), ar);
		CHECK(dl != NULL && dl->next->value == 2);
		l = NULL;
		roundtrip("entrylist-empty", txdr_entrylist, &l, &dl,
			  sizeof(dl), ar);
		CHECK(dl == NULL);
	}

	memset(leaves, 0, sizeof(leaves));
	leaves[0].value = 10;
	leaves[1].value = 20;
	root.value = 15;
	root.left = &leaves[0];
	root.right = &leaves[1];
	roundtrip("tree", txdr_tree, &root, &droot, sizeof(droot), ar);
	CHECK(droot.left->value == 10 && droot.right->value == 20 &&
	      droot.right->right == NULL);

	memset(&h, 0, sizeof(h));
	h.list = &e[1];
	h.root = &root;
	h.maybe = &p;
	h.p = p;
	h.c = GREEN;
	roundtrip("holder", txdr_holder, &h, &dh, sizeof(dh), ar);
	CHECK(dh.maybe != NULL && dh.maybe->z == 7 && dh.c == GREEN);
	h.maybe = NULL;
	roundtrip("holder-none", txdr_holder, &h, &dh, sizeof(dh), ar);
	CHECK(dh.maybe == NULL);
}

/* A list longer than the nesting limit of optional data still codes. */
static void
test_long_list(struct tether_arena *ar)
{
	enum { N = 1000 };
	entry *e = calloc(N, sizeof(*e));
	entry d;
	struct tether_xdr x;
	int i;

	if (e == NULL)
		abort();
	for (i = 0; i < N; i++) {
		e[i].key = "k";
		e[i].value = i;
		e[i].next = i + 1 < N ? &e[i + 1] : NULL;
	}
	tether_xdr_init_encode(&x, a_buf, sizeof(a_buf));
	CHECK(txdr_entry(&x, &e[0]) == 0);
	memset(&d, 0, sizeof(d));
	tether_xdr_init_decode(&x, a_buf, tether_xdr_getpos(&x), 0, ar);
	CHECK(txdr_entry(&x, &d) == 0);
	free(e);
}

static void
test_unions(struct tether_arena *ar)
{
	result r, dr;
	by_enum be, dbe;
	by_bool bb, dbb;
	by_uint bu, dbu;
	struct tether_xdr x;

	memset(&r, 0, sizeof(r));
	r.status = 0;
	r.result_u.ok.x = 42;
	roundtrip("result-ok", txdr_result, &r, &dr, sizeof(dr), ar);
	CHECK(dr.status == 0 && dr.result_u.ok.x == 42);
	r.status = 2;
	CHECK(roundtrip("result-void", txdr_result, &r, &dr, sizeof(dr), ar) ==
	      4);
	r.status = NEGATIVE;
	r.result_u.why = "because";
	roundtrip("result-why", txdr_result, &r, &dr, sizeof(dr), ar);
	CHECK(strcmp(dr.result_u.why, "because") == 0);
	r.status = 99;
	r.result_u.code = -3;
	roundtrip("result-default", txdr_result, &r, &dr, sizeof(dr), ar);
	CHECK(dr.status == 99 && dr.result_u.code == -3);

	memset(&be, 0, sizeof(be));
	be.c = GREEN;
	be.by_enum_u.g.g_len = 2;
	be.by_enum_u.g.g_val = "hi";
	roundtrip("by_enum", txdr_by_enum, &be, &dbe, sizeof(dbe), ar);
	CHECK(dbe.by_enum_u.g.g_len == 2);
	be.c = (color)7;	/* no such arm and no default */
	tether_xdr_init_encode(&x, a_buf, sizeof(a_buf));
	CHECK(txdr_by_enum(&x, &be) != 0);

	bb.has = TRUE;
	bb.by_bool_u.value = -5;
	roundtrip("by_bool", txdr_by_bool, &bb, &dbb, sizeof(dbb), ar);
	CHECK(dbb.has && dbb.by_bool_u.value == -5);

	bu.kind = 0xffffffffu;
	bu.by_uint_u.msg = "max";
	roundtrip("by_uint", txdr_by_uint, &bu, &dbu, sizeof(dbu), ar);
	bu.kind = 7;
	bu.by_uint_u.sp = S_MINUS;
	roundtrip("by_uint-sparse", txdr_by_uint, &bu, &dbu, sizeof(dbu), ar);
	CHECK(dbu.by_uint_u.sp == S_MINUS);
}

static void
test_rejects(struct tether_arena *ar)
{
	struct tether_xdr x;
	unsigned char w[4];
	color c;
	sparse sp;
	name nm;
	char longname[MAXNAME + 2];
	int16_t s16;

	/* enum values outside the definition */
	tether_xdr_store32(w, 3);
	tether_xdr_init_decode(&x, w, 4, 0, ar);
	CHECK(txdr_color(&x, &c) == -TETHER_EBADMSG);
	tether_xdr_store32(w, 2);
	tether_xdr_init_decode(&x, w, 4, 0, ar);
	CHECK(txdr_sparse(&x, &sp) == -TETHER_EBADMSG);
	tether_xdr_store32(w, 10);
	tether_xdr_init_decode(&x, w, 4, 0, ar);
	CHECK(txdr_sparse(&x, &sp) == 0 && sp == S_TEN);

	/* a string over its bound, both ways */
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	nm = longname;
	tether_xdr_init_encode(&x, a_buf, sizeof(a_buf));
	CHECK(txdr_name(&x, &nm) == -TETHER_EOVERFLOW);
	tether_xdr_store32(a_buf, MAXNAME + 1);
	tether_xdr_init_decode(&x, a_buf, 200, 0, ar);
	CHECK(txdr_name(&x, &nm) == -TETHER_EOVERFLOW);

	/* short is 32 bits on the wire; a value that does not fit is bad */
	tether_xdr_store32(w, 70000);
	tether_xdr_init_decode(&x, w, 4, 0, ar);
	CHECK(txdr__i16(&x, &s16) == -TETHER_EBADMSG);
	tether_xdr_store32(w, (uint32_t)-2);
	tether_xdr_init_decode(&x, w, 4, 0, ar);
	CHECK(txdr__i16(&x, &s16) == 0 && s16 == -2);
}

/* bool is an int32_t and long a C long, coded as xdr_bool and xdr_long
 * code them: any non-zero bool encodes as 1, a long that does not fit
 * 32 bits fails to encode (and to size), decoding extends the sign. */
static void
test_bool_long(struct tether_arena *ar)
{
	struct tether_xdr x;
	unsigned char w[4];
	scalars s;
	by_bool bb;
	int32_t b;
	long l;
	unsigned long ul;
	size_t sz;

	b = 5;
	tether_xdr_init_encode(&x, w, 4);
	CHECK(txdr__bool(&x, &b) == 0 && tether_xdr_load32(w) == 1);
	b = -1;
	tether_xdr_init_encode(&x, w, 4);
	CHECK(txdr__bool(&x, &b) == 0 && tether_xdr_load32(w) == 1);
	b = 0;
	tether_xdr_init_encode(&x, w, 4);
	CHECK(txdr__bool(&x, &b) == 0 && tether_xdr_load32(w) == 0);
	tether_xdr_store32(w, 2);
	b = 7;
	tether_xdr_init_decode(&x, w, 4, 0, ar);
	CHECK(txdr__bool(&x, &b) == -TETHER_EBADMSG && b == 7);
	tether_xdr_store32(w, 1);
	tether_xdr_init_decode(&x, w, 4, 0, ar);
	CHECK(txdr__bool(&x, &b) == 0 && b == 1);
	/* a bool discriminant of 2 is no arm: both ways */
	memset(&bb, 0, sizeof(bb));
	bb.has = 2;
	tether_xdr_init_encode(&x, a_buf, sizeof(a_buf));
	CHECK(txdr_by_bool(&x, &bb) == -TETHER_EINVAL);

	tether_xdr_store32(w, 0x80000000u);
	tether_xdr_init_decode(&x, w, 4, 0, ar);
	CHECK(txdr__long(&x, &l) == 0 && l == INT32_MIN);
	tether_xdr_init_decode(&x, w, 4, 0, ar);
	CHECK(txdr__ulong(&x, &ul) == 0 && ul == 0x80000000UL);
	l = INT32_MAX;
	tether_xdr_init_encode(&x, w, 4);
	CHECK(txdr__long(&x, &l) == 0 && tether_xdr_load32(w) == 0x7fffffffu);
#if LONG_MAX > INT32_MAX
	l = (long)INT32_MAX + 1;
	tether_xdr_init_encode(&x, w, 4);
	CHECK(txdr__long(&x, &l) == -TETHER_ERANGE);
	l = (long)INT32_MIN - 1;
	tether_xdr_init_encode(&x, w, 4);
	CHECK(txdr__long(&x, &l) == -TETHER_ERANGE);
	ul = (unsigned long)UINT32_MAX + 1;
	tether_xdr_init_encode(&x, w, 4);
	CHECK(txdr__ulong(&x, &ul) == -TETHER_ERANGE);
	/* in a struct: the whole encode and the sizing fail */
	memset(&s, 0, sizeof(s));
	s.l = LONG_MAX;
	tether_xdr_init_encode(&x, a_buf, sizeof(a_buf));
	CHECK(txdr_scalars(&x, &s) == -TETHER_ERANGE);
	CHECK(tether_xdr_sizeof(txdr_scalars, &s, &sz) == -TETHER_ERANGE);
	s.l = 0;
	s.ul = ULONG_MAX;
	tether_xdr_init_encode(&x, a_buf, sizeof(a_buf));
	CHECK(txdr_scalars(&x, &s) == -TETHER_ERANGE);
	s.ul = 0;
	CHECK(tether_xdr_sizeof(txdr_scalars, &s, &sz) == 0);
#else
	(void)s;
	(void)sz;
#endif
}

static void
test_arguments(struct tether_arena *ar)
{
	all_add_1_argument a = { 3, -4 }, d;
	all_three_1_argument t, dt;
	color cols[2] = { BLUE, RED };

	roundtrip("all_add_1_argument", txdr_all_add_1_argument, &a, &d,
		  sizeof(d), ar);
	CHECK(d.arg1 == 3 && d.arg2 == -4);
	memset(&t, 0, sizeof(t));
	t.arg1.x = 1;
	t.arg2.colors_len = 2;
	t.arg2.colors_val = cols;
	t.arg3 = TRUE;
	roundtrip("all_three_1_argument", txdr_all_three_1_argument, &t, &dt,
		  sizeof(dt), ar);
	CHECK(dt.arg2.colors_val[0] == BLUE && dt.arg3);
}

int
main(void)
{
	struct tether_arena *ar = tether_arena_new(0, 16u << 20);

	if (ar == NULL)
		return 2;
	test_scalars(ar);
	test_point(ar);
	test_arrays(ar);
	test_lists(ar);
	test_long_list(ar);
	test_unions(ar);
	test_rejects(ar);
	test_bool_long(ar);
	test_arguments(ar);
	tether_arena_free(ar);
	if (failures) {
		fprintf(stderr, "roundtrip: %d failures\n", failures);
		return 1;
	}
	printf("roundtrip: all types ok\n");
	return 0;
}
