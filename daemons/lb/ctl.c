/*
 * ctl.c - tether-lb's control socket (relayd's control.c in small): an
 * AF_UNIX stream socket where tetherctl sends one command line and
 * reads a text answer until the server closes. Commands show services,
 * backends and persistence entries, and drain, enable or disable a
 * backend while traffic flows.
 */
#include "lb.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static struct lb_service *
find_service(struct lb_proxy *px, const char *name)
{
	size_t i;

	for (i = 0; i < px->nservices; i++)
		if (strcmp(px->services[i].conf->name, name) == 0)
			return &px->services[i];
	return NULL;
}

/* "SERVICE/BACKEND" -> the backend, or NULL with an error in out. */
static struct lb_backend *
find_backend(struct lb_proxy *px, const char *arg, struct lb_service **svcp,
	     struct tether_buf *out)
{
	char name[LB_NAME_MAX * 2];
	const char *slash = strchr(arg, '/');
	struct lb_service *svc;
	size_t i;

	if (slash == NULL || (size_t)(slash - arg) >= sizeof(name)) {
		(void)tether_buf_printf(out, "error: expected SERVICE/BACKEND, "
					"not '%s'\n", arg);
		return NULL;
	}
	memcpy(name, arg, (size_t)(slash - arg));
	name[slash - arg] = '\0';
	svc = find_service(px, name);
	if (svc == NULL) {
		(void)tether_buf_printf(out, "error: no service '%s'\n", name);
		return NULL;
	}
	for (i = 0; i < svc->pool.n; i++)
		if (strcmp(svc->pool.backends[i].name, slash + 1) == 0) {
			*svcp = svc;
			return &svc->pool.backends[i];
		}
	(void)tether_buf_printf(out, "error: no backend '%s' in service "
				"'%s'\n", slash + 1, name);
	return NULL;
}

/* A service's line is at most some 230 bytes: LB_MAX_SERVICES of them
 * stay under 64 KiB, far below LB_CTL_MAX_OUT, so unlike show backends
 * and show persist this answer is never cut. */
static int
show_services(struct lb_proxy *px, struct tether_buf *out)
{
	size_t i;
	int err;

	for (i = 0; i < px->nservices; i++) {
		const struct lb_service *s = &px->services[i];

		err = tether_buf_printf(out, "service %s balance=%s conns=%u "
					"total=%llu refused=%llu persist=%zu",
					s->conf->name,
					lb_balance_name(s->conf->balance),
					s->conns,
					(unsigned long long)s->total_conns,
					(unsigned long long)s->refused,
					s->has_persist ? s->persist.count : 0);
		/* Maglev: lookup tables built by this configuration. */
		if (err >= 0 && s->pool.ops == &lb_ops_maglev)
			err = tether_buf_printf(out, " table-builds=%llu",
				(unsigned long long)lb_pool_table_builds(&s->pool));
		if (err >= 0)
			err = tether_buf_printf(out, "\n");
		if (err < 0)
			return err;
	}
	return 0;
}

static int
show_backends(struct lb_proxy *px, const struct lb_service *only,
	      struct tether_buf *out)
{
	size_t i, j, total = 0, shown = 0;
	int err;

	for (i = 0; i < px->nservices; i++)
		if (only == NULL || &px->services[i] == only)
			total += px->services[i].pool.n;
	for (i = 0; i < px->nservices; i++) {
		const struct lb_service *s = &px->services[i];

		if (only != NULL && s != only)
			continue;
		for (j = 0; j < s->pool.n; j++, shown++) {
			const struct lb_backend *b = &s->pool.backends[j];
			const char *check = "none";

			/* LB_MAX_SERVICES services of LB_MAX_BACKENDS pass
			 * the answer's cap (some 80,000 lines of long names
			 * fit; it was "error: answer too long" and nothing
			 * else): those that fit, then how many more there
			 * are, as show persist does. A line is at most
			 * some 370 bytes and the cut line 45: both fit in
			 * LB_CTL_LINE_ROOM. */
			if (out->len + LB_CTL_LINE_ROOM > LB_CTL_MAX_OUT)
				return tether_buf_printf(out, "truncated: %zu "
							 "more entries\n",
							 total - shown);
			if (s->checks != NULL)
				check = b->health_down ?
					s->checks[j].last_error : "ok";
			err = tether_buf_printf(out, "backend %s/%s state=%s "
				"admin=%s weight=%u conns=%u total=%llu "
				"fails=%llu in=%llu out=%llu check=\"%s\"\n",
				s->conf->name, b->name,
				lb_backend_state_name(b->state),
				lb_admin_name(b->admin), b->weight, b->conns,
				(unsigned long long)b->total_conns,
				(unsigned long long)b->connect_failures,
				(unsigned long long)b->bytes_in,
				(unsigned long long)b->bytes_out, check);
			if (err < 0)
				return err;
		}
	}
	return 0;
}

