/*
 * test_dce_epm.c - the endpoint mapper's stubs against the captures:
 * every client request decodes, our ept_map and ept_lookup answers are
 * Samba's bytes where Samba follows the specification, and the two places
 * it does not (end-of-listing status, ept_lookup_handle_free's handle)
 * differ exactly where the notes say.
 */
#include "tether_test.h"
#include "dce_test_util.h"

static uint8_t out[70000];

/* One complete call: the stub of a single-fragment or reassembled PDU. */
struct call {
	const struct dce_vector *last; /* the fragment that completed it */
	struct tether_dce_pdu pdu;     /* of that fragment */
	uint8_t stub[8192];
	size_t len;
};

/* Every complete request and response of a capture, in order. */
static size_t
calls_of(int capture, struct call *calls, size_t max)
{
	struct tether_dce_reasm r[2];
	size_t i, n = 0;

	tether_dce_reasm_init(&r[0], 8192);
	tether_dce_reasm_init(&r[1], 8192);
	for (i = 0; i < TETHER_ARRAY_SIZE(dce_vectors); i++) {
		const struct dce_vector *v = &dce_vectors[i];
		struct tether_dce_pdu p;
		const uint8_t *s;
		size_t l;

		if (v->capture != capture ||
		    (v->ptype != TETHER_DCE_PT_REQUEST &&
		     v->ptype != TETHER_DCE_PT_RESPONSE))
			continue;
		assert_int_equal(
			tether_dce_pdu_decode(v->bytes, v->len, NULL, &p), 0);
		if (tether_dce_reasm_add(&r[v->from_client], &p, &s, &l) != 1)
			continue;
		assert_true(n < max && l <= sizeof(calls[n].stub));
		calls[n].last = v;
		calls[n].pdu = p;
		memcpy(calls[n].stub, s, l);
		calls[n].len = l;
		n++;
	}
	tether_dce_reasm_free(&r[0]);
	tether_dce_reasm_free(&r[1]);
	return n;
}

static struct call calls[64];

static void
reader(struct tether_dce_ndr_reader *r, const struct call *c)
{
	tether_dce_ndr_reader_init(r, c->stub, c->len, TETHER_DCE_DREP_LE);
}

/* Every client request in the captures decodes as its opnum says; the
 * two deliberately broken stubs are refused as truncated. */
static void
test_every_client_request(void **state)
{
	struct tether_arena *a = tether_arena_new(0, 0);
	int cap;
	size_t i, n, decoded = 0;

	(void)state;
	for (cap = 1; cap <= 11; cap++) {
		n = calls_of(cap, calls, TETHER_ARRAY_SIZE(calls));
		for (i = 0; i < n; i++) {
			struct tether_dce_ndr_reader r;
			struct tether_dce_epm_map_req m;
			struct tether_dce_epm_lookup_req lk;
			struct tether_dce_epm_insert_req ins;
			struct tether_dce_ctx_handle h;
			const char *name = calls[i].last->name;
			int rc, want = 0;

			if (!calls[i].last->from_client)
				continue;
			reader(&r, &calls[i]);
			/* capture 06: a 4-byte ept_map stub; capture 11: an
			 * 8-byte dummy ept_insert stub */
			if (strncmp(name, "c06-020", 7) == 0 ||
			    strncmp(name, "c11-022", 7) == 0)
				want = -TETHER_ETRUNC;
			switch (calls[i].pdu.u.request.opnum) {
			case TETHER_DCE_EPM_MAP:
				rc = tether_dce_epm_map_req_decode(&r, &m);
				if (rc == 0) {
					struct tether_dce_tower t;

					assert_true(m.has_tower);
					assert_int_equal(tether_dce_tower_parse(
								 m.tower.data,
								 m.tower.len,
								 &t),
							 0);
					assert_int_equal(t.port, 0);
					assert_true(m.max_towers >= 1);
				}
				break;
			case TETHER_DCE_EPM_LOOKUP:
				rc = tether_dce_epm_lookup_req_decode(&r, &lk);
				if (rc == 0)
					assert_int_equal(
						lk.inquiry_type,
						TETHER_DCE_EPM_INQ_ALL);
				break;
			case TETHER_DCE_EPM_LOOKUP_HANDLE_FREE:
				rc = tether_dce_epm_handle_free_req_decode(&r,
									   &h);
				break;
			case TETHER_DCE_EPM_INSERT:
				rc = tether_dce_epm_insert_req_decode(&r, a,
								      &ins);
				break;
			case TETHER_DCE_EPM_DELETE:
				rc = tether_dce_epm_delete_req_decode(&r, a,
								      &ins);
				break;
			default: /* opnums 5, 6, 99: not ours */
				continue;
			}
			if (rc != want)
				fail_msg("%s: %s", name, tether_err_name(rc));
			decoded++;
		}
	}
	assert_int_equal(decoded, 40);
	tether_arena_free(a);
}

