/*
 * test_lbpersist.c - tether-lb's persistence table and lb_select: key
 * masking, LRU eviction order, expiry on a fake clock, the size bound,
 * entries of clients with a connection open kept past their timeout,
 * re-pinning when a backend goes down, draining, parallel first
 * connections, and allocation failures.
 */
#include "tether_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "lb.h"

static const struct tether_hash_key hkey = { 0x0706050403020100ULL,
					     0x0f0e0d0c0b0a0908ULL };

static struct tether_addr
addr(const char *s)
{
	struct tether_addr a;

	assert_int_equal(tether_addr_parse(&a, s, -1), 0);
	return a;
}

static struct lb_pkey
key(const struct lb_persist *p, const char *s)
{
	struct tether_addr a = addr(s);
	struct lb_pkey k;

	assert_int_equal(lb_persist_key(p, &a, &k), 0);
	return k;
}

static void
test_key_mask(void **state)
{
	struct lb_persist p;
	struct lb_pkey a, b;
	struct tether_addr u;

	(void)state;
	assert_int_equal(lb_persist_init(&p, 10, 1000, 24, 64, &hkey), 0);
	/* The port never matters; the masked bits do not either. */
	a = key(&p, "10.1.2.3:1000");
	b = key(&p, "10.1.2.200:2000");
	assert_memory_equal(&a, &b, sizeof(a));
	b = key(&p, "10.1.3.3:1000");
	assert_memory_not_equal(&a, &b, sizeof(a));
	/* An IPv4-mapped IPv6 client is the IPv4 client. */
	b = key(&p, "[::ffff:10.1.2.99]:5");
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(b.family, AF_INET);
	/* IPv6 /64. */
	a = key(&p, "[2001:db8:1:2:aaaa::1]:1");
	b = key(&p, "[2001:db8:1:2:bbbb::2]:1");
	assert_memory_equal(&a, &b, sizeof(a));
	b = key(&p, "[2001:db8:1:3::1]:1");
	assert_memory_not_equal(&a, &b, sizeof(a));
	assert_int_equal(a.family, AF_INET6);
	/* Odd prefix lengths mask inside a byte. */
	lb_persist_fini(&p);
	assert_int_equal(lb_persist_init(&p, 10, 1000, 20, 128, &hkey), 0);
	a = key(&p, "10.1.16.1:1");
	b = key(&p, "10.1.31.255:1");
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(a.addr[2], 16);
	b = key(&p, "10.1.32.0:1");
	assert_memory_not_equal(&a, &b, sizeof(a));
	a = key(&p, "[::1]:1");
	b = key(&p, "[::2]:1");
	assert_memory_not_equal(&a, &b, sizeof(a));
	assert_int_equal(tether_addr_parse(&u, "unix:/tmp/x", -1), 0);
	assert_tether_err(lb_persist_key(&p, &u, &a), TETHER_EAFNOSUPPORT);
	lb_persist_fini(&p);

	/* /0 puts everyone in one group. */
	assert_int_equal(lb_persist_init(&p, 10, 1000, 0, 0, &hkey), 0);
	a = key(&p, "1.2.3.4:1");
	b = key(&p, "200.2.3.4:1");
	assert_memory_equal(&a, &b, sizeof(a));
	lb_persist_fini(&p);
}

static void
test_insert_lookup(void **state)
{
	struct lb_persist p;
	struct lb_pkey a = { 0 }, b = { 0 };
	struct lb_pentry *e;

	(void)state;
	assert_int_equal(lb_persist_init(&p, 10, 1000, 32, 128, &hkey), 0);
	a = key(&p, "1.1.1.1:1");
	b = key(&p, "1.1.1.2:1");
	assert_null(lb_persist_lookup(&p, &a, 0));
	e = lb_persist_insert(&p, &a, 7, 0);
	assert_non_null(e);
	assert_int_equal(p.count, 1);
	assert_ptr_equal(lb_persist_lookup(&p, &a, 10), e);
	assert_int_equal(e->backend, 7);
	assert_int_equal(e->last_used, 10);
	assert_null(lb_persist_lookup(&p, &b, 10));
	/* Inserting an existing key re-points it. */
	assert_ptr_equal(lb_persist_insert(&p, &a, 3, 20), e);
	assert_int_equal(p.count, 1);
	assert_int_equal(lb_persist_lookup(&p, &a, 30)->backend, 3);
	lb_persist_remove(&p, e);
	assert_int_equal(p.count, 0);
	assert_null(lb_persist_lookup(&p, &a, 30));
	lb_persist_fini(&p);
}

