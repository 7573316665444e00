/*
 * main.c - tether-portmap: command line, listeners, state file reload,
 * detaching, privilege drop, the event loop, and the configuration
 * reload on SIGHUP. See docs/man/tether-portmap.8.
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

/* Read the configuration file into *c (a missing default file means
 * the defaults), then the options over it. Diagnostics go to stderr,
 * or to the log when to_log. Returns 0 or the error. */
static int
read_conf(const char *progname, const char *path, struct pm_conf *c,
	  int to_log)
{
	struct tether_buf diag;
	int rc, i, reset = 0;

	pm_conf_init(c);
	if (strcmp(path, PM_DEFAULT_CONF) == 0 && access(path, F_OK) < 0 &&
	    errno == ENOENT) {
		rc = 0;
	} else {
		tether_buf_init(&diag, 1u << 20);
		rc = pm_conf_load_file(path, c, &diag);
		if (diag.len > 0 && tether_buf_append(&diag, "", 1) == 0) {
			if (to_log)
				tether_log_warn_lines((const char *)diag.data);
			else
				fprintf(stderr, "%s", (const char *)diag.data);
		}
		tether_buf_free(&diag);
		if (rc < 0) {
			if (!to_log)
				fprintf(stderr, "%s: %s: %s\n", progname, path,
					tether_strerror(rc));
			return rc;
		}
	}
	for (i = 0; i < nopts; i++)
		(void)apply_opt(&c->cfg, opts[i].opt, opts[i].arg, &reset);
	return 0;
}

/* What SIGHUP needs to reload. */
struct reload {
	const char *path;
	int verbose;
	struct pm_ctx *ctx;
	struct tether_ctl **ctl;
	struct pm_prune **prune;
};

/* The control socket's path now (a reload may change it). */
static char ctl_now[PM_CONF_PATH_MAX];

static void
set_log_level(int level, int verbose)
{
	tether_log_set_level((level >= 0 ? level : TETHER_LOG_INFO) + verbose);
}

static void
log_forwarding(const struct pm_config *cfg)
{
	tether_log_info("forwarding on: local callers, %u/s burst %u, at most "
			"%u outstanding, timeout %llums", cfg->forward_rate,
			cfg->forward_burst, cfg->forward_max,
			(unsigned long long)cfg->forward_timeout_ms);
}

/* A new control path or admin settings: a new endpoint (opened before
 * the old one is closed when the path differs). Returns 0, or -1 when
 * the old settings were kept. */
static int
reload_ctl(struct reload *r, struct tether_loop *loop,
	   const struct pm_config *want)
{
	struct pm_ctx *ctx = r->ctx;
	struct pm_config old = ctx->cfg;
	struct tether_ctl *nc = NULL;
	char err[512];
	int same;

	/* The same path, and the socket file still there: one removed
	 * (a tmpfiles cleanup, an operator's rm) or replaced is bound
	 * again, as for a new path. */
	same = strcmp(old.ctl_path, want->ctl_path) == 0;
	if (same && *r->ctl != NULL && !tether_ctl_path_ours(*r->ctl)) {
		tether_log_info("reload: control socket %s was removed or "
				"replaced: binding it again", old.ctl_path);
		same = 0;
	}
	ctx->cfg.ctl_path = want->ctl_path;
	ctx->cfg.admin_timeout_ms = want->admin_timeout_ms;
	ctx->cfg.admin_conns = want->admin_conns;
	if (same) {
		/* Same socket, new limits: never closed and bound again
		 * (after a privilege drop that could fail and lose it). */
		if (*r->ctl != NULL)
			tether_ctl_set_limits(*r->ctl, want->admin_timeout_ms,
					      want->admin_conns);
		ctx->cfg.ctl_path = old.ctl_path;	/* ctl_now */
		return 0;
	}
	/* A new path is opened before the old one is closed: if it
	 * cannot be (say, a directory the dropped user may not write),
	 * the old socket and settings stay. */
	if (pm_ctl_open(&nc, ctx, loop, err, sizeof(err)) < 0) {
		tether_log_warnx("reload: %s; keeping the old control settings",
				 err);
		ctx->cfg.ctl_path = old.ctl_path;
		ctx->cfg.admin_timeout_ms = old.admin_timeout_ms;
		ctx->cfg.admin_conns = old.admin_conns;
		return -1;
	}
	pm_ctl_close(*r->ctl);
	*r->ctl = nc;
	snprintf(ctl_now, sizeof(ctl_now), "%s", want->ctl_path);
	ctx->cfg.ctl_path = ctl_now;
	return 0;
}

