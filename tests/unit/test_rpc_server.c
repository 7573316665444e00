/*
 * test_rpc_server.c - the server runtime: every protocol answer, the
 * NULL procedure, AUTH_SYS handed to procedures, asynchronous replies,
 * limits (record size, calls in flight, connections, idle time), the
 * reply cache seen through the server, real TCP / UDP / AF_UNIX
 * sockets on the loop, and allocation failures.
 */
#include "tether_test.h"
#include "rpc/rpc_int.h"
#include "rpc_testprog.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A parsed reply. */
struct rep {
	struct tether_rpc_msg m;
	const unsigned char *body; /* results */
	size_t blen;
};

/* Build a framed call record into out (cap bytes); returns its length. */
static size_t
mkcall(unsigned char *out, size_t cap, uint32_t xid, uint32_t rpcvers,
       uint32_t prog, uint32_t vers, uint32_t proc,
       const struct tether_rpc_opaque_auth *cred, tether_xdr_fn *codec,
       const void *args)
{
	struct tether_rpc_msg m;
	struct tether_xdr x;

	tether_rpc_msg_init_call(&m, xid, prog, vers, proc);
	m.u.call.rpcvers = rpcvers;
	if (cred != NULL)
		m.u.call.cred = *cred;
	tether_xdr_init_encode(&x, out + 4, cap - 4);
	assert_int_equal(tether_rpc_msg_encode(&x, &m), 0);
	if (codec != NULL)
		assert_int_equal(codec(&x, (void *)(uintptr_t)args), 0);
	tether_xdr_store32(out, TETHER_RPC_RM_LAST_FRAG |
					(uint32_t)tether_xdr_getpos(&x));
	return 4 + tether_xdr_getpos(&x);
}

/* Split a stream of framed single-fragment replies. Returns the count. */
static size_t
parse_replies(const unsigned char *p, size_t len, struct rep *out, size_t max)
{
	size_t n = 0, off = 0, rl;
	struct tether_xdr x;

	while (off < len) {
		assert_true(len - off >= 4);
		rl = tether_xdr_load32(p + off) & TETHER_RPC_RM_LEN_MASK;
		assert_true(tether_xdr_load32(p + off) &
			    TETHER_RPC_RM_LAST_FRAG);
		assert_true(len - off - 4 >= rl);
		assert_true(n < max);
		tether_xdr_init_decode(&x, p + off + 4, rl, 0, NULL);
		assert_int_equal(tether_rpc_msg_decode(&x, &out[n].m), 0);
		assert_int_equal(out[n].m.type, TETHER_RPC_REPLY);
		out[n].body = p + off + 4 + out[n].m.body_pos;
		out[n].blen = rl - out[n].m.body_pos;
		n++;
		off += 4 + rl;
	}
	return n;
}

struct fixture {
	struct tether_loop *loop;
	struct tether_rpc_server *srv;
	struct tether__rpc_svc_conn *conn;
	struct tp_state st;
	struct rep reps[64];
	unsigned char buf[1 << 16];
};

static struct fixture *
fx_new(const struct tether_rpc_server_config *cfg)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(tether_loop_new(&f->loop, NULL), 0);
	assert_int_equal(tether_rpc_server_new(&f->srv, f->loop, cfg), 0);
	assert_int_equal(tp_register(f->srv, &f->st), 0);
	assert_int_equal(tether__rpc_server_fake_conn(f->srv, &f->conn), 0);
	return f;
}

static void
fx_free(struct fixture *f)
{
	tether_rpc_server_free(f->srv);
	tether_loop_free(f->loop);
	free(f);
}

/* Feed one call and return the number of replies produced (parsed into
 * f->reps); the output is then cleared. */
static size_t
fx_call(struct fixture *f, uint32_t xid, uint32_t rpcvers, uint32_t vers,
	uint32_t proc, const struct tether_rpc_opaque_auth *cred,
	tether_xdr_fn *codec, const void *args)
{
	size_t n = mkcall(f->buf, sizeof(f->buf), xid, rpcvers, TP_PROG, vers,
			  proc, cred, codec, args);
	const unsigned char *out;
	size_t olen, nr;

	assert_int_equal(tether__rpc_server_feed(f->conn, f->buf, n), n);
	out = tether__rpc_server_output(f->conn, &olen);
	nr = parse_replies(out, olen, f->reps, 64);
	/* The parsed pointers stay valid: clear only resets offsets. */
	tether__rpc_server_output_clear(f->conn);
	return nr;
}

