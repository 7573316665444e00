/*
 * fuzz_xdr.c - XDR decoding of a nested type (a struct with unions,
 * bulk and struct arrays, an optional-data list and a recursive tree)
 * strictly, leniently, zero-copy and in place. Invariants: whatever
 * strict decoding accepts re-encodes to exactly the bytes it consumed;
 * every decoding mode that succeeds yields the same values; lenient
 * decoding differs from strict only on padding; failures name where.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tether/xdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_INPUT (64u * 1024)

struct fz_blob {
	uint8_t *data;
	uint32_t len;
};

struct fz_attr {
	int32_t kind;	/* 1: hyper, 2: string<32>, 3: void, else opaque<16> */
	union {
		uint64_t size;
		char *name;
		struct fz_blob blob;
	} u;
};

struct fz_item {
	int32_t id;
	bool flag;
	int32_t color;		/* enum: 0, 1, 2 or 9 */
	struct fz_attr attr;
	const char *label;	/* string<64>, counted */
	uint32_t label_len;
	struct fz_item *next;
};

struct fz_tree {
	uint32_t v;
	struct fz_tree *left;
	struct fz_tree *right;
};

struct fz_msg {
	uint32_t vers;
	int32_t *vals;		/* int<64> */
	uint32_t nvals;
	uint64_t *big;		/* unsigned hyper<16> */
	uint32_t nbig;
	double d;
	uint8_t tag[6];		/* opaque[6] */
	struct fz_attr *attrs;	/* fz_attr<8> */
	uint32_t nattrs;
	struct fz_item *items;	/* list */
	struct fz_tree *tree;	/* optional, recursive */
	struct tether_xdr_quad q;
	float f[3];		/* float[3] */
};

static int
fz_blob(struct tether_xdr *x, void *obj)
{
	struct fz_blob *b = obj;

	return tether_xdr_bytes(x, &b->data, &b->len, 16);
}

static int
fz_name(struct tether_xdr *x, void *obj)
{
	return tether_xdr_string(x, obj, 32);
}

static int
fz_attr(struct tether_xdr *x, void *obj)
{
	static const struct tether_xdr_arm arms[] = {
		{ 1, tether_xdr_codec_u64 },
		{ 2, fz_name },
		{ 3, tether_xdr_void },
	};
	struct fz_attr *a = obj;

	return tether_xdr_union(x, &a->kind, &a->u, arms, 3, fz_blob);
}

static int
fz_item_fields(struct tether_xdr *x, void *obj)
{
	static const int32_t colors[] = { 0, 1, 2, 9 };
	struct fz_item *it = obj;
	int rc;

	if ((rc = tether_xdr_i32(x, &it->id)) ||
	    (rc = tether_xdr_bool(x, &it->flag)) ||
	    (rc = tether_xdr_enum(x, &it->color, colors, 4)) ||
	    (rc = fz_attr(x, &it->attr)))
		return rc;
	return tether_xdr_string_n(x, &it->label, &it->label_len, 64);
}

static int
fz_tree(struct tether_xdr *x, void *obj)
{
	struct fz_tree *t = obj;
	int rc;

	if ((rc = tether_xdr_u32(x, &t->v)) ||
	    (rc = tether_xdr_optional(x, (void **)&t->left, sizeof(*t),
				      fz_tree)))
		return rc;
	return tether_xdr_optional(x, (void **)&t->right, sizeof(*t),
				   fz_tree);
}

static int
fz_msg(struct tether_xdr *x, void *obj)
{
	struct fz_msg *m = obj;
	int rc;

	if ((rc = tether_xdr_u32(x, &m->vers)) ||
	    (rc = tether_xdr_array(x, (void **)&m->vals, &m->nvals, 64, 4,
				   tether_xdr_codec_i32)) ||
	    (rc = tether_xdr_u64_array(x, &m->big, &m->nbig, 16)) ||
	    (rc = tether_xdr_double(x, &m->d)) ||
	    (rc = tether_xdr_opaque(x, m->tag, sizeof(m->tag))) ||
	    (rc = tether_xdr_array(x, (void **)&m->attrs, &m->nattrs, 8,
				   sizeof(struct fz_attr), fz_attr)) ||
	    (rc = tether_xdr_list(x, (void **)&m->items, sizeof(struct fz_item),
				  offsetof(struct fz_item, next),
				  fz_item_fields)) ||
	    (rc = tether_xdr_optional(x, (void **)&m->tree,
				      sizeof(struct fz_tree), fz_tree)) ||
	    (rc = tether_xdr_quad(x, &m->q)))
		return rc;
	return tether_xdr_vector(x, m->f, 3, sizeof(float),
				 tether_xdr_codec_float);
}

