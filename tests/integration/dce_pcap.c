/*
 * dce_pcap.c - writes a pcap of DCE/RPC PDUs that lib/dce encoded (a
 * Windows-style bind and our negotiated bind_ack, ept_map, a fragmented
 * ept_lookup answer, handle free, a fault, alter_context, a fragmented
 * request, a bind_nak), wrapped in fake Ethernet/IPv4/TCP to port 135,
 * so tshark's dissectors can judge our bytes. Usage: dce_pcap OUT.pcap
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tether/dce.h"

struct flow {
	uint32_t seq[2]; /* next sequence number per direction */
	uint16_t cport;
};

static FILE *pcap;
static uint32_t tick;

static void
put16be(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32be(uint8_t *p, uint32_t v)
{
	put16be(p, (uint16_t)(v >> 16));
	put16be(p + 2, (uint16_t)v);
}

static void
put32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static int
write_all(const void *p, size_t n)
{
	return fwrite(p, 1, n, pcap) == n ? 0 : -1;
}

/* One TCP segment carrying payload, client->server when c2s. */
static void
segment(struct flow *f, int c2s, const uint8_t *payload, size_t len)
{
	static uint8_t frame[14 + 20 + 20 + 65536];
	uint8_t rec[16];
	uint8_t *ip = frame + 14, *tcp = ip + 20;
	size_t flen = 14 + 20 + 20 + len;
	uint32_t sum = 0;
	size_t i;

	memset(frame, 0, 54);
	frame[12] = 0x08; /* IPv4 */
	ip[0] = 0x45;
	put16be(ip + 2, (uint16_t)(20 + 20 + len));
	ip[8] = 64;
	ip[9] = 6;
	put32be(ip + 12, 0x7f000001);
	put32be(ip + 16, 0x7f000001);
	for (i = 0; i < 20; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	put16be(ip + 10, (uint16_t)~sum);
	put16be(tcp, c2s ? f->cport : 135);
	put16be(tcp + 2, c2s ? 135 : f->cport);
	put32be(tcp + 4, f->seq[!c2s]);
	put32be(tcp + 8, f->seq[c2s]);
	tcp[12] = 0x50;
	tcp[13] = 0x18; /* PSH, ACK */
	put16be(tcp + 14, 65535);
	memcpy(tcp + 20, payload, len);
	f->seq[!c2s] += (uint32_t)len;

	put32le(rec, 1700000000);
	put32le(rec + 4, tick++);
	put32le(rec + 8, (uint32_t)flen);
	put32le(rec + 12, (uint32_t)flen);
	if (write_all(rec, 16) < 0 || write_all(frame, flen) < 0) {
		perror("write");
		exit(1);
	}
}

static void
check(int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "dce_pcap: %s: %s\n", what,
			tether_err_name(rc));
		exit(1);
	}
}

static void
send_pdu(struct flow *f, int c2s, const struct tether_dce_pdu *p)
{
	static uint8_t buf[65536];
	size_t n;

	check(tether_dce_pdu_encode(p, buf, sizeof(buf), &n), "encode");
	segment(f, c2s, buf, n);
}

/* A request or response stub in fragments of max_frag bytes. */
static void
send_fragmented(struct flow *f, int c2s, const struct tether_dce_pdu *t,
		size_t max_frag)
{
	static uint8_t buf[65536];
	size_t off = 0, n;
	int more;

	do {
		more = tether_dce_fragment(t, max_frag, &off, buf, sizeof(buf),
					   &n);
		check(more, "fragment");
		segment(f, c2s, buf, n);
	} while (more);
}

