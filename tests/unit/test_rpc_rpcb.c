/*
 * test_rpc_rpcb.c - the portmapper client against a small portmapper
 * built from our own server (rpcbind v4 SET/UNSET/GETADDR on a local
 * socket and on TCP/UDP, portmap v2 SET/UNSET/GETPORT), run in a thread:
 * one-shot calls and their errors, the v2 fallback, the keeper
 * registering again after the portmapper restarts empty, and calls made
 * from a chosen source address.
 */
#include "tether_test.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tether/rpc.h"

struct pm_entry {
	uint32_t prog, vers;
	char netid[16];
	char uaddr[64];
};

/* The fake portmapper's state, shared with the test thread. */
static pthread_mutex_t pm_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pm_entry pm_tab[32];
static unsigned pm_n;
static volatile int pm_stop;
static unsigned pm_sets;
/* The host a GETADDR or GETPORT last came from. */
static char pm_peer[TETHER_ADDR_STRLEN];

/* Note the caller's host (under pm_lock). */
static void
pm_note_peer(struct tether_rpc_server_call *call)
{
	if (tether_addr_format(tether_rpc_server_call_peer(call), pm_peer,
			       sizeof(pm_peer), TETHER_ADDR_FMT_NOPORT) < 0)
		pm_peer[0] = 0;
}

struct set_args {
	uint32_t prog, vers;
	char *netid, *addr, *owner;
};

struct map_args {
	uint32_t prog, vers, prot, port;
};

static int
set_codec(struct tether_xdr *x, void *obj)
{
	struct set_args *a = obj;
	int rc;

	if ((rc = tether_xdr_u32(x, &a->prog)) ||
	    (rc = tether_xdr_u32(x, &a->vers)) ||
	    (rc = tether_xdr_string(x, &a->netid, 64)) ||
	    (rc = tether_xdr_string(x, &a->addr, 64)))
		return rc;
	return tether_xdr_string(x, &a->owner, 64);
}

static int
map_codec(struct tether_xdr *x, void *obj)
{
	struct map_args *a = obj;
	int rc;

	if ((rc = tether_xdr_u32(x, &a->prog)) ||
	    (rc = tether_xdr_u32(x, &a->vers)) ||
	    (rc = tether_xdr_u32(x, &a->prot)))
		return rc;
	return tether_xdr_u32(x, &a->port);
}

static int
bool_codec(struct tether_xdr *x, void *obj)
{
	return tether_xdr_bool(x, obj);
}

static int
str_codec(struct tether_xdr *x, void *obj)
{
	return tether_xdr_string(x, (char **)obj, 64);
}

static struct pm_entry *
pm_find(uint32_t prog, uint32_t vers, const char *netid)
{
	unsigned i;

	for (i = 0; i < pm_n; i++)
		if (pm_tab[i].prog == prog && pm_tab[i].vers == vers &&
		    strcmp(pm_tab[i].netid, netid) == 0)
			return &pm_tab[i];
	return NULL;
}

static int
pm_set(uint32_t prog, uint32_t vers, const char *netid, const char *uaddr)
{
	struct pm_entry *e;

	if (pm_find(prog, vers, netid) != NULL || pm_n >= 32)
		return 0;
	e = &pm_tab[pm_n++];
	e->prog = prog;
	e->vers = vers;
	snprintf(e->netid, sizeof(e->netid), "%s", netid);
	snprintf(e->uaddr, sizeof(e->uaddr), "%s", uaddr);
	pm_sets++;
	return 1;
}

static int
pm_unset(uint32_t prog, uint32_t vers, const char *netid)
{
	unsigned i = 0;
	int any = 0;

	while (i < pm_n) {
		if (pm_tab[i].prog == prog && pm_tab[i].vers == vers &&
		    (netid[0] == 0 || strcmp(pm_tab[i].netid, netid) == 0)) {
			pm_tab[i] = pm_tab[--pm_n];
			any = 1;
		} else {
			i++;
		}
	}
	return any;
}

static void
v4_set(struct tether_rpc_server_call *call, void *args, void *ud)
{
	struct set_args *a = args;
	bool ok;

	(void)ud;
	pthread_mutex_lock(&pm_lock);
	ok = pm_set(a->prog, a->vers, a->netid, a->addr);
	pthread_mutex_unlock(&pm_lock);
	tether_rpc_server_reply(call, &ok);
}

