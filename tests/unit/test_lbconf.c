/*
 * test_lbconf.c - tether-lb's configuration parser: every directive and
 * its values, defaults, the diagnostics of bad files (position and
 * text), several errors in one run, includes, and allocation failures.
 */
#include "tether_test.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lb.h"

static int
load(const char *text, struct lb_conf **conf, struct tether_buf *diag)
{
	return lb_conf_load_mem("t.conf", text, strlen(text), conf, diag);
}

static const char full[] =
	"# globals\n"
	"pidfile /run/tether-lb.pid\n"
	"user _tether; max-conns 5000\n"
	"control /run/tether-lb.sock\n"
	"metrics [::1]:9100\n"
	"log-level debug; admin timeout 2s conns 4\n"
	"service nfs {\n"
	"\tlisten 192.0.2.10:111 tcp udp\n"
	"\tlisten 192.0.2.10:2049 tcp\n"
	"\tlisten 192.0.2.10:20048-20050\n"
	"\tlisten [2001:db8::1]:111 udp\n"
	"\tbalance maglev\n"
	"\tpersist source mask /24 /64 timeout 30m size 1000\n"
	"\tbackend nfs1 10.0.0.11 weight 1\n"
	"\tbackend nfs2 10.0.0.12:2049\n"
	"\tbackend nfs-3@b.x [2001:db8::5] weight 0\n"
	"\tcheck tcp interval 2s timeout 500ms rise 2 fall 3 port 2049 "
	"slowstart 30s\n"
	"\tlimits conns 100 connect-timeout 1s idle-timeout 5m retries 1 "
	"backlog 64 drain-timeout 1h client-conns 8\n"
	"\tproxy-protocol v2\n"
	"\tsplice off\n"
	"\thalf-close off\n"
	"}\n"
	"service web { listen 127.0.0.1:8080; backend a 127.0.0.1:80 }\n";

static void
test_full(void **state)
{
	struct lb_conf *c;
	const struct lb_conf_service *s;
	char buf[TETHER_ADDR_STRLEN];

	(void)state;
	assert_int_equal(load(full, &c, NULL), 0);
	assert_string_equal(c->pidfile, "/run/tether-lb.pid");
	assert_string_equal(c->user, "_tether");
	assert_string_equal(c->control, "/run/tether-lb.sock");
	assert_true(c->has_metrics);
	assert_int_equal(tether_addr_port(&c->metrics), 9100);
	assert_int_equal(c->max_conns, 5000);
	assert_int_equal(c->admin_timeout_ms, 2000);
	assert_int_equal(c->admin_conns, 4);
	assert_int_equal(c->log_level, TETHER_LOG_DEBUG);
	assert_int_equal(c->nservices, 2);
	s = &c->services[0];
	assert_string_equal(s->name, "nfs");
	assert_int_equal(s->nlistens, 4);
	assert_int_equal(s->listens[0].protos, LB_PROTO_TCP | LB_PROTO_UDP);
	assert_int_equal(s->listens[0].port_lo, 111);
	assert_int_equal(s->listens[0].port_hi, 111);
	assert_int_equal(s->listens[1].protos, LB_PROTO_TCP);
	assert_int_equal(s->listens[2].protos, LB_PROTO_TCP); /* default */
	assert_int_equal(s->listens[2].port_lo, 20048);
	assert_int_equal(s->listens[2].port_hi, 20050);
	assert_int_equal(s->listens[2].line, 10);
	assert_int_equal(s->listens[2].col, 9);
	assert_int_equal(s->listens[3].addr.ss.ss_family, AF_INET6);
	assert_int_equal(s->listens[3].protos, LB_PROTO_UDP);
	assert_int_equal(s->balance, LB_BALANCE_MAGLEV);
	assert_true(s->persist.enabled);
	assert_int_equal(s->persist.mask4, 24);
	assert_int_equal(s->persist.mask6, 64);
	assert_int_equal(s->persist.timeout_ms, 30 * 60 * 1000);
	assert_int_equal(s->persist.size, 1000);
	assert_int_equal(s->nbackends, 3);
	assert_string_equal(s->backends[0].name, "nfs1");
	assert_false(s->backends[0].has_port);
	assert_int_equal(s->backends[0].weight, 1);
	assert_true(s->backends[1].has_port);
	assert_int_equal(tether_addr_port(&s->backends[1].addr), 2049);
	assert_int_equal(s->backends[1].weight, 1);	/* default */
	assert_string_equal(s->backends[2].name, "nfs-3@b.x");
	assert_false(s->backends[2].has_port);
	assert_int_equal(s->backends[2].weight, 0);
	assert_int_equal(tether_addr_format(&s->backends[2].addr, buf,
					    sizeof(buf),
					    TETHER_ADDR_FMT_NOPORT), 11);
	assert_string_equal(buf, "2001:db8::5");
	assert_int_equal(s->check.type, LB_CHECK_TCP);
	assert_int_equal(s->check.interval_ms, 2000);
	assert_int_equal(s->check.timeout_ms, 500);
	assert_int_equal(s->check.rise, 2);
	assert_int_equal(s->check.fall, 3);
	assert_int_equal(s->check.port, 2049);
	assert_int_equal(s->check.slowstart_ms, 30000);
	assert_int_equal(s->limits.max_conns, 100);
	assert_int_equal(s->limits.connect_timeout_ms, 1000);
	assert_int_equal(s->limits.idle_timeout_ms, 300000);
	assert_int_equal(s->limits.retries, 1);
	assert_int_equal(s->limits.backlog, 64);
	assert_int_equal(s->limits.drain_timeout_ms, 3600000);
	assert_int_equal(s->limits.max_client_conns, 8);
	assert_true(s->proxy_v2);
	assert_false(s->splice);
	assert_false(s->half_close);

	/* The second service: everything defaulted. */
	s = &c->services[1];
	assert_string_equal(s->name, "web");
	assert_int_equal(s->balance, LB_BALANCE_WRR);
	assert_false(s->persist.enabled);
	assert_int_equal(s->persist.mask4, 32);
	assert_int_equal(s->persist.mask6, 128);
	assert_int_equal(s->persist.timeout_ms, LB_DEFAULT_PERSIST_TIMEOUT_MS);
	assert_int_equal(s->persist.size, LB_DEFAULT_PERSIST_SIZE);
	assert_int_equal(s->check.type, LB_CHECK_NONE);
	assert_int_equal(s->check.port, 0);
	assert_int_equal(s->check.slowstart_ms, 0);
	assert_int_equal(s->limits.connect_timeout_ms,
			 LB_DEFAULT_CONNECT_TIMEOUT_MS);
	assert_int_equal(s->limits.retries, LB_DEFAULT_RETRIES);
	assert_int_equal(s->limits.max_conns, 0);
	assert_false(s->proxy_v2);
	assert_true(s->splice);		/* default on */
	assert_true(s->half_close);	/* default on */
	lb_conf_free(c);

	/* A short interval alone: the default timeout follows it. */
	assert_int_equal(load("service s { listen 1.2.3.4:1; "
			      "backend a 1.1.1.1; check tcp interval 500ms }",
			      &c, NULL), 0);
	assert_int_equal(c->services[0].check.interval_ms, 500);
	assert_int_equal(c->services[0].check.timeout_ms, 500);
	lb_conf_free(c);
	assert_int_equal(load("service s { listen 1.2.3.4:1; "
			      "backend a 1.1.1.1; check tcp interval 5s }",
			      &c, NULL), 0);
	assert_int_equal(c->services[0].check.timeout_ms,
			 LB_DEFAULT_CHECK_TIMEOUT_MS);
	lb_conf_free(c);

	/* Wildcards of both families on one port meet no other listen
	 * (IPv6 listeners are V6ONLY); nor does another port. */
	assert_int_equal(load("service s { listen 0.0.0.0:80; "
			      "backend a 1.1.1.1 }\n"
			      "service t { listen [::]:80 tcp udp; "
			      "listen 127.0.0.1:81; listen 0.0.0.0:80 udp; "
			      "backend a 1.1.1.1 }", &c, NULL), 0);
	lb_conf_free(c);
}

