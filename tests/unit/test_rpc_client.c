/*
 * test_rpc_client.c - the client runtime against our server on one
 * loop (TCP, UDP, AF_UNIX) and against hand-driven sockets: every
 * status, pipelining with out-of-order replies, timeouts, UDP
 * retransmission with one XID and growing gaps, late and duplicate
 * replies, lost replies answered from the server's reply cache
 * (at-most-once through a lossy relay), broken connections, refused
 * connections and reconnect backoff, cancellation, allocation failures,
 * a chosen source address.
 */
#include "tether_test.h"
#include "rpc_testprog.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct fixture {
	struct tether_loop *loop;
	struct tether_rpc_server *srv;
	struct tp_state st;
	struct tether_addr tcp, udp, local;
	char path[64];
};

static struct fixture *
fx_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct tether_addr a;

	assert_non_null(f);
	assert_int_equal(tether_loop_new(&f->loop, NULL), 0);
	assert_int_equal(tether_rpc_server_new(&f->srv, f->loop, NULL), 0);
	assert_int_equal(tp_register(f->srv, &f->st), 0);
	assert_int_equal(tether_addr_parse(&a, "127.0.0.1:0", -1), 0);
	assert_int_equal(
		tether_rpc_server_listen(f->srv, SOCK_STREAM, &a, &f->tcp), 0);
	assert_int_equal(
		tether_rpc_server_listen(f->srv, SOCK_DGRAM, &a, &f->udp), 0);
	snprintf(f->path, sizeof(f->path), "/tmp/tether-clnt-%d.sock",
		 (int)getpid());
	assert_int_equal(tether_addr_parse(&a, f->path, -1), 0);
	assert_int_equal(
		tether_rpc_server_listen(f->srv, SOCK_STREAM, &a, &f->local),
		0);
	return f;
}

static void
fx_free(struct fixture *f)
{
	tether_rpc_server_free(f->srv);
	tether_loop_free(f->loop);
	free(f);
}

static struct tether_rpc_client *
client(struct fixture *f, const struct tether_addr *a, int type, uint32_t vers)
{
	struct tether_rpc_client *c;

	assert_int_equal(tether_rpc_client_new(&c, f->loop, a, type, TP_PROG,
					       vers, NULL),
			 0);
	return c;
}

static void
basic_calls(struct fixture *f, struct tether_rpc_client *c)
{
	struct tp_pair p = { 2, 40 };
	int32_t sum = 0;
	const char *s = "ping";
	char *echo = NULL;
	struct tether_arena *a = tether_arena_new(0, 0);
	struct tether_rpc_result r;

	(void)f;
	assert_int_equal(tether_rpc_client_call(c, TP_ADD, tp_pair_codec, &p,
						tether_xdr_codec_i32, &sum,
						NULL, 2000, &r),
			 TETHER_RPC_ST_OK);
	assert_int_equal(sum, 42);
	assert_int_equal(tether_rpc_client_call(c, TP_ECHO, tp_string_codec, &s,
						tp_string_codec, &echo, a, 2000,
						NULL),
			 TETHER_RPC_ST_OK);
	assert_string_equal(echo, "ping");
	assert_int_equal(tether_rpc_client_call(c, 0, NULL, NULL, NULL, NULL,
						NULL, 2000, NULL),
			 TETHER_RPC_ST_OK);
	tether_arena_free(a);
}

static void
test_transports(void **state)
{
	struct fixture *f = fx_new();
	struct tether_rpc_client *c;

	(void)state;
	c = client(f, &f->tcp, SOCK_STREAM, 1);
	basic_calls(f, c);
	tether_rpc_client_free(c);
	c = client(f, &f->udp, SOCK_DGRAM, 1);
	basic_calls(f, c);
	tether_rpc_client_free(c);
	c = client(f, &f->local, SOCK_STREAM, 1);
	basic_calls(f, c);
	tether_rpc_client_free(c);
	/* IPv6, where the host has ::1. */
	{
		struct tether_addr a6, t6, u6;

		assert_int_equal(tether_addr_parse(&a6, "[::1]:0", -1), 0);
		if (tether_rpc_server_listen(f->srv, SOCK_STREAM, &a6, &t6) ==
			    0 &&
		    tether_rpc_server_listen(f->srv, SOCK_DGRAM, &a6, &u6) ==
			    0) {
			c = client(f, &t6, SOCK_STREAM, 1);
			basic_calls(f, c);
			tether_rpc_client_free(c);
			c = client(f, &u6, SOCK_DGRAM, 1);
			basic_calls(f, c);
			tether_rpc_client_free(c);
		}
	}
	fx_free(f);
}

