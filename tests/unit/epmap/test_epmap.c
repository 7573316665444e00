/*
 * test_epmap.c - tether-epmap's core in one process: the configuration
 * parser, the registration table and port allocation, and the endpoint
 * mapper operations served by lib/dce's server (loop in a thread) to the
 * blocking client over AF_UNIX (local) and TCP (remote) listeners.
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include "tether_test.h"
#include "epmap.h"

#define IFACE_X "11111111-2222-3333-4444-555555555555"
#define IFACE_Y "66666666-7777-8888-9999-aaaaaaaaaaaa"
#define OBJ_A	"0a0a0a0a-0000-0000-0000-000000000001"

static struct tether_dce_syntax
syn(const char *u, uint16_t major, uint16_t minor)
{
	struct tether_dce_syntax s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(tether_dce_uuid_parse(u, &s.uuid), 0);
	s.vers_major = major;
	s.vers_minor = minor;
	return s;
}

/* ---- configuration ---- */

static void
test_conf(void **state)
{
	static const char good[] =
		"# test\n"
		"listen 127.0.0.1:1135\nlisten [::1]:1135\n"
		"socket /tmp/x.sock\nport-range 50000 50010\n"
		"fixed-port " IFACE_X " 1 50100\n"
		"max-connections 10; max-fragment 4280\n"
		"idle-timeout 5\nmax-registrations 3\n"
		"max-lookup-handles 8\nmax-handles-per-association 2\n"
		"handle-timeout 7\nmax-request 4096\nprune-interval 0\n";
	static const char *const bad[] = {
		"frobnicate 1\n",
		"port-range 10 5\n",
		"port-range 1 70000\n",
		"max-fragment 100\n",
		"fixed-port not-a-uuid 1 5\n",
		"fixed-port " IFACE_X " 1 5\nfixed-port " IFACE_X " 1 6\n",
		"listen unix:/tmp/x\n",
		"socket relative.sock\n",
		"max-connections\n",
		"listen 1.2.3.4:1 { }\n",
	};
	struct epmap_conf c;
	struct tether_buf d;
	size_t i;

	(void)state;
	epmap_conf_defaults(&c);
	assert_int_equal(c.port_lo, 49152);
	assert_int_equal(c.port_hi, 65535);
	assert_true(c.listen_default);
	assert_string_equal(c.socket_path, EPMAP_DEFAULT_SOCKET);

	tether_buf_init(&d, 65536);
	assert_int_equal(
		epmap_conf_load(&c, "good.conf", good, sizeof(good) - 1, &d),
		0);
	assert_false(c.listen_default);
	assert_int_equal(c.n_listen, 2);
	assert_int_equal(tether_addr_port(&c.listen[1]), 1135);
	assert_string_equal(c.socket_path, "/tmp/x.sock");
	assert_int_equal(c.port_lo, 50000);
	assert_int_equal(c.port_hi, 50010);
	assert_int_equal(c.n_fixed, 1);
	assert_int_equal(c.fixed[0].port, 50100);
	assert_int_equal(c.max_conns, 10);
	assert_int_equal(c.max_frag, 4280);
	assert_int_equal(c.idle_s, 5);
	assert_int_equal(c.max_regs, 3);
	assert_int_equal(c.max_handles, 8);
	assert_int_equal(c.max_handles_per_assoc, 2);
	assert_int_equal(c.handle_timeout_s, 7);
	assert_int_equal(c.max_request, 4096);
	assert_int_equal(c.prune_s, 0);

	for (i = 0; i < TETHER_ARRAY_SIZE(bad); i++) {
		epmap_conf_defaults(&c);
		tether_buf_reset(&d);
		assert_tether_err(epmap_conf_load(&c, "bad.conf", bad[i],
						  strlen(bad[i]), &d),
				  TETHER_ESYNTAX);
		assert_non_null(strstr((char *)d.data, "bad.conf:"));
		assert_non_null(strstr((char *)d.data, "error:"));
	}
	/* the position is the offending token's */
	epmap_conf_defaults(&c);
	tether_buf_reset(&d);
	epmap_conf_load(&c, "p.conf", "\nport-range 9 x\n", 16, &d);
	assert_non_null(strstr((char *)d.data, "p.conf:2:14:"));
	tether_buf_free(&d);
	assert_int_equal(
		epmap_conf_load(&c, "/nonexistent/epmap.conf", NULL, 0, NULL),
		-TETHER_ENOENT);
}

