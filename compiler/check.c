/*
 * check.c - the semantic pass: one namespace of names (C's, since every
 * name becomes a #define, an enum constant or a type), values resolved
 * through constants, types resolved through typedefs, and the rules the
 * grammar cannot state: unique names and numbers, case values that fit
 * the discriminant, positive bounds, and no type that contains itself
 * by value (it would have no finite encoding and no C layout).
 */
#include "rpcgen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum sym_kind { SYM_DEF, SYM_ENUMVAL, SYM_VERS, SYM_PROC, SYM_BUILTIN };

struct rg_sym {
	struct rg_sym *next;
	const char *name;
	enum sym_kind kind;
	struct rg_def *def;		/* SYM_DEF; SYM_ENUMVAL: its enum */
	struct rg_enumval *ev;		/* SYM_ENUMVAL */
	struct rg_token *tok;		/* where it was defined */
	int64_t num;			/* SYM_VERS / SYM_PROC */
	enum rg_tkind base;		/* SYM_BUILTIN */
};

/* Names rpcgen lets through to C that stand for XDR builtins. */
static const struct {
	const char *name;
	enum rg_tkind base;
} builtins[] = {
	{ "u_int", RG_TY_UINT },	{ "u_long", RG_TY_ULONG },
	{ "u_short", RG_TY_USHORT },	{ "u_char", RG_TY_UCHAR },
	{ "int32_t", RG_TY_INT },	{ "uint32_t", RG_TY_UINT },
	{ "u_int32_t", RG_TY_UINT },	{ "int64_t", RG_TY_HYPER },
	{ "uint64_t", RG_TY_UHYPER },	{ "u_int64_t", RG_TY_UHYPER },
	{ "quad_t", RG_TY_HYPER },	{ "u_quad_t", RG_TY_UHYPER },
	{ "longlong_t", RG_TY_HYPER },	{ "u_longlong_t", RG_TY_UHYPER },
	{ "bool_t", RG_TY_BOOL },	{ "enum_t", RG_TY_INT },
	{ "int16_t", RG_TY_SHORT },	{ "uint16_t", RG_TY_USHORT },
	{ "u_int16_t", RG_TY_USHORT },	{ "int8_t", RG_TY_CHAR },
	{ "uint8_t", RG_TY_UCHAR },	{ "u_int8_t", RG_TY_UCHAR },
	{ "netobj", RG_TY_NAMED },	/* rpc/xdr.h's; see emit_hdr.c */
	{ "des_block", RG_TY_NAMED },	/* rpc/auth.h's */
};