static void
assert_accept(const struct rep *r, uint32_t xid, enum tether_rpc_accept_stat st)
{
	assert_int_equal(r->m.xid, xid);
	assert_int_equal(r->m.u.reply.stat, TETHER_RPC_MSG_ACCEPTED);
	assert_string_equal(
		tether_rpc_accept_stat_name(r->m.u.reply.accept_stat),
		tether_rpc_accept_stat_name(st));
}

static void
assert_denied(const struct rep *r, uint32_t xid, enum tether_rpc_reject_stat rs,
	      uint32_t auth)
{
	assert_int_equal(r->m.xid, xid);
	assert_int_equal(r->m.u.reply.stat, TETHER_RPC_MSG_DENIED);
	assert_int_equal(r->m.u.reply.reject_stat, rs);
	if (rs == TETHER_RPC_AUTH_ERROR)
		assert_string_equal(
			tether_rpc_auth_stat_name(r->m.u.reply.auth_stat),
			tether_rpc_auth_stat_name(auth));
}

static uint32_t
body_u32(const struct rep *r)
{
	assert_true(r->blen >= 4);
	return tether_xdr_load32(r->body);
}

static void
test_success_paths(void **state)
{
	struct fixture *f = fx_new(NULL);
	struct tp_pair p = { 40, 2 };
	const char *s = "hello, world";
	char *got = NULL;
	struct tether_xdr x;
	struct tether_arena *a = tether_arena_new(0, 0);

	(void)state;
	assert_int_equal(fx_call(f, 1, 2, 1, TP_ADD, NULL, tp_pair_codec, &p),
			 1);
	assert_accept(&f->reps[0], 1, TETHER_RPC_SUCCESS);
	assert_int_equal(body_u32(&f->reps[0]), 42);
	assert_int_equal(f->reps[0].blen, 4);

	assert_int_equal(
		fx_call(f, 2, 2, 1, TP_ECHO, NULL, tp_string_codec, &s), 1);
	assert_accept(&f->reps[0], 2, TETHER_RPC_SUCCESS);
	tether_xdr_init_decode(&x, f->reps[0].body, f->reps[0].blen, 0, a);
	assert_int_equal(tp_string_codec(&x, &got), 0);
	assert_string_equal(got, s);
	tether_arena_free(a);
	fx_free(f);
}

static void
test_null_proc_every_version(void **state)
{
	struct fixture *f = fx_new(NULL);
	struct tether_rpc_authsys sys;
	struct tether_rpc_opaque_auth cred;
	uint32_t v;

	(void)state;
	assert_int_equal(
		tether_rpc_authsys_init(&sys, 1, "host", 7, 7, 0, NULL), 0);
	assert_int_equal(tether_rpc_authsys_encode(&sys, &cred), 0);
	for (v = 1; v <= 4; v++) {
		if (v == 3)
			continue;
		assert_int_equal(fx_call(f, 10 + v, 2, v, 0, &cred, NULL, NULL),
				 1);
		assert_accept(&f->reps[0], 10 + v, TETHER_RPC_SUCCESS);
		assert_int_equal(f->reps[0].blen, 0);
	}
	fx_free(f);
}