/* A table of 3 (timeout 100 s) holding 10.0.0.0-2 (k[0..2], used at
 * 1, 2, 3), with keys for 10.0.0.3-4 in k[3..4]; active as p.active. */
static void
full_three(struct lb_persist *p, struct lb_pkey k[5],
	   const struct lb_climit *active)
{
	char s[32];
	int i;

	assert_int_equal(lb_persist_init(p, 3, 100000, 32, 128, &hkey), 0);
	p->active = active;
	for (i = 0; i < 5; i++) {
		snprintf(s, sizeof(s), "10.0.0.%d:1", i);
		k[i] = key(p, s);
		if (i < 3)
			assert_non_null(lb_persist_insert(p, &k[i],
					(uint32_t)i, (uint64_t)i + 1));
	}
}

static void
test_lru_eviction(void **state)
{
	struct lb_persist p;
	struct lb_pkey k[5];
	int i;

	(void)state;
	full_three(&p, k, NULL);
	/* Use k0 again: k1 is now the least recently used. */
	assert_non_null(lb_persist_lookup(&p, &k[0], 4));
	assert_non_null(lb_persist_insert(&p, &k[3], 3, 5));
	assert_int_equal(p.count, 3);
	assert_int_equal(p.evictions, 1);
	assert_null(lb_persist_lookup(&p, &k[1], 6));
	/* Order now, most recent first: k3, k0, k2; next out is k2. */
	assert_non_null(lb_persist_insert(&p, &k[4], 4, 7));
	assert_null(lb_persist_lookup(&p, &k[2], 8));
	assert_non_null(lb_persist_lookup(&p, &k[0], 9));
	assert_non_null(lb_persist_lookup(&p, &k[3], 10));
	assert_non_null(lb_persist_lookup(&p, &k[4], 11));
	assert_int_equal(p.evictions, 2);
	lb_persist_fini(&p);

	/* Many more clients than room: the count stays at the bound and
	 * the newest are the ones kept. */
	assert_int_equal(lb_persist_init(&p, 100, 100000, 32, 128, &hkey), 0);
	for (i = 0; i < 10000; i++) {
		struct tether_addr a = addr("10.0.0.0:1");
		struct lb_pkey kk;

		((struct sockaddr_in *)(void *)&a.ss)->sin_addr.s_addr =
			htonl(0x0a000000u + (uint32_t)i);
		assert_int_equal(lb_persist_key(&p, &a, &kk), 0);
		assert_non_null(lb_persist_insert(&p, &kk, 0, (uint64_t)i));
		assert_true(p.count <= 100);
	}
	assert_int_equal(p.count, 100);
	assert_int_equal(p.evictions, 9900);
	assert_int_equal(p.lru_tail->last_used, 9900);
	assert_int_equal(p.lru_head->last_used, 9999);
	lb_persist_fini(&p);
}