static void
v4_unset(struct tether_rpc_server_call *call, void *args, void *ud)
{
	struct set_args *a = args;
	bool ok;

	(void)ud;
	pthread_mutex_lock(&pm_lock);
	ok = pm_unset(a->prog, a->vers, a->netid);
	pthread_mutex_unlock(&pm_lock);
	tether_rpc_server_reply(call, &ok);
}

static void
v4_getaddr(struct tether_rpc_server_call *call, void *args, void *ud)
{
	struct set_args *a = args;
	struct pm_entry *e;
	char *res;

	(void)ud;
	pthread_mutex_lock(&pm_lock);
	pm_note_peer(call);
	e = pm_find(a->prog, a->vers, a->netid);
	res = tether_arena_strndup(tether_rpc_server_call_arena(call),
				   e ? e->uaddr : "", e ? strlen(e->uaddr) : 0);
	pthread_mutex_unlock(&pm_lock);
	tether_rpc_server_reply(call, &res);
}

static const char *
prot_netid(uint32_t prot)
{
	return prot == 6 ? "tcp" : prot == 17 ? "udp" : "?";
}

static void
v2_set(struct tether_rpc_server_call *call, void *args, void *ud)
{
	struct map_args *a = args;
	char uaddr[64];
	bool ok;

	(void)ud;
	snprintf(uaddr, sizeof(uaddr), "127.0.0.1.%u.%u", a->port >> 8,
		 a->port & 255);
	pthread_mutex_lock(&pm_lock);
	ok = pm_set(a->prog, a->vers, prot_netid(a->prot), uaddr);
	pthread_mutex_unlock(&pm_lock);
	tether_rpc_server_reply(call, &ok);
}

static void
v2_unset(struct tether_rpc_server_call *call, void *args, void *ud)
{
	struct map_args *a = args;
	bool ok;

	(void)ud;
	pthread_mutex_lock(&pm_lock);
	ok = pm_unset(a->prog, a->vers, "");
	pthread_mutex_unlock(&pm_lock);
	tether_rpc_server_reply(call, &ok);
}

static void
v2_getport(struct tether_rpc_server_call *call, void *args, void *ud)
{
	struct map_args *a = args;
	struct pm_entry *e;
	unsigned h1, h2, h3, h4, p1 = 0, p2 = 0;
	uint32_t port = 0;

	(void)ud;
	pthread_mutex_lock(&pm_lock);
	pm_note_peer(call);
	e = pm_find(a->prog, a->vers, prot_netid(a->prot));
	if (e != NULL && sscanf(e->uaddr, "%u.%u.%u.%u.%u.%u", &h1, &h2, &h3,
				&h4, &p1, &p2) == 6)
		port = p1 * 256 + p2;
	pthread_mutex_unlock(&pm_lock);
	tether_rpc_server_reply(call, &port);
}

static const struct tether_rpc_server_proc v4_procs[] = {
	{ 1, set_codec, sizeof(struct set_args), bool_codec, v4_set },
	{ 2, set_codec, sizeof(struct set_args), bool_codec, v4_unset },
	{ 3, set_codec, sizeof(struct set_args), str_codec, v4_getaddr },
};
static const struct tether_rpc_server_proc v2_procs[] = {
	{ 1, map_codec, sizeof(struct map_args), bool_codec, v2_set },
	{ 2, map_codec, sizeof(struct map_args), bool_codec, v2_unset },
	{ 3, map_codec, sizeof(struct map_args), tether_xdr_codec_u32,
	  v2_getport },
};
static const struct tether_rpc_server_table v4_table = {
	TETHER_RPCB_PROG, 4, v4_procs, 3, TETHER_RPC_SERVER_NO_DRC
};
static const struct tether_rpc_server_table v2_table = {
	TETHER_RPCB_PROG, 2, v2_procs, 3, TETHER_RPC_SERVER_NO_DRC
};

/* Where the fake listens; fixed across restarts. */
static char pm_path[64];
static struct tether_addr pm_remote;
static int pm_with_v4 = 1;
static int pm_with_local = 1;

struct pm_thread {
	pthread_t th;
	int ready;
};

