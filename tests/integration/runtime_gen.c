/*
 * runtime_gen.c - programs built from tether-rpcgen's output for
 * runtime_prog.x (types, codecs, client stubs, server skeleton) on the
 * runtime, against libtirpc peers (runtime_interop, built from Debian
 * rpcgen's output) and against each other, over TCP and UDP:
 *   tirpc-client PEER   a server from the generated skeleton, called by
 *                       rpcgen's stubs (PEER tirpc-call) for every
 *                       procedure and the protocol errors;
 *   tether-client PEER  the generated stubs, synchronous and pipelined
 *                       asynchronous, call rpcgen's server (PEER
 *                       tirpc-serve);
 *   tether-tether       generated stubs call the generated server;
 *   serve-rpcbind MS PORT  the generated server on 127.0.0.1:PORT,
 *                       registered by the runtime's keeper (checking
 *                       every MS), until SIGTERM - for
 *                       portmap_runtime.sh against tether-portmap.
 * Exit status 0 when every check passed.
 */
#include "runtime_prog.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			failures++;                                            \
		}                                                              \
	} while (0)

/* The same data and answers as runtime_interop.c, whose checks the
 * libtirpc client runs against this server. */
#define REC_ID	    "tether-interop"
#define REC_BIG	    0x123456789abcdef0ull
#define REC_RATIO   3.25
#define REC_NBLOB   300u
#define REC_NVALUES 50u
#define REC_NPTS    5u
#define LIST_LEN    20

static char blob_data[REC_NBLOB];
static int32_t values_data[REC_NVALUES];

static void
init_data(void)
{
	unsigned i;

	for (i = 0; i < REC_NBLOB; i++)
		blob_data[i] = (char)(i * 7);
	for (i = 0; i < REC_NVALUES; i++)
		values_data[i] = (int32_t)(i * i) - 100;
}

/* ------------------------------------------------------------------ */
/* The server: the generated skeleton's procedures                     */
/* ------------------------------------------------------------------ */

int
tping_1_svc(struct tether_rpc_server_call *_call)
{
	(void)_call;
	return 0;
}

int
tadd_1_svc(struct tpoint p, int32_t *res, struct tether_rpc_server_call *call)
{
	(void)call;
	*res = (int32_t)((uint32_t)p.x + (uint32_t)p.y);
	return 0;
}

int
techo_1_svc(struct trecord r, struct trecord *res,
	    struct tether_rpc_server_call *call)
{
	uint32_t i, n = r.values.values_len;

	(void)call;
	/* r's arrays live in the call's arena until the reply. */
	*res = r;
	res->big++;
	res->ratio *= 2;
	res->c = (tcolor)((r.c + 1) % 3);
	for (i = 0; i < n / 2; i++) {
		int32_t t = r.values.values_val[i];

		r.values.values_val[i] = r.values.values_val[n - 1 - i];
		r.values.values_val[n - 1 - i] = t;
	}
	for (i = 0; i < r.pts.pts_len; i++) {
		int32_t t = r.pts.pts_val[i].x;

		r.pts.pts_val[i].x = r.pts.pts_val[i].y;
		r.pts.pts_val[i].y = t;
	}
	res->flag = !r.flag;
	return 0;
}

int
tsumlist_1_svc(tnodelist l, int32_t *res, struct tether_rpc_server_call *call)
{
	(void)call;
	for (*res = 0; l != NULL; l = l->next)
		*res += l->v;
	return 0;
}

static char found_blob[3] = { 1, 2, 3 };
static int32_t found_values[1] = { 7 };
static struct tpoint found_pts[1] = { { 1, 2 } };

/* 0: a record, 1: an error string, 2: the procedure fails (SYSTEM_ERR),
 * 3: it replies itself, with a result built in the call's arena, and
 * says so; others: the status alone. */
