/*
 * recmark.c - RPC record marking (RFC 5531 section 11): an incremental
 * decoder that reassembles records from arbitrary stream chunks, and
 * encoders that frame a record into fragments.
 *
 * The decoder is a small state machine: HEADER collects the 4 header
 * bytes (they may arrive one at a time), checks the announced length
 * against max_frag and against what is left of max_record *before*
 * anything is reserved, then BODY copies fragment bytes as they come,
 * growing the record buffer only by what actually arrived. When the last
 * fragment's body is complete the state is DONE until the caller takes
 * or releases the record. A zero-length fragment goes straight from
 * HEADER to the next HEADER (or to DONE if it carries the last bit).
 */
#include "tether/rpc.h"

#include <string.h>

#include "rpc/rpc_int.h"

static const char *const rm_state_names[] = {
	[TETHER_RPC_RM_HEADER] = "HEADER",
	[TETHER_RPC_RM_BODY] = "BODY",
	[TETHER_RPC_RM_DONE] = "DONE",
	[TETHER_RPC_RM_ERROR] = "ERROR",
};

const char *
tether_rpc_rm_state_name(enum tether_rpc_rm_state s)
{
	if ((unsigned)s >= TETHER_ARRAY_SIZE(rm_state_names))
		return "UNKNOWN";
	return rm_state_names[s];
}

/* ------------------------------------------------------------------ */
/* Buffer growth (see rpc_int.h for why it lives here)                 */
/* ------------------------------------------------------------------ */

int
tether__rpc_buf_reserve(struct tether_buf *b, size_t extra)
{
	size_t need, ncap;
	unsigned char *nd;

	if (extra > b->max - b->len)
		return -TETHER_ENOSPC;
	need = b->len + extra;
	/* One more byte for the NUL when the maximum allows it. */
	if (need < b->max)
		need++;
	if (need <= b->cap)
		return 0;
	/* Double, so byte-at-a-time appends cost amortised O(1). */
	ncap = b->cap < 64 ? 64 : b->cap;
	while (ncap < need && ncap <= SIZE_MAX / 2)
		ncap *= 2;
	if (ncap < need)
		ncap = need;
	if (ncap > b->max)
		ncap = b->max;
	nd = tether_realloc(b->data, ncap);
	if (nd == NULL)
		return -TETHER_ENOMEM;
	b->data = nd;
	b->cap = ncap;
	if (b->cap > b->len)
		b->data[b->len] = '\0';
	return 0;
}

int
tether__rpc_buf_append(struct tether_buf *b, const void *p, size_t n)
{
	int rc;

	if (n == 0)
		return 0;
	rc = tether__rpc_buf_reserve(b, n);
	if (rc < 0)
		return rc;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	if (b->cap > b->len)
		b->data[b->len] = '\0';
	return 0;
}

/* ------------------------------------------------------------------ */
/* Decoder                                                             */
/* ------------------------------------------------------------------ */

void
tether_rpc_rm_init(struct tether_rpc_rm_decoder *d, size_t max_frag,
		   size_t max_record)
{
	memset(d, 0, sizeof(*d));
	if (max_frag == 0)
		max_frag = TETHER_RPC_RM_DEFAULT_MAX_FRAG;
	if (max_frag > TETHER_RPC_RM_LEN_MASK)
		max_frag = TETHER_RPC_RM_LEN_MASK;
	if (max_record == 0)
		max_record = TETHER_RPC_RM_DEFAULT_MAX_RECORD;
	d->max_frag = max_frag;
	d->max_record = max_record;
	d->rec.max = max_record;
	d->state = TETHER_RPC_RM_HEADER;
}

void
tether_rpc_rm_free(struct tether_rpc_rm_decoder *d)
{
	tether_free(d->rec.data);
	d->rec.data = NULL;
	d->rec.len = 0;
	d->rec.cap = 0;
	d->state = TETHER_RPC_RM_HEADER;
	d->hdr_have = 0;
	d->frag_left = 0;
	d->nfrags = 0;
	d->last = 0;
	d->err = 0;
}

