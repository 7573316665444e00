/*
 * svc_auth.c - AUTH_SHORT on the server (RFC 5531 appendix A): a
 * bounded table of handles, each standing for one AUTH_SYS credential,
 * handed out in reply verifiers and mapped back when a client sends one
 * as its credential. Entries expire after a time unused and the least
 * recently used is evicted when the table is full.
 *
 * The verifier's body is, as in Sun's RPC and libtirpc (struct
 * short_hand_verf), the XDR encoding of the new credential: an
 * opaque_auth of flavor AUTH_SHORT whose body is the handle. Clients
 * (ours, and libtirpc's authunix) send that credential from then on.
 *
 * A handle is 12 bytes: the entry's slot (4) and a 64-bit tag drawn
 * from a keyed PRF (SipHash under a random key), so a handle cannot be
 * guessed from another, and a slot reused for a new identity never
 * accepts the old handle.
 */
#include "tether/rpc.h"
#include "rpc/svc_int.h"

#include <string.h>

#define ASHORT_HANDLE_LEN 12u
#define ASHORT_NONE	  UINT32_MAX
/* The most entries a table may have (its bucket count stays a power of
 * two that fits, and a slot never equals ASHORT_NONE). */
#define ASHORT_MAX_ENTRIES TETHER_RPC_SERVER_SHORT_MAX_ENTRIES

struct ashort_ent {
	uint32_t hnext;	       /* bucket chain (slot, or NONE) */
	uint32_t lprev, lnext; /* LRU list, most recent first */
	uint32_t hash;
	int used;
	uint64_t tag;
	uint64_t last_used;		    /* loop time, ms */
	struct tether_rpc_opaque_auth cred; /* the AUTH_SYS credential */
};

struct tether__rpc_ashort {
	struct ashort_ent *ents;
	uint32_t nents;
	uint32_t *buckets; /* nbuckets heads */
	uint32_t nbuckets; /* power of two */
	uint32_t lru_head, lru_tail;
	uint32_t free_head; /* chained through hnext */
	uint64_t ttl_ms;
	uint64_t counter;
	struct tether_hash_key hkey; /* credential hash */
	struct tether_hash_key tkey; /* tags */
};

/* Limits for the next table, kept by the server between switch-ons. */
static unsigned
limit_entries(const struct tether_rpc_server *srv)
{
	return srv->short_max ? srv->short_max
			      : TETHER_RPC_SERVER_SHORT_DEFAULT_ENTRIES;
}

static unsigned
limit_ttl(const struct tether_rpc_server *srv)
{
	return srv->short_ttl_ms ? srv->short_ttl_ms
				 : TETHER_RPC_SERVER_SHORT_DEFAULT_TTL_MS;
}

void
tether_rpc_server_auth_short_limits(struct tether_rpc_server *srv,
				    unsigned max_entries, unsigned ttl_ms)
{
	srv->short_max = max_entries;
	srv->short_ttl_ms = ttl_ms;
}

void
tether__rpc_ashort_free(struct tether__rpc_ashort *a)
{
	if (a == NULL)
		return;
	tether_free(a->ents);
	tether_free(a->buckets);
	tether_free(a);
}

int
tether_rpc_server_auth_short(struct tether_rpc_server *srv, int on)
{
	struct tether__rpc_ashort *a;
	uint32_t i;

	if (!on) {
		tether__rpc_ashort_free(srv->ashort);
		srv->ashort = NULL;
		srv->st.short_entries = 0;
		return 0;
	}
	if (srv->ashort != NULL)
		return 0;
	if (limit_entries(srv) > ASHORT_MAX_ENTRIES)
		return -TETHER_EINVAL;
	a = tether_calloc(1, sizeof(*a));
	if (a == NULL)
		return -TETHER_ENOMEM;
	a->nents = limit_entries(srv);
	a->ttl_ms = limit_ttl(srv);
	for (a->nbuckets = 16; a->nbuckets < a->nents; a->nbuckets <<= 1)
		;
	a->ents = tether_calloc(a->nents, sizeof(*a->ents));
	a->buckets = tether_calloc(a->nbuckets, sizeof(*a->buckets));
	if (a->ents == NULL || a->buckets == NULL ||
	    tether_hash_key_random(&a->hkey) < 0 ||
	    tether_hash_key_random(&a->tkey) < 0) {
		tether__rpc_ashort_free(a);
		return -TETHER_ENOMEM;
	}
	for (i = 0; i < a->nbuckets; i++)
		a->buckets[i] = ASHORT_NONE;
	for (i = 0; i < a->nents; i++)
		a->ents[i].hnext = i + 1 < a->nents ? i + 1 : ASHORT_NONE;
	a->free_head = 0;
	a->lru_head = a->lru_tail = ASHORT_NONE;
	srv->ashort = a;
	srv->st.short_entries = 0;
	return 0;
}

static void
lru_unlink(struct tether__rpc_ashort *a, uint32_t i)
{
	struct ashort_ent *e = &a->ents[i];

	if (e->lprev != ASHORT_NONE)
		a->ents[e->lprev].lnext = e->lnext;
	else
		a->lru_head = e->lnext;
	if (e->lnext != ASHORT_NONE)
		a->ents[e->lnext].lprev = e->lprev;
	else
		a->lru_tail = e->lprev;
}

