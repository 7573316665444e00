/*
 * lb-t.h - tether-lb's types only (HAProxy's -t.h split): the parsed
 * configuration (read-only once loaded), and the runtime objects built
 * from it (services, backends, schedulers, persistence, sessions).
 * Prototypes and inlines are in lb.h.
 */
#ifndef TETHER_LB_T_H
#define TETHER_LB_T_H

#include <stddef.h>
#include <stdint.h>

#include "tether/core.h"

#include "krelay.h"

/* ------------------------------------------------------------------ */
/* Bounds                                                              */
/* ------------------------------------------------------------------ */

#define LB_NAME_MAX		64	/* names, NUL included */
#define LB_MAX_SERVICES		256
#define LB_MAX_BACKENDS		1024	/* per service */
#define LB_MAX_LISTENS		64	/* listen directives per service */
#define LB_MAX_PORTS		4096	/* listening ports per service */
#define LB_MAX_WEIGHT		1000
#define LB_MAX_DURATION_MS	((uint64_t)30 * 24 * 3600 * 1000) /* 30 d */
#define LB_MAX_PERSIST		(1u << 22)	/* entries per service */
#define LB_MAX_CONNS		1000000
#define LB_PATH_MAX		1024

/* Defaults a configuration does not have to spell out. */
#define LB_DEFAULT_CONF			"/etc/tether/lb.conf"
#define LB_DEFAULT_PERSIST_TIMEOUT_MS	(30u * 60 * 1000)
#define LB_DEFAULT_PERSIST_SIZE		65536u
#define LB_DEFAULT_CONNECT_TIMEOUT_MS	3000u
#define LB_DEFAULT_IDLE_TIMEOUT_MS	(10u * 60 * 1000)
#define LB_DEFAULT_RETRIES		2u
#define LB_DEFAULT_BACKLOG		511u
#define LB_DEFAULT_CHECK_INTERVAL_MS	2000u
#define LB_DEFAULT_CHECK_TIMEOUT_MS	1000u
#define LB_DEFAULT_CHECK_RISE		2u
#define LB_DEFAULT_CHECK_FALL		3u
/* check passive: down after one failed connect, tried again 10 s later
 * (nginx's max_fails=1 fail_timeout=10s). */
#define LB_DEFAULT_PASSIVE_INTERVAL_MS	10000u
#define LB_DEFAULT_PASSIVE_FALL		1u

/* ------------------------------------------------------------------ */
/* Configuration (built by conf.c, never edited once loaded)           */
/* ------------------------------------------------------------------ */

#define LB_PROTO_TCP	0x1u
#define LB_PROTO_UDP	0x2u

enum lb_balance {
	LB_BALANCE_RR = 0,	/* round-robin, weights ignored */
	LB_BALANCE_WRR,		/* smooth weighted round-robin (nginx) */
	LB_BALANCE_WLC,		/* weighted least-connections */
	LB_BALANCE_MAGLEV,	/* Maglev consistent hashing */
	LB_BALANCE_MAX
};

enum lb_check_type {
	LB_CHECK_NONE = 0,
	LB_CHECK_TCP,
	LB_CHECK_PASSIVE,	/* no probes: failed connects count */
	LB_CHECK_MAX
};

/* listen ADDR:PORT[-PORT] [tcp] [udp] */
struct lb_conf_listen {
	struct tether_addr addr;	/* port set to port_lo */
	uint16_t port_lo, port_hi;	/* inclusive; lo <= hi */
	unsigned protos;		/* LB_PROTO_* */
	unsigned line, col;		/* where it was written */
	/* The file it was written in (the tokenizer's name for it, for
	 * diagnostics naming another listen): set while the file is
	 * parsed only, NULL in a loaded configuration. */
	const char *file;
};

/* backend NAME ADDR[:PORT] [weight N] */
struct lb_conf_backend {
	char name[LB_NAME_MAX];
	struct tether_addr addr;	/* port 0 when has_port is 0 */
	int has_port;			/* 0: use the port the client dialled */
	unsigned weight;		/* 1..LB_MAX_WEIGHT (0: never picked) */
};

/* persist source [mask /N4 [/N6]] [timeout DUR] [size N] */
struct lb_conf_persist {
	int enabled;
	unsigned mask4;			/* prefix kept of IPv4, 0..32 */
	unsigned mask6;			/* prefix kept of IPv6, 0..128 */
	uint64_t timeout_ms;		/* idle timeout of an entry */
	unsigned size;			/* most entries */
};

