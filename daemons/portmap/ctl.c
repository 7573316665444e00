/*
 * ctl.c - tether-portmap's control socket, for tetherctl: one command
 * line in, text out, on lib/core's one-shot control endpoint. It shows
 * the registrations (with the registering pid when the local socket
 * told us), calls per procedure and version, rejected calls by reason,
 * and the forwarding and pruning counters. Read-only: nothing here changes
 * state.
 */
#include "pm.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Procedure names per version (v2, v3, v4), as RFC 1833 spells them. */
static const char *const proc_names[TETHER_RPCB_STAT_VERS]
				   [TETHER_RPCB_STAT_HIGHPROC] = {
	{ "null", "set", "unset", "getport", "dump", "callit" },
	{ "null", "set", "unset", "getaddr", "dump", "callit", "gettime",
	  "uaddr2taddr", "taddr2uaddr" },
	{ "null", "set", "unset", "getaddr", "dump", "bcast", "gettime",
	  "uaddr2taddr", "taddr2uaddr", "getversaddr", "indirect",
	  "getaddrlist", "getstat" },
};

static int
show_registrations(struct pm_ctx *ctx, struct tether_buf *out)
{
	size_t i;
	int err;

	for (i = 0; i < ctx->reg.n; i++) {
		const struct reg_entry *e = &ctx->reg.v[i];
		char pid[16] = "-";

		if (e->pid > 0)
			snprintf(pid, sizeof(pid), "%ld", (long)e->pid);
		err = tether_buf_printf(out, "registration prog=%u vers=%u "
					"netid=%s addr=%s owner=%s pid=%s%s\n",
					e->prog, e->vers, e->netid, e->uaddr,
					e->owner, pid,
					e->builtin ? " builtin" : "");
		if (err < 0)
			return err;
	}
	return 0;
}

static int
show_calls(struct pm_ctx *ctx, struct tether_buf *out)
{
	unsigned v, p;
	int err;

	for (v = 0; v < TETHER_RPCB_STAT_VERS; v++)
		for (p = 0; p < TETHER_RPCB_STAT_HIGHPROC; p++) {
			if (proc_names[v][p] == NULL)
				break;
			err = tether_buf_printf(out, "calls vers=%u proc=%s "
						"count=%ld\n", v + 2,
						proc_names[v][p],
						(long)ctx->stat[v].info[p]);
			if (err < 0)
				return err;
		}
	return 0;
}

static int
show_rejected(struct pm_ctx *ctx, struct tether_buf *out)
{
	int r, err;

	for (r = 0; r < PM_REJ_MAX; r++) {
		err = tether_buf_printf(out, "rejected reason=%s count=%llu\n",
					pm_reject_name(r),
					(unsigned long long)ctx->rejected[r]);
		if (err < 0)
			return err;
	}
	return 0;
}

static int
show_forwarding(struct pm_ctx *ctx, struct tether_buf *out)
{
	const struct pm_fwd_stats *f = &ctx->fwd;

	return tether_buf_printf(out, "forwarding state=%s forwarded=%llu "
		"replied=%llu timeouts=%llu no-service=%llu "
		"refused-off=%llu refused-remote=%llu refused-rate=%llu "
		"refused-full=%llu outstanding=%llu\n",
		ctx->cfg.forward ? "on" : "off",
		(unsigned long long)f->forwarded,
		(unsigned long long)f->replied,
		(unsigned long long)f->timeouts,
		(unsigned long long)f->no_service,
		(unsigned long long)f->refused_off,
		(unsigned long long)f->refused_remote,
		(unsigned long long)f->refused_rate,
		(unsigned long long)f->refused_full,
		(unsigned long long)f->outstanding);
}

static int
show_prune(struct pm_ctx *ctx, struct tether_buf *out)
{
	return tether_buf_printf(out, "prune interval=%llums exited=%llu "
				 "closed=%llu\n",
				 (unsigned long long)ctx->cfg.prune_interval_ms,
				 (unsigned long long)ctx->pruned_exited,
				 (unsigned long long)ctx->pruned_closed);
}

int
pm_ctl_exec(struct pm_ctx *ctx, const char *line, struct tether_buf *out)
{
	char w1[32], w2[32], extra[2];
	int n, err;

	n = sscanf(line, "%31s %31s %1s", w1, w2, extra);
	if (n == 2 && strcmp(w1, "show") == 0) {
		if (strcmp(w2, "registrations") == 0)
			return show_registrations(ctx, out);
		if (strcmp(w2, "calls") == 0)
			return show_calls(ctx, out);
		if (strcmp(w2, "rejected") == 0)
			return show_rejected(ctx, out);
		if (strcmp(w2, "forwarding") == 0)
			return show_forwarding(ctx, out);
		if (strcmp(w2, "prune") == 0)
			return show_prune(ctx, out);
		if (strcmp(w2, "all") == 0) {
			if ((err = show_registrations(ctx, out)) < 0 ||
			    (err = show_calls(ctx, out)) < 0 ||
			    (err = show_rejected(ctx, out)) < 0 ||
			    (err = show_forwarding(ctx, out)) < 0)
				return err;
			return show_prune(ctx, out);
		}
	}
	if (n <= 0)
		return tether_buf_printf(out, "error: empty command\n");
	return tether_buf_printf(out, "error: show registrations | show calls"
				 " | show rejected | show forwarding | show "
				 "prune | show all\n");
}

static int
ctl_answer(void *ud, char *req, size_t len, struct tether_buf *out)
{
	(void)len;
	if (pm_ctl_exec(ud, req, out) < 0) {
		tether_buf_reset(out);
		(void)tether_buf_append_str(out, "error: answer too long\n");
	}
	return 0;
}

int
pm_ctl_open(struct tether_ctl **out, struct pm_ctx *ctx,
	    struct tether_loop *loop, char *errbuf, size_t errlen)
{
	const struct pm_config *cfg = &ctx->cfg;
	struct tether_ctl_opts o = {
		.answer = ctl_answer,
		.ud = ctx,
		.max_request = 256,
		.timeout_ms = cfg->admin_timeout_ms,
		.max_conns = cfg->admin_conns,
		.mode = 0660,
		.too_long = "error: command too long\n",
		.busy = "error: too many control connections\n",
	};
	struct tether_addr a;
	char msg[256];
	int rc;

	*out = NULL;
	if (cfg->ctl_path == NULL || cfg->ctl_path[0] == '\0')
		return 0;
	rc = tether_addr_parse(&a, cfg->ctl_path, -1);
	if (rc < 0 || a.ss.ss_family != AF_UNIX) {
		snprintf(errbuf, errlen, "control %s: not an absolute path",
			 cfg->ctl_path);
		return -TETHER_EINVAL;
	}
	rc = tether_ctl_open(out, loop, &a, &o, msg, sizeof(msg));
	if (rc < 0)
		snprintf(errbuf, errlen, "control %s", msg);
	return rc;
}

void
pm_ctl_close(struct tether_ctl *ctl)
{
	tether_ctl_close(ctl);
}
