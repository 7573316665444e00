/*
 * tether/core.h - the core of libtether: errors, allocation, buffers,
 * arenas, the event loop, socket and universal addresses, hashing.
 * Everything else in libtether builds on this header; it depends on
 * nothing but libc and POSIX.
 */
#ifndef TETHER_CORE_H
#define TETHER_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define TETHER_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define TETHER_NORETURN __attribute__((noreturn))
#define TETHER_UNUSED __attribute__((unused))
#define TETHER_LIKELY(x) __builtin_expect(!!(x), 1)
#define TETHER_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define TETHER_PRINTF(fmt, args)
#define TETHER_NORETURN
#define TETHER_UNUSED
#define TETHER_LIKELY(x) (x)
#define TETHER_UNLIKELY(x) (x)
#endif

#define TETHER_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/*
 * One table of error codes. Library functions return 0 on success and
 * -TETHER_E<name> on failure; the positive values below are the codes.
 * The numbering is ours (stable across platforms), not errno's.
 */
#define TETHER_ERRNO_MAP(X)                                                 \
	X(EINVAL, 1, "invalid argument")                                    \
	X(ENOMEM, 2, "out of memory")                                       \
	X(ENOSPC, 3, "buffer or table is at its maximum size")              \
	X(EAGAIN, 4, "resource temporarily unavailable, try again")         \
	X(ERANGE, 5, "value out of range")                                  \
	X(EOVERFLOW, 6, "length or count overflows its limit")              \
	X(EMSGSIZE, 7, "message too long")                                  \
	X(EPROTO, 8, "protocol error")                                      \
	X(EBADMSG, 9, "malformed message")                                  \
	X(ETRUNC, 10, "input truncated")                                    \
	X(ENOENT, 11, "no such entry")                                      \
	X(EEXIST, 12, "entry already exists")                               \
	X(EPERM, 13, "operation not permitted")                             \
	X(EACCES, 14, "permission denied")                                  \
	X(EBUSY, 15, "resource busy")                                       \
	X(ECANCELED, 16, "operation canceled")                              \
	X(ETIMEDOUT, 17, "timed out")                                       \
	X(ECONNREFUSED, 18, "connection refused")                           \
	X(ECONNRESET, 19, "connection reset by peer")                       \
	X(EPIPE, 20, "broken pipe")                                         \
	X(EAFNOSUPPORT, 21, "address family not supported")                 \
	X(EADDRINUSE, 22, "address already in use")                         \
	X(ENOTSUP, 23, "operation not supported")                           \
	X(EIO, 24, "input/output error")                                    \
	X(ESYNTAX, 25, "syntax error")                                      \
	X(ESYS, 26, "system error")                                         \
	X(EOF, 27, "end of file")

enum tether_errno {
#define TETHER__ERR_ENUM(name, val, str) TETHER_##name = (val),
	TETHER_ERRNO_MAP(TETHER__ERR_ENUM)
#undef TETHER__ERR_ENUM
	TETHER_ERRNO_MAX
};

/*
 * tether_strerror - a human-readable message for an error code.
 * Accepts the code negative (as functions return it) or positive, and 0.
 * Returns a static string; an unknown code gives "unknown error".
 */
const char *tether_strerror(int err);

/*
 * tether_err_name - the symbolic name of an error code ("TETHER_EINVAL"),
 * for logs and tests. Unknown codes give "TETHER_EUNKNOWN"; 0 gives
 * "TETHER_OK".
 */
const char *tether_err_name(int err);

/*
 * tether_err_from_errno - map a system errno value to a negative
 * tether code. Values with no direct equivalent map to -TETHER_ESYS.
 */
int tether_err_from_errno(int sys_errno);

/*
 * TETHER_BUG_ON - an invariant that must hold whatever the input.
 * Always compiled in; on failure prints file:line and the condition to
 * stderr and aborts. Never use it on data that came from outside.
 */