/* check tcp [interval DUR] [timeout DUR] [rise N] [fall N] [port N]
 *           [slowstart DUR] */
struct lb_conf_check {
	enum lb_check_type type;
	uint64_t slowstart_ms;		/* weight ramp after coming back */
	uint64_t interval_ms;
	uint64_t timeout_ms;
	unsigned rise, fall;
	unsigned port;			/* 0: the backend's port, else the
					 * service's first TCP listening
					 * port (lb_conf_check_port) */
};

/* limits [conns N] [connect-timeout DUR] [idle-timeout DUR]
 *        [retries N] [backlog N] [drain-timeout DUR] [client-conns N] */
struct lb_conf_limits {
	unsigned max_conns;		/* 0: no per-service limit */
	uint64_t connect_timeout_ms;
	uint64_t idle_timeout_ms;
	unsigned retries;		/* other backends tried on failure */
	unsigned backlog;
	uint64_t drain_timeout_ms;	/* 0: drain until entries expire */
	unsigned max_client_conns;	/* per client, 0: no limit */
};

struct lb_conf_service {
	char name[LB_NAME_MAX];
	enum lb_balance balance;
	struct lb_conf_listen *listens;
	size_t nlistens;
	struct lb_conf_backend *backends;
	size_t nbackends;
	struct lb_conf_persist persist;
	struct lb_conf_check check;
	struct lb_conf_limits limits;
	int proxy_v2;			/* send a PROXY v2 header (TCP) */
	int splice;			/* TCP relay through pipes (default) */
	int half_close;			/* wait for the client's FIN (default) */
	int kernel_relay;		/* 1, 0, -1: as the global one */
	unsigned line, col;
};

/* The whole file: globals and services. */
/* io_uring receive buffers, 16 KiB each: a power of two (a kernel
 * ring); the default is 4 MiB, touched only when used. */
#define LB_URING_BUFS_DEFAULT	256u
#define LB_URING_BUFS_MAX	32768u

/* Reads after which a TCP session moves to the kernel relay. */
#define LB_KRELAY_AFTER_DEFAULT	8u
#define LB_KRELAY_AFTER_MAX	1000000u
/* Bytes the kernel may hold per direction of a moved session. */
#define LB_KRELAY_WINDOW_DEFAULT (512u * 1024)
#define LB_KRELAY_WINDOW_MIN	(16u * 1024)
#define LB_KRELAY_WINDOW_MAX	(64u * 1024 * 1024)

struct lb_conf {
	char pidfile[LB_PATH_MAX];	/* "" : none */
	char control[LB_PATH_MAX];	/* control socket path, "": none */
	struct tether_addr metrics;	/* Prometheus endpoint */
	int has_metrics;
	uint64_t admin_timeout_ms;	/* control and metrics deadline */
	unsigned admin_conns;		/* at once on each of them */
	char user[LB_NAME_MAX];		/* "" : keep the current user */
	unsigned max_conns;		/* global limit, 0: not set (the
					 * default, lb_max_conns) */
	int log_level;			/* TETHER_LOG_* */
	int io_uring;			/* TCP sessions start on io_uring */
	unsigned io_uring_bufs;		/* its receive buffers (16 KiB) */
	int kernel_relay;		/* long sessions move to krelay.c */
	unsigned kernel_relay_after;	/* after that many reads */
	unsigned kernel_relay_window;	/* bytes in flight per direction */
	struct lb_conf_service *services;
	size_t nservices;
};

/* ------------------------------------------------------------------ */
/* Runtime: backends and their pool                                    */
/* ------------------------------------------------------------------ */

enum lb_backend_state {
	LB_BACKEND_UP = 0,	/* takes new clients */
	LB_BACKEND_DRAINING,	/* keeps pinned clients, no new ones */
	LB_BACKEND_DOWN,	/* takes nothing; pinned clients re-pin */
	LB_BACKEND_STATE_MAX
};

/* What the operator asked for (tetherctl); health is tracked apart. */
enum lb_admin {
	LB_ADMIN_ENABLED = 0,
	LB_ADMIN_DRAINING,	/* keep pinned clients, take no new ones */
	LB_ADMIN_DISABLED,	/* take nothing */
	LB_ADMIN_MAX
};

