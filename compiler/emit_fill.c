/*
 * emit_fill.c - tether-rpcgen --fill: static functions that fill a value
 * of every type with pseudo-random contents, for tests. The code uses
 * only type names, field names and sizeof, so the same text compiles
 * against tether-rpcgen's header and against Debian rpcgen's: with the
 * same seed both sides build the same value, which is what the
 * differential tests against libtirpc compare.
 */
#include "rpcgen.h"

#include <string.h>

#define FILL_DEPTH 3	/* optional data and arrays stop nesting here */

static const char prologue[] =
	"#include <stdint.h>\n#include <string.h>\n\n"
	"#ifndef TXDR_FILL_H\n#define TXDR_FILL_H\n"
	"/* The generator state and where filled values get their memory\n"
	" * (alloc returns zeroed storage that the caller frees in bulk). */\n"
	"struct txdr_fill {\n"
	"\tuint64_t state;\n"
	"\tvoid *(*alloc)(void *ud, size_t n);\n"
	"\tvoid *ud;\n"
	"};\n\n"
	"static inline uint32_t\ntxdr_fill_u32(struct txdr_fill *f)\n{\n"
	"\t/* xorshift64*: deterministic, the same on every platform */\n"
	"\tf->state ^= f->state >> 12;\n\tf->state ^= f->state << 25;\n"
	"\tf->state ^= f->state >> 27;\n"
	"\treturn (uint32_t)((f->state * 2685821657736338717ull) >> 32);\n}\n\n"
	"static inline uint64_t\ntxdr_fill_u64(struct txdr_fill *f)\n{\n"
	"\tuint64_t hi = txdr_fill_u32(f);\n\n"
	"\treturn hi << 32 | txdr_fill_u32(f);\n}\n"
	"#endif\n\n";

static void
ind(FILE *out, int n)
{
	while (n-- > 0)
		fputc('\t', out);
}

static const char *
bound_expr(struct rg_ctx *c, const struct rg_decl *d)
{
	/* at most 16 bytes / 3 elements: values stay small and fast */
	if (d->bound == NULL)
		return "16u";
	return rg_printf(c, "((uint32_t)(%s) < 16u ? (uint32_t)(%s) : 16u)",
			 d->bound->tok->text, d->bound->tok->text);
}

/* Fill one element of type t at lvalue lv. */
static void
fill_elem(struct rg_ctx *c, FILE *out, const struct rg_type *t,
	  const char *lv, int n)
{
	enum rg_tkind k = rg_type_base(t);

	(void)c;
	ind(out, n);
	switch (k) {
	case RG_TY_INT: case RG_TY_LONG:
		fprintf(out, "%s = (int32_t)txdr_fill_u32(f);\n", lv);
		break;
	case RG_TY_UINT: case RG_TY_ULONG:
		fprintf(out, "%s = txdr_fill_u32(f);\n", lv);
		break;
	case RG_TY_HYPER:
		fprintf(out, "%s = (int64_t)txdr_fill_u64(f);\n", lv);
		break;
	case RG_TY_UHYPER:
		fprintf(out, "%s = txdr_fill_u64(f);\n", lv);
		break;
	case RG_TY_FLOAT:
		fprintf(out, "%s = (float)(int32_t)txdr_fill_u32(f) / 16;\n",
			lv);
		break;
	case RG_TY_DOUBLE:
		fprintf(out, "%s = (double)(int64_t)txdr_fill_u64(f) / 256;\n",
			lv);
		break;
	case RG_TY_QUAD:
		fprintf(out, "memset(&%s, (int)(txdr_fill_u32(f) & 0x7f), "
			     "sizeof(%s));\n",
			lv, lv);
		break;
	case RG_TY_BOOL:
		fprintf(out, "%s = txdr_fill_u32(f) & 1;\n", lv);
		break;
	case RG_TY_CHAR:
		fprintf(out, "%s = (int8_t)txdr_fill_u32(f);\n", lv);
		break;
	case RG_TY_UCHAR:
		fprintf(out, "%s = (uint8_t)txdr_fill_u32(f);\n", lv);
		break;
	case RG_TY_SHORT:
		fprintf(out, "%s = (int16_t)txdr_fill_u32(f);\n", lv);
		break;
	case RG_TY_USHORT:
		fprintf(out, "%s = (uint16_t)txdr_fill_u32(f);\n", lv);
		break;
	case RG_TY_NAMED:
		if (t->def != NULL) {
			fprintf(out, "txdr_fill_%s(f, &%s, depth + 1);\n",
				t->name, lv);
		} else if (strcmp(t->name, "netobj") == 0) {
			fprintf(out, "{\n");
			ind(out, n + 1);
			fprintf(out, "uint32_t ni, nlen = txdr_fill_u32(f) %% "
				     "17;\n\n");
			ind(out, n + 1);
			fprintf(out,
				"%s.n_bytes = f->alloc(f->ud, nlen + 1);\n",
				lv);
			ind(out, n + 1);
			fprintf(out, "for (ni = 0; ni < nlen; ni++)\n");
			ind(out, n + 2);
			fprintf(out,
				"%s.n_bytes[ni] = (char)txdr_fill_u32(f);\n",
				lv);
			ind(out, n + 1);
			fprintf(out, "%s.n_len = nlen;\n", lv);
			ind(out, n);
			fprintf(out, "}\n");
		} else if (strcmp(t->name, "des_block") == 0) {
			fprintf(out,
				"memset(%s.c, (int)(txdr_fill_u32(f) & 0x7f), "
				"8);\n",
				lv);
		} else {
			fprintf(out, "/* %s: defined elsewhere, left zero */\n",
				t->name);
		}
		break;
	default:
		fprintf(out, "/* nothing to fill */\n");
		break;
	}
}

