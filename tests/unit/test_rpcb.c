/*
 * test_rpcb.c - the portmap/rpcbind codecs: exact bytes of each type,
 * round trips, truncation at every byte, the string and opaque bounds
 * checked before anything is reserved (rpcbomb), netbuf's len/maxlen
 * rule, the procedure tables, and arena exhaustion.
 */
#include "tether_test.h"

#include <string.h>

#include "tether/rpcb.h"

static struct tether_arena *arena;

static int
setup(void **state)
{
	(void)state;
	arena = tether_arena_new(0, 1u << 20);
	return arena == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	tether_arena_free(arena);
	return 0;
}

static size_t
enc(tether_xdr_fn *fn, void *obj, unsigned char *buf, size_t size)
{
	struct tether_xdr x;
	size_t sz = 0;

	tether_xdr_init_encode(&x, buf, size);
	assert_int_equal(fn(&x, obj), 0);
	assert_int_equal(tether_xdr_sizeof(fn, obj, &sz), 0);
	assert_int_equal(sz, tether_xdr_getpos(&x));
	return tether_xdr_getpos(&x);
}

static int
dec(tether_xdr_fn *fn, void *obj, const unsigned char *buf, size_t n,
    size_t *used)
{
	struct tether_xdr x;
	int rc;

	tether_xdr_init_decode(&x, buf, n, 0, arena);
	rc = fn(&x, obj);
	if (used)
		*used = tether_xdr_getpos(&x);
	return rc;
}

/* Every strict prefix of a valid encoding must fail with ETRUNC. */
static void
assert_truncations(tether_xdr_fn *fn, size_t objsize, const unsigned char *b,
		   size_t n)
{
	unsigned char obj[512];
	size_t i;

	assert_true(objsize <= sizeof(obj));
	for (i = 0; i < n; i++) {
		memset(obj, 0, sizeof(obj));
		assert_tether_err(dec(fn, obj, b, i, NULL), TETHER_ETRUNC);
	}
}

static const unsigned char mapping_bytes[] = {
	0x00, 0x01, 0x86, 0xa3, 0x00, 0x00, 0x00, 0x03,
	0x00, 0x00, 0x00, 0x11, 0x00, 0x00, 0x08, 0x01,
};

static void
test_pmap_mapping(void **state)
{
	struct tether_pmap_mapping m = { 100003, 3, 17, 2049 }, d;
	unsigned char buf[64];
	size_t n, used;

	(void)state;
	n = enc(tether_pmap_codec_mapping, &m, buf, sizeof(buf));
	assert_int_equal(n, sizeof(mapping_bytes));
	assert_memory_equal(buf, mapping_bytes, n);
	memset(&d, 0, sizeof(d));
	assert_int_equal(dec(tether_pmap_codec_mapping, &d, buf, n, &used), 0);
	assert_int_equal(used, n);
	assert_memory_equal(&d, &m, sizeof(m));
	assert_truncations(tether_pmap_codec_mapping, sizeof(d), buf, n);
	/* No room to encode. */
	{
		struct tether_xdr x;

		tether_xdr_init_encode(&x, buf, 12);
		assert_tether_err(tether_pmap_codec_mapping(&x, &m),
				  TETHER_ENOSPC);
	}
}

static void
test_pmap_list(void **state)
{
	struct tether_pmap_list c = { { 100000, 2, 17, 111 }, NULL };
	struct tether_pmap_list b = { { 100000, 2, 6, 111 }, &c };
	struct tether_pmap_list *head = &b, *d = NULL, *empty = NULL;
	static const unsigned char want[] = {
		0, 0, 0, 1, 0,	 1,  0x86, 0xa0, 0, 0,	 0, 2,	  0,	0, 0,
		6, 0, 0, 0, 111, 0,  0,	   0,	 1, 0,	 1, 0x86, 0xa0, 0, 0,
		0, 2, 0, 0, 0,	 17, 0,	   0,	 0, 111, 0, 0,	  0,	0,
	};
	unsigned char buf[128];
	size_t n;

	(void)state;
	n = enc(tether_pmap_codec_list, &head, buf, sizeof(buf));
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(buf, want, n);
	assert_int_equal(dec(tether_pmap_codec_list, &d, buf, n, NULL), 0);
	assert_non_null(d);
	assert_memory_equal(&d->map, &b.map, sizeof(b.map));
	assert_non_null(d->next);
	assert_memory_equal(&d->next->map, &c.map, sizeof(c.map));
	assert_null(d->next->next);
	assert_truncations(tether_pmap_codec_list, sizeof(d), buf, n);

	n = enc(tether_pmap_codec_list, &empty, buf, sizeof(buf));
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "\0\0\0\0", 4);
	/* A bool other than 0/1 is refused. */
	buf[3] = 2;
	assert_tether_err(dec(tether_pmap_codec_list, &d, buf, 4, NULL),
			  TETHER_EBADMSG);
}

