/*
 * hash.c - hashing: keyed SipHash-2-4 for tables fed by remote input,
 * and a fast multiply-mix hash for load-balancing keys, where every
 * node must compute the same value. Inputs are read with explicit byte
 * loads, so results are the same on every platform and byte order.
 */
#include "tether/core.h"

#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/random.h>
#endif

static uint64_t
rotl64(uint64_t x, unsigned r)
{
	return (x << r) | (x >> (64 - r));
}

static uint64_t
load_le64(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
	       (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	       (uint64_t)p[7] << 56;
}

static uint64_t
load_le32(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24;
}

/* ---- SipHash-2-4 (Aumasson & Bernstein, 2012) ---- */

#define SIPROUND(v0, v1, v2, v3)                                            \
	do {                                                                \
		v0 += v1;                                                   \
		v1 = rotl64(v1, 13);                                        \
		v1 ^= v0;                                                   \
		v0 = rotl64(v0, 32);                                        \
		v2 += v3;                                                   \
		v3 = rotl64(v3, 16);                                        \
		v3 ^= v2;                                                   \
		v0 += v3;                                                   \
		v3 = rotl64(v3, 21);                                        \
		v3 ^= v0;                                                   \
		v2 += v1;                                                   \
		v1 = rotl64(v1, 17);                                        \
		v1 ^= v2;                                                   \
		v2 = rotl64(v2, 32);                                        \
	} while (0)

void
tether_hash_key_set(struct tether_hash_key *key /* OUT */,
		    const unsigned char bytes[16])
{
	key->k0 = load_le64(bytes);
	key->k1 = load_le64(bytes + 8);
}

int
tether_hash_key_random(struct tether_hash_key *key /* OUT */)
{
	unsigned char bytes[16];
#if defined(__linux__)
	size_t got = 0;
	ssize_t n;

	/* Blocks only until the kernel's pool is first seeded (early
	 * boot); a 16-byte request is never cut short after that, but
	 * loop anyway rather than rely on it. */
	while (got < sizeof(bytes)) {
		n = getrandom(bytes + got, sizeof(bytes) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return tether_err_from_errno(errno);
		}
		got += (size_t)n;
	}
#else
	if (getentropy(bytes, sizeof(bytes)) != 0)
		return tether_err_from_errno(errno);
#endif
	tether_hash_key_set(key, bytes);
	memset(bytes, 0, sizeof(bytes));
	return 0;
}

uint64_t
tether_hash_siphash(const struct tether_hash_key *key, const void *p,
		    size_t n)
{
	const unsigned char *in = p;
	uint64_t v0 = key->k0 ^ UINT64_C(0x736f6d6570736575);
	uint64_t v1 = key->k1 ^ UINT64_C(0x646f72616e646f6d);
	uint64_t v2 = key->k0 ^ UINT64_C(0x6c7967656e657261);
	uint64_t v3 = key->k1 ^ UINT64_C(0x7465646279746573);
	uint64_t m, b = (uint64_t)n << 56;
	size_t i, left = n & 7;

	for (i = 0; i + 8 <= n; i += 8) {
		m = load_le64(in + i);
		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	/* The last 0..7 bytes, little-endian, under the length byte. */
	while (left > 0) {
		left--;
		b |= (uint64_t)in[i + left] << (8 * left);
	}
	v3 ^= b;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- The fast hash ---- */

/*
 * Odd 64-bit constants with about half their bits set (the xxHash64
 * primes and the golden ratio), so a multiply spreads every input bit
 * over the product.
 */
#define FAST_K0 UINT64_C(0x9e3779b97f4a7c15)
#define FAST_K1 UINT64_C(0xc2b2ae3d27d4eb4f)
#define FAST_K2 UINT64_C(0x85ebca77c2b2ae63)

/*
 * The 128-bit product from 32-bit halves, for compilers without a
 * 128-bit type. Always built (and cross-checked by test_hash against
 * the native product) so the fallback cannot rot unnoticed.
 */
void tether__hash_mul128_portable(uint64_t a, uint64_t b,
				  uint64_t *lo /* OUT */,
				  uint64_t *hi /* OUT */);

void
tether__hash_mul128_portable(uint64_t a, uint64_t b, uint64_t *lo /* OUT */,
			     uint64_t *hi /* OUT */)
{
	uint64_t al = a & 0xffffffff, ah = a >> 32;
	uint64_t bl = b & 0xffffffff, bh = b >> 32;
	uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
	uint64_t mid = (ll >> 32) + (lh & 0xffffffff) + (hl & 0xffffffff);

	*lo = (mid << 32) | (ll & 0xffffffff);
	*hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

/* The full 128-bit product of a and b, as (lo, hi). */
static void
mul128(uint64_t a, uint64_t b, uint64_t *lo /* OUT */,
       uint64_t *hi /* OUT */)
{
#if defined(__SIZEOF_INT128__)
	__extension__ unsigned __int128 r = (unsigned __int128)a * b;

	*lo = (uint64_t)r;
	*hi = (uint64_t)(r >> 64);
#else
	tether__hash_mul128_portable(a, b, lo, hi);
#endif
}

/* Multiply and fold the halves: every input bit reaches most of the
 * output bits in one step. */
static uint64_t
mix_mul(uint64_t a, uint64_t b)
{
	uint64_t lo, hi;

	mul128(a, b, &lo, &hi);
	return lo ^ hi;
}

uint64_t
tether_hash_fast(const void *p, size_t n, uint64_t seed)
{
	const unsigned char *in = p;
	uint64_t a, b, lo, hi;
	size_t i, q;

	seed ^= mix_mul(seed ^ FAST_K0, FAST_K1);
	if (n <= 16) {
		if (n >= 4) {
			/* Two overlapping 4-byte reads from each end cover
			 * 4..16 bytes without a loop or a branch per size. */
			q = (n >> 3) << 2;
			a = load_le32(in) << 32 | load_le32(in + q);
			b = load_le32(in + n - 4) << 32 |
			    load_le32(in + n - 4 - q);
		} else if (n > 0) {
			a = (uint64_t)in[0] << 16 | (uint64_t)in[n >> 1] << 8 |
			    in[n - 1];
			b = 0;
		} else {
			a = 0;
			b = 0;
		}
	} else {
		for (i = 0; n - i > 16; i += 16)
			seed = mix_mul(load_le64(in + i) ^ FAST_K1,
				       load_le64(in + i + 8) ^ seed);
		/* The last 16 bytes, overlapping the last block if the
		 * length is not a multiple of 16. */
		a = load_le64(in + n - 16);
		b = load_le64(in + n - 8);
	}
	mul128(a ^ FAST_K1, b ^ seed, &lo, &hi);
	return mix_mul(lo ^ FAST_K0 ^ (uint64_t)n, hi ^ FAST_K2);
}

uint64_t
tether_hash_u64(uint64_t x)
{
	/* The splitmix64 finalizer: a bijection with full avalanche. */
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

/* Family tags of our own, so hashes agree across platforms whose AF_*
 * numbers differ. */
#define SA_TAG_INET 4
#define SA_TAG_INET6 6
#define SA_TAG_UNIX 1

uint64_t
tether_hash_sockaddr(const struct sockaddr *sa, socklen_t len, int with_port,
		     uint64_t seed)
{
	static const unsigned char v4mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	unsigned char key[1 + 16 + 2 + 4];
	size_t n = 0, plen;
	const unsigned char *port = NULL;

	if (sa == NULL || len < (socklen_t)sizeof(sa_family_t))
		return tether_hash_fast(NULL, 0, seed);
	if (sa->sa_family == AF_INET &&
	    len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const void *)sa;

		key[n++] = SA_TAG_INET;
		memcpy(key + n, &sin->sin_addr, 4);
		n += 4;
		port = (const unsigned char *)&sin->sin_port;
	} else if (sa->sa_family == AF_INET6 &&
		   len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;
		const unsigned char *a6 = sin6->sin6_addr.s6_addr;

		/* A v4 client on a dual-stack socket must hash as itself. */
		if (memcmp(a6, v4mapped, sizeof(v4mapped)) == 0) {
			key[n++] = SA_TAG_INET;
			memcpy(key + n, a6 + 12, 4);
			n += 4;
		} else {
			key[n++] = SA_TAG_INET6;
			memcpy(key + n, a6, 16);
			n += 16;
			/* Link-local fe80::1 on two links is two hosts. */
			key[n++] = (unsigned char)sin6->sin6_scope_id;
			key[n++] = (unsigned char)(sin6->sin6_scope_id >> 8);
			key[n++] = (unsigned char)(sin6->sin6_scope_id >> 16);
			key[n++] = (unsigned char)(sin6->sin6_scope_id >> 24);
		}
		port = (const unsigned char *)&sin6->sin6_port;
	} else if (sa->sa_family == AF_UNIX &&
		   len > (socklen_t)offsetof(struct sockaddr_un, sun_path)) {
		const struct sockaddr_un *su = (const void *)sa;
		const unsigned char *path =
			(const unsigned char *)su->sun_path;
		size_t off = offsetof(struct sockaddr_un, sun_path);

		plen = (size_t)len - off;
		if (plen > sizeof(su->sun_path))
			plen = sizeof(su->sun_path);
		/* A pathname ends at its NUL; an abstract name (leading
		 * NUL) is all of its bytes. */
		if (path[0] != '\0')
			plen = strnlen(su->sun_path, plen);
		return tether_hash_fast(path, plen,
					seed ^ tether_hash_u64(SA_TAG_UNIX));
	} else {
		/* Unknown family or short length: the raw bytes. */
		return tether_hash_fast(sa, (size_t)len, seed);
	}
	if (with_port) {
		key[n++] = port[0];
		key[n++] = port[1];
	}
	return tether_hash_fast(key, n, seed);
}