static void
test_statuses(void **state)
{
	struct fixture *f = fx_new();
	struct tether_rpc_client *c;
	struct tether_rpc_result r;
	struct tether_rpc_authsys sys;
	uint32_t v = 1, uid = 0;
	char buf[128];
	int type;

	(void)state;
	for (type = SOCK_STREAM; type <= SOCK_DGRAM; type++) {
		const struct tether_addr *a =
			type == SOCK_STREAM ? &f->tcp : &f->udp;

		c = client(f, a, type, 3);
		assert_int_equal(tether_rpc_client_call(c, 0, NULL, NULL, NULL,
							NULL, NULL, 2000, &r),
				 TETHER_RPC_ST_PROG_MISMATCH);
		assert_int_equal(r.mismatch.low, 1);
		assert_int_equal(r.mismatch.high, 4);
		assert_string_equal(
			tether_rpc_result_format(&r, buf, sizeof(buf)),
			"PROG_MISMATCH (versions 1..4)");
		tether_rpc_client_free(c);

		assert_int_equal(tether_rpc_client_new(&c, f->loop, a, type,
						       TP_PROG + 1, 1, NULL),
				 0);
		assert_int_equal(tether_rpc_client_call(c, 0, NULL, NULL, NULL,
							NULL, NULL, 2000, &r),
				 TETHER_RPC_ST_PROG_UNAVAIL);
		tether_rpc_client_free(c);

		c = client(f, a, type, 1);
		assert_int_equal(tether_rpc_client_call(c, 77, NULL, NULL, NULL,
							NULL, NULL, 2000, &r),
				 TETHER_RPC_ST_PROC_UNAVAIL);
		assert_int_equal(
			tether_rpc_client_call(c, TP_ADD, tether_xdr_codec_u32,
					       &v, NULL, NULL, NULL, 2000, &r),
			TETHER_RPC_ST_GARBAGE_ARGS);
		assert_int_equal(tether_rpc_client_call(c, TP_FAIL, NULL, NULL,
							NULL, NULL, NULL, 2000,
							&r),
				 TETHER_RPC_ST_SYSTEM_ERR);
		assert_int_equal(tether_rpc_client_call(c, TP_WHOAMI, NULL,
							NULL,
							tether_xdr_codec_u32,
							&uid, NULL, 2000, &r),
				 TETHER_RPC_ST_AUTH_ERROR);
		assert_int_equal(r.auth_stat, TETHER_RPC_AUTH_TOOWEAK);
		assert_string_equal(
			tether_rpc_result_format(&r, buf, sizeof(buf)),
			"AUTH_ERROR (AUTH_TOOWEAK)");
		assert_int_equal(tether_rpc_authsys_init(&sys, 0, "me", 4321, 5,
							 0, NULL),
				 0);
		assert_int_equal(tether_rpc_client_set_authsys(c, &sys), 0);
		assert_int_equal(tether_rpc_client_call(c, TP_WHOAMI, NULL,
							NULL,
							tether_xdr_codec_u32,
							&uid, NULL, 2000, &r),
				 TETHER_RPC_ST_OK);
		assert_int_equal(uid, 4321);
		/* A results codec that does not fit the reply. */
		assert_int_equal(tether_rpc_client_call(c, TP_WHOAMI, NULL,
							NULL, tp_pair_codec,
							&uid, NULL, 2000, &r),
				 TETHER_RPC_ST_CANTDECODE_RES);
		assert_int_equal(tether_rpc_client_set_auth(c, NULL), 0);
		assert_int_equal(tether_rpc_client_call(c, TP_WHOAMI, NULL,
							NULL,
							tether_xdr_codec_u32,
							&uid, NULL, 2000, &r),
				 TETHER_RPC_ST_AUTH_ERROR);
		/* The server drops: the call times out. */
		assert_int_equal(tether_rpc_client_call(c, TP_DROP, NULL, NULL,
							NULL, NULL, NULL, 150,
							&r),
				 TETHER_RPC_ST_TIMEDOUT);
		assert_int_equal(tether_rpc_client_pending(c), 0);
		tether_rpc_client_free(c);
	}
	fx_free(f);
}

/* ------------------------------------------------------------------ */
/* Pipelining                                                          */
/* ------------------------------------------------------------------ */

struct pcall {
	int done;
	struct tether_rpc_result r;
	uint32_t arg;
	uint32_t res;
};

static void
pdone(struct tether_rpc_client *c, const struct tether_rpc_result *r, void *ud)
{
	struct pcall *p = ud;

	(void)c;
	p->done++;
	p->r = *r;
}

static void
run_until(struct tether_loop *loop, const int *flag, int want)
{
	int i;

	for (i = 0; i < 2000 && *flag < want; i++)
		tether_loop_run_once(loop, 5);
	assert_true(*flag >= want);
}

