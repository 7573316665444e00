/*
 * compose.c - composite XDR types driven by codec functions: fixed and
 * variable-length arrays, optional data, linked lists (iterative, so
 * the stack does not grow with the list) and discriminated unions.
 * Codecs that call back into these helpers nest; x->max_depth bounds
 * the nesting so hostile input cannot exhaust the stack.
 *
 * Pointers passed as void ** are read and written with memcpy: the
 * object really is a T *, and memcpy is the defined way to treat it as
 * a void *.
 */
#include "xdr_int.h"

static void *
load_ptr(void *const *pp)
{
	void *p;

	memcpy(&p, pp, sizeof(p));
	return p;
}

static void
store_ptr(void **pp, void *p)
{
	memcpy(pp, &p, sizeof(p));
}

int
tether_xdr_void(struct tether_xdr *x, void *obj)
{
	(void)x;
	(void)obj;
	return 0;
}

int
tether_xdr_codec_u32(struct tether_xdr *x, void *obj)
{
	return tether_xdr_u32(x, obj);
}

int
tether_xdr_codec_i32(struct tether_xdr *x, void *obj)
{
	return tether_xdr_i32(x, obj);
}

int
tether_xdr_codec_u64(struct tether_xdr *x, void *obj)
{
	return tether_xdr_u64(x, obj);
}

int
tether_xdr_codec_i64(struct tether_xdr *x, void *obj)
{
	return tether_xdr_i64(x, obj);
}

int
tether_xdr_codec_bool(struct tether_xdr *x, void *obj)
{
	return tether_xdr_bool(x, obj);
}

int
tether_xdr_codec_float(struct tether_xdr *x, void *obj)
{
	return tether_xdr_float(x, obj);
}

int
tether_xdr_codec_double(struct tether_xdr *x, void *obj)
{
	return tether_xdr_double(x, obj);
}

int
tether_xdr_codec_quad(struct tether_xdr *x, void *obj)
{
	return tether_xdr_quad(x, obj);
}

/* Width of the bulk path a primitive codec maps to, or 0. The 32-bit
 * and 64-bit C types share one representation with their wire words. */
static size_t
bulk_width(tether_xdr_fn *fn, size_t elsize)
{
	if (elsize == 4 && (fn == tether_xdr_codec_u32 ||
			    fn == tether_xdr_codec_i32 ||
			    fn == tether_xdr_codec_float))
		return 4;
	if (elsize == 8 && (fn == tether_xdr_codec_u64 ||
			    fn == tether_xdr_codec_i64 ||
			    fn == tether_xdr_codec_double))
		return 8;
	return 0;
}

static int
code_elements(struct tether_xdr *x, unsigned char *arr, size_t n,
	      size_t elsize, tether_xdr_fn *fn)
{
	size_t i;
	int rc;

	rc = tether__xdr_enter(x);
	if (rc != 0)
		return rc;
	for (i = 0; i < n; i++) {
		rc = fn(x, arr + i * elsize);
		if (rc != 0)
			break;
	}
	tether__xdr_leave(x);
	return rc;
}

int
tether_xdr_vector(struct tether_xdr *x, void *arr, size_t n, size_t elsize,
		  tether_xdr_fn *fn)
{
	switch (bulk_width(fn, elsize)) {
	case 4:
		return tether_xdr_u32_vector(x, arr, n);
	case 8:
		return tether_xdr_u64_vector(x, arr, n);
	}
	if (n != 0 && arr == NULL)
		return tether_xdr_fail(x, -TETHER_EINVAL, "NULL array");
	return code_elements(x, arr, n, elsize, fn);
}

