/*
 * sched.c - backend pools and the simple balancing algorithms behind
 * struct lb_ops: round-robin, smooth weighted round-robin (nginx's
 * ngx_http_upstream_get_peer) and weighted least-connections. Maglev
 * is in sched_maglev.c.
 */
#include "lb.h"

#include <string.h>

static const char *const backend_state_names[LB_BACKEND_STATE_MAX] = {
	[LB_BACKEND_UP] = "up",
	[LB_BACKEND_DRAINING] = "draining",
	[LB_BACKEND_DOWN] = "down",
};

const char *
lb_backend_state_name(int state)
{
	if (state < 0 || state >= LB_BACKEND_STATE_MAX)
		return "unknown";
	return backend_state_names[state];
}

static const char *const admin_names[LB_ADMIN_MAX] = {
	[LB_ADMIN_ENABLED] = "enabled",
	[LB_ADMIN_DRAINING] = "draining",
	[LB_ADMIN_DISABLED] = "disabled",
};

const char *
lb_admin_name(int admin)
{
	if (admin < 0 || admin >= LB_ADMIN_MAX)
		return "unknown";
	return admin_names[admin];
}

int
lb_backend_usable(const struct lb_backend *b)
{
	return b->state == LB_BACKEND_UP && b->weight > 0;
}

int
lb_backend_keeps_pinned(const struct lb_backend *b, uint64_t now)
{
	if (b->state == LB_BACKEND_UP)
		return 1;
	if (b->state == LB_BACKEND_DRAINING)
		return b->drain_deadline == 0 || now < b->drain_deadline;
	return 0;
}

uint64_t
lb_backend_ramp_weight(const struct lb_pool *pool, const struct lb_backend *b,
		       unsigned scale, uint64_t *end)
{
	uint64_t age, full = (uint64_t)b->weight * scale, w;

	if (end != NULL)
		*end = 0;
	if (pool->slowstart_ms == 0 || b->up_since == 0 ||
	    pool->now < b->up_since)
		return full;
	age = pool->now - b->up_since;
	if (age >= pool->slowstart_ms)
		return full;
	w = full * age / pool->slowstart_ms;
	if (w < scale)
		w = scale;
	/* Weight 0 stays 0; weight 1 has nothing to ramp. */
	if (w >= full)
		return full;
	if (end != NULL)
		*end = b->up_since + pool->slowstart_ms;
	return w;
}

/*
 * The weight a backend gets now: during slow start (the first
 * slowstart_ms after it came back UP) it grows linearly from 1 to its
 * weight, so a server that just restarted is not flooded at once.
 */
static unsigned
eff_weight(const struct lb_pool *pool, const struct lb_backend *b)
{
	return (unsigned)lb_backend_ramp_weight(pool, b, 1, NULL);
}

static int
candidate(const struct lb_pool *pool, size_t i, const unsigned char *excluded)
{
	return lb_backend_usable(&pool->backends[i]) &&
	       (excluded == NULL || !excluded[i]);
}

/* ---- smooth weighted round-robin ---- */

/*
 * Each pick adds every candidate's weight to its current value, takes
 * the largest, and subtracts the total from the winner. Over a round of
 * sum(weights) picks each backend is chosen exactly weight times, and
 * the picks are spread out (5,1,1 gives a a b a c a a, not a a a a a b c).
 */
static struct lb_backend *
wrr_pick_weighted(struct lb_pool *pool, const unsigned char *excluded,
		  int use_weights)
{
	struct lb_backend *best = NULL;
	int64_t total = 0;
	size_t i;

	for (i = 0; i < pool->n; i++) {
		struct lb_backend *b = &pool->backends[i];
		int64_t w = use_weights ? (int64_t)eff_weight(pool, b) : 1;

		if (!candidate(pool, i, excluded))
			continue;
		b->wrr_current += w;
		total += w;
		if (best == NULL || b->wrr_current > best->wrr_current)
			best = b;
	}
	if (best != NULL)
		best->wrr_current -= total;
	return best;
}

static int
wrr_update(struct lb_pool *pool)
{
	size_t i;

	/* A fresh round: a backend back from DOWN starts level. */
	for (i = 0; i < pool->n; i++)
		pool->backends[i].wrr_current = 0;
	return 0;
}

static struct lb_backend *
wrr_pick(struct lb_pool *pool, uint64_t key, const unsigned char *excluded)
{
	(void)key;
	return wrr_pick_weighted(pool, excluded, 1);
}

