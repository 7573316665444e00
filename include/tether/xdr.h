/*
 * tether/xdr.h - XDR (RFC 4506) encoding and decoding in place over
 * caller buffers: inline primitives for generated code, bulk paths for
 * arrays of 32/64-bit values, composite helpers (arrays, optional data,
 * linked lists, unions) driven by per-type codec functions.
 */
#ifndef TETHER_XDR_H
#define TETHER_XDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tether/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * How the pieces fit.
 *
 * A struct tether_xdr is a cursor over one contiguous caller buffer. It
 * encodes, decodes or sizes (counts the bytes an encode would write,
 * without writing). The caller owns the buffer; the stream allocates
 * nothing on encode. Decoded variable-length data either points into
 * the receive buffer (TETHER_XDR_ZEROCOPY) or is copied into the
 * stream's arena (struct tether_arena, reset by the owner after the
 * call); nothing decoded is ever malloc'ed on its own, so there is no
 * "free" direction.
 *
 * Every function returns 0 or -TETHER_E*. The first failure is also
 * recorded in x->err (code, byte offset of the failing item, a static
 * string naming what was wrong); later failures do not overwrite it.
 * Error codes:
 *   -TETHER_ETRUNC     decode: the buffer ends inside an item
 *   -TETHER_ENOSPC     encode: the buffer is full
 *   -TETHER_EOVERFLOW  a length or count exceeds its declared maximum,
 *                      or count * element size overflows; nesting
 *                      deeper than x->max_depth
 *   -TETHER_EBADMSG    decode: a bool not 0/1, an unknown enum value or
 *                      union discriminant, non-zero padding (strict),
 *                      a NUL inside a string decoded as a C string
 *   -TETHER_EINVAL     wrong use: decode that needs an arena without
 *                      one, encode of a union discriminant no arm takes,
 *                      a NULL pointer where data was required
 *   -TETHER_ENOMEM     the arena refused an allocation
 *
 * Codecs. A codec function codes one object of one type in whichever
 * direction the stream is (x->op), like rpcgen's xdr_<type> routines:
 * encode reads *obj, decode fills *obj, size only counts. tether-rpcgen
 * emits one per type; the composite helpers below take them. A codec
 * returns 0 or -TETHER_E*, and on failure x->err says why and where.
 *
 * C mapping used by the helpers: int -> int32_t, unsigned int ->
 * uint32_t, hyper -> int64_t, unsigned hyper -> uint64_t, bool -> bool,
 * enum -> int32_t on the wire (the codec converts), float/double ->
 * float/double, quadruple -> struct tether_xdr_quad, opaque<> ->
 * uint8_t * + uint32_t length, string<> -> char * (NUL-terminated), or
 * const char * + uint32_t length (counted), T<> -> T * + uint32_t
 * count, T * (optional) -> T * (NULL when absent).
 */

struct tether_xdr;

typedef int tether_xdr_fn(struct tether_xdr *x, void *obj);

enum tether_xdr_op {
	TETHER_XDR_ENCODE = 1,
	TETHER_XDR_DECODE = 2,
	TETHER_XDR_SIZE = 3	/* count bytes only (tether_xdr_sizeof) */
};

/* Stream flags (x->flags). */
enum {
	/* Decode: accept non-zero padding bytes (peers that send garbage).
	 * Without it padding must be zero. */
	TETHER_XDR_LENIENT_PAD = 1u << 0,
	/* Decode: variable-length opaque and counted strings point into the
	 * receive buffer instead of being copied into the arena. */
	TETHER_XDR_ZEROCOPY = 1u << 1,
	/* Decode: the buffer is writable and may be changed. Arrays of
	 * 32/64-bit values are byte-swapped in place and returned pointing
	 * into the buffer when it is suitably aligned (else copied), and
	 * NUL-terminated strings are moved 4 bytes back over their length
	 * word and terminated in place. Implies TETHER_XDR_ZEROCOPY. Set
	 * only through tether_xdr_init_decode_inplace. */
	TETHER_XDR_INPLACE = 1u << 2
};

