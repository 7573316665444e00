/*
 * emit_xdr.c - writes foo_xdr.c: one codec per type, in lib/xdr's codec
 * shape (int fn(struct tether_xdr *, void *obj), both directions).
 * Arrays of 32/64-bit primitives take lib/xdr's bulk paths; a struct of
 * fixed-size primitives is coded from one inline block with no call per
 * field; a struct whose last field points to its own type (a list) is
 * coded by tether_xdr_list, without recursion.
 */
#include "rpcgen.h"

#include <stdarg.h>
#include <string.h>

static void
ind(FILE *out, int n)
{
	while (n-- > 0)
		fputc('\t', out);
}

/* "rc = CALL; if (rc != 0) return rc;" */
static void
call(FILE *out, int n, const char *fmt, ...) TETHER_PRINTF(3, 4);

static void
call(FILE *out, int n, const char *fmt, ...)
{
	va_list ap;

	ind(out, n);
	fputs("rc = ", out);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputs(";\n", out);
	ind(out, n);
	fputs("if (rc != 0)\n", out);
	ind(out, n + 1);
	fputs("return rc;\n", out);
}

static enum rg_tkind
elem_kind(const struct rg_type *t)
{
	return rg_type_base(t);
}

static int
is32(enum rg_tkind k)
{
	/* not long: a C long (rpcgen's layout) is not 32 bits on LP64 */
	return k == RG_TY_INT || k == RG_TY_UINT || k == RG_TY_FLOAT;
}

static int
is64(enum rg_tkind k)
{
	return k == RG_TY_HYPER || k == RG_TY_UHYPER || k == RG_TY_DOUBLE;
}

/* The typed inline primitive for a builtin, else the codec function. */
static const char *
inline_codec(enum rg_tkind k, const char *fn)
{
	switch (k) {
	case RG_TY_INT: return "tether_xdr_i32";
	case RG_TY_UINT: return "tether_xdr_u32";
	case RG_TY_HYPER: return "tether_xdr_i64";
	case RG_TY_UHYPER: return "tether_xdr_u64";
	case RG_TY_FLOAT: return "tether_xdr_float";
	case RG_TY_DOUBLE: return "tether_xdr_double";
	case RG_TY_QUAD: return "tether_xdr_quad";
	default: return fn;
	}
}

static const char *
bound_text(const struct rg_decl *d)
{
	return d->bound != NULL ? d->bound->tok->text : "UINT32_MAX";
}

static int fixed_struct_size(const struct rg_def *d);

/*
 * Code for one declaration. lv is its lvalue ("o->f", "(*o)"); base
 * prefixes the _len/_val fields of a variable-length array ("o->f.",
 * "o->").
 */
