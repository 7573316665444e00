/*
 * fuzz_dispatch.c - tether-portmap's whole dispatcher on arbitrary
 * calls: the first byte picks the transport and the caller (local
 * socket as root or a user, loopback privileged or not, a remote host),
 * the rest is one RPC message. Successive inputs share one daemon state,
 * so SETs and UNSETs build up a table. Invariants: a reply, when there
 * is one, is a well-formed accepted or denied reply to the same XID;
 * the arena and the table stay within their bounds; the state file is
 * not used (no I/O).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pm.h"
#include "tether/rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pm_ctx ctx;
static int ready;
static struct tether_buf out;

static void
setup(void)
{
	struct pm_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.state_path = "";
	cfg.max_total = 64;
	cfg.max_per_owner = 16;
	if (pm_ctx_init(&ctx, &cfg) < 0 ||
	    pm_register_self(&ctx, TETHER_NETID_TCP, "0.0.0.0.0.111") < 0 ||
	    pm_register_self(&ctx, TETHER_NETID_UDP6, "::.0.111") < 0 ||
	    pm_register_self(&ctx, TETHER_NETID_LOCAL, "/run/rpcbind.sock") < 0)
		abort();
	tether_buf_init(&out, PM_MAX_REPLY);
	/* Quiet: the dispatcher logs rejections. */
	tether_log_init("fuzz", 1, TETHER_LOG_FATAL);
	ready = 1;
}

static void
make_req(struct pm_req *r, uint8_t sel)
{
	static const char *const peers[] = {
		"127.0.0.1:800", "127.0.0.1:40000",    "192.0.2.1:700",
		"[::1]:900",	 "[2001:db8::1]:5000", "[::ffff:127.0.0.1]:600",
	};
	static const enum tether_netid ids[] = {
		TETHER_NETID_UDP,  TETHER_NETID_TCP,  TETHER_NETID_UDP,
		TETHER_NETID_TCP6, TETHER_NETID_UDP6, TETHER_NETID_TCP6,
	};
	unsigned k = sel % 8;

	memset(r, 0, sizeof(*r));
	if (k >= 6) {
		r->netid = TETHER_NETID_LOCAL;
		tether_addr_parse(&r->peer, "/run/rpcbind.sock", -1);
		r->has_uid = 1;
		r->uid = k == 6 ? 0 : 1000u + (sel >> 3);
		return;
	}
	r->netid = ids[k];
	if (tether_addr_parse(&r->peer, peers[k], -1) < 0)
		abort();
	tether_addr_parse(&r->local,
			  r->peer.ss.ss_family == AF_INET6 ? "[::1]:111"
							   : "127.0.0.1:111",
			  -1);
	r->has_local = (sel & 0x80) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tether_rpc_msg m, r;
	struct tether_xdr x;
	struct pm_req req;
	int rc;

	if (!ready)
		setup();
	if (size < 1 || size > PM_MAX_CALL + 1)
		return 0;
	make_req(&req, data[0]);
	tether_buf_reset(&out);
	rc = pm_dispatch(&ctx, &req, data + 1, size - 1, &out);
	if (rc < 0 || rc > 1)
		abort();
	if (tether_arena_held(ctx.arena) > PM_ARENA_MAX)
		abort();
	if (ctx.reg.n > 64 + 3 * 3 + 2) /* limit plus builtins */
		abort();
	if (rc == 0)
		return 0;
	/* The reply answers the call it came from. */
	tether_xdr_init_decode(&x, data + 1, size - 1, TETHER_XDR_LENIENT_PAD,
			       NULL);
	if (tether_rpc_msg_decode(&x, &m) < 0 || m.type != TETHER_RPC_CALL)
		abort();
	tether_xdr_init_decode(&x, out.data, out.len, 0, NULL);
	if (tether_rpc_msg_decode(&x, &r) < 0 || r.type != TETHER_RPC_REPLY ||
	    r.xid != m.xid)
		abort();
	if (r.u.reply.stat == TETHER_RPC_MSG_ACCEPTED &&
	    r.u.reply.accept_stat != TETHER_RPC_SUCCESS &&
	    tether_xdr_remaining(&x) != 0 &&
	    r.u.reply.accept_stat != TETHER_RPC_PROG_MISMATCH)
		abort();
	/* Results are decodable with the procedure's result codec. */
	if (r.u.reply.stat == TETHER_RPC_MSG_ACCEPTED &&
	    r.u.reply.accept_stat == TETHER_RPC_SUCCESS) {
		size_t osz = 0;
		tether_xdr_fn *fn = tether_rpcb_res_codec(m.u.call.vers,
							  m.u.call.proc, &osz);
		unsigned char obj[512];

		if (fn == NULL || osz > sizeof(obj))
			abort();
		memset(obj, 0, sizeof(obj));
		tether_arena_reset(ctx.arena);
		x.arena = ctx.arena;
		if (fn(&x, obj) < 0 || tether_xdr_remaining(&x) != 0)
			abort();
	}
	return 0;
}