/* ---- the table, without a server ---- */

static void
test_register_ports(void **state)
{
	struct tether_dce_syntax x = syn(IFACE_X, 1, 0), y = syn(IFACE_Y, 1, 0);
	struct epmap_conf c;
	struct epmap m;
	uint16_t p;

	(void)state;
	epmap_conf_defaults(&c);
	c.port_lo = 50000;
	c.port_hi = 50002;
	c.max_regs = 5;
	c.n_fixed = 1;
	c.fixed[0].uuid = x.uuid;
	c.fixed[0].vers_major = 1;
	c.fixed[0].port = 50001; /* inside the range: skipped by it */
	epmap_init(&m, &c, NULL);
	m.check_bind = 0;
	/* fixed interface: its port, and only that */
	assert_int_equal(epmap_register(&m, &x, NULL, "x", 0, NULL, 0, &p), 0);
	assert_int_equal(p, 50001);
	assert_tether_err(epmap_register(&m, &x, NULL, "x", 7, NULL, 0, &p),
			  TETHER_EPERM);
	/* dynamic: round robin over the free ports of the range */
	assert_int_equal(epmap_register(&m, &y, NULL, "y", 0, NULL, 0, &p), 0);
	assert_int_equal(p, 50000);
	assert_int_equal(epmap_register(&m, &y, NULL, "y", 0, NULL, 0, &p), 0);
	assert_int_equal(p, 50002);
	assert_tether_err(epmap_register(&m, &y, NULL, "y", 0, NULL, 0, &p),
			  TETHER_ENOSPC);
	/* explicit ports need no allocation; then the table is full */
	assert_int_equal(epmap_register(&m, &y, NULL, "y", 6000, NULL, 0, &p),
			 0);
	assert_int_equal(epmap_register(&m, &y, NULL, "y", 6001, NULL, 0, &p),
			 0);
	assert_int_equal(m.n_regs, 5);
	assert_tether_err(epmap_register(&m, &y, NULL, "y", 6002, NULL, 0, &p),
			  TETHER_ENOSPC);
	epmap_fini(&m);
	assert_int_equal(m.n_regs, 0);

	/* allocation failures leave the table as it was */
	epmap_init(&m, &c, NULL);
	m.check_bind = 0;
	tether_alloc_fail_at(1, 0);
	assert_tether_err(epmap_register(&m, &y, NULL, "y", 6000, NULL, 0, &p),
			  TETHER_ENOMEM);
	tether_alloc_fail_at(0, 0);
	assert_int_equal(m.n_regs, 0);
	epmap_fini(&m);
}

static uint16_t
local_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	return ntohs(sin.sin_port);
}

