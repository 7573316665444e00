/*
 * fuzz_conf.c - the configuration tokenizer on arbitrary bytes (in
 * memory, includes disabled), under default and tight limits. Checks
 * that every token points at the bytes it claims to come from, that
 * positions only move forward, that the stream obeys its normal form,
 * and that a clean stream printed back as text tokenizes to itself.
 */
#include "tether/core.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define FUZZ_MAX_INPUT (64u << 10)

struct lines {
	size_t *start;		/* offset of each line's first byte */
	size_t n;
};

static void
lines_index(const uint8_t *p, size_t len, struct lines *l)
{
	size_t i, n = 1;

	for (i = 0; i < len; i++)
		n += p[i] == '\n';
	l->start = malloc(n * sizeof(*l->start));
	CHECK(l->start != NULL);
	l->n = 0;
	l->start[l->n++] = 0;
	for (i = 0; i < len; i++)
		if (p[i] == '\n')
			l->start[l->n++] = i + 1;
}

/* Byte offset of a token, checked to lie within the input. */
static size_t
tok_offset(const struct lines *l, const uint8_t *p, size_t len,
	   const struct tether_conf_token *t)
{
	size_t ls, le, off;

	CHECK(t->line >= 1 && t->line <= l->n);
	CHECK(t->col >= 1);
	ls = l->start[t->line - 1];
	le = ls;
	while (le < len && p[le] != '\n')
		le++;
	off = ls + t->col - 1;
	CHECK(off <= le);	/* at most the newline / end of input */
	return off;
}

/* Print a token stream as text a tokenizer must read back the same. */
static char *
serialize(struct tether_conf *c, size_t *len_out, size_t *ntok_out)
{
	const struct tether_conf_token *t;
	size_t cap = 256, n = 0, ntok = 0;
	char *out = malloc(cap);

	CHECK(out != NULL);
	while ((t = tether_conf_next(c))->type != TETHER_CONF_EOF) {
		size_t need = 2 * t->len + 8, i;

		if (n + need > cap) {
			while (n + need > cap)
				cap *= 2;
			out = realloc(out, cap);
			CHECK(out != NULL);
		}
		ntok++;
		switch (t->type) {
		case TETHER_CONF_WORD:
			memcpy(out + n, t->text, t->len);
			n += t->len;
			out[n++] = ' ';
			break;
		case TETHER_CONF_STRING:
			out[n++] = '"';
			for (i = 0; i < t->len; i++) {
				char ch = t->text[i];

				if (ch == '"' || ch == '\\') {
					out[n++] = '\\';
					out[n++] = ch;
				} else if (ch == '\n') {
					out[n++] = '\\';
					out[n++] = 'n';
				} else if (ch == '\t') {
					out[n++] = '\\';
					out[n++] = 't';
				} else {
					out[n++] = ch;
				}
			}
			out[n++] = '"';
			out[n++] = ' ';
			break;
		case TETHER_CONF_LBRACE:
			out[n++] = '{';
			out[n++] = '\n';
			break;
		case TETHER_CONF_RBRACE:
			out[n++] = '}';
			out[n++] = '\n';
			break;
		case TETHER_CONF_EOS:
			out[n++] = ';';
			out[n++] = '\n';
			break;
		default:
			CHECK(0);
		}
	}
	*len_out = n;
	*ntok_out = ntok;
	return out;
}

static void
check_stream(const uint8_t *data, size_t size,
	     const struct tether_conf_limits *lim, int rc,
	     struct tether_conf *c)
{
	const struct tether_conf_token *t, *first = NULL;
	struct lines l;
	unsigned pline = 0, pcol = 0;
	int prev = TETHER_CONF_EOS, depth = 0;
	size_t ntok = 0;