static void
test_expiry(void **state)
{
	struct lb_persist p;
	struct lb_pkey a, b, c;

	(void)state;
	assert_int_equal(lb_persist_init(&p, 10, 1000, 32, 128, &hkey), 0);
	a = key(&p, "1.0.0.1:1");
	b = key(&p, "1.0.0.2:1");
	c = key(&p, "1.0.0.3:1");
	lb_persist_insert(&p, &a, 0, 0);
	lb_persist_insert(&p, &b, 1, 100);
	lb_persist_insert(&p, &c, 2, 200);
	/* Idle less than the timeout: alive, and a use restarts it. */
	assert_non_null(lb_persist_lookup(&p, &a, 999));
	assert_non_null(lb_persist_lookup(&p, &b, 1099));
	/* The sweep: c (last used 200) expires at 1200. */
	assert_int_equal(lb_persist_expire(&p, 1199), 0);
	assert_int_equal(lb_persist_expire(&p, 1200), 1);
	assert_int_equal(p.count, 2);
	assert_null(lb_persist_lookup(&p, &c, 1201));
	assert_non_null(lb_persist_lookup(&p, &a, 1998));
	/* b (1099) is gone at 2099: the lookup itself removes it. */
	assert_null(lb_persist_lookup(&p, &b, 2099));
	assert_int_equal(p.count, 1);
	assert_int_equal(p.expirations, 2);
	/* a (1998) expires at 2998. */
	assert_int_equal(lb_persist_expire(&p, 2997), 0);
	assert_int_equal(lb_persist_expire(&p, 2998), 1);
	assert_int_equal(p.count, 0);
	assert_null(p.lru_head);
	assert_null(p.lru_tail);
	assert_int_equal(p.expirations, 3);
	/* Entries are recycled: a new insert reuses a freed one. */
	{
		struct lb_pentry *fl = p.free_list, *e;

		assert_non_null(fl);
		e = lb_persist_insert(&p, &a, 0, 6000);
		assert_ptr_equal(e, fl);
		assert_ptr_equal(e, p.lru_head);
	}
	lb_persist_fini(&p);
}

/* An entry whose client has a connection open (the service's
 * per-client counts, p.active) neither expires nor goes first when the
 * table is full; once the client has closed everything, its idle
 * timeout runs from the last touch. */
static void
test_in_use(void **state)
{
	struct lb_persist p;
	struct lb_service svc;
	struct tether_addr ca = addr("1.0.0.1:5"), cb = addr("1.0.0.2:5");
	struct lb_pkey a, b, k[5];

	(void)state;
	memset(&svc, 0, sizeof(svc));
	svc.climit = lb_climit_new(32, 128, &hkey);
	assert_non_null(svc.climit);
	assert_int_equal(lb_persist_init(&p, 10, 1000, 32, 128, &hkey), 0);
	p.active = svc.climit;
	a = key(&p, "1.0.0.1:1");
	b = key(&p, "1.0.0.2:1");
	assert_non_null(lb_persist_insert(&p, &a, 0, 0));
	assert_non_null(lb_persist_insert(&p, &b, 1, 100));
	/* Another port of the same address is the same client. */
	assert_int_equal(lb_client_acquire(&svc, &ca), 0);
	assert_int_equal(lb_climit_conns(svc.climit, &a), 1);
	assert_int_equal(lb_climit_conns(svc.climit, &b), 0);
	/* At 1000 a has timed out, but its client has a connection: it is
	 * touched (idle from 1000), not removed. */
	assert_int_equal(lb_persist_expire(&p, 1000), 0);
	assert_int_equal(p.count, 2);
	assert_ptr_equal(p.lru_head, lb_persist_lookup(&p, &a, 1000));
	assert_int_equal(p.lru_head->last_used, 1000);
	/* b has nothing open: it goes at 1100. */
	assert_int_equal(lb_persist_expire(&p, 1100), 1);
	assert_null(lb_persist_lookup(&p, &b, 1100));
	/* Long after: a lookup keeps the entry too, on its backend. */
	assert_non_null(lb_persist_lookup(&p, &a, 50000));
	assert_int_equal(lb_persist_lookup(&p, &a, 99000)->backend, 0);
	assert_int_equal(lb_persist_expire(&p, 200000), 0);
	assert_int_equal(p.expirations, 1);
	/* Closed: idle from its last touch (200000), gone a timeout on. */
	lb_client_release(&svc, &ca);
	assert_int_equal(lb_climit_conns(svc.climit, &a), 0);
	assert_int_equal(lb_persist_expire(&p, 200999), 0);
	assert_int_equal(lb_persist_expire(&p, 201000), 1);
	assert_int_equal(p.count, 0);
	lb_persist_fini(&p);

	/* A full table evicts the least recently used entry of a client
	 * with nothing open; when every client has something open, the
	 * least recently used of all (the size bound holds). */
	full_three(&p, k, svc.climit);
	ca = addr("10.0.0.0:9");
	assert_int_equal(lb_client_acquire(&svc, &ca), 0);
	assert_non_null(lb_persist_insert(&p, &k[3], 3, 4));
	assert_int_equal(p.count, 3);
	assert_non_null(lb_persist_lookup(&p, &k[0], 5));
	assert_null(lb_persist_lookup(&p, &k[1], 5));
	/* Now in order k0, k3, k2 (most recent first), all in use. */
	cb = addr("10.0.0.2:9");
	assert_int_equal(lb_client_acquire(&svc, &cb), 0);
	cb = addr("10.0.0.3:9");
	assert_int_equal(lb_client_acquire(&svc, &cb), 0);
	assert_non_null(lb_persist_insert(&p, &k[4], 4, 6));
	assert_int_equal(p.count, 3);
	assert_int_equal(p.evictions, 2);
	assert_null(lb_persist_lookup(&p, &k[2], 7));
	assert_non_null(lb_persist_lookup(&p, &k[0], 7));
	lb_persist_fini(&p);
	lb_climit_free(svc.climit);
}

