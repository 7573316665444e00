/*
 * test_recmark.c - RPC record marking: the incremental decoder fed every
 * possible way (whole, split at every point, byte by byte, random
 * chunks), its limits (checked before any allocation), its errors, and
 * the iovec and buffer encoders.
 */
#include "tether_test.h"

#include <string.h>

#include "tether/rpc.h"

#define MAXREC 8

/* A test stream: the bytes, and the records they must decode into. */
struct stream {
	unsigned char bytes[4096];
	size_t len;
	unsigned char recs[MAXREC][512];
	size_t rec_len[MAXREC];
	size_t rec_frags[MAXREC];
	size_t nrecs;
};

static void
put_frag(struct stream *s, const void *p, size_t n, int last)
{
	uint32_t h = (uint32_t)n | (last ? TETHER_RPC_RM_LAST_FRAG : 0);

	assert_true(s->len + 4 + n <= sizeof(s->bytes));
	s->bytes[s->len++] = (unsigned char)(h >> 24);
	s->bytes[s->len++] = (unsigned char)(h >> 16);
	s->bytes[s->len++] = (unsigned char)(h >> 8);
	s->bytes[s->len++] = (unsigned char)h;
	memcpy(s->bytes + s->len, p, n);
	s->len += n;
}

/* Append a record cut into pieces of the given sizes (0 = empty frag). */
static void
add_record(struct stream *s, const size_t *cuts, size_t ncuts, unsigned seed)
{
	size_t i, total = 0, off = 0;
	unsigned char *r = s->recs[s->nrecs];

	for (i = 0; i < ncuts; i++)
		total += cuts[i];
	assert_true(total <= sizeof(s->recs[0]));
	for (i = 0; i < total; i++)
		r[i] = (unsigned char)(seed * 31 + i * 7);
	for (i = 0; i < ncuts; i++) {
		put_frag(s, r + off, cuts[i], i + 1 == ncuts);
		off += cuts[i];
	}
	s->rec_len[s->nrecs] = total;
	s->rec_frags[s->nrecs] = ncuts;
	s->nrecs++;
}

static void
build_stream(struct stream *s)
{
	static const size_t c1[] = { 40 };
	static const size_t c2[] = { 0 };		/* empty record */
	static const size_t c3[] = { 3, 0, 5, 0, 0, 1 };
	static const size_t c4[] = { 100, 200, 4 };
	static const size_t c5[] = { 0, 0, 7 };
	static const size_t c6[] = { 1, 0 };	/* empty last fragment */

	memset(s, 0, sizeof(*s));
	add_record(s, c1, TETHER_ARRAY_SIZE(c1), 1);
	add_record(s, c2, TETHER_ARRAY_SIZE(c2), 2);
	add_record(s, c3, TETHER_ARRAY_SIZE(c3), 3);
	add_record(s, c4, TETHER_ARRAY_SIZE(c4), 4);
	add_record(s, c5, TETHER_ARRAY_SIZE(c5), 5);
	add_record(s, c6, TETHER_ARRAY_SIZE(c6), 6);
}

/*
 * Feed s->bytes in chunks whose sizes come from next_chunk and check
 * that exactly the expected records come out, in order, and nothing is
 * left half-done.
 */
typedef size_t chunk_fn(size_t pos, size_t left, void *ud);

static void
decode_in_chunks(const struct stream *s, chunk_fn *next_chunk, void *ud)
{
	struct tether_rpc_rm_decoder d;
	size_t pos = 0, got = 0;

	tether_rpc_rm_init(&d, 0, 0);
	while (pos < s->len) {
		size_t n = next_chunk(pos, s->len - pos, ud);
		size_t off = 0;

		assert_true(n > 0 && n <= s->len - pos);
		while (off < n) {
			ssize_t r = tether_rpc_rm_feed(&d, s->bytes + pos + off,
						       n - off);
			const unsigned char *rec;
			size_t rlen;

			assert_true(r >= 0);
			if (r == 0) {
				off = n;
				assert_null(tether_rpc_rm_record(&d, &rlen));
				break;
			}
			off += (size_t)r;
			assert_true(off <= n);
			rec = tether_rpc_rm_record(&d, &rlen);
			assert_non_null(rec);
			assert_true(got < s->nrecs);
			assert_int_equal(rlen, s->rec_len[got]);
			assert_memory_equal(rec, s->recs[got], rlen);
			assert_int_equal(tether_rpc_rm_fragments(&d),
					 s->rec_frags[got]);
			/* Feeding before releasing the record is refused. */
			assert_tether_err(tether_rpc_rm_feed(&d, "x", 1),
					  TETHER_EBUSY);
			tether_rpc_rm_next(&d);
			got++;
		}
		pos += n;
	}
	assert_int_equal(got, s->nrecs);
	assert_int_equal(tether_rpc_rm_get_state(&d), TETHER_RPC_RM_HEADER);
	tether_rpc_rm_free(&d);
}

