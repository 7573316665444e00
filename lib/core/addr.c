/*
 * addr.c - socket addresses and RFC 5665 universal addresses: strict
 * parsers, formatters that always parse back to the same address, and
 * the small helpers (compare, copy, port, loopback, netid names).
 *
 * Socket form grammar (tether_addr_parse), nothing else is accepted:
 *
 *   addr    = ipv4 ":" port | "[" ipv6 [ "%" zone ] "]" ":" port
 *           | "unix:" path | path
 *           | ipv4 | ipv6 [ "%" zone ] | "[" ipv6 [ "%" zone ] "]"
 *                                         ; last line: default port only
 *   ipv4    = what inet_pton(AF_INET) takes: exactly four decimal
 *             parts 0..255, no leading zeros ("01.2.3.4" is rejected:
 *             inet_aton would read it as octal), no hex, no short forms
 *   ipv6    = what inet_pton(AF_INET6) takes, at most 45 bytes
 *   zone    = decimal 1..4294967295 (no leading zero) | interface name
 *   port    = decimal 0..65535, no sign, no leading zeros ("0" is fine)
 *   path    = "/" ... , 1..107 bytes in all
 *
 * Universal address grammar (RFC 5665 5.2.3.3 / 5.2.3.4):
 *
 *   tcp, udp    = ipv4 "." p "." p
 *   tcp6, udp6  = ipv6 "." p "." p      ; no zone: uaddrs carry none
 *   local       = path
 *   p           = decimal 0..255, no leading zeros; port = p1 * 256 + p2
 *
 * libtirpc's uaddr2taddr cuts the two last dot parts and reads them with
 * atoi, so it takes "1.2.3.4.x.y" (port 0), "1.2.3.4.300.1" (port bits
 * spill over), "1.2.3.4.-1.0" and "1.2.3.4.007.1"; for local it takes any
 * string and truncates it to sun_path. We reject all of those; the
 * differential test in tests/integration/ lists each difference.
 */
#include "tether/core.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#define SUN_PATH_OFF offsetof(struct sockaddr_un, sun_path)
#define IP6_TEXT_MAX 45		/* INET6_ADDRSTRLEN - 1 */
#define ZONE_NAME_MAX (IF_NAMESIZE - 1)

_Static_assert(TETHER_ADDR_UNIX_PATH_MAX + 1 ==
	       sizeof(((struct sockaddr_un *)0)->sun_path),
	       "TETHER_ADDR_UNIX_PATH_MAX must be sun_path minus its NUL");
_Static_assert(TETHER_ADDR_STRLEN == 5 + TETHER_ADDR_UNIX_PATH_MAX + 1,
	       "TETHER_ADDR_STRLEN is 'unix:' + the longest path + NUL");
_Static_assert(TETHER_ADDR_STRLEN >= 1 + IP6_TEXT_MAX + 1 + ZONE_NAME_MAX +
	       2 + 5 + 1, "TETHER_ADDR_STRLEN must hold [ipv6%zone]:port");
_Static_assert(TETHER_UADDR_STRLEN == TETHER_ADDR_UNIX_PATH_MAX + 1,
	       "TETHER_UADDR_STRLEN is the longest path + NUL");
_Static_assert(TETHER_UADDR_STRLEN >= IP6_TEXT_MAX + 8 + 1,
	       "TETHER_UADDR_STRLEN must hold ipv6.255.255");
_Static_assert(sizeof(struct sockaddr_un) <= sizeof(struct sockaddr_storage),
	       "sockaddr_un fits sockaddr_storage");

static const char *const netid_names[TETHER_NETID_MAX] = {
	[TETHER_NETID_TCP] = "tcp",
	[TETHER_NETID_UDP] = "udp",
	[TETHER_NETID_TCP6] = "tcp6",
	[TETHER_NETID_UDP6] = "udp6",
	[TETHER_NETID_LOCAL] = "local",
};

