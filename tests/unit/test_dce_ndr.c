/*
 * test_dce_ndr.c - the NDR 2.0 subset: alignment, integers in both byte
 * orders, UUIDs (the wire example of the notes), context handles,
 * pointers, array headers and strings, and every bounds check.
 */
#include "tether_test.h"
#include "dce_test_util.h"

static void
test_integers_and_alignment(void **state)
{
	uint8_t b[64];
	struct tether_dce_ndr_writer w;
	struct tether_dce_ndr_reader r;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	static const uint8_t le[] = {
		0xab, 0,    0x34, 0x12, 0x78, 0x56, 0x34, 0x12,
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
	};
	static const uint8_t be[] = {
		0xab, 0,    0x12, 0x34, 0x12, 0x34, 0x56, 0x78,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	};
	int order;

	(void)state;
	for (order = 0; order < 2; order++) {
		const uint8_t *want = order ? be : le;

		tether_dce_ndr_writer_init(&w, b, sizeof(b),
					   order ? TETHER_DCE_DREP_BE
						 : TETHER_DCE_DREP_LE);
		memset(b, 0xee, sizeof(b));
		assert_int_equal(tether_dce_ndr_put_u8(&w, 0xab), 0);
		assert_int_equal(tether_dce_ndr_put_u16(&w, 0x1234), 0);
		assert_int_equal(tether_dce_ndr_put_u32(&w, 0x12345678), 0);
		assert_int_equal(
			tether_dce_ndr_put_u64(&w, 0x0102030405060708ull), 0);
		assert_int_equal(w.pos, 16);
		assert_memory_equal(b, want, 16);

		tether_dce_ndr_reader_init(&r, b, 16,
					   order ? TETHER_DCE_DREP_BE
						 : TETHER_DCE_DREP_LE);
		assert_int_equal(tether_dce_ndr_get_u8(&r, &u8), 0);
		assert_int_equal(tether_dce_ndr_get_u16(&r, &u16), 0);
		assert_int_equal(tether_dce_ndr_get_u32(&r, &u32), 0);
		assert_int_equal(tether_dce_ndr_get_u64(&r, &u64), 0);
		assert_int_equal(u8, 0xab);
		assert_int_equal(u16, 0x1234);
		assert_int_equal(u32, 0x12345678);
		assert_true(u64 == 0x0102030405060708ull);
		assert_int_equal(tether_dce_ndr_remaining(&r), 0);
		assert_tether_err(tether_dce_ndr_get_u8(&r, &u8),
				  TETHER_ETRUNC);
	}
	/* alignment is relative to the stub start; pads are zero */
	tether_dce_ndr_writer_init(&w, b, sizeof(b), TETHER_DCE_DREP_LE);
	memset(b, 0xee, sizeof(b));
	assert_int_equal(tether_dce_ndr_put_u8(&w, 1), 0);
	assert_int_equal(tether_dce_ndr_put_align(&w, 8), 0);
	assert_int_equal(w.pos, 8);
	assert_int_equal(b[7], 0);
	assert_tether_err(tether_dce_ndr_put_align(&w, 3), TETHER_EINVAL);
	tether_dce_ndr_reader_init(&r, b, 6, TETHER_DCE_DREP_LE);
	assert_int_equal(tether_dce_ndr_get_u8(&r, &u8), 0);
	assert_tether_err(tether_dce_ndr_get_align(&r, 8), TETHER_ETRUNC);
	assert_int_equal(r.pos, 1);
	assert_int_equal(tether_dce_ndr_get_align(&r, 4), 0);
	assert_int_equal(r.pos, 4);
	assert_tether_err(tether_dce_ndr_get_u32(&r, &u32), TETHER_ETRUNC);
	assert_int_equal(r.pos, 4); /* no move on error */
	assert_tether_err(tether_dce_ndr_get_align(&r, 16), TETHER_EINVAL);
}

