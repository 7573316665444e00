/*
 * proxy.c - tether-lb's TCP data path: listeners on every port of every
 * service, and sessions that pick a backend, connect to it and relay
 * bytes both ways through two ring buffers.
 *
 * A session is a small state machine. CONNECTING: the backend is picked
 * (and pinned, in lb_select) before the non-blocking connect starts;
 * the client is not read, so nothing has been sent when a connect
 * fails or times out, and the next backend can be tried (up to
 * `limits retries`, each backend once). RELAY: each side is read while
 * its ring has room and written while the other ring has bytes; a FIN
 * from one side is passed on (shutdown(SHUT_WR)) once its ring is
 * drained, and the session ends when both directions are shut, on an
 * error, or after `limits idle-timeout` without a byte. A side that is
 * finished both ways leaves the loop, so a hung-up socket cannot make
 * the level-triggered loop spin. Every session ends through
 * session_end, which logs one line and frees everything.
 */
#include "lb.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const sess_state_names[LB_SESS_STATE_MAX] = {
	[LB_SESS_CONNECTING] = "connecting",
	[LB_SESS_RELAY] = "relay",
};

static const char *const sess_end_names[LB_END_MAX] = {
	[LB_END_CLOSED] = "closed",
	[LB_END_CLIENT_ERROR] = "client-error",
	[LB_END_BACKEND_ERROR] = "backend-error",
	[LB_END_IDLE] = "idle-timeout",
	[LB_END_CONNECT_FAILED] = "connect-failed",
	[LB_END_NO_BACKEND] = "no-backend",
	[LB_END_LIMIT] = "limit",
	[LB_END_SHUTDOWN] = "shutdown",
	[LB_END_NOMEM] = "out-of-memory",
};

const char *
lb_sess_state_name(int state)
{
	if (state < 0 || state >= LB_SESS_STATE_MAX)
		return "unknown";
	return sess_state_names[state];
}

const char *
lb_sess_end_name(int end)
{
	if (end < 0 || end >= LB_END_MAX)
		return "unknown";
	return sess_end_names[end];
}

static void session_io(struct tether_loop *loop, int fd, unsigned events,
		       void *ud);
static void retired_done(struct lb_proxy *px);

/* Proxies replaced by a reload that still have sessions. */
static struct lb_proxy *retired_list;
static void session_timer(struct tether_loop *loop,
			  struct tether_loop_timer *t, void *ud);

unsigned
lb_proxy_conns(const struct lb_proxy *px)
{
	const struct lb_proxy *r;
	unsigned n = px->conns;

	for (r = retired_list; !px->retired && r != NULL; r = r->retired_next)
		n += r->conns;
	return n;
}

/* ------------------------------------------------------------------ */
/* Logging                                                             */
/* ------------------------------------------------------------------ */

static void
fmt_addr(const struct tether_addr *a, char *buf, size_t size)
{
	if (tether_addr_format(a, buf, size, TETHER_ADDR_FMT_NUMERIC) < 0)
		snprintf(buf, size, "?");
}

/* The one line per connection, at its end. */
static void
log_conn(const struct lb_service *svc, const struct tether_addr *client,
	 unsigned port, const struct lb_backend *be,
	 const struct tether_addr *baddr, uint64_t in, uint64_t out,
	 uint64_t ms, unsigned tries, enum lb_sess_end why)
{
	char cbuf[TETHER_ADDR_STRLEN], bbuf[TETHER_ADDR_STRLEN];
	int level = why == LB_END_CLOSED || why == LB_END_SHUTDOWN ?
		TETHER_LOG_INFO : TETHER_LOG_WARN;

	fmt_addr(client, cbuf, sizeof(cbuf));
	if (be != NULL && baddr != NULL)
		fmt_addr(baddr, bbuf, sizeof(bbuf));
	else
		snprintf(bbuf, sizeof(bbuf), "-");
	if (level > tether_log_get_level())
		return;
	if (level == TETHER_LOG_INFO)
		tether_log_info("conn service=%s client=%s port=%u backend=%s "
				"addr=%s in=%llu out=%llu ms=%llu tries=%u "
				"end=%s", svc->conf->name, cbuf, port,
				be != NULL ? be->name : "-", bbuf,
				(unsigned long long)in,
				(unsigned long long)out,
				(unsigned long long)ms, tries,
				lb_sess_end_name(why));
	else
		tether_log_warnx("conn service=%s client=%s port=%u "
				 "backend=%s addr=%s in=%llu out=%llu ms=%llu "
				 "tries=%u end=%s", svc->conf->name, cbuf,
				 port, be != NULL ? be->name : "-", bbuf,
				 (unsigned long long)in,
				 (unsigned long long)out,
				 (unsigned long long)ms, tries,
				 lb_sess_end_name(why));
}

/* ------------------------------------------------------------------ */
/* Sessions                                                            */
/* ------------------------------------------------------------------ */

