/*
 * main.c - tether-epmap: the DCE/RPC endpoint mapper daemon. Reads its
 * configuration, hosts the endpoint mapper interface on TCP (135 by
 * default) for everyone and on a local socket for registrations, and
 * runs lib/core's loop until SIGTERM or SIGINT.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "epmap.h"

#define EPMAP_VERSION "0.1.0"
#define SWEEP_MS      10000

static void
on_signal(struct tether_loop *loop, int signo, void *ud)
{
	(void)ud;
	tether_log_info("signal %d: shutting down", signo);
	tether_loop_stop(loop);
}

static void
on_sweep(struct tether_loop *loop, struct tether_loop_timer *t, void *ud)
{
	unsigned n;

	(void)loop;
	(void)t;
	n = epmap_expire_handles(ud);
	if (n > 0)
		tether_log_debug("expired %u lookup handles", n);
}

static void
on_prune(struct tether_loop *loop, struct tether_loop_timer *t, void *ud)
{
	(void)loop;
	(void)t;
	epmap_prune(ud);
}

/* mkdir the socket's directory when it is missing (one level). */
static void
socket_dir(const char *path)
{
	char dir[TETHER_ADDR_UNIX_PATH_MAX + 1];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		tether_log_warn("mkdir %s", dir);
}

static int
listen_tcp(struct tether_dce_server *srv, struct epmap *m,
	   const struct tether_addr *a, int optional)
{
	static const uint8_t any[4];
	char buf[TETHER_ADDR_STRLEN];
	const struct epmap_reg *r;
	int rc, port;

	tether_addr_format(a, buf, sizeof(buf), 0);
	rc = tether_dce_server_listen(srv, a, &port);
	if (rc < 0) {
		if (optional) {
			tether_log_info("not listening on %s: %s", buf,
					tether_strerror(rc));
			return 0;
		}
		tether_log_warnx("listen %s: %s", buf, tether_strerror(rc));
		return rc;
	}
	tether_log_info("listening on %s", buf);
	for (r = m->regs; r != NULL; r = r->next)
		if (r->self && r->port == port)
			return 1;
	/* The mapper lists itself, as Windows and Samba do. */
	rc = epmap_register(m, &tether_dce_epm_v3, NULL, EPMAP_ANNOTATION,
			    (uint16_t)port, any, 1, NULL);
	return rc < 0 ? rc : 1;
}

