/*
 * test_dce_tower.c - protocol towers: the ncacn_ip_tcp tower of capture 01
 * built byte for byte, every tower Samba listed in capture 02 parsed
 * (TCP, named pipes, ncalrpc, HTTP), and every malformed form refused.
 */
#include "tether_test.h"
#include "dce_test_util.h"

/* lsarpc -> 127.0.0.1:49153, from protocol-notes.md section 6 / capture 01 */
static const uint8_t lsarpc_tower[75] = {
	0x05, 0x00, 0x13, 0x00, 0x0d, 0x78, 0x57, 0x34, 0x12, 0x34, 0x12,
	0xcd, 0xab, 0xef, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0x00,
	0x00, 0x02, 0x00, 0x00, 0x00, 0x13, 0x00, 0x0d, 0x04, 0x5d, 0x88,
	0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10,
	0x48, 0x60, 0x02, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0b,
	0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x07, 0x02, 0x00, 0xc0, 0x01,
	0x01, 0x00, 0x09, 0x04, 0x00, 0x7f, 0x00, 0x00, 0x01,
};

static void
test_build_and_parse_tcp(void **state)
{
	struct tether_dce_syntax lsa =
		syn("12345778-1234-abcd-ef00-0123456789ab", 0, 0);
	static const uint8_t lo[4] = { 127, 0, 0, 1 };
	struct tether_dce_tower t;
	struct tether_arena *a = tether_arena_new(0, 0);
	struct tether_dce_ndr_reader r;
	struct tether_dce_epm_map_resp resp;
	const uint8_t *stub;
	uint8_t b[100];
	size_t len, cap;

	(void)state;
	assert_int_equal(tether_dce_tower_build_tcp(&lsa, &tether_dce_ndr20,
						    49153, lo, b, sizeof(b),
						    &len),
			 0);
	assert_int_equal(len, TETHER_DCE_TOWER_TCP_LEN);
	assert_memory_equal(b, lsarpc_tower, len);
	for (cap = 0; cap < 75; cap++)
		assert_tether_err(
			tether_dce_tower_build_tcp(&lsa, &tether_dce_ndr20,
						   49153, lo, b, cap, &len),
			TETHER_ENOSPC);

	/* and it is the tower Samba returned in capture 01 */
	vec_stub(vec("c01-003"), &stub, &len);
	tether_dce_ndr_reader_init(&r, stub, len, TETHER_DCE_DREP_LE);
	assert_int_equal(tether_dce_epm_map_resp_decode(&r, a, &resp), 0);
	assert_int_equal(resp.towers[0].len, 75);
	assert_memory_equal(resp.towers[0].data, lsarpc_tower, 75);

	assert_int_equal(tether_dce_tower_parse(lsarpc_tower, 75, &t), 0);
	assert_int_equal(t.n_floors, 5);
	assert_int_equal(t.has, TETHER_DCE_TOWER_HAS_IFACE |
					TETHER_DCE_TOWER_HAS_XFER |
					TETHER_DCE_TOWER_HAS_NCACN |
					TETHER_DCE_TOWER_HAS_TCP |
					TETHER_DCE_TOWER_HAS_IP);
	assert_true(tether_dce_uuid_equal(&t.iface.uuid, &lsa.uuid));
	assert_int_equal(t.iface.vers_major, 0);
	assert_true(
		tether_dce_uuid_equal(&t.xfer.uuid, &tether_dce_ndr20.uuid));
	assert_int_equal(t.xfer.vers_major, 2);
	assert_int_equal(t.port, 49153);
	assert_memory_equal(t.ipv4, lo, 4);
	assert_int_equal(t.floors[3].protocol, TETHER_DCE_PROT_TCP);
	tether_arena_free(a);
}

/* Every tower of capture 02's 38-entry listing parses; count kinds. */
static void
test_parse_samba_listing(void **state)
{
	struct tether_dce_reasm rs;
	struct tether_dce_pdu p1, p2;
	struct tether_dce_ndr_reader r;
	struct tether_dce_epm_lookup_resp resp;
	struct tether_arena *a = tether_arena_new(0, 0);
	const uint8_t *stub;
	size_t len, i, tcp = 0, pipe = 0, lrpc = 0;

	(void)state;
	tether_dce_reasm_init(&rs, 65536);
	assert_int_equal(tether_dce_pdu_decode(vec("c02-003")->bytes,
					       vec("c02-003")->len, NULL, &p1),
			 0);
	assert_int_equal(tether_dce_pdu_decode(vec("c02-004")->bytes,
					       vec("c02-004")->len, NULL, &p2),
			 0);
	assert_int_equal(tether_dce_reasm_add(&rs, &p1, &stub, &len), 0);
	assert_int_equal(tether_dce_reasm_add(&rs, &p2, &stub, &len), 1);
	tether_dce_ndr_reader_init(&r, stub, len, TETHER_DCE_DREP_LE);
	assert_int_equal(tether_dce_epm_lookup_resp_decode(&r, a, &resp), 0);
	assert_int_equal(resp.num_ents, 38);
	for (i = 0; i < resp.num_ents; i++) {
		struct tether_dce_tower t;
		const struct tether_dce_epm_twr *tw = &resp.entries[i].tower;

		assert_true(resp.entries[i].has_tower);
		assert_int_equal(tether_dce_tower_parse(tw->data, tw->len, &t),
				 0);
		if (t.has & TETHER_DCE_TOWER_HAS_TCP) {
			assert_true(t.port == 135 || t.port >= 49152);
			assert_int_equal(t.floors[2].protocol,
					 TETHER_DCE_PROT_NCACN);
			tcp++;
		} else if (t.n_floors > 3 &&
			   t.floors[3].protocol == TETHER_DCE_PROT_NAMED_PIPE) {
			/* ncacn_np: \pipe\name on floor 4 */
			assert_int_equal(t.floors[3].rhs[0], '\\');
			assert_int_equal(
				t.floors[3].rhs[t.floors[3].rhs_len - 1], 0);
			pipe++;
		} else if (t.floors[2].protocol == TETHER_DCE_PROT_NCALRPC) {
			lrpc++;
		}
	}
	assert_true(tcp >= 7);
	assert_true(pipe > 0);
	assert_true(lrpc > 0);
	tether_dce_reasm_free(&rs);
	tether_arena_free(a);
}

