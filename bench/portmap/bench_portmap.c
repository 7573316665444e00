/*
 * bench_portmap.c - the load client of bench/portmap: GETPORT (portmap
 * v2) or GETADDR (rpcbind v4) calls to 127.0.0.1:111 over UDP or TCP,
 * WINDOW calls in flight (1: synchronous, one call, wait, next), for a
 * given time; prints calls per second. Every reply is checked (an XID
 * we have in flight, SUCCESS, the expected port or address), so a
 * daemon that answers wrongly cannot look fast.
 * Usage: bench_portmap udp|tcp getport|getaddr WINDOW SECONDS
 *
 * bench_portmap null-server binds UDP and TCP port 111 and answers every
 * call with the reply the client expects, doing nothing else: blocking
 * sockets, one read and one write per call (or per batch on TCP). Its
 * figures are the floor the machine sets - what wakeups and the
 * loopback cost - against which both daemons are seen.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
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
#define WINDOW_MAX 64
/* XIDs in flight are remembered in a ring this long (> WINDOW_MAX). */
#define RING	   256u
#define CALL_MAX   128u

struct bench {
	int fd;
	int tcp;
	int getaddr;
	int window;
	unsigned char call[CALL_MAX]; /* with the record mark on TCP */
	size_t clen;		      /* bytes of call, mark included */
	size_t off;		      /* 4 on TCP (the mark), else 0 */
	uint32_t next_xid;
	uint32_t ring[RING]; /* XIDs in flight, by xid % RING */
	int inflight;
	unsigned long calls;
	unsigned long lost; /* UDP calls given up on */
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Put the next call into dst (clen bytes) and remember its XID. */
static void
stamp(struct bench *b, unsigned char *dst)
{
	uint32_t xid = b->next_xid++;

	memcpy(dst, b->call, b->clen);
	tether_xdr_store32(dst + b->off, xid);
	b->ring[xid % RING] = xid;
	b->inflight++;
}

/* Check one reply (no record mark): 0, 1 for a late UDP reply to a
 * call given up on (ignored), or -1 when it is wrong. */
static int
check(struct bench *b, const unsigned char *p, size_t n)
{
	struct tether_rpc_msg r;
	struct tether_xdr y;

	tether_xdr_init_decode(&y, p, n, TETHER_XDR_ZEROCOPY, NULL);
	if (tether_rpc_msg_decode(&y, &r) < 0 || r.type != TETHER_RPC_REPLY)
		return -1;
	if (b->ring[r.xid % RING] != r.xid)
		return b->tcp ? -1 : 1;
	if (r.u.reply.stat != TETHER_RPC_MSG_ACCEPTED ||
	    r.u.reply.accept_stat != TETHER_RPC_SUCCESS)
		return -1;
	b->ring[r.xid % RING] = 0;
	if (b->getaddr) {
		const char *s;
		uint32_t sl;

		if (tether_xdr_string_n(&y, &s, &sl, 64) < 0 || sl < 4 ||
		    memcmp(s + sl - 4, b->tcp ? ".3.1" : ".3.2", 4) != 0)
			return -1;
	} else {
		uint32_t port;

		if (tether_xdr_get_u32(&y, &port) < 0 ||
		    port != (b->tcp ? 0x301u : 0x302u))
			return -1;
	}
	b->inflight--;
	b->calls++;
	return 0;
}

static int
send_calls(struct bench *b, int k)
{
	unsigned char out[WINDOW_MAX * CALL_MAX];
	struct mmsghdr mm[WINDOW_MAX];
	struct iovec iov[WINDOW_MAX];
	size_t len = 0, done = 0;
	int i, sent = 0;

	for (i = 0; i < k; i++, len += b->clen)
		stamp(b, out + len);
	if (!b->tcp) {
		/* All the window's calls in one system call. */
		memset(mm, 0, sizeof(mm[0]) * (size_t)k);
		for (i = 0; i < k; i++) {
			iov[i].iov_base = out + (size_t)i * b->clen;
			iov[i].iov_len = b->clen;
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		while (sent < k) {
			int r = sendmmsg(b->fd, mm + sent,
					 (unsigned)(k - sent), 0);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return -1;
			sent += r;
		}
		return 0;
	}
	while (done < len) {
		ssize_t w = write(b->fd, out + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		done += (size_t)w;
	}
	return 0;
}

/* UDP: wait for replies (taken by recvmmsg, as many as have come),
 * refill the window. 0, or -1 on error; a window with no reply for
 * 200 ms is counted lost and sent again. */
static int
run_udp(struct bench *b, double secs)
{
	static unsigned char buf[WINDOW_MAX][2048];
	struct mmsghdr mm[WINDOW_MAX];
	struct iovec iov[WINDOW_MAX];
	double t0 = now();
	int i, k, got;

	if (send_calls(b, b->window) < 0)
		return -1;
	while (now() - t0 < secs) {
		struct pollfd pf = { b->fd, POLLIN, 0 };

		if (poll(&pf, 1, 200) == 0) {
			b->lost += (unsigned long)b->inflight;
			b->inflight = 0;
			memset(b->ring, 0, sizeof(b->ring));
			if (send_calls(b, b->window) < 0)
				return -1;
			continue;
		}
		memset(mm, 0, sizeof(mm[0]) * (size_t)b->window);
		for (i = 0; i < b->window; i++) {
			iov[i].iov_base = buf[i];
			iov[i].iov_len = sizeof(buf[i]);
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		k = recvmmsg(b->fd, mm, (unsigned)b->window, MSG_DONTWAIT,
			     NULL);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k < 0)
			return -1;
		got = 0;
		for (i = 0; i < k; i++) {
			int rc = check(b, buf[i], mm[i].msg_len);

			if (rc < 0)
				goto wrong;
			got += rc == 0;
		}
		if (got > 0 && send_calls(b, got) < 0)
			return -1;
	}
	return 0;
wrong:
	fprintf(stderr, "bench_portmap: wrong reply\n");
	exit(1);
}

/* TCP: read what has come, answer each whole record with a new call
 * (in one write), keep the rest. 0, or -1 on error. */
static int
run_tcp(struct bench *b, double secs)
{
	unsigned char buf[65536];
	size_t have = 0;
	double t0 = now();

	if (send_calls(b, b->window) < 0)
		return -1;
	while (now() - t0 < secs) {
		ssize_t n = read(b->fd, buf + have, sizeof(buf) - have);
		size_t pos = 0;
		int got = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		have += (size_t)n;
		while (have - pos >= 4) {
			uint32_t h = tether_xdr_load32(buf + pos);
			size_t rl = h & TETHER_RPC_RM_LEN_MASK;

			if (!(h & TETHER_RPC_RM_LAST_FRAG) || rl > 4096)
				goto wrong;
			if (have - pos - 4 < rl)
				break;
			if (check(b, buf + pos + 4, rl) < 0)
				goto wrong;
			pos += 4 + rl;
			got++;
		}
		memmove(buf, buf + pos, have - pos);
		have -= pos;
		if (got > 0 && send_calls(b, got) < 0)
			return -1;
	}
	return 0;
wrong:
	fprintf(stderr, "bench_portmap: wrong reply\n");
	exit(1);
}

/* ---- the null server ---- */

/* The reply to the call at p (n bytes) into out; its length, or 0 when
 * it is not a GETPORT/GETADDR call of ours. */
static size_t
null_reply(const unsigned char *p, size_t n, int tcp, unsigned char *out)
{
	static const char ua_tcp[] = "127.0.0.1.3.1", ua_udp[] = "127.0.0.1.3.2";
	const char *ua = tcp ? ua_tcp : ua_udp;
	size_t len = 24;

	if (n < 24)
		return 0;
	memcpy(out, p, 4); /* xid */
	tether_xdr_store32(out + 4, TETHER_RPC_REPLY);
	memset(out + 8, 0, 16); /* accepted, AUTH_NONE, SUCCESS */
	if (tether_xdr_load32(p + 16) == TETHER_PMAP_VERS) {
		tether_xdr_store32(out + 24, tcp ? 0x301u : 0x302u);
		return len + 4;
	}
	tether_xdr_store32(out + 24, (uint32_t)strlen(ua));
	memset(out + 28, 0, 16);
	memcpy(out + 28, ua, strlen(ua));
	return len + 4 + 16;
}

static void
null_udp(int fd)
{
	unsigned char in[2048], out[128];
	struct sockaddr_storage ss;

	for (;;) {
		socklen_t sl = sizeof(ss);
		ssize_t n = recvfrom(fd, in, sizeof(in), 0,
				     (struct sockaddr *)&ss, &sl);
		size_t k;

		if (n < 0)
			continue;
		k = null_reply(in, (size_t)n, 0, out);
		if (k > 0)
			(void)sendto(fd, out, k, 0, (struct sockaddr *)&ss, sl);
	}
}

static void
null_tcp_conn(int fd)
{
	static unsigned char in[65536], out[65536 * 2];
	size_t have = 0;

	for (;;) {
		ssize_t n = read(fd, in + have, sizeof(in) - have);
		size_t pos = 0, olen = 0;

		if (n <= 0)
			return;
		have += (size_t)n;
		while (have - pos >= 4) {
			size_t rl = tether_xdr_load32(in + pos) &
				    TETHER_RPC_RM_LEN_MASK;
			size_t k;

			if (rl > 4096)
				return;
			if (have - pos - 4 < rl)
				break;
			k = null_reply(in + pos + 4, rl, 1, out + olen + 4);
			tether_xdr_store32(out + olen,
					   TETHER_RPC_RM_LAST_FRAG |
						   (uint32_t)k);
			olen += 4 + k;
			pos += 4 + rl;
		}
		memmove(in, in + pos, have - pos);
		have -= pos;
		if (olen > 0 && write(fd, out, olen) != (ssize_t)olen)
			return;
	}
}

static int
null_server(void)
{
	struct sockaddr_in sa;
	int u, t, one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(111);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	u = socket(AF_INET, SOCK_DGRAM, 0);
	t = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (u < 0 || t < 0 ||
	    bind(u, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    bind(t, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(t, 8) < 0) {
		perror("bench_portmap: null-server");
		return 1;
	}
	signal(SIGCHLD, SIG_IGN);
	if (fork() == 0) {
		close(t);
		null_udp(u);
		_exit(0);
	}
	close(u);
	for (;;) {
		int c = accept(t, NULL, NULL);

		if (c < 0)
			continue;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		null_tcp_conn(c);
		close(c);
	}
}

int
main(int argc, char **argv)
{
	struct bench b;
	struct tether_rpc_msg m;
	struct tether_xdr x;
	struct sockaddr_in sa;
	double secs, t0, t;
	int one = 1, rc;

	if (argc == 2 && strcmp(argv[1], "null-server") == 0)
		return null_server();
	if (argc != 5) {
		fprintf(stderr, "usage: bench_portmap udp|tcp "
				"getport|getaddr WINDOW SECONDS\n"
				"       bench_portmap null-server\n");
		return 2;
	}
	memset(&b, 0, sizeof(b));
	b.tcp = strcmp(argv[1], "tcp") == 0;
	b.getaddr = strcmp(argv[2], "getaddr") == 0;
	b.window = (int)strtol(argv[3], NULL, 10);
	if (b.window < 1)
		b.window = 1;
	if (b.window > WINDOW_MAX)
		b.window = WINDOW_MAX;
	secs = strtod(argv[4], NULL);
	b.next_xid = 1;
	b.off = b.tcp ? 4 : 0;

	tether_rpc_msg_init_call(&m, 0, TETHER_PMAP_PROG,
				 b.getaddr ? TETHER_RPCB_VERS4
					   : TETHER_PMAP_VERS,
				 b.getaddr ? TETHER_RPCB_GETADDR
					   : TETHER_PMAP_GETPORT);
	tether_xdr_init_encode(&x, b.call + b.off, sizeof(b.call) - b.off);
	if (tether_rpc_msg_encode(&x, &m) < 0)
		return 1;
	if (b.getaddr) {
		struct tether_rpcb r = { BENCH_PROG, BENCH_VERS, "", "", "" };

		tether_rpcb_codec_rpcb(&x, &r);
	} else {
		struct tether_pmap_mapping pm = { BENCH_PROG, BENCH_VERS,
						  b.tcp ? 6 : 17, 0 };

		tether_pmap_codec_mapping(&x, &pm);
	}
	if (x.err.code != 0)
		return 1;
	b.clen = tether_xdr_getpos(&x) + b.off;
	if (b.tcp)
		tether_xdr_store32(b.call, TETHER_RPC_RM_LAST_FRAG |
						   (uint32_t)(b.clen - 4));

	b.fd = socket(AF_INET, b.tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(111);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (b.fd < 0 ||
	    connect(b.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("bench_portmap: connect");
		return 1;
	}
	if (b.tcp)
		setsockopt(b.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	t0 = now();
	rc = b.tcp ? run_tcp(&b, secs) : run_udp(&b, secs);
	t = now();
	if (rc < 0) {
		perror("bench_portmap: i/o");
		return 1;
	}
	if (b.lost > 0)
		fprintf(stderr, "bench_portmap: %lu udp calls lost\n", b.lost);
	printf("%.0f\n", (double)b.calls / (t - t0));
	return 0;
}
