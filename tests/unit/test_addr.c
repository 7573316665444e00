/*
 * test_addr.c - socket and universal addresses: tables of valid and
 * invalid inputs for both text forms, round trips, every error path,
 * scope ids, AF_UNIX paths at the sun_path limit, and the helpers.
 */
#include "tether_test.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

/* ---- socket form: valid inputs ---------------------------------- */

struct good {
	const char *in;
	int defport;
	const char *out;	/* tether_addr_format, numeric scope */
	int family;
	int port;
};

static const struct good goods[] = {
	{ "1.2.3.4:111", -1, "1.2.3.4:111", AF_INET, 111 },
	{ "0.0.0.0:0", -1, "0.0.0.0:0", AF_INET, 0 },
	{ "255.255.255.255:65535", -1, "255.255.255.255:65535", AF_INET,
	  65535 },
	{ "127.0.0.1:1", -1, "127.0.0.1:1", AF_INET, 1 },
	{ "10.0.0.1", 2049, "10.0.0.1:2049", AF_INET, 2049 },
	{ "10.0.0.1:7", 2049, "10.0.0.1:7", AF_INET, 7 },
	{ "10.0.0.1", 0, "10.0.0.1:0", AF_INET, 0 },
	{ "[::1]:111", -1, "[::1]:111", AF_INET6, 111 },
	{ "[::]:0", -1, "[::]:0", AF_INET6, 0 },
	{ "[2001:db8::1]:65535", -1, "[2001:db8::1]:65535", AF_INET6, 65535 },
	{ "[2001:DB8:0:0:0:0:0:1]:80", -1, "[2001:db8::1]:80", AF_INET6, 80 },
	{ "[0001:0db8::0001]:80", -1, "[1:db8::1]:80", AF_INET6, 80 },
	{ "[::ffff:1.2.3.4]:5", -1, "[::ffff:1.2.3.4]:5", AF_INET6, 5 },
	{ "[fe80::1%2]:111", -1, "[fe80::1%2]:111", AF_INET6, 111 },
	{ "[fe80::1%4294967295]:1", -1, "[fe80::1%4294967295]:1", AF_INET6, 1 },
	{ "[ff02::1%7]:9", -1, "[ff02::1%7]:9", AF_INET6, 9 },
	{ "::1", 111, "[::1]:111", AF_INET6, 111 },
	/* glibc's inet_ntop writes ::0:0:0:0:0:0:1:111 in the deprecated
	 * IPv4-compatible form; it parses back to the same address */
	{ "::1:111", 5, "[::0.1.1.17]:5", AF_INET6, 5 },
	{ "[::1]", 111, "[::1]:111", AF_INET6, 111 },
	{ "fe80::1%3", 80, "[fe80::1%3]:80", AF_INET6, 80 },
	{ "[fe80::1%3]", 80, "[fe80::1%3]:80", AF_INET6, 80 },
	{ "unix:/run/rpcbind.sock", -1, "unix:/run/rpcbind.sock", AF_UNIX, -1 },
	{ "/run/rpcbind.sock", -1, "unix:/run/rpcbind.sock", AF_UNIX, -1 },
	{ "/", -1, "unix:/", AF_UNIX, -1 },
	{ "unix:/a b:c[d]%e", 5, "unix:/a b:c[d]%e", AF_UNIX, -1 },
};

static void
test_parse_good(void **state)
{
	char buf[TETHER_ADDR_STRLEN];
	struct tether_addr a, b;
	size_t i;

	(void)state;
	for (i = 0; i < TETHER_ARRAY_SIZE(goods); i++) {
		const struct good *g = &goods[i];
		int n;

		memset(&a, 0xa5, sizeof(a));
		if (tether_addr_parse(&a, g->in, g->defport) != 0)
			fail_msg("parse failed: %s", g->in);
		assert_int_equal(a.ss.ss_family, g->family);
		if (g->port >= 0)
			assert_int_equal(tether_addr_port(&a), g->port);
		else
			assert_tether_err(tether_addr_port(&a),
					  TETHER_EAFNOSUPPORT);
		n = tether_addr_format(&a, buf, sizeof(buf),
				       TETHER_ADDR_FMT_NUMERIC);
		if (n != (int)strlen(g->out) || strcmp(buf, g->out) != 0)
			fail_msg("format(%s) = %d \"%s\", want \"%s\"",
				 g->in, n, buf, g->out);
		/* Round trip: the output parses back to an equal address,
		 * with and without a default port, and _n agrees. */
		assert_int_equal(tether_addr_parse(&b, buf, -1), 0);
		assert_int_equal(tether_addr_compare(&a, &b), 0);
		assert_int_equal(tether_addr_parse(&b, buf, 9), 0);
		assert_int_equal(tether_addr_compare(&a, &b), 0);
		assert_int_equal(tether_addr_parse_n(&b, g->in, strlen(g->in),
						     g->defport), 0);
		assert_int_equal(tether_addr_compare(&a, &b), 0);
		assert_int_equal(memcmp(&a, &b, sizeof(a)), 0);
	}
}

/* ---- socket form: invalid inputs -------------------------------- */

struct bad {
	const char *in;
	int defport;
	int err;
};

