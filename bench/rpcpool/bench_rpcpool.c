/*
 * bench_rpcpool.c - a procedure that blocks (sleeps ms), called many
 * times at once over several TCP connections: libtirpc's server
 * (svc_run, one call at a time), the tether server running it on the
 * loop's thread, and on its worker pool with 4 and 8 threads, in the
 * same run. Prints wall time, calls/s and the ratio to libtirpc.
 * Usage: bench_rpcpool [CONNS [CALLS-PER-CONN [MS]]] (8 4 20).
 */
#include <netinet/in.h>
#include <rpc/rpc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tether/rpc.h"

#define BP_PROG	 0x20000304u
#define BP_VERS	 1u
#define BP_SLEEP 1u

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* ---- libtirpc peer ---- */

/* xdr_void has no parameters in its declaration: a codec of the usual
 * shape casts to xdrproc_t without a warning. */
static bool_t
void_codec(XDR *x, void *p)
{
	(void)x;
	(void)p;
	return TRUE;
}

static void
tirpc_dispatch(struct svc_req *rq, SVCXPRT *xp)
{
	int ms = 0;

	if (rq->rq_proc == 0) {
		svc_sendreply(xp, (xdrproc_t)void_codec, NULL);
		return;
	}
	if (rq->rq_proc != BP_SLEEP) {
		svcerr_noproc(xp);
		return;
	}
	if (!svc_getargs(xp, (xdrproc_t)xdr_int, (caddr_t)&ms)) {
		svcerr_decode(xp);
		return;
	}
	usleep((useconds_t)ms * 1000);
	svc_sendreply(xp, (xdrproc_t)xdr_int, (caddr_t)&ms);
}

static int
listen_socket(int *port)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(fd, 64) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) != 0)
		return -1;
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
tirpc_child(int wfd)
{
	int port = 0, fd = listen_socket(&port);
	SVCXPRT *t = fd < 0 ? NULL : svctcp_create(fd, 0, 0);

	if (write(wfd, &port, sizeof(port)) != (ssize_t)sizeof(port))
		_exit(3);
	if (t == NULL || !svc_register(t, BP_PROG, BP_VERS, tirpc_dispatch, 0))
		_exit(3);
	svc_run();
	_exit(4);
}

/* ---- tether server ---- */

static void
ts_sleep(struct tether_rpc_server_call *call, void *args, void *ud)
{
	int32_t ms = *(int32_t *)args;

	(void)ud;
	if (ms > 0 && ms < 10000)
		usleep((useconds_t)ms * 1000);
	tether_rpc_server_reply(call, &ms);
}

static const struct tether_rpc_server_proc ts_procs[] = {
	{ BP_SLEEP, tether_xdr_codec_i32, sizeof(int32_t), tether_xdr_codec_i32,
	  ts_sleep },
};

static const struct tether_rpc_server_table ts_table = { BP_PROG, BP_VERS,
							 ts_procs, 1, 0 };

/* threads 0: the procedure runs on the loop's thread. */
static void
tether_child(int wfd, unsigned threads)
{
	struct tether_loop *loop;
	struct tether_rpc_server *srv;
	struct tether_rpc_server_config cfg;
	struct tether_addr a, bound;
	int port;

	signal(SIGTERM, on_term);
	memset(&cfg, 0, sizeof(cfg));
	cfg.max_inflight = 64;
	if (tether_loop_new(&loop, NULL) != 0 ||
	    tether_rpc_server_new(&srv, loop, &cfg) != 0 ||
	    tether_rpc_server_register(srv, &ts_table, NULL) != 0)
		_exit(3);
	if (threads > 0 &&
	    (tether_rpc_server_pool_start(srv, threads, 256) != 0 ||
	     tether_rpc_server_set_blocking(srv, BP_PROG, BP_VERS, BP_SLEEP,
					    1) != 0))
		_exit(3);
	if (tether_addr_parse(&a, "127.0.0.1:0", -1) != 0 ||
	    tether_rpc_server_listen(srv, SOCK_STREAM, &a, &bound) != 0)
		_exit(3);
	port = tether_addr_port(&bound);
	if (write(wfd, &port, sizeof(port)) != (ssize_t)sizeof(port))
		_exit(3);
	while (!stop)
		tether_loop_run_once(loop, 100);
	tether_rpc_server_free(srv);
	tether_loop_free(loop);
	_exit(0);
}

