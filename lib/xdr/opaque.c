/*
 * opaque.c - byte-oriented XDR items: fixed and variable-length opaque,
 * strings (C and counted), quadruple floats, and enum checks. Every
 * length from the wire is checked against the declared maximum and the
 * bytes left before it is used, and padding must be zero unless the
 * stream is lenient.
 */
#include "xdr_int.h"

int
tether_xdr_put_opaque(struct tether_xdr *x, const void *p, size_t n)
{
	size_t total = n + tether_xdr_pad(n);
	int rc;

	if (total < n)
		return tether_xdr_fail(x, -TETHER_EOVERFLOW,
				       "opaque length overflows");
	rc = tether__xdr_room(x, total, "no room for opaque data");
	if (rc <= 0)
		return rc;
	tether__xdr_copy(x->buf + x->pos, p, n);
	tether__xdr_zero_pad(x, x->pos, n);
	x->pos += total;
	return 0;
}

int
tether_xdr_get_opaque(struct tether_xdr *x, void *p, size_t n)
{
	size_t total = n + tether_xdr_pad(n);
	int rc;

	if (total < n || x->size - x->pos < total)
		return tether__xdr_short(x, total, "truncated opaque data");
	rc = tether__xdr_check_pad(x, x->pos, n);
	if (rc != 0)
		return rc;
	tether__xdr_copy(p, x->buf + x->pos, n);
	x->pos += total;
	return 0;
}

int
tether_xdr_opaque(struct tether_xdr *x, void *p, size_t n)
{
	if (x->op == TETHER_XDR_DECODE)
		return tether_xdr_get_opaque(x, p, n);
	return tether_xdr_put_opaque(x, p, n);
}

int
tether_xdr_quad(struct tether_xdr *x, struct tether_xdr_quad *q)
{
	return tether_xdr_opaque(x, q->bytes, sizeof(q->bytes));
}

int
tether_xdr_put_bytes(struct tether_xdr *x, const void *data, uint32_t len,
		     uint32_t max)
{
	size_t total = tether_xdr_size_bytes(len);
	int rc;

	if (len > max)
		return tether_xdr_fail(x, -TETHER_EOVERFLOW,
				       "length exceeds its maximum");
	if (data == NULL && len != 0)
		return tether_xdr_fail(x, -TETHER_EINVAL, "NULL data");
	rc = tether__xdr_room(x, total, "no room for variable-length data");
	if (rc <= 0)
		return rc;
	tether_xdr_store32(x->buf + x->pos, len);
	tether__xdr_copy(x->buf + x->pos + 4, data, len);
	tether__xdr_zero_pad(x, x->pos + 4, len);
	x->pos += total;
	return 0;
}

/*
 * The decode side of every counted item: read the length, check it
 * against max and the bytes left, check the padding, and advance past
 * the item. *at gets the offset of the data. On failure the cursor
 * does not move; the error offset is the length word's (or the bad pad
 * byte's).
 */
static int
get_counted(struct tether_xdr *x, uint32_t max, size_t *at /* OUT */,
	    uint32_t *len /* OUT */)
{
	size_t start = x->pos, total;
	uint32_t n;
	int rc;

	if (x->size - x->pos < 4)
		return tether__xdr_short(x, 4, "truncated length");
	n = tether_xdr_load32(x->buf + start);
	if (n > max)
		return tether_xdr_fail(x, -TETHER_EOVERFLOW,
				       "length exceeds its maximum");
	total = tether_xdr_size_bytes(n);
	if (total < n || x->size - start < total)
		return tether_xdr_fail(x, -TETHER_ETRUNC,
				       "length exceeds the bytes left");
	rc = tether__xdr_check_pad(x, start + 4, n);
	if (rc != 0)
		return rc;
	x->pos = start + total;
	*at = start + 4;
	*len = n;
	return 0;
}

int
tether_xdr_get_bytes_ref(struct tether_xdr *x, const uint8_t **data,
			 uint32_t *len, uint32_t max)
{
	size_t at;
	int rc = get_counted(x, max, &at, len);

	if (rc == 0)
		*data = x->buf + at;
	return rc;
}

/* Decode counted data: zero-copy or an arena copy (NUL-terminated,
 * which costs one byte and makes counted strings usable as C strings). */
