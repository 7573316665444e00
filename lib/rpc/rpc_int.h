/*
 * rpc_int.h - declarations private to lib/rpc: helpers shared between
 * the message codec and record marking.
 */
#ifndef TETHER_RPC_INT_H
#define TETHER_RPC_INT_H

#include <stddef.h>

#include "tether/core.h"

#endif /* TETHER_RPC_INT_H */
