/*
 * tetherctl.c - the control tool of tether's daemons: sends one command
 * line to a daemon's control socket and prints the answer. For
 * tether-lb: show services | show backends [SERVICE] | show persist
 * SERVICE [CLIENT] | drain SERVICE/BACKEND [DURATION] | enable ... |
 * disable ...
 * For tether-portmap (-s its `control` path): show registrations |
 * calls | rejected | forwarding | prune | all.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/tether-lb.sock"
/* A daemon that accepted and then never answers (stopped, wedged) must
 * not hang a script. A healthy one answers in milliseconds, and closes
 * a control connection after its admin timeout (10s by default)
 * anyway. */
#define DEFAULT_TIMEOUT "10"	/* seconds */
#define MAX_TIMEOUT_MS (24 * 3600 * 1000LL)

static void
usage(FILE *f)
{
	fprintf(f, "usage: tetherctl [-s SOCKET] [-t SECONDS] COMMAND "
		"[ARG...]\n"
		"  -s, --socket SOCKET   the daemon's control socket\n"
		"  -t, --timeout SECONDS give up when the whole exchange takes\n"
		"                        longer (default " DEFAULT_TIMEOUT "; "
		"fractions allowed;\n"
		"                        0: wait as long as it takes)\n"
		"  -h, --help            show this help\n"
		"  tether-lb commands:\n"
		"    show services\n"
		"    show backends [SERVICE]\n"
		"    show persist SERVICE [CLIENT]\n"
		"    drain SERVICE/BACKEND [DURATION]\n"
		"    enable SERVICE/BACKEND\n"
		"    disable SERVICE/BACKEND\n"
		"  tether-portmap commands (-s its control socket):\n"
		"    show registrations | calls | rejected | forwarding | prune\n"
		"    show all\n"
		"  SOCKET defaults to " DEFAULT_SOCKET ". Options come before "
		"COMMAND: the\n"
		"  words after it are its own, even those starting with "
		"'-'.\n");
}

/* "10", "0.5": seconds into milliseconds, 0..MAX_TIMEOUT_MS. Returns 0
 * or -1. */
static int
parse_timeout(const char *s, long long *ms)
{
	char *end;
	double v;
	long long m;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || v < 0 ||
	    v * 1000 > (double)MAX_TIMEOUT_MS)
		return -1;
	/* Round up: 0.0001 is not "no timeout". */
	m = (long long)(v * 1000);
	*ms = (double)m < v * 1000 ? m + 1 : m;
	return 0;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* connect and write block too (a full accept queue, a full socket
 * buffer): bound them by what is left of the deadline. Returns 0, or
 * -1 with errno (EAGAIN when nothing is left). */