static const struct bad bads[] = {
	/* empty parts */
	{ "", -1, TETHER_ESYNTAX },
	{ "", 80, TETHER_ESYNTAX },
	{ ":111", -1, TETHER_ESYNTAX },
	{ "1.2.3.4:", -1, TETHER_ESYNTAX },
	{ "[]:111", -1, TETHER_ESYNTAX },
	{ "[]", 80, TETHER_ESYNTAX },
	{ "[::1]:", -1, TETHER_ESYNTAX },
	{ "[::1%]:1", -1, TETHER_ESYNTAX },
	{ "unix:", -1, TETHER_ESYNTAX },
	/* port required but absent */
	{ "1.2.3.4", -1, TETHER_ESYNTAX },
	{ "[::1]", -1, TETHER_ESYNTAX },
	{ "::1", -1, TETHER_ESYNTAX },
	/* IPv6 with port needs brackets */
	{ "::1:111", -1, TETHER_ESYNTAX },
	{ "fe80::1%lo:111", -1, TETHER_ESYNTAX },
	{ "2001:db8::1.111", -1, TETHER_ESYNTAX },
	/* IPv4 forms inet_pton rejects */
	{ "01.2.3.4:1", -1, TETHER_ESYNTAX },
	{ "1.2.3.04:1", -1, TETHER_ESYNTAX },
	{ "1.2.3:1", -1, TETHER_ESYNTAX },
	{ "1.2.3.4.5:1", -1, TETHER_ESYNTAX },
	{ "0x7f.0.0.1:1", -1, TETHER_ESYNTAX },
	{ "256.0.0.1:1", -1, TETHER_ESYNTAX },
	{ "1.2.3.4 :1", -1, TETHER_ESYNTAX },
	{ " 1.2.3.4:1", -1, TETHER_ESYNTAX },
	{ "1..3.4:1", -1, TETHER_ESYNTAX },
	{ "127.1", 80, TETHER_ESYNTAX },
	{ "2130706433", 80, TETHER_ESYNTAX },
	{ "localhost:111", -1, TETHER_ESYNTAX },
	{ "localhost", 111, TETHER_ESYNTAX },
	{ "[1.2.3.4]:1", -1, TETHER_ESYNTAX },
	{ "1.2.3.4%lo:1", -1, TETHER_ESYNTAX },
	/* bad IPv6 */
	{ "[::1::2]:1", -1, TETHER_ESYNTAX },
	{ "[12345::1]:1", -1, TETHER_ESYNTAX },
	{ "[::g]:1", -1, TETHER_ESYNTAX },
	{ "[::1:1", -1, TETHER_ESYNTAX },
	{ "[::1]]:1", -1, TETHER_ESYNTAX },
	{ "[[::1]]:1", -1, TETHER_ESYNTAX },
	{ "[::1]x1", -1, TETHER_ESYNTAX },
	{ "[::1]:1x", -1, TETHER_ESYNTAX },
	{ "[::1] :1", -1, TETHER_ESYNTAX },
	{ "::1]:1", -1, TETHER_ESYNTAX },
	/* bad ports */
	{ "1.2.3.4:65536", -1, TETHER_ERANGE },
	{ "1.2.3.4:99999", -1, TETHER_ERANGE },
	{ "1.2.3.4:100000", -1, TETHER_ERANGE },
	{ "[::1]:65536", -1, TETHER_ERANGE },
	{ "1.2.3.4:0111", -1, TETHER_ESYNTAX },
	{ "1.2.3.4:00", -1, TETHER_ESYNTAX },
	{ "1.2.3.4:+1", -1, TETHER_ESYNTAX },
	{ "1.2.3.4:-1", -1, TETHER_ESYNTAX },
	{ "1.2.3.4: 1", -1, TETHER_ESYNTAX },
	{ "1.2.3.4:1 ", -1, TETHER_ESYNTAX },
	{ "1.2.3.4:0x10", -1, TETHER_ESYNTAX },
	{ "1.2.3.4:1:2", -1, TETHER_ESYNTAX },
	{ "abc:99999", -1, TETHER_ESYNTAX },
	/* zones */
	{ "[fe80::1%0]:1", -1, TETHER_ERANGE },
	{ "[fe80::1%4294967296]:1", -1, TETHER_ERANGE },
	/* wraps to 1 where long has 32 bits */
	{ "[fe80::1%4294967297]:1", -1, TETHER_ERANGE },
	{ "[fe80::1%99999999999]:1", -1, TETHER_ERANGE },
	{ "[fe80::1%01]:1", -1, TETHER_ESYNTAX },
	{ "[fe80::1%no-such-if0]:1", -1, TETHER_ENOENT },
	{ "[fe80::1%abcdefghijklmnopq]:1", -1, TETHER_ENOENT },
	{ "[fe80::1%lo%lo]:1", -1, TETHER_ESYNTAX },
	{ "[fe80::1%l/o]:1", -1, TETHER_ESYNTAX },
	{ "[fe80::1%l o]:1", -1, TETHER_ESYNTAX },
	{ "fe80::1%", 1, TETHER_ESYNTAX },
	/* AF_UNIX */
	{ "unix:run/x", -1, TETHER_ESYNTAX },
	{ "unix:@abstract", -1, TETHER_ESYNTAX },
	{ "unix", -1, TETHER_ESYNTAX },
	{ "UNIX:/x", -1, TETHER_ESYNTAX },
	/* bad arguments */
	{ "1.2.3.4:1", -2, TETHER_EINVAL },
	{ "1.2.3.4:1", 65536, TETHER_EINVAL },
};

static void
test_parse_bad(void **state)
{
	struct tether_addr a, before;
	size_t i;

	(void)state;
	memset(&before, 0x5a, sizeof(before));
	for (i = 0; i < TETHER_ARRAY_SIZE(bads); i++) {
		const struct bad *b = &bads[i];
		int rc;

		a = before;
		rc = tether_addr_parse(&a, b->in, b->defport);
		if (rc != -b->err)
			fail_msg("\"%s\" (default %d): got %s, want %s", b->in,
				 b->defport, tether_err_name(rc),
				 tether_err_name(b->err));
		/* *out untouched on failure */
		assert_int_equal(memcmp(&a, &before, sizeof(a)), 0);
		assert_int_equal(tether_addr_parse_n(&a, b->in, strlen(b->in),
						     b->defport), -b->err);
	}
}

