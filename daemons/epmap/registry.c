/*
 * registry.c - tether-epmap's registration table, lookup context handles
 * and the endpoint mapper operations (ept_insert, ept_delete, ept_lookup,
 * ept_map, ept_lookup_handle_free) as lib/dce server handlers.
 *
 * Where Samba and Windows differ we follow Windows (reference notes,
 * pitfalls 3): the last batch of an ept_lookup listing carries status 0
 * and a NULL handle (so impacket's rpcdump prints it); only a listing
 * with no entry at all answers ept_s_not_registered; vers_option takes
 * the Windows SDK values 1..5; ept_lookup_handle_free zeroes the handle.
 * Registrations are in insertion order and a handle remembers the next
 * sequence number, so paging stays stable while the table changes.
 * ept_insert and ept_delete are served only to local callers (the
 * AF_UNIX listener); a remote caller gets nca_s_fault_access_denied.
 * An entry belongs to the uid that inserted it (SO_PEERCRED): only that
 * uid or root may delete or replace it, as rpcbind does with owners.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "epmap.h"

/* ---- time and handles ---- */

static uint64_t
now_ms(const struct epmap *m)
{
	return m->loop != NULL ? tether_loop_now(m->loop) : m->now_ms;
}

static void
handle_unlink(struct epmap *m, struct epmap_handle **pp)
{
	struct epmap_handle *h = *pp;

	*pp = h->next;
	m->n_handles--;
	tether_free(h);
}

unsigned
epmap_expire_handles(struct epmap *m)
{
	struct epmap_handle **pp = &m->handles;
	uint64_t now = now_ms(m), ttl = m->conf->handle_timeout_s * 1000ull;
	unsigned n = 0;

	while (*pp != NULL) {
		if (now - (*pp)->used_ms >= ttl) {
			handle_unlink(m, pp);
			n++;
		} else {
			pp = &(*pp)->next;
		}
	}
	m->st.handles_expired += n;
	return n;
}

void
epmap_assoc_gone(uint32_t group, void *ud)
{
	struct epmap *m = ud;
	struct epmap_handle **pp = &m->handles;

	while (*pp != NULL) {
		if ((*pp)->group == group)
			handle_unlink(m, pp);
		else
			pp = &(*pp)->next;
	}
}

static struct epmap_handle *
handle_find(struct epmap *m, const struct tether_dce_ctx_handle *h,
	    uint32_t group)
{
	struct epmap_handle *p;

	if (h->attributes != 0)
		return NULL;
	for (p = m->handles; p != NULL; p = p->next)
		if (tether_dce_uuid_equal(&p->id, &h->uuid))
			/* Handles belong to the association group [notes
			 * 7]: another group's is as unknown as a bogus one. */
			return p->group == group ? p : NULL;
	return NULL;
}

static void
handle_free(struct epmap *m, struct epmap_handle *h)
{
	struct epmap_handle **pp;

	for (pp = &m->handles; *pp != h; pp = &(*pp)->next)
		;
	handle_unlink(m, pp);
}

/* A new handle for group; at the per-association or global bound the
 * least recently used one (of the group, else of all) makes room. */
static struct epmap_handle *
handle_new(struct epmap *m, uint32_t group)
{
	struct epmap_handle *h, *lru = NULL, *glru = NULL;
	unsigned in_group = 0;
	uint64_t v[2];

	epmap_expire_handles(m);
	for (h = m->handles; h != NULL; h = h->next) {
		if (h->group == group) {
			in_group++;
			if (lru == NULL || h->used_ms < lru->used_ms)
				lru = h;
		}
		if (glru == NULL || h->used_ms < glru->used_ms)
			glru = h;
	}
	if (in_group >= m->conf->max_handles_per_assoc && lru != NULL) {
		handle_free(m, lru);
		m->st.handles_evicted++;
	} else if (m->n_handles >= m->conf->max_handles && glru != NULL) {
		handle_free(m, glru);
		m->st.handles_evicted++;
	}
	h = tether_calloc(1, sizeof(*h));
	if (h == NULL)
		return NULL;
	/* Unguessable, so a handle cannot be forged across groups. */
	do {
		m->handle_seq++;
		v[0] = tether_hash_siphash(&m->handle_key, &m->handle_seq,
					   sizeof(m->handle_seq));
		v[1] = tether_hash_u64(v[0] ^ m->handle_seq);
		memcpy(&h->id, v, sizeof(h->id));
	} while (tether_dce_uuid_is_nil(&h->id));
	h->group = group;
	h->used_ms = now_ms(m);
	h->next = m->handles;
	m->handles = h;
	m->n_handles++;
	return h;
}

