/*
 * lb.h - tether-lb's prototypes: configuration loading, the balancing
 * algorithms behind struct lb_ops, the persistence table, and the proxy
 * (listeners, sessions, relay). Types are in lb-t.h.
 */
#ifndef TETHER_LB_H
#define TETHER_LB_H

#include "lb-t.h"

/* ---- Configuration (conf.c) ---- */

/*
 * lb_conf_load_file / lb_conf_load_mem - tokenize (with `include`) and
 * parse a configuration, then check it as a whole (every service has a
 * listen and a backend, no two listeners overlap, names are unique).
 * Every problem found is reported, not just the first: the GCC-style
 * diagnostics ("file:line:col: error: ...", source line, caret) are
 * appended to diag when it is not NULL (warnings too).
 * Returns 0 and *out (the caller frees it with lb_conf_free), or
 * -TETHER_ESYNTAX (diagnostics say why), -TETHER_ENOMEM, or the error
 * of opening the top file (-TETHER_ENOENT, -TETHER_EACCES, ... with a
 * diagnostic naming it). *out is NULL on failure.
 */
int lb_conf_load_file(const char *path, struct lb_conf **out /* OUT */,
		      struct tether_buf *diag);
int lb_conf_load_mem(const char *name, const void *data, size_t len,
		     struct lb_conf **out /* OUT */, struct tether_buf *diag);

/* As lb_conf_load_file, and checks against this host what the text
 * alone cannot tell: that `user` names a user here ("no such user" at
 * its place otherwise). For start-up and -n; reloads use
 * lb_conf_load_file (the user is taken at start only). */
int lb_conf_load_file_host(const char *path, struct lb_conf **out /* OUT */,
			   struct tether_buf *diag);

/* As lb_conf_load_mem, with the tokenizer's limits (NULL: defaults);
 * e.g. TETHER_CONF_NO_INCLUDE for untrusted text. */
int lb_conf_load_mem_lim(const char *name, const void *data, size_t len,
			 const struct tether_conf_limits *lim,
			 struct lb_conf **out /* OUT */,
			 struct tether_buf *diag);

/*
 * lb_conf_write - append conf to b in the configuration language, every
 * value spelled out (defaults too), so that loading the text gives an
 * equal configuration (tether-lb -n -v prints it). Returns 0 or
 * tether_buf's error; b may then hold part of the text.
 */
int lb_conf_write(const struct lb_conf *conf, struct tether_buf *b);

/* lb_conf_kernel_relay - whether sessions of svc may move to the kernel
 * relay: svc's own `kernel-relay`, else the global one.
 * lb_conf_wants_kernel_relay - whether any service of conf may. */
int lb_conf_kernel_relay(const struct lb_conf *conf,
			 const struct lb_conf_service *svc);
int lb_conf_wants_kernel_relay(const struct lb_conf *conf);

/*
 * lb_conf_check_port - the port svc's `check tcp` probes b on: the
 * check's `port`, else b's own port, else the first port of svc's
 * first listen that takes TCP (a UDP-only listen's port says nothing
 * about TCP). 0 when there is none; the parser rejects `check tcp` then.
 */
unsigned lb_conf_check_port(const struct lb_conf_service *svc,
			    const struct lb_conf_backend *b);

/* Free a configuration from lb_conf_load_*; NULL is a no-op. */
void lb_conf_free(struct lb_conf *conf);

/*
 * lb_parse_duration - "250ms", "2s", "30m", "1h", or a bare number of
 * seconds, into milliseconds; at most LB_MAX_DURATION_MS.
 * Returns 0, -TETHER_ESYNTAX (not a duration), -TETHER_ERANGE (too
 * long). *ms is written only on success.
 */
int lb_parse_duration(const char *s, uint64_t *ms /* OUT */);

/*
 * lb_parse_listen_addr - "ADDR:PORT" or "ADDR:LO-HI" (IPv6 in brackets)
 * into *l's addr, port_lo and port_hi. Ports 1..65535, LO <= HI.
 * Returns 0, -TETHER_ESYNTAX, -TETHER_ERANGE (port 0, above 65535, or
 * HI < LO), -TETHER_EAFNOSUPPORT (not IPv4/IPv6).
 */
int lb_parse_listen_addr(const char *s, struct lb_conf_listen *l /* OUT */);