/* ept_map: decode the request, answer from "our registry" (the port
 * and address Samba had), and compare with Samba's whole PDU. */
static void
test_map_responses_byte_exact(void **state)
{
	struct tether_arena *a = tether_arena_new(0, 0);
	int cap, pairs = 0;
	size_t i, n;

	(void)state;
	for (cap = 1; cap <= 11; cap++) {
		n = calls_of(cap, calls, TETHER_ARRAY_SIZE(calls));
		for (i = 0; i + 1 < n; i++) {
			struct tether_dce_ndr_reader r;
			struct tether_dce_ndr_writer w;
			struct tether_dce_epm_map_req req;
			struct tether_dce_epm_map_resp samba, ours;
			struct tether_dce_epm_twr tw;
			struct tether_dce_tower want, st;
			struct tether_dce_pdu p;
			uint8_t tower[100], pdu[512];
			size_t tl, pl;
			const struct call *q = &calls[i], *s = &calls[i + 1];

			if (!q->last->from_client || s->last->from_client ||
			    q->pdu.u.request.opnum != TETHER_DCE_EPM_MAP)
				continue;
			reader(&r, q);
			if (tether_dce_epm_map_req_decode(&r, &req) != 0)
				continue;
			reader(&r, s);
			assert_int_equal(
				tether_dce_epm_map_resp_decode(&r, a, &samba),
				0);
			assert_int_equal(samba.max_count, req.max_towers);
			assert_int_equal(tether_dce_tower_parse(req.tower.data,
								req.tower.len,
								&want),
					 0);
			memset(&ours, 0, sizeof(ours));
			ours.max_count = req.max_towers;
			ours.status = samba.status;
			if (samba.num_towers == 1) {
				assert_int_equal(tether_dce_tower_parse(
							 samba.towers[0].data,
							 samba.towers[0].len,
							 &st),
						 0);
				assert_int_equal(
					tether_dce_tower_build_tcp(
						&want.iface, &tether_dce_ndr20,
						st.port, st.ipv4, tower,
						sizeof(tower), &tl),
					0);
				tw.data = tower;
				tw.len = (uint32_t)tl;
				ours.num_towers = 1;
				ours.towers = &tw;
			} else {
				assert_int_equal(samba.num_towers, 0);
				assert_int_equal(
					samba.status,
					TETHER_DCE_ept_s_not_registered);
			}
			/* Samba numbers this referent 2, then 3... */
			tether_dce_ndr_writer_init(&w, out, sizeof(out),
						   TETHER_DCE_DREP_LE);
			w.next_ref = 2;
			w.ref_step = 1;
			assert_int_equal(
				tether_dce_epm_map_resp_encode(&w, &ours), 0);
			if (w.pos != s->len || memcmp(out, s->stub, w.pos))
				fail_msg("%s: our answer differs from %s",
					 q->last->name, s->last->name);
			/* and the whole response PDU */
			tether_dce_pdu_init(&p, TETHER_DCE_PT_RESPONSE,
					    q->pdu.hdr.call_id);
			p.u.response.alloc_hint = (uint32_t)w.pos;
			p.u.response.p_cont_id = q->pdu.u.request.p_cont_id;
			p.u.response.stub = out;
			p.u.response.stub_len = w.pos;
			assert_int_equal(tether_dce_pdu_encode(
						 &p, pdu, sizeof(pdu), &pl),
					 0);
			assert_int_equal(pl, s->last->len);
			assert_memory_equal(pdu, s->last->bytes, pl);
			pairs++;
			tether_arena_reset(a);
		}
	}
	assert_true(pairs >= 12);
	tether_arena_free(a);
}

/* ept_lookup: Samba's answers re-encode to the same bytes (capture 02's
 * also to the same two fragments); the paging handles chain. */
