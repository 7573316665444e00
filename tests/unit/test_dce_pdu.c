/*
 * test_dce_pdu.c - DCE/RPC connection-oriented PDUs against the reference
 * captures (Samba answering impacket): decode and byte-exact re-encode of
 * every PDU, bind negotiation reproducing Samba's bind_acks, the stream
 * framer fed whole and byte by byte, reassembly and fragmentation, and
 * every malformed form we reject.
 */
#include "tether_test.h"
#include "dce_test_util.h"

#include <stdio.h>

static uint8_t out[70000];

static struct tether_arena *
new_arena(void)
{
	struct tether_arena *a = tether_arena_new(0, 1 << 20);

	assert_non_null(a);
	return a;
}

/* Every PDU decodes (the rpc_vers 4 bind reports EPROTO) and encodes
 * back to the very same bytes. */
static void
test_every_capture_pdu_round_trips(void **state)
{
	struct tether_arena *a = new_arena();
	size_t i, n, ok = 0;

	(void)state;
	for (i = 0; i < TETHER_ARRAY_SIZE(dce_vectors); i++) {
		const struct dce_vector *v = &dce_vectors[i];
		struct tether_dce_pdu pdu;
		int rc = tether_dce_pdu_decode(v->bytes, v->len, a, &pdu);

		if (v->bytes[0] == 4) {
			assert_tether_err(rc, TETHER_EPROTO);
			assert_int_equal(pdu.hdr.ptype, TETHER_DCE_PT_BIND);
			assert_int_equal(pdu.hdr.call_id, 1);
			continue;
		}
		if (rc != 0)
			fail_msg("%s: %s", v->name, tether_err_name(rc));
		assert_int_equal(pdu.hdr.ptype, v->ptype);
		assert_int_equal(pdu.hdr.frag_length, v->len);
		assert_int_equal(
			tether_dce_pdu_encode(&pdu, out, sizeof(out), &n), 0);
		if (n != v->len || memcmp(out, v->bytes, n) != 0)
			fail_msg("%s: re-encoding differs", v->name);
		ok++;
		tether_arena_reset(a);
	}
	assert_true(ok > 150);
	tether_arena_free(a);
}

static void
test_bind_fields(void **state)
{
	const struct dce_vector *v = vec("c04-000");
	struct tether_arena *a = new_arena();
	struct tether_dce_pdu pdu;
	const struct tether_dce_bind *b = &pdu.u.bind;
	uint8_t bits = 0;

	(void)state;
	assert_int_equal(tether_dce_pdu_decode(v->bytes, v->len, a, &pdu), 0);
	assert_int_equal(pdu.hdr.rpc_vers, 5);
	assert_int_equal(pdu.hdr.pfc_flags, 0x03);
	assert_int_equal(pdu.hdr.call_id, 1);
	assert_int_equal(b->max_xmit_frag, 4280);
	assert_int_equal(b->max_recv_frag, 4280);
	assert_int_equal(b->assoc_group_id, 0);
	assert_int_equal(b->n_context_elem, 3);
	assert_int_equal(b->ctx[0].p_cont_id, 0);
	assert_int_equal(b->ctx[1].p_cont_id, 1);
	assert_int_equal(b->ctx[2].p_cont_id, 2);
	assert_true(tether_dce_uuid_equal(&b->ctx[0].abstract_syntax.uuid,
					  &tether_dce_epm_v3.uuid));
	assert_int_equal(b->ctx[0].abstract_syntax.vers_major, 3);
	assert_int_equal(b->ctx[0].n_transfer_syn, 1);
	assert_true(tether_dce_uuid_equal(&b->ctx[0].transfer_syntaxes[0].uuid,
					  &tether_dce_ndr20.uuid));
	assert_true(tether_dce_uuid_equal(&b->ctx[1].transfer_syntaxes[0].uuid,
					  &tether_dce_ndr64.uuid));
	assert_false(tether_dce_syntax_is_btfn(&b->ctx[1].transfer_syntaxes[0],
					       NULL));
	assert_true(tether_dce_syntax_is_btfn(&b->ctx[2].transfer_syntaxes[0],
					      &bits));
	assert_int_equal(bits, 0x03);
	tether_arena_free(a);
}

static void
test_other_fields(void **state)
{
	struct tether_arena *a = new_arena();
	struct tether_dce_pdu pdu;

	(void)state;
	/* bind_ack with sec_addr "135" */
	assert_int_equal(tether_dce_pdu_decode(vec("c01-001")->bytes,
					       vec("c01-001")->len, a, &pdu),
			 0);
	assert_int_equal(pdu.u.bind_ack.sec_addr_len, 4);
	assert_string_equal(pdu.u.bind_ack.sec_addr, "135");
	assert_int_equal(pdu.u.bind_ack.n_results, 1);
	assert_int_equal(pdu.u.bind_ack.results[0].result, 0);
	/* the alter_context_resp has an empty sec_addr */
	assert_int_equal(tether_dce_pdu_decode(vec("c06-007")->bytes,
					       vec("c06-007")->len, a, &pdu),
			 0);
	assert_int_equal(pdu.hdr.ptype, TETHER_DCE_PT_ALTER_CONTEXT_RESP);
	assert_int_equal(pdu.u.bind_ack.sec_addr_len, 0);
	assert_null(pdu.u.bind_ack.sec_addr);
	/* request: ept_map, 116 stub bytes */
	assert_int_equal(tether_dce_pdu_decode(vec("c01-002")->bytes,
					       vec("c01-002")->len, a, &pdu),
			 0);
	assert_int_equal(pdu.u.request.opnum, 3);
	assert_int_equal(pdu.u.request.p_cont_id, 0);
	assert_int_equal(pdu.u.request.alloc_hint, 116);
	assert_int_equal(pdu.u.request.stub_len, 116);
	/* fault: op range error, DID_NOT_EXECUTE */
	assert_int_equal(tether_dce_pdu_decode(vec("c06-013")->bytes,
					       vec("c06-013")->len, a, &pdu),
			 0);
	assert_int_equal(pdu.hdr.ptype, TETHER_DCE_PT_FAULT);
	assert_int_equal(pdu.hdr.pfc_flags, 0x23);
	assert_int_equal(pdu.u.fault.status, TETHER_DCE_nca_s_op_rng_error);
	assert_string_equal(tether_dce_status_name(pdu.u.fault.status),
			    "nca_s_op_rng_error");
	/* bind_nak for rpc_vers 4: reason 4, one version 5.0 */
	assert_int_equal(tether_dce_pdu_decode(vec("c06-033")->bytes,
					       vec("c06-033")->len, a, &pdu),
			 0);
	assert_int_equal(pdu.u.bind_nak.reason,
			 TETHER_DCE_NAK_PROTOCOL_VERSION_NOT_SUPPORTED);
	assert_int_equal(pdu.u.bind_nak.n_versions, 1);
	assert_int_equal(pdu.u.bind_nak.versions[0][0], 5);
	assert_int_equal(pdu.u.bind_nak.versions[0][1], 0);
	/* rpc_vers 5.1 is a valid version (C706) even if Samba naks it */
	assert_int_equal(vec("c06-034")->bytes[1], 1);
	assert_int_equal(tether_dce_pdu_decode(vec("c06-034")->bytes,
					       vec("c06-034")->len, a, &pdu),
			 0);
	assert_int_equal(pdu.hdr.rpc_vers_minor, 1);
	tether_arena_free(a);
}