/* Names for logs and diagnostics; "unknown" outside the enums. */
const char *lb_balance_name(int balance);
const char *lb_backend_state_name(int state);

/* ---- Backend pools and balancing algorithms (sched.c, sched_maglev.c) */

extern const struct lb_ops lb_ops_rr;
extern const struct lb_ops lb_ops_wrr;
extern const struct lb_ops lb_ops_wlc;
extern const struct lb_ops lb_ops_maglev;

/* The ops table for an enum lb_balance value, NULL outside it. */
const struct lb_ops *lb_ops_for(int balance);

/*
 * lb_pool_init - set up pool for n backends (n >= 1, at most
 * LB_MAX_BACKENDS) balanced by ops: the backends array is allocated and
 * zeroed, all UP; the caller fills in name, weight and conf, then calls
 * lb_pool_update. Returns 0, -TETHER_EINVAL or -TETHER_ENOMEM (pool
 * then holds nothing; lb_pool_fini is harmless).
 */
int lb_pool_init(struct lb_pool *pool, size_t n, const struct lb_ops *ops);
void lb_pool_fini(struct lb_pool *pool);

/*
 * lb_pool_update - tell the algorithm that states or weights changed
 * (Maglev rebuilds its table). Does nothing while pool->defer_update is
 * set. Returns 0 or -TETHER_ENOMEM (the old table stays in use).
 */
int lb_pool_update(struct lb_pool *pool);

/* How many lookup tables a Maglev pool has built (0 for the others):
 * shown by `tetherctl show services`. */
uint64_t lb_pool_table_builds(const struct lb_pool *pool);

/*
 * lb_pool_pick - the backend for a new client whose key is key (a hash
 * of the masked client address; only Maglev uses it), skipping the
 * backends marked in excluded (may be NULL). Only UP backends with a
 * non-zero weight are picked. Returns NULL when none is usable.
 */
struct lb_backend *lb_pool_pick(struct lb_pool *pool, uint64_t key,
				const unsigned char *excluded);

/*
 * lb_backend_set_state - the only way to change a backend's state (so
 * the algorithm hears of it). DRAINING sets drain_deadline to
 * now + drain_ms (0: no deadline), UP clears it, DOWN keeps it.
 * Returns lb_pool_update's result.
 */
int lb_backend_set_state(struct lb_pool *pool, struct lb_backend *b,
			 enum lb_backend_state state, uint64_t now,
			 uint64_t drain_ms);

/*
 * lb_backend_admin - the operator's wish for b (enable, drain with an
 * optional deadline of drain_ms from now, disable). The state follows
 * from it and from health: disabled or failing checks -> DOWN, else
 * draining -> DRAINING, else UP. A drain sets drain_deadline (0: none)
 * whatever the state, so a backend drained while DOWN keeps it for
 * when it is back. Returns lb_pool_update's result.
 */
int lb_backend_admin(struct lb_pool *pool, struct lb_backend *b,
		     enum lb_admin admin, uint64_t now, uint64_t drain_ms);

/*
 * lb_backend_ramp_weight - b's weight at pool->now times scale (>= 1).
 * During slow start (the first pool->slowstart_ms after b came back UP)
 * it grows linearly from scale to weight * scale, so scale > 1 gives a
 * finer ramp than whole weights; otherwise it is weight * scale. If end
 * is not NULL it gets the ms the ramp ends while the result is below
 * weight * scale, else 0.
 */
uint64_t lb_backend_ramp_weight(const struct lb_pool *pool,
				const struct lb_backend *b, unsigned scale,
				uint64_t *end /* OUT */);

/* "enabled", "draining", "disabled"; "unknown" otherwise. */
const char *lb_admin_name(int admin);

/* Whether b may take a new client / keep a pinned one at time now. */
int lb_backend_usable(const struct lb_backend *b);
int lb_backend_keeps_pinned(const struct lb_backend *b, uint64_t now);

/*
 * Connection counts that survive a reload. A reload links each
 * unchanged backend (same service, name and address) of the old proxy
 * to its successor (lb_backend_link: the successor starts with the
 * old count); acquire and release then count a connection in the
 * backend it holds and in every later generation, so the live
 * proxy's counts (wlc, limits, tetherctl) include the connections
 * still finishing on retired proxies. lb_pool_fini unlinks. The
 * service versions do the same for a service's count (same name).
 */
