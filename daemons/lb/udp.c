/*
 * udp.c - tether-lb's UDP relay: per-client flows with an idle timeout.
 *
 * A datagram from a new client (address and port) on a UDP listener
 * picks a backend through lb_select, so the service's persistence table
 * is shared with its TCP listeners: a client's UDP and TCP traffic of
 * one service land on one backend. The flow gets its own socket
 * connected to the backend, so replies are matched by the kernel and
 * sent back to the client from the listener's socket, i.e. from the
 * frontend address the client used (bind UDP listeners to a specific
 * address: a wildcard one would answer from the route's source).
 * Flows live in one SipHash table (clients choose the keys) and in a
 * per-service LRU list; the sweep ends those idle for the service's
 * idle-timeout. An ICMP error from the backend (ECONNREFUSED on the
 * connected socket) ends the flow and counts as a failed connect.
 * A reload moves the flows to the new proxy's table; one whose backend
 * the new configuration removed keeps that backend (and the retired
 * proxy owning it) until it ends, as a TCP session would.
 */
#include "lb.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* Why a flow ended, for its log line. */
static const char *const flow_end_names[] = {
	"idle-timeout", "backend-error", "shutdown", "backend-unavailable",
};
enum { FLOW_IDLE, FLOW_BACKEND_ERROR, FLOW_SHUTDOWN, FLOW_BACKEND_GONE };

static void
fmt_addr(const struct tether_addr *a, char *buf, size_t size)
{
	if (tether_addr_format(a, buf, size, TETHER_ADDR_FMT_NUMERIC) < 0)
		snprintf(buf, size, "?");
}

/* The flow key as bytes: listener, family, address, port. */
static size_t
flow_key(const struct lb_udp_listener *ul, const struct tether_addr *a,
	 unsigned char *out /* 24 bytes */)
{
	memset(out, 0, 24);
	memcpy(out, &ul->index, 4);
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)&a->ss;

		out[4] = 4;
		memcpy(out + 5, &sin->sin_addr, 4);
		memcpy(out + 21, &sin->sin_port, 2);
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)&a->ss;

		out[4] = 6;
		memcpy(out + 5, &sin6->sin6_addr, 16);
		memcpy(out + 21, &sin6->sin6_port, 2);
	}
	return 24;
}

static uint32_t
flow_bucket(const struct lb_proxy *px, const struct lb_udp_listener *ul,
	    const struct tether_addr *a)
{
	unsigned char k[24];
	size_t n = flow_key(ul, a, k);

	return (uint32_t)tether_hash_siphash(&px->key, k, n) &
	       (px->udp.nbuckets - 1);
}

static int
same_client(const struct lb_udp_flow *f, const struct lb_udp_listener *ul,
	    const struct tether_addr *a)
{
	unsigned char k1[24], k2[24];

	if (f->ul != ul)
		return 0;
	flow_key(ul, &f->client, k1);
	flow_key(ul, a, k2);
	return memcmp(k1, k2, sizeof(k1)) == 0;
}

static void
lru_unlink(struct lb_service *svc, struct lb_udp_flow *f)
{
	if (f->lru_prev != NULL)
		f->lru_prev->lru_next = f->lru_next;
	else
		svc->udp_head = f->lru_next;
	if (f->lru_next != NULL)
		f->lru_next->lru_prev = f->lru_prev;
	else
		svc->udp_tail = f->lru_prev;
	f->lru_prev = f->lru_next = NULL;
}

static void
lru_push(struct lb_service *svc, struct lb_udp_flow *f)
{
	f->lru_prev = NULL;
	f->lru_next = svc->udp_head;
	if (svc->udp_head != NULL)
		svc->udp_head->lru_prev = f;
	svc->udp_head = f;
	if (svc->udp_tail == NULL)
		svc->udp_tail = f;
}

static void
flow_touch(struct lb_udp_flow *f, uint64_t now)
{
	struct lb_service *svc = f->ul->svc;

	f->last_activity = now;
	if (svc->udp_head != f) {
		lru_unlink(svc, f);
		lru_push(svc, f);
	}
}

