/*
 * tether/core.h - the core of libtether: errors, allocation, buffers,
 * arenas, the event loop, socket and universal addresses, hashing, and
 * the helpers every daemon uses (logging, pidfile, privileges,
 * detaching, command line, configuration tokenizer).
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
unsigned char *tether_buf_steal(struct tether_buf *b,
				size_t *len_out /* OUT */);

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

/* Bytes stored (readable) / bytes of free room. */
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
size_t tether_ring_read(struct tether_ring *r, void *p /* OUT */, size_t n);

/* Copy up to n bytes starting off bytes in, without consuming. */
size_t tether_ring_peek(const struct tether_ring *r, size_t off,
			void *p /* OUT */, size_t n);

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
int tether_ring_read_iov(const struct tether_ring *r,
			struct iovec iov[2] /* OUT */);
int tether_ring_write_iov(const struct tether_ring *r,
			 struct iovec iov[2] /* OUT */);
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

/* Free the arena, its chunks and so every allocation made from it.
 * NULL is a no-op. */
void tether_arena_free(struct tether_arena *a);

/*
 * Allocate n bytes aligned to 16 (or to align, a power of two up to
 * 4096). Returns NULL when the arena's maximum would be passed, the
 * hook fails, or align is not such a power of two. n == 0 is served as
 * n == 1, so the pointer is non-NULL and distinct. The memory belongs
 * to the arena and is valid until the next reset or free.
 */
void *tether_arena_alloc(struct tether_arena *a, size_t n);
void *tether_arena_alloc_aligned(struct tether_arena *a, size_t n,
				 size_t align);
void *tether_arena_memdup(struct tether_arena *a, const void *p, size_t n);
/* memdup: copy n bytes of p (no alignment); strndup: copy n bytes of p
 * and add a NUL. NULL when the allocation fails, as above. */
char *tether_arena_strndup(struct tether_arena *a, const char *p, size_t n);

/* Release every allocation at once, in O(1); chunks are kept for reuse. */
void tether_arena_reset(struct tether_arena *a);

/* Bytes handed out since the last reset / bytes of chunk memory held. */
size_t tether_arena_used(const struct tether_arena *a);
size_t tether_arena_held(const struct tether_arena *a);

/* ------------------------------------------------------------------ */
/* Event loop                                                          */
/* ------------------------------------------------------------------ */

/*
 * The event loop: fd readiness, timers, deferred callbacks and signals,
 * dispatched by one thread (the model is Redis's ae.c and libuv).
 *
 * Threads: none of these functions is thread-safe. A loop belongs to the
 * thread that created it; every call on it (and on its timers) must come
 * from that thread. Run one loop per thread.
 *
 * Callbacks run on the loop's thread inside tether_loop_run() or
 * tether_loop_run_once() and must never block. From any callback it is
 * safe to add, modify or remove fds, arm, cancel or free timers
 * (including the one running), queue deferred callbacks, add or remove
 * signal handlers, and call tether_loop_stop(). A removed fd, a
 * cancelled timer and a removed signal get no callback afterwards, even
 * if their event was already collected in the same iteration. It is not
 * allowed to call tether_loop_free(), tether_loop_run() or
 * tether_loop_run_once() from a callback.
 *
 * One iteration: wait for fd events (never longer than the next timer
 * or the caller's timeout; not at all if deferred callbacks are queued
 * or a stop was requested), refresh the cached clock, run fd callbacks
 * (signals arrive this way too), run the timers that are due, then run
 * the deferred callbacks queued before this step.
 *
 * Ownership: the loop owns its timers (tether_loop_timer_new allocates
 * them; tether_loop_timer_free or tether_loop_free releases them) and
 * its queue of deferred callbacks. It never owns registered fds (it
 * neither closes them nor reads them) nor any user data pointer; it
 * never calls a callback from tether_loop_free().
 */
struct tether_loop;
struct tether_loop_timer;

/* I/O backends. The poll() backend exists to check the epoll one: the
 * same tests run against both. */
enum tether_loop_backend {
	TETHER_LOOP_BACKEND_DEFAULT = 0,	/* epoll */
	TETHER_LOOP_BACKEND_EPOLL,
	TETHER_LOOP_BACKEND_POLL,
	TETHER_LOOP_BACKEND_MAX
};

/* Names for logs and tests ("epoll", "poll"); NULL for an unknown one. */
const char *tether_loop_backend_name(enum tether_loop_backend b);

/* fd interest and events. READ and WRITE are interest bits and event
 * bits; EDGE asks for edge-triggered reporting (epoll only: the poll
 * backend rejects it with -TETHER_ENOTSUP rather than emulate it);
 * ERR and HUP are only reported, and reported whatever the interest.
 * RDHUP is an interest and event bit: the peer of a stream socket shut
 * its writing side (sent FIN); reported with READ (data and the FIN
 * may still be read), so an edge-triggered reader learns that the next
 * read ends the stream without reading again to find out. PRI is an
 * interest and event bit too: urgent (out-of-band) data is pending
 * (POLLPRI), at which a stream read stops short. */
#define TETHER_LOOP_READ	0x01u
#define TETHER_LOOP_WRITE	0x02u
#define TETHER_LOOP_EDGE	0x04u
#define TETHER_LOOP_ERR		0x08u
#define TETHER_LOOP_HUP		0x10u
#define TETHER_LOOP_RDHUP	0x20u
#define TETHER_LOOP_PRI		0x40u

/* Default and hard bound for the fd table (fd numbers it may hold). */
#define TETHER_LOOP_DEFAULT_MAX_FDS	65536u
#define TETHER_LOOP_MAX_FDS		(1u << 24)
/* Longest timer delay or period, in ms (about 50 days). */
#define TETHER_LOOP_MAX_DELAY_MS	((uint64_t)1 << 32)

/* Creation options; zeroed means "defaults". */
struct tether_loop_config {
	enum tether_loop_backend backend;
	/* fd numbers must be below this; the table grows up to it on
	 * demand. 0 means TETHER_LOOP_DEFAULT_MAX_FDS. */
	unsigned max_fds;
};

/*
 * Callbacks. fd: events is a mask of READ, WRITE, ERR, HUP restricted to
 * what was asked for (plus ERR/HUP). timer: t is the timer that fired;
 * a one-shot timer is already disarmed, a repeating one already re-armed
 * for its next period. signal: signo is the signal that arrived (several
 * arrivals before the loop reads them may be reported once).
 */
typedef void tether_loop_fd_fn(struct tether_loop *loop, int fd,
			       unsigned events, void *ud);
typedef void tether_loop_timer_fn(struct tether_loop *loop,
				  struct tether_loop_timer *t, void *ud);
typedef void tether_loop_defer_fn(struct tether_loop *loop, void *ud);
typedef void tether_loop_signal_fn(struct tether_loop *loop, int signo,
				   void *ud);

