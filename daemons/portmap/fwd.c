/*
 * fwd.c - remote calls through tether-portmap: portmap v2 CALLIT,
 * rpcbind v3 CALLIT, v4 BCAST and INDIRECT. Off unless configured: a
 * forwarder answers small datagrams with the answers of other services,
 * which makes it a reflection amplifier.
 *
 * When on, it follows Debian's rpcbind (-r): datagram transports only
 * (a call over TCP or the local socket gets no reply); the service is
 * the one registered for (prog, vers) on the netid the call came on; a
 * missing program or version, undecodable arguments, a service that
 * answers with an error and any internal failure are answered only for
 * INDIRECT (PROG_UNAVAIL, PROG_MISMATCH, GARBAGE_ARGS, SYSTEM_ERR) and
 * dropped for CALLIT/BCAST, which are broadcast; a call to rpcbind
 * itself or to the procedures rpcbind's check_callit refuses gets
 * AUTH_TOOWEAK. The call goes out with a fresh XID and the caller's
 * AUTH_NONE / AUTH_SYS credential; the answer comes back as the
 * service's address merged for the caller (v3/v4) or its port (v2)
 * with the results. A repeated call (same caller, XID, version and
 * procedure) while the first is outstanding is dropped.
 *
 * Tighter than rpcbind: only callers on this host (loopback, or one of
 * our own addresses - a broadcast sent from this host arrives with one)
 * are served; calls pass a token bucket (rate, burst); at most `max`
 * are outstanding (a full table refuses, it does not evict); each waits
 * at most `timeout` for its answer; the answer must come from the
 * address the call was sent to.
 */
#include "pm.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tether/rpc.h"

#define FWD_BUF		65536u
#define FWD_MAX_IFADDRS 64
#define FWD_IF_REFRESH_MS 1000u

struct fwd_slot {
	int used;
	uint32_t xid;			/* ours, towards the service */
	uint32_t caller_xid;
	uint32_t vers, proc;		/* of the caller's call */
	int reply_fd;			/* our datagram socket it came on */
	int has_local;			/* local is known */
	struct tether_addr caller;
	struct tether_addr local;	/* where the caller sent its call */
	struct tether_addr service;	/* where the call went */
	char uaddr[TETHER_UADDR_STRLEN]; /* what the answer reports */
	uint32_t port;
	uint64_t deadline;
};

struct fwd_if {
	struct tether_addr addr, mask;
};

struct pm_fwd {
	struct pm_ctx *ctx;
	struct tether_loop *loop;
	int fd4, fd6;
	struct fwd_slot *slots;
	unsigned nslots;
	uint32_t next_xid;
	uint64_t tokens_milli;		/* the bucket, in 1/1000 tokens */
	uint64_t bucket_at;
	struct tether_loop_timer *sweep;
	struct fwd_if ifs[FWD_MAX_IFADDRS];
	int nifs;
	uint64_t ifs_at;
	int ifs_valid;
	uint64_t logged_remote;		/* when a refusal was last logged */
	int warned_fd;
	unsigned char buf[FWD_BUF];
	unsigned char out[FWD_BUF];
};

/* ---- who is local ---- */

static void
refresh_ifs(struct pm_fwd *f, uint64_t now)
{
	struct ifaddrs *ifa, *p;

	if (f->ifs_valid && now - f->ifs_at < FWD_IF_REFRESH_MS)
		return;
	f->ifs_at = now;
	f->ifs_valid = 1;
	f->nifs = 0;
	if (getifaddrs(&ifa) < 0)
		return;
	for (p = ifa; p != NULL && f->nifs < FWD_MAX_IFADDRS; p = p->ifa_next) {
		socklen_t len;

		if (p->ifa_addr == NULL || p->ifa_netmask == NULL ||
		    !(p->ifa_flags & IFF_UP))
			continue;
		if (p->ifa_addr->sa_family == AF_INET)
			len = sizeof(struct sockaddr_in);
		else if (p->ifa_addr->sa_family == AF_INET6)
			len = sizeof(struct sockaddr_in6);
		else
			continue;
		if (tether_addr_from_sockaddr(&f->ifs[f->nifs].addr,
					      p->ifa_addr, len) < 0)
			continue;
		memset(&f->ifs[f->nifs].mask, 0, sizeof(f->ifs[0].mask));
		memcpy(&f->ifs[f->nifs].mask.ss, p->ifa_netmask, len);
		/* getifaddrs leaves the netmask's family unset. */
		f->ifs[f->nifs].mask.ss.ss_family = p->ifa_addr->sa_family;
		f->ifs[f->nifs].mask.len = len;
		f->nifs++;
	}
	freeifaddrs(ifa);
}

