/*
 * daemon.c - what every tether daemon does before its event loop: parse
 * the common command line, hold a locked pidfile, drop root for a named
 * user (optionally in a chroot), and detach. Errors come back as codes
 * plus a message in the caller's buffer; nothing here logs.
 */
#include "tether/core.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static void seterr(char *errbuf, size_t errlen, const char *fmt, ...)
	TETHER_PRINTF(3, 4);

static void
seterr(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errbuf == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Pidfile                                                             */
/* ------------------------------------------------------------------ */

/* Races with another instance starting, or with one removing its file,
 * settle within a few rounds; more means something odd is going on. */
#define PIDFILE_ATTEMPTS 8

struct tether_pidfile {
	int fd;
	char *path;
};

/* The pid a locked pidfile holds, 0 when it holds none (yet). */
static pid_t
pidfile_read(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	char *end;
	long v;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || v <= 0 || v > INT_MAX ||
	    (*end != '\0' && *end != '\n'))
		return 0;
	return (pid_t)v;
}

static int
pidfile_write_fd(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) < 0)
		return tether_err_from_errno(errno);
	if (pwrite(fd, buf, (size_t)n, 0) != n)
		return errno ? tether_err_from_errno(errno) : -TETHER_EIO;
	return 0;
}

int
tether_pidfile_write(struct tether_pidfile *pf)
{
	if (pf == NULL)
		return -TETHER_EINVAL;
	errno = 0;
	return pidfile_write_fd(pf->fd);
}

