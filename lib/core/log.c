/*
 * log.c - the relayd-style log set for tether's daemons: stderr in the
 * foreground, syslog otherwise (warnings on stderr too while a detached
 * daemon starts), a level settable at runtime and a sink hook so tests
 * can capture lines. Libraries never call these.
 */
#include "tether/core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

static char log_progname[64];
static int log_foreground = 1;
static int log_level = TETHER_LOG_INFO;
static tether_log_sink_fn *log_sink;
static void *log_sink_ud;
static int log_tee;

static int
clamp_level(int level)
{
	if (level < TETHER_LOG_FATAL)
		return TETHER_LOG_FATAL;
	if (level > TETHER_LOG_DEBUG)
		return TETHER_LOG_DEBUG;
	return level;
}

void
tether_log_init(const char *progname, int foreground, int level)
{
	if (!log_foreground)
		closelog();
	snprintf(log_progname, sizeof(log_progname), "%s",
		 progname != NULL ? progname : "");
	log_foreground = foreground != 0;
	log_level = clamp_level(level);
	if (!log_foreground)
		openlog(log_progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
tether_log_set_level(int level)
{
	log_level = clamp_level(level);
}

int
tether_log_get_level(void)
{
	return log_level;
}

const char *
tether_log_level_name(int level)
{
	static const char *const names[] = {
		[TETHER_LOG_FATAL] = "fatal",
		[TETHER_LOG_WARN] = "warn",
		[TETHER_LOG_INFO] = "info",
		[TETHER_LOG_DEBUG] = "debug",
	};

	if (level < 0 || (size_t)level >= TETHER_ARRAY_SIZE(names))
		return "unknown";
	return names[level];
}

void
tether_log_set_sink(tether_log_sink_fn *fn, void *ud)
{
	log_sink = fn;
	log_sink_ud = ud;
}

void
tether_log_tee_stderr(int on)
{
	log_tee = on != 0;
}

static int
syslog_priority(int level)
{
	switch (level) {
	case TETHER_LOG_FATAL:
		return LOG_CRIT;
	case TETHER_LOG_WARN:
		return LOG_ERR;
	case TETHER_LOG_INFO:
		return LOG_INFO;
	default:
		return LOG_DEBUG;
	}
}

/*
 * One write() per line in the normal case, but a signal that arrives
 * while stderr is blocked (a full pipe) must not lose the line: retry
 * after EINTR and after a partial write. Other errors are dropped:
 * there is nowhere left to report them. Callers restore errno.
 */
static void
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = write(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		p += r;
		n -= (size_t)r;
	}
}

/* Mark a line that did not fit so nobody mistakes it for the whole. */
static void
mark_truncated(char *line, size_t size)
{
	memcpy(line + size - 4, "...", 4);
}

/* "progname: line\n" in one write. */
static void
emit_stderr(const char *line)
{
	char out[sizeof(log_progname) + 2 + TETHER_LOG_LINE_MAX + 1];
	int len;

	len = snprintf(out, sizeof(out), "%s%s%s\n", log_progname,
		       log_progname[0] != '\0' ? ": " : "", line);
	if (len > 0) {
		size_t m = (size_t)len < sizeof(out) ? (size_t)len
						    : sizeof(out) - 1;

		write_all(STDERR_FILENO, out, m);
	}
}

static void log_emit(int level, const char *prefix, int err, const char *fmt,
		     va_list ap) TETHER_PRINTF(4, 0);

/* Format "prefix fmt[: strerror(err)]" and emit it; err < 0: no errno. */
static void
log_emit(int level, const char *prefix, int err, const char *fmt, va_list ap)
{
	char line[TETHER_LOG_LINE_MAX];
	size_t n = 0, start;
	int w;

	if (level > log_level)
		return;
	line[0] = '\0';
	if (prefix != NULL) {
		w = snprintf(line, sizeof(line), "%s", prefix);
		n = w > 0 ? (size_t)w : 0;
	}
	start = n;
	if (fmt != NULL && n < sizeof(line)) {
		w = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		if (w > 0)
			n += (size_t)w;
	}
	if (err >= 0 && n < sizeof(line)) {
		/* No ": " after an empty message. */
		w = snprintf(line + n, sizeof(line) - n, "%s%s",
			     n == start ? "" : ": ", strerror(err));
		if (w > 0)
			n += (size_t)w;
	}
	if (n >= sizeof(line))
		mark_truncated(line, sizeof(line));

	if (log_sink != NULL) {
		log_sink(level, line, log_sink_ud);
	} else if (log_foreground) {
		emit_stderr(line);
	} else {
		syslog(syslog_priority(level), "%s", line);
		if (log_tee && level <= TETHER_LOG_WARN)
			emit_stderr(line);
	}
}

void
tether_log_vlog(int level, const char *fmt, va_list ap)
{
	int saved = errno;

	log_emit(clamp_level(level), NULL, -1, fmt, ap);
	errno = saved;
}

void
tether_log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit(TETHER_LOG_WARN, NULL, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
tether_log_warnx(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit(TETHER_LOG_WARN, NULL, -1, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
tether_log_warn_lines(const char *text)
{
	while (*text != '\0') {
		const char *nl = strchr(text, '\n');
		int n = nl != NULL ? (int)(nl - text) : (int)strlen(text);

		tether_log_warnx("%.*s", n, text);
		text += n + (nl != NULL);
	}
}

void
tether_log_info(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit(TETHER_LOG_INFO, NULL, -1, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
tether_log_debug(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit(TETHER_LOG_DEBUG, NULL, -1, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
tether_fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit(TETHER_LOG_FATAL, "fatal: ", saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
tether_fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(TETHER_LOG_FATAL, "fatal: ", -1, fmt, ap);
	va_end(ap);
	exit(1);
}
