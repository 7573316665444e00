/*
 * test_rpc_pool.c - the server's worker pool: blocking procedures run
 * at the same time on workers while the loop serves others, results
 * built in the call's arena on a worker, overload answered SYSTEM_ERR,
 * a procedure that forgets to answer, UDP, a connection that closes
 * while its call runs on a worker, and shutdown with workers busy and
 * calls queued (joined, nothing leaked: see valgrind.rpc_pool).
 */
#include "tether_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tether/rpc.h"
#include "rpc/svc_int.h"

#define PP_PROG	    0x20000301u
#define PP_SLEEP    1u /* unsigned ms -> most workers seen at once */
#define PP_FAST	    2u /* unsigned n -> n + 1, on the loop's thread */
#define PP_GATE	    3u /* void -> 7, waits for the gate to open */
#define PP_NOANSWER 4u /* void -> returns without answering */
#define PP_GREET    5u /* string -> "hello, " string, built in the arena */

static atomic_uint running, most, entered;
static atomic_int gate_open;
/* PP_SLEEP first waits (up to 10 s) for this many to be running, so
 * that a loaded machine cannot make the overlap a matter of timing. */
static atomic_uint meet;

static void
pp_sleep(struct tether_rpc_server_call *call, void *args, void *ud)
{
	uint32_t ms = *(uint32_t *)args, now, seen;
	unsigned i;

	(void)ud;
	now = atomic_fetch_add(&running, 1) + 1;
	seen = atomic_load(&most);
	while (now > seen && !atomic_compare_exchange_weak(&most, &seen, now))
		;
	for (i = 0; i < 10000 && atomic_load(&running) < atomic_load(&meet);
	     i++)
		usleep(1000);
	usleep(ms * 1000);
	/* The most seen while this one ran (others overlap it). */
	seen = atomic_load(&most);
	atomic_fetch_sub(&running, 1);
	tether_rpc_server_reply(call, &seen);
}

static void
pp_fast(struct tether_rpc_server_call *call, void *args, void *ud)
{
	uint32_t r = *(uint32_t *)args + 1;

	(void)ud;
	tether_rpc_server_reply(call, &r);
}

static void
pp_gate(struct tether_rpc_server_call *call, void *args, void *ud)
{
	uint32_t r = 7;

	(void)args;
	(void)ud;
	atomic_fetch_add(&entered, 1);
	while (!atomic_load(&gate_open))
		usleep(1000);
	tether_rpc_server_reply(call, &r);
}

static void
pp_noanswer(struct tether_rpc_server_call *call, void *args, void *ud)
{
	(void)call;
	(void)args;
	(void)ud;
}

static int
pp_string(struct tether_xdr *x, void *obj)
{
	return tether_xdr_string(x, (char **)obj, 64);
}

static void
pp_greet(struct tether_rpc_server_call *call, void *args, void *ud)
{
	const char *who = *(char **)args;
	struct tether_arena *a = tether_rpc_server_call_arena(call);
	size_t n = strlen(who) + 8;
	char *s = tether_arena_alloc(a, n);

	(void)ud;
	if (s == NULL) {
		tether_rpc_server_reply_error(call, TETHER_RPC_SYSTEM_ERR);
		return;
	}
	snprintf(s, n, "hello, %s", who);
	tether_rpc_server_reply(call, &s);
}

static const struct tether_rpc_server_proc pp_procs[] = {
	{ PP_SLEEP, tether_xdr_codec_u32, sizeof(uint32_t),
	  tether_xdr_codec_u32, pp_sleep },
	{ PP_FAST, tether_xdr_codec_u32, sizeof(uint32_t), tether_xdr_codec_u32,
	  pp_fast },
	{ PP_GATE, NULL, 0, tether_xdr_codec_u32, pp_gate },
	{ PP_NOANSWER, NULL, 0, NULL, pp_noanswer },
	{ PP_GREET, pp_string, sizeof(char *), pp_string, pp_greet },
};

static const struct tether_rpc_server_table pp_table = {
	PP_PROG, 1, pp_procs, sizeof(pp_procs) / sizeof(pp_procs[0]), 0
};

struct fx {
	struct tether_loop *loop;
	struct tether_rpc_server *srv;
	struct tether_rpc_client *c;
	struct tether_addr bound;
};

