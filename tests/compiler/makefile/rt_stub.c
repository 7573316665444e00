/*
 * rt_stub.c - stands in for the ONC RPC runtime that the generated stubs
 * and skeletons call (libtether does not have it yet), so that the
 * Makefile's link of the sample client and server can be tested: calls
 * are counted and fail with -TETHER_ENOTSUP; a registered program has
 * each procedure run once with zeroed arguments.
 */
#include <stdlib.h>

#include "all.h"

unsigned long rt_stub_calls(void);

static unsigned long calls;

unsigned long
rt_stub_calls(void)
{
	return calls;
}

int
tether_rpc_call(struct tether_rpc_client *cl, uint32_t prog, uint32_t vers,
		uint32_t proc, tether_xdr_fn *enc_arg, const void *arg,
		tether_xdr_fn *dec_res, void *res, struct tether_arena *arena)
{
	(void)cl;
	(void)vers;
	(void)proc;
	(void)enc_arg;
	(void)arg;
	(void)dec_res;
	(void)res;
	(void)arena;
	if (prog != ALLPROG && prog != OTHERPROG)
		abort();
	calls++;
	return -TETHER_ENOTSUP;
}

int
tether_rpc_call_async(struct tether_rpc_client *cl, uint32_t prog,
		      uint32_t vers, uint32_t proc, tether_xdr_fn *enc_arg,
		      const void *arg, tether_xdr_fn *dec_res, void *res,
		      struct tether_arena *arena, tether_rpc_done_fn *done,
		      void *ud)
{
	(void)done;
	(void)ud;
	return tether_rpc_call(cl, prog, vers, proc, enc_arg, arg, dec_res,
			       res, arena);
}

int
tether_rpc_server_register(struct tether_rpc_server *srv,
			   const struct tether_rpc_program *p)
{
	size_t i;

	(void)srv;
	for (i = 0; i < p->nprocs; i++) {
		const struct tether_rpc_proc_entry *e = &p->procs[i];
		void *arg = calloc(1, e->arg_size + 1);
		void *res = calloc(1, e->res_size + 1);
		int rc;

		if (arg == NULL || res == NULL)
			abort();
		rc = e->fn(NULL, arg, res);
		free(arg);
		free(res);
		if (rc != 0)
			return rc;
		calls++;
	}
	return 0;
}