struct lb_backend {
	const struct lb_conf_backend *conf;	/* may be NULL in tests */
	const char *name;
	unsigned weight;
	unsigned index;			/* position in its pool */
	enum lb_backend_state state;	/* change with lb_backend_set_state */
	enum lb_admin admin;		/* change with lb_backend_admin */
	int health_down;		/* failed its checks */
	uint64_t drain_deadline;	/* ms; 0: none */
	uint64_t up_since;		/* ms it came back UP; 0: from start */
	/* counters */
	unsigned conns;			/* active connections (also those of
					 * its earlier generations) */
	uint64_t total_conns;
	uint64_t connect_failures;
	uint64_t bytes_in, bytes_out;
	/* smooth WRR state */
	int64_t wrr_current;
	/* health check state */
	unsigned check_ok, check_fail;	/* consecutive results */
	int passive_try;		/* check passive: up until one
					 * connection picks it (its try) */
	/* The same backend in the proxies before and after a reload: a
	 * connection counted here is counted in every later generation. */
	struct lb_backend *prev_gen, *next_gen;
};

struct lb_pool;

/*
 * The balancing algorithm's ops table (HAProxy's struct lb_ops). The
 * pool calls init once, update whenever the set of usable backends or
 * their weights change, pick for each new client (excluded, if not
 * NULL, has one byte per backend: non-zero means "not this one", for
 * retries), and fini at the end.
 */
struct lb_ops {
	const char *name;
	int (*init)(struct lb_pool *pool);
	void (*fini)(struct lb_pool *pool);
	int (*update)(struct lb_pool *pool);
	struct lb_backend *(*pick)(struct lb_pool *pool, uint64_t key,
				   const unsigned char *excluded);
};

/* A service's backends and the state of its algorithm. */
struct lb_pool {
	struct lb_backend *backends;	/* array of n, owned */
	size_t n;
	const struct lb_ops *ops;
	void *state;			/* the algorithm's, owned by ops */
	unsigned rr_next;		/* WLC tie rotation */
	uint64_t slowstart_ms;		/* ramp of a backend back UP, 0: off */
	uint64_t now;			/* ms, set before each pick */
	/* Set while many backends change at once (a reload carrying
	 * their states over): lb_pool_update does nothing, and the
	 * caller updates once at the end. */
	unsigned defer_update;
};

/* A usable backend's next turn in a Maglev build: the round in which
 * it claims its next slot (ties: the lower index first). */
struct lb_maglev_turn {
	uint64_t round;
	uint32_t backend;
};

/* Maglev's lookup table (state of the maglev ops). */
struct lb_maglev {
	uint32_t m;			/* table size, prime */
	int32_t *table;			/* m backend indexes, -1: empty */
	/* Per backend; during population offset walks the permutation
	 * (the next preferred slot) and next counts its steps. */
	uint32_t *offset, *skip;
	uint32_t *next;
	uint32_t *claimed;		/* per backend, slots taken so far */
	uint64_t *weight;		/* per backend, weights of a build */
	/* During population: the usable backends due in this round and
	 * in the next, in index order (2 x n), and those due later. */
	uint32_t *runs;
	struct lb_maglev_turn *heap;	/* min-heap, n */
	/* Work of the last build, for tests: turns taken (one slot each),
	 * heap levels walked, permutation entries probed. */
	uint64_t turns, sifts, probes;
	/* Slow start: while a usable backend ramps, pick rebuilds the
	 * table once pool->now reaches rebuild_at (0: no ramp). */
	uint64_t rebuild_at;		/* ms */
	uint64_t builds;		/* tables built, for tests and stats */
};

/* ------------------------------------------------------------------ */
/* Runtime: persistence                                                */
/* ------------------------------------------------------------------ */

/* A masked client address: the key of a persistence entry. */
struct lb_pkey {
	uint8_t family;			/* AF_INET or AF_INET6 */
	uint8_t addr[16];		/* IPv4 in the first 4 bytes */
};

struct lb_pentry {
	struct lb_pkey key;
	uint32_t backend;		/* index in the service's pool */
	uint64_t last_used;		/* ms */
	struct lb_pentry *hnext;	/* hash chain */
	struct lb_pentry *lru_prev, *lru_next;	/* head: most recent */
};

