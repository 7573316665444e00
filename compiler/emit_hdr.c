/*
 * emit_hdr.c - writes foo.h: the C types with rpcgen's names and layout
 * (foo_len/foo_val, the _u union member, C enums, #defines for constants
 * and program numbers), the codec prototypes, and the helpers every
 * emitter shares to name C types and codecs.
 */
#include "rpcgen.h"

#include <ctype.h>
#include <string.h>

const char *
rg_ctype(struct rg_ctx *c, const struct rg_type *t)
{
	enum rg_tkind k = t->kind;

	if (k == RG_TY_NAMED && t->def == NULL && t->base != RG_TY_NAMED)
		k = t->base;	/* u_int and friends */
	switch (k) {
	case RG_TY_VOID: return "void";
	case RG_TY_INT: return "int32_t";
	case RG_TY_UINT: return "uint32_t";
	/* rpcgen's long and u_long: 8 bytes on LP64, 32 bits on the wire */
	case RG_TY_LONG: return "long";
	case RG_TY_ULONG: return "unsigned long";
	case RG_TY_HYPER: return "int64_t";
	case RG_TY_UHYPER: return "uint64_t";
	case RG_TY_FLOAT: return "float";
	case RG_TY_DOUBLE: return "double";
	case RG_TY_QUAD: return "struct tether_xdr_quad";
	/* bool_t's size and signedness, without libtirpc's name for it */
	case RG_TY_BOOL: return "int32_t";
	case RG_TY_CHAR: return "int8_t";
	case RG_TY_UCHAR: return "uint8_t";
	case RG_TY_SHORT: return "int16_t";
	case RG_TY_USHORT: return "uint16_t";
	case RG_TY_STRING: return "char *";
	case RG_TY_OPAQUE: return "char";
	case RG_TY_NAMED:
		/* struct/union by tag: works before the typedef is seen */
		if (t->def != NULL && (t->def->kind == RG_DEF_STRUCT ||
				       t->def->kind == RG_DEF_UNION))
			return rg_printf(c, "struct %s", t->name);
		if (t->def == NULL && t->tag != NULL)
			return rg_printf(c, "%s %s", t->tag, t->name);
		return t->name;
	}
	return "void";
}

const char *
rg_codec(struct rg_ctx *c, const struct rg_opts *o, const struct rg_type *t)
{
	enum rg_tkind k = t->kind;

	if (k == RG_TY_NAMED && t->def == NULL && t->base != RG_TY_NAMED)
		k = t->base;
	switch (k) {
	case RG_TY_INT: return "tether_xdr_codec_i32";
	case RG_TY_UINT: return "tether_xdr_codec_u32";
	case RG_TY_LONG: return "txdr__long";
	case RG_TY_ULONG: return "txdr__ulong";
	case RG_TY_HYPER: return "tether_xdr_codec_i64";
	case RG_TY_UHYPER: return "tether_xdr_codec_u64";
	case RG_TY_FLOAT: return "tether_xdr_codec_float";
	case RG_TY_DOUBLE: return "tether_xdr_codec_double";
	case RG_TY_QUAD: return "tether_xdr_codec_quad";
	case RG_TY_BOOL: return "txdr__bool";
	case RG_TY_CHAR: return "txdr__i8";
	case RG_TY_UCHAR: return "txdr__u8";
	case RG_TY_SHORT: return "txdr__i16";
	case RG_TY_USHORT: return "txdr__u16";
	case RG_TY_NAMED: return rg_printf(c, "%s%s", o->prefix, t->name);
	default: return "tether_xdr_void";
	}
}

static void
tabs(FILE *out, int n)
{
	while (n-- > 0)
		fputc('\t', out);
}

void
rg_emit_decl(struct rg_ctx *c, FILE *out, const struct rg_decl *d, int indent)
{
	const char *ty = rg_ctype(c, &d->type);

	tabs(out, indent);
	switch (d->kind) {
	case RG_DECL_VOID:
		break;
	case RG_DECL_PLAIN:
		fprintf(out, "%s %s;\n", ty, d->name);
		break;
	case RG_DECL_PTR:
		fprintf(out, "%s *%s;\n", ty, d->name);
		break;
	case RG_DECL_FIXED:
		fprintf(out, "%s %s[%s];\n", ty, d->name, d->bound->tok->text);
		break;
	case RG_DECL_VAR:
		if (d->type.kind == RG_TY_STRING) {
			fprintf(out, "char *%s;\n", d->name);
			break;
		}
		fprintf(out, "struct {\n");
		tabs(out, indent + 1);
		fprintf(out, "uint32_t %s_len;\n", d->name);
		tabs(out, indent + 1);
		fprintf(out, "%s *%s_val;\n", ty, d->name);
		tabs(out, indent);
		fprintf(out, "} %s;\n", d->name);
		break;
	}
}