static char bnames[4][8] = { "a", "b", "c", "d" };

static void
pool_make(struct lb_pool *pool, size_t n, const struct lb_ops *ops)
{
	size_t i;

	assert_int_equal(lb_pool_init(pool, n, ops), 0);
	for (i = 0; i < n; i++)
		pool->backends[i].name = bnames[i];
	assert_int_equal(lb_pool_update(pool), 0);
}

/* Parallel first connections: the second select of a client, before
 * any connection completed, gets the first one's backend. Without
 * persistence round-robin would split them. */
static void
test_select_parallel(void **state)
{
	struct lb_pool pool;
	struct lb_persist p;
	struct tether_addr c1 = addr("192.0.2.1:40000");
	struct tether_addr c1b = addr("192.0.2.1:40001");
	struct lb_backend *b;
	int i;

	(void)state;
	pool_make(&pool, 3, &lb_ops_rr);
	assert_int_equal(lb_persist_init(&p, 100, 60000, 32, 128, &hkey), 0);
	b = lb_select(&pool, &p, &c1, 0, NULL);
	assert_non_null(b);
	assert_int_equal(p.count, 1);	/* pinned at once */
	for (i = 0; i < 10; i++)
		assert_ptr_equal(lb_select(&pool, &p, &c1b, 1, NULL), b);
	/* Without the table the same two selects differ. */
	assert_ptr_not_equal(lb_select(&pool, NULL, &c1, 0, NULL),
			     lb_select(&pool, NULL, &c1, 0, NULL));
	/* Other clients still spread. */
	{
		unsigned seen = 0;
		char s[32];

		for (i = 0; i < 30; i++) {
			struct tether_addr c;

			snprintf(s, sizeof(s), "198.51.100.%d:1", i);
			c = addr(s);
			seen |= 1u << lb_select(&pool, &p, &c, 2,
						NULL)->index;
		}
		assert_int_equal(seen, 7);
	}
	lb_persist_fini(&p);
	lb_pool_fini(&pool);
}