void lb_backend_acquire(struct lb_backend *b);
void lb_backend_release(struct lb_backend *b);
void lb_backend_link(struct lb_backend *old, struct lb_backend *b);
/*
 * lb_backend_newest - the latest generation of b, where what a
 * connection holding b does is counted (total, failures, bytes, passive
 * health): b itself when no later configuration has it unchanged (a
 * retired proxy's backend that was removed or readdressed). *svc is
 * b's service on entry, and the one whose pool holds the result on
 * return.
 */
struct lb_backend *lb_backend_newest(struct lb_backend *b,
				     struct lb_service **svc /* IN/OUT */);
void lb_service_acquire(struct lb_service *svc);
void lb_service_release(struct lb_service *svc);
void lb_service_link(struct lb_service *old, struct lb_service *svc);
void lb_service_unlink(struct lb_service *svc);
/* The latest generation of svc (the live proxy's, or svc itself). */
struct lb_service *lb_service_newest(struct lb_service *svc);

/* The smallest prime >= n (n <= 2^31), for Maglev's table size. */
uint32_t lb_maglev_prime(uint32_t n);

/* The fixed seeds that make every tether-lb node build the same table
 * and hash a client to the same slot. */
#define LB_MAGLEV_SEED_OFFSET	0x6d61676c65763031ULL	/* "maglev01" */
#define LB_MAGLEV_SEED_SKIP	0x6d61676c65763032ULL	/* "maglev02" */
#define LB_KEY_SEED		0x746574686572306bULL	/* "tether0k" */

/* A log line at level (TETHER_LOG_WARN, _INFO, ...): the connection
 * and flow lines, whose level depends on how they ended (proxy.c). */
void lb_log(int level, const char *fmt, ...) TETHER_PRINTF(2, 3);
/* Whether a and b (listen addresses) overlap without being the same:
 * same family and port, one the wildcard. */
int lb_addr_overlap(const struct tether_addr *a, const struct tether_addr *b);
/*
 * A reload binding a listen address beside an old socket it overlaps
 * (proxy.c's beside_old, and udp.c's): lb_reuseport_old sets
 * SO_REUSEPORT on oldfd (bound to old) when old overlaps addr, and says
 * so (1); lb_reuseport_new then sets it on the new fd when one was
 * found, else fails with errno EADDRINUSE (the bind's). LB_BESIDE_HINT
 * ends the bind's error when the second bind fails too.
 */
int lb_reuseport_old(int oldfd, const struct tether_addr *old,
		     const struct tether_addr *addr);
int lb_reuseport_new(int fd, int found);
#define LB_BESIDE_HINT	" beside the old listener it overlaps (Linux shares " \
			"an address only between sockets of one user: after " \
			"`user` the change needs a restart)"
/*
 * lb_quiet_take - whether a line of q's kind may be logged at time now
 * (ms): -1 if one was less than a second ago (this one is counted
 * instead), else how many were left out since the last, and q starts
 * counting again.
 */
long long lb_quiet_take(struct lb_quiet *q, uint64_t now);

/* ---- Persistence (persist.c) ---- */

/*
 * lb_persist_init - an empty table of at most max entries (1..
 * LB_MAX_PERSIST) whose entries expire timeout_ms after their last use,
 * keyed by client addresses masked to mask4 / mask6 bits, hashed with
 * SipHash under key (random per process: clients choose the keys).
 * p->active starts NULL; the caller points it at the service's
 * per-client counts (entries of clients with something open stay).
 * Returns 0, -TETHER_EINVAL, -TETHER_ENOMEM.
 */
int lb_persist_init(struct lb_persist *p, size_t max, uint64_t timeout_ms,
		    unsigned mask4, unsigned mask6,
		    const struct tether_hash_key *key);
void lb_persist_fini(struct lb_persist *p);

/*
 * lb_persist_key - the masked key of a client address. IPv4-mapped IPv6
 * addresses count as IPv4. Returns 0 or -TETHER_EAFNOSUPPORT.
 */
int lb_persist_key(const struct lb_persist *p, const struct tether_addr *a,
		   struct lb_pkey *out /* OUT */);

/* As lb_persist_key with the given masks (0..32, 0..128). */
int lb_pkey_make(const struct tether_addr *a, unsigned mask4, unsigned mask6,
		 struct lb_pkey *out /* OUT */);

/* A balancing key from a persistence key (same nodes, same value). */
uint64_t lb_pkey_hash(const struct lb_pkey *k);

