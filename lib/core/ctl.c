/*
 * ctl.c - one-shot control endpoints shared by the daemons (tetherctl's
 * socket, a metrics page): accept, read one bounded request, answer,
 * close. Each connection lives at most the admin timeout from accept,
 * and at most max_conns are open, so a client that connects and says
 * nothing cannot pin the daemon's memory or file descriptors.
 */
#include "tether/core.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct ctl_conn {
	struct tether_ctl *ctl;
	int fd;
	char *in;			/* max_request + 1 bytes */
	size_t inlen;
	struct tether_buf out;
	size_t sent;
	int answering;			/* 1: writing, 2: draining */
	struct tether_loop_timer *deadline;
	struct ctl_conn *prev, *next;
};

struct tether_ctl {
	struct tether_loop *loop;
	struct tether_ctl_opts o;
	struct tether_addr addr;
	int fd;
	int unlink_path;		/* a local socket we created */
	dev_t dev;			/* ... its file, after bind */
	ino_t ino;
	struct ctl_conn *conns;
	struct tether_ctl_stats st;
};

/* 1 if a process accepts on the AF_UNIX socket addr: a connect that
 * succeeds or finds the backlog full; a stale socket file refuses. */
static int
unix_listened(const struct tether_addr *addr)
{
	int fd, up;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	up = connect(fd, (const struct sockaddr *)&addr->ss, addr->len) == 0 ||
	     errno == EAGAIN || errno == EINPROGRESS;
	(void)close(fd);
	return up;
}

static void
seterr(char *errbuf, size_t errlen, const struct tether_addr *a,
       const char *what)
{
	char txt[TETHER_ADDR_STRLEN];

	if (errbuf == NULL || errlen == 0)
		return;
	if (tether_addr_format(a, txt, sizeof(txt), 0) < 0)
		snprintf(txt, sizeof(txt), "?");
	snprintf(errbuf, errlen, "%s: %s", txt, what);
}

static void
conn_close(struct ctl_conn *c)
{
	struct tether_ctl *ctl = c->ctl;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		ctl->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	ctl->st.open--;
	(void)tether_loop_fd_del(ctl->loop, c->fd);
	close(c->fd);
	tether_loop_timer_free(c->deadline);
	tether_buf_free(&c->out);
	tether_free(c->in);
	tether_free(c);
}

/* Read, best effort, what a client already sent that was not taken,
 * so that a close is not a reset (a bounded read: a client that keeps
 * sending still gets one). */
static void
read_left(int fd)
{
	char tmp[512];
	int i;

	for (i = 0; i < 16; i++)
		if (recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT) <= 0)
			break;
}

/*
 * End c before its answer was all sent (the deadline, tether_ctl_close):
 * reset it, so that the client tells a cut answer from a whole one,
 * which ends with a FIN. TCP: SO_LINGER {1, 0}. AF_UNIX has no reset
 * of its own, but a close with unread bytes makes the client's read
 * fail with ECONNRESET after the data: conn_read leaves what follows
 * the request unread (tetherctl sends one byte more for this). An
 * answer all sent is a lingering close: read what is left first.
 */
static void
conn_end(struct ctl_conn *c)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (c->answering == 2) {
		read_left(c->fd);
	} else {
		(void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg,
				 sizeof(lg));
	}
	conn_close(c);
}

/* Send what is left of the answer; close once it is all sent. */
static void
conn_send(struct ctl_conn *c)
{
	while (c->sent < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->sent,
				 c->out.len - c->sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0)
			break;
		c->sent += (size_t)n;
	}
	if (c->sent < c->out.len || shutdown(c->fd, SHUT_WR) < 0 ||
	    tether_loop_fd_mod(c->ctl->loop, c->fd, TETHER_LOOP_READ) < 0) {
		conn_end(c);
		return;
	}
	/* Lingering close: read what the client still sends until it
	 * closes too (or the deadline), so that unread bytes do not make
	 * the kernel reset the connection before the answer is read. */
	c->answering = 2;
}

static void
conn_drain(struct ctl_conn *c)
{
	char tmp[512];
	ssize_t n;
	int i;

	for (i = 0; i < 16; i++) {
		n = recv(c->fd, tmp, sizeof(tmp), MSG_DONTWAIT);
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
			      errno == EINTR))
			return;
		conn_close(c);
		return;
	}
}

/* Queue a fixed answer (too_long) and switch to writing. */
static void
conn_answer_with(struct ctl_conn *c, const char *text)
{
	tether_buf_reset(&c->out);
	if (text == NULL || tether_buf_append_str(&c->out, text) < 0) {
		conn_close(c);
		return;
	}
	c->answering = 1;
	if (tether_loop_fd_mod(c->ctl->loop, c->fd, TETHER_LOOP_WRITE) < 0) {
		conn_close(c);
		return;
	}
	conn_send(c);
}

static size_t
line_complete(const char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len);

	return nl == NULL ? 0 : (size_t)(nl - buf) + 1;
}