static void
close_fd(struct lb_session *s, int *fd, unsigned *ev)
{
	if (*fd < 0)
		return;
	if (*ev != ~0u)
		(void)tether_loop_fd_del(s->px->loop, *fd);
	close(*fd);
	*fd = -1;
	*ev = ~0u;
}

/* Give back the backend a connect attempt or a session held. */
static void
release_backend(struct lb_session *s)
{
	if (s->be == NULL)
		return;
	lb_backend_release(s->be);
	s->be = NULL;
}

static void
session_end(struct lb_session *s, enum lb_sess_end why)
{
	struct lb_proxy *px = s->px;
	uint64_t now = tether_loop_now(px->loop);

	if (s->be != NULL) {
		s->be->bytes_in += s->bytes_in;
		s->be->bytes_out += s->bytes_out;
	}
	log_conn(s->svc, &s->client, s->port, s->be,
		 s->be != NULL ? &s->baddr : NULL, s->bytes_in, s->bytes_out,
		 now - s->start, s->attempts, why);
	close_fd(s, &s->cfd, &s->cev);
	close_fd(s, &s->bfd, &s->bev);
	release_backend(s);
	tether_loop_timer_free(s->timer);
	tether_ring_free(&s->c2b);
	tether_ring_free(&s->b2c);
	tether_free(s->tried);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		px->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	TETHER_BUG_ON(px->conns == 0);
	lb_client_release(s->svc, &s->client);
	lb_service_release(s->svc);
	px->conns--;
	tether_free(s);
	if (px->retired && px->conns == 0 && !px->freeing)
		retired_done(px);
}

/* Register or change fd's interest; ~0u in *cur means "not in the loop".
 * Returns 0 or the loop's error. */
static int
set_interest(struct lb_session *s, int fd, unsigned *cur, unsigned want)
{
	int err;

	if (fd < 0 || *cur == want)
		return 0;
	if (*cur == ~0u)
		err = tether_loop_fd_add(s->px->loop, fd, want, session_io, s);
	else
		err = tether_loop_fd_mod(s->px->loop, fd, want);
	if (err == 0)
		*cur = want;
	return err;
}

