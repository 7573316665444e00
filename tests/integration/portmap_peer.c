/*
 * portmap_peer.c - a libtirpc server and client for the tether-portmap
 * interop test, on Debian's rpcgen output (portmap_peer.x). "server"
 * registers with svc_create (rpcb_set through the local socket) on
 * every visible netid and serves ECHO until killed; "client NETID"
 * finds it with clnt_create and calls ECHO(41), expecting 42.
 */
#include <rpc/rpc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portmap_peer.h"

void tpmtest_prog_1(struct svc_req *rqstp, SVCXPRT *transp);

int *
echo_1_svc(int *arg, struct svc_req *req)
{
	static int res;

	(void)req;
	res = *arg + 1;
	return &res;
}

int
tpmtest_prog_1_freeresult(SVCXPRT *transp, xdrproc_t xdr_result, caddr_t result)
{
	(void)transp;
	xdr_free(xdr_result, result);
	return 1;
}

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "server") == 0) {
		int n = svc_create(tpmtest_prog_1, TPMTEST_PROG, TPMTEST_VERS,
				   "netpath");

		if (n <= 0) {
			fprintf(stderr, "portmap_peer: svc_create failed\n");
			return 1;
		}
		printf("registered on %d transports\n", n);
		fflush(stdout);
		svc_run();
		return 1;
	}
	if (argc == 3 && strcmp(argv[1], "client") == 0) {
		CLIENT *cl = clnt_create("localhost", TPMTEST_PROG,
					 TPMTEST_VERS, argv[2]);
		int arg = 41, *res;

		if (cl == NULL) {
			clnt_pcreateerror("portmap_peer: clnt_create");
			return 1;
		}
		res = echo_1(&arg, cl);
		if (res == NULL || *res != 42) {
			clnt_perror(cl, "portmap_peer: ECHO");
			clnt_destroy(cl);
			return 1;
		}
		printf("ECHO over %s: %d\n", argv[2], *res);
		clnt_destroy(cl);
		return 0;
	}
	fprintf(stderr, "usage: portmap_peer server | client NETID\n");
	return 2;
}
