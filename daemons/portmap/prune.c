/*
 * prune.c - optional pruning of registrations whose service is gone, so
 * clients are not sent to dead ports: every `prune` interval, an entry
 * whose registering process (its pid from SO_PEERCRED on the local
 * socket, kept in the state file) no longer exists is dropped, and for
 * a TCP entry a non-blocking connect to its port is started; a refused
 * connection drops it. A connect that does not finish within the
 * interval (at most 2 s) proves nothing and keeps the entry. At most
 * PRUNE_MAX_PROBES connects are in flight; the daemon's own entries and
 * UDP entries without a pid are never pruned. Limitation: a pid reused
 * by another process keeps a dead registration alive until its port is
 * checked (TCP) or that process exits too.
 */
#include "pm.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PRUNE_MAX_PROBES 32
#define PRUNE_MAX_WAIT_MS 2000u

struct prune_probe {
	int fd;				/* -1: free */
	uint64_t deadline;
	struct reg_entry e;		/* what was probed (a copy) */
	struct pm_prune *p;
};

struct pm_prune {
	struct pm_ctx *ctx;
	struct tether_loop *loop;
	struct tether_loop_timer *tick;
	struct prune_probe probes[PRUNE_MAX_PROBES];
	size_t next;			/* round-robin start in the table */
};

/* Drop e if the table still holds exactly it; log and save. Returns
 * 1 when it was dropped. */
static int
drop(struct pm_prune *p, const struct reg_entry *e, const char *why)
{
	struct pm_ctx *ctx = p->ctx;
	char err[512];
	size_t i;

	for (i = 0; i < ctx->reg.n; i++) {
		const struct reg_entry *c = &ctx->reg.v[i];

		if (!c->builtin && c->prog == e->prog && c->vers == e->vers &&
		    strcmp(c->netid, e->netid) == 0 &&
		    strcmp(c->uaddr, e->uaddr) == 0 && c->pid == e->pid)
			break;
	}
	if (i == ctx->reg.n)
		return 0;
	if (reg_unset(&ctx->reg, e->prog, e->vers, e->netid,
		      REG_OWNER_SUPERUSER) <= 0)
		return 0;
	if (why[0] == 'p')
		ctx->pruned_exited++;
	else
		ctx->pruned_closed++;
	tether_log_info("pruned prog %u vers %u %s %s (owner %s): %s",
			e->prog, e->vers, e->netid, e->uaddr, e->owner, why);
	if (pm_save_if_changed(ctx, err, sizeof(err)) < 0)
		tether_log_warnx("state file not saved: %s", err);
	return 1;
}

static void
probe_end(struct prune_probe *pr)
{
	(void)tether_loop_fd_del(pr->p->loop, pr->fd);
	close(pr->fd);
	pr->fd = -1;
}

static void
probe_event(struct tether_loop *loop, int fd, unsigned events, void *ud)
{
	struct prune_probe *pr = ud;
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	(void)loop;
	(void)events;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		soerr = errno;
	if (soerr == EINPROGRESS || soerr == EALREADY)
		return;
	probe_end(pr);
	if (soerr == ECONNREFUSED)
		(void)drop(pr->p, &pr->e, "its TCP port refuses connections");
}

/* Where to connect: a wildcard address means loopback. */
static int
probe_addr(const struct reg_entry *e, struct tether_addr *a)
{
	enum tether_netid id;
	int n = tether_netid_from_name(e->netid), port;

	if (n != TETHER_NETID_TCP && n != TETHER_NETID_TCP6)
		return -TETHER_EINVAL;
	id = (enum tether_netid)n;
	if (tether_addr_from_uaddr_str(a, id, e->uaddr) < 0)
		return -TETHER_EINVAL;
	port = tether_addr_port(a);
	if (port <= 0)
		return -TETHER_EINVAL;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)&a->ss;

		if (s4->sin_addr.s_addr == 0)
			return tether_addr_parse(a, "127.0.0.1", port);
	} else {
		const struct sockaddr_in6 *s6 = (const void *)&a->ss;
		static const struct in6_addr any = IN6ADDR_ANY_INIT;

		if (memcmp(&s6->sin6_addr, &any, sizeof(any)) == 0)
			return tether_addr_parse(a, "::1", port);
	}
	return 0;
}

