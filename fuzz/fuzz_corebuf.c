/*
 * fuzz_corebuf.c - drives the bounded buffer, the ring and the arena
 * with a sequence of operations read from the input, checks each result
 * against a plain model (arrays and counters), and checks the stated
 * invariants after every step, with allocation failures injected.
 */
#include "tether/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_MAX_CAP 4096	/* the buffer's max is at most this */
#define RING_MAX 64
#define ARENA_RECS 128
#define MAX_OPS 2000		/* bounds the work per input */

struct input {
	const uint8_t *p;
	size_t n;
};

static unsigned
take(struct input *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

static void
check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_corebuf: check failed: %s\n", what);
		abort();
	}
}

/* ---- bounded buffer against a model ---- */

static unsigned char buf_model[BUF_MAX_CAP];
static size_t buf_mlen;

static void
buf_check(const struct tether_buf *b)
{
	check(b->len == buf_mlen, "buf len matches model");
	check(b->len <= b->max, "buf len <= max");
	check((b->data == NULL) == (b->cap == 0), "buf data NULL iff cap 0");
	if (b->data != NULL) {
		check(b->len < b->cap && b->cap <= b->max + 1, "buf cap");
		check(b->data[b->len] == 0, "buf NUL");
		check(memcmp(b->data, buf_model, b->len) == 0, "buf contents");
	}
}

static void
buf_result(const struct tether_buf *b, int rc, const void *p, size_t n)
{
	if (rc == 0) {
		check(buf_mlen + n <= b->max, "buf success within max");
		memmove(buf_model + buf_mlen, p, n);
		buf_mlen += n;
	} else if (rc == -TETHER_ENOSPC) {
		check(buf_mlen + n > b->max, "ENOSPC only past max");
	} else {
		check(rc == -TETHER_ENOMEM, "buf error is ENOMEM");
	}
}

static void
buf_op(struct tether_buf *b, struct input *in, unsigned op)
{
	unsigned char tmp[300];
	size_t n, off, i;
	int rc;

	switch (op % 5) {
	case 0:	/* append input bytes */
		n = take(in);
		for (i = 0; i < n; i++)
			tmp[i] = (unsigned char)take(in);
		rc = tether_buf_append(b, tmp, n);
		buf_result(b, rc, tmp, n);
		break;
	case 1:	/* printf a number and a run of letters */
		n = take(in) % 40;
		i = (size_t)snprintf((char *)tmp, sizeof(tmp), "%u:%.*s",
				     op, (int)n, "abcdefghijklmnopqrstuvwxyz"
				     "ABCDEFGHIJKLMN");
		rc = tether_buf_printf(b, "%u:%.*s", op, (int)n,
				       "abcdefghijklmnopqrstuvwxyz"
				       "ABCDEFGHIJKLMN");
		buf_result(b, rc, tmp, i);
		break;
	case 2:	/* consume */
		n = take(in) * 4;
		tether_buf_consume(b, n);
		if (n >= buf_mlen)
			n = buf_mlen;
		memmove(buf_model, buf_model + n, buf_mlen - n);
		buf_mlen -= n;
		break;
	case 3:	/* append a piece of itself */
		if (buf_mlen == 0)
			break;
		off = take(in) % buf_mlen;
		n = buf_mlen - off < 255 ? buf_mlen - off : 255;
		n = take(in) % (n + 1);
		memcpy(tmp, buf_model + off, n);
		rc = tether_buf_append(b, b->data + off, n);
		buf_result(b, rc, tmp, n);
		break;
	default:	/* reset, sometimes steal */
		if (op & 0x80) {
			unsigned char *s = tether_buf_steal(b, &n);

			check(n == buf_mlen, "steal length");
			check(s == NULL || s[n] == 0, "steal NUL");
			check(n == 0 || memcmp(s, buf_model, n) == 0,
			      "steal contents");
			tether_free(s);
		} else {
			tether_buf_reset(b);
		}
		buf_mlen = 0;
		break;
	}
	buf_check(b);
}

/* ---- ring against a model queue ---- */

static unsigned char ring_model[RING_MAX];
static size_t ring_mlen;

static void
ring_check(const struct tether_ring *r)
{
	unsigned char out[RING_MAX];
	struct iovec iov[2];
	size_t got = 0;
	int cnt, i;

	check(r->len == ring_mlen, "ring len matches model");
	check(r->len <= r->size && r->head < r->size, "ring bounds");
	check(tether_ring_peek(r, 0, out, sizeof(out)) == ring_mlen,
	      "ring peek all");
	check(memcmp(out, ring_model, ring_mlen) == 0, "ring contents");
	cnt = tether_ring_read_iov(r, iov);
	for (i = 0; i < cnt; i++) {
		check((unsigned char *)iov[i].iov_base >= r->data &&
		      (unsigned char *)iov[i].iov_base + iov[i].iov_len <=
		      r->data + r->size, "read iov inside the ring");
		memcpy(out + got, iov[i].iov_base, iov[i].iov_len);
		got += iov[i].iov_len;
	}
	check(got == ring_mlen && memcmp(out, ring_model, got) == 0,
	      "read iov is the contents");
	cnt = tether_ring_write_iov(r, iov);
	got = 0;
	for (i = 0; i < cnt; i++) {
		check((unsigned char *)iov[i].iov_base >= r->data &&
		      (unsigned char *)iov[i].iov_base + iov[i].iov_len <=
		      r->data + r->size, "write iov inside the ring");
		got += iov[i].iov_len;
	}
	check(got == r->size - r->len, "write iov is the room");
}

