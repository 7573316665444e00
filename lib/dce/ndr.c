/*
 * ndr.c - the NDR 2.0 subset [C706 ch. 14]: aligned integers in the
 * sender's byte order, UUIDs, context handles, unique/full pointer
 * referent ids, conformant and varying array headers, and 8-bit strings.
 * Every read checks the bytes left and the caller's bound before it
 * moves; nothing here allocates.
 */
#include "dce/dce_int.h"

void
tether_dce_ndr_reader_init(struct tether_dce_ndr_reader *r, const uint8_t *p,
			   size_t len, uint8_t drep0)
{
	r->p = p;
	r->len = len;
	r->pos = 0;
	r->big_endian = !(drep0 & TETHER_DCE_DREP_LE);
}

void
tether_dce_ndr_writer_init(struct tether_dce_ndr_writer *w, uint8_t *p,
			   size_t cap, uint8_t drep0)
{
	w->p = p;
	w->cap = cap;
	w->pos = 0;
	w->big_endian = !(drep0 & TETHER_DCE_DREP_LE);
	w->next_ref = 0x00020000;
	w->ref_step = 4;
}

size_t
tether_dce_ndr_remaining(const struct tether_dce_ndr_reader *r)
{
	return r->len - r->pos;
}

/* Padding needed at pos for align (a power of two up to 8). */
static size_t
pad_for(size_t pos, size_t align)
{
	return (align - (pos & (align - 1))) & (align - 1);
}

static int
valid_align(size_t align)
{
	return align == 1 || align == 2 || align == 4 || align == 8;
}

int
tether_dce_ndr_get_align(struct tether_dce_ndr_reader *r, size_t align)
{
	size_t pad;

	if (!valid_align(align))
		return -TETHER_EINVAL;
	pad = pad_for(r->pos, align);
	if (pad > r->len - r->pos)
		return -TETHER_ETRUNC;
	r->pos += pad;
	return 0;
}

int
tether_dce_ndr_put_align(struct tether_dce_ndr_writer *w, size_t align)
{
	size_t pad;

	if (!valid_align(align))
		return -TETHER_EINVAL;
	pad = pad_for(w->pos, align);
	if (pad > w->cap - w->pos)
		return -TETHER_ENOSPC;
	memset(w->p + w->pos, 0, pad);
	w->pos += pad;
	return 0;
}

/* Where an aligned item of n bytes starts, or NULL if it does not fit;
 * on success the position moves past it. */
static const uint8_t *
get_aligned(struct tether_dce_ndr_reader *r, size_t align, size_t n)
{
	size_t pad = pad_for(r->pos, align);
	const uint8_t *q;

	if (pad > r->len - r->pos || n > r->len - r->pos - pad)
		return NULL;
	q = r->p + r->pos + pad;
	r->pos += pad + n;
	return q;
}

static uint8_t *
put_aligned(struct tether_dce_ndr_writer *w, size_t align, size_t n)
{
	size_t pad = pad_for(w->pos, align);
	uint8_t *q;

	if (pad > w->cap - w->pos || n > w->cap - w->pos - pad)
		return NULL;
	memset(w->p + w->pos, 0, pad);
	q = w->p + w->pos + pad;
	w->pos += pad + n;
	return q;
}

int
tether_dce_ndr_get_u8(struct tether_dce_ndr_reader *r, uint8_t *v)
{
	const uint8_t *q = get_aligned(r, 1, 1);

	if (q == NULL)
		return -TETHER_ETRUNC;
	*v = *q;
	return 0;
}

int
tether_dce_ndr_get_u16(struct tether_dce_ndr_reader *r, uint16_t *v)
{
	const uint8_t *q = get_aligned(r, 2, 2);

	if (q == NULL)
		return -TETHER_ETRUNC;
	*v = tether__dce_ld16(q, r->big_endian);
	return 0;
}

int
tether_dce_ndr_get_u32(struct tether_dce_ndr_reader *r, uint32_t *v)
{
	const uint8_t *q = get_aligned(r, 4, 4);

	if (q == NULL)
		return -TETHER_ETRUNC;
	*v = tether__dce_ld32(q, r->big_endian);
	return 0;
}

int
tether_dce_ndr_get_u64(struct tether_dce_ndr_reader *r, uint64_t *v)
{
	const uint8_t *q = get_aligned(r, 8, 8);
	uint64_t lo, hi;

	if (q == NULL)
		return -TETHER_ETRUNC;
	lo = tether__dce_ld32(q + (r->big_endian ? 4 : 0), r->big_endian);
	hi = tether__dce_ld32(q + (r->big_endian ? 0 : 4), r->big_endian);
	*v = hi << 32 | lo;
	return 0;
}

int
tether_dce_ndr_put_u8(struct tether_dce_ndr_writer *w, uint8_t v)
{
	uint8_t *q = put_aligned(w, 1, 1);

	if (q == NULL)
		return -TETHER_ENOSPC;
	*q = v;
	return 0;
}

