/*
 * test_log.c - the daemon log set: levels and their runtime change,
 * errno appended and preserved, truncation, the capture sink, the exact
 * stderr line format, the stderr tee beside syslog, and fatal/fatalx
 * exiting 1 (in forked children).
 */
#include "tether_test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define CAP_LINES 16

struct capture {
	int n;
	int level[CAP_LINES];
	char line[CAP_LINES][TETHER_LOG_LINE_MAX];
};

static void
capture_sink(int level, const char *line, void *ud)
{
	struct capture *cap = ud;

	assert_true(cap->n < CAP_LINES);
	cap->level[cap->n] = level;
	snprintf(cap->line[cap->n], sizeof(cap->line[0]), "%s", line);
	cap->n++;
}

static int
setup_capture(void **state)
{
	static struct capture cap;

	memset(&cap, 0, sizeof(cap));
	tether_log_init("test", 1, TETHER_LOG_INFO);
	tether_log_set_sink(capture_sink, &cap);
	*state = &cap;
	return 0;
}

static int
teardown_capture(void **state)
{
	(void)state;
	tether_log_set_sink(NULL, NULL);
	return 0;
}

static void
test_levels(void **state)
{
	struct capture *cap = *state;

	tether_log_info("hello %d", 5);
	tether_log_debug("hidden");
	tether_log_warnx("careful %s", "now");
	assert_int_equal(cap->n, 2);
	assert_string_equal(cap->line[0], "hello 5");
	assert_int_equal(cap->level[0], TETHER_LOG_INFO);
	assert_string_equal(cap->line[1], "careful now");
	assert_int_equal(cap->level[1], TETHER_LOG_WARN);

	/* Runtime change: debug on, then only warnings. */
	tether_log_set_level(TETHER_LOG_DEBUG);
	assert_int_equal(tether_log_get_level(), TETHER_LOG_DEBUG);
	tether_log_debug("shown %s", "now");
	assert_int_equal(cap->n, 3);
	assert_string_equal(cap->line[2], "shown now");
	assert_int_equal(cap->level[2], TETHER_LOG_DEBUG);
	tether_log_set_level(TETHER_LOG_WARN);
	tether_log_info("quiet");
	tether_log_debug("quiet");
	assert_int_equal(cap->n, 3);
	tether_log_warnx("loud");
	assert_int_equal(cap->n, 4);

	/* Clamped, and the names table. */
	tether_log_set_level(99);
	assert_int_equal(tether_log_get_level(), TETHER_LOG_DEBUG);
	tether_log_set_level(-4);
	assert_int_equal(tether_log_get_level(), TETHER_LOG_FATAL);
	tether_log_warnx("dropped at fatal level");
	assert_int_equal(cap->n, 4);
	assert_string_equal(tether_log_level_name(TETHER_LOG_FATAL), "fatal");
	assert_string_equal(tether_log_level_name(TETHER_LOG_WARN), "warn");
	assert_string_equal(tether_log_level_name(TETHER_LOG_INFO), "info");
	assert_string_equal(tether_log_level_name(TETHER_LOG_DEBUG), "debug");
	assert_string_equal(tether_log_level_name(7), "unknown");
	assert_string_equal(tether_log_level_name(-1), "unknown");
}

static void
test_errno(void **state)
{
	struct capture *cap = *state;

	errno = ENOENT;
	tether_log_warn("open %s", "/x");
	assert_int_equal(errno, ENOENT);
	errno = EACCES;
	tether_log_warn(NULL);
	assert_int_equal(errno, EACCES);
	tether_log_warn("%s", "");
	errno = EPIPE;
	tether_log_warnx("no errno");
	tether_log_info("info keeps errno");
	assert_int_equal(errno, EPIPE);
	assert_int_equal(cap->n, 5);
	assert_string_equal(cap->line[0], "open /x: No such file or directory");
	assert_string_equal(cap->line[1], "Permission denied");
	assert_string_equal(cap->line[2], "Permission denied");
	assert_string_equal(cap->line[3], "no errno");
	assert_string_equal(cap->line[4], "info keeps errno");
}

static void my_log(int level, const char *fmt, ...) TETHER_PRINTF(2, 3);

