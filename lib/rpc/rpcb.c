/*
 * rpcb.c - the portmapper client: rpcbind v4/v3 SET, UNSET and GETADDR
 * over the local socket, portmap v2 SET, UNSET and GETPORT over TCP, and
 * the keeper that registers again after a portmapper restart.
 */
#include "tether/rpc.h"
#include "tether/rpcb.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Where to send                                                       */
/* ------------------------------------------------------------------ */

struct pm_where {
	struct tether_addr local; /* len 0: no local socket */
	struct tether_addr remote;
	struct tether_addr source; /* len 0: none */
	unsigned timeout_ms;
};

static int
where_init(struct pm_where *w, const struct tether_rpcb_config *cfg)
{
	const char *path = TETHER_RPCB_LOCAL_PATH;
	struct stat st;
	int rc;

	memset(w, 0, sizeof(*w));
	w->timeout_ms = TETHER_RPCB_DEFAULT_TIMEOUT_MS;
	if (cfg != NULL && cfg->timeout_ms != 0)
		w->timeout_ms = cfg->timeout_ms;
	if (cfg != NULL && cfg->local_path != NULL)
		path = cfg->local_path;
	if ((cfg == NULL || !cfg->no_local) && stat(path, &st) == 0 &&
	    S_ISSOCK(st.st_mode)) {
		rc = tether_addr_parse(&w->local, path, -1);
		if (rc < 0)
			return rc;
	}
	if (cfg != NULL && cfg->remote != NULL)
		tether_addr_copy(&w->remote, cfg->remote);
	else if ((rc = tether_addr_parse(&w->remote, "127.0.0.1:111", -1)) < 0)
		return rc;
	if (cfg != NULL && cfg->source != NULL)
		tether_addr_copy(&w->source, cfg->source);
	return 0;
}

static int
status_to_err(const struct tether_rpc_result *r)
{
	switch (r->status) {
	case TETHER_RPC_ST_OK:
		return 0;
	case TETHER_RPC_ST_TIMEDOUT:
		return -TETHER_ETIMEDOUT;
	case TETHER_RPC_ST_CANTCONNECT:
		return r->err ? r->err : -TETHER_ECONNREFUSED;
	case TETHER_RPC_ST_NOMEM:
		return -TETHER_ENOMEM;
	case TETHER_RPC_ST_CANTSEND:
	case TETHER_RPC_ST_CONN_LOST:
	case TETHER_RPC_ST_CANTRECV:
		return r->err ? r->err : -TETHER_EIO;
	default:
		return -TETHER_EPROTO;
	}
}

/* One blocking call to the portmapper at a (from w's source unless a
 * is the local socket). *pm (may be NULL) gets a PROG_MISMATCH flag. */
static int
portmapper_call(const struct pm_where *w, const struct tether_addr *a,
		int socktype, uint32_t vers, uint32_t proc,
		tether_xdr_fn *acodec, const void *args, tether_xdr_fn *rcodec,
		void *res, struct tether_arena *arena, int *pm)
{
	struct tether_rpc_client_config ccfg;
	struct tether_rpc_client *c;
	struct tether_rpc_result r;
	int rc;

	memset(&ccfg, 0, sizeof(ccfg));
	if (a->ss.ss_family != AF_UNIX)
		tether_addr_copy(&ccfg.source, &w->source);
	rc = tether_rpc_client_new(&c, NULL, a, socktype, TETHER_RPCB_PROG,
				   vers, &ccfg);
	if (rc < 0)
		return rc;
	tether_rpc_client_call(c, proc, acodec, args, rcodec, res, arena,
			       w->timeout_ms, &r);
	tether_rpc_client_free(c);
	if (pm != NULL)
		*pm = r.status == TETHER_RPC_ST_PROG_MISMATCH;
	return status_to_err(&r);
}

static int
v2_prot(enum tether_netid netid, uint32_t *prot)
{
	switch (netid) {
	case TETHER_NETID_TCP:
		*prot = TETHER_PMAP_IPPROTO_TCP;
		return 0;
	case TETHER_NETID_UDP:
		*prot = TETHER_PMAP_IPPROTO_UDP;
		return 0;
	default:
		return -TETHER_ENOTSUP;
	}
}

/* Our uid as rpcbind writes owners. */
static void
owner_string(char *buf, size_t n)
{
	snprintf(buf, n, "%u", (unsigned)getuid());
}