int
tether_dce_ndr_put_u16(struct tether_dce_ndr_writer *w, uint16_t v)
{
	uint8_t *q = put_aligned(w, 2, 2);

	if (q == NULL)
		return -TETHER_ENOSPC;
	tether__dce_st16(q, v, w->big_endian);
	return 0;
}

int
tether_dce_ndr_put_u32(struct tether_dce_ndr_writer *w, uint32_t v)
{
	uint8_t *q = put_aligned(w, 4, 4);

	if (q == NULL)
		return -TETHER_ENOSPC;
	tether__dce_st32(q, v, w->big_endian);
	return 0;
}

int
tether_dce_ndr_put_u64(struct tether_dce_ndr_writer *w, uint64_t v)
{
	uint8_t *q = put_aligned(w, 8, 8);
	int be = w->big_endian;

	if (q == NULL)
		return -TETHER_ENOSPC;
	tether__dce_st32(q + (be ? 4 : 0), (uint32_t)v, be);
	tether__dce_st32(q + (be ? 0 : 4), (uint32_t)(v >> 32), be);
	return 0;
}

int
tether_dce_ndr_get_bytes(struct tether_dce_ndr_reader *r, size_t n,
			 const uint8_t **out)
{
	const uint8_t *q = get_aligned(r, 1, n);

	if (q == NULL)
		return -TETHER_ETRUNC;
	*out = q;
	return 0;
}

int
tether_dce_ndr_put_bytes(struct tether_dce_ndr_writer *w, const void *p,
			 size_t n)
{
	uint8_t *q = put_aligned(w, 1, n);

	if (q == NULL)
		return -TETHER_ENOSPC;
	if (n > 0)
		memcpy(q, p, n);
	return 0;
}

int
tether_dce_ndr_get_uuid(struct tether_dce_ndr_reader *r,
			struct tether_dce_uuid *u)
{
	const uint8_t *q = get_aligned(r, 4, 16);

	if (q == NULL)
		return -TETHER_ETRUNC;
	tether__dce_ld_uuid(q, r->big_endian, u);
	return 0;
}

int
tether_dce_ndr_put_uuid(struct tether_dce_ndr_writer *w,
			const struct tether_dce_uuid *u)
{
	uint8_t *q = put_aligned(w, 4, 16);

	if (q == NULL)
		return -TETHER_ENOSPC;
	tether__dce_st_uuid(q, u, w->big_endian);
	return 0;
}

int
tether_dce_ndr_get_ctx_handle(struct tether_dce_ndr_reader *r,
			      struct tether_dce_ctx_handle *h)
{
	const uint8_t *q = get_aligned(r, 4, TETHER_DCE_CTX_HANDLE_LEN);

	if (q == NULL)
		return -TETHER_ETRUNC;
	h->attributes = tether__dce_ld32(q, r->big_endian);
	tether__dce_ld_uuid(q + 4, r->big_endian, &h->uuid);
	return 0;
}

int
tether_dce_ndr_put_ctx_handle(struct tether_dce_ndr_writer *w,
			      const struct tether_dce_ctx_handle *h)
{
	uint8_t *q = put_aligned(w, 4, TETHER_DCE_CTX_HANDLE_LEN);

	if (q == NULL)
		return -TETHER_ENOSPC;
	tether__dce_st32(q, h->attributes, w->big_endian);
	tether__dce_st_uuid(q + 4, &h->uuid, w->big_endian);
	return 0;
}

int
tether_dce_ctx_handle_is_null(const struct tether_dce_ctx_handle *h)
{
	return h->attributes == 0 && tether_dce_uuid_is_nil(&h->uuid);
}

int
tether_dce_ndr_get_ptr(struct tether_dce_ndr_reader *r, uint32_t *referent)
{
	return tether_dce_ndr_get_u32(r, referent);
}

int
tether_dce_ndr_put_ptr(struct tether_dce_ndr_writer *w, int present)
{
	int rc;

	if (!present)
		return tether_dce_ndr_put_u32(w, 0);
	rc = tether_dce_ndr_put_u32(w, w->next_ref);
	if (rc == 0) {
		w->next_ref += w->ref_step;
		if (w->next_ref == 0) /* wrapped: 0 would mean NULL */
			w->next_ref = w->ref_step ? w->ref_step : 1;
	}
	return rc;
}

int
tether_dce_ndr_put_referent(struct tether_dce_ndr_writer *w, uint32_t id)
{
	return tether_dce_ndr_put_u32(w, id);
}

/* Can count elements of elem_size bytes still be in the stub? */
static int
fits(const struct tether_dce_ndr_reader *r, uint32_t count, size_t elem_size)
{
	if (elem_size == 0)
		return 1;
	return count <= (r->len - r->pos) / elem_size;
}