int
main(int argc, char **argv)
{
	static const struct tether_daemon_spec spec = {
		.name = "tether-epmap",
		.version = EPMAP_VERSION,
		.default_conf = EPMAP_DEFAULT_CONF,
		.help = "DCE/RPC endpoint mapper (see tether-epmap(8)).",
	};
	struct tether_daemon_opts o;
	struct tether_dce_server_config sc;
	struct tether_dce_server *srv = NULL;
	struct tether_dce_server_stats st;
	struct tether_loop *loop = NULL;
	struct tether_loop_timer *sweep = NULL, *prune = NULL;
	struct tether_buf diag;
	struct epmap_conf conf;
	struct epmap m;
	struct tether_addr a;
	unsigned i, n_tcp = 0;
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
	epmap_conf_defaults(&conf);
	tether_buf_init(&diag, 256 * 1024);
	rc = epmap_conf_load(&conf, o.conf_path, NULL, 0, &diag);
	if (rc == -TETHER_ENOENT &&
	    strcmp(o.conf_path, EPMAP_DEFAULT_CONF) == 0) {
		/* No file at the default place: run on the defaults. */
		epmap_conf_defaults(&conf);
		rc = 0;
	}
	if (rc < 0) {
		fprintf(stderr, "%s", diag.len ? (char *)diag.data : "");
		if (rc != -TETHER_ESYNTAX)
			fprintf(stderr, "tether-epmap: %s: %s\n", o.conf_path,
				tether_strerror(rc));
		tether_buf_free(&diag);
		return 1;
	}
	tether_buf_free(&diag);
	if (o.check_only) {
		puts(TETHER_DAEMON_CONFIG_OK);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);

	if (tether_loop_new(&loop, NULL) < 0)
		tether_fatalx("cannot create the event loop");
	epmap_init(&m, &conf, loop);
	memset(&sc, 0, sizeof(sc));
	sc.max_conns = conf.max_conns;
	sc.max_frag = conf.max_frag;
	sc.max_stub = conf.max_request;
	sc.idle_ms = conf.idle_s * 1000;
	sc.btfn = TETHER_DCE_BTFN_SEC_CTX_MULTIPLEXING |
		  TETHER_DCE_BTFN_KEEP_ON_ORPHAN;
	sc.assoc_gone = epmap_assoc_gone;
	sc.assoc_gone_ud = &m;
	rc = tether_dce_server_new(loop, &sc, &srv);
	if (rc == 0)
		rc = tether_dce_server_add_iface(srv, &m.iface);
	if (rc < 0) {
		tether_log_warnx("server: %s", tether_strerror(rc));
		goto out;
	}
	if (conf.listen_default) {
		tether_addr_parse(&a, "0.0.0.0:135", -1);
		rc = listen_tcp(srv, &m, &a, 0);
		if (rc < 0)
			goto out;
		n_tcp += (unsigned)rc;
		tether_addr_parse(&a, "[::]:135", -1);
		rc = listen_tcp(srv, &m, &a, 1);
		if (rc < 0)
			goto out;
		n_tcp += (unsigned)rc;
	}
	for (i = 0; i < conf.n_listen; i++) {
		rc = listen_tcp(srv, &m, &conf.listen[i], 0);
		if (rc < 0)
			goto out;
		n_tcp += (unsigned)rc;
	}
	if (conf.socket_path[0] != '\0') {
		socket_dir(conf.socket_path);
		if (tether_addr_parse(&a, conf.socket_path, -1) < 0 ||
		    (rc = tether_dce_server_listen(srv, &a, NULL)) < 0) {
			tether_log_warnx(
				"local socket %s: %s", conf.socket_path,
				tether_strerror(rc < 0 ? rc : -TETHER_EINVAL));
			goto out;
		}
		tether_log_info("registrations on %s", conf.socket_path);
	}
	if (n_tcp == 0) {
		tether_log_warnx("no TCP listener");
		goto out;
	}
	/* Before the signal handlers: the loop's signalfd, watched from
	 * before a fork, would not wake the child's loop (SIGTERM would
	 * go unseen). */
	if (!o.foreground && (ready = tether_daemon_detach()) < 0) {
		tether_log_warnx("cannot detach: %s", tether_strerror(ready));
		goto out;
	}
	if (tether_loop_signal_add(loop, SIGTERM, on_signal, NULL) < 0 ||
	    tether_loop_signal_add(loop, SIGINT, on_signal, NULL) < 0 ||
	    tether_loop_timer_new(loop, on_sweep, &m, &sweep) < 0 ||
	    tether_loop_timer_arm(sweep, SWEEP_MS, SWEEP_MS) < 0 ||
	    (conf.prune_s > 0 &&
	     (tether_loop_timer_new(loop, on_prune, &m, &prune) < 0 ||
	      tether_loop_timer_arm(prune, conf.prune_s * 1000ull,
				    conf.prune_s * 1000ull) < 0))) {
		tether_log_warnx("cannot set up signals and timers");
		goto out;
	}
	tether_log_info("ready: ports %u-%u, %u fixed", conf.port_lo,
			conf.port_hi, conf.n_fixed);
	if (ready >= 0 && (rc = tether_daemon_detached(ready)) < 0)
		tether_log_warnx("telling the parent we started: %s",
				 tether_strerror(rc));
	tether_log_tee_stderr(0);
	if ((rc = tether_loop_run(loop)) < 0)
		tether_log_warnx("event loop: %s", tether_strerror(rc));
	else
		status = 0;
out:
	if (srv != NULL) {
		tether_dce_server_stats(srv, &st);
		tether_log_info("%llu connections, %llu calls, %llu faults, "
				"%llu naks, %llu lookups, %llu maps",
				(unsigned long long)st.accepted,
				(unsigned long long)st.calls,
				(unsigned long long)st.faults,
				(unsigned long long)st.naks,
				(unsigned long long)m.st.lookups,
				(unsigned long long)m.st.maps);
	}
	tether_dce_server_free(srv);
	if (loop != NULL) {
		epmap_fini(&m);
		tether_loop_free(loop);
	}
	if (conf.socket_path[0] != '\0' && srv != NULL)
		unlink(conf.socket_path);
	return status;
}
