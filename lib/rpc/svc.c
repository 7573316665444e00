/*
 * svc.c - the RPC server runtime: listeners, stream connections and
 * datagrams on the event loop, the dispatch of a call through the
 * protocol checks to a procedure, and replies (now or later).
 *
 * Connection rules. Only the top of a loop callback (the fd, timer
 * callbacks and conn_kick) closes a connection: anything deeper - a
 * failed write during a reply sent from inside a procedure - marks it
 * dead, and the top closes it when the stack unwinds (in_process says
 * a top is active). A call in flight points at its connection; closing
 * the connection detaches the call (call->conn = NULL), whose reply is
 * then only stored in the duplicate request cache.
 */
#include "tether/rpc.h"
#include "rpc/rpc_int.h"
#include "rpc/svc_int.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Bytes read from a stream socket at a time. */
#define SVC_IBUF_SIZE 65536u
/* Largest UDP datagram payload (IPv4: 65535 - 20 - 8). */
#define SVC_DGRAM_MAX 65507u
/* Work done per readiness callback, so one peer cannot starve others. */
#define SVC_ACCEPT_BURST 64
#define SVC_DGRAM_BURST	 64
/* Released call objects kept for reuse (with their arenas). */
#define SVC_CALL_CACHE 64

static void conn_close(struct tether__rpc_svc_conn *c);
static void conn_settle(struct tether__rpc_svc_conn *c);

/* ------------------------------------------------------------------ */
/* Creation                                                            */
/* ------------------------------------------------------------------ */

int
tether_rpc_server_new(struct tether_rpc_server **out /* OUT */,
		      struct tether_loop *loop,
		      const struct tether_rpc_server_config *cfg)
{
	struct tether_rpc_server *srv;
	int rc;

	*out = NULL;
	if (loop == NULL)
		return -TETHER_EINVAL;
	srv = tether_calloc(1, sizeof(*srv));
	if (srv == NULL)
		return -TETHER_ENOMEM;
	srv->loop = loop;
	if (cfg != NULL)
		srv->cfg = *cfg;
	if (srv->cfg.max_record == 0)
		srv->cfg.max_record = TETHER_RPC_SERVER_DEFAULT_MAX_RECORD;
	if (srv->cfg.max_record > TETHER_RPC_RM_LEN_MASK) {
		rc = -TETHER_EINVAL;
		goto fail;
	}
	if (srv->cfg.max_conns == 0)
		srv->cfg.max_conns = TETHER_RPC_SERVER_DEFAULT_MAX_CONNS;
	if (srv->cfg.max_inflight == 0)
		srv->cfg.max_inflight = TETHER_RPC_SERVER_DEFAULT_MAX_INFLIGHT;
	if (srv->cfg.idle_ms == 0)
		srv->cfg.idle_ms = TETHER_RPC_SERVER_DEFAULT_IDLE_MS;
	if (srv->cfg.arena_max == 0)
		srv->cfg.arena_max = srv->cfg.max_record * 4;
	if (!srv->cfg.no_drc) {
		rc = tether_rpc_drc_new(&srv->drc, srv->cfg.drc_entries,
					srv->cfg.drc_bytes);
		if (rc < 0)
			goto fail;
	}
	*out = srv;
	return 0;
fail:
	tether_free(srv);
	return rc;
}

static void
call_destroy(struct tether_rpc_server_call *call)
{
	tether_arena_free(call->arena);
	tether_free(call->wreply);
	tether_free(call);
}

void
tether_rpc_server_free(struct tether_rpc_server *srv)
{
	struct rpc_listener *l, *ln;
	struct tether_rpc_server_call *call, *cn;
	size_t i;

	if (srv == NULL)
		return;
	/* Workers first: once joined, no thread touches a call. */
	tether__rpc_pool_free(srv->pool);
	srv->pool = NULL;
	while (srv->conns != NULL)
		conn_close(srv->conns);
	for (l = srv->listeners; l != NULL; l = ln) {
		ln = l->next;
		tether_loop_fd_del(srv->loop, l->fd);
		close(l->fd);
		if (l->addr.ss.ss_family == AF_UNIX)
			unlink(((struct sockaddr_un *)&l->addr.ss)->sun_path);
		tether_free(l);
	}
	for (call = srv->pending; call != NULL; call = cn) {
		cn = call->next;
		call_destroy(call);
	}
	for (call = srv->cache; call != NULL; call = cn) {
		cn = call->next;
		call_destroy(call);
	}
	tether_rpc_drc_free(srv->drc);
	tether__rpc_ashort_free(srv->ashort);
	for (i = 0; i < srv->nregs; i++)
		tether_free(srv->regs[i].blocking);
	tether_free(srv->regs);
	tether_free(srv->rbuf);
	tether_free(srv->sbuf);
	tether_free(srv);
}

/* ------------------------------------------------------------------ */
/* Dispatch tables                                                     */
/* ------------------------------------------------------------------ */

static struct svc_reg *
find_reg(const struct tether_rpc_server *srv, uint32_t prog, uint32_t vers)
{
	size_t i;

	for (i = 0; i < srv->nregs; i++)
		if (srv->regs[i].t->prog == prog &&
		    srv->regs[i].t->vers == vers)
			return &srv->regs[i];
	return NULL;
}

int
tether_rpc_server_register(struct tether_rpc_server *srv,
			   const struct tether_rpc_server_table *t, void *ud)
{
	struct svc_reg *n;

	if (t == NULL || (t->nprocs > 0 && t->procs == NULL))
		return -TETHER_EINVAL;
	if (find_reg(srv, t->prog, t->vers) != NULL)
		return -TETHER_EEXIST;
	n = tether_reallocarray(srv->regs, srv->nregs + 1, sizeof(*n));
	if (n == NULL)
		return -TETHER_ENOMEM;
	srv->regs = n;
	srv->regs[srv->nregs].t = t;
	srv->regs[srv->nregs].ud = ud;
	srv->regs[srv->nregs].blocking = NULL;
	srv->regs[srv->nregs].nblocking = 0;
	srv->nregs++;
	return 0;
}