static void
test_protocol_errors(void **state)
{
	struct fixture *f = fx_new(NULL);
	struct tether_rpc_opaque_auth bad, dh;
	uint32_t v = 5;
	const unsigned char junk[4] = { 0, 0, 0, 9 }; /* len 9, no data */

	(void)state;
	/* Unknown program. */
	{
		size_t n = mkcall(f->buf, sizeof(f->buf), 100, 2, 0x31337, 1, 0,
				  NULL, NULL, NULL);
		const unsigned char *out;
		size_t olen;

		assert_int_equal(tether__rpc_server_feed(f->conn, f->buf, n),
				 n);
		out = tether__rpc_server_output(f->conn, &olen);
		assert_int_equal(parse_replies(out, olen, f->reps, 64), 1);
		assert_accept(&f->reps[0], 100, TETHER_RPC_PROG_UNAVAIL);
		tether__rpc_server_output_clear(f->conn);
	}
	/* Unknown version: the range of those registered, 1..4. */
	assert_int_equal(fx_call(f, 101, 2, 3, 0, NULL, NULL, NULL), 1);
	assert_accept(&f->reps[0], 101, TETHER_RPC_PROG_MISMATCH);
	assert_int_equal(f->reps[0].m.u.reply.mismatch.low, 1);
	assert_int_equal(f->reps[0].m.u.reply.mismatch.high, 4);
	/* Unknown procedure. */
	assert_int_equal(fx_call(f, 102, 2, 1, 99, NULL, NULL, NULL), 1);
	assert_accept(&f->reps[0], 102, TETHER_RPC_PROC_UNAVAIL);
	assert_int_equal(fx_call(f, 103, 2, 4, 1, NULL, NULL, NULL), 1);
	assert_accept(&f->reps[0], 103, TETHER_RPC_PROC_UNAVAIL);
	/* Arguments missing, or a string whose bytes are not there. */
	assert_int_equal(
		fx_call(f, 104, 2, 1, TP_ADD, NULL, tether_xdr_codec_u32, &v),
		1);
	assert_accept(&f->reps[0], 104, TETHER_RPC_GARBAGE_ARGS);
	{
		size_t n = mkcall(f->buf, sizeof(f->buf), 105, 2, TP_PROG, 1,
				  TP_ECHO, NULL, NULL, NULL);
		const unsigned char *out;
		size_t olen;

		/* Append 4 bytes of arguments to the record. */
		memcpy(f->buf + n, junk, 4);
		tether_xdr_store32(f->buf, TETHER_RPC_RM_LAST_FRAG |
						   (uint32_t)(n - 4 + 4));
		assert_int_equal(
			tether__rpc_server_feed(f->conn, f->buf, n + 4), n + 4);
		out = tether__rpc_server_output(f->conn, &olen);
		assert_int_equal(parse_replies(out, olen, f->reps, 64), 1);
		assert_accept(&f->reps[0], 105, TETHER_RPC_GARBAGE_ARGS);
		tether__rpc_server_output_clear(f->conn);
	}
	/* A procedure that fails. */
	assert_int_equal(fx_call(f, 106, 2, 1, TP_FAIL, NULL, NULL, NULL), 1);
	assert_accept(&f->reps[0], 106, TETHER_RPC_SYSTEM_ERR);
	/* RPC version 3. */
	assert_int_equal(fx_call(f, 107, 3, 1, 0, NULL, NULL, NULL), 1);
	assert_denied(&f->reps[0], 107, TETHER_RPC_RPC_MISMATCH, 0);
	assert_int_equal(f->reps[0].m.u.reply.mismatch.low, 2);
	assert_int_equal(f->reps[0].m.u.reply.mismatch.high, 2);
	/* A malformed AUTH_SYS body, and a flavor we do not serve. */
	assert_int_equal(
		tether_rpc_auth_set(&bad, TETHER_RPC_AUTH_SYS, "\0\0\0\1", 4),
		0);
	assert_int_equal(fx_call(f, 108, 2, 1, 0, &bad, NULL, NULL), 1);
	assert_denied(&f->reps[0], 108, TETHER_RPC_AUTH_ERROR,
		      TETHER_RPC_AUTH_BADCRED);
	assert_int_equal(
		tether_rpc_auth_set(&dh, TETHER_RPC_AUTH_DH, "abcd", 4), 0);
	assert_int_equal(fx_call(f, 109, 2, 1, 0, &dh, NULL, NULL), 1);
	assert_denied(&f->reps[0], 109, TETHER_RPC_AUTH_ERROR,
		      TETHER_RPC_AUTH_REJECTEDCRED);
	/* Version 2 requires AUTH_SYS. */
	assert_int_equal(fx_call(f, 110, 2, 2, TP_ADD, NULL, NULL, NULL), 1);
	assert_denied(&f->reps[0], 110, TETHER_RPC_AUTH_ERROR,
		      TETHER_RPC_AUTH_TOOWEAK);
	/* A procedure's own auth decision. */
	assert_int_equal(fx_call(f, 111, 2, 1, TP_WHOAMI, NULL, NULL, NULL), 1);
	assert_denied(&f->reps[0], 111, TETHER_RPC_AUTH_ERROR,
		      TETHER_RPC_AUTH_TOOWEAK);
	/* A dropped call gets no answer. */
	assert_int_equal(fx_call(f, 112, 2, 1, TP_DROP, NULL, NULL, NULL), 0);
	assert_int_equal(f->st.ndropped, 1);
	assert_false(tether__rpc_server_conn_dead(f->conn));
	fx_free(f);
}

static void
test_authsys_handed_over(void **state)
{
	struct fixture *f = fx_new(NULL);
	struct tether_rpc_authsys sys;
	struct tether_rpc_opaque_auth cred;
	const uint32_t gids[3] = { 1, 2, 3 };
	struct tp_pair p = { 1, 1 };

	(void)state;
	assert_int_equal(
		tether_rpc_authsys_init(&sys, 9, "client", 1234, 99, 3, gids),
		0);
	assert_int_equal(tether_rpc_authsys_encode(&sys, &cred), 0);
	assert_int_equal(fx_call(f, 1, 2, 1, TP_WHOAMI, &cred, NULL, NULL), 1);
	assert_accept(&f->reps[0], 1, TETHER_RPC_SUCCESS);
	assert_int_equal(body_u32(&f->reps[0]), 1234);
	assert_int_equal(fx_call(f, 2, 2, 2, TP_ADD, &cred, tp_pair_codec, &p),
			 1);
	assert_accept(&f->reps[0], 2, TETHER_RPC_SUCCESS);
	assert_int_equal(body_u32(&f->reps[0]), 2);
	fx_free(f);
}

