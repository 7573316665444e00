/*
 * test_dce_server.c - the DCE/RPC server runtime driven over socketpairs
 * (and a loopback TCP listener with the blocking client in a thread):
 * bind negotiation against the reference captures, faults, naks,
 * association groups, reassembly, fragmentation, limits, idle timeout.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tether_test.h"
#include "dce_test_util.h"

/* ---- the test interface (EPM's syntax, made-up operations) ---- */

static int
op_fault(struct tether_dce_call *call)
{
	call->fault_status = 0x1234;
	return 0;
}

static int
op_trunc(struct tether_dce_call *call)
{
	struct tether_dce_ndr_reader r;
	uint32_t v;
	int rc;

	tether_dce_ndr_reader_init(&r, call->stub, call->stub_len, call->drep0);
	rc = tether_dce_ndr_get_u32(&r, &v);
	if (rc < 0)
		return rc;
	return -TETHER_ETRUNC;
}

/* Stub: u32 n; answer n bytes counting 0, 1, 2, ... */
static int
op_big(struct tether_dce_call *call)
{
	struct tether_dce_ndr_reader r;
	uint32_t n, i;
	int rc;

	tether_dce_ndr_reader_init(&r, call->stub, call->stub_len, call->drep0);
	rc = tether_dce_ndr_get_u32(&r, &n);
	if (rc < 0)
		return rc;
	for (i = 0; i < n; i++) {
		rc = tether_dce_ndr_put_u8(call->out, (uint8_t)i);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int last_local = -1;
static uint32_t last_group;

static int
op_echo(struct tether_dce_call *call)
{
	last_local = call->local;
	last_group = call->assoc_group_id;
	return tether_dce_ndr_put_bytes(call->out, call->stub, call->stub_len);
}

static tether_dce_op_fn *const test_ops[] = { op_fault, op_trunc, op_big,
					      op_echo, NULL };

static struct tether_dce_iface test_iface;

static uint32_t gone_ids[8];
static unsigned n_gone;

static void
on_gone(uint32_t id, void *ud)
{
	(void)ud;
	if (n_gone < TETHER_ARRAY_SIZE(gone_ids))
		gone_ids[n_gone] = id;
	n_gone++;
}

struct fx {
	struct tether_loop *loop;
	struct tether_dce_server *srv;
	uint8_t buf[TETHER_DCE_FRAG_MAX];
	size_t len;
	struct tether_arena *arena;
	struct tether_dce_pdu pdu;
};

static struct fx *
fx_new(const struct tether_dce_server_config *cfg)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct tether_dce_server_config c;

	assert_non_null(f);
	memset(&test_iface, 0, sizeof(test_iface));
	test_iface.syntax = tether_dce_epm_v3;
	test_iface.ops = test_ops;
	test_iface.n_ops = TETHER_ARRAY_SIZE(test_ops);
	if (cfg != NULL)
		c = *cfg;
	else
		memset(&c, 0, sizeof(c));
	c.btfn = 0x03;
	c.assoc_gone = on_gone;
	n_gone = 0;
	assert_int_equal(tether_loop_new(&f->loop, NULL), 0);
	assert_int_equal(tether_dce_server_new(f->loop, &c, &f->srv), 0);
	assert_int_equal(tether_dce_server_add_iface(f->srv, &test_iface), 0);
	f->arena = tether_arena_new(0, 0);
	assert_non_null(f->arena);
	return f;
}

static void
fx_free(struct fx *f)
{
	tether_dce_server_free(f->srv);
	tether_loop_free(f->loop);
	tether_arena_free(f->arena);
	free(f);
}

/* A connection: the server adopts one end, we keep the other. */
static int
fx_conn(struct fx *f, int local)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(tether_dce_server_adopt(f->srv, sv[0], local), 0);
	return sv[1];
}

static void
fx_send(int fd, const uint8_t *p, size_t len)
{
	assert_int_equal(write(fd, p, len), (ssize_t)len);
}

