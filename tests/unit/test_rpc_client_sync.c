/*
 * test_rpc_client_sync.c - synchronous calls on a client with a private
 * loop, the path that waits in a blocking recv (20 ms slices) and
 * decodes replies in its receive buffer: against our server in a child
 * process over TCP and UDP (sizes on both sides of the 128 KiB buffer,
 * timeouts kept while waiting in recv), and against a hand-driven
 * server in a child that answers in pieces, in fragments, after a stale
 * reply, not at all, or with an oversize record mark.
 */
#include "tether_test.h"
#include "rpc_testprog.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t child = -1;

static int
kill_child(void **state)
{
	(void)state;
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	child = -1;
	return 0;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct tether_rpc_client *
private_client(const struct tether_addr *a, int type)
{
	struct tether_rpc_client *c;

	assert_int_equal(
		tether_rpc_client_new(&c, NULL, a, type, TP_PROG, 1, NULL), 0);
	return c;
}

/* ------------------------------------------------------------------ */
/* Our server in a child                                               */
/* ------------------------------------------------------------------ */

static void
serve_tp(int report_fd)
{
	struct tether_loop *loop;
	struct tether_rpc_server *srv;
	struct tp_state st;
	struct tether_addr a, t[2];

	memset(&st, 0, sizeof(st));
	if (tether_loop_new(&loop, NULL) != 0 ||
	    tether_rpc_server_new(&srv, loop, NULL) != 0 ||
	    tp_register(srv, &st) != 0 ||
	    tether_addr_parse(&a, "127.0.0.1:0", -1) != 0 ||
	    tether_rpc_server_listen(srv, SOCK_STREAM, &a, &t[0]) != 0 ||
	    tether_rpc_server_listen(srv, SOCK_DGRAM, &a, &t[1]) != 0 ||
	    write(report_fd, t, sizeof(t)) != (ssize_t)sizeof(t))
		_exit(3);
	tether_loop_run(loop);
	_exit(0);
}

static void
big_call(struct tether_rpc_client *c, uint32_t n)
{
	struct tether_arena *a = tether_arena_new(0, 0);
	struct tp_bytes b = { NULL, 0 };
	uint32_t i;

	assert_non_null(a);
	assert_int_equal(tether_rpc_client_call(c, TP_BIG,
						tether_xdr_codec_u32, &n,
						tp_bytes_codec, &b, a, 5000,
						NULL),
			 TETHER_RPC_ST_OK);
	assert_int_equal(b.len, n);
	for (i = 0; i < n; i++)
		if (b.data[i] != 0xab)
			fail_msg("byte %u of %u is %#x", i, n, b.data[i]);
	tether_arena_free(a);
}

static void
test_private_loop_our_server(void **state)
{
	static const uint32_t tcp_sizes[] = { 0, 1, 1000, 65536, 131000,
					      131040, 131072, 200000, 3 };
	static const uint32_t udp_sizes[] = { 0, 1, 1000, 60000, 7 };
	struct tether_addr t[2];
	struct tether_rpc_client *c;
	struct tp_pair p = { 40, 2 };
	int32_t sum = 0;
	uint64_t t0;
	size_t i;
	int pfd[2], k;

	(void)state;
	assert_int_equal(pipe(pfd), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		serve_tp(pfd[1]);
	close(pfd[1]);
	assert_int_equal(read(pfd[0], t, sizeof(t)), (ssize_t)sizeof(t));
	close(pfd[0]);
	for (k = 0; k < 2; k++) {
		c = private_client(&t[k], k ? SOCK_DGRAM : SOCK_STREAM);
		assert_int_equal(tether_rpc_client_call(c, TP_ADD,
							tp_pair_codec, &p,
							tether_xdr_codec_i32,
							&sum, NULL, 2000,
							NULL),
				 TETHER_RPC_ST_OK);
		assert_int_equal(sum, 42);
		if (k == 0)
			for (i = 0; i < TETHER_ARRAY_SIZE(tcp_sizes); i++)
				big_call(c, tcp_sizes[i]);
		else
			for (i = 0; i < TETHER_ARRAY_SIZE(udp_sizes); i++)
				big_call(c, udp_sizes[i]);
		/* Unanswered: the timeout holds while waiting in recv. */
		t0 = now_ms();
		assert_int_equal(tether_rpc_client_call(c, TP_DROP, NULL, NULL,
							NULL, NULL, NULL, 150,
							NULL),
				 TETHER_RPC_ST_TIMEDOUT);
		assert_true(now_ms() - t0 >= 140);
		assert_true(now_ms() - t0 < 3000);
		big_call(c, 100);
		tether_rpc_client_free(c);
	}
	kill_child(NULL);
}

/* ------------------------------------------------------------------ */
/* A hand-driven server in a child                                     */
/* ------------------------------------------------------------------ */

enum hand_mode {
	HAND_WHOLE = 1,	  /* one record, one write */
	HAND_TRICKLE,	  /* the record in four writes, 3 ms apart */
	HAND_FRAGS,	  /* three fragments, one write */
	HAND_STALE,	  /* a reply with another XID, then ours */
	HAND_SILENT,	  /* no reply */
	HAND_OVERSIZE,	  /* a record mark of 2 GiB */
};

static int
hand_io(int fd, void *p, size_t n, int wr)
{
	unsigned char *b = p;
	ssize_t k;

	while (n > 0) {
		k = wr ? write(fd, b, n) : read(fd, b, n);
		if (k <= 0)
			return -1;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

/* The record of an accepted SUCCESS reply carrying opaque<n>. */
static unsigned char *
hand_reply(uint32_t xid, uint32_t n, size_t *len /* OUT */)
{
	size_t sz = 24 + 4 + ((size_t)n + 3) / 4 * 4, i;
	unsigned char *r = calloc(1, sz);

	if (r == NULL)
		_exit(4);
	tether_xdr_store32(r, xid);
	tether_xdr_store32(r + 4, 1); /* REPLY; the rest of the header 0 */
	tether_xdr_store32(r + 24, n);
	for (i = 0; i < n; i++)
		r[28 + i] = (unsigned char)(i * 7 + 3);
	*len = sz;
	return r;
}

static int
hand_one(int fd)
{
	unsigned char call[512], hdr[4], *rec, *out;
	uint32_t h, len, xid, proc, n;
	size_t rlen, olen, a, b;

	if (hand_io(fd, hdr, 4, 0) != 0)
		return -1;
	h = tether_xdr_load32(hdr);
	len = h & TETHER_RPC_RM_LEN_MASK;
	if (len < 44 || len > sizeof(call) || hand_io(fd, call, len, 0) != 0)
		return -1;
	xid = tether_xdr_load32(call);
	proc = tether_xdr_load32(call + 20);
	n = tether_xdr_load32(call + 40); /* AUTH_NONE: args at 40 */
	rec = hand_reply(xid, n, &rlen);
	out = malloc(rlen * 2 + 64);
	if (out == NULL)
		_exit(4);
	olen = 0;
	switch (proc) {
	case HAND_FRAGS:
		a = rlen / 3;
		b = rlen / 3;
		tether_xdr_store32(out, (uint32_t)a);
		memcpy(out + 4, rec, a);
		tether_xdr_store32(out + 4 + a, (uint32_t)b);
		memcpy(out + 8 + a, rec + a, b);
		tether_xdr_store32(out + 8 + a + b,
				   TETHER_RPC_RM_LAST_FRAG |
					   (uint32_t)(rlen - a - b));
		memcpy(out + 12 + a + b, rec + a + b, rlen - a - b);
		olen = 12 + rlen;
		break;
	case HAND_STALE:
		tether_xdr_store32(rec, xid + 12345);
		tether_xdr_store32(out, TETHER_RPC_RM_LAST_FRAG | (uint32_t)rlen);
		memcpy(out + 4, rec, rlen);
		olen = 4 + rlen;
		tether_xdr_store32(rec, xid);
		/* then the real one */
		/* FALLTHROUGH */
	case HAND_WHOLE:
	case HAND_TRICKLE:
		tether_xdr_store32(out + olen,
				   TETHER_RPC_RM_LAST_FRAG | (uint32_t)rlen);
		memcpy(out + olen + 4, rec, rlen);
		olen += 4 + rlen;
		break;
	case HAND_OVERSIZE:
		tether_xdr_store32(out, TETHER_RPC_RM_LAST_FRAG | 0x7fffffffu);
		memcpy(out + 4, rec, 16);
		olen = 20;
		break;
	default:
		break;
	}
	if (proc == HAND_TRICKLE) {
		/* Half a header, the rest of it with some body, then the
		 * body in two more pieces. */
		size_t cut[5] = { 0, 2, 14 < olen ? 14 : olen, 0, olen };
		int i;

		cut[3] = cut[2] + (olen - cut[2]) / 2;
		for (i = 0; i < 4; i++) {
			if (hand_io(fd, out + cut[i], cut[i + 1] - cut[i], 1))
				return -1;
			usleep(3000);
		}
	} else if (olen > 0 && hand_io(fd, out, olen, 1) != 0) {
		return -1;
	}
	free(rec);
	free(out);
	return 0;
}

static void
hand_serve(int lfd)
{
	int fd, one = 1;

	for (;;) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			_exit(5);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		while (hand_one(fd) == 0)
			;
		close(fd);
	}
}

struct hand_res {
	int done;
	struct tether_rpc_result r;
};

static void
hand_done(struct tether_rpc_client *c, const struct tether_rpc_result *r,
	  void *ud)
{
	struct hand_res *h = ud;

	(void)c;
	h->done = 1;
	h->r = *r;
}

static void
check_bytes(const struct tp_bytes *b, uint32_t n)
{
	uint32_t i;

	assert_int_equal(b->len, n);
	for (i = 0; i < n; i++)
		if (b->data[i] != (uint8_t)(i * 7 + 3))
			fail_msg("byte %u of %u is %#x", i, n, b->data[i]);
}

static enum tether_rpc_status
hand_call(struct tether_rpc_client *c, enum hand_mode m, uint32_t n,
	  unsigned timeout_ms)
{
	struct tether_arena *a = tether_arena_new(0, 0);
	struct tp_bytes b = { NULL, 0 };
	enum tether_rpc_status st;

	assert_non_null(a);
	st = tether_rpc_client_call(c, m, tether_xdr_codec_u32, &n,
				    tp_bytes_codec, &b, a, timeout_ms, NULL);
	if (st == TETHER_RPC_ST_OK)
		check_bytes(&b, n);
	tether_arena_free(a);
	return st;
}

static void
test_private_loop_hand_server(void **state)
{
	static const uint32_t sizes[] = { 0, 5, 4096, 65536, 131000, 131072,
					  300000 };
	static const enum hand_mode modes[] = { HAND_WHOLE, HAND_TRICKLE,
						HAND_FRAGS, HAND_STALE };
	struct tether_rpc_client *c;
	struct tether_addr a;
	struct hand_res hr[3];
	struct tp_bytes b[3];
	struct tether_arena *ar = tether_arena_new(0, 0);
	uint32_t n[3] = { 10, 70000, 140000 };
	uint64_t t0;
	size_t i, j;
	int lfd;

	(void)state;
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(tether_addr_parse(&a, "127.0.0.1:0", -1), 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a.ss, a.len), 0);
	assert_int_equal(listen(lfd, 4), 0);
	a.len = sizeof(a.ss);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&a.ss, &a.len), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		hand_serve(lfd);
	close(lfd);
	c = private_client(&a, SOCK_STREAM);
	for (i = 0; i < TETHER_ARRAY_SIZE(modes); i++)
		for (j = 0; j < TETHER_ARRAY_SIZE(sizes); j++)
			if (hand_call(c, modes[i], sizes[j], 5000) !=
			    TETHER_RPC_ST_OK)
				fail_msg("mode %d size %u failed", modes[i],
					 sizes[j]);
	/* No reply: the call times out, the next one is answered. */
	t0 = now_ms();
	assert_int_equal(hand_call(c, HAND_SILENT, 8, 120),
			 TETHER_RPC_ST_TIMEDOUT);
	assert_true(now_ms() - t0 >= 110);
	assert_int_equal(hand_call(c, HAND_WHOLE, 9, 5000), TETHER_RPC_ST_OK);
	/* An oversize record mark loses the connection; the next call
	 * makes a new one. */
	assert_int_equal(hand_call(c, HAND_OVERSIZE, 8, 5000),
			 TETHER_RPC_ST_CONN_LOST);
	assert_int_equal(hand_call(c, HAND_WHOLE, 11, 5000),
			 TETHER_RPC_ST_OK);
	/* Asynchronous calls on the private loop, driven by hand: the
	 * loop's reads do not block on the blocking socket. */
	assert_non_null(ar);
	memset(hr, 0, sizeof(hr));
	memset(b, 0, sizeof(b));
	for (i = 0; i < 3; i++)
		assert_int_equal(tether_rpc_client_call_async(
					 c, HAND_WHOLE, tether_xdr_codec_u32,
					 &n[i], tp_bytes_codec, &b[i], ar,
					 5000, hand_done, &hr[i]),
				 0);
	t0 = now_ms();
	while (!(hr[0].done && hr[1].done && hr[2].done) &&
	       now_ms() - t0 < 5000)
		tether_loop_run_once(tether_rpc_client_loop(c), 100);
	for (i = 0; i < 3; i++) {
		assert_true(hr[i].done);
		assert_int_equal(hr[i].r.status, TETHER_RPC_ST_OK);
		check_bytes(&b[i], n[i]);
	}
	tether_arena_free(ar);
	tether_rpc_client_free(c);
	kill_child(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_private_loop_our_server,
					  kill_child),
		cmocka_unit_test_teardown(test_private_loop_hand_server,
					  kill_child),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
