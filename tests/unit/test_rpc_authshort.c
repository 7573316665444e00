/*
 * test_rpc_authshort.c - AUTH_SHORT between the tether client and the
 * tether server over TCP and UDP: the handle is handed out and used,
 * the procedure sees the AUTH_SYS identity behind it, a handle the
 * server no longer knows (table dropped, expired, evicted as least
 * recently used) is rejected and the client falls back to AUTH_SYS,
 * and the server's answers to bad handles when asked directly. A
 * handle never outlives the credential it stands for on the client
 * (a late reply after a switch, going back to AUTH_NONE), and table
 * limits too large are refused.
 */
#include "tether_test.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tether/rpc.h"

#define AS_PROG	  0x20000302u
#define AS_WHOAMI 1u /* void -> uid, gid, gids[0], ngids */

struct who {
	uint32_t uid, gid, gid0, ngids;
};

static int
who_codec(struct tether_xdr *x, void *obj)
{
	struct who *w = obj;
	int rc;

	if ((rc = tether_xdr_u32(x, &w->uid)) != 0 ||
	    (rc = tether_xdr_u32(x, &w->gid)) != 0 ||
	    (rc = tether_xdr_u32(x, &w->gid0)) != 0)
		return rc;
	return tether_xdr_u32(x, &w->ngids);
}

/* Flavors of the credentials the procedure ran with, in order. */
static uint32_t flavors[64];
static unsigned nflavors;

static void
as_whoami(struct tether_rpc_server_call *call, void *args, void *ud)
{
	const struct tether_rpc_authsys *sys =
		tether_rpc_server_call_authsys(call);
	struct who w;

	(void)args;
	(void)ud;
	if (nflavors < 64)
		flavors[nflavors++] =
			tether_rpc_server_call_header(call)->cred.flavor;
	if (sys == NULL) {
		tether_rpc_server_reply_auth_error(call,
						   TETHER_RPC_AUTH_TOOWEAK);
		return;
	}
	w.uid = sys->uid;
	w.gid = sys->gid;
	w.gid0 = sys->ngids > 0 ? sys->gids[0] : 0;
	w.ngids = sys->ngids;
	tether_rpc_server_reply(call, &w);
}

static const struct tether_rpc_server_proc as_procs[] = {
	{ AS_WHOAMI, NULL, 0, who_codec, as_whoami },
};

static const struct tether_rpc_server_table as_table = { AS_PROG, 1, as_procs,
							 1, 0 };

struct fx {
	struct tether_loop *loop;
	struct tether_rpc_server *srv;
	struct tether_addr bound;
	int socktype;
};

static void
fx_setup(struct fx *f, int socktype, unsigned max, unsigned ttl_ms)
{
	struct tether_addr a;

	memset(f, 0, sizeof(*f));
	nflavors = 0;
	f->socktype = socktype;
	assert_int_equal(tether_loop_new(&f->loop, NULL), 0);
	assert_int_equal(tether_rpc_server_new(&f->srv, f->loop, NULL), 0);
	assert_int_equal(tether_rpc_server_register(f->srv, &as_table, NULL),
			 0);
	tether_rpc_server_auth_short_limits(f->srv, max, ttl_ms);
	assert_int_equal(tether_rpc_server_auth_short(f->srv, 1), 0);
	assert_int_equal(tether_addr_parse(&a, "127.0.0.1:0", -1), 0);
	assert_int_equal(
		tether_rpc_server_listen(f->srv, socktype, &a, &f->bound), 0);
}

static void
fx_teardown(struct fx *f)
{
	tether_rpc_server_free(f->srv);
	tether_loop_free(f->loop);
}

static struct fx f_any;