static int
send_timeout(int fd, long long deadline)
{
	struct timeval tv;
	long long left;

	if (deadline < 0)
		return 0;
	left = deadline - now_ms();
	if (left <= 0) {
		errno = EAGAIN;
		return -1;
	}
	tv.tv_sec = (time_t)(left / 1000);
	tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
	return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Wait until fd is readable or the deadline (-1: none) passes. Returns
 * 1 readable, 0 timed out, -1 with errno. */
static int
wait_readable(int fd, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	long long left;
	int r;

	for (;;) {
		left = deadline < 0 ? -1 : deadline - now_ms();
		if (deadline >= 0 && left <= 0)
			return 0;
		r = poll(&pfd, 1, left < 0 ? -1 : left > INT32_MAX ?
			 INT32_MAX : (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* A failed connect: the kernel says "Connection refused" for a
 * directory or a regular file as for a socket nobody listens on. */
static void
connect_error(const char *path, int err)
{
	struct stat st;

	if (err == ECONNREFUSED && stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			fprintf(stderr, "tetherctl: %s: not a socket (a "
				"directory)\n", path);
		else if (!S_ISSOCK(st.st_mode))
			fprintf(stderr, "tetherctl: %s: not a socket\n", path);
		else
			fprintf(stderr, "tetherctl: %s: %s: no daemon listens "
				"on this socket\n", path, strerror(err));
		return;
	}
	fprintf(stderr, "tetherctl: %s: %s\n", path, strerror(err));
}

/* The answer, kept whole before it is printed: read at the socket's
 * pace, whatever stdout's (a pager that waits for a key would
 * otherwise stop the reading until the daemon's admin timeout cut the
 * answer). The daemons cap theirs at 16 MiB. */
#define MAX_ANSWER	((size_t)64 << 20)

struct answer {
	char *p;
	size_t len, cap;
};

static int
answer_add(struct answer *a, const char *buf, size_t n)
{
	if (n > MAX_ANSWER - a->len)
		return -1;
	if (a->len + n > a->cap) {
		size_t cap = a->cap ? a->cap : 65536;
		char *p;

		while (cap < a->len + n)
			cap *= 2;
		if (cap > MAX_ANSWER)
			cap = MAX_ANSWER;
		p = realloc(a->p, cap);
		if (p == NULL)
			return -1;
		a->p = p;
		a->cap = cap;
	}
	memcpy(a->p + a->len, buf, n);
	a->len += n;
	return 0;
}

/* Print what came; 0, or -1 when stdout failed (a closed pipe). */
static int
answer_print(struct answer *a)
{
	int rc = 0;

	if (a->len > 0 && fwrite(a->p, 1, a->len, stdout) != a->len)
		rc = -1;
	if (fflush(stdout) != 0)
		rc = -1;
	free(a->p);
	a->p = NULL;
	a->len = a->cap = 0;
	return rc;
}

/* answer_print, and a failure of standard output said. */
static int
answer_out(struct answer *a)
{
	if (answer_print(a) == 0)
		return 0;
	fprintf(stderr, "tetherctl: standard output: %s\n", strerror(errno));
	return -1;
}

int
main(int argc, char **argv)
{
	const char *path = DEFAULT_SOCKET;
	struct sockaddr_un sun;
	char line[1024], buf[4096];
	size_t len = 0;
	const char *timeout_arg = DEFAULT_TIMEOUT;
	long long timeout_ms, deadline = -1;
	int fd, i, ch, r, first = 1, status = 0, werr = 0, rerr;
	int is_error = 0;	/* the answer is an "error:" line */
	struct answer ans = { NULL, 0, 0 };
	char last = '\n';	/* the answer's last byte; none: whole */
	ssize_t n;

	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "socket", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};

	/* '+': options end at COMMAND, as the usage shows them. A service
	 * or backend name may start with '-' (tether-lb.conf(5)); with
	 * GNU getopt's permutation "show backends -web" was an unknown
	 * option -w, and such a name could be given only after "--". */
	while ((ch = getopt_long(argc, argv, "+hs:t:", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			path = optarg;
			break;
		case 't':
			timeout_arg = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (parse_timeout(timeout_arg, &timeout_ms) < 0) {
		fprintf(stderr, "tetherctl: timeout: expected seconds "
			"(0..86400), not '%s'\n", timeout_arg);
		return 2;
	}
	if (*path == '\0') {
		fprintf(stderr, "tetherctl: socket: an empty path\n");
		return 2;
	}
	if (optind == argc) {
		usage(stderr);
		return 2;
	}
	for (i = optind; i < argc; i++) {
		int w = snprintf(line + len, sizeof(line) - len, "%s%s",
				 i > optind ? " " : "", argv[i]);

		if (w < 0 || (size_t)w >= sizeof(line) - len - 2) {
			fprintf(stderr, "tetherctl: command too long\n");
			return 2;
		}
		len += (size_t)w;
	}
	/* One byte after the line: a daemon leaves it unread while it
	 * writes the answer, so that ending the connection before the
	 * answer is all sent (its admin timeout, a stop) resets it. Older
	 * daemons read and drop it (one request per connection). */
	line[len++] = '\n';
	line[len++] = '\n';
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "tetherctl: %s: path too long\n", path);
		return 1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (timeout_ms > 0)
		deadline = now_ms() + timeout_ms;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "tetherctl: %s: %s\n", path, strerror(errno));
		return 1;
	}
	/* With SO_SNDTIMEO a connect to a full accept queue or a write to
	 * a full buffer gives up with EAGAIN (EINPROGRESS for connect). */
	if (send_timeout(fd, deadline) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (errno == EAGAIN || errno == EINPROGRESS)
			goto timed_out;
		connect_error(path, errno);
		close(fd);
		return 1;
	}
	/* Not write(): a daemon that refused the connection (too many
	 * control connections) has answered and closed it, and SIGPIPE
	 * would kill us before we read that answer. */
	if (send_timeout(fd, deadline) < 0 ||
	    send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len) {
		if (errno == EAGAIN)
			goto timed_out;
		werr = errno;
		if (werr != EPIPE && werr != ECONNRESET) {
			fprintf(stderr, "tetherctl: %s: %s\n", path,
				strerror(werr));
			close(fd);
			return 1;
		}
	}
	for (;;) {
		r = wait_readable(fd, deadline);
		if (r == 0)
			goto timed_out;
		n = r < 0 ? -1 : read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		first = 0;
		last = buf[n - 1];
		if (answer_add(&ans, buf, (size_t)n) < 0) {
			answer_out(&ans);
			fprintf(stderr, "tetherctl: %s: answer longer than "
				"%zu MiB, or no memory for it\n", path,
				MAX_ANSWER >> 20);
			close(fd);
			return 1;
		}
	}
	rerr = n < 0 ? errno : 0;
	/* The whole answer, not a first read that may be short. */
	if (ans.len >= 6 && memcmp(ans.p, "error:", 6) == 0)
		status = is_error = 1;
	if (answer_out(&ans) < 0)
		status = 1;
	/* A whole answer ends with the daemon's FIN, after a newline (or
	 * is empty). A reset, or a last line without its end, is an answer
	 * cut off: the daemon ended the connection before it was all
	 * written. */
	if (first && (werr != 0 || rerr == ECONNRESET)) {
		/* Closed at once (before our request went, or with it
		 * unread), and nothing said. */
		fprintf(stderr, "tetherctl: %s: the daemon closed the "
			"connection without an answer\n", path);
		status = 1;
	} else if (is_error && last == '\n') {
		/* An error answer is one line: whole, whatever the close
		 * (a refusing daemon may close with our request unread). */
	} else if (rerr == ECONNRESET || (n == 0 && last != '\n')) {
		fprintf(stderr, "tetherctl: %s: incomplete answer: the daemon "
			"closed the connection before the end (its admin "
			"timeout, or it stopped)\n", path);
		status = 1;
	} else if (n < 0) {
		fprintf(stderr, "tetherctl: %s: %s\n", path, strerror(rerr));
		status = 1;
	}
	close(fd);
	return status;
timed_out:
	/* What did come is printed; the caller learns it is not all. */
	answer_out(&ans);
	fprintf(stderr, "tetherctl: %s: timed out: no complete answer within "
		"%ss\n", path, timeout_arg);
	close(fd);
	return 1;
}