int
tlookup_1_svc(int32_t n, struct tresult *res,
	      struct tether_rpc_server_call *call)
{
	res->status = n;
	if (n == 0) {
		struct trecord *r = &res->tresult_u.rec;

		r->id = "found";
		r->big = 1ull << 40;
		r->ratio = 0.5;
		r->c = TBLUE;
		memcpy(r->tag, "abcd", 4);
		r->blob.blob_len = 3;
		r->blob.blob_val = found_blob;
		r->values.values_len = 1;
		r->values.values_val = found_values;
		r->pts.pts_len = 1;
		r->pts.pts_val = found_pts;
		r->flag = true;
	} else if (n == 1) {
		res->tresult_u.err = "no such entry";
	} else if (n == 2) {
		return -TETHER_EIO;
	} else if (n == 3) {
		struct tresult *mine = tether_arena_alloc(
			tether_rpc_server_call_arena(call), sizeof(*mine));

		if (mine == NULL)
			return -TETHER_ENOMEM;
		memset(mine, 0, sizeof(*mine));
		mine->status = 1;
		mine->tresult_u.err = "replied by the procedure";
		tether_rpc_server_reply(call, mine);
		return TETHER_RPC_SERVER_LATER;
	}
	return 0;
}

/* TSLOW: the procedure keeps the call and a timer of the server's loop
 * (the registration's ud) replies with *res later. */
struct slow_call {
	struct tether_rpc_server_call *call;
	int32_t *res;
};

static void
slow_fire(struct tether_loop *loop, struct tether_loop_timer *t, void *ud)
{
	struct slow_call *sc = ud;

	(void)loop;
	tether_rpc_server_reply(sc->call, sc->res);
	tether_loop_timer_free(t);
	free(sc);
}

int
tslow_1_svc(int32_t ms, int32_t *res, struct tether_rpc_server_call *call)
{
	struct tether_loop *loop = tether_rpc_server_call_ud(call);
	struct tether_loop_timer *t;
	struct slow_call *sc;

	if (ms < 0 || ms > 60000)
		return -TETHER_ERANGE;
	sc = malloc(sizeof(*sc));
	if (sc == NULL || tether_loop_timer_new(loop, slow_fire, sc, &t) != 0) {
		free(sc);
		return -TETHER_ENOMEM;
	}
	*res = ms; /* in the call's arena: valid until the reply */
	sc->call = call;
	sc->res = res;
	tether_loop_timer_arm(t, (uint64_t)ms, 0);
	return TETHER_RPC_SERVER_LATER;
}

static volatile sig_atomic_t child_stop;

static void
on_term(int sig)
{
	(void)sig;
	child_stop = 1;
}

/* Child: serve on 127.0.0.1 TCP and UDP, write both ports to wfd. */
static void
server_child(int wfd)
{
	struct tether_loop *loop;
	struct tether_rpc_server *srv;
	struct tether_addr a, tcp, udp;
	int ports[2];

	signal(SIGTERM, on_term);
	if (tether_loop_new(&loop, NULL) != 0 ||
	    tether_rpc_server_new(&srv, loop, NULL) != 0 ||
	    tprog_1_register(srv, loop) != 0 ||
	    tether_addr_parse(&a, "127.0.0.1:0", -1) != 0 ||
	    tether_rpc_server_listen(srv, SOCK_STREAM, &a, &tcp) != 0 ||
	    tether_rpc_server_listen(srv, SOCK_DGRAM, &a, &udp) != 0)
		_exit(3);
	ports[0] = tether_addr_port(&tcp);
	ports[1] = tether_addr_port(&udp);
	if (write(wfd, ports, sizeof(ports)) != (ssize_t)sizeof(ports))
		_exit(3);
	close(wfd);
	while (!child_stop)
		tether_loop_run_once(loop, 100);
	tether_rpc_server_free(srv);
	tether_loop_free(loop);
	_exit(0);
}

