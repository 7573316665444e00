/*
 * proxy.c - tether-lb's TCP data path: listeners on every port of every
 * service, and sessions that pick a backend, connect to it and relay
 * bytes both ways.
 *
 * A session is a small state machine. CONNECTING: the backend is picked
 * (and pinned, in lb_select) before the non-blocking connect starts;
 * the client is not read, so nothing has been sent when a connect
 * fails or times out, and the next backend can be tried (up to
 * `limits retries`, each backend once). A backend whose connection
 * came up but which reset or closed it before a byte went either way
 * (not even the client's FIN) counts as such a failure too
 * (lb_sess_may_retry, session_retry): the client's bytes read by then
 * are kept for the next backend. RELAY: both sockets are
 * registered once, edge-triggered; an event only sets readiness bits,
 * and each direction then reads and writes until a call would block
 * (relay()). Bytes the destination cannot take at once wait in a
 * buffer or pipe of the session's own, and the source is not read
 * until they are gone; otherwise a session holds no buffer: copies go
 * through one shared read buffer, and a bulk direction (a long read)
 * moves bytes with splice() through a pipe from a pool, unless the
 * service says `splice off`. A FIN from one side is passed on
 * (shutdown(SHUT_WR)) once nothing of that direction waits; the
 * session ends when both directions are shut, on an error, or after
 * `limits idle-timeout` without a byte. Every session ends through
 * session_end, which logs one line and frees everything. With
 * `io-uring on`, sessions start on the io_uring data path instead (its
 * section below) and may move to this one. With `kernel-relay on`, a
 * session that has made `kernel-relay-after` reads and holds nothing
 * moves from here to the kernel relay (its section below): the kernel
 * moves its bytes, and user space only passes its FINs on and watches
 * it for errors and idleness.
 */
#include "lb.h"
#include "uring.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
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
	[LB_END_KRELAY_FAILED] = "relay-failed",
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
/* The io_uring data path (section at the end of the sessions). */
#define LB_UP_CONN	0x1u
#define LB_UP_RECV(i)	(0x2u << (2 * (i)))
#define LB_UP_SEND(i)	(0x4u << (2 * (i)))
/* The operations on each socket: [0] the client's, [1] the backend's. */
#define LB_UP_ON_CFD	(LB_UP_RECV(0) | LB_UP_SEND(1))
#define LB_UP_ON_BFD	(LB_UP_CONN | LB_UP_RECV(1) | LB_UP_SEND(0))
static uint64_t uring_sessions, uring_fallbacks;
static uint64_t krelay_sessions, krelay_pauses;
static int krelay_failed;		/* set-up failed: logged once */
static void k_session_io(struct lb_session *s, unsigned events,
			 int client);
static int k_timer(struct lb_session *s);
static void k_maybe(struct lb_session *s);
static void k_session_end(struct lb_session *s);
static void k_ring_io(struct tether_loop *loop, int fd, unsigned events,
		      void *ud);
static int k_pull(struct lb_session *s, int side);
static void k_lost_sweep(void);
static int k_unsound(struct lb_session *s, int side);
static void pause_listeners(struct lb_proxy *px);
static void k_abort(struct lb_session *s, enum lb_sess_end why);
#ifdef LB_HAVE_URING
static struct lb_uring *lb_ring;	/* NULL: not set up */
static int lb_ring_failed;		/* set-up failed: logged once */
static unsigned uring_live;		/* sessions on it, not ended */
static int uring_off;			/* the live configuration: off */
static int uring_retire_queued;	/* u_retire is deferred */
static unsigned uring_warned;		/* io-uring-buffers warned about */
static void u_retire_check(void);
static void u_session_end(struct lb_session *s);
static int u_post_connect(struct lb_session *s);
static void u_connect_timeout(struct lb_session *s);
#endif
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

void
lb_proxy_retired(unsigned *nconfs, unsigned *nconns)
{
	const struct lb_proxy *r;

	*nconfs = *nconns = 0;
	for (r = retired_list; r != NULL; r = r->retired_next) {
		(*nconfs)++;
		*nconns += r->conns;
	}
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

void
lb_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tether_log_vlog(level, fmt, ap);
	va_end(ap);
}

long long
lb_quiet_take(struct lb_quiet *q, uint64_t now)
{
	long long n;

	if (q->logged != 0 && now - q->logged < 1000) {
		q->quiet++;
		return -1;
	}
	n = (long long)q->quiet;
	q->logged = now != 0 ? now : 1;
	q->quiet = 0;
	return n;
}

/* The one line per connection, at its end. A connection refused before
 * any backend was tried (a limit, no backend up) costs a client nothing
 * to repeat: those lines come once a second per service at most, and
 * say how many were left out (unlogged=). */
static void
log_conn(struct lb_service *svc, const struct tether_addr *client,
	 unsigned port, const struct lb_backend *be,
	 const struct tether_addr *baddr, uint64_t in, uint64_t out,
	 uint64_t spliced, uint64_t ms, unsigned tries, enum lb_sess_end why)
{
	char cbuf[TETHER_ADDR_STRLEN], bbuf[TETHER_ADDR_STRLEN];
	char quiet[32] = "";
	int level = why == LB_END_CLOSED || why == LB_END_SHUTDOWN ?
		TETHER_LOG_INFO : TETHER_LOG_WARN;

	if (level > tether_log_get_level())
		return;
	if (be == NULL && (why == LB_END_LIMIT || why == LB_END_NO_BACKEND)) {
		long long n = lb_quiet_take(&svc->tcp_refused_log,
					    tether_loop_now(svc->px->loop));

		if (n < 0)
			return;
		snprintf(quiet, sizeof(quiet), " unlogged=%lld", n);
	}
	fmt_addr(client, cbuf, sizeof(cbuf));
	if (be != NULL && baddr != NULL)
		fmt_addr(baddr, bbuf, sizeof(bbuf));
	else
		snprintf(bbuf, sizeof(bbuf), "-");
	lb_log(level, "conn service=%s client=%s port=%u backend=%s addr=%s "
	       "in=%llu out=%llu spliced=%llu ms=%llu tries=%u end=%s%s",
	       svc->conf->name, cbuf, port, be != NULL ? be->name : "-", bbuf,
	       (unsigned long long)in, (unsigned long long)out,
	       (unsigned long long)spliced, (unsigned long long)ms, tries,
	       lb_sess_end_name(why), quiet);
}

/* ------------------------------------------------------------------ */
/* Buffers and pipes                                                   */
/* ------------------------------------------------------------------ */

/* What a copying read lands in, shared by every session (one process,
 * one loop): a session keeps only what its peer could not take. */
static unsigned char lb_rbuf[LB_RBUF_SIZE];

/* Empty pipes ready for reuse, how many pipes exist in all, and how
 * many may (the live proxy's lb_pipe_budget: pipes are process-wide,
 * and a session that gets none copies). */
static int pipe_pool[LB_PIPE_POOL][2];
static unsigned pipe_pooled, pipes_open, pipe_cap = LB_PIPE_MAX;

