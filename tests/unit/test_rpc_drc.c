/*
 * test_rpc_drc.c - the duplicate request cache: verdicts, every key
 * field, LRU eviction by entries and by bytes, entries in progress
 * never evicted, abort, oversize replies, allocation failures.
 */
#include "tether_test.h"

#include <string.h>

#include "tether/rpc.h"

static struct tether_rpc_drc_key
key(uint32_t xid)
{
	struct tether_rpc_drc_key k;

	memset(&k, 0, sizeof(k));
	k.xid = xid;
	k.prog = 100003;
	k.vers = 3;
	k.proc = 7;
	assert_int_equal(tether_addr_parse(&k.addr, "192.0.2.1:900", -1), 0);
	k.cksum = 0x1234;
	return k;
}

/* Insert k and complete it with reply r. */
static void
put(struct tether_rpc_drc *d, const struct tether_rpc_drc_key *k, const char *r)
{
	struct tether_rpc_drc_entry *e;
	const unsigned char *rep;
	size_t len;

	assert_int_equal(tether_rpc_drc_lookup(d, k, &e, &rep, &len),
			 TETHER_RPC_DRC_NEW);
	assert_non_null(e);
	assert_int_equal(tether_rpc_drc_complete(d, e, r, strlen(r)), 0);
}

static int
verdict(struct tether_rpc_drc *d, const struct tether_rpc_drc_key *k,
	const char *expect_reply)
{
	struct tether_rpc_drc_entry *e;
	const unsigned char *rep;
	size_t len;
	int v = tether_rpc_drc_lookup(d, k, &e, &rep, &len);

	if (v == TETHER_RPC_DRC_REPLAY && expect_reply != NULL) {
		assert_int_equal(len, strlen(expect_reply));
		assert_memory_equal(rep, expect_reply, len);
	}
	if (v == TETHER_RPC_DRC_NEW)
		tether_rpc_drc_abort(d, e);
	return v;
}

static void
test_verdicts(void **state)
{
	struct tether_rpc_drc *d;
	struct tether_rpc_drc_entry *e;
	struct tether_rpc_drc_key k = key(1);
	struct tether_rpc_drc_stats st;
	const unsigned char *rep;
	size_t len;

	(void)state;
	assert_int_equal(tether_rpc_drc_new(&d, 0, 0), 0);
	assert_int_equal(tether_rpc_drc_lookup(d, &k, &e, &rep, &len),
			 TETHER_RPC_DRC_NEW);
	assert_int_equal(verdict(d, &k, NULL), TETHER_RPC_DRC_IN_PROGRESS);
	assert_int_equal(tether_rpc_drc_complete(d, e, "reply-1", 7), 0);
	assert_int_equal(verdict(d, &k, "reply-1"), TETHER_RPC_DRC_REPLAY);
	assert_int_equal(verdict(d, &k, "reply-1"), TETHER_RPC_DRC_REPLAY);
	tether_rpc_drc_get_stats(d, &st);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.in_progress, 0);
	assert_int_equal(st.hits_in_progress, 1);
	assert_int_equal(st.hits_replayed, 2);
	/* An aborted entry is forgotten. */
	k.xid = 2;
	assert_int_equal(tether_rpc_drc_lookup(d, &k, &e, &rep, &len),
			 TETHER_RPC_DRC_NEW);
	tether_rpc_drc_abort(d, e);
	assert_int_equal(verdict(d, &k, NULL), TETHER_RPC_DRC_NEW);
	/* An empty reply is a reply. */
	put(d, &k, "");
	assert_int_equal(verdict(d, &k, ""), TETHER_RPC_DRC_REPLAY);
	assert_string_equal(tether_rpc_drc_verdict_name(TETHER_RPC_DRC_NEW),
			    "NEW");
	assert_string_equal(tether_rpc_drc_verdict_name(2), "REPLAY");
	assert_string_equal(tether_rpc_drc_verdict_name(-1), "UNKNOWN");
	assert_string_equal(tether_rpc_drc_verdict_name(3), "UNKNOWN");
	tether_rpc_drc_free(d);
}

