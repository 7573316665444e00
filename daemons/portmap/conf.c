/*
 * conf.c - tether-portmap's configuration file: flat statements read
 * with lib/core's tokenizer (listen, port, socket, state, user, limits,
 * forwarding, pruning, control, admin, log-level), every error reported
 * as file:line:col with its caret. pm_conf_write spells a configuration
 * out again, so the fuzz target can check that a parsed file is a fixed
 * point of write-then-parse. pm_conf_diff names the settings two
 * configurations differ in, for the reload on SIGHUP (main.c).
 */
#include "pm.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define ARGS_MAX 6

struct parser {
	struct tether_conf *c;
	struct pm_conf *conf;
	uint32_t seen;		/* one bit per directive: no repeats */
};

struct directive;
typedef int set_fn(struct parser *p, const struct directive *d,
		   const struct tether_conf_token *const *args, int n);

struct directive {
	const char *name;
	int min_args, max_args;
	set_fn *set;
	int multi;		/* may appear more than once */
};

static void
config_defaults(struct pm_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->sock, sizeof(c->sock), "%s", PM_DEFAULT_SOCK);
	snprintf(c->state, sizeof(c->state), "%s", PM_DEFAULT_STATE);
	c->cfg.port = (int)TETHER_PMAP_PORT;
	c->cfg.max_total = REG_DEFAULT_MAX_TOTAL;
	c->cfg.max_per_owner = REG_DEFAULT_MAX_PER_OWNER;
	c->cfg.admin_timeout_ms = TETHER_CTL_DEFAULT_TIMEOUT_MS;
	c->cfg.admin_conns = TETHER_CTL_DEFAULT_CONNS;
	c->cfg.forward_rate = PM_FWD_DEFAULT_RATE;
	c->cfg.forward_burst = PM_FWD_DEFAULT_BURST;
	c->cfg.forward_max = PM_FWD_DEFAULT_MAX;
	c->cfg.forward_timeout_ms = PM_FWD_DEFAULT_TIMEOUT_MS;
	c->cfg.log_level = -1;
}

void
pm_conf_relink(struct pm_conf *c)
{
	int i;

	c->cfg.sock_path = c->sock;
	c->cfg.state_path = c->state;
	c->cfg.user = c->user[0] != '\0' ? c->user : NULL;
	c->cfg.ctl_path = c->ctl;
	for (i = 0; i < c->cfg.nlisten; i++)
		c->cfg.listen[i] = c->listen[i];
}

void
pm_conf_init(struct pm_conf *c)
{
	config_defaults(c);
	pm_conf_relink(c);
}

/* ---- values ---- */

static int
parse_uint(const char *s, unsigned long min, unsigned long max,
	   unsigned long *out)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -TETHER_ESYNTAX;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -TETHER_ESYNTAX;
		if (v > (max - (unsigned long)(*s - '0')) / 10)
			return -TETHER_ERANGE;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v < min)
		return -TETHER_ERANGE;
	*out = v;
	return 0;
}

int
pm_parse_duration(const char *s, uint64_t *ms)
{
	uint64_t v = 0, mult;
	const char *q = s;

	if (*s < '0' || *s > '9')
		return -TETHER_ESYNTAX;
	for (; *q >= '0' && *q <= '9'; q++) {
		v = v * 10 + (uint64_t)(*q - '0');
		if (v > PM_MAX_DURATION_MS)
			return -TETHER_ERANGE;
	}
	if (strcmp(q, "ms") == 0)
		mult = 1;
	else if (*q == '\0' || strcmp(q, "s") == 0)
		mult = 1000;
	else if (strcmp(q, "m") == 0)
		mult = 60000;
	else if (strcmp(q, "h") == 0)
		mult = 3600000;
	else
		return -TETHER_ESYNTAX;
	if (v > PM_MAX_DURATION_MS / mult)
		return -TETHER_ERANGE;
	*ms = v * mult;
	return 0;
}

