/*
 * rpcmsg_tirpc.c - differential test of the RPC message layer against
 * libtirpc (linked into this test only): messages libtirpc builds
 * (xdr_callmsg, xdr_replymsg, authunix_create, xdr_authunix_parms) parse
 * with ours to the same values, ours parse with libtirpc, and both
 * encoders produce the same bytes; limits (400-byte opaque_auth, 255-byte
 * machine name, 16 gids) are enforced alike.
 */
#include <rpc/rpc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tether/rpc.h"

static unsigned checks, failures;

#define CHECK(cond)                                                     \
	do {                                                            \
		checks++;                                               \
		if (!(cond)) {                                          \
			if (failures++ < 30)                            \
				fprintf(stderr, "%s:%d: failed: %s\n", \
					__FILE__, __LINE__, #cond);     \
		}                                                       \
	} while (0)

static unsigned rnd_state = 12345;

static uint32_t
rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) ^ (rnd_state << 13);
}

/* ------------------------------------------------------------------ */
/* Helpers between the two representations                            */
/* ------------------------------------------------------------------ */

static void
to_tirpc_auth(struct opaque_auth *oa, const struct tether_rpc_opaque_auth *a)
{
	oa->oa_flavor = (enum_t)a->flavor;
	oa->oa_length = a->len;
	/* libtirpc only reads oa_base when encoding. */
	oa->oa_base = (caddr_t)(uintptr_t)a->body;
}

static int
same_auth(const struct opaque_auth *oa, const struct tether_rpc_opaque_auth *a)
{
	return (uint32_t)oa->oa_flavor == a->flavor &&
	       oa->oa_length == a->len &&
	       (a->len == 0 || memcmp(oa->oa_base, a->body, a->len) == 0);
}

static void
random_auth(struct tether_rpc_opaque_auth *a)
{
	static const uint32_t flavors[] = { 0, 1, 2, 3, 6, 7, 390003, 0xffffffffu };
	uint32_t i, len;

	a->flavor = flavors[rnd() % TETHER_ARRAY_SIZE(flavors)];
	len = rnd() % 4 == 0 ? 0 : rnd() % (TETHER_RPC_AUTH_MAX_BYTES + 1);
	a->len = len;
	for (i = 0; i < len; i++)
		a->body[i] = (unsigned char)rnd();
}

/* Encode with libtirpc into buf; returns the length or 0 on failure. */
static size_t
tirpc_encode_fill(struct rpc_msg *msg, unsigned char *buf, size_t size,
		  int call, uint32_t *result, int fill)
{
	XDR x;
	size_t n = 0;

	/* libtirpc's inline paths leave pad bytes as the buffer held them:
	 * fill decides what they are. */
	memset(buf, fill, size);
	xdrmem_create(&x, (char *)buf, (u_int)size, XDR_ENCODE);
	if (call ? xdr_callmsg(&x, msg) : xdr_replymsg(&x, msg)) {
		if (result == NULL || xdr_u_int(&x, result))
			n = xdr_getpos(&x);
	}
	xdr_destroy(&x);
	return n;
}

static size_t
tirpc_encode(struct rpc_msg *msg, unsigned char *buf, size_t size, int call,
	     uint32_t *result)
{
	return tirpc_encode_fill(msg, buf, size, call, result, 0);
}

/* Encode with ours; returns the length or 0 on failure. */
static size_t
our_encode(struct tether_rpc_msg *m, unsigned char *buf, size_t size,
	   uint32_t *result)
{
	struct tether_xdr x;

	tether_xdr_init_encode(&x, buf, size);
	if (tether_rpc_msg_encode(&x, m) != 0)
		return 0;
	if (result != NULL && tether_xdr_put_u32(&x, *result) != 0)
		return 0;
	return tether_xdr_getpos(&x);
}

/* ------------------------------------------------------------------ */
/* Calls                                                               */
/* ------------------------------------------------------------------ */