static void
test_parse_args_and_limits(void **state)
{
	char big[TETHER_ADDR_STRLEN + 10];
	struct tether_addr a;

	(void)state;
	assert_tether_err(tether_addr_parse(NULL, "1.2.3.4:1", -1),
			  TETHER_EINVAL);
	assert_tether_err(tether_addr_parse(&a, NULL, -1), TETHER_EINVAL);
	assert_tether_err(tether_addr_parse_n(&a, NULL, 3, -1), TETHER_EINVAL);
	/* embedded NUL in a counted input */
	assert_tether_err(tether_addr_parse_n(&a, "1.2.3.4:1\0", 10, -1),
			  TETHER_ESYNTAX);
	assert_tether_err(tether_addr_parse_n(&a, "/a\0b", 4, -1),
			  TETHER_ESYNTAX);
	/* a counted input is not read past len */
	assert_int_equal(tether_addr_parse_n(&a, "1.2.3.4:1xyz", 9, -1), 0);
	assert_int_equal(tether_addr_port(&a), 1);
	/* over-long input: EOVERFLOW whatever it holds */
	memset(big, '1', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	assert_tether_err(tether_addr_parse(&a, big, 1), TETHER_EOVERFLOW);
	big[0] = '/';
	assert_tether_err(tether_addr_parse(&a, big, -1), TETHER_EOVERFLOW);
	assert_tether_err(tether_addr_parse_n(&a, big, TETHER_ADDR_STRLEN, -1),
			  TETHER_EOVERFLOW);
	/* unterminated buffer of exactly TETHER_ADDR_STRLEN bytes: strnlen
	 * stops at the bound (ASan would catch a read past it) */
	{
		char *p = malloc(TETHER_ADDR_STRLEN);

		assert_non_null(p);
		memset(p, 'x', TETHER_ADDR_STRLEN);
		assert_tether_err(tether_addr_parse(&a, p, -1),
				  TETHER_EOVERFLOW);
		free(p);
	}
}

/* ---- AF_UNIX paths at the sun_path limit ------------------------- */

static void
test_unix_path_limit(void **state)
{
	struct sockaddr_un sun;
	char in[TETHER_ADDR_STRLEN + 1];
	char out[TETHER_ADDR_STRLEN];
	char ua[TETHER_UADDR_STRLEN];
	struct tether_addr a, b;
	size_t n;

	(void)state;
	assert_int_equal(TETHER_ADDR_UNIX_PATH_MAX + 1, sizeof(sun.sun_path));
	/* 107 bytes: the longest path, with "unix:" and without */
	memcpy(in, "unix:", 5);
	memset(in + 5, 'p', TETHER_ADDR_UNIX_PATH_MAX);
	in[5] = '/';
	in[5 + TETHER_ADDR_UNIX_PATH_MAX] = '\0';
	assert_int_equal(strlen(in), TETHER_ADDR_STRLEN - 1);
	assert_int_equal(tether_addr_parse(&a, in, -1), 0);
	assert_int_equal(a.len, offsetof(struct sockaddr_un, sun_path) +
					TETHER_ADDR_UNIX_PATH_MAX + 1);
	assert_int_equal(tether_addr_format(&a, out, sizeof(out), 0),
			 TETHER_ADDR_STRLEN - 1);
	assert_string_equal(out, in);
	/* one byte short of room */
	assert_tether_err(tether_addr_format(&a, out, TETHER_ADDR_STRLEN - 1, 0),
			  TETHER_ENOSPC);
	assert_string_equal(out, "");
	assert_int_equal(tether_addr_parse(&b, in + 5, -1), 0);
	assert_int_equal(tether_addr_compare(&a, &b), 0);
	/* as a uaddr, exactly TETHER_UADDR_STRLEN - 1 */
	assert_int_equal(tether_addr_to_uaddr(&a, TETHER_NETID_LOCAL, ua,
					      sizeof(ua)),
			 TETHER_UADDR_STRLEN - 1);
	assert_string_equal(ua, in + 5);
	assert_int_equal(tether_addr_from_uaddr_str(&b, TETHER_NETID_LOCAL, ua),
			 0);
	assert_int_equal(tether_addr_compare(&a, &b), 0);

	/* 108 bytes: does not fit with its NUL */
	in[5 + TETHER_ADDR_UNIX_PATH_MAX] = 'p';
	in[5 + TETHER_ADDR_UNIX_PATH_MAX + 1] = '\0';
	assert_tether_err(tether_addr_parse(&a, in, -1), TETHER_EOVERFLOW);
	assert_tether_err(tether_addr_parse(&a, in + 5, -1), TETHER_ESYNTAX);
	n = strlen(in + 5);
	assert_int_equal(n, TETHER_ADDR_UNIX_PATH_MAX + 1);
	assert_tether_err(tether_addr_from_uaddr(&a, TETHER_NETID_LOCAL,
						 in + 5, n),
			  TETHER_EOVERFLOW);

	/* from_sockaddr: a 108-byte path without NUL is refused, a
	 * 107-byte one given without its NUL (SUN_LEN style) is taken */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memset(sun.sun_path, 'q', sizeof(sun.sun_path));
	sun.sun_path[0] = '/';
	assert_tether_err(tether_addr_from_sockaddr(&a,
			(struct sockaddr *)&sun, sizeof(sun)), TETHER_EINVAL);
	assert_int_equal(tether_addr_from_sockaddr(&a, (struct sockaddr *)&sun,
			sizeof(sun) - 1), 0);
	assert_int_equal(a.len, sizeof(sun));
	assert_int_equal(strlen(((struct sockaddr_un *)&a.ss)->sun_path),
			 TETHER_ADDR_UNIX_PATH_MAX);
}

/* ---- scope ids ---------------------------------------------------- */

static void
test_scope_names(void **state)
{
	char buf[TETHER_ADDR_STRLEN], want[TETHER_ADDR_STRLEN];
	struct tether_addr a, b;
	unsigned lo = if_nametoindex("lo");
	struct sockaddr_in6 *s6;

	(void)state;
	assert_true(lo > 0);
	assert_int_equal(tether_addr_parse(&a, "[fe80::1%lo]:111", -1), 0);
	s6 = (struct sockaddr_in6 *)&a.ss;
	assert_int_equal(s6->sin6_scope_id, lo);
	/* formatted with the name, or the number on request */
	assert_int_equal(tether_addr_format(&a, buf, sizeof(buf), 0),
			 (int)strlen("[fe80::1%lo]:111"));
	assert_string_equal(buf, "[fe80::1%lo]:111");
	snprintf(want, sizeof(want), "[fe80::1%%%u]:111", lo);
	tether_addr_format(&a, buf, sizeof(buf), TETHER_ADDR_FMT_NUMERIC);
	assert_string_equal(buf, want);
	/* the number names the same address */
	assert_int_equal(tether_addr_parse(&b, want, -1), 0);
	assert_int_equal(tether_addr_compare(&a, &b), 0);
	/* host-only forms */
	tether_addr_format(&a, buf, sizeof(buf), TETHER_ADDR_FMT_NOPORT);
	assert_string_equal(buf, "fe80::1%lo");
	assert_int_equal(tether_addr_parse(&b, buf, 111), 0);
	assert_int_equal(tether_addr_compare(&a, &b), 0);
	assert_int_equal(tether_addr_parse(&b, "fe80::1%lo", 111), 0);
	assert_int_equal(tether_addr_compare(&a, &b), 0);
	/* the scope takes part in the comparison */
	assert_int_equal(tether_addr_parse(&b, "[fe80::1]:111", -1), 0);
	assert_true(tether_addr_compare(&a, &b) > 0);
	assert_true(tether_addr_compare(&b, &a) < 0);
	/* an index with no interface formats as a number and parses back */
	assert_int_equal(tether_addr_parse(&a, "[fe80::1%4000000000]:1", -1),
			 0);
	tether_addr_format(&a, buf, sizeof(buf), 0);
	assert_string_equal(buf, "[fe80::1%4000000000]:1");
	assert_int_equal(tether_addr_parse(&b, buf, -1), 0);
	assert_int_equal(tether_addr_compare(&a, &b), 0);
	/* a name of 15 bytes that does not exist, and of 16 */
	assert_tether_err(tether_addr_parse(&a, "[fe80::1%abcdefghijklmno]:1",
					    -1), TETHER_ENOENT);
	assert_tether_err(tether_addr_parse(&a, "[fe80::1%abcdefghijklmnop]:1",
					    -1), TETHER_ENOENT);
}

/* ---- format errors ------------------------------------------------ */

static void
test_format_errors(void **state)
{
	char buf[TETHER_ADDR_STRLEN];
	struct tether_addr a;
	size_t sz;

	(void)state;
	assert_int_equal(tether_addr_parse(&a, "[2001:db8::1]:111", -1), 0);
	/* every too-small size gives ENOSPC and an empty string; the
	 * exact size works */
	for (sz = 1; sz <= strlen("[2001:db8::1]:111"); sz++) {
		memset(buf, 'x', sizeof(buf));
		assert_tether_err(tether_addr_format(&a, buf, sz, 0),
				  TETHER_ENOSPC);
		assert_int_equal(buf[0], '\0');
	}
	assert_tether_err(tether_addr_format(&a, buf, 0, 0), TETHER_ENOSPC);
	assert_int_equal(tether_addr_format(&a, buf, sz, 0), (int)sz - 1);
	assert_tether_err(tether_addr_format(&a, NULL, 10, 0), TETHER_EINVAL);
	assert_tether_err(tether_addr_format(NULL, buf, 10, 0), TETHER_EINVAL);
	assert_tether_err(tether_addr_format(&a, buf, sizeof(buf), 0x80),
			  TETHER_EINVAL);
	/* inconsistent lengths and families */
	a.len = sizeof(struct sockaddr_in6) - 1;
	assert_tether_err(tether_addr_format(&a, buf, sizeof(buf), 0),
			  TETHER_EINVAL);
	a.len = sizeof(a.ss) + 1;
	assert_tether_err(tether_addr_format(&a, buf, sizeof(buf), 0),
			  TETHER_EINVAL);
	assert_int_equal(tether_addr_parse(&a, "1.2.3.4:1", -1), 0);
	a.len = sizeof(struct sockaddr_in) - 1;
	assert_tether_err(tether_addr_format(&a, buf, sizeof(buf), 0),
			  TETHER_EINVAL);
	a.ss.ss_family = AF_APPLETALK;
	a.len = sizeof(struct sockaddr_in);
	assert_tether_err(tether_addr_format(&a, buf, sizeof(buf), 0),
			  TETHER_EAFNOSUPPORT);
	/* AF_UNIX with a relative path, an empty path, a short len */
	assert_int_equal(tether_addr_parse(&a, "/x", -1), 0);
	((struct sockaddr_un *)&a.ss)->sun_path[0] = 'x';
	assert_tether_err(tether_addr_format(&a, buf, sizeof(buf), 0),
			  TETHER_EINVAL);
	((struct sockaddr_un *)&a.ss)->sun_path[0] = '\0';
	assert_tether_err(tether_addr_format(&a, buf, sizeof(buf), 0),
			  TETHER_EINVAL);
	assert_int_equal(tether_addr_parse(&a, "/x", -1), 0);
	a.len = offsetof(struct sockaddr_un, sun_path);
	assert_tether_err(tether_addr_format(&a, buf, sizeof(buf), 0),
			  TETHER_EINVAL);
	a.len = sizeof(struct sockaddr_un) + 1;
	assert_tether_err(tether_addr_format(&a, buf, sizeof(buf), 0),
			  TETHER_EINVAL);
	/* NOPORT on IPv4 and AF_UNIX */
	assert_int_equal(tether_addr_parse(&a, "1.2.3.4:1", -1), 0);
	assert_int_equal(tether_addr_format(&a, buf, sizeof(buf),
					    TETHER_ADDR_FMT_NOPORT), 7);
	assert_string_equal(buf, "1.2.3.4");
	assert_int_equal(tether_addr_parse(&a, "/x", -1), 0);
	tether_addr_format(&a, buf, sizeof(buf), TETHER_ADDR_FMT_NOPORT);
	assert_string_equal(buf, "unix:/x");
}

/* ---- from_sockaddr -------------------------------------------------- */

static void
test_from_sockaddr(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_un sun;
	struct tether_addr a, b;
	char buf[TETHER_ADDR_STRLEN];

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(111);
	sin.sin_addr.s_addr = htonl(0x7f000001);
	assert_int_equal(tether_addr_from_sockaddr(&a, (struct sockaddr *)&sin,
						   sizeof(sin)), 0);
	tether_addr_format(&a, buf, sizeof(buf), 0);
	assert_string_equal(buf, "127.0.0.1:111");
	assert_int_equal(tether_addr_parse(&b, buf, -1), 0);
	assert_int_equal(tether_addr_compare(&a, &b), 0);
	assert_tether_err(tether_addr_from_sockaddr(&a,
			(struct sockaddr *)&sin, sizeof(sin) - 1),
			TETHER_EINVAL);
	/* a longer len (sockaddr_storage from accept) is fine */
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, &sin, sizeof(sin));
	assert_int_equal(tether_addr_from_sockaddr(&a, (struct sockaddr *)&ss,
						   sizeof(ss)), 0);
	assert_int_equal(a.len, sizeof(sin));
	assert_tether_err(tether_addr_from_sockaddr(&a,
			(struct sockaddr *)&ss, sizeof(ss) + 1), TETHER_EINVAL);

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(2049);
	sin6.sin6_addr = in6addr_loopback;
	sin6.sin6_flowinfo = htonl(12345);	/* ignored by compare */
	assert_int_equal(tether_addr_from_sockaddr(&a,
			(struct sockaddr *)&sin6, sizeof(sin6)), 0);
	assert_int_equal(tether_addr_parse(&b, "[::1]:2049", -1), 0);
	assert_int_equal(tether_addr_compare(&a, &b), 0);
	assert_tether_err(tether_addr_from_sockaddr(&a,
			(struct sockaddr *)&sin6, sizeof(sin6) - 1),
			TETHER_EINVAL);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, "/tmp/s", 7);
	assert_int_equal(tether_addr_from_sockaddr(&a, (struct sockaddr *)&sun,
						   sizeof(sun)), 0);
	assert_int_equal(a.len, offsetof(struct sockaddr_un, sun_path) + 7);
	assert_int_equal(tether_addr_parse(&b, "unix:/tmp/s", -1), 0);
	assert_int_equal(tether_addr_compare(&a, &b), 0);
	/* unnamed, abstract, relative */
	assert_tether_err(tether_addr_from_sockaddr(&a, (struct sockaddr *)&sun,
			sizeof(sa_family_t)), TETHER_EAFNOSUPPORT);
	sun.sun_path[0] = '\0';
	assert_tether_err(tether_addr_from_sockaddr(&a, (struct sockaddr *)&sun,
			sizeof(sun)), TETHER_EAFNOSUPPORT);
	sun.sun_path[0] = 't';
	assert_tether_err(tether_addr_from_sockaddr(&a, (struct sockaddr *)&sun,
			sizeof(sun)), TETHER_EAFNOSUPPORT);
	assert_tether_err(tether_addr_from_sockaddr(&a, (struct sockaddr *)&sun,
			sizeof(sun) + 1), TETHER_EINVAL);
	/* other families and bad arguments */
	sun.sun_family = AF_PACKET;
	assert_tether_err(tether_addr_from_sockaddr(&a, (struct sockaddr *)&sun,
			sizeof(sun)), TETHER_EAFNOSUPPORT);
	assert_tether_err(tether_addr_from_sockaddr(NULL,
			(struct sockaddr *)&sun, sizeof(sun)), TETHER_EINVAL);
	assert_tether_err(tether_addr_from_sockaddr(&a, NULL, sizeof(sun)),
			  TETHER_EINVAL);
	assert_tether_err(tether_addr_from_sockaddr(&a, (struct sockaddr *)&sun,
			1), TETHER_EINVAL);
}