static const int netid_families[TETHER_NETID_MAX] = {
	[TETHER_NETID_TCP] = AF_INET,
	[TETHER_NETID_UDP] = AF_INET,
	[TETHER_NETID_TCP6] = AF_INET6,
	[TETHER_NETID_UDP6] = AF_INET6,
	[TETHER_NETID_LOCAL] = AF_UNIX,
};

/* Typed views of the storage; sockaddr_storage is aligned for all. */
static const struct sockaddr_in *
cin4(const struct tether_addr *a)
{
	return (const struct sockaddr_in *)(const void *)&a->ss;
}

static const struct sockaddr_in6 *
cin6(const struct tether_addr *a)
{
	return (const struct sockaddr_in6 *)(const void *)&a->ss;
}

static const struct sockaddr_un *
cun(const struct tether_addr *a)
{
	return (const struct sockaddr_un *)(const void *)&a->ss;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return 0;
	return 1;
}

/*
 * Read a decimal without sign or leading zeros, at most max_digits
 * digits and at most max. -TETHER_ESYNTAX for the empty string, a
 * non-digit or a leading zero; -TETHER_ERANGE when too large.
 */
static int
parse_dec(const char *s, size_t n, size_t max_digits, unsigned long max,
	  unsigned long *out /* OUT */)
{
	/* 64 bits: ten digits (a zone index) overflow a 32-bit long. */
	uint64_t v = 0;
	size_t i;

	if (n == 0 || !all_digits(s, n))
		return -TETHER_ESYNTAX;
	if (s[0] == '0' && n > 1)
		return -TETHER_ESYNTAX;
	if (n > max_digits)
		return -TETHER_ERANGE;
	for (i = 0; i < n; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	if (v > max)
		return -TETHER_ERANGE;
	*out = (unsigned long)v;
	return 0;
}

/*
 * A character an interface name may hold and still parse back inside
 * "[...%name]": Linux forbids '/', ':' and white space in names, and we
 * also need '%' and ']' to stay delimiters.
 */
static int
zone_name_char(char c)
{
	return c > ' ' && c < 0x7f && c != '/' && c != ':' && c != '%' &&
	       c != ']' && c != '[';
}

static int
parse_zone(const char *z, size_t n, uint32_t *scope /* OUT */)
{
	char name[IF_NAMESIZE];
	unsigned long v;
	unsigned idx;
	size_t i;
	int rc;

	if (n == 0)
		return -TETHER_ESYNTAX;
	if (all_digits(z, n)) {
		rc = parse_dec(z, n, 10, UINT32_MAX, &v);
		if (rc < 0)
			return rc;
		if (v == 0)
			return -TETHER_ERANGE;	/* 0 means "no zone" */
		*scope = (uint32_t)v;
		return 0;
	}
	for (i = 0; i < n; i++)
		if (!zone_name_char(z[i]))
			return -TETHER_ESYNTAX;
	if (n > ZONE_NAME_MAX)
		return -TETHER_ENOENT;	/* no interface can have that name */
	memcpy(name, z, n);
	name[n] = '\0';
	idx = if_nametoindex(name);
	if (idx == 0)
		return -TETHER_ENOENT;
	*scope = idx;
	return 0;
}

/* inet_pton on a counted string; 1 when it is an address of af. */
static int
pton_n(int af, const char *s, size_t n, void *dst)
{
	char tmp[IP6_TEXT_MAX + 1];

	if (n == 0 || n > IP6_TEXT_MAX)
		return 0;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return inet_pton(af, tmp, dst) == 1;
}

static void
make_in4(struct tether_addr *out, const struct in_addr *ia, unsigned port)
{
	struct sockaddr_in sin;

	memset(out, 0, sizeof(*out));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr = *ia;
	memcpy(&out->ss, &sin, sizeof(sin));
	out->len = sizeof(sin);
}

static void
make_in6(struct tether_addr *out, const struct in6_addr *ia, unsigned port,
	 uint32_t scope)
{
	struct sockaddr_in6 sin6;

	memset(out, 0, sizeof(*out));
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons((uint16_t)port);
	sin6.sin6_addr = *ia;
	sin6.sin6_scope_id = scope;
	memcpy(&out->ss, &sin6, sizeof(sin6));
	out->len = sizeof(sin6);
}

/* path: n bytes, checked here: absolute, 1..107 bytes, no NUL. */
static int
make_un(struct tether_addr *out, const char *path, size_t n)
{
	struct sockaddr_un sun;

	if (n == 0 || path[0] != '/' || n > TETHER_ADDR_UNIX_PATH_MAX ||
	    memchr(path, '\0', n) != NULL)
		return -TETHER_ESYNTAX;
	memset(out, 0, sizeof(*out));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, n);
	memcpy(&out->ss, &sun, sizeof(sun));
	/* With the NUL, as the kernel reports it from getsockname. */
	out->len = (socklen_t)(SUN_PATH_OFF + n + 1);
	return 0;
}