static struct lb_backend *
rr_pick(struct lb_pool *pool, uint64_t key, const unsigned char *excluded)
{
	(void)key;
	return wrr_pick_weighted(pool, excluded, 0);
}

/* ---- weighted least-connections ---- */

/*
 * The candidate with the fewest active connections per unit of weight
 * (conns_a / w_a < conns_b / w_b, compared as conns_a * w_b <
 * conns_b * w_a). Ties go to the first candidate after the previous
 * winner, so equal backends share new connections in turn.
 */
static struct lb_backend *
wlc_pick(struct lb_pool *pool, uint64_t key, const unsigned char *excluded)
{
	struct lb_backend *best = NULL;
	size_t k;

	(void)key;
	for (k = 0; k < pool->n; k++) {
		size_t i = (pool->rr_next + k) % pool->n;
		struct lb_backend *b = &pool->backends[i];

		if (!candidate(pool, i, excluded))
			continue;
		if (best == NULL ||
		    (uint64_t)b->conns * eff_weight(pool, best) <
		    (uint64_t)best->conns * eff_weight(pool, b))
			best = b;
	}
	if (best != NULL)
		pool->rr_next = (best->index + 1) % (unsigned)pool->n;
	return best;
}

static int
nop_init(struct lb_pool *pool)
{
	(void)pool;
	return 0;
}

static void
nop_fini(struct lb_pool *pool)
{
	(void)pool;
}

static int
nop_update(struct lb_pool *pool)
{
	(void)pool;
	return 0;
}

const struct lb_ops lb_ops_rr = {
	.name = "rr",
	.init = nop_init,
	.fini = nop_fini,
	.update = wrr_update,
	.pick = rr_pick,
};

const struct lb_ops lb_ops_wrr = {
	.name = "wrr",
	.init = nop_init,
	.fini = nop_fini,
	.update = wrr_update,
	.pick = wrr_pick,
};

const struct lb_ops lb_ops_wlc = {
	.name = "wlc",
	.init = nop_init,
	.fini = nop_fini,
	.update = nop_update,
	.pick = wlc_pick,
};

const struct lb_ops *
lb_ops_for(int balance)
{
	switch (balance) {
	case LB_BALANCE_RR:
		return &lb_ops_rr;
	case LB_BALANCE_WRR:
		return &lb_ops_wrr;
	case LB_BALANCE_WLC:
		return &lb_ops_wlc;
	case LB_BALANCE_MAGLEV:
		return &lb_ops_maglev;
	default:
		return NULL;
	}
}

/* ---- pools ---- */

int
lb_pool_init(struct lb_pool *pool, size_t n, const struct lb_ops *ops)
{
	size_t i;
	int err;

	memset(pool, 0, sizeof(*pool));
	if (n == 0 || n > LB_MAX_BACKENDS || ops == NULL)
		return -TETHER_EINVAL;
	pool->backends = tether_calloc(n, sizeof(*pool->backends));
	if (pool->backends == NULL)
		return -TETHER_ENOMEM;
	pool->n = n;
	pool->ops = ops;
	for (i = 0; i < n; i++) {
		pool->backends[i].index = (unsigned)i;
		pool->backends[i].weight = 1;
		pool->backends[i].name = "";
	}
	err = ops->init(pool);
	if (err < 0) {
		tether_free(pool->backends);
		memset(pool, 0, sizeof(*pool));
		return err;
	}
	return 0;
}

void
lb_pool_fini(struct lb_pool *pool)
{
	size_t i;

	for (i = 0; i < pool->n; i++) {
		struct lb_backend *b = &pool->backends[i];

		if (b->prev_gen != NULL)
			b->prev_gen->next_gen = b->next_gen;
		if (b->next_gen != NULL)
			b->next_gen->prev_gen = b->prev_gen;
	}
	if (pool->ops != NULL)
		pool->ops->fini(pool);
	tether_free(pool->backends);
	memset(pool, 0, sizeof(*pool));
}

int
lb_pool_update(struct lb_pool *pool)
{
	if (pool->defer_update)
		return 0;
	return pool->ops->update(pool);
}

struct lb_backend *
lb_pool_pick(struct lb_pool *pool, uint64_t key, const unsigned char *excluded)
{
	if (pool->n == 0)
		return NULL;
	return pool->ops->pick(pool, key, excluded);
}

