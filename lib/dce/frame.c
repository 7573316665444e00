/*
 * frame.c - PDUs on a byte stream: the incremental framer (header first,
 * then frag_length - 16 bytes, bounded by the negotiated fragment size),
 * reassembly of multi-fragment requests and responses into one stub, and
 * the reverse: cutting an outgoing stub into fragments of max_frag bytes.
 *
 * Framer states: need == 16 while the header is being collected in
 * f->hdr; once it is checked need = frag_length and the body goes into
 * f->buf. ready marks a PDU handed out, so the next feed starts over.
 */
#include "dce/dce_int.h"

int
tether_dce_framer_init(struct tether_dce_framer *f, size_t max_frag)
{
	memset(f, 0, sizeof(*f));
	f->need = TETHER_DCE_HDR_LEN;
	return tether_dce_framer_set_max(f, max_frag);
}

void
tether_dce_framer_free(struct tether_dce_framer *f)
{
	tether_free(f->buf);
	f->buf = NULL;
	f->cap = 0;
}

int
tether_dce_framer_set_max(struct tether_dce_framer *f, size_t max_frag)
{
	if (max_frag < TETHER_DCE_HDR_LEN || max_frag > TETHER_DCE_FRAG_MAX)
		return -TETHER_EINVAL;
	f->max_frag = max_frag;
	return 0;
}

/* The header is complete: check it and make room for the whole PDU. */
static int
framer_start_body(struct tether_dce_framer *f)
{
	struct tether_dce_hdr h;
	int rc = tether_dce_hdr_decode(f->hdr, TETHER_DCE_HDR_LEN, &h);

	/* A wrong version is still framed, so the caller can bind_nak it. */
	if (rc < 0 && rc != -TETHER_EPROTO)
		return rc;
	if (h.frag_length > f->max_frag)
		return -TETHER_EMSGSIZE;
	if (f->cap < h.frag_length) {
		uint8_t *nb = tether_realloc(f->buf, h.frag_length);

		if (nb == NULL)
			return -TETHER_ENOMEM;
		f->buf = nb;
		f->cap = h.frag_length;
	}
	memcpy(f->buf, f->hdr, TETHER_DCE_HDR_LEN);
	f->need = h.frag_length;
	return 0;
}

ssize_t
tether_dce_framer_feed(struct tether_dce_framer *f, const uint8_t *p,
		       size_t len, const uint8_t **pdu, size_t *pdu_len)
{
	size_t used = 0;

	*pdu = NULL;
	*pdu_len = 0;
	if (f->err)
		return f->err;
	if (f->ready) {
		f->ready = 0;
		f->have = 0;
		f->need = TETHER_DCE_HDR_LEN;
	}
	while (used < len) {
		size_t n;

		if (f->have < TETHER_DCE_HDR_LEN) {
			n = TETHER_DCE_HDR_LEN - f->have;
			if (n > len - used)
				n = len - used;
			memcpy(f->hdr + f->have, p + used, n);
			f->have += n;
			used += n;
			if (f->have < TETHER_DCE_HDR_LEN)
				break;
			f->err = framer_start_body(f);
			if (f->err)
				return f->err;
		} else {
			n = f->need - f->have;
			if (n > len - used)
				n = len - used;
			memcpy(f->buf + f->have, p + used, n);
			f->have += n;
			used += n;
		}
		if (f->have == f->need) {
			f->ready = 1;
			*pdu = f->buf;
			*pdu_len = f->need;
			/* A 16-byte PDU completes with its header. */
			return (ssize_t)used;
		}
	}
	return 0;
}

void
tether_dce_reasm_init(struct tether_dce_reasm *r, size_t max_stub)
{
	memset(r, 0, sizeof(*r));
	r->max_stub = max_stub;
}

void
tether_dce_reasm_free(struct tether_dce_reasm *r)
{
	tether_free(r->stub);
	r->stub = NULL;
	r->cap = 0;
	tether_dce_reasm_reset(r);
}

void
tether_dce_reasm_reset(struct tether_dce_reasm *r)
{
	r->active = 0;
	r->len = 0;
}

static int
reasm_append(struct tether_dce_reasm *r, const uint8_t *p, size_t n)
{
	if (n > r->max_stub - r->len)
		return -TETHER_EMSGSIZE;
	if (r->len + n > r->cap) {
		/* Grow geometrically, but never past the bound. */
		size_t ncap = r->cap ? r->cap * 2 : 4096;
		uint8_t *nb;

		if (ncap < r->len + n)
			ncap = r->len + n;
		if (ncap > r->max_stub)
			ncap = r->max_stub;
		nb = tether_realloc(r->stub, ncap);
		if (nb == NULL)
			return -TETHER_ENOMEM;
		r->stub = nb;
		r->cap = ncap;
	}
	if (n > 0)
		memcpy(r->stub + r->len, p, n);
	r->len += n;
	return 0;
}

