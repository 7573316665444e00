/*
 * test_rpcmsg.c - RPC message headers and credentials: the exact bytes of
 * each message form, round trips of every status, every truncation and
 * undefined value refused with the right error, the 400-byte opaque_auth
 * bound, AUTH_SYS limits, and the names tables.
 */
#include "tether_test.h"

#include <string.h>

#include "tether/rpc.h"

/* Encode m into buf; returns the length (fails the test on error). */
static size_t
enc(struct tether_rpc_msg *m, unsigned char *buf, size_t size)
{
	struct tether_xdr x;

	tether_xdr_init_encode(&x, buf, size);
	assert_int_equal(tether_rpc_msg_encode(&x, m), 0);
	assert_int_equal(m->body_pos, tether_xdr_getpos(&x));
	return tether_xdr_getpos(&x);
}

static int
dec(const unsigned char *buf, size_t n, struct tether_rpc_msg *m,
    struct tether_xdr *x)
{
	tether_xdr_init_decode(x, buf, n, 0, NULL);
	return tether_rpc_msg_decode(x, m);
}

static void
assert_auth_equal(const struct tether_rpc_opaque_auth *a,
		  const struct tether_rpc_opaque_auth *b)
{
	assert_int_equal(a->flavor, b->flavor);
	assert_int_equal(a->len, b->len);
	if (a->len)
		assert_memory_equal(a->body, b->body, a->len);
}

static void
assert_msg_equal(const struct tether_rpc_msg *a, const struct tether_rpc_msg *b)
{
	assert_int_equal(a->xid, b->xid);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->body_pos, b->body_pos);
	if (a->type == TETHER_RPC_CALL) {
		assert_int_equal(a->u.call.rpcvers, b->u.call.rpcvers);
		assert_int_equal(a->u.call.prog, b->u.call.prog);
		assert_int_equal(a->u.call.vers, b->u.call.vers);
		assert_int_equal(a->u.call.proc, b->u.call.proc);
		assert_auth_equal(&a->u.call.cred, &b->u.call.cred);
		assert_auth_equal(&a->u.call.verf, &b->u.call.verf);
		return;
	}
	assert_int_equal(a->u.reply.stat, b->u.reply.stat);
	if (a->u.reply.stat == TETHER_RPC_MSG_ACCEPTED) {
		assert_auth_equal(&a->u.reply.verf, &b->u.reply.verf);
		assert_int_equal(a->u.reply.accept_stat,
				 b->u.reply.accept_stat);
		if (a->u.reply.accept_stat == TETHER_RPC_PROG_MISMATCH) {
			assert_int_equal(a->u.reply.mismatch.low,
					 b->u.reply.mismatch.low);
			assert_int_equal(a->u.reply.mismatch.high,
					 b->u.reply.mismatch.high);
		}
		return;
	}
	assert_int_equal(a->u.reply.reject_stat, b->u.reply.reject_stat);
	if (a->u.reply.reject_stat == TETHER_RPC_RPC_MISMATCH) {
		assert_int_equal(a->u.reply.mismatch.low,
				 b->u.reply.mismatch.low);
		assert_int_equal(a->u.reply.mismatch.high,
				 b->u.reply.mismatch.high);
	} else {
		assert_int_equal(a->u.reply.auth_stat, b->u.reply.auth_stat);
	}
}

static int
codec_msg(struct tether_xdr *x, void *obj)
{
	return tether_rpc_msg_encode(x, obj);
}

/*
 * Everything that must hold for one valid message: encode, compare with
 * the expected bytes (if given), size agrees, decode gives it back, and
 * every shorter buffer fails cleanly both ways.
 */
