/*
 * rpcgen.h - private header of tether-rpcgen: the tokens, the syntax tree
 * and the entry points of each stage (lex -> parse -> check -> emit).
 * The front end (lex, parse, check, diag) is a static library shared by
 * the program and the fuzz target; it needs only lib/core.
 */
#ifndef TETHER_RPCGEN_H
#define TETHER_RPCGEN_H

#include "tether/core.h"

#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>

/* Limits that keep any input's cost bounded (fuzzing relies on them). */
#define RG_MAX_ERRORS 50	/* then "too many errors" and stop */
#define RG_MAX_DEPTH 200	/* nesting of type references / constants */
#define RG_ARENA_MAX (512u << 20)

/* ------------------------------------------------------------------ */
/* Tokens                                                              */
/* ------------------------------------------------------------------ */

enum rg_tok_kind {
	RG_TK_IDENT,
	RG_TK_NUM,
	RG_TK_PUNCT,
	RG_TK_PERCENT,	/* a "%..." pass-through line; text after the % */
	RG_TK_STR,	/* a string literal, quotes included (const only) */
	RG_TK_EOF,
};

struct rg_token {
	struct rg_token *next;
	enum rg_tok_kind kind;
	const char *text;	/* NUL-terminated copy */
	size_t len;
	int64_t num;		/* RG_TK_NUM: the value */
	int num_bad;		/* RG_TK_NUM: did not fit 64 bits */
	int seq;		/* position in the stream: orders diagnostics */
	const char *file;	/* as the last line marker named it */
	int line;		/* 1-based, in file */
	int col;		/* 1-based byte column in the text read */
	const char *lbeg;	/* start of the line in the text read */
	const char *lend;	/* end of that line (exclusive) */
};

/* ------------------------------------------------------------------ */
/* Syntax tree                                                         */
/* ------------------------------------------------------------------ */

enum rg_tkind {
	RG_TY_VOID,
	RG_TY_INT,
	RG_TY_UINT,
	RG_TY_HYPER,
	RG_TY_UHYPER,
	RG_TY_FLOAT,
	RG_TY_DOUBLE,
	RG_TY_QUAD,
	RG_TY_BOOL,
	RG_TY_CHAR,
	RG_TY_UCHAR,
	RG_TY_SHORT,
	RG_TY_USHORT,
	RG_TY_LONG,
	RG_TY_ULONG,
	RG_TY_STRING,
	RG_TY_OPAQUE,
	RG_TY_NAMED,	/* a name: resolved by the checker */
};

/* A value: a number or the name of a constant or enum member. */
struct rg_value {
	struct rg_token *tok;
	int64_t v;	/* after check */
	int ok;		/* after check: v is known */
};

struct rg_def;

struct rg_type {
	enum rg_tkind kind;
	const char *name;	/* RG_TY_NAMED: as written */
	const char *tag;	/* "struct", "union", "enum" or NULL */
	struct rg_token *tok;
	struct rg_def *def;	/* after check: the named definition */
	enum rg_tkind base;	/* after check: builtin a name stands for */
};

enum rg_dkind {
	RG_DECL_PLAIN,
	RG_DECL_PTR,	/* optional-data: T *x */
	RG_DECL_FIXED,	/* T x[n] */
	RG_DECL_VAR,	/* T x<n> or T x<> */
	RG_DECL_VOID,
};

struct rg_decl {
	struct rg_decl *next;
	struct rg_token *name_tok; /* NULL for void / unnamed arguments */
	const char *name;
	struct rg_type type;
	enum rg_dkind kind;
	struct rg_value *bound;	/* FIXED: size; VAR: maximum or NULL */
};

struct rg_enumval {
	struct rg_enumval *next;
	struct rg_token *name_tok;
	const char *name;
	struct rg_value *val;	/* NULL: previous + 1 */
	int64_t v;		/* after check */
};

struct rg_caseval {
	struct rg_caseval *next;
	struct rg_value val;
};

struct rg_case {
	struct rg_case *next;
	struct rg_caseval *vals;
	struct rg_decl *decl;
};

struct rg_proc {
	struct rg_proc *next;
	struct rg_token *name_tok;
	const char *name;
	struct rg_decl *res;
	struct rg_decl *args;	/* one RG_DECL_VOID decl for "void" */
	int nargs;		/* 0 for void */
	struct rg_value num;
};

struct rg_vers {
	struct rg_vers *next;
	struct rg_token *name_tok;
	const char *name;
	struct rg_proc *procs;
	struct rg_value num;
};

enum rg_defkind {
	RG_DEF_CONST,
	RG_DEF_TYPEDEF,
	RG_DEF_ENUM,
	RG_DEF_STRUCT,
	RG_DEF_UNION,
	RG_DEF_PROGRAM,
	RG_DEF_PASS,	/* % line */
};