/*
 * tether_loop_new - create a loop. cfg may be NULL for defaults.
 * Returns 0 and *out, or -TETHER_EINVAL (unknown backend, max_fds above
 * TETHER_LOOP_MAX_FDS), -TETHER_ENOMEM, or the mapped errno of
 * epoll_create1(). The caller owns the loop; free it with
 * tether_loop_free().
 */
int tether_loop_new(struct tether_loop **out /* OUT */,
		    const struct tether_loop_config *cfg);

/*
 * tether_loop_free - release the loop and everything it owns: its
 * timers (user pointers to them become invalid), queued deferred
 * callbacks (not run), signal handlers (each signal's mask is restored
 * as tether_loop_signal_del does). Registered fds are forgotten, not
 * closed. No callback is called. NULL is a no-op. Not from a callback.
 */
void tether_loop_free(struct tether_loop *loop);

/* The loop's backend (never DEFAULT: the one actually in use). */
enum tether_loop_backend tether_loop_backend(const struct tether_loop *loop);

/*
 * tether_loop_run - run iterations until tether_loop_stop() is called
 * or nothing is left that could wake the loop (no fd, armed timer,
 * deferred callback or signal handler). Returns 0, -TETHER_EBUSY if
 * the loop is already running (called from a callback), or a negative
 * code when waiting failed (the loop stays usable). A stop request is
 * consumed when run returns.
 */
int tether_loop_run(struct tether_loop *loop);

/*
 * tether_loop_run_once - one iteration that waits at most timeout_ms
 * for fd events (0 polls; negative waits until an fd, timer or signal
 * is ready, or returns at once if nothing could ever be). Returns the
 * number of callbacks run (>= 0), -TETHER_EBUSY from a callback, or a
 * negative code when waiting failed. A stop request made during it is
 * consumed.
 */
int tether_loop_run_once(struct tether_loop *loop, int timeout_ms);

/* tether_loop_stop - make tether_loop_run() return at the end of the
 * current iteration (or after one non-blocking iteration if it is not
 * running yet). */
void tether_loop_stop(struct tether_loop *loop);

/*
 * tether_loop_now - the loop's cached monotonic clock in ms. An
 * iteration refreshes it before computing how long to wait and again
 * after waiting, before any callback: every callback of an iteration
 * sees the same value. tether_loop_update_time refreshes it now (after
 * a long callback, or before arming timers outside the loop); it
 * returns the new value.
 */
uint64_t tether_loop_now(const struct tether_loop *loop);
uint64_t tether_loop_update_time(struct tether_loop *loop);

/*
 * tether_loop_fd_add - watch fd for events (READ and/or WRITE, optionally
 * EDGE; 0 watches only for ERR/HUP) and call fn(loop, fd, events, ud).
 * The fd stays the caller's: remove it with tether_loop_fd_del() before
 * closing it. Returns 0, -TETHER_EINVAL (fd < 0, unknown bits, fn NULL),
 * -TETHER_ENOSPC (fd >= max_fds), -TETHER_EEXIST (already watched),
 * -TETHER_ENOTSUP (EDGE on the poll backend), -TETHER_ENOMEM, or the
 * mapped errno of epoll_ctl() (e.g. -TETHER_EPERM for a regular file).
 * On error nothing is registered.
 */
int tether_loop_fd_add(struct tether_loop *loop, int fd, unsigned events,
		       tether_loop_fd_fn *fn, void *ud);

/* tether_loop_fd_mod - change the interest of a watched fd (same bits
 * as add). Returns 0, -TETHER_ENOENT (not watched), -TETHER_EPERM (the
 * loop's own signalfd), -TETHER_EINVAL, -TETHER_ENOTSUP, or a mapped
 * epoll_ctl() errno; on error nothing changes. Events already collected
 * but no longer wanted are dropped. */
int tether_loop_fd_mod(struct tether_loop *loop, int fd, unsigned events);

/* tether_loop_fd_del - stop watching fd; no callback for it follows,
 * even in the current iteration. Returns 0, -TETHER_ENOENT, or
 * -TETHER_EPERM for the loop's own signalfd. */
int tether_loop_fd_del(struct tether_loop *loop, int fd);

/* tether_loop_fd_close - stop watching fd if it is watched (as
 * tether_loop_fd_del) and close it; no event of the closed file reaches
 * a new file that gets the same number. fd must be the only descriptor
 * of its open file (not dup()ed, not shared with a child): the epoll
 * backend then lets close() drop the registration and saves a system
 * call. Returns 0, or -TETHER_EPERM for the loop's own signalfd (which
 * stays open); fd < 0 is a no-op returning 0. */
int tether_loop_fd_close(struct tether_loop *loop, int fd);

/*
 * tether_loop_timer_new - allocate a disarmed timer that will call
 * fn(loop, t, ud). The loop owns it: it lives until
 * tether_loop_timer_free() or tether_loop_free(). Returns 0 and *out,
 * -TETHER_EINVAL (fn NULL) or -TETHER_ENOMEM. Once a timer exists,
 * arming it never allocates and never fails for lack of memory.
 */
int tether_loop_timer_new(struct tether_loop *loop,
			  tether_loop_timer_fn *fn, void *ud,
			  struct tether_loop_timer **out /* OUT */);

/* tether_loop_timer_free - cancel and release a timer (NULL is a no-op).
 * Safe from any callback, including the timer's own. */
void tether_loop_timer_free(struct tether_loop_timer *t);

/*
 * tether_loop_timer_arm - (re)arm t to fire delay_ms after
 * tether_loop_now(), then every repeat_ms if repeat_ms > 0 (counted
 * from each firing's loop time, so a loop that fell behind skips
 * periods rather than firing a burst). Re-arming an armed timer moves
 * it. Timers fire in order of expiry, and timers
 * with the same expiry in the order they were armed. A timer armed
 * from a timer callback does not fire before the next iteration, even
 * with delay 0 (so a timer re-arming itself cannot starve the loop).
 * Returns 0 or -TETHER_ERANGE (delay or period above
 * TETHER_LOOP_MAX_DELAY_MS; the timer is unchanged).
 */
int tether_loop_timer_arm(struct tether_loop_timer *t, uint64_t delay_ms,
			  uint64_t repeat_ms);

/* tether_loop_timer_cancel - disarm t in O(log n) (no-op if disarmed);
 * it keeps its callback and can be armed again. */
void tether_loop_timer_cancel(struct tether_loop_timer *t);

/* Whether t is armed, and when it fires next (meaningless if not). */
int tether_loop_timer_armed(const struct tether_loop_timer *t);
uint64_t tether_loop_timer_expiry(const struct tether_loop_timer *t);