/* serve-rpcbind: the generated server on 127.0.0.1:port TCP and UDP, its
 * registrations held by the runtime's keeper (rpcbind v4 SET through
 * the local socket, checked every CHECK_MS), "tcp PORT" and "udp PORT"
 * on stdout, until SIGTERM (then unregistered). */
static int
serve_rpcbind(unsigned check_ms, int port)
{
	struct tether_loop *loop;
	struct tether_rpc_server *srv;
	struct tether_rpcb_keeper *k;
	struct tether_addr a, tcp, udp;

	signal(SIGTERM, on_term);
	if (tether_loop_new(&loop, NULL) != 0 ||
	    tether_rpc_server_new(&srv, loop, NULL) != 0 ||
	    tprog_1_register(srv, loop) != 0 ||
	    tether_addr_parse(&a, "127.0.0.1", port) != 0 ||
	    tether_rpc_server_listen(srv, SOCK_STREAM, &a, &tcp) != 0 ||
	    tether_rpc_server_listen(srv, SOCK_DGRAM, &a, &udp) != 0 ||
	    tether_rpcb_keeper_new(&k, loop, NULL, check_ms) != 0 ||
	    tether_rpcb_keeper_add(k, TPROG, TVERS, TETHER_NETID_TCP, &tcp) !=
		    0 ||
	    tether_rpcb_keeper_add(k, TPROG, TVERS, TETHER_NETID_UDP, &udp) !=
		    0)
		return 3;
	printf("tcp %d\nudp %d\n", tether_addr_port(&tcp),
	       tether_addr_port(&udp));
	fflush(stdout);
	while (!child_stop)
		tether_loop_run_once(loop, 100);
	tether_rpcb_keeper_free(k, 1);
	tether_rpc_server_free(srv);
	tether_loop_free(loop);
	return 0;
}

/* Fork the generated server; its ports into ports[2]. */
static pid_t
start_server(int ports[2])
{
	int pfd[2], status;
	pid_t pid;

	if (pipe(pfd) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		server_child(pfd[1]);
	}
	close(pfd[1]);
	if (pid > 0 && read(pfd[0], ports, 2 * sizeof(int)) !=
			       (ssize_t)(2 * sizeof(int))) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		pid = -1;
	}
	close(pfd[0]);
	return pid;
}

static void
stop_server(pid_t pid)
{
	int status;

	kill(pid, SIGTERM);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0);
}

/* ------------------------------------------------------------------ */
/* The client: the generated stubs                                     */
/* ------------------------------------------------------------------ */

static struct tpoint rec_pts[REC_NPTS];

static void
fill_record(struct trecord *r)
{
	unsigned i;

	memset(r, 0, sizeof(*r));
	r->id = REC_ID;
	r->big = REC_BIG;
	r->ratio = REC_RATIO;
	r->c = TGREEN;
	memcpy(r->tag, "wxyz", 4);
	r->blob.blob_len = REC_NBLOB;
	r->blob.blob_val = blob_data;
	r->values.values_len = REC_NVALUES;
	r->values.values_val = values_data;
	for (i = 0; i < REC_NPTS; i++) {
		rec_pts[i].x = (int32_t)i;
		rec_pts[i].y = -(int32_t)i;
	}
	r->pts.pts_len = REC_NPTS;
	r->pts.pts_val = rec_pts;
	r->flag = true;
}

static void
check_echoed(const struct trecord *r)
{
	uint32_t i;

	CHECK(r->id != NULL && strcmp(r->id, REC_ID) == 0);
	CHECK(r->big == REC_BIG + 1);
	CHECK(r->ratio == REC_RATIO * 2);
	CHECK(r->c == TBLUE);
	CHECK(memcmp(r->tag, "wxyz", 4) == 0);
	CHECK(r->blob.blob_len == REC_NBLOB &&
	      memcmp(r->blob.blob_val, blob_data, REC_NBLOB) == 0);
	CHECK(r->values.values_len == REC_NVALUES);
	for (i = 0; i < REC_NVALUES && r->values.values_len == REC_NVALUES; i++)
		CHECK(r->values.values_val[i] ==
		      values_data[REC_NVALUES - 1 - i]);
	CHECK(r->pts.pts_len == REC_NPTS);
	for (i = 0; i < REC_NPTS && r->pts.pts_len == REC_NPTS; i++)
		CHECK(r->pts.pts_val[i].x == -(int32_t)i &&
		      r->pts.pts_val[i].y == (int32_t)i);
	CHECK(!r->flag);
}

