/*
 * pdu.c - connection-oriented DCE/RPC PDUs (C706 12.6, MS-RPCE 2.2.2):
 * the common header, and decode / encode of every PDU type a server or a
 * client sends or receives over ncacn_ip_tcp. Decoding is strict: every
 * count must agree with frag_length and auth_length, nothing may trail
 * the body, and flags must make sense for the type. Auth verifiers are
 * carried through untouched.
 */
#include "dce/dce_int.h"

/* A bounded input cursor over one PDU: [pos, end). */
struct in {
	const uint8_t *p;
	size_t pos;
	size_t end;
	int be;
};

static int
in_need(const struct in *in, size_t n)
{
	return n <= in->end - in->pos ? 0 : -TETHER_EBADMSG;
}

/* Flags that may appear per type; the rest are malformed. OBJECT_UUID
 * changes the request layout and means nothing elsewhere. */
static uint8_t
allowed_flags(unsigned ptype)
{
	const uint8_t base =
		TETHER_DCE_PFC_FIRST_FRAG | TETHER_DCE_PFC_LAST_FRAG |
		TETHER_DCE_PFC_PENDING_CANCEL | TETHER_DCE_PFC_RESERVED_1 |
		TETHER_DCE_PFC_CONC_MPX;

	switch (ptype) {
	case TETHER_DCE_PT_REQUEST:
		return base | TETHER_DCE_PFC_MAYBE | TETHER_DCE_PFC_OBJECT_UUID;
	case TETHER_DCE_PT_FAULT:
		return base | TETHER_DCE_PFC_DID_NOT_EXECUTE;
	default:
		return base;
	}
}

void
tether_dce_pdu_init(struct tether_dce_pdu *pdu, unsigned ptype,
		    uint32_t call_id)
{
	memset(pdu, 0, sizeof(*pdu));
	pdu->hdr.rpc_vers = 5;
	pdu->hdr.rpc_vers_minor = 0;
	pdu->hdr.ptype = (uint8_t)ptype;
	pdu->hdr.pfc_flags =
		TETHER_DCE_PFC_FIRST_FRAG | TETHER_DCE_PFC_LAST_FRAG;
	pdu->hdr.drep[0] = TETHER_DCE_DREP_LE;
	pdu->hdr.call_id = call_id;
}

int
tether_dce_hdr_decode(const uint8_t *p, size_t len, struct tether_dce_hdr *out)
{
	int be;

	if (len < TETHER_DCE_HDR_LEN)
		return -TETHER_ETRUNC;
	out->rpc_vers = p[0];
	out->rpc_vers_minor = p[1];
	out->ptype = p[2];
	out->pfc_flags = p[3];
	memcpy(out->drep, p + 4, 4);
	be = !(p[4] & TETHER_DCE_DREP_LE);
	out->frag_length = tether__dce_ld16(p + 8, be);
	out->auth_length = tether__dce_ld16(p + 10, be);
	out->call_id = tether__dce_ld32(p + 12, be);
	/* Integer rep 0/1, character rep 0/1 (ASCII/EBCDIC), float 0..3. */
	if ((p[4] >> 4) > 1 || (p[4] & 0x0f) > 1 || p[5] > 3)
		return -TETHER_EBADMSG;
	if (out->frag_length < TETHER_DCE_HDR_LEN)
		return -TETHER_EBADMSG;
	if (out->auth_length != 0 &&
	    (size_t)out->auth_length + TETHER_DCE_AUTH_TRAILER_LEN >
		    (size_t)out->frag_length - TETHER_DCE_HDR_LEN)
		return -TETHER_EBADMSG;
	if (out->rpc_vers != 5 || out->rpc_vers_minor > 1)
		return -TETHER_EPROTO;
	return 0;
}

static void *
arena_array(struct tether_arena *arena, size_t n, size_t size)
{
	/* n <= 255 and size is a small struct: no overflow. */
	return tether_arena_alloc(arena, n * size);
}

static int
decode_bind(struct in *in, struct tether_arena *arena,
	    struct tether_dce_bind *b)
{
	struct tether_dce_ctx_elem *ctx;
	size_t i, j;