static int
uint_arg(struct parser *p, const struct tether_conf_token *t,
	 const char *what, unsigned long min, unsigned long max,
	 unsigned long *out)
{
	if (parse_uint(t->text, min, max, out) < 0)
		return tether_conf_error(p->c, t, "%s is %lu..%lu, not '%s'",
					 what, min, max, t->text);
	return 0;
}

static int
duration_arg(struct parser *p, const struct tether_conf_token *t,
	     const char *what, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t ms;

	if (pm_parse_duration(t->text, &ms) < 0 || ms < min || ms > max)
		return tether_conf_error(p->c, t, "%s is a duration of "
					 "%llums..%llus (such as 500ms, 2s, "
					 "5m), not '%s'", what,
					 (unsigned long long)min,
					 (unsigned long long)(max / 1000),
					 t->text);
	*out = ms;
	return 0;
}

/* A path, or "none" (or "") for nothing; no control characters. */
static int
path_arg(struct parser *p, const struct tether_conf_token *t,
	 const char *what, char *dst, size_t size, int must_be_absolute)
{
	const unsigned char *q;

	if (strcmp(t->text, "none") == 0 || t->len == 0) {
		dst[0] = '\0';
		return 0;
	}
	if (t->len >= size)
		return tether_conf_error(p->c, t, "%s is at most %zu bytes",
					 what, size - 1);
	for (q = (const unsigned char *)t->text; *q != '\0'; q++)
		if (*q < 0x20 || *q == 0x7f)
			return tether_conf_error(p->c, t, "%s must not contain "
						 "control characters", what);
	if (must_be_absolute && t->text[0] != '/')
		return tether_conf_error(p->c, t, "%s must be an absolute "
					 "path (or none), not '%s'", what,
					 t->text);
	memcpy(dst, t->text, t->len + 1);
	return 0;
}

static int
on_off(struct parser *p, const struct tether_conf_token *t, const char *what,
       int *out)
{
	if (strcmp(t->text, "on") == 0)
		*out = 1;
	else if (strcmp(t->text, "off") == 0)
		*out = 0;
	else
		return tether_conf_error(p->c, t, "%s is on or off, not '%s'",
					 what, t->text);
	return 0;
}

/* ---- directives ---- */

static int
set_listen(struct parser *p, const struct directive *d,
	   const struct tether_conf_token *const *args, int n)
{
	struct pm_conf *c = p->conf;
	struct tether_addr a;
	int i;

	(void)d;
	for (i = 0; i < n; i++) {
		const struct tether_conf_token *t = args[i];

		if (tether_addr_parse(&a, t->text, 111) < 0 ||
		    (a.ss.ss_family != AF_INET && a.ss.ss_family != AF_INET6) ||
		    t->len >= sizeof(c->listen[0]) ||
		    tether_addr_port(&a) != 111 || strstr(t->text, "]:") ||
		    (a.ss.ss_family == AF_INET && strchr(t->text, ':')))
			return tether_conf_error(p->c, t, "listen expects IPv4 "
						 "or IPv6 addresses without a "
						 "port (see 'port'), not '%s'",
						 t->text);
		if (c->cfg.nlisten == PM_MAX_LISTEN)
			return tether_conf_error(p->c, t, "more than %d listen "
						 "addresses", PM_MAX_LISTEN);
		memcpy(c->listen[c->cfg.nlisten++], t->text, t->len + 1);
	}
	return 0;
}

static int
set_port(struct parser *p, const struct directive *d,
	 const struct tether_conf_token *const *args, int n)
{
	unsigned long v;

	(void)d;
	(void)n;
	if (uint_arg(p, args[0], "port", 1, 65535, &v) < 0)
		return -TETHER_ESYNTAX;
	p->conf->cfg.port = (int)v;
	return 0;
}

