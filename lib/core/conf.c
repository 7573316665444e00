/*
 * conf.c - the tokenizer under every tether configuration file: words,
 * strings, braces and statement ends with file:line:col, `include`
 * spliced in, GCC-style diagnostics collected for the caller to print.
 *
 * The whole stream is built at load time into one token array, so the
 * parser above walks an array and never sees a file boundary. The
 * stream is normalised as it is built: an EOS token is pushed only when
 * a statement is open (the last token is a word or string), which makes
 * blank lines, ";;" and "};" vanish. When a statement ends, if its first
 * token is the bare word `include`, its tokens are popped and the named
 * files are lexed in their place, recursively (depth-limited; a stack
 * of open files' dev/ino catches cycles). Token texts live in an arena;
 * every file's bytes are kept so diagnostics can quote source lines.
 *
 * Hostile input is expected (fuzzed): every loop is bounded by the input
 * or a limit, errors are counted and lexing stops at max_errors, and
 * nothing is assumed about the bytes except what the lexer checked.
 */
#include "tether/core.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONF_DEF_FILE_SIZE (1u << 20)
#define CONF_DEF_LINE_LEN 4096
#define CONF_DEF_TOKEN_LEN 1024
#define CONF_DEF_TOKENS 100000
#define CONF_DEF_INCLUDE_DEPTH 8
#define CONF_DEF_FILES 64
#define CONF_DEF_NESTING 32
#define CONF_DEF_ERRORS 20

/* Hard caps: these size arrays inside the tokenizer and its frames. */
#define CONF_MAX_INCLUDE_DEPTH 32
#define CONF_MAX_NESTING 256

#define CONF_DIAG_MAX (256u << 10)	/* diagnostics text */
#define CONF_SHOW_MAX 512		/* source bytes quoted per line */
#define CONF_PATH_MAX 4096

/* O_NONBLOCK: opening a FIFO (or some devices) for reading would wait
 * for a writer; we only read regular files, and check that after the
 * open. A regular file ignores O_NONBLOCK. */
#define CONF_OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NONBLOCK)

struct conf_file {
	char *name;		/* arena; tokens point at it */
	unsigned char *data;	/* tether_malloc'd copy of the bytes */
	size_t len;
};

/* A file being read, for cycle detection. */
struct conf_open {
	dev_t dev;
	ino_t ino;
	int has_id;		/* an in-memory buffer has no identity */
};

struct tether_conf {
	struct tether_conf_limits lim;
	struct tether_arena *arena;

	struct conf_file *files;
	unsigned nfiles;

	struct tether_conf_token *toks;
	size_t ntoks, toks_cap;
	size_t cursor;
	size_t stmt_start;	/* first token of the open statement */

	struct conf_open open[CONF_MAX_INCLUDE_DEPTH + 1];
	unsigned nopen;

	unsigned char *scratch;	/* max_token_len bytes: string values */

	struct tether_buf diag;	/* GCC-style text, CONF_DIAG_MAX with NUL */

	unsigned nerrors;
	int stop;		/* give up: a limit hit, or out of memory */
	int oom;
	int loaded;
	struct tether_conf_token eof;	/* before (or without) a load */
};

/* One file being lexed. */
struct conf_lexer {
	struct tether_conf *c;
	unsigned fidx;
	const unsigned char *p;
	size_t len;
	size_t i;
	unsigned line;
	size_t line_start;
	unsigned include_depth;
	unsigned depth;			/* open braces in this file */
	unsigned brace_line[CONF_MAX_NESTING];
	unsigned brace_col[CONF_MAX_NESTING];
};

static const char *const tok_names[] = {
	[TETHER_CONF_WORD] = "word",
	[TETHER_CONF_STRING] = "string",
	[TETHER_CONF_LBRACE] = "'{'",
	[TETHER_CONF_RBRACE] = "'}'",
	[TETHER_CONF_EOS] = "end of statement",
	[TETHER_CONF_EOF] = "end of file",
};

