/*
 * main.c - tether-rpcgen's command line, rpcgen's own so Makefiles switch
 * by changing the program name. Each output is made from its own cpp run
 * with RPC_HDR, RPC_XDR, RPC_CLNT or RPC_SVC defined, as rpcgen does, and
 * is written only when the whole specification checked clean.
 */
#include "rpcgen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_INPUT (256u << 20)
#define MAX_DEFINES 64

enum out_kind {
	OUT_HDR,
	OUT_XDR,
	OUT_CLNT,
	OUT_SVC,
	OUT_SAMPLE_CLNT,
	OUT_SAMPLE_SVC,
	OUT_MAKEFILE,
	OUT_FILL,
	OUT_LAYOUT,
	OUT_NKINDS
};

static const struct {
	const char *define;	/* cpp symbol for this output */
	const char *suffix;	/* file name after the base (the Makefile's
				 * name is rpcgen's: Makefile.<base>) */
} kinds[OUT_NKINDS] = {
	[OUT_HDR] = { "RPC_HDR", ".h" },
	[OUT_XDR] = { "RPC_XDR", "_xdr.c" },
	[OUT_CLNT] = { "RPC_CLNT", "_clnt.c" },
	[OUT_SVC] = { "RPC_SVC", "_svc.c" },
	[OUT_SAMPLE_CLNT] = { "RPC_CLNT", "_client.c" },
	[OUT_SAMPLE_SVC] = { "RPC_SVC", "_server.c" },
	[OUT_MAKEFILE] = { "RPC_HDR", "" },
	[OUT_FILL] = { "RPC_XDR", "_fill.h" },
	[OUT_LAYOUT] = { "RPC_HDR", "_layout.h" },
};

struct cmdline {
	const char *input;	/* NULL: standard input */
	const char *output;	/* -o */
	const char *cpp_dir;	/* -Y */
	const char *defines[MAX_DEFINES];
	int ndefines;
	int want[OUT_NKINDS];
	int single;		/* one output flag given */
	int all;		/* -a */
	char *stdin_text;	/* standard input, read once */
	size_t stdin_len;
	int stdin_fd;		/* a seekable copy of it for each cpp run */
};

/* The name diagnostics give standard input (cpp's and GCC's). */
static const char stdin_name[] = "<stdin>";

static void
usage(FILE *f)
{
	fputs("usage: tether-rpcgen [-abCkLNMTh] [-Dname[=value]] [-Y path] "
	      "[-o outfile] infile.x\n"
	      "       tether-rpcgen [-h | -c | -l | -m | -Sc | -Ss | -Sm] "
	      "[-o outfile] [infile.x]\n"
	      "  no infile: read standard input (with -h -c -l -m)\n"
	      "  no flag  write infile.h, infile_xdr.c, infile_clnt.c and "
	      "infile_svc.c\n"
	      "  -h       header (types, codec and stub prototypes)\n"
	      "  -c       codecs\n"
	      "  -l       client stubs\n"
	      "  -m       server skeleton\n"
	      "  -Sc, -Ss sample client, sample server\n"
	      "  -Sm      template Makefile for the samples (libtether via "
	      "pkg-config)\n"
	      "  -a       everything, samples and Makefile.infile included\n"
	      "  --fill   random-value fillers for tests (tether-rpcgen's "
	      "own)\n"
	      "  --layout sizes and offsets of the types, to compare with "
	      "rpcgen's\n"
	      "  -o FILE  write the one output to FILE (default: stdout)\n"
	      "  -Dname[=value]  define for cpp; -Y DIR: cpp lives in DIR\n"
	      "  -N -C -M -b -k -L -T -I accepted for rpcgen compatibility\n",
	      f);
}

static const char *
display_name(const struct cmdline *cl)
{
	return cl->input != NULL ? cl->input : stdin_name;
}

/*
 * Standard input is read once, kept for diagnostics' source lines, and
 * copied to an unlinked temporary file that each cpp run reads from the
 * start (cpp runs once per output). Returns 0 or -1 (reported).
 */
