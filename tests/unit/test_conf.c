/*
 * test_conf.c - the configuration tokenizer: the normalised token
 * stream, strings and escapes, positions, GCC-style diagnostics with the
 * exact text and caret, every limit, include (relative, nested, glob,
 * missing, cycle, depth), allocation failure loops, junk input, and a
 * small directive-table parser showing how a daemon sits on top.
 */
#include "tether_test.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* The stream as one line: words as is, strings in [], "{" "}" ";" and
 * "$" for EOF, separated by spaces. */
static char *
dump(struct tether_conf *c, char *out, size_t size)
{
	const struct tether_conf_token *t;
	size_t n = 0;

	out[0] = '\0';
	do {
		int w;

		t = tether_conf_next(c);
		switch (t->type) {
		case TETHER_CONF_WORD:
			w = snprintf(out + n, size - n, "%s ", t->text);
			break;
		case TETHER_CONF_STRING:
			w = snprintf(out + n, size - n, "[%s] ", t->text);
			break;
		case TETHER_CONF_LBRACE:
			w = snprintf(out + n, size - n, "{ ");
			break;
		case TETHER_CONF_RBRACE:
			w = snprintf(out + n, size - n, "} ");
			break;
		case TETHER_CONF_EOS:
			w = snprintf(out + n, size - n, "; ");
			break;
		default:
			w = snprintf(out + n, size - n, "$");
			break;
		}
		assert_true(w > 0 && (size_t)w < size - n);
		n += (size_t)w;
	} while (t->type != TETHER_CONF_EOF);
	return out;
}

/* Tokenize src (a C string) as "t.conf" with limits lim. */
static int
lex_lim(const char *src, size_t len, const struct tether_conf_limits *lim,
	struct tether_conf **out)
{
	*out = tether_conf_new(lim);
	assert_non_null(*out);
	return tether_conf_load_mem(*out, "t.conf", src, len);
}

static int
lex(const char *src, struct tether_conf **out)
{
	return lex_lim(src, strlen(src), NULL, out);
}

/* src must tokenize cleanly into want. */
static void
check_stream(const char *src, const char *want)
{
	struct tether_conf *c;
	char buf[4096];
	int rc = lex(src, &c);

	if (rc != 0)
		fprintf(stderr, "%s", tether_conf_diagnostics(c));
	assert_int_equal(rc, 0);
	assert_string_equal(tether_conf_diagnostics(c), "");
	assert_string_equal(dump(c, buf, sizeof(buf)), want);
	tether_conf_free(c);
}

/* src must fail with exactly the diagnostics want. */
static void
check_diag_lim(const char *src, size_t len,
	       const struct tether_conf_limits *lim, int want_rc,
	       const char *want)
{
	struct tether_conf *c;
	int rc = lex_lim(src, len, lim, &c);

	assert_int_equal(rc, want_rc);
	assert_string_equal(tether_conf_diagnostics(c), want);
	tether_conf_free(c);
}

static void
check_diag(const char *src, const char *want)
{
	check_diag_lim(src, strlen(src), NULL, -TETHER_ESYNTAX, want);
}

/* ------------------------------------------------------------------ */
/* The stream                                                          */
/* ------------------------------------------------------------------ */

static void
test_basic_stream(void **state)
{
	(void)state;
	check_stream("service nfs {\n"
		     "\tlisten 192.0.2.10:111 tcp udp; backend b1\n"
		     "}\n",
		     "service nfs { listen 192.0.2.10:111 tcp udp ; "
		     "backend b1 ; } $");
	check_stream("", "$");
	check_stream("\n\n   \n", "$");
	check_stream("a", "a ; $");
	check_stream("a b c", "a b c ; $");
}

static void
test_normalised(void **state)
{
	(void)state;
	/* Blank lines, ";;", "};", a comment-only line: no extra EOS. */
	check_stream("\n\na;;b\n\n;\n{ }\nx { };\n", "a ; b ; { } x { } $");
	check_stream("x { a } y", "x { a ; } y ; $");
	check_stream("x {\n}\n;;\n", "x { } $");
	check_stream("a;b;c", "a ; b ; c ; $");
	check_stream("s{a{b}}", "s { a { b ; } } $");
}

static void
test_comments(void **state)
{
	(void)state;
	check_stream("# top\na # trailing ; {\nb#not-a-comment c\n#end",
		     "a ; b#not-a-comment c ; $");
	check_stream("a;#c\nb", "a ; b ; $");
	/* No escaping a newline in a comment. */
	check_stream("# x \\\nb", "b ; $");
}

static void
test_strings(void **state)
{
	struct tether_conf *c;
	const struct tether_conf_token *t;

	(void)state;
	assert_int_equal(lex("x \"a\\\"b\\\\c\\nd\\te\" 'l\\n\"t' \"\" ''"
			     " \"{;}#\"", &c), 0);
	t = tether_conf_next(c);
	assert_int_equal(t->type, TETHER_CONF_WORD);
	assert_string_equal(t->text, "x");
	t = tether_conf_next(c);
	assert_int_equal(t->type, TETHER_CONF_STRING);
	assert_string_equal(t->text, "a\"b\\c\nd\te");
	assert_int_equal(t->len, 9);
	t = tether_conf_next(c);
	assert_int_equal(t->type, TETHER_CONF_STRING);
	assert_string_equal(t->text, "l\\n\"t");
	t = tether_conf_next(c);
	assert_int_equal(t->type, TETHER_CONF_STRING);
	assert_string_equal(t->text, "");
	assert_int_equal(t->len, 0);
	t = tether_conf_next(c);
	assert_int_equal(t->type, TETHER_CONF_STRING);
	assert_string_equal(t->text, "");
	t = tether_conf_next(c);
	assert_string_equal(t->text, "{;}#");
	assert_int_equal(tether_conf_next(c)->type, TETHER_CONF_EOS);
	assert_int_equal(tether_conf_next(c)->type, TETHER_CONF_EOF);
	tether_conf_free(c);

	/* A quote ends a word; a string can follow it directly. */
	check_stream("ab\"cd\"ef", "ab [cd] ef ; $");
	/* A tab inside a string is kept. */
	check_stream("\"a\tb\"", "[a\tb] ; $");
}

