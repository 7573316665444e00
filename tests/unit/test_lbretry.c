/*
 * test_lbretry.c - tether-lb's rule for retrying a backend whose
 * connection came up but which reset or closed it before anything was
 * exchanged (lb_sess_may_retry), and how such retries of parallel
 * first connections of one client re-pin it to one backend (lb_select);
 * and lb_sess_send_held, on real TCP sockets on loopback.
 */
#include "tether_test.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lb.h"

static const struct tether_hash_key hkey = { 0x0706050403020100ULL,
					     0x0f0e0d0c0b0a0908ULL };

#define BERR	(LB_END_BACKEND_ERROR + 1)
#define CERR	(LB_END_CLIENT_ERROR + 1)

static void
fresh(struct lb_session *s)
{
	memset(s, 0, sizeof(*s));
	s->state = LB_SESS_RELAY;
	s->cfd = s->bfd = -1;
}

static void
test_nothing_exchanged(void **state)
{
	struct lb_session s;

	(void)state;
	fresh(&s);
	/* Reset (or any backend error): retry. Its FIN: only where
	 * half-close is off; with it on the backend may have half-closed
	 * and still read. */
	assert_int_equal(lb_sess_may_retry(&s, BERR), 1);
	s.flags = LB_SESS_B_EOF | LB_SESS_C_SHUT | LB_SESS_C_OWED;
	assert_int_equal(lb_sess_may_retry(&s, 0), 0);
	assert_int_equal(lb_sess_may_retry(&s, BERR), 1);
	s.flags |= LB_SESS_FIN_FAILS;
	assert_int_equal(lb_sess_may_retry(&s, 0), 1);
	assert_int_equal(lb_sess_may_retry(&s, BERR), 1);
	/* The client's own error or a clean pump: no. */
	fresh(&s);
	assert_int_equal(lb_sess_may_retry(&s, 0), 0);
	assert_int_equal(lb_sess_may_retry(&s, CERR), 0);
	assert_int_equal(lb_sess_may_retry(&s, LB_END_IDLE + 1), 0);
	/* Client bytes read but not written (they wait in c2b), its FIN
	 * read but not passed on: still nothing exchanged. */
	s.bytes_in = 100;
	s.flags = LB_SESS_C_EOF;
	assert_int_equal(lb_sess_may_retry(&s, BERR), 1);
	/* Still connecting: session_connected handles that. */
	fresh(&s);
	s.state = LB_SESS_CONNECTING;
	assert_int_equal(lb_sess_may_retry(&s, BERR), 0);
}

static void
test_something_exchanged(void **state)
{
	struct lb_session s;

	(void)state;
	/* A byte came back: the client may have seen it. */
	fresh(&s);
	s.bytes_out = 1;
	assert_int_equal(lb_sess_may_retry(&s, BERR), 0);
	s.flags = LB_SESS_B_EOF | LB_SESS_FIN_FAILS;
	assert_int_equal(lb_sess_may_retry(&s, 0), 0);
	/* A client byte was written: the backend may have acted on it. */
	fresh(&s);
	s.bsent = 1;
	assert_int_equal(lb_sess_may_retry(&s, BERR), 0);
	s.flags = LB_SESS_B_EOF | LB_SESS_FIN_FAILS;
	assert_int_equal(lb_sess_may_retry(&s, 0), 0);
	/* The client's FIN was passed on: a backend may close in answer. */
	fresh(&s);
	s.flags = LB_SESS_B_SHUT | LB_SESS_B_EOF | LB_SESS_FIN_FAILS;
	assert_int_equal(lb_sess_may_retry(&s, 0), 0);
	assert_int_equal(lb_sess_may_retry(&s, BERR), 0);
}

static void
test_proxy_header(void **state)
{
	struct lb_session s;

	(void)state;
	/* A PROXY header is not the client's: written in part or whole,
	 * a retry is still possible; one byte more is not. */
	fresh(&s);
	s.hdr_len = 28;
	s.bsent = 10;
	assert_int_equal(lb_sess_may_retry(&s, BERR), 1);
	s.bsent = 28;
	assert_int_equal(lb_sess_may_retry(&s, BERR), 1);
	s.bsent = 29;
	assert_int_equal(lb_sess_may_retry(&s, BERR), 0);
}

static char bnames[3][8] = { "bad", "g0", "g1" };

/* Three connections of one client start together and all meet the
 * pinned backend, which dies before a byte: each retries with only
 * that backend excluded (its own tried[]), and all land on the one
 * the first retry pinned. */