static void
test_every_key_field(void **state)
{
	struct tether_rpc_drc *d;
	struct tether_rpc_drc_key k = key(1), o;

	(void)state;
	assert_int_equal(tether_rpc_drc_new(&d, 64, 0), 0);
	put(d, &k, "r");
	o = k;
	o.xid++;
	assert_int_equal(verdict(d, &o, NULL), TETHER_RPC_DRC_NEW);
	o = k;
	o.prog++;
	assert_int_equal(verdict(d, &o, NULL), TETHER_RPC_DRC_NEW);
	o = k;
	o.vers++;
	assert_int_equal(verdict(d, &o, NULL), TETHER_RPC_DRC_NEW);
	o = k;
	o.proc++;
	assert_int_equal(verdict(d, &o, NULL), TETHER_RPC_DRC_NEW);
	o = k;
	o.cksum ^= 1;
	assert_int_equal(verdict(d, &o, NULL), TETHER_RPC_DRC_NEW);
	o = k;
	assert_int_equal(tether_addr_parse(&o.addr, "192.0.2.1:901", -1), 0);
	assert_int_equal(verdict(d, &o, NULL), TETHER_RPC_DRC_NEW);
	o = k;
	assert_int_equal(tether_addr_parse(&o.addr, "192.0.2.2:900", -1), 0);
	assert_int_equal(verdict(d, &o, NULL), TETHER_RPC_DRC_NEW);
	o = k;
	memset(&o.addr, 0, sizeof(o.addr));
	assert_int_equal(verdict(d, &o, NULL), TETHER_RPC_DRC_NEW);
	/* The same key built again, padding bytes aside, matches. */
	o = key(1);
	assert_int_equal(verdict(d, &o, "r"), TETHER_RPC_DRC_REPLAY);
	/* Checksums depend on the bytes. */
	assert_true(tether_rpc_drc_checksum(d, "abcd", 4) !=
		    tether_rpc_drc_checksum(d, "abce", 4));
	assert_true(tether_rpc_drc_checksum(d, "abcd", 4) ==
		    tether_rpc_drc_checksum(d, "abcd", 4));
	assert_true(tether_rpc_drc_checksum(d, "abcd", 0) ==
		    tether_rpc_drc_checksum(d, NULL, 0));
	tether_rpc_drc_free(d);
}

static void
test_lru_by_entries(void **state)
{
	struct tether_rpc_drc *d;
	struct tether_rpc_drc_key k[6];
	struct tether_rpc_drc_stats st;
	int i;

	(void)state;
	assert_int_equal(tether_rpc_drc_new(&d, 4, 0), 0);
	for (i = 0; i < 6; i++)
		k[i] = key((uint32_t)(100 + i));
	for (i = 0; i < 4; i++)
		put(d, &k[i], "x");
	/* Touch 0: 1 is now the oldest. */
	assert_int_equal(verdict(d, &k[0], "x"), TETHER_RPC_DRC_REPLAY);
	put(d, &k[4], "y");
	assert_int_equal(verdict(d, &k[0], "x"), TETHER_RPC_DRC_REPLAY);
	assert_int_equal(verdict(d, &k[2], "x"), TETHER_RPC_DRC_REPLAY);
	assert_int_equal(verdict(d, &k[3], "x"), TETHER_RPC_DRC_REPLAY);
	assert_int_equal(verdict(d, &k[4], "y"), TETHER_RPC_DRC_REPLAY);
	tether_rpc_drc_get_stats(d, &st);
	assert_int_equal(st.entries, 4);
	assert_int_equal(st.evictions, 1);
	/* 1 was evicted: it is new again (and evicts 0, the oldest now). */
	assert_int_equal(verdict(d, &k[1], NULL), TETHER_RPC_DRC_NEW);
	tether_rpc_drc_get_stats(d, &st);
	assert_int_equal(st.evictions, 2);
	tether_rpc_drc_free(d);
}

