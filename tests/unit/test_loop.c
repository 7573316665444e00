/*
 * test_loop.c - the event loop: fd readiness (level and edge), removal
 * from inside callbacks, timer order, cancel and re-arm, deferred
 * callbacks, signals, stop and run_once, allocation failures. Every
 * test runs twice, once per backend (epoll, then poll as the oracle).
 */
#include "tether_test.h"
#include "core/loop_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static enum tether_loop_backend g_backend;

static int
group_epoll(void **state)
{
	(void)state;
	g_backend = TETHER_LOOP_BACKEND_EPOLL;
	return 0;
}

static int
group_poll(void **state)
{
	(void)state;
	g_backend = TETHER_LOOP_BACKEND_POLL;
	return 0;
}

static struct tether_loop *
new_loop(void)
{
	struct tether_loop_config cfg = { g_backend, 0 };
	struct tether_loop *loop = NULL;

	assert_int_equal(tether_loop_new(&loop, &cfg), 0);
	assert_non_null(loop);
	assert_int_equal(tether_loop_backend(loop), g_backend);
	return loop;
}

static uint64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
make_pipe(int p[2])
{
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
}

static void
put_byte(int fd)
{
	assert_int_equal(write(fd, "x", 1), 1);
}

static void
close_pair(int p[2])
{
	close(p[0]);
	close(p[1]);
}

/* What callbacks saw, in order. */
struct log {
	int n;
	int id[4096];
	unsigned ev[4096];
	uint64_t at[4096];
};

static void
log_add(struct log *lg, int id, unsigned ev, uint64_t at)
{
	assert_true(lg->n < (int)TETHER_ARRAY_SIZE(lg->id));
	lg->id[lg->n] = id;
	lg->ev[lg->n] = ev;
	lg->at[lg->n] = at;
	lg->n++;
}

/* ------------------------------------------------------------------ */
/* Creation                                                            */
/* ------------------------------------------------------------------ */

static void
test_new_free(void **state)
{
	struct tether_loop_config cfg = { g_backend, 0 };
	struct tether_loop *loop = NULL;

	(void)state;
	assert_int_equal(tether_loop_new(&loop, NULL), 0);
	assert_int_equal(tether_loop_backend(loop), TETHER_LOOP_BACKEND_EPOLL);
	tether_loop_free(loop);
	tether_loop_free(NULL);

	cfg.backend = TETHER_LOOP_BACKEND_MAX;
	assert_tether_err(tether_loop_new(&loop, &cfg), TETHER_EINVAL);
	assert_null(loop);
	cfg.backend = g_backend;
	cfg.max_fds = TETHER_LOOP_MAX_FDS + 1;
	assert_tether_err(tether_loop_new(&loop, &cfg), TETHER_EINVAL);

	assert_string_equal(tether_loop_backend_name(TETHER_LOOP_BACKEND_EPOLL),
			    "epoll");
	assert_string_equal(tether_loop_backend_name(TETHER_LOOP_BACKEND_POLL),
			    "poll");
	assert_null(tether_loop_backend_name(TETHER_LOOP_BACKEND_MAX));

	/* Nothing registered: run returns at once, run_once(-1) too. */
	loop = new_loop();
	assert_int_equal(tether_loop_run(loop), 0);
	assert_int_equal(tether_loop_run_once(loop, -1), 0);
	{
		uint64_t before = tether_loop_now(loop), after;

		after = tether_loop_update_time(loop);
		assert_true(after >= before);
		assert_int_equal(tether_loop_now(loop), after);
	}
	tether_loop_free(loop);
}

/* ------------------------------------------------------------------ */
/* fd readiness                                                        */
/* ------------------------------------------------------------------ */

static void
on_fd_log(struct tether_loop *loop, int fd, unsigned events, void *ud)
{
	(void)loop;
	log_add(ud, fd, events, 0);
}

static void
test_fd_level(void **state)
{
	struct tether_loop *loop = new_loop();
	struct log lg = { 0 };
	int p[2];
	char c;

	(void)state;
	make_pipe(p);
	assert_int_equal(tether_loop_fd_add(loop, p[0], TETHER_LOOP_READ,
					    on_fd_log, &lg), 0);
	assert_int_equal(tether_loop_run_once(loop, 0), 0);
	assert_int_equal(lg.n, 0);

	put_byte(p[1]);
	put_byte(p[1]);
	assert_int_equal(tether_loop_run_once(loop, 0), 1);
	assert_int_equal(lg.n, 1);
	assert_int_equal(lg.id[0], p[0]);
	assert_int_equal(lg.ev[0], TETHER_LOOP_READ);

	/* Level-triggered: still readable, reported again. */
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(tether_loop_run_once(loop, 0), 1);
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(tether_loop_run_once(loop, 0), 0);
	assert_int_equal(lg.n, 2);

	/* Interest switched off: readable data is not reported. */
	put_byte(p[1]);
	assert_int_equal(tether_loop_fd_mod(loop, p[0], 0), 0);
	assert_int_equal(tether_loop_run_once(loop, 0), 0);
	assert_int_equal(tether_loop_fd_mod(loop, p[0], TETHER_LOOP_READ), 0);
	assert_int_equal(tether_loop_run_once(loop, 0), 1);

	assert_int_equal(tether_loop_fd_del(loop, p[0]), 0);
	assert_int_equal(tether_loop_run_once(loop, 0), 0);
	assert_int_equal(lg.n, 3);
	close_pair(p);
	tether_loop_free(loop);
}

static void
test_fd_write_and_mod(void **state)
{
	struct tether_loop *loop = new_loop();
	struct log lg = { 0 };
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
				    sv), 0);
	assert_int_equal(tether_loop_fd_add(loop, sv[0], TETHER_LOOP_READ |
					    TETHER_LOOP_WRITE, on_fd_log, &lg),
			 0);
	assert_int_equal(tether_loop_run_once(loop, 0), 1);
	assert_int_equal(lg.ev[0], TETHER_LOOP_WRITE);

	/* Both at once, in one callback. */
	put_byte(sv[1]);
	assert_int_equal(tether_loop_run_once(loop, 0), 1);
	assert_int_equal(lg.ev[1], TETHER_LOOP_READ | TETHER_LOOP_WRITE);

	/* Only READ wanted: WRITE readiness is filtered out. */
	assert_int_equal(tether_loop_fd_mod(loop, sv[0], TETHER_LOOP_READ), 0);
	assert_int_equal(tether_loop_run_once(loop, 0), 1);
	assert_int_equal(lg.ev[2], TETHER_LOOP_READ);
	tether_loop_free(loop);	/* fd still registered: forgotten */
	close_pair(sv);
}

static void
test_fd_hup(void **state)
{
	struct tether_loop *loop = new_loop();
	struct log lg = { 0 };
	int p[2];

	(void)state;
	make_pipe(p);
	close(p[1]);
	/* Interest 0 still reports the hang-up. */
	assert_int_equal(tether_loop_fd_add(loop, p[0], 0, on_fd_log, &lg), 0);
	assert_int_equal(tether_loop_run_once(loop, 0), 1);
	assert_true(lg.ev[0] & TETHER_LOOP_HUP);
	assert_false(lg.ev[0] & TETHER_LOOP_READ);
	assert_int_equal(tether_loop_fd_del(loop, p[0]), 0);
	close(p[0]);
	tether_loop_free(loop);
}

static void
test_fd_edge(void **state)
{
	struct tether_loop *loop = new_loop();
	struct log lg = { 0 };
	int p[2], q[2];
	char c;

	(void)state;
	make_pipe(p);
	make_pipe(q);
	if (g_backend == TETHER_LOOP_BACKEND_POLL) {
		/* Refused, not emulated; a failed mod leaves the fd as is. */
		assert_tether_err(tether_loop_fd_add(loop, p[0],
						     TETHER_LOOP_READ |
						     TETHER_LOOP_EDGE,
						     on_fd_log, &lg),
				  TETHER_ENOTSUP);
		assert_tether_err(tether_loop_fd_del(loop, p[0]),
				  TETHER_ENOENT);
		assert_int_equal(tether_loop_fd_add(loop, q[0],
						    TETHER_LOOP_READ,
						    on_fd_log, &lg), 0);
		/* A different interest, so a mask left half-changed
		 * would show: READ must still be reported. */
		assert_tether_err(tether_loop_fd_mod(loop, q[0],
						     TETHER_LOOP_WRITE |
						     TETHER_LOOP_EDGE),
				  TETHER_ENOTSUP);
		put_byte(q[1]);
		assert_int_equal(tether_loop_run_once(loop, 0), 1);
		assert_int_equal(tether_loop_run_once(loop, 0), 1);
		assert_int_equal(lg.n, 2);
		assert_int_equal(lg.ev[1], TETHER_LOOP_READ);
		goto out;
	}
	assert_int_equal(tether_loop_fd_add(loop, p[0],
					    TETHER_LOOP_READ | TETHER_LOOP_EDGE,
					    on_fd_log, &lg), 0);
	put_byte(p[1]);
	put_byte(p[1]);
	assert_int_equal(tether_loop_run_once(loop, 0), 1);
	/* Read only half: edge mode does not report it again... */
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(tether_loop_run_once(loop, 0), 0);
	assert_int_equal(tether_loop_run_once(loop, 0), 0);
	/* ...until new data arrives. */
	put_byte(p[1]);
	assert_int_equal(tether_loop_run_once(loop, 0), 1);
	assert_int_equal(lg.n, 2);

	/* Switching to level mode reports what is still buffered. */
	assert_int_equal(tether_loop_fd_mod(loop, p[0], TETHER_LOOP_READ), 0);
	assert_int_equal(tether_loop_run_once(loop, 0), 1);
	assert_int_equal(tether_loop_run_once(loop, 0), 1);
out:
	close_pair(p);
	close_pair(q);
	tether_loop_free(loop);
}

