/*
 * fuzz_pmconf.c - tether-portmap's configuration parser on arbitrary
 * text (includes disabled). Checks that a rejected file says why and
 * leaves the defaults, that an accepted one obeys the parser's bounds,
 * and that it written out and loaded again gives the same text.
 */
#include "pm.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define FUZZ_MAX_INPUT (64u << 10)

static void
check_invariants(const struct pm_conf *c)
{
	const struct pm_config *g = &c->cfg;
	int i;

	CHECK(g->port >= 1 && g->port <= 65535);
	CHECK(g->nlisten >= 0 && g->nlisten <= PM_MAX_LISTEN);
	for (i = 0; i < g->nlisten; i++)
		CHECK(g->listen[i] == c->listen[i] && c->listen[i][0] != '\0');
	CHECK(g->sock_path == c->sock && g->state_path == c->state &&
	      g->ctl_path == c->ctl);
	CHECK(c->sock[0] == '\0' || c->sock[0] == '/');
	CHECK(c->state[0] == '\0' || c->state[0] == '/');
	CHECK(c->ctl[0] == '\0' || c->ctl[0] == '/');
	CHECK(g->max_total >= 1 && g->max_per_owner >= 1 &&
	      g->max_per_owner <= g->max_total);
	CHECK(g->forward == 0 || g->forward == 1);
	CHECK(g->forward_rate >= 1 && g->forward_burst >= 1);
	CHECK(g->forward_max >= 1 && g->forward_max <= PM_FWD_MAX_MAX);
	CHECK(g->forward_timeout_ms >= 10 && g->forward_timeout_ms <= 60000);
	CHECK(g->prune_interval_ms == 0 || g->prune_interval_ms >= 100);
	CHECK(g->admin_timeout_ms >= 100 && g->admin_conns >= 1);
	CHECK(g->log_level >= -1 && g->log_level <= TETHER_LOG_DEBUG);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pm_conf c, c2;
	struct tether_conf_limits lim;
	struct tether_buf diag, t1, t2;
	int err;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	memset(&lim, 0, sizeof(lim));
	lim.flags = TETHER_CONF_NO_INCLUDE;
	tether_buf_init(&diag, 1u << 20);
	tether_buf_init(&t1, 1u << 20);
	tether_buf_init(&t2, 1u << 20);
	err = pm_conf_load_mem("fuzz.conf", data, size, &lim, &c, &diag);
	CHECK(err == 0 || err == -TETHER_ESYNTAX || err == -TETHER_EMSGSIZE);
	if (err < 0) {
		CHECK(diag.len > 0 && strstr((const char *)diag.data,
					     "error: ") != NULL);
		CHECK(c.cfg.port == 111 && c.cfg.forward == 0 &&
		      c.cfg.nlisten == 0);
		goto out;
	}
	check_invariants(&c);
	CHECK(pm_conf_write(&c, &t1) == 0);
	err = pm_conf_load_mem("again.conf", t1.data, t1.len, &lim, &c2,
			       NULL);
	if (err != 0)
		fprintf(stderr, "rewritten text rejected:\n%.*s\n",
			(int)t1.len, (const char *)t1.data);
	CHECK(err == 0);
	check_invariants(&c2);
	CHECK(pm_conf_write(&c2, &t2) == 0);
	CHECK(t1.len == t2.len && memcmp(t1.data, t2.data, t1.len) == 0);
out:
	tether_buf_free(&diag);
	tether_buf_free(&t1);
	tether_buf_free(&t2);
	return 0;
}
