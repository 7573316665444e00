/*
 * proc.c - tether-portmap's dispatcher: one RPC call in, one reply out,
 * for portmap v2 and rpcbind v3/v4. It answers the way Debian's rpcbind
 * 1.2.6 answers (checked against it by the interop test): GETADDR uses
 * the netid of the transport the call came on and takes any version of
 * the program (GETVERSADDR only the one asked), IP addresses are
 * merged with the address the caller used, and with forwarding off
 * CALLIT/BCAST get no reply and INDIRECT gets SYSTEM_ERR over UDP.
 * Stricter than rpcbind: SET/UNSET come only from the local socket or
 * a privileged port on loopback, malformed arguments are GARBAGE_ARGS
 * on every transport, a call of RPC version other than 2 gets the
 * RPC_MISMATCH reply RFC 5531 asks for (libtirpc drops it, and closes
 * a stream), and nothing a call announces can make it allocate more
 * than the arena's bound.
 */
#include "pm.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tether/rpc.h"

static const char *const reject_names[PM_REJ_MAX] = {
	"not-a-call", "rpc-version",  "program",     "version",
	"procedure",  "garbage-args", "not-allowed", "forwarding-off",
};

const char *
pm_reject_name(int r)
{
	if (r < 0 || r >= PM_REJ_MAX)
		return "unknown";
	return reject_names[r];
}

static unsigned char reply_scratch[PM_MAX_REPLY];

int
pm_ctx_init(struct pm_ctx *ctx, const struct pm_config *cfg)
{
	unsigned char key[16];
	struct timespec ts;

	memset(ctx, 0, sizeof(*ctx));
	ctx->cfg = *cfg;
	/* Not secret-grade, only so sources cannot aim at one slot. */
	clock_gettime(CLOCK_REALTIME, &ts);
	memcpy(key, &ts, sizeof(key) < sizeof(ts) ? sizeof(key) : sizeof(ts));
	key[0] ^= (unsigned char)getpid();
	tether_hash_key_set(&ctx->log_key, key);
	reg_init(&ctx->reg, cfg->max_total, cfg->max_per_owner);
	ctx->arena = tether_arena_new(16u << 10, PM_ARENA_MAX);
	return ctx->arena == NULL ? -TETHER_ENOMEM : 0;
}

void
pm_ctx_free(struct pm_ctx *ctx)
{
	reg_free(&ctx->reg);
	tether_arena_free(ctx->arena);
	ctx->arena = NULL;
}