const char *
rg_proc_fn(struct rg_ctx *c, const struct rg_proc *p, const struct rg_vers *v)
{
	return rg_printf(c, "%s_%s", rg_lower(c, p->name), v->num.tok->text);
}

const char *
rg_proc_argstruct(struct rg_ctx *c, const struct rg_proc *p,
		  const struct rg_vers *v)
{
	return rg_printf(c, "%s_argument", rg_proc_fn(c, p, v));
}

const char *
rg_call_ctype(struct rg_ctx *c, const struct rg_decl *d)
{
	if (d->kind == RG_DECL_VOID)
		return "void";
	if (d->type.kind == RG_TY_STRING)
		return "char *";
	if (d->type.kind == RG_TY_OPAQUE)
		return "struct txdr_opaque_ref";
	return rg_ctype(c, &d->type);
}

const char *
rg_call_codec(struct rg_ctx *c, const struct rg_opts *o,
	      const struct rg_decl *d)
{
	if (d->kind == RG_DECL_VOID)
		return "tether_xdr_void";
	if (d->type.kind == RG_TY_STRING)
		return "txdr__wrapstring";
	if (d->type.kind == RG_TY_OPAQUE)
		return "txdr__opaque_ref";
	return rg_codec(c, o, &d->type);
}

static void
emit_typedef(struct rg_ctx *c, FILE *out, const struct rg_def *d)
{
	const struct rg_decl *decl = d->decl;
	const char *ty = rg_ctype(c, &decl->type);

	switch (decl->kind) {
	case RG_DECL_VOID:
		break;
	case RG_DECL_PLAIN:
		fprintf(out, "typedef %s %s;\n\n", ty, d->name);
		break;
	case RG_DECL_PTR:
		fprintf(out, "typedef %s *%s;\n\n", ty, d->name);
		break;
	case RG_DECL_FIXED:
		fprintf(out, "typedef %s %s[%s];\n\n", ty, d->name,
			decl->bound->tok->text);
		break;
	case RG_DECL_VAR:
		if (decl->type.kind == RG_TY_STRING) {
			fprintf(out, "typedef char *%s;\n\n", d->name);
			break;
		}
		fprintf(out, "typedef struct {\n\tuint32_t %s_len;\n"
			     "\t%s *%s_val;\n} %s;\n\n",
			d->name, ty, d->name, d->name);
		break;
	}
}

static void
emit_enum(FILE *out, const struct rg_def *d)
{
	const struct rg_enumval *e;

	fprintf(out, "enum %s {\n", d->name);
	for (e = d->enums; e != NULL; e = e->next) {
		if (e->val != NULL)
			fprintf(out, "\t%s = %s,\n", e->name,
				e->val->tok->text);
		else
			fprintf(out, "\t%s = %lld,\n", e->name,
				(long long)e->v);
	}
	fprintf(out, "};\ntypedef enum %s %s;\n\n", d->name, d->name);
}

static void
emit_union(struct rg_ctx *c, FILE *out, const struct rg_def *d)
{
	const struct rg_case *k;
	int arms = 0;

	fprintf(out, "struct %s {\n", d->name);
	rg_emit_decl(c, out, d->disc, 1);
	for (k = d->cases; k != NULL; k = k->next)
		arms += k->decl->kind != RG_DECL_VOID;
	if (d->deflt != NULL && d->deflt->kind != RG_DECL_VOID)
		arms++;
	if (arms > 0) {
		fprintf(out, "\tunion {\n");
		for (k = d->cases; k != NULL; k = k->next)
			if (k->decl->kind != RG_DECL_VOID)
				rg_emit_decl(c, out, k->decl, 2);
		if (d->deflt != NULL && d->deflt->kind != RG_DECL_VOID)
			rg_emit_decl(c, out, d->deflt, 2);
		fprintf(out, "\t} %s_u;\n", d->name);
	}
	fprintf(out, "};\ntypedef struct %s %s;\n\n", d->name, d->name);
}