/* A daemon's own wrapper, as tether_log_vlog is meant for. */
static void
my_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tether_log_vlog(level, fmt, ap);
	va_end(ap);
}

static void
test_vlog_and_truncation(void **state)
{
	struct capture *cap = *state;
	static char big[3000];
	size_t n;

	errno = EIO;
	my_log(TETHER_LOG_DEBUG, "hidden %d", 0);
	my_log(TETHER_LOG_WARN, "v%d", 1);
	assert_int_equal(errno, EIO);
	assert_int_equal(cap->n, 1);
	assert_string_equal(cap->line[0], "v1");
	assert_int_equal(cap->level[0], TETHER_LOG_WARN);
	cap->n = 0;

	memset(big, 'x', sizeof(big) - 1);
	tether_log_info("%s", big);
	assert_int_equal(cap->n, 1);
	n = strlen(cap->line[0]);
	assert_int_equal(n, TETHER_LOG_LINE_MAX - 1);
	assert_string_equal(cap->line[0] + n - 3, "...");
	assert_int_equal(cap->line[0][0], 'x');

	/* errno text past a long message is cut, not overflowed. */
	errno = ENOENT;
	tether_log_warn("%.1020s", big);
	assert_int_equal(strlen(cap->line[1]), TETHER_LOG_LINE_MAX - 1);
	assert_string_equal(cap->line[1] + TETHER_LOG_LINE_MAX - 4, "...");
}

/* Run fn in a child whose stderr is a pipe; return its exit status and
 * what it wrote. */
