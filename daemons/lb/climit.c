/*
 * climit.c - per-client connection counts for `limits client-conns N`:
 * one client (an address masked as persistence masks it) may hold at
 * most N connections and UDP flows of a service at a time, so a
 * slowloris client cannot take every slot of the service's `conns`
 * limit. A service with persistence has the table too, with or without
 * the limit: a client's persistence entry does not expire while it has
 * something open (persist.c, lb_climit_conns). An entry exists while
 * its client has a connection (count > 0), so memory follows the
 * active connections; the hash is SipHash under the proxy's random key
 * (clients choose their addresses), and the bucket array doubles as
 * entries grow and halves as they go. A reload moves the table to the
 * service's successor (lb_service_link's chain): acquire and release go
 * to the newest generation's table, so connections of before a reload
 * keep counting.
 */
#include "lb.h"

#include <string.h>

#define CLIMIT_MIN_BUCKETS	64u

struct lb_climit *
lb_climit_new(unsigned mask4, unsigned mask6,
	      const struct tether_hash_key *key)
{
	struct lb_climit *c;

	c = tether_calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->buckets = tether_calloc(CLIMIT_MIN_BUCKETS, sizeof(*c->buckets));
	if (c->buckets == NULL) {
		tether_free(c);
		return NULL;
	}
	c->nbuckets = CLIMIT_MIN_BUCKETS;
	c->mask4 = mask4;
	c->mask6 = mask6;
	c->key = *key;
	return c;
}

void
lb_climit_free(struct lb_climit *c)
{
	uint32_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nbuckets; i++)
		while (c->buckets[i] != NULL) {
			struct lb_centry *e = c->buckets[i];

			c->buckets[i] = e->hnext;
			tether_free(e);
		}
	tether_free(c->buckets);
	tether_free(c);
}

static uint32_t
bucket(const struct lb_climit *c, const struct lb_pkey *k, uint32_t n)
{
	return (uint32_t)tether_hash_siphash(&c->key, k, sizeof(*k)) &
	       (n - 1);
}

/* Rehash into n buckets: doubled when there are more entries than
 * buckets, halved when there are fewer entries than an eighth of the
 * buckets (a burst of clients does not keep its array once they are
 * gone). On no memory the chains just stay as they are. */
static void
resize(struct lb_climit *c, uint32_t n)
{
	uint32_t i;
	struct lb_centry **nb;

	if (n > (1u << 24) || n < CLIMIT_MIN_BUCKETS)
		return;
	nb = tether_calloc(n, sizeof(*nb));
	if (nb == NULL)
		return;
	for (i = 0; i < c->nbuckets; i++)
		while (c->buckets[i] != NULL) {
			struct lb_centry *e = c->buckets[i];
			uint32_t b = bucket(c, &e->key, n);

			c->buckets[i] = e->hnext;
			e->hnext = nb[b];
			nb[b] = e;
		}
	tether_free(c->buckets);
	c->buckets = nb;
	c->nbuckets = n;
}

/* The entry slot of client in c (*slot is NULL when it has none). */
static struct lb_centry **
find(struct lb_climit *c, const struct tether_addr *client,
     struct lb_pkey *k /* OUT */)
{
	struct lb_centry **pp;

	if (lb_pkey_make(client, c->mask4, c->mask6, k) < 0)
		return NULL;
	pp = &c->buckets[bucket(c, k, c->nbuckets)];
	while (*pp != NULL && memcmp(&(*pp)->key, k, sizeof(*k)) != 0)
		pp = &(*pp)->hnext;
	return pp;
}

unsigned
lb_climit_conns(const struct lb_climit *c, const struct lb_pkey *k)
{
	const struct lb_centry *e = c->buckets[bucket(c, k, c->nbuckets)];

	while (e != NULL && memcmp(&e->key, k, sizeof(*k)) != 0)
		e = e->hnext;
	return e != NULL ? e->conns : 0;
}

struct lb_climit *
lb_client_table(struct lb_service *svc)
{
	return lb_service_newest(svc)->climit;
}

int
lb_client_admit(struct lb_service *svc, const struct tether_addr *client)
{
	struct lb_climit *c = lb_client_table(svc);
	unsigned max = svc->conf->limits.max_client_conns;
	struct lb_centry **pp;
	struct lb_pkey k;

	if (c == NULL || max == 0)
		return 1;
	pp = find(c, client, &k);
	return pp == NULL || *pp == NULL || (*pp)->conns < max;
}

int
lb_client_acquire(struct lb_service *svc, const struct tether_addr *client)
{
	struct lb_climit *c = lb_client_table(svc);
	struct lb_centry **pp, *e;
	struct lb_pkey k;

	if (c == NULL)
		return 0;
	pp = find(c, client, &k);
	if (pp == NULL)
		return 0;	/* not an IP address: not counted */
	if (*pp != NULL) {
		(*pp)->conns++;
		return 0;
	}
	e = tether_calloc(1, sizeof(*e));
	if (e == NULL)
		return -TETHER_ENOMEM;
	e->key = k;
	e->conns = 1;
	*pp = e;
	if (++c->count > c->nbuckets)
		resize(c, c->nbuckets * 2);
	return 0;
}

void
lb_client_release(struct lb_service *svc, const struct tether_addr *client)
{
	struct lb_climit *c = lb_client_table(svc);
	struct lb_centry **pp, *e;
	struct lb_service *n;
	struct lb_pkey k;

	if (c == NULL)
		return;
	pp = find(c, client, &k);
	if (pp == NULL || *pp == NULL)
		return;		/* never counted (no memory then) */
	e = *pp;
	if (--e->conns > 0)
		return;
	/* The persistence entry's timeout runs from now: the sweep last
	 * touched it while in use, up to a timeout ago. */
	n = lb_service_newest(svc);
	if (n->has_persist && n->persist.active == c && n->px != NULL)
		lb_persist_closed(&n->persist, &k,
				  tether_loop_now(n->px->loop));
	*pp = e->hnext;
	tether_free(e);
	if (--c->count < c->nbuckets / 8)
		resize(c, c->nbuckets / 2);
}