int
tether_rpc_server_unregister(struct tether_rpc_server *srv, uint32_t prog,
			     uint32_t vers)
{
	struct svc_reg *r = find_reg(srv, prog, vers);

	if (r == NULL)
		return -TETHER_ENOENT;
	tether_free(r->blocking);
	*r = srv->regs[--srv->nregs];
	return 0;
}

int
tether_rpc_server_set_blocking(struct tether_rpc_server *srv, uint32_t prog,
			       uint32_t vers, uint32_t proc, int on)
{
	struct svc_reg *r = find_reg(srv, prog, vers);
	uint32_t *n;
	size_t i;

	if (r == NULL)
		return -TETHER_ENOENT;
	for (i = 0; i < r->nblocking; i++)
		if (r->blocking[i] == proc)
			break;
	if (!on) {
		if (i < r->nblocking)
			r->blocking[i] = r->blocking[--r->nblocking];
		return 0;
	}
	if (i < r->nblocking)
		return 0;
	n = tether_reallocarray(r->blocking, r->nblocking + 1, sizeof(*n));
	if (n == NULL)
		return -TETHER_ENOMEM;
	r->blocking = n;
	r->blocking[r->nblocking++] = proc;
	return 0;
}

/* Whether proc of reg runs on the worker pool. */
static int
proc_blocks(const struct svc_reg *reg, uint32_t proc)
{
	size_t i;

	if (reg->t->flags & TETHER_RPC_SERVER_BLOCKING)
		return 1;
	for (i = 0; i < reg->nblocking; i++)
		if (reg->blocking[i] == proc)
			return 1;
	return 0;
}

/* The versions of prog served: 0 when none, else *lo..*hi. */
static int
prog_range(const struct tether_rpc_server *srv, uint32_t prog,
	   struct tether_rpc_mismatch *mm /* OUT */)
{
	size_t i;
	int found = 0;

	for (i = 0; i < srv->nregs; i++) {
		uint32_t v = srv->regs[i].t->vers;

		if (srv->regs[i].t->prog != prog)
			continue;
		if (!found || v < mm->low)
			mm->low = v;
		if (!found || v > mm->high)
			mm->high = v;
		found = 1;
	}
	return found;
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */
/* ------------------------------------------------------------------ */

/*
 * Send a datagram to peer from the listening socket; with local known,
 * from that address (the one the request was sent to), so a client of
 * a wildcard listener on a host with several addresses sees the reply
 * come from where it sent. Best effort: a full socket buffer drops.
 */
static void
dgram_send(struct tether_rpc_server *srv, struct rpc_listener *lsn,
	   const struct tether_addr *peer, const struct svc_local *local,
	   const void *p, size_t len)
{
	union {
		struct cmsghdr h;
		unsigned char b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} cb;
	struct iovec iov;
	struct msghdr mh;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = (void *)(uintptr_t)p;
	iov.iov_len = len;
	mh.msg_name = (void *)(uintptr_t)&peer->ss;
	mh.msg_namelen = peer->len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (local != NULL && local->family == AF_INET)
		tether_addr_pktinfo_ctl(&mh, cb.b, AF_INET, &local->a.v4, 0);
	else if (local != NULL && local->family == AF_INET6)
		/* A link-local source needs its interface. */
		tether_addr_pktinfo_ctl(&mh, cb.b, AF_INET6, &local->a.v6,
					IN6_IS_ADDR_LINKLOCAL(&local->a.v6)
						? (unsigned)local->ifindex
						: 0);
	if (sendmsg(lsn->fd, &mh, MSG_NOSIGNAL) < 0)
		srv->st.dropped++;
}

/*
 * Send one reply message to a stream connection (queued and flushed),
 * a datagram peer, or nobody (conn gone: only the cache sees it), and
 * store it in the cache entry drc if any. Returns 0, or the encoding
 * error (nothing was sent and drc is untouched).
 */
static int
emit_reply(struct tether_rpc_server *srv, struct tether__rpc_svc_conn *conn,
	   struct rpc_listener *lsn, const struct tether_addr *peer,
	   const struct svc_local *local, int stream, struct tether_rpc_msg *m,
	   tether_xdr_fn *codec, const void *res,
	   struct tether_rpc_drc_entry **drc)
{
	struct tether_xdr x;
	size_t size, rsize = 0, limit;
	unsigned char *room = NULL, *p, *tmp = NULL;
	int rc;

	size = tether_rpc_msg_size(m);
	if (size == 0)
		return -TETHER_EINVAL;
	if (codec != NULL) {
		rc = tether_xdr_sizeof(codec, res, &rsize);
		if (rc < 0)
			return rc;
	}
	limit = stream ? srv->cfg.max_record : SVC_DGRAM_MAX;
	if (rsize > limit || size + rsize > limit)
		return -TETHER_EMSGSIZE;
	size += rsize;
	if (conn != NULL && !conn->dead) {
		room = tether__rpc_obuf_room(&conn->out, 4 + size);
		if (room == NULL)
			return -TETHER_ENOMEM;
		p = room + 4;
	} else if (!stream && lsn != NULL) {
		p = srv->sbuf;
	} else if (drc != NULL && *drc != NULL) {
		p = tmp = tether_malloc(size ? size : 1);
		if (p == NULL)
			return -TETHER_ENOMEM;
	} else {
		return 0; /* nobody to tell */
	}
	tether_xdr_init_encode(&x, p, size);
	rc = tether_rpc_msg_encode(&x, m);
	if (rc == 0 && codec != NULL)
		rc = codec(&x, (void *)(uintptr_t)res);
	if (rc == 0 && tether_xdr_getpos(&x) != size)
		rc = -TETHER_EPROTO; /* sizeof and encode disagree */
	if (rc < 0)
		goto out;
	if (room != NULL) {
		tether_xdr_store32(room,
				   TETHER_RPC_RM_LAST_FRAG | (uint32_t)size);
		conn->out.len += 4 + size;
		/* Inside a read, replies gather and go out in one write
		 * when the records read are done (conn_settle). */
		if (conn->fd >= 0 && !conn->in_process &&
		    tether__rpc_obuf_flush(&conn->out, conn->fd, NULL) < 0)
			conn->dead = 1;
	} else if (p == srv->sbuf) {
		/* Datagrams are best effort: a full socket buffer drops. */
		dgram_send(srv, lsn, peer, local, p, size);
	}
	if (drc != NULL && *drc != NULL) {
		tether_rpc_drc_complete(srv->drc, *drc, p, size);
		*drc = NULL;
	}
	srv->st.replies++;
out:
	tether_free(tmp);
	return rc;
}

/* Send the bytes of a reply kept by the cache. */
static void
emit_raw(struct tether_rpc_server *srv, struct tether__rpc_svc_conn *conn,
	 struct rpc_listener *lsn, const struct tether_addr *peer,
	 const struct svc_local *local, const unsigned char *rec, size_t len)
{
	unsigned char *room;

	if (conn != NULL) {
		room = tether__rpc_obuf_room(&conn->out, 4 + len);
		if (room == NULL) {
			conn->dead = 1;
			return;
		}
		tether_xdr_store32(room,
				   TETHER_RPC_RM_LAST_FRAG | (uint32_t)len);
		memcpy(room + 4, rec, len);
		conn->out.len += 4 + len;
		if (conn->fd >= 0 && !conn->in_process &&
		    tether__rpc_obuf_flush(&conn->out, conn->fd, NULL) < 0)
			conn->dead = 1;
	} else if (lsn != NULL) {
		dgram_send(srv, lsn, peer, local, rec, len);
	}
	srv->st.replies++;
}

/* Reply with m (plus results), falling back to SYSTEM_ERR when the
 * results cannot be encoded. Completes or aborts *drc. */
static int
reply_msg(struct tether_rpc_server *srv, struct tether__rpc_svc_conn *conn,
	  struct rpc_listener *lsn, const struct tether_addr *peer,
	  const struct svc_local *local, int stream, struct tether_rpc_msg *m,
	  tether_xdr_fn *codec, const void *res,
	  struct tether_rpc_drc_entry **drc)
{
	int rc, rc2;