static void
check_found(const struct tresult *lr)
{
	const struct trecord *r = &lr->tresult_u.rec;

	CHECK(lr->status == 0);
	if (lr->status != 0)
		return;
	CHECK(r->id != NULL && strcmp(r->id, "found") == 0);
	CHECK(r->big == 1ull << 40 && r->ratio == 0.5 && r->c == TBLUE);
	CHECK(memcmp(r->tag, "abcd", 4) == 0);
	CHECK(r->blob.blob_len == 3 && r->blob.blob_val[2] == 3);
	CHECK(r->values.values_len == 1 && r->values.values_val[0] == 7);
	CHECK(r->pts.pts_len == 1 && r->pts.pts_val[0].y == 2);
	CHECK(r->flag);
}

static struct tether_rpc_client *
new_client(const struct tether_addr *a, int type, unsigned timeout_ms)
{
	struct tether_rpc_client_config cfg;
	struct tether_rpc_client *c = NULL;

	memset(&cfg, 0, sizeof(cfg));
	cfg.timeout_ms = timeout_ms;
	CHECK(tether_rpc_client_new(&c, NULL, a, type, TPROG, TVERS, &cfg) ==
	      0);
	return c;
}

/* Every procedure once, synchronously. tether_peer: the server is ours
 * (TLOOKUP 2 and 3 have meanings there). */
static void
sync_calls(struct tether_rpc_client *c, int tether_peer)
{
	struct tether_arena *arena = tether_arena_new(0, 0);
	struct tpoint p = { 40, 2 };
	struct trecord rec, er;
	struct tnode nodes[LIST_LEN];
	struct tresult lr;
	int32_t sum = -1, n;
	int i;

	CHECK(tping_1(c, NULL) == TETHER_RPC_ST_OK);
	CHECK(tadd_1(c, p, &sum, NULL) == TETHER_RPC_ST_OK && sum == 42);
	fill_record(&rec);
	CHECK(techo_1(c, rec, &er, arena) == TETHER_RPC_ST_OK);
	check_echoed(&er);
	for (i = 0; i < LIST_LEN; i++) {
		nodes[i].v = i + 1;
		nodes[i].next = i + 1 < LIST_LEN ? &nodes[i + 1] : NULL;
	}
	CHECK(tsumlist_1(c, &nodes[0], &sum, arena) == TETHER_RPC_ST_OK &&
	      sum == LIST_LEN * (LIST_LEN + 1) / 2);
	CHECK(tsumlist_1(c, NULL, &sum, arena) == TETHER_RPC_ST_OK && sum == 0);
	CHECK(tlookup_1(c, 0, &lr, arena) == TETHER_RPC_ST_OK);
	check_found(&lr);
	CHECK(tlookup_1(c, 1, &lr, arena) == TETHER_RPC_ST_OK &&
	      lr.status == 1 && lr.tresult_u.err != NULL &&
	      strcmp(lr.tresult_u.err, "no such entry") == 0);
	CHECK(tlookup_1(c, 9, &lr, arena) == TETHER_RPC_ST_OK &&
	      lr.status == 9);
	if (tether_peer) {
		CHECK(tlookup_1(c, 2, &lr, arena) == TETHER_RPC_ST_SYSTEM_ERR);
		CHECK(tlookup_1(c, 3, &lr, arena) == TETHER_RPC_ST_OK &&
		      lr.status == 1 &&
		      strcmp(lr.tresult_u.err, "replied by the procedure") ==
			      0);
	}
	n = 50;
	CHECK(tslow_1(c, n, &sum, NULL) == TETHER_RPC_ST_OK && sum == 50);
	/* A string over tname's bound cannot be encoded. */
	rec.id = "a string longer than TMAXNAME, which is sixty-four bytes: "
		 "it does not fit";
	CHECK(techo_1(c, rec, &er, arena) == TETHER_RPC_ST_CANTENCODE_ARGS);
	tether_arena_free(arena);
}