/* Give d a pipe. Returns 0, or -1 (no pipe: copy this time). */
static int
pipe_get(struct lb_dir *d)
{
	if (d->pipe[0] >= 0)
		return 0;
	if (pipe_pooled > 0) {
		pipe_pooled--;
		d->pipe[0] = pipe_pool[pipe_pooled][0];
		d->pipe[1] = pipe_pool[pipe_pooled][1];
		return 0;
	}
	if (pipes_open >= pipe_cap ||
	    pipe2(d->pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		d->pipe[0] = d->pipe[1] = -1;
		return -1;
	}
	pipes_open++;
	/* Best effort: the default (64 KiB) works too. */
	(void)fcntl(d->pipe[0], F_SETPIPE_SZ, (int)LB_PIPE_SIZE);
	return 0;
}

/* d's pipe goes back to the pool if it is empty, else it is closed
 * (its bytes are lost: only when the session ends). */
static void
pipe_put(struct lb_dir *d)
{
	if (d->pipe[0] < 0)
		return;
	if (d->inpipe == 0 && pipe_pooled < LB_PIPE_POOL) {
		pipe_pool[pipe_pooled][0] = d->pipe[0];
		pipe_pool[pipe_pooled][1] = d->pipe[1];
		pipe_pooled++;
	} else {
		close(d->pipe[0]);
		close(d->pipe[1]);
		pipes_open--;
	}
	d->pipe[0] = d->pipe[1] = -1;
	d->inpipe = 0;
}

static void
dir_init(struct lb_dir *d)
{
	d->pipe[0] = d->pipe[1] = -1;
}

static void
dir_free(struct lb_dir *d)
{
	pipe_put(d);
	tether_free(d->buf);
	d->buf = NULL;
	d->off = d->len = 0;
}

/* Keep n bytes of p that the other side could not take. Returns 0 or
 * -1 (out of memory). */
static int
dir_keep(struct lb_dir *d, const unsigned char *p, size_t n)
{
	TETHER_BUG_ON(d->len != 0 || n > LB_RBUF_SIZE);
	tether_free(d->buf);
	d->buf = tether_malloc(n);
	if (d->buf == NULL)
		return -1;
	memcpy(d->buf, p, n);
	d->off = 0;
	d->len = (uint32_t)n;
	return 0;
}

/* Put n bytes before what d keeps: a PROXY header ahead of the client
 * bytes a failed attempt left. Returns 0 or -1 (out of memory). */
static int
dir_prepend(struct lb_dir *d, const unsigned char *p, size_t n)
{
	unsigned char *nb;

	if (d->len == 0)
		return dir_keep(d, p, n);
	nb = tether_malloc(n + d->len);
	if (nb == NULL)
		return -1;
	memcpy(nb, p, n);
	memcpy(nb + n, d->buf + d->off, d->len);
	tether_free(d->buf);
	d->buf = nb;
	d->off = 0;
	d->len += (uint32_t)n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Sessions                                                            */
/* ------------------------------------------------------------------ */

/*
 * s->be as the live configuration knows it (lb_backend_newest), and in
 * *svc the service whose pool holds it: a session that began before a
 * reload counts there what it does (its bytes, a connect, a failure,
 * passive health), not on the retired proxy nothing reads any more.
 */
static struct lb_backend *
live_backend(const struct lb_session *s, struct lb_service **svc)
{
	*svc = s->bsvc;
	return lb_backend_newest(s->be, svc);
}

/* s picks from svc's pool from now on (s->bsvc): its proxy, if not
 * s's own, stays until s lets go of it; the one s picked from before
 * may go. */
static void
set_bsvc(struct lb_session *s, struct lb_service *svc)
{
	struct lb_proxy *was = s->bsvc != NULL ? s->bsvc->px : s->px;

	s->bsvc = svc;
	if (svc != NULL && svc->px != s->px)
		svc->px->holds++;
	if (was != s->px) {
		TETHER_BUG_ON(was->holds == 0);
		was->holds--;
		lb_proxy_conn_ended(was);	/* may free it, deferred */
	}
}

/*
 * A connect of a session begun before a reload failed: its next
 * backend comes from its service's newest generation nsvc (the live
 * configuration's while it has the service), whose backend states,
 * persistence table and counts are current, not from the retired pool,
 * whose states stopped at the reload (a backend the reload removed, or
 * disabled or down since, was tried). s->tried moves to nsvc's pool: a
 * backend tried is tried in every generation. Returns 0, or -1 out of
 * memory (s picks where it did).
 */
static int
repool(struct lb_session *s, struct lb_service *nsvc)
{
	struct lb_service *osvc = s->bsvc;
	unsigned char *tried;
	size_t i;

	TETHER_BUG_ON(s->be != NULL);
	tried = tether_calloc(nsvc->pool.n, 1);
	if (tried == NULL)
		return -1;
	for (i = 0; i < osvc->pool.n; i++) {
		struct lb_service *t = osvc;
		struct lb_backend *b;

		if (!s->tried[i])
			continue;
		b = lb_backend_newest(&osvc->pool.backends[i], &t);
		if (t == nsvc)
			tried[b->index] = 1;
	}
	tether_free(s->tried);
	s->tried = tried;
	set_bsvc(s, nsvc);
	return 0;
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
send_held(int fd, unsigned f, unsigned held, unsigned owed, unsigned eof)
{
	if (fd >= 0 && (f & held) && (f & owed) && !(f & eof))
		(void)shutdown(fd, SHUT_WR);
}

void
lb_sess_send_held(const struct lb_session *s)
{
	send_held(s->cfd, s->flags, LB_SESS_C_HELD, LB_SESS_C_OWED,
		  LB_SESS_C_EOF);
	send_held(s->bfd, s->flags, LB_SESS_B_HELD, LB_SESS_B_OWED,
		  LB_SESS_B_EOF);
}

static void
session_end(struct lb_session *s, enum lb_sess_end why)
{
	struct lb_proxy *px = s->px;
	uint64_t now = tether_loop_now(px->loop);

	if (s->flags & LB_SESS_KRELAY)
		k_session_end(s);	/* adds the kernel's bytes */
	if (s->be != NULL) {
		struct lb_service *lsvc;
		struct lb_backend *lb = live_backend(s, &lsvc);

		lb->bytes_in += s->bytes_in;
		lb->bytes_out += s->bytes_out;
	}
	log_conn(s->svc, &s->client, s->port, s->be,
		 s->be != NULL ? &s->baddr : NULL, s->bytes_in, s->bytes_out,
		 s->spliced, now - s->start, s->attempts, why);
	lb_sess_send_held(s);
#ifdef LB_HAVE_URING
	if (s->flags & LB_SESS_URING) {
		u_session_end(s);	/* closes both fds after their ops */
		TETHER_BUG_ON(uring_live == 0);
		uring_live--;
		u_retire_check();
	}
#endif
	(void)tether_loop_fd_close(px->loop, s->cfd);
	(void)tether_loop_fd_close(px->loop, s->bfd);
	s->cfd = s->bfd = -1;
	release_backend(s);
	set_bsvc(s, NULL);
	tether_loop_timer_free(s->timer);
	dir_free(&s->c2b);
	dir_free(&s->b2c);
	tether_free(s->tried);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		px->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	TETHER_BUG_ON(px->conns == 0);
	if (!(s->flags & LB_SESS_UNCOUNTED))
		lb_client_release(s->svc, &s->client);
	lb_service_release(s->svc);
	px->conns--;
	/* io_uring operations still in flight point into s: it is freed
	 * when the last one is back (u_dead). */
	if (s->upend != 0 || s->ucancels != 0)
		s->flags |= LB_SESS_UDEAD;
	else
		tether_free(s);
	lb_proxy_conn_ended(px);
}

/* Every fd of a session is registered once, edge-triggered, for
 * everything: readiness is remembered in s->ready, never re-armed. */
static int
watch(struct lb_session *s, int fd)
{
	return tether_loop_fd_add(s->px->loop, fd, TETHER_LOOP_READ |
				  TETHER_LOOP_WRITE | TETHER_LOOP_EDGE |
				  TETHER_LOOP_RDHUP | TETHER_LOOP_PRI,
				  session_io, s);
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
	(void)tether_loop_fd_close(s->px->loop, s->bfd);
	s->bfd = -1;
	s->ready &= ~(LB_RDY_BR | LB_RDY_BW | LB_RDY_BHUP);
	if (s->be != NULL) {
		struct lb_service *lsvc;
		struct lb_backend *lb = live_backend(s, &lsvc);

		lb->connect_failures++;
		s->tried[s->be->index] = 1;
		lb_health_passive(lsvc, lb, tether_loop_now(s->px->loop));
	}
	release_backend(s);
}

/* Pick a backend and start connecting; on immediate failures try the
 * next ones. Returns 0, or -1 when the session has ended. */
static int
session_connect(struct lb_session *s)
{
	struct lb_service *svc = s->svc, *lsvc, *psvc;
	const struct lb_conf_limits *lim = &svc->conf->limits;

	for (;;) {
		uint64_t now = tether_loop_now(s->px->loop);
		struct lb_backend *b;
		int fd, rc;

		if (s->attempts > lim->retries) {
			session_end(s, LB_END_CONNECT_FAILED);
			return -1;
		}
		/* A reload came since s last picked. Its own configuration
		 * still rules the rest (retries, timeouts, PROXY header). */
		psvc = lb_service_newest(svc);
		if (psvc != s->bsvc && repool(s, psvc) < 0)
			psvc = s->bsvc;
		/* This session is counted (session_start), in the newest
		 * generation's client table (lb_client_table). */
		b = lb_select_held(&psvc->pool, psvc->has_persist ?
				   &psvc->persist : NULL, &s->client, now,
				   s->tried, 1);
		if (b == NULL) {
			session_end(s, s->attempts > 0 ?
				    LB_END_CONNECT_FAILED : LB_END_NO_BACKEND);
			return -1;
		}
		lb_health_picked(psvc, b, lim->connect_timeout_ms);
		s->be = b;
		lb_backend_acquire(b);
		live_backend(s, &lsvc)->total_conns++;
		s->attempts++;
		s->baddr = b->conf->addr;
		if (!b->conf->has_port)
			(void)tether_addr_set_port(&s->baddr, s->port);
		fd = socket(s->baddr.ss.ss_family,
			    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			int err = errno;
			int short_of = err == EMFILE || err == ENFILE ||
				       err == ENOBUFS || err == ENOMEM;

			/* Out of fds (or memory): the listeners would go on
			 * accepting clients that fail here; pause them as
			 * accept4 failing does. */
			tether_log_warnx("socket for backend %s/%s: %s%s",
					 svc->conf->name, b->name,
					 strerror(err),
					 short_of ? "; pausing listeners" : "");
			/* The live proxy's: s may be a retired one's. */
			if (short_of)
				pause_listeners(lb_service_newest(svc)->px);
			session_end(s, LB_END_BACKEND_ERROR);
			return -1;
		}
		s->bfd = fd;
		tcp_nodelay(fd);
#ifdef LB_HAVE_URING
		if (s->flags & LB_SESS_URING) {
			/* An operation: it cannot fail at once. */
			rc = u_post_connect(s) < 0 ? -2 : 0;
		} else
#endif
		{
			rc = connect(fd, (const struct sockaddr *)&s->baddr.ss,
				     s->baddr.len);
			if (rc == 0 || errno == EINPROGRESS)
				rc = watch(s, fd) < 0 ? -2 : 0;
		}
		if (rc == -2) {
			session_end(s, LB_END_NOMEM);
			return -1;
		}
		if (rc == 0) {
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

static void session_pump(struct lb_session *s, int end);

/* The backend accepted: start relaying. */
static void
session_relay(struct lb_session *s)
{
	struct lb_service *lsvc;
	struct lb_backend *lb = live_backend(s, &lsvc);

	lb_health_connected(lsvc, lb);
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
			return;
		}
		n = lb_proxy_v2_header(&s->client, &dst, hdr, sizeof(hdr));
		TETHER_BUG_ON(n < 0);
		/* Client bytes may wait already (a retry): after it. */
		if (dir_prepend(&s->c2b, hdr, (size_t)n) < 0) {
			session_end(s, LB_END_NOMEM);
			return;
		}
		s->hdr_len = (unsigned)n;
	}
	s->state = LB_SESS_RELAY;
	s->last_activity = tether_loop_now(s->px->loop);
	(void)tether_loop_timer_arm(s->timer,
				    s->svc->conf->limits.idle_timeout_ms, 0);
	/* What the client sent meanwhile was reported while connecting
	 * and is in s->ready: relay it now. */
	session_pump(s, 0);
}

/* The direction's endpoints and flags. */
struct dir_ends {
	struct lb_dir *d;
	int src, dst;
	unsigned rd, wr, hup;		/* LB_RDY_* of src and dst */
	unsigned eof, shut, owed, held;	/* LB_SESS_* */
	uint64_t *count;
	int rerr, werr;			/* end reasons + 1 */
	int c2b;
};

static void
dir_ends(struct lb_session *s, int c2b, struct dir_ends *e)
{
	if (c2b) {
		e->d = &s->c2b;
		e->src = s->cfd;
		e->dst = s->bfd;
		e->rd = LB_RDY_CR;
		e->wr = LB_RDY_BW;
		e->hup = LB_RDY_CHUP;
		e->eof = LB_SESS_C_EOF;
		e->shut = LB_SESS_B_SHUT;
		e->owed = LB_SESS_B_OWED;
		e->held = LB_SESS_B_HELD;
		e->count = &s->bytes_in;
		e->rerr = LB_END_CLIENT_ERROR + 1;
		e->werr = LB_END_BACKEND_ERROR + 1;
		e->c2b = 1;
	} else {
		e->d = &s->b2c;
		e->src = s->bfd;
		e->dst = s->cfd;
		e->rd = LB_RDY_BR;
		e->wr = LB_RDY_CW;
		e->hup = LB_RDY_BHUP;
		e->eof = LB_SESS_B_EOF;
		e->shut = LB_SESS_C_SHUT;
		e->owed = LB_SESS_C_OWED;
		e->held = LB_SESS_C_HELD;
		e->count = &s->bytes_out;
		e->rerr = LB_END_BACKEND_ERROR + 1;
		e->werr = LB_END_CLIENT_ERROR + 1;
		e->c2b = 0;
	}
}

/* Write what waits in d (buffer first, then pipe) to dst until it is
 * empty or dst would block. Returns 0, 1 (blocked), or an end reason
 * + 1 as a negative number. */
static int
dir_flush(struct lb_session *s, const struct dir_ends *e)
{
	struct lb_dir *d = e->d;
	/* The FIN follows these bytes (see relay). */
	int more = (s->flags & e->eof) != 0;
	ssize_t n;

	while (d->len > 0 || d->inpipe > 0) {
		if (!(s->ready & e->wr))
			return 1;
		if (d->len > 0)
			n = send(e->dst, d->buf + d->off, d->len,
				 MSG_NOSIGNAL | MSG_DONTWAIT |
				 (more ? MSG_MORE : 0));
		else
			n = splice(d->pipe[0], NULL, e->dst, NULL, d->inpipe,
				   SPLICE_F_NONBLOCK | SPLICE_F_MOVE |
				   (more ? SPLICE_F_MORE : 0));
		if (more && n > 0)
			s->flags |= e->held;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				s->ready &= ~e->wr;
				return 1;
			}
			if (e->c2b)
				s->berrno = errno;
			return -e->werr;
		}
		if (e->c2b)
			s->bsent += (uint64_t)n;
		s->last_activity = tether_loop_now(s->px->loop);
		if (d->len > 0) {
			d->off += (uint32_t)n;
			d->len -= (uint32_t)n;
			if (d->len == 0) {
				tether_free(d->buf);
				d->buf = NULL;
				d->off = 0;
			}
		} else {
			d->inpipe -= (uint32_t)n;
		}
	}
	return 0;
}

/*
 * Move bytes from src to dst until one of them would block, src ends,
 * or bytes wait that dst cannot take (then src is not read: that is
 * the back-pressure). A direction reads into a pipe (splice) once a
 * read was long, else into the shared buffer; what dst does not take
 * at once is kept. Returns 0 or an end reason + 1.
 */
static int
relay(struct lb_session *s, int c2b)
{
	struct dir_ends e;
	struct lb_dir *d;
	int rc = 0;

	dir_ends(s, c2b, &e);
	d = e.d;
	for (;;) {
		int use_pipe;
		ssize_t n, m;

		rc = dir_flush(s, &e);
		if (rc != 0)
			break;
		if (s->flags & e.eof) {
			/* Everything passed on: the FIN is owed to dst.
			 * session_pump sends it, by shutdown() or, when
			 * the session ends at once, by close(). */
			if (!(s->flags & e.shut))
				s->flags |= e.shut | e.owed;
			break;
		}
		if (!(s->ready & e.rd))
			break;
		/* Not once urgent data was seen: splice stops at the mark
		 * (EAGAIN) and never gets past it, a recv() does. */
		use_pipe = d->bulk &&
			   !(s->flags & (LB_SESS_NOSPLICE | LB_SESS_URGENT)) &&
			   pipe_get(d) == 0;
		if (use_pipe) {
			n = splice(e.src, NULL, d->pipe[1], NULL, LB_PIPE_SIZE,
				   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
			if (n < 0 && (errno == EINVAL || errno == ENOSYS)) {
				/* Not for this socket: copy from now on. */
				s->flags |= LB_SESS_NOSPLICE;
				continue;
			}
		} else {
			n = recv(e.src, lb_rbuf, LB_RBUF_SIZE, MSG_DONTWAIT);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				s->ready &= ~e.rd;
				break;
			}
			if (!c2b)
				s->berrno = errno;
			rc = -e.rerr;
			break;
		}
		if (n == 0) {
			s->flags |= e.eof;
			continue;
		}
		*e.count += (uint64_t)n;
		s->reads++;
		s->last_activity = tether_loop_now(s->px->loop);
		d->bulk = (size_t)n >= LB_SPLICE_MIN;
		if (d->bulk && !(s->flags & LB_SESS_NOSPLICE))
			s->flags |= LB_SESS_BULK;
		if (use_pipe) {
			d->inpipe = (uint32_t)n;
			s->spliced += (uint64_t)n;
			continue;
		}
		/* A short read emptied the socket: new bytes bring a new
		 * edge. If the FIN was reported before this read, TCP had
		 * queued every byte ahead of it, so this was the last
		 * data: take the end of stream now instead of reading a
		 * zero (one system call less per connection). Not once
		 * urgent data was seen: a read stops short at its mark
		 * with more bytes queued, so read on to EAGAIN or 0. */
		if ((size_t)n < LB_RBUF_SIZE &&
		    !(s->flags & LB_SESS_URGENT)) {
			s->ready &= ~e.rd;
			if (s->ready & e.hup)
				s->flags |= e.eof;
		}
		m = 0;
		if (s->ready & e.wr) {
			/* These are the last bytes: with MSG_MORE, TCP holds
			 * their last partial segment back until the FIN
			 * (session_pump's shutdown or close, right after),
			 * which then leaves in it: one segment and one ACK
			 * less for the peer. The epoll path uses TCP_NODELAY,
			 * so what did not leave with the FIN leaves as soon
			 * as an ACK comes. */
			m = send(e.dst, lb_rbuf, (size_t)n,
				 MSG_NOSIGNAL | MSG_DONTWAIT |
				 ((s->flags & e.eof) ? MSG_MORE : 0));
			if ((s->flags & e.eof) && m > 0)
				s->flags |= e.held;
			if (m < 0) {
				if (errno != EAGAIN && errno != EWOULDBLOCK &&
				    errno != EINTR) {
					rc = -e.werr;
					if (!c2b)
						break;
					/* The client's bytes stay for the
					 * next backend, if one is tried. */
					s->berrno = errno;
					if (dir_keep(d, lb_rbuf, (size_t)n) < 0)
						rc = -(LB_END_NOMEM + 1);
					break;
				}
				if (errno != EINTR)
					s->ready &= ~e.wr;
				m = 0;
			} else if (c2b) {
				s->bsent += (uint64_t)m;
			}
		}
		if (m < n && dir_keep(d, lb_rbuf + m, (size_t)(n - m)) < 0) {
			rc = -(LB_END_NOMEM + 1);
			break;
		}
	}
	/* An empty pipe is not kept by an idle session. */
	if (d->inpipe == 0)
		pipe_put(d);
	return rc < 0 ? -rc : 0;
}

int
lb_sess_may_retry(const struct lb_session *s, int end)
{
	if (s->state != LB_SESS_RELAY || s->bytes_out > 0 ||
	    s->bsent > s->hdr_len || (s->flags & LB_SESS_B_SHUT))
		return 0;
	/* A FIN is a failure only where half-close is off: with it on, a
	 * backend may half-close first and still read (a sink). */
	return end == LB_END_BACKEND_ERROR + 1 ||
	       (end == 0 && (s->flags & LB_SESS_B_EOF) &&
		(s->flags & LB_SESS_FIN_FAILS));
}

/*
 * The backend's connection came up but it reset or closed it before
 * anything was exchanged (lb_sess_may_retry): count a failed attempt
 * and connect to another backend, as after a refused connect. The
 * client saw nothing: its FIN from the backend is not owed (C_SHUT was
 * set by this pump, shutdown() not called yet), and what it sent waits
 * in s->c2b or in its socket (LB_RDY_CR) for the next backend. A PROXY
 * header not written whole is dropped: the next gets its own.
 */
static void
session_retry(struct lb_session *s)
{
	struct lb_dir *d = &s->c2b;

	if (s->flags & LB_SESS_B_EOF)
		tether_log_debug("backend %s/%s closed the connection before "
				 "any byte was exchanged; attempt %u failed",
				 s->svc->conf->name, s->be->name, s->attempts);
	else
		tether_log_debug("backend %s/%s: %s before any byte was "
				 "exchanged; attempt %u failed",
				 s->svc->conf->name, s->be->name,
				 s->berrno != 0 ? strerror(s->berrno) :
				 "socket error", s->attempts);
	s->flags &= ~(LB_SESS_B_EOF | LB_SESS_C_SHUT | LB_SESS_C_OWED);
	if (s->bsent < s->hdr_len) {
		uint32_t left = (uint32_t)(s->hdr_len - s->bsent);

		TETHER_BUG_ON(d->len < left);
		d->off += left;
		d->len -= left;
		if (d->len == 0) {
			tether_free(d->buf);
			d->buf = NULL;
			d->off = 0;
		}
	}
	s->bsent = 0;
	s->hdr_len = 0;
	s->berrno = 0;
	s->b2c.bulk = 0;
	pipe_put(&s->b2c);
	attempt_failed(s);
	(void)session_connect(s);
}

/* Relay both ways; end is an end reason + 1 to apply afterwards (an
 * error was reported on a socket), or 0. */
static void
session_pump(struct lb_session *s, int end)
{
	int rc;

	rc = relay(s, 1);
	if (rc == 0)
		rc = relay(s, 0);
	if (rc == 0)
		rc = end;
	if (lb_sess_may_retry(s, rc)) {
		session_retry(s);
		return;
	}
	if (rc != 0) {
		session_end(s, (enum lb_sess_end)(rc - 1));
		return;
	}
	if ((s->flags & (LB_SESS_B_SHUT | LB_SESS_C_SHUT)) ==
	    (LB_SESS_B_SHUT | LB_SESS_C_SHUT)) {
		/* Both ways done, nothing pending: close() sends the FINs
		 * still owed, no shutdown() needed. */
		session_end(s, LB_END_CLOSED);
		return;
	}
	/* half-close off: the backend's FIN reached the client and no
	 * client bytes wait: do not wait for the client's FIN. */
	if (!s->svc->conf->half_close && (s->flags & LB_SESS_C_SHUT) &&
	    s->c2b.len == 0 && s->c2b.inpipe == 0) {
		session_end(s, LB_END_CLOSED);
		return;
	}
	/* One way goes on: its peer must see the other way's FIN now. */
	if (s->flags & LB_SESS_B_OWED)
		(void)shutdown(s->bfd, SHUT_WR);
	if (s->flags & LB_SESS_C_OWED)
		(void)shutdown(s->cfd, SHUT_WR);
	s->flags &= ~(LB_SESS_B_OWED | LB_SESS_C_OWED);
	k_maybe(s);
}

/* The connect finished: events had WRITE, ERR or HUP. Writable without
 * an error means connected (no getsockopt needed). */
static void
session_connected(struct lb_session *s, unsigned events)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if ((events & (TETHER_LOOP_ERR | TETHER_LOOP_HUP)) &&
	    getsockopt(s->bfd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr != 0) {
		tether_log_debug("connect %s (backend %s): %s",
				 s->svc->conf->name, s->be->name,
				 strerror(soerr));
		attempt_failed(s);
		(void)session_connect(s);
		return;
	}
	session_relay(s);
}

static void
session_io(struct tether_loop *loop, int fd, unsigned events, void *ud)
{
	const unsigned bad = TETHER_LOOP_ERR | TETHER_LOOP_HUP;
	struct lb_session *s = ud;
	int client = fd == s->cfd;

	(void)loop;
	if (events & (TETHER_LOOP_READ | TETHER_LOOP_RDHUP | bad))
		s->ready |= client ? LB_RDY_CR : LB_RDY_BR;
	if (events & (TETHER_LOOP_WRITE | bad))
		s->ready |= client ? LB_RDY_CW : LB_RDY_BW;
	if (events & (TETHER_LOOP_RDHUP | bad))
		s->ready |= client ? LB_RDY_CHUP : LB_RDY_BHUP;
	if (events & TETHER_LOOP_PRI)
		s->flags |= LB_SESS_URGENT;
	if (s->flags & LB_SESS_KRELAY) {
		k_session_io(s, events, client);
		return;
	}
	if (s->state == LB_SESS_CONNECTING) {
		if (!client) {
			if (events & (TETHER_LOOP_WRITE | bad))
				session_connected(s, events);
		} else if (events & bad) {
			/* The client gave up while we were connecting. */
			session_end(s, LB_END_CLIENT_ERROR);
		}
		return;
	}
	/* Relay what can still be relayed, then end on an error (it is
	 * reported once: edge-triggered). */
	session_pump(s, !(events & TETHER_LOOP_ERR) ? 0 :
		     (client ? LB_END_CLIENT_ERROR :
		      LB_END_BACKEND_ERROR) + 1);
}

static void
session_timer(struct tether_loop *loop, struct tether_loop_timer *t,
	      void *ud)
{
	struct lb_session *s = ud;
	uint64_t now = tether_loop_now(loop), idle;

	if (s->state == LB_SESS_CONNECTING) {
#ifdef LB_HAVE_URING
		if (s->flags & LB_SESS_URING) {
			u_connect_timeout(s);
			return;
		}
#endif
		tether_log_debug("connect %s (backend %s): timed out",
				 s->svc->conf->name, s->be->name);
		attempt_failed(s);
		(void)session_connect(s);
		return;
	}
	if ((s->flags & LB_SESS_KRELAY) && k_timer(s))
		return;
	idle = s->svc->conf->limits.idle_timeout_ms;
	if (now - s->last_activity >= idle) {
		session_end(s, LB_END_IDLE);
		return;
	}
	(void)tether_loop_timer_arm(t, idle - (now - s->last_activity), 0);
}

/* ------------------------------------------------------------------ */
/* The kernel relay                                                    */
/* ------------------------------------------------------------------ */

/*
 * With `kernel-relay on`, a session that has made kernel-relay-after
 * reads (both ways, on either data path) and holds no byte in user
 * space moves into krelay.c's sockmap (k_maybe, at the end of a pump;
 * an io_uring session leaves for epoll first, LB_SESS_KWANT). From then
 * on the kernel moves its bytes: its sockets are watched for the
 * peer's FIN (RDHUP), a hang-up or an error (which reset the session:
 * bytes may be lost), room to write what user space holds, and the
 * ring buffer for directions that passed their kernel-relay-window
 * and paused (k_ring_io, k_pull). A FIN is passed on
 * (shutdown) once every byte the kernel took from that side has
 * reached the other (lb_krelay_drained); bytes still on their way are
 * checked for again after 1, 2, 4 ... 64 ms. Idleness is judged by the
 * kernel's byte counts, read when the idle timer fires. A bulk session
 * (a read was long with splice on, LB_SESS_BULK: splice moves it
 * faster, 10 MiB GETs in bench/lb) stays in user space, and so does
 * one whose PROXY v2 header is not written yet or whose move failed
 * (LB_SESS_KNEVER: the maps are full, a socket error).
 */

#define LB_KPOLL_MIN	1u	/* ms */
#define LB_KTAB_SIZE	4096u	/* cookie -> session chains */
#define LB_KPOLL_MAX	64u
#define LB_KRELAY_SESSIONS_DEFAULT	65536u	/* maps' room, no max-conns */
static unsigned krelay_room;		/* the sessions the maps hold */
static unsigned krelay_warned;		/* a reload's max-conns, said */

/* From a socket's cookie to the moved session it belongs to: the verdict
 * names a paused direction by its source socket's cookie. One table per
 * side, chained through knext[side]. */
static struct lb_session *ktab[2][LB_KTAB_SIZE];
static struct tether_loop *kring_loop;	/* watching the ring buffer */

static void
ktab_add(struct lb_session *s)
{
	int i;

	for (i = 0; i < 2; i++) {
		struct lb_session **b =
			&ktab[i][s->kr.cookie[i] & (LB_KTAB_SIZE - 1)];

		s->knext[i] = *b;
		*b = s;
	}
}

static void
ktab_del(struct lb_session *s)
{
	int i;

	for (i = 0; i < 2; i++) {
		struct lb_session **p =
			&ktab[i][s->kr.cookie[i] & (LB_KTAB_SIZE - 1)];

		while (*p != NULL && *p != s)
			p = &(*p)->knext[i];
		if (*p == s)
			*p = s->knext[i];
		s->knext[i] = NULL;
	}
}

/* The moved session whose side's socket has this cookie (side 0: the
 * client's, so the client-to-backend direction); NULL if none. */
static struct lb_session *
ktab_find(uint64_t cookie, int *side)
{
	struct lb_session *s;
	int i;

	for (i = 0; i < 2; i++) {
		for (s = ktab[i][cookie & (LB_KTAB_SIZE - 1)]; s != NULL;
		     s = s->knext[i]) {
			if (s->kr.cookie[i] == cookie) {
				*side = i;
				return s;
			}
		}
	}
	return NULL;
}

void
lb_proxy_krelay_stats(uint64_t *sessions, uint64_t *pauses)
{
	*sessions = krelay_sessions;
	*pauses = krelay_pauses;
}

const char *
lb_proxy_kernel_relay(struct lb_proxy *px)
{
	char err[256];
	unsigned n;

	if (!lb_conf_wants_kernel_relay(px->conf))
		return "";
	/* The file's max-conns, not px->max_conns: the default follows
	 * the open-file limit (some 500,000 with a hard limit of 2^20)
	 * and a reload's listeners, and would make the maps far larger
	 * than before, or ask for a restart at reloads that add a port;
	 * a session that finds them full stays in user space. */
	n = px->conf->max_conns != 0 ? px->conf->max_conns :
	    LB_KRELAY_SESSIONS_DEFAULT;
	if (lb_krelay_ready() && n != krelay_room && n != krelay_warned) {
		/* The maps are made once: a reload cannot resize them. */
		krelay_warned = n;
		if (px->conf->max_conns != 0)
			tether_log_warnx("kernel relay: max-conns %u needs a "
					 "restart to resize its maps; keeping "
					 "room for %u sessions",
					 px->conf->max_conns, krelay_room);
		else
			tether_log_warnx("kernel relay: without max-conns its "
					 "maps would hold %u sessions after a "
					 "restart; keeping room for %u sessions",
					 n, krelay_room);
	}
	if (!lb_krelay_ready() && !krelay_failed) {
		err[0] = '\0';
		krelay_room = n;
		if (lb_krelay_setup(n, err, sizeof(err)) < 0) {
			krelay_failed = 1;
			tether_log_warnx("kernel relay unavailable: %s; "
					 "relaying in user space", err);
		} else if (tether_loop_fd_add(px->loop, lb_krelay_ring_fd(),
					      TETHER_LOOP_READ, k_ring_io,
					      NULL) < 0) {
			krelay_failed = 1;
			lb_krelay_close();
			tether_log_warnx("kernel relay unavailable: cannot "
					 "watch its ring buffer; relaying in "
					 "user space");
		} else {
			kring_loop = px->loop;
		}
	}
	return lb_krelay_ready() ? ", kernel relay" : "";
}

void
lb_proxy_krelay_close(void)
{
	if (kring_loop != NULL)
		(void)tether_loop_fd_del(kring_loop, lb_krelay_ring_fd());
	kring_loop = NULL;
	lb_krelay_close();
	krelay_failed = 0;
	krelay_warned = 0;
}

static void
k_maybe(struct lb_session *s)
{
	const struct lb_conf *conf = s->px->conf;
	int rc;
	const unsigned stay = LB_SESS_KRELAY | LB_SESS_KNEVER |
		LB_SESS_URING | LB_SESS_BULK | LB_SESS_C_EOF | LB_SESS_B_EOF |
		LB_SESS_C_SHUT | LB_SESS_B_SHUT | LB_SESS_URGENT;

	if (!lb_conf_kernel_relay(conf, s->svc->conf) ||
	    s->reads < conf->kernel_relay_after ||
	    (s->flags & stay) || s->state != LB_SESS_RELAY ||
	    !lb_krelay_ready())
		return;
	if (s->c2b.len > 0 || s->c2b.inpipe > 0 || s->b2c.len > 0 ||
	    s->b2c.inpipe > 0 || s->c2b.bulk || s->b2c.bulk ||
	    s->bsent < s->hdr_len)
		return;
	s->flags &= ~LB_SESS_KWANT;
	rc = lb_krelay_link(&s->kr, s->cfd, s->bfd, conf->kernel_relay_window);
	if (rc == -2) {
		int err = errno;

		tether_log_warnx("kernel relay: moving a session of %s/%s "
				 "failed (%s) after the kernel took bytes of "
				 "it; session reset", s->svc->conf->name,
				 s->be->name, strerror(err));
		k_abort(s, err == ENOMEM ? LB_END_NOMEM :
			   LB_END_KRELAY_FAILED);
		return;
	}
	if (rc < 0) {
		s->flags |= LB_SESS_KNEVER;
		tether_log_debug("kernel relay: session of %s/%s stays in "
				 "user space: %s", s->svc->conf->name,
				 s->be->name, strerror(errno));
		return;
	}
	pipe_put(&s->c2b);
	pipe_put(&s->b2c);
	/* Not readable, nor urgent data: the kernel wakes a socket's
	 * readers for every skb its verdict takes, redirected or not,
	 * with EPOLLIN and EPOLLPRI (a wakeup of the loop per skb; with
	 * PRI in the mask 34513 ring waits in 3 s at 23000 requests/s).
	 * A pause comes from the ring buffer instead (k_ring_io);
	 * writable matters only when user space holds bytes. */
	(void)tether_loop_fd_mod(s->px->loop, s->cfd, TETHER_LOOP_WRITE |
				 TETHER_LOOP_RDHUP | TETHER_LOOP_EDGE);
	(void)tether_loop_fd_mod(s->px->loop, s->bfd, TETHER_LOOP_WRITE |
				 TETHER_LOOP_RDHUP | TETHER_LOOP_EDGE);
	ktab_add(s);
	s->flags |= LB_SESS_KRELAY;
	s->kdelay = 0;
	krelay_sessions++;
}

/* Arm the idle timer for what is left of the idle timeout. */
static void
k_arm_idle(struct lb_session *s)
{
	uint64_t idle = s->svc->conf->limits.idle_timeout_ms;
	uint64_t gone = tether_loop_now(s->px->loop) - s->last_activity;

	(void)tether_loop_timer_arm(s->timer, gone < idle ? idle - gone : 1,
				    0);
}

/* Pass on each FIN whose bytes have all arrived, end the session when
 * both ways are done (or, half-close off, the backend's), and check
 * again soon while bytes are on their way. */
static void
k_settle(struct lb_session *s)
{
	/* A pause whose redirected bytes are still on their way is looked
	 * at again with the FINs: no event would bring it back. */
	int wait = s->kr.want[0] | s->kr.want[1], c2b_done = -1;

	if ((s->flags & LB_SESS_C_EOF) && !(s->flags & LB_SESS_B_SHUT)) {
		c2b_done = s->c2b.len == 0 &&
			   lb_krelay_drained(&s->kr, 0, s->cfd, s->bfd);
		if (c2b_done && k_unsound(s, 0))
			return;
		if (c2b_done)
			s->flags |= LB_SESS_B_SHUT | LB_SESS_B_OWED;
		else
			wait = 1;
	}
	if ((s->flags & LB_SESS_B_EOF) && !(s->flags & LB_SESS_C_SHUT)) {
		if (s->b2c.len == 0 &&
		    lb_krelay_drained(&s->kr, 1, s->bfd, s->cfd)) {
			if (k_unsound(s, 1))
				return;
			s->flags |= LB_SESS_C_SHUT | LB_SESS_C_OWED;
		} else {
			wait = 1;
		}
	}
	if ((s->flags & (LB_SESS_B_SHUT | LB_SESS_C_SHUT)) ==
	    (LB_SESS_B_SHUT | LB_SESS_C_SHUT)) {
		session_end(s, LB_END_CLOSED);
		return;
	}
	if (!s->svc->conf->half_close && (s->flags & LB_SESS_C_SHUT)) {
		if (c2b_done < 0)
			c2b_done = s->c2b.len == 0 &&
				   lb_krelay_drained(&s->kr, 0, s->cfd,
						     s->bfd);
		if (c2b_done && k_unsound(s, 0))
			return;
		if (c2b_done) {
			session_end(s, LB_END_CLOSED);
			return;
		}
		wait = 1;
	}
	if (s->flags & LB_SESS_B_OWED)
		(void)shutdown(s->bfd, SHUT_WR);
	if (s->flags & LB_SESS_C_OWED)
		(void)shutdown(s->cfd, SHUT_WR);
	s->flags &= ~(LB_SESS_B_OWED | LB_SESS_C_OWED);
	if (wait) {
		s->kdelay = s->kdelay == 0 ? LB_KPOLL_MIN :
			    s->kdelay * 2 < LB_KPOLL_MAX ? s->kdelay * 2 :
			    LB_KPOLL_MAX;
		(void)tether_loop_timer_arm(s->timer, s->kdelay, 0);
	} else if (s->kdelay != 0) {
		s->kdelay = 0;
		k_arm_idle(s);
	}
}

/* The verdict paused directions: relay what they hold back. */
static void
k_ring_io(struct tether_loop *loop, int fd, unsigned events, void *ud)
{
	uint64_t cookies[64];
	size_t n, i;
	int side;

	(void)loop;
	(void)fd;
	(void)events;
	(void)ud;
	do {
		n = lb_krelay_ring_read(cookies, TETHER_ARRAY_SIZE(cookies));
		for (i = 0; i < n; i++) {
			struct lb_session *s = ktab_find(cookies[i], &side);

			if (s != NULL && k_pull(s, side) == 0)
				k_settle(s);
		}
	} while (n == TETHER_ARRAY_SIZE(cookies));
	k_lost_sweep();
}

/* The ring was full and the verdict counted notices it could not write
 * (it wakes us: a full ring is readable): look at every moved session,
 * both ways, once per new loss. */
static void
k_lost_sweep(void)
{
	static uint64_t seen;
	uint64_t lost = lb_krelay_lost();
	struct lb_session *s, *next;
	size_t b;
	int i;

	if (lost == seen)
		return;
	seen = lost;
	tether_log_warnx("kernel relay: its ring buffer was full; looking "
			 "at every moved session");
	for (b = 0; b < LB_KTAB_SIZE; b++) {
		for (s = ktab[0][b]; s != NULL; s = next) {
			next = s->knext[0];
			for (i = 0; i < 2; i++)
				if (k_pull(s, i) < 0)
					break;
			if (i == 2)
				k_settle(s);
		}
	}
}

/* End a moved session with a reset on both sides, not a FIN: bytes
 * were lost, a clean end of stream would hide it. */
static void
k_abort(struct lb_session *s, enum lb_sess_end why)
{
	struct linger l = { 1, 0 };

	(void)setsockopt(s->cfd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	(void)setsockopt(s->bfd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	session_end(s, why);
}

/* The verdict took more from side's socket than TCP received there
 * (bytes relayed twice), or met an skb it could not cut (it parks all
 * from then on): reset the session rather than let it end as if
 * whole. 1 if it ended it. */
static int
k_unsound(struct lb_session *s, int side)
{
	if (lb_krelay_sound(&s->kr, side, side == 0 ? s->cfd : s->bfd) == 0)
		return 0;
	tether_log_warnx("kernel relay: the %s's stream of %s/%s is not "
			 "whole (a retransmission the verdict could not "
			 "know or cut); session reset", side == 0 ? "client" :
			 "backend", s->svc->conf->name, s->be->name);
	k_abort(s, side == 0 ? LB_END_CLIENT_ERROR : LB_END_BACKEND_ERROR);
	return 1;
}

/* A kernel whose verdict stopped at the urgent mark (the stream parser
 * did) would hold the bytes behind it for good, and its arrival wakes no
 * one: the timer looks (SIOCATMARK) and resets the session. 1 if it
 * ended the session. */
static int
k_urgent(struct lb_session *s)
{
	int i, at;

	for (i = 0; i < 2; i++) {
		at = 0;
		if (ioctl(i == 0 ? s->cfd : s->bfd, SIOCATMARK, &at) < 0 ||
		    at == 0)
			continue;
		tether_log_warnx("kernel relay: urgent data from the %s of "
				 "%s/%s cannot be relayed; session reset",
				 i == 0 ? "client" : "backend",
				 s->svc->conf->name, s->be->name);
		k_abort(s, i == 0 ? LB_END_CLIENT_ERROR :
			LB_END_BACKEND_ERROR);
		return 1;
	}
	return 0;
}

/*
 * Past its budget a direction pauses (krelay.c): the verdict leaves its
 * bytes in the source socket and says so in the ring buffer
 * (k_ring_io). Once every byte
 * redirected before the pause has reached dst (else: 1, check again
 * soon: k->want[side], which k_settle's timer honours), read them and
 * write them on as relay() does, holding what dst does not take (its
 * EPOLLOUT brings us back; the source is not read meanwhile, its
 * buffer fills and TCP closes the sender's window). When all is
 * written, a new budget lets the kernel go on. Returns 0, or -1 when
 * the session ended.
 */
static int
k_pull(struct lb_session *s, int side)
{
	struct lb_krelay *k = &s->kr;
	struct lb_dir *d = side == 0 ? &s->c2b : &s->b2c;
	int src = side == 0 ? s->cfd : s->bfd;
	int dst = side == 0 ? s->bfd : s->cfd;
	enum lb_sess_end rerr = side == 0 ? LB_END_CLIENT_ERROR :
				LB_END_BACKEND_ERROR;
	enum lb_sess_end werr = side == 0 ? LB_END_BACKEND_ERROR :
				LB_END_CLIENT_ERROR;
	ssize_t n, m;
	int r;

	if (!k->held[side]) {
		r = lb_krelay_parked(k, side, dst);
		if (r != 0 && k_unsound(s, side))
			return -1;
		k->want[side] = r < 0;
		if (r <= 0)
			return 0;
		k->held[side] = 1;
		krelay_pauses++;
	}
	for (;;) {
		while (d->len > 0) {
			m = send(dst, d->buf + d->off, d->len,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (m < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					return 0;
				k_abort(s, werr);
				return -1;
			}
			k->uw[side] += (uint64_t)m;
			s->last_activity = tether_loop_now(s->px->loop);
			d->off += (uint32_t)m;
			d->len -= (uint32_t)m;
			if (d->len == 0) {
				tether_free(d->buf);
				d->buf = NULL;
				d->off = 0;
			}
		}
		n = recv(src, lb_rbuf, LB_RBUF_SIZE, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			k_abort(s, rerr);
			return -1;
		}
		if (n == 0)
			break;		/* the FIN: k_settle's */
		k->uread[side] += (uint64_t)n;
		*(side == 0 ? &s->bytes_in : &s->bytes_out) += (uint64_t)n;
		s->last_activity = tether_loop_now(s->px->loop);
		m = send(dst, lb_rbuf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (m < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR) {
				k_abort(s, werr);
				return -1;
			}
			m = 0;
		}
		k->uw[side] += (uint64_t)m;
		if (m < n && dir_keep(d, lb_rbuf + m, (size_t)(n - m)) < 0) {
			session_end(s, LB_END_NOMEM);
			return -1;
		}
	}
	/* Everything read is written: the kernel may go on (if the map
	 * refuses, the verdict stays paused and user space relays). */
	if (lb_krelay_resume(k, side, dst) < 0)
		tether_log_debug("kernel relay: session of %s/%s stays "
				 "paused: %s", s->svc->conf->name,
				 s->be->name, strerror(errno));
	k->held[side] = 0;
	/* Parked bytes the read did not get yet (the kernel may hand them
	 * to the socket's queue later, from a work item): look again
	 * soon rather than trust an edge to come. */
	k->want[side] = lb_krelay_parked(k, side, dst) != 0;
	return 0;
}

static void
k_session_io(struct lb_session *s, unsigned events, int client)
{
	if (events & TETHER_LOOP_ERR) {
		k_abort(s, client ? LB_END_CLIENT_ERROR :
			LB_END_BACKEND_ERROR);
		return;
	}
	/* Writable: room for what the other direction holds (parked
	 * bytes come through the ring buffer, k_ring_io). */
	if ((events & TETHER_LOOP_WRITE) &&
	    (client ? s->b2c.len : s->c2b.len) > 0 &&
	    k_pull(s, client ? 1 : 0) < 0)
		return;
	if (events & (TETHER_LOOP_RDHUP | TETHER_LOOP_HUP)) {
		s->flags |= client ? LB_SESS_C_EOF : LB_SESS_B_EOF;
		s->last_activity = tether_loop_now(s->px->loop);
	}
	k_settle(s);
}

/* The session's timer fired: note what the kernel relayed since the
 * last look, and check on FINs waiting for their bytes. Returns 1 if
 * it was handled here, 0 for the idle check of session_timer. */
static int
k_timer(struct lb_session *s)
{
	uint64_t seen = lb_krelay_count(&s->kr, 0, NULL) +
			lb_krelay_count(&s->kr, 1, NULL);
	int i;

	if (seen != s->kr.seen) {
		s->kr.seen = seen;
		s->last_activity = tether_loop_now(s->px->loop);
	}
	if (k_urgent(s))
		return 1;
	if (s->kdelay == 0) {
		/* The idle check: a pause whose notice was lost (the ring
		 * buffer full) would look idle; look at both first (and
		 * that neither stream lost its order). */
		for (i = 0; i < 2; i++)
			if (k_unsound(s, i) || k_pull(s, i) < 0)
				return 1;
		if (s->kr.want[0] | s->kr.want[1]) {
			k_settle(s);
			return 1;
		}
		return 0;
	}
	if (tether_loop_now(s->px->loop) - s->last_activity >=
	    s->svc->conf->limits.idle_timeout_ms) {
		/* A FIN's or a pause's bytes have not moved for the idle
		 * timeout: the other side does not read. */
		session_end(s, LB_END_IDLE);
		return 1;
	}
	for (i = 0; i < 2; i++)
		if (k_pull(s, i) < 0)	/* both: a notice may be lost */
			return 1;
	k_settle(s);
	return 1;
}

/* The kernel's bytes join the session's counts; the maps forget it
 * (its sockets leave the sockmap when session_end closes them). */
static void
k_session_end(struct lb_session *s)
{
	uint64_t cut[2];

	s->bytes_in += lb_krelay_count(&s->kr, 0, &cut[0]);
	s->bytes_out += lb_krelay_count(&s->kr, 1, &cut[1]);
	if (cut[0] + cut[1] > 0)
		tether_log_info("kernel relay: session of %s/%s: cut %llu "
				"and %llu retransmitted bytes seen twice "
				"(client, backend)", s->svc->conf->name,
				s->be->name, (unsigned long long)cut[0],
				(unsigned long long)cut[1]);
	lb_krelay_unlink(&s->kr);
	ktab_del(s);
	s->flags &= ~LB_SESS_KRELAY;
}

/* ------------------------------------------------------------------ */
/* The io_uring data path                                              */
/* ------------------------------------------------------------------ */

/*
 * With `io-uring on` a TCP session starts on io_uring (uring.c): its
 * sockets are not in the epoll loop; connect, recv and send are
 * operations whose completions drive it, submitted in batches. Each
 * direction alternates one recv (into a provided buffer) and the sends
 * of that buffer, so the source is not read while its bytes wait: the
 * same back-pressure as relay(). FINs are passed on as by
 * session_pump. Anything else leaves for the epoll path above for the
 * rest of the session (u_leave): a read that fills a buffer where
 * splice is on (bulk), no free buffer, an error, or a backend that
 * closes before answering (the retry rules of lb_sess_may_retry live
 * there). PROXY v2 services stay on epoll. The session keeps its
 * memory until every operation it started has completed (LB_SESS_UDEAD
 * after session_end), since completions point into it.
 */

void
lb_proxy_uring_stats(uint64_t *sessions, uint64_t *fallbacks)
{
	*sessions = uring_sessions;
	*fallbacks = uring_fallbacks;
}

#ifdef LB_HAVE_URING

static void u_recv_done(struct lb_uop *op, int res, unsigned flags);
static void u_send_done(struct lb_uop *op, int res, unsigned flags);
static void u_conn_done(struct lb_uop *op, int res, unsigned flags);
static void u_cancel_done(struct lb_uop *op, int res, unsigned flags);

/* The ring, set up on first use (after daemon(): a DEFER_TASKRUN ring
 * belongs to the task that made it). NULL if it cannot be. */
static struct lb_uring *
u_ring(struct lb_proxy *px)
{
	char err[256];

	if (lb_ring == NULL && !lb_ring_failed) {
		if (lb_uring_open(&lb_ring, px->loop, px->conf->io_uring_bufs,
				  err, sizeof(err)) < 0) {
			lb_ring_failed = 1;
			tether_log_warnx("io-uring on: %s; relaying on epoll",
					 err);
		}
	} else if (lb_ring != NULL &&
		   lb_uring_nbufs(lb_ring) != px->conf->io_uring_bufs &&
		   uring_warned != px->conf->io_uring_bufs) {
		/* The ring is made once: a reload cannot resize it. */
		uring_warned = px->conf->io_uring_bufs;
		tether_log_warnx("io-uring-buffers %u needs a restart; "
				 "keeping %u", px->conf->io_uring_bufs,
				 lb_uring_nbufs(lb_ring));
	}
	return lb_ring;
}

static int
u_src(const struct lb_session *s, int i)
{
	return i == 0 ? s->cfd : s->bfd;
}

static int
u_dst(const struct lb_session *s, int i)
{
	return i == 0 ? s->bfd : s->cfd;
}

static void
u_init(struct lb_session *s)
{
	int i;

	s->flags |= LB_SESS_URING;
	s->uconn.fn = u_conn_done;
	s->ucancel.fn = u_cancel_done;
	for (i = 0; i < 2; i++) {
		s->u[i].rop.fn = u_recv_done;
		s->u[i].sop.fn = u_send_done;
		s->u[i].s = s;
		s->u[i].bid = -1;
	}
	uring_sessions++;
	uring_live++;
}

static int
u_post_recv(struct lb_session *s, int i)
{
	struct io_uring_sqe *sqe = lb_uring_sqe(lb_ring, &s->u[i].rop);

	if (sqe == NULL)
		return -1;
	io_uring_prep_recv(sqe, u_src(s, i), NULL, LB_URING_BUF_SIZE, 0);
	/* A receive that tries at once picks a buffer before it looks, so
	 * with none free it fails (ENOBUFS) even if there is nothing to
	 * read, and the session leaves io_uring: unless bytes are known to
	 * wait, poll first. (Linux 5.19, like the buffer ring.) */
	if (!s->u[i].nonempty)
		sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = LB_URING_BGID;
	s->upend |= LB_UP_RECV(i);
	return 0;
}

static int
u_post_send(struct lb_session *s, int i)
{
	struct lb_udir *d = &s->u[i];
	struct io_uring_sqe *sqe = lb_uring_sqe(lb_ring, &d->sop);

	if (sqe == NULL)
		return -1;
	io_uring_prep_send(sqe, u_dst(s, i),
			   lb_uring_buf(lb_ring, (unsigned)d->bid) + d->off,
			   d->len - d->off,
			   MSG_NOSIGNAL | (d->more ? MSG_MORE : 0));
	s->upend |= LB_UP_SEND(i);
	return 0;
}

static int
u_post_connect(struct lb_session *s)
{
	struct io_uring_sqe *sqe = lb_uring_sqe(lb_ring, &s->uconn);

	if (sqe == NULL)
		return -1;
	/* The kernel copies the address when it takes the SQE. */
	io_uring_prep_connect(sqe, s->bfd,
			      (const struct sockaddr *)&s->baddr.ss,
			      s->baddr.len);
	s->upend |= LB_UP_CONN;
	return 0;
}

/* Cancel the operations of s in mask that are in flight, each by its
 * user_data (a lookup; cancelling by fd would scan every request).
 * Their completions still come, and the cancels' own. */
static int
u_cancel_ops(struct lb_session *s, unsigned mask)
{
	struct lb_uop *ops[5] = {
		&s->uconn, &s->u[0].rop, &s->u[0].sop, &s->u[1].rop,
		&s->u[1].sop,
	};
	unsigned i;

	for (i = 0; i < 5; i++) {
		struct io_uring_sqe *sqe;

		if (!(s->upend & mask & (1u << i)))
			continue;
		/* Counted: the session outlives its cancels too, or one
		 * could reach a new session's operation at the same
		 * address. */
		sqe = lb_uring_sqe(lb_ring, &s->ucancel);
		if (sqe == NULL)
			return -1;
		io_uring_prep_cancel(sqe, ops[i], 0);
		s->ucancels++;
	}
	return 0;
}

static void
u_buf_put(struct lb_udir *d)
{
	if (d->bid >= 0)
		lb_uring_buf_put(lb_ring, (unsigned)d->bid);
	d->bid = -1;
	d->off = d->len = 0;
}

/* From session_end: cancel the operations in flight and close both
 * sockets behind the cancels (SQEs are issued in order, and the fd
 * numbers stay taken until the closes run). The sockets' last
 * references go with the operations, so the FINs leave when nothing
 * holds them. */
static void
u_session_end(struct lb_session *s)
{
	int fds[2] = { s->cfd, s->bfd }, i;
	int cancelled = u_cancel_ops(s, LB_UP_ON_CFD | LB_UP_ON_BFD) == 0;

	for (i = 0; i < 2; i++) {
		struct io_uring_sqe *x;

		if (fds[i] < 0)
			continue;
		x = cancelled ? lb_uring_sqe(lb_ring, NULL) : NULL;
		if (x == NULL) {
			/* No SQE: wake what waits on it by shutdown. */
			(void)shutdown(fds[i], SHUT_RDWR);
			(void)close(fds[i]);
			continue;
		}
		/* After the cancels: SQEs are issued in order. */
		io_uring_prep_close(x, fds[i]);
	}
	s->cfd = s->bfd = -1;
	/* Buffers not being sent go back now; the others when their send
	 * completes. */
	for (i = 0; i < 2; i++)
		if (!(s->upend & LB_UP_SEND(i)))
			u_buf_put(&s->u[i]);
}

/* A completion for a session that ended: free it after the last. */
static int
u_dead(struct lb_session *s)
{
	if (!(s->flags & LB_SESS_UDEAD))
		return 0;
	if (s->upend == 0 && s->ucancels == 0) {
		u_buf_put(&s->u[0]);
		u_buf_put(&s->u[1]);
		tether_free(s);
		u_retire_check();	/* (its proxy may be gone) */
	}
	return 1;
}

/* Every operation is back after u_leave: move to the epoll path. The
 * bytes read and not yet sent go to the direction's buffer, the
 * sockets into the loop; their registration reports what is ready. */
static void
u_switch(struct lb_session *s)
{
	int end = s->uend, i;

	s->flags &= ~(LB_SESS_URING | LB_SESS_ULEAVE);
	s->uend = 0;
	TETHER_BUG_ON(uring_live == 0);
	uring_live--;
	u_retire_check();
	for (i = 0; i < 2; i++) {
		struct lb_udir *d = &s->u[i];

		if (d->bid >= 0 && d->len > d->off &&
		    dir_keep(i == 0 ? &s->c2b : &s->b2c,
			     lb_uring_buf(lb_ring, (unsigned)d->bid) + d->off,
			     d->len - d->off) < 0)
			end = LB_END_NOMEM + 1;
		u_buf_put(d);
	}
	/* Watched whatever end says: a retry goes on with the client. */
	if (watch(s, s->cfd) < 0 || (s->bfd >= 0 && watch(s, s->bfd) < 0))
		end = LB_END_NOMEM + 1;
	if (s->state == LB_SESS_CONNECTING) {
		if (end != 0) {
			session_end(s, (enum lb_sess_end)(end - 1));
			return;
		}
		if (s->flags & LB_SESS_UCONNFAIL) {
			s->flags &= ~LB_SESS_UCONNFAIL;
			tether_log_debug("connect %s (backend %s): %s",
					 s->svc->conf->name, s->be->name,
					 strerror(s->berrno));
			s->berrno = 0;
			attempt_failed(s);
			(void)session_connect(s);
		}
		/* Else the connect goes on; the loop reports its end. */
		return;
	}
	/* Nothing was relayed since the backend failed: retry before a
	 * pump writes the client's bytes to it. */
	if (lb_sess_may_retry(s, end)) {
		session_retry(s);
		return;
	}
	/* Try everything but a side that failed: its error was taken. */
	s->ready |= LB_RDY_CR | LB_RDY_CW | LB_RDY_BR | LB_RDY_BW;
	if (end == LB_END_BACKEND_ERROR + 1)
		s->ready &= ~(LB_RDY_BR | LB_RDY_BW);
	if (end == LB_END_CLIENT_ERROR + 1)
		s->ready &= ~(LB_RDY_CR | LB_RDY_CW);
	session_pump(s, end);
}

/* Leave io_uring for epoll once what is in flight is back; end (an end
 * reason + 1, or 0) is applied then. */
static void
u_leave(struct lb_session *s, int end)
{
	if (s->uend == 0)
		s->uend = end;
	if (!(s->flags & LB_SESS_ULEAVE)) {
		s->flags |= LB_SESS_ULEAVE;
		if (!(s->flags & LB_SESS_KWANT))
			uring_fallbacks++;
		if (u_cancel_ops(s, LB_UP_ON_CFD | LB_UP_ON_BFD) < 0) {
			session_end(s, LB_END_NOMEM);
			return;
		}
	}
	if (s->upend == 0 && s->ucancels == 0)
		u_switch(s);
}

/* After a completion: pass FINs on and end the session, as session_pump
 * does. Returns 1 if the session ended. */
static int
u_settle(struct lb_session *s)
{
	if ((s->flags & LB_SESS_C_EOF) && s->u[0].bid < 0 &&
	    !(s->flags & LB_SESS_B_SHUT))
		s->flags |= LB_SESS_B_SHUT | LB_SESS_B_OWED;
	if ((s->flags & LB_SESS_B_EOF) && s->u[1].bid < 0 &&
	    !(s->flags & LB_SESS_C_SHUT))
		s->flags |= LB_SESS_C_SHUT | LB_SESS_C_OWED;
	if ((s->flags & (LB_SESS_B_SHUT | LB_SESS_C_SHUT)) ==
	    (LB_SESS_B_SHUT | LB_SESS_C_SHUT) ||
	    (!s->svc->conf->half_close && (s->flags & LB_SESS_C_SHUT) &&
	     s->u[0].bid < 0)) {
		/* close() sends the FINs still owed */
		session_end(s, LB_END_CLOSED);
		return 1;
	}
	if (s->state != LB_SESS_RELAY)
		return 0;	/* the backend's FIN waits for its connection */
	/* Not IORING_OP_SHUTDOWN: the kernel always hands it to an io-wq
	 * worker thread (7% of the CPU per connection in bench/lb). */
	if (s->flags & LB_SESS_B_OWED)
		(void)shutdown(s->bfd, SHUT_WR);
	if (s->flags & LB_SESS_C_OWED)
		(void)shutdown(s->cfd, SHUT_WR);
	s->flags &= ~(LB_SESS_B_OWED | LB_SESS_C_OWED);
	return 0;
}

static void
u_cancel_done(struct lb_uop *op, int res, unsigned flags)
{
	struct lb_session *s = (struct lb_session *)(void *)((char *)op -
		offsetof(struct lb_session, ucancel));

	(void)res;
	(void)flags;
	TETHER_BUG_ON(s->ucancels == 0);
	s->ucancels--;
	if (u_dead(s))
		return;
	if (s->flags & LB_SESS_ULEAVE)
		u_leave(s, 0);
}

/* A short receive from side i left something queued (TCP's inq hint,
 * IORING_CQE_F_SOCK_NONEMPTY, counts a FIN as a byte): read on into the
 * rest of the buffer at once. Returns the bytes added, 0 if the FIN is
 * next, -1 with errno. A read, not a peek: a peek steps over an urgent
 * byte without taking it, and close() on a socket with a byte unread
 * sends an RST. */
static ssize_t
u_read_on(struct lb_session *s, int i)
{
	struct lb_udir *d = &s->u[i];

	return recv(u_src(s, i), lb_uring_buf(lb_ring, (unsigned)d->bid) +
		    d->len, LB_URING_BUF_SIZE - d->len, MSG_DONTWAIT);
}

/* n bytes of direction i were sent. */
static void
u_sent(struct lb_session *s, int i, uint32_t n)
{
	struct lb_udir *d = &s->u[i];

	d->off += n;
	if (d->more)
		s->flags |= i == 0 ? LB_SESS_B_HELD : LB_SESS_C_HELD;
	if (i == 0)
		s->bsent += n;
	s->last_activity = tether_loop_now(s->px->loop);
}

/* The end of stream came with the bytes of direction i: send them at
 * once, with MSG_MORE, and the FIN right behind them (u_settle), not a
 * loop turn later through the ring. Returns 1 if they all went (s may
 * be gone), 0 to send the rest through the ring, which also reports an
 * error. */
static int
u_send_now(struct lb_session *s, int i)
{
	struct lb_udir *d = &s->u[i];
	ssize_t n;

	n = send(u_dst(s, i), lb_uring_buf(lb_ring, (unsigned)d->bid) +
		 d->off, d->len - d->off,
		 MSG_NOSIGNAL | MSG_DONTWAIT | MSG_MORE);
	if (n <= 0)
		return 0;
	u_sent(s, i, (uint32_t)n);
	if (d->off < d->len)
		return 0;
	u_buf_put(d);
	(void)u_settle(s);
	return 1;
}

static void
u_recv_done(struct lb_uop *op, int res, unsigned flags)
{
	struct lb_udir *d = (struct lb_udir *)(void *)op;
	struct lb_session *s = d->s;
	int i = d == &s->u[1];

	s->upend &= ~LB_UP_RECV(i);
	/* The flag means something only on success. */
	d->nonempty = res > 0 && (flags & IORING_CQE_F_SOCK_NONEMPTY);
	if (flags & IORING_CQE_F_BUFFER) {
		unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;

		if (res > 0 && !(s->flags & LB_SESS_UDEAD)) {
			d->bid = (int)bid;
			d->off = 0;
			d->len = (uint32_t)res;
		} else {
			lb_uring_buf_put(lb_ring, bid);
		}
	}
	if (u_dead(s))
		return;
	if (res > 0) {
		/* If the FIN came with these bytes, take the end of stream
		 * now and send them with MSG_MORE: TCP holds their last
		 * partial segment back for the FIN (u_settle's shutdown, or
		 * close), which saves the peer a segment and an ACK. */
		int end = 0;

		d->more = 0;
		if (d->nonempty && (uint32_t)res < LB_URING_BUF_SIZE) {
			ssize_t n = u_read_on(s, i);

			if (n > 0) {
				d->len += (uint32_t)n;
				res += (int)n;
				/* Unless the buffer is full, the socket was
				 * emptied (a FIN right behind waits for the
				 * next receive: not merged). */
				d->nonempty = d->len == LB_URING_BUF_SIZE;
			} else if (n == 0) {
				d->more = 1;
				s->flags |= i == 0 ? LB_SESS_C_EOF :
						     LB_SESS_B_EOF;
			} else if (errno == EAGAIN || errno == EWOULDBLOCK ||
				   errno == EINTR) {
				d->nonempty = 0;
			} else {
				/* recv() took the error: the next receive
				 * would find a plain end of stream. */
				if (i == 1)
					s->berrno = errno;
				end = (i == 0 ? LB_END_CLIENT_ERROR :
				       LB_END_BACKEND_ERROR) + 1;
			}
		}
		*(i == 0 ? &s->bytes_in : &s->bytes_out) += (uint64_t)res;
		s->reads++;
		s->last_activity = tether_loop_now(s->px->loop);
		if (end != 0 || (s->flags & LB_SESS_ULEAVE)) {
			u_leave(s, end);
			return;
		}
		if ((uint32_t)res == LB_URING_BUF_SIZE &&
		    !(s->flags & LB_SESS_NOSPLICE)) {
			/* Bulk: splice on the epoll path moves it faster. */
			(i == 0 ? &s->c2b : &s->b2c)->bulk = 1;
			s->flags |= LB_SESS_BULK;
			u_leave(s, 0);
			return;
		}
		if (s->state == LB_SESS_RELAY && lb_krelay_ready() &&
		    lb_conf_kernel_relay(s->px->conf, s->svc->conf) &&
		    s->reads >= s->px->conf->kernel_relay_after &&
		    !(s->flags & (LB_SESS_KNEVER | LB_SESS_BULK |
				  LB_SESS_C_EOF | LB_SESS_B_EOF))) {
			/* Long enough: on to the kernel, through the epoll
			 * path (u_switch keeps this buffer's bytes). */
			s->flags |= LB_SESS_KWANT;
			u_leave(s, 0);
			return;
		}
		if (i == 0 && s->state == LB_SESS_CONNECTING)
			return;		/* sent once connected */
		if (d->more && u_send_now(s, i))
			return;
		if (u_post_send(s, i) < 0)
			u_leave(s, 0);
		return;
	}
	if (res == 0) {
		s->flags |= i == 0 ? LB_SESS_C_EOF : LB_SESS_B_EOF;
		/* A backend that closes before answering: the retry rules
		 * are the epoll path's. */
		if ((s->flags & LB_SESS_ULEAVE) ||
		    (i == 1 && lb_sess_may_retry(s, 0))) {
			u_leave(s, 0);
			return;
		}
		(void)u_settle(s);
		return;
	}
	if (res == -ECANCELED && (s->flags & LB_SESS_ULEAVE)) {
		u_leave(s, 0);
		return;
	}
	if ((res == -EINTR || res == -EAGAIN) &&
	    !(s->flags & LB_SESS_ULEAVE) && u_post_recv(s, i) == 0)
		return;
	if (res == -ENOBUFS) {
		u_leave(s, 0);		/* no buffer free: read on epoll */
		return;
	}
	if (i == 1)
		s->berrno = -res;
	u_leave(s, (i == 0 ? LB_END_CLIENT_ERROR : LB_END_BACKEND_ERROR) + 1);
}

static void
u_send_done(struct lb_uop *op, int res, unsigned flags)
{
	struct lb_udir *d = (struct lb_udir *)(void *)((char *)op -
		offsetof(struct lb_udir, sop));
	struct lb_session *s = d->s;
	int i = d == &s->u[1];

	(void)flags;
	s->upend &= ~LB_UP_SEND(i);
	if (s->flags & LB_SESS_UDEAD) {
		u_buf_put(d);
		(void)u_dead(s);
		return;
	}
	if (res > 0)
		u_sent(s, i, (uint32_t)res);
	if (s->flags & LB_SESS_ULEAVE) {
		u_leave(s, 0);
		return;
	}
	if (res < 0 && res != -EINTR && res != -EAGAIN) {
		if (i == 0)
			s->berrno = -res;
		u_leave(s, (i == 0 ? LB_END_BACKEND_ERROR :
			    LB_END_CLIENT_ERROR) + 1);
		return;
	}
	if (d->off < d->len) {
		if (u_post_send(s, i) < 0)
			u_leave(s, 0);
		return;
	}
	u_buf_put(d);
	if (u_settle(s))
		return;
	/* Not after the FIN (taken with the bytes: u_read_on). */
	if (!(s->flags & (i == 0 ? LB_SESS_C_EOF : LB_SESS_B_EOF)) &&
	    u_post_recv(s, i) < 0)
		u_leave(s, 0);
}

/* The backend accepted: relay. What the client sent meanwhile waits in
 * u[0]; its FIN, in C_EOF. */
static void
u_connected(struct lb_session *s)
{
	struct lb_service *lsvc;
	struct lb_backend *lb = live_backend(s, &lsvc);

	lb_health_connected(lsvc, lb);
	s->state = LB_SESS_RELAY;
	s->last_activity = tether_loop_now(s->px->loop);
	(void)tether_loop_timer_arm(s->timer,
				    s->svc->conf->limits.idle_timeout_ms, 0);
	if (u_post_recv(s, 1) < 0 ||
	    (s->u[0].bid >= 0 && u_post_send(s, 0) < 0)) {
		u_leave(s, 0);
		return;
	}
	(void)u_settle(s);
}

static void
u_conn_done(struct lb_uop *op, int res, unsigned flags)
{
	struct lb_session *s = (struct lb_session *)(void *)((char *)op -
		offsetof(struct lb_session, uconn));
	int timed_out = (s->flags & LB_SESS_UTIMEOUT) != 0;

	(void)flags;
	s->upend &= ~LB_UP_CONN;
	s->flags &= ~LB_SESS_UTIMEOUT;
	if (u_dead(s))
		return;
	if (s->flags & LB_SESS_ULEAVE) {
		/* A connect cancelled by the leave goes on in the kernel and
		 * the loop reports how it ends; but a failure (or timeout)
		 * was taken here, SO_ERROR with it: u_switch retries. */
		if ((res < 0 && res != -ECANCELED) ||
		    (res == -ECANCELED && timed_out)) {
			s->flags |= LB_SESS_UCONNFAIL;
			s->berrno = timed_out ? ETIMEDOUT : -res;
		}
		u_leave(s, 0);
		return;
	}
	if (res == 0) {
		u_connected(s);
		return;
	}
	tether_log_debug("connect %s (backend %s): %s", s->svc->conf->name,
			 s->be->name, timed_out ? "timed out" :
			 strerror(-res));
	attempt_failed(s);
	(void)session_connect(s);
}

/* The connect timer fired: cancel the connect; its completion tries
 * the next backend. */
static void
u_connect_timeout(struct lb_session *s)
{
	struct io_uring_sqe *sqe;

	if (s->flags & LB_SESS_UTIMEOUT)
		return;
	if (!(s->upend & LB_UP_CONN)) {
		/* Leaving for epoll, the connect op already back: the epoll
		 * path's timer takes over after the switch. */
		(void)tether_loop_timer_arm(s->timer, 10, 0);
		return;
	}
	sqe = lb_uring_sqe(lb_ring, &s->ucancel);
	if (sqe == NULL) {
		session_end(s, LB_END_NOMEM);
		return;
	}
	io_uring_prep_cancel(sqe, &s->uconn, 0);
	s->ucancels++;
	s->flags |= LB_SESS_UTIMEOUT;
}

const char *
lb_proxy_data_path(struct lb_proxy *px)
{
	uring_off = !px->conf->io_uring;
	if (uring_off) {
		u_retire_check();
		return "epoll";
	}
	return u_ring(px) != NULL ? "io_uring" : "epoll";
}

void
lb_proxy_uring_close(void)
{
	lb_uring_close(lb_ring);
	lb_ring = NULL;
	lb_ring_failed = 0;
	uring_warned = 0;
}

/* io-uring off since a reload, and no session on the ring: close it
 * once only its poll of the loop is in flight, so that the loop sleeps
 * in epoll_wait again and the buffers go back. A reload that turns it
 * on again makes a new ring (with io-uring-buffers as then). From a
 * deferred callback: not inside the ring's own callbacks. */
static void
u_retire(struct tether_loop *loop, void *ud)
{
	int busy;

	(void)loop;
	(void)ud;
	uring_retire_queued = 0;
	if (lb_ring == NULL || !uring_off || uring_live > 0)
		return;
	busy = lb_uring_busy(lb_ring);
	if (busy > 0)
		return;		/* the last completion checks again (u_dead) */
	if (busy < 0) {
		u_retire_check();	/* after the flush that is queued */
		return;
	}
	lb_proxy_uring_close();
	tether_log_info("io-uring off: the ring is closed (no session "
			"uses it)");
}

static void
u_retire_check(void)
{
	if (lb_ring == NULL || !uring_off || uring_live > 0 ||
	    uring_retire_queued)
		return;
	if (tether_loop_defer(lb_uring_loop(lb_ring), u_retire, NULL) == 0)
		uring_retire_queued = 1;
}

#else /* !LB_HAVE_URING */

const char *
lb_proxy_data_path(struct lb_proxy *px)
{
	static int logged;

	if (px->conf->io_uring && !logged) {
		logged = 1;
		tether_log_warnx("io-uring on: built without liburing; "
				 "relaying on epoll");
	}
	return "epoll";
}

void
lb_proxy_uring_close(void)
{
}

#endif /* LB_HAVE_URING */

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
	s->bsvc = svc;
	s->cfd = fd;
	s->bfd = -1;
	dir_init(&s->c2b);
	dir_init(&s->b2c);
	if (!svc->conf->splice)
		s->flags |= LB_SESS_NOSPLICE;
	if (!svc->conf->half_close)
		s->flags |= LB_SESS_FIN_FAILS;
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
	/* No tcp_nodelay(fd): accepted sockets inherit it from the
	 * listener (listener_open). */
	if (lb_client_acquire(svc, client) < 0) {
		session_end(s, LB_END_NOMEM);
		return;
	}
#ifdef LB_HAVE_URING
	if (px->conf->io_uring && !svc->conf->proxy_v2 &&
	    u_ring(px) != NULL) {
		/* Read at once: bytes wait in a buffer until connected. */
		u_init(s);
		if (u_post_recv(s, 0) < 0) {
			session_end(s, LB_END_NOMEM);
			return;
		}
		(void)session_connect(s);
		return;
	}
#endif
	/* Registered once; read only when the backend answered. */
	if (watch(s, fd) < 0) {
		session_end(s, LB_END_NOMEM);
		return;
	}
	(void)session_connect(s);
	return;
nomem:
	log_conn(svc, client, l->port, NULL, NULL, 0, 0, 0, 0, 0,
		 LB_END_NOMEM);
	close(fd);
}

/* ------------------------------------------------------------------ */
/* Listeners                                                           */
/* ------------------------------------------------------------------ */

static void
pause_listeners(struct lb_proxy *px)
{
	size_t i;

	if (px->retired || px->resume == NULL)
		return;		/* its listeners are closed */
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

static void accepted(struct lb_listener *l, int fd,
		     const struct tether_addr *client);

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
		accepted(l, fd, &client);
	}
}

/* A connection accepted on l's socket (or queued on an old one l
 * replaced): the limits, then a session. */
static void
accepted(struct lb_listener *l, int fd, const struct tether_addr *client)
{
	struct lb_service *svc = l->svc;
	struct lb_proxy *px = svc->px;

	if (lb_proxy_full(px) ||
	    (svc->conf->limits.max_conns > 0 &&
	     svc->conns >= svc->conf->limits.max_conns) ||
	    !lb_client_admit(svc, client)) {
		svc->refused++;
		log_conn(svc, client, l->port, NULL, NULL, 0, 0, 0, 0, 0,
			 LB_END_LIMIT);
		close(fd);
		return;
	}
	session_start(l, fd, client);
}

int
lb_addr_overlap(const struct tether_addr *a, const struct tether_addr *b)
{
	return a->ss.ss_family == b->ss.ss_family &&
	       tether_addr_port(a) == tether_addr_port(b) &&
	       (tether_addr_is_any(a) || tether_addr_is_any(b)) &&
	       tether_addr_compare(a, b) != 0;
}

/* Reload, bind of l refused (EADDRINUSE): a socket of the old proxy
 * that overlaps l's address (the wildcard beside a specific address of
 * the same port) still listens, and Linux lets the two coexist only
 * when both have SO_REUSEPORT, which may be set on the old one now.
 * Connections then go to the more specific socket; what queued on the
 * old one before is taken over at the swap (take_queued). 0 when such
 * a socket was found, and fd may be bound again. Only a reload does
 * this: a second tether-lb on the same addresses still fails. The
 * option stays on both sockets (clearing it does not clear what the
 * kernel keeps for the port), so another program of the same user
 * that sets SO_REUSEPORT itself could bind there too. */
int
lb_reuseport_old(int oldfd, const struct tether_addr *old,
		 const struct tether_addr *addr)
{
	int one = 1;

	return oldfd >= 0 && lb_addr_overlap(old, addr) &&
	       setsockopt(oldfd, SOL_SOCKET, SO_REUSEPORT, &one,
			  sizeof(one)) == 0;
}

int
lb_reuseport_new(int fd, int found)
{
	int one = 1;

	if (!found ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
		errno = EADDRINUSE;	/* the bind's, for its message */
		return -1;
	}
	return 0;
}

static int
beside_old(const struct lb_proxy *px, const struct lb_listener *l, int fd)
{
	int found = 0;
	size_t i;

	for (i = 0; px->donor != NULL && i < px->donor->nlisteners; i++)
		found |= lb_reuseport_old(px->donor->listeners[i].fd,
					  &px->donor->listeners[i].addr,
					  &l->addr);
	return lb_reuseport_new(fd, found);
}

/* The new listener that takes a connection made to local: the one
 * bound to that address, else the wildcard of its family and port. */
static struct lb_listener *
listener_for(struct lb_proxy *px, const struct tether_addr *local)
{
	struct lb_listener *any = NULL;
	size_t i;

	for (i = 0; i < px->nlisteners; i++) {
		struct lb_listener *l = &px->listeners[i];

		if (l->fd < 0)
			continue;
		if (tether_addr_compare(&l->addr, local) == 0)
			return l;
		if (any == NULL && lb_addr_overlap(&l->addr, local) &&
		    tether_addr_is_any(&l->addr))
			any = l;
	}
	return any;
}

/* Accept at most max connections queued on ofd, a listener of a
 * replaced proxy, and give each to px's listener for the address it
 * was made to (a wildcard replaced by a specific address or the other
 * way round: it is still served); one that none serves is reset, as
 * the close of its listener would have. A connection inherits its
 * listener's filter: with unfilter set, it is taken off (see linger).
 * Returns 0 when the queue is empty, 1 when max were taken, -1 when
 * accept failed (out of fds). */
static int
hand_on(struct lb_proxy *px, int ofd, size_t max, int unfilter,
	size_t *moved, size_t *closed)
{
	size_t j;

	for (j = 0; j < max; j++) {
		struct sockaddr_storage ss, ls;
		socklen_t len = sizeof(ss), llen = sizeof(ls);
		struct tether_addr client, local;
		struct lb_listener *nl;
		int fd = accept4(ofd, (struct sockaddr *)&ss, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		}
		if (tether_addr_from_sockaddr(&client,
			(struct sockaddr *)&ss, len) < 0 ||
		    getsockname(fd, (struct sockaddr *)&ls, &llen) < 0 ||
		    tether_addr_from_sockaddr(&local,
			(struct sockaddr *)&ls, llen) < 0 ||
		    (nl = listener_for(px, &local)) == NULL) {
			struct linger lg = { 1, 0 };

			(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg,
					 sizeof(lg));
			close(fd);
			(*closed)++;
			continue;
		}
		if (unfilter)
			(void)setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER,
					 NULL, 0);
		accepted(nl, fd, &client);
		(*moved)++;
	}
	return 1;
}

/* Reload, at the swap: an old listener the new configuration does not
 * keep is closed, and with it the connections in its accept queue. Take
 * those first and hand them on; the rest are closed as before. */
static void
take_queued(struct lb_proxy *px, struct lb_proxy *old)
{
	size_t i, moved = 0, closed = 0;

	for (i = 0; i < old->nlisteners; i++)
		if (old->listeners[i].fd >= 0)
			(void)hand_on(px, old->listeners[i].fd,
				      LB_TAKE_QUEUED_MAX, 0, &moved, &closed);
	if (moved > 0 || closed > 0)
		tether_log_info("reload: %zu queued connection(s) of replaced "
				"listeners taken by the new ones, %zu closed",
				moved, closed);
}

/*
 * An old wildcard listener replaced by a specific address of its port
 * (bound beside it with SO_REUSEPORT; the other way round, see adopt)
 * is not closed at the swap: a connection still in its handshake there
 * would be reset by the close, since its request lives on the old
 * socket and its last ACK then finds only the new one. It stays open
 * for LB_LINGER_MS, and what completes on it is accepted and handed on.
 * New connections to the specific address go to the new socket; those
 * to other addresses, which the new configuration no longer serves,
 * would complete on the old one and be reset after their connect()
 * succeeded: a filter drops SYNs without ACK, so that their SYN sent
 * again after a second (RFC 6298) is refused once the socket is gone.
 * The next reload ends the grace at once: by then the filter has kept
 * new handshakes off the socket for as long as that reload took.
 */
static struct sock_filter syn_drop[] = {
	/* A listener's filter sees the TCP header at offset 0. */
	BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),		/* flags */
	BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),	/* SYN | ACK */
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, 0),			/* drop */
	BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),		/* pass */
};