/* ---- registrations ---- */

static const struct epmap_fixed *
fixed_for(const struct epmap *m, const struct tether_dce_syntax *s)
{
	unsigned i;

	for (i = 0; i < m->conf->n_fixed; i++)
		if (tether_dce_uuid_equal(&m->conf->fixed[i].uuid, &s->uuid) &&
		    m->conf->fixed[i].vers_major == s->vers_major)
			return &m->conf->fixed[i];
	return NULL;
}

static int
port_taken(const struct epmap *m, uint16_t port)
{
	const struct epmap_reg *r;
	unsigned i;

	for (r = m->regs; r != NULL; r = r->next)
		if (r->port == port)
			return 1;
	for (i = 0; i < m->conf->n_fixed; i++)
		if (m->conf->fixed[i].port == port)
			return 1;
	return 0;
}

/* Whether a wildcard bind of the port works in family fam: with
 * SO_REUSEADDR it fails only when someone listens on a conflicting
 * address (Linux), so it tells "a service is there" without blocking. */
static int
bind_ok(int fam, uint16_t port)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	int fd, ok, one = 1, err;

	fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 1; /* cannot tell (e.g. no IPv6): not in use */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fam == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		memset(&s6, 0, sizeof(s6));
		s6.sin6_family = AF_INET6;
		s6.sin6_port = htons(port);
		ok = bind(fd, (struct sockaddr *)&s6, sizeof(s6)) == 0;
	} else {
		memset(&s4, 0, sizeof(s4));
		s4.sin_family = AF_INET;
		s4.sin_port = htons(port);
		ok = bind(fd, (struct sockaddr *)&s4, sizeof(s4)) == 0;
	}
	err = errno;
	close(fd);
	return ok || err != EADDRINUSE;
}

static int
port_free(uint16_t port)
{
	return bind_ok(AF_INET, port) && bind_ok(AF_INET6, port);
}

unsigned
epmap_prune(struct epmap *m)
{
	struct epmap_reg **pp = &m->regs, *r, *prev = NULL;
	uint64_t now = now_ms(m), age = m->conf->prune_s * 1000ull;
	char u[TETHER_DCE_UUID_STRLEN];
	unsigned n = 0;

	while ((r = *pp) != NULL) {
		if (r->self || now - r->added_ms < age || !port_free(r->port)) {
			r->misses = 0;
		} else if (++r->misses >= EPMAP_PRUNE_MISSES) {
			tether_log_info(
				"pruned %s v%u.%u port %u: nothing "
				"listens there",
				tether_dce_uuid_format(&r->iface.uuid, u),
				r->iface.vers_major, r->iface.vers_minor,
				r->port);
			*pp = r->next;
			if (m->regs_tail == r)
				m->regs_tail = prev;
			m->n_regs--;
			tether_free(r);
			n++;
			continue;
		}
		prev = r;
		pp = &r->next;
	}
	m->st.pruned += n;
	return n;
}

static int
alloc_port(struct epmap *m, uint16_t *port)
{
	uint32_t span = (uint32_t)m->conf->port_hi - m->conf->port_lo + 1;
	uint32_t i, p;

	/* Round robin from a cursor, so a port just given up is not handed
	 * out again at once (a client may still hold its old answer). */
	for (i = 0; i < span; i++) {
		p = m->conf->port_lo + (m->port_cursor + i) % span;
		if (port_taken(m, (uint16_t)p))
			continue;
		if (m->check_bind && !port_free((uint16_t)p))
			continue;
		m->port_cursor = (m->port_cursor + i + 1) % span;
		*port = (uint16_t)p;
		return 0;
	}
	return -TETHER_ENOSPC;
}

