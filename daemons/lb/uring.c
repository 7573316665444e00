/*
 * uring.c - tether-lb's io_uring ring, one per process, beside the
 * epoll loop: proxy.c's io_uring data path submits connect, recv and
 * send here instead of making one system call each when epoll says a
 * socket is ready.
 *
 * How it meets the loop. An SQE taken during an iteration queues a
 * deferred flush (the loop then polls without sleeping); the flush
 * submits everything queued and reaps what completed in one
 * io_uring_enter. With DEFER_TASKRUN the kernel finishes operations
 * only inside our io_uring_enter calls, and neither an eventfd nor a
 * poll of the ring wakes an epoll_wait for them: so the loop sleeps in
 * the ring (tether_loop_set_waiter), which polls the loop's epoll fd
 * for everything else.
 *
 * Receive buffers come from a provided-buffer ring: a recv takes one
 * only when data arrives, so idle sessions hold no buffer.
 */
#include "lb.h"
#include "uring.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define LB_URING_ENTRIES	4096u
#define LB_URING_FLUSH_ROUNDS	4	/* submit+reap rounds in one flush */

struct lb_uring {
	struct io_uring ring;
	struct tether_loop *loop;
	int epfd;			/* the loop's epoll fd, polled here */
	struct lb_uop epoll_op;
	int epoll_armed;
	int epoll_seen;			/* its poll fired since the last wait */
	int queued;			/* a flush is deferred */
	unsigned inflight;
	struct io_uring_buf_ring *br;
	unsigned char *bufs;
	unsigned nbufs;
};

static size_t
br_bytes(const struct lb_uring *u)
{
	return u->nbufs * sizeof(struct io_uring_buf);
}

static size_t
bufs_bytes(const struct lb_uring *u)
{
	return (size_t)u->nbufs * LB_URING_BUF_SIZE;
}

/* Run the callbacks of what completed. A callback may take new SQEs. */
static void
reap(struct lb_uring *u)
{
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		struct lb_uop *op = io_uring_cqe_get_data(cqe);
		int res = cqe->res;
		unsigned flags = cqe->flags;

		io_uring_cqe_seen(&u->ring, cqe);
		if (op == NULL)
			continue;
		if (!(flags & IORING_CQE_F_MORE)) {
			TETHER_BUG_ON(u->inflight == 0);
			u->inflight--;
		}
		op->fn(op, res, flags);
	}
}

/* Submit what is queued and take what completed, a few rounds while
 * callbacks queue more (a recv's send goes out at once). What is still
 * queued after that waits for the deferred flush. */
static void
flush(struct lb_uring *u)
{
	int i;

	for (i = 0; i < LB_URING_FLUSH_ROUNDS; i++) {
		int rc = io_uring_submit_and_get_events(&u->ring);

		if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
			tether_log_warn("io_uring_enter: %s", strerror(-rc));
		reap(u);
		if (io_uring_sq_ready(&u->ring) == 0)
			return;
	}
}

static void
flush_deferred(struct tether_loop *loop, void *ud)
{
	struct lb_uring *u = ud;

	(void)loop;
	u->queued = 0;
	/* Completions with nothing to submit: the waiter takes them. */
	if (io_uring_sq_ready(&u->ring) > 0)
		flush(u);
}

/* The loop's epoll fd became readable (fd events or a signal). The
 * poll is edge-triggered: remember it, whoever reaped it (a flush
 * too), so the waiter does not sleep on events the loop has not
 * collected. A multishot poll; armed again by the waiter once the
 * kernel ends it. */
static void
epoll_ready(struct lb_uop *op, int res, unsigned flags)
{
	struct lb_uring *u = (struct lb_uring *)(void *)((char *)op -
		offsetof(struct lb_uring, epoll_op));

	(void)res;
	u->epoll_seen = 1;
	if (!(flags & IORING_CQE_F_MORE))
		u->epoll_armed = 0;
}