static void
test_lookup_responses(void **state)
{
	struct tether_arena *a = tether_arena_new(0, 0);
	struct tether_dce_ctx_handle prev;
	int caps[] = { 2, 3, 10, 11 }, pages = 0;
	size_t c, i, n;

	(void)state;
	for (c = 0; c < TETHER_ARRAY_SIZE(caps); c++) {
		n = calls_of(caps[c], calls, TETHER_ARRAY_SIZE(calls));
		memset(&prev, 0, sizeof(prev));
		for (i = 0; i + 1 < n; i++) {
			struct tether_dce_ndr_reader r;
			struct tether_dce_ndr_writer w;
			struct tether_dce_epm_lookup_req req;
			struct tether_dce_epm_lookup_resp resp;
			const struct call *q = &calls[i], *s = &calls[i + 1];

			if (!q->last->from_client || s->last->from_client ||
			    q->pdu.u.request.opnum != TETHER_DCE_EPM_LOOKUP)
				continue;
			reader(&r, q);
			assert_int_equal(
				tether_dce_epm_lookup_req_decode(&r, &req), 0);
			reader(&r, s);
			assert_int_equal(
				tether_dce_epm_lookup_resp_decode(&r, a, &resp),
				0);
			assert_int_equal(resp.max_count, req.max_ents);
			assert_true(resp.num_ents <= req.max_ents);
			if (caps[c] == 3) {
				/* the client hands back what it was given */
				assert_memory_equal(&req.handle, &prev,
						    sizeof(prev));
				prev = resp.handle;
				/* Samba: more -> handle + 0; last batch ->
				 * NULL handle + ept_s_not_registered */
				if (tether_dce_ctx_handle_is_null(&resp.handle))
					assert_int_equal(
						resp.status,
						TETHER_DCE_ept_s_not_registered);
				else
					assert_int_equal(resp.status, 0);
			}
			tether_dce_ndr_writer_init(&w, out, sizeof(out),
						   TETHER_DCE_DREP_LE);
			w.next_ref = 1; /* Samba's numbering here */
			w.ref_step = 1;
			assert_int_equal(
				tether_dce_epm_lookup_resp_encode(&w, &resp),
				0);
			assert_int_equal(w.pos, s->len);
			assert_memory_equal(out, s->stub, w.pos);

			if (tether_dce_ctx_handle_is_null(&resp.handle) &&
			    resp.num_ents > 0) {
				/* What we send instead (pitfall 3): status 0
				 * with the final batch; only the last 4 bytes
				 * differ. */
				resp.status = 0;
				tether_dce_ndr_writer_init(&w, out, sizeof(out),
							   TETHER_DCE_DREP_LE);
				w.next_ref = 1;
				w.ref_step = 1;
				assert_int_equal(
					tether_dce_epm_lookup_resp_encode(
						&w, &resp),
					0);
				assert_memory_equal(out, s->stub, w.pos - 4);
				assert_memory_not_equal(out + w.pos - 4,
							s->stub + w.pos - 4, 4);
			}
			if (s->len > 4256) {
				/* 2 fragments of max_xmit_frag 4280 */
				struct tether_dce_pdu t;
				size_t off = 0, pl;
				const struct dce_vector *f1 = vec(
					caps[c] == 2 ? "c02-003" : "c10-003");

				tether_dce_pdu_init(&t, TETHER_DCE_PT_RESPONSE,
						    s->pdu.hdr.call_id);
				t.u.response.stub = s->stub;
				t.u.response.stub_len = s->len;
				assert_int_equal(tether_dce_fragment(
							 &t, 4280, &off,
							 out + 8192, 8192, &pl),
						 1);
				assert_memory_equal(out + 8192, f1->bytes, pl);
				assert_int_equal(tether_dce_fragment(
							 &t, 4280, &off,
							 out + 8192, 8192, &pl),
						 0);
				assert_int_equal(pl, s->last->len);
				assert_memory_equal(out + 8192, s->last->bytes,
						    pl);
			}
			pages++;
			tether_arena_reset(a);
		}
	}
	assert_true(pages >= 17);
	tether_arena_free(a);
}

/* ept_lookup_handle_free: the request carries the handle capture 11
 * got; Windows answers a zeroed handle, Samba echoes the old one. */
