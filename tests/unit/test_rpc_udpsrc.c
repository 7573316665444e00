/*
 * test_rpc_udpsrc.c - a UDP server bound to a wildcard address answers
 * from the address each request was sent to: requests to 127.0.0.2
 * (whose replies would otherwise leave from 127.0.0.1) and to ::1, and
 * IPv4 requests to an IPv6 wildcard socket. Checked with a plain UDP
 * socket's recvfrom for an answer now, a replay from the reply cache,
 * and a reply made later by a worker thread; broadcasts are answered
 * from the address of the interface they came in on.
 */
#include "tether_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tether/rpc.h"

#define US_PROG	 0x20000303u
#define US_PLUS	 1u /* unsigned -> +1, answered at once */
#define US_LATER 2u /* unsigned -> +2, answered by a worker */

static void
us_plus(struct tether_rpc_server_call *call, void *args, void *ud)
{
	uint32_t r = *(uint32_t *)args + 1;

	(void)ud;
	tether_rpc_server_reply(call, &r);
}

static void
us_later(struct tether_rpc_server_call *call, void *args, void *ud)
{
	uint32_t r = *(uint32_t *)args + 2;

	(void)ud;
	usleep(20000);
	tether_rpc_server_reply(call, &r);
}

static const struct tether_rpc_server_proc us_procs[] = {
	{ US_PLUS, tether_xdr_codec_u32, sizeof(uint32_t), tether_xdr_codec_u32,
	  us_plus },
	{ US_LATER, tether_xdr_codec_u32, sizeof(uint32_t),
	  tether_xdr_codec_u32, us_later },
};

static const struct tether_rpc_server_table us_table = { US_PROG, 1, us_procs,
							 2, 0 };

struct fx {
	struct tether_loop *loop;
	struct tether_rpc_server *srv;
	int port;
};

static void
fx_setup(struct fx *f, const char *wild)
{
	struct tether_addr a, bound;

	assert_int_equal(tether_loop_new(&f->loop, NULL), 0);
	assert_int_equal(tether_rpc_server_new(&f->srv, f->loop, NULL), 0);
	assert_int_equal(tether_rpc_server_register(f->srv, &us_table, NULL),
			 0);
	assert_int_equal(
		tether_rpc_server_set_blocking(f->srv, US_PROG, 1, US_LATER, 1),
		0);
	assert_int_equal(tether_addr_parse(&a, wild, -1), 0);
	assert_int_equal(
		tether_rpc_server_listen(f->srv, SOCK_DGRAM, &a, &bound), 0);
	f->port = tether_addr_port(&bound);
}

static void
fx_teardown(struct fx *f)
{
	tether_rpc_server_free(f->srv);
	tether_loop_free(f->loop);
}

/*
 * Send a call of proc with argument v from a fresh socket of family to
 * dst:port, wait for the answer while running the server, and check
 * that it came from dst:port with v + delta in it. Sends it twice when
 * twice is set (the second answer is the reply cache's). The answer
 * must come from src (NULL: from dst) - a broadcast is answered from
 * the address of the interface it arrived on.
 */
static void
roundtrip_from(struct fx *f, int family, const char *dst, const char *src,
	       uint32_t proc, uint32_t v, uint32_t delta, int twice)
{
	unsigned char buf[512], want[16], got[16];
	struct sockaddr_storage to, from;
	struct tether_rpc_msg m;
	struct tether_xdr x;
	struct pollfd pfd;
	socklen_t fl;
	size_t len, wlen;
	ssize_t n;
	uint32_t res;
	int fd, i, k, one = 1;

	memset(&to, 0, sizeof(to));
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&to;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)f->port);
		assert_int_equal(inet_pton(AF_INET, dst, &s4->sin_addr), 1);
		memcpy(want, &s4->sin_addr, 4);
		if (src != NULL)
			assert_int_equal(inet_pton(AF_INET, src, want), 1);
		wlen = 4;
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&to;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)f->port);
		assert_int_equal(inet_pton(AF_INET6, dst, &s6->sin6_addr), 1);
		memcpy(want, &s6->sin6_addr, 16);
		if (src != NULL)
			assert_int_equal(inet_pton(AF_INET6, src, want), 1);
		wlen = 16;
	}
	fd = socket(family, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	if (family == AF_INET)
		assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one,
					    sizeof(one)),
				 0);
	tether_rpc_msg_init_call(&m, 0x5eed0000u + v, US_PROG, 1, proc);
	tether_xdr_init_encode(&x, buf, sizeof(buf));
	assert_int_equal(tether_rpc_msg_encode(&x, &m), 0);
	assert_int_equal(tether_xdr_u32(&x, &v), 0);
	len = tether_xdr_getpos(&x);
	for (k = 0; k < (twice ? 2 : 1); k++) {
		assert_int_equal(sendto(fd, buf, len, 0, (struct sockaddr *)&to,
					family == AF_INET
						? sizeof(struct sockaddr_in)
						: sizeof(struct sockaddr_in6)),
				 (ssize_t)len);
		pfd.fd = fd;
		pfd.events = POLLIN;
		for (i = 0; i < 500 && poll(&pfd, 1, 0) == 0; i++)
			tether_loop_run_once(f->loop, 10);
		fl = sizeof(from);
		n = recvfrom(fd, buf + 256, 256, MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fl);
		assert_true(n > 0);
		/* The answer comes from where the call was sent. */
		assert_int_equal(from.ss_family, family);
		if (family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&from;

			memcpy(got, &s4->sin_addr, 4);
			assert_int_equal(ntohs(s4->sin_port), f->port);
		} else {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&from;

			memcpy(got, &s6->sin6_addr, 16);
			assert_int_equal(ntohs(s6->sin6_port), f->port);
		}
		assert_memory_equal(got, want, wlen);
		tether_xdr_init_decode(&x, buf + 256, (size_t)n, 0, NULL);
		assert_int_equal(tether_rpc_msg_decode(&x, &m), 0);
		assert_int_equal(m.u.reply.accept_stat, TETHER_RPC_SUCCESS);
		assert_int_equal(tether_xdr_u32(&x, &res), 0);
		assert_int_equal(res, v + delta);
	}
	close(fd);
}

