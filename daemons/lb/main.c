/*
 * main.c - tether-lb's entry point: the common daemon command line,
 * configuration loading and checking (-n), then the proxy.
 */
#include "lb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct tether_daemon_spec lb_spec = {
	.name = "tether-lb",
	.version = "0.1.0",
	.default_conf = LB_DEFAULT_CONF,
	.help = "  With no -f, " LB_DEFAULT_CONF " is read; tether-lb does "
		"not start\n  without a configuration (see examples/lb.conf).\n",
};

int
main(int argc, char **argv)
{
	struct tether_daemon_opts o;
	struct tether_buf diag;
	struct lb_conf *conf = NULL;
	int err;

	if (tether_daemon_parse_opts(&lb_spec, argc, argv, &o) < 0 ||
	    o.exit_now)
		return o.exit_status;
	tether_log_init(lb_spec.name, o.foreground || o.check_only,
			TETHER_LOG_INFO + o.verbose);
	tether_buf_init(&diag, 1u << 20);
	err = lb_conf_load_file(o.conf_path, &conf, &diag);
	if (diag.len > 0)
		fputs((const char *)diag.data, stderr);
	tether_buf_free(&diag);
	if (err < 0) {
		if (err == -TETHER_ENOMEM)
			fprintf(stderr, "%s: out of memory\n", lb_spec.name);
		fprintf(stderr, "%s: %s: configuration not loaded\n",
			lb_spec.name, o.conf_path);
		return 1;
	}
	if (o.check_only) {
		if (o.verbose > 0) {
			struct tether_buf out;

			tether_buf_init(&out, 1u << 24);
			if (lb_conf_write(conf, &out) == 0 && out.len > 0)
				fputs((const char *)out.data, stdout);
			tether_buf_free(&out);
		}
		puts(TETHER_DAEMON_CONFIG_OK);
		lb_conf_free(conf);
		return 0;
	}
	fprintf(stderr, "%s: the data path is not built yet\n", lb_spec.name);
	lb_conf_free(conf);
	return 1;
}