int
lb_backend_set_state(struct lb_pool *pool, struct lb_backend *b,
		     enum lb_backend_state state, uint64_t now,
		     uint64_t drain_ms)
{
	TETHER_BUG_ON(state >= LB_BACKEND_STATE_MAX);
	TETHER_BUG_ON(b < pool->backends || b >= pool->backends + pool->n);
	/* The update below weighs slow start at this moment. */
	if (now > pool->now)
		pool->now = now;
	/* Slow start, also from DRAINING (tetherctl enable after a
	 * drain): it took no new clients meanwhile, so wlc would send it
	 * every new one at once and Maglev its whole share, often to a
	 * server just restarted in its maintenance. */
	if (state == LB_BACKEND_UP && b->state != LB_BACKEND_UP)
		b->up_since = now != 0 ? now : 1;
	b->state = state;
	/* DOWN keeps a drain's deadline for when health comes back. */
	if (state == LB_BACKEND_UP)
		b->drain_deadline = 0;
	else if (state == LB_BACKEND_DRAINING)
		b->drain_deadline = drain_ms > 0 ? now + drain_ms : 0;
	return lb_pool_update(pool);
}

int
lb_backend_admin(struct lb_pool *pool, struct lb_backend *b,
		 enum lb_admin admin, uint64_t now, uint64_t drain_ms)
{
	enum lb_backend_state st;

	TETHER_BUG_ON(admin >= LB_ADMIN_MAX);
	b->admin = admin;
	/* Whatever the state: drained while its checks hold it down, it
	 * drains to this deadline when it is back (set_state's DOWN keeps
	 * it), not to one left from before or to none. */
	if (admin == LB_ADMIN_DRAINING)
		b->drain_deadline = drain_ms > 0 ? now + drain_ms : 0;
	if (admin == LB_ADMIN_DISABLED || b->health_down)
		st = LB_BACKEND_DOWN;
	else if (admin == LB_ADMIN_DRAINING)
		st = LB_BACKEND_DRAINING;
	else
		st = LB_BACKEND_UP;
	return lb_backend_set_state(pool, b, st, now, drain_ms);
}

/* ---- counts across reloads ---- */

void
lb_backend_acquire(struct lb_backend *b)
{
	for (; b != NULL; b = b->next_gen)
		b->conns++;
}

void
lb_backend_release(struct lb_backend *b)
{
	for (; b != NULL; b = b->next_gen) {
		TETHER_BUG_ON(b->conns == 0);
		b->conns--;
	}
}

void
lb_backend_link(struct lb_backend *old, struct lb_backend *b)
{
	TETHER_BUG_ON(old->next_gen != NULL || b->prev_gen != NULL);
	old->next_gen = b;
	b->prev_gen = old;
	b->conns = old->conns;
}

struct lb_backend *
lb_backend_newest(struct lb_backend *b, struct lb_service **svc)
{
	struct lb_service *s = *svc;

	for (; b->next_gen != NULL; b = b->next_gen) {
		/* A backend is linked only with its service (transfer_state),
		 * and freeing a proxy unlinks both: the chains go alike. */
		s = s->next_gen;
		TETHER_BUG_ON(s == NULL);
	}
	TETHER_BUG_ON(b < s->pool.backends || b >= s->pool.backends + s->pool.n);
	*svc = s;
	return b;
}

void
lb_service_acquire(struct lb_service *svc)
{
	for (; svc != NULL; svc = svc->next_gen)
		svc->conns++;
}

void
lb_service_release(struct lb_service *svc)
{
	for (; svc != NULL; svc = svc->next_gen) {
		TETHER_BUG_ON(svc->conns == 0);
		svc->conns--;
	}
}

void
lb_service_link(struct lb_service *old, struct lb_service *svc)
{
	TETHER_BUG_ON(old->next_gen != NULL || svc->prev_gen != NULL);
	old->next_gen = svc;
	svc->prev_gen = old;
	svc->conns = old->conns;
}

struct lb_service *
lb_service_newest(struct lb_service *svc)
{
	while (svc->next_gen != NULL)
		svc = svc->next_gen;
	return svc;
}

void
lb_service_unlink(struct lb_service *svc)
{
	if (svc->prev_gen != NULL)
		svc->prev_gen->next_gen = svc->next_gen;
	if (svc->next_gen != NULL)
		svc->next_gen->prev_gen = svc->prev_gen;
	svc->prev_gen = svc->next_gen = NULL;
}