/* RDHUP: the peer's FIN is reported with READ, in both modes. */
static void
test_fd_rdhup(void **state)
{
	struct tether_loop *loop = new_loop();
	struct log lg = { 0 };
	unsigned edge = g_backend == TETHER_LOOP_BACKEND_EPOLL ?
		TETHER_LOOP_EDGE : 0;
	int sv[2];
	char c;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
				    sv), 0);
	assert_int_equal(tether_loop_fd_add(loop, sv[0], TETHER_LOOP_READ |
					    TETHER_LOOP_RDHUP | edge,
					    on_fd_log, &lg), 0);
	/* Data alone: READ without RDHUP. */
	put_byte(sv[1]);
	assert_int_equal(tether_loop_run_once(loop, 0), 1);
	assert_int_equal(lg.ev[0], TETHER_LOOP_READ);
	assert_int_equal(read(sv[0], &c, 1), 1);
	/* Data then FIN: READ and RDHUP, not HUP (we can still write). */
	put_byte(sv[1]);
	assert_int_equal(shutdown(sv[1], SHUT_WR), 0);
	assert_int_equal(tether_loop_run_once(loop, 0), 1);
	assert_int_equal(lg.ev[1], TETHER_LOOP_READ | TETHER_LOOP_RDHUP);
	assert_int_equal(read(sv[0], &c, 1), 1);
	assert_int_equal(read(sv[0], &c, 1), 0);
	/* Without RDHUP interest the bit is not reported. */
	assert_int_equal(tether_loop_fd_mod(loop, sv[0], TETHER_LOOP_READ),
			 0);
	assert_int_equal(tether_loop_run_once(loop, 0), 1);
	assert_int_equal(lg.ev[2], TETHER_LOOP_READ);
	assert_int_equal(tether_loop_fd_del(loop, sv[0]), 0);
	close_pair(sv);
	tether_loop_free(loop);
}

/* PRI: urgent (out-of-band) TCP data is reported with PRI interest
 * only, in both modes. */
static void
test_fd_pri(void **state)
{
	struct tether_loop *loop = new_loop();
	struct log lg = { 0 };
	unsigned edge = g_backend == TETHER_LOOP_BACKEND_EPOLL ?
		TETHER_LOOP_EDGE : 0;
	int c, s;

	(void)state;
	tether_test_tcp_pair(&s, &c);
	assert_int_equal(tether_loop_fd_add(loop, s, TETHER_LOOP_READ |
					    TETHER_LOOP_PRI | edge,
					    on_fd_log, &lg), 0);
	/* Plain data: READ alone. */
	assert_int_equal(send(c, "a", 1, 0), 1);
	assert_int_equal(tether_loop_run_once(loop, 1000), 1);
	assert_int_equal(lg.ev[0], TETHER_LOOP_READ);
	/* Urgent data: PRI with it. */
	assert_int_equal(send(c, "!", 1, MSG_OOB), 1);
	assert_int_equal(tether_loop_run_once(loop, 1000), 1);
	assert_true(lg.ev[1] & TETHER_LOOP_PRI);
	/* Without PRI interest the bit is not reported. */
	assert_int_equal(tether_loop_fd_mod(loop, s, TETHER_LOOP_READ), 0);
	assert_int_equal(tether_loop_run_once(loop, 1000), 1);
	assert_false(lg.ev[2] & TETHER_LOOP_PRI);
	assert_int_equal(tether_loop_fd_del(loop, s), 0);
	close(s);
	close(c);
	tether_loop_free(loop);
}

/* fd_close: removes a watched fd and closes it; an unwatched one is
 * only closed; a new file with the same number starts clean. */
