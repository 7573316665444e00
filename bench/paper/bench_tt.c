/*
 * bench_tt.c - the tether side of bench/paper: tether-rpcgen's stubs
 * and server skeleton for paper.x, on libtether's client and server.
 * Its generated names are renamed at compile time (CMakeLists.txt) so
 * they do not collide with Debian rpcgen's in one executable.
 */
#include "paper.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_paper.h"

int
getrand_1_svc(uint32_t n, randblock *res, struct tether_rpc_server_call *call)
{
	struct tether_arena *a = tether_rpc_server_call_arena(call);

	if (n > PAPER_MAX_BLOCK)
		return -TETHER_EINVAL;
	res->randblock_len = n / 4;
	res->randblock_val = tether_arena_alloc(a, n + 4);
	if (res->randblock_val == NULL)
		return -TETHER_ENOMEM;
	paper_fill_random(res->randblock_val, n / 4);
	return 0;
}

int
papernull_1_svc(struct tether_rpc_server_call *call)
{
	(void)call;
	return 0;
}

void
tt_serve(int report_fd)
{
	struct tether_loop *loop;
	struct tether_rpc_server *srv;
	struct tether_rpc_server_config cfg;
	struct tether_addr a, t, u;
	int ports[2];

	memset(&cfg, 0, sizeof(cfg));
	cfg.no_drc = 1; /* libtirpc's server keeps no reply cache either */
	cfg.max_inflight = 1024;
	if (tether_loop_new(&loop, NULL) != 0 ||
	    tether_rpc_server_new(&srv, loop, &cfg) != 0 ||
	    paperprog_1_register(srv, NULL) != 0 ||
	    tether_addr_parse(&a, "127.0.0.1:0", -1) != 0 ||
	    tether_rpc_server_listen(srv, SOCK_STREAM, &a, &t) != 0 ||
	    tether_rpc_server_listen(srv, SOCK_DGRAM, &a, &u) != 0)
		paper_die("tether server setup");
	ports[0] = tether_addr_port(&t);
	ports[1] = tether_addr_port(&u);
	if (write(report_fd, ports, sizeof(ports)) != (ssize_t)sizeof(ports))
		paper_die("tether server report");
	tether_loop_run(loop);
	paper_die("tether loop returned");
}

struct tt_handle {
	struct tether_rpc_client *c;
	struct tether_arena *arena;
};

void *
tt_open(int port, int udp)
{
	struct tt_handle *h = calloc(1, sizeof(*h));
	struct tether_addr a;
	char s[32];

	snprintf(s, sizeof(s), "127.0.0.1:%d", port);
	if (h == NULL || tether_addr_parse(&a, s, -1) != 0 ||
	    tether_rpc_client_new(&h->c, NULL, &a,
				  udp ? SOCK_DGRAM : SOCK_STREAM, PAPERPROG,
				  PAPERVERS, NULL) != 0)
		paper_die("tether client create");
	h->arena = tether_arena_new(PAPER_MAX_BLOCK + 4096, 0);
	if (h->arena == NULL)
		paper_die("tether arena");
	tt_null(h); /* connects */
	return h;
}

void
tt_close(void *p)
{
	struct tt_handle *h = p;

	tether_rpc_client_free(h->c);
	tether_arena_free(h->arena);
	free(h);
}

void
tt_getrand(void *p, unsigned block)
{
	struct tt_handle *h = p;
	randblock r;

	/* The results' storage is reused call after call, as libtirpc's
	 * caller frees its results after each call. */
	tether_arena_reset(h->arena);
	if (getrand_1(h->c, block, &r, h->arena) != TETHER_RPC_ST_OK ||
	    r.randblock_len != block / 4)
		paper_die("tether GETRAND");
}

void
tt_null(void *p)
{
	struct tt_handle *h = p;

	if (papernull_1(h->c, NULL) != TETHER_RPC_ST_OK)
		paper_die("tether NULL");
}

struct pipe_state {
	struct tt_handle *h;
	unsigned ncalls, sent, done;
};

static void
pipe_done(struct tether_rpc_client *c, const struct tether_rpc_result *r,
	  void *ud)
{
	struct pipe_state *ps = ud;

	(void)c;
	ps->done++;
	if (r->status != TETHER_RPC_ST_OK)
		paper_die("tether pipelined NULL");
	if (ps->sent < ps->ncalls) {
		if (papernull_1_async(ps->h->c, NULL, pipe_done, ps) != 0)
			paper_die("tether pipelined NULL start");
		ps->sent++;
	}
}

void
tt_null_pipelined(void *p, unsigned ncalls, unsigned depth)
{
	struct pipe_state ps = { p, ncalls, 0, 0 };

	while (ps.sent < depth && ps.sent < ncalls) {
		if (papernull_1_async(ps.h->c, NULL, pipe_done, &ps) != 0)
			paper_die("tether pipelined NULL start");
		ps.sent++;
	}
	while (ps.done < ps.sent)
		if (tether_loop_run_once(tether_rpc_client_loop(ps.h->c),
					 1000) < 0)
			paper_die("tether loop");
}
