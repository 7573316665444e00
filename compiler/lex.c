/*
 * lex.c - splits the preprocessed .x text into tokens. Besides the RPC
 * language's words, numbers and punctuation it understands what cpp
 * leaves behind (line markers "# N "file"", comments kept by -C) and
 * rpcgen's "%" pass-through lines.
 */
#include "rpcgen.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

struct lexer {
	struct rg_ctx *c;
	const char *p;		/* cursor */
	const char *end;
	const char *lbeg;	/* start of the current line */
	const char *file;
	int line;
	struct rg_token head;
	struct rg_token *tail;
	int nseq;		/* tokens made so far */
};

static const char *
line_end(const struct lexer *L)
{
	const char *e = memchr(L->lbeg, '\n', (size_t)(L->end - L->lbeg));

	return e ? e : L->end;
}

static struct rg_token *
new_token(struct lexer *L, enum rg_tok_kind kind, const char *s, size_t len)
{
	struct rg_token *t = rg_alloc(L->c, sizeof(*t));

	t->kind = kind;
	t->text = rg_strndup(L->c, s, len);
	t->len = len;
	t->file = L->file;
	t->line = L->line;
	t->col = (int)(s - L->lbeg) + 1;
	t->lbeg = L->lbeg;
	t->lend = line_end(L);
	t->seq = ++L->nseq;
	L->tail->next = t;
	L->tail = t;
	return t;
}

/* A token only to hang an error on. */
static struct rg_token
here(struct lexer *L, const char *s)
{
	struct rg_token t;

	memset(&t, 0, sizeof(t));
	t.kind = RG_TK_PUNCT;
	t.text = "";
	t.len = 1;
	t.file = L->file;
	t.line = L->line;
	t.col = (int)(s - L->lbeg) + 1;
	t.lbeg = L->lbeg;
	t.lend = line_end(L);
	t.seq = L->nseq + 1;	/* before the token that follows */
	return t;
}

static void
newline(struct lexer *L)
{
	L->line++;
	L->lbeg = L->p;
}

/* Only blanks between the start of the line and s? */
static int
at_line_start(const struct lexer *L, const char *s)
{
	const char *q;

	for (q = L->lbeg; q < s; q++)
		if (*q != ' ' && *q != '\t')
			return 0;
	return 1;
}

static void
skip_to_eol(struct lexer *L)
{
	while (L->p < L->end && *L->p != '\n')
		L->p++;
}

/*
 * "# 12 "file" flags" or "#line 12 "file"": the next line is line 12 of
 * file. Anything else starting with # is a directive cpp should have
 * handled: #pragma and #ident are ignored, the rest is an error (the
 * input was not preprocessed, as when fuzzing).
 */
static void
directive(struct lexer *L)
{
	const char *s = L->p;
	const char *q = L->p + 1;
	long n = 0;
	int digits = 0;

	while (q < L->end && (*q == ' ' || *q == '\t'))
		q++;
	if (L->end - q >= 4 && memcmp(q, "line", 4) == 0) {
		q += 4;
		while (q < L->end && (*q == ' ' || *q == '\t'))
			q++;
	}
	while (q < L->end && isdigit((unsigned char)*q)) {
		if (n < 100000000)
			n = n * 10 + (*q - '0');
		digits++;
		q++;
	}
	if (digits > 0) {
		while (q < L->end && (*q == ' ' || *q == '\t'))
			q++;
		if (q < L->end && *q == '"') {
			const char *f = ++q;

			while (q < L->end && *q != '"' && *q != '\n')
				q++;
			L->file = rg_strndup(L->c, f, (size_t)(q - f));
		}
		skip_to_eol(L);
		/* the newline that follows starts line n */
		L->line = (int)n - 1;
		return;
	}
	if ((L->end - q >= 6 && memcmp(q, "pragma", 6) == 0) ||
	    (L->end - q >= 5 && memcmp(q, "ident", 5) == 0)) {
		skip_to_eol(L);
		return;
	}
	{
		struct rg_token t = here(L, s);

		rg_error(L->c, &t, "preprocessor directive in input that was "
				   "not preprocessed");
	}
	skip_to_eol(L);
}