int
main(int argc, char **argv)
{
	static const uint8_t lo[4] = { 127, 0, 0, 1 }, any[4] = { 0 };
	static uint8_t stub[16384];
	uint8_t hdr[24] = { 0 }, tower[80], tower0[80];
	struct tether_dce_syntax lsa = { { 0x12345778,
					   0x1234,
					   0xabcd,
					   { 0xef, 0x00 },
					   { 0x01, 0x23, 0x45, 0x67, 0x89,
					     0xab } },
					 0,
					 0 };
	struct tether_dce_syntax ts[3], btfn;
	struct tether_dce_ctx_elem ctx[3];
	struct tether_dce_ctx_result res[3];
	struct tether_dce_epm_entry ents[40];
	struct tether_dce_epm_twr tw;
	struct tether_dce_ndr_writer w;
	struct tether_dce_pdu p;
	struct flow f = { { 1000, 5000 }, 50000 };
	size_t tl, i;

	if (argc != 2) {
		fprintf(stderr, "usage: dce_pcap OUT.pcap\n");
		return 2;
	}
	pcap = fopen(argv[1], "wb");
	if (pcap == NULL) {
		perror(argv[1]);
		return 1;
	}
	put32le(hdr, 0xa1b2c3d4);
	hdr[4] = 2;
	hdr[6] = 4;
	put32le(hdr + 16, 65535);
	put32le(hdr + 20, 1); /* Ethernet */
	if (write_all(hdr, 24) < 0)
		return 1;

	/* Windows-style bind: NDR, NDR64, BTFN; our bind_ack. */
	memset(&btfn, 0, sizeof(btfn));
	btfn.uuid.time_low = 0x6cb71c2c;
	btfn.uuid.time_mid = 0x9812;
	btfn.uuid.time_hi_and_version = 0x4540;
	btfn.uuid.clock_seq[0] = 0x03;
	btfn.vers_major = 1;
	ts[0] = tether_dce_ndr20;
	ts[1] = tether_dce_ndr64;
	ts[2] = btfn;
	for (i = 0; i < 3; i++) {
		ctx[i].p_cont_id = (uint16_t)i;
		ctx[i].n_transfer_syn = 1;
		ctx[i].abstract_syntax = tether_dce_epm_v3;
		ctx[i].transfer_syntaxes = &ts[i];
	}
	tether_dce_pdu_init(&p, TETHER_DCE_PT_BIND, 1);
	p.u.bind.max_xmit_frag = 5840;
	p.u.bind.max_recv_frag = 5840;
	p.u.bind.n_context_elem = 3;
	p.u.bind.ctx = ctx;
	send_pdu(&f, 1, &p);
	check(tether_dce_negotiate(ctx, 3, &tether_dce_epm_v3, 1, 0x03, res,
				   NULL),
	      "negotiate");
	tether_dce_pdu_init(&p, TETHER_DCE_PT_BIND_ACK, 1);
	p.u.bind_ack.max_xmit_frag = 1024;
	p.u.bind_ack.max_recv_frag = 1024;
	p.u.bind_ack.assoc_group_id = 0x1234;
	p.u.bind_ack.sec_addr = "135";
	p.u.bind_ack.sec_addr_len = 4;
	p.u.bind_ack.n_results = 3;
	p.u.bind_ack.results = res;
	send_pdu(&f, 0, &p);

	/* ept_map lsarpc */
	check(tether_dce_tower_build_tcp(&lsa, &tether_dce_ndr20, 0, any,
					 tower0, sizeof(tower0), &tl),
	      "tower");
	{
		struct tether_dce_epm_map_req mq;

		memset(&mq, 0, sizeof(mq));
		mq.has_tower = 1;
		mq.tower.data = tower0;
		mq.tower.len = (uint32_t)tl;
		mq.max_towers = 4;
		tether_dce_ndr_writer_init(&w, stub, sizeof(stub),
					   TETHER_DCE_DREP_LE);
		check(tether_dce_epm_map_req_encode(&w, &mq), "map req");
	}
	tether_dce_pdu_init(&p, TETHER_DCE_PT_REQUEST, 2);
	p.u.request.opnum = TETHER_DCE_EPM_MAP;
	p.u.request.alloc_hint = (uint32_t)w.pos;
	p.u.request.stub = stub;
	p.u.request.stub_len = w.pos;
	send_pdu(&f, 1, &p);
	check(tether_dce_tower_build_tcp(&lsa, &tether_dce_ndr20, 49153, lo,
					 tower, sizeof(tower), &tl),
	      "tower");
	{
		struct tether_dce_epm_map_resp ms;

		memset(&ms, 0, sizeof(ms));
		tw.data = tower;
		tw.len = (uint32_t)tl;
		ms.num_towers = 1;
		ms.max_count = 4;
		ms.towers = &tw;
		tether_dce_ndr_writer_init(&w, stub, sizeof(stub),
					   TETHER_DCE_DREP_LE);
		check(tether_dce_epm_map_resp_encode(&w, &ms), "map resp");
	}
	tether_dce_pdu_init(&p, TETHER_DCE_PT_RESPONSE, 2);
	p.u.response.alloc_hint = (uint32_t)w.pos;
	p.u.response.stub = stub;
	p.u.response.stub_len = w.pos;
	send_pdu(&f, 0, &p);

	/* ept_lookup, 40 entries, answered in 1024-byte fragments */
	{
		struct tether_dce_epm_lookup_req lq;

		memset(&lq, 0, sizeof(lq));
		lq.vers_option = TETHER_DCE_EPM_VERS_ALL;
		lq.max_ents = 500;
		tether_dce_ndr_writer_init(&w, stub, sizeof(stub),
					   TETHER_DCE_DREP_LE);
		check(tether_dce_epm_lookup_req_encode(&w, &lq), "lookup req");
	}
	tether_dce_pdu_init(&p, TETHER_DCE_PT_REQUEST, 3);
	p.u.request.opnum = TETHER_DCE_EPM_LOOKUP;
	p.u.request.alloc_hint = (uint32_t)w.pos;
	p.u.request.stub = stub;
	p.u.request.stub_len = w.pos;
	send_pdu(&f, 1, &p);
	memset(ents, 0, sizeof(ents));
	for (i = 0; i < 40; i++) {
		ents[i].has_tower = 1;
		ents[i].tower = tw;
		ents[i].annotation = i % 2 ? "lsarpc" : "";
	}
	{
		struct tether_dce_epm_lookup_resp ls;

		memset(&ls, 0, sizeof(ls));
		ls.num_ents = 40;
		ls.max_count = 500;
		ls.entries = ents;
		tether_dce_ndr_writer_init(&w, stub, sizeof(stub),
					   TETHER_DCE_DREP_LE);
		check(tether_dce_epm_lookup_resp_encode(&w, &ls),
		      "lookup resp");
	}
	tether_dce_pdu_init(&p, TETHER_DCE_PT_RESPONSE, 3);
	p.u.response.stub = stub;
	p.u.response.stub_len = w.pos;
	send_fragmented(&f, 0, &p, 1024);

	/* ept_lookup_handle_free */
	{
		struct tether_dce_ctx_handle h;

		memset(&h, 0, sizeof(h));
		h.uuid.time_low = 0x681e25da;
		tether_dce_ndr_writer_init(&w, stub, sizeof(stub),
					   TETHER_DCE_DREP_LE);
		check(tether_dce_ndr_put_ctx_handle(&w, &h), "handle");
		tether_dce_pdu_init(&p, TETHER_DCE_PT_REQUEST, 4);
		p.u.request.opnum = TETHER_DCE_EPM_LOOKUP_HANDLE_FREE;
		p.u.request.alloc_hint = (uint32_t)w.pos;
		p.u.request.stub = stub;
		p.u.request.stub_len = w.pos;
		send_pdu(&f, 1, &p);
		memset(&h, 0, sizeof(h));
		tether_dce_ndr_writer_init(&w, stub, sizeof(stub),
					   TETHER_DCE_DREP_LE);
		check(tether_dce_epm_handle_free_resp_encode(&w, &h, 0),
		      "handle free");
		tether_dce_pdu_init(&p, TETHER_DCE_PT_RESPONSE, 4);
		p.u.response.alloc_hint = (uint32_t)w.pos;
		p.u.response.stub = stub;
		p.u.response.stub_len = w.pos;
		send_pdu(&f, 0, &p);
	}

	/* unknown opnum -> fault */
	tether_dce_pdu_init(&p, TETHER_DCE_PT_REQUEST, 5);
	p.u.request.opnum = 99;
	send_pdu(&f, 1, &p);
	tether_dce_pdu_init(&p, TETHER_DCE_PT_FAULT, 5);
	p.hdr.pfc_flags |= TETHER_DCE_PFC_DID_NOT_EXECUTE;
	p.u.fault.alloc_hint = 32;
	p.u.fault.status = TETHER_DCE_nca_s_op_rng_error;
	send_pdu(&f, 0, &p);

	/* alter_context for context 1 (NDR) */
	ctx[1].p_cont_id = 5;
	ctx[1].transfer_syntaxes = &ts[0];
	tether_dce_pdu_init(&p, TETHER_DCE_PT_ALTER_CONTEXT, 6);
	p.u.bind.max_xmit_frag = 5840;
	p.u.bind.max_recv_frag = 5840;
	p.u.bind.assoc_group_id = 0x1234;
	p.u.bind.n_context_elem = 1;
	p.u.bind.ctx = &ctx[1];
	send_pdu(&f, 1, &p);
	check(tether_dce_negotiate(&ctx[1], 1, &tether_dce_epm_v3, 1, 0, res,
				   NULL),
	      "negotiate");
	tether_dce_pdu_init(&p, TETHER_DCE_PT_ALTER_CONTEXT_RESP, 6);
	p.u.bind_ack.max_xmit_frag = 1024;
	p.u.bind_ack.max_recv_frag = 1024;
	p.u.bind_ack.assoc_group_id = 0x1234;
	p.u.bind_ack.n_results = 1;
	p.u.bind_ack.results = res;
	send_pdu(&f, 0, &p);

	/* an ept_map request in 48-byte fragments on the new context */
	{
		struct tether_dce_epm_map_req mq;

		memset(&mq, 0, sizeof(mq));
		mq.has_tower = 1;
		mq.tower.data = tower0;
		mq.tower.len = (uint32_t)tl;
		mq.max_towers = 1;
		tether_dce_ndr_writer_init(&w, stub, sizeof(stub),
					   TETHER_DCE_DREP_LE);
		check(tether_dce_epm_map_req_encode(&w, &mq), "map req");
	}
	tether_dce_pdu_init(&p, TETHER_DCE_PT_REQUEST, 7);
	p.u.request.opnum = TETHER_DCE_EPM_MAP;
	p.u.request.p_cont_id = 5;
	p.u.request.stub = stub;
	p.u.request.stub_len = w.pos;
	send_fragmented(&f, 1, &p, 48);

	/* a second connection: bind naked (protocol version) */
	f.cport = 50001;
	f.seq[0] = 7000;
	f.seq[1] = 9000;
	tether_dce_pdu_init(&p, TETHER_DCE_PT_BIND, 1);
	p.hdr.rpc_vers_minor = 1;
	p.u.bind.max_xmit_frag = 4280;
	p.u.bind.max_recv_frag = 4280;
	p.u.bind.n_context_elem = 1;
	p.u.bind.ctx = &ctx[0];
	send_pdu(&f, 1, &p);
	tether_dce_pdu_init(&p, TETHER_DCE_PT_BIND_NAK, 1);
	p.u.bind_nak.reason = TETHER_DCE_NAK_PROTOCOL_VERSION_NOT_SUPPORTED;
	p.u.bind_nak.n_versions = 1;
	p.u.bind_nak.versions[0][0] = 5;
	send_pdu(&f, 0, &p);
	tether_dce_pdu_init(&p, TETHER_DCE_PT_SHUTDOWN, 0);
	send_pdu(&f, 0, &p);

	if (fclose(pcap) != 0) {
		perror("fclose");
		return 1;
	}
	return 0;
}