static void
linger_log(const struct lb_linger *lg)
{
	char abuf[TETHER_ADDR_STRLEN];

	fmt_addr(&lg->addr, abuf, sizeof(abuf));
	tether_log_info("reload: old listener %s closed after its grace: "
			"%zu connection(s) taken by the new listeners, %zu "
			"closed", abuf, lg->moved, lg->closed);
}

static void
linger_accept(struct tether_loop *loop, int fd, unsigned events, void *ud)
{
	struct lb_linger *lg = ud;

	(void)events;
	/* Out of fds: level-triggered, it would spin; the end of the
	 * grace accepts what is left. */
	if (hand_on(lg->px, fd, LB_ACCEPT_BATCH, 1, &lg->moved,
		    &lg->closed) < 0)
		(void)tether_loop_fd_mod(loop, fd, 0);
}

/* End the grace of px's lingering listeners: take what completed on
 * them (when take is set) and close them. */
static void
lingers_end(struct lb_proxy *px, int take)
{
	while (px->lingers != NULL) {
		struct lb_linger *lg = px->lingers;

		px->lingers = lg->next;
		(void)tether_loop_fd_del(px->loop, lg->fd);
		if (take) {
			(void)hand_on(px, lg->fd, LB_TAKE_QUEUED_MAX, 1,
				      &lg->moved, &lg->closed);
			linger_log(lg);
		}
		close(lg->fd);
		tether_free(lg);
	}
	if (px->linger_end != NULL)
		tether_loop_timer_cancel(px->linger_end);
}

