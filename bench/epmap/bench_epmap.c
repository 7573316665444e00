/*
 * bench_epmap.c - ept_map calls per second against endpoint mappers, in
 * two ways: many calls on one bound connection, and a new connection
 * (connect, bind, ept_map, close) per lookup. bench_epmap.sh runs it
 * against tether-epmap and Samba's samba-dcerpcd in the same run, trials
 * interleaved, and prints the ratio.
 * Usage: bench_epmap [-t SECONDS] [-r SOCKET] NAME=HOST:PORT...
 * -r registers lsarpc (Samba registers it itself) through SOCKET on the
 * first target, which must then be tether-epmap.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tether/dce.h"

#define LSARPC	    "12345778-1234-abcd-ef00-0123456789ab"
#define MAX_TARGETS 4
#define TRIALS	    3

static struct tether_dce_syntax lsarpc;
static uint8_t map_stub[256];
static size_t map_len;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
dial(const struct tether_addr *a)
{
	int fd = socket(a->ss.ss_family, SOCK_STREAM, 0);

	if (fd < 0 ||
	    connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
		perror("connect");
		exit(1);
	}
	return fd;
}

static void
one_map(struct tether_dce_client *c)
{
	const uint8_t *resp;
	size_t rl;
	uint32_t fault, status;

	if (tether_dce_client_call(c, TETHER_DCE_EPM_MAP, NULL, map_stub,
				   map_len, &resp, &rl, &fault) < 0 ||
	    fault != 0 || rl < 4) {
		fprintf(stderr, "ept_map failed (fault 0x%x)\n", fault);
		exit(1);
	}
	memcpy(&status, resp + rl - 4, 4);
	if (status != 0) {
		fprintf(stderr, "lsarpc is not registered (0x%x)\n", status);
		exit(1);
	}
}

/* Calls per second for secs seconds; fresh: a connection per call. */
static double
run(const struct tether_addr *a, double secs, int fresh)
{
	struct tether_dce_client *c = NULL;
	double t0 = now(), t;
	unsigned long n = 0;
	int fd = -1;

	do {
		if (c == NULL) {
			fd = dial(a);
			if (tether_dce_client_bind(fd, &tether_dce_epm_v3, 0,
						   5000, &c, NULL) < 0) {
				fprintf(stderr, "bind failed\n");
				exit(1);
			}
		}
		one_map(c);
		n++;
		if (fresh) {
			tether_dce_client_free(c);
			close(fd);
			c = NULL;
		}
		t = now();
	} while (t - t0 < secs);
	if (c != NULL) {
		tether_dce_client_free(c);
		close(fd);
	}
	return (double)n / (t - t0);
}

static void
register_lsarpc(const char *path)
{
	struct tether_dce_epm_insert_req q;
	struct tether_dce_epm_entry e;
	struct tether_dce_ndr_writer w;
	struct tether_dce_client *c;
	struct tether_addr ua;
	static const uint8_t any[4];
	uint8_t tw[75], stub[256];
	const uint8_t *resp;
	size_t tl, rl;
	uint32_t fault;
	int fd;

	tether_dce_tower_build_tcp(&lsarpc, &tether_dce_ndr20, 49153, any, tw,
				   sizeof(tw), &tl);
	memset(&e, 0, sizeof(e));
	e.has_tower = 1;
	e.tower.data = tw;
	e.tower.len = (uint32_t)tl;
	e.annotation = "bench";
	memset(&q, 0, sizeof(q));
	q.num_ents = 1;
	q.entries = &e;
	tether_dce_ndr_writer_init(&w, stub, sizeof(stub), 0x10);
	tether_dce_epm_insert_req_encode(&w, &q, 1);
	if (tether_addr_parse(&ua, path, -1) < 0)
		exit(2);
	fd = dial(&ua);
	if (tether_dce_client_bind(fd, &tether_dce_epm_v3, 0, 5000, &c, NULL) <
		    0 ||
	    tether_dce_client_call(c, TETHER_DCE_EPM_INSERT, NULL, stub, w.pos,
				   &resp, &rl, &fault) < 0 ||
	    fault != 0) {
		fprintf(stderr, "cannot register lsarpc at %s\n", path);
		exit(1);
	}
	tether_dce_client_free(c);
	close(fd);
}

int
main(int argc, char **argv)
{
	struct tether_dce_epm_map_req q;
	struct tether_dce_ndr_writer w;
	struct tether_addr addr[MAX_TARGETS];
	const char *name[MAX_TARGETS], *reg = NULL;
	double secs = 2, best[MAX_TARGETS][2];
	static const uint8_t any[4];
	uint8_t tw[75];
	size_t tl;
	int n = 0, i, k, mode, opt;

	while ((opt = getopt(argc, argv, "t:r:")) != -1) {
		if (opt == 't')
			secs = strtod(optarg, NULL);
		else if (opt == 'r')
			reg = optarg;
		else
			return 2;
	}
	for (i = optind; i < argc && n < MAX_TARGETS; i++, n++) {
		char *eq = strchr(argv[i], '=');

		if (eq == NULL || tether_addr_parse(&addr[n], eq + 1, -1) < 0) {
			fprintf(stderr, "bad target %s\n", argv[i]);
			return 2;
		}
		*eq = '\0';
		name[n] = argv[i];
	}
	if (n == 0 || secs <= 0)
		return 2;
	tether_dce_uuid_parse(LSARPC, &lsarpc.uuid);
	if (reg != NULL)
		register_lsarpc(reg);
	tether_dce_tower_build_tcp(&lsarpc, &tether_dce_ndr20, 0, any, tw,
				   sizeof(tw), &tl);
	memset(&q, 0, sizeof(q));
	q.has_tower = 1;
	q.tower.data = tw;
	q.tower.len = (uint32_t)tl;
	q.max_towers = 4;
	tether_dce_ndr_writer_init(&w, map_stub, sizeof(map_stub), 0x10);
	tether_dce_epm_map_req_encode(&w, &q);
	map_len = w.pos;

	memset(best, 0, sizeof(best));
	/* Interleaved trials, best of each, so machine load hits all. */
	for (k = 0; k < TRIALS; k++)
		for (mode = 0; mode < 2; mode++)
			for (i = 0; i < n; i++) {
				double r = run(&addr[i], secs, mode);

				if (r > best[i][mode])
					best[i][mode] = r;
			}
	for (mode = 0; mode < 2; mode++) {
		printf("%s:\n", mode ? "new connection per ept_map"
				     : "ept_map on one connection");
		for (i = 0; i < n; i++)
			printf("  %-14s %10.0f calls/s\n", name[i],
			       best[i][mode]);
		for (i = 1; i < n; i++)
			printf("  ratio %s/%s: %.2f\n", name[0], name[i],
			       best[0][mode] / best[i][mode]);
	}
	return 0;
}