	rc = emit_reply(srv, conn, lsn, peer, local, stream, m, codec, res,
			drc);
	if (rc < 0) {
		tether_rpc_msg_init_reply(m, m->xid);
		m->u.reply.accept_stat = TETHER_RPC_SYSTEM_ERR;
		rc2 = emit_reply(srv, conn, lsn, peer, local, stream, m, NULL,
				 NULL, drc);
		if (rc2 < 0 && conn != NULL)
			conn->dead = 1; /* out of memory: cannot answer */
	}
	if (drc != NULL && *drc != NULL) {
		tether_rpc_drc_abort(srv->drc, *drc);
		*drc = NULL;
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* Call handles                                                        */
/* ------------------------------------------------------------------ */

static struct tether_rpc_server_call *
call_get(struct tether_rpc_server *srv)
{
	struct tether_rpc_server_call *call = srv->cache;

	if (call != NULL) {
		srv->cache = call->next;
		srv->ncache--;
	} else {
		call = tether_calloc(1, sizeof(*call));
		if (call == NULL)
			return NULL;
		call->arena = tether_arena_new(0, srv->cfg.arena_max);
		if (call->arena == NULL) {
			tether_free(call);
			return NULL;
		}
	}
	call->srv = srv;
	call->prev = NULL;
	call->next = srv->pending;
	if (srv->pending != NULL)
		srv->pending->prev = call;
	srv->pending = call;
	srv->st.calls_pending++;
	return call;
}

static void
call_attach(struct tether_rpc_server_call *call,
	    struct tether__rpc_svc_conn *conn)
{
	call->conn = conn;
	call->cprev = NULL;
	call->cnext = conn->calls;
	if (conn->calls != NULL)
		conn->calls->cprev = call;
	conn->calls = call;
	conn->inflight++;
}

static void
call_detach(struct tether_rpc_server_call *call)
{
	struct tether__rpc_svc_conn *conn = call->conn;

	if (conn == NULL)
		return;
	if (call->cprev != NULL)
		call->cprev->cnext = call->cnext;
	else
		conn->calls = call->cnext;
	if (call->cnext != NULL)
		call->cnext->cprev = call->cprev;
	call->cprev = call->cnext = NULL;
	conn->inflight--;
	call->conn = NULL;
}

/* Return the call object (its arena reset) to the cache or free it. */
static void
call_put(struct tether_rpc_server_call *call)
{
	struct tether_rpc_server *srv = call->srv;

	TETHER_BUG_ON(call->conn != NULL || call->drc != NULL);
	if (call->prev != NULL)
		call->prev->next = call->next;
	else
		srv->pending = call->next;
	if (call->next != NULL)
		call->next->prev = call->prev;
	srv->st.calls_pending--;
	tether_arena_reset(call->arena);
	if (srv->ncache >= SVC_CALL_CACHE) {
		call_destroy(call);
		return;
	}
	call->lsn = NULL;
	call->proc = NULL;
	call->has_authsys = 0;
	call->local.family = 0;
	call->work = SVC_WORK_NONE;
	call->qnext = NULL;
	call->wargs = NULL;
	tether_free(call->wreply);
	call->wreply = NULL;
	call->wlen = 0;
	call->wanswered = 0;
	call->prev = NULL;
	call->next = srv->cache;
	srv->cache = call;
	srv->ncache++;
}

/* After a call on conn completed: read more, or close if it broke. */
static void
conn_kick(struct tether__rpc_svc_conn *conn)
{
	if (conn == NULL || conn->in_process)
		return;
	conn_settle(conn);
}

/* Reply with m, then release the call. */
static int
call_finish(struct tether_rpc_server_call *call, struct tether_rpc_msg *m,
	    tether_xdr_fn *codec, const void *res)
{
	struct tether__rpc_svc_conn *conn;
	int rc;

	if (m->u.reply.stat == TETHER_RPC_MSG_ACCEPTED)
		m->u.reply.verf = call->verf;
	/* On a worker: encode there, send from the loop's thread (which
	 * may be unlinking call->conn meanwhile: not read here). */
	if (call->work == SVC_WORK_RUNNING)
		return tether__rpc_pool_reply(call, m, codec, res);
	conn = call->conn;
	call_detach(call);
	rc = reply_msg(call->srv, conn, call->lsn, &call->peer, &call->local,
		       call->stream, m, codec, res, &call->drc);
	call_put(call);
	conn_kick(conn);
	return rc;
}

int
tether__rpc_svc_encode(const struct tether_rpc_server_call *call,
		       struct tether_rpc_msg *m, tether_xdr_fn *codec,
		       const void *res, unsigned char **out /* OUT */,
		       size_t *len /* OUT */)
{
	struct tether_xdr x;
	size_t size, rsize = 0, limit;
	unsigned char *p;
	int rc, tries;

	*out = NULL;
	*len = 0;
	limit = call->stream ? call->srv->cfg.max_record : SVC_DGRAM_MAX;
	for (tries = 0; tries < 2; tries++) {
		if (tries == 1) {
			/* The results would not go: SYSTEM_ERR instead. */
			tether_rpc_msg_init_reply(m, m->xid);
			m->u.reply.accept_stat = TETHER_RPC_SYSTEM_ERR;
			codec = NULL;
		}
		rsize = 0;
		size = tether_rpc_msg_size(m);
		if (size == 0)
			continue;
		if (codec != NULL && tether_xdr_sizeof(codec, res, &rsize) < 0)
			continue;
		if (rsize > limit || size + rsize > limit)
			continue;
		size += rsize;
		p = tether_malloc(size ? size : 1);
		if (p == NULL)
			return -TETHER_ENOMEM;
		tether_xdr_init_encode(&x, p, size);
		rc = tether_rpc_msg_encode(&x, m);
		if (rc == 0 && codec != NULL)
			rc = codec(&x, (void *)(uintptr_t)res);
		if (rc == 0 && tether_xdr_getpos(&x) == size) {
			*out = p;
			*len = size;
			return 0;
		}
		tether_free(p);
	}
	return -TETHER_ENOMEM;
}

void
tether__rpc_svc_deliver(struct tether_rpc_server_call *call,
			const unsigned char *rec, size_t len)
{
	struct tether_rpc_server *srv = call->srv;
	struct tether__rpc_svc_conn *conn = call->conn;

	call_detach(call);
	if (rec == NULL) {
		if (call->drc != NULL)
			tether_rpc_drc_abort(srv->drc, call->drc);
		call->drc = NULL;
		srv->st.dropped++;
	} else {
		emit_raw(srv, conn != NULL && !conn->dead ? conn : NULL,
			 call->lsn, &call->peer, &call->local, rec, len);
		if (call->drc != NULL)
			tether_rpc_drc_complete(srv->drc, call->drc, rec, len);
		call->drc = NULL;
	}
	call_put(call);
	conn_kick(conn);
}

const struct tether_rpc_call *
tether_rpc_server_call_header(const struct tether_rpc_server_call *call)
{
	return &call->msg.u.call;
}

uint32_t
tether_rpc_server_call_xid(const struct tether_rpc_server_call *call)
{
	return call->msg.xid;
}

const struct tether_rpc_authsys *
tether_rpc_server_call_authsys(const struct tether_rpc_server_call *call)
{
	return call->has_authsys ? &call->authsys : NULL;
}

const struct tether_addr *
tether_rpc_server_call_peer(const struct tether_rpc_server_call *call)
{
	return &call->peer;
}

struct tether_arena *
tether_rpc_server_call_arena(struct tether_rpc_server_call *call)
{
	return call->arena;
}

void *
tether_rpc_server_call_ud(const struct tether_rpc_server_call *call)
{
	return call->ud;
}

int
tether_rpc_server_reply(struct tether_rpc_server_call *call, const void *res)
{
	struct tether_rpc_msg m;
	tether_xdr_fn *codec = call->proc ? call->proc->res_codec : NULL;

	tether_rpc_msg_init_reply(&m, call->msg.xid);
	return call_finish(call, &m, codec, res);
}

int
tether_rpc_server_reply_error(struct tether_rpc_server_call *call,
			      enum tether_rpc_accept_stat stat)
{
	struct tether_rpc_msg m;
	int rc = 0;

	tether_rpc_msg_init_reply(&m, call->msg.xid);
	if (stat == TETHER_RPC_SUCCESS || stat == TETHER_RPC_PROG_MISMATCH ||
	    (uint32_t)stat > TETHER_RPC_SYSTEM_ERR) {
		stat = TETHER_RPC_SYSTEM_ERR;
		rc = -TETHER_EINVAL;
	}
	m.u.reply.accept_stat = stat;
	call_finish(call, &m, NULL, NULL);
	return rc;
}

void
tether_rpc_server_reply_auth_error(struct tether_rpc_server_call *call,
				   enum tether_rpc_auth_stat stat)
{
	struct tether_rpc_msg m;

	tether_rpc_msg_init_reply(&m, call->msg.xid);
	m.u.reply.stat = TETHER_RPC_MSG_DENIED;
	m.u.reply.reject_stat = TETHER_RPC_AUTH_ERROR;
	m.u.reply.auth_stat = stat;
	call_finish(call, &m, NULL, NULL);
}

void
tether_rpc_server_drop(struct tether_rpc_server_call *call)
{
	struct tether__rpc_svc_conn *conn;

	if (call->work == SVC_WORK_RUNNING) {
		tether__rpc_pool_drop(call);
		return;
	}
	conn = call->conn;
	call_detach(call);
	if (call->drc != NULL) {
		tether_rpc_drc_abort(call->srv->drc, call->drc);
		call->drc = NULL;
	}
	call->srv->st.dropped++;
	call_put(call);
	conn_kick(conn);
}

/* ------------------------------------------------------------------ */
/* The request path                                                    */
/* ------------------------------------------------------------------ */

static void
reply_reject(struct tether_rpc_server *srv, struct tether__rpc_svc_conn *conn,
	     struct rpc_listener *lsn, const struct tether_addr *peer,
	     const struct svc_local *local, uint32_t xid, int auth,
	     uint32_t auth_stat)
{
	struct tether_rpc_msg m;

	tether_rpc_msg_init_reply(&m, xid);
	m.u.reply.stat = TETHER_RPC_MSG_DENIED;
	if (auth) {
		m.u.reply.reject_stat = TETHER_RPC_AUTH_ERROR;
		m.u.reply.auth_stat = auth_stat;
	} else {
		m.u.reply.reject_stat = TETHER_RPC_RPC_MISMATCH;
		m.u.reply.mismatch.low = TETHER_RPC_VERSION;
		m.u.reply.mismatch.high = TETHER_RPC_VERSION;
	}
	reply_msg(srv, conn, lsn, peer, local, conn != NULL, &m, NULL, NULL,
		  NULL);
}

static void
reply_accept(struct tether_rpc_server *srv, struct tether__rpc_svc_conn *conn,
	     struct rpc_listener *lsn, const struct tether_addr *peer,
	     const struct svc_local *local, uint32_t xid,
	     enum tether_rpc_accept_stat stat,
	     const struct tether_rpc_mismatch *mm)
{
	struct tether_rpc_msg m;

	tether_rpc_msg_init_reply(&m, xid);
	m.u.reply.accept_stat = stat;
	if (mm != NULL)
		m.u.reply.mismatch = *mm;
	reply_msg(srv, conn, lsn, peer, local, conn != NULL, &m, NULL, NULL,
		  NULL);
}

/*
 * Check the credential: 0 when accepted (with *sys filled for AUTH_SYS
 * and *has_sys set), else the auth_stat to deny with.
 */
static uint32_t
check_cred(struct tether_rpc_server *srv, const struct tether_rpc_call *c,
	   struct tether_rpc_authsys *sys, int *has_sys)
{
	uint32_t st;

	*has_sys = 0;
	switch (c->cred.flavor) {
	case TETHER_RPC_AUTH_NONE:
		return TETHER_RPC_AUTH_OK;
	case TETHER_RPC_AUTH_SYS:
		if (tether_rpc_authsys_decode(&c->cred, sys) < 0)
			return TETHER_RPC_AUTH_BADCRED;
		*has_sys = 1;
		return TETHER_RPC_AUTH_OK;
	case TETHER_RPC_AUTH_SHORT:
		if (srv->ashort == NULL)
			return TETHER_RPC_AUTH_REJECTEDCRED;
		st = tether__rpc_ashort_check(srv, &c->cred, sys);
		if (st == TETHER_RPC_AUTH_OK)
			*has_sys = 1;
		return st;
	default:
		/* As libtirpc: a flavor we do not serve is rejected. */
		return TETHER_RPC_AUTH_REJECTEDCRED;
	}
}

static const struct tether_rpc_server_proc *
find_proc(const struct tether_rpc_server_table *t, uint32_t proc)
{
	size_t i;

	for (i = 0; i < t->nprocs; i++)
		if (t->procs[i].proc == proc)
			return &t->procs[i];
	return NULL;
}

/* The NULL procedure of a table that does not define one. */
static const struct tether_rpc_server_proc null_proc = { 0, NULL, 0, NULL,
							 NULL };

/*
 * One call record, from a stream (conn) or a datagram (lsn, peer).
 * rec is only valid during this function.
 */
static void
handle_record(struct tether_rpc_server *srv, struct tether__rpc_svc_conn *conn,
	      struct rpc_listener *lsn, const struct tether_addr *peer,
	      const struct svc_local *local, const unsigned char *rec,
	      size_t len)
{
	struct tether_rpc_msg m;
	struct tether_rpc_authsys sys;
	struct tether_rpc_mismatch mm;
	struct tether_rpc_drc_entry *drc = NULL;
	struct tether_rpc_server_call *call;
	const struct tether_rpc_server_proc *proc;
	struct svc_reg *reg;
	struct tether_xdr x;
	const unsigned char *cached;
	size_t clen;
	void *args = NULL;
	uint32_t stat;
	int has_sys, rc;

	srv->st.calls++;
	tether_xdr_init_decode(&x, rec, len, 0, NULL);
	if (tether_rpc_msg_decode(&x, &m) < 0 || m.type != TETHER_RPC_CALL) {
		/* No call to answer: as libtirpc, say nothing. */
		srv->st.dropped++;
		return;
	}
	if (m.u.call.rpcvers != TETHER_RPC_VERSION) {
		reply_reject(srv, conn, lsn, peer, local, m.xid, 0, 0);
		return;
	}
	stat = check_cred(srv, &m.u.call, &sys, &has_sys);
	if (stat != TETHER_RPC_AUTH_OK) {
		reply_reject(srv, conn, lsn, peer, local, m.xid, 1, stat);
		return;
	}
	reg = find_reg(srv, m.u.call.prog, m.u.call.vers);
	if (reg == NULL) {
		if (prog_range(srv, m.u.call.prog, &mm))
			reply_accept(srv, conn, lsn, peer, local, m.xid,
				     TETHER_RPC_PROG_MISMATCH, &mm);
		else
			reply_accept(srv, conn, lsn, peer, local, m.xid,
				     TETHER_RPC_PROG_UNAVAIL, NULL);
		return;
	}
	if ((reg->t->flags & TETHER_RPC_SERVER_NEED_AUTHSYS) && !has_sys) {
		reply_reject(srv, conn, lsn, peer, local, m.xid, 1,
			     TETHER_RPC_AUTH_TOOWEAK);
		return;
	}
	proc = find_proc(reg->t, m.u.call.proc);
	if (proc == NULL) {
		if (m.u.call.proc != 0) {
			reply_accept(srv, conn, lsn, peer, local, m.xid,
				     TETHER_RPC_PROC_UNAVAIL, NULL);
			return;
		}
		proc = &null_proc;
	}
	if (srv->drc != NULL && m.u.call.proc != 0 &&
	    !(reg->t->flags & TETHER_RPC_SERVER_NO_DRC)) {
		struct tether_rpc_drc_key k;

		memset(&k, 0, sizeof(k));
		k.xid = m.xid;
		k.prog = m.u.call.prog;
		k.vers = m.u.call.vers;
		k.proc = m.u.call.proc;
		k.addr = *peer;
		k.cksum = tether_rpc_drc_checksum(srv->drc, rec + m.body_pos,
						  len - m.body_pos);
		rc = tether_rpc_drc_lookup(srv->drc, &k, &drc, &cached, &clen);
		if (rc == TETHER_RPC_DRC_IN_PROGRESS) {
			srv->st.dropped++;
			return;
		}
		if (rc == TETHER_RPC_DRC_REPLAY) {
			emit_raw(srv, conn, lsn, peer, local, cached, clen);
			return;
		}
		/* NEW, or not cacheable: run it. */
	}
	call = call_get(srv);
	if (call == NULL) {
		reply_accept(srv, conn, lsn, peer, local, m.xid,
			     TETHER_RPC_SYSTEM_ERR, NULL);
		if (drc != NULL)
			tether_rpc_drc_abort(srv->drc, drc);
		return;
	}
	call->msg = m;
	call->peer = *peer;
	call->lsn = lsn;
	call->stream = conn != NULL;
	call->proc = proc;
	call->ud = reg->ud;
	call->drc = drc;
	call->has_authsys = has_sys;
	if (has_sys)
		call->authsys = sys;
	if (local != NULL)
		call->local = *local;
	tether_rpc_auth_none(&call->verf);
	if (srv->ashort != NULL && m.u.call.cred.flavor == TETHER_RPC_AUTH_SYS)
		tether__rpc_ashort_issue(srv, &m.u.call.cred, &call->verf);
	if (conn != NULL)
		call_attach(call, conn);
	if (proc->args_codec != NULL) {
		args = tether_arena_alloc(
			call->arena, proc->args_size ? proc->args_size : 1);
		if (args == NULL) {
			tether_rpc_server_reply_error(call,
						      TETHER_RPC_SYSTEM_ERR);
			return;
		}
		memset(args, 0, proc->args_size);
		tether_xdr_init_decode(&x, rec + m.body_pos, len - m.body_pos,
				       0, call->arena);
		rc = proc->args_codec(&x, args);
		if (rc < 0) {
			tether_rpc_server_reply_error(
				call, rc == -TETHER_ENOMEM
					      ? TETHER_RPC_SYSTEM_ERR
					      : TETHER_RPC_GARBAGE_ARGS);
			return;
		}
	}
	if (proc->fn == NULL) {
		tether_rpc_server_reply(call, NULL);
		return;
	}
	if (proc_blocks(reg, m.u.call.proc)) {
		rc = tether__rpc_pool_ensure(srv);
		if (rc == 0)
			rc = tether__rpc_pool_submit(call, args);
		if (rc < 0) {
			/* Overload (queue full) or no workers: say so and
			 * keep serving the others. A retransmission may
			 * run: the cache forgets the call. */
			srv->st.pool_overload++;
			if (call->drc != NULL)
				tether_rpc_drc_abort(srv->drc, call->drc);
			call->drc = NULL;
			tether_rpc_server_reply_error(call,
						      TETHER_RPC_SYSTEM_ERR);
		}
		return;
	}
	proc->fn(call, args, reg->ud);
}

/* ------------------------------------------------------------------ */
/* Stream connections                                                  */
/* ------------------------------------------------------------------ */

/* Whether conn may take another record now. */
static int
conn_can_take(const struct tether__rpc_svc_conn *c)
{
	return !c->dead && c->inflight < c->srv->cfg.max_inflight &&
	       tether__rpc_obuf_pending(&c->out) <= c->srv->cfg.max_record;
}

/* Run the records already read; stops when the connection may not
 * take more. */
static void
conn_process(struct tether__rpc_svc_conn *c)
{
	const unsigned char *rec;
	size_t rlen;
	ssize_t n;
	int was = c->in_process;

	c->in_process = 1;
	while (c->ioff < c->ilen && conn_can_take(c)) {
		n = tether_rpc_rm_feed(&c->rm, c->ibuf + c->ioff,
				       c->ilen - c->ioff);
		if (n < 0) {
			if (n == -TETHER_EMSGSIZE)
				c->srv->st.conns_oversize++;
			c->dead = 1;
			break;
		}
		if (n == 0) {
			c->ioff = c->ilen;
			break;
		}
		c->ioff += (size_t)n;
		rec = tether_rpc_rm_record(&c->rm, &rlen);
		handle_record(c->srv, c, NULL, &c->peer, NULL, rec, rlen);
		tether_rpc_rm_next(&c->rm);
	}
	if (c->ioff == c->ilen)
		c->ioff = c->ilen = 0;
	c->in_process = was;
}

/* Bring the loop's interest in line with the state, or close. Called
 * at the top only. */
static void
conn_settle(struct tether__rpc_svc_conn *c)
{
	unsigned want = 0;

	if (!c->dead)
		conn_process(c);
	if (!c->dead && c->fd >= 0 && tether__rpc_obuf_pending(&c->out) > 0 &&
	    tether__rpc_obuf_flush(&c->out, c->fd, NULL) < 0)
		c->dead = 1;
	if (c->dead) {
		if (c->fd >= 0)
			conn_close(c);
		return;
	}
	if (c->fd < 0)
		return;
	if (c->ilen == 0 && conn_can_take(c))
		want |= TETHER_LOOP_READ;
	if (tether__rpc_obuf_pending(&c->out) > 0)
		want |= TETHER_LOOP_WRITE;
	if (want != c->events) {
		if (tether_loop_fd_mod(c->srv->loop, c->fd, want) < 0) {
			conn_close(c);
			return;
		}
		c->events = want;
	}
}

static void
conn_io(struct tether_loop *loop, int fd, unsigned events, void *ud)
{
	struct tether__rpc_svc_conn *c = ud;
	ssize_t n;

	(void)loop;
	c->in_process = 1;
	if ((events & TETHER_LOOP_WRITE) &&
	    tether__rpc_obuf_flush(&c->out, fd, NULL) < 0)
		c->dead = 1;
	if (!c->dead &&
	    (events & (TETHER_LOOP_READ | TETHER_LOOP_HUP | TETHER_LOOP_ERR)) &&
	    c->ilen == 0 && conn_can_take(c)) {
		n = recv(fd, c->ibuf, SVC_IBUF_SIZE, 0);
		if (n == 0) {
			c->dead = 1; /* the client is gone */
		} else if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				c->dead = 1;
		} else {
			c->ioff = 0;
			c->ilen = (size_t)n;
			tether_loop_timer_arm(c->idle, c->srv->cfg.idle_ms, 0);
		}
	} else if (!c->dead && (events & (TETHER_LOOP_HUP | TETHER_LOOP_ERR)) &&
		   !(events & TETHER_LOOP_READ)) {
		c->dead = 1;
	}
	c->in_process = 0;
	conn_settle(c);
}

static void
conn_idle(struct tether_loop *loop, struct tether_loop_timer *t, void *ud)
{
	struct tether__rpc_svc_conn *c = ud;

	(void)loop;
	if (c->inflight > 0 || tether__rpc_obuf_pending(&c->out) > 0) {
		tether_loop_timer_arm(t, c->srv->cfg.idle_ms, 0);
		return;
	}
	c->srv->st.conns_idle++;
	conn_close(c);
}

static void
conn_close(struct tether__rpc_svc_conn *c)
{
	struct tether_rpc_server *srv = c->srv;

	while (c->calls != NULL)
		call_detach(c->calls);
	if (c->fd >= 0) {
		tether_loop_fd_del(srv->loop, c->fd);
		close(c->fd);
	}
	tether_loop_timer_free(c->idle);
	tether_rpc_rm_free(&c->rm);
	tether__rpc_obuf_free(&c->out);
	tether_free(c->ibuf);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->st.conns--;
	tether_free(c);
}

/* A connection on fd (-1: fake). Takes fd: closes it on failure. */
static int
conn_new(struct tether_rpc_server *srv, int fd,
	 struct tether__rpc_svc_conn **out /* OUT */)
{
	struct tether__rpc_svc_conn *c;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int rc;