/* The host bytes of an IP address (4 or 16), or NULL. */
static const unsigned char *
ip_bytes(const struct tether_addr *a, size_t *n)
{
	if (a->ss.ss_family == AF_INET) {
		*n = 4;
		return (const unsigned char *)&((const struct sockaddr_in *)
						&a->ss)->sin_addr;
	}
	if (a->ss.ss_family == AF_INET6) {
		*n = 16;
		return (const unsigned char *)&((const struct sockaddr_in6 *)
						&a->ss)->sin6_addr;
	}
	return NULL;
}

static int
same_host(const struct tether_addr *a, const struct tether_addr *b)
{
	const unsigned char *x, *y;
	size_t n, m;

	x = ip_bytes(a, &n);
	y = ip_bytes(b, &m);
	return x != NULL && y != NULL && n == m && memcmp(x, y, n) == 0;
}

static int
same_net(const struct tether_addr *a, const struct fwd_if *i)
{
	const unsigned char *x, *y, *mk;
	size_t n, m, k, j;

	x = ip_bytes(a, &n);
	y = ip_bytes(&i->addr, &m);
	if (x == NULL || y == NULL || n != m ||
	    i->mask.ss.ss_family != i->addr.ss.ss_family)
		return 0;
	mk = ip_bytes(&i->mask, &k);
	if (mk == NULL || k != n)
		return 0;
	for (j = 0; j < n; j++)
		if ((x[j] & mk[j]) != (y[j] & mk[j]))
			return 0;
	return 1;
}

static int
is_local_caller(struct pm_fwd *f, const struct tether_addr *peer)
{
	int i;

	if (tether_addr_is_loopback(peer))
		return 1;
	refresh_ifs(f, tether_loop_now(f->loop));
	for (i = 0; i < f->nifs; i++)
		if (same_host(peer, &f->ifs[i].addr))
			return 1;
	return 0;
}

/*
 * rpcbind's addrmerge for a caller: the registered address with its
 * host replaced by our address on the caller's network (for a local
 * caller that is the address it called from). Unknown formats are
 * returned as registered.
 */
static void
merge_for_caller(struct pm_fwd *f, const struct tether_addr *caller,
		 enum tether_netid netid, const char *reg, char *out,
		 size_t size)
{
	struct tether_addr a, h;
	int i, port;

	snprintf(out, size, "%s", reg);
	if (tether_addr_from_uaddr_str(&a, netid, reg) < 0)
		return;
	port = tether_addr_port(&a);
	refresh_ifs(f, tether_loop_now(f->loop));
	for (i = 0; i < f->nifs; i++) {
		if (f->ifs[i].addr.ss.ss_family != caller->ss.ss_family ||
		    !same_net(caller, &f->ifs[i]))
			continue;
		tether_addr_copy(&h, &f->ifs[i].addr);
		if (tether_addr_set_port(&h, port) == 0 &&
		    tether_addr_to_uaddr(&h, netid, out, size) >= 0)
			return;
	}
	snprintf(out, size, "%s", reg);
}

/* Where to send the call: a wildcard registration means loopback. */
static int
service_addr(const char *uaddr, enum tether_netid netid,
	     struct tether_addr *out)
{
	const unsigned char *b;
	size_t n, i;
	int port;

