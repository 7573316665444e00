/*
 * conf.c - tether-epmap's configuration file, read with the core
 * tokenizer. One statement per line:
 *
 *	listen 0.0.0.0:135          (repeatable; default 0.0.0.0:135, [::]:135)
 *	socket /run/tether/epmap.sock   ("none": no local registrations)
 *	port-range 49152 65535
 *	fixed-port UUID MAJOR PORT  (pin an interface to a port)
 *	max-connections 1024        max-fragment 5840    max-request 65536
 *	idle-timeout 120            max-registrations 1024
 *	max-lookup-handles 4096     max-handles-per-association 16
 *	handle-timeout 300          prune-interval 60 (0: off)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "epmap.h"

void
epmap_conf_defaults(struct epmap_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->listen_default = 1;
	memcpy(c->socket_path, EPMAP_DEFAULT_SOCKET,
	       sizeof(EPMAP_DEFAULT_SOCKET));
	c->port_lo = 49152;
	c->port_hi = 65535;
	c->max_conns = TETHER_DCE_SRV_MAX_CONNS;
	c->max_frag = TETHER_DCE_SRV_MAX_FRAG;
	c->max_request = TETHER_DCE_SRV_MAX_STUB;
	c->idle_s = TETHER_DCE_SRV_IDLE_MS / 1000;
	c->max_regs = 1024;
	c->max_handles = 4096;
	c->max_handles_per_assoc = 16;
	c->handle_timeout_s = 300;
	c->prune_s = 60;
}

static int
num(struct tether_conf *cf, const struct tether_conf_token *t, unsigned long lo,
    unsigned long hi, unsigned *out)
{
	unsigned long v;
	char *end;

	if (t->type != TETHER_CONF_WORD)
		return tether_conf_error(cf, t, "expected a number, got %s",
					 tether_conf_tok_name(t->type));
	errno = 0;
	v = strtoul(t->text, &end, 10);
	if (errno || *end != '\0' || t->text[0] < '0' || t->text[0] > '9')
		return tether_conf_error(cf, t, "'%s' is not a number",
					 t->text);
	if (v < lo || v > hi)
		return tether_conf_error(cf, t, "%lu is out of range %lu..%lu",
					 v, lo, hi);
	*out = (unsigned)v;
	return 0;
}

struct knob {
	const char *name;
	size_t off;
	unsigned long lo, hi;
};

#define K(n, f, lo, hi)                                   \
	{                                                 \
		n, offsetof(struct epmap_conf, f), lo, hi \
	}
static const struct knob knobs[] = {
	K("max-connections", max_conns, 1, 65536),
	K("max-fragment", max_frag, TETHER_DCE_FRAG_MIN_RECV,
	  TETHER_DCE_FRAG_MAX),
	K("max-request", max_request, 1024, 16u * 1024 * 1024),
	K("idle-timeout", idle_s, 1, 86400),
	K("max-registrations", max_regs, 1, 100000),
	K("max-lookup-handles", max_handles, 1, 1000000),
	K("max-handles-per-association", max_handles_per_assoc, 1, 1024),
	K("handle-timeout", handle_timeout_s, 1, 86400),
	K("prune-interval", prune_s, 0, 86400),
};

/* Words up to the end of the statement; returns how many (max n). */
static unsigned
args(struct tether_conf *cf, const struct tether_conf_token **v, unsigned n)
{
	const struct tether_conf_token *t;
	unsigned i = 0;

	for (;;) {
		t = tether_conf_peek(cf);
		if (t->type == TETHER_CONF_EOS || t->type == TETHER_CONF_EOF ||
		    t->type == TETHER_CONF_LBRACE ||
		    t->type == TETHER_CONF_RBRACE)
			break;
		t = tether_conf_next(cf);
		if (i < n)
			v[i] = t;
		i++;
	}
	return i;
}