struct lb_persist {
	struct lb_pentry **buckets;
	uint32_t nbuckets;		/* power of two */
	struct lb_pentry *lru_head, *lru_tail;
	struct lb_pentry *free_list;	/* recycled entries */
	size_t count, max;
	uint64_t timeout_ms;
	unsigned mask4, mask6;
	struct tether_hash_key key;
	uint64_t evictions, expirations;
	/* The service's per-client connection counts (climit.c), or NULL:
	 * an entry whose client has a connection or flow open does not
	 * expire, and is evicted only when no other entry can be. */
	const struct lb_climit *active;
};

/* Active connections of one client (a key as persistence's). */
struct lb_centry {
	struct lb_pkey key;
	unsigned conns;
	struct lb_centry *hnext;
};

/* A service's per-client connection counts (limits client-conns). */
struct lb_climit {
	struct lb_centry **buckets;
	uint32_t nbuckets;		/* power of two */
	size_t count;			/* entries, each with conns > 0 */
	unsigned mask4, mask6;		/* what "one client" is */
	struct tether_hash_key key;
};

/* ------------------------------------------------------------------ */
/* Runtime: the proxy                                                  */
/* ------------------------------------------------------------------ */

/* The read buffer every copying session shares (one per process). */
#define LB_RBUF_SIZE		(64u * 1024)
/* A read at least this long marks a direction as bulk: its next reads
 * go through a pipe (splice), when the service allows it. */
#define LB_SPLICE_MIN		(16u * 1024)
/* Idle pipes kept for reuse, and pipes in use at most (2 fds each). */
#define LB_PIPE_POOL		64u
/* Capacity asked for a new pipe (fewer splice calls per byte). */
#define LB_PIPE_SIZE		(256u * 1024)
#define LB_PIPE_MAX		1024u
/* Descriptors the process holds apart from sessions, flows, pipes and
 * the configuration's sockets (lb_max_conns_default): stdin, stdout and
 * stderr (/dev/null when detached), the epoll and signal descriptors,
 * syslog's socket, the pidfile, the io_uring ring, the kernel relay's
 * six maps and programs, and those held for a moment (a reload's file
 * and name lookups, an accepted connection past max-conns before it is
 * closed); rounded up. */
#define LB_FD_RESERVE		32u
/* Connections taken from one listener per readiness event. */
#define LB_ACCEPT_BATCH		64
/* Reload: connections taken from the queue of one replaced listener
 * at most (its backlog is at most 65535). */
#define LB_TAKE_QUEUED_MAX	65536
/* How long listeners pause when the process is out of fds, ms. */
#define LB_ACCEPT_PAUSE_MS	100u
/* Reload: how long an old listener that overlaps a new one (the
 * wildcard and a specific address of one port) stays open, taking the
 * connections whose handshake it began and dropping new SYNs. One
 * initial SYN timeout (RFC 6298): a SYN it dropped comes again after
 * it closed. */
#define LB_LINGER_MS		1000u
/* The least delay between two runs of the UDP flows' expiry (udp.c). */
#define LB_UDP_EXPIRE_MIN_MS	10u
/* How often expired persistence entries are swept, ms. */
#define LB_SWEEP_MS		1000u

struct lb_proxy;
struct lb_session;
struct lb_check;

/*
 * A health check kind (the "ops table": TCP connect now; the
 * RPC NULL call and the FTP banner follow with the protocol helpers).
 * start begins one probe of ck and returns 0 (the result comes later
 * through lb_check_done) or a negative code (failed at once) with why
 * it failed in why (whylen bytes); it leaves ck->last_error alone, the
 * previous result, which stands until this probe has its own. abort
 * drops a probe in flight without a result. move hands the probe in
 * flight of from to to, the same backend's check in a reload's next
 * generation, whose result it then is: 0, or a negative code with
 * from's probe left to abort.
 */
struct lb_check_ops {
	const char *name;
	int (*start)(struct lb_check *ck, char *why, size_t whylen);
	void (*abort)(struct lb_check *ck);
	int (*move)(struct lb_check *to, struct lb_check *from);
	int passive;		/* no probes (no start, abort, move): failed
				 * connects take the backend down and the
				 * timer lets one connection try it again */
};