static void
linger_timeout(struct tether_loop *loop, struct tether_loop_timer *t,
	       void *ud)
{
	(void)loop;
	(void)t;
	lingers_end(ud, 1);
}

/* o, a listener of the proxy px replaces, overlaps one of px's: keep it
 * open for its grace. -1 when it does not, or cannot be kept (then it
 * is closed as before). */
static int
linger(struct lb_proxy *px, const struct lb_listener *o)
{
	static const struct sock_fprog prog = {
		.len = sizeof(syn_drop) / sizeof(syn_drop[0]),
		.filter = syn_drop,
	};
	char abuf[TETHER_ADDR_STRLEN], nbuf[TETHER_ADDR_STRLEN];
	const struct lb_listener *nl = NULL;
	struct lb_linger *lg;
	size_t i;

	for (i = 0; i < px->nlisteners && nl == NULL; i++)
		if (px->listeners[i].fd >= 0 &&
		    lb_addr_overlap(&px->listeners[i].addr, &o->addr))
			nl = &px->listeners[i];
	if (nl == NULL)
		return -1;
	fmt_addr(&o->addr, abuf, sizeof(abuf));
	if ((px->linger_end == NULL &&
	     tether_loop_timer_new(px->loop, linger_timeout, px,
				   &px->linger_end) < 0) ||
	    (lg = tether_calloc(1, sizeof(*lg))) == NULL) {
		tether_log_warn("reload: old listener %s closed at once: out "
				"of memory", abuf);
		return -1;
	}
	if (setsockopt(o->fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
		       sizeof(prog)) < 0 ||
	    tether_loop_fd_add(px->loop, o->fd, TETHER_LOOP_READ,
			       linger_accept, lg) < 0) {
		tether_log_warn("reload: old listener %s closed at once: %s",
				abuf, strerror(errno));
		tether_free(lg);
		return -1;
	}
	lg->px = px;
	lg->addr = o->addr;
	lg->fd = o->fd;
	lg->next = px->lingers;
	px->lingers = lg;
	(void)tether_loop_timer_arm(px->linger_end, LB_LINGER_MS, 0);
	fmt_addr(&nl->addr, nbuf, sizeof(nbuf));
	tether_log_info("reload: old listener %s stays open %ums beside %s "
			"for the connections in their handshake (new SYNs to "
			"it are dropped)", abuf, LB_LINGER_MS, nbuf);
	return 0;
}

