/*
 * test_proc.c - tether-portmap's dispatcher without sockets: every reply
 * status, SET/UNSET access by transport, caller address and port, owner
 * from the local socket's credentials, the v2 view of v3 registrations,
 * address merging, UADDR2TADDR/TADDR2UADDR, GETSTAT counts, the
 * rpcbomb (no allocation past the arena bound), and the state file
 * written on every change.
 */
#include "tether_test.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pm.h"
#include "tether/rpc.h"

static struct pm_ctx ctx;
static char state_path[64];

static int
setup(void **state)
{
	struct pm_config cfg;
	char dir[] = "/tmp/test_proc.XXXXXX";

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(state_path, sizeof(state_path), "%s/state", dir);
	memset(&cfg, 0, sizeof(cfg));
	cfg.state_path = state_path;
	cfg.port = 111;
	if (pm_ctx_init(&ctx, &cfg) < 0)
		return -1;
	if (pm_register_self(&ctx, TETHER_NETID_TCP, "0.0.0.0.0.111") < 0 ||
	    pm_register_self(&ctx, TETHER_NETID_UDP, "0.0.0.0.0.111") < 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	pm_ctx_free(&ctx);
	unlink(state_path);
	snprintf(cmd, sizeof(cmd), "rmdir %.*s", (int)(strlen(state_path) - 6),
		 state_path);
	return system(cmd) == 0 ? 0 : -1;
}

/* A caller: netid, "a.b.c.d:port" (NULL for the local socket), uid. */
static struct pm_req
req_from(enum tether_netid netid, const char *peer, int uid)
{
	struct pm_req r;

	memset(&r, 0, sizeof(r));
	r.netid = netid;
	if (peer != NULL) {
		assert_int_equal(tether_addr_parse(&r.peer, peer, -1), 0);
		assert_int_equal(
			tether_addr_parse(
				&r.local,
				netid == TETHER_NETID_TCP6 ||
						netid == TETHER_NETID_UDP6
					? "[::1]:111"
					: "127.0.0.1:111",
				-1),
			0);
		r.has_local = 1;
	} else {
		assert_int_equal(tether_addr_parse(&r.peer, "/run/x.sock", -1),
				 0);
	}
	if (uid >= 0) {
		r.has_uid = 1;
		r.uid = (uint32_t)uid;
	}
	return r;
}

static size_t
mkcall(unsigned char *buf, size_t size, uint32_t prog, uint32_t vers,
       uint32_t proc, tether_xdr_fn *fn, void *args)
{
	struct tether_rpc_msg m;
	struct tether_xdr x;

	tether_rpc_msg_init_call(&m, 0x1234, prog, vers, proc);
	tether_xdr_init_encode(&x, buf, size);
	assert_int_equal(tether_rpc_msg_encode(&x, &m), 0);
	if (fn != NULL)
		assert_int_equal(fn(&x, args), 0);
	return tether_xdr_getpos(&x);
}

/* Dispatch; returns the decoded reply header and leaves the results in
 * *res (pointing into out). */
static int
run(const struct pm_req *req, const unsigned char *call, size_t len,
    struct tether_rpc_msg *reply, struct tether_buf *out,
    struct tether_xdr *res)
{
	int rc;

	tether_buf_reset(out);
	rc = pm_dispatch(&ctx, req, call, len, out);
	if (rc != 1)
		return rc;
	tether_xdr_init_decode(res, out->data, out->len, 0, ctx.arena);
	assert_int_equal(tether_rpc_msg_decode(res, reply), 0);
	assert_int_equal(reply->xid, 0x1234);
	assert_int_equal(reply->type, TETHER_RPC_REPLY);
	return rc;
}

static bool
call_bool(const struct pm_req *req, uint32_t vers, uint32_t proc,
	  tether_xdr_fn *fn, void *args, int *denied)
{
	unsigned char buf[2048];
	struct tether_rpc_msg rep;
	struct tether_buf out;
	struct tether_xdr res;
	bool b = false;
	size_t n = mkcall(buf, sizeof(buf), 100000, vers, proc, fn, args);

	tether_buf_init(&out, PM_MAX_REPLY);
	assert_int_equal(run(req, buf, n, &rep, &out, &res), 1);
	*denied = rep.u.reply.stat == TETHER_RPC_MSG_DENIED;
	if (*denied) {
		assert_int_equal(rep.u.reply.reject_stat,
				 TETHER_RPC_AUTH_ERROR);
		assert_int_equal(rep.u.reply.auth_stat,
				 TETHER_RPC_AUTH_TOOWEAK);
	} else {
		assert_int_equal(rep.u.reply.accept_stat, TETHER_RPC_SUCCESS);
		assert_int_equal(tether_xdr_get_bool(&res, &b), 0);
		assert_int_equal(tether_xdr_remaining(&res), 0);
	}
	tether_buf_free(&out);
	return b;
}

static void
test_statuses(void **state)
{
	struct pm_req req = req_from(TETHER_NETID_UDP, "127.0.0.1:5000", -1);
	unsigned char buf[512];
	struct tether_rpc_msg rep;
	struct tether_buf out;
	struct tether_xdr res;
	size_t n;

	(void)state;
	tether_buf_init(&out, PM_MAX_REPLY);
	n = mkcall(buf, sizeof(buf), 7, 2, 0, NULL, NULL);
	assert_int_equal(run(&req, buf, n, &rep, &out, &res), 1);
	assert_int_equal(rep.u.reply.accept_stat, TETHER_RPC_PROG_UNAVAIL);
	n = mkcall(buf, sizeof(buf), 100000, 5, 0, NULL, NULL);
	assert_int_equal(run(&req, buf, n, &rep, &out, &res), 1);
	assert_int_equal(rep.u.reply.accept_stat, TETHER_RPC_PROG_MISMATCH);
	assert_int_equal(rep.u.reply.mismatch.low, 2);
	assert_int_equal(rep.u.reply.mismatch.high, 4);
	n = mkcall(buf, sizeof(buf), 100000, 3, 9, NULL, NULL);
	assert_int_equal(run(&req, buf, n, &rep, &out, &res), 1);
	assert_int_equal(rep.u.reply.accept_stat, TETHER_RPC_PROC_UNAVAIL);
	/* Truncated arguments. */
	n = mkcall(buf, sizeof(buf), 100000, 2, 3, NULL, NULL);
	assert_int_equal(run(&req, buf, n + 0, &rep, &out, &res), 1);
	assert_int_equal(rep.u.reply.accept_stat, TETHER_RPC_GARBAGE_ARGS);
	/* RPC version 3: RPC_MISMATCH. */
	n = mkcall(buf, sizeof(buf), 100000, 2, 0, NULL, NULL);
	tether_xdr_store32(buf + 8, 3);
	assert_int_equal(run(&req, buf, n, &rep, &out, &res), 1);
	assert_int_equal(rep.u.reply.stat, TETHER_RPC_MSG_DENIED);
	assert_int_equal(rep.u.reply.reject_stat, TETHER_RPC_RPC_MISMATCH);
	/* A reply, and garbage: no answer at all. */
	tether_xdr_store32(buf + 4, 1);
	assert_int_equal(pm_dispatch(&ctx, &req, buf, n, &out), 0);
	assert_int_equal(pm_dispatch(&ctx, &req, buf, 5, &out), 0);
	/* Forwarding off: CALLIT silent, INDIRECT SYSTEM_ERR over UDP
	 * only. */
	{
		struct tether_rpcb_rmtcallargs a = { 100000, 2, 0, NULL, 0 };

		n = mkcall(buf, sizeof(buf), 100000, 3, 5,
			   tether_rpcb_codec_rmtcallargs, &a);
		assert_int_equal(pm_dispatch(&ctx, &req, buf, n, &out), 0);
		n = mkcall(buf, sizeof(buf), 100000, 4, 10,
			   tether_rpcb_codec_rmtcallargs, &a);
		assert_int_equal(run(&req, buf, n, &rep, &out, &res), 1);
		assert_int_equal(rep.u.reply.accept_stat,
				 TETHER_RPC_SYSTEM_ERR);
		req.netid = TETHER_NETID_TCP;
		assert_int_equal(pm_dispatch(&ctx, &req, buf, n, &out), 0);
	}
	assert_true(ctx.rejected[PM_REJ_FORWARD] >= 3);
	assert_string_equal(pm_reject_name(PM_REJ_AUTH), "not-allowed");
	assert_string_equal(pm_reject_name(99), "unknown");
	tether_buf_free(&out);
}

static void
test_set_access(void **state)
{
	struct tether_rpcb r = { 400001, 1, "tcp", "0.0.0.0.4.1", "me" };
	struct tether_pmap_mapping pm = { 400002, 1, 17, 1026 };
	struct pm_req req;
	const struct reg_entry *e;
	struct stat st;
	int denied;

	(void)state;
	/* Loopback, unprivileged port; non-loopback, privileged port. */
	req = req_from(TETHER_NETID_UDP, "127.0.0.1:40000", -1);
	call_bool(&req, 3, 1, tether_rpcb_codec_rpcb, &r, &denied);
	assert_true(denied);
	call_bool(&req, 2, 1, tether_pmap_codec_mapping, &pm, &denied);
	assert_true(denied);
	req = req_from(TETHER_NETID_TCP, "192.0.2.1:700", -1);
	call_bool(&req, 3, 1, tether_rpcb_codec_rpcb, &r, &denied);
	assert_true(denied);
	call_bool(&req, 3, 2, tether_rpcb_codec_rpcb, &r, &denied);
	assert_true(denied);
	assert_null(reg_find(&ctx.reg, 400001, 1, "tcp"));

	/* The local socket: the owner is the peer's uid. */
	req = req_from(TETHER_NETID_LOCAL, NULL, 1000);
	assert_true(call_bool(&req, 3, 1, tether_rpcb_codec_rpcb, &r, &denied));
	assert_false(denied);
	e = reg_find(&ctx.reg, 400001, 1, "tcp");
	assert_non_null(e);
	assert_string_equal(e->owner, "1000");
	/* Saved on the change. */
	assert_int_equal(stat(state_path, &st), 0);
	/* Another uid cannot remove it, root can. */
	req = req_from(TETHER_NETID_LOCAL, NULL, 1001);
	assert_false(
		call_bool(&req, 3, 2, tether_rpcb_codec_rpcb, &r, &denied));
	req = req_from(TETHER_NETID_LOCAL, NULL, 0);
	assert_true(call_bool(&req, 3, 2, tether_rpcb_codec_rpcb, &r, &denied));
	assert_null(reg_find(&ctx.reg, 400001, 1, "tcp"));

	/* v2 SET from a privileged loopback port: netid udp, wildcard. */
	req = req_from(TETHER_NETID_UDP, "127.0.0.1:800", -1);
	assert_true(
		call_bool(&req, 2, 1, tether_pmap_codec_mapping, &pm, &denied));
	e = reg_find(&ctx.reg, 400002, 1, "udp");
	assert_non_null(e);
	assert_string_equal(e->uaddr, "0.0.0.0.4.2");
	assert_string_equal(e->owner, "unknown");
	/* An unknown protocol is FALSE. */
	pm.prot = 99;
	assert_false(
		call_bool(&req, 2, 1, tether_pmap_codec_mapping, &pm, &denied));
	pm.prot = 17;
	/* v2 UNSET removes tcp and udp. */
	assert_true(
		call_bool(&req, 2, 2, tether_pmap_codec_mapping, &pm, &denied));
	assert_null(reg_find(&ctx.reg, 400002, 1, "udp"));
	assert_true(ctx.stat[0].setinfo >= 1);
	assert_true(ctx.stat[0].unsetinfo >= 1);
}

static void
get_string(const struct pm_req *req, uint32_t vers, uint32_t proc,
	   tether_xdr_fn *fn, void *args, char *out, size_t size)
{
	unsigned char buf[2048];
	struct tether_rpc_msg rep;
	struct tether_buf ob;
	struct tether_xdr res;
	char *s = NULL;
	size_t n = mkcall(buf, sizeof(buf), 100000, vers, proc, fn, args);

	tether_buf_init(&ob, PM_MAX_REPLY);
	assert_int_equal(run(req, buf, n, &rep, &ob, &res), 1);
	assert_int_equal(rep.u.reply.accept_stat, TETHER_RPC_SUCCESS);
	assert_int_equal(tether_rpcb_codec_string(&res, &s), 0);
	snprintf(out, size, "%s", s);
	tether_buf_free(&ob);
}

static void
test_lookups(void **state)
{
	struct pm_req loc = req_from(TETHER_NETID_LOCAL, NULL, 0);
	struct pm_req udp = req_from(TETHER_NETID_UDP, "127.0.0.1:5000", -1);
	struct pm_req tcp6 = req_from(TETHER_NETID_TCP6, "[::1]:5000", -1);
	struct tether_rpcb r = { 500001, 1, "udp", "192.0.2.7.3.8", "" };
	struct tether_rpcb q = { 500001, 9, "", "", "" };
	struct tether_pmap_mapping pm = { 500001, 1, 17, 0 };
	unsigned char buf[512];
	struct tether_rpc_msg rep;
	struct tether_buf out;
	struct tether_xdr res;
	char s[128];
	uint32_t port = 0;
	int denied;
	size_t n;

	(void)state;
	tether_buf_init(&out, PM_MAX_REPLY);
	assert_true(call_bool(&loc, 3, 1, tether_rpcb_codec_rpcb, &r, &denied));
	r.netid = "tcp6";
	r.addr = "::.3.9";
	assert_true(call_bool(&loc, 4, 1, tether_rpcb_codec_rpcb, &r, &denied));

	/* GETADDR: the caller's netid, any version, merged host. */
	get_string(&udp, 3, 3, tether_rpcb_codec_rpcb, &q, s, sizeof(s));
	assert_string_equal(s, "127.0.0.1.3.8");
	get_string(&tcp6, 4, 3, tether_rpcb_codec_rpcb, &q, s, sizeof(s));
	assert_string_equal(s, "::1.3.9");
	/* GETVERSADDR: that version only. */
	get_string(&udp, 4, 9, tether_rpcb_codec_rpcb, &q, s, sizeof(s));
	assert_string_equal(s, "");
	q.vers = 1;
	get_string(&udp, 4, 9, tether_rpcb_codec_rpcb, &q, s, sizeof(s));
	assert_string_equal(s, "127.0.0.1.3.8");

	/* v2 GETPORT sees the udp one, not the tcp6 one. */
	n = mkcall(buf, sizeof(buf), 100000, 2, 3, tether_pmap_codec_mapping,
		   &pm);
	assert_int_equal(run(&udp, buf, n, &rep, &out, &res), 1);
	assert_int_equal(tether_xdr_get_u32(&res, &port), 0);
	assert_int_equal(port, 0x308);
	pm.prot = 6;
	n = mkcall(buf, sizeof(buf), 100000, 2, 3, tether_pmap_codec_mapping,
		   &pm);
	assert_int_equal(run(&udp, buf, n, &rep, &out, &res), 1);
	assert_int_equal(tether_xdr_get_u32(&res, &port), 0);
	assert_int_equal(port, 0);

	/* UADDR2TADDR and back. */
	{
		char *ua = "127.0.0.1.0.111";
		struct tether_rpcb_netbuf nb;

		n = mkcall(buf, sizeof(buf), 100000, 3, 7,
			   tether_rpcb_codec_string, &ua);
		assert_int_equal(run(&udp, buf, n, &rep, &out, &res), 1);
		assert_int_equal(tether_rpcb_codec_netbuf(&res, &nb), 0);
		assert_int_equal(nb.len, sizeof(struct sockaddr_in));
		assert_int_equal(nb.maxlen, nb.len);
		get_string(&udp, 3, 8, tether_rpcb_codec_netbuf, &nb, s,
			   sizeof(s));
		assert_string_equal(s, "127.0.0.1.0.111");
		/* Too short for the transport's family: "". */
		nb.len = nb.maxlen = 4;
		get_string(&udp, 3, 8, tether_rpcb_codec_netbuf, &nb, s,
			   sizeof(s));
		assert_string_equal(s, "");
		/* Unparsable: the empty netbuf. */
		ua = "x";
		n = mkcall(buf, sizeof(buf), 100000, 3, 7,
			   tether_rpcb_codec_string, &ua);
		assert_int_equal(run(&udp, buf, n, &rep, &out, &res), 1);
		assert_int_equal(tether_rpcb_codec_netbuf(&res, &nb), 0);
		assert_int_equal(nb.len, 0);
		assert_int_equal(nb.maxlen, 0);
	}

	/* DUMP v2 holds only tcp/udp rows; v3 everything, in order. */
	{
		struct tether_pmap_list *pl = NULL, *p;
		struct tether_rpcb_list *rl = NULL;
		size_t count = 0;

		n = mkcall(buf, sizeof(buf), 100000, 2, 4, NULL, NULL);
		assert_int_equal(run(&udp, buf, n, &rep, &out, &res), 1);
		assert_int_equal(tether_pmap_codec_list(&res, &pl), 0);
		for (p = pl; p != NULL; p = p->next)
			count++;
		/* 100000 v4,3,2 on tcp and udp, and 500001 on udp. */
		assert_int_equal(count, 7);
		n = mkcall(buf, sizeof(buf), 100000, 3, 4, NULL, NULL);
		assert_int_equal(run(&udp, buf, n, &rep, &out, &res), 1);
		assert_int_equal(tether_rpcb_codec_list(&res, &rl), 0);
		assert_int_equal(rl->rpcb.vers, 4);
		assert_string_equal(rl->rpcb.owner, "superuser");
	}

	/* GETADDRLIST from udp: inet rows only. */
	{
		struct tether_rpcb_entry_list *el = NULL;

		q.vers = 1;
		n = mkcall(buf, sizeof(buf), 100000, 4, 11,
			   tether_rpcb_codec_rpcb, &q);
		assert_int_equal(run(&udp, buf, n, &rep, &out, &res), 1);
		assert_int_equal(tether_rpcb_codec_entry_list(&res, &el), 0);
		assert_non_null(el);
		assert_string_equal(el->entry.maddr, "127.0.0.1.3.8");
		assert_string_equal(el->entry.protofmly, "inet");
		assert_int_equal(el->entry.semantics, 1);
		assert_null(el->next);
	}

	/* GETSTAT counts what happened. */
	{
		struct tether_rpcb_stat_byvers sb;

		n = mkcall(buf, sizeof(buf), 100000, 4, 12, NULL, NULL);
		assert_int_equal(run(&udp, buf, n, &rep, &out, &res), 1);
		assert_int_equal(tether_rpcb_codec_stat_byvers(&res, &sb), 0);
		assert_true(sb.vers[0].info[3] >= 2);
		assert_true(sb.vers[2].info[12] >= 1);
		assert_non_null(sb.vers[0].addrinfo);
		assert_non_null(sb.vers[1].addrinfo);
	}
	tether_buf_free(&out);
}

/* CVE-2017-8779: small calls announcing huge lengths. */
static void
test_rpcbomb(void **state)
{
	struct pm_req req = req_from(TETHER_NETID_UDP, "127.0.0.1:5000", -1);
	unsigned char buf[256];
	struct tether_rpc_msg rep;
	struct tether_buf out;
	struct tether_xdr res;
	size_t n, held;
	uint32_t proc;

	(void)state;
	tether_buf_init(&out, PM_MAX_REPLY);
	for (proc = 0; proc <= 12; proc++) {
		n = mkcall(buf, sizeof(buf), 100000, 4, proc, NULL, NULL);
		memset(buf + n, 0xff, 64);
		tether_xdr_store32(buf + n + 8, 0xfffffff0u);
		tether_alloc_fail_at(0, 0);
		(void)tether_alloc_count();
		/* Every procedure whose arguments hold a string or opaque
		 * refuses it (void ones ignore the bytes; 5 and 10 are
		 * forwarding, off). */
		if (run(&req, buf, n + 64, &rep, &out, &res) == 1 &&
		    proc != 0 && proc != 4 && proc != 6 && proc != 12 &&
		    proc != 10)
			assert_int_equal(rep.u.reply.accept_stat,
					 TETHER_RPC_GARBAGE_ARGS);
		held = tether_arena_held(ctx.arena);
		assert_true(held <= PM_ARENA_MAX);
	}
	/* Many list nodes from a call: bounded by the arena. */
	{
		static unsigned char big[PM_MAX_CALL];
		size_t i;

		n = mkcall(big, sizeof(big), 100000, 4, 3, NULL, NULL);
		for (i = n; i + 4 <= sizeof(big); i += 4)
			tether_xdr_store32(big + i, 0);
		assert_int_equal(run(&req, big, sizeof(big), &rep, &out, &res),
				 1);
		assert_true(tether_arena_held(ctx.arena) <= PM_ARENA_MAX);
	}
	tether_buf_free(&out);
}

/* A reply that does not fit the caller's buffer. */
static void
test_reply_too_big(void **state)
{
	struct pm_req req = req_from(TETHER_NETID_UDP, "127.0.0.1:5000", -1);
	unsigned char buf[256];
	struct tether_buf out;
	size_t n;

	(void)state;
	tether_buf_init(&out, 16);
	n = mkcall(buf, sizeof(buf), 100000, 3, 4, NULL, NULL);
	assert_tether_err(pm_dispatch(&ctx, &req, buf, n, &out), TETHER_ENOSPC);
	tether_buf_free(&out);
}

static unsigned log_lines;
static char last_line[512];

static void
sink(int level, const char *line, void *ud)
{
	(void)level;
	(void)ud;
	log_lines++;
	snprintf(last_line, sizeof(last_line), "%s", line);
}

/* Rejections are counted every time, logged once per source. */
static void
test_reject_log(void **state)
{
	struct pm_req a = req_from(TETHER_NETID_UDP, "192.0.2.9:5000", -1);
	struct pm_req b = req_from(TETHER_NETID_UDP, "192.0.2.9:5001", -1);
	struct pm_req c = req_from(TETHER_NETID_TCP, "198.51.100.1:700", -1);
	unsigned char buf[256];
	struct tether_buf out;
	uint64_t before = ctx.rejected[PM_REJ_PROG];
	size_t n;
	int i;

	(void)state;
	tether_buf_init(&out, PM_MAX_REPLY);
	tether_log_set_sink(sink, NULL);
	log_lines = 0;
	n = mkcall(buf, sizeof(buf), 7, 2, 0, NULL, NULL);
	for (i = 0; i < 50; i++) {
		assert_int_equal(pm_dispatch(&ctx, &a, buf, n, &out), 1);
		assert_int_equal(pm_dispatch(&ctx, &b, buf, n, &out), 1);
	}
	/* One line for 192.0.2.9 whatever its ports. */
	assert_int_equal(log_lines, 1);
	assert_non_null(strstr(last_line, "192.0.2.9"));
	assert_non_null(strstr(last_line, "program"));
	assert_null(strstr(last_line, "5000"));
	assert_int_equal(ctx.rejected[PM_REJ_PROG], before + 100);
	/* Another source gets its own line. */
	assert_int_equal(pm_dispatch(&ctx, &c, buf, n, &out), 1);
	assert_int_equal(log_lines, 2);
	assert_non_null(strstr(last_line, "198.51.100.1 over tcp"));
	/* Within the minute, other reasons from that source are not
	 * logged either (but counted). */
	assert_int_equal(pm_dispatch(&ctx, &c, buf, 3, &out), 0);
	assert_int_equal(pm_dispatch(&ctx, &c, buf, 3, &out), 0);
	assert_int_equal(log_lines, 2);
	tether_log_set_sink(NULL, NULL);
	tether_buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_statuses),
		cmocka_unit_test(test_set_access),
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_rpcbomb),
		cmocka_unit_test(test_reply_too_big),
		cmocka_unit_test(test_reject_log),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