/* Nesting of optional data / codecs that recurse, before -EOVERFLOW. */
#define TETHER_XDR_MAX_DEPTH 64

/* The first failure on a stream. */
struct tether_xdr_error {
	int code;		/* 0 or -TETHER_E* */
	size_t offset;		/* byte offset where the failing item starts */
	const char *what;	/* static text: what was wrong; NULL if ok */
};

/*
 * The stream. Layout public so it can live on the stack; fields are
 * read-only to callers unless marked otherwise.
 * Invariant (encode, decode): pos <= size, and pos is a multiple of 4
 * whenever a helper returns successfully (every XDR item pads to 4).
 */
struct tether_xdr {
	unsigned char *buf;	/* private: the caller's buffer */
	size_t size;		/* private: its length (0 in size mode) */
	size_t pos;		/* read-only: offset of the next item */
	size_t sized;		/* private: size mode byte count */
	enum tether_xdr_op op;	/* read-only */
	unsigned flags;		/* read-write: TETHER_XDR_LENIENT_PAD,
				 * TETHER_XDR_ZEROCOPY (not INPLACE) */
	struct tether_arena *arena; /* read-write: where decode copies */
	unsigned depth;		/* private */
	unsigned max_depth;	/* read-write: TETHER_XDR_MAX_DEPTH default */
	struct tether_xdr_error err; /* read-only: the first failure */
};

/* ------------------------------------------------------------------ */
/* Streams                                                             */
/* ------------------------------------------------------------------ */

/* Encode into buf[0..size). The stream keeps buf; nothing is copied. */
void tether_xdr_init_encode(struct tether_xdr *x, void *buf, size_t size);

/*
 * Decode from buf[0..size), which is only read. flags: LENIENT_PAD,
 * ZEROCOPY. arena (may be NULL) receives decoded variable-length data
 * that is not zero-copy; decoded pointers live as long as the arena's
 * current epoch (and, for zero-copy, as long as buf).
 */
void tether_xdr_init_decode(struct tether_xdr *x, const void *buf,
			    size_t size, unsigned flags,
			    struct tether_arena *arena);

/* Decode from a writable buffer, with TETHER_XDR_INPLACE set (see the
 * flag). buf's contents are undefined for re-decoding afterwards. */
void tether_xdr_init_decode_inplace(struct tether_xdr *x, void *buf,
				    size_t size, unsigned flags,
				    struct tether_arena *arena);

/*
 * tether_xdr_sizeof - the number of bytes fn would write encoding obj.
 * Returns 0 and sets *size, or the error the codec returned (e.g.
 * -TETHER_EOVERFLOW for a string over its maximum). Allocates nothing.
 */
int tether_xdr_sizeof(tether_xdr_fn *fn, const void *obj,
		      size_t *size /* OUT */);

/* Bytes coded so far (the size count in size mode). */
static inline size_t
tether_xdr_getpos(const struct tether_xdr *x)
{
	return x->op == TETHER_XDR_SIZE ? x->sized : x->pos;
}

/* Bytes left in the buffer (0 in size mode). */
static inline size_t
tether_xdr_remaining(const struct tether_xdr *x)
{
	return x->size - x->pos;
}

/*
 * Move the cursor to pos (<= size, a multiple of 4), e.g. to go back
 * and fill in a length. -TETHER_EINVAL otherwise (and in size mode).
 */
int tether_xdr_setpos(struct tether_xdr *x, size_t pos);

/*
 * tether_xdr_inline - reserve the next n bytes (n a multiple of 4) and
 * return a pointer to them, advancing the cursor: on encode the caller
 * writes them (e.g. a block of fixed-size fields), on decode it reads
 * them. Returns NULL and records -TETHER_ETRUNC / -TETHER_ENOSPC when
 * fewer than n bytes are left, -TETHER_EINVAL if n is not a multiple
 * of 4 or in size mode (callers fall back to the per-item helpers).
 */
