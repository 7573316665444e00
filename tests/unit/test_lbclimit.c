/*
 * test_lbclimit.c - tether-lb's per-client connection counts (limits
 * client-conns): admission at the limit, masking (a /24 is one client),
 * entries freed at zero, growth of the table, counting through a
 * reload's service chain, and allocation failures.
 */
#include "tether_test.h"

#include <stdio.h>
#include <string.h>

#include "lb.h"

static const struct tether_hash_key hkey = { 0x0706050403020100ULL,
					     0x0f0e0d0c0b0a0908ULL };

static struct tether_addr
addr(const char *s)
{
	struct tether_addr a;

	assert_int_equal(tether_addr_parse(&a, s, -1), 0);
	return a;
}

/* A service with a client-conns limit of max and the given masks. */
static void
svc_make(struct lb_service *svc, struct lb_conf_service *conf, unsigned max,
	 unsigned mask4, unsigned mask6)
{
	memset(svc, 0, sizeof(*svc));
	memset(conf, 0, sizeof(*conf));
	conf->limits.max_client_conns = max;
	svc->conf = conf;
	svc->climit = lb_climit_new(mask4, mask6, &hkey);
	assert_non_null(svc->climit);
}

static void
test_admit_at_limit(void **state)
{
	struct lb_conf_service conf;
	struct lb_service svc;
	struct tether_addr a = addr("192.0.2.1:1000");
	struct tether_addr a2 = addr("192.0.2.1:2000");	/* same client */
	struct tether_addr b = addr("192.0.2.2:1000");
	int i;

	(void)state;
	svc_make(&svc, &conf, 3, 32, 128);
	for (i = 0; i < 3; i++) {
		assert_true(lb_client_admit(&svc, i == 1 ? &a2 : &a));
		assert_int_equal(lb_client_acquire(&svc, &a), 0);
	}
	assert_false(lb_client_admit(&svc, &a));
	assert_false(lb_client_admit(&svc, &a2));
	assert_true(lb_client_admit(&svc, &b));
	assert_int_equal(svc.climit->count, 1);
	lb_client_release(&svc, &a2);
	assert_true(lb_client_admit(&svc, &a));
	lb_client_release(&svc, &a);
	lb_client_release(&svc, &a);
	/* At zero the entry goes; a stray release is harmless. */
	assert_int_equal(svc.climit->count, 0);
	lb_client_release(&svc, &a);
	assert_int_equal(svc.climit->count, 0);
	/* No limit configured: always admitted. */
	conf.limits.max_client_conns = 0;
	assert_true(lb_client_admit(&svc, &a));
	lb_climit_free(svc.climit);
}

static void
test_masks(void **state)
{
	struct lb_conf_service conf;
	struct lb_service svc;
	struct tether_addr a = addr("198.51.100.7:1");
	struct tether_addr b = addr("198.51.100.200:1");
	struct tether_addr m = addr("[::ffff:198.51.100.9]:1");
	struct tether_addr c = addr("198.51.101.7:1");
	struct tether_addr v6a = addr("[2001:db8:1:2::1]:1");
	struct tether_addr v6b = addr("[2001:db8:1:2:ffff::9]:1");

	(void)state;
	svc_make(&svc, &conf, 2, 24, 64);
	assert_int_equal(lb_client_acquire(&svc, &a), 0);
	assert_int_equal(lb_client_acquire(&svc, &b), 0);
	/* One /24, IPv4-mapped IPv6 included, is one client. */
	assert_false(lb_client_admit(&svc, &m));
	assert_true(lb_client_admit(&svc, &c));
	assert_int_equal(lb_client_acquire(&svc, &v6a), 0);
	assert_int_equal(lb_client_acquire(&svc, &v6b), 0);
	assert_false(lb_client_admit(&svc, &v6a));
	assert_int_equal(svc.climit->count, 2);
	lb_climit_free(svc.climit);
}

static void
test_growth(void **state)
{
	struct lb_conf_service conf;
	struct lb_service svc;
	char buf[64];
	unsigned i;

	(void)state;
	svc_make(&svc, &conf, 1, 32, 128);
	for (i = 0; i < 5000; i++) {
		struct tether_addr a;

		snprintf(buf, sizeof(buf), "10.%u.%u.1:1", i / 256, i % 256);
		a = addr(buf);
		assert_true(lb_client_admit(&svc, &a));
		assert_int_equal(lb_client_acquire(&svc, &a), 0);
		assert_false(lb_client_admit(&svc, &a));
	}
	assert_int_equal(svc.climit->count, 5000);
	assert_true(svc.climit->nbuckets >= 4096);
	for (i = 0; i < 5000; i++) {
		struct tether_addr a;

		snprintf(buf, sizeof(buf), "10.%u.%u.1:1", i / 256, i % 256);
		a = addr(buf);
		assert_false(lb_client_admit(&svc, &a));
		lb_client_release(&svc, &a);
		assert_true(lb_client_admit(&svc, &a));
		/* Never more than 8 buckets an entry on the way down. */
		assert_true(svc.climit->nbuckets <= 64 ||
			    svc.climit->nbuckets <= 8 * svc.climit->count);
	}
	assert_int_equal(svc.climit->count, 0);
	/* Gone with the clients: back to the first size. */
	assert_int_equal(svc.climit->nbuckets, 64);
	lb_climit_free(svc.climit);
}

/* After a reload the old service's connections count in the newest
 * generation's table, whichever generation they end on. */
static void
test_generations(void **state)
{
	struct lb_conf_service oc, nc;
	struct lb_service os, ns;
	struct tether_addr a = addr("192.0.2.1:1");

	(void)state;
	svc_make(&os, &oc, 2, 32, 128);
	assert_int_equal(lb_client_acquire(&os, &a), 0);
	assert_int_equal(lb_client_acquire(&os, &a), 0);
	svc_make(&ns, &nc, 2, 32, 128);
	lb_climit_free(ns.climit);
	lb_service_link(&os, &ns);
	ns.climit = os.climit;		/* what the reload does */
	os.climit = NULL;
	assert_ptr_equal(lb_client_table(&os), ns.climit);
	assert_false(lb_client_admit(&ns, &a));
	lb_client_release(&os, &a);	/* ends on the old proxy */
	assert_true(lb_client_admit(&ns, &a));
	assert_int_equal(lb_client_acquire(&ns, &a), 0);
	assert_false(lb_client_admit(&ns, &a));
	lb_service_unlink(&os);
	assert_null(ns.prev_gen);
	lb_climit_free(ns.climit);
}

static void
test_alloc_failures(void **state)
{
	struct lb_conf_service conf;
	struct lb_service svc;
	struct tether_addr a = addr("192.0.2.1:1");

	(void)state;
	tether_alloc_fail_at(1, 0);
	assert_null(lb_climit_new(32, 128, &hkey));
	tether_alloc_fail_at(2, 0);
	assert_null(lb_climit_new(32, 128, &hkey));
	tether_alloc_fail_at(0, 0);
	svc_make(&svc, &conf, 1, 32, 128);
	tether_alloc_fail_at(1, 0);
	assert_tether_err(lb_client_acquire(&svc, &a), TETHER_ENOMEM);
	tether_alloc_fail_at(0, 0);
	/* Not counted: admitted, and releasing it changes nothing. */
	assert_true(lb_client_admit(&svc, &a));
	lb_client_release(&svc, &a);
	assert_int_equal(svc.climit->count, 0);
	lb_climit_free(svc.climit);
	lb_climit_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_admit_at_limit),
		cmocka_unit_test(test_masks),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_generations),
		cmocka_unit_test_setup(test_alloc_failures,
				       tether_test_injection_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
