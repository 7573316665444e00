/*
 * cred.c - RPC credentials: AUTH_NONE, the AUTH_SYS parameters (machine
 * name up to 255 bytes, up to 16 supplementary gids) coded to and from
 * an opaque_auth body, and opaque bodies for AUTH_SHORT handles and
 * flavors we pass through untouched.
 */
#include "tether/rpc.h"

#include <string.h>

void
tether_rpc_auth_none(struct tether_rpc_opaque_auth *a /* OUT */)
{
	a->flavor = TETHER_RPC_AUTH_NONE;
	a->len = 0;
}

int
tether_rpc_auth_set(struct tether_rpc_opaque_auth *a /* OUT */,
		    uint32_t flavor, const void *body, size_t len)
{
	if (len > TETHER_RPC_AUTH_MAX_BYTES)
		return -TETHER_EOVERFLOW;
	if (body == NULL && len > 0)
		return -TETHER_EINVAL;
	a->flavor = flavor;
	a->len = (uint32_t)len;
	if (len > 0)
		memcpy(a->body, body, len);
	return 0;
}

int
tether_rpc_authsys_init(struct tether_rpc_authsys *p /* OUT */,
			uint32_t stamp, const char *machinename, uint32_t uid,
			uint32_t gid, uint32_t ngids, const uint32_t *gids)
{
	size_t nlen;

	if (machinename == NULL || (gids == NULL && ngids > 0))
		return -TETHER_EINVAL;
	nlen = strnlen(machinename, TETHER_RPC_AUTHSYS_MAX_MACHINENAME + 1);
	if (nlen > TETHER_RPC_AUTHSYS_MAX_MACHINENAME ||
	    ngids > TETHER_RPC_AUTHSYS_MAX_GIDS)
		return -TETHER_EOVERFLOW;
	memset(p, 0, sizeof(*p));
	p->stamp = stamp;
	p->machinename_len = (uint32_t)nlen;
	memcpy(p->machinename, machinename, nlen);
	p->uid = uid;
	p->gid = gid;
	p->ngids = ngids;
	if (ngids > 0)
		memcpy(p->gids, gids, ngids * sizeof(gids[0]));
	return 0;
}

int
tether_rpc_authsys_encode(const struct tether_rpc_authsys *p,
			  struct tether_rpc_opaque_auth *out /* OUT */)
{
	struct tether_xdr x;
	int rc;

	/* The largest body (4 + 4+256 + 4 + 4 + 4+64 = 340) fits in 400,
	 * so only the declared limits can fail. */
	if (p->machinename_len > TETHER_RPC_AUTHSYS_MAX_MACHINENAME ||
	    p->ngids > TETHER_RPC_AUTHSYS_MAX_GIDS)
		return -TETHER_EOVERFLOW;
	tether_xdr_init_encode(&x, out->body, sizeof(out->body));
	if ((rc = tether_xdr_put_u32(&x, p->stamp)) != 0 ||
	    (rc = tether_xdr_put_bytes(&x, p->machinename, p->machinename_len,
				       TETHER_RPC_AUTHSYS_MAX_MACHINENAME)) !=
		    0 ||
	    (rc = tether_xdr_put_u32(&x, p->uid)) != 0 ||
	    (rc = tether_xdr_put_u32(&x, p->gid)) != 0 ||
	    (rc = tether_xdr_put_u32(&x, p->ngids)) != 0 ||
	    (rc = tether_xdr_put_u32_n(&x, p->gids, p->ngids)) != 0)
		return rc;
	out->flavor = TETHER_RPC_AUTH_SYS;
	out->len = (uint32_t)tether_xdr_getpos(&x);
	return 0;
}

int
tether_rpc_authsys_decode(const struct tether_rpc_opaque_auth *a,
			  struct tether_rpc_authsys *p /* OUT */)
{
	struct tether_xdr x;
	const uint8_t *name;
	uint32_t nlen;
	int rc;

	memset(p, 0, sizeof(*p));
	if (a->flavor != TETHER_RPC_AUTH_SYS ||
	    a->len > TETHER_RPC_AUTH_MAX_BYTES)
		return -TETHER_EINVAL;
	tether_xdr_init_decode(&x, a->body, a->len, 0, NULL);
	if ((rc = tether_xdr_get_u32(&x, &p->stamp)) != 0 ||
	    (rc = tether_xdr_get_bytes_ref(&x, &name, &nlen,
				TETHER_RPC_AUTHSYS_MAX_MACHINENAME)) != 0)
		goto fail;
	memcpy(p->machinename, name, nlen);
	p->machinename[nlen] = '\0';
	p->machinename_len = nlen;
	if ((rc = tether_xdr_get_u32(&x, &p->uid)) != 0 ||
	    (rc = tether_xdr_get_u32(&x, &p->gid)) != 0 ||
	    (rc = tether_xdr_get_u32(&x, &p->ngids)) != 0)
		goto fail;
	/* The count is checked before it drives the copy. */
	if (p->ngids > TETHER_RPC_AUTHSYS_MAX_GIDS) {
		rc = -TETHER_EOVERFLOW;
		goto fail;
	}
	if ((rc = tether_xdr_get_u32_n(&x, p->gids, p->ngids)) != 0)
		goto fail;
	if (tether_xdr_remaining(&x) != 0) {
		rc = -TETHER_EBADMSG;
		goto fail;
	}
	return 0;
fail:
	memset(p, 0, sizeof(*p));
	return rc;
}