/* ---- helpers --------------------------------------------------------- */

static void
test_compare_order(void **state)
{
	/* sorted ascending: family, address, port, scope / path */
	static const char *const order[] = {
		"0.0.0.0:0", "1.2.3.4:1", "1.2.3.4:2", "1.2.3.4:256",
		"1.2.3.5:0", "255.255.255.255:65535",
		"[::]:0", "[::1]:1", "[::1]:2", "[fe80::1]:1", "[fe80::1%1]:1",
		"[fe80::1%2]:1", "[fe80::1]:2",
		"unix:/a", "unix:/a/b", "unix:/b",
	};
	struct tether_addr a[TETHER_ARRAY_SIZE(order)], odd;
	size_t i, j;

	(void)state;
	for (i = 0; i < TETHER_ARRAY_SIZE(order); i++)
		assert_int_equal(tether_addr_parse(&a[i], order[i], -1), 0);
	for (i = 0; i < TETHER_ARRAY_SIZE(order); i++)
		for (j = 0; j < TETHER_ARRAY_SIZE(order); j++) {
			int c = tether_addr_compare(&a[i], &a[j]);
			int want = (i > j) - (i < j);

			if (c != want)
				fail_msg("compare(%s, %s) = %d, want %d",
					 order[i], order[j], c, want);
		}
	/* an unknown family sorts after everything, is equal to itself */
	memset(&odd, 0, sizeof(odd));
	odd.ss.ss_family = AF_APPLETALK;
	odd.len = 16;
	for (i = 0; i < TETHER_ARRAY_SIZE(order); i++) {
		assert_true(tether_addr_compare(&odd, &a[i]) > 0);
		assert_true(tether_addr_compare(&a[i], &odd) < 0);
	}
	assert_int_equal(tether_addr_compare(&odd, &odd), 0);
	/* among inconsistent addresses: by family, then len, then bytes */
	{
		struct tether_addr odd2 = odd;

		odd2.len = 17;
		assert_true(tether_addr_compare(&odd, &odd2) < 0);
		assert_true(tether_addr_compare(&odd2, &odd) > 0);
		odd2.len = 16;
		odd2.ss.ss_family = AF_APPLETALK + 1;
		assert_true(tether_addr_compare(&odd, &odd2) < 0);
		odd2.ss.ss_family = AF_APPLETALK;
		((unsigned char *)&odd2.ss)[8] = 1;
		assert_true(tether_addr_compare(&odd, &odd2) < 0);
		assert_true(tether_addr_compare(&odd2, &odd) > 0);
		/* a valid family with a bad len is inconsistent too */
		odd2 = a[0];
		odd2.len = 3;
		assert_true(tether_addr_compare(&a[0], &odd2) < 0);
	}
}