static void
test_fd_close(void **state)
{
	struct tether_loop *loop = new_loop();
	struct log lg = { 0 };
	int p[2], q[2];

	(void)state;
	make_pipe(p);
	assert_int_equal(tether_loop_fd_add(loop, p[0], TETHER_LOOP_READ,
					    on_fd_log, &lg), 0);
	put_byte(p[1]);
	assert_int_equal(tether_loop_fd_close(loop, p[0]), 0);
	assert_int_equal(fcntl(p[0], F_GETFD), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(tether_loop_run_once(loop, 0), 0);
	assert_int_equal(lg.n, 0);
	assert_tether_err(tether_loop_fd_del(loop, p[0]), TETHER_ENOENT);
	/* The number is free in the loop again. */
	make_pipe(q);
	if (q[0] != p[0]) {
		assert_int_equal(dup2(q[0], p[0]), p[0]);
		close(q[0]);
		q[0] = p[0];
	}
	assert_int_equal(tether_loop_fd_add(loop, q[0], TETHER_LOOP_READ,
					    on_fd_log, &lg), 0);
	assert_int_equal(tether_loop_run_once(loop, 0), 0);
	put_byte(q[1]);
	assert_int_equal(tether_loop_run_once(loop, 0), 1);
	assert_int_equal(tether_loop_fd_close(loop, q[0]), 0);
	/* Not watched: just closed. */
	assert_int_equal(tether_loop_fd_close(loop, p[1]), 0);
	assert_int_equal(fcntl(p[1], F_GETFD), -1);
	assert_int_equal(tether_loop_fd_close(loop, -1), 0);
	close(q[1]);
	tether_loop_free(loop);
}

static void
test_fd_errors(void **state)
{
	struct tether_loop_config cfg = { g_backend, 0 };
	struct tether_loop *loop = NULL;
	struct log lg = { 0 };
	char path[] = "/tmp/test_loop_XXXXXX";
	int p[2], high, file, rc;

	(void)state;
	make_pipe(p);
	/* A table bound just above the pipe's numbers. */
	cfg.max_fds = (unsigned)(p[0] > p[1] ? p[0] : p[1]) + 1;
	assert_int_equal(tether_loop_new(&loop, &cfg), 0);
	assert_tether_err(tether_loop_fd_add(loop, -1, TETHER_LOOP_READ,
					     on_fd_log, &lg), TETHER_EINVAL);
	assert_tether_err(tether_loop_fd_add(loop, p[0], TETHER_LOOP_READ,
					     NULL, &lg), TETHER_EINVAL);
	assert_tether_err(tether_loop_fd_add(loop, p[0], 0x100, on_fd_log,
					     &lg), TETHER_EINVAL);
	assert_tether_err(tether_loop_fd_add(loop, p[0], TETHER_LOOP_HUP,
					     on_fd_log, &lg), TETHER_EINVAL);
	assert_tether_err(tether_loop_fd_mod(loop, p[0], TETHER_LOOP_READ),
			  TETHER_ENOENT);
	assert_tether_err(tether_loop_fd_del(loop, p[0]), TETHER_ENOENT);
	assert_tether_err(tether_loop_fd_del(loop, -5), TETHER_ENOENT);
	assert_tether_err(tether_loop_fd_del(loop, 1 << 20), TETHER_ENOENT);

	assert_int_equal(tether_loop_fd_add(loop, p[0], TETHER_LOOP_READ,
					    on_fd_log, &lg), 0);
	assert_tether_err(tether_loop_fd_add(loop, p[0], TETHER_LOOP_WRITE,
					     on_fd_log, &lg), TETHER_EEXIST);
	assert_tether_err(tether_loop_fd_mod(loop, p[0], 0x100),
			  TETHER_EINVAL);
	assert_int_equal(tether_loop_fd_add(loop, p[1], TETHER_LOOP_WRITE,
					    on_fd_log, &lg), 0);

	/* The table's bound. */
	high = fcntl(p[1], F_DUPFD_CLOEXEC, (int)cfg.max_fds);
	assert_true(high >= (int)cfg.max_fds);
	assert_tether_err(tether_loop_fd_add(loop, high, TETHER_LOOP_WRITE,
					     on_fd_log, &lg), TETHER_ENOSPC);
	close(high);
	tether_loop_free(loop);
	assert_int_equal(lg.n, 0);

	/* epoll refuses regular files; poll takes them (always ready). */
	loop = new_loop();
	file = mkstemp(path);
	assert_true(file >= 0);
	unlink(path);
	rc = tether_loop_fd_add(loop, file, TETHER_LOOP_READ, on_fd_log, &lg);
	if (g_backend == TETHER_LOOP_BACKEND_EPOLL) {
		assert_tether_err(rc, TETHER_EPERM);
		assert_tether_err(tether_loop_fd_del(loop, file),
				  TETHER_ENOENT);
	} else {
		assert_int_equal(rc, 0);
		assert_int_equal(tether_loop_run_once(loop, 0), 1);
		assert_int_equal(tether_loop_fd_del(loop, file), 0);
	}
	close(file);
	tether_loop_free(loop);
	close_pair(p);
}

/* Two readable fds whose callbacks each remove the other. */
struct del_ctx {
	struct tether_loop *loop;
	int fd[2];
	int calls[2];
	int replaced;		/* replace the other fd with a fresh pipe */
	int fresh_calls;
	int fresh_w;
};

static void
on_fresh(struct tether_loop *loop, int fd, unsigned events, void *ud)
{
	struct del_ctx *c = ud;

	(void)loop;
	(void)fd;
	(void)events;
	c->fresh_calls++;
}

static void
on_del_other(struct tether_loop *loop, int fd, unsigned events, void *ud)
{
	struct del_ctx *c = ud;
	int me = fd == c->fd[0] ? 0 : 1, other = 1 - me;

	assert_int_equal(fd, c->fd[me]);
	assert_true(events & TETHER_LOOP_READ);
	c->calls[me]++;
	if (c->calls[me] > 1)
		return;
	assert_int_equal(tether_loop_fd_del(loop, c->fd[other]), 0);
	if (c->replaced >= 0) {
		int q[2];

		/* The other fd's number now names an empty pipe, registered
		 * afresh: its stale event must not reach on_fresh. */
		make_pipe(q);
		assert_int_equal(dup2(q[0], c->fd[other]), c->fd[other]);
		close(q[0]);
		c->fresh_w = q[1];
		assert_int_equal(tether_loop_fd_add(loop, c->fd[other],
						    TETHER_LOOP_READ, on_fresh,
						    c), 0);
		c->replaced = 1;
	}
}

static void
del_case(int replace)
{
	struct tether_loop *loop = new_loop();
	struct del_ctx c = { .loop = loop, .replaced = replace ? 0 : -1,
			     .fresh_w = -1 };
	int a[2], b[2], first;

	make_pipe(a);
	make_pipe(b);
	c.fd[0] = a[0];
	c.fd[1] = b[0];
	put_byte(a[1]);
	put_byte(b[1]);
	assert_int_equal(tether_loop_fd_add(loop, a[0], TETHER_LOOP_READ,
					    on_del_other, &c), 0);
	assert_int_equal(tether_loop_fd_add(loop, b[0], TETHER_LOOP_READ,
					    on_del_other, &c), 0);
	assert_int_equal(tether_loop_run_once(loop, 0), 1);
	assert_int_equal(c.calls[0] + c.calls[1], 1);
	first = c.calls[0] ? 0 : 1;
	assert_int_equal(c.fresh_calls, 0);

	/* The survivor is still level-triggered; the removed one is quiet
	 * (the fresh pipe, if any, is empty). */
	assert_int_equal(tether_loop_run_once(loop, 0), 1);
	assert_int_equal(c.calls[first], 2);
	assert_int_equal(c.calls[1 - first], 0);
	assert_int_equal(c.fresh_calls, 0);
	if (replace) {
		put_byte(c.fresh_w);
		assert_int_equal(tether_loop_run_once(loop, 0), 2);
		assert_int_equal(c.fresh_calls, 1);
		close(c.fresh_w);
	}
	tether_loop_free(loop);
	close_pair(a);
	close_pair(b);
}

static void
test_fd_del_other_in_callback(void **state)
{
	(void)state;
	del_case(0);
}

static void
test_fd_del_and_reuse_number(void **state)
{
	(void)state;
	del_case(1);
}

static void
on_del_self(struct tether_loop *loop, int fd, unsigned events, void *ud)
{
	int *calls = ud;

	(void)events;
	(*calls)++;
	assert_int_equal(tether_loop_fd_del(loop, fd), 0);
	assert_tether_err(tether_loop_fd_del(loop, fd), TETHER_ENOENT);
}

static void
test_fd_del_self(void **state)
{
	struct tether_loop *loop = new_loop();
	int p[2], calls = 0;

	(void)state;
	make_pipe(p);
	put_byte(p[1]);
	assert_int_equal(tether_loop_fd_add(loop, p[0], TETHER_LOOP_READ,
					    on_del_self, &calls), 0);
	/* The loop had only this fd: once removed, run returns. */
	assert_int_equal(tether_loop_run(loop), 0);
	assert_int_equal(calls, 1);
	assert_int_equal(tether_loop_run_once(loop, 0), 0);
	close_pair(p);
	tether_loop_free(loop);
}

/* Many fds, numbers far beyond the initial table: all reported. */
static void
test_fd_many(void **state)
{
	struct tether_loop *loop = new_loop();
	struct log lg = { 0 };
	int p[2], fds[40], i, seen[40] = { 0 };

	(void)state;
	make_pipe(p);
	put_byte(p[1]);
	for (i = 0; i < 40; i++) {
		fds[i] = fcntl(p[0], F_DUPFD_CLOEXEC, 100 + 7 * i);
		assert_true(fds[i] >= 100);
		assert_int_equal(tether_loop_fd_add(loop, fds[i],
						    TETHER_LOOP_READ,
						    on_fd_log, &lg), 0);
	}
	/* Remove every other one, then check who is reported. */
	for (i = 0; i < 40; i += 2)
		assert_int_equal(tether_loop_fd_del(loop, fds[i]), 0);
	assert_int_equal(tether_loop_run_once(loop, 0), 20);
	for (i = 0; i < lg.n; i++) {
		int k;

		for (k = 0; k < 40; k++)
			if (fds[k] == lg.id[i])
				seen[k]++;
	}
	for (i = 0; i < 40; i++)
		assert_int_equal(seen[i], i % 2);
	for (i = 0; i < 40; i++)
		close(fds[i]);
	close_pair(p);
	tether_loop_free(loop);
}

/* More ready fds than one wait collects (TETHER__LOOP_MAX_FIRED): the
 * rest must be served next time, not starved by the ones before them
 * that stay ready. Dups of one readable pipe end keep the fd count low. */
/* n duplicates of fd into fds, each registered level-triggered for
 * reading, logging into lg. */
static void
add_dups(struct tether_loop *loop, int fd, int *fds, int n, struct log *lg)
{
	int i;

	for (i = 0; i < n; i++) {
		fds[i] = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		assert_true(fds[i] >= 0);
		assert_int_equal(tether_loop_fd_add(loop, fds[i],
						    TETHER_LOOP_READ,
						    on_fd_log, lg), 0);
	}
}

static void
test_fd_more_than_one_wait(void **state)
{
	enum { N = TETHER__LOOP_MAX_FIRED + 44 };
	struct tether_loop *loop = new_loop();
	struct log *lg = calloc(1, sizeof(*lg));
	int p[2], fds[N], i, k, seen[N] = { 0 };

	(void)state;
	assert_non_null(lg);
	make_pipe(p);
	put_byte(p[1]);
	add_dups(loop, p[0], fds, N, lg);
	assert_int_equal(tether_loop_run_once(loop, 0),
			 TETHER__LOOP_MAX_FIRED);
	assert_int_equal(tether_loop_run_once(loop, 0),
			 TETHER__LOOP_MAX_FIRED);
	for (i = 0; i < lg->n; i++)
		for (k = 0; k < N; k++)
			if (fds[k] == lg->id[i])
				seen[k]++;
	for (k = 0; k < N; k++)
		assert_true(seen[k] >= 1);
	tether_loop_free(loop);
	for (i = 0; i < N; i++)
		close(fds[i]);
	close_pair(p);
	free(lg);
}

/* ------------------------------------------------------------------ */
/* Timers                                                              */
/* ------------------------------------------------------------------ */

struct tctx {
	struct log *lg;
	int id;
	struct tether_loop_timer *t;
	struct tether_loop_timer *victim;	/* cancel this when fired */
	int action;
	int count;
	int limit;
};

enum {
	ACT_NONE,
	ACT_CANCEL_VICTIM,
	ACT_FREE_VICTIM,
	ACT_CANCEL_SELF_AT_LIMIT,
	ACT_REARM_SELF_0,
	ACT_FREE_SELF,
	ACT_STOP_AT_LIMIT,
	ACT_REARM_VICTIM_LATER,
};

static void
on_timer(struct tether_loop *loop, struct tether_loop_timer *t, void *ud)
{
	struct tctx *c = ud;

	assert_ptr_equal(t, c->t);
	c->count++;
	if (c->lg != NULL)
		log_add(c->lg, c->id, 0, tether_loop_now(loop));
	switch (c->action) {
	case ACT_CANCEL_VICTIM:
		tether_loop_timer_cancel(c->victim);
		assert_false(tether_loop_timer_armed(c->victim));
		break;
	case ACT_FREE_VICTIM:
		tether_loop_timer_free(c->victim);
		c->victim = NULL;
		break;
	case ACT_CANCEL_SELF_AT_LIMIT:
		assert_true(tether_loop_timer_armed(t));	/* repeating */
		if (c->count == c->limit)
			tether_loop_timer_cancel(t);
		break;
	case ACT_REARM_SELF_0:
		assert_false(tether_loop_timer_armed(t));	/* one-shot */
		if (c->count < c->limit)
			assert_int_equal(tether_loop_timer_arm(t, 0, 0), 0);
		break;
	case ACT_FREE_SELF:
		tether_loop_timer_free(t);
		c->t = NULL;
		break;
	case ACT_STOP_AT_LIMIT:
		if (c->count == c->limit)
			tether_loop_stop(loop);
		break;
	case ACT_REARM_VICTIM_LATER:
		assert_int_equal(tether_loop_timer_arm(c->victim, 5, 0), 0);
		break;
	}
}

static void
timer_new(struct tether_loop *loop, struct tctx *c)
{
	assert_int_equal(tether_loop_timer_new(loop, on_timer, c, &c->t), 0);
	assert_false(tether_loop_timer_armed(c->t));
}

static void
test_timer_order_and_fifo(void **state)
{
	static const uint64_t delays[] = { 30, 10, 20, 10, 0, 20, 10, 0 };
	static const int want[] = { 4, 7, 1, 3, 6, 2, 5, 0 };
	struct tether_loop *loop = new_loop();
	struct tctx c[8];
	struct log lg = { 0 };
	uint64_t start;
	size_t i;

	(void)state;
	start = tether_loop_update_time(loop);
	for (i = 0; i < 8; i++) {
		c[i] = (struct tctx){ .lg = &lg, .id = (int)i };
		timer_new(loop, &c[i]);
		assert_int_equal(tether_loop_timer_arm(c[i].t, delays[i], 0),
				 0);
		assert_true(tether_loop_timer_armed(c[i].t));
		assert_int_equal(tether_loop_timer_expiry(c[i].t),
				 start + delays[i]);
		assert_int_equal(tether__loop_timer_check(loop), 0);
	}
	assert_int_equal(tether_loop_run(loop), 0);
	assert_int_equal(lg.n, 8);
	for (i = 0; i < 8; i++) {
		assert_int_equal(lg.id[i], want[i]);
		/* never early */
		assert_true(lg.at[i] >= start + delays[want[i]]);
		assert_false(tether_loop_timer_armed(c[i].t));
	}
	for (i = 0; i < 8; i++)
		tether_loop_timer_free(c[i].t);
	assert_int_equal(tether__loop_timer_check(loop), 0);
	tether_loop_free(loop);
}

static void
test_timer_cancel(void **state)
{
	struct tether_loop *loop = new_loop();
	struct tctx a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 }, e = { 0 };
	struct log lg = { 0 };

	(void)state;
	a = (struct tctx){ .lg = &lg, .id = 1 };
	b = (struct tctx){ .lg = &lg, .id = 2 };
	c = (struct tctx){ .lg = &lg, .id = 3 };
	d = (struct tctx){ .lg = &lg, .id = 4 };
	e = (struct tctx){ .lg = &lg, .id = 5 };
	timer_new(loop, &a);
	timer_new(loop, &b);
	timer_new(loop, &c);
	timer_new(loop, &d);
	timer_new(loop, &e);
	/* a is next to fire: cancel it before running. */
	assert_int_equal(tether_loop_timer_arm(a.t, 1, 0), 0);
	assert_int_equal(tether_loop_timer_arm(b.t, 2, 0), 0);
	assert_int_equal(tether_loop_timer_arm(c.t, 2, 0), 0);
	assert_int_equal(tether_loop_timer_arm(d.t, 2, 0), 0);
	assert_int_equal(tether_loop_timer_arm(e.t, 8, 0), 0);
	tether_loop_timer_cancel(a.t);
	tether_loop_timer_cancel(a.t);	/* twice is fine */
	assert_int_equal(tether__loop_timer_check(loop), 0);
	/* b, c, d are due together: b cancels c, and d frees e, all from
	 * inside the same pass. */
	b.action = ACT_CANCEL_VICTIM;
	b.victim = c.t;
	d.action = ACT_FREE_VICTIM;
	d.victim = e.t;
	assert_int_equal(tether_loop_run(loop), 0);
	assert_int_equal(lg.n, 2);
	assert_int_equal(lg.id[0], 2);
	assert_int_equal(lg.id[1], 4);
	assert_int_equal(a.count + c.count + e.count, 0);
	assert_int_equal(tether__loop_timer_check(loop), 0);

	/* A cancelled timer can be armed again. */
	a.action = ACT_NONE;
	assert_int_equal(tether_loop_timer_arm(a.t, 0, 0), 0);
	assert_int_equal(tether_loop_run(loop), 0);
	assert_int_equal(a.count, 1);
	tether_loop_timer_free(a.t);
	tether_loop_timer_free(b.t);
	tether_loop_timer_free(c.t);
	tether_loop_timer_free(d.t);
	tether_loop_timer_free(NULL);
	tether_loop_free(loop);
}