static void
test_pipelining(void **state)
{
	struct fixture *f = fx_new();
	struct tether_rpc_client *c;
	static struct pcall calls[200];
	int i, ndone = 0, type;

	(void)state;
	for (type = SOCK_STREAM; type <= SOCK_DGRAM; type++) {
		c = client(f, type == SOCK_STREAM ? &f->tcp : &f->udp, type, 1);
		memset(calls, 0, sizeof(calls));
		/* 40 held by the server, answered later in order; 160
		 * counted calls answered at once. */
		for (i = 0; i < 200; i++) {
			calls[i].arg = (uint32_t)i;
			assert_int_equal(
				tether_rpc_client_call_async(
					c, i < 40 ? TP_ASYNC : TP_COUNT,
					tether_xdr_codec_u32, &calls[i].arg,
					tether_xdr_codec_u32, &calls[i].res,
					NULL, 5000, pdone, &calls[i]),
				0);
		}
		assert_int_equal(tether_rpc_client_pending(c), 200);
		/* Callbacks never run from inside call_async. */
		for (i = 0; i < 200; i++)
			assert_int_equal(calls[i].done, 0);
		for (i = 0; i < 3000; i++) {
			int k;

			tether_loop_run_once(f->loop, 2);
			while (tp_release_one(&f->st))
				;
			for (ndone = 0, k = 0; k < 200; k++)
				ndone += calls[k].done;
			if (ndone == 200)
				break;
		}
		assert_int_equal(ndone, 200);
		for (i = 0; i < 200; i++) {
			assert_int_equal(calls[i].done, 1);
			assert_int_equal(calls[i].r.status, TETHER_RPC_ST_OK);
			if (i < 40)
				assert_int_equal(calls[i].res, 1000 + i);
		}
		assert_int_equal(tether_rpc_client_pending(c), 0);
		tether_rpc_client_free(c);
	}
	fx_free(f);
}

/* ------------------------------------------------------------------ */
/* Hand-driven peers                                                   */
/* ------------------------------------------------------------------ */

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Read one datagram from fd while running loop; returns its length. */
static ssize_t
recv_while_running(struct tether_loop *loop, int fd, unsigned char *buf,
		   size_t cap, struct sockaddr_storage *from, socklen_t *fl)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	int i;

	for (i = 0; i < 1000; i++) {
		if (poll(&pfd, 1, 0) == 1)
			return recvfrom(fd, buf, cap, 0,
					(struct sockaddr *)from, fl);
		tether_loop_run_once(loop, 5);
	}
	return -1;
}

/* A reply datagram for xid with the given reply header and u32 body. */
static size_t
mkreply(unsigned char *out, size_t cap, const struct tether_rpc_msg *m0,
	int with_body, uint32_t body)
{
	struct tether_rpc_msg m = *m0;
	struct tether_xdr x;

	tether_xdr_init_encode(&x, out, cap);
	assert_int_equal(tether_rpc_msg_encode(&x, &m), 0);
	if (with_body)
		assert_int_equal(tether_xdr_put_u32(&x, body), 0);
	return tether_xdr_getpos(&x);
}