int
epmap_register(struct epmap *m, const struct tether_dce_syntax *iface,
	       const struct tether_dce_uuid *object, const char *annotation,
	       uint16_t port, const uint8_t ipv4[4], int self,
	       uint16_t *port_out)
{
	const struct epmap_fixed *fx = fixed_for(m, iface);
	struct epmap_reg *r;
	int rc;

	if (m->n_regs >= m->conf->max_regs)
		return -TETHER_ENOSPC;
	if (fx != NULL && port != 0 && port != fx->port && !self)
		return -TETHER_EPERM;
	if (port == 0) {
		if (fx != NULL) {
			port = fx->port;
		} else {
			rc = alloc_port(m, &port);
			if (rc < 0)
				return rc;
		}
	}
	r = tether_calloc(1, sizeof(*r));
	if (r == NULL)
		return -TETHER_ENOMEM;
	r->seq = ++m->seq;
	r->iface = *iface;
	if (object != NULL)
		r->object = *object;
	if (annotation != NULL)
		snprintf(r->annotation, sizeof(r->annotation), "%s",
			 annotation);
	r->port = port;
	if (ipv4 != NULL)
		memcpy(r->ipv4, ipv4, 4);
	r->self = self;
	r->owner = -1;
	r->added_ms = now_ms(m);
	if (m->regs_tail != NULL)
		m->regs_tail->next = r;
	else
		m->regs = r;
	m->regs_tail = r;
	m->n_regs++;
	if (port_out != NULL)
		*port_out = port;
	return 0;
}

static int
same_iface(const struct tether_dce_syntax *a, const struct tether_dce_syntax *b)
{
	return tether_dce_uuid_equal(&a->uuid, &b->uuid) &&
	       a->vers_major == b->vers_major && a->vers_minor == b->vers_minor;
}

/* May a caller of uid remove r? Root removes any entry; anyone else
 * only those it inserted itself (an unknown uid, -1, removes none). */
static int
may_remove(const struct epmap_reg *r, long uid)
{
	return !r->self && (uid == 0 || (uid > 0 && r->owner == uid));
}

/* Remove the entries of iface+object (and port when non-zero) that a
 * caller of uid may remove. */
static unsigned
unregister(struct epmap *m, const struct tether_dce_syntax *iface,
	   const struct tether_dce_uuid *object, uint16_t port, long uid)
{
	struct epmap_reg **pp = &m->regs, *r, *prev = NULL;
	unsigned n = 0;

	while ((r = *pp) != NULL) {
		if (may_remove(r, uid) && same_iface(&r->iface, iface) &&
		    tether_dce_uuid_equal(&r->object, object) &&
		    (port == 0 || r->port == port)) {
			*pp = r->next;
			if (m->regs_tail == r)
				m->regs_tail = prev;
			m->n_regs--;
			tether_free(r);
			n++;
		} else {
			prev = r;
			pp = &r->next;
		}
	}
	return n;
}

void
epmap_fini(struct epmap *m)
{
	struct epmap_reg *r;
	struct epmap_handle *h;

	while ((r = m->regs) != NULL) {
		m->regs = r->next;
		tether_free(r);
	}
	while ((h = m->handles) != NULL) {
		m->handles = h->next;
		tether_free(h);
	}
	m->regs_tail = NULL;
	m->n_regs = m->n_handles = 0;
}

/* ---- towers ---- */

/* The 75-byte tower for r, as asked on local_addr (arena storage). */
static int
reg_tower(const struct epmap_reg *r, const struct tether_dce_call *call,
	  struct tether_dce_epm_twr *t)
{
	static const uint8_t zero[4];
	uint8_t ip[4], *buf;
	size_t len;
	int rc;

	memcpy(ip, r->ipv4, 4);
	/* A wildcard registration answers with the address the client
	 * reached us on, as Samba does (clients use the port only). */
	if (memcmp(ip, zero, 4) == 0 &&
	    call->local_addr.ss.ss_family == AF_INET)
		memcpy(ip,
		       &((const struct sockaddr_in *)&call->local_addr.ss)
				->sin_addr,
		       4);
	buf = tether_arena_alloc(call->arena, TETHER_DCE_TOWER_TCP_LEN);
	if (buf == NULL)
		return -TETHER_ENOMEM;
	rc = tether_dce_tower_build_tcp(&r->iface, &tether_dce_ndr20, r->port,
					ip, buf, TETHER_DCE_TOWER_TCP_LEN,
					&len);
	if (rc < 0)
		return rc;
	t->data = buf;
	t->len = (uint32_t)len;
	return 0;
}