static void
test_timer_repeat(void **state)
{
	struct tether_loop *loop = new_loop();
	struct log lg = { 0 };
	struct tctx r = { .lg = &lg, .id = 1,
			  .action = ACT_CANCEL_SELF_AT_LIMIT, .limit = 5 };
	struct tctx o = { .lg = &lg, .id = 2 };
	int i;

	(void)state;
	timer_new(loop, &r);
	timer_new(loop, &o);
	assert_int_equal(tether_loop_timer_arm(r.t, 1, 2), 0);
	assert_int_equal(tether_loop_timer_arm(o.t, 4, 0), 0);
	assert_int_equal(tether_loop_run(loop), 0);
	assert_int_equal(r.count, 5);
	assert_int_equal(o.count, 1);
	/* Each period is at least repeat_ms after the previous firing. */
	{
		uint64_t last = 0;

		for (i = 0; i < lg.n; i++) {
			if (lg.id[i] != 1)
				continue;
			if (last != 0)
				assert_true(lg.at[i] >= last + 2);
			last = lg.at[i];
		}
	}
	assert_false(tether_loop_timer_armed(r.t));
	tether_loop_free(loop);	/* frees both timers */
}

static void
test_timer_rearm(void **state)
{
	struct tether_loop *loop = new_loop();
	struct tctx a = { 0 }, b = { 0 }, f = { 0 }, s = { 0 };
	uint64_t t0;

	(void)state;
	timer_new(loop, &a);
	/* Move a far timer close: it fires well before its first expiry. */
	assert_int_equal(tether_loop_timer_arm(a.t, 60000, 0), 0);
	assert_int_equal(tether_loop_timer_arm(a.t, 1, 0), 0);
	assert_int_equal(tether__loop_timer_check(loop), 0);
	t0 = wall_ms();
	assert_int_equal(tether_loop_run(loop), 0);
	assert_int_equal(a.count, 1);
	assert_true(wall_ms() - t0 < 30000);

	/* Re-arming itself with delay 0 from its callback: once per
	 * iteration, never twice in one. */
	b = (struct tctx){ .action = ACT_REARM_SELF_0, .limit = 3 };
	timer_new(loop, &b);
	assert_int_equal(tether_loop_timer_arm(b.t, 0, 0), 0);
	assert_int_equal(tether_loop_run_once(loop, 0), 1);
	assert_int_equal(tether_loop_run_once(loop, 0), 1);
	assert_int_equal(tether_loop_run_once(loop, 0), 1);
	assert_int_equal(tether_loop_run_once(loop, 0), 0);
	assert_int_equal(b.count, 3);

	/* Freeing itself from its callback (repeating timer). */
	f = (struct tctx){ .action = ACT_FREE_SELF };
	timer_new(loop, &f);
	assert_int_equal(tether_loop_timer_arm(f.t, 0, 1), 0);
	assert_int_equal(tether_loop_run(loop), 0);
	assert_int_equal(f.count, 1);
	assert_null(f.t);

	/* One timer pushing another back from inside its callback. */
	s = (struct tctx){ .action = ACT_REARM_VICTIM_LATER, .victim = b.t };
	timer_new(loop, &s);
	b.action = ACT_NONE;
	b.count = 0;
	tether_loop_update_time(loop);
	assert_int_equal(tether_loop_timer_arm(s.t, 0, 0), 0);
	assert_int_equal(tether_loop_timer_arm(b.t, 0, 0), 0);
	assert_int_equal(tether_loop_run_once(loop, 0), 1);	/* s only */
	assert_true(tether_loop_timer_armed(b.t));
	assert_true(tether_loop_timer_expiry(b.t) >= tether_loop_now(loop) + 5);
	assert_int_equal(tether_loop_run(loop), 0);
	assert_int_equal(b.count, 1);

	/* Limits. */
	assert_tether_err(tether_loop_timer_arm(a.t, TETHER_LOOP_MAX_DELAY_MS +
						1, 0), TETHER_ERANGE);
	assert_tether_err(tether_loop_timer_arm(a.t, 0,
						TETHER_LOOP_MAX_DELAY_MS + 1),
			  TETHER_ERANGE);
	assert_false(tether_loop_timer_armed(a.t));
	assert_tether_err(tether_loop_timer_new(loop, NULL, NULL, &f.t),
			  TETHER_EINVAL);
	assert_null(f.t);
	tether_loop_free(loop);
}

