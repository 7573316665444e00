/*
 * client.c - a small blocking DCE/RPC client over a connected stream
 * socket: one bind, then one call at a time. For tests, the sample
 * service registering with tether-epmap, and benchmarks; not for use
 * inside an event loop (it waits in poll()).
 */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "dce/dce_int.h"

#define CLIENT_FRAG	5840
#define CLIENT_MAX_RESP (1024u * 1024u)

struct tether_dce_client {
	int fd;
	int timeout_ms;
	uint32_t call_id;
	uint32_t group;
	size_t xmit; /* the server's max_recv_frag */
	uint8_t pdu[TETHER_DCE_FRAG_MAX];
	uint8_t out[TETHER_DCE_FRAG_MAX];
	struct tether_dce_reasm reasm;
	struct tether_arena *arena;
};

static int
wait_fd(int fd, short ev, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int n;

	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return tether_err_from_errno(errno);
	return n == 0 ? -TETHER_ETIMEDOUT : 0;
}

static int
send_all(int fd, const uint8_t *p, size_t len, int timeout_ms)
{
	ssize_t n;
	int rc;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return tether_err_from_errno(errno);
			rc = wait_fd(fd, POLLOUT, timeout_ms);
			if (rc < 0)
				return rc;
			continue;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
recv_all(int fd, uint8_t *p, size_t len, int timeout_ms)
{
	ssize_t n;
	int rc;

	while (len > 0) {
		n = recv(fd, p, len, MSG_DONTWAIT);
		if (n == 0)
			return -TETHER_EOF;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return tether_err_from_errno(errno);
			rc = wait_fd(fd, POLLIN, timeout_ms);
			if (rc < 0)
				return rc;
			continue;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read one PDU into c->pdu and decode it. */
static int
recv_pdu(struct tether_dce_client *c, struct tether_dce_pdu *pdu)
{
	struct tether_dce_hdr h;
	int rc;

	rc = recv_all(c->fd, c->pdu, TETHER_DCE_HDR_LEN, c->timeout_ms);
	if (rc < 0)
		return rc;
	rc = tether_dce_hdr_decode(c->pdu, TETHER_DCE_HDR_LEN, &h);
	if (rc < 0)
		return rc;
	rc = recv_all(c->fd, c->pdu + TETHER_DCE_HDR_LEN,
		      h.frag_length - TETHER_DCE_HDR_LEN, c->timeout_ms);
	if (rc < 0)
		return rc;
	tether_arena_reset(c->arena);
	return tether_dce_pdu_decode(c->pdu, h.frag_length, c->arena, pdu);
}

void
tether_dce_client_free(struct tether_dce_client *c)
{
	if (c == NULL)
		return;
	tether_dce_reasm_free(&c->reasm);
	tether_arena_free(c->arena);
	tether_free(c);
}

uint32_t
tether_dce_client_assoc_group(const struct tether_dce_client *c)
{
	return c->group;
}

int
tether_dce_client_bind(int fd, const struct tether_dce_syntax *iface,
		       uint32_t assoc_group_id, int timeout_ms,
		       struct tether_dce_client **out, uint32_t *status)
{
	struct tether_dce_client *c;
	struct tether_dce_ctx_elem el;
	struct tether_dce_pdu pdu;
	size_t len;
	int rc;

	if (fd < 0 || iface == NULL || out == NULL)
		return -TETHER_EINVAL;
	if (status != NULL)
		*status = 0;
	c = tether_calloc(1, sizeof(*c));
	if (c == NULL)
		return -TETHER_ENOMEM;
	c->fd = fd;
	c->timeout_ms = timeout_ms;
	c->call_id = 1;
	tether_dce_reasm_init(&c->reasm, CLIENT_MAX_RESP);
	c->arena = tether_arena_new(0, 65536);
	if (c->arena == NULL) {
		rc = -TETHER_ENOMEM;
		goto fail;
	}
	memset(&el, 0, sizeof(el));
	el.p_cont_id = 0;
	el.n_transfer_syn = 1;
	el.abstract_syntax = *iface;
	el.transfer_syntaxes = &tether_dce_ndr20;
	tether_dce_pdu_init(&pdu, TETHER_DCE_PT_BIND, c->call_id++);
	pdu.u.bind.max_xmit_frag = CLIENT_FRAG;
	pdu.u.bind.max_recv_frag = CLIENT_FRAG;
	pdu.u.bind.assoc_group_id = assoc_group_id;
	pdu.u.bind.n_context_elem = 1;
	pdu.u.bind.ctx = &el;
	rc = tether_dce_pdu_encode(&pdu, c->out, sizeof(c->out), &len);
	if (rc == 0)
		rc = send_all(fd, c->out, len, timeout_ms);
	if (rc == 0)
		rc = recv_pdu(c, &pdu);
	if (rc < 0)
		goto fail;
	if (pdu.hdr.ptype == TETHER_DCE_PT_BIND_NAK) {
		if (status != NULL)
			*status = pdu.u.bind_nak.reason;
		rc = -TETHER_ECONNREFUSED;
		goto fail;
	}
	if (pdu.hdr.ptype != TETHER_DCE_PT_BIND_ACK ||
	    pdu.u.bind_ack.n_results != 1) {
		rc = -TETHER_EPROTO;
		goto fail;
	}
	if (pdu.u.bind_ack.results[0].result != TETHER_DCE_CTX_ACCEPTANCE) {
		if (status != NULL)
			*status = pdu.u.bind_ack.results[0].reason;
		rc = -TETHER_ECONNREFUSED;
		goto fail;
	}
	c->group = pdu.u.bind_ack.assoc_group_id;
	c->xmit = pdu.u.bind_ack.max_recv_frag;
	if (c->xmit < TETHER_DCE_FRAG_MIN_RECV)
		c->xmit = TETHER_DCE_FRAG_MIN_RECV;
	*out = c;
	return 0;

fail:
	tether_dce_client_free(c);
	return rc;
}

int
tether_dce_client_call(struct tether_dce_client *c, uint16_t opnum,
		       const struct tether_dce_uuid *object,
		       const uint8_t *stub, size_t stub_len,
		       const uint8_t **resp, size_t *resp_len, uint32_t *fault)
{
	struct tether_dce_pdu pdu;
	size_t off = 0, len;
	uint32_t call_id;
	int rc;

	if (c == NULL || resp == NULL || resp_len == NULL || fault == NULL ||
	    (stub_len && stub == NULL))
		return -TETHER_EINVAL;
	*fault = 0;
	*resp = NULL;
	*resp_len = 0;
	call_id = c->call_id++;
	tether_dce_pdu_init(&pdu, TETHER_DCE_PT_REQUEST, call_id);
	pdu.u.request.opnum = opnum;
	if (object != NULL) {
		pdu.hdr.pfc_flags |= TETHER_DCE_PFC_OBJECT_UUID;
		pdu.u.request.object = *object;
	}
	pdu.u.request.stub = stub;
	pdu.u.request.stub_len = stub_len;
	do {
		rc = tether_dce_fragment(&pdu, c->xmit, &off, c->out,
					 sizeof(c->out), &len);
		if (rc < 0)
			return rc;
		if (send_all(c->fd, c->out, len, c->timeout_ms) < 0)
			return -TETHER_EPIPE;
	} while (rc > 0);
	tether_dce_reasm_reset(&c->reasm);
	for (;;) {
		const uint8_t *s;
		size_t sl;

		rc = recv_pdu(c, &pdu);
		if (rc < 0)
			return rc;
		if (pdu.hdr.call_id != call_id)
			return -TETHER_EPROTO;
		if (pdu.hdr.ptype == TETHER_DCE_PT_FAULT) {
			*fault = pdu.u.fault.status;
			return 0;
		}
		if (pdu.hdr.ptype != TETHER_DCE_PT_RESPONSE)
			return -TETHER_EPROTO;
		rc = tether_dce_reasm_add(&c->reasm, &pdu, &s, &sl);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			/* A single fragment's stub points into c->pdu,
			 * which the next call overwrites: fine, the
			 * contract says "until the next call". */
			*resp = s;
			*resp_len = sl;
			return 0;
		}
	}
}
