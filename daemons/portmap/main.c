/*
 * main.c - tether-portmap: command line, listeners, state file reload,
 * privilege drop, and the event loop. See docs/man/tether-portmap.8.
 */
#include "pm.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The configuration file's settings, then the command line's over them. */
static struct pm_conf conf;

/* The command line's options, kept to be applied after the file. */
#define MAX_OPTS 64
static struct {
	int opt;
	const char *arg;
} opts[MAX_OPTS];
static int nopts;

static int
parse_size(const char *arg, size_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || *end || end == arg || v == 0 || v > 1000000)
		return -TETHER_ERANGE;
	*out = v;
	return 0;
}

/* Apply one option to c; also how options are checked while parsing. */
static int
apply_opt(struct pm_config *c, int opt, const char *arg, int *listen_reset)
{
	size_t v;

	switch (opt) {
	case 's':
		c->sock_path = arg;
		return 0;
	case 'S':
		c->state_path = arg;
		return 0;
	case 'u':
		c->user = arg;
		return 0;
	case 'C':
		c->ctl_path = arg;
		return 0;
	case 'F':
		c->forward = 1;
		return 0;
	case 'a':
		/* -a replaces the file's listen addresses. */
		if (!*listen_reset) {
			c->nlisten = 0;
			*listen_reset = 1;
		}
		if (c->nlisten == PM_MAX_LISTEN)
			return -TETHER_ENOSPC;
		c->listen[c->nlisten++] = arg;
		return 0;
	case 'p':
		if (parse_size(arg, &v) < 0 || v > 65535)
			return -TETHER_ERANGE;
		c->port = (int)v;
		return 0;
	case 'm':
		return parse_size(arg, &c->max_total);
	case 'M':
		return parse_size(arg, &c->max_per_owner);
	default:
		return -TETHER_EINVAL;
	}
}

static int
opt_fn(int opt, const char *arg, void *ud)
{
	static struct pm_config scratch;
	static int reset;
	int rc;

	(void)ud;
	rc = apply_opt(&scratch, opt, arg, &reset);
	if (rc < 0)
		return rc;
	if (nopts == MAX_OPTS)
		return -TETHER_ENOSPC;
	opts[nopts].opt = opt;
	opts[nopts].arg = arg;
	nopts++;
	return 0;
}

/* Read the configuration file (a missing default file means the
 * defaults), then the options over it. Returns 0, or 1 after printing
 * the diagnostics. */
static int
load_conf(const char *progname, const char *path)
{
	struct tether_buf diag;
	int rc, i, reset = 0;

	pm_conf_init(&conf);
	if (strcmp(path, PM_DEFAULT_CONF) == 0 && access(path, F_OK) < 0 &&
	    errno == ENOENT) {
		rc = 0;
	} else {
		tether_buf_init(&diag, 1u << 20);
		rc = pm_conf_load_file(path, &conf, &diag);
		if (diag.len > 0)
			fprintf(stderr, "%.*s", (int)diag.len,
				(const char *)diag.data);
		tether_buf_free(&diag);
		if (rc < 0) {
			fprintf(stderr, "%s: %s: %s\n", progname, path,
				tether_strerror(rc));
			return 1;
		}
	}
	for (i = 0; i < nopts; i++)
		(void)apply_opt(&conf.cfg, opts[i].opt, opts[i].arg, &reset);
	return 0;
}

static void
on_signal(struct tether_loop *loop, int signo, void *ud)
{
	(void)ud;
	tether_log_info("signal %d: exiting", signo);
	tether_loop_stop(loop);
}

/* Reload the state file; a bad one is kept aside and we start empty. */
static void
load_state(struct pm_ctx *ctx)
{
	char err[512], aside[4096];
	size_t before = ctx->reg.n;
	int rc;

	if (conf.cfg.state_path[0] == '\0')
		return;

	rc = reg_load(&ctx->reg, conf.cfg.state_path, err, sizeof(err));
	if (rc == 0) {
		tether_log_info("%zu registrations restored from %s",
				ctx->reg.n - before, conf.cfg.state_path);
	} else if (rc == -TETHER_EBADMSG) {
		snprintf(aside, sizeof(aside), "%s.bad", conf.cfg.state_path);
		tether_log_warnx("state file rejected: %s; kept as %s, "
				 "starting with no registrations",
				 err, aside);
		if (rename(conf.cfg.state_path, aside) < 0)
			tether_log_warn("rename %s", aside);
	} else {
		tether_log_warnx("state file not read: %s; starting with no "
				 "registrations",
				 err);
	}
	ctx->saved_changes = ctx->reg.changes;
	if (rc != 0) {
		/* Write a good file now so the next start finds one. */
		ctx->saved_changes--;
		if (pm_save_if_changed(ctx, err, sizeof(err)) < 0)
			tether_log_warnx("state file not saved: %s", err);
	}
}