struct rg_def {
	struct rg_def *next;
	enum rg_defkind kind;
	struct rg_token *name_tok;
	const char *name;
	struct rg_value val;		/* CONST */
	struct rg_decl *decl;		/* TYPEDEF */
	struct rg_enumval *enums;	/* ENUM */
	struct rg_decl *members;	/* STRUCT */
	struct rg_decl *disc;		/* UNION: discriminant */
	struct rg_case *cases;		/* UNION */
	struct rg_decl *deflt;		/* UNION: default arm or NULL */
	struct rg_vers *versions;	/* PROGRAM */
	struct rg_value num;		/* PROGRAM */
	const char *text;		/* PASS */
	int mark;			/* checker's scratch */
	int ext;			/* CONST from a %#define line */
	int broken;			/* a syntax error cut it short: its
					 * name exists, nothing else is sure */
};

/* ------------------------------------------------------------------ */
/* Context: arena, diagnostics, the parsed file                        */
/* ------------------------------------------------------------------ */

struct rg_srcfile {
	struct rg_srcfile *next;
	const char *name;
	const char *text;	/* NULL when it could not be read */
	size_t len;
};

struct rg_sym;

/* A diagnostic held back so that they print in source order. */
struct rg_pending {
	int seq;
	char *text;	/* the message, source line, caret, and notes */
};

#define RG_MAX_PENDING 256

struct rg_ctx {
	struct tether_arena *arena;
	FILE *err;		/* diagnostics go here; NULL: count only */
	int read_sources;	/* may open files to print source lines */
	int lenient;		/* names defined outside the file are fine:
				 * another pass already checked them */
	int no_warn;		/* drop warnings (a repeated pass) */
	int has_include;	/* a %#include may define unknown names */
	int uses_netobj;	/* refers to rpc/xdr.h's netobj */
	int uses_des_block;	/* ... rpc/auth.h's des_block */
	int uses_maxnetnamelen;	/* ... and MAXNETNAMELEN */
	struct rg_def *maxnetnamelen;
	int nerrors;
	int nwarnings;
	jmp_buf *oom;		/* longjmp target when the arena is full */
	struct rg_srcfile *srcs;
	struct rg_def *defs;	/* the specification, in order */
	struct rg_sym **syms;	/* checker's hash table */
	size_t nsyms;
	int too_many;		/* stopped reporting */
	struct rg_pending *pend;	/* RG_MAX_PENDING slots, lazily */
	int npend;
};

/*
 * rg_ctx_init - set up a context with a fresh arena bounded by max_bytes.
 * err receives diagnostics (NULL to only count them). Returns 0 or
 * -TETHER_ENOMEM. rg_ctx_fini frees everything the stages allocated.
 */
int rg_ctx_init(struct rg_ctx *c, FILE *err, size_t max_bytes);
void rg_ctx_fini(struct rg_ctx *c);

/* Arena helpers: never return NULL; when the arena is exhausted they
 * report once and longjmp to c->oom (which must be set). */
void *rg_alloc(struct rg_ctx *c, size_t n);
char *rg_strndup(struct rg_ctx *c, const char *s, size_t n);
char *rg_strdup(struct rg_ctx *c, const char *s);
char *rg_printf(struct rg_ctx *c, const char *fmt, ...) TETHER_PRINTF(2, 3);

/*
 * Diagnostics, as GCC prints them: "file:line:col: error: msg", the
 * source line with a gutter, a caret under the token. tok may be NULL
 * (no location). rg_error counts toward nerrors.
 */
void rg_error(struct rg_ctx *c, const struct rg_token *tok, const char *fmt,
	      ...) TETHER_PRINTF(3, 4);
void rg_warn(struct rg_ctx *c, const struct rg_token *tok, const char *fmt,
	     ...) TETHER_PRINTF(3, 4);
void rg_note(struct rg_ctx *c, const struct rg_token *tok, const char *fmt,
	     ...) TETHER_PRINTF(3, 4);

/* Print the diagnostics held back so far, in source order (a note stays
 * with its error). rg_front calls it; so must other callers of the
 * stages before reading c->err. */
void rg_flush_diags(struct rg_ctx *c);

/*
 * rg_tokenize - split text (len bytes, need not be NUL-terminated) into
 * tokens. file names the input; "# N "file"" line markers from cpp
 * change it. Errors are reported to c; returns the list, which always
 * ends with an RG_TK_EOF token.
 */
struct rg_token *rg_tokenize(struct rg_ctx *c, const char *file,
			     const char *text, size_t len);

/* rg_parse - parse tokens into c->defs. Reports syntax errors and goes on
 * with the next definition. Returns the number of errors so far. */
int rg_parse(struct rg_ctx *c, struct rg_token *tok);

/* rg_check - resolve names and values, report semantic errors. Returns
 * the number of errors so far (0: the tree is ready to emit). */
int rg_check(struct rg_ctx *c);