static void
test_handle_free(void **state)
{
	struct tether_dce_ndr_reader r;
	struct tether_dce_ndr_writer w;
	struct tether_dce_ctx_handle h, zero;
	const uint8_t *samba;
	size_t slen, n = calls_of(11, calls, TETHER_ARRAY_SIZE(calls)), i;
	int seen = 0;

	(void)state;
	memset(&zero, 0, sizeof(zero));
	for (i = 0; i + 1 < n; i++) {
		if (calls[i].pdu.hdr.ptype != TETHER_DCE_PT_REQUEST ||
		    calls[i].pdu.u.request.opnum !=
			    TETHER_DCE_EPM_LOOKUP_HANDLE_FREE)
			continue;
		reader(&r, &calls[i]);
		assert_int_equal(tether_dce_epm_handle_free_req_decode(&r, &h),
				 0);
		assert_false(tether_dce_ctx_handle_is_null(&h));
		samba = calls[i + 1].stub;
		slen = calls[i + 1].len;
		assert_int_equal(slen, 24);
		tether_dce_ndr_writer_init(&w, out, sizeof(out),
					   TETHER_DCE_DREP_LE);
		assert_int_equal(
			tether_dce_epm_handle_free_resp_encode(&w, &zero, 0),
			0);
		assert_int_equal(w.pos, 24);
		assert_memory_equal(out + 20, samba + 20, 4); /* status 0 */
		assert_memory_not_equal(out, samba, 20);      /* Samba echoes */
		tether_dce_ndr_writer_init(&w, out, sizeof(out),
					   TETHER_DCE_DREP_LE);
		assert_int_equal(
			tether_dce_epm_handle_free_resp_encode(&w, &h, 0), 0);
		assert_memory_equal(out, samba, 24);
		seen++;
	}
	assert_int_equal(seen, 1);
	/* trailing bytes / short */
	tether_dce_ndr_reader_init(&r, out, 19, TETHER_DCE_DREP_LE);
	assert_tether_err(tether_dce_epm_handle_free_req_decode(&r, &h),
			  TETHER_ETRUNC);
	tether_dce_ndr_reader_init(&r, out, 28, TETHER_DCE_DREP_LE);
	assert_tether_err(tether_dce_epm_handle_free_req_decode(&r, &h),
			  TETHER_EBADMSG);
}

/* A registration as a local service would send it. */
static size_t
make_insert(uint8_t *b, size_t cap, const struct tether_dce_epm_entry *e,
	    uint32_t n, int with_replace)
{
	struct tether_dce_ndr_writer w;
	struct tether_dce_epm_insert_req in;

	in.num_ents = n;
	in.entries = e;
	in.replace = 1;
	tether_dce_ndr_writer_init(&w, b, cap, TETHER_DCE_DREP_LE);
	assert_int_equal(
		tether_dce_epm_insert_req_encode(&w, &in, with_replace), 0);
	return w.pos;
}