/*
 * lb_persist_lookup - the live entry for k, touched (moved to the head
 * of the LRU list, last_used = now), or NULL. An expired entry found
 * on the way (timed out, its client with nothing open) is removed.
 */
struct lb_pentry *lb_persist_lookup(struct lb_persist *p,
				    const struct lb_pkey *k, uint64_t now);

/*
 * lb_persist_insert - add an entry k -> backend (or re-point the
 * existing one). When the table is full the least recently used entry
 * is evicted, preferring one whose client has nothing open. Returns
 * the entry, or NULL when out of memory.
 */
struct lb_pentry *lb_persist_insert(struct lb_persist *p,
				    const struct lb_pkey *k, uint32_t backend,
				    uint64_t now);

/* The entry for k as it is, or NULL: not touched, not expired (what
 * tetherctl shows). */
const struct lb_pentry *lb_persist_peek(const struct lb_persist *p,
					const struct lb_pkey *k);

/* k's client closed the last connection or flow it had open: its
 * entry, if any, is touched, so that it lives a timeout from now. */
void lb_persist_closed(struct lb_persist *p, const struct lb_pkey *k,
		       uint64_t now);

/* Remove one entry. */
void lb_persist_remove(struct lb_persist *p, struct lb_pentry *e);

/* Remove every entry idle for timeout_ms or more at now whose client
 * has nothing open (p->active), and touch those whose client has;
 * returns how many were removed. Cost: the entries removed or touched,
 * plus one. */
size_t lb_persist_expire(struct lb_persist *p, uint64_t now);

/*
 * lb_select - the backend for a new connection of client at time now:
 * its pinned backend while that one keeps pinned clients (UP, or
 * DRAINING before its deadline), else a fresh pick from the pool, which
 * is pinned at once (before any backend connection exists, so parallel
 * connections of one client agree). p may be NULL (no persistence).
 * excluded as for lb_pool_pick (retries); a retry re-pins.
 * Returns NULL when no backend is usable.
 */
struct lb_backend *lb_select(struct lb_pool *pool, struct lb_persist *p,
			     const struct tether_addr *client, uint64_t now,
			     const unsigned char *excluded);
/* As lb_select for a caller whose held connections of client are
 * counted already (p->active): a TCP session counts itself at accept.
 * A timed-out entry is kept only for the client's other ones. */
struct lb_backend *lb_select_held(struct lb_pool *pool,
				  struct lb_persist *p,
				  const struct tether_addr *client,
				  uint64_t now, const unsigned char *excluded,
				  unsigned held);

/* ---- Per-client connection limit (climit.c) ---- */

/*
 * lb_climit_new - an empty per-client count table; a client is its
 * address masked to mask4 / mask6 bits (the service's persistence
 * masks, else 32 / 128), hashed with SipHash under key. Returns NULL
 * when out of memory. lb_climit_free(NULL) is a no-op.
 */
struct lb_climit *lb_climit_new(unsigned mask4, unsigned mask6,
				const struct tether_hash_key *key);
void lb_climit_free(struct lb_climit *c);

/* The connections and flows counted for key k (a key made with c's
 * masks) in c. */
unsigned lb_climit_conns(const struct lb_climit *c, const struct lb_pkey *k);

/*
 * The table that counts svc's clients: the newest generation's (a
 * reload moves the table forward, lb_service_link). NULL when that
 * service has neither a client-conns limit nor persistence.
 */
struct lb_climit *lb_client_table(struct lb_service *svc);

/* Whether client may open one more connection to svc (1) or is at its
 * limit (0). */
int lb_client_admit(struct lb_service *svc, const struct tether_addr *client);

/*
 * lb_client_acquire / lb_client_release - count a connection or flow of
 * client to svc, and its end. Acquire returns 0, or -TETHER_ENOMEM (not
 * counted; releasing it is then harmless: the client has no entry).
 */
int lb_client_acquire(struct lb_service *svc,
		      const struct tether_addr *client);
void lb_client_release(struct lb_service *svc,
		       const struct tether_addr *client);

/* ---- Health (health.c) ---- */

extern const struct lb_check_ops lb_check_ops_tcp;
extern const struct lb_check_ops lb_check_ops_passive;

/* The check kind for an enum lb_check_type; NULL for LB_CHECK_NONE and
 * outside the enum. */