static void
statement(struct tether_conf *cf, struct epmap_conf *c,
	  const struct tether_conf_token *kw)
{
	const struct tether_conf_token *v[4];
	unsigned n = args(cf, v, 4), i, a, b, p;

	if (strcmp(kw->text, "listen") == 0) {
		if (n != 1) {
			tether_conf_error(cf, kw, "listen takes one address");
			return;
		}
		if (c->listen_default) {
			c->listen_default = 0;
			c->n_listen = 0;
		}
		if (c->n_listen == EPMAP_MAX_LISTEN) {
			tether_conf_error(cf, kw, "more than %d listen lines",
					  EPMAP_MAX_LISTEN);
			return;
		}
		if (tether_addr_parse(&c->listen[c->n_listen], v[0]->text,
				      135) < 0 ||
		    c->listen[c->n_listen].ss.ss_family == AF_UNIX) {
			tether_conf_error(cf, v[0],
					  "'%s' is not an IP address and port",
					  v[0]->text);
			return;
		}
		c->n_listen++;
		return;
	}
	if (strcmp(kw->text, "socket") == 0) {
		if (n != 1) {
			tether_conf_error(cf, kw, "socket takes one path");
		} else if (strcmp(v[0]->text, "none") == 0) {
			c->socket_path[0] = '\0';
		} else if (v[0]->text[0] != '/' ||
			   v[0]->len > TETHER_ADDR_UNIX_PATH_MAX) {
			tether_conf_error(cf, v[0],
					  "socket needs an absolute path of at "
					  "most %d bytes",
					  TETHER_ADDR_UNIX_PATH_MAX);
		} else {
			memcpy(c->socket_path, v[0]->text, v[0]->len + 1);
		}
		return;
	}
	if (strcmp(kw->text, "port-range") == 0) {
		if (n != 2) {
			tether_conf_error(cf, kw, "port-range takes LOW HIGH");
			return;
		}
		if (num(cf, v[0], 1, 65535, &a) < 0 ||
		    num(cf, v[1], 1, 65535, &b) < 0)
			return;
		if (a > b) {
			tether_conf_error(cf, v[0], "empty port range %u-%u", a,
					  b);
			return;
		}
		c->port_lo = (uint16_t)a;
		c->port_hi = (uint16_t)b;
		return;
	}
	if (strcmp(kw->text, "fixed-port") == 0) {
		struct epmap_fixed *f;

		if (n != 3) {
			tether_conf_error(cf, kw,
					  "fixed-port takes UUID MAJOR PORT");
			return;
		}
		if (c->n_fixed == EPMAP_MAX_FIXED) {
			tether_conf_error(cf, kw, "too many fixed-port lines");
			return;
		}
		f = &c->fixed[c->n_fixed];
		if (tether_dce_uuid_parse(v[0]->text, &f->uuid) < 0) {
			tether_conf_error(cf, v[0], "'%s' is not a UUID",
					  v[0]->text);
			return;
		}
		if (num(cf, v[1], 0, 65535, &a) < 0 ||
		    num(cf, v[2], 1, 65535, &p) < 0)
			return;
		f->vers_major = (uint16_t)a;
		f->port = (uint16_t)p;
		for (i = 0; i < c->n_fixed; i++)
			if (c->fixed[i].port == f->port ||
			    (tether_dce_uuid_equal(&c->fixed[i].uuid,
						   &f->uuid) &&
			     c->fixed[i].vers_major == f->vers_major)) {
				tether_conf_error(cf, kw,
						  "fixed-port repeats an "
						  "interface or a port");
				return;
			}
		c->n_fixed++;
		return;
	}
	for (i = 0; i < TETHER_ARRAY_SIZE(knobs); i++) {
		if (strcmp(kw->text, knobs[i].name) != 0)
			continue;
		if (n != 1) {
			tether_conf_error(cf, kw, "%s takes one number",
					  kw->text);
			return;
		}
		num(cf, v[0], knobs[i].lo, knobs[i].hi,
		    (unsigned *)((char *)c + knobs[i].off));
		return;
	}
	tether_conf_error(cf, kw, "unknown statement '%s'", kw->text);
}

int
epmap_conf_load(struct epmap_conf *c, const char *path, const void *data,
		size_t len, struct tether_buf *diag)
{
	const struct tether_conf_token *t;
	struct tether_conf *cf;
	int rc;

	cf = tether_conf_new(NULL);
	if (cf == NULL)
		return -TETHER_ENOMEM;
	rc = data != NULL ? tether_conf_load_mem(cf, path, data, len)
			  : tether_conf_load_file(cf, path);
	while (rc == 0) {
		t = tether_conf_next(cf);
		if (t->type == TETHER_CONF_EOF)
			break;
		if (t->type == TETHER_CONF_EOS)
			continue;
		if (t->type != TETHER_CONF_WORD) {
			tether_conf_error(cf, t, "expected a statement, got %s",
					  tether_conf_tok_name(t->type));
			if (t->type == TETHER_CONF_LBRACE)
				break;
			continue;
		}
		statement(cf, c, t);
		t = tether_conf_peek(cf);
		if (t->type == TETHER_CONF_LBRACE) {
			tether_conf_error(cf, t, "no block is allowed here");
			break;
		}
	}
	if (rc == 0 && tether_conf_error_count(cf) > 0)
		rc = -TETHER_ESYNTAX;
	if (rc < 0 && diag != NULL)
		tether_buf_append_str(diag, tether_conf_diagnostics(cf));
	tether_conf_free(cf);
	return rc;
}