/* Both directions and byte equality for one call message. */
static void
check_call(struct tether_rpc_msg *m)
{
	unsigned char ours[2048], theirs[2048];
	unsigned char cred[MAX_AUTH_BYTES], verf[MAX_AUTH_BYTES];
	struct rpc_msg msg;
	struct tether_rpc_msg back;
	struct tether_xdr tx;
	size_t on, tn;
	XDR x;

	memset(&msg, 0, sizeof(msg));
	msg.rm_xid = m->xid;
	msg.rm_direction = CALL;
	msg.rm_call.cb_rpcvers = m->u.call.rpcvers;
	msg.rm_call.cb_prog = m->u.call.prog;
	msg.rm_call.cb_vers = m->u.call.vers;
	msg.rm_call.cb_proc = m->u.call.proc;
	to_tirpc_auth(&msg.rm_call.cb_cred, &m->u.call.cred);
	to_tirpc_auth(&msg.rm_call.cb_verf, &m->u.call.verf);
	tn = tirpc_encode(&msg, theirs, sizeof(theirs), 1, NULL);
	on = our_encode(m, ours, sizeof(ours), NULL);
	CHECK(tn > 0 && on > 0);
	CHECK(on == tn && memcmp(ours, theirs, on) == 0);
	CHECK(on == tether_rpc_msg_size(m));
	CHECK(m->body_pos == on);

	/* libtirpc's bytes through our decoder. */
	tether_xdr_init_decode(&tx, theirs, tn, 0, NULL);
	CHECK(tether_rpc_msg_decode(&tx, &back) == 0);
	CHECK(back.xid == m->xid && back.type == TETHER_RPC_CALL);
	CHECK(back.u.call.rpcvers == m->u.call.rpcvers &&
	      back.u.call.prog == m->u.call.prog &&
	      back.u.call.vers == m->u.call.vers &&
	      back.u.call.proc == m->u.call.proc);
	CHECK(same_auth(&msg.rm_call.cb_cred, &back.u.call.cred));
	CHECK(same_auth(&msg.rm_call.cb_verf, &back.u.call.verf));
	CHECK(back.body_pos == tn);

	/* Again with garbage in libtirpc's pad bytes, as real clients send:
	 * we read the same message. */
	CHECK(tirpc_encode_fill(&msg, theirs, sizeof(theirs), 1, NULL, 0xee) ==
	      tn);
	tether_xdr_init_decode(&tx, theirs, tn, 0, NULL);
	CHECK(tether_rpc_msg_decode(&tx, &back) == 0);
	CHECK(same_auth(&msg.rm_call.cb_cred, &back.u.call.cred));
	CHECK(same_auth(&msg.rm_call.cb_verf, &back.u.call.verf));
	CHECK(back.u.call.proc == m->u.call.proc);

	/* Our bytes through libtirpc's decoder. */
	memset(&msg, 0, sizeof(msg));
	msg.rm_call.cb_cred.oa_base = (caddr_t)cred;
	msg.rm_call.cb_verf.oa_base = (caddr_t)verf;
	xdrmem_create(&x, (char *)ours, (u_int)on, XDR_DECODE);
	CHECK(xdr_callmsg(&x, &msg));
	CHECK(xdr_getpos(&x) == on);
	xdr_destroy(&x);
	CHECK(msg.rm_xid == m->xid && msg.rm_direction == CALL);
	CHECK(msg.rm_call.cb_prog == m->u.call.prog &&
	      msg.rm_call.cb_vers == m->u.call.vers &&
	      msg.rm_call.cb_proc == m->u.call.proc &&
	      msg.rm_call.cb_rpcvers == m->u.call.rpcvers);
	CHECK(same_auth(&msg.rm_call.cb_cred, &m->u.call.cred));
	CHECK(same_auth(&msg.rm_call.cb_verf, &m->u.call.verf));
}

