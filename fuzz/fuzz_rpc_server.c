/*
 * fuzz_rpc_server.c - the server's request path on an arbitrary TCP
 * byte stream, through a socket-free connection. Input: 2 bytes of
 * parameters (calls in flight, reply cache on/off, AUTH_SHORT on/off,
 * chunking seed), then the stream. Invariants: every record the server
 * writes is a single fragment holding a well-formed REPLY; feeding the
 * stream whole and in small random chunks yields byte-identical output
 * (with AUTH_SHORT on, the same length: handles are random) and the
 * same fate of the connection; no call handle is left behind.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tether/rpc.h"
#include "rpc/rpc_int.h"
#include "../tests/unit/rpc_testprog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct transcript {
	unsigned char *p;
	size_t len, cap;
};

static void
tr_add(struct transcript *t, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (t->len + n > t->cap) {
		size_t ncap = (t->len + n) * 2 + 64;
		unsigned char *np = realloc(t->p, ncap);

		if (np == NULL)
			abort();
		t->p = np;
		t->cap = ncap;
	}
	memcpy(t->p + t->len, p, n);
	t->len += n;
}

/* Move the connection's output into t, checking every record. */
static void
drain(struct tether__rpc_svc_conn *c, struct transcript *t)
{
	const unsigned char *out;
	size_t len, off = 0, rl;
	struct tether_rpc_msg m;
	struct tether_xdr x;

	out = tether__rpc_server_output(c, &len);
	while (off < len) {
		uint32_t hdr;

		if (len - off < 4)
			abort();
		hdr = tether_xdr_load32(out + off);
		rl = hdr & TETHER_RPC_RM_LEN_MASK;
		if (!(hdr & TETHER_RPC_RM_LAST_FRAG) || len - off - 4 < rl)
			abort();
		tether_xdr_init_decode(&x, out + off + 4, rl, 0, NULL);
		if (tether_rpc_msg_decode(&x, &m) != 0 ||
		    m.type != TETHER_RPC_REPLY)
			abort();
		off += 4 + rl;
	}
	tr_add(t, out, len);
	tether__rpc_server_output_clear(c);
}

static void
run(const uint8_t *p, size_t n, unsigned inflight, int no_drc, int ashort,
    unsigned seed, struct transcript *t, int *dead)
{
	struct tether_rpc_server_config cfg;
	struct tether_rpc_server_stats st;
	struct tether_loop *loop;
	struct tether_rpc_server *srv;
	struct tether__rpc_svc_conn *c;
	struct tp_state tps;
	size_t off = 0, k, used;

	memset(&cfg, 0, sizeof(cfg));
	memset(&tps, 0, sizeof(tps));
	cfg.max_record = 4096;
	cfg.max_inflight = inflight;
	cfg.no_drc = no_drc;
	cfg.drc_entries = 16;
	cfg.drc_bytes = 8192;
	if (tether_loop_new(&loop, NULL) != 0 ||
	    tether_rpc_server_new(&srv, loop, &cfg) != 0 ||
	    tp_register(srv, &tps) != 0 ||
	    tether__rpc_server_fake_conn(srv, &c) != 0)
		abort();
	if (ashort) {
		tether_rpc_server_auth_short_limits(srv, 4, 0);
		if (tether_rpc_server_auth_short(srv, 1) != 0)
			abort();
	}
	while (off < n && !tether__rpc_server_conn_dead(c)) {
		k = n - off;
		if (seed != 0) {
			seed = seed * 1103515245u + 12345u;
			if (k > 1 + (seed >> 16) % 23)
				k = 1 + (seed >> 16) % 23;
		}
		used = tether__rpc_server_feed(c, p + off, k);
		off += used;
		drain(c, t);
		if (used < k && !tether__rpc_server_conn_dead(c)) {
			/* Only the in-flight limit may stall a connection
			 * whose output is drained. */
			if (!tp_release_one(&tps))
				abort();
			drain(c, t);
		}
	}
	while (tp_release_one(&tps))
		drain(c, t);
	*dead = tether__rpc_server_conn_dead(c);
	tether_rpc_server_get_stats(srv, &st);
	if (st.calls_pending != 0 || st.drc.in_progress != 0)
		abort();
	tether_rpc_server_free(srv);
	tether_loop_free(loop);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct transcript a = { 0 }, b = { 0 };
	unsigned inflight;
	int no_drc, ashort, dead_a, dead_b;

	if (size < 2 || size > 65536)
		return 0;
	inflight = 1 + (data[0] & 7);
	no_drc = (data[0] >> 3) & 1;
	ashort = (data[0] >> 4) & 1;
	run(data + 2, size - 2, inflight, no_drc, ashort, 0, &a, &dead_a);
	run(data + 2, size - 2, inflight, no_drc, ashort, data[1] | 1u, &b,
	    &dead_b);
	if (a.len != b.len ||
	    (!ashort && a.len && memcmp(a.p, b.p, a.len) != 0) ||
	    dead_a != dead_b)
		abort();
	free(a.p);
	free(b.p);
	return 0;
}