static void
test_not_calls_dropped(void **state)
{
	struct fixture *f = fx_new(NULL);
	struct tether_rpc_msg m;
	struct tether_xdr x;
	unsigned char rec[64];
	size_t olen;

	(void)state;
	/* A reply sent to the server, and a truncated header. */
	tether_rpc_msg_init_reply(&m, 5);
	tether_xdr_init_encode(&x, rec + 4, sizeof(rec) - 4);
	assert_int_equal(tether_rpc_msg_encode(&x, &m), 0);
	tether_xdr_store32(rec, TETHER_RPC_RM_LAST_FRAG |
					(uint32_t)tether_xdr_getpos(&x));
	assert_int_equal(tether__rpc_server_feed(f->conn, rec,
						 4 + tether_xdr_getpos(&x)),
			 4 + tether_xdr_getpos(&x));
	tether_xdr_store32(rec, TETHER_RPC_RM_LAST_FRAG | 8);
	memset(rec + 4, 0, 8);
	assert_int_equal(tether__rpc_server_feed(f->conn, rec, 12), 12);
	tether__rpc_server_output(f->conn, &olen);
	assert_int_equal(olen, 0);
	assert_false(tether__rpc_server_conn_dead(f->conn));
	/* The connection still serves. */
	assert_int_equal(fx_call(f, 6, 2, 1, 0, NULL, NULL, NULL), 1);
	fx_free(f);
}

/* Many calls in one buffer, fed whole and byte by byte: same replies. */
static void
test_pipelined_and_split(void **state)
{
	struct fixture *f = fx_new(NULL);
	unsigned char stream[4096], out1[4096];
	size_t len = 0, olen, olen1, i;
	struct tp_pair p;
	const unsigned char *out;

	(void)state;
	for (i = 0; i < 10; i++) {
		p.a = (int32_t)i;
		p.b = 100;
		len += mkcall(stream + len, sizeof(stream) - len,
			      (uint32_t)(1000 + i), 2, TP_PROG, 1, TP_ADD, NULL,
			      tp_pair_codec, &p);
	}
	assert_int_equal(tether__rpc_server_feed(f->conn, stream, len), len);
	out = tether__rpc_server_output(f->conn, &olen1);
	memcpy(out1, out, olen1);
	assert_int_equal(parse_replies(out1, olen1, f->reps, 64), 10);
	for (i = 0; i < 10; i++) {
		assert_accept(&f->reps[i], (uint32_t)(1000 + i),
			      TETHER_RPC_SUCCESS);
		assert_int_equal(body_u32(&f->reps[i]), 100 + i);
	}
	tether__rpc_server_output_clear(f->conn);
	/* Again, one byte at a time: the cache answers the same bytes. */
	for (i = 0; i < len; i++)
		assert_int_equal(
			tether__rpc_server_feed(f->conn, stream + i, 1), 1);
	out = tether__rpc_server_output(f->conn, &olen);
	assert_int_equal(olen, olen1);
	assert_memory_equal(out, out1, olen);
	fx_free(f);
}

