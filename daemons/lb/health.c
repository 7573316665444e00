/*
 * health.c - active health checks behind struct lb_check_ops (TCP
 * connect for now), the rise/fall counting that moves a backend between
 * UP and DOWN, and passive detection from failed data-path connects
 * (beside active checks, or alone: `check passive`).
 *
 * Each backend's check is one timer and at most one probe in flight:
 * the timer starts a probe every interval; while a probe is in flight
 * the same timer is its timeout. A backend starts UP (traffic flows at
 * once, as in HAProxy) and needs `fall` failures in a row to go DOWN,
 * then `rise` successes in a row to come back.
 */
#include "lb.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* b->health_down changed: its state follows. */
static void
health_apply(struct lb_pool *pool, struct lb_backend *b, uint64_t now)
{
	uint64_t drain_ms = 0;

	/* Keep what is left of a drain's deadline (at least 1 ms: 0
	 * would mean "no deadline"). */
	if (b->drain_deadline != 0)
		drain_ms = b->drain_deadline > now ?
			b->drain_deadline - now : 1;
	(void)lb_backend_admin(pool, b, b->admin, now, drain_ms);
}

int
lb_health_result(struct lb_pool *pool, struct lb_backend *b, int ok,
		 unsigned rise, unsigned fall, uint64_t now)
{

	if (ok) {
		b->check_fail = 0;
		if (b->check_ok < rise)
			b->check_ok++;
		if (!b->health_down || b->check_ok < rise)
			return 0;
		b->health_down = 0;
	} else {
		b->check_ok = 0;
		if (b->check_fail < fall)
			b->check_fail++;
		if (b->health_down || b->check_fail < fall)
			return 0;
		b->health_down = 1;
	}
	health_apply(pool, b, now);
	return 1;
}

static void
report(struct lb_check *ck, int ok, const char *why)
{
	const struct lb_conf_check *cc = &ck->svc->conf->check;
	uint64_t now = tether_loop_now(ck->svc->px->loop);

	if (!ok)
		snprintf(ck->last_error, sizeof(ck->last_error), "%s", why);
	if (!lb_health_result(&ck->svc->pool, ck->be, ok,
			      ck->ops->passive ? 1 : cc->rise, cc->fall, now))
		return;
	if (ok && ck->ops->passive)
		tether_log_info("backend %s/%s: up (a connection to it "
				"succeeded)", ck->svc->conf->name,
				ck->be->name);
	else if (ok)
		tether_log_info("backend %s/%s: up (%u checks passed)",
				ck->svc->conf->name, ck->be->name, cc->rise);
	else if (ck->ops->passive) {
		tether_log_warnx("backend %s/%s: down (passive check: "
				 "%s); one connection tries it again in "
				 "%llums", ck->svc->conf->name, ck->be->name,
				 ck->last_error,
				 (unsigned long long)cc->interval_ms);
		ck->started = now;
		(void)tether_loop_timer_arm(ck->timer, cc->interval_ms, 0);
	} else
		tether_log_warnx("backend %s/%s: down (%u checks "
				 "failed, last: %s)",
				 ck->svc->conf->name, ck->be->name,
				 cc->fall, ck->last_error);
}

/* How long a backend the passive check took down stays down: the
 * interval; after a pick for a try, the interval after that try could
 * last have told (a failure at its connect timeout then starts the
 * interval again: no try is up at the moment it fails). */
static uint64_t
passive_wait(const struct lb_check *ck)
{
	return ck->try_ms + ck->svc->conf->check.interval_ms;
}

void
lb_health_passive(struct lb_service *svc, struct lb_backend *b,
		  uint64_t now)
{
	struct lb_check *ck;

	if (svc->checks == NULL)
		return;
	ck = &svc->checks[b->index];
	if (ck->ops->passive && b->health_down) {
		/* Its try failed (or a connect begun before it went down
		 * did): down for another interval from now. */
		ck->started = now;
		ck->try_ms = 0;
		(void)tether_loop_timer_arm(ck->timer,
					    svc->conf->check.interval_ms, 0);
	}
	report(ck, 0, "connection failed");
}

