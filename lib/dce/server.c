/*
 * server.c - the DCE/RPC connection-oriented server runtime on lib/core's
 * loop: listeners, connections, bind / alter_context, association groups,
 * request reassembly, dispatch by opnum, faults and fragmented responses.
 *
 * How a connection moves: bytes -> framer -> one decoded PDU at a time.
 * Before a bind only bind is answered (a request gets nca_s_proto_error
 * and the connection is closed). A bind is answered bind_ack (even when no
 * context is acceptable: every element carries its own result, C706
 * 12.6.4.4) or bind_nak: reason 4 for a version other than 5.0, reason 8
 * for an authenticated bind (we do no auth), reason 0 for an empty context
 * list and for a second bind (alter_context adds contexts). A bind naming
 * an association group we never issued is not answered: the connection is
 * closed, as the reference endpoint mapper does, so a client (or a load
 * balancer) learns that the group lives elsewhere. Requests are reassembled
 * up to max_stub; an unknown context gets nca_s_unk_if, an opnum without a
 * handler nca_s_op_rng_error (both with DID_NOT_EXECUTE), an undecodable
 * stub nca_s_fault_ndr. Responses are cut to the fragment size negotiated
 * at bind: the client's max_recv_frag, never below C706's 1432 every
 * receiver must take, never above ours.
 *
 * Lifetimes: a connection is freed only at the end of its own I/O callback
 * or from its idle timer, never from under the code handling its PDUs
 * (which only marks it dead). Association groups are reference counted by
 * connections; the last one going calls assoc_gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dce/dce_int.h"

#define MAX_LISTENERS	  8
#define READ_CHUNK	  8192
#define READS_PER_EVENT	  4
#define ACCEPTS_PER_EVENT 16

struct group {
	uint32_t id;
	unsigned refs;
	struct group *next;
};

struct listener {
	struct tether_dce_server *srv;
	int fd;
	int local;
	int port;
};

struct ctx_slot {
	uint16_t id;
	const struct tether_dce_iface *iface;
};

struct conn {
	struct tether_dce_server *srv;
	struct conn *prev, *next;
	int fd;
	int local;
	long peer_uid; /* SO_PEERCRED of a local peer, -1 when unknown */
	int bound;
	int dead;    /* close at the end of the callback */
	int closing; /* close once out is flushed */
	int in_cb;
	unsigned events; /* interest registered with the loop */
	struct tether_addr local_addr, peer_addr;
	char sec_addr[12];
	struct tether_dce_framer framer;
	struct tether_dce_reasm reasm;
	struct tether_buf out;
	/* Input read but not yet framed: kept while too much output
	 * waits, so one read cannot make unbounded output. */
	uint8_t in[READ_CHUNK];
	size_t in_off, in_len;
	struct tether_loop_timer *idle;
	struct group *group;
	size_t xmit; /* largest fragment we send */
	size_t recv; /* largest fragment we said we take */
	unsigned n_ctx;
	struct ctx_slot *ctx;
};

struct tether_dce_server {
	struct tether_loop *loop;
	struct tether_dce_server_config cfg;
	const struct tether_dce_iface *ifaces[TETHER_DCE_SRV_MAX_IFACES];
	struct tether_dce_syntax syntaxes[TETHER_DCE_SRV_MAX_IFACES];
	size_t n_ifaces;
	struct listener listeners[MAX_LISTENERS];
	size_t n_listeners;
	struct conn *conns;
	struct group *groups;
	uint64_t group_seq;
	struct tether_hash_key group_key;
	uint8_t *resp; /* response stub scratch, max_resp_stub bytes */
	uint8_t *frag; /* one encoded PDU, TETHER_DCE_FRAG_MAX bytes */
	struct tether_dce_ctx_result *results; /* 255 entries */
	struct tether_arena *arena;
	struct tether_dce_server_stats st;
};

static void conn_free(struct conn *c);
static void conn_io(struct tether_loop *loop, int fd, unsigned ev, void *ud);

/* ---- association groups ---- */