/* Run the loop until fd has n bytes to read or is closed. */
static void
fx_pump(struct fx *f, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int i;

	for (i = 0; i < 200; i++) {
		tether_loop_run_once(f->loop, 5);
		if (poll(&p, 1, 0) == 1)
			return;
	}
	{
		struct tether_dce_server_stats st;

		tether_dce_server_stats(f->srv, &st);
		fail_msg("no answer from the server (calls %llu conns %u)",
			 (unsigned long long)st.calls, st.conns);
	}
}

static void
read_n(int fd, uint8_t *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		r = read(fd, p, n);
		assert_true(r > 0);
		p += r;
		n -= (size_t)r;
	}
}

/* Read one PDU; returns 0, or -1 at EOF. */
static int
fx_recv(struct fx *f, int fd)
{
	struct tether_dce_hdr h;
	ssize_t r;

	fx_pump(f, fd);
	r = read(fd, f->buf, TETHER_DCE_HDR_LEN);
	if (r == 0)
		return -1;
	assert_int_equal(r, TETHER_DCE_HDR_LEN);
	assert_int_equal(tether_dce_hdr_decode(f->buf, 16, &h), 0);
	read_n(fd, f->buf + 16, h.frag_length - 16u);
	f->len = h.frag_length;
	tether_arena_reset(f->arena);
	assert_int_equal(
		tether_dce_pdu_decode(f->buf, f->len, f->arena, &f->pdu), 0);
	return 0;
}

static void
expect_eof(struct fx *f, int fd)
{
	uint8_t b;

	fx_pump(f, fd);
	assert_int_equal(read(fd, &b, 1), 0);
}

static void
do_bind(struct fx *f, int fd)
{
	const struct dce_vector *v = vec("c01-000");

	fx_send(fd, v->bytes, v->len);
	assert_int_equal(fx_recv(f, fd), 0);
	assert_int_equal(f->pdu.hdr.ptype, TETHER_DCE_PT_BIND_ACK);
}

/* A request PDU for ctx/opnum with stub. */
static size_t
mk_request(uint8_t *buf, size_t cap, uint32_t call_id, uint16_t ctx,
	   uint16_t opnum, const uint8_t *stub, size_t len, uint8_t flags)
{
	struct tether_dce_pdu pdu;
	size_t n;

	tether_dce_pdu_init(&pdu, TETHER_DCE_PT_REQUEST, call_id);
	pdu.hdr.pfc_flags = flags;
	pdu.u.request.p_cont_id = ctx;
	pdu.u.request.opnum = opnum;
	pdu.u.request.stub = stub;
	pdu.u.request.stub_len = len;
	pdu.u.request.alloc_hint = (uint32_t)len;
	assert_int_equal(tether_dce_pdu_encode(&pdu, buf, cap, &n), 0);
	return n;
}

static void
expect_fault(struct fx *f, uint32_t call_id, uint32_t status, uint8_t flags)
{
	assert_int_equal(f->pdu.hdr.ptype, TETHER_DCE_PT_FAULT);
	assert_int_equal(f->pdu.hdr.call_id, call_id);
	assert_int_equal(f->pdu.hdr.pfc_flags, flags);
	assert_int_equal(f->pdu.u.fault.status, status);
	assert_int_equal(f->len, 32);
}

/* ---- tests ---- */

static void
test_bind_matches_capture(void **state)
{
	const struct dce_vector *ack = vec("c01-001");
	struct tether_dce_pdu ref;
	struct fx *f = fx_new(NULL);
	int fd = fx_conn(f, 0);

	(void)state;
	do_bind(f, fd);
	assert_int_equal(
		tether_dce_pdu_decode(ack->bytes, ack->len, f->arena, &ref), 0);
	assert_int_equal(f->pdu.hdr.call_id, ref.hdr.call_id);
	assert_int_equal(f->pdu.hdr.pfc_flags, ref.hdr.pfc_flags);
	assert_int_equal(f->pdu.u.bind_ack.max_xmit_frag, 4280);
	assert_int_equal(f->pdu.u.bind_ack.max_recv_frag, 4280);
	assert_int_not_equal(f->pdu.u.bind_ack.assoc_group_id, 0);
	assert_int_equal(f->pdu.u.bind_ack.n_results, 1);
	assert_int_equal(f->pdu.u.bind_ack.results[0].result, 0);
	assert_true(tether_dce_uuid_equal(
		&f->pdu.u.bind_ack.results[0].transfer_syntax.uuid,
		&ref.u.bind_ack.results[0].transfer_syntax.uuid));
	close(fd);
	fx_free(f);
}