static void
lru_push(struct tether__rpc_ashort *a, uint32_t i)
{
	struct ashort_ent *e = &a->ents[i];

	e->lprev = ASHORT_NONE;
	e->lnext = a->lru_head;
	if (a->lru_head != ASHORT_NONE)
		a->ents[a->lru_head].lprev = i;
	else
		a->lru_tail = i;
	a->lru_head = i;
}

/* Take entry i out of the table and onto the free list. */
static void
ent_remove(struct tether_rpc_server *srv, uint32_t i)
{
	struct tether__rpc_ashort *a = srv->ashort;
	struct ashort_ent *e = &a->ents[i];
	uint32_t *pp = &a->buckets[e->hash & (a->nbuckets - 1)];

	while (*pp != i)
		pp = &a->ents[*pp].hnext;
	*pp = e->hnext;
	lru_unlink(a, i);
	e->used = 0;
	e->hnext = a->free_head;
	a->free_head = i;
	srv->st.short_entries--;
}

static int
ent_expired(const struct tether__rpc_ashort *a, const struct ashort_ent *e,
	    uint64_t now)
{
	return now - e->last_used > a->ttl_ms;
}

uint32_t
tether__rpc_ashort_check(struct tether_rpc_server *srv,
			 const struct tether_rpc_opaque_auth *cred,
			 struct tether_rpc_authsys *sys /* OUT */)
{
	struct tether__rpc_ashort *a = srv->ashort;
	uint64_t now = tether_loop_now(srv->loop), tag;
	struct ashort_ent *e;
	uint32_t i;

	if (cred->len != ASHORT_HANDLE_LEN)
		goto reject;
	i = tether_xdr_load32(cred->body);
	tag = (uint64_t)tether_xdr_load32(cred->body + 4) << 32 |
	      tether_xdr_load32(cred->body + 8);
	if (i >= a->nents || !a->ents[i].used || a->ents[i].tag != tag)
		goto reject;
	e = &a->ents[i];
	if (ent_expired(a, e, now)) {
		ent_remove(srv, i);
		goto reject;
	}
	if (tether_rpc_authsys_decode(&e->cred, sys) < 0) {
		ent_remove(srv, i); /* cannot happen: checked when stored */
		goto reject;
	}
	e->last_used = now;
	lru_unlink(a, i);
	lru_push(a, i);
	srv->st.short_accepted++;
	return TETHER_RPC_AUTH_OK;
reject:
	srv->st.short_rejected++;
	return TETHER_RPC_AUTH_REJECTEDCRED;
}

static void
handle_out(const struct tether__rpc_ashort *a, uint32_t i,
	   struct tether_rpc_opaque_auth *verf /* OUT */)
{
	const struct ashort_ent *e = &a->ents[i];
	unsigned char *p = verf->body;

	verf->flavor = TETHER_RPC_AUTH_SHORT;
	verf->len = 8 + ASHORT_HANDLE_LEN;
	tether_xdr_store32(p, TETHER_RPC_AUTH_SHORT);
	tether_xdr_store32(p + 4, ASHORT_HANDLE_LEN);
	tether_xdr_store32(p + 8, i);
	tether_xdr_store32(p + 12, (uint32_t)(e->tag >> 32));
	tether_xdr_store32(p + 16, (uint32_t)e->tag);
}

void
tether__rpc_ashort_issue(struct tether_rpc_server *srv,
			 const struct tether_rpc_opaque_auth *cred,
			 struct tether_rpc_opaque_auth *verf /* OUT */)
{
	struct tether__rpc_ashort *a = srv->ashort;
	uint64_t now = tether_loop_now(srv->loop);
	unsigned char seed[12];
	struct ashort_ent *e;
	uint32_t h, i;

	h = (uint32_t)tether_hash_siphash(&a->hkey, cred->body, cred->len);
	for (i = a->buckets[h & (a->nbuckets - 1)]; i != ASHORT_NONE;
	     i = a->ents[i].hnext) {
		e = &a->ents[i];
		if (e->hash != h || e->cred.len != cred->len ||
		    memcmp(e->cred.body, cred->body, cred->len) != 0)
			continue;
		if (ent_expired(a, e, now)) {
			ent_remove(srv, i);
			break; /* made anew below */
		}
		e->last_used = now;
		lru_unlink(a, i);
		lru_push(a, i);
		handle_out(a, i, verf);
		return;
	}
	if (a->free_head == ASHORT_NONE)
		ent_remove(srv, a->lru_tail); /* the least recently used */
	i = a->free_head;
	e = &a->ents[i];
	a->free_head = e->hnext;
	e->used = 1;
	e->hash = h;
	e->cred = *cred;
	e->last_used = now;
	tether_xdr_store32(seed, i);
	tether_xdr_store32(seed + 4, (uint32_t)(a->counter >> 32));
	tether_xdr_store32(seed + 8, (uint32_t)a->counter);
	a->counter++;
	e->tag = tether_hash_siphash(&a->tkey, seed, sizeof(seed));
	e->hnext = a->buckets[h & (a->nbuckets - 1)];
	a->buckets[h & (a->nbuckets - 1)] = i;
	lru_push(a, i);
	srv->st.short_entries++;
	srv->st.short_issued++;
	handle_out(a, i, verf);
}