const char *
tether_conf_tok_name(int type)
{
	if (type < 0 || (size_t)type >= TETHER_ARRAY_SIZE(tok_names))
		return "unknown";
	return tok_names[type];
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */
/* ------------------------------------------------------------------ */

static size_t
pick_size(size_t v, size_t def)
{
	return v != 0 ? v : def;
}

static unsigned
pick_uint(unsigned v, unsigned def, unsigned cap)
{
	v = v != 0 ? v : def;
	return v > cap ? cap : v;
}

struct tether_conf *
tether_conf_new(const struct tether_conf_limits *lim)
{
	struct tether_conf *c = tether_calloc(1, sizeof(*c));
	struct tether_conf_limits l;

	if (c == NULL)
		return NULL;
	memset(&l, 0, sizeof(l));
	if (lim != NULL)
		l = *lim;
	c->lim.max_file_size = pick_size(l.max_file_size, CONF_DEF_FILE_SIZE);
	c->lim.max_line_len = pick_size(l.max_line_len, CONF_DEF_LINE_LEN);
	c->lim.max_token_len = pick_size(l.max_token_len, CONF_DEF_TOKEN_LEN);
	c->lim.max_tokens = pick_size(l.max_tokens, CONF_DEF_TOKENS);
	c->lim.max_include_depth = pick_uint(l.max_include_depth,
					     CONF_DEF_INCLUDE_DEPTH,
					     CONF_MAX_INCLUDE_DEPTH);
	c->lim.max_files = pick_uint(l.max_files, CONF_DEF_FILES, UINT_MAX);
	c->lim.max_nesting = pick_uint(l.max_nesting, CONF_DEF_NESTING,
				       CONF_MAX_NESTING);
	c->lim.max_errors = pick_uint(l.max_errors, CONF_DEF_ERRORS, UINT_MAX);
	c->lim.flags = l.flags;
	tether_buf_init(&c->diag, CONF_DIAG_MAX - 1);
	c->arena = tether_arena_new(0, 0);
	if (c->arena == NULL) {
		tether_free(c);
		return NULL;
	}
	c->eof.type = TETHER_CONF_EOF;
	c->eof.text = "";
	c->eof.file = "";
	return c;
}

void
tether_conf_free(struct tether_conf *c)
{
	unsigned i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nfiles; i++)
		tether_free(c->files[i].data);
	tether_free(c->files);
	tether_free(c->toks);
	tether_free(c->scratch);
	tether_buf_free(&c->diag);
	tether_arena_free(c->arena);
	tether_free(c);
}

/* ------------------------------------------------------------------ */
/* Diagnostics                                                         */
/* ------------------------------------------------------------------ */

/* Append to the diagnostics; a piece that would pass CONF_DIAG_MAX is
 * dropped (later diagnostics are lost, the text stays whole). */
static void
diag_append(struct tether_conf *c, const char *s, size_t n)
{
	if (tether_buf_append(&c->diag, s, n) == -TETHER_ENOMEM) {
		c->oom = 1;
		c->stop = 1;
	}
}

static void
diag_str(struct tether_conf *c, const char *s)
{
	diag_append(c, s, strlen(s));
}

/* Quote source line `line` of file f and put a caret under column col:
 * control bytes show as '?', tabs are kept so the caret lines up, and
 * UTF-8 continuation bytes take no column. */
static void
diag_source(struct tether_conf *c, const struct conf_file *f, unsigned line,
	    unsigned col)
{
	char show[CONF_SHOW_MAX + 2], caret[CONF_SHOW_MAX + 3];
	size_t i = 0, n = 0, k = 0;
	unsigned l = 1;

	if (col == 0 || col - 1 > CONF_SHOW_MAX)
		return;
	while (l < line) {
		const unsigned char *nl = memchr(f->data + i, '\n', f->len - i);

		if (nl == NULL)
			return;		/* no such line */
		i = (size_t)(nl - f->data) + 1;
		l++;
	}
	while (i + n < f->len && f->data[i + n] != '\n' && n < CONF_SHOW_MAX) {
		unsigned char b = f->data[i + n];

		show[n] = (char)((b < 0x20 && b != '\t') || b == 0x7f ? '?' : b);
		n++;
	}
	show[n++] = '\n';
	diag_append(c, show, n);
	for (n = 0; n + 1 < col; n++) {
		unsigned char b = i + n < f->len ? f->data[i + n] : ' ';

		if (b == '\t')
			caret[k++] = '\t';
		else if ((b & 0xc0) != 0x80)
			caret[k++] = ' ';
	}
	caret[k++] = '^';
	caret[k++] = '\n';
	diag_append(c, caret, k);
}

static void diag_v(struct tether_conf *c, const char *sev, int fidx,
		   const char *name, unsigned line, unsigned col,
		   const char *fmt, va_list ap) TETHER_PRINTF(7, 0);

/*
 * Record "name:line:col: sev: message", the source line and a caret.
 * fidx < 0 or line == 0: no source to quote ("name: sev: message").
 * Errors count against max_errors; the one that reaches it adds a
 * closing note and stops the lexer.
 */