static void
ring_op(struct tether_ring *r, struct input *in, unsigned op)
{
	unsigned char tmp[RING_MAX * 2];
	struct iovec iov[2];
	size_t n, off, i, got;
	int cnt;

	n = take(in) % (RING_MAX + 8);
	switch (op % 5) {
	case 0:	/* write */
		for (i = 0; i < n; i++)
			tmp[i] = (unsigned char)take(in);
		got = tether_ring_write(r, tmp, n);
		check(got == (n < r->size - ring_mlen ? n
			      : r->size - ring_mlen), "ring write count");
		memcpy(ring_model + ring_mlen, tmp, got);
		ring_mlen += got;
		break;
	case 1:	/* read */
		got = tether_ring_read(r, tmp, n);
		check(got == (n < ring_mlen ? n : ring_mlen),
		      "ring read count");
		check(memcmp(tmp, ring_model, got) == 0, "ring read bytes");
		memmove(ring_model, ring_model + got, ring_mlen - got);
		ring_mlen -= got;
		break;
	case 2:	/* peek at an offset */
		off = take(in) % (RING_MAX + 2);
		got = tether_ring_peek(r, off, tmp, n);
		if (off >= ring_mlen) {
			check(got == 0, "peek past the end");
		} else {
			check(got == (n < ring_mlen - off ? n
				      : ring_mlen - off), "peek count");
			check(memcmp(tmp, ring_model + off, got) == 0,
			      "peek bytes");
		}
		break;
	case 3:	/* drop */
		tether_ring_drop(r, n);
		if (n > ring_mlen)
			n = ring_mlen;
		memmove(ring_model, ring_model + n, ring_mlen - n);
		ring_mlen -= n;
		break;
	default:	/* receive through the write iov, then commit */
		cnt = tether_ring_write_iov(r, iov);
		if (n > r->size - ring_mlen)
			n = r->size - ring_mlen;
		got = 0;
		for (i = 0; i < (size_t)cnt && got < n; i++) {
			size_t k = iov[i].iov_len < n - got ? iov[i].iov_len
							    : n - got;

			memset(iov[i].iov_base, (int)(op + i), k);
			memset(ring_model + ring_mlen + got, (int)(op + i), k);
			got += k;
		}
		check(got == n, "write iov holds the room");
		tether_ring_commit(r, n);
		ring_mlen += n;
		break;
	}
	ring_check(r);
}

/* ---- arena: allocations never overlap and keep their contents ---- */

struct arec {
	unsigned char *p;
	size_t n;
	unsigned char tag;
};

static struct arec arecs[ARENA_RECS];
static size_t narecs;

static void
arena_verify(void)
{
	size_t i, j;

	for (i = 0; i < narecs; i++)
		for (j = 0; j < arecs[i].n; j++)
			check(arecs[i].p[j] == arecs[i].tag, "arena contents");
}

static void
arena_op(struct tether_arena *a, size_t max_bytes, struct input *in,
	 unsigned op)
{
	size_t n, align, held;
	unsigned char *p;

	switch (op % 4) {
	case 0:
	case 1:	/* allocate: mostly small, sometimes large or aligned */
		if (narecs == ARENA_RECS)
			break;	/* bounds the memory an input can use */
		n = take(in);
		if (op & 0x40)
			n *= 37;
		align = (size_t)1 << (take(in) % 13);
		p = tether_arena_alloc_aligned(a, n, align);
		if (p == NULL)
			break;
		check((uintptr_t)p % align == 0, "arena alignment");
		memset(p, (int)op, n);
		arecs[narecs++] = (struct arec){ p, n, (unsigned char)op };
		break;
	case 2:	/* reset, then the allocations' memory is reused */
		held = tether_arena_held(a);
		tether_arena_reset(a);
		check(tether_arena_used(a) == 0, "used 0 after reset");
		check(tether_arena_held(a) == held, "reset keeps chunks");
		narecs = 0;
		break;
	default:
		arena_verify();
		break;
	}
	check(tether_arena_used(a) <= tether_arena_held(a), "used <= held");
	check(max_bytes == 0 || tether_arena_held(a) <= max_bytes,
	      "held <= max_bytes");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct tether_buf b;
	struct tether_ring r;
	struct tether_arena *a;
	size_t max_bytes, ops = 0;
	unsigned op;

	tether_alloc_fail_at(0, 0);
	tether_buf_init(&b, take(&in) * 16);
	if (tether_ring_init(&r, take(&in) % RING_MAX + 1) != 0)
		abort();
	max_bytes = take(&in) * 64;
	a = tether_arena_new(take(&in) * 8, max_bytes);
	if (a == NULL)
		abort();
	buf_mlen = 0;
	ring_mlen = 0;
	narecs = 0;
	while (in.n > 0 && ops++ < MAX_OPS) {
		op = take(&in);
		switch (op >> 5 & 3) {
		case 0:
			buf_op(&b, &in, op);
			break;
		case 1:
			ring_op(&r, &in, op);
			break;
		case 2:
			arena_op(a, max_bytes, &in, op);
			break;
		default:
			/* fail one of the next few allocations */
			tether_alloc_fail_at(op % 4 + 1, 0);
			break;
		}
	}
	tether_alloc_fail_at(0, 0);
	arena_verify();
	tether_buf_free(&b);
	tether_ring_free(&r);
	tether_arena_free(a);
	return 0;
}
