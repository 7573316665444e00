/*
 * addr_tirpc.c - differential test of tether's universal addresses
 * against libtirpc's uaddr2taddr / taddr2uaddr (the peer every rpcbind
 * client on Debian uses). The only binary that links libtirpc.
 * A table states, per input, whether both accept (and agree), both
 * reject, or only libtirpc accepts (where we are stricter on purpose);
 * then random inputs check that everything we accept libtirpc accepts
 * to the same address, and that taddr2uaddr output is byte-identical.
 */
#include "tether/core.h"

#include <netconfig.h>
#include <rpc/rpc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum expect {
	SAME,		/* both accept, same address */
	BOTH_REJECT,
	STRICTER,	/* libtirpc accepts, we reject on purpose */
};

struct row {
	const char *netid;
	const char *uaddr;
	enum expect expect;
	const char *why;	/* for STRICTER rows: what libtirpc does */
};

static const struct row rows[] = {
	{ "tcp", "127.0.0.1.0.111", SAME, NULL },
	{ "udp", "10.1.2.3.8.1", SAME, NULL },
	{ "tcp", "0.0.0.0.0.0", SAME, NULL },
	{ "tcp", "255.255.255.255.255.255", SAME, NULL },
	{ "tcp6", "::1.0.111", SAME, NULL },
	{ "udp6", "fe80::1.8.1", SAME, NULL },
	{ "tcp6", "::ffff:1.2.3.4.0.111", SAME, NULL },
	{ "tcp6", "2001:DB8::1.1.1", SAME, NULL },
	{ "tcp6", "::.0.0", SAME, NULL },
	{ "local", "/run/rpcbind.sock", SAME, NULL },
	{ "local", "/1.2.3.4.0.111", SAME, NULL },

	{ "tcp", "1.2.3.4", BOTH_REJECT, NULL },
	{ "tcp", "1.2.3.4.0", BOTH_REJECT, NULL },
	{ "tcp", "111", BOTH_REJECT, NULL },
	{ "tcp", "1.2.3.4.5.0.111", BOTH_REJECT, NULL },
	{ "tcp", "01.2.3.4.0.111", BOTH_REJECT, NULL },
	{ "tcp", "::1.0.111", BOTH_REJECT, NULL },
	{ "tcp6", "127.0.0.1.0.111", BOTH_REJECT, NULL },
	{ "tcp6", "fe80::1%1.0.111", BOTH_REJECT, NULL },
	{ "tcp6", "::1", BOTH_REJECT, NULL },
	{ "tcp", "localhost.0.111", BOTH_REJECT, NULL },

	{ "tcp", "1.2.3.4.256.0", STRICTER,
	  "p1 > 255 accepted, the port wraps: 256 * 256 -> 0" },
	{ "tcp", "1.2.3.4.0.256", STRICTER,
	  "p2 > 255 accepted, spills into p1's byte: port 256" },
	{ "tcp", "1.2.3.4.x.y", STRICTER, "atoi: non-numbers read as 0" },
	{ "tcp", "1.2.3.4..", STRICTER, "atoi: empty parts read as 0" },
	{ "tcp", "1.2.3.4.-1.0", STRICTER, "atoi: negative parts" },
	{ "tcp", "1.2.3.4.007.1", STRICTER, "atoi: leading zeros" },
	{ "tcp", "1.2.3.4.1.2x", STRICTER, "atoi: trailing garbage" },
	{ "tcp", "1.2.3.4. 1.2", STRICTER, "atoi: leading white space" },
	{ "tcp6", "::1.99999.0", STRICTER, "atoi: huge parts" },
	{ "local", "run/rpcbind.sock", BOTH_REJECT, NULL },
	{ "local", "run/rpcbind.1.2", STRICTER,
	  "a relative path loses its two last dot parts, then is kept" },
	{ "local", "/tmp/x\001y", SAME, NULL },
};

static struct netconfig *netconfs[TETHER_NETID_MAX];

/* Never ask libtirpc for "unix": it warns and sleeps for 10 seconds. */
static struct netconfig *
nconf(const char *netid)
{
	int id = tether_netid_from_name(netid);

	if (id < 0 || strcmp(netid, tether_netid_name(id)) != 0)
		return NULL;
	if (netconfs[id] == NULL)
		netconfs[id] = getnetconfigent(netid);
	return netconfs[id];
}