static void
test_positions(void **state)
{
	struct tether_conf *c;
	const struct tether_conf_token *t;

	(void)state;
	assert_int_equal(lex("one\n\ttwo  \"three\";\n\n  {\n}\nlast", &c),
			 0);
	t = tether_conf_next(c);	/* one */
	assert_string_equal(t->file, "t.conf");
	assert_int_equal(t->line, 1);
	assert_int_equal(t->col, 1);
	t = tether_conf_next(c);	/* EOS: the newline */
	assert_int_equal(t->type, TETHER_CONF_EOS);
	assert_int_equal(t->line, 1);
	assert_int_equal(t->col, 4);
	t = tether_conf_next(c);	/* two */
	assert_int_equal(t->line, 2);
	assert_int_equal(t->col, 2);
	t = tether_conf_next(c);	/* "three" */
	assert_int_equal(t->line, 2);
	assert_int_equal(t->col, 7);
	t = tether_conf_next(c);	/* ; */
	assert_int_equal(t->type, TETHER_CONF_EOS);
	assert_int_equal(t->col, 14);
	t = tether_conf_next(c);	/* { */
	assert_int_equal(t->type, TETHER_CONF_LBRACE);
	assert_int_equal(t->line, 4);
	assert_int_equal(t->col, 3);
	t = tether_conf_next(c);	/* } */
	assert_int_equal(t->line, 5);
	assert_int_equal(t->col, 1);
	t = tether_conf_next(c);	/* last */
	assert_int_equal(t->line, 6);
	t = tether_conf_next(c);	/* EOS at end of input */
	assert_int_equal(t->type, TETHER_CONF_EOS);
	assert_int_equal(t->line, 6);
	assert_int_equal(t->col, 5);
	t = tether_conf_peek(c);
	assert_int_equal(t->type, TETHER_CONF_EOF);
	assert_int_equal(tether_conf_next(c), t);
	assert_int_equal(tether_conf_next(c), t);	/* EOF repeats */
	tether_conf_free(c);
}

static void
test_before_load_and_twice(void **state)
{
	struct tether_conf *c = tether_conf_new(NULL);

	(void)state;
	assert_non_null(c);
	assert_int_equal(tether_conf_peek(c)->type, TETHER_CONF_EOF);
	assert_int_equal(tether_conf_next(c)->type, TETHER_CONF_EOF);
	assert_string_equal(tether_conf_diagnostics(c), "");
	assert_int_equal(tether_conf_load_mem(c, "a", "x", 1), 0);
	assert_tether_err(tether_conf_load_mem(c, "a", "x", 1), TETHER_EINVAL);
	assert_tether_err(tether_conf_load_file(c, "/etc/hostname"),
			  TETHER_EINVAL);
	tether_conf_free(c);
	tether_conf_free(NULL);

	assert_string_equal(tether_conf_tok_name(TETHER_CONF_WORD), "word");
	assert_string_equal(tether_conf_tok_name(TETHER_CONF_EOS),
			    "end of statement");
	assert_string_equal(tether_conf_tok_name(TETHER_CONF_EOF),
			    "end of file");
	assert_string_equal(tether_conf_tok_name(-1), "unknown");
	assert_string_equal(tether_conf_tok_name(99), "unknown");
}

/* ------------------------------------------------------------------ */
/* Diagnostics                                                         */
/* ------------------------------------------------------------------ */

static void
test_diag_unterminated(void **state)
{
	(void)state;
	check_diag("listen \"192.0.2.10\nx\n",
		   "t.conf:1:8: error: unterminated string\n"
		   "listen \"192.0.2.10\n"
		   "       ^\n");
	check_diag("a 'b", "t.conf:1:3: error: unterminated string\n"
			   "a 'b\n"
			   "  ^\n");
	/* A backslash before the newline does not continue the string. */
	check_diag("a \"b\\\nc\"\n",
		   "t.conf:1:3: error: unterminated string\n"
		   "a \"b\\\n"
		   "  ^\n"
		   "t.conf:2:2: error: unterminated string\n"
		   "c\"\n"
		   " ^\n");
}

static void
test_diag_braces(void **state)
{
	(void)state;
	check_diag("a }\n", "t.conf:1:3: error: unexpected '}' without a "
			    "matching '{'\n"
			    "a }\n"
			    "  ^\n");
	check_diag("s {\n  a\n",
		   "t.conf:2:4: error: expected '}' at end of input\n"
		   "  a\n"
		   "   ^\n"
		   "t.conf:1:3: note: to match this '{'\n"
		   "s {\n"
		   "  ^\n");
	/* The innermost unclosed brace is the one named. */
	check_diag("a { b {\n} ",
		   "t.conf:2:3: error: expected '}' at end of input\n"
		   "} \n"
		   "  ^\n"
		   "t.conf:1:3: note: to match this '{'\n"
		   "a { b {\n"
		   "  ^\n");
}

static void
test_diag_escapes_and_bytes(void **state)
{
	(void)state;
	check_diag("x \"a\\qb\"\n",
		   "t.conf:1:5: error: unknown escape sequence '\\q'\n"
		   "x \"a\\qb\"\n"
		   "    ^\n");
	check_diag_lim("a\0b\n", 4, NULL, -TETHER_ESYNTAX,
		       "t.conf:1:2: error: NUL byte in input\n"
		       "a?b\n"
		       " ^\n");
	check_diag_lim("# x\0y\nz", 7, NULL, -TETHER_ESYNTAX,
		       "t.conf:1:4: error: NUL byte in input\n"
		       "# x?y\n"
		       "   ^\n");
	check_diag("a \x01 b\n",
		   "t.conf:1:3: error: unexpected control character "
		   "'\\x01'\n"
		   "a ? b\n"
		   "  ^\n");
	check_diag("\"a\x1b\"",
		   "t.conf:1:3: error: control character 0x1b in string\n"
		   "\"a?\"\n"
		   "  ^\n");
	/* Tabs are kept in the caret line so the caret lines up. */
	check_diag("\tx\t\"\n", "t.conf:1:4: error: unterminated string\n"
				"\tx\t\"\n"
				"\t \t^\n");
}