static void
test_udp_retransmit_and_duplicates(void **state)
{
	struct tether_loop *loop;
	struct tether_rpc_client *c;
	struct tether_rpc_client_config cfg = { 0 };
	struct tether_addr a;
	struct sockaddr_storage from;
	socklen_t fl;
	unsigned char buf[2048];
	struct tether_rpc_msg m;
	struct tether_xdr x;
	struct pcall pc;
	uint32_t xid = 0, arg = 5;
	uint64_t t[4];
	ssize_t n;
	size_t rl;
	int fd, i;

	(void)state;
	memset(&pc, 0, sizeof(pc));
	assert_int_equal(tether_loop_new(&loop, NULL), 0);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(tether_addr_parse(&a, "127.0.0.1:0", -1), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a.ss, a.len), 0);
	a.len = sizeof(a.ss);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a.ss, &a.len), 0);
	cfg.retrans_ms = 40;
	assert_int_equal(tether_rpc_client_new(&c, loop, &a, SOCK_DGRAM,
					       TP_PROG, 1, &cfg),
			 0);
	assert_int_equal(
		tether_rpc_client_call_async(c, TP_COUNT, tether_xdr_codec_u32,
					     &arg, tether_xdr_codec_u32,
					     &pc.res, NULL, 3000, pdone, &pc),
		0);
	/* The first send and three retransmissions: one XID, gaps that
	 * grow (40, 80, 160 ms nominal). */
	for (i = 0; i < 4; i++) {
		fl = sizeof(from);
		n = recv_while_running(loop, fd, buf, sizeof(buf), &from, &fl);
		assert_true(n > 0);
		t[i] = now_ms();
		tether_xdr_init_decode(&x, buf, (size_t)n, 0, NULL);
		assert_int_equal(tether_rpc_msg_decode(&x, &m), 0);
		if (i == 0)
			xid = m.xid;
		assert_int_equal(m.xid, xid);
		assert_int_equal(m.u.call.proc, TP_COUNT);
	}
	assert_true(t[2] - t[1] > t[1] - t[0]);
	assert_true(t[3] - t[2] >= 100);
	/* A reply for another XID, then the right one twice. */
	tether_rpc_msg_init_reply(&m, xid + 12345);
	rl = mkreply(buf, sizeof(buf), &m, 1, 1);
	sendto(fd, buf, rl, 0, (struct sockaddr *)&from, fl);
	tether_rpc_msg_init_reply(&m, xid);
	rl = mkreply(buf, sizeof(buf), &m, 1, 77);
	sendto(fd, buf, rl, 0, (struct sockaddr *)&from, fl);
	sendto(fd, buf, rl, 0, (struct sockaddr *)&from, fl);
	run_until(loop, &pc.done, 1);
	for (i = 0; i < 10; i++)
		tether_loop_run_once(loop, 5);
	assert_int_equal(pc.done, 1);
	assert_int_equal(pc.r.status, TETHER_RPC_ST_OK);
	assert_int_equal(pc.res, 77);

	/* A reply over the client's limit is reported as such, and an
	 * RPC_MISMATCH with its range. */
	for (i = 0; i < 2; i++) {
		memset(&pc, 0, sizeof(pc));
		assert_int_equal(tether_rpc_client_call_async(c, 0, NULL, NULL,
							      NULL, NULL, NULL,
							      3000, pdone, &pc),
				 0);
		fl = sizeof(from);
		n = recv_while_running(loop, fd, buf, sizeof(buf), &from, &fl);
		assert_true(n > 0);
		xid = tether_xdr_load32(buf);
		tether_rpc_msg_init_reply(&m, xid);
		if (i == 0) {
			static unsigned char big[70000];

			memcpy(big, buf, 4);
			tether_xdr_store32(big + 4, 1);
			sendto(fd, big, 65000, 0, (struct sockaddr *)&from, fl);
		} else {
			m.u.reply.stat = TETHER_RPC_MSG_DENIED;
			m.u.reply.reject_stat = TETHER_RPC_RPC_MISMATCH;
			m.u.reply.mismatch.low = 3;
			m.u.reply.mismatch.high = 5;
			rl = mkreply(buf, sizeof(buf), &m, 0, 0);
			sendto(fd, buf, rl, 0, (struct sockaddr *)&from, fl);
		}
		run_until(loop, &pc.done, 1);
		if (i == 0) {
			/* Default max_record is 4 MiB: 65000 fits the
			 * limit, but the bytes are no valid reply. */
			assert_int_equal(pc.r.status, TETHER_RPC_ST_OK);
		} else {
			assert_int_equal(pc.r.status,
					 TETHER_RPC_ST_RPC_MISMATCH);
			assert_int_equal(pc.r.mismatch.low, 3);
			assert_int_equal(pc.r.mismatch.high, 5);
		}
	}
	tether_rpc_client_free(c);
	close(fd);
	tether_loop_free(loop);
}

/* A relay between client and server that loses every other reply. */
struct relay {
	int fd;
	struct tether_addr server;
	struct sockaddr_storage client;
	socklen_t client_len;
	unsigned replies;
	unsigned dropped;
};

static void
relay_io(struct tether_loop *loop, int fd, unsigned events, void *ud)
{
	struct relay *r = ud;
	struct sockaddr_storage from;
	struct tether_addr fa;
	socklen_t fl = sizeof(from);
	unsigned char buf[2048];
	ssize_t n;

	(void)loop;
	(void)events;
	n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
	if (n < 0 ||
	    tether_addr_from_sockaddr(&fa, (struct sockaddr *)&from, fl) < 0)
		return;
	if (tether_addr_compare(&fa, &r->server) != 0) {
		r->client = from;
		r->client_len = fl;
		sendto(fd, buf, (size_t)n, 0,
		       (const struct sockaddr *)&r->server.ss, r->server.len);
		return;
	}
	if (r->replies++ % 2 == 0) {
		r->dropped++;
		return;
	}
	sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&r->client,
	       r->client_len);
}

/* Lost replies: the client retransmits with the same XID and the
 * server's reply cache answers without running the procedure again. */
static void
test_udp_lost_replies_at_most_once(void **state)
{
	struct fixture *f = fx_new();
	struct tether_rpc_client *c;
	struct tether_rpc_client_config cfg = { 0 };
	struct tether_rpc_server_stats st;
	struct tether_rpc_result r;
	struct tether_addr ra;
	struct relay relay;
	uint32_t i, arg = 0, res;

	(void)state;
	memset(&relay, 0, sizeof(relay));
	tether_addr_copy(&relay.server, &f->udp);
	relay.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_int_equal(tether_addr_parse(&ra, "127.0.0.1:0", -1), 0);
	assert_int_equal(bind(relay.fd, (struct sockaddr *)&ra.ss, ra.len), 0);
	ra.len = sizeof(ra.ss);
	assert_int_equal(
		getsockname(relay.fd, (struct sockaddr *)&ra.ss, &ra.len), 0);
	assert_int_equal(tether_loop_fd_add(f->loop, relay.fd, TETHER_LOOP_READ,
					    relay_io, &relay),
			 0);
	cfg.retrans_ms = 20;
	assert_int_equal(tether_rpc_client_new(&c, f->loop, &ra, SOCK_DGRAM,
					       TP_PROG, 1, &cfg),
			 0);
	for (i = 0; i < 20; i++) {
		arg = i;
		res = 0;
		assert_int_equal(tether_rpc_client_call(
					 c, TP_COUNT, tether_xdr_codec_u32,
					 &arg, tether_xdr_codec_u32, &res, NULL,
					 5000, &r),
				 TETHER_RPC_ST_OK);
		/* Each call ran exactly once, however often it was sent. */
		assert_int_equal(res, i + 1);
	}
	assert_int_equal(f->st.count, 20);
	assert_true(relay.dropped >= 20);
	tether_rpc_server_get_stats(f->srv, &st);
	assert_true(st.drc.hits_replayed >= 20);
	tether_rpc_client_free(c);
	tether_loop_fd_del(f->loop, relay.fd);
	close(relay.fd);
	fx_free(f);
}

