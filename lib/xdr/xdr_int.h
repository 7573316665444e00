/*
 * xdr_int.h - private helpers shared by the files of lib/xdr: bounds
 * checks that also serve size mode, padding checks, nesting depth.
 */
#ifndef TETHER_XDR_INT_H
#define TETHER_XDR_INT_H

#include "tether/xdr.h"

/*
 * Room for n more bytes? Returns 1 when the caller may read/write
 * buf[pos .. pos+n), 0 in size mode (n counted, touch nothing), or the
 * negative error recorded as what.
 */
static inline int
tether__xdr_room(struct tether_xdr *x, size_t n, const char *what)
{
	if (TETHER_LIKELY(x->size - x->pos >= n && x->op != TETHER_XDR_SIZE))
		return 1;
	return tether__xdr_short(x, n, what);
}

/* Check the pad bytes after n data bytes at buf[at]; 0 or -EBADMSG. */
int tether__xdr_check_pad(struct tether_xdr *x, size_t at, size_t n);

/* Write the zero padding after n data bytes at buf[at]. */
static inline void
tether__xdr_zero_pad(struct tether_xdr *x, size_t at, size_t n)
{
	size_t pad = tether_xdr_pad(n);

	if (pad)
		memset(x->buf + at + n, 0, pad);
}

/*
 * Copy n bytes for an opaque or string item. Short items are the common
 * case (names, handles, credentials): a few fixed-size moves beat both
 * a libc call and the "rep movs" GCC emits when it can bound n, and
 * never read past the source.
 */
static inline void
tether__xdr_copy(unsigned char *d, const unsigned char *s, size_t n)
{
	size_t i;

	if (n > 64) {
		memcpy(d, s, n);
	} else if (n >= 8) {
		for (i = 0; i + 8 <= n; i += 8)
			memcpy(d + i, s + i, 8);
		memcpy(d + n - 8, s + n - 8, 8);
	} else if (n >= 4) {
		memcpy(d, s, 4);
		memcpy(d + n - 4, s + n - 4, 4);
	} else {
		for (i = 0; i < n; i++)
			d[i] = s[i];
	}
}

/* Enter / leave a nested codec; -EOVERFLOW past x->max_depth. */
static inline int
tether__xdr_enter(struct tether_xdr *x)
{
	if (TETHER_UNLIKELY(x->depth >= x->max_depth))
		return tether_xdr_fail(x, -TETHER_EOVERFLOW,
				       "nesting deeper than max_depth");
	x->depth++;
	return 0;
}

static inline void
tether__xdr_leave(struct tether_xdr *x)
{
	x->depth--;
}

/* Arena allocation of n (not zeroed) bytes for decode, or NULL with
 * the error recorded and in *rc. */
void *tether__xdr_alloc(struct tether_xdr *x, size_t n, size_t align,
			int *rc /* OUT */);

#endif /* TETHER_XDR_INT_H */
