/*
 * rpcb_proto.c - XDR codecs of the portmap v2 and rpcbind v3/v4
 * protocols (RFC 1833), and the table that maps each procedure to its
 * argument and result codecs. Wire layouts match libtirpc's
 * rpcb_prot.x and pmap_prot.h; the interop tests compare bytes.
 */
#include "tether/rpcb.h"

#include <stddef.h>

/* ---- portmap v2 ---- */

int
tether_pmap_codec_mapping(struct tether_xdr *x, void *obj)
{
	struct tether_pmap_mapping *m = obj;
	int rc;

	if ((rc = tether_xdr_u32(x, &m->prog)) < 0 ||
	    (rc = tether_xdr_u32(x, &m->vers)) < 0 ||
	    (rc = tether_xdr_u32(x, &m->prot)) < 0)
		return rc;
	return tether_xdr_u32(x, &m->port);
}

int
tether_pmap_codec_list(struct tether_xdr *x, void *obj)
{
	return tether_xdr_list(x, obj, sizeof(struct tether_pmap_list),
			       offsetof(struct tether_pmap_list, next),
			       tether_pmap_codec_mapping);
}

/*
 * The arguments of a forwarded call, shared by portmap's CALLIT and
 * rpcbind's CALLIT/INDIRECT (call_args and rmtcallargs have one wire
 * form): prog, vers, proc, then the arguments as bounded opaque.
 */
static int
rmtcall_args(struct tether_xdr *x, uint32_t *prog, uint32_t *vers,
	     uint32_t *proc, uint8_t **args, uint32_t *args_len)
{
	int rc;

	if ((rc = tether_xdr_u32(x, prog)) < 0 ||
	    (rc = tether_xdr_u32(x, vers)) < 0 ||
	    (rc = tether_xdr_u32(x, proc)) < 0)
		return rc;
	return tether_xdr_bytes(x, args, args_len, TETHER_RPCB_MAX_OPAQUE);
}

int
tether_pmap_codec_call_args(struct tether_xdr *x, void *obj)
{
	struct tether_pmap_call_args *a = obj;

	return rmtcall_args(x, &a->prog, &a->vers, &a->proc, &a->args,
			    &a->args_len);
}

int
tether_pmap_codec_call_result(struct tether_xdr *x, void *obj)
{
	struct tether_pmap_call_result *r = obj;
	int rc;

	if ((rc = tether_xdr_u32(x, &r->port)) < 0)
		return rc;
	return tether_xdr_bytes(x, &r->res, &r->res_len,
				TETHER_RPCB_MAX_OPAQUE);
}

/* ---- rpcbind v3/v4 ---- */

/* A bounded string; NULL on encode is the caller's bug, reported. */
static int
str(struct tether_xdr *x, char **s)
{
	if (x->op != TETHER_XDR_DECODE && *s == NULL)
		return tether_xdr_fail(x, -TETHER_EINVAL, "NULL string");
	return tether_xdr_string(x, s, TETHER_RPCB_MAX_STR);
}

int
tether_rpcb_codec_string(struct tether_xdr *x, void *obj)
{
	return str(x, obj);
}

int
tether_rpcb_codec_rpcb(struct tether_xdr *x, void *obj)
{
	struct tether_rpcb *r = obj;
	int rc;

	if ((rc = tether_xdr_u32(x, &r->prog)) < 0 ||
	    (rc = tether_xdr_u32(x, &r->vers)) < 0 ||
	    (rc = str(x, &r->netid)) < 0 || (rc = str(x, &r->addr)) < 0)
		return rc;
	return str(x, &r->owner);
}

int
tether_rpcb_codec_list(struct tether_xdr *x, void *obj)
{
	return tether_xdr_list(x, obj, sizeof(struct tether_rpcb_list),
			       offsetof(struct tether_rpcb_list, next),
			       tether_rpcb_codec_rpcb);
}

int
tether_rpcb_codec_entry(struct tether_xdr *x, void *obj)
{
	struct tether_rpcb_entry *e = obj;
	int rc;

	if ((rc = str(x, &e->maddr)) < 0 || (rc = str(x, &e->netid)) < 0 ||
	    (rc = tether_xdr_u32(x, &e->semantics)) < 0 ||
	    (rc = str(x, &e->protofmly)) < 0)
		return rc;
	return str(x, &e->proto);
}

int
tether_rpcb_codec_entry_list(struct tether_xdr *x, void *obj)
{
	return tether_xdr_list(x, obj, sizeof(struct tether_rpcb_entry_list),
			       offsetof(struct tether_rpcb_entry_list, next),
			       tether_rpcb_codec_entry);
}