static void
test_udp_reply_too_big(void **state)
{
	struct fixture *f = fx_new();
	struct tether_rpc_client *c;
	struct tether_rpc_client_config cfg = { 0 };
	struct tether_rpc_result r;
	struct tp_bytes b;
	uint32_t n = 3000;
	struct tether_arena *a = tether_arena_new(0, 0);

	(void)state;
	cfg.max_record = 1000;
	assert_int_equal(tether_rpc_client_new(&c, f->loop, &f->udp, SOCK_DGRAM,
					       TP_PROG, 1, &cfg),
			 0);
	assert_int_equal(tether_rpc_client_call(c, TP_BIG, tether_xdr_codec_u32,
						&n, tp_bytes_codec, &b, a, 2000,
						&r),
			 TETHER_RPC_ST_REPLY_TOO_BIG);
	n = 500;
	assert_int_equal(tether_rpc_client_call(c, TP_BIG, tether_xdr_codec_u32,
						&n, tp_bytes_codec, &b, a, 2000,
						&r),
			 TETHER_RPC_ST_OK);
	assert_int_equal(b.len, 500);
	assert_int_equal(b.data[499], 0xab);
	tether_rpc_client_free(c);
	tether_arena_free(a);
	fx_free(f);
}

static void
test_cant_connect(void **state)
{
	struct tether_rpc_client *c;
	struct tether_rpc_result r;
	struct tether_addr a;
	char buf[128];
	int fd, type;

	(void)state;
	for (type = SOCK_STREAM; type <= SOCK_DGRAM; type++) {
		/* A port nobody listens on: bind one, then close it. */
		fd = socket(AF_INET, type, 0);
		assert_int_equal(tether_addr_parse(&a, "127.0.0.1:0", -1), 0);
		assert_int_equal(bind(fd, (struct sockaddr *)&a.ss, a.len), 0);
		a.len = sizeof(a.ss);
		assert_int_equal(
			getsockname(fd, (struct sockaddr *)&a.ss, &a.len), 0);
		close(fd);
		/* Private loop: synchronous use only. */
		assert_int_equal(tether_rpc_client_new(&c, NULL, &a, type,
						       TP_PROG, 1, NULL),
				 0);
		assert_int_equal(tether_rpc_client_call(c, 0, NULL, NULL, NULL,
							NULL, NULL, 2000, &r),
				 TETHER_RPC_ST_CANTCONNECT);
		assert_tether_err(r.err, TETHER_ECONNREFUSED);
		assert_string_equal(
			tether_rpc_result_format(&r, buf, sizeof(buf)),
			"CANTCONNECT (connection refused)");
		tether_rpc_client_free(c);
	}
	assert_int_equal(tether_addr_parse(&a, "/nonexistent/tether.sock", -1),
			 0);
	assert_int_equal(tether_rpc_client_new(&c, NULL, &a, SOCK_STREAM,
					       TP_PROG, 1, NULL),
			 0);
	assert_int_equal(tether_rpc_client_call(c, 0, NULL, NULL, NULL, NULL,
						NULL, 2000, &r),
			 TETHER_RPC_ST_CANTCONNECT);
	tether_rpc_client_free(c);
	assert_tether_err(tether_rpc_client_new(&c, NULL, &a, SOCK_DGRAM,
						TP_PROG, 1, NULL),
			  TETHER_EAFNOSUPPORT);
	assert_tether_err(
		tether_rpc_client_new(&c, NULL, &a, SOCK_RAW, TP_PROG, 1, NULL),
		TETHER_EINVAL);
}