static void
test_writer_full(void **state)
{
	uint8_t b[16];
	struct tether_dce_ndr_writer w;
	struct tether_dce_ctx_handle h;
	size_t cap;

	(void)state;
	memset(&h, 0, sizeof(h));
	for (cap = 0; cap < 4; cap++) {
		tether_dce_ndr_writer_init(&w, b, cap, TETHER_DCE_DREP_LE);
		assert_tether_err(tether_dce_ndr_put_u32(&w, 1), TETHER_ENOSPC);
		assert_int_equal(w.pos, 0);
	}
	tether_dce_ndr_writer_init(&w, b, 16, TETHER_DCE_DREP_LE);
	assert_tether_err(tether_dce_ndr_put_ctx_handle(&w, &h), TETHER_ENOSPC);
	tether_dce_ndr_writer_init(&w, b, 15, TETHER_DCE_DREP_LE);
	assert_int_equal(tether_dce_ndr_put_u8(&w, 1), 0);
	assert_tether_err(tether_dce_ndr_put_u64(&w, 1), TETHER_ENOSPC);
	assert_int_equal(w.pos, 1);
	assert_tether_err(tether_dce_ndr_put_align(&w, 32), TETHER_EINVAL);
	tether_dce_ndr_writer_init(&w, b, 5, TETHER_DCE_DREP_LE);
	assert_int_equal(tether_dce_ndr_put_u8(&w, 1), 0);
	assert_tether_err(tether_dce_ndr_put_align(&w, 8), TETHER_ENOSPC);
	assert_tether_err(tether_dce_ndr_put_bytes(&w, b, 5), TETHER_ENOSPC);
	assert_tether_err(tether_dce_ndr_put_variance(&w, 0, 1), TETHER_ENOSPC);
	assert_int_equal(w.pos, 1);
}

static void
test_uuid(void **state)
{
	/* protocol-notes.md section 5 */
	static const uint8_t wire[16] = {
		0x78, 0x57, 0x34, 0x12, 0x34, 0x12, 0xcd, 0xab,
		0xef, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
	};
	struct tether_dce_uuid u, v;
	struct tether_dce_ndr_writer w;
	struct tether_dce_ndr_reader r;
	char text[TETHER_DCE_UUID_STRLEN];
	uint8_t b[20];

	(void)state;
	assert_int_equal(tether_dce_uuid_parse(
				 "12345778-1234-ABCD-ef00-0123456789ab", &u),
			 0);
	assert_string_equal(tether_dce_uuid_format(&u, text),
			    "12345778-1234-abcd-ef00-0123456789ab");
	tether_dce_ndr_writer_init(&w, b, sizeof(b), TETHER_DCE_DREP_LE);
	assert_int_equal(tether_dce_ndr_put_uuid(&w, &u), 0);
	assert_memory_equal(b, wire, 16);
	tether_dce_ndr_reader_init(&r, wire, 16, TETHER_DCE_DREP_LE);
	assert_int_equal(tether_dce_ndr_get_uuid(&r, &v), 0);
	assert_true(tether_dce_uuid_equal(&u, &v));
	assert_false(tether_dce_uuid_is_nil(&v));
	tether_dce_ndr_reader_init(&r, wire, 15, TETHER_DCE_DREP_LE);
	assert_tether_err(tether_dce_ndr_get_uuid(&r, &v), TETHER_ETRUNC);
	/* big-endian: the integer fields swap, the 8 octets do not */
	tether_dce_ndr_writer_init(&w, b, sizeof(b), TETHER_DCE_DREP_BE);
	assert_int_equal(tether_dce_ndr_put_uuid(&w, &u), 0);
	assert_int_equal(b[0], 0x12);
	assert_int_equal(b[4], 0x12);
	assert_int_equal(b[5], 0x34);
	assert_memory_equal(b + 8, wire + 8, 8);
	/* bad text */
	assert_tether_err(tether_dce_uuid_parse("12345778-1234-abcd-ef00-"
						"0123456789a",
						&u),
			  TETHER_EINVAL);
	assert_tether_err(tether_dce_uuid_parse("12345778-1234-abcd-ef00-"
						"0123456789abc",
						&u),
			  TETHER_EINVAL);
	assert_tether_err(tether_dce_uuid_parse("12345778+1234-abcd-ef00-"
						"0123456789ab",
						&u),
			  TETHER_EINVAL);
	assert_tether_err(tether_dce_uuid_parse("1234577g-1234-abcd-ef00-"
						"0123456789ab",
						&u),
			  TETHER_EINVAL);
	assert_tether_err(tether_dce_uuid_parse(NULL, &u), TETHER_EINVAL);
	assert_string_equal(
		tether_dce_uuid_format(&tether_dce_ndr20.uuid, text),
		"8a885d04-1ceb-11c9-9fe8-08002b104860");
	assert_string_equal(
		tether_dce_uuid_format(&tether_dce_ndr64.uuid, text),
		"71710533-beba-4937-8319-b5dbef9ccc36");
	assert_string_equal(
		tether_dce_uuid_format(&tether_dce_epm_v3.uuid, text),
		"e1af8308-5d1f-11c9-91a4-08002b14a0fa");
}