/* "ipv6" or "ipv6%zone", n bytes. */
static int
parse_ip6_zone(const char *s, size_t n, struct in6_addr *ia /* OUT */,
	       uint32_t *scope /* OUT */)
{
	const char *pct = memchr(s, '%', n);
	size_t alen = pct ? (size_t)(pct - s) : n;

	if (!pton_n(AF_INET6, s, alen, ia))
		return -TETHER_ESYNTAX;
	*scope = 0;
	if (pct == NULL)
		return 0;
	return parse_zone(pct + 1, n - alen - 1, scope);
}

static int
parse_port(const char *s, size_t n, unsigned *port /* OUT */)
{
	unsigned long v;
	int rc = parse_dec(s, n, 5, 65535, &v);

	if (rc == 0)
		*port = (unsigned)v;
	return rc;
}

int
tether_addr_parse_n(struct tether_addr *out, const char *s, size_t len,
		    int default_port)
{
	struct tether_addr tmp;
	struct in6_addr ia6;
	struct in_addr ia4;
	const char *colon, *end;
	uint32_t scope = 0;
	unsigned port = 0;
	int rc;

	if (out == NULL || s == NULL || default_port < -1 ||
	    default_port > 65535)
		return -TETHER_EINVAL;
	/* Only now: NULL + len is undefined even if never dereferenced. */
	end = s + len;
	if (len >= TETHER_ADDR_STRLEN)
		return -TETHER_EOVERFLOW;
	if (memchr(s, '\0', len) != NULL)
		return -TETHER_ESYNTAX;

	if (len >= 5 && memcmp(s, "unix:", 5) == 0) {
		rc = make_un(&tmp, s + 5, len - 5);
		goto done;
	}
	if (len > 0 && s[0] == '/') {
		rc = make_un(&tmp, s, len);
		goto done;
	}

	if (len > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', len);

		if (rb == NULL)
			return -TETHER_ESYNTAX;
		rc = parse_ip6_zone(s + 1, (size_t)(rb - s - 1), &ia6, &scope);
		if (rc < 0)
			return rc;
		if (rb + 1 == end) {
			if (default_port < 0)
				return -TETHER_ESYNTAX;	/* port required */
			port = (unsigned)default_port;
		} else {
			if (rb[1] != ':')
				return -TETHER_ESYNTAX;
			rc = parse_port(rb + 2, (size_t)(end - rb - 2), &port);
			if (rc < 0)
				return rc;
		}
		make_in6(&tmp, &ia6, port, scope);
		rc = 0;
		goto done;
	}

	colon = memchr(s, ':', len);
	if (colon != NULL && memchr(colon + 1, ':', (size_t)(end - colon - 1))) {
		/* Two colons or more: a bare IPv6 host, never with a port
		 * ("::1:111" is itself an address, hence the brackets). */
		if (default_port < 0)
			return -TETHER_ESYNTAX;
		rc = parse_ip6_zone(s, len, &ia6, &scope);
		if (rc < 0)
			return rc;
		make_in6(&tmp, &ia6, (unsigned)default_port, scope);
		goto done;
	}
	if (!pton_n(AF_INET, s, colon ? (size_t)(colon - s) : len, &ia4))
		return -TETHER_ESYNTAX;
	if (colon == NULL) {
		if (default_port < 0)
			return -TETHER_ESYNTAX;
		port = (unsigned)default_port;
	} else {
		rc = parse_port(colon + 1, (size_t)(end - colon - 1), &port);
		if (rc < 0)
			return rc;
	}
	make_in4(&tmp, &ia4, port);
	rc = 0;
done:
	if (rc == 0)
		*out = tmp;
	return rc;
}