static void *
pm_main(void *arg)
{
	struct pm_thread *t = arg;
	struct tether_loop *loop;
	struct tether_rpc_server *srv;
	struct tether_addr a;

	if (tether_loop_new(&loop, NULL) != 0 ||
	    tether_rpc_server_new(&srv, loop, NULL) != 0)
		abort();
	if ((pm_with_v4 && tether_rpc_server_register(srv, &v4_table, NULL)) ||
	    tether_rpc_server_register(srv, &v2_table, NULL))
		abort();
	if (pm_with_local &&
	    (tether_addr_parse(&a, pm_path, -1) != 0 ||
	     tether_rpc_server_listen(srv, SOCK_STREAM, &a, NULL) != 0))
		abort();
	if (tether_rpc_server_listen(srv, SOCK_STREAM, &pm_remote, NULL) != 0 ||
	    tether_rpc_server_listen(srv, SOCK_DGRAM, &pm_remote, NULL) != 0)
		abort();
	__atomic_store_n(&t->ready, 1, __ATOMIC_SEQ_CST);
	while (!pm_stop)
		tether_loop_run_once(loop, 10);
	tether_rpc_server_free(srv);
	tether_loop_free(loop);
	return NULL;
}

static void
pm_start(struct pm_thread *t, int forget)
{
	if (forget) {
		pthread_mutex_lock(&pm_lock);
		pm_n = 0;
		pthread_mutex_unlock(&pm_lock);
	}
	pm_stop = 0;
	t->ready = 0;
	assert_int_equal(pthread_create(&t->th, NULL, pm_main, t), 0);
	while (!__atomic_load_n(&t->ready, __ATOMIC_SEQ_CST))
		usleep(1000);
}

static void
pm_halt(struct pm_thread *t)
{
	pm_stop = 1;
	pthread_join(t->th, NULL);
}

/* A free port for the fake's TCP and UDP listeners. */
static void
pick_remote(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_int_equal(tether_addr_parse(&pm_remote, "127.0.0.1:0", -1), 0);
	assert_int_equal(
		bind(fd, (struct sockaddr *)&pm_remote.ss, pm_remote.len), 0);
	pm_remote.len = sizeof(pm_remote.ss);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&pm_remote.ss,
				     &pm_remote.len),
			 0);
	close(fd);
	snprintf(pm_path, sizeof(pm_path), "/tmp/tether-rpcb-%d.sock",
		 (int)getpid());
}

static struct tether_rpcb_config
config(void)
{
	struct tether_rpcb_config c;

	memset(&c, 0, sizeof(c));
	c.local_path = pm_path;
	c.remote = &pm_remote;
	c.timeout_ms = 2000;
	return c;
}

static void
test_one_shot(void **state)
{
	struct pm_thread t;
	struct tether_rpcb_config cfg;
	struct tether_addr a, got;
	char buf[TETHER_ADDR_STRLEN];

	(void)state;
	pick_remote();
	pm_with_v4 = 1;
	pm_with_local = 1;
	pm_start(&t, 1);
	cfg = config();
	assert_int_equal(tether_addr_parse(&a, "127.0.0.1:2049", -1), 0);
	assert_int_equal(tether_rpcb_set(&cfg, 100003, 3, TETHER_NETID_TCP, &a),
			 0);
	assert_tether_err(
		tether_rpcb_set(&cfg, 100003, 3, TETHER_NETID_TCP, &a),
		TETHER_EEXIST);
	assert_int_equal(tether_rpcb_set(&cfg, 100003, 3, TETHER_NETID_UDP, &a),
			 0);
	assert_int_equal(
		tether_rpcb_getaddr(&cfg, 100003, 3, TETHER_NETID_TCP, &got),
		0);
	tether_addr_format(&got, buf, sizeof(buf), 0);
	assert_string_equal(buf, "127.0.0.1:2049");
	assert_tether_err(
		tether_rpcb_getaddr(&cfg, 100003, 4, TETHER_NETID_TCP, &got),
		TETHER_ENOENT);
	assert_int_equal(tether_rpcb_unset(&cfg, 100003, 3, TETHER_NETID_MAX),
			 0);
	assert_tether_err(tether_rpcb_unset(&cfg, 100003, 3, TETHER_NETID_MAX),
			  TETHER_ENOENT);
	assert_int_equal(pm_n, 0);
	/* Errors before any call. */
	assert_tether_err(tether_rpcb_set(&cfg, 1, 1, TETHER_NETID_MAX, &a),
			  TETHER_EINVAL);
	assert_tether_err(tether_rpcb_set(&cfg, 1, 1, TETHER_NETID_TCP6, &a),
			  TETHER_EAFNOSUPPORT);
	pm_halt(&t);

	/* Without a local socket: portmap v2 over TCP. */
	cfg.no_local = 1;
	pm_with_local = 0;
	pm_with_v4 = 0;
	pm_start(&t, 1);
	assert_int_equal(tether_rpcb_set(&cfg, 100005, 1, TETHER_NETID_UDP, &a),
			 0);
	assert_int_equal(tether_addr_parse(&a, "[::1]:2049", -1), 0);
	assert_tether_err(
		tether_rpcb_set(&cfg, 100005, 1, TETHER_NETID_TCP6, &a),
		TETHER_ENOTSUP);
	/* No v4 there: GETADDR falls back to GETPORT. */
	assert_int_equal(
		tether_rpcb_getaddr(&cfg, 100005, 1, TETHER_NETID_UDP, &got),
		0);
	assert_int_equal(tether_addr_port(&got), 2049);
	assert_int_equal(tether_rpcb_unset(&cfg, 100005, 1, TETHER_NETID_MAX),
			 0);
	assert_tether_err(
		tether_rpcb_getaddr(&cfg, 100005, 1, TETHER_NETID_UDP, &got),
		TETHER_ENOENT);
	pm_halt(&t);
	/* Nobody there. */
	assert_true(tether_rpcb_getaddr(&cfg, 100005, 1, TETHER_NETID_TCP,
					&got) < 0);
	unlink(pm_path);
}