static struct group *
group_find(struct tether_dce_server *srv, uint32_t id)
{
	struct group *g;

	for (g = srv->groups; g != NULL; g = g->next)
		if (g->id == id)
			return g;
	return NULL;
}

static struct group *
group_new(struct tether_dce_server *srv)
{
	struct group *g;
	uint32_t id;

	/* Hard to guess, so another client cannot join a group (and use
	 * its context handles) by counting. */
	do {
		id = (uint32_t)tether_hash_siphash(&srv->group_key,
						   &srv->group_seq,
						   sizeof(srv->group_seq));
		srv->group_seq++;
	} while (id == 0 || group_find(srv, id) != NULL);
	g = tether_calloc(1, sizeof(*g));
	if (g == NULL)
		return NULL;
	g->id = id;
	g->next = srv->groups;
	srv->groups = g;
	srv->st.groups++;
	return g;
}

static void
group_put(struct tether_dce_server *srv, struct group *g)
{
	struct group **pp;

	TETHER_BUG_ON(g->refs == 0);
	if (--g->refs > 0)
		return;
	for (pp = &srv->groups; *pp != g; pp = &(*pp)->next)
		;
	*pp = g->next;
	srv->st.groups--;
	if (srv->cfg.assoc_gone != NULL)
		srv->cfg.assoc_gone(g->id, srv->cfg.assoc_gone_ud);
	tether_free(g);
}

/* ---- output ---- */

static void
conn_want(struct conn *c, unsigned events)
{
	if (c->dead || events == c->events)
		return;
	if (tether_loop_fd_mod(c->srv->loop, c->fd, events) == 0)
		c->events = events;
	else
		c->dead = 1;
}

static void
conn_flush(struct conn *c)
{
	ssize_t n;

	while (c->out.len > 0 && !c->dead) {
		n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			c->dead = 1;
			return;
		}
		tether_buf_consume(&c->out, (size_t)n);
	}
	if (c->out.len == 0 && c->closing)
		c->dead = 1;
	if (c->dead)
		return;
	/* Stop reading while the peer does not read our answers, or once
	 * we only wait to flush before closing. */
	if (c->out.len > 0)
		conn_want(c, c->closing || c->out.len >= c->srv->cfg.max_out
				     ? TETHER_LOOP_WRITE
				     : TETHER_LOOP_READ | TETHER_LOOP_WRITE);
	else
		conn_want(c, TETHER_LOOP_READ);
}

/* Encode pdu and queue it; a connection that cannot take it dies. */
static int
conn_queue(struct conn *c, const struct tether_dce_pdu *pdu)
{
	size_t len;
	int rc;

	rc = tether_dce_pdu_encode(pdu, c->srv->frag, TETHER_DCE_FRAG_MAX,
				   &len);
	if (rc == 0)
		rc = tether_buf_append(&c->out, c->srv->frag, len);
	if (rc < 0)
		c->dead = 1;
	return rc;
}

static void
send_nak(struct conn *c, uint32_t call_id, uint16_t reason, int close_after)
{
	struct tether_dce_pdu pdu;

	tether_dce_pdu_init(&pdu, TETHER_DCE_PT_BIND_NAK, call_id);
	pdu.u.bind_nak.reason = reason;
	pdu.u.bind_nak.n_versions = 1;
	pdu.u.bind_nak.versions[0][0] = 5;
	pdu.u.bind_nak.versions[0][1] = 0;
	c->srv->st.naks++;
	conn_queue(c, &pdu);
	if (close_after)
		c->closing = 1;
}

static void
send_fault(struct conn *c, uint32_t call_id, uint16_t p_cont_id,
	   uint32_t status, int not_executed, int close_after)
{
	struct tether_dce_pdu pdu;

	tether_dce_pdu_init(&pdu, TETHER_DCE_PT_FAULT, call_id);
	if (not_executed)
		pdu.hdr.pfc_flags |= TETHER_DCE_PFC_DID_NOT_EXECUTE;
	pdu.u.fault.p_cont_id = p_cont_id;
	pdu.u.fault.status = status;
	c->srv->st.faults++;
	conn_queue(c, &pdu);
	if (close_after)
		c->closing = 1;
}