const struct lb_check_ops *lb_check_ops_for(int type);

/*
 * lb_health_result - count one check result (ok or not) for b: its
 * health goes down after fall consecutive failures and up again after
 * rise consecutive successes, and its state follows (as in
 * lb_backend_admin: a disabled backend stays DOWN, a draining one
 * DRAINING while healthy). Returns 1 when the health changed, else 0.
 */
int lb_health_result(struct lb_pool *pool, struct lb_backend *b, int ok,
		     unsigned rise, unsigned fall, uint64_t now);

/*
 * lb_health_start / lb_health_stop - run the active checks of svc
 * (when its configuration asks for them) on loop: one timer per
 * backend, the first probe at once. Start returns 0 or -TETHER_ENOMEM;
 * stop releases everything and is harmless when nothing was started.
 * Stop first gives each check of svc->next_gen (a reload's new
 * generation, when linked) that has no failure reason yet the one of
 * its backend here, so a down backend keeps showing why; and the check
 * of a backend linked to its predecessor (lb_backend_link), of the same
 * kind and probing the same address, takes over its schedule: the
 * probe in flight (timed out at its start plus the new timeout), else
 * the next probe or passive try when it was due, moved by any change of
 * interval.
 */
int lb_health_start(struct lb_service *svc, struct tether_loop *loop);
void lb_health_stop(struct lb_service *svc);

/*
 * lb_health_passive - a connection to b failed in the data path: with
 * checks configured this counts as a failed check (so a dead backend is
 * taken out before its next probe; with `check passive`, the only
 * results there are). Without checks nothing would bring b back, so it
 * is not marked down.
 * lb_health_connected - a connection to b was made: with `check
 * passive` it clears b's failures, or brings b up if it was down (a
 * connect begun before it went down succeeded).
 */
void lb_health_passive(struct lb_service *svc, struct lb_backend *b,
		       uint64_t now);
void lb_health_connected(struct lb_service *svc, struct lb_backend *b);
/* lb_health_picked - a connection or flow picked b: if it was up for a
 * passive check's try, it is down again until that try succeeds, and
 * not up for another before the check's interval has passed from its
 * failure, or from try_ms (the longest the try may take to tell: a TCP
 * connect's timeout; 0 for a UDP flow, which may never tell). */
void lb_health_picked(struct lb_service *svc, struct lb_backend *b,
		      uint64_t try_ms);

/* ---- UDP flows (udp.c) ---- */

/*
 * lb_udp_open - a UDP socket on each udp port of every service of
 * px->conf, on px->loop. Returns 0 or a negative code with errbuf set
 * as lb_proxy_new does. lb_udp_close ends every flow (logged) and
 * closes the sockets; harmless on a half-opened state.
 */
int lb_udp_open(struct lb_proxy *px, char *errbuf, size_t errlen);
void lb_udp_close(struct lb_proxy *px);

/* End every UDP flow of px (logged end=shutdown); the sockets stay. */
void lb_udp_end_flows(struct lb_proxy *px);

/*
 * lb_udp_adopt_flows - after a reload, move old's UDP flows to px (the
 * proxy that took over old's sockets). A flow whose listener and
 * service stay keeps its backend socket (so the backend sees the same
 * peer) and its counters: with an unchanged backend it moves to that
 * backend's successor; with a backend the new configuration removed
 * (or readdressed) it is kept on the old backend, which it holds with
 * old (as a TCP session does) until it ends, idle or on an error. The
 * others (listener or service gone, backend DOWN) are left to end
 * with old (logged end=shutdown). When px has room for fewer than
 * that (px->udp.max_flows, lowered with RLIMIT_NOFILE since old was
 * built), it takes the most recently active and the rest end too.
 * Logs the counts at info.
 */
void lb_udp_adopt_flows(struct lb_proxy *px, struct lb_proxy *old);

/* Give sockets taken from px->donor back to it (failed reload). */
void lb_udp_give_back(struct lb_proxy *px);

/* ---- Prometheus metrics (metrics.c) ---- */

/*
 * lb_metrics_open - serve GET /metrics over HTTP/1.0 on conf->metrics
 * (only when has_metrics). Returns 0 or a negative code with errbuf
 * set. lb_metrics_close closes it and its connections.
 */
