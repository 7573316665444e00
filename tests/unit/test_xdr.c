/*
 * test_xdr.c - the XDR codec: every RFC 4506 type byte for byte, the
 * section 7 example, strict decoding (lengths, padding, bools, enums,
 * discriminants) with error offsets, zero-copy / arena / in-place
 * decoding, bulk arrays, lists, depth limits, truncation and no-room
 * at every length, and allocation failures.
 */
#include "tether_test.h"

#include <string.h>

#include "tether/xdr.h"

static const unsigned char zeros[64];

/* Encode with fn into buf; assert success and return the length. */
static size_t
encode(tether_xdr_fn *fn, void *obj, unsigned char *buf, size_t size)
{
	struct tether_xdr x;
	size_t sz = 0;

	tether_xdr_init_encode(&x, buf, size);
	assert_int_equal(fn(&x, obj), 0);
	assert_int_equal(x.err.code, 0);
	/* sizeof agrees with what encode wrote. */
	assert_int_equal(tether_xdr_sizeof(fn, obj, &sz), 0);
	assert_int_equal(sz, x.pos);
	return x.pos;
}

/* ---- primitives ---- */

static void
test_primitives_bytes(void **state)
{
	unsigned char buf[64];
	struct tether_xdr x;
	static const unsigned char want[] = {
		0x12, 0x34, 0x56, 0x78,			/* u32 */
		0xff, 0xff, 0xff, 0xfe,			/* i32 -2 */
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* u64 */
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd, /* i64 -3 */
		0x00, 0x00, 0x00, 0x01,			/* true */
		0x00, 0x00, 0x00, 0x00,			/* false */
		0x3f, 0x80, 0x00, 0x00,			/* 1.0f */
		0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* -2.0 */
	};
	uint32_t u32 = 0x12345678, gu32 = 0;
	int32_t i32 = -2, gi32 = 0;
	uint64_t u64 = 0x0102030405060708ull, gu64 = 0;
	int64_t i64 = -3, gi64 = 0;
	bool t = true, f = false, gt = false, gf = true;
	float fl = 1.0f, gfl = 0;
	double d = -2.0, gd = 0;

	(void)state;
	tether_xdr_init_encode(&x, buf, sizeof(buf));
	assert_int_equal(tether_xdr_u32(&x, &u32), 0);
	assert_int_equal(tether_xdr_i32(&x, &i32), 0);
	assert_int_equal(tether_xdr_u64(&x, &u64), 0);
	assert_int_equal(tether_xdr_i64(&x, &i64), 0);
	assert_int_equal(tether_xdr_bool(&x, &t), 0);
	assert_int_equal(tether_xdr_bool(&x, &f), 0);
	assert_int_equal(tether_xdr_float(&x, &fl), 0);
	assert_int_equal(tether_xdr_double(&x, &d), 0);
	assert_int_equal(x.pos, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));

	tether_xdr_init_decode(&x, want, sizeof(want), 0, NULL);
	assert_int_equal(tether_xdr_u32(&x, &gu32), 0);
	assert_int_equal(tether_xdr_i32(&x, &gi32), 0);
	assert_int_equal(tether_xdr_u64(&x, &gu64), 0);
	assert_int_equal(tether_xdr_i64(&x, &gi64), 0);
	assert_int_equal(tether_xdr_bool(&x, &gt), 0);
	assert_int_equal(tether_xdr_bool(&x, &gf), 0);
	assert_int_equal(tether_xdr_float(&x, &gfl), 0);
	assert_int_equal(tether_xdr_double(&x, &gd), 0);
	assert_int_equal(gu32, u32);
	assert_int_equal(gi32, -2);
	assert_true(gu64 == u64);
	assert_true(gi64 == -3);
	assert_true(gt);
	assert_false(gf);
	assert_true(gfl == 1.0f);
	assert_true(gd == -2.0);
	assert_int_equal(tether_xdr_remaining(&x), 0);
	/* One more is truncated, named, at the end offset. */
	assert_tether_err(tether_xdr_u32(&x, &gu32), TETHER_ETRUNC);
	assert_int_equal(x.err.offset, sizeof(want));
	assert_int_equal(x.pos, sizeof(want));
}

static void
test_extreme_ints(void **state)
{
	unsigned char buf[8];
	struct tether_xdr x;
	int32_t v[] = { INT32_MIN, INT32_MAX, 0, -1 };
	int64_t w[] = { INT64_MIN, INT64_MAX };
	size_t i;

	(void)state;
	for (i = 0; i < TETHER_ARRAY_SIZE(v); i++) {
		int32_t g;

		tether_xdr_init_encode(&x, buf, 4);
		assert_int_equal(tether_xdr_put_i32(&x, v[i]), 0);
		tether_xdr_init_decode(&x, buf, 4, 0, NULL);
		assert_int_equal(tether_xdr_get_i32(&x, &g), 0);
		assert_int_equal(g, v[i]);
	}
	for (i = 0; i < TETHER_ARRAY_SIZE(w); i++) {
		int64_t g;

		tether_xdr_init_encode(&x, buf, 8);
		assert_int_equal(tether_xdr_put_i64(&x, w[i]), 0);
		tether_xdr_init_decode(&x, buf, 8, 0, NULL);
		assert_int_equal(tether_xdr_get_i64(&x, &g), 0);
		assert_true(g == w[i]);
	}
	/* INT32_MIN is 80 00 00 00 on the wire. */
	tether_xdr_init_encode(&x, buf, 4);
	assert_int_equal(tether_xdr_put_i32(&x, INT32_MIN), 0);
	assert_memory_equal(buf, "\x80\0\0\0", 4);
}

