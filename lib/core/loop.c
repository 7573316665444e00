/*
 * loop.c - the event loop: fd table, timer heap, deferred queue, signals
 * through a signalfd, and the iteration that dispatches them. The I/O
 * wait itself is a backend (loop_epoll.c, loop_poll.c).
 *
 * How removal stays safe. A wait collects ready fds into loop->fired
 * before any callback runs; each entry carries the registration
 * generation of its fd slot. Before each callback the slot is checked:
 * a slot that was freed, or re-registered (new generation) since the
 * wait, gets nothing, and events are masked with the current interest.
 * Timers are popped off the heap (or re-armed, if repeating) before
 * their callback runs, so the loop never touches a timer after calling
 * it: the callback may cancel, re-arm or free it, or any other timer.
 * A timer pass only runs timers armed before it started (sequence
 * numbers tell), and a deferred pass only runs what was queued before
 * it started: nothing can keep one iteration going forever.
 */
#include "loop_int.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define TIMER_DISARMED SIZE_MAX

struct tether_loop_timer {
	struct tether_loop *loop;
	tether_loop_timer_fn *fn;
	void *ud;
	uint64_t expiry;	/* ms, on the loop's clock */
	uint64_t repeat;	/* ms; 0 for a one-shot timer */
	uint64_t seq;		/* arming order: FIFO among equal expiries */
	size_t hidx;		/* index in loop->heap or TIMER_DISARMED */
	struct tether_loop_timer *prev, *next;	/* loop->timers list */
};

static const char *const backend_names[TETHER_LOOP_BACKEND_MAX] = {
	[TETHER_LOOP_BACKEND_DEFAULT] = "epoll",
	[TETHER_LOOP_BACKEND_EPOLL] = "epoll",
	[TETHER_LOOP_BACKEND_POLL] = "poll",
};

const char *
tether_loop_backend_name(enum tether_loop_backend b)
{
	if ((unsigned)b >= TETHER_LOOP_BACKEND_MAX)
		return NULL;
	return backend_names[b];
}

static uint64_t
monotonic_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail on Linux with a valid pointer. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ------------------------------------------------------------------ */
/* Creation and destruction                                            */
/* ------------------------------------------------------------------ */

int
tether_loop_new(struct tether_loop **out, const struct tether_loop_config *cfg)
{
	static const struct tether_loop_config defaults;
	struct tether_loop *loop;
	int rc;

	*out = NULL;
	if (cfg == NULL)
		cfg = &defaults;
	if ((unsigned)cfg->backend >= TETHER_LOOP_BACKEND_MAX ||
	    cfg->max_fds > TETHER_LOOP_MAX_FDS)
		return -TETHER_EINVAL;
	loop = tether_calloc(1, sizeof(*loop));
	if (loop == NULL)
		return -TETHER_ENOMEM;
	if (cfg->backend == TETHER_LOOP_BACKEND_POLL) {
		loop->backend = TETHER_LOOP_BACKEND_POLL;
		loop->ops = &tether__loop_poll_ops;
	} else {
		loop->backend = TETHER_LOOP_BACKEND_EPOLL;
		loop->ops = &tether__loop_epoll_ops;
	}
	loop->max_fds = cfg->max_fds;
	if (loop->max_fds == 0)
		loop->max_fds = TETHER_LOOP_DEFAULT_MAX_FDS;
	loop->sigfd = -1;
	sigemptyset(&loop->sigset);
	rc = loop->ops->init(loop);
	if (rc < 0)
		goto fail;
	loop->now_ms = monotonic_ms();
	*out = loop;
	return 0;
fail:
	tether_free(loop);
	return rc;
}

void
tether_loop_free(struct tether_loop *loop)
{
	struct tether_loop_timer *t, *next;
	int signo;

	if (loop == NULL)
		return;
	TETHER_BUG_ON(loop->running);
	for (signo = 1; loop->nsignals > 0 && signo < _NSIG; signo++)
		if (loop->signals[signo].fn != NULL)
			tether_loop_signal_del(loop, signo);
	loop->ops->fini(loop);
	if (loop->sigfd >= 0)
		close(loop->sigfd);
	for (t = loop->timers; t != NULL; t = next) {
		next = t->next;
		tether_free(t);
	}
	tether_free(loop->heap);
	tether_free(loop->defer);
	tether_free(loop->defer_run);
	tether_free(loop->signals);
	tether_free(loop->fds);
	tether_free(loop);
}