/* A backend may be IPv4-mapped (only listeners are refused such an
 * address): it is taken as the IPv4 address, so its sockets are
 * AF_INET and net.ipv6.bindv6only=1 (new AF_INET6 sockets V6ONLY)
 * cannot make its connects fail. With and without a port; written out
 * as IPv4. */
static void
test_backend_v4mapped(void **state)
{
	struct lb_conf *c;
	const struct lb_conf_backend *ba, *bb;
	struct tether_addr want;
	struct tether_buf t;

	(void)state;
	assert_int_equal(load("service s { listen 1.2.3.4:1; "
			      "backend a [::ffff:10.0.0.1]:80; "
			      "backend b [::ffff:10.0.0.2] }", &c, NULL),
			 0);
	ba = &c->services[0].backends[0];
	bb = &c->services[0].backends[1];
	assert_int_equal(ba->addr.ss.ss_family, AF_INET);
	assert_int_equal(tether_addr_parse(&want, "10.0.0.1:80", -1), 0);
	assert_int_equal(tether_addr_compare(&ba->addr, &want), 0);
	assert_int_equal(bb->addr.ss.ss_family, AF_INET);
	assert_false(bb->has_port);
	assert_int_equal(tether_addr_parse(&want, "10.0.0.2", 0), 0);
	assert_int_equal(tether_addr_compare(&bb->addr, &want), 0);
	tether_buf_init(&t, 1u << 16);
	assert_int_equal(lb_conf_write(c, &t), 0);
	assert_non_null(strstr((const char *)t.data,
			       "backend a 10.0.0.1:80 weight 1\n"));
	assert_non_null(strstr((const char *)t.data,
			       "backend b 10.0.0.2 weight 1\n"));
	tether_buf_free(&t);
	lb_conf_free(c);

	/* Other IPv6 addresses stay IPv6, the v4-compatible ::a.b.c.d
	 * among them. */
	assert_int_equal(load("service s { listen 1.2.3.4:1; "
			      "backend a [::10.0.0.1]:80; "
			      "backend b [2001:db8::1] }", &c, NULL), 0);
	assert_int_equal(c->services[0].backends[0].addr.ss.ss_family,
			 AF_INET6);
	assert_int_equal(c->services[0].backends[1].addr.ss.ss_family,
			 AF_INET6);
	lb_conf_free(c);
}