static void
test_copy_and_port(void **state)
{
	struct tether_addr a, b;

	(void)state;
	assert_int_equal(tether_addr_parse(&a, "[fe80::1%3]:111", -1), 0);
	memset(&b, 0xff, sizeof(b));
	tether_addr_copy(&b, &a);
	assert_int_equal(tether_addr_compare(&a, &b), 0);
	assert_int_equal(b.len, a.len);
	tether_addr_copy(&b, &b);
	assert_int_equal(tether_addr_compare(&a, &b), 0);

	assert_int_equal(tether_addr_set_port(&b, 65535), 0);
	assert_int_equal(tether_addr_port(&b), 65535);
	assert_true(tether_addr_compare(&a, &b) < 0);
	assert_tether_err(tether_addr_set_port(&b, 65536), TETHER_ERANGE);
	assert_tether_err(tether_addr_set_port(&b, -1), TETHER_ERANGE);
	assert_int_equal(tether_addr_port(&b), 65535);

	assert_int_equal(tether_addr_parse(&a, "1.2.3.4:1", -1), 0);
	assert_int_equal(tether_addr_set_port(&a, 0x1234), 0);
	assert_int_equal(tether_addr_port(&a), 0x1234);
	assert_int_equal(((struct sockaddr_in *)&a.ss)->sin_port, htons(0x1234));

	assert_int_equal(tether_addr_parse(&a, "/p", -1), 0);
	assert_tether_err(tether_addr_port(&a), TETHER_EAFNOSUPPORT);
	assert_tether_err(tether_addr_set_port(&a, 1), TETHER_EAFNOSUPPORT);
	a.ss.ss_family = AF_APPLETALK;
	assert_tether_err(tether_addr_port(&a), TETHER_EAFNOSUPPORT);
	assert_tether_err(tether_addr_set_port(&a, 1), TETHER_EAFNOSUPPORT);
	assert_tether_err(tether_addr_port(NULL), TETHER_EINVAL);
	assert_tether_err(tether_addr_set_port(NULL, 1), TETHER_EINVAL);
}

static void
test_loopback_and_family(void **state)
{
	static const struct {
		const char *in;
		int loop;
		const char *fam;
	} t[] = {
		{ "127.0.0.1:1", 1, "inet" },
		{ "127.255.255.254:1", 1, "inet" },
		{ "128.0.0.1:1", 0, "inet" },
		{ "126.255.255.255:1", 0, "inet" },
		{ "0.0.0.0:1", 0, "inet" },
		{ "[::1]:1", 1, "inet6" },
		{ "[::]:1", 0, "inet6" },
		{ "[::2]:1", 0, "inet6" },
		{ "[::ffff:127.0.0.2]:1", 1, "inet6" },
		{ "[::ffff:128.0.0.1]:1", 0, "inet6" },
		{ "[::127.0.0.1]:1", 0, "inet6" },
		{ "[fe80::1%1]:1", 0, "inet6" },
		{ "unix:/run/rpcbind.sock", 1, "unix" },
	};
	struct tether_addr a;
	size_t i;

	(void)state;
	for (i = 0; i < TETHER_ARRAY_SIZE(t); i++) {
		assert_int_equal(tether_addr_parse(&a, t[i].in, -1), 0);
		if (tether_addr_is_loopback(&a) != t[i].loop)
			fail_msg("is_loopback(%s) != %d", t[i].in, t[i].loop);
		assert_string_equal(tether_addr_family_name(&a), t[i].fam);
	}
	a.ss.ss_family = AF_APPLETALK;
	assert_int_equal(tether_addr_is_loopback(&a), 0);
	assert_string_equal(tether_addr_family_name(&a), "unknown");
	assert_string_equal(tether_addr_family_name(NULL), "unknown");
	assert_int_equal(tether_addr_is_loopback(NULL), 0);

	/* The wildcard of each family, nothing else. */
	for (i = 0; i < TETHER_ARRAY_SIZE(t); i++) {
		int any = strcmp(t[i].in, "0.0.0.0:1") == 0 ||
			  strcmp(t[i].in, "[::]:1") == 0;

		assert_int_equal(tether_addr_parse(&a, t[i].in, -1), 0);
		if (tether_addr_is_any(&a) != any)
			fail_msg("is_any(%s) != %d", t[i].in, any);
	}
	assert_int_equal(tether_addr_parse(&a, "[::ffff:0.0.0.0]:1", -1), 0);
	assert_int_equal(tether_addr_is_any(&a), 0);
	assert_int_equal(tether_addr_is_any(NULL), 0);
}

