/*
 * test_ctl.c - the one-shot control endpoint (lib/core/ctl.c): a line
 * (or a request whole by the caller's rule) is answered and the
 * connection closed, an oversized request is refused without reaching
 * the answer function, a silent client is closed at the admin timeout,
 * and connections above the limit are turned away while the others are
 * still served; tether_ctl_set_ud re-points the answers of a connection
 * already open. An empty answer and a busy refusal end like any answer:
 * the client reads the end, not a reset, whatever it sent.
 */
#include "tether_test.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct fix {
	char dir[64];
	char path[128];
	struct tether_addr addr;
	struct tether_loop *loop;
	int calls;
	char last[256];
};

static int
echo_answer(void *ud, char *req, size_t len, struct tether_buf *out)
{
	struct fix *f = ud;

	f->calls++;
	assert_int_equal(strlen(req), len);
	snprintf(f->last, sizeof(f->last), "%s", req);
	if (strcmp(req, "drop") == 0)
		return -TETHER_EINVAL;
	if (strcmp(req, "empty") == 0)
		return 0;
	if (strcmp(req, "big") == 0) {
		int i, err = 0;

		/* 1 MiB: more than a socket buffer holds. */
		for (i = 0; i < 16384 && err >= 0; i++)
			err = tether_buf_printf(out, "line %05d of a long "
						"answer, 64 bytes with its "
						"end.............\n", i);
		return err < 0 ? err : 0;
	}
	return tether_buf_printf(out, "echo: %s\n", req);
}

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_ctl.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "unix:%s/ctl.sock", f->dir);
	assert_int_equal(tether_addr_parse(&f->addr, f->path, -1), 0);
	assert_int_equal(tether_loop_new(&f->loop, NULL), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	tether_loop_free(f->loop);
	tether_test_rm_tree(f->dir);
	free(f);
	return 0;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
client(const struct tether_addr *a)
{
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (const struct sockaddr *)&a->ss, a->len),
			 0);
	return fd;
}

static void
pump(struct fix *f, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;

	while (now_ms() < end)
		assert_true(tether_loop_run_once(f->loop, 5) >= 0);
}

/* Run the loop until fd ends: 0 at end of file, else the errno of the
 * failed read (ECONNRESET: the other side reset it); -1 when it does
 * not end in max_ms. What comes before is in buf (NUL-terminated). */
static int
wait_end(struct fix *f, int fd, char *buf, size_t size, int max_ms)
{
	uint64_t end = now_ms() + (uint64_t)max_ms;
	size_t len = 0;

	buf[0] = '\0';
	while (now_ms() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		assert_true(tether_loop_run_once(f->loop, 5) >= 0);
		if (poll(&p, 1, 0) <= 0)
			continue;
		n = recv(fd, buf + len, size - 1 - len, MSG_DONTWAIT);
		if (n == 0)
			return 0;
		if (n < 0 && errno != EAGAIN)
			return errno;
		if (n > 0) {
			len += (size_t)n;
			buf[len] = '\0';
			assert_true(len < size - 1);
		}
	}
	return -1;
}

/* Run the loop until fd reaches end of file, or a reset (or max_ms
 * pass); what came is in buf. Returns the byte count, -1 when no end
 * came in time. */
static int
read_to_eof(struct fix *f, int fd, char *buf, size_t size, int max_ms)
{
	int rc = wait_end(f, fd, buf, size, max_ms);

	if (rc < 0)
		return -1;
	assert_true(rc == 0 || rc == ECONNRESET);
	return (int)strlen(buf);
}