unsigned char *tether_xdr_inline(struct tether_xdr *x, size_t n);

/*
 * tether_xdr_fail - record a failure found by a codec (e.g. a value its
 * type forbids) at the current position, unless one is recorded
 * already. code is negative; what is a static string. Returns code so
 * that a codec can `return tether_xdr_fail(x, -TETHER_EBADMSG, "...")`.
 * tether_xdr_fail_at does the same at a given offset.
 */
int tether_xdr_fail(struct tether_xdr *x, int code, const char *what);
int tether_xdr_fail_at(struct tether_xdr *x, int code, size_t offset,
		       const char *what);

/*
 * tether_xdr_strerror - format x->err for people:
 * "offset 12: bool is not 0 or 1 (TETHER_EBADMSG)" into out[0..n),
 * always NUL-terminated when n > 0. Returns out.
 */
char *tether_xdr_strerror(const struct tether_xdr *x, char *out, size_t n);

/* Bytes of padding after n bytes of data, and the encoded size of
 * variable-length opaque / string data of n bytes (length included). */
static inline size_t
tether_xdr_pad(size_t n)
{
	return (4 - (n & 3)) & 3;
}

static inline size_t
tether_xdr_size_bytes(size_t n)
{
	return 4 + n + tether_xdr_pad(n);
}

/* ------------------------------------------------------------------ */
/* Inline primitives                                                   */
/* ------------------------------------------------------------------ */

/*
 * Internal: the out-of-line path taken when fewer than n bytes remain.
 * In size mode it counts n and returns 0 (the caller then writes
 * nothing); otherwise records -TETHER_ENOSPC / -TETHER_ETRUNC naming
 * what, and returns it.
 */
int tether__xdr_short(struct tether_xdr *x, size_t n, const char *what);

#if defined(__GNUC__) || defined(__clang__)
#define TETHER__XDR_BSWAP32(v) __builtin_bswap32(v)
#define TETHER__XDR_BSWAP64(v) __builtin_bswap64(v)
#else
#define TETHER__XDR_BSWAP32(v)                                          \
	((((v) & 0xffu) << 24) | (((v) & 0xff00u) << 8) |                  \
	 (((v) >> 8) & 0xff00u) | ((v) >> 24))
#define TETHER__XDR_BSWAP64(v)                                          \
	(((uint64_t)TETHER__XDR_BSWAP32((uint32_t)(v)) << 32) |            \
	 TETHER__XDR_BSWAP32((uint32_t)((v) >> 32)))
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define TETHER__XDR_BE32(v) (v)
#define TETHER__XDR_BE64(v) (v)
#else
#define TETHER__XDR_BE32(v) TETHER__XDR_BSWAP32(v)
#define TETHER__XDR_BE64(v) TETHER__XDR_BSWAP64(v)
#endif

/* Unchecked load/store of a big-endian word at p (any alignment). For
 * code that reserved the room with tether_xdr_inline. */
static inline uint32_t
tether_xdr_load32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return TETHER__XDR_BE32(v);
}

static inline void
tether_xdr_store32(unsigned char *p, uint32_t v)
{
	v = TETHER__XDR_BE32(v);
	memcpy(p, &v, 4);
}

static inline uint64_t
tether_xdr_load64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return TETHER__XDR_BE64(v);
}

static inline void
tether_xdr_store64(unsigned char *p, uint64_t v)
{
	v = TETHER__XDR_BE64(v);
	memcpy(p, &v, 8);
}

/*
 * Directional primitives: put_* encode (or count in size mode), get_*
 * decode. Each checks the bytes left first; on failure nothing is
 * written to *v and the cursor does not move.
 */
