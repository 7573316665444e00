/*
 * test_conf.c - tether-portmap's configuration file: every directive,
 * the defaults, errors with file:line:col (several per file), the
 * shipped example, and that writing a configuration out and reading it
 * back gives the same settings.
 */
#include "tether_test.h"

#include <string.h>

#include "pm.h"

static int
load(const char *text, struct pm_conf *c, struct tether_buf *diag)
{
	return pm_conf_load_mem("t.conf", text, strlen(text), NULL, c, diag);
}

static void
test_defaults(void **state)
{
	struct pm_conf c;

	(void)state;
	assert_int_equal(load("# nothing\n", &c, NULL), 0);
	assert_string_equal(c.cfg.sock_path, PM_DEFAULT_SOCK);
	assert_string_equal(c.cfg.state_path, PM_DEFAULT_STATE);
	assert_null(c.cfg.user);
	assert_string_equal(c.cfg.ctl_path, "");
	assert_int_equal(c.cfg.port, 111);
	assert_int_equal(c.cfg.nlisten, 0);
	assert_int_equal(c.cfg.forward, 0);
	assert_int_equal(c.cfg.prune_interval_ms, 0);
	assert_int_equal(c.cfg.max_total, REG_DEFAULT_MAX_TOTAL);
	assert_int_equal(c.cfg.max_per_owner, REG_DEFAULT_MAX_PER_OWNER);
	assert_int_equal(c.cfg.admin_timeout_ms, 10000);
	assert_int_equal(c.cfg.admin_conns, 16);
	assert_int_equal(c.cfg.log_level, -1);
}

static const char full[] =
	"listen 127.0.0.1 ::1\n"
	"listen 192.0.2.1 [2001:db8::1]; port 20111\n"
	"socket \"/tmp/x/rpcbind.sock\"\n"
	"state none\n"
	"user _rpc\n"
	"control /tmp/x/ctl.sock\n"
	"admin conns 4 timeout 2s\n"
	"max-registrations per-owner 10 total 100\n"
	"forward on rate 5 burst 7 max 9 timeout 250ms\n"
	"prune 1m\n"
	"log-level debug\n";

static void
check_full(const struct pm_conf *c)
{
	assert_int_equal(c->cfg.nlisten, 4);
	assert_string_equal(c->cfg.listen[0], "127.0.0.1");
	assert_string_equal(c->cfg.listen[1], "::1");
	assert_string_equal(c->cfg.listen[2], "192.0.2.1");
	assert_string_equal(c->cfg.listen[3], "[2001:db8::1]");
	assert_int_equal(c->cfg.port, 20111);
	assert_string_equal(c->cfg.sock_path, "/tmp/x/rpcbind.sock");
	assert_string_equal(c->cfg.state_path, "");
	assert_string_equal(c->cfg.user, "_rpc");
	assert_string_equal(c->cfg.ctl_path, "/tmp/x/ctl.sock");
	assert_int_equal(c->cfg.admin_conns, 4);
	assert_int_equal(c->cfg.admin_timeout_ms, 2000);
	assert_int_equal(c->cfg.max_total, 100);
	assert_int_equal(c->cfg.max_per_owner, 10);
	assert_int_equal(c->cfg.forward, 1);
	assert_int_equal(c->cfg.forward_rate, 5);
	assert_int_equal(c->cfg.forward_burst, 7);
	assert_int_equal(c->cfg.forward_max, 9);
	assert_int_equal(c->cfg.forward_timeout_ms, 250);
	assert_int_equal(c->cfg.prune_interval_ms, 60000);
	assert_int_equal(c->cfg.log_level, TETHER_LOG_DEBUG);
}

static void
test_full_and_round_trip(void **state)
{
	struct pm_conf c, d;
	struct tether_buf b, b2;

	(void)state;
	assert_int_equal(load(full, &c, NULL), 0);
	check_full(&c);
	tether_buf_init(&b, 1 << 16);
	tether_buf_init(&b2, 1 << 16);
	assert_int_equal(pm_conf_write(&c, &b), 0);
	assert_int_equal(pm_conf_load_mem("w.conf", b.data, b.len, NULL, &d,
					  NULL), 0);
	check_full(&d);
	assert_int_equal(pm_conf_write(&d, &b2), 0);
	assert_int_equal(b.len, b2.len);
	assert_memory_equal(b.data, b2.data, b.len);
	tether_buf_free(&b);
	tether_buf_free(&b2);
}