static void
fx_setup(struct fx *f, int socktype, unsigned threads, unsigned queue)
{
	struct tether_addr a;

	memset(f, 0, sizeof(*f));
	atomic_store(&running, 0);
	atomic_store(&most, 0);
	atomic_store(&entered, 0);
	atomic_store(&gate_open, 0);
	atomic_store(&meet, 0);
	assert_int_equal(tether_loop_new(&f->loop, NULL), 0);
	assert_int_equal(tether_rpc_server_new(&f->srv, f->loop, NULL), 0);
	assert_int_equal(tether_rpc_server_register(f->srv, &pp_table, NULL),
			 0);
	if (threads > 0)
		assert_int_equal(
			tether_rpc_server_pool_start(f->srv, threads, queue),
			0);
	assert_int_equal(
		tether_rpc_server_set_blocking(f->srv, PP_PROG, 1, PP_SLEEP, 1),
		0);
	assert_int_equal(
		tether_rpc_server_set_blocking(f->srv, PP_PROG, 1, PP_GATE, 1),
		0);
	assert_int_equal(tether_rpc_server_set_blocking(f->srv, PP_PROG, 1,
							PP_NOANSWER, 1),
			 0);
	assert_int_equal(
		tether_rpc_server_set_blocking(f->srv, PP_PROG, 1, PP_GREET, 1),
		0);
	assert_int_equal(tether_addr_parse(&a, "127.0.0.1:0", -1), 0);
	assert_int_equal(
		tether_rpc_server_listen(f->srv, socktype, &a, &f->bound), 0);
	assert_int_equal(tether_rpc_client_new(&f->c, f->loop, &f->bound,
					       socktype, PP_PROG, 1, NULL),
			 0);
}

static void
fx_teardown(struct fx *f)
{
	tether_rpc_client_free(f->c);
	tether_rpc_server_free(f->srv);
	tether_loop_free(f->loop);
}

struct done {
	int n;
	struct tether_rpc_result r[16];
	uint32_t res[16];
	int order[16]; /* which call completed n-th */
	int at_fast;   /* completions before the fast call's */
};

struct slot {
	struct done *d;
	int idx;
};

static void
on_done(struct tether_rpc_client *c, const struct tether_rpc_result *r,
	void *ud)
{
	struct slot *s = ud;

	(void)c;
	s->d->r[s->idx] = *r;
	s->d->order[s->d->n++] = s->idx;
}

static void
run_until(struct fx *f, const struct done *d, int n)
{
	int i;

	for (i = 0; i < 3000 && d->n < n; i++)
		tether_loop_run_once(f->loop, 10);
	assert_int_equal(d->n, n);
}