static void
proto_error(struct conn *c)
{
	c->srv->st.proto_errors++;
	c->dead = 1;
}

/* ---- bind and alter_context ---- */

static size_t
clamp_frag(struct tether_dce_server *srv, uint16_t offered)
{
	size_t v = offered;

	/* C706 12.6.3.1: every receiver takes 1432-byte fragments, so we
	 * never need to go below; never above what we were configured. */
	if (v < TETHER_DCE_FRAG_MIN_RECV)
		v = TETHER_DCE_FRAG_MIN_RECV;
	if (v > srv->cfg.max_frag)
		v = srv->cfg.max_frag;
	return v;
}

static const struct tether_dce_iface *
iface_for(struct tether_dce_server *srv, const struct tether_dce_syntax *s)
{
	size_t i;

	for (i = 0; i < srv->n_ifaces; i++)
		if (tether_dce_uuid_equal(&s->uuid, &srv->syntaxes[i].uuid) &&
		    s->vers_major == srv->syntaxes[i].vers_major)
			return srv->ifaces[i];
	return NULL;
}

/* Record accepted contexts; one past max_contexts is refused with
 * local_limit_exceeded instead. */
static void
add_contexts(struct conn *c, const struct tether_dce_bind *b,
	     struct tether_dce_ctx_result *res)
{
	unsigned i, j;

	for (i = 0; i < b->n_context_elem; i++) {
		const struct tether_dce_iface *ifc;

		if (res[i].result != TETHER_DCE_CTX_ACCEPTANCE)
			continue;
		ifc = iface_for(c->srv, &b->ctx[i].abstract_syntax);
		TETHER_BUG_ON(ifc == NULL);
		for (j = 0; j < c->n_ctx; j++)
			if (c->ctx[j].id == b->ctx[i].p_cont_id)
				break;
		if (j == c->n_ctx) {
			if (c->n_ctx == c->srv->cfg.max_contexts) {
				memset(&res[i], 0, sizeof(res[i]));
				res[i].result =
					TETHER_DCE_CTX_PROVIDER_REJECTION;
				res[i].reason =
					TETHER_DCE_REASON_LOCAL_LIMIT_EXCEEDED;
				continue;
			}
			c->n_ctx++;
		}
		c->ctx[j].id = b->ctx[i].p_cont_id;
		c->ctx[j].iface = ifc;
	}
}

static void
on_bind(struct conn *c, const struct tether_dce_pdu *in)
{
	struct tether_dce_server *srv = c->srv;
	const struct tether_dce_bind *b = &in->u.bind;
	int alter = in->hdr.ptype == TETHER_DCE_PT_ALTER_CONTEXT;
	struct tether_dce_pdu pdu;
	struct group *g = NULL;

	if (alter && !c->bound) {
		proto_error(c); /* C706: alter_context needs an association */
		return;
	}
	if (in->hdr.auth_length > 0) {
		/* Unauthenticated only: MS-RPCE's reason for an
		 * authentication type we do not know. */
		if (alter)
			proto_error(c);
		else
			send_nak(c, in->hdr.call_id,
				 TETHER_DCE_NAK_AUTH_TYPE_NOT_RECOGNIZED, 1);
		return;
	}
	if (!alter && c->bound) {
		send_nak(c, in->hdr.call_id, TETHER_DCE_NAK_NOT_SPECIFIED, 0);
		return;
	}
	if (b->n_context_elem == 0) {
		if (alter)
			proto_error(c);
		else
			send_nak(c, in->hdr.call_id,
				 TETHER_DCE_NAK_NOT_SPECIFIED, 1);
		return;
	}
	if (!alter) {
		if (b->assoc_group_id != 0) {
			g = group_find(srv, b->assoc_group_id);
			if (g == NULL) {
				proto_error(c);
				return;
			}
		} else {
			g = group_new(srv);
			if (g == NULL) {
				send_nak(c, in->hdr.call_id,
					 TETHER_DCE_NAK_LOCAL_LIMIT_EXCEEDED,
					 1);
				return;
			}
		}
		g->refs++;
		c->group = g;
		c->bound = 1;
		c->xmit = clamp_frag(srv, b->max_recv_frag);
		c->recv = clamp_frag(srv, b->max_xmit_frag);
	}
	if (tether_dce_negotiate(b->ctx, b->n_context_elem, srv->syntaxes,
				 srv->n_ifaces, srv->cfg.btfn, srv->results,
				 NULL) < 0) {
		proto_error(c);
		return;
	}
	add_contexts(c, b, srv->results);

	tether_dce_pdu_init(&pdu,
			    alter ? TETHER_DCE_PT_ALTER_CONTEXT_RESP
				  : TETHER_DCE_PT_BIND_ACK,
			    in->hdr.call_id);
	pdu.u.bind_ack.max_xmit_frag = (uint16_t)c->xmit;
	pdu.u.bind_ack.max_recv_frag = (uint16_t)c->recv;
	pdu.u.bind_ack.assoc_group_id = c->group->id;
	/* The port we answer on, as impacket's server and Samba on 135 do;
	 * none in alter_context_resp (as observed). */
	if (!alter && c->sec_addr[0] != '\0') {
		pdu.u.bind_ack.sec_addr = c->sec_addr;
		pdu.u.bind_ack.sec_addr_len =
			(uint16_t)(strlen(c->sec_addr) + 1);
	}
	pdu.u.bind_ack.n_results = b->n_context_elem;
	pdu.u.bind_ack.results = srv->results;
	conn_queue(c, &pdu);
}