static size_t
chunk_whole(size_t pos, size_t left, void *ud)
{
	(void)pos;
	(void)ud;
	return left;
}

static size_t
chunk_one(size_t pos, size_t left, void *ud)
{
	(void)pos;
	(void)left;
	(void)ud;
	return 1;
}

static size_t
chunk_split(size_t pos, size_t left, void *ud)
{
	size_t at = *(size_t *)ud;

	if (pos < at)
		return at - pos;
	return left;
}

static size_t
chunk_random(size_t pos, size_t left, void *ud)
{
	unsigned *seed = ud;
	size_t n;

	(void)pos;
	*seed = *seed * 1103515245u + 12345u;
	n = (*seed >> 16) % 23 + 1;
	return n < left ? n : left;
}

static void
test_whole_stream(void **state)
{
	struct stream s;

	(void)state;
	build_stream(&s);
	decode_in_chunks(&s, chunk_whole, NULL);
}

static void
test_byte_at_a_time(void **state)
{
	struct stream s;

	(void)state;
	build_stream(&s);
	decode_in_chunks(&s, chunk_one, NULL);
}

static void
test_every_split_point(void **state)
{
	struct stream s;
	size_t at;

	(void)state;
	build_stream(&s);
	for (at = 1; at < s.len; at++)
		decode_in_chunks(&s, chunk_split, &at);
}

static void
test_random_chunks(void **state)
{
	struct stream s;
	unsigned seed;

	(void)state;
	build_stream(&s);
	for (seed = 1; seed < 200; seed++) {
		unsigned st = seed;

		decode_in_chunks(&s, chunk_random, &st);
	}
}

/* A single record through every split point, records one by one. */
static void
test_each_record_every_split(void **state)
{
	struct stream all, one;
	size_t i, at;

	(void)state;
	build_stream(&all);
	for (i = 0; i < all.nrecs; i++) {
		size_t cuts[1];

		memset(&one, 0, sizeof(one));
		cuts[0] = all.rec_len[i];
		add_record(&one, cuts, 1, (unsigned)i);
		for (at = 1; at < one.len; at++)
			decode_in_chunks(&one, chunk_split, &at);
		decode_in_chunks(&one, chunk_one, NULL);
	}
}

static void
hdr_bytes(unsigned char h[4], uint32_t v)
{
	h[0] = (unsigned char)(v >> 24);
	h[1] = (unsigned char)(v >> 16);
	h[2] = (unsigned char)(v >> 8);
	h[3] = (unsigned char)v;
}

/* An oversized fragment is refused on its header, before allocating. */
static void
test_oversized_fragment(void **state)
{
	static const uint32_t lens[] = { 101, 0x7fffffffu, 0x80000000u | 101,
					 0xffffffffu };
	struct tether_rpc_rm_decoder d;
	unsigned char h[4];
	size_t i, j;

	(void)state;
	for (i = 0; i < TETHER_ARRAY_SIZE(lens); i++) {
		/* At the limit is fine. */
		tether_rpc_rm_init(&d, 100, 1000);
		hdr_bytes(h, TETHER_RPC_RM_LAST_FRAG | 100);
		tether_alloc_fail_at(0, 0);
		assert_int_equal(tether_rpc_rm_feed(&d, h, 4), 0);
		assert_int_equal(tether_alloc_count(), 0);
		tether_rpc_rm_free(&d);

		/* One past it: refused with no allocation, even byte-wise. */
		tether_rpc_rm_init(&d, 100, 1000);
		hdr_bytes(h, lens[i]);
		tether_alloc_fail_at(0, 0);
		for (j = 0; j < 3; j++)
			assert_int_equal(tether_rpc_rm_feed(&d, h + j, 1), 0);
		assert_tether_err(tether_rpc_rm_feed(&d, h + 3, 1),
				  TETHER_EMSGSIZE);
		assert_int_equal(tether_alloc_count(), 0);
		assert_null(d.rec.data);
		assert_int_equal(tether_rpc_rm_get_state(&d),
				 TETHER_RPC_RM_ERROR);
		/* Sticky. */
		assert_tether_err(tether_rpc_rm_feed(&d, h, 4),
				  TETHER_EMSGSIZE);
		tether_rpc_rm_free(&d);
	}
}