static void
test_async_and_inflight_limit(void **state)
{
	struct tether_rpc_server_config cfg = { 0 };
	struct fixture *f;
	unsigned char stream[1024];
	size_t len = 0, used, olen;
	uint32_t v;
	struct tether_rpc_server_stats st;

	(void)state;
	cfg.max_inflight = 2;
	f = fx_new(&cfg);
	for (v = 0; v < 4; v++)
		len += mkcall(stream + len, sizeof(stream) - len, 200 + v, 2,
			      TP_PROG, 1, TP_ASYNC, NULL, tether_xdr_codec_u32,
			      &v);
	/* Two calls are taken; the connection then waits. */
	used = tether__rpc_server_feed(f->conn, stream, len);
	assert_int_equal(f->st.nheld, 2);
	assert_true(used < len);
	tether_rpc_server_get_stats(f->srv, &st);
	assert_int_equal(st.calls_pending, 2);
	tether__rpc_server_output(f->conn, &olen);
	assert_int_equal(olen, 0);
	/* Answering one lets one more in. */
	assert_int_equal(tp_release_one(&f->st), 1);
	used += tether__rpc_server_feed(f->conn, stream + used, len - used);
	assert_int_equal(f->st.nheld, 2);
	assert_true(used < len);
	assert_int_equal(tp_release_one(&f->st), 1);
	used += tether__rpc_server_feed(f->conn, stream + used, len - used);
	assert_int_equal(used, len);
	while (tp_release_one(&f->st))
		;
	{
		const unsigned char *out =
			tether__rpc_server_output(f->conn, &olen);

		assert_int_equal(parse_replies(out, olen, f->reps, 64), 4);
		for (v = 0; v < 4; v++) {
			assert_accept(&f->reps[v], 200 + v, TETHER_RPC_SUCCESS);
			assert_int_equal(body_u32(&f->reps[v]), 1000 + v);
		}
	}
	/* Held calls outlive their connection; the reply is discarded. */
	v = 9;
	len = mkcall(stream, sizeof(stream), 300, 2, TP_PROG, 1, TP_ASYNC, NULL,
		     tether_xdr_codec_u32, &v);
	assert_int_equal(tether__rpc_server_feed(f->conn, stream, len), len);
	assert_int_equal(f->st.nheld, 1);
	tether__rpc_server_conn_close(f->conn);
	assert_int_equal(tp_release_one(&f->st), 1);
	tether_rpc_server_get_stats(f->srv, &st);
	assert_int_equal(st.calls_pending, 0);
	/* A held call still pending when the server goes: no leak. */
	assert_int_equal(tether__rpc_server_fake_conn(f->srv, &f->conn), 0);
	assert_int_equal(tether__rpc_server_feed(f->conn, stream, len), len);
	fx_free(f);
}

static void
test_record_limit(void **state)
{
	struct tether_rpc_server_config cfg = { 0 };
	struct fixture *f;
	struct tether_rpc_server_stats st;
	unsigned char hdr[4];
	uint32_t n = 100000;

	(void)state;
	cfg.max_record = 1024;
	f = fx_new(&cfg);
	/* A record announcing more than max_record: the connection dies. */
	tether_xdr_store32(hdr, TETHER_RPC_RM_LAST_FRAG | 2000);
	tether__rpc_server_feed(f->conn, hdr, 4);
	assert_true(tether__rpc_server_conn_dead(f->conn));
	tether_rpc_server_get_stats(f->srv, &st);
	assert_int_equal(st.conns_oversize, 1);
	tether__rpc_server_conn_close(f->conn);
	/* A reply over max_record becomes SYSTEM_ERR. */
	assert_int_equal(tether__rpc_server_fake_conn(f->srv, &f->conn), 0);
	assert_int_equal(
		fx_call(f, 1, 2, 1, TP_BIG, NULL, tether_xdr_codec_u32, &n), 1);
	assert_accept(&f->reps[0], 1, TETHER_RPC_SYSTEM_ERR);
	n = 100;
	assert_int_equal(
		fx_call(f, 2, 2, 1, TP_BIG, NULL, tether_xdr_codec_u32, &n), 1);
	assert_accept(&f->reps[0], 2, TETHER_RPC_SUCCESS);
	assert_int_equal(body_u32(&f->reps[0]), 100);
	fx_free(f);
}

