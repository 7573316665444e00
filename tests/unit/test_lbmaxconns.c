/*
 * test_lbmaxconns.c - tether-lb's default global max-conns from the
 * open-file limit (maxconns.c): the descriptors each part of a
 * configuration sets aside, that the default always fits the limit
 * with every pipe taken and is the largest that does, and that an
 * explicit max-conns wins.
 */
#include "tether_test.h"

#include <stdint.h>
#include <string.h>

#include "lb.h"

static struct lb_conf *
load(const char *text)
{
	struct lb_conf *c = NULL;

	assert_int_equal(lb_conf_load_mem("t.conf", text, strlen(text), &c,
					  NULL), 0);
	return c;
}

/* One TCP port, splice on (the default). */
static const char one[] =
	"service s { listen 127.0.0.1:80; backend b 127.0.0.2 }\n";

/* Most descriptors n sessions of a splicing configuration may hold:
 * two sockets each, and two pipes each up to LB_PIPE_MAX pipes. */
static uint64_t
held(uint64_t n)
{
	uint64_t pipes = 2 * n < LB_PIPE_MAX ? 2 * n : LB_PIPE_MAX;

	return 2 * n + 2 * pipes;
}

static void
test_reserve(void **state)
{
	struct lb_conf *c;

	(void)state;
	/* Nothing but the process's own: no splice, two a session. */
	c = load("");
	assert_int_equal(lb_max_conns_default(c, 1024),
			 (1024 - LB_FD_RESERVE) / 2);
	lb_conf_free(c);
	/* One port, twice (a reload's new listeners beside the old); a
	 * sixth of the rest below the pipes' cap, else half once the
	 * capped pipes are set aside. */
	c = load(one);
	assert_int_equal(lb_max_conns_default(c, 1024),
			 (1024 - LB_FD_RESERVE - 2) / 6);
	assert_int_equal(lb_max_conns_default(c, 20000),
			 (20000 - LB_FD_RESERVE - 2 - 2 * LB_PIPE_MAX) / 2);
	assert_int_equal(lb_max_conns_default(c, 1u << 20), 523247);
	/* No limit, or one past what max-conns may say. */
	assert_int_equal(lb_max_conns_default(c, UINT64_MAX), LB_MAX_CONNS);
	assert_int_equal(lb_max_conns_default(c, 1ull << 40), LB_MAX_CONNS);
	/* A limit that does not even hold the listeners: one. */
	assert_int_equal(lb_max_conns_default(c, 0), 1);
	assert_int_equal(lb_max_conns_default(c, LB_FD_RESERVE + 2), 1);
	assert_int_equal(lb_max_conns_default(c, LB_FD_RESERVE + 3), 1);
	assert_int_equal(lb_max_conns_default(c, LB_FD_RESERVE + 2 + 12), 2);
	assert_int_equal(lb_max_conns(c, 1024), lb_max_conns_default(c, 1024));
	lb_conf_free(c);
	/* splice off everywhere: no pipe, two a session. */
	c = load("service s { listen 127.0.0.1:80; backend b 127.0.0.2; "
		 "splice off }\n");
	assert_int_equal(lb_max_conns_default(c, 1024),
			 (1024 - LB_FD_RESERVE - 2) / 2);
	lb_conf_free(c);
	/* The control socket and metrics: each its listener, admin conns
	 * connections and the one turned away. */
	c = load("control /run/lb.sock\nmetrics 127.0.0.1:9100\n"
		 "admin conns 100\nservice s { listen 127.0.0.1:80; "
		 "backend b 127.0.0.2; splice off }\n");
	assert_int_equal(lb_max_conns_default(c, 1024),
			 (1024 - LB_FD_RESERVE - 2 - 2 * 102) / 2);
	lb_conf_free(c);
	/* An active check probes each backend with a socket of its own;
	 * a passive one has none. */
	c = load("service s { listen 127.0.0.1:80; backend a 127.0.0.2; "
		 "backend b 127.0.0.3; backend c 127.0.0.4; check tcp; "
		 "splice off }\n");
	assert_int_equal(lb_max_conns_default(c, 1024),
			 (1024 - LB_FD_RESERVE - 2 - 3) / 2);
	lb_conf_free(c);
	c = load("service s { listen 127.0.0.1:80; backend a 127.0.0.2; "
		 "backend b 127.0.0.3; check passive; splice off }\n");
	assert_int_equal(lb_max_conns_default(c, 1024),
			 (1024 - LB_FD_RESERVE - 2) / 2);
	lb_conf_free(c);
	/* Ports of a range, TCP and UDP apart. */
	c = load("service s { listen 127.0.0.1:100-199 tcp udp; "
		 "backend b 127.0.0.2; splice off }\n");
	assert_int_equal(lb_max_conns_default(c, 4096),
			 (4096 - LB_FD_RESERVE - 2 * 2 * 100) / 2);
	lb_conf_free(c);
}

/* For every limit up to past the pipes' cap: the default's sessions
 * with all their pipes fit beside the reserve, one more would not, and
 * a higher limit never gives less. */
static void
test_fits(void **state)
{
	struct lb_conf *c = load(one);
	const uint64_t reserve = LB_FD_RESERVE + 2;
	unsigned prev = 0;
	uint64_t nofile;

	(void)state;
	for (nofile = 0; nofile <= 8 * LB_PIPE_MAX; nofile++) {
		unsigned n = lb_max_conns_default(c, nofile);

		assert_true(n >= 1 && n >= prev);
		if (n > 1)
			assert_true(held(n) + reserve <= nofile);
		assert_true(held(n + 1) + reserve > nofile);
		prev = n;
	}
	lb_conf_free(c);
}

/* An explicit max-conns is taken as it is, above the limit or below;
 * 0, as in `max-conns 0`, is no value: the default. */
static void
test_explicit(void **state)
{
	struct lb_conf *c;

	(void)state;
	c = load("max-conns 7\n");
	assert_int_equal(lb_max_conns(c, 1024), 7);
	lb_conf_free(c);
	c = load("max-conns 1000000\n");
	assert_int_equal(lb_max_conns(c, 64), 1000000);
	lb_conf_free(c);
	c = load("max-conns 0\n");
	assert_int_equal(lb_max_conns(c, 1024), (1024 - LB_FD_RESERVE) / 2);
	lb_conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_fits),
		cmocka_unit_test(test_explicit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