static void
tcp_nodelay(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* A connect attempt failed (refused, timed out, unreachable): never use
 * that backend again for this session. */
static void
attempt_failed(struct lb_session *s)
{
	close_fd(s, &s->bfd, &s->bev);
	if (s->be != NULL) {
		s->be->connect_failures++;
		s->tried[s->be->index] = 1;
		lb_health_passive(s->svc, s->be,
				  tether_loop_now(s->px->loop));
	}
	release_backend(s);
}

/* Pick a backend and start connecting; on immediate failures try the
 * next ones. Returns 0, or -1 when the session has ended. */
static int
session_connect(struct lb_session *s)
{
	struct lb_service *svc = s->svc;
	const struct lb_conf_limits *lim = &svc->conf->limits;

	for (;;) {
		uint64_t now = tether_loop_now(s->px->loop);
		struct lb_backend *b;
		int fd, rc;

		if (s->attempts > lim->retries) {
			session_end(s, LB_END_CONNECT_FAILED);
			return -1;
		}
		b = lb_select(&svc->pool, svc->has_persist ? &svc->persist :
			      NULL, &s->client, now, s->tried);
		if (b == NULL) {
			session_end(s, s->attempts > 0 ?
				    LB_END_CONNECT_FAILED : LB_END_NO_BACKEND);
			return -1;
		}
		s->be = b;
		lb_backend_acquire(b);
		b->total_conns++;
		s->attempts++;
		s->baddr = b->conf->addr;
		if (!b->conf->has_port)
			(void)tether_addr_set_port(&s->baddr, s->port);
		fd = socket(s->baddr.ss.ss_family,
			    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			tether_log_warn("socket");
			session_end(s, LB_END_BACKEND_ERROR);
			return -1;
		}
		s->bfd = fd;
		s->bev = ~0u;
		tcp_nodelay(fd);
		rc = connect(fd, (const struct sockaddr *)&s->baddr.ss,
			     s->baddr.len);
		if (rc == 0 || errno == EINPROGRESS) {
			if (set_interest(s, fd, &s->bev,
					 TETHER_LOOP_WRITE) < 0) {
				session_end(s, LB_END_NOMEM);
				return -1;
			}
			s->state = LB_SESS_CONNECTING;
			(void)tether_loop_timer_arm(s->timer,
						    lim->connect_timeout_ms, 0);
			return 0;
		}
		tether_log_debug("connect %s (backend %s): %s",
				 svc->conf->name, b->name, strerror(errno));
		attempt_failed(s);
	}
}

/* The backend accepted: start relaying. Returns 0 or -1 (ended). */
static int
session_relay(struct lb_session *s)
{
	if (tether_ring_init(&s->c2b, LB_RELAY_BUF) < 0 ||
	    tether_ring_init(&s->b2c, LB_RELAY_BUF) < 0) {
		session_end(s, LB_END_NOMEM);
		return -1;
	}
	if (s->svc->conf->proxy_v2) {
		unsigned char hdr[LB_PROXY_V2_MAX];
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		struct tether_addr dst;
		int n;

		/* The frontend address the client dialled. */
		if (getsockname(s->cfd, (struct sockaddr *)&ss, &len) < 0 ||
		    tether_addr_from_sockaddr(&dst, (struct sockaddr *)&ss,
					      len) < 0) {
			session_end(s, LB_END_CLIENT_ERROR);
			return -1;
		}
		n = lb_proxy_v2_header(&s->client, &dst, hdr, sizeof(hdr));
		TETHER_BUG_ON(n < 0);
		(void)tether_ring_write(&s->c2b, hdr, (size_t)n);
	}
	s->state = LB_SESS_RELAY;
	s->last_activity = tether_loop_now(s->px->loop);
	(void)tether_loop_timer_arm(s->timer,
				    s->svc->conf->limits.idle_timeout_ms, 0);
	if (set_interest(s, s->cfd, &s->cev, TETHER_LOOP_READ) < 0 ||
	    set_interest(s, s->bfd, &s->bev, TETHER_LOOP_READ |
			 (tether_ring_len(&s->c2b) ? TETHER_LOOP_WRITE : 0))
	    < 0) {
		session_end(s, LB_END_NOMEM);
		return -1;
	}
	return 0;
}

/* One direction's read: src into r. Returns 0 or an end reason. */
static int
pump_read(struct lb_session *s, int src, struct tether_ring *r,
	  unsigned eof_flag, uint64_t *count, int err_end)
{
	ssize_t n;

	if ((s->flags & eof_flag) || tether_ring_room(r) == 0)
		return 0;
	n = tether_ring_recv(r, src);
	if (n > 0) {
		*count += (uint64_t)n;
		s->last_activity = tether_loop_now(s->px->loop);
	} else if (n == 0) {
		s->flags |= eof_flag;
	} else if (n != -TETHER_EAGAIN && n != -TETHER_ENOSPC) {
		return err_end;
	}
	return 0;
}

/* One direction's write: r to dst, then pass a FIN on once r is empty. */
static int
pump_write(struct lb_session *s, int dst, struct tether_ring *r,
	   unsigned eof_flag, unsigned shut_flag, int err_end)
{
	if (tether_ring_len(r) > 0) {
		ssize_t n = tether_ring_send(r, dst);

		if (n > 0)
			s->last_activity = tether_loop_now(s->px->loop);
		else if (n < 0 && n != -TETHER_EAGAIN)
			return err_end;
	}
	if ((s->flags & eof_flag) && tether_ring_len(r) == 0 &&
	    !(s->flags & shut_flag)) {
		(void)shutdown(dst, SHUT_WR);
		s->flags |= shut_flag;
	}
	return 0;
}

static void
session_pump(struct lb_session *s, int fd, unsigned events)
{
	const unsigned rd = TETHER_LOOP_READ | TETHER_LOOP_ERR |
			    TETHER_LOOP_HUP;
	unsigned cw, bw;
	int end = 0;

	if (fd == s->cfd && (events & rd))
		end = pump_read(s, s->cfd, &s->c2b, LB_SESS_C_EOF,
				&s->bytes_in, LB_END_CLIENT_ERROR + 1);
	if (!end && fd == s->bfd && (events & rd))
		end = pump_read(s, s->bfd, &s->b2c, LB_SESS_B_EOF,
				&s->bytes_out, LB_END_BACKEND_ERROR + 1);
	if (!end)
		end = pump_write(s, s->bfd, &s->c2b, LB_SESS_C_EOF,
				 LB_SESS_B_SHUT, LB_END_BACKEND_ERROR + 1);
	if (!end)
		end = pump_write(s, s->cfd, &s->b2c, LB_SESS_B_EOF,
				 LB_SESS_C_SHUT, LB_END_CLIENT_ERROR + 1);
	/* An error reported while the socket is not read (EOF seen, or
	 * the ring full) would be reported again and again. */
	if (!end && (events & TETHER_LOOP_ERR))
		end = (fd == s->cfd ? LB_END_CLIENT_ERROR :
		       LB_END_BACKEND_ERROR) + 1;
	if (end) {
		session_end(s, (enum lb_sess_end)(end - 1));
		return;
	}
	if ((s->flags & (LB_SESS_B_SHUT | LB_SESS_C_SHUT)) ==
	    (LB_SESS_B_SHUT | LB_SESS_C_SHUT)) {
		session_end(s, LB_END_CLOSED);
		return;
	}
	/* A side finished both ways leaves the loop (its HUP would
	 * otherwise be reported on every iteration). */
	cw = (!(s->flags & LB_SESS_C_EOF) && tether_ring_room(&s->c2b) ?
	      TETHER_LOOP_READ : 0) |
	     (tether_ring_len(&s->b2c) ? TETHER_LOOP_WRITE : 0);
	bw = (!(s->flags & LB_SESS_B_EOF) && tether_ring_room(&s->b2c) ?
	      TETHER_LOOP_READ : 0) |
	     (tether_ring_len(&s->c2b) ? TETHER_LOOP_WRITE : 0);
	if ((s->flags & (LB_SESS_C_EOF | LB_SESS_C_SHUT)) ==
	    (LB_SESS_C_EOF | LB_SESS_C_SHUT)) {
		if (s->cev != ~0u) {
			(void)tether_loop_fd_del(s->px->loop, s->cfd);
			s->cev = ~0u;
		}
	} else if (set_interest(s, s->cfd, &s->cev, cw) < 0) {
		session_end(s, LB_END_NOMEM);
		return;
	}
	if ((s->flags & (LB_SESS_B_EOF | LB_SESS_B_SHUT)) ==
	    (LB_SESS_B_EOF | LB_SESS_B_SHUT)) {
		if (s->bev != ~0u) {
			(void)tether_loop_fd_del(s->px->loop, s->bfd);
			s->bev = ~0u;
		}
	} else if (set_interest(s, s->bfd, &s->bev, bw) < 0) {
		session_end(s, LB_END_NOMEM);
	}
}

static void
session_connected(struct lb_session *s)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(s->bfd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr != 0) {
		tether_log_debug("connect %s (backend %s): %s",
				 s->svc->conf->name, s->be->name,
				 strerror(soerr));
		attempt_failed(s);
		(void)session_connect(s);
		return;
	}
	(void)session_relay(s);
}

