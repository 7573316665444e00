/*
 * main.c - tether-lb's entry point: the common daemon command line,
 * configuration loading and checking (-n), then the proxy.
 */
#include "lb.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct tether_daemon_spec lb_spec = {
	.name = "tether-lb",
	.version = "0.1.0",
	.default_conf = LB_DEFAULT_CONF,
	.help = "  With no -f, " LB_DEFAULT_CONF " is read; when it does not "
		"exist,\n  tether-lb starts with no services (write the file, "
		"then send SIGHUP;\n  see examples/lb.conf).\n"
		"  Without -d it detaches and logs to syslog.\n",
};

static void
on_stop(struct tether_loop *loop, int signo, void *ud)
{
	(void)ud;
	tether_log_info("signal %d: stopping", signo);
	tether_loop_stop(loop);
}

/* A tether code that came from a file's open, read or unlink, in the
 * system's words ("No such file or directory", as the diagnostics
 * above it say), tether's own for the others. */
static const char *
file_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case TETHER_ENOENT:
		return strerror(ENOENT);
	case TETHER_EACCES:
		return strerror(EACCES);
	case TETHER_EPERM:
		return strerror(EPERM);
	case TETHER_EIO:
		return strerror(EIO);
	case TETHER_EBUSY:
		return strerror(EBUSY);
	case TETHER_EMSGSIZE:
		return strerror(EFBIG);
	default:
		return tether_strerror(err);
	}
}

/* What SIGHUP needs to reload. */
struct run_state {
	const char *path;
	int verbose;
	struct lb_conf *conf;
	struct lb_proxy *px;
	/* The start-only settings in force: those of the configuration
	 * started with (a reload's conf may name others, and that of the
	 * start is freed once a reload replaced it). */
	char pidfile[LB_PATH_MAX];
	char user[LB_NAME_MAX];
};

/* s quoted, or "none" when empty. */
static const char *
quoted(char *buf, size_t len, const char *s)
{
	if (s[0] == '\0')
		return "none";
	snprintf(buf, len, "'%s'", s);
	return buf;
}

/*
 * pidfile and user act at start only: the pidfile is opened and locked
 * by the process that serves, and privileges once dropped do not come
 * back. A reload that names others says so, as io-uring-buffers does,
 * rather than seem to have taken them (the file tether-lb removes at
 * exit and the user it runs as stay those of the start). Warned at each
 * reload until the file and the process agree again.
 */
static void
warn_start_only(const char *what, const char *now, const char *then)
{
	char a[LB_PATH_MAX + 2], b[LB_PATH_MAX + 2];

	if (strcmp(now, then) == 0)
		return;
	tether_log_warnx("%s changed to %s: needs a restart; keeping %s", what,
			 quoted(a, sizeof(a), now), quoted(b, sizeof(b), then));
}

/* SIGHUP: parse and check the file again; swap it in only if good. */
static void
on_hup(struct tether_loop *loop, int signo, void *ud)
{
	struct run_state *st = ud;
	struct lb_conf *conf = NULL;
	struct tether_buf diag;
	const char *dp, *kr;
	char errbuf[256];
	int err;

	(void)loop;
	(void)signo;
	tether_log_info("SIGHUP: reloading %s", st->path);
	tether_buf_init(&diag, 1u << 20);
	err = lb_conf_load_file(st->path, &conf, &diag);
	if (diag.len > 0)
		tether_log_warn_lines((const char *)diag.data);
	tether_buf_free(&diag);
	if (err == -TETHER_ESYNTAX) {
		tether_log_warnx("reload failed: errors in %s (above); "
				 "configuration unchanged", st->path);
		return;
	}
	if (err < 0) {
		/* The file itself (open, read, size): its path and the
		 * system's words, as the diagnostic above says them. */
		tether_log_warnx("reload failed: %s: %s; configuration "
				 "unchanged", st->path, err == -TETHER_ENOMEM ?
				 tether_strerror(err) : file_strerror(err));
		return;
	}
	err = lb_proxy_reload(&st->px, conf, st->conf, errbuf,
			      sizeof(errbuf));
	if (err < 0) {
		tether_log_warnx("reload failed: %s; configuration unchanged",
				 errbuf);
		lb_conf_free(conf);
		return;
	}
	st->conf = conf;
	tether_log_set_level(conf->log_level + st->verbose);
	warn_start_only("pidfile", conf->pidfile, st->pidfile);
	warn_start_only("user", conf->user, st->user);
	dp = lb_proxy_data_path(st->px);
	kr = lb_proxy_kernel_relay(st->px);
	tether_log_info("reloaded: %zu service(s), %zu TCP and %zu UDP "
			"socket(s), data path %s%s", conf->nservices,
			st->px->nlisteners, st->px->udp.nlisteners, dp, kr);
}