static void
diag_v(struct tether_conf *c, const char *sev, int fidx, const char *name,
       unsigned line, unsigned col, const char *fmt, va_list ap)
{
	char head[CONF_PATH_MAX + 64], msg[512];
	int is_error = strcmp(sev, "error") == 0;
	int w;

	if (is_error) {
		if (c->nerrors >= c->lim.max_errors)
			return;
		c->nerrors++;
	}
	if (fidx >= 0)
		name = c->files[fidx].name;
	if (name == NULL || name[0] == '\0')
		name = "<input>";
	if (line > 0)
		w = snprintf(head, sizeof(head), "%s:%u:%u: %s: ", name, line,
			     col, sev);
	else
		w = snprintf(head, sizeof(head), "%s: %s: ", name, sev);
	if (w > 0)
		diag_append(c, head,
			    (size_t)w < sizeof(head) ? (size_t)w
						     : sizeof(head) - 1);
	w = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (w > 0)
		diag_append(c, msg, (size_t)w < sizeof(msg) ? (size_t)w
							    : sizeof(msg) - 1);
	diag_str(c, "\n");
	if (fidx >= 0 && line > 0)
		diag_source(c, &c->files[fidx], line, col);
	if (is_error && c->nerrors == c->lim.max_errors) {
		w = snprintf(head, sizeof(head),
			     "%s: note: too many errors (%u), giving up\n",
			     name, c->lim.max_errors);
		if (w > 0)
			diag_append(c, head, (size_t)w < sizeof(head)
						     ? (size_t)w
						     : sizeof(head) - 1);
		c->stop = 1;
	}
}

static void lex_error(struct conf_lexer *lx, unsigned line, unsigned col,
		      const char *fmt, ...) TETHER_PRINTF(4, 5);
static void lex_note(struct conf_lexer *lx, unsigned line, unsigned col,
		     const char *fmt, ...) TETHER_PRINTF(4, 5);
static void file_error(struct tether_conf *c, const char *name,
		       const char *fmt, ...) TETHER_PRINTF(3, 4);

static void
lex_error(struct conf_lexer *lx, unsigned line, unsigned col, const char *fmt,
	  ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_v(lx->c, "error", (int)lx->fidx, NULL, line, col, fmt, ap);
	va_end(ap);
}

static void
lex_note(struct conf_lexer *lx, unsigned line, unsigned col, const char *fmt,
	 ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_v(lx->c, "note", (int)lx->fidx, NULL, line, col, fmt, ap);
	va_end(ap);
}

static void
file_error(struct tether_conf *c, const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_v(c, "error", -1, name, 0, 0, fmt, ap);
	va_end(ap);
}

/* The file a token came from, by its name pointer; -1 if none. */
static int
token_file(const struct tether_conf *c, const struct tether_conf_token *t)
{
	unsigned i;

	if (t == NULL)
		return -1;
	for (i = 0; i < c->nfiles; i++)
		if (c->files[i].name == t->file)
			return (int)i;
	return -1;
}

static void
diag_token(struct tether_conf *c, const char *sev,
	   const struct tether_conf_token *t, const char *fmt, va_list ap)
	TETHER_PRINTF(4, 0);

static void
diag_token(struct tether_conf *c, const char *sev,
	   const struct tether_conf_token *t, const char *fmt, va_list ap)
{
	int fidx = token_file(c, t);

	if (fidx < 0)
		diag_v(c, sev, -1, c->nfiles > 0 ? c->files[0].name : NULL, 0,
		       0, fmt, ap);
	else
		diag_v(c, sev, fidx, NULL, t->line, t->col, fmt, ap);
}

int
tether_conf_error(struct tether_conf *c, const struct tether_conf_token *t,
		  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_token(c, "error", t, fmt, ap);
	va_end(ap);
	return -TETHER_ESYNTAX;
}

void
tether_conf_warn(struct tether_conf *c, const struct tether_conf_token *t,
		 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_token(c, "warning", t, fmt, ap);
	va_end(ap);
}

unsigned
tether_conf_error_count(const struct tether_conf *c)
{
	return c->nerrors;
}

const char *
tether_conf_diagnostics(const struct tether_conf *c)
{
	return c->diag.data != NULL ? (const char *)c->diag.data : "";
}

/* ------------------------------------------------------------------ */
/* The token stream                                                    */
/* ------------------------------------------------------------------ */

const struct tether_conf_token *
tether_conf_peek(const struct tether_conf *c)
{
	if (c->ntoks == 0)
		return &c->eof;
	return &c->toks[c->cursor];
}

const struct tether_conf_token *
tether_conf_next(struct tether_conf *c)
{
	const struct tether_conf_token *t = tether_conf_peek(c);

	if (t->type != TETHER_CONF_EOF)
		c->cursor++;
	return t;
}