	if (srv->st.conns >= srv->cfg.max_conns) {
		srv->st.conns_refused++;
		rc = -TETHER_EBUSY;
		goto fail_fd;
	}
	c = tether_calloc(1, sizeof(*c));
	if (c == NULL) {
		rc = -TETHER_ENOMEM;
		goto fail_fd;
	}
	c->srv = srv;
	c->fd = fd;
	tether_rpc_rm_init(&c->rm, srv->cfg.max_record, srv->cfg.max_record);
	c->ibuf = tether_malloc(SVC_IBUF_SIZE);
	rc = tether_loop_timer_new(srv->loop, conn_idle, c, &c->idle);
	if (c->ibuf == NULL || rc < 0) {
		rc = -TETHER_ENOMEM;
		goto fail;
	}
	if (fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    tether_addr_from_sockaddr(&c->peer, (struct sockaddr *)&ss, sl) ==
		    0) {
		/* A reconnecting client comes from another port: key the
		 * reply cache on the host. */
		if (c->peer.ss.ss_family != AF_UNIX) {
			tether_addr_set_port(&c->peer, 0);
			tether__rpc_nodelay(fd);
		}
	}
	if (fd >= 0) {
		rc = tether_loop_fd_add(srv->loop, fd, TETHER_LOOP_READ,
					conn_io, c);
		if (rc < 0)
			goto fail;
		c->events = TETHER_LOOP_READ;
	}
	tether_loop_timer_arm(c->idle, srv->cfg.idle_ms, 0);
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->st.conns++;
	*out = c;
	return 0;
fail:
	tether_loop_timer_free(c->idle);
	tether_free(c->ibuf);
	tether_free(c);
fail_fd:
	if (fd >= 0)
		close(fd);
	return rc;
}

int
tether_rpc_server_adopt(struct tether_rpc_server *srv, int fd)
{
	struct tether__rpc_svc_conn *c;

	if (fd < 0)
		return -TETHER_EINVAL;
	return conn_new(srv, fd, &c);
}

/* ------------------------------------------------------------------ */
/* Listeners                                                           */
/* ------------------------------------------------------------------ */

static void
listener_accept(struct tether_loop *loop, int fd, unsigned events, void *ud)
{
	struct rpc_listener *l = ud;
	struct tether__rpc_svc_conn *c;
	int i, cfd;

	(void)loop;
	(void)events;
	for (i = 0; i < SVC_ACCEPT_BURST; i++) {
		cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			break; /* EAGAIN, or EMFILE: try on the next event */
		/* Over max_conns the connection is closed at once: the
		 * client sees it end rather than hang in the backlog. */
		conn_new(l->srv, cfd, &c);
	}
}

/*
 * The local address of a datagram from its IP_PKTINFO / IPV6_PKTINFO:
 * the address to answer from. For IPv4 that is ipi_spec_dst, not the
 * destination in the header (ipi_addr): for a broadcast or multicast
 * call (rpcinfo -b) the kernel puts there the address of the interface
 * it came in on, and no reply can leave from a broadcast address. An
 * IPv6 socket also gets IP_PKTINFO for IPv4 datagrams (when switched
 * on), preferred to the mapped header destination for the same reason.
 * An IPv6 multicast destination is not pinned: the kernel picks.
 */
static void
dgram_local(struct msghdr *mh, struct svc_local *local /* OUT */)
{
	const struct sockaddr *from = mh->msg_name;
	struct cmsghdr *cm;
	int have4 = 0;

	local->family = 0;
	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			have4 = 1;
			local->ifindex = pi.ipi_ifindex;
			if (from->sa_family == AF_INET6) {
				local->family = AF_INET6;
				memset(&local->a.v6, 0, sizeof(local->a.v6));
				local->a.v6.s6_addr[10] = 0xff;
				local->a.v6.s6_addr[11] = 0xff;
				memcpy(&local->a.v6.s6_addr[12],
				       &pi.ipi_spec_dst, 4);
			} else {
				local->family = AF_INET;
				local->a.v4 = pi.ipi_spec_dst;
			}
		} else if (!have4 && cm->cmsg_level == IPPROTO_IPV6 &&
			   cm->cmsg_type == IPV6_PKTINFO &&
			   cm->cmsg_len >=
				   CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			if (IN6_IS_ADDR_MULTICAST(&pi.ipi6_addr))
				continue;
			local->family = AF_INET6;
			local->ifindex = (int)pi.ipi6_ifindex;
			local->a.v6 = pi.ipi6_addr;
		}
	}
}