static void
test_blocking_run_concurrently(void **state)
{
	struct fx f;
	struct done d;
	struct slot s[5];
	struct tether_rpc_server_stats st;
	uint32_t ms = 200, n = 41;
	int i;

	(void)state;
	fx_setup(&f, SOCK_STREAM, 4, 64);
	atomic_store(&meet, 4);
	memset(&d, 0, sizeof(d));
	for (i = 0; i < 4; i++) {
		s[i].d = &d;
		s[i].idx = i;
		assert_int_equal(tether_rpc_client_call_async(
					 f.c, PP_SLEEP, tether_xdr_codec_u32,
					 &ms, tether_xdr_codec_u32, &d.res[i],
					 NULL, 10000, on_done, &s[i]),
				 0);
	}
	/* Queued behind them on the same connection, answered by the
	 * loop while the workers sleep. */
	s[4].d = &d;
	s[4].idx = 4;
	assert_int_equal(tether_rpc_client_call_async(
				 f.c, PP_FAST, tether_xdr_codec_u32, &n,
				 tether_xdr_codec_u32, &d.res[4], NULL, 10000,
				 on_done, &s[4]),
			 0);
	run_until(&f, &d, 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(d.r[i].status, TETHER_RPC_ST_OK);
	assert_int_equal(d.res[4], 42);
	assert_int_equal(d.order[0], 4); /* the fast one came back first */
	/* Four workers were inside the procedure at the same time. */
	assert_int_equal(atomic_load(&most), 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(d.res[i], 4);
	tether_rpc_server_get_stats(f.srv, &st);
	assert_int_equal(st.pool_threads, 4);
	assert_int_equal(st.pool_busy_max, 4);
	assert_int_equal(st.pool_busy, 0);
	assert_int_equal(st.pool_overload, 0);
	assert_int_equal(st.calls_pending, 0);
	fx_teardown(&f);
}

static void
test_overload_system_err(void **state)
{
	struct fx f;
	struct done d;
	struct slot s[4];
	struct tether_rpc_server_stats st;
	uint32_t n = 1;
	int i;

	(void)state;
	/* One worker, one place in the queue. */
	fx_setup(&f, SOCK_STREAM, 1, 1);
	memset(&d, 0, sizeof(d));
	for (i = 0; i < 4; i++) {
		s[i].d = &d;
		s[i].idx = i;
	}
	assert_int_equal(tether_rpc_client_call_async(
				 f.c, PP_GATE, NULL, NULL, tether_xdr_codec_u32,
				 &d.res[0], NULL, 10000, on_done, &s[0]),
			 0);
	for (i = 0; i < 1000 && atomic_load(&entered) == 0; i++)
		tether_loop_run_once(f.loop, 10);
	assert_int_equal(atomic_load(&entered), 1);
	/* The worker is busy: the next waits in the queue, the one after
	 * finds it full. */
	assert_int_equal(tether_rpc_client_call_async(
				 f.c, PP_GATE, NULL, NULL, tether_xdr_codec_u32,
				 &d.res[1], NULL, 10000, on_done, &s[1]),
			 0);
	assert_int_equal(tether_rpc_client_call_async(
				 f.c, PP_GATE, NULL, NULL, tether_xdr_codec_u32,
				 &d.res[2], NULL, 10000, on_done, &s[2]),
			 0);
	/* Others are still served. */
	assert_int_equal(tether_rpc_client_call_async(
				 f.c, PP_FAST, tether_xdr_codec_u32, &n,
				 tether_xdr_codec_u32, &d.res[3], NULL, 10000,
				 on_done, &s[3]),
			 0);
	run_until(&f, &d, 2);
	assert_int_equal(d.r[2].status, TETHER_RPC_ST_SYSTEM_ERR);
	assert_int_equal(d.r[3].status, TETHER_RPC_ST_OK);
	assert_int_equal(d.res[3], 2);
	tether_rpc_server_get_stats(f.srv, &st);
	assert_int_equal(st.pool_overload, 1);
	assert_int_equal(st.pool_queued, 1);
	assert_int_equal(st.pool_busy, 1);
	atomic_store(&gate_open, 1);
	run_until(&f, &d, 4);
	assert_int_equal(d.r[0].status, TETHER_RPC_ST_OK);
	assert_int_equal(d.r[1].status, TETHER_RPC_ST_OK);
	assert_int_equal(d.res[0], 7);
	assert_int_equal(d.res[1], 7);
	fx_teardown(&f);
}

static void
test_arena_noanswer_udp(void **state)
{
	struct fx f;
	struct tether_rpc_result r;
	struct tether_arena *arena = tether_arena_new(0, 0);
	const char *who = "worker";
	char *out = NULL;
	int socktype;

	(void)state;
	for (socktype = SOCK_STREAM; socktype <= SOCK_DGRAM; socktype++) {
		/* No pool started: the first blocking call starts one. */
		fx_setup(&f, socktype, 0, 0);
		assert_int_equal(tether_rpc_client_call(
					 f.c, PP_GREET, pp_string, &who,
					 pp_string, &out, arena, 5000, &r),
				 TETHER_RPC_ST_OK);
		assert_string_equal(out, "hello, worker");
		assert_int_equal(tether_rpc_client_call(f.c, PP_NOANSWER, NULL,
							NULL, NULL, NULL, NULL,
							5000, &r),
				 TETHER_RPC_ST_SYSTEM_ERR);
		{
			struct tether_rpc_server_stats st;

			tether_rpc_server_get_stats(f.srv, &st);
			assert_int_equal(
				st.pool_threads,
				TETHER_RPC_SERVER_POOL_DEFAULT_THREADS);
			assert_int_equal(st.calls_pending, 0);
		}
		fx_teardown(&f);
		tether_arena_reset(arena);
	}
	tether_arena_free(arena);
}

static void
test_shutdown_joins(void **state)
{
	struct fx f;
	struct done d;
	struct slot s[6];
	uint32_t ms = 100;
	int i;

	(void)state;
	fx_setup(&f, SOCK_STREAM, 2, 64);
	memset(&d, 0, sizeof(d));
	for (i = 0; i < 6; i++) {
		s[i].d = &d;
		s[i].idx = i;
		assert_int_equal(tether_rpc_client_call_async(
					 f.c, PP_SLEEP, tether_xdr_codec_u32,
					 &ms, tether_xdr_codec_u32, &d.res[i],
					 NULL, 10000, on_done, &s[i]),
				 0);
	}
	/* Two running, four queued: free the server now. */
	for (i = 0; i < 2000 && atomic_load(&running) < 2; i++)
		tether_loop_run_once(f.loop, 5);
	assert_int_equal(atomic_load(&running), 2);
	tether_rpc_server_free(f.srv);
	f.srv = NULL;
	/* Joined: nobody runs any more. */
	assert_int_equal(atomic_load(&running), 0);
	/* The client sees its calls fail (connection gone), none hangs. */
	run_until(&f, &d, 6);
	for (i = 0; i < 6; i++)
		assert_int_not_equal(d.r[i].status, TETHER_RPC_ST_OK);
	tether_rpc_client_free(f.c);
	tether_loop_free(f.loop);
}

static void
test_conn_closed_while_running(void **state)
{
	struct tether_rpc_server_stats st;
	struct fx f;
	struct done d;
	struct slot s0 = { &d, 0 };
	int i;

	(void)state;
	fx_setup(&f, SOCK_STREAM, 2, 4);
	memset(&d, 0, sizeof(d));
	assert_int_equal(tether_rpc_client_call_async(
				 f.c, PP_GATE, NULL, NULL, tether_xdr_codec_u32,
				 &d.res[0], NULL, 10000, on_done, &s0),
			 0);
	for (i = 0; i < 1000 && atomic_load(&entered) == 0; i++)
		tether_loop_run_once(f.loop, 10);
	assert_int_equal(atomic_load(&entered), 1);
	/* The client goes away: the server closes the connection while
	 * the worker still holds the call. */
	tether_rpc_client_free(f.c);
	f.c = NULL;
	for (i = 0; i < 100; i++) {
		tether_loop_run_once(f.loop, 10);
		tether_rpc_server_get_stats(f.srv, &st);
		if (st.conns == 0)
			break;
	}
	assert_int_equal(st.conns, 0);
	assert_int_equal(st.calls_pending, 1);
	/* The reply is made, goes nowhere (the reply cache keeps it), and
	 * the call is released. */
	atomic_store(&gate_open, 1);
	for (i = 0; i < 500; i++) {
		tether_loop_run_once(f.loop, 10);
		tether_rpc_server_get_stats(f.srv, &st);
		if (st.calls_pending == 0)
			break;
	}
	assert_int_equal(st.calls_pending, 0);
	assert_int_equal(st.drc.entries, 1);
	assert_int_equal(st.drc.in_progress, 0);
	fx_teardown(&f);
}

static void
test_api_errors(void **state)
{
	struct tether_loop *loop;
	struct tether_rpc_server *srv;

	(void)state;
	assert_int_equal(tether_loop_new(&loop, NULL), 0);
	assert_int_equal(tether_rpc_server_new(&srv, loop, NULL), 0);
	assert_tether_err(
		tether_rpc_server_set_blocking(srv, PP_PROG, 1, PP_SLEEP, 1),
		TETHER_ENOENT);
	assert_tether_err(tether_rpc_server_pool_start(srv, 1000, 0),
			  TETHER_EINVAL);
	assert_int_equal(tether_rpc_server_pool_start(srv, 1, 1), 0);
	assert_tether_err(tether_rpc_server_pool_start(srv, 1, 1),
			  TETHER_EBUSY);
	assert_int_equal(tether_rpc_server_register(srv, &pp_table, NULL), 0);
	assert_int_equal(
		tether_rpc_server_set_blocking(srv, PP_PROG, 1, PP_SLEEP, 1),
		0);
	assert_int_equal(
		tether_rpc_server_set_blocking(srv, PP_PROG, 1, PP_SLEEP, 0),
		0);
	tether_rpc_server_free(srv);
	tether_loop_free(loop);
	assert_string_equal(tether__rpc_svc_work_name(SVC_WORK_RUNNING),
			    "RUNNING");
	assert_string_equal(tether__rpc_svc_work_name((enum svc_work_state)9),
			    "UNKNOWN");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocking_run_concurrently),
		cmocka_unit_test(test_overload_system_err),
		cmocka_unit_test(test_arena_noanswer_udp),
		cmocka_unit_test(test_shutdown_joins),
		cmocka_unit_test(test_conn_closed_while_running),
		cmocka_unit_test(test_api_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