static void
number(struct lexer *L)
{
	const char *s = L->p;
	const char *q = s;
	int neg = 0, base = 10;
	uint64_t v = 0;
	int bad = 0;
	struct rg_token *t;

	if (*q == '-') {
		neg = 1;
		q++;
	}
	if (*q == '0' && q + 1 < L->end && (q[1] == 'x' || q[1] == 'X')) {
		base = 16;
		q += 2;
	} else if (*q == '0') {
		base = 8;
	}
	for (; q < L->end && isalnum((unsigned char)*q); q++) {
		int d;

		if (isdigit((unsigned char)*q))
			d = *q - '0';
		else if (base == 16 && isxdigit((unsigned char)*q))
			d = tolower((unsigned char)*q) - 'a' + 10;
		else
			d = 99;
		if (d >= base) {
			bad = 2;
			continue;
		}
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			bad = bad ? bad : 1;
		else
			v = v * (uint64_t)base + (uint64_t)d;
	}
	L->p = q;
	t = new_token(L, RG_TK_NUM, s, (size_t)(q - s));
	if (bad == 2) {
		rg_error(L->c, t, "invalid digit in number '%s'", t->text);
		t->num_bad = 1;
	} else if (bad == 1 || (neg && v > (uint64_t)INT64_MAX + 1) ||
		   (!neg && v > (uint64_t)INT64_MAX)) {
		/* 64-bit signed covers every value an XDR type holds
		 * except unsigned hyper's top half */
		rg_error(L->c, t, "integer constant '%s' is too large",
			 t->text);
		t->num_bad = 1;
	} else if (neg) {
		t->num = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN
						      : -(int64_t)v;
	} else {
		t->num = (int64_t)v;
	}
}

struct rg_token *
rg_tokenize(struct rg_ctx *c, const char *file, const char *text, size_t len)
{
	struct lexer L;

	memset(&L, 0, sizeof(L));
	L.c = c;
	L.p = text;
	L.end = text + len;
	L.lbeg = text;
	L.file = file;
	L.line = 1;
	L.tail = &L.head;

	while (L.p < L.end) {
		const char *s = L.p;
		unsigned char ch = (unsigned char)*s;

		if (ch == '\n') {
			L.p++;
			newline(&L);
			continue;
		}
		if (isspace(ch)) {
			L.p++;
			continue;
		}
		if (ch == '/' && s + 1 < L.end && s[1] == '*') {
			const char *q = s + 2;

			for (;;) {
				if (q + 1 >= L.end) {
					struct rg_token t = here(&L, s);

					rg_error(c, &t, "unterminated comment");
					L.p = L.end;
					break;
				}
				if (q[0] == '*' && q[1] == '/') {
					L.p = q + 2;
					break;
				}
				if (*q == '\n') {
					L.p = q + 1;
					newline(&L);
				}
				q++;
			}
			continue;
		}
		if (ch == '/' && s + 1 < L.end && s[1] == '/') {
			skip_to_eol(&L);
			continue;
		}
		if ((ch == '%' || ch == '#') && at_line_start(&L, s)) {
			if (ch == '#') {
				directive(&L);
			} else {
				L.p = s + 1;
				skip_to_eol(&L);
				new_token(&L, RG_TK_PERCENT, s + 1,
					  (size_t)(L.p - s - 1));
			}
			continue;
		}
		if (isalpha(ch) || ch == '_') {
			const char *q = s;

			while (q < L.end &&
			       (isalnum((unsigned char)*q) || *q == '_'))
				q++;
			L.p = q;
			new_token(&L, RG_TK_IDENT, s, (size_t)(q - s));
			continue;
		}
		if (isdigit(ch) || (ch == '-' && s + 1 < L.end &&
				    isdigit((unsigned char)s[1]))) {
			number(&L);
			continue;
		}
		if (ch == '"') {
			const char *q = s + 1;

			while (q < L.end && *q != '"' && *q != '\n') {
				if (*q == '\\' && q + 1 < L.end && q[1] != '\n')
					q++;
				q++;
			}
			if (q >= L.end || *q != '"') {
				struct rg_token t = here(&L, s);

				rg_error(c, &t, "missing terminating '\"' "
						"character");
				L.p = q;
				continue;
			}
			L.p = q + 1;
			new_token(&L, RG_TK_STR, s, (size_t)(L.p - s));
			continue;
		}
		if (strchr("{}()[]<>;,=:*", ch) != NULL && ch != '\0') {
			L.p++;
			new_token(&L, RG_TK_PUNCT, s, 1);
			continue;
		}
		{
			struct rg_token t = here(&L, s);

			if (isprint(ch))
				rg_error(c, &t, "stray '%c' in program",
					 (char)ch);
			else
				rg_error(c, &t, "stray '\\%o' in program",
					 (unsigned)ch);
			L.p++;
		}
	}
	{
		struct rg_token *t = new_token(&L, RG_TK_EOF, L.end, 0);

		/* point an error at end of input on the last line read */
		t->text = "end of input";
		t->len = 0;
	}
	return L.head.next;
}
