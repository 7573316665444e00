/*
 * proxyproto.c - the PROXY protocol version 2 header (HAProxy's
 * proxy-protocol.txt, section 2.2) that tether-lb may send first on
 * each backend connection, so backends see the client's address.
 */
#include "lb.h"

#include <netinet/in.h>
#include <string.h>

static const unsigned char v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* The address of a as 16 IPv6 bytes (IPv4 as ::ffff:a.b.c.d) and its
 * port in network order. Returns 0 or -TETHER_EAFNOSUPPORT. */
static int
as_v6(const struct tether_addr *a, unsigned char out[16], uint16_t *port)
{
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)&a->ss;

		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &sin->sin_addr, 4);
		*port = sin->sin_port;
		return 0;
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)&a->ss;

		memcpy(out, &sin6->sin6_addr, 16);
		*port = sin6->sin6_port;
		return 0;
	}
	return -TETHER_EAFNOSUPPORT;
}

int
lb_proxy_v2_header(const struct tether_addr *src, const struct tether_addr *dst,
		   unsigned char *out, size_t size)
{
	unsigned char *p = out;
	size_t alen;

	if (size < LB_PROXY_V2_MAX)
		return -TETHER_ENOSPC;
	memcpy(p, v2_sig, sizeof(v2_sig));
	p += sizeof(v2_sig);
	if (src->ss.ss_family == AF_INET && dst->ss.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)&src->ss;
		const struct sockaddr_in *d4 = (const void *)&dst->ss;

		*p++ = 0x21;		/* version 2, PROXY */
		*p++ = 0x11;		/* AF_INET, STREAM */
		alen = 12;
		*p++ = 0;
		*p++ = (unsigned char)alen;
		memcpy(p, &s4->sin_addr, 4);
		memcpy(p + 4, &d4->sin_addr, 4);
		memcpy(p + 8, &s4->sin_port, 2);
		memcpy(p + 10, &d4->sin_port, 2);
		return (int)(16 + alen);
	}
	{
		unsigned char sa[16], da[16];
		uint16_t sp, dp;

		if (as_v6(src, sa, &sp) < 0 || as_v6(dst, da, &dp) < 0) {
			/* LOCAL: the backend uses the connection's own
			 * addresses. */
			*p++ = 0x20;
			*p++ = 0x00;
			*p++ = 0;
			*p++ = 0;
			return 16;
		}
		*p++ = 0x21;
		*p++ = 0x21;		/* AF_INET6, STREAM */
		alen = 36;
		*p++ = 0;
		*p++ = (unsigned char)alen;
		memcpy(p, sa, 16);
		memcpy(p + 16, da, 16);
		memcpy(p + 32, &sp, 2);
		memcpy(p + 34, &dp, 2);
		return (int)(16 + alen);
	}
}