static void
check_form(struct tether_rpc_msg *m, const unsigned char *want,
	   size_t want_len)
{
	unsigned char buf[1024];
	struct tether_rpc_msg back;
	struct tether_xdr x;
	size_t n, cut, sz = 0;

	n = enc(m, buf, sizeof(buf));
	if (want != NULL) {
		assert_int_equal(n, want_len);
		assert_memory_equal(buf, want, n);
	}
	assert_int_equal(tether_rpc_msg_size(m), n);
	assert_int_equal(tether_xdr_sizeof(codec_msg, m, &sz), 0);
	assert_int_equal(sz, n);
	assert_int_equal(dec(buf, n, &back, &x), 0);
	assert_int_equal(tether_xdr_remaining(&x), 0);
	assert_msg_equal(m, &back);
	for (cut = 0; cut < n; cut++) {
		unsigned char small[1024];

		assert_tether_err(dec(buf, cut, &back, &x), TETHER_ETRUNC);
		assert_int_equal(x.err.code, -TETHER_ETRUNC);
		tether_xdr_init_encode(&x, small, cut);
		assert_tether_err(tether_rpc_msg_encode(&x, m), TETHER_ENOSPC);
	}
}

/* ------------------------------------------------------------------ */
/* Exact bytes                                                         */
/* ------------------------------------------------------------------ */

static void
test_call_auth_none_bytes(void **state)
{
	static const unsigned char want[] = {
		0x12, 0x34, 0x56, 0x78,		/* xid */
		0, 0, 0, 0,			/* CALL */
		0, 0, 0, 2,			/* rpcvers */
		0, 1, 0x86, 0xa3,		/* prog 100003 */
		0, 0, 0, 3,			/* vers */
		0, 0, 0, 1,			/* proc */
		0, 0, 0, 0, 0, 0, 0, 0,		/* cred AUTH_NONE, 0 */
		0, 0, 0, 0, 0, 0, 0, 0,		/* verf AUTH_NONE, 0 */
	};
	struct tether_rpc_msg m;

	(void)state;
	tether_rpc_msg_init_call(&m, 0x12345678, 100003, 3, 1);
	check_form(&m, want, sizeof(want));
	assert_int_equal(m.body_pos, 40);
}

static void
test_call_auth_sys_bytes(void **state)
{
	static const unsigned char want[] = {
		0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 2,
		0, 0, 0, 100, 0, 0, 0, 1, 0, 0, 0, 0,
		0, 0, 0, 1,			/* AUTH_SYS */
		0, 0, 0, 36,			/* body length */
		0, 0, 0, 5,			/* stamp */
		0, 0, 0, 5, 'h', 'o', 's', 't', '1', 0, 0, 0,
		0, 0, 0x03, 0xe8,		/* uid 1000 */
		0, 0, 0, 100,			/* gid */
		0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 27, /* gids */
		0, 0, 0, 0, 0, 0, 0, 0,		/* verf */
	};
	static const uint32_t gids[] = { 4, 27 };
	struct tether_rpc_msg m;
	struct tether_rpc_authsys p;

	(void)state;
	tether_rpc_msg_init_call(&m, 9, 100, 1, 0);
	assert_int_equal(tether_rpc_authsys_init(&p, 5, "host1", 1000, 100,
						 2, gids), 0);
	assert_int_equal(tether_rpc_authsys_encode(&p, &m.u.call.cred), 0);
	check_form(&m, want, sizeof(want));
}