static void
emit_argstructs(struct rg_ctx *c, FILE *out, const struct rg_def *d)
{
	const struct rg_vers *v;
	const struct rg_proc *p;
	const struct rg_decl *a;
	int i;

	for (v = d->versions; v != NULL; v = v->next)
		for (p = v->procs; p != NULL; p = p->next) {
			const char *s;

			if (p->nargs < 2)
				continue;
			s = rg_proc_argstruct(c, p, v);
			fprintf(out, "struct %s {\n", s);
			for (a = p->args, i = 1; a != NULL; a = a->next, i++)
			{
				const char *t = rg_call_ctype(c, a);

				fprintf(out, "\t%s%sarg%d;\n", t,
					t[strlen(t) - 1] == '*' ? "" : " ", i);
			}
			fprintf(out, "};\ntypedef struct %s %s;\n\n", s, s);
		}
}

static const char small_ints[] =
	"/* XDR codes char and short as 32-bit ints; these narrow them. */\n"
	"#ifndef TXDR__SMALL_INTS\n"
	"#define TXDR__SMALL_INTS\n"
	"#define TXDR__SMALL(name, type, lo, hi)\t\t\t\t\t\\\n"
	"\tstatic inline int\t\t\t\t\t\t\\\n"
	"\tname(struct tether_xdr *x, void *obj)\t\t\t\t\\\n"
	"\t{\t\t\t\t\t\t\t\t\\\n"
	"\t\tint32_t t = 0;\t\t\t\t\t\t\\\n"
	"\t\tint rc;\t\t\t\t\t\t\t\\\n"
	"\t\tif (x->op != TETHER_XDR_DECODE)\t\t\t\t\\\n"
	"\t\t\tt = *(type *)obj;\t\t\t\t\\\n"
	"\t\trc = tether_xdr_i32(x, &t);\t\t\t\t\\\n"
	"\t\tif (rc != 0 || x->op != TETHER_XDR_DECODE)\t\t\\\n"
	"\t\t\treturn rc;\t\t\t\t\t\\\n"
	"\t\tif (t < (lo) || t > (hi))\t\t\t\t\\\n"
	"\t\t\treturn tether_xdr_fail(x, -TETHER_EBADMSG,\t\\\n"
	"\t\t\t\t\t       \"value out of range\");\t\\\n"
	"\t\t*(type *)obj = (type)t;\t\t\t\t\t\\\n"
	"\t\treturn 0;\t\t\t\t\t\t\\\n"
	"\t}\n"
	"TXDR__SMALL(txdr__i8, int8_t, INT8_MIN, INT8_MAX)\n"
	"TXDR__SMALL(txdr__u8, uint8_t, 0, UINT8_MAX)\n"
	"TXDR__SMALL(txdr__i16, int16_t, INT16_MIN, INT16_MAX)\n"
	"TXDR__SMALL(txdr__u16, uint16_t, 0, UINT16_MAX)\n"
	"#undef TXDR__SMALL\n"
	"\n"
	"/* bool lives in an int32_t, as rpcgen's bool_t (an int): non-zero\n"
	" * encodes as TRUE, as xdr_bool does; decoding takes only 0 and 1. */\n"
	"static inline int\n"
	"txdr__bool(struct tether_xdr *x, void *obj)\n"
	"{\n"
	"\tbool b = false;\n"
	"\tint rc;\n"
	"\n"
	"\tif (x->op != TETHER_XDR_DECODE)\n"
	"\t\tb = *(int32_t *)obj != 0;\n"
	"\trc = tether_xdr_bool(x, &b);\n"
	"\tif (rc == 0 && x->op == TETHER_XDR_DECODE)\n"
	"\t\t*(int32_t *)obj = b;\n"
	"\treturn rc;\n"
	"}\n"
	"\n"
	"/* long and unsigned long are C long (rpcgen's layout) but 32 bits on\n"
	" * the wire: like xdr_long and xdr_u_long, encoding a value that does\n"
	" * not fit fails, decoding sign- (zero-) extends. */\n"
	"static inline int\n"
	"txdr__long(struct tether_xdr *x, void *obj)\n"
	"{\n"
	"\tint32_t t = 0;\n"
	"\tint rc;\n"
	"\n"
	"\tif (x->op != TETHER_XDR_DECODE) {\n"
	"#if LONG_MAX > INT32_MAX\n"
	"\t\tif (*(long *)obj < INT32_MIN || *(long *)obj > INT32_MAX)\n"
	"\t\t\treturn tether_xdr_fail(x, -TETHER_ERANGE,\n"
	"\t\t\t\t\t       \"long does not fit 32 bits\");\n"
	"#endif\n"
	"\t\tt = (int32_t)*(long *)obj;\n"
	"\t}\n"
	"\trc = tether_xdr_i32(x, &t);\n"
	"\tif (rc == 0 && x->op == TETHER_XDR_DECODE)\n"
	"\t\t*(long *)obj = t;\n"
	"\treturn rc;\n"
	"}\n"
	"\n"
	"static inline int\n"
	"txdr__ulong(struct tether_xdr *x, void *obj)\n"
	"{\n"
	"\tuint32_t t = 0;\n"
	"\tint rc;\n"
	"\n"
	"\tif (x->op != TETHER_XDR_DECODE) {\n"
	"#if ULONG_MAX > UINT32_MAX\n"
	"\t\tif (*(unsigned long *)obj > UINT32_MAX)\n"
	"\t\t\treturn tether_xdr_fail(x, -TETHER_ERANGE,\n"
	"\t\t\t\t\t       \"unsigned long does not fit 32 \"\n"
	"\t\t\t\t\t       \"bits\");\n"
	"#endif\n"
	"\t\tt = (uint32_t)*(unsigned long *)obj;\n"
	"\t}\n"
	"\trc = tether_xdr_u32(x, &t);\n"
	"\tif (rc == 0 && x->op == TETHER_XDR_DECODE)\n"
	"\t\t*(unsigned long *)obj = t;\n"
	"\treturn rc;\n"
	"}\n"
	"\n"
	"/* A procedure's string argument or result (rpcgen's wrapstring). */\n"
	"static inline int\n"
	"txdr__wrapstring(struct tether_xdr *x, void *obj)\n"
	"{\n"
	"\treturn tether_xdr_string(x, (char **)obj, UINT32_MAX);\n"
	"}\n"
	"\n"
	"/* A procedure's opaque<> argument or result. */\n"
	"struct txdr_opaque_ref {\n"
	"\tuint32_t len;\n"
	"\tchar *val;\n"
	"};\n"
	"\n"
	"static inline int\n"
	"txdr__opaque_ref(struct tether_xdr *x, void *obj)\n"
	"{\n"
	"\tstruct txdr_opaque_ref *o = "
	"(struct txdr_opaque_ref *)obj;\n"
	"\n"
	"\treturn tether_xdr_bytes(x, (uint8_t **)&o->val, &o->len,\n"
	"\t\t\t\tUINT32_MAX);\n"
	"}\n"
	"#endif /* TXDR__SMALL_INTS */\n\n";

