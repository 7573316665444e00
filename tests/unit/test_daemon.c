/*
 * test_daemon.c - the common daemon command line (every option, usage
 * errors with their exact text and exit status, daemon-specific extras),
 * the locked pidfile (second instance refused with the pid, stale file
 * taken over, removal), dropping root, and detaching (the parent's exit
 * status, stdio, descriptors 0-2 filled), in forked children.
 */
#include "tether_test.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Command line                                                        */
/* ------------------------------------------------------------------ */

struct extra {
	const char *sock;
	int count;
};

static int
extra_opt(int opt, const char *arg, void *ud)
{
	struct extra *x = ud;

	x->count++;
	if (opt == 's') {
		if (strcmp(arg, "bad") == 0)
			return -TETHER_EINVAL;
		x->sock = arg;
	}
	return 0;
}

static struct extra extra_state;

static const struct tether_daemon_spec spec_plain = {
	.name = "tether-test",
	.version = "1.2.3",
	.default_conf = "/etc/tether/test.conf",
};

static const struct tether_daemon_spec spec_extra = {
	.name = "tether-test",
	.version = "1.2.3",
	.default_conf = "/etc/tether/test.conf",
	.usage = "[-s socket] [-x]",
	.help = "  -s socket      control socket\n  -x             extra",
	.extra_opts = "s:x",
	.extra_fn = extra_opt,
	.ud = &extra_state,
};

/* Read back what went to fd, and restore it. */
static void
capture_end(int fd, int saved, FILE *tmp, char *out, size_t size)
{
	size_t n;

	fflush(fd == STDOUT_FILENO ? stdout : stderr);
	dup2(saved, fd);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, size - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
}

/* Parse argv (NULL-terminated) capturing stdout and stderr. */
static int
parse(const struct tether_daemon_spec *spec, char **argv,
      struct tether_daemon_opts *o, char *out, char *err, size_t size)
{
	FILE *to = tmpfile(), *te = tmpfile();
	int so, se, argc = 0, rc;

	assert_non_null(to);
	assert_non_null(te);
	while (argv[argc] != NULL)
		argc++;
	fflush(stdout);
	fflush(stderr);
	so = dup(STDOUT_FILENO);
	se = dup(STDERR_FILENO);
	dup2(fileno(to), STDOUT_FILENO);
	dup2(fileno(te), STDERR_FILENO);
	rc = tether_daemon_parse_opts(spec, argc, argv, o);
	capture_end(STDOUT_FILENO, so, to, out, size);
	capture_end(STDERR_FILENO, se, te, err, size);
	return rc;
}

#define ARGV(...) ((char *[]){ "tether-test", __VA_ARGS__, NULL })

static void
test_opts_defaults_and_common(void **state)
{
	struct tether_daemon_opts o;
	char out[2048], err[2048];

	(void)state;
	assert_int_equal(parse(&spec_plain, (char *[]){ "tether-test", NULL },
			       &o, out, err, sizeof(out)), 0);
	assert_string_equal(o.conf_path, "/etc/tether/test.conf");
	assert_int_equal(o.foreground, 0);
	assert_int_equal(o.check_only, 0);
	assert_int_equal(o.verbose, 0);
	assert_int_equal(o.exit_now, 0);
	assert_string_equal(out, "");
	assert_string_equal(err, "");

	assert_int_equal(parse(&spec_plain,
			       ARGV("-d", "-v", "-f", "/x.conf", "-n", "-v"),
			       &o, out, err, sizeof(out)), 0);
	assert_string_equal(o.conf_path, "/x.conf");
	assert_int_equal(o.foreground, 1);
	assert_int_equal(o.check_only, 1);
	assert_int_equal(o.verbose, 2);
	assert_int_equal(o.exit_now, 0);

	/* Clustered, attached argument, repeated -v, then "--". */
	assert_int_equal(parse(&spec_plain, ARGV("-dvvvf/y.conf", "--"), &o,
			       out, err, sizeof(out)), 0);
	assert_string_equal(o.conf_path, "/y.conf");
	assert_int_equal(o.foreground, 1);
	assert_int_equal(o.verbose, 3);
	assert_string_equal(err, "");
}