static void
test_keeper_restart(void **state)
{
	struct pm_thread t;
	struct tether_rpcb_config cfg;
	struct tether_rpcb_keeper *k;
	struct tether_rpcb_keeper_stats st;
	struct tether_loop *loop;
	struct tether_addr a, b;
	int i;

	(void)state;
	pick_remote();
	pm_with_v4 = 1;
	pm_with_local = 1;
	pm_start(&t, 1);
	cfg = config();
	assert_int_equal(tether_loop_new(&loop, NULL), 0);
	assert_int_equal(tether_rpcb_keeper_new(&k, loop, &cfg, 50), 0);
	assert_int_equal(tether_addr_parse(&a, "127.0.0.1:700", -1), 0);
	assert_int_equal(tether_addr_parse(&b, "127.0.0.1:701", -1), 0);
	assert_int_equal(
		tether_rpcb_keeper_add(k, 400100, 1, TETHER_NETID_TCP, &a), 0);
	assert_int_equal(
		tether_rpcb_keeper_add(k, 400100, 1, TETHER_NETID_UDP, &b), 0);
	assert_tether_err(tether_rpcb_keeper_add(k, 1, 1, TETHER_NETID_MAX, &a),
			  TETHER_EINVAL);
	for (i = 0; i < 200 && pm_n < 2; i++)
		tether_loop_run_once(loop, 10);
	assert_int_equal(pm_n, 2);
	/* The portmapper restarts with an empty table. */
	pm_halt(&t);
	for (i = 0; i < 10; i++)
		tether_loop_run_once(loop, 10);
	pm_start(&t, 1);
	assert_int_equal(pm_n, 0);
	for (i = 0; i < 300 && pm_n < 2; i++)
		tether_loop_run_once(loop, 10);
	assert_int_equal(pm_n, 2);
	tether_rpcb_keeper_get_stats(k, &st);
	assert_true(st.sets >= 4);
	assert_true(st.checks >= 4);
	/* Checks that find it in place do not set it again. */
	i = (int)st.sets;
	{
		int j;

		for (j = 0; j < 30; j++)
			tether_loop_run_once(loop, 10);
	}
	tether_rpcb_keeper_get_stats(k, &st);
	assert_int_equal(st.sets, (uint64_t)i);
	assert_int_equal(st.registered, 2);
	/* Freed with unregister: the table empties. */
	tether_rpcb_keeper_free(k, 1);
	assert_int_equal(pm_n, 0);
	pm_halt(&t);
	tether_loop_free(loop);
	unlink(pm_path);
}

/* The host the fake portmapper last saw a lookup from. */
static void
peer(char *buf, size_t n)
{
	pthread_mutex_lock(&pm_lock);
	snprintf(buf, n, "%s", pm_peer);
	pm_peer[0] = 0;
	pthread_mutex_unlock(&pm_lock);
}

/* cfg.source: lookups (TCP, UDP, the v2 fallback) and the keeper's
 * checks come from that address; without one, from the kernel's pick. */