/* A random string of at most the bound (or 16) letters. */
static void
fill_string(struct rg_ctx *c, FILE *out, const struct rg_decl *d,
	    const char *lv, int n)
{
	ind(out, n);
	fprintf(out, "{\n");
	ind(out, n + 1);
	fprintf(out, "uint32_t i, len = txdr_fill_u32(f) %% (%s + 1);\n",
		bound_expr(c, d));
	ind(out, n + 1);
	fprintf(out, "char *s = f->alloc(f->ud, len + 1);\n\n");
	ind(out, n + 1);
	fprintf(out, "for (i = 0; i < len; i++)\n");
	ind(out, n + 2);
	fprintf(out, "s[i] = (char)('a' + txdr_fill_u32(f) %% 26);\n");
	ind(out, n + 1);
	fprintf(out, "%s = s;\n", lv);
	ind(out, n);
	fprintf(out, "}\n");
}

static void
fill_decl(struct rg_ctx *c, FILE *out, const struct rg_decl *d,
	  const char *lv, const char *base, int n)
{
	const char *i = rg_printf(c, "i%d", n);

	switch (d->kind) {
	case RG_DECL_VOID:
		break;
	case RG_DECL_PLAIN:
		if (d->type.kind == RG_TY_STRING)
			fill_string(c, out, d, lv, n);
		else
			fill_elem(c, out, &d->type, lv, n);
		break;
	case RG_DECL_PTR:
		ind(out, n);
		fprintf(out, "if (depth < %d && (txdr_fill_u32(f) & 1)) {\n",
			FILL_DEPTH);
		ind(out, n + 1);
		fprintf(out, "%s = f->alloc(f->ud, sizeof(*%s));\n", lv, lv);
		fill_elem(c, out, &d->type, rg_printf(c, "(*%s)", lv), n + 1);
		ind(out, n);
		fprintf(out, "} else {\n");
		ind(out, n + 1);
		fprintf(out, "%s = NULL;\n", lv);
		ind(out, n);
		fprintf(out, "}\n");
		break;
	case RG_DECL_FIXED:
		ind(out, n);
		fprintf(out, "{\n");
		ind(out, n + 1);
		fprintf(out, "uint32_t %s;\n\n", i);
		ind(out, n + 1);
		fprintf(out, "for (%s = 0; %s < (uint32_t)(%s); %s++)\n", i, i,
			d->bound->tok->text, i);
		if (d->type.kind == RG_TY_OPAQUE) {
			ind(out, n + 2);
			fprintf(out, "%s[%s] = (char)txdr_fill_u32(f);\n", lv,
				i);
		} else {
			fill_elem(c, out, &d->type,
				  rg_printf(c, "%s[%s]", lv, i), n + 2);
		}
		ind(out, n);
		fprintf(out, "}\n");
		break;
	case RG_DECL_VAR:
		if (d->type.kind == RG_TY_STRING) {
			fill_string(c, out, d, lv, n);
			break;
		}
		ind(out, n);
		fprintf(out, "{\n");
		ind(out, n + 1);
		if (d->type.kind == RG_TY_OPAQUE)
			fprintf(out, "uint32_t %s, len = txdr_fill_u32(f) %% "
				     "(%s + 1);\n\n",
				i, bound_expr(c, d));
		else
			fprintf(out, "uint32_t %s, len = depth >= %d ? 0 : "
				     "txdr_fill_u32(f) %% 4;\n\n",
				i, FILL_DEPTH);
		if (d->type.kind != RG_TY_OPAQUE && d->bound != NULL) {
			ind(out, n + 1);
			fprintf(out, "if (len > (uint32_t)(%s))\n",
				d->bound->tok->text);
			ind(out, n + 2);
			fprintf(out, "len = (uint32_t)(%s);\n",
				d->bound->tok->text);
		}
		ind(out, n + 1);
		fprintf(out, "%s%s_val = f->alloc(f->ud, (len + 1) * "
			     "sizeof(*%s%s_val));\n",
			base, d->name, base, d->name);
		ind(out, n + 1);
		fprintf(out, "%s%s_len = len;\n", base, d->name);
		ind(out, n + 1);
		fprintf(out, "for (%s = 0; %s < len; %s++)\n", i, i, i);
		if (d->type.kind == RG_TY_OPAQUE) {
			ind(out, n + 2);
			fprintf(out, "%s%s_val[%s] = (char)txdr_fill_u32(f);\n",
				base, d->name, i);
		} else {
			fill_elem(
				c, out, &d->type,
				rg_printf(c, "%s%s_val[%s]", base, d->name, i),
				n + 2);
		}
		ind(out, n);
		fprintf(out, "}\n");
		break;
	}
}