static void
test_utf8_passes_through(void **state)
{
	struct tether_conf *c;
	const struct tether_conf_token *t;

	(void)state;
	/* Valid and invalid UTF-8 alike are bytes in words and strings. */
	assert_int_equal(lex("caf\xc3\xa9 \xff\xfe \"\xc0\x80\"", &c), 0);
	t = tether_conf_next(c);
	assert_string_equal(t->text, "caf\xc3\xa9");
	assert_int_equal(t->len, 5);
	t = tether_conf_next(c);
	assert_string_equal(t->text, "\xff\xfe");
	assert_int_equal(t->col, 7);	/* columns count bytes */
	t = tether_conf_next(c);
	assert_string_equal(t->text, "\xc0\x80");
	tether_conf_free(c);

	/* The caret counts a UTF-8 character as one column. */
	check_diag("\xc3\xa9 \"x\n", "t.conf:1:4: error: unterminated string\n"
				     "\xc3\xa9 \"x\n"
				     "  ^\n");
}

static void
test_limits(void **state)
{
	struct tether_conf_limits lim;
	char big[64];

	(void)state;
	memset(&lim, 0, sizeof(lim));
	lim.max_token_len = 8;
	check_diag_lim("a abcdefghi b\n", 14, &lim, -TETHER_ESYNTAX,
		       "t.conf:1:3: error: word longer than 8 bytes\n"
		       "a abcdefghi b\n"
		       "  ^\n");
	check_diag_lim("\"abcdefghi\"", 11, &lim, -TETHER_ESYNTAX,
		       "t.conf:1:1: error: string longer than 8 bytes\n"
		       "\"abcdefghi\"\n"
		       "^\n");
	/* Exactly at the limit is fine. */
	{
		struct tether_conf *c;

		assert_int_equal(lex_lim("abcdefgh \"12345678\"", 19, &lim,
					 &c), 0);
		tether_conf_free(c);
	}

	memset(&lim, 0, sizeof(lim));
	lim.max_line_len = 10;
	check_diag_lim("0123456789\n0123456789x\n", 23, &lim,
		       -TETHER_ESYNTAX,
		       "t.conf:2:11: error: line longer than 10 bytes\n"
		       "0123456789x\n"
		       "          ^\n");

	memset(&lim, 0, sizeof(lim));
	lim.max_tokens = 4;
	check_diag_lim("a b\nc d\n", 8, &lim, -TETHER_ESYNTAX,
		       "t.conf:2:3: error: too many tokens (limit 4)\n"
		       "c d\n"
		       "  ^\n");

	memset(&lim, 0, sizeof(lim));
	lim.max_nesting = 2;
	check_diag_lim("a { b { c { } } }", 17, &lim, -TETHER_ESYNTAX,
		       "t.conf:1:11: error: blocks nested too deeply "
		       "(limit 2)\n"
		       "a { b { c { } } }\n"
		       "          ^\n");

	memset(&lim, 0, sizeof(lim));
	lim.max_file_size = 16;
	memset(big, 'a', sizeof(big));
	check_diag_lim(big, 17, &lim, -TETHER_EMSGSIZE,
		       "t.conf: error: input is larger than 16 bytes\n");
	{
		struct tether_conf *c;

		assert_int_equal(lex_lim(big, 16, &lim, &c), 0);
		tether_conf_free(c);
	}
}

static void
test_error_bound(void **state)
{
	struct tether_conf_limits lim;
	struct tether_conf *c;
	char src[64];
	const char *d;
	int i, lines = 0;

	(void)state;
	memset(&lim, 0, sizeof(lim));
	lim.max_errors = 3;
	memset(src, '\x02', sizeof(src));
	assert_int_equal(lex_lim(src, sizeof(src), &lim, &c), -TETHER_ESYNTAX);
	assert_int_equal(tether_conf_error_count(c), 3);
	d = tether_conf_diagnostics(c);
	for (i = 0; d[i] != '\0'; i++)
		lines += d[i] == '\n';
	assert_int_equal(lines, 3 * 3 + 1);
	assert_non_null(strstr(d, "t.conf:1:3: error: unexpected control"));
	assert_null(strstr(d, "t.conf:1:4:"));
	assert_non_null(strstr(d, "t.conf: note: too many errors (3), "
				  "giving up\n"));
	/* Errors past the bound are dropped, the parser's too. */
	assert_int_equal(tether_conf_error(c, tether_conf_peek(c), "x"),
			 -TETHER_ESYNTAX);
	assert_int_equal(tether_conf_error_count(c), 3);
	/* The stream still ends in EOF; nothing was pushed before the
	 * lexer gave up, so the EOF is placed at the file's start. */
	while (tether_conf_peek(c)->type != TETHER_CONF_EOF)
		tether_conf_next(c);
	assert_string_equal(tether_conf_peek(c)->file, "t.conf");
	assert_int_equal(tether_conf_peek(c)->line, 1);
	assert_int_equal(tether_conf_peek(c)->col, 1);
	tether_conf_free(c);

	/* Several independent errors are all reported under the bound. */
	check_diag("a }\nb \"x\nc \"\\z\"\n",
		   "t.conf:1:3: error: unexpected '}' without a matching "
		   "'{'\n"
		   "a }\n"
		   "  ^\n"
		   "t.conf:2:3: error: unterminated string\n"
		   "b \"x\n"
		   "  ^\n"
		   "t.conf:3:4: error: unknown escape sequence '\\z'\n"
		   "c \"\\z\"\n"
		   "   ^\n");
}

/* The diagnostics text stops growing at 256 KiB, keeps whole earlier
 * messages, and stays a valid string; warnings (which max_errors does
 * not bound) are the way to get there. */
/* An error past the quoted part of a line (512 bytes) is reported
 * without a source quote rather than with a caret out of its buffer. */
static void
test_diag_far_column(void **state)
{
	char src[700], want[128];

	(void)state;
	memset(src, ' ', 600);
	memcpy(src + 600, "\"open\n", 7);
	src[607] = '\0';
	snprintf(want, sizeof(want),
		 "t.conf:1:601: error: unterminated string\n");
	check_diag(src, want);
	/* The last column that is still quoted: 513, the caret after 512
	 * columns of indent. */
	memset(src, ' ', 512);
	memcpy(src + 512, "\"open\n", 7);
	src[519] = '\0';
	{
		struct tether_conf *c;
		const char *d;

		assert_int_equal(lex(src, &c), -TETHER_ESYNTAX);
		d = tether_conf_diagnostics(c);
		assert_non_null(strstr(d, "t.conf:1:513: error: "
					  "unterminated string\n"));
		assert_int_equal(d[strlen(d) - 2], '^');
		tether_conf_free(c);
	}
}

