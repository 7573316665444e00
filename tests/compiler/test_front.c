/*
 * test_front.c - tether-rpcgen's front end as a library: diagnostics text
 * from memory, cpp line markers, the error cap, the arena bound, and every
 * allocation failing in turn without a leak or a crash.
 */
#include "tether_test.h"

#include "rpcgen.h"

#include <stdlib.h>
#include <string.h>

static const char valid[] =
	"const N = 4;\n"
	"enum e { A = 1, B = 2 };\n"
	"typedef string s<N>;\n"
	"struct node { int v; node *next; e kind; s name; };\n"
	"union u switch (e k) { case A: node n; case B: void; };\n"
	"program P { version V { u F(node, int) = 1; } = 1; } = 0x20000001;\n";

/* Run the front end on text; the diagnostics land in *out (free it). */
static int
front(const char *text, char **out, int *nerrors)
{
	struct rg_ctx c;
	size_t len = 0;
	FILE *f;
	int rc;

	*out = NULL;
	f = open_memstream(out, &len);
	assert_non_null(f);
	rc = rg_ctx_init(&c, f, 1u << 20);
	if (rc == 0) {
		rc = rg_front(&c, "t.x", text, strlen(text));
		*nerrors = c.nerrors;
		rg_ctx_fini(&c);
	}
	fclose(f);
	return rc;
}

static void
test_valid(void **state)
{
	char *out;
	int n;

	(void)state;
	assert_int_equal(front(valid, &out, &n), 0);
	assert_int_equal(n, 0);
	assert_string_equal(out, "");
	free(out);
}

static void
test_diag_text(void **state)
{
	char *out;
	int n;

	(void)state;
	assert_tether_err(front("const A = 1;\n\tconst B = ;\n", &out, &n),
			  -TETHER_ESYNTAX);
	assert_int_equal(n, 1);
	/* tabs count to the next multiple of 8, as GCC counts them */
	assert_string_equal(out,
		"t.x:2:19: error: expected constant or constant name "
		"before ';'\n"
		"    2 |         const B = ;\n"
		"      |                   ^\n");
	free(out);
}

static void
test_line_markers(void **state)
{
	char *out;
	int n;

	(void)state;
	assert_tether_err(front("# 1 \"t.x\"\n# 40 \"other.x\" 1\n"
				"typedef nothing x;\n", &out, &n),
			  -TETHER_ESYNTAX);
	assert_non_null(strstr(out, "other.x:40:9: error: unknown type "
				    "name 'nothing'\n"));
	free(out);
}

static void
test_several_and_cap(void **state)
{
	char *out, *text;
	int n, i;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_tether_err(
		front("const A = ;\nconst B = ;\nstruct s { int; };\n", &out,
		      &n),
		-TETHER_ESYNTAX);
	assert_int_equal(n, 3);
	free(out);

	f = open_memstream(&text, &len);
	assert_non_null(f);
	for (i = 0; i < 200; i++)
		fprintf(f, "const X%d = ;\n", i);
	fclose(f);
	assert_tether_err(front(text, &out, &n), -TETHER_ESYNTAX);
	assert_true(n > RG_MAX_ERRORS);
	assert_non_null(strstr(out, "too many errors"));
	free(out);
	free(text);
}

static void
test_unterminated(void **state)
{
	char *out;
	int n;

	(void)state;
	assert_tether_err(front("const A = 1; /* no end", &out, &n),
			  -TETHER_ESYNTAX);
	assert_non_null(strstr(out, "t.x:1:14: error: unterminated comment"));
	free(out);
	assert_tether_err(front("const A = \"open;\n", &out, &n),
			  -TETHER_ESYNTAX);
	assert_non_null(strstr(out, "missing terminating"));
	free(out);
	assert_tether_err(front("#define X 1\n", &out, &n), -TETHER_ESYNTAX);
	assert_non_null(strstr(out, "not preprocessed"));
	free(out);
}

/* '%' lines: #define makes constants, #include excuses unknown types. */
static void
test_pass_lines(void **state)
{
	char *out;
	int n;

	(void)state;
	assert_int_equal(front("%#define LEN 8\n%#define EXPR (LEN+1)\n"
			       "typedef int a<LEN>;\ntypedef int b[EXPR];\n",
			       &out, &n), 0);
	assert_string_equal(out, "");
	free(out);
	/* a function-like macro is no constant */
	assert_tether_err(front("%#define F(x) x\ntypedef int a<F>;\n", &out,
				&n), -TETHER_ESYNTAX);
	assert_non_null(strstr(out, "'F' undeclared"));
	free(out);
	/* without %#include an unknown type is an error, with it a warning */
	assert_tether_err(front("typedef ext_t a;\n", &out, &n),
			  -TETHER_ESYNTAX);
	free(out);
	assert_int_equal(front("%#include <ext.h>\ntypedef ext_t a;\n", &out,
			       &n), 0);
	assert_non_null(strstr(out, "t.x:2:9: warning: unknown type name "
				    "'ext_t'"));
	free(out);
}

/* The arena's bound turns a huge input into -TETHER_ENOMEM, no crash. */
static void
test_arena_bound(void **state)
{
	struct rg_ctx c;
	char *text;
	size_t n = 1u << 20, i;

	(void)state;
	text = malloc(n);
	assert_non_null(text);
	for (i = 0; i + 8 <= n; i += 8)
		memcpy(text + i, "int a;\n ", 8);
	assert_int_equal(rg_ctx_init(&c, NULL, 256u << 10), 0);
	assert_tether_err(rg_front(&c, "big.x", text, i), -TETHER_ENOMEM);
	rg_ctx_fini(&c);
	free(text);
}

/* Fail the 1st, 2nd, ... allocation until the whole run succeeds. */
static void
test_alloc_failures(void **state)
{
	unsigned long k;
	int ok = 0;

	(void)state;
	for (k = 1; k < 1000 && !ok; k++) {
		struct rg_ctx c;
		int rc;

		tether_alloc_fail_at(k, 0);
		if (rg_ctx_init(&c, NULL, 0) < 0)
			continue;
		rc = rg_front(&c, "t.x", valid, strlen(valid));
		assert_true(rc == 0 || rc == -TETHER_ENOMEM);
		ok = rc == 0 && tether_alloc_count() < k;
		rg_ctx_fini(&c);
	}
	tether_alloc_fail_at(0, 0);
	assert_true(ok);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_diag_text),
		cmocka_unit_test(test_line_markers),
		cmocka_unit_test(test_several_and_cap),
		cmocka_unit_test(test_unterminated),
		cmocka_unit_test(test_pass_lines),
		cmocka_unit_test(test_arena_bound),
		cmocka_unit_test(test_alloc_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