/*
 * tether_loop_defer - queue fn(loop, ud) to run once at the end of the
 * current iteration (or of the next one, when called outside the loop
 * or from a deferred callback, so a callback that re-queues itself
 * cannot starve the loop). Deferred callbacks run in FIFO order and
 * cannot be cancelled. Returns 0, -TETHER_EINVAL or -TETHER_ENOMEM (not
 * queued).
 */
int tether_loop_defer(struct tether_loop *loop, tether_loop_defer_fn *fn,
		      void *ud);

/*
 * tether_loop_set_waiter - let fn do the loop's sleeping. Every
 * iteration calls fn(loop, timeout_ms, ud) first, then collects fd
 * events without blocking. timeout_ms is how long the iteration may
 * sleep: 0 (something is deferred, a timer is due, or the last wait
 * filled its batch or reported a level-triggered fd, which may still
 * be ready), the time to the next timer, or -1 (none). fn must not
 * sleep longer, and must return as soon as tether_loop_backend_fd may
 * be readable (it is how fd events and signals arrive) or it has work
 * of its own. For an io_uring ring whose completions are only made
 * inside io_uring_enter (IORING_SETUP_DEFER_TASKRUN): the ring polls
 * the backend fd, the loop sleeps in the ring, and every iteration
 * gives the ring a chance to run its completions. fn NULL removes the
 * waiter; one per loop.
 */
typedef void tether_loop_waiter_fn(struct tether_loop *loop, int timeout_ms,
				   void *ud);
void tether_loop_set_waiter(struct tether_loop *loop,
			    tether_loop_waiter_fn *fn, void *ud);

/* The fd that polls readable when the I/O backend has events (epoll's
 * own fd), or -1 (the poll backend has none). */
int tether_loop_backend_fd(const struct tether_loop *loop);

/*
 * tether_loop_signal_add - deliver signo into the loop: it is blocked in
 * the calling thread's signal mask and read through a signalfd, so fn
 * runs as an ordinary callback. Register a signal in one loop only, and
 * before starting other threads (which inherit the mask) so no thread
 * takes the signal the ordinary way. Returns 0, -TETHER_EINVAL (signo
 * out of range, SIGKILL, SIGSTOP, fn NULL), -TETHER_EEXIST,
 * -TETHER_ENOMEM, -TETHER_ENOSPC (the first call's signalfd got an fd
 * number at or above max_fds) or a mapped errno of signalfd(); on
 * error the mask and handlers are unchanged.
 */
int tether_loop_signal_add(struct tether_loop *loop, int signo,
			   tether_loop_signal_fn *fn, void *ud);

/*
 * tether_loop_signal_del - remove the handler; if signo was not blocked
 * before tether_loop_signal_add, instances still pending are discarded
 * and it is unblocked again, else it stays blocked. Returns 0 or
 * -TETHER_ENOENT / -TETHER_EINVAL.
 */
int tether_loop_signal_del(struct tether_loop *loop, int signo);

/* ------------------------------------------------------------------ */
/* Socket and universal addresses                                      */
/* ------------------------------------------------------------------ */

/*
 * Socket addresses (IPv4, IPv6 with scope id, AF_UNIX paths) and their
 * two text forms: the socket form people type ("1.2.3.4:111",
 * "[::1]:111", "[fe80::1%eth0]:111", "unix:/run/x.sock") and RFC 5665
 * universal addresses ("1.2.3.4.0.111", "::1.0.111", "/run/x.sock")
 * that rpcbind carries on the wire together with a netid.
 *
 * Parsing is strict: an input either is exactly one address or is
 * rejected with a code; nothing is looked up in DNS. See lib/core/addr.c
 * for the grammar and for where we are stricter than libtirpc.
 */

/*
 * Buffer sizes, NUL included, that always suffice:
 * TETHER_ADDR_STRLEN for tether_addr_format ("unix:" + a 107-byte path
 * is the longest; "[" IPv6 "%" 15-byte ifname "]:65535" is 70),
 * TETHER_UADDR_STRLEN for tether_addr_to_uaddr (a 107-byte path; IPv6
 * with ".255.255" is 54). Inputs longer than size - 1 are rejected
 * with -TETHER_EOVERFLOW before any other check.
 */
#define TETHER_ADDR_STRLEN 113
#define TETHER_UADDR_STRLEN 108

/* Longest AF_UNIX path we accept: sun_path minus its NUL terminator. */
#define TETHER_ADDR_UNIX_PATH_MAX 107

/*
 * A socket address, ready for bind/connect/sendto: pass
 * (struct sockaddr *)&a.ss and a.len. The layout is public so it can be
 * embedded and stack-allocated. Fields may be written directly (e.g.
 * from accept()); every function checks family and len again and
 * returns -TETHER_EAFNOSUPPORT (unknown family) or -TETHER_EINVAL
 * (len does not fit the family) rather than trusting them.
 * An AF_UNIX address always holds a NUL-terminated, absolute path;
 * unnamed and abstract AF_UNIX sockets are not represented.
 */
struct tether_addr {
	struct sockaddr_storage ss;	/* public: sockaddr_in/in6/un */
	socklen_t len;			/* public: bytes of ss in use */
};

/* Flags for tether_addr_format. */
#define TETHER_ADDR_FMT_NUMERIC 0x1	/* IPv6 scope as a number, never
					 * an interface name */
#define TETHER_ADDR_FMT_NOPORT 0x2	/* host only: "1.2.3.4", "::1",
					 * "fe80::1%lo" (no brackets) */

/*
 * tether_addr_parse - parse the socket form of an address into *out.
 * Accepted, with port a decimal 0..65535 without leading zeros:
 *   a.b.c.d:port            dotted quad as inet_pton takes it (no
 *                           leading zeros, no short or hex forms)
 *   [ipv6]:port             IPv6 as inet_pton takes it, in brackets
 *   [ipv6%zone]:port        zone: an interface name (if_nametoindex)
 *                           or a decimal index 1..4294967295
 *   unix:/path, /path       absolute path, 1..107 bytes, no NUL
 * and, only when default_port is 0..65535 (it then supplies the port):
 *   a.b.c.d   ipv6   ipv6%zone   [ipv6]   [ipv6%zone]
 * default_port -1 means "a port is required".
 * s is NUL-terminated; tether_addr_parse_n takes a length instead
 * (an embedded NUL is a syntax error).
 * Returns 0; -TETHER_EINVAL for NULL arguments or default_port out of
 * -1..65535; -TETHER_EOVERFLOW when the input reaches
 * TETHER_ADDR_STRLEN bytes; -TETHER_ERANGE for a port > 65535 or a
 * numeric zone > 4294967295; -TETHER_ENOENT for an interface name that
 * does not exist; -TETHER_ESYNTAX for anything else malformed.
 * *out is written only on success.
 */
int tether_addr_parse(struct tether_addr *out /* OUT */, const char *s,
		      int default_port);
