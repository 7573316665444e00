/*
 * loop_poll.c - the event loop's poll() backend, kept as a test oracle
 * for the epoll one (the unit tests run against both). Level-triggered
 * only: TETHER_LOOP_EDGE is refused with -TETHER_ENOTSUP rather than
 * emulated, so a test cannot pass here by accident of emulation.
 */
#include "loop_int.h"

#include <errno.h>
#include <poll.h>

struct poll_state {
	struct pollfd *pfds;	/* one per registered fd, unordered */
	size_t len;
	size_t cap;
	size_t next;		/* where the next scan starts (fairness) */
};

static short
poll_events(unsigned mask)
{
	short ev = 0;

	if (mask & TETHER_LOOP_READ)
		ev |= POLLIN;
	if (mask & TETHER_LOOP_WRITE)
		ev |= POLLOUT;
	if (mask & TETHER_LOOP_RDHUP)
		ev |= POLLRDHUP;
	if (mask & TETHER_LOOP_PRI)
		ev |= POLLPRI;
	return ev;
}

static int
poll_init(struct tether_loop *loop)
{
	struct poll_state *st = tether_calloc(1, sizeof(*st));

	if (st == NULL)
		return -TETHER_ENOMEM;
	loop->bstate = st;
	return 0;
}

static void
poll_fini(struct tether_loop *loop)
{
	struct poll_state *st = loop->bstate;

	tether_free(st->pfds);
	tether_free(st);
	loop->bstate = NULL;
}

static int
poll_add(struct tether_loop *loop, int fd)
{
	struct poll_state *st = loop->bstate;
	struct tether__loop_fd *e = &loop->fds[fd];

	if (e->mask & TETHER_LOOP_EDGE)
		return -TETHER_ENOTSUP;
	if (st->len == st->cap) {
		size_t cap = st->cap ? 2 * st->cap : 16;
		struct pollfd *p;

		p = tether_reallocarray(st->pfds, cap, sizeof(*p));
		if (p == NULL)
			return -TETHER_ENOMEM;
		st->pfds = p;
		st->cap = cap;
	}
	st->pfds[st->len].fd = fd;
	st->pfds[st->len].events = poll_events(e->mask);
	st->pfds[st->len].revents = 0;
	e->bidx = st->len++;
	return 0;
}

static int
poll_mod(struct tether_loop *loop, int fd, unsigned old_mask)
{
	struct poll_state *st = loop->bstate;
	struct tether__loop_fd *e = &loop->fds[fd];

	(void)old_mask;
	if (e->mask & TETHER_LOOP_EDGE)
		return -TETHER_ENOTSUP;
	st->pfds[e->bidx].events = poll_events(e->mask);
	return 0;
}

static void
poll_del(struct tether_loop *loop, int fd)
{
	struct poll_state *st = loop->bstate;
	size_t i = loop->fds[fd].bidx;

	TETHER_BUG_ON(i >= st->len || st->pfds[i].fd != fd);
	/* Move the last entry into the hole. */
	st->pfds[i] = st->pfds[--st->len];
	if (i != st->len)
		loop->fds[st->pfds[i].fd].bidx = i;
}

static int
poll_wait(struct tether_loop *loop, int timeout_ms)
{
	struct poll_state *st = loop->bstate;
	size_t i, j, start = st->next < st->len ? st->next : 0;
	int n, k = 0;

	n = poll(st->pfds, st->len, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : tether_err_from_errno(errno);
	/*
	 * Beyond MAX_FIRED, the rest stay ready for the next iteration,
	 * which starts its scan where this one stopped: otherwise fds
	 * early in the array that stay ready would starve the others
	 * (epoll rotates its ready list the same way).
	 */
	for (j = 0; j < st->len && n > 0 && k < TETHER__LOOP_MAX_FIRED; j++) {
		const struct pollfd *p;
		struct tether__loop_fired *f;

		i = (start + j) % st->len;
		p = &st->pfds[i];
		if (p->revents == 0)
			continue;
		n--;
		f = &loop->fired[k++];
		f->fd = p->fd;
		f->gen = loop->fds[p->fd].gen;
		f->events = 0;
		if (p->revents & POLLIN)
			f->events |= TETHER_LOOP_READ;
		if (p->revents & POLLOUT)
			f->events |= TETHER_LOOP_WRITE;
		if (p->revents & (POLLERR | POLLNVAL))
			f->events |= TETHER_LOOP_ERR;
		if (p->revents & POLLHUP)
			f->events |= TETHER_LOOP_HUP;
		if (p->revents & POLLRDHUP)
			f->events |= TETHER_LOOP_RDHUP;
		if (p->revents & POLLPRI)
			f->events |= TETHER_LOOP_PRI;
	}
	st->next = st->len > 0 ? (start + j) % st->len : 0;
	return k;
}

const struct tether__loop_backend_ops tether__loop_poll_ops = {
	.name = "poll",
	.init = poll_init,
	.fini = poll_fini,
	.add = poll_add,
	.mod = poll_mod,
	.del = poll_del,
	.wait = poll_wait,
};