	if (tether_addr_from_uaddr_str(out, netid, uaddr) < 0)
		return -TETHER_EINVAL;
	b = ip_bytes(out, &n);
	if (b == NULL)
		return -TETHER_EINVAL;
	for (i = 0; i < n && b[i] == 0; i++)
		;
	if (i < n)
		return 0;
	port = tether_addr_port(out);
	if (tether_addr_parse(out, n == 4 ? "127.0.0.1" : "::1", port) < 0)
		return -TETHER_EINVAL;
	return 0;
}

/* ---- the bucket ---- */

static int
take_token(struct pm_fwd *f)
{
	const struct pm_config *cfg = &f->ctx->cfg;
	uint64_t now = tether_loop_now(f->loop);
	uint64_t cap = (uint64_t)cfg->forward_burst * 1000;

	f->tokens_milli += (now - f->bucket_at) * cfg->forward_rate;
	f->bucket_at = now;
	if (f->tokens_milli > cap)
		f->tokens_milli = cap;
	if (f->tokens_milli < 1000)
		return 0;
	f->tokens_milli -= 1000;
	return 1;
}

/* ---- replies to the caller ---- */

static int
reply_status(const struct tether_rpc_msg *m, enum tether_rpc_accept_stat st,
	     uint32_t low, uint32_t high, struct tether_buf *out)
{
	unsigned char b[64];
	struct tether_rpc_msg r;
	struct tether_xdr y;

	tether_xdr_init_encode(&y, b, sizeof(b));
	tether_rpc_msg_init_reply(&r, m->xid);
	r.u.reply.accept_stat = st;
	r.u.reply.mismatch.low = low;
	r.u.reply.mismatch.high = high;
	if (tether_rpc_msg_encode(&y, &r) < 0)
		return -TETHER_ENOSPC;
	return tether_buf_append(out, b, tether_xdr_getpos(&y)) < 0 ?
		-TETHER_ENOSPC : 1;
}

static int
reply_tooweak(const struct tether_rpc_msg *m, struct tether_buf *out)
{
	unsigned char b[64];
	struct tether_rpc_msg r;
	struct tether_xdr y;

	tether_xdr_init_encode(&y, b, sizeof(b));
	tether_rpc_msg_init_reply(&r, m->xid);
	r.u.reply.stat = TETHER_RPC_MSG_DENIED;
	r.u.reply.reject_stat = TETHER_RPC_AUTH_ERROR;
	r.u.reply.auth_stat = TETHER_RPC_AUTH_TOOWEAK;
	if (tether_rpc_msg_encode(&y, &r) < 0)
		return -TETHER_ENOSPC;
	return tether_buf_append(out, b, tether_xdr_getpos(&y)) < 0 ?
		-TETHER_ENOSPC : 1;
}

static int
is_indirect(uint32_t vers, uint32_t proc)
{
	return vers == TETHER_RPCB_VERS4 && proc == TETHER_RPCB_INDIRECT;
}

/* An error only INDIRECT hears about. */
static int
fail_call(const struct tether_rpc_msg *m, enum tether_rpc_accept_stat st,
	  struct tether_buf *out)
{
	if (!is_indirect(m->u.call.vers, m->u.call.proc))
		return 0;
	return reply_status(m, st, 0, 0, out);
}

/* rpcbind's check_callit: calls it will not forward. */
static int
callit_refused(uint32_t prog, uint32_t proc)
{
	switch (prog) {
	case TETHER_PMAP_PROG:
		return proc != TETHER_RPCB_NULL;
	case 100003: /* nfs */
	case 100009: /* yppasswd */
	case 100011: /* rquota */
		return 1;
	case 100005: /* mountd: MNT, UMNT */
		return proc == 1 || proc == 3;
	case 100007: /* ypbind: SETDOM */
		return proc == 2;
	default:
		return 0;
	}
}

/*
 * Answer the caller from the address its call was sent to, as the
 * daemon's own replies leave (net.c): on a wildcard socket the kernel
 * would otherwise pick a source, and a caller that sent to another of
 * our addresses (or a connected socket) would not take the answer.
 */