void
lb_health_connected(struct lb_service *svc, struct lb_backend *b)
{
	if (svc->checks == NULL || !svc->checks[b->index].ops->passive)
		return;
	b->passive_try = 0;
	svc->checks[b->index].try_ms = 0;
	report(&svc->checks[b->index], 1, "");
}

void
lb_health_picked(struct lb_service *svc, struct lb_backend *b,
		 uint64_t try_ms)
{
	struct lb_check *ck;
	uint64_t now;

	if (!b->passive_try || svc->checks == NULL)
		return;
	/* Its try: down again at once, so no other connection goes
	 * there meanwhile (one that hangs would cost each of them the
	 * connect timeout); its success brings it up, its failure leaves
	 * it down for another interval. Until it has told, or could
	 * have, no other try: with a connect timeout past the interval
	 * the timer brought it up for a second while the first still
	 * hung. */
	now = tether_loop_now(svc->px->loop);
	ck = &svc->checks[b->index];
	b->passive_try = 0;
	b->health_down = 1;
	b->check_ok = 0;
	ck->started = now;
	ck->try_ms = try_ms;
	(void)tether_loop_timer_arm(ck->timer, passive_wait(ck), 0);
	health_apply(&svc->pool, b, now);
}

/* ---- Passive: no probe; the timer ends a backend's time down ---- */

/* Every interval (and interval after it went down): a backend down for
 * that long is up again, for the one connection that picks it next
 * (lb_health_picked takes it down again meanwhile), with one failure
 * to go (fall - 1 counted). */
static void
passive_timer(struct lb_check *ck)
{
	const struct lb_conf_check *cc = &ck->svc->conf->check;
	struct lb_backend *b = ck->be;
	uint64_t now = tether_loop_now(ck->svc->px->loop);
	uint64_t down = now - ck->started, wait = passive_wait(ck);

	if (b->health_down && down < wait) {
		(void)tether_loop_timer_arm(ck->timer, wait - down, 0);
		return;
	}
	ck->try_ms = 0;
	if (b->health_down &&
	    lb_health_result(&ck->svc->pool, b, 1, 1, cc->fall, now)) {
		b->check_fail = cc->fall - 1;
		b->passive_try = 1;
		tether_log_info("backend %s/%s: up for one connection's try "
				"(passive check, down %llums)",
				ck->svc->conf->name, b->name,
				(unsigned long long)down);
	}
	(void)tether_loop_timer_arm(ck->timer, cc->interval_ms, 0);
}

const struct lb_check_ops lb_check_ops_passive = {
	.name = "passive",
	.passive = 1,
};

/* ---- TCP connect check ---- */

static void
tcp_check_io(struct tether_loop *loop, int fd, unsigned events, void *ud);

static int
tcp_check_start(struct lb_check *ck, char *why, size_t whylen)
{
	int fd, err;

	fd = socket(ck->addr.ss.ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		snprintf(why, whylen, "%s", strerror(err));
		return tether_err_from_errno(err);
	}
	if (connect(fd, (const struct sockaddr *)&ck->addr.ss,
		    ck->addr.len) < 0 && errno != EINPROGRESS) {
		err = errno;
		close(fd);
		snprintf(why, whylen, "%s", strerror(err));
		return tether_err_from_errno(err);
	}
	err = tether_loop_fd_add(ck->svc->px->loop, fd, TETHER_LOOP_WRITE,
				 tcp_check_io, ck);
	if (err < 0) {
		close(fd);
		snprintf(why, whylen, "%s", tether_strerror(err));
		return err;
	}
	ck->fd = fd;
	return 0;
}

static void
tcp_check_abort(struct lb_check *ck)
{
	if (ck->fd < 0)
		return;
	(void)tether_loop_fd_del(ck->svc->px->loop, ck->fd);
	close(ck->fd);
	ck->fd = -1;
}

/* The loop keeps one callback argument per fd: watched again, for to
 * (an event already collected for it is reported again: level
 * triggered). */
