/*
 * fuzz_lbconf.c - tether-lb's configuration parser on arbitrary text
 * (includes disabled). Checks that a rejected file says why, that an
 * accepted one obeys the parser's promises (every service listens and
 * has backends, bounds hold, names are words tetherctl can address, no
 * listen or backend is IPv4-mapped (a backend's became IPv4), no two
 * listeners overlap, `check tcp` has a
 * port to probe each backend on), and that it written out and loaded
 * again gives the same text (a fixed point).
 */
#include "lb.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define FUZZ_MAX_INPUT (64u << 10)

/* A service or backend name: 1..63 bytes of letters, digits and
 * . _ : @ + - (no blank, '/' or quote: see check_name in conf.c). */
static int
name_ok(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n < LB_NAME_MAX &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "abcdefghijklmnopqrstuvwxyz0123456789._:@+-") == n;
}

static void
check_invariants(const struct lb_conf *c)
{
	size_t i, j, k, l;

	CHECK(c->nservices <= LB_MAX_SERVICES);
	CHECK(c->max_conns <= LB_MAX_CONNS);
	for (i = 0; i < c->nservices; i++) {
		const struct lb_conf_service *s = &c->services[i];
		unsigned ports = 0;

		CHECK(name_ok(s->name));
		CHECK(s->nlistens >= 1 && s->nlistens <= LB_MAX_LISTENS);
		CHECK(s->nbackends >= 1 && s->nbackends <= LB_MAX_BACKENDS);
		CHECK(s->balance < LB_BALANCE_MAX);
		CHECK(s->persist.mask4 <= 32 && s->persist.mask6 <= 128);
		CHECK(s->persist.size >= 1 &&
		      s->persist.size <= LB_MAX_PERSIST);
		CHECK(s->persist.timeout_ms >= 1000 &&
		      s->persist.timeout_ms <= LB_MAX_DURATION_MS);
		CHECK(s->check.timeout_ms <= s->check.interval_ms);
		CHECK(s->check.rise >= 1 && s->check.fall >= 1);
		for (j = 0; j < i; j++)
			CHECK(strcmp(c->services[j].name, s->name) != 0);
		for (j = 0; j < s->nlistens; j++) {
			const struct lb_conf_listen *a = &s->listens[j];

			CHECK(a->port_lo >= 1 && a->port_lo <= a->port_hi);
			CHECK(a->protos != 0 && (a->protos &
			      ~(LB_PROTO_TCP | LB_PROTO_UDP)) == 0);
			CHECK(a->addr.ss.ss_family == AF_INET ||
			      a->addr.ss.ss_family == AF_INET6);
			/* Never IPv4-mapped: IPv6 listeners are V6ONLY. */
			CHECK(a->addr.ss.ss_family != AF_INET6 ||
			      !IN6_IS_ADDR_V4MAPPED(&((const struct
				sockaddr_in6 *)(const void *)
				&a->addr.ss)->sin6_addr));
			ports += a->port_hi - a->port_lo + 1u;
			/* No overlap with any listen before it. */
			for (k = 0; k <= i; k++) {
				const struct lb_conf_service *o =
					&c->services[k];

				for (l = 0; l < (k == i ? j : o->nlistens);
				     l++) {
					const struct lb_conf_listen *b =
						&o->listens[l];
					struct tether_addr x = a->addr,
							   y = b->addr;

					tether_addr_set_port(&x, 0);
					tether_addr_set_port(&y, 0);
					CHECK(tether_addr_compare(&x, &y)
					      != 0 ||
					      !(a->protos & b->protos) ||
					      a->port_hi < b->port_lo ||
					      b->port_hi < a->port_lo);
				}
			}
		}
		CHECK(ports <= LB_MAX_PORTS);
		for (j = 0; j < s->nbackends; j++) {
			const struct lb_conf_backend *b = &s->backends[j];

			CHECK(name_ok(b->name));
			CHECK(b->weight <= LB_MAX_WEIGHT);
			CHECK(!b->has_port || tether_addr_port(&b->addr) > 0);
			CHECK(b->has_port || tether_addr_port(&b->addr) == 0);
			/* IPv4-mapped became IPv4 (unmap_v4 in conf.c). */
			CHECK(b->addr.ss.ss_family == AF_INET ||
			      (b->addr.ss.ss_family == AF_INET6 &&
			       !IN6_IS_ADDR_V4MAPPED(&((const struct
				sockaddr_in6 *)(const void *)
				&b->addr.ss)->sin6_addr)));
			CHECK(s->check.type != LB_CHECK_TCP ||
			      lb_conf_check_port(s, b) != 0);
			for (k = 0; k < j; k++)
				CHECK(strcmp(s->backends[k].name,
					     b->name) != 0);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tether_conf_limits lim;
	struct lb_conf *c = NULL, *c2 = NULL;
	struct tether_buf diag, t1, t2;
	int err;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	memset(&lim, 0, sizeof(lim));
	lim.flags = TETHER_CONF_NO_INCLUDE;
	tether_buf_init(&diag, 1u << 20);
	tether_buf_init(&t1, 1u << 24);
	tether_buf_init(&t2, 1u << 24);
	err = lb_conf_load_mem_lim("fuzz.conf", data, size, &lim, &c, &diag);
	CHECK(err == 0 || err == -TETHER_ESYNTAX || err == -TETHER_EMSGSIZE);
	if (err < 0) {
		CHECK(c == NULL);
		CHECK(diag.len > 0 && strstr((const char *)diag.data,
					     "error: ") != NULL);
		goto out;
	}
	check_invariants(c);
	CHECK(lb_conf_write(c, &t1) == 0);
	err = lb_conf_load_mem_lim("again.conf", t1.data, t1.len, &lim, &c2,
				   NULL);
	if (err != 0)
		fprintf(stderr, "rewritten text rejected:\n%s\n", t1.data);
	CHECK(err == 0);
	check_invariants(c2);
	CHECK(lb_conf_write(c2, &t2) == 0);
	CHECK(t1.len == t2.len && memcmp(t1.data, t2.data, t1.len) == 0);
out:
	lb_conf_free(c);
	lb_conf_free(c2);
	tether_buf_free(&diag);
	tether_buf_free(&t1);
	tether_buf_free(&t2);
	return 0;
}