static void
conn_read(struct ctl_conn *c)
{
	struct tether_ctl *ctl = c->ctl;
	size_t room = ctl->o.max_request - c->inlen, whole;
	ssize_t n;
	int rc, complete = 0;

	if (room == 0) {
		ctl->st.too_long++;
		conn_answer_with(c, ctl->o.too_long);
		return;
	}
	/* Peek, and take only the request's bytes: what follows stays
	 * unread while the answer is written (conn_end). */
	n = recv(c->fd, c->in + c->inlen, room, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR ||
		      errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->in[c->inlen + (size_t)n] = '\0';
	whole = ctl->o.complete != NULL ?
		ctl->o.complete(c->in, c->inlen + (size_t)n) :
		line_complete(c->in, c->inlen + (size_t)n);
	if (whole == 0 || whole > c->inlen + (size_t)n)
		whole = c->inlen + (size_t)n;
	else
		complete = 1;
	/* The same bytes, now taken off the queue. */
	n = recv(c->fd, c->in + c->inlen, whole - c->inlen, MSG_DONTWAIT);
	if (n != (ssize_t)(whole - c->inlen)) {
		conn_close(c);
		return;
	}
	c->inlen = whole;
	if (!complete) {
		if (c->inlen == ctl->o.max_request) {
			ctl->st.too_long++;
			conn_answer_with(c, ctl->o.too_long);
		}
		return;
	}
	c->in[whole] = '\0';
	if (ctl->o.complete == NULL) {
		/* The line without its end. */
		c->in[--whole] = '\0';
		if (whole > 0 && c->in[whole - 1] == '\r')
			c->in[--whole] = '\0';
	}
	ctl->st.answered++;
	rc = ctl->o.answer(ctl->o.ud, c->in, whole, &c->out);
	if (rc < 0) {
		conn_close(c);
		return;
	}
	/* An empty answer too ends with the lingering close. */
	c->answering = 1;
	if (tether_loop_fd_mod(ctl->loop, c->fd, TETHER_LOOP_WRITE) < 0) {
		conn_close(c);
		return;
	}
	conn_send(c);
}

static void
conn_event(struct tether_loop *loop, int fd, unsigned events, void *ud)
{
	struct ctl_conn *c = ud;

	(void)loop;
	(void)fd;
	(void)events;
	if (c->answering == 2)
		conn_drain(c);
	else if (c->answering)
		conn_send(c);
	else
		conn_read(c);
}

static void
conn_timeout(struct tether_loop *loop, struct tether_loop_timer *t, void *ud)
{
	struct ctl_conn *c = ud;

	(void)loop;
	(void)t;
	c->ctl->st.timeouts++;
	conn_end(c);
}

static void
accept_event(struct tether_loop *loop, int lfd, unsigned events, void *ud)
{
	struct tether_ctl *ctl = ud;
	struct ctl_conn *c;
	int fd;

	(void)events;
	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	ctl->st.accepted++;
	if (ctl->st.open >= ctl->o.max_conns) {
		ctl->st.busy++;
		if (ctl->o.busy != NULL)
			(void)send(fd, ctl->o.busy, strlen(ctl->o.busy),
				   MSG_NOSIGNAL | MSG_DONTWAIT);
		/* A close with unread bytes resets the connection, and the
		 * request may be there already: read what is, best effort
		 * (no slot is held for a lingering close). */
		(void)shutdown(fd, SHUT_WR);
		read_left(fd);
		close(fd);
		return;
	}
	c = tether_calloc(1, sizeof(*c));
	if (c == NULL)
		goto fail;
	c->ctl = ctl;
	c->fd = fd;
	tether_buf_init(&c->out, ctl->o.max_answer);
	c->in = tether_malloc(ctl->o.max_request + 1);
	if (c->in == NULL ||
	    tether_loop_timer_new(loop, conn_timeout, c, &c->deadline) < 0 ||
	    tether_loop_timer_arm(c->deadline, ctl->o.timeout_ms, 0) < 0 ||
	    tether_loop_fd_add(loop, fd, TETHER_LOOP_READ, conn_event, c) < 0)
		goto fail;
	c->next = ctl->conns;
	if (c->next != NULL)
		c->next->prev = c;
	ctl->conns = c;
	ctl->st.open++;
	return;
fail:
	if (c != NULL) {
		tether_loop_timer_free(c->deadline);
		tether_free(c->in);
		tether_free(c);
	}
	close(fd);
}

int
tether_ctl_open(struct tether_ctl **out, struct tether_loop *loop,
		const struct tether_addr *addr,
		const struct tether_ctl_opts *opts, char *errbuf, size_t errlen)
{
	struct tether_ctl *ctl;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fam = addr->ss.ss_family, one = 1, err;
	const char *path = NULL;

	*out = NULL;
	if (opts == NULL || opts->answer == NULL ||
	    (fam != AF_UNIX && fam != AF_INET && fam != AF_INET6)) {
		seterr(errbuf, errlen, addr, "bad control endpoint");
		return -TETHER_EINVAL;
	}
	ctl = tether_calloc(1, sizeof(*ctl));
	if (ctl == NULL)
		return -TETHER_ENOMEM;
	ctl->loop = loop;
	ctl->o = *opts;
	if (ctl->o.max_request == 0)
		ctl->o.max_request = TETHER_CTL_DEFAULT_REQUEST;
	if (ctl->o.max_answer == 0)
		ctl->o.max_answer = TETHER_CTL_DEFAULT_ANSWER;
	if (ctl->o.timeout_ms == 0)
		ctl->o.timeout_ms = TETHER_CTL_DEFAULT_TIMEOUT_MS;
	if (ctl->o.max_conns == 0)
		ctl->o.max_conns = TETHER_CTL_DEFAULT_CONNS;
	if (ctl->o.mode == 0)
		ctl->o.mode = 0660;
	tether_addr_copy(&ctl->addr, addr);
	ctl->fd = -1;
	if (fam == AF_UNIX) {
		struct stat st;

		path = ((const struct sockaddr_un *)&addr->ss)->sun_path;
		/* A socket left by a previous run is ours to replace; one
		 * a running process listens on is not (a second instance
		 * on the same configuration), nor any other file. */
		if (lstat(path, &st) == 0) {
			if (!S_ISSOCK(st.st_mode)) {
				seterr(errbuf, errlen, addr,
				       "exists and is not a socket");
				tether_free(ctl);
				return -TETHER_EINVAL;
			}
			if (unix_listened(addr)) {
				seterr(errbuf, errlen, addr, "in use by a "
				       "running process");
				tether_free(ctl);
				return -TETHER_EBUSY;
			}
			(void)unlink(path);
		}
	}
	ctl->fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl->fd < 0)
		goto fail_errno;
	if (fam != AF_UNIX)
		(void)setsockopt(ctl->fd, SOL_SOCKET, SO_REUSEADDR, &one,
				 sizeof(one));
	if (bind(ctl->fd, (const struct sockaddr *)&addr->ss, addr->len) < 0)
		goto fail_errno;
	if (path != NULL) {
		struct stat st;

		ctl->unlink_path = 1;
		if (chmod(path, ctl->o.mode) < 0 || lstat(path, &st) < 0)
			goto fail_errno;
		ctl->dev = st.st_dev;
		ctl->ino = st.st_ino;
	} else if (getsockname(ctl->fd, (struct sockaddr *)&ss, &sl) == 0) {
		(void)tether_addr_from_sockaddr(&ctl->addr,
						(struct sockaddr *)&ss, sl);
	}
	if (listen(ctl->fd, (int)ctl->o.max_conns + 4) < 0)
		goto fail_errno;
	err = tether_loop_fd_add(loop, ctl->fd, TETHER_LOOP_READ, accept_event,
				 ctl);
	if (err < 0) {
		seterr(errbuf, errlen, addr, tether_strerror(err));
		goto fail;
	}
	*out = ctl;
	return 0;
fail_errno:
	err = tether_err_from_errno(errno);
	seterr(errbuf, errlen, addr, strerror(errno));
fail:
	if (ctl->fd >= 0)
		close(ctl->fd);
	if (ctl->unlink_path)
		(void)unlink(path);
	tether_free(ctl);
	return err;
}