/* Two descriptors a proxied connection, one a UDP flow: take the open
 * files the hard limit allows (as HAProxy does), not the usual soft
 * 1024. Best effort: the limits in force are what the proxy then
 * counts with. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		tether_log_debug("open files: keeping the soft limit: %s",
				 strerror(errno));
}

/*
 * At exit, after the proxy closed the control socket (whose unlink,
 * in the library, is not checked), when its file was still its own
 * just before: a socket file still at its path is one that could not
 * be removed, typically because `user` dropped the right to write its
 * directory. Try once more to say why; a restart replaces a stale
 * socket anyway, but it should not pass unseen.
 */
static void
check_ctl_removed(const char *path, const char *user)
{
	struct stat sb;

	if (path[0] == '\0' || lstat(path, &sb) < 0 || !S_ISSOCK(sb.st_mode))
		return;
	if (unlink(path) == 0 || errno == ENOENT)
		return;
	tether_log_warn("cannot remove control socket %s%s%s%s", path,
			user[0] != '\0' ? " (running as " : "", user,
			user[0] != '\0' ? ")" : "");
}

/* Run conf until SIGINT or SIGTERM; *confp may be replaced by reloads
 * (the caller frees whatever it holds at the end). Returns the exit
 * status. */
static int
run(struct lb_conf **confp, const struct tether_daemon_opts *o)
{
	struct tether_loop *loop = NULL;
	struct lb_conf *conf = *confp;
	/* SIGHUP reads the file again after daemon() moved to "/": a
	 * relative -f path must be made absolute now, its links left to
	 * each reload (one switched since the start is followed). */
	char *abs = NULL;
	struct run_state st = { o->conf_path, o->verbose, conf, NULL, "",
				"" };
	struct lb_proxy *px = NULL;
	struct tether_pidfile *pf = NULL;
	const char *dp, *kr, *as = "";	/* as: the user dropped to */
	char errbuf[256];
	int err, status = 1, ready = -1, ctl_ours;

	if (tether_daemon_abs_path(o->conf_path, &abs) == 0)
		st.path = abs;
	snprintf(st.pidfile, sizeof(st.pidfile), "%s", conf->pidfile);
	snprintf(st.user, sizeof(st.user), "%s", conf->user);
	tether_log_set_level(conf->log_level + o->verbose);
	raise_nofile();
	/* Before detaching: a write to the waiting parent that has gone
	 * must fail with EPIPE, not kill us. */
	(void)signal(SIGPIPE, SIG_IGN);
	err = tether_loop_new(&loop, NULL);
	if (err < 0) {
		fprintf(stderr, "%s: event loop: %s\n", lb_spec.name,
			tether_strerror(err));
		return 1;
	}
	err = lb_proxy_new(&st.px, loop, conf, errbuf, sizeof(errbuf));
	px = st.px;
	if (err < 0) {
		/* Before detaching: the person starting us sees it. */
		fprintf(stderr, "%s: %s\n", lb_spec.name, errbuf);
		goto out;
	}
	/* Detached, the log goes to syslog; until the daemon serves, its
	 * warnings (why it does not start) reach whoever starts it too:
	 * the child keeps the caller's stderr until then. */
	tether_log_tee_stderr(1);
	if (!o->foreground && (ready = tether_daemon_detach()) < 0) {
		tether_log_warnx("cannot detach: %s", tether_strerror(ready));
		goto out;
	}
	/* In the child: the pidfile names the process that serves. */
	if (conf->pidfile[0] != '\0') {
		err = tether_pidfile_open(conf->pidfile, &pf, NULL, errbuf,
					  sizeof(errbuf));
		if (err < 0) {
			tether_log_warnx("%s", errbuf);
			goto out;
		}
	}
	/* The kernel relay's maps and programs need CAP_BPF: set them up
	 * before the privileges go (a reload that turns it on later
	 * keeps them, or warns that the kernel refused). */
	(void)lb_proxy_kernel_relay(px);
	if (conf->user[0] != '\0') {
		if (geteuid() != 0) {
			tether_log_warnx("user %s: not root, keeping uid %u",
					 conf->user, (unsigned)geteuid());
		} else if (tether_priv_drop(conf->user, NULL, errbuf,
					    sizeof(errbuf)) < 0) {
			tether_log_warnx("%s", errbuf);
			goto out;
		} else {
			as = st.user;
		}
	}
	if (tether_loop_signal_add(loop, SIGTERM, on_stop, NULL) < 0 ||
	    tether_loop_signal_add(loop, SIGINT, on_stop, NULL) < 0 ||
	    tether_loop_signal_add(loop, SIGHUP, on_hup, &st) < 0) {
		tether_log_warnx("cannot install signal handlers");
		goto out;
	}
	dp = lb_proxy_data_path(px);
	kr = lb_proxy_kernel_relay(px);
	tether_log_info("started: %zu service(s), %zu TCP and %zu UDP "
			"socket(s), data path %s%s", conf->nservices,
			px->nlisteners, px->udp.nlisteners, dp, kr);
	if (ready >= 0) {
		err = tether_daemon_detached(ready);
		ready = -1;
		if (err < 0)
			tether_log_warnx("telling the parent we started: %s",
					 tether_strerror(err));
	}
	tether_log_tee_stderr(0);
	err = tether_loop_run(loop);
	if (err < 0)
		tether_log_warnx("event loop: %s", tether_strerror(err));
	else
		status = 0;
	px = st.px;
	*confp = st.conf;
out:
	/* Ours at the close (not a file that replaced it since): then a
	 * socket file left at the path is one the close could not remove. */
	ctl_ours = px != NULL && px->ctl != NULL &&
		   tether_ctl_path_ours(px->ctl);
	lb_proxy_free(px);
	if (ctl_ours)
		check_ctl_removed(st.conf->control, as);
	lb_proxy_uring_close();
	lb_proxy_krelay_close();
	tether_loop_free(loop);
	if (pf != NULL && (err = tether_pidfile_remove(pf)) < 0)
		tether_log_warnx("cannot remove pidfile %s%s%s%s: %s",
				 st.pidfile, as[0] != '\0' ? " (running as " :
				 "", as, as[0] != '\0' ? ")" : "",
				 file_strerror(err));
	tether_free(abs);
	/* A child that failed to start: its exit closes the socket, and the
	 * parent exits 1 (the error is on stderr already). */
	if (ready >= 0)
		close(ready);
	return status;
}