	lines_index(data, size, &l);
	for (;;) {
		size_t off;

		t = tether_conf_next(c);
		ntok++;
		CHECK(ntok <= lim->max_tokens + 1);
		CHECK(t->text != NULL && strlen(t->text) == t->len);
		CHECK(strcmp(t->file, "fuzz.conf") == 0);
		if (first == NULL)
			first = t;
		off = tok_offset(&l, data, size, t);
		/* Positions never go backwards. */
		CHECK(t->line > pline || (t->line == pline && t->col >= pcol));
		pline = t->line;
		pcol = t->col;
		switch (t->type) {
		case TETHER_CONF_WORD:
			CHECK(t->len > 0 && t->len <= lim->max_token_len);
			CHECK(off + t->len <= size);
			CHECK(memcmp(data + off, t->text, t->len) == 0);
			CHECK(t->text[0] != '#');
			break;
		case TETHER_CONF_STRING:
			CHECK(t->len <= lim->max_token_len);
			CHECK(off < size &&
			      (data[off] == '"' || data[off] == '\''));
			break;
		case TETHER_CONF_LBRACE:
			CHECK(off < size && data[off] == '{');
			depth++;
			break;
		case TETHER_CONF_RBRACE:
			CHECK(off < size && data[off] == '}');
			depth--;
			if (rc == 0)
				CHECK(depth >= 0);
			break;
		case TETHER_CONF_EOS:
			/* Never empty statements. */
			CHECK(prev == TETHER_CONF_WORD ||
			      prev == TETHER_CONF_STRING);
			CHECK(off == size || data[off] == ';' ||
			      data[off] == '\n' || data[off] == '}');
			break;
		case TETHER_CONF_EOF:
			break;
		default:
			CHECK(0);
		}
		if (t->type == TETHER_CONF_EOF)
			break;
		prev = t->type;
	}
	/* EOF repeats. */
	CHECK(tether_conf_next(c) == t && tether_conf_peek(c) == t);
	if (rc == 0) {
		CHECK(depth == 0);
		/* A statement is closed before the end. */
		CHECK(prev != TETHER_CONF_WORD && prev != TETHER_CONF_STRING);
	}
	/* Parser diagnostics can quote any token's line. */
	tether_conf_error(c, first, "first");
	tether_conf_warn(c, t, "last");
	free(l.start);
}

/* A clean stream, printed back and tokenized again, is the same. */
static void
check_round_trip(const uint8_t *data, size_t size,
		 const struct tether_conf_limits *lim)
{
	struct tether_conf_limits lim2 = *lim;
	struct tether_conf *a = tether_conf_new(lim), *b;
	const struct tether_conf_token *ta, *tb;
	size_t len, ntok;
	char *text;

	CHECK(a != NULL);
	CHECK(tether_conf_load_mem(a, "fuzz.conf", data, size) == 0);
	text = serialize(a, &len, &ntok);
	lim2.max_line_len = 4 * size + 64;
	lim2.max_file_size = len + 1;
	b = tether_conf_new(&lim2);
	CHECK(b != NULL);
	if (tether_conf_load_mem(b, "again.conf", text, len) != 0) {
		fprintf(stderr, "%s", tether_conf_diagnostics(b));
		CHECK(0);
	}
	tether_conf_free(a);
	a = tether_conf_new(lim);
	CHECK(a != NULL);
	CHECK(tether_conf_load_mem(a, "fuzz.conf", data, size) == 0);
	do {
		ta = tether_conf_next(a);
		tb = tether_conf_next(b);
		CHECK(ta->type == tb->type);
		CHECK(ta->len == tb->len);
		CHECK(memcmp(ta->text, tb->text, ta->len) == 0);
	} while (ta->type != TETHER_CONF_EOF);
	tether_conf_free(a);
	tether_conf_free(b);
	free(text);
}

static void
run(const uint8_t *data, size_t size, const struct tether_conf_limits *lim)
{
	struct tether_conf *c = tether_conf_new(lim);
	const char *d;
	int rc;

	CHECK(c != NULL);
	rc = tether_conf_load_mem(c, "fuzz.conf", data, size);
	d = tether_conf_diagnostics(c);
	if (size > lim->max_file_size) {
		CHECK(rc == -TETHER_EMSGSIZE);
		tether_conf_free(c);
		return;
	}
	CHECK(rc == 0 || rc == -TETHER_ESYNTAX);
	CHECK((rc == 0) == (tether_conf_error_count(c) == 0));
	CHECK((rc == 0) == (d[0] == '\0'));
	CHECK(tether_conf_error_count(c) <= lim->max_errors);
	if (rc != 0)
		CHECK(strncmp(d, "fuzz.conf:", 10) == 0);
	check_stream(data, size, lim, rc, c);
	tether_conf_free(c);
	if (rc == 0)
		check_round_trip(data, size, lim);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tether_conf_limits lim;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	/* Defaults (but no include: the fuzzer must not read files). */
	memset(&lim, 0, sizeof(lim));
	lim.max_file_size = 1u << 20;
	lim.max_line_len = 4096;
	lim.max_token_len = 1024;
	lim.max_tokens = 100000;
	lim.max_nesting = 32;
	lim.max_errors = 20;
	lim.flags = TETHER_CONF_NO_INCLUDE;
	run(data, size, &lim);

	/* Tight limits, so the fuzzer reaches each of them. */
	lim.max_file_size = 2048;
	lim.max_line_len = 40;
	lim.max_token_len = 8;
	lim.max_tokens = 64;
	lim.max_nesting = 4;
	lim.max_errors = 4;
	run(data, size, &lim);
	return 0;
}