static ssize_t
rm_fail(struct tether_rpc_rm_decoder *d, int err)
{
	d->state = TETHER_RPC_RM_ERROR;
	d->err = err;
	return err;
}

/* A complete header is in d->hdr: check it and move on. */
static int
rm_header_done(struct tether_rpc_rm_decoder *d)
{
	uint32_t h = (uint32_t)d->hdr[0] << 24 | (uint32_t)d->hdr[1] << 16 |
		     (uint32_t)d->hdr[2] << 8 | (uint32_t)d->hdr[3];
	size_t flen = h & TETHER_RPC_RM_LEN_MASK;

	d->hdr_have = 0;
	d->last = (h & TETHER_RPC_RM_LAST_FRAG) != 0;
	/* Both limits are checked before a single byte is reserved. */
	if (flen > d->max_frag || flen > d->max_record - d->rec.len)
		return -TETHER_EMSGSIZE;
	d->nfrags++;
	d->frag_left = flen;
	if (flen > 0)
		d->state = TETHER_RPC_RM_BODY;
	else if (d->last)
		d->state = TETHER_RPC_RM_DONE;
	return 0;
}

ssize_t
tether_rpc_rm_feed(struct tether_rpc_rm_decoder *d, const void *p, size_t n)
{
	const unsigned char *in = p;
	size_t off = 0;
	int rc;

	if (d->state == TETHER_RPC_RM_ERROR)
		return d->err;
	if (d->state == TETHER_RPC_RM_DONE)
		return -TETHER_EBUSY;
	while (off < n) {
		if (d->state == TETHER_RPC_RM_HEADER) {
			d->hdr[d->hdr_have++] = in[off++];
			if (d->hdr_have < TETHER_RPC_RM_HDR_SIZE)
				continue;
			rc = rm_header_done(d);
			if (rc < 0)
				return rm_fail(d, rc);
		} else {
			size_t k = n - off;

			TETHER_BUG_ON(d->state != TETHER_RPC_RM_BODY);
			if (k > d->frag_left)
				k = d->frag_left;
			rc = tether__rpc_buf_append(&d->rec, in + off, k);
			if (rc < 0)
				return rm_fail(d, rc == -TETHER_ENOSPC ?
						       -TETHER_EMSGSIZE : rc);
			off += k;
			d->frag_left -= k;
			if (d->frag_left == 0)
				d->state = d->last ? TETHER_RPC_RM_DONE :
						     TETHER_RPC_RM_HEADER;
		}
		if (d->state == TETHER_RPC_RM_DONE)
			return (ssize_t)off;
	}
	return 0;
}

const unsigned char *
tether_rpc_rm_record(const struct tether_rpc_rm_decoder *d,
		     size_t *len /* OUT */)
{
	static const unsigned char empty[1];

	*len = 0;
	if (d->state != TETHER_RPC_RM_DONE)
		return NULL;
	*len = d->rec.len;
	return d->rec.data != NULL ? d->rec.data : empty;
}

size_t
tether_rpc_rm_fragments(const struct tether_rpc_rm_decoder *d)
{
	return d->nfrags;
}

enum tether_rpc_rm_state
tether_rpc_rm_get_state(const struct tether_rpc_rm_decoder *d)
{
	return d->state;
}

void
tether_rpc_rm_next(struct tether_rpc_rm_decoder *d)
{
	if (d->state != TETHER_RPC_RM_DONE)
		return;
	d->rec.len = 0;
	if (d->rec.cap > 0)
		d->rec.data[0] = '\0';
	d->nfrags = 0;
	d->last = 0;
	d->state = TETHER_RPC_RM_HEADER;
}

unsigned char *
tether_rpc_rm_take(struct tether_rpc_rm_decoder *d, size_t *len /* OUT */)
{
	unsigned char *data;

	*len = 0;
	if (d->state != TETHER_RPC_RM_DONE)
		return NULL;
	data = d->rec.data;
	*len = d->rec.len;
	d->rec.data = NULL;
	d->rec.len = 0;
	d->rec.cap = 0;
	d->nfrags = 0;
	d->last = 0;
	d->state = TETHER_RPC_RM_HEADER;
	return data;
}