static void
test_bind_windows_style(void **state)
{
	const struct dce_vector *bind = vec("c04-000");
	const struct dce_vector *ack = vec("c04-001");
	struct tether_dce_pdu ref;
	struct fx *f = fx_new(NULL);
	int fd = fx_conn(f, 0), i;

	(void)state;
	fx_send(fd, bind->bytes, bind->len);
	assert_int_equal(fx_recv(f, fd), 0);
	assert_int_equal(f->pdu.hdr.ptype, TETHER_DCE_PT_BIND_ACK);
	assert_int_equal(
		tether_dce_pdu_decode(ack->bytes, ack->len, f->arena, &ref), 0);
	assert_int_equal(f->pdu.u.bind_ack.n_results, 3);
	for (i = 0; i < 3; i++) {
		const struct tether_dce_ctx_result *a =
			&f->pdu.u.bind_ack.results[i];
		const struct tether_dce_ctx_result *b =
			&ref.u.bind_ack.results[i];

		assert_int_equal(a->result, b->result);
		assert_int_equal(a->reason, b->reason);
		assert_int_equal(memcmp(&a->transfer_syntax,
					&b->transfer_syntax,
					sizeof(a->transfer_syntax)),
				 0);
	}
	close(fd);
	fx_free(f);
}

static void
test_request_before_bind(void **state)
{
	struct fx *f = fx_new(NULL);
	int fd = fx_conn(f, 0);
	uint8_t req[64];
	size_t n = mk_request(req, sizeof(req), 7, 0, 3, NULL, 0, 3);

	(void)state;
	fx_send(fd, req, n);
	assert_int_equal(fx_recv(f, fd), 0);
	expect_fault(f, 7, TETHER_DCE_nca_s_proto_error, 0x23);
	expect_eof(f, fd);
	close(fd);
	fx_free(f);
}

