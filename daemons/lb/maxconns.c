/*
 * maxconns.c - the global max-conns in force: the configuration's, or
 * when it sets none a default that the open-file limit can hold, so
 * sessions and their buffers are bounded without a word in the file.
 */
#include "lb.h"

#include <stdio.h>
#include <sys/resource.h>

uint64_t
lb_nofile(int raised)
{
	struct rlimit rl;
	rlim_t v;

	/* Cannot fail with these arguments; 1024, the usual soft limit,
	 * should it anyway. */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	v = raised ? rl.rlim_max : rl.rlim_cur;
	return v == RLIM_INFINITY ? UINT64_MAX : (uint64_t)v;
}

/*
 * What one configuration's sockets other than its sessions take: each
 * listening port (TCP and UDP apart) twice, since a reload binds the
 * new configuration's addresses while the old listeners are still
 * open; the control socket and the metrics listener with the
 * admin_conns connections each holds, and the one more tether_ctl
 * accepts to turn away; one probe socket per backend of a service
 * with an active check (passive ones have no socket).
 */
static uint64_t
conf_fds(const struct lb_conf *conf)
{
	uint64_t n = 0;
	size_t i, j;

	for (i = 0; i < conf->nservices; i++) {
		const struct lb_conf_service *s = &conf->services[i];

		for (j = 0; j < s->nlistens; j++) {
			const struct lb_conf_listen *l = &s->listens[j];
			uint64_t ports = (uint64_t)l->port_hi - l->port_lo + 1;

			if (l->protos & LB_PROTO_TCP)
				n += 2 * ports;
			if (l->protos & LB_PROTO_UDP)
				n += 2 * ports;
		}
		if (s->check.type != LB_CHECK_NONE &&
		    s->check.type != LB_CHECK_PASSIVE)
			n += s->nbackends;
	}
	if (conf->control[0] != '\0')
		n += 2u + conf->admin_conns;
	if (conf->has_metrics)
		n += 2u + conf->admin_conns;
	return n;
}

/* Whether a session of conf may splice, and so hold pipes: a service
 * with splice on (the default) and a TCP listen; UDP flows never do. */
static int
conf_splices(const struct lb_conf *conf)
{
	size_t i, j;

	for (i = 0; i < conf->nservices; i++) {
		const struct lb_conf_service *s = &conf->services[i];

		if (!s->splice)
			continue;
		for (j = 0; j < s->nlistens; j++)
			if (s->listens[j].protos & LB_PROTO_TCP)
				return 1;
	}
	return 0;
}

/* The descriptors nofile leaves for sessions, flows and pipes once
 * LB_FD_RESERVE (the process's own) and conf_fds (conf's sockets) are
 * set aside; 0 when it does not even hold those. */
static uint64_t
fds_left(const struct lb_conf *conf, uint64_t nofile)
{
	uint64_t reserve = LB_FD_RESERVE + conf_fds(conf);

	return nofile > reserve ? nofile - reserve : 0;
}

/*
 * Pipes are an optimisation: a session that gets none (pipe_get in
 * proxy.c) copies instead. So they get a budget rather than a share of
 * every session: a quarter of the descriptors left (two a pipe), at
 * most LB_PIPE_MAX pipes; none for a configuration that never splices.
 */
unsigned
lb_pipe_budget(const struct lb_conf *conf, uint64_t nofile)
{
	uint64_t p;

	if (!conf_splices(conf))
		return 0;
	p = fds_left(conf, nofile) / 8;
	return p > LB_PIPE_MAX ? LB_PIPE_MAX : (unsigned)p;
}

/*
 * The formula. What fds_left leaves, less two descriptors for each pipe
 * that may be open (conf's budget, or the pipes open now when more: a
 * reload to splice off leaves the pool's pipes and those of sessions
 * still finishing), is shared by sessions of two sockets each: half of
 * it, at least 1, at most LB_MAX_CONNS. UDP flows count against
 * max-conns too and hold one socket each, less than a session, so they
 * need no share of their own. A connection past the limit is accepted
 * before it is turned away: that one descriptor is in LB_FD_RESERVE.
 */
unsigned
lb_max_conns_default(const struct lb_conf *conf, uint64_t nofile,
		     unsigned pipes_open)
{
	uint64_t left = fds_left(conf, nofile), pipes, n;

	pipes = lb_pipe_budget(conf, nofile);
	if (pipes < pipes_open)
		pipes = pipes_open;
	n = left > 2 * pipes ? (left - 2 * pipes) / 2 : 0;
	if (n < 1)
		n = 1;
	return n > LB_MAX_CONNS ? LB_MAX_CONNS : (unsigned)n;
}

unsigned
lb_max_conns(const struct lb_conf *conf, uint64_t nofile,
	     unsigned pipes_open)
{
	return conf->max_conns != 0 ? conf->max_conns :
	       lb_max_conns_default(conf, nofile, pipes_open);
}

/*
 * An explicit max-conns above what the limit holds is a warning, not
 * an error: the limit belongs to the host (LimitNOFILE=, ulimit) and
 * may differ between hosts sharing one file or change under a running
 * configuration, and the limit is only reached if that many clients
 * come, where tether-lb then pauses accepting as it always did
 * (HAProxy, too, only warns unless told strict-limits).
 */
uint64_t
lb_nofile_less_held(uint64_t nofile, unsigned held)
{
	uint64_t fds = 2u * (uint64_t)held;

	if (nofile == UINT64_MAX)
		return nofile;
	return nofile > fds ? nofile - fds : 0;
}

void
lb_max_conns_log(const struct lb_conf *conf, uint64_t nofile,
		 unsigned pipes_open, unsigned held, int check_only)
{
	unsigned fit = lb_max_conns_default(conf,
					    lb_nofile_less_held(nofile, held),
					    pipes_open);
	char lim[32], more[96] = "";

	if (nofile == UINT64_MAX)
		snprintf(lim, sizeof(lim), "unlimited");
	else
		snprintf(lim, sizeof(lim), "%llu", (unsigned long long)nofile);
	if (conf->max_conns != 0 && conf->max_conns > fit)
		tether_log_warnx("max-conns %u: the open-file limit %s holds "
				 "some %u connections; past them accepting "
				 "pauses while descriptors run out",
				 conf->max_conns, lim, fit);
	if (check_only)
		return;
	if (conf->max_conns != 0)
		tether_log_info("max-conns %u (set in the configuration)",
				conf->max_conns);
	else {
		if (held > 0)
			snprintf(more, sizeof(more), ", less 2 for each of %u "
				 "listener(s) a reload kept", held);
		tether_log_info("max-conns %u (from the open-file limit %s%s)",
				fit, lim, more);
	}
}