static int
set_or_unset(const struct tether_rpcb_config *cfg, uint32_t proc, uint32_t prog,
	     uint32_t vers, enum tether_netid netid,
	     const struct tether_addr *addr)
{
	struct pm_where w;
	char uaddr[TETHER_UADDR_STRLEN], owner[16], netbuf[8] = "";
	struct tether_rpcb ra;
	struct tether_pmap_mapping pa;
	bool ok = false;
	int rc, port;

	if ((unsigned)netid > TETHER_NETID_MAX ||
	    (proc == TETHER_RPCB_SET &&
	     (netid == TETHER_NETID_MAX || addr == NULL)))
		return -TETHER_EINVAL;
	rc = where_init(&w, cfg);
	if (rc < 0)
		return rc;
	if (w.local.len > 0) {
		uaddr[0] = 0;
		if (addr != NULL) {
			rc = tether_addr_to_uaddr(addr, netid, uaddr,
						  sizeof(uaddr));
			if (rc < 0)
				return rc;
		}
		owner_string(owner, sizeof(owner));
		ra.prog = prog;
		ra.vers = vers;
		ra.netid =
			netid == TETHER_NETID_MAX
				? netbuf
				: (char *)(uintptr_t)tether_netid_name(netid);
		ra.addr = uaddr;
		ra.owner = owner;
		rc = portmapper_call(&w, &w.local, SOCK_STREAM,
				     TETHER_RPCB_VERS4, proc,
				     tether_rpcb_codec_rpcb, &ra,
				     tether_xdr_codec_bool, &ok, NULL, NULL);
		if (rc == 0)
			return ok ? 0
				  : (proc == TETHER_RPCB_SET ? -TETHER_EEXIST
							     : -TETHER_ENOENT);
		/* The local socket failed: try portmap v2 on loopback. */
	}
	memset(&pa, 0, sizeof(pa));
	pa.prog = prog;
	pa.vers = vers;
	if (proc == TETHER_RPCB_UNSET && netid == TETHER_NETID_MAX) {
		/* v2 UNSET ignores prot and port: every protocol goes. */
	} else if ((rc = v2_prot(netid, &pa.prot)) < 0) {
		return rc;
	}
	if (addr != NULL) {
		port = tether_addr_port(addr);
		if (port < 0)
			return -TETHER_ENOTSUP;
		pa.port = (uint32_t)port;
	}
	rc = portmapper_call(&w, &w.remote, SOCK_STREAM, TETHER_PMAP_VERS, proc,
			     tether_pmap_codec_mapping, &pa,
			     tether_xdr_codec_bool, &ok, NULL, NULL);
	if (rc < 0)
		return rc;
	return ok ? 0
		  : (proc == TETHER_RPCB_SET ? -TETHER_EEXIST : -TETHER_ENOENT);
}

int
tether_rpcb_set(const struct tether_rpcb_config *cfg, uint32_t prog,
		uint32_t vers, enum tether_netid netid,
		const struct tether_addr *addr)
{
	return set_or_unset(cfg, TETHER_RPCB_SET, prog, vers, netid, addr);
}

int
tether_rpcb_unset(const struct tether_rpcb_config *cfg, uint32_t prog,
		  uint32_t vers, enum tether_netid netid)
{
	return set_or_unset(cfg, TETHER_RPCB_UNSET, prog, vers, netid, NULL);
}

int
tether_rpcb_getaddr(const struct tether_rpcb_config *cfg, uint32_t prog,
		    uint32_t vers, enum tether_netid netid,
		    struct tether_addr *out /* OUT */)
{
	struct pm_where w;
	struct tether_arena *arena;
	struct tether_rpcb ra;
	struct tether_pmap_mapping pa;
	const struct tether_addr *to;
	char empty[1] = "";
	char *uaddr = NULL;
	uint32_t v, port = 0;
	int rc, pm = 0, type;