static int
tcp_check_move(struct lb_check *to, struct lb_check *from)
{
	struct tether_loop *loop = from->svc->px->loop;
	int err;

	(void)tether_loop_fd_del(loop, from->fd);
	err = tether_loop_fd_add(loop, from->fd, TETHER_LOOP_WRITE,
				 tcp_check_io, to);
	if (err < 0)
		return err;
	to->fd = from->fd;
	from->fd = -1;
	return 0;
}

const struct lb_check_ops lb_check_ops_tcp = {
	.name = "tcp",
	.start = tcp_check_start,
	.abort = tcp_check_abort,
	.move = tcp_check_move,
};

/* The kinds by enum lb_check_type: a new kind (the RPC NULL call, the
 * FTP banner) is an ops table here and a keyword in conf.c. */
static const struct lb_check_ops *const check_kinds[LB_CHECK_MAX] = {
	[LB_CHECK_NONE] = NULL,
	[LB_CHECK_TCP] = &lb_check_ops_tcp,
	[LB_CHECK_PASSIVE] = &lb_check_ops_passive,
};

const struct lb_check_ops *
lb_check_ops_for(int type)
{
	if (type < 0 || type >= LB_CHECK_MAX)
		return NULL;
	return check_kinds[type];
}

/* The probe of ck finished: ok or why not; schedule the next. */
static void
check_done(struct lb_check *ck, int ok, const char *why)
{
	const struct lb_conf_check *cc = &ck->svc->conf->check;
	uint64_t now = tether_loop_now(ck->svc->px->loop);
	uint64_t spent = now - ck->started;

	ck->ops->abort(ck);
	ck->in_flight = 0;
	report(ck, ok, why);
	(void)tether_loop_timer_arm(ck->timer, spent >= cc->interval_ms ? 0 :
				    cc->interval_ms - spent, 0);
}

static void
tcp_check_io(struct tether_loop *loop, int fd, unsigned events, void *ud)
{
	struct lb_check *ck = ud;
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	(void)loop;
	(void)events;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	check_done(ck, soerr == 0, soerr == 0 ? "" : strerror(soerr));
}

static void
check_timer(struct tether_loop *loop, struct tether_loop_timer *t, void *ud)
{
	struct lb_check *ck = ud;
	const struct lb_conf_check *cc = &ck->svc->conf->check;
	char why[sizeof(ck->last_error)] = "cannot start";

	(void)t;
	if (ck->ops->passive) {
		passive_timer(ck);
		return;
	}
	if (ck->in_flight) {
		check_done(ck, 0, "timed out");
		return;
	}
	ck->started = tether_loop_now(loop);
	/* ck->last_error is not cleared here: until this probe ends,
	 * tetherctl shows the last result, not an empty one. */
	if (ck->ops->start(ck, why, sizeof(why)) < 0) {
		report(ck, 0, why);
		(void)tether_loop_timer_arm(ck->timer, cc->interval_ms, 0);
		return;
	}
	ck->in_flight = 1;
	(void)tether_loop_timer_arm(ck->timer, cc->timeout_ms, 0);
}

int
lb_health_start(struct lb_service *svc, struct tether_loop *loop)
{
	const struct lb_conf_service *conf = svc->conf;
	const struct lb_check_ops *ops;
	size_t i;
	int err;

	ops = lb_check_ops_for(conf->check.type);
	if (ops == NULL)
		return 0;
	svc->checks = tether_calloc(svc->pool.n, sizeof(*svc->checks));
	if (svc->checks == NULL)
		return -TETHER_ENOMEM;
	for (i = 0; i < svc->pool.n; i++) {
		struct lb_check *ck = &svc->checks[i];
		struct lb_backend *b = &svc->pool.backends[i];

		ck->svc = svc;
		ck->be = b;
		ck->fd = -1;
		ck->ops = ops;
		ck->addr = b->conf->addr;
		(void)tether_addr_set_port(&ck->addr,
					   (int)lb_conf_check_port(conf,
								   b->conf));
	}
	for (i = 0; i < svc->pool.n; i++) {
		err = tether_loop_timer_new(loop, check_timer,
					    &svc->checks[i],
					    &svc->checks[i].timer);
		if (err < 0) {
			lb_health_stop(svc);
			return err;
		}
		/* A passive check's timer only ends time down (a backend
		 * a reload carries over down has its first try then). */
		(void)tether_loop_timer_arm(svc->checks[i].timer,
					    ops->passive ? conf->check.interval_ms
					    : 0, 0);
	}
	return 0;
}

