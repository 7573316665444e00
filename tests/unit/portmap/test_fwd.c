/*
 * test_fwd.c - tether-portmap's forwarding (fwd.c) with real sockets on
 * loopback: a CALLIT reaches the registered UDP service with a fresh
 * XID and the caller's arguments, and the service's answer comes back
 * to the caller with the port / address and the results; INDIRECT
 * errors; remote callers, TCP, the token bucket, the outstanding limit,
 * the timeout, a retransmission, an answer from the wrong address, and
 * a reload changing the limits or turning forwarding off.
 */
#include "tether_test.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pm.h"
#include "tether/rpc.h"

#define PROG 0x20000077u

struct fix {
	struct pm_ctx ctx;
	struct tether_loop *loop;
	int svc;			/* the "service" */
	int srv;			/* our port-111 stand-in */
	int cli;			/* the caller */
	struct tether_addr svc_addr, cli_addr;
	struct tether_buf out;
};

static int
udp_sock(struct tether_addr *bound)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct tether_addr a;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(tether_addr_parse(&a, "127.0.0.1:0", -1), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a.ss, a.len), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	if (bound != NULL)
		assert_int_equal(tether_addr_from_sockaddr(
				 bound, (struct sockaddr *)&ss, sl), 0);
	return fd;
}

static int
fix_setup(struct fix *f, unsigned rate, unsigned burst, unsigned max,
	  uint64_t timeout_ms)
{
	struct pm_config cfg;
	char uaddr[TETHER_UADDR_STRLEN], err[256];

	memset(&cfg, 0, sizeof(cfg));
	cfg.state_path = "";
	cfg.port = 111;
	cfg.forward = 1;
	cfg.forward_rate = rate;
	cfg.forward_burst = burst;
	cfg.forward_max = max;
	cfg.forward_timeout_ms = timeout_ms;
	assert_int_equal(pm_ctx_init(&f->ctx, &cfg), 0);
	assert_int_equal(tether_loop_new(&f->loop, NULL), 0);
	assert_int_equal(pm_fwd_open(&f->ctx, f->loop, err, sizeof(err)), 0);
	assert_non_null(f->ctx.fwd_state);
	f->svc = udp_sock(&f->svc_addr);
	f->srv = udp_sock(NULL);
	f->cli = udp_sock(&f->cli_addr);
	/* Registered at the wildcard, as libtirpc does. */
	snprintf(uaddr, sizeof(uaddr), "0.0.0.0.%d.%d",
		 tether_addr_port(&f->svc_addr) >> 8,
		 tether_addr_port(&f->svc_addr) & 0xff);
	assert_int_equal(reg_set(&f->ctx.reg, PROG, 1, "udp", uaddr, "1000",
				 0), 1);
	tether_buf_init(&f->out, 1 << 16);
	return 0;
}

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	fix_setup(f, 100, 100, 8, 3000);
	*state = f;
	return 0;
}

static int
setup_tight(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	/* 1 call a second, bursts of 2, 1 outstanding, 100ms timeout. */
	fix_setup(f, 1, 2, 1, 100);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	pm_fwd_close(&f->ctx);
	assert_null(f->ctx.fwd_state);
	tether_loop_free(f->loop);
	pm_ctx_free(&f->ctx);
	close(f->svc);
	close(f->srv);
	close(f->cli);
	tether_buf_free(&f->out);
	free(f);
	return 0;
}

static struct pm_req
caller(struct fix *f, const char *peer, enum tether_netid netid)
{
	struct pm_req r;

	memset(&r, 0, sizeof(r));
	r.netid = netid;
	if (peer == NULL)
		tether_addr_copy(&r.peer, &f->cli_addr);
	else
		assert_int_equal(tether_addr_parse(&r.peer, peer, -1), 0);
	assert_int_equal(tether_addr_parse(&r.local, "127.0.0.1:111", -1), 0);
	r.has_local = 1;
	r.fd = f->srv;
	return r;
}

/* A remote call of vers/proc (CALLIT, BCAST, INDIRECT) to PROG's
 * procedure 1 with one int argument. */