/* One backend's active check. */
struct lb_check {
	struct lb_service *svc;
	struct lb_backend *be;
	const struct lb_check_ops *ops;
	struct tether_addr addr;	/* where probes go */
	struct tether_loop_timer *timer;
	int fd;				/* the probe's socket, or -1 */
	int in_flight;
	uint64_t started;		/* ms, of the probe in flight; passive:
					 * since when the backend is down */
	uint64_t try_ms;		/* passive: a try under way, at most
					 * this long from started (0: none) */
	char last_error[64];		/* why the last failed probe failed;
					 * kept while the next is in flight */
};

/* A line a client can cause at will, at most once a second: when the
 * last was logged (0: never) and how many were left out since. */
struct lb_quiet {
	uint64_t logged;
	uint64_t quiet;
};

struct lb_service {
	const struct lb_conf_service *conf;
	struct lb_proxy *px;
	struct lb_pool pool;
	struct lb_persist persist;
	int has_persist;
	struct lb_check *checks;	/* one per backend, or NULL */
	struct lb_udp_flow *udp_head, *udp_tail; /* LRU, head: newest */
	unsigned conns;			/* active sessions and flows, those
					 * of earlier generations too */
	struct lb_service *prev_gen, *next_gen;	/* as lb_backend's */
	struct lb_climit *climit;	/* client-conns or persistence, or
					 * NULL */
	uint64_t total_conns, refused;
	/* Lines for connections refused (limit, no backend) and for
	 * datagrams of new flows refused: a client causes them at will,
	 * so each kind is logged once a second at most (lb_quiet_take). */
	struct lb_quiet tcp_refused_log, udp_refused_log;
	struct lb_quiet udp_error_log;	/* a new flow's socket failed */
	struct lb_quiet udp_end_log;	/* flows ended by a backend error */
};

struct lb_listener {
	struct lb_service *svc;
	struct tether_addr addr;	/* bound address, port included */
	uint16_t port;			/* the port clients dial */
	int fd;
	int paused;			/* out of fds: not accepting */
	int adopted;			/* not in the configuration: a
					 * reload kept it (proxy.c, adopt) */
	struct lb_listener *donor;	/* reload: whose socket this took */
};

/* Reload: a listener of the replaced proxy kept open LB_LINGER_MS,
 * beside the new one that overlaps it (proxy.c, linger). */
struct lb_linger {
	struct lb_linger *next;
	struct lb_proxy *px;		/* the proxy its connections go to */
	struct tether_addr addr;
	int fd;
	size_t moved, closed;
};

/* A session's state; change it with session_set_state (proxy.c). */
enum lb_sess_state {
	LB_SESS_CONNECTING = 0,		/* backend connect in progress */
	LB_SESS_RELAY,			/* both connected, bytes flow */
	LB_SESS_STATE_MAX
};

/* How a session ended (the log line's end=). */
enum lb_sess_end {
	LB_END_CLOSED = 0,		/* both sides finished cleanly */
	LB_END_CLIENT_ERROR,		/* reset or error on the client side */
	LB_END_BACKEND_ERROR,		/* reset or error on the backend side */
	LB_END_IDLE,			/* idle timeout */
	LB_END_CONNECT_FAILED,		/* every backend tried failed */
	LB_END_NO_BACKEND,		/* none usable */
	LB_END_LIMIT,			/* a connection limit was reached */
	LB_END_SHUTDOWN,		/* tether-lb is stopping */
	LB_END_NOMEM,
	LB_END_KRELAY_FAILED,		/* a failed move into the kernel
					 * relay lost bytes */
	LB_END_MAX
};

/* Half-close flags of a session. */
#define LB_SESS_C_EOF	0x1u	/* client sent FIN */
#define LB_SESS_B_EOF	0x2u	/* backend sent FIN */
#define LB_SESS_C_SHUT	0x4u	/* we sent FIN to the client */
#define LB_SESS_B_SHUT	0x8u	/* we sent FIN to the backend */
#define LB_SESS_NOSPLICE 0x10u	/* copy only (config, or splice failed) */
#define LB_SESS_C_OWED	0x20u	/* C_SHUT set, shutdown() not yet called */
#define LB_SESS_B_OWED	0x40u	/* B_SHUT set, shutdown() not yet called */
#define LB_SESS_URGENT	0x100u	/* urgent data seen: a short read proves
				   nothing (it stops at the mark) */
#define LB_SESS_FIN_FAILS 0x80u /* half-close off: an early backend FIN
				   is a failed attempt (lb_sess_may_retry) */