/* A discriminant value no arm lists, for the default arm; 0 if none. */
static int
default_value(const struct rg_def *d, int64_t *v)
{
	const struct rg_case *k;
	const struct rg_caseval *cv;
	const struct rg_def *en = rg_type_resolve(&d->disc->type);
	enum rg_tkind base = rg_type_base(&d->disc->type);
	int64_t cand;

	for (cand = 0; cand < 64; cand++) {
		int used = 0;

		if (base == RG_TY_BOOL && cand > 1)
			return 0;
		if (en != NULL && en->kind == RG_DEF_ENUM) {
			const struct rg_enumval *e;

			for (e = en->enums; e != NULL && e->v != cand;
			     e = e->next)
				;
			if (e == NULL)
				continue;
		}
		for (k = d->cases; k != NULL; k = k->next)
			for (cv = k->vals; cv != NULL; cv = cv->next)
				if (!cv->val.ok || cv->val.v == cand)
					used = 1;
		if (!used) {
			*v = cand;
			return 1;
		}
	}
	return 0;
}

static void
fill_union(struct rg_ctx *c, FILE *out, const struct rg_def *d)
{
	const struct rg_case *k;
	int narms = 0, i = 0, has_dflt;
	int64_t dv = 0;

	for (k = d->cases; k != NULL; k = k->next)
		narms++;
	has_dflt = d->deflt != NULL && default_value(d, &dv);
	fprintf(out, "\tswitch (txdr_fill_u32(f) %% %d) {\n",
		narms + has_dflt);
	for (k = d->cases; k != NULL; k = k->next, i++) {
		fprintf(out, "\tcase %d:\n\t\to->%s = %s;\n", i, d->disc->name,
			k->vals->val.tok->text);
		if (k->decl->kind != RG_DECL_VOID)
			fill_decl(c, out, k->decl,
				  rg_printf(c, "o->%s_u.%s", d->name,
					    k->decl->name),
				  rg_printf(c, "o->%s_u.%s.", d->name,
					    k->decl->name),
				  2);
		fprintf(out, "\t\tbreak;\n");
	}
	if (has_dflt) {
		fprintf(out, "\tdefault:\n\t\to->%s = %lld;\n", d->disc->name,
			(long long)dv);
		if (d->deflt->kind != RG_DECL_VOID)
			fill_decl(c, out, d->deflt,
				  rg_printf(c, "o->%s_u.%s", d->name,
					    d->deflt->name),
				  rg_printf(c, "o->%s_u.%s.", d->name,
					    d->deflt->name),
				  2);
		fprintf(out, "\t\tbreak;\n");
	}
	fprintf(out, "\t}\n");
}

