/*
 * epmap_replay.c - replay the client side of the reference captures
 * (Samba 4.17 answering impacket) against a running tether-epmap and
 * compare its answers with Samba's field by field. First it registers
 * Samba's TCP endpoints (from capture 02's full listing) over the local
 * socket, so the mappings can be compared too. Where the notes say to
 * follow Windows or the specification rather than Samba, the expected
 * difference is spelled out below (see "divergence").
 * Usage: epmap_replay HOST PORT SOCKET. Exit 0 when every check passes.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tether/dce.h"
#include "../data/dcerpc/dce_vectors.h"

static int failures, checks;
static const char *cur = "";

#define CHECK(cond, ...)                                           \
	do {                                                       \
		checks++;                                          \
		if (!(cond)) {                                     \
			failures++;                                \
			printf("FAIL %s: ", cur);                  \
			printf(__VA_ARGS__);                       \
			printf("  (%s:%d)\n", __FILE__, __LINE__); \
		}                                                  \
	} while (0)

static struct tether_addr target;

/* ---- I/O ---- */

static int
tcp_connect(void)
{
	int fd = socket(target.ss.ss_family, SOCK_STREAM, 0);

	if (fd < 0 ||
	    connect(fd, (struct sockaddr *)&target.ss, target.len) < 0) {
		perror("connect");
		exit(1);
	}
	return fd;
}