int
tether_conf_args(struct tether_conf *c, const struct tether_conf_token *kw,
		 const char *name, int min, int max,
		 const struct tether_conf_token **args, int *rest)
{
	const struct tether_conf_token *t;
	int n = 0;

	*rest = 0;
	for (;;) {
		t = tether_conf_peek(c);
		if (t->type != TETHER_CONF_WORD &&
		    t->type != TETHER_CONF_STRING)
			break;
		if (n >= max) {
			*rest = 1;
			return tether_conf_error(c, t, "too many arguments to "
						 "'%s'", name);
		}
		args[n++] = tether_conf_next(c);
	}
	if (t->type == TETHER_CONF_LBRACE) {
		*rest = 1;
		return tether_conf_error(c, t, "'%s' does not take a block",
					 name);
	}
	if (t->type == TETHER_CONF_EOS)
		tether_conf_next(c);
	if (n < min)
		return tether_conf_error(c, kw, "'%s' needs at least %d "
					 "argument%s", name, min,
					 min == 1 ? "" : "s");
	return n;
}

static int
stmt_open(const struct tether_conf *c)
{
	int t;

	if (c->ntoks == 0)
		return 0;
	t = c->toks[c->ntoks - 1].type;
	return t == TETHER_CONF_WORD || t == TETHER_CONF_STRING;
}

/* Append a token; text is copied into the arena unless it is static
 * punctuation (copy = 0). Past max_tokens (EOF excepted) it is an error
 * that stops the lexer. */
static void
push_tok(struct conf_lexer *lx, int type, const char *text, size_t len,
	 int copy, unsigned line, unsigned col)
{
	struct tether_conf *c = lx->c;
	struct tether_conf_token *t;

	if (c->stop)
		return;
	if (type != TETHER_CONF_EOF && c->ntoks >= c->lim.max_tokens) {
		lex_error(lx, line, col, "too many tokens (limit %zu)",
			  c->lim.max_tokens);
		c->stop = 1;
		return;
	}
	/* Keep one slot spare so load_run can always end the stream. */
	if (c->ntoks + 1 >= c->toks_cap) {
		size_t cap = c->toks_cap ? c->toks_cap * 2 : 64;

		t = tether_reallocarray(c->toks, cap, sizeof(*t));
		if (t == NULL)
			goto oom;
		c->toks = t;
		c->toks_cap = cap;
	}
	if (copy) {
		text = tether_arena_strndup(c->arena, text, len);
		if (text == NULL)
			goto oom;
	}
	if ((type == TETHER_CONF_WORD || type == TETHER_CONF_STRING) &&
	    !stmt_open(c))
		c->stmt_start = c->ntoks;
	t = &c->toks[c->ntoks++];
	t->type = type;
	t->text = text;
	t->len = len;
	t->file = c->files[lx->fidx].name;
	t->line = line;
	t->col = col;
	return;
oom:
	c->oom = 1;
	c->stop = 1;
}

/* ------------------------------------------------------------------ */
/* Reading files                                                       */
/* ------------------------------------------------------------------ */

/*
 * Read fd whole into a fresh buffer of at most max bytes. Returns 0,
 * -TETHER_EMSGSIZE when the file is larger, -TETHER_ENOMEM, or the
 * mapped errno of read.
 */
