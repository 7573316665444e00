/*
 * runtime_rpcbind.c - the tether side of the rpcbind interop test
 * (runtime_rpcbind.sh drives it next to Debian's rpcbind):
 *   serve PROG            a server on 127.0.0.1 TCP and UDP whose
 *                         registrations a keeper holds (until SIGTERM,
 *                         which unregisters)
 *   getaddr PROG VERS NETID [remote]   print where it is served
 *   set PROG VERS NETID ADDR [v2]      register (v2: portmap v2 only)
 *   unset PROG VERS [v2]               unregister every netid
 *   call PROG VERS NETID               find it through the portmapper
 *                                      and call its NULL procedure
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tether/rpc.h"

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static const struct tether_rpc_server_table *
table(uint32_t prog)
{
	static struct tether_rpc_server_table t;

	memset(&t, 0, sizeof(t));
	t.prog = prog;
	t.vers = 1; /* only the NULL procedure */
	return &t;
}

static int
serve(uint32_t prog)
{
	struct tether_loop *loop;
	struct tether_rpc_server *srv;
	struct tether_rpcb_keeper *k;
	struct tether_addr a, tcp, udp;
	int rc;

	signal(SIGTERM, on_term);
	if (tether_loop_new(&loop, NULL) != 0 ||
	    tether_rpc_server_new(&srv, loop, NULL) != 0 ||
	    tether_rpc_server_register(srv, table(prog), NULL) != 0 ||
	    tether_addr_parse(&a, "127.0.0.1:0", -1) != 0 ||
	    tether_rpc_server_listen(srv, SOCK_STREAM, &a, &tcp) != 0 ||
	    tether_rpc_server_listen(srv, SOCK_DGRAM, &a, &udp) != 0)
		return 1;
	rc = tether_rpcb_keeper_new(&k, loop, NULL, 200);
	if (rc == 0)
		rc = tether_rpcb_keeper_add(k, prog, 1, TETHER_NETID_TCP, &tcp);
	if (rc == 0)
		rc = tether_rpcb_keeper_add(k, prog, 1, TETHER_NETID_UDP, &udp);
	if (rc != 0) {
		fprintf(stderr, "keeper: %s\n", tether_strerror(rc));
		return 1;
	}
	while (!stop)
		tether_loop_run_once(loop, 100);
	tether_rpcb_keeper_free(k, 1);
	tether_rpc_server_free(srv);
	tether_loop_free(loop);
	return 0;
}

int
main(int argc, char **argv)
{
	struct tether_rpcb_config cfg;
	struct tether_addr a;
	char buf[TETHER_ADDR_STRLEN];
	int rc, netid;

	memset(&cfg, 0, sizeof(cfg));
	if (argc == 3 && strcmp(argv[1], "serve") == 0)
		return serve((uint32_t)strtoul(argv[2], NULL, 0));
	if (argc >= 5 && strcmp(argv[1], "getaddr") == 0) {
		netid = tether_netid_from_name(argv[4]);
		if (netid < 0)
			return 2;
		if (argc == 6 && strcmp(argv[5], "remote") == 0)
			cfg.no_local = 1;
		rc = tether_rpcb_getaddr(&cfg,
					 (uint32_t)strtoul(argv[2], NULL, 0),
					 (uint32_t)strtoul(argv[3], NULL, 0),
					 (enum tether_netid)netid, &a);
		if (rc < 0) {
			fprintf(stderr, "getaddr: %s\n", tether_strerror(rc));
			return 1;
		}
		tether_addr_format(&a, buf, sizeof(buf), 0);
		printf("%s\n", buf);
		return 0;
	}
	if (argc >= 6 && strcmp(argv[1], "set") == 0) {
		netid = tether_netid_from_name(argv[4]);
		if (netid < 0 || tether_addr_parse(&a, argv[5], -1) < 0)
			return 2;
		cfg.no_local = argc == 7 && strcmp(argv[6], "v2") == 0;
		rc = tether_rpcb_set(&cfg, (uint32_t)strtoul(argv[2], NULL, 0),
				     (uint32_t)strtoul(argv[3], NULL, 0),
				     (enum tether_netid)netid, &a);
		if (rc < 0)
			fprintf(stderr, "set: %s\n", tether_strerror(rc));
		return rc < 0;
	}
	if (argc >= 4 && strcmp(argv[1], "unset") == 0) {
		cfg.no_local = argc == 5 && strcmp(argv[4], "v2") == 0;
		rc = tether_rpcb_unset(
			&cfg, (uint32_t)strtoul(argv[2], NULL, 0),
			(uint32_t)strtoul(argv[3], NULL, 0), TETHER_NETID_MAX);
		if (rc < 0)
			fprintf(stderr, "unset: %s\n", tether_strerror(rc));
		return rc < 0;
	}
	if (argc == 5 && strcmp(argv[1], "call") == 0) {
		struct tether_rpc_client *c;
		struct tether_rpc_result r;

		netid = tether_netid_from_name(argv[4]);
		if (netid < 0)
			return 2;
		rc = tether_rpc_client_new_lookup(
			&c, NULL, NULL, (uint32_t)strtoul(argv[2], NULL, 0),
			(uint32_t)strtoul(argv[3], NULL, 0),
			(enum tether_netid)netid, NULL);
		if (rc < 0) {
			fprintf(stderr, "lookup: %s\n", tether_strerror(rc));
			return 1;
		}
		tether_rpc_client_call(c, 0, NULL, NULL, NULL, NULL, NULL, 2000,
				       &r);
		tether_rpc_client_free(c);
		printf("%s\n", tether_rpc_result_format(&r, buf, sizeof(buf)));
		return r.status != TETHER_RPC_ST_OK;
	}
	fprintf(stderr, "usage: see the file's comment\n");
	return 2;
}