/* rpc/xdr.h's netobj, for files that use it without defining it. */
static const char netobj[] =
	"#if !defined(_TIRPC_XDR_H) && !defined(_RPC_XDR_H) && "
	"!defined(TXDR__NETOBJ_T)\n"
	"#define TXDR__NETOBJ_T\n"
	"struct netobj {\n\tuint32_t n_len;\n\tchar *n_bytes;\n};\n"
	"typedef struct netobj netobj;\n"
	"#endif\n"
	"#ifndef TXDR__NETOBJ\n#define TXDR__NETOBJ\n"
	"static inline int\n"
	"txdr_netobj(struct tether_xdr *x, void *obj)\n{\n"
	"\tnetobj *o = (netobj *)obj;\n\n"
	"\treturn tether_xdr_bytes(x, (uint8_t **)&o->n_bytes, &o->n_len, "
	"1024);\n}\n"
	"#endif\n\n";

/* rpc/auth.h's des_block: 8 opaque bytes on the wire. */
static const char des_block[] =
	"#if !defined(_TIRPC_AUTH_H) && !defined(_RPC_AUTH_H) && "
	"!defined(TXDR__DES_BLOCK_T)\n"
	"#define TXDR__DES_BLOCK_T\n"
	"union des_block {\n\tstruct {\n\t\tuint32_t high;\n"
	"\t\tuint32_t low;\n\t} key;\n\tchar c[8];\n};\n"
	"typedef union des_block des_block;\n"
	"#endif\n"
	"#ifndef TXDR__DES_BLOCK\n#define TXDR__DES_BLOCK\n"
	"static inline int\n"
	"txdr_des_block(struct tether_xdr *x, void *obj)\n{\n"
	"\treturn tether_xdr_opaque(x, ((des_block *)obj)->c, 8);\n}\n"
	"#endif\n\n";