/* The interfaces samba-dcerpcd hosted in the captures. */
static void
hosted(struct tether_dce_syntax *s, size_t *n)
{
	s[0] = tether_dce_epm_v3;
	s[1] = syn("12345778-1234-abcd-ef00-0123456789ab", 0, 0); /* lsarpc */
	s[2] = syn("12345778-1234-abcd-ef00-0123456789ac", 1, 0); /* samr */
	s[3] = syn("3919286a-b10c-11d0-9ba8-00c04fd92ef5", 0, 0); /* dssetup */
	s[4] = syn("4fc742e0-4a10-11cf-8273-00aa004ae673", 3, 0); /* netdfs */
	s[5] = syn("4b324fc8-1670-01d3-1278-5a47bf6ee188", 3, 0); /* srvsvc */
	s[6] = syn("338cd001-2244-31f1-aaaa-900038001003", 1, 0); /* winreg */
	s[7] = syn("6bffd098-a112-3610-9833-46c3f87e345a", 1, 0); /* wkssvc */
	*n = 8;
}

/* Our answer to a bind, with Samba's frag sizes, group and sec_addr. */
static size_t
answer_bind(const struct tether_dce_pdu *bind,
	    const struct tether_dce_pdu *samba, struct tether_arena *a)
{
	struct tether_dce_syntax ifs[8];
	struct tether_dce_ctx_result *res;
	struct tether_dce_pdu ack;
	size_t n_if, n, acc;

	hosted(ifs, &n_if);
	res = tether_arena_alloc(a, 255 * sizeof(*res));
	assert_non_null(res);
	assert_int_equal(tether_dce_negotiate(bind->u.bind.ctx,
					      bind->u.bind.n_context_elem, ifs,
					      n_if, 0x03, res, &acc),
			 0);
	tether_dce_pdu_init(&ack,
			    bind->hdr.ptype == TETHER_DCE_PT_BIND
				    ? TETHER_DCE_PT_BIND_ACK
				    : TETHER_DCE_PT_ALTER_CONTEXT_RESP,
			    bind->hdr.call_id);
	ack.u.bind_ack = samba->u.bind_ack;
	ack.u.bind_ack.n_results = bind->u.bind.n_context_elem;
	ack.u.bind_ack.results = res;
	assert_int_equal(tether_dce_pdu_encode(&ack, out, sizeof(out), &n), 0);
	return n;
}

/* Capture 04 byte for byte: NDR accepted, NDR64 2/2, BTFN ack 3. */
static void
test_negotiate_capture_04(void **state)
{
	struct tether_arena *a = new_arena();
	struct tether_dce_pdu bind, samba;
	const struct dce_vector *ack = vec("c04-001");
	size_t n;

	(void)state;
	assert_int_equal(tether_dce_pdu_decode(vec("c04-000")->bytes,
					       vec("c04-000")->len, a, &bind),
			 0);
	assert_int_equal(tether_dce_pdu_decode(ack->bytes, ack->len, a, &samba),
			 0);
	n = answer_bind(&bind, &samba, a);
	assert_int_equal(n, ack->len);
	assert_memory_equal(out, ack->bytes, n);
	assert_int_equal(samba.u.bind_ack.results[2].result,
			 TETHER_DCE_CTX_NEGOTIATE_ACK);
	tether_arena_free(a);
}

/* Every bind / alter_context answered with a bind_ack in the captures:
 * same results as Samba, so the same bytes. */
static void
test_negotiate_every_capture_bind(void **state)
{
	struct tether_arena *a = new_arena();
	size_t i, pairs = 0;

	(void)state;
	for (i = 0; i + 1 < TETHER_ARRAY_SIZE(dce_vectors); i++) {
		const struct dce_vector *q = &dce_vectors[i];
		const struct dce_vector *r = &dce_vectors[i + 1];
		struct tether_dce_pdu bind, samba;
		size_t n;

		if ((q->ptype != TETHER_DCE_PT_BIND &&
		     q->ptype != TETHER_DCE_PT_ALTER_CONTEXT) ||
		    (r->ptype != TETHER_DCE_PT_BIND_ACK &&
		     r->ptype != TETHER_DCE_PT_ALTER_CONTEXT_RESP) ||
		    q->capture != r->capture || q->bytes[1] != 0)
			continue;
		assert_int_equal(
			tether_dce_pdu_decode(q->bytes, q->len, a, &bind), 0);
		assert_int_equal(
			tether_dce_pdu_decode(r->bytes, r->len, a, &samba), 0);
		if (bind.hdr.call_id != samba.hdr.call_id)
			continue;
		n = answer_bind(&bind, &samba, a);
		if (n != r->len || memcmp(out, r->bytes, n) != 0)
			fail_msg("%s: our bind_ack differs from %s", q->name,
				 r->name);
		pairs++;
		tether_arena_reset(a);
	}
	assert_true(pairs >= 40);
	tether_arena_free(a);
}