static void
test_drc_at_most_once(void **state)
{
	struct fixture *f = fx_new(NULL);
	struct tether_rpc_server_stats st;
	uint32_t v = 1, w = 2;
	struct rep first;

	(void)state;
	assert_int_equal(
		fx_call(f, 77, 2, 1, TP_COUNT, NULL, tether_xdr_codec_u32, &v),
		1);
	first = f->reps[0];
	assert_int_equal(body_u32(&first), 1);
	/* The same call again: replayed, not run. */
	assert_int_equal(
		fx_call(f, 77, 2, 1, TP_COUNT, NULL, tether_xdr_codec_u32, &v),
		1);
	assert_int_equal(body_u32(&f->reps[0]), 1);
	assert_int_equal(f->st.count, 1);
	/* Same XID, other arguments: a new call. */
	assert_int_equal(
		fx_call(f, 77, 2, 1, TP_COUNT, NULL, tether_xdr_codec_u32, &w),
		1);
	assert_int_equal(body_u32(&f->reps[0]), 2);
	/* A retransmission on a new connection is answered from cache. */
	tether__rpc_server_conn_close(f->conn);
	assert_int_equal(tether__rpc_server_fake_conn(f->srv, &f->conn), 0);
	assert_int_equal(
		fx_call(f, 77, 2, 1, TP_COUNT, NULL, tether_xdr_codec_u32, &w),
		1);
	assert_int_equal(body_u32(&f->reps[0]), 2);
	assert_int_equal(f->st.count, 2);
	/* A duplicate of a call still running is dropped. */
	assert_int_equal(
		fx_call(f, 78, 2, 1, TP_ASYNC, NULL, tether_xdr_codec_u32, &v),
		0);
	assert_int_equal(
		fx_call(f, 78, 2, 1, TP_ASYNC, NULL, tether_xdr_codec_u32, &v),
		0);
	assert_int_equal(f->st.nheld, 1);
	tp_release_one(&f->st);
	{
		size_t olen;
		const unsigned char *out =
			tether__rpc_server_output(f->conn, &olen);

		assert_int_equal(parse_replies(out, olen, f->reps, 64), 1);
		assert_int_equal(body_u32(&f->reps[0]), 1001);
		tether__rpc_server_output_clear(f->conn);
	}
	/* Once done, it replays. */
	assert_int_equal(
		fx_call(f, 78, 2, 1, TP_ASYNC, NULL, tether_xdr_codec_u32, &v),
		1);
	assert_int_equal(body_u32(&f->reps[0]), 1001);
	assert_int_equal(f->st.nheld, 0);
	/* A dropped call is not cached: its retransmission runs. */
	assert_int_equal(fx_call(f, 79, 2, 1, TP_DROP, NULL, NULL, NULL), 0);
	assert_int_equal(fx_call(f, 79, 2, 1, TP_DROP, NULL, NULL, NULL), 0);
	assert_int_equal(f->st.ndropped, 2);
	tether_rpc_server_get_stats(f->srv, &st);
	assert_int_equal(st.drc.hits_replayed, 3);
	assert_int_equal(st.drc.hits_in_progress, 1);
	assert_int_equal(st.drc.in_progress, 0);
	fx_free(f);
}

static void
test_no_drc(void **state)
{
	struct tether_rpc_server_config cfg = { 0 };
	struct fixture *f;
	uint32_t v = 1;

	(void)state;
	cfg.no_drc = 1;
	f = fx_new(&cfg);
	assert_int_equal(
		fx_call(f, 5, 2, 1, TP_COUNT, NULL, tether_xdr_codec_u32, &v),
		1);
	assert_int_equal(
		fx_call(f, 5, 2, 1, TP_COUNT, NULL, tether_xdr_codec_u32, &v),
		1);
	assert_int_equal(body_u32(&f->reps[0]), 2);
	fx_free(f);
}

static void
test_register_errors(void **state)
{
	struct fixture *f = fx_new(NULL);
	struct tether_rpc_server_table bad = { 1, 1, NULL, 3, 0 };

	(void)state;
	assert_tether_err(
		tether_rpc_server_register(f->srv, &tp_table_v1, NULL),
		TETHER_EEXIST);
	assert_tether_err(tether_rpc_server_register(f->srv, &bad, NULL),
			  TETHER_EINVAL);
	assert_tether_err(tether_rpc_server_unregister(f->srv, TP_PROG, 9),
			  TETHER_ENOENT);
	assert_int_equal(tether_rpc_server_unregister(f->srv, TP_PROG, 4), 0);
	/* Now 1..2. */
	assert_int_equal(fx_call(f, 1, 2, 4, 0, NULL, NULL, NULL), 1);
	assert_accept(&f->reps[0], 1, TETHER_RPC_PROG_MISMATCH);
	assert_int_equal(f->reps[0].m.u.reply.mismatch.high, 2);
	fx_free(f);
}

/* A procedure that answers with the value its table's ud points at,
 * read through the call handle; the handle's ud must be the ud it was
 * given. */
static void
ud_value(struct tether_rpc_server_call *call, void *args, void *ud)
{
	uint32_t *v = tether_rpc_server_call_ud(call);

	(void)args;
	assert_ptr_equal(v, ud);
	tether_rpc_server_reply(call, v);
}