static void
roundtrip(struct fx *f, int family, const char *dst, uint32_t proc, uint32_t v,
	  uint32_t delta, int twice)
{
	roundtrip_from(f, family, dst, NULL, proc, v, delta, twice);
}

static void
test_ipv4_wildcard(void **state)
{
	struct tether_rpc_server_stats st;
	struct fx f;

	(void)state;
	fx_setup(&f, "0.0.0.0:0");
	roundtrip(&f, AF_INET, "127.0.0.2", US_PLUS, 10, 1, 1);
	roundtrip(&f, AF_INET, "127.0.0.1", US_PLUS, 20, 1, 0);
	/* Answered from the reply cache the second time. */
	roundtrip(&f, AF_INET, "127.0.0.3", US_PLUS, 30, 1, 1);
	tether_rpc_server_get_stats(f.srv, &st);
	assert_true(st.drc.hits_replayed >= 1);
	/* Answered later, by a worker. */
	roundtrip(&f, AF_INET, "127.0.0.2", US_LATER, 40, 2, 0);
	fx_teardown(&f);
}

/*
 * A broadcast call (rpcinfo -b, clnt_broadcast) to a wildcard listener
 * is answered from the local address of the interface it came in on
 * (IP_PKTINFO's ipi_spec_dst), never from the broadcast address, which
 * no reply can be sent from. 127.255.255.255 is lo's broadcast.
 */
static void
test_ipv4_broadcast(void **state)
{
	struct fx f;

	(void)state;
	fx_setup(&f, "0.0.0.0:0");
	roundtrip_from(&f, AF_INET, "127.255.255.255", "127.0.0.1", US_PLUS, 90,
		       1, 1);
	roundtrip_from(&f, AF_INET, "127.255.255.255", "127.0.0.1", US_LATER,
		       100, 2, 0);
	fx_teardown(&f);
}

/* An IPv6 socket, or -1 if the host has no IPv6 loopback. */
static int
have_ipv6(void)
{
	struct sockaddr_in6 s6;
	int fd = socket(AF_INET6, SOCK_DGRAM, 0), ok;

	if (fd < 0)
		return 0;
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_addr = in6addr_loopback;
	ok = bind(fd, (struct sockaddr *)&s6, sizeof(s6)) == 0;
	close(fd);
	return ok;
}

static void
test_ipv6_wildcard(void **state)
{
	struct fx f;

	(void)state;
	if (!have_ipv6()) {
		fprintf(stderr, "no IPv6 loopback here: skipped\n");
		skip();
	}
	fx_setup(&f, "[::]:0");
	roundtrip(&f, AF_INET6, "::1", US_PLUS, 50, 1, 1);
	roundtrip(&f, AF_INET6, "::1", US_LATER, 60, 2, 0);
	/* IPv4 to the dual-stack socket: reported as mapped, answered
	 * from the IPv4 address it was sent to. */
	roundtrip(&f, AF_INET, "127.0.0.2", US_PLUS, 70, 1, 1);
	roundtrip(&f, AF_INET, "127.0.0.2", US_LATER, 80, 2, 0);
	/* An IPv4 broadcast to it: from the interface's address. */
	roundtrip_from(&f, AF_INET, "127.255.255.255", "127.0.0.1", US_PLUS,
		       110, 1, 0);
	fx_teardown(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_wildcard),
		cmocka_unit_test(test_ipv4_broadcast),
		cmocka_unit_test(test_ipv6_wildcard),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