static void
test_diag_text_bound(void **state)
{
	const size_t bound = 256u << 10;
	struct tether_conf *c;
	const char *d;
	size_t len;
	int i;

	(void)state;
	assert_int_equal(lex("a b\n", &c), 0);
	assert_string_equal(tether_conf_diagnostics(c), "");
	for (i = 0; i < 20000; i++)
		tether_conf_warn(c, tether_conf_peek(c), "warning number %d",
				 i);
	d = tether_conf_diagnostics(c);
	len = strlen(d);
	assert_true(len < bound);
	assert_true(len > bound - 200);
	assert_non_null(strstr(d, "t.conf:1:1: warning: warning number 0\n"
				  "a b\n^\n"));
	assert_null(strstr(d, "warning number 19999"));
	/* Errors past the text bound still count. */
	assert_int_equal(tether_conf_error(c, NULL, "late"), -TETHER_ESYNTAX);
	assert_int_equal(tether_conf_error_count(c), 1);
	assert_int_equal(strlen(tether_conf_diagnostics(c)), len);
	tether_conf_free(c);
}

static void
test_include_forms(void **state)
{
	struct tether_conf_limits lim;

	(void)state;
	memset(&lim, 0, sizeof(lim));
	lim.flags = TETHER_CONF_NO_INCLUDE;
	check_diag_lim("include \"x\"\n", 12, &lim, -TETHER_ESYNTAX,
		       "t.conf:1:1: error: include is not allowed here\n"
		       "include \"x\"\n"
		       "^\n");
	check_diag("a\n  include\n",
		   "t.conf:2:3: error: include expects one file name\n"
		   "  include\n"
		   "  ^\n");
	check_diag("include a b;",
		   "t.conf:1:1: error: include expects one file name\n"
		   "include a b;\n"
		   "^\n");
	check_diag("include \"\"",
		   "t.conf:1:9: error: empty include file name\n"
		   "include \"\"\n"
		   "        ^\n");
	check_diag("include x { }",
		   "t.conf:1:11: error: include does not take a block\n"
		   "include x { }\n"
		   "          ^\n");
	/* Only a bare `include` starting a statement is the directive. */
	check_stream("\"include\" x\nset include\n",
		     "[include] x ; set include ; $");
}

/* ------------------------------------------------------------------ */
/* Files and includes                                                  */
/* ------------------------------------------------------------------ */

static char tmpdir[PATH_MAX];

static void
put_file(const char *rel, const char *text)
{
	char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

static int
load_tmp(const char *rel, const struct tether_conf_limits *lim,
	 struct tether_conf **out)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	*out = tether_conf_new(lim);
	assert_non_null(*out);
	return tether_conf_load_file(*out, path);
}

static int
setup_tmp(void **state)
{
	char sub[PATH_MAX + 16];

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tether-conf-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(sub, sizeof(sub), "%s/sub", tmpdir);
	if (mkdir(sub, 0755) < 0)
		return -1;
	snprintf(sub, sizeof(sub), "%s/conf.d", tmpdir);
	return mkdir(sub, 0755);
}

static int
teardown_tmp(void **state)
{
	(void)state;
	return tether_test_rm_tree(tmpdir);
}

static void
test_include_nested(void **state)
{
	struct tether_conf *c;
	const struct tether_conf_token *t;
	char buf[1024], want[PATH_MAX + 64];

	(void)state;
	put_file("main.conf", "a 1\ninclude \"sub/inc.conf\"\nb 2\n");
	put_file("sub/inc.conf", "x {\n  include more.conf\n  y\n}\n");
	put_file("sub/more.conf", "m; n\n");
	assert_int_equal(load_tmp("main.conf", NULL, &c), 0);
	assert_string_equal(dump(c, buf, sizeof(buf)),
			    "a 1 ; x { m ; n ; y ; } b 2 ; $");
	tether_conf_free(c);

	/* Positions name the file each token came from. */
	assert_int_equal(load_tmp("main.conf", NULL, &c), 0);
	t = tether_conf_next(c);
	snprintf(want, sizeof(want), "%s/main.conf", tmpdir);
	assert_string_equal(t->file, want);
	tether_conf_next(c);	/* 1 */
	tether_conf_next(c);	/* ; */
	t = tether_conf_next(c);	/* x */
	snprintf(want, sizeof(want), "%s/sub/inc.conf", tmpdir);
	assert_string_equal(t->file, want);
	assert_int_equal(t->line, 1);
	tether_conf_next(c);	/* { */
	t = tether_conf_next(c);	/* m */
	snprintf(want, sizeof(want), "%s/sub/more.conf", tmpdir);
	assert_string_equal(t->file, want);
	assert_int_equal(t->line, 1);
	assert_int_equal(t->col, 1);
	/* A parser error on an included token quotes that file. */
	tether_conf_error(c, t, "bad %s", t->text);
	snprintf(want, sizeof(want),
		 "%s/sub/more.conf:1:1: error: bad m\nm; n\n^\n", tmpdir);
	assert_string_equal(tether_conf_diagnostics(c), want);
	tether_conf_free(c);
}