static void
test_netid_names(void **state)
{
	static const char *const names[] = { "tcp", "udp", "tcp6", "udp6",
					      "local" };
	static const int fams[] = { AF_INET, AF_INET, AF_INET6, AF_INET6,
				    AF_UNIX };
	int i;

	(void)state;
	assert_int_equal(TETHER_NETID_MAX, TETHER_ARRAY_SIZE(names));
	for (i = 0; i < TETHER_NETID_MAX; i++) {
		assert_int_equal(tether_netid_from_name(names[i]), i);
		assert_string_equal(tether_netid_name(i), names[i]);
		assert_int_equal(tether_netid_family(i), fams[i]);
	}
	assert_int_equal(tether_netid_from_name("unix"), TETHER_NETID_LOCAL);
	assert_tether_err(tether_netid_from_name("TCP"), TETHER_ENOENT);
	assert_tether_err(tether_netid_from_name("tcp "), TETHER_ENOENT);
	assert_tether_err(tether_netid_from_name("rawip"), TETHER_ENOENT);
	assert_tether_err(tether_netid_from_name(""), TETHER_ENOENT);
	assert_tether_err(tether_netid_from_name("tc"), TETHER_ENOENT);
	assert_tether_err(tether_netid_from_name(NULL), TETHER_EINVAL);
	assert_null(tether_netid_name(TETHER_NETID_MAX));
	assert_null(tether_netid_name((enum tether_netid)-1));
	assert_tether_err(tether_netid_family(TETHER_NETID_MAX),
			  TETHER_EINVAL);
}

/* ---- universal addresses ------------------------------------------- */

struct ugood {
	enum tether_netid netid;
	const char *uaddr;
	const char *sock;	/* the same address, socket form */
	const char *canon;	/* taddr2uaddr output when it differs */
};

static const struct ugood ugoods[] = {
	{ TETHER_NETID_TCP, "127.0.0.1.0.111", "127.0.0.1:111", NULL },
	{ TETHER_NETID_UDP, "127.0.0.1.0.111", "127.0.0.1:111", NULL },
	{ TETHER_NETID_TCP, "0.0.0.0.0.0", "0.0.0.0:0", NULL },
	{ TETHER_NETID_TCP, "10.1.2.3.8.1", "10.1.2.3:2049", NULL },
	{ TETHER_NETID_TCP, "255.255.255.255.255.255",
	  "255.255.255.255:65535", NULL },
	{ TETHER_NETID_TCP, "1.2.3.4.1.0", "1.2.3.4:256", NULL },
	{ TETHER_NETID_TCP6, "::1.0.111", "[::1]:111", NULL },
	{ TETHER_NETID_UDP6, "::1.0.111", "[::1]:111", NULL },
	{ TETHER_NETID_TCP6, "::.0.0", "[::]:0", NULL },
	{ TETHER_NETID_TCP6, "fe80::1.8.1", "[fe80::1]:2049", NULL },
	{ TETHER_NETID_TCP6, "2001:db8::1.255.255", "[2001:db8::1]:65535",
	  NULL },
	{ TETHER_NETID_TCP6, "2001:DB8:0:0:0:0:0:1.0.1", "[2001:db8::1]:1",
	  "2001:db8::1.0.1" },
	{ TETHER_NETID_TCP6, "::ffff:1.2.3.4.0.111", "[::ffff:1.2.3.4]:111",
	  NULL },
	{ TETHER_NETID_TCP6, "::1:2.3.4", "[::1:2]:772", "::0.1.0.2.3.4" },
	{ TETHER_NETID_TCP6, "1::.3.4", "[1::]:772", NULL },
	{ TETHER_NETID_LOCAL, "/run/rpcbind.sock", "unix:/run/rpcbind.sock",
	  NULL },
	{ TETHER_NETID_LOCAL, "/1.2.3.4.0.111", "unix:/1.2.3.4.0.111", NULL },
	{ TETHER_NETID_LOCAL, "/", "unix:/", NULL },
};

static void
test_uaddr_good(void **state)
{
	char buf[TETHER_UADDR_STRLEN];
	struct tether_addr a, b;
	size_t i;

	(void)state;
	for (i = 0; i < TETHER_ARRAY_SIZE(ugoods); i++) {
		const struct ugood *u = &ugoods[i];
		const char *canon = u->canon ? u->canon : u->uaddr;
		int n;

		if (tether_addr_from_uaddr_str(&a, u->netid, u->uaddr) != 0)
			fail_msg("uaddr %s %s failed",
				 tether_netid_name(u->netid), u->uaddr);
		assert_int_equal(tether_addr_parse(&b, u->sock, -1), 0);
		assert_int_equal(tether_addr_compare(&a, &b), 0);
		assert_int_equal(memcmp(&a, &b, sizeof(a)), 0);
		n = tether_addr_to_uaddr(&a, u->netid, buf, sizeof(buf));
		if (n != (int)strlen(canon) || strcmp(buf, canon) != 0)
			fail_msg("to_uaddr(%s) = %d \"%s\", want \"%s\"",
				 u->uaddr, n, buf, canon);
		/* counted form, without a NUL after the input */
		assert_int_equal(tether_addr_from_uaddr(&b, u->netid, buf,
							(size_t)n), 0);
		assert_int_equal(tether_addr_compare(&a, &b), 0);
	}
}

struct ubad {
	enum tether_netid netid;
	const char *uaddr;
	int err;
};