static struct tether_rpc_client *
mkclient(struct fx *f, uint32_t uid)
{
	struct tether_rpc_client *c;
	struct tether_rpc_authsys sys;
	uint32_t gids[2] = { 7, 8 };

	assert_int_equal(tether_rpc_client_new(&c, f->loop, &f->bound,
					       f->socktype, AS_PROG, 1, NULL),
			 0);
	assert_int_equal(tether_rpc_authsys_init(&sys, 1, "tether-test", uid,
						 55, 2, gids),
			 0);
	assert_int_equal(tether_rpc_client_set_authsys(c, &sys), 0);
	return c;
}

/* One call; the identity the procedure saw must be uid's. */
static void
whoami(struct tether_rpc_client *c, uint32_t uid)
{
	struct tether_rpc_result r;
	struct who w;

	memset(&w, 0, sizeof(w));
	assert_int_equal(tether_rpc_client_call(c, AS_WHOAMI, NULL, NULL,
						who_codec, &w, NULL, 5000, &r),
			 TETHER_RPC_ST_OK);
	assert_int_equal(w.uid, uid);
	assert_int_equal(w.gid, 55);
	assert_int_equal(w.gid0, 7);
	assert_int_equal(w.ngids, 2);
}

static void
stats(struct fx *f, struct tether_rpc_server_stats *st)
{
	tether_rpc_server_get_stats(f->srv, st);
}

static void
test_handle_used_and_rejected(void **state)
{
	struct tether_rpc_server_stats st;
	struct tether_rpc_client *c;
	struct fx f;
	int socktype;

	(void)state;
	for (socktype = SOCK_STREAM; socktype <= SOCK_DGRAM; socktype++) {
		fx_setup(&f, socktype, 0, 0);
		c = mkclient(&f, 1234);
		whoami(c, 1234); /* AUTH_SYS, the handle comes back */
		whoami(c, 1234); /* AUTH_SHORT */
		whoami(c, 1234);
		assert_int_equal(nflavors, 3);
		assert_int_equal(flavors[0], TETHER_RPC_AUTH_SYS);
		assert_int_equal(flavors[1], TETHER_RPC_AUTH_SHORT);
		assert_int_equal(flavors[2], TETHER_RPC_AUTH_SHORT);
		stats(&f, &st);
		assert_int_equal(st.short_issued, 1);
		assert_int_equal(st.short_accepted, 2);
		assert_int_equal(st.short_rejected, 0);
		assert_int_equal(st.short_entries, 1);

		/* The server forgets every handle: the next call is
		 * rejected, then sent again with AUTH_SYS (the procedure
		 * runs once, with AUTH_SYS), and gets a new handle. */
		assert_int_equal(tether_rpc_server_auth_short(f.srv, 0), 0);
		assert_int_equal(tether_rpc_server_auth_short(f.srv, 1), 0);
		whoami(c, 1234);
		assert_int_equal(nflavors, 4);
		assert_int_equal(flavors[3], TETHER_RPC_AUTH_SYS);
		whoami(c, 1234);
		assert_int_equal(flavors[4], TETHER_RPC_AUTH_SHORT);
		stats(&f, &st);
		assert_int_equal(st.short_rejected, 1);
		assert_int_equal(st.short_issued, 2);

		/* Switched off: AUTH_SHORT is refused, the client falls
		 * back and stays on AUTH_SYS (no handle handed out). */
		assert_int_equal(tether_rpc_server_auth_short(f.srv, 0), 0);
		whoami(c, 1234);
		whoami(c, 1234);
		assert_int_equal(nflavors, 7);
		assert_int_equal(flavors[5], TETHER_RPC_AUTH_SYS);
		assert_int_equal(flavors[6], TETHER_RPC_AUTH_SYS);
		tether_rpc_client_free(c);
		fx_teardown(&f);
	}
}