/* ---- matching ---- */

static int
vers_match(const struct tether_dce_syntax *have,
	   const struct tether_dce_syntax *want, uint32_t opt)
{
	switch (opt) {
	case TETHER_DCE_EPM_VERS_ALL:
		return 1;
	case TETHER_DCE_EPM_VERS_COMPATIBLE:
		return have->vers_major == want->vers_major &&
		       have->vers_minor >= want->vers_minor;
	case TETHER_DCE_EPM_VERS_EXACT:
		return have->vers_major == want->vers_major &&
		       have->vers_minor == want->vers_minor;
	case TETHER_DCE_EPM_VERS_MAJOR_ONLY:
		return have->vers_major == want->vers_major;
	case TETHER_DCE_EPM_VERS_UPTO:
		return have->vers_major < want->vers_major ||
		       (have->vers_major == want->vers_major &&
			have->vers_minor <= want->vers_minor);
	default:
		return 0;
	}
}

static int
lookup_match(const struct epmap_reg *r,
	     const struct tether_dce_epm_lookup_req *q)
{
	int by_if = q->inquiry_type == TETHER_DCE_EPM_INQ_IF ||
		    q->inquiry_type == TETHER_DCE_EPM_INQ_BOTH;
	int by_obj = q->inquiry_type == TETHER_DCE_EPM_INQ_OBJ ||
		     q->inquiry_type == TETHER_DCE_EPM_INQ_BOTH;

	if (q->inquiry_type > TETHER_DCE_EPM_INQ_BOTH)
		return 0;
	if (by_if && q->has_ifid &&
	    (!tether_dce_uuid_equal(&r->iface.uuid, &q->ifid.uuid) ||
	     !vers_match(&r->iface, &q->ifid, q->vers_option)))
		return 0;
	if (by_obj && q->has_object &&
	    !tether_dce_uuid_equal(&r->object, &q->object))
		return 0;
	return 1;
}

/* ---- operations ---- */

static int
op_lookup(struct tether_dce_call *call)
{
	struct epmap *m = call->iface_ud;
	struct tether_dce_epm_lookup_req q;
	struct tether_dce_epm_lookup_resp a;
	struct tether_dce_epm_entry *ents;
	struct tether_dce_ndr_reader rd;
	struct epmap_handle *h = NULL;
	const struct epmap_reg *r, *last = NULL;
	uint64_t start = 0;
	int rc, more = 0;

	m->st.lookups++;
	tether_dce_ndr_reader_init(&rd, call->stub, call->stub_len,
				   call->drep0);
	rc = tether_dce_epm_lookup_req_decode(&rd, &q);
	if (rc < 0)
		return rc;
	epmap_expire_handles(m);
	if (!tether_dce_ctx_handle_is_null(&q.handle)) {
		h = handle_find(m, &q.handle, call->assoc_group_id);
		if (h == NULL) {
			call->fault_status =
				TETHER_DCE_nca_s_fault_context_mismatch;
			return 0;
		}
		start = h->next_seq;
	}
	memset(&a, 0, sizeof(a));
	a.max_count = q.max_ents;
	ents = tether_arena_alloc(call->arena, (q.max_ents ? q.max_ents : 1) *
						       sizeof(*ents));
	if (ents == NULL)
		return -TETHER_ENOMEM;
	for (r = m->regs; r != NULL; r = r->next) {
		if (r->seq < start || !lookup_match(r, &q))
			continue;
		if (a.num_ents == q.max_ents) {
			more = 1;
			break;
		}
		memset(&ents[a.num_ents], 0, sizeof(ents[0]));
		ents[a.num_ents].object = r->object;
		ents[a.num_ents].has_tower = 1;
		ents[a.num_ents].annotation = r->annotation;
		rc = reg_tower(r, call, &ents[a.num_ents].tower);
		if (rc < 0)
			return rc;
		a.num_ents++;
		last = r;
	}
	a.entries = ents;
	if (more && last != NULL) {
		if (h == NULL)
			h = handle_new(m, call->assoc_group_id);
		if (h == NULL)
			return -TETHER_ENOMEM;
		h->next_seq = last->seq + 1;
		h->used_ms = now_ms(m);
		a.handle.uuid = h->id;
	} else if (h != NULL) {
		handle_free(m, h); /* the listing is over */
	}
	/* Windows: status 0 with the last batch; only an empty answer is
	 * ept_s_not_registered. */
	a.status = a.num_ents ? 0 : TETHER_DCE_ept_s_not_registered;
	return tether_dce_epm_lookup_resp_encode(call->out, &a);
}