static void
test_ctx_handle_and_pointers(void **state)
{
	static const uint8_t h_wire[20] = {
		0,    0,    0,	  0,	0xda, 0x25, 0x1e, 0x68, 0xba, 0x70,
		0x29, 0x40, 0xa5, 0xf2, 0xd0, 0xa6, 0xa9, 0x12, 0xef, 0x36,
	};
	struct tether_dce_ctx_handle h;
	struct tether_dce_ndr_reader r;
	struct tether_dce_ndr_writer w;
	uint8_t b[64];
	uint32_t ref;

	(void)state;
	tether_dce_ndr_reader_init(&r, h_wire, 20, TETHER_DCE_DREP_LE);
	assert_int_equal(tether_dce_ndr_get_ctx_handle(&r, &h), 0);
	assert_int_equal(h.attributes, 0);
	assert_int_equal(h.uuid.time_low, 0x681e25da);
	assert_false(tether_dce_ctx_handle_is_null(&h));
	tether_dce_ndr_writer_init(&w, b, sizeof(b), TETHER_DCE_DREP_LE);
	assert_int_equal(tether_dce_ndr_put_ctx_handle(&w, &h), 0);
	assert_memory_equal(b, h_wire, 20);
	memset(&h, 0, sizeof(h));
	assert_true(tether_dce_ctx_handle_is_null(&h));
	h.attributes = 1;
	assert_false(tether_dce_ctx_handle_is_null(&h));
	tether_dce_ndr_reader_init(&r, h_wire, 19, TETHER_DCE_DREP_LE);
	assert_tether_err(tether_dce_ndr_get_ctx_handle(&r, &h), TETHER_ETRUNC);

	/* referent ids: Windows-style by default, configurable */
	tether_dce_ndr_writer_init(&w, b, sizeof(b), TETHER_DCE_DREP_LE);
	assert_int_equal(tether_dce_ndr_put_ptr(&w, 1), 0);
	assert_int_equal(tether_dce_ndr_put_ptr(&w, 0), 0);
	assert_int_equal(tether_dce_ndr_put_ptr(&w, 1), 0);
	w.next_ref = 0xffffffff;
	w.ref_step = 1;
	assert_int_equal(tether_dce_ndr_put_ptr(&w, 1), 0);
	assert_int_equal(w.next_ref, 1); /* never 0 after a wrap */
	assert_int_equal(tether_dce_ndr_put_referent(&w, 0x20000), 0);
	tether_dce_ndr_reader_init(&r, b, w.pos, TETHER_DCE_DREP_LE);
	assert_int_equal(tether_dce_ndr_get_ptr(&r, &ref), 0);
	assert_int_equal(ref, 0x00020000);
	assert_int_equal(tether_dce_ndr_get_ptr(&r, &ref), 0);
	assert_int_equal(ref, 0);
	assert_int_equal(tether_dce_ndr_get_ptr(&r, &ref), 0);
	assert_int_equal(ref, 0x00020004);
	assert_int_equal(tether_dce_ndr_get_ptr(&r, &ref), 0);
	assert_int_equal(ref, 0xffffffff);
	assert_int_equal(tether_dce_ndr_get_ptr(&r, &ref), 0);
	assert_int_equal(ref, 0x20000); /* a full pointer's alias */
}