/*
 * rg_front - lex, parse and check text in one go, with c->oom handled.
 * Returns 0 when the specification is valid, -TETHER_ESYNTAX when errors
 * were reported, -TETHER_ENOMEM when the arena bound was hit.
 */
int rg_front(struct rg_ctx *c, const char *file, const char *text,
	     size_t len);

/* ------------------------------------------------------------------ */
/* Queries shared by the checker and the emitters                      */
/* ------------------------------------------------------------------ */

/* The builtin a type stands for after following typedefs of builtins
 * (u_int -> RG_TY_UINT); RG_TY_NAMED when it names a struct/union/enum
 * or a typedef of one. */
enum rg_tkind rg_type_base(const struct rg_type *t);

/* The definition a named type resolves to after typedefs, or NULL. */
struct rg_def *rg_type_resolve(const struct rg_type *t);

/* Look up a definition (type, constant, program) by name; NULL if none. */
struct rg_def *rg_lookup_def(struct rg_ctx *c, const char *name);

/* A string buffer that grows in the arena; emitters build names with it. */
const char *rg_lower(struct rg_ctx *c, const char *s);

/* ------------------------------------------------------------------ */
/* Emitters                                                            */
/* ------------------------------------------------------------------ */

struct rg_opts {
	const char *input;	/* path of the .x file */
	const char *base;	/* "foo" for foo.x, used for names */
	const char *hdr_name;	/* header the .c files include ("foo.h");
				 * NULL when reading standard input */
	const char *prefix;	/* prefix of generated codec names */
	int newstyle;		/* -N (always on, kept for the record) */
};

/* Helpers shared by the emitters (emit_hdr.c). */

/* The C type that holds one element of t ("int32_t", "struct node",
 * "char *" for string, "char" for opaque). */
const char *rg_ctype(struct rg_ctx *c, const struct rg_type *t);
/* The codec function for one element of t ("txdr_node",
 * "tether_xdr_codec_u32"). */
const char *rg_codec(struct rg_ctx *c, const struct rg_opts *o,
		     const struct rg_type *t);
/* The C declaration of d named name, rpcgen's way, at indent tabs. */
void rg_emit_decl(struct rg_ctx *c, FILE *out, const struct rg_decl *d,
		  int indent);
/* The C name of a procedure's function: "proc1_1". */
const char *rg_proc_fn(struct rg_ctx *c, const struct rg_proc *p,
		       const struct rg_vers *v);
/* The name of the struct holding a procedure's several arguments. */
const char *rg_proc_argstruct(struct rg_ctx *c, const struct rg_proc *p,
			      const struct rg_vers *v);
/* The type of a procedure argument or result as a C type. */
const char *rg_call_ctype(struct rg_ctx *c, const struct rg_decl *d);
/* Its codec, and the generated codec for a procedure's argument struct */
const char *rg_call_codec(struct rg_ctx *c, const struct rg_opts *o,
			  const struct rg_decl *d);

/* The #include line of a .c output for the generated header; with no
 * header name (standard input: rpcgen includes only rpc/rpc.h), the
 * library's xdr header, so the .x file's own %#include must name it. */
void rg_emit_include_hdr(const struct rg_opts *o, FILE *out);

/* The runtime's header, which the header includes when the file has
 * programs (emit_rpc.c). */
void rg_emit_hdr_includes(struct rg_ctx *c, FILE *out);
/* The program part of the header (emit_rpc.c): #defines, client and
 * server prototypes. */
void rg_emit_hdr_programs(struct rg_ctx *c, const struct rg_opts *o,
			  FILE *out);

/* Each writes one output file for the checked c->defs to out. */
void rg_emit_hdr(struct rg_ctx *c, const struct rg_opts *o, FILE *out);
void rg_emit_xdr(struct rg_ctx *c, const struct rg_opts *o, FILE *out);
void rg_emit_clnt(struct rg_ctx *c, const struct rg_opts *o, FILE *out);
void rg_emit_svc(struct rg_ctx *c, const struct rg_opts *o, FILE *out);
void rg_emit_sample_clnt(struct rg_ctx *c, const struct rg_opts *o,
			 FILE *out);
void rg_emit_sample_svc(struct rg_ctx *c, const struct rg_opts *o,
			FILE *out);
/* -Sm: rpcgen's template Makefile, building the samples with libtether */
void rg_emit_makefile(struct rg_ctx *c, const struct rg_opts *o, FILE *out);
/* --fill: random-value fillers for tests (see emit_fill.c). */
void rg_emit_fill(struct rg_ctx *c, const struct rg_opts *o, FILE *out);
/* --layout: the sizes, offsets and signedness of every generated type
 * as TXDR_LAYOUT_* macro calls, to compare with rpcgen's (emit_layout.c).
 */
void rg_emit_layout(struct rg_ctx *c, const struct rg_opts *o, FILE *out);

#endif /* TETHER_RPCGEN_H */