/* A record growing past max_record is refused on the header that would
 * pass it; only the earlier fragments were ever stored. */
static void
test_oversized_record(void **state)
{
	struct tether_rpc_rm_decoder d;
	unsigned char buf[4 + 60 + 4 + 41];
	unsigned long allocs;

	(void)state;
	memset(buf, 'a', sizeof(buf));
	hdr_bytes(buf, 60);
	hdr_bytes(buf + 64, TETHER_RPC_RM_LAST_FRAG | 41);
	tether_rpc_rm_init(&d, 100, 100);
	tether_alloc_fail_at(0, 0);
	assert_int_equal(tether_rpc_rm_feed(&d, buf, 64), 0);
	allocs = tether_alloc_count();
	assert_true(allocs >= 1);
	assert_true(d.rec.cap <= 100);
	assert_tether_err(tether_rpc_rm_feed(&d, buf + 64, 4),
			  TETHER_EMSGSIZE);
	assert_int_equal(tether_alloc_count(), allocs);
	tether_rpc_rm_free(&d);

	/* 60 + 40 fits exactly. */
	hdr_bytes(buf + 64, TETHER_RPC_RM_LAST_FRAG | 40);
	tether_rpc_rm_init(&d, 100, 100);
	assert_int_equal(tether_rpc_rm_feed(&d, buf, 64), 0);
	assert_int_equal(tether_rpc_rm_feed(&d, buf + 64, 44), 44);
	assert_int_equal(d.rec.len, 100);
	assert_true(d.rec.cap <= 100);
	tether_rpc_rm_free(&d);
}

/* A peer announcing a big fragment and sending little makes us hold only
 * what arrived, not what was announced. */
static void
test_growth_follows_data(void **state)
{
	struct tether_rpc_rm_decoder d;
	unsigned char h[4];
	unsigned char body[10] = { 0 };

	(void)state;
	tether_rpc_rm_init(&d, 1u << 30, 1u << 30);
	hdr_bytes(h, TETHER_RPC_RM_LAST_FRAG | (1u << 30));
	assert_int_equal(tether_rpc_rm_feed(&d, h, 4), 0);
	assert_int_equal(tether_rpc_rm_feed(&d, body, sizeof(body)), 0);
	assert_true(d.rec.cap < 4096);
	assert_int_equal(tether_rpc_rm_get_state(&d), TETHER_RPC_RM_BODY);
	tether_rpc_rm_free(&d);
}

static void
test_alloc_failure(void **state)
{
	struct stream s;
	unsigned long n;
	int done = 0;

	(void)state;
	build_stream(&s);
	for (n = 1; !done; n++) {
		struct tether_rpc_rm_decoder d;
		size_t pos = 0, got = 0;
		int failed = 0;

		tether_rpc_rm_init(&d, 0, 0);
		tether_alloc_fail_at(n, 0);
		while (pos < s.len) {
			ssize_t r = tether_rpc_rm_feed(&d, s.bytes + pos,
						       s.len - pos);

			if (r < 0) {
				assert_tether_err(r, TETHER_ENOMEM);
				assert_tether_err(tether_rpc_rm_feed(&d, "x", 1),
						  TETHER_ENOMEM);
				failed = 1;
				break;
			}
			assert_true(r > 0);
			pos += (size_t)r;
			tether_rpc_rm_next(&d);
			got++;
		}
		tether_alloc_fail_at(0, 0);
		if (!failed) {
			assert_int_equal(got, s.nrecs);
			done = 1;
		}
		tether_rpc_rm_free(&d);
		assert_true(n < 50);
	}
}