/* ---- requests ---- */

static const struct tether_dce_iface *
ctx_iface(const struct conn *c, uint16_t id)
{
	unsigned i;

	for (i = 0; i < c->n_ctx; i++)
		if (c->ctx[i].id == id)
			return c->ctx[i].iface;
	return NULL;
}

static uint32_t
fault_for(int rc)
{
	switch (-rc) {
	case TETHER_ETRUNC:
	case TETHER_EBADMSG:
	case TETHER_EMSGSIZE:
		return TETHER_DCE_nca_s_fault_ndr;
	case TETHER_ENOSPC:
		return TETHER_DCE_nca_s_out_args_too_big;
	case TETHER_ENOMEM:
		return TETHER_DCE_nca_s_fault_remote_no_memory;
	default:
		return TETHER_DCE_nca_s_fault_unspec;
	}
}

static void
dispatch(struct conn *c, const struct tether_dce_pdu *in, const uint8_t *stub,
	 size_t stub_len)
{
	struct tether_dce_server *srv = c->srv;
	const struct tether_dce_request *rq = &in->u.request;
	const struct tether_dce_iface *ifc;
	struct tether_dce_ndr_writer w;
	struct tether_dce_call call;
	struct tether_dce_pdu pdu;
	size_t off = 0, len;
	int rc;

	ifc = ctx_iface(c, rq->p_cont_id);
	if (ifc == NULL) {
		send_fault(c, in->hdr.call_id, 0, TETHER_DCE_nca_s_unk_if, 1,
			   0);
		return;
	}
	if (rq->opnum >= ifc->n_ops || ifc->ops[rq->opnum] == NULL) {
		send_fault(c, in->hdr.call_id, rq->p_cont_id,
			   TETHER_DCE_nca_s_op_rng_error, 1, 0);
		return;
	}
	memset(&call, 0, sizeof(call));
	call.iface = ifc;
	call.opnum = rq->opnum;
	call.call_id = in->hdr.call_id;
	call.has_object = !!(in->hdr.pfc_flags & TETHER_DCE_PFC_OBJECT_UUID);
	call.object = rq->object;
	call.stub = stub;
	call.stub_len = stub_len;
	call.drep0 = in->hdr.drep[0];
	call.assoc_group_id = c->group->id;
	call.local = c->local;
	call.peer_uid = c->peer_uid;
	call.local_addr = c->local_addr;
	call.peer_addr = c->peer_addr;
	call.arena = srv->arena;
	call.iface_ud = ifc->ud;
	tether_dce_ndr_writer_init(&w, srv->resp, srv->cfg.max_resp_stub,
				   in->hdr.drep[0]);
	call.out = &w;
	srv->st.calls++;
	rc = ifc->ops[rq->opnum](&call);
	if (rc < 0 || call.fault_status != 0) {
		send_fault(c, in->hdr.call_id, rq->p_cont_id,
			   rc < 0 ? fault_for(rc) : call.fault_status, 0, 0);
		return;
	}
	tether_dce_pdu_init(&pdu, TETHER_DCE_PT_RESPONSE, in->hdr.call_id);
	memcpy(pdu.hdr.drep, in->hdr.drep, sizeof(pdu.hdr.drep));
	pdu.u.response.p_cont_id = rq->p_cont_id;
	pdu.u.response.stub = srv->resp;
	pdu.u.response.stub_len = w.pos;
	do {
		rc = tether_dce_fragment(&pdu, c->xmit, &off, srv->frag,
					 TETHER_DCE_FRAG_MAX, &len);
		if (rc < 0 || tether_buf_append(&c->out, srv->frag, len) < 0) {
			c->dead = 1; /* cannot happen short of memory */
			return;
		}
	} while (rc > 0);
}