static void
flow_end(struct lb_proxy *px, struct lb_udp_flow *f, int why)
{
	struct lb_service *svc = f->svc;
	struct lb_proxy *home = svc->px;
	struct lb_udp_flow **pp = &px->udp.buckets[flow_bucket(px, f->ul,
							       &f->client)];
	char cbuf[TETHER_ADDR_STRLEN], bbuf[TETHER_ADDR_STRLEN];
	uint64_t now = tether_loop_now(px->loop);

	long long quiet = -2;

	/* A flow's clean end is its idle timeout (or shutdown). One that
	 * met an error of its backend is a warning, but a client makes
	 * such flows at will, a datagram each (a backend whose port is
	 * closed answers each with an ICMP error): those lines come once
	 * a second per service at most, and count the others. */
	if (why == FLOW_BACKEND_ERROR)
		quiet = lb_quiet_take(&svc->udp_end_log, now);
	if (quiet != -1) {
		char more[32] = "";

		if (quiet >= 0)
			snprintf(more, sizeof(more), " unlogged=%lld", quiet);
		fmt_addr(&f->client, cbuf, sizeof(cbuf));
		fmt_addr(&f->baddr, bbuf, sizeof(bbuf));
		lb_log(quiet >= 0 ? TETHER_LOG_WARN : TETHER_LOG_INFO,
		       "conn proto=udp service=%s client=%s port=%u "
		       "backend=%s addr=%s in=%llu out=%llu ms=%llu end=%s%s",
		       svc->conf->name, cbuf, f->ul->port, f->be->name, bbuf,
		       (unsigned long long)f->bytes_in,
		       (unsigned long long)f->bytes_out,
		       (unsigned long long)(now - f->start),
		       flow_end_names[why], more);
	}
	while (*pp != f) {
		TETHER_BUG_ON(*pp == NULL);
		pp = &(*pp)->hnext;
	}
	*pp = f->hnext;
	lru_unlink(f->ul->svc, f);
	if (!f->uncounted)
		lb_client_release(svc, &f->client);
	(void)tether_loop_fd_del(px->loop, f->fd);
	close(f->fd);
	f->be->bytes_in += f->bytes_in;
	f->be->bytes_out += f->bytes_out;
	TETHER_BUG_ON(home->conns == 0 || px->udp.count == 0);
	lb_backend_release(f->be);
	lb_service_release(svc);
	home->conns--;
	px->udp.count--;
	tether_free(f);
	if (home != px)
		lb_proxy_conn_ended(home);	/* may free a retired proxy */
}

/*
 * An error a flow's connected socket reports (recv or send) that says
 * nothing against its backend: EMSGSIZE is an ICMP "fragmentation
 * needed" or "packet too big" on the way there. The kernel has lowered
 * the path's MTU already and fragments later datagrams itself (UDP
 * sockets send with DF by default); only the datagram that met it is
 * lost, as a router dropping it would lose it. Ending the flow would
 * lose its replies in flight and, with passive checks, take a live
 * backend down; anyone who can guess the flow's port could forge one.
 */
static int
flow_error_ok(int err)
{
	return err == EMSGSIZE;
}

/* ICMP port unreachable and the like on f's socket: its backend failed
 * it (passive health, a connect failure), and f ends. A backend the
 * configuration removed has no health. */
static void
flow_failed_backend(struct lb_proxy *px, struct lb_udp_flow *f,
		    uint64_t now)
{
	if (f->svc == f->ul->svc)
		lb_health_passive(f->svc, f->be, now);
	f->be->connect_failures++;
	flow_end(px, f, FLOW_BACKEND_ERROR);
}

/* Replies from the backend go back to the client from the listener. */
static void
flow_readable(struct tether_loop *loop, int fd, unsigned events, void *ud)
{
	struct lb_udp_flow *f = ud;
	struct lb_proxy *px = f->ul->svc->px;
	int i, replied = 0;

	(void)events;
	for (i = 0; i < LB_UDP_BATCH; i++) {
		ssize_t n = recv(fd, px->udp.buf, LB_UDP_MAX_DGRAM, 0);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return;
			if (flow_error_ok(errno))
				continue;
			flow_failed_backend(px, f, tether_loop_now(loop));
			return;
		}
		f->bytes_out += (uint64_t)n;
		if (!replied++)	/* a reply: the backend lives (passive) */
			lb_health_connected(f->svc, f->be);
		flow_touch(f, tether_loop_now(loop));
		(void)sendto(f->ul->fd, px->udp.buf, (size_t)n, 0,
			     (const struct sockaddr *)&f->client.ss,
			     f->client.len);
	}
}