static void
test_negotiate_rules(void **state)
{
	struct tether_dce_syntax ifs[1] = { tether_dce_epm_v3 };
	struct tether_dce_syntax ts[3];
	struct tether_dce_ctx_elem c[4];
	struct tether_dce_ctx_result r[4];
	size_t acc = 99;

	(void)state;
	ts[0] = tether_dce_ndr64;
	ts[1] = tether_dce_ndr20;
	ts[2] = syn("6cb71c2c-9812-4540-0100-000000000000", 1, 0);
	memset(c, 0, sizeof(c));
	/* [NDR64, NDR] in one element: NDR accepted */
	c[0].abstract_syntax = tether_dce_epm_v3;
	c[0].n_transfer_syn = 2;
	c[0].transfer_syntaxes = ts;
	/* newer minor than ours: not supported */
	c[1].abstract_syntax = tether_dce_epm_v3;
	c[1].abstract_syntax.vers_minor = 1;
	c[1].n_transfer_syn = 1;
	c[1].transfer_syntaxes = &ts[1];
	/* BTFN asking for bit 0x01 while we support only 0x02 */
	c[2].abstract_syntax = tether_dce_epm_v3;
	c[2].n_transfer_syn = 1;
	c[2].transfer_syntaxes = &ts[2];
	/* no transfer syntax at all */
	c[3].abstract_syntax = tether_dce_epm_v3;
	assert_int_equal(tether_dce_negotiate(c, 4, ifs, 1, 0x02, r, &acc), 0);
	assert_int_equal(acc, 1);
	assert_int_equal(r[0].result, TETHER_DCE_CTX_ACCEPTANCE);
	assert_true(tether_dce_uuid_equal(&r[0].transfer_syntax.uuid,
					  &tether_dce_ndr20.uuid));
	assert_int_equal(r[1].result, TETHER_DCE_CTX_PROVIDER_REJECTION);
	assert_int_equal(r[1].reason,
			 TETHER_DCE_REASON_ABSTRACT_SYNTAX_NOT_SUPPORTED);
	assert_int_equal(r[2].result, TETHER_DCE_CTX_NEGOTIATE_ACK);
	assert_int_equal(r[2].reason, 0);
	assert_true(tether_dce_uuid_is_nil(&r[2].transfer_syntax.uuid));
	assert_int_equal(r[3].result, TETHER_DCE_CTX_PROVIDER_REJECTION);
	assert_int_equal(r[3].reason,
			 TETHER_DCE_REASON_TRANSFER_SYNTAXES_NOT_SUPPORTED);
	/* NULL lists */
	assert_tether_err(tether_dce_negotiate(NULL, 1, ifs, 1, 0, r, NULL),
			  TETHER_EINVAL);
	assert_tether_err(tether_dce_negotiate(c, 1, NULL, 1, 0, r, NULL),
			  TETHER_EINVAL);
	c[0].transfer_syntaxes = NULL;
	assert_tether_err(tether_dce_negotiate(c, 1, ifs, 1, 0, r, NULL),
			  TETHER_EINVAL);
	/* nothing hosted: every element rejected, none accepted */
	c[0].transfer_syntaxes = ts;
	assert_int_equal(tether_dce_negotiate(c, 1, ifs, 0, 0, r, &acc), 0);
	assert_int_equal(acc, 0);
	assert_int_equal(r[0].reason,
			 TETHER_DCE_REASON_ABSTRACT_SYNTAX_NOT_SUPPORTED);
}

/* Our bind_nak for rpc_vers 4 is Samba's, byte for byte. */
static void
test_bind_nak_encode(void **state)
{
	struct tether_dce_pdu nak;
	size_t n;

	(void)state;
	tether_dce_pdu_init(&nak, TETHER_DCE_PT_BIND_NAK, 1);
	nak.u.bind_nak.reason = TETHER_DCE_NAK_PROTOCOL_VERSION_NOT_SUPPORTED;
	nak.u.bind_nak.n_versions = 1;
	nak.u.bind_nak.versions[0][0] = 5;
	nak.u.bind_nak.versions[0][1] = 0;
	assert_int_equal(tether_dce_pdu_encode(&nak, out, sizeof(out), &n), 0);
	assert_int_equal(n, vec("c06-033")->len);
	assert_memory_equal(out, vec("c06-033")->bytes, n);
	nak.u.bind_nak.n_versions = TETHER_DCE_NAK_MAX_VERSIONS + 1;
	assert_tether_err(tether_dce_pdu_encode(&nak, out, sizeof(out), &n),
			  TETHER_EINVAL);
}

/* Decode a copy of v with byte off set to val: the expected error. */
static void
expect_mutation(const struct dce_vector *v, size_t off, uint8_t val, int err)
{
	uint8_t buf[512];
	struct tether_dce_pdu pdu;
	struct tether_arena *a = new_arena();
	int rc;

	assert_true(v->len <= sizeof(buf) && off < v->len);
	memcpy(buf, v->bytes, v->len);
	buf[off] = val;
	rc = tether_dce_pdu_decode(buf, v->len, a, &pdu);
	if (rc != -err)
		fail_msg("%s byte %zu = 0x%02x: got %s, want %s", v->name, off,
			 val, tether_err_name(rc), tether_err_name(-err));
	tether_arena_free(a);
}

