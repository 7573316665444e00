/*
 * demo_client.c - the client of scripts/demo: sessions of DEMO_PROG
 * calls (demo.x, stubs by tether-rpcgen) through a load balancer. A
 * session comes from its own source address; it asks the portmapper
 * at LB:111 where the service is (tether_rpcb_getaddr from that
 * address: rpcbind v4 GETADDR over TCP, portmap v2 GETPORT when there
 * is no v4), then makes its calls to LB on the port the answer names,
 * each call on a new TCP connection, and reports which backend
 * answered each one.
 *
 * usage: demo-client [-s SESSIONS] [-c CALLS] [-f FIRST] LB
 *   LB           the load balancer's address (IPv4)
 *   -s SESSIONS  how many sessions (default 6)
 *   -c CALLS     calls per session (default 4)
 *   -f FIRST     the first session's source address (default
 *                127.1.0.1); session i comes from FIRST + i - 1
 * Exit status 0 when every session had every call answered, all by one
 * backend; 1 otherwise; 2 for a usage error.
 */
#include "demo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CALL_TIMEOUT_MS 3000u
#define MAX_SESSIONS	250
#define MAX_CALLS	50

/* What one session found out. */
struct session {
	struct tether_addr source;
	char src[TETHER_ADDR_STRLEN];
	char backend[DEMO_MAXNAME + 1]; /* the first answer's backend */
	int answered;			/* calls answered */
	int same;			/* answered by backend */
};

static struct tether_rpc_client_config
config_from(const struct tether_addr *source)
{
	struct tether_rpc_client_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.timeout_ms = CALL_TIMEOUT_MS;
	tether_addr_copy(&cfg.source, source);
	return cfg;
}

/*
 * Where the service is, asked of the portmapper at pm from the
 * session's source with the runtime's rpcbind client (rpcbind v4
 * GETADDR over TCP; v3, then portmap v2 GETPORT for older
 * portmappers, whose answer is pm's host with the port).
 */
static int
lookup(const struct tether_addr *pm, const struct tether_addr *source,
       struct tether_addr *out)
{
	struct tether_rpcb_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.remote = pm;
	cfg.no_local = 1;
	cfg.source = source;
	cfg.timeout_ms = CALL_TIMEOUT_MS;
	return tether_rpcb_getaddr(&cfg, DEMO_PROG, DEMO_VERS,
				   TETHER_NETID_TCP, out);
}

/* One call on a connection of its own; prints who answered, or the
 * status of a call that failed. */
static void
one_call(struct session *s, const struct tether_addr *svc, unsigned seq,
	 struct tether_arena *arena)
{
	struct tether_rpc_client_config cfg = config_from(&s->source);
	struct tether_rpc_client *c;
	enum tether_rpc_status st;
	struct demo_args args;
	struct demo_reply res;
	int rc;

	rc = tether_rpc_client_new(&c, NULL, svc, SOCK_STREAM, DEMO_PROG,
				   DEMO_VERS, &cfg);
	if (rc < 0) {
		printf(" [%s]", tether_strerror(rc));
		return;
	}
	args.client = s->src;
	args.seq = seq;
	memset(&res, 0, sizeof(res));
	st = demo_hello_1(c, args, &res, arena);
	tether_rpc_client_free(c);
	if (st != TETHER_RPC_ST_OK || res.backend == NULL) {
		printf(" [%s]", tether_rpc_status_name(st));
		return;
	}
	printf(" %s", res.backend);
	if (s->answered++ == 0)
		snprintf(s->backend, sizeof(s->backend), "%s", res.backend);
	if (strcmp(s->backend, res.backend) == 0)
		s->same++;
}

/* A count from the command line in 1..max, or -1. */
static int
count_arg(const char *s, int max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != 0 || v < 1 || v > max)
		return -1;
	return (int)v;
}

static int
usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-s SESSIONS] [-c CALLS] [-f FIRST] LB\n", prog);
	return 2;
}