int
tether_pidfile_open(const char *path, struct tether_pidfile **pfp,
		    pid_t *running, char *errbuf, size_t errlen)
{
	struct tether_pidfile *pf = NULL;
	struct stat st, st2;
	int attempt, fd = -1, rc;

	if (running != NULL)
		*running = 0;
	if (pfp == NULL || path == NULL || path[0] == '\0') {
		seterr(errbuf, errlen, "pidfile: no path given");
		return -TETHER_EINVAL;
	}
	*pfp = NULL;
	for (attempt = 0; attempt < PIDFILE_ATTEMPTS; attempt++) {
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC |
			  O_NOFOLLOW, 0644);
		if (fd < 0 && errno == EEXIST) {
			fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
			if (fd < 0 && errno == ENOENT)
				continue;	/* removed meanwhile: retry */
		}
		if (fd < 0) {
			rc = tether_err_from_errno(errno);
			seterr(errbuf, errlen, "%s: cannot open pidfile: %s",
			       path, strerror(errno));
			goto fail;
		}
		if (fstat(fd, &st) < 0) {
			rc = tether_err_from_errno(errno);
			seterr(errbuf, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (!S_ISREG(st.st_mode)) {
			rc = -TETHER_EINVAL;
			seterr(errbuf, errlen,
			       "%s: pidfile is not a regular file", path);
			goto fail;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			pid_t other;

			if (errno != EWOULDBLOCK) {
				rc = tether_err_from_errno(errno);
				seterr(errbuf, errlen, "%s: cannot lock: %s",
				       path, strerror(errno));
				goto fail;
			}
			other = pidfile_read(fd);
			if (running != NULL)
				*running = other;
			if (other > 0)
				seterr(errbuf, errlen,
				       "%s: already running as pid %ld", path,
				       (long)other);
			else
				seterr(errbuf, errlen,
				       "%s: already locked by another process "
				       "(pid not written yet)", path);
			rc = -TETHER_EBUSY;
			goto fail;
		}
		/*
		 * Locked. If the previous owner unlinked the file between
		 * our open and our lock, we hold a lock on a dead inode
		 * while the path may name a new file: start over.
		 */
		if (stat(path, &st2) == 0 && st2.st_dev == st.st_dev &&
		    st2.st_ino == st.st_ino)
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		rc = -TETHER_EAGAIN;
		seterr(errbuf, errlen, "%s: pidfile keeps changing, giving up",
		       path);
		goto fail;
	}
	errno = 0;
	rc = pidfile_write_fd(fd);
	if (rc < 0) {
		seterr(errbuf, errlen, "%s: cannot write pid: %s", path,
		       tether_strerror(rc));
		goto fail;
	}
	pf = tether_malloc(sizeof(*pf));
	if (pf == NULL || (pf->path = tether_strdup(path)) == NULL) {
		rc = -TETHER_ENOMEM;
		seterr(errbuf, errlen, "%s: out of memory", path);
		/* Our pid is in a file we cannot track: do not leave it. */
		unlink(path);
		goto fail;
	}
	pf->fd = fd;
	*pfp = pf;
	return 0;
fail:
	tether_free(pf);
	if (fd >= 0)
		close(fd);
	return rc;
}

int
tether_pidfile_remove(struct tether_pidfile *pf)
{
	int rc = 0;

	if (pf == NULL)
		return 0;
	/* Unlink while still locked, so no newcomer takes over a file we
	 * are about to delete under it. */
	if (unlink(pf->path) < 0)
		rc = tether_err_from_errno(errno);
	tether_pidfile_close(pf);
	return rc;
}

void
tether_pidfile_close(struct tether_pidfile *pf)
{
	if (pf == NULL)
		return;
	close(pf->fd);
	tether_free(pf->path);
	tether_free(pf);
}

/* ------------------------------------------------------------------ */
/* Privileges                                                          */
/* ------------------------------------------------------------------ */

int
tether_priv_drop(const char *user, const char *dir, char *errbuf,
		 size_t errlen)
{
	char pwbuf[16384];
	struct passwd pw, *res = NULL;
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	int e;

	if (user == NULL || user[0] == '\0') {
		seterr(errbuf, errlen, "no user to switch to");
		return -TETHER_EINVAL;
	}
	if (geteuid() != 0) {
		seterr(errbuf, errlen, "must be root to switch to user %s",
		       user);
		return -TETHER_EPERM;
	}
	e = getpwnam_r(user, &pw, pwbuf, sizeof(pwbuf), &res);
	if (res == NULL) {
		if (e == 0 || e == ENOENT || e == ESRCH) {
			seterr(errbuf, errlen, "no such user: %s", user);
			return -TETHER_ENOENT;
		}
		seterr(errbuf, errlen, "looking up user %s: %s", user,
		       strerror(e));
		return tether_err_from_errno(e);
	}
	if (pw.pw_uid == 0) {
		seterr(errbuf, errlen, "refusing to run as %s: it has uid 0",
		       user);
		return -TETHER_EINVAL;
	}
	/* Groups first: /etc/group is not reachable inside the chroot and
	 * setgroups needs root. */
	if (initgroups(user, pw.pw_gid) < 0) {
		e = errno;
		seterr(errbuf, errlen, "initgroups(%s): %s", user, strerror(e));
		return tether_err_from_errno(e);
	}
	if (dir != NULL) {
		if (chroot(dir) < 0) {
			e = errno;
			seterr(errbuf, errlen, "chroot(%s): %s", dir,
			       strerror(e));
			return tether_err_from_errno(e);
		}
		if (chdir("/") < 0) {
			e = errno;
			seterr(errbuf, errlen, "chdir(/) in %s: %s", dir,
			       strerror(e));
			return tether_err_from_errno(e);
		}
	}
	if (setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid) < 0) {
		e = errno;
		seterr(errbuf, errlen, "setresgid(%ld): %s", (long)pw.pw_gid,
		       strerror(e));
		return tether_err_from_errno(e);
	}
	if (setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid) < 0) {
		e = errno;
		seterr(errbuf, errlen, "setresuid(%ld): %s", (long)pw.pw_uid,
		       strerror(e));
		return tether_err_from_errno(e);
	}
	/* Trust, but verify: no saved id may lead back to root. */
	if (getresuid(&ru, &eu, &su) < 0 || ru != pw.pw_uid ||
	    eu != pw.pw_uid || su != pw.pw_uid ||
	    getresgid(&rg, &eg, &sg) < 0 || rg != pw.pw_gid ||
	    eg != pw.pw_gid || sg != pw.pw_gid) {
		seterr(errbuf, errlen, "user ids of %s did not all change",
		       user);
		return -TETHER_EPERM;
	}
	if (setuid(0) != -1 || (pw.pw_gid != 0 && setgid(0) != -1)) {
		seterr(errbuf, errlen, "could regain root after switching "
		       "to %s", user);
		return -TETHER_EPERM;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Detaching                                                           */
/* ------------------------------------------------------------------ */

int
tether_daemon_std_fds(void)
{
	int fd;

	/* Not close-on-exec: these are the standard descriptors. */
	for (;;) {
		fd = open("/dev/null", O_RDWR);
		if (fd < 0)
			return tether_err_from_errno(errno);
		if (fd > STDERR_FILENO) {
			close(fd);
			return 0;
		}
	}
}

/*
 * A socket pair rather than a pipe: the child's word goes with
 * MSG_NOSIGNAL, so a parent killed meanwhile costs an EPIPE, not a
 * SIGPIPE that would kill the daemon before the caller ignores it. The
 * parent _exits: nothing of the child's (sockets, control path,
 * pidfile) may be cleaned up, nor stdio buffers flushed twice, from
 * there.
 */
/*
 * The parent's wait for the child's word on fd: what read() gave.
 * SIGTERM and SIGINT meanwhile go on to the child, and *forwarded says
 * which. The parent is the one pid its caller knows (an init script, a
 * service manager stopping it, Ctrl-C at a terminal the child has
 * left), and with the signals held (tether_daemon_hold_signals) it
 * would never take them: the start went on and the command exited 0.
 * The child, which holds them too, takes them once its loop runs and
 * stops. Without a signalfd the signals stay held, as before.
 */
static ssize_t
parent_wait(int fd, pid_t child, int *forwarded)
{
	struct signalfd_siginfo si;
	struct pollfd pfd[2];
	sigset_t set;
	ssize_t n;
	char c;
	int sfd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	(void)pthread_sigmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	for (;;) {
		pfd[0].fd = fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = sfd;
		pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, sfd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
			break;
		if (sfd >= 0 && (pfd[1].revents & POLLIN) &&
		    read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			(void)kill(child, (int)si.ssi_signo);
			*forwarded = (int)si.ssi_signo;
		}
		if (pfd[0].revents != 0)
			break;
	}
	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	return n;
}

int
tether_daemon_detach(void)
{
	int sv[2], e, sig = 0;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return tether_err_from_errno(errno);
	pid = fork();
	if (pid < 0) {
		e = errno;
		close(sv[0]);
		close(sv[1]);
		return tether_err_from_errno(e);
	}
	if (pid > 0) {
		close(sv[1]);
		/* A signal passed on: the daemon stops, it does not serve. */
		_exit(parent_wait(sv[0], pid, &sig) == 1 && sig == 0 ? 0 : 1);
	}
	close(sv[0]);
	(void)setsid();		/* cannot fail: the child leads no group */
	/* As daemon(3): hold no mount busy. Staying where we are if "/"
	 * will not have us is no reason to fail the start. */
	if (chdir("/") < 0)
		errno = 0;
	return sv[1];
}

int
tether_daemon_detached(int fd)
{
	int nul, rc = 0;

	if (fd < 0)
		return -TETHER_EINVAL;
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul < 0) {
		rc = tether_err_from_errno(errno);
	} else {
		if (dup2(nul, STDIN_FILENO) < 0 ||
		    dup2(nul, STDOUT_FILENO) < 0 ||
		    dup2(nul, STDERR_FILENO) < 0)
			rc = tether_err_from_errno(errno);
		if (nul > STDERR_FILENO)
			close(nul);
	}
	if (send(fd, "", 1, MSG_NOSIGNAL) != 1 && rc == 0)
		rc = tether_err_from_errno(errno);
	close(fd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The common command line                                             */
/* ------------------------------------------------------------------ */

#define DAEMON_COMMON_OPTS "dhnvVf:"

static void
print_usage(FILE *f, const struct tether_daemon_spec *spec)
{
	fprintf(f, "usage: %s [-dhnVv] [-f file]%s%s\n", spec->name,
		spec->usage != NULL ? " " : "",
		spec->usage != NULL ? spec->usage : "");
}

static void
print_help(const struct tether_daemon_spec *spec)
{
	print_usage(stdout, spec);
	printf("  -d             stay in the foreground, log to stderr\n"
	       "  -f file        configuration file (default: %s)\n"
	       "  -h, --help     show this help and exit\n"
	       "  -n             check the configuration and exit\n"
	       "  -v             more verbose (repeatable)\n"
	       "  -V, --version  show the version and exit\n",
	       spec->default_conf);
	if (spec->help != NULL) {
		size_t n = strlen(spec->help);

		fputs(spec->help, stdout);
		if (n > 0 && spec->help[n - 1] != '\n')
			putchar('\n');
	}
	fflush(stdout);
}

/* A message and the short usage on stderr; the daemon exits with 2. */
static int usage_error(const struct tether_daemon_spec *spec,
		       struct tether_daemon_opts *opts, const char *fmt, ...)
	TETHER_PRINTF(3, 4);

static int
usage_error(const struct tether_daemon_spec *spec,
	    struct tether_daemon_opts *opts, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", spec->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	print_usage(stderr, spec);
	fflush(stderr);
	opts->exit_now = 1;
	opts->exit_status = TETHER_DAEMON_EXIT_USAGE;
	return -TETHER_EINVAL;
}

/* Extra option letters must be plain and not clash with the common set. */
static int
extra_opts_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == ':') {
			if (i == 0)
				return 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9')))
			return 0;
		if (strchr(DAEMON_COMMON_OPTS, ch) != NULL)
			return 0;
	}
	return 1;
}