static int
run_child(void (*fn)(void), char *out, size_t size)
{
	int fds[2], status;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		tether_log_set_sink(NULL, NULL);
		fn();
		_exit(42);
	}
	close(fds[1]);
	while (n + 1 < size && (r = read(fds[0], out + n, size - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void
child_stderr_lines(void)
{
	tether_log_init("tprog", 1, TETHER_LOG_INFO);
	tether_log_info("started %d", 1);
	tether_log_debug("not shown");
	errno = ENOENT;
	tether_log_warn("stat");
	tether_log_init("", 1, TETHER_LOG_DEBUG);
	tether_log_debug("bare");
	_exit(0);
}

static void
child_fatal(void)
{
	tether_log_init("tprog", 1, TETHER_LOG_WARN);
	errno = EACCES;
	tether_fatal("open %s", "/etc/x");
}

static void
child_fatalx(void)
{
	/* Fatal lines show even at the quietest level. */
	tether_log_init("tprog", 1, TETHER_LOG_FATAL);
	tether_fatalx("boom %d", 3);
}

static void
child_syslog(void)
{
	/* Not in the foreground: nothing on stderr (lines go to syslog,
	 * which may not even be running here). */
	tether_log_init("tprog", 0, TETHER_LOG_DEBUG);
	tether_log_info("to syslog");
	tether_log_warnx("to syslog");
	tether_log_init("tprog", 1, TETHER_LOG_INFO);
	tether_log_info("back on stderr");
	_exit(0);
}

static void
child_tee(void)
{
	/* In the foreground the tee adds nothing: each line once. */
	tether_log_init("tprog", 1, TETHER_LOG_INFO);
	tether_log_tee_stderr(1);
	tether_log_warnx("once");
	/* To syslog: warnings and fatal lines on stderr as well, only
	 * while the tee is on. */
	tether_log_init("tprog", 0, TETHER_LOG_DEBUG);
	tether_log_info("info stays in syslog");
	errno = ENOENT;
	tether_log_warn("cannot %s", "start");
	tether_log_tee_stderr(0);
	tether_log_warnx("after the tee");
	tether_log_tee_stderr(1);
	tether_fatalx("boom");
}

static void
test_stderr_and_fatal(void **state)
{
	char out[1024];

	(void)state;
	assert_int_equal(run_child(child_stderr_lines, out, sizeof(out)), 0);
	assert_string_equal(out, "tprog: started 1\n"
				 "tprog: stat: No such file or directory\n"
				 "bare\n");
	assert_int_equal(run_child(child_fatal, out, sizeof(out)), 1);
	assert_string_equal(out, "tprog: fatal: open /etc/x: Permission "
				 "denied\n");
	assert_int_equal(run_child(child_fatalx, out, sizeof(out)), 1);
	assert_string_equal(out, "tprog: fatal: boom 3\n");
	assert_int_equal(run_child(child_syslog, out, sizeof(out)), 0);
	assert_string_equal(out, "tprog: back on stderr\n");
	assert_int_equal(run_child(child_tee, out, sizeof(out)), 1);
	assert_string_equal(out, "tprog: once\n"
				 "tprog: cannot start: No such file or "
				 "directory\n"
				 "tprog: fatal: boom\n");
}

/*
 * A write to stderr interrupted by a signal (handler without
 * SA_RESTART) before any byte went out must be retried, not lose the
 * line. The child fills its stderr pipe so the write blocks; the
 * handler tells the parent to start draining only once it has run.
 */
static int eintr_ctl = -1;

static void
eintr_on_alarm(int signo)
{
	ssize_t r;

	(void)signo;
	r = write(eintr_ctl, "a", 1);
	(void)r;
}

static void
eintr_child(int data, int ctl)
{
	static const char fill[4096];
	struct sigaction sa;
	struct itimerval it;

	dup2(data, STDERR_FILENO);
	close(data);
	if (fcntl(STDERR_FILENO, F_SETFL, O_NONBLOCK) < 0)
		_exit(3);
	while (write(STDERR_FILENO, fill, sizeof(fill)) > 0)
		;
	if (fcntl(STDERR_FILENO, F_SETFL, 0) < 0)
		_exit(4);
	eintr_ctl = ctl;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = eintr_on_alarm;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) < 0)
		_exit(5);
	memset(&it, 0, sizeof(it));
	it.it_value.tv_usec = 50000;
	if (setitimer(ITIMER_REAL, &it, NULL) < 0)
		_exit(6);
	tether_log_set_sink(NULL, NULL);
	tether_log_init("tprog", 1, TETHER_LOG_INFO);
	tether_log_info("after the signal");
	_exit(0);
}

static void
test_stderr_restarts_after_eintr(void **state)
{
	static char got[1 << 18];
	const char *want = "tprog: after the signal\n";
	int data[2], ctl[2], status;
	size_t n = 0;
	ssize_t r;
	pid_t pid;
	char c;

	(void)state;
	assert_int_equal(pipe(data), 0);
	assert_int_equal(pipe(ctl), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(data[0]);
		close(ctl[0]);
		eintr_child(data[1], ctl[1]);
	}
	close(data[1]);
	close(ctl[1]);
	/* Drain only after the child's write was interrupted. */
	assert_int_equal(read(ctl[0], &c, 1), 1);
	while (n + 1 < sizeof(got) &&
	       (r = read(data[0], got + n, sizeof(got) - 1 - n)) > 0)
		n += (size_t)r;
	close(data[0]);
	close(ctl[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(n >= strlen(want));
	assert_memory_equal(got + n - strlen(want), want, strlen(want));
}

/* A block of text: one warning per line, the last without a newline
 * too; an empty line stays an (empty) line. */
static void
test_warn_lines(void **state)
{
	struct capture *cap = *state;

	tether_log_warn_lines("f:1:2: error: x\n  bad\n\n   ^\nend");
	assert_int_equal(cap->n, 5);
	assert_string_equal(cap->line[0], "f:1:2: error: x");
	assert_string_equal(cap->line[1], "  bad");
	assert_string_equal(cap->line[2], "");
	assert_string_equal(cap->line[3], "   ^");
	assert_string_equal(cap->line[4], "end");
	assert_int_equal(cap->level[4], TETHER_LOG_WARN);
	tether_log_warn_lines("");
	assert_int_equal(cap->n, 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_levels, setup_capture,
						teardown_capture),
		cmocka_unit_test_setup_teardown(test_errno, setup_capture,
						teardown_capture),
		cmocka_unit_test_setup_teardown(test_vlog_and_truncation,
						setup_capture,
						teardown_capture),
		cmocka_unit_test_setup_teardown(test_warn_lines, setup_capture,
						teardown_capture),
		cmocka_unit_test(test_stderr_and_fatal),
		cmocka_unit_test(test_stderr_restarts_after_eintr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