/* A datagram of a new flow refused (why: "limit", "no-backend"): one
 * warn line a second per service at most, as a spraying client sends
 * one such datagram after another; the line counts those not logged. */
static void
log_refused(struct lb_service *svc, const struct lb_udp_listener *ul,
	    const struct tether_addr *client, uint64_t now, const char *why)
{
	char cbuf[TETHER_ADDR_STRLEN];
	long long n = lb_quiet_take(&svc->udp_refused_log, now);

	if (n < 0)
		return;
	fmt_addr(client, cbuf, sizeof(cbuf));
	tether_log_warnx("conn proto=udp service=%s client=%s port=%u "
			 "backend=- addr=- in=0 out=0 ms=0 end=%s "
			 "unlogged=%lld", svc->conf->name, cbuf, ul->port, why,
			 n);
}

/* A new flow's socket could not be made (what: the step; why):
 * its datagram is dropped. One warn line a second per service at most,
 * as the datagrams that follow meet the same. */
static void
flow_failed(struct lb_service *svc, const struct lb_udp_listener *ul,
	    const struct tether_addr *client, const struct lb_backend *b,
	    const char *what, const char *why, uint64_t now)
{
	char cbuf[TETHER_ADDR_STRLEN];
	long long n = lb_quiet_take(&svc->udp_error_log, now);

	if (n < 0)
		return;
	fmt_addr(client, cbuf, sizeof(cbuf));
	tether_log_warnx("udp: a flow of service %s for %s (port %u) to "
			 "backend %s: %s: %s; datagram dropped (unlogged=%lld)",
			 svc->conf->name, cbuf, ul->port, b->name, what, why,
			 n);
}

static struct lb_udp_flow *
flow_new(struct lb_proxy *px, struct lb_udp_listener *ul,
	 const struct tether_addr *client, uint64_t now)
{
	struct lb_service *svc = ul->svc;
	struct lb_backend *b;
	struct lb_udp_flow *f;
	uint64_t idle;
	uint32_t bi;
	int fd, err;

	if (px->udp.count >= px->udp.max_flows || lb_proxy_full(px) ||
	    (svc->conf->limits.max_conns > 0 &&
	     svc->conns >= svc->conf->limits.max_conns) ||
	    !lb_client_admit(svc, client)) {
		svc->refused++;
		log_refused(svc, ul, client, now, "limit");
		return NULL;
	}
	b = lb_select(&svc->pool, svc->has_persist ? &svc->persist : NULL,
		      client, now, NULL);
	if (b == NULL) {
		log_refused(svc, ul, client, now, "no-backend");
		return NULL;
	}
	lb_health_picked(svc, b, 0);
	f = tether_calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	if (lb_client_acquire(svc, client) < 0) {
		tether_free(f);
		return NULL;
	}
	f->ul = ul;
	f->svc = svc;
	f->be = b;
	f->client = *client;
	f->baddr = b->conf->addr;
	if (!b->conf->has_port)
		(void)tether_addr_set_port(&f->baddr, ul->port);
	fd = socket(f->baddr.ss.ss_family,
		    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		flow_failed(svc, ul, client, b, "socket", strerror(errno),
			    now);
		goto fail;
	}
	if (connect(fd, (const struct sockaddr *)&f->baddr.ss,
		    f->baddr.len) < 0) {
		/* The backend's address cannot be reached from here. */
		flow_failed(svc, ul, client, b, "connect", strerror(errno),
			    now);
		b->connect_failures++;
		lb_health_passive(svc, b, now);
		goto fail;
	}
	err = tether_loop_fd_add(px->loop, fd, TETHER_LOOP_READ, flow_readable,
				 f);
	if (err < 0) {
		flow_failed(svc, ul, client, b, "event loop",
			    tether_strerror(err), now);
		goto fail;
	}
	f->fd = fd;
	f->start = f->last_activity = now;
	bi = flow_bucket(px, ul, client);
	f->hnext = px->udp.buckets[bi];
	px->udp.buckets[bi] = f;
	lru_push(svc, f);
	idle = svc->conf->limits.idle_timeout_ms;
	if (idle < LB_UDP_EXPIRE_MIN_MS)
		idle = LB_UDP_EXPIRE_MIN_MS;	/* the floor, as expire_arm */
	if (!tether_loop_timer_armed(px->udp.expire) ||
	    tether_loop_timer_expiry(px->udp.expire) > now + idle)
		(void)tether_loop_timer_arm(px->udp.expire, idle, 0);
	lb_backend_acquire(b);
	b->total_conns++;
	lb_service_acquire(svc);
	svc->total_conns++;
	px->conns++;
	px->udp.count++;
	return f;
fail:
	if (fd >= 0)
		close(fd);
	lb_client_release(svc, client);
	tether_free(f);
	return NULL;
}