static void
test_insert_delete(void **state)
{
	struct tether_dce_syntax lsa =
		syn("12345778-1234-abcd-ef00-0123456789ab", 0, 0);
	static const uint8_t lo[4] = { 127, 0, 0, 1 };
	struct tether_dce_epm_entry e[2];
	struct tether_dce_epm_insert_req got;
	struct tether_dce_ndr_reader r;
	struct tether_arena *a = tether_arena_new(0, 0);
	uint8_t tower[80], b[512];
	size_t tl, len, i;
	unsigned long k;
	int rc;

	(void)state;
	assert_int_equal(tether_dce_tower_build_tcp(&lsa, &tether_dce_ndr20,
						    49153, lo, tower,
						    sizeof(tower), &tl),
			 0);
	memset(e, 0, sizeof(e));
	e[0].has_tower = 1;
	e[0].tower.data = tower;
	e[0].tower.len = (uint32_t)tl;
	e[0].annotation = "lsarpc";
	e[1].object = tether_dce_ndr64.uuid;
	e[1].annotation = NULL; /* written as "" */
	len = make_insert(b, sizeof(b), e, 2, 1);
	tether_dce_ndr_reader_init(&r, b, len, TETHER_DCE_DREP_LE);
	assert_int_equal(tether_dce_epm_insert_req_decode(&r, a, &got), 0);
	assert_int_equal(got.num_ents, 2);
	assert_int_equal(got.replace, 1);
	assert_string_equal(got.entries[0].annotation, "lsarpc");
	assert_string_equal(got.entries[1].annotation, "");
	assert_true(got.entries[0].has_tower);
	assert_false(got.entries[1].has_tower);
	assert_int_equal(got.entries[0].tower.len, tl);
	assert_memory_equal(got.entries[0].tower.data, tower, tl);
	assert_true(tether_dce_uuid_equal(&got.entries[1].object,
					  &tether_dce_ndr64.uuid));
	/* delete has no replace flag: the same stub has 4 bytes too many,
	 * which is tolerated as padding... */
	tether_dce_ndr_reader_init(&r, b, len, TETHER_DCE_DREP_LE);
	assert_int_equal(tether_dce_epm_delete_req_decode(&r, a, &got), 0);
	/* ...but a stub made for delete is short for insert */
	len = make_insert(b, sizeof(b), e, 2, 0);
	tether_dce_ndr_reader_init(&r, b, len, TETHER_DCE_DREP_LE);
	assert_tether_err(tether_dce_epm_insert_req_decode(&r, a, &got),
			  TETHER_ETRUNC);

	/* every truncation of an insert fails */
	len = make_insert(b, sizeof(b), e, 2, 1);
	for (i = 0; i < len; i++) {
		tether_dce_ndr_reader_init(&r, b, i, TETHER_DCE_DREP_LE);
		assert_true(tether_dce_epm_insert_req_decode(&r, a, &got) < 0);
	}
	/* num_ents vs conformance, over 500, tower_length vs conformance,
	 * trailing bytes */
	b[0] = 3;
	tether_dce_ndr_reader_init(&r, b, len, TETHER_DCE_DREP_LE);
	assert_tether_err(tether_dce_epm_insert_req_decode(&r, a, &got),
			  TETHER_EBADMSG);
	b[0] = 0xf5; /* 501 = 0x1f5 */
	b[1] = 0x01;
	b[4] = 0xf5;
	b[5] = 0x01;
	tether_dce_ndr_reader_init(&r, b, len, TETHER_DCE_DREP_LE);
	assert_tether_err(tether_dce_epm_insert_req_decode(&r, a, &got),
			  TETHER_EMSGSIZE);
	len = make_insert(b, sizeof(b), e, 2, 1);
	/* entries: 8 + 2 x (16 + 4 + 8 + 7|1 pad) ... first tower after */
	{
		size_t toff = 8 + (16 + 4 + 8 + 8) + (16 + 4 + 8 + 4);

		assert_int_equal(b[toff], 75);
		b[toff + 4] = 74; /* tower_length != max_count */
		tether_dce_ndr_reader_init(&r, b, len, TETHER_DCE_DREP_LE);
		assert_tether_err(tether_dce_epm_insert_req_decode(&r, a, &got),
				  TETHER_EBADMSG);
		b[toff + 4] = 75;
	}
	memset(b + len, 0, 8);
	tether_dce_ndr_reader_init(&r, b, len + 8, TETHER_DCE_DREP_LE);
	assert_tether_err(tether_dce_epm_insert_req_decode(&r, a, &got),
			  TETHER_EBADMSG);
	/* no arena */
	tether_dce_ndr_reader_init(&r, b, len, TETHER_DCE_DREP_LE);
	assert_tether_err(tether_dce_epm_insert_req_decode(&r, NULL, &got),
			  TETHER_EINVAL);
	tether_arena_free(a);

	/* allocation failures */
	rc = -1;
	for (k = 1; k < 10 && rc != 0; k++) {
		struct tether_arena *fa = tether_arena_new(64, 0);

		assert_non_null(fa);
		tether_dce_ndr_reader_init(&r, b, len, TETHER_DCE_DREP_LE);
		tether_alloc_fail_at(k, 0);
		rc = tether_dce_epm_insert_req_decode(&r, fa, &got);
		tether_alloc_fail_at(0, 0);
		if (rc != 0)
			assert_tether_err(rc, TETHER_ENOMEM);
		tether_arena_free(fa);
	}
	assert_int_equal(rc, 0);
	assert_true(k > 2);

	/* status answer */
	{
		struct tether_dce_ndr_writer w;

		tether_dce_ndr_writer_init(&w, b, 4, TETHER_DCE_DREP_LE);
		assert_int_equal(tether_dce_epm_status_encode(&w, 0x16c9a0d6),
				 0);
		assert_int_equal(b[3], 0x16);
		assert_tether_err(tether_dce_epm_status_encode(&w, 0),
				  TETHER_ENOSPC);
	}
}