static int
fillable(const struct rg_def *d)
{
	return d->kind == RG_DEF_TYPEDEF || d->kind == RG_DEF_ENUM ||
	       d->kind == RG_DEF_STRUCT || d->kind == RG_DEF_UNION;
}

/* A procedure argument struct whose members the filler can name. */
static int
argstruct_fillable(const struct rg_proc *p)
{
	const struct rg_decl *a;

	if (p->nargs < 2)
		return 0;
	for (a = p->args; a != NULL; a = a->next)
		if (a->type.kind == RG_TY_OPAQUE)
			return 0;
	return 1;
}

void
rg_emit_fill(struct rg_ctx *c, const struct rg_opts *o, FILE *out)
{
	const struct rg_def *d;
	const struct rg_vers *v;
	const struct rg_proc *p;

	fprintf(out, "/*\n * Please do not edit this file.\n"
		     " * It was generated by tether-rpcgen --fill from %s.x.\n"
		     " * Include it after the header of the types.\n */\n\n",
		o->base);
	fputs(prologue, out);
	for (d = c->defs; d != NULL; d = d->next)
		if (fillable(d))
			fprintf(out,
				"static void txdr_fill_%s(struct txdr_fill *f, "
				"%s *o, int depth);\n",
				d->name, d->name);
	fputs("\n", out);
	for (d = c->defs; d != NULL; d = d->next) {
		const struct rg_decl *m;

		if (!fillable(d))
			continue;
		fprintf(out, "static void\ntxdr_fill_%s(struct txdr_fill *f, "
			     "%s *o, int depth)\n{\n",
			d->name, d->name);
		fprintf(out, "\t(void)f;\n\t(void)depth;\n");
		switch (d->kind) {
		case RG_DEF_ENUM: {
			const struct rg_enumval *e;
			int nvals = 0;

			fprintf(out, "\tstatic const int32_t vals[] = {");
			for (e = d->enums; e != NULL; e = e->next, nvals++)
				fprintf(out, " %s,", e->name);
			fprintf(out, " };\n\n\t*o = vals[txdr_fill_u32(f) %% "
				     "%d];\n",
				nvals);
			break;
		}
		case RG_DEF_TYPEDEF:
			fill_decl(c, out, d->decl, "(*o)", "o->", 1);
			break;
		case RG_DEF_STRUCT:
			for (m = d->members; m != NULL; m = m->next)
				fill_decl(c, out, m,
					  rg_printf(c, "o->%s", m->name),
					  rg_printf(c, "o->%s.", m->name), 1);
			break;
		case RG_DEF_UNION:
			fill_union(c, out, d);
			break;
		default:
			break;
		}
		fprintf(out, "}\n\n");
	}
	/* several-argument procedures' structs */
	for (d = c->defs; d != NULL; d = d->next) {
		if (d->kind != RG_DEF_PROGRAM)
			continue;
		for (v = d->versions; v != NULL; v = v->next)
			for (p = v->procs; p != NULL; p = p->next) {
				const char *s = rg_proc_argstruct(c, p, v);
				const struct rg_decl *a;
				int i;

				if (!argstruct_fillable(p))
					continue;
				fprintf(out,
					"static void\ntxdr_fill_%s(struct "
					"txdr_fill *f, %s *o, int depth)\n{\n"
					"\t(void)depth;\n",
					s, s);
				for (a = p->args, i = 1; a != NULL;
				     a = a->next, i++)
					fill_decl(c, out, a,
						  rg_printf(c, "o->arg%d", i),
						  rg_printf(c, "o->arg%d.", i),
						  1);
				fprintf(out, "}\n\n");
			}
	}
	fprintf(out, "/* X(type) for every type above */\n"
		     "#define TXDR_FILL_TYPES(X) \\\n");
	for (d = c->defs; d != NULL; d = d->next)
		if (fillable(d))
			fprintf(out, "\tX(%s) \\\n", d->name);
	for (d = c->defs; d != NULL; d = d->next) {
		if (d->kind != RG_DEF_PROGRAM)
			continue;
		for (v = d->versions; v != NULL; v = v->next)
			for (p = v->procs; p != NULL; p = p->next)
				if (argstruct_fillable(p))
					fprintf(out, "\tX(%s) \\\n",
						rg_proc_argstruct(c, p, v));
	}
	fprintf(out, "\t/* end */\n");
}