static void
test_rpcb(void **state)
{
	struct tether_rpcb r = { 100000, 4, "tcp6", "::.0.111", "superuser" };
	struct tether_rpcb d;
	static const unsigned char want[] = {
		0,   1,	  0x86, 0xa0, 0,   0,	0,   4,	  0, 0,	  0,
		4,   't', 'c',	'p',  '6', 0,	0,   0,	  8, ':', ':',
		'.', '0', '.',	'1',  '1', '1', 0,   0,	  0, 9,	  's',
		'u', 'p', 'e',	'r',  'u', 's', 'e', 'r', 0, 0,	  0,
	};
	unsigned char buf[128];
	size_t n;

	(void)state;
	n = enc(tether_rpcb_codec_rpcb, &r, buf, sizeof(buf));
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(buf, want, n);
	memset(&d, 0, sizeof(d));
	assert_int_equal(dec(tether_rpcb_codec_rpcb, &d, buf, n, NULL), 0);
	assert_int_equal(d.prog, 100000);
	assert_int_equal(d.vers, 4);
	assert_string_equal(d.netid, "tcp6");
	assert_string_equal(d.addr, "::.0.111");
	assert_string_equal(d.owner, "superuser");
	assert_truncations(tether_rpcb_codec_rpcb, sizeof(d), buf, n);

	/* Non-zero padding (strict), NUL inside a string. */
	buf[n - 1] = 1;
	assert_tether_err(dec(tether_rpcb_codec_rpcb, &d, buf, n, NULL),
			  TETHER_EBADMSG);
	buf[n - 1] = 0;
	buf[13] = 0;
	assert_tether_err(dec(tether_rpcb_codec_rpcb, &d, buf, n, NULL),
			  TETHER_EBADMSG);

	/* Encoding a NULL string is the caller's bug. */
	r.owner = NULL;
	{
		struct tether_xdr x;

		tether_xdr_init_encode(&x, buf, sizeof(buf));
		assert_tether_err(tether_rpcb_codec_rpcb(&x, &r),
				  TETHER_EINVAL);
	}
}

/* The rpcbomb: a small message announcing a huge string or opaque. */
static void
test_rpcbomb(void **state)
{
	unsigned char buf[64];
	struct tether_rpcb r;
	struct tether_rpcb_rmtcallargs a;
	struct tether_rpcb_netbuf nb;
	size_t before;

	(void)state;
	memset(buf, 0, sizeof(buf));
	/* prog, vers, then netid length 0xfffffff0. */
	buf[8] = 0xff;
	buf[9] = 0xff;
	buf[10] = 0xff;
	buf[11] = 0xf0;
	before = tether_arena_held(arena);
	memset(&r, 0, sizeof(r));
	assert_tether_err(dec(tether_rpcb_codec_rpcb, &r, buf, 32, NULL),
			  TETHER_EOVERFLOW);
	/* Just above our bound, with the bytes present, still refused. */
	{
		static unsigned char big[16 + TETHER_RPCB_MAX_STR + 8];

		memset(big, 'a', sizeof(big));
		tether_xdr_store32(big, 1);
		tether_xdr_store32(big + 4, 1);
		tether_xdr_store32(big + 8, TETHER_RPCB_MAX_STR + 1);
		assert_tether_err(
			dec(tether_rpcb_codec_rpcb, &r, big, sizeof(big), NULL),
			TETHER_EOVERFLOW);
		/* At the bound exactly, accepted as far as the string. */
		tether_xdr_store32(big + 8, TETHER_RPCB_MAX_STR);
		tether_xdr_store32(big + 12 + TETHER_RPCB_MAX_STR, 100);
		assert_tether_err(
			dec(tether_rpcb_codec_rpcb, &r, big, sizeof(big), NULL),
			TETHER_ETRUNC);
	}
	/* rmtcallargs: opaque args of 0x7fffffff bytes. */
	memset(buf, 0, sizeof(buf));
	buf[12] = 0x7f;
	buf[13] = 0xff;
	buf[14] = 0xff;
	buf[15] = 0xff;
	assert_tether_err(dec(tether_rpcb_codec_rmtcallargs, &a, buf, 32, NULL),
			  TETHER_EOVERFLOW);
	assert_tether_err(dec(tether_pmap_codec_call_args, &a, buf, 32, NULL),
			  TETHER_EOVERFLOW);
	/* netbuf: maxlen and len huge. */
	memset(buf, 0xff, 8);
	assert_tether_err(dec(tether_rpcb_codec_netbuf, &nb, buf, 32, NULL),
			  TETHER_EOVERFLOW);
	/* An announced length within the bound but past the data. */
	tether_xdr_store32(buf, 100);
	tether_xdr_store32(buf + 4, 100);
	assert_tether_err(dec(tether_rpcb_codec_netbuf, &nb, buf, 32, NULL),
			  TETHER_ETRUNC);
	/* Nothing of all that made the arena grow. */
	assert_true(tether_arena_held(arena) <= before + 64 * 1024);
}