static void
on_request(struct conn *c, const struct tether_dce_pdu *in)
{
	const uint8_t *stub;
	size_t stub_len;
	int rc;

	if (!c->bound) {
		send_fault(c, in->hdr.call_id, 0, TETHER_DCE_nca_s_proto_error,
			   1, 1);
		return;
	}
	if (in->hdr.auth_length > 0) {
		send_fault(c, in->hdr.call_id, 0, TETHER_DCE_nca_s_proto_error,
			   1, 1);
		return;
	}
	rc = tether_dce_reasm_add(&c->reasm, in, &stub, &stub_len);
	if (rc < 0) {
		c->srv->st.proto_errors++;
		send_fault(c, in->hdr.call_id, 0,
			   rc == -TETHER_ENOMEM
				   ? TETHER_DCE_nca_s_fault_remote_no_memory
				   : TETHER_DCE_nca_s_proto_error,
			   1, 1);
		return;
	}
	if (rc == 0)
		return;
	dispatch(c, in, stub, stub_len);
	tether_dce_reasm_reset(&c->reasm);
	tether_arena_reset(c->srv->arena);
}

static void
on_pdu(struct conn *c, const uint8_t *p, size_t len)
{
	struct tether_dce_pdu pdu;
	struct tether_dce_hdr hdr;
	int rc;

	rc = tether_dce_hdr_decode(p, len, &hdr);
	if (rc == -TETHER_EPROTO || (rc == 0 && hdr.rpc_vers_minor != 0)) {
		/* Only 5.0: MS-RPCE 2.2.2.5 reason 4, whatever the PDU. */
		send_nak(c, hdr.call_id,
			 TETHER_DCE_NAK_PROTOCOL_VERSION_NOT_SUPPORTED, 1);
		return;
	}
	tether_arena_reset(c->srv->arena);
	rc = tether_dce_pdu_decode(p, len, c->srv->arena, &pdu);
	if (rc < 0) {
		if (hdr.ptype == TETHER_DCE_PT_BIND)
			send_nak(c, hdr.call_id, TETHER_DCE_NAK_NOT_SPECIFIED,
				 1);
		else if (hdr.ptype == TETHER_DCE_PT_REQUEST && c->bound)
			send_fault(c, hdr.call_id, 0,
				   TETHER_DCE_nca_s_proto_error, 1, 1);
		else
			proto_error(c);
		return;
	}
	switch (pdu.hdr.ptype) {
	case TETHER_DCE_PT_BIND:
	case TETHER_DCE_PT_ALTER_CONTEXT:
		on_bind(c, &pdu);
		break;
	case TETHER_DCE_PT_REQUEST:
		on_request(c, &pdu);
		break;
	case TETHER_DCE_PT_AUTH3:
	case TETHER_DCE_PT_CO_CANCEL:
	case TETHER_DCE_PT_ORPHANED:
	case TETHER_DCE_PT_SHUTDOWN:
		/* Client-side cancel and auth legs: nothing to do for a
		 * server that runs one call at a time without auth. */
		break;
	default:
		proto_error(c);
		break;
	}
}