static void
test_random_calls(void)
{
	struct tether_rpc_msg m;
	int i;

	for (i = 0; i < 3000; i++) {
		tether_rpc_msg_init_call(&m, rnd(), rnd(), rnd(), rnd());
		random_auth(&m.u.call.cred);
		random_auth(&m.u.call.verf);
		check_call(&m);
	}
}

/* ------------------------------------------------------------------ */
/* AUTH_SYS                                                            */
/* ------------------------------------------------------------------ */

static void
check_authsys_body_from_tirpc(const char *name, uint32_t uid, uint32_t gid,
			      int ngids, gid_t *gids)
{
	struct tether_rpc_opaque_auth a;
	struct tether_rpc_authsys p, mine;
	AUTH *au;
	int i;

	au = authunix_create((char *)(uintptr_t)name, uid, gid, ngids, gids);
	CHECK(au != NULL);
	if (au == NULL)
		return;
	CHECK(au->ah_cred.oa_flavor == AUTH_SYS);
	CHECK(au->ah_cred.oa_length <= TETHER_RPC_AUTH_MAX_BYTES);
	a.flavor = (uint32_t)au->ah_cred.oa_flavor;
	a.len = au->ah_cred.oa_length;
	memcpy(a.body, au->ah_cred.oa_base, a.len);
	CHECK(tether_rpc_authsys_decode(&a, &p) == 0);
	CHECK(p.machinename_len == strlen(name) &&
	      strcmp(p.machinename, name) == 0);
	CHECK(p.uid == uid && p.gid == gid);
	CHECK(p.ngids == (uint32_t)ngids);
	for (i = 0; i < ngids && i < 16; i++)
		CHECK(p.gids[i] == gids[i]);

	/* Our encoding of the same parameters (with libtirpc's stamp) is
	 * byte for byte libtirpc's. */
	CHECK(tether_rpc_authsys_init(&mine, p.stamp, name, uid, gid,
				      (uint32_t)ngids,
				      (const uint32_t *)gids) == 0);
	{
		struct tether_rpc_opaque_auth enc;

		CHECK(tether_rpc_authsys_encode(&mine, &enc) == 0);
		CHECK(enc.len == a.len && memcmp(enc.body, a.body, a.len) == 0);
	}
	auth_destroy(au);
}

/* Our AUTH_SYS body through xdr_authunix_parms. */
static void
check_authsys_body_to_tirpc(const struct tether_rpc_authsys *p)
{
	struct tether_rpc_opaque_auth a;
	struct authunix_parms aup;
	XDR x;
	uint32_t i;

	CHECK(tether_rpc_authsys_encode(p, &a) == 0);
	memset(&aup, 0, sizeof(aup));
	xdrmem_create(&x, (char *)a.body, a.len, XDR_DECODE);
	CHECK(xdr_authunix_parms(&x, &aup));
	CHECK(xdr_getpos(&x) == a.len);
	xdr_destroy(&x);
	CHECK((uint32_t)aup.aup_time == p->stamp);
	CHECK(aup.aup_machname != NULL &&
	      strcmp(aup.aup_machname, p->machinename) == 0);
	CHECK(aup.aup_uid == p->uid && aup.aup_gid == p->gid);
	CHECK(aup.aup_len == p->ngids);
	for (i = 0; i < p->ngids && i < aup.aup_len; i++)
		CHECK((uint32_t)aup.aup_gids[i] == p->gids[i]);
	xdr_free((xdrproc_t)xdr_authunix_parms, (char *)&aup);
}