	if (in_need(in, 12) < 0)
		return -TETHER_EBADMSG;
	b->max_xmit_frag = tether__dce_ld16(in->p + in->pos, in->be);
	b->max_recv_frag = tether__dce_ld16(in->p + in->pos + 2, in->be);
	b->assoc_group_id = tether__dce_ld32(in->p + in->pos + 4, in->be);
	b->n_context_elem = in->p[in->pos + 8];
	in->pos += 12;
	b->ctx = NULL;
	/* Check the whole list fits before allocating for it. */
	{
		size_t pos = in->pos;

		for (i = 0; i < b->n_context_elem; i++) {
			size_t n;

			if (in->end - pos < 24)
				return -TETHER_EBADMSG;
			n = in->p[pos + 2];
			if ((in->end - pos - 24) / 20 < n)
				return -TETHER_EBADMSG;
			pos += 24 + 20 * n;
		}
	}
	if (arena == NULL)
		return -TETHER_EINVAL;
	ctx = arena_array(arena, b->n_context_elem, sizeof(*ctx));
	if (ctx == NULL)
		return -TETHER_ENOMEM;
	for (i = 0; i < b->n_context_elem; i++) {
		struct tether_dce_syntax *ts;
		const uint8_t *q = in->p + in->pos;

		ctx[i].p_cont_id = tether__dce_ld16(q, in->be);
		ctx[i].n_transfer_syn = q[2];
		tether__dce_ld_syntax(q + 4, in->be, &ctx[i].abstract_syntax);
		in->pos += 24;
		ts = arena_array(arena, ctx[i].n_transfer_syn, sizeof(*ts));
		if (ts == NULL)
			return -TETHER_ENOMEM;
		for (j = 0; j < ctx[i].n_transfer_syn; j++) {
			tether__dce_ld_syntax(in->p + in->pos, in->be, &ts[j]);
			in->pos += 20;
		}
		ctx[i].transfer_syntaxes = ts;
	}
	b->ctx = ctx;
	return 0;
}

static int
decode_bind_ack(struct in *in, struct tether_arena *arena,
		struct tether_dce_bind_ack *a)
{
	struct tether_dce_ctx_result *res;
	size_t i, pad;

	if (in_need(in, 10) < 0)
		return -TETHER_EBADMSG;
	a->max_xmit_frag = tether__dce_ld16(in->p + in->pos, in->be);
	a->max_recv_frag = tether__dce_ld16(in->p + in->pos + 2, in->be);
	a->assoc_group_id = tether__dce_ld32(in->p + in->pos + 4, in->be);
	a->sec_addr_len = tether__dce_ld16(in->p + in->pos + 8, in->be);
	in->pos += 10;
	a->sec_addr = NULL;
	if (in_need(in, a->sec_addr_len) < 0)
		return -TETHER_EBADMSG;
	if (a->sec_addr_len > 0) {
		const uint8_t *s = in->p + in->pos;

		/* A port string: NUL-terminated, no NUL inside. */
		if (s[a->sec_addr_len - 1] != '\0' ||
		    memchr(s, '\0', a->sec_addr_len - 1) != NULL)
			return -TETHER_EBADMSG;
		a->sec_addr = (const char *)s;
		in->pos += a->sec_addr_len;
	}
	/* Pad to 4 from the PDU start; the pad bytes are not checked. */
	pad = (4 - (in->pos & 3)) & 3;
	if (in_need(in, pad + 4) < 0)
		return -TETHER_EBADMSG;
	in->pos += pad;
	a->n_results = in->p[in->pos];
	in->pos += 4;
	if ((in->end - in->pos) / 24 < a->n_results)
		return -TETHER_EBADMSG;
	if (arena == NULL)
		return -TETHER_EINVAL;
	res = arena_array(arena, a->n_results, sizeof(*res));
	if (res == NULL)
		return -TETHER_ENOMEM;
	for (i = 0; i < a->n_results; i++) {
		const uint8_t *q = in->p + in->pos;

		res[i].result = tether__dce_ld16(q, in->be);
		res[i].reason = tether__dce_ld16(q + 2, in->be);
		tether__dce_ld_syntax(q + 4, in->be, &res[i].transfer_syntax);
		in->pos += 24;
	}
	a->results = res;
	return 0;
}

static int
decode_bind_nak(struct in *in, struct tether_dce_bind_nak *n)
{
	size_t i, rest;

	if (in_need(in, 2) < 0)
		return -TETHER_EBADMSG;
	n->reason = tether__dce_ld16(in->p + in->pos, in->be);
	in->pos += 2;
	n->n_versions = 0;
	/* C706 has the version list; some peers stop after the reason. */
	if (in->pos == in->end)
		return 0;
	n->n_versions = in->p[in->pos++];
	if (n->n_versions > TETHER_DCE_NAK_MAX_VERSIONS)
		return -TETHER_EBADMSG;
	if (in_need(in, 2u * n->n_versions) < 0)
		return -TETHER_EBADMSG;
	for (i = 0; i < n->n_versions; i++) {
		n->versions[i][0] = in->p[in->pos++];
		n->versions[i][1] = in->p[in->pos++];
	}
	/* Then padding to 4 and, MS-RPCE 2.2.2.9, maybe a 16-byte signature. */
	rest = in->end - in->pos;
	if (rest != ((4 - (in->pos & 3)) & 3) &&
	    rest != ((4 - (in->pos & 3)) & 3) + 16)
		return -TETHER_EBADMSG;
	in->pos = in->end;
	return 0;
}