/*
 * SIGHUP: parse and check the file again. With errors, log them and
 * keep everything. Otherwise apply what can change while running and
 * log each setting that needs a restart (kept at its old value). The
 * registrations, the state file, connections and calls being forwarded
 * are not touched.
 */
static void
on_hup(struct tether_loop *loop, int signo, void *ud)
{
	static struct pm_conf next;	/* ctx->cfg never points into it */
	struct reload *r = ud;
	struct pm_ctx *ctx = r->ctx;
	struct pm_config want, old = ctx->cfg;
	char was[PM_SETTING_VALUE_MAX], now[PM_SETTING_VALUE_MAX];
	char err[512], old_ctl[PM_CONF_PATH_MAX];
	uint32_t diff, failed = 0;
	int s, changed = 0, kept = 0, rc;

	(void)signo;
	tether_log_info("SIGHUP: reloading configuration from %s", r->path);
	rc = read_conf(NULL, r->path, &next, 1);
	if (rc < 0) {
		tether_log_warnx("reload of %s failed: %s; keeping the running "
				 "configuration", r->path, tether_strerror(rc));
		return;
	}
	/* old.ctl_path points to ctl_now, which reload_ctl rewrites. */
	snprintf(old_ctl, sizeof(old_ctl), "%s", old.ctl_path);
	old.ctl_path = old_ctl;
	diff = pm_conf_diff(&ctx->cfg, &next.cfg);
	want = next.cfg;
	/* What needs a restart keeps its running value. */
	memcpy(want.listen, old.listen, sizeof(want.listen));
	want.nlisten = old.nlisten;
	want.port = old.port;
	want.sock_path = old.sock_path;
	want.state_path = old.state_path;
	want.user = old.user;

	if ((diff & ((1u << PM_SET_CONTROL) | (1u << PM_SET_ADMIN_TIMEOUT) |
		     (1u << PM_SET_ADMIN_CONNS))) ||
	    (*r->ctl != NULL && !tether_ctl_path_ours(*r->ctl)))
		if (reload_ctl(r, loop, &want) < 0)
			failed |= (1u << PM_SET_CONTROL) |
				  (1u << PM_SET_ADMIN_TIMEOUT) |
				  (1u << PM_SET_ADMIN_CONNS);
	ctx->cfg.max_total = want.max_total;
	ctx->cfg.max_per_owner = want.max_per_owner;
	ctx->reg.max_total = want.max_total;
	ctx->reg.max_per_owner = want.max_per_owner;
	ctx->cfg.forward = want.forward;
	ctx->cfg.forward_rate = want.forward_rate;
	ctx->cfg.forward_burst = want.forward_burst;
	ctx->cfg.forward_max = want.forward_max;
	ctx->cfg.forward_timeout_ms = want.forward_timeout_ms;
	if (ctx->cfg.forward &&
	    pm_fwd_apply(ctx, loop, err, sizeof(err)) < 0) {
		tether_log_warnx("reload: %s; forwarding stays off", err);
		ctx->cfg.forward = 0;
		failed |= 1u << PM_SET_FORWARD;
	} else if (ctx->cfg.forward && (diff & (1u << PM_SET_FORWARD))) {
		log_forwarding(&ctx->cfg);
	}
	ctx->cfg.prune_interval_ms = want.prune_interval_ms;
	if (diff & (1u << PM_SET_PRUNE) &&
	    pm_prune_apply(r->prune, ctx, loop) < 0) {
		tether_log_warnx("reload: pruning: out of memory; prune "
				 "stays off");
		ctx->cfg.prune_interval_ms = 0;
		failed |= 1u << PM_SET_PRUNE;
	}
	ctx->cfg.log_level = want.log_level;
	set_log_level(ctx->cfg.log_level, r->verbose);

	for (s = 0; s < PM_SETTING_COUNT; s++) {
		if (!(diff & (1u << s)))
			continue;
		pm_setting_value(&old, (enum pm_setting)s, was, sizeof(was));
		pm_setting_value(&next.cfg, (enum pm_setting)s, now,
				 sizeof(now));
		if (pm_setting_needs_restart((enum pm_setting)s)) {
			tether_log_warnx("reload: %s changed from '%s' to '%s': "
					 "needs a restart; keeping '%s'",
					 pm_setting_name((enum pm_setting)s),
					 was, now, was);
			kept++;
		} else if (failed & (1u << s)) {
			kept++;
		} else {
			tether_log_info("reload: %s: '%s' -> '%s'",
					pm_setting_name((enum pm_setting)s),
					was, now);
			changed++;
		}
	}
	tether_log_info("reloaded configuration from %s: %d setting%s "
			"changed, %d not applied (restart needed or failed)",
			r->path, changed, changed == 1 ? "" : "s", kept);
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
	struct reload rl;
	char *conf_abs = NULL;
	char err[512];
	int rc, status = 1, ready = -1;

	/* Started with stdin, stdout or stderr closed, syslog's socket, a
	 * listener or the detach socket would take that number, and a
	 * message (or tether_daemon_detached's dup2) would go to it.
	 * Without /dev/null there is nothing better to put there: go on. */
	(void)tether_daemon_std_fds();
	/* A signal during startup waits for the loop's handler. */
	tether_daemon_hold_signals();
	if (tether_daemon_parse_opts(&spec, argc, argv, &o) < 0 || o.exit_now)
		return o.exit_status;
	tether_log_init(spec.name, o.foreground || o.check_only,
			TETHER_LOG_INFO + o.verbose);
	/* Detached, the log goes to syslog; until the daemon serves, its
	 * warnings (why it does not start) reach whoever starts it too. */
	tether_log_tee_stderr(1);
	if (read_conf(spec.name, o.conf_path, &conf, 0) < 0)
		return 1;
	if (o.check_only) {
		puts(TETHER_DAEMON_CONFIG_OK);
		return 0;
	}
	if (conf.cfg.log_level >= 0)
		set_log_level(conf.cfg.log_level, o.verbose);
	if (pm_ctx_init(&ctx, &conf.cfg) < 0)
		tether_fatalx("out of memory");
	snprintf(ctl_now, sizeof(ctl_now), "%s",
		 ctx.cfg.ctl_path != NULL ? ctx.cfg.ctl_path : "");
	ctx.cfg.ctl_path = ctl_now;
	/* SIGHUP reads the file again after detaching moved to "/": a
	 * relative -f path must be made absolute now, its links left to
	 * each reload (one switched since the start is followed). */
	rl.path = tether_daemon_abs_path(o.conf_path, &conf_abs) == 0 ?
		  conf_abs : o.conf_path;
	rl.verbose = o.verbose;
	rl.ctx = &ctx;
	rl.ctl = &ctl;
	rl.prune = &prune;
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
		log_forwarding(&ctx.cfg);
	if ((rc = pm_ctl_open(&ctl, &ctx, loop, err, sizeof(err))) < 0) {
		tether_log_warnx("cannot listen: %s", err);
		goto out;
	}
	load_state(&ctx);
	if ((rc = pm_prune_open(&prune, &ctx, loop)) < 0)
		tether_fatalx("pruning: %s", tether_strerror(rc));
	/* The sockets are bound before the fork, as they were before
	 * daemon(): port 111 needs root, a relative socket path is the
	 * caller's, and LISTEN_PID names this process. From here a
	 * failure exits 1 in the child, and the command with it. */
	if (!o.foreground && (ready = tether_daemon_detach()) < 0)
		tether_fatalx("cannot detach: %s", tether_strerror(ready));
	if (conf.cfg.user != NULL &&
	    tether_priv_drop(conf.cfg.user, NULL, err, sizeof(err)) < 0)
		tether_fatalx("dropping privileges: %s", err);
	if (tether_loop_signal_add(loop, SIGTERM, on_signal, NULL) < 0 ||
	    tether_loop_signal_add(loop, SIGINT, on_signal, NULL) < 0 ||
	    tether_loop_signal_add(loop, SIGHUP, on_hup, &rl) < 0)
		tether_fatalx("cannot handle signals");
	signal(SIGPIPE, SIG_IGN);
	tether_log_info("ready: %zu registrations", ctx.reg.n);
	if (ready >= 0 && (rc = tether_daemon_detached(ready)) < 0)
		tether_log_warnx("telling the parent we started: %s",
				 tether_strerror(rc));
	tether_log_tee_stderr(0);
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
	tether_free(conf_abs);
	return status;
}