/* Past the client's timeout (200 ms): TIMEDOUT, and the late reply is
 * dropped: the next call gets its own. */
static void
timeout_calls(const struct tether_addr *a, int type)
{
	struct tether_rpc_client *c = new_client(a, type, 200);
	struct tpoint p = { 40, 2 };
	int32_t r = 0;

	if (c == NULL)
		return;
	CHECK(tslow_1(c, 700, &r, NULL) == TETHER_RPC_ST_TIMEDOUT);
	usleep(600000); /* the late reply is in (libtirpc's server was busy) */
	CHECK(tadd_1(c, p, &r, NULL) == TETHER_RPC_ST_OK && r == 42);
	tether_rpc_client_free(c);
}

/* Pipelined: every procedure started at once on one client, then the
 * loop runs until all completed. */
enum { A_PING, A_ADD, A_ECHO, A_SUM, A_LOOKUP, A_SLOW, A_N };

struct async_state {
	int done[A_N];
	enum tether_rpc_status st[A_N];
	int ndone;
};

struct async_slot {
	struct async_state *s;
	int which;
};

static void
async_done(struct tether_rpc_client *c, const struct tether_rpc_result *r,
	   void *ud)
{
	struct async_slot *slot = ud;

	(void)c;
	slot->s->done[slot->which]++;
	slot->s->st[slot->which] = r->status;
	slot->s->ndone++;
}

static void
async_calls(struct tether_rpc_client *c)
{
	struct tether_arena *arena = tether_arena_new(0, 0);
	struct async_state s;
	struct async_slot slots[A_N];
	struct tpoint p = { 40, 2 };
	struct trecord rec, er;
	struct tnode nodes[3] = { { 1, &nodes[1] },
				  { 2, &nodes[2] },
				  { 3, NULL } };
	struct tresult lr;
	int32_t sum_add = -1, sum_list = -1, slow = -1;
	int i;

	memset(&s, 0, sizeof(s));
	for (i = 0; i < A_N; i++) {
		slots[i].s = &s;
		slots[i].which = i;
	}
	fill_record(&rec);
	CHECK(tslow_1_async(c, 30, &slow, NULL, async_done, &slots[A_SLOW]) ==
	      0);
	CHECK(tping_1_async(c, NULL, async_done, &slots[A_PING]) == 0);
	CHECK(tadd_1_async(c, p, &sum_add, NULL, async_done, &slots[A_ADD]) ==
	      0);
	CHECK(techo_1_async(c, rec, &er, arena, async_done, &slots[A_ECHO]) ==
	      0);
	CHECK(tsumlist_1_async(c, &nodes[0], &sum_list, arena, async_done,
			       &slots[A_SUM]) == 0);
	CHECK(tlookup_1_async(c, 0, &lr, arena, async_done, &slots[A_LOOKUP]) ==
	      0);
	CHECK(tether_rpc_client_pending(c) == A_N);
	/* Bounded: every call has its own timeout. */
	for (i = 0; i < 10000 && s.ndone < A_N; i++)
		tether_loop_run_once(tether_rpc_client_loop(c), 100);
	CHECK(s.ndone == A_N);
	for (i = 0; i < A_N; i++)
		CHECK(s.done[i] == 1 && s.st[i] == TETHER_RPC_ST_OK);
	CHECK(sum_add == 42 && sum_list == 6 && slow == 30);
	if (s.st[A_ECHO] == TETHER_RPC_ST_OK)
		check_echoed(&er);
	if (s.st[A_LOOKUP] == TETHER_RPC_ST_OK)
		check_found(&lr);
	/* A call that cannot start says so at once; done never runs. */
	rec.id = NULL;
	CHECK(techo_1_async(c, rec, &er, arena, async_done, &slots[A_ECHO]) <
	      0);
	CHECK(tether_rpc_client_pending(c) == 0);
	tether_arena_free(arena);
}