void
tether_daemon_hold_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	(void)pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int
tether_daemon_abs_path(const char *path, char **out)
{
	char cwd[PATH_MAX];
	size_t cl, pl;
	char *s;

	if (out != NULL)
		*out = NULL;
	if (path == NULL || out == NULL || path[0] == '\0')
		return -TETHER_EINVAL;
	if (path[0] == '/') {
		cwd[0] = '\0';
	} else {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return tether_err_from_errno(errno);
		/* "./lb.conf" is "lb.conf"; "." alone is the directory. */
		while (path[0] == '.' && path[1] == '/') {
			path += 2;
			while (path[0] == '/')
				path++;
		}
	}
	cl = strlen(cwd);
	pl = strlen(path);
	/* The cwd "/" needs no separator of its own. */
	if (cl > 0 && cwd[cl - 1] == '/')
		cl--;
	s = tether_malloc(cl + pl + 2);
	if (s == NULL)
		return -TETHER_ENOMEM;
	memcpy(s, cwd, cl);
	if (cl > 0 || cwd[0] == '/')
		s[cl++] = '/';
	memcpy(s + cl, path, pl + 1);
	*out = s;
	return 0;
}

int
tether_daemon_parse_opts(const struct tether_daemon_spec *spec, int argc,
			 char **argv, struct tether_daemon_opts *opts)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char optstr[128];
	int ch, w, rc;

	if (opts == NULL)
		return -TETHER_EINVAL;
	memset(opts, 0, sizeof(*opts));
	if (spec == NULL || spec->name == NULL || spec->version == NULL ||
	    spec->default_conf == NULL || argc < 1 || argv == NULL ||
	    (spec->extra_opts != NULL &&
	     (spec->extra_fn == NULL || !extra_opts_valid(spec->extra_opts))))
		goto bad_spec;
	/* '+': stop at the first operand; ':': report missing arguments. */
	w = snprintf(optstr, sizeof(optstr), "+:" DAEMON_COMMON_OPTS "%s",
		     spec->extra_opts != NULL ? spec->extra_opts : "");
	if (w < 0 || (size_t)w >= sizeof(optstr))
		goto bad_spec;
	opts->conf_path = spec->default_conf;

	optind = 0;	/* glibc: full re-initialisation */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, optstr, longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			opts->foreground = 1;
			break;
		case 'f':
			opts->conf_path = optarg;
			break;
		case 'h':
			print_help(spec);
			opts->exit_now = 1;
			return 0;
		case 'n':
			opts->check_only = 1;
			break;
		case 'v':
			if (opts->verbose < INT_MAX)
				opts->verbose++;
			break;
		case 'V':
			printf("%s %s\n", spec->name, spec->version);
			fflush(stdout);
			opts->exit_now = 1;
			return 0;
		case ':':
			return usage_error(spec, opts,
					   "option -%c needs an argument",
					   optopt);
		case '?':
			if (optopt != 0 && optind > 0 &&
			    strncmp(argv[optind - 1], "--", 2) != 0)
				return usage_error(spec, opts,
						   "unknown option -%c",
						   optopt);
			return usage_error(spec, opts, "unknown option %s",
					   argv[optind - 1]);
		default:
			rc = spec->extra_fn(ch, optarg, spec->ud);
			if (rc < 0)
				return usage_error(spec, opts, "-%c%s%s: %s",
						   ch, optarg ? " " : "",
						   optarg ? optarg : "",
						   tether_strerror(rc));
			break;
		}
	}
	if (optind < argc)
		return usage_error(spec, opts, "unexpected argument '%s'",
				   argv[optind]);
	return 0;
bad_spec:
	opts->exit_now = 1;
	opts->exit_status = TETHER_DAEMON_EXIT_USAGE;
	return -TETHER_EINVAL;
}