static void
emit_code(struct rg_ctx *c, const struct rg_opts *o, FILE *out,
	  const struct rg_decl *d, const char *lv, const char *base, int n)
{
	enum rg_tkind k = elem_kind(&d->type);
	const char *ty = rg_ctype(c, &d->type);
	const char *fn = rg_codec(c, o, &d->type);

	switch (d->kind) {
	case RG_DECL_VOID:
		break;
	case RG_DECL_PLAIN:
		if (d->type.kind == RG_TY_STRING) {
			call(out, n, "tether_xdr_string(x, &%s, UINT32_MAX)",
			     lv);
			break;
		}
		call(out, n, "%s(x, &%s)", inline_codec(k, fn), lv);
		break;
	case RG_DECL_PTR:
		call(out, n, "tether_xdr_optional(x, (void **)&%s, sizeof(%s), "
			     "%s)",
		     lv, ty, fn);
		break;
	case RG_DECL_FIXED:
		if (d->type.kind == RG_TY_OPAQUE)
			call(out, n, "tether_xdr_opaque(x, %s, %s)", lv,
			     d->bound->tok->text);
		else if (is32(k))
			call(out, n, "tether_xdr_u32_vector(x, (uint32_t *)%s, "
				     "%s)",
			     lv, d->bound->tok->text);
		else if (is64(k))
			call(out, n, "tether_xdr_u64_vector(x, (uint64_t *)%s, "
				     "%s)",
			     lv, d->bound->tok->text);
		else if (fixed_struct_size(rg_type_resolve(&d->type)))
			call(out, n, "%s_%s_vec(x, %s, %s)", o->prefix,
			     rg_type_resolve(&d->type)->name, lv,
			     d->bound->tok->text);
		else
			call(out, n, "tether_xdr_vector(x, %s, %s, sizeof(%s), "
				     "%s)",
			     lv, d->bound->tok->text, ty, fn);
		break;
	case RG_DECL_VAR:
		if (d->type.kind == RG_TY_STRING) {
			call(out, n, "tether_xdr_string(x, &%s, %s)", lv,
			     bound_text(d));
		} else if (d->type.kind == RG_TY_OPAQUE) {
			call(out, n,
			     "tether_xdr_bytes(x, (uint8_t **)&%s%s_val, "
			     "&%s%s_len, %s)",
			     base, d->name, base, d->name, bound_text(d));
		} else if (is32(k)) {
			call(out, n,
			     "tether_xdr_u32_array(x, (uint32_t **)&%s%s_val, "
			     "&%s%s_len, %s)",
			     base, d->name, base, d->name, bound_text(d));
		} else if (is64(k)) {
			call(out, n,
			     "tether_xdr_u64_array(x, (uint64_t **)&%s%s_val, "
			     "&%s%s_len, %s)",
			     base, d->name, base, d->name, bound_text(d));
		} else if (fixed_struct_size(rg_type_resolve(&d->type))) {
			call(out, n, "%s_%s_array(x, &%s%s_val, &%s%s_len, %s)",
			     o->prefix, rg_type_resolve(&d->type)->name, base,
			     d->name, base, d->name, bound_text(d));
		} else {
			call(out, n, "tether_xdr_array(x, (void **)&%s%s_val, "
				     "&%s%s_len, %s, sizeof(%s), %s)",
			     base, d->name, base, d->name, bound_text(d), ty,
			     fn);
		}
		break;
	}
}

static void
open_fn(FILE *out, const char *prefix, const char *name, const char *ctype)
{
	fprintf(out, "int\n%s%s(struct tether_xdr *x, void *obj)\n{\n",
		prefix, name);
	fprintf(out, "\t%s *o = (%s *)obj;\n", ctype, ctype);
}

static void
emit_enum(FILE *out, const struct rg_opts *o, const struct rg_def *d)
{
	const struct rg_enumval *e;
	int64_t lo = 0, hi = 0;
	int first = 1, contiguous = 1;

	for (e = d->enums; e != NULL; e = e->next) {
		if (first) {
			lo = hi = e->v;
		} else if (e->v == hi + 1) {
			hi = e->v;
		} else {
			contiguous = 0;
		}
		first = 0;
	}
	open_fn(out, o->prefix, d->name, d->name);
	if (!contiguous) {
		fprintf(out, "\tstatic const int32_t values[] = {\n");
		for (e = d->enums; e != NULL; e = e->next)
			fprintf(out, "\t\t%s,\n", e->name);
		fprintf(out, "\t};\n");
	}
	fprintf(out, "\tint32_t v = 0;\n\tint rc;\n\n");
	fprintf(out, "\tif (x->op != TETHER_XDR_DECODE)\n"
		     "\t\tv = (int32_t)*o;\n");
	if (contiguous)
		fprintf(out,
			"\trc = tether_xdr_enum_range(x, &v, %lld, %lld);\n",
			(long long)lo, (long long)hi);
	else
		fprintf(out, "\trc = tether_xdr_enum(x, &v, values, "
			     "sizeof(values) / sizeof(values[0]));\n");
	fprintf(out, "\tif (rc == 0 && x->op == TETHER_XDR_DECODE)\n"
		     "\t\t*o = (%s)v;\n\treturn rc;\n}\n\n",
		d->name);
}