static void
client_run(int tport, int uport, int tether_peer)
{
	struct tether_rpc_client *c;
	struct tether_addr a;
	int t;

	for (t = 0; t < 2; t++) {
		int type = t ? SOCK_DGRAM : SOCK_STREAM;

		fprintf(stderr, "generated stubs -> %s server over %s\n",
			tether_peer ? "generated" : "libtirpc",
			t ? "UDP" : "TCP");
		CHECK(tether_addr_parse(&a, "127.0.0.1:0", -1) == 0);
		CHECK(tether_addr_set_port(&a, t ? uport : tport) == 0);
		c = new_client(&a, type, 3000);
		if (c == NULL)
			continue;
		sync_calls(c, tether_peer);
		async_calls(c);
		tether_rpc_client_free(c);
		timeout_calls(&a, type);
	}
}

/* ------------------------------------------------------------------ */
/* The three runs                                                      */
/* ------------------------------------------------------------------ */

/* rpcgen's stubs (PEER tirpc-call) against the generated server. */
static int
run_tirpc_client(const char *peer)
{
	int ports[2], status;
	char t[16], u[16];
	pid_t srv = start_server(ports), pid;

	if (srv < 0)
		return 2;
	snprintf(t, sizeof(t), "%d", ports[0]);
	snprintf(u, sizeof(u), "%d", ports[1]);
	pid = fork();
	if (pid == 0) {
		execl(peer, peer, "tirpc-call", t, u, (char *)NULL);
		_exit(127);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0);
	stop_server(srv);
	return failures ? 1 : 0;
}

/* The generated stubs against rpcgen's server (PEER tirpc-serve). */
static int
run_tether_client(const char *peer)
{
	int pfd[2], tport = 0, uport = 0, status;
	FILE *f;
	pid_t pid;

	if (pipe(pfd) != 0)
		return 2;
	pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execl(peer, peer, "tirpc-serve", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	f = fdopen(pfd[0], "r");
	if (f == NULL || fscanf(f, "%d %d", &tport, &uport) != 2) {
		fprintf(stderr, "libtirpc server did not start\n");
		failures++;
	} else {
		client_run(tport, uport, 0);
	}
	if (f != NULL)
		fclose(f);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status)); /* it was still serving */
	return failures ? 1 : 0;
}

static int
run_tether_tether(void)
{
	int ports[2];
	pid_t srv = start_server(ports);

	if (srv < 0)
		return 2;
	client_run(ports[0], ports[1], 1);
	stop_server(srv);
	return failures ? 1 : 0;
}

int
main(int argc, char **argv)
{
	int rc;

	init_data();
	if (argc == 4 && strcmp(argv[1], "serve-rpcbind") == 0)
		return serve_rpcbind((unsigned)strtoul(argv[2], NULL, 10),
				     (int)strtol(argv[3], NULL, 10));
	if (argc == 3 && strcmp(argv[1], "tirpc-client") == 0)
		rc = run_tirpc_client(argv[2]);
	else if (argc == 3 && strcmp(argv[1], "tether-client") == 0)
		rc = run_tether_client(argv[2]);
	else if (argc == 2 && strcmp(argv[1], "tether-tether") == 0)
		rc = run_tether_tether();
	else {
		fprintf(stderr,
			"usage: %s tirpc-client PEER|tether-client PEER|"
			"tether-tether|serve-rpcbind CHECK_MS PORT\n",
			argv[0]);
		return 2;
	}
	fprintf(stderr, "%s: %d failed checks\n", argv[1], failures);
	return rc;
}