static int
read_full(int fd, uint8_t *p, size_t n)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	ssize_t r;

	while (n > 0) {
		if (poll(&pf, 1, 3000) != 1)
			return -1;
		r = read(fd, p, n);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* One PDU into buf; -1 on EOF / timeout. */
static int
recv_pdu(int fd, uint8_t *buf, size_t *len)
{
	struct tether_dce_hdr h;

	if (read_full(fd, buf, 16) < 0 ||
	    tether_dce_hdr_decode(buf, 16, &h) < 0 ||
	    read_full(fd, buf + 16, h.frag_length - 16u) < 0)
		return -1;
	*len = h.frag_length;
	return 0;
}

/* ---- registering Samba's endpoints ---- */

static uint8_t samba_list[16384];
static size_t samba_list_len;

/* The reassembled stub of response vectors first..last. */
static size_t
stub_of(const char *const *names, size_t n, uint8_t *out)
{
	size_t i, len = 0, k;

	for (i = 0; i < n; i++)
		for (k = 0; k < TETHER_ARRAY_SIZE(dce_vectors); k++)
			if (strncmp(dce_vectors[k].name, names[i],
				    strlen(names[i])) == 0) {
				struct tether_dce_pdu p;

				tether_dce_pdu_decode(dce_vectors[k].bytes,
						      dce_vectors[k].len, NULL,
						      &p);
				memcpy(out + len, p.u.response.stub,
				       p.u.response.stub_len);
				len += p.u.response.stub_len;
			}
	return len;
}

static void
register_samba(const char *sock_path)
{
	static const char *const frags[] = { "c02-003", "c02-004" };
	struct tether_dce_epm_lookup_resp a;
	struct tether_dce_ndr_reader r;
	struct tether_arena *arena = tether_arena_new(0, 0);
	struct tether_addr ua;
	unsigned i, n = 0;

	samba_list_len = stub_of(frags, 2, samba_list);
	tether_dce_ndr_reader_init(&r, samba_list, samba_list_len, 0x10);
	if (tether_dce_epm_lookup_resp_decode(&r, arena, &a) < 0) {
		printf("FAIL: cannot decode capture 02's listing\n");
		exit(1);
	}
	if (tether_addr_parse(&ua, sock_path, -1) < 0)
		exit(1);
	for (i = 0; i < a.num_ents; i++) {
		struct tether_dce_tower t;
		struct tether_dce_epm_insert_req q;
		struct tether_dce_ndr_writer w;
		struct tether_dce_client *c;
		const uint8_t *resp;
		uint8_t stub[512];
		size_t rl;
		uint32_t fault;
		int fd;

		if (tether_dce_tower_parse(a.entries[i].tower.data,
					   a.entries[i].tower.len, &t) < 0 ||
		    !(t.has & TETHER_DCE_TOWER_HAS_TCP))
			continue;
		memset(&q, 0, sizeof(q));
		q.num_ents = 1;
		q.entries = &a.entries[i];
		tether_dce_ndr_writer_init(&w, stub, sizeof(stub), 0x10);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (tether_dce_epm_insert_req_encode(&w, &q, 1) < 0 ||
		    connect(fd, (struct sockaddr *)&ua.ss, ua.len) < 0 ||
		    tether_dce_client_bind(fd, &tether_dce_epm_v3, 0, 3000, &c,
					   NULL) < 0) {
			printf("FAIL: cannot register over %s\n", sock_path);
			exit(1);
		}
		if (tether_dce_client_call(c, TETHER_DCE_EPM_INSERT, NULL, stub,
					   w.pos, &resp, &rl, &fault) < 0 ||
		    fault != 0 || rl != 4 || memcmp(resp, "\0\0\0\0", 4)) {
			printf("FAIL: ept_insert refused\n");
			exit(1);
		}
		tether_dce_client_free(c);
		close(fd);
		n++;
	}
	printf("registered Samba's %u TCP endpoints\n", n);
	tether_arena_free(arena);
}

/* ---- replay ---- */

struct hmap {
	uint8_t samba[20], ours[20];
};
static struct hmap hmaps[64];
static unsigned n_hmaps;
static uint32_t samba_groups[16], our_groups[16];
static unsigned n_groups;

static void
note_handle(const uint8_t *samba, const uint8_t *ours)
{
	static const uint8_t zero[20];

	unsigned i;

	if (memcmp(samba, zero, 20) == 0)
		return;
	/* Samba keeps one handle for a whole listing: follow ours. */
	for (i = 0; i < n_hmaps; i++)
		if (memcmp(hmaps[i].samba, samba, 20) == 0) {
			memcpy(hmaps[i].ours, ours, 20);
			return;
		}
	if (n_hmaps == 64)
		return;
	memcpy(hmaps[n_hmaps].samba, samba, 20);
	memcpy(hmaps[n_hmaps].ours, ours, 20);
	n_hmaps++;
}

static const uint8_t *
our_handle(const uint8_t *samba)
{
	unsigned i;

	for (i = 0; i < n_hmaps; i++)
		if (memcmp(hmaps[i].samba, samba, 20) == 0)
			return hmaps[i].ours;
	return NULL;
}

static void
cmp_towers(const struct tether_dce_epm_twr *a,
	   const struct tether_dce_epm_twr *b)
{
	struct tether_dce_tower ta, tb;
	int ok = tether_dce_tower_parse(a->data, a->len, &ta) == 0 &&
		 tether_dce_tower_parse(b->data, b->len, &tb) == 0;

	CHECK(ok, "towers parse");
	if (!ok)
		return;
	CHECK(tether_dce_uuid_equal(&ta.iface.uuid, &tb.iface.uuid) &&
		      ta.iface.vers_major == tb.iface.vers_major,
	      "tower interface");
	CHECK(ta.port == tb.port, "tower port %u, Samba %u", ta.port, tb.port);
	CHECK(memcmp(ta.ipv4, tb.ipv4, 4) == 0, "tower address");
	CHECK(tether_dce_uuid_equal(&ta.xfer.uuid, &tb.xfer.uuid),
	      "tower transfer syntax");
}

/* Lookup answers: the entries we return across a connection must
 * include every TCP entry Samba returned. */
static struct {
	struct tether_dce_uuid iface;
	uint16_t port;
	char annotation[64];
} ours_seen[256], samba_seen[256];
static unsigned n_ours_seen, n_samba_seen;

static void
collect(const struct tether_dce_epm_lookup_resp *a, int ours)
{
	uint32_t i;

	for (i = 0; i < a->num_ents; i++) {
		struct tether_dce_tower t;
		unsigned *n = ours ? &n_ours_seen : &n_samba_seen;

		if (tether_dce_tower_parse(a->entries[i].tower.data,
					   a->entries[i].tower.len, &t) < 0 ||
		    !(t.has & TETHER_DCE_TOWER_HAS_TCP) || *n == 256)
			continue;
		if (ours) {
			ours_seen[*n].iface = t.iface.uuid;
			ours_seen[*n].port = t.port;
			snprintf(ours_seen[*n].annotation, 64, "%s",
				 a->entries[i].annotation);
		} else {
			samba_seen[*n].iface = t.iface.uuid;
			samba_seen[*n].port = t.port;
			snprintf(samba_seen[*n].annotation, 64, "%s",
				 a->entries[i].annotation);
		}
		(*n)++;
	}
}

static void
check_collected(void)
{
	unsigned i, j;

	for (i = 0; i < n_samba_seen; i++) {
		for (j = 0; j < n_ours_seen; j++)
			if (tether_dce_uuid_equal(&samba_seen[i].iface,
						  &ours_seen[j].iface) &&
			    samba_seen[i].port == ours_seen[j].port &&
			    strcmp(samba_seen[i].annotation,
				   ours_seen[j].annotation) == 0)
				break;
		CHECK(j < n_ours_seen, "Samba's entry %s port %u is listed",
		      samba_seen[i].annotation, samba_seen[i].port);
	}
	n_ours_seen = n_samba_seen = 0;
}

static void
cmp_response(const struct tether_dce_request *rq, const uint8_t *ours,
	     size_t ol, const uint8_t *samba, size_t sl)
{
	struct tether_arena *arena = tether_arena_new(0, 0);
	struct tether_dce_ndr_reader ro, rs;
	uint32_t i;

	tether_dce_ndr_reader_init(&ro, ours, ol, 0x10);
	tether_dce_ndr_reader_init(&rs, samba, sl, 0x10);
	if (rq->opnum == TETHER_DCE_EPM_MAP) {
		struct tether_dce_epm_map_resp a, b;
		int ok = tether_dce_epm_map_resp_decode(&ro, arena, &a) == 0 &&
			 tether_dce_epm_map_resp_decode(&rs, arena, &b) == 0;

		CHECK(ok, "ept_map responses decode");
		if (!ok)
			goto out;
		CHECK(a.status == b.status, "ept_map status 0x%x, Samba 0x%x",
		      a.status, b.status);
		CHECK(a.num_towers == b.num_towers, "num_towers %u, Samba %u",
		      a.num_towers, b.num_towers);
		CHECK(a.max_count == b.max_count, "max_count %u, Samba %u",
		      a.max_count, b.max_count);
		CHECK(tether_dce_ctx_handle_is_null(&a.handle) ==
			      tether_dce_ctx_handle_is_null(&b.handle),
		      "ept_map handle");
		for (i = 0; i < a.num_towers && i < b.num_towers; i++)
			cmp_towers(&a.towers[i], &b.towers[i]);
	} else if (rq->opnum == TETHER_DCE_EPM_LOOKUP) {
		struct tether_dce_epm_lookup_resp a, b;
		uint8_t hs[20], ho[20];
		int ok = tether_dce_epm_lookup_resp_decode(&ro, arena, &a) ==
				 0 &&
			 tether_dce_epm_lookup_resp_decode(&rs, arena, &b) == 0;

		CHECK(ok, "ept_lookup responses decode");
		if (!ok)
			goto out;
		CHECK(a.max_count == b.max_count, "max_count %u, Samba %u",
		      a.max_count, b.max_count);
		CHECK(a.num_ents <= a.max_count, "num_ents within max_count");
		/* divergence (notes 7, pitfall 3): Windows sends status 0
		 * with the last batch; Samba ept_s_not_registered. */
		CHECK(a.status == (a.num_ents ? 0u : 0x16c9a0d6u),
		      "status 0x%x for %u entries", a.status, a.num_ents);
		CHECK(tether_dce_ctx_handle_is_null(&a.handle) ==
			      (a.num_ents < a.max_count ||
			       tether_dce_ctx_handle_is_null(&a.handle)),
		      "a short batch ends the listing");
		memcpy(hs, samba, 20);
		memcpy(ho, ours, 20);
		note_handle(hs, ho);
		collect(&a, 1);
		collect(&b, 0);
	} else if (rq->opnum == TETHER_DCE_EPM_LOOKUP_HANDLE_FREE) {
		/* divergence (pitfall 3): Samba echoes the handle; C706
		 * and Windows give back a NULL one. */
		static const uint8_t zero[24];

		CHECK(ol == 24 && memcmp(ours, zero, 24) == 0,
		      "handle_free: NULL handle, status 0");
	}
out:
	tether_arena_free(arena);
}

/* Expected fault for requests where we knowingly differ from Samba. */
static uint32_t
expected_fault(const struct tether_dce_request *rq, uint32_t samba_status)
{
	/* divergence: ept_insert / ept_delete are for local callers only
	 * (issue 8): a remote caller is denied before decoding. */
	if (rq->opnum == TETHER_DCE_EPM_INSERT ||
	    rq->opnum == TETHER_DCE_EPM_DELETE)
		return TETHER_DCE_nca_s_fault_access_denied;
	/* divergence: ept_inq_object / ept_mgmt_delete are not offered, so
	 * their opnums are out of range (Samba decodes and fails). */
	if (rq->opnum == TETHER_DCE_EPM_INQ_OBJECT ||
	    rq->opnum == TETHER_DCE_EPM_MGMT_DELETE)
		return TETHER_DCE_nca_s_op_rng_error;
	return samba_status;
}

static int
same_syntax(const struct tether_dce_ctx_result *a,
	    const struct tether_dce_ctx_result *b)
{
	return memcmp(&a->transfer_syntax, &b->transfer_syntax,
		      sizeof(a->transfer_syntax)) == 0;
}

static int
is_epm(const struct tether_dce_pdu *bind)
{
	return bind->u.bind.n_context_elem > 0 &&
	       tether_dce_uuid_equal(&bind->u.bind.ctx[0].abstract_syntax.uuid,
				     &tether_dce_epm_v3.uuid);
}

static void
replay(void)
{
	static uint8_t ours[65536], send_buf[65536], ostub[65536], sstub[65536];
	struct tether_arena *arena = tether_arena_new(0, 0);
	struct tether_dce_pdu in, sp, op;
	struct tether_dce_request last_rq;
	size_t k, olen, osl = 0, ssl = 0;
	int fd = -1, skip = 0, bound = 0, prev_bind = 0, ours_done = 0;
	int mid_call = 0;
	int old[128];
	unsigned n_old = 0, j;
	uint16_t offered_recv = 0;

	memset(&last_rq, 0, sizeof(last_rq));
	for (k = 0; k < TETHER_ARRAY_SIZE(dce_vectors); k++) {
		const struct dce_vector *v = &dce_vectors[k];

		cur = v->name;
		tether_arena_reset(arena);
		if (v->from_client) {
			int is_bind;

			memset(&in, 0, sizeof(in));
			if (tether_dce_pdu_decode(v->bytes, v->len, arena,
						  &in) < 0) {
				/* rpc_vers 4 and 5.1 binds: header only */
				tether_dce_hdr_decode(v->bytes, v->len,
						      &in.hdr);
			}
			is_bind = in.hdr.ptype == TETHER_DCE_PT_BIND;
			/* A client starts at call_id 1: a bind with it,
			 * or a request not after a bind nor inside a
			 * fragmented call, opens a new connection. */
			if (in.hdr.call_id == 1 &&
			    (is_bind || (!prev_bind && !mid_call))) {
				/* Earlier connections stay open: a later
				 * one may join their association group. */
				if (fd >= 0) {
					if (n_old < TETHER_ARRAY_SIZE(old))
						old[n_old++] = fd;
					else
						close(fd);
					check_collected();
				}
				fd = tcp_connect();
				skip = 0;
				bound = 0;
				/* a bind to another port (capture 01, 10):
				 * not the mapper's business */
				if (is_bind && in.hdr.rpc_vers == 5 &&
				    in.hdr.rpc_vers_minor == 0 &&
				    in.u.bind.n_context_elem == 1 &&
				    !is_epm(&in) &&
				    k + 1 < TETHER_ARRAY_SIZE(dce_vectors) &&
				    dce_vectors[k + 1].ptype ==
					    TETHER_DCE_PT_BIND_ACK &&
				    dce_vectors[k + 1].len == 56)
					skip = 1;
			}
			prev_bind = is_bind;
			mid_call =
				in.hdr.ptype == TETHER_DCE_PT_REQUEST &&
				!(in.hdr.pfc_flags & TETHER_DCE_PFC_LAST_FRAG);
			if (skip)
				continue;
			memcpy(send_buf, v->bytes, v->len);
			if (is_bind) {
				unsigned g;
				uint32_t id = in.u.bind.assoc_group_id;

				offered_recv = in.u.bind.max_recv_frag;
				/* a group Samba issued: use the one we
				 * issued at the same point */
				for (g = 0; g < n_groups; g++)
					if (samba_groups[g] == id) {
						id = our_groups[g];
						memcpy(send_buf + 20, &id, 4);
					}
			}
			if (in.hdr.ptype == TETHER_DCE_PT_REQUEST &&
			    (in.hdr.pfc_flags & TETHER_DCE_PFC_LAST_FRAG)) {
				size_t hoff = 0;
				const uint8_t *mine;

				last_rq = in.u.request;
				if (in.u.request.opnum ==
					    TETHER_DCE_EPM_LOOKUP &&
				    in.u.request.stub_len >= 24)
					hoff = 24 + in.u.request.stub_len - 24;
				else if (in.u.request.opnum ==
					 TETHER_DCE_EPM_LOOKUP_HANDLE_FREE)
					hoff = 24;
				/* a handle Samba issued: ours instead */
				if (hoff && (mine = our_handle(send_buf +
							       hoff)) != NULL)
					memcpy(send_buf + hoff, mine, 20);
			}
			if (write(fd, send_buf, v->len) != (ssize_t)v->len)
				CHECK(0, "write");
			osl = ssl = 0;
			ours_done = 0;
			/* a bind answered by nothing (unknown group): we
			 * close the connection, as Samba does */
			if (k + 1 == TETHER_ARRAY_SIZE(dce_vectors) ||
			    (dce_vectors[k + 1].from_client && is_bind)) {
				CHECK(recv_pdu(fd, ours, &olen) < 0,
				      "no answer, connection closed");
			}
			continue;
		}
		if (skip)
			continue;
		if (ours_done) {
			/* Samba needed more fragments than we did. */
			tether_dce_pdu_decode(v->bytes, v->len, arena, &sp);
			memcpy(sstub + ssl, sp.u.response.stub,
			       sp.u.response.stub_len);
			ssl += sp.u.response.stub_len;
			if (sp.hdr.pfc_flags & TETHER_DCE_PFC_LAST_FRAG)
				cmp_response(&last_rq, ostub, osl, sstub, ssl);
			continue;
		}
		/* Samba's answer v: read ours and compare. */
		if (recv_pdu(fd, ours, &olen) < 0) {
			CHECK(0, "no answer from tether-epmap");
			skip = 1;
			continue;
		}
		tether_dce_pdu_decode(v->bytes, v->len, arena, &sp);
		if (tether_dce_pdu_decode(ours, olen, arena, &op) < 0) {
			CHECK(0, "our answer does not decode");
			continue;
		}
		CHECK(op.hdr.call_id == sp.hdr.call_id, "call_id");
		if (sp.hdr.ptype == TETHER_DCE_PT_BIND_NAK &&
		    in.hdr.ptype == TETHER_DCE_PT_REQUEST) {
			/* divergence: a request before bind gets a fault
			 * (nca_s_proto_error), Samba a bind_nak. */
			CHECK(op.hdr.ptype == TETHER_DCE_PT_FAULT &&
				      op.u.fault.status ==
					      TETHER_DCE_nca_s_proto_error,
			      "request before bind: proto_error fault");
			continue;
		}
		if (sp.hdr.ptype == TETHER_DCE_PT_FAULT ||
		    op.hdr.ptype == TETHER_DCE_PT_FAULT) {
			uint32_t want = sp.hdr.ptype == TETHER_DCE_PT_FAULT
						? sp.u.fault.status
						: 0;

			want = expected_fault(&last_rq, want);
			CHECK(op.hdr.ptype == TETHER_DCE_PT_FAULT &&
				      op.u.fault.status == want,
			      "fault 0x%x, want 0x%x",
			      op.hdr.ptype == TETHER_DCE_PT_FAULT
				      ? op.u.fault.status
				      : 0,
			      want);
			if (want == sp.u.fault.status)
				CHECK(op.hdr.pfc_flags == sp.hdr.pfc_flags,
				      "fault flags 0x%x, Samba 0x%x",
				      op.hdr.pfc_flags, sp.hdr.pfc_flags);
			continue;
		}
		CHECK(op.hdr.ptype == sp.hdr.ptype, "ptype %u, Samba %u",
		      op.hdr.ptype, sp.hdr.ptype);
		if (op.hdr.ptype != sp.hdr.ptype)
			continue;
		switch (sp.hdr.ptype) {
		case TETHER_DCE_PT_BIND_ACK:
		case TETHER_DCE_PT_ALTER_CONTEXT_RESP: {
			const struct tether_dce_bind_ack *a = &op.u.bind_ack;
			const struct tether_dce_bind_ack *b = &sp.u.bind_ack;
			uint16_t i;

			bound = 1;
			CHECK(a->n_results == b->n_results, "n_results");
			for (i = 0; i < a->n_results && i < b->n_results; i++) {
				CHECK(a->results[i].result ==
						      b->results[i].result &&
					      a->results[i].reason ==
						      b->results[i].reason,
				      "result %u: %u/%u, Samba %u/%u", i,
				      a->results[i].result,
				      a->results[i].reason,
				      b->results[i].result,
				      b->results[i].reason);
				CHECK(same_syntax(&a->results[i],
						  &b->results[i]),
				      "result %u transfer syntax", i);
			}
			CHECK(a->assoc_group_id != 0, "assoc_group_id");
			if (sp.hdr.ptype == TETHER_DCE_PT_BIND_ACK &&
			    n_groups < 16) {
				samba_groups[n_groups] = b->assoc_group_id;
				our_groups[n_groups++] = a->assoc_group_id;
			}
			/* divergence: an offer under C706's 1432 is raised
			 * to 1432 (Samba: 2048); else both echo it. */
			if (offered_recv >= 1432)
				CHECK(a->max_xmit_frag == b->max_xmit_frag,
				      "max_xmit_frag %u, Samba %u",
				      a->max_xmit_frag, b->max_xmit_frag);
			else
				CHECK(a->max_xmit_frag == 1432,
				      "max_xmit_frag %u", a->max_xmit_frag);
			break;
		}
		case TETHER_DCE_PT_BIND_NAK:
			CHECK(op.u.bind_nak.reason == sp.u.bind_nak.reason,
			      "bind_nak reason %u, Samba %u",
			      op.u.bind_nak.reason, sp.u.bind_nak.reason);
			break;
		case TETHER_DCE_PT_RESPONSE:
			/* Collect fragments of both sides until the last. */
			memcpy(sstub + ssl, sp.u.response.stub,
			       sp.u.response.stub_len);
			ssl += sp.u.response.stub_len;
			memcpy(ostub + osl, op.u.response.stub,
			       op.u.response.stub_len);
			osl += op.u.response.stub_len;
			CHECK(olen <= 4280, "fragment within max_recv_frag");
			while (!(op.hdr.pfc_flags & TETHER_DCE_PFC_LAST_FRAG) &&
			       (sp.hdr.pfc_flags & TETHER_DCE_PFC_LAST_FRAG)) {
				/* we need more fragments than Samba */
				if (recv_pdu(fd, ours, &olen) < 0 ||
				    tether_dce_pdu_decode(ours, olen, arena,
							  &op) < 0)
					break;
				memcpy(ostub + osl, op.u.response.stub,
				       op.u.response.stub_len);
				osl += op.u.response.stub_len;
			}
			if (sp.hdr.pfc_flags & TETHER_DCE_PFC_LAST_FRAG)
				cmp_response(&last_rq, ostub, osl, sstub, ssl);
			else if (op.hdr.pfc_flags & TETHER_DCE_PFC_LAST_FRAG)
				ours_done = 1;
			break;
		default:
			break;
		}
		(void)bound;
	}
	if (fd >= 0) {
		close(fd);
		check_collected();
	}
	for (j = 0; j < n_old; j++)
		close(old[j]);
	tether_arena_free(arena);
}

int
main(int argc, char **argv)
{
	char a[TETHER_ADDR_STRLEN];

	if (argc != 4) {
		fprintf(stderr, "usage: epmap_replay HOST PORT SOCKET\n");
		return 2;
	}
	snprintf(a, sizeof(a), "%s:%s", argv[1], argv[2]);
	if (tether_addr_parse(&target, a, -1) < 0) {
		fprintf(stderr, "bad address %s\n", a);
		return 2;
	}
	register_samba(argv[3]);
	replay();
	printf("%d checks, %d failures\n", checks, failures);
	return failures ? 1 : 0;
}
