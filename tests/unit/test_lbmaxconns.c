/*
 * test_lbmaxconns.c - tether-lb's default global max-conns from the
 * open-file limit (maxconns.c): the descriptors each part of a
 * configuration sets aside, the splice pipes' budget, that the default
 * always fits the limit with every pipe of the budget taken and is the
 * largest that does, and that an explicit max-conns wins.
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

/* What one[] leaves (its port twice) of nofile, and its pipe budget:
 * a quarter of that, two descriptors a pipe, at most LB_PIPE_MAX. */
static uint64_t
one_left(uint64_t nofile)
{
	return nofile > LB_FD_RESERVE + 2 ? nofile - LB_FD_RESERVE - 2 : 0;
}

static uint64_t
one_pipes(uint64_t nofile)
{
	uint64_t p = one_left(nofile) / 8;

	return p > LB_PIPE_MAX ? LB_PIPE_MAX : p;
}

static void
test_reserve(void **state)
{
	struct lb_conf *c;

	(void)state;
	/* Nothing but the process's own: no splice, two a session. */
	c = load("");
	assert_int_equal(lb_max_conns_default(c, 1024, 0),
			 (1024 - LB_FD_RESERVE) / 2);
	assert_int_equal(lb_pipe_budget(c, 1024), 0);
	lb_conf_free(c);
	/* One port, twice (a reload's new listeners beside the old); a
	 * quarter of the rest for pipes, half of what remains. */
	c = load(one);
	assert_int_equal(lb_pipe_budget(c, 1024), one_left(1024) / 8);
	assert_int_equal(lb_max_conns_default(c, 1024, 0),
			 (one_left(1024) - 2 * (one_left(1024) / 8)) / 2);
	assert_int_equal(lb_pipe_budget(c, 20000), LB_PIPE_MAX);
	assert_int_equal(lb_max_conns_default(c, 20000, 0),
			 (one_left(20000) - 2 * LB_PIPE_MAX) / 2);
	assert_int_equal(lb_max_conns_default(c, 1u << 20, 0), 523247);
	/* No limit, or one past what max-conns may say. */
	assert_int_equal(lb_max_conns_default(c, UINT64_MAX, 0),
			 LB_MAX_CONNS);
	assert_int_equal(lb_max_conns_default(c, 1ull << 40, 0),
			 LB_MAX_CONNS);
	/* A limit that does not even hold the listeners: one. */
	assert_int_equal(lb_max_conns_default(c, 0, 0), 1);
	assert_int_equal(lb_max_conns_default(c, LB_FD_RESERVE + 2, 0), 1);
	assert_int_equal(lb_max_conns_default(c, LB_FD_RESERVE + 3, 0), 1);
	assert_int_equal(lb_max_conns_default(c, LB_FD_RESERVE + 2 + 12, 0),
			 5);
	assert_int_equal(lb_max_conns(c, 1024, 0),
			 lb_max_conns_default(c, 1024, 0));
	/* More pipes open than the budget (a reload that lowered it, or
	 * the limit): those are set aside. */
	assert_int_equal(lb_max_conns_default(c, 1024, 200),
			 (one_left(1024) - 400) / 2);
	assert_int_equal(lb_max_conns_default(c, 1024, 100),
			 lb_max_conns_default(c, 1024, 0));
	lb_conf_free(c);
	/* splice off everywhere: no pipe, two a session; but pipes still
	 * open (the pool, sessions of the configuration before a reload)
	 * are set aside. */
	c = load("service s { listen 127.0.0.1:80; backend b 127.0.0.2; "
		 "splice off }\n");
	assert_int_equal(lb_pipe_budget(c, 1024), 0);
	assert_int_equal(lb_max_conns_default(c, 1024, 0),
			 one_left(1024) / 2);
	assert_int_equal(lb_max_conns_default(c, 1024, 64),
			 (one_left(1024) - 128) / 2);
	lb_conf_free(c);
	/* UDP only, splice on as by default: flows never splice. */
	c = load("service s { listen 127.0.0.1:53 udp; "
		 "backend b 127.0.0.2 }\n");
	assert_int_equal(lb_pipe_budget(c, 1024), 0);
	assert_int_equal(lb_max_conns_default(c, 1024, 0),
			 one_left(1024) / 2);
	lb_conf_free(c);
	/* The control socket and metrics: each its listener, admin conns
	 * connections and the one turned away. */
	c = load("control /run/lb.sock\nmetrics 127.0.0.1:9100\n"
		 "admin conns 100\nservice s { listen 127.0.0.1:80; "
		 "backend b 127.0.0.2; splice off }\n");
	assert_int_equal(lb_max_conns_default(c, 1024, 0),
			 (1024 - LB_FD_RESERVE - 2 - 2 * 102) / 2);
	lb_conf_free(c);
	/* An active check probes each backend with a socket of its own;
	 * a passive one has none. */
	c = load("service s { listen 127.0.0.1:80; backend a 127.0.0.2; "
		 "backend b 127.0.0.3; backend c 127.0.0.4; check tcp; "
		 "splice off }\n");
	assert_int_equal(lb_max_conns_default(c, 1024, 0),
			 (1024 - LB_FD_RESERVE - 2 - 3) / 2);
	lb_conf_free(c);
	c = load("service s { listen 127.0.0.1:80; backend a 127.0.0.2; "
		 "backend b 127.0.0.3; check passive; splice off }\n");
	assert_int_equal(lb_max_conns_default(c, 1024, 0),
			 (1024 - LB_FD_RESERVE - 2) / 2);
	lb_conf_free(c);
	/* Ports of a range, TCP and UDP apart. */
	c = load("service s { listen 127.0.0.1:100-199 tcp udp; "
		 "backend b 127.0.0.2; splice off }\n");
	assert_int_equal(lb_max_conns_default(c, 4096, 0),
			 (4096 - LB_FD_RESERVE - 2 * 2 * 100) / 2);
	lb_conf_free(c);
}

/* For every limit up to past the pipes' cap: the default's sessions
 * (two sockets each) with every pipe of the budget fit beside the
 * reserve, one more session would not, the budget is at most a quarter
 * of what is left, and a higher limit never gives less. */
static void
test_fits(void **state)
{
	struct lb_conf *c = load(one);
	const uint64_t reserve = LB_FD_RESERVE + 2;
	unsigned prev = 0, pprev = 0;
	uint64_t nofile;

	(void)state;
	for (nofile = 0; nofile <= 16 * LB_PIPE_MAX; nofile++) {
		unsigned n = lb_max_conns_default(c, nofile, 0);
		uint64_t p = lb_pipe_budget(c, nofile);

		assert_int_equal(p, one_pipes(nofile));
		assert_true(4 * 2 * p <= one_left(nofile) + 7);
		assert_true(n >= 1 && n >= prev && p >= pprev);
		if (n > 1)
			assert_true(2 * n + 2 * p + reserve <= nofile);
		assert_true(2 * (n + 1) + 2 * p + reserve > nofile);
		prev = n;
		pprev = (unsigned)p;
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
	assert_int_equal(lb_max_conns(c, 1024, 0), 7);
	lb_conf_free(c);
	c = load("max-conns 1000000\n");
	assert_int_equal(lb_max_conns(c, 64, 0), 1000000);
	lb_conf_free(c);
	c = load("max-conns 0\n");
	assert_int_equal(lb_max_conns(c, 1024, 0), (1024 - LB_FD_RESERVE) / 2);
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
