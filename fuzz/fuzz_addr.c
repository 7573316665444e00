/*
 * fuzz_addr.c - the address parsers. The first byte picks the mode:
 * socket form, uaddr with a netid from that byte, "netid uaddr" text,
 * or a raw sockaddr; the rest is the input. Whatever parses must format,
 * parse back equal, and survive the other text form too.
 */
#include "tether/core.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_err(int rc)
{
	/* Only the documented codes may come out of a parser. */
	if (rc != -TETHER_ESYNTAX && rc != -TETHER_ERANGE &&
	    rc != -TETHER_EOVERFLOW && rc != -TETHER_ENOENT &&
	    rc != -TETHER_EAFNOSUPPORT && rc != -TETHER_EINVAL)
		abort();
}

static void
check_same(const struct tether_addr *a, const struct tether_addr *b)
{
	if (tether_addr_compare(a, b) != 0 || tether_addr_compare(b, a) != 0)
		abort();
}

/* Everything that must hold for an address that parsed. */
static void
check_addr(const struct tether_addr *a, unsigned flags)
{
	char s[TETHER_ADDR_STRLEN], u[TETHER_UADDR_STRLEN], tiny[4];
	struct tether_addr b, noscope;
	int n, port, netid, fam;

	n = tether_addr_format(a, s, sizeof(s), flags & TETHER_ADDR_FMT_NUMERIC);
	if (n <= 0 || (size_t)n >= sizeof(s) || strlen(s) != (size_t)n)
		abort();
	if (tether_addr_parse(&b, s, -1) != 0)
		abort();
	check_same(a, &b);
	if (tether_addr_format(a, tiny, sizeof(tiny), 0) != -TETHER_ENOSPC &&
	    n >= (int)sizeof(tiny))
		abort();

	/* host-only form, port given back as the default */
	port = tether_addr_port(a);
	n = tether_addr_format(a, s, sizeof(s), flags | TETHER_ADDR_FMT_NOPORT);
	if (n <= 0)
		abort();
	if (tether_addr_parse(&b, s, port < 0 ? 0 : port) != 0)
		abort();
	check_same(a, &b);

	/* the universal address for a netid of the same family */
	fam = a->ss.ss_family;
	netid = fam == AF_INET ? TETHER_NETID_UDP :
		fam == AF_INET6 ? TETHER_NETID_TCP6 : TETHER_NETID_LOCAL;
	n = tether_addr_to_uaddr(a, netid, u, sizeof(u));
	if (n <= 0 || (size_t)n >= sizeof(u))
		abort();
	if (tether_addr_from_uaddr(&b, netid, u, (size_t)n) != 0)
		abort();
	noscope = *a;
	if (fam == AF_INET6)
		((struct sockaddr_in6 *)(void *)&noscope.ss)->sin6_scope_id = 0;
	check_same(&noscope, &b);
	/* ... and never for a netid of another family */
	netid = fam == AF_INET ? TETHER_NETID_TCP6 : TETHER_NETID_TCP;
	if (tether_addr_to_uaddr(a, netid, u, sizeof(u)) !=
	    -TETHER_EAFNOSUPPORT)
		abort();

	b = *a;
	if (port >= 0) {
		if (tether_addr_set_port(&b, port ^ 1) != 0 ||
		    tether_addr_compare(a, &b) == 0 ||
		    tether_addr_compare(a, &b) != -tether_addr_compare(&b, a))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage ss;
	struct tether_addr a;
	const char *s;
	char name[8];
	const char *sp;
	size_t n;
	int rc, netid;

	if (size < 1)
		return 0;
	s = (const char *)data + 1;
	n = size - 1;
	switch (data[0] & 3) {
	case 0:	/* socket form; top bit: a default port is allowed */
		rc = tether_addr_parse_n(&a, s, n,
					 (data[0] & 0x80) ? 2049 : -1);
		break;
	case 1:	/* uaddr, netid from the first byte */
		netid = (data[0] >> 2) % TETHER_NETID_MAX;
		rc = tether_addr_from_uaddr(&a, netid, s, n);
		break;
	case 2:	/* "netid uaddr" */
		sp = memchr(s, ' ', n);
		if (sp == NULL || (size_t)(sp - s) >= sizeof(name))
			return 0;
		memcpy(name, s, (size_t)(sp - s));
		name[sp - s] = '\0';
		netid = tether_netid_from_name(name);
		if (netid < 0) {
			if (netid != -TETHER_ENOENT)
				abort();
			return 0;
		}
		rc = tether_addr_from_uaddr(&a, netid, sp + 1,
					    n - (size_t)(sp - s) - 1);
		break;
	default: /* a raw sockaddr, as accept() might hand it over */
		if (n > sizeof(ss))
			return 0;
		memset(&ss, 0, sizeof(ss));
		memcpy(&ss, s, n);
		rc = tether_addr_from_sockaddr(&a, (struct sockaddr *)&ss,
					       (socklen_t)n);
		break;
	}
	if (rc != 0) {
		check_err(rc);
		return 0;
	}
	check_addr(&a, data[0] & 0x40 ? TETHER_ADDR_FMT_NUMERIC : 0);
	return 0;
}