#define TETHER_BUG_ON(cond)                                                 \
	do {                                                                \
		if (TETHER_UNLIKELY(cond))                                  \
			tether__bug(__FILE__, __LINE__, #cond);             \
	} while (0)

TETHER_NORETURN void tether__bug(const char *file, int line, const char *what);

/* ------------------------------------------------------------------ */
/* Allocation                                                          */
/* ------------------------------------------------------------------ */

/*
 * Every allocation libtether makes goes through these wrappers, so a
 * program can plug in its own allocator and tests can make the Nth
 * allocation fail to cover out-of-memory paths.
 */
typedef void *tether_malloc_fn(size_t size, void *ud);
typedef void *tether_realloc_fn(void *ptr, size_t size, void *ud);
typedef void tether_free_fn(void *ptr, void *ud);

struct tether_allocator {
	tether_malloc_fn *malloc_fn;	/* required */
	tether_realloc_fn *realloc_fn;	/* required */
	tether_free_fn *free_fn;	/* required */
	void *ud;			/* passed to each call */
};

/*
 * tether_set_allocator - route libtether's allocations to *a (copied);
 * NULL restores malloc/realloc/free. Call it before any other libtether
 * call: memory must be freed by the allocator that allocated it.
 * Not thread-safe.
 */
void tether_set_allocator(const struct tether_allocator *a);

/* tether_malloc and friends: as their libc namesakes, through the hook.
 * tether_calloc and tether_reallocarray check n * size for overflow. */
void *tether_malloc(size_t size);
void *tether_calloc(size_t n, size_t size);
void *tether_realloc(void *ptr, size_t size);
void *tether_reallocarray(void *ptr, size_t n, size_t size);
void tether_free(void *ptr);
char *tether_strdup(const char *s);

/*
 * tether_alloc_fail_at - fault injection for tests: the nth allocation
 * (malloc, calloc, realloc, strdup) counted from this call fails,
 * n = 1 being the next one. With every_after set, every allocation
 * from the nth on fails too. n = 0 turns injection off.
 * tether_alloc_count returns how many allocations were attempted since
 * the last tether_alloc_fail_at call, which lets a test loop
 * "fail the 1st, 2nd, ... allocation" until the operation succeeds.
 */
void tether_alloc_fail_at(unsigned long n, int every_after);
unsigned long tether_alloc_count(void);

/* ------------------------------------------------------------------ */
/* Bounded growable byte buffer                                        */
/* ------------------------------------------------------------------ */

/*
 * A byte buffer that grows on demand but never past the maximum given
 * at init (like curl's dynbuf). The layout is public so it can be
 * embedded; fields are read-only to callers.
 * Invariants: len <= max; data is NULL iff cap == 0; when data is not
 * NULL, len < cap <= max + 1 and data[len] is a NUL byte, so text can
 * be used as a string (the NUL's byte is the "+ 1": a buffer full to
 * max is still terminated).
 */
struct tether_buf {
	unsigned char *data;	/* read-only */
	size_t len;		/* read-only: bytes in use */
	size_t cap;		/* read-only: bytes allocated */
	size_t max;		/* read-only: hard maximum of len */
};

/* Set up an empty buffer that may hold up to max bytes; allocates nothing. */
void tether_buf_init(struct tether_buf *b, size_t max);

/* Free the storage; the buffer is empty again and may be reused. */
void tether_buf_free(struct tether_buf *b);

/* Forget the contents, keep the storage. */
void tether_buf_reset(struct tether_buf *b);

/*
 * Make room for extra more bytes (plus the NUL). Returns 0,
 * -TETHER_ENOSPC if len + extra would pass max, or -TETHER_ENOMEM; on
 * error nothing changes. Storage grows by doubling, capped at max + 1.
 */
int tether_buf_reserve(struct tether_buf *b, size_t extra);

/* Append n bytes (or a string). Errors as tether_buf_reserve; on error
 * the buffer is unchanged. p may point into b itself; n == 0 with
 * p == NULL is allowed. */
int tether_buf_append(struct tether_buf *b, const void *p, size_t n);
int tether_buf_append_str(struct tether_buf *b, const char *s);

/* Append formatted text. Errors as tether_buf_reserve, -TETHER_EINVAL
 * on a format error; on error the buffer is unchanged. No argument may
 * point into b (growing it may move the storage). */
int tether_buf_printf(struct tether_buf *b, const char *fmt, ...)
	TETHER_PRINTF(2, 3);
int tether_buf_vprintf(struct tether_buf *b, const char *fmt, va_list ap)
	TETHER_PRINTF(2, 0);

/* Remove the first n bytes (n > len removes everything). */
void tether_buf_consume(struct tether_buf *b, size_t n);

/*
 * Take ownership of the storage: returns data (NUL-terminated, may be
 * NULL for an empty buffer that never allocated), *len_out gets the
 * length, and the buffer is empty again. Free with tether_free.
 */
unsigned char *tether_buf_steal(struct tether_buf *b, size_t *len_out /* OUT */);

/* ------------------------------------------------------------------ */
/* Ring buffer for socket I/O                                          */
/* ------------------------------------------------------------------ */

/*
 * A fixed-capacity ring of bytes between a socket and a parser.
 * Invariants: 0 <= len <= size; head < size (or 0 when size is 0);
 * the readable bytes are data[head .. head+len) taken modulo size, in
 * at most two contiguous pieces; the writable room is size - len bytes
 * starting at (head + len) % size, also in at most two pieces.
 * Layout public for embedding; fields read-only to callers.
 */
struct tether_ring {
	unsigned char *data;	/* read-only */
	size_t size;		/* read-only: capacity */
	size_t head;		/* read-only: offset of the first byte */
	size_t len;		/* read-only: bytes stored */
};

/* Allocate a ring of size bytes (size > 0). -TETHER_EINVAL, -TETHER_ENOMEM;
 * on error *r is a valid empty ring of size 0 (free is harmless). */
int tether_ring_init(struct tether_ring *r, size_t size);
/* Free the storage; *r becomes an empty ring of size 0. */
void tether_ring_free(struct tether_ring *r);

static inline size_t
tether_ring_len(const struct tether_ring *r)
{
	return r->len;
}

static inline size_t
tether_ring_room(const struct tether_ring *r)
{
	return r->size - r->len;
}

/* Copy up to n bytes in / out; return how many were copied. */
size_t tether_ring_write(struct tether_ring *r, const void *p, size_t n);
size_t tether_ring_read(struct tether_ring *r, void *p, size_t n);

/* Copy up to n bytes starting off bytes in, without consuming. */
size_t tether_ring_peek(const struct tether_ring *r, size_t off, void *p,
			size_t n);

/* Drop n readable bytes (n > len drops everything). An emptied ring
 * restarts at offset 0, so the next receive gets its room in one piece. */
void tether_ring_drop(struct tether_ring *r, size_t n);

/*
 * Zero-copy I/O. tether_ring_read_iov fills iov[0..1] with the readable
 * bytes (for writev/sendmsg) and returns the piece count (0..2);
 * tether_ring_write_iov does the same for the free room (for readv/
 * recvmsg). After the system call, tether_ring_drop(r, sent) or
 * tether_ring_commit(r, received); committing more than the room is a
 * bug (TETHER_BUG_ON). Unused iov entries are set to {NULL, 0}.
 */
int tether_ring_read_iov(const struct tether_ring *r, struct iovec iov[2]);
int tether_ring_write_iov(const struct tether_ring *r, struct iovec iov[2]);
void tether_ring_commit(struct tether_ring *r, size_t n);

/*
 * tether_ring_recv / tether_ring_send - one readv() into the room / one
 * writev() of the contents on fd. Return the byte count moved (0 from
 * recv means end of file; from send, nothing to send), -TETHER_EAGAIN
 * when the socket would block, -TETHER_ENOSPC when recv finds the ring
 * full, or another negative code for a socket error. A call interrupted
 * by a signal (EINTR) is restarted. On a socket, send uses sendmsg()
 * with MSG_NOSIGNAL rather than writev(), so a closed peer gives
 * -TETHER_EPIPE instead of SIGPIPE; other descriptors get writev().
 */
ssize_t tether_ring_recv(struct tether_ring *r, int fd);
ssize_t tether_ring_send(struct tether_ring *r, int fd);

/* ------------------------------------------------------------------ */
/* Arena (per-call bump allocator)                                     */
/* ------------------------------------------------------------------ */

/*
 * A region allocator: many small allocations, freed together. Decoded
 * RPC arguments live in one arena per call, reset after the reply.
 * Memory is taken from the allocator hook in chunks; reset keeps the
 * chunks for reuse and costs O(1), and repeating the same requests
 * after a reset takes nothing more from the hook. max_bytes bounds the
 * total chunk memory (not counting per-chunk headers) the arena may
 * hold (0 means no bound); kept chunks an epoch does not need are
 * given back when a new one would pass the bound.
 */
struct tether_arena;

/*
 * tether_arena_new - create an arena whose chunks are chunk_size bytes
 * (0 picks a default; larger requests get a chunk of their own; a
 * chunk_size above a non-zero max_bytes is lowered to max_bytes).
 * Returns NULL on allocation failure.
 */
struct tether_arena *tether_arena_new(size_t chunk_size, size_t max_bytes);
void tether_arena_free(struct tether_arena *a);

/*
 * Allocate n bytes aligned to 16 (or to align, a power of two up to
 * 4096). Returns NULL when the arena's maximum would be passed or the
 * hook fails. n == 0 returns a valid unique-enough non-NULL pointer.
 */
void *tether_arena_alloc(struct tether_arena *a, size_t n);
void *tether_arena_alloc_aligned(struct tether_arena *a, size_t n,
				 size_t align);
void *tether_arena_memdup(struct tether_arena *a, const void *p, size_t n);
/* Copy n bytes of p and add a NUL. */
char *tether_arena_strndup(struct tether_arena *a, const char *p, size_t n);

/* Release every allocation at once, in O(1); chunks are kept for reuse. */
void tether_arena_reset(struct tether_arena *a);

/* Bytes handed out since the last reset / bytes of chunk memory held. */
size_t tether_arena_used(const struct tether_arena *a);
size_t tether_arena_held(const struct tether_arena *a);

/* ==== SECTION loop: event loop (owned by lib/core/loop*.c) ==== */
/* ==== END SECTION loop ==== */

/* ==== SECTION addr: addresses (owned by lib/core/addr.c) ==== */
/* ==== END SECTION addr ==== */

/* ==== SECTION hash: hashing (owned by lib/core/hash.c) ==== */

/*
 * Two hashes. SipHash-2-4 is keyed: with a secret random key an attacker
 * cannot make keys collide, so use it for every table whose keys come
 * from the network. The fast hash is not keyed against attack; use it
 * for load-balancing keys, where several nodes must make the same
 * choice from a shared seed. Both read their input byte by byte, so
 * the values are the same on every platform.
 */

/* A SipHash key: 128 bits, as two little-endian 64-bit halves. */
struct tether_hash_key {
	uint64_t k0;	/* key bytes 0..7, little-endian */
	uint64_t k1;	/* key bytes 8..15, little-endian */
};

/* Set *key from 16 bytes, numbered as in the SipHash paper. */
void tether_hash_key_set(struct tether_hash_key *key /* OUT */,
			 const unsigned char bytes[16]);

/*
 * tether_hash_key_random - fill *key from the kernel's random source
 * (getrandom; getentropy off Linux). Blocks only at early boot, until
 * the kernel's pool is seeded. Returns 0 or a negative code (e.g.
 * -TETHER_ESYS when the call is missing); *key is unchanged on error.
 */
int tether_hash_key_random(struct tether_hash_key *key /* OUT */);

/*
 * tether_hash_siphash - SipHash-2-4 of the n bytes at p under key,
 * 64-bit output (the reference implementation's value read as a
 * little-endian integer). p may be NULL when n is 0.
 */
uint64_t tether_hash_siphash(const struct tether_hash_key *key,
			     const void *p, size_t n);

/*
 * tether_hash_fast - a fast non-cryptographic 64-bit hash of n bytes
 * (multiply-and-fold, in the style of wyhash), quickest for keys of a
 * few dozen bytes. Different seeds give unrelated functions. Not for
 * tables an attacker can fill: use tether_hash_siphash there.
 * p may be NULL when n is 0.
 */
uint64_t tether_hash_fast(const void *p, size_t n, uint64_t seed);

/*
 * tether_hash_u64 - mix a 64-bit value (the splitmix64 finalizer): a
 * bijection in which each input bit flips each output bit with
 * probability about 1/2. For integer keys, flow labels, and combining
 * hashes (tether_hash_u64(h1 ^ h2 * k)). Note tether_hash_u64(0) == 0.
 */
uint64_t tether_hash_u64(uint64_t x);

/*
 * tether_hash_sockaddr - tether_hash_fast of a socket address's
 * identity, for persistence and balancing keys: for AF_INET the
 * address, for AF_INET6 the address and scope id, plus the port when
 * with_port is non-zero. An IPv4-mapped IPv6 address (::ffff:a.b.c.d)
 * hashes as the IPv4 address, so a client seen on a dual-stack socket
 * and on an IPv4 socket gets one value. Padding, sin6_flowinfo and
 * other unused fields are ignored. AF_UNIX hashes the path (up to its
 * NUL; all len bytes for an abstract name). Any other family, or a len
 * too short for its family, hashes the len raw bytes. sa may be NULL
 * when len is 0.
 */
uint64_t tether_hash_sockaddr(const struct sockaddr *sa, socklen_t len,
			      int with_port, uint64_t seed);

/* ==== END SECTION hash ==== */

/* ==== SECTION daemon: log, pidfile, privileges, config tokenizer ==== */
/* ==== END SECTION daemon ==== */

#ifdef __cplusplus
}
#endif

#endif /* TETHER_CORE_H */