int
tether_dce_pdu_decode(const uint8_t *p, size_t len, struct tether_arena *arena,
		      struct tether_dce_pdu *out)
{
	struct in in;
	size_t stub_start;
	int rc, stub_pdu = 0;

	memset(out, 0, sizeof(*out));
	rc = tether_dce_hdr_decode(p, len, &out->hdr);
	if (rc < 0)
		return rc;
	if (out->hdr.frag_length != len)
		return len < out->hdr.frag_length ? -TETHER_ETRUNC
						  : -TETHER_EBADMSG;
	if (out->hdr.pfc_flags & ~allowed_flags(out->hdr.ptype))
		return -TETHER_EBADMSG;
	in.p = p;
	in.pos = TETHER_DCE_HDR_LEN;
	in.end = len;
	in.be = !(out->hdr.drep[0] & TETHER_DCE_DREP_LE);
	if (out->hdr.auth_length) {
		const uint8_t *t;

		in.end = len - out->hdr.auth_length -
			 TETHER_DCE_AUTH_TRAILER_LEN;
		t = p + in.end;
		out->auth.type = t[0];
		out->auth.level = t[1];
		out->auth.pad_length = t[2];
		out->auth.reserved = t[3];
		out->auth.context_id = tether__dce_ld32(t + 4, in.be);
		out->auth.value = t + TETHER_DCE_AUTH_TRAILER_LEN;
		/* The sec_trailer is 4-aligned [MS-RPCE 2.2.2.11]. */
		if (in.end & 3)
			return -TETHER_EBADMSG;
	}

	switch (out->hdr.ptype) {
	case TETHER_DCE_PT_BIND:
	case TETHER_DCE_PT_ALTER_CONTEXT:
		rc = decode_bind(&in, arena, &out->u.bind);
		break;
	case TETHER_DCE_PT_BIND_ACK:
	case TETHER_DCE_PT_ALTER_CONTEXT_RESP:
		rc = decode_bind_ack(&in, arena, &out->u.bind_ack);
		break;
	case TETHER_DCE_PT_BIND_NAK:
		rc = decode_bind_nak(&in, &out->u.bind_nak);
		break;
	case TETHER_DCE_PT_REQUEST: {
		struct tether_dce_request *rq = &out->u.request;

		if (in_need(&in, 8) < 0)
			return -TETHER_EBADMSG;
		rq->alloc_hint = tether__dce_ld32(p + 16, in.be);
		rq->p_cont_id = tether__dce_ld16(p + 20, in.be);
		rq->opnum = tether__dce_ld16(p + 22, in.be);
		in.pos = 24;
		if (out->hdr.pfc_flags & TETHER_DCE_PFC_OBJECT_UUID) {
			if (in_need(&in, 16) < 0)
				return -TETHER_EBADMSG;
			tether__dce_ld_uuid(p + 24, in.be, &rq->object);
			in.pos = 40;
		}
		stub_pdu = 1;
		break;
	}
	case TETHER_DCE_PT_RESPONSE:
		if (in_need(&in, 8) < 0)
			return -TETHER_EBADMSG;
		out->u.response.alloc_hint = tether__dce_ld32(p + 16, in.be);
		out->u.response.p_cont_id = tether__dce_ld16(p + 20, in.be);
		out->u.response.cancel_count = p[22];
		in.pos = 24;
		stub_pdu = 1;
		break;
	case TETHER_DCE_PT_FAULT:
		if (in_need(&in, 16) < 0)
			return -TETHER_EBADMSG;
		out->u.fault.alloc_hint = tether__dce_ld32(p + 16, in.be);
		out->u.fault.p_cont_id = tether__dce_ld16(p + 20, in.be);
		out->u.fault.cancel_count = p[22];
		out->u.fault.status = tether__dce_ld32(p + 24, in.be);
		in.pos = 32;
		stub_pdu = 1;
		break;
	case TETHER_DCE_PT_AUTH3:
		/* MS-RPCE 2.2.2.10: a 4-byte pad, then the verifier. */
		if (in.end - in.pos == 4)
			in.pos += 4;
		break;
	case TETHER_DCE_PT_SHUTDOWN:
	case TETHER_DCE_PT_CO_CANCEL:
	case TETHER_DCE_PT_ORPHANED:
		break;
	default:
		/* 1, 4..10 are connectionless PDUs; the rest unassigned. */
		return out->hdr.ptype <= 10 ? -TETHER_EBADMSG : -TETHER_ENOTSUP;
	}
	if (rc < 0)
		return rc;
	if (stub_pdu) {
		size_t stub_len;

		stub_start = in.pos;
		stub_len = in.end - stub_start;
		if (out->hdr.auth_length) {
			if (out->auth.pad_length > stub_len)
				return -TETHER_EBADMSG;
			stub_len -= out->auth.pad_length;
		}
		switch (out->hdr.ptype) {
		case TETHER_DCE_PT_REQUEST:
			out->u.request.stub = p + stub_start;
			out->u.request.stub_len = stub_len;
			break;
		case TETHER_DCE_PT_RESPONSE:
			out->u.response.stub = p + stub_start;
			out->u.response.stub_len = stub_len;
			break;
		default:
			out->u.fault.stub = p + stub_start;
			out->u.fault.stub_len = stub_len;
			break;
		}
		return 0;
	}
	/* Other bodies end exactly where the auth padding begins. */
	if (in.end - in.pos !=
	    (out->hdr.auth_length ? (size_t)out->auth.pad_length : 0))
		return -TETHER_EBADMSG;
	return 0;
}

