/*
 * conf.c - tether-lb's configuration parser: directive tables (name,
 * arity, setter, offset; as nginx's ngx_command_t) on top of the core's
 * tokenizer, then whole-file checks. A bad statement is reported and
 * skipped, so one run lists every mistake.
 *
 *	pidfile PATH; user NAME; control PATH; metrics ADDR:PORT; max-conns N;
 *	log-level warn|info|debug; io-uring on|off; io-uring-buffers N;
 *	kernel-relay on|off; kernel-relay-after N; kernel-relay-window SIZE
 *	service NAME {
 *		listen ADDR:PORT[-PORT] [tcp] [udp]
 *		balance rr|wrr|wlc|maglev
 *		persist source [mask /N4 [/N6]] [timeout DUR] [size N]
 *		backend NAME ADDR[:PORT] [weight N]
 *		check tcp [interval DUR] [timeout DUR] [rise N] [fall N]
 *		      [port N] [slowstart DUR]
 *		check passive [interval DUR] [fall N] [slowstart DUR]
 *		limits [conns N] [connect-timeout DUR] [idle-timeout DUR]
 *		       [retries N] [backlog N] [drain-timeout DUR]
 *		       [client-conns N]
 *		proxy-protocol v2|off
 *		splice on|off
 *		half-close on|off
 *		kernel-relay on|off
 *	}
 */
#include "lb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARGS_MAX 16

struct parser {
	struct tether_conf *c;
	struct lb_conf *conf;
	int nomem;
	int host;		/* check against this host (user exists) */
	/* The current service's good `check tcp` (its "tcp"), or NULL:
	 * where the whole-service check of its port reports. */
	const struct tether_conf_token *check_tcp;
	/* The current service's `proxy-protocol v2` (its "v2"), or NULL:
	 * where the warning about its UDP listens reports. */
	const struct tether_conf_token *proxy_v2;
	/* The `metrics` address (its token), or NULL: checked against the
	 * TCP listens once the whole file is read. */
	const struct tether_conf_token *metrics;
};

struct directive;
typedef int set_fn(struct parser *p, void *obj, const struct directive *d,
		   const struct tether_conf_token *const *args, int n);

/* One row of a directive table. off and max parameterise the generic
 * setters (offset of the field in obj; bound of a number or size of a
 * string); min is a number's lower bound. */
struct directive {
	const char *name;
	int min_args, max_args;
	set_fn *set;
	size_t off;
	unsigned long min, max;
	int multi;		/* may appear more than once */
};

static const char *const balance_names[LB_BALANCE_MAX] = {
	[LB_BALANCE_RR] = "rr",
	[LB_BALANCE_WRR] = "wrr",
	[LB_BALANCE_WLC] = "wlc",
	[LB_BALANCE_MAGLEV] = "maglev",
};

const char *
lb_balance_name(int balance)
{
	if (balance < 0 || balance >= LB_BALANCE_MAX)
		return "unknown";
	return balance_names[balance];
}

/* ------------------------------------------------------------------ */
/* Values                                                              */
/* ------------------------------------------------------------------ */

static int
parse_ulong(const char *s, unsigned long min, unsigned long max,
	    unsigned long *out)
{
	unsigned long v = 0;
	const char *q;

	if (*s == '\0')
		return -TETHER_ESYNTAX;
	for (q = s; *q != '\0'; q++) {
		if (*q < '0' || *q > '9')
			return -TETHER_ESYNTAX;
		if (v > (ULONG_MAX - 9) / 10)
			return -TETHER_ERANGE;
		v = v * 10 + (unsigned long)(*q - '0');
	}
	if (v < min || v > max)
		return -TETHER_ERANGE;
	*out = v;
	return 0;
}

int
lb_parse_duration(const char *s, uint64_t *ms)
{
	uint64_t v = 0, mult;
	const char *q = s;

	if (s == NULL || *s < '0' || *s > '9')
		return -TETHER_ESYNTAX;
	for (; *q >= '0' && *q <= '9'; q++) {
		v = v * 10 + (uint64_t)(*q - '0');
		if (v > LB_MAX_DURATION_MS)
			return -TETHER_ERANGE;
	}
	if (strcmp(q, "ms") == 0)
		mult = 1;
	else if (*q == '\0' || strcmp(q, "s") == 0)
		mult = 1000;
	else if (strcmp(q, "m") == 0)
		mult = 60 * 1000;
	else if (strcmp(q, "h") == 0)
		mult = 3600 * 1000;
	else
		return -TETHER_ESYNTAX;
	if (v > LB_MAX_DURATION_MS / mult)
		return -TETHER_ERANGE;
	*ms = v * mult;
	return 0;
}

