/*
 * tether-addr - convert between socket addresses ("[::1]:111") and RFC
 * 5665 universal addresses ("::1.0.111") for a netid, or check and
 * normalise a socket address. A thin shell over lib/core/addr.c, so
 * what it accepts is exactly what libtether accepts.
 */
#include "tether/core.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define EXIT_BAD_ADDR 1
#define EXIT_USAGE 2

static const char *progname = "tether-addr";

static void
usage(FILE *f)
{
	fprintf(f,
"usage: %s -u NETID [-p PORT] [-n] ADDRESS...\n"
"       %s -t NETID [-n] UADDR...\n"
"       %s -c [-p PORT] [-n] ADDRESS...\n"
"\n"
"Convert between socket addresses and RFC 5665 universal addresses.\n"
"\n"
"  -u, --to-uaddr NETID    socket address -> universal address for NETID\n"
"  -t, --to-taddr NETID    universal address for NETID -> socket address\n"
"  -c, --check             check socket addresses, print them normalised\n"
"  -p, --port PORT         default port for addresses given without one\n"
"  -n, --numeric           print IPv6 scope ids as numbers\n"
"  -h, --help              show this help\n"
"\n"
"NETID is tcp, udp, tcp6, udp6 or local (unix is taken as local).\n"
"ADDRESS is 1.2.3.4:111, [::1]:111, [fe80::1%%eth0]:111, unix:/path or\n"
"/path; with -p, also 1.2.3.4, ::1, fe80::1%%eth0 or [::1].\n"
"UADDR is h1.h2.h3.h4.p1.p2 (tcp, udp), ipv6.p1.p2 (tcp6, udp6) or an\n"
"absolute path (local).\n"
"\n"
"Exit status: 0 if every operand converted, 1 if one was invalid,\n"
"2 on a usage error.\n",
		progname, progname, progname);
}

static int
usage_error(const char *msg, const char *arg)
{
	if (arg != NULL)
		fprintf(stderr, "%s: %s: '%s'\n", progname, msg, arg);
	else
		fprintf(stderr, "%s: %s\n", progname, msg);
	fprintf(stderr, "Try '%s --help' for more information.\n", progname);
	return EXIT_USAGE;
}

/* A port for -p: the same rules as in addresses (0..65535, no sign, no
 * leading zeros), checked by parsing it as part of an address. */
static int
parse_port_opt(const char *s)
{
	char buf[32];
	struct tether_addr a;
	int w;

	w = snprintf(buf, sizeof(buf), "0.0.0.0:%s", s);
	if (w < 0 || (size_t)w >= sizeof(buf) ||
	    tether_addr_parse(&a, buf, -1) != 0)
		return -1;
	return tether_addr_port(&a);
}

static int
bad_operand(const char *what, const char *arg, int rc)
{
	fprintf(stderr, "%s: invalid %s '%s': %s\n", progname, what, arg,
		tether_strerror(rc));
	return EXIT_BAD_ADDR;
}

static int
to_uaddr(const char *arg, int netid, int defport)
{
	char out[TETHER_UADDR_STRLEN];
	struct tether_addr a;
	int rc;

	rc = tether_addr_parse(&a, arg, defport);
	if (rc < 0)
		return bad_operand("address", arg, rc);
	rc = tether_addr_to_uaddr(&a, netid, out, sizeof(out));
	if (rc == -TETHER_EAFNOSUPPORT) {
		fprintf(stderr, "%s: address '%s' is %s, netid %s needs "
			"another family\n", progname, arg,
			tether_addr_family_name(&a), tether_netid_name(netid));
		return EXIT_BAD_ADDR;
	}
	if (rc < 0)
		return bad_operand("address", arg, rc);
	printf("%s\n", out);
	return 0;
}

static int
to_taddr(const char *arg, int netid, unsigned flags)
{
	char out[TETHER_ADDR_STRLEN];
	struct tether_addr a;
	int rc;

	rc = tether_addr_from_uaddr_str(&a, netid, arg);
	if (rc == -TETHER_EAFNOSUPPORT) {
		fprintf(stderr, "%s: universal address '%s' is not of the "
			"family of netid %s\n", progname, arg,
			tether_netid_name(netid));
		return EXIT_BAD_ADDR;
	}
	if (rc < 0)
		return bad_operand("universal address", arg, rc);
	rc = tether_addr_format(&a, out, sizeof(out), flags);
	if (rc < 0)
		return bad_operand("universal address", arg, rc);
	printf("%s\n", out);
	return 0;
}

static int
check(const char *arg, int defport, unsigned flags)
{
	char out[TETHER_ADDR_STRLEN];
	struct tether_addr a;
	int rc;

	rc = tether_addr_parse(&a, arg, defport);
	if (rc < 0)
		return bad_operand("address", arg, rc);
	rc = tether_addr_format(&a, out, sizeof(out), flags);
	if (rc < 0)
		return bad_operand("address", arg, rc);
	printf("%s\n", out);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "to-uaddr", required_argument, NULL, 'u' },
		{ "to-taddr", required_argument, NULL, 't' },
		{ "check", no_argument, NULL, 'c' },
		{ "port", required_argument, NULL, 'p' },
		{ "numeric", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *netid_arg = NULL;
	unsigned flags = 0;
	int mode = 0, defport = -1, netid = -1, status = 0, c, i;

	if (argc > 0 && argv[0] != NULL && argv[0][0] != '\0') {
		const char *slash = strrchr(argv[0], '/');

		progname = slash ? slash + 1 : argv[0];
	}
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+u:t:cp:nh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'u':
		case 't':
		case 'c':
			if (mode != 0 && mode != c)
				return usage_error("-u, -t and -c exclude "
						   "each other", NULL);
			mode = c;
			if (c != 'c')
				netid_arg = optarg;
			break;
		case 'p':
			defport = parse_port_opt(optarg);
			if (defport < 0)
				return usage_error("invalid port", optarg);
			break;
		case 'n':
			flags |= TETHER_ADDR_FMT_NUMERIC;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default: {
			char o[3] = { '-', (char)optopt, '\0' };

			if (optopt != 0 && strchr("utp", optopt) != NULL)
				return usage_error("option needs an argument",
						   o);
			return usage_error("unknown option", optopt != 0 ?
					   o : argv[optind - 1]);
		}
		}
	}
	if (mode == 0)
		return usage_error("one of -u, -t or -c is required", NULL);
	if (optind >= argc)
		return usage_error("no address given", NULL);
	if (netid_arg != NULL) {
		netid = tether_netid_from_name(netid_arg);
		if (netid < 0)
			return usage_error("unknown netid (want tcp, udp, "
					   "tcp6, udp6 or local)", netid_arg);
	}
	if (mode == 't' && defport >= 0)
		return usage_error("-p makes no sense with -t", NULL);

	for (i = optind; i < argc; i++) {
		int rc;

		if (mode == 'u')
			rc = to_uaddr(argv[i], netid, defport);
		else if (mode == 't')
			rc = to_taddr(argv[i], netid, flags);
		else
			rc = check(argv[i], defport, flags);
		if (rc != 0)
			status = rc;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: write error\n", progname);
		return EXIT_BAD_ADDR;
	}
	return status;
}