/* One entry's line. */
static int
persist_line(const struct lb_service *s, const struct lb_pentry *e,
	     uint64_t now, struct tether_buf *out)
{
	char abuf[INET6_ADDRSTRLEN];
	unsigned bits = e->key.family == AF_INET ? s->persist.mask4 :
		s->persist.mask6;

	if (inet_ntop(e->key.family == AF_INET ? AF_INET : AF_INET6,
		      e->key.addr, abuf, sizeof(abuf)) == NULL)
		snprintf(abuf, sizeof(abuf), "?");
	return tether_buf_printf(out, "persist %s %s/%u backend=%s "
				 "idle=%llums conns=%u\n",
				 s->conf->name, abuf, bits,
				 s->pool.backends[e->backend].name,
				 (unsigned long long)(now - e->last_used),
				 s->persist.active != NULL ?
				 lb_climit_conns(s->persist.active, &e->key) :
				 0);
}

/* Every entry of s, or with client the one that client falls in
 * (nothing when it has none). */
static int
show_persist(struct lb_proxy *px, const struct lb_service *s,
	     const char *client, struct tether_buf *out)
{
	uint64_t now = tether_loop_now(px->loop);
	const struct lb_pentry *e;
	size_t shown = 0;
	int err;

	if (!s->has_persist)
		return tether_buf_printf(out, "error: service '%s' has no "
					 "persistence\n", s->conf->name);
	if (client != NULL) {
		char abuf[LB_CTL_MAX_LINE + 1];
		struct tether_addr a;
		struct lb_pkey k;
		char *z;

		/* A zone is ignored, as the port is: the parser would look
		 * its interface up, and fail for one this host lacks. */
		snprintf(abuf, sizeof(abuf), "%s", client);
		if ((z = strchr(abuf, '%')) != NULL) {
			char *end = z + strcspn(z, "]");

			memmove(z, end, strlen(end) + 1);
		}
		if (tether_addr_parse(&a, abuf, 0) < 0 ||
		    lb_persist_key(&s->persist, &a, &k) < 0)
			return tether_buf_printf(out, "error: not an IP "
						 "address: '%s'\n", client);
		e = lb_persist_peek(&s->persist, &k);
		return e != NULL ? persist_line(s, e, now, out) : 0;
	}
	for (e = s->persist.lru_head; e != NULL; e = e->lru_next, shown++) {
		/* A table of millions does not fit the answer: the most
		 * recent that do, and how many more there are. */
		if (out->len + LB_CTL_LINE_ROOM > LB_CTL_MAX_OUT)
			return tether_buf_printf(out, "truncated: %zu more "
						 "entries\n",
						 s->persist.count - shown);
		err = persist_line(s, e, now, out);
		if (err < 0)
			return err;
	}
	return 0;
}

/* Split line into at most max words (in place); returns the count. */
static int
split(char *line, char **w, int max)
{
	int n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			*p++ = '\0';
		if (*p == '\0' || n == max)
			return *p == '\0' ? n : max + 1;
		w[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r' &&
		       *p != '\n')
			p++;
	}
}