int
tether_dce_reasm_add(struct tether_dce_reasm *r,
		     const struct tether_dce_pdu *frag, const uint8_t **stub,
		     size_t *stub_len)
{
	uint8_t flags = frag->hdr.pfc_flags;
	const uint8_t *fs;
	size_t fl;
	uint16_t ctx, opnum = 0;
	int rc;

	*stub = NULL;
	*stub_len = 0;
	if (frag->hdr.ptype == TETHER_DCE_PT_REQUEST) {
		fs = frag->u.request.stub;
		fl = frag->u.request.stub_len;
		ctx = frag->u.request.p_cont_id;
		opnum = frag->u.request.opnum;
	} else if (frag->hdr.ptype == TETHER_DCE_PT_RESPONSE) {
		fs = frag->u.response.stub;
		fl = frag->u.response.stub_len;
		ctx = frag->u.response.p_cont_id;
	} else {
		tether_dce_reasm_reset(r);
		return -TETHER_EINVAL;
	}

	if (!r->active) {
		if (!(flags & TETHER_DCE_PFC_FIRST_FRAG))
			goto proto;
		if (flags & TETHER_DCE_PFC_LAST_FRAG) {
			/* Single fragment: no copy. */
			if (fl > r->max_stub)
				return -TETHER_EMSGSIZE;
			*stub = fs;
			*stub_len = fl;
			return 1;
		}
		r->active = 1;
		r->len = 0;
		r->ptype = frag->hdr.ptype;
		r->call_id = frag->hdr.call_id;
		r->p_cont_id = ctx;
		r->opnum = opnum;
	} else if ((flags & TETHER_DCE_PFC_FIRST_FRAG) ||
		   r->ptype != frag->hdr.ptype ||
		   r->call_id != frag->hdr.call_id || r->p_cont_id != ctx ||
		   r->opnum != opnum) {
		goto proto;
	}
	rc = reasm_append(r, fs, fl);
	if (rc < 0) {
		tether_dce_reasm_reset(r);
		return rc;
	}
	if (!(flags & TETHER_DCE_PFC_LAST_FRAG))
		return 0;
	r->active = 0;
	*stub = r->stub;
	*stub_len = r->len;
	return 1;
proto:
	tether_dce_reasm_reset(r);
	return -TETHER_EPROTO;
}

int
tether_dce_fragment(const struct tether_dce_pdu *tmpl, size_t max_frag,
		    size_t *off, uint8_t *buf, size_t cap, size_t *len)
{
	struct tether_dce_pdu f = *tmpl;
	const uint8_t *stub;
	size_t total, head, room, n;
	int rc;

	if (tmpl->hdr.auth_length)
		return -TETHER_EINVAL; /* no auth: nothing to sign or pad */
	if (tmpl->hdr.ptype == TETHER_DCE_PT_REQUEST) {
		stub = tmpl->u.request.stub;
		total = tmpl->u.request.stub_len;
		head = 24;
		if (tmpl->hdr.pfc_flags & TETHER_DCE_PFC_OBJECT_UUID)
			head += 16;
	} else if (tmpl->hdr.ptype == TETHER_DCE_PT_RESPONSE) {
		stub = tmpl->u.response.stub;
		total = tmpl->u.response.stub_len;
		head = 24;
	} else {
		return -TETHER_EINVAL;
	}
	if (max_frag > TETHER_DCE_FRAG_MAX)
		max_frag = TETHER_DCE_FRAG_MAX;
	if (max_frag < head + 8 || *off > total || (total && stub == NULL))
		return -TETHER_EINVAL;
	/* Non-final fragments carry a multiple of 8 stub bytes, so the NDR
	 * alignment of the stub is the same in every fragment. */
	room = (max_frag - head) & ~(size_t)7;
	n = total - *off;
	f.hdr.pfc_flags &= (uint8_t) ~(TETHER_DCE_PFC_FIRST_FRAG |
				       TETHER_DCE_PFC_LAST_FRAG);
	if (*off == 0)
		f.hdr.pfc_flags |= TETHER_DCE_PFC_FIRST_FRAG;
	if (n <= max_frag - head)
		f.hdr.pfc_flags |= TETHER_DCE_PFC_LAST_FRAG;
	else
		n = room;
	if (tmpl->hdr.ptype == TETHER_DCE_PT_REQUEST) {
		f.u.request.alloc_hint = (uint32_t)(total - *off);
		f.u.request.stub = stub + *off;
		f.u.request.stub_len = n;
	} else {
		f.u.response.alloc_hint = (uint32_t)(total - *off);
		f.u.response.stub = stub + *off;
		f.u.response.stub_len = n;
	}
	rc = tether_dce_pdu_encode(&f, buf, cap, len);
	if (rc < 0)
		return rc;
	*off += n;
	return *off < total ? 1 : 0;
}