static size_t
mkcall(unsigned char *buf, size_t size, uint32_t xid, uint32_t vers,
       uint32_t proc, uint32_t prog, uint32_t pvers, uint32_t arg)
{
	struct tether_rpc_msg m;
	struct tether_xdr x;
	unsigned char a[4] = { arg >> 24, arg >> 16, arg >> 8, arg };

	tether_rpc_msg_init_call(&m, xid, TETHER_PMAP_PROG, vers, proc);
	tether_xdr_init_encode(&x, buf, size);
	assert_int_equal(tether_rpc_msg_encode(&x, &m), 0);
	assert_int_equal(tether_xdr_put_u32(&x, prog), 0);
	assert_int_equal(tether_xdr_put_u32(&x, pvers), 0);
	assert_int_equal(tether_xdr_put_u32(&x, 1), 0);
	assert_int_equal(tether_xdr_put_bytes(&x, a, 4, 4), 0);
	return tether_xdr_getpos(&x);
}

static int
dispatch(struct fix *f, const struct pm_req *r, const unsigned char *c,
	 size_t len)
{
	tether_buf_reset(&f->out);
	return pm_dispatch(&f->ctx, r, c, len, &f->out);
}

/* Wait (running the loop) for a datagram on fd; its length or -1. */
static ssize_t
wait_dgram(struct fix *f, int fd, unsigned char *buf, size_t size,
	   struct sockaddr_storage *from, int ms)
{
	int i;

	for (i = 0; i < ms / 5; i++) {
		struct pollfd p = { fd, POLLIN, 0 };
		socklen_t fl = sizeof(*from);

		assert_true(tether_loop_run_once(f->loop, 5) >= 0);
		if (poll(&p, 1, 0) == 1)
			return recvfrom(fd, buf, size, 0,
					(struct sockaddr *)from, &fl);
	}
	return -1;
}

/* The service side: read the forwarded call, check it, answer arg+1
 * (from the service's own socket, or from another one). */
static uint32_t
serve(struct fix *f, uint32_t want_arg, int from_other)
{
	unsigned char buf[2048], rep[256];
	struct sockaddr_storage from;
	struct tether_rpc_msg m, r;
	struct tether_xdr x, y;
	uint32_t v;
	ssize_t n;
	int fd;

	n = wait_dgram(f, f->svc, buf, sizeof(buf), &from, 2000);
	assert_true(n > 0);
	tether_xdr_init_decode(&x, buf, (size_t)n, 0, NULL);
	assert_int_equal(tether_rpc_msg_decode(&x, &m), 0);
	assert_int_equal(m.type, TETHER_RPC_CALL);
	assert_int_equal(m.u.call.prog, PROG);
	assert_int_equal(m.u.call.vers, 1);
	assert_int_equal(m.u.call.proc, 1);
	assert_int_not_equal(m.xid, 0x5150);	/* a fresh XID */
	assert_int_equal(tether_xdr_get_u32(&x, &v), 0);
	assert_int_equal(v, want_arg);
	tether_rpc_msg_init_reply(&r, m.xid);
	tether_xdr_init_encode(&y, rep, sizeof(rep));
	assert_int_equal(tether_rpc_msg_encode(&y, &r), 0);
	assert_int_equal(tether_xdr_put_u32(&y, v + 1), 0);
	fd = from_other ? f->cli : f->svc;
	assert_int_equal(sendto(fd, rep, tether_xdr_getpos(&y), 0,
				(struct sockaddr *)&from,
				sizeof(struct sockaddr_in)),
			 (ssize_t)tether_xdr_getpos(&y));
	return m.xid;
}

