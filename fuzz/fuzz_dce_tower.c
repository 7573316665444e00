/*
 * fuzz_dce_tower.c - the protocol tower parser. Invariants: a parsed
 * tower's floors cover the input exactly, serialising them again gives
 * the input back, and a standard ncacn_ip_tcp tower rebuilt from what the
 * parser found is byte for byte the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tether/dce.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t b[TETHER_DCE_TOWER_MAX_LEN];
	struct tether_dce_tower t;
	size_t pos = 2, i, len;

	if (size > TETHER_DCE_TOWER_MAX_LEN + 16)
		return 0;
	if (tether_dce_tower_parse(data, size, &t) != 0)
		return 0;
	CHECK(t.n_floors >= 2 && t.n_floors <= TETHER_DCE_TOWER_MAX_FLOORS);
	b[0] = (uint8_t)t.n_floors;
	b[1] = (uint8_t)(t.n_floors >> 8);
	for (i = 0; i < t.n_floors; i++) {
		const struct tether_dce_floor *f = &t.floors[i];

		CHECK(f->lhs_len >= 1 && f->lhs[0] == f->protocol);
		CHECK(pos + 4 + f->lhs_len + f->rhs_len <= sizeof(b));
		b[pos++] = (uint8_t)f->lhs_len;
		b[pos++] = (uint8_t)(f->lhs_len >> 8);
		memcpy(b + pos, f->lhs, f->lhs_len);
		pos += f->lhs_len;
		b[pos++] = (uint8_t)f->rhs_len;
		b[pos++] = (uint8_t)(f->rhs_len >> 8);
		memcpy(b + pos, f->rhs, f->rhs_len);
		pos += f->rhs_len;
	}
	CHECK(pos == size && memcmp(b, data, size) == 0);
	CHECK((t.has &
	       (TETHER_DCE_TOWER_HAS_IFACE | TETHER_DCE_TOWER_HAS_XFER)) ==
	      (TETHER_DCE_TOWER_HAS_IFACE | TETHER_DCE_TOWER_HAS_XFER));
	if (t.n_floors == 5 && t.has == 0x1f && t.ncacn_minor == 0 &&
	    t.floors[2].protocol == TETHER_DCE_PROT_NCACN &&
	    t.floors[3].protocol == TETHER_DCE_PROT_TCP) {
		CHECK(tether_dce_tower_build_tcp(&t.iface, &t.xfer, t.port,
						 t.ipv4, b, sizeof(b),
						 &len) == 0);
		CHECK(len == size && memcmp(b, data, size) == 0);
	}
	return 0;
}