static void
test_duration(void **state)
{
	static const struct {
		const char *s;
		int err;
		uint64_t ms;
	} cases[] = {
		{ "250ms", 0, 250 },
		{ "2s", 0, 2000 },
		{ "2", 0, 2000 },
		{ "0", 0, 0 },
		{ "30m", 0, 1800000 },
		{ "1h", 0, 3600000 },
		{ "720h", 0, 720ull * 3600000 },
		{ "721h", -TETHER_ERANGE, 0 },
		{ "99999999999999999999ms", -TETHER_ERANGE, 0 },
		{ "", -TETHER_ESYNTAX, 0 },
		{ "s", -TETHER_ESYNTAX, 0 },
		{ "-1s", -TETHER_ESYNTAX, 0 },
		{ "1 s", -TETHER_ESYNTAX, 0 },
		{ "1d", -TETHER_ESYNTAX, 0 },
		{ "1sm", -TETHER_ESYNTAX, 0 },
		{ "1.5s", -TETHER_ESYNTAX, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < TETHER_ARRAY_SIZE(cases); i++) {
		uint64_t ms = 12345;

		assert_int_equal(lb_parse_duration(cases[i].s, &ms),
				 cases[i].err);
		assert_int_equal(ms, cases[i].err == 0 ? cases[i].ms : 12345);
	}
}

static void
test_listen_addr(void **state)
{
	static const struct {
		const char *s;
		int err;
		int family, lo, hi;
	} cases[] = {
		{ "1.2.3.4:80", 0, AF_INET, 80, 80 },
		{ "1.2.3.4:1-65535", 0, AF_INET, 1, 65535 },
		{ "[::1]:111", 0, AF_INET6, 111, 111 },
		{ "[::]:20000-20010", 0, AF_INET6, 20000, 20010 },
		{ "0.0.0.0:5", 0, AF_INET, 5, 5 },
		{ "1.2.3.4:0", -TETHER_ERANGE, 0, 0, 0 },
		{ "1.2.3.4:65536", -TETHER_ERANGE, 0, 0, 0 },
		{ "1.2.3.4:9-8", -TETHER_ERANGE, 0, 0, 0 },
		{ "1.2.3.4:0-8", -TETHER_ERANGE, 0, 0, 0 },
		{ "1.2.3.4", -TETHER_ESYNTAX, 0, 0, 0 },
		{ "1.2.3.4:", -TETHER_ESYNTAX, 0, 0, 0 },
		{ "1.2.3.4:-5", -TETHER_ESYNTAX, 0, 0, 0 },
		{ "1.2.3.4:5-", -TETHER_ESYNTAX, 0, 0, 0 },
		{ "1.2.3.4:5-6-7", -TETHER_ESYNTAX, 0, 0, 0 },
		{ "1.2.3.4:x", -TETHER_ESYNTAX, 0, 0, 0 },
		{ "::1:80", -TETHER_ESYNTAX, 0, 0, 0 },
		{ "[::1:80", -TETHER_ESYNTAX, 0, 0, 0 },
		{ "host.example:80", -TETHER_ESYNTAX, 0, 0, 0 },
		{ "unix:/tmp/x", -TETHER_ESYNTAX, 0, 0, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < TETHER_ARRAY_SIZE(cases); i++) {
		struct lb_conf_listen l;

		memset(&l, 0, sizeof(l));
		assert_int_equal(lb_parse_listen_addr(cases[i].s, &l),
				 cases[i].err);
		if (cases[i].err != 0)
			continue;
		assert_int_equal(l.addr.ss.ss_family, cases[i].family);
		assert_int_equal(l.port_lo, cases[i].lo);
		assert_int_equal(l.port_hi, cases[i].hi);
		assert_int_equal(tether_addr_port(&l.addr), cases[i].lo);
	}
}

/* Each bad file gives exactly this first diagnostic line. */
static void
test_errors(void **state)
{
	static const struct {
		const char *text;
		const char *first;
	} cases[] = {
		{ "admin timeout 10ms",
		  "t.conf:1:15: error: admin timeout is a duration of "
		  "100ms..1h, not '10ms'" },
		{ "admin conns 0",
		  "t.conf:1:13: error: admin conns is 1..1024, not '0'" },
		/* A key repeated in one directive is an error at the
		 * second, as a repeated directive is (not the later value
		 * silently winning). */
		{ "admin timeout 1s timeout 2s",
		  "t.conf:1:18: error: 'timeout' given twice" },
		{ "admin conns 2 conns 3",
		  "t.conf:1:15: error: 'conns' given twice" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1; "
		  "limits conns 5 conns 10 }",
		  "t.conf:1:65: error: 'conns' given twice" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1; "
		  "limits retries 1 backlog 8 retries 2 }",
		  "t.conf:1:77: error: 'retries' given twice" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1; "
		  "check tcp rise 2 fall 3 rise 5 }",
		  "t.conf:1:74: error: 'rise' given twice" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1; "
		  "persist source timeout 1m size 9 timeout 2m }",
		  "t.conf:1:83: error: 'timeout' given twice" },
		{ "admin backlog 3",
		  "t.conf:1:7: error: admin expects timeout or conns, not "
		  "'backlog'" },
		{ "service s { listen 1.2.3.4:80 sctp; backend a 1.1.1.1 }",
		  "t.conf:1:31: error: expected 'tcp' or 'udp', not 'sctp'" },
		{ "service s { listen 1.2.3.4; backend a 1.1.1.1 }",
		  "t.conf:1:20: error: expected ADDR:PORT or ADDR:PORT-PORT "
		  "(IPv6 in brackets), not '1.2.3.4'" },
		{ "service s { listen 1.2.3.4:9-8; backend a 1.1.1.1 }",
		  "t.conf:1:20: error: ports must be 1..65535, the first not "
		  "above the last: '1.2.3.4:9-8'" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1\n"
		  "balance fast }",
		  "t.conf:2:9: error: unknown balance 'fast' (rr, wrr, wlc, "
		  "maglev)" },
		{ "service s { listen 1.2.3.4:1; backend a host.example }",
		  "t.conf:1:41: error: expected an IPv4 or IPv6 address with "
		  "an optional port (1..65535), not 'host.example'" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1:0 }",
		  "t.conf:1:41: error: expected an IPv4 or IPv6 address with "
		  "an optional port (1..65535), not '1.1.1.1:0'" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1 "
		  "weight 1001 }",
		  "t.conf:1:56: error: weight must be 0..1000" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1 heavy 2 }",
		  "t.conf:1:49: error: expected 'weight N' after the address" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1; "
		  "backend a 1.1.1.2 }",
		  "t.conf:1:58: error: duplicate backend 'a'" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1; "
		  "persist client }",
		  "t.conf:1:58: error: persist by what: only 'source' is "
		  "known, not 'client'" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1; "
		  "persist source mask 24 }",
		  "t.conf:1:70: error: 'mask' expects /N (0..32) for IPv4, "
		  "then optionally /N (0..128) for IPv6" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1; "
		  "persist source mask /24 /129 }",
		  "t.conf:1:74: error: IPv6 mask must be /0../128" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1; "
		  "persist source timeout 10ms }",
		  "t.conf:1:73: error: 'timeout' must be 1000ms..30 days" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1; "
		  "persist source timeout }",
		  "t.conf:1:65: error: 'timeout' needs a value" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1; "
		  "check http }",
		  "t.conf:1:56: error: unknown check 'http' (tcp, passive, "
		  "none)" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1; "
		  "check passive timeout 1s }",
		  "t.conf:1:64: error: unknown check passive option "
		  "'timeout'" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1; "
		  "check passive rise 2 }",
		  "t.conf:1:64: error: unknown check passive option 'rise'" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1; "
		  "check passive fall 0 }",
		  "t.conf:1:69: error: 'fall' must be a number 1..100, "
		  "not '0'" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1; "
		  "check tcp rise 0 }",
		  "t.conf:1:65: error: 'rise' must be a number 1..100, "
		  "not '0'" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1; "
		  "check tcp every 2s }",
		  "t.conf:1:60: error: unknown check option 'every'" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1; "
		  "limits conns many }",
		  "t.conf:1:63: error: 'conns' must be a number 0..1000000, "
		  "not 'many'" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1; limits }",
		  "t.conf:1:50: error: 'limits' needs at least 2 arguments" },
		{ "service s { listen 1.2.3.4:1 { } backend a 1.1.1.1 }",
		  "t.conf:1:30: error: 'listen' does not take a block" },
		{ "service s { backend a 1.1.1.1 }",
		  "t.conf:1:9: error: service 's' has no listen" },
		{ "service s { listen 1.2.3.4:1 }",
		  "t.conf:1:9: error: service 's' has no backend" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1 }\n"
		  "service s { listen 1.2.3.4:2; backend a 1.1.1.1 }",
		  "t.conf:2:9: error: duplicate service 's'" },
		{ "service s { listen 1.2.3.4:10-20; backend a 1.1.1.1 }\n"
		  "service t { listen 1.2.3.4:20 tcp; backend a 1.1.1.1 }",
		  "t.conf:2:20: error: '1.2.3.4:20' overlaps the listen at "
		  "line 1 (service s)" },
		/* bind() of the second would fail: the wildcard covers
		 * every address of its family. */
		{ "service s { listen 0.0.0.0:80; backend a 1.1.1.1 }\n"
		  "service t { listen 127.0.0.1:80; backend a 1.1.1.1 }",
		  "t.conf:2:20: error: '127.0.0.1:80' overlaps the listen at "
		  "line 1 (service s)" },
		{ "service s { listen [::1]:80-90 tcp; listen [::]:85 tcp; "
		  "backend a 1.1.1.1 }",
		  "t.conf:1:44: error: '[::]:85' overlaps the listen at "
		  "line 1 (service s)" },
		/* IPv6 listeners are V6ONLY: bind() of a mapped address
		 * would fail at start; the IPv4 form is suggested. */
		{ "service s { listen [::ffff:192.0.2.1]:80; "
		  "backend a 1.1.1.1 }",
		  "t.conf:1:20: error: '[::ffff:192.0.2.1]:80' is an "
		  "IPv4-mapped IPv6 address, which IPv6 listeners (IPv6 only) "
		  "cannot bind; write it as IPv4: '192.0.2.1:80'" },
		{ "service s { listen [::FFFF:c000:201]:53-60 udp; "
		  "backend a 1.1.1.1 }",
		  "t.conf:1:20: error: '[::FFFF:c000:201]:53-60' is an "
		  "IPv4-mapped IPv6 address, which IPv6 listeners (IPv6 only) "
		  "cannot bind; write it as IPv4: '192.0.2.1:53-60'" },
		{ "service s { listen [::ffff:0.0.0.0]:80; "
		  "backend a 1.1.1.1 }",
		  "t.conf:1:20: error: '[::ffff:0.0.0.0]:80' is an "
		  "IPv4-mapped IPv6 address, which IPv6 listeners (IPv6 only) "
		  "cannot bind; write it as IPv4: '0.0.0.0:80'" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1; "
		  "check tcp interval 500ms timeout 600ms }",
		  "t.conf:1:56: error: check timeout (600ms) is longer than "
		  "its interval (500ms)" },
		/* A UDP-only service lends a port-less backend no TCP port
		 * to probe: an error at the check, naming the backend. */
		{ "service s { listen 1.2.3.4:53 udp; backend a 1.1.1.1:53; "
		  "backend b 1.1.1.2; check tcp rise 1 }",
		  "t.conf:1:83: error: check tcp: no port to probe backend "
		  "'b' on (it has no port, the check no 'port', the service "
		  "no TCP listen)" },
		{ "control ctl.sock",
		  "t.conf:1:9: error: 'control' must be an absolute path, "
		  "not 'ctl.sock'" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1; "
		  "proxy-protocol v1 }",
		  "t.conf:1:65: error: proxy-protocol is 'v2' or 'off', not "
		  "'v1'" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1; "
		  "splice yes }",
		  "t.conf:1:57: error: splice is 'on' or 'off', not 'yes'" },
		{ "service s { listen 1.2.3.4:1; backend a 1.1.1.1; "
		  "half-close 0 }",
		  "t.conf:1:61: error: half-close is 'on' or 'off', not '0'" },
		{ "io-uring maybe",
		  "t.conf:1:10: error: io-uring is 'on' or 'off', not "
		  "'maybe'" },
		{ "io-uring-buffers 3",
		  "t.conf:1:18: error: 'io-uring-buffers' must be a power of "
		  "two 1..32768, not '3'" },
		{ "io-uring-buffers 65536",
		  "t.conf:1:18: error: 'io-uring-buffers' must be a power of "
		  "two 1..32768, not '65536'" },
		{ "kernel-relay-window 15k",
		  "t.conf:1:21: error: 'kernel-relay-window' must be a size "
		  "16k..64m (bytes, or with k or m), not '15k'" },
		{ "kernel-relay-window 65m",
		  "t.conf:1:21: error: 'kernel-relay-window' must be a size "
		  "16k..64m (bytes, or with k or m), not '65m'" },
		{ "kernel-relay-window 99999999999999999999m",
		  "t.conf:1:21: error: 'kernel-relay-window' must be a size "
		  "16k..64m (bytes, or with k or m), not "
		  "'99999999999999999999m'" },
		{ "kernel-relay-window 1g",
		  "t.conf:1:21: error: 'kernel-relay-window' must be a size "
		  "16k..64m (bytes, or with k or m), not '1g'" },
		{ "kernel-relay-window k",
		  "t.conf:1:21: error: 'kernel-relay-window' must be a size "
		  "16k..64m (bytes, or with k or m), not 'k'" },
		{ "kernel-relay-window -16k",
		  "t.conf:1:21: error: 'kernel-relay-window' must be a size "
		  "16k..64m (bytes, or with k or m), not '-16k'" },
		{ "kernel-relay-after 0",
		  "t.conf:1:20: error: 'kernel-relay-after' must be a number "
		  "1..1000000, not '0'" },
		{ "service s ;",
		  "t.conf:1:11: error: expected '{' after the service name" },
		{ "service { }",
		  "t.conf:1:9: error: expected a service name" },
		{ "maxconns 5",
		  "t.conf:1:1: error: unknown directive 'maxconns' at the top "
		  "level" },
		{ "max-conns 5; max-conns 6",
		  "t.conf:1:14: error: duplicate 'max-conns'" },
		{ "log-level loud",
		  "t.conf:1:11: error: log-level is warn, info or debug, not "
		  "'loud'" },
		{ "pidfile ''",
		  "t.conf:1:9: error: 'pidfile' takes 1..1023 bytes" },
		{ "control /tmp/0123456789012345678901234567890123456789"
		  "0123456789012345678901234567890123456789012345678901234567"
		  "89abcde",
		  "t.conf:1:9: error: 'control' takes 1..107 bytes" },
		{ "metrics localhost:9100",
		  "t.conf:1:9: error: metrics expects ADDR:PORT, not "
		  "'localhost:9100'" },
		{ "service \"a\\nb\" { listen 1.2.3.4:1; backend a 1.1.1.1 }",
		  "t.conf:1:9: error: service name must not contain a control "
		  "character (0x0a) (only letters, digits and . _ : @ + -)" },
		/* Names are words of the control protocol (split at blanks,
		 * SERVICE/BACKEND at the first '/') and of log lines: a bare
		 * word's bad byte is pointed at, a quoted name at its
		 * start. */
		{ "service \"web 1\" { listen 1.2.3.4:1; backend a 1.1.1.1 }",
		  "t.conf:1:9: error: service name must not contain a space "
		  "(only letters, digits and . _ : @ + -)" },
		{ "service web/1 { listen 1.2.3.4:1; backend a 1.1.1.1 }",
		  "t.conf:1:12: error: service name must not contain '/' "
		  "(only letters, digits and . _ : @ + -)" },
		{ "service s { listen 1.2.3.4:1; backend a/b 1.1.1.1 }",
		  "t.conf:1:40: error: backend name must not contain '/' "
		  "(only letters, digits and . _ : @ + -)" },
		{ "service s { listen 1.2.3.4:1; backend 'x\"y' 1.1.1.1 }",
		  "t.conf:1:39: error: backend name must not contain '\"' "
		  "(only letters, digits and . _ : @ + -)" },
		{ "service s { listen 1.2.3.4:1; backend ab=c 1.1.1.1 }",
		  "t.conf:1:41: error: backend name must not contain '=' "
		  "(only letters, digits and . _ : @ + -)" },
		{ "service s { listen 1.2.3.4:1; backend caf\xc3\xa9 1.1.1.1 }",
		  "t.conf:1:42: error: backend name must not contain a "
		  "non-ASCII byte (0xc3) (only letters, digits and . _ : @ + "
		  "-)" },
		{ "service s { listen 1.2.3.4:1; backend b\\1 1.1.1.1 }",
		  "t.conf:1:40: error: backend name must not contain '\\' "
		  "(only letters, digits and . _ : @ + -)" },
		{ "service s { listen 1.2.3.4:1; backend '' 10.0.0.1 }",
		  "t.conf:1:39: error: backend name must be 1..63 bytes" },
		{ "service s { listen 1.2.3.4:1; backend \"\" 10.0.0.1 }",
		  "t.conf:1:39: error: backend name must be 1..63 bytes" },
		{ "service s { listen 1.2.3.4:1; backend "
		  "b123456789012345678901234567890123456789012345678901234567"
		  "890123 10.0.0.1 }",
		  "t.conf:1:39: error: backend name must be 1..63 bytes" },
		{ "service s { listen 1.2.3.4:1; backend \"x\\ty\" 1.1.1.1 }",
		  "t.conf:1:39: error: backend name must not contain a control "
		  "character (0x09) (only letters, digits and . _ : @ + -)" },
		/* Opened after the move to /, where a relative one
		 * ended up. */
		{ "pidfile lb.pid",
		  "t.conf:1:9: error: 'pidfile' must be an absolute path, "
		  "not 'lb.pid'" },
		{ "pidfile \"X\\nX\"",
		  "t.conf:1:9: error: pidfile must not contain control "
		  "characters" },
		{ "user a b",
		  "t.conf:1:8: error: too many arguments to 'user'" },
		{ "{ }",
		  "t.conf:1:1: error: expected a directive, found '{'" },
		/* A UTF-8 byte-order mark is named, not quoted invisibly
		 * as part of an unknown directive. */
		{ "\xef\xbb\xbfservice s { listen 1.2.3.4:1; "
		  "backend a 1.1.1.1 }",
		  "t.conf:1:1: error: byte-order mark at the start of the file: "
		  "save it as UTF-8 without one" },
		{ "service s { listen \"1.2.3.4:1 }",
		  "t.conf:1:20: error: unterminated string" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < TETHER_ARRAY_SIZE(cases); i++) {
		struct lb_conf *c = (struct lb_conf *)1;
		struct tether_buf diag;
		const char *nl;

		tether_buf_init(&diag, 1 << 16);
		assert_tether_err(load(cases[i].text, &c, &diag),
				  TETHER_ESYNTAX);
		assert_null(c);
		assert_non_null(diag.data);
		nl = strchr((const char *)diag.data, '\n');
		assert_non_null(nl);
		if (strlen(cases[i].first) != (size_t)(nl - (char *)diag.data)
		    || memcmp(diag.data, cases[i].first,
			      strlen(cases[i].first)) != 0)
			fail_msg("case %zu: got\n%s\nwanted\n%s", i,
				 (const char *)diag.data, cases[i].first);
		tether_buf_free(&diag);
	}
}