enum tether_loop_backend
tether_loop_backend(const struct tether_loop *loop)
{
	return loop->backend;
}

uint64_t
tether_loop_now(const struct tether_loop *loop)
{
	return loop->now_ms;
}

uint64_t
tether_loop_update_time(struct tether_loop *loop)
{
	loop->now_ms = monotonic_ms();
	return loop->now_ms;
}

/* ------------------------------------------------------------------ */
/* fds                                                                 */
/* ------------------------------------------------------------------ */

/* Grow the fd table so that slot fd exists (fd < max_fds checked). */
static int
fds_reserve(struct tether_loop *loop, int fd)
{
	size_t need = (size_t)fd + 1, cap;
	struct tether__loop_fd *p;

	if (need <= loop->fds_cap)
		return 0;
	cap = loop->fds_cap ? loop->fds_cap : 64;
	while (cap < need)
		cap *= 2;
	if (cap > loop->max_fds)
		cap = loop->max_fds;
	p = tether_reallocarray(loop->fds, cap, sizeof(*p));
	if (p == NULL)
		return -TETHER_ENOMEM;
	memset(p + loop->fds_cap, 0, (cap - loop->fds_cap) * sizeof(*p));
	loop->fds = p;
	loop->fds_cap = cap;
	return 0;
}

/* The slot of a registered fd, or NULL. */
static struct tether__loop_fd *
fd_slot(struct tether_loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->fds_cap)
		return NULL;
	if (!(loop->fds[fd].mask & TETHER__LOOP_USED))
		return NULL;
	return &loop->fds[fd];
}

/* Register fd; flags may add TETHER__LOOP_INTERNAL. */
static int
fd_register(struct tether_loop *loop, int fd, unsigned events,
	    unsigned flags, tether_loop_fd_fn *fn, void *ud)
{
	struct tether__loop_fd *e;
	int rc;

	if (fd < 0 || fn == NULL || (events & ~TETHER__LOOP_INTEREST) != 0)
		return -TETHER_EINVAL;
	if ((size_t)fd >= loop->max_fds)
		return -TETHER_ENOSPC;
	rc = fds_reserve(loop, fd);
	if (rc < 0)
		return rc;
	e = &loop->fds[fd];
	if (e->mask & TETHER__LOOP_USED)
		return -TETHER_EEXIST;
	e->gen++;
	e->mask = events | flags | TETHER__LOOP_USED;
	e->fn = fn;
	e->ud = ud;
	rc = loop->ops->add(loop, fd);
	if (rc < 0) {
		e->mask = 0;
		e->fn = NULL;
		e->ud = NULL;
		return rc;
	}
	if (!(flags & TETHER__LOOP_INTERNAL))
		loop->nfds_user++;
	return 0;
}

int
tether_loop_fd_add(struct tether_loop *loop, int fd, unsigned events,
		   tether_loop_fd_fn *fn, void *ud)
{
	return fd_register(loop, fd, events, 0, fn, ud);
}

int
tether_loop_fd_mod(struct tether_loop *loop, int fd, unsigned events)
{
	struct tether__loop_fd *e = fd_slot(loop, fd);
	unsigned old;
	int rc;

	if (e == NULL)
		return -TETHER_ENOENT;
	if (e->mask & TETHER__LOOP_INTERNAL)
		return -TETHER_EPERM;
	if ((events & ~TETHER__LOOP_INTEREST) != 0)
		return -TETHER_EINVAL;
	old = e->mask;
	e->mask = events | TETHER__LOOP_USED;
	rc = loop->ops->mod(loop, fd, old);
	if (rc < 0)
		loop->fds[fd].mask = old;
	return rc;
}

int
tether_loop_fd_del(struct tether_loop *loop, int fd)
{
	struct tether__loop_fd *e = fd_slot(loop, fd);

	if (e == NULL)
		return -TETHER_ENOENT;
	if (e->mask & TETHER__LOOP_INTERNAL)
		return -TETHER_EPERM;
	loop->ops->del(loop, fd);
	e->mask = 0;
	e->fn = NULL;
	e->ud = NULL;
	loop->nfds_user--;
	return 0;
}