static void
arm_epoll(struct lb_uring *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (sqe == NULL) {
		(void)io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	if (sqe == NULL)
		return;		/* tried again next time */
	io_uring_prep_poll_multishot(sqe, u->epfd, POLLIN);
	io_uring_sqe_set_data(sqe, &u->epoll_op);
	u->inflight++;
	u->epoll_armed = 1;
}

/* Every loop iteration starts here (tether_loop_set_waiter). timeout_ms
 * 0: run what the kernel has for us, if anything (IORING_SQ_TASKRUN
 * says so), without sleeping. Otherwise sleep in the ring (that is
 * where DEFER_TASKRUN completions are made) until a completion, the
 * epoll fd's poll, or the timeout; the loop collects its fd events
 * after. */
static void
waiter(struct tether_loop *loop, int timeout_ms, void *ud)
{
	struct lb_uring *u = ud;
	struct io_uring_cqe *cqe;

	if (!u->epoll_armed)
		arm_epoll(u);
	if (timeout_ms == 0 || u->epoll_seen || !u->epoll_armed) {
		if (io_uring_sq_ready(&u->ring) > 0 ||
		    (IO_URING_READ_ONCE(*u->ring.sq.kflags) &
		     (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)) ||
		    io_uring_cq_ready(&u->ring) > 0) {
			(void)io_uring_submit_and_get_events(&u->ring);
			(void)tether_loop_update_time(loop);
			reap(u);
		}
	} else if (timeout_ms < 0) {
		(void)io_uring_submit_and_wait(&u->ring, 1);
		(void)tether_loop_update_time(loop);
		reap(u);
	} else {
		struct __kernel_timespec ts;

		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
		(void)io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts,
						       NULL);
		/* Callbacks run now: the clock moved while we slept. */
		(void)tether_loop_update_time(loop);
		reap(u);
	}
	/* The loop's wait follows: it collects what the poll saw. */
	u->epoll_seen = 0;
}

static void
queue_flush(struct lb_uring *u)
{
	if (u->queued)
		return;
	if (tether_loop_defer(u->loop, flush_deferred, u) == 0)
		u->queued = 1;
}

struct io_uring_sqe *
lb_uring_sqe(struct lb_uring *u, struct lb_uop *op)
{
	struct io_uring_sqe *sqe;

	/* First the flush that will submit it: without one (no memory for
	 * the loop's queue) an SQE could wait unsubmitted. */
	queue_flush(u);
	if (!u->queued)
		return NULL;
	sqe = io_uring_get_sqe(&u->ring);
	if (sqe == NULL) {
		(void)io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
		if (sqe == NULL)
			return NULL;
	}
	io_uring_sqe_set_data(sqe, op);
	if (op != NULL)
		u->inflight++;
	return sqe;
}

unsigned char *
lb_uring_buf(struct lb_uring *u, unsigned bid)
{
	TETHER_BUG_ON(bid >= u->nbufs);
	return u->bufs + (size_t)bid * LB_URING_BUF_SIZE;
}

void
lb_uring_buf_put(struct lb_uring *u, unsigned bid)
{
	TETHER_BUG_ON(bid >= u->nbufs);
	io_uring_buf_ring_add(u->br, lb_uring_buf(u, bid), LB_URING_BUF_SIZE,
			      (unsigned short)bid,
			      io_uring_buf_ring_mask(u->nbufs), 0);
	io_uring_buf_ring_advance(u->br, 1);
}

unsigned
lb_uring_inflight(const struct lb_uring *u)
{
	return u->inflight;
}

struct tether_loop *
lb_uring_loop(const struct lb_uring *u)
{
	return u->loop;
}

int
lb_uring_busy(const struct lb_uring *u)
{
	if (u->queued || io_uring_sq_ready(&u->ring) > 0)
		return -1;
	return u->inflight > (u->epoll_armed ? 1u : 0u);
}

unsigned
lb_uring_nbufs(const struct lb_uring *u)
{
	return u->nbufs;
}