int
tether_xdr_array(struct tether_xdr *x, void **arr, uint32_t *count,
		 uint32_t max, size_t elsize, tether_xdr_fn *fn)
{
	size_t start = x->pos;
	unsigned char *p;
	uint32_t n = 0;
	int rc;

	switch (bulk_width(fn, elsize)) {
	case 4: {
		uint32_t *v = load_ptr(arr);

		rc = tether_xdr_u32_array(x, &v, count, max);
		if (rc == 0 && x->op == TETHER_XDR_DECODE)
			store_ptr(arr, v);
		return rc;
	}
	case 8: {
		uint64_t *v = load_ptr(arr);

		rc = tether_xdr_u64_array(x, &v, count, max);
		if (rc == 0 && x->op == TETHER_XDR_DECODE)
			store_ptr(arr, v);
		return rc;
	}
	}
	if (x->op != TETHER_XDR_DECODE) {
		p = load_ptr(arr);
		if (*count > max)
			return tether_xdr_fail(x, -TETHER_EOVERFLOW,
				"array count exceeds its maximum");
		if (p == NULL && *count != 0)
			return tether_xdr_fail(x, -TETHER_EINVAL,
					       "NULL array");
		rc = tether_xdr_put_u32(x, *count);
		if (rc != 0)
			return rc;
		return code_elements(x, p, *count, elsize, fn);
	}
	rc = tether_xdr_get_u32(x, &n);
	if (rc != 0)
		return rc;
	if (n > max) {
		x->pos = start;
		return tether_xdr_fail(x, -TETHER_EOVERFLOW,
				       "array count exceeds its maximum");
	}
	/* Every element takes at least 4 bytes: a count the bytes left
	 * cannot hold is refused before it sizes an allocation. */
	if (n > tether_xdr_remaining(x) / 4) {
		x->pos = start;
		return tether_xdr_fail(x, -TETHER_ETRUNC,
				       "array count exceeds the bytes left");
	}
	if (elsize != 0 && n > SIZE_MAX / elsize) {
		x->pos = start;
		return tether_xdr_fail(x, -TETHER_EOVERFLOW,
				       "array size overflows");
	}
	p = NULL;
	if (n != 0) {
		p = tether__xdr_alloc(x, (size_t)n * elsize, 16, &rc);
		if (p == NULL) {
			x->pos = start;
			return rc;
		}
		memset(p, 0, (size_t)n * elsize);
	}
	store_ptr(arr, p);
	*count = n;
	return code_elements(x, p, n, elsize, fn);
}

int
tether_xdr_optional(struct tether_xdr *x, void **objp, size_t size,
		    tether_xdr_fn *fn)
{
	void *p;
	bool present = false;
	int rc;

	if (x->op != TETHER_XDR_DECODE) {
		p = load_ptr(objp);
		rc = tether_xdr_put_bool(x, p != NULL);
		if (rc != 0 || p == NULL)
			return rc;
	} else {
		rc = tether_xdr_get_bool(x, &present);
		if (rc != 0)
			return rc;
		if (!present) {
			store_ptr(objp, NULL);
			return 0;
		}
		p = tether__xdr_alloc(x, size, 16, &rc);
		if (p == NULL)
			return rc;
		memset(p, 0, size);
		store_ptr(objp, p);
	}
	rc = tether__xdr_enter(x);
	if (rc != 0)
		return rc;
	rc = fn(x, p);
	tether__xdr_leave(x);
	return rc;
}

int
tether_xdr_list(struct tether_xdr *x, void **headp, size_t size,
		size_t next_off, tether_xdr_fn *fn)
{
	unsigned char *node;
	void **link;
	bool more = false;
	int rc;

	TETHER_BUG_ON(next_off > size || size - next_off < sizeof(void *));
	rc = tether__xdr_enter(x);
	if (rc != 0)
		return rc;
	if (x->op != TETHER_XDR_DECODE) {
		for (node = load_ptr(headp); node != NULL;
		     node = load_ptr((void **)(node + next_off))) {
			rc = tether_xdr_put_bool(x, true);
			if (rc == 0)
				rc = fn(x, node);
			if (rc != 0)
				goto out;
		}
		rc = tether_xdr_put_bool(x, false);
		goto out;
	}
	link = headp;
	store_ptr(link, NULL);
	for (;;) {
		rc = tether_xdr_get_bool(x, &more);
		if (rc != 0 || !more)
			break;
		node = tether__xdr_alloc(x, size, 16, &rc);
		if (node == NULL)
			break;
		/* Zeroed: the node's next is NULL until a successor is
		 * linked, so a failure leaves a well-formed list. */
		memset(node, 0, size);
		store_ptr(link, node);
		rc = fn(x, node);
		if (rc != 0)
			break;
		link = (void **)(node + next_off);
	}
out:
	tether__xdr_leave(x);
	return rc;
}

int
tether_xdr_union(struct tether_xdr *x, int32_t *disc, void *body,
		 const struct tether_xdr_arm *arms, size_t narms,
		 tether_xdr_fn *dflt)
{
	size_t start = x->pos, i;
	tether_xdr_fn *fn = dflt;
	int rc;

	rc = tether_xdr_i32(x, disc);
	if (rc != 0)
		return rc;
	for (i = 0; i < narms; i++)
		if (arms[i].value == *disc) {
			fn = arms[i].fn;
			break;
		}
	if (fn == NULL) {
		if (x->op == TETHER_XDR_DECODE) {
			x->pos = start;
			return tether_xdr_fail(x, -TETHER_EBADMSG,
					       "unknown union discriminant");
		}
		/* Encode: take back the discriminant just written. */
		if (x->op == TETHER_XDR_ENCODE)
			x->pos = start;
		else
			x->sized -= 4;
		return tether_xdr_fail_at(x, -TETHER_EINVAL, start,
					  "no union arm for discriminant");
	}
	rc = tether__xdr_enter(x);
	if (rc != 0)
		return rc;
	rc = fn(x, body);
	tether__xdr_leave(x);
	return rc;
}
