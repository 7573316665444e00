/*
 * fuzz_dce_server.c - a client byte stream into the DCE/RPC server
 * runtime (framer, bind negotiation, association groups, reassembly,
 * dispatch, faults, fragmentation) over a socketpair, fed in chunks of a
 * size the input picks. Invariants: everything the server sends is a
 * sequence of well-formed PDUs no larger than its max_frag; responses
 * and faults answer a call_id the client used; once the client closes,
 * the connection and its association group are gone.
 * Input: byte 0 chunk size, byte 1 bit 0 "local caller", then the stream.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tether/dce.h"

#include "fuzz.h"

#define MAX_INPUT 16384
#define MAX_FRAG  2048

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
op_echo(struct tether_dce_call *call)
{
	return tether_dce_ndr_put_bytes(call->out, call->stub, call->stub_len);
}

static int
op_lookup(struct tether_dce_call *call)
{
	struct tether_dce_ndr_reader r;
	struct tether_dce_epm_lookup_req q;
	struct tether_dce_epm_lookup_resp a;
	int rc;

	tether_dce_ndr_reader_init(&r, call->stub, call->stub_len, call->drep0);
	rc = tether_dce_epm_lookup_req_decode(&r, &q);
	if (rc < 0)
		return rc;
	memset(&a, 0, sizeof(a));
	a.max_count = q.max_ents;
	a.status = TETHER_DCE_ept_s_not_registered;
	return tether_dce_epm_lookup_resp_encode(call->out, &a);
}

static int
op_map(struct tether_dce_call *call)
{
	struct tether_dce_ndr_reader r;
	struct tether_dce_epm_map_req q;
	struct tether_dce_epm_map_resp a;
	struct tether_dce_tower t;
	int rc;

	tether_dce_ndr_reader_init(&r, call->stub, call->stub_len, call->drep0);
	rc = tether_dce_epm_map_req_decode(&r, &q);
	if (rc < 0)
		return rc;
	memset(&a, 0, sizeof(a));
	a.max_count = q.max_towers;
	a.status = TETHER_DCE_ept_s_not_registered;
	/* Answer the asked tower itself when it parses: a real payload. */
	if (q.has_tower && q.max_towers > 0 &&
	    tether_dce_tower_parse(q.tower.data, q.tower.len, &t) == 0) {
		a.num_towers = 1;
		a.towers = &q.tower;
		a.status = 0;
	}
	return tether_dce_epm_map_resp_encode(call->out, &a);
}

/* A big answer: as many bytes as the first stub byte says, times 64. */
static int
op_big(struct tether_dce_call *call)
{
	size_t n = call->stub_len ? call->stub[0] * (size_t)64 : 0, i;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++)
		rc = tether_dce_ndr_put_u8(call->out, (uint8_t)i);
	return rc;
}

static tether_dce_op_fn *const ops[] = { op_echo, op_big, op_lookup, op_map,
					 NULL };
static struct tether_dce_iface iface;
static struct tether_loop *loop;
static struct tether_dce_server *srv;
static uint32_t call_ids[64];
static unsigned n_call_ids;

static void
setup(void)
{
	struct tether_dce_server_config c;

	if (srv != NULL)
		return;
	memset(&c, 0, sizeof(c));
	c.max_frag = MAX_FRAG;
	c.max_stub = 8192;
	c.max_resp_stub = 32768;
	c.max_contexts = 4;
	c.btfn = 3;
	iface.syntax = tether_dce_epm_v3;
	iface.ops = ops;
	iface.n_ops = sizeof(ops) / sizeof(ops[0]);
	CHECK(tether_loop_new(&loop, NULL) == 0);
	CHECK(tether_dce_server_new(loop, &c, &srv) == 0);
	CHECK(tether_dce_server_add_iface(srv, &iface) == 0);
}

static int
used_call_id(uint32_t id)
{
	unsigned i;

	for (i = 0; i < n_call_ids; i++)
		if (call_ids[i] == id)
			return 1;
	return n_call_ids == 64; /* too many to track: accept */
}

/* Note the call_ids of whole client PDUs as they are sent. */
static void
note_client(const uint8_t *p, size_t len)
{
	struct tether_dce_hdr h;
	size_t off = 0;

	while (len - off >= TETHER_DCE_HDR_LEN) {
		int rc = tether_dce_hdr_decode(p + off, len - off, &h);

		if (rc < 0 && rc != -TETHER_EPROTO)
			return;
		if (n_call_ids < 64)
			call_ids[n_call_ids++] = h.call_id;
		if (h.frag_length < TETHER_DCE_HDR_LEN)
			return;
		off += h.frag_length;
		if (off > len)
			return;
	}
}

/* Read what the server sent and check it PDU by PDU. */
static void
drain(int fd, struct tether_dce_framer *fr, struct tether_arena *a)
{
	uint8_t buf[8192];
	const uint8_t *pdu;
	size_t pl, off;
	ssize_t n, used;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		off = 0;
		while (off < (size_t)n) {
			struct tether_dce_pdu d;

			used = tether_dce_framer_feed(
				fr, buf + off, (size_t)n - off, &pdu, &pl);
			CHECK(used >= 0);
			if (used == 0)
				break;
			off += (size_t)used;
			CHECK(pl <= MAX_FRAG);
			tether_arena_reset(a);
			CHECK(tether_dce_pdu_decode(pdu, pl, a, &d) == 0);
			if (d.hdr.ptype == TETHER_DCE_PT_RESPONSE ||
			    d.hdr.ptype == TETHER_DCE_PT_FAULT ||
			    d.hdr.ptype == TETHER_DCE_PT_BIND_ACK)
				CHECK(used_call_id(d.hdr.call_id));
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tether_dce_server_stats st;
	struct tether_dce_framer fr;
	struct tether_arena *a;
	size_t chunk, off, n;
	int sv[2], i;

	if (size < 2 || size > MAX_INPUT)
		return 0;
	setup();
	chunk = data[0] ? data[0] : 256;
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
	CHECK(tether_dce_server_adopt(srv, sv[0], data[1] & 1) == 0);
	CHECK(tether_dce_framer_init(&fr, TETHER_DCE_FRAG_MAX) == 0);
	a = tether_arena_new(0, 0);
	CHECK(a != NULL);
	n_call_ids = 0;
	note_client(data + 2, size - 2);
	for (off = 2; off < size; off += n) {
		ssize_t w;

		n = size - off < chunk ? size - off : chunk;
		w = send(sv[1], data + off, n, MSG_NOSIGNAL);
		if (w < 0)
			break; /* the server closed: fine */
		n = (size_t)w;
		tether_loop_run_once(loop, 0);
		drain(sv[1], &fr, a);
	}
	for (i = 0; i < 4; i++) {
		tether_loop_run_once(loop, 0);
		drain(sv[1], &fr, a);
	}
	close(sv[1]);
	for (i = 0; i < 16; i++) {
		tether_dce_server_stats(srv, &st);
		if (st.conns == 0)
			break;
		tether_loop_run_once(loop, 1);
	}
	CHECK(st.conns == 0 && st.groups == 0);
	tether_dce_framer_free(&fr);
	tether_arena_free(a);
	return 0;
}