/* A TCP peer that takes the call and hangs up: the call may have run. */
static void
test_conn_lost(void **state)
{
	struct tether_loop *loop;
	struct tether_rpc_client *c;
	struct tether_addr a;
	struct pcall pc[2];
	struct pollfd pfd;
	unsigned char buf[512];
	int lfd, cfd = -1, i;

	(void)state;
	memset(pc, 0, sizeof(pc));
	assert_int_equal(tether_loop_new(&loop, NULL), 0);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(tether_addr_parse(&a, "127.0.0.1:0", -1), 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a.ss, a.len), 0);
	assert_int_equal(listen(lfd, 4), 0);
	a.len = sizeof(a.ss);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&a.ss, &a.len), 0);
	assert_int_equal(tether_rpc_client_new(&c, loop, &a, SOCK_STREAM,
					       TP_PROG, 1, NULL),
			 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(tether_rpc_client_call_async(
					 c, 0, NULL, NULL, NULL, NULL, NULL,
					 5000, pdone, &pc[i]),
				 0);
	pfd.fd = lfd;
	pfd.events = POLLIN;
	for (i = 0; i < 400 && cfd < 0; i++) {
		tether_loop_run_once(loop, 5);
		if (poll(&pfd, 1, 0) == 1)
			cfd = accept(lfd, NULL, NULL);
	}
	assert_true(cfd >= 0);
	/* Wait until both calls arrived, then hang up without a word. */
	pfd.fd = cfd;
	for (i = 0; i < 400; i++) {
		tether_loop_run_once(loop, 5);
		if (poll(&pfd, 1, 0) == 1 &&
		    recv(cfd, buf, sizeof(buf), MSG_PEEK) >= 2 * 44)
			break;
	}
	close(cfd);
	run_until(loop, &pc[1].done, 1);
	run_until(loop, &pc[0].done, 1);
	for (i = 0; i < 2; i++) {
		assert_int_equal(pc[i].r.status, TETHER_RPC_ST_CONN_LOST);
		assert_string_equal(tether_rpc_status_str(pc[i].r.status),
				    "connection lost: the call may or may "
				    "not have run");
	}
	tether_rpc_client_free(c);
	close(lfd);
	tether_loop_free(loop);
}

/* Failed connects back off: 100 ms, then 200 ms; a success resets. */
static void
test_reconnect_backoff(void **state)
{
	struct tether_loop *loop;
	struct tether_rpc_server *srv;
	struct tether_rpc_client *c;
	struct tether_rpc_result r;
	struct tether_addr a;
	struct tp_state st;
	char path[64];
	uint64_t t0;

	(void)state;
	memset(&st, 0, sizeof(st));
	snprintf(path, sizeof(path), "/tmp/tether-backoff-%d.sock",
		 (int)getpid());
	unlink(path);
	assert_int_equal(tether_addr_parse(&a, path, -1), 0);
	assert_int_equal(tether_loop_new(&loop, NULL), 0);
	assert_int_equal(tether_rpc_client_new(&c, loop, &a, SOCK_STREAM,
					       TP_PROG, 1, NULL),
			 0);
	assert_int_equal(tether_rpc_client_call(c, 0, NULL, NULL, NULL, NULL,
						NULL, 2000, &r),
			 TETHER_RPC_ST_CANTCONNECT);
	/* The server comes up; the next call waits out the backoff. */
	assert_int_equal(tether_rpc_server_new(&srv, loop, NULL), 0);
	assert_int_equal(tp_register(srv, &st), 0);
	assert_int_equal(tether_rpc_server_listen(srv, SOCK_STREAM, &a, NULL),
			 0);
	t0 = now_ms();
	assert_int_equal(tether_rpc_client_call(c, 0, NULL, NULL, NULL, NULL,
						NULL, 2000, &r),
			 TETHER_RPC_ST_OK);
	assert_true(now_ms() - t0 >= 50);
	/* The server goes: a broken connection is not a failed connect,
	 * so the next call tries at once; after that the waits grow. */
	tether_rpc_server_free(srv);
	tether_loop_run_once(loop, 10);
	assert_int_equal(tether_rpc_client_call(c, 0, NULL, NULL, NULL, NULL,
						NULL, 2000, &r),
			 TETHER_RPC_ST_CANTCONNECT);
	t0 = now_ms();
	assert_int_equal(tether_rpc_client_call(c, 0, NULL, NULL, NULL, NULL,
						NULL, 2000, &r),
			 TETHER_RPC_ST_CANTCONNECT);
	assert_true(now_ms() - t0 >= 90);
	t0 = now_ms();
	assert_int_equal(tether_rpc_client_call(c, 0, NULL, NULL, NULL, NULL,
						NULL, 2000, &r),
			 TETHER_RPC_ST_CANTCONNECT);
	assert_true(now_ms() - t0 >= 190);
	/* A call whose timeout ends within the wait times out. */
	assert_int_equal(tether_rpc_client_call(c, 0, NULL, NULL, NULL, NULL,
						NULL, 50, &r),
			 TETHER_RPC_ST_TIMEDOUT);
	tether_rpc_client_free(c);
	tether_loop_free(loop);
}