static void
test_callit_v2_v3_v4(void **state)
{
	struct fix *f = *state;
	struct pm_req r = caller(f, NULL, TETHER_NETID_UDP);
	unsigned char c[512], buf[2048];
	struct sockaddr_storage from;
	struct tether_rpc_msg m;
	struct tether_xdr x;
	static const struct { uint32_t vers, proc; } k[] = {
		{ 2, TETHER_PMAP_CALLIT },
		{ 3, TETHER_RPCB_CALLIT },
		{ 4, TETHER_RPCB_BCAST },
		{ 4, TETHER_RPCB_INDIRECT },
	};
	size_t i, len;
	ssize_t n;

	for (i = 0; i < TETHER_ARRAY_SIZE(k); i++) {
		uint32_t v, l;
		char *addr = NULL;

		len = mkcall(c, sizeof(c), 0x5150, k[i].vers, k[i].proc, PROG,
			     1, 41 + (uint32_t)i);
		/* Forwarded: no reply now. */
		assert_int_equal(dispatch(f, &r, c, len), 0);
		serve(f, 41 + (uint32_t)i, 0);
		n = wait_dgram(f, f->cli, buf, sizeof(buf), &from, 2000);
		assert_true(n > 0);
		tether_xdr_init_decode(&x, buf, (size_t)n, 0, f->ctx.arena);
		assert_int_equal(tether_rpc_msg_decode(&x, &m), 0);
		assert_int_equal(m.xid, 0x5150);
		assert_int_equal(m.u.reply.accept_stat, TETHER_RPC_SUCCESS);
		if (k[i].vers == 2) {
			assert_int_equal(tether_xdr_get_u32(&x, &v), 0);
			assert_int_equal(v, tether_addr_port(&f->svc_addr));
		} else {
			char want[64];

			assert_int_equal(tether_rpcb_codec_string(&x, &addr),
					 0);
			/* Merged for a loopback caller. */
			snprintf(want, sizeof(want), "127.0.0.1.%d.%d",
				 tether_addr_port(&f->svc_addr) >> 8,
				 tether_addr_port(&f->svc_addr) & 0xff);
			assert_string_equal(addr, want);
		}
		/* opaque<> results: 4 bytes, arg + 1. */
		assert_int_equal(tether_xdr_get_u32(&x, &l), 0);
		assert_int_equal(l, 4);
		assert_int_equal(tether_xdr_get_u32(&x, &v), 0);
		assert_int_equal(v, 42 + i);
	}
	assert_int_equal(f->ctx.fwd.forwarded, 4);
	assert_int_equal(f->ctx.fwd.replied, 4);
	assert_int_equal(f->ctx.fwd.outstanding, 0);
}

/* The answer leaves from the address the caller sent its call to, not
 * from whatever the kernel picks for a wildcard socket. */
static void
test_reply_source(void **state)
{
	struct fix *f = *state;
	struct pm_req r = caller(f, NULL, TETHER_NETID_UDP);
	struct tether_addr any;
	struct sockaddr_storage from;
	struct sockaddr_in *fin = (struct sockaddr_in *)&from;
	unsigned char c[512], buf[2048];
	int one = 1, w;
	size_t len;
	ssize_t n;

	w = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(w >= 0);
	assert_int_equal(setsockopt(w, IPPROTO_IP, IP_PKTINFO, &one,
				    sizeof(one)), 0);
	assert_int_equal(tether_addr_parse(&any, "0.0.0.0:0", -1), 0);
	assert_int_equal(bind(w, (struct sockaddr *)&any.ss, any.len), 0);
	r.fd = w;
	assert_int_equal(tether_addr_parse(&r.local, "127.0.0.2:111", -1), 0);
	r.has_local = 1;
	len = mkcall(c, sizeof(c), 0x5150, 2, TETHER_PMAP_CALLIT, PROG, 1, 7);
	assert_int_equal(dispatch(f, &r, c, len), 0);
	serve(f, 7, 0);
	n = wait_dgram(f, f->cli, buf, sizeof(buf), &from, 2000);
	assert_true(n > 0);
	assert_int_equal(from.ss_family, AF_INET);
	assert_int_equal(ntohl(fin->sin_addr.s_addr), 0x7f000002u);
	assert_int_equal(f->ctx.fwd.replied, 1);
	close(w);
}

static int
reply_stat(struct fix *f, struct tether_rpc_msg *m)
{
	struct tether_xdr x;

	tether_xdr_init_decode(&x, f->out.data, f->out.len, 0, NULL);
	assert_int_equal(tether_rpc_msg_decode(&x, m), 0);
	return m->u.reply.stat == TETHER_RPC_MSG_ACCEPTED ?
		(int)m->u.reply.accept_stat : -(int)m->u.reply.auth_stat;
}