static void
test_reply_bytes(void **state)
{
	static const unsigned char success[] = {
		0, 0, 0, 7, 0, 0, 0, 1,		/* xid, REPLY */
		0, 0, 0, 0,			/* MSG_ACCEPTED */
		0, 0, 0, 0, 0, 0, 0, 0,		/* verf */
		0, 0, 0, 0,			/* SUCCESS */
	};
	static const unsigned char prog_mismatch[] = {
		0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0,
		0, 0, 0, 2, 0, 0, 0, 3, 0xaa, 0xbb, 0xcc, 0,	/* AUTH_SHORT */
		0, 0, 0, 2,			/* PROG_MISMATCH */
		0, 0, 0, 2, 0, 0, 0, 4,		/* low, high */
	};
	static const unsigned char rpc_mismatch[] = {
		0, 0, 0, 7, 0, 0, 0, 1,
		0, 0, 0, 1,			/* MSG_DENIED */
		0, 0, 0, 0,			/* RPC_MISMATCH */
		0, 0, 0, 2, 0, 0, 0, 2,
	};
	static const unsigned char auth_error[] = {
		0, 0, 0, 7, 0, 0, 0, 1,
		0, 0, 0, 1, 0, 0, 0, 1,		/* MSG_DENIED, AUTH_ERROR */
		0, 0, 0, 5,			/* AUTH_TOOWEAK */
	};
	struct tether_rpc_msg m;

	(void)state;
	tether_rpc_msg_init_reply(&m, 7);
	check_form(&m, success, sizeof(success));
	assert_int_equal(m.body_pos, sizeof(success));

	tether_rpc_msg_init_reply(&m, 7);
	assert_int_equal(tether_rpc_auth_set(&m.u.reply.verf,
					     TETHER_RPC_AUTH_SHORT,
					     "\xaa\xbb\xcc", 3), 0);
	m.u.reply.accept_stat = TETHER_RPC_PROG_MISMATCH;
	m.u.reply.mismatch.low = 2;
	m.u.reply.mismatch.high = 4;
	check_form(&m, prog_mismatch, sizeof(prog_mismatch));

	tether_rpc_msg_init_reply(&m, 7);
	m.u.reply.stat = TETHER_RPC_MSG_DENIED;
	m.u.reply.reject_stat = TETHER_RPC_RPC_MISMATCH;
	m.u.reply.mismatch.low = 2;
	m.u.reply.mismatch.high = 2;
	check_form(&m, rpc_mismatch, sizeof(rpc_mismatch));

	tether_rpc_msg_init_reply(&m, 7);
	m.u.reply.stat = TETHER_RPC_MSG_DENIED;
	m.u.reply.reject_stat = TETHER_RPC_AUTH_ERROR;
	m.u.reply.auth_stat = TETHER_RPC_AUTH_TOOWEAK;
	check_form(&m, auth_error, sizeof(auth_error));
}

/* ------------------------------------------------------------------ */
/* Every form round trips                                              */
/* ------------------------------------------------------------------ */

static void
test_every_accept_stat(void **state)
{
	struct tether_rpc_msg m;
	uint32_t s;

	(void)state;
	for (s = TETHER_RPC_SUCCESS; s <= TETHER_RPC_SYSTEM_ERR; s++) {
		tether_rpc_msg_init_reply(&m, 100 + s);
		m.u.reply.accept_stat = (enum tether_rpc_accept_stat)s;
		if (s == TETHER_RPC_PROG_MISMATCH) {
			m.u.reply.mismatch.low = 1;
			m.u.reply.mismatch.high = 0xffffffffu;
		}
		check_form(&m, NULL, 0);
		/* Only PROG_MISMATCH carries the range. */
		assert_int_equal(m.body_pos,
				 24 + (s == TETHER_RPC_PROG_MISMATCH ? 8 : 0));
	}
}

static void
test_every_auth_stat(void **state)
{
	struct tether_rpc_msg m;
	uint32_t s;

	(void)state;
	for (s = TETHER_RPC_AUTH_OK; s <= TETHER_RPC_RPCSEC_GSS_CTXPROBLEM + 5;
	     s++) {
		tether_rpc_msg_init_reply(&m, 200 + s);
		m.u.reply.stat = TETHER_RPC_MSG_DENIED;
		m.u.reply.reject_stat = TETHER_RPC_AUTH_ERROR;
		m.u.reply.auth_stat = s;
		/* Values past the table are carried, not refused. */
		check_form(&m, NULL, 0);
	}
}