static void
test_opts_help_version(void **state)
{
	struct tether_daemon_opts o;
	char out[2048], err[2048];

	(void)state;
	assert_int_equal(parse(&spec_plain, ARGV("-V"), &o, out, err,
			       sizeof(out)), 0);
	assert_true(o.exit_now);
	assert_int_equal(o.exit_status, 0);
	assert_string_equal(out, "tether-test 1.2.3\n");
	assert_string_equal(err, "");
	assert_int_equal(parse(&spec_plain, ARGV("--version"), &o, out, err,
			       sizeof(out)), 0);
	assert_string_equal(out, "tether-test 1.2.3\n");

	assert_int_equal(parse(&spec_plain, ARGV("-d", "--help"), &o, out,
			       err, sizeof(out)), 0);
	assert_true(o.exit_now);
	assert_int_equal(o.exit_status, 0);
	assert_string_equal(out,
		"usage: tether-test [-dhnVv] [-f file]\n"
		"  -d             stay in the foreground, log to stderr\n"
		"  -f file        configuration file (default: "
		"/etc/tether/test.conf)\n"
		"  -h, --help     show this help and exit\n"
		"  -n             check the configuration and exit\n"
		"  -v             more verbose (repeatable)\n"
		"  -V, --version  show the version and exit\n");
	assert_string_equal(err, "");

	assert_int_equal(parse(&spec_extra, ARGV("-h"), &o, out, err,
			       sizeof(out)), 0);
	assert_non_null(strstr(out, "usage: tether-test [-dhnVv] [-f file] "
				    "[-s socket] [-x]\n"));
	assert_non_null(strstr(out, "  -s socket      control socket\n"
				    "  -x             extra\n"));
}

static void
test_opts_usage_errors(void **state)
{
	struct tether_daemon_opts o;
	char out[2048], err[2048];

	(void)state;
	assert_tether_err(parse(&spec_plain, ARGV("-d", "-q"), &o, out, err,
				sizeof(out)), TETHER_EINVAL);
	assert_true(o.exit_now);
	assert_int_equal(o.exit_status, 2);
	assert_int_equal(o.exit_status, TETHER_DAEMON_EXIT_USAGE);
	assert_string_equal(out, "");
	assert_string_equal(err, "tether-test: unknown option -q\n"
				 "usage: tether-test [-dhnVv] [-f file]\n");

	assert_tether_err(parse(&spec_plain, ARGV("-f"), &o, out, err,
				sizeof(out)), TETHER_EINVAL);
	assert_int_equal(o.exit_status, 2);
	assert_string_equal(err, "tether-test: option -f needs an argument\n"
				 "usage: tether-test [-dhnVv] [-f file]\n");

	assert_tether_err(parse(&spec_plain, ARGV("--bogus"), &o, out, err,
				sizeof(out)), TETHER_EINVAL);
	assert_string_equal(err, "tether-test: unknown option --bogus\n"
				 "usage: tether-test [-dhnVv] [-f file]\n");

	assert_tether_err(parse(&spec_plain, ARGV("-d", "extra"), &o, out,
				err, sizeof(out)), TETHER_EINVAL);
	assert_int_equal(o.exit_status, 2);
	assert_string_equal(err, "tether-test: unexpected argument 'extra'\n"
				 "usage: tether-test [-dhnVv] [-f file]\n");

	/* Options stop at the first operand: "-d" after it is one too. */
	assert_tether_err(parse(&spec_plain, ARGV("op", "-d"), &o, out, err,
				sizeof(out)), TETHER_EINVAL);
	assert_int_equal(o.foreground, 0);

	/* A daemon's own letter is unknown to another daemon. */
	assert_tether_err(parse(&spec_plain, ARGV("-s", "x"), &o, out, err,
				sizeof(out)), TETHER_EINVAL);
}