static int
set_socket(struct parser *p, const struct directive *d,
	   const struct tether_conf_token *const *args, int n)
{
	(void)d;
	(void)n;
	return path_arg(p, args[0], "socket", p->conf->sock,
			sizeof(p->conf->sock), 1);
}

static int
set_state(struct parser *p, const struct directive *d,
	  const struct tether_conf_token *const *args, int n)
{
	(void)d;
	(void)n;
	return path_arg(p, args[0], "state", p->conf->state,
			sizeof(p->conf->state), 1);
}

static int
set_control(struct parser *p, const struct directive *d,
	    const struct tether_conf_token *const *args, int n)
{
	(void)d;
	(void)n;
	return path_arg(p, args[0], "control", p->conf->ctl,
			sizeof(p->conf->ctl), 1);
}

static int
set_user(struct parser *p, const struct directive *d,
	 const struct tether_conf_token *const *args, int n)
{
	const char *q;

	(void)d;
	(void)n;
	for (q = args[0]->text; *q != '\0'; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		      (*q >= '0' && *q <= '9') || *q == '_' || *q == '-' ||
		      *q == '.'))
			break;
	if (args[0]->len == 0 || *q != '\0' ||
	    args[0]->len >= sizeof(p->conf->user))
		return tether_conf_error(p->c, args[0], "user expects a user "
					 "name (letters, digits, _ - .; at "
					 "most %zu bytes), not '%s'",
					 sizeof(p->conf->user) - 1,
					 args[0]->text);
	memcpy(p->conf->user, args[0]->text, args[0]->len + 1);
	return 0;
}

static int
set_max_regs(struct parser *p, const struct directive *d,
	     const struct tether_conf_token *const *args, int n)
{
	unsigned long v;
	int i;

	(void)d;
	if (n % 2 != 0)
		return tether_conf_error(p->c, args[n - 1], "max-registrations "
					 "expects [total N] [per-owner N]");
	for (i = 0; i < n; i += 2) {
		if (strcmp(args[i]->text, "total") == 0) {
			if (uint_arg(p, args[i + 1], "max-registrations total",
				     1, PM_CONF_MAX_REGS, &v) < 0)
				return -TETHER_ESYNTAX;
			p->conf->cfg.max_total = v;
		} else if (strcmp(args[i]->text, "per-owner") == 0) {
			if (uint_arg(p, args[i + 1],
				     "max-registrations per-owner", 1,
				     PM_CONF_MAX_REGS, &v) < 0)
				return -TETHER_ESYNTAX;
			p->conf->cfg.max_per_owner = v;
		} else {
			return tether_conf_error(p->c, args[i],
						 "max-registrations expects "
						 "total or per-owner, not '%s'",
						 args[i]->text);
		}
	}
	return 0;
}

static int
set_forward(struct parser *p, const struct directive *d,
	    const struct tether_conf_token *const *args, int n)
{
	struct pm_config *cfg = &p->conf->cfg;
	unsigned long v;
	int i;

	(void)d;
	if (on_off(p, args[0], "forward", &cfg->forward) < 0)
		return -TETHER_ESYNTAX;
	if (n % 2 != 1)
		return tether_conf_error(p->c, args[n - 1], "forward expects "
					 "on|off [rate N] [burst N] [max N] "
					 "[timeout DURATION]");
	for (i = 1; i < n; i += 2) {
		const char *k = args[i]->text;
		const struct tether_conf_token *t = args[i + 1];

		if (strcmp(k, "rate") == 0) {
			if (uint_arg(p, t, "forward rate", 1, 100000, &v) < 0)
				return -TETHER_ESYNTAX;
			cfg->forward_rate = (unsigned)v;
		} else if (strcmp(k, "burst") == 0) {
			if (uint_arg(p, t, "forward burst", 1, 100000, &v) < 0)
				return -TETHER_ESYNTAX;
			cfg->forward_burst = (unsigned)v;
		} else if (strcmp(k, "max") == 0) {
			if (uint_arg(p, t, "forward max", 1, PM_FWD_MAX_MAX,
				     &v) < 0)
				return -TETHER_ESYNTAX;
			cfg->forward_max = (unsigned)v;
		} else if (strcmp(k, "timeout") == 0) {
			if (duration_arg(p, t, "forward timeout", 10, 60000,
					 &cfg->forward_timeout_ms) < 0)
				return -TETHER_ESYNTAX;
		} else {
			return tether_conf_error(p->c, args[i], "forward "
						 "expects rate, burst, max or "
						 "timeout, not '%s'", k);
		}
	}
	return 0;
}