/*
 * nck is ock's successor after a reload (the same backend, linked by
 * transfer_state, and the same kind of check to the same address): it
 * goes on with ock's schedule instead of probing at once, which with
 * reloads more often than the timeout dropped every probe before it
 * could fail (a dead backend stayed up) and probed every backend at
 * each reload. A probe in flight moves over and times out at its start
 * plus the new timeout; else the next probe (passive: the end of the
 * time down) comes when ock's was due, moved by the change of interval,
 * so the new interval counts from the last probe. The counts came with
 * transfer_health.
 */
static void
carry_schedule(struct lb_check *nck, struct lb_check *ock,
	       const struct lb_conf_check *oc, uint64_t now)
{
	const struct lb_conf_check *nc = &nck->svc->conf->check;
	uint64_t due;

	nck->started = ock->started;
	nck->try_ms = ock->try_ms;
	if (ock->in_flight) {
		/* Failing (no memory to watch it), a probe at once. */
		if (ock->ops->move == NULL || ock->ops->move(nck, ock) < 0)
			return;
		nck->in_flight = 1;
		due = ock->started + nc->timeout_ms;
	} else {
		due = tether_loop_timer_armed(ock->timer) ?
			tether_loop_timer_expiry(ock->timer) : now;
		due = due + nc->interval_ms > oc->interval_ms ?
			due + nc->interval_ms - oc->interval_ms : 0;
	}
	(void)tether_loop_timer_arm(nck->timer, due > now ? due - now : 0, 0);
}

/* A reload carries a backend's health to the service's next generation
 * (transfer_state) before the old one's checks stop: carry the reason
 * of a down backend with it, or tetherctl would show it down with an
 * empty check="" until the new check's first probe has failed; and for
 * an unchanged backend, the check's schedule. */
static void
hand_over(struct lb_service *svc)
{
	const struct lb_service *ns = svc->next_gen;
	uint64_t now = tether_loop_now(svc->px->loop);
	size_t i, j;

	if (ns == NULL || ns->checks == NULL)
		return;
	for (i = 0; i < ns->pool.n; i++) {
		struct lb_check *nck = &ns->checks[i];
		const struct lb_backend *ob = ns->pool.backends[i].prev_gen;

		if (ob != NULL) {
			TETHER_BUG_ON(ob < svc->pool.backends ||
				      ob >= svc->pool.backends + svc->pool.n);
			j = ob->index;
			if (nck->ops == svc->checks[j].ops &&
			    (nck->ops->passive ||
			     tether_addr_compare(&nck->addr,
						 &svc->checks[j].addr) == 0))
				carry_schedule(nck, &svc->checks[j],
					       &svc->conf->check, now);
		}
		if (nck->last_error[0] != '\0')
			continue;
		for (j = 0; j < svc->pool.n; j++)
			if (strcmp(svc->pool.backends[j].name,
				   ns->pool.backends[i].name) == 0) {
				memcpy(nck->last_error,
				       svc->checks[j].last_error,
				       sizeof(nck->last_error));
				break;
			}
	}
}

void
lb_health_stop(struct lb_service *svc)
{
	size_t i;

	if (svc->checks == NULL)
		return;
	hand_over(svc);
	for (i = 0; i < svc->pool.n; i++) {
		struct lb_check *ck = &svc->checks[i];

		if (ck->ops != NULL && ck->ops->abort != NULL)
			ck->ops->abort(ck);
		tether_loop_timer_free(ck->timer);
	}
	tether_free(svc->checks);
	svc->checks = NULL;
}