static void
test_opts_extra(void **state)
{
	struct tether_daemon_opts o;
	char out[2048], err[2048];

	(void)state;
	memset(&extra_state, 0, sizeof(extra_state));
	assert_int_equal(parse(&spec_extra,
			       ARGV("-s", "/run/t.sock", "-x", "-d"), &o, out,
			       err, sizeof(out)), 0);
	assert_string_equal(extra_state.sock, "/run/t.sock");
	assert_int_equal(extra_state.count, 2);
	assert_int_equal(o.foreground, 1);
	assert_int_equal(o.exit_now, 0);

	assert_tether_err(parse(&spec_extra, ARGV("-s", "bad"), &o, out, err,
				sizeof(out)), TETHER_EINVAL);
	assert_int_equal(o.exit_status, 2);
	assert_string_equal(err, "tether-test: -s bad: invalid argument\n"
				 "usage: tether-test [-dhnVv] [-f file] "
				 "[-s socket] [-x]\n");

	assert_tether_err(parse(&spec_extra, ARGV("-s"), &o, out, err,
				sizeof(out)), TETHER_EINVAL);
	assert_non_null(strstr(err, "option -s needs an argument\n"));
}

static void
test_opts_bad_spec(void **state)
{
	struct tether_daemon_spec s = spec_extra;
	struct tether_daemon_opts o;
	char out[256], err[256];

	(void)state;
	s.extra_opts = "d";	/* clashes with -d */
	assert_tether_err(parse(&s, ARGV("-d"), &o, out, err, sizeof(out)),
			  TETHER_EINVAL);
	assert_true(o.exit_now);
	assert_int_equal(o.exit_status, 2);
	s.extra_opts = ":s";
	assert_tether_err(parse(&s, ARGV("-d"), &o, out, err, sizeof(out)),
			  TETHER_EINVAL);
	s.extra_opts = "-";
	assert_tether_err(parse(&s, ARGV("-d"), &o, out, err, sizeof(out)),
			  TETHER_EINVAL);
	s.extra_opts = "s:";
	s.extra_fn = NULL;
	assert_tether_err(parse(&s, ARGV("-d"), &o, out, err, sizeof(out)),
			  TETHER_EINVAL);
	s = spec_plain;
	s.default_conf = NULL;
	assert_tether_err(parse(&s, ARGV("-d"), &o, out, err, sizeof(out)),
			  TETHER_EINVAL);
	assert_tether_err(tether_daemon_parse_opts(&spec_plain, 0, NULL, &o),
			  TETHER_EINVAL);
	assert_tether_err(tether_daemon_parse_opts(&spec_plain, 1,
						   ARGV("x"), NULL),
			  TETHER_EINVAL);
}

/* ------------------------------------------------------------------ */
/* Pidfile                                                             */
/* ------------------------------------------------------------------ */

static char tmpdir[PATH_MAX];

static int
setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tether-daemon-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	/* The privilege tests read it as "nobody". */
	return chmod(tmpdir, 0755);
}

static int
teardown_tmp(void **state)
{
	(void)state;
	return tether_test_rm_tree(tmpdir);
}

static void
tmp_path(char *out, size_t size, const char *rel)
{
	snprintf(out, size, "%s/%s", tmpdir, rel);
}