static void
test_credentials_in_calls(void **state)
{
	static const uint32_t gids[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
					   12, 13, 14, 15, 16 };
	struct tether_rpc_msg m;
	struct tether_rpc_authsys p;
	char name[256];
	unsigned char body[400];
	size_t len;

	(void)state;
	memset(name, 'x', 255);
	name[255] = '\0';
	for (len = 0; len < sizeof(body); len++)
		body[len] = (unsigned char)(len * 7 + 1);

	/* AUTH_SYS at its limits. */
	tether_rpc_msg_init_call(&m, 1, 0x20000000, 1, 2);
	assert_int_equal(tether_rpc_authsys_init(&p, 0xffffffffu, name, 0, 0,
						 16, gids), 0);
	assert_int_equal(tether_rpc_authsys_encode(&p, &m.u.call.cred), 0);
	check_form(&m, NULL, 0);

	/* AUTH_SHORT handle in the credential, odd lengths, up to 400. */
	for (len = 0; len <= 400; len += 37) {
		tether_rpc_msg_init_call(&m, 2, 3, 4, 5);
		assert_int_equal(tether_rpc_auth_set(&m.u.call.cred,
						     TETHER_RPC_AUTH_SHORT,
						     body, len), 0);
		assert_int_equal(tether_rpc_auth_set(&m.u.call.verf, 0xabcdef,
						     body, 400 - len), 0);
		check_form(&m, NULL, 0);
	}
	tether_rpc_msg_init_call(&m, 2, 3, 4, 5);
	assert_int_equal(tether_rpc_auth_set(&m.u.call.cred, 390004, body,
					     400), 0);
	check_form(&m, NULL, 0);
	/* Not validated: a server answers RPC_MISMATCH from it. */
	m.u.call.rpcvers = 3;
	check_form(&m, NULL, 0);
}

/* The header leaves the stream at the arguments / results. */
static void
test_body_follows(void **state)
{
	unsigned char buf[256];
	struct tether_rpc_msg m, back;
	struct tether_xdr x;
	uint32_t v;

	(void)state;
	tether_rpc_msg_init_call(&m, 5, 6, 7, 8);
	tether_xdr_init_encode(&x, buf, sizeof(buf));
	assert_int_equal(tether_rpc_msg_encode(&x, &m), 0);
	assert_int_equal(tether_xdr_put_u32(&x, 0xdeadbeef), 0);
	assert_int_equal(dec(buf, tether_xdr_getpos(&x), &back, &x), 0);
	assert_int_equal(back.body_pos, 40);
	assert_int_equal(tether_xdr_getpos(&x), 40);
	assert_int_equal(tether_xdr_get_u32(&x, &v), 0);
	assert_int_equal(v, 0xdeadbeef);
}

/* ------------------------------------------------------------------ */
/* Malformed input                                                     */
/* ------------------------------------------------------------------ */

static void
put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* Change the word at off of a valid message and expect err at off. */
static void
expect_bad(struct tether_rpc_msg *m, size_t off, uint32_t v, int err,
	   size_t err_off)
{
	unsigned char buf[1024];
	struct tether_rpc_msg back;
	struct tether_xdr x;
	size_t n = enc(m, buf, sizeof(buf));

	put_be32(buf + off, v);
	assert_tether_err(dec(buf, n, &back, &x), err);
	assert_int_equal(x.err.code, -err);
	assert_int_equal(x.err.offset, err_off);
	assert_non_null(x.err.what);
}

static void
test_undefined_values(void **state)
{
	struct tether_rpc_msg m;

	(void)state;
	tether_rpc_msg_init_call(&m, 1, 2, 3, 4);
	expect_bad(&m, 4, 2, TETHER_EBADMSG, 4);		/* msg_type */
	expect_bad(&m, 4, 0xffffffffu, TETHER_EBADMSG, 4);
	expect_bad(&m, 28, 401, TETHER_EOVERFLOW, 28);		/* cred len */
	expect_bad(&m, 36, 0x80000000u, TETHER_EOVERFLOW, 36);	/* verf len */
	expect_bad(&m, 36, 4, TETHER_ETRUNC, 36);		/* past end */

	tether_rpc_msg_init_reply(&m, 1);
	expect_bad(&m, 8, 2, TETHER_EBADMSG, 8);		/* reply_stat */
	expect_bad(&m, 20, 6, TETHER_EBADMSG, 20);		/* accept_stat */
	expect_bad(&m, 16, 400, TETHER_ETRUNC, 16);		/* verf len */

	m.u.reply.stat = TETHER_RPC_MSG_DENIED;
	m.u.reply.reject_stat = TETHER_RPC_AUTH_ERROR;
	expect_bad(&m, 12, 2, TETHER_EBADMSG, 12);		/* reject_stat */
}