static int
op_map(struct tether_dce_call *call)
{
	struct epmap *m = call->iface_ud;
	struct tether_dce_epm_map_req q;
	struct tether_dce_epm_map_resp a;
	struct tether_dce_epm_twr *towers;
	struct tether_dce_tower tw;
	struct tether_dce_ndr_reader rd;
	const struct epmap_reg *r;
	unsigned need = TETHER_DCE_TOWER_HAS_IFACE | TETHER_DCE_TOWER_HAS_XFER |
			TETHER_DCE_TOWER_HAS_NCACN | TETHER_DCE_TOWER_HAS_TCP;
	int rc, ok;

	m->st.maps++;
	tether_dce_ndr_reader_init(&rd, call->stub, call->stub_len,
				   call->drep0);
	rc = tether_dce_epm_map_req_decode(&rd, &q);
	if (rc < 0)
		return rc;
	memset(&a, 0, sizeof(a));
	a.max_count = q.max_towers;
	towers = tether_arena_alloc(call->arena,
				    (q.max_towers ? q.max_towers : 1) *
					    sizeof(*towers));
	if (towers == NULL)
		return -TETHER_ENOMEM;
	a.towers = towers;
	/* We answer every match at once: the handle always comes back NULL
	 * (the mapped towers fit in max_towers <= 500). */
	ok = q.has_tower &&
	     tether_dce_tower_parse(q.tower.data, q.tower.len, &tw) == 0 &&
	     (tw.has & need) == need &&
	     tether_dce_uuid_equal(&tw.xfer.uuid, &tether_dce_ndr20.uuid) &&
	     tw.xfer.vers_major == 2;
	for (r = m->regs; ok && r != NULL && a.num_towers < q.max_towers;
	     r = r->next) {
		if (!tether_dce_uuid_equal(&r->iface.uuid, &tw.iface.uuid) ||
		    r->iface.vers_major != tw.iface.vers_major ||
		    r->iface.vers_minor < tw.iface.vers_minor)
			continue;
		if (q.has_object && !tether_dce_uuid_is_nil(&q.object) &&
		    !tether_dce_uuid_is_nil(&r->object) &&
		    !tether_dce_uuid_equal(&q.object, &r->object))
			continue;
		rc = reg_tower(r, call, &towers[a.num_towers]);
		if (rc < 0)
			return rc;
		a.num_towers++;
	}
	a.status = a.num_towers ? 0 : TETHER_DCE_ept_s_not_registered;
	return tether_dce_epm_map_resp_encode(call->out, &a);
}

static int
op_handle_free(struct tether_dce_call *call)
{
	struct epmap *m = call->iface_ud;
	struct tether_dce_ctx_handle hd;
	struct tether_dce_ndr_reader rd;
	struct epmap_handle *h;
	int rc;

	m->st.handle_frees++;
	tether_dce_ndr_reader_init(&rd, call->stub, call->stub_len,
				   call->drep0);
	rc = tether_dce_epm_handle_free_req_decode(&rd, &hd);
	if (rc < 0)
		return rc;
	h = handle_find(m, &hd, call->assoc_group_id);
	if (h == NULL) {
		call->fault_status = TETHER_DCE_nca_s_fault_context_mismatch;
		return 0;
	}
	handle_free(m, h);
	/* C706: the [in,out] handle comes back NULL once destroyed. */
	memset(&hd, 0, sizeof(hd));
	return tether_dce_epm_handle_free_resp_encode(call->out, &hd, 0);
}