static int
stat_addr(struct tether_xdr *x, void *obj)
{
	struct tether_rpcb_stat_addr *a = obj;
	int rc;

	if ((rc = tether_xdr_u32(x, &a->prog)) < 0 ||
	    (rc = tether_xdr_u32(x, &a->vers)) < 0 ||
	    (rc = tether_xdr_i32(x, &a->success)) < 0 ||
	    (rc = tether_xdr_i32(x, &a->failure)) < 0)
		return rc;
	return str(x, &a->netid);
}

static int
stat_rmtcall(struct tether_xdr *x, void *obj)
{
	struct tether_rpcb_stat_rmtcall *a = obj;
	int rc;

	if ((rc = tether_xdr_u32(x, &a->prog)) < 0 ||
	    (rc = tether_xdr_u32(x, &a->vers)) < 0 ||
	    (rc = tether_xdr_u32(x, &a->proc)) < 0 ||
	    (rc = tether_xdr_i32(x, &a->success)) < 0 ||
	    (rc = tether_xdr_i32(x, &a->failure)) < 0 ||
	    (rc = tether_xdr_i32(x, &a->indirect)) < 0)
		return rc;
	return str(x, &a->netid);
}

int
tether_rpcb_codec_stat(struct tether_xdr *x, void *obj)
{
	struct tether_rpcb_stat *s = obj;
	uint32_t *info = (uint32_t *)(void *)s->info;
	int rc;

	/* int32_t and uint32_t share a representation: the bulk path. */
	if ((rc = tether_xdr_u32_vector(x, info, TETHER_RPCB_STAT_HIGHPROC)) <
		    0 ||
	    (rc = tether_xdr_i32(x, &s->setinfo)) < 0 ||
	    (rc = tether_xdr_i32(x, &s->unsetinfo)) < 0)
		return rc;
	rc = tether_xdr_list(
		x, (void **)&s->addrinfo, sizeof(struct tether_rpcb_stat_addr),
		offsetof(struct tether_rpcb_stat_addr, next), stat_addr);
	if (rc < 0)
		return rc;
	return tether_xdr_list(x, (void **)&s->rmtinfo,
			       sizeof(struct tether_rpcb_stat_rmtcall),
			       offsetof(struct tether_rpcb_stat_rmtcall, next),
			       stat_rmtcall);
}

int
tether_rpcb_codec_stat_byvers(struct tether_xdr *x, void *obj)
{
	struct tether_rpcb_stat_byvers *s = obj;

	return tether_xdr_vector(x, s->vers, TETHER_RPCB_STAT_VERS,
				 sizeof(s->vers[0]), tether_rpcb_codec_stat);
}

int
tether_rpcb_codec_netbuf(struct tether_xdr *x, void *obj)
{
	struct tether_rpcb_netbuf *n = obj;
	size_t at = tether_xdr_getpos(x);
	int rc;

	if ((rc = tether_xdr_u32(x, &n->maxlen)) < 0)
		return rc;
	if (n->maxlen > TETHER_RPCB_NETBUF_MAXLEN)
		return tether_xdr_fail_at(x, -TETHER_EOVERFLOW, at,
					  "netbuf maxlen above 9000");
	if (x->op != TETHER_XDR_DECODE && n->len > n->maxlen)
		return tether_xdr_fail_at(x, -TETHER_EINVAL, at,
					  "netbuf len above maxlen");
	/* libtirpc bounds the bytes by maxlen, itself at most 9000. */
	rc = tether_xdr_bytes(x, &n->buf, &n->len, TETHER_RPCB_MAX_OPAQUE);
	if (rc < 0)
		return rc;
	if (x->op == TETHER_XDR_DECODE && n->len > n->maxlen)
		return tether_xdr_fail_at(x, -TETHER_EBADMSG, at,
					  "netbuf len above maxlen");
	return 0;
}

int
tether_rpcb_codec_rmtcallargs(struct tether_xdr *x, void *obj)
{
	struct tether_rpcb_rmtcallargs *a = obj;

	return rmtcall_args(x, &a->prog, &a->vers, &a->proc, &a->args,
			    &a->args_len);
}

int
tether_rpcb_codec_rmtcallres(struct tether_xdr *x, void *obj)
{
	struct tether_rpcb_rmtcallres *r = obj;
	int rc;

	if ((rc = str(x, &r->addr)) < 0)
		return rc;
	return tether_xdr_bytes(x, &r->results, &r->results_len,
				TETHER_RPCB_MAX_OPAQUE);
}

/* ---- procedure tables ---- */

struct proc_codecs {
	const char *name;
	tether_xdr_fn *args;
	size_t args_size;
	tether_xdr_fn *res;
	size_t res_size;
};

#define P(n, a, as, r, rs)      \
	{                       \
		n, a, as, r, rs \
	}