static void
read_text(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	fclose(f);
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void
test_pidfile_basic(void **state)
{
	struct tether_pidfile *pf, *pf2 = NULL;
	char path[PATH_MAX + 32], text[64], want[64], err[PATH_MAX + 128];
	pid_t running = -1;
	struct stat st;

	(void)state;
	tmp_path(path, sizeof(path), "t.pid");
	assert_int_equal(tether_pidfile_open(path, &pf, &running, err,
					     sizeof(err)), 0);
	assert_int_equal(running, 0);
	read_text(path, text, sizeof(text));
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	assert_string_equal(text, want);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);

	/* A second instance is refused and told who runs. (flock locks
	 * belong to the open file, so this works within one process.) */
	assert_tether_err(tether_pidfile_open(path, &pf2, &running, err,
					      sizeof(err)), TETHER_EBUSY);
	assert_null(pf2);
	assert_int_equal(running, getpid());
	snprintf(want, sizeof(want), ": already running as pid %ld",
		 (long)getpid());
	assert_non_null(strstr(err, want));
	assert_memory_equal(err, path, strlen(path));
	/* The loser did not touch the file. */
	read_text(path, text, sizeof(text));
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	assert_string_equal(text, want);
	/* Without out-parameters for pid and message. */
	assert_tether_err(tether_pidfile_open(path, &pf2, NULL, NULL, 0),
			  TETHER_EBUSY);

	assert_int_equal(tether_pidfile_write(pf), 0);
	assert_int_equal(tether_pidfile_remove(pf), 0);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(tether_pidfile_remove(NULL), 0);
	tether_pidfile_close(NULL);

	/* Free again after removal. */
	assert_int_equal(tether_pidfile_open(path, &pf, NULL, NULL, 0), 0);
	/* close leaves the file, and its lock is gone: stale. */
	tether_pidfile_close(pf);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(tether_pidfile_open(path, &pf, NULL, NULL, 0), 0);
	assert_int_equal(tether_pidfile_remove(pf), 0);
}

static void
test_pidfile_stale(void **state)
{
	struct tether_pidfile *pf;
	char path[PATH_MAX + 32], text[64], want[64];

	(void)state;
	/* A dead instance left its pid (and a longer one) behind. */
	tmp_path(path, sizeof(path), "stale.pid");
	write_text(path, "99999999\nleftover junk\n");
	assert_int_equal(tether_pidfile_open(path, &pf, NULL, NULL, 0), 0);
	read_text(path, text, sizeof(text));
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	assert_string_equal(text, want);
	assert_int_equal(tether_pidfile_remove(pf), 0);

	/* An empty one too. */
	write_text(path, "");
	assert_int_equal(tether_pidfile_open(path, &pf, NULL, NULL, 0), 0);
	assert_int_equal(tether_pidfile_remove(pf), 0);
}

