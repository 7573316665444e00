/*
 * fuzz_lb.h - what the tether-lb fuzz targets that need a running proxy
 * share (fuzz_lbctl, fuzz_lbmetrics): a loop and a configuration
 * loaded from text, every listen on an ephemeral port (the fuzzer may
 * run beside anything), and the proxy built from it. Abort on failure:
 * the text is the target's own.
 */
#ifndef TETHER_FUZZ_LB_H
#define TETHER_FUZZ_LB_H

#include "lb.h"

#include <stdio.h>
#include <stdlib.h>

static void
fuzz_lb_load(const char *text, size_t len, struct tether_loop **loop,
	     struct lb_conf **conf)
{
	size_t i, j;

	tether_log_init("fuzz", 1, TETHER_LOG_FATAL);
	if (tether_loop_new(loop, NULL) < 0 ||
	    lb_conf_load_mem("fuzz.conf", text, len, conf, NULL) < 0)
		abort();
	for (i = 0; i < (*conf)->nservices; i++)
		for (j = 0; j < (*conf)->services[i].nlistens; j++) {
			struct lb_conf_listen *l =
				&(*conf)->services[i].listens[j];

			l->port_lo = l->port_hi = 0;
			(void)tether_addr_set_port(&l->addr, 0);
		}
}

/* The proxy of conf on loop; name (the target's) prefixes the reason
 * it could not be built. */
static struct lb_proxy *
fuzz_lb_proxy(const char *name, struct tether_loop *loop,
	      const struct lb_conf *conf)
{
	struct lb_proxy *px;
	char err[256];

	if (lb_proxy_new(&px, loop, conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", name, err);
		abort();
	}
	return px;
}

#endif /* TETHER_FUZZ_LB_H */