static void
test_call_ud(void **state)
{
	static const struct tether_rpc_server_proc procs[] = {
		{ 1, NULL, 0, tether_xdr_codec_u32, ud_value },
	};
	static const struct tether_rpc_server_table t1 = { TP_PROG + 1, 1,
							   procs, 1, 0 };
	static const struct tether_rpc_server_table t2 = { TP_PROG + 1, 2,
							   procs, 1, 0 };
	struct fixture *f = fx_new(NULL);
	uint32_t one = 111, two = 222, vers, xid = 1;
	const unsigned char *out;
	size_t n, olen;

	(void)state;
	assert_int_equal(tether_rpc_server_register(f->srv, &t1, &one), 0);
	assert_int_equal(tether_rpc_server_register(f->srv, &t2, &two), 0);
	for (vers = 1; vers <= 2; vers++) {
		n = mkcall(f->buf, sizeof(f->buf), xid, 2, TP_PROG + 1, vers, 1,
			   NULL, NULL, NULL);
		assert_int_equal(tether__rpc_server_feed(f->conn, f->buf, n),
				 n);
		out = tether__rpc_server_output(f->conn, &olen);
		assert_int_equal(parse_replies(out, olen, f->reps, 64), 1);
		tether__rpc_server_output_clear(f->conn);
		assert_accept(&f->reps[0], xid, TETHER_RPC_SUCCESS);
		assert_int_equal(body_u32(&f->reps[0]), vers == 1 ? 111 : 222);
		xid++;
	}
	/* The test program's own table was registered with its state. */
	assert_int_equal(fx_call(f, xid, 2, 1, TP_ASYNC, NULL,
				 tether_xdr_codec_u32, &one),
			 0);
	assert_int_equal(f->st.nheld, 1);
	assert_ptr_equal(tether_rpc_server_call_ud(f->st.held[0]), &f->st);
	assert_int_equal(tp_release_one(&f->st), 1);
	fx_free(f);
}

/* ------------------------------------------------------------------ */
/* Real sockets                                                        */
/* ------------------------------------------------------------------ */

/* Run the loop until fd is readable (or 2 s pass). */
static void
run_until_readable(struct tether_loop *loop, int fd)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	int i;

	for (i = 0; i < 400; i++) {
		tether_loop_run_once(loop, 5);
		if (poll(&pfd, 1, 0) == 1)
			return;
	}
	fail_msg("no reply");
}

static int
connect_to(const struct tether_addr *a, int type)
{
	int fd = socket(a->ss.ss_family, type, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (const struct sockaddr *)&a->ss, a->len),
			 0);
	return fd;
}

static void
socket_roundtrip(struct fixture *f, int fd, int stream, uint32_t xid)
{
	struct tp_pair p = { 20, 22 };
	size_t n = mkcall(f->buf, sizeof(f->buf), xid, 2, TP_PROG, 1, TP_ADD,
			  NULL, tp_pair_codec, &p);
	unsigned char in[512];
	ssize_t r;
	struct rep rep;

	if (stream)
		assert_int_equal(send(fd, f->buf, n, 0), (ssize_t)n);
	else
		assert_int_equal(send(fd, f->buf + 4, n - 4, 0),
				 (ssize_t)(n - 4));
	run_until_readable(f->loop, fd);
	r = recv(fd, stream ? in : in + 4, stream ? sizeof(in) : 500, 0);
	assert_true(r > 0);
	if (!stream) {
		tether_xdr_store32(in, TETHER_RPC_RM_LAST_FRAG | (uint32_t)r);
		r += 4;
	}
	assert_int_equal(parse_replies(in, (size_t)r, &rep, 1), 1);
	assert_accept(&rep, xid, TETHER_RPC_SUCCESS);
	assert_int_equal(body_u32(&rep), 42);
}

static void
test_sockets(void **state)
{
	struct fixture *f = fx_new(NULL);
	struct tether_addr a, b;
	char path[64];
	int fd;

	(void)state;
	assert_int_equal(tether_addr_parse(&a, "127.0.0.1:0", -1), 0);
	assert_int_equal(tether_rpc_server_listen(f->srv, SOCK_STREAM, &a, &b),
			 0);
	assert_true(tether_addr_port(&b) > 0);
	fd = connect_to(&b, SOCK_STREAM);
	socket_roundtrip(f, fd, 1, 1);
	socket_roundtrip(f, fd, 1, 2);
	close(fd);

	assert_int_equal(tether_rpc_server_listen(f->srv, SOCK_DGRAM, &a, &b),
			 0);
	fd = connect_to(&b, SOCK_DGRAM);
	socket_roundtrip(f, fd, 0, 3);
	close(fd);

	assert_int_equal(tether_addr_parse(&a, "[::1]:0", -1), 0);
	if (tether_rpc_server_listen(f->srv, SOCK_STREAM, &a, &b) == 0) {
		fd = connect_to(&b, SOCK_STREAM);
		socket_roundtrip(f, fd, 1, 4);
		close(fd);
	}

	snprintf(path, sizeof(path), "/tmp/tether-svc-%d.sock", (int)getpid());
	assert_int_equal(tether_addr_parse(&a, path, -1), 0);
	assert_int_equal(tether_rpc_server_listen(f->srv, SOCK_STREAM, &a, &b),
			 0);
	fd = connect_to(&b, SOCK_STREAM);
	socket_roundtrip(f, fd, 1, 5);
	close(fd);
	assert_tether_err(
		tether_rpc_server_listen(f->srv, SOCK_DGRAM, &a, NULL),
		TETHER_EAFNOSUPPORT);
	assert_tether_err(tether_rpc_server_listen(f->srv, SOCK_RAW, &a, NULL),
			  TETHER_EINVAL);
	fx_free(f);
	/* The socket file is removed with the server. */
	assert_int_equal(access(path, F_OK), -1);
}