static void
test_include_glob(void **state)
{
	struct tether_conf *c;
	char buf[1024], dir[PATH_MAX + 16];

	(void)state;
	put_file("conf.d/20-b.conf", "b\n");
	put_file("conf.d/10-a.conf", "a\n");
	put_file("conf.d/skip.txt", "nope\n");
	put_file("glob.conf", "include \"conf.d/*.conf\"\n"
			      "include \"conf.d/*.none\"\nz\n");
	assert_int_equal(load_tmp("glob.conf", NULL, &c), 0);
	assert_string_equal(dump(c, buf, sizeof(buf)), "a ; b ; z ; $");
	tether_conf_free(c);

	/* Pattern characters in the including file's directory are taken
	 * literally; only the name written in the file is a pattern. (A
	 * glob of "br[1]/" would look in "br1/" and find nothing.) */
	snprintf(dir, sizeof(dir), "%s/br[1]", tmpdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	put_file("br[1]/main.conf", "include x.conf\ninclude \"*.inc\"\n");
	put_file("br[1]/x.conf", "ok\n");
	put_file("br[1]/y.inc", "inc\n");
	assert_int_equal(load_tmp("br[1]/main.conf", NULL, &c), 0);
	assert_string_equal(dump(c, buf, sizeof(buf)), "ok ; inc ; $");
	tether_conf_free(c);
}

static void
test_include_errors(void **state)
{
	struct tether_conf *c;
	struct tether_conf_limits lim;
	char want[4 * PATH_MAX], name[64], text[64];
	int i;

	(void)state;
	/* Not found: reported at the path, in the including file. */
	put_file("missing.conf", "a\ninclude \"nope.conf\"\n");
	assert_int_equal(load_tmp("missing.conf", NULL, &c), -TETHER_ESYNTAX);
	snprintf(want, sizeof(want),
		 "%s/missing.conf:2:9: error: cannot open include file "
		 "'%s/nope.conf': No such file or directory\n"
		 "include \"nope.conf\"\n"
		 "        ^\n", tmpdir, tmpdir);
	assert_string_equal(tether_conf_diagnostics(c), want);
	tether_conf_free(c);

	/* A cycle through two files, and a file including itself. */
	put_file("cyc-a.conf", "include cyc-b.conf\n");
	put_file("cyc-b.conf", "x\ninclude cyc-a.conf\n");
	assert_int_equal(load_tmp("cyc-a.conf", NULL, &c), -TETHER_ESYNTAX);
	snprintf(want, sizeof(want),
		 "%s/cyc-b.conf:2:9: error: include cycle: '%s/cyc-a.conf' "
		 "is already being read\n"
		 "include cyc-a.conf\n"
		 "        ^\n", tmpdir, tmpdir);
	assert_string_equal(tether_conf_diagnostics(c), want);
	tether_conf_free(c);
	put_file("self.conf", "include self.conf\n");
	assert_int_equal(load_tmp("self.conf", NULL, &c), -TETHER_ESYNTAX);
	assert_non_null(strstr(tether_conf_diagnostics(c), "include cycle"));
	tether_conf_free(c);

	/* Depth: d0 includes d1 ... d9; the 9th nested include fails. */
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "d%d.conf", i);
		snprintf(text, sizeof(text), "w%d\ninclude d%d.conf\n", i,
			 i + 1);
		put_file(name, text);
	}
	put_file("d10.conf", "end\n");
	assert_int_equal(load_tmp("d0.conf", NULL, &c), -TETHER_ESYNTAX);
	snprintf(want, sizeof(want),
		 "%s/d8.conf:2:9: error: includes nested too deeply "
		 "(limit 8)\n"
		 "include d9.conf\n"
		 "        ^\n", tmpdir);
	assert_string_equal(tether_conf_diagnostics(c), want);
	tether_conf_free(c);
	memset(&lim, 0, sizeof(lim));
	lim.max_include_depth = 10;
	assert_int_equal(load_tmp("d0.conf", &lim, &c), 0);
	tether_conf_free(c);
	lim.max_files = 5;
	assert_int_equal(load_tmp("d0.conf", &lim, &c), -TETHER_ESYNTAX);
	assert_non_null(strstr(tether_conf_diagnostics(c),
			       "d4.conf:2:9: error: too many configuration "
			       "files (limit 5)\n"));
	tether_conf_free(c);

	/* A directory is not a configuration file. */
	put_file("dir.conf", "include sub\n");
	assert_int_equal(load_tmp("dir.conf", NULL, &c), -TETHER_ESYNTAX);
	assert_non_null(strstr(tether_conf_diagnostics(c),
			       "/sub' is not a regular file\n"));
	tether_conf_free(c);

	/* An included file too large; errors inside an included file. */
	memset(&lim, 0, sizeof(lim));
	lim.max_file_size = 32;
	put_file("big.conf", "0123456789012345678901234567890123456789\n");
	put_file("inc-big.conf", "include big.conf\n");
	assert_int_equal(load_tmp("inc-big.conf", &lim, &c), -TETHER_ESYNTAX);
	assert_non_null(strstr(tether_conf_diagnostics(c),
			       "big.conf' is larger than 32 bytes\n"));
	tether_conf_free(c);
	put_file("bad.conf", "ok\n  oops }\n");
	put_file("inc-bad.conf", "a {\n include bad.conf\n}\n");
	assert_int_equal(load_tmp("inc-bad.conf", NULL, &c), -TETHER_ESYNTAX);
	snprintf(want, sizeof(want),
		 "%s/bad.conf:2:8: error: unexpected '}' without a matching "
		 "'{'\n"
		 "  oops }\n"
		 "       ^\n", tmpdir);
	assert_string_equal(tether_conf_diagnostics(c), want);
	tether_conf_free(c);
}

/* A FIFO (or a device) named as a configuration file, top or included,
 * is refused as "not a regular file" at once: opening it must not wait
 * for a writer that never comes. */