static const struct proc_codecs pmap_procs[] = {
	P("NULL", tether_xdr_void, 0, tether_xdr_void, 0),
	P("SET", tether_pmap_codec_mapping, sizeof(struct tether_pmap_mapping),
	  tether_xdr_codec_bool, sizeof(bool)),
	P("UNSET", tether_pmap_codec_mapping,
	  sizeof(struct tether_pmap_mapping), tether_xdr_codec_bool,
	  sizeof(bool)),
	P("GETPORT", tether_pmap_codec_mapping,
	  sizeof(struct tether_pmap_mapping), tether_xdr_codec_u32,
	  sizeof(uint32_t)),
	P("DUMP", tether_xdr_void, 0, tether_pmap_codec_list,
	  sizeof(struct tether_pmap_list *)),
	P("CALLIT", tether_pmap_codec_call_args,
	  sizeof(struct tether_pmap_call_args), tether_pmap_codec_call_result,
	  sizeof(struct tether_pmap_call_result)),
};

static const struct proc_codecs rpcb_procs[] = {
	P("NULL", tether_xdr_void, 0, tether_xdr_void, 0),
	P("SET", tether_rpcb_codec_rpcb, sizeof(struct tether_rpcb),
	  tether_xdr_codec_bool, sizeof(bool)),
	P("UNSET", tether_rpcb_codec_rpcb, sizeof(struct tether_rpcb),
	  tether_xdr_codec_bool, sizeof(bool)),
	P("GETADDR", tether_rpcb_codec_rpcb, sizeof(struct tether_rpcb),
	  tether_rpcb_codec_string, sizeof(char *)),
	P("DUMP", tether_xdr_void, 0, tether_rpcb_codec_list,
	  sizeof(struct tether_rpcb_list *)),
	P("CALLIT", tether_rpcb_codec_rmtcallargs,
	  sizeof(struct tether_rpcb_rmtcallargs), tether_rpcb_codec_rmtcallres,
	  sizeof(struct tether_rpcb_rmtcallres)),
	P("GETTIME", tether_xdr_void, 0, tether_xdr_codec_u32,
	  sizeof(uint32_t)),
	P("UADDR2TADDR", tether_rpcb_codec_string, sizeof(char *),
	  tether_rpcb_codec_netbuf, sizeof(struct tether_rpcb_netbuf)),
	P("TADDR2UADDR", tether_rpcb_codec_netbuf,
	  sizeof(struct tether_rpcb_netbuf), tether_rpcb_codec_string,
	  sizeof(char *)),
	/* v4 only from here */
	P("GETVERSADDR", tether_rpcb_codec_rpcb, sizeof(struct tether_rpcb),
	  tether_rpcb_codec_string, sizeof(char *)),
	P("INDIRECT", tether_rpcb_codec_rmtcallargs,
	  sizeof(struct tether_rpcb_rmtcallargs), tether_rpcb_codec_rmtcallres,
	  sizeof(struct tether_rpcb_rmtcallres)),
	P("GETADDRLIST", tether_rpcb_codec_rpcb, sizeof(struct tether_rpcb),
	  tether_rpcb_codec_entry_list,
	  sizeof(struct tether_rpcb_entry_list *)),
	P("GETSTAT", tether_xdr_void, 0, tether_rpcb_codec_stat_byvers,
	  sizeof(struct tether_rpcb_stat_byvers)),
};

static const struct proc_codecs *
lookup(uint32_t vers, uint32_t proc)
{
	switch (vers) {
	case TETHER_PMAP_VERS:
		if (proc < TETHER_ARRAY_SIZE(pmap_procs))
			return &pmap_procs[proc];
		break;
	case TETHER_RPCB_VERS:
		if (proc <= TETHER_RPCB_TADDR2UADDR)
			return &rpcb_procs[proc];
		break;
	case TETHER_RPCB_VERS4:
		if (proc < TETHER_ARRAY_SIZE(rpcb_procs))
			return &rpcb_procs[proc];
		break;
	default:
		break;
	}
	return NULL;
}

const char *
tether_rpcb_proc_name(uint32_t vers, uint32_t proc)
{
	const struct proc_codecs *p = lookup(vers, proc);

	if (p == NULL)
		return "UNKNOWN";
	if (vers == TETHER_RPCB_VERS4 && proc == TETHER_RPCB_BCAST)
		return "BCAST";
	return p->name;
}

tether_xdr_fn *
tether_rpcb_args_codec(uint32_t vers, uint32_t proc, size_t *size)
{
	const struct proc_codecs *p = lookup(vers, proc);

	if (size != NULL)
		*size = p != NULL ? p->args_size : 0;
	return p != NULL ? p->args : NULL;
}

tether_xdr_fn *
tether_rpcb_res_codec(uint32_t vers, uint32_t proc, size_t *size)
{
	const struct proc_codecs *p = lookup(vers, proc);

	if (size != NULL)
		*size = p != NULL ? p->res_size : 0;
	return p != NULL ? p->res : NULL;
}