static int
set_prune(struct parser *p, const struct directive *d,
	  const struct tether_conf_token *const *args, int n)
{
	(void)d;
	(void)n;
	if (strcmp(args[0]->text, "off") == 0) {
		p->conf->cfg.prune_interval_ms = 0;
		return 0;
	}
	return duration_arg(p, args[0], "prune", 100, 86400000,
			    &p->conf->cfg.prune_interval_ms);
}

static int
set_admin(struct parser *p, const struct directive *d,
	  const struct tether_conf_token *const *args, int n)
{
	struct pm_config *cfg = &p->conf->cfg;
	unsigned long v;
	int i;

	(void)d;
	if (n % 2 != 0)
		return tether_conf_error(p->c, args[n - 1], "admin expects "
					 "[timeout DURATION] [conns N]");
	for (i = 0; i < n; i += 2) {
		if (strcmp(args[i]->text, "timeout") == 0) {
			if (duration_arg(p, args[i + 1], "admin timeout", 100,
					 3600000, &cfg->admin_timeout_ms) < 0)
				return -TETHER_ESYNTAX;
		} else if (strcmp(args[i]->text, "conns") == 0) {
			if (uint_arg(p, args[i + 1], "admin conns", 1, 1024,
				     &v) < 0)
				return -TETHER_ESYNTAX;
			cfg->admin_conns = (unsigned)v;
		} else {
			return tether_conf_error(p->c, args[i], "admin expects "
						 "timeout or conns, not '%s'",
						 args[i]->text);
		}
	}
	return 0;
}

static int
set_log_level(struct parser *p, const struct directive *d,
	      const struct tether_conf_token *const *args, int n)
{
	int l;

	(void)d;
	(void)n;
	for (l = TETHER_LOG_WARN; l <= TETHER_LOG_DEBUG; l++)
		if (strcmp(args[0]->text, tether_log_level_name(l)) == 0) {
			p->conf->cfg.log_level = l;
			return 0;
		}
	return tether_conf_error(p->c, args[0], "log-level is warn, info or "
				 "debug, not '%s'", args[0]->text);
}

static const struct directive directives[] = {
	{ "listen", 1, ARGS_MAX, set_listen, 1 },
	{ "port", 1, 1, set_port, 0 },
	{ "socket", 1, 1, set_socket, 0 },
	{ "state", 1, 1, set_state, 0 },
	{ "user", 1, 1, set_user, 0 },
	{ "control", 1, 1, set_control, 0 },
	{ "admin", 2, 4, set_admin, 0 },
	{ "max-registrations", 2, 4, set_max_regs, 0 },
	{ "forward", 1, 9, set_forward, 0 },
	{ "prune", 1, 1, set_prune, 0 },
	{ "log-level", 1, 1, set_log_level, 0 },
};

/* Skip the rest of a statement (a block too). */
static void
skip_stmt(struct tether_conf *c)
{
	unsigned depth = 0;

	for (;;) {
		int type = tether_conf_peek(c)->type;

		if (type == TETHER_CONF_EOF)
			return;
		tether_conf_next(c);
		if (type == TETHER_CONF_LBRACE)
			depth++;
		else if (type == TETHER_CONF_RBRACE && depth > 0 &&
			 --depth == 0)
			return;
		else if (type == TETHER_CONF_EOS && depth == 0)
			return;
	}
}