static void
test_source(void **state)
{
	struct pm_thread t;
	struct tether_rpcb_config cfg;
	struct tether_rpcb_keeper *k;
	struct tether_loop *loop;
	struct tether_addr a, got, src;
	char seen[TETHER_ADDR_STRLEN];
	int i;

	(void)state;
	pick_remote();
	pm_with_v4 = 1;
	pm_with_local = 1;
	pm_start(&t, 1);
	cfg = config();
	assert_int_equal(tether_addr_parse(&a, "127.0.0.1:2049", -1), 0);
	assert_int_equal(tether_rpcb_set(&cfg, 100003, 3, TETHER_NETID_TCP, &a),
			 0);
	assert_int_equal(tether_rpcb_set(&cfg, 100003, 3, TETHER_NETID_UDP, &a),
			 0);
	assert_int_equal(
		tether_rpcb_getaddr(&cfg, 100003, 3, TETHER_NETID_TCP, &got),
		0);
	peer(seen, sizeof(seen));
	assert_string_equal(seen, "127.0.0.1");
	assert_int_equal(tether_addr_parse(&src, "127.1.0.9:0", -1), 0);
	cfg.source = &src;
	assert_int_equal(
		tether_rpcb_getaddr(&cfg, 100003, 3, TETHER_NETID_TCP, &got),
		0);
	assert_int_equal(tether_addr_port(&got), 2049);
	peer(seen, sizeof(seen));
	assert_string_equal(seen, "127.1.0.9");
	assert_int_equal(
		tether_rpcb_getaddr(&cfg, 100003, 3, TETHER_NETID_UDP, &got),
		0);
	peer(seen, sizeof(seen));
	assert_string_equal(seen, "127.1.0.9");
	/* Registration over the local socket ignores the source. */
	assert_int_equal(tether_rpcb_unset(&cfg, 100003, 3, TETHER_NETID_MAX),
			 0);
	/* A source this host does not have: the lookup cannot connect. */
	assert_int_equal(tether_addr_parse(&src, "192.0.2.1:0", -1), 0);
	assert_true(tether_rpcb_getaddr(&cfg, 100003, 3, TETHER_NETID_TCP,
					&got) < 0);

	/* The keeper: SET over the local socket, checks (v2 GETPORT over
	 * TCP) from the source. */
	assert_int_equal(tether_addr_parse(&src, "127.1.0.11:0", -1), 0);
	assert_int_equal(tether_loop_new(&loop, NULL), 0);
	{
		struct tether_addr tmp;

		/* (the keeper copies the source) */
		tether_addr_copy(&tmp, &src);
		cfg.source = &tmp;
		assert_int_equal(tether_rpcb_keeper_new(&k, loop, &cfg, 50), 0);
		memset(&tmp, 0, sizeof(tmp));
	}
	assert_int_equal(
		tether_rpcb_keeper_add(k, 400101, 1, TETHER_NETID_TCP, &a), 0);
	/* Until the registration is in and a check has come (the first
	 * check may overtake the first SET). */
	seen[0] = 0;
	for (i = 0; i < 300; i++) {
		tether_loop_run_once(loop, 10);
		if (seen[0] == 0)
			peer(seen, sizeof(seen));
		if (seen[0] != 0 && __atomic_load_n(&pm_n, __ATOMIC_SEQ_CST) == 1)
			break;
	}
	assert_string_equal(seen, "127.1.0.11");
	assert_int_equal(__atomic_load_n(&pm_n, __ATOMIC_SEQ_CST), 1);
	tether_rpcb_keeper_free(k, 1);
	assert_int_equal(pm_n, 0);
	tether_loop_free(loop);
	pm_halt(&t);

	/* No v4 there: the v2 GETPORT fallback comes from the source. */
	cfg.source = &src;
	cfg.no_local = 1;
	pm_with_v4 = 0;
	pm_with_local = 0;
	pm_start(&t, 1);
	assert_int_equal(tether_rpcb_set(&cfg, 100005, 1, TETHER_NETID_TCP, &a),
			 0);
	assert_int_equal(
		tether_rpcb_getaddr(&cfg, 100005, 1, TETHER_NETID_TCP, &got),
		0);
	assert_int_equal(tether_addr_port(&got), 2049);
	peer(seen, sizeof(seen));
	assert_string_equal(seen, "127.1.0.11");
	pm_halt(&t);
	unlink(pm_path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_shot),
		cmocka_unit_test(test_keeper_restart),
		cmocka_unit_test(test_source),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
