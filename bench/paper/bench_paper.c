/*
 * bench_paper.c - the 1994 paper's experiment: fetch S bytes (4 MiB) of
 * random 32-bit integers in blocks of 32 B .. 64 KiB as a local call,
 * over raw TCP sockets, through libtirpc (Debian rpcgen's stubs) and
 * through tether (tether-rpcgen's stubs), on loopback with each server
 * in a child process; then null-call rates, synchronous over TCP and
 * UDP and pipelined over one TCP connection.
 *
 * Fairness: every client connects, and makes one call, before its
 * clock starts; the implementations take turns within each round (so
 * a burst of load from elsewhere hits them alike) and the table shows
 * the median of the rounds. The raw TCP variant has the same shape as
 * an RPC: the request is one record-marked record holding the block
 * size (8 bytes), the reply a 4-byte length and the data, written at
 * once by the server and read by the client into one buffer.
 *
 * Usage: bench_paper [-b blocks] [-r rounds] [-s size] [-n nulls]
 *	[-p depth] [-i impls] [-m] [-o outdir] [-g gnuplot] [-v]
 * -i runs only some of local,raw,tirpc,tether (for profiling one with
 * perf or strace -c; it applies to the null calls too); -n 0 skips the
 * null calls; -m reports the best round instead of the median (on a
 * loaded machine the best is the steadier measure of what the code
 * can do; the median is the default).
 * Writes outdir/paper.dat, paper.gp, paper-time.png and paper-rate.png
 * (the paper's two figures); gnuplot is required (gnuplot-nox).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_paper.h"

#define MAX_BLOCKS 16
#define MAX_ROUNDS 99

enum impl { I_LOCAL, I_RAW, I_RP, I_TT, I_MAX };
static const char *const impl_names[I_MAX] = { "local", "raw_tcp",
					       "libtirpc", "tether" };

enum nulls { N_RP_TCP, N_RP_UDP, N_TT_TCP, N_TT_UDP, N_TT_PIPE, N_MAX };

static struct {
	unsigned blocks[MAX_BLOCKS];
	unsigned nblocks;
	unsigned rounds;
	unsigned long total;
	unsigned nulls;
	unsigned depth;
	const char *outdir;
	const char *gnuplot;
	int verbose;
	unsigned impls; /* bit per enum impl */
	int best;	/* -m: best round, not the median */
} opt = {
	{ 32, 128, 512, 1024, 4096, 16384, 65536 }, 7, 3, 4ul << 20,
	20000, 64, ".", NULL, 0, (1u << I_MAX) - 1, 0
};

static uint32_t rng_state = 2463534242u;

void
paper_fill_random(uint32_t *v, size_t n)
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

void
paper_die(const char *what)
{
	fprintf(stderr, "bench_paper: %s failed\n", what);
	exit(1);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median, or with -m the best: the least of times (low) or the
 * most of rates. */
static double
stat_of(double *v, unsigned n, int low)
{
	qsort(v, n, sizeof(*v), cmp_double);
	if (opt.best)
		return low ? v[0] : v[n - 1];
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ------------------------------------------------------------------ */
/* Raw TCP                                                             */
/* ------------------------------------------------------------------ */

static int
bind_loopback(int type, int *port /* OUT */)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, type, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) != 0 ||
	    (type == SOCK_STREAM && listen(fd, 16) != 0))
		paper_die("bind");
	*port = ntohs(sin.sin_port);
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

static void
raw_serve(int lfd)
{
	static uint32_t buf[1 + PAPER_MAX_BLOCK / 4];
	uint32_t req[2], n;
	int fd, one = 1;

	for (;;) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			paper_die("accept");
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		while (full_io(fd, req, sizeof(req), 0) == 0) {
			n = ntohl(req[1]);
			if (ntohl(req[0]) != (0x80000000u | 4) ||
			    n > PAPER_MAX_BLOCK)
				break;
			buf[0] = htonl(n);
			paper_fill_random(buf + 1, n / 4);
			if (full_io(fd, buf, 4 + n, 1) != 0)
				break;
		}
		close(fd);
	}
}