static void
listener_dgram(struct tether_loop *loop, int fd, unsigned events, void *ud)
{
	struct rpc_listener *l = ud;
	struct tether_rpc_server *srv = l->srv;
	struct sockaddr_storage ss;
	struct tether_addr peer;
	struct svc_local local;
	union {
		struct cmsghdr h;
		unsigned char b[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
				CMSG_SPACE(sizeof(struct in_pktinfo))];
	} cb;
	struct iovec iov;
	struct msghdr mh;
	ssize_t n;
	int i;

	(void)loop;
	(void)events;
	for (i = 0; i < SVC_DGRAM_BURST; i++) {
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = srv->rbuf;
		iov.iov_len = SVC_DGRAM_MAX + 1;
		mh.msg_name = &ss;
		mh.msg_namelen = sizeof(ss);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if (l->pktinfo) {
			mh.msg_control = cb.b;
			mh.msg_controllen = sizeof(cb.b);
		}
		n = recvmsg(fd, &mh, MSG_TRUNC);
		if (n < 0)
			break;
		if ((size_t)n > SVC_DGRAM_MAX || (mh.msg_flags & MSG_TRUNC) ||
		    tether_addr_from_sockaddr(&peer, (struct sockaddr *)&ss,
					      mh.msg_namelen) < 0) {
			srv->st.dropped++;
			continue;
		}
		local.family = 0;
		if (l->pktinfo)
			dgram_local(&mh, &local);
		handle_record(srv, NULL, l, &peer, &local, srv->rbuf,
			      (size_t)n);
	}
}