int
tether_addr_parse(struct tether_addr *out, const char *s, int default_port)
{
	if (s == NULL)
		return -TETHER_EINVAL;
	/* strnlen: never read past the bound on an unterminated input. */
	return tether_addr_parse_n(out, s, strnlen(s, TETHER_ADDR_STRLEN),
				   default_port);
}

/*
 * Check that *a is a consistent address of a supported family. Returns
 * the family, -TETHER_EAFNOSUPPORT or -TETHER_EINVAL. For AF_UNIX,
 * *pathlen (if not NULL) gets the path length.
 */
static int
addr_check(const struct tether_addr *a, size_t *pathlen /* OUT */)
{
	size_t room, n;

	if (a == NULL)
		return -TETHER_EINVAL;
	if (a->len > sizeof(a->ss))
		return -TETHER_EINVAL;
	switch (a->ss.ss_family) {
	case AF_INET:
		if (a->len < sizeof(struct sockaddr_in))
			return -TETHER_EINVAL;
		return AF_INET;
	case AF_INET6:
		if (a->len < sizeof(struct sockaddr_in6))
			return -TETHER_EINVAL;
		return AF_INET6;
	case AF_UNIX:
		if (a->len <= SUN_PATH_OFF ||
		    a->len > sizeof(struct sockaddr_un))
			return -TETHER_EINVAL;
		room = a->len - SUN_PATH_OFF;
		n = strnlen(cun(a)->sun_path, room);
		if (n == 0 || n > TETHER_ADDR_UNIX_PATH_MAX ||
		    cun(a)->sun_path[0] != '/')
			return -TETHER_EINVAL;
		if (pathlen != NULL)
			*pathlen = n;
		return AF_UNIX;
	default:
		return -TETHER_EAFNOSUPPORT;
	}
}

int
tether_addr_from_sockaddr(struct tether_addr *out, const struct sockaddr *sa,
			  socklen_t len)
{
	struct tether_addr tmp;
	size_t room, n;
	const char *path;

	if (out == NULL || sa == NULL || len < sizeof(sa_family_t))
		return -TETHER_EINVAL;
	switch (sa->sa_family) {
	case AF_INET:
		if (len < sizeof(struct sockaddr_in) || len > sizeof(tmp.ss))
			return -TETHER_EINVAL;
		memset(&tmp, 0, sizeof(tmp));
		memcpy(&tmp.ss, sa, sizeof(struct sockaddr_in));
		tmp.len = sizeof(struct sockaddr_in);
		break;
	case AF_INET6:
		if (len < sizeof(struct sockaddr_in6) || len > sizeof(tmp.ss))
			return -TETHER_EINVAL;
		memset(&tmp, 0, sizeof(tmp));
		memcpy(&tmp.ss, sa, sizeof(struct sockaddr_in6));
		tmp.len = sizeof(struct sockaddr_in6);
		break;
	case AF_UNIX:
		if (len > sizeof(struct sockaddr_un))
			return -TETHER_EINVAL;
		if (len <= SUN_PATH_OFF)
			return -TETHER_EAFNOSUPPORT;	/* unnamed */
		room = len - SUN_PATH_OFF;
		path = ((const struct sockaddr_un *)(const void *)sa)->sun_path;
		n = strnlen(path, room);
		if (n == 0 || path[0] != '/')
			return -TETHER_EAFNOSUPPORT;	/* abstract, relative */
		if (n > TETHER_ADDR_UNIX_PATH_MAX)
			return -TETHER_EINVAL;
		if (make_un(&tmp, path, n) < 0)
			return -TETHER_EINVAL;
		break;
	default:
		return -TETHER_EAFNOSUPPORT;
	}
	*out = tmp;
	return 0;
}