int
lb_parse_listen_addr(const char *s, struct lb_conf_listen *l)
{
	const char *colon, *dash, *ports;
	unsigned long lo, hi;
	char buf[TETHER_ADDR_STRLEN];
	struct tether_addr a;
	size_t hostlen;
	int err;

	colon = strrchr(s, ':');
	if (colon == NULL)
		return -TETHER_ESYNTAX;
	/* An unbracketed IPv6 address has no room for a port. */
	if (s[0] != '[' && memchr(s, ':', (size_t)(colon - s)) != NULL)
		return -TETHER_ESYNTAX;
	if (s[0] == '[' && (colon == s || colon[-1] != ']'))
		return -TETHER_ESYNTAX;
	ports = colon + 1;
	hostlen = (size_t)(colon - s);
	dash = strchr(ports, '-');
	if (dash != NULL) {
		char lob[8];
		size_t ll = (size_t)(dash - ports);

		if (ll == 0 || ll >= sizeof(lob))
			return -TETHER_ESYNTAX;
		memcpy(lob, ports, ll);
		lob[ll] = '\0';
		if ((err = parse_ulong(lob, 0, ULONG_MAX, &lo)) < 0 ||
		    (err = parse_ulong(dash + 1, 0, ULONG_MAX, &hi)) < 0)
			return err;
	} else {
		if ((err = parse_ulong(ports, 0, ULONG_MAX, &lo)) < 0)
			return err;
		hi = lo;
	}
	if (lo == 0 || lo > 65535 || hi == 0 || hi > 65535 || hi < lo)
		return -TETHER_ERANGE;
	if (hostlen + 7 > sizeof(buf))
		return -TETHER_ESYNTAX;
	snprintf(buf, sizeof(buf), "%.*s:%lu", (int)hostlen, s, lo);
	err = tether_addr_parse(&a, buf, -1);
	if (err < 0)
		return err == -TETHER_EOVERFLOW ? -TETHER_ESYNTAX : err;
	if (a.ss.ss_family != AF_INET && a.ss.ss_family != AF_INET6)
		return -TETHER_EAFNOSUPPORT;
	l->addr = a;
	l->port_lo = (uint16_t)lo;
	l->port_hi = (uint16_t)hi;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Generic setters                                                     */
/* ------------------------------------------------------------------ */

/* Paths and the user end up in logs and control output, one record per
 * line: no control characters (a quoted "\n" would forge lines).
 * Returns 0 or -TETHER_ESYNTAX after reporting. */
static int
check_text(struct parser *p, const struct tether_conf_token *t,
	   const char *what)
{
	const unsigned char *q;

	for (q = (const unsigned char *)t->text; *q != '\0'; q++)
		if (*q < 0x20 || *q == 0x7f)
			return tether_conf_error(p->c, t, "%s must not contain "
						 "control characters", what);
	return 0;
}

/* The bytes of a service or backend name. */
#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
		   "0123456789._:@+-"

/*
 * A service or backend name (what: "service name", "backend name"):
 * 1..LB_NAME_MAX-1 bytes of NAME_CHARS. Names are words of the control
 * protocol, which splits a command at blanks and SERVICE/BACKEND at
 * the first '/', and values of log lines (service=NAME backend=NAME):
 * a blank, a '/' or a quote would make a name that no tetherctl
 * command can address and log lines that read two ways. A leading '-'
 * is fine: tetherctl takes options before its COMMAND only, so
 * "drain -web/b1" is a name, not an option. Returns 0 or
 * -TETHER_ESYNTAX after reporting, at the bad byte in a bare word (its
 * text is as written; a quoted one may hold escapes, so there at the
 * name).
 */
static int
check_name(struct parser *p, const struct tether_conf_token *t,
	   const char *what)
{
	struct tether_conf_token at;
	unsigned char ch;
	char desc[40];
	size_t i;

	if (t->len == 0 || t->len >= LB_NAME_MAX)
		return tether_conf_error(p->c, t, "%s must be 1..%d bytes",
					 what, LB_NAME_MAX - 1);
	i = strspn(t->text, NAME_CHARS);
	if (i == t->len)
		return 0;
	ch = (unsigned char)t->text[i];
	if (ch == ' ')
		snprintf(desc, sizeof(desc), "a space");
	else if (ch < 0x20 || ch == 0x7f)
		snprintf(desc, sizeof(desc), "a control character (0x%02x)",
			 ch);
	else if (ch > 0x7f)
		snprintf(desc, sizeof(desc), "a non-ASCII byte (0x%02x)", ch);
	else
		snprintf(desc, sizeof(desc), "'%c'", ch);
	at = *t;
	if (t->type == TETHER_CONF_WORD)
		at.col += (unsigned)i;
	return tether_conf_error(p->c, &at, "%s must not contain %s (only "
				 "letters, digits and . _ : @ + -)", what,
				 desc);
}

static int
set_string(struct parser *p, void *obj, const struct directive *d,
	   const struct tether_conf_token *const *args, int n)
{
	char *dst = (char *)obj + d->off;

	(void)n;
	if (args[0]->len == 0 || args[0]->len >= d->max)
		return tether_conf_error(p->c, args[0],
					 "'%s' takes 1..%lu bytes", d->name,
					 d->max - 1);
	if (check_text(p, args[0], d->name) < 0)
		return -TETHER_ESYNTAX;
	memcpy(dst, args[0]->text, args[0]->len + 1);
	return 0;
}

/* A string that must be an absolute path (the control socket and the
 * pidfile: the daemon moves to / when it detaches, before it opens the
 * pidfile, so a relative one ended up in /). The length and control
 * characters first, as set_string reports them: the message quotes
 * the path. */
static int
set_abs_path(struct parser *p, void *obj, const struct directive *d,
	     const struct tether_conf_token *const *args, int n)
{
	if (args[0]->len == 0 || args[0]->len >= d->max)
		return set_string(p, obj, d, args, n);
	if (check_text(p, args[0], d->name) < 0)
		return -TETHER_ESYNTAX;
	if (args[0]->text[0] != '/')
		return tether_conf_error(p->c, args[0],
					 "'%s' must be an absolute path, not "
					 "'%s'", d->name, args[0]->text);
	return set_string(p, obj, d, args, n);
}

static int
set_uint(struct parser *p, void *obj, const struct directive *d,
	 const struct tether_conf_token *const *args, int n)
{
	unsigned long v;

	(void)n;
	if (parse_ulong(args[0]->text, d->min, d->max, &v) < 0)
		return tether_conf_error(p->c, args[0],
					 "'%s' must be a number %lu..%lu, "
					 "not '%s'", d->name, d->min, d->max,
					 args[0]->text);
	*(unsigned *)(void *)((char *)obj + d->off) = (unsigned)v;
	return 0;
}

/* A power of two in d->min..d->max (the size of a kernel ring). */
static int
set_pow2(struct parser *p, void *obj, const struct directive *d,
	 const struct tether_conf_token *const *args, int n)
{
	unsigned long v;

	(void)n;
	if (parse_ulong(args[0]->text, d->min, d->max, &v) < 0 ||
	    (v & (v - 1)) != 0)
		return tether_conf_error(p->c, args[0],
					 "'%s' must be a power of two %lu..%lu, "
					 "not '%s'", d->name, d->min, d->max,
					 args[0]->text);
	*(unsigned *)(void *)((char *)obj + d->off) = (unsigned)v;
	return 0;
}

/* A byte count in d->min..d->max: digits, then k or m (KiB, MiB). */
static int
set_size(struct parser *p, void *obj, const struct directive *d,
	 const struct tether_conf_token *const *args, int n)
{
	char num[24];
	size_t len = args[0]->len;
	unsigned long v, unit = 1;
	char last;

	(void)n;
	last = len > 0 ? args[0]->text[len - 1] : '\0';
	if (last == 'k' || last == 'K')
		unit = 1024;
	else if (last == 'm' || last == 'M')
		unit = 1024 * 1024;
	if (unit != 1)
		len--;
	if (len == 0 || len >= sizeof(num))
		goto bad;
	memcpy(num, args[0]->text, len);
	num[len] = '\0';
	if (parse_ulong(num, 0, d->max / unit, &v) < 0 ||
	    v * unit < d->min)
		goto bad;
	*(unsigned *)(void *)((char *)obj + d->off) = (unsigned)(v * unit);
	return 0;
bad:
	return tether_conf_error(p->c, args[0],
				 "'%s' must be a size %luk..%lum (bytes, or "
				 "with k or m), not '%s'", d->name,
				 d->min / 1024, d->max / (1024 * 1024),
				 args[0]->text);
}

static int
set_duration(struct parser *p, void *obj, const struct directive *d,
	     const struct tether_conf_token *const *args, int n)
{
	uint64_t ms;
	int err;

	(void)n;
	err = lb_parse_duration(args[0]->text, &ms);
	if (err == -TETHER_ERANGE || (err == 0 && ms < d->min))
		return tether_conf_error(p->c, args[0],
					 "'%s' must be %lums..30 days",
					 d->name, d->min);
	if (err < 0)
		return tether_conf_error(p->c, args[0],
					 "'%s' expects a duration such as "
					 "500ms, 2s, 5m, 1h; not '%s'",
					 d->name, args[0]->text);
	*(uint64_t *)(void *)((char *)obj + d->off) = ms;
	return 0;
}

static const struct directive *
find_directive(const struct directive *tab, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(tab[i].name, name) == 0)
			return &tab[i];
	return NULL;
}

/*
 * Key/value options after a directive's first words ("interval 2s rise
 * 3"): each key is a row of a one-argument table (fewer than 32 rows),
 * given at most once: "conns 5 conns 10" is an error at the second
 * "conns", as a repeated directive is, not the later value silently
 * winning. Returns 0 or -TETHER_ESYNTAX after reporting.
 */
static int
set_kv(struct parser *p, void *obj, const char *what,
       const struct directive *tab, size_t ntab,
       const struct tether_conf_token *const *args, int from, int n)
{
	uint32_t given = 0;
	int i, err = 0;

	for (i = from; i < n; i += 2) {
		const struct directive *d;
		uint32_t bit;

		d = find_directive(tab, ntab, args[i]->text);
		if (d == NULL) {
			err = tether_conf_error(p->c, args[i],
						"unknown %s option '%s'", what,
						args[i]->text);
			continue;
		}
		if (i + 1 >= n) {
			err = tether_conf_error(p->c, args[i],
						"'%s' needs a value", d->name);
			break;
		}
		bit = 1u << (d - tab);
		if (given & bit) {
			err = tether_conf_error(p->c, args[i],
						"'%s' given twice", d->name);
			continue;
		}
		given |= bit;
		if (d->set(p, obj, d, &args[i + 1], 1) < 0)
			err = -TETHER_ESYNTAX;
	}
	return err;
}

/* ------------------------------------------------------------------ */
/* Service directives                                                  */
/* ------------------------------------------------------------------ */

static int
ports_in_service(const struct lb_conf_service *s)
{
	size_t i;
	int total = 0;

	for (i = 0; i < s->nlistens; i++)
		total += s->listens[i].port_hi - s->listens[i].port_lo + 1;
	return total;
}

/* Whether two listens would bind one port twice: the same address, or
 * the wildcard of the same family and any address of it (bind() of the
 * second fails with EADDRINUSE; IPv6 sockets are V6ONLY, so :: and
 * 0.0.0.0 do not meet). */