static void
probe_start(struct pm_prune *p, const struct reg_entry *e, uint64_t wait_ms)
{
	struct prune_probe *pr = NULL;
	struct tether_addr a;
	size_t i;
	int fd;

	for (i = 0; i < PRUNE_MAX_PROBES; i++)
		if (p->probes[i].fd < 0) {
			pr = &p->probes[i];
			break;
		}
	if (pr == NULL || probe_addr(e, &a) < 0)
		return;
	fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return;
	if (connect(fd, (const struct sockaddr *)&a.ss, a.len) == 0) {
		close(fd);
		return;			/* alive */
	}
	if (errno == ECONNREFUSED) {
		close(fd);
		(void)drop(p, e, "its TCP port refuses connections");
		return;
	}
	if (errno != EINPROGRESS ||
	    tether_loop_fd_add(p->loop, fd, TETHER_LOOP_WRITE, probe_event,
			       pr) < 0) {
		close(fd);
		return;
	}
	pr->fd = fd;
	pr->e = *e;
	pr->deadline = tether_loop_now(p->loop) + wait_ms;
}

static void
tick_event(struct tether_loop *loop, struct tether_loop_timer *t, void *ud)
{
	struct pm_prune *p = ud;
	struct pm_ctx *ctx = p->ctx;
	uint64_t now = tether_loop_now(loop), wait_ms;
	size_t i, n;

	(void)t;
	wait_ms = ctx->cfg.prune_interval_ms < PRUNE_MAX_WAIT_MS ?
		ctx->cfg.prune_interval_ms : PRUNE_MAX_WAIT_MS;
	for (i = 0; i < PRUNE_MAX_PROBES; i++)
		if (p->probes[i].fd >= 0 && p->probes[i].deadline <= now)
			probe_end(&p->probes[i]);
	/* Processes first (drop() closes the gap: the next entry is
	 * then at i). */
	for (i = 0; i < ctx->reg.n;) {
		struct reg_entry e = ctx->reg.v[i];

		if (!e.builtin && e.pid > 0 && kill(e.pid, 0) < 0 &&
		    errno == ESRCH && drop(p, &e, "process exited"))
			continue;
		i++;
	}
	/* Then TCP ports, PRUNE_MAX_PROBES at a time, round-robin. */
	n = ctx->reg.n;
	for (i = 0; i < n; i++) {
		const struct reg_entry *e = &ctx->reg.v[(p->next + i) % n];
		struct reg_entry copy;

		if (e->builtin)
			continue;
		copy = *e;
		probe_start(p, &copy, wait_ms);
		if (ctx->reg.n != n)
			break;		/* dropped one: the table moved */
	}
	p->next = n ? (p->next + i) % n : 0;
}

int
pm_prune_open(struct pm_prune **out, struct pm_ctx *ctx,
	      struct tether_loop *loop)
{
	struct pm_prune *p;
	size_t i;
	int rc;

	*out = NULL;
	if (ctx->cfg.prune_interval_ms == 0)
		return 0;
	p = tether_calloc(1, sizeof(*p));
	if (p == NULL)
		return -TETHER_ENOMEM;
	p->ctx = ctx;
	p->loop = loop;
	for (i = 0; i < PRUNE_MAX_PROBES; i++) {
		p->probes[i].fd = -1;
		p->probes[i].p = p;
	}
	rc = tether_loop_timer_new(loop, tick_event, p, &p->tick);
	if (rc == 0)
		rc = tether_loop_timer_arm(p->tick, ctx->cfg.prune_interval_ms,
					   ctx->cfg.prune_interval_ms);
	if (rc < 0) {
		pm_prune_close(p);
		return rc;
	}
	*out = p;
	return 0;
}

void
pm_prune_close(struct pm_prune *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < PRUNE_MAX_PROBES; i++)
		if (p->probes[i].fd >= 0)
			probe_end(&p->probes[i]);
	tether_loop_timer_free(p->tick);
	tether_free(p);
}

int
pm_prune_apply(struct pm_prune **pp, struct pm_ctx *ctx,
	       struct tether_loop *loop)
{
	uint64_t ms = ctx->cfg.prune_interval_ms;

	if (ms == 0) {
		pm_prune_close(*pp);
		*pp = NULL;
		return 0;
	}
	if (*pp == NULL)
		return pm_prune_open(pp, ctx, loop);
	return tether_loop_timer_arm((*pp)->tick, ms, ms);
}