/* The metrics endpoint is one of tether-lb's TCP listeners: on a TCP
 * listen's port with the same address or a wildcard of either (and
 * [::], which takes IPv4 too) it is an error at the metrics address,
 * wherever it stands in the file; UDP, another port or another address
 * is fine. */
static void
test_metrics_overlap(void **state)
{
	static const struct {
		const char *text;
		const char *first;	/* NULL: loads */
	} cases[] = {
		{ "metrics 127.0.0.1:80\n"
		  "service s { listen 127.0.0.1:80; backend a 1.1.1.1 }",
		  "t.conf:1:9: error: 'metrics 127.0.0.1:80' overlaps the "
		  "listen at line 2 (service s)" },
		{ "service s { listen 0.0.0.0:70-90; backend a 1.1.1.1 }\n"
		  "metrics 127.0.0.1:85",
		  "t.conf:2:9: error: 'metrics 127.0.0.1:85' overlaps the "
		  "listen at line 1 (service s)" },
		{ "metrics 0.0.0.0:80\n"
		  "service s { listen 192.0.2.1:80 tcp udp; backend a 1.1.1.1 }",
		  "t.conf:1:9: error: 'metrics 0.0.0.0:80' overlaps the "
		  "listen at line 2 (service s)" },
		{ "metrics [::1]:80\n"
		  "service s { listen [::]:80; backend a 1.1.1.1 }",
		  "t.conf:1:9: error: 'metrics [::1]:80' overlaps the "
		  "listen at line 2 (service s)" },
		{ "metrics [::]:80\n"
		  "service s { listen 127.0.0.1:80; backend a 1.1.1.1 }",
		  "t.conf:1:9: error: 'metrics [::]:80' overlaps the "
		  "listen at line 2 (service s): metrics on [::] takes IPv4 "
		  "too" },
		{ "metrics 127.0.0.1:80\n"
		  "service s { listen 127.0.0.1:80 udp; backend a 1.1.1.1 }",
		  NULL },
		{ "metrics 127.0.0.1:80\n"
		  "service s { listen 127.0.0.2:80; listen 127.0.0.1:81; "
		  "listen [::]:80; backend a 1.1.1.1 }", NULL },
		{ "metrics [::1]:80\n"
		  "service s { listen 0.0.0.0:80; backend a 1.1.1.1 }", NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < TETHER_ARRAY_SIZE(cases); i++) {
		struct lb_conf *c = NULL;
		struct tether_buf diag;
		const char *d;
		int err;

		tether_buf_init(&diag, 1 << 16);
		err = load(cases[i].text, &c, &diag);
		d = diag.data != NULL ? (const char *)diag.data : "";
		if (cases[i].first == NULL) {
			if (err != 0)
				fail_msg("case %zu: %s", i, d);
			lb_conf_free(c);
		} else if (err != -TETHER_ESYNTAX ||
			   strncmp(d, cases[i].first,
				   strlen(cases[i].first)) != 0 ||
			   d[strlen(cases[i].first)] != '\n') {
			fail_msg("case %zu: got %d\n%s\nwanted\n%s", i, err,
				 d, cases[i].first);
		}
		tether_buf_free(&diag);
	}
}

/* Names take letters, digits and . _ : @ + -, up to 63 bytes: each of
 * them loads, and reads back as written. */
static void
test_name_chars(void **state)
{
	static const char name63[] =
		"123456789012345678901234567890123456789012345678901234567"
		"890123";
	struct lb_conf *c;
	char text[256];

	(void)state;
	assert_int_equal(strlen(name63), 63);
	snprintf(text, sizeof(text), "service AZaz09._:@+- { listen "
		 "1.2.3.4:1; backend %s 1.1.1.1; backend 'q' 1.1.1.2 }",
		 name63);
	assert_int_equal(load(text, &c, NULL), 0);
	assert_string_equal(c->services[0].name, "AZaz09._:@+-");
	assert_string_equal(c->services[0].backends[0].name, name63);
	assert_string_equal(c->services[0].backends[1].name, "q");
	lb_conf_free(c);
}

/* One file, several mistakes: every one is reported, in order. */
static void
test_several_errors(void **state)
{
	struct lb_conf *c;
	struct tether_buf diag;
	const char *d;

	(void)state;
	tether_buf_init(&diag, 1 << 16);
	assert_tether_err(load("service nfs {\n"
			       "\tlisten 192.0.2.10:111 tcp sctp\n"
			       "\tlisten 192.0.2.10:112\n"
			       "\tbalance fastest\n"
			       "\tbackend a 10.0.0.1 weight 2000\n"
			       "\tbackend b 10.0.0.2\n"
			       "\tlisen foo\n"
			       "}\n"
			       "bogus 1\n", &c, &diag), TETHER_ESYNTAX);
	d = (const char *)diag.data;
	assert_non_null(strstr(d, "t.conf:2:28: error: expected 'tcp'"));
	assert_non_null(strstr(d, "t.conf:4:10: error: unknown balance"));
	assert_non_null(strstr(d, "t.conf:5:28: error: weight must be"));
	assert_non_null(strstr(d, "t.conf:7:2: error: unknown directive "
			       "'lisen' in a service"));
	assert_non_null(strstr(d, "t.conf:9:1: error: unknown directive "
			       "'bogus'"));
	/* The caret line under the weight. */
	assert_non_null(strstr(d, "\tbackend a 10.0.0.1 weight 2000\n"
			       "\t                          ^\n"));
	/* The good listen and backend did not produce errors. */
	assert_null(strstr(d, "t.conf:3:"));
	assert_null(strstr(d, "t.conf:6:"));
	assert_null(strstr(d, "has no"));
	tether_buf_free(&diag);
}

/* Where check tcp probes: its port, else the backend's, else the first
 * listen that takes TCP (not a UDP-only one before it). */
static void
test_check_port(void **state)
{
	struct lb_conf *c;
	const struct lb_conf_service *s;

	(void)state;
	assert_int_equal(load("service s {\n"
			      "\tlisten 1.2.3.4:53 udp\n"
			      "\tlisten 1.2.3.4:8053-8060 tcp udp\n"
			      "\tlisten 1.2.3.4:9053 tcp\n"
			      "\tbackend a 10.0.0.1\n"
			      "\tbackend b 10.0.0.2:99\n"
			      "\tcheck tcp\n"
			      "}\n"
			      "service t {\n"
			      "\tlisten 1.2.3.4:54 udp\n"
			      "\tbackend a 10.0.0.1\n"
			      "\tbackend b 10.0.0.2:99\n"
			      "\tcheck tcp port 7\n"
			      "}\n"
			      "service u {\n"
			      "\tlisten 1.2.3.4:55 udp\n"
			      "\tbackend a 10.0.0.1\n"
			      "}\n", &c, NULL), 0);
	s = &c->services[0];
	assert_int_equal(lb_conf_check_port(s, &s->backends[0]), 8053);
	assert_int_equal(lb_conf_check_port(s, &s->backends[1]), 99);
	s = &c->services[1];
	assert_int_equal(lb_conf_check_port(s, &s->backends[0]), 7);
	assert_int_equal(lb_conf_check_port(s, &s->backends[1]), 7);
	/* No check, no TCP: nothing to probe, and nothing asked. */
	s = &c->services[2];
	assert_int_equal(lb_conf_check_port(s, &s->backends[0]), 0);
	lb_conf_free(c);
}

/* check passive: its defaults (down after one failed connect, tried
 * again 10 s later), what it takes, and no probe port needed (a
 * UDP-only service may have it). */
static void
test_check_passive(void **state)
{
	struct lb_conf *c;
	const struct lb_conf_service *s;

	(void)state;
	assert_int_equal(load("service s {\n"
			      "\tlisten 1.2.3.4:53 udp\n"
			      "\tbackend a 10.0.0.1\n"
			      "\tcheck passive\n"
			      "}\n"
			      "service t {\n"
			      "\tlisten 1.2.3.4:54\n"
			      "\tbackend a 10.0.0.1\n"
			      "\tcheck passive interval 30s fall 3 "
			      "slowstart 5s\n"
			      "}\n", &c, NULL), 0);
	s = &c->services[0];
	assert_int_equal(s->check.type, LB_CHECK_PASSIVE);
	assert_int_equal(s->check.interval_ms, 10000);
	assert_int_equal(s->check.fall, 1);
	assert_int_equal(s->check.rise, 1);
	s = &c->services[1];
	assert_int_equal(s->check.interval_ms, 30000);
	assert_int_equal(s->check.fall, 3);
	assert_int_equal(s->check.slowstart_ms, 5000);
	assert_ptr_equal(lb_check_ops_for(s->check.type),
			 &lb_check_ops_passive);
	assert_true(lb_check_ops_passive.passive);
	lb_conf_free(c);
}

/* A warning does not fail the load, and is reported. */
static void
test_warning(void **state)
{
	struct lb_conf *c;
	struct tether_buf diag;

	(void)state;
	tether_buf_init(&diag, 1 << 16);
	assert_int_equal(load("service s { listen 1.2.3.4:1; balance rr\n"
			      "backend a 1.1.1.1 weight 3\n"
			      "check tcp slowstart 10s }", &c, &diag), 0);
	assert_non_null(strstr((const char *)diag.data,
			       "t.conf:1:9: warning: slowstart has no effect "
			       "with balance rr"));
	assert_int_equal(c->services[0].backends[0].weight, 3);
	lb_conf_free(c);
	tether_buf_free(&diag);
	/* UDP on a wildcard: replies may leave from another address. */
	tether_buf_init(&diag, 1 << 16);
	assert_int_equal(load("service s { listen 0.0.0.0:53 tcp udp\n"
			      "listen 127.0.0.1:54 udp; listen [::]:55 tcp\n"
			      "backend a 1.1.1.1 }", &c, &diag), 0);
	{
		static const char want[] =
			"t.conf:1:20: warning: UDP on a wildcard address: "
			"replies leave from the address the route picks, "
			"which may not be the one the client sent to; "
			"listen on a specific address\n";

		const char *w = (const char *)diag.data;

		/* One warning (and its caret line): not for UDP on an
		 * address, nor TCP on a wildcard. */
		assert_ptr_equal(strstr(w, want), w);
		assert_null(strstr(w + sizeof(want) - 1, "warning:"));
	}
	lb_conf_free(c);
	tether_buf_free(&diag);
	/* proxy-protocol v2 is TCP only: a warning at its "v2" naming
	 * the first UDP listen; none for a TCP-only service. */
	tether_buf_init(&diag, 1 << 16);
	assert_int_equal(load("service s { proxy-protocol v2\n"
			      "listen 1.2.3.4:1; listen 1.2.3.4:53 tcp udp\n"
			      "listen 1.2.3.4:54 udp; backend a 1.1.1.1 }\n"
			      "service t { listen 1.2.3.4:2; backend a 1.1.1.1; "
			      "proxy-protocol v2 }\n"
			      "service u { listen 1.2.3.4:55 udp; "
			      "backend a 1.1.1.1 }", &c, &diag), 0);
	{
		static const char want[] =
			"t.conf:1:28: warning: proxy-protocol v2 is sent on "
			"TCP connections only: UDP datagrams (listen at line "
			"2) reach the backends without it\n";
		const char *w = (const char *)diag.data;

		assert_non_null(w);
		assert_ptr_equal(strstr(w, want), w);
		assert_null(strstr(w + sizeof(want) - 1, "warning:"));
	}
	assert_true(c->services[0].proxy_v2);
	assert_true(c->services[1].proxy_v2);
	lb_conf_free(c);
	tether_buf_free(&diag);
	/* Maglev ramps its table: no warning. */
	tether_buf_init(&diag, 1 << 16);
	assert_int_equal(load("service s { listen 1.2.3.4:1; balance maglev\n"
			      "backend a 1.1.1.1 weight 3\n"
			      "check tcp slowstart 10s }", &c, &diag), 0);
	assert_int_equal(diag.len, 0);
	assert_int_equal(c->services[0].check.slowstart_ms, 10000);
	lb_conf_free(c);
	tether_buf_free(&diag);
}

static void
test_file_and_include(void **state)
{
	char dir[] = "/tmp/test_lbconf.XXXXXX";
	char top[128], inc[128], want[512];
	struct lb_conf *c;
	struct tether_buf diag;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(top, sizeof(top), "%s/lb.conf", dir);
	snprintf(inc, sizeof(inc), "%s/backends.conf", dir);
	f = fopen(inc, "w");
	assert_non_null(f);
	fputs("backend b1 127.0.0.1:9\nbackend b2 127.0.0.2:9 weight 4\n", f);
	fclose(f);
	f = fopen(top, "w");
	assert_non_null(f);
	fputs("service s {\n listen 127.0.0.1:7\n include backends.conf\n}\n",
	      f);
	fclose(f);
	assert_int_equal(lb_conf_load_file(top, &c, NULL), 0);
	assert_int_equal(c->services[0].nbackends, 2);
	assert_int_equal(c->services[0].backends[1].weight, 4);
	lb_conf_free(c);

	/* An error inside the include names the included file. */
	f = fopen(inc, "w");
	assert_non_null(f);
	fputs("backend b1 nowhere\n", f);
	fclose(f);
	tether_buf_init(&diag, 1 << 16);
	assert_tether_err(lb_conf_load_file(top, &c, &diag), TETHER_ESYNTAX);
	assert_non_null(strstr((const char *)diag.data,
			       "backends.conf:1:12: error: expected an IPv4"));
	tether_buf_free(&diag);

	/* A listen overlapping one of an included file names that file
	 * with the line (the line alone pointed into the wrong file). */
	f = fopen(inc, "w");
	assert_non_null(f);
	fputs("# backends\nservice a {\n listen 127.0.0.1:7\n"
	      " backend b1 127.0.0.1:9\n}\n", f);
	fclose(f);
	f = fopen(top, "w");
	assert_non_null(f);
	fputs("include backends.conf\nservice b {\n listen 0.0.0.0:7\n"
	      " backend b1 127.0.0.1:9\n}\n", f);
	fclose(f);
	tether_buf_init(&diag, 1 << 16);
	assert_tether_err(lb_conf_load_file(top, &c, &diag), TETHER_ESYNTAX);
	snprintf(want, sizeof(want), "%s:3:9: error: '0.0.0.0:7' overlaps "
		 "the listen at %s:3 (service a)\n", top, inc);
	if (strstr((const char *)diag.data, want) == NULL)
		fail_msg("got\n%s\nwanted\n%s", (const char *)diag.data,
			 want);
	tether_buf_free(&diag);

	unlink(inc);
	unlink(top);
	tether_buf_init(&diag, 1 << 16);
	assert_tether_err(lb_conf_load_file(top, &c, &diag), TETHER_ENOENT);
	assert_null(c);
	assert_non_null(strstr((const char *)diag.data, "lb.conf"));
	tether_buf_free(&diag);
	rmdir(dir);

	assert_tether_err(lb_conf_load_file(NULL, &c, NULL), TETHER_EINVAL);
	assert_tether_err(lb_conf_load_mem("x", NULL, 3, &c, NULL),
			  TETHER_EINVAL);
}

/* lb_conf_load_file_host looks the user up (start-up and -n), at the
 * directive's place; lb_conf_load_file (reloads) does not. */
static void
test_host_user(void **state)
{
	char dir[] = "/tmp/test_lbconf.XXXXXX";
	char path[128];
	struct lb_conf *c;
	struct tether_buf diag;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/lb.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("max-conns 10\nuser  root\n", f);
	fclose(f);
	assert_int_equal(lb_conf_load_file_host(path, &c, NULL), 0);
	assert_string_equal(c->user, "root");
	lb_conf_free(c);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("max-conns 10\nuser  no-such-user-tether\n", f);
	fclose(f);
	tether_buf_init(&diag, 1 << 16);
	assert_tether_err(lb_conf_load_file_host(path, &c, &diag),
			  TETHER_ESYNTAX);
	assert_null(c);
	assert_non_null(strstr((const char *)diag.data, ":2:7: error: no such "
			       "user 'no-such-user-tether'\n"
			       "user  no-such-user-tether\n"
			       "      ^\n"));
	tether_buf_free(&diag);
	assert_int_equal(lb_conf_load_file(path, &c, NULL), 0);
	assert_string_equal(c->user, "no-such-user-tether");
	lb_conf_free(c);
	unlink(path);
	rmdir(dir);
	assert_tether_err(lb_conf_load_file_host(NULL, &c, NULL),
			  TETHER_EINVAL);
}

/* Fail each allocation in turn: -TETHER_ENOMEM, nothing leaks, and once
 * enough allocations succeed the result is the full configuration. */
static void
test_alloc_failures(void **state)
{
	unsigned long n;

	(void)state;
	for (n = 1;; n++) {
		struct lb_conf *c = NULL;
		int err;

		tether_alloc_fail_at(n, 0);
		err = load(full, &c, NULL);
		tether_alloc_fail_at(0, 0);
		if (err == 0) {
			assert_int_equal(c->nservices, 2);
			assert_int_equal(c->services[0].nbackends, 3);
			lb_conf_free(c);
			break;
		}
		assert_tether_err(err, TETHER_ENOMEM);
		assert_null(c);
		assert_true(n < 1000);
	}
	assert_true(n > 5);
}

/* Written out and read back: the same configuration. */
/* kernel-relay-window: bytes, k or m; the default; written back in
 * bytes, which read again the same. */
static void
test_size(void **state)
{
	static const struct {
		const char *text;
		unsigned v;
	} cases[] = {
		{ "", LB_KRELAY_WINDOW_DEFAULT },
		{ "kernel-relay-window 16k", 16384 },
		{ "kernel-relay-window 16K", 16384 },
		{ "kernel-relay-window 16384", 16384 },
		{ "kernel-relay-window 1m", 1048576 },
		{ "kernel-relay-window 64M", 67108864 },
		{ "kernel-relay-window 100000", 100000 },
	};
	struct lb_conf *c, *c2;
	struct tether_buf t;
	size_t i;

	(void)state;
	for (i = 0; i < TETHER_ARRAY_SIZE(cases); i++) {
		assert_int_equal(load(cases[i].text, &c, NULL), 0);
		assert_int_equal(c->kernel_relay_window, cases[i].v);
		tether_buf_init(&t, 1 << 20);
		assert_int_equal(lb_conf_write(c, &t), 0);
		assert_int_equal(load((const char *)t.data, &c2, NULL), 0);
		assert_int_equal(c2->kernel_relay_window, cases[i].v);
		lb_conf_free(c);
		lb_conf_free(c2);
		tether_buf_free(&t);
	}
}

/* A service's kernel-relay overrides the global one, and is written
 * back only where set. */
static void
test_kernel_relay_service(void **state)
{
	static const char text[] =
		"kernel-relay on\n"
		"service a { listen 1.2.3.4:1; backend x 1.1.1.1 }\n"
		"service b { listen 1.2.3.4:2; backend x 1.1.1.1; "
		"kernel-relay off }\n";
	static const char text2[] =
		"service a { listen 1.2.3.4:1; backend x 1.1.1.1 }\n"
		"service b { listen 1.2.3.4:2; backend x 1.1.1.1; "
		"kernel-relay on }\n";
	struct lb_conf *c, *c2;
	struct tether_buf t;

	(void)state;
	assert_int_equal(load(text, &c, NULL), 0);
	assert_int_equal(c->services[0].kernel_relay, -1);
	assert_int_equal(lb_conf_kernel_relay(c, &c->services[0]), 1);
	assert_int_equal(lb_conf_kernel_relay(c, &c->services[1]), 0);
	assert_true(lb_conf_wants_kernel_relay(c));
	tether_buf_init(&t, 1 << 20);
	assert_int_equal(lb_conf_write(c, &t), 0);
	assert_non_null(strstr((const char *)t.data,
			       "\thalf-close on\n\tkernel-relay off\n}"));
	assert_null(strstr((const char *)t.data,
			   "\thalf-close on\n\tkernel-relay on\n}"));
	assert_int_equal(load((const char *)t.data, &c2, NULL), 0);
	assert_int_equal(c2->services[0].kernel_relay, -1);
	assert_int_equal(c2->services[1].kernel_relay, 0);
	lb_conf_free(c);
	lb_conf_free(c2);
	tether_buf_free(&t);

	assert_int_equal(load(text2, &c, NULL), 0);
	assert_int_equal(c->kernel_relay, 0);
	assert_int_equal(lb_conf_kernel_relay(c, &c->services[0]), 0);
	assert_int_equal(lb_conf_kernel_relay(c, &c->services[1]), 1);
	assert_true(lb_conf_wants_kernel_relay(c));
	c->services[1].kernel_relay = -1;
	assert_false(lb_conf_wants_kernel_relay(c));
	lb_conf_free(c);
}

static void
test_write(void **state)
{
	struct lb_conf *c, *c2;
	struct tether_buf t1, t2;

	(void)state;
	tether_buf_init(&t1, 1 << 20);
	tether_buf_init(&t2, 1 << 20);
	assert_int_equal(load(full, &c, NULL), 0);
	assert_int_equal(lb_conf_write(c, &t1), 0);
	assert_non_null(strstr((const char *)t1.data,
			       "control /run/tether-lb.sock\n"
			       "metrics [::1]:9100\n"));
	assert_non_null(strstr((const char *)t1.data,
			       "\tbackend nfs-3@b.x [2001:db8::5] weight 0\n"));
	assert_non_null(strstr((const char *)t1.data,
			       "\tlisten 192.0.2.10:20048-20050 tcp\n"));
	assert_non_null(strstr((const char *)t1.data,
			       "\tpersist source mask /24 /64 timeout "
			       "1800000ms size 1000\n"));
	assert_int_equal(load((const char *)t1.data, &c2, NULL), 0);
	assert_int_equal(lb_conf_write(c2, &t2), 0);
	assert_string_equal(t1.data, t2.data);
	assert_int_equal(c2->services[0].backends[2].weight, 0);
	assert_int_equal(c2->services[0].listens[3].protos, LB_PROTO_UDP);
	assert_true(c2->services[0].proxy_v2);
	assert_int_equal(c2->services[0].check.slowstart_ms, 30000);
	lb_conf_free(c);
	lb_conf_free(c2);
	tether_buf_free(&t1);
	tether_buf_free(&t2);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(lb_balance_name(LB_BALANCE_WLC), "wlc");
	assert_string_equal(lb_balance_name(LB_BALANCE_MAX), "unknown");
	assert_string_equal(lb_balance_name(-1), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_backend_v4mapped),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_listen_addr),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_metrics_overlap),
		cmocka_unit_test(test_name_chars),
		cmocka_unit_test(test_several_errors),
		cmocka_unit_test(test_check_port),
		cmocka_unit_test(test_check_passive),
		cmocka_unit_test(test_warning),
		cmocka_unit_test(test_file_and_include),
		cmocka_unit_test(test_host_user),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_kernel_relay_service),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