int
main(int argc, char **argv)
{
	struct tether_addr lb, pm, svc, where, host;
	struct tether_arena *arena;
	struct session s;
	struct sockaddr_in *sin;
	char lbtext[TETHER_ADDR_STRLEN], uaddr[TETHER_UADDR_STRLEN];
	char svctext[TETHER_ADDR_STRLEN];
	const char *first = "127.1.0.1";
	int nsess = 6, ncalls = 4, ch, i, rc, good = 0, noted = 0;
	unsigned seq;
	uint32_t base;

	while ((ch = getopt(argc, argv, "hs:c:f:")) != -1) {
		switch (ch) {
		case 's':
			nsess = count_arg(optarg, MAX_SESSIONS);
			break;
		case 'c':
			ncalls = count_arg(optarg, MAX_CALLS);
			break;
		case 'f':
			first = optarg;
			break;
		default:
			return usage(argv[0]);
		}
	}
	if (argc - optind != 1 || nsess < 1 || nsess > MAX_SESSIONS ||
	    ncalls < 1 || ncalls > MAX_CALLS ||
	    tether_addr_parse(&lb, argv[optind], TETHER_RPCB_PORT) != 0 ||
	    lb.ss.ss_family != AF_INET ||
	    tether_addr_parse(&s.source, first, 0) != 0 ||
	    s.source.ss.ss_family != AF_INET)
		return usage(argv[0]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	arena = tether_arena_new(0, 0);
	if (arena == NULL)
		return 1;
	tether_addr_copy(&pm, &lb);
	tether_addr_set_port(&pm, TETHER_RPCB_PORT);
	tether_addr_format(&pm, lbtext, sizeof(lbtext), 0);
	sin = (struct sockaddr_in *)&s.source.ss;
	base = ntohl(sin->sin_addr.s_addr);

	for (i = 0; i < nsess; i++) {
		sin->sin_addr.s_addr = htonl(base + (uint32_t)i);
		tether_addr_format(&s.source, s.src, sizeof(s.src),
				   TETHER_ADDR_FMT_NOPORT);
		s.backend[0] = 0;
		s.answered = s.same = 0;
		rc = lookup(&pm, &s.source, &where);
		if (rc < 0) {
			printf("session %d from %s: lookup at %s failed: %s\n",
			       i + 1, s.src, lbtext, tether_strerror(rc));
			printf("session %d from %s: FAILED (no lookup)\n",
			       i + 1, s.src);
			continue;
		}
		/* (compared on the host part alone) */
		tether_addr_copy(&host, &where);
		tether_addr_set_port(&host, TETHER_RPCB_PORT);
		if (!noted && tether_addr_compare(&host, &pm) != 0) {
			printf("(the portmapper's answer names the backend's "
			       "own address: tether-lb's\n"
			       " portmap helper, which will rewrite it to the "
			       "load balancer's, is not\n"
			       " there yet, so this client keeps the port and "
			       "puts the load balancer's\n"
			       " address in place of the host)\n");
			noted = 1;
		}
		/* The service is where the answer says, on the load
		 * balancer's address. */
		tether_addr_copy(&svc, &lb);
		tether_addr_set_port(&svc, tether_addr_port(&where));
		tether_addr_format(&svc, svctext, sizeof(svctext), 0);
		if (tether_addr_to_uaddr(&where, TETHER_NETID_TCP, uaddr,
					 sizeof(uaddr)) < 0)
			snprintf(uaddr, sizeof(uaddr), "?");
		printf("session %d from %s: GETADDR at %s -> %s, calling %s:",
		       i + 1, s.src, lbtext, uaddr, svctext);
		for (seq = 1; seq <= (unsigned)ncalls; seq++) {
			one_call(&s, &svc, seq, arena);
			tether_arena_reset(arena);
		}
		printf("\n");
		if (s.answered == ncalls && s.same == ncalls) {
			printf("session %d from %s: served by %s (all %d "
			       "calls, each on its own connection)\n",
			       i + 1, s.src, s.backend, ncalls);
			good++;
		} else {
			printf("session %d from %s: BROKEN: %d of %d calls "
			       "answered, %d by %s\n",
			       i + 1, s.src, s.answered, ncalls, s.same,
			       s.answered ? s.backend : "any backend");
		}
	}
	printf("%d of %d sessions stayed whole on one backend\n", good, nsess);
	tether_arena_free(arena);
	return good == nsess ? 0 : 1;
}
