/*
 * rpc_int.h - declarations private to lib/rpc: helpers shared between
 * the message codec and record marking.
 */
#ifndef TETHER_RPC_INT_H
#define TETHER_RPC_INT_H

#include <stddef.h>

#include "tether/core.h"

/*
 * Growth of a struct tether_buf, keeping its invariants (len <= cap <=
 * max + 1 and a NUL at data[len]). lib/rpc carries its own copy because
 * core's tether_buf_* functions were not yet implemented when record
 * marking was written; the contracts are those of tether_buf_reserve
 * and tether_buf_append, so callers can switch over one for one.
 */
int tether__rpc_buf_reserve(struct tether_buf *b, size_t extra);
int tether__rpc_buf_append(struct tether_buf *b, const void *p, size_t n);

#endif /* TETHER_RPC_INT_H */