int tether_addr_parse_n(struct tether_addr *out /* OUT */, const char *s,
			size_t len, int default_port);

/*
 * tether_addr_format - write the socket form of *a into buf (size
 * bytes, NUL included): "1.2.3.4:111", "[::1]:111", "[fe80::1%lo]:111"
 * (interface name when the index has one, else the number, or always
 * the number with TETHER_ADDR_FMT_NUMERIC), "unix:/path".
 * TETHER_ADDR_FMT_NOPORT leaves out the port and the brackets (ignored
 * for AF_UNIX). The output parses back to an equal address.
 * Returns the length written (without the NUL); -TETHER_ENOSPC when it
 * does not fit (buf then holds "" if size > 0); -TETHER_EAFNOSUPPORT
 * for a family other than AF_INET/AF_INET6/AF_UNIX; -TETHER_EINVAL for
 * NULL arguments, unknown flags or an inconsistent len/path.
 */
int tether_addr_format(const struct tether_addr *a, char *buf /* OUT */,
		       size_t size, unsigned flags);

/*
 * tether_addr_from_sockaddr - copy a system socket address (from
 * accept, getsockname, recvfrom, getaddrinfo) into *out after checking
 * it: AF_INET needs len >= sizeof(struct sockaddr_in), AF_INET6 >=
 * sizeof(struct sockaddr_in6), AF_UNIX a NUL-terminated absolute path.
 * Returns 0, -TETHER_EAFNOSUPPORT (other family; unnamed, abstract or
 * relative AF_UNIX), -TETHER_EINVAL (NULL, short or over-long len, a
 * path longer than TETHER_ADDR_UNIX_PATH_MAX).
 */
int tether_addr_from_sockaddr(struct tether_addr *out /* OUT */,
			      const struct sockaddr *sa, socklen_t len);

/*
 * tether_addr_compare - a total order: family, then address bytes, then
 * port, then IPv6 scope id (AF_UNIX: the path). Returns <0, 0, >0.
 * Bytes outside the meaningful fields (padding, flowinfo) are ignored,
 * so two equal addresses from different sources compare equal.
 * An address of an unsupported family sorts after all others and
 * compares equal to one of the same family and len with equal bytes.
 * a and b must not be NULL (TETHER_BUG_ON).
 */
int tether_addr_compare(const struct tether_addr *a,
			const struct tether_addr *b);

/* Copy *src to *dst (the used bytes; the rest of dst->ss is zeroed).
 * Neither may be NULL (TETHER_BUG_ON). */
void tether_addr_copy(struct tether_addr *dst /* OUT */,
		      const struct tether_addr *src);

/*
 * tether_addr_port - the port in host order (0..65535), or
 * -TETHER_EAFNOSUPPORT for AF_UNIX and unknown families.
 * tether_addr_set_port - set it: 0, -TETHER_ERANGE (port outside
 * 0..65535), -TETHER_EAFNOSUPPORT.
 */
int tether_addr_port(const struct tether_addr *a);
int tether_addr_set_port(struct tether_addr *a, int port);

/*
 * tether_addr_pktinfo_ctl - make mh's control data, written at ctl, one
 * IP_PKTINFO message (family AF_INET: addr is a struct in_addr, sent as
 * ipi_spec_dst) or IPV6_PKTINFO message (AF_INET6: addr is a struct
 * in6_addr, with ifindex, 0 for none), so that sendmsg() with mh sends
 * from addr. ctl holds CMSG_SPACE(sizeof(struct in6_pktinfo)) bytes,
 * aligned as struct cmsghdr. Another family: no control data
 * (msg_control NULL, msg_controllen 0). Only those two fields of mh
 * change.
 */
void tether_addr_pktinfo_ctl(struct msghdr *mh, void *ctl, int family,
			     const void *addr, unsigned ifindex);

/*
 * tether_addr_is_loopback - 1 for 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104
 * and AF_UNIX (like rpcbind, a local socket counts as "this host"),
 * 0 otherwise (including unknown families).
 */
int tether_addr_is_loopback(const struct tether_addr *a);

/* tether_addr_is_any - 1 for the wildcard address of its family (0.0.0.0,
 * ::), 0 otherwise (including other families and NULL). */
int tether_addr_is_any(const struct tether_addr *a);

/* "inet", "inet6", "unix", or "unknown": a static string for logs. */
const char *tether_addr_family_name(const struct tether_addr *a);

/*
 * RFC 5665 netids that tether speaks. The numbering is ours.
 */
enum tether_netid {
	TETHER_NETID_TCP,	/* "tcp":   IPv4, stream */
	TETHER_NETID_UDP,	/* "udp":   IPv4, datagram */
	TETHER_NETID_TCP6,	/* "tcp6":  IPv6, stream */
	TETHER_NETID_UDP6,	/* "udp6":  IPv6, datagram */
	TETHER_NETID_LOCAL,	/* "local": AF_UNIX path ("unix" too) */
	TETHER_NETID_MAX
};

/*
 * tether_netid_from_name - "tcp", "udp", "tcp6", "udp6", "local" (and
 * "unix", the alias /etc/netconfig also lists) to the enum; exact,
 * case-sensitive match. Returns the netid (>= 0) or -TETHER_ENOENT
 * (-TETHER_EINVAL for NULL).
 * tether_netid_name - the canonical name, or NULL for a value outside
 * the enum.
 * tether_netid_family - AF_INET, AF_INET6 or AF_UNIX; -TETHER_EINVAL
 * outside the enum.
 */
int tether_netid_from_name(const char *name);
const char *tether_netid_name(enum tether_netid netid);
int tether_netid_family(enum tether_netid netid);

/*
 * tether_addr_from_uaddr - parse an RFC 5665 universal address for
 * netid: "h1.h2.h3.h4.p1.p2" (tcp, udp), "<ipv6>.p1.p2" (tcp6, udp6;
 * IPv4-mapped and embedded forms as inet_pton takes them, no zone),
 * "/absolute/path" (local). p1 and p2 are decimal 0..255 without
 * leading zeros; the port is p1 * 256 + p2. Stricter than libtirpc's
 * uaddr2taddr, which takes p1/p2 with atoi, so "x", "300", "-1" and
 * "007" pass there, and any string as a local path.
 * uaddr has len bytes (from the wire, no NUL needed); tether_addr_
 * from_uaddr_str takes a NUL-terminated string.
 * Returns 0; -TETHER_EINVAL (NULL, netid outside the enum);
 * -TETHER_EOVERFLOW (len >= TETHER_UADDR_STRLEN); -TETHER_ERANGE (p1 or
 * p2 > 255); -TETHER_EAFNOSUPPORT (a well-formed address of the other
 * IP family than netid's); -TETHER_ESYNTAX (anything else).
 * *out is written only on success.
 */