static void
test_pidfile_other_process(void **state)
{
	struct tether_pidfile *pf;
	char path[PATH_MAX + 32], err[PATH_MAX + 128], want[64], text[64];
	int ready[2], go[2], status;
	pid_t pid, running = 0;
	char b;

	(void)state;
	tmp_path(path, sizeof(path), "other.pid");
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct tether_pidfile *cpf;
		int rc = tether_pidfile_open(path, &cpf, NULL, NULL, 0);

		b = rc == 0 ? 'y' : 'n';
		if (write(ready[1], &b, 1) != 1 || read(go[0], &b, 1) != 1)
			_exit(3);
		/* Die without removing: the file becomes stale. */
		_exit(rc == 0 ? 0 : 1);
	}
	assert_int_equal(read(ready[0], &b, 1), 1);
	assert_int_equal(b, 'y');
	assert_tether_err(tether_pidfile_open(path, &pf, &running, err,
					      sizeof(err)), TETHER_EBUSY);
	assert_int_equal(running, pid);
	snprintf(want, sizeof(want), "already running as pid %ld",
		 (long)pid);
	assert_non_null(strstr(err, want));
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* The holder died: its file is stale and ours to take. */
	assert_int_equal(tether_pidfile_open(path, &pf, &running, err,
					     sizeof(err)), 0);
	read_text(path, text, sizeof(text));
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	assert_string_equal(text, want);

	/* The lock survives fork: a child that rewrites the pid (as a
	 * daemonizing child would) owns the file while we still run. */
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(tether_pidfile_write(pf) == 0 ? 0 : 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	read_text(path, text, sizeof(text));
	snprintf(want, sizeof(want), "%ld\n", (long)pid);
	assert_string_equal(text, want);

	assert_int_equal(tether_pidfile_remove(pf), 0);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

static void
test_pidfile_errors(void **state)
{
	struct tether_pidfile *pf = NULL;
	char path[PATH_MAX + 32], link[PATH_MAX + 32], err[PATH_MAX + 128];
	struct stat st;
	unsigned long n;

	(void)state;
	assert_tether_err(tether_pidfile_open(NULL, &pf, NULL, err,
					      sizeof(err)), TETHER_EINVAL);
	assert_string_equal(err, "pidfile: no path given");
	assert_tether_err(tether_pidfile_open("", &pf, NULL, NULL, 0),
			  TETHER_EINVAL);
	assert_tether_err(tether_pidfile_open("/x", NULL, NULL, NULL, 0),
			  TETHER_EINVAL);
	assert_tether_err(tether_pidfile_write(NULL), TETHER_EINVAL);

	tmp_path(path, sizeof(path), "no/such/dir.pid");
	assert_tether_err(tether_pidfile_open(path, &pf, NULL, err,
					      sizeof(err)), TETHER_ENOENT);
	assert_null(pf);
	assert_non_null(strstr(err, "dir.pid: cannot open pidfile: No such "
				    "file or directory"));

	/* A directory where the pidfile should be. */
	tmp_path(path, sizeof(path), "adir.pid");
	assert_int_equal(mkdir(path, 0755), 0);
	assert_true(tether_pidfile_open(path, &pf, NULL, err,
					sizeof(err)) < 0);
	assert_non_null(strstr(err, "adir.pid: cannot open pidfile: Is a "
				    "directory"));

	/* A FIFO opens (O_RDWR does not wait for a peer) but is no
	 * pidfile: refused before anything is written to it. */
	tmp_path(path, sizeof(path), "fifo.pid");
	assert_int_equal(mkfifo(path, 0644), 0);
	assert_tether_err(tether_pidfile_open(path, &pf, NULL, err,
					      sizeof(err)), TETHER_EINVAL);
	assert_null(pf);
	assert_non_null(strstr(err, "fifo.pid: pidfile is not a regular "
				    "file"));

	/* A symlink is not followed (it could point anywhere). */
	tmp_path(path, sizeof(path), "target");
	tmp_path(link, sizeof(link), "link.pid");
	write_text(path, "keep\n");
	assert_int_equal(symlink(path, link), 0);
	assert_true(tether_pidfile_open(link, &pf, NULL, err,
					sizeof(err)) < 0);
	assert_non_null(strstr(err, "link.pid: cannot open pidfile"));

	/* Out of memory: an error, and no file left behind. */
	tmp_path(path, sizeof(path), "oom.pid");
	for (n = 1; n <= 2; n++) {
		tether_alloc_fail_at(n, 0);
		assert_tether_err(tether_pidfile_open(path, &pf, NULL, err,
						      sizeof(err)),
				  TETHER_ENOMEM);
		tether_alloc_fail_at(0, 0);
		assert_int_equal(stat(path, &st), -1);
	}
	tether_alloc_fail_at(3, 0);
	assert_int_equal(tether_pidfile_open(path, &pf, NULL, err,
					     sizeof(err)), 0);
	assert_true(tether_alloc_count() < 3);
	tether_alloc_fail_at(0, 0);
	assert_int_equal(tether_pidfile_remove(pf), 0);
}

/* ------------------------------------------------------------------ */
/* Privileges                                                          */
/* ------------------------------------------------------------------ */

/* Run fn in a child; its exit status (fn returns it). */
static int
in_child(int (*fn)(void))
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int
child_drop_nobody(void)
{
	struct passwd *pw = getpwnam("nobody");
	char err[256];
	gid_t groups[64];
	int i, n;

	if (pw == NULL)
		return 10;
	if (tether_priv_drop("nobody", NULL, err, sizeof(err)) != 0)
		return 11;
	if (getuid() != pw->pw_uid || geteuid() != pw->pw_uid)
		return 12;
	if (getgid() != pw->pw_gid || getegid() != pw->pw_gid)
		return 13;
	if (setuid(0) != -1 || seteuid(0) != -1 || setgid(0) != -1)
		return 14;
	n = getgroups(64, groups);
	if (n < 0)
		return 15;
	for (i = 0; i < n; i++)
		if (groups[i] == 0)
			return 16;	/* root's groups were dropped */
	/* Once dropped, it cannot be done again: not root any more. */
	if (tether_priv_drop("nobody", NULL, err, sizeof(err)) !=
	    -TETHER_EPERM)
		return 17;
	if (strcmp(err, "must be root to switch to user nobody") != 0)
		return 18;
	return 0;
}

static int
child_drop_chroot(void)
{
	char err[256];

	if (tether_priv_drop("nobody", tmpdir, err, sizeof(err)) != 0)
		return 20;
	/* Inside: our marker is at the root, the host's /etc is not. */
	if (access("/marker", R_OK) != 0)
		return 21;
	if (access("/etc/passwd", F_OK) == 0)
		return 22;
	if (chroot("/") != -1)
		return 23;
	return 0;
}

static int
child_drop_errors(void)
{
	char err[256];

	if (tether_priv_drop("no-such-user-tether", NULL, err,
			     sizeof(err)) != -TETHER_ENOENT ||
	    strcmp(err, "no such user: no-such-user-tether") != 0)
		return 30;
	if (tether_priv_drop("root", NULL, err, sizeof(err)) !=
		    -TETHER_EINVAL ||
	    strcmp(err, "refusing to run as root: it has uid 0") != 0)
		return 31;
	if (tether_priv_drop(NULL, NULL, err, sizeof(err)) != -TETHER_EINVAL)
		return 32;
	if (tether_priv_drop("nobody", "/nonexistent-tether-dir", err,
			     sizeof(err)) != -TETHER_ENOENT ||
	    strcmp(err, "chroot(/nonexistent-tether-dir): No such file or "
			"directory") != 0)
		return 33;
	/* None of the failures changed who we are. */
	if (getuid() != 0 || geteuid() != 0)
		return 34;
	return 0;
}

static void
test_priv_drop(void **state)
{
	char marker[PATH_MAX + 32];

	(void)state;
	if (geteuid() != 0)
		skip();	/* needs root; runs as root in CI and here */
	assert_int_equal(in_child(child_drop_nobody), 0);
	assert_int_equal(in_child(child_drop_errors), 0);
	tmp_path(marker, sizeof(marker), "marker");
	write_text(marker, "x\n");
	chmod(marker, 0644);
	assert_int_equal(in_child(child_drop_chroot), 0);
}

/* ------------------------------------------------------------------ */
/* Detaching                                                           */
/* ------------------------------------------------------------------ */

static int
is_devnull(int fd)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat("/dev/null", &b) == 0 &&
	       S_ISCHR(a.st_mode) && a.st_rdev == b.st_rdev;
}