static void
parse_stmt(struct parser *p, const struct tether_conf_token *kw)
{
	const struct tether_conf_token *args[ARGS_MAX + 3];
	const struct directive *d = NULL;
	size_t i;
	int n, rest;

	for (i = 0; i < TETHER_ARRAY_SIZE(directives); i++)
		if (strcmp(directives[i].name, kw->text) == 0)
			d = &directives[i];
	if (d == NULL) {
		tether_conf_error(p->c, kw, "unknown directive '%s'",
				  kw->text);
		skip_stmt(p->c);
		return;
	}
	n = tether_conf_args(p->c, kw, d->name, d->min_args, d->max_args, args,
			     &rest);
	if (n < 0) {
		if (rest)
			skip_stmt(p->c);
		return;
	}
	if (!d->multi) {
		uint32_t bit = 1u << (d - directives);

		if (p->seen & bit) {
			tether_conf_error(p->c, kw, "'%s' given twice",
					  d->name);
			return;
		}
		p->seen |= bit;
	}
	(void)d->set(p, d, args, n);
}

static void
parse_file(struct parser *p)
{
	for (;;) {
		const struct tether_conf_token *t = tether_conf_next(p->c);

		switch (t->type) {
		case TETHER_CONF_EOF:
			return;
		case TETHER_CONF_EOS:
			continue;
		case TETHER_CONF_WORD:
			parse_stmt(p, t);
			continue;
		default:
			tether_conf_error(p->c, t, "expected a directive, not "
					  "%s", tether_conf_tok_name(t->type));
			if (t->type != TETHER_CONF_RBRACE)
				skip_stmt(p->c);
		}
	}
}

/* What only the whole file can tell. */
static void
check_conf(struct parser *p)
{
	const struct pm_config *cfg = &p->conf->cfg;

	if (cfg->max_per_owner > cfg->max_total)
		tether_conf_error(p->c, NULL, "max-registrations per-owner "
				  "(%zu) is above total (%zu)",
				  cfg->max_per_owner, cfg->max_total);
	if (cfg->forward && cfg->forward_burst < 1)
		tether_conf_error(p->c, NULL, "forward burst must be >= 1");
	if (p->conf->ctl[0] != '\0' && p->conf->sock[0] != '\0' &&
	    strcmp(p->conf->ctl, p->conf->sock) == 0)
		tether_conf_error(p->c, NULL, "control and socket are the "
				  "same path '%s'", p->conf->ctl);
}

static int
load(const char *path, const char *name, const void *data, size_t len,
     const struct tether_conf_limits *lim, struct pm_conf *out,
     struct tether_buf *diag)
{
	struct tether_conf *c;
	struct parser p;
	int err;

	config_defaults(out);
	pm_conf_relink(out);
	memset(&p, 0, sizeof(p));
	c = tether_conf_new(lim);
	if (c == NULL)
		return -TETHER_ENOMEM;
	p.c = c;
	p.conf = out;
	if (path != NULL)
		err = tether_conf_load_file(c, path);
	else
		err = tether_conf_load_mem(c, name, data, len);
	if (err == 0) {
		parse_file(&p);
		check_conf(&p);
		if (tether_conf_error_count(c) > 0)
			err = -TETHER_ESYNTAX;
	}
	if (diag != NULL)
		(void)tether_buf_append_str(diag, tether_conf_diagnostics(c));
	tether_conf_free(c);
	pm_conf_relink(out);
	if (err < 0) {
		config_defaults(out);
		pm_conf_relink(out);
	}
	return err;
}

int
pm_conf_load_file(const char *path, struct pm_conf *out,
		  struct tether_buf *diag)
{
	return load(path, NULL, NULL, 0, NULL, out, diag);
}

