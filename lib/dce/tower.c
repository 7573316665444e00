/*
 * tower.c - protocol towers [C706 App. L, App. I]: a little-endian floor
 * count, then floors of (lhs_len, LHS, rhs_len, RHS). Counts and lengths
 * are little-endian whatever the stub's byte order; ports and IPv4
 * addresses are big-endian; UUID floors carry the UUID as NDR
 * little-endian with the major version in the LHS and the minor in the RHS.
 */
#include "dce/dce_int.h"

/* A UUID floor: 0x0d, UUID (16), major (2) | minor (2). */
static int
uuid_floor(const struct tether_dce_floor *fl, struct tether_dce_syntax *s)
{
	if (fl->lhs_len != 19 || fl->rhs_len != 2)
		return -TETHER_EBADMSG;
	tether__dce_ld_uuid(fl->lhs + 1, 0, &s->uuid);
	s->vers_major = tether__dce_ld16(fl->lhs + 17, 0);
	s->vers_minor = tether__dce_ld16(fl->rhs, 0);
	return 0;
}

int
tether_dce_tower_parse(const uint8_t *p, size_t len,
		       struct tether_dce_tower *out)
{
	size_t pos = 2, i;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > TETHER_DCE_TOWER_MAX_LEN)
		return -TETHER_EMSGSIZE;
	if (len < 2)
		return -TETHER_ETRUNC;
	out->n_floors = tether__dce_ld16(p, 0);
	if (out->n_floors == 0 || out->n_floors > TETHER_DCE_TOWER_MAX_FLOORS)
		return -TETHER_EBADMSG;
	for (i = 0; i < out->n_floors; i++) {
		struct tether_dce_floor *fl = &out->floors[i];

		if (len - pos < 2)
			return -TETHER_ETRUNC;
		fl->lhs_len = tether__dce_ld16(p + pos, 0);
		pos += 2;
		if (fl->lhs_len == 0)
			return -TETHER_EBADMSG;
		if (len - pos < (size_t)fl->lhs_len + 2)
			return -TETHER_ETRUNC;
		fl->lhs = p + pos;
		fl->protocol = p[pos];
		pos += fl->lhs_len;
		fl->rhs_len = tether__dce_ld16(p + pos, 0);
		pos += 2;
		if (len - pos < fl->rhs_len)
			return -TETHER_ETRUNC;
		fl->rhs = p + pos;
		pos += fl->rhs_len;
	}
	if (pos != len)
		return -TETHER_EBADMSG;

	/* Floors 1 and 2 name the interface and the transfer syntax. */
	if (out->n_floors < 2 ||
	    out->floors[0].protocol != TETHER_DCE_PROT_UUID ||
	    out->floors[1].protocol != TETHER_DCE_PROT_UUID)
		return -TETHER_EBADMSG;
	rc = uuid_floor(&out->floors[0], &out->iface);
	if (rc == 0)
		rc = uuid_floor(&out->floors[1], &out->xfer);
	if (rc < 0)
		return rc;
	out->has = TETHER_DCE_TOWER_HAS_IFACE | TETHER_DCE_TOWER_HAS_XFER;
	for (i = 2; i < out->n_floors; i++) {
		const struct tether_dce_floor *fl = &out->floors[i];
		unsigned bit = 0;
		size_t rhs = 0;

		switch (fl->protocol) {
		case TETHER_DCE_PROT_NCACN:
			bit = TETHER_DCE_TOWER_HAS_NCACN;
			rhs = 2;
			break;
		case TETHER_DCE_PROT_TCP:
			bit = TETHER_DCE_TOWER_HAS_TCP;
			rhs = 2;
			break;
		case TETHER_DCE_PROT_IP:
			bit = TETHER_DCE_TOWER_HAS_IP;
			rhs = 4;
			break;
		case TETHER_DCE_PROT_UUID:
			/* A third UUID floor has no meaning: malformed. */
			return -TETHER_EBADMSG;
		default:
			continue; /* another protocol: kept, skipped */
		}
		if (fl->lhs_len != 1 || fl->rhs_len != rhs || (out->has & bit))
			return -TETHER_EBADMSG;
		out->has |= bit;
		if (bit == TETHER_DCE_TOWER_HAS_NCACN)
			out->ncacn_minor = tether__dce_ld16(fl->rhs, 0);
		else if (bit == TETHER_DCE_TOWER_HAS_TCP)
			out->port = tether__dce_ld16(fl->rhs, 1);
		else
			memcpy(out->ipv4, fl->rhs, 4);
	}
	return 0;
}

static void
put_uuid_floor(struct tether__dce_out *o, const struct tether_dce_syntax *s)
{
	tether__dce_out_u16(o, 19);
	tether__dce_out_u8(o, TETHER_DCE_PROT_UUID);
	tether__dce_out_uuid(o, &s->uuid);
	tether__dce_out_u16(o, s->vers_major);
	tether__dce_out_u16(o, 2);
	tether__dce_out_u16(o, s->vers_minor);
}

int
tether_dce_tower_build_tcp(const struct tether_dce_syntax *iface,
			   const struct tether_dce_syntax *xfer, uint16_t port,
			   const uint8_t ipv4[4], uint8_t *buf, size_t cap,
			   size_t *len)
{
	struct tether__dce_out o = { buf, cap, 0, 0, 0 };

	tether__dce_out_u16(&o, 5);
	put_uuid_floor(&o, iface);
	put_uuid_floor(&o, xfer);
	tether__dce_out_u16(&o, 1);
	tether__dce_out_u8(&o, TETHER_DCE_PROT_NCACN);
	tether__dce_out_u16(&o, 2);
	tether__dce_out_u16(&o, 0);
	tether__dce_out_u16(&o, 1);
	tether__dce_out_u8(&o, TETHER_DCE_PROT_TCP);
	tether__dce_out_u16(&o, 2);
	o.be = 1;
	tether__dce_out_u16(&o, port);
	o.be = 0;
	tether__dce_out_u16(&o, 1);
	tether__dce_out_u8(&o, TETHER_DCE_PROT_IP);
	tether__dce_out_u16(&o, 4);
	tether__dce_out_bytes(&o, ipv4, 4);
	if (o.err)
		return o.err;
	*len = o.pos;
	return 0;
}
