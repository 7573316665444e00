/*
 * dce_int.h - private helpers of lib/dce: byte-order aware loads and
 * stores, UUID wire form, and a bounded writer with a sticky error that
 * the PDU and tower encoders share.
 */
#ifndef TETHER_DCE_INT_H
#define TETHER_DCE_INT_H

#include <string.h>

#include "tether/dce.h"

static inline uint16_t
tether__dce_ld16(const uint8_t *p, int be)
{
	return be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static inline uint32_t
tether__dce_ld32(const uint8_t *p, int be)
{
	if (be)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		       (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[1] << 8 | p[0];
}

static inline void
tether__dce_st16(uint8_t *p, uint16_t v, int be)
{
	if (be) {
		p[0] = (uint8_t)(v >> 8);
		p[1] = (uint8_t)v;
	} else {
		p[0] = (uint8_t)v;
		p[1] = (uint8_t)(v >> 8);
	}
}

static inline void
tether__dce_st32(uint8_t *p, uint32_t v, int be)
{
	if (be) {
		p[0] = (uint8_t)(v >> 24);
		p[1] = (uint8_t)(v >> 16);
		p[2] = (uint8_t)(v >> 8);
		p[3] = (uint8_t)v;
	} else {
		p[0] = (uint8_t)v;
		p[1] = (uint8_t)(v >> 8);
		p[2] = (uint8_t)(v >> 16);
		p[3] = (uint8_t)(v >> 24);
	}
}

/* A UUID is an NDR struct {u32, u16, u16, u8[8]}: 16 bytes. */
static inline void
tether__dce_ld_uuid(const uint8_t *p, int be, struct tether_dce_uuid *u)
{
	u->time_low = tether__dce_ld32(p, be);
	u->time_mid = tether__dce_ld16(p + 4, be);
	u->time_hi_and_version = tether__dce_ld16(p + 6, be);
	memcpy(u->clock_seq, p + 8, 2);
	memcpy(u->node, p + 10, 6);
}

static inline void
tether__dce_st_uuid(uint8_t *p, const struct tether_dce_uuid *u, int be)
{
	tether__dce_st32(p, u->time_low, be);
	tether__dce_st16(p + 4, u->time_mid, be);
	tether__dce_st16(p + 6, u->time_hi_and_version, be);
	memcpy(p + 8, u->clock_seq, 2);
	memcpy(p + 10, u->node, 6);
}

/* A bounded output cursor; the first overflow sticks in err. */
struct tether__dce_out {
	uint8_t *p;
	size_t cap;
	size_t pos;
	int be;
	int err;
};

static inline uint8_t *
tether__dce_out_take(struct tether__dce_out *o, size_t n)
{
	uint8_t *q;

	if (o->err)
		return NULL;
	if (n > o->cap - o->pos) {
		o->err = -TETHER_ENOSPC;
		return NULL;
	}
	q = o->p + o->pos;
	o->pos += n;
	return q;
}

static inline void
tether__dce_out_u8(struct tether__dce_out *o, uint8_t v)
{
	uint8_t *q = tether__dce_out_take(o, 1);

	if (q != NULL)
		*q = v;
}

static inline void
tether__dce_out_u16(struct tether__dce_out *o, uint16_t v)
{
	uint8_t *q = tether__dce_out_take(o, 2);

	if (q != NULL)
		tether__dce_st16(q, v, o->be);
}

static inline void
tether__dce_out_u32(struct tether__dce_out *o, uint32_t v)
{
	uint8_t *q = tether__dce_out_take(o, 4);

	if (q != NULL)
		tether__dce_st32(q, v, o->be);
}

static inline void
tether__dce_out_bytes(struct tether__dce_out *o, const void *p, size_t n)
{
	uint8_t *q = tether__dce_out_take(o, n);

	if (q != NULL && n > 0)
		memcpy(q, p, n);
}

static inline void
tether__dce_out_zero(struct tether__dce_out *o, size_t n)
{
	uint8_t *q = tether__dce_out_take(o, n);

	if (q != NULL && n > 0)
		memset(q, 0, n);
}

static inline void
tether__dce_out_uuid(struct tether__dce_out *o, const struct tether_dce_uuid *u)
{
	uint8_t *q = tether__dce_out_take(o, 16);

	if (q != NULL)
		tether__dce_st_uuid(q, u, o->be);
}

/* p_syntax_id_t: UUID, then one u32 with the major version low. */
static inline void
tether__dce_out_syntax(struct tether__dce_out *o,
		       const struct tether_dce_syntax *s)
{
	tether__dce_out_uuid(o, &s->uuid);
	tether__dce_out_u32(o, (uint32_t)s->vers_minor << 16 | s->vers_major);
}

static inline void
tether__dce_ld_syntax(const uint8_t *p, int be, struct tether_dce_syntax *s)
{
	uint32_t v;

	tether__dce_ld_uuid(p, be, &s->uuid);
	v = tether__dce_ld32(p + 16, be);
	s->vers_major = (uint16_t)v;
	s->vers_minor = (uint16_t)(v >> 16);
}

#endif /* TETHER_DCE_INT_H */