int
tether_rpc_server_listen(struct tether_rpc_server *srv, int socktype,
			 const struct tether_addr *addr,
			 struct tether_addr *bound /* OUT */)
{
	struct rpc_listener *l = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct stat stb;
	int fd = -1, rc, one = 1, family;

	if (addr == NULL || (socktype != SOCK_STREAM && socktype != SOCK_DGRAM))
		return -TETHER_EINVAL;
	family = addr->ss.ss_family;
	if (family != AF_INET && family != AF_INET6 && family != AF_UNIX)
		return -TETHER_EAFNOSUPPORT;
	if (family == AF_UNIX && socktype == SOCK_DGRAM)
		return -TETHER_EAFNOSUPPORT;
	if (socktype == SOCK_DGRAM && srv->rbuf == NULL) {
		srv->rbuf = tether_malloc(SVC_DGRAM_MAX + 1);
		srv->sbuf = tether_malloc(SVC_DGRAM_MAX);
		if (srv->rbuf == NULL || srv->sbuf == NULL) {
			tether_free(srv->rbuf);
			tether_free(srv->sbuf);
			srv->rbuf = srv->sbuf = NULL;
			return -TETHER_ENOMEM;
		}
	}
	l = tether_calloc(1, sizeof(*l));
	if (l == NULL)
		return -TETHER_ENOMEM;
	fd = tether__rpc_socket(family, socktype);
	if (fd < 0) {
		rc = fd;
		goto fail;
	}
	if (family == AF_UNIX) {
		const char *path =
			((const struct sockaddr_un *)&addr->ss)->sun_path;

		/* Replace a stale socket file, never anything else. */
		if (lstat(path, &stb) == 0 && S_ISSOCK(stb.st_mode))
			unlink(path);
	} else if (socktype == SOCK_STREAM) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	}
	if (socktype == SOCK_DGRAM && tether_addr_is_any(addr)) {
		/* Learn where each datagram was sent, to reply from there
		 * (an IPv6 socket reports IPv4 datagrams as mapped). */
		if (family == AF_INET6) {
			if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
				       sizeof(one)) == 0)
				l->pktinfo = 1;
			/* IPv4 datagrams: their ipi_spec_dst too. */
			(void)setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one,
					 sizeof(one));
		} else if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one,
				      sizeof(one)) == 0) {
			l->pktinfo = 1;
		}
	}
	if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0 ||
	    (socktype == SOCK_STREAM && listen(fd, 128) < 0)) {
		rc = tether_err_from_errno(errno);
		goto fail;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    tether_addr_from_sockaddr(&l->addr, (struct sockaddr *)&ss, sl) < 0)
		tether_addr_copy(&l->addr, addr);
	l->srv = srv;
	l->fd = fd;
	l->socktype = socktype;
	rc = tether_loop_fd_add(
		srv->loop, fd, TETHER_LOOP_READ,
		socktype == SOCK_STREAM ? listener_accept : listener_dgram, l);
	if (rc < 0)
		goto fail;
	l->next = srv->listeners;
	srv->listeners = l;
	srv->st.listeners++;
	if (bound != NULL)
		tether_addr_copy(bound, &l->addr);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	tether_free(l);
	return rc;
}