/* Non-zero padding after an opaque_auth body is tolerated (libtirpc
 * sends it), even on a strict stream. */
static void
test_auth_padding_tolerated(void **state)
{
	unsigned char buf[128];
	struct tether_rpc_msg m, back;
	struct tether_xdr x;
	size_t n;

	(void)state;
	tether_rpc_msg_init_call(&m, 1, 2, 3, 4);
	assert_int_equal(tether_rpc_auth_set(&m.u.call.cred,
					     TETHER_RPC_AUTH_SHORT, "abcde",
					     5), 0);
	n = enc(&m, buf, sizeof(buf));
	memset(buf + 32 + 5, 0xee, 3);
	assert_int_equal(dec(buf, n, &back, &x), 0);
	assert_msg_equal(&m, &back);
	/* The stream's own strictness is left as it was. */
	assert_int_equal(x.flags & TETHER_XDR_LENIENT_PAD, 0);
}

static void
test_encode_errors(void **state)
{
	unsigned char buf[1024];
	struct tether_rpc_msg m;
	struct tether_xdr x;

	(void)state;
	tether_rpc_msg_init_call(&m, 1, 2, 3, 4);
	m.u.call.cred.len = 401;
	tether_xdr_init_encode(&x, buf, sizeof(buf));
	assert_tether_err(tether_rpc_msg_encode(&x, &m), TETHER_EOVERFLOW);
	assert_int_equal(tether_rpc_msg_size(&m), 0);
	m.u.call.cred.len = 0;
	m.u.call.verf.len = 1000;
	tether_xdr_init_encode(&x, buf, sizeof(buf));
	assert_tether_err(tether_rpc_msg_encode(&x, &m), TETHER_EOVERFLOW);
	assert_int_equal(tether_rpc_msg_size(&m), 0);

	m.type = (enum tether_rpc_msg_type)2;
	tether_xdr_init_encode(&x, buf, sizeof(buf));
	assert_tether_err(tether_rpc_msg_encode(&x, &m), TETHER_EINVAL);
	assert_int_equal(tether_rpc_msg_size(&m), 0);

	tether_rpc_msg_init_reply(&m, 1);
	m.u.reply.accept_stat = (enum tether_rpc_accept_stat)6;
	tether_xdr_init_encode(&x, buf, sizeof(buf));
	assert_tether_err(tether_rpc_msg_encode(&x, &m), TETHER_EINVAL);
	assert_int_equal(tether_rpc_msg_size(&m), 0);
	m.u.reply.accept_stat = TETHER_RPC_SUCCESS;
	m.u.reply.verf.len = 401;
	tether_xdr_init_encode(&x, buf, sizeof(buf));
	assert_tether_err(tether_rpc_msg_encode(&x, &m), TETHER_EOVERFLOW);
	assert_int_equal(tether_rpc_msg_size(&m), 0);

	tether_rpc_msg_init_reply(&m, 1);
	m.u.reply.stat = TETHER_RPC_MSG_DENIED;
	m.u.reply.reject_stat = (enum tether_rpc_reject_stat)2;
	tether_xdr_init_encode(&x, buf, sizeof(buf));
	assert_tether_err(tether_rpc_msg_encode(&x, &m), TETHER_EINVAL);
	assert_int_equal(tether_rpc_msg_size(&m), 0);

	m.u.reply.stat = (enum tether_rpc_reply_stat)2;
	tether_xdr_init_encode(&x, buf, sizeof(buf));
	assert_tether_err(tether_rpc_msg_encode(&x, &m), TETHER_EINVAL);
	assert_int_equal(tether_rpc_msg_size(&m), 0);

	/* Wrong direction of stream. */
	tether_rpc_msg_init_reply(&m, 1);
	tether_xdr_init_decode(&x, buf, sizeof(buf), 0, NULL);
	assert_tether_err(tether_rpc_msg_encode(&x, &m), TETHER_EINVAL);
	tether_xdr_init_encode(&x, buf, sizeof(buf));
	assert_tether_err(tether_rpc_msg_decode(&x, &m), TETHER_EINVAL);
}

