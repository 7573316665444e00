/*
 * loop_int.h - private to the event loop: the loop structure shared by
 * loop.c and its I/O backends (loop_epoll.c, loop_poll.c), and the ops
 * table a backend implements.
 */
#ifndef TETHER_LOOP_INT_H
#define TETHER_LOOP_INT_H

#include "tether/core.h"

#include <signal.h>
#include <stdint.h>

/* Events collected by one wait, at most (the rest wait one iteration). */
#define TETHER__LOOP_MAX_FIRED 256

/* Interest bits a caller may pass, and an internal mark (high bit) for
 * fds the loop registers itself (the signalfd): callers cannot touch
 * them. */
#define TETHER__LOOP_INTEREST \
	(TETHER_LOOP_READ | TETHER_LOOP_WRITE | TETHER_LOOP_EDGE | \
	 TETHER_LOOP_RDHUP | TETHER_LOOP_PRI)
#define TETHER__LOOP_INTERNAL 0x80000000u
#define TETHER__LOOP_USED 0x40000000u	/* slot in use (interest may be 0) */

/*
 * One slot per fd number (as ae.c does). mask == 0 means free. gen
 * counts registrations of this fd number, so an event collected for an
 * fd that was removed and re-added (perhaps as a new file that got the
 * same number) before dispatch is recognised as stale and dropped.
 */
struct tether__loop_defer {
	tether_loop_defer_fn *fn;
	void *ud;
};

struct tether__loop_signal {
	tether_loop_signal_fn *fn;	/* NULL: no handler */
	void *ud;
	int was_blocked;	/* blocked before we blocked it: leave it so */
};

struct tether__loop_fd {
	unsigned mask;		/* USED | INTERNAL | interest; 0 = free */
	uint32_t gen;
	tether_loop_fd_fn *fn;
	void *ud;
	size_t bidx;		/* backend's own index (poll: pollfd slot) */
};

/* One ready fd, as the backend's wait reported it. */
struct tether__loop_fired {
	int fd;
	uint32_t gen;
	unsigned events;	/* READ WRITE ERR HUP RDHUP */
};

struct tether__loop_backend_ops;

struct tether_loop {
	const struct tether__loop_backend_ops *ops;
	enum tether_loop_backend backend;
	void *bstate;		/* backend-private */

	/* fd table indexed by fd number, grown on demand up to max_fds */
	struct tether__loop_fd *fds;
	size_t fds_cap;
	size_t max_fds;
	size_t nfds_user;	/* registered by callers (not internal) */

	struct tether__loop_fired fired[TETHER__LOOP_MAX_FIRED];

	/* timers: all of them on a list (so free can find them), the armed
	 * ones in a binary min-heap keyed by (expiry, seq). heap_cap is
	 * kept >= ntimers, so arming never allocates. */
	struct tether_loop_timer *timers;
	size_t ntimers;
	struct tether_loop_timer **heap;
	size_t heap_len;
	size_t heap_cap;
	uint64_t timer_seq;

	/* deferred callbacks: appended to defer; at the end of an
	 * iteration the two arrays swap and defer_run is drained, so
	 * callbacks queued meanwhile wait for the next iteration */
	struct tether__loop_defer *defer;
	size_t defer_len;
	size_t defer_cap;
	struct tether__loop_defer *defer_run;
	size_t defer_run_cap;

	/* signals */
	int sigfd;		/* -1 until the first tether_loop_signal_add */
	sigset_t sigset;	/* the signals the signalfd reads */
	int nsignals;
	struct tether__loop_signal *signals;	/* [_NSIG], lazily */

	/* tether_loop_set_waiter */
	tether_loop_waiter_fn *waiter;
	void *waiter_ud;
	int wait_full;		/* the last wait filled loop->fired */
	int wait_level;		/* and reported a level-triggered fd */

	uint64_t now_ms;	/* cached monotonic clock */
	unsigned long ncalls;	/* user callbacks run, for run_once */
	int running;		/* inside run / run_once */
	int stop;		/* stop requested */
};

/*
 * A backend. add/mod/del are told the slot's current mask and gen
 * (already stored in loop->fds[fd] for add and mod; del is called
 * before the slot is cleared). wait fills loop->fired and returns how
 * many entries it wrote, or a negative tether code; it reports
 * interruption by a signal as 0 events.
 */
struct tether__loop_backend_ops {
	const char *name;
	int (*init)(struct tether_loop *loop);
	void (*fini)(struct tether_loop *loop);
	int (*add)(struct tether_loop *loop, int fd);
	int (*mod)(struct tether_loop *loop, int fd, unsigned old_mask);
	void (*del)(struct tether_loop *loop, int fd);
	/* Closing an fd's only descriptor drops its registration in the
	 * kernel (epoll): tether_loop_fd_close need not call del. */
	int close_drops;
	int (*wait)(struct tether_loop *loop, int timeout_ms);
	/* The fd that polls readable when wait has events, or -1. */
	int (*fd)(const struct tether_loop *loop);
};

extern const struct tether__loop_backend_ops tether__loop_epoll_ops;
extern const struct tether__loop_backend_ops tether__loop_poll_ops;

/*
 * tether__loop_timer_check - test hook: verify the heap property and
 * every armed timer's back index. Returns 0 or -TETHER_EBADMSG.
 */
int tether__loop_timer_check(const struct tether_loop *loop);

#endif /* TETHER_LOOP_INT_H */