static void
test_parallel_retries(void **state)
{
	struct lb_pool pool;
	struct lb_persist p;
	struct tether_addr c;
	struct lb_backend *b, *first, *again;
	unsigned char tried[3][3];
	size_t i;

	(void)state;
	assert_int_equal(tether_addr_parse(&c, "192.0.2.9:4000", -1), 0);
	assert_int_equal(lb_pool_init(&pool, 3, &lb_ops_rr), 0);
	for (i = 0; i < 3; i++)
		pool.backends[i].name = bnames[i];
	assert_int_equal(lb_pool_update(&pool), 0);
	assert_int_equal(lb_persist_init(&p, 100, 60000, 32, 128, &hkey), 0);
	memset(tried, 0, sizeof(tried));
	b = lb_select(&pool, &p, &c, 0, NULL);
	assert_ptr_equal(b, &pool.backends[0]);	/* rr's first */
	for (i = 1; i < 3; i++)
		assert_ptr_equal(lb_select(&pool, &p, &c, 1, NULL), b);
	/* The first retry re-pins; the others follow the pin, though
	 * round-robin alone would give them the other backend. */
	tried[0][0] = tried[1][0] = tried[2][0] = 1;
	first = lb_select(&pool, &p, &c, 2, tried[0]);
	assert_non_null(first);
	assert_ptr_not_equal(first, b);
	for (i = 1; i < 3; i++)
		assert_ptr_equal(lb_select(&pool, &p, &c, 3, tried[i]), first);
	assert_int_equal(p.count, 1);
	assert_int_equal(p.lru_head->backend, first->index);
	/* The dying backend stays UP (no checks): the client's next
	 * connection still goes where its pin now is. */
	again = lb_select(&pool, &p, &c, 4, NULL);
	assert_ptr_equal(again, first);
	lb_persist_fini(&p);
	lb_pool_fini(&pool);
}

/* A connected TCP pair on 127.0.0.1: *a the side tether-lb would own
 * (TCP_NODELAY, as its sockets), *b its peer. */
static void
tcp_pair(int *a, int *b)
{
	int one = 1;

	tether_test_tcp_pair(a, b);
	assert_int_equal(setsockopt(*a, IPPROTO_TCP, TCP_NODELAY, &one,
				    sizeof(one)), 0);
}

/* Wait until n bytes wait unread on a (up to 5 s). */
static void
wait_unread(int a, int n)
{
	int i, q = 0;

	for (i = 0; i < 500; i++) {
		assert_int_equal(ioctl(a, FIONREAD, &q), 0);
		if (q >= n)
			return;
		usleep(10000);
	}
	fail_msg("%d bytes never arrived (%d)", n, q);
}

/* What b reads until EOF or a reset (waits up to 5 s). */
static size_t
read_all(int b, char *buf, size_t cap)
{
	struct timeval tv = { 5, 0 };
	size_t got = 0;
	ssize_t n;

	assert_int_equal(setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, &tv,
				    sizeof(tv)), 0);
	while (got < cap && (n = recv(b, buf + got, cap - got, 0)) > 0)
		got += (size_t)n;
	return got;
}

/* The peer sent bytes tether-lb did not read; tether-lb sent its last
 * bytes with MSG_MORE, owes the FIN, and closes: the peer reads them
 * all (then the RST), where a plain close() drops them with the RST. */
static void
test_send_held(void **state)
{
	static const char reply[] = "the reply held back for the FIN";
	char buf[256];
	struct lb_session s;
	int round;

	(void)state;
	for (round = 0; round < 2; round++) {
		int a, b;

		tcp_pair(&a, &b);
		assert_int_equal(send(b, "unread", 6, 0), 6);
		wait_unread(a, 6);
		assert_int_equal(send(a, reply, sizeof(reply),
				      MSG_MORE | MSG_NOSIGNAL),
				 (ssize_t)sizeof(reply));
		fresh(&s);
		if (round == 0) {
			/* The client's side (half-close off). */
			s.cfd = a;
			s.flags = LB_SESS_C_HELD | LB_SESS_C_SHUT |
				  LB_SESS_C_OWED | LB_SESS_B_EOF;
		} else {
			/* The backend's side, the client's FIN owed to it
			 * (an error on the client's side ends the
			 * session). */
			s.bfd = a;
			s.flags = LB_SESS_B_HELD | LB_SESS_B_SHUT |
				  LB_SESS_B_OWED | LB_SESS_C_EOF;
		}
		lb_sess_send_held(&s);
		close(a);
		assert_int_equal(read_all(b, buf, sizeof(buf)),
				 sizeof(reply));
		assert_memory_equal(buf, reply, sizeof(reply));
		close(b);
	}
	/* Nothing to do: no bytes held, the FIN sent already, the peer
	 * ended first, or no FIN owed (the stream is cut: no clean FIN).
	 * The peer then sees no FIN before our close. */
	for (round = 0; round < 4; round++) {
		static const unsigned flags[] = {
			LB_SESS_C_SHUT | LB_SESS_C_OWED,
			LB_SESS_C_HELD | LB_SESS_C_SHUT,
			LB_SESS_C_HELD | LB_SESS_C_OWED | LB_SESS_C_SHUT |
				LB_SESS_C_EOF,
			LB_SESS_C_HELD,
		};
		int a, b;

		tcp_pair(&a, &b);
		fresh(&s);
		s.cfd = a;
		s.flags = flags[round];
		lb_sess_send_held(&s);
		assert_int_equal(recv(b, buf, sizeof(buf), MSG_DONTWAIT), -1);
		assert_int_equal(errno, EAGAIN);
		close(a);
		close(b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_exchanged),
		cmocka_unit_test(test_something_exchanged),
		cmocka_unit_test(test_proxy_header),
		cmocka_unit_test(test_parallel_retries),
		cmocka_unit_test(test_send_held),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