/* snprintf's result to our convention. */
static int
fmt_result(int w, char *buf, size_t size)
{
	if (w < 0) {
		if (size > 0)
			buf[0] = '\0';
		return -TETHER_EINVAL;
	}
	if ((size_t)w >= size) {
		if (size > 0)
			buf[0] = '\0';
		return -TETHER_ENOSPC;
	}
	return w;
}

/*
 * The zone text for scope: the interface name when it has one that
 * parses back to the same index (not all digits, only safe characters),
 * else the number.
 */
static void
zone_text(uint32_t scope, unsigned flags, char out[IF_NAMESIZE + 11])
{
	char name[IF_NAMESIZE];
	size_t n, i;

	if (!(flags & TETHER_ADDR_FMT_NUMERIC) &&
	    if_indextoname(scope, name) != NULL) {
		n = strnlen(name, sizeof(name));
		for (i = 0; i < n; i++)
			if (!zone_name_char(name[i]))
				break;
		if (n > 0 && n < sizeof(name) && i == n &&
		    !all_digits(name, n)) {
			memcpy(out, name, n + 1);
			return;
		}
	}
	snprintf(out, IF_NAMESIZE + 11, "%lu", (unsigned long)scope);
}

int
tether_addr_format(const struct tether_addr *a, char *buf, size_t size,
		   unsigned flags)
{
	char host[INET6_ADDRSTRLEN];
	char zone[IF_NAMESIZE + 11];
	size_t pathlen = 0;
	int fam, w;

	if (buf == NULL ||
	    (flags & ~(unsigned)(TETHER_ADDR_FMT_NUMERIC |
				 TETHER_ADDR_FMT_NOPORT)))
		return -TETHER_EINVAL;
	fam = addr_check(a, &pathlen);
	if (fam < 0)
		return fam;
	switch (fam) {
	case AF_INET:
		if (inet_ntop(AF_INET, &cin4(a)->sin_addr, host,
			      sizeof(host)) == NULL)
			return -TETHER_EINVAL;
		if (flags & TETHER_ADDR_FMT_NOPORT)
			w = snprintf(buf, size, "%s", host);
		else
			w = snprintf(buf, size, "%s:%u", host,
				     (unsigned)ntohs(cin4(a)->sin_port));
		break;
	case AF_INET6:
		if (inet_ntop(AF_INET6, &cin6(a)->sin6_addr, host,
			      sizeof(host)) == NULL)
			return -TETHER_EINVAL;
		zone[0] = '\0';
		if (cin6(a)->sin6_scope_id != 0)
			zone_text(cin6(a)->sin6_scope_id, flags, zone);
		if (flags & TETHER_ADDR_FMT_NOPORT)
			w = snprintf(buf, size, "%s%s%s", host,
				     zone[0] ? "%" : "", zone);
		else
			w = snprintf(buf, size, "[%s%s%s]:%u", host,
				     zone[0] ? "%" : "", zone,
				     (unsigned)ntohs(cin6(a)->sin6_port));
		break;
	default: /* AF_UNIX, checked by addr_check */
		w = snprintf(buf, size, "unix:%.*s", (int)pathlen,
			     cun(a)->sun_path);
		break;
	}
	return fmt_result(w, buf, size);
}

static int
family_rank(int fam)
{
	switch (fam) {
	case AF_INET:
		return 0;
	case AF_INET6:
		return 1;
	case AF_UNIX:
		return 2;
	default:
		return 3;
	}
}

static int
cmp_uint(unsigned long x, unsigned long y)
{
	return (x > y) - (x < y);
}