static void
test_prune(void **state)
{
	struct tether_dce_syntax y = syn(IFACE_Y, 1, 0);
	struct sockaddr_in sin;
	struct epmap_conf c;
	struct epmap m;
	uint16_t alive, dead;
	int l, d;

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* Both ports below the ephemeral range (32768 and up): once closed,
	 * an ephemeral one could be taken by a parallel test's connection,
	 * or by the prune probe itself (a TCP self-connect), and look
	 * alive. */
	l = socket(AF_INET, SOCK_STREAM, 0);
	for (alive = (uint16_t)(21000 + getpid() % 5000);; alive++) {
		sin.sin_port = htons(alive);
		if (bind(l, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			break;
		assert_true(alive < 32000);
	}
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(local_port(l), alive);
	d = socket(AF_INET, SOCK_STREAM, 0);
	for (dead = (uint16_t)(alive + 1);; dead++) {
		sin.sin_port = htons(dead);
		if (bind(d, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			break;
		assert_true(dead < 32000);
	}
	close(d);
	sin.sin_port = 0;

	epmap_conf_defaults(&c);
	c.prune_s = 10;
	epmap_init(&m, &c, NULL);
	m.check_bind = 0;
	assert_int_equal(
		epmap_register(&m, &y, NULL, "a", alive, NULL, 0, NULL), 0);
	assert_int_equal(epmap_register(&m, &y, NULL, "d", dead, NULL, 0, NULL),
			 0);
	assert_int_equal(epmap_register(&m, &tether_dce_epm_v3, NULL, "self",
					dead, NULL, 1, NULL),
			 0);
	assert_int_equal(epmap_prune(&m), 0); /* too young */
	m.now_ms += 10000;
	assert_int_equal(epmap_prune(&m), 0); /* a first miss */
	m.now_ms += 10000;
	assert_int_equal(epmap_prune(&m), 1); /* the second */
	assert_int_equal(m.n_regs, 2);
	assert_int_equal(m.regs->port, alive);
	assert_int_equal(epmap_prune(&m), 0);
	close(l);
	assert_int_equal(epmap_prune(&m), 0);
	assert_int_equal(epmap_prune(&m), 1);
	assert_int_equal(m.n_regs, 1);
	assert_true(m.regs->self);
	assert_int_equal(m.st.pruned, 2);
	epmap_fini(&m);
}

/* ---- the operations, over the server ---- */

struct env {
	struct epmap_conf conf;
	struct epmap m;
	struct tether_loop *loop;
	struct tether_dce_server *srv;
	pthread_t th;
	int stop[2];
	char path[108];
	struct tether_addr tcp;
	struct tether_arena *arena;
};

static void
on_stop(struct tether_loop *loop, int fd, unsigned ev, void *ud)
{
	(void)fd;
	(void)ev;
	(void)ud;
	tether_loop_stop(loop);
}

static void *
run(void *ud)
{
	struct env *e = ud;

	tether_loop_run(e->loop);
	return NULL;
}

static struct env *
env_new(unsigned per_assoc)
{
	struct env *e = calloc(1, sizeof(*e));
	struct tether_dce_server_config sc;
	struct tether_addr ua;
	int port;

	assert_non_null(e);
	epmap_conf_defaults(&e->conf);
	e->conf.max_handles_per_assoc = per_assoc;
	e->conf.handle_timeout_s = 60;
	assert_int_equal(tether_loop_new(&e->loop, NULL), 0);
	epmap_init(&e->m, &e->conf, NULL); /* the test drives the clock */
	e->m.check_bind = 0;
	memset(&sc, 0, sizeof(sc));
	sc.assoc_gone = epmap_assoc_gone;
	sc.assoc_gone_ud = &e->m;
	assert_int_equal(tether_dce_server_new(e->loop, &sc, &e->srv), 0);
	assert_int_equal(tether_dce_server_add_iface(e->srv, &e->m.iface), 0);
	snprintf(e->path, sizeof(e->path), "/tmp/test_epmap.%d.sock",
		 (int)getpid());
	assert_int_equal(tether_addr_parse(&ua, e->path, -1), 0);
	assert_int_equal(tether_dce_server_listen(e->srv, &ua, NULL), 0);
	assert_int_equal(tether_addr_parse(&e->tcp, "127.0.0.1:0", -1), 0);
	assert_int_equal(tether_dce_server_listen(e->srv, &e->tcp, &port), 0);
	tether_addr_set_port(&e->tcp, port);
	assert_int_equal(pipe(e->stop), 0);
	assert_int_equal(tether_loop_fd_add(e->loop, e->stop[0],
					    TETHER_LOOP_READ, on_stop, NULL),
			 0);
	e->arena = tether_arena_new(0, 0);
	assert_int_equal(pthread_create(&e->th, NULL, run, e), 0);
	return e;
}

static void
env_free(struct env *e)
{
	assert_int_equal(write(e->stop[1], "x", 1), 1);
	pthread_join(e->th, NULL);
	tether_dce_server_free(e->srv);
	epmap_fini(&e->m);
	tether_loop_fd_del(e->loop, e->stop[0]);
	tether_loop_free(e->loop);
	close(e->stop[0]);
	close(e->stop[1]);
	unlink(e->path);
	tether_arena_free(e->arena);
	free(e);
}

struct cl {
	int fd;
	struct tether_dce_client *c;
};

static struct cl
cl_open(struct env *e, int local, uint32_t group)
{
	struct tether_addr ua;
	struct cl c;

	if (local) {
		tether_addr_parse(&ua, e->path, -1);
		c.fd = socket(AF_UNIX, SOCK_STREAM, 0);
		assert_int_equal(
			connect(c.fd, (struct sockaddr *)&ua.ss, ua.len), 0);
	} else {
		c.fd = socket(AF_INET, SOCK_STREAM, 0);
		assert_int_equal(connect(c.fd, (struct sockaddr *)&e->tcp.ss,
					 e->tcp.len),
				 0);
	}
	assert_int_equal(tether_dce_client_bind(c.fd, &tether_dce_epm_v3, group,
						5000, &c.c, NULL),
			 0);
	return c;
}

static void
cl_close(struct cl *c)
{
	tether_dce_client_free(c->c);
	close(c->fd);
}

static uint8_t stub[4096];

/* ept_insert one entry (port may be 0) over c; returns the status. */
static uint32_t
insert(struct cl *c, const struct tether_dce_syntax *s, const char *obj,
       uint16_t port, const char *ann, int del, uint32_t *fault)
{
	struct tether_dce_epm_insert_req q;
	struct tether_dce_epm_entry en;
	struct tether_dce_ndr_writer w;
	static const uint8_t any[4];
	uint8_t tw[75];
	const uint8_t *resp;
	size_t tl, rl;
	uint32_t st = 0xffffffff;

	assert_int_equal(tether_dce_tower_build_tcp(s, &tether_dce_ndr20, port,
						    any, tw, sizeof(tw), &tl),
			 0);
	memset(&en, 0, sizeof(en));
	if (obj != NULL)
		tether_dce_uuid_parse(obj, &en.object);
	en.has_tower = 1;
	en.tower.data = tw;
	en.tower.len = (uint32_t)tl;
	en.annotation = ann;
	memset(&q, 0, sizeof(q));
	q.num_ents = 1;
	q.entries = &en;
	tether_dce_ndr_writer_init(&w, stub, sizeof(stub), 0x10);
	assert_int_equal(tether_dce_epm_insert_req_encode(&w, &q, !del), 0);
	assert_int_equal(tether_dce_client_call(c->c, del ? 1 : 0, NULL, stub,
						w.pos, &resp, &rl, fault),
			 0);
	if (*fault == 0) {
		assert_int_equal(rl, 4);
		memcpy(&st, resp, 4);
	}
	return st;
}

/* ept_lookup; *a is decoded into e->arena. Returns the fault (0). */
static uint32_t
lookup(struct env *e, struct cl *c, uint32_t inq, const char *obj,
       const struct tether_dce_syntax *ifid, uint32_t vers,
       struct tether_dce_ctx_handle *h, uint32_t max,
       struct tether_dce_epm_lookup_resp *a)
{
	struct tether_dce_epm_lookup_req q;
	struct tether_dce_ndr_writer w;
	struct tether_dce_ndr_reader r;
	const uint8_t *resp;
	size_t rl;
	uint32_t fault;

	memset(&q, 0, sizeof(q));
	q.inquiry_type = inq;
	if (obj != NULL) {
		q.has_object = 1;
		tether_dce_uuid_parse(obj, &q.object);
	}
	if (ifid != NULL) {
		q.has_ifid = 1;
		q.ifid = *ifid;
	}
	q.vers_option = vers;
	if (h != NULL)
		q.handle = *h;
	q.max_ents = max;
	tether_dce_ndr_writer_init(&w, stub, sizeof(stub), 0x10);
	assert_int_equal(tether_dce_epm_lookup_req_encode(&w, &q), 0);
	assert_int_equal(tether_dce_client_call(c->c, 2, NULL, stub, w.pos,
						&resp, &rl, &fault),
			 0);
	if (fault)
		return fault;
	tether_dce_ndr_reader_init(&r, resp, rl, 0x10);
	assert_int_equal(tether_dce_epm_lookup_resp_decode(&r, e->arena, a), 0);
	return 0;
}

static uint32_t
count(struct env *e, struct cl *c, uint32_t inq, const char *obj,
      const struct tether_dce_syntax *ifid, uint32_t vers)
{
	struct tether_dce_epm_lookup_resp a;

	assert_int_equal(lookup(e, c, inq, obj, ifid, vers, NULL, 500, &a), 0);
	assert_true(tether_dce_ctx_handle_is_null(&a.handle));
	assert_int_equal(a.status, a.num_ents ? 0 : 0x16c9a0d6u);
	return a.num_ents;
}

static void
map(struct env *e, struct cl *c, const struct tether_dce_syntax *s,
    const struct tether_dce_syntax *xfer, uint32_t max,
    struct tether_dce_epm_map_resp *a)
{
	struct tether_dce_epm_map_req q;
	struct tether_dce_ndr_writer w;
	struct tether_dce_ndr_reader r;
	static const uint8_t any[4];
	const uint8_t *resp;
	uint8_t tw[75];
	size_t tl, rl;
	uint32_t fault;

	assert_int_equal(tether_dce_tower_build_tcp(s, xfer, 0, any, tw,
						    sizeof(tw), &tl),
			 0);
	memset(&q, 0, sizeof(q));
	q.has_tower = 1;
	q.tower.data = tw;
	q.tower.len = (uint32_t)tl;
	q.max_towers = max;
	tether_dce_ndr_writer_init(&w, stub, sizeof(stub), 0x10);
	assert_int_equal(tether_dce_epm_map_req_encode(&w, &q), 0);
	assert_int_equal(tether_dce_client_call(c->c, 3, NULL, stub, w.pos,
						&resp, &rl, &fault),
			 0);
	assert_int_equal(fault, 0);
	tether_dce_ndr_reader_init(&r, resp, rl, 0x10);
	assert_int_equal(tether_dce_epm_map_resp_decode(&r, e->arena, a), 0);
}

static uint16_t
tower_port(const struct tether_dce_epm_twr *t)
{
	struct tether_dce_tower tw;

	assert_int_equal(tether_dce_tower_parse(t->data, t->len, &tw), 0);
	return tw.port;
}

static void
test_insert_lookup_map(void **state)
{
	struct env *e = env_new(16);
	struct cl loc = cl_open(e, 1, 0), rem = cl_open(e, 0, 0);
	struct tether_dce_syntax x10 = syn(IFACE_X, 1, 0),
				 x15 = syn(IFACE_X, 1, 5),
				 x20 = syn(IFACE_X, 2, 0),
				 x12 = syn(IFACE_X, 1, 2),
				 y = syn(IFACE_Y, 1, 0);
	struct tether_dce_epm_map_resp ma;
	uint32_t fault;

	(void)state;
	/* remote callers may not register */
	insert(&rem, &y, NULL, 7000, "no", 0, &fault);
	assert_int_equal(fault, TETHER_DCE_nca_s_fault_access_denied);
	insert(&rem, &y, NULL, 7000, "no", 1, &fault);
	assert_int_equal(fault, TETHER_DCE_nca_s_fault_access_denied);

	assert_int_equal(insert(&loc, &x10, NULL, 7010, "x10", 0, &fault), 0);
	assert_int_equal(insert(&loc, &x15, NULL, 7015, "x15", 0, &fault), 0);
	assert_int_equal(insert(&loc, &x20, NULL, 7020, "x20", 0, &fault), 0);
	assert_int_equal(insert(&loc, &y, OBJ_A, 0, "ya", 0, &fault), 0);
	assert_int_equal(e->m.n_regs, 4);

	/* inquiry types and version options (Windows SDK numbering) */
	assert_int_equal(count(e, &rem, 0, NULL, NULL, 0), 4);
	assert_int_equal(count(e, &rem, 1, NULL, &x12, 1), 3);
	assert_int_equal(count(e, &rem, 1, NULL, &x12, 2), 1);
	assert_int_equal(count(e, &rem, 1, NULL, &x12, 3), 0);
	assert_int_equal(count(e, &rem, 1, NULL, &x15, 3), 1);
	assert_int_equal(count(e, &rem, 1, NULL, &x12, 4), 2);
	assert_int_equal(count(e, &rem, 1, NULL, &x12, 5), 1);
	assert_int_equal(count(e, &rem, 1, NULL, &x20, 5), 3);
	assert_int_equal(count(e, &rem, 2, OBJ_A, NULL, 0), 1);
	assert_int_equal(count(e, &rem, 3, OBJ_A, &y, 1), 1);
	assert_int_equal(count(e, &rem, 3, OBJ_A, &x10, 1), 0);
	assert_int_equal(count(e, &rem, 9, NULL, NULL, 0), 0);

	/* ept_map: compatible versions, max_towers, transfer syntax */
	map(e, &rem, &x10, &tether_dce_ndr20, 4, &ma);
	assert_int_equal(ma.status, 0);
	assert_int_equal(ma.max_count, 4);
	assert_int_equal(ma.num_towers, 2);
	assert_int_equal(tower_port(&ma.towers[0]), 7010);
	assert_int_equal(tower_port(&ma.towers[1]), 7015);
	assert_true(tether_dce_ctx_handle_is_null(&ma.handle));
	map(e, &rem, &x10, &tether_dce_ndr20, 1, &ma);
	assert_int_equal(ma.num_towers, 1);
	assert_int_equal(ma.max_count, 1);
	map(e, &rem, &x12, &tether_dce_ndr20, 4, &ma);
	assert_int_equal(ma.num_towers, 1);
	map(e, &rem, &x10, &tether_dce_ndr64, 4, &ma);
	assert_int_equal(ma.num_towers, 0);
	assert_int_equal(ma.status, 0x16c9a0d6u);
	map(e, &rem, &y, &tether_dce_ndr20, 4, &ma);
	assert_int_equal(ma.num_towers, 1);
	assert_int_equal(tower_port(&ma.towers[0]), 49152); /* dynamic */

	/* delete: exact entry; unknown ones say not registered */
	assert_int_equal(insert(&loc, &x15, NULL, 7015, NULL, 1, &fault), 0);
	assert_int_equal(insert(&loc, &x15, NULL, 7015, NULL, 1, &fault),
			 0x16c9a0d6u);
	assert_int_equal(count(e, &rem, 0, NULL, NULL, 0), 3);
	cl_close(&loc);
	cl_close(&rem);
	env_free(e);
}

static void
test_lookup_handles(void **state)
{
	struct env *e = env_new(2);
	struct cl loc = cl_open(e, 1, 0), a = cl_open(e, 0, 0),
		  b = cl_open(e, 0, 0), a2;
	struct tether_dce_syntax y = syn(IFACE_Y, 1, 0);
	struct tether_dce_epm_lookup_resp r;
	struct tether_dce_ctx_handle h, h1, h2;
	uint32_t fault, total = 0, calls = 0;
	int i;

	(void)state;
	for (i = 0; i < 5; i++)
		assert_int_equal(insert(&loc, &y, NULL, (uint16_t)(8000 + i),
					"y", 0, &fault),
				 0);
	/* paging by two: 2 + 2 + 1, status 0 throughout, NULL at the end */
	memset(&h, 0, sizeof(h));
	do {
		assert_int_equal(lookup(e, &a, 0, NULL, NULL, 0, &h, 2, &r), 0);
		assert_int_equal(r.status, 0);
		assert_int_equal(r.max_count, 2);
		total += r.num_ents;
		calls++;
		h = r.handle;
	} while (!tether_dce_ctx_handle_is_null(&h));
	assert_int_equal(total, 5);
	assert_int_equal(calls, 3);
	assert_int_equal(e->m.n_handles, 0);
	/* exactly divisible: the full last batch already ends it */
	memset(&h, 0, sizeof(h));
	assert_int_equal(lookup(e, &a, 0, NULL, NULL, 0, &h, 5, &r), 0);
	assert_int_equal(r.num_ents, 5);
	assert_true(tether_dce_ctx_handle_is_null(&r.handle));

	/* a handle belongs to its association group */
	assert_int_equal(lookup(e, &a, 0, NULL, NULL, 0, NULL, 1, &r), 0);
	h1 = r.handle;
	assert_false(tether_dce_ctx_handle_is_null(&h1));
	assert_int_equal(lookup(e, &b, 0, NULL, NULL, 0, &h1, 1, &r),
			 TETHER_DCE_nca_s_fault_context_mismatch);
	a2 = cl_open(e, 0, tether_dce_client_assoc_group(a.c));
	assert_int_equal(lookup(e, &a2, 0, NULL, NULL, 0, &h1, 1, &r), 0);
	assert_int_equal(r.num_ents, 1);
	h1 = r.handle;

	/* per-association bound 2: a third handle evicts the oldest */
	e->m.now_ms += 10;
	assert_int_equal(lookup(e, &a, 0, NULL, NULL, 0, NULL, 1, &r), 0);
	h2 = r.handle;
	e->m.now_ms += 10;
	assert_int_equal(lookup(e, &a, 0, NULL, NULL, 0, NULL, 1, &r), 0);
	assert_int_equal(lookup(e, &a, 0, NULL, NULL, 0, &h1, 1, &r),
			 TETHER_DCE_nca_s_fault_context_mismatch);
	assert_int_equal(e->m.st.handles_evicted, 1);

	/* expiry */
	e->m.now_ms += 61 * 1000;
	assert_int_equal(lookup(e, &a, 0, NULL, NULL, 0, &h2, 1, &r),
			 TETHER_DCE_nca_s_fault_context_mismatch);
	assert_true(e->m.st.handles_expired >= 1);

	/* a bogus handle; handle_free zeroes; a freed handle is unknown */
	memset(&h, 0x42, sizeof(h));
	h.attributes = 0;
	assert_int_equal(lookup(e, &a, 0, NULL, NULL, 0, &h, 1, &r),
			 TETHER_DCE_nca_s_fault_context_mismatch);
	assert_int_equal(lookup(e, &a, 0, NULL, NULL, 0, NULL, 1, &r), 0);
	h = r.handle;
	{
		struct tether_dce_ndr_writer w;
		struct tether_dce_ndr_reader rd;
		struct tether_dce_ctx_handle out;
		const uint8_t *resp;
		size_t rl;
		uint32_t st;

		tether_dce_ndr_writer_init(&w, stub, sizeof(stub), 0x10);
		tether_dce_ndr_put_ctx_handle(&w, &h);
		assert_int_equal(tether_dce_client_call(a.c, 4, NULL, stub,
							w.pos, &resp, &rl,
							&fault),
				 0);
		assert_int_equal(fault, 0);
		assert_int_equal(rl, 24);
		tether_dce_ndr_reader_init(&rd, resp, rl, 0x10);
		tether_dce_ndr_get_ctx_handle(&rd, &out);
		tether_dce_ndr_get_u32(&rd, &st);
		assert_true(tether_dce_ctx_handle_is_null(&out));
		assert_int_equal(st, 0);
		assert_int_equal(tether_dce_client_call(a.c, 4, NULL, stub,
							w.pos, &resp, &rl,
							&fault),
				 0);
		assert_int_equal(fault,
				 TETHER_DCE_nca_s_fault_context_mismatch);
	}
	assert_int_equal(lookup(e, &a, 0, NULL, NULL, 0, &h, 1, &r),
			 TETHER_DCE_nca_s_fault_context_mismatch);

	/* the group's last connection going drops its handles */
	assert_int_equal(lookup(e, &b, 0, NULL, NULL, 0, NULL, 1, &r), 0);
	assert_true(e->m.n_handles >= 1);
	cl_close(&a);
	cl_close(&a2);
	cl_close(&b);
	for (i = 0; i < 200 && e->m.n_handles > 0; i++)
		usleep(5000);
	assert_int_equal(e->m.n_handles, 0);
	cl_close(&loc);
	env_free(e);
}

static void
test_malformed_stubs(void **state)
{
	struct env *e = env_new(4);
	struct cl rem = cl_open(e, 0, 0);
	const uint8_t *resp;
	size_t rl;
	uint32_t fault;
	uint8_t junk[40];
	int op;

	(void)state;
	memset(junk, 0xff, sizeof(junk));
	for (op = 2; op <= 4; op++) {
		assert_int_equal(tether_dce_client_call(rem.c, (uint16_t)op,
							NULL, junk, 4, &resp,
							&rl, &fault),
				 0);
		assert_int_equal(fault, TETHER_DCE_nca_s_fault_ndr);
	}
	/* max_ents over 500: range(0,500) */
	memset(junk, 0, sizeof(junk));
	junk[36] = 0xf5;
	junk[37] = 0x01;
	assert_int_equal(tether_dce_client_call(rem.c, 2, NULL, junk, 40, &resp,
						&rl, &fault),
			 0);
	assert_int_equal(fault, TETHER_DCE_nca_s_fault_ndr);
	/* ept_inq_object, ept_mgmt_delete: not offered */
	assert_int_equal(tether_dce_client_call(rem.c, 5, NULL, junk, 40, &resp,
						&rl, &fault),
			 0);
	assert_int_equal(fault, TETHER_DCE_nca_s_op_rng_error);
	cl_close(&rem);
	env_free(e);
}

/* An entry belongs to the uid that inserted it: another user can neither
 * delete nor replace it; root can remove anyone's. The other user is
 * nobody (65534), taken with seteuid around connect(): SO_PEERCRED keeps
 * the credentials of the moment of connecting. */
static void
test_owner(void **state)
{
	struct env *e;
	struct cl root, nobody;
	struct tether_dce_syntax y = syn(IFACE_Y, 1, 0),
				 x = syn(IFACE_X, 1, 0);
	uint32_t fault = 0, base;

	(void)state;
	if (geteuid() != 0)
		skip(); /* needs a second uid: CI runs as root */
	e = env_new(2);
	base = e->m.n_regs;
	root = cl_open(e, 1, 0);
	assert_int_equal(seteuid(65534), 0);
	nobody = cl_open(e, 1, 0);
	assert_int_equal(seteuid(0), 0);

	assert_int_equal(insert(&root, &y, NULL, 7100, "root's", 0, &fault),
			 0);
	assert_int_equal(insert(&nobody, &x, NULL, 7200, "nobody's", 0,
				&fault),
			 0);
	assert_int_equal(e->m.regs_tail->owner, 65534);
	/* nobody cannot delete root's entry: it is "not registered" for
	 * nobody, and it stays */
	assert_int_equal(insert(&nobody, &y, NULL, 7100, NULL, 1, &fault),
			 0x16c9a0d6u);
	assert_int_equal(fault, 0);
	assert_int_equal(e->m.n_regs, base + 2);
	/* nobody deletes its own */
	assert_int_equal(insert(&nobody, &x, NULL, 7200, NULL, 1, &fault), 0);
	assert_int_equal(e->m.n_regs, base + 1);
	/* root deletes what nobody inserted */
	assert_int_equal(insert(&nobody, &x, NULL, 7201, "again", 0, &fault),
			 0);
	assert_int_equal(insert(&root, &x, NULL, 7201, NULL, 1, &fault), 0);
	assert_int_equal(insert(&root, &y, NULL, 7100, NULL, 1, &fault), 0);
	assert_int_equal(e->m.n_regs, base);
	cl_close(&nobody);
	cl_close(&root);
	env_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_register_ports),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_insert_lookup_map),
		cmocka_unit_test(test_lookup_handles),
		cmocka_unit_test(test_owner),
		cmocka_unit_test(test_malformed_stubs),
	};

	tether_log_set_level(TETHER_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