int lb_metrics_open(struct lb_proxy *px, char *errbuf, size_t errlen);
void lb_metrics_close(struct lb_proxy *px);
/*
 * lb_metrics_take - a reload to the same metrics address: px takes
 * from's listener with the connections open on it (a scrape in
 * progress is answered, by px), as lb_ctl_take does for the control
 * socket. Returns 1 if it did, 0 if from has none, px has one, or the
 * addresses differ. A failed reload gives it back the same way.
 */
int lb_metrics_take(struct lb_proxy *px, struct lb_proxy *from);
/* lb_metrics_same - a and b serve metrics on the same address: a
 * reload keeps the listener (and lb_ctl_same: the same control path). */
int lb_metrics_same(const struct lb_conf *a, const struct lb_conf *b);

/* Append the Prometheus text exposition of px's counters to out.
 * Returns 0 or tether_buf's error. */
int lb_metrics_write(struct lb_proxy *px, struct tether_buf *out);
/*
 * The endpoint's two halves, as tether_ctl runs them (and
 * fuzz/fuzz_lbmetrics.c): lb_metrics_request_len - the length of the
 * HTTP request in buf (len bytes read so far) up to and with its first
 * empty line (CRLF CRLF or LF LF), or 0 while it has none;
 * lb_metrics_answer - append the whole HTTP/1.0 response to the request
 * req (NUL-terminated; only its request line is read) to out: 200 with
 * the text exposition for GET /metrics, 500 when that cannot be built,
 * 404 for anything else. Returns 0.
 */
size_t lb_metrics_request_len(const char *buf, size_t len);
int lb_metrics_answer(struct lb_proxy *px, const char *req,
		      struct tether_buf *out);

/* ---- PROXY protocol (proxyproto.c) ---- */

/* Longest header lb_proxy_v2_header writes. */
#define LB_PROXY_V2_MAX 52

/*
 * lb_proxy_v2_header - a PROXY protocol v2 header for a TCP connection
 * from src to dst (the client and the frontend address it dialled):
 * TCP over IPv4 when both are IPv4, TCP over IPv6 otherwise (an IPv4
 * address mapped as ::ffff:a.b.c.d), LOCAL for other families. out has
 * size bytes (at least LB_PROXY_V2_MAX). Returns the header's length,
 * or -TETHER_ENOSPC.
 */
int lb_proxy_v2_header(const struct tether_addr *src,
		       const struct tether_addr *dst, unsigned char *out,
		       size_t size);

/* ---- Control socket (ctl.c) ---- */

/*
 * lb_ctl_open - listen on the AF_UNIX stream socket path (a stale
 * socket file there is replaced; mode 0660) for tetherctl's commands.
 * Returns 0 or a negative code with errbuf set. lb_ctl_close closes it
 * and every control connection; harmless when nothing is open.
 */
int lb_ctl_open(struct lb_proxy *px, const char *path, char *errbuf,
		size_t errlen);
void lb_ctl_close(struct lb_proxy *px);
/*
 * lb_ctl_take - a reload to the same control path: px takes from's
 * socket with the connections open on it (a tetherctl that connected
 * before the reload is answered after it, and the path never goes
 * missing), answering for px with px's admin limits. Returns 1 if it
 * did, 0 (nothing moved) if from has no socket, px has one, or not
 * lb_ctl_same. A failed reload gives it back the same way.
 */
int lb_ctl_take(struct lb_proxy *px, struct lb_proxy *from);
/* lb_ctl_same - 1 if a reload to b keeps px's control socket: the same
 * path, and the socket file px bound is still there (not removed or
 * replaced: tether_ctl_path_ours); 0: it is closed and bound again. */
int lb_ctl_same(const struct lb_proxy *px, const struct lb_conf *b);
/* lb_admin_move - *from (a control or metrics socket) becomes *to,
 * answering for px, with px's admin limits for connections accepted
 * from now on; *from is NULL after. */
void lb_admin_move(struct tether_ctl **to, struct tether_ctl **from,
		   struct lb_proxy *px);

/*
 * lb_ctl_exec - run one command line (the control protocol: "show
 * services", "show backends [SERVICE]", "show persist SERVICE
 * [CLIENT]", "drain SERVICE/BACKEND [DURATION]", "enable
 * SERVICE/BACKEND", "disable SERVICE/BACKEND") and append the answer
 * to out: text lines (none for the persistence of an empty table or a
 * client without an entry), "ok" for a change
 * (made even when a Maglev table cannot be rebuilt at once: logged,
 * and the next pick tries again), or one line starting "error: "
 * (nothing changed). Returns 0, or
 * -TETHER_ENOSPC / -TETHER_ENOMEM when out could not hold the answer.
 */
