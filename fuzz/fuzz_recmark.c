/*
 * fuzz_recmark.c - the record-marking decoder on arbitrary streams.
 * Input: 3 bytes of parameters (max fragment, max record, chunking seed)
 * then the stream. Invariant: feeding the stream whole, one byte at a
 * time, and in random-sized chunks yields the same records, fragment
 * counts and final outcome; every record re-framed by our encoder
 * decodes back to itself; no record passes max_record.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tether/rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What one decoding run produced, serialised for comparison. */
struct transcript {
	unsigned char *p;
	size_t len, cap;
};

static void
tr_add(struct transcript *t, const void *p, size_t n)
{
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

static void
tr_add_size(struct transcript *t, size_t v)
{
	tr_add(t, &v, sizeof(v));
}

/* Re-frame a record and check it decodes to itself. */
static void
reframe(const unsigned char *rec, size_t len, size_t max_frag,
	size_t max_record)
{
	struct tether_buf out;
	struct tether_rpc_rm_decoder d;
	const unsigned char *got;
	size_t glen;

	memset(&out, 0, sizeof(out));
	out.max = len + 4 * tether_rpc_rm_frag_count(len, max_frag);
	if (tether_rpc_rm_frame_buf(&out, rec, len, max_frag) != 0)
		abort();
	tether_rpc_rm_init(&d, max_frag, max_record);
	if (tether_rpc_rm_feed(&d, out.data, out.len) != (ssize_t)out.len)
		abort();
	got = tether_rpc_rm_record(&d, &glen);
	if (got == NULL || glen != len || (len && memcmp(got, rec, len) != 0))
		abort();
	if (tether_rpc_rm_fragments(&d) != tether_rpc_rm_frag_count(len,
								      max_frag))
		abort();
	tether_rpc_rm_free(&d);
	tether_free(out.data);
}

/*
 * Decode s[0..n) fed in chunks: mode 0 whole, 1 byte by byte, 2 random
 * sizes from seed. Record everything into t.
 */
static void
run(const uint8_t *s, size_t n, size_t max_frag, size_t max_record, int mode,
    unsigned seed, struct transcript *t, int check_reframe)
{
	struct tether_rpc_rm_decoder d;
	size_t pos = 0;
	ssize_t r = 0;

	tether_rpc_rm_init(&d, max_frag, max_record);
	while (pos < n) {
		size_t k = n - pos;

		if (mode == 1) {
			k = 1;
		} else if (mode == 2) {
			seed = seed * 1103515245u + 12345u;
			k = (seed >> 16) % 37 + 1;
			if (k > n - pos)
				k = n - pos;
		}
		r = tether_rpc_rm_feed(&d, s + pos, k);
		if (r < 0)
			break;
		if (r == 0) {
			pos += k;
			continue;
		}
		if ((size_t)r > k)
			abort();
		pos += (size_t)r;
		{
			size_t len;
			const unsigned char *rec = tether_rpc_rm_record(&d, &len);

			if (rec == NULL || len > max_record)
				abort();
			tr_add_size(t, len);
			tr_add(t, rec, len);
			tr_add_size(t, tether_rpc_rm_fragments(&d));
			if (check_reframe)
				reframe(rec, len, max_frag, max_record);
		}
		/* Alternate the two ways of releasing a record. */
		if (pos & 1) {
			size_t len;

			tether_free(tether_rpc_rm_take(&d, &len));
		} else {
			tether_rpc_rm_next(&d);
		}
	}
	tr_add_size(t, (size_t)(r < 0 ? -r : 0));
	tr_add_size(t, (size_t)tether_rpc_rm_get_state(&d));
	if (r < 0 && tether_rpc_rm_feed(&d, "x", 1) != r)
		abort(); /* errors are sticky */
	tether_rpc_rm_free(&d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct transcript whole = { 0 }, bytes = { 0 }, chunks = { 0 };
	size_t max_frag, max_record;
	unsigned seed;

	if (size < 3)
		return 0;
	/* Small limits so that fuzzing reaches them. */
	max_frag = (size_t)data[0] * 4 + 1;
	max_record = (size_t)data[1] * 8 + 1;
	seed = data[2];
	data += 3;
	size -= 3;
	run(data, size, max_frag, max_record, 0, seed, &whole, 1);
	run(data, size, max_frag, max_record, 1, seed, &bytes, 0);
	run(data, size, max_frag, max_record, 2, seed, &chunks, 0);
	if (whole.len != bytes.len || whole.len != chunks.len ||
	    memcmp(whole.p, bytes.p, whole.len) != 0 ||
	    memcmp(whole.p, chunks.p, whole.len) != 0)
		abort();
	free(whole.p);
	free(bytes.p);
	free(chunks.p);
	return 0;
}