static void
session_io(struct tether_loop *loop, int fd, unsigned events, void *ud)
{
	struct lb_session *s = ud;

	(void)loop;
	if (s->state == LB_SESS_CONNECTING) {
		if (fd == s->bfd) {
			session_connected(s);
		} else if (events & (TETHER_LOOP_ERR | TETHER_LOOP_HUP)) {
			/* The client gave up while we were connecting. */
			session_end(s, LB_END_CLIENT_ERROR);
		}
		return;
	}
	session_pump(s, fd, events);
}

static void
session_timer(struct tether_loop *loop, struct tether_loop_timer *t,
	      void *ud)
{
	struct lb_session *s = ud;
	uint64_t now = tether_loop_now(loop), idle;

	if (s->state == LB_SESS_CONNECTING) {
		tether_log_debug("connect %s (backend %s): timed out",
				 s->svc->conf->name, s->be->name);
		attempt_failed(s);
		(void)session_connect(s);
		return;
	}
	idle = s->svc->conf->limits.idle_timeout_ms;
	if (now - s->last_activity >= idle) {
		session_end(s, LB_END_IDLE);
		return;
	}
	(void)tether_loop_timer_arm(t, idle - (now - s->last_activity), 0);
}

/* A new client on listener l. */
static void
session_start(struct lb_listener *l, int fd, const struct tether_addr *client)
{
	struct lb_proxy *px = l->svc->px;
	struct lb_service *svc = l->svc;
	struct lb_session *s;

	s = tether_calloc(1, sizeof(*s));
	if (s == NULL)
		goto nomem;
	s->tried = tether_calloc(svc->pool.n, 1);
	if (s->tried == NULL ||
	    tether_loop_timer_new(px->loop, session_timer, s, &s->timer) < 0) {
		tether_free(s->tried);
		tether_free(s);
		goto nomem;
	}
	s->px = px;
	s->svc = svc;
	s->cfd = fd;
	s->bfd = -1;
	s->cev = s->bev = ~0u;
	s->port = l->port;
	s->client = *client;
	s->start = tether_loop_now(px->loop);
	s->next = px->sessions;
	if (px->sessions != NULL)
		px->sessions->prev = s;
	px->sessions = s;
	lb_service_acquire(svc);
	svc->total_conns++;
	px->conns++;
	tcp_nodelay(fd);
	/* Only errors from the client until the backend answers. */
	if (lb_client_acquire(svc, client) < 0 ||
	    set_interest(s, fd, &s->cev, 0) < 0) {
		session_end(s, LB_END_NOMEM);
		return;
	}
	(void)session_connect(s);
	return;
nomem:
	log_conn(svc, client, l->port, NULL, NULL, 0, 0, 0, 0, LB_END_NOMEM);
	close(fd);
}

/* ------------------------------------------------------------------ */
/* Listeners                                                           */
/* ------------------------------------------------------------------ */