int lb_ctl_exec(struct lb_proxy *px, const char *line, struct tether_buf *out);

/* ---- The global max-conns (maxconns.c) ---- */

/* lb_nofile - the limit on open files (RLIMIT_NOFILE) in force, or with
 * raised set the one tether-lb runs with once main.c raised its soft
 * limit to the hard one (for -n, which does not raise it). UINT64_MAX:
 * no limit. */
uint64_t lb_nofile(int raised);

/*
 * lb_max_conns_default - the global max-conns of a configuration that
 * sets none: what the open-file limit nofile leaves for sessions once
 * the process's own descriptors, conf's sockets (listeners, admin
 * sockets, health checks) and its pipes (lb_pipe_budget, or
 * pipes_open, the pipes open now, when more) are set aside, two
 * descriptors a session (the formula is explained at its definition).
 * 1..LB_MAX_CONNS; a pure function of its arguments.
 * lb_max_conns - conf's max-conns if it sets one, else that default.
 * lb_pipe_budget - how many splice pipes conf's proxy may have open:
 * 0 when no service with a TCP listen splices, else a quarter of the
 * descriptors left, two a pipe, at most LB_PIPE_MAX.
 */
unsigned lb_max_conns_default(const struct lb_conf *conf, uint64_t nofile,
			      unsigned pipes_open);
unsigned lb_max_conns(const struct lb_conf *conf, uint64_t nofile,
		      unsigned pipes_open);
unsigned lb_pipe_budget(const struct lb_conf *conf, uint64_t nofile);

/* lb_nofile_less_held - nofile less two descriptors for each of held
 * listeners a reload kept beyond conf's (proxy.c, adopt), as conf_fds
 * counts a listen: what the budget above is computed from then. */
uint64_t lb_nofile_less_held(uint64_t nofile, unsigned held);

/* lb_max_conns_log - warn when conf's max-conns is more than nofile
 * holds (beside pipes_open pipes, and held sockets that conf does not
 * name: listeners a reload adopted); unless check_only (-n), log the
 * value in force and where it comes from at level info. */
void lb_max_conns_log(const struct lb_conf *conf, uint64_t nofile,
		      unsigned pipes_open, unsigned held, int check_only);

/* ---- The proxy (proxy.c) ---- */

/*
 * lb_proxy_new - build the runtime of conf on loop: services with their
 * pools and persistence tables, and a listening socket per service port
 * (non-blocking, on the loop). conf must outlive the proxy. On failure
 * errbuf gets a one-line reason ("listen 127.0.0.1:80 (service web):
 * address already in use"). Returns 0 and *out, or -TETHER_ENOMEM, or
 * the mapped errno of socket/bind/listen.
 */
int lb_proxy_new(struct lb_proxy **out /* OUT */, struct tether_loop *loop,
		 const struct lb_conf *conf, char *errbuf, size_t errlen);

/* Close every listener and session (each logged with end=shutdown) and
 * free the proxy, and the retired proxies still finishing their
 * sessions; NULL is a no-op. Not from a callback of its loop. */
void lb_proxy_free(struct lb_proxy *px);

/*
 * lb_proxy_reload - replace *pxp by a proxy for newconf (already loaded
 * and checked) without dropping connections: listening sockets whose
 * address and port stay are handed over (never closed and reopened),
 * new ones are opened, removed ones closed; backend states (health,
 * admin) and counters carry over by service and backend name, and so
 * do persistence entries of services whose masks did not change (each
 * re-pointed to the backend of the same name, dropped if it is gone).
 * Established TCP connections finish on the old proxy, which keeps
 * oldconf (ownership passes to it) and is freed after its last
 * session or flow; UDP flows of unchanged listeners move to the new
 * proxy (lb_udp_adopt_flows), those of removed backends keep relaying
 * to them until idle, the others end (the next datagram starts a new
 * one, pinned as before). Connection counts of unchanged
 * services and backends (lb_backend_link) include the connections
 * still finishing on the old proxy, and what they do later (bytes,
 * retries) is counted in the newest generation; a retry picks its
 * backend there too. On failure (errbuf says why) *pxp
 * is unchanged and keeps serving, its connections and flows untouched,
 * and the caller still owns both configurations.
 * Returns 0 or a negative code.
 */