/* Bytes of a plain 32/64-bit primitive member, 0 if it is not one. */
static int
fixed_member_size(const struct rg_decl *m)
{
	enum rg_tkind k;

	if (m->kind != RG_DECL_PLAIN)
		return 0;
	k = rg_type_base(&m->type);
	if (k == RG_TY_NAMED)
		return 0;
	return is32(k) ? 4 : is64(k) ? 8 : 0;
}

/* The struct's last member if it is a link to the struct itself
 * (S *next, or a typedef of S *), else NULL. */
static const struct rg_decl *
list_link(const struct rg_def *d)
{
	const struct rg_decl *m, *last = NULL;
	const struct rg_def *t;

	for (m = d->members; m != NULL; m = m->next)
		last = m;
	if (last == NULL || last == d->members || last->type.def == NULL)
		return NULL;
	if (last->kind == RG_DECL_PTR)
		return rg_type_resolve(&last->type) == d ? last : NULL;
	if (last->kind != RG_DECL_PLAIN)
		return NULL;
	t = rg_type_resolve(&last->type);
	if (t == NULL || t->kind != RG_DEF_TYPEDEF)
		return NULL;
	if (t->decl->kind == RG_DECL_PTR &&
	    rg_type_resolve(&t->decl->type) == d)
		return last;
	return NULL;
}

/* The encoded size of a struct made only of 32/64-bit primitives (and
 * not a list node), else 0. */
static int
fixed_struct_size(const struct rg_def *d)
{
	const struct rg_decl *m;
	int total = 0;

	if (d == NULL || d->kind != RG_DEF_STRUCT || list_link(d) != NULL)
		return 0;
	for (m = d->members; m != NULL; m = m->next) {
		int sz = fixed_member_size(m);

		if (sz == 0)
			return 0;
		total += sz;
	}
	return total;
}

static void
emit_load_store(FILE *out, const struct rg_opts *o, const struct rg_def *d,
		int store)
{
	const struct rg_decl *m;
	int off = 0, has4 = 0, has8 = 0;

	for (m = d->members; m != NULL; m = m->next) {
		has4 |= fixed_member_size(m) == 4;
		has8 |= fixed_member_size(m) == 8;
	}
	if (store)
		fprintf(out,
			"static inline void\n%s_%s_store(unsigned char *p, "
			"const %s *o)\n{\n",
			o->prefix, d->name, d->name);
	else
		fprintf(out, "static inline void\n%s_%s_load(const unsigned "
			     "char *p, %s *o)\n{\n",
			o->prefix, d->name, d->name);
	if (has4)
		fprintf(out, "\tuint32_t u;\n");
	if (has8)
		fprintf(out, "\tuint64_t w;\n");
	fprintf(out, "\n");
	for (m = d->members; m != NULL; m = m->next) {
		int sz = fixed_member_size(m);
		char bits = sz == 4 ? 'u' : 'w';

		if (store)
			fprintf(out, "\tmemcpy(&%c, &o->%s, %d);\n"
				     "\ttether_xdr_store%d(p + %d, %c);\n",
				bits, m->name, sz, sz * 8, off, bits);
		else
			fprintf(out, "\t%c = tether_xdr_load%d(p + %d);\n"
				     "\tmemcpy(&o->%s, &%c, %d);\n",
				bits, sz * 8, off, m->name, bits, sz);
		off += sz;
	}
	fprintf(out, "}\n\n");
}

/*
 * For a fixed-size struct S: store/load one element at p, and code n
 * elements (and a counted array of them) with one bounds check and no
 * call per element. static inline: the unused ones cost nothing.
 */