static void
test_take(void **state)
{
	struct tether_rpc_rm_decoder d;
	unsigned char in[4 + 3 + 4 + 2];
	unsigned char *rec;
	size_t len;

	(void)state;
	hdr_bytes(in, TETHER_RPC_RM_LAST_FRAG | 3);
	memcpy(in + 4, "abc", 3);
	hdr_bytes(in + 7, TETHER_RPC_RM_LAST_FRAG | 2);
	memcpy(in + 11, "de", 2);
	tether_rpc_rm_init(&d, 0, 0);
	assert_null(tether_rpc_rm_take(&d, &len));
	assert_int_equal(len, 0);
	assert_int_equal(tether_rpc_rm_feed(&d, in, sizeof(in)), 7);
	rec = tether_rpc_rm_take(&d, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(rec, "abc", 3);
	assert_int_equal(tether_rpc_rm_feed(&d, in + 7, 6), 6);
	assert_non_null(tether_rpc_rm_record(&d, &len));
	assert_int_equal(len, 2);
	/* The taken record is ours: still intact after the decoder moved. */
	assert_memory_equal(rec, "abc", 3);
	tether_free(rec);
	tether_rpc_rm_next(&d);
	assert_null(tether_rpc_rm_record(&d, &len));
	tether_rpc_rm_free(&d);
}

static void
test_state_names(void **state)
{
	(void)state;
	assert_string_equal(tether_rpc_rm_state_name(TETHER_RPC_RM_HEADER),
			    "HEADER");
	assert_string_equal(tether_rpc_rm_state_name(TETHER_RPC_RM_BODY),
			    "BODY");
	assert_string_equal(tether_rpc_rm_state_name(TETHER_RPC_RM_DONE),
			    "DONE");
	assert_string_equal(tether_rpc_rm_state_name(TETHER_RPC_RM_ERROR),
			    "ERROR");
	assert_string_equal(
		tether_rpc_rm_state_name((enum tether_rpc_rm_state)99),
		"UNKNOWN");
}

/* Frame with the encoders at several fragment sizes; decode; compare. */
static void
test_encoders_round_trip(void **state)
{
	static const size_t sizes[] = { 0, 1, 3, 4, 5, 99, 100, 101, 300 };
	static const size_t mfs[] = { 1, 2, 4, 7, 100, 0 };
	unsigned char rec[300];
	size_t i, j, k;

	(void)state;
	for (i = 0; i < sizeof(rec); i++)
		rec[i] = (unsigned char)(i * 13 + 5);
	for (i = 0; i < TETHER_ARRAY_SIZE(sizes); i++) {
		for (j = 0; j < TETHER_ARRAY_SIZE(mfs); j++) {
			size_t len = sizes[i], mf = mfs[j];
			size_t nf = tether_rpc_rm_frag_count(len, mf);
			unsigned char (*hdrs)[4] = calloc(nf, 4);
			struct iovec *iov = calloc(2 * nf, sizeof(*iov));
			struct tether_buf out;
			struct tether_rpc_rm_decoder d;
			size_t cnt, dlen;
			const unsigned char *got;

			assert_non_null(hdrs);
			assert_non_null(iov);
			assert_int_equal(tether_rpc_rm_frame_iov(rec, len, mf,
				hdrs, nf, iov, 2 * nf, &cnt), 0);
			/* Headers alternate with slices of rec: nothing copied. */
			for (k = 0; k < cnt; k++) {
				const unsigned char *b = iov[k].iov_base;

				if (k % 2 == 0) {
					assert_ptr_equal(b, hdrs[k / 2]);
					assert_int_equal(iov[k].iov_len, 4);
				} else {
					assert_true(b >= rec && b + iov[k].iov_len <=
								    rec + len);
				}
			}
			/* Gather the iovecs by hand (what writev would do). */
			{
				unsigned char g[2048];
				size_t glen = 0;

				for (k = 0; k < cnt; k++) {
					memcpy(g + glen, iov[k].iov_base,
					       iov[k].iov_len);
					glen += iov[k].iov_len;
				}
				assert_int_equal(glen, len + 4 * nf);
				memset(&out, 0, sizeof(out));
				out.max = 1 << 20;
				assert_int_equal(tether_rpc_rm_frame_buf(&out,
					rec, len, mf), 0);
				assert_int_equal(out.len, glen);
				assert_memory_equal(out.data, g, glen);
			}
			tether_rpc_rm_init(&d, mf, 0);
			assert_int_equal(tether_rpc_rm_feed(&d, out.data,
							    out.len),
					 (ssize_t)out.len);
			got = tether_rpc_rm_record(&d, &dlen);
			assert_non_null(got);
			assert_int_equal(dlen, len);
			if (len)
				assert_memory_equal(got, rec, len);
			assert_int_equal(tether_rpc_rm_fragments(&d), nf);
			tether_rpc_rm_free(&d);
			tether_free(out.data);
			free(hdrs);
			free(iov);
		}
	}
}

static void
test_encoder_errors(void **state)
{
	unsigned char hdrs[2][4];
	struct iovec iov[4];
	struct tether_buf out;
	unsigned char rec[10] = "0123456789";
	size_t cnt = 99;
	unsigned long n;

	(void)state;
	assert_int_equal(tether_rpc_rm_frag_count(10, 4), 3);
	assert_int_equal(tether_rpc_rm_frag_count(8, 4), 2);
	assert_int_equal(tether_rpc_rm_frag_count(0, 4), 1);
	/* Three fragments do not fit in two headers or four iovecs. */
	assert_tether_err(tether_rpc_rm_frame_iov(rec, 10, 4, hdrs, 2, iov, 4,
						  &cnt), TETHER_ENOSPC);
	assert_int_equal(cnt, 0);
	assert_tether_err(tether_rpc_rm_frame_iov(rec, 10, 0x80000000u, hdrs,
						  2, iov, 4, &cnt),
			  TETHER_EINVAL);
	assert_int_equal(tether_rpc_rm_frame_iov(rec, 8, 4, hdrs, 2, iov, 4,
						 &cnt), 0);
	assert_int_equal(cnt, 4);
	assert_memory_equal(hdrs[0], "\x00\x00\x00\x04", 4);
	assert_memory_equal(hdrs[1], "\x80\x00\x00\x04", 4);

	/* A buffer too small for the framed record stays as it was. */
	memset(&out, 0, sizeof(out));
	out.max = 13;
	assert_tether_err(tether_rpc_rm_frame_buf(&out, rec, 10, 0),
			  TETHER_ENOSPC);
	assert_int_equal(out.len, 0);
	assert_null(out.data);
	out.max = 14;
	assert_int_equal(tether_rpc_rm_frame_buf(&out, rec, 10, 0), 0);
	assert_int_equal(out.len, 14);
	assert_memory_equal(out.data, "\x80\x00\x00\x0a" "0123456789", 14);
	assert_tether_err(tether_rpc_rm_frame_buf(&out, rec, 0, 0),
			  TETHER_ENOSPC);
	assert_int_equal(out.len, 14);
	tether_free(out.data);

	/* Allocation failure leaves the buffer unchanged. */
	for (n = 1;; n++) {
		memset(&out, 0, sizeof(out));
		out.max = 100;
		tether_alloc_fail_at(n, 0);
		if (tether_rpc_rm_frame_buf(&out, rec, 10, 3) == 0) {
			tether_alloc_fail_at(0, 0);
			assert_int_equal(out.len, 10 + 4 * 4);
			tether_free(out.data);
			break;
		}
		tether_alloc_fail_at(0, 0);
		assert_int_equal(out.len, 0);
		assert_null(out.data);
		assert_true(n < 10);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_stream),
		cmocka_unit_test(test_byte_at_a_time),
		cmocka_unit_test(test_every_split_point),
		cmocka_unit_test(test_random_chunks),
		cmocka_unit_test(test_each_record_every_split),
		cmocka_unit_test(test_oversized_fragment),
		cmocka_unit_test(test_oversized_record),
		cmocka_unit_test(test_growth_follows_data),
		cmocka_unit_test(test_alloc_failure),
		cmocka_unit_test(test_take),
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_encoders_round_trip),
		cmocka_unit_test(test_encoder_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