static const struct ubad ubads[] = {
	/* missing parts */
	{ TETHER_NETID_TCP, "", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP, "1.2.3.4", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP, "1.2.3.4.0", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP, "1.2.3.0.111", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP, ".0.111", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP, "0.111", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP, "111", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP, "..", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP, "1.2.3.4..111", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP, "1.2.3.4.0.", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP6, "::1.0", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP6, "::1", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP6, ".0.111", TETHER_ESYNTAX },
	/* trailing dots and garbage */
	{ TETHER_NETID_TCP, "1.2.3.4.0.111.", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP, "1.2.3.4.0.111x", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP, "1.2.3.4.0.111 ", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP, " 1.2.3.4.0.111", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP, "1.2.3.4.5.0.111", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP, "1.2.3.4.x.y", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP6, "::1.0.111.", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP6, "::1..0.111", TETHER_ESYNTAX },
	/* port parts */
	{ TETHER_NETID_TCP, "1.2.3.4.256.0", TETHER_ERANGE },
	{ TETHER_NETID_TCP, "1.2.3.4.0.256", TETHER_ERANGE },
	{ TETHER_NETID_TCP, "1.2.3.4.300.1", TETHER_ERANGE },
	{ TETHER_NETID_TCP, "1.2.3.4.0.1000", TETHER_ERANGE },
	{ TETHER_NETID_TCP6, "::1.999.0", TETHER_ERANGE },
	{ TETHER_NETID_TCP, "1.2.3.4.-1.0", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP, "1.2.3.4.+1.0", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP, "1.2.3.4.007.1", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP, "1.2.3.4.00.1", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP, "1.2.3.4.0.01", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP, "1.2.3.4.0x1.0", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP, "1.2.3.4.1e2.0", TETHER_ESYNTAX },
	/* host part */
	{ TETHER_NETID_TCP, "01.2.3.4.0.111", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP, "256.2.3.4.0.111", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP, "localhost.0.111", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP6, "fe80::1%lo.0.111", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP6, "fe80::1%1.0.111", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP6, "[::1].0.111", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP6, "::1::2.0.111", TETHER_ESYNTAX },
	{ TETHER_NETID_TCP6, ":::1.0.111", TETHER_ESYNTAX },
	/* wrong family for the netid */
	{ TETHER_NETID_TCP, "::1.0.111", TETHER_EAFNOSUPPORT },
	{ TETHER_NETID_UDP, "::ffff:1.2.3.4.0.111", TETHER_EAFNOSUPPORT },
	{ TETHER_NETID_TCP6, "127.0.0.1.0.111", TETHER_EAFNOSUPPORT },
	{ TETHER_NETID_UDP6, "127.0.0.1.0.111", TETHER_EAFNOSUPPORT },
	{ TETHER_NETID_TCP, "/run/rpcbind.sock", TETHER_ESYNTAX },
	/* local */
	{ TETHER_NETID_LOCAL, "", TETHER_ESYNTAX },
	{ TETHER_NETID_LOCAL, "run/rpcbind.sock", TETHER_ESYNTAX },
	{ TETHER_NETID_LOCAL, "127.0.0.1.0.111", TETHER_ESYNTAX },
	{ TETHER_NETID_LOCAL, "@abstract", TETHER_ESYNTAX },
	{ TETHER_NETID_LOCAL, "unix:/x", TETHER_ESYNTAX },
	/* netid outside the enum */
	{ TETHER_NETID_MAX, "1.2.3.4.0.111", TETHER_EINVAL },
	{ (enum tether_netid)-1, "1.2.3.4.0.111", TETHER_EINVAL },
};

static void
test_uaddr_bad(void **state)
{
	struct tether_addr a, before;
	size_t i;

	(void)state;
	memset(&before, 0x5a, sizeof(before));
	for (i = 0; i < TETHER_ARRAY_SIZE(ubads); i++) {
		const struct ubad *u = &ubads[i];
		int rc;

		a = before;
		rc = tether_addr_from_uaddr_str(&a, u->netid, u->uaddr);
		if (rc != -u->err)
			fail_msg("uaddr %d \"%s\": got %s, want %s", u->netid,
				 u->uaddr, tether_err_name(rc),
				 tether_err_name(u->err));
		assert_int_equal(memcmp(&a, &before, sizeof(a)), 0);
		assert_int_equal(tether_addr_from_uaddr(&a, u->netid, u->uaddr,
							strlen(u->uaddr)),
				 -u->err);
	}
}

static void
test_uaddr_args_and_limits(void **state)
{
	char buf[TETHER_UADDR_STRLEN + 8];
	struct tether_addr a;
	size_t sz;

	(void)state;
	assert_tether_err(tether_addr_from_uaddr_str(NULL, TETHER_NETID_TCP,
						     "1.2.3.4.0.1"),
			  TETHER_EINVAL);
	assert_tether_err(tether_addr_from_uaddr_str(&a, TETHER_NETID_TCP,
						     NULL), TETHER_EINVAL);
	assert_tether_err(tether_addr_from_uaddr(&a, TETHER_NETID_TCP, NULL, 1),
			  TETHER_EINVAL);
	assert_tether_err(tether_addr_from_uaddr(&a, TETHER_NETID_TCP,
						 "1.2.3.4.0.1\0", 12),
			  TETHER_ESYNTAX);
	assert_tether_err(tether_addr_from_uaddr(&a, TETHER_NETID_LOCAL,
						 "/a\0b", 4), TETHER_ESYNTAX);
	/* A NUL ending the host part: inet_pton would stop there and take
	 * what comes before it. */
	assert_tether_err(tether_addr_from_uaddr(&a, TETHER_NETID_TCP,
						 "1.2.3.4\0.0.111", 14),
			  TETHER_ESYNTAX);
	assert_tether_err(tether_addr_from_uaddr(&a, TETHER_NETID_TCP6,
						 "::1\0x.0.111", 11),
			  TETHER_ESYNTAX);
	/* only len bytes are read */
	assert_int_equal(tether_addr_from_uaddr(&a, TETHER_NETID_TCP,
						"1.2.3.4.0.1999", 11), 0);
	assert_int_equal(tether_addr_port(&a), 1);
	/* over-long */
	memset(buf, '1', sizeof(buf));
	buf[sizeof(buf) - 1] = '\0';
	assert_tether_err(tether_addr_from_uaddr_str(&a, TETHER_NETID_TCP, buf),
			  TETHER_EOVERFLOW);
	assert_tether_err(tether_addr_from_uaddr(&a, TETHER_NETID_TCP6, buf,
						 TETHER_UADDR_STRLEN),
			  TETHER_EOVERFLOW);

	/* to_uaddr: sizes, family mismatch, bad arguments */
	assert_int_equal(tether_addr_parse(&a, "[2001:db8::1]:2049", -1), 0);
	for (sz = 0; sz <= strlen("2001:db8::1.8.1"); sz++) {
		memset(buf, 'x', sizeof(buf));
		assert_tether_err(tether_addr_to_uaddr(&a, TETHER_NETID_TCP6,
						       buf, sz),
				  TETHER_ENOSPC);
		if (sz > 0)
			assert_int_equal(buf[0], '\0');
	}
	assert_int_equal(tether_addr_to_uaddr(&a, TETHER_NETID_TCP6, buf, sz),
			 (int)sz - 1);
	assert_string_equal(buf, "2001:db8::1.8.1");
	assert_tether_err(tether_addr_to_uaddr(&a, TETHER_NETID_TCP, buf,
					       sizeof(buf)),
			  TETHER_EAFNOSUPPORT);
	assert_tether_err(tether_addr_to_uaddr(&a, TETHER_NETID_LOCAL, buf,
					       sizeof(buf)),
			  TETHER_EAFNOSUPPORT);
	assert_tether_err(tether_addr_to_uaddr(&a, TETHER_NETID_MAX, buf,
					       sizeof(buf)),
			  TETHER_EINVAL);
	assert_tether_err(tether_addr_to_uaddr(&a, TETHER_NETID_TCP6, NULL,
					       10), TETHER_EINVAL);
	assert_tether_err(tether_addr_to_uaddr(NULL, TETHER_NETID_TCP6, buf,
					       10), TETHER_EINVAL);
	assert_int_equal(tether_addr_parse(&a, "1.2.3.4:1", -1), 0);
	assert_tether_err(tether_addr_to_uaddr(&a, TETHER_NETID_UDP6, buf,
					       sizeof(buf)),
			  TETHER_EAFNOSUPPORT);
	assert_int_equal(tether_addr_to_uaddr(&a, TETHER_NETID_UDP, buf,
					      sizeof(buf)), 11);
	assert_string_equal(buf, "1.2.3.4.0.1");
	assert_int_equal(tether_addr_parse(&a, "/x", -1), 0);
	assert_tether_err(tether_addr_to_uaddr(&a, TETHER_NETID_TCP, buf,
					       sizeof(buf)),
			  TETHER_EAFNOSUPPORT);
	a.ss.ss_family = AF_APPLETALK;
	assert_tether_err(tether_addr_to_uaddr(&a, TETHER_NETID_TCP, buf,
					       sizeof(buf)),
			  TETHER_EAFNOSUPPORT);
	/* the scope id is dropped: uaddrs carry none */
	assert_int_equal(tether_addr_parse(&a, "[fe80::1%lo]:2049", -1), 0);
	assert_int_equal(tether_addr_to_uaddr(&a, TETHER_NETID_UDP6, buf,
					      sizeof(buf)), 11);
	assert_string_equal(buf, "fe80::1.8.1");
}

