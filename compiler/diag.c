/*
 * diag.c - the compiler's context: one arena for everything (freed at
 * exit), and diagnostics printed the way GCC prints them, with the
 * original source line (not cpp's rewrite of it) and a caret.
 */
#include "rpcgen.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int
rg_ctx_init(struct rg_ctx *c, FILE *err, size_t max_bytes)
{
	memset(c, 0, sizeof(*c));
	c->err = err;
	c->arena = tether_arena_new(64 * 1024, max_bytes);
	if (c->arena == NULL)
		return -TETHER_ENOMEM;
	return 0;
}

void
rg_ctx_fini(struct rg_ctx *c)
{
	rg_flush_diags(c);
	tether_free(c->pend);
	c->pend = NULL;
	tether_arena_free(c->arena);
	c->arena = NULL;
}

void *
rg_alloc(struct rg_ctx *c, size_t n)
{
	void *p = tether_arena_alloc(c->arena, n);

	if (p == NULL) {
		if (c->err != NULL)
			fprintf(c->err, "tether-rpcgen: out of memory\n");
		c->nerrors++;
		TETHER_BUG_ON(c->oom == NULL);
		longjmp(*c->oom, 1);
	}
	memset(p, 0, n);
	return p;
}

char *
rg_strndup(struct rg_ctx *c, const char *s, size_t n)
{
	char *p = rg_alloc(c, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
rg_strdup(struct rg_ctx *c, const char *s)
{
	return rg_strndup(c, s, strlen(s));
}

char *
rg_printf(struct rg_ctx *c, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	TETHER_BUG_ON(n < 0);
	p = rg_alloc(c, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

const char *
rg_lower(struct rg_ctx *c, const char *s)
{
	char *p = rg_strdup(c, s);
	char *q;

	for (q = p; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	return p;
}

/* The original file named by a line marker, read once and cached. */
static const struct rg_srcfile *
source_file(struct rg_ctx *c, const char *name)
{
	struct rg_srcfile *s;
	FILE *f;

	for (s = c->srcs; s != NULL; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	s = rg_alloc(c, sizeof(*s));
	s->name = name;
	s->next = c->srcs;
	c->srcs = s;
	f = fopen(name, "rb");
	if (f != NULL) {
		char *buf = NULL;
		size_t len = 0, cap = 0, n;

		for (;;) {
			if (cap - len < 4096) {
				char *nb;

				if (cap >= (64u << 20))
					break;
				cap = cap ? cap * 2 : 65536;
				nb = tether_realloc(buf, cap);
				if (nb == NULL)
					break;
				buf = nb;
			}
			n = fread(buf + len, 1, cap - len, f);
			if (n == 0)
				break;
			len += n;
		}
		fclose(f);
		if (len > 0) {
			s->text = rg_strndup(c, buf, len);
			s->len = len;
		}
		tether_free(buf);
	}
	return s;
}

/* Line lineno (1-based) of a source file, or NULL. */
static const char *
find_line(const struct rg_srcfile *s, int lineno, const char **end)
{
	const char *p, *e;
	int l = 1;

	if (s->text == NULL || lineno < 1)
		return NULL;
	p = s->text;
	e = s->text + s->len;
	while (l < lineno) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));

		if (nl == NULL)
			return NULL;
		p = nl + 1;
		l++;
	}
	*end = memchr(p, '\n', (size_t)(e - p));
	if (*end == NULL)
		*end = e;
	return p;
}

static int
is_word(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_';
}

/* The nth (0-based) whole-word occurrence of tok in [p, e), or NULL. */
static const char *
nth_occurrence(const char *p, const char *e, const char *tok, size_t len,
	       int n)
{
	const char *q;
	int word = is_word(tok[0]);

	for (q = p; q + len <= e; q++) {
		if (memcmp(q, tok, len) != 0)
			continue;
		if (word && ((q > p && is_word(q[-1])) ||
			     (q + len < e && is_word(q[len]))))
			continue;
		if (n-- == 0)
			return q;
	}
	return NULL;
}

/*
 * cpp squeezes whitespace and expands macros, so a token's column in
 * cpp's output is not its column in the file. Find the same token in
 * the original line: the same whole-word occurrence count before it.
 */
static const char *
map_to_source(const struct rg_token *t, const char *sl, const char *se)
{
	const char *q;
	int n = 0;

	for (q = t->lbeg; q < t->lbeg + t->col - 1;) {
		q = nth_occurrence(q, t->lbeg + t->col - 1, t->text, t->len,
				   0);
		if (q == NULL)
			break;
		n++;
		q += t->len;
	}
	return nth_occurrence(sl, se, t->text, t->len, n);
}

/* GCC counts columns in display units with tabs to the next 8. */
static int
display_col(const char *l, const char *at)
{
	int col = 0;

	for (; l < at; l++)
		col = *l == '\t' ? (col / 8 + 1) * 8 : col + 1;
	return col + 1;
}

static void
print_expanded(FILE *f, const char *l, const char *e)
{
	int col = 0;

	for (; l < e; l++) {
		if (*l == '\t') {
			do
				fputc(' ', f);
			while (++col % 8 != 0);
		} else if (*l != '\r') {
			fputc(*l, f);
			col++;
		}
	}
}

static void
format(struct rg_ctx *c, FILE *f, const struct rg_token *t, const char *kind,
       const char *fmt, va_list ap)
{
	const char *l = NULL, *le = NULL, *at = NULL;
	int col, i, width;

	if (t == NULL) {
		fprintf(f, "tether-rpcgen: %s: ", kind);
		vfprintf(f, fmt, ap);
		fputc('\n', f);
		return;
	}
	if (c->read_sources) {
		const struct rg_srcfile *s = source_file(c, t->file);

		l = find_line(s, t->line, &le);
		if (l != NULL && t->kind != RG_TK_EOF && t->text[0] != '\0')
			at = map_to_source(t, l, le);
	}
	if (at == NULL) {
		/* no original: show what was read */
		l = t->lbeg;
		le = t->lend;
		at = t->lbeg + t->col - 1;
		if (at > le)
			at = le;
	}
	col = display_col(l, at);
	fprintf(f, "%s:%d:%d: %s: ", t->file, t->line, col, kind);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
	width = fprintf(f, "%5d", t->line);
	fputs(" | ", f);
	print_expanded(f, l, le);
	fputc('\n', f);
	fprintf(f, "%*s | ", width, "");
	fprintf(f, "%*s^", col - 1, "");
	for (i = 1; i < (int)t->len && t->kind != RG_TK_EOF &&
		    t->kind != RG_TK_PERCENT; i++)
		fputc('~', f);
	fputc('\n', f);
}

void
rg_flush_diags(struct rg_ctx *c)
{
	int i, j;

	/* stable insertion sort by position: at most RG_MAX_PENDING */
	for (i = 1; i < c->npend; i++) {
		struct rg_pending p = c->pend[i];

		for (j = i; j > 0 && c->pend[j - 1].seq > p.seq; j--)
			c->pend[j] = c->pend[j - 1];
		c->pend[j] = p;
	}
	for (i = 0; i < c->npend; i++) {
		if (c->err != NULL)
			fputs(c->pend[i].text, c->err);
		tether_free(c->pend[i].text);
	}
	c->npend = 0;
}

/*
 * Format one diagnostic and hold it back (an error or warning opens an
 * entry, a note joins the last one), so that output comes in source
 * order although the checker finds things in its own order.
 */
static void
report(struct rg_ctx *c, const struct rg_token *t, const char *kind,
       const char *fmt, va_list ap)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int note = strcmp(kind, "note") == 0;

	if (c->err == NULL)
		return;
	f = open_memstream(&text, &len);
	if (f == NULL) {
		format(c, c->err, t, kind, fmt, ap);
		return;
	}
	format(c, f, t, kind, fmt, ap);
	fclose(f);
	/* open_memstream allocates with malloc; keep it in the hook's
	 * accounting by copying */
	{
		char *copy = tether_strdup(text);

		free(text);
		text = copy;
	}
	if (text == NULL)
		return;
	if (note && c->npend > 0) {
		struct rg_pending *p = &c->pend[c->npend - 1];
		size_t a = strlen(p->text), b = strlen(text);
		char *joined = tether_realloc(p->text, a + b + 1);

		if (joined != NULL) {
			memcpy(joined + a, text, b + 1);
			p->text = joined;
		}
		tether_free(text);
		return;
	}
	if (c->pend == NULL) {
		c->pend = tether_calloc(RG_MAX_PENDING, sizeof(*c->pend));
		if (c->pend == NULL) {
			fputs(text, c->err);
			tether_free(text);
			return;
		}
	}
	if (c->npend == RG_MAX_PENDING)
		rg_flush_diags(c);
	c->pend[c->npend].seq = t != NULL ? t->seq : 0x7fffffff;
	c->pend[c->npend].text = text;
	c->npend++;
}

void
rg_error(struct rg_ctx *c, const struct rg_token *tok, const char *fmt, ...)
{
	va_list ap;

	c->nerrors++;
	if (c->too_many)
		return;
	if (c->nerrors > RG_MAX_ERRORS) {
		c->too_many = 1;
		va_start(ap, fmt);
		report(c, NULL, "error", "too many errors, stopping", ap);
		va_end(ap);
		return;
	}
	va_start(ap, fmt);
	report(c, tok, "error", fmt, ap);
	va_end(ap);
}

void
rg_warn(struct rg_ctx *c, const struct rg_token *tok, const char *fmt, ...)
{
	va_list ap;

	c->nwarnings++;
	if (c->too_many || c->no_warn)
		return;
	va_start(ap, fmt);
	report(c, tok, "warning", fmt, ap);
	va_end(ap);
}

void
rg_note(struct rg_ctx *c, const struct rg_token *tok, const char *fmt, ...)
{
	va_list ap;

	if (c->too_many)
		return;
	va_start(ap, fmt);
	report(c, tok, "note", fmt, ap);
	va_end(ap);
}