int lb_proxy_reload(struct lb_proxy **pxp, struct lb_conf *newconf,
		    struct lb_conf *oldconf, char *errbuf, size_t errlen);

/* Active connections and flows against the global limit: px's and
 * those still finishing on retired proxies (px's own when retired). */
unsigned lb_proxy_conns(const struct lb_proxy *px);

/* Whether px is at its global limit (px->max_conns; 0 in a proxy that
 * lb_proxy_new did not build, as tests make: none): a new connection
 * or flow is refused, as at any limit. */
static inline int
lb_proxy_full(const struct lb_proxy *px)
{
	return px->max_conns > 0 && lb_proxy_conns(px) >= px->max_conns;
}

/*
 * The io_uring data path (`io-uring on`). lb_proxy_data_path sets up
 * the process's ring if px's configuration asks for it and it is not
 * there yet (after daemon(): the ring belongs to the task that made
 * it; a failure is logged once) and says how new TCP sessions relay:
 * "io_uring" or "epoll". Called with the live proxy at the start and
 * after each reload that succeeded; after one to io-uring off, it has
 * the ring freed once no session uses it. lb_proxy_uring_stats:
 * sessions started on io_uring since the process started, and of those
 * the ones that left it for epoll. lb_proxy_uring_close, at exit after
 * lb_proxy_free: waits for the operations of ended sessions and frees
 * the ring.
 */
const char *lb_proxy_data_path(struct lb_proxy *px);
void lb_proxy_uring_stats(uint64_t *sessions, uint64_t *fallbacks);

/*
 * The kernel relay (`kernel-relay on`, krelay.c). lb_proxy_kernel_relay
 * sets it up once per process if px's configuration asks for it (a
 * warning if the kernel refuses, then user space relays) and returns
 * ", kernel relay" for the started line, or "". lb_proxy_krelay_stats:
 * sessions moved to it since the process started, and the pauses of
 * their directions past kernel-relay-window.
 */
const char *lb_proxy_kernel_relay(struct lb_proxy *px);
void lb_proxy_krelay_stats(uint64_t *sessions, uint64_t *pauses);
void lb_proxy_krelay_close(void);
void lb_proxy_uring_close(void);

/* Configurations replaced by a reload that still live because TCP
 * sessions or UDP flows hold them, and how many those hold (metrics). */
void lb_proxy_retired(unsigned *nconfs /* OUT */, unsigned *nconns /* OUT */);

/*
 * lb_proxy_conn_ended - px->conns just dropped (a session or flow that
 * px counts ended): a retired px is freed after its last one, once the
 * current callback is over.
 */
void lb_proxy_conn_ended(struct lb_proxy *px);

/*
 * lb_sess_may_retry - whether s, in RELAY, may drop its backend and try
 * another after a pump that ended with end (an end reason + 1, or 0):
 * the backend reset the connection or failed (end is a backend error),
 * or, in a service with half-close off (LB_SESS_FIN_FAILS), closed it
 * (its FIN was read), before it sent a byte and before it
 * got a byte of the client's (a PROXY header aside) or the client's
 * FIN. Such a backend served nothing, so the attempt counts as a
 * failed connect. Whether a retry is left (limits retries, backends
 * not tried yet) is for session_connect. Returns 1 or 0.
 */
int lb_sess_may_retry(const struct lb_session *s, int end);

/*
 * lb_sess_send_held - before the sockets of s are closed: bytes sent
 * with MSG_MORE (LB_SESS_C_HELD, LB_SESS_B_HELD) may still wait in TCP
 * for the FIN owed to that side (LB_SESS_C_OWED, LB_SESS_B_OWED), and
 * close() on a socket with unread bytes sends an RST and drops them
 * (half-close off, or an error on the other side). shutdown(SHUT_WR)
 * sends them with the FIN first. Not for a side whose peer's FIN was
 * read (EOF: nothing is left unread, so close() sends a FIN), nor for
 * one with no FIN owed: its stream is not whole, and a clean FIN after
 * it would say it is.
 */
void lb_sess_send_held(const struct lb_session *s);

const char *lb_sess_state_name(int state);
const char *lb_sess_end_name(int end);

#endif /* TETHER_LB_H */