static int
setup_ring(struct lb_uring *u)
{
	struct io_uring_params p;
	int rc;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
		  IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
	rc = io_uring_queue_init_params(LB_URING_ENTRIES, &u->ring, &p);
	if (rc == -EINVAL) {
		/* Before Linux 6.1: no DEFER_TASKRUN. */
		memset(&p, 0, sizeof(p));
		rc = io_uring_queue_init_params(LB_URING_ENTRIES, &u->ring,
						&p);
	}
	return rc;
}

int
lb_uring_open(struct lb_uring **out, struct tether_loop *loop,
	      unsigned nbufs, char *errbuf, size_t errlen)
{
	struct io_uring_buf_reg reg;
	struct lb_uring *u;
	unsigned i;
	int rc;

	*out = NULL;
	u = tether_calloc(1, sizeof(*u));
	if (u == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		return -TETHER_ENOMEM;
	}
	TETHER_BUG_ON(nbufs == 0 || (nbufs & (nbufs - 1)) != 0 ||
		      nbufs > 32768);
	u->loop = loop;
	u->nbufs = nbufs;
	u->epfd = tether_loop_backend_fd(loop);
	if (u->epfd < 0) {
		snprintf(errbuf, errlen, "the event loop has no epoll fd");
		tether_free(u);
		return -TETHER_ENOTSUP;
	}
	rc = setup_ring(u);
	if (rc < 0) {
		snprintf(errbuf, errlen, "io_uring_setup: %s", strerror(-rc));
		tether_free(u);
		return tether_err_from_errno(-rc);
	}
	u->br = mmap(NULL, br_bytes(u), PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	u->bufs = mmap(NULL, bufs_bytes(u), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (u->br == MAP_FAILED || u->bufs == MAP_FAILED) {
		snprintf(errbuf, errlen, "buffers: %s", strerror(errno));
		rc = -TETHER_ENOMEM;
		goto fail;
	}
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (unsigned long)(uintptr_t)u->br;
	reg.ring_entries = nbufs;
	reg.bgid = LB_URING_BGID;
	rc = io_uring_register_buf_ring(&u->ring, &reg, 0);
	if (rc < 0) {
		snprintf(errbuf, errlen, "provided buffers: %s",
			 strerror(-rc));
		rc = tether_err_from_errno(-rc);
		goto fail;
	}
	io_uring_buf_ring_init(u->br);
	for (i = 0; i < nbufs; i++)
		io_uring_buf_ring_add(u->br, lb_uring_buf(u, i),
				      LB_URING_BUF_SIZE, (unsigned short)i,
				      io_uring_buf_ring_mask(nbufs), (int)i);
	io_uring_buf_ring_advance(u->br, (int)nbufs);
	u->epoll_op.fn = epoll_ready;
	tether_loop_set_waiter(loop, waiter, u);
	*out = u;
	return 0;
fail:
	io_uring_queue_exit(&u->ring);
	if (u->br != NULL && u->br != MAP_FAILED)
		munmap(u->br, br_bytes(u));
	if (u->bufs != NULL && u->bufs != MAP_FAILED)
		munmap(u->bufs, bufs_bytes(u));
	tether_free(u);
	return rc;
}

void
lb_uring_close(struct lb_uring *u)
{
	struct io_uring_sqe *sqe;
	struct timespec t0, t;

	if (u == NULL)
		return;
	sqe = io_uring_get_sqe(&u->ring);
	if (sqe == NULL) {
		(void)io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	if (sqe != NULL) {
		io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
		io_uring_sqe_set_data(sqe, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct __kernel_timespec ts = { 0, 50 * 1000 * 1000 };
		struct io_uring_cqe *cqe;

		(void)io_uring_submit_and_get_events(&u->ring);
		reap(u);
		if (u->inflight == 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= 1) {
			tether_log_warn("io_uring: %u operations still in "
					"flight at close", u->inflight);
			break;
		}
		(void)io_uring_wait_cqe_timeout(&u->ring, &cqe, &ts);
	}
	tether_loop_set_waiter(u->loop, NULL, NULL);
	io_uring_queue_exit(&u->ring);
	munmap(u->br, br_bytes(u));
	munmap(u->bufs, bufs_bytes(u));
	tether_free(u);
}