static void
emit_fixed_helpers(FILE *out, const struct rg_opts *o, const struct rg_def *d)
{
	const char *pf = o->prefix, *n = d->name;
	int total = fixed_struct_size(d);

	fprintf(out, "/* %s: %d bytes of fixed-size fields */\n", n, total);
	emit_load_store(out, o, d, 1);
	emit_load_store(out, o, d, 0);
	fprintf(out,
		"static inline int\n%s_%s_vec(struct tether_xdr *x, %s *v, "
		"size_t n)\n{\n"
		"\tunsigned char *p;\n\tsize_t i;\n\n"
		"\tif (n == 0)\n\t\treturn 0;\n"
		"\t/* sizing, or not enough room: the per-element path finds\n"
		"\t * and records the error */\n"
		"\tif (x->op == TETHER_XDR_SIZE || n > SIZE_MAX / %d ||\n"
		"\t    tether_xdr_remaining(x) < n * %d)\n"
		"\t\treturn tether_xdr_vector(x, v, n, sizeof(%s), %s%s);\n"
		"\tp = tether_xdr_inline(x, n * %d);\n"
		"\tif (p == NULL)\n\t\treturn x->err.code;\n"
		"\tif (x->op == TETHER_XDR_ENCODE)\n"
		"\t\tfor (i = 0; i < n; i++)\n"
		"\t\t\t%s_%s_store(p + i * %d, &v[i]);\n"
		"\telse\n"
		"\t\tfor (i = 0; i < n; i++)\n"
		"\t\t\t%s_%s_load(p + i * %d, &v[i]);\n"
		"\treturn 0;\n}\n\n",
		pf, n, n, total, total, n, pf, n, total, pf, n, total, pf, n,
		total);
	fprintf(out,
		"static inline int\n%s_%s_array(struct tether_xdr *x, %s **v, "
		"uint32_t *count,\n\t\tuint32_t max)\n{\n"
		"\tuint32_t k;\n\tint rc;\n\n"
		"\tif (x->op != TETHER_XDR_DECODE) {\n"
		"\t\tif (*count > max)\n"
		"\t\t\treturn tether_xdr_fail(x, -TETHER_EOVERFLOW,\n"
		"\t\t\t\t\t       \"array longer than its maximum\");\n"
		"\t\trc = tether_xdr_u32(x, count);\n"
		"\t\treturn rc != 0 ? rc : %s_%s_vec(x, *v, *count);\n\t}\n"
		"\trc = tether_xdr_get_u32(x, &k);\n"
		"\tif (rc != 0)\n\t\treturn rc;\n"
		"\tif (k > max)\n"
		"\t\treturn tether_xdr_fail(x, -TETHER_EOVERFLOW,\n"
		"\t\t\t\t       \"array longer than its maximum\");\n"
		"\tif (k > tether_xdr_remaining(x) / %d)\n"
		"\t\treturn tether_xdr_fail(x, -TETHER_ETRUNC,\n"
		"\t\t\t\t       \"array longer than the data left\");\n"
		"\t*count = 0;\n\t*v = NULL;\n"
		"\tif (k == 0)\n\t\treturn 0;\n"
		"\tif (x->arena == NULL)\n"
		"\t\treturn tether_xdr_fail(x, -TETHER_EINVAL,\n"
		"\t\t\t\t       \"decoding an array needs an arena\");\n"
		"\t*v = tether_arena_alloc(x->arena, (size_t)k * "
		"sizeof(**v));\n"
		"\tif (*v == NULL)\n"
		"\t\treturn tether_xdr_fail(x, -TETHER_ENOMEM, \"arena "
		"full\");\n"
		"\t*count = k;\n"
		"\treturn %s_%s_vec(x, *v, k);\n}\n\n",
		pf, n, n, pf, n, total, pf, n);
}