static int
listener_open(struct lb_proxy *px, struct lb_listener *l, unsigned backlog,
	      char *errbuf, size_t errlen)
{
	char abuf[TETHER_ADDR_STRLEN];
	int one = 1, fd, err, beside = 0;
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
	/* Accepted sockets inherit TCP_NODELAY (Linux): set once here. */
	tcp_nodelay(fd);
	/* [::] and 0.0.0.0 may both be listened on. */
	if (l->addr.ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
				 sizeof(one));
	if (bind(fd, (const struct sockaddr *)&l->addr.ss, l->addr.len) < 0) {
		if (errno != EADDRINUSE || beside_old(px, l, fd) < 0)
			goto fail;
		beside = 1;
		if (bind(fd, (const struct sockaddr *)&l->addr.ss,
			 l->addr.len) < 0)
			goto fail;
	}
	if (listen(fd, (int)backlog) < 0)
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
	snprintf(errbuf, errlen, "listen %s (service %s): %s%s", abuf,
		 l->svc->conf->name, strerror(err),
		 beside && err == EADDRINUSE ? LB_BESIDE_HINT : "");
	return tether_err_from_errno(err);
}

/*
 * Reload: an old listener on a specific address whose port the new
 * configuration listens on with the wildcard of its family is not
 * closed but adopted by the new proxy, as one more socket of the
 * wildcard's service and port. Closing it would reset a connection
 * still in its handshake with it (its request lives on the old socket,
 * and its last ACK would then find only the wildcard), and, being the
 * more specific socket, it gets every new connection to its address
 * until it closes. Adopted, it serves them as the wildcard would; a
 * later reload takes it like any listener of the same address, adopts
 * it again, or closes it with the port. px->listeners has room for it
 * (proxy_build).
 */