static void
test_errors(void **state)
{
	struct fix *f = *state;
	struct pm_req r = caller(f, NULL, TETHER_NETID_UDP);
	unsigned char c[512];
	struct tether_rpc_msg m;
	size_t len;

	/* No such program: INDIRECT says so, CALLIT stays silent. */
	len = mkcall(c, sizeof(c), 1, 4, TETHER_RPCB_INDIRECT, 300099, 1, 0);
	assert_int_equal(dispatch(f, &r, c, len), 1);
	assert_int_equal(reply_stat(f, &m), TETHER_RPC_PROG_UNAVAIL);
	len = mkcall(c, sizeof(c), 2, 3, TETHER_RPCB_CALLIT, 300099, 1, 0);
	assert_int_equal(dispatch(f, &r, c, len), 0);
	/* Another version: PROG_MISMATCH 1..1. */
	len = mkcall(c, sizeof(c), 3, 4, TETHER_RPCB_INDIRECT, PROG, 7, 0);
	assert_int_equal(dispatch(f, &r, c, len), 1);
	assert_int_equal(reply_stat(f, &m), TETHER_RPC_PROG_MISMATCH);
	assert_int_equal(m.u.reply.mismatch.low, 1);
	assert_int_equal(m.u.reply.mismatch.high, 1);
	/* rpcbind itself: AUTH_TOOWEAK, whatever the procedure kind. */
	len = mkcall(c, sizeof(c), 4, 3, TETHER_RPCB_CALLIT, TETHER_PMAP_PROG,
		     2, 0);
	assert_int_equal(dispatch(f, &r, c, len), 1);
	assert_int_equal(reply_stat(f, &m), -TETHER_RPC_AUTH_TOOWEAK);
	/* Truncated arguments. */
	len = mkcall(c, sizeof(c), 5, 4, TETHER_RPCB_INDIRECT, PROG, 1, 0);
	assert_int_equal(dispatch(f, &r, c, len - 12), 1);
	assert_int_equal(reply_stat(f, &m), TETHER_RPC_GARBAGE_ARGS);
	/* A transport that did not say where the call came from: no
	 * forwarding (an answer could not be sent back). */
	r.fd = 0;
	len = mkcall(c, sizeof(c), 6, 4, TETHER_RPCB_INDIRECT, PROG, 1, 0);
	assert_int_equal(dispatch(f, &r, c, len), 1);
	assert_int_equal(reply_stat(f, &m), TETHER_RPC_SYSTEM_ERR);
	r.fd = f->srv;
	/* Over TCP: never forwarded, never answered. */
	r = caller(f, NULL, TETHER_NETID_TCP);
	len = mkcall(c, sizeof(c), 6, 4, TETHER_RPCB_INDIRECT, PROG, 1, 0);
	assert_int_equal(dispatch(f, &r, c, len), 0);
	assert_int_equal(f->out.len, 0);
	/* A caller on another host. */
	r = caller(f, "192.0.2.9:700", TETHER_NETID_UDP);
	assert_int_equal(dispatch(f, &r, c, len), 0);
	assert_int_equal(f->ctx.fwd.refused_remote, 1);
	assert_int_equal(f->ctx.fwd.forwarded, 0);
	assert_int_equal(f->ctx.fwd.no_service, 3);
}

static void
test_service_error_and_spoof(void **state)
{
	struct fix *f = *state;
	struct pm_req r = caller(f, NULL, TETHER_NETID_UDP);
	unsigned char c[512], buf[512];
	struct sockaddr_storage from;
	struct tether_rpc_msg m;
	struct tether_xdr x;
	size_t len;
	ssize_t n;

	/* An answer from another address is ignored. */
	len = mkcall(c, sizeof(c), 0x5150, 4, TETHER_RPCB_INDIRECT, PROG, 1,
		     7);
	assert_int_equal(dispatch(f, &r, c, len), 0);
	serve(f, 7, 1);
	n = wait_dgram(f, f->cli, buf, sizeof(buf), &from, 200);
	/* (The spoofed answer itself went to the forwarder, not to us.) */
	assert_int_equal(n, -1);
	assert_int_equal(f->ctx.fwd.replied, 0);
	assert_int_equal(f->ctx.fwd.outstanding, 1);
	/* A retransmission while outstanding is dropped. */
	assert_int_equal(dispatch(f, &r, c, len), 0);
	assert_int_equal(f->ctx.fwd.forwarded, 1);
	(void)x;
	(void)m;
}