/*
 * Run one input through both. Returns 1 both accept and agree, 0 both
 * reject, 2 only libtirpc accepts, -1 disagreement (printed).
 */
static int
compare_one(const char *netid, const char *uaddr, int verbose)
{
	struct netconfig *nc = nconf(netid);
	struct tether_addr ours, theirs;
	struct netbuf *nb;
	int id = tether_netid_from_name(netid);
	int rc_ours, rc_theirs, result;

	if (nc == NULL || id < 0) {
		fprintf(stderr, "no netconfig for %s (is /etc/netconfig "
			"there?)\n", netid);
		return -1;
	}
	rc_ours = tether_addr_from_uaddr_str(&ours, id, uaddr);
	nb = uaddr2taddr(nc, uaddr);
	rc_theirs = -1;
	if (nb != NULL && nb->buf != NULL)
		rc_theirs = tether_addr_from_sockaddr(&theirs, nb->buf, nb->len);
	if (nb != NULL) {
		free(nb->buf);
		free(nb);
	}
	if (rc_ours == 0 && nb == NULL) {
		result = -1;	/* we accept what libtirpc rejects */
	} else if (rc_ours == 0) {
		result = rc_theirs == 0 &&
			 tether_addr_compare(&ours, &theirs) == 0 ? 1 : -1;
	} else {
		result = nb == NULL ? 0 : 2;
	}
	if (result < 0 || verbose)
		fprintf(result < 0 ? stderr : stdout,
			"%s %s \"%s\": tether %s, libtirpc %s\n",
			result < 0 ? "MISMATCH" : "   ", netid, uaddr,
			tether_err_name(rc_ours),
			nb == NULL ? "rejects" : rc_theirs == 0 ? "accepts" :
			"accepts (unrepresentable)");
	return result;
}

static int
check_table(void)
{
	static const int want[] = { [SAME] = 1, [BOTH_REJECT] = 0,
				    [STRICTER] = 2 };
	size_t i;
	int bad = 0;

	for (i = 0; i < TETHER_ARRAY_SIZE(rows); i++) {
		int r = compare_one(rows[i].netid, rows[i].uaddr, 0);

		if (r != want[rows[i].expect]) {
			fprintf(stderr, "FAIL row %zu: %s \"%s\" gave %d, "
				"want %d\n", i, rows[i].netid, rows[i].uaddr,
				r, want[rows[i].expect]);
			bad++;
		} else if (rows[i].expect == STRICTER) {
			printf("stricter: %s \"%s\": %s\n", rows[i].netid,
			       rows[i].uaddr, rows[i].why);
		}
	}
	return bad;
}

