/*
 * fuzz_rpcb.c - the portmap/rpcbind argument decoders (every procedure
 * of versions 2, 3 and 4, picked by the first two input bytes) and the
 * result decoders on arbitrary bytes, in a bounded arena. Invariants: a
 * decoded value re-encodes to exactly the bytes it was read from
 * (decoding is strict), tether_xdr_sizeof agrees, and decoding those
 * bytes again gives the same encoding; failures leave a code and never
 * grow the arena past its bound.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tether/rpcb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned char out[1u << 17];
static unsigned char out2[1u << 17];

static void
one(tether_xdr_fn *fn, size_t objsize, struct tether_arena *arena,
    const uint8_t *p, size_t n)
{
	unsigned char obj[512], obj2[512];
	struct tether_xdr x;
	size_t used, sz = 0, n2;
	int rc;

	if (fn == NULL || objsize > sizeof(obj))
		abort();
	memset(obj, 0, sizeof(obj));
	tether_xdr_init_decode(&x, p, n, 0, arena);
	rc = fn(&x, obj);
	if (rc < 0) {
		if (x.err.code != rc)
			abort();
		return;
	}
	used = tether_xdr_getpos(&x);
	if (used > n || (used & 3) != 0)
		abort();
	tether_xdr_init_encode(&x, out, sizeof(out));
	if (fn(&x, obj) != 0)
		abort();
	if (tether_xdr_getpos(&x) != used || memcmp(out, p, used) != 0)
		abort();
	if (tether_xdr_sizeof(fn, obj, &sz) != 0 || sz != used)
		abort();
	memset(obj2, 0, sizeof(obj2));
	tether_xdr_init_decode(&x, out, used, 0, arena);
	if (fn(&x, obj2) != 0 || tether_xdr_getpos(&x) != used)
		abort();
	tether_xdr_init_encode(&x, out2, sizeof(out2));
	if (fn(&x, obj2) != 0)
		abort();
	n2 = tether_xdr_getpos(&x);
	if (n2 != used || memcmp(out2, out, used) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t vers[] = { 2, 3, 4, 4 };
	struct tether_arena *arena;
	tether_xdr_fn *fn;
	size_t objsize = 0;
	uint32_t v, proc;
	int results;

	if (size < 2 || size > 65536)
		return 0;
	v = vers[data[0] & 3];
	results = (data[0] & 4) != 0;
	proc = data[1] % 14;
	arena = tether_arena_new(4096, 256u << 10);
	if (arena == NULL)
		return 0;
	fn = results ? tether_rpcb_res_codec(v, proc, &objsize)
		     : tether_rpcb_args_codec(v, proc, &objsize);
	if (fn != NULL)
		one(fn, objsize, arena, data + 2, size - 2);
	if (tether_arena_used(arena) > (256u << 10))
		abort();
	/* Names never come back NULL. */
	if (tether_rpcb_proc_name(v, proc) == NULL)
		abort();
	tether_arena_free(arena);
	return 0;
}