static void
test_bool_strict(void **state)
{
	static const unsigned char in[] = { 0, 0, 0, 1, 0, 0, 0, 2 };
	struct tether_xdr x;
	bool b = false;
	char msg[128];

	(void)state;
	tether_xdr_init_decode(&x, in, sizeof(in), TETHER_XDR_LENIENT_PAD,
			       NULL);
	assert_int_equal(tether_xdr_get_bool(&x, &b), 0);
	assert_true(b);
	assert_tether_err(tether_xdr_get_bool(&x, &b), TETHER_EBADMSG);
	assert_true(b);		/* untouched */
	assert_int_equal(x.pos, 4);
	assert_int_equal(x.err.offset, 4);
	assert_string_equal(x.err.what, "bool is not 0 or 1");
	tether_xdr_strerror(&x, msg, sizeof(msg));
	assert_string_equal(msg,
		"offset 4: bool is not 0 or 1 (TETHER_EBADMSG)");
	/* The first failure sticks. */
	assert_tether_err(tether_xdr_get_bool(&x, &b), TETHER_EBADMSG);
	x.pos = 8;
	assert_tether_err(tether_xdr_get_u32(&x, &(uint32_t){ 0 }),
			  TETHER_ETRUNC);
	assert_int_equal(x.err.offset, 4);
	assert_int_equal(x.err.code, -TETHER_EBADMSG);
}

static void
test_enum(void **state)
{
	static const int32_t kinds[] = { 0, 1, 2, 7 };
	static const unsigned char in[] = {
		0, 0, 0, 7, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff };
	unsigned char buf[4];
	struct tether_xdr x;
	int32_t e = -5;

	(void)state;
	tether_xdr_init_decode(&x, in, sizeof(in), 0, NULL);
	assert_int_equal(tether_xdr_enum(&x, &e, kinds, 4), 0);
	assert_int_equal(e, 7);
	assert_tether_err(tether_xdr_enum(&x, &e, kinds, 4), TETHER_EBADMSG);
	assert_int_equal(e, 7);
	assert_int_equal(x.err.offset, 4);
	assert_string_equal(x.err.what, "unknown enum value");
	assert_int_equal(x.pos, 4);

	tether_xdr_init_decode(&x, in, sizeof(in), 0, NULL);
	assert_tether_err(tether_xdr_enum_range(&x, &e, 0, 2), TETHER_EBADMSG);
	x.pos = 4;
	assert_int_equal(tether_xdr_enum_range(&x, &e, 0, 3), 0);
	assert_int_equal(e, 3);
	assert_tether_err(tether_xdr_enum_range(&x, &e, 0, 3), TETHER_EBADMSG);
	assert_int_equal(x.err.offset, 0);	/* first failure kept */
	assert_int_equal(tether_xdr_enum_range(&x, &e, -1, 3), 0);
	assert_int_equal(e, -1);

	/* Encoding an unknown value is the caller's bug. */
	tether_xdr_init_encode(&x, buf, sizeof(buf));
	e = 3;
	assert_tether_err(tether_xdr_enum(&x, &e, kinds, 4), TETHER_EINVAL);
	assert_tether_err(tether_xdr_enum_range(&x, &e, 0, 2), TETHER_EINVAL);
	assert_int_equal(x.pos, 0);
	e = 2;
	assert_int_equal(tether_xdr_enum(&x, &e, kinds, 4), 0);
	assert_memory_equal(buf, "\0\0\0\2", 4);
}

static void
test_quad(void **state)
{
	struct tether_xdr_quad q, g;
	unsigned char buf[16];
	size_t i;

	(void)state;
	for (i = 0; i < 16; i++)
		q.bytes[i] = (unsigned char)(0xa0 + i);
	assert_int_equal(encode(tether_xdr_codec_quad, &q, buf, 16), 16);
	assert_memory_equal(buf, q.bytes, 16);
	{
		struct tether_xdr x;

		tether_xdr_init_decode(&x, buf, 15, 0, NULL);
		assert_tether_err(tether_xdr_quad(&x, &g), TETHER_ETRUNC);
		tether_xdr_init_decode(&x, buf, 16, 0, NULL);
		assert_int_equal(tether_xdr_quad(&x, &g), 0);
		assert_memory_equal(g.bytes, q.bytes, 16);
	}
}

/* With a binary128 type, quadruples are IEEE 754 binary128 on the wire,
 * sign and exponent first. */
#ifdef TETHER_XDR_HAVE_FLOAT128
static void
test_quad_binary128(void **state)
{
	static const unsigned char one[16] = { 0x3f, 0xff };
	static const unsigned char minus_two[16] = { 0xc0, 0x00 };
	struct tether_xdr_quad q;
	__extension__ __float128 third = (__float128)1 / 3;

	(void)state;
	tether_xdr_quad_from_f128(&q, 1);
	assert_memory_equal(q.bytes, one, 16);
	tether_xdr_quad_from_f128(&q, -2);
	assert_memory_equal(q.bytes, minus_two, 16);
	assert_true(tether_xdr_quad_to_f128(&q) == -2);
	tether_xdr_quad_from_f128(&q, third);
	/* 1/3 = 0x3ffd 5555...5555 (the last digit rounds to 5). */
	assert_int_equal(q.bytes[0], 0x3f);
	assert_int_equal(q.bytes[1], 0xfd);
	assert_int_equal(q.bytes[2], 0x55);
	assert_int_equal(q.bytes[15], 0x55);
	assert_true(tether_xdr_quad_to_f128(&q) == third);
}
#else
static void
test_quad_binary128(void **state)
{
	(void)state;
	skip();		/* no binary128 type with this compiler */
}
#endif

static void
test_void(void **state)
{
	size_t sz = 99;

	(void)state;
	assert_int_equal(tether_xdr_sizeof(tether_xdr_void, NULL, &sz), 0);
	assert_int_equal(sz, 0);
}

/* ---- opaque and strings ---- */