/* Hand-made AUTH_SYS bodies just past the limits: both refuse them. */
static void
check_authsys_limits(void)
{
	unsigned char body[512];
	struct tether_rpc_opaque_auth a;
	struct tether_rpc_authsys p;
	struct authunix_parms aup;
	int over_name, ok_tirpc;

	for (over_name = 0; over_name < 4; over_name++) {
		/* 0: 255-byte name 16 gids (fine); 1: 256-byte name;
		 * 2: 17 gids; 3: fine but truncated by 4 bytes. */
		uint32_t nlen = over_name == 1 ? 256 : 255;
		uint32_t ngids = over_name == 2 ? 17 : 16;
		size_t n = 0;
		uint32_t i;
		XDR x;

		memset(body, 0, sizeof(body));
#define PUT(v) (body[n] = (unsigned char)((v) >> 24), \
		body[n + 1] = (unsigned char)((v) >> 16), \
		body[n + 2] = (unsigned char)((v) >> 8), \
		body[n + 3] = (unsigned char)(v), n += 4)
		PUT(7u);
		PUT(nlen);
		memset(body + n, 'm', nlen);
		n += (nlen + 3) & ~3u;
		PUT(1u);
		PUT(2u);
		PUT(ngids);
		for (i = 0; i < ngids; i++)
			PUT(100 + i);
#undef PUT
		if (over_name == 3)
			n -= 4;
		if (n > TETHER_RPC_AUTH_MAX_BYTES)
			n = TETHER_RPC_AUTH_MAX_BYTES;
		a.flavor = TETHER_RPC_AUTH_SYS;
		a.len = (uint32_t)n;
		memcpy(a.body, body, n);
		memset(&aup, 0, sizeof(aup));
		xdrmem_create(&x, (char *)body, (u_int)n, XDR_DECODE);
		ok_tirpc = xdr_authunix_parms(&x, &aup);
		xdr_destroy(&x);
		xdr_free((xdrproc_t)xdr_authunix_parms, (char *)&aup);
		CHECK((tether_rpc_authsys_decode(&a, &p) == 0) ==
		      (ok_tirpc != 0));
		CHECK((over_name == 0) == (ok_tirpc != 0));
	}
}