static void
expect(const uint8_t *p, size_t len, int err)
{
	struct tether_dce_tower t;
	int rc = tether_dce_tower_parse(p, len, &t);

	if (rc != -err)
		fail_msg("got %s, want %s", tether_err_name(rc),
			 tether_err_name(-err));
}

static void
test_malformed(void **state)
{
	uint8_t b[TETHER_DCE_TOWER_MAX_LEN + 8];
	size_t i;

	(void)state;
	/* every truncation */
	for (i = 0; i < sizeof(lsarpc_tower); i++) {
		struct tether_dce_tower t;

		assert_true(tether_dce_tower_parse(lsarpc_tower, i, &t) < 0);
	}
	expect(lsarpc_tower, 1, TETHER_ETRUNC);
	/* trailing byte */
	memcpy(b, lsarpc_tower, 75);
	b[75] = 0;
	expect(b, 76, TETHER_EBADMSG);
	/* floor count: 0, too many, more than present, fewer than present */
	b[0] = 0;
	expect(b, 75, TETHER_EBADMSG);
	b[0] = TETHER_DCE_TOWER_MAX_FLOORS + 1;
	expect(b, 75, TETHER_EBADMSG);
	b[0] = 6;
	expect(b, 75, TETHER_ETRUNC);
	b[0] = 4;
	expect(b, 75, TETHER_EBADMSG);
	b[0] = 1;
	expect(b, 27, TETHER_EBADMSG); /* only an interface floor */
	b[0] = 5;
	/* lhs_len 0, lhs past the end, rhs past the end */
	memcpy(b, lsarpc_tower, 75);
	b[2] = 0;
	expect(b, 75, TETHER_EBADMSG);
	b[2] = 0xff;
	expect(b, 75, TETHER_ETRUNC);
	memcpy(b, lsarpc_tower, 75);
	b[69] = 5; /* IP rhs_len */
	expect(b, 75, TETHER_ETRUNC);
	/* wrong sizes for known floors */
	memcpy(b, lsarpc_tower, 75);
	b[61] = 3; /* TCP rhs_len 3 */
	b[69] = 3;
	expect(b, 75, TETHER_EBADMSG);
	memcpy(b, lsarpc_tower, 75);
	b[2] = 0x12; /* UUID floor lhs 18 */
	b[22] = 0x02;
	expect(b, 75, TETHER_ETRUNC);
	/* first floor not a UUID floor */
	memcpy(b, lsarpc_tower, 75);
	b[4] = TETHER_DCE_PROT_TCP;
	expect(b, 75, TETHER_EBADMSG);
	/* a duplicate TCP floor, a third UUID floor */
	memcpy(b, lsarpc_tower, 75);
	b[68] = TETHER_DCE_PROT_TCP; /* IP floor claims TCP with 4 bytes */
	expect(b, 75, TETHER_EBADMSG);
	memcpy(b, lsarpc_tower, 75);
	b[54] = TETHER_DCE_PROT_UUID;
	expect(b, 75, TETHER_EBADMSG);
	/* an unknown protocol is kept and skipped */
	memcpy(b, lsarpc_tower, 75);
	b[54] = 0x42;
	{
		struct tether_dce_tower t;

		assert_int_equal(tether_dce_tower_parse(b, 75, &t), 0);
		assert_false(t.has & TETHER_DCE_TOWER_HAS_NCACN);
		assert_int_equal(t.floors[2].protocol, 0x42);
		assert_int_equal(t.port, 49153);
	}
	/* too long */
	memset(b, 0, sizeof(b));
	expect(b, TETHER_DCE_TOWER_MAX_LEN + 1, TETHER_EMSGSIZE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_and_parse_tcp),
		cmocka_unit_test(test_parse_samba_listing),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
