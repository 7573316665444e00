/*
 * msg.c - ONC RPC message headers (RFC 5531 section 9): call and reply
 * bodies with every status, opaque_auth with its 400-byte bound, and the
 * names tables for logs. Arguments and results are left to the caller's
 * codec at the stream position the header ends at.
 */
#include "tether/rpc.h"

#include <string.h>


/* ------------------------------------------------------------------ */
/* Names                                                               */
/* ------------------------------------------------------------------ */

static const char *const msg_type_names[] = { "CALL", "REPLY" };
static const char *const reply_stat_names[] = { "MSG_ACCEPTED",
						"MSG_DENIED" };
static const char *const accept_stat_names[] = {
	"SUCCESS", "PROG_UNAVAIL", "PROG_MISMATCH",
	"PROC_UNAVAIL", "GARBAGE_ARGS", "SYSTEM_ERR",
};
static const char *const reject_stat_names[] = { "RPC_MISMATCH",
						 "AUTH_ERROR" };
static const char *const auth_stat_names[] = {
	"AUTH_OK", "AUTH_BADCRED", "AUTH_REJECTEDCRED", "AUTH_BADVERF",
	"AUTH_REJECTEDVERF", "AUTH_TOOWEAK", "AUTH_INVALIDRESP",
	"AUTH_FAILED", "AUTH_KERB_GENERIC", "AUTH_TIMEEXPIRE",
	"AUTH_TKT_FILE", "AUTH_DECODE", "AUTH_NET_ADDR",
	"RPCSEC_GSS_CREDPROBLEM", "RPCSEC_GSS_CTXPROBLEM",
};
static const char *const auth_flavor_names[] = {
	[TETHER_RPC_AUTH_NONE] = "AUTH_NONE",
	[TETHER_RPC_AUTH_SYS] = "AUTH_SYS",
	[TETHER_RPC_AUTH_SHORT] = "AUTH_SHORT",
	[TETHER_RPC_AUTH_DH] = "AUTH_DH",
	[TETHER_RPC_RPCSEC_GSS] = "RPCSEC_GSS",
	[TETHER_RPC_AUTH_TLS] = "AUTH_TLS",
};

static const char *
name_of(const char *const *tab, size_t n, uint32_t v)
{
	if (v >= n || tab[v] == NULL)
		return "UNKNOWN";
	return tab[v];
}

#define NAME_FN(fn, tab)                                                \
	const char *fn(uint32_t v)                                      \
	{                                                               \
		return name_of(tab, TETHER_ARRAY_SIZE(tab), v);         \
	}

NAME_FN(tether_rpc_msg_type_name, msg_type_names)
NAME_FN(tether_rpc_reply_stat_name, reply_stat_names)
NAME_FN(tether_rpc_accept_stat_name, accept_stat_names)
NAME_FN(tether_rpc_reject_stat_name, reject_stat_names)
NAME_FN(tether_rpc_auth_stat_name, auth_stat_names)
NAME_FN(tether_rpc_auth_flavor_name, auth_flavor_names)

/* ------------------------------------------------------------------ */
/* Construction                                                        */
/* ------------------------------------------------------------------ */

void
tether_rpc_msg_init_call(struct tether_rpc_msg *m /* OUT */, uint32_t xid,
			 uint32_t prog, uint32_t vers, uint32_t proc)
{
	memset(m, 0, sizeof(*m));
	m->xid = xid;
	m->type = TETHER_RPC_CALL;
	m->u.call.rpcvers = TETHER_RPC_VERSION;
	m->u.call.prog = prog;
	m->u.call.vers = vers;
	m->u.call.proc = proc;
	/* memset made both opaque_auth AUTH_NONE with an empty body. */
}

