/*
 * bench_paper.c - the 1994 paper's experiment: fetch 4 MiB of random
 * 32-bit integers in blocks of 32 B .. 64 KiB as a local call, over raw
 * TCP (4-byte request, block reply), through libtirpc (rpcgen stubs and
 * skeleton) and through tether, all on loopback with the server in a
 * child process; then null-call rates. Usage: bench_paper [OUTDIR
 * [GNUPLOT]]: writes OUTDIR/paper.dat and paper.gp, and runs gnuplot on
 * it when given, for the run-time and transfer-rate figures.
 */
#include "paper.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tether/rpc.h"

#define TOTAL_BYTES (4u << 20)
#define MAX_BLOCK   (64u << 10)
#define NULL_CALLS  20000u
#define PIPELINE    64u

static const unsigned blocks[] = { 32, 128, 512, 1024, 4096, 16384, 65536 };
#define NBLOCKS (sizeof(blocks) / sizeof(blocks[0]))

static uint32_t rng_state = 2463534242u;

/* xorshift32: the "random numbers" every variant computes alike. */
static void
fill_random(uint32_t *v, size_t n)
{
	uint32_t x = rng_state;
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		v[i] = x;
	}
	rng_state = x;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
listen_tcp(int type, int *port)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, type, 0), one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) != 0 ||
	    (type == SOCK_STREAM && listen(fd, 16) != 0)) {
		perror("bind");
		exit(2);
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

static int
connect_tcp(int port)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		perror("connect");
		exit(2);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int
full_io(int fd, void *p, size_t n, int wr)
{
	unsigned char *b = p;
	ssize_t k;

	while (n > 0) {
		k = wr ? write(fd, b, n) : read(fd, b, n);
		if (k <= 0) {
			if (k < 0 && errno == EINTR)
				continue;
			return -1;
		}
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Servers (child processes)                                           */
/* ------------------------------------------------------------------ */

static void
raw_server(int lfd)
{
	static uint32_t buf[MAX_BLOCK / 4];
	uint32_t n;
	int fd, one = 1;

	for (;;) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			_exit(1);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		while (full_io(fd, &n, 4, 0) == 0) {
			n = ntohl(n);
			if (n > MAX_BLOCK)
				break;
			fill_random(buf, n / 4);
			if (full_io(fd, buf, n, 1) != 0)
				break;
		}
		close(fd);
	}
}

/* rpcgen skeleton's procedure. */
randblock *
getrand_1_svc(u_int *n, struct svc_req *req)
{
	static randblock res;
	static u_int buf[MAX_BLOCK / 4];

	(void)req;
	res.randblock_len = *n > MAX_BLOCK ? 0 : *n / 4;
	res.randblock_val = buf;
	fill_random(buf, res.randblock_len);
	return &res;
}

void paperprog_1(struct svc_req *rqstp, SVCXPRT *transp);

static void
tirpc_server(int tfd, int ufd)
{
	SVCXPRT *t = svctcp_create(tfd, 0, 0), *u = svcudp_create(ufd);

	if (t == NULL || u == NULL ||
	    !svc_register(t, PAPERPROG, PAPERVERS, paperprog_1, 0) ||
	    !svc_register(u, PAPERPROG, PAPERVERS, paperprog_1, 0))
		_exit(3);
	svc_run();
	_exit(4);
}

struct t_block {
	uint32_t *v;
	uint32_t n;
};

static int
t_block_codec(struct tether_xdr *x, void *obj)
{
	struct t_block *b = obj;

	return tether_xdr_u32_array(x, &b->v, &b->n, MAX_BLOCK / 4);
}

static void
t_getrand(struct tether_rpc_server_call *call, void *args, void *ud)
{
	uint32_t n = *(uint32_t *)args;
	struct t_block b;

	(void)ud;
	if (n > MAX_BLOCK) {
		tether_rpc_server_reply_error(call, TETHER_RPC_GARBAGE_ARGS);
		return;
	}
	b.n = n / 4;
	b.v = tether_arena_alloc(tether_rpc_server_call_arena(call),
				 b.n * 4 + 4);
	if (b.v == NULL) {
		tether_rpc_server_reply_error(call, TETHER_RPC_SYSTEM_ERR);
		return;
	}
	fill_random(b.v, b.n);
	tether_rpc_server_reply(call, &b);
}

static const struct tether_rpc_server_proc t_procs[] = {
	{ GETRAND, tether_xdr_codec_u32, sizeof(uint32_t), t_block_codec,
	  t_getrand },
};
static const struct tether_rpc_server_table t_table = {
	PAPERPROG, PAPERVERS, t_procs, 1, TETHER_RPC_SERVER_NO_DRC
};

static void
tether_server(int wfd)
{
	struct tether_loop *loop;
	struct tether_rpc_server *srv;
	struct tether_rpc_server_config cfg;
	struct tether_addr a, t, u;
	int ports[2];

	memset(&cfg, 0, sizeof(cfg));
	cfg.no_drc = 1;
	cfg.max_inflight = PIPELINE * 2;
	if (tether_loop_new(&loop, NULL) != 0 ||
	    tether_rpc_server_new(&srv, loop, &cfg) != 0 ||
	    tether_rpc_server_register(srv, &t_table, NULL) != 0 ||
	    tether_addr_parse(&a, "127.0.0.1:0", -1) != 0 ||
	    tether_rpc_server_listen(srv, SOCK_STREAM, &a, &t) != 0 ||
	    tether_rpc_server_listen(srv, SOCK_DGRAM, &a, &u) != 0)
		_exit(3);
	ports[0] = tether_addr_port(&t);
	ports[1] = tether_addr_port(&u);
	if (write(wfd, ports, sizeof(ports)) != (ssize_t)sizeof(ports))
		_exit(3);
	tether_loop_run(loop);
	_exit(0);
}

/* ------------------------------------------------------------------ */
/* Clients                                                             */
/* ------------------------------------------------------------------ */

static double
run_local(unsigned block)
{
	static uint32_t buf[MAX_BLOCK / 4];
	volatile uint32_t sink = 0;
	double t0 = now_s();
	unsigned i;

	for (i = 0; i < TOTAL_BYTES / block; i++) {
		fill_random(buf, block / 4);
		sink += buf[0];
	}
	(void)sink;
	return now_s() - t0;
}

static double
run_raw(int port, unsigned block)
{
	static uint32_t buf[MAX_BLOCK / 4];
	int fd = connect_tcp(port);
	uint32_t req = htonl(block);
	double t0 = now_s();
	unsigned i;

	for (i = 0; i < TOTAL_BYTES / block; i++)
		if (full_io(fd, &req, 4, 1) != 0 ||
		    full_io(fd, buf, block, 0) != 0) {
			fprintf(stderr, "raw tcp failed\n");
			exit(1);
		}
	t0 = now_s() - t0;
	close(fd);
	return t0;
}

static struct sockaddr_in
loopback(int port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	return sin;
}

static double
run_tirpc(int port, unsigned block)
{
	struct sockaddr_in sin = loopback(port);
	int sock = RPC_ANYSOCK;
	CLIENT *cl = clnttcp_create(&sin, PAPERPROG, PAPERVERS, &sock, 0, 0);
	randblock *r;
	double t0;
	u_int n = block;
	unsigned i;

	if (cl == NULL) {
		fprintf(stderr, "clnttcp_create failed\n");
		exit(1);
	}
	t0 = now_s();
	for (i = 0; i < TOTAL_BYTES / block; i++) {
		r = getrand_1(&n, cl);
		if (r == NULL || r->randblock_len != block / 4) {
			fprintf(stderr, "libtirpc call failed\n");
			exit(1);
		}
		xdr_free((xdrproc_t)xdr_randblock, (char *)r);
	}
	t0 = now_s() - t0;
	clnt_destroy(cl);
	return t0;
}

static struct tether_rpc_client *
tether_client(int port, int type)
{
	struct tether_rpc_client *c;
	struct tether_addr a;
	char s[32];

	snprintf(s, sizeof(s), "127.0.0.1:%d", port);
	if (tether_addr_parse(&a, s, -1) != 0 ||
	    tether_rpc_client_new(&c, NULL, &a, type, PAPERPROG, PAPERVERS,
				  NULL) != 0)
		exit(1);
	return c;
}

static double
run_tether(int port, unsigned block)
{
	struct tether_rpc_client *c = tether_client(port, SOCK_STREAM);
	struct tether_arena *arena = tether_arena_new(MAX_BLOCK + 4096, 0);
	struct t_block b;
	uint32_t n = block;
	double t0 = now_s();
	unsigned i;

	for (i = 0; i < TOTAL_BYTES / block; i++) {
		tether_arena_reset(arena);
		if (tether_rpc_client_call(c, GETRAND, tether_xdr_codec_u32, &n,
					   t_block_codec, &b, arena, 5000,
					   NULL) != TETHER_RPC_ST_OK ||
		    b.n != block / 4) {
			fprintf(stderr, "tether call failed\n");
			exit(1);
		}
	}
	t0 = now_s() - t0;
	tether_rpc_client_free(c);
	tether_arena_free(arena);
	return t0;
}

/* Null calls per second. */
static bool_t
void_codec(XDR *x, void *p)
{
	(void)x;
	(void)p;
	return TRUE;
}

static double
null_tirpc(int port, int udp)
{
	struct sockaddr_in sin = loopback(port);
	struct timeval tv = { 5, 0 }, wait = { 1, 0 };
	int sock = RPC_ANYSOCK;
	CLIENT *cl =
		udp ? clntudp_create(&sin, PAPERPROG, PAPERVERS, wait, &sock)
		    : clnttcp_create(&sin, PAPERPROG, PAPERVERS, &sock, 0, 0);
	double t0;
	unsigned i;

	if (cl == NULL)
		exit(1);
	t0 = now_s();
	for (i = 0; i < NULL_CALLS; i++)
		if (clnt_call(cl, 0, (xdrproc_t)void_codec, NULL,
			      (xdrproc_t)void_codec, NULL, tv) != RPC_SUCCESS)
			exit(1);
	t0 = now_s() - t0;
	clnt_destroy(cl);
	return NULL_CALLS / t0;
}

static double
null_tether(int port, int udp)
{
	struct tether_rpc_client *c =
		tether_client(port, udp ? SOCK_DGRAM : SOCK_STREAM);
	double t0 = now_s();
	unsigned i;

	for (i = 0; i < NULL_CALLS; i++)
		if (tether_rpc_client_call(c, 0, NULL, NULL, NULL, NULL, NULL,
					   5000, NULL) != TETHER_RPC_ST_OK)
			exit(1);
	t0 = now_s() - t0;
	tether_rpc_client_free(c);
	return NULL_CALLS / t0;
}

struct pipe_state {
	struct tether_rpc_client *c;
	unsigned sent, done, failed;
};

static void
pipe_done(struct tether_rpc_client *c, const struct tether_rpc_result *r,
	  void *ud)
{
	struct pipe_state *ps = ud;

	ps->done++;
	if (r->status != TETHER_RPC_ST_OK)
		ps->failed++;
	if (ps->sent < NULL_CALLS * 5 &&
	    tether_rpc_client_call_async(c, 0, NULL, NULL, NULL, NULL, NULL,
					 5000, pipe_done, ps) == 0)
		ps->sent++;
}

static double
null_tether_pipelined(int port)
{
	struct pipe_state ps;
	double t0;
	unsigned i;

	memset(&ps, 0, sizeof(ps));
	ps.c = tether_client(port, SOCK_STREAM);
	t0 = now_s();
	for (i = 0; i < PIPELINE; i++)
		if (tether_rpc_client_call_async(ps.c, 0, NULL, NULL, NULL,
						 NULL, NULL, 5000, pipe_done,
						 &ps) == 0)
			ps.sent++;
	while (ps.done < ps.sent)
		tether_loop_run_once(tether_rpc_client_loop(ps.c), 100);
	t0 = now_s() - t0;
	tether_rpc_client_free(ps.c);
	if (ps.failed)
		exit(1);
	return ps.done / t0;
}

int
main(int argc, char **argv)
{
	const char *outdir = argc > 1 ? argv[1] : ".";
	const char *gnuplot = argc > 2 ? argv[2] : NULL;
	int raw_port, tt_port, tu_port, pfd[2], ports[2], rfd, tfd, ufd;
	double t[4][NBLOCKS];
	pid_t pids[3];
	char path[512];
	FILE *f;
	size_t i;
	int k;

	signal(SIGPIPE, SIG_IGN);
	rfd = listen_tcp(SOCK_STREAM, &raw_port);
	tfd = listen_tcp(SOCK_STREAM, &tt_port);
	ufd = listen_tcp(SOCK_DGRAM, &tu_port);
	if ((pids[0] = fork()) == 0)
		raw_server(rfd);
	if ((pids[1] = fork()) == 0)
		tirpc_server(tfd, ufd);
	if (pipe(pfd) != 0)
		return 2;
	if ((pids[2] = fork()) == 0)
		tether_server(pfd[1]);
	if (read(pfd[0], ports, sizeof(ports)) != (ssize_t)sizeof(ports))
		return 2;

	printf("4 MiB of random 32-bit integers, by block size (loopback)\n");
	printf("%7s | %9s %9s %9s %9s | %9s %9s %9s %9s | %7s %7s %7s\n",
	       "block", "local s", "raw s", "tirpc s", "tether s", "local MB/s",
	       "raw MB/s", "tirpc MB/s", "tether MB/s", "tirpc/raw", "tthr/raw",
	       "tthr/tirpc");
	for (i = 0; i < NBLOCKS; i++) {
		t[0][i] = run_local(blocks[i]);
		t[1][i] = run_raw(raw_port, blocks[i]);
		t[2][i] = run_tirpc(tt_port, blocks[i]);
		t[3][i] = run_tether(ports[0], blocks[i]);
		printf("%7u | %9.3f %9.3f %9.3f %9.3f |", blocks[i], t[0][i],
		       t[1][i], t[2][i], t[3][i]);
		for (k = 0; k < 4; k++)
			printf(" %9.1f", TOTAL_BYTES / 1e6 / t[k][i]);
		printf(" | %7.2f %7.2f %7.2f\n", t[1][i] / t[2][i],
		       t[1][i] / t[3][i], t[2][i] / t[3][i]);
		fflush(stdout);
	}

	printf("\nnull calls per second (%u calls)\n", NULL_CALLS);
	{
		double tt = null_tirpc(tt_port, 0), tu = null_tirpc(tu_port, 1);
		double et = null_tether(ports[0], 0),
		       eu = null_tether(ports[1], 1);
		double ep = null_tether_pipelined(ports[0]);

		printf("  TCP sync:      libtirpc %8.0f  tether %8.0f  ratio "
		       "%.2f\n",
		       tt, et, et / tt);
		printf("  UDP sync:      libtirpc %8.0f  tether %8.0f  ratio "
		       "%.2f\n",
		       tu, eu, eu / tu);
		printf("  TCP pipelined (%u in flight): tether %8.0f  = %.1fx "
		       "libtirpc TCP sync\n",
		       PIPELINE, ep, ep / tt);
	}

	snprintf(path, sizeof(path), "%s/paper.dat", outdir);
	f = fopen(path, "w");
	if (f != NULL) {
		fprintf(f, "block local raw_tcp libtirpc tether\n");
		for (i = 0; i < NBLOCKS; i++)
			fprintf(f, "%u %f %f %f %f\n", blocks[i], t[0][i],
				t[1][i], t[2][i], t[3][i]);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/paper.gp", outdir);
	f = fopen(path, "w");
	if (f != NULL) {
		fprintf(f,
			"set terminal png size 800,500\n"
			"set logscale x 2\nset xlabel 'block size (bytes)'\n"
			"set key left top\n"
			"set output '%s/paper-time.png'\n"
			"set ylabel 'run time (s)'\nset logscale y\n"
			"plot for [c=2:5] '%s/paper.dat' using 1:c with "
			"linespoints title columnhead(c)\n"
			"unset logscale y\n"
			"set output '%s/paper-rate.png'\n"
			"set ylabel 'transfer rate (MB/s)'\n"
			"plot for [c=2:5] '%s/paper.dat' using 1:(4.194304/"
			"column(c)) with linespoints title columnhead(c)\n",
			outdir, outdir, outdir, outdir);
		fclose(f);
	}
	for (k = 0; k < 3; k++) {
		kill(pids[k], SIGKILL);
		waitpid(pids[k], NULL, 0);
	}
	if (gnuplot != NULL && gnuplot[0] != 0) {
		char cmd[1100];

		snprintf(cmd, sizeof(cmd), "%s %s/paper.gp", gnuplot, outdir);
		return system(cmd) != 0;
	}
	printf("\n(gnuplot not found: %s/paper.gp draws the figures)\n",
	       outdir);
	return 0;
}
