/*
 * loop_epoll.c - the event loop's default I/O backend: one epoll
 * instance; each registration carries (generation << 32 | fd) as its
 * data so loop.c can recognise stale events.
 */
#include "loop_int.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

struct epoll_state {
	int epfd;
	struct epoll_event evs[TETHER__LOOP_MAX_FIRED];
};

static int
epoll_init(struct tether_loop *loop)
{
	struct epoll_state *st = tether_malloc(sizeof(*st));

	if (st == NULL)
		return -TETHER_ENOMEM;
	st->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (st->epfd < 0) {
		int rc = tether_err_from_errno(errno);

		tether_free(st);
		return rc;
	}
	loop->bstate = st;
	return 0;
}

static void
epoll_fini(struct tether_loop *loop)
{
	struct epoll_state *st = loop->bstate;

	close(st->epfd);
	tether_free(st);
	loop->bstate = NULL;
}

static int
epoll_apply(struct tether_loop *loop, int op, int fd)
{
	struct epoll_state *st = loop->bstate;
	const struct tether__loop_fd *e = &loop->fds[fd];
	struct epoll_event ev;

	ev.events = 0;
	if (e->mask & TETHER_LOOP_READ)
		ev.events |= EPOLLIN;
	if (e->mask & TETHER_LOOP_WRITE)
		ev.events |= EPOLLOUT;
	if (e->mask & TETHER_LOOP_EDGE)
		ev.events |= EPOLLET;
	if (e->mask & TETHER_LOOP_RDHUP)
		ev.events |= EPOLLRDHUP;
	if (e->mask & TETHER_LOOP_PRI)
		ev.events |= EPOLLPRI;
	ev.data.u64 = (uint64_t)e->gen << 32 | (uint32_t)fd;
	if (epoll_ctl(st->epfd, op, fd, &ev) < 0)
		return tether_err_from_errno(errno);
	return 0;
}

static int
epoll_add(struct tether_loop *loop, int fd)
{
	return epoll_apply(loop, EPOLL_CTL_ADD, fd);
}

static int
epoll_mod(struct tether_loop *loop, int fd, unsigned old_mask)
{
	(void)old_mask;
	return epoll_apply(loop, EPOLL_CTL_MOD, fd);
}

static void
epoll_del(struct tether_loop *loop, int fd)
{
	struct epoll_state *st = loop->bstate;
	struct epoll_event ev = { 0 };

	/* Fails only if the caller already closed fd (EBADF, or ENOENT
	 * for a new file with the same number); the kernel dropped the
	 * registration then, and the generation check hides stale
	 * events of a still-open duplicate. */
	(void)epoll_ctl(st->epfd, EPOLL_CTL_DEL, fd, &ev);
}

static int
epoll_wait_events(struct tether_loop *loop, int timeout_ms)
{
	struct epoll_state *st = loop->bstate;
	int n, i;

	n = epoll_wait(st->epfd, st->evs, TETHER__LOOP_MAX_FIRED, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : tether_err_from_errno(errno);
	for (i = 0; i < n; i++) {
		uint32_t e = st->evs[i].events;
		struct tether__loop_fired *f = &loop->fired[i];

		f->fd = (int)(st->evs[i].data.u64 & 0xffffffffu);
		f->gen = (uint32_t)(st->evs[i].data.u64 >> 32);
		f->events = 0;
		if (e & EPOLLIN)
			f->events |= TETHER_LOOP_READ;
		if (e & EPOLLOUT)
			f->events |= TETHER_LOOP_WRITE;
		if (e & EPOLLERR)
			f->events |= TETHER_LOOP_ERR;
		if (e & EPOLLHUP)
			f->events |= TETHER_LOOP_HUP;
		if (e & EPOLLRDHUP)
			f->events |= TETHER_LOOP_RDHUP;
		if (e & EPOLLPRI)
			f->events |= TETHER_LOOP_PRI;
	}
	return n;
}

static int
epoll_backend_fd(const struct tether_loop *loop)
{
	const struct epoll_state *st = loop->bstate;

	return st->epfd;
}

const struct tether__loop_backend_ops tether__loop_epoll_ops = {
	.name = "epoll",
	.init = epoll_init,
	.fini = epoll_fini,
	.add = epoll_add,
	.mod = epoll_mod,
	.del = epoll_del,
	.close_drops = 1,
	.wait = epoll_wait_events,
	.fd = epoll_backend_fd,
};