static void
test_tight_limits(void **state)
{
	struct fix *f = *state;
	struct pm_req r = caller(f, NULL, TETHER_NETID_UDP);
	unsigned char c[512], buf[512];
	struct sockaddr_storage from;
	struct tether_rpc_msg m;
	size_t len;
	int i;

	/* One outstanding: the second is refused (SYSTEM_ERR for
	 * INDIRECT) while the first waits. */
	len = mkcall(c, sizeof(c), 1, 4, TETHER_RPCB_INDIRECT, PROG, 1, 1);
	assert_int_equal(dispatch(f, &r, c, len), 0);
	len = mkcall(c, sizeof(c), 2, 4, TETHER_RPCB_INDIRECT, PROG, 1, 2);
	assert_int_equal(dispatch(f, &r, c, len), 1);
	assert_int_equal(reply_stat(f, &m), TETHER_RPC_SYSTEM_ERR);
	assert_int_equal(f->ctx.fwd.refused_full, 1);
	/* Nobody answers: the timeout frees the slot, the service got
	 * the call all the same. */
	assert_true(wait_dgram(f, f->svc, buf, sizeof(buf), &from, 1000) > 0);
	for (i = 0; i < 100 && f->ctx.fwd.outstanding > 0; i++)
		assert_true(tether_loop_run_once(f->loop, 10) >= 0);
	assert_int_equal(f->ctx.fwd.timeouts, 1);
	assert_int_equal(f->ctx.fwd.outstanding, 0);
	/* The bucket held 2: the second call took the last token, the
	 * third (well within a second) finds none. */
	len = mkcall(c, sizeof(c), 3, 4, TETHER_RPCB_INDIRECT, PROG, 1, 3);
	assert_int_equal(dispatch(f, &r, c, len), 0);
	serve(f, 3, 0);
	assert_true(wait_dgram(f, f->cli, buf, sizeof(buf), &from, 1000) > 0);
	len = mkcall(c, sizeof(c), 4, 4, TETHER_RPCB_INDIRECT, PROG, 1, 4);
	assert_int_equal(dispatch(f, &r, c, len), 1);
	assert_int_equal(reply_stat(f, &m), TETHER_RPC_SYSTEM_ERR);
	assert_int_equal(f->ctx.fwd.refused_rate, 1);
	assert_int_equal(f->ctx.fwd.forwarded, 2);
}

/* A reload (tether-portmap's SIGHUP) changes ctx->cfg and calls
 * pm_fwd_apply: a call outstanding survives a smaller table and
 * forwarding turned off, and is answered; new calls see the new
 * limits at once. */