static inline int
tether_xdr_put_u32(struct tether_xdr *x, uint32_t v)
{
	if (TETHER_UNLIKELY(x->size - x->pos < 4))
		return tether__xdr_short(x, 4, "no room for a 32-bit item");
	tether_xdr_store32(x->buf + x->pos, v);
	x->pos += 4;
	return 0;
}

static inline int
tether_xdr_get_u32(struct tether_xdr *x, uint32_t *v /* OUT */)
{
	if (TETHER_UNLIKELY(x->size - x->pos < 4))
		return tether__xdr_short(x, 4, "truncated 32-bit item");
	*v = tether_xdr_load32(x->buf + x->pos);
	x->pos += 4;
	return 0;
}

static inline int
tether_xdr_put_u64(struct tether_xdr *x, uint64_t v)
{
	if (TETHER_UNLIKELY(x->size - x->pos < 8))
		return tether__xdr_short(x, 8, "no room for a 64-bit item");
	tether_xdr_store64(x->buf + x->pos, v);
	x->pos += 8;
	return 0;
}

static inline int
tether_xdr_get_u64(struct tether_xdr *x, uint64_t *v /* OUT */)
{
	if (TETHER_UNLIKELY(x->size - x->pos < 8))
		return tether__xdr_short(x, 8, "truncated 64-bit item");
	*v = tether_xdr_load64(x->buf + x->pos);
	x->pos += 8;
	return 0;
}

static inline int
tether_xdr_put_i32(struct tether_xdr *x, int32_t v)
{
	return tether_xdr_put_u32(x, (uint32_t)v);
}

static inline int
tether_xdr_get_i32(struct tether_xdr *x, int32_t *v /* OUT */)
{
	uint32_t u = 0;
	int rc = tether_xdr_get_u32(x, &u);

	if (TETHER_LIKELY(rc == 0))
		memcpy(v, &u, 4);	/* two's complement, no UB */
	return rc;
}

static inline int
tether_xdr_put_i64(struct tether_xdr *x, int64_t v)
{
	return tether_xdr_put_u64(x, (uint64_t)v);
}

static inline int
tether_xdr_get_i64(struct tether_xdr *x, int64_t *v /* OUT */)
{
	uint64_t u = 0;
	int rc = tether_xdr_get_u64(x, &u);

	if (TETHER_LIKELY(rc == 0))
		memcpy(v, &u, 8);
	return rc;
}

static inline int
tether_xdr_put_bool(struct tether_xdr *x, bool v)
{
	return tether_xdr_put_u32(x, v ? 1u : 0u);
}

/* A value other than 0 or 1 is -TETHER_EBADMSG (never coerced). */
static inline int
tether_xdr_get_bool(struct tether_xdr *x, bool *v /* OUT */)
{
	uint32_t u = 0;
	int rc = tether_xdr_get_u32(x, &u);

	if (TETHER_UNLIKELY(rc != 0))
		return rc;
	if (TETHER_UNLIKELY(u > 1)) {
		x->pos -= 4;
		return tether_xdr_fail(x, -TETHER_EBADMSG,
				       "bool is not 0 or 1");
	}
	*v = u != 0;
	return 0;
}

static inline int
tether_xdr_put_float(struct tether_xdr *x, float v)
{
	uint32_t u;

	memcpy(&u, &v, 4);
	return tether_xdr_put_u32(x, u);
}

static inline int
tether_xdr_get_float(struct tether_xdr *x, float *v /* OUT */)
{
	uint32_t u = 0;
	int rc = tether_xdr_get_u32(x, &u);

	if (TETHER_LIKELY(rc == 0))
		memcpy(v, &u, 4);
	return rc;
}

static inline int
tether_xdr_put_double(struct tether_xdr *x, double v)
{
	uint64_t u;

	memcpy(&u, &v, 8);
	return tether_xdr_put_u64(x, u);
}

