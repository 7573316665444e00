/*
 * uuid.c - DCE UUIDs in text form, the well-known syntax identifiers
 * (NDR 2.0, NDR64, the endpoint mapper), bind-time feature negotiation
 * detection, and the names tables for PDU types, reasons and statuses.
 */
#include "dce/dce_int.h"

#include <stdio.h>

const struct tether_dce_syntax tether_dce_ndr20 = { { 0x8a885d04,
						      0x1ceb,
						      0x11c9,
						      { 0x9f, 0xe8 },
						      { 0x08, 0x00, 0x2b, 0x10,
							0x48, 0x60 } },
						    2,
						    0 };

const struct tether_dce_syntax tether_dce_ndr64 = { { 0x71710533,
						      0xbeba,
						      0x4937,
						      { 0x83, 0x19 },
						      { 0xb5, 0xdb, 0xef, 0x9c,
							0xcc, 0x36 } },
						    1,
						    0 };

const struct tether_dce_syntax tether_dce_epm_v3 = { { 0xe1af8308,
						       0x5d1f,
						       0x11c9,
						       { 0x91, 0xa4 },
						       { 0x08, 0x00, 0x2b, 0x14,
							 0xa0, 0xfa } },
						     3,
						     0 };

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
tether_dce_uuid_parse(const char *s, struct tether_dce_uuid *out)
{
	uint8_t b[16];
	size_t i, n = 0;

	if (s == NULL || out == NULL)
		return -TETHER_EINVAL;
	for (i = 0; i < 36; i++) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -TETHER_EINVAL;
			continue;
		}
		hi = hexval(s[i]);
		if (hi < 0)
			return -TETHER_EINVAL;
		lo = hexval(s[++i]);
		if (lo < 0)
			return -TETHER_EINVAL;
		b[n++] = (uint8_t)(hi << 4 | lo);
	}
	if (s[36] != '\0')
		return -TETHER_EINVAL;
	/* Text is big-endian field by field. */
	tether__dce_ld_uuid(b, 1, out);
	return 0;
}

char *
tether_dce_uuid_format(const struct tether_dce_uuid *u, char *buf)
{
	snprintf(buf, TETHER_DCE_UUID_STRLEN,
		 "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 (unsigned)u->time_low, (unsigned)u->time_mid,
		 (unsigned)u->time_hi_and_version, u->clock_seq[0],
		 u->clock_seq[1], u->node[0], u->node[1], u->node[2],
		 u->node[3], u->node[4], u->node[5]);
	return buf;
}

int
tether_dce_uuid_equal(const struct tether_dce_uuid *a,
		      const struct tether_dce_uuid *b)
{
	return a->time_low == b->time_low && a->time_mid == b->time_mid &&
	       a->time_hi_and_version == b->time_hi_and_version &&
	       memcmp(a->clock_seq, b->clock_seq, 2) == 0 &&
	       memcmp(a->node, b->node, 6) == 0;
}

int
tether_dce_uuid_is_nil(const struct tether_dce_uuid *u)
{
	static const struct tether_dce_uuid nil;

	return tether_dce_uuid_equal(u, &nil);
}

int
tether_dce_syntax_is_btfn(const struct tether_dce_syntax *s, uint8_t *bits)
{
	/* 6cb71c2c-9812-4540-<8-byte bitmask>, version 1.0 [MS-RPCE 2.2.2.14]
	 */
	if (s->uuid.time_low != 0x6cb71c2c || s->uuid.time_mid != 0x9812 ||
	    s->uuid.time_hi_and_version != 0x4540 || s->vers_major != 1 ||
	    s->vers_minor != 0)
		return 0;
	if (bits != NULL)
		*bits = s->uuid.clock_seq[0];
	return 1;
}

const char *
tether_dce_ptype_name(unsigned ptype)
{
	static const char *const names[] = {
		[TETHER_DCE_PT_REQUEST] = "request",
		[1] = "ping",
		[TETHER_DCE_PT_RESPONSE] = "response",
		[TETHER_DCE_PT_FAULT] = "fault",
		[4] = "working",
		[5] = "nocall",
		[6] = "reject",
		[7] = "ack",
		[8] = "cl_cancel",
		[9] = "fack",
		[10] = "cancel_ack",
		[TETHER_DCE_PT_BIND] = "bind",
		[TETHER_DCE_PT_BIND_ACK] = "bind_ack",
		[TETHER_DCE_PT_BIND_NAK] = "bind_nak",
		[TETHER_DCE_PT_ALTER_CONTEXT] = "alter_context",
		[TETHER_DCE_PT_ALTER_CONTEXT_RESP] = "alter_context_resp",
		[TETHER_DCE_PT_AUTH3] = "rpc_auth_3",
		[TETHER_DCE_PT_SHUTDOWN] = "shutdown",
		[TETHER_DCE_PT_CO_CANCEL] = "co_cancel",
		[TETHER_DCE_PT_ORPHANED] = "orphaned",
	};

	if (ptype < TETHER_ARRAY_SIZE(names) && names[ptype] != NULL)
		return names[ptype];
	return "unknown";
}

const char *
tether_dce_nak_reason_name(unsigned reason)
{
	static const char *const names[] = {
		"reason_not_specified",
		"temporary_congestion",
		"local_limit_exceeded",
		"called_paddr_unknown",
		"protocol_version_not_supported",
		"default_context_not_supported",
		"user_data_not_readable",
		"no_psap_available",
		"authentication_type_not_recognized",
		"invalid_checksum",
	};

	if (reason < TETHER_ARRAY_SIZE(names))
		return names[reason];
	return "unknown";
}

const char *
tether_dce_ctx_result_name(unsigned result)
{
	static const char *const names[] = {
		"acceptance",
		"user_rejection",
		"provider_rejection",
		"negotiate_ack",
	};

	if (result < TETHER_ARRAY_SIZE(names))
		return names[result];
	return "unknown";
}

const char *
tether_dce_provider_reason_name(unsigned reason)
{
	static const char *const names[] = {
		"reason_not_specified",
		"abstract_syntax_not_supported",
		"proposed_transfer_syntaxes_not_supported",
		"local_limit_exceeded",
	};

	if (reason < TETHER_ARRAY_SIZE(names))
		return names[reason];
	return "unknown";
}

const char *
tether_dce_status_name(uint32_t status)
{
	switch (status) {
	case 0:
		return "success";
#define TETHER__DCE_ST_CASE(name, val) \
	case (val):                    \
		return #name;
		TETHER_DCE_STATUS_MAP(TETHER__DCE_ST_CASE)
#undef TETHER__DCE_ST_CASE
	default:
		return "unknown";
	}
}