int
tether_ctl_path_ours(const struct tether_ctl *ctl)
{
	struct stat st;

	if (!ctl->unlink_path)
		return 1;
	return lstat(((const struct sockaddr_un *)&ctl->addr.ss)->sun_path,
		     &st) == 0 && S_ISSOCK(st.st_mode) &&
	       st.st_dev == ctl->dev && st.st_ino == ctl->ino;
}

void
tether_ctl_close(struct tether_ctl *ctl)
{
	if (ctl == NULL)
		return;
	while (ctl->conns != NULL)
		conn_end(ctl->conns);
	(void)tether_loop_fd_del(ctl->loop, ctl->fd);
	close(ctl->fd);
	/* Not a file that replaced ours (a socket bound there since). */
	if (ctl->unlink_path && tether_ctl_path_ours(ctl))
		(void)unlink(((const struct sockaddr_un *)&ctl->addr.ss)
				     ->sun_path);
	tether_free(ctl);
}

void
tether_ctl_set_limits(struct tether_ctl *ctl, uint64_t timeout_ms,
		      unsigned max_conns)
{
	ctl->o.timeout_ms = timeout_ms != 0 ? timeout_ms :
			    TETHER_CTL_DEFAULT_TIMEOUT_MS;
	ctl->o.max_conns = max_conns != 0 ? max_conns :
			   TETHER_CTL_DEFAULT_CONNS;
}

void
tether_ctl_set_ud(struct tether_ctl *ctl, void *ud)
{
	ctl->o.ud = ud;
}

void
tether_ctl_stats(const struct tether_ctl *ctl, struct tether_ctl_stats *st)
{
	*st = ctl->st;
}

const struct tether_addr *
tether_ctl_addr(const struct tether_ctl *ctl)
{
	return &ctl->addr;
}