/* Started with stdin and stderr closed: both become /dev/null (kept
 * across exec), stdout (a pipe) is left alone, and the next descriptor
 * opened is above 2. */
static int
child_std_fds(void)
{
	int p[2], fd;
	struct stat st;

	if (pipe(p) < 0 || dup2(p[1], STDOUT_FILENO) < 0)
		return 40;
	close(p[0]);
	close(p[1]);
	close(STDIN_FILENO);
	close(STDERR_FILENO);
	if (tether_daemon_std_fds() != 0)
		return 41;
	if (!is_devnull(STDIN_FILENO) || !is_devnull(STDERR_FILENO))
		return 42;
	if (fstat(STDOUT_FILENO, &st) < 0 || !S_ISFIFO(st.st_mode))
		return 43;
	if ((fcntl(STDIN_FILENO, F_GETFD) & FD_CLOEXEC) != 0 ||
	    (fcntl(STDERR_FILENO, F_GETFD) & FD_CLOEXEC) != 0)
		return 44;
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd <= STDERR_FILENO)
		return 45;
	close(fd);
	/* Nothing to fill: nothing left open behind. */
	if (tether_daemon_std_fds() != 0)
		return 46;
	if (open("/dev/null", O_RDONLY | O_CLOEXEC) != fd)
		return 47;
	return 0;
}

static void
test_std_fds(void **state)
{
	(void)state;
	assert_int_equal(in_child(child_std_fds), 0);
}