/* Insert or delete: entries whose tower is an ncacn_ip_tcp one. */
static int
op_insert_delete(struct tether_dce_call *call, int insert)
{
	struct epmap *m = call->iface_ud;
	struct tether_dce_epm_insert_req q;
	struct tether_dce_ndr_reader rd;
	struct tether_dce_tower tw;
	char ubuf[TETHER_DCE_UUID_STRLEN];
	uint32_t i, status = 0;
	int rc;

	if (!call->local) {
		m->st.denied++;
		call->fault_status = TETHER_DCE_nca_s_fault_access_denied;
		return 0;
	}
	tether_dce_ndr_reader_init(&rd, call->stub, call->stub_len,
				   call->drep0);
	rc = insert ? tether_dce_epm_insert_req_decode(&rd, call->arena, &q)
		    : tether_dce_epm_delete_req_decode(&rd, call->arena, &q);
	if (rc < 0)
		return rc;
	/* Check every entry first: all or nothing. */
	for (i = 0; i < q.num_ents; i++) {
		const struct tether_dce_epm_entry *e = &q.entries[i];

		if (!e->has_tower ||
		    tether_dce_tower_parse(e->tower.data, e->tower.len, &tw) <
			    0 ||
		    !(tw.has & TETHER_DCE_TOWER_HAS_IFACE) ||
		    !(tw.has & TETHER_DCE_TOWER_HAS_TCP))
			return tether_dce_epm_status_encode(
				call->out, EPMAP_S_CANT_PERFORM_OP);
	}
	if (insert && m->n_regs + q.num_ents > m->conf->max_regs)
		return tether_dce_epm_status_encode(call->out,
						    EPMAP_S_CANT_PERFORM_OP);
	for (i = 0; i < q.num_ents && status == 0; i++) {
		const struct tether_dce_epm_entry *e = &q.entries[i];
		uint16_t port;

		tether_dce_tower_parse(e->tower.data, e->tower.len, &tw);
		if (!insert) {
			m->st.deletes++;
			if (unregister(m, &tw.iface, &e->object, tw.port,
				       call->peer_uid) == 0)
				status = TETHER_DCE_ept_s_not_registered;
			continue;
		}
		m->st.inserts++;
		if (q.replace)
			unregister(m, &tw.iface, &e->object, 0,
				   call->peer_uid);
		rc = epmap_register(
			m, &tw.iface, &e->object, e->annotation, tw.port,
			(tw.has & TETHER_DCE_TOWER_HAS_IP) ? tw.ipv4 : NULL, 0,
			&port);
		if (rc == -TETHER_ENOMEM)
			return rc;
		if (rc < 0) {
			status = EPMAP_S_CANT_PERFORM_OP;
			continue;
		}
		m->regs_tail->owner = call->peer_uid;
		tether_log_info("registered %s v%u.%u port %u (%s) for uid %ld",
				tether_dce_uuid_format(&tw.iface.uuid, ubuf),
				tw.iface.vers_major, tw.iface.vers_minor, port,
				e->annotation ? e->annotation : "",
				call->peer_uid);
	}
	return tether_dce_epm_status_encode(call->out, status);
}

static int
op_insert(struct tether_dce_call *call)
{
	return op_insert_delete(call, 1);
}

static int
op_delete(struct tether_dce_call *call)
{
	return op_insert_delete(call, 0);
}

static tether_dce_op_fn *const epm_ops[] = {
	op_insert, op_delete, op_lookup, op_map, op_handle_free,
	/* ept_inq_object and ept_mgmt_delete: not offered */
};

void
epmap_init(struct epmap *m, const struct epmap_conf *conf,
	   struct tether_loop *loop)
{
	memset(m, 0, sizeof(*m));
	m->conf = conf;
	m->loop = loop;
	m->check_bind = 1;
	if (tether_hash_key_random(&m->handle_key) < 0) {
		unsigned char seed[16] = { 0 };
		pid_t pid = getpid();

		memcpy(seed, &pid, sizeof(pid));
		tether_hash_key_set(&m->handle_key, seed);
	}
	m->iface.syntax = tether_dce_epm_v3;
	m->iface.ops = epm_ops;
	m->iface.n_ops = TETHER_ARRAY_SIZE(epm_ops);
	m->iface.ud = m;
}