int
lb_ctl_exec(struct lb_proxy *px, const char *line, struct tether_buf *out)
{
	char buf[LB_CTL_MAX_LINE + 1];
	char *w[4];
	int n;

	snprintf(buf, sizeof(buf), "%s", line);
	n = split(buf, w, 4);
	if (n == 0)
		return tether_buf_printf(out, "error: empty command\n");
	if (n > 4 || (n == 4 && (strcmp(w[0], "show") != 0 ||
				 strcmp(w[1], "persist") != 0)))
		return tether_buf_printf(out, "error: too many words\n");
	if (strcmp(w[0], "show") == 0 && n >= 2) {
		struct lb_service *s = NULL;

		if (n >= 3 && (s = find_service(px, w[2])) == NULL)
			return tether_buf_printf(out, "error: no service "
						 "'%s'\n", w[2]);
		if (strcmp(w[1], "services") == 0 && n == 2)
			return show_services(px, out);
		if (strcmp(w[1], "backends") == 0)
			return show_backends(px, s, out);
		if (strcmp(w[1], "persist") == 0 && n >= 3)
			return show_persist(px, s, n == 4 ? w[3] : NULL, out);
		return tether_buf_printf(out, "error: show services | show "
					 "backends [SERVICE] | show persist "
					 "SERVICE [CLIENT]\n");
	}
	if (strcmp(w[0], "drain") == 0 && n != 2 && n != 3)
		return tether_buf_printf(out, "error: drain SERVICE/BACKEND "
					 "[DURATION]\n");
	if ((strcmp(w[0], "enable") == 0 || strcmp(w[0], "disable") == 0) &&
	    n != 2)
		return tether_buf_printf(out, "error: %s SERVICE/BACKEND\n",
					 w[0]);
	if (strcmp(w[0], "drain") == 0 || strcmp(w[0], "enable") == 0 ||
	    strcmp(w[0], "disable") == 0) {
		struct lb_service *svc = NULL;
		struct lb_backend *b = find_backend(px, w[1], &svc, out);
		uint64_t now = tether_loop_now(px->loop), ms = 0;
		enum lb_admin a = LB_ADMIN_ENABLED;

		if (b == NULL)	/* its error line, unless that failed */
			return out->len > 0 ? 0 : -TETHER_ENOMEM;
		if (w[0][0] == 'd' && w[0][1] == 'r') {
			a = LB_ADMIN_DRAINING;
			ms = svc->conf->limits.drain_timeout_ms;
			if (n == 3 && lb_parse_duration(w[2], &ms) < 0)
				return tether_buf_printf(out, "error: bad "
							 "duration '%s'\n",
							 w[2]);
		} else if (w[0][0] == 'd') {
			a = LB_ADMIN_DISABLED;
		}
		/* The state is set either way; only a Maglev table can fail
		 * to build: the old one goes on (skipping unusable backends;
		 * an enabled one gets no new clients yet) and a pick 100 ms
		 * later builds it again. */
		if (lb_backend_admin(&svc->pool, b, a, now, ms) < 0)
			tether_log_warnx("control: backend %s/%s: the "
					 "schedule's table could not be "
					 "rebuilt (out of memory); tried "
					 "again in 100 ms", svc->conf->name,
					 b->name);
		tether_log_info("control: backend %s/%s %s (state %s)",
				svc->conf->name, b->name, lb_admin_name(a),
				lb_backend_state_name(b->state));
		return tether_buf_printf(out, "ok\n");
	}
	return tether_buf_printf(out, "error: unknown command '%s' (show, "
				 "drain, enable, disable)\n", w[0]);
}

/* The control protocol: one command line, one answer. */
static int
ctl_answer(void *ud, char *req, size_t len, struct tether_buf *out)
{
	struct lb_proxy *px = ud;

	(void)len;
	/* Room for "ok" or an error line before anything changes, so a
	 * change is never answered as a failure. An empty answer (show
	 * persist of an empty table) is one: the connection closes with
	 * nothing written. */
	if (tether_buf_reserve(out, 256) < 0 ||
	    lb_ctl_exec(px, req, out) < 0) {
		tether_buf_reset(out);
		(void)tether_buf_append_str(out, "error: answer too long\n");
	}
	return 0;
}

int
lb_ctl_open(struct lb_proxy *px, const char *path, char *errbuf,
	    size_t errlen)
{
	struct tether_ctl_opts o = {
		.answer = ctl_answer,
		.ud = px,
		.max_request = LB_CTL_MAX_LINE,
		.max_answer = LB_CTL_MAX_OUT,
		.timeout_ms = px->conf->admin_timeout_ms,
		.max_conns = px->conf->admin_conns,
		.mode = 0660,
		.too_long = "error: command too long\n",
		.busy = "error: too many control connections\n",
	};
	struct tether_addr a;
	char msg[256];
	int err;

	err = tether_addr_parse(&a, path, -1);
	if (err < 0 || a.ss.ss_family != AF_UNIX) {
		snprintf(errbuf, errlen, "control %s: not an absolute path",
			 path);
		return -TETHER_EINVAL;
	}
	err = tether_ctl_open(&px->ctl, px->loop, &a, &o, msg, sizeof(msg));
	if (err < 0)
		snprintf(errbuf, errlen, "control %s", msg);
	return err;
}

void
lb_admin_move(struct tether_ctl **to, struct tether_ctl **from,
	      struct lb_proxy *px)
{
	*to = *from;
	*from = NULL;
	tether_ctl_set_ud(*to, px);
	tether_ctl_set_limits(*to, px->conf->admin_timeout_ms,
			      px->conf->admin_conns);
}

int
lb_ctl_same(const struct lb_proxy *px, const struct lb_conf *b)
{
	/* A socket file removed (a tmpfiles cleanup, an operator's rm) or
	 * replaced is bound again: kept, tetherctl could never reach it. */
	return px->conf->control[0] != '\0' &&
	       strcmp(px->conf->control, b->control) == 0 &&
	       (px->ctl == NULL || tether_ctl_path_ours(px->ctl));
}

int
lb_ctl_take(struct lb_proxy *px, struct lb_proxy *from)
{
	if (from == NULL || from->ctl == NULL || px->ctl != NULL ||
	    !lb_ctl_same(from, px->conf))
		return 0;
	lb_admin_move(&px->ctl, &from->ctl, px);
	return 1;
}

void
lb_ctl_close(struct lb_proxy *px)
{
	tether_ctl_close(px->ctl);
	px->ctl = NULL;
}