int
tether_addr_compare(const struct tether_addr *a, const struct tether_addr *b)
{
	size_t la = 0, lb = 0, n;
	int fa, fb, c;

	TETHER_BUG_ON(a == NULL || b == NULL);
	fa = addr_check(a, &la);
	fb = addr_check(b, &lb);
	if (fa < 0 || fb < 0) {
		/* Inconsistent addresses sort last, by raw family, len and
		 * bytes, so the order stays total. */
		if ((fa < 0) != (fb < 0))
			return fa < 0 ? 1 : -1;
		c = cmp_uint(a->ss.ss_family, b->ss.ss_family);
		if (c != 0)
			return c;
		c = cmp_uint(a->len, b->len);
		if (c != 0)
			return c;
		n = a->len < sizeof(a->ss) ? a->len : sizeof(a->ss);
		c = memcmp(&a->ss, &b->ss, n);
		return (c > 0) - (c < 0);
	}
	c = family_rank(fa) - family_rank(fb);
	if (c != 0)
		return (c > 0) - (c < 0);
	switch (fa) {
	case AF_INET:
		c = memcmp(&cin4(a)->sin_addr, &cin4(b)->sin_addr,
			   sizeof(struct in_addr));
		if (c != 0)
			return (c > 0) - (c < 0);
		return cmp_uint(ntohs(cin4(a)->sin_port),
				ntohs(cin4(b)->sin_port));
	case AF_INET6:
		c = memcmp(&cin6(a)->sin6_addr, &cin6(b)->sin6_addr,
			   sizeof(struct in6_addr));
		if (c != 0)
			return (c > 0) - (c < 0);
		c = cmp_uint(ntohs(cin6(a)->sin6_port),
			     ntohs(cin6(b)->sin6_port));
		if (c != 0)
			return c;
		return cmp_uint(cin6(a)->sin6_scope_id,
				cin6(b)->sin6_scope_id);
	default:
		n = la < lb ? la : lb;
		c = memcmp(cun(a)->sun_path, cun(b)->sun_path, n);
		if (c != 0)
			return (c > 0) - (c < 0);
		return cmp_uint(la, lb);
	}
}

void
tether_addr_copy(struct tether_addr *dst, const struct tether_addr *src)
{
	size_t n;

	TETHER_BUG_ON(dst == NULL || src == NULL);
	if (dst == src)
		return;
	n = src->len < sizeof(src->ss) ? src->len : sizeof(src->ss);
	memset(dst, 0, sizeof(*dst));
	memcpy(&dst->ss, &src->ss, n);
	dst->len = src->len;
}

int
tether_addr_port(const struct tether_addr *a)
{
	int fam = addr_check(a, NULL);

	if (fam == AF_INET)
		return ntohs(cin4(a)->sin_port);
	if (fam == AF_INET6)
		return ntohs(cin6(a)->sin6_port);
	return fam < 0 ? fam : -TETHER_EAFNOSUPPORT;
}

int
tether_addr_set_port(struct tether_addr *a, int port)
{
	int fam = addr_check(a, NULL);
	uint16_t p;

	if (fam < 0)
		return fam;
	if (fam == AF_UNIX)
		return -TETHER_EAFNOSUPPORT;
	if (port < 0 || port > 65535)
		return -TETHER_ERANGE;
	p = htons((uint16_t)port);
	if (fam == AF_INET)
		memcpy((char *)&a->ss + offsetof(struct sockaddr_in, sin_port),
		       &p, sizeof(p));
	else
		memcpy((char *)&a->ss +
			       offsetof(struct sockaddr_in6, sin6_port),
		       &p, sizeof(p));
	return 0;
}

/* One control message of len bytes of data into ctl, as mh's only one. */
static void
put_cmsg(struct msghdr *mh, void *ctl, int level, int type,
	 const void *data, size_t len)
{
	struct cmsghdr *cm;

	memset(ctl, 0, CMSG_SPACE(len));
	mh->msg_control = ctl;
	mh->msg_controllen = CMSG_SPACE(len);
	cm = CMSG_FIRSTHDR(mh);
	cm->cmsg_level = level;
	cm->cmsg_type = type;
	cm->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(cm), data, len);
}