/* Decode data[0..size) with flags; on success *used is the length
 * consumed and out holds the re-encoding. Returns the decode result. */
static int
decode_encode(const uint8_t *data, size_t size, unsigned flags, int inplace,
	      struct tether_arena *a, unsigned char *out, size_t *used)
{
	struct tether_xdr x, y;
	struct fz_msg m;
	unsigned char *copy = NULL;
	size_t sz = 0;
	int rc;

	memset(&m, 0, sizeof(m));
	if (inplace) {
		copy = malloc(size ? size : 1);
		if (copy == NULL)
			abort();
		memcpy(copy, data, size);
		tether_xdr_init_decode_inplace(&x, copy, size, flags, a);
	} else {
		tether_xdr_init_decode(&x, data, size, flags, a);
	}
	rc = fz_msg(&x, &m);
	if (rc != 0) {
		/* A failure is recorded, named and placed in the input. */
		if (rc != x.err.code || x.err.what == NULL ||
		    x.err.offset > size)
			abort();
		goto out;
	}
	*used = x.pos;
	if (*used > size || (*used & 3) != 0)
		abort();
	tether_xdr_init_encode(&y, out, *used);
	if (fz_msg(&y, &m) != 0 || y.pos != *used)
		abort();
	if (tether_xdr_sizeof(fz_msg, &m, &sz) != 0 || sz != *used)
		abort();
out:
	free(copy);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tether_arena *a;
	unsigned char *strict_out, *other_out;
	size_t strict_used = 0, used = 0;
	int strict_rc, rc;

	if (size > FZ_MAX_INPUT)
		return 0;
	/* Bounded memory: hostile counts must fail, not exhaust. */
	a = tether_arena_new(0, 4u << 20);
	strict_out = malloc(size + 4);
	other_out = malloc(size + 4);
	if (a == NULL || strict_out == NULL || other_out == NULL)
		abort();

	strict_rc = decode_encode(data, size, 0, 0, a, strict_out,
				  &strict_used);
	if (strict_rc == 0 && memcmp(strict_out, data, strict_used) != 0)
		abort();	/* strict: canonical, so bytes round trip */

	/* Zero-copy and in place read the same values as copying. */
	tether_arena_reset(a);
	rc = decode_encode(data, size, TETHER_XDR_ZEROCOPY, 0, a, other_out,
			   &used);
	if (rc != strict_rc || (rc == 0 && (used != strict_used ||
		memcmp(other_out, strict_out, used) != 0)))
		abort();
	tether_arena_reset(a);
	rc = decode_encode(data, size, 0, 1, a, other_out, &used);
	if ((rc == 0) != (strict_rc == 0) || (rc == 0 &&
		(used != strict_used ||
		 memcmp(other_out, strict_out, used) != 0)))
		abort();

	/* Lenient accepts a superset; where it alone accepts, the input
	 * had non-zero padding, and its re-encoding is strict-clean. */
	tether_arena_reset(a);
	rc = decode_encode(data, size, TETHER_XDR_LENIENT_PAD, 0, a,
			   other_out, &used);
	if (strict_rc == 0 && (rc != 0 || used != strict_used ||
			       memcmp(other_out, strict_out, used) != 0))
		abort();
	if (rc == 0 && strict_rc != 0) {
		unsigned char *again = malloc(used + 4);
		size_t used2 = 0;

		if (again == NULL)
			abort();
		tether_arena_reset(a);
		if (decode_encode(other_out, used, 0, 0, a, again,
				  &used2) != 0 || used2 != used ||
		    memcmp(again, other_out, used) != 0)
			abort();
		free(again);
	}

	free(strict_out);
	free(other_out);
	tether_arena_free(a);
	return 0;
}