static int
adopt(struct lb_proxy *px, char *errbuf, size_t errlen)
{
	size_t i, j, n = px->nlisteners;
	int adopted = 0;

	for (i = 0; px->donor != NULL && i < px->donor->nlisteners; i++) {
		const struct lb_listener *o = &px->donor->listeners[i];
		char abuf[TETHER_ADDR_STRLEN], wbuf[TETHER_ADDR_STRLEN];
		struct lb_listener *l;
		int err;

		if (o->fd < 0 || tether_addr_is_any(&o->addr))
			continue;
		for (j = 0; j < n; j++)
			if (px->listeners[j].fd >= 0 &&
			    tether_addr_is_any(&px->listeners[j].addr) &&
			    lb_addr_overlap(&px->listeners[j].addr, &o->addr))
				break;
		if (j == n)
			continue;
		l = &px->listeners[px->nlisteners++];
		l->svc = px->listeners[j].svc;
		l->addr = o->addr;
		l->port = px->listeners[j].port;
		l->fd = -1;
		err = listener_open(px, l, l->svc->conf->limits.backlog,
				    errbuf, errlen);
		if (err < 0)
			return err;
		l->adopted = 1;
		adopted++;
		if (o->adopted)
			continue;	/* said when it was first kept */
		fmt_addr(&o->addr, abuf, sizeof(abuf));
		fmt_addr(&px->listeners[j].addr, wbuf, sizeof(wbuf));
		tether_log_info("reload: old listener %s kept as a socket of "
				"%s (service %s): closing it would reset "
				"connections in their handshake", abuf, wbuf,
				l->svc->conf->name);
	}
	return adopted;
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
	/* With persistence, the counts also keep a client's entry while
	 * it has something open (persist.c). */
	if (conf->limits.max_client_conns > 0 || conf->persist.enabled) {
		svc->climit = lb_climit_new(
			conf->persist.enabled ? conf->persist.mask4 : 32,
			conf->persist.enabled ? conf->persist.mask6 : 128,
			&px->key);
		if (svc->climit == NULL)
			return -TETHER_ENOMEM;
	}
	svc->persist.active = svc->climit;
	return 0;
}