void
tether_addr_pktinfo_ctl(struct msghdr *mh, void *ctl, int family,
			const void *addr, unsigned ifindex)
{
	mh->msg_control = NULL;
	mh->msg_controllen = 0;
	if (family == AF_INET) {
		struct in_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		memcpy(&pi.ipi_spec_dst, addr, sizeof(pi.ipi_spec_dst));
		put_cmsg(mh, ctl, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	} else if (family == AF_INET6) {
		struct in6_pktinfo pi6;

		memset(&pi6, 0, sizeof(pi6));
		memcpy(&pi6.ipi6_addr, addr, sizeof(pi6.ipi6_addr));
		pi6.ipi6_ifindex = ifindex;
		put_cmsg(mh, ctl, IPPROTO_IPV6, IPV6_PKTINFO, &pi6,
			 sizeof(pi6));
	}
}

int
tether_addr_is_any(const struct tether_addr *a)
{
	switch (addr_check(a, NULL)) {
	case AF_INET:
		return cin4(a)->sin_addr.s_addr == htonl(INADDR_ANY);
	case AF_INET6:
		return IN6_IS_ADDR_UNSPECIFIED(&cin6(a)->sin6_addr);
	default:
		return 0;
	}
}

int
tether_addr_is_loopback(const struct tether_addr *a)
{
	const unsigned char *b;
	int fam = addr_check(a, NULL);

	switch (fam) {
	case AF_INET:
		b = (const unsigned char *)&cin4(a)->sin_addr;
		return b[0] == 127;
	case AF_INET6:
		b = (const unsigned char *)&cin6(a)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(&cin6(a)->sin6_addr))
			return 1;
		return IN6_IS_ADDR_V4MAPPED(&cin6(a)->sin6_addr) &&
		       b[12] == 127;
	case AF_UNIX:
		return 1;
	default:
		return 0;
	}
}

const char *
tether_addr_family_name(const struct tether_addr *a)
{
	if (a == NULL)
		return "unknown";
	switch (a->ss.ss_family) {
	case AF_INET:
		return "inet";
	case AF_INET6:
		return "inet6";
	case AF_UNIX:
		return "unix";
	default:
		return "unknown";
	}
}

int
tether_netid_from_name(const char *name)
{
	int i;

	if (name == NULL)
		return -TETHER_EINVAL;
	for (i = 0; i < TETHER_NETID_MAX; i++)
		if (strcmp(name, netid_names[i]) == 0)
			return i;
	if (strcmp(name, "unix") == 0)
		return TETHER_NETID_LOCAL;
	return -TETHER_ENOENT;
}

const char *
tether_netid_name(enum tether_netid netid)
{
	if ((unsigned)netid >= TETHER_NETID_MAX)
		return NULL;
	return netid_names[netid];
}

int
tether_netid_family(enum tether_netid netid)
{
	if ((unsigned)netid >= TETHER_NETID_MAX)
		return -TETHER_EINVAL;
	return netid_families[netid];
}

/* The last dot in s[0..n), or NULL. */
static const char *
last_dot(const char *s, size_t n)
{
	while (n > 0) {
		n--;
		if (s[n] == '.')
			return s + n;
	}
	return NULL;
}