static void
test_netbuf(void **state)
{
	uint8_t addr[16] = { 2, 0, 0, 111, 127, 0, 0, 1 };
	struct tether_rpcb_netbuf nb = { 16, addr, 16 }, d;
	unsigned char buf[64];
	size_t n;

	(void)state;
	n = enc(tether_rpcb_codec_netbuf, &nb, buf, sizeof(buf));
	assert_int_equal(n, 24);
	assert_int_equal(tether_xdr_load32(buf), 16);
	assert_int_equal(tether_xdr_load32(buf + 4), 16);
	assert_memory_equal(buf + 8, addr, 16);
	assert_int_equal(dec(tether_rpcb_codec_netbuf, &d, buf, n, NULL), 0);
	assert_int_equal(d.maxlen, 16);
	assert_int_equal(d.len, 16);
	assert_memory_equal(d.buf, addr, 16);
	assert_truncations(tether_rpcb_codec_netbuf, sizeof(d), buf, n);
	/* len > maxlen: refused both ways. */
	tether_xdr_store32(buf, 15);
	assert_tether_err(dec(tether_rpcb_codec_netbuf, &d, buf, n, NULL),
			  TETHER_EBADMSG);
	nb.maxlen = 4;
	{
		struct tether_xdr x;

		tether_xdr_init_encode(&x, buf, sizeof(buf));
		assert_tether_err(tether_rpcb_codec_netbuf(&x, &nb),
				  TETHER_EINVAL);
	}
	/* maxlen above libtirpc's 9000, even with a short len. */
	tether_xdr_store32(buf, TETHER_RPCB_NETBUF_MAXLEN + 1);
	assert_tether_err(dec(tether_rpcb_codec_netbuf, &d, buf, n, NULL),
			  TETHER_EOVERFLOW);
	tether_xdr_store32(buf, TETHER_RPCB_NETBUF_MAXLEN);
	assert_int_equal(dec(tether_rpcb_codec_netbuf, &d, buf, n, NULL), 0);
	/* The empty netbuf rpcbind answers for an unknown address. */
	nb.maxlen = 0;
	nb.len = 0;
	nb.buf = NULL;
	n = enc(tether_rpcb_codec_netbuf, &nb, buf, sizeof(buf));
	assert_int_equal(n, 8);
	assert_memory_equal(buf, "\0\0\0\0\0\0\0\0", 8);
}

static void
test_entry_list(void **state)
{
	struct tether_rpcb_entry_list e2 = {
		{ "::1.8.1", "udp6", TETHER_RPCB_NC_TPI_CLTS, "inet6", "udp" },
		NULL
	};
	struct tether_rpcb_entry_list e1 = { { "127.0.0.1.8.1", "tcp",
					       TETHER_RPCB_NC_TPI_COTS_ORD,
					       "inet", "tcp" },
					     &e2 };
	struct tether_rpcb_entry_list *head = &e1, *d = NULL;
	unsigned char buf[256];
	size_t n;

	(void)state;
	n = enc(tether_rpcb_codec_entry_list, &head, buf, sizeof(buf));
	/* bool, maddr(4+16), netid(4+4), sem, fmly(4+4), proto(4+4) ... */
	assert_int_equal(n,
			 4 + 20 + 8 + 4 + 8 + 8 + 4 + 12 + 8 + 4 + 12 + 8 + 4);
	assert_int_equal(tether_xdr_load32(buf), 1);
	assert_int_equal(tether_xdr_load32(buf + 4), 13);
	assert_memory_equal(buf + 8, "127.0.0.1.8.1\0\0\0", 16);
	assert_int_equal(dec(tether_rpcb_codec_entry_list, &d, buf, n, NULL),
			 0);
	assert_non_null(d);
	assert_string_equal(d->entry.maddr, "127.0.0.1.8.1");
	assert_string_equal(d->entry.protofmly, "inet");
	assert_int_equal(d->entry.semantics, 3);
	assert_non_null(d->next);
	assert_string_equal(d->next->entry.netid, "udp6");
	assert_null(d->next->next);
	assert_truncations(tether_rpcb_codec_entry_list, sizeof(d), buf, n);
}

