/*
 * svc_int.h - the server runtime's objects, shared by its files: svc.c
 * (sockets, dispatch, replies), svc_pool.c (worker threads for
 * procedures that block) and svc_auth.c (AUTH_SHORT handles).
 */
#ifndef TETHER_RPC_SVC_INT_H
#define TETHER_RPC_SVC_INT_H

#include <netinet/in.h>

#include "tether/rpc.h"
#include "rpc/rpc_int.h"

/*
 * The local address a datagram arrived at (IP_PKTINFO / IPV6_PKTINFO on
 * a wildcard listener), so its reply leaves from that address.
 * family 0: not known (bound to one address, or a stream).
 */
struct svc_local {
	int family;
	int ifindex;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} a;
};

struct rpc_listener {
	struct tether_rpc_server *srv;
	struct rpc_listener *next;
	int fd;
	int socktype;
	int pktinfo; /* wildcard datagram listener: learn the local addr */
	struct tether_addr addr; /* as bound */
};

struct tether__rpc_svc_conn {
	struct tether_rpc_server *srv;
	struct tether__rpc_svc_conn *prev, *next;
	int fd;			 /* -1: fake connection */
	struct tether_addr peer; /* port 0: the cache key of a stream */
	struct tether_rpc_rm_decoder rm;
	unsigned char *ibuf;
	size_t ioff, ilen;
	struct tether__rpc_obuf out;
	struct tether_loop_timer *idle;
	struct tether_rpc_server_call *calls; /* in flight */
	unsigned inflight;
	unsigned events; /* interest registered with the loop */
	int in_process;	 /* a top-level callback is running */
	int dead;
};

/* Where a call is as far as the worker pool goes. */
enum svc_work_state {
	SVC_WORK_NONE = 0,    /* runs on the loop's thread */
	SVC_WORK_QUEUED = 1,  /* waits for a worker */
	SVC_WORK_RUNNING = 2, /* a worker runs its procedure */
	SVC_WORK_DONE = 3     /* reply encoded, waits for the loop */
};

/* "NONE", "QUEUED", "RUNNING", "DONE"; "UNKNOWN" otherwise. */
const char *tether__rpc_svc_work_name(enum svc_work_state s);

struct tether_rpc_server_call {
	struct tether_rpc_server *srv;
	struct tether_rpc_server_call *prev, *next;   /* srv->pending */
	struct tether_rpc_server_call *cprev, *cnext; /* conn->calls */
	struct tether__rpc_svc_conn *conn; /* NULL: datagram or gone */
	struct rpc_listener *lsn;	   /* datagram */
	int stream;
	struct tether_addr peer;
	struct svc_local local; /* datagram: where it arrived */
	struct tether_rpc_msg msg;
	struct tether_rpc_authsys authsys;
	int has_authsys;
	/* Verifier of an accepted reply (AUTH_SHORT handle handed out),
	 * AUTH_NONE otherwise. */
	struct tether_rpc_opaque_auth verf;
	const struct tether_rpc_server_proc *proc;
	void *ud; /* the table's, as registered */
	struct tether_arena *arena;
	struct tether_rpc_drc_entry *drc;
	/* Worker pool: owned by the pool's lock while QUEUED or DONE, by
	 * the worker while RUNNING, by the loop's thread otherwise. */
	enum svc_work_state work;
	struct tether_rpc_server_call *qnext;
	void *wargs;
	unsigned char *wreply; /* encoded reply (DONE), NULL: drop */
	size_t wlen;
	int wanswered; /* the procedure replied or dropped */
};

struct svc_reg {
	const struct tether_rpc_server_table *t;
	void *ud;
	uint32_t *blocking; /* procedures run on the worker pool */
	size_t nblocking;
};

struct tether__rpc_pool;
struct tether__rpc_ashort;

struct tether_rpc_server {
	struct tether_loop *loop;
	struct tether_rpc_server_config cfg;
	struct svc_reg *regs;
	size_t nregs;
	struct rpc_listener *listeners;
	struct tether__rpc_svc_conn *conns;
	struct tether_rpc_server_call *pending;
	struct tether_rpc_server_call *cache; /* free call objects */
	unsigned ncache;
	struct tether_rpc_drc *drc;
	struct tether__rpc_pool *pool;	   /* NULL until started */
	struct tether__rpc_ashort *ashort; /* NULL: AUTH_SHORT off */
	unsigned short_max;		   /* its limits (0: defaults) */
	unsigned short_ttl_ms;
	unsigned char *rbuf; /* datagram receive */
	unsigned char *sbuf; /* datagram send */
	struct tether_rpc_server_stats st;
};

/* ---- svc.c, for the pool ---- */

/*
 * Encode the reply m (plus res by codec) for call into a fresh buffer,
 * or SYSTEM_ERR when that fails. Touches nothing but the call and the
 * server's configuration: safe on a worker. Returns 0 and *out / *len,
 * or -TETHER_ENOMEM (nothing to send).
 */
int tether__rpc_svc_encode(const struct tether_rpc_server_call *call,
			   struct tether_rpc_msg *m, tether_xdr_fn *codec,
			   const void *res, unsigned char **out /* OUT */,
			   size_t *len /* OUT */);

/* On the loop's thread: send the encoded reply rec (NULL: drop the
 * call unanswered), store it in the reply cache, release the call. */
void tether__rpc_svc_deliver(struct tether_rpc_server_call *call,
			     const unsigned char *rec, size_t len);

/* ---- svc_pool.c ---- */

/* Start the pool with defaults if there is none. 0 or an error. */
int tether__rpc_pool_ensure(struct tether_rpc_server *srv);

/* Hand a decoded call to a worker. 0, -TETHER_EBUSY (queue full: the
 * caller answers), -TETHER_ENOMEM. */
int tether__rpc_pool_submit(struct tether_rpc_server_call *call, void *args);

/* A reply made by a procedure running on a worker: encoded there. */
int tether__rpc_pool_reply(struct tether_rpc_server_call *call,
			   struct tether_rpc_msg *m, tether_xdr_fn *codec,
			   const void *res);
void tether__rpc_pool_drop(struct tether_rpc_server_call *call);

/* The pool's counters into *st (nothing when p is NULL). */
void tether__rpc_pool_stats(struct tether__rpc_pool *p,
			    struct tether_rpc_server_stats *st /* OUT */);

/* Stop and join the workers; calls not run are left in srv->pending. */
void tether__rpc_pool_free(struct tether__rpc_pool *p);

/* ---- svc_auth.c ---- */

/*
 * An AUTH_SHORT credential: the AUTH_SYS identity its handle stands
 * for into *sys. Returns TETHER_RPC_AUTH_OK, or the auth_stat to deny
 * with (REJECTEDCRED: unknown or expired handle).
 */
uint32_t tether__rpc_ashort_check(struct tether_rpc_server *srv,
				  const struct tether_rpc_opaque_auth *cred,
				  struct tether_rpc_authsys *sys /* OUT */);

/* A handle for the AUTH_SYS credential cred (the same one for the same
 * credential while it lives) as an AUTH_SHORT verifier into *verf;
 * AUTH_NONE when no handle can be had. */
void tether__rpc_ashort_issue(struct tether_rpc_server *srv,
			      const struct tether_rpc_opaque_auth *cred,
			      struct tether_rpc_opaque_auth *verf /* OUT */);

void tether__rpc_ashort_free(struct tether__rpc_ashort *a);

#endif /* TETHER_RPC_SVC_INT_H */