static inline int
tether_xdr_get_double(struct tether_xdr *x, double *v /* OUT */)
{
	uint64_t u = 0;
	int rc = tether_xdr_get_u64(x, &u);

	if (TETHER_LIKELY(rc == 0))
		memcpy(v, &u, 8);
	return rc;
}

/*
 * Bidirectional primitives, for codecs: encode/size read *v, decode
 * writes it.
 */
#define TETHER__XDR_BIDI(name, type)                                     \
	static inline int tether_xdr_##name(struct tether_xdr *x, type *v) \
	{                                                                  \
		if (x->op == TETHER_XDR_DECODE)                            \
			return tether_xdr_get_##name(x, v);                \
		return tether_xdr_put_##name(x, *v);                       \
	}
TETHER__XDR_BIDI(u32, uint32_t)
TETHER__XDR_BIDI(i32, int32_t)
TETHER__XDR_BIDI(u64, uint64_t)
TETHER__XDR_BIDI(i64, int64_t)
TETHER__XDR_BIDI(bool, bool)
TETHER__XDR_BIDI(float, float)
TETHER__XDR_BIDI(double, double)
#undef TETHER__XDR_BIDI

/*
 * Enumerations. tether_xdr_enum accepts on decode (and, to catch caller
 * bugs, on encode) only values listed in values[0..n); others are
 * -TETHER_EBADMSG "unknown enum value" (-TETHER_EINVAL on encode).
 * tether_xdr_enum_range is the fast form for enums whose values are
 * exactly lo..hi.
 */
int tether_xdr_enum(struct tether_xdr *x, int32_t *v, const int32_t *values,
		    size_t n);
int tether_xdr_enum_range(struct tether_xdr *x, int32_t *v, int32_t lo,
			  int32_t hi);

/*
 * Quadruple-precision float: 16 bytes in wire (big-endian IEEE 754
 * binary128) order, opaque to us; no binary128 arithmetic is assumed.
 */
struct tether_xdr_quad {
	unsigned char bytes[16];
};

int tether_xdr_quad(struct tether_xdr *x, struct tether_xdr_quad *q);

/*
 * Where the compiler has a real binary128 type (__float128: GCC and
 * clang on x86-64 and others), TETHER_XDR_HAVE_FLOAT128 is defined and
 * these convert between it and the wire form, so quadruple values can
 * be computed with; elsewhere they stay 16 opaque bytes.
 */
#if defined(__SIZEOF_FLOAT128__) && (defined(__GNUC__) || defined(__clang__))
#define TETHER_XDR_HAVE_FLOAT128 1

__extension__ static inline void
tether_xdr_quad_from_f128(struct tether_xdr_quad *q /* OUT */, __float128 v)
{
	unsigned char b[16];

	memcpy(b, &v, 16);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	memcpy(q->bytes, b, 16);
#else
	{
		int i;

		for (i = 0; i < 16; i++)
			q->bytes[i] = b[15 - i];
	}
#endif
}

__extension__ static inline __float128
tether_xdr_quad_to_f128(const struct tether_xdr_quad *q)
{
	unsigned char b[16];
	__float128 v;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	memcpy(b, q->bytes, 16);
#else
	{
		int i;

		for (i = 0; i < 16; i++)
			b[i] = q->bytes[15 - i];
	}
#endif
	memcpy(&v, b, 16);
	return v;
}
#endif

/* ------------------------------------------------------------------ */
/* Opaque data and strings                                             */
/* ------------------------------------------------------------------ */

/*
 * Fixed-length opaque[n]: n bytes plus zero padding to a multiple of 4.
 * put/get copy from/to the caller's p (exactly n bytes); tether_xdr_
 * opaque is the bidirectional form. Decode checks the padding unless
 * TETHER_XDR_LENIENT_PAD.
 */
int tether_xdr_put_opaque(struct tether_xdr *x, const void *p, size_t n);
int tether_xdr_get_opaque(struct tether_xdr *x, void *p /* OUT */,
			  size_t n);