static int
read_stdin(struct cmdline *cl)
{
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	FILE *tmp;

	for (;;) {
		if (cap - len < 65536) {
			char *nb;

			if (cap >= MAX_INPUT) {
				fprintf(stderr, "tether-rpcgen: %s: input too "
						"large\n",
					stdin_name);
				free(buf);
				return -1;
			}
			cap = cap ? cap * 2 : 262144;
			nb = realloc(buf, cap);
			if (nb == NULL) {
				free(buf);
				return -1;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, stdin);
		if (n == 0)
			break;
		len += n;
	}
	if (ferror(stdin)) {
		fprintf(stderr, "tether-rpcgen: %s: read error\n", stdin_name);
		free(buf);
		return -1;
	}
	tmp = tmpfile();
	if (tmp == NULL || fwrite(buf, 1, len, tmp) != len ||
	    fflush(tmp) != 0) {
		fprintf(stderr, "tether-rpcgen: cannot copy standard input: "
				"%s\n",
			strerror(errno));
		if (tmp != NULL)
			fclose(tmp);
		free(buf);
		return -1;
	}
	cl->stdin_text = buf;
	cl->stdin_len = len;
	cl->stdin_fd = fileno(tmp);	/* open until exit */
	return 0;
}

/* Run cpp over the input and collect its output. */
static int
preprocess(const struct cmdline *cl, const char *define, char **text,
	   size_t *len)
{
	int fds[2];
	pid_t pid;
	char *buf = NULL;
	size_t blen = 0, cap = 0;
	ssize_t n;
	int status, i, rc = 0;
	const char *argv[MAX_DEFINES + 8];
	int argc = 0;
	char *cpp = NULL;

	if (cl->cpp_dir != NULL) {
		size_t l = strlen(cl->cpp_dir) + 5;

		cpp = malloc(l);
		if (cpp == NULL)
			return -1;
		snprintf(cpp, l, "%s/cpp", cl->cpp_dir);
	}
	argv[argc++] = cpp != NULL ? cpp : "cpp";
	argv[argc++] = "-C";
	argv[argc++] = define;
	for (i = 0; i < cl->ndefines; i++)
		argv[argc++] = cl->defines[i];
	argv[argc++] = cl->input != NULL ? cl->input : "-";
	argv[argc] = NULL;

	if (pipe(fds) < 0) {
		free(cpp);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		free(cpp);
		return -1;
	}
	if (pid == 0) {
		if (cl->input == NULL &&
		    (lseek(cl->stdin_fd, 0, SEEK_SET) != 0 ||
		     dup2(cl->stdin_fd, 0) < 0))
			_exit(127);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		{
			/* exec takes char *const[]; the strings stay unchanged
			 */
			char *args[MAX_DEFINES + 8];

			for (i = 0; i <= argc; i++)
				args[i] = (char *)(uintptr_t)argv[i];
			execvp(args[0], args);
		}
		fprintf(stderr, "tether-rpcgen: cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		if (cap - blen < 65536) {
			char *nb;

			if (cap >= MAX_INPUT) {
				fprintf(stderr, "tether-rpcgen: %s: input too "
						"large\n",
					display_name(cl));
				rc = -1;
				break;
			}
			cap = cap ? cap * 2 : 262144;
			nb = realloc(buf, cap);
			if (nb == NULL) {
				rc = -1;
				break;
			}
			buf = nb;
		}
		n = read(fds[0], buf + blen, cap - blen);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -1;
			break;
		}
		blen += (size_t)n;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	free(cpp);
	if (rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		fprintf(stderr, "tether-rpcgen: %s: the C preprocessor "
				"failed\n",
			display_name(cl));
		rc = -1;
	}
	if (rc < 0) {
		free(buf);
		return -1;
	}
	*text = buf;
	*len = blen;
	return 0;
}

static const char *
file_base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int
file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/*
 * Make one output: preprocess, parse, check, emit; write on success.
 * check_only: the strict pass over the RPC_HDR view of the file, which
 * reports every diagnostic once. The other passes are lenient about
 * names a pass cannot see (a %#define under #ifdef RPC_HDR): the header
 * every output includes defines them, and the strict pass checked it.
 */
static int
make_output(const struct cmdline *cl, enum out_kind kind, const char *path,
	    const char *base, int check_only)
{
	struct rg_ctx c;
	struct rg_opts o;
	char *text = NULL, *mem = NULL;
	size_t len = 0, memlen = 0;
	FILE *ms = NULL;
	int rc = 1;
	char define[32];

	snprintf(define, sizeof(define), "-D%s", kinds[kind].define);
	if (preprocess(cl, define, &text, &len) < 0)
		return 1;
	if (rg_ctx_init(&c, stderr, RG_ARENA_MAX) < 0) {
		fprintf(stderr, "tether-rpcgen: out of memory\n");
		free(text);
		return 1;
	}
	c.read_sources = 1;
	c.lenient = !check_only;
	c.no_warn = !check_only;
	if (cl->input == NULL) {
		/* source lines for diagnostics come from what was read */
		struct rg_srcfile *sf = tether_arena_alloc(c.arena,
							   sizeof(*sf));

		if (sf == NULL)
			goto done;
		memset(sf, 0, sizeof(*sf));
		sf->name = stdin_name;
		sf->text = cl->stdin_text;
		sf->len = cl->stdin_len;
		c.srcs = sf;
	}
	if (rg_front(&c, display_name(cl), text, len) != 0)
		goto done;
	if (check_only) {
		rc = 0;
		goto done;
	}

	memset(&o, 0, sizeof(o));
	o.input = display_name(cl);
	o.base = base;
	o.prefix = "txdr_";
	o.newstyle = 1;
	{
		jmp_buf jb;

		c.oom = &jb;
		if (setjmp(jb) != 0)
			goto done;
		/* from standard input, as rpcgen: no header to include */
		o.hdr_name = cl->input != NULL ? rg_printf(&c, "%s.h", base)
					       : NULL;
		ms = open_memstream(&mem, &memlen);
		if (ms == NULL)
			goto done;
		switch (kind) {
		case OUT_HDR: rg_emit_hdr(&c, &o, ms); break;
		case OUT_XDR: rg_emit_xdr(&c, &o, ms); break;
		case OUT_CLNT: rg_emit_clnt(&c, &o, ms); break;
		case OUT_SVC: rg_emit_svc(&c, &o, ms); break;
		case OUT_SAMPLE_CLNT: rg_emit_sample_clnt(&c, &o, ms); break;
		case OUT_SAMPLE_SVC: rg_emit_sample_svc(&c, &o, ms); break;
		case OUT_MAKEFILE: rg_emit_makefile(&c, &o, ms); break;
		case OUT_FILL: rg_emit_fill(&c, &o, ms); break;
		case OUT_LAYOUT: rg_emit_layout(&c, &o, ms); break;
		case OUT_NKINDS: break;
		}
	}
	if (fclose(ms) != 0) {
		ms = NULL;
		goto done;
	}
	ms = NULL;
	if (path == NULL) {
		if (fwrite(mem, 1, memlen, stdout) != memlen ||
		    fflush(stdout) != 0)
			goto done;
	} else {
		FILE *f = fopen(path, "w");

		if (f == NULL) {
			fprintf(stderr, "tether-rpcgen: %s: %s\n", path,
				strerror(errno));
			goto done;
		}
		if (fwrite(mem, 1, memlen, f) != memlen) {
			fclose(f);
			goto done;
		}
		if (fclose(f) != 0)
			goto done;
	}
	rc = 0;
done:
	if (ms != NULL)
		fclose(ms);
	free(mem);
	free(text);
	rg_ctx_fini(&c);
	return rc;
}

static int
parse_cmdline(int argc, char **argv, struct cmdline *cl)
{
	int i;

	memset(cl, 0, sizeof(*cl));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *p;

		if (a[0] != '-' || a[1] == '\0') {
			if (cl->input != NULL) {
				fprintf(stderr, "tether-rpcgen: more than one "
						"input file\n");
				return -1;
			}
			cl->input = a;
			continue;
		}
		if (strcmp(a, "--fill") == 0) {
			cl->want[OUT_FILL] = 1;
			cl->single++;
			continue;
		}
		if (strcmp(a, "--layout") == 0) {
			cl->want[OUT_LAYOUT] = 1;
			cl->single++;
			continue;
		}
		if (strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		}
		for (p = a + 1; *p; p++) {
			switch (*p) {
			case 'h': cl->want[OUT_HDR] = 1; cl->single++; break;
			case 'c': cl->want[OUT_XDR] = 1; cl->single++; break;
			case 'l': cl->want[OUT_CLNT] = 1; cl->single++; break;
			case 'm': cl->want[OUT_SVC] = 1; cl->single++; break;
			case 'a': cl->all = 1; break;
			case 'S':
				if (p[1] == 'c')
					cl->want[OUT_SAMPLE_CLNT] = 1;
				else if (p[1] == 's')
					cl->want[OUT_SAMPLE_SVC] = 1;
				else if (p[1] == 'm')
					cl->want[OUT_MAKEFILE] = 1;
				else {
					fprintf(stderr, "tether-rpcgen: -S%s "
							"is not supported\n",
						p + 1);
					return -1;
				}
				cl->single++;
				p++;
				break;
			case 'N': case 'C': case 'M': case 'b': case 'k':
			case 'L': case 'T': case 'I':
				break;	/* rpcgen's; nothing to change */
			case 'D':
				if (cl->ndefines == MAX_DEFINES) {
					fprintf(stderr, "tether-rpcgen: too "
							"many -D\n");
					return -1;
				}
				cl->defines[cl->ndefines++] = a;
				goto next;
			case 'o': case 'Y': case 'K': case 'i': case 's':
			case 'n': {
				const char *v = p[1] ? p + 1 : argv[++i];

				if (v == NULL) {
					fprintf(stderr, "tether-rpcgen: -%c "
							"needs an argument\n",
						*p);
					return -1;
				}
				if (*p == 'o')
					cl->output = v;
				else if (*p == 'Y')
					cl->cpp_dir = v;
				goto next;
			}
			default:
				fprintf(stderr, "tether-rpcgen: unknown option "
						"-%c\n",
					*p);
				return -1;
			}
		}
next:;
	}
	if (cl->input == NULL &&
	    (cl->all || cl->want[OUT_SAMPLE_CLNT] ||
	     cl->want[OUT_SAMPLE_SVC] || cl->want[OUT_MAKEFILE])) {
		/* rpcgen: "infile" is required for template generation */
		fprintf(stderr, "tether-rpcgen: -a, -Sc, -Ss and -Sm need an "
				"input file\n");
		return -1;
	}
	if (cl->input == NULL && !cl->single) {
		fprintf(stderr, "tether-rpcgen: no input file (standard input "
				"needs one of -h -c -l -m)\n");
		return -1;
	}
	if (cl->single > 1 || (cl->single && cl->all)) {
		fprintf(stderr, "tether-rpcgen: give at most one of -h -c -l "
				"-m -Sc -Ss -Sm -a\n");
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct cmdline cl;
	size_t l;
	char *stem, *base;
	int k, rc = 0;

	if (parse_cmdline(argc, argv, &cl) < 0) {
		usage(stderr);
		return 1;
	}
	if (cl.input == NULL) {
		/* rpcgen names what it reads from standard input "stdin"
		 * (its header guard is _STDIN_H_RPCGEN) */
		if (read_stdin(&cl) < 0)
			return 1;
		stem = strdup("stdin.x");
		base = strdup("stdin.x");
		l = strlen("stdin.x");
	} else {
		l = strlen(cl.input);
		if (l < 3 || strcmp(cl.input + l - 2, ".x") != 0) {
			fprintf(stderr, "tether-rpcgen: %s: the input must "
					"end in .x\n",
				cl.input);
			return 1;
		}
		stem = strdup(cl.input);
		base = strdup(file_base(cl.input));
	}
	if (stem == NULL || base == NULL) {
		free(stem);
		free(base);
		free(cl.stdin_text);
		return 1;
	}
	stem[l - 2] = '\0';
	base[strlen(base) - 2] = '\0';

	rc = make_output(&cl, OUT_HDR, NULL, base, 1);
	if (rc != 0)
		goto out;
	if (cl.single) {
		for (k = 0; k < OUT_NKINDS; k++)
			if (cl.want[k])
				rc = make_output(&cl, (enum out_kind)k,
						 cl.output, base, 0);
		goto out;
	}
	if (cl.output != NULL) {
		fprintf(stderr, "tether-rpcgen: -o needs one of -h -c -l -m "
				"-Sc -Ss -Sm\n");
		rc = 1;
		goto out;
	}
	for (k = 0; k < OUT_NKINDS && rc == 0; k++) {
		size_t n;
		char *path;

		if ((k >= OUT_SAMPLE_CLNT && !cl.all) || k >= OUT_FILL)
			break;
		n = strlen(stem) + strlen(kinds[k].suffix) + 16;
		path = malloc(n);
		if (path == NULL) {
			rc = 1;
			break;
		}
		if (k == OUT_MAKEFILE)	/* next to the input, as the rest */
			snprintf(path, n, "%.*sMakefile.%s",
				 (int)(strlen(stem) - strlen(base)), stem,
				 base);
		else
			snprintf(path, n, "%s%s", stem, kinds[k].suffix);
		if (k >= OUT_SAMPLE_CLNT && file_exists(path)) {
			/* never overwrite the user's samples and Makefile */
			fprintf(stderr, "tether-rpcgen: %s exists, not "
					"overwritten\n",
				path);
		} else {
			rc = make_output(&cl, (enum out_kind)k, path, base,
					 0);
		}
		free(path);
	}
out:
	free(stem);
	free(base);
	free(cl.stdin_text);
	return rc;
}