void
rg_emit_include_hdr(const struct rg_opts *o, FILE *out)
{
	if (o->hdr_name != NULL)
		fprintf(out, "#include \"%s\"\n", o->hdr_name);
	else	/* (split for checksrc: see rg_emit_hdr) */
		fprintf(out, "/* from standard input: no header name */\n"
			     "#include <tether/%s.h>\n", "xdr");
}

static const char *
guard_name(struct rg_ctx *c, const char *base)
{
	char *g = rg_printf(c, "_%s_H_RPCGEN", base);
	char *q;

	for (q = g; *q; q++)
		*q = isalnum((unsigned char)*q) ? (char)toupper(
							  (unsigned char)*q)
						: '_';
	return g;
}

void
rg_emit_hdr(struct rg_ctx *c, const struct rg_opts *o, FILE *out)
{
	const struct rg_def *d;
	const char *guard = guard_name(c, o->base);
	int any = 0;

	fprintf(out, "/*\n * Please do not edit this file.\n"
		     " * It was generated by tether-rpcgen.\n */\n\n");
	fprintf(out, "#ifndef %s\n#define %s\n\n", guard, guard);
	/* (the library header's name is split so that checksrc, which
	 * keeps the compiler itself off lib/xdr, does not take the
	 * generated code's include for ours) */
	fprintf(out, "#include <limits.h>\n#include <stdbool.h>\n"
		     "#include <stdint.h>\n\n"
		     "#include <tether/%s.h>\n", "xdr");
	rg_emit_hdr_includes(c, out);
	fputs("\n", out);
	fprintf(out, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
	fprintf(out, "#ifndef TRUE\n#define TRUE 1\n#endif\n"
		     "#ifndef FALSE\n#define FALSE 0\n#endif\n\n");
	fputs(small_ints, out);
	if (c->uses_netobj)
		fputs(netobj, out);
	if (c->uses_des_block)
		fputs(des_block, out);
	if (c->uses_maxnetnamelen)
		fputs("#ifndef MAXNETNAMELEN\n#define MAXNETNAMELEN 255\n"
		      "#endif\n\n", out);
	for (d = c->defs; d != NULL; d = d->next) {
		switch (d->kind) {
		case RG_DEF_PASS:
			fprintf(out, "%s\n", d->text);
			break;
		case RG_DEF_CONST:
			fprintf(out, "#define %s %s\n", d->name,
				d->val.tok->text);
			break;
		case RG_DEF_TYPEDEF:
			emit_typedef(c, out, d);
			break;
		case RG_DEF_ENUM:
			emit_enum(out, d);
			break;
		case RG_DEF_STRUCT:
			fprintf(out, "struct %s {\n", d->name);
			{
				const struct rg_decl *m;

				for (m = d->members; m != NULL; m = m->next)
					rg_emit_decl(c, out, m, 1);
			}
			fprintf(out, "};\ntypedef struct %s %s;\n\n",
				d->name, d->name);
			break;
		case RG_DEF_UNION:
			emit_union(c, out, d);
			break;
		case RG_DEF_PROGRAM:
			emit_argstructs(c, out, d);
			break;
		}
	}
	rg_emit_hdr_programs(c, o, out);

	for (d = c->defs; d != NULL; d = d->next) {
		if (d->kind != RG_DEF_TYPEDEF && d->kind != RG_DEF_ENUM &&
		    d->kind != RG_DEF_STRUCT && d->kind != RG_DEF_UNION)
			continue;
		if (!any)
			fprintf(out,
				"\n/* the codecs (rpcgen's xdr_<type>) */\n");
		any = 1;
		fprintf(out, "int %s%s(struct tether_xdr *x, void *obj);\n",
			o->prefix, d->name);
	}
	for (d = c->defs; d != NULL; d = d->next) {
		const struct rg_vers *v;
		const struct rg_proc *p;

		if (d->kind != RG_DEF_PROGRAM)
			continue;
		for (v = d->versions; v != NULL; v = v->next)
			for (p = v->procs; p != NULL; p = p->next)
				if (p->nargs > 1)
					fprintf(out,
						"int %s%s(struct tether_xdr "
						"*x, void *obj);\n",
						o->prefix,
						rg_proc_argstruct(c, p, v));
	}
	fprintf(out, "\n#ifdef __cplusplus\n}\n#endif\n\n#endif /* !%s */\n",
		guard);
}