static void
test_malformed_requests(void **state)
{
	const struct call *map = NULL, *lookup = NULL;
	struct tether_dce_ndr_reader r;
	struct tether_dce_epm_map_req m;
	struct tether_dce_epm_lookup_req lk;
	uint8_t b[256];
	size_t n, i;

	(void)state;
	n = calls_of(9, calls, TETHER_ARRAY_SIZE(calls));
	for (i = 0; i < n; i++)
		if (calls[i].last->from_client)
			map = &calls[i];
	assert_non_null(map);
	assert_int_equal(map->len, 116);
	for (i = 0; i < map->len; i++) {
		tether_dce_ndr_reader_init(&r, map->stub, i,
					   TETHER_DCE_DREP_LE);
		assert_true(tether_dce_epm_map_req_decode(&r, &m) < 0);
	}
	/* max_towers 501 */
	memcpy(b, map->stub, 116);
	b[112] = 0xf5;
	b[113] = 0x01;
	tether_dce_ndr_reader_init(&r, b, 116, TETHER_DCE_DREP_LE);
	assert_tether_err(tether_dce_epm_map_req_decode(&r, &m),
			  TETHER_EMSGSIZE);
	/* tower_length != max_count; tower over the bound */
	memcpy(b, map->stub, 116);
	b[12] = 74;
	tether_dce_ndr_reader_init(&r, b, 116, TETHER_DCE_DREP_LE);
	assert_tether_err(tether_dce_epm_map_req_decode(&r, &m),
			  TETHER_EBADMSG);
	memcpy(b, map->stub, 116);
	b[8] = 0x01;
	b[9] = 0x04; /* 1025 */
	tether_dce_ndr_reader_init(&r, b, 116, TETHER_DCE_DREP_LE);
	assert_tether_err(tether_dce_epm_map_req_decode(&r, &m),
			  TETHER_EMSGSIZE);
	/* 8 trailing bytes; up to 7 are padding */
	memcpy(b, map->stub, 116);
	memset(b + 116, 0, 8);
	tether_dce_ndr_reader_init(&r, b, 124, TETHER_DCE_DREP_LE);
	assert_tether_err(tether_dce_epm_map_req_decode(&r, &m),
			  TETHER_EBADMSG);
	tether_dce_ndr_reader_init(&r, b, 123, TETHER_DCE_DREP_LE);
	assert_int_equal(tether_dce_epm_map_req_decode(&r, &m), 0);
	/* object UUID and NULL tower: round trip through our encoder */
	{
		struct tether_dce_ndr_writer w;
		struct tether_dce_epm_map_req in;

		memset(&in, 0, sizeof(in));
		in.has_object = 1;
		in.object = tether_dce_ndr20.uuid;
		in.max_towers = 4;
		tether_dce_ndr_writer_init(&w, b, sizeof(b),
					   TETHER_DCE_DREP_LE);
		assert_int_equal(tether_dce_epm_map_req_encode(&w, &in), 0);
		assert_int_equal(w.pos, 4 + 16 + 4 + 20 + 4);
		tether_dce_ndr_reader_init(&r, b, w.pos, TETHER_DCE_DREP_LE);
		assert_int_equal(tether_dce_epm_map_req_decode(&r, &m), 0);
		assert_true(m.has_object);
		assert_false(m.has_tower);
		assert_true(tether_dce_uuid_equal(&m.object,
						  &tether_dce_ndr20.uuid));
		assert_int_equal(m.max_towers, 4);
		/* impacket's request re-encodes to its bytes but for its
		 * pad byte (0xab) after the tower and its referent id */
		tether_dce_ndr_reader_init(&r, map->stub, map->len,
					   TETHER_DCE_DREP_LE);
		assert_int_equal(tether_dce_epm_map_req_decode(&r, &m), 0);
		tether_dce_ndr_writer_init(&w, b, sizeof(b),
					   TETHER_DCE_DREP_LE);
		w.next_ref = 2;
		assert_int_equal(tether_dce_epm_map_req_encode(&w, &m), 0);
		assert_int_equal(w.pos, 116);
		assert_memory_equal(b, map->stub, 91);
		assert_int_equal(map->stub[91], 0xab);
		assert_int_equal(b[91], 0);
		assert_memory_equal(b + 92, map->stub + 92, 24);
	}

	/* a big-endian client: NDR integers swap, tower octets do not */
	{
		struct tether_dce_ndr_writer w;
		struct tether_dce_epm_map_req be;

		tether_dce_ndr_reader_init(&r, map->stub, map->len,
					   TETHER_DCE_DREP_LE);
		assert_int_equal(tether_dce_epm_map_req_decode(&r, &m), 0);
		tether_dce_ndr_writer_init(&w, b, sizeof(b),
					   TETHER_DCE_DREP_BE);
		assert_int_equal(tether_dce_epm_map_req_encode(&w, &m), 0);
		assert_int_equal(b[11], 75); /* max_count, big-endian */
		assert_memory_equal(b + 16, map->stub + 16, 75);
		tether_dce_ndr_reader_init(&r, b, w.pos, TETHER_DCE_DREP_BE);
		assert_int_equal(tether_dce_epm_map_req_decode(&r, &be), 0);
		assert_int_equal(be.max_towers, 4);
		assert_int_equal(be.tower.len, 75);
		tether_dce_ndr_reader_init(&r, b, w.pos, TETHER_DCE_DREP_LE);
		assert_true(tether_dce_epm_map_req_decode(&r, &be) < 0);
	}

	/* ept_lookup */
	n = calls_of(2, calls, TETHER_ARRAY_SIZE(calls));
	for (i = 0; i < n; i++)
		if (calls[i].last->from_client &&
		    calls[i].pdu.u.request.opnum == TETHER_DCE_EPM_LOOKUP)
			lookup = &calls[i];
	assert_non_null(lookup);
	for (i = 0; i < lookup->len; i++) {
		tether_dce_ndr_reader_init(&r, lookup->stub, i,
					   TETHER_DCE_DREP_LE);
		assert_true(tether_dce_epm_lookup_req_decode(&r, &lk) < 0);
	}
	tether_dce_ndr_reader_init(&r, lookup->stub, lookup->len,
				   TETHER_DCE_DREP_LE);
	assert_int_equal(tether_dce_epm_lookup_req_decode(&r, &lk), 0);
	assert_int_equal(lk.max_ents, 500);
	assert_false(lk.has_object);
	assert_false(lk.has_ifid);
	assert_true(tether_dce_ctx_handle_is_null(&lk.handle));
	lk.max_ents = 501;
	lk.has_ifid = 1;
	lk.ifid = tether_dce_epm_v3;
	lk.inquiry_type = TETHER_DCE_EPM_INQ_IF;
	lk.vers_option = TETHER_DCE_EPM_VERS_EXACT;
	{
		struct tether_dce_ndr_writer w;
		struct tether_dce_epm_lookup_req back;

		tether_dce_ndr_writer_init(&w, b, sizeof(b),
					   TETHER_DCE_DREP_LE);
		assert_int_equal(tether_dce_epm_lookup_req_encode(&w, &lk), 0);
		tether_dce_ndr_reader_init(&r, b, w.pos, TETHER_DCE_DREP_LE);
		assert_tether_err(tether_dce_epm_lookup_req_decode(&r, &back),
				  TETHER_EMSGSIZE);
		b[w.pos - 4] = 0xf4; /* 500 */
		tether_dce_ndr_reader_init(&r, b, w.pos, TETHER_DCE_DREP_LE);
		assert_int_equal(tether_dce_epm_lookup_req_decode(&r, &back),
				 0);
		assert_true(back.has_ifid);
		assert_int_equal(back.ifid.vers_major, 3);
		assert_int_equal(back.vers_option, TETHER_DCE_EPM_VERS_EXACT);
		assert_int_equal(back.inquiry_type, TETHER_DCE_EPM_INQ_IF);
	}
}

