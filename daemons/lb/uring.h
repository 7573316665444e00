/*
 * uring.h - tether-lb's io_uring ring (uring.c), under proxy.c's
 * io_uring data path (`io-uring on`). Built with liburing only
 * (LB_HAVE_URING).
 *
 * An operation is a struct lb_uop (lb-t.h) embedded in its owner; its callback
 * gets the completion's result and flags. Submission is batched: SQEs
 * taken during a loop iteration go to the kernel together, at its end.
 */
#ifndef LB_URING_H
#define LB_URING_H

#ifdef LB_HAVE_URING

#include "lb.h"

#include <liburing.h>

/* Receive buffers: a ring of provided buffers shared by every session,
 * so an idle session holds none (`io-uring-buffers` of them). */
#define LB_URING_BUF_SIZE	(16u * 1024)
#define LB_URING_BGID		1

struct lb_uring;

/*
 * lb_uring_open - set up a ring on loop (DEFER_TASKRUN where the kernel
 * has it) with nbufs receive buffers (a power of two) and make it the
 * loop's waiter. Returns 0 or a negative tether code; errbuf says why.
 */
int lb_uring_open(struct lb_uring **out, struct tether_loop *loop,
		  unsigned nbufs, char *errbuf, size_t errlen);

/*
 * lb_uring_close - cancel everything in flight, run the callbacks of
 * what completes (with -ECANCELED mostly), and free the ring. Bounded:
 * it waits at most a second.
 */
void lb_uring_close(struct lb_uring *u);

/*
 * lb_uring_sqe - an SQE whose completion calls op (op NULL: nobody
 * waits for it; its completion is dropped). Submitted at the end of the
 * loop iteration. NULL only if the ring is full and the kernel refused
 * to take its queue.
 */
struct io_uring_sqe *lb_uring_sqe(struct lb_uring *u, struct lb_uop *op);

/* The buffer a completion with IORING_CQE_F_BUFFER names, and giving it
 * back to the ring. */
unsigned char *lb_uring_buf(struct lb_uring *u, unsigned bid);
void lb_uring_buf_put(struct lb_uring *u, unsigned bid);

/* Operations in flight (submitted or queued, not yet completed). */
unsigned lb_uring_inflight(const struct lb_uring *u);

/* Whether u can be closed without waiting: 0 when nothing is in flight
 * but its poll of the loop; 1 when operations are; -1 when submissions
 * wait for the deferred flush. Operations without a callback (op NULL)
 * are not counted once submitted: they must complete at submission, as
 * a socket's close does. lb_uring_loop: the loop it runs on. */
int lb_uring_busy(const struct lb_uring *u);
struct tether_loop *lb_uring_loop(const struct lb_uring *u);

/* Its number of receive buffers. */
unsigned lb_uring_nbufs(const struct lb_uring *u);

#endif /* LB_HAVE_URING */

#endif /* LB_URING_H */