static void
pause_listeners(struct lb_proxy *px)
{
	size_t i;

	for (i = 0; i < px->nlisteners; i++)
		if (px->listeners[i].fd >= 0 && !px->listeners[i].paused &&
		    tether_loop_fd_mod(px->loop, px->listeners[i].fd, 0) == 0)
			px->listeners[i].paused = 1;
	(void)tether_loop_timer_arm(px->resume, LB_ACCEPT_PAUSE_MS, 0);
}

static void
resume_listeners(struct tether_loop *loop, struct tether_loop_timer *t,
		 void *ud)
{
	struct lb_proxy *px = ud;
	size_t i;

	(void)t;
	for (i = 0; i < px->nlisteners; i++)
		if (px->listeners[i].paused &&
		    tether_loop_fd_mod(loop, px->listeners[i].fd,
				       TETHER_LOOP_READ) == 0)
			px->listeners[i].paused = 0;
}

static void
listener_accept(struct tether_loop *loop, int lfd, unsigned events, void *ud)
{
	struct lb_listener *l = ud;
	struct lb_service *svc = l->svc;
	struct lb_proxy *px = svc->px;
	int i;

	(void)loop;
	(void)events;
	for (i = 0; i < LB_ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		struct tether_addr client;
		int fd;

		fd = accept4(lfd, (struct sockaddr *)&ss, &len,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* Out of fds or memory: the pending connection
			 * stays readable, and a level-triggered loop would
			 * spin on it. Stop accepting for a moment. */
			tether_log_warn("accept (service %s); pausing "
					"listeners %ums", svc->conf->name,
					LB_ACCEPT_PAUSE_MS);
			pause_listeners(px);
			return;
		}
		if (tether_addr_from_sockaddr(&client, (struct sockaddr *)&ss,
					      len) < 0) {
			close(fd);
			continue;
		}
		if ((px->conf->max_conns > 0 &&
		     lb_proxy_conns(px) >= px->conf->max_conns) ||
		    (svc->conf->limits.max_conns > 0 &&
		     svc->conns >= svc->conf->limits.max_conns) ||
		    !lb_client_admit(svc, &client)) {
			svc->refused++;
			log_conn(svc, &client, l->port, NULL, NULL, 0, 0, 0, 0,
				 LB_END_LIMIT);
			close(fd);
			continue;
		}
		session_start(l, fd, &client);
	}
}

