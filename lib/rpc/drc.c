/*
 * drc.c - the duplicate request cache behind at-most-once execution: a
 * chained hash table keyed with SipHash, an LRU list of completed
 * entries, and byte and entry bounds. Entries in progress sit only in
 * the table (never evicted); they join the LRU list once a reply is
 * stored.
 */
#include "tether/rpc.h"

#include <string.h>

struct tether_rpc_drc_entry {
	struct tether_rpc_drc_key key;
	uint64_t hash;
	struct tether_rpc_drc_entry *hnext; /* bucket chain */
	struct tether_rpc_drc_entry *lprev; /* LRU list: done only */
	struct tether_rpc_drc_entry *lnext;
	unsigned char *reply;
	size_t len;
	int done;
};

struct tether_rpc_drc {
	struct tether_hash_key hkey;
	struct tether_rpc_drc_entry **buckets;
	size_t nbuckets;		 /* a power of two */
	struct tether_rpc_drc_entry lru; /* sentinel; lnext = newest */
	size_t max_entries;
	size_t max_bytes;
	struct tether_rpc_drc_stats st;
};

static const char *const verdict_names[] = { "NEW", "IN_PROGRESS", "REPLAY" };

const char *
tether_rpc_drc_verdict_name(int v)
{
	if (v < 0 || (size_t)v >= TETHER_ARRAY_SIZE(verdict_names))
		return "UNKNOWN";
	return verdict_names[v];
}

/* What an entry costs against max_bytes. */
static size_t
entry_cost(const struct tether_rpc_drc_entry *e)
{
	return sizeof(*e) + e->len;
}

int
tether_rpc_drc_new(struct tether_rpc_drc **out /* OUT */, size_t max_entries,
		   size_t max_bytes)
{
	struct tether_rpc_drc *d;
	int rc;

	*out = NULL;
	if (max_entries == 0)
		max_entries = TETHER_RPC_DRC_DEFAULT_ENTRIES;
	if (max_bytes == 0)
		max_bytes = TETHER_RPC_DRC_DEFAULT_BYTES;
	if (max_entries > (1u << 24))
		return -TETHER_EINVAL;
	d = tether_calloc(1, sizeof(*d));
	if (d == NULL)
		return -TETHER_ENOMEM;
	d->nbuckets = 16;
	while (d->nbuckets < max_entries)
		d->nbuckets <<= 1;
	d->buckets = tether_calloc(d->nbuckets, sizeof(*d->buckets));
	if (d->buckets == NULL) {
		rc = -TETHER_ENOMEM;
		goto fail;
	}
	rc = tether_hash_key_random(&d->hkey);
	if (rc < 0)
		goto fail;
	d->lru.lnext = d->lru.lprev = &d->lru;
	d->max_entries = max_entries;
	d->max_bytes = max_bytes;
	*out = d;
	return 0;
fail:
	tether_free(d->buckets);
	tether_free(d);
	return rc;
}

static void
lru_unlink(struct tether_rpc_drc_entry *e)
{
	e->lprev->lnext = e->lnext;
	e->lnext->lprev = e->lprev;
	e->lprev = e->lnext = NULL;
}

static void
lru_push(struct tether_rpc_drc *d, struct tether_rpc_drc_entry *e)
{
	e->lnext = d->lru.lnext;
	e->lprev = &d->lru;
	d->lru.lnext->lprev = e;
	d->lru.lnext = e;
}

/* Unlink e from everything and free it. */
static void
entry_remove(struct tether_rpc_drc *d, struct tether_rpc_drc_entry *e)
{
	struct tether_rpc_drc_entry **pp;

	pp = &d->buckets[e->hash & (d->nbuckets - 1)];
	while (*pp != e) {
		TETHER_BUG_ON(*pp == NULL);
		pp = &(*pp)->hnext;
	}
	*pp = e->hnext;
	if (e->done)
		lru_unlink(e);
	else
		d->st.in_progress--;
	d->st.entries--;
	d->st.bytes -= entry_cost(e);
	tether_free(e->reply);
	tether_free(e);
}

void
tether_rpc_drc_free(struct tether_rpc_drc *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->nbuckets; i++) {
		struct tether_rpc_drc_entry *e = d->buckets[i], *n;

		for (; e != NULL; e = n) {
			n = e->hnext;
			tether_free(e->reply);
			tether_free(e);
		}
	}
	tether_free(d->buckets);
	tether_free(d);
}

uint64_t
tether_rpc_drc_checksum(const struct tether_rpc_drc *d, const void *args,
			size_t n)
{
	return tether_hash_siphash(&d->hkey, n ? args : NULL, n);
}

