/*
 * fuzz_rpc_client.c - the client's reply path on an arbitrary TCP byte
 * stream: three calls in flight (XIDs 1, 2, 3: opaque<> results, an
 * array of 32-bit values, void) on a real AF_UNIX connection whose
 * server side writes the input, in chunks, then hangs up. Input: 1 byte
 * of chunking seed, then the stream. It exercises the in-place decoding
 * of records in the receive buffer, the kept partial record, and the
 * record-marking decoder for fragments and large records.
 * Invariants: every call completes exactly once, by the time the
 * connection's end has been read; a successful result is within its
 * bounds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tether/rpc.h"
#include "rpc/rpc_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FC_MAX_RECORD (256u << 10)

static struct tether_loop *loop;
static struct tether_addr addr;
static int lfd = -1;
static char path[108];

static void
fc_cleanup(void)
{
	if (path[0] != 0)
		unlink(path);
}

static void
fc_setup(void)
{
	if (lfd >= 0)
		return;
	snprintf(path, sizeof(path), "/tmp/tether-fuzzclnt-%d.sock",
		 (int)getpid());
	unlink(path);
	if (tether_loop_new(&loop, NULL) != 0 ||
	    tether_addr_parse(&addr, path, -1) != 0)
		abort();
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr.ss, addr.len) != 0 ||
	    listen(lfd, 4) != 0)
		abort();
	atexit(fc_cleanup);
}

struct fc_call {
	int done;
	struct tether_rpc_result r;
};

static void
fc_done(struct tether_rpc_client *c, const struct tether_rpc_result *r,
	void *ud)
{
	struct fc_call *fc = ud;

	(void)c;
	if (fc->done)
		abort(); /* completed twice */
	fc->done = 1;
	fc->r = *r;
}

struct fc_bytes {
	uint8_t *data;
	uint32_t len;
};

static int
fc_bytes_codec(struct tether_xdr *x, void *obj)
{
	struct fc_bytes *b = obj;

	return tether_xdr_bytes(x, &b->data, &b->len, FC_MAX_RECORD);
}

static int
fc_array_codec(struct tether_xdr *x, void *obj)
{
	struct fc_bytes *b = obj;
	uint32_t *v = NULL;
	int rc = tether_xdr_u32_array(x, &v, &b->len, FC_MAX_RECORD / 4);

	b->data = (uint8_t *)v;
	return rc;
}

/* Move the input to the server side in chunks, running the client's
 * loop between them; drain what the client sends. */
static void
fc_pump(int sfd, const uint8_t *p, size_t n, unsigned seed)
{
	unsigned char sink[4096];
	size_t off = 0, k;
	ssize_t w;
	unsigned spins = 0;

	while (off < n && spins < 100000) {
		k = seed == 0 ? n - off : 1 + (seed * 7919u + off) % (seed * 64u);
		if (k > n - off)
			k = n - off;
		w = send(sfd, p + off, k, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w > 0)
			off += (size_t)w;
		else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			break; /* the client hung up (a bad record mark) */
		while (recv(sfd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
			;
		tether_loop_run_once(loop, 0);
		spins++;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tether_rpc_client_config cfg;
	struct tether_rpc_client *c;
	struct tether_arena *arena;
	struct fc_call calls[3];
	struct fc_bytes b1 = { NULL, 0 }, b2 = { NULL, 0 };
	unsigned seed, i;
	int sfd;

	if (size < 1)
		return 0;
	seed = data[0];
	fc_setup();
	memset(&cfg, 0, sizeof(cfg));
	cfg.max_record = FC_MAX_RECORD;
	memset(calls, 0, sizeof(calls));
	arena = tether_arena_new(0, 0);
	if (arena == NULL ||
	    tether_rpc_client_new(&c, loop, &addr, SOCK_STREAM, 0x20000400, 1,
				  &cfg) != 0)
		abort();
	tether__rpc_client_set_xid(c, 1);
	if (tether_rpc_client_call_async(c, 1, NULL, NULL, fc_bytes_codec, &b1,
					 arena, 10000, fc_done,
					 &calls[0]) != 0 ||
	    tether_rpc_client_call_async(c, 2, NULL, NULL, fc_array_codec, &b2,
					 arena, 10000, fc_done,
					 &calls[1]) != 0 ||
	    tether_rpc_client_call_async(c, 3, NULL, NULL, NULL, NULL, NULL,
					 10000, fc_done, &calls[2]) != 0)
		abort();
	/* AF_UNIX connects at once: the connection waits to be taken. */
	sfd = accept(lfd, NULL, NULL);
	if (sfd < 0)
		abort();
	fc_pump(sfd, data + 1, size - 1, seed);
	close(sfd);
	for (i = 0; i < 10000 && tether_rpc_client_pending(c) > 0; i++)
		tether_loop_run_once(loop, 10);
	if (tether_rpc_client_pending(c) > 0)
		abort(); /* the end of the connection must finish them */
	for (i = 0; i < 3; i++)
		if (!calls[i].done)
			abort();
	if (calls[0].r.status == TETHER_RPC_ST_OK &&
	    (b1.len > FC_MAX_RECORD || (b1.len > 0 && b1.data == NULL)))
		abort();
	if (calls[1].r.status == TETHER_RPC_ST_OK &&
	    (b2.len > FC_MAX_RECORD / 4 || (b2.len > 0 && b2.data == NULL)))
		abort();
	tether_rpc_client_free(c);
	tether_arena_free(arena);
	return 0;
}
