/*
 * rpc_testprog.h - a small RPC program shared by the runtime's unit
 * tests and the server fuzzer: hand-written codecs (what tether-rpcgen
 * will emit), procedures, and dispatch tables for versions 1, 2 and 4.
 */
#ifndef TETHER_RPC_TESTPROG_H
#define TETHER_RPC_TESTPROG_H

#include <string.h>

#include "tether/rpc.h"

#define TP_PROG	  0x20000101u
#define TP_ADD	  1u /* pair -> int */
#define TP_ECHO	  2u /* string<64> -> string<64> */
#define TP_ASYNC  3u /* unsigned -> unsigned, answered later */
#define TP_WHOAMI 4u /* void -> unsigned uid (AUTH_SYS) */
#define TP_BIG	  5u /* unsigned n -> opaque<> of n bytes */
#define TP_FAIL	  6u /* void -> SYSTEM_ERR */
#define TP_COUNT  7u /* unsigned -> unsigned: calls run so far */
#define TP_DROP	  8u /* void -> never answered */

struct tp_pair {
	int32_t a;
	int32_t b;
};

struct tp_bytes {
	uint8_t *data;
	uint32_t len;
};

static inline int
tp_pair_codec(struct tether_xdr *x, void *obj)
{
	struct tp_pair *p = obj;
	int rc = tether_xdr_i32(x, &p->a);

	return rc ? rc : tether_xdr_i32(x, &p->b);
}

static inline int
tp_string_codec(struct tether_xdr *x, void *obj)
{
	return tether_xdr_string(x, (char **)obj, 64);
}

static inline int
tp_bytes_codec(struct tether_xdr *x, void *obj)
{
	struct tp_bytes *b = obj;

	return tether_xdr_bytes(x, &b->data, &b->len, 1u << 24);
}

/* State the procedures share; ud of the tables. */
struct tp_state {
	unsigned count;				 /* TP_COUNT runs */
	struct tether_rpc_server_call *held[64]; /* TP_ASYNC handles */
	uint32_t held_val[64];
	unsigned nheld;
	unsigned ndropped;
};

static inline void
tp_add(struct tether_rpc_server_call *call, void *args, void *ud)
{
	struct tp_pair *p = args;
	int32_t r = (int32_t)((uint32_t)p->a + (uint32_t)p->b);

	(void)ud;
	tether_rpc_server_reply(call, &r);
}

static inline void
tp_echo(struct tether_rpc_server_call *call, void *args, void *ud)
{
	(void)ud;
	tether_rpc_server_reply(call, args);
}

static inline void
tp_async(struct tether_rpc_server_call *call, void *args, void *ud)
{
	struct tp_state *st = ud;

	if (st->nheld >= 64) {
		tether_rpc_server_reply_error(call, TETHER_RPC_SYSTEM_ERR);
		return;
	}
	st->held_val[st->nheld] = *(uint32_t *)args;
	st->held[st->nheld++] = call;
}

/* Answer the oldest held TP_ASYNC call with its value + 1000. */
static inline int
tp_release_one(struct tp_state *st)
{
	struct tether_rpc_server_call *call;
	uint32_t v;

	if (st->nheld == 0)
		return 0;
	call = st->held[0];
	v = st->held_val[0] + 1000;
	memmove(st->held, st->held + 1, (st->nheld - 1) * sizeof(st->held[0]));
	memmove(st->held_val, st->held_val + 1,
		(st->nheld - 1) * sizeof(st->held_val[0]));
	st->nheld--;
	tether_rpc_server_reply(call, &v);
	return 1;
}

static inline void
tp_whoami(struct tether_rpc_server_call *call, void *args, void *ud)
{
	const struct tether_rpc_authsys *sys =
		tether_rpc_server_call_authsys(call);
	uint32_t uid;

	(void)args;
	(void)ud;
	if (sys == NULL) {
		tether_rpc_server_reply_auth_error(call,
						   TETHER_RPC_AUTH_TOOWEAK);
		return;
	}
	uid = sys->uid;
	tether_rpc_server_reply(call, &uid);
}

static inline void
tp_big(struct tether_rpc_server_call *call, void *args, void *ud)
{
	struct tp_bytes b;
	uint32_t n = *(uint32_t *)args;

	(void)ud;
	if (n > (1u << 24)) {
		tether_rpc_server_reply_error(call, TETHER_RPC_GARBAGE_ARGS);
		return;
	}
	b.len = n;
	b.data = tether_arena_alloc(tether_rpc_server_call_arena(call),
				    n ? n : 1);
	if (b.data == NULL) {
		tether_rpc_server_reply_error(call, TETHER_RPC_SYSTEM_ERR);
		return;
	}
	memset(b.data, 0xab, n);
	tether_rpc_server_reply(call, &b);
}

static inline void
tp_fail(struct tether_rpc_server_call *call, void *args, void *ud)
{
	(void)args;
	(void)ud;
	tether_rpc_server_reply_error(call, TETHER_RPC_SYSTEM_ERR);
}

static inline void
tp_count(struct tether_rpc_server_call *call, void *args, void *ud)
{
	struct tp_state *st = ud;
	uint32_t v;

	(void)args;
	v = ++st->count;
	tether_rpc_server_reply(call, &v);
}

static inline void
tp_drop(struct tether_rpc_server_call *call, void *args, void *ud)
{
	struct tp_state *st = ud;

	(void)args;
	st->ndropped++;
	tether_rpc_server_drop(call);
}

static const struct tether_rpc_server_proc tp_procs_v1[] = {
	{ TP_ADD, tp_pair_codec, sizeof(struct tp_pair), tether_xdr_codec_i32,
	  tp_add },
	{ TP_ECHO, tp_string_codec, sizeof(char *), tp_string_codec, tp_echo },
	{ TP_ASYNC, tether_xdr_codec_u32, sizeof(uint32_t),
	  tether_xdr_codec_u32, tp_async },
	{ TP_WHOAMI, NULL, 0, tether_xdr_codec_u32, tp_whoami },
	{ TP_BIG, tether_xdr_codec_u32, sizeof(uint32_t), tp_bytes_codec,
	  tp_big },
	{ TP_FAIL, NULL, 0, NULL, tp_fail },
	{ TP_COUNT, tether_xdr_codec_u32, sizeof(uint32_t),
	  tether_xdr_codec_u32, tp_count },
	{ TP_DROP, NULL, 0, NULL, tp_drop },
};

static const struct tether_rpc_server_table tp_table_v1 = {
	TP_PROG, 1, tp_procs_v1, TETHER_ARRAY_SIZE(tp_procs_v1), 0
};
/* Version 2: the same procedures, but AUTH_SYS is required. */
static const struct tether_rpc_server_table tp_table_v2 = {
	TP_PROG, 2, tp_procs_v1, TETHER_ARRAY_SIZE(tp_procs_v1),
	TETHER_RPC_SERVER_NEED_AUTHSYS
};
/* Version 4: no procedures but the implicit NULL one. */
static const struct tether_rpc_server_table tp_table_v4 = { TP_PROG, 4, NULL, 0,
							    0 };

static inline int
tp_register(struct tether_rpc_server *srv, struct tp_state *st)
{
	int rc = tether_rpc_server_register(srv, &tp_table_v1, st);

	if (rc == 0)
		rc = tether_rpc_server_register(srv, &tp_table_v2, st);
	if (rc == 0)
		rc = tether_rpc_server_register(srv, &tp_table_v4, st);
	return rc;
}

#endif /* TETHER_RPC_TESTPROG_H */