static int
encode_body(const struct tether_dce_pdu *pdu, struct tether__dce_out *o)
{
	size_t i, j;

	switch (pdu->hdr.ptype) {
	case TETHER_DCE_PT_BIND:
	case TETHER_DCE_PT_ALTER_CONTEXT: {
		const struct tether_dce_bind *b = &pdu->u.bind;

		if (b->n_context_elem && b->ctx == NULL)
			return -TETHER_EINVAL;
		tether__dce_out_u16(o, b->max_xmit_frag);
		tether__dce_out_u16(o, b->max_recv_frag);
		tether__dce_out_u32(o, b->assoc_group_id);
		tether__dce_out_u8(o, b->n_context_elem);
		tether__dce_out_zero(o, 3);
		for (i = 0; i < b->n_context_elem; i++) {
			const struct tether_dce_ctx_elem *c = &b->ctx[i];

			if (c->n_transfer_syn && c->transfer_syntaxes == NULL)
				return -TETHER_EINVAL;
			tether__dce_out_u16(o, c->p_cont_id);
			tether__dce_out_u8(o, c->n_transfer_syn);
			tether__dce_out_u8(o, 0);
			tether__dce_out_syntax(o, &c->abstract_syntax);
			for (j = 0; j < c->n_transfer_syn; j++)
				tether__dce_out_syntax(
					o, &c->transfer_syntaxes[j]);
		}
		return 0;
	}
	case TETHER_DCE_PT_BIND_ACK:
	case TETHER_DCE_PT_ALTER_CONTEXT_RESP: {
		const struct tether_dce_bind_ack *a = &pdu->u.bind_ack;

		if ((a->n_results && a->results == NULL) ||
		    (a->sec_addr_len && a->sec_addr == NULL))
			return -TETHER_EINVAL;
		tether__dce_out_u16(o, a->max_xmit_frag);
		tether__dce_out_u16(o, a->max_recv_frag);
		tether__dce_out_u32(o, a->assoc_group_id);
		tether__dce_out_u16(o, a->sec_addr_len);
		tether__dce_out_bytes(o, a->sec_addr, a->sec_addr_len);
		tether__dce_out_zero(o, (4 - (o->pos & 3)) & 3);
		tether__dce_out_u8(o, a->n_results);
		tether__dce_out_zero(o, 3);
		for (i = 0; i < a->n_results; i++) {
			tether__dce_out_u16(o, a->results[i].result);
			tether__dce_out_u16(o, a->results[i].reason);
			tether__dce_out_syntax(o,
					       &a->results[i].transfer_syntax);
		}
		return 0;
	}
	case TETHER_DCE_PT_BIND_NAK: {
		const struct tether_dce_bind_nak *n = &pdu->u.bind_nak;

		if (n->n_versions > TETHER_DCE_NAK_MAX_VERSIONS)
			return -TETHER_EINVAL;
		tether__dce_out_u16(o, n->reason);
		tether__dce_out_u8(o, n->n_versions);
		for (i = 0; i < n->n_versions; i++)
			tether__dce_out_bytes(o, n->versions[i], 2);
		tether__dce_out_zero(o, (4 - (o->pos & 3)) & 3);
		return 0;
	}
	case TETHER_DCE_PT_REQUEST: {
		const struct tether_dce_request *rq = &pdu->u.request;

		if (rq->stub_len && rq->stub == NULL)
			return -TETHER_EINVAL;
		tether__dce_out_u32(o, rq->alloc_hint);
		tether__dce_out_u16(o, rq->p_cont_id);
		tether__dce_out_u16(o, rq->opnum);
		if (pdu->hdr.pfc_flags & TETHER_DCE_PFC_OBJECT_UUID)
			tether__dce_out_uuid(o, &rq->object);
		tether__dce_out_bytes(o, rq->stub, rq->stub_len);
		return 0;
	}
	case TETHER_DCE_PT_RESPONSE: {
		const struct tether_dce_response *rs = &pdu->u.response;

		if (rs->stub_len && rs->stub == NULL)
			return -TETHER_EINVAL;
		tether__dce_out_u32(o, rs->alloc_hint);
		tether__dce_out_u16(o, rs->p_cont_id);
		tether__dce_out_u8(o, rs->cancel_count);
		tether__dce_out_u8(o, 0);
		tether__dce_out_bytes(o, rs->stub, rs->stub_len);
		return 0;
	}
	case TETHER_DCE_PT_FAULT: {
		const struct tether_dce_fault *f = &pdu->u.fault;

		if (f->stub_len && f->stub == NULL)
			return -TETHER_EINVAL;
		tether__dce_out_u32(o, f->alloc_hint);
		tether__dce_out_u16(o, f->p_cont_id);
		tether__dce_out_u8(o, f->cancel_count);
		tether__dce_out_u8(o, 0);
		tether__dce_out_u32(o, f->status);
		tether__dce_out_u32(o, 0);
		tether__dce_out_bytes(o, f->stub, f->stub_len);
		return 0;
	}
	case TETHER_DCE_PT_AUTH3:
		tether__dce_out_zero(o, 4);
		return 0;
	case TETHER_DCE_PT_SHUTDOWN:
	case TETHER_DCE_PT_CO_CANCEL:
	case TETHER_DCE_PT_ORPHANED:
		return 0;
	default:
		return -TETHER_EINVAL;
	}
}