/* ------------------------------------------------------------------ */
/* AUTH_SYS                                                            */
/* ------------------------------------------------------------------ */

static void
test_authsys_limits(void **state)
{
	static const uint32_t gids[17] = { 0 };
	struct tether_rpc_authsys p, back;
	struct tether_rpc_opaque_auth a;
	char name[300];

	(void)state;
	memset(name, 'a', sizeof(name));
	name[256] = '\0';
	assert_tether_err(tether_rpc_authsys_init(&p, 0, name, 0, 0, 0, NULL),
			  TETHER_EOVERFLOW);
	name[255] = '\0';
	assert_int_equal(tether_rpc_authsys_init(&p, 0, name, 0, 0, 16, gids),
			 0);
	assert_tether_err(tether_rpc_authsys_init(&p, 0, name, 0, 0, 17, gids),
			  TETHER_EOVERFLOW);
	assert_tether_err(tether_rpc_authsys_init(&p, 0, NULL, 0, 0, 0, NULL),
			  TETHER_EINVAL);
	assert_tether_err(tether_rpc_authsys_init(&p, 0, "h", 0, 0, 1, NULL),
			  TETHER_EINVAL);

	/* The largest body fits in an opaque_auth and round trips. */
	assert_int_equal(tether_rpc_authsys_init(&p, 1, name, 2, 3, 16, gids),
			 0);
	assert_int_equal(tether_rpc_authsys_encode(&p, &a), 0);
	assert_int_equal(a.flavor, TETHER_RPC_AUTH_SYS);
	assert_int_equal(a.len, 4 + 4 + 256 + 4 + 4 + 4 + 64);
	assert_int_equal(tether_rpc_authsys_decode(&a, &back), 0);
	assert_int_equal(back.machinename_len, 255);
	assert_string_equal(back.machinename, name);
	assert_int_equal(back.ngids, 16);

	/* A struct edited past the limits does not encode. */
	p.ngids = 17;
	assert_tether_err(tether_rpc_authsys_encode(&p, &a), TETHER_EOVERFLOW);
	p.ngids = 0;
	p.machinename_len = 256;
	assert_tether_err(tether_rpc_authsys_encode(&p, &a), TETHER_EOVERFLOW);
}

/* Build an AUTH_SYS body by hand. */
static size_t
raw_authsys(unsigned char *b, uint32_t nlen, uint32_t ngids, int pad_byte)
{
	size_t n = 0;
	uint32_t i;

	put_be32(b + n, 1);
	n += 4;
	put_be32(b + n, nlen);
	n += 4;
	memset(b + n, 'q', nlen);
	memset(b + n + nlen, pad_byte, tether_xdr_pad(nlen));
	n += nlen + tether_xdr_pad(nlen);
	put_be32(b + n, 10);
	put_be32(b + n + 4, 20);
	put_be32(b + n + 8, ngids);
	n += 12;
	for (i = 0; i < ngids; i++, n += 4)
		put_be32(b + n, 1000 + i);
	return n;
}