static void
test_in_progress_not_evicted(void **state)
{
	struct tether_rpc_drc *d;
	struct tether_rpc_drc_entry *e[3];
	struct tether_rpc_drc_key k;
	struct tether_rpc_drc_stats st;
	const unsigned char *rep;
	size_t len;
	int i;

	(void)state;
	assert_int_equal(tether_rpc_drc_new(&d, 2, 0), 0);
	for (i = 0; i < 2; i++) {
		k = key((uint32_t)i);
		assert_int_equal(
			tether_rpc_drc_lookup(d, &k, &e[i], &rep, &len),
			TETHER_RPC_DRC_NEW);
	}
	k = key(9);
	assert_tether_err(tether_rpc_drc_lookup(d, &k, &e[2], &rep, &len),
			  TETHER_ENOSPC);
	assert_null(e[2]);
	tether_rpc_drc_get_stats(d, &st);
	assert_int_equal(st.uncached, 1);
	assert_int_equal(st.in_progress, 2);
	/* Both still known. */
	k = key(0);
	assert_int_equal(verdict(d, &k, NULL), TETHER_RPC_DRC_IN_PROGRESS);
	/* Completing one makes it evictable. */
	assert_int_equal(tether_rpc_drc_complete(d, e[0], "a", 1), 0);
	k = key(9);
	assert_int_equal(verdict(d, &k, NULL), TETHER_RPC_DRC_NEW);
	k = key(0);
	assert_int_equal(verdict(d, &k, NULL), TETHER_RPC_DRC_NEW);
	k = key(1);
	assert_int_equal(verdict(d, &k, NULL), TETHER_RPC_DRC_IN_PROGRESS);
	tether_rpc_drc_abort(d, e[1]);
	tether_rpc_drc_get_stats(d, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
	tether_rpc_drc_free(d);
}

static void
test_lru_by_bytes(void **state)
{
	struct tether_rpc_drc *d;
	struct tether_rpc_drc_entry *e;
	struct tether_rpc_drc_key k;
	struct tether_rpc_drc_stats st;
	const unsigned char *rep;
	size_t len;
	char big[1000];
	int i;

	(void)state;
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	/* Room for about three 999-byte replies with entry overhead. */
	assert_int_equal(tether_rpc_drc_new(&d, 100, 3500), 0);
	for (i = 0; i < 10; i++) {
		k = key((uint32_t)i);
		put(d, &k, big);
		tether_rpc_drc_get_stats(d, &st);
		assert_true(st.bytes <= 3500);
	}
	assert_true(st.entries >= 2 && st.entries <= 3);
	k = key(9);
	assert_int_equal(verdict(d, &k, big), TETHER_RPC_DRC_REPLAY);
	k = key(0);
	assert_int_equal(verdict(d, &k, NULL), TETHER_RPC_DRC_NEW);
	/* A reply over the whole budget is not kept, and its entry goes. */
	{
		static char huge[4000];

		memset(huge, 'h', sizeof(huge));
		k = key(50);
		assert_int_equal(tether_rpc_drc_lookup(d, &k, &e, &rep, &len),
				 TETHER_RPC_DRC_NEW);
		assert_tether_err(
			tether_rpc_drc_complete(d, e, huge, sizeof(huge)),
			TETHER_EMSGSIZE);
		assert_int_equal(verdict(d, &k, NULL), TETHER_RPC_DRC_NEW);
	}
	tether_rpc_drc_get_stats(d, &st);
	assert_int_equal(st.in_progress, 0);
	tether_rpc_drc_free(d);
}

static void
test_alloc_failures(void **state)
{
	struct tether_rpc_drc *d = NULL;
	struct tether_rpc_drc_entry *e;
	struct tether_rpc_drc_key k = key(1);
	const unsigned char *rep;
	size_t len;
	unsigned long i;
	int rc;

	(void)state;
	for (i = 1; i < 10; i++) {
		tether_alloc_fail_at(i, 0);
		rc = tether_rpc_drc_new(&d, 8, 0);
		tether_alloc_fail_at(0, 0);
		if (rc == 0)
			break;
		assert_tether_err(rc, TETHER_ENOMEM);
		assert_null(d);
	}
	assert_non_null(d);
	tether_alloc_fail_at(1, 0);
	assert_tether_err(tether_rpc_drc_lookup(d, &k, &e, &rep, &len),
			  TETHER_ENOMEM);
	tether_alloc_fail_at(0, 0);
	assert_int_equal(tether_rpc_drc_lookup(d, &k, &e, &rep, &len),
			 TETHER_RPC_DRC_NEW);
	tether_alloc_fail_at(1, 0);
	assert_tether_err(tether_rpc_drc_complete(d, e, "zz", 2),
			  TETHER_ENOMEM);
	tether_alloc_fail_at(0, 0);
	/* The entry went: the call can run again. */
	assert_int_equal(verdict(d, &k, NULL), TETHER_RPC_DRC_NEW);
	tether_rpc_drc_free(d);
	tether_rpc_drc_free(NULL);
	assert_tether_err(tether_rpc_drc_new(&d, 1u << 25, 0), TETHER_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_every_key_field),
		cmocka_unit_test(test_lru_by_entries),
		cmocka_unit_test(test_in_progress_not_evicted),
		cmocka_unit_test(test_lru_by_bytes),
		cmocka_unit_test(test_alloc_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