static void
listener_readable(struct tether_loop *loop, int fd, unsigned events,
		  void *ud)
{
	struct lb_udp_listener *ul = ud;
	struct lb_proxy *px = ul->svc->px;
	int i;

	(void)events;
	for (i = 0; i < LB_UDP_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		struct tether_addr client;
		struct lb_udp_flow *f;
		uint64_t now = tether_loop_now(loop);
		ssize_t n;

		n = recvfrom(fd, px->udp.buf, LB_UDP_MAX_DGRAM, 0,
			     (struct sockaddr *)&ss, &len);
		if (n < 0)
			return;	/* EAGAIN, or an error of no consequence */
		if (tether_addr_from_sockaddr(&client, (struct sockaddr *)&ss,
					      len) < 0)
			continue;
		f = px->udp.buckets[flow_bucket(px, ul, &client)];
		while (f != NULL && !same_client(f, ul, &client))
			f = f->hnext;
		/* Its backend went down, was disabled or drained past the
		 * deadline: a TCP session there goes on, as it cannot move,
		 * but a datagram can. A flow that kept sending would never
		 * go idle, and the client's next TCP connection would re-pin
		 * its entry elsewhere while its datagrams stayed. The
		 * datagram starts a new flow, re-pinned (lb_select). */
		if (f != NULL && !lb_backend_keeps_pinned(f->be, now)) {
			flow_end(px, f, FLOW_BACKEND_GONE);
			f = NULL;
		}
		if (f == NULL)
			f = flow_new(px, ul, &client, now);
		if (f == NULL)
			continue;	/* dropped: limit, no backend, memory */
		f->bytes_in += (uint64_t)n;
		flow_touch(f, now);
		/* On a connected socket the ICMP error a datagram before
		 * this one met comes back here, and only once: this
		 * datagram is not sent, and flow_readable would never
		 * hear of the error (two datagrams in one batch hid it). */
		if (send(f->fd, px->udp.buf, (size_t)n, 0) < 0 &&
		    errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != ENOBUFS && errno != EINTR &&
		    !flow_error_ok(errno))
			flow_failed_backend(px, f, now);
	}
}

/* End the flows idle for their service's idle-timeout at now. */
static void
udp_expire(struct lb_proxy *px, uint64_t now)
{
	size_t i;

	for (i = 0; i < px->nservices; i++) {
		struct lb_service *svc = &px->services[i];
		uint64_t idle = svc->conf->limits.idle_timeout_ms;

		while (svc->udp_tail != NULL &&
		       now - svc->udp_tail->last_activity >= idle)
			flow_end(px, svc->udp_tail, FLOW_IDLE);
	}
}

/* Arm px's expiry timer for the first flow to go idle: each service's
 * least recently active flow (udp_tail) is its first. */
static void
expire_arm(struct lb_proxy *px, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	size_t i;

	if (px->udp.expire == NULL)
		return;
	for (i = 0; i < px->nservices; i++) {
		const struct lb_service *svc = &px->services[i];
		uint64_t e;

		if (svc->udp_tail == NULL)
			continue;
		e = svc->udp_tail->last_activity +
		    svc->conf->limits.idle_timeout_ms;
		if (e < next)
			next = e;
	}
	/* At most every LB_UDP_EXPIRE_MIN_MS: flows busy just under their
	 * timeout each put the next one due a little later. (idle-timeout
	 * is at most 30 days, well within the loop's range.) */
	if (next == UINT64_MAX)
		tether_loop_timer_cancel(px->udp.expire);
	else
		(void)tether_loop_timer_arm(px->udp.expire,
			next > now + LB_UDP_EXPIRE_MIN_MS ? next - now :
			LB_UDP_EXPIRE_MIN_MS, 0);
}