static void
test_faults(void **state)
{
	struct fx *f = fx_new(NULL);
	int fd = fx_conn(f, 0);
	uint8_t req[128], stub[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	size_t n;

	(void)state;
	do_bind(f, fd);
	/* unknown opnum, and an opnum with no handler */
	n = mk_request(req, sizeof(req), 2, 0, 99, NULL, 0, 3);
	fx_send(fd, req, n);
	assert_int_equal(fx_recv(f, fd), 0);
	expect_fault(f, 2, TETHER_DCE_nca_s_op_rng_error, 0x23);
	n = mk_request(req, sizeof(req), 3, 0, 4, NULL, 0, 3);
	fx_send(fd, req, n);
	assert_int_equal(fx_recv(f, fd), 0);
	expect_fault(f, 3, TETHER_DCE_nca_s_op_rng_error, 0x23);
	/* unknown context */
	n = mk_request(req, sizeof(req), 4, 7, 3, NULL, 0, 3);
	fx_send(fd, req, n);
	assert_int_equal(fx_recv(f, fd), 0);
	expect_fault(f, 4, TETHER_DCE_nca_s_unk_if, 0x23);
	/* a stub the handler cannot decode: executed, so no 0x20 */
	n = mk_request(req, sizeof(req), 5, 0, 1, stub, 2, 3);
	fx_send(fd, req, n);
	assert_int_equal(fx_recv(f, fd), 0);
	expect_fault(f, 5, TETHER_DCE_nca_s_fault_ndr, 0x03);
	n = mk_request(req, sizeof(req), 6, 0, 1, stub, 8, 3);
	fx_send(fd, req, n);
	assert_int_equal(fx_recv(f, fd), 0);
	expect_fault(f, 6, TETHER_DCE_nca_s_fault_ndr, 0x03);
	/* a handler's own status */
	n = mk_request(req, sizeof(req), 8, 0, 0, NULL, 0, 3);
	fx_send(fd, req, n);
	assert_int_equal(fx_recv(f, fd), 0);
	expect_fault(f, 8, 0x1234, 0x03);
	/* the connection still works */
	n = mk_request(req, sizeof(req), 9, 0, 3, stub, 8, 3);
	fx_send(fd, req, n);
	assert_int_equal(fx_recv(f, fd), 0);
	assert_int_equal(f->pdu.hdr.ptype, TETHER_DCE_PT_RESPONSE);
	assert_int_equal(f->pdu.u.response.stub_len, 8);
	assert_memory_equal(f->pdu.u.response.stub, stub, 8);
	assert_int_equal(last_local, 0);
	close(fd);
	fx_free(f);
}

static void
test_bad_versions_nak(void **state)
{
	const struct dce_vector *v = vec("c01-000");
	uint8_t b[128];
	int minor;

	(void)state;
	for (minor = 0; minor < 2; minor++) {
		struct fx *f = fx_new(NULL);
		int fd = fx_conn(f, 0);

		memcpy(b, v->bytes, v->len);
		if (minor)
			b[1] = 1;
		else
			b[0] = 4;
		fx_send(fd, b, v->len);
		assert_int_equal(fx_recv(f, fd), 0);
		assert_int_equal(f->pdu.hdr.ptype, TETHER_DCE_PT_BIND_NAK);
		assert_int_equal(f->pdu.u.bind_nak.reason, 4);
		assert_int_equal(f->pdu.u.bind_nak.n_versions, 1);
		assert_int_equal(f->pdu.u.bind_nak.versions[0][0], 5);
		assert_int_equal(f->pdu.u.bind_nak.versions[0][1], 0);
		expect_eof(f, fd);
		close(fd);
		fx_free(f);
	}
}

static void
test_auth_bind_nak(void **state)
{
	struct tether_dce_ctx_elem el;
	struct tether_dce_pdu pdu;
	uint8_t b[256], cred[16] = { 0 };
	size_t n;
	struct fx *f = fx_new(NULL);
	int fd = fx_conn(f, 0);

	(void)state;
	memset(&el, 0, sizeof(el));
	el.n_transfer_syn = 1;
	el.abstract_syntax = tether_dce_epm_v3;
	el.transfer_syntaxes = &tether_dce_ndr20;
	tether_dce_pdu_init(&pdu, TETHER_DCE_PT_BIND, 1);
	pdu.u.bind.max_xmit_frag = pdu.u.bind.max_recv_frag = 4280;
	pdu.u.bind.n_context_elem = 1;
	pdu.u.bind.ctx = &el;
	pdu.hdr.auth_length = sizeof(cred);
	pdu.auth.type = 10; /* NTLMSSP */
	pdu.auth.level = 2;
	pdu.auth.value = cred;
	assert_int_equal(tether_dce_pdu_encode(&pdu, b, sizeof(b), &n), 0);
	fx_send(fd, b, n);
	assert_int_equal(fx_recv(f, fd), 0);
	assert_int_equal(f->pdu.hdr.ptype, TETHER_DCE_PT_BIND_NAK);
	assert_int_equal(f->pdu.u.bind_nak.reason,
			 TETHER_DCE_NAK_AUTH_TYPE_NOT_RECOGNIZED);
	expect_eof(f, fd);
	close(fd);
	fx_free(f);
}

static void
test_second_bind_and_empty_bind(void **state)
{
	const struct dce_vector *v = vec("c01-000");
	struct tether_dce_pdu pdu;
	uint8_t b[128], stub[4] = { 9, 9, 9, 9 };
	size_t n;
	struct fx *f = fx_new(NULL);
	int fd = fx_conn(f, 0);

	(void)state;
	do_bind(f, fd);
	fx_send(fd, v->bytes, v->len);
	assert_int_equal(fx_recv(f, fd), 0);
	assert_int_equal(f->pdu.hdr.ptype, TETHER_DCE_PT_BIND_NAK);
	assert_int_equal(f->pdu.u.bind_nak.reason, 0);
	/* still bound: the first bind's context works */
	n = mk_request(b, sizeof(b), 2, 0, 3, stub, 4, 3);
	fx_send(fd, b, n);
	assert_int_equal(fx_recv(f, fd), 0);
	assert_int_equal(f->pdu.hdr.ptype, TETHER_DCE_PT_RESPONSE);
	close(fd);

	fd = fx_conn(f, 0);
	tether_dce_pdu_init(&pdu, TETHER_DCE_PT_BIND, 1);
	pdu.u.bind.max_xmit_frag = pdu.u.bind.max_recv_frag = 4280;
	assert_int_equal(tether_dce_pdu_encode(&pdu, b, sizeof(b), &n), 0);
	fx_send(fd, b, n);
	assert_int_equal(fx_recv(f, fd), 0);
	assert_int_equal(f->pdu.hdr.ptype, TETHER_DCE_PT_BIND_NAK);
	assert_int_equal(f->pdu.u.bind_nak.reason, 0);
	expect_eof(f, fd);
	close(fd);
	fx_free(f);
}

static void
test_alter_context(void **state)
{
	const struct dce_vector *alt = vec("c06-006");
	const struct dce_vector *ref = vec("c06-007");
	struct fx *f = fx_new(NULL);
	int fd = fx_conn(f, 0);

	(void)state;
	/* before a bind: a protocol error, the connection goes */
	fx_send(fd, alt->bytes, alt->len);
	expect_eof(f, fd);
	close(fd);

	fd = fx_conn(f, 0);
	do_bind(f, fd);
	fx_send(fd, alt->bytes, alt->len);
	assert_int_equal(fx_recv(f, fd), 0);
	assert_int_equal(f->pdu.hdr.ptype, TETHER_DCE_PT_ALTER_CONTEXT_RESP);
	assert_int_equal(f->len, ref->len); /* 56: no sec_addr */
	assert_int_equal(f->pdu.u.bind_ack.n_results, 1);
	assert_int_equal(f->pdu.u.bind_ack.results[0].result, 0);
	close(fd);
	fx_free(f);
}

static void
test_assoc_groups(void **state)
{
	const struct dce_vector *v = vec("c01-000");
	uint8_t b[128], stub[4] = { 1, 2, 3, 4 };
	uint32_t id;
	size_t n;
	struct tether_dce_server_stats st;
	struct fx *f = fx_new(NULL);
	int a = fx_conn(f, 0), c, d;

	(void)state;
	do_bind(f, a);
	id = f->pdu.u.bind_ack.assoc_group_id;
	/* join the group from a second connection */
	c = fx_conn(f, 1);
	memcpy(b, v->bytes, v->len);
	b[20] = (uint8_t)id;
	b[21] = (uint8_t)(id >> 8);
	b[22] = (uint8_t)(id >> 16);
	b[23] = (uint8_t)(id >> 24);
	fx_send(c, b, v->len);
	assert_int_equal(fx_recv(f, c), 0);
	assert_int_equal(f->pdu.hdr.ptype, TETHER_DCE_PT_BIND_ACK);
	assert_int_equal(f->pdu.u.bind_ack.assoc_group_id, id);
	n = mk_request(b + 64, 64, 2, 0, 3, stub, 4, 3);
	fx_send(c, b + 64, n);
	assert_int_equal(fx_recv(f, c), 0);
	assert_int_equal(last_group, id);
	assert_int_equal(last_local, 1);
	tether_dce_server_stats(f->srv, &st);
	assert_int_equal(st.groups, 1);
	/* a group we never issued: closed, no answer */
	d = fx_conn(f, 0);
	b[20] ^= 0x5a;
	fx_send(d, b, v->len);
	expect_eof(f, d);
	close(d);
	/* the group lives until its last connection goes */
	close(a);
	tether_loop_run_once(f->loop, 10);
	tether_loop_run_once(f->loop, 10);
	assert_int_equal(n_gone, 0);
	close(c);
	tether_loop_run_once(f->loop, 10);
	tether_loop_run_once(f->loop, 10);
	assert_int_equal(n_gone, 1);
	assert_int_equal(gone_ids[0], id);
	tether_dce_server_stats(f->srv, &st);
	assert_int_equal(st.groups, 0);
	assert_int_equal(st.conns, 0);
	fx_free(f);
}

/* Capture 08: an ept_map stub in 16-byte fragments, reassembled. */
static void
test_reassembly_capture(void **state)
{
	struct fx *f = fx_new(NULL);
	int fd = fx_conn(f, 0), i;
	uint8_t whole[256];
	size_t wl = 0;
	char name[8];

	(void)state;
	do_bind(f, fd);
	for (i = 2; i <= 9; i++) {
		const struct dce_vector *v;
		struct tether_dce_pdu p;

		snprintf(name, sizeof(name), "c08-%03d", i);
		v = vec(name);
		assert_int_equal(
			tether_dce_pdu_decode(v->bytes, v->len, NULL, &p), 0);
		memcpy(whole + wl, p.u.request.stub, p.u.request.stub_len);
		wl += p.u.request.stub_len;
		fx_send(fd, v->bytes, v->len);
	}
	assert_int_equal(fx_recv(f, fd), 0);
	assert_int_equal(f->pdu.hdr.ptype, TETHER_DCE_PT_RESPONSE);
	assert_int_equal(f->pdu.u.response.stub_len, wl);
	assert_memory_equal(f->pdu.u.response.stub, whole, wl);
	close(fd);
	fx_free(f);
}

static void
test_response_fragmentation(void **state)
{
	const struct dce_vector *v = vec("c01-000");
	uint8_t b[128], stub[4];
	uint32_t total = 5000, got = 0;
	size_t n;
	struct fx *f = fx_new(NULL);
	int fd = fx_conn(f, 0), frags = 0;

	(void)state;
	memcpy(b, v->bytes, v->len);
	b[18] = 0x00; /* max_recv_frag 1024: raised to 1432 */
	b[19] = 0x04;
	fx_send(fd, b, v->len);
	assert_int_equal(fx_recv(f, fd), 0);
	assert_int_equal(f->pdu.u.bind_ack.max_xmit_frag, 1432);
	memcpy(stub, &total, 4);
	n = mk_request(b, sizeof(b), 2, 0, 2, stub, 4, 3);
	fx_send(fd, b, n);
	for (;;) {
		const struct tether_dce_response *r = &f->pdu.u.response;
		uint32_t i;

		assert_int_equal(fx_recv(f, fd), 0);
		assert_int_equal(f->pdu.hdr.ptype, TETHER_DCE_PT_RESPONSE);
		assert_true(f->len <= 1432);
		assert_int_equal(r->alloc_hint, total - got);
		assert_int_equal(!!(f->pdu.hdr.pfc_flags & 1), frags == 0);
		for (i = 0; i < r->stub_len; i++)
			assert_int_equal(r->stub[i], (uint8_t)(got + i));
		got += (uint32_t)r->stub_len;
		frags++;
		if (f->pdu.hdr.pfc_flags & 2)
			break;
		assert_int_equal(r->stub_len % 8, 0);
	}
	assert_int_equal(got, total);
	assert_int_equal(frags, 4);
	close(fd);
	fx_free(f);
}

static void
test_limits(void **state)
{
	struct tether_dce_server_config cfg;
	struct tether_dce_server_stats st;
	uint8_t b[8192], stub[2048];
	size_t n;
	struct fx *f;
	int fd, fd2, sv[2];

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.max_conns = 2;
	cfg.max_stub = 3000;
	cfg.idle_ms = 30;
	cfg.max_frag = 4280;
	f = fx_new(&cfg);
	memset(stub, 0xab, sizeof(stub));

	/* a reassembled request over max_stub */
	fd = fx_conn(f, 0);
	do_bind(f, fd);
	n = mk_request(b, sizeof(b), 2, 0, 3, stub, 2048, 1);
	fx_send(fd, b, n);
	n = mk_request(b, sizeof(b), 2, 0, 3, stub, 2048, 2);
	fx_send(fd, b, n);
	assert_int_equal(fx_recv(f, fd), 0);
	expect_fault(f, 2, TETHER_DCE_nca_s_proto_error, 0x23);
	expect_eof(f, fd);
	close(fd);

	/* a fragment over max_frag: dropped before it is buffered */
	fd = fx_conn(f, 0);
	do_bind(f, fd);
	n = mk_request(b, sizeof(b), 2, 0, 3, stub, 8, 3);
	b[8] = (uint8_t)(4400 & 0xff);
	b[9] = (uint8_t)(4400 >> 8);
	fx_send(fd, b, 16);
	expect_eof(f, fd);
	close(fd);

	/* max_conns */
	fd = fx_conn(f, 0);
	fd2 = fx_conn(f, 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_tether_err(tether_dce_server_adopt(f->srv, sv[0], 0),
			  TETHER_EBUSY);
	close(sv[1]);

	/* idle connections go */
	expect_eof(f, fd);
	expect_eof(f, fd2);
	tether_dce_server_stats(f->srv, &st);
	assert_int_equal(st.idle_closed, 2);
	assert_int_equal(st.refused, 1);
	assert_int_equal(st.conns, 0);
	close(fd);
	close(fd2);
	fx_free(f);
}

/* A client that sends many calls and does not read: the server stops
 * taking input once max_out bytes of answers wait, and loses nothing. */
static void
test_backpressure(void **state)
{
	struct tether_dce_server_config cfg;
	struct tether_dce_server_stats st;
	static uint8_t reqs[40 * 32];
	uint32_t big = 20000, got = 0;
	uint8_t stub[4];
	size_t n, len = 0;
	struct fx *f;
	int fd, i, calls_done = 0;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.max_out = 8192;
	f = fx_new(&cfg);
	fd = fx_conn(f, 0);
	do_bind(f, fd);
	memcpy(stub, &big, 4);
	for (i = 0; i < 40; i++) {
		n = mk_request(reqs + len, sizeof(reqs) - len,
			       (uint32_t)(10 + i), 0, 2, stub, 4, 3);
		len += n;
	}
	fx_send(fd, reqs, len);
	for (i = 0; i < 50; i++)
		tether_loop_run_once(f->loop, 1);
	tether_dce_server_stats(f->srv, &st);
	/* 800 kB of answers cannot all be queued in the kernel */
	assert_true(st.calls < 40);
	while (calls_done < 40) {
		assert_int_equal(fx_recv(f, fd), 0);
		assert_int_equal(f->pdu.hdr.ptype, TETHER_DCE_PT_RESPONSE);
		assert_int_equal(f->pdu.hdr.call_id,
				 10u + (unsigned)calls_done);
		got += (uint32_t)f->pdu.u.response.stub_len;
		if (f->pdu.hdr.pfc_flags & TETHER_DCE_PFC_LAST_FRAG) {
			assert_int_equal(got, big);
			got = 0;
			calls_done++;
		}
	}
	tether_dce_server_stats(f->srv, &st);
	assert_int_equal(st.calls, 40);
	close(fd);
	fx_free(f);
}

static void
test_garbage_and_client_ptypes(void **state)
{
	const struct dce_vector *resp = vec("c01-003");
	uint8_t junk[16] = { 5, 0, 0, 3, 0x77, 0, 0, 0, 8, 0, 0, 0 };
	struct fx *f = fx_new(NULL);
	int fd = fx_conn(f, 0);

	(void)state;
	/* a bad data representation */
	fx_send(fd, junk, sizeof(junk));
	expect_eof(f, fd);
	close(fd);
	/* a server PDU from the client */
	fd = fx_conn(f, 0);
	do_bind(f, fd);
	fx_send(fd, resp->bytes, resp->len);
	expect_eof(f, fd);
	close(fd);
	fx_free(f);
}

static void
test_config_errors_and_alloc_failures(void **state)
{
	struct tether_dce_server_config cfg;
	struct tether_dce_server *srv;
	struct tether_loop *loop;
	unsigned long i;
	int rc;

	(void)state;
	assert_int_equal(tether_loop_new(&loop, NULL), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.max_frag = 100;
	assert_tether_err(tether_dce_server_new(loop, &cfg, &srv),
			  TETHER_EINVAL);
	for (i = 1; i < 20; i++) {
		tether_alloc_fail_at(i, 0);
		rc = tether_dce_server_new(loop, NULL, &srv);
		tether_alloc_fail_at(0, 0);
		if (rc == 0) {
			tether_dce_server_free(srv);
			break;
		}
		assert_tether_err(rc, TETHER_ENOMEM);
	}
	assert_true(i < 20);
	/* adopt under allocation failure: refused cleanly */
	assert_int_equal(tether_dce_server_new(loop, NULL, &srv), 0);
	for (i = 1; i < 10; i++) {
		int sv[2];

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		tether_alloc_fail_at(i, 0);
		rc = tether_dce_server_adopt(srv, sv[0], 0);
		tether_alloc_fail_at(0, 0);
		close(sv[1]);
		if (rc == 0)
			break;
		assert_tether_err(rc, TETHER_ENOMEM);
	}
	assert_true(i < 10);
	tether_dce_server_free(srv);
	tether_loop_free(loop);
}

/* ---- over TCP with the blocking client ---- */

struct thr {
	struct tether_loop *loop;
	int stop_fd;
};

static void
on_stop(struct tether_loop *loop, int fd, unsigned ev, void *ud)
{
	(void)fd;
	(void)ev;
	(void)ud;
	tether_loop_stop(loop);
}

static void *
run_loop(void *ud)
{
	struct thr *t = ud;

	tether_loop_run(t->loop);
	return NULL;
}

static void
test_tcp_client(void **state)
{
	struct tether_addr a;
	struct fx *f = fx_new(NULL);
	struct tether_dce_client *cl;
	const uint8_t *resp;
	size_t rl;
	uint32_t fault, n = 20000, i, st;
	struct thr t;
	pthread_t th;
	uint8_t stub[4];
	int port, fd, pp[2];
	struct tether_dce_syntax other = tether_dce_epm_v3;

	(void)state;
	assert_int_equal(tether_addr_parse(&a, "127.0.0.1:0", -1), 0);
	assert_int_equal(tether_dce_server_listen(f->srv, &a, &port), 0);
	assert_true(port > 0);
	assert_int_equal(pipe(pp), 0);
	assert_int_equal(tether_loop_fd_add(f->loop, pp[0], TETHER_LOOP_READ,
					    on_stop, NULL),
			 0);
	t.loop = f->loop;
	assert_int_equal(pthread_create(&th, NULL, run_loop, &t), 0);

	assert_int_equal(tether_addr_set_port(&a, port), 0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a.ss, a.len), 0);
	assert_int_equal(tether_dce_client_bind(fd, &tether_dce_epm_v3, 0, 5000,
						&cl, NULL),
			 0);
	assert_int_not_equal(tether_dce_client_assoc_group(cl), 0);
	memcpy(stub, &n, 4);
	assert_int_equal(tether_dce_client_call(cl, 2, NULL, stub, 4, &resp,
						&rl, &fault),
			 0);
	assert_int_equal(fault, 0);
	assert_int_equal(rl, n);
	for (i = 0; i < n; i++)
		assert_int_equal(resp[i], (uint8_t)i);
	assert_int_equal(tether_dce_client_call(cl, 0, NULL, NULL, 0, &resp,
						&rl, &fault),
			 0);
	assert_int_equal(fault, 0x1234);
	tether_dce_client_free(cl);
	close(fd);

	/* an interface the server does not host */
	other.vers_major = 4;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a.ss, a.len), 0);
	assert_tether_err(tether_dce_client_bind(fd, &other, 0, 5000, &cl, &st),
			  TETHER_ECONNREFUSED);
	assert_int_equal(st, TETHER_DCE_REASON_ABSTRACT_SYNTAX_NOT_SUPPORTED);
	close(fd);

	assert_int_equal(write(pp[1], "x", 1), 1);
	pthread_join(th, NULL);
	tether_loop_fd_del(f->loop, pp[0]);
	close(pp[0]);
	close(pp[1]);
	fx_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bind_matches_capture),
		cmocka_unit_test(test_bind_windows_style),
		cmocka_unit_test(test_request_before_bind),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_bad_versions_nak),
		cmocka_unit_test(test_auth_bind_nak),
		cmocka_unit_test(test_second_bind_and_empty_bind),
		cmocka_unit_test(test_alter_context),
		cmocka_unit_test(test_assoc_groups),
		cmocka_unit_test(test_reassembly_capture),
		cmocka_unit_test(test_response_fragmentation),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_garbage_and_client_ptypes),
		cmocka_unit_test(test_config_errors_and_alloc_failures),
		cmocka_unit_test(test_tcp_client),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
