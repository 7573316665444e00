/*
 * layout_check.c - the layout test's second half: tether-rpcgen's header
 * for a .x file must satisfy the _Static_asserts that layout_dump.c
 * wrote from rpcgen's (same sizes, alignments, offsets, signedness).
 * Compiling is the test.
 */
#include <stddef.h>

#include HDR

#include ASSERTS
