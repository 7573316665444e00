/*
 * core_int.h - private to lib/core: internal functions that more than
 * one file (a module and its unit test) must agree on. The event loop
 * keeps its larger private interface in loop_int.h.
 */
#ifndef TETHER_CORE_INT_H
#define TETHER_CORE_INT_H

#include "tether/core.h"

/*
 * tether__hash_mul128_portable - the 128-bit product of a and b from
 * 32-bit halves, as (*lo, *hi): hash.c's fallback for compilers without
 * a 128-bit type. Always built, so test_hash can check it against the
 * native product and the fallback cannot rot unnoticed.
 */
void tether__hash_mul128_portable(uint64_t a, uint64_t b,
				  uint64_t *lo /* OUT */,
				  uint64_t *hi /* OUT */);

#endif /* TETHER_CORE_INT_H */
