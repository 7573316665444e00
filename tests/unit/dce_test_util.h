/*
 * dce_test_util.h - helpers shared by the lib/dce unit tests: finding a
 * capture vector by name, and the interfaces Samba hosted in the
 * reference captures (for negotiation tests).
 */
#ifndef DCE_TEST_UTIL_H
#define DCE_TEST_UTIL_H

#include <string.h>

#include "tether/dce.h"
#include "../data/dcerpc/dce_vectors.h"

/* The vector whose name starts with prefix ("c04-001"); fails the test
 * when missing. */
static inline const struct dce_vector *
vec(const char *prefix)
{
	size_t i;

	for (i = 0; i < TETHER_ARRAY_SIZE(dce_vectors); i++)
		if (strncmp(dce_vectors[i].name, prefix, strlen(prefix)) == 0)
			return &dce_vectors[i];
	fail_msg("no capture vector %s", prefix);
	return NULL;
}

/* The stub of a request/response vector, decoded on the spot. */
static inline void
vec_stub(const struct dce_vector *v, const uint8_t **stub, size_t *len)
{
	struct tether_dce_pdu pdu;

	assert_int_equal(tether_dce_pdu_decode(v->bytes, v->len, NULL, &pdu),
			 0);
	if (pdu.hdr.ptype == TETHER_DCE_PT_REQUEST) {
		*stub = pdu.u.request.stub;
		*len = pdu.u.request.stub_len;
	} else {
		assert_int_equal(pdu.hdr.ptype, TETHER_DCE_PT_RESPONSE);
		*stub = pdu.u.response.stub;
		*len = pdu.u.response.stub_len;
	}
}

static inline struct tether_dce_syntax
syn(const char *uuid, uint16_t major, uint16_t minor)
{
	struct tether_dce_syntax s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(tether_dce_uuid_parse(uuid, &s.uuid), 0);
	s.vers_major = major;
	s.vers_minor = minor;
	return s;
}

#endif /* DCE_TEST_UTIL_H */
