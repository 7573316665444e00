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
 * Invariants: len <= cap <= max; data is NULL iff cap == 0; when
 * cap > len, data[len] is a NUL byte (so text can be used as a string).
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
 * Make room for extra more bytes. Returns 0, -TETHER_ENOSPC if len +
 * extra would pass max (nothing changes), or -TETHER_ENOMEM.
 */
int tether_buf_reserve(struct tether_buf *b, size_t extra);

/* Append n bytes (or a string). Errors as tether_buf_reserve; on error
 * the buffer is unchanged. */
int tether_buf_append(struct tether_buf *b, const void *p, size_t n);
int tether_buf_append_str(struct tether_buf *b, const char *s);

/* Append formatted text. Errors as tether_buf_reserve, -TETHER_EINVAL
 * on a format error; on error the buffer is unchanged. */
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

/* Allocate a ring of size bytes (size > 0). -TETHER_EINVAL, -TETHER_ENOMEM. */
int tether_ring_init(struct tether_ring *r, size_t size);
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

/* Drop n readable bytes (n > len drops everything). */
void tether_ring_drop(struct tether_ring *r, size_t n);

/*
 * Zero-copy I/O. tether_ring_read_iov fills iov[0..1] with the readable
 * bytes (for writev/sendmsg) and returns the piece count (0..2);
 * tether_ring_write_iov does the same for the free room (for readv/
 * recvmsg). After the system call, tether_ring_drop(r, sent) or
 * tether_ring_commit(r, received).
 */
int tether_ring_read_iov(const struct tether_ring *r, struct iovec iov[2]);
int tether_ring_write_iov(const struct tether_ring *r, struct iovec iov[2]);
void tether_ring_commit(struct tether_ring *r, size_t n);

/*
 * tether_ring_recv / tether_ring_send - one readv() into the room / one
 * writev() of the contents on fd. Return the byte count moved (0 from
 * recv means end of file; from send, nothing to send), -TETHER_EAGAIN
 * when the socket would block, -TETHER_ENOSPC when recv finds the ring
 * full, or another negative code for a socket error.
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
 * chunks for reuse and costs O(1). max_bytes bounds the total chunk
 * memory the arena may hold (0 means no bound).
 */
struct tether_arena;

/*
 * tether_arena_new - create an arena whose chunks are chunk_size bytes
 * (0 picks a default; larger requests get a chunk of their own).
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
/* ==== END SECTION hash ==== */

/* ==== SECTION daemon: log, pidfile, privileges, config tokenizer ==== */

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
 * write() per line); otherwise to syslog (facility daemon, with the
 * pid). progname is copied (cut at 63 bytes). level is clamped to
 * TETHER_LOG_FATAL..TETHER_LOG_DEBUG. Before any call, lines go to
 * stderr at TETHER_LOG_INFO.
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
 * The logging calls. Every one keeps errno unchanged. tether_log_warn
 * appends ": " and strerror(errno) (or logs only that when fmt is
 * NULL); the x variants do not. tether_fatal (with errno) and
 * tether_fatalx log at TETHER_LOG_FATAL as "fatal: message" and
 * exit(1).
 */
void tether_log_warn(const char *fmt, ...) TETHER_PRINTF(1, 2);
void tether_log_warnx(const char *fmt, ...) TETHER_PRINTF(1, 2);
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
			pid_t *running /* OUT */, char *errbuf, size_t errlen);

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
int tether_priv_drop(const char *user, const char *dir, char *errbuf,
		     size_t errlen);

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

/* ==== END SECTION daemon ==== */

#ifdef __cplusplus
}
#endif

#endif /* TETHER_CORE_H */