void
tether_rpc_msg_init_reply(struct tether_rpc_msg *m /* OUT */, uint32_t xid)
{
	memset(m, 0, sizeof(*m));
	m->xid = xid;
	m->type = TETHER_RPC_REPLY;
	m->u.reply.stat = TETHER_RPC_MSG_ACCEPTED;
	m->u.reply.accept_stat = TETHER_RPC_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Encoding                                                            */
/* ------------------------------------------------------------------ */

static int
put_auth(struct tether_xdr *x, const struct tether_rpc_opaque_auth *a)
{
	int rc;

	if (a->len > TETHER_RPC_AUTH_MAX_BYTES)
		return tether_xdr_fail(x, -TETHER_EOVERFLOW,
				       "opaque_auth body over 400 bytes");
	rc = tether_xdr_put_u32(x, a->flavor);
	if (rc == 0)
		rc = tether_xdr_put_bytes(x, a->body, a->len,
					  TETHER_RPC_AUTH_MAX_BYTES);
	return rc;
}

static int
put_mismatch(struct tether_xdr *x, const struct tether_rpc_mismatch *mm)
{
	int rc = tether_xdr_put_u32(x, mm->low);

	return rc ? rc : tether_xdr_put_u32(x, mm->high);
}

static int
put_reply(struct tether_xdr *x, const struct tether_rpc_reply *r)
{
	int rc;

	switch (r->stat) {
	case TETHER_RPC_MSG_ACCEPTED:
		if ((uint32_t)r->accept_stat > TETHER_RPC_SYSTEM_ERR)
			return tether_xdr_fail(x, -TETHER_EINVAL,
					       "undefined accept_stat");
		if ((rc = tether_xdr_put_u32(x, r->stat)) != 0 ||
		    (rc = put_auth(x, &r->verf)) != 0 ||
		    (rc = tether_xdr_put_u32(x, r->accept_stat)) != 0)
			return rc;
		if (r->accept_stat == TETHER_RPC_PROG_MISMATCH)
			return put_mismatch(x, &r->mismatch);
		return 0;
	case TETHER_RPC_MSG_DENIED:
		if ((uint32_t)r->reject_stat > TETHER_RPC_AUTH_ERROR)
			return tether_xdr_fail(x, -TETHER_EINVAL,
					       "undefined reject_stat");
		if ((rc = tether_xdr_put_u32(x, r->stat)) != 0 ||
		    (rc = tether_xdr_put_u32(x, r->reject_stat)) != 0)
			return rc;
		if (r->reject_stat == TETHER_RPC_RPC_MISMATCH)
			return put_mismatch(x, &r->mismatch);
		return tether_xdr_put_u32(x, r->auth_stat);
	}
	return tether_xdr_fail(x, -TETHER_EINVAL, "undefined reply_stat");
}

int
tether_rpc_msg_encode(struct tether_xdr *x, struct tether_rpc_msg *m)
{
	const struct tether_rpc_call *c = &m->u.call;
	int rc;

	if (x->op == TETHER_XDR_DECODE)
		return tether_xdr_fail(x, -TETHER_EINVAL,
				       "encode on a decode stream");
	switch (m->type) {
	case TETHER_RPC_CALL:
		if ((rc = tether_xdr_put_u32(x, m->xid)) != 0 ||
		    (rc = tether_xdr_put_u32(x, m->type)) != 0 ||
		    (rc = tether_xdr_put_u32(x, c->rpcvers)) != 0 ||
		    (rc = tether_xdr_put_u32(x, c->prog)) != 0 ||
		    (rc = tether_xdr_put_u32(x, c->vers)) != 0 ||
		    (rc = tether_xdr_put_u32(x, c->proc)) != 0 ||
		    (rc = put_auth(x, &c->cred)) != 0 ||
		    (rc = put_auth(x, &c->verf)) != 0)
			return rc;
		break;
	case TETHER_RPC_REPLY:
		if ((rc = tether_xdr_put_u32(x, m->xid)) != 0 ||
		    (rc = tether_xdr_put_u32(x, m->type)) != 0 ||
		    (rc = put_reply(x, &m->u.reply)) != 0)
			return rc;
		break;
	default:
		return tether_xdr_fail(x, -TETHER_EINVAL,
				       "undefined msg_type");
	}
	m->body_pos = tether_xdr_getpos(x);
	return 0;
}

static size_t
opaque_auth_size(const struct tether_rpc_opaque_auth *a)
{
	return 4 + tether_xdr_size_bytes(a->len);
}

size_t
tether_rpc_msg_size(const struct tether_rpc_msg *m)
{
	const struct tether_rpc_reply *r = &m->u.reply;

	if (m->type == TETHER_RPC_CALL) {
		if (m->u.call.cred.len > TETHER_RPC_AUTH_MAX_BYTES ||
		    m->u.call.verf.len > TETHER_RPC_AUTH_MAX_BYTES)
			return 0;
		return 6 * 4 + opaque_auth_size(&m->u.call.cred) +
		       opaque_auth_size(&m->u.call.verf);
	}
	if (m->type != TETHER_RPC_REPLY)
		return 0;
	if (r->stat == TETHER_RPC_MSG_ACCEPTED) {
		if ((uint32_t)r->accept_stat > TETHER_RPC_SYSTEM_ERR ||
		    r->verf.len > TETHER_RPC_AUTH_MAX_BYTES)
			return 0;
		return 3 * 4 + opaque_auth_size(&r->verf) + 4 +
		       (r->accept_stat == TETHER_RPC_PROG_MISMATCH ? 8 : 0);
	}
	if (r->stat == TETHER_RPC_MSG_DENIED) {
		if ((uint32_t)r->reject_stat > TETHER_RPC_AUTH_ERROR)
			return 0;
		return 4 * 4 +
		       (r->reject_stat == TETHER_RPC_RPC_MISMATCH ? 8 : 4);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Decoding                                                            */
/* ------------------------------------------------------------------ */

static int
get_auth(struct tether_xdr *x, struct tether_rpc_opaque_auth *a /* OUT */)
{
	unsigned flags = x->flags;
	const uint8_t *p;
	uint32_t len;
	int rc;

	if ((rc = tether_xdr_get_u32(x, &a->flavor)) != 0)
		return rc;
	/*
	 * get_bytes_ref checks len against 400 and the bytes left before
	 * anything is copied. Padding is not checked here: libtirpc's
	 * xdr_callmsg copies credentials inline and leaves the pad bytes as
	 * whatever its buffer held, so real clients send garbage there.
	 */
	x->flags |= TETHER_XDR_LENIENT_PAD;
	rc = tether_xdr_get_bytes_ref(x, &p, &len, TETHER_RPC_AUTH_MAX_BYTES);
	x->flags = flags;
	if (rc != 0)
		return rc;
	TETHER_BUG_ON(len > TETHER_RPC_AUTH_MAX_BYTES);
	a->len = len;
	if (len > 0)
		memcpy(a->body, p, len);
	return 0;
}

/* Read a u32 that must be at most max; an undefined value is EBADMSG
 * reported at the value's own offset. */
static int
get_enum(struct tether_xdr *x, uint32_t *v /* OUT */, uint32_t max,
	 const char *what)
{
	size_t at = tether_xdr_getpos(x);
	int rc = tether_xdr_get_u32(x, v);

	if (rc != 0)
		return rc;
	if (*v > max)
		return tether_xdr_fail_at(x, -TETHER_EBADMSG, at, what);
	return 0;
}

static int
get_mismatch(struct tether_xdr *x, struct tether_rpc_mismatch *mm /* OUT */)
{
	int rc = tether_xdr_get_u32(x, &mm->low);

	return rc ? rc : tether_xdr_get_u32(x, &mm->high);
}

static int
get_reply(struct tether_xdr *x, struct tether_rpc_reply *r /* OUT */)
{
	uint32_t v;
	int rc;

	if ((rc = get_enum(x, &v, TETHER_RPC_MSG_DENIED,
			   "undefined reply_stat")) != 0)
		return rc;
	r->stat = (enum tether_rpc_reply_stat)v;
	if (r->stat == TETHER_RPC_MSG_ACCEPTED) {
		if ((rc = get_auth(x, &r->verf)) != 0)
			return rc;
		if ((rc = get_enum(x, &v, TETHER_RPC_SYSTEM_ERR,
				   "undefined accept_stat")) != 0)
			return rc;
		r->accept_stat = (enum tether_rpc_accept_stat)v;
		if (r->accept_stat == TETHER_RPC_PROG_MISMATCH)
			return get_mismatch(x, &r->mismatch);
		return 0;
	}
	if ((rc = get_enum(x, &v, TETHER_RPC_AUTH_ERROR,
			   "undefined reject_stat")) != 0)
		return rc;
	r->reject_stat = (enum tether_rpc_reject_stat)v;
	if (r->reject_stat == TETHER_RPC_RPC_MISMATCH)
		return get_mismatch(x, &r->mismatch);
	return tether_xdr_get_u32(x, &r->auth_stat);
}

int
tether_rpc_msg_decode(struct tether_xdr *x, struct tether_rpc_msg *m /* OUT */)
{
	struct tether_rpc_call *c = &m->u.call;
	uint32_t v;
	int rc;

	memset(m, 0, sizeof(*m));
	if (x->op != TETHER_XDR_DECODE)
		return tether_xdr_fail(x, -TETHER_EINVAL,
				       "decode on an encode stream");
	if ((rc = tether_xdr_get_u32(x, &m->xid)) != 0 ||
	    (rc = get_enum(x, &v, TETHER_RPC_REPLY,
			   "undefined msg_type")) != 0)
		return rc;
	m->type = (enum tether_rpc_msg_type)v;
	if (m->type == TETHER_RPC_CALL) {
		if ((rc = tether_xdr_get_u32(x, &c->rpcvers)) != 0 ||
		    (rc = tether_xdr_get_u32(x, &c->prog)) != 0 ||
		    (rc = tether_xdr_get_u32(x, &c->vers)) != 0 ||
		    (rc = tether_xdr_get_u32(x, &c->proc)) != 0 ||
		    (rc = get_auth(x, &c->cred)) != 0 ||
		    (rc = get_auth(x, &c->verf)) != 0)
			return rc;
	} else {
		if ((rc = get_reply(x, &m->u.reply)) != 0)
			return rc;
	}
	m->body_pos = tether_xdr_getpos(x);
	return 0;
}