/* ---- connections ---- */

static void
conn_idle(struct tether_loop *loop, struct tether_loop_timer *t, void *ud)
{
	struct conn *c = ud;

	(void)loop;
	(void)t;
	c->srv->st.idle_closed++;
	conn_free(c);
}

/* Frame and handle pending input until it is used up, the connection
 * stops, or max_out bytes of answers wait (the rest stays pending). */
static void
conn_process(struct conn *c)
{
	const uint8_t *pdu;
	size_t pdu_len;
	ssize_t used;

	while (c->in_off < c->in_len && !c->dead && !c->closing &&
	       c->out.len < c->srv->cfg.max_out) {
		used = tether_dce_framer_feed(&c->framer, c->in + c->in_off,
					      c->in_len - c->in_off, &pdu,
					      &pdu_len);
		if (used < 0) {
			proto_error(c);
			return;
		}
		if (used == 0) {
			c->in_off = c->in_len; /* all in the framer */
			break;
		}
		c->in_off += (size_t)used;
		on_pdu(c, pdu, pdu_len);
	}
	if (c->in_off == c->in_len)
		c->in_off = c->in_len = 0;
}

static void
conn_read(struct conn *c)
{
	ssize_t n;
	int i;

	for (i = 0; i < READS_PER_EVENT; i++) {
		if (c->dead || c->closing || c->in_len > 0 ||
		    c->out.len >= c->srv->cfg.max_out)
			return;
		n = recv(c->fd, c->in, sizeof(c->in), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				c->dead = 1;
			return;
		}
		if (n == 0) {
			c->dead = 1;
			return;
		}
		tether_loop_timer_arm(c->idle, c->srv->cfg.idle_ms, 0);
		c->in_off = 0;
		c->in_len = (size_t)n;
		conn_process(c);
		if ((size_t)n < sizeof(c->in))
			return;
	}
}

static void
conn_io(struct tether_loop *loop, int fd, unsigned ev, void *ud)
{
	struct conn *c = ud;

	(void)loop;
	(void)fd;
	if (ev & (TETHER_LOOP_READ | TETHER_LOOP_HUP | TETHER_LOOP_ERR))
		conn_read(c);
	if (!c->dead)
		conn_flush(c);
	/* Answers drained: go on with input held back for them (at most
	 * one read's worth, so the work per event stays bounded). */
	while (!c->dead && !c->closing && c->in_len > 0 &&
	       c->out.len < c->srv->cfg.max_out) {
		conn_process(c);
		if (!c->dead)
			conn_flush(c);
	}
	if (c->dead)
		conn_free(c);
}

static void
conn_free(struct conn *c)
{
	struct tether_dce_server *srv = c->srv;

	tether_loop_fd_del(srv->loop, c->fd);
	close(c->fd);
	tether_loop_timer_free(c->idle);
	tether_dce_framer_free(&c->framer);
	tether_dce_reasm_free(&c->reasm);
	tether_buf_free(&c->out);
	if (c->group != NULL)
		group_put(srv, c->group);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->st.conns--;
	srv->st.closed++;
	tether_free(c->ctx);
	tether_free(c);
}

