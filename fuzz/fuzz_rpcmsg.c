/*
 * fuzz_rpcmsg.c - the RPC message header decoder and the AUTH_SYS
 * decoder on arbitrary bytes. Invariants: a decoded message re-encodes
 * to exactly as many bytes as it was read from, to the same bytes apart
 * from opaque_auth padding (which decoding tolerates), and decodes again
 * to the same message; tether_rpc_msg_size agrees; an AUTH_SYS body that
 * decodes re-encodes to the same bytes; names never come back NULL.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tether/rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_auth_same(const struct tether_rpc_opaque_auth *a,
		const struct tether_rpc_opaque_auth *b)
{
	if (a->flavor != b->flavor || a->len != b->len ||
	    memcmp(a->body, b->body, a->len) != 0)
		abort();
}

static void
check_msg_same(const struct tether_rpc_msg *a, const struct tether_rpc_msg *b)
{
	const struct tether_rpc_reply *ra = &a->u.reply, *rb = &b->u.reply;

	if (a->xid != b->xid || a->type != b->type ||
	    a->body_pos != b->body_pos)
		abort();
	if (a->type == TETHER_RPC_CALL) {
		if (a->u.call.rpcvers != b->u.call.rpcvers ||
		    a->u.call.prog != b->u.call.prog ||
		    a->u.call.vers != b->u.call.vers ||
		    a->u.call.proc != b->u.call.proc)
			abort();
		check_auth_same(&a->u.call.cred, &b->u.call.cred);
		check_auth_same(&a->u.call.verf, &b->u.call.verf);
		return;
	}
	if (ra->stat != rb->stat)
		abort();
	if (ra->stat == TETHER_RPC_MSG_ACCEPTED) {
		check_auth_same(&ra->verf, &rb->verf);
		if (ra->accept_stat != rb->accept_stat)
			abort();
		if (ra->accept_stat == TETHER_RPC_PROG_MISMATCH &&
		    (ra->mismatch.low != rb->mismatch.low ||
		     ra->mismatch.high != rb->mismatch.high))
			abort();
		return;
	}
	if (ra->reject_stat != rb->reject_stat)
		abort();
	if (ra->reject_stat == TETHER_RPC_RPC_MISMATCH &&
	    (ra->mismatch.low != rb->mismatch.low ||
	     ra->mismatch.high != rb->mismatch.high))
		abort();
	if (ra->reject_stat == TETHER_RPC_AUTH_ERROR &&
	    ra->auth_stat != rb->auth_stat)
		abort();
}

/* Compare the wire image, skipping the pad bytes after each opaque_auth
 * body (decoding tolerates garbage there, encoding writes zeros). */
static void
check_bytes(const struct tether_rpc_msg *m, const unsigned char *in,
	    const unsigned char *out, size_t n)
{
	const struct tether_rpc_opaque_auth *auths[2];
	size_t nauth = 0, off = 0, i;
	size_t skip_from[2], skip_to[2];

	if (m->type == TETHER_RPC_CALL) {
		auths[nauth++] = &m->u.call.cred;
		auths[nauth++] = &m->u.call.verf;
		off = 24;
	} else if (m->u.reply.stat == TETHER_RPC_MSG_ACCEPTED) {
		auths[nauth++] = &m->u.reply.verf;
		off = 12;
	}
	for (i = 0; i < nauth; i++) {
		off += 8 + auths[i]->len;
		skip_from[i] = off;
		off += tether_xdr_pad(auths[i]->len);
		skip_to[i] = off;
	}
	for (i = 0; i < n; i++) {
		int skip = 0;
		size_t k;

		for (k = 0; k < nauth; k++)
			if (i >= skip_from[k] && i < skip_to[k])
				skip = 1;
		if (skip) {
			if (out[i] != 0)
				abort();
			continue;
		}
		if (in[i] != out[i])
			abort();
	}
}

static void
check_authsys(const struct tether_rpc_opaque_auth *a)
{
	struct tether_rpc_authsys p;
	struct tether_rpc_opaque_auth back;

	if (tether_rpc_authsys_decode(a, &p) != 0)
		return;
	if (p.machinename_len > TETHER_RPC_AUTHSYS_MAX_MACHINENAME ||
	    p.ngids > TETHER_RPC_AUTHSYS_MAX_GIDS ||
	    p.machinename[p.machinename_len] != '\0')
		abort();
	if (tether_rpc_authsys_encode(&p, &back) != 0)
		abort();
	check_auth_same(a, &back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tether_rpc_msg m, again;
	struct tether_rpc_opaque_auth raw;
	struct tether_xdr x;
	unsigned char out[2048];
	size_t n;
	int rc;

	/* The input as an AUTH_SYS body on its own. */
	raw.flavor = TETHER_RPC_AUTH_SYS;
	raw.len = (uint32_t)(size < TETHER_RPC_AUTH_MAX_BYTES ?
				     size : TETHER_RPC_AUTH_MAX_BYTES);
	memcpy(raw.body, data, raw.len);
	check_authsys(&raw);

	/* The input as a message. */
	tether_xdr_init_decode(&x, data, size, 0, NULL);
	rc = tether_rpc_msg_decode(&x, &m);
	if (rc != 0) {
		if (x.err.code != rc || x.err.what == NULL ||
		    x.err.offset > size)
			abort();
		return 0;
	}
	if (m.body_pos != tether_xdr_getpos(&x) || m.body_pos > size)
		abort();
	/* Names of whatever came in. */
	if (tether_rpc_msg_type_name(m.type) == NULL ||
	    tether_rpc_reply_stat_name(m.u.reply.stat) == NULL ||
	    tether_rpc_accept_stat_name(m.u.reply.accept_stat) == NULL ||
	    tether_rpc_reject_stat_name(m.u.reply.reject_stat) == NULL ||
	    tether_rpc_auth_stat_name(m.u.reply.auth_stat) == NULL ||
	    tether_rpc_auth_flavor_name(m.u.call.cred.flavor) == NULL)
		abort();

	if (tether_rpc_msg_size(&m) != m.body_pos)
		abort();
	again = m;
	tether_xdr_init_encode(&x, out, sizeof(out));
	if (tether_rpc_msg_encode(&x, &again) != 0)
		abort();
	n = tether_xdr_getpos(&x);
	if (n != m.body_pos || again.body_pos != n)
		abort();
	check_bytes(&m, data, out, n);
	tether_xdr_init_decode(&x, out, n, 0, NULL);
	if (tether_rpc_msg_decode(&x, &again) != 0)
		abort();
	check_msg_same(&m, &again);

	if (m.type == TETHER_RPC_CALL) {
		if (m.u.call.cred.flavor == TETHER_RPC_AUTH_SYS)
			check_authsys(&m.u.call.cred);
		if (m.u.call.verf.flavor == TETHER_RPC_AUTH_SYS)
			check_authsys(&m.u.call.verf);
	}
	return 0;
}