static void
test_cancel_on_free(void **state)
{
	struct fixture *f = fx_new();
	struct tether_rpc_client *c;
	struct pcall pc[3];
	uint32_t v = 1;
	int i;

	(void)state;
	memset(pc, 0, sizeof(pc));
	c = client(f, &f->tcp, SOCK_STREAM, 1);
	for (i = 0; i < 3; i++)
		assert_int_equal(tether_rpc_client_call_async(
					 c, TP_ASYNC, tether_xdr_codec_u32, &v,
					 tether_xdr_codec_u32, &pc[i].res, NULL,
					 5000, pdone, &pc[i]),
				 0);
	for (i = 0; i < 50 && f->st.nheld < 3; i++)
		tether_loop_run_once(f->loop, 5);
	assert_int_equal(f->st.nheld, 3);
	tether_rpc_client_free(c);
	for (i = 0; i < 3; i++) {
		assert_int_equal(pc[i].done, 1);
		assert_int_equal(pc[i].r.status, TETHER_RPC_ST_CANCELED);
	}
	/* The server's late replies go to a closed connection. */
	while (tp_release_one(&f->st))
		;
	fx_free(f);
}

static void
test_names_and_args(void **state)
{
	struct tether_rpc_client *c;
	struct tether_addr a;
	struct tether_rpc_result r;
	char s[100], *sp = s, buf[64];
	int i;

	(void)state;
	for (i = 0; i < TETHER_RPC_ST_MAX; i++) {
		assert_string_not_equal(tether_rpc_status_name(i), "UNKNOWN");
		assert_string_not_equal(tether_rpc_status_str(i),
					"unknown status");
	}
	assert_string_equal(tether_rpc_status_name(TETHER_RPC_ST_MAX),
			    "UNKNOWN");
	assert_string_equal(tether_rpc_status_name(TETHER_RPC_ST_TIMEDOUT),
			    "TIMEDOUT");
	memset(&r, 0, sizeof(r));
	assert_string_equal(tether_rpc_result_format(&r, buf, sizeof(buf)),
			    "OK");
	assert_string_equal(tether_rpc_result_format(&r, buf, 2), "O");
	assert_int_equal(tether_addr_parse(&a, "127.0.0.1:9", -1), 0);
	assert_int_equal(tether_rpc_client_new(&c, NULL, &a, SOCK_STREAM,
					       TP_PROG, 1, NULL),
			 0);
	/* Arguments that cannot be encoded never reach the wire. */
	memset(s, 'x', sizeof(s) - 1);
	s[sizeof(s) - 1] = 0;
	assert_int_equal(tether_rpc_client_call(c, TP_ECHO, tp_string_codec,
						&sp, NULL, NULL, NULL, 100, &r),
			 TETHER_RPC_ST_CANTENCODE_ARGS);
	assert_tether_err(r.err, TETHER_EOVERFLOW);
	assert_tether_err(tether_rpc_client_call_async(c, 0, NULL, NULL, NULL,
						       NULL, NULL, 100, NULL,
						       NULL),
			  TETHER_EINVAL);
	assert_int_equal(tether_rpc_client_pending(c), 0);
	tether_rpc_client_free(c);
	tether_rpc_client_free(NULL);
}

static void
test_alloc_failures(void **state)
{
	struct fixture *f = fx_new();
	struct tether_rpc_client *c;
	struct tether_rpc_result r;
	struct tp_pair p = { 3, 4 };
	int32_t sum;
	unsigned long i;
	int rc, ok = 0;

	(void)state;
	for (i = 1; i < 30 && !ok; i++) {
		c = NULL;
		tether_alloc_fail_at(i, 0);
		rc = tether_rpc_client_new(&c, f->loop, &f->tcp, SOCK_STREAM,
					   TP_PROG, 1, NULL);
		if (rc == 0) {
			sum = 0;
			tether_rpc_client_call(c, TP_ADD, tp_pair_codec, &p,
					       tether_xdr_codec_i32, &sum, NULL,
					       1000, &r);
			if (r.status == TETHER_RPC_ST_OK) {
				assert_int_equal(sum, 7);
				ok = tether_alloc_count() < i;
			} else {
				assert_true(
					r.status == TETHER_RPC_ST_NOMEM ||
					r.status == TETHER_RPC_ST_CANTCONNECT ||
					r.status == TETHER_RPC_ST_SYSTEM_ERR ||
					r.status == TETHER_RPC_ST_TIMEDOUT ||
					r.status == TETHER_RPC_ST_CONN_LOST ||
					r.status == TETHER_RPC_ST_CANTSEND);
			}
		} else {
			assert_tether_err(rc, TETHER_ENOMEM);
		}
		tether_alloc_fail_at(0, 0);
		tether_rpc_client_free(c);
	}
	assert_true(ok);
	fx_free(f);
}

/* A program that answers with the caller's address as the server saw
 * it (host only), for the source option. */
#define SRC_PROG 0x20000102u

static void
src_peer(struct tether_rpc_server_call *call, void *args, void *ud)
{
	char *text = tether_arena_alloc(tether_rpc_server_call_arena(call),
					TETHER_ADDR_STRLEN);

	(void)args;
	(void)ud;
	if (text == NULL ||
	    tether_addr_format(tether_rpc_server_call_peer(call), text,
			       TETHER_ADDR_STRLEN, TETHER_ADDR_FMT_NOPORT) < 0) {
		tether_rpc_server_reply_error(call, TETHER_RPC_SYSTEM_ERR);
		return;
	}
	tether_rpc_server_reply(call, &text);
}