static void
send_caller(struct fwd_slot *s, void *buf, size_t len)
{
	union {
		struct cmsghdr h;
		unsigned char b[PM_SRC_CTL_SPACE];
	} ctl;
	struct iovec iov = { buf, len };
	struct msghdr mh;
	const struct tether_addr *local = NULL;
	unsigned ifindex = 0;

	memset(&mh, 0, sizeof(mh));
	mh.msg_name = &s->caller.ss;
	mh.msg_namelen = s->caller.len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (s->has_local && s->local.ss.ss_family == s->caller.ss.ss_family)
		local = &s->local;
	if (local != NULL && local->ss.ss_family == AF_INET6)
		ifindex = ((const struct sockaddr_in6 *)&local->ss)
				  ->sin6_scope_id;
	pm_src_ctl(&mh, ctl.b, local, ifindex);
	(void)sendmsg(s->reply_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void
send_to_caller(struct pm_fwd *f, struct fwd_slot *s, const unsigned char *res,
	       size_t reslen)
{
	struct tether_rpc_msg r;
	struct tether_xdr y;

	tether_xdr_init_encode(&y, f->out, sizeof(f->out));
	tether_rpc_msg_init_reply(&r, s->caller_xid);
	if (tether_rpc_msg_encode(&y, &r) < 0)
		return;
	if (s->vers == TETHER_PMAP_VERS)
		(void)tether_xdr_put_u32(&y, s->port);
	else {
		char *p = s->uaddr;

		(void)tether_rpcb_codec_string(&y, &p);
	}
	/* The results as opaque<>. */
	(void)tether_xdr_put_bytes(&y, res, (uint32_t)reslen, FWD_BUF);
	if (y.err.code != 0)
		return;
	send_caller(s, f->out, tether_xdr_getpos(&y));
}

static void
send_error_to_caller(struct pm_fwd *f, struct fwd_slot *s)
{
	struct tether_rpc_msg r;
	struct tether_xdr y;

	if (!is_indirect(s->vers, s->proc))
		return;
	tether_xdr_init_encode(&y, f->out, sizeof(f->out));
	tether_rpc_msg_init_reply(&r, s->caller_xid);
	r.u.reply.accept_stat = TETHER_RPC_SYSTEM_ERR;
	if (tether_rpc_msg_encode(&y, &r) < 0)
		return;
	send_caller(s, f->out, tether_xdr_getpos(&y));
}

static void
slot_free(struct pm_fwd *f, struct fwd_slot *s)
{
	s->used = 0;
	f->ctx->fwd.outstanding--;
}

/* ---- answers from services ---- */

static void
answer_event(struct tether_loop *loop, int fd, unsigned events, void *ud)
{
	struct pm_fwd *f = ud;
	int i;

	(void)loop;
	(void)events;
	for (i = 0; i < 64; i++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		struct tether_addr src;
		struct tether_rpc_msg m;
		struct tether_xdr x;
		struct fwd_slot *s;
		ssize_t n;

		n = recvfrom(fd, f->buf, sizeof(f->buf), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		if (tether_addr_from_sockaddr(&src, (struct sockaddr *)&from,
					      fl) < 0)
			continue;
		tether_xdr_init_decode(&x, f->buf, (size_t)n,
				       TETHER_XDR_LENIENT_PAD, NULL);
		if (tether_rpc_msg_decode(&x, &m) < 0 ||
		    m.type != TETHER_RPC_REPLY)
			continue;
		s = &f->slots[m.xid % f->nslots];
		if (!s->used || s->xid != m.xid ||
		    tether_addr_compare(&src, &s->service) != 0)
			continue;
		if (m.u.reply.stat == TETHER_RPC_MSG_ACCEPTED &&
		    m.u.reply.accept_stat == TETHER_RPC_SUCCESS) {
			f->ctx->fwd.replied++;
			send_to_caller(f, s, f->buf + m.body_pos,
				       (size_t)n - m.body_pos);
		} else {
			send_error_to_caller(f, s);
		}
		slot_free(f, s);
	}
}

/*
 * The table to forward-max slots, after a reload changed it. A call
 * outstanding keeps its XID, which names its slot (xid % nslots): the
 * new table is taken only when every such call finds its own slot in
 * it, otherwise the next sweep tries again (forward-max is enforced
 * meanwhile by counting). Returns 1 when the table has the new size.
 */
static int
slots_resize(struct pm_fwd *f)
{
	unsigned want = f->ctx->cfg.forward_max, i;
	struct fwd_slot *v;

	if (want == 0 || want == f->nslots)
		return 1;
	v = tether_calloc(want, sizeof(*v));
	if (v == NULL)
		return 0;
	for (i = 0; i < f->nslots; i++) {
		const struct fwd_slot *s = &f->slots[i];

		if (!s->used)
			continue;
		if (v[s->xid % want].used) {
			tether_free(v);
			return 0;
		}
		v[s->xid % want] = *s;
	}
	tether_free(f->slots);
	f->slots = v;
	f->nslots = want;
	return 1;
}

static void
sweep_event(struct tether_loop *loop, struct tether_loop_timer *t, void *ud)
{
	struct pm_fwd *f = ud;
	uint64_t now = tether_loop_now(loop);
	unsigned i;

	(void)t;
	for (i = 0; i < f->nslots; i++)
		if (f->slots[i].used && f->slots[i].deadline <= now) {
			f->ctx->fwd.timeouts++;
			slot_free(f, &f->slots[i]);
		}
	(void)slots_resize(f);
}

/* ---- calls ---- */

int
pm_fwd_dispatch(struct pm_ctx *ctx, const struct pm_req *req,
		const struct tether_rpc_msg *m, struct tether_xdr *x,
		struct tether_buf *out)
{
	struct pm_fwd *f = ctx->fwd_state;
	struct tether_rpcb_rmtcallargs a;
	const struct reg_entry *e;
	const char *netid = tether_netid_name(req->netid);
	struct fwd_slot *s = NULL;
	struct tether_rpc_msg call;
	struct tether_xdr y;
	tether_xdr_fn *argfn;
	unsigned i, k;
	int fd;

	if (req->netid != TETHER_NETID_UDP && req->netid != TETHER_NETID_UDP6)
		return 0;	/* rpcbind: datagrams only, never a reply */
	if (req->fd <= 0) {
		/* The transport did not say which socket the call came on
		 * (net.c sets pm_req.fd): no way to answer later. */
		if (!f->warned_fd)
			tether_log_warnx("forwarding: the transport gives no "
					 "socket to answer on; not forwarding");
		f->warned_fd = 1;
		return fail_call(m, TETHER_RPC_SYSTEM_ERR, out);
	}
	if (!is_local_caller(f, &req->peer)) {
		uint64_t now = tether_loop_now(f->loop);

		ctx->fwd.refused_remote++;
		/* Logged once a minute at most: a flood is counted. */
		if (f->logged_remote == 0 ||
		    now - f->logged_remote >= PM_LOG_INTERVAL * 1000u) {
			char txt[TETHER_ADDR_STRLEN];

			f->logged_remote = now ? now : 1;
			if (tether_addr_format(&req->peer, txt, sizeof(txt),
					       0) < 0)
				snprintf(txt, sizeof(txt), "?");
			tether_log_info("forwarding: refused a remote call "
					"from %s (not a local caller); more "
					"within %ds are only counted", txt,
					PM_LOG_INTERVAL);
		}
		return 0;
	}
	argfn = tether_rpcb_args_codec(m->u.call.vers, m->u.call.proc, NULL);
	memset(&a, 0, sizeof(a));
	if (argfn == NULL || argfn(x, &a) < 0)
		return fail_call(m, TETHER_RPC_GARBAGE_ARGS, out);
	if (callit_refused(a.prog, a.proc))
		return reply_tooweak(m, out);
	if (m->u.call.cred.flavor != TETHER_RPC_AUTH_NONE &&
	    m->u.call.cred.flavor != TETHER_RPC_AUTH_SYS) {
		if (is_indirect(m->u.call.vers, m->u.call.proc))
			return reply_tooweak(m, out);
		return 0;
	}
	e = reg_find(&ctx->reg, a.prog, a.vers, netid);
	if (e == NULL) {
		ctx->fwd.no_service++;
		return fail_call(m, TETHER_RPC_PROG_UNAVAIL, out);
	}
	if (e->vers != a.vers) {
		uint32_t lo = 0, hi = 0;

		ctx->fwd.no_service++;
		if (!is_indirect(m->u.call.vers, m->u.call.proc))
			return 0;
		for (i = 0; i < ctx->reg.n; i++) {
			const struct reg_entry *r = &ctx->reg.v[i];

			if (r->prog != a.prog ||
			    strcasecmp(r->netid, netid) != 0)
				continue;
			if (lo == 0 || r->vers < lo)
				lo = r->vers;
			if (r->vers > hi)
				hi = r->vers;
		}
		return reply_status(m, TETHER_RPC_PROG_MISMATCH, lo, hi, out);
	}
	/* A retransmission of a call still outstanding. */
	for (i = 0; i < f->nslots; i++) {
		const struct fwd_slot *o = &f->slots[i];

		if (o->used && o->caller_xid == m->xid &&
		    o->vers == m->u.call.vers && o->proc == m->u.call.proc &&
		    tether_addr_compare(&o->caller, &req->peer) == 0)
			return 0;
	}
	if (ctx->fwd.outstanding >= f->nslots ||
	    ctx->fwd.outstanding >= ctx->cfg.forward_max) {
		ctx->fwd.refused_full++;
		return fail_call(m, TETHER_RPC_SYSTEM_ERR, out);
	}
	if (!take_token(f)) {
		ctx->fwd.refused_rate++;
		return fail_call(m, TETHER_RPC_SYSTEM_ERR, out);
	}
	/* A free slot: the XID names it (xid % nslots). */
	for (k = 0; k < f->nslots; k++) {
		f->next_xid++;
		if (!f->slots[f->next_xid % f->nslots].used) {
			s = &f->slots[f->next_xid % f->nslots];
			break;
		}
	}
	if (s == NULL)
		return fail_call(m, TETHER_RPC_SYSTEM_ERR, out);
	memset(s, 0, sizeof(*s));
	if (service_addr(e->uaddr, req->netid, &s->service) < 0)
		return fail_call(m, TETHER_RPC_SYSTEM_ERR, out);
	fd = s->service.ss.ss_family == AF_INET ? f->fd4 : f->fd6;
	if (fd < 0)
		return fail_call(m, TETHER_RPC_SYSTEM_ERR, out);
	s->port = (uint32_t)tether_addr_port(&s->service);
	merge_for_caller(f, &req->peer, req->netid, e->uaddr, s->uaddr,
			 sizeof(s->uaddr));

	tether_rpc_msg_init_call(&call, f->next_xid, a.prog, a.vers, a.proc);
	call.u.call.cred = m->u.call.cred;
	tether_xdr_init_encode(&y, f->out, sizeof(f->out));
	if (tether_rpc_msg_encode(&y, &call) < 0 ||
	    tether_xdr_put_opaque(&y, a.args, a.args_len) < 0)
		return fail_call(m, TETHER_RPC_SYSTEM_ERR, out);
	if (sendto(fd, f->out, tether_xdr_getpos(&y), MSG_DONTWAIT |
		   MSG_NOSIGNAL, (const struct sockaddr *)&s->service.ss,
		   s->service.len) < 0)
		return fail_call(m, TETHER_RPC_SYSTEM_ERR, out);
	s->used = 1;
	s->xid = f->next_xid;
	s->caller_xid = m->xid;
	s->vers = m->u.call.vers;
	s->proc = m->u.call.proc;
	s->reply_fd = req->fd;
	tether_addr_copy(&s->caller, &req->peer);
	s->has_local = req->has_local;
	if (req->has_local)
		tether_addr_copy(&s->local, &req->local);
	s->deadline = tether_loop_now(f->loop) + ctx->cfg.forward_timeout_ms;
	ctx->fwd.forwarded++;
	ctx->fwd.outstanding++;
	return 0;
}

static int
open_sock(struct pm_fwd *f, int fam)
{
	int fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (tether_loop_fd_add(f->loop, fd, TETHER_LOOP_READ, answer_event,
			       f) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
pm_fwd_open(struct pm_ctx *ctx, struct tether_loop *loop, char *errbuf,
	    size_t errlen)
{
	struct pm_fwd *f;
	unsigned char seed[4];
	uint64_t iv;
	int rc;

	if (!ctx->cfg.forward)
		return 0;
	f = tether_calloc(1, sizeof(*f));
	if (f == NULL)
		return -TETHER_ENOMEM;
	f->ctx = ctx;
	f->loop = loop;
	f->nslots = ctx->cfg.forward_max ? ctx->cfg.forward_max :
		PM_FWD_DEFAULT_MAX;
	f->slots = tether_calloc(f->nslots, sizeof(*f->slots));
	f->fd4 = open_sock(f, AF_INET);
	f->fd6 = open_sock(f, AF_INET6);
	if (f->slots == NULL || (f->fd4 < 0 && f->fd6 < 0)) {
		snprintf(errbuf, errlen, "forwarding: %s",
			 f->slots == NULL ? "out of memory" :
			 "no datagram socket");
		rc = f->slots == NULL ? -TETHER_ENOMEM : -TETHER_ESYS;
		goto fail;
	}
	rc = tether_loop_timer_new(loop, sweep_event, f, &f->sweep);
	if (rc < 0 || (rc = tether_loop_timer_arm(f->sweep, 50, 50)) < 0) {
		snprintf(errbuf, errlen, "forwarding: %s",
			 tether_strerror(rc));
		goto fail;
	}
	/* XIDs that do not repeat across restarts. */
	iv = tether_loop_now(loop) ^ ((uint64_t)getpid() << 20);
	memcpy(seed, &iv, sizeof(seed));
	f->next_xid = (uint32_t)seed[0] << 24 | (uint32_t)seed[1] << 16 |
		      (uint32_t)seed[2] << 8 | seed[3];
	f->tokens_milli = (uint64_t)ctx->cfg.forward_burst * 1000;
	f->bucket_at = tether_loop_now(loop);
	ctx->fwd_state = f;
	return 0;
fail:
	ctx->fwd_state = f;
	pm_fwd_close(ctx);
	return rc;
}

void
pm_fwd_close(struct pm_ctx *ctx)
{
	struct pm_fwd *f = ctx->fwd_state;

	if (f == NULL)
		return;
	if (f->fd4 >= 0) {
		(void)tether_loop_fd_del(f->loop, f->fd4);
		close(f->fd4);
	}
	if (f->fd6 >= 0) {
		(void)tether_loop_fd_del(f->loop, f->fd6);
		close(f->fd6);
	}
	tether_loop_timer_free(f->sweep);
	tether_free(f->slots);
	tether_free(f);
	ctx->fwd_state = NULL;
	ctx->fwd.outstanding = 0;
}

int
pm_fwd_apply(struct pm_ctx *ctx, struct tether_loop *loop, char *errbuf,
	     size_t errlen)
{
	struct pm_fwd *f = ctx->fwd_state;

	if (f == NULL)
		return pm_fwd_open(ctx, loop, errbuf, errlen);
	(void)slots_resize(f);
	/* A smaller burst caps the bucket at once. */
	if (f->tokens_milli > (uint64_t)ctx->cfg.forward_burst * 1000)
		f->tokens_milli = (uint64_t)ctx->cfg.forward_burst * 1000;
	return 0;
}