int
pm_register_self(struct pm_ctx *ctx, enum tether_netid netid, const char *uaddr)
{
	const char *name = tether_netid_name(netid);
	uint32_t v;
	int rc;

	for (v = TETHER_RPCB_VERS4; v >= TETHER_PMAP_VERS; v--) {
		if (v == TETHER_PMAP_VERS && netid != TETHER_NETID_TCP &&
		    netid != TETHER_NETID_UDP)
			break;
		rc = reg_set(&ctx->reg, TETHER_PMAP_PROG, v, name, uaddr,
			     REG_OWNER_SUPERUSER, 1);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int
pm_save_if_changed(struct pm_ctx *ctx, char *errbuf, size_t errlen)
{
	int rc;

	if (ctx->reg.changes == ctx->saved_changes ||
	    ctx->cfg.state_path == NULL || ctx->cfg.state_path[0] == '\0')
		return 0;
	rc = reg_save(&ctx->reg, ctx->cfg.state_path, errbuf, errlen);
	if (rc == 0)
		ctx->saved_changes = ctx->reg.changes;
	return rc;
}

/* ---- netconfig facts (Debian's /etc/netconfig) ---- */

struct nc {
	const char *netid;
	const char *protofmly;
	const char *proto;
	uint32_t semantics;
};

static const struct nc netconfig[] = {
	{ "udp", "inet", "udp", TETHER_RPCB_NC_TPI_CLTS },
	{ "tcp", "inet", "tcp", TETHER_RPCB_NC_TPI_COTS_ORD },
	{ "udp6", "inet6", "udp", TETHER_RPCB_NC_TPI_CLTS },
	{ "tcp6", "inet6", "tcp", TETHER_RPCB_NC_TPI_COTS_ORD },
	{ "rawip", "inet", "-", TETHER_RPCB_NC_TPI_RAW },
	{ "local", "loopback", "-", TETHER_RPCB_NC_TPI_COTS_ORD },
	{ "unix", "loopback", "-", TETHER_RPCB_NC_TPI_COTS_ORD },
};

static const struct nc *
nc_find(const char *netid)
{
	size_t i;

	for (i = 0; i < TETHER_ARRAY_SIZE(netconfig); i++)
		if (strcmp(netconfig[i].netid, netid) == 0)
			return &netconfig[i];
	return NULL;
}

/*
 * rpcbind's mergeaddr/addrmerge: an IP address is reported with its
 * host replaced by our address on the caller's network - for us, the
 * address the call was sent to - and the registered port; whether the
 * service registered the wildcard or a specific address does not
 * matter (rpcbind answers 127.0.0.1.p1.p2 to a loopback caller for a
 * service registered at 192.0.2.7.p1.p2). Local paths, netids we do
 * not know and addresses of the other family are returned as
 * registered. out has TETHER_UADDR_STRLEN bytes.
 */
static void
merge_addr(const struct pm_req *req, const char *netid, const char *uaddr,
	   char *out, size_t size)
{
	struct tether_addr a, l;
	int id = tether_netid_from_name(netid);
	size_t n = strnlen(uaddr, size - 1);
	int port;

	memcpy(out, uaddr, n); /* (no snprintf: once per GETADDR) */
	out[n] = '\0';
	if (id < 0 || id == TETHER_NETID_LOCAL || !req->has_local)
		return;
	if (tether_addr_from_uaddr_str(&a, (enum tether_netid)id, uaddr) < 0)
		return;
	if (a.ss.ss_family != req->local.ss.ss_family)
		return;
	port = tether_addr_port(&a);
	tether_addr_copy(&l, &req->local);
	if (port < 0 || tether_addr_set_port(&l, port) < 0 ||
	    tether_addr_to_uaddr(&l, (enum tether_netid)id, out, size) < 0)
		snprintf(out, size, "%s", uaddr);
}

/* ---- rejections: counted always, logged once per source a minute ---- */

static void
reject(struct pm_ctx *ctx, const struct pm_req *req, enum pm_reject why,
       const struct tether_rpc_msg *m)
{
	struct tether_addr host;
	struct pm_log_slot *slot;
	struct timespec ts;
	char txt[TETHER_ADDR_STRLEN];
	uint64_t key;

	ctx->rejected[why]++;
	tether_addr_copy(&host, &req->peer);
	if (host.ss.ss_family != AF_UNIX)
		tether_addr_set_port(&host, 0);
	if (tether_addr_format(&host, txt, sizeof(txt),
			       TETHER_ADDR_FMT_NOPORT) < 0)
		snprintf(txt, sizeof(txt), "?");
	key = tether_hash_siphash(&ctx->log_key, txt, strlen(txt));
	slot = &ctx->logged[key % PM_LOG_SLOTS];
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (slot->key == key && slot->at != 0 &&
	    ts.tv_sec - slot->at < PM_LOG_INTERVAL)
		return;
	slot->key = key;
	slot->at = ts.tv_sec ? ts.tv_sec : 1;
	if (m != NULL)
		tether_log_info("rejected call from %s over %s: %s "
				"(prog %u vers %u proc %u); more from it "
				"within %ds are not logged",
				txt, tether_netid_name(req->netid),
				pm_reject_name(why), m->u.call.prog,
				m->u.call.vers, m->u.call.proc,
				PM_LOG_INTERVAL);
	else
		tether_log_info("rejected message from %s over %s: %s; more "
				"from it within %ds are not logged",
				txt, tether_netid_name(req->netid),
				pm_reject_name(why), PM_LOG_INTERVAL);
}

/* ---- statistics ---- */

static void
stat_addr(struct pm_ctx *ctx, unsigned vi, uint32_t prog, uint32_t vers,
	  const char *netid, int ok)
{
	struct pm_stat *s = &ctx->stat[vi];
	struct pm_stat_addr *a;
	size_t i;

	for (i = 0; i < s->naddr; i++) {
		a = &s->addr[i];
		if (a->prog == prog && a->vers == vers &&
		    strcmp(a->netid, netid) == 0)
			goto found;
	}
	if (s->naddr == PM_STAT_ADDR_MAX)
		return; /* bounded: later (prog, vers) are not tracked */
	a = &s->addr[s->naddr++];
	memset(a, 0, sizeof(*a));
	a->prog = prog;
	a->vers = vers;
	snprintf(a->netid, sizeof(a->netid), "%s", netid);
found:
	if (ok)
		a->success++;
	else
		a->failure++;
}

/* ---- replies ---- */

static void
reply_init(struct tether_xdr *y, struct tether_rpc_msg *r, uint32_t xid)
{
	tether_xdr_init_encode(y, reply_scratch, sizeof(reply_scratch));
	tether_rpc_msg_init_reply(r, xid);
}

static int
reply_accept(struct tether_xdr *y, struct tether_rpc_msg *r,
	     enum tether_rpc_accept_stat st)
{
	r->u.reply.accept_stat = st;
	if (st == TETHER_RPC_PROG_MISMATCH) {
		r->u.reply.mismatch.low = TETHER_PMAP_VERS;
		r->u.reply.mismatch.high = TETHER_RPCB_VERS4;
	}
	return tether_rpc_msg_encode(y, r);
}

static int
reply_finish(struct tether_xdr *y, struct tether_buf *out)
{
	if (y->err.code != 0)
		return y->err.code;
	return tether_buf_append(out, reply_scratch, tether_xdr_getpos(y));
}

/* ---- procedures ---- */

union pm_args {
	struct tether_pmap_mapping pm;
	struct tether_rpcb rb;
	char *str;
	struct tether_rpcb_netbuf nb;
	struct tether_rpcb_rmtcallargs rmt;
	struct tether_pmap_call_args pcall;
};

/* May this caller change the table? Local socket, or loopback from a
 * privileged port (portmap v2 compatibility). */
static int
may_change(const struct pm_req *req, char *owner, size_t size)
{
	int port;

	if (req->netid == TETHER_NETID_LOCAL) {
		if (req->has_uid)
			reg_owner_from_uid(owner, size, req->uid);
		else
			snprintf(owner, size, "%s", REG_OWNER_UNKNOWN);
		return 1;
	}
	port = tether_addr_port(&req->peer);
	if (!tether_addr_is_loopback(&req->peer) || port < 0 || port >= 1024)
		return 0;
	snprintf(owner, size, "%s", REG_OWNER_UNKNOWN);
	return 1;
}

static int
enc_bool(struct tether_xdr *y, int v)
{
	return tether_xdr_put_bool(y, v != 0);
}

static int
enc_str(struct tether_xdr *y, const char *s)
{
	char *p = (char *)(uintptr_t)s;

	return tether_rpcb_codec_string(y, &p);
}

static int
do_set(struct pm_ctx *ctx, uint32_t vers, const union pm_args *a,
       const char *owner, int32_t pid)
{
	char uaddr[32];
	int rc;

	if (vers == TETHER_PMAP_VERS) {
		const char *netid;

		if (a->pm.prot == TETHER_PMAP_IPPROTO_UDP)
			netid = "udp";
		else if (a->pm.prot == TETHER_PMAP_IPPROTO_TCP)
			netid = "tcp";
		else
			return 0;
		snprintf(uaddr, sizeof(uaddr), "0.0.0.0.%u.%u",
			 (a->pm.port >> 8) & 0xff, a->pm.port & 0xff);
		rc = reg_set(&ctx->reg, a->pm.prog, a->pm.vers, netid, uaddr,
			     owner, 0);
	} else {
		rc = reg_set(&ctx->reg, a->rb.prog, a->rb.vers, a->rb.netid,
			     a->rb.addr, owner, 0);
	}
	if (rc == 1)
		ctx->reg.v[ctx->reg.n - 1].pid = pid;
	return rc >= 0;
}

static int
do_unset(struct pm_ctx *ctx, uint32_t vers, const union pm_args *a,
	 const char *owner)
{
	if (vers == TETHER_PMAP_VERS) {
		int r1 = reg_unset(&ctx->reg, a->pm.prog, a->pm.vers, "tcp",
				   owner);
		int r2 = reg_unset(&ctx->reg, a->pm.prog, a->pm.vers, "udp",
				   owner);

		return r1 > 0 || r2 > 0;
	}
	return reg_unset(&ctx->reg, a->rb.prog, a->rb.vers, a->rb.netid,
			 owner) > 0;
}

static int
enc_getport(struct pm_ctx *ctx, struct tether_xdr *y, const union pm_args *a)
{
	uint32_t port = 0;
	int ok = reg_pmap_find(&ctx->reg, a->pm.prog, a->pm.vers, a->pm.prot,
			       &port);

	stat_addr(ctx, 0, a->pm.prog, a->pm.vers,
		  a->pm.prot == TETHER_PMAP_IPPROTO_UDP ? "udp" : "tcp",
		  ok && port != 0);
	return tether_xdr_put_u32(y, ok ? port : 0);
}

static int
enc_getaddr(struct pm_ctx *ctx, const struct pm_req *req, struct tether_xdr *y,
	    uint32_t vers, const union pm_args *a, int allvers)
{
	const char *netid = tether_netid_name(req->netid);
	const struct reg_entry *e;
	char out[TETHER_UADDR_STRLEN] = "";

	e = reg_find(&ctx->reg, a->rb.prog, a->rb.vers, netid);
	if (e != NULL && (allvers || e->vers == a->rb.vers))
		merge_addr(req, e->netid, e->uaddr, out, sizeof(out));
	stat_addr(ctx, vers - 2, a->rb.prog, a->rb.vers, netid, out[0] != '\0');
	return enc_str(y, out);
}

static int
enc_dump(struct pm_ctx *ctx, struct tether_xdr *y, uint32_t vers)
{
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < ctx->reg.n; i++) {
		struct reg_entry *e = &ctx->reg.v[i];

		if (vers == TETHER_PMAP_VERS) {
			struct tether_pmap_mapping m = { e->prog, e->vers, 0,
							 0 };

			if (!reg_pmap_port(e, &m.prot, &m.port))
				continue;
			if ((rc = enc_bool(y, 1)) == 0)
				rc = tether_pmap_codec_mapping(y, &m);
		} else {
			struct tether_rpcb r = { e->prog, e->vers, e->netid,
						 e->uaddr, e->owner };

			if ((rc = enc_bool(y, 1)) == 0)
				rc = tether_rpcb_codec_rpcb(y, &r);
		}
	}
	return rc ? rc : enc_bool(y, 0);
}

static int
enc_uaddr2taddr(const struct pm_req *req, struct tether_xdr *y,
		const union pm_args *a)
{
	struct tether_rpcb_netbuf nb = { 0, NULL, 0 };
	unsigned char raw[sizeof(struct sockaddr_storage)];
	struct tether_addr t;

	if (tether_addr_from_uaddr_str(&t, req->netid, a->str) == 0) {
		memset(raw, 0, sizeof(raw));
		memcpy(raw, &t.ss, t.len);
		switch (t.ss.ss_family) {
		case AF_INET:
			nb.len = sizeof(struct sockaddr_in);
			break;
		case AF_INET6:
			nb.len = sizeof(struct sockaddr_in6);
			break;
		default:
			nb.len = sizeof(struct sockaddr_un);
			break;
		}
		nb.maxlen = nb.len;
		nb.buf = raw;
	}
	return tether_rpcb_codec_netbuf(y, &nb);
}

static int
enc_taddr2uaddr(const struct pm_req *req, struct tether_xdr *y,
		const union pm_args *a)
{
	struct sockaddr_storage ss;
	struct tether_addr t;
	char out[TETHER_UADDR_STRLEN] = "";
	int fam = tether_netid_family(req->netid);
	size_t need, len = a->nb.len;

	need = fam == AF_INET	 ? sizeof(struct sockaddr_in)
	       : fam == AF_INET6 ? sizeof(struct sockaddr_in6)
				 : offsetof(struct sockaddr_un, sun_path) + 1;
	memset(&ss, 0, sizeof(ss));
	if (len >= need && len <= sizeof(ss)) {
		memcpy(&ss, a->nb.buf, len);
		/* libtirpc reads the bytes as the transport's family,
		 * whatever sa_family says. */
		ss.ss_family = (sa_family_t)fam;
		if (fam == AF_UNIX) {
			struct sockaddr_un *su = (struct sockaddr_un *)&ss;
			size_t plen =
				len - offsetof(struct sockaddr_un, sun_path);

			if (plen > TETHER_ADDR_UNIX_PATH_MAX)
				plen = TETHER_ADDR_UNIX_PATH_MAX;
			su->sun_path[plen] = '\0';
			len = sizeof(*su);
		}
		if (tether_addr_from_sockaddr(&t, (struct sockaddr *)&ss,
					      (socklen_t)len) == 0 &&
		    tether_addr_to_uaddr(&t, req->netid, out, sizeof(out)) < 0)
			out[0] = '\0';
	}
	return enc_str(y, out);
}

static int
enc_getaddrlist(struct pm_ctx *ctx, const struct pm_req *req,
		struct tether_xdr *y, const union pm_args *a)
{
	const struct nc *mine = nc_find(tether_netid_name(req->netid));
	size_t i;
	int rc = 0;

	/* rpcbind gives up on the whole list at an unknown netid. */
	for (i = 0; i < ctx->reg.n; i++) {
		const struct reg_entry *e = &ctx->reg.v[i];

		if (e->prog == a->rb.prog && e->vers == a->rb.vers &&
		    nc_find(e->netid) == NULL)
			return enc_bool(y, 0);
	}
	for (i = 0; rc == 0 && mine != NULL && i < ctx->reg.n; i++) {
		const struct reg_entry *e = &ctx->reg.v[i];
		const struct nc *nc;
		char maddr[TETHER_UADDR_STRLEN];
		struct tether_rpcb_entry en;

		if (e->prog != a->rb.prog || e->vers != a->rb.vers)
			continue;
		nc = nc_find(e->netid);
		if (strcmp(nc->protofmly, mine->protofmly) != 0)
			continue;
		merge_addr(req, e->netid, e->uaddr, maddr, sizeof(maddr));
		if (maddr[0] == '\0')
			continue;
		en.maddr = maddr;
		en.netid = (char *)(uintptr_t)e->netid;
		en.semantics = nc->semantics;
		en.protofmly = (char *)(uintptr_t)nc->protofmly;
		en.proto = (char *)(uintptr_t)nc->proto;
		if ((rc = enc_bool(y, 1)) == 0)
			rc = tether_rpcb_codec_entry(y, &en);
	}
	return rc ? rc : enc_bool(y, 0);
}

static int
enc_getstat(struct pm_ctx *ctx, struct tether_xdr *y)
{
	struct tether_rpcb_stat_byvers s;
	unsigned v;
	size_t i;

	memset(&s, 0, sizeof(s));
	for (v = 0; v < TETHER_RPCB_STAT_VERS; v++) {
		struct pm_stat *p = &ctx->stat[v];

		memcpy(s.vers[v].info, p->info, sizeof(p->info));
		s.vers[v].setinfo = p->setinfo;
		s.vers[v].unsetinfo = p->unsetinfo;
		/* rpcbind prepends: newest first. */
		for (i = 0; i < p->naddr; i++) {
			struct tether_rpcb_stat_addr *n =
				tether_arena_alloc(ctx->arena, sizeof(*n));

			if (n == NULL)
				break;
			n->prog = p->addr[i].prog;
			n->vers = p->addr[i].vers;
			n->success = p->addr[i].success;
			n->failure = p->addr[i].failure;
			n->netid = p->addr[i].netid;
			n->next = s.vers[v].addrinfo;
			s.vers[v].addrinfo = n;
		}
	}
	return tether_rpcb_codec_stat_byvers(y, &s);
}

static void
after_change(struct pm_ctx *ctx)
{
	char err[512];

	if (pm_save_if_changed(ctx, err, sizeof(err)) < 0) {
		if (!ctx->save_failed)
			tether_log_warnx("state file not saved: %s", err);
		ctx->save_failed = 1;
	} else if (ctx->save_failed) {
		tether_log_info("state file saved again");
		ctx->save_failed = 0;
	}
}

int
pm_dispatch(struct pm_ctx *ctx, const struct pm_req *req,
	    const unsigned char *call, size_t len, struct tether_buf *out)
{
	struct tether_rpc_msg m, r;
	struct tether_xdr x, y;
	union pm_args a;
	tether_xdr_fn *argfn;
	uint32_t vers, proc;
	char owner[REG_OWNER_MAX + 1];
	int rc, ok;

	tether_arena_reset(ctx->arena);
	tether_xdr_init_decode(&x, call, len, TETHER_XDR_LENIENT_PAD,
			       ctx->arena);
	if (tether_rpc_msg_decode(&x, &m) < 0 || m.type != TETHER_RPC_CALL) {
		reject(ctx, req, PM_REJ_NOT_CALL, NULL);
		return 0;
	}
	reply_init(&y, &r, m.xid);
	if (m.u.call.rpcvers != TETHER_RPC_VERSION) {
		reject(ctx, req, PM_REJ_RPCVERS, &m);
		r.u.reply.stat = TETHER_RPC_MSG_DENIED;
		r.u.reply.reject_stat = TETHER_RPC_RPC_MISMATCH;
		r.u.reply.mismatch.low = TETHER_RPC_VERSION;
		r.u.reply.mismatch.high = TETHER_RPC_VERSION;
		tether_rpc_msg_encode(&y, &r);
		return reply_finish(&y, out) < 0 ? -TETHER_ENOSPC : 1;
	}
	vers = m.u.call.vers;
	proc = m.u.call.proc;
	if (m.u.call.prog != TETHER_PMAP_PROG) {
		reject(ctx, req, PM_REJ_PROG, &m);
		reply_accept(&y, &r, TETHER_RPC_PROG_UNAVAIL);
		goto done;
	}
	if (vers < TETHER_PMAP_VERS || vers > TETHER_RPCB_VERS4) {
		reject(ctx, req, PM_REJ_VERS, &m);
		reply_accept(&y, &r, TETHER_RPC_PROG_MISMATCH);
		goto done;
	}
	argfn = tether_rpcb_args_codec(vers, proc, NULL);
	if (argfn == NULL) {
		reject(ctx, req, PM_REJ_PROC, &m);
		reply_accept(&y, &r, TETHER_RPC_PROC_UNAVAIL);
		goto done;
	}
	ctx->stat[vers - 2].info[proc]++;
	/* Forwarding is off: rpcbind built without remote calls does not
	 * answer CALLIT/BCAST at all, and INDIRECT only over UDP. */
	if (proc == TETHER_RPCB_CALLIT ||
	    (vers == TETHER_RPCB_VERS4 && proc == TETHER_RPCB_INDIRECT)) {
		/* A reload that turns forwarding off keeps fwd_state for
		 * the answers of calls still outstanding. */
		if (ctx->cfg.forward && ctx->fwd_state != NULL)
			return pm_fwd_dispatch(ctx, req, &m, &x, out);
		ctx->fwd.refused_off++;
		reject(ctx, req, PM_REJ_FORWARD, &m);
		if (proc == TETHER_RPCB_CALLIT ||
		    (req->netid != TETHER_NETID_UDP &&
		     req->netid != TETHER_NETID_UDP6))
			return 0;
		reply_accept(&y, &r, TETHER_RPC_SYSTEM_ERR);
		goto done;
	}
	memset(&a, 0, sizeof(a));
	if (argfn(&x, &a) < 0) {
		reject(ctx, req, PM_REJ_GARBAGE, &m);
		reply_accept(&y, &r, TETHER_RPC_GARBAGE_ARGS);
		goto done;
	}
	if ((proc == TETHER_RPCB_SET || proc == TETHER_RPCB_UNSET) &&
	    !may_change(req, owner, sizeof(owner))) {
		reject(ctx, req, PM_REJ_AUTH, &m);
		r.u.reply.stat = TETHER_RPC_MSG_DENIED;
		r.u.reply.reject_stat = TETHER_RPC_AUTH_ERROR;
		r.u.reply.auth_stat = TETHER_RPC_AUTH_TOOWEAK;
		tether_rpc_msg_encode(&y, &r);
		goto done;
	}
	if ((rc = reply_accept(&y, &r, TETHER_RPC_SUCCESS)) < 0)
		goto done;
	switch (proc) {
	case TETHER_RPCB_NULL:
		break;
	case TETHER_RPCB_SET:
		ok = do_set(ctx, vers, &a, owner, req->pid);
		if (ok)
			ctx->stat[vers - 2].setinfo++;
		enc_bool(&y, ok);
		after_change(ctx);
		break;
	case TETHER_RPCB_UNSET:
		ok = do_unset(ctx, vers, &a, owner);
		if (ok)
			ctx->stat[vers - 2].unsetinfo++;
		enc_bool(&y, ok);
		after_change(ctx);
		break;
	case TETHER_RPCB_GETADDR: /* == TETHER_PMAP_GETPORT */
		if (vers == TETHER_PMAP_VERS)
			enc_getport(ctx, &y, &a);
		else
			enc_getaddr(ctx, req, &y, vers, &a, 1);
		break;
	case TETHER_RPCB_DUMP:
		enc_dump(ctx, &y, vers);
		break;
	case TETHER_RPCB_GETTIME:
		tether_xdr_put_u32(&y, (uint32_t)time(NULL));
		break;
	case TETHER_RPCB_UADDR2TADDR:
		enc_uaddr2taddr(req, &y, &a);
		break;
	case TETHER_RPCB_TADDR2UADDR:
		enc_taddr2uaddr(req, &y, &a);
		break;
	case TETHER_RPCB_GETVERSADDR:
		enc_getaddr(ctx, req, &y, vers, &a, 0);
		break;
	case TETHER_RPCB_GETADDRLIST:
		enc_getaddrlist(ctx, req, &y, &a);
		break;
	case TETHER_RPCB_GETSTAT:
		enc_getstat(ctx, &y);
		break;
	default:
		TETHER_BUG_ON(1); /* the codec table has no other */
	}
done:
	rc = reply_finish(&y, out);
	return rc < 0 ? rc : 1;
}