static void
emit_struct(struct rg_ctx *c, const struct rg_opts *o, FILE *out,
	    const struct rg_def *d)
{
	const struct rg_decl *m, *link = list_link(d);
	int total = 0, all_fixed = 1;

	for (m = d->members; m != NULL; m = m->next) {
		int sz = fixed_member_size(m);

		if (sz == 0)
			all_fixed = 0;
		total += sz;
	}
	if (link != NULL) {
		/* the fields of one node; the list helper does the links */
		fprintf(out, "static int\n%s_%s_fields(struct tether_xdr *x, "
			     "void *obj)\n{\n",
			o->prefix, d->name);
		fprintf(out, "\t%s *o = (%s *)obj;\n\tint rc;\n\n", d->name,
			d->name);
		for (m = d->members; m != link; m = m->next)
			emit_code(c, o, out, m, rg_printf(c, "o->%s", m->name),
				  rg_printf(c, "o->%s.", m->name), 1);
		fprintf(out, "\treturn 0;\n}\n\n");
		open_fn(out, o->prefix, d->name, d->name);
		fprintf(out, "\tint rc;\n\n");
		call(out, 1, "%s_%s_fields(x, o)", o->prefix, d->name);
		fprintf(out, "\treturn tether_xdr_list(x, (void **)&o->%s, "
			     "sizeof(%s),\n\t\t\t       offsetof(%s, %s), "
			     "%s_%s_fields);\n}\n\n",
			link->name, d->name, d->name, link->name, o->prefix,
			d->name);
		return;
	}
	open_fn(out, o->prefix, d->name, d->name);
	fprintf(out, "\tint rc;\n\n");
	if (all_fixed && total > 0)
		fprintf(out,
			"\tif (x->op != TETHER_XDR_SIZE &&\n"
			"\t    tether_xdr_remaining(x) >= %d) {\n"
			"\t\t/* fixed size: one block, no call per field */\n"
			"\t\tunsigned char *p = tether_xdr_inline(x, %d);\n\n"
			"\t\tif (p == NULL)\n\t\t\treturn x->err.code;\n"
			"\t\tif (x->op == TETHER_XDR_ENCODE)\n"
			"\t\t\t%s_%s_store(p, o);\n\t\telse\n"
			"\t\t\t%s_%s_load(p, o);\n\t\treturn 0;\n\t}\n",
			total, total, o->prefix, d->name, o->prefix, d->name);
	for (m = d->members; m != NULL; m = m->next)
		emit_code(c, o, out, m, rg_printf(c, "o->%s", m->name),
			  rg_printf(c, "o->%s.", m->name), 1);
	fprintf(out, "\treturn 0;\n}\n\n");
}

static void
emit_union(struct rg_ctx *c, const struct rg_opts *o, FILE *out,
	   const struct rg_def *d)
{
	const struct rg_case *k;
	const struct rg_caseval *cv;
	const char *disc = rg_printf(c, "o->%s", d->disc->name);

	open_fn(out, o->prefix, d->name, d->name);
	fprintf(out, "\tint rc;\n\n");
	emit_code(c, o, out, d->disc, disc, "", 1);
	fprintf(out, "\tswitch (%s) {\n", disc);
	for (k = d->cases; k != NULL; k = k->next) {
		for (cv = k->vals; cv != NULL; cv = cv->next)
			fprintf(out, "\tcase %s:\n", cv->val.tok->text);
		if (k->decl->kind != RG_DECL_VOID)
			emit_code(c, o, out, k->decl,
				  rg_printf(c, "o->%s_u.%s", d->name,
					    k->decl->name),
				  rg_printf(c, "o->%s_u.%s.", d->name,
					    k->decl->name),
				  2);
		fprintf(out, "\t\tbreak;\n");
	}
	fprintf(out, "\tdefault:\n");
	if (d->deflt == NULL) {
		fprintf(out, "\t\treturn tether_xdr_fail(x, x->op == "
			     "TETHER_XDR_DECODE ?\n"
			     "\t\t\t-TETHER_EBADMSG : -TETHER_EINVAL,\n"
			     "\t\t\t\"no arm for the discriminant of %s\");\n",
			d->name);
	} else {
		if (d->deflt->kind != RG_DECL_VOID)
			emit_code(c, o, out, d->deflt,
				  rg_printf(c, "o->%s_u.%s", d->name,
					    d->deflt->name),
				  rg_printf(c, "o->%s_u.%s.", d->name,
					    d->deflt->name),
				  2);
		fprintf(out, "\t\tbreak;\n");
	}
	fprintf(out, "\t}\n\treturn 0;\n}\n\n");
}