#define LB_SESS_URING	0x200u	/* on the io_uring data path */
#define LB_SESS_ULEAVE	0x400u	/* leaving it: ops cancelled, not all back */
#define LB_SESS_UDEAD	0x800u	/* ended; memory kept until ops are back */
#define LB_SESS_UTIMEOUT 0x1000u /* connect op cancelled by the timer */
#define LB_SESS_UCONNFAIL 0x2000u /* the connect failed while leaving */
#define LB_SESS_KRELAY	0x4000u	/* on the kernel relay (krelay.c) */
#define LB_SESS_KNEVER	0x8000u	/* the move failed: stay in user space */
#define LB_SESS_KWANT	0x10000u /* leaving io_uring for the kernel relay */
#define LB_SESS_BULK	0x20000u /* a read was long with splice on: the
				   session stays in user space (splice) */
#define LB_SESS_C_HELD	0x40000u /* bytes sent to the client with
				   MSG_MORE: TCP may hold them for a FIN */
#define LB_SESS_B_HELD	0x80000u /* the same toward the backend */
#define LB_SESS_UNCOUNTED 0x100000u /* not in its client's count: the
				   recount at a reload had no memory */

/* Readiness a session remembers between edge-triggered events: set by
 * an event, cleared when a call would block. HUP: the peer's FIN (or
 * an error) was reported, so a short read is no proof of an empty
 * socket and reading goes on until it returns 0. */
#define LB_RDY_CR	0x01u	/* client readable */
#define LB_RDY_CW	0x02u	/* client writable */
#define LB_RDY_BR	0x04u
#define LB_RDY_BW	0x08u
#define LB_RDY_CHUP	0x10u
#define LB_RDY_BHUP	0x20u

/* One direction of a relay. Bytes read from the source that the other
 * side has not taken yet wait in a buffer of their own (copy) or in a
 * pipe (splice); most of the time neither is held, so an idle
 * connection costs no buffer. */
struct lb_dir {
	unsigned char *buf;		/* NULL unless bytes wait */
	uint32_t off, len;		/* buf[off .. off + len) waits */
	int pipe[2];			/* -1: no pipe held */
	uint32_t inpipe;		/* bytes in the pipe */
	int bulk;			/* the last read was long: splice */
};

/* An io_uring operation (uring.c): embedded in its owner, the callback
 * gets the completion's result and flags. */
struct lb_uop {
	void (*fn)(struct lb_uop *op, int res, unsigned flags);
};

/* One direction of a session on the io_uring data path: at most one
 * recv or one send in flight, and the provided buffer being sent. */
struct lb_udir {
	struct lb_uop rop, sop;
	struct lb_session *s;
	int bid;			/* buffer held, -1: none */
	uint32_t off, len;
	int nonempty;			/* bytes wait: receive at once */
	int more;			/* the FIN follows: MSG_MORE */
};

struct lb_session {
	struct lb_proxy *px;
	struct lb_service *svc;
	struct lb_backend *be;		/* NULL before the first pick */
	/* The service whose pool holds be and has a byte in tried per
	 * backend: svc, or a later generation of it once a retry after a
	 * reload picked there (session_connect); its proxy is then held
	 * (px->holds) until the session ends or picks again. */
	struct lb_service *bsvc;
	enum lb_sess_state state;
	unsigned flags;			/* LB_SESS_* */
	int cfd, bfd;			/* -1 when closed */
	uint16_t port;			/* the port the client dialled */
	struct tether_addr client, baddr;
	struct lb_dir c2b, b2c;
	unsigned ready;			/* LB_RDY_* */
	uint64_t start, last_activity;
	uint64_t bytes_in, bytes_out;	/* client->backend, backend->client */
	uint64_t spliced;		/* of those, moved through pipes */
	unsigned attempts;
	uint32_t reads;			/* successful reads, both ways */
	unsigned char *tried;		/* one byte per backend */
	/* The current backend connection: bytes written to it (a PROXY
	 * header of hdr_len bytes first), and the errno of its last read
	 * or write error; for lb_sess_may_retry. */
	uint64_t bsent;
	unsigned hdr_len;
	int berrno;
	struct tether_loop_timer *timer;
	struct lb_session *prev, *next;
	/* io_uring data path (LB_SESS_URING): the connect op, the two
	 * directions ([0] client to backend), the ops in flight (LB_UP_*),
	 * and an end reason + 1 to apply once it has left for epoll. */
	struct lb_uop uconn;
	struct lb_udir u[2];
	unsigned upend;
	struct lb_uop ucancel;		/* the cancels it sent */
	unsigned ucancels;		/* of those, not yet completed */
	int uend;
	/* Kernel relay (LB_SESS_KRELAY): the maps' keys, how long the
	 * next check for relayed bytes before a FIN waits (ms), and the
	 * chains of proxy.c's table from a socket's cookie to its session
	 * (for the verdict's pause notices). */
	struct lb_krelay kr;
	unsigned kdelay;
	struct lb_session *knext[2];
};