static void *
raw_open(int port)
{
	struct sockaddr_in sin;
	int *fd = malloc(sizeof(*fd)), one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if (fd == NULL || (*fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(*fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
		paper_die("raw connect");
	setsockopt(*fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void
raw_getrand(void *h, unsigned block)
{
	static uint32_t buf[1 + PAPER_MAX_BLOCK / 4];
	uint32_t req[2] = { htonl(0x80000000u | 4), htonl(block) };
	unsigned char *b = (unsigned char *)buf;
	size_t have = 0, want = 4;
	ssize_t k;
	int fd = *(int *)h;

	if (full_io(fd, req, sizeof(req), 1) != 0)
		paper_die("raw send");
	/* Length and data into one buffer, as many reads as it takes. */
	while (have < want) {
		k = read(fd, b + have, 4 + PAPER_MAX_BLOCK - have);
		if (k <= 0)
			paper_die("raw recv");
		have += (size_t)k;
		if (have >= 4)
			want = 4 + ntohl(buf[0]);
	}
	if (want != 4 + block || have != want)
		paper_die("raw reply");
}

static void
raw_close(void *h)
{
	close(*(int *)h);
	free(h);
}

/* ------------------------------------------------------------------ */
/* Measurements                                                        */
/* ------------------------------------------------------------------ */

static int ports[5]; /* raw, libtirpc tcp, udp, tether tcp, udp */

static double
time_blocks(enum impl im, unsigned block)
{
	static uint32_t lbuf[PAPER_MAX_BLOCK / 4];
	unsigned long i, n = opt.total / block;
	volatile uint32_t sink = 0;
	void *h = NULL;
	double t0;

	switch (im) {
	case I_RAW:
		h = raw_open(ports[0]);
		raw_getrand(h, block);
		break;
	case I_RP:
		h = rp_open(ports[1], 0);
		rp_getrand(h, block);
		break;
	case I_TT:
		h = tt_open(ports[3], 0);
		tt_getrand(h, block);
		break;
	default:
		break;
	}
	t0 = now_s();
	for (i = 0; i < n; i++) {
		switch (im) {
		case I_LOCAL:
			paper_fill_random(lbuf, block / 4);
			sink += lbuf[0];
			break;
		case I_RAW:
			raw_getrand(h, block);
			break;
		case I_RP:
			rp_getrand(h, block);
			break;
		default:
			tt_getrand(h, block);
			break;
		}
	}
	t0 = now_s() - t0;
	switch (im) {
	case I_RAW:
		raw_close(h);
		break;
	case I_RP:
		rp_close(h);
		break;
	case I_TT:
		tt_close(h);
		break;
	default:
		break;
	}
	return t0;
}

/* Null calls per second. */
static double
rate_nulls(enum nulls k)
{
	int udp = k == N_RP_UDP || k == N_TT_UDP;
	int rp = k == N_RP_TCP || k == N_RP_UDP;
	void *h = rp ? rp_open(ports[udp ? 2 : 1], udp)
		     : tt_open(ports[udp ? 4 : 3], udp);
	double t0 = now_s();
	unsigned i;

	if (k == N_TT_PIPE)
		tt_null_pipelined(h, opt.nulls, opt.depth);
	else
		for (i = 0; i < opt.nulls; i++)
			(rp ? rp_null : tt_null)(h);
	t0 = now_s() - t0;
	(rp ? rp_close : tt_close)(h);
	return opt.nulls / t0;
}

/* ------------------------------------------------------------------ */
/* Options, figures                                                    */
/* ------------------------------------------------------------------ */

static unsigned long
parse_size(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	if (*end != 0 || end == s)
		return 0;
	return v;
}

static void
usage(void)
{
	fprintf(stderr,
		"usage: bench_paper [-b 32,128,...,64k] [-r rounds] "
		"[-s total] [-n nulls]\n"
		"\t[-p depth] [-i local,raw,tirpc,tether] [-m] [-o outdir] "
		"[-g gnuplot] [-v]\n");
	exit(2);
}

static void
parse_impls(char *s)
{
	static const char *const short_names[I_MAX] = { "local", "raw",
							"tirpc", "tether" };
	char *tok, *save = NULL;
	int k;

	opt.impls = 0;
	for (tok = strtok_r(s, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		for (k = 0; k < I_MAX; k++)
			if (strcmp(tok, short_names[k]) == 0)
				break;
		if (k == I_MAX)
			usage();
		opt.impls |= 1u << k;
	}
}

static void
parse_blocks(char *s)
{
	char *tok, *save = NULL;
	unsigned long b;

	opt.nblocks = 0;
	for (tok = strtok_r(s, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		b = parse_size(tok);
		if (b < 4 || b % 4 || b > PAPER_MAX_BLOCK ||
		    opt.nblocks == MAX_BLOCKS) {
			fprintf(stderr, "bench_paper: bad block size %s (a "
				"multiple of 4, at most 64k)\n", tok);
			exit(2);
		}
		opt.blocks[opt.nblocks++] = (unsigned)b;
	}
	if (opt.nblocks == 0)
		usage();
}

/* gnuplot's path: -g, else the first on PATH. */
static const char *
find_gnuplot(void)
{
	static char path[4096];
	const char *p = getenv("PATH");
	const char *e;

	if (opt.gnuplot != NULL && opt.gnuplot[0] != 0)
		return access(opt.gnuplot, X_OK) == 0 ? opt.gnuplot : NULL;
	for (; p != NULL && *p; p = *e ? e + 1 : e) {
		e = strchr(p, ':');
		if (e == NULL)
			e = p + strlen(p);
		snprintf(path, sizeof(path), "%.*s/gnuplot", (int)(e - p), p);
		if (access(path, X_OK) == 0)
			return path;
	}
	return NULL;
}

static int
draw(const char *gp, double t[I_MAX][MAX_BLOCKS])
{
	char path[1024], cmd[2200];
	struct stat st;
	unsigned i;
	FILE *f;
	int k;

	snprintf(path, sizeof(path), "%s/paper.dat", opt.outdir);
	f = fopen(path, "w");
	if (f == NULL)
		paper_die(path);
	fprintf(f, "block");
	for (k = 0; k < I_MAX; k++)
		fprintf(f, " %s", impl_names[k]);
	fprintf(f, "\n");
	for (i = 0; i < opt.nblocks; i++) {
		fprintf(f, "%u", opt.blocks[i]);
		for (k = 0; k < I_MAX; k++)
			fprintf(f, " %.6f", t[k][i]);
		fprintf(f, "\n");
	}
	fclose(f);
	snprintf(path, sizeof(path), "%s/paper.gp", opt.outdir);
	f = fopen(path, "w");
	if (f == NULL)
		paper_die(path);
	fprintf(f,
		"# bench_paper's figures: run time and transfer rate of "
		"%lu bytes by block size\n"
		"set terminal png size 800,500 noenhanced\n"
		"set logscale x 2\nset xlabel 'block size (bytes)'\n"
		"set key left top\nset grid\n"
		"set output '%s/paper-time.png'\n"
		"set title 'Run time, %lu bytes of random integers'\n"
		"set ylabel 'run time (s)'\nset logscale y\n"
		"plot for [c=2:%d] '%s/paper.dat' using 1:c with "
		"linespoints title columnhead(c)\n"
		"set output '%s/paper-rate.png'\n"
		"set title 'Transfer rate'\n"
		"set ylabel 'transfer rate (MB/s)'\n"
		"plot for [c=2:%d] '%s/paper.dat' using 1:(%f/column(c)) "
		"with linespoints title columnhead(c)\n",
		opt.total, opt.outdir, opt.total, I_MAX + 1, opt.outdir,
		opt.outdir, I_MAX + 1, opt.outdir, opt.total / 1e6);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "'%s' '%s/paper.gp'", gp, opt.outdir);
	if (system(cmd) != 0) {
		fprintf(stderr, "bench_paper: %s failed\n", cmd);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/paper-rate.png", opt.outdir);
	if (stat(path, &st) != 0 || st.st_size == 0) {
		fprintf(stderr, "bench_paper: gnuplot drew no %s\n", path);
		return 1;
	}
	printf("\nfigures: %s/paper-time.png %s/paper-rate.png\n", opt.outdir,
	       opt.outdir);
	return 0;
}

int
main(int argc, char **argv)
{
	static double samples[I_MAX][MAX_BLOCKS][MAX_ROUNDS];
	static double nsamples[N_MAX][MAX_ROUNDS];
	double t[I_MAX][MAX_BLOCKS], nr[N_MAX], mb[I_MAX];
	const char *gp;
	pid_t pids[3];
	int c, pfd[2], lfd[3], k, rc;
	unsigned r, i;

	while ((c = getopt(argc, argv, "b:r:s:n:p:i:mo:g:v")) != -1) {
		switch (c) {
		case 'b':
			parse_blocks(optarg);
			break;
		case 'r':
			opt.rounds = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 's':
			opt.total = parse_size(optarg);
			break;
		case 'n':
			opt.nulls = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'p':
			opt.depth = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'i':
			parse_impls(optarg);
			break;
		case 'm':
			opt.best = 1;
			break;
		case 'o':
			opt.outdir = optarg;
			break;
		case 'g':
			opt.gnuplot = optarg;
			break;
		case 'v':
			opt.verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || opt.rounds < 1 || opt.rounds > MAX_ROUNDS ||
	    opt.total == 0 || opt.depth == 0)
		usage();
	for (i = 0; i < opt.nblocks; i++)
		if (opt.total < opt.blocks[i]) {
			fprintf(stderr, "bench_paper: -s is below a block\n");
			return 2;
		}
	/* Fail before the long run, not after it. */
	gp = find_gnuplot();
	if (gp == NULL) {
		fprintf(stderr,
			"bench_paper: gnuplot not found%s%s: it draws the "
			"figures; install gnuplot-nox (scripts/deps bench)\n",
			opt.gnuplot ? " at " : " on PATH",
			opt.gnuplot ? opt.gnuplot : "");
		return 1;
	}

	signal(SIGPIPE, SIG_IGN);
	lfd[0] = bind_loopback(SOCK_STREAM, &ports[0]);
	lfd[1] = bind_loopback(SOCK_STREAM, &ports[1]);
	lfd[2] = bind_loopback(SOCK_DGRAM, &ports[2]);
	if (pipe(pfd) != 0)
		paper_die("pipe");
	fflush(stdout);
	if ((pids[0] = fork()) == 0)
		raw_serve(lfd[0]);
	if ((pids[1] = fork()) == 0)
		rp_serve(lfd[1], lfd[2]);
	if ((pids[2] = fork()) == 0)
		tt_serve(pfd[1]);
	if (read(pfd[0], &ports[3], 2 * sizeof(int)) != 2 * sizeof(int))
		paper_die("tether server start");
	for (k = 0; k < 3; k++)
		close(lfd[k]);

	printf("%lu bytes of random 32-bit integers by block size, loopback; "
	       "%s of %u rounds\n",
	       opt.total, opt.best ? "best" : "median", opt.rounds);
	for (r = 0; r < opt.rounds; r++) {
		for (i = 0; i < opt.nblocks; i++) {
			for (k = 0; k < I_MAX; k++) {
				samples[k][i][r] = 0;
				if (!(opt.impls & (1u << k)))
					continue;
				samples[k][i][r] =
					time_blocks((enum impl)k,
						    opt.blocks[i]);
				if (opt.verbose)
					printf("  round %u block %6u %-9s "
					       "%.4f s\n",
					       r + 1, opt.blocks[i],
					       impl_names[k],
					       samples[k][i][r]);
			}
		}
		for (k = 0; k < N_MAX && opt.nulls > 0; k++) {
			nsamples[k][r] = 0;
			if (!(opt.impls & (1u << (k == N_RP_TCP ||
							  k == N_RP_UDP
						  ? I_RP
						  : I_TT))))
				continue;
			nsamples[k][r] = rate_nulls((enum nulls)k);
			if (opt.verbose)
				printf("  round %u null %d %.0f/s\n", r + 1, k,
				       nsamples[k][r]);
		}
		fflush(stdout);
	}
	for (k = 0; k < I_MAX; k++)
		for (i = 0; i < opt.nblocks; i++)
			t[k][i] = stat_of(samples[k][i], opt.rounds, 1);
	for (k = 0; k < N_MAX; k++)
		nr[k] = stat_of(nsamples[k], opt.rounds, 0);

	printf("\n%6s | %8s %8s %8s %8s | %8s %8s %8s %8s | %6s %6s %6s\n",
	       "block", "local s", "raw s", "tirpc s", "tether s", "local",
	       "raw", "tirpc", "tether", "tirpc/", "tether/", "tether/");
	printf("%6s | %35s | %35s | %6s %6s %6s\n", "bytes", "",
	       "(MB/s)", "raw", "raw", "tirpc");
	for (i = 0; i < opt.nblocks; i++) {
		for (k = 0; k < I_MAX; k++)
			mb[k] = opt.total / 1e6 / t[k][i];
		printf("%6u | %8.3f %8.3f %8.3f %8.3f | %8.1f %8.1f %8.1f "
		       "%8.1f | %6.2f %6.2f %6.2f\n",
		       opt.blocks[i], t[I_LOCAL][i], t[I_RAW][i], t[I_RP][i],
		       t[I_TT][i], mb[I_LOCAL], mb[I_RAW], mb[I_RP], mb[I_TT],
		       mb[I_RP] / mb[I_RAW], mb[I_TT] / mb[I_RAW],
		       mb[I_TT] / mb[I_RP]);
	}
	/* The samples are sorted now: the other statistic is at hand. */
	if (!opt.best && opt.rounds > 1) {
		printf("\nbest round (MB/s): %6s %8s %8s %8s | %7s %7s\n",
		       "block", "raw", "tirpc", "tether", "tt/raw", "tt/rpc");
		for (i = 0; i < opt.nblocks; i++) {
			for (k = 0; k < I_MAX; k++)
				mb[k] = opt.total / 1e6 / samples[k][i][0];
			printf("%18s %6u %8.1f %8.1f %8.1f | %7.2f %7.2f\n",
			       "", opt.blocks[i], mb[I_RAW], mb[I_RP],
			       mb[I_TT], mb[I_TT] / mb[I_RAW],
			       mb[I_TT] / mb[I_RP]);
		}
	}
	if (opt.nulls == 0)
		goto out;
	printf("\nnull calls per second (%u calls, %s of %u rounds)\n",
	       opt.nulls, opt.best ? "best" : "median", opt.rounds);
	printf("  TCP sync:   libtirpc %9.0f  tether %9.0f  tether/tirpc "
	       "%.2f\n",
	       nr[N_RP_TCP], nr[N_TT_TCP], nr[N_TT_TCP] / nr[N_RP_TCP]);
	printf("  UDP sync:   libtirpc %9.0f  tether %9.0f  tether/tirpc "
	       "%.2f\n",
	       nr[N_RP_UDP], nr[N_TT_UDP], nr[N_TT_UDP] / nr[N_RP_UDP]);
	printf("  TCP pipelined, %u in flight on one connection: tether "
	       "%9.0f = %.1fx libtirpc TCP sync\n",
	       opt.depth, nr[N_TT_PIPE], nr[N_TT_PIPE] / nr[N_RP_TCP]);
	if (!opt.best && opt.rounds > 1) {
		double *b[N_MAX];

		for (k = 0; k < N_MAX; k++)
			b[k] = &nsamples[k][opt.rounds - 1];
		printf("  best round: TCP sync %.0f / %.0f (%.2f), UDP sync "
		       "%.0f / %.0f (%.2f), pipelined %.0f (%.1fx)\n",
		       *b[N_RP_TCP], *b[N_TT_TCP], *b[N_TT_TCP] / *b[N_RP_TCP],
		       *b[N_RP_UDP], *b[N_TT_UDP], *b[N_TT_UDP] / *b[N_RP_UDP],
		       *b[N_TT_PIPE], *b[N_TT_PIPE] / *b[N_RP_TCP]);
	}
out:
	fflush(stdout);
	for (k = 0; k < 3; k++) {
		kill(pids[k], SIGKILL);
		waitpid(pids[k], NULL, 0);
	}
	rc = draw(gp, t);
	return rc;
}
