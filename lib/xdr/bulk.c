/*
 * bulk.c - arrays of 32- and 64-bit primitives. The bounds are checked
 * once per array, then a tight loop with no call and no check per
 * element swaps the bytes; the loops are written so the compiler can
 * vectorise them (restrict, memcpy for unaligned wire words, fixed-size
 * blocks). Per-element calls are where Sun RPC lost half its
 * throughput (O'Malley & al., 1994); this file is why we do not.
 */
#include "xdr_int.h"

/*
 * Blocks of a constant count let -O2's cheap vectoriser handle the
 * body without a runtime trip-count epilogue; the tail is scalar.
 */
#define BULK_BLOCK 16

/*
 * x86-64's baseline (SSE2) has no byte shuffle, so GCC leaves a bswap
 * loop scalar; clones for SSSE3 and AVX2, picked once at load time
 * (ifunc), let it use pshufb. Other targets get the plain loop.
 */
#if defined(__x86_64__) && defined(__linux__) && \
	(defined(__clang__) ? __clang_major__ >= 14 : __GNUC__ >= 8)
#define BULK_CLONES __attribute__((target_clones("avx2", "ssse3", "default")))
#else
#define BULK_CLONES
#endif

/*
 * One element at index j: load the wire word (memcpy: any alignment),
 * swap it, store it. A macro, not a function, so each loop below is
 * the same code it would be written out by hand.
 */
#define SWAP_ONE(T, SWAP, dst, src, j)                           \
	do {                                                     \
		T w_;                                            \
                                                                 \
		memcpy(&w_, (src) + sizeof(T) * (j), sizeof(T)); \
		w_ = SWAP(w_);                                   \
		memcpy((dst) + sizeof(T) * (j), &w_, sizeof(T)); \
	} while (0)

/*
 * swapW_copy(dst, src, n): n W-bit words of type T from src to dst,
 * swapped; blocks of BULK_BLOCK, then the scalar tail.
 */
#define DEFINE_SWAP_COPY(W, T, SWAP)                            \
	BULK_CLONES static void swap##W##_copy(                 \
		unsigned char *restrict dst,                    \
		const unsigned char *restrict src, size_t n)    \
	{                                                       \
		size_t j;                                       \
                                                                \
		for (; n >= BULK_BLOCK; n -= BULK_BLOCK) {      \
			for (j = 0; j < BULK_BLOCK; j++)        \
				SWAP_ONE(T, SWAP, dst, src, j); \
			src += sizeof(T) * BULK_BLOCK;          \
			dst += sizeof(T) * BULK_BLOCK;          \
		}                                               \
		for (j = 0; j < n; j++)                         \
			SWAP_ONE(T, SWAP, dst, src, j);         \
	}

/* swapW_inplace(p, n): the same in place (dst == src), where restrict
 * does not hold, so a loop of its own. */
#define DEFINE_SWAP_INPLACE(W, T, SWAP)                                       \
	BULK_CLONES static void swap##W##_inplace(unsigned char *p, size_t n) \
	{                                                                     \
		size_t j;                                                     \
                                                                              \
		for (; n >= BULK_BLOCK;                                       \
		     n -= BULK_BLOCK, p += sizeof(T) * BULK_BLOCK)            \
			for (j = 0; j < BULK_BLOCK; j++)                      \
				SWAP_ONE(T, SWAP, p, p, j);                   \
		for (j = 0; j < n; j++)                                       \
			SWAP_ONE(T, SWAP, p, p, j);                           \
	}

DEFINE_SWAP_COPY(32, uint32_t, TETHER__XDR_BE32)
DEFINE_SWAP_COPY(64, uint64_t, TETHER__XDR_BE64)
DEFINE_SWAP_INPLACE(32, uint32_t, TETHER__XDR_BE32)
DEFINE_SWAP_INPLACE(64, uint64_t, TETHER__XDR_BE64)

/* Room for n elements of width w: 1 go, 0 sized, <0 error. */
static int
bulk_room(struct tether_xdr *x, size_t n, size_t w, const char *what)
{
	if (n > SIZE_MAX / w)
		return tether_xdr_fail(x, -TETHER_EOVERFLOW,
				       "array byte count overflows");
	return tether__xdr_room(x, n * w, what);
}

int
tether_xdr_put_u32_n(struct tether_xdr *x, const uint32_t *v, size_t n)
{
	int rc = bulk_room(x, n, 4, "no room for the array");

	if (rc <= 0)
		return rc;
	swap32_copy(x->buf + x->pos, (const unsigned char *)v, n);
	x->pos += n * 4;
	return 0;
}

int
tether_xdr_get_u32_n(struct tether_xdr *x, uint32_t *v, size_t n)
{
	int rc = bulk_room(x, n, 4, "truncated array");

	if (rc <= 0)
		return rc;
	swap32_copy((unsigned char *)v, x->buf + x->pos, n);
	x->pos += n * 4;
	return 0;
}

