/*
 * parse.c - recursive descent over the RPC language, one function per
 * production of RFC 4506 section 6.3 and RFC 5531 section 12.2 plus what
 * rpcgen accepts beyond them ('%' lines, several procedure arguments,
 * "unsigned" alone, long/short/char). The grammar never nests (no inline
 * type bodies), so depth is bounded without a counter. On a syntax error
 * the parser reports it, skips to the end of the definition and goes on.
 */
#include "rpcgen.h"

#include <string.h>

struct parser {
	struct rg_ctx *c;
	struct rg_token *tok;	/* next token */
	struct rg_token *start; /* first token of the current definition */
	jmp_buf fail;		/* syntax error: resynchronise */
	struct rg_def **tail;
	struct rg_def *cur;	/* the definition being parsed, once named */
};

static const char *const keywords[] = {
	"bool", "case", "const", "default", "double", "quadruple", "enum",
	"float", "hyper", "int", "opaque", "string", "struct", "switch",
	"typedef", "union", "unsigned", "void", "program", "version",
	"char", "short", "long",
};

static int
equal(const struct rg_token *t, const char *s)
{
	return (t->kind == RG_TK_IDENT || t->kind == RG_TK_PUNCT) &&
	       strcmp(t->text, s) == 0;
}

static int
is_keyword(const struct rg_token *t)
{
	size_t i;

	for (i = 0; i < TETHER_ARRAY_SIZE(keywords); i++)
		if (strcmp(t->text, keywords[i]) == 0)
			return 1;
	return 0;
}

static const char *
describe(struct rg_ctx *c, const struct rg_token *t)
{
	if (t->kind == RG_TK_EOF)
		return "end of input";
	if (t->kind == RG_TK_PERCENT)
		return "'%' line";
	return rg_printf(c, "'%s'", t->text);
}

TETHER_NORETURN static void
syntax(struct parser *P, const struct rg_token *t, const char *what)
{
	rg_error(P->c, t, "expected %s before %s", what, describe(P->c, t));
	longjmp(P->fail, 1);
}

static void
skip(struct parser *P, const char *s)
{
	if (!equal(P->tok, s))
		syntax(P, P->tok, rg_printf(P->c, "'%s'", s));
	P->tok = P->tok->next;
}

static int
consume(struct parser *P, const char *s)
{
	if (equal(P->tok, s)) {
		P->tok = P->tok->next;
		return 1;
	}
	return 0;
}

static struct rg_token *
identifier(struct parser *P)
{
	struct rg_token *t = P->tok;

	if (t->kind != RG_TK_IDENT || is_keyword(t))
		syntax(P, t, "identifier");
	P->tok = t->next;
	return t;
}

/* constant: a (possibly negative) decimal, hex or octal number. */
static void
constant(struct parser *P, struct rg_value *v)
{
	if (P->tok->kind != RG_TK_NUM)
		syntax(P, P->tok, "constant");
	v->tok = P->tok;
	P->tok = P->tok->next;
}

/* value: constant | identifier */
static void
value(struct parser *P, struct rg_value *v)
{
	if (P->tok->kind == RG_TK_NUM) {
		constant(P, v);
		return;
	}
	if (P->tok->kind != RG_TK_IDENT || is_keyword(P->tok))
		syntax(P, P->tok, "constant or constant name");
	v->tok = P->tok;
	P->tok = P->tok->next;
}

static struct rg_value *
new_value(struct parser *P)
{
	struct rg_value *v = rg_alloc(P->c, sizeof(*v));

	value(P, v);
	return v;
}

/*
 * type_specifier: ["unsigned"] ("int" | "hyper" | "long" | "short" |
 *     "char") | "unsigned" | "float" | "double" | "quadruple" | "bool"
 *     | enum_type_spec | struct_type_spec | union_type_spec | identifier
 * The *_type_spec forms name a type defined elsewhere: rpcgen, and so
 * this compiler, does not take anonymous bodies here.
 */
