/*
 * bench_rp.c - the libtirpc side of bench/paper: Debian rpcgen's stubs
 * and server skeleton for paper.x, on libtirpc's svc_run and CLIENT.
 */
#include "paper.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "bench_paper.h"

randblock *
getrand_1_svc(u_int *n, struct svc_req *req)
{
	static randblock res;
	static u_int buf[PAPER_MAX_BLOCK / 4];

	(void)req;
	res.randblock_len = *n > PAPER_MAX_BLOCK ? 0 : *n / 4;
	res.randblock_val = buf;
	paper_fill_random(buf, res.randblock_len);
	return &res;
}

void *
papernull_1_svc(void *argp, struct svc_req *req)
{
	static char res;

	(void)argp;
	(void)req;
	return &res;
}

void paperprog_1(struct svc_req *rqstp, SVCXPRT *transp);

void
rp_serve(int tcp_fd, int udp_fd)
{
	SVCXPRT *t = svctcp_create(tcp_fd, 0, 0), *u = svcudp_create(udp_fd);

	if (t == NULL || u == NULL ||
	    !svc_register(t, PAPERPROG, PAPERVERS, paperprog_1, 0) ||
	    !svc_register(u, PAPERPROG, PAPERVERS, paperprog_1, 0))
		paper_die("libtirpc server setup");
	svc_run();
	paper_die("svc_run returned");
}

void *
rp_open(int port, int udp)
{
	struct sockaddr_in sin;
	struct timeval wait = { 1, 0 };
	int sock = RPC_ANYSOCK;
	CLIENT *cl;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	cl = udp ? clntudp_create(&sin, PAPERPROG, PAPERVERS, wait, &sock)
		 : clnttcp_create(&sin, PAPERPROG, PAPERVERS, &sock, 0, 0);
	if (cl == NULL)
		paper_die("libtirpc client create");
	rp_null(cl);
	return cl;
}

void
rp_close(void *h)
{
	clnt_destroy((CLIENT *)h);
}

void
rp_getrand(void *h, unsigned block)
{
	u_int n = block;
	randblock *r = getrand_1(&n, h);

	if (r == NULL || r->randblock_len != block / 4)
		paper_die("libtirpc GETRAND");
	xdr_free((xdrproc_t)xdr_randblock, (char *)r);
}

void
rp_null(void *h)
{
	if (papernull_1(NULL, h) == NULL)
		paper_die("libtirpc NULL");
}