int tether_xdr_opaque(struct tether_xdr *x, void *p, size_t n);

/*
 * Variable-length opaque<max>: a length, the bytes, zero padding.
 * Encode: *len > max is -TETHER_EOVERFLOW (nothing written); *data may
 * be NULL only when *len is 0.
 * Decode: the length is checked against max and against the bytes left
 * before anything is used; *data then points into the receive buffer
 * (ZEROCOPY/INPLACE; do not write through it unless INPLACE) or at an
 * arena copy (-TETHER_EINVAL without an arena, -TETHER_ENOMEM when it
 * is full). A zero length gives a non-NULL *data.
 * put_bytes / get_bytes_ref are the directional forms; get_bytes_ref
 * always points into the buffer, whatever the flags.
 */
int tether_xdr_bytes(struct tether_xdr *x, uint8_t **data, uint32_t *len,
		     uint32_t max);
int tether_xdr_put_bytes(struct tether_xdr *x, const void *data,
			 uint32_t len, uint32_t max);
int tether_xdr_get_bytes_ref(struct tether_xdr *x,
			     const uint8_t **data /* OUT */,
			     uint32_t *len /* OUT */, uint32_t max);

/*
 * string<max> as a NUL-terminated C string. Encode: strlen(*s) > max is
 * -TETHER_EOVERFLOW; *s must not be NULL (-TETHER_EINVAL).
 * Decode: an arena copy with a NUL added (or, with INPLACE, the string
 * moved over its length word and terminated in the buffer). A NUL byte
 * inside the wire string is -TETHER_EBADMSG: the C string would
 * silently be shorter than what was sent; use tether_xdr_string_n.
 */
int tether_xdr_string(struct tether_xdr *x, char **s, uint32_t max);

/*
 * string<max> as counted bytes (may hold NUL). Decode: *s points into
 * the buffer (ZEROCOPY/INPLACE, not terminated) or at an arena copy
 * (which is NUL-terminated as a convenience). Encode: *s may be NULL
 * only when *len is 0.
 */
int tether_xdr_string_n(struct tether_xdr *x, const char **s,
			uint32_t *len, uint32_t max);

/* ------------------------------------------------------------------ */
/* Bulk arrays of 32- and 64-bit primitives                            */
/* ------------------------------------------------------------------ */

/*
 * Encode / decode n consecutive values with byte swapping done many at
 * a time (no call per element). int32_t/uint32_t/float share the 32-bit
 * paths, int64_t/uint64_t/double the 64-bit ones. Bounds are checked
 * once for the whole run (n * 4 or n * 8 overflowing is
 * -TETHER_EOVERFLOW); on failure nothing is consumed.
 */
int tether_xdr_put_u32_n(struct tether_xdr *x, const uint32_t *v, size_t n);
int tether_xdr_get_u32_n(struct tether_xdr *x, uint32_t *v /* OUT */,
			 size_t n);
int tether_xdr_put_u64_n(struct tether_xdr *x, const uint64_t *v, size_t n);
int tether_xdr_get_u64_n(struct tether_xdr *x, uint64_t *v /* OUT */,
			 size_t n);

/* Fixed-length arrays T[n] of 32/64-bit primitives (bidirectional). */
int tether_xdr_u32_vector(struct tether_xdr *x, uint32_t *v, size_t n);
int tether_xdr_u64_vector(struct tether_xdr *x, uint64_t *v, size_t n);

/*
 * Variable-length arrays T<max> of 32/64-bit primitives: a count, then
 * the values. Encode: *count > max is -TETHER_EOVERFLOW. Decode: count
 * checked against max and the bytes left; *v then points into the
 * buffer (INPLACE and aligned: swapped in place) or at an arena copy.
 */
int tether_xdr_u32_array(struct tether_xdr *x, uint32_t **v, uint32_t *count,
			 uint32_t max);
int tether_xdr_u64_array(struct tether_xdr *x, uint64_t **v, uint32_t *count,
			 uint32_t max);

