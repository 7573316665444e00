/*
 * fuzz_rpcgen.c - tether-rpcgen's front end (lexer, parser, checker) and
 * emitters over arbitrary text, without cpp. Invariants: no crash, no
 * leak, bounded memory (the arena's cap); the verdict agrees with the
 * error count; a valid specification emits the same header and codecs
 * twice (output is deterministic).
 */
#include "rpcgen.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (64u << 10)

static char *
emit_all(struct rg_ctx *c, const struct rg_opts *o, size_t *len)
{
	char *mem = NULL;
	FILE *f = open_memstream(&mem, len);

	if (f == NULL)
		abort();
	rg_emit_hdr(c, o, f);
	rg_emit_xdr(c, o, f);
	rg_emit_clnt(c, o, f);
	rg_emit_svc(c, o, f);
	rg_emit_sample_clnt(c, o, f);
	rg_emit_sample_svc(c, o, f);
	rg_emit_fill(c, o, f);
	rg_emit_layout(c, o, f);
	rg_emit_makefile(c, o, f);
	fclose(f);
	return mem;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rg_ctx c;
	char *diag = NULL;
	size_t dlen = 0;
	FILE *err;
	int rc;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	err = open_memstream(&diag, &dlen);
	if (err == NULL)
		abort();
	if (rg_ctx_init(&c, err, 32u << 20) < 0)
		abort();
	rc = rg_front(&c, "fuzz.x", (const char *)data, size);
	if ((rc == 0) != (c.nerrors == 0))
		abort();
	if (rc == 0) {
		struct rg_opts o;
		jmp_buf jb;
		char *a = NULL, *b = NULL;
		size_t alen = 0, blen = 0;

		memset(&o, 0, sizeof(o));
		o.base = "fuzz";
		o.hdr_name = "fuzz.h";
		o.prefix = "txdr_";
		c.oom = &jb;
		if (setjmp(jb) == 0) {
			a = emit_all(&c, &o, &alen);
			b = emit_all(&c, &o, &blen);
			if (alen != blen || memcmp(a, b, alen) != 0)
				abort();
		}
		free(a);
		free(b);
	}
	rg_ctx_fini(&c);
	fclose(err);
	/* errors were reported as text, warnings or not */
	if (rc == -TETHER_ESYNTAX &&
	    (diag == NULL || strstr(diag, "error") == NULL))
		abort();
	free(diag);
	return 0;
}