int
tether_loop_fd_close(struct tether_loop *loop, int fd)
{
	struct tether__loop_fd *e = fd_slot(loop, fd);

	if (fd < 0)
		return 0;
	if (e != NULL) {
		if (e->mask & TETHER__LOOP_INTERNAL)
			return -TETHER_EPERM;
		if (!loop->ops->close_drops)
			loop->ops->del(loop, fd);
		e->mask = 0;
		e->fn = NULL;
		e->ud = NULL;
		loop->nfds_user--;
	}
	(void)close(fd);
	return 0;
}

/* Run the callbacks of what the last wait collected (see the top). */
static void
dispatch_fds(struct tether_loop *loop, int nfired)
{
	const unsigned always = TETHER_LOOP_ERR | TETHER_LOOP_HUP;
	int i;

	for (i = 0; i < nfired; i++) {
		const struct tether__loop_fired *f = &loop->fired[i];
		struct tether__loop_fd *e;
		unsigned ev;

		/* The table may have been reallocated by a callback: look
		 * the slot up afresh each time. It never shrinks. */
		TETHER_BUG_ON(f->fd < 0 || (size_t)f->fd >= loop->fds_cap);
		e = &loop->fds[f->fd];
		if (!(e->mask & TETHER__LOOP_USED) || e->gen != f->gen)
			continue;
		ev = f->events & ((e->mask & (TETHER_LOOP_READ |
					      TETHER_LOOP_WRITE |
					      TETHER_LOOP_RDHUP |
					      TETHER_LOOP_PRI)) | always);
		if (ev == 0)
			continue;
		if (!(e->mask & TETHER__LOOP_INTERNAL))
			loop->ncalls++;
		if (!(e->mask & TETHER_LOOP_EDGE))
			loop->wait_level = 1;
		e->fn(loop, f->fd, ev, e->ud);
	}
}

/* ------------------------------------------------------------------ */
/* Timers: a binary min-heap of armed timers keyed by (expiry, seq)    */
/* ------------------------------------------------------------------ */

static int
timer_before(const struct tether_loop_timer *a,
	     const struct tether_loop_timer *b)
{
	if (a->expiry != b->expiry)
		return a->expiry < b->expiry;
	return a->seq < b->seq;
}

static void
heap_set(struct tether_loop *loop, size_t i, struct tether_loop_timer *t)
{
	loop->heap[i] = t;
	t->hidx = i;
}

static void
heap_sift_up(struct tether_loop *loop, size_t i)
{
	struct tether_loop_timer *t = loop->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!timer_before(t, loop->heap[parent]))
			break;
		heap_set(loop, i, loop->heap[parent]);
		i = parent;
	}
	heap_set(loop, i, t);
}

static void
heap_sift_down(struct tether_loop *loop, size_t i)
{
	struct tether_loop_timer *t = loop->heap[i];
	size_t n = loop->heap_len;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && timer_before(loop->heap[c + 1], loop->heap[c]))
			c++;
		if (!timer_before(loop->heap[c], t))
			break;
		heap_set(loop, i, loop->heap[c]);
		i = c;
	}
	heap_set(loop, i, t);
}

static void
heap_insert(struct tether_loop *loop, struct tether_loop_timer *t)
{
	/* heap_cap >= ntimers is kept by tether_loop_timer_new. */
	TETHER_BUG_ON(loop->heap_len >= loop->heap_cap);
	heap_set(loop, loop->heap_len++, t);
	heap_sift_up(loop, t->hidx);
}

static void
heap_remove(struct tether_loop *loop, struct tether_loop_timer *t)
{
	size_t i = t->hidx;
	struct tether_loop_timer *last;

	TETHER_BUG_ON(i >= loop->heap_len || loop->heap[i] != t);
	last = loop->heap[--loop->heap_len];
	t->hidx = TIMER_DISARMED;
	if (last == t)
		return;
	heap_set(loop, i, last);
	if (i > 0 && timer_before(last, loop->heap[(i - 1) / 2]))
		heap_sift_up(loop, i);
	else
		heap_sift_down(loop, i);
}

static void
timer_schedule(struct tether_loop_timer *t, uint64_t expiry)
{
	t->expiry = expiry;
	t->seq = t->loop->timer_seq++;
	heap_insert(t->loop, t);
}