/* A flow ends at its idle timeout, not at the next sweep (once a
 * second): the timer fires for the first one due, and is armed again
 * for the next. A datagram only moves its flow in the LRU; the timer
 * then finds it not yet due and looks again. */
static void
expire_timer(struct tether_loop *loop, struct tether_loop_timer *t, void *ud)
{
	struct lb_proxy *px = ud;
	uint64_t now = tether_loop_now(loop);

	(void)t;
	udp_expire(px, now);
	expire_arm(px, now);
}

void
lb_udp_end_flows(struct lb_proxy *px)
{
	size_t i;

	for (i = 0; i < px->nservices; i++)
		while (px->services[i].udp_tail != NULL)
			flow_end(px, px->services[i].udp_tail, FLOW_SHUTDOWN);
}

/*
 * Move one flow from old's table to px's: its listener becomes the one
 * that took over its socket (nul). The flow's socket, its registration
 * (ud is the flow), its backend and its counters stay.
 */
static void
flow_rehome(struct lb_proxy *px, struct lb_proxy *old, struct lb_udp_flow *f,
	    struct lb_udp_listener *nul)
{
	struct lb_udp_flow **pp = &old->udp.buckets[flow_bucket(old, f->ul,
								&f->client)];
	uint32_t bi;

	while (*pp != f) {
		TETHER_BUG_ON(*pp == NULL);
		pp = &(*pp)->hnext;
	}
	*pp = f->hnext;
	lru_unlink(f->ul->svc, f);
	old->udp.count--;
	f->ul = nul;
	bi = flow_bucket(px, nul, &f->client);
	f->hnext = px->udp.buckets[bi];
	px->udp.buckets[bi] = f;
	lru_push(nul->svc, f);
	px->udp.count++;
}

/*
 * A flow whose backend is in px's configuration (nb: the successor of
 * an unchanged backend, or a kept flow's backend brought back): it
 * moves to px and to nb; the counts move, and a retired proxy that
 * held a kept flow may go.
 */
static void
flow_move(struct lb_proxy *px, struct lb_proxy *old, struct lb_udp_flow *f,
	  struct lb_udp_listener *nul, struct lb_backend *nb)
{
	struct lb_proxy *home = f->svc->px;

	flow_rehome(px, old, f, nul);
	/* The per-client count stays: every generation counts in the
	 * newest table. */
	lb_backend_release(f->be);
	lb_service_release(f->svc);
	home->conns--;
	f->svc = nul->svc;
	f->be = nb;
	lb_backend_acquire(nb);
	lb_service_acquire(nul->svc);
	px->conns++;
	if (home != old)
		lb_proxy_conn_ended(home);
}

/* The backend of svc with be's name and address, or NULL. */
static struct lb_backend *
same_backend(struct lb_service *svc, const struct lb_backend *be)
{
	size_t i;

	for (i = 0; i < svc->pool.n; i++) {
		struct lb_backend *b = &svc->pool.backends[i];

		if (strcmp(b->name, be->name) == 0 && b->conf != NULL &&
		    be->conf != NULL &&
		    b->conf->has_port == be->conf->has_port &&
		    tether_addr_compare(&b->conf->addr, &be->conf->addr) == 0)
			return b;
	}
	return NULL;
}

/*
 * Where old's flow f (of osvc) goes at a reload: returns 1 with *nulp
 * its listener in px and *nbp the backend it moves to (NULL: kept on
 * its own, which the new configuration removed), or 0 when it ends
 * with old (its listener or service gone, its backend DOWN in px).
 */
static int
adopt_target(struct lb_udp_listener *const *map,
	     const struct lb_service *osvc, const struct lb_udp_flow *f,
	     struct lb_udp_listener **nulp, struct lb_backend **nbp)
{
	struct lb_udp_listener *nul = map[f->ul->index];
	struct lb_backend *nb;