int
tether_dce_pdu_encode(const struct tether_dce_pdu *pdu, uint8_t *buf,
		      size_t cap, size_t *len)
{
	struct tether__dce_out o;
	uint8_t *h;
	int rc;

	o.p = buf;
	o.cap = cap;
	o.pos = 0;
	o.be = !(pdu->hdr.drep[0] & TETHER_DCE_DREP_LE);
	o.err = 0;
	if (pdu->hdr.auth_length && pdu->auth.value == NULL)
		return -TETHER_EINVAL;
	h = tether__dce_out_take(&o, TETHER_DCE_HDR_LEN);
	rc = encode_body(pdu, &o);
	if (rc < 0)
		return rc;
	if (pdu->hdr.auth_length) {
		uint8_t *t;

		tether__dce_out_zero(&o, pdu->auth.pad_length);
		t = tether__dce_out_take(&o, TETHER_DCE_AUTH_TRAILER_LEN);
		if (t != NULL) {
			t[0] = pdu->auth.type;
			t[1] = pdu->auth.level;
			t[2] = pdu->auth.pad_length;
			t[3] = pdu->auth.reserved;
			tether__dce_st32(t + 4, pdu->auth.context_id, o.be);
		}
		tether__dce_out_bytes(&o, pdu->auth.value,
				      pdu->hdr.auth_length);
	}
	if (o.pos > TETHER_DCE_FRAG_MAX)
		return -TETHER_EMSGSIZE;
	if (o.err)
		return o.err;
	h[0] = pdu->hdr.rpc_vers;
	h[1] = pdu->hdr.rpc_vers_minor;
	h[2] = pdu->hdr.ptype;
	h[3] = pdu->hdr.pfc_flags;
	memcpy(h + 4, pdu->hdr.drep, 4);
	tether__dce_st16(h + 8, (uint16_t)o.pos, o.be);
	tether__dce_st16(h + 10, pdu->hdr.auth_length, o.be);
	tether__dce_st32(h + 12, pdu->hdr.call_id, o.be);
	*len = o.pos;
	return 0;
}