/* A reference model: random arms, re-arms, cancels and frees, checked
 * against a sorted list of what must fire and in which order. */
struct rtimer {
	struct tether_loop_timer *t;
	int armed;
	uint64_t expiry;
	uint64_t order;		/* our own arming counter */
	int fired;
};

static struct rtimer *g_rt;
static int *g_fired;
static int g_nfired;

static void
on_rtimer(struct tether_loop *loop, struct tether_loop_timer *t, void *ud)
{
	struct rtimer *r = ud;

	(void)loop;
	assert_ptr_equal(r->t, t);
	r->fired++;
	g_fired[g_nfired++] = (int)(r - g_rt);
}

static int
cmp_rt(const void *a, const void *b)
{
	const struct rtimer *x = &g_rt[*(const int *)a];
	const struct rtimer *y = &g_rt[*(const int *)b];

	if (x->expiry != y->expiry)
		return x->expiry < y->expiry ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void
test_timer_random_vs_reference(void **state)
{
	enum { N = 600, OPS = 3000 };
	struct tether_loop *loop = new_loop();
	struct rtimer *rt = calloc(N, sizeof(*rt));
	int *want = calloc(N, sizeof(*want)), nwant = 0, i;
	uint64_t order = 0, now;
	unsigned seed = 12345;

	(void)state;
	assert_non_null(rt);
	assert_non_null(want);
	g_rt = rt;
	g_fired = calloc(N, sizeof(*g_fired));
	g_nfired = 0;
	assert_non_null(g_fired);
	now = tether_loop_update_time(loop);
	for (i = 0; i < N; i++)
		assert_int_equal(tether_loop_timer_new(loop, on_rtimer, &rt[i],
						       &rt[i].t), 0);
	for (i = 0; i < OPS; i++) {
		struct rtimer *r;
		unsigned op;

		seed = seed * 1103515245u + 12345u;
		r = &rt[(seed >> 8) % N];
		op = (seed >> 20) % 8;
		if (r->t == NULL)
			continue;
		if (op < 5) {
			uint64_t d = (seed >> 4) % 16;

			assert_int_equal(tether_loop_timer_arm(r->t, d, 0), 0);
			r->armed = 1;
			r->expiry = now + d;
			r->order = order++;
		} else if (op < 7) {
			tether_loop_timer_cancel(r->t);
			r->armed = 0;
		} else {
			tether_loop_timer_free(r->t);
			r->t = NULL;
			r->armed = 0;
		}
		assert_int_equal(tether__loop_timer_check(loop), 0);
		if (r->t != NULL)
			assert_int_equal(tether_loop_timer_armed(r->t),
					 r->armed);
	}
	for (i = 0; i < N; i++)
		if (rt[i].armed)
			want[nwant++] = i;
	qsort(want, (size_t)nwant, sizeof(*want), cmp_rt);
	assert_true(nwant > N / 4);

	assert_int_equal(tether_loop_run(loop), 0);
	assert_int_equal(g_nfired, nwant);
	for (i = 0; i < nwant; i++)
		assert_int_equal(g_fired[i], want[i]);
	for (i = 0; i < N; i++)
		assert_int_equal(rt[i].fired, rt[i].armed);
	tether_loop_free(loop);
	free(g_fired);
	free(want);
	free(rt);
}

/* ------------------------------------------------------------------ */
/* Deferred callbacks                                                  */
/* ------------------------------------------------------------------ */

struct dctx {
	struct log *lg;
	int id;
	int requeue;		/* re-queue itself this many times */
	struct dctx *then;	/* queue this one when run */
	int quiet;		/* count runs, do not log them */
	int runs;
};

static void
on_defer(struct tether_loop *loop, void *ud)
{
	struct dctx *d = ud;

	d->runs++;
	if (!d->quiet)
		log_add(d->lg, d->id, 0, 0);
	if (d->then != NULL)
		assert_int_equal(tether_loop_defer(loop, on_defer, d->then), 0);
	if (d->requeue > 0) {
		d->requeue--;
		assert_int_equal(tether_loop_defer(loop, on_defer, d), 0);
	}
}

static void
on_fd_defer(struct tether_loop *loop, int fd, unsigned events, void *ud)
{
	char c;

	(void)events;
	assert_int_equal(read(fd, &c, 1), 1);
	assert_int_equal(tether_loop_defer(loop, on_defer, ud), 0);
}

static void
test_defer_order(void **state)
{
	struct tether_loop *loop = new_loop();
	struct log lg = { 0 };
	struct dctx d[5];
	int i, p[2];

	(void)state;
	for (i = 0; i < 5; i++)
		d[i] = (struct dctx){ .lg = &lg, .id = i };
	/* d[0] queues two more (d[3], then itself): more than one, so a
	 * queue that reused the array being run would overwrite d[1]. */
	d[0].then = &d[3];
	d[0].requeue = 1;
	assert_tether_err(tether_loop_defer(loop, NULL, NULL), TETHER_EINVAL);
	assert_int_equal(tether_loop_defer(loop, on_defer, &d[0]), 0);
	assert_int_equal(tether_loop_defer(loop, on_defer, &d[1]), 0);
	assert_int_equal(tether_loop_defer(loop, on_defer, &d[2]), 0);
	/* Queued from a deferred callback: waits for the next iteration;
	 * run_once(-1) does not block while callbacks are queued. */
	assert_int_equal(tether_loop_run_once(loop, -1), 3);
	assert_int_equal(lg.n, 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(lg.id[i], i);
	d[0].then = NULL;
	assert_int_equal(tether_loop_run_once(loop, -1), 2);
	assert_int_equal(lg.n, 5);
	assert_int_equal(lg.id[3], 3);
	assert_int_equal(lg.id[4], 0);
	assert_int_equal(tether_loop_run_once(loop, 0), 0);
	lg.n = 4;

	/* Queued from an fd callback: runs at the end of that iteration. */
	make_pipe(p);
	assert_int_equal(tether_loop_fd_add(loop, p[0], TETHER_LOOP_READ,
					    on_fd_defer, &d[4]), 0);
	put_byte(p[1]);
	assert_int_equal(tether_loop_run_once(loop, 1000), 2);
	assert_int_equal(lg.id[4], 4);
	assert_int_equal(tether_loop_fd_del(loop, p[0]), 0);
	close_pair(p);

	/* Many, to grow the queue: FIFO throughout. */
	lg.n = 0;
	for (i = 0; i < 100; i++) {
		d[i % 5].then = NULL;
		assert_int_equal(tether_loop_defer(loop, on_defer, &d[i % 5]),
				 0);
	}
	assert_int_equal(tether_loop_run_once(loop, 0), 100);
	for (i = 0; i < 100; i++)
		assert_int_equal(lg.id[i], i % 5);
	tether_loop_free(loop);
}

static void
test_defer_no_starvation(void **state)
{
	struct tether_loop *loop = new_loop();
	struct log lg = { 0 };
	/* Quiet: a fast machine runs it more often in the timer's 2 ms
	 * than the log has room for (4096 in CI on 2026-12-07). */
	struct dctx d = { .lg = &lg, .id = 1, .requeue = 1000000, .quiet = 1 };
	struct tctx stopper = { .action = ACT_STOP_AT_LIMIT, .limit = 1 };

	(void)state;
	/* A deferred callback that re-queues itself forever must not keep
	 * the timer from firing and stopping the loop. */
	timer_new(loop, &stopper);
	assert_int_equal(tether_loop_timer_arm(stopper.t, 2, 0), 0);
	assert_int_equal(tether_loop_defer(loop, on_defer, &d), 0);
	assert_int_equal(tether_loop_run(loop), 0);
	assert_int_equal(stopper.count, 1);
	assert_true(d.runs >= 1);
	assert_int_equal(lg.n, 0);
	assert_true(d.requeue > 0);
	/* Still queued when the loop is freed: dropped, not run. */
	tether_loop_free(loop);
}

/* ------------------------------------------------------------------ */
/* Waiter (tether_loop_set_waiter)                                     */
/* ------------------------------------------------------------------ */

struct wctx {
	int calls;
	int sleeps;		/* calls that were allowed to sleep */
	int last_timeout;
};

/* A model waiter: what tether-lb's ring does, with poll(2) on the
 * backend fd instead of a multishot poll. */
static void
model_waiter(struct tether_loop *loop, int timeout_ms, void *ud)
{
	struct wctx *w = ud;
	struct pollfd pfd;

	w->calls++;
	if (timeout_ms != 0)
		w->sleeps++;
	w->last_timeout = timeout_ms;
	pfd.fd = tether_loop_backend_fd(loop);
	pfd.events = POLLIN;
	assert_true(pfd.fd >= 0);
	(void)poll(&pfd, 1, timeout_ms);
}

static void
on_timer_count(struct tether_loop *loop, struct tether_loop_timer *t,
	       void *ud)
{
	(void)loop;
	(void)t;
	(*(int *)ud)++;
}

static void
test_waiter(void **state)
{
	enum { N = TETHER__LOOP_MAX_FIRED + 10 };
	struct tether_loop *loop = new_loop();
	struct log *lg = calloc(1, sizeof(*lg));
	struct tether_loop_timer *t;
	struct wctx w = { 0, 0, 0 };
	struct dctx d = { .lg = lg, .id = 7 };
	struct pollfd pfd;
	int p[2], fds[N], fired = 0, i;
	uint64_t t0;

	(void)state;
	assert_non_null(lg);
	if (g_backend == TETHER_LOOP_BACKEND_POLL) {
		/* No fd to sleep on: a waiter cannot be woken by fds. */
		assert_int_equal(tether_loop_backend_fd(loop), -1);
		tether_loop_free(loop);
		free(lg);
		return;
	}
	/* The backend fd polls readable exactly when an fd is ready. */
	make_pipe(p);
	assert_int_equal(tether_loop_fd_add(loop, p[0], TETHER_LOOP_READ,
					    on_fd_log, lg), 0);
	pfd.fd = tether_loop_backend_fd(loop);
	pfd.events = POLLIN;
	assert_true(pfd.fd >= 0);
	assert_int_equal(poll(&pfd, 1, 0), 0);
	put_byte(p[1]);
	assert_int_equal(poll(&pfd, 1, 1000), 1);

	tether_loop_set_waiter(loop, model_waiter, &w);
	/* Would block (no timeout given): the waiter sleeps, returns as
	 * the fd is ready, and the loop then dispatches it. */
	assert_int_equal(tether_loop_run_once(loop, -1), 1);
	assert_int_equal(w.calls, 1);
	assert_int_equal(w.sleeps, 1);
	assert_int_equal(w.last_timeout, -1);
	assert_int_equal(lg->n, 1);
	assert_int_equal(lg->id[0], p[0]);
	/* Level-triggered and not read: still ready, but epoll does not
	 * wake pollers of its fd for it. The next waiter call must not
	 * sleep, and the fd is reported again. */
	assert_int_equal(tether_loop_run_once(loop, -1), 1);
	assert_int_equal(w.calls, 2);
	assert_int_equal(w.sleeps, 1);
	assert_int_equal(lg->n, 2);
	{
		char c;

		assert_int_equal(read(p[0], &c, 1), 1);
	}
	/* run_once(0): the waiter runs, without sleeping. */
	assert_int_equal(tether_loop_run_once(loop, 0), 0);
	assert_int_equal(w.calls, 3);
	assert_int_equal(w.sleeps, 1);
	assert_int_equal(w.last_timeout, 0);
	/* Something deferred: the loop must not sleep. */
	assert_int_equal(tether_loop_defer(loop, on_defer, &d), 0);
	assert_int_equal(tether_loop_run_once(loop, 1000), 1);
	assert_int_equal(w.sleeps, 1);
	assert_int_equal(w.last_timeout, 0);
	/* A timer bounds the sleep, and fires after it. */
	assert_int_equal(tether_loop_timer_new(loop, on_timer_count, &fired,
					       &t), 0);
	/* The timer counts from the loop's clock, read at its last turn
	 * and behind the wall clock at the arm by as long as the test took
	 * since (under valgrind on a loaded machine it fired less than 25
	 * ms after the arm by the wall clock): 30 ms from that clock. */
	t0 = tether_loop_now(loop);
	assert_int_equal(tether_loop_timer_arm(t, 30, 0), 0);
	while (fired == 0)
		assert_true(tether_loop_run_once(loop, -1) >= 0);
	assert_true(wall_ms() - t0 >= 30);
	assert_true(w.sleeps >= 2);
	assert_true(w.last_timeout > 0 && w.last_timeout <= 30);
	tether_loop_timer_free(t);

	/* A wait that filled its batch may have left events behind: the
	 * next iteration does not sleep, in the waiter or elsewhere. */
	put_byte(p[1]);
	add_dups(loop, p[0], fds, N, lg);
	w.calls = w.sleeps = 0;
	assert_int_equal(tether_loop_run_once(loop, -1),
			 TETHER__LOOP_MAX_FIRED);
	assert_int_equal(w.sleeps, 1);
	assert_true(tether_loop_run_once(loop, -1) > 0);
	assert_int_equal(w.calls, 2);
	assert_int_equal(w.sleeps, 1);
	/* Removed: the loop sleeps in its backend again. */
	tether_loop_set_waiter(loop, NULL, NULL);
	assert_true(tether_loop_run_once(loop, -1) > 0);
	assert_int_equal(w.calls, 2);
	tether_loop_free(loop);
	for (i = 0; i < N; i++)
		close(fds[i]);
	close_pair(p);
	free(lg);
}

/* ------------------------------------------------------------------ */
/* Signals                                                             */
/* ------------------------------------------------------------------ */

static int
sig_blocked(int signo)
{
	sigset_t cur;

	assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &cur), 0);
	return sigismember(&cur, signo);
}

