/*
 * svc_pool.c - the server's worker pool: procedures marked blocking run
 * on worker threads; their replies are encoded there and handed back to
 * the loop's thread through an eventfd, which sends them, stores them in
 * the reply cache and releases the call (and its arena).
 *
 * Ownership of a call moves with its state (enum svc_work_state):
 * QUEUED and DONE calls sit in the pool's lists under its lock, a
 * RUNNING call belongs to its worker alone (the procedure, its arena,
 * the reply's encoding), every other call to the loop's thread. The
 * loop's thread never looks at a call's contents while a worker has it:
 * a connection that closes meanwhile only unlinks the call (call->conn,
 * cprev, cnext), fields a worker never reads.
 */
#include "tether/rpc.h"
#include "rpc/svc_int.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define POOL_MAX_THREADS 256u

struct tether__rpc_pool {
	struct tether_rpc_server *srv;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t *threads;
	unsigned nthreads; /* started */
	unsigned max_queue;
	struct tether_rpc_server_call *qhead, *qtail; /* QUEUED, FIFO */
	unsigned qlen;
	struct tether_rpc_server_call *dhead, *dtail; /* DONE */
	unsigned busy;	   /* workers inside a procedure */
	unsigned busy_max; /* the most at once so far */
	int stop;
	int efd; /* readable when dhead is not empty */
};

const char *
tether__rpc_svc_work_name(enum svc_work_state s)
{
	static const char *const names[] = { "NONE", "QUEUED", "RUNNING",
					     "DONE" };

	if ((unsigned)s >= sizeof(names) / sizeof(names[0]))
		return "UNKNOWN";
	return names[s];
}

/* Encode SYSTEM_ERR for a procedure that returned without answering. */
static void
pool_unanswered(struct tether_rpc_server_call *call)
{
	struct tether_rpc_msg m;

	tether_rpc_msg_init_reply(&m, call->msg.xid);
	m.u.reply.accept_stat = TETHER_RPC_SYSTEM_ERR;
	m.u.reply.verf = call->verf;
	tether__rpc_svc_encode(call, &m, NULL, NULL, &call->wreply,
			       &call->wlen);
	call->wanswered = 1;
}

static void *
pool_worker(void *arg)
{
	struct tether__rpc_pool *p = arg;
	struct tether_rpc_server_call *call;
	uint64_t one = 1;
	ssize_t n;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->qhead == NULL && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop)
			break;
		call = p->qhead;
		p->qhead = call->qnext;
		if (p->qhead == NULL)
			p->qtail = NULL;
		p->qlen--;
		call->qnext = NULL;
		call->work = SVC_WORK_RUNNING;
		if (++p->busy > p->busy_max)
			p->busy_max = p->busy;
		pthread_mutex_unlock(&p->mu);

		call->proc->fn(call, call->wargs, call->ud);
		if (!call->wanswered)
			pool_unanswered(call);

		pthread_mutex_lock(&p->mu);
		p->busy--;
		call->work = SVC_WORK_DONE;
		if (p->dtail != NULL)
			p->dtail->qnext = call;
		else
			p->dhead = call;
		p->dtail = call;
		/* An eventfd counter only fails to grow at 2^64 - 2. */
		do
			n = write(p->efd, &one, sizeof(one));
		while (n < 0 && errno == EINTR);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* The loop's side: send what the workers finished. */
static void
pool_ready(struct tether_loop *loop, int fd, unsigned events, void *ud)
{
	struct tether__rpc_pool *p = ud;
	struct tether_rpc_server_call *call, *next;
	unsigned char *rec;
	uint64_t v;

	(void)loop;
	(void)events;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&p->mu);
	call = p->dhead;
	p->dhead = p->dtail = NULL;
	pthread_mutex_unlock(&p->mu);
	for (; call != NULL; call = next) {
		next = call->qnext;
		call->qnext = NULL;
		call->work = SVC_WORK_NONE;
		rec = call->wreply;
		call->wreply = NULL;
		tether__rpc_svc_deliver(call, rec, call->wlen);
		tether_free(rec);
	}
}