static void
test_authsys_decode_errors(void **state)
{
	struct tether_rpc_opaque_auth a;
	struct tether_rpc_authsys p;
	size_t cut, n;

	(void)state;
	a.flavor = TETHER_RPC_AUTH_SYS;
	a.len = (uint32_t)raw_authsys(a.body, 255, 16, 0);
	assert_int_equal(tether_rpc_authsys_decode(&a, &p), 0);
	assert_int_equal(p.gids[15], 1015);
	assert_int_equal(p.uid, 10);
	assert_int_equal(p.gid, 20);

	a.len = (uint32_t)raw_authsys(a.body, 256, 0, 0);
	assert_tether_err(tether_rpc_authsys_decode(&a, &p), TETHER_EOVERFLOW);
	n = raw_authsys(a.body, 3, 17, 0);
	a.len = (uint32_t)n;
	assert_tether_err(tether_rpc_authsys_decode(&a, &p), TETHER_EOVERFLOW);
	/* A huge gid count is refused before it drives anything. */
	put_be32(a.body + 4 + 4 + 4 + 8, 0xffffffffu);
	assert_tether_err(tether_rpc_authsys_decode(&a, &p), TETHER_EOVERFLOW);

	/* Every truncation. */
	n = raw_authsys(a.body, 7, 3, 0);
	for (cut = 0; cut < n; cut++) {
		a.len = (uint32_t)cut;
		assert_int_not_equal(tether_rpc_authsys_decode(&a, &p), 0);
		assert_int_equal(p.machinename_len, 0); /* cleared on error */
	}
	/* Trailing bytes, non-zero padding, wrong flavor. */
	a.len = (uint32_t)n + 4;
	assert_tether_err(tether_rpc_authsys_decode(&a, &p), TETHER_EBADMSG);
	a.len = (uint32_t)raw_authsys(a.body, 7, 3, 0x55);
	assert_tether_err(tether_rpc_authsys_decode(&a, &p), TETHER_EBADMSG);
	a.len = (uint32_t)raw_authsys(a.body, 7, 3, 0);
	a.flavor = TETHER_RPC_AUTH_SHORT;
	assert_tether_err(tether_rpc_authsys_decode(&a, &p), TETHER_EINVAL);
	a.flavor = TETHER_RPC_AUTH_SYS;
	a.len = 401;
	assert_tether_err(tether_rpc_authsys_decode(&a, &p), TETHER_EINVAL);
}

static void
test_authsys_odd_names(void **state)
{
	struct tether_rpc_opaque_auth a;
	struct tether_rpc_authsys p;

	(void)state;
	/* Empty name; a name with a NUL inside is carried counted. */
	a.flavor = TETHER_RPC_AUTH_SYS;
	a.len = (uint32_t)raw_authsys(a.body, 0, 0, 0);
	assert_int_equal(tether_rpc_authsys_decode(&a, &p), 0);
	assert_int_equal(p.machinename_len, 0);
	assert_string_equal(p.machinename, "");
	a.len = (uint32_t)raw_authsys(a.body, 5, 1, 0);
	a.body[8 + 2] = '\0';
	assert_int_equal(tether_rpc_authsys_decode(&a, &p), 0);
	assert_int_equal(p.machinename_len, 5);
	assert_memory_equal(p.machinename, "qq\0qq", 6);
}