static int
sig_pending(int signo)
{
	sigset_t p;

	assert_int_equal(sigpending(&p), 0);
	return sigismember(&p, signo);
}

struct sctx {
	int calls[_NSIG];
	int del_other;		/* remove this signal's handler when called */
	int stop;		/* stop the loop when called */
	int last;
};

static void
on_signal(struct tether_loop *loop, int signo, void *ud)
{
	struct sctx *s = ud;

	s->calls[signo]++;
	s->last = signo;
	if (s->stop)
		tether_loop_stop(loop);
	if (s->del_other) {
		int other = signo == SIGUSR1 ? SIGUSR2 : SIGUSR1;

		assert_int_equal(tether_loop_signal_del(loop, other), 0);
		s->del_other = 0;
	}
}

static void
test_signal_delivery(void **state)
{
	struct tether_loop *loop = new_loop();
	struct sctx s = { .last = 0 };
	int i;

	(void)state;
	assert_false(sig_blocked(SIGUSR1));
	assert_int_equal(tether_loop_signal_add(loop, SIGUSR1, on_signal, &s),
			 0);
	assert_true(sig_blocked(SIGUSR1));
	assert_tether_err(tether_loop_signal_add(loop, SIGUSR1, on_signal, &s),
			  TETHER_EEXIST);
	assert_int_equal(raise(SIGUSR1), 0);
	/* Bounded wait: at most a few iterations of up to 1 s each. */
	for (i = 0; i < 5 && s.calls[SIGUSR1] == 0; i++)
		assert_true(tether_loop_run_once(loop, 1000) >= 0);
	assert_int_equal(s.calls[SIGUSR1], 1);
	assert_int_equal(tether_loop_run_once(loop, 0), 0);

	/* Again: the signalfd keeps working after the first read. */
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(tether_loop_run_once(loop, 1000), 1);
	assert_int_equal(s.calls[SIGUSR1], 2);

	/* A signal handler alone keeps run() waiting: the signal comes
	 * later, from a child, and the handler stops the loop. */
	{
		pid_t pid;
		int st;

		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct timespec ts = { 0, 50 * 1000 * 1000 };

			nanosleep(&ts, NULL);
			_exit(kill(getppid(), SIGUSR1) == 0 ? 0 : 1);
		}
		s.stop = 1;
		assert_int_equal(tether_loop_run(loop), 0);
		s.stop = 0;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		assert_int_equal(s.calls[SIGUSR1], 3);
	}

	assert_int_equal(tether_loop_signal_del(loop, SIGUSR1), 0);
	assert_false(sig_blocked(SIGUSR1));
	assert_tether_err(tether_loop_signal_del(loop, SIGUSR1),
			  TETHER_ENOENT);
	/* No handler left: run has nothing to wait for. */
	assert_int_equal(tether_loop_run(loop), 0);
	tether_loop_free(loop);
	assert_false(sig_blocked(SIGUSR1));
}

