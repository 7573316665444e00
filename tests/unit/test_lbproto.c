/*
 * test_lbproto.c - the PROXY protocol v2 header tether-lb sends to
 * backends: byte-exact headers for IPv4, IPv6 and mixed families, the
 * LOCAL command for others, and the size check.
 */
#include "tether_test.h"

#include <string.h>

#include "lb.h"

static struct tether_addr
addr(const char *s)
{
	struct tether_addr a;

	assert_int_equal(tether_addr_parse(&a, s, -1), 0);
	return a;
}

static const unsigned char sig[12] = "\r\n\r\n\0\r\nQUIT\n";

static void
test_v4(void **state)
{
	struct tether_addr c = addr("192.0.2.1:40000");
	struct tether_addr f = addr("198.51.100.7:111");
	unsigned char h[LB_PROXY_V2_MAX];
	static const unsigned char want[28] = {
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49,
		0x54, 0x0a, 0x21, 0x11, 0x00, 0x0c,
		192, 0, 2, 1, 198, 51, 100, 7,
		0x9c, 0x40, 0x00, 0x6f,
	};

	(void)state;
	assert_int_equal(lb_proxy_v2_header(&c, &f, h, sizeof(h)), 28);
	assert_memory_equal(h, want, sizeof(want));
	assert_memory_equal(h, sig, sizeof(sig));
}

static void
test_v6_and_mixed(void **state)
{
	struct tether_addr c = addr("[2001:db8::1]:1234");
	struct tether_addr f = addr("[2001:db8::2]:2049");
	struct tether_addr c4 = addr("192.0.2.1:5");
	unsigned char h[LB_PROXY_V2_MAX];

	(void)state;
	assert_int_equal(lb_proxy_v2_header(&c, &f, h, sizeof(h)), 52);
	assert_int_equal(h[12], 0x21);
	assert_int_equal(h[13], 0x21);
	assert_int_equal(h[14], 0);
	assert_int_equal(h[15], 36);
	assert_int_equal(h[16], 0x20);
	assert_int_equal(h[31], 0x01);
	assert_int_equal(h[47], 0x02);
	assert_int_equal(h[48] << 8 | h[49], 1234);
	assert_int_equal(h[50] << 8 | h[51], 2049);
	/* Mixed: IPv4 mapped into IPv6. */
	assert_int_equal(lb_proxy_v2_header(&c4, &f, h, sizeof(h)), 52);
	assert_int_equal(h[13], 0x21);
	assert_int_equal(h[26], 0xff);
	assert_int_equal(h[27], 0xff);
	assert_int_equal(h[28], 192);
	assert_int_equal(h[31], 1);
	assert_int_equal(h[48] << 8 | h[49], 5);
}

static void
test_local_and_size(void **state)
{
	struct tether_addr u, f = addr("192.0.2.9:80");
	unsigned char h[LB_PROXY_V2_MAX];

	(void)state;
	assert_int_equal(tether_addr_parse(&u, "unix:/tmp/x", -1), 0);
	assert_int_equal(lb_proxy_v2_header(&u, &f, h, sizeof(h)), 16);
	assert_memory_equal(h, sig, sizeof(sig));
	assert_int_equal(h[12], 0x20);
	assert_int_equal(h[13], 0);
	assert_int_equal(h[15], 0);
	assert_tether_err(lb_proxy_v2_header(&f, &f, h, LB_PROXY_V2_MAX - 1),
			  TETHER_ENOSPC);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4),
		cmocka_unit_test(test_v6_and_mixed),
		cmocka_unit_test(test_local_and_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