int
tether_rpc_server_pool_start(struct tether_rpc_server *srv, unsigned threads,
			     unsigned max_queue)
{
	struct tether__rpc_pool *p;
	sigset_t all, old;
	unsigned i;
	int rc;

	if (srv->pool != NULL)
		return -TETHER_EBUSY;
	if (threads == 0)
		threads = TETHER_RPC_SERVER_POOL_DEFAULT_THREADS;
	if (max_queue == 0)
		max_queue = TETHER_RPC_SERVER_POOL_DEFAULT_QUEUE;
	if (threads > POOL_MAX_THREADS)
		return -TETHER_EINVAL;
	p = tether_calloc(1, sizeof(*p));
	if (p == NULL)
		return -TETHER_ENOMEM;
	p->srv = srv;
	p->max_queue = max_queue;
	p->threads = tether_calloc(threads, sizeof(*p->threads));
	if (p->threads == NULL) {
		tether_free(p);
		return -TETHER_ENOMEM;
	}
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd < 0) {
		rc = tether_err_from_errno(errno);
		tether_free(p->threads);
		tether_free(p);
		return rc;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	rc = tether_loop_fd_add(srv->loop, p->efd, TETHER_LOOP_READ, pool_ready,
				p);
	if (rc < 0)
		goto fail;
	srv->pool = p;
	/* Workers take no signals: the loop's thread handles them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < threads; i++) {
		rc = pthread_create(&p->threads[i], NULL, pool_worker, p);
		if (rc != 0)
			break;
		p->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (p->nthreads < threads) {
		rc = tether_err_from_errno(rc);
		srv->pool = NULL;
		tether__rpc_pool_free(p);
		return rc;
	}
	return 0;
fail:
	close(p->efd);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	tether_free(p->threads);
	tether_free(p);
	return rc;
}

int
tether__rpc_pool_ensure(struct tether_rpc_server *srv)
{
	if (srv->pool != NULL)
		return 0;
	return tether_rpc_server_pool_start(srv, 0, 0);
}

int
tether__rpc_pool_submit(struct tether_rpc_server_call *call, void *args)
{
	struct tether__rpc_pool *p = call->srv->pool;

	pthread_mutex_lock(&p->mu);
	if (p->qlen >= p->max_queue) {
		pthread_mutex_unlock(&p->mu);
		return -TETHER_EBUSY;
	}
	call->wargs = args;
	call->wanswered = 0;
	call->work = SVC_WORK_QUEUED;
	call->qnext = NULL;
	if (p->qtail != NULL)
		p->qtail->qnext = call;
	else
		p->qhead = call;
	p->qtail = call;
	p->qlen++;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

int
tether__rpc_pool_reply(struct tether_rpc_server_call *call,
		       struct tether_rpc_msg *m, tether_xdr_fn *codec,
		       const void *res)
{
	TETHER_BUG_ON(call->wanswered);
	call->wanswered = 1;
	return tether__rpc_svc_encode(call, m, codec, res, &call->wreply,
				      &call->wlen);
}

void
tether__rpc_pool_drop(struct tether_rpc_server_call *call)
{
	TETHER_BUG_ON(call->wanswered);
	call->wanswered = 1;
	call->wreply = NULL;
	call->wlen = 0;
}

void
tether__rpc_pool_stats(struct tether__rpc_pool *p,
		       struct tether_rpc_server_stats *st /* OUT */)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	st->pool_threads = p->nthreads;
	st->pool_queued = p->qlen;
	st->pool_busy = p->busy;
	st->pool_busy_max = p->busy_max;
	pthread_mutex_unlock(&p->mu);
}

void
tether__rpc_pool_free(struct tether__rpc_pool *p)
{
	unsigned i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	/* A worker inside a procedure finishes it first. */
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	tether_loop_fd_del(p->srv->loop, p->efd);
	close(p->efd);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	tether_free(p->threads);
	tether_free(p);
}
