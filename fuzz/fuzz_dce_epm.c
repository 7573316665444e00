/*
 * fuzz_dce_epm.c - NDR decoding of the endpoint mapper's stubs (ept_map,
 * ept_lookup, ept_insert/delete, ept_lookup_handle_free) from raw stub
 * bytes. Invariants: what decodes re-encodes to bytes that decode again
 * to the same values and encode to the same bytes; decoded towers and
 * strings lie inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tether/dce.h"

#include "fuzz.h"

static uint8_t enc1[65536];
static uint8_t enc2[65536];

static int
inside(const void *p, size_t n, const uint8_t *base, size_t len)
{
	const uint8_t *q = p;

	return q >= base && q <= base + len && n <= (size_t)(base + len - q);
}

static void
check_entries(const struct tether_dce_epm_entry *e, uint32_t n,
	      const uint8_t *base, size_t len)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		size_t al = strlen(e[i].annotation);

		CHECK(al < TETHER_DCE_EPM_ANNOTATION_SIZE);
		CHECK(inside(e[i].annotation, al + 1, base, len));
		if (e[i].has_tower)
			CHECK(inside(e[i].tower.data, e[i].tower.len, base,
				     len));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tether_arena *a;
	struct tether_dce_ndr_reader r;
	struct tether_dce_ndr_writer w;
	struct tether_dce_epm_map_req mq, mq2;
	struct tether_dce_epm_lookup_req lq, lq2;
	struct tether_dce_epm_map_resp ms;
	struct tether_dce_epm_lookup_resp ls;
	struct tether_dce_epm_insert_req iq;
	struct tether_dce_ctx_handle h;
	size_t n1;
	int replace;

	if (size > 32768)
		return 0;
	a = tether_arena_new(0, 4 << 20);
	if (a == NULL)
		return 0;

	tether_dce_ndr_reader_init(&r, data, size, TETHER_DCE_DREP_LE);
	if (tether_dce_epm_map_req_decode(&r, &mq) == 0) {
		CHECK(mq.max_towers <= TETHER_DCE_EPM_MAX_ENTS);
		if (mq.has_tower)
			CHECK(inside(mq.tower.data, mq.tower.len, data, size));
		tether_dce_ndr_writer_init(&w, enc1, sizeof(enc1),
					   TETHER_DCE_DREP_LE);
		CHECK(tether_dce_epm_map_req_encode(&w, &mq) == 0);
		n1 = w.pos;
		CHECK(n1 <= size);
		tether_dce_ndr_reader_init(&r, enc1, n1, TETHER_DCE_DREP_LE);
		CHECK(tether_dce_epm_map_req_decode(&r, &mq2) == 0);
		CHECK(mq2.has_object == mq.has_object);
		CHECK(!mq.has_object ||
		      tether_dce_uuid_equal(&mq.object, &mq2.object));
		CHECK(memcmp(&mq.handle, &mq2.handle, sizeof(mq.handle)) == 0);
		CHECK(mq2.max_towers == mq.max_towers);
	}
	tether_dce_ndr_reader_init(&r, data, size, TETHER_DCE_DREP_LE);
	if (tether_dce_epm_lookup_req_decode(&r, &lq) == 0) {
		tether_dce_ndr_writer_init(&w, enc1, sizeof(enc1),
					   TETHER_DCE_DREP_LE);
		CHECK(tether_dce_epm_lookup_req_encode(&w, &lq) == 0);
		tether_dce_ndr_reader_init(&r, enc1, w.pos, TETHER_DCE_DREP_LE);
		CHECK(tether_dce_epm_lookup_req_decode(&r, &lq2) == 0);
		CHECK(lq2.inquiry_type == lq.inquiry_type &&
		      lq2.vers_option == lq.vers_option &&
		      lq2.max_ents == lq.max_ents &&
		      lq2.has_ifid == lq.has_ifid &&
		      lq2.has_object == lq.has_object);
	}
	tether_dce_ndr_reader_init(&r, data, size, TETHER_DCE_DREP_LE);
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
	tether_dce_ndr_reader_init(&r, data, size, TETHER_DCE_DREP_LE);
	if (tether_dce_epm_lookup_resp_decode(&r, a, &ls) == 0) {
		check_entries(ls.entries, ls.num_ents, data, size);
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
	for (replace = 0; replace <= 1; replace++) {
		int rc;

		tether_dce_ndr_reader_init(&r, data, size, TETHER_DCE_DREP_LE);
		rc = replace ? tether_dce_epm_insert_req_decode(&r, a, &iq)
			     : tether_dce_epm_delete_req_decode(&r, a, &iq);
		if (rc != 0)
			continue;
		check_entries(iq.entries, iq.num_ents, data, size);
		tether_dce_ndr_writer_init(&w, enc1, sizeof(enc1),
					   TETHER_DCE_DREP_LE);
		CHECK(tether_dce_epm_insert_req_encode(&w, &iq, replace) == 0);
		n1 = w.pos;
		tether_dce_ndr_reader_init(&r, enc1, n1, TETHER_DCE_DREP_LE);
		rc = replace ? tether_dce_epm_insert_req_decode(&r, a, &iq)
			     : tether_dce_epm_delete_req_decode(&r, a, &iq);
		CHECK(rc == 0);
		tether_dce_ndr_writer_init(&w, enc2, sizeof(enc2),
					   TETHER_DCE_DREP_LE);
		CHECK(tether_dce_epm_insert_req_encode(&w, &iq, replace) == 0);
		CHECK(w.pos == n1 && memcmp(enc1, enc2, n1) == 0);
	}
	tether_dce_ndr_reader_init(&r, data, size, TETHER_DCE_DREP_LE);
	(void)tether_dce_epm_handle_free_req_decode(&r, &h);
	tether_arena_free(a);
	return 0;
}