static int
listener_open(struct lb_proxy *px, struct lb_listener *l, unsigned backlog,
	      char *errbuf, size_t errlen)
{
	char abuf[TETHER_ADDR_STRLEN];
	int one = 1, fd, err;
	size_t i;

	/* Reload: take over the old proxy's socket for the same address,
	 * so not one pending connection is refused. */
	for (i = 0; px->donor != NULL && i < px->donor->nlisteners; i++) {
		struct lb_listener *o = &px->donor->listeners[i];

		if (o->fd < 0 || tether_addr_compare(&o->addr, &l->addr) != 0)
			continue;
		(void)tether_loop_fd_del(px->loop, o->fd);
		err = tether_loop_fd_add(px->loop, o->fd, TETHER_LOOP_READ,
					 listener_accept, l);
		if (err < 0) {
			if (!o->paused)
				(void)tether_loop_fd_add(px->loop, o->fd,
					TETHER_LOOP_READ, listener_accept, o);
			else
				(void)tether_loop_fd_add(px->loop, o->fd, 0,
					listener_accept, o);
			snprintf(errbuf, errlen, "listener: %s",
				 tether_strerror(err));
			return err;
		}
		(void)listen(o->fd, (int)backlog);	/* the new backlog */
		l->fd = o->fd;
		l->donor = o;
		o->fd = -1;
		return 0;
	}
	fd = socket(l->addr.ss.ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* [::] and 0.0.0.0 may both be listened on. */
	if (l->addr.ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
				 sizeof(one));
	if (bind(fd, (const struct sockaddr *)&l->addr.ss, l->addr.len) < 0 ||
	    listen(fd, (int)backlog) < 0)
		goto fail;
	err = tether_loop_fd_add(px->loop, fd, TETHER_LOOP_READ,
				 listener_accept, l);
	if (err < 0) {
		close(fd);
		fmt_addr(&l->addr, abuf, sizeof(abuf));
		snprintf(errbuf, errlen, "listen %s (service %s): %s", abuf,
			 l->svc->conf->name, tether_strerror(err));
		return err;
	}
	l->fd = fd;
	return 0;
fail:
	err = errno;
	if (fd >= 0)
		close(fd);
	fmt_addr(&l->addr, abuf, sizeof(abuf));
	snprintf(errbuf, errlen, "listen %s (service %s): %s", abuf,
		 l->svc->conf->name, strerror(err));
	return tether_err_from_errno(err);
}

static void
sweep(struct tether_loop *loop, struct tether_loop_timer *t, void *ud)
{
	struct lb_proxy *px = ud;
	uint64_t now = tether_loop_now(loop);
	size_t i;

	(void)t;
	for (i = 0; i < px->nservices; i++)
		if (px->services[i].has_persist)
			(void)lb_persist_expire(&px->services[i].persist, now);
	lb_udp_expire(px, now);
}

static int
service_init(struct lb_proxy *px, struct lb_service *svc,
	     const struct lb_conf_service *conf)
{
	size_t i;
	int err;

	svc->conf = conf;
	svc->px = px;
	err = lb_pool_init(&svc->pool, conf->nbackends,
			   lb_ops_for(conf->balance));
	if (err < 0)
		return err;
	for (i = 0; i < conf->nbackends; i++) {
		struct lb_backend *b = &svc->pool.backends[i];

		b->conf = &conf->backends[i];
		b->name = conf->backends[i].name;
		b->weight = conf->backends[i].weight;
	}
	svc->pool.slowstart_ms = conf->check.slowstart_ms;
	err = lb_pool_update(&svc->pool);
	if (err < 0)
		return err;
	if (conf->persist.enabled) {
		err = lb_persist_init(&svc->persist, conf->persist.size,
				      conf->persist.timeout_ms,
				      conf->persist.mask4, conf->persist.mask6,
				      &px->key);
		if (err < 0)
			return err;
		svc->has_persist = 1;
	}
	if (conf->limits.max_client_conns > 0) {
		svc->climit = lb_climit_new(
			conf->persist.enabled ? conf->persist.mask4 : 32,
			conf->persist.enabled ? conf->persist.mask6 : 128,
			&px->key);
		if (svc->climit == NULL)
			return -TETHER_ENOMEM;
	}
	return 0;
}

void
lb_proxy_free(struct lb_proxy *px)
{
	size_t i;

	if (px == NULL)
		return;
	px->freeing = 1;
	if (!px->retired)
		while (retired_list != NULL) {
			struct lb_proxy *r = retired_list;

			retired_list = r->retired_next;
			lb_proxy_free(r);
		}
	lb_ctl_close(px);
	lb_metrics_close(px);
	while (px->sessions != NULL)
		session_end(px->sessions, LB_END_SHUTDOWN);
	lb_udp_close(px);
	for (i = 0; i < px->nlisteners; i++)
		if (px->listeners[i].fd >= 0) {
			(void)tether_loop_fd_del(px->loop,
						 px->listeners[i].fd);
			close(px->listeners[i].fd);
		}
	tether_free(px->listeners);
	for (i = 0; i < px->nservices; i++) {
		lb_service_unlink(&px->services[i]);
		lb_climit_free(px->services[i].climit);
		lb_health_stop(&px->services[i]);
		if (px->services[i].has_persist)
			lb_persist_fini(&px->services[i].persist);
		lb_pool_fini(&px->services[i].pool);
	}
	tether_free(px->services);
	tether_loop_timer_free(px->sweep);
	tether_loop_timer_free(px->resume);
	lb_conf_free(px->owned_conf);
	tether_free(px);
}

/* Give the sockets taken from px->donor back (a failed reload). */
static void
give_back(struct lb_proxy *px)
{
	size_t i;

	for (i = 0; i < px->nlisteners; i++) {
		struct lb_listener *l = &px->listeners[i];

		if (l->donor == NULL || l->fd < 0)
			continue;
		(void)tether_loop_fd_del(px->loop, l->fd);
		if (tether_loop_fd_add(px->loop, l->fd, TETHER_LOOP_READ,
				       listener_accept, l->donor) == 0)
			l->donor->fd = l->fd;
		else
			close(l->fd);
		l->fd = -1;
	}
	lb_udp_give_back(px);
}

static int
proxy_build(struct lb_proxy **out, struct tether_loop *loop,
	    const struct lb_conf *conf, struct lb_proxy *donor, char *errbuf,
	    size_t errlen)
{
	struct lb_proxy *px;
	size_t i, j, nl = 0;
	int err;

	*out = NULL;
	snprintf(errbuf, errlen, "out of memory");
	px = tether_calloc(1, sizeof(*px));
	if (px == NULL)
		return -TETHER_ENOMEM;
	px->loop = loop;
	px->conf = conf;
	px->donor = donor;
	err = tether_hash_key_random(&px->key);
	if (err < 0) {
		snprintf(errbuf, errlen, "random hash key: %s",
			 tether_strerror(err));
		goto fail;
	}
	err = -TETHER_ENOMEM;
	if (conf->nservices > 0) {
		px->services = tether_calloc(conf->nservices,
					     sizeof(*px->services));
		if (px->services == NULL)
			goto fail;
	}
	for (i = 0; i < conf->nservices; i++) {
		px->nservices++;
		err = service_init(px, &px->services[i], &conf->services[i]);
		if (err < 0)
			goto fail;
		for (j = 0; j < conf->services[i].nlistens; j++) {
			const struct lb_conf_listen *cl =
				&conf->services[i].listens[j];

			if (cl->protos & LB_PROTO_TCP)
				nl += cl->port_hi - cl->port_lo + 1u;
		}
	}
	err = -TETHER_ENOMEM;
	if (nl > 0) {
		px->listeners = tether_calloc(nl, sizeof(*px->listeners));
		if (px->listeners == NULL)
			goto fail;
	}
	for (i = 0; i < conf->nservices; i++)
		for (j = 0; j < conf->services[i].nlistens; j++) {
			const struct lb_conf_listen *cl =
				&conf->services[i].listens[j];
			unsigned port;

			if (!(cl->protos & LB_PROTO_TCP))
				continue;
			for (port = cl->port_lo; port <= cl->port_hi; port++) {
				struct lb_listener *l =
					&px->listeners[px->nlisteners++];

				l->svc = &px->services[i];
				l->addr = cl->addr;
				l->port = (uint16_t)port;
				l->fd = -1;
				(void)tether_addr_set_port(&l->addr,
							   (int)port);
				err = listener_open(px, l,
					conf->services[i].limits.backlog,
					errbuf, errlen);
				if (err < 0)
					goto fail;
			}
		}
	err = lb_udp_open(px, errbuf, errlen);
	if (err < 0)
		goto fail;
	err = tether_loop_timer_new(loop, resume_listeners, px, &px->resume);
	if (err < 0)
		goto fail;
	if (conf->control[0] != '\0') {
		err = lb_ctl_open(px, conf->control, errbuf, errlen);
		if (err < 0)
			goto fail;
	}
	err = lb_metrics_open(px, errbuf, errlen);
	if (err < 0)
		goto fail;
	err = tether_loop_timer_new(loop, sweep, px, &px->sweep);
	if (err < 0)
		goto fail;
	for (i = 0; i < px->nservices; i++) {
		err = lb_health_start(&px->services[i], loop);
		if (err < 0)
			goto fail;
	}
	(void)tether_loop_timer_arm(px->sweep, LB_SWEEP_MS, LB_SWEEP_MS);
	px->donor = NULL;
	*out = px;
	return 0;
fail:
	if (err == -TETHER_ENOMEM)
		snprintf(errbuf, errlen, "out of memory");
	if (donor != NULL)
		give_back(px);
	lb_proxy_free(px);
	return err;
}

int
lb_proxy_new(struct lb_proxy **out, struct tether_loop *loop,
	     const struct lb_conf *conf, char *errbuf, size_t errlen)
{
	return proxy_build(out, loop, conf, NULL, errbuf, errlen);
}

static void
retired_free(struct tether_loop *loop, void *ud)
{
	struct lb_proxy *px = ud, **pp = &retired_list;

	(void)loop;
	while (*pp != NULL && *pp != px)
		pp = &(*pp)->retired_next;
	if (*pp == NULL)
		return;		/* freed meanwhile */
	*pp = px->retired_next;
	lb_proxy_free(px);
}

/* A retired proxy's last session ended: free it once the current
 * callback is over. */
static void
retired_done(struct lb_proxy *px)
{
	if (tether_loop_defer(px->loop, retired_free, px) < 0)
		tether_log_warnx("reload: cannot free the old proxy yet");
}

static struct lb_service *
find_service(struct lb_proxy *px, const char *name)
{
	size_t i;

	for (i = 0; i < px->nservices; i++)
		if (strcmp(px->services[i].conf->name, name) == 0)
			return &px->services[i];
	return NULL;
}

/*
 * ns succeeds os (linked): ns's per-client table, if it has one, must
 * count every connection still open of the service's generations. Take
 * os's table when it counts clients alike, else count them again from
 * the sessions of old and of the retired proxies, and old's flows.
 */
static void
client_counts(struct lb_service *ns, struct lb_service *os,
	      struct lb_proxy *old)
{
	struct lb_proxy *p;
	struct lb_session *s;
	struct lb_udp_flow *f;

	if (ns->climit == NULL)
		return;
	if (os->climit != NULL && os->climit->mask4 == ns->climit->mask4 &&
	    os->climit->mask6 == ns->climit->mask6) {
		lb_climit_free(ns->climit);
		ns->climit = os->climit;
		os->climit = NULL;
		return;
	}
	for (p = old; p != NULL; p = p == old ? retired_list : p->retired_next)
		for (s = p->sessions; s != NULL; s = s->next)
			if (lb_client_table(s->svc) == ns->climit)
				(void)lb_client_acquire(ns, &s->client);
	for (f = os->udp_head; f != NULL; f = f->lru_next)
		(void)lb_client_acquire(ns, &f->client);
}

/* Carry backend states, counters and persistence from old to px. */
static void
transfer_state(struct lb_proxy *px, struct lb_proxy *old, uint64_t now)
{
	size_t i, j, k;

	for (i = 0; i < px->nservices; i++) {
		struct lb_service *ns = &px->services[i];
		struct lb_service *os = find_service(old, ns->conf->name);
		int32_t *map;
		struct lb_pentry *e;

		if (os == NULL)
			continue;
		lb_service_link(os, ns);
		client_counts(ns, os, old);
		ns->total_conns = os->total_conns;
		ns->refused = os->refused;
		map = tether_calloc(os->pool.n, sizeof(*map));
		for (k = 0; map != NULL && k < os->pool.n; k++)
			map[k] = -1;
		for (j = 0; j < ns->pool.n; j++) {
			struct lb_backend *nb = &ns->pool.backends[j];

			for (k = 0; k < os->pool.n; k++) {
				struct lb_backend *ob = &os->pool.backends[k];

				if (strcmp(ob->name, nb->name) != 0)
					continue;
				/* Unchanged: its connections count on. */
				if (ob->conf != NULL && nb->conf != NULL &&
				    ob->conf->has_port == nb->conf->has_port &&
				    tether_addr_compare(&ob->conf->addr,
							&nb->conf->addr) == 0)
					lb_backend_link(ob, nb);
				nb->health_down = ob->health_down;
				nb->check_ok = ob->check_ok;
				nb->check_fail = ob->check_fail;
				nb->up_since = ob->up_since;
				(void)lb_backend_admin(&ns->pool, nb,
					ob->admin, now,
					ob->drain_deadline == 0 ? 0 :
					ob->drain_deadline > now ?
					ob->drain_deadline - now : 1);
				nb->total_conns = ob->total_conns;
				nb->connect_failures = ob->connect_failures;
				nb->bytes_in = ob->bytes_in;
				nb->bytes_out = ob->bytes_out;
				if (map != NULL)
					map[k] = (int32_t)j;
			}
		}
		(void)lb_pool_update(&ns->pool);
		if (map == NULL || !ns->has_persist || !os->has_persist ||
		    ns->persist.mask4 != os->persist.mask4 ||
		    ns->persist.mask6 != os->persist.mask6) {
			tether_free(map);
			continue;
		}
		/* Oldest first, so the new table's LRU order is the old
		 * one; entries already expired are left behind. */
		for (e = os->persist.lru_tail; e != NULL; e = e->lru_prev) {
			struct lb_pentry *ne;

			if (map[e->backend] < 0 ||
			    now - e->last_used >= ns->persist.timeout_ms)
				continue;
			ne = lb_persist_insert(&ns->persist, &e->key,
					       (uint32_t)map[e->backend],
					       e->last_used);
			if (ne == NULL)
				break;
		}
		tether_free(map);
	}
}

/* old was replaced: stop its listeners, checks and timers; its sessions
 * finish on their own, then it is freed. */
static void
retire(struct lb_proxy *old, struct lb_conf *oldconf)
{
	size_t i;

	for (i = 0; i < old->nlisteners; i++)
		if (old->listeners[i].fd >= 0) {
			(void)tether_loop_fd_del(old->loop,
						 old->listeners[i].fd);
			close(old->listeners[i].fd);
			old->listeners[i].fd = -1;
		}
	lb_udp_close(old);
	for (i = 0; i < old->nservices; i++) {
		struct lb_service *svc = &old->services[i];

		lb_health_stop(svc);
		if (svc->has_persist) {
			/* Retries of its sessions pick without a table. */
			lb_persist_fini(&svc->persist);
			svc->has_persist = 0;
		}
	}
	tether_loop_timer_free(old->sweep);
	tether_loop_timer_free(old->resume);
	old->sweep = old->resume = NULL;
	old->owned_conf = oldconf;
	old->retired = 1;
	old->retired_next = retired_list;
	retired_list = old;
	if (old->conns == 0)
		retired_done(old);
}

int
lb_proxy_reload(struct lb_proxy **pxp, struct lb_conf *newconf,
		struct lb_conf *oldconf, char *errbuf, size_t errlen)
{
	struct lb_proxy *old = *pxp, *px;
	char ebuf[256];
	int err;

	/* These bind the same names again: free them first. */
	lb_ctl_close(old);
	lb_metrics_close(old);
	err = proxy_build(&px, old->loop, newconf, old, errbuf, errlen);
	if (err < 0) {
		if (old->conf->control[0] != '\0' &&
		    lb_ctl_open(old, old->conf->control, ebuf,
				sizeof(ebuf)) < 0)
			tether_log_warnx("reload: %s", ebuf);
		if (lb_metrics_open(old, ebuf, sizeof(ebuf)) < 0)
			tether_log_warnx("reload: %s", ebuf);
		return err;
	}
	transfer_state(px, old, tether_loop_now(old->loop));
	lb_udp_adopt_flows(px, old);
	retire(old, oldconf);
	*pxp = px;
	return 0;
}