static void
test_rpcb_list(void **state)
{
	struct tether_rpcb_list l2 = {
		{ 100000, 2, "udp", "0.0.0.0.0.111", "superuser" }, NULL
	};
	struct tether_rpcb_list l1 = {
		{ 100000, 4, "local", "/run/rpcbind.sock", "superuser" }, &l2
	};
	struct tether_rpcb_list *head = &l1, *d = NULL;
	unsigned char buf[256], buf2[256];
	size_t n;

	(void)state;
	n = enc(tether_rpcb_codec_list, &head, buf, sizeof(buf));
	assert_int_equal(dec(tether_rpcb_codec_list, &d, buf, n, NULL), 0);
	assert_string_equal(d->rpcb.addr, "/run/rpcbind.sock");
	assert_string_equal(d->next->rpcb.netid, "udp");
	assert_null(d->next->next);
	assert_int_equal(enc(tether_rpcb_codec_list, &d, buf2, sizeof(buf2)),
			 n);
	assert_memory_equal(buf, buf2, n);
	assert_truncations(tether_rpcb_codec_list, sizeof(d), buf, n);
}

static void
test_stat_byvers(void **state)
{
	struct tether_rpcb_stat_addr ad = { 100003, 3, 5, 1, "tcp", NULL };
	struct tether_rpcb_stat_rmtcall rc = { 100005, 1, 2,	 0,
					       3,      1, "udp", NULL };
	struct tether_rpcb_stat_byvers s, d;
	unsigned char buf[1024], buf2[1024];
	size_t n;
	int i;

	(void)state;
	memset(&s, 0, sizeof(s));
	for (i = 0; i < 13; i++)
		s.vers[1].info[i] = i * 3 - 1;
	s.vers[1].setinfo = 7;
	s.vers[2].unsetinfo = 2;
	s.vers[2].addrinfo = &ad;
	s.vers[0].rmtinfo = &rc;
	n = enc(tether_rpcb_codec_stat_byvers, &s, buf, sizeof(buf));
	/* Three stats of 13 + 2 + 2 words, one addr and one rmtcall row. */
	assert_int_equal(n, 3 * 17 * 4 + (4 + 4 * 4 + 8) + (4 + 6 * 4 + 8));
	/* vers[0]: 17 words, no addrinfo, one rmtcall row (prog at 68). */
	assert_int_equal(tether_xdr_load32(buf + 68), 100005);
	assert_int_equal(tether_xdr_load32(buf + 104), 0xffffffffu);
	memset(&d, 0, sizeof(d));
	assert_int_equal(dec(tether_rpcb_codec_stat_byvers, &d, buf, n, NULL),
			 0);
	assert_int_equal(d.vers[1].info[0], -1);
	assert_int_equal(d.vers[1].info[12], 35);
	assert_int_equal(d.vers[1].setinfo, 7);
	assert_int_equal(d.vers[2].unsetinfo, 2);
	assert_string_equal(d.vers[2].addrinfo->netid, "tcp");
	assert_int_equal(d.vers[2].addrinfo->success, 5);
	assert_int_equal(d.vers[0].rmtinfo->indirect, 1);
	assert_null(d.vers[1].addrinfo);
	assert_int_equal(
		enc(tether_rpcb_codec_stat_byvers, &d, buf2, sizeof(buf2)), n);
	assert_memory_equal(buf, buf2, n);
}