static void
test_errors(void **state)
{
	static const struct {
		const char *text;
		const char *first;
	} cases[] = {
		{ "listen 1.2.3.4:80",
		  "t.conf:1:8: error: listen expects IPv4 or IPv6 addresses "
		  "without a port (see 'port'), not '1.2.3.4:80'" },
		{ "listen [::1]:111",
		  "t.conf:1:8: error: listen expects IPv4 or IPv6 addresses "
		  "without a port (see 'port'), not '[::1]:111'" },
		{ "listen host.example",
		  "t.conf:1:8: error: listen expects IPv4 or IPv6 addresses "
		  "without a port (see 'port'), not 'host.example'" },
		{ "port 0", "t.conf:1:6: error: port is 1..65535, not '0'" },
		{ "port 111; port 112",
		  "t.conf:1:11: error: 'port' given twice" },
		{ "socket run/x.sock",
		  "t.conf:1:8: error: socket must be an absolute path (or "
		  "none), not 'run/x.sock'" },
		{ "state \"/a\\nb\"",
		  "t.conf:1:7: error: state must not contain control "
		  "characters" },
		{ "user \"a b\"",
		  "t.conf:1:6: error: user expects a user name (letters, "
		  "digits, _ - .; at most 63 bytes), not 'a b'" },
		{ "forward maybe",
		  "t.conf:1:9: error: forward is on or off, not 'maybe'" },
		{ "forward on rate",
		  "t.conf:1:12: error: forward expects on|off [rate N] "
		  "[burst N] [max N] [timeout DURATION]" },
		{ "forward on speed 3",
		  "t.conf:1:12: error: forward expects rate, burst, max or "
		  "timeout, not 'speed'" },
		{ "forward on timeout 5ms",
		  "t.conf:1:20: error: forward timeout is a duration of "
		  "10ms..60s (such as 500ms, 2s, 5m), not '5ms'" },
		{ "forward on max 0",
		  "t.conf:1:16: error: forward max is 1..4096, not '0'" },
		{ "prune soon",
		  "t.conf:1:7: error: prune is a duration of 100ms..86400s "
		  "(such as 500ms, 2s, 5m), not 'soon'" },
		{ "admin conns 2000",
		  "t.conf:1:13: error: admin conns is 1..1024, not '2000'" },
		{ "max-registrations total 5 per-owner 6",
		  "t.conf: error: max-registrations per-owner (6) is above "
		  "total (5)" },
		{ "log-level loud",
		  "t.conf:1:11: error: log-level is warn, info or debug, not "
		  "'loud'" },
		{ "listen", "t.conf:1:1: error: 'listen' needs at least 1 "
		  "argument" },
		{ "verbose yes",
		  "t.conf:1:1: error: unknown directive 'verbose'" },
		{ "port { 1 }",
		  "t.conf:1:6: error: 'port' does not take a block" },
		{ "control /tmp/s; socket /tmp/s",
		  "t.conf: error: control and socket are the same path "
		  "'/tmp/s'" },
		{ "listen 1.1.1.1 1.1.1.2 1.1.1.3 1.1.1.4 1.1.1.5 1.1.1.6 "
		  "1.1.1.7",
		  "t.conf:1:56: error: too many arguments to 'listen'" },
	};
	struct tether_buf diag;
	struct pm_conf c;
	size_t i;

	(void)state;
	for (i = 0; i < TETHER_ARRAY_SIZE(cases); i++) {
		tether_buf_init(&diag, 1 << 16);
		assert_int_equal(load(cases[i].text, &c, &diag),
				 -TETHER_ESYNTAX);
		assert_true(diag.len > 0);
		if (strncmp((const char *)diag.data, cases[i].first,
			    strlen(cases[i].first)) != 0)
			fail_msg("case %zu: got\n%.*s\nwant\n%s", i,
				 (int)diag.len, (const char *)diag.data,
				 cases[i].first);
		/* A failed load leaves the defaults. */
		assert_int_equal(c.cfg.port, 111);
		assert_int_equal(c.cfg.forward, 0);
		tether_buf_free(&diag);
	}
}

static void
test_several_errors(void **state)
{
	struct tether_buf diag;
	struct pm_conf c;
	const char *d;

	(void)state;
	tether_buf_init(&diag, 1 << 16);
	assert_int_equal(load("port 99999\nforward on\nprune x\n", &c, &diag),
			 -TETHER_ESYNTAX);
	d = (const char *)diag.data;
	assert_non_null(strstr(d, "t.conf:1:6: error: port is"));
	assert_non_null(strstr(d, "t.conf:3:7: error: prune is"));
	/* The source line and a caret. */
	assert_non_null(strstr(d, "\nport 99999\n     ^\n"));
	tether_buf_free(&diag);
}

static void
test_example(void **state)
{
	struct tether_buf diag;
	struct pm_conf c;

	(void)state;
	tether_buf_init(&diag, 1 << 16);
	assert_int_equal(pm_conf_load_file(TETHER_SOURCE_DIR
					   "/examples/portmap.conf", &c,
					   &diag), 0);
	assert_int_equal(diag.len, 0);
	assert_string_equal(c.cfg.ctl_path, "/run/tether-portmap.ctl");
	assert_int_equal(c.cfg.forward, 0);
	tether_buf_free(&diag);
}

static void
test_missing_file(void **state)
{
	struct tether_buf diag;
	struct pm_conf c;

	(void)state;
	tether_buf_init(&diag, 1 << 16);
	assert_tether_err(pm_conf_load_file("/nonexistent/portmap.conf", &c,
					    &diag), TETHER_ENOENT);
	assert_non_null(strstr((const char *)diag.data,
			       "/nonexistent/portmap.conf"));
	tether_buf_free(&diag);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full_and_round_trip),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_several_errors),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