static void
test_reload(void **state)
{
	struct fix *f = *state;
	struct pm_req r = caller(f, NULL, TETHER_NETID_UDP);
	unsigned char c[512], buf[512];
	struct sockaddr_storage from;
	struct tether_rpc_msg m;
	struct pm_fwd *st = f->ctx.fwd_state;
	char err[128];
	size_t len;

	len = mkcall(c, sizeof(c), 0x5150, 4, TETHER_RPCB_INDIRECT, PROG, 1,
		     10);
	assert_int_equal(dispatch(f, &r, c, len), 0);
	assert_int_equal(f->ctx.fwd.outstanding, 1);

	/* forward max 8 -> 1: the outstanding call keeps its slot, a
	 * second call is refused as the table is full. */
	f->ctx.cfg.forward_max = 1;
	assert_int_equal(pm_fwd_apply(&f->ctx, f->loop, err, sizeof(err)), 0);
	assert_ptr_equal(f->ctx.fwd_state, st);
	len = mkcall(c, sizeof(c), 0x5151, 4, TETHER_RPCB_INDIRECT, PROG, 1,
		     11);
	assert_int_equal(dispatch(f, &r, c, len), 1);
	assert_int_equal(reply_stat(f, &m), TETHER_RPC_SYSTEM_ERR);
	assert_int_equal(f->ctx.fwd.refused_full, 1);

	/* Forwarding off: refused as if never on (INDIRECT over UDP gets
	 * SYSTEM_ERR), and the call outstanding is still answered. */
	f->ctx.cfg.forward = 0;
	len = mkcall(c, sizeof(c), 0x5152, 4, TETHER_RPCB_INDIRECT, PROG, 1,
		     12);
	assert_int_equal(dispatch(f, &r, c, len), 1);
	assert_int_equal(f->ctx.fwd.refused_off, 1);
	serve(f, 10, 0);
	assert_true(wait_dgram(f, f->cli, buf, sizeof(buf), &from, 1000) > 0);
	assert_int_equal(f->ctx.fwd.replied, 1);
	assert_int_equal(f->ctx.fwd.outstanding, 0);

	/* On again with room for 2: the same state, both forwarded. */
	f->ctx.cfg.forward = 1;
	f->ctx.cfg.forward_max = 2;
	assert_int_equal(pm_fwd_apply(&f->ctx, f->loop, err, sizeof(err)), 0);
	assert_ptr_equal(f->ctx.fwd_state, st);
	len = mkcall(c, sizeof(c), 0x5153, 4, TETHER_RPCB_INDIRECT, PROG, 1,
		     13);
	assert_int_equal(dispatch(f, &r, c, len), 0);
	len = mkcall(c, sizeof(c), 0x5154, 4, TETHER_RPCB_INDIRECT, PROG, 1,
		     14);
	assert_int_equal(dispatch(f, &r, c, len), 0);
	assert_int_equal(f->ctx.fwd.outstanding, 2);
	assert_int_equal(f->ctx.fwd.refused_full, 1);
	serve(f, 13, 0);
	serve(f, 14, 0);
	assert_true(wait_dgram(f, f->cli, buf, sizeof(buf), &from, 1000) > 0);
	assert_true(wait_dgram(f, f->cli, buf, sizeof(buf), &from, 1000) > 0);
	assert_int_equal(f->ctx.fwd.replied, 3);
	assert_int_equal(f->ctx.fwd.outstanding, 0);
}

static void
test_off(void **state)
{
	struct pm_config cfg;
	struct pm_ctx ctx;
	struct tether_loop *loop;
	struct tether_buf out;
	struct pm_req r;
	unsigned char c[512];
	char err[64];
	size_t len;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.state_path = "";
	assert_int_equal(pm_ctx_init(&ctx, &cfg), 0);
	assert_int_equal(tether_loop_new(&loop, NULL), 0);
	/* Off: nothing opened. */
	assert_int_equal(pm_fwd_open(&ctx, loop, err, sizeof(err)), 0);
	assert_null(ctx.fwd_state);
	memset(&r, 0, sizeof(r));
	r.netid = TETHER_NETID_UDP;
	assert_int_equal(tether_addr_parse(&r.peer, "127.0.0.1:700", -1), 0);
	tether_buf_init(&out, 4096);
	len = mkcall(c, sizeof(c), 1, 3, TETHER_RPCB_CALLIT, PROG, 1, 0);
	assert_int_equal(pm_dispatch(&ctx, &r, c, len, &out), 0);
	len = mkcall(c, sizeof(c), 1, 4, TETHER_RPCB_INDIRECT, PROG, 1, 0);
	assert_int_equal(pm_dispatch(&ctx, &r, c, len, &out), 1);
	assert_int_equal(ctx.fwd.refused_off, 2);
	tether_buf_free(&out);
	tether_loop_free(loop);
	pm_ctx_free(&ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_callit_v2_v3_v4, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_source, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_service_error_and_spoof,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_tight_limits, setup_tight,
						teardown),
		cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
		cmocka_unit_test(test_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