	if (nul == NULL || nul->svc->prev_gen != osvc)
		return 0;
	nb = f->be->next_gen;
	/* A flow kept at an earlier reload whose backend this
	 * configuration brings back goes to it. */
	if (nb == NULL && f->svc != osvc)
		nb = same_backend(nul->svc, f->be);
	if (nb != NULL && nb->state == LB_BACKEND_DOWN)
		return 0;
	*nulp = nul;
	*nbp = nb;
	return 1;
}

static int
newest_first(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * px may have room for fewer flows than old hands over: max_flows
 * follows RLIMIT_NOFILE, which may have been lowered since old was
 * built (prlimit). The flows to keep are then the most recently active
 * ones, whose clients are talking now; the least recent are the
 * nearest to their idle timeout. The moves go oldest first (so that
 * the new LRU lists keep the old order), where counting the room
 * kept the oldest and ended the newest: hence a cutoff found before
 * them, over all services. Sets *cutoff and *ties so that a flow is
 * taken when its last_activity is above *cutoff, or at it while *ties
 * lasts (flows touched in one tick share a time); with room for all,
 * 0 and SIZE_MAX. Returns 0 or -TETHER_ENOMEM.
 */
static int
adopt_cutoff(const struct lb_proxy *px, const struct lb_proxy *old,
	     struct lb_udp_listener *const *map,
	     uint64_t *cutoff /* OUT */, size_t *ties /* OUT */)
{
	size_t room = px->udp.max_flows > px->udp.count ?
		      px->udp.max_flows - px->udp.count : 0;
	size_t i, n = 0, above = 0;
	uint64_t *t;

	*cutoff = 0;
	*ties = SIZE_MAX;
	if (old->udp.count <= room)
		return 0;
	t = tether_calloc(old->udp.count, sizeof(*t));
	if (t == NULL)
		return -TETHER_ENOMEM;
	for (i = 0; i < old->nservices; i++) {
		const struct lb_service *osvc = &old->services[i];
		const struct lb_udp_flow *f;
		struct lb_udp_listener *nul;
		struct lb_backend *nb;

		for (f = osvc->udp_head; f != NULL; f = f->lru_next)
			if (adopt_target(map, osvc, f, &nul, &nb)) {
				TETHER_BUG_ON(n == old->udp.count);
				t[n++] = f->last_activity;
			}
	}
	if (n > room) {
		qsort(t, n, sizeof(*t), newest_first);
		if (room == 0) {
			*cutoff = UINT64_MAX;	/* none is above */
			*ties = 0;
		} else {
			*cutoff = t[room - 1];
			while (t[above] > *cutoff)
				above++;
			*ties = room - above;
		}
	}
	tether_free(t);
	return 0;
}

void
lb_udp_adopt_flows(struct lb_proxy *px, struct lb_proxy *old)
{
	struct lb_udp_listener **map;
	size_t i, moved = 0, kept = 0, over = 0, ties;
	uint64_t cutoff;

	if (old->udp.nlisteners == 0 || old->udp.count == 0)
		return;
	if (px->udp.nlisteners == 0 ||
	    (map = tether_calloc(old->udp.nlisteners, sizeof(*map))) == NULL) {
		/* The flows end; clients start new ones. */
		tether_log_info("reload: udp flows: 0 moved, 0 kept on removed "
				"backends, %zu ended", old->udp.count);
		return;
	}
	for (i = 0; i < px->udp.nlisteners; i++) {
		struct lb_udp_listener *ul = &px->udp.listeners[i];

		if (ul->donor != NULL)
			map[ul->donor->index] = ul;
	}
	/* Without memory for the cutoff, the room is filled in the order
	 * of the moves (oldest first) as before it, and said so. */
	if (adopt_cutoff(px, old, map, &cutoff, &ties) < 0)
		tether_log_warnx("reload: udp flows: no memory to pick the "
				 "most recently active; the oldest are kept");
	for (i = 0; i < old->nservices; i++) {
		struct lb_service *osvc = &old->services[i];
		struct lb_udp_flow *f = osvc->udp_tail, *prev;

		/* Oldest first, so the new LRU order is the old one. */
		for (; f != NULL; f = prev) {
			struct lb_udp_listener *nul;
			struct lb_backend *nb;

			prev = f->lru_prev;
			if (!adopt_target(map, osvc, f, &nul, &nb))
				continue;	/* ends with old's listeners */
			if (f->last_activity < cutoff ||
			    (f->last_activity == cutoff && ties == 0) ||
			    px->udp.count >= px->udp.max_flows) {
				over++;		/* no room: ends too */
				continue;
			}
			if (f->last_activity == cutoff)
				ties--;
			if (nb == NULL) {
				/* Its backend is gone (removed, or its
				 * address changed): the flow goes on with
				 * it until idle, holding old (or the older
				 * proxy it came from), as a TCP session
				 * does. lb_select never sees that backend
				 * again: no new flow goes to it. */
				flow_rehome(px, old, f, nul);
				kept++;
			} else {
				flow_move(px, old, f, nul, nb);
				moved++;
			}
		}
	}
	tether_free(map);
	expire_arm(px, tether_loop_now(px->loop));
	if (over > 0)
		tether_log_info("reload: udp flows: %zu moved, %zu kept on "
				"removed backends, %zu ended (%zu least "
				"recently active past the limit of %zu)",
				moved, kept, old->udp.count, over,
				px->udp.max_flows);
	else
		tether_log_info("reload: udp flows: %zu moved, %zu kept on "
				"removed backends, %zu ended", moved, kept,
				old->udp.count);
}

void
lb_udp_give_back(struct lb_proxy *px)
{
	size_t i;

	for (i = 0; i < px->udp.nlisteners; i++) {
		struct lb_udp_listener *ul = &px->udp.listeners[i];

		if (ul->donor == NULL || ul->fd < 0)
			continue;
		(void)tether_loop_fd_del(px->loop, ul->fd);
		if (tether_loop_fd_add(px->loop, ul->fd, TETHER_LOOP_READ,
				       listener_readable, ul->donor) == 0)
			ul->donor->fd = ul->fd;
		else
			close(ul->fd);
		ul->fd = -1;
	}
}

void
lb_udp_close(struct lb_proxy *px)
{
	size_t i;

	lb_udp_end_flows(px);
	for (i = 0; i < px->udp.nlisteners; i++)
		if (px->udp.listeners[i].fd >= 0) {
			(void)tether_loop_fd_del(px->loop,
						 px->udp.listeners[i].fd);
			close(px->udp.listeners[i].fd);
		}
	tether_free(px->udp.listeners);
	tether_free(px->udp.buckets);
	tether_free(px->udp.buf);
	tether_loop_timer_free(px->udp.expire);
	memset(&px->udp, 0, sizeof(px->udp));
}

/* Reload: as proxy.c's beside_old for TCP. The old socket, once the new
 * one is bound beside it, gets only the datagrams the new one does not
 * match, and at the swap it closes with what waits in it (not taken
 * over, unlike a TCP accept queue: a datagram says no local address
 * without IP_PKTINFO). */
static int
beside_old(const struct lb_proxy *px, const struct lb_udp_listener *ul,
	   int fd)
{
	int found = 0;
	size_t i;

	for (i = 0; px->donor != NULL && i < px->donor->udp.nlisteners; i++)
		found |= lb_reuseport_old(px->donor->udp.listeners[i].fd,
					  &px->donor->udp.listeners[i].addr,
					  &ul->addr);
	return lb_reuseport_new(fd, found);
}

static int
udp_listener_open(struct lb_proxy *px, struct lb_udp_listener *ul,
		  char *errbuf, size_t errlen)
{
	char abuf[TETHER_ADDR_STRLEN];
	int one = 1, fd, err, beside = 0;
	size_t i;

	/* Reload: take over the old proxy's socket for the same address. */
	for (i = 0; px->donor != NULL && i < px->donor->udp.nlisteners; i++) {
		struct lb_udp_listener *o = &px->donor->udp.listeners[i];

		if (o->fd < 0 || tether_addr_compare(&o->addr, &ul->addr) != 0)
			continue;
		(void)tether_loop_fd_del(px->loop, o->fd);
		err = tether_loop_fd_add(px->loop, o->fd, TETHER_LOOP_READ,
					 listener_readable, ul);
		if (err < 0) {
			(void)tether_loop_fd_add(px->loop, o->fd,
						 TETHER_LOOP_READ,
						 listener_readable, o);
			snprintf(errbuf, errlen, "udp listener: %s",
				 tether_strerror(err));
			return err;
		}
		ul->fd = o->fd;
		ul->donor = o;
		o->fd = -1;
		return 0;
	}
	fd = socket(ul->addr.ss.ss_family,
		    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (ul->addr.ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
				 sizeof(one));
	if (bind(fd, (const struct sockaddr *)&ul->addr.ss, ul->addr.len) < 0) {
		if (errno != EADDRINUSE || beside_old(px, ul, fd) < 0)
			goto fail;
		beside = 1;
		if (bind(fd, (const struct sockaddr *)&ul->addr.ss,
			 ul->addr.len) < 0)
			goto fail;
	}
	err = tether_loop_fd_add(px->loop, fd, TETHER_LOOP_READ,
				 listener_readable, ul);
	if (err < 0) {
		close(fd);
		fmt_addr(&ul->addr, abuf, sizeof(abuf));
		snprintf(errbuf, errlen, "listen %s udp (service %s): %s",
			 abuf, ul->svc->conf->name, tether_strerror(err));
		return err;
	}
	ul->fd = fd;
	return 0;
fail:
	err = errno;
	if (fd >= 0)
		close(fd);
	fmt_addr(&ul->addr, abuf, sizeof(abuf));
	snprintf(errbuf, errlen, "listen %s udp (service %s): %s%s", abuf,
		 ul->svc->conf->name, strerror(err),
		 beside && err == EADDRINUSE ? LB_BESIDE_HINT : "");
	return tether_err_from_errno(err);
}

int
lb_udp_open(struct lb_proxy *px, char *errbuf, size_t errlen)
{
	const struct lb_conf *conf = px->conf;
	struct rlimit rl;
	size_t i, j, n = 0;
	int err;

	/* Each flow holds a socket: a client spraying source ports (or
	 * spoofed sources) must not take the descriptors TCP accepts,
	 * health checks and the control socket need. */
	px->udp.max_flows = LB_UDP_MAX_FLOWS;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 2 < px->udp.max_flows)
		px->udp.max_flows = (size_t)(rl.rlim_cur / 2);
	for (i = 0; i < conf->nservices; i++)
		for (j = 0; j < conf->services[i].nlistens; j++) {
			const struct lb_conf_listen *cl =
				&conf->services[i].listens[j];

			if (cl->protos & LB_PROTO_UDP)
				n += cl->port_hi - cl->port_lo + 1u;
		}
	if (n == 0)
		return 0;
	tether_log_info("udp: at most %zu flows (%s)", px->udp.max_flows,
			px->udp.max_flows < LB_UDP_MAX_FLOWS ?
			"half the limit on open files" : "the most there are");
	snprintf(errbuf, errlen, "out of memory");
	px->udp.listeners = tether_calloc(n, sizeof(*px->udp.listeners));
	px->udp.nbuckets = 16384;
	px->udp.buckets = tether_calloc(px->udp.nbuckets,
					sizeof(*px->udp.buckets));
	px->udp.buf = tether_malloc(LB_UDP_MAX_DGRAM);
	if (px->udp.listeners == NULL || px->udp.buckets == NULL ||
	    px->udp.buf == NULL ||
	    tether_loop_timer_new(px->loop, expire_timer, px,
				  &px->udp.expire) < 0)
		return -TETHER_ENOMEM;
	for (i = 0; i < conf->nservices; i++)
		for (j = 0; j < conf->services[i].nlistens; j++) {
			const struct lb_conf_listen *cl =
				&conf->services[i].listens[j];
			unsigned port;

			if (!(cl->protos & LB_PROTO_UDP))
				continue;
			for (port = cl->port_lo; port <= cl->port_hi; port++) {
				struct lb_udp_listener *ul = &px->udp.listeners[
					px->udp.nlisteners];

				ul->svc = &px->services[i];
				ul->addr = cl->addr;
				ul->port = (uint16_t)port;
				ul->index = (uint32_t)px->udp.nlisteners++;
				ul->fd = -1;
				(void)tether_addr_set_port(&ul->addr,
							   (int)port);
				err = udp_listener_open(px, ul, errbuf,
							errlen);
				if (err < 0)
					return err;
			}
		}
	return 0;
}