int
main(int argc, char **argv)
{
	struct tether_daemon_opts o;
	struct tether_buf diag;
	struct lb_conf *conf = NULL;
	int err;

	/* Started with stdin, stdout or stderr closed, a listener or the
	 * detach socket would take that number, and a message (or
	 * tether_daemon_detached's dup2) would go to it. Without /dev/null
	 * there is nothing better to put there: go on. */
	(void)tether_daemon_std_fds();
	/* A signal during startup waits for the loop's handler. */
	tether_daemon_hold_signals();
	if (tether_daemon_parse_opts(&lb_spec, argc, argv, &o) < 0 ||
	    o.exit_now)
		return o.exit_status;
	tether_log_init(lb_spec.name, o.foreground || o.check_only,
			TETHER_LOG_INFO + o.verbose);
	tether_buf_init(&diag, 1u << 20);
	if (strcmp(o.conf_path, LB_DEFAULT_CONF) == 0 &&
	    access(o.conf_path, F_OK) < 0 && errno == ENOENT) {
		/* Defaults let every daemon start with no arguments: with no
		 * configuration there is nothing to balance yet, and a reload
		 * (SIGHUP) picks the file up once it is written. */
		tether_log_warnx("%s does not exist: starting with no services",
				 o.conf_path);
		err = lb_conf_load_mem(o.conf_path, "", 0, &conf, &diag);
	} else {
		err = lb_conf_load_file_host(o.conf_path, &conf, &diag);
	}
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
		/* Against the limit run() will raise to: the hard one. */
		lb_max_conns_log(conf, lb_nofile(1), 0, 0, 1);
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
	err = run(&conf, &o);
	lb_conf_free(conf);
	return err;
}