static void
test_expiry(void **state)
{
	struct tether_rpc_server_stats st;
	struct tether_rpc_client *c;
	struct fx f;
	int i;

	(void)state;
	fx_setup(&f, SOCK_STREAM, 0, 1000);
	c = mkclient(&f, 42);
	whoami(c, 42);
	whoami(c, 42);
	assert_int_equal(flavors[1], TETHER_RPC_AUTH_SHORT);
	/* Unused past its time: expired. */
	for (i = 0; i < 150; i++) {
		usleep(10000);
		tether_loop_run_once(f.loop, 0);
	}
	whoami(c, 42);
	assert_int_equal(nflavors, 3);
	assert_int_equal(flavors[2], TETHER_RPC_AUTH_SYS);
	stats(&f, &st);
	assert_int_equal(st.short_rejected, 1);
	whoami(c, 42);
	assert_int_equal(flavors[3], TETHER_RPC_AUTH_SHORT);
	tether_rpc_client_free(c);
	fx_teardown(&f);
}

static void
test_lru_bound(void **state)
{
	struct tether_rpc_server_stats st;
	struct tether_rpc_client *c[3];
	struct fx f;
	int i;

	(void)state;
	fx_setup(&f, SOCK_DGRAM, 2, 0);
	for (i = 0; i < 3; i++) {
		c[i] = mkclient(&f, 100 + (uint32_t)i);
		whoami(c[i], 100 + (uint32_t)i);
		stats(&f, &st);
		assert_true(st.short_entries <= 2);
	}
	/* Client 0 was the least recently used: evicted by client 2. */
	nflavors = 0;
	whoami(c[2], 102);
	whoami(c[1], 101);
	assert_int_equal(flavors[0], TETHER_RPC_AUTH_SHORT);
	assert_int_equal(flavors[1], TETHER_RPC_AUTH_SHORT);
	whoami(c[0], 100);
	assert_int_equal(nflavors, 3);
	assert_int_equal(flavors[2], TETHER_RPC_AUTH_SYS);
	stats(&f, &st);
	assert_int_equal(st.short_entries, 2);
	assert_int_equal(st.short_rejected, 1);
	for (i = 0; i < 3; i++)
		tether_rpc_client_free(c[i]);
	fx_teardown(&f);
}

/* A client that sends AUTH_SHORT credentials of its own making gets
 * the server's denial as is (no fallback: it holds no handle). */
static void
test_bad_handles(void **state)
{
	static const unsigned char junk[12] = { 0, 0, 0, 0, 1, 2,
						3, 4, 5, 6, 7, 8 };
	struct tether_rpc_opaque_auth a;
	struct tether_rpc_result r;
	struct tether_rpc_client *c;
	struct fx f;
	size_t len;
	int on;

	(void)state;
	for (on = 1; on >= 0; on--) {
		fx_setup(&f, SOCK_STREAM, 0, 0);
		assert_int_equal(tether_rpc_server_auth_short(f.srv, on), 0);
		assert_int_equal(tether_rpc_client_new(&c, f.loop, &f.bound,
						       SOCK_STREAM, AS_PROG, 1,
						       NULL),
				 0);
		for (len = 0; len <= 12; len += 4) {
			assert_int_equal(
				tether_rpc_auth_set(&a, TETHER_RPC_AUTH_SHORT,
						    junk, len),
				0);
			assert_int_equal(tether_rpc_client_set_auth(c, &a), 0);
			assert_int_equal(tether_rpc_client_call(
						 c, AS_WHOAMI, NULL, NULL, NULL,
						 NULL, NULL, 5000, &r),
					 TETHER_RPC_ST_AUTH_ERROR);
			assert_int_equal(r.auth_stat,
					 TETHER_RPC_AUTH_REJECTEDCRED);
		}
		assert_int_equal(nflavors, 0);
		tether_rpc_client_free(c);
		fx_teardown(&f);
	}
}

static void
note_done(struct tether_rpc_client *c, const struct tether_rpc_result *r,
	  void *ud)
{
	(void)c;
	*(int *)ud = (int)r->status + 1;
}