static void
emit_typedef(struct rg_ctx *c, const struct rg_opts *o, FILE *out,
	     const struct rg_def *d)
{
	const struct rg_decl *decl = d->decl;
	const struct rg_def *t = rg_type_resolve(&decl->type);

	open_fn(out, o->prefix, d->name, d->name);
	/* a pointer to a list node: code the whole list without recursion */
	if (decl->kind == RG_DECL_PTR && t != NULL &&
	    t->kind == RG_DEF_STRUCT && list_link(t) != NULL) {
		const struct rg_decl *link = list_link(t);

		fprintf(out, "\treturn tether_xdr_list(x, (void **)o, "
			     "sizeof(%s),\n\t\t\t       offsetof(%s, %s), "
			     "%s_%s_fields);\n}\n\n",
			t->name, t->name, link->name, o->prefix, t->name);
		return;
	}
	fprintf(out, "\tint rc;\n\n");
	emit_code(c, o, out, decl, "(*o)", "o->", 1);
	fprintf(out, "\treturn 0;\n}\n\n");
}

static void
emit_argstruct(struct rg_ctx *c, const struct rg_opts *o, FILE *out,
	       const struct rg_proc *p, const struct rg_vers *v)
{
	const char *s = rg_proc_argstruct(c, p, v);
	const struct rg_decl *a;
	int i;

	open_fn(out, o->prefix, s, s);
	fprintf(out, "\tint rc;\n\n");
	for (a = p->args, i = 1; a != NULL; a = a->next, i++)
		call(out, 1, "%s(x, &o->arg%d)", rg_call_codec(c, o, a), i);
	fprintf(out, "\treturn 0;\n}\n\n");
}

void
rg_emit_xdr(struct rg_ctx *c, const struct rg_opts *o, FILE *out)
{
	const struct rg_def *d;

	fprintf(out, "/*\n * Please do not edit this file.\n"
		     " * It was generated by tether-rpcgen.\n */\n\n");
	fprintf(out, "#include <stddef.h>\n#include <string.h>\n\n");
	rg_emit_include_hdr(o, out);
	fputs("\n", out);
	/* list nodes' field codecs, used by typedefs that may come first */
	for (d = c->defs; d != NULL; d = d->next)
		if (d->kind == RG_DEF_STRUCT && list_link(d) != NULL)
			fprintf(out,
				"static int %s_%s_fields(struct tether_xdr "
				"*x, void *obj);\n",
				o->prefix, d->name);
	for (d = c->defs; d != NULL; d = d->next)
		if (fixed_struct_size(d))
			emit_fixed_helpers(out, o, d);
	for (d = c->defs; d != NULL; d = d->next) {
		switch (d->kind) {
		case RG_DEF_PASS:
			fprintf(out, "%s\n", d->text);
			break;
		case RG_DEF_CONST:
			break;
		case RG_DEF_ENUM:
			emit_enum(out, o, d);
			break;
		case RG_DEF_TYPEDEF:
			emit_typedef(c, o, out, d);
			break;
		case RG_DEF_STRUCT:
			emit_struct(c, o, out, d);
			break;
		case RG_DEF_UNION:
			emit_union(c, o, out, d);
			break;
		case RG_DEF_PROGRAM: {
			const struct rg_vers *v;
			const struct rg_proc *p;

			for (v = d->versions; v != NULL; v = v->next)
				for (p = v->procs; p != NULL; p = p->next)
					if (p->nargs > 1)
						emit_argstruct(c, o, out, p, v);
			break;
		}
		}
	}
}
