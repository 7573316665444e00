/*
 * test_lbrecount.c - the recount of clients' connections at a reload
 * that changes a service's persistence mask (client_counts in proxy.c),
 * when an allocation fails there: the session it could not count must
 * not release anything at its end, else it takes the count of the
 * client's next connection. A live proxy on loopback: a real listener,
 * a backend socket that takes connections into its backlog, clients.
 */
#include "tether_test.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lb.h"

static const char conf_fmt[] =
	"service s {\n"
	"    listen 127.0.0.1:1\n"
	"    backend b0 127.0.0.1:%u\n"
	"    persist source mask %s timeout 30m\n"
	"}\n";

/* conf with the backend on port bport, the listen on an ephemeral
 * port (0: the same at every reload, so the socket is handed over). */
static struct lb_conf *
load(unsigned bport, const char *mask)
{
	struct lb_conf *conf = NULL;
	char text[256];
	struct lb_conf_listen *l;
	int n;

	n = snprintf(text, sizeof(text), conf_fmt, bport, mask);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	assert_int_equal(lb_conf_load_mem("t.conf", text, (size_t)n, &conf,
					  NULL), 0);
	l = &conf->services[0].listens[0];
	l->port_lo = l->port_hi = 0;
	assert_int_equal(tether_addr_set_port(&l->addr, 0), 0);
	return conf;
}

static int
tcp_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	return fd;
}

static struct sockaddr_in
loopback(unsigned port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

static unsigned
local_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

/* A client connection to port, and the loop turned until px has want
 * sessions. */
static int
client(struct tether_loop *loop, struct lb_proxy *px, unsigned port,
       unsigned want)
{
	struct sockaddr_in sin = loopback(port);
	int fd = tcp_socket(), i;

	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)),
			 0);
	for (i = 0; i < 200 && px->conns < want; i++)
		(void)tether_loop_run_once(loop, 10);
	assert_int_equal(px->conns, want);
	return fd;
}

/* Connections of 127.0.0.1 in the service's client table. */
static unsigned
count(struct lb_proxy *px)
{
	struct lb_climit *c = lb_client_table(&px->services[0]);
	struct sockaddr_in sin = loopback(0);
	struct tether_addr a;
	struct lb_pkey k;

	assert_non_null(c);
	assert_int_equal(tether_addr_from_sockaddr(&a, (struct sockaddr *)&sin,
						   sizeof(sin)), 0);
	assert_int_equal(lb_pkey_make(&a, c->mask4, c->mask6, &k), 0);
	return lb_climit_conns(c, &k);
}

static void
test_recount_without_memory(void **state)
{
	struct sockaddr_in sin = loopback(0);
	struct tether_loop *loop = NULL;
	struct lb_proxy *px = NULL;
	struct lb_conf *conf, *next;
	struct lb_session *a;
	struct linger lg = { 1, 0 };
	const char *mask = "/24";
	char err[256];
	unsigned lport;
	int be, ca, cb, k, rc, i, flagged = 0;
	socklen_t len = sizeof(sin);

	(void)state;
	tether_log_init("test", 1, TETHER_LOG_FATAL);
	be = tcp_socket();
	assert_int_equal(bind(be, (struct sockaddr *)&sin, len), 0);
	assert_int_equal(listen(be, 16), 0);
	assert_int_equal(tether_loop_new(&loop, NULL), 0);
	conf = load(local_port(be), "/32");
	assert_int_equal(lb_proxy_new(&px, loop, conf, err, sizeof(err)), 0);
	lport = local_port(px->listeners[0].fd);

	ca = client(loop, px, lport, 1);
	a = px->sessions;
	assert_non_null(a);
	assert_int_equal(count(px), 1);

	/* Reload with the other mask (a new table: every connection is
	 * counted again), the kth allocation failing, until a reload that
	 * went through could not count a. */
	for (k = 1; k < 2000 && !flagged; k++) {
		next = load(local_port(be), mask);
		tether_alloc_fail_at((unsigned long)k, 0);
		rc = lb_proxy_reload(&px, next, conf, err, sizeof(err));
		tether_alloc_fail_at(0, 0);
		if (rc < 0) {
			lb_conf_free(next);
			continue;
		}
		conf = next;
		mask = strcmp(mask, "/24") == 0 ? "/32" : "/24";
		flagged = (a->flags & LB_SESS_UNCOUNTED) != 0;
		assert_int_equal(count(px), flagged ? 0 : 1);
	}
	assert_true(flagged);

	/* The client's next connection makes the entry anew; a ends
	 * (reset) and must leave that one's count alone. */
	cb = client(loop, px, lport, 1);
	assert_int_equal(count(px), 1);
	assert_int_equal(setsockopt(ca, SOL_SOCKET, SO_LINGER, &lg,
				    sizeof(lg)), 0);
	close(ca);
	for (i = 0; i < 200 && lb_proxy_conns(px) > 1; i++)
		(void)tether_loop_run_once(loop, 10);
	assert_int_equal(lb_proxy_conns(px), 1);
	assert_int_equal(count(px), 1);

	close(cb);
	lb_proxy_free(px);
	lb_conf_free(conf);
	tether_loop_free(loop);
	close(be);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recount_without_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