static void
type_specifier(struct parser *P, struct rg_type *ty)
{
	struct rg_token *t = P->tok;

	memset(ty, 0, sizeof(*ty));
	ty->tok = t;
	if (consume(P, "unsigned")) {
		if (consume(P, "int"))
			ty->kind = RG_TY_UINT;
		else if (consume(P, "hyper"))
			ty->kind = RG_TY_UHYPER;
		else if (consume(P, "long"))
			ty->kind = RG_TY_ULONG;
		else if (consume(P, "short"))
			ty->kind = RG_TY_USHORT;
		else if (consume(P, "char"))
			ty->kind = RG_TY_UCHAR;
		else
			ty->kind = RG_TY_UINT;
		return;
	}
	if (consume(P, "int")) {
		ty->kind = RG_TY_INT;
	} else if (consume(P, "hyper")) {
		ty->kind = RG_TY_HYPER;
	} else if (consume(P, "long")) {
		ty->kind = RG_TY_LONG;
	} else if (consume(P, "short")) {
		ty->kind = RG_TY_SHORT;
	} else if (consume(P, "char")) {
		ty->kind = RG_TY_CHAR;
	} else if (consume(P, "float")) {
		ty->kind = RG_TY_FLOAT;
	} else if (consume(P, "double")) {
		ty->kind = RG_TY_DOUBLE;
	} else if (consume(P, "quadruple")) {
		ty->kind = RG_TY_QUAD;
	} else if (consume(P, "bool")) {
		ty->kind = RG_TY_BOOL;
	} else if (equal(t, "struct") || equal(t, "union") ||
		   equal(t, "enum")) {
		P->tok = t->next;
		if (equal(P->tok, "{") || equal(P->tok, "switch")) {
			rg_error(P->c, P->tok, "anonymous %s definitions are "
					       "not supported; name the type",
				 t->text);
			longjmp(P->fail, 1);
		}
		ty->kind = RG_TY_NAMED;
		ty->tag = t->text;
		ty->tok = identifier(P);
		ty->name = ty->tok->text;
	} else if (t->kind == RG_TK_IDENT && !is_keyword(t)) {
		ty->kind = RG_TY_NAMED;
		ty->name = t->text;
		P->tok = t->next;
	} else {
		syntax(P, t, "type specifier");
	}
}

/* "[" value "]" | "<" [value] ">" after a declared name. */
static int
array_suffix(struct parser *P, struct rg_decl *d)
{
	if (consume(P, "[")) {
		d->kind = RG_DECL_FIXED;
		d->bound = new_value(P);
		skip(P, "]");
		return 1;
	}
	if (consume(P, "<")) {
		d->kind = RG_DECL_VAR;
		if (!equal(P->tok, ">"))
			d->bound = new_value(P);
		skip(P, ">");
		return 1;
	}
	return 0;
}

/*
 * declaration:
 *     type_specifier identifier
 *   | type_specifier identifier "[" value "]"
 *   | type_specifier identifier "<" [ value ] ">"
 *   | "opaque" identifier "[" value "]"
 *   | "opaque" identifier "<" [ value ] ">"
 *   | "string" identifier "<" [ value ] ">"
 *   | type_specifier "*" identifier
 *   | "void"
 * With anonymous set (procedure arguments, rpcgen -N) the identifier
 * may be left out and a string needs no "<>".
 */