static void
test_fixed_opaque(void **state)
{
	unsigned char buf[16], out[5];
	struct tether_xdr x;
	static const unsigned char want[] = {
		'h', 'e', 'l', 'l', 'o', 0, 0, 0 };

	(void)state;
	memset(buf, 0xee, sizeof(buf));
	tether_xdr_init_encode(&x, buf, sizeof(buf));
	assert_int_equal(tether_xdr_put_opaque(&x, "hello", 5), 0);
	assert_int_equal(x.pos, 8);
	assert_memory_equal(buf, want, 8);
	/* No room: nothing written, cursor still. */
	tether_xdr_init_encode(&x, buf, 7);
	assert_tether_err(tether_xdr_put_opaque(&x, "hello", 5), TETHER_ENOSPC);
	assert_int_equal(x.pos, 0);

	tether_xdr_init_decode(&x, want, 8, 0, NULL);
	assert_int_equal(tether_xdr_get_opaque(&x, out, 5), 0);
	assert_memory_equal(out, "hello", 5);
	/* Non-zero padding: strict refuses at the bad byte, lenient takes. */
	memcpy(buf, want, 8);
	buf[6] = 1;
	tether_xdr_init_decode(&x, buf, 8, 0, NULL);
	assert_tether_err(tether_xdr_opaque(&x, out, 5), TETHER_EBADMSG);
	assert_int_equal(x.err.offset, 6);
	assert_string_equal(x.err.what, "non-zero padding byte");
	assert_int_equal(x.pos, 0);
	tether_xdr_init_decode(&x, buf, 8, TETHER_XDR_LENIENT_PAD, NULL);
	assert_int_equal(tether_xdr_opaque(&x, out, 5), 0);
	assert_int_equal(x.pos, 8);
	/* Truncated inside the padding. */
	tether_xdr_init_decode(&x, want, 7, 0, NULL);
	assert_tether_err(tether_xdr_get_opaque(&x, out, 5), TETHER_ETRUNC);
}

static void
test_var_opaque(void **state)
{
	static const unsigned char in[] = {
		0, 0, 0, 3, 'a', 'b', 'c', 0,
		0, 0, 0, 0,				/* empty */
		0, 0, 0, 9, 1, 2, 3, 4 };	/* too long for what is left */
	struct tether_arena *a = tether_arena_new(0, 0);
	struct tether_xdr x;
	uint8_t *d = NULL;
	const uint8_t *r = NULL;
	uint32_t len = 0;
	unsigned char buf[16];

	(void)state;
	assert_non_null(a);
	/* Zero-copy points into the buffer. */
	tether_xdr_init_decode(&x, in, sizeof(in), TETHER_XDR_ZEROCOPY, NULL);
	assert_int_equal(tether_xdr_bytes(&x, &d, &len, 3), 0);
	assert_ptr_equal(d, in + 4);
	assert_int_equal(len, 3);
	assert_int_equal(tether_xdr_bytes(&x, &d, &len, 3), 0);
	assert_non_null(d);
	assert_int_equal(len, 0);
	assert_tether_err(tether_xdr_bytes(&x, &d, &len, 100), TETHER_ETRUNC);
	assert_int_equal(x.err.offset, 12);
	assert_string_equal(x.err.what, "length exceeds the bytes left");
	assert_int_equal(x.pos, 12);

	/* Over the maximum is refused before the bytes left are looked at. */
	tether_xdr_init_decode(&x, in, sizeof(in), 0, a);
	assert_tether_err(tether_xdr_bytes(&x, &d, &len, 2), TETHER_EOVERFLOW);
	assert_int_equal(x.err.offset, 0);
	assert_int_equal(x.pos, 0);

	/* Arena copy, NUL-terminated. */
	assert_int_equal(tether_xdr_bytes(&x, &d, &len, 3), 0);
	assert_true(d < in || d >= in + sizeof(in));
	assert_memory_equal(d, "abc", 4);

	/* No arena, no zero-copy: refused. */
	tether_xdr_init_decode(&x, in, sizeof(in), 0, NULL);
	assert_tether_err(tether_xdr_bytes(&x, &d, &len, 3), TETHER_EINVAL);
	assert_int_equal(x.pos, 0);

	/* get_bytes_ref ignores the flags. */
	assert_int_equal(tether_xdr_get_bytes_ref(&x, &r, &len, 3), 0);
	assert_ptr_equal(r, in + 4);

	/* Encode: bytes, padding zeroed, maximum checked. */
	memset(buf, 0xee, sizeof(buf));
	tether_xdr_init_encode(&x, buf, sizeof(buf));
	d = (uint8_t *)"abc";
	len = 3;
	assert_int_equal(tether_xdr_bytes(&x, &d, &len, 3), 0);
	assert_memory_equal(buf, in, 8);
	assert_tether_err(tether_xdr_bytes(&x, &d, &len, 2), TETHER_EOVERFLOW);
	assert_int_equal(x.pos, 8);
	assert_tether_err(tether_xdr_put_bytes(&x, NULL, 1, 5), TETHER_EINVAL);
	assert_int_equal(tether_xdr_put_bytes(&x, NULL, 0, 5), 0);
	assert_tether_err(tether_xdr_put_bytes(&x, "x", 1, 5), TETHER_ENOSPC);
	assert_int_equal(x.pos, 12);
	tether_arena_free(a);
}

