/*
 * fuzz_dce_pdu.c - a DCE/RPC byte stream through the framer, the PDU
 * decoder, reassembly, bind negotiation and the endpoint mapper's
 * decoders. Invariants: byte-at-a-time framing gives the same PDUs as
 * one feed; whatever decodes re-encodes to bytes that decode and encode
 * again to the very same bytes; fragmenting a reassembled stub and
 * reassembling it gives it back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tether/dce.h"

#include "fuzz.h"

#define MAX_INPUT 65536

static uint8_t enc1[TETHER_DCE_FRAG_MAX + 1];
static uint8_t enc2[TETHER_DCE_FRAG_MAX + 1];

/* decode -> encode -> decode -> encode: the two encodings match. */
static void
pdu_round_trip(const uint8_t *p, size_t len, struct tether_arena *a,
	       struct tether_dce_pdu *pdu)
{
	struct tether_dce_pdu again;
	size_t n1, n2;
	int rc = tether_dce_pdu_encode(pdu, enc1, sizeof(enc1), &n1);

	(void)p;
	(void)len;
	CHECK(rc == 0);
	CHECK(tether_dce_pdu_decode(enc1, n1, a, &again) == 0);
	CHECK(again.hdr.ptype == pdu->hdr.ptype);
	CHECK(again.hdr.call_id == pdu->hdr.call_id);
	CHECK(again.hdr.pfc_flags == pdu->hdr.pfc_flags);
	CHECK(tether_dce_pdu_encode(&again, enc2, sizeof(enc2), &n2) == 0);
	CHECK(n1 == n2 && memcmp(enc1, enc2, n1) == 0);
}

static void
negotiate(const struct tether_dce_pdu *bind, struct tether_arena *a)
{
	struct tether_dce_ctx_result *res;
	struct tether_dce_pdu ack;
	size_t n, acc, i;

	res = tether_arena_alloc(a, 256 * sizeof(*res));
	if (res == NULL)
		return;
	CHECK(tether_dce_negotiate(
		      bind->u.bind.ctx, bind->u.bind.n_context_elem,
		      &tether_dce_epm_v3, 1, 0x03, res, &acc) == 0);
	CHECK(acc <= bind->u.bind.n_context_elem);
	for (i = 0; i < bind->u.bind.n_context_elem; i++)
		CHECK(res[i].result <= TETHER_DCE_CTX_NEGOTIATE_ACK);
	tether_dce_pdu_init(&ack, TETHER_DCE_PT_BIND_ACK, bind->hdr.call_id);
	ack.u.bind_ack.max_xmit_frag = 4280;
	ack.u.bind_ack.max_recv_frag = 4280;
	ack.u.bind_ack.sec_addr = "135";
	ack.u.bind_ack.sec_addr_len = 4;
	ack.u.bind_ack.n_results = bind->u.bind.n_context_elem;
	ack.u.bind_ack.results = res;
	CHECK(tether_dce_pdu_encode(&ack, enc1, sizeof(enc1), &n) == 0);
	CHECK(tether_dce_pdu_decode(enc1, n, a, &ack) == 0);
}

/* The endpoint mapper's decoders on a complete stub; what decodes
 * re-encodes idempotently. */
static void
epm_stub(const uint8_t *s, size_t len, struct tether_arena *a)
{
	struct tether_dce_ndr_reader r;
	struct tether_dce_ndr_writer w;
	struct tether_dce_epm_map_req mq, mq2;
	struct tether_dce_epm_lookup_req lq;
	struct tether_dce_epm_map_resp ms;
	struct tether_dce_epm_lookup_resp ls;
	size_t n1;

	tether_dce_ndr_reader_init(&r, s, len, TETHER_DCE_DREP_LE);
	if (tether_dce_epm_map_req_decode(&r, &mq) == 0) {
		struct tether_dce_tower t;

		tether_dce_ndr_writer_init(&w, enc1, sizeof(enc1),
					   TETHER_DCE_DREP_LE);
		CHECK(tether_dce_epm_map_req_encode(&w, &mq) == 0);
		n1 = w.pos;
		tether_dce_ndr_reader_init(&r, enc1, n1, TETHER_DCE_DREP_LE);
		CHECK(tether_dce_epm_map_req_decode(&r, &mq2) == 0);
		CHECK(mq2.max_towers == mq.max_towers);
		CHECK(mq2.has_tower == mq.has_tower);
		if (mq.has_tower) {
			CHECK(mq2.tower.len == mq.tower.len);
			CHECK(memcmp(mq2.tower.data, mq.tower.data,
				     mq.tower.len) == 0);
			(void)tether_dce_tower_parse(mq.tower.data,
						     mq.tower.len, &t);
		}
	}
	tether_dce_ndr_reader_init(&r, s, len, TETHER_DCE_DREP_LE);
	if (tether_dce_epm_lookup_req_decode(&r, &lq) == 0) {
		tether_dce_ndr_writer_init(&w, enc1, sizeof(enc1),
					   TETHER_DCE_DREP_LE);
		CHECK(tether_dce_epm_lookup_req_encode(&w, &lq) == 0);
		tether_dce_ndr_reader_init(&r, enc1, w.pos, TETHER_DCE_DREP_LE);
		CHECK(tether_dce_epm_lookup_req_decode(&r, &lq) == 0);
	}
	tether_dce_ndr_reader_init(&r, s, len, TETHER_DCE_DREP_LE);
	if (tether_dce_epm_map_resp_decode(&r, a, &ms) == 0) {
		tether_dce_ndr_writer_init(&w, enc1, sizeof(enc1),
					   TETHER_DCE_DREP_LE);
		CHECK(tether_dce_epm_map_resp_encode(&w, &ms) == 0);
		n1 = w.pos;
		tether_dce_ndr_reader_init(&r, enc1, n1, TETHER_DCE_DREP_LE);
		CHECK(tether_dce_epm_map_resp_decode(&r, a, &ms) == 0);
		tether_dce_ndr_writer_init(&w, enc2, sizeof(enc2),
					   TETHER_DCE_DREP_LE);
		CHECK(tether_dce_epm_map_resp_encode(&w, &ms) == 0);
		CHECK(w.pos == n1 && memcmp(enc1, enc2, n1) == 0);
	}
	tether_dce_ndr_reader_init(&r, s, len, TETHER_DCE_DREP_LE);
	if (tether_dce_epm_lookup_resp_decode(&r, a, &ls) == 0) {
		tether_dce_ndr_writer_init(&w, enc1, sizeof(enc1),
					   TETHER_DCE_DREP_LE);
		CHECK(tether_dce_epm_lookup_resp_encode(&w, &ls) == 0);
		n1 = w.pos;
		tether_dce_ndr_reader_init(&r, enc1, n1, TETHER_DCE_DREP_LE);
		CHECK(tether_dce_epm_lookup_resp_decode(&r, a, &ls) == 0);
		tether_dce_ndr_writer_init(&w, enc2, sizeof(enc2),
					   TETHER_DCE_DREP_LE);
		CHECK(tether_dce_epm_lookup_resp_encode(&w, &ls) == 0);
		CHECK(w.pos == n1 && memcmp(enc1, enc2, n1) == 0);
	}
}

