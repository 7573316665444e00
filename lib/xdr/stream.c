/*
 * stream.c - XDR stream set-up, positioning, size mode and the error
 * record. The first failure on a stream is kept; later ones (often
 * consequences of the first) do not overwrite it.
 */
#include "xdr_int.h"

#include <stdio.h>

static void
stream_init(struct tether_xdr *x, enum tether_xdr_op op, void *buf,
	    size_t size, unsigned flags, struct tether_arena *arena)
{
	memset(x, 0, sizeof(*x));
	x->buf = buf;
	x->size = buf != NULL ? size : 0;
	x->op = op;
	x->flags = flags;
	x->arena = arena;
	x->max_depth = TETHER_XDR_MAX_DEPTH;
}

void
tether_xdr_init_encode(struct tether_xdr *x, void *buf, size_t size)
{
	stream_init(x, TETHER_XDR_ENCODE, buf, size, 0, NULL);
}

void
tether_xdr_init_decode(struct tether_xdr *x, const void *buf, size_t size,
		       unsigned flags, struct tether_arena *arena)
{
	/* The buffer is only read unless INPLACE, which this entry point
	 * never sets; the cast keeps one pointer type in the stream. */
	stream_init(x, TETHER_XDR_DECODE, (void *)(uintptr_t)buf, size,
		    flags & ~(unsigned)TETHER_XDR_INPLACE, arena);
}

void
tether_xdr_init_decode_inplace(struct tether_xdr *x, void *buf, size_t size,
			       unsigned flags, struct tether_arena *arena)
{
	stream_init(x, TETHER_XDR_DECODE, buf, size,
		    flags | TETHER_XDR_INPLACE | TETHER_XDR_ZEROCOPY, arena);
}

int
tether_xdr_sizeof(tether_xdr_fn *fn, const void *obj, size_t *size)
{
	struct tether_xdr x;
	int rc;

	stream_init(&x, TETHER_XDR_SIZE, NULL, 0, 0, NULL);
	/* Size mode only reads obj, like encode. */
	rc = fn(&x, (void *)(uintptr_t)obj);
	if (rc == 0)
		*size = x.sized;
	return rc;
}

int
tether_xdr_setpos(struct tether_xdr *x, size_t pos)
{
	if (x->op == TETHER_XDR_SIZE || pos > x->size || (pos & 3) != 0)
		return tether_xdr_fail(x, -TETHER_EINVAL, "bad position");
	x->pos = pos;
	return 0;
}

unsigned char *
tether_xdr_inline(struct tether_xdr *x, size_t n)
{
	unsigned char *p;

	if (x->op == TETHER_XDR_SIZE || (n & 3) != 0) {
		tether_xdr_fail(x, -TETHER_EINVAL, "inline block unusable");
		return NULL;
	}
	if (x->size - x->pos < n) {
		tether__xdr_short(x, n, x->op == TETHER_XDR_ENCODE ?
				  "no room for inline block" :
				  "truncated inline block");
		return NULL;
	}
	p = x->buf + x->pos;
	x->pos += n;
	return p;
}

int
tether__xdr_short(struct tether_xdr *x, size_t n, const char *what)
{
	if (x->op == TETHER_XDR_SIZE) {
		if (x->sized > SIZE_MAX - n)
			return tether_xdr_fail(x, -TETHER_EOVERFLOW,
					       "encoded size overflows");
		x->sized += n;
		return 0;
	}
	return tether_xdr_fail(x, x->op == TETHER_XDR_ENCODE ?
			       -TETHER_ENOSPC : -TETHER_ETRUNC, what);
}

int
tether_xdr_fail_at(struct tether_xdr *x, int code, size_t offset,
		   const char *what)
{
	TETHER_BUG_ON(code >= 0);
	if (x->err.code == 0) {
		x->err.code = code;
		x->err.offset = offset;
		x->err.what = what;
	}
	return code;
}

int
tether_xdr_fail(struct tether_xdr *x, int code, const char *what)
{
	return tether_xdr_fail_at(x, code, tether_xdr_getpos(x), what);
}

char *
tether_xdr_strerror(const struct tether_xdr *x, char *out, size_t n)
{
	if (n == 0)
		return out;
	if (x->err.code == 0)
		snprintf(out, n, "no error");
	else
		snprintf(out, n, "offset %zu: %s (%s)", x->err.offset,
			 x->err.what != NULL ? x->err.what : "?",
			 tether_err_name(x->err.code));
	return out;
}

int
tether__xdr_check_pad(struct tether_xdr *x, size_t at, size_t n)
{
	size_t pad = tether_xdr_pad(n), i;
	const unsigned char *p = x->buf + at + n;

	if (pad == 0 || (x->flags & TETHER_XDR_LENIENT_PAD))
		return 0;
	for (i = 0; i < pad; i++)
		if (p[i] != 0)
			return tether_xdr_fail_at(x, -TETHER_EBADMSG,
						  at + n + i,
						  "non-zero padding byte");
	return 0;
}

void *
tether__xdr_alloc(struct tether_xdr *x, size_t n, size_t align, int *rc)
{
	void *p;

	if (x->arena == NULL) {
		*rc = tether_xdr_fail(x, -TETHER_EINVAL,
				      "decode needs an arena");
		return NULL;
	}
	p = tether_arena_alloc_aligned(x->arena, n, align);
	if (p == NULL) {
		*rc = tether_xdr_fail(x, -TETHER_ENOMEM,
				      "arena allocation failed");
		return NULL;
	}
	*rc = 0;
	return p;
}