static int
conn_new(struct tether_dce_server *srv, int fd, int local, int port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	struct conn *c;
	int fl;

	if (srv->st.conns >= srv->cfg.max_conns) {
		srv->st.refused++;
		close(fd);
		return -TETHER_EBUSY;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		close(fd);
		return tether_err_from_errno(errno);
	}
	c = tether_calloc(1, sizeof(*c));
	if (c == NULL)
		goto fail;
	c->srv = srv;
	c->fd = fd;
	c->local = local;
	c->peer_uid = -1;
	if (local) {
		struct ucred cr;
		socklen_t cl = sizeof(cr);

		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0 &&
		    cl == sizeof(cr))
			c->peer_uid = (long)cr.uid;
	}
	c->ctx = tether_calloc(srv->cfg.max_contexts, sizeof(*c->ctx));
	if (c->ctx == NULL)
		goto fail;
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		(void)tether_addr_from_sockaddr(&c->local_addr,
						(struct sockaddr *)&ss, sl);
	sl = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		(void)tether_addr_from_sockaddr(&c->peer_addr,
						(struct sockaddr *)&ss, sl);
	if (port > 0)
		snprintf(c->sec_addr, sizeof(c->sec_addr), "%d", port);
	if (tether_dce_framer_init(&c->framer, srv->cfg.max_frag) < 0)
		goto fail;
	tether_dce_reasm_init(&c->reasm, srv->cfg.max_stub);
	tether_buf_init(&c->out, srv->cfg.max_out + TETHER_DCE_FRAG_MAX +
					 srv->cfg.max_resp_stub * 2);
	if (tether_loop_timer_new(srv->loop, conn_idle, c, &c->idle) < 0)
		goto fail_framer;
	if (tether_loop_timer_arm(c->idle, srv->cfg.idle_ms, 0) < 0 ||
	    tether_loop_fd_add(srv->loop, fd, TETHER_LOOP_READ, conn_io, c) <
		    0) {
		tether_loop_timer_free(c->idle);
		goto fail_framer;
	}
	c->events = TETHER_LOOP_READ;
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->st.conns++;
	srv->st.accepted++;
	return 0;

fail_framer:
	tether_dce_framer_free(&c->framer);
	tether_dce_reasm_free(&c->reasm);
fail:
	if (c != NULL)
		tether_free(c->ctx);
	tether_free(c);
	close(fd);
	return -TETHER_ENOMEM;
}

static void
on_accept(struct tether_loop *loop, int fd, unsigned ev, void *ud)
{
	struct listener *l = ud;
	int i, cfd;

	(void)loop;
	(void)ev;
	for (i = 0; i < ACCEPTS_PER_EVENT; i++) {
		cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			return; /* EAGAIN, or EMFILE & co: try again later */
		(void)conn_new(l->srv, cfd, l->local, l->port);
	}
}

/* ---- public API ---- */

int
tether_dce_server_new(struct tether_loop *loop,
		      const struct tether_dce_server_config *cfg,
		      struct tether_dce_server **out)
{
	struct tether_dce_server *srv;
	struct timespec ts;

	if (loop == NULL || out == NULL)
		return -TETHER_EINVAL;
	srv = tether_calloc(1, sizeof(*srv));
	if (srv == NULL)
		return -TETHER_ENOMEM;
	if (cfg != NULL)
		srv->cfg = *cfg;
	if (srv->cfg.max_conns == 0)
		srv->cfg.max_conns = TETHER_DCE_SRV_MAX_CONNS;
	if (srv->cfg.max_frag == 0)
		srv->cfg.max_frag = TETHER_DCE_SRV_MAX_FRAG;
	if (srv->cfg.max_stub == 0)
		srv->cfg.max_stub = TETHER_DCE_SRV_MAX_STUB;
	if (srv->cfg.max_resp_stub == 0)
		srv->cfg.max_resp_stub = TETHER_DCE_SRV_MAX_RESP_STUB;
	if (srv->cfg.max_out == 0)
		srv->cfg.max_out = TETHER_DCE_SRV_MAX_OUT;
	if (srv->cfg.idle_ms == 0)
		srv->cfg.idle_ms = TETHER_DCE_SRV_IDLE_MS;
	if (srv->cfg.max_contexts == 0)
		srv->cfg.max_contexts = TETHER_DCE_SRV_MAX_CONTEXTS;
	if (cfg == NULL)
		srv->cfg.btfn = TETHER_DCE_BTFN_SEC_CTX_MULTIPLEXING |
				TETHER_DCE_BTFN_KEEP_ON_ORPHAN;
	if (srv->cfg.max_frag < TETHER_DCE_FRAG_MIN_RECV ||
	    srv->cfg.max_frag > TETHER_DCE_FRAG_MAX ||
	    srv->cfg.max_resp_stub > 16u * 1024 * 1024 ||
	    srv->cfg.max_stub > 16u * 1024 * 1024) {
		tether_free(srv);
		return -TETHER_EINVAL;
	}
	srv->loop = loop;
	srv->resp = tether_malloc(srv->cfg.max_resp_stub);
	srv->frag = tether_malloc(TETHER_DCE_FRAG_MAX);
	srv->results = tether_calloc(256, sizeof(*srv->results));
	srv->arena = tether_arena_new(0, srv->cfg.max_stub * 4 + 65536);
	if (srv->resp == NULL || srv->frag == NULL || srv->results == NULL ||
	    srv->arena == NULL) {
		tether_dce_server_free(srv);
		return -TETHER_ENOMEM;
	}
	if (tether_hash_key_random(&srv->group_key) < 0) {
		unsigned char seed[16] = { 0 };
		uint64_t v;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		v = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30;
		memcpy(seed, &v, sizeof(v));
		v = (uint64_t)getpid();
		memcpy(seed + 8, &v, sizeof(v));
		tether_hash_key_set(&srv->group_key, seed);
	}
	*out = srv;
	return 0;
}

