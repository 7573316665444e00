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

/* What a reload compares: each setting alone, names, restart flags. */
static void
test_diff(void **state)
{
	static const struct {
		const char *text;
		enum pm_setting s;
		const char *was, *now;
	} one[] = {
		{ "listen 127.0.0.1 ::1\n", PM_SET_LISTEN, "0.0.0.0 ::",
		  "127.0.0.1 ::1" },
		{ "port 1111\n", PM_SET_PORT, "111", "1111" },
		{ "socket none\n", PM_SET_SOCKET, PM_DEFAULT_SOCK, "none" },
		{ "state /tmp/s\n", PM_SET_STATE, PM_DEFAULT_STATE, "/tmp/s" },
		{ "user nobody\n", PM_SET_USER, "none", "nobody" },
		{ "control /tmp/c\n", PM_SET_CONTROL, "none", "/tmp/c" },
		{ "admin timeout 2s\n", PM_SET_ADMIN_TIMEOUT, "10000ms",
		  "2000ms" },
		{ "admin conns 3\n", PM_SET_ADMIN_CONNS, "16", "3" },
		{ "max-registrations total 500\n", PM_SET_MAX_TOTAL, "4096",
		  "500" },
		{ "max-registrations per-owner 5\n", PM_SET_MAX_PER_OWNER,
		  "256", "5" },
		{ "forward on\n", PM_SET_FORWARD, "off", "on" },
		{ "forward off rate 3\n", PM_SET_FORWARD_RATE, "20", "3" },
		{ "forward off burst 4\n", PM_SET_FORWARD_BURST, "40", "4" },
		{ "forward off max 5\n", PM_SET_FORWARD_MAX, "64", "5" },
		{ "forward off timeout 1s\n", PM_SET_FORWARD_TIMEOUT,
		  "3000ms", "1000ms" },
		{ "prune 5m\n", PM_SET_PRUNE, "off", "300000ms" },
		{ "log-level debug\n", PM_SET_LOG_LEVEL, "default", "debug" },
	};
	char v[PM_SETTING_VALUE_MAX];
	struct pm_conf a, b;
	size_t i;

	(void)state;
	assert_int_equal(TETHER_ARRAY_SIZE(one), PM_SETTING_COUNT);
	assert_int_equal(load("", &a, NULL), 0);
	assert_int_equal(pm_conf_diff(&a.cfg, &a.cfg), 0);
	for (i = 0; i < TETHER_ARRAY_SIZE(one); i++) {
		assert_int_equal(load(one[i].text, &b, NULL), 0);
		assert_int_equal(pm_conf_diff(&a.cfg, &b.cfg), 1u << one[i].s);
		assert_int_equal(pm_conf_diff(&b.cfg, &a.cfg), 1u << one[i].s);
		pm_setting_value(&a.cfg, one[i].s, v, sizeof(v));
		assert_string_equal(v, one[i].was);
		pm_setting_value(&b.cfg, one[i].s, v, sizeof(v));
		assert_string_equal(v, one[i].now);
		/* The name is the directive (and its key) as written. */
		assert_true(strncmp(one[i].text, pm_setting_name(one[i].s),
				    strlen(pm_setting_name(one[i].s))) == 0 ||
			    one[i].s == PM_SET_FORWARD_RATE ||
			    one[i].s == PM_SET_FORWARD_BURST ||
			    one[i].s == PM_SET_FORWARD_MAX ||
			    one[i].s == PM_SET_FORWARD_TIMEOUT ||
			    one[i].s == PM_SET_ADMIN_TIMEOUT ||
			    one[i].s == PM_SET_ADMIN_CONNS ||
			    one[i].s == PM_SET_MAX_TOTAL ||
			    one[i].s == PM_SET_MAX_PER_OWNER);
		assert_int_equal(pm_setting_needs_restart(one[i].s),
				 one[i].s <= PM_SET_USER);
	}
	assert_string_equal(pm_setting_name(PM_SET_FORWARD_RATE),
			    "forward rate");
	assert_string_equal(pm_setting_name(PM_SETTING_COUNT), "?");
	assert_int_equal(pm_setting_needs_restart(PM_SETTING_COUNT), 0);

	/* Several at once; the order of listen addresses matters (it is
	 * the order the sockets are bound in), comments do not. */
	assert_int_equal(load("listen 127.0.0.1 ::1\nport 1111\n"
			      "forward on rate 9\n", &a, NULL), 0);
	assert_int_equal(load("# a comment\nlisten ::1 127.0.0.1\n"
			      "port 1111; forward on rate 9\n", &b, NULL), 0);
	assert_int_equal(pm_conf_diff(&a.cfg, &b.cfg), 1u << PM_SET_LISTEN);
	assert_int_equal(load("listen 127.0.0.1 ::1\nport 1112\n"
			      "forward off rate 8\nlog-level warn\n", &b,
			      NULL), 0);
	assert_int_equal(pm_conf_diff(&a.cfg, &b.cfg),
			 1u << PM_SET_PORT | 1u << PM_SET_FORWARD |
			 1u << PM_SET_FORWARD_RATE | 1u << PM_SET_LOG_LEVEL);
}

/* Every listen address and the longest path fit a value buffer, so two
 * configurations differing only at the end still differ. */
static void
test_diff_long_values(void **state)
{
	char text[4096], path[PM_CONF_PATH_MAX];
	struct pm_conf a, b;
	size_t n = 0;
	int i;

	(void)state;
	/* One address a line: a listen line takes at most 6. */
	for (i = 0; i < PM_MAX_LISTEN - 1; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "listen 1111:2222:3333:4444:5555:6666:"
				      "7777:%d\n", 1000 + i);
	snprintf(text + n, sizeof(text) - n, "listen 10.0.0.1\n");
	assert_int_equal(load(text, &a, NULL), 0);
	snprintf(text + n, sizeof(text) - n, "listen 10.0.0.2\n");
	assert_int_equal(load(text, &b, NULL), 0);
	assert_int_equal(pm_conf_diff(&a.cfg, &b.cfg), 1u << PM_SET_LISTEN);

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	snprintf(text, sizeof(text), "state %s\n", path);
	assert_int_equal(load(text, &a, NULL), 0);
	path[sizeof(path) - 2] = 'b';
	snprintf(text, sizeof(text), "state %s\n", path);
	assert_int_equal(load(text, &b, NULL), 0);
	assert_int_equal(pm_conf_diff(&a.cfg, &b.cfg), 1u << PM_SET_STATE);
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
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_diff_long_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