static int
listens_overlap(const struct lb_conf_listen *a, const struct lb_conf_listen *b)
{
	struct tether_addr x = a->addr, y = b->addr;

	if ((a->protos & b->protos) == 0)
		return 0;
	if (a->port_hi < b->port_lo || b->port_hi < a->port_lo)
		return 0;
	if (x.ss.ss_family == y.ss.ss_family &&
	    (tether_addr_is_any(&x) || tether_addr_is_any(&y)))
		return 1;
	tether_addr_set_port(&x, 0);
	tether_addr_set_port(&y, 0);
	return tether_addr_compare(&x, &y) == 0;
}

/*
 * An IPv4-mapped IPv6 listen address ([::ffff:a.b.c.d]) is refused:
 * IPv6 listeners are V6ONLY (so that :: and 0.0.0.0 may both be
 * listened on), and bind() of a mapped address on such a socket fails
 * with EINVAL, at start, after -n called the file good. The error
 * gives the IPv4 form to write instead. Returns 0 or -TETHER_ESYNTAX
 * after reporting.
 */
static int
check_v4mapped(struct parser *p, const struct tether_conf_token *t,
	       const struct lb_conf_listen *l)
{
	const struct sockaddr_in6 *sin6 =
		(const struct sockaddr_in6 *)(const void *)&l->addr.ss;
	char v4[INET_ADDRSTRLEN], range[8] = "";

	if (l->addr.ss.ss_family != AF_INET6 ||
	    !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return 0;
	if (inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], v4,
		      sizeof(v4)) == NULL)
		snprintf(v4, sizeof(v4), "?");
	if (l->port_hi != l->port_lo)
		snprintf(range, sizeof(range), "-%u", l->port_hi);
	return tether_conf_error(p->c, t, "'%s' is an IPv4-mapped IPv6 "
				 "address, which IPv6 listeners (IPv6 only) "
				 "cannot bind; write it as IPv4: '%s:%u%s'",
				 t->text, v4, l->port_lo, range);
}

/* Where another listen l is, for a diagnostic at token t: "line N" in
 * t's file, "FILE:N" in another (an included file's line numbers are
 * not the file's the message is about). */
static const char *
listen_at(char *buf, size_t len, const struct tether_conf_token *t,
	  const struct lb_conf_listen *l)
{
	if (l->file == NULL || strcmp(l->file, t->file) == 0)
		snprintf(buf, len, "line %u", l->line);
	else
		snprintf(buf, len, "%s:%u", l->file, l->line);
	return buf;
}

static int
set_listen(struct parser *p, void *obj, const struct directive *d,
	   const struct tether_conf_token *const *args, int n)
{
	struct lb_conf_service *s = obj;
	struct lb_conf_listen l, *nl;
	char at[PATH_MAX + 16];
	size_t i, j;
	int err;

	(void)d;
	memset(&l, 0, sizeof(l));
	err = lb_parse_listen_addr(args[0]->text, &l);
	if (err == -TETHER_ERANGE)
		return tether_conf_error(p->c, args[0],
					 "ports must be 1..65535, the first "
					 "not above the last: '%s'",
					 args[0]->text);
	if (err < 0)
		return tether_conf_error(p->c, args[0],
					 "expected ADDR:PORT or ADDR:PORT-PORT "
					 "(IPv6 in brackets), not '%s'",
					 args[0]->text);
	if (check_v4mapped(p, args[0], &l) < 0)
		return -TETHER_ESYNTAX;
	for (i = 1; i < (size_t)n; i++) {
		if (strcmp(args[i]->text, "tcp") == 0)
			l.protos |= LB_PROTO_TCP;
		else if (strcmp(args[i]->text, "udp") == 0)
			l.protos |= LB_PROTO_UDP;
		else
			return tether_conf_error(p->c, args[i],
						 "expected 'tcp' or 'udp', "
						 "not '%s'", args[i]->text);
	}
	if (l.protos == 0)
		l.protos = LB_PROTO_TCP;
	l.line = args[0]->line;
	l.col = args[0]->col;
	l.file = args[0]->file;
	if (s->nlistens == LB_MAX_LISTENS)
		return tether_conf_error(p->c, args[0],
					 "more than %d listen directives in "
					 "one service", LB_MAX_LISTENS);
	if (ports_in_service(s) + (l.port_hi - l.port_lo + 1) > LB_MAX_PORTS)
		return tether_conf_error(p->c, args[0],
					 "more than %d listening ports in one "
					 "service", LB_MAX_PORTS);
	/* Earlier services, then this one (not yet in p->conf's count). */
	for (i = 0; i <= p->conf->nservices; i++) {
		const struct lb_conf_service *o = i < p->conf->nservices ?
			&p->conf->services[i] : s;

		for (j = 0; j < o->nlistens; j++)
			if (listens_overlap(&o->listens[j], &l))
				return tether_conf_error(p->c, args[0],
					"'%s' overlaps the listen at %s "
					"(service %s)", args[0]->text,
					listen_at(at, sizeof(at), args[0],
						  &o->listens[j]), o->name);
	}
	/* A reply leaves from the listening socket: on a wildcard, from
	 * the source address the route picks. */
	if ((l.protos & LB_PROTO_UDP) && tether_addr_is_any(&l.addr))
		tether_conf_warn(p->c, args[0], "UDP on a wildcard address: "
				 "replies leave from the address the route "
				 "picks, which may not be the one the client "
				 "sent to; listen on a specific address");
	nl = tether_reallocarray(s->listens, s->nlistens + 1, sizeof(*nl));
	if (nl == NULL) {
		p->nomem = 1;
		return -TETHER_ENOMEM;
	}
	s->listens = nl;
	s->listens[s->nlistens++] = l;
	return 0;
}

static int
set_balance(struct parser *p, void *obj, const struct directive *d,
	    const struct tether_conf_token *const *args, int n)
{
	struct lb_conf_service *s = obj;
	int i;

	(void)d;
	(void)n;
	for (i = 0; i < LB_BALANCE_MAX; i++)
		if (strcmp(args[0]->text, balance_names[i]) == 0) {
			s->balance = (enum lb_balance)i;
			return 0;
		}
	return tether_conf_error(p->c, args[0],
				 "unknown balance '%s' (rr, wrr, wlc, maglev)",
				 args[0]->text);
}

static int
parse_prefix(const char *s, unsigned max, unsigned *out)
{
	unsigned long v;

	if (s[0] != '/' || parse_ulong(s + 1, 0, max, &v) < 0)
		return -TETHER_ESYNTAX;
	*out = (unsigned)v;
	return 0;
}

static const struct directive persist_opts[] = {
	{ "timeout", 1, 1, set_duration,
	  offsetof(struct lb_conf_persist, timeout_ms), 1000, 0, 0 },
	{ "size", 1, 1, set_uint, offsetof(struct lb_conf_persist, size),
	  1, LB_MAX_PERSIST, 0 },
};

static int
set_persist(struct parser *p, void *obj, const struct directive *d,
	    const struct tether_conf_token *const *args, int n)
{
	struct lb_conf_service *s = obj;
	struct lb_conf_persist *ps = &s->persist;
	int from = 1;

	(void)d;
	if (strcmp(args[0]->text, "source") != 0)
		return tether_conf_error(p->c, args[0],
					 "persist by what: only 'source' is "
					 "known, not '%s'", args[0]->text);
	ps->enabled = 1;
	if (n > 1 && strcmp(args[1]->text, "mask") == 0) {
		if (n < 3 || parse_prefix(args[2]->text, 32, &ps->mask4) < 0)
			return tether_conf_error(p->c, args[n < 3 ? 1 : 2],
						 "'mask' expects /N (0..32) "
						 "for IPv4, then optionally "
						 "/N (0..128) for IPv6");
		from = 3;
		if (n > 3 && args[3]->text[0] == '/') {
			if (parse_prefix(args[3]->text, 128, &ps->mask6) < 0)
				return tether_conf_error(p->c, args[3],
							 "IPv6 mask must be "
							 "/0../128");
			from = 4;
		}
	}
	return set_kv(p, ps, "persist", persist_opts,
		      TETHER_ARRAY_SIZE(persist_opts), args, from, n);
}