static void
test_authsys(void)
{
	static gid_t gids[16] = { 4, 24, 27, 30, 44, 46, 100, 101, 102, 103,
				  104, 105, 106, 107, 65534, 0 };
	char name[256];
	struct tether_rpc_authsys p;
	struct tether_rpc_msg m;
	int i;

	check_authsys_body_from_tirpc("host", 0, 0, 0, gids);
	check_authsys_body_from_tirpc("tether.example.org", 1000, 100, 3, gids);
	memset(name, 'n', 255);
	name[255] = '\0';
	check_authsys_body_from_tirpc(name, 4294967294u, 65534, 16, gids);
	for (i = 0; i < 300; i++) {
		uint32_t ngids = rnd() % 17, k, nlen = rnd() % 256;
		uint32_t g[16];

		for (k = 0; k < nlen; k++)
			name[k] = (char)('a' + rnd() % 26);
		name[nlen] = '\0';
		for (k = 0; k < ngids; k++)
			g[k] = rnd();
		CHECK(tether_rpc_authsys_init(&p, rnd(), name, rnd(), rnd(),
					      ngids, g) == 0);
		check_authsys_body_to_tirpc(&p);
		/* And inside a whole call. */
		tether_rpc_msg_init_call(&m, rnd(), rnd(), rnd(), rnd());
		CHECK(tether_rpc_authsys_encode(&p, &m.u.call.cred) == 0);
		check_call(&m);
	}
	check_authsys_limits();
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */
/* ------------------------------------------------------------------ */

static void
check_reply(struct tether_rpc_msg *m)
{
	const struct tether_rpc_reply *r = &m->u.reply;
	unsigned char ours[2048], theirs[2048], verf[MAX_AUTH_BYTES];
	struct rpc_msg msg;
	struct tether_rpc_msg back;
	struct tether_xdr tx;
	uint32_t result = 0xfeedf00du, got = 0;
	int success = r->stat == TETHER_RPC_MSG_ACCEPTED &&
		      r->accept_stat == TETHER_RPC_SUCCESS;
	size_t on, tn;
	XDR x;

	memset(&msg, 0, sizeof(msg));
	msg.rm_xid = m->xid;
	msg.rm_direction = REPLY;
	msg.rm_reply.rp_stat = (enum reply_stat)r->stat;
	if (r->stat == TETHER_RPC_MSG_ACCEPTED) {
		to_tirpc_auth(&msg.acpted_rply.ar_verf, &r->verf);
		msg.acpted_rply.ar_stat = (enum accept_stat)r->accept_stat;
		msg.acpted_rply.ar_vers.low = r->mismatch.low;
		msg.acpted_rply.ar_vers.high = r->mismatch.high;
		if (success) {
			msg.acpted_rply.ar_results.where = (caddr_t)&result;
			msg.acpted_rply.ar_results.proc =
				(xdrproc_t)xdr_u_int;
		}
	} else {
		msg.rjcted_rply.rj_stat = (enum reject_stat)r->reject_stat;
		if (r->reject_stat == TETHER_RPC_RPC_MISMATCH) {
			msg.rjcted_rply.rj_vers.low = r->mismatch.low;
			msg.rjcted_rply.rj_vers.high = r->mismatch.high;
		} else {
			msg.rjcted_rply.rj_why = (enum auth_stat)r->auth_stat;
		}
	}
	tn = tirpc_encode(&msg, theirs, sizeof(theirs), 0, NULL);
	on = our_encode(m, ours, sizeof(ours), success ? &result : NULL);
	CHECK(tn > 0 && on > 0);
	CHECK(on == tn && memcmp(ours, theirs, on) == 0);
	CHECK(m->body_pos + (success ? 4 : 0) == on);

	/* Theirs through ours; the results sit at body_pos. */
	tether_xdr_init_decode(&tx, theirs, tn, 0, NULL);
	CHECK(tether_rpc_msg_decode(&tx, &back) == 0);
	CHECK(back.xid == m->xid && back.type == TETHER_RPC_REPLY);
	CHECK(back.u.reply.stat == r->stat);
	if (r->stat == TETHER_RPC_MSG_ACCEPTED) {
		CHECK(same_auth(&msg.acpted_rply.ar_verf, &back.u.reply.verf));
		CHECK(back.u.reply.accept_stat == r->accept_stat);
		if (r->accept_stat == TETHER_RPC_PROG_MISMATCH)
			CHECK(back.u.reply.mismatch.low == r->mismatch.low &&
			      back.u.reply.mismatch.high == r->mismatch.high);
		if (success) {
			CHECK(tether_xdr_get_u32(&tx, &got) == 0);
			CHECK(got == result);
		}
	} else {
		CHECK(back.u.reply.reject_stat == r->reject_stat);
		if (r->reject_stat == TETHER_RPC_RPC_MISMATCH)
			CHECK(back.u.reply.mismatch.low == r->mismatch.low &&
			      back.u.reply.mismatch.high == r->mismatch.high);
		else
			CHECK(back.u.reply.auth_stat == r->auth_stat);
	}
	CHECK(tether_xdr_remaining(&tx) == 0);

	/* Ours through theirs. */
	memset(&msg, 0, sizeof(msg));
	msg.acpted_rply.ar_verf.oa_base = (caddr_t)verf;
	got = 0;
	msg.acpted_rply.ar_results.where = (caddr_t)&got;
	msg.acpted_rply.ar_results.proc = (xdrproc_t)xdr_u_int;
	xdrmem_create(&x, (char *)ours, (u_int)on, XDR_DECODE);
	CHECK(xdr_replymsg(&x, &msg));
	CHECK(xdr_getpos(&x) == on);
	xdr_destroy(&x);
	CHECK(msg.rm_xid == m->xid && msg.rm_direction == REPLY);
	CHECK((uint32_t)msg.rm_reply.rp_stat == (uint32_t)r->stat);
	if (r->stat == TETHER_RPC_MSG_ACCEPTED) {
		CHECK(same_auth(&msg.acpted_rply.ar_verf, &r->verf));
		CHECK((uint32_t)msg.acpted_rply.ar_stat ==
		      (uint32_t)r->accept_stat);
		if (r->accept_stat == TETHER_RPC_PROG_MISMATCH)
			CHECK(msg.acpted_rply.ar_vers.low == r->mismatch.low &&
			      msg.acpted_rply.ar_vers.high ==
				      r->mismatch.high);
		if (success)
			CHECK(got == result);
	} else {
		CHECK((uint32_t)msg.rjcted_rply.rj_stat ==
		      (uint32_t)r->reject_stat);
		if (r->reject_stat == TETHER_RPC_RPC_MISMATCH)
			CHECK(msg.rjcted_rply.rj_vers.low == r->mismatch.low &&
			      msg.rjcted_rply.rj_vers.high ==
				      r->mismatch.high);
		else
			CHECK((uint32_t)msg.rjcted_rply.rj_why ==
			      r->auth_stat);
	}
}

static void
test_replies(void)
{
	struct tether_rpc_msg m;
	uint32_t s;
	int i;

	/* Every accept_stat, reject_stat and auth_stat, then random. */
	for (s = TETHER_RPC_SUCCESS; s <= TETHER_RPC_SYSTEM_ERR; s++) {
		tether_rpc_msg_init_reply(&m, 0x100 + s);
		m.u.reply.accept_stat = (enum tether_rpc_accept_stat)s;
		m.u.reply.mismatch.low = 2;
		m.u.reply.mismatch.high = 4;
		check_reply(&m);
	}
	tether_rpc_msg_init_reply(&m, 0x200);
	m.u.reply.stat = TETHER_RPC_MSG_DENIED;
	m.u.reply.reject_stat = TETHER_RPC_RPC_MISMATCH;
	m.u.reply.mismatch.low = 2;
	m.u.reply.mismatch.high = 2;
	check_reply(&m);
	for (s = TETHER_RPC_AUTH_OK; s <= TETHER_RPC_RPCSEC_GSS_CTXPROBLEM;
	     s++) {
		tether_rpc_msg_init_reply(&m, 0x300 + s);
		m.u.reply.stat = TETHER_RPC_MSG_DENIED;
		m.u.reply.reject_stat = TETHER_RPC_AUTH_ERROR;
		m.u.reply.auth_stat = s;
		check_reply(&m);
	}
	for (i = 0; i < 3000; i++) {
		tether_rpc_msg_init_reply(&m, rnd());
		m.u.reply.stat = (enum tether_rpc_reply_stat)(rnd() % 2);
		m.u.reply.accept_stat =
			(enum tether_rpc_accept_stat)(rnd() % 6);
		m.u.reply.reject_stat =
			(enum tether_rpc_reject_stat)(rnd() % 2);
		m.u.reply.auth_stat = rnd() % 15;
		m.u.reply.mismatch.low = rnd();
		m.u.reply.mismatch.high = rnd();
		random_auth(&m.u.reply.verf);
		check_reply(&m);
	}
}

/* ------------------------------------------------------------------ */
/* Limits and rejections both sides agree on                           */
/* ------------------------------------------------------------------ */

static void
test_limits(void)
{
	unsigned char buf[2048], cred[MAX_AUTH_BYTES + 8];
	struct tether_rpc_msg m, back;
	struct tether_xdr tx;
	struct rpc_msg msg;
	size_t n;
	XDR x;

	/* A 400-byte credential is fine for both... */
	tether_rpc_msg_init_call(&m, 1, 2, 3, 4);
	m.u.call.cred.flavor = 390004;
	m.u.call.cred.len = TETHER_RPC_AUTH_MAX_BYTES;
	memset(m.u.call.cred.body, 0x5a, TETHER_RPC_AUTH_MAX_BYTES);
	check_call(&m);

	/* ...a 401-byte one neither encoder writes nor decoder reads. */
	memset(&msg, 0, sizeof(msg));
	msg.rm_xid = 1;
	msg.rm_direction = CALL;
	msg.rm_call.cb_rpcvers = 2;
	msg.rm_call.cb_cred.oa_flavor = 390004;
	msg.rm_call.cb_cred.oa_length = MAX_AUTH_BYTES + 1;
	msg.rm_call.cb_cred.oa_base = (caddr_t)cred;
	memset(cred, 0x5a, sizeof(cred));
	CHECK(tirpc_encode(&msg, buf, sizeof(buf), 1, NULL) == 0);
	m.u.call.cred.len = TETHER_RPC_AUTH_MAX_BYTES + 1;
	CHECK(our_encode(&m, buf, sizeof(buf), NULL) == 0);
	CHECK(tether_rpc_msg_size(&m) == 0);

	/* Hand-patch a valid 400-byte call to announce 401 bytes. */
	m.u.call.cred.len = TETHER_RPC_AUTH_MAX_BYTES;
	n = our_encode(&m, buf, sizeof(buf), NULL);
	CHECK(n > 0);
	buf[6 * 4 + 4 + 3] = 0x91;	/* cred length word: 400 -> 401 */
	tether_xdr_init_decode(&tx, buf, n, 0, NULL);
	CHECK(tether_rpc_msg_decode(&tx, &back) == -TETHER_EOVERFLOW);
	memset(&msg, 0, sizeof(msg));
	msg.rm_call.cb_cred.oa_base = (caddr_t)cred;
	msg.rm_call.cb_verf.oa_base = (caddr_t)cred;
	xdrmem_create(&x, (char *)buf, (u_int)n, XDR_DECODE);
	CHECK(!xdr_callmsg(&x, &msg));
	xdr_destroy(&x);

	/* An undefined reject_stat: both refuse. */
	tether_rpc_msg_init_reply(&m, 9);
	m.u.reply.stat = TETHER_RPC_MSG_DENIED;
	m.u.reply.reject_stat = TETHER_RPC_AUTH_ERROR;
	n = our_encode(&m, buf, sizeof(buf), NULL);
	buf[15] = 2;	/* reject_stat word */
	tether_xdr_init_decode(&tx, buf, n, 0, NULL);
	CHECK(tether_rpc_msg_decode(&tx, &back) == -TETHER_EBADMSG);
	memset(&msg, 0, sizeof(msg));
	xdrmem_create(&x, (char *)buf, (u_int)n, XDR_DECODE);
	CHECK(!xdr_replymsg(&x, &msg));
	xdr_destroy(&x);

	/* Truncated anywhere: both refuse. */
	tether_rpc_msg_init_call(&m, 77, 100003, 3, 1);
	{
		struct tether_rpc_authsys p;
		static const uint32_t g[] = { 1, 2, 3 };

		CHECK(tether_rpc_authsys_init(&p, 1, "trunc", 0, 0, 3, g) == 0);
		CHECK(tether_rpc_authsys_encode(&p, &m.u.call.cred) == 0);
	}
	n = our_encode(&m, buf, sizeof(buf), NULL);
	for (; n > 0; n--) {
		size_t cut = n - 1;
		unsigned char vb[MAX_AUTH_BYTES];

		tether_xdr_init_decode(&tx, buf, cut, 0, NULL);
		CHECK(tether_rpc_msg_decode(&tx, &back) < 0);
		memset(&msg, 0, sizeof(msg));
		msg.rm_call.cb_cred.oa_base = (caddr_t)cred;
		msg.rm_call.cb_verf.oa_base = (caddr_t)vb;
		xdrmem_create(&x, (char *)buf, (u_int)cut, XDR_DECODE);
		CHECK(!xdr_callmsg(&x, &msg));
		xdr_destroy(&x);
	}
}

int
main(void)
{
	test_random_calls();
	test_authsys();
	test_replies();
	test_limits();
	printf("rpcmsg_tirpc: %u checks, %u failures\n", checks, failures);
	return failures == 0 && checks > 10000 ? 0 : 1;
}