/* How the detached child of test_detach behaves. */
enum detach_how {
	DETACH_SERVE,	/* checks its state, then tether_daemon_detached */
	DETACH_FAIL,	/* prints an error and exits 3 */
	DETACH_ORPHAN,	/* kills its parent first: detached gives EPIPE */
	DETACH_SIGNAL	/* sends its parent SIGTERM, which comes back */
};

/* The detached child: its stderr is still the caller's until
 * tether_daemon_detached; it reports one byte (0: every check held) on
 * report, then exits. */
static void
detached_child(enum detach_how how, int ready, int report)
{
	char cwd[PATH_MAX], c = 0;
	pid_t parent = getppid();
	int rc;

	if (write(STDERR_FILENO, "starting\n", 9) != 9)
		c = 1;
	if (how == DETACH_FAIL) {
		if (write(STDERR_FILENO, "no good\n", 8) != 8)
			_exit(4);
		_exit(3);
	}
	if (getsid(0) != getpid())
		c = 2;
	if (getcwd(cwd, sizeof(cwd)) == NULL || strcmp(cwd, "/") != 0)
		c = 3;
	if ((fcntl(ready, F_GETFD) & FD_CLOEXEC) == 0)
		c = 4;
	if (how == DETACH_ORPHAN) {
		(void)kill(parent, SIGKILL);
		while (getppid() == parent)
			usleep(1000);
	}
	if (how == DETACH_SIGNAL) {
		sigset_t pend;
		int i;

		/* Held here as in the parent (hold_signals before the
		 * fork): it waits, pending, for the loop. */
		(void)kill(parent, SIGTERM);
		for (i = 0; i < 5000; i++) {
			if (sigpending(&pend) == 0 &&
			    sigismember(&pend, SIGTERM) == 1)
				break;
			usleep(1000);
		}
		if (i == 5000)
			c = 8;
	}
	rc = tether_daemon_detached(ready);
	if (rc != (how == DETACH_ORPHAN ? -TETHER_EPIPE : 0))
		c = 5;
	if (!is_devnull(STDIN_FILENO) || !is_devnull(STDOUT_FILENO) ||
	    !is_devnull(STDERR_FILENO))
		c = 6;
	if (fcntl(ready, F_GETFD) != -1)
		c = 7;	/* closed */
	if (write(report, &c, 1) != 1)
		_exit(5);
	_exit(0);
}

/* Detach in a child whose stderr is a pipe: its wait status, what went
 * to that stderr (to EOF: nobody keeps it open), and the detached
 * child's report byte (-1 when it sent none). */