static void
test_array_headers(void **state)
{
	struct tether_dce_ndr_reader r;
	struct tether_dce_ndr_writer w;
	uint8_t b[64];
	uint32_t mc, off, n;

	(void)state;
	tether_dce_ndr_writer_init(&w, b, sizeof(b), TETHER_DCE_DREP_LE);
	assert_int_equal(tether_dce_ndr_put_conformance(&w, 5), 0);
	assert_int_equal(tether_dce_ndr_put_variance(&w, 1, 3), 0);
	assert_int_equal(tether_dce_ndr_put_bytes(&w, "abcde", 5), 0);

	tether_dce_ndr_reader_init(&r, b, w.pos, TETHER_DCE_DREP_LE);
	assert_int_equal(tether_dce_ndr_get_conformance(&r, 5, 0, &mc), 0);
	assert_int_equal(mc, 5);
	assert_int_equal(tether_dce_ndr_get_variance(&r, mc, 1, &off, &n), 0);
	assert_int_equal(off, 1);
	assert_int_equal(n, 3);
	/* bounds: over max, over the bytes left, offset + actual > max */
	tether_dce_ndr_reader_init(&r, b, w.pos, TETHER_DCE_DREP_LE);
	assert_tether_err(tether_dce_ndr_get_conformance(&r, 4, 0, &mc),
			  TETHER_EMSGSIZE);
	assert_int_equal(r.pos, 0);
	assert_tether_err(tether_dce_ndr_get_conformance(&r, 5, 4, &mc),
			  TETHER_ETRUNC);
	assert_int_equal(r.pos, 0);
	assert_int_equal(tether_dce_ndr_get_conformance(&r, 5, 1, &mc), 0);
	assert_tether_err(tether_dce_ndr_get_variance(&r, 3, 1, &off, &n),
			  TETHER_EBADMSG);
	assert_tether_err(tether_dce_ndr_get_variance(&r, 0, 1, &off, &n),
			  TETHER_EBADMSG);
	assert_tether_err(tether_dce_ndr_get_variance(&r, 5, 2, &off, &n),
			  TETHER_ETRUNC);
	assert_int_equal(r.pos, 4);
	/* huge counts are refused before anyone allocates */
	tether_dce_ndr_writer_init(&w, b, sizeof(b), TETHER_DCE_DREP_LE);
	assert_int_equal(tether_dce_ndr_put_u32(&w, 0xffffffff), 0);
	assert_int_equal(tether_dce_ndr_put_variance(&w, 0xffffffff, 2), 0);
	tether_dce_ndr_reader_init(&r, b, w.pos, TETHER_DCE_DREP_LE);
	assert_tether_err(
		tether_dce_ndr_get_conformance(&r, UINT32_MAX, 1, &mc),
		TETHER_ETRUNC);
	r.pos = 4;
	assert_tether_err(
		tether_dce_ndr_get_variance(&r, UINT32_MAX, 1, &off, &n),
		TETHER_EBADMSG);
	tether_dce_ndr_reader_init(&r, b, 6, TETHER_DCE_DREP_LE);
	r.pos = 4;
	assert_tether_err(tether_dce_ndr_get_variance(&r, 1, 1, &off, &n),
			  TETHER_ETRUNC);
}