int
pm_conf_load_mem(const char *name, const void *data, size_t len,
		 const struct tether_conf_limits *lim, struct pm_conf *out,
		 struct tether_buf *diag)
{
	return load(NULL, name, data, len, lim, out, diag);
}

/* A path or "none", quoted: the tokenizer reads it back as it was. */
static int
write_path(struct tether_buf *b, const char *key, const char *v)
{
	const char *q;
	int err;

	if (v[0] == '\0')
		return tether_buf_printf(b, "%s none\n", key);
	if ((err = tether_buf_printf(b, "%s \"", key)) < 0)
		return err;
	for (q = v; *q != '\0'; q++) {
		if (*q == '"' || *q == '\\')
			err = tether_buf_printf(b, "\\%c", *q);
		else
			err = tether_buf_append(b, q, 1);
		if (err < 0)
			return err;
	}
	return tether_buf_append_str(b, "\"\n");
}

int
pm_conf_write(const struct pm_conf *c, struct tether_buf *b)
{
	const struct pm_config *cfg = &c->cfg;
	int i, err;

	for (i = 0; i < cfg->nlisten; i++)
		if ((err = tether_buf_printf(b, "listen %s\n",
					     c->listen[i])) < 0)
			return err;
	if ((err = tether_buf_printf(b, "port %d\n", cfg->port)) < 0 ||
	    (err = write_path(b, "socket", c->sock)) < 0 ||
	    (err = write_path(b, "state", c->state)) < 0 ||
	    (err = write_path(b, "control", c->ctl)) < 0)
		return err;
	if (c->user[0] != '\0' &&
	    (err = tether_buf_printf(b, "user %s\n", c->user)) < 0)
		return err;
	err = tether_buf_printf(b, "admin timeout %llums conns %u\n"
		"max-registrations total %zu per-owner %zu\n"
		"forward %s rate %u burst %u max %u timeout %llums\n",
		(unsigned long long)cfg->admin_timeout_ms, cfg->admin_conns,
		cfg->max_total, cfg->max_per_owner,
		cfg->forward ? "on" : "off", cfg->forward_rate,
		cfg->forward_burst, cfg->forward_max,
		(unsigned long long)cfg->forward_timeout_ms);
	if (err < 0)
		return err;
	if (cfg->prune_interval_ms)
		err = tether_buf_printf(b, "prune %llums\n",
				(unsigned long long)cfg->prune_interval_ms);
	else
		err = tether_buf_append_str(b, "prune off\n");
	if (err == 0 && cfg->log_level >= 0)
		err = tether_buf_printf(b, "log-level %s\n",
					tether_log_level_name(cfg->log_level));
	return err;
}

/* ---- comparing configurations (a reload) ---- */

static const struct {
	const char *name;
	int restart;
} settings[PM_SETTING_COUNT] = {
	[PM_SET_LISTEN] = { "listen", 1 },
	[PM_SET_PORT] = { "port", 1 },
	[PM_SET_SOCKET] = { "socket", 1 },
	[PM_SET_STATE] = { "state", 1 },
	[PM_SET_USER] = { "user", 1 },
	[PM_SET_CONTROL] = { "control", 0 },
	[PM_SET_ADMIN_TIMEOUT] = { "admin timeout", 0 },
	[PM_SET_ADMIN_CONNS] = { "admin conns", 0 },
	[PM_SET_MAX_TOTAL] = { "max-registrations total", 0 },
	[PM_SET_MAX_PER_OWNER] = { "max-registrations per-owner", 0 },
	[PM_SET_FORWARD] = { "forward", 0 },
	[PM_SET_FORWARD_RATE] = { "forward rate", 0 },
	[PM_SET_FORWARD_BURST] = { "forward burst", 0 },
	[PM_SET_FORWARD_MAX] = { "forward max", 0 },
	[PM_SET_FORWARD_TIMEOUT] = { "forward timeout", 0 },
	[PM_SET_PRUNE] = { "prune", 0 },
	[PM_SET_LOG_LEVEL] = { "log-level", 0 },
};