int
tether_addr_from_uaddr(struct tether_addr *out, enum tether_netid netid,
		       const char *uaddr, size_t len)
{
	struct tether_addr tmp;
	struct in6_addr ia6;
	struct in_addr ia4;
	const char *d2, *d1;
	unsigned long p1, p2;
	size_t hlen;
	int fam, rc;

	if (out == NULL || uaddr == NULL || (unsigned)netid >= TETHER_NETID_MAX)
		return -TETHER_EINVAL;
	if (len >= TETHER_UADDR_STRLEN)
		return -TETHER_EOVERFLOW;
	if (memchr(uaddr, '\0', len) != NULL)
		return -TETHER_ESYNTAX;
	fam = netid_families[netid];
	if (fam == AF_UNIX) {
		rc = make_un(&tmp, uaddr, len);
		if (rc < 0)
			return rc;
		*out = tmp;
		return 0;
	}

	d2 = last_dot(uaddr, len);
	if (d2 == NULL)
		return -TETHER_ESYNTAX;
	d1 = last_dot(uaddr, (size_t)(d2 - uaddr));
	if (d1 == NULL)
		return -TETHER_ESYNTAX;
	/* Syntax of both parts first, so "1.2.3.4.x.300" is a syntax
	 * error rather than a range error. */
	rc = parse_dec(d1 + 1, (size_t)(d2 - d1 - 1), 3, 999, &p1);
	if (rc < 0)
		return rc;
	rc = parse_dec(d2 + 1, (size_t)(uaddr + len - d2 - 1), 3, 999, &p2);
	if (rc < 0)
		return rc;
	if (p1 > 255 || p2 > 255)
		return -TETHER_ERANGE;
	hlen = (size_t)(d1 - uaddr);
	if (fam == AF_INET) {
		if (!pton_n(AF_INET, uaddr, hlen, &ia4))
			return pton_n(AF_INET6, uaddr, hlen, &ia6) ?
				       -TETHER_EAFNOSUPPORT : -TETHER_ESYNTAX;
		make_in4(&tmp, &ia4, (unsigned)(p1 * 256 + p2));
	} else {
		if (!pton_n(AF_INET6, uaddr, hlen, &ia6))
			return pton_n(AF_INET, uaddr, hlen, &ia4) ?
				       -TETHER_EAFNOSUPPORT : -TETHER_ESYNTAX;
		make_in6(&tmp, &ia6, (unsigned)(p1 * 256 + p2), 0);
	}
	*out = tmp;
	return 0;
}

int
tether_addr_from_uaddr_str(struct tether_addr *out, enum tether_netid netid,
			   const char *uaddr)
{
	if (uaddr == NULL)
		return -TETHER_EINVAL;
	return tether_addr_from_uaddr(out, netid, uaddr,
				      strnlen(uaddr, TETHER_UADDR_STRLEN));
}

/* n bytes as dotted decimals ("a.b.c.d.p1.p2") into buf, snprintf's
 * way (truncated, NUL-terminated, the full length returned), without
 * printf: rpcbind GETADDR answers format one per call. */
static int
fmt_dotted(char *buf, size_t size, const unsigned char *v, int n)
{
	char tmp[4 * 8];
	size_t k = 0;
	int i;

	for (i = 0; i < n; i++) {
		unsigned x = v[i];

		if (i > 0)
			tmp[k++] = '.';
		if (x >= 100)
			tmp[k++] = (char)('0' + x / 100);
		if (x >= 10)
			tmp[k++] = (char)('0' + x / 10 % 10);
		tmp[k++] = (char)('0' + x % 10);
	}
	if (size > 0) {
		size_t c = k < size - 1 ? k : size - 1;

		memcpy(buf, tmp, c);
		buf[c] = '\0';
	}
	return (int)k;
}

int
tether_addr_to_uaddr(const struct tether_addr *a, enum tether_netid netid,
		     char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];
	size_t pathlen = 0;
	unsigned port;
	int fam, w;

	if (buf == NULL || (unsigned)netid >= TETHER_NETID_MAX)
		return -TETHER_EINVAL;
	fam = addr_check(a, &pathlen);
	if (fam < 0)
		return fam;
	if (fam != netid_families[netid])
		return -TETHER_EAFNOSUPPORT;
	switch (fam) {
	case AF_INET: {
		unsigned char v[6];

		memcpy(v, &cin4(a)->sin_addr, 4);
		port = ntohs(cin4(a)->sin_port);
		v[4] = (unsigned char)(port >> 8);
		v[5] = (unsigned char)(port & 0xff);
		w = fmt_dotted(buf, size, v, 6);
		break;
	}
	case AF_INET6:
		if (inet_ntop(AF_INET6, &cin6(a)->sin6_addr, host,
			      sizeof(host)) == NULL)
			return -TETHER_EINVAL;
		port = ntohs(cin6(a)->sin6_port);
		w = snprintf(buf, size, "%s.%u.%u", host, port >> 8,
			     port & 0xff);
		break;
	default:
		w = snprintf(buf, size, "%.*s", (int)pathlen,
			     cun(a)->sun_path);
		break;
	}
	return fmt_result(w, buf, size);
}