/* ------------------------------------------------------------------ */
/* Codecs for primitive types, and composites built from codecs        */
/* ------------------------------------------------------------------ */

/*
 * Codec-shaped primitives (obj points at the C type named), for the
 * composite helpers: tether_xdr_array(..., sizeof(uint32_t),
 * tether_xdr_codec_u32) takes the bulk path. tether_xdr_void codes
 * nothing: use it for void union arms.
 */
int tether_xdr_void(struct tether_xdr *x, void *obj);
int tether_xdr_codec_u32(struct tether_xdr *x, void *obj);
int tether_xdr_codec_i32(struct tether_xdr *x, void *obj);
int tether_xdr_codec_u64(struct tether_xdr *x, void *obj);
int tether_xdr_codec_i64(struct tether_xdr *x, void *obj);
int tether_xdr_codec_bool(struct tether_xdr *x, void *obj);
int tether_xdr_codec_float(struct tether_xdr *x, void *obj);
int tether_xdr_codec_double(struct tether_xdr *x, void *obj);
int tether_xdr_codec_quad(struct tether_xdr *x, void *obj);

/*
 * Fixed-length array T[n] of elements of elsize bytes at arr, each
 * coded by fn.
 */
int tether_xdr_vector(struct tether_xdr *x, void *arr, size_t n,
		      size_t elsize, tether_xdr_fn *fn);

/*
 * Variable-length array T<max>: count, then elements coded by fn.
 * *arr is a T * (pass (void **)&obj->v). Encode: *count > max is
 * -TETHER_EOVERFLOW. Decode: count checked against max, against the
 * bytes left (each element must encode to at least 4 bytes, as every
 * non-empty XDR type does) and count * elsize for overflow, then the
 * elements are decoded into zeroed arena storage (count 0: *arr NULL).
 * The primitive codecs above take the bulk paths.
 */
int tether_xdr_array(struct tether_xdr *x, void **arr, uint32_t *count,
		     uint32_t max, size_t elsize, tether_xdr_fn *fn);

/*
 * Optional data T *: a bool, then T if present. *objp is a T * (pass
 * (void **)&obj->p); decode allocates size zeroed bytes from the arena.
 * Nesting is bounded by x->max_depth (-TETHER_EOVERFLOW).
 */
int tether_xdr_optional(struct tether_xdr *x, void **objp, size_t size,
			tether_xdr_fn *fn);

/*
 * Linked list through optional data, coded without recursion:
 *   struct node { ...fields...; struct node *next; }
 * where next is the LAST field in XDR order, at byte offset next_off.
 * fn codes the other fields of one node (not next). On the wire:
 * bool 1, node 1, bool 1, node 2, ..., bool 0 - exactly what the
 * recursive definition produces. Decode allocates each node (size
 * bytes, zeroed) from the arena and links them; the stack does not
 * grow with the list. *headp is the first node (NULL: empty list).
 */
int tether_xdr_list(struct tether_xdr *x, void **headp, size_t size,
		    size_t next_off, tether_xdr_fn *fn);

/*
 * Discriminated union: a discriminant, then the arm it selects.
 * arms[0..narms) map discriminant values to codecs applied to body
 * (tether_xdr_void for a void arm); dflt is the default arm's codec,
 * or NULL for a union without one, where an unlisted discriminant is
 * -TETHER_EBADMSG on decode and -TETHER_EINVAL on encode. Unsigned and
 * enum discriminants travel as their int32_t bit pattern.
 */
struct tether_xdr_arm {
	int32_t value;
	tether_xdr_fn *fn;
};

int tether_xdr_union(struct tether_xdr *x, int32_t *disc, void *body,
		     const struct tether_xdr_arm *arms, size_t narms,
		     tether_xdr_fn *dflt);

#ifdef __cplusplus
}
#endif

#endif /* TETHER_XDR_H */