/* ---- the client side: tether clients, all calls at once ---- */

struct run {
	unsigned done, ok;
};

static void
on_done(struct tether_rpc_client *c, const struct tether_rpc_result *r,
	void *ud)
{
	struct run *run = ud;

	(void)c;
	run->done++;
	if (r->status == TETHER_RPC_ST_OK)
		run->ok++;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds for conns x per calls of ms each; < 0 on failure. */
static double
measure(int port, unsigned conns, unsigned per, int32_t ms)
{
	struct tether_rpc_client *c[64];
	struct tether_loop *loop;
	struct tether_addr a;
	struct run run = { 0, 0 };
	int32_t res[64 * 64];
	char s[64];
	double t0, t;
	unsigned i, j, n = conns * per;

	snprintf(s, sizeof(s), "127.0.0.1:%d", port);
	if (tether_loop_new(&loop, NULL) != 0 ||
	    tether_addr_parse(&a, s, -1) != 0)
		return -1;
	for (i = 0; i < conns; i++)
		if (tether_rpc_client_new(&c[i], loop, &a, SOCK_STREAM, BP_PROG,
					  BP_VERS, NULL) != 0)
			return -1;
	/* Connect every client first (NULL call), then time the calls. */
	for (i = 0; i < conns; i++)
		if (tether_rpc_client_call(c[i], 0, NULL, NULL, NULL, NULL,
					   NULL, 10000, NULL) != 0)
			return -1;
	t0 = now_s();
	for (i = 0; i < conns; i++)
		for (j = 0; j < per; j++)
			if (tether_rpc_client_call_async(
				    c[i], BP_SLEEP, tether_xdr_codec_i32, &ms,
				    tether_xdr_codec_i32, &res[i * per + j],
				    NULL, 60000, on_done, &run) != 0)
				return -1;
	while (run.done < n)
		tether_loop_run_once(loop, 100);
	t = now_s() - t0;
	for (i = 0; i < conns; i++)
		tether_rpc_client_free(c[i]);
	tether_loop_free(loop);
	return run.ok == n ? t : -1;
}

/* kind: -1 libtirpc, else tether with that many threads (0: none). */
static double
one(int kind, unsigned conns, unsigned per, int32_t ms)
{
	int port = 0, pfd[2], status;
	double t = -1;
	pid_t pid;

	if (pipe(pfd) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(pfd[0]);
		if (kind < 0)
			tirpc_child(pfd[1]);
		tether_child(pfd[1], (unsigned)kind);
	}
	close(pfd[1]);
	if (read(pfd[0], &port, sizeof(port)) == (ssize_t)sizeof(port) &&
	    port > 0)
		t = measure(port, conns, per, ms);
	close(pfd[0]);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	return t;
}

int
main(int argc, char **argv)
{
	static const int kinds[] = { -1, 0, 4, 8 };
	static const char *names[] = { "libtirpc svc_run", "tether, on loop",
				       "tether, pool 4", "tether, pool 8" };
	unsigned conns = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 8;
	unsigned per = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 4;
	int32_t ms = argc > 3 ? (int32_t)strtol(argv[3], NULL, 10) : 20;
	double t, base = 0;
	unsigned i;

	if (conns == 0 || conns > 64 || per == 0 || per > 64 || ms < 0) {
		fprintf(stderr, "usage: %s [CONNS<=64 [CALLS<=64 [MS]]]\n",
			argv[0]);
		return 2;
	}
	printf("%u connections x %u calls, each sleeping %d ms on the server "
	       "(ideal serial time %.3f s)\n",
	       conns, per, ms, conns * per * ms / 1000.0);
	printf("%-18s %9s %9s %9s\n", "server", "seconds", "calls/s",
	       "x libtirpc");
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		t = one(kinds[i], conns, per, ms);
		if (t <= 0) {
			printf("%-18s failed\n", names[i]);
			return 1;
		}
		if (i == 0)
			base = t;
		printf("%-18s %9.3f %9.1f %9.2f\n", names[i], t,
		       conns * per / t, base / t);
	}
	return 0;
}