/*
 * A reply to a call made as uid 1000 that arrives after the client
 * switched to uid 2000 carries a handle for uid 1000: it must not
 * become the credential of the new identity's calls.
 */
static void
test_handle_of_old_identity(void **state)
{
	struct tether_rpc_client *c;
	struct tether_rpc_authsys sys;
	uint32_t gids[2] = { 7, 8 };
	struct who w;
	int done = 0, i, type;

	(void)state;
	for (type = 0; type < 2; type++) {
		fx_setup(&f_any, type ? SOCK_DGRAM : SOCK_STREAM, 0, 0);
		c = mkclient(&f_any, 1000);
		done = 0;
		assert_int_equal(tether_rpc_client_call_async(
					 c, AS_WHOAMI, NULL, NULL, who_codec,
					 &w, NULL, 5000, note_done, &done),
				 0);
		assert_int_equal(tether_rpc_authsys_init(&sys, 1, "tether-test",
							 2000, 55, 2, gids),
				 0);
		assert_int_equal(tether_rpc_client_set_authsys(c, &sys), 0);
		for (i = 0; i < 500 && !done; i++)
			tether_loop_run_once(f_any.loop, 10);
		assert_int_equal(done, TETHER_RPC_ST_OK + 1);
		assert_int_equal(w.uid, 1000);
		/* From now on: uid 2000, handle or not. */
		whoami(c, 2000);
		whoami(c, 2000);
		tether_rpc_client_free(c);
		fx_teardown(&f_any);
	}
}

/* Going back to AUTH_NONE drops the handle: no identity goes on. */
static void
test_auth_none_drops_handle(void **state)
{
	struct tether_rpc_result r;
	struct tether_rpc_client *c;
	int type;

	(void)state;
	for (type = 0; type < 2; type++) {
		fx_setup(&f_any, type ? SOCK_DGRAM : SOCK_STREAM, 0, 0);
		c = mkclient(&f_any, 1000);
		whoami(c, 1000);
		whoami(c, 1000); /* with the handle */
		assert_int_equal(flavors[nflavors - 1], TETHER_RPC_AUTH_SHORT);
		assert_int_equal(tether_rpc_client_set_auth(c, NULL), 0);
		assert_int_equal(tether_rpc_client_call(c, AS_WHOAMI, NULL,
							NULL, NULL, NULL, NULL,
							5000, &r),
				 TETHER_RPC_ST_AUTH_ERROR);
		assert_int_equal(r.auth_stat, TETHER_RPC_AUTH_TOOWEAK);
		assert_int_equal(flavors[nflavors - 1], TETHER_RPC_AUTH_NONE);
		tether_rpc_client_free(c);
		fx_teardown(&f_any);
	}
}

/* Limits too large for a table are refused, not looped on. */
static void
test_huge_limits(void **state)
{
	struct tether_loop *loop;
	struct tether_rpc_server *srv;

	(void)state;
	assert_int_equal(tether_loop_new(&loop, NULL), 0);
	assert_int_equal(tether_rpc_server_new(&srv, loop, NULL), 0);
	tether_rpc_server_auth_short_limits(srv, 0x80000001u, 0);
	assert_true(tether_rpc_server_auth_short(srv, 1) < 0);
	tether_rpc_server_auth_short_limits(srv, UINT32_MAX, 0);
	assert_true(tether_rpc_server_auth_short(srv, 1) < 0);
	/* The defaults still work afterwards. */
	tether_rpc_server_auth_short_limits(srv, 0, 0);
	assert_int_equal(tether_rpc_server_auth_short(srv, 1), 0);
	tether_rpc_server_free(srv);
	tether_loop_free(loop);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handle_used_and_rejected),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_lru_bound),
		cmocka_unit_test(test_bad_handles),
		cmocka_unit_test(test_handle_of_old_identity),
		cmocka_unit_test(test_huge_limits),
		cmocka_unit_test(test_auth_none_drops_handle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