static void
test_fifo_refused(void **state)
{
	struct tether_conf *c;
	char path[PATH_MAX + 64];

	(void)state;
	snprintf(path, sizeof(path), "%s/fifo.conf", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(load_tmp("fifo.conf", NULL, &c), -TETHER_EINVAL);
	assert_non_null(strstr(tether_conf_diagnostics(c),
			       "fifo.conf: error: not a regular file\n"));
	tether_conf_free(c);

	put_file("inc-fifo.conf", "a\ninclude fifo.conf\nb\n");
	assert_int_equal(load_tmp("inc-fifo.conf", NULL, &c),
			 -TETHER_ESYNTAX);
	assert_non_null(strstr(tether_conf_diagnostics(c),
			       "fifo.conf' is not a regular file\n"));
	tether_conf_free(c);
	assert_int_equal(unlink(path), 0);
}

static void
test_top_file_errors(void **state)
{
	struct tether_conf *c;
	struct tether_conf_limits lim;
	char want[2 * PATH_MAX];

	(void)state;
	assert_int_equal(load_tmp("does-not-exist.conf", NULL, &c),
			 -TETHER_ENOENT);
	snprintf(want, sizeof(want),
		 "%s/does-not-exist.conf: error: cannot open: No such file "
		 "or directory\n", tmpdir);
	assert_string_equal(tether_conf_diagnostics(c), want);
	assert_int_equal(tether_conf_next(c)->type, TETHER_CONF_EOF);
	tether_conf_free(c);

	assert_int_equal(load_tmp("sub", NULL, &c), -TETHER_EINVAL);
	assert_non_null(strstr(tether_conf_diagnostics(c),
			       "sub: error: not a regular file\n"));
	tether_conf_free(c);

	memset(&lim, 0, sizeof(lim));
	lim.max_file_size = 8;
	put_file("nine.conf", "12345678\n");
	assert_int_equal(load_tmp("nine.conf", &lim, &c), -TETHER_EMSGSIZE);
	assert_non_null(strstr(tether_conf_diagnostics(c),
			       "nine.conf: error: file is larger than 8 "
			       "bytes\n"));
	tether_conf_free(c);
	lim.max_file_size = 9;
	assert_int_equal(load_tmp("nine.conf", &lim, &c), 0);
	tether_conf_free(c);

	c = tether_conf_new(NULL);
	assert_non_null(c);
	assert_tether_err(tether_conf_load_file(c, ""), TETHER_EINVAL);
	assert_tether_err(tether_conf_load_mem(c, "x", NULL, 3),
			  TETHER_EINVAL);
	tether_conf_free(c);
}

/* ------------------------------------------------------------------ */
/* Allocation failures and junk                                        */
/* ------------------------------------------------------------------ */

/* Fail the 1st, 2nd, ... allocation of new+load until one run needs no
 * failure; every run must end cleanly with the expected result or
 * -TETHER_ENOMEM (leaks show under valgrind and ASan). */
static void
alloc_loop(const char *src, const char *file, int want_rc, const char *want)
{
	unsigned long n;
	int done = 0;

	for (n = 1; !done; n++) {
		struct tether_conf *c;
		static char buf[8192];
		int rc;

		assert_true(n < 10000);
		tether_alloc_fail_at(n, 0);
		c = tether_conf_new(NULL);
		if (c == NULL) {
			tether_alloc_fail_at(0, 0);
			continue;
		}
		if (file != NULL)
			rc = tether_conf_load_file(c, file);
		else
			rc = tether_conf_load_mem(c, "t.conf", src,
						  strlen(src));
		done = tether_alloc_count() < n;
		tether_alloc_fail_at(0, 0);
		if (done) {
			assert_int_equal(rc, want_rc);
			assert_string_equal(dump(c, buf, sizeof(buf)), want);
		} else {
			size_t k = 0;

			/* Out of memory, or (when only a diagnostic could
			 * not grow) the expected result; either way the
			 * stream still ends in EOF. */
			assert_true(rc == -TETHER_ENOMEM || rc == want_rc);
			while (tether_conf_next(c)->type != TETHER_CONF_EOF)
				assert_true(++k < 10000);
		}
		tether_conf_free(c);
	}
	assert_true(n > 3);
}

static void
test_alloc_failures(void **state)
{
	char path[PATH_MAX + 64];
	int i;
	static char many[4096], want[4096];

	(void)state;
	alloc_loop("service nfs {\n\tlisten \"192.0.2.10:111\" tcp\n}\n",
		   NULL, 0, "service nfs { listen [192.0.2.10:111] tcp ; } $");
	alloc_loop("a }\nb \"x\n", NULL, -TETHER_ESYNTAX,
		   "a ; b [x] ; $");
	/* Enough tokens to grow the token array several times. */
	for (i = 0; i < 400; i++) {
		memcpy(many + i * 3, "ab\n", 3);
		memcpy(want + i * 5, "ab ; ", 5);
	}
	memcpy(want + 400 * 5, "$", 2);
	alloc_loop(many, NULL, 0, want);
	put_file("oom.conf", "a\ninclude sub/oom-inc.conf\nb\n");
	put_file("sub/oom-inc.conf", "x { y }\n");
	snprintf(path, sizeof(path), "%s/oom.conf", tmpdir);
	alloc_loop(NULL, path, 0, "a ; x { y ; } b ; $");
}

/* Never crash, always end in EOF, on random bytes from a hostile
 * alphabet (deterministic, so a failure reproduces). */
static void
test_junk(void **state)
{
	static const char alpha[] = "ab \t\n;{}\"'\\#\0\x01\xc3\xa9\xffinclude";
	unsigned long x = 0x2545f491;
	int round, i;

	(void)state;
	for (round = 0; round < 3000; round++) {
		struct tether_conf_limits lim;
		struct tether_conf *c;
		char src[48];
		const struct tether_conf_token *t;
		size_t ntok = 0;
		int rc;

		memset(&lim, 0, sizeof(lim));
		lim.flags = TETHER_CONF_NO_INCLUDE;
		lim.max_token_len = 6;
		lim.max_line_len = 20;
		for (i = 0; i < (int)sizeof(src); i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			src[i] = alpha[x % (sizeof(alpha) - 1)];
		}
		rc = lex_lim(src, (size_t)(x % sizeof(src)), &lim, &c);
		assert_true(rc == 0 || rc == -TETHER_ESYNTAX);
		assert_int_equal(rc == 0, tether_conf_error_count(c) == 0);
		do {
			t = tether_conf_next(c);
			assert_true(++ntok < 200);
			assert_int_equal(strlen(t->text), t->len);
		} while (t->type != TETHER_CONF_EOF);
		tether_conf_free(c);
	}
}

/* ------------------------------------------------------------------ */
/* A tiny directive-table parser, as a daemon would build on top       */
/* ------------------------------------------------------------------ */

/*
 * Grammar:  file    := { "service" NAME "{" { service-stmt } "}" }
 *           service-stmt := "listen" ADDR { "tcp" | "udp" } EOS
 *                         | "weight" NUMBER EOS
 *                         | "backend" NAME EOS
 * Each directive is a table row: name, arity, setter. A bad statement is
 * reported and skipped to its end, so several errors come out at once.
 */
struct svc {
	char name[32];
	char listen[64];
	int tcp, udp;
	unsigned weight;
	int nbackends;
};

#define ARGS_MAX 4

typedef int svc_set_fn(struct tether_conf *c, struct svc *s,
		       const struct tether_conf_token *const *args, int n);

struct directive {
	const char *name;
	int min_args, max_args;
	svc_set_fn *set;
};

static int
set_listen(struct tether_conf *c, struct svc *s,
	   const struct tether_conf_token *const *args, int n)
{
	int i;

	snprintf(s->listen, sizeof(s->listen), "%s", args[0]->text);
	for (i = 1; i < n; i++) {
		if (strcmp(args[i]->text, "tcp") == 0)
			s->tcp = 1;
		else if (strcmp(args[i]->text, "udp") == 0)
			s->udp = 1;
		else
			return tether_conf_error(c, args[i],
						 "expected 'tcp' or 'udp', "
						 "not '%s'", args[i]->text);
	}
	return 0;
}

static int
set_weight(struct tether_conf *c, struct svc *s,
	   const struct tether_conf_token *const *args, int n)
{
	char *end;
	unsigned long v;

	(void)n;
	errno = 0;
	v = strtoul(args[0]->text, &end, 10);
	if (errno != 0 || *end != '\0' || end == args[0]->text || v > 256)
		return tether_conf_error(c, args[0],
					 "weight must be 0..256");
	s->weight = (unsigned)v;
	return 0;
}

static int
set_backend(struct tether_conf *c, struct svc *s,
	    const struct tether_conf_token *const *args, int n)
{
	(void)c;
	(void)args;
	(void)n;
	s->nbackends++;
	return 0;
}

static const struct directive svc_directives[] = {
	{ "listen", 1, 3, set_listen },
	{ "weight", 1, 1, set_weight },
	{ "backend", 1, 1, set_backend },
};

/* Skip to the end of the current statement (or a '}' that closes the
 * block, left for the caller). */
static void
skip_stmt(struct tether_conf *c)
{
	for (;;) {
		int type = tether_conf_peek(c)->type;

		if (type == TETHER_CONF_EOF || type == TETHER_CONF_RBRACE)
			return;
		tether_conf_next(c);
		if (type == TETHER_CONF_EOS)
			return;
	}
}

static void
parse_service_stmt(struct tether_conf *c, struct svc *s)
{
	const struct tether_conf_token *kw = tether_conf_next(c);
	const struct tether_conf_token *args[ARGS_MAX];
	const struct directive *d = NULL;
	size_t i;
	int n = 0;

	if (kw->type != TETHER_CONF_WORD) {
		tether_conf_error(c, kw, "expected a directive, found %s",
				  tether_conf_tok_name(kw->type));
		skip_stmt(c);
		return;
	}
	for (i = 0; i < TETHER_ARRAY_SIZE(svc_directives); i++)
		if (strcmp(svc_directives[i].name, kw->text) == 0)
			d = &svc_directives[i];
	if (d == NULL) {
		tether_conf_error(c, kw, "unknown directive '%s'", kw->text);
		skip_stmt(c);
		return;
	}
	while (tether_conf_peek(c)->type == TETHER_CONF_WORD ||
	       tether_conf_peek(c)->type == TETHER_CONF_STRING) {
		if (n == d->max_args) {
			tether_conf_error(c, tether_conf_peek(c),
					  "too many arguments to '%s'",
					  d->name);
			skip_stmt(c);
			return;
		}
		args[n++] = tether_conf_next(c);
	}
	if (tether_conf_peek(c)->type != TETHER_CONF_EOS) {
		tether_conf_error(c, tether_conf_peek(c),
				  "'%s' does not take a block", d->name);
		return;
	}
	if (n < d->min_args) {
		tether_conf_error(c, tether_conf_peek(c),
				  "'%s' needs at least %d argument(s)",
				  d->name, d->min_args);
		tether_conf_next(c);
		return;
	}
	tether_conf_next(c);	/* EOS */
	d->set(c, s, args, n);
}

/* Parse the stream into at most max services; returns how many. */
static int
parse_services(struct tether_conf *c, struct svc *out, int max)
{
	int n = 0;

	for (;;) {
		const struct tether_conf_token *t = tether_conf_next(c);
		struct svc *s;

		if (t->type == TETHER_CONF_EOF)
			return n;
		if (t->type != TETHER_CONF_WORD ||
		    strcmp(t->text, "service") != 0) {
			tether_conf_error(c, t, "expected 'service'");
			skip_stmt(c);
			continue;
		}
		t = tether_conf_next(c);
		if (t->type != TETHER_CONF_WORD && t->type !=
		    TETHER_CONF_STRING) {
			tether_conf_error(c, t, "expected a service name");
			skip_stmt(c);
			continue;
		}
		if (n == max) {
			tether_conf_error(c, t, "too many services");
			return n;
		}
		s = &out[n++];
		memset(s, 0, sizeof(*s));
		snprintf(s->name, sizeof(s->name), "%s", t->text);
		t = tether_conf_next(c);
		if (t->type != TETHER_CONF_LBRACE) {
			tether_conf_error(c, t, "expected '{' after the "
					  "service name");
			skip_stmt(c);
			continue;
		}
		while (tether_conf_peek(c)->type != TETHER_CONF_RBRACE &&
		       tether_conf_peek(c)->type != TETHER_CONF_EOF)
			parse_service_stmt(c, s);
		tether_conf_next(c);	/* '}' */
	}
}

static void
test_directive_parser(void **state)
{
	struct tether_conf *c;
	struct svc svcs[4];

	(void)state;
	assert_int_equal(lex("# two services\n"
			     "service nfs {\n"
			     "\tlisten 192.0.2.10:111 tcp udp\n"
			     "\tweight 10; backend a; backend b\n"
			     "}\n"
			     "service \"ftp data\" { listen [::1]:21 tcp }\n",
			     &c), 0);
	assert_int_equal(parse_services(c, svcs, 4), 2);
	assert_int_equal(tether_conf_error_count(c), 0);
	assert_string_equal(svcs[0].name, "nfs");
	assert_string_equal(svcs[0].listen, "192.0.2.10:111");
	assert_true(svcs[0].tcp && svcs[0].udp);
	assert_int_equal(svcs[0].weight, 10);
	assert_int_equal(svcs[0].nbackends, 2);
	assert_string_equal(svcs[1].name, "ftp data");
	assert_string_equal(svcs[1].listen, "[::1]:21");
	assert_true(svcs[1].tcp && !svcs[1].udp);
	tether_conf_free(c);

	/* Three mistakes, three diagnostics, and the good lines still
	 * take effect. */
	assert_int_equal(lex("service nfs {\n"
			     "\tlisten 192.0.2.10:111 sctp\n"
			     "\tlisen x\n"
			     "\tweight 1000\n"
			     "\tbackend a\n"
			     "}\n",
			     &c), 0);
	assert_int_equal(parse_services(c, svcs, 4), 1);
	assert_int_equal(tether_conf_error_count(c), 3);
	assert_string_equal(tether_conf_diagnostics(c),
		"t.conf:2:24: error: expected 'tcp' or 'udp', not 'sctp'\n"
		"\tlisten 192.0.2.10:111 sctp\n"
		"\t                      ^\n"
		"t.conf:3:2: error: unknown directive 'lisen'\n"
		"\tlisen x\n"
		"\t^\n"
		"t.conf:4:9: error: weight must be 0..256\n"
		"\tweight 1000\n"
		"\t       ^\n");
	assert_int_equal(svcs[0].nbackends, 1);
	tether_conf_free(c);

	/* Arity, and a warning (which is not an error). */
	assert_int_equal(lex("service s {\n  weight\n  weight 1 2\n}\n", &c),
			 0);
	parse_services(c, svcs, 4);
	tether_conf_warn(c, NULL, "no listen address");
	assert_string_equal(tether_conf_diagnostics(c),
		"t.conf:2:9: error: 'weight' needs at least 1 argument(s)\n"
		"  weight\n"
		"        ^\n"
		"t.conf:3:12: error: too many arguments to 'weight'\n"
		"  weight 1 2\n"
		"           ^\n"
		"t.conf: warning: no listen address\n");
	assert_int_equal(tether_conf_error_count(c), 2);
	tether_conf_free(c);
}

/* tether_conf_args: the argument loop of both daemons' parsers. */
static void
test_args(void **state)
{
	const struct tether_conf_token *args[3], *kw;
	struct tether_conf *c;
	int rest;

	(void)state;
	/* Words and strings up to the end of the statement, consumed. */
	assert_int_equal(lex("a x \"y z\"; b\nc\n", &c), 0);
	kw = tether_conf_next(c);
	assert_int_equal(tether_conf_args(c, kw, "a", 1, 3, args, &rest), 2);
	assert_int_equal(rest, 0);
	assert_string_equal(args[0]->text, "x");
	assert_string_equal(args[1]->text, "y z");
	assert_int_equal(args[1]->type, TETHER_CONF_STRING);
	assert_string_equal(tether_conf_next(c)->text, "b");
	/* None at all, min 0. */
	kw = tether_conf_peek(c);
	assert_int_equal(tether_conf_args(c, kw, "b", 0, 3, args, &rest), 0);
	assert_string_equal(tether_conf_next(c)->text, "c");
	/* At the end of the file without a statement end. */
	assert_int_equal(tether_conf_args(c, kw, "c", 0, 3, args, &rest), 0);
	assert_int_equal(tether_conf_peek(c)->type, TETHER_CONF_EOF);
	assert_int_equal(tether_conf_error_count(c), 0);
	tether_conf_free(c);

	/* Too many: the error at the first extra one, the rest unread. */
	assert_int_equal(lex("port 1 2 3\n", &c), 0);
	kw = tether_conf_next(c);
	assert_int_equal(tether_conf_args(c, kw, "port", 1, 1, args, &rest),
			 -TETHER_ESYNTAX);
	assert_int_equal(rest, 1);
	assert_string_equal(tether_conf_peek(c)->text, "2");
	assert_string_equal(tether_conf_diagnostics(c),
			    "t.conf:1:8: error: too many arguments to 'port'\n"
			    "port 1 2 3\n"
			    "       ^\n");
	tether_conf_free(c);

	/* A block: the error at '{', left for the caller to skip. */
	assert_int_equal(lex("user x { y }\n", &c), 0);
	kw = tether_conf_next(c);
	assert_int_equal(tether_conf_args(c, kw, "user", 1, 3, args, &rest),
			 -TETHER_ESYNTAX);
	assert_int_equal(rest, 1);
	assert_int_equal(tether_conf_peek(c)->type, TETHER_CONF_LBRACE);
	assert_non_null(strstr(tether_conf_diagnostics(c),
			       "t.conf:1:8: error: 'user' does not take a "
			       "block\n"));
	tether_conf_free(c);

	/* Too few: the error at the directive, the statement read;
	 * "argument" for 1, "arguments" otherwise. */
	assert_int_equal(lex("limits 1\nlisten\nnext\n", &c), 0);
	kw = tether_conf_next(c);
	assert_int_equal(tether_conf_args(c, kw, "limits", 2, 3, args, &rest),
			 -TETHER_ESYNTAX);
	assert_int_equal(rest, 0);
	kw = tether_conf_next(c);
	assert_string_equal(kw->text, "listen");
	assert_int_equal(tether_conf_args(c, kw, "listen", 1, 3, args, &rest),
			 -TETHER_ESYNTAX);
	assert_int_equal(rest, 0);
	assert_string_equal(tether_conf_next(c)->text, "next");
	assert_string_equal(tether_conf_diagnostics(c),
			    "t.conf:1:1: error: 'limits' needs at least 2 "
			    "arguments\n"
			    "limits 1\n"
			    "^\n"
			    "t.conf:2:1: error: 'listen' needs at least 1 "
			    "argument\n"
			    "listen\n"
			    "^\n");
	assert_int_equal(tether_conf_error_count(c), 2);
	tether_conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_stream),
		cmocka_unit_test(test_normalised),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_before_load_and_twice),
		cmocka_unit_test(test_diag_unterminated),
		cmocka_unit_test(test_diag_braces),
		cmocka_unit_test(test_diag_escapes_and_bytes),
		cmocka_unit_test(test_utf8_passes_through),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_error_bound),
		cmocka_unit_test(test_diag_text_bound),
		cmocka_unit_test(test_diag_far_column),
		cmocka_unit_test(test_include_forms),
		cmocka_unit_test(test_include_nested),
		cmocka_unit_test(test_include_glob),
		cmocka_unit_test(test_include_errors),
		cmocka_unit_test(test_top_file_errors),
		cmocka_unit_test(test_fifo_refused),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test(test_junk),
		cmocka_unit_test(test_directive_parser),
		cmocka_unit_test(test_args),
	};

	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