/* Every port survives both text forms. */
static void
test_all_ports_round_trip(void **state)
{
	char s[TETHER_ADDR_STRLEN], u[TETHER_UADDR_STRLEN];
	struct tether_addr a, b, c;
	int port;

	(void)state;
	assert_int_equal(tether_addr_parse(&a, "[2001:db8::7]:0", -1), 0);
	for (port = 0; port <= 65535; port++) {
		assert_int_equal(tether_addr_set_port(&a, port), 0);
		assert_true(tether_addr_format(&a, s, sizeof(s), 0) > 0);
		assert_int_equal(tether_addr_parse(&b, s, -1), 0);
		assert_true(tether_addr_to_uaddr(&a, TETHER_NETID_TCP6, u,
						 sizeof(u)) > 0);
		assert_int_equal(tether_addr_from_uaddr_str(&c,
						TETHER_NETID_TCP6, u), 0);
		if (tether_addr_compare(&a, &b) != 0 ||
		    tether_addr_compare(&a, &c) != 0)
			fail_msg("port %d: %s / %s", port, s, u);
	}
}

/* The control message asks for the right source: its bytes, and a
 * datagram sent with it over loopback arrives from that address. */
static void
test_pktinfo_ctl(void **state)
{
	union {
		struct cmsghdr h;
		unsigned char b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} cb;
	struct in_addr src4, any4 = { htonl(INADDR_ANY) };
	struct in6_addr src6;
	struct in_pktinfo pi;
	struct in6_pktinfo pi6;
	struct sockaddr_in to, from;
	socklen_t fromlen = sizeof(from), tolen = sizeof(to);
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *cm;
	char byte = 'x';
	int rx, tx;

	(void)state;
	assert_int_equal(inet_pton(AF_INET, "127.0.0.2", &src4), 1);
	memset(&mh, 0, sizeof(mh));
	tether_addr_pktinfo_ctl(&mh, cb.b, AF_INET, &src4, 0);
	assert_ptr_equal(mh.msg_control, cb.b);
	assert_int_equal(mh.msg_controllen, CMSG_SPACE(sizeof(pi)));
	cm = CMSG_FIRSTHDR(&mh);
	assert_non_null(cm);
	assert_int_equal(cm->cmsg_level, IPPROTO_IP);
	assert_int_equal(cm->cmsg_type, IP_PKTINFO);
	assert_int_equal(cm->cmsg_len, CMSG_LEN(sizeof(pi)));
	memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
	assert_memory_equal(&pi.ipi_spec_dst, &src4, sizeof(src4));
	assert_int_equal(pi.ipi_ifindex, 0);
	assert_int_equal(pi.ipi_addr.s_addr, any4.s_addr);

	/* Sent from a wildcard socket to 127.0.0.1, it comes from
	 * 127.0.0.2, not from the address the route would pick. */
	rx = socket(AF_INET, SOCK_DGRAM, 0);
	tx = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(rx >= 0 && tx >= 0);
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(rx, (struct sockaddr *)&to, sizeof(to)), 0);
	assert_int_equal(getsockname(rx, (struct sockaddr *)&to, &tolen), 0);
	iov.iov_base = &byte;
	iov.iov_len = 1;
	mh.msg_name = &to;
	mh.msg_namelen = sizeof(to);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	assert_int_equal(sendmsg(tx, &mh, 0), 1);
	assert_int_equal(recvfrom(rx, &byte, 1, 0, (struct sockaddr *)&from,
				  &fromlen),
			 1);
	assert_memory_equal(&from.sin_addr, &src4, sizeof(src4));
	close(rx);
	close(tx);

	assert_int_equal(inet_pton(AF_INET6, "fe80::1", &src6), 1);
	memset(&mh, 0, sizeof(mh));
	tether_addr_pktinfo_ctl(&mh, cb.b, AF_INET6, &src6, 7);
	assert_ptr_equal(mh.msg_control, cb.b);
	assert_int_equal(mh.msg_controllen, CMSG_SPACE(sizeof(pi6)));
	cm = CMSG_FIRSTHDR(&mh);
	assert_non_null(cm);
	assert_int_equal(cm->cmsg_level, IPPROTO_IPV6);
	assert_int_equal(cm->cmsg_type, IPV6_PKTINFO);
	assert_int_equal(cm->cmsg_len, CMSG_LEN(sizeof(pi6)));
	memcpy(&pi6, CMSG_DATA(cm), sizeof(pi6));
	assert_memory_equal(&pi6.ipi6_addr, &src6, sizeof(src6));
	assert_int_equal(pi6.ipi6_ifindex, 7);

	/* Another family: no control data, whatever mh held. */
	tether_addr_pktinfo_ctl(&mh, cb.b, AF_UNIX, &src6, 7);
	assert_null(mh.msg_control);
	assert_int_equal(mh.msg_controllen, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_args_and_limits),
		cmocka_unit_test(test_unix_path_limit),
		cmocka_unit_test(test_scope_names),
		cmocka_unit_test(test_format_errors),
		cmocka_unit_test(test_from_sockaddr),
		cmocka_unit_test(test_compare_order),
		cmocka_unit_test(test_copy_and_port),
		cmocka_unit_test(test_loopback_and_family),
		cmocka_unit_test(test_netid_names),
		cmocka_unit_test(test_uaddr_good),
		cmocka_unit_test(test_uaddr_bad),
		cmocka_unit_test(test_uaddr_args_and_limits),
		cmocka_unit_test(test_all_ports_round_trip),
		cmocka_unit_test(test_pktinfo_ctl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
