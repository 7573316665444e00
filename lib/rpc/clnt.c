/*
 * clnt.c - the RPC client runtime: one connection (stream) or connected
 * datagram socket per client, a table of calls in flight keyed by XID,
 * per-call timers for timeouts and UDP retransmission, and synchronous
 * calls as a wait on the loop.
 *
 * Receiving: a stream's bytes land in one 128 KiB buffer and replies
 * are decoded straight from it (the record-mark header is read in
 * place, no copy into a record buffer); only a record that is
 * fragmented or larger than the buffer goes through the record-marking
 * decoder. Completed calls keep their timer and go to a short free
 * list, so a call in the steady state allocates nothing.
 *
 * Synchronous calls on a private loop: once connected (stream or
 * datagram) the socket is made blocking with a receive timeout slice
 * (CLNT_SLICE_MS), every other send and receive passes MSG_DONTWAIT,
 * and tether_rpc_client_call waits in recv itself rather than in
 * epoll_wait then recv; after each empty slice the loop runs once
 * without waiting, for the calls' timers.
 *
 * Completion rule: a call completes either from the read callback (its
 * reply arrived) or from its own timer. Failures found anywhere else (a
 * connection that breaks inside a send, a connect refused at once) only
 * mark the call and arm its timer at 0, so callbacks never run from
 * inside tether_rpc_client_call_async and never while the client's
 * state is half changed.
 */
#include "tether/rpc.h"
#include "rpc/rpc_int.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CLNT_BUCKETS   256u
#define CLNT_RBUF_SIZE (128u << 10)
#define CLNT_DGRAM_MAX 65507u
#define CLNT_FREE_MAX  64u /* completed calls kept for reuse */
#define CLNT_SLICE_MS  20  /* blocking receive slice of a sync call */

enum clnt_state { CLNT_DOWN = 0, CLNT_CONNECTING, CLNT_UP };

struct clnt_call {
	struct tether_rpc_client *c;
	struct clnt_call *hnext;       /* XID bucket */
	struct clnt_call *prev, *next; /* c->calls, or c->free */
	uint32_t xid;
	int hashed;
	tether_xdr_fn *res_codec;
	void *res;
	struct tether_arena *arena;
	tether_rpc_client_done_fn *done;
	void *ud;
	struct tether_loop_timer *timer;
	uint64_t deadline;
	uint64_t backoff;
	unsigned char *dgram; /* UDP: the call, to resend (kept with the
			       * call on the free list) */
	size_t dlen;
	size_t dcap;
	uint64_t end_off; /* stream: end of its record */
	int failed;	  /* result below is final */
	struct tether_rpc_result result;
	/* AUTH_SHORT: a call sent with a handle keeps its arguments, to be
	 * sent again with AUTH_SYS if the server rejects the handle. */
	uint32_t proc;
	unsigned char *short_args;
	size_t short_alen;
	int short_sent;
	uint64_t auth_gen; /* c->auth_gen when it was made */
};

struct tether_rpc_client {
	struct tether_loop *loop;
	int own_loop;
	struct tether_addr addr;
	int socktype;
	uint32_t prog;
	uint32_t vers;
	struct tether_rpc_client_config cfg;
	int fd;
	enum clnt_state state;
	unsigned events;
	struct tether_rpc_rm_decoder rm;
	unsigned char *rbuf;
	size_t rlen;   /* stream: bytes kept in rbuf (a partial record) */
	int blocking;  /* socket blocking, SO_RCVTIMEO a slice */
	struct clnt_call *free; /* completed calls, timers kept */
	size_t nfree;
	struct tether__rpc_obuf out;
	uint64_t out_total;  /* bytes queued on this connection */
	uint64_t sent_total; /* bytes written on this connection */
	struct tether_rpc_opaque_auth cred;
	struct tether_rpc_opaque_auth short_cred; /* handed out by the server */
	int has_short;
	uint64_t auth_gen; /* bumped when the credential is set */
	uint32_t next_xid;
	struct clnt_call *buckets[CLNT_BUCKETS];
	struct clnt_call *calls;
	size_t ncalls;
	/* Reconnection after failed connects: none before retry_at, the
	 * wait doubling from the minimum to the maximum, reset once a
	 * connection is made. */
	struct tether_loop_timer *reconnect;
	uint64_t retry_at;
	unsigned backoff_ms;
	int in_io; /* in client_io: calls made by callbacks are
		    * written together at its end */
};

static void client_io(struct tether_loop *loop, int fd, unsigned events,
		      void *ud);
static void reconnect_timer(struct tether_loop *loop,
			    struct tether_loop_timer *t, void *ud);

/* ------------------------------------------------------------------ */
/* Creation                                                            */
/* ------------------------------------------------------------------ */