static void
test_auth_set(void **state)
{
	struct tether_rpc_opaque_auth a;
	unsigned char body[401] = { 0 };

	(void)state;
	tether_rpc_auth_none(&a);
	assert_int_equal(a.flavor, TETHER_RPC_AUTH_NONE);
	assert_int_equal(a.len, 0);
	assert_int_equal(tether_rpc_auth_set(&a, TETHER_RPC_AUTH_SHORT, body,
					     400), 0);
	assert_int_equal(a.len, 400);
	assert_tether_err(tether_rpc_auth_set(&a, 9, body, 401),
			  TETHER_EOVERFLOW);
	assert_int_equal(a.flavor, TETHER_RPC_AUTH_SHORT); /* untouched */
	assert_tether_err(tether_rpc_auth_set(&a, 9, NULL, 1), TETHER_EINVAL);
	assert_int_equal(tether_rpc_auth_set(&a, 9, NULL, 0), 0);
	assert_int_equal(a.len, 0);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(tether_rpc_msg_type_name(0), "CALL");
	assert_string_equal(tether_rpc_msg_type_name(1), "REPLY");
	assert_string_equal(tether_rpc_msg_type_name(2), "UNKNOWN");
	assert_string_equal(tether_rpc_reply_stat_name(1), "MSG_DENIED");
	assert_string_equal(tether_rpc_accept_stat_name(0), "SUCCESS");
	assert_string_equal(tether_rpc_accept_stat_name(2), "PROG_MISMATCH");
	assert_string_equal(tether_rpc_accept_stat_name(5), "SYSTEM_ERR");
	assert_string_equal(tether_rpc_accept_stat_name(6), "UNKNOWN");
	assert_string_equal(tether_rpc_reject_stat_name(0), "RPC_MISMATCH");
	assert_string_equal(tether_rpc_reject_stat_name(1), "AUTH_ERROR");
	assert_string_equal(tether_rpc_reject_stat_name(0xffffffffu),
			    "UNKNOWN");
	assert_string_equal(tether_rpc_auth_stat_name(0), "AUTH_OK");
	assert_string_equal(tether_rpc_auth_stat_name(5), "AUTH_TOOWEAK");
	assert_string_equal(tether_rpc_auth_stat_name(14),
			    "RPCSEC_GSS_CTXPROBLEM");
	assert_string_equal(tether_rpc_auth_stat_name(15), "UNKNOWN");
	assert_string_equal(tether_rpc_auth_flavor_name(1), "AUTH_SYS");
	assert_string_equal(tether_rpc_auth_flavor_name(2), "AUTH_SHORT");
	assert_string_equal(tether_rpc_auth_flavor_name(6), "RPCSEC_GSS");
	assert_string_equal(tether_rpc_auth_flavor_name(4), "UNKNOWN");
	assert_string_equal(tether_rpc_auth_flavor_name(390004), "UNKNOWN");
}

/* Record marking and messages together: a call framed in fragments,
 * decoded byte by byte, parses to the same call. */
static void
test_call_over_record_marking(void **state)
{
	unsigned char buf[512];
	struct tether_buf out;
	struct tether_rpc_rm_decoder d;
	struct tether_rpc_msg m, back;
	struct tether_rpc_authsys p;
	struct tether_xdr x;
	const unsigned char *rec;
	size_t n, i, rlen = 0;
	ssize_t r = 0;

	(void)state;
	tether_rpc_msg_init_call(&m, 0xabc, 100003, 4, 1);
	assert_int_equal(tether_rpc_authsys_init(&p, 1, "nfs-client", 0, 0, 0,
						 NULL), 0);
	assert_int_equal(tether_rpc_authsys_encode(&p, &m.u.call.cred), 0);
	n = enc(&m, buf, sizeof(buf));
	memset(&out, 0, sizeof(out));
	out.max = 4096;
	assert_int_equal(tether_rpc_rm_frame_buf(&out, buf, n, 7), 0);
	tether_rpc_rm_init(&d, 7, 1024);
	for (i = 0; i < out.len; i++) {
		r = tether_rpc_rm_feed(&d, out.data + i, 1);
		assert_true(r >= 0);
		if (r > 0)
			break;
	}
	assert_int_equal(i, out.len - 1);
	assert_int_equal(r, 1);
	rec = tether_rpc_rm_record(&d, &rlen);
	assert_int_equal(rlen, n);
	assert_int_equal(dec(rec, rlen, &back, &x), 0);
	assert_msg_equal(&m, &back);
	tether_rpc_rm_free(&d);
	tether_free(out.data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_call_auth_none_bytes),
		cmocka_unit_test(test_call_auth_sys_bytes),
		cmocka_unit_test(test_reply_bytes),
		cmocka_unit_test(test_every_accept_stat),
		cmocka_unit_test(test_every_auth_stat),
		cmocka_unit_test(test_credentials_in_calls),
		cmocka_unit_test(test_body_follows),
		cmocka_unit_test(test_undefined_values),
		cmocka_unit_test(test_auth_padding_tolerated),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_authsys_limits),
		cmocka_unit_test(test_authsys_decode_errors),
		cmocka_unit_test(test_authsys_odd_names),
		cmocka_unit_test(test_auth_set),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_call_over_record_marking),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