const char *
pm_setting_name(enum pm_setting s)
{
	return (unsigned)s < PM_SETTING_COUNT ? settings[s].name : "?";
}

int
pm_setting_needs_restart(enum pm_setting s)
{
	return (unsigned)s < PM_SETTING_COUNT && settings[s].restart;
}

static void
value_path(const char *v, char *buf, size_t size)
{
	snprintf(buf, size, "%s", v == NULL || v[0] == '\0' ? "none" : v);
}

void
pm_setting_value(const struct pm_config *c, enum pm_setting s, char *buf,
		 size_t size)
{
	size_t len;
	int i;

	switch (s) {
	case PM_SET_LISTEN:
		if (c->nlisten == 0) {
			snprintf(buf, size, "0.0.0.0 ::");
			break;
		}
		buf[0] = '\0';
		for (i = 0, len = 0; i < c->nlisten && len < size; i++)
			len += (size_t)snprintf(buf + len, size - len, "%s%s",
						i ? " " : "", c->listen[i]);
		break;
	case PM_SET_PORT:
		snprintf(buf, size, "%d", c->port);
		break;
	case PM_SET_SOCKET:
		value_path(c->sock_path, buf, size);
		break;
	case PM_SET_STATE:
		value_path(c->state_path, buf, size);
		break;
	case PM_SET_USER:
		value_path(c->user, buf, size);
		break;
	case PM_SET_CONTROL:
		value_path(c->ctl_path, buf, size);
		break;
	case PM_SET_ADMIN_TIMEOUT:
		snprintf(buf, size, "%llums",
			 (unsigned long long)c->admin_timeout_ms);
		break;
	case PM_SET_ADMIN_CONNS:
		snprintf(buf, size, "%u", c->admin_conns);
		break;
	case PM_SET_MAX_TOTAL:
		snprintf(buf, size, "%zu", c->max_total);
		break;
	case PM_SET_MAX_PER_OWNER:
		snprintf(buf, size, "%zu", c->max_per_owner);
		break;
	case PM_SET_FORWARD:
		snprintf(buf, size, "%s", c->forward ? "on" : "off");
		break;
	case PM_SET_FORWARD_RATE:
		snprintf(buf, size, "%u", c->forward_rate);
		break;
	case PM_SET_FORWARD_BURST:
		snprintf(buf, size, "%u", c->forward_burst);
		break;
	case PM_SET_FORWARD_MAX:
		snprintf(buf, size, "%u", c->forward_max);
		break;
	case PM_SET_FORWARD_TIMEOUT:
		snprintf(buf, size, "%llums",
			 (unsigned long long)c->forward_timeout_ms);
		break;
	case PM_SET_PRUNE:
		if (c->prune_interval_ms == 0)
			snprintf(buf, size, "off");
		else
			snprintf(buf, size, "%llums",
				 (unsigned long long)c->prune_interval_ms);
		break;
	case PM_SET_LOG_LEVEL:
		snprintf(buf, size, "%s", c->log_level < 0 ? "default" :
			 tether_log_level_name(c->log_level));
		break;
	default:
		snprintf(buf, size, "?");
	}
}

uint32_t
pm_conf_diff(const struct pm_config *a, const struct pm_config *b)
{
	char va[PM_SETTING_VALUE_MAX], vb[PM_SETTING_VALUE_MAX];
	uint32_t mask = 0;
	int s;

	for (s = 0; s < PM_SETTING_COUNT; s++) {
		pm_setting_value(a, (enum pm_setting)s, va, sizeof(va));
		pm_setting_value(b, (enum pm_setting)s, vb, sizeof(vb));
		if (strcmp(va, vb) != 0)
			mask |= 1u << s;
	}
	return mask;
}