void
tether_dce_server_free(struct tether_dce_server *srv)
{
	size_t i;

	if (srv == NULL)
		return;
	while (srv->conns != NULL)
		conn_free(srv->conns);
	for (i = 0; i < srv->n_listeners; i++) {
		tether_loop_fd_del(srv->loop, srv->listeners[i].fd);
		close(srv->listeners[i].fd);
	}
	tether_arena_free(srv->arena);
	tether_free(srv->results);
	tether_free(srv->frag);
	tether_free(srv->resp);
	tether_free(srv);
}

int
tether_dce_server_add_iface(struct tether_dce_server *srv,
			    const struct tether_dce_iface *iface)
{
	if (srv == NULL || iface == NULL || (iface->n_ops && !iface->ops))
		return -TETHER_EINVAL;
	if (iface_for(srv, &iface->syntax) != NULL)
		return -TETHER_EEXIST;
	if (srv->n_ifaces == TETHER_DCE_SRV_MAX_IFACES)
		return -TETHER_ENOSPC;
	srv->ifaces[srv->n_ifaces] = iface;
	srv->syntaxes[srv->n_ifaces] = iface->syntax;
	srv->n_ifaces++;
	return 0;
}

int
tether_dce_server_listen(struct tether_dce_server *srv,
			 const struct tether_addr *addr, int *port)
{
	struct listener *l;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd, one = 1, rc, fam;

	if (srv == NULL || addr == NULL)
		return -TETHER_EINVAL;
	if (srv->n_listeners == MAX_LISTENERS)
		return -TETHER_ENOSPC;
	fam = addr->ss.ss_family;
	fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return tether_err_from_errno(errno);
	if (fam == AF_UNIX) {
		const struct sockaddr_un *su =
			(const struct sockaddr_un *)&addr->ss;

		(void)unlink(su->sun_path);
	} else {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (fam == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
				   sizeof(one));
	}
	if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0 ||
	    listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		rc = tether_err_from_errno(errno);
		close(fd);
		return rc;
	}
	if (fam == AF_UNIX)
		(void)chmod(((const struct sockaddr_un *)&addr->ss)->sun_path,
			    0666);
	l = &srv->listeners[srv->n_listeners];
	l->srv = srv;
	l->fd = fd;
	l->local = fam == AF_UNIX;
	l->port = 0;
	if (fam == AF_INET)
		l->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else if (fam == AF_INET6)
		l->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	rc = tether_loop_fd_add(srv->loop, fd, TETHER_LOOP_READ, on_accept, l);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	srv->n_listeners++;
	if (port != NULL)
		*port = l->port;
	return 0;
}

int
tether_dce_server_adopt(struct tether_dce_server *srv, int fd, int local)
{
	if (srv == NULL || fd < 0) {
		if (fd >= 0)
			close(fd);
		return -TETHER_EINVAL;
	}
	return conn_new(srv, fd, local, 0);
}

void
tether_dce_server_stats(const struct tether_dce_server *srv,
			struct tether_dce_server_stats *st)
{
	*st = srv->st;
}