static void
test_rmtcall(void **state)
{
	uint8_t args[5] = { 1, 2, 3, 4, 5 };
	struct tether_rpcb_rmtcallargs a = { 100003, 3, 0, args, 5 }, da;
	struct tether_rpcb_rmtcallres r = { "127.0.0.1.8.1", args, 3 }, dr;
	struct tether_pmap_call_result pr = { 2049, args, 0 }, dpr;
	unsigned char buf[128];
	size_t n;

	(void)state;
	n = enc(tether_rpcb_codec_rmtcallargs, &a, buf, sizeof(buf));
	assert_int_equal(n, 12 + 4 + 8);
	assert_memory_equal(buf + 16, "\1\2\3\4\5\0\0\0", 8);
	assert_int_equal(dec(tether_rpcb_codec_rmtcallargs, &da, buf, n, NULL),
			 0);
	assert_int_equal(da.args_len, 5);
	assert_memory_equal(da.args, args, 5);
	/* pmap's call_args have the same layout. */
	assert_int_equal(dec(tether_pmap_codec_call_args, &da, buf, n, NULL),
			 0);
	assert_truncations(tether_rpcb_codec_rmtcallargs, sizeof(da), buf, n);

	n = enc(tether_rpcb_codec_rmtcallres, &r, buf, sizeof(buf));
	assert_int_equal(n, 4 + 16 + 4 + 4);
	assert_int_equal(dec(tether_rpcb_codec_rmtcallres, &dr, buf, n, NULL),
			 0);
	assert_string_equal(dr.addr, "127.0.0.1.8.1");
	assert_int_equal(dr.results_len, 3);

	n = enc(tether_pmap_codec_call_result, &pr, buf, sizeof(buf));
	assert_int_equal(n, 8);
	assert_int_equal(dec(tether_pmap_codec_call_result, &dpr, buf, n, NULL),
			 0);
	assert_int_equal(dpr.port, 2049);
	assert_int_equal(dpr.res_len, 0);
}

static void
test_proc_tables(void **state)
{
	size_t sz = 99;

	(void)state;
	assert_ptr_equal(tether_rpcb_args_codec(2, 3, &sz),
			 tether_pmap_codec_mapping);
	assert_int_equal(sz, sizeof(struct tether_pmap_mapping));
	assert_ptr_equal(tether_rpcb_res_codec(2, 3, &sz),
			 tether_xdr_codec_u32);
	assert_ptr_equal(tether_rpcb_res_codec(2, 4, &sz),
			 tether_pmap_codec_list);
	assert_null(tether_rpcb_args_codec(2, 6, &sz));
	assert_int_equal(sz, 0);
	assert_ptr_equal(tether_rpcb_args_codec(3, 8, NULL),
			 tether_rpcb_codec_netbuf);
	/* GETVERSADDR and later exist in version 4 only. */
	assert_null(tether_rpcb_args_codec(3, 9, NULL));
	assert_ptr_equal(tether_rpcb_res_codec(4, 12, &sz),
			 tether_rpcb_codec_stat_byvers);
	assert_int_equal(sz, sizeof(struct tether_rpcb_stat_byvers));
	assert_null(tether_rpcb_res_codec(4, 13, NULL));
	assert_null(tether_rpcb_res_codec(5, 0, NULL));
	assert_null(tether_rpcb_res_codec(1, 0, NULL));
	assert_string_equal(tether_rpcb_proc_name(2, 5), "CALLIT");
	assert_string_equal(tether_rpcb_proc_name(3, 5), "CALLIT");
	assert_string_equal(tether_rpcb_proc_name(4, 5), "BCAST");
	assert_string_equal(tether_rpcb_proc_name(4, 11), "GETADDRLIST");
	assert_string_equal(tether_rpcb_proc_name(3, 11), "UNKNOWN");
	assert_string_equal(tether_rpcb_proc_name(7, 0), "UNKNOWN");
}

/* A decode that runs out of arena fails cleanly with ENOMEM. */
static void
test_arena_exhausted(void **state)
{
	struct tether_arena *small = tether_arena_new(64, 64);
	struct tether_pmap_list *d = NULL;
	unsigned char buf[24 * 40 + 4];
	struct tether_xdr x;
	size_t i;

	(void)state;
	assert_non_null(small);
	for (i = 0; i < 40; i++) {
		tether_xdr_store32(buf + i * 20, 1);
		memcpy(buf + i * 20 + 4, mapping_bytes, 16);
	}
	tether_xdr_store32(buf + 40 * 20, 0);
	tether_xdr_init_decode(&x, buf, 40 * 20 + 4, 0, small);
	assert_tether_err(tether_pmap_codec_list(&x, &d), TETHER_ENOMEM);
	/* Without an arena at all: EINVAL. */
	tether_xdr_init_decode(&x, buf, 40 * 20 + 4, 0, NULL);
	assert_tether_err(tether_pmap_codec_list(&x, &d), TETHER_EINVAL);
	tether_arena_free(small);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pmap_mapping),
		cmocka_unit_test(test_pmap_list),
		cmocka_unit_test(test_rpcb),
		cmocka_unit_test(test_rpcbomb),
		cmocka_unit_test(test_netbuf),
		cmocka_unit_test(test_entry_list),
		cmocka_unit_test(test_rpcb_list),
		cmocka_unit_test(test_stat_byvers),
		cmocka_unit_test(test_rmtcall),
		cmocka_unit_test(test_proc_tables),
		cmocka_unit_test(test_arena_exhausted),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