static void
test_select_repin(void **state)
{
	struct lb_pool pool;
	struct lb_persist p;
	struct tether_addr c = addr("192.0.2.7:1");
	struct lb_backend *b, *b2;
	unsigned char ex[3] = { 0 };

	(void)state;
	pool_make(&pool, 3, &lb_ops_wrr);
	assert_int_equal(lb_persist_init(&p, 100, 60000, 32, 128, &hkey), 0);
	b = lb_select(&pool, &p, &c, 0, NULL);
	/* The pinned backend goes down: the client moves, and stays moved
	 * when the old one comes back. */
	assert_int_equal(lb_backend_set_state(&pool, b, LB_BACKEND_DOWN, 10,
					      0), 0);
	b2 = lb_select(&pool, &p, &c, 20, NULL);
	assert_non_null(b2);
	assert_ptr_not_equal(b2, b);
	assert_int_equal(p.count, 1);
	assert_int_equal(p.lru_head->backend, b2->index);
	assert_int_equal(lb_backend_set_state(&pool, b, LB_BACKEND_UP, 30, 0),
			 0);
	assert_ptr_equal(lb_select(&pool, &p, &c, 40, NULL), b2);
	/* A retry excludes the pinned backend and re-pins. */
	ex[b2->index] = 1;
	b = lb_select(&pool, &p, &c, 50, ex);
	assert_ptr_not_equal(b, b2);
	assert_ptr_equal(lb_select(&pool, &p, &c, 60, NULL), b);
	/* Nothing usable: NULL, and the pin is left alone. */
	lb_backend_set_state(&pool, &pool.backends[0], LB_BACKEND_DOWN, 70, 0);
	lb_backend_set_state(&pool, &pool.backends[1], LB_BACKEND_DOWN, 70, 0);
	lb_backend_set_state(&pool, &pool.backends[2], LB_BACKEND_DOWN, 70, 0);
	assert_null(lb_select(&pool, &p, &c, 80, NULL));
	lb_persist_fini(&p);
	lb_pool_fini(&pool);
}

static void
test_select_drain(void **state)
{
	struct lb_pool pool;
	struct lb_persist p;
	struct tether_addr c = addr("192.0.2.9:1");
	struct lb_backend *b;
	char s[32];
	int i;

	(void)state;
	pool_make(&pool, 2, &lb_ops_rr);
	assert_int_equal(lb_persist_init(&p, 1000, 10000, 32, 128, &hkey), 0);
	b = lb_select(&pool, &p, &c, 0, NULL);
	/* Drain with a deadline of 5 s: the pinned client keeps b until
	 * then; every new client goes to the other backend. */
	assert_int_equal(lb_backend_set_state(&pool, b, LB_BACKEND_DRAINING,
					      1000, 5000), 0);
	assert_int_equal(b->drain_deadline, 6000);
	for (i = 0; i < 20; i++) {
		struct tether_addr n;

		snprintf(s, sizeof(s), "203.0.113.%d:1", i);
		n = addr(s);
		assert_ptr_not_equal(lb_select(&pool, &p, &n, 2000, NULL), b);
	}
	assert_ptr_equal(lb_select(&pool, &p, &c, 3000, NULL), b);
	assert_ptr_equal(lb_select(&pool, &p, &c, 5999, NULL), b);
	assert_ptr_not_equal(lb_select(&pool, &p, &c, 6000, NULL), b);

	/* Drain without a deadline: kept while the entry lives (used
	 * within 10 s each time), moved once it expired. */
	assert_int_equal(lb_backend_set_state(&pool, b, LB_BACKEND_UP, 7000,
					      0), 0);
	lb_persist_insert(&p, &p.lru_head->key, b->index, 7000);
	assert_int_equal(lb_backend_set_state(&pool, b, LB_BACKEND_DRAINING,
					      7000, 0), 0);
	assert_ptr_equal(lb_select(&pool, &p, &c, 16000, NULL), b);
	assert_ptr_equal(lb_select(&pool, &p, &c, 25000, NULL), b);
	assert_ptr_not_equal(lb_select(&pool, &p, &c, 35000, NULL), b);
	lb_persist_fini(&p);
	lb_pool_fini(&pool);
}

/* Maglev through lb_select: a client's group (its /24) lands on one
 * backend even with the table empty, so nodes agree without state. */
static void
test_select_maglev(void **state)
{
	struct lb_pool pool;
	struct lb_persist p1, p2;
	char s[32];
	int i;

	(void)state;
	pool_make(&pool, 4, &lb_ops_maglev);
	assert_int_equal(lb_persist_init(&p1, 1000, 10000, 24, 64, &hkey), 0);
	assert_int_equal(lb_persist_init(&p2, 1000, 10000, 24, 64, &hkey), 0);
	for (i = 0; i < 50; i++) {
		struct tether_addr a, b;

		snprintf(s, sizeof(s), "10.9.%d.1:1", i);
		a = addr(s);
		snprintf(s, sizeof(s), "10.9.%d.77:2", i);
		b = addr(s);
		/* Two "nodes" (two tables), two addresses of one /24. */
		assert_ptr_equal(lb_select(&pool, &p1, &a, 0, NULL),
				 lb_select(&pool, &p2, &b, 0, NULL));
	}
	lb_persist_fini(&p1);
	lb_persist_fini(&p2);
	lb_pool_fini(&pool);
}

