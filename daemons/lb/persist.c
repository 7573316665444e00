/*
 * persist.c - a service's persistence table (HAProxy's stick table in
 * small): masked client address -> backend, with an idle timeout, a
 * bound on entries and LRU eviction; and lb_select, which combines it
 * with the pool's algorithm.
 *
 * Invariants: every entry is on exactly one hash chain and on the LRU
 * list; the LRU list runs from the most recently used (head) to the
 * least (tail), so last_used never increases towards the tail (the
 * clock is monotonic) and expiry only ever looks at the tail; count <=
 * max, so memory is bounded by max entries plus the bucket array. The
 * hash is SipHash under a per-process random key: clients choose their
 * addresses, and must not be able to build long chains.
 *
 * The idle timeout counts from the client's last connection, not its
 * first: while the client has a connection or flow open (p->active,
 * the service's per-client counts), its entry is kept. Expiry finds
 * such an entry at the tail and touches it instead (to the head, idle
 * from now), so it is looked at again only a timeout later; the close
 * of the client's last one touches it too (lb_persist_closed), so the
 * timeout runs from then and not from the last such look; a full
 * table evicts the least recently used entry of a client with nothing
 * open, looking at most LB_PERSIST_EVICT_SCAN entries from the tail.
 */
#include "lb.h"

#include <netinet/in.h>
#include <string.h>

/* Entries a full table looks at, from the LRU tail, for one whose
 * client has nothing open; past that the tail goes anyway (the bound
 * holds). */
#define LB_PERSIST_EVICT_SCAN	16

int
lb_persist_init(struct lb_persist *p, size_t max, uint64_t timeout_ms,
		unsigned mask4, unsigned mask6,
		const struct tether_hash_key *key)
{
	uint32_t nb = 16;

	memset(p, 0, sizeof(*p));
	if (max == 0 || max > LB_MAX_PERSIST || timeout_ms == 0 ||
	    mask4 > 32 || mask6 > 128 || key == NULL)
		return -TETHER_EINVAL;
	while (nb < max)
		nb <<= 1;
	p->buckets = tether_calloc(nb, sizeof(*p->buckets));
	if (p->buckets == NULL)
		return -TETHER_ENOMEM;
	p->nbuckets = nb;
	p->max = max;
	p->timeout_ms = timeout_ms;
	p->mask4 = mask4;
	p->mask6 = mask6;
	p->key = *key;
	return 0;
}

static void
free_chain_lru(struct lb_pentry *e)
{
	while (e != NULL) {
		struct lb_pentry *next = e->lru_next;

		tether_free(e);
		e = next;
	}
}

void
lb_persist_fini(struct lb_persist *p)
{
	struct lb_pentry *e = p->free_list;

	free_chain_lru(p->lru_head);
	while (e != NULL) {
		struct lb_pentry *next = e->hnext;

		tether_free(e);
		e = next;
	}
	tether_free(p->buckets);
	memset(p, 0, sizeof(*p));
}

static void
mask_bytes(uint8_t *b, size_t len, unsigned bits)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (bits >= 8) {
			bits -= 8;
			continue;
		}
		b[i] &= (uint8_t)(0xff00u >> bits);
		bits = 0;
	}
}

static int
make_key(const struct tether_addr *a, unsigned mask4, unsigned mask6,
	 struct lb_pkey *k)
{
	memset(k, 0, sizeof(*k));
	if (a->ss.ss_family == AF_INET &&
	    a->len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const void *)&a->ss;

		k->family = AF_INET;
		memcpy(k->addr, &sin->sin_addr, 4);
		mask_bytes(k->addr, 4, mask4);
		return 0;
	}
	if (a->ss.ss_family == AF_INET6 &&
	    a->len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *sin6 = (const void *)&a->ss;

		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			k->family = AF_INET;
			memcpy(k->addr, &sin6->sin6_addr.s6_addr[12], 4);
			mask_bytes(k->addr, 4, mask4);
			return 0;
		}
		k->family = AF_INET6;
		memcpy(k->addr, &sin6->sin6_addr, 16);
		mask_bytes(k->addr, 16, mask6);
		return 0;
	}
	return -TETHER_EAFNOSUPPORT;
}

int
lb_persist_key(const struct lb_persist *p, const struct tether_addr *a,
	       struct lb_pkey *out)
{
	return make_key(a, p->mask4, p->mask6, out);
}

int
lb_pkey_make(const struct tether_addr *a, unsigned mask4, unsigned mask6,
	     struct lb_pkey *out)
{
	return make_key(a, mask4, mask6, out);
}

uint64_t
lb_pkey_hash(const struct lb_pkey *k)
{
	return tether_hash_fast(k, sizeof(*k), LB_KEY_SEED);
}

static uint32_t
bucket_of(const struct lb_persist *p, const struct lb_pkey *k)
{
	return (uint32_t)tether_hash_siphash(&p->key, k, sizeof(*k)) &
	       (p->nbuckets - 1);
}