void
lb_proxy_free(struct lb_proxy *px)
{
	size_t i;

	if (px == NULL)
		return;
	px->freeing = 1;
	/* The live proxy takes the retired ones with it; a proxy whose
	 * reload failed (donor still set) leaves them to its donor. */
	if (!px->retired && px->donor == NULL) {
		struct lb_proxy *r;

		/* Flows kept on removed backends hold retired proxies: end
		 * them first, and free those proxies here, not later. */
		for (r = retired_list; r != NULL; r = r->retired_next)
			r->freeing = 1;
		lb_udp_end_flows(px);
		/* A session may hold a newer proxy (s->bsvc): all end
		 * before any is freed. */
		for (r = retired_list; r != NULL; r = r->retired_next)
			while (r->sessions != NULL)
				session_end(r->sessions, LB_END_SHUTDOWN);
		while (retired_list != NULL) {
			r = retired_list;
			retired_list = r->retired_next;
			lb_proxy_free(r);
		}
	}
	lb_ctl_close(px);
	lb_metrics_close(px);
	while (px->sessions != NULL)
		session_end(px->sessions, LB_END_SHUTDOWN);
	lb_udp_close(px);
	lingers_end(px, 0);
	tether_loop_timer_free(px->linger_end);
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

		struct lb_listener *o = l->donor;
		char abuf[TETHER_ADDR_STRLEN];
		int err;

		if (o == NULL || l->fd < 0)
			continue;
		(void)tether_loop_fd_del(px->loop, l->fd);
		/* Its own backlog again: listener_open set the new one. */
		(void)listen(l->fd, (int)o->svc->conf->limits.backlog);
		err = tether_loop_fd_add(px->loop, l->fd, o->paused ? 0 :
					 TETHER_LOOP_READ, listener_accept, o);
		if (err == 0) {
			o->fd = l->fd;
		} else {
			/* Not watched, it would queue connections no one
			 * takes: closed, and said so. */
			fmt_addr(&o->addr, abuf, sizeof(abuf));
			tether_log_warnx("reload failed: listen %s (service "
					 "%s): cannot watch it again (%s); "
					 "closed", abuf, o->svc->conf->name,
					 tether_strerror(err));
			close(l->fd);
		}
		l->fd = -1;
	}
	lb_udp_give_back(px);
	(void)lb_ctl_take(px->donor, px);
	(void)lb_metrics_take(px->donor, px);
}