static void
test_strings(void **state)
{
	static const unsigned char in[] = {
		0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o', 0, 0, 0 };
	static const unsigned char nul[] = {
		0, 0, 0, 3, 'a', 0, 'b', 0 };
	struct tether_arena *a = tether_arena_new(0, 0);
	unsigned char buf[16], w[12];
	struct tether_xdr x;
	char *s = NULL;
	const char *cs = NULL;
	uint32_t len = 0;

	(void)state;
	assert_non_null(a);
	tether_xdr_init_decode(&x, in, sizeof(in), 0, a);
	assert_int_equal(tether_xdr_string(&x, &s, 5), 0);
	assert_string_equal(s, "hello");
	tether_xdr_init_decode(&x, in, sizeof(in), 0, a);
	assert_tether_err(tether_xdr_string(&x, &s, 4), TETHER_EOVERFLOW);
	/* A C string cannot carry NUL: refused, named. */
	tether_xdr_init_decode(&x, nul, sizeof(nul), 0, a);
	assert_tether_err(tether_xdr_string(&x, &s, 10), TETHER_EBADMSG);
	assert_string_equal(x.err.what, "NUL byte inside a string");
	/* ... the counted form carries it. */
	tether_xdr_init_decode(&x, nul, sizeof(nul), TETHER_XDR_ZEROCOPY, a);
	assert_int_equal(tether_xdr_string_n(&x, &cs, &len, 10), 0);
	assert_int_equal(len, 3);
	assert_ptr_equal(cs, (const char *)nul + 4);
	assert_memory_equal(cs, "a\0b", 3);

	/* In place: moved over the length word and terminated there. */
	memcpy(w, in, sizeof(in));
	tether_xdr_init_decode_inplace(&x, w, sizeof(w), 0, NULL);
	assert_int_equal(tether_xdr_string(&x, &s, 5), 0);
	assert_ptr_equal(s, (char *)w);
	assert_string_equal(s, "hello");
	assert_int_equal(x.pos, 12);

	/* Encode. */
	tether_xdr_init_encode(&x, buf, sizeof(buf));
	s = "hello";
	assert_int_equal(tether_xdr_string(&x, &s, 5), 0);
	assert_memory_equal(buf, in, sizeof(in));
	assert_tether_err(tether_xdr_string(&x, &s, 4), TETHER_EOVERFLOW);
	s = NULL;
	assert_tether_err(tether_xdr_string(&x, &s, 4), TETHER_EINVAL);
	tether_arena_free(a);
}

/* ---- RFC 4506 section 7: the file data structure ---- */

#define MAXUSERNAME 32
#define MAXFILELEN 65535
#define MAXNAMELEN 255

enum filekind { TEXT = 0, DATA = 1, EXEC = 2 };

struct filetype {
	int32_t kind;
	union {
		char *creator;
		char *interpretor;
	} u;
};

struct file {
	char *filename;
	struct filetype type;
	char *owner;
	uint8_t *data;
	uint32_t data_len;
};

static int
codec_name(struct tether_xdr *x, void *obj)
{
	return tether_xdr_string(x, obj, MAXNAMELEN);
}

static int
codec_filetype(struct tether_xdr *x, void *obj)
{
	static const struct tether_xdr_arm arms[] = {
		{ TEXT, tether_xdr_void },
		{ DATA, codec_name },
		{ EXEC, codec_name },
	};
	struct filetype *t = obj;

	return tether_xdr_union(x, &t->kind, &t->u, arms, 3, NULL);
}

static int
codec_file(struct tether_xdr *x, void *obj)
{
	struct file *f = obj;
	int rc;

	if ((rc = tether_xdr_string(x, &f->filename, MAXNAMELEN)) != 0 ||
	    (rc = codec_filetype(x, &f->type)) != 0 ||
	    (rc = tether_xdr_string(x, &f->owner, MAXUSERNAME)) != 0 ||
	    (rc = tether_xdr_bytes(x, &f->data, &f->data_len,
				   MAXFILELEN)) != 0)
		return rc;
	return 0;
}

static const unsigned char rfc_file[48] = {
	0x00, 0x00, 0x00, 0x09, 0x73, 0x69, 0x6c, 0x6c,
	0x79, 0x70, 0x72, 0x6f, 0x67, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x04,
	0x6c, 0x69, 0x73, 0x70, 0x00, 0x00, 0x00, 0x04,
	0x6a, 0x6f, 0x68, 0x6e, 0x00, 0x00, 0x00, 0x06,
	0x28, 0x71, 0x75, 0x69, 0x74, 0x29, 0x00, 0x00,
};

static void
test_rfc4506_file(void **state)
{
	struct file f = {
		.filename = "sillyprog",
		.type = { .kind = EXEC, .u.interpretor = "lisp" },
		.owner = "john",
		.data = (uint8_t *)"(quit)",
		.data_len = 6,
	};
	struct file g;
	unsigned char buf[64];
	struct tether_arena *a = tether_arena_new(0, 0);
	struct tether_xdr x;
	size_t n;

	(void)state;
	assert_non_null(a);
	n = encode(codec_file, &f, buf, sizeof(buf));
	assert_int_equal(n, sizeof(rfc_file));
	assert_memory_equal(buf, rfc_file, sizeof(rfc_file));

	memset(&g, 0, sizeof(g));
	tether_xdr_init_decode(&x, rfc_file, sizeof(rfc_file), 0, a);
	assert_int_equal(codec_file(&x, &g), 0);
	assert_int_equal(x.pos, sizeof(rfc_file));
	assert_string_equal(g.filename, "sillyprog");
	assert_int_equal(g.type.kind, EXEC);
	assert_string_equal(g.type.u.interpretor, "lisp");
	assert_string_equal(g.owner, "john");
	assert_int_equal(g.data_len, 6);
	assert_memory_equal(g.data, "(quit)", 6);

	/* TEXT is a void arm; an unknown kind is refused at its offset. */
	{
		unsigned char m[48];

		memcpy(m, rfc_file, sizeof(m));
		m[19] = TEXT;
		tether_xdr_init_decode(&x, m, 20, 0, a);
		assert_int_equal(tether_xdr_setpos(&x, 16), 0);
		assert_int_equal(codec_filetype(&x, &g.type), 0);
		assert_int_equal(g.type.kind, TEXT);
		assert_int_equal(x.pos, 20);
		m[19] = 9;
		tether_xdr_init_decode(&x, m, sizeof(m), 0, a);
		assert_tether_err(codec_file(&x, &g), TETHER_EBADMSG);
		assert_int_equal(x.err.offset, 16);
		assert_string_equal(x.err.what, "unknown union discriminant");
	}
	tether_arena_free(a);
}

/* Every proper prefix is truncated; every smaller buffer has no room. */
static void
test_rfc4506_every_length(void **state)
{
	struct file f = {
		.filename = "sillyprog",
		.type = { .kind = EXEC, .u.interpretor = "lisp" },
		.owner = "john",
		.data = (uint8_t *)"(quit)",
		.data_len = 6,
	};
	struct tether_arena *a = tether_arena_new(0, 0);
	struct tether_xdr x;
	struct file g;
	size_t n;

	(void)state;
	assert_non_null(a);
	for (n = 0; n < sizeof(rfc_file); n++) {
		unsigned char *in = malloc(n ? n : 1);
		unsigned char *out = malloc(n ? n : 1);

		assert_non_null(in);
		assert_non_null(out);
		memcpy(in, rfc_file, n);
		memset(&g, 0, sizeof(g));
		tether_xdr_init_decode(&x, in, n, 0, a);
		assert_tether_err(codec_file(&x, &g), TETHER_ETRUNC);
		assert_true(x.err.offset <= n);
		tether_xdr_init_encode(&x, out, n);
		assert_tether_err(codec_file(&x, &f), TETHER_ENOSPC);
		assert_true(x.pos <= n);
		free(in);
		free(out);
		tether_arena_reset(a);
	}
	tether_arena_free(a);
}

/* Allocation failures while decoding end in ENOMEM, never a crash. */
static void
test_rfc4506_alloc_failures(void **state)
{
	unsigned long n;
	int ok = 0;

	(void)state;
	for (n = 1; n < 50 && !ok; n++) {
		struct tether_arena *a;
		struct tether_xdr x;
		struct file g;
		int rc;

		tether_alloc_fail_at(n, 0);
		/* Small chunks, so decoding needs several. */
		a = tether_arena_new(16, 0);
		if (a == NULL)
			continue;
		memset(&g, 0, sizeof(g));
		tether_xdr_init_decode(&x, rfc_file, sizeof(rfc_file), 0, a);
		rc = codec_file(&x, &g);
		if (rc == 0) {
			ok = 1;
			assert_string_equal(g.owner, "john");
		} else {
			assert_tether_err(rc, TETHER_ENOMEM);
			assert_string_equal(x.err.what,
					    "arena allocation failed");
		}
		tether_arena_free(a);
	}
	tether_alloc_fail_at(0, 0);
	assert_true(ok);
	assert_true(n > 3);	/* at least a few failures were exercised */
}

/* ---- bulk arrays ---- */

static void
test_u32_array_sizes(void **state)
{
	static const uint32_t sizes[] = { 0, 1, 3, 15, 16, 17, 31, 33, 1000 };
	struct tether_arena *a = tether_arena_new(0, 0);
	size_t k;

	(void)state;
	assert_non_null(a);
	for (k = 0; k < TETHER_ARRAY_SIZE(sizes); k++) {
		uint32_t n = sizes[k], i, gn = 0;
		uint32_t *v = malloc((n + 1) * 4), *g = NULL;
		unsigned char *bulk = malloc(4 + n * 4 + 4);
		unsigned char *one = malloc(4 + n * 4);
		struct tether_xdr x, y;

		assert_non_null(v);
		assert_non_null(bulk);
		assert_non_null(one);
		for (i = 0; i < n; i++)
			v[i] = i * 0x01020304u + 0x0a0b0c0du;
		tether_xdr_init_encode(&x, bulk, 4 + n * 4);
		assert_int_equal(tether_xdr_u32_array(&x, &v, &n, n), 0);
		/* Same bytes as one put per element. */
		tether_xdr_init_encode(&y, one, 4 + n * 4);
		assert_int_equal(tether_xdr_put_u32(&y, n), 0);
		for (i = 0; i < n; i++)
			assert_int_equal(tether_xdr_put_u32(&y, v[i]), 0);
		assert_int_equal(x.pos, y.pos);
		assert_memory_equal(bulk, one, x.pos);

		tether_xdr_init_decode(&x, bulk, 4 + n * 4, 0, a);
		assert_int_equal(tether_xdr_u32_array(&x, &g, &gn, n), 0);
		assert_int_equal(gn, n);
		if (n)
			assert_memory_equal(g, v, n * 4);
		else
			assert_null(g);
		/* Count over the maximum, and over the bytes left. */
		if (n) {
			tether_xdr_init_decode(&x, bulk, 4 + n * 4, 0, a);
			assert_tether_err(tether_xdr_u32_array(&x, &g, &gn,
							       n - 1),
					  TETHER_EOVERFLOW);
			tether_xdr_init_decode(&x, bulk, 4 + n * 4 - 1, 0, a);
			assert_tether_err(tether_xdr_u32_array(&x, &g, &gn, n),
					  TETHER_ETRUNC);
			assert_int_equal(x.pos, 0);
			/* Encode: one byte short, nothing written. */
			tether_xdr_init_encode(&x, bulk, 4 + n * 4 - 1);
			assert_tether_err(tether_xdr_u32_array(&x, &v, &n, n),
					  TETHER_ENOSPC);
			assert_int_equal(x.pos, 0);
			assert_tether_err(tether_xdr_u32_array(&x, &v, &n,
							       n - 1),
					  TETHER_EOVERFLOW);
		}
		free(v);
		free(bulk);
		free(one);
		tether_arena_reset(a);
	}
	tether_arena_free(a);
}

static void
test_u64_and_vectors(void **state)
{
	uint64_t v[37], g[37], *gp = NULL, *vp = v;
	uint32_t u[5] = { 1, 2, 3, 4, 5 }, gu[5];
	unsigned char buf[4 + 37 * 8];
	struct tether_arena *a = tether_arena_new(0, 0);
	struct tether_xdr x;
	uint32_t n = 37, gn;
	size_t i;

	(void)state;
	assert_non_null(a);
	for (i = 0; i < 37; i++)
		v[i] = 0x0102030405060708ull * (i + 1);
	tether_xdr_init_encode(&x, buf, sizeof(buf));
	assert_int_equal(tether_xdr_u64_array(&x, &vp, &n, 100), 0);
	for (i = 0; i < 37; i++)
		assert_true(tether_xdr_load64(buf + 4 + 8 * i) == v[i]);
	tether_xdr_init_decode(&x, buf, sizeof(buf), 0, a);
	assert_int_equal(tether_xdr_u64_array(&x, &gp, &gn, 100), 0);
	assert_int_equal(gn, 37);
	assert_memory_equal(gp, v, sizeof(v));
	tether_xdr_init_decode(&x, buf + 4, 36 * 8, 0, NULL);
	assert_tether_err(tether_xdr_u64_vector(&x, g, 37), TETHER_ETRUNC);
	assert_int_equal(x.pos, 0);
	tether_xdr_init_decode(&x, buf + 4, 37 * 8, 0, NULL);
	assert_int_equal(tether_xdr_u64_vector(&x, g, 37), 0);
	assert_memory_equal(g, v, sizeof(v));

	tether_xdr_init_encode(&x, buf, 20);
	assert_int_equal(tether_xdr_u32_vector(&x, u, 5), 0);
	assert_memory_equal(buf, "\0\0\0\1\0\0\0\2\0\0\0\3\0\0\0\4\0\0\0\5",
			    20);
	tether_xdr_init_decode(&x, buf, 20, 0, NULL);
	assert_int_equal(tether_xdr_vector(&x, gu, 5, 4, tether_xdr_codec_i32),
			 0);
	assert_memory_equal(gu, u, 20);
	/* Byte count overflow is caught before the bounds check. */
	assert_tether_err(tether_xdr_get_u64_n(&x, g, SIZE_MAX / 4),
			  TETHER_EOVERFLOW);
	tether_arena_free(a);
}

static void
test_inplace_arrays(void **state)
{
	/* 8-aligned storage so the alignment cases are deterministic. */
	uint64_t store[8];
	unsigned char *buf = (unsigned char *)store;
	struct tether_xdr x;
	uint32_t *g = NULL, n = 0;
	uint64_t *g64 = NULL;
	struct tether_arena *a = tether_arena_new(0, 0);

	(void)state;
	assert_non_null(a);
	tether_xdr_store32(buf, 3);
	tether_xdr_store32(buf + 4, 10);
	tether_xdr_store32(buf + 8, 20);
	tether_xdr_store32(buf + 12, 30);
	tether_xdr_init_decode_inplace(&x, buf, 16, 0, a);
	assert_int_equal(tether_xdr_u32_array(&x, &g, &n, 3), 0);
	assert_ptr_equal(g, (uint32_t *)(buf + 4));
	assert_int_equal(g[0], 10);
	assert_int_equal(g[2], 30);

	/* u64 data at offset 4 of an 8-aligned buffer: copied instead. */
	tether_xdr_store32(buf, 2);
	tether_xdr_store64(buf + 4, 7);
	tether_xdr_store64(buf + 12, 8);
	tether_xdr_init_decode_inplace(&x, buf, 20, 0, a);
	assert_int_equal(tether_xdr_u64_array(&x, &g64, &n, 2), 0);
	assert_true((unsigned char *)g64 < buf ||
		    (unsigned char *)g64 >= buf + 64);
	assert_true(g64[0] == 7 && g64[1] == 8);
	/* ... and at offset 8 (after 4 bytes of something) in place. */
	tether_xdr_store32(buf, 0);
	tether_xdr_store32(buf + 4, 1);
	tether_xdr_store64(buf + 8, 9);
	tether_xdr_init_decode_inplace(&x, buf, 16, 0, NULL);
	assert_int_equal(x.pos, 0);
	x.pos = 4;
	assert_int_equal(tether_xdr_u64_array(&x, &g64, &n, 2), 0);
	assert_ptr_equal(g64, (uint64_t *)(buf + 8));
	assert_true(g64[0] == 9);
	tether_arena_free(a);
}

/* ---- composites: arrays of structs, optional, lists, depth ---- */

struct entry {
	uint64_t fileid;
	char *name;
	uint64_t cookie;
	struct entry *next;
};

static int
codec_entry_fields(struct tether_xdr *x, void *obj)
{
	struct entry *e = obj;
	int rc;

	if ((rc = tether_xdr_u64(x, &e->fileid)) != 0 ||
	    (rc = tether_xdr_string(x, &e->name, 255)) != 0)
		return rc;
	return tether_xdr_u64(x, &e->cookie);
}

static int
codec_entry_list(struct tether_xdr *x, void *obj)
{
	return tether_xdr_list(x, obj, sizeof(struct entry),
			       offsetof(struct entry, next),
			       codec_entry_fields);
}

/* The recursive definition, for comparison: entry then optional next. */
static int
codec_entry_recursive(struct tether_xdr *x, void *obj)
{
	struct entry *e = obj;
	int rc = codec_entry_fields(x, e);

	if (rc != 0)
		return rc;
	return tether_xdr_optional(x, (void **)&e->next, sizeof(*e),
				   codec_entry_recursive);
}

static void
test_list_matches_recursive(void **state)
{
	struct entry e[3] = {
		{ 1, "a", 10, &e[1] }, { 2, "bb", 20, &e[2] },
		{ 3, "ccccc", 30, NULL },
	};
	struct entry *head = e, *g = NULL, *p;
	unsigned char b1[256], b2[256];
	struct tether_arena *a = tether_arena_new(0, 0);
	struct tether_xdr x;
	size_t n1, n2;
	int i;

	(void)state;
	assert_non_null(a);
	n1 = encode(codec_entry_list, &head, b1, sizeof(b1));
	/* optional(head) via the recursive codec gives the same bytes. */
	tether_xdr_init_encode(&x, b2, sizeof(b2));
	assert_int_equal(tether_xdr_optional(&x, (void **)&head, sizeof(*head),
					     codec_entry_recursive), 0);
	n2 = x.pos;
	assert_int_equal(n1, n2);
	assert_memory_equal(b1, b2, n1);

	tether_xdr_init_decode(&x, b1, n1, 0, a);
	assert_int_equal(codec_entry_list(&x, &g), 0);
	assert_int_equal(x.pos, n1);
	for (p = g, i = 0; p != NULL; p = p->next, i++) {
		assert_true(p->fileid == e[i].fileid);
		assert_string_equal(p->name, e[i].name);
		assert_true(p->cookie == e[i].cookie);
	}
	assert_int_equal(i, 3);

	/* Empty list: a single false. */
	head = NULL;
	assert_int_equal(encode(codec_entry_list, &head, b1, sizeof(b1)), 4);
	assert_memory_equal(b1, zeros, 4);
	/* A "more" flag of 2 is refused. */
	b1[3] = 2;
	tether_xdr_init_decode(&x, b1, 4, 0, a);
	assert_tether_err(codec_entry_list(&x, &g), TETHER_EBADMSG);
	assert_null(g);
	tether_arena_free(a);
}

/* 200000 nodes decode and encode without the stack growing. */
static void
test_long_list(void **state)
{
	const size_t n = 200000, per = 4 + 8 + 4 + 8;
	size_t size = n * per + 4, i;
	unsigned char *buf = malloc(size);
	struct tether_arena *a = tether_arena_new(1 << 20, 0);
	struct entry *g = NULL, *p;
	struct tether_xdr x;
	size_t sz;

	(void)state;
	assert_non_null(buf);
	assert_non_null(a);
	for (i = 0; i < n; i++) {
		unsigned char *q = buf + i * per;

		tether_xdr_store32(q, 1);
		tether_xdr_store64(q + 4, i);
		tether_xdr_store32(q + 12, 0);		/* empty name */
		tether_xdr_store64(q + 16, i * 2);
	}
	tether_xdr_store32(buf + n * per, 0);
	tether_xdr_init_decode(&x, buf, size, 0, a);
	assert_int_equal(codec_entry_list(&x, &g), 0);
	for (p = g, i = 0; p != NULL; p = p->next, i++)
		assert_true(p->fileid == i);
	assert_int_equal(i, n);
	assert_int_equal(tether_xdr_sizeof(codec_entry_list, &g, &sz), 0);
	assert_int_equal(sz, size);
	memset(buf, 0xee, size);
	tether_xdr_init_encode(&x, buf, size);
	assert_int_equal(codec_entry_list(&x, &g), 0);
	assert_int_equal(tether_xdr_load32(buf + (n - 1) * per), 1);
	assert_int_equal(tether_xdr_load32(buf + n * per), 0);
	free(buf);
	tether_arena_free(a);
}

/* A recursive type nested past max_depth is refused, not a crash. */
static void
test_depth_limit(void **state)
{
	struct tether_arena *a = tether_arena_new(0, 0);
	size_t levels = TETHER_XDR_MAX_DEPTH + 5, i;
	unsigned char *buf = calloc(levels + 1, 24);
	struct tether_xdr x;
	struct entry *g = NULL;

	(void)state;
	assert_non_null(a);
	assert_non_null(buf);
	/* optional(entry) chained through the recursive codec. */
	for (i = 0; i < levels; i++)
		tether_xdr_store32(buf + i * 24, 1);
	tether_xdr_init_decode(&x, buf, (levels + 1) * 24, 0, a);
	assert_tether_err(tether_xdr_optional(&x, (void **)&g, sizeof(*g),
					      codec_entry_recursive),
			  TETHER_EOVERFLOW);
	assert_string_equal(x.err.what, "nesting deeper than max_depth");
	/* The same data with a higher limit decodes. */
	tether_xdr_init_decode(&x, buf, (levels + 1) * 24, 0, a);
	x.max_depth = (unsigned)levels + 1;
	assert_int_equal(tether_xdr_optional(&x, (void **)&g, sizeof(*g),
					     codec_entry_recursive), 0);
	free(buf);
	tether_arena_free(a);
}

struct pair {
	int32_t a;
	char *s;
};

static int
codec_pair(struct tether_xdr *x, void *obj)
{
	struct pair *p = obj;
	int rc = tether_xdr_i32(x, &p->a);

	return rc != 0 ? rc : tether_xdr_string(x, &p->s, 8);
}

static void
test_struct_array(void **state)
{
	struct pair v[3] = { { 1, "x" }, { -2, "yy" }, { 3, "" } };
	struct pair *vp = v, *g = NULL;
	uint32_t n = 3, gn = 0;
	unsigned char buf[64];
	struct tether_arena *a = tether_arena_new(0, 0);
	struct tether_xdr x;
	size_t len;

	(void)state;
	assert_non_null(a);
	tether_xdr_init_encode(&x, buf, sizeof(buf));
	assert_int_equal(tether_xdr_array(&x, (void **)&vp, &n, 3, sizeof(*v),
					  codec_pair), 0);
	len = x.pos;
	assert_int_equal(len, 4 + 3 * 4 + 8 + 8 + 4);
	assert_tether_err(tether_xdr_array(&x, (void **)&vp, &n, 2, sizeof(*v),
					   codec_pair), TETHER_EOVERFLOW);
	tether_xdr_init_decode(&x, buf, len, 0, a);
	assert_int_equal(tether_xdr_array(&x, (void **)&g, &gn, 3, sizeof(*g),
					  codec_pair), 0);
	assert_int_equal(gn, 3);
	assert_int_equal(g[1].a, -2);
	assert_string_equal(g[1].s, "yy");
	assert_string_equal(g[2].s, "");
	/* A count the remaining bytes cannot hold, before any allocation. */
	tether_xdr_store32(buf, 1000);
	tether_xdr_init_decode(&x, buf, len, 0, a);
	assert_tether_err(tether_xdr_array(&x, (void **)&g, &gn, 5000,
					   sizeof(*g), codec_pair),
			  TETHER_ETRUNC);
	assert_int_equal(x.err.offset, 0);
	tether_arena_free(a);
}

/* A nested message for allocation-failure loops. */
struct nested {
	struct pair *pairs;
	uint32_t npairs;
	struct entry *list;
	struct entry *opt;
	uint32_t *words;
	uint32_t nwords;
	uint8_t *blob;
	uint32_t blob_len;
};

static int
codec_nested(struct tether_xdr *x, void *obj)
{
	struct nested *n = obj;
	int rc;

	if ((rc = tether_xdr_array(x, (void **)&n->pairs, &n->npairs, 10,
				   sizeof(struct pair), codec_pair)) ||
	    (rc = codec_entry_list(x, &n->list)) ||
	    (rc = tether_xdr_optional(x, (void **)&n->opt,
				      sizeof(struct entry),
				      codec_entry_recursive)) ||
	    (rc = tether_xdr_u32_array(x, &n->words, &n->nwords, 100)))
		return rc;
	return tether_xdr_bytes(x, &n->blob, &n->blob_len, 100);
}

static void
test_nested_alloc_failures(void **state)
{
	struct pair pairs[4] = { { 1, "one" }, { 2, "two" }, { 3, "three" },
				 { 4, "four" } };
	struct entry e[3] = {
		{ 1, "alpha", 10, &e[1] }, { 2, "beta", 20, &e[2] },
		{ 3, "gamma", 30, NULL },
	};
	struct entry o = { 9, "opt", 90, &e[2] };
	uint32_t words[40];
	uint8_t blob[50];
	struct nested in = { pairs, 4, e, &o, words, 40, blob, 50 };
	unsigned char buf[1024];
	unsigned long n;
	size_t len, i;
	int every, failures = 0;

	(void)state;
	for (i = 0; i < 40; i++)
		words[i] = (uint32_t)i * 77;
	memset(blob, 0x5a, sizeof(blob));
	len = encode(codec_nested, &in, buf, sizeof(buf));
	for (every = 0; every <= 1; every++) {
		int ok = 0;

		for (n = 1; n < 200 && !ok; n++) {
			struct tether_arena *a;
			struct tether_xdr x;
			struct nested g;
			int rc;

			tether_alloc_fail_at(n, every);
			/* Tiny chunks: nearly every item needs a new one. */
			a = tether_arena_new(32, 0);
			if (a == NULL)
				continue;
			memset(&g, 0, sizeof(g));
			tether_xdr_init_decode(&x, buf, len, 0, a);
			rc = codec_nested(&x, &g);
			if (rc == 0) {
				ok = 1;
				assert_int_equal(x.pos, len);
				assert_string_equal(g.pairs[2].s, "three");
				assert_string_equal(g.list->next->name, "beta");
				assert_string_equal(g.opt->next->name, "gamma");
				assert_int_equal(g.words[39], 39 * 77);
				assert_memory_equal(g.blob, blob, 50);
			} else {
				failures++;
				assert_tether_err(rc, TETHER_ENOMEM);
				assert_int_equal(x.err.code, -TETHER_ENOMEM);
			}
			tether_arena_free(a);
		}
		tether_alloc_fail_at(0, 0);
		assert_true(ok);
	}
	assert_true(failures > 10);
}

/* An arena at its bound refuses like a failed allocation. */
static void
test_arena_bound(void **state)
{
	unsigned char buf[4 + 400];
	struct tether_arena *a = tether_arena_new(64, 256);
	struct tether_xdr x;
	uint32_t *v = NULL, n = 0;

	(void)state;
	assert_non_null(a);
	memset(buf, 0, sizeof(buf));
	tether_xdr_store32(buf, 100);
	tether_xdr_init_decode(&x, buf, sizeof(buf), 0, a);
	assert_tether_err(tether_xdr_u32_array(&x, &v, &n, 100), TETHER_ENOMEM);
	assert_int_equal(x.pos, 0);
	assert_int_equal(x.err.offset, 0);
	tether_arena_free(a);
}

static void
test_union_default(void **state)
{
	static const struct tether_xdr_arm arms[] = {
		{ 1, tether_xdr_codec_u32 },
		{ 2, tether_xdr_void },
	};
	static const unsigned char in[] = {
		0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 9 };
	unsigned char buf[16];
	struct tether_xdr x;
	int32_t d;
	uint64_t body = 0;

	(void)state;
	/* Default arm: a u64. */
	tether_xdr_init_decode(&x, in, sizeof(in), 0, NULL);
	assert_int_equal(tether_xdr_union(&x, &d, &body, arms, 2,
					  tether_xdr_codec_u64), 0);
	assert_int_equal(d, 5);
	assert_true(body == 9);
	/* No default: refused on decode, and on encode. */
	tether_xdr_init_decode(&x, in, sizeof(in), 0, NULL);
	assert_tether_err(tether_xdr_union(&x, &d, &body, arms, 2, NULL),
			  TETHER_EBADMSG);
	assert_int_equal(x.pos, 0);
	tether_xdr_init_encode(&x, buf, sizeof(buf));
	d = 2;
	assert_int_equal(tether_xdr_union(&x, &d, &body, arms, 2, NULL), 0);
	assert_int_equal(x.pos, 4);
	d = 3;
	assert_tether_err(tether_xdr_union(&x, &d, &body, arms, 2, NULL),
			  TETHER_EINVAL);
	assert_int_equal(x.pos, 4);
	assert_int_equal(x.err.offset, 4);
	assert_string_equal(x.err.what, "no union arm for discriminant");
}

static void
test_stream_helpers(void **state)
{
	unsigned char buf[16];
	struct tether_xdr x;
	unsigned char *p;

	(void)state;
	tether_xdr_init_encode(&x, buf, sizeof(buf));
	p = tether_xdr_inline(&x, 8);
	assert_ptr_equal(p, buf);
	tether_xdr_store32(p, 1);
	tether_xdr_store32(p + 4, 2);
	assert_null(tether_xdr_inline(&x, 3));
	assert_tether_err(x.err.code, TETHER_EINVAL);
	assert_null(tether_xdr_inline(&x, 12));
	assert_int_equal(x.pos, 8);
	assert_int_equal(tether_xdr_setpos(&x, 4), 0);
	assert_int_equal(tether_xdr_put_u32(&x, 7), 0);
	assert_int_equal(tether_xdr_load32(buf + 4), 7);
	assert_tether_err(tether_xdr_setpos(&x, 6), TETHER_EINVAL);
	assert_tether_err(tether_xdr_setpos(&x, 20), TETHER_EINVAL);
	assert_int_equal(tether_xdr_pad(5), 3);
	assert_int_equal(tether_xdr_pad(8), 0);
	assert_int_equal(tether_xdr_size_bytes(5), 12);
	{
		char msg[8];

		tether_xdr_strerror(&x, msg, sizeof(msg));
		assert_int_equal(strlen(msg), 7);	/* truncated, ended */
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_primitives_bytes),
		cmocka_unit_test(test_extreme_ints),
		cmocka_unit_test(test_bool_strict),
		cmocka_unit_test(test_enum),
		cmocka_unit_test(test_quad),
		cmocka_unit_test(test_quad_binary128),
		cmocka_unit_test(test_void),
		cmocka_unit_test(test_fixed_opaque),
		cmocka_unit_test(test_var_opaque),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_rfc4506_file),
		cmocka_unit_test(test_rfc4506_every_length),
		cmocka_unit_test(test_rfc4506_alloc_failures),
		cmocka_unit_test(test_u32_array_sizes),
		cmocka_unit_test(test_u64_and_vectors),
		cmocka_unit_test(test_inplace_arrays),
		cmocka_unit_test(test_list_matches_recursive),
		cmocka_unit_test(test_long_list),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_struct_array),
		cmocka_unit_test(test_nested_alloc_failures),
		cmocka_unit_test(test_arena_bound),
		cmocka_unit_test(test_union_default),
		cmocka_unit_test(test_stream_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