static void
test_signal_mask_restore(void **state)
{
	struct tether_loop *loop = new_loop();
	struct sctx s = { .last = 0 };
	sigset_t two;

	(void)state;
	/* Pending at removal: swallowed, so unblocking does not kill us. */
	assert_int_equal(tether_loop_signal_add(loop, SIGUSR1, on_signal, &s),
			 0);
	assert_int_equal(raise(SIGUSR1), 0);
	assert_true(sig_pending(SIGUSR1));
	assert_int_equal(tether_loop_signal_del(loop, SIGUSR1), 0);
	assert_false(sig_pending(SIGUSR1));
	assert_false(sig_blocked(SIGUSR1));
	assert_int_equal(tether_loop_run_once(loop, 0), 0);
	assert_int_equal(s.calls[SIGUSR1], 0);

	/* Blocked before: stays blocked after. */
	sigemptyset(&two);
	sigaddset(&two, SIGUSR2);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &two, NULL), 0);
	assert_int_equal(tether_loop_signal_add(loop, SIGUSR2, on_signal, &s),
			 0);
	assert_int_equal(tether_loop_signal_del(loop, SIGUSR2), 0);
	assert_true(sig_blocked(SIGUSR2));
	assert_int_equal(pthread_sigmask(SIG_UNBLOCK, &two, NULL), 0);

	/* Freeing the loop restores the mask too. */
	assert_int_equal(tether_loop_signal_add(loop, SIGUSR1, on_signal, &s),
			 0);
	assert_int_equal(tether_loop_signal_add(loop, SIGUSR2, on_signal, &s),
			 0);
	assert_true(sig_blocked(SIGUSR1) && sig_blocked(SIGUSR2));
	assert_int_equal(raise(SIGUSR2), 0);
	tether_loop_free(loop);
	assert_false(sig_blocked(SIGUSR1));
	assert_false(sig_blocked(SIGUSR2));
	assert_false(sig_pending(SIGUSR2));
	assert_int_equal(s.calls[SIGUSR2], 0);
}

static void
test_signal_del_inside_callback(void **state)
{
	struct tether_loop *loop = new_loop();
	struct sctx s = { .last = 0 };
	int first;

	(void)state;
	assert_int_equal(tether_loop_signal_add(loop, SIGUSR1, on_signal, &s),
			 0);
	assert_int_equal(tether_loop_signal_add(loop, SIGUSR2, on_signal, &s),
			 0);
	s.del_other = 1;
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(raise(SIGUSR2), 0);
	/* Both are read in one batch; whichever runs first removes the
	 * other, which then must not run. */
	assert_int_equal(tether_loop_run_once(loop, 1000), 1);
	first = s.last;
	assert_int_equal(s.calls[first], 1);
	assert_int_equal(s.calls[first == SIGUSR1 ? SIGUSR2 : SIGUSR1], 0);
	assert_false(sig_blocked(first == SIGUSR1 ? SIGUSR2 : SIGUSR1));
	assert_int_equal(tether_loop_signal_del(loop, first), 0);
	tether_loop_free(loop);
}

static void
test_signal_errors(void **state)
{
	struct tether_loop *loop = new_loop();
	struct sctx s = { .last = 0 };

	(void)state;
	assert_tether_err(tether_loop_signal_add(loop, 0, on_signal, &s),
			  TETHER_EINVAL);
	assert_tether_err(tether_loop_signal_add(loop, SIGKILL, on_signal, &s),
			  TETHER_EINVAL);
	assert_tether_err(tether_loop_signal_add(loop, SIGSTOP, on_signal, &s),
			  TETHER_EINVAL);
	assert_tether_err(tether_loop_signal_add(loop, 32, on_signal, &s),
			  TETHER_EINVAL);
	assert_tether_err(tether_loop_signal_add(loop, _NSIG, on_signal, &s),
			  TETHER_EINVAL);
	assert_tether_err(tether_loop_signal_add(loop, SIGUSR1, NULL, &s),
			  TETHER_EINVAL);
	assert_tether_err(tether_loop_signal_del(loop, -1), TETHER_EINVAL);
	assert_tether_err(tether_loop_signal_del(loop, SIGUSR1),
			  TETHER_ENOENT);
	/* The loop's own signalfd is not the caller's to touch. */
	assert_int_equal(tether_loop_signal_add(loop, SIGRTMIN, on_signal, &s),
			 0);
	assert_tether_err(tether_loop_fd_del(loop, loop->sigfd), TETHER_EPERM);
	assert_tether_err(tether_loop_fd_mod(loop, loop->sigfd, 0),
			  TETHER_EPERM);
	assert_int_equal(raise(SIGRTMIN), 0);
	assert_int_equal(tether_loop_run_once(loop, 1000), 1);
	assert_int_equal(s.calls[SIGRTMIN], 1);
	tether_loop_free(loop);
	assert_false(sig_blocked(SIGRTMIN));
}

/* ------------------------------------------------------------------ */
/* Stop and run_once                                                   */
/* ------------------------------------------------------------------ */

static void
on_fd_reenter(struct tether_loop *loop, int fd, unsigned events, void *ud)
{
	int *rc = ud;

	(void)fd;
	(void)events;
	rc[0] = tether_loop_run(loop);
	rc[1] = tether_loop_run_once(loop, 0);
	tether_loop_stop(loop);
}

static void
test_stop(void **state)
{
	struct tether_loop *loop = new_loop();
	struct log lg = { 0 };
	struct tctx r = { .action = ACT_STOP_AT_LIMIT, .limit = 3 };
	struct dctx d = { .lg = &lg, .id = 7 };
	int p[2], rc[2] = { 0, 0 };
	uint64_t t0;

	(void)state;
	/* Stop from a repeating timer: run returns after that iteration,
	 * the timer still armed. */
	timer_new(loop, &r);
	assert_int_equal(tether_loop_timer_arm(r.t, 0, 1), 0);
	assert_int_equal(tether_loop_run(loop), 0);
	assert_int_equal(r.count, 3);
	assert_true(tether_loop_timer_armed(r.t));
	/* That stop was consumed: a second run goes on to the limit
	 * again rather than returning after one iteration. */
	r.count = 0;
	assert_int_equal(tether_loop_run(loop), 0);
	assert_int_equal(r.count, 3);
	tether_loop_timer_cancel(r.t);

	/* Stop before run, with an fd that never becomes ready: one
	 * non-blocking iteration. */
	make_pipe(p);
	assert_int_equal(tether_loop_fd_add(loop, p[0], TETHER_LOOP_READ,
					    on_fd_log, &lg), 0);
	tether_loop_stop(loop);
	t0 = wall_ms();
	assert_int_equal(tether_loop_run(loop), 0);
	assert_true(wall_ms() - t0 < 30000);

	/* The stop was consumed: the next run goes on until stopped from
	 * a callback; deferred work of that iteration still runs. Nested
	 * runs are refused. */
	assert_int_equal(tether_loop_fd_mod(loop, p[0], TETHER_LOOP_WRITE), 0);
	assert_int_equal(tether_loop_fd_del(loop, p[0]), 0);
	assert_int_equal(tether_loop_fd_add(loop, p[1], TETHER_LOOP_WRITE,
					    on_fd_reenter, rc), 0);
	assert_int_equal(tether_loop_defer(loop, on_defer, &d), 0);
	assert_int_equal(tether_loop_run(loop), 0);
	assert_tether_err(rc[0], TETHER_EBUSY);
	assert_tether_err(rc[1], TETHER_EBUSY);
	assert_int_equal(lg.n, 1);
	assert_int_equal(lg.id[0], 7);
	close_pair(p);
	tether_loop_free(loop);
}

static void
test_run_once_timeouts(void **state)
{
	struct tether_loop *loop = new_loop();
	struct log lg = { 0 };
	struct tctx t = { 0 };
	int p[2];
	uint64_t before, t0;

	(void)state;
	make_pipe(p);
	assert_int_equal(tether_loop_fd_add(loop, p[0], TETHER_LOOP_READ,
					    on_fd_log, &lg), 0);
	/* Nothing ready: waits the whole timeout (never less), and the
	 * cached clock moves with it. */
	before = tether_loop_now(loop);
	assert_int_equal(tether_loop_run_once(loop, 20), 0);
	assert_true(tether_loop_now(loop) >= before + 19);
	assert_int_equal(tether_loop_run_once(loop, 0), 0);

	/* A timer cuts a long wait short. */
	timer_new(loop, &t);
	tether_loop_update_time(loop);
	assert_int_equal(tether_loop_timer_arm(t.t, 5, 0), 0);
	t0 = wall_ms();
	assert_int_equal(tether_loop_run_once(loop, 20000), 1);
	assert_int_equal(t.count, 1);
	assert_true(wall_ms() - t0 < 15000);
	assert_true(tether_loop_now(loop) >= tether_loop_timer_expiry(t.t));

	/* An fd wakes it too. */
	put_byte(p[1]);
	assert_int_equal(tether_loop_run_once(loop, -1), 1);
	assert_int_equal(lg.n, 1);
	assert_int_equal(tether_loop_fd_del(loop, p[0]), 0);
	close_pair(p);
	tether_loop_free(loop);
}

/* ------------------------------------------------------------------ */
/* Allocation failures                                                 */
/* ------------------------------------------------------------------ */