/*
 * An IPv4-mapped backend address ([::ffff:a.b.c.d]:port) as the IPv4
 * address it maps (a zone, meaningless there, goes). Connecting to it
 * from an AF_INET6 socket works only while the socket is not V6ONLY,
 * and with net.ipv6.bindv6only=1 every new AF_INET6 socket is: the
 * connect fails with ENETUNREACH. Clearing IPV6_V6ONLY on each backend
 * socket would do too, but in every place one is made (TCP and io_uring
 * connects, UDP flows, health checks) and in any added later; as
 * AF_INET the address takes the IPv4 path everywhere, and reload's
 * matching of backends, show backends and the logs see one form of it
 * (a.b.c.d:port, as the kernel would have used).
 */
static void
unmap_v4(struct tether_addr *a)
{
	const struct sockaddr_in6 *sin6 = (const void *)&a->ss;
	struct sockaddr_in sin;
	int err;

	if (a->ss.ss_family != AF_INET6 ||
	    !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = sin6->sin6_port;
	memcpy(&sin.sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
	err = tether_addr_from_sockaddr(a, (struct sockaddr *)&sin,
					sizeof(sin));
	TETHER_BUG_ON(err < 0);
}

static int
parse_backend_addr(const char *s, struct lb_conf_backend *b)
{
	struct tether_addr a;
	int err;

	b->has_port = 1;
	err = tether_addr_parse(&a, s, -1);
	if (err < 0) {
		b->has_port = 0;
		err = tether_addr_parse(&a, s, 0);
	}
	if (err < 0)
		return err;
	if (a.ss.ss_family != AF_INET && a.ss.ss_family != AF_INET6)
		return -TETHER_EAFNOSUPPORT;
	if (b->has_port && tether_addr_port(&a) == 0)
		return -TETHER_ERANGE;
	unmap_v4(&a);
	b->addr = a;
	return 0;
}

static int
set_backend(struct parser *p, void *obj, const struct directive *d,
	    const struct tether_conf_token *const *args, int n)
{
	struct lb_conf_service *s = obj;
	struct lb_conf_backend b, *nb;
	unsigned long w;
	size_t i;

	(void)d;
	memset(&b, 0, sizeof(b));
	b.weight = 1;
	/* An empty name could not be told apart in logs, metrics labels
	 * and control commands (SERVICE/BACKEND). */
	if (check_name(p, args[0], "backend name") < 0)
		return -TETHER_ESYNTAX;
	memcpy(b.name, args[0]->text, args[0]->len + 1);
	if (parse_backend_addr(args[1]->text, &b) < 0)
		return tether_conf_error(p->c, args[1],
					 "expected an IPv4 or IPv6 address "
					 "with an optional port (1..65535), "
					 "not '%s'", args[1]->text);
	if (n == 3 || (n == 4 && strcmp(args[2]->text, "weight") != 0))
		return tether_conf_error(p->c, args[2],
					 "expected 'weight N' after the "
					 "address");
	if (n == 4) {
		if (parse_ulong(args[3]->text, 0, LB_MAX_WEIGHT, &w) < 0)
			return tether_conf_error(p->c, args[3],
						 "weight must be 0..%d",
						 LB_MAX_WEIGHT);
		b.weight = (unsigned)w;
	}
	for (i = 0; i < s->nbackends; i++)
		if (strcmp(s->backends[i].name, b.name) == 0)
			return tether_conf_error(p->c, args[0],
						 "duplicate backend '%s'",
						 b.name);
	if (s->nbackends == LB_MAX_BACKENDS)
		return tether_conf_error(p->c, args[0],
					 "more than %d backends",
					 LB_MAX_BACKENDS);
	nb = tether_reallocarray(s->backends, s->nbackends + 1, sizeof(*nb));
	if (nb == NULL) {
		p->nomem = 1;
		return -TETHER_ENOMEM;
	}
	s->backends = nb;
	s->backends[s->nbackends++] = b;
	return 0;
}

static const struct directive check_opts[] = {
	{ "interval", 1, 1, set_duration,
	  offsetof(struct lb_conf_check, interval_ms), 10, 0, 0 },
	{ "timeout", 1, 1, set_duration,
	  offsetof(struct lb_conf_check, timeout_ms), 10, 0, 0 },
	{ "rise", 1, 1, set_uint, offsetof(struct lb_conf_check, rise),
	  1, 100, 0 },
	{ "fall", 1, 1, set_uint, offsetof(struct lb_conf_check, fall),
	  1, 100, 0 },
	{ "port", 1, 1, set_uint, offsetof(struct lb_conf_check, port),
	  1, 65535, 0 },
	{ "slowstart", 1, 1, set_duration,
	  offsetof(struct lb_conf_check, slowstart_ms), 0, 0, 0 },
};

/* check passive: no probe, so no timeout, rise or port. */
static const struct directive passive_opts[] = {
	{ "interval", 1, 1, set_duration,
	  offsetof(struct lb_conf_check, interval_ms), 10, 0, 0 },
	{ "fall", 1, 1, set_uint, offsetof(struct lb_conf_check, fall),
	  1, 100, 0 },
	{ "slowstart", 1, 1, set_duration,
	  offsetof(struct lb_conf_check, slowstart_ms), 0, 0, 0 },
};

static int
set_check(struct parser *p, void *obj, const struct directive *d,
	  const struct tether_conf_token *const *args, int n)
{
	struct lb_conf_service *s = obj;

	(void)d;
	if (strcmp(args[0]->text, "tcp") == 0)
		s->check.type = LB_CHECK_TCP;
	else if (strcmp(args[0]->text, "none") == 0)
		s->check.type = LB_CHECK_NONE;
	else if (strcmp(args[0]->text, "passive") == 0) {
		s->check.type = LB_CHECK_PASSIVE;
		s->check.interval_ms = LB_DEFAULT_PASSIVE_INTERVAL_MS;
		s->check.fall = LB_DEFAULT_PASSIVE_FALL;
		s->check.rise = 1;
		if (set_kv(p, &s->check, "check passive", passive_opts,
			   TETHER_ARRAY_SIZE(passive_opts), args, 1, n) < 0)
			return -TETHER_ESYNTAX;
		s->check.timeout_ms = s->check.interval_ms;	/* unused */
		return 0;
	} else
		return tether_conf_error(p->c, args[0],
					 "unknown check '%s' (tcp, passive, "
					 "none)", args[0]->text);
	s->check.timeout_ms = 0;	/* not given (set_duration: >= 10) */
	if (set_kv(p, &s->check, "check", check_opts,
		   TETHER_ARRAY_SIZE(check_opts), args, 1, n) < 0)
		return -TETHER_ESYNTAX;
	/* The default timeout is never longer than the interval. */
	if (s->check.timeout_ms == 0)
		s->check.timeout_ms = s->check.interval_ms <
			LB_DEFAULT_CHECK_TIMEOUT_MS ? s->check.interval_ms :
			LB_DEFAULT_CHECK_TIMEOUT_MS;
	if (s->check.timeout_ms > s->check.interval_ms)
		return tether_conf_error(p->c, args[0],
					 "check timeout (%llums) is longer "
					 "than its interval (%llums)",
					 (unsigned long long)
					 s->check.timeout_ms,
					 (unsigned long long)
					 s->check.interval_ms);
	if (s->check.type == LB_CHECK_TCP)
		p->check_tcp = args[0];
	return 0;
}

static const struct directive limits_opts[] = {
	{ "conns", 1, 1, set_uint, offsetof(struct lb_conf_limits, max_conns),
	  0, LB_MAX_CONNS, 0 },
	{ "connect-timeout", 1, 1, set_duration,
	  offsetof(struct lb_conf_limits, connect_timeout_ms), 1, 0, 0 },
	{ "idle-timeout", 1, 1, set_duration,
	  offsetof(struct lb_conf_limits, idle_timeout_ms), 1, 0, 0 },
	{ "retries", 1, 1, set_uint, offsetof(struct lb_conf_limits, retries),
	  0, 16, 0 },
	{ "backlog", 1, 1, set_uint, offsetof(struct lb_conf_limits, backlog),
	  1, 65535, 0 },
	{ "drain-timeout", 1, 1, set_duration,
	  offsetof(struct lb_conf_limits, drain_timeout_ms), 0, 0, 0 },
	{ "client-conns", 1, 1, set_uint,
	  offsetof(struct lb_conf_limits, max_client_conns), 0, LB_MAX_CONNS,
	  0 },
};

static int
set_limits(struct parser *p, void *obj, const struct directive *d,
	   const struct tether_conf_token *const *args, int n)
{
	struct lb_conf_service *s = obj;

	(void)d;
	return set_kv(p, &s->limits, "limits", limits_opts,
		      TETHER_ARRAY_SIZE(limits_opts), args, 0, n);
}

static int
set_proxy_protocol(struct parser *p, void *obj, const struct directive *d,
		   const struct tether_conf_token *const *args, int n)
{
	struct lb_conf_service *s = obj;

	(void)d;
	(void)n;
	if (strcmp(args[0]->text, "v2") == 0) {
		s->proxy_v2 = 1;
		p->proxy_v2 = args[0];
		return 0;
	}
	if (strcmp(args[0]->text, "off") == 0) {
		s->proxy_v2 = 0;
		p->proxy_v2 = NULL;
		return 0;
	}
	return tether_conf_error(p->c, args[0], "proxy-protocol is 'v2' or "
				 "'off', not '%s'", args[0]->text);
}

/* "on" or "off" into the int at d->off in obj (splice, half-close,
 * io-uring). */
static int
set_onoff(struct parser *p, void *obj, const struct directive *d,
	  const struct tether_conf_token *const *args, int n)
{
	int *flag = (int *)((char *)obj + d->off);

	(void)n;
	if (strcmp(args[0]->text, "on") == 0) {
		*flag = 1;
		return 0;
	}
	if (strcmp(args[0]->text, "off") == 0) {
		*flag = 0;
		return 0;
	}
	return tether_conf_error(p->c, args[0], "%s is 'on' or 'off', "
				 "not '%s'", d->name, args[0]->text);
}

/* Whether svc's sessions may move to the kernel relay: its own
 * kernel-relay, else the global one. */
int
lb_conf_kernel_relay(const struct lb_conf *conf,
		     const struct lb_conf_service *svc)
{
	return svc->kernel_relay >= 0 ? svc->kernel_relay :
	       conf->kernel_relay;
}

/* Whether any service of conf may use the kernel relay. */
int
lb_conf_wants_kernel_relay(const struct lb_conf *conf)
{
	size_t i;

	for (i = 0; i < conf->nservices; i++)
		if (lb_conf_kernel_relay(conf, &conf->services[i]))
			return 1;
	return 0;
}

unsigned
lb_conf_check_port(const struct lb_conf_service *svc,
		   const struct lb_conf_backend *b)
{
	size_t i;

	if (svc->check.port != 0)
		return svc->check.port;
	if (b->has_port)
		return (unsigned)tether_addr_port(&b->addr);
	for (i = 0; i < svc->nlistens; i++)
		if (svc->listens[i].protos & LB_PROTO_TCP)
			return svc->listens[i].port_lo;
	return 0;
}

static const struct directive service_directives[] = {
	{ "listen", 1, 3, set_listen, 0, 0, 0, 1 },
	{ "balance", 1, 1, set_balance, 0, 0, 0, 0 },
	{ "persist", 1, ARGS_MAX, set_persist, 0, 0, 0, 0 },
	{ "backend", 2, 4, set_backend, 0, 0, 0, 1 },
	{ "check", 1, ARGS_MAX, set_check, 0, 0, 0, 0 },
	{ "limits", 2, ARGS_MAX, set_limits, 0, 0, 0, 0 },
	{ "proxy-protocol", 1, 1, set_proxy_protocol, 0, 0, 0, 0 },
	{ "splice", 1, 1, set_onoff, offsetof(struct lb_conf_service, splice),
	  0, 0, 0 },
	{ "half-close", 1, 1, set_onoff,
	  offsetof(struct lb_conf_service, half_close), 0, 0, 0 },
	{ "kernel-relay", 1, 1, set_onoff,
	  offsetof(struct lb_conf_service, kernel_relay), 0, 0, 0 },
};

static int
set_log_level(struct parser *p, void *obj, const struct directive *d,
	      const struct tether_conf_token *const *args, int n)
{
	struct lb_conf *conf = obj;
	int l;

	(void)d;
	(void)n;
	for (l = TETHER_LOG_WARN; l <= TETHER_LOG_DEBUG; l++)
		if (strcmp(args[0]->text, tether_log_level_name(l)) == 0) {
			conf->log_level = l;
			return 0;
		}
	return tether_conf_error(p->c, args[0],
				 "log-level is warn, info or debug, not '%s'",
				 args[0]->text);
}

static int
set_metrics(struct parser *p, void *obj, const struct directive *d,
	    const struct tether_conf_token *const *args, int n)
{
	struct lb_conf *conf = obj;
	struct tether_addr a;

	(void)d;
	(void)n;
	if (tether_addr_parse(&a, args[0]->text, -1) < 0 ||
	    (a.ss.ss_family != AF_INET && a.ss.ss_family != AF_INET6) ||
	    tether_addr_port(&a) == 0)
		return tether_conf_error(p->c, args[0], "metrics expects "
					 "ADDR:PORT, not '%s'", args[0]->text);
	conf->metrics = a;
	conf->has_metrics = 1;
	p->metrics = args[0];
	return 0;
}

/*
 * The metrics endpoint is a TCP listener of tether-lb's own: on the
 * port of a TCP listen, with the same address or the wildcard of
 * either, one of the two binds would fail with EADDRINUSE at start or
 * reload, after -n called the file good. Checked once the file is read
 * (metrics may come before or after the services), reported at the
 * metrics address. Unlike the listeners, the metrics socket on [::] is
 * not IPv6-only: it takes IPv4 too (with net.ipv6.bindv6only 0, the
 * default), so it meets every IPv4 listen of its port.
 */
static void
check_metrics(struct parser *p)
{
	const struct tether_conf_token *t = p->metrics;
	struct lb_conf_listen m;
	char at[PATH_MAX + 16];
	size_t i, j;

	if (t == NULL || !p->conf->has_metrics)
		return;
	memset(&m, 0, sizeof(m));
	m.addr = p->conf->metrics;
	m.port_lo = m.port_hi = tether_addr_port(&m.addr);
	m.protos = LB_PROTO_TCP;
	for (i = 0; i < p->conf->nservices; i++) {
		const struct lb_conf_service *s = &p->conf->services[i];

		for (j = 0; j < s->nlistens; j++) {
			const struct lb_conf_listen *l = &s->listens[j];
			int dual = m.addr.ss.ss_family == AF_INET6 &&
				   tether_addr_is_any(&m.addr) &&
				   l->addr.ss.ss_family == AF_INET &&
				   (l->protos & LB_PROTO_TCP) &&
				   m.port_lo >= l->port_lo &&
				   m.port_lo <= l->port_hi;

			if (!dual && !listens_overlap(&m, l))
				continue;
			tether_conf_error(p->c, t, "'metrics %s' overlaps the "
					  "listen at %s (service %s)%s",
					  t->text, listen_at(at, sizeof(at),
							     t, l),
					  s->name, dual ? ": metrics on [::] "
					  "takes IPv4 too" : "");
			return;
		}
	}
}

/* admin [timeout DUR] [conns N]: limits of the control socket and the
 * metrics endpoint (each connection's deadline, connections at once). */
static int
set_admin(struct parser *p, void *obj, const struct directive *d,
	  const struct tether_conf_token *const *args, int n)
{
	struct lb_conf *conf = obj;
	unsigned long v;
	uint64_t ms;
	int i, err;

	(void)d;
	if (n % 2 != 0)
		return tether_conf_error(p->c, args[n - 1], "admin expects "
					 "[timeout DURATION] [conns N]");
	for (i = 0; i < n; i += 2) {
		const char *val = args[i + 1]->text;

		/* At most two keys: the second repeats the first, as in
		 * "timeout 1s timeout 2s", or is the other (see set_kv). */
		if (i == 2 && strcmp(args[2]->text, args[0]->text) == 0 &&
		    (strcmp(args[2]->text, "timeout") == 0 ||
		     strcmp(args[2]->text, "conns") == 0))
			return tether_conf_error(p->c, args[2], "'%s' given "
						 "twice", args[2]->text);
		if (strcmp(args[i]->text, "timeout") == 0) {
			err = lb_parse_duration(val, &ms);
			if (err < 0 || ms < 100 || ms > 3600000)
				return tether_conf_error(p->c, args[i + 1],
					"admin timeout is a duration of "
					"100ms..1h, not '%s'", val);
			conf->admin_timeout_ms = ms;
		} else if (strcmp(args[i]->text, "conns") == 0) {
			if (parse_ulong(val, 1, LB_ADMIN_CONNS_MAX, &v) < 0)
				return tether_conf_error(p->c, args[i + 1],
					"admin conns is 1..%u, not '%s'",
					LB_ADMIN_CONNS_MAX, val);
			conf->admin_conns = (unsigned)v;
		} else {
			return tether_conf_error(p->c, args[i], "admin expects "
						 "timeout or conns, not '%s'",
						 args[i]->text);
		}
	}
	return 0;
}

/*
 * user NAME. Loaded for start-up or -n (p->host), the name must be a
 * user of this host: found here, the mistake is a diagnostic at its
 * place in the file, printed before anything is bound or detached
 * (tether_priv_drop would only find it later, in the daemon). Reloads
 * and the fuzzer do not look: the user is taken at start only.
 */
static int
set_user(struct parser *p, void *obj, const struct directive *d,
	 const struct tether_conf_token *const *args, int n)
{
	char pwbuf[16384];
	struct passwd pw, *res = NULL;
	int e;

	if (set_string(p, obj, d, args, n) < 0)
		return -TETHER_ESYNTAX;
	if (!p->host)
		return 0;
	e = getpwnam_r(args[0]->text, &pw, pwbuf, sizeof(pwbuf), &res);
	if (res != NULL)
		return 0;
	if (e == 0 || e == ENOENT || e == ESRCH)
		return tether_conf_error(p->c, args[0], "no such user '%s'",
					 args[0]->text);
	return tether_conf_error(p->c, args[0], "cannot look up user '%s': "
				 "%s", args[0]->text, strerror(e));
}

static const struct directive global_directives[] = {
	{ "pidfile", 1, 1, set_abs_path, offsetof(struct lb_conf, pidfile), 0,
	  LB_PATH_MAX, 0 },
	{ "user", 1, 1, set_user, offsetof(struct lb_conf, user), 0,
	  LB_NAME_MAX, 0 },
	{ "control", 1, 1, set_abs_path, offsetof(struct lb_conf, control), 0,
	  TETHER_ADDR_UNIX_PATH_MAX + 1, 0 },
	{ "max-conns", 1, 1, set_uint, offsetof(struct lb_conf, max_conns),
	  0, LB_MAX_CONNS, 0 },
	{ "log-level", 1, 1, set_log_level, 0, 0, 0, 0 },
	{ "metrics", 1, 1, set_metrics, 0, 0, 0, 0 },
	{ "admin", 2, 4, set_admin, 0, 0, 0, 0 },
	{ "io-uring", 1, 1, set_onoff, offsetof(struct lb_conf, io_uring), 0,
	  0, 0 },
	{ "io-uring-buffers", 1, 1, set_pow2, offsetof(struct lb_conf,
	  io_uring_bufs), 1, LB_URING_BUFS_MAX, 0 },
	{ "kernel-relay", 1, 1, set_onoff, offsetof(struct lb_conf,
	  kernel_relay), 0, 0, 0 },
	{ "kernel-relay-after", 1, 1, set_uint, offsetof(struct lb_conf,
	  kernel_relay_after), 1, LB_KRELAY_AFTER_MAX, 0 },
	{ "kernel-relay-window", 1, 1, set_size, offsetof(struct lb_conf,
	  kernel_relay_window), LB_KRELAY_WINDOW_MIN, LB_KRELAY_WINDOW_MAX,
	  0 },
};

/* ------------------------------------------------------------------ */
/* Statements                                                          */
/* ------------------------------------------------------------------ */

/* Skip to the end of the current statement, or to a '}' (left for the
 * caller). A block the statement opens is skipped whole. */
static void
skip_stmt(struct tether_conf *c)
{
	unsigned depth = 0;

	for (;;) {
		int type = tether_conf_peek(c)->type;

		if (type == TETHER_CONF_EOF)
			return;
		if (type == TETHER_CONF_RBRACE && depth == 0)
			return;
		tether_conf_next(c);
		if (type == TETHER_CONF_LBRACE)
			depth++;
		else if (type == TETHER_CONF_RBRACE && --depth == 0)
			return;
		else if (type == TETHER_CONF_EOS && depth == 0)
			return;
	}
}

/*
 * One simple statement whose keyword kw was read, looked up in tab.
 * seen has one bit per row (tables have fewer than 32 rows) to catch a
 * repeated singular directive.
 */
static void
parse_stmt(struct parser *p, const struct tether_conf_token *kw,
	   const struct directive *tab, size_t ntab, void *obj,
	   uint32_t *seen, const char *where)
{
	const struct tether_conf_token *args[ARGS_MAX];
	const struct directive *d;
	int n, rest;

	d = find_directive(tab, ntab, kw->text);
	if (d == NULL && kw->line == 1 && kw->col == 1 &&
	    strncmp(kw->text, "\xef\xbb\xbf", 3) == 0) {
		/* Some editors start UTF-8 files with a BOM, which the
		 * message would quote invisibly ("unknown directive
		 * 'service'"); name it instead. Not skipped: the file is
		 * read as bytes, and the fix is one save away. */
		tether_conf_error(p->c, kw, "byte-order mark at the start of "
				  "the file: save it as UTF-8 without one");
		skip_stmt(p->c);
		return;
	}
	if (d == NULL) {
		tether_conf_error(p->c, kw, "unknown directive '%s' %s",
				  kw->text, where);
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
		uint32_t bit = 1u << (d - tab);

		if (*seen & bit) {
			tether_conf_error(p->c, kw, "duplicate '%s'",
					  d->name);
			return;
		}
		*seen |= bit;
	}
	d->set(p, obj, d, args, n);
}

static void
service_defaults(struct lb_conf_service *s)
{
	memset(s, 0, sizeof(*s));
	s->balance = LB_BALANCE_WRR;
	s->persist.mask4 = 32;
	s->persist.mask6 = 128;
	s->persist.timeout_ms = LB_DEFAULT_PERSIST_TIMEOUT_MS;
	s->persist.size = LB_DEFAULT_PERSIST_SIZE;
	s->check.type = LB_CHECK_NONE;
	s->check.interval_ms = LB_DEFAULT_CHECK_INTERVAL_MS;
	s->check.timeout_ms = LB_DEFAULT_CHECK_TIMEOUT_MS;
	s->check.rise = LB_DEFAULT_CHECK_RISE;
	s->check.fall = LB_DEFAULT_CHECK_FALL;
	s->limits.connect_timeout_ms = LB_DEFAULT_CONNECT_TIMEOUT_MS;
	s->limits.idle_timeout_ms = LB_DEFAULT_IDLE_TIMEOUT_MS;
	s->limits.retries = LB_DEFAULT_RETRIES;
	s->limits.backlog = LB_DEFAULT_BACKLOG;
	s->splice = 1;
	s->half_close = 1;
	s->kernel_relay = -1;
}

static void
service_free(struct lb_conf_service *s)
{
	tether_free(s->listens);
	tether_free(s->backends);
}

/* "service NAME {" was read up to NAME (t); parse the block into a new
 * service of p->conf. */
static void
parse_service(struct parser *p, const struct tether_conf_token *name)
{
	struct lb_conf_service s, *ns;
	const struct tether_conf_token *t;
	char at[PATH_MAX + 16];
	uint32_t seen = 0;
	size_t i;
	int bad = 0;

	service_defaults(&s);
	p->check_tcp = NULL;
	p->proxy_v2 = NULL;
	s.line = name->line;
	s.col = name->col;
	if (check_name(p, name, "service name") < 0)
		bad = 1;
	else
		memcpy(s.name, name->text, name->len + 1);
	for (i = 0; i < p->conf->nservices; i++)
		if (strcmp(p->conf->services[i].name, s.name) == 0) {
			tether_conf_error(p->c, name, "duplicate service "
					  "'%s'", s.name);
			bad = 1;
		}
	t = tether_conf_next(p->c);
	if (t->type != TETHER_CONF_LBRACE) {
		tether_conf_error(p->c, t, "expected '{' after the service "
				  "name");
		if (t->type != TETHER_CONF_EOS)
			skip_stmt(p->c);
		return;
	}
	for (;;) {
		t = tether_conf_next(p->c);
		if (t->type == TETHER_CONF_RBRACE || t->type == TETHER_CONF_EOF)
			break;
		if (t->type != TETHER_CONF_WORD) {
			tether_conf_error(p->c, t, "expected a directive, "
					  "found %s",
					  tether_conf_tok_name(t->type));
			skip_stmt(p->c);
			continue;
		}
		parse_stmt(p, t, service_directives,
			   TETHER_ARRAY_SIZE(service_directives), &s, &seen,
			   "in a service");
		if (p->nomem)
			break;
	}
	if (!p->nomem && s.nlistens == 0) {
		tether_conf_error(p->c, name, "service '%s' has no listen",
				  s.name);
		bad = 1;
	}
	if (!p->nomem && s.nbackends == 0) {
		tether_conf_error(p->c, name, "service '%s' has no backend",
				  s.name);
		bad = 1;
	}
	/* A backend without a port takes the client's; a TCP probe
	 * needs a TCP port, which a UDP-only service cannot lend (the
	 * probe of its UDP port would fail, or find some other server,
	 * and decide the backend's health on that). */
	if (!p->nomem && p->check_tcp != NULL)
		for (i = 0; i < s.nbackends; i++)
			if (lb_conf_check_port(&s, &s.backends[i]) == 0) {
				tether_conf_error(p->c, p->check_tcp,
					"check tcp: no port to probe backend "
					"'%s' on (it has no port, the check "
					"no 'port', the service no TCP "
					"listen)", s.backends[i].name);
				bad = 1;
				break;
			}
	/* rr ignores weights, so there is nothing to ramp. */
	if (!p->nomem && s.balance == LB_BALANCE_RR &&
	    s.check.slowstart_ms != 0)
		tether_conf_warn(p->c, name, "slowstart has no effect with "
				 "balance rr");
	/* The header is written at the start of a TCP connection to the
	 * backend; a UDP flow's datagrams are relayed as they come, with
	 * no room for one (udp.c). */
	if (!p->nomem && p->proxy_v2 != NULL)
		for (i = 0; i < s.nlistens; i++)
			if (s.listens[i].protos & LB_PROTO_UDP) {
				tether_conf_warn(p->c, p->proxy_v2,
					"proxy-protocol v2 is sent on TCP "
					"connections only: UDP datagrams "
					"(listen at %s) reach the "
					"backends without it",
					listen_at(at, sizeof(at), p->proxy_v2,
						  &s.listens[i]));
				break;
			}
	if (bad || p->nomem) {
		service_free(&s);
		return;
	}
	ns = tether_reallocarray(p->conf->services, p->conf->nservices + 1,
				 sizeof(*ns));
	if (ns == NULL) {
		p->nomem = 1;
		service_free(&s);
		return;
	}
	p->conf->services = ns;
	ns[p->conf->nservices++] = s;
}

static void
parse_file(struct parser *p)
{
	uint32_t seen = 0;

	for (;;) {
		const struct tether_conf_token *t = tether_conf_next(p->c);

		if (t->type == TETHER_CONF_EOF || p->nomem)
			return;
		if (t->type != TETHER_CONF_WORD) {
			tether_conf_error(p->c, t, "expected a directive, "
					  "found %s",
					  tether_conf_tok_name(t->type));
			skip_stmt(p->c);
			if (tether_conf_peek(p->c)->type == TETHER_CONF_RBRACE)
				tether_conf_next(p->c);
			continue;
		}
		if (strcmp(t->text, "service") == 0) {
			const struct tether_conf_token *name;

			name = tether_conf_next(p->c);
			if (name->type != TETHER_CONF_WORD &&
			    name->type != TETHER_CONF_STRING) {
				tether_conf_error(p->c, name, "expected a "
						  "service name");
				skip_stmt(p->c);
				continue;
			}
			if (p->conf->nservices == LB_MAX_SERVICES) {
				tether_conf_error(p->c, name, "more than %d "
						  "services", LB_MAX_SERVICES);
				skip_stmt(p->c);
				continue;
			}
			parse_service(p, name);
			continue;
		}
		parse_stmt(p, t, global_directives,
			   TETHER_ARRAY_SIZE(global_directives), p->conf,
			   &seen, "at the top level");
	}
}

void
lb_conf_free(struct lb_conf *conf)
{
	size_t i;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->nservices; i++)
		service_free(&conf->services[i]);
	tether_free(conf->services);
	tether_free(conf);
}

static int
load(const char *path, const char *name, const void *data, size_t len,
     const struct tether_conf_limits *lim, int host, struct lb_conf **out,
     struct tether_buf *diag)
{
	struct tether_conf *c;
	struct parser p;
	size_t i, j;
	int err;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	p.host = host;
	c = tether_conf_new(lim);
	if (c == NULL)
		return -TETHER_ENOMEM;
	p.c = c;
	p.conf = tether_calloc(1, sizeof(*p.conf));
	if (p.conf == NULL) {
		err = -TETHER_ENOMEM;
		goto fail;
	}
	p.conf->log_level = TETHER_LOG_INFO;
	p.conf->io_uring_bufs = LB_URING_BUFS_DEFAULT;
	p.conf->kernel_relay_after = LB_KRELAY_AFTER_DEFAULT;
	p.conf->kernel_relay_window = LB_KRELAY_WINDOW_DEFAULT;
	p.conf->admin_timeout_ms = TETHER_CTL_DEFAULT_TIMEOUT_MS;
	p.conf->admin_conns = TETHER_CTL_DEFAULT_CONNS;
	if (path != NULL)
		err = tether_conf_load_file(c, path);
	else
		err = tether_conf_load_mem(c, name, data, len);
	if (err < 0)
		goto fail;
	parse_file(&p);
	if (!p.nomem)
		check_metrics(&p);
	if (p.nomem) {
		err = -TETHER_ENOMEM;
		goto fail;
	}
	if (tether_conf_error_count(c) > 0) {
		err = -TETHER_ESYNTAX;
		goto fail;
	}
	if (diag != NULL)
		(void)tether_buf_append_str(diag, tether_conf_diagnostics(c));
	/* The listens' file names die with the tokenizer. */
	for (i = 0; i < p.conf->nservices; i++)
		for (j = 0; j < p.conf->services[i].nlistens; j++)
			p.conf->services[i].listens[j].file = NULL;
	tether_conf_free(c);
	*out = p.conf;
	return 0;
fail:
	if (diag != NULL)
		(void)tether_buf_append_str(diag, tether_conf_diagnostics(c));
	tether_conf_free(c);
	lb_conf_free(p.conf);
	return err;
}

int
lb_conf_load_file(const char *path, struct lb_conf **out,
		  struct tether_buf *diag)
{
	if (path == NULL || out == NULL)
		return -TETHER_EINVAL;
	return load(path, NULL, NULL, 0, NULL, 0, out, diag);
}

int
lb_conf_load_file_host(const char *path, struct lb_conf **out,
		       struct tether_buf *diag)
{
	if (path == NULL || out == NULL)
		return -TETHER_EINVAL;
	return load(path, NULL, NULL, 0, NULL, 1, out, diag);
}

int
lb_conf_load_mem(const char *name, const void *data, size_t len,
		 struct lb_conf **out, struct tether_buf *diag)
{
	return lb_conf_load_mem_lim(name, data, len, NULL, out, diag);
}

int
lb_conf_load_mem_lim(const char *name, const void *data, size_t len,
		     const struct tether_conf_limits *lim,
		     struct lb_conf **out, struct tether_buf *diag)
{
	if (name == NULL || out == NULL || (data == NULL && len > 0))
		return -TETHER_EINVAL;
	return load(NULL, name, data, len, lim, 0, out, diag);
}

/* A string as the tokenizer reads it back: bare when it is a plain
 * word, else quoted. Values hold no control characters (check_text), so
 * '...' works unless there is a single quote, and "..." with \" and \\
 * escapes then. */
static int
write_word(struct tether_buf *b, const char *s)
{
	const char *q;
	int err;

	for (q = s; *q != '\0'; q++)
		if ((unsigned char)*q <= ' ' || strchr(";{}\"'#", *q) != NULL)
			break;
	if (*s != '\0' && *q == '\0' && strcmp(s, "include") != 0)
		return tether_buf_append_str(b, s);
	if (strchr(s, '\'') == NULL)
		return tether_buf_printf(b, "'%s'", s);
	if ((err = tether_buf_append_str(b, "\"")) < 0)
		return err;
	for (q = s; *q != '\0'; q++) {
		err = *q == '"' ? tether_buf_append_str(b, "\\\"") :
		      *q == '\\' ? tether_buf_append_str(b, "\\\\") :
		      tether_buf_append(b, q, 1);
		if (err < 0)
			return err;
	}
	return tether_buf_append_str(b, "\"");
}

static int
write_addr(struct tether_buf *b, const struct tether_addr *a, int port)
{
	char buf[TETHER_ADDR_STRLEN];
	int n = tether_addr_format(a, buf, sizeof(buf),
				   TETHER_ADDR_FMT_NUMERIC |
				   (port ? 0 : TETHER_ADDR_FMT_NOPORT));

	if (n < 0)
		return n;
	if (!port && a->ss.ss_family == AF_INET6)
		return tether_buf_printf(b, "[%s]", buf);
	return tether_buf_append_str(b, buf);
}

int
lb_conf_write(const struct lb_conf *conf, struct tether_buf *b)
{
	size_t i, j;
	int err = 0;

#define W(expr) do { if ((err = (expr)) < 0) return err; } while (0)
	if (conf->pidfile[0] != '\0') {
		W(tether_buf_append_str(b, "pidfile "));
		W(write_word(b, conf->pidfile));
		W(tether_buf_append_str(b, "\n"));
	}
	if (conf->user[0] != '\0') {
		W(tether_buf_append_str(b, "user "));
		W(write_word(b, conf->user));
		W(tether_buf_append_str(b, "\n"));
	}
	if (conf->control[0] != '\0') {
		W(tether_buf_append_str(b, "control "));
		W(write_word(b, conf->control));
		W(tether_buf_append_str(b, "\n"));
	}
	if (conf->has_metrics) {
		W(tether_buf_append_str(b, "metrics "));
		W(write_addr(b, &conf->metrics, 1));
		W(tether_buf_append_str(b, "\n"));
	}
	W(tether_buf_printf(b, "admin timeout %llums conns %u\n",
			    (unsigned long long)conf->admin_timeout_ms,
			    conf->admin_conns));
	W(tether_buf_printf(b, "max-conns %u\nlog-level %s\nio-uring %s\n"
			    "io-uring-buffers %u\nkernel-relay %s\n"
			    "kernel-relay-after %u\nkernel-relay-window %u\n",
			    conf->max_conns,
			    tether_log_level_name(conf->log_level),
			    conf->io_uring ? "on" : "off", conf->io_uring_bufs,
			    conf->kernel_relay ? "on" : "off",
			    conf->kernel_relay_after,
			    conf->kernel_relay_window));
	for (i = 0; i < conf->nservices; i++) {
		const struct lb_conf_service *s = &conf->services[i];

		W(tether_buf_append_str(b, "service "));
		W(write_word(b, s->name));
		W(tether_buf_append_str(b, " {\n"));
		for (j = 0; j < s->nlistens; j++) {
			const struct lb_conf_listen *l = &s->listens[j];

			W(tether_buf_append_str(b, "\tlisten "));
			W(write_addr(b, &l->addr, 1));
			if (l->port_hi != l->port_lo)
				W(tether_buf_printf(b, "-%u", l->port_hi));
			W(tether_buf_printf(b, "%s%s\n",
				l->protos & LB_PROTO_TCP ? " tcp" : "",
				l->protos & LB_PROTO_UDP ? " udp" : ""));
		}
		W(tether_buf_printf(b, "\tbalance %s\n",
				    lb_balance_name(s->balance)));
		if (s->persist.enabled)
			W(tether_buf_printf(b, "\tpersist source mask /%u /%u "
				"timeout %llums size %u\n", s->persist.mask4,
				s->persist.mask6,
				(unsigned long long)s->persist.timeout_ms,
				s->persist.size));
		for (j = 0; j < s->nbackends; j++) {
			const struct lb_conf_backend *be = &s->backends[j];

			W(tether_buf_append_str(b, "\tbackend "));
			W(write_word(b, be->name));
			W(tether_buf_append_str(b, " "));
			W(write_addr(b, &be->addr, be->has_port));
			W(tether_buf_printf(b, " weight %u\n", be->weight));
		}
		if (s->check.type == LB_CHECK_PASSIVE)
			W(tether_buf_printf(b, "\tcheck passive interval "
				"%llums fall %u",
				(unsigned long long)s->check.interval_ms,
				s->check.fall));
		else
			W(tether_buf_printf(b, "\tcheck %s interval %llums "
				"timeout %llums rise %u fall %u",
				s->check.type == LB_CHECK_TCP ? "tcp" : "none",
				(unsigned long long)s->check.interval_ms,
				(unsigned long long)s->check.timeout_ms,
				s->check.rise, s->check.fall));
		if (s->check.port != 0)
			W(tether_buf_printf(b, " port %u", s->check.port));
		if (s->check.slowstart_ms != 0)
			W(tether_buf_printf(b, " slowstart %llums",
				(unsigned long long)s->check.slowstart_ms));
		W(tether_buf_append_str(b, "\n"));
		W(tether_buf_printf(b, "\tlimits conns %u connect-timeout "
			"%llums idle-timeout %llums retries %u backlog %u "
			"drain-timeout %llums client-conns %u\n",
			s->limits.max_conns,
			(unsigned long long)s->limits.connect_timeout_ms,
			(unsigned long long)s->limits.idle_timeout_ms,
			s->limits.retries, s->limits.backlog,
			(unsigned long long)s->limits.drain_timeout_ms,
			s->limits.max_client_conns));
		if (s->proxy_v2)
			W(tether_buf_append_str(b, "\tproxy-protocol v2\n"));
		W(tether_buf_printf(b, "\tsplice %s\n",
				    s->splice ? "on" : "off"));
		W(tether_buf_printf(b, "\thalf-close %s\n",
				    s->half_close ? "on" : "off"));
		if (s->kernel_relay >= 0)
			W(tether_buf_printf(b, "\tkernel-relay %s\n",
					    s->kernel_relay ? "on" : "off"));
		W(tether_buf_append_str(b, "}\n"));
	}
#undef W
	return 0;
}