int tether_addr_from_uaddr(struct tether_addr *out /* OUT */,
			   enum tether_netid netid, const char *uaddr,
			   size_t len);
int tether_addr_from_uaddr_str(struct tether_addr *out /* OUT */,
			       enum tether_netid netid, const char *uaddr);

/*
 * tether_addr_to_uaddr - write the universal address of *a for netid
 * into buf (size bytes, NUL included), as libtirpc's taddr2uaddr does
 * (inet_ntop form; an IPv6 scope id is dropped, as uaddrs have none).
 * Returns the length written; -TETHER_ENOSPC if it does not fit (buf
 * then holds "" if size > 0); -TETHER_EAFNOSUPPORT when the address
 * family is not netid's; -TETHER_EINVAL for NULL, a netid outside the
 * enum or an inconsistent len.
 */
int tether_addr_to_uaddr(const struct tether_addr *a, enum tether_netid netid,
			 char *buf /* OUT */, size_t size);

/* ------------------------------------------------------------------ */
/* Hashing                                                             */
/* ------------------------------------------------------------------ */

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

/* ------------------------------------------------------------------ */
/* Daemon helpers: logging, pidfile, privileges, detaching, options   */
/* ------------------------------------------------------------------ */

/*
 * Helpers for tether's daemons and tools only. Libraries never log: no
 * code in libtether outside log.c calls the tether_log_* functions; a
 * library returns an error code and its caller (a daemon) decides what
 * to say. The functions in this section keep process-wide state and are
 * not thread-safe; call them from the daemon's main thread.
 */

/* ---- Logging (the relayd set) ---- */

/* What a line is; the level set at runtime is the most verbose shown. */
enum tether_log_level {
	TETHER_LOG_FATAL = 0,	/* tether_fatal, tether_fatalx: always */
	TETHER_LOG_WARN = 1,	/* tether_log_warn/tether_log_warnx */
	TETHER_LOG_INFO = 2,	/* tether_log_info (the default level) */
	TETHER_LOG_DEBUG = 3	/* tether_log_debug: -v */
};

/* Longest line kept (message and errno text); longer lines are cut
 * and end in "...". */
#define TETHER_LOG_LINE_MAX 1024

/*
 * tether_log_init - name the program and pick the destination. With
 * foreground set, lines go to stderr as "progname: message\n" (one
 * write() per line, retried after EINTR or a short write); otherwise
 * to syslog (facility daemon, with the pid). progname is copied (cut
 * at 63 bytes). level is clamped to TETHER_LOG_FATAL..TETHER_LOG_DEBUG.
 * Before any call, lines go to stderr at TETHER_LOG_INFO.
 */
void tether_log_init(const char *progname, int foreground, int level);

/* Change / read the level at runtime (e.g. on a control command). */
void tether_log_set_level(int level);
int tether_log_get_level(void);

/* "fatal", "warn", "info", "debug"; "unknown" for anything else. */
const char *tether_log_level_name(int level);

/*
 * A sink receives every line that passes the level filter instead of
 * stderr/syslog: the text without progname or newline, NUL-terminated,
 * valid only during the call. For tests (capture and assert on lines)
 * and for daemons that forward logs. NULL restores the destination
 * tether_log_init chose.
 */
typedef void tether_log_sink_fn(int level, const char *line, void *ud);
void tether_log_set_sink(tether_log_sink_fn *fn, void *ud);

/*
 * tether_log_tee_stderr - while on, lines that go to syslog (not in the
 * foreground, no sink) at TETHER_LOG_WARN or TETHER_LOG_FATAL are also
 * written to stderr as in the foreground. For a daemon starting
 * detached: until tether_daemon_detached its stderr is still that of
 * whoever starts it, who then sees why a start failed. Off at first.
 */
void tether_log_tee_stderr(int on);

/*
 * The logging calls. Every one keeps errno unchanged. tether_log_warn
 * appends ": " and strerror(errno) (or logs only that when fmt is
 * NULL); the x variants do not. tether_fatal (with errno) and
 * tether_fatalx log at TETHER_LOG_FATAL as "fatal: message" and
 * exit(1).
 */
void tether_log_warn(const char *fmt, ...) TETHER_PRINTF(1, 2);
void tether_log_warnx(const char *fmt, ...) TETHER_PRINTF(1, 2);
/* A block of text (configuration diagnostics), one warning per line:
 * syslog wants lines. */
void tether_log_warn_lines(const char *text);
void tether_log_info(const char *fmt, ...) TETHER_PRINTF(1, 2);
void tether_log_debug(const char *fmt, ...) TETHER_PRINTF(1, 2);
void tether_log_vlog(int level, const char *fmt, va_list ap)
	TETHER_PRINTF(2, 0);
TETHER_NORETURN void tether_fatal(const char *fmt, ...) TETHER_PRINTF(1, 2);
TETHER_NORETURN void tether_fatalx(const char *fmt, ...) TETHER_PRINTF(1, 2);

/* ---- Pidfile ---- */

/*
 * A pidfile that is also a lock: it holds the daemon's pid and an
 * exclusive flock() for as long as the daemon runs. flock (not fcntl)
 * so the lock survives fork() into a daemonized child. A file nobody
 * holds locked is stale (the previous instance died) and is taken over.
 */
struct tether_pidfile;

/*
 * tether_pidfile_open - create path (O_EXCL; or take over a stale one),
 * lock it and write getpid() into it, mode 0644.
 * Returns 0 and *pfp, or:
 *   -TETHER_EBUSY   another process holds the lock; *running (may be
 *                   NULL) gets its pid as read from the file, 0 if the
 *                   file does not hold one yet;
 *   -TETHER_EINVAL  bad arguments, or path is not a regular file;
 *   -TETHER_ENOMEM, or the mapped errno of a failed system call.
 * On failure errbuf (may be NULL) gets a one-line message naming the
 * file, e.g. "/run/x.pid: already running as pid 1234".
 */
int tether_pidfile_open(const char *path, struct tether_pidfile **pfp /* OUT */,
			pid_t *running /* OUT */, char *errbuf /* OUT */,
			size_t errlen);

/* Rewrite the file with getpid(), e.g. in the child after daemonizing.
 * Returns 0 or the mapped errno. */
int tether_pidfile_write(struct tether_pidfile *pf);

/*
 * tether_pidfile_remove - on clean exit: unlink the file, drop the lock,
 * free pf. Returns 0 or the mapped errno of unlink (pf is freed
 * anyway). NULL is a no-op returning 0.
 */
int tether_pidfile_remove(struct tether_pidfile *pf);

/* Drop the lock and free pf, leaving the file (error paths). */
void tether_pidfile_close(struct tether_pidfile *pf);

/* ---- Privileges ---- */