static void
test_malformed_pdus(void **state)
{
	const struct dce_vector *bind = vec("c01-000"); /* 72 bytes */
	const struct dce_vector *ack = vec("c01-001");	/* 60 bytes */
	const struct dce_vector *req = vec("c01-002");
	const struct dce_vector *flt = vec("c06-013");
	const struct dce_vector *nak = vec("c06-033");
	struct tether_dce_pdu pdu;
	struct tether_arena *a = new_arena();
	uint8_t buf[512];
	size_t i;

	(void)state;
	/* header */
	expect_mutation(bind, 0, 6, TETHER_EPROTO);
	expect_mutation(bind, 1, 2, TETHER_EPROTO);
	expect_mutation(bind, 4, 0x20, TETHER_EBADMSG); /* int rep 2 */
	expect_mutation(bind, 4, 0x12, TETHER_EBADMSG); /* char rep 2 */
	expect_mutation(bind, 5, 4, TETHER_EBADMSG);	/* float rep 4 */
	expect_mutation(bind, 8, 71, TETHER_EBADMSG);	/* frag_length < len */
	expect_mutation(bind, 8, 73, TETHER_ETRUNC);	/* frag_length > len */
	expect_mutation(bind, 9, 0x01, TETHER_ETRUNC);
	expect_mutation(bind, 10, 60, TETHER_EBADMSG); /* auth cannot fit */
	expect_mutation(bind, 2, 1, TETHER_EBADMSG);   /* CL ping */
	expect_mutation(bind, 2, 20, TETHER_ENOTSUP);
	expect_mutation(bind, 3, 0x83, TETHER_EBADMSG); /* OBJECT_UUID */
	expect_mutation(bind, 3, 0x23, TETHER_EBADMSG); /* DID_NOT_EXECUTE */
	expect_mutation(req, 3, 0x23, TETHER_EBADMSG);
	expect_mutation(bind, 8, 0x0f, TETHER_EBADMSG); /* < 16 */
	/* bind body: counts vs lengths */
	expect_mutation(bind, 24, 2, TETHER_EBADMSG); /* 2 elements */
	expect_mutation(bind, 30, 2, TETHER_EBADMSG); /* 2 transfer syns */
	expect_mutation(bind, 24, 0, TETHER_EBADMSG); /* list trails */
	/* bind_ack: sec_addr length, NUL, result count */
	expect_mutation(ack, 24, 40, TETHER_EBADMSG);
	expect_mutation(ack, 29, 'x', TETHER_EBADMSG); /* no NUL */
	expect_mutation(ack, 27, 0, TETHER_EBADMSG);   /* NUL inside */
	expect_mutation(ack, 32, 2, TETHER_EBADMSG);
	expect_mutation(ack, 32, 0, TETHER_EBADMSG);
	/* bind_nak: version count */
	expect_mutation(nak, 18, 9, TETHER_EBADMSG);
	expect_mutation(nak, 18, 3, TETHER_EBADMSG);
	/* request with OBJECT_UUID is 16 bytes longer: stub shrinks, ok;
	 * but a request body under 8 bytes is not */
	memcpy(buf, req->bytes, 20);
	buf[8] = 20;
	buf[9] = 0;
	assert_tether_err(tether_dce_pdu_decode(buf, 20, a, &pdu),
			  TETHER_EBADMSG);
	buf[3] = 0x83;
	memcpy(buf + 16, req->bytes + 16, 8);
	buf[8] = 30;
	memset(buf + 24, 0, 6);
	assert_tether_err(tether_dce_pdu_decode(buf, 30, a, &pdu),
			  TETHER_EBADMSG);
	/* fault under 32 bytes */
	memcpy(buf, flt->bytes, 28);
	buf[8] = 28;
	assert_tether_err(tether_dce_pdu_decode(buf, 28, a, &pdu),
			  TETHER_EBADMSG);
	/* shutdown with a body */
	tether_dce_pdu_init(&pdu, TETHER_DCE_PT_SHUTDOWN, 0);
	{
		size_t n;

		assert_int_equal(
			tether_dce_pdu_encode(&pdu, buf, sizeof(buf), &n), 0);
		assert_int_equal(n, 16);
		assert_int_equal(tether_dce_pdu_decode(buf, 16, a, &pdu), 0);
		buf[8] = 20;
		assert_tether_err(tether_dce_pdu_decode(buf, 20, a, &pdu),
				  TETHER_EBADMSG);
	}
	/* every truncation of a bind is refused */
	for (i = 0; i < bind->len; i++)
		assert_true(tether_dce_pdu_decode(bind->bytes, i, a, &pdu) < 0);
	/* a bind needs an arena */
	assert_tether_err(
		tether_dce_pdu_decode(bind->bytes, bind->len, NULL, &pdu),
		TETHER_EINVAL);
	tether_arena_free(a);
}