static void
test_alloc_fail_new(void **state)
{
	struct tether_loop_config cfg = { g_backend, 0 };
	struct tether_loop *loop = NULL;
	unsigned long n;
	int rc;

	(void)state;
	for (n = 1;; n++) {
		tether_alloc_fail_at(n, 0);
		rc = tether_loop_new(&loop, &cfg);
		if (rc == 0)
			break;
		assert_tether_err(rc, TETHER_ENOMEM);
		assert_null(loop);
		assert_true(n < 10);
	}
	tether_alloc_fail_at(0, 0);
	assert_true(n >= 2);	/* the loop and its backend state */
	tether_loop_free(loop);
}

static void
test_alloc_fail_fd_add(void **state)
{
	struct tether_loop *loop = new_loop();
	struct log lg = { 0 };
	int p[2], fds[20], i, failures = 0;

	(void)state;
	make_pipe(p);
	put_byte(p[1]);
	/* Numbers spread out so the table and the pollfd array grow. */
	for (i = 0; i < 20; i++) {
		int rc;

		fds[i] = fcntl(p[0], F_DUPFD_CLOEXEC, 64 + 40 * i);
		assert_true(fds[i] >= 64);
		tether_alloc_fail_at(1, 1);
		rc = tether_loop_fd_add(loop, fds[i], TETHER_LOOP_READ,
					on_fd_log, &lg);
		tether_alloc_fail_at(0, 0);
		if (rc != 0) {
			assert_tether_err(rc, TETHER_ENOMEM);
			failures++;
			assert_tether_err(tether_loop_fd_del(loop, fds[i]),
					  TETHER_ENOENT);
			assert_int_equal(tether_loop_fd_add(loop, fds[i],
							    TETHER_LOOP_READ,
							    on_fd_log, &lg), 0);
		}
	}
	assert_true(failures >= 2);
	/* Every fd registered exactly once and working. */
	assert_int_equal(tether_loop_run_once(loop, 0), 20);
	for (i = 0; i < 20; i++) {
		assert_int_equal(tether_loop_fd_del(loop, fds[i]), 0);
		close(fds[i]);
	}
	assert_int_equal(tether_loop_run_once(loop, 0), 0);
	close_pair(p);
	tether_loop_free(loop);
}

static void
test_alloc_fail_timer_and_defer(void **state)
{
	struct tether_loop *loop = new_loop();
	struct tctx c[40];
	struct log lg = { 0 };
	struct dctx d[40];
	int i, failures = 0;

	(void)state;
	for (i = 0; i < 40; i++) {
		unsigned long n;
		int rc;

		c[i] = (struct tctx){ .lg = &lg, .id = i };
		for (n = 1;; n++) {
			tether_alloc_fail_at(n, 0);
			rc = tether_loop_timer_new(loop, on_timer, &c[i],
						   &c[i].t);
			tether_alloc_fail_at(0, 0);
			if (rc == 0)
				break;
			assert_tether_err(rc, TETHER_ENOMEM);
			assert_null(c[i].t);
			assert_int_equal(tether__loop_timer_check(loop), 0);
			failures++;
		}
		assert_int_equal(tether_loop_timer_arm(c[i].t, 0, 0), 0);
	}
	assert_true(failures >= 40 + 2);	/* every timer, and the heap */

	failures = 0;
	for (i = 0; i < 40; i++) {
		int rc;

		d[i] = (struct dctx){ .lg = &lg, .id = 100 + i };
		tether_alloc_fail_at(1, 0);
		rc = tether_loop_defer(loop, on_defer, &d[i]);
		tether_alloc_fail_at(0, 0);
		if (rc != 0) {
			assert_tether_err(rc, TETHER_ENOMEM);
			failures++;
			assert_int_equal(tether_loop_defer(loop, on_defer,
							   &d[i]), 0);
		}
	}
	assert_true(failures >= 2);
	assert_int_equal(tether_loop_run_once(loop, 0), 80);
	for (i = 0; i < 40; i++) {
		assert_int_equal(lg.id[i], i);		/* timers, FIFO */
		assert_int_equal(lg.id[40 + i], 100 + i);	/* deferred */
	}
	tether_loop_free(loop);
}

static void
test_alloc_fail_signal(void **state)
{
	struct tether_loop *loop = new_loop();
	struct sctx s = { .last = 0 };
	unsigned long n;
	int rc;

	(void)state;
	for (n = 1;; n++) {
		tether_alloc_fail_at(n, 0);
		rc = tether_loop_signal_add(loop, SIGUSR1, on_signal, &s);
		tether_alloc_fail_at(0, 0);
		if (rc == 0)
			break;
		assert_tether_err(rc, TETHER_ENOMEM);
		assert_false(sig_blocked(SIGUSR1));
		assert_true(n < 10);
	}
	assert_true(n >= 2);	/* handler table, fd table */
	assert_true(sig_blocked(SIGUSR1));
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(tether_loop_run_once(loop, 1000), 1);
	assert_int_equal(s.calls[SIGUSR1], 1);
	tether_loop_free(loop);
	assert_false(sig_blocked(SIGUSR1));
}

/* Freed with everything still registered: no callback, no leak. */
static void
on_never_fd(struct tether_loop *loop, int fd, unsigned events, void *ud)
{
	(void)loop;
	(void)fd;
	(void)events;
	(void)ud;
	fail_msg("callback after free");
}

static void
on_never_defer(struct tether_loop *loop, void *ud)
{
	(void)loop;
	(void)ud;
	fail_msg("deferred callback after free");
}

static void
test_free_with_everything(void **state)
{
	struct tether_loop *loop = new_loop();
	struct tctx c[3] = { { 0 } };
	struct sctx s = { .last = 0 };
	int p[2];

	(void)state;
	make_pipe(p);
	put_byte(p[1]);
	assert_int_equal(tether_loop_fd_add(loop, p[0], TETHER_LOOP_READ,
					    on_never_fd, NULL), 0);
	timer_new(loop, &c[0]);
	timer_new(loop, &c[1]);
	timer_new(loop, &c[2]);
	assert_int_equal(tether_loop_timer_arm(c[0].t, 0, 0), 0);
	assert_int_equal(tether_loop_timer_arm(c[1].t, 10, 10), 0);
	assert_int_equal(tether_loop_defer(loop, on_never_defer, NULL), 0);
	assert_int_equal(tether_loop_signal_add(loop, SIGUSR2, on_signal, &s),
			 0);
	tether_loop_free(loop);
	assert_int_equal(c[0].count + c[1].count + c[2].count, 0);
	assert_false(sig_blocked(SIGUSR2));
	close_pair(p);
}

#define LOOP_TESTS                                                      \
	cmocka_unit_test(test_new_free),                                \
	cmocka_unit_test(test_fd_level),                                \
	cmocka_unit_test(test_fd_write_and_mod),                        \
	cmocka_unit_test(test_fd_hup),                                  \
	cmocka_unit_test(test_fd_edge),                                 \
	cmocka_unit_test(test_fd_rdhup),                                \
	cmocka_unit_test(test_fd_pri),                                  \
	cmocka_unit_test(test_fd_close),                                \
	cmocka_unit_test(test_fd_errors),                               \
	cmocka_unit_test(test_fd_del_other_in_callback),                \
	cmocka_unit_test(test_fd_del_and_reuse_number),                 \
	cmocka_unit_test(test_fd_del_self),                             \
	cmocka_unit_test(test_fd_many),                                 \
	cmocka_unit_test(test_fd_more_than_one_wait),                   \
	cmocka_unit_test(test_waiter),                                  \
	cmocka_unit_test(test_timer_order_and_fifo),                    \
	cmocka_unit_test(test_timer_cancel),                            \
	cmocka_unit_test(test_timer_repeat),                            \
	cmocka_unit_test(test_timer_rearm),                             \
	cmocka_unit_test(test_timer_random_vs_reference),               \
	cmocka_unit_test(test_defer_order),                             \
	cmocka_unit_test(test_defer_no_starvation),                     \
	cmocka_unit_test(test_signal_delivery),                         \
	cmocka_unit_test(test_signal_mask_restore),                     \
	cmocka_unit_test(test_signal_del_inside_callback),              \
	cmocka_unit_test(test_signal_errors),                           \
	cmocka_unit_test(test_stop),                                    \
	cmocka_unit_test(test_run_once_timeouts),                       \
	cmocka_unit_test(test_alloc_fail_new),                          \
	cmocka_unit_test(test_alloc_fail_fd_add),                       \
	cmocka_unit_test(test_alloc_fail_timer_and_defer),              \
	cmocka_unit_test(test_alloc_fail_signal),                       \
	cmocka_unit_test(test_free_with_everything)

int
main(void)
{
	const struct CMUnitTest tests[] = { LOOP_TESTS };
	int rc;

	rc = cmocka_run_group_tests_name("loop/epoll", tests, group_epoll,
					 NULL);
	rc += cmocka_run_group_tests_name("loop/poll", tests, group_poll,
					  NULL);
	return rc;
}