/* A TCP session counts itself before it picks (lb_select_held, held
 * 1): a timed-out entry is kept for the client's other connections,
 * not for this one. */
static void
test_select_held(void **state)
{
	struct lb_pool pool;
	struct lb_persist p;
	struct lb_service svc;
	struct tether_addr c = addr("1.0.0.1:5"), c2 = addr("1.0.0.1:6");
	struct lb_backend *b0, *b;

	(void)state;
	memset(&svc, 0, sizeof(svc));
	svc.climit = lb_climit_new(32, 128, &hkey);
	assert_non_null(svc.climit);
	pool_make(&pool, 3, &lb_ops_rr);
	assert_int_equal(lb_persist_init(&p, 10, 1000, 32, 128, &hkey), 0);
	p.active = svc.climit;
	assert_int_equal(lb_client_acquire(&svc, &c), 0);
	b0 = lb_select_held(&pool, &p, &c, 0, NULL, 1);
	assert_non_null(b0);
	/* Timed out, the client's only connection the picking one: a
	 * fresh pick (rr: the next backend). */
	b = lb_select_held(&pool, &p, &c, 5000, NULL, 1);
	assert_ptr_not_equal(b, b0);
	/* With another connection of the client open, the pin stays. */
	assert_int_equal(lb_client_acquire(&svc, &c2), 0);
	assert_ptr_equal(lb_select_held(&pool, &p, &c, 10000, NULL, 1), b);
	/* UDP picks before it counts (held 0): one open is enough. */
	lb_client_release(&svc, &c2);
	assert_ptr_equal(lb_select(&pool, &p, &c, 20000, NULL), b);
	lb_client_release(&svc, &c);
	lb_persist_fini(&p);
	lb_pool_fini(&pool);
	lb_climit_free(svc.climit);
}

/* show persist of a table larger than a control answer (400,000
 * lines of 52 bytes: 20 MiB against 16): the most
 * recent entries that fit, then a line counting the rest (it was
 * "error: answer too long" and nothing else). */
static void
test_show_persist_cap(void **state)
{
	static struct lb_conf_service sconf;
	struct lb_service svc;
	struct lb_proxy px;
	struct tether_buf out;
	const size_t n = 400000;
	size_t i, lines = 0, more = 0;
	const char *last;

	(void)state;
	memset(&svc, 0, sizeof(svc));
	memset(&px, 0, sizeof(px));
	snprintf(sconf.name, sizeof(sconf.name), "s");
	svc.conf = &sconf;
	pool_make(&svc.pool, 1, &lb_ops_rr);
	assert_int_equal(lb_persist_init(&svc.persist, n, 100000, 32, 128,
					 &hkey), 0);
	svc.has_persist = 1;
	/* Used now: idle=0ms, the shortest lines (the loop's clock is
	 * the machine's uptime: an entry used at 0 would say so). */
	assert_int_equal(tether_loop_new(&px.loop, NULL), 0);
	for (i = 0; i < n; i++) {
		struct tether_addr a = addr("10.0.0.0:1");
		struct lb_pkey k;

		((struct sockaddr_in *)(void *)&a.ss)->sin_addr.s_addr =
			htonl(0x0a000000u + (uint32_t)i);
		assert_int_equal(lb_persist_key(&svc.persist, &a, &k), 0);
		assert_non_null(lb_persist_insert(&svc.persist, &k, 0,
				tether_loop_now(px.loop)));
	}
	px.services = &svc;
	px.nservices = 1;
	tether_buf_init(&out, LB_CTL_MAX_OUT);
	assert_int_equal(lb_ctl_exec(&px, "show persist s", &out), 0);
	assert_true(out.len <= LB_CTL_MAX_OUT);
	for (i = 0; i < out.len; i++)
		lines += out.data[i] == '\n';
	/* The newest first: 10.6.26.127 is the 400000th. */
	assert_memory_equal(out.data, "persist s 10.6.26.127/32 backend=a "
			    "idle=0ms conns=0\n", 52);
	assert_true(out.len > 0 && out.data[out.len - 1] == '\n');
	for (last = (const char *)out.data + out.len - 1;
	     last > (const char *)out.data && last[-1] != '\n'; last--)
		;
	assert_int_equal(sscanf(last, "truncated: %zu more entries", &more),
			 1);
	assert_true(lines > 100000);
	assert_int_equal(lines - 1 + more, n);
	/* One client's entry, whatever the table's size. */
	tether_buf_reset(&out);
	assert_int_equal(lb_ctl_exec(&px, "show persist s 10.0.0.5", &out), 0);
	assert_int_equal(out.len, 49);
	assert_memory_equal(out.data, "persist s 10.0.0.5/32 backend=a "
			    "idle=0ms conns=0\n", 49);
	tether_buf_reset(&out);
	assert_int_equal(lb_ctl_exec(&px, "show persist s ::1", &out), 0);
	assert_int_equal(out.len, 0);
	assert_int_equal(lb_ctl_exec(&px, "show persist s nowhere", &out), 0);
	assert_memory_equal(out.data, "error: not an IP address: 'nowhere'\n",
			    36);
	tether_buf_reset(&out);
	assert_int_equal(lb_ctl_exec(&px, "show backends s 10.0.0.5", &out),
			 0);
	assert_memory_equal(out.data, "error: too many words\n", 22);
	tether_buf_free(&out);
	tether_loop_free(px.loop);
	lb_persist_fini(&svc.persist);
	lb_pool_fini(&svc.pool);
}

