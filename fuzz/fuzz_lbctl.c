/*
 * fuzz_lbctl.c - tether-lb's control commands (lb_ctl_exec: what
 * tetherctl sends down the control socket) on arbitrary lines, one per
 * input line, against one live proxy whose state (drained and disabled
 * backends, persistence entries) carries over from input to input.
 * Its listeners are on ephemeral loopback ports; no loop runs and no
 * connection is made. A line that starts with '!' runs with every
 * allocation failing (the answer's room reserved first). Invariants:
 * every answer is whole lines of text; show answers lines of its kinds
 * (none only for an empty persistence table); any other command
 * answers "ok", leaving that backend in the admin state asked for and
 * every other as it was, or one "error: " line, changing nothing;
 * states stay in range.
 */
#include "lb.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_lb.h"

#define FUZZ_MAX_INPUT (64u << 10)

/* WRR with persistence (entries), one with none, a Maglev one (its
 * table can fail to build) and one whose table stays empty. */
static const char conf_text[] =
	"service web {\n"
	"    listen 127.0.0.1:80\n"
	"    persist source mask /24 /64 timeout 30m\n"
	"    backend a 127.0.0.2:8080 weight 2\n"
	"    backend b 127.0.0.3:8080\n"
	"    backend c 127.0.0.4:8080\n"
	"}\n"
	"service rpc {\n"
	"    listen 127.0.0.1:111 tcp udp\n"
	"    backend r1 127.0.0.5\n"
	"}\n"
	"service mg {\n"
	"    listen 127.0.0.1:2049\n"
	"    balance maglev\n"
	"    backend m1 127.0.0.6\n"
	"    backend m2 127.0.0.7\n"
	"}\n"
	"service ftp {\n"
	"    listen 127.0.0.1:21\n"
	"    persist source timeout 1m\n"
	"    backend f1 127.0.0.8\n"
	"}\n";

#define FUZZ_MAX_BACKENDS 16

static struct tether_loop *loop;
static struct lb_conf *conf;
static struct lb_proxy *px;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
setup(void)
{
	size_t i;

	fuzz_lb_load(conf_text, sizeof(conf_text) - 1, &loop, &conf);
	px = fuzz_lb_proxy("fuzz_lbctl", loop, conf);
	/* Persistence entries: clients of three /24s. */
	for (i = 0; i < 3; i++) {
		struct lb_service *s = &px->services[0];
		struct tether_addr c;
		char a[32];

		snprintf(a, sizeof(a), "198.51.%zu.7:1000", i);
		if (tether_addr_parse(&c, a, -1) < 0 ||
		    lb_select(&s->pool, &s->persist, &c,
			      tether_loop_now(loop), NULL) == NULL)
			abort();
	}
}

/* The backend "SERVICE/BACKEND" names, or NULL. */
static const struct lb_backend *
lookup(const char *arg)
{
	const char *slash = strchr(arg, '/');
	size_t i, j;

	if (slash == NULL)
		return NULL;
	for (i = 0; i < px->nservices; i++) {
		const struct lb_service *s = &px->services[i];

		if (strlen(s->conf->name) != (size_t)(slash - arg) ||
		    strncmp(s->conf->name, arg, (size_t)(slash - arg)) != 0)
			continue;
		for (j = 0; j < s->pool.n; j++)
			if (strcmp(s->pool.backends[j].name, slash + 1) == 0)
				return &s->pool.backends[j];
	}
	return NULL;
}

/* Every backend's admin state, in service order. */
static size_t
admins(enum lb_admin *a)
{
	size_t i, j, n = 0;

	for (i = 0; i < px->nservices; i++)
		for (j = 0; j < px->services[i].pool.n; j++) {
			const struct lb_backend *b =
				&px->services[i].pool.backends[j];

			CHECK(n < FUZZ_MAX_BACKENDS);
			CHECK(b->state < LB_BACKEND_STATE_MAX);
			CHECK(b->admin < LB_ADMIN_MAX);
			a[n++] = b->admin;
		}
	return n;
}

static void
check_answer(const char *line, const struct tether_buf *out,
	     const enum lb_admin *before)
{
	static const char *const kinds[] = { "service ", "backend ",
					     "persist ", "truncated: " };
	const char *t = (const char *)out->data, *p, *nl;
	char cmd[16] = "", arg[LB_CTL_MAX_LINE + 1] = "";
	char cut[LB_CTL_MAX_LINE + 1];
	const struct lb_backend *b = NULL;
	enum lb_admin after[FUZZ_MAX_BACKENDS];
	size_t i, j, k, n;

	CHECK(out->len == 0 || t[out->len - 1] == '\n');
	CHECK(memchr(t, '\0', out->len) == NULL);
	/* The command's first two words, as lb_ctl_exec splits them (it
	 * reads at most LB_CTL_MAX_LINE bytes of the line). */
	snprintf(cut, sizeof(cut), "%s", line);
	(void)sscanf(cut, "%15s %1024s", cmd, arg);
	n = admins(after);
	if (out->len > 7 && strncmp(t, "error: ", 7) == 0) {
		CHECK(strchr(t, '\n') == t + out->len - 1);
		CHECK(memcmp(before, after, n * sizeof(*after)) == 0);
		return;
	}
	if (strcmp(cmd, "show") == 0) {
		/* Nothing only for a persistence table with no entries. */
		CHECK(out->len > 0 || strcmp(arg, "persist") == 0);
		for (p = t; p < t + out->len; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(t + out->len - p));
			for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
				if (strncmp(p, kinds[k], strlen(kinds[k])) == 0)
					break;
			CHECK(k < sizeof(kinds) / sizeof(kinds[0]));
		}
		CHECK(memcmp(before, after, n * sizeof(*after)) == 0);
		return;
	}
	CHECK(out->len == 3 && memcmp(t, "ok\n", 3) == 0);
	b = lookup(arg);
	CHECK(b != NULL);
	if (strcmp(cmd, "drain") == 0)
		CHECK(b->admin == LB_ADMIN_DRAINING);
	else if (strcmp(cmd, "disable") == 0)
		CHECK(b->admin == LB_ADMIN_DISABLED);
	else
		CHECK(strcmp(cmd, "enable") == 0 &&
		      b->admin == LB_ADMIN_ENABLED);
	for (i = k = 0; i < px->nservices; i++)
		for (j = 0; j < px->services[i].pool.n; j++, k++)
			CHECK(&px->services[i].pool.backends[j] == b ||
			      before[k] == after[k]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tether_buf out;
	char *text, *line, *next;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	if (px == NULL)
		setup();
	/* The control endpoint hands over a C string: stop at a NUL. */
	text = malloc(size + 1);
	CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	tether_buf_init(&out, LB_CTL_MAX_OUT);
	for (line = text; line != NULL; line = next) {
		enum lb_admin before[FUZZ_MAX_BACKENDS];
		int oom = line[0] == '!';

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		line += oom;
		(void)admins(before);
		tether_buf_reset(&out);
		/* Room for any answer here: only the command allocates. */
		CHECK(tether_buf_reserve(&out, 64u << 10) == 0);
		if (oom)
			tether_alloc_fail_at(1, 1);
		CHECK(lb_ctl_exec(px, line, &out) == 0);
		tether_alloc_fail_at(0, 0);
		check_answer(line, &out, before);
	}
	tether_buf_free(&out);
	free(text);
	return 0;
}