static int
get_counted_data(struct tether_xdr *x, uint32_t max, void **data,
		 uint32_t *len)
{
	size_t start = x->pos, at;
	uint32_t n;
	unsigned char *p;
	int rc = get_counted(x, max, &at, &n);

	if (rc != 0)
		return rc;
	if (x->flags & (TETHER_XDR_ZEROCOPY | TETHER_XDR_INPLACE)) {
		p = x->buf + at;
	} else {
		p = tether__xdr_alloc(x, (size_t)n + 1, 1, &rc);
		if (p == NULL) {
			x->pos = start;
			return rc;
		}
		tether__xdr_copy((unsigned char *)p, x->buf + at, n);
		p[n] = '\0';
	}
	*data = p;
	*len = n;
	return 0;
}

int
tether_xdr_bytes(struct tether_xdr *x, uint8_t **data, uint32_t *len,
		 uint32_t max)
{
	void *p;
	int rc;

	if (x->op != TETHER_XDR_DECODE)
		return tether_xdr_put_bytes(x, *data, *len, max);
	rc = get_counted_data(x, max, &p, len);
	if (rc == 0)
		*data = p;
	return rc;
}

int
tether_xdr_string_n(struct tether_xdr *x, const char **s, uint32_t *len,
		    uint32_t max)
{
	void *p;
	int rc;

	if (x->op != TETHER_XDR_DECODE)
		return tether_xdr_put_bytes(x, *s, *len, max);
	rc = get_counted_data(x, max, &p, len);
	if (rc == 0)
		*s = p;
	return rc;
}

int
tether_xdr_string(struct tether_xdr *x, char **s, uint32_t max)
{
	size_t start = x->pos, at, slen;
	uint32_t n;
	char *p;
	int rc;

	if (x->op != TETHER_XDR_DECODE) {
		if (*s == NULL)
			return tether_xdr_fail(x, -TETHER_EINVAL,
					       "NULL string");
		/* Bounded: a huge string costs no more than max + 1. */
		slen = strnlen(*s, (size_t)max + 1);
		if (slen > max)
			return tether_xdr_fail(x, -TETHER_EOVERFLOW,
				"string longer than its maximum");
		return tether_xdr_put_bytes(x, *s, (uint32_t)slen, max);
	}
	rc = get_counted(x, max, &at, &n);
	if (rc != 0)
		return rc;
	if (n != 0 && memchr(x->buf + at, 0, n) != NULL) {
		x->pos = start;
		return tether_xdr_fail_at(x, -TETHER_EBADMSG, start,
					  "NUL byte inside a string");
	}
	if (x->flags & TETHER_XDR_INPLACE) {
		/* The length word is dead once read: slide the text over it
		 * and terminate it inside the item's own bytes. */
		p = (char *)x->buf + start;
		memmove(p, x->buf + at, n);
		p[n] = '\0';
	} else {
		p = tether__xdr_alloc(x, (size_t)n + 1, 1, &rc);
		if (p == NULL) {
			x->pos = start;
			return rc;
		}
		tether__xdr_copy((unsigned char *)p, x->buf + at, n);
		p[n] = '\0';
	}
	*s = p;
	return 0;
}

int
tether_xdr_enum(struct tether_xdr *x, int32_t *v, const int32_t *values,
		size_t n)
{
	size_t start = x->pos, i;
	int32_t e;
	int rc;

	if (x->op != TETHER_XDR_DECODE) {
		for (i = 0; i < n; i++)
			if (values[i] == *v)
				return tether_xdr_put_i32(x, *v);
		return tether_xdr_fail(x, -TETHER_EINVAL,
				       "encoding an unknown enum value");
	}
	rc = tether_xdr_get_i32(x, &e);
	if (rc != 0)
		return rc;
	for (i = 0; i < n; i++)
		if (values[i] == e) {
			*v = e;
			return 0;
		}
	x->pos = start;
	return tether_xdr_fail(x, -TETHER_EBADMSG, "unknown enum value");
}

int
tether_xdr_enum_range(struct tether_xdr *x, int32_t *v, int32_t lo,
		      int32_t hi)
{
	int32_t e;
	int rc;

	if (x->op != TETHER_XDR_DECODE) {
		if (*v < lo || *v > hi)
			return tether_xdr_fail(x, -TETHER_EINVAL,
				"encoding an unknown enum value");
		return tether_xdr_put_i32(x, *v);
	}
	rc = tether_xdr_get_i32(x, &e);
	if (rc != 0)
		return rc;
	if (e < lo || e > hi) {
		x->pos -= 4;
		return tether_xdr_fail(x, -TETHER_EBADMSG,
				       "unknown enum value");
	}
	*v = e;
	return 0;
}