int
tether_loop_timer_new(struct tether_loop *loop, tether_loop_timer_fn *fn,
		      void *ud, struct tether_loop_timer **out)
{
	struct tether_loop_timer *t;

	*out = NULL;
	if (fn == NULL)
		return -TETHER_EINVAL;
	if (loop->heap_cap <= loop->ntimers) {
		size_t cap = loop->heap_cap ? 2 * loop->heap_cap : 16;
		struct tether_loop_timer **h;

		h = tether_reallocarray(loop->heap, cap, sizeof(*h));
		if (h == NULL)
			return -TETHER_ENOMEM;
		loop->heap = h;
		loop->heap_cap = cap;
	}
	t = tether_calloc(1, sizeof(*t));
	if (t == NULL)
		return -TETHER_ENOMEM;
	t->loop = loop;
	t->fn = fn;
	t->ud = ud;
	t->hidx = TIMER_DISARMED;
	t->next = loop->timers;
	if (loop->timers != NULL)
		loop->timers->prev = t;
	loop->timers = t;
	loop->ntimers++;
	*out = t;
	return 0;
}

void
tether_loop_timer_cancel(struct tether_loop_timer *t)
{
	if (t->hidx != TIMER_DISARMED)
		heap_remove(t->loop, t);
}

void
tether_loop_timer_free(struct tether_loop_timer *t)
{
	struct tether_loop *loop;

	if (t == NULL)
		return;
	loop = t->loop;
	tether_loop_timer_cancel(t);
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		loop->timers = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	loop->ntimers--;
	tether_free(t);
}

int
tether_loop_timer_arm(struct tether_loop_timer *t, uint64_t delay_ms,
		      uint64_t repeat_ms)
{
	if (delay_ms > TETHER_LOOP_MAX_DELAY_MS ||
	    repeat_ms > TETHER_LOOP_MAX_DELAY_MS)
		return -TETHER_ERANGE;
	tether_loop_timer_cancel(t);
	t->repeat = repeat_ms;
	timer_schedule(t, t->loop->now_ms + delay_ms);
	return 0;
}

int
tether_loop_timer_armed(const struct tether_loop_timer *t)
{
	return t->hidx != TIMER_DISARMED;
}

uint64_t
tether_loop_timer_expiry(const struct tether_loop_timer *t)
{
	return t->expiry;
}

/* Run the due timers that were armed before this pass began. */
static void
run_timers(struct tether_loop *loop)
{
	uint64_t first_new = loop->timer_seq;

	while (loop->heap_len > 0) {
		struct tether_loop_timer *t = loop->heap[0];

		if (t->expiry > loop->now_ms || t->seq >= first_new)
			break;
		heap_remove(loop, t);
		/* Re-arm from now, not from the old expiry: a loop that
		 * fell behind skips periods instead of bursting. */
		if (t->repeat > 0)
			timer_schedule(t, loop->now_ms + t->repeat);
		loop->ncalls++;
		t->fn(loop, t, t->ud);	/* t may be gone after this */
	}
}