static void
test_alloc_failures(void **state)
{
	struct lb_persist p;
	struct lb_pkey a;
	struct lb_pool pool;
	struct tether_addr c = addr("192.0.2.1:1");

	(void)state;
	tether_alloc_fail_at(1, 0);
	assert_tether_err(lb_persist_init(&p, 10, 1000, 32, 128, &hkey),
			  TETHER_ENOMEM);
	tether_alloc_fail_at(0, 0);
	assert_int_equal(lb_persist_init(&p, 10, 1000, 32, 128, &hkey), 0);
	a = key(&p, "1.2.3.4:1");
	tether_alloc_fail_at(1, 0);
	assert_null(lb_persist_insert(&p, &a, 0, 0));
	tether_alloc_fail_at(0, 0);
	assert_int_equal(p.count, 0);
	assert_null(p.lru_head);
	/* lb_select still answers when the pin cannot be stored. */
	pool_make(&pool, 2, &lb_ops_rr);
	tether_alloc_fail_at(1, 0);
	assert_non_null(lb_select(&pool, &p, &c, 0, NULL));
	tether_alloc_fail_at(0, 0);
	assert_int_equal(p.count, 0);
	lb_pool_fini(&pool);
	lb_persist_fini(&p);

	assert_tether_err(lb_persist_init(&p, 0, 1000, 32, 128, &hkey),
			  TETHER_EINVAL);
	assert_tether_err(lb_persist_init(&p, 10, 0, 32, 128, &hkey),
			  TETHER_EINVAL);
	assert_tether_err(lb_persist_init(&p, 10, 1, 33, 128, &hkey),
			  TETHER_EINVAL);
	assert_tether_err(lb_persist_init(&p, 10, 1, 32, 129, &hkey),
			  TETHER_EINVAL);
	assert_tether_err(lb_persist_init(&p, LB_MAX_PERSIST + 1, 1, 32, 128,
					  &hkey), TETHER_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_mask),
		cmocka_unit_test(test_insert_lookup),
		cmocka_unit_test(test_lru_eviction),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_in_use),
		cmocka_unit_test(test_select_parallel),
		cmocka_unit_test(test_select_repin),
		cmocka_unit_test(test_select_drain),
		cmocka_unit_test(test_select_maglev),
		cmocka_unit_test(test_select_held),
		cmocka_unit_test(test_show_persist_cap),
		cmocka_unit_test(test_alloc_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