int
tether_xdr_put_u64_n(struct tether_xdr *x, const uint64_t *v, size_t n)
{
	int rc = bulk_room(x, n, 8, "no room for the array");

	if (rc <= 0)
		return rc;
	swap64_copy(x->buf + x->pos, (const unsigned char *)v, n);
	x->pos += n * 8;
	return 0;
}

int
tether_xdr_get_u64_n(struct tether_xdr *x, uint64_t *v, size_t n)
{
	int rc = bulk_room(x, n, 8, "truncated array");

	if (rc <= 0)
		return rc;
	swap64_copy((unsigned char *)v, x->buf + x->pos, n);
	x->pos += n * 8;
	return 0;
}

int
tether_xdr_u32_vector(struct tether_xdr *x, uint32_t *v, size_t n)
{
	if (x->op == TETHER_XDR_DECODE)
		return tether_xdr_get_u32_n(x, v, n);
	return tether_xdr_put_u32_n(x, v, n);
}

int
tether_xdr_u64_vector(struct tether_xdr *x, uint64_t *v, size_t n)
{
	if (x->op == TETHER_XDR_DECODE)
		return tether_xdr_get_u64_n(x, v, n);
	return tether_xdr_put_u64_n(x, v, n);
}

/*
 * Decode a counted array of width-w values: count checked against max
 * and the bytes left before anything is allocated; then swapped in
 * place when the stream allows it and the data is aligned for the C
 * type, else swapped into an arena copy. On failure the cursor does
 * not move.
 */
static int
get_prim_array(struct tether_xdr *x, void **out, uint32_t *count, uint32_t max,
	       size_t w)
{
	size_t start = x->pos;
	uint32_t n;
	unsigned char *src, *dst;
	int rc;

	if (x->size - x->pos < 4)
		return tether__xdr_short(x, 4, "truncated array count");
	n = tether_xdr_load32(x->buf + start);
	if (n > max)
		return tether_xdr_fail(x, -TETHER_EOVERFLOW,
				       "array count exceeds its maximum");
	if ((x->size - start - 4) / w < n)
		return tether_xdr_fail(x, -TETHER_ETRUNC,
				       "array count exceeds the bytes left");
	src = x->buf + start + 4;
	if ((x->flags & TETHER_XDR_INPLACE) &&
	    ((uintptr_t)src & (w - 1)) == 0) {
		dst = src;
		if (w == 4)
			swap32_inplace(dst, n);
		else
			swap64_inplace(dst, n);
	} else {
		dst = tether__xdr_alloc(x, (size_t)n * w, w, &rc);
		if (dst == NULL)
			return rc;
		if (w == 4)
			swap32_copy(dst, src, n);
		else
			swap64_copy(dst, src, n);
	}
	x->pos = start + 4 + (size_t)n * w;
	*out = n != 0 ? dst : NULL;
	*count = n;
	return 0;
}

static int
put_prim_array(struct tether_xdr *x, const void *v, uint32_t count,
	       uint32_t max, size_t w)
{
	size_t need;
	int rc;

	if (count > max)
		return tether_xdr_fail(x, -TETHER_EOVERFLOW,
				       "array count exceeds its maximum");
	if (v == NULL && count != 0)
		return tether_xdr_fail(x, -TETHER_EINVAL, "NULL array");
	if (count > (SIZE_MAX - 4) / w)
		return tether_xdr_fail(x, -TETHER_EOVERFLOW,
				       "array byte count overflows");
	need = 4 + (size_t)count * w;
	rc = tether__xdr_room(x, need, "no room for the array");
	if (rc <= 0)
		return rc;
	tether_xdr_store32(x->buf + x->pos, count);
	if (w == 4)
		swap32_copy(x->buf + x->pos + 4, v, count);
	else
		swap64_copy(x->buf + x->pos + 4, v, count);
	x->pos += need;
	return 0;
}

int
tether_xdr_u32_array(struct tether_xdr *x, uint32_t **v, uint32_t *count,
		     uint32_t max)
{
	void *p;
	int rc;

	if (x->op != TETHER_XDR_DECODE)
		return put_prim_array(x, *v, *count, max, 4);
	rc = get_prim_array(x, &p, count, max, 4);
	if (rc == 0)
		*v = p;
	return rc;
}

int
tether_xdr_u64_array(struct tether_xdr *x, uint64_t **v, uint32_t *count,
		     uint32_t max)
{
	void *p;
	int rc;

	if (x->op != TETHER_XDR_DECODE)
		return put_prim_array(x, *v, *count, max, 8);
	rc = get_prim_array(x, &p, count, max, 8);
	if (rc == 0)
		*v = p;
	return rc;
}