static int
run_detach(enum detach_how how, char *out, size_t size, int *report)
{
	int errp[2], rep[2], status, ready;
	size_t n = 0;
	ssize_t r;
	pid_t pid;
	char c;

	assert_int_equal(pipe(errp), 0);
	assert_int_equal(pipe(rep), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(errp[0]);
		close(rep[0]);
		if (dup2(errp[1], STDERR_FILENO) < 0)
			_exit(20);
		close(errp[1]);
		tether_daemon_hold_signals();
		ready = tether_daemon_detach();
		if (ready < 0)
			_exit(21);
		detached_child(how, ready, rep[1]);
		_exit(22);	/* not reached: it exits */
	}
	close(errp[1]);
	close(rep[1]);
	while (n + 1 < size && (r = read(errp[0], out + n, size - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(errp[0]);
	*report = read(rep[0], &c, 1) == 1 ? c : -1;
	close(rep[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void
test_detach(void **state)
{
	char out[256];
	int status, report;

	(void)state;
	/* Serves: the parent exits 0 once told, after stdio moved. */
	status = run_detach(DETACH_SERVE, out, sizeof(out), &report);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_string_equal(out, "starting\n");
	assert_int_equal(report, 0);

	/* Fails to start: its error on the caller's stderr, exit 1. */
	status = run_detach(DETACH_FAIL, out, sizeof(out), &report);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_string_equal(out, "starting\nno good\n");
	assert_int_equal(report, -1);

	/* The parent killed while waiting: the child is told, not killed
	 * by SIGPIPE, and carries on. */
	status = run_detach(DETACH_ORPHAN, out, sizeof(out), &report);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_string_equal(out, "starting\n");
	assert_int_equal(report, 0);

	/* SIGTERM to the waiting parent (the pid its caller knows) goes on
	 * to the child; the parent exits 1, as the daemon will stop. */
	status = run_detach(DETACH_SIGNAL, out, sizeof(out), &report);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_string_equal(out, "starting\n");
	assert_int_equal(report, 0);

	assert_int_equal(tether_daemon_detached(-1), -TETHER_EINVAL);
}

/* ------------------------------------------------------------------ */
/* Signals held during startup                                         */
/* ------------------------------------------------------------------ */

static void
on_held(struct tether_loop *loop, int signo, void *ud)
{
	*(int *)ud = signo;
	tether_loop_stop(loop);
}

/* In a child: hold the signals, receive SIGHUP and SIGTERM before any
 * handler exists (the default action would kill it), then let the loop
 * take them. Exit status 0 only if the loop's handler saw both. */
static void
test_hold_signals(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct tether_loop *loop;
		int got_hup = 0, got_term = 0;

		tether_daemon_hold_signals();
		(void)kill(getpid(), SIGHUP);
		(void)kill(getpid(), SIGTERM);
		if (tether_loop_new(&loop, NULL) < 0 ||
		    tether_loop_signal_add(loop, SIGHUP, on_held,
					   &got_hup) < 0 ||
		    tether_loop_signal_add(loop, SIGTERM, on_held,
					   &got_term) < 0)
			_exit(3);
		while (got_hup == 0 || got_term == 0)
			if (tether_loop_run(loop) < 0)
				_exit(4);
		_exit(got_hup == SIGHUP && got_term == SIGTERM ? 0 : 5);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* An absolute path for reloads after the move to "/": joined to the
 * cwd, links not resolved (a switched link is read through). */
static void
test_abs_path(void **state)
{
	char here[PATH_MAX], want[PATH_MAX + 32], link[PATH_MAX];
	char *p = NULL;

	(void)state;
	assert_non_null(getcwd(here, sizeof(here)));
	assert_int_equal(tether_daemon_abs_path("/etc/x.conf", &p), 0);
	assert_string_equal(p, "/etc/x.conf");
	tether_free(p);
	snprintf(want, sizeof(want), "%s/a/../b.conf", here);
	assert_int_equal(tether_daemon_abs_path("./a/../b.conf", &p), 0);
	assert_string_equal(p, want);
	tether_free(p);
	assert_int_equal(tether_daemon_abs_path("", &p), -TETHER_EINVAL);
	assert_null(p);
	/* A link in the path stays a link. */
	tmp_path(link, sizeof(link), "cur.conf");
	assert_int_equal(symlink("/nonexistent/v1.conf", link), 0);
	assert_int_equal(chdir(tmpdir), 0);
	assert_int_equal(tether_daemon_abs_path("cur.conf", &p), 0);
	assert_string_equal(p, link);
	tether_free(p);
	assert_int_equal(chdir("/"), 0);
	assert_int_equal(tether_daemon_abs_path("cur.conf", &p), 0);
	assert_string_equal(p, "/cur.conf");
	tether_free(p);
	assert_int_equal(chdir(here), 0);
	assert_int_equal(unlink(link), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opts_defaults_and_common),
		cmocka_unit_test(test_opts_help_version),
		cmocka_unit_test(test_opts_usage_errors),
		cmocka_unit_test(test_opts_extra),
		cmocka_unit_test(test_opts_bad_spec),
		cmocka_unit_test(test_pidfile_basic),
		cmocka_unit_test(test_pidfile_stale),
		cmocka_unit_test(test_pidfile_other_process),
		cmocka_unit_test(test_pidfile_errors),
		cmocka_unit_test(test_priv_drop),
		cmocka_unit_test(test_std_fds),
		cmocka_unit_test(test_detach),
		cmocka_unit_test(test_hold_signals),
		cmocka_unit_test(test_abs_path),
	};

	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