int
tether_dce_ndr_get_conformance(struct tether_dce_ndr_reader *r, uint32_t max,
			       size_t elem_size, uint32_t *max_count)
{
	size_t save = r->pos;
	uint32_t n;
	int rc = tether_dce_ndr_get_u32(r, &n);

	if (rc < 0)
		return rc;
	if (n > max) {
		r->pos = save;
		return -TETHER_EMSGSIZE;
	}
	/* Elements follow later for conformant structs, so only a floor:
	 * they cannot be more than the bytes left. */
	if (!fits(r, n, elem_size)) {
		r->pos = save;
		return -TETHER_ETRUNC;
	}
	*max_count = n;
	return 0;
}

int
tether_dce_ndr_get_variance(struct tether_dce_ndr_reader *r, uint32_t max_count,
			    size_t elem_size, uint32_t *offset,
			    uint32_t *actual)
{
	size_t save = r->pos;
	uint32_t off, n;
	int rc;

	rc = tether_dce_ndr_get_u32(r, &off);
	if (rc == 0)
		rc = tether_dce_ndr_get_u32(r, &n);
	if (rc < 0)
		goto fail;
	if (off > max_count || n > max_count - off) {
		rc = -TETHER_EBADMSG;
		goto fail;
	}
	if (!fits(r, n, elem_size)) {
		rc = -TETHER_ETRUNC;
		goto fail;
	}
	*offset = off;
	*actual = n;
	return 0;
fail:
	r->pos = save;
	return rc;
}

int
tether_dce_ndr_put_conformance(struct tether_dce_ndr_writer *w,
			       uint32_t max_count)
{
	return tether_dce_ndr_put_u32(w, max_count);
}

int
tether_dce_ndr_put_variance(struct tether_dce_ndr_writer *w, uint32_t offset,
			    uint32_t actual)
{
	size_t save = w->pos;
	int rc = tether_dce_ndr_put_u32(w, offset);

	if (rc == 0)
		rc = tether_dce_ndr_put_u32(w, actual);
	if (rc < 0)
		w->pos = save;
	return rc;
}

/* The characters of a string whose variance was just read. */
static int
string_body(struct tether_dce_ndr_reader *r, uint32_t offset, uint32_t actual,
	    const char **s, size_t *len)
{
	const uint8_t *q;

	if (offset != 0 || actual == 0)
		return -TETHER_EBADMSG;
	q = r->p + r->pos; /* fits() already checked actual bytes */
	if (q[actual - 1] != '\0' || memchr(q, '\0', actual - 1) != NULL)
		return -TETHER_EBADMSG;
	r->pos += actual;
	*s = (const char *)q;
	*len = actual - 1;
	return 0;
}

int
tether_dce_ndr_get_vstring(struct tether_dce_ndr_reader *r, uint32_t size,
			   const char **s, size_t *len)
{
	size_t save = r->pos;
	uint32_t off, n;
	int rc;

	rc = tether_dce_ndr_get_variance(r, size, 1, &off, &n);
	if (rc == 0)
		rc = string_body(r, off, n, s, len);
	if (rc < 0)
		r->pos = save;
	return rc;
}

int
tether_dce_ndr_get_string(struct tether_dce_ndr_reader *r, uint32_t max,
			  const char **s, size_t *len)
{
	size_t save = r->pos;
	uint32_t mc;
	int rc;

	/* A conformant varying string: the maximum count, then a varying
	 * string bounded by it. */
	rc = tether_dce_ndr_get_conformance(r, max, 0, &mc);
	if (rc == 0)
		rc = tether_dce_ndr_get_vstring(r, mc, s, len);
	if (rc < 0)
		r->pos = save;
	return rc;
}

/* May s[0..len) go out as a string of at most size - 1 characters? */
static int
string_ok(const char *s, size_t len, size_t size)
{
	return len < size && !(len && s == NULL) &&
	       !(len && memchr(s, '\0', len) != NULL);
}

/* A varying string's header, its characters and the closing NUL. */
static int
put_vchars(struct tether_dce_ndr_writer *w, const char *s, size_t len)
{
	int rc;

	rc = tether_dce_ndr_put_variance(w, 0, (uint32_t)len + 1);
	if (rc == 0)
		rc = tether_dce_ndr_put_bytes(w, s, len);
	if (rc == 0)
		rc = tether_dce_ndr_put_u8(w, 0);
	return rc;
}

int
tether_dce_ndr_put_string(struct tether_dce_ndr_writer *w, const char *s,
			  size_t len)
{
	size_t save = w->pos;
	int rc;

	if (!string_ok(s, len, UINT32_MAX))
		return -TETHER_EINVAL;
	rc = tether_dce_ndr_put_u32(w, (uint32_t)len + 1);
	if (rc == 0)
		rc = put_vchars(w, s, len);
	if (rc < 0)
		w->pos = save;
	return rc;
}

int
tether_dce_ndr_put_vstring(struct tether_dce_ndr_writer *w, const char *s,
			   size_t len, uint32_t size)
{
	size_t save = w->pos;
	int rc;

	if (!string_ok(s, len, size))
		return -TETHER_EINVAL;
	rc = put_vchars(w, s, len);
	if (rc < 0)
		w->pos = save;
	return rc;
}