static const struct tether_rpc_server_proc src_procs[] = {
	{ 1, NULL, 0, tp_string_codec, src_peer },
};

static const struct tether_rpc_server_table src_table = {
	SRC_PROG, 1, src_procs, TETHER_ARRAY_SIZE(src_procs), 0
};

/* The caller's address the server saw, through a client made with cfg;
 * the call's status. */
static enum tether_rpc_status
src_call(struct fixture *f, const struct tether_addr *a, int type,
	 const struct tether_rpc_client_config *cfg, char *seen, size_t n)
{
	struct tether_rpc_client *c;
	struct tether_arena *arena = tether_arena_new(0, 0);
	enum tether_rpc_status st;
	char *peer = NULL;
	int i;

	assert_int_equal(tether_rpc_client_new(&c, f->loop, a, type, SRC_PROG,
					       1, cfg),
			 0);
	/* Two calls: the second may reuse the connection, or (UDP) the
	 * socket; both come from the same source. */
	for (i = 0; i < 2; i++) {
		st = tether_rpc_client_call(c, 1, NULL, NULL, tp_string_codec,
					    &peer, arena, 2000, NULL);
		if (st != TETHER_RPC_ST_OK)
			break;
		snprintf(seen, n, "%s", peer);
	}
	tether_rpc_client_free(c);
	tether_arena_free(arena);
	return st;
}

static void
test_source_address(void **state)
{
	struct fixture *f = fx_new();
	struct tether_rpc_client_config cfg = { 0 };
	struct tether_rpc_client *c;
	struct tether_rpc_result r;
	char seen[TETHER_ADDR_STRLEN];
	int type;

	(void)state;
	assert_int_equal(tether_rpc_server_register(f->srv, &src_table, NULL),
			 0);
	for (type = SOCK_STREAM; type <= SOCK_DGRAM; type++) {
		const struct tether_addr *a =
			type == SOCK_STREAM ? &f->tcp : &f->udp;

		/* Without a source, loopback picks 127.0.0.1. */
		assert_int_equal(src_call(f, a, type, NULL, seen, sizeof(seen)),
				 TETHER_RPC_ST_OK);
		assert_string_equal(seen, "127.0.0.1");
		/* Any address of 127/8 is local on Linux's lo. */
		assert_int_equal(
			tether_addr_parse(&cfg.source, "127.1.0.7:0", -1), 0);
		assert_int_equal(src_call(f, a, type, &cfg, seen, sizeof(seen)),
				 TETHER_RPC_ST_OK);
		assert_string_equal(seen, "127.1.0.7");
		assert_int_equal(
			tether_addr_parse(&cfg.source, "127.1.0.8:0", -1), 0);
		assert_int_equal(src_call(f, a, type, &cfg, seen, sizeof(seen)),
				 TETHER_RPC_ST_OK);
		assert_string_equal(seen, "127.1.0.8");
		/* An address this host does not have: the call cannot
		 * connect, and says why. */
		assert_int_equal(
			tether_addr_parse(&cfg.source, "192.0.2.1:0", -1), 0);
		assert_int_equal(tether_rpc_client_new(&c, f->loop, a, type,
						       SRC_PROG, 1, &cfg),
				 0);
		assert_int_equal(tether_rpc_client_call(c, 1, NULL, NULL, NULL,
							NULL, NULL, 1000, &r),
				 TETHER_RPC_ST_CANTCONNECT);
		assert_true(r.err < 0);
		tether_rpc_client_free(c);
	}
	/* A source of another family, or with an AF_UNIX server. */
	assert_int_equal(tether_addr_parse(&cfg.source, "[::1]:0", -1), 0);
	assert_tether_err(tether_rpc_client_new(&c, f->loop, &f->tcp,
						SOCK_STREAM, SRC_PROG, 1, &cfg),
			  TETHER_EINVAL);
	assert_int_equal(tether_addr_parse(&cfg.source, "127.0.0.1:0", -1), 0);
	assert_tether_err(tether_rpc_client_new(&c, f->loop, &f->local,
						SOCK_STREAM, SRC_PROG, 1, &cfg),
			  TETHER_EINVAL);
	fx_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transports),
		cmocka_unit_test(test_statuses),
		cmocka_unit_test(test_pipelining),
		cmocka_unit_test(test_udp_retransmit_and_duplicates),
		cmocka_unit_test(test_udp_lost_replies_at_most_once),
		cmocka_unit_test(test_udp_reply_too_big),
		cmocka_unit_test(test_cant_connect),
		cmocka_unit_test(test_conn_lost),
		cmocka_unit_test(test_reconnect_backoff),
		cmocka_unit_test(test_cancel_on_free),
		cmocka_unit_test(test_names_and_args),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test(test_source_address),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