static void
test_strings(void **state)
{
	struct tether_dce_ndr_reader r;
	struct tether_dce_ndr_writer w;
	uint8_t b[128];
	const char *s;
	size_t len, i, end;
	/* the first entry's annotation of capture 02 */
	static const uint8_t ann[] = {
		0,   0,	  0,   0,   9,	 0,   0,   0, 'e',
		'v', 'e', 'n', 't', 'l', 'o', 'g', 0,
	};

	(void)state;
	tether_dce_ndr_reader_init(&r, ann, sizeof(ann), TETHER_DCE_DREP_LE);
	assert_int_equal(tether_dce_ndr_get_vstring(&r, 64, &s, &len), 0);
	assert_string_equal(s, "eventlog");
	assert_int_equal(len, 8);
	tether_dce_ndr_writer_init(&w, b, sizeof(b), TETHER_DCE_DREP_LE);
	assert_int_equal(tether_dce_ndr_put_vstring(&w, "eventlog", 8, 64), 0);
	assert_int_equal(w.pos, sizeof(ann));
	assert_memory_equal(b, ann, sizeof(ann));
	/* every truncation fails and leaves the position alone */
	for (i = 0; i < sizeof(ann); i++) {
		tether_dce_ndr_reader_init(&r, ann, i, TETHER_DCE_DREP_LE);
		assert_true(tether_dce_ndr_get_vstring(&r, 64, &s, &len) < 0);
		assert_int_equal(r.pos, 0);
	}
	/* too long for the array, too long to write */
	tether_dce_ndr_reader_init(&r, ann, sizeof(ann), TETHER_DCE_DREP_LE);
	assert_tether_err(tether_dce_ndr_get_vstring(&r, 8, &s, &len),
			  TETHER_EBADMSG);
	assert_tether_err(tether_dce_ndr_put_vstring(&w, "eventlog", 8, 8),
			  TETHER_EINVAL);
	assert_tether_err(tether_dce_ndr_put_vstring(&w, "a\0b", 3, 8),
			  TETHER_EINVAL);

	/* conformant varying */
	tether_dce_ndr_writer_init(&w, b, sizeof(b), TETHER_DCE_DREP_LE);
	assert_int_equal(tether_dce_ndr_put_u8(&w, 7), 0);
	assert_int_equal(tether_dce_ndr_put_string(&w, "135", 3), 0);
	assert_int_equal(w.pos, 4 + 12 + 4);
	end = w.pos;
	tether_dce_ndr_reader_init(&r, b, end, TETHER_DCE_DREP_LE);
	r.pos = 1;
	assert_int_equal(tether_dce_ndr_get_string(&r, 16, &s, &len), 0);
	assert_string_equal(s, "135");
	assert_int_equal(len, 3);
	r.pos = 1;
	assert_tether_err(tether_dce_ndr_get_string(&r, 3, &s, &len),
			  TETHER_EMSGSIZE);
	assert_int_equal(r.pos, 1);
	/* no final NUL, a NUL inside, empty, non-zero offset */
	b[end - 1] = 'x';
	r.pos = 1;
	assert_tether_err(tether_dce_ndr_get_string(&r, 16, &s, &len),
			  TETHER_EBADMSG);
	b[end - 1] = 0;
	b[end - 3] = 0;
	r.pos = 1;
	assert_tether_err(tether_dce_ndr_get_string(&r, 16, &s, &len),
			  TETHER_EBADMSG);
	b[12] = 0; /* actual_count 0 */
	r.pos = 1;
	assert_tether_err(tether_dce_ndr_get_string(&r, 16, &s, &len),
			  TETHER_EBADMSG);
	b[12] = 4;
	b[8] = 1; /* offset 1 */
	r.pos = 1;
	assert_true(tether_dce_ndr_get_string(&r, 16, &s, &len) < 0);
	/* empty string: just the NUL */
	tether_dce_ndr_writer_init(&w, b, sizeof(b), TETHER_DCE_DREP_LE);
	assert_int_equal(tether_dce_ndr_put_string(&w, "", 0), 0);
	tether_dce_ndr_reader_init(&r, b, w.pos, TETHER_DCE_DREP_LE);
	assert_int_equal(tether_dce_ndr_get_string(&r, 1, &s, &len), 0);
	assert_int_equal(len, 0);
	/* writer errors leave no partial string */
	tether_dce_ndr_writer_init(&w, b, 14, TETHER_DCE_DREP_LE);
	assert_tether_err(tether_dce_ndr_put_string(&w, "abc", 3),
			  TETHER_ENOSPC);
	assert_int_equal(w.pos, 0);
	assert_tether_err(tether_dce_ndr_put_string(&w, NULL, 3),
			  TETHER_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers_and_alignment),
		cmocka_unit_test(test_writer_full),
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_ctx_handle_and_pointers),
		cmocka_unit_test(test_array_headers),
		cmocka_unit_test(test_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