int
tether__loop_timer_check(const struct tether_loop *loop)
{
	const struct tether_loop_timer *t;
	size_t i, armed = 0, n = 0;

	for (i = 0; i < loop->heap_len; i++) {
		if (loop->heap[i]->hidx != i)
			return -TETHER_EBADMSG;
		if (i > 0 && timer_before(loop->heap[i],
					  loop->heap[(i - 1) / 2]))
			return -TETHER_EBADMSG;
	}
	for (t = loop->timers; t != NULL; t = t->next) {
		n++;
		if (t->hidx == TIMER_DISARMED)
			continue;
		if (t->hidx >= loop->heap_len || loop->heap[t->hidx] != t)
			return -TETHER_EBADMSG;
		armed++;
	}
	if (armed != loop->heap_len || n != loop->ntimers ||
	    loop->heap_cap < loop->ntimers)
		return -TETHER_EBADMSG;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Deferred callbacks                                                  */
/* ------------------------------------------------------------------ */

int
tether_loop_defer(struct tether_loop *loop, tether_loop_defer_fn *fn,
		  void *ud)
{
	if (fn == NULL)
		return -TETHER_EINVAL;
	if (loop->defer_len == loop->defer_cap) {
		size_t cap = loop->defer_cap ? 2 * loop->defer_cap : 16;
		struct tether__loop_defer *q;

		q = tether_reallocarray(loop->defer, cap, sizeof(*q));
		if (q == NULL)
			return -TETHER_ENOMEM;
		loop->defer = q;
		loop->defer_cap = cap;
	}
	loop->defer[loop->defer_len].fn = fn;
	loop->defer[loop->defer_len].ud = ud;
	loop->defer_len++;
	return 0;
}

static void
run_deferred(struct tether_loop *loop)
{
	struct tether__loop_defer *q = loop->defer;
	size_t n = loop->defer_len, cap = loop->defer_cap, i;

	if (n == 0)
		return;
	/* Swap in the spare array: what callbacks queue goes there. */
	loop->defer = loop->defer_run;
	loop->defer_cap = loop->defer_run_cap;
	loop->defer_len = 0;
	loop->defer_run = q;
	loop->defer_run_cap = cap;
	for (i = 0; i < n; i++) {
		loop->ncalls++;
		q[i].fn(loop, q[i].ud);
	}
}

/* ------------------------------------------------------------------ */
/* Signals                                                             */
/* ------------------------------------------------------------------ */

/* Signals a handler may be set for: not KILL/STOP, and not the real-time
 * signals glibc keeps for itself (32, 33), which masks silently ignore. */
static int
signal_valid(int signo)
{
	if (signo < 1 || signo >= _NSIG || signo > SIGRTMAX)
		return 0;
	if (signo == SIGKILL || signo == SIGSTOP)
		return 0;
	return signo <= SIGSYS || signo >= SIGRTMIN;
}

/* The signalfd's callback: one bounded batch per iteration, so a
 * handler that raises its own signal cannot hold the loop. */
static void
signal_dispatch(struct tether_loop *loop, int fd, unsigned events, void *ud)
{
	struct signalfd_siginfo si[16];
	ssize_t n;
	size_t i;

	(void)events;
	(void)ud;
	n = read(fd, si, sizeof(si));
	if (n <= 0)
		return;		/* EAGAIN: someone else took it */
	for (i = 0; i < (size_t)n / sizeof(si[0]); i++) {
		int signo = (int)si[i].ssi_signo;
		struct tether__loop_signal *s;

		if (signo < 1 || signo >= _NSIG)
			continue;
		s = &loop->signals[signo];
		if (s->fn == NULL)
			continue;	/* removed meanwhile */
		loop->ncalls++;
		s->fn(loop, signo, s->ud);
	}
}

int
tether_loop_signal_add(struct tether_loop *loop, int signo,
		       tether_loop_signal_fn *fn, void *ud)
{
	sigset_t one, old, set;
	int rc, was_blocked;

	if (!signal_valid(signo) || fn == NULL)
		return -TETHER_EINVAL;
	if (loop->signals == NULL) {
		loop->signals = tether_calloc(_NSIG, sizeof(*loop->signals));
		if (loop->signals == NULL)
			return -TETHER_ENOMEM;
	}
	if (loop->signals[signo].fn != NULL)
		return -TETHER_EEXIST;
	if (loop->sigfd < 0) {
		int fd;

		sigemptyset(&set);
		fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
		if (fd < 0)
			return tether_err_from_errno(errno);
		rc = fd_register(loop, fd, TETHER_LOOP_READ,
				 TETHER__LOOP_INTERNAL, signal_dispatch, NULL);
		if (rc < 0) {
			close(fd);
			return rc;
		}
		loop->sigfd = fd;
	}
	sigemptyset(&one);
	sigaddset(&one, signo);
	rc = pthread_sigmask(SIG_BLOCK, &one, &old);
	if (rc != 0)
		return tether_err_from_errno(rc);
	was_blocked = sigismember(&old, signo) == 1;
	set = loop->sigset;
	sigaddset(&set, signo);
	if (signalfd(loop->sigfd, &set, 0) < 0) {
		rc = tether_err_from_errno(errno);
		if (!was_blocked)
			pthread_sigmask(SIG_UNBLOCK, &one, NULL);
		return rc;
	}
	loop->sigset = set;
	loop->signals[signo].fn = fn;
	loop->signals[signo].ud = ud;
	loop->signals[signo].was_blocked = was_blocked;
	loop->nsignals++;
	return 0;
}

int
tether_loop_signal_del(struct tether_loop *loop, int signo)
{
	static const struct timespec zero;
	sigset_t one;
	int i;

	if (!signal_valid(signo))
		return -TETHER_EINVAL;
	if (loop->signals == NULL || loop->signals[signo].fn == NULL)
		return -TETHER_ENOENT;
	loop->signals[signo].fn = NULL;
	loop->signals[signo].ud = NULL;
	loop->nsignals--;
	sigdelset(&loop->sigset, signo);
	/* Cannot fail: the fd is our signalfd and the set is valid. */
	signalfd(loop->sigfd, &loop->sigset, 0);
	if (loop->signals[signo].was_blocked)
		return 0;
	/* Unblocking a pending signal would run its old disposition
	 * (often: terminate), so swallow what is pending first. Real-time
	 * signals queue: bound the drain. */
	sigemptyset(&one);
	sigaddset(&one, signo);
	for (i = 0; i < 4096; i++)
		if (sigtimedwait(&one, NULL, &zero) != signo)
			break;
	pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Running                                                             */
/* ------------------------------------------------------------------ */

static int
loop_alive(const struct tether_loop *loop)
{
	return loop->nfds_user > 0 || loop->heap_len > 0 ||
	       loop->defer_len > 0 || loop->nsignals > 0;
}

/* How long the wait may block: the caller's bound, cut short by the
 * next timer; not at all if there is work already or a stop pending. */
static int
wait_timeout(const struct tether_loop *loop, int timeout_ms)
{
	if (loop->stop || loop->defer_len > 0)
		return 0;
	if (loop->heap_len > 0) {
		uint64_t expiry = loop->heap[0]->expiry;
		uint64_t d = expiry > loop->now_ms ? expiry - loop->now_ms : 0;

		if (d > INT_MAX)
			d = INT_MAX;
		if (timeout_ms < 0 || d < (uint64_t)timeout_ms)
			timeout_ms = (int)d;
	}
	return timeout_ms;
}

void
tether_loop_set_waiter(struct tether_loop *loop, tether_loop_waiter_fn *fn,
		       void *ud)
{
	loop->waiter = fn;
	loop->waiter_ud = fn != NULL ? ud : NULL;
}

int
tether_loop_backend_fd(const struct tether_loop *loop)
{
	return loop->ops->fd != NULL ? loop->ops->fd(loop) : -1;
}

static int
loop_iterate(struct tether_loop *loop, int timeout_ms)
{
	int n, timeout;

	/* Refresh before computing the timeout, so time spent in the last
	 * iteration's callbacks is not slept again. */
	loop->now_ms = monotonic_ms();
	timeout = wait_timeout(loop, timeout_ms);
	/* A full batch may have left events behind: do not sleep. Nor in
	 * a waiter after a level-triggered event: epoll puts such an fd
	 * back on its ready list without waking pollers of its own fd, so
	 * the waiter would not see it. */
	if (loop->wait_full || (loop->waiter != NULL && loop->wait_level))
		timeout = 0;
	if (loop->waiter != NULL) {
		loop->waiter(loop, timeout, loop->waiter_ud);
		timeout = 0;
	}
	n = loop->ops->wait(loop, timeout);
	if (n < 0)
		return n;
	loop->wait_full = n == TETHER__LOOP_MAX_FIRED;
	loop->wait_level = 0;
	loop->now_ms = monotonic_ms();
	dispatch_fds(loop, n);
	run_timers(loop);
	run_deferred(loop);
	return 0;
}

int
tether_loop_run(struct tether_loop *loop)
{
	int rc = 0;

	if (loop->running)
		return -TETHER_EBUSY;
	loop->running = 1;
	while (loop_alive(loop)) {
		rc = loop_iterate(loop, -1);
		if (rc < 0 || loop->stop)
			break;
	}
	loop->stop = 0;
	loop->running = 0;
	return rc;
}

int
tether_loop_run_once(struct tether_loop *loop, int timeout_ms)
{
	unsigned long before = loop->ncalls;
	int rc;

	if (loop->running)
		return -TETHER_EBUSY;
	if (timeout_ms < 0 && !loop_alive(loop))
		timeout_ms = 0;
	loop->running = 1;
	rc = loop_iterate(loop, timeout_ms);
	loop->stop = 0;
	loop->running = 0;
	if (rc < 0)
		return rc;
	if (loop->ncalls - before > INT_MAX)
		return INT_MAX;
	return (int)(loop->ncalls - before);
}

void
tether_loop_stop(struct tether_loop *loop)
{
	loop->stop = 1;
}