/* taddr2uaddr of the same address must be byte-identical to ours. */
static int
check_taddr2uaddr(void)
{
	static const struct {
		const char *sock;
		const char *netid;
	} t[] = {
		{ "127.0.0.1:111", "tcp" },
		{ "0.0.0.0:0", "udp" },
		{ "255.255.255.255:65535", "tcp" },
		{ "10.0.0.1:2049", "udp" },
		{ "[::1]:111", "tcp6" },
		{ "[::]:0", "udp6" },
		{ "[fe80::1]:2049", "tcp6" },
		{ "[::ffff:1.2.3.4]:5", "tcp6" },
		{ "[::1:111]:5", "tcp6" },
		{ "[2001:db8:0:1:0:0:0:1]:256", "udp6" },
		{ "unix:/run/rpcbind.sock", "local" },
	};
	char ours[TETHER_UADDR_STRLEN];
	struct tether_addr a;
	struct netbuf nb;
	size_t i;
	int bad = 0, port;

	for (i = 0; i < TETHER_ARRAY_SIZE(t); i++) {
		int id = tether_netid_from_name(t[i].netid);
		char *theirs;

		if (tether_addr_parse(&a, t[i].sock, -1) != 0 ||
		    tether_addr_to_uaddr(&a, id, ours, sizeof(ours)) < 0) {
			fprintf(stderr, "FAIL: %s does not convert\n",
				t[i].sock);
			bad++;
			continue;
		}
		nb.buf = &a.ss;
		nb.len = nb.maxlen = a.len;
		theirs = taddr2uaddr(nconf(t[i].netid), &nb);
		if (theirs == NULL || strcmp(theirs, ours) != 0) {
			fprintf(stderr, "FAIL taddr2uaddr %s: tether \"%s\", "
				"libtirpc \"%s\"\n", t[i].sock, ours,
				theirs ? theirs : "(null)");
			bad++;
		}
		free(theirs);
	}
	/* every port, IPv4 and IPv6 */
	for (port = 0; port <= 65535; port++) {
		static const char *const socks[] = { "192.0.2.1:0", "[::1]:0" };
		static const char *const ids[] = { "udp", "tcp6" };
		int k;

		for (k = 0; k < 2; k++) {
			char *theirs;

			tether_addr_parse(&a, socks[k], -1);
			tether_addr_set_port(&a, port);
			tether_addr_to_uaddr(&a, tether_netid_from_name(ids[k]),
					     ours, sizeof(ours));
			nb.buf = &a.ss;
			nb.len = nb.maxlen = a.len;
			theirs = taddr2uaddr(nconf(ids[k]), &nb);
			if (theirs == NULL || strcmp(theirs, ours) != 0) {
				if (bad++ < 10)
					fprintf(stderr, "FAIL port %d: %s vs "
						"%s\n", port, ours,
						theirs ? theirs : "(null)");
			}
			free(theirs);
		}
	}
	return bad;
}

static unsigned long long rng_state = 0x9e3779b97f4a7c15ull;

static unsigned
rng(unsigned n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)(rng_state % n);
}

/*
 * Random uaddrs, mostly mutations of valid ones: whatever we accept,
 * libtirpc must accept to the same address.
 */
static int
check_random(unsigned iterations)
{
	static const char *const seeds[] = {
		"127.0.0.1.0.111", "::1.0.111", "fe80::1.8.1",
		"::ffff:10.0.0.1.255.255", "/run/rpcbind.sock", "1.2.3.4.1.0",
	};
	static const char alphabet[] = "0123456789.:abcdefx/%- ";
	static const char *const ids[] = { "tcp", "udp", "tcp6", "udp6",
					   "local" };
	unsigned i, accepted = 0, stricter = 0;
	int bad = 0;

	for (i = 0; i < iterations; i++) {
		char s[64];
		size_t n;
		unsigned k, edits;
		int r;

		snprintf(s, sizeof(s), "%s",
			 seeds[rng(TETHER_ARRAY_SIZE(seeds))]);
		n = strlen(s);
		edits = rng(4);
		for (k = 0; k < edits; k++) {
			unsigned pos = rng((unsigned)n + 1), op = rng(3);
			char ch = alphabet[rng(sizeof(alphabet) - 1)];

			if (op == 0 && n + 1 < sizeof(s)) {	/* insert */
				memmove(s + pos + 1, s + pos, n - pos + 1);
				s[pos] = ch;
				n++;
			} else if (op == 1 && pos < n) {	/* delete */
				memmove(s + pos, s + pos + 1, n - pos);
				n--;
			} else if (pos < n) {			/* replace */
				s[pos] = ch;
			}
		}
		r = compare_one(ids[rng(TETHER_ARRAY_SIZE(ids))], s, 0);
		if (r < 0 && bad++ > 20)
			break;
		accepted += r == 1;
		stricter += r == 2;
	}
	printf("random: %u inputs, %u accepted by both, %u only by "
	       "libtirpc, %d mismatches\n", i, accepted, stricter, bad);
	return bad;
}

int
main(void)
{
	int bad = 0;
	size_t i;

	bad += check_table();
	bad += check_taddr2uaddr();
	bad += check_random(200000);
	for (i = 0; i < TETHER_ARRAY_SIZE(netconfs); i++)
		if (netconfs[i] != NULL)
			freenetconfigent(netconfs[i]);
	if (bad != 0) {
		fprintf(stderr, "addr_tirpc: %d failures\n", bad);
		return 1;
	}
	printf("addr_tirpc: OK\n");
	return 0;
}