static struct rg_decl *
declaration(struct parser *P, int allow_void, int anonymous)
{
	struct rg_decl *d = rg_alloc(P->c, sizeof(*d));
	struct rg_token *t = P->tok;

	d->type.tok = t;
	if (equal(t, "void")) {
		if (!allow_void)
			syntax(P, t, "declaration ('void' is allowed only in "
				     "unions and procedures)");
		P->tok = t->next;
		d->kind = RG_DECL_VOID;
		d->type.kind = RG_TY_VOID;
		return d;
	}
	if (equal(t, "opaque") || equal(t, "string")) {
		P->tok = t->next;
		d->type.kind = equal(t, "opaque") ? RG_TY_OPAQUE : RG_TY_STRING;
		if (!anonymous || (P->tok->kind == RG_TK_IDENT &&
				   !is_keyword(P->tok))) {
			d->name_tok = identifier(P);
			d->name = d->name_tok->text;
		}
		if (d->type.kind == RG_TY_STRING && equal(P->tok, "[")) {
			rg_error(P->c, P->tok, "string must be variable-length "
					       "('<>'), not fixed ('[]')");
			longjmp(P->fail, 1);
		}
		if (!array_suffix(P, d)) {
			if (!anonymous)
				syntax(P, P->tok, d->type.kind == RG_TY_STRING
							  ? "'<'"
							  : "'[' or '<'");
			d->kind = RG_DECL_VAR;
		}
		return d;
	}
	type_specifier(P, &d->type);
	d->kind = RG_DECL_PLAIN;
	if (consume(P, "*"))
		d->kind = RG_DECL_PTR;
	if (!anonymous ||
	    (P->tok->kind == RG_TK_IDENT && !is_keyword(P->tok))) {
		d->name_tok = identifier(P);
		d->name = d->name_tok->text;
	}
	if (d->kind != RG_DECL_PTR)
		array_suffix(P, d);
	return d;
}

static struct rg_def *
new_def(struct parser *P, enum rg_defkind kind, struct rg_token *name)
{
	struct rg_def *d = rg_alloc(P->c, sizeof(*d));

	d->kind = kind;
	d->name_tok = name;
	d->name = name ? name->text : NULL;
	P->cur = d;
	return d;
}

/* enum_body: "{" ( identifier "=" value ) ( "," identifier "=" value )*
 * "}"; rpcgen lets "= value" go (previous + 1). */
static void
enum_body(struct parser *P, struct rg_def *d)
{
	struct rg_enumval **tail = &d->enums;

	skip(P, "{");
	do {
		struct rg_enumval *e = rg_alloc(P->c, sizeof(*e));

		if (equal(P->tok, "}") && tail != &d->enums)
			break;	/* trailing comma */
		e->name_tok = identifier(P);
		e->name = e->name_tok->text;
		/* listed before its value: a broken value keeps the name */
		*tail = e;
		tail = &e->next;
		if (consume(P, "="))
			e->val = new_value(P);
	} while (consume(P, ","));
	skip(P, "}");
}

/* struct_body: "{" ( declaration ";" )+ "}" */
static void
struct_body(struct parser *P, struct rg_def *d)
{
	struct rg_decl **tail = &d->members;

	skip(P, "{");
	do {
		struct rg_decl *m = declaration(P, 0, 0);

		skip(P, ";");
		*tail = m;
		tail = &m->next;
	} while (!equal(P->tok, "}"));
	skip(P, "}");
}

/* case_spec: ( "case" value ":" )+ declaration ";" */
static struct rg_case *
case_spec(struct parser *P)
{
	struct rg_case *k = rg_alloc(P->c, sizeof(*k));
	struct rg_caseval **tail = &k->vals;

	while (consume(P, "case")) {
		struct rg_caseval *cv = rg_alloc(P->c, sizeof(*cv));

		value(P, &cv->val);
		skip(P, ":");
		*tail = cv;
		tail = &cv->next;
	}
	k->decl = declaration(P, 1, 0);
	skip(P, ";");
	return k;
}

/* union_body: "switch" "(" declaration ")" "{" case_spec+
 *     [ "default" ":" declaration ";" ] "}" */
static void
union_body(struct parser *P, struct rg_def *d)
{
	struct rg_case **tail = &d->cases;

	skip(P, "switch");
	skip(P, "(");
	d->disc = declaration(P, 0, 0);
	skip(P, ")");
	skip(P, "{");
	if (!equal(P->tok, "case"))
		syntax(P, P->tok, "'case'");
	while (equal(P->tok, "case")) {
		*tail = case_spec(P);
		tail = &(*tail)->next;
	}
	if (consume(P, "default")) {
		skip(P, ":");
		d->deflt = declaration(P, 1, 0);
		skip(P, ";");
	}
	skip(P, "}");
}