static int
read_all(int fd, size_t hint, size_t max, unsigned char **out /* OUT */,
	 size_t *len_out /* OUT */)
{
	size_t cap = (hint < max ? hint : max) + 1, len = 0;
	unsigned char *buf = tether_malloc(cap), *nb;
	int rc;

	if (buf == NULL)
		return -TETHER_ENOMEM;
	for (;;) {
		ssize_t r;

		if (len == cap) {
			/* One byte past max tells "too large" from "exactly
			 * max"; the file may have grown since fstat. */
			if (cap > max) {
				rc = -TETHER_EMSGSIZE;
				goto fail;
			}
			cap = cap > max / 2 ? max + 1 : cap * 2;
			nb = tether_realloc(buf, cap);
			if (nb == NULL) {
				rc = -TETHER_ENOMEM;
				goto fail;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = tether_err_from_errno(errno);
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > max) {
		rc = -TETHER_EMSGSIZE;
		goto fail;
	}
	*out = buf;
	*len_out = len;
	return 0;
fail:
	tether_free(buf);
	return rc;
}

/* Register a file's bytes (taken over: freed with c) under a copy of
 * name. Returns the file index, or -1 when out of memory (data freed). */
static int
add_file(struct tether_conf *c, const char *name, unsigned char *data,
	 size_t len)
{
	struct conf_file *files;
	char *n = tether_arena_strndup(c->arena, name, strlen(name));

	files = n != NULL ? tether_reallocarray(c->files, c->nfiles + 1,
						sizeof(*files))
			  : NULL;
	if (files == NULL) {
		tether_free(data);
		c->oom = 1;
		c->stop = 1;
		return -1;
	}
	c->files = files;
	files[c->nfiles].name = n;
	files[c->nfiles].data = data;
	files[c->nfiles].len = len;
	return (int)c->nfiles++;
}

/* ------------------------------------------------------------------ */
/* The lexer                                                           */
/* ------------------------------------------------------------------ */

static void lex_file(struct tether_conf *c, unsigned fidx,
		     unsigned include_depth);

static unsigned
lex_col(const struct conf_lexer *lx, size_t at)
{
	size_t col = at - lx->line_start + 1;

	return col > UINT_MAX ? UINT_MAX : (unsigned)col;
}

static int
has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Read path and lex it in place of the include statement at tok. */
static void
include_one(struct conf_lexer *lx, const struct tether_conf_token *tok,
	    const char *path)
{
	struct tether_conf *c = lx->c;
	struct stat st;
	unsigned char *data = NULL;
	size_t len = 0;
	unsigned i;
	int fd, rc, fidx;

	if (c->nfiles >= c->lim.max_files) {
		lex_error(lx, tok->line, tok->col,
			  "too many configuration files (limit %u)",
			  c->lim.max_files);
		c->stop = 1;
		return;
	}
	fd = open(path, CONF_OPEN_FLAGS);
	if (fd < 0) {
		lex_error(lx, tok->line, tok->col,
			  "cannot open include file '%s': %s", path,
			  strerror(errno));
		return;
	}
	if (fstat(fd, &st) < 0) {
		lex_error(lx, tok->line, tok->col, "include file '%s': %s",
			  path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		lex_error(lx, tok->line, tok->col,
			  "include file '%s' is not a regular file", path);
		goto out;
	}
	for (i = 0; i < c->nopen; i++) {
		if (c->open[i].has_id && c->open[i].dev == st.st_dev &&
		    c->open[i].ino == st.st_ino) {
			lex_error(lx, tok->line, tok->col,
				  "include cycle: '%s' is already being read",
				  path);
			goto out;
		}
	}
	rc = read_all(fd, (size_t)st.st_size, c->lim.max_file_size, &data,
		      &len);
	if (rc == -TETHER_ENOMEM) {
		c->oom = 1;
		c->stop = 1;
		goto out;
	}
	if (rc == -TETHER_EMSGSIZE) {
		lex_error(lx, tok->line, tok->col,
			  "include file '%s' is larger than %zu bytes", path,
			  c->lim.max_file_size);
		goto out;
	}
	if (rc < 0) {
		lex_error(lx, tok->line, tok->col,
			  "cannot read include file '%s': %s", path,
			  tether_strerror(rc));
		goto out;
	}
	fidx = add_file(c, path, data, len);
	if (fidx < 0)
		goto out;
	c->open[c->nopen].dev = st.st_dev;
	c->open[c->nopen].ino = st.st_ino;
	c->open[c->nopen].has_id = 1;
	c->nopen++;
	lex_file(c, (unsigned)fidx, lx->include_depth + 1);
	c->nopen--;
out:
	close(fd);
}

/*
 * full = dir[0..dlen) "/" name (just name when dir is NULL). For a glob
 * pattern the directory part is escaped: only the name written in the
 * file is a pattern, the including file's directory (which may hold a
 * '[' or '*') is taken literally. Returns 0 when it does not fit.
 */
static int
join_path(char full[CONF_PATH_MAX], const char *dir, size_t dlen,
	  const char *name, int pattern)
{
	size_t n = 0, i, nlen = strlen(name);

	for (i = 0; dir != NULL && i < dlen; i++) {
		if (n + 2 >= CONF_PATH_MAX)
			return 0;
		if (pattern && strchr("*?[]\\", dir[i]) != NULL)
			full[n++] = '\\';
		full[n++] = dir[i];
	}
	if (dir != NULL)
		full[n++] = '/';
	if (n + nlen + 1 > CONF_PATH_MAX)
		return 0;
	memcpy(full + n, name, nlen + 1);
	return 1;
}

/* The statement starting at c->stmt_start is `include ...`: check it,
 * pop it, and splice in the files it names. */
static void
do_include(struct conf_lexer *lx)
{
	struct tether_conf *c = lx->c;
	struct tether_conf_token kw = c->toks[c->stmt_start], path;
	const char *dir = c->files[lx->fidx].name, *slash;
	char full[CONF_PATH_MAX];
	size_t n = c->ntoks - c->stmt_start;
	int w, pattern, ok;

	path = n == 2 ? c->toks[c->stmt_start + 1] : kw;
	c->ntoks = c->stmt_start;
	if (c->lim.flags & TETHER_CONF_NO_INCLUDE) {
		lex_error(lx, kw.line, kw.col, "include is not allowed here");
		return;
	}
	if (n != 2) {
		lex_error(lx, kw.line, kw.col,
			  "include expects one file name");
		return;
	}
	if (path.len == 0) {
		lex_error(lx, path.line, path.col, "empty include file name");
		return;
	}
	if (lx->include_depth + 1 > c->lim.max_include_depth) {
		lex_error(lx, path.line, path.col,
			  "includes nested too deeply (limit %u)",
			  c->lim.max_include_depth);
		return;
	}
	pattern = has_glob(path.text);
	slash = strrchr(dir, '/');
	if (path.text[0] == '/' || slash == NULL)
		ok = join_path(full, NULL, 0, path.text, pattern);
	else
		ok = join_path(full, dir, (size_t)(slash - dir), path.text,
			       pattern);
	if (!ok) {
		lex_error(lx, path.line, path.col, "include path too long");
		return;
	}
	if (pattern) {
		glob_t g;
		size_t i;

		memset(&g, 0, sizeof(g));
		w = glob(full, 0, NULL, &g);
		if (w == GLOB_NOSPACE) {
			c->oom = 1;
			c->stop = 1;
		} else if (w == GLOB_ABORTED) {
			lex_error(lx, path.line, path.col,
				  "cannot read the directory of '%s'", full);
		} else if (w == 0) {
			for (i = 0; i < g.gl_pathc && !c->stop; i++)
				include_one(lx, &path, g.gl_pathv[i]);
		}
		globfree(&g);
		return;
	}
	include_one(lx, &path, full);
}

/* A statement ends here (newline, ';', '}' or end of file). */
static void
end_stmt(struct conf_lexer *lx, unsigned line, unsigned col)
{
	struct tether_conf *c = lx->c;
	const struct tether_conf_token *first;

	if (c->stop || !stmt_open(c))
		return;
	first = &c->toks[c->stmt_start];
	if (first->type == TETHER_CONF_WORD &&
	    strcmp(first->text, "include") == 0) {
		do_include(lx);
		return;
	}
	push_tok(lx, TETHER_CONF_EOS, ";", 1, 0, line, col);
}

static int
is_ctl(unsigned char b)
{
	return (b < 0x20 && b != '\t') || b == 0x7f;
}

static int
is_word_byte(unsigned char b)
{
	switch (b) {
	case ' ': case '\t': case '\r': case '\n': case ';': case '{':
	case '}': case '"': case '\'':
		return 0;
	default:
		return !is_ctl(b);
	}
}

/* Quote a byte for a message: 'x' printable, else \xNN. */
static const char *
show_byte(unsigned char b, char buf[8])
{
	if (b >= 0x20 && b < 0x7f)
		snprintf(buf, 8, "%c", b);
	else
		snprintf(buf, 8, "\\x%02x", b);
	return buf;
}

/* A "..." or '...' string starting at lx->i; the value goes into the
 * stream even after an error, so one mistake gives one diagnostic. */
static void
lex_string(struct conf_lexer *lx)
{
	struct tether_conf *c = lx->c;
	unsigned char quote = lx->p[lx->i];
	unsigned line = lx->line, col = lex_col(lx, lx->i);
	size_t n = 0, max = c->lim.max_token_len;
	int too_long = 0;
	char bb[8];

	lx->i++;
	for (;;) {
		unsigned char b, v;

		if (lx->i >= lx->len || lx->p[lx->i] == '\n') {
			lex_error(lx, line, col, "unterminated string");
			break;
		}
		b = lx->p[lx->i];
		if (b == quote) {
			lx->i++;
			break;
		}
		if (b == '\\' && quote == '"') {
			if (lx->i + 1 >= lx->len || lx->p[lx->i + 1] == '\n') {
				lx->i++;
				continue;	/* reported as unterminated */
			}
			switch (lx->p[lx->i + 1]) {
			case '"':
				v = '"';
				break;
			case '\\':
				v = '\\';
				break;
			case 'n':
				v = '\n';
				break;
			case 't':
				v = '\t';
				break;
			default:
				lex_error(lx, lx->line, lex_col(lx, lx->i),
					  "unknown escape sequence '\\%s'",
					  show_byte(lx->p[lx->i + 1], bb));
				lx->i += 2;
				continue;
			}
			lx->i += 2;
		} else if (b == '\0') {
			lex_error(lx, lx->line, lex_col(lx, lx->i),
				  "NUL byte in input");
			lx->i++;
			continue;
		} else if (is_ctl(b)) {
			lex_error(lx, lx->line, lex_col(lx, lx->i),
				  "control character 0x%02x in string", b);
			lx->i++;
			continue;
		} else {
			v = b;
			lx->i++;
		}
		if (n < max) {
			c->scratch[n++] = v;
		} else if (!too_long) {
			too_long = 1;
			lex_error(lx, line, col, "string longer than %zu bytes",
				  max);
		}
		if (c->stop)
			return;
	}
	push_tok(lx, TETHER_CONF_STRING, (const char *)c->scratch, n, 1, line,
		 col);
}

static void
lex_word(struct conf_lexer *lx)
{
	size_t start = lx->i;
	unsigned col = lex_col(lx, start);

	while (lx->i < lx->len && is_word_byte(lx->p[lx->i]))
		lx->i++;
	if (lx->i - start > lx->c->lim.max_token_len) {
		lex_error(lx, lx->line, col, "word longer than %zu bytes",
			  lx->c->lim.max_token_len);
		return;
	}
	push_tok(lx, TETHER_CONF_WORD, (const char *)lx->p + start,
		 lx->i - start, 1, lx->line, col);
}

/* The end of a line at lx->i (a newline or the end of the input). */
static void
check_line_len(struct conf_lexer *lx)
{
	size_t max = lx->c->lim.max_line_len;

	if (lx->i - lx->line_start > max)
		lex_error(lx, lx->line, lex_col(lx, lx->line_start + max),
			  "line longer than %zu bytes", max);
}

static void
lex_file(struct tether_conf *c, unsigned fidx, unsigned include_depth)
{
	struct conf_lexer lx;
	unsigned eof_line, eof_col;
	char bb[8];

	memset(&lx, 0, sizeof(lx));
	lx.c = c;
	lx.fidx = fidx;
	lx.p = c->files[fidx].data;
	lx.len = c->files[fidx].len;
	lx.line = 1;
	lx.include_depth = include_depth;

	while (lx.i < lx.len && !c->stop) {
		unsigned char b = lx.p[lx.i];
		unsigned col = lex_col(&lx, lx.i);

		switch (b) {
		case '\n':
			check_line_len(&lx);
			end_stmt(&lx, lx.line, col);
			lx.i++;
			if (lx.line < UINT_MAX)
				lx.line++;
			lx.line_start = lx.i;
			break;
		case ' ':
		case '\t':
		case '\r':
			lx.i++;
			break;
		case '#':
			while (lx.i < lx.len && lx.p[lx.i] != '\n') {
				if (lx.p[lx.i] == '\0')
					lex_error(&lx, lx.line,
						  lex_col(&lx, lx.i),
						  "NUL byte in input");
				lx.i++;
			}
			break;
		case ';':
			end_stmt(&lx, lx.line, col);
			lx.i++;
			break;
		case '{':
			if (stmt_open(c) &&
			    c->toks[c->stmt_start].type == TETHER_CONF_WORD &&
			    strcmp(c->toks[c->stmt_start].text, "include") ==
				    0) {
				lex_error(&lx, lx.line, col,
					  "include does not take a block");
				c->ntoks = c->stmt_start;
			}
			if (lx.depth >= c->lim.max_nesting) {
				lex_error(&lx, lx.line, col,
					  "blocks nested too deeply "
					  "(limit %u)", c->lim.max_nesting);
				c->stop = 1;
				break;
			}
			lx.brace_line[lx.depth] = lx.line;
			lx.brace_col[lx.depth] = col;
			lx.depth++;
			push_tok(&lx, TETHER_CONF_LBRACE, "{", 1, 0, lx.line,
				 col);
			lx.i++;
			break;
		case '}':
			if (lx.depth == 0) {
				lex_error(&lx, lx.line, col,
					  "unexpected '}' without a "
					  "matching '{'");
				lx.i++;
				break;
			}
			end_stmt(&lx, lx.line, col);
			lx.depth--;
			push_tok(&lx, TETHER_CONF_RBRACE, "}", 1, 0, lx.line,
				 col);
			lx.i++;
			break;
		case '"':
		case '\'':
			lex_string(&lx);
			break;
		case '\0':
			lex_error(&lx, lx.line, col, "NUL byte in input");
			lx.i++;
			break;
		default:
			if (is_ctl(b)) {
				lex_error(&lx, lx.line, col,
					  "unexpected control character "
					  "'%s'", show_byte(b, bb));
				lx.i++;
				break;
			}
			lex_word(&lx);
			break;
		}
	}
	if (c->stop)
		return;
	check_line_len(&lx);
	/* End of file: after the last byte, or on the final newline so a
	 * diagnostic quotes the last line rather than an empty one. */
	eof_line = lx.line;
	eof_col = lex_col(&lx, lx.i);
	if (lx.len > 0 && lx.p[lx.len - 1] == '\n' && lx.line > 1) {
		const unsigned char *prev = lx.p + lx.len - 1;
		size_t ls = lx.len - 1;

		while (ls > 0 && lx.p[ls - 1] != '\n')
			ls--;
		eof_line = lx.line - 1;
		eof_col = (unsigned)((size_t)(prev - lx.p) - ls + 1);
	}
	end_stmt(&lx, eof_line, eof_col);
	if (lx.depth > 0 && !c->stop) {
		unsigned d = lx.depth - 1;

		lex_error(&lx, eof_line, eof_col,
			  "expected '}' at end of input");
		lex_note(&lx, lx.brace_line[d], lx.brace_col[d],
			 "to match this '{'");
	}
	if (include_depth == 0)
		push_tok(&lx, TETHER_CONF_EOF, "", 0, 0, eof_line, eof_col);
}

/* ------------------------------------------------------------------ */
/* Loading                                                             */
/* ------------------------------------------------------------------ */

static int
load_start(struct tether_conf *c)
{
	if (c->loaded)
		return -TETHER_EINVAL;
	c->loaded = 1;
	c->scratch = tether_malloc(c->lim.max_token_len);
	if (c->scratch == NULL)
		return -TETHER_ENOMEM;
	return 0;
}

/* Lex top file fidx; the result of the whole load. */
static int
load_run(struct tether_conf *c, unsigned fidx)
{
	lex_file(c, fidx, 0);
	/* Should the stream end up empty, its EOF is at the file's start. */
	c->eof.file = c->files[fidx].name;
	c->eof.line = 1;
	c->eof.col = 1;
	if (c->oom) {
		c->ntoks = 0;	/* walkable: a bare EOF */
		return -TETHER_ENOMEM;
	}
	if (c->ntoks > 0 && c->toks[c->ntoks - 1].type != TETHER_CONF_EOF) {
		/* The lexer gave up early; end the stream anyway, in the
		 * slot push_tok keeps spare. */
		c->toks[c->ntoks] = c->toks[c->ntoks - 1];
		c->toks[c->ntoks].type = TETHER_CONF_EOF;
		c->toks[c->ntoks].text = "";
		c->toks[c->ntoks].len = 0;
		c->ntoks++;
	}
	return c->nerrors > 0 ? -TETHER_ESYNTAX : 0;
}

int
tether_conf_load_mem(struct tether_conf *c, const char *name,
		     const void *data, size_t len)
{
	unsigned char *copy;
	int rc, fidx;

	if (c == NULL || (data == NULL && len > 0))
		return -TETHER_EINVAL;
	if (name == NULL || name[0] == '\0')
		name = "<input>";
	rc = load_start(c);
	if (rc < 0)
		return rc;
	if (len > c->lim.max_file_size) {
		file_error(c, name, "input is larger than %zu bytes",
			   c->lim.max_file_size);
		return c->oom ? -TETHER_ENOMEM : -TETHER_EMSGSIZE;
	}
	copy = tether_malloc(len);
	if (copy == NULL)
		return -TETHER_ENOMEM;
	if (len > 0)
		memcpy(copy, data, len);
	fidx = add_file(c, name, copy, len);
	if (fidx < 0)
		return -TETHER_ENOMEM;
	c->open[0].has_id = 0;
	c->nopen = 1;
	rc = load_run(c, (unsigned)fidx);
	c->nopen = 0;
	return rc;
}

int
tether_conf_load_file(struct tether_conf *c, const char *path)
{
	struct stat st;
	unsigned char *data = NULL;
	size_t len = 0;
	int fd = -1, rc, fidx;

	if (c == NULL || path == NULL || path[0] == '\0')
		return -TETHER_EINVAL;
	rc = load_start(c);
	if (rc < 0)
		return rc;
	fd = open(path, CONF_OPEN_FLAGS);
	if (fd < 0) {
		rc = tether_err_from_errno(errno);
		file_error(c, path, "cannot open: %s", strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) < 0) {
		rc = tether_err_from_errno(errno);
		file_error(c, path, "%s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -TETHER_EINVAL;
		file_error(c, path, "not a regular file");
		goto fail;
	}
	rc = read_all(fd, (size_t)st.st_size, c->lim.max_file_size, &data,
		      &len);
	if (rc == -TETHER_EMSGSIZE)
		file_error(c, path, "file is larger than %zu bytes",
			   c->lim.max_file_size);
	else if (rc < 0 && rc != -TETHER_ENOMEM)
		file_error(c, path, "cannot read: %s", tether_strerror(rc));
	if (rc < 0)
		goto fail;
	close(fd);
	fidx = add_file(c, path, data, len);
	if (fidx < 0)
		return -TETHER_ENOMEM;
	c->open[0].dev = st.st_dev;
	c->open[0].ino = st.st_ino;
	c->open[0].has_id = 1;
	c->nopen = 1;
	rc = load_run(c, (unsigned)fidx);
	c->nopen = 0;
	return rc;
fail:
	if (fd >= 0)
		close(fd);
	if (c->oom)
		return -TETHER_ENOMEM;
	return rc;
}