static void
test_response_decode_errors(void **state)
{
	struct tether_dce_ndr_reader r;
	struct tether_dce_epm_lookup_resp lk;
	struct tether_dce_epm_map_resp m;
	const struct call *big = NULL, *map = NULL;
	size_t n, i;
	unsigned long k;
	int rc;
	uint8_t b[256];

	(void)state;
	n = calls_of(2, calls, TETHER_ARRAY_SIZE(calls));
	for (i = 0; i < n; i++)
		if (!calls[i].last->from_client && calls[i].len > 4000)
			big = &calls[i];
	assert_non_null(big);
	/* allocation failures while decoding 38 entries */
	rc = -1;
	for (k = 1; k < 20 && rc != 0; k++) {
		struct tether_arena *a = tether_arena_new(256, 0);

		assert_non_null(a);
		tether_dce_ndr_reader_init(&r, big->stub, big->len,
					   TETHER_DCE_DREP_LE);
		tether_alloc_fail_at(k, 0);
		rc = tether_dce_epm_lookup_resp_decode(&r, a, &lk);
		tether_alloc_fail_at(0, 0);
		if (rc != 0)
			assert_tether_err(rc, TETHER_ENOMEM);
		tether_arena_free(a);
	}
	assert_int_equal(rc, 0);
	assert_true(k > 2);
	{
		struct tether_arena *a = tether_arena_new(0, 0);
		struct tether_dce_ndr_writer w;

		/* truncations (every 7th to keep it quick) */
		for (i = 0; i < big->len; i += 7) {
			tether_dce_ndr_reader_init(&r, big->stub, i,
						   TETHER_DCE_DREP_LE);
			assert_true(tether_dce_epm_lookup_resp_decode(&r, a,
								      &lk) < 0);
			tether_arena_reset(a);
		}
		/* encoder: every short buffer, count over max_count, an
		 * annotation of 64 characters */
		tether_dce_ndr_reader_init(&r, big->stub, big->len,
					   TETHER_DCE_DREP_LE);
		assert_int_equal(tether_dce_epm_lookup_resp_decode(&r, a, &lk),
				 0);
		for (i = 0; i < big->len; i += 13) {
			tether_dce_ndr_writer_init(&w, out, i,
						   TETHER_DCE_DREP_LE);
			assert_tether_err(
				tether_dce_epm_lookup_resp_encode(&w, &lk),
				TETHER_ENOSPC);
		}
		lk.max_count = lk.num_ents - 1;
		tether_dce_ndr_writer_init(&w, out, sizeof(out),
					   TETHER_DCE_DREP_LE);
		assert_tether_err(tether_dce_epm_lookup_resp_encode(&w, &lk),
				  TETHER_EINVAL);
		lk.max_count = 500;
		{
			struct tether_dce_epm_entry e = lk.entries[0];
			char ann[65];

			memset(ann, 'a', 64);
			ann[64] = 0;
			e.annotation = ann;
			lk.entries = &e;
			lk.num_ents = 1;
			assert_tether_err(
				tether_dce_epm_lookup_resp_encode(&w, &lk),
				TETHER_EINVAL);
			ann[63] = 0;
			assert_int_equal(
				tether_dce_epm_lookup_resp_encode(&w, &lk), 0);
		}
		tether_arena_free(a);
	}

	/* ept_map response: actual_count != num_towers, no arena */
	n = calls_of(1, calls, TETHER_ARRAY_SIZE(calls));
	for (i = 0; i < n; i++)
		if (!calls[i].last->from_client)
			map = &calls[i];
	assert_non_null(map);
	memcpy(b, map->stub, map->len);
	b[20] = 2;
	tether_dce_ndr_reader_init(&r, b, map->len, TETHER_DCE_DREP_LE);
	{
		struct tether_arena *a = tether_arena_new(0, 0);

		assert_tether_err(tether_dce_epm_map_resp_decode(&r, a, &m),
				  TETHER_EBADMSG);
		tether_dce_ndr_reader_init(&r, map->stub, map->len,
					   TETHER_DCE_DREP_LE);
		assert_tether_err(tether_dce_epm_map_resp_decode(&r, NULL, &m),
				  TETHER_EINVAL);
		for (i = 0; i < map->len; i++) {
			tether_dce_ndr_reader_init(&r, map->stub, i,
						   TETHER_DCE_DREP_LE);
			assert_true(tether_dce_epm_map_resp_decode(&r, a, &m) <
				    0);
		}
		tether_dce_ndr_reader_init(&r, map->stub, map->len,
					   TETHER_DCE_DREP_LE);
		assert_int_equal(tether_dce_epm_map_resp_decode(&r, a, &m), 0);
		m.num_towers = 2;
		{
			struct tether_dce_ndr_writer w;

			tether_dce_ndr_writer_init(&w, out, sizeof(out),
						   TETHER_DCE_DREP_LE);
			assert_tether_err(
				tether_dce_epm_map_resp_encode(&w, &m),
				TETHER_EINVAL);
		}
		tether_arena_free(a);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_client_request),
		cmocka_unit_test(test_map_responses_byte_exact),
		cmocka_unit_test(test_lookup_responses),
		cmocka_unit_test(test_handle_free),
		cmocka_unit_test(test_insert_delete),
		cmocka_unit_test(test_malformed_requests),
		cmocka_unit_test(test_response_decode_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