static uint64_t
key_hash(const struct tether_rpc_drc *d, const struct tether_rpc_drc_key *k)
{
	unsigned char b[4 * 4 + 8 + 8];
	uint64_t ah = 0;

	if (k->addr.len > 0)
		ah = tether_hash_sockaddr((const struct sockaddr *)&k->addr.ss,
					  k->addr.len, 1, 0);
	memcpy(b, &k->xid, 4);
	memcpy(b + 4, &k->prog, 4);
	memcpy(b + 8, &k->vers, 4);
	memcpy(b + 12, &k->proc, 4);
	memcpy(b + 16, &k->cksum, 8);
	memcpy(b + 24, &ah, 8);
	return tether_hash_siphash(&d->hkey, b, sizeof(b));
}

static int
key_equal(const struct tether_rpc_drc_key *a,
	  const struct tether_rpc_drc_key *b)
{
	if (a->xid != b->xid || a->prog != b->prog || a->vers != b->vers ||
	    a->proc != b->proc || a->cksum != b->cksum)
		return 0;
	if (a->addr.len == 0 || b->addr.len == 0)
		return a->addr.len == b->addr.len;
	return tether_addr_compare(&a->addr, &b->addr) == 0;
}

/* Evict completed entries, oldest first, until need more bytes and one
 * more entry fit (or nothing completed is left). */
static void
make_room(struct tether_rpc_drc *d, size_t need_bytes, size_t need_entries)
{
	while (d->lru.lprev != &d->lru &&
	       (d->st.entries + need_entries > d->max_entries ||
		d->st.bytes + need_bytes > d->max_bytes)) {
		entry_remove(d, d->lru.lprev);
		d->st.evictions++;
	}
}

int
tether_rpc_drc_lookup(struct tether_rpc_drc *d,
		      const struct tether_rpc_drc_key *key,
		      struct tether_rpc_drc_entry **entry /* OUT */,
		      const unsigned char **reply /* OUT */,
		      size_t *len /* OUT */)
{
	struct tether_rpc_drc_entry *e;
	uint64_t h = key_hash(d, key);
	size_t b = h & (d->nbuckets - 1);

	*entry = NULL;
	*reply = NULL;
	*len = 0;
	for (e = d->buckets[b]; e != NULL; e = e->hnext) {
		if (e->hash != h || !key_equal(&e->key, key))
			continue;
		if (!e->done) {
			d->st.hits_in_progress++;
			return TETHER_RPC_DRC_IN_PROGRESS;
		}
		lru_unlink(e);
		lru_push(d, e);
		d->st.hits_replayed++;
		*reply = e->reply;
		*len = e->len;
		return TETHER_RPC_DRC_REPLAY;
	}
	make_room(d, sizeof(*e), 1);
	if (d->st.entries + 1 > d->max_entries ||
	    d->st.bytes + sizeof(*e) > d->max_bytes) {
		d->st.uncached++;
		return -TETHER_ENOSPC;
	}
	e = tether_calloc(1, sizeof(*e));
	if (e == NULL) {
		d->st.uncached++;
		return -TETHER_ENOMEM;
	}
	e->key = *key;
	e->hash = h;
	e->hnext = d->buckets[b];
	d->buckets[b] = e;
	d->st.entries++;
	d->st.in_progress++;
	d->st.bytes += entry_cost(e);
	*entry = e;
	return TETHER_RPC_DRC_NEW;
}

int
tether_rpc_drc_complete(struct tether_rpc_drc *d,
			struct tether_rpc_drc_entry *e, const void *reply,
			size_t len)
{
	unsigned char *copy;

	TETHER_BUG_ON(e->done);
	if (len > d->max_bytes - sizeof(*e)) {
		entry_remove(d, e);
		return -TETHER_EMSGSIZE;
	}
	copy = tether_malloc(len ? len : 1);
	if (copy == NULL) {
		entry_remove(d, e);
		return -TETHER_ENOMEM;
	}
	if (len)
		memcpy(copy, reply, len);
	make_room(d, len, 0);
	if (d->st.bytes + len > d->max_bytes) {
		/* Entries in progress hold the bytes: do not keep this one. */
		tether_free(copy);
		entry_remove(d, e);
		return -TETHER_EMSGSIZE;
	}
	e->reply = copy;
	e->len = len;
	e->done = 1;
	d->st.in_progress--;
	d->st.bytes += len;
	lru_push(d, e);
	return 0;
}

void
tether_rpc_drc_abort(struct tether_rpc_drc *d, struct tether_rpc_drc_entry *e)
{
	TETHER_BUG_ON(e->done);
	entry_remove(d, e);
}

void
tether_rpc_drc_get_stats(const struct tether_rpc_drc *d,
			 struct tether_rpc_drc_stats *st /* OUT */)
{
	*st = d->st;
}