	if ((unsigned)netid >= TETHER_NETID_MAX || out == NULL)
		return -TETHER_EINVAL;
	rc = where_init(&w, cfg);
	if (rc < 0)
		return rc;
	arena = tether_arena_new(0, 64 * 1024);
	if (arena == NULL)
		return -TETHER_ENOMEM;
	/* rpcbind answers GETADDR for the transport the question came on
	 * (r_netid is not looked at): ask udp over UDP, tcp over TCP, local
	 * over the local socket. */
	to = &w.remote;
	type = netid == TETHER_NETID_UDP || netid == TETHER_NETID_UDP6
		       ? SOCK_DGRAM
		       : SOCK_STREAM;
	if (netid == TETHER_NETID_LOCAL) {
		if (w.local.len == 0) {
			rc = -TETHER_ECONNREFUSED;
			goto out;
		}
		to = &w.local;
	}
	ra.prog = prog;
	ra.vers = vers;
	ra.netid = (char *)(uintptr_t)tether_netid_name(netid);
	ra.addr = empty;
	ra.owner = empty;
	for (v = TETHER_RPCB_VERS4; v >= TETHER_RPCB_VERS; v--) {
		rc = portmapper_call(&w, to, type, v, TETHER_RPCB_GETADDR,
				     tether_rpcb_codec_rpcb, &ra,
				     tether_rpcb_codec_string, &uaddr, arena,
				     &pm);
		if (rc == 0) {
			rc = uaddr[0] == 0 ? -TETHER_ENOENT
					   : tether_addr_from_uaddr_str(
						     out, netid, uaddr);
			goto out;
		}
		if (!pm)
			break;
	}
	/* No rpcbind v3/v4 there: portmap v2 on the remote. */
	memset(&pa, 0, sizeof(pa));
	pa.prog = prog;
	pa.vers = vers;
	rc = v2_prot(netid, &pa.prot);
	if (rc < 0)
		goto out;
	rc = portmapper_call(&w, &w.remote, SOCK_STREAM, TETHER_PMAP_VERS,
			     TETHER_PMAP_GETPORT, tether_pmap_codec_mapping,
			     &pa, tether_xdr_codec_u32, &port, NULL, NULL);
	if (rc < 0)
		goto out;
	if (port == 0 || port > 65535) {
		rc = -TETHER_ENOENT;
		goto out;
	}
	tether_addr_copy(out, &w.remote);
	rc = tether_addr_set_port(out, (int)port);
out:
	tether_arena_free(arena);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The keeper                                                          */
/* ------------------------------------------------------------------ */

struct keeper_reg {
	struct tether_rpcb_keeper *k;
	uint32_t prog;
	uint32_t vers;
	enum tether_netid netid;
	struct tether_addr addr;
	char uaddr[TETHER_UADDR_STRLEN];
	int busy;	   /* a call of ours is in flight */
	int local;	   /* SET over the local socket (else v2) */
	int v2check;	   /* checked with v2 GETPORT (else v4) */
	char *got;	   /* GETADDR result */
	uint32_t got_port; /* GETPORT result */
	bool ok;	   /* SET / UNSET result */
	struct tether_arena *arena;
};

struct tether_rpcb_keeper {
	struct tether_loop *loop;
	struct tether_rpcb_config cfg;
	struct tether_addr remote_copy;
	struct tether_addr source_copy;
	struct tether_loop_timer *timer;
	struct tether_rpc_client *c4;  /* local socket, rpcbind v4 */
	struct tether_rpc_client *c2;  /* TCP, portmap v2 */
	struct tether_rpc_client *c4r; /* TCP, rpcbind v4 */
	struct keeper_reg **regs;
	size_t nregs;
	unsigned check_ms;
	unsigned seen; /* in place at this round */
	struct tether_rpcb_keeper_stats st;
};

static void keeper_check(struct keeper_reg *r);

static void
reg_set_done(struct tether_rpc_client *c, const struct tether_rpc_result *res,
	     void *ud)
{
	struct keeper_reg *r = ud;

	(void)c;
	r->busy = 0;
	if (res->status != TETHER_RPC_ST_OK || !r->ok)
		r->k->st.failures++;
	else
		r->k->seen++;
}

static void
reg_set(struct keeper_reg *r)
{
	struct tether_rpcb_keeper *k = r->k;
	struct tether_rpcb ra;
	struct tether_pmap_mapping pa;
	char owner[16];
	int rc;

	k->st.sets++;
	r->ok = false;
	if (r->local) {
		owner_string(owner, sizeof(owner));
		ra.prog = r->prog;
		ra.vers = r->vers;
		ra.netid = (char *)(uintptr_t)tether_netid_name(r->netid);
		ra.addr = r->uaddr;
		ra.owner = owner;
		rc = tether_rpc_client_call_async(
			k->c4, TETHER_RPCB_SET, tether_rpcb_codec_rpcb, &ra,
			tether_xdr_codec_bool, &r->ok, NULL, k->cfg.timeout_ms,
			reg_set_done, r);
	} else {
		memset(&pa, 0, sizeof(pa));
		pa.prog = r->prog;
		pa.vers = r->vers;
		if (v2_prot(r->netid, &pa.prot) < 0) {
			k->st.failures++;
			return;
		}
		pa.port = (uint32_t)tether_addr_port(&r->addr);
		rc = tether_rpc_client_call_async(
			k->c2, TETHER_RPCB_SET, tether_pmap_codec_mapping, &pa,
			tether_xdr_codec_bool, &r->ok, NULL, k->cfg.timeout_ms,
			reg_set_done, r);
	}
	if (rc < 0)
		k->st.failures++;
	else
		r->busy = 1;
}

static void
reg_check_done(struct tether_rpc_client *c, const struct tether_rpc_result *res,
	       void *ud)
{
	struct keeper_reg *r = ud;
	int in_place;

	(void)c;
	r->busy = 0;
	if (res->status != TETHER_RPC_ST_OK) {
		r->k->st.failures++;
		return;
	}
	if (!r->v2check)
		in_place = r->got != NULL && strcmp(r->got, r->uaddr) == 0;
	else
		in_place = r->got_port == (uint32_t)tether_addr_port(&r->addr);
	if (in_place) {
		r->k->seen++;
		return;
	}
	/* Missing (a restarted portmapper) or held by a stale address:
	 * register again. A stale entry makes SET fail; it is counted and
	 * retried each round. */
	reg_set(r);
}

static void
keeper_check(struct keeper_reg *r)
{
	struct tether_rpcb_keeper *k = r->k;
	struct tether_rpcb ra;
	struct tether_pmap_mapping pa;
	char empty[1] = "";
	int rc;

	if (r->busy)
		return;
	k->st.checks++;
	tether_arena_reset(r->arena);
	r->got = NULL;
	r->got_port = 0;
	/* Checks go over TCP: portmap v2 GETPORT where it can say (tcp,
	 * udp: every portmapper has it, and its prot field names the
	 * transport), else v4 GETADDR, which rpcbind answers for the
	 * transport asked over (tcp): other netids are then never seen in
	 * place and SET again each round, harmlessly refused. */
	r->v2check = v2_prot(r->netid, &pa.prot) == 0;
	if (!r->v2check) {
		ra.prog = r->prog;
		ra.vers = r->vers;
		ra.netid = (char *)(uintptr_t)tether_netid_name(r->netid);
		ra.addr = empty;
		ra.owner = empty;
		rc = tether_rpc_client_call_async(
			k->c4r, TETHER_RPCB_GETADDR, tether_rpcb_codec_rpcb,
			&ra, tether_rpcb_codec_string, &r->got, r->arena,
			k->cfg.timeout_ms, reg_check_done, r);
	} else {
		pa.prog = r->prog;
		pa.vers = r->vers;
		pa.port = 0;
		rc = tether_rpc_client_call_async(
			k->c2, TETHER_PMAP_GETPORT, tether_pmap_codec_mapping,
			&pa, tether_xdr_codec_u32, &r->got_port, NULL,
			k->cfg.timeout_ms, reg_check_done, r);
	}
	if (rc < 0)
		k->st.failures++;
	else
		r->busy = 1;
}

/* Which way to talk this round: the local socket if it exists. */
static int
keeper_local(const struct tether_rpcb_keeper *k)
{
	struct stat st;

	if (k->cfg.no_local || k->c4 == NULL)
		return 0;
	return stat(k->cfg.local_path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static void
keeper_tick(struct tether_loop *loop, struct tether_loop_timer *t, void *ud)
{
	struct tether_rpcb_keeper *k = ud;
	int local = keeper_local(k);
	size_t i;

	(void)loop;
	(void)t;
	k->st.registered = k->seen;
	k->seen = 0;
	for (i = 0; i < k->nregs; i++) {
		if (k->regs[i]->busy)
			continue;
		k->regs[i]->local = local;
		keeper_check(k->regs[i]);
	}
}

int
tether_rpcb_keeper_new(struct tether_rpcb_keeper **out /* OUT */,
		       struct tether_loop *loop,
		       const struct tether_rpcb_config *cfg, unsigned check_ms)
{
	struct tether_rpcb_keeper *k;
	struct tether_rpc_client_config ccfg;
	struct pm_where w;
	struct tether_addr local;
	int rc;

	*out = NULL;
	if (loop == NULL)
		return -TETHER_EINVAL;
	k = tether_calloc(1, sizeof(*k));
	if (k == NULL)
		return -TETHER_ENOMEM;
	k->loop = loop;
	if (cfg != NULL)
		k->cfg = *cfg;
	if (k->cfg.local_path == NULL)
		k->cfg.local_path = TETHER_RPCB_LOCAL_PATH;
	if (k->cfg.timeout_ms == 0)
		k->cfg.timeout_ms = TETHER_RPCB_DEFAULT_TIMEOUT_MS;
	k->check_ms = check_ms ? check_ms : TETHER_RPCB_DEFAULT_CHECK_MS;
	/* A portmapper that comes back must be found within a period:
	 * never wait longer than that between connects. */
	memset(&ccfg, 0, sizeof(ccfg));
	ccfg.reconnect_max_ms = k->check_ms;
	/* The path must outlive the caller's string. */
	rc = where_init(&w, &k->cfg);
	if (rc < 0)
		goto fail;
	tether_addr_copy(&k->remote_copy, &w.remote);
	k->cfg.remote = &k->remote_copy;
	/* (the caller's source need not outlive this call either) */
	k->cfg.source = NULL;
	if (w.source.len != 0) {
		tether_addr_copy(&k->source_copy, &w.source);
		k->cfg.source = &k->source_copy;
	}
	if (!k->cfg.no_local) {
		rc = tether_addr_parse(&local, k->cfg.local_path, -1);
		if (rc < 0)
			goto fail;
		k->cfg.local_path = ((struct sockaddr_un *)&local.ss)->sun_path;
		rc = tether_rpc_client_new(&k->c4, loop, &local, SOCK_STREAM,
					   TETHER_RPCB_PROG, TETHER_RPCB_VERS4,
					   &ccfg);
		if (rc < 0)
			goto fail;
		/* Keep our own copy of the path for keeper_local. */
		k->cfg.local_path = tether_strdup(k->cfg.local_path);
		if (k->cfg.local_path == NULL) {
			rc = -TETHER_ENOMEM;
			goto fail;
		}
	}
	/* The clients to the remote speak from the source. */
	tether_addr_copy(&ccfg.source, &w.source);
	rc = tether_rpc_client_new(&k->c2, loop, &k->remote_copy, SOCK_STREAM,
				   TETHER_RPCB_PROG, TETHER_PMAP_VERS, &ccfg);
	if (rc < 0)
		goto fail;
	if (rc == 0)
		rc = tether_rpc_client_new(&k->c4r, loop, &k->remote_copy,
					   SOCK_STREAM, TETHER_RPCB_PROG,
					   TETHER_RPCB_VERS4, &ccfg);
	if (rc < 0)
		goto fail;
	rc = tether_loop_timer_new(loop, keeper_tick, k, &k->timer);
	if (rc < 0)
		goto fail;
	rc = tether_loop_timer_arm(k->timer, k->check_ms, k->check_ms);
	if (rc < 0)
		goto fail;
	*out = k;
	return 0;
fail:
	tether_rpcb_keeper_free(k, 0);
	return rc;
}

int
tether_rpcb_keeper_add(struct tether_rpcb_keeper *k, uint32_t prog,
		       uint32_t vers, enum tether_netid netid,
		       const struct tether_addr *addr)
{
	struct keeper_reg *r, **n;
	int rc;

	if (addr == NULL || (unsigned)netid >= TETHER_NETID_MAX)
		return -TETHER_EINVAL;
	r = tether_calloc(1, sizeof(*r));
	if (r == NULL)
		return -TETHER_ENOMEM;
	r->k = k;
	r->prog = prog;
	r->vers = vers;
	r->netid = netid;
	tether_addr_copy(&r->addr, addr);
	rc = tether_addr_to_uaddr(addr, netid, r->uaddr, sizeof(r->uaddr));
	if (rc < 0)
		goto fail;
	r->arena = tether_arena_new(1024, 64 * 1024);
	n = tether_reallocarray(k->regs, k->nregs + 1, sizeof(*n));
	if (r->arena == NULL || n == NULL) {
		rc = -TETHER_ENOMEM;
		goto fail;
	}
	k->regs = n;
	k->regs[k->nregs++] = r;
	r->local = keeper_local(k);
	keeper_check(r);
	return 0;
fail:
	tether_arena_free(r->arena);
	tether_free(r);
	return rc;
}

void
tether_rpcb_keeper_get_stats(const struct tether_rpcb_keeper *k,
			     struct tether_rpcb_keeper_stats *st /* OUT */)
{
	*st = k->st;
}

void
tether_rpcb_keeper_free(struct tether_rpcb_keeper *k, int unregister)
{
	size_t i;

	if (k == NULL)
		return;
	tether_loop_timer_free(k->timer);
	/* Calls in flight complete (CANCELED) before the registrations
	 * they point at go. */
	tether_rpc_client_free(k->c4);
	tether_rpc_client_free(k->c2);
	tether_rpc_client_free(k->c4r);
	for (i = 0; i < k->nregs; i++) {
		if (unregister)
			tether_rpcb_unset(&k->cfg, k->regs[i]->prog,
					  k->regs[i]->vers, k->regs[i]->netid);
		tether_arena_free(k->regs[i]->arena);
		tether_free(k->regs[i]);
	}
	tether_free(k->regs);
	if (!k->cfg.no_local && k->c4 != NULL)
		tether_free((void *)(uintptr_t)k->cfg.local_path);
	tether_free(k);
}