static int
proxy_build(struct lb_proxy **out, struct tether_loop *loop,
	    const struct lb_conf *conf, struct lb_proxy *donor, char *errbuf,
	    size_t errlen)
{
	struct lb_proxy *px;
	size_t i, j, nl = 0;
	uint64_t nofile;
	unsigned held = 0;	/* adopted listeners */
	int err;

	*out = NULL;
	snprintf(errbuf, errlen, "out of memory");
	px = tether_calloc(1, sizeof(*px));
	if (px == NULL)
		return -TETHER_ENOMEM;
	px->loop = loop;
	px->conf = conf;
	px->donor = donor;
	/* The limit on open files is the one main.c raised at start: a
	 * reload computes the same default unless the sockets the
	 * configuration needs changed. */
	nofile = lb_nofile(0);
	px->pipe_cap = lb_pipe_budget(conf, nofile);
	px->max_conns = lb_max_conns(conf, nofile, pipes_open);
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
	/* A reload takes the admin sockets that stay over first, so one
	 * that fails on a listener or a UDP socket gives them back too.
	 * New ones are bound only after the listeners: binding a control
	 * path removes a socket file found there, and a second tether-lb
	 * started on a running one's configuration must fail on its
	 * listeners before it takes the running one's control path. */
	(void)lb_ctl_take(px, donor);
	(void)lb_metrics_take(px, donor);
	err = -TETHER_ENOMEM;
	/* Room for the old sockets a new wildcard may adopt (adopt). */
	if (donor != NULL)
		nl += donor->nlisteners;
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
	err = adopt(px, errbuf, errlen);
	if (err < 0)
		goto fail;
	/* An adopted socket is a listener conf does not count: two
	 * descriptors of the budget each, as a listen (conf_fds). */
	held = (unsigned)err;
	if (held > 0) {
		px->pipe_cap = lb_pipe_budget(conf,
					      lb_nofile_less_held(nofile, held));
		px->max_conns = lb_max_conns(conf,
					     lb_nofile_less_held(nofile, held),
					     pipes_open);
	}
	err = lb_udp_open(px, errbuf, errlen);
	if (err < 0)
		goto fail;
	err = tether_loop_timer_new(loop, resume_listeners, px, &px->resume);
	if (err < 0)
		goto fail;
	if (conf->control[0] != '\0' && px->ctl == NULL) {
		err = lb_ctl_open(px, conf->control, errbuf, errlen);
		if (err < 0)
			goto fail;
	}
	if (px->metrics == NULL) {
		err = lb_metrics_open(px, errbuf, errlen);
		if (err < 0)
			goto fail;
	}
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
	lb_max_conns_log(conf, nofile, pipes_open, held, 0);
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
	int err = proxy_build(out, loop, conf, NULL, errbuf, errlen);

	if (err == 0)
		pipe_cap = (*out)->pipe_cap;
	return err;
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
	tether_log_info("reload: a replaced configuration was freed after "
			"its last connection or flow");
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

void
lb_proxy_conn_ended(struct lb_proxy *px)
{
	if (px->retired && px->conns == 0 && px->holds == 0 && !px->freeing)
		retired_done(px);
#ifdef LB_HAVE_URING
	u_retire_check();	/* again, should a defer have failed */
#endif
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
		os->persist.active = NULL;
		return;
	}
	/* One that finds no memory is marked so that its end releases
	 * nothing: the client's entry made later for another connection
	 * would lose that one's count (client-conns admitting one too
	 * many, the persistence entry expiring under an open
	 * connection). */
	for (p = old; p != NULL; p = p == old ? retired_list : p->retired_next)
		for (s = p->sessions; s != NULL; s = s->next) {
			if (lb_client_table(s->svc) != ns->climit)
				continue;
			if (lb_client_acquire(ns, &s->client) < 0)
				s->flags |= LB_SESS_UNCOUNTED;
			else
				s->flags &= ~LB_SESS_UNCOUNTED;
		}
	for (f = os->udp_head; f != NULL; f = f->lru_next)
		f->uncounted = lb_client_acquire(ns, &f->client) < 0;
}

/*
 * nb succeeds ob in a service whose check is now ns's: carry the health
 * that check can go on from. With no check nothing would ever bring a
 * backend the old checks took down back (tether-lb.conf(5): without a
 * check none is taken down), so it is up, as after a check that passed:
 * with slow start. Another kind of check counts other things (probes,
 * or connections alone): it starts counting afresh from the backend's
 * health. A backend up for its passive try only is still down for a
 * probe, which tcp starts at once; for check passive it stays up for
 * one connection's try, not for all until one has failed.
 */
static void
transfer_health(const struct lb_service *ns, const struct lb_service *os,
		struct lb_backend *nb, const struct lb_backend *ob,
		uint64_t now)
{
	enum lb_check_type type = ns->conf->check.type;

	nb->up_since = ob->up_since;
	if (type == LB_CHECK_NONE) {
		if (ob->health_down)
			nb->up_since = now != 0 ? now : 1;
		return;
	}
	nb->health_down = ob->health_down;
	if (type == os->conf->check.type) {
		nb->check_ok = ob->check_ok;
		nb->check_fail = ob->check_fail;
		nb->passive_try = ob->passive_try;
	} else if (ob->passive_try)
		nb->health_down = 1;
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
		/* Its own table may have been swapped for os's. */
		ns->persist.active = ns->climit;
		ns->total_conns = os->total_conns;
		ns->refused = os->refused;
		/* The throttled lines go on counting what they left out. */
		ns->tcp_refused_log = os->tcp_refused_log;
		ns->udp_refused_log = os->udp_refused_log;
		ns->udp_error_log = os->udp_error_log;
		ns->udp_end_log = os->udp_end_log;
		map = tether_calloc(os->pool.n, sizeof(*map));
		for (k = 0; map != NULL && k < os->pool.n; k++)
			map[k] = -1;
		/* One update for the whole pool, not one per backend: a
		 * Maglev table of 1024 backends takes milliseconds to
		 * build. */
		ns->pool.defer_update = 1;
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
				transfer_health(ns, os, nb, ob, now);
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
		ns->pool.defer_update = 0;
		(void)lb_pool_update(&ns->pool);
		/* The service's counts, whatever becomes of its entries. */
		if (ns->has_persist && os->has_persist) {
			ns->persist.evictions = os->persist.evictions;
			ns->persist.expirations = os->persist.expirations;
		}
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

			/* Timed out and not yet swept: kept if its client
			 * has something open (the counts are final). */
			if (map[e->backend] < 0 ||
			    (now - e->last_used >= ns->persist.timeout_ms &&
			     (ns->climit == NULL ||
			      lb_climit_conns(ns->climit, &e->key) == 0)))
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
retire(struct lb_proxy *old, struct lb_conf *oldconf, struct lb_proxy *px)
{
	size_t i;

	/* On the list first: the connections take_queued starts count
	 * old's sessions against max-conns (lb_proxy_conns). */
	old->retired_next = retired_list;
	retired_list = old;
	take_queued(px, old);
	for (i = 0; i < old->nlisteners; i++)
		if (old->listeners[i].fd >= 0) {
			(void)tether_loop_fd_del(old->loop,
						 old->listeners[i].fd);
			if (linger(px, &old->listeners[i]) < 0)
				close(old->listeners[i].fd);
			old->listeners[i].fd = -1;
		}
	lb_udp_close(old);
	for (i = 0; i < old->nservices; i++) {
		struct lb_service *svc = &old->services[i];

		lb_health_stop(svc);
		if (svc->has_persist) {
			/* Retries of its sessions pick in the newest
			 * generation (repool), with its table. */
			lb_persist_fini(&svc->persist);
			svc->has_persist = 0;
		}
	}
	tether_loop_timer_free(old->sweep);
	tether_loop_timer_free(old->resume);
	old->sweep = old->resume = NULL;
	old->owned_conf = oldconf;
	old->retired = 1;
	if (old->conns == 0 && old->holds == 0)
		retired_done(old);
}

int
lb_proxy_reload(struct lb_proxy **pxp, struct lb_conf *newconf,
		struct lb_conf *oldconf, char *errbuf, size_t errlen)
{
	struct lb_proxy *old = *pxp, *px;
	char ebuf[256];
	int err;

	/* A previous reload's old listeners: the grace ends now (see
	 * linger). What completed on them goes to old's listeners. */
	lingers_end(old, 1);
	/* These bind the same names again: free them first. A control
	 * socket on the same path and a metrics listener on the same
	 * address are kept instead (proxy_build takes them, give_back
	 * returns them): tetherctl and a scrape are never refused by a
	 * reload. */
	if (!lb_ctl_same(old, newconf)) {
		if (old->ctl != NULL &&
		    strcmp(old->conf->control, newconf->control) == 0)
			tether_log_info("reload: control socket %s was removed "
					"or replaced: binding it again",
					newconf->control);
		lb_ctl_close(old);
	}
	if (!lb_metrics_same(old->conf, newconf))
		lb_metrics_close(old);
	err = proxy_build(&px, old->loop, newconf, old, errbuf, errlen);
	if (err < 0) {
		if (old->ctl == NULL && old->conf->control[0] != '\0' &&
		    lb_ctl_open(old, old->conf->control, ebuf,
				sizeof(ebuf)) < 0)
			tether_log_warnx("reload: %s", ebuf);
		if (old->metrics == NULL &&
		    lb_metrics_open(old, ebuf, sizeof(ebuf)) < 0)
			tether_log_warnx("reload: %s", ebuf);
		return err;
	}
	transfer_state(px, old, tether_loop_now(old->loop));
	lb_udp_adopt_flows(px, old);
	retire(old, oldconf, px);
	*pxp = px;
	pipe_cap = px->pipe_cap;
	return 0;
}