/* Auth verifiers pass through; their lengths must be consistent. */
static void
test_auth_passthrough(void **state)
{
	static const uint8_t cred[12] = "credentials";
	static const uint8_t stub[8] = { 1, 2, 3, 4, 5 };
	struct tether_dce_pdu p, q;
	uint8_t buf[128];
	size_t n;

	(void)state;
	tether_dce_pdu_init(&p, TETHER_DCE_PT_REQUEST, 7);
	p.u.request.stub = stub;
	p.u.request.stub_len = 5;
	p.u.request.opnum = 3;
	p.hdr.auth_length = sizeof(cred);
	p.auth.type = 10;
	p.auth.level = 2;
	p.auth.pad_length = 3;
	p.auth.context_id = 0x11223344;
	p.auth.value = cred;
	assert_int_equal(tether_dce_pdu_encode(&p, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 24 + 5 + 3 + 8 + 12);
	assert_int_equal(tether_dce_pdu_decode(buf, n, NULL, &q), 0);
	assert_int_equal(q.hdr.auth_length, 12);
	assert_int_equal(q.u.request.stub_len, 5);
	assert_int_equal(q.auth.type, 10);
	assert_int_equal(q.auth.level, 2);
	assert_int_equal(q.auth.context_id, 0x11223344);
	assert_memory_equal(q.auth.value, cred, 12);
	/* pad larger than the stub */
	buf[24 + 8 + 2] = 9;
	assert_tether_err(tether_dce_pdu_decode(buf, n, NULL, &q),
			  TETHER_EBADMSG);
	/* trailer not 4-aligned */
	p.auth.pad_length = 2;
	assert_int_equal(tether_dce_pdu_encode(&p, buf, sizeof(buf), &n), 0);
	assert_tether_err(tether_dce_pdu_decode(buf, n, NULL, &q),
			  TETHER_EBADMSG);
	/* auth_length without a value */
	p.auth.value = NULL;
	assert_tether_err(tether_dce_pdu_encode(&p, buf, sizeof(buf), &n),
			  TETHER_EINVAL);
}

/* The header-only and small PDUs: co_cancel, orphaned, shutdown, auth3;
 * bind_nak with only a reason, and with MS-RPCE's 16-byte signature. */
static void
test_small_pdus(void **state)
{
	static const unsigned types[] = { TETHER_DCE_PT_CO_CANCEL,
					  TETHER_DCE_PT_ORPHANED,
					  TETHER_DCE_PT_SHUTDOWN,
					  TETHER_DCE_PT_AUTH3 };
	struct tether_dce_pdu p, q;
	uint8_t buf[64];
	size_t i, n;

	(void)state;
	for (i = 0; i < TETHER_ARRAY_SIZE(types); i++) {
		tether_dce_pdu_init(&p, types[i], 40 + (uint32_t)i);
		assert_int_equal(
			tether_dce_pdu_encode(&p, buf, sizeof(buf), &n), 0);
		assert_int_equal(n, types[i] == TETHER_DCE_PT_AUTH3 ? 20 : 16);
		assert_int_equal(tether_dce_pdu_decode(buf, n, NULL, &q), 0);
		assert_int_equal(q.hdr.ptype, types[i]);
		assert_int_equal(q.hdr.call_id, 40 + i);
		assert_string_not_equal(tether_dce_ptype_name(types[i]),
					"unknown");
	}
	/* bind_nak: reason only (18 bytes), reason + versions + signature */
	memcpy(buf, vec("c06-033")->bytes, 24);
	buf[8] = 18;
	assert_int_equal(tether_dce_pdu_decode(buf, 18, NULL, &q), 0);
	assert_int_equal(q.u.bind_nak.reason, 4);
	assert_int_equal(q.u.bind_nak.n_versions, 0);
	memset(buf + 24, 0x5a, 16);
	buf[8] = 40;
	assert_int_equal(tether_dce_pdu_decode(buf, 40, NULL, &q), 0);
	assert_int_equal(q.u.bind_nak.n_versions, 1);
	buf[8] = 39;
	assert_tether_err(tether_dce_pdu_decode(buf, 39, NULL, &q),
			  TETHER_EBADMSG);
}

/* Big-endian senders: every integer follows drep. */
static void
test_big_endian(void **state)
{
	struct tether_arena *a = new_arena();
	struct tether_dce_pdu p, q;
	uint8_t buf[512];
	size_t n, m;

	(void)state;
	assert_int_equal(tether_dce_pdu_decode(vec("c04-000")->bytes,
					       vec("c04-000")->len, a, &p),
			 0);
	p.hdr.drep[0] = TETHER_DCE_DREP_BE;
	assert_int_equal(tether_dce_pdu_encode(&p, buf, sizeof(buf), &n), 0);
	assert_int_equal(buf[8], 0); /* frag_length big-endian */
	assert_int_equal(buf[9], 160);
	assert_int_equal(tether_dce_pdu_decode(buf, n, a, &q), 0);
	assert_int_equal(q.u.bind.max_xmit_frag, 4280);
	assert_int_equal(q.u.bind.ctx[2].p_cont_id, 2);
	assert_true(tether_dce_uuid_equal(&q.u.bind.ctx[0].abstract_syntax.uuid,
					  &tether_dce_epm_v3.uuid));
	q.hdr.drep[0] = TETHER_DCE_DREP_LE;
	assert_int_equal(tether_dce_pdu_encode(&q, out, sizeof(out), &m), 0);
	assert_memory_equal(out, vec("c04-000")->bytes, m);
	tether_arena_free(a);
}

static void
test_encode_errors(void **state)
{
	struct tether_arena *a = new_arena();
	const struct dce_vector *v = vec("c04-001");
	struct tether_dce_pdu p;
	size_t cap, n;
	static uint8_t big[70000];

	(void)state;
	assert_int_equal(tether_dce_pdu_decode(v->bytes, v->len, a, &p), 0);
	for (cap = 0; cap < v->len; cap++)
		assert_tether_err(tether_dce_pdu_encode(&p, out, cap, &n),
				  TETHER_ENOSPC);
	p.u.bind_ack.results = NULL;
	assert_tether_err(tether_dce_pdu_encode(&p, out, sizeof(out), &n),
			  TETHER_EINVAL);
	tether_dce_pdu_init(&p, 99, 1);
	assert_tether_err(tether_dce_pdu_encode(&p, out, sizeof(out), &n),
			  TETHER_EINVAL);
	tether_dce_pdu_init(&p, TETHER_DCE_PT_RESPONSE, 1);
	p.u.response.stub = big;
	p.u.response.stub_len = 65535 - 23;
	assert_tether_err(tether_dce_pdu_encode(&p, out, sizeof(out), &n),
			  TETHER_EMSGSIZE);
	p.u.response.stub_len = 65535 - 24;
	assert_int_equal(tether_dce_pdu_encode(&p, out, sizeof(out), &n), 0);
	assert_int_equal(n, 65535);
	tether_arena_free(a);
}

static void
test_alloc_failures(void **state)
{
	const struct dce_vector *v = vec("c04-000");
	struct tether_dce_pdu p;
	unsigned long i;
	int rc = -1;

	(void)state;
	for (i = 1; i < 50 && rc != 0; i++) {
		/* A small-chunk arena so each list needs its own chunk. */
		struct tether_arena *a = tether_arena_new(64, 0);

		if (a == NULL)
			continue;
		tether_alloc_fail_at(i, 0);
		rc = tether_dce_pdu_decode(v->bytes, v->len, a, &p);
		tether_alloc_fail_at(0, 0);
		if (rc != 0)
			assert_tether_err(rc, TETHER_ENOMEM);
		tether_arena_free(a);
	}
	assert_int_equal(rc, 0);
	assert_true(i > 2); /* at least one failure was exercised */
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(tether_dce_ptype_name(11), "bind");
	assert_string_equal(tether_dce_ptype_name(19), "orphaned");
	assert_string_equal(tether_dce_ptype_name(200), "unknown");
	assert_string_equal(tether_dce_nak_reason_name(4),
			    "protocol_version_not_supported");
	assert_string_equal(tether_dce_nak_reason_name(99), "unknown");
	assert_string_equal(tether_dce_ctx_result_name(3), "negotiate_ack");
	assert_string_equal(tether_dce_ctx_result_name(4), "unknown");
	assert_string_equal(tether_dce_provider_reason_name(2),
			    "proposed_transfer_syntaxes_not_supported");
	assert_string_equal(tether_dce_provider_reason_name(7), "unknown");
	assert_string_equal(tether_dce_status_name(0x1c010003), "nca_s_unk_if");
	assert_string_equal(tether_dce_status_name(0x1c00001a),
			    "nca_s_fault_context_mismatch");
	assert_string_equal(tether_dce_status_name(0x6f7), "nca_s_fault_ndr");
	assert_string_equal(tether_dce_status_name(0x16c9a0d6),
			    "ept_s_not_registered");
	assert_string_equal(tether_dce_status_name(0), "success");
	assert_string_equal(tether_dce_status_name(0xdeadbeef), "unknown");
}

/* ---- framer ---- */

/* All PDUs of one capture direction, concatenated as on the wire. */
static size_t
stream_of(int capture, int from_client, uint8_t *buf, size_t cap,
	  const struct dce_vector **list, size_t *n_list)
{
	size_t i, len = 0;

	*n_list = 0;
	for (i = 0; i < TETHER_ARRAY_SIZE(dce_vectors); i++) {
		const struct dce_vector *v = &dce_vectors[i];

		if (v->capture != capture || v->from_client != from_client)
			continue;
		assert_true(len + v->len <= cap);
		memcpy(buf + len, v->bytes, v->len);
		len += v->len;
		list[(*n_list)++] = v;
	}
	return len;
}

/* Feed the stream in chunks of `chunk` bytes (0: all at once); every PDU
 * must come out equal to the capture's. */
static void
feed_stream(const uint8_t *s, size_t len, size_t chunk,
	    const struct dce_vector **list, size_t n_list)
{
	struct tether_dce_framer f;
	size_t pos = 0, got = 0;

	assert_int_equal(tether_dce_framer_init(&f, TETHER_DCE_FRAG_MAX), 0);
	while (pos < len) {
		size_t n = chunk ? chunk : len;
		const uint8_t *p = s + pos;

		if (n > len - pos)
			n = len - pos;
		pos += n;
		while (n > 0) {
			const uint8_t *pdu;
			size_t pl;
			ssize_t rc =
				tether_dce_framer_feed(&f, p, n, &pdu, &pl);

			assert_true(rc >= 0);
			if (rc == 0) {
				assert_null(pdu);
				break;
			}
			assert_true(got < n_list);
			assert_int_equal(pl, list[got]->len);
			assert_memory_equal(pdu, list[got]->bytes, pl);
			got++;
			p += rc;
			n -= (size_t)rc;
		}
	}
	assert_int_equal(got, n_list);
	tether_dce_framer_free(&f);
}

static void
test_framer_streams(void **state)
{
	static uint8_t s[200000];
	const struct dce_vector *list[200];
	static const size_t chunks[] = { 0, 1, 2, 3, 7, 16, 17, 1000 };
	int cap, dir;
	size_t n, len, c;

	(void)state;
	for (cap = 1; cap <= 11; cap++) {
		for (dir = 0; dir <= 1; dir++) {
			len = stream_of(cap, dir, s, sizeof(s), list, &n);
			if (n == 0)
				continue;
			for (c = 0; c < TETHER_ARRAY_SIZE(chunks); c++)
				feed_stream(s, len, chunks[c], list, n);
		}
	}
}

static ssize_t
feed_all(struct tether_dce_framer *f, const uint8_t *p, size_t len)
{
	const uint8_t *pdu;
	size_t pl;

	return tether_dce_framer_feed(f, p, len, &pdu, &pl);
}

static void
test_framer_errors(void **state)
{
	struct tether_dce_framer f;
	uint8_t h[16];
	const struct dce_vector *v = vec("c02-003"); /* 4280 bytes */
	const uint8_t *pdu;
	size_t pl;

	(void)state;
	assert_tether_err(tether_dce_framer_init(&f, 15), TETHER_EINVAL);
	assert_tether_err(tether_dce_framer_init(&f, 65536), TETHER_EINVAL);

	/* Over the bound: refused at the header, before any allocation. */
	assert_int_equal(tether_dce_framer_init(&f, 4279), 0);
	tether_alloc_fail_at(1, 1);
	assert_tether_err(feed_all(&f, v->bytes, v->len), TETHER_EMSGSIZE);
	assert_int_equal(tether_alloc_count(), 0);
	tether_alloc_fail_at(0, 0);
	/* sticky */
	assert_tether_err(feed_all(&f, vec("c01-000")->bytes, 72),
			  TETHER_EMSGSIZE);
	tether_dce_framer_free(&f);

	/* bound raised: fine */
	assert_int_equal(tether_dce_framer_init(&f, 4279), 0);
	assert_int_equal(tether_dce_framer_set_max(&f, 4280), 0);
	assert_tether_err(tether_dce_framer_set_max(&f, 3), TETHER_EINVAL);
	assert_int_equal(feed_all(&f, v->bytes, v->len), (ssize_t)v->len);
	tether_dce_framer_free(&f);

	/* allocation failure */
	assert_int_equal(tether_dce_framer_init(&f, 65535), 0);
	tether_alloc_fail_at(1, 0);
	assert_tether_err(feed_all(&f, v->bytes, v->len), TETHER_ENOMEM);
	tether_alloc_fail_at(0, 0);
	tether_dce_framer_free(&f);

	/* bad headers */
	memcpy(h, vec("c01-000")->bytes, 16);
	h[8] = 15;
	assert_int_equal(tether_dce_framer_init(&f, 65535), 0);
	assert_int_equal(feed_all(&f, h, 15), 0); /* not yet */
	assert_tether_err(feed_all(&f, h + 15, 1), TETHER_EBADMSG);
	tether_dce_framer_free(&f);
	memcpy(h, vec("c01-000")->bytes, 16);
	h[4] = 0x30;
	assert_int_equal(tether_dce_framer_init(&f, 65535), 0);
	assert_tether_err(feed_all(&f, h, 16), TETHER_EBADMSG);
	tether_dce_framer_free(&f);
	memcpy(h, vec("c01-000")->bytes, 16);
	h[10] = 0x50; /* auth_length 80 in a 72-byte PDU */
	assert_int_equal(tether_dce_framer_init(&f, 65535), 0);
	assert_tether_err(feed_all(&f, h, 16), TETHER_EBADMSG);
	tether_dce_framer_free(&f);

	/* A wrong version is framed (the caller naks it) */
	assert_int_equal(tether_dce_framer_init(&f, 65535), 0);
	assert_int_equal(tether_dce_framer_feed(&f, vec("c06-032")->bytes,
						vec("c06-032")->len, &pdu, &pl),
			 (ssize_t)vec("c06-032")->len);
	assert_int_equal(pdu[0], 4);
	/* a 16-byte PDU completes with its header */
	{
		struct tether_dce_pdu sd;
		uint8_t b[16];
		size_t n;

		tether_dce_pdu_init(&sd, TETHER_DCE_PT_SHUTDOWN, 0);
		assert_int_equal(tether_dce_pdu_encode(&sd, b, 16, &n), 0);
		assert_int_equal(tether_dce_framer_feed(&f, b, 16, &pdu, &pl),
				 16);
		assert_int_equal(pl, 16);
	}
	assert_int_equal(tether_dce_framer_feed(&f, NULL, 0, &pdu, &pl), 0);
	tether_dce_framer_free(&f);
}

/* ---- reassembly and fragmentation ---- */

static void
decode_vec(const struct dce_vector *v, struct tether_dce_pdu *p)
{
	assert_int_equal(tether_dce_pdu_decode(v->bytes, v->len, NULL, p), 0);
}

/* Capture 08: an ept_map request in 16-byte fragments reassembles to a
 * 116-byte stub. */
static void
test_reasm_capture_08(void **state)
{
	static const char *const frags[] = { "c08-002", "c08-003", "c08-004",
					     "c08-005", "c08-006", "c08-007",
					     "c08-008", "c08-009" };
	struct tether_dce_reasm r;
	struct tether_dce_pdu p;
	const uint8_t *stub, *ref;
	size_t len, ref_len, i;
	int rc = 0;

	(void)state;
	tether_dce_reasm_init(&r, 65536);
	for (i = 0; i < TETHER_ARRAY_SIZE(frags); i++) {
		decode_vec(vec(frags[i]), &p);
		rc = tether_dce_reasm_add(&r, &p, &stub, &len);
		assert_int_equal(rc, i + 1 < TETHER_ARRAY_SIZE(frags) ? 0 : 1);
	}
	/* Capture 09 maps the same interface (samr) in one fragment, with
	 * max_towers 4 instead of 1. */
	vec_stub(vec("c09-002"), &ref, &ref_len);
	assert_int_equal(len, 116);
	assert_int_equal(len, ref_len);
	assert_memory_equal(stub, ref, 112);
	assert_int_equal(stub[112], 1);
	assert_int_equal(ref[112], 4);
	assert_false(r.active);
	tether_dce_reasm_free(&r);
}

/* Capture 02's 2-fragment response, reassembled and then cut again with
 * max_xmit_frag 4280: Samba's exact fragments (4280 + 596 bytes). */
static void
test_response_fragments_capture_02(void **state)
{
	const struct dce_vector *f1 = vec("c02-003"), *f2 = vec("c02-004");
	struct tether_dce_reasm r;
	struct tether_dce_pdu p1, p2, t;
	const uint8_t *stub;
	uint8_t *copy;
	size_t len, off = 0, n;

	(void)state;
	assert_int_equal(f1->len, 4280);
	assert_int_equal(f2->len, 596);
	tether_dce_reasm_init(&r, 65536);
	decode_vec(f1, &p1);
	decode_vec(f2, &p2);
	assert_int_equal(p1.hdr.pfc_flags, TETHER_DCE_PFC_FIRST_FRAG);
	assert_int_equal(p1.u.response.alloc_hint, 4828);
	assert_int_equal(tether_dce_reasm_add(&r, &p1, &stub, &len), 0);
	assert_int_equal(tether_dce_reasm_add(&r, &p2, &stub, &len), 1);
	assert_int_equal(len, 4828);
	copy = malloc(len);
	assert_non_null(copy);
	memcpy(copy, stub, len);

	tether_dce_pdu_init(&t, TETHER_DCE_PT_RESPONSE, p1.hdr.call_id);
	t.u.response.stub = copy;
	t.u.response.stub_len = len;
	assert_int_equal(
		tether_dce_fragment(&t, 4280, &off, out, sizeof(out), &n), 1);
	assert_int_equal(n, 4280);
	assert_memory_equal(out, f1->bytes, n);
	assert_int_equal(
		tether_dce_fragment(&t, 4280, &off, out, sizeof(out), &n), 0);
	assert_int_equal(n, 596);
	assert_memory_equal(out, f2->bytes, n);
	assert_int_equal(off, len);

	/* Any frag size: fragments reassemble to the stub, non-final ones
	 * carry multiples of 8, none passes max. */
	for (size_t max = 32; max <= 5000; max += 157) {
		const uint8_t *s2;
		size_t l2;
		int more;

		off = 0;
		do {
			struct tether_dce_pdu f;

			more = tether_dce_fragment(&t, max, &off, out,
						   sizeof(out), &n);
			assert_true(more >= 0);
			assert_true(n <= max);
			decode_vec(&(struct dce_vector){ "x", 0, 0, 2, n, out },
				   &f);
			if (more)
				assert_int_equal(f.u.response.stub_len % 8, 0);
			assert_int_equal(tether_dce_reasm_add(&r, &f, &s2, &l2),
					 more ? 0 : 1);
		} while (more);
		assert_int_equal(l2, len);
		assert_memory_equal(s2, copy, len);
	}
	/* too small / wrong type */
	off = 0;
	assert_tether_err(
		tether_dce_fragment(&t, 31, &off, out, sizeof(out), &n),
		TETHER_EINVAL);
	assert_tether_err(tether_dce_fragment(&t, 4280, &off, out, 100, &n),
			  TETHER_ENOSPC);
	t.hdr.ptype = TETHER_DCE_PT_FAULT;
	assert_tether_err(
		tether_dce_fragment(&t, 4280, &off, out, sizeof(out), &n),
		TETHER_EINVAL);
	free(copy);
	tether_dce_reasm_free(&r);
}

/* A request fragmented by us, with an object UUID, reassembles. */
static void
test_request_fragments(void **state)
{
	uint8_t stub[1000];
	struct tether_dce_pdu t, f;
	struct tether_dce_reasm r;
	const uint8_t *s;
	size_t off = 0, n, l, i;
	int more, frags = 0;

	(void)state;
	for (i = 0; i < sizeof(stub); i++)
		stub[i] = (uint8_t)(i * 7);
	tether_dce_pdu_init(&t, TETHER_DCE_PT_REQUEST, 9);
	t.hdr.pfc_flags |= TETHER_DCE_PFC_OBJECT_UUID;
	t.u.request.object = tether_dce_ndr64.uuid;
	t.u.request.opnum = 2;
	t.u.request.p_cont_id = 1;
	t.u.request.stub = stub;
	t.u.request.stub_len = sizeof(stub);
	tether_dce_reasm_init(&r, sizeof(stub));
	do {
		uint8_t b[200];

		more = tether_dce_fragment(&t, 200, &off, b, sizeof(b), &n);
		assert_true(more >= 0);
		assert_int_equal(tether_dce_pdu_decode(b, n, NULL, &f), 0);
		assert_true(tether_dce_uuid_equal(&f.u.request.object,
						  &tether_dce_ndr64.uuid));
		assert_int_equal(tether_dce_reasm_add(&r, &f, &s, &l),
				 more ? 0 : 1);
		frags++;
	} while (more);
	assert_int_equal(frags, 7); /* 6 x 152 + 88 */
	assert_int_equal(l, sizeof(stub));
	assert_memory_equal(s, stub, l);
	tether_dce_reasm_free(&r);
}

static void
test_reasm_errors(void **state)
{
	struct tether_dce_reasm r;
	struct tether_dce_pdu a, b;
	const uint8_t *s;
	size_t l;
	static const uint8_t stub[64];
	unsigned long i;
	int rc;

	(void)state;
	tether_dce_reasm_init(&r, 100);
	tether_dce_pdu_init(&a, TETHER_DCE_PT_REQUEST, 5);
	a.u.request.stub = stub;
	a.u.request.stub_len = 40;
	a.hdr.pfc_flags = TETHER_DCE_PFC_FIRST_FRAG;
	b = a;
	b.hdr.pfc_flags = TETHER_DCE_PFC_LAST_FRAG;

	/* middle or last fragment when idle */
	assert_tether_err(tether_dce_reasm_add(&r, &b, &s, &l), TETHER_EPROTO);
	/* FIRST twice */
	assert_int_equal(tether_dce_reasm_add(&r, &a, &s, &l), 0);
	assert_tether_err(tether_dce_reasm_add(&r, &a, &s, &l), TETHER_EPROTO);
	assert_false(r.active);
	/* call_id, context, opnum, type mismatches */
	{
		struct tether_dce_pdu m[4];

		m[0] = b;
		m[0].hdr.call_id = 6;
		m[1] = b;
		m[1].u.request.p_cont_id = 1;
		m[2] = b;
		m[2].u.request.opnum = 1;
		tether_dce_pdu_init(&m[3], TETHER_DCE_PT_RESPONSE, 5);
		m[3].hdr.pfc_flags = TETHER_DCE_PFC_LAST_FRAG;
		for (i = 0; i < 4; i++) {
			assert_int_equal(tether_dce_reasm_add(&r, &a, &s, &l),
					 0);
			assert_tether_err(
				tether_dce_reasm_add(&r, &m[i], &s, &l),
				TETHER_EPROTO);
		}
	}
	/* over the bound */
	assert_int_equal(tether_dce_reasm_add(&r, &a, &s, &l), 0);
	b.hdr.pfc_flags = 0;
	assert_int_equal(tether_dce_reasm_add(&r, &b, &s, &l), 0); /* 80 */
	assert_tether_err(tether_dce_reasm_add(&r, &b, &s, &l),
			  TETHER_EMSGSIZE);
	assert_false(r.active);
	/* single fragment over the bound */
	a.hdr.pfc_flags = 0x03;
	a.u.request.stub_len = 64;
	tether_dce_reasm_free(&r);
	tether_dce_reasm_init(&r, 63);
	assert_tether_err(tether_dce_reasm_add(&r, &a, &s, &l),
			  TETHER_EMSGSIZE);
	/* not a request/response */
	tether_dce_pdu_init(&b, TETHER_DCE_PT_FAULT, 5);
	assert_tether_err(tether_dce_reasm_add(&r, &b, &s, &l), TETHER_EINVAL);
	tether_dce_reasm_free(&r);

	/* allocation failure while collecting, then success */
	rc = -1;
	for (i = 1; i < 10 && rc != 1; i++) {
		tether_dce_reasm_init(&r, 1000);
		a.hdr.pfc_flags = TETHER_DCE_PFC_FIRST_FRAG;
		b = a;
		b.hdr.ptype = TETHER_DCE_PT_REQUEST;
		b.hdr.pfc_flags = TETHER_DCE_PFC_LAST_FRAG;
		tether_alloc_fail_at(i, 0);
		rc = tether_dce_reasm_add(&r, &a, &s, &l);
		if (rc == 0)
			rc = tether_dce_reasm_add(&r, &b, &s, &l);
		tether_alloc_fail_at(0, 0);
		if (rc != 1)
			assert_tether_err(rc, TETHER_ENOMEM);
		tether_dce_reasm_free(&r);
	}
	assert_int_equal(rc, 1);
	assert_true(i > 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_capture_pdu_round_trips),
		cmocka_unit_test(test_bind_fields),
		cmocka_unit_test(test_other_fields),
		cmocka_unit_test(test_negotiate_capture_04),
		cmocka_unit_test(test_negotiate_every_capture_bind),
		cmocka_unit_test(test_negotiate_rules),
		cmocka_unit_test(test_bind_nak_encode),
		cmocka_unit_test(test_malformed_pdus),
		cmocka_unit_test(test_auth_passthrough),
		cmocka_unit_test(test_small_pdus),
		cmocka_unit_test(test_big_endian),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_framer_streams),
		cmocka_unit_test(test_framer_errors),
		cmocka_unit_test(test_reasm_capture_08),
		cmocka_unit_test(test_response_fragments_capture_02),
		cmocka_unit_test(test_request_fragments),
		cmocka_unit_test(test_reasm_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