/* ------------------------------------------------------------------ */
/* Encoders                                                            */
/* ------------------------------------------------------------------ */

size_t
tether_rpc_rm_frag_count(size_t len, size_t max_frag)
{
	if (max_frag == 0)
		max_frag = TETHER_RPC_RM_DEFAULT_MAX_FRAG;
	if (len == 0)
		return 1;
	return len / max_frag + (len % max_frag != 0);
}

static void
put_hdr(unsigned char h[TETHER_RPC_RM_HDR_SIZE], size_t flen, int last)
{
	uint32_t v = (uint32_t)flen | (last ? TETHER_RPC_RM_LAST_FRAG : 0);

	h[0] = (unsigned char)(v >> 24);
	h[1] = (unsigned char)(v >> 16);
	h[2] = (unsigned char)(v >> 8);
	h[3] = (unsigned char)v;
}

int
tether_rpc_rm_frame_iov(const void *rec, size_t len, size_t max_frag,
			unsigned char (*hdrs)[TETHER_RPC_RM_HDR_SIZE],
			size_t nhdrs, struct iovec *iov, size_t niov,
			size_t *iovcnt /* OUT */)
{
	const unsigned char *src = rec;
	size_t nf, i, off = 0, cnt = 0;

	*iovcnt = 0;
	if (max_frag == 0)
		max_frag = TETHER_RPC_RM_DEFAULT_MAX_FRAG;
	if (max_frag > TETHER_RPC_RM_LEN_MASK)
		return -TETHER_EINVAL;
	nf = tether_rpc_rm_frag_count(len, max_frag);
	if (nhdrs < nf || niov / 2 < nf)
		return -TETHER_ENOSPC;
	for (i = 0; i < nf; i++) {
		size_t k = len - off < max_frag ? len - off : max_frag;

		put_hdr(hdrs[i], k, i + 1 == nf);
		iov[cnt].iov_base = hdrs[i];
		iov[cnt].iov_len = TETHER_RPC_RM_HDR_SIZE;
		cnt++;
		if (k > 0) {
			/* iovec is not const-correct; writev only reads. */
			iov[cnt].iov_base = (void *)(uintptr_t)(src + off);
			iov[cnt].iov_len = k;
			cnt++;
		}
		off += k;
	}
	*iovcnt = cnt;
	return 0;
}

int
tether_rpc_rm_frame_buf(struct tether_buf *out, const void *rec, size_t len,
			size_t max_frag)
{
	const unsigned char *src = rec;
	size_t nf, i, off = 0, total, start = out->len;
	int rc;

	if (max_frag == 0)
		max_frag = TETHER_RPC_RM_DEFAULT_MAX_FRAG;
	if (max_frag > TETHER_RPC_RM_LEN_MASK)
		return -TETHER_EINVAL;
	nf = tether_rpc_rm_frag_count(len, max_frag);
	if (nf > (SIZE_MAX - len) / TETHER_RPC_RM_HDR_SIZE)
		return -TETHER_ENOSPC;
	total = len + nf * TETHER_RPC_RM_HDR_SIZE;
	/* Reserve once, so a failure leaves out unchanged. */
	rc = tether__rpc_buf_reserve(out, total);
	if (rc < 0)
		return rc;
	for (i = 0; i < nf; i++) {
		size_t k = len - off < max_frag ? len - off : max_frag;
		unsigned char h[TETHER_RPC_RM_HDR_SIZE];

		put_hdr(h, k, i + 1 == nf);
		memcpy(out->data + out->len, h, sizeof(h));
		out->len += sizeof(h);
		if (k > 0)
			memcpy(out->data + out->len, src + off, k);
		out->len += k;
		off += k;
	}
	TETHER_BUG_ON(out->len != start + total);
	if (out->cap > out->len)
		out->data[out->len] = '\0';
	return 0;
}