void
tether_rpc_server_get_stats(const struct tether_rpc_server *srv,
			    struct tether_rpc_server_stats *st /* OUT */)
{
	*st = srv->st;
	tether__rpc_pool_stats(srv->pool, st);
	if (srv->drc != NULL)
		tether_rpc_drc_get_stats(srv->drc, &st->drc);
	else
		memset(&st->drc, 0, sizeof(st->drc));
}

/* ------------------------------------------------------------------ */
/* Socket-free entry points                                            */
/* ------------------------------------------------------------------ */

int
tether__rpc_server_fake_conn(struct tether_rpc_server *srv,
			     struct tether__rpc_svc_conn **out /* OUT */)
{
	return conn_new(srv, -1, out);
}

size_t
tether__rpc_server_feed(struct tether__rpc_svc_conn *c, const void *p, size_t n)
{
	size_t done = 0, k;

	while (done < n && conn_can_take(c)) {
		TETHER_BUG_ON(c->ilen != 0);
		k = n - done;
		if (k > SVC_IBUF_SIZE)
			k = SVC_IBUF_SIZE;
		memcpy(c->ibuf, (const unsigned char *)p + done, k);
		c->ioff = 0;
		c->ilen = k;
		conn_process(c);
		/* Bytes not consumed stay queued; count them as not fed. */
		done += k - (c->ilen - c->ioff);
		c->ioff = c->ilen = 0;
		if (k == 0)
			break;
	}
	return done;
}

int
tether__rpc_server_conn_dead(const struct tether__rpc_svc_conn *c)
{
	return c->dead;
}

const unsigned char *
tether__rpc_server_output(const struct tether__rpc_svc_conn *c,
			  size_t *len /* OUT */)
{
	*len = tether__rpc_obuf_pending(&c->out);
	return c->out.data != NULL ? c->out.data + c->out.off : NULL;
}

void
tether__rpc_server_output_clear(struct tether__rpc_svc_conn *c)
{
	c->out.off = c->out.len = 0;
}

void
tether__rpc_server_conn_close(struct tether__rpc_svc_conn *c)
{
	conn_close(c);
}