static void
test_conn_limits(void **state)
{
	struct tether_rpc_server_config cfg = { 0 };
	struct fixture *f;
	struct tether_addr a, b;
	struct tether_rpc_server_stats st;
	unsigned char c;
	int fd1, fd2, i;

	(void)state;
	cfg.max_conns = 2; /* the fake connection is one */
	cfg.idle_ms = 100;
	f = fx_new(&cfg);
	assert_int_equal(tether_addr_parse(&a, "127.0.0.1:0", -1), 0);
	assert_int_equal(tether_rpc_server_listen(f->srv, SOCK_STREAM, &a, &b),
			 0);
	fd1 = connect_to(&b, SOCK_STREAM);
	socket_roundtrip(f, fd1, 1, 1);
	/* Over the limit: accepted and closed at once. */
	fd2 = connect_to(&b, SOCK_STREAM);
	run_until_readable(f->loop, fd2);
	assert_int_equal(recv(fd2, &c, 1, 0), 0);
	close(fd2);
	tether_rpc_server_get_stats(f->srv, &st);
	assert_int_equal(st.conns_refused, 1);
	/* The first is still served, then closed when idle. */
	socket_roundtrip(f, fd1, 1, 2);
	for (i = 0; i < 100; i++)
		tether_loop_run_once(f->loop, 10);
	assert_int_equal(recv(fd1, &c, 1, MSG_DONTWAIT), 0);
	close(fd1);
	tether_rpc_server_get_stats(f->srv, &st);
	assert_true(st.conns_idle >= 1);
	fx_free(f);
}

/* Every allocation of the request path failing in turn: each call is
 * answered (success or SYSTEM_ERR) or dropped, nothing leaks. */
static void
test_alloc_failures(void **state)
{
	struct fixture *f;
	struct tp_pair p = { 1, 2 };
	unsigned long i;
	size_t n, olen;
	int ok = 0;

	(void)state;
	for (i = 1; i < 40 && !ok; i++) {
		struct tether_loop *loop;
		struct tether_rpc_server *srv = NULL;
		struct tether__rpc_svc_conn *conn = NULL;
		struct tp_state st;
		const unsigned char *out;
		struct rep reps[2];
		unsigned char buf[256];

		memset(&st, 0, sizeof(st));
		assert_int_equal(tether_loop_new(&loop, NULL), 0);
		tether_alloc_fail_at(i, 0);
		if (tether_rpc_server_new(&srv, loop, NULL) < 0)
			goto next;
		if (tp_register(srv, &st) < 0 ||
		    tether__rpc_server_fake_conn(srv, &conn) < 0)
			goto next;
		n = mkcall(buf, sizeof(buf), 9, 2, TP_PROG, 1, TP_ADD, NULL,
			   tp_pair_codec, &p);
		tether__rpc_server_feed(conn, buf, n);
		out = tether__rpc_server_output(conn, &olen);
		if (olen > 0) {
			assert_int_equal(parse_replies(out, olen, reps, 2), 1);
			if (reps[0].m.u.reply.accept_stat ==
			    TETHER_RPC_SUCCESS) {
				assert_int_equal(body_u32(&reps[0]), 3);
				ok = tether_alloc_count() < i;
			}
		}
	next:
		tether_alloc_fail_at(0, 0);
		tether_rpc_server_free(srv);
		tether_loop_free(loop);
	}
	assert_true(ok);
	(void)f;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_success_paths),
		cmocka_unit_test(test_null_proc_every_version),
		cmocka_unit_test(test_protocol_errors),
		cmocka_unit_test(test_authsys_handed_over),
		cmocka_unit_test(test_not_calls_dropped),
		cmocka_unit_test(test_pipelined_and_split),
		cmocka_unit_test(test_async_and_inflight_limit),
		cmocka_unit_test(test_record_limit),
		cmocka_unit_test(test_drc_at_most_once),
		cmocka_unit_test(test_no_drc),
		cmocka_unit_test(test_register_errors),
		cmocka_unit_test(test_call_ud),
		cmocka_unit_test(test_sockets),
		cmocka_unit_test(test_conn_limits),
		cmocka_unit_test(test_alloc_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