/* type_def: "typedef" declaration ";" | "enum" identifier enum_body ";"
 *   | "struct" identifier struct_body ";"
 *   | "union" identifier union_body ";" */
static struct rg_def *
type_def(struct parser *P)
{
	struct rg_token *t = P->tok;
	struct rg_def *d;

	P->tok = t->next;
	if (equal(t, "typedef")) {
		struct rg_decl *decl = declaration(P, 0, 0);

		d = new_def(P, RG_DEF_TYPEDEF, decl->name_tok);
		d->decl = decl;
	} else if (equal(t, "enum")) {
		d = new_def(P, RG_DEF_ENUM, identifier(P));
		enum_body(P, d);
	} else if (equal(t, "struct")) {
		d = new_def(P, RG_DEF_STRUCT, identifier(P));
		struct_body(P, d);
	} else {
		d = new_def(P, RG_DEF_UNION, identifier(P));
		union_body(P, d);
	}
	skip(P, ";");
	return d;
}

/* constant_def: "const" identifier "=" value ";" (rpcgen, and real
 * files, define constants in terms of other constants) */
static struct rg_def *
constant_def(struct parser *P)
{
	struct rg_def *d;

	skip(P, "const");
	d = new_def(P, RG_DEF_CONST, identifier(P));
	skip(P, "=");
	if (P->tok->kind == RG_TK_STR) {
		/* rpcgen passes string constants through to the header */
		d->val.tok = P->tok;
		P->tok = P->tok->next;
	} else {
		value(P, &d->val);
	}
	skip(P, ";");
	return d;
}

/* proc_return: "void" | "string" | type_specifier ["*"] */
static struct rg_decl *
proc_return(struct parser *P)
{
	struct rg_decl *d = rg_alloc(P->c, sizeof(*d));

	d->type.tok = P->tok;
	if (consume(P, "void")) {
		d->kind = RG_DECL_VOID;
		d->type.kind = RG_TY_VOID;
	} else if (consume(P, "string")) {
		d->kind = RG_DECL_VAR;
		d->type.kind = RG_TY_STRING;
	} else if (consume(P, "opaque")) {
		d->kind = RG_DECL_VAR;
		d->type.kind = RG_TY_OPAQUE;
	} else {
		type_specifier(P, &d->type);
		d->kind = consume(P, "*") ? RG_DECL_PTR : RG_DECL_PLAIN;
	}
	return d;
}

/* "=" value ";": the number that ends a procedure, version or program. */
static void
number_tail(struct parser *P, struct rg_value *num)
{
	skip(P, "=");
	value(P, num);
	skip(P, ";");
}

/* procedure_def: proc_return identifier "(" proc_firstarg
 *     ( "," type_specifier )* ")" "=" value ";"
 * proc_return: "void" | type_specifier; proc_firstarg: "void" | decl */
static struct rg_proc *
procedure_def(struct parser *P)
{
	struct rg_proc *pr = rg_alloc(P->c, sizeof(*pr));
	struct rg_decl **tail = &pr->args;

	pr->res = proc_return(P);
	pr->name_tok = identifier(P);
	pr->name = pr->name_tok->text;
	skip(P, "(");
	do {
		struct rg_token *at = P->tok;
		struct rg_decl *a = declaration(P, 1, 1);

		if (a->kind == RG_DECL_VOID && (pr->nargs > 0 ||
						!equal(P->tok, ")"))) {
			rg_error(P->c, at, "'void' must be the only "
					   "argument");
			longjmp(P->fail, 1);
		}
		if (a->kind == RG_DECL_FIXED) {
			rg_error(P->c, at, "a procedure argument cannot be a "
					   "fixed-length array");
			longjmp(P->fail, 1);
		}
		if (a->kind != RG_DECL_VOID)
			pr->nargs++;
		*tail = a;
		tail = &a->next;
	} while (consume(P, ","));
	skip(P, ")");
	number_tail(P, &pr->num);
	return pr;
}