/* Cut a stub into fragments of max bytes and put it back together. */
static void
refragment(const uint8_t *stub, size_t len, size_t max)
{
	static uint8_t frag[TETHER_DCE_FRAG_MAX];
	struct tether_dce_reasm r;
	struct tether_dce_pdu t, f;
	const uint8_t *s = NULL;
	size_t off = 0, n, l = 0;
	int more;

	tether_dce_reasm_init(&r, len);
	tether_dce_pdu_init(&t, TETHER_DCE_PT_RESPONSE, 1);
	t.u.response.stub = stub;
	t.u.response.stub_len = len;
	do {
		more = tether_dce_fragment(&t, max, &off, frag, sizeof(frag),
					   &n);
		CHECK(more >= 0 && n <= max);
		CHECK(tether_dce_pdu_decode(frag, n, NULL, &f) == 0);
		CHECK(tether_dce_reasm_add(&r, &f, &s, &l) == (more ? 0 : 1));
	} while (more);
	CHECK(l == len && (len == 0 || memcmp(s, stub, len) == 0));
	tether_dce_reasm_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tether_dce_framer whole, bytes;
	struct tether_dce_reasm reasm;
	struct tether_arena *a;
	size_t pos = 0, bpos = 0, max_frag, npdu = 0;
	uint8_t *copy;

	if (size < 1 || size > MAX_INPUT)
		return 0;
	/* First byte: the framer's bound and the refragmentation size. */
	max_frag = 32 + (size_t)data[0] * 64;
	data++;
	size--;
	a = tether_arena_new(0, 1 << 20);
	if (a == NULL)
		return 0;
	CHECK(tether_dce_framer_init(&whole, max_frag) == 0);
	CHECK(tether_dce_framer_init(&bytes, max_frag) == 0);
	tether_dce_reasm_init(&reasm, 1 << 16);
	while (pos < size && npdu < 64) {
		const uint8_t *pdu, *bp = NULL, *stub;
		size_t plen, blen = 0, slen;
		ssize_t rc = tether_dce_framer_feed(&whole, data + pos,
						    size - pos, &pdu, &plen);
		struct tether_dce_pdu d;
		int drc;

		if (rc <= 0)
			break;
		pos += (size_t)rc;
		npdu++;
		/* the same PDU, one byte at a time */
		while (bp == NULL) {
			ssize_t brc;

			CHECK(bpos < pos);
			brc = tether_dce_framer_feed(&bytes, data + bpos, 1,
						     &bp, &blen);
			CHECK(brc >= 0);
			bpos++;
		}
		CHECK(bpos == pos && blen == plen &&
		      memcmp(bp, pdu, plen) == 0);

		copy = malloc(plen);
		if (copy == NULL)
			break;
		memcpy(copy, pdu, plen);
		drc = tether_dce_pdu_decode(copy, plen, a, &d);
		if (drc == 0) {
			pdu_round_trip(copy, plen, a, &d);
			if (d.hdr.ptype == TETHER_DCE_PT_BIND ||
			    d.hdr.ptype == TETHER_DCE_PT_ALTER_CONTEXT)
				negotiate(&d, a);
			if ((d.hdr.ptype == TETHER_DCE_PT_REQUEST ||
			     d.hdr.ptype == TETHER_DCE_PT_RESPONSE) &&
			    tether_dce_reasm_add(&reasm, &d, &stub, &slen) ==
				    1) {
				uint8_t *sc = malloc(slen ? slen : 1);

				if (sc != NULL) {
					memcpy(sc, stub, slen);
					epm_stub(sc, slen, a);
					refragment(sc, slen, max_frag);
					free(sc);
				}
			}
		} else {
			CHECK(drc < 0);
		}
		free(copy);
		tether_arena_reset(a);
	}
	tether_dce_reasm_free(&reasm);
	tether_dce_framer_free(&whole);
	tether_dce_framer_free(&bytes);
	tether_arena_free(a);
	return 0;
}