static void
lru_unlink(struct lb_persist *p, struct lb_pentry *e)
{
	if (e->lru_prev != NULL)
		e->lru_prev->lru_next = e->lru_next;
	else
		p->lru_head = e->lru_next;
	if (e->lru_next != NULL)
		e->lru_next->lru_prev = e->lru_prev;
	else
		p->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void
lru_push_head(struct lb_persist *p, struct lb_pentry *e)
{
	e->lru_prev = NULL;
	e->lru_next = p->lru_head;
	if (p->lru_head != NULL)
		p->lru_head->lru_prev = e;
	p->lru_head = e;
	if (p->lru_tail == NULL)
		p->lru_tail = e;
}

static void
touch(struct lb_persist *p, struct lb_pentry *e, uint64_t now)
{
	e->last_used = now;
	if (p->lru_head != e) {
		lru_unlink(p, e);
		lru_push_head(p, e);
	}
}

void
lb_persist_remove(struct lb_persist *p, struct lb_pentry *e)
{
	struct lb_pentry **pp = &p->buckets[bucket_of(p, &e->key)];

	while (*pp != e) {
		TETHER_BUG_ON(*pp == NULL);
		pp = &(*pp)->hnext;
	}
	*pp = e->hnext;
	lru_unlink(p, e);
	e->hnext = p->free_list;
	p->free_list = e;
	p->count--;
}

static int
timed_out(const struct lb_persist *p, const struct lb_pentry *e, uint64_t now)
{
	return now >= e->last_used && now - e->last_used >= p->timeout_ms;
}

/* Whether e's client has a connection or flow open, besides the held
 * ones of the caller (a TCP connection is counted before it picks). */
static int
in_use_besides(const struct lb_persist *p, const struct lb_pentry *e,
	       unsigned held)
{
	return p->active != NULL &&
	       lb_climit_conns(p->active, &e->key) > held;
}

static int
in_use(const struct lb_persist *p, const struct lb_pentry *e)
{
	return in_use_besides(p, e, 0);
}

static struct lb_pentry *
find(const struct lb_persist *p, const struct lb_pkey *k)
{
	struct lb_pentry *e = p->buckets[bucket_of(p, k)];

	while (e != NULL && memcmp(&e->key, k, sizeof(*k)) != 0)
		e = e->hnext;
	return e;
}

static struct lb_pentry *
lookup(struct lb_persist *p, const struct lb_pkey *k, uint64_t now,
       unsigned held)
{
	struct lb_pentry *e = find(p, k);

	if (e == NULL)
		return NULL;
	if (timed_out(p, e, now) && !in_use_besides(p, e, held)) {
		lb_persist_remove(p, e);
		p->expirations++;
		return NULL;
	}
	touch(p, e, now);
	return e;
}

struct lb_pentry *
lb_persist_lookup(struct lb_persist *p, const struct lb_pkey *k,
		  uint64_t now)
{
	return lookup(p, k, now, 0);
}

const struct lb_pentry *
lb_persist_peek(const struct lb_persist *p, const struct lb_pkey *k)
{
	return find(p, k);
}

void
lb_persist_closed(struct lb_persist *p, const struct lb_pkey *k,
		  uint64_t now)
{
	struct lb_pentry *e = find(p, k);

	if (e != NULL)
		touch(p, e, now);
}

struct lb_pentry *
lb_persist_insert(struct lb_persist *p, const struct lb_pkey *k,
		  uint32_t backend, uint64_t now)
{
	struct lb_pentry *e = find(p, k);
	uint32_t bi;

	if (e != NULL) {
		e->backend = backend;
		touch(p, e, now);
		return e;
	}
	if (p->count == p->max) {
		struct lb_pentry *v = p->lru_tail;
		int n = 1;

		while (in_use(p, v) && v->lru_prev != NULL &&
		       n++ < LB_PERSIST_EVICT_SCAN)
			v = v->lru_prev;
		if (in_use(p, v))
			v = p->lru_tail;
		lb_persist_remove(p, v);
		p->evictions++;
	}
	if (p->free_list != NULL) {
		e = p->free_list;
		p->free_list = e->hnext;
	} else {
		e = tether_malloc(sizeof(*e));
		if (e == NULL)
			return NULL;
	}
	memset(e, 0, sizeof(*e));
	e->key = *k;
	e->backend = backend;
	e->last_used = now;
	bi = bucket_of(p, k);
	e->hnext = p->buckets[bi];
	p->buckets[bi] = e;
	lru_push_head(p, e);
	p->count++;
	return e;
}

size_t
lb_persist_expire(struct lb_persist *p, uint64_t now)
{
	size_t n = 0;

	while (p->lru_tail != NULL && timed_out(p, p->lru_tail, now)) {
		if (in_use(p, p->lru_tail)) {
			/* Touched: not timed out again before this loop
			 * ends, so each entry is seen once. */
			touch(p, p->lru_tail, now);
			continue;
		}
		lb_persist_remove(p, p->lru_tail);
		n++;
	}
	p->expirations += n;
	return n;
}

struct lb_backend *
lb_select(struct lb_pool *pool, struct lb_persist *p,
	  const struct tether_addr *client, uint64_t now,
	  const unsigned char *excluded)
{
	return lb_select_held(pool, p, client, now, excluded, 0);
}

struct lb_backend *
lb_select_held(struct lb_pool *pool, struct lb_persist *p,
	       const struct tether_addr *client, uint64_t now,
	       const unsigned char *excluded, unsigned held)
{
	struct lb_pentry *e = NULL;
	struct lb_backend *b;
	struct lb_pkey k;
	uint64_t hkey = 0;
	int keyed;

	pool->now = now;
	keyed = p != NULL ? lb_persist_key(p, client, &k) == 0 :
		make_key(client, 32, 128, &k) == 0;
	if (keyed)
		hkey = lb_pkey_hash(&k);
	if (p != NULL && keyed) {
		e = lookup(p, &k, now, held);
		if (e != NULL && e->backend < pool->n) {
			b = &pool->backends[e->backend];
			if (lb_backend_keeps_pinned(b, now) &&
			    (excluded == NULL || !excluded[b->index]))
				return b;
		}
	}
	b = lb_pool_pick(pool, hkey, excluded);
	if (b == NULL || p == NULL || !keyed)
		return b;
	/* Pin now, before any backend connection exists: a second
	 * connection of this client arriving meanwhile finds the pin. */
	if (e != NULL)
		e->backend = b->index;
	else
		(void)lb_persist_insert(p, &k, b->index, now);
	return b;
}
