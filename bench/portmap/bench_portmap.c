/*
 * bench_portmap.c - the client side of bench/portmap: GETPORT (portmap
 * v2) or GETADDR (rpcbind v3) calls to 127.0.0.1:111, one in flight,
 * over UDP or TCP, for a given time; prints calls per second. Every
 * reply is checked (XID, SUCCESS, the expected port or address), so a
 * daemon that answers wrongly cannot look fast.
 * Usage: bench_portmap udp|tcp getport|getaddr SECONDS
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tether/rpc.h"
#include "tether/rpcb.h"

/* The service bench/portmap/run.sh registers in both daemons (see
 * tests/integration/portmap_rpc.py): 0.0.0.0.3.1 on tcp, .3.2 on udp. */
#define BENCH_PROG 300001u
#define BENCH_VERS 1u

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
read_full(int fd, unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned char call[256], reply[2048];
	struct tether_rpc_msg m;
	struct tether_xdr x;
	struct sockaddr_in sa;
	int tcp, getaddr, fd, one = 1;
	double secs, t0, t;
	size_t clen, off = 0;
	unsigned long calls = 0;
	uint32_t xid = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: bench_portmap udp|tcp "
				"getport|getaddr SECONDS\n");
		return 2;
	}
	tcp = strcmp(argv[1], "tcp") == 0;
	getaddr = strcmp(argv[2], "getaddr") == 0;
	secs = strtod(argv[3], NULL);

	tcp ? (off = 4) : 0;
	tether_rpc_msg_init_call(&m, xid, TETHER_PMAP_PROG,
				 getaddr ? TETHER_RPCB_VERS : TETHER_PMAP_VERS,
				 getaddr ? TETHER_RPCB_GETADDR
					 : TETHER_PMAP_GETPORT);
	tether_xdr_init_encode(&x, call + off, sizeof(call) - off);
	if (tether_rpc_msg_encode(&x, &m) < 0)
		return 1;
	if (getaddr) {
		struct tether_rpcb r = { BENCH_PROG, BENCH_VERS, "", "", "" };

		tether_rpcb_codec_rpcb(&x, &r);
	} else {
		struct tether_pmap_mapping pm = { BENCH_PROG, BENCH_VERS,
						  tcp ? 6 : 17, 0 };

		tether_pmap_codec_mapping(&x, &pm);
	}
	clen = tether_xdr_getpos(&x);
	if (tcp)
		tether_xdr_store32(call,
				   TETHER_RPC_RM_LAST_FRAG | (uint32_t)clen);

	fd = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(111);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("bench_portmap: connect");
		return 1;
	}
	if (tcp)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	t0 = now();
	do {
		struct tether_rpc_msg r;
		struct tether_xdr y;
		size_t rlen;
		int i;

		for (i = 0; i < 256; i++) {
			xid++;
			tether_xdr_store32(call + off, xid);
			if (write(fd, call, clen + off) !=
			    (ssize_t)(clen + off))
				goto broken;
			if (tcp) {
				uint32_t h;

				if (read_full(fd, reply, 4) < 0)
					goto broken;
				h = tether_xdr_load32(reply);
				rlen = h & TETHER_RPC_RM_LEN_MASK;
				if (rlen > sizeof(reply) ||
				    read_full(fd, reply, rlen) < 0)
					goto broken;
			} else {
				ssize_t n = recv(fd, reply, sizeof(reply), 0);

				if (n < 0)
					goto broken;
				rlen = (size_t)n;
			}
			tether_xdr_init_decode(&y, reply, rlen,
					       TETHER_XDR_ZEROCOPY, NULL);
			if (tether_rpc_msg_decode(&y, &r) < 0 || r.xid != xid ||
			    r.u.reply.stat != TETHER_RPC_MSG_ACCEPTED ||
			    r.u.reply.accept_stat != TETHER_RPC_SUCCESS)
				goto wrong;
			if (getaddr) {
				const char *s;
				uint32_t sl;

				if (tether_xdr_string_n(&y, &s, &sl, 64) < 0 ||
				    sl < 4 ||
				    memcmp(s + sl - 4, tcp ? ".3.1" : ".3.2",
					   4) != 0)
					goto wrong;
			} else {
				uint32_t port;

				if (tether_xdr_get_u32(&y, &port) < 0 ||
				    port != (tcp ? 0x301u : 0x302u))
					goto wrong;
			}
			calls++;
		}
		t = now();
	} while (t - t0 < secs);
	printf("%.0f\n", (double)calls / (t - t0));
	return 0;
broken:
	perror("bench_portmap: i/o");
	return 1;
wrong:
	fprintf(stderr, "bench_portmap: wrong reply\n");
	return 1;
}