/*
 * tether_priv_drop - become user for good: its uid, its primary group
 * and its supplementary groups (initgroups), after chroot into dir when
 * dir is not NULL (then the working directory is "/"). Must run as
 * root. Afterwards it checks that root cannot be regained (setuid(0)
 * must fail, and setgid(0) unless the user's group is 0) and that every
 * real/effective/saved id is the user's.
 * Returns 0, or: -TETHER_EPERM (not root, or a check failed),
 * -TETHER_ENOENT (no such user or directory), -TETHER_EINVAL (user is
 * root or a NULL user), or the mapped errno; errbuf (may be NULL) gets a
 * message. Any failure leaves the process in an unknown state: exit.
 */
int tether_priv_drop(const char *user, const char *dir,
		     char *errbuf /* OUT */, size_t errlen);

/* ---- Detaching ---- */

/*
 * How a daemon starts without -d:
 *
 *	(void)tether_daemon_std_fds();		first thing in main
 *	(parse the command line, load and check the configuration)
 *	(open sockets that must be opened before the fork)
 *	ready = tether_daemon_detach();		never returns in the parent
 *	(pidfile, privileges, signal handlers: a failure prints why on
 *	 stderr, still the caller's, and exits 1; tether_loop_signal_add
 *	 must come after the fork, as a signalfd watched by epoll from
 *	 before it does not wake the child's loop)
 *	tether_daemon_detached(ready);		the parent exits 0
 *	(run the loop)
 *
 * Unlike daemon(3), whose parent exits 0 at once, the command that
 * starts the daemon returns only once the daemon serves, and its exit
 * status and stderr tell whether it does: a pidfile already held or a
 * user that cannot be switched to is seen by whoever starts it, not
 * only in syslog. And a pidfile opened in the child names the process
 * that serves from the start, never its parent.
 */

/*
 * tether_daemon_std_fds - open /dev/null on whichever of descriptors 0,
 * 1 and 2 is closed. Started with one of them closed, a daemon would
 * get it for its next socket or pipe, and a message meant for stderr
 * (or tether_daemon_detached's redirection) would go there instead.
 * Call it before anything opens a descriptor (tether_log_init may open
 * syslog's socket). Returns 0, or the mapped errno of open (then some
 * of 0-2 may still be closed).
 */
int tether_daemon_std_fds(void);

/*
 * tether_daemon_detach - fork; the parent waits until the child calls
 * tether_daemon_detached (then it exits 0) or exits first (then it
 * exits 1), and never returns. A SIGTERM or SIGINT the parent gets
 * while it waits goes on to the child, which (its signals held, see
 * tether_daemon_hold_signals) takes it once its loop runs; the parent
 * then exits 1 whatever the child says. The child leaves the session
 * (setsid) and moves to "/" (a relative path opened afterwards is
 * relative to it), keeps stdin, stdout and stderr, and gets the
 * descriptor to hand to tether_daemon_detached (close-on-exec; closing
 * it, or exiting, tells the parent the start failed). Returns that
 * descriptor (>= 0) in the child, or the mapped errno when the fork or
 * the socket pair failed (nothing forked).
 */
int tether_daemon_detach(void);

/*
 * tether_daemon_detached - the detached child serves: point stdin,
 * stdout and stderr at /dev/null, then tell the parent to exit 0 and
 * close fd. stdio goes first: once the command has returned, nothing
 * of the daemon's reaches its output, and a caller reading that output
 * to its end (a shell's $(...)) is done when the command is.
 * Returns 0, or the first error: the mapped errno of open or
 * dup2 (stdio kept), or of telling the parent (it was killed: its exit
 * status is not ours to set any more); fd is closed in every case.
 */
int tether_daemon_detached(int fd);

/* ---- One-shot control endpoints ---- */

/*
 * A control endpoint (tetherctl's socket, a metrics page): listen on a
 * local path or a TCP address, accept, read one request with a size
 * limit, answer, close. Every connection has a deadline (the admin
 * timeout, counted from accept: a silent or slow client is closed) and
 * at most max_conns are open at once (one more is accepted and closed
 * at once, after a best-effort busy line and a read of what it already
 * sent, so that the close is not a reset). Requests and answers are
 * bytes; the answer function runs in the loop and must not block.
 * A connection ended before its answer is all sent (the deadline,
 * tether_ctl_close) is reset instead: a TCP RST, and for AF_UNIX a close
 * with the bytes after the request left unread, which the client reads
 * as ECONNRESET after the data (only the request's bytes are read, so a
 * client that sends one byte more, as tetherctl does, can tell a cut
 * answer from a whole one).
 */
struct tether_ctl;

#define TETHER_CTL_DEFAULT_TIMEOUT_MS 10000u
#define TETHER_CTL_DEFAULT_CONNS      16u
#define TETHER_CTL_DEFAULT_REQUEST    1024u
#define TETHER_CTL_DEFAULT_ANSWER     (16u << 20)

/*
 * Is the request in buf (len bytes so far, NUL-terminated) whole?
 * Return its length (bytes to hand to the answer function, > 0), or 0
 * for "need more". NULL in the options means one line: the bytes up to
 * the first '\n', which is replaced by a NUL (and a '\r' before it).
 */
typedef size_t tether_ctl_complete_fn(const char *buf, size_t len);

/*
 * Answer the request req (len bytes, NUL-terminated) by appending to
 * out (bounded by max_answer). Return 0 to send out (which may be
 * empty) and close as after any answer (a FIN, then what the client
 * still sends is read and dropped until it closes, so it sees the end
 * and not a reset), or a negative code to close at once without
 * sending anything.
 */
typedef int tether_ctl_answer_fn(void *ud, char *req, size_t len,
				 struct tether_buf *out);

struct tether_ctl_opts {
	tether_ctl_answer_fn *answer;	  /* required */
	tether_ctl_complete_fn *complete; /* NULL: one line */
	void *ud;			  /* passed to answer */
	size_t max_request;	/* 0: TETHER_CTL_DEFAULT_REQUEST bytes */
	size_t max_answer;	/* 0: TETHER_CTL_DEFAULT_ANSWER bytes */
	uint64_t timeout_ms;	/* 0: TETHER_CTL_DEFAULT_TIMEOUT_MS */
	unsigned max_conns;	/* 0: TETHER_CTL_DEFAULT_CONNS */
	unsigned mode;		/* local socket's mode; 0: 0660 */
	const char *too_long;	/* sent for an oversized request; NULL: none */
	const char *busy;	/* sent when max_conns are open; NULL: none */
};

/* What happened so far (read-only counters). */
struct tether_ctl_stats {
	uint64_t accepted;	/* connections taken (busy ones too) */
	uint64_t answered;	/* requests answered */
	uint64_t busy;		/* closed at once: max_conns open */
	uint64_t too_long;	/* requests above max_request */
	uint64_t timeouts;	/* closed at the deadline */
	unsigned open;		/* connections open now */
};