/* version_def: "version" identifier "{" procedure_def+ "}" "=" value ";" */
static struct rg_vers *
version_def(struct parser *P)
{
	struct rg_vers *v = rg_alloc(P->c, sizeof(*v));
	struct rg_proc **tail = &v->procs;

	skip(P, "version");
	v->name_tok = identifier(P);
	v->name = v->name_tok->text;
	skip(P, "{");
	do {
		*tail = procedure_def(P);
		tail = &(*tail)->next;
	} while (!equal(P->tok, "}"));
	skip(P, "}");
	number_tail(P, &v->num);
	return v;
}

/* program_def: "program" identifier "{" version_def+ "}" "=" value ";" */
static struct rg_def *
program_def(struct parser *P)
{
	struct rg_def *d;
	struct rg_vers **tail;

	skip(P, "program");
	d = new_def(P, RG_DEF_PROGRAM, identifier(P));
	tail = &d->versions;
	skip(P, "{");
	do {
		*tail = version_def(P);
		tail = &(*tail)->next;
	} while (!equal(P->tok, "}"));
	skip(P, "}");
	number_tail(P, &d->num);
	return d;
}

/* definition: type_def | constant_def | program_def | "%" line */
static struct rg_def *
definition(struct parser *P)
{
	struct rg_token *t = P->tok;

	if (t->kind == RG_TK_PERCENT) {
		struct rg_def *d = new_def(P, RG_DEF_PASS, NULL);

		d->text = t->text;
		d->name_tok = t;
		P->tok = t->next;
		return d;
	}
	if (equal(t, "typedef") || equal(t, "enum") || equal(t, "struct") ||
	    equal(t, "union"))
		return type_def(P);
	if (equal(t, "const"))
		return constant_def(P);
	if (equal(t, "program"))
		return program_def(P);
	rg_error(P->c, t, "expected definition ('const', 'typedef', "
			  "'enum', 'struct', 'union' or 'program') before %s",
		 describe(P->c, t));
	longjmp(P->fail, 1);
}

/*
 * After an error: skip to the ';' that closes the definition that
 * started at P->start (braces balanced), but at least one token past
 * where the error was found, so the loop always makes progress.
 */
static void
resync(struct parser *P, struct rg_token *err_at)
{
	struct rg_token *t = P->start;
	int depth = 0, past = 0;

	for (; t->kind != RG_TK_EOF; t = t->next) {
		if (t == err_at)
			past = 1;
		if (equal(t, "{"))
			depth++;
		else if (equal(t, "}") && depth > 0)
			depth--;
		else if (equal(t, ";") && depth == 0 && past) {
			t = t->next;
			break;
		}
		if (t->kind == RG_TK_PERCENT && past && t != P->start)
			break;
	}
	P->tok = t;
}

/* specification: definition* */
int
rg_parse(struct rg_ctx *c, struct rg_token *tok)
{
	/* in the arena, not on the stack: it must survive longjmp intact */
	struct parser *P = rg_alloc(c, sizeof(*P));

	P->c = c;
	P->tok = tok;
	P->tail = &c->defs;
	while (*P->tail != NULL)
		P->tail = &(*P->tail)->next;
	while (P->tok->kind != RG_TK_EOF && !c->too_many) {
		P->start = P->tok;
		P->cur = NULL;
		if (setjmp(P->fail) == 0) {
			struct rg_def *d = definition(P);

			*P->tail = d;
			P->tail = &d->next;
		} else {
			/* keep a named definition's name, so the checker
			 * neither calls it undefined nor checks its rest */
			if (P->cur != NULL && P->cur->name != NULL) {
				P->cur->broken = 1;
				*P->tail = P->cur;
				P->tail = &P->cur->next;
			}
			resync(P, P->tok);
		}
	}
	return c->nerrors;
}