static uint64_t
hash_name(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct rg_sym *
find_sym(struct rg_ctx *c, const char *name)
{
	struct rg_sym *s;

	for (s = c->syms[hash_name(name) % c->nsyms]; s; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static struct rg_sym *
add_sym(struct rg_ctx *c, const char *name, enum sym_kind kind,
	struct rg_token *tok)
{
	struct rg_sym *s = rg_alloc(c, sizeof(*s));
	size_t h = hash_name(name) % c->nsyms;

	s->name = name;
	s->kind = kind;
	s->tok = tok;
	s->next = c->syms[h];
	c->syms[h] = s;
	return s;
}

static void
redefinition(struct rg_ctx *c, struct rg_token *tok, const struct rg_sym *old)
{
	rg_error(c, tok, "redefinition of '%s'", tok->text);
	if (old->tok != NULL)
		rg_note(c, old->tok, "previous definition of '%s' was here",
			tok->text);
}

/* Enter a name; 0 if it was new. */
static int
declare(struct rg_ctx *c, struct rg_token *tok, enum sym_kind kind,
	struct rg_sym **out /* OUT */)
{
	struct rg_sym *old = find_sym(c, tok->text);

	if (old != NULL && old->tok != NULL) {	/* predefined: shadowed */
		*out = old;
		return -1;
	}
	*out = add_sym(c, tok->text, kind, tok);
	return 0;
}

struct rg_def *
rg_lookup_def(struct rg_ctx *c, const char *name)
{
	struct rg_sym *s;

	if (c->syms == NULL)
		return NULL;
	s = find_sym(c, name);
	return s != NULL && s->kind == SYM_DEF ? s->def : NULL;
}

/* ------------------------------------------------------------------ */
/* Values                                                              */
/* ------------------------------------------------------------------ */

static int resolve_value(struct rg_ctx *c, struct rg_value *v, int depth);

static void
resolve_enum(struct rg_ctx *c, struct rg_def *d, int depth)
{
	struct rg_enumval *e;
	int64_t next = 0;

	if (d->mark != 0)
		return; /* done, or in progress: members so far are set */
	d->mark = 1;
	for (e = d->enums; e != NULL; e = e->next) {
		if (e->val != NULL) {
			if (resolve_value(c, e->val, depth + 1) == 0)
				next = e->val->v;
		}
		if (next < INT32_MIN || next > INT32_MAX)
			rg_error(c, e->name_tok, "enumerator value for '%s' is "
						 "not a 32-bit int", e->name);
		e->v = next;
		next = next < INT64_MAX ? next + 1 : next;
	}
	d->mark = 2;
}

/*
 * Resolve v to a number: 0 (v->v set), -1 (reported), or 1 when the name
 * is defined but its value is not known here (a %#define, or a name from
 * outside the file in a lenient pass): checks that need it are skipped.
 */
static int
resolve_value(struct rg_ctx *c, struct rg_value *v, int depth)
{
	struct rg_sym *s;
	struct rg_def *d;

	if (v->ok)
		return 0;
	if (v->tok->kind == RG_TK_STR) {
		rg_error(c, v->tok, "a string constant is not a number");
		return -1;
	}
	if (v->tok->kind == RG_TK_NUM) {
		if (v->tok->num_bad)
			return -1;
		v->v = v->tok->num;
		v->ok = 1;
		return 0;
	}
	if (depth > RG_MAX_DEPTH) {
		rg_error(c, v->tok, "constants nest too deeply");
		return -1;
	}
	s = find_sym(c, v->tok->text);
	if (s == NULL) {
		if (c->lenient)
			return 1;
		rg_error(c, v->tok, "'%s' undeclared", v->tok->text);
		return -1;
	}
	if (s->def != NULL && s->def->broken)
		return 1;
	if (s->kind == SYM_ENUMVAL) {
		resolve_enum(c, s->def, depth + 1);
		v->v = s->ev->v;
		v->ok = 1;
		return 0;
	}
	d = s->def;
	if (s->kind != SYM_DEF || d->kind != RG_DEF_CONST) {
		rg_error(c, v->tok, "'%s' is not a constant", v->tok->text);
		return -1;
	}
	if (d->ext && d == c->maxnetnamelen)
		c->uses_maxnetnamelen = 1;
	if (d->ext && !d->val.ok)
		return 1;
	if (d->mark == 1) {
		rg_error(c, v->tok, "constant '%s' is defined in terms of "
				    "itself", d->name);
		return -1;
	}
	if (!d->val.ok) {
		int rc;

		if (d->val.tok->kind == RG_TK_STR) {
			rg_error(c, v->tok, "'%s' is a string constant, not "
					    "a number", d->name);
			return -1;
		}
		d->mark = 1;
		rc = resolve_value(c, &d->val, depth + 1);
		d->mark = 2;
		if (rc != 0)
			return rc;
	}
	v->v = d->val.v;
	v->ok = 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Types                                                               */
/* ------------------------------------------------------------------ */

static int
is_type_def(const struct rg_def *d)
{
	return d->kind == RG_DEF_TYPEDEF || d->kind == RG_DEF_ENUM ||
	       d->kind == RG_DEF_STRUCT || d->kind == RG_DEF_UNION;
}

struct rg_def *
rg_type_resolve(const struct rg_type *t)
{
	struct rg_def *d = t->kind == RG_TY_NAMED ? t->def : NULL;
	int n = 0;

	while (d != NULL && d->kind == RG_DEF_TYPEDEF &&
	       d->decl->kind == RG_DECL_PLAIN &&
	       d->decl->type.kind == RG_TY_NAMED && d->decl->type.def &&
	       n++ < RG_MAX_DEPTH)
		d = d->decl->type.def;
	return d;
}

enum rg_tkind
rg_type_base(const struct rg_type *t)
{
	int n;

	/* iterative and bounded: a typedef cycle (reported by the
	 * checker) must not loop here */
	for (n = 0; n < RG_MAX_DEPTH; n++) {
		struct rg_def *d;

		if (t->kind != RG_TY_NAMED)
			return t->kind;
		if (t->def == NULL)
			return t->base;
		d = t->def;
		if (d->kind != RG_DEF_TYPEDEF || d->decl->kind != RG_DECL_PLAIN)
			return RG_TY_NAMED;
		t = &d->decl->type;
	}
	return RG_TY_NAMED;
}

static void
check_bound(struct rg_ctx *c, struct rg_decl *d)
{
	struct rg_value *b = d->bound;

	if (b == NULL)
		return;
	if (resolve_value(c, b, 0) != 0)
		return;
	if (b->v <= 0 || b->v > (int64_t)UINT32_MAX)
		rg_error(c, b->tok, "%s bound of '%s' is %lld; it must be a "
				    "positive constant below 2^32",
			 d->kind == RG_DECL_FIXED ? "array" : "maximum",
			 d->name ? d->name : "argument", (long long)b->v);
}

static void
check_type(struct rg_ctx *c, struct rg_type *t)
{
	struct rg_sym *s;

	if (t->kind != RG_TY_NAMED)
		return;
	s = find_sym(c, t->name);
	if (s != NULL && s->kind == SYM_BUILTIN && t->tag == NULL) {
		t->base = s->base;
		if (strcmp(t->name, "netobj") == 0)
			c->uses_netobj = 1;
		if (strcmp(t->name, "des_block") == 0)
			c->uses_des_block = 1;
		return;
	}
	if (s == NULL) {
		/* a type from outside the file: its codec is assumed to be
		 * generated elsewhere (rpcgen's way of splitting .x files) */
		t->base = RG_TY_NAMED;
		if (c->lenient)
			return;
		if (c->has_include)
			rg_warn(c, t->tok, "unknown type name '%s'; assuming "
					   "a %%#include defines it and %s%s",
				t->name, "txdr_", t->name);
		else
			rg_error(c, t->tok, "unknown type name '%s'",
				 t->name);
		return;
	}
	if (s->kind != SYM_DEF) {
		rg_error(c, t->tok, "'%s' is not a type", t->name);
		return;
	}
	if (s->def->broken) {
		t->base = RG_TY_NAMED;	/* as if external: nothing to check */
		return;
	}
	if (!is_type_def(s->def)) {
		rg_error(c, t->tok, "'%s' is not a type", t->name);
		return;
	}
	if (t->tag != NULL) {
		static const char *const tags[] = {
			[RG_DEF_ENUM] = "enum", [RG_DEF_STRUCT] = "struct",
			[RG_DEF_UNION] = "union",
		};
		const char *want = s->def->kind == RG_DEF_TYPEDEF
					   ? NULL
					   : tags[s->def->kind];

		if (want == NULL || strcmp(want, t->tag) != 0) {
			rg_error(c, t->tok, "'%s' defined as wrong kind of tag",
				 t->name);
			return;
		}
	}
	t->def = s->def;
}

static void
check_decl(struct rg_ctx *c, struct rg_decl *d)
{
	check_type(c, &d->type);
	if (d->kind == RG_DECL_FIXED || d->kind == RG_DECL_VAR)
		check_bound(c, d);
}

/* Distinct member names within one struct or union. */
static void
check_member_name(struct rg_ctx *c, struct rg_decl *first,
		  struct rg_decl *d)
{
	struct rg_decl *p;

	if (d->name == NULL)
		return;
	for (p = first; p != NULL && p != d; p = p->next)
		if (p->name != NULL && strcmp(p->name, d->name) == 0) {
			rg_error(c, d->name_tok, "duplicate member '%s'",
				 d->name);
			rg_note(c, p->name_tok, "previous declaration of "
						"'%s' was here", p->name);
			return;
		}
}

/* ------------------------------------------------------------------ */
/* Unions                                                              */
/* ------------------------------------------------------------------ */

static const char *
kind_name(enum rg_tkind k)
{
	switch (k) {
	case RG_TY_INT: return "int";
	case RG_TY_UINT: return "unsigned int";
	case RG_TY_BOOL: return "bool";
	case RG_TY_CHAR: return "char";
	case RG_TY_UCHAR: return "unsigned char";
	case RG_TY_SHORT: return "short";
	case RG_TY_USHORT: return "unsigned short";
	case RG_TY_LONG: return "long";
	case RG_TY_ULONG: return "unsigned long";
	default: return "?";
	}
}

static void
check_union(struct rg_ctx *c, struct rg_def *d)
{
	enum rg_tkind base;
	struct rg_def *en = NULL;
	int64_t lo = 0, hi = 0;
	struct rg_case *k, *k2;
	struct rg_caseval *cv, *cv2;
	struct rg_decl *arms = NULL, **atail = &arms;

	check_decl(c, d->disc);
	if (d->disc->kind != RG_DECL_PLAIN) {
		rg_error(c, d->disc->name_tok, "discriminant '%s' must be a "
					       "scalar", d->disc->name);
		return;
	}
	if (d->disc->type.kind == RG_TY_NAMED && d->disc->type.def == NULL &&
	    (d->disc->type.base == RG_TY_VOID ||
	     d->disc->type.base == RG_TY_NAMED)) {
		/* unknown (reported) or external: only the arms can be checked
		 */
		for (k = d->cases; k != NULL; k = k->next)
			if (k->decl->kind != RG_DECL_VOID)
				check_decl(c, k->decl);
		if (d->deflt != NULL && d->deflt->kind != RG_DECL_VOID)
			check_decl(c, d->deflt);
		return;
	}
	base = rg_type_base(&d->disc->type);
	switch (base) {
	case RG_TY_INT: case RG_TY_LONG:
		lo = INT32_MIN; hi = INT32_MAX; break;
	case RG_TY_UINT: case RG_TY_ULONG:
		lo = 0; hi = UINT32_MAX; break;
	case RG_TY_BOOL: lo = 0; hi = 1; break;
	case RG_TY_SHORT: lo = INT16_MIN; hi = INT16_MAX; break;
	case RG_TY_USHORT: lo = 0; hi = UINT16_MAX; break;
	case RG_TY_CHAR: lo = INT8_MIN; hi = INT8_MAX; break;
	case RG_TY_UCHAR: lo = 0; hi = UINT8_MAX; break;
	case RG_TY_NAMED:
		en = rg_type_resolve(&d->disc->type);
		if (en != NULL && en->kind == RG_DEF_ENUM)
			break;
		/* fall through */
	default:
		rg_error(c, d->disc->type.tok,
			 "discriminant of union '%s' "
			 "must be int, unsigned int, bool "
			 "or an enum",
			 d->name);
		return;
	}
	for (k = d->cases; k != NULL; k = k->next) {
		for (cv = k->vals; cv != NULL; cv = cv->next) {
			struct rg_value *v = &cv->val;

			if (resolve_value(c, v, 0) != 0)
				continue;
			if (en != NULL) {
				struct rg_enumval *e;
				struct rg_sym *s =
					v->tok->kind == RG_TK_IDENT
						? find_sym(c, v->tok->text)
						: NULL;

				resolve_enum(c, en, 0);
				if (s != NULL && s->kind == SYM_ENUMVAL &&
				    s->def != en) {
					rg_error(c, v->tok, "'%s' is not a "
							    "member of enum "
							    "'%s'",
						 v->tok->text, en->name);
					v->ok = 0;
					continue;
				}
				for (e = en->enums; e; e = e->next)
					if (e->v == v->v)
						break;
				if (e == NULL) {
					rg_error(c, v->tok, "case value '%s' "
							    "is not a member "
							    "of enum '%s'",
						 v->tok->text, en->name);
					v->ok = 0;
					continue;
				}
			} else if (v->v < lo || v->v > hi) {
				rg_error(c, v->tok, "case value '%s' does not "
						    "fit the discriminant type "
						    "'%s'",
					 v->tok->text, kind_name(base));
				v->ok = 0;
				continue;
			}
			/* repeats: earlier values of this and earlier arms */
			for (k2 = d->cases; k2 != NULL; k2 = k2->next)
				for (cv2 = k2->vals; cv2 != NULL;
				     cv2 = cv2->next) {
					if (cv2 == cv)
						goto unique;
					if (cv2->val.ok && cv2->val.v == v->v) {
						rg_error(
							c, v->tok,
							"duplicate case value");
						rg_note(c, cv2->val.tok,
							"previously used here");
						goto unique;
					}
				}
unique:;
		}
		if (k->decl->kind != RG_DECL_VOID) {
			check_decl(c, k->decl);
			check_member_name(c, arms, k->decl);
			*atail = k->decl;
			atail = &k->decl->next;
		}
	}
	if (d->deflt != NULL && d->deflt->kind != RG_DECL_VOID) {
		check_decl(c, d->deflt);
		check_member_name(c, arms, d->deflt);
	}
	/* arms were chained only for the name check; the emitter walks
	 * cases, never decl->next of an arm */
	for (k = d->cases; k != NULL; k = k->next)
		k->decl->next = NULL;
}

/* ------------------------------------------------------------------ */
/* Recursion by value                                                  */
/* ------------------------------------------------------------------ */

static int visit_type(struct rg_ctx *c, struct rg_def *d, int depth);

/* A decl holds its type by value (plain or fixed array): follow it. */
static int
visit_decl(struct rg_ctx *c, struct rg_decl *decl, int depth)
{
	if (decl == NULL || decl->type.kind != RG_TY_NAMED ||
	    decl->type.def == NULL)
		return 0;
	if (decl->kind != RG_DECL_PLAIN && decl->kind != RG_DECL_FIXED)
		return 0;
	if (decl->type.def->mark == 1) {
		struct rg_def *t = decl->type.def;

		rg_error(c, decl->type.tok, "recursive type '%s' contains "
					    "itself by value and cannot be "
					    "encoded; use optional-data "
					    "('*') or a variable-length "
					    "array",
			 t->name);
		return -1;
	}
	return visit_type(c, decl->type.def, depth + 1);
}

static int
visit_type(struct rg_ctx *c, struct rg_def *d, int depth)
{
	struct rg_decl *m;
	struct rg_case *k;
	int rc = 0;

	if (d->mark != 0)
		return 0;
	if (depth > RG_MAX_DEPTH) {
		rg_error(c, d->name_tok, "types nest too deeply");
		return -1;
	}
	d->mark = 1;
	switch (d->kind) {
	case RG_DEF_TYPEDEF:
		rc = visit_decl(c, d->decl, depth);
		break;
	case RG_DEF_STRUCT:
		for (m = d->members; m != NULL && rc == 0; m = m->next)
			rc = visit_decl(c, m, depth);
		break;
	case RG_DEF_UNION:
		for (k = d->cases; k != NULL && rc == 0; k = k->next)
			rc = visit_decl(c, k->decl, depth);
		if (rc == 0)
			rc = visit_decl(c, d->deflt, depth);
		break;
	default:
		break;
	}
	/* 2 = done; a failed walk stays "done" so each cycle is told once */
	d->mark = 2;
	return rc;
}

/* ------------------------------------------------------------------ */
/* Programs                                                            */
/* ------------------------------------------------------------------ */

static int
check_number(struct rg_ctx *c, struct rg_value *v, const char *what)
{
	if (resolve_value(c, v, 0) != 0)
		return -1;
	if (v->v < 0 || v->v > (int64_t)UINT32_MAX) {
		rg_error(c, v->tok, "%s number %s does not fit 32 unsigned "
				    "bits", what, v->tok->text);
		v->ok = 0;
		return -1;
	}
	return 0;
}

static void
check_call_decl(struct rg_ctx *c, struct rg_decl *d, const char *what)
{
	if (d->kind == RG_DECL_VOID)
		return;
	if (d->kind == RG_DECL_PTR) {
		rg_error(c, d->type.tok, "a procedure %s cannot be "
					 "optional-data ('*'); use a typedef",
			 what);
		return;
	}
	if (d->kind == RG_DECL_VAR && d->type.kind != RG_TY_STRING &&
	    d->type.kind != RG_TY_OPAQUE) {
		rg_error(c, d->type.tok, "a procedure %s cannot be a "
					 "variable-length array; use a typedef",
			 what);
		return;
	}
	check_decl(c, d);
}

static void
check_program(struct rg_ctx *c, struct rg_def *d, struct rg_def *first)
{
	struct rg_def *o;
	struct rg_vers *v, *v2;
	struct rg_proc *p, *p2;
	struct rg_sym *s;

	if (check_number(c, &d->num, "program") == 0) {
		for (o = first; o != d; o = o->next)
			if (o->kind == RG_DEF_PROGRAM && o->num.ok &&
			    o->num.v == d->num.v) {
				rg_error(c, d->num.tok, "duplicate program "
							"number %s",
					 d->num.tok->text);
				rg_note(c, o->num.tok, "previously used by "
						       "program '%s'", o->name);
				break;
			}
	}
	for (v = d->versions; v != NULL; v = v->next) {
		if (check_number(c, &v->num, "version") == 0) {
			for (v2 = d->versions; v2 != v; v2 = v2->next)
				if (v2->num.ok && v2->num.v == v->num.v) {
					rg_error(c, v->num.tok,
						 "duplicate "
						 "version number %s "
						 "in program '%s'",
						 v->num.tok->text, d->name);
					rg_note(c, v2->num.tok,
						"previously "
						"used by version "
						"'%s'",
						v2->name);
					break;
				}
		}
		/* version names are #defines: the same name may come back
		 * only with the same number */
		if (v->num.ok) {
			s = find_sym(c, v->name);
			if (s == NULL || s->kind == SYM_BUILTIN) {
				s = add_sym(c, v->name, SYM_VERS, v->name_tok);
				s->num = v->num.v;
			} else if (s->kind != SYM_VERS || s->num != v->num.v) {
				redefinition(c, v->name_tok, s);
			}
		}
		for (p = v->procs; p != NULL; p = p->next) {
			struct rg_decl *a;

			check_call_decl(c, p->res, "result");
			for (a = p->args; a != NULL; a = a->next)
				check_call_decl(c, a, "argument");
			if (check_number(c, &p->num, "procedure") < 0)
				continue;
			for (p2 = v->procs; p2 != p; p2 = p2->next)
				if (p2->num.ok && p2->num.v == p->num.v) {
					rg_error(c, p->num.tok,
						 "duplicate "
						 "procedure number "
						 "%s in version '%s'",
						 p->num.tok->text, v->name);
					rg_note(c, p2->num.tok,
						"previously "
						"used by procedure "
						"'%s'",
						p2->name);
					break;
				}
			for (p2 = v->procs; p2 != p; p2 = p2->next)
				if (strcmp(p2->name, p->name) == 0) {
					rg_error(c, p->name_tok,
						 "duplicate "
						 "procedure '%s' in "
						 "version '%s'",
						 p->name, v->name);
					break;
				}
			if (p2 != p)
				continue;
			s = find_sym(c, p->name);
			if (s == NULL || s->kind == SYM_BUILTIN) {
				s = add_sym(c, p->name, SYM_PROC, p->name_tok);
				s->num = p->num.v;
			} else if (s->kind != SYM_PROC || s->num != p->num.v) {
				redefinition(c, p->name_tok, s);
			}
		}
	}
}

/* ------------------------------------------------------------------ */

/*
 * '%' lines are C, but two kinds matter to the checker: "#define NAME
 * value" makes NAME a constant (real files define bounds that way), and
 * "#include" may bring types the file does not define.
 */
static void
pass_line(struct rg_ctx *c, struct rg_def *pass)
{
	const char *p = pass->text, *n;
	struct rg_def *d;
	struct rg_sym *s;
	char *end;
	long long v;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p++ != '#')
		return;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncmp(p, "include", 7) == 0) {
		c->has_include = 1;
		return;
	}
	if (strncmp(p, "define", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
		return;
	p += 6;
	while (*p == ' ' || *p == '\t')
		p++;
	for (n = p; (*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') ||
		    (*n >= '0' && *n <= '9') || *n == '_';
	     n++)
		;
	if (n == p || *n == '(')
		return;	/* a function-like macro is not a constant */
	d = rg_alloc(c, sizeof(*d));
	d->kind = RG_DEF_CONST;
	d->ext = 1;
	d->name = rg_strndup(c, p, (size_t)(n - p));
	d->name_tok = pass->name_tok;
	d->val.tok = pass->name_tok;
	errno = 0;
	v = strtoll(n, &end, 0);
	while (*end == ' ' || *end == '\t')
		end++;
	if (end != n && *end == '\0' && errno == 0) {
		d->val.v = v;
		d->val.ok = 1;
	}
	s = find_sym(c, d->name);
	if (s == NULL || s->kind == SYM_BUILTIN)
		add_sym(c, d->name, SYM_DEF, pass->name_tok)->def = d;
}

int
rg_check(struct rg_ctx *c)
{
	struct rg_def *d;
	struct rg_sym *s;
	struct rg_enumval *e;
	struct rg_decl *m;
	size_t i, n = 64;

	for (d = c->defs; d != NULL; d = d->next)
		n++;
	c->nsyms = n * 2;
	c->syms = rg_alloc(c, c->nsyms * sizeof(*c->syms));
	for (i = 0; i < TETHER_ARRAY_SIZE(builtins); i++)
		add_sym(c, builtins[i].name, SYM_BUILTIN, NULL)->base =
			builtins[i].base;

	/* TRUE and FALSE: rpc/types.h's, and our header's */
	{
		static struct rg_token t_true = { .kind = RG_TK_NUM,
						  .text = "1", .len = 1,
						  .num = 1 };
		static struct rg_token t_false = { .kind = RG_TK_NUM,
						   .text = "0", .len = 1 };
		struct rg_def *dt = rg_alloc(c, sizeof(*dt));
		struct rg_def *df = rg_alloc(c, sizeof(*df));

		dt->kind = df->kind = RG_DEF_CONST;
		dt->name = "TRUE";
		df->name = "FALSE";
		dt->val.tok = &t_true;
		df->val.tok = &t_false;
		add_sym(c, "TRUE", SYM_DEF, NULL)->def = dt;
		add_sym(c, "FALSE", SYM_DEF, NULL)->def = df;

		/* rpc/auth.h's, which key_prot.x uses (our header defines
		 * it when the file does) */
		dt = rg_alloc(c, sizeof(*dt));
		dt->kind = RG_DEF_CONST;
		dt->ext = 1;
		dt->name = "MAXNETNAMELEN";
		dt->val.v = 255;
		dt->val.ok = 1;
		add_sym(c, dt->name, SYM_DEF, NULL)->def = dt;
		c->maxnetnamelen = dt;
	}

	/* 1. every name, once */
	for (d = c->defs; d != NULL; d = d->next) {
		if (d->kind == RG_DEF_PASS) {
			pass_line(c, d);
			continue;
		}
		if (d->name_tok == NULL)
			continue;
		if (declare(c, d->name_tok, SYM_DEF, &s) < 0) {
			redefinition(c, d->name_tok, s);
			continue;
		}
		s->def = d;
		if (d->kind != RG_DEF_ENUM)
			continue;
		for (e = d->enums; e != NULL; e = e->next) {
			if (declare(c, e->name_tok, SYM_ENUMVAL, &s) < 0) {
				redefinition(c, e->name_tok, s);
				continue;
			}
			s->def = d;
			s->ev = e;
		}
	}

	/* 2. values and types */
	for (d = c->defs; d != NULL; d = d->next) {
		if (d->broken)
			continue;
		switch (d->kind) {
		case RG_DEF_CONST:
			if (d->val.tok->kind == RG_TK_STR)
				break;
			if (!d->val.ok && d->mark != 1) {
				d->mark = 1;
				resolve_value(c, &d->val, 0);
				d->mark = 2;
			}
			break;
		case RG_DEF_ENUM:
			resolve_enum(c, d, 0);
			break;
		case RG_DEF_TYPEDEF:
			check_decl(c, d->decl);
			break;
		case RG_DEF_STRUCT:
			for (m = d->members; m != NULL; m = m->next) {
				check_decl(c, m);
				check_member_name(c, d->members, m);
			}
			break;
		case RG_DEF_UNION:
			check_union(c, d);
			break;
		case RG_DEF_PROGRAM:
			check_program(c, d, c->defs);
			break;
		case RG_DEF_PASS:
			break;
		}
	}

	/* 3. no type contains itself by value */
	for (d = c->defs; d != NULL; d = d->next)
		if (d->kind != RG_DEF_CONST && d->kind != RG_DEF_ENUM)
			d->mark = 0;
	for (d = c->defs; d != NULL; d = d->next)
		if ((d->kind == RG_DEF_TYPEDEF || d->kind == RG_DEF_STRUCT ||
		     d->kind == RG_DEF_UNION) && !d->broken)
			visit_type(c, d, 0);
	return c->nerrors;
}

int
rg_front(struct rg_ctx *c, const char *file, const char *text, size_t len)
{
	jmp_buf jb;
	jmp_buf *volatile saved = c->oom;
	int rc;

	c->oom = &jb;
	if (setjmp(jb) != 0) {
		c->oom = saved;
		rg_flush_diags(c);
		return -TETHER_ENOMEM;
	}
	{
		struct rg_token *tok = rg_tokenize(c, file, text, len);

		rg_parse(c, tok);
		/* after syntax errors too, as GCC goes on: broken
		 * definitions keep their names to avoid cascades */
		if (!c->too_many)
			rg_check(c);
	}
	rc = c->nerrors ? -TETHER_ESYNTAX : 0;
	c->oom = saved;
	rg_flush_diags(c);
	return rc;
}
