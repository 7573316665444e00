/*
 * demo_server.c - one backend of scripts/demo: serves DEMO_PROG
 * (demo.x, compiled by tether-rpcgen at build time) over TCP on the
 * address given, answers every call with its own name and how many
 * calls it has served, and registers with its portmapper through the
 * runtime's rpcbind client (removed again when it stops).
 *
 * usage: demo-server [-s SOCKET] NAME ADDR:PORT
 *   NAME       the backend name its answers carry
 *   ADDR:PORT  where it listens (TCP)
 *   -s SOCKET  the portmapper's local socket (default /run/rpcbind.sock)
 * It prints "NAME: registered ..." once it is registered and serving,
 * and runs until SIGINT or SIGTERM. Exit status 0 after a signal, 1 when
 * it cannot start, 2 for a usage error.
 */
#include "demo.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *backend_name;
static uint64_t served;

int
demo_hello_1_svc(struct demo_args args, struct demo_reply *res,
		 struct tether_rpc_server_call *call)
{
	(void)call;
	served++;
	/* The name lives as long as the program: the reply may point
	 * at it. */
	res->backend = (char *)(uintptr_t)backend_name;
	res->served = served;
	res->seq = args.seq;
	fprintf(stderr, "%s: call %" PRIu64 " (session %s, its call %u)\n",
		backend_name, served, args.client ? args.client : "?",
		args.seq);
	return 0;
}

static void
on_signal(struct tether_loop *loop, int signo, void *ud)
{
	(void)signo;
	(void)ud;
	tether_loop_stop(loop);
}

static int
usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-s SOCKET] NAME ADDR:PORT\n", prog);
	return 2;
}

int
main(int argc, char **argv)
{
	struct tether_loop *loop = NULL;
	struct tether_rpc_server *srv = NULL;
	struct tether_rpcb_config pm;
	struct tether_addr addr, bound;
	char text[TETHER_ADDR_STRLEN];
	int ch, rc, ret = 1, registered = 0;

	memset(&pm, 0, sizeof(pm));
	while ((ch = getopt(argc, argv, "hs:")) != -1) {
		switch (ch) {
		case 's':
			pm.local_path = optarg;
			break;
		default:
			return usage(argv[0]);
		}
	}
	if (argc - optind != 2 || argv[optind][0] == 0 ||
	    strlen(argv[optind]) > DEMO_MAXNAME ||
	    tether_addr_parse(&addr, argv[optind + 1], -1) != 0 ||
	    addr.ss.ss_family == AF_UNIX)
		return usage(argv[0]);
	backend_name = argv[optind];
	setvbuf(stderr, NULL, _IOLBF, 0);

	if (tether_loop_new(&loop, NULL) != 0 ||
	    tether_rpc_server_new(&srv, loop, NULL) != 0 ||
	    demo_prog_1_register(srv, NULL) != 0 ||
	    tether_loop_signal_add(loop, SIGINT, on_signal, NULL) != 0 ||
	    tether_loop_signal_add(loop, SIGTERM, on_signal, NULL) != 0) {
		fprintf(stderr, "%s: cannot start\n", backend_name);
		goto out;
	}
	rc = tether_rpc_server_listen(srv, SOCK_STREAM, &addr, &bound);
	if (rc < 0) {
		fprintf(stderr, "%s: listen on %s: %s\n", backend_name,
			argv[optind + 1], tether_strerror(rc));
		goto out;
	}
	/* rpcbind v4 SET over the portmapper's local socket: the same
	 * call libtirpc's svc_reg makes. */
	rc = tether_rpcb_set(&pm, DEMO_PROG, DEMO_VERS, TETHER_NETID_TCP,
			     &bound);
	if (rc < 0) {
		fprintf(stderr, "%s: cannot register with the portmapper: %s\n",
			backend_name, tether_strerror(rc));
		goto out;
	}
	registered = 1;
	tether_addr_format(&bound, text, sizeof(text), 0);
	fprintf(stderr,
		"%s: registered program %u version %u tcp %s with the "
		"portmapper, serving\n",
		backend_name, (unsigned)DEMO_PROG, (unsigned)DEMO_VERS, text);
	ret = tether_loop_run(loop) == 0 ? 0 : 1;
	fprintf(stderr, "%s: stopping after %" PRIu64 " calls\n",
		backend_name, served);
out:
	if (registered)
		tether_rpcb_unset(&pm, DEMO_PROG, DEMO_VERS, TETHER_NETID_TCP);
	tether_rpc_server_free(srv);
	tether_loop_free(loop);
	return ret;
}