int
tether_rpc_client_new(struct tether_rpc_client **out /* OUT */,
		      struct tether_loop *loop, const struct tether_addr *addr,
		      int socktype, uint32_t prog, uint32_t vers,
		      const struct tether_rpc_client_config *cfg)
{
	struct tether_rpc_client *c;
	struct timespec ts;
	int rc, fam;

	*out = NULL;
	if (addr == NULL || (socktype != SOCK_STREAM && socktype != SOCK_DGRAM))
		return -TETHER_EINVAL;
	fam = addr->ss.ss_family;
	if (fam != AF_INET && fam != AF_INET6 && fam != AF_UNIX)
		return -TETHER_EAFNOSUPPORT;
	if (fam == AF_UNIX && socktype == SOCK_DGRAM)
		return -TETHER_EAFNOSUPPORT;
	if (cfg != NULL && cfg->source.len != 0 &&
	    (fam == AF_UNIX || cfg->source.ss.ss_family != fam ||
	     cfg->source.len > sizeof(cfg->source.ss)))
		return -TETHER_EINVAL;
	c = tether_calloc(1, sizeof(*c));
	if (c == NULL)
		return -TETHER_ENOMEM;
	c->fd = -1;
	tether_addr_copy(&c->addr, addr);
	c->socktype = socktype;
	c->prog = prog;
	c->vers = vers;
	if (cfg != NULL)
		c->cfg = *cfg;
	if (c->cfg.max_record == 0)
		c->cfg.max_record = TETHER_RPC_CLIENT_DEFAULT_MAX_RECORD;
	if (c->cfg.timeout_ms == 0)
		c->cfg.timeout_ms = TETHER_RPC_CLIENT_DEFAULT_TIMEOUT_MS;
	if (c->cfg.retrans_ms == 0)
		c->cfg.retrans_ms = TETHER_RPC_CLIENT_DEFAULT_RETRANS_MS;
	if (c->cfg.reconnect_max_ms == 0)
		c->cfg.reconnect_max_ms = TETHER_RPC_CLIENT_RECONNECT_MAX_MS;
	tether_rpc_auth_none(&c->cred);
	tether_rpc_rm_init(&c->rm, c->cfg.max_record, c->cfg.max_record);
	c->rbuf = tether_malloc(CLNT_RBUF_SIZE);
	if (c->rbuf == NULL) {
		rc = -TETHER_ENOMEM;
		goto fail;
	}
	if (loop == NULL) {
		rc = tether_loop_new(&c->loop, NULL);
		if (rc < 0)
			goto fail;
		c->own_loop = 1;
	} else {
		c->loop = loop;
	}
	rc = tether_loop_timer_new(c->loop, reconnect_timer, c, &c->reconnect);
	if (rc < 0)
		goto fail_loop;
	/* XIDs start somewhere else in every client, so a server's reply
	 * cache does not confuse two clients on one host. */
	clock_gettime(CLOCK_REALTIME, &ts);
	c->next_xid = (uint32_t)tether_hash_u64(
		((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^
		(uint64_t)getpid() ^ (uint64_t)(uintptr_t)c);
	*out = c;
	return 0;
fail_loop:
	if (c->own_loop)
		tether_loop_free(c->loop);
fail:
	tether_free(c->rbuf);
	tether_free(c);
	return rc;
}

struct tether_loop *
tether_rpc_client_loop(struct tether_rpc_client *c)
{
	return c->loop;
}

int
tether_rpc_client_set_auth(struct tether_rpc_client *c,
			   const struct tether_rpc_opaque_auth *cred)
{
	if (cred == NULL) {
		tether_rpc_auth_none(&c->cred);
		c->has_short = 0; /* the handle stood for the old one */
		c->auth_gen++;
		return 0;
	}
	if (cred->len > TETHER_RPC_AUTH_MAX_BYTES)
		return -TETHER_EOVERFLOW;
	c->cred = *cred;
	c->has_short = 0;
	c->auth_gen++;
	return 0;
}

int
tether_rpc_client_set_authsys(struct tether_rpc_client *c,
			      const struct tether_rpc_authsys *p)
{
	struct tether_rpc_opaque_auth a;
	int rc = tether_rpc_authsys_encode(p, &a);

	if (rc < 0)
		return rc;
	c->cred = a;
	c->has_short = 0;
	c->auth_gen++;
	return 0;
}

void
tether__rpc_client_set_xid(struct tether_rpc_client *c, uint32_t xid)
{
	c->next_xid = xid;
}

size_t
tether_rpc_client_pending(const struct tether_rpc_client *c)
{
	return c->ncalls;
}

/* ------------------------------------------------------------------ */
/* The table of calls                                                  */
/* ------------------------------------------------------------------ */

static void
call_unhash(struct clnt_call *call)
{
	struct clnt_call **pp;

	if (!call->hashed)
		return;
	pp = &call->c->buckets[call->xid % CLNT_BUCKETS];
	while (*pp != call)
		pp = &(*pp)->hnext;
	*pp = call->hnext;
	call->hashed = 0;
}

static struct clnt_call *
call_find(struct tether_rpc_client *c, uint32_t xid)
{
	struct clnt_call *call = c->buckets[xid % CLNT_BUCKETS];

	while (call != NULL && call->xid != xid)
		call = call->hnext;
	return call;
}

/* Take the call out of everything and run its callback with r. */
static void
call_complete(struct clnt_call *call, const struct tether_rpc_result *r)
{
	struct tether_rpc_client *c = call->c;
	struct tether_rpc_result res = *r;

	call_unhash(call);
	tether_free(call->short_args);
	call->short_args = NULL;
	if (call->prev != NULL)
		call->prev->next = call->next;
	else
		c->calls = call->next;
	if (call->next != NULL)
		call->next->prev = call->prev;
	c->ncalls--;
	tether_loop_timer_cancel(call->timer);
	call->done(c, &res, call->ud);
	if (c->nfree < CLNT_FREE_MAX) {
		call->next = c->free;
		c->free = call;
		c->nfree++;
	} else {
		tether_loop_timer_free(call->timer);
		tether_free(call->dgram);
		tether_free(call);
	}
}

/* Mark the call failed; its timer completes it on the next iteration. */
static void
call_fail_later(struct clnt_call *call, enum tether_rpc_status st, int err)
{
	if (call->failed)
		return;
	call_unhash(call);
	memset(&call->result, 0, sizeof(call->result));
	call->result.status = st;
	call->result.err = err;
	call->failed = 1;
	tether_loop_timer_arm(call->timer, 0, 0);
}

/* ------------------------------------------------------------------ */
/* The connection                                                      */
/* ------------------------------------------------------------------ */

/* Close the socket; calls in flight on it fail (how depends on whether
 * their record left completely). st_sent / st_unsent: their statuses. */
static void
conn_down(struct tether_rpc_client *c, enum tether_rpc_status st_sent,
	  enum tether_rpc_status st_unsent, int err)
{
	struct clnt_call *call;

	if (c->fd >= 0) {
		tether_loop_fd_del(c->loop, c->fd);
		close(c->fd);
	}
	c->fd = -1;
	c->state = CLNT_DOWN;
	c->events = 0;
	if (c->socktype == SOCK_STREAM) {
		for (call = c->calls; call != NULL; call = call->next)
			call_fail_later(call,
					call->end_off <= c->sent_total
						? st_sent
						: st_unsent,
					err);
	} else {
		for (call = c->calls; call != NULL; call = call->next)
			call_fail_later(call, st_sent, err);
	}
	tether_rpc_rm_free(&c->rm);
	tether_rpc_rm_init(&c->rm, c->cfg.max_record, c->cfg.max_record);
	c->rlen = 0;
	c->blocking = 0;
	c->out.off = c->out.len = 0;
	c->out_total = c->sent_total = 0;
}

static void
update_events(struct tether_rpc_client *c)
{
	unsigned want = TETHER_LOOP_READ;

	if (c->fd < 0)
		return;
	if (c->state == CLNT_CONNECTING ||
	    tether__rpc_obuf_pending(&c->out) > 0)
		want |= TETHER_LOOP_WRITE;
	if (want != c->events && tether_loop_fd_mod(c->loop, c->fd, want) == 0)
		c->events = want;
}

/* Write what is queued; a failure takes the connection down. */
static void
flush_out(struct tether_rpc_client *c)
{
	size_t sent = 0;
	int rc;

	if (c->state != CLNT_UP || c->socktype != SOCK_STREAM)
		return;
	rc = tether__rpc_obuf_flush(&c->out, c->fd, &sent);
	c->sent_total += sent;
	if (rc < 0) {
		conn_down(c, TETHER_RPC_ST_CONN_LOST, TETHER_RPC_ST_CANTSEND,
			  rc);
		return;
	}
	update_events(c);
}

/* A connect failed: its calls fail, and the next attempt waits. */
static void
connect_failed(struct tether_rpc_client *c, int err)
{
	conn_down(c, TETHER_RPC_ST_CANTCONNECT, TETHER_RPC_ST_CANTCONNECT, err);
	if (c->backoff_ms == 0)
		c->backoff_ms = TETHER_RPC_CLIENT_RECONNECT_MIN_MS;
	else if (c->backoff_ms < c->cfg.reconnect_max_ms / 2)
		c->backoff_ms *= 2;
	else
		c->backoff_ms = c->cfg.reconnect_max_ms;
	if (c->backoff_ms > c->cfg.reconnect_max_ms)
		c->backoff_ms = c->cfg.reconnect_max_ms;
	c->retry_at = tether_loop_update_time(c->loop) + c->backoff_ms;
}

/* The connection is up. A private loop's socket turns blocking with a
 * receive timeout of one slice, for the synchronous wait (every other
 * send and receive says MSG_DONTWAIT); if that fails it stays as it
 * was and synchronous calls wait on the loop. */
static void
conn_ready(struct tether_rpc_client *c)
{
	struct timeval tv = { 0, CLNT_SLICE_MS * 1000 };
	int fl;

	c->state = CLNT_UP;
	c->backoff_ms = 0;
	if (!c->own_loop)
		return;
	fl = fcntl(c->fd, F_GETFL);
	if (fl < 0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return;
	c->blocking = 1;
}

/* Open the socket if it is not. Returns 0 or a negative code. */
static int
conn_up(struct tether_rpc_client *c)
{
	int fd, rc;

	if (c->state != CLNT_DOWN)
		return 0;
	fd = tether__rpc_socket(c->addr.ss.ss_family, c->socktype);
	if (fd < 0)
		return fd;
	if (c->socktype == SOCK_STREAM && c->addr.ss.ss_family != AF_UNIX)
		tether__rpc_nodelay(fd);
	if (c->cfg.source.len != 0 &&
	    bind(fd, (const struct sockaddr *)&c->cfg.source.ss,
		 c->cfg.source.len) < 0) {
		rc = tether_err_from_errno(errno);
		close(fd);
		return rc;
	}
	if (connect(fd, (struct sockaddr *)&c->addr.ss, c->addr.len) == 0) {
		c->state = CLNT_UP;
	} else if (errno == EINPROGRESS || errno == EAGAIN) {
		c->state = CLNT_CONNECTING;
	} else {
		rc = tether_err_from_errno(errno);
		close(fd);
		return rc;
	}
	c->fd = fd;
	c->events = TETHER_LOOP_READ;
	if (c->state == CLNT_CONNECTING)
		c->events |= TETHER_LOOP_WRITE;
	rc = tether_loop_fd_add(c->loop, fd, c->events, client_io, c);
	if (rc < 0) {
		close(fd);
		c->fd = -1;
		c->state = CLNT_DOWN;
		return rc;
	}
	if (c->state == CLNT_UP)
		conn_ready(c);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */
/* ------------------------------------------------------------------ */

/*
 * AUTH_SHORT (RFC 5531 appendix A). A server may answer an AUTH_SYS
 * call with an AUTH_SHORT verifier whose body is a new credential (an
 * XDR opaque_auth, Sun's short_hand_verf): later calls send it instead
 * of the AUTH_SYS one. If the server rejects it (unknown or expired),
 * it is dropped and the call goes again, once, with AUTH_SYS.
 */
static void
short_forget(struct tether_rpc_client *c, const struct tether_rpc_result *r,
	     void *ud)
{
	(void)c;
	(void)r;
	(void)ud;
}

static void
short_learn(struct tether_rpc_client *c, const struct clnt_call *call,
	    const struct tether_rpc_reply *rp)
{
	uint32_t n;

	/* A handle stands for the credential the call was made with:
	 * none of it once the caller has set another. */
	if (rp->verf.flavor != TETHER_RPC_AUTH_SHORT ||
	    c->cred.flavor != TETHER_RPC_AUTH_SYS || rp->verf.len < 8 ||
	    call->auth_gen != c->auth_gen)
		return;
	n = tether_xdr_load32(rp->verf.body + 4);
	if (n == 0 || n > rp->verf.len - 8)
		return;
	c->short_cred.flavor = tether_xdr_load32(rp->verf.body);
	c->short_cred.len = n;
	memcpy(c->short_cred.body, rp->verf.body + 8, n);
	c->has_short = 1;
}

struct short_raw {
	unsigned char *p;
	size_t len;
};

/* The arguments of the rejected call, as they were encoded. */
static int
short_raw_codec(struct tether_xdr *x, void *obj)
{
	struct short_raw *r = obj;

	return tether_xdr_opaque(x, r->p, r->len);
}

/* Returns 1 when the reply was a rejected handle and the call was sent
 * again with AUTH_SYS (or completed with the failure to do so). */
static int
short_rejected(struct tether_rpc_client *c, struct clnt_call *call,
	       const struct tether_rpc_reply *rp)
{
	struct tether_rpc_result r;
	struct short_raw raw;
	uint64_t now;
	int rc;

	if (!call->short_sent || rp->stat != TETHER_RPC_MSG_DENIED ||
	    rp->reject_stat != TETHER_RPC_AUTH_ERROR ||
	    (rp->auth_stat != TETHER_RPC_AUTH_REJECTEDCRED &&
	     rp->auth_stat != TETHER_RPC_AUTH_BADCRED))
		return 0;
	c->has_short = 0;
	memset(&r, 0, sizeof(r));
	now = tether_loop_update_time(c->loop);
	raw.p = call->short_args;
	raw.len = call->short_alen;
	rc = tether_rpc_client_call_async(
		c, call->proc, short_raw_codec, &raw, call->res_codec,
		call->res, call->arena,
		call->deadline > now ? (unsigned)(call->deadline - now) : 1,
		call->done, call->ud);
	if (rc < 0) {
		r.status = TETHER_RPC_ST_AUTH_ERROR;
		r.auth_stat = rp->auth_stat;
		call_complete(call, &r);
		return 1;
	}
	/* The new call reports to the same callback: forget this one. */
	call->done = short_forget;
	call_complete(call, &r);
	return 1;
}

static void
handle_reply(struct tether_rpc_client *c, const unsigned char *rec, size_t len)
{
	struct tether_rpc_result r;
	struct tether_rpc_msg m;
	struct tether_xdr x;
	struct clnt_call *call;
	const struct tether_rpc_reply *rp = &m.u.reply;

	tether_xdr_init_decode(&x, rec, len, 0, NULL);
	if (tether_rpc_msg_decode(&x, &m) < 0 || m.type != TETHER_RPC_REPLY)
		return;
	call = call_find(c, m.xid);
	if (call == NULL)
		return; /* late, duplicate, or not ours */
	memset(&r, 0, sizeof(r));
	if (short_rejected(c, call, rp))
		return;
	if (rp->stat == TETHER_RPC_MSG_ACCEPTED)
		short_learn(c, call, rp);
	if (rp->stat == TETHER_RPC_MSG_DENIED) {
		if (rp->reject_stat == TETHER_RPC_RPC_MISMATCH) {
			r.status = TETHER_RPC_ST_RPC_MISMATCH;
			r.mismatch = rp->mismatch;
		} else {
			r.status = TETHER_RPC_ST_AUTH_ERROR;
			r.auth_stat = rp->auth_stat;
		}
	} else {
		switch (rp->accept_stat) {
		case TETHER_RPC_SUCCESS:
			r.status = TETHER_RPC_ST_OK;
			if (call->res_codec == NULL)
				break;
			tether_xdr_init_decode(&x, rec + m.body_pos,
					       len - m.body_pos, 0,
					       call->arena);
			r.err = call->res_codec(&x, call->res);
			if (r.err < 0)
				r.status = TETHER_RPC_ST_CANTDECODE_RES;
			break;
		case TETHER_RPC_PROG_UNAVAIL:
			r.status = TETHER_RPC_ST_PROG_UNAVAIL;
			break;
		case TETHER_RPC_PROG_MISMATCH:
			r.status = TETHER_RPC_ST_PROG_MISMATCH;
			r.mismatch = rp->mismatch;
			break;
		case TETHER_RPC_PROC_UNAVAIL:
			r.status = TETHER_RPC_ST_PROC_UNAVAIL;
			break;
		case TETHER_RPC_GARBAGE_ARGS:
			r.status = TETHER_RPC_ST_GARBAGE_ARGS;
			break;
		default:
			r.status = TETHER_RPC_ST_SYSTEM_ERR;
			break;
		}
	}
	call_complete(call, &r);
}

/* Between records: the next header may be read in place. */
static int
rm_idle(const struct tether_rpc_rm_decoder *d)
{
	return d->state == TETHER_RPC_RM_HEADER && d->hdr_have == 0 &&
	       d->nfrags == 0;
}

/*
 * Take the records in rbuf[0..rlen): a whole single-fragment record is
 * decoded where it lies; the start of one that fits the buffer stays
 * (moved to the front) for the next recv; anything else (fragments, a
 * record larger than the buffer) goes through the record-marking
 * decoder, which checks the limits. Returns -1 when the connection went
 * down, else 0.
 */
static int
take_records(struct tether_rpc_client *c)
{
	const unsigned char *rec;
	size_t off = 0, have, flen, rlen;
	uint32_t h;
	ssize_t k;

	while (off < c->rlen) {
		have = c->rlen - off;
		if (rm_idle(&c->rm)) {
			if (have < TETHER_RPC_RM_HDR_SIZE)
				break;
			h = tether_xdr_load32(c->rbuf + off);
			flen = h & TETHER_RPC_RM_LEN_MASK;
			if ((h & TETHER_RPC_RM_LAST_FRAG) &&
			    flen <= c->cfg.max_record &&
			    flen <= CLNT_RBUF_SIZE - TETHER_RPC_RM_HDR_SIZE) {
				if (have - TETHER_RPC_RM_HDR_SIZE < flen)
					break; /* the rest is still to come */
				handle_reply(c, c->rbuf + off + 4, flen);
				off += TETHER_RPC_RM_HDR_SIZE + flen;
				if (c->fd < 0)
					return -1; /* a callback took it down */
				continue;
			}
		}
		k = tether_rpc_rm_feed(&c->rm, c->rbuf + off, have);
		if (k < 0) {
			conn_down(c, TETHER_RPC_ST_CONN_LOST,
				  TETHER_RPC_ST_CANTSEND, (int)k);
			return -1;
		}
		if (k == 0) {
			off = c->rlen; /* all taken, the record goes on */
			break;
		}
		off += (size_t)k;
		rec = tether_rpc_rm_record(&c->rm, &rlen);
		handle_reply(c, rec, rlen);
		tether_rpc_rm_next(&c->rm);
		if (c->fd < 0)
			return -1;
	}
	if (off > 0 && off < c->rlen)
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
	c->rlen -= off;
	return 0;
}

/*
 * One recv on a stream, and the records it completes. flags: 0 waits
 * (a blocking socket, up to a slice), MSG_DONTWAIT does not. When the
 * start of a record is kept, a waiting recv asks for exactly its rest
 * (MSG_WAITALL: one wake-up for a reply that came in two segments).
 * Returns 1 when bytes came, 0 when none did, -1 when the connection
 * went down.
 */
static int
read_stream(struct tether_rpc_client *c, int flags)
{
	size_t want = CLNT_RBUF_SIZE - c->rlen, need;
	ssize_t n;

	if (flags == 0 && c->rlen >= TETHER_RPC_RM_HDR_SIZE &&
	    rm_idle(&c->rm)) {
		need = TETHER_RPC_RM_HDR_SIZE +
		       (tether_xdr_load32(c->rbuf) & TETHER_RPC_RM_LEN_MASK);
		if (need > c->rlen && need - c->rlen <= want) {
			want = need - c->rlen;
			flags = MSG_WAITALL;
		}
	}
	n = recv(c->fd, c->rbuf + c->rlen, want, flags);
	if (n < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n <= 0) {
		conn_down(c, TETHER_RPC_ST_CONN_LOST, TETHER_RPC_ST_CANTSEND,
			  n == 0 ? -TETHER_ECONNRESET
				 : tether_err_from_errno(errno));
		return -1;
	}
	c->rlen += (size_t)n;
	return take_records(c) < 0 ? -1 : 1;
}

/*
 * Up to max datagrams; the first recv with flags (0 waits up to a
 * slice on a blocking socket), the others MSG_DONTWAIT. Returns 1 when
 * one came, else 0.
 */
static int
read_dgram(struct tether_rpc_client *c, int flags, int max)
{
	struct tether_rpc_result r;
	struct clnt_call *call;
	ssize_t n;
	int i, got = 0;

	for (i = 0; i < max && c->fd >= 0; i++) {
		n = recv(c->fd, c->rbuf, CLNT_RBUF_SIZE,
			 MSG_TRUNC | (i == 0 ? flags : MSG_DONTWAIT));
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return got;
			if (errno == EINTR)
				continue;
			/* ICMP port unreachable and the like: nobody is
			 * there to answer any call in flight. */
			conn_down(c, TETHER_RPC_ST_CANTCONNECT,
				  TETHER_RPC_ST_CANTCONNECT,
				  tether_err_from_errno(errno));
			return got;
		}
		got = 1;
		if ((size_t)n > CLNT_RBUF_SIZE ||
		    (size_t)n > c->cfg.max_record) {
			if (n < 4)
				continue;
			call = call_find(c, tether_xdr_load32(c->rbuf));
			if (call == NULL)
				continue;
			memset(&r, 0, sizeof(r));
			r.status = TETHER_RPC_ST_REPLY_TOO_BIG;
			r.err = -TETHER_EMSGSIZE;
			call_complete(call, &r);
			continue;
		}
		handle_reply(c, c->rbuf, (size_t)n);
	}
	return got;
}

static void
client_io(struct tether_loop *loop, int fd, unsigned events, void *ud)
{
	struct tether_rpc_client *c = ud;
	socklen_t sl = sizeof(int);
	int soerr = 0;

	(void)loop;
	if (c->state == CLNT_CONNECTING) {
		if (!(events &
		      (TETHER_LOOP_WRITE | TETHER_LOOP_ERR | TETHER_LOOP_HUP)))
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			soerr = errno;
		if (soerr != 0) {
			connect_failed(c, tether_err_from_errno(soerr));
			return;
		}
		conn_ready(c);
		flush_out(c);
		return;
	}
	if (events & TETHER_LOOP_WRITE) {
		flush_out(c);
		if (c->fd < 0)
			return;
	}
	if (events & (TETHER_LOOP_READ | TETHER_LOOP_ERR | TETHER_LOOP_HUP)) {
		c->in_io = 1;
		if (c->socktype == SOCK_STREAM)
			read_stream(c, MSG_DONTWAIT);
		else
			read_dgram(c, MSG_DONTWAIT, 64);
		c->in_io = 0;
		if (c->fd >= 0 && c->socktype == SOCK_STREAM)
			flush_out(c);
	}
}

/* ------------------------------------------------------------------ */
/* Calls                                                               */
/* ------------------------------------------------------------------ */

static void
reconnect_timer(struct tether_loop *loop, struct tether_loop_timer *t, void *ud)
{
	struct tether_rpc_client *c = ud;
	int rc;

	(void)loop;
	(void)t;
	if (c->state != CLNT_DOWN || c->calls == NULL)
		return;
	rc = conn_up(c);
	if (rc < 0) {
		connect_failed(c, rc);
		return;
	}
	if (c->socktype == SOCK_STREAM) {
		flush_out(c);
	} else {
		struct clnt_call *call;

		for (call = c->calls; call != NULL; call = call->next)
			if (call->dgram != NULL && !call->failed)
				send(c->fd, call->dgram, call->dlen,
				     MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	update_events(c);
}

static void
call_timer(struct tether_loop *loop, struct tether_loop_timer *t, void *ud)
{
	struct clnt_call *call = ud;
	struct tether_rpc_result r;
	uint64_t now = tether_loop_now(loop), next;

	if (call->failed) {
		call_complete(call, &call->result);
		return;
	}
	if (now >= call->deadline) {
		memset(&r, 0, sizeof(r));
		r.status = TETHER_RPC_ST_TIMEDOUT;
		call_complete(call, &r);
		return;
	}
	/* UDP: send again, same XID, and wait twice as long. */
	if (call->dgram != NULL && call->c->fd >= 0 &&
	    send(call->c->fd, call->dgram, call->dlen,
		 MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
	    errno == ECONNREFUSED) {
		call_fail_later(call, TETHER_RPC_ST_CANTCONNECT,
				-TETHER_ECONNREFUSED);
		return;
	}
	call->backoff *= 2;
	if (call->backoff > TETHER_RPC_CLIENT_MAX_RETRANS_MS)
		call->backoff = TETHER_RPC_CLIENT_MAX_RETRANS_MS;
	next = call->deadline - now;
	if (call->dgram != NULL && call->backoff < next)
		next = call->backoff;
	tether_loop_timer_arm(t, next, 0);
}

/* A zeroed call with its timer: from the free list, or new. */
static struct clnt_call *
call_get(struct tether_rpc_client *c)
{
	struct clnt_call *call = c->free;
	struct tether_loop_timer *t;
	unsigned char *d;
	size_t dcap;

	if (call != NULL) {
		c->free = call->next;
		c->nfree--;
		t = call->timer;
		d = call->dgram;
		dcap = call->dcap;
		memset(call, 0, sizeof(*call));
		call->timer = t;
		call->dgram = d;
		call->dcap = dcap;
		return call;
	}
	call = tether_calloc(1, sizeof(*call));
	if (call == NULL)
		return NULL;
	if (tether_loop_timer_new(c->loop, call_timer, call, &call->timer) <
	    0) {
		tether_free(call);
		return NULL;
	}
	return call;
}

/* Back to the free list: a call that never went into the table. */
static void
call_put(struct tether_rpc_client *c, struct clnt_call *call)
{
	call->next = c->free;
	c->free = call;
	c->nfree++;
}

int
tether_rpc_client_call_async(struct tether_rpc_client *c, uint32_t proc,
			     tether_xdr_fn *args_codec, const void *args,
			     tether_xdr_fn *res_codec, void *res,
			     struct tether_arena *arena, unsigned timeout_ms,
			     tether_rpc_client_done_fn *done, void *ud)
{
	struct clnt_call *call;
	struct tether_rpc_msg m;
	struct tether_xdr x;
	size_t size, asize = 0, limit;
	unsigned char *p;
	int rc;

	if (done == NULL || (res_codec != NULL && res == NULL))
		return -TETHER_EINVAL;
	tether_rpc_msg_init_call(&m, c->next_xid, c->prog, c->vers, proc);
	m.u.call.cred = c->has_short ? c->short_cred : c->cred;
	size = tether_rpc_msg_size(&m);
	if (args_codec != NULL) {
		rc = tether_xdr_sizeof(args_codec, args, &asize);
		if (rc < 0)
			return rc;
	}
	limit = c->socktype == SOCK_DGRAM ? CLNT_DGRAM_MAX
					  : TETHER_RPC_RM_LEN_MASK;
	if (asize > limit || size + asize > limit)
		return -TETHER_EMSGSIZE;
	size += asize;
	call = call_get(c);
	if (call == NULL)
		return -TETHER_ENOMEM;
	if (c->socktype == SOCK_DGRAM) {
		if (call->dcap < size || call->dgram == NULL) {
			p = tether_realloc(call->dgram, size ? size : 1);
			if (p != NULL) {
				call->dgram = p;
				call->dcap = size ? size : 1;
			}
		}
		p = call->dcap >= size ? call->dgram : NULL;
		call->dlen = size;
	} else {
		p = tether__rpc_obuf_room(&c->out, 4 + size);
		if (p != NULL)
			p += 4;
	}
	if (p == NULL) {
		rc = -TETHER_ENOMEM;
		goto fail;
	}
	tether_xdr_init_encode(&x, p, size);
	rc = tether_rpc_msg_encode(&x, &m);
	if (rc == 0 && args_codec != NULL)
		rc = args_codec(&x, (void *)(uintptr_t)args);
	if (rc == 0 && tether_xdr_getpos(&x) != size)
		rc = -TETHER_EPROTO;
	if (rc == 0 && c->has_short) {
		/* Kept to go again with AUTH_SYS if the handle is refused
		 * (never allocated when this function fails). */
		call->short_alen = size - m.body_pos;
		call->short_args = tether_malloc(call->short_alen + 1);
		if (call->short_args == NULL)
			rc = -TETHER_ENOMEM;
		else
			memcpy(call->short_args, p + m.body_pos,
			       call->short_alen);
		call->short_sent = 1;
	}
	if (rc < 0)
		goto fail;
	c->next_xid++;
	call->c = c;
	call->proc = proc;
	call->auth_gen = c->auth_gen;
	call->xid = m.xid;
	call->res_codec = res_codec;
	call->res = res;
	call->arena = arena;
	call->done = done;
	call->ud = ud;
	if (timeout_ms == 0)
		timeout_ms = c->cfg.timeout_ms;
	call->deadline = tether_loop_update_time(c->loop) + timeout_ms;
	call->backoff = c->cfg.retrans_ms;
	call->hnext = c->buckets[call->xid % CLNT_BUCKETS];
	c->buckets[call->xid % CLNT_BUCKETS] = call;
	call->hashed = 1;
	call->next = c->calls;
	if (c->calls != NULL)
		c->calls->prev = call;
	c->calls = call;
	c->ncalls++;
	if (c->socktype == SOCK_STREAM) {
		tether_xdr_store32(p - 4,
				   TETHER_RPC_RM_LAST_FRAG | (uint32_t)size);
		c->out.len += 4 + size;
		c->out_total += 4 + size;
		call->end_off = c->out_total;
	}
	tether_loop_timer_arm(call->timer,
			      c->socktype == SOCK_DGRAM &&
					      call->backoff < timeout_ms
				      ? call->backoff
				      : timeout_ms,
			      0);
	if (c->state == CLNT_DOWN && tether_loop_now(c->loop) < c->retry_at) {
		/* Backing off after failed connects: the call waits for
		 * the reconnect timer (or its own timeout). */
		if (!tether_loop_timer_armed(c->reconnect))
			tether_loop_timer_arm(
				c->reconnect,
				c->retry_at - tether_loop_now(c->loop), 0);
		return 0;
	}
	rc = conn_up(c);
	if (rc < 0) {
		/* Nothing was sent on any connection. */
		connect_failed(c, rc);
		return 0;
	}
	if (c->socktype == SOCK_STREAM) {
		if (!c->in_io)
			flush_out(c);
	} else if (c->state == CLNT_UP &&
		   send(c->fd, call->dgram, call->dlen,
			MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
		   errno != EAGAIN && errno != EWOULDBLOCK &&
		   errno != ENOBUFS) {
		call_fail_later(call,
				errno == ECONNREFUSED
					? TETHER_RPC_ST_CANTCONNECT
					: TETHER_RPC_ST_CANTSEND,
				tether_err_from_errno(errno));
	}
	update_events(c);
	return 0;
fail:
	call_put(c, call);
	return rc;
}

struct sync_wait {
	int done;
	struct tether_rpc_result r;
};

static void
sync_done(struct tether_rpc_client *c, const struct tether_rpc_result *r,
	  void *ud)
{
	struct sync_wait *w = ud;

	(void)c;
	w->done = 1;
	w->r = *r;
}

enum tether_rpc_status
tether_rpc_client_call(struct tether_rpc_client *c, uint32_t proc,
		       tether_xdr_fn *args_codec, const void *args,
		       tether_xdr_fn *res_codec, void *res,
		       struct tether_arena *arena, unsigned timeout_ms,
		       struct tether_rpc_result *r /* OUT */)
{
	struct sync_wait w;
	int rc;

	memset(&w, 0, sizeof(w));
	rc = tether_rpc_client_call_async(c, proc, args_codec, args, res_codec,
					  res, arena, timeout_ms, sync_done,
					  &w);
	if (rc < 0) {
		w.r.status = rc == -TETHER_ENOMEM
				     ? TETHER_RPC_ST_NOMEM
				     : TETHER_RPC_ST_CANTENCODE_ARGS;
		w.r.err = rc;
		w.done = 1;
	}
	/* The call's timer bounds the wait: it always completes. On a
	 * blocking socket (a private loop) wait in recv, a slice at a
	 * time, and let the loop run its timers between slices. */
	while (!w.done) {
		int wait = -1;

		if (c->blocking && c->state == CLNT_UP &&
		    tether__rpc_obuf_pending(&c->out) == 0) {
			c->in_io = 1;
			rc = c->socktype == SOCK_STREAM
				     ? read_stream(c, 0)
				     : read_dgram(c, 0, 1);
			c->in_io = 0;
			if (c->fd >= 0 && c->socktype == SOCK_STREAM)
				flush_out(c);
			if (w.done || rc > 0)
				continue;
			wait = 0;
		}
		rc = tether_loop_run_once(c->loop, wait);
		if (rc < 0 && rc != -TETHER_EAGAIN) {
			struct tether_rpc_result fail;
			struct clnt_call *call;

			/* The loop cannot wait: finish the call here, since
			 * its callback points at this stack frame. */
			memset(&fail, 0, sizeof(fail));
			fail.status = TETHER_RPC_ST_CANTRECV;
			fail.err = rc;
			for (call = c->calls; call != NULL; call = call->next)
				if (call->ud == &w)
					break;
			if (call != NULL)
				call_complete(call, &fail);
			break;
		}
	}
	if (r != NULL)
		*r = w.r;
	return w.r.status;
}

void
tether_rpc_client_free(struct tether_rpc_client *c)
{
	struct tether_rpc_result r;

	if (c == NULL)
		return;
	memset(&r, 0, sizeof(r));
	r.status = TETHER_RPC_ST_CANCELED;
	while (c->calls != NULL)
		call_complete(c->calls, &r);
	if (c->fd >= 0) {
		tether_loop_fd_del(c->loop, c->fd);
		close(c->fd);
	}
	while (c->free != NULL) {
		struct clnt_call *call = c->free;

		c->free = call->next;
		tether_loop_timer_free(call->timer);
		tether_free(call->dgram);
		tether_free(call);
	}
	tether_loop_timer_free(c->reconnect);
	tether_rpc_rm_free(&c->rm);
	tether__rpc_obuf_free(&c->out);
	tether_free(c->rbuf);
	if (c->own_loop)
		tether_loop_free(c->loop);
	tether_free(c);
}

int
tether_rpc_client_new_lookup(struct tether_rpc_client **out /* OUT */,
			     struct tether_loop *loop,
			     const struct tether_addr *host, uint32_t prog,
			     uint32_t vers, enum tether_netid netid,
			     const struct tether_rpc_client_config *cfg)
{
	struct tether_rpcb_config rc_cfg;
	struct tether_addr pm, a;
	int rc, type;

	*out = NULL;
	if ((unsigned)netid >= TETHER_NETID_MAX)
		return -TETHER_EINVAL;
	type = netid == TETHER_NETID_UDP || netid == TETHER_NETID_UDP6
		       ? SOCK_DGRAM
		       : SOCK_STREAM;
	memset(&rc_cfg, 0, sizeof(rc_cfg));
	if (host != NULL) {
		tether_addr_copy(&pm, host);
		if (pm.ss.ss_family != AF_UNIX &&
		    tether_addr_set_port(&pm, TETHER_RPCB_PORT) < 0)
			return -TETHER_EINVAL;
		rc_cfg.remote = &pm;
	}
	if (cfg != NULL && cfg->timeout_ms != 0)
		rc_cfg.timeout_ms = cfg->timeout_ms;
	if (cfg != NULL && cfg->source.len != 0)
		rc_cfg.source = &cfg->source;
	rc = tether_rpcb_getaddr(&rc_cfg, prog, vers, netid, &a);
	if (rc < 0)
		return rc;
	return tether_rpc_client_new(out, loop, &a, type, prog, vers, cfg);
}