/*
 * tether_ctl_open - listen on addr: a "unix:" address is an AF_UNIX
 * stream socket (a stale socket file there is replaced; one a process
 * accepts on, or any other file, is an error; mode opts->mode; unlinked
 * by tether_ctl_close), an IP address a TCP socket (SO_REUSEADDR). opts
 * is copied (strings are borrowed). Returns 0 and *out, or
 * -TETHER_EINVAL (no answer function, path too long, not a socket
 * file), -TETHER_EBUSY (a running process listens there),
 * -TETHER_ENOMEM or the mapped errno of socket/bind/listen, with errbuf
 * (may be NULL) naming the address.
 */
int tether_ctl_open(struct tether_ctl **out /* OUT */, struct tether_loop *loop,
		    const struct tether_addr *addr,
		    const struct tether_ctl_opts *opts, char *errbuf /* OUT */,
		    size_t errlen);

/* tether_ctl_close - close the listener and every open connection
 * (those with an answer not all sent reset, as above), unlink a local
 * socket (if its path still names it: see tether_ctl_path_ours), free
 * ctl. NULL: no-op. */
void tether_ctl_close(struct tether_ctl *ctl);

/*
 * tether_ctl_path_ours - 1 if ctl is a TCP endpoint, or its local
 * socket's path still names the socket file tether_ctl_open bound
 * (the same device and inode); 0 if that file was removed or the path
 * now names another file, so that a connect there no longer reaches ctl
 * (a daemon's reload binds it again rather than keep it).
 */
int tether_ctl_path_ours(const struct tether_ctl *ctl);

/* tether_ctl_set_limits - new timeout_ms and max_conns (0: the
 * defaults, as in tether_ctl_opts) for connections accepted from now
 * on; the listener stays open (a daemon that dropped privileges could
 * not bind its socket again). */
void tether_ctl_set_limits(struct tether_ctl *ctl, uint64_t timeout_ms,
			   unsigned max_conns);

/* tether_ctl_set_ud - answer calls from now on get ud (a daemon that
 * rebuilt its state on a reload keeps the socket and its connections). */
void tether_ctl_set_ud(struct tether_ctl *ctl, void *ud);

/* The counters of ctl. */
void tether_ctl_stats(const struct tether_ctl *ctl,
		      struct tether_ctl_stats *st /* OUT */);

/* The bound address (with the port the kernel chose for port 0). */
const struct tether_addr *tether_ctl_addr(const struct tether_ctl *ctl);

/* ---- The common daemon command line ---- */

/*
 * Every tether daemon takes:
 *   -d          stay in the foreground, log to stderr
 *   -f FILE     configuration file (a per-daemon default)
 *   -h, --help  usage on stdout, exit 0
 *   -n          check the configuration, print "configuration OK", exit
 *   -v          more verbose (repeatable)
 *   -V, --version  "name version" on stdout, exit 0
 * An unknown option, a missing argument or an operand prints a message
 * and the short usage on stderr; the daemon exits with status 2.
 * A daemon's main starts like this:
 *
 *	struct tether_daemon_opts o;
 *
 *	if (tether_daemon_parse_opts(&spec, argc, argv, &o) < 0 ||
 *	    o.exit_now)
 *		return o.exit_status;
 *	tether_log_init(spec.name, o.foreground || o.check_only,
 *			TETHER_LOG_INFO + o.verbose);
 *	(load o.conf_path; on errors print the diagnostics to stderr
 *	 and exit 1)
 *	if (o.check_only) {
 *		puts(TETHER_DAEMON_CONFIG_OK);
 *		return 0;
 *	}
 */
#define TETHER_DAEMON_CONFIG_OK "configuration OK"
#define TETHER_DAEMON_EXIT_USAGE 2

/* Called for each daemon-specific option: opt is the option letter,
 * arg its argument or NULL. Return 0, or a negative tether code to
 * make it a usage error. */
typedef int tether_daemon_opt_fn(int opt, const char *arg, void *ud);

/* What a daemon says about itself; all strings are borrowed. */
struct tether_daemon_spec {
	const char *name;		/* required: "tether-lb" */
	const char *version;		/* required: "0.1.0" */
	const char *default_conf;	/* required: "/etc/tether/lb.conf" */
	const char *usage;		/* more synopsis "[-s x]" or NULL */
	const char *help;		/* extra lines for -h, or NULL */
	const char *extra_opts;		/* getopt letters "s:" or NULL */
	tether_daemon_opt_fn *extra_fn;	/* required with extra_opts */
	void *ud;			/* passed to extra_fn */
};

/* The parsed command line. */
struct tether_daemon_opts {
	const char *conf_path;	/* -f FILE (in argv) or the default */
	int foreground;		/* -d */
	int check_only;		/* -n */
	int verbose;		/* number of -v */
	int exit_now;		/* set: exit(exit_status), do not run */
	int exit_status;	/* 0 after -h / -V, 2 after a usage error */
};

/*
 * tether_daemon_parse_opts - parse argv by the convention above (getopt
 * rules: options stop at "--" or the first operand; daemons take no
 * operands). Prints help/version to stdout and usage errors to stderr.
 * Returns 0 (check opts->exit_now), or -TETHER_EINVAL for a usage
 * error (opts->exit_now set, exit_status 2) or for a bad spec (an
 * extra option letter that clashes with dfhnvV, a missing field).
 * Uses getopt's global state; not reentrant.
 */
int tether_daemon_parse_opts(const struct tether_daemon_spec *spec, int argc,
			     char **argv,
			     struct tether_daemon_opts *opts /* OUT */);

/*
 * tether_daemon_hold_signals - block SIGTERM, SIGINT and SIGHUP in the
 * calling thread. A daemon calls it first thing in main: one of these
 * signals sent while it starts (before tether_loop_signal_add) then
 * waits, pending, and the loop's handler takes it once the loop runs,
 * instead of the default action killing a half-started daemon.
 */
void tether_daemon_hold_signals(void);

/*
 * tether_daemon_abs_path - path made absolute for a daemon that opens
 * it again after detaching moved it to "/" (its configuration, on
 * SIGHUP): an absolute path as it is, a relative one joined to the
 * current directory, a leading "./" dropped. Nothing else is resolved
 * (unlike realpath(3)): a symbolic link in the path is followed again
 * at each open, so a link switched to another file (a Kubernetes
 * ConfigMap's ..data, a "current" link) is read through, and a file
 * included relative to it is looked for beside the link, as at start.
 * "." and ".." components are kept, as the kernel resolves them then.
 * Stores a tether_malloc'd string in *out (the caller frees it with
 * tether_free). Returns 0, -TETHER_EINVAL (path or out NULL, path
 * empty), -TETHER_ENOMEM, or the mapped errno of getcwd (*out NULL).
 */