/* ---- UDP ---- */

#define LB_UDP_MAX_FLOWS	65536u	/* per process */
#define LB_UDP_BATCH		64	/* datagrams per readiness event */
#define LB_UDP_MAX_DGRAM	65536u

struct lb_udp_listener {
	struct lb_service *svc;
	struct tether_addr addr;	/* bound address, port included */
	uint16_t port;
	uint32_t index;			/* part of the flow key */
	int fd;
	struct lb_udp_listener *donor;	/* reload: whose socket this took */
};

/*
 * One client (address and port) on one UDP listener, relayed through a
 * socket connected to its backend. ul is always a listener of the live
 * proxy (the flow is in its table and its service's LRU list); svc is
 * the service whose pool holds be, and svc->px the proxy whose conns
 * count the flow. Both are ul->svc, except for a flow kept over a
 * reload on a backend the new configuration removed: svc is then a
 * service of the retired proxy, which stays alive until the flow ends.
 */
struct lb_udp_flow {
	struct lb_udp_listener *ul;
	struct lb_service *svc;
	struct lb_backend *be;
	struct tether_addr client, baddr;
	int fd;
	uint64_t start, last_activity;
	uint64_t bytes_in, bytes_out;	/* client->backend, backend->client */
	int uncounted;			/* as LB_SESS_UNCOUNTED */
	struct lb_udp_flow *hnext;
	struct lb_udp_flow *lru_prev, *lru_next;	/* in the service's */
};

struct lb_udp {
	struct lb_udp_listener *listeners;
	size_t nlisteners;
	struct lb_udp_flow **buckets;
	uint32_t nbuckets;		/* power of two */
	size_t count;
	size_t max_flows;		/* lb_udp_open: LB_UDP_MAX_FLOWS, or
					 * half the fd limit if lower */
	unsigned char *buf;		/* one datagram */
	struct tether_loop_timer *expire;	/* the next idle flow's end */
};

#define LB_ADMIN_CONNS_MAX	1024
#define LB_CTL_MAX_LINE		1024
#define LB_HTTP_MAX_REQUEST	4096
#define LB_CTL_MAX_OUT		(16u << 20)
/* What one line of an answer may take at most, and the line that says
 * the rest was left out. */
#define LB_CTL_LINE_ROOM	512u

struct lb_proxy {
	struct lb_proxy *donor;		/* reload: the proxy being replaced */
	struct lb_conf *owned_conf;	/* retired proxies own their conf */
	int retired;			/* replaced; freed after its sessions */
	int freeing;
	struct lb_proxy *retired_next;
	struct lb_udp udp;
	struct tether_ctl *ctl;		/* control socket, NULL: none */
	struct tether_ctl *metrics;	/* metrics listener, NULL: none */
	struct tether_loop *loop;
	const struct lb_conf *conf;
	struct lb_service *services;
	size_t nservices;
	struct lb_listener *listeners;
	size_t nlisteners;
	struct lb_session *sessions;	/* list of live sessions */
	unsigned conns;
	unsigned holds;			/* sessions of older proxies whose
					 * backend is in its pools (bsvc) */
	unsigned max_conns;		/* the global limit in force
					 * (lb_max_conns), 0: none */
	unsigned pipe_cap;		/* splice pipes it may have open
					 * (lb_pipe_budget) */
	struct tether_hash_key key;	/* persistence tables' SipHash key */
	struct tether_loop_timer *sweep;
	struct tether_loop_timer *resume;	/* un-pauses listeners */
	struct lb_linger *lingers;	/* old listeners in their grace */
	struct tether_loop_timer *linger_end;
};

#endif /* TETHER_LB_T_H */