static void
test_request_answer(void **state)
{
	struct fix *f = *state;
	struct tether_ctl_opts o = { .answer = echo_answer, .ud = f };
	struct tether_ctl_stats st;
	struct tether_ctl *ctl;
	struct stat sb;
	char buf[256], err[256];
	int fd;

	assert_int_equal(tether_ctl_open(&ctl, f->loop, &f->addr, &o, err,
					 sizeof(err)), 0);
	assert_int_equal(stat(f->path + 5, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0660);

	/* The line may come in pieces; CR LF is one end of line. */
	fd = client(&f->addr);
	assert_int_equal(write(fd, "show ", 5), 5);
	pump(f, 20);
	assert_int_equal(f->calls, 0);
	assert_int_equal(write(fd, "things\r\n", 8), 8);
	assert_int_equal(read_to_eof(f, fd, buf, sizeof(buf), 2000), 18);
	assert_string_equal(buf, "echo: show things\n");
	close(fd);

	/* An answer function that fails: closed, nothing sent. */
	fd = client(&f->addr);
	assert_int_equal(write(fd, "drop\n", 5), 5);
	assert_int_equal(read_to_eof(f, fd, buf, sizeof(buf), 2000), 0);
	close(fd);

	/* A client that hangs up early is forgotten. */
	fd = client(&f->addr);
	assert_int_equal(write(fd, "half", 4), 4);
	close(fd);
	pump(f, 30);
	tether_ctl_stats(ctl, &st);
	assert_int_equal(st.accepted, 3);
	assert_int_equal(st.answered, 2);
	assert_int_equal(st.open, 0);
	assert_int_equal(f->calls, 2);
	tether_ctl_close(ctl);
	/* The socket file goes with it. */
	assert_int_equal(stat(f->path + 5, &sb), -1);
}

/* A daemon's reload keeps the socket: a connection opened before
 * tether_ctl_set_ud is answered with the new ud. */
static void
test_set_ud(void **state)
{
	struct fix *f = *state, g = { .calls = 0 };
	struct tether_ctl_opts o = { .answer = echo_answer, .ud = f };
	struct tether_ctl *ctl;
	char buf[256], err[256];
	int fd;

	assert_int_equal(tether_ctl_open(&ctl, f->loop, &f->addr, &o, err,
					 sizeof(err)), 0);
	fd = client(&f->addr);
	assert_int_equal(write(fd, "before ", 7), 7);
	pump(f, 20);
	tether_ctl_set_ud(ctl, &g);
	assert_int_equal(write(fd, "after\n", 6), 6);
	assert_int_equal(read_to_eof(f, fd, buf, sizeof(buf), 2000), 19);
	assert_string_equal(buf, "echo: before after\n");
	close(fd);
	assert_int_equal(f->calls, 0);
	assert_int_equal(g.calls, 1);
	assert_string_equal(g.last, "before after");
	tether_ctl_close(ctl);
}

static void
test_tcp(void **state)
{
	struct fix *f = *state;
	struct tether_ctl_opts o = { .answer = echo_answer, .ud = f };
	struct tether_ctl_stats st;
	struct tether_ctl *ctl;
	struct tether_addr a;
	char buf[256];
	uint64_t t0;
	int fd, held, calls;

	assert_int_equal(tether_addr_parse(&a, "127.0.0.1:0", -1), 0);
	assert_int_equal(tether_ctl_open(&ctl, f->loop, &a, &o, NULL, 0), 0);
	assert_true(tether_addr_port(tether_ctl_addr(ctl)) > 0);
	fd = client(tether_ctl_addr(ctl));
	assert_int_equal(write(fd, "one\ntwo\n", 8), 8);
	/* One request per connection: the rest is ignored. */
	assert_int_equal(read_to_eof(f, fd, buf, sizeof(buf), 2000), 10);
	assert_string_equal(buf, "echo: one\n");
	close(fd);
	/* An empty answer: the end, and bytes the client sends after it
	 * are read and dropped, as after any answer; closed at once, the
	 * socket would answer them with a reset, and the client's next
	 * send would fail. */
	fd = client(tether_ctl_addr(ctl));
	calls = f->calls;
	assert_int_equal(write(fd, "empty\n", 6), 6);
	for (t0 = now_ms(); f->calls == calls && now_ms() < t0 + 2000;)
		assert_true(tether_loop_run_once(f->loop, 5) >= 0);
	assert_int_equal(f->calls, calls + 1);
	assert_int_equal(send(fd, "more", 4, MSG_NOSIGNAL), 4);
	pump(f, 50);
	assert_int_equal(send(fd, "again", 5, MSG_NOSIGNAL), 5);
	assert_int_equal(wait_end(f, fd, buf, sizeof(buf), 2000), 0);
	assert_string_equal(buf, "");
	close(fd);
	pump(f, 30);
	tether_ctl_stats(ctl, &st);
	assert_int_equal(st.open, 0);
	assert_int_equal(st.timeouts, 0);
	tether_ctl_close(ctl);

	/* Turned away (max_conns 1, held): the busy line, then the end
	 * and not a reset, although the request came before the accept. */
	o.max_conns = 1;
	o.busy = "error: busy\n";
	assert_int_equal(tether_ctl_open(&ctl, f->loop, &a, &o, NULL, 0), 0);
	held = client(tether_ctl_addr(ctl));
	pump(f, 30);
	fd = client(tether_ctl_addr(ctl));
	assert_int_equal(write(fd, "x\n", 2), 2);
	assert_int_equal(wait_end(f, fd, buf, sizeof(buf), 2000), 0);
	assert_string_equal(buf, "error: busy\n");
	close(fd);
	close(held);
	tether_ctl_close(ctl);
}

/* A request is whole at an empty line (as an HTTP header). */
static size_t
blank_line(const char *buf, size_t len)
{
	const char *end = strstr(buf, "\n\n");

	(void)len;
	return end == NULL ? 0 : (size_t)(end - buf) + 2;
}

static void
test_complete_fn(void **state)
{
	struct fix *f = *state;
	struct tether_ctl_opts o = {
		.answer = echo_answer,
		.complete = blank_line,
		.ud = f,
	};
	struct tether_ctl *ctl;
	char buf[256];
	int fd;

	assert_int_equal(tether_ctl_open(&ctl, f->loop, &f->addr, &o, NULL, 0),
			 0);
	fd = client(&f->addr);
	assert_int_equal(write(fd, "GET /x\nHost: y\n", 15), 15);
	pump(f, 20);
	/* One line is not a whole request here. */
	assert_int_equal(f->calls, 0);
	assert_int_equal(write(fd, "\n", 1), 1);
	assert_true(read_to_eof(f, fd, buf, sizeof(buf), 2000) > 0);
	/* The whole request, both newlines kept. */
	assert_string_equal(f->last, "GET /x\nHost: y\n\n");
	assert_int_equal(f->calls, 1);
	close(fd);
	tether_ctl_close(ctl);
}

static void
test_oversized(void **state)
{
	struct fix *f = *state;
	struct tether_ctl_opts o = {
		.answer = echo_answer,
		.ud = f,
		.max_request = 16,
		.too_long = "error: too long\n",
	};
	struct tether_ctl_stats st;
	struct tether_ctl *ctl;
	char buf[256];
	int fd;

	assert_int_equal(tether_ctl_open(&ctl, f->loop, &f->addr, &o, NULL, 0),
			 0);
	fd = client(&f->addr);
	assert_int_equal(write(fd, "0123456789abcdefghijklmnop\n", 27), 27);
	assert_true(read_to_eof(f, fd, buf, sizeof(buf), 2000) >= 0);
	assert_string_equal(buf, "error: too long\n");
	close(fd);
	assert_int_equal(f->calls, 0);

	/* Exactly the limit with its newline still passes. */
	fd = client(&f->addr);
	assert_int_equal(write(fd, "0123456789abcde\n", 16), 16);
	assert_true(read_to_eof(f, fd, buf, sizeof(buf), 2000) >= 0);
	assert_string_equal(buf, "echo: 0123456789abcde\n");
	close(fd);
	tether_ctl_stats(ctl, &st);
	assert_int_equal(st.too_long, 1);
	assert_int_equal(f->calls, 1);
	tether_ctl_close(ctl);
}

static void
test_timeout(void **state)
{
	struct fix *f = *state;
	struct tether_ctl_opts o = {
		.answer = echo_answer,
		.ud = f,
		.timeout_ms = 200,
	};
	struct tether_ctl_stats st;
	struct tether_ctl *ctl;
	uint64_t t0;
	char buf[64];
	int fd, n;

	assert_int_equal(tether_ctl_open(&ctl, f->loop, &f->addr, &o, NULL, 0),
			 0);
	t0 = now_ms();
	fd = client(&f->addr);
	/* A partial line does not extend the deadline. */
	assert_int_equal(write(fd, "sh", 2), 2);
	n = read_to_eof(f, fd, buf, sizeof(buf), 5000);
	assert_int_equal(n, 0);
	assert_true(now_ms() - t0 >= 190);
	tether_ctl_stats(ctl, &st);
	assert_int_equal(st.timeouts, 1);
	assert_int_equal(st.open, 0);
	assert_int_equal(f->calls, 0);
	close(fd);
	tether_ctl_close(ctl);
}

/* An answer cut off (the deadline passes while a slow client has not
 * read it all, or the endpoint closes) is reset, once the data sent is
 * read: the client tells it from a whole answer, which ends with a FIN.
 * tetherctl sends a byte after its line for this (AF_UNIX has no reset
 * of its own but for a close with bytes unread); a whole answer, and an
 * empty one, still end with a FIN. */
static void
test_cut_answer(void **state)
{
	struct fix *f = *state;
	struct tether_ctl_opts o = { .answer = echo_answer, .ud = f };
	struct tether_ctl_stats st;
	struct tether_ctl *ctl;
	size_t size = 2u << 20;
	char *buf = malloc(size);
	uint64_t answered;
	int fd, fd2, i;

	assert_non_null(buf);
	assert_int_equal(tether_ctl_open(&ctl, f->loop, &f->addr, &o, NULL, 0),
			 0);
	fd = client(&f->addr);
	assert_int_equal(write(fd, "show\n\n", 6), 6);
	assert_int_equal(wait_end(f, fd, buf, size, 2000), 0);
	assert_string_equal(buf, "echo: show\n");
	close(fd);
	fd = client(&f->addr);
	assert_int_equal(write(fd, "empty\n\n", 7), 7);
	assert_int_equal(wait_end(f, fd, buf, size, 2000), 0);
	assert_string_equal(buf, "");
	close(fd);
	/* A big answer the whole of which is read in time: a FIN. */
	fd = client(&f->addr);
	assert_int_equal(write(fd, "big\n\n", 5), 5);
	assert_int_equal(wait_end(f, fd, buf, size, 2000), 0);
	assert_int_equal(strlen(buf), 16384 * 64);
	close(fd);

	/* The deadline passes with the answer half sent. */
	tether_ctl_set_limits(ctl, 300, 0);
	fd = client(&f->addr);
	assert_int_equal(write(fd, "big\n\n", 5), 5);
	pump(f, 500);
	tether_ctl_stats(ctl, &st);
	assert_int_equal(st.timeouts, 1);
	assert_int_equal(st.open, 0);
	assert_int_equal(wait_end(f, fd, buf, size, 2000), ECONNRESET);
	assert_true(strlen(buf) > 0 && strlen(buf) < 16384 * 64);
	close(fd);

	/* The endpoint closes (a daemon stops) with the answer half sent;
	 * a connection whose answer was all sent still ends with a FIN. */
	fd = client(&f->addr);
	assert_int_equal(write(fd, "big\n\n", 5), 5);
	fd2 = client(&f->addr);
	assert_int_equal(write(fd2, "show\n\n", 6), 6);
	tether_ctl_stats(ctl, &st);
	answered = st.answered;
	for (i = 0; i < 400 && st.answered < answered + 2; i++) {
		pump(f, 5);
		tether_ctl_stats(ctl, &st);
	}
	assert_int_equal(st.answered, answered + 2);
	assert_int_equal(st.open, 2);
	tether_ctl_close(ctl);
	assert_int_equal(wait_end(f, fd, buf, size, 2000), ECONNRESET);
	assert_true(strlen(buf) > 0 && strlen(buf) < 16384 * 64);
	assert_int_equal(wait_end(f, fd2, buf, size, 2000), 0);
	assert_string_equal(buf, "echo: show\n");
	close(fd);
	close(fd2);
	free(buf);
}

/* The socket file removed or replaced: tether_ctl_path_ours says so (a
 * daemon's reload then binds the path again), and closing the old
 * endpoint leaves the new one's file alone. */
static void
test_path_ours(void **state)
{
	struct fix *f = *state;
	struct tether_ctl_opts o = { .answer = echo_answer, .ud = f };
	struct tether_ctl *ctl, *ctl2;
	struct stat sb;
	char buf[64];
	int fd;

	assert_int_equal(tether_ctl_open(&ctl, f->loop, &f->addr, &o, NULL, 0),
			 0);
	assert_int_equal(tether_ctl_path_ours(ctl), 1);
	assert_int_equal(unlink(f->path + 5), 0);
	assert_int_equal(tether_ctl_path_ours(ctl), 0);
	/* A regular file there is not ours either. */
	fd = open(f->path + 5, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(tether_ctl_path_ours(ctl), 0);
	assert_int_equal(unlink(f->path + 5), 0);
	/* Bound again: the new one is reached, the old one is not ours. */
	assert_int_equal(tether_ctl_open(&ctl2, f->loop, &f->addr, &o, NULL,
					 0), 0);
	assert_int_equal(tether_ctl_path_ours(ctl2), 1);
	assert_int_equal(tether_ctl_path_ours(ctl), 0);
	tether_ctl_close(ctl);
	assert_int_equal(stat(f->path + 5, &sb), 0);
	fd = client(&f->addr);
	assert_int_equal(write(fd, "x\n", 2), 2);
	assert_int_equal(read_to_eof(f, fd, buf, sizeof(buf), 2000), 8);
	assert_string_equal(buf, "echo: x\n");
	close(fd);
	tether_ctl_close(ctl2);
	assert_int_equal(stat(f->path + 5, &sb), -1);
}

static void
test_conns_limit(void **state)
{
	struct fix *f = *state;
	struct tether_ctl_opts o = {
		.answer = echo_answer,
		.ud = f,
		.max_conns = 2,
		.busy = "error: busy\n",
	};
	struct tether_ctl_stats st;
	struct tether_ctl *ctl;
	char buf[64];
	int a, b, c;

	assert_int_equal(tether_ctl_open(&ctl, f->loop, &f->addr, &o, NULL, 0),
			 0);
	a = client(&f->addr);
	b = client(&f->addr);
	pump(f, 30);
	tether_ctl_stats(ctl, &st);
	assert_int_equal(st.open, 2);
	c = client(&f->addr);
	assert_int_equal(write(c, "x\n", 2), 2);
	assert_true(read_to_eof(f, c, buf, sizeof(buf), 2000) >= 0);
	assert_string_equal(buf, "error: busy\n");
	close(c);
	assert_int_equal(f->calls, 0);

	/* The two held connections are still served. */
	assert_int_equal(write(b, "b\n", 2), 2);
	assert_true(read_to_eof(f, b, buf, sizeof(buf), 2000) >= 0);
	assert_string_equal(buf, "echo: b\n");
	close(b);
	/* A slot is free again. */
	c = client(&f->addr);
	assert_int_equal(write(c, "c\n", 2), 2);
	assert_true(read_to_eof(f, c, buf, sizeof(buf), 2000) >= 0);
	assert_string_equal(buf, "echo: c\n");
	close(c);
	pump(f, 30);
	tether_ctl_stats(ctl, &st);
	assert_int_equal(st.busy, 1);
	assert_int_equal(st.open, 1);
	close(a);
	tether_ctl_close(ctl);
}

static void
test_open_errors(void **state)
{
	struct fix *f = *state;
	struct tether_ctl_opts o = { .answer = echo_answer, .ud = f };
	struct tether_ctl_opts none = { .answer = NULL };
	struct tether_ctl *ctl, *other;
	char err[256];
	FILE *fp;
	int i, rc, stale;

	assert_tether_err(tether_ctl_open(&ctl, f->loop, &f->addr, &none, err,
					  sizeof(err)), TETHER_EINVAL);
	/* A regular file at the path is not replaced. */
	fp = fopen(f->path + 5, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_tether_err(tether_ctl_open(&ctl, f->loop, &f->addr, &o, err,
					  sizeof(err)), TETHER_EINVAL);
	assert_non_null(strstr(err, "not a socket"));
	assert_int_equal(unlink(f->path + 5), 0);

	/* A socket someone listens on is not replaced; a stale one is. */
	assert_int_equal(tether_ctl_open(&ctl, f->loop, &f->addr, &o, err,
					 sizeof(err)), 0);
	assert_tether_err(tether_ctl_open(&other, f->loop, &f->addr, &o, err,
					  sizeof(err)), TETHER_EBUSY);
	assert_non_null(strstr(err, "in use by a running process"));
	{
		struct stat st;

		assert_int_equal(stat(f->path + 5, &st), 0);
		assert_true(S_ISSOCK(st.st_mode));
	}
	stale = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(stale >= 0);
	tether_ctl_close(ctl);		/* unlinks the path */
	assert_int_equal(bind(stale, (const struct sockaddr *)&f->addr.ss,
			      f->addr.len), 0);
	assert_int_equal(close(stale), 0);	/* a stale socket file */
	assert_int_equal(tether_ctl_open(&ctl, f->loop, &f->addr, &o, err,
					 sizeof(err)), 0);
	tether_ctl_close(ctl);

	/* Allocation failures anywhere: an error, no leak. */
	for (i = 1; i < 10; i++) {
		tether_alloc_fail_at(i, 0);
		rc = tether_ctl_open(&ctl, f->loop, &f->addr, &o, err,
				     sizeof(err));
		tether_alloc_fail_at(0, 0);
		if (rc == 0)
			tether_ctl_close(ctl);
		else
			assert_tether_err(rc, TETHER_ENOMEM);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_request_answer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_set_ud, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tcp, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_complete_fn, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_oversized, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_answer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_path_ours, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_conns_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