int tether_daemon_abs_path(const char *path, char **out /* OUT */);

/* ---- Configuration tokenizer ---- */

/*
 * The lexical layer shared by every tether configuration file:
 *
 *     # comment to the end of the line
 *     include "lb.d/backends.conf"
 *     service nfs {
 *             listen 192.0.2.10:111 tcp udp; backend "b 1" { }
 *     }
 *
 * A statement is words and strings ended by a newline or ';', or by a
 * block in braces. Words are runs of bytes other than white space,
 * newline, ';', '{', '}', '"', '\'' and control characters ('#' starts
 * a comment only where a token could start). "..." strings know the
 * escapes \" \\ \n \t; '...' strings are literal; neither spans lines.
 * NUL bytes are rejected everywhere, other control characters (but tab
 * and CR) outside comments; bytes >= 0x80 pass through untouched (words
 * and strings are bytes, not checked as UTF-8: meaning is the parser's
 * business).
 *
 * The stream the parser reads is normalised: an end-of-statement token
 * (EOS) comes after every statement that does not end in a block, never
 * twice in a row and never right after '{' or '}' (blank lines, ";;"
 * and "};" produce none); '}' ends an open statement. Braces balance per
 * file. `include PATH` statements are replaced by the tokens of the
 * files they name (relative to the including file's directory; glob
 * patterns allowed, a pattern that matches nothing is no error), with
 * a depth limit and cycle detection. Only a bare `include` word that
 * starts a statement is the directive ("include" quoted is a string).
 * The stream ends with one EOF token.
 *
 * Diagnostics are GCC-style and collected in the tokenizer (libraries
 * never print):
 *     lb.conf:3:12: error: unterminated string
 *         listen "192.0.2.10
 *                ^
 */
enum tether_conf_tok {
	TETHER_CONF_WORD = 0,
	TETHER_CONF_STRING,
	TETHER_CONF_LBRACE,
	TETHER_CONF_RBRACE,
	TETHER_CONF_EOS,
	TETHER_CONF_EOF
};

/* "word", "string", "'{'", "'}'", "end of statement", "end of file";
 * "unknown" otherwise. */
const char *tether_conf_tok_name(int type);

/* A token; everything points into the tokenizer and lives until
 * tether_conf_free. */
struct tether_conf_token {
	int type;		/* enum tether_conf_tok */
	const char *text;	/* NUL-terminated value; "" for EOF */
	size_t len;		/* strlen(text): values never hold a NUL */
	const char *file;	/* file (or buffer) name it came from */
	unsigned line;		/* 1-based */
	unsigned col;		/* 1-based, in bytes */
};

/* Bounds; a zero field takes the default in brackets. */
struct tether_conf_limits {
	size_t max_file_size;		/* bytes per file [1 MiB] */
	size_t max_line_len;		/* bytes per line [4096] */
	size_t max_token_len;		/* bytes per word/string [1024] */
	size_t max_tokens;		/* in the whole stream [100000] */
	unsigned max_include_depth;	/* nested includes [8] */
	unsigned max_files;		/* files read, top one too [64] */
	unsigned max_nesting;		/* nested blocks per file [32] */
	unsigned max_errors;		/* errors before giving up [20] */
	unsigned flags;			/* TETHER_CONF_* below */
};
#define TETHER_CONF_NO_INCLUDE 0x1u	/* `include` is an error */

struct tether_conf;

/* tether_conf_new - an empty tokenizer with the given limits (NULL: all
 * defaults; copied). Returns NULL when out of memory. */
struct tether_conf *tether_conf_new(const struct tether_conf_limits *lim);

/* Free the tokenizer with its tokens, files and diagnostics (every
 * pointer it handed out dies with it). NULL is a no-op. */
void tether_conf_free(struct tether_conf *c);

/*
 * Tokenize a file, or a buffer of len bytes called name (copied; its
 * includes are relative to name's directory). Call one of them once per
 * tokenizer. Returns 0 when the whole stream is ready, -TETHER_ESYNTAX
 * when diagnostics were recorded (the stream is then incomplete),
 * -TETHER_ENOMEM, -TETHER_EINVAL on a second load, -TETHER_EMSGSIZE
 * when the top file or buffer passes max_file_size, or for the top file
 * the mapped errno of open/read (-TETHER_ENOENT, -TETHER_EACCES, ...);
 * every failure but -TETHER_ENOMEM leaves a diagnostic.
 */
int tether_conf_load_file(struct tether_conf *c, const char *path);
int tether_conf_load_mem(struct tether_conf *c, const char *name,
			 const void *data, size_t len);

/*
 * Walk the stream: next returns the current token and moves on, peek
 * returns it without moving; both never return NULL and keep returning
 * the EOF token at the end (and before a successful load).
 */
const struct tether_conf_token *tether_conf_next(struct tether_conf *c);
const struct tether_conf_token *tether_conf_peek(const struct tether_conf *c);

/*
 * tether_conf_args - the arguments of a simple statement whose directive
 * kw (called name in messages) was just read: the words and strings up
 * to the end of the statement, which is consumed, into args (room for
 * max). Returns their number (min..max), or -TETHER_ESYNTAX after one
 * error: "too many arguments to 'NAME'" at the first extra one or
 * "'NAME' does not take a block" at a '{' (*rest = 1: the rest of the
 * statement is still to be skipped, as the parser skips), or "'NAME'
 * needs at least N argument(s)" at kw, "s" spelled out only when N is
 * not 1 (*rest = 0: the statement was read).
 */
int tether_conf_args(struct tether_conf *c, const struct tether_conf_token *kw,
		     const char *name, int min, int max,
		     const struct tether_conf_token **args /* OUT */,
		     int *rest /* OUT */);

/*
 * Record a diagnostic at token t (NULL: no position) for the parser
 * above, in the same format as the tokenizer's. Errors count against
 * max_errors (past it they are dropped, after one "too many errors"
 * note). tether_conf_error returns -TETHER_ESYNTAX so a parser can
 * "return tether_conf_error(...)".
 */
int tether_conf_error(struct tether_conf *c, const struct tether_conf_token *t,
		      const char *fmt, ...) TETHER_PRINTF(3, 4);
void tether_conf_warn(struct tether_conf *c, const struct tether_conf_token *t,
		      const char *fmt, ...) TETHER_PRINTF(3, 4);

/* Errors recorded so far (tokenizer and parser). */
unsigned tether_conf_error_count(const struct tether_conf *c);

/* All diagnostics so far as one NUL-terminated text ("" if none),
 * owned by c; it stops growing past 256 KiB. */
const char *tether_conf_diagnostics(const struct tether_conf *c);

#ifdef __cplusplus
}
#endif

#endif /* TETHER_CORE_H */