int
main(int argc, char **argv)
{
	static const struct tether_daemon_spec spec = {
		.name = "tether-portmap",
		.version = "0.1.0",
		.default_conf = PM_DEFAULT_CONF,
		.usage = "[-a addr] [-p port] [-s socket] [-S statefile] "
			 "[-u user] [-m max] [-M max-per-owner] [-C control] [-F]",
		.help = "  -a ADDR     listen on ADDR (repeatable; default :: "
			"and 0.0.0.0)\n"
			"  -p PORT     UDP and TCP port (111)\n"
			"  -s PATH     local socket (" PM_DEFAULT_SOCK
			"; \"\" for none)\n"
			"  -S FILE     state file (" PM_DEFAULT_STATE
			"; \"\" for none)\n"
			"  -u USER     drop privileges to USER after binding\n"
			"  -m N        at most N registrations (4096)\n"
			"  -M N        at most N registrations per owner "
			"(256)\n"
			"  -C PATH     control socket for tetherctl (none)\n"
			"  -F          forward CALLIT/BCAST/INDIRECT (from "
			"local callers)\n"
			"Options override the configuration file.\n",
		.extra_opts = "a:p:s:S:u:m:M:C:F",
		.extra_fn = opt_fn,
	};
	struct tether_daemon_opts o;
	struct tether_loop *loop = NULL;
	struct pm_net *net = NULL;
	struct tether_ctl *ctl = NULL;
	struct pm_prune *prune = NULL;
	struct pm_ctx ctx;
	char err[512];
	int rc, status = 1;

	if (tether_daemon_parse_opts(&spec, argc, argv, &o) < 0 || o.exit_now)
		return o.exit_status;
	tether_log_init(spec.name, o.foreground || o.check_only,
			TETHER_LOG_INFO + o.verbose);
	if (load_conf(spec.name, o.conf_path) != 0)
		return 1;
	if (o.check_only) {
		puts(TETHER_DAEMON_CONFIG_OK);
		return 0;
	}
	if (conf.cfg.log_level >= 0)
		tether_log_set_level(conf.cfg.log_level + o.verbose);
	if (pm_ctx_init(&ctx, &conf.cfg) < 0)
		tether_fatalx("out of memory");
	if ((rc = tether_loop_new(&loop, NULL)) < 0)
		tether_fatalx("event loop: %s", tether_strerror(rc));
	if ((rc = pm_net_open(&net, &ctx, loop, err, sizeof(err))) < 0) {
		tether_log_warnx("cannot listen: %s", err);
		goto out;
	}
	if ((rc = pm_fwd_open(&ctx, loop, err, sizeof(err))) < 0) {
		tether_log_warnx("%s", err);
		goto out;
	}
	if (ctx.cfg.forward)
		tether_log_info("forwarding on: local callers, %u/s burst "
				"%u, at most %u outstanding, timeout %llums",
				ctx.cfg.forward_rate, ctx.cfg.forward_burst,
				ctx.cfg.forward_max,
				(unsigned long long)ctx.cfg.forward_timeout_ms);
	if ((rc = pm_ctl_open(&ctl, &ctx, loop, err, sizeof(err))) < 0) {
		tether_log_warnx("cannot listen: %s", err);
		goto out;
	}
	load_state(&ctx);
	if ((rc = pm_prune_open(&prune, &ctx, loop)) < 0)
		tether_fatalx("pruning: %s", tether_strerror(rc));
	if (conf.cfg.user != NULL &&
	    tether_priv_drop(conf.cfg.user, NULL, err, sizeof(err)) < 0)
		tether_fatalx("dropping privileges: %s", err);
	if (!o.foreground && daemon(0, 0) < 0)
		tether_fatal("daemon");
	if (tether_loop_signal_add(loop, SIGTERM, on_signal, NULL) < 0 ||
	    tether_loop_signal_add(loop, SIGINT, on_signal, NULL) < 0)
		tether_fatalx("cannot handle signals");
	signal(SIGPIPE, SIG_IGN);
	tether_log_info("ready: %zu registrations", ctx.reg.n);
	rc = tether_loop_run(loop);
	status = rc < 0 ? 1 : 0;
	{
		int i;

		for (i = 0; i < PM_REJ_MAX; i++)
			if (ctx.rejected[i])
				tether_log_info(
					"rejected %s: %llu", pm_reject_name(i),
					(unsigned long long)ctx.rejected[i]);
	}
out:
	pm_prune_close(prune);
	pm_ctl_close(ctl);
	pm_fwd_close(&ctx);
	pm_net_close(net);
	tether_loop_free(loop);
	pm_ctx_free(&ctx);
	return status;
}
