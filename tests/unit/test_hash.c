/*
 * test_hash.c - SipHash-2-4 against the reference vectors, random keys,
 * and the fast hashes: pinned values, determinism, independence from
 * alignment, avalanche and bucket distribution, socket address rules.
 */
#include "tether_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

/* The fallback 128-bit product in hash.c, checked against the native. */
void tether__hash_mul128_portable(uint64_t a, uint64_t b, uint64_t *lo,
				  uint64_t *hi);

/*
 * SipHash-2-4, 64-bit output: vectors_sip64 from the reference
 * implementation's vectors.h (github.com/veorq/SipHash). Key 00..0f,
 * message i is the i bytes 00, 01, ..., i-1; output bytes in order.
 */
static const unsigned char sip64_vectors[64][8] = {
	{ 0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72 },
	{ 0xfd, 0x67, 0xdc, 0x93, 0xc5, 0x39, 0xf8, 0x74 },
	{ 0x5a, 0x4f, 0xa9, 0xd9, 0x09, 0x80, 0x6c, 0x0d },
	{ 0x2d, 0x7e, 0xfb, 0xd7, 0x96, 0x66, 0x67, 0x85 },
	{ 0xb7, 0x87, 0x71, 0x27, 0xe0, 0x94, 0x27, 0xcf },
	{ 0x8d, 0xa6, 0x99, 0xcd, 0x64, 0x55, 0x76, 0x18 },
	{ 0xce, 0xe3, 0xfe, 0x58, 0x6e, 0x46, 0xc9, 0xcb },
	{ 0x37, 0xd1, 0x01, 0x8b, 0xf5, 0x00, 0x02, 0xab },
	{ 0x62, 0x24, 0x93, 0x9a, 0x79, 0xf5, 0xf5, 0x93 },
	{ 0xb0, 0xe4, 0xa9, 0x0b, 0xdf, 0x82, 0x00, 0x9e },
	{ 0xf3, 0xb9, 0xdd, 0x94, 0xc5, 0xbb, 0x5d, 0x7a },
	{ 0xa7, 0xad, 0x6b, 0x22, 0x46, 0x2f, 0xb3, 0xf4 },
	{ 0xfb, 0xe5, 0x0e, 0x86, 0xbc, 0x8f, 0x1e, 0x75 },
	{ 0x90, 0x3d, 0x84, 0xc0, 0x27, 0x56, 0xea, 0x14 },
	{ 0xee, 0xf2, 0x7a, 0x8e, 0x90, 0xca, 0x23, 0xf7 },
	{ 0xe5, 0x45, 0xbe, 0x49, 0x61, 0xca, 0x29, 0xa1 },
	{ 0xdb, 0x9b, 0xc2, 0x57, 0x7f, 0xcc, 0x2a, 0x3f },
	{ 0x94, 0x47, 0xbe, 0x2c, 0xf5, 0xe9, 0x9a, 0x69 },
	{ 0x9c, 0xd3, 0x8d, 0x96, 0xf0, 0xb3, 0xc1, 0x4b },
	{ 0xbd, 0x61, 0x79, 0xa7, 0x1d, 0xc9, 0x6d, 0xbb },
	{ 0x98, 0xee, 0xa2, 0x1a, 0xf2, 0x5c, 0xd6, 0xbe },
	{ 0xc7, 0x67, 0x3b, 0x2e, 0xb0, 0xcb, 0xf2, 0xd0 },
	{ 0x88, 0x3e, 0xa3, 0xe3, 0x95, 0x67, 0x53, 0x93 },
	{ 0xc8, 0xce, 0x5c, 0xcd, 0x8c, 0x03, 0x0c, 0xa8 },
	{ 0x94, 0xaf, 0x49, 0xf6, 0xc6, 0x50, 0xad, 0xb8 },
	{ 0xea, 0xb8, 0x85, 0x8a, 0xde, 0x92, 0xe1, 0xbc },
	{ 0xf3, 0x15, 0xbb, 0x5b, 0xb8, 0x35, 0xd8, 0x17 },
	{ 0xad, 0xcf, 0x6b, 0x07, 0x63, 0x61, 0x2e, 0x2f },
	{ 0xa5, 0xc9, 0x1d, 0xa7, 0xac, 0xaa, 0x4d, 0xde },
	{ 0x71, 0x65, 0x95, 0x87, 0x66, 0x50, 0xa2, 0xa6 },
	{ 0x28, 0xef, 0x49, 0x5c, 0x53, 0xa3, 0x87, 0xad },
	{ 0x42, 0xc3, 0x41, 0xd8, 0xfa, 0x92, 0xd8, 0x32 },
	{ 0xce, 0x7c, 0xf2, 0x72, 0x2f, 0x51, 0x27, 0x71 },
	{ 0xe3, 0x78, 0x59, 0xf9, 0x46, 0x23, 0xf3, 0xa7 },
	{ 0x38, 0x12, 0x05, 0xbb, 0x1a, 0xb0, 0xe0, 0x12 },
	{ 0xae, 0x97, 0xa1, 0x0f, 0xd4, 0x34, 0xe0, 0x15 },
	{ 0xb4, 0xa3, 0x15, 0x08, 0xbe, 0xff, 0x4d, 0x31 },
	{ 0x81, 0x39, 0x62, 0x29, 0xf0, 0x90, 0x79, 0x02 },
	{ 0x4d, 0x0c, 0xf4, 0x9e, 0xe5, 0xd4, 0xdc, 0xca },
	{ 0x5c, 0x73, 0x33, 0x6a, 0x76, 0xd8, 0xbf, 0x9a },
	{ 0xd0, 0xa7, 0x04, 0x53, 0x6b, 0xa9, 0x3e, 0x0e },
	{ 0x92, 0x59, 0x58, 0xfc, 0xd6, 0x42, 0x0c, 0xad },
	{ 0xa9, 0x15, 0xc2, 0x9b, 0xc8, 0x06, 0x73, 0x18 },
	{ 0x95, 0x2b, 0x79, 0xf3, 0xbc, 0x0a, 0xa6, 0xd4 },
	{ 0xf2, 0x1d, 0xf2, 0xe4, 0x1d, 0x45, 0x35, 0xf9 },
	{ 0x87, 0x57, 0x75, 0x19, 0x04, 0x8f, 0x53, 0xa9 },
	{ 0x10, 0xa5, 0x6c, 0xf5, 0xdf, 0xcd, 0x9a, 0xdb },
	{ 0xeb, 0x75, 0x09, 0x5c, 0xcd, 0x98, 0x6c, 0xd0 },
	{ 0x51, 0xa9, 0xcb, 0x9e, 0xcb, 0xa3, 0x12, 0xe6 },
	{ 0x96, 0xaf, 0xad, 0xfc, 0x2c, 0xe6, 0x66, 0xc7 },
	{ 0x72, 0xfe, 0x52, 0x97, 0x5a, 0x43, 0x64, 0xee },
	{ 0x5a, 0x16, 0x45, 0xb2, 0x76, 0xd5, 0x92, 0xa1 },
	{ 0xb2, 0x74, 0xcb, 0x8e, 0xbf, 0x87, 0x87, 0x0a },
	{ 0x6f, 0x9b, 0xb4, 0x20, 0x3d, 0xe7, 0xb3, 0x81 },
	{ 0xea, 0xec, 0xb2, 0xa3, 0x0b, 0x22, 0xa8, 0x7f },
	{ 0x99, 0x24, 0xa4, 0x3c, 0xc1, 0x31, 0x57, 0x24 },
	{ 0xbd, 0x83, 0x8d, 0x3a, 0xaf, 0xbf, 0x8d, 0xb7 },
	{ 0x0b, 0x1a, 0x2a, 0x32, 0x65, 0xd5, 0x1a, 0xea },
	{ 0x13, 0x50, 0x79, 0xa3, 0x23, 0x1c, 0xe6, 0x60 },
	{ 0x93, 0x2b, 0x28, 0x46, 0xe4, 0xd7, 0x06, 0x66 },
	{ 0xe1, 0x91, 0x5f, 0x5c, 0xb1, 0xec, 0xa4, 0x6c },
	{ 0xf3, 0x25, 0x96, 0x5c, 0xa1, 0x6d, 0x62, 0x9f },
	{ 0x57, 0x5f, 0xf2, 0x8e, 0x60, 0x38, 0x1b, 0xe5 },
	{ 0x72, 0x45, 0x06, 0xeb, 0x4c, 0x32, 0x8a, 0x95 },
};

static uint64_t
next_rand(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static unsigned
popcount64(uint64_t x)
{
	unsigned n = 0;

	for (; x != 0; x &= x - 1)
		n++;
	return n;
}

static void
paper_key(struct tether_hash_key *key)
{
	unsigned char kb[16];
	size_t i;

	for (i = 0; i < 16; i++)
		kb[i] = (unsigned char)i;
	tether_hash_key_set(key, kb);
}

static void
test_siphash_vectors(void **state)
{
	struct tether_hash_key key;
	unsigned char msg[64];
	size_t i, j;

	(void)state;
	paper_key(&key);
	for (i = 0; i < 64; i++)
		msg[i] = (unsigned char)i;
	for (i = 0; i < 64; i++) {
		uint64_t h = tether_hash_siphash(&key, msg, i), want = 0;

		for (j = 0; j < 8; j++)
			want |= (uint64_t)sip64_vectors[i][j] << (8 * j);
		assert_int_equal(h, want);
	}
	/* The paper's appendix: a 15-byte message. */
	assert_int_equal(tether_hash_siphash(&key, msg, 15),
			 UINT64_C(0xa129ca6149be45e5));
	assert_int_equal(tether_hash_siphash(&key, NULL, 0),
			 UINT64_C(0x726fdb47dd0e0e31));
}

static void
test_siphash_key(void **state)
{
	struct tether_hash_key key, k2, zero = { 0, 0 };
	unsigned char msg[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	(void)state;
	/* Bytes 0..7 are k0, little-endian, whatever the host order. */
	paper_key(&key);
	assert_int_equal(key.k0, UINT64_C(0x0706050403020100));
	assert_int_equal(key.k1, UINT64_C(0x0f0e0d0c0b0a0908));
	/* Every key bit matters. */
	k2 = key;
	k2.k1 ^= UINT64_C(1) << 63;
	assert_int_not_equal(tether_hash_siphash(&key, msg, 8),
			     tether_hash_siphash(&k2, msg, 8));
	k2 = key;
	k2.k0 ^= 1;
	assert_int_not_equal(tether_hash_siphash(&key, msg, 8),
			     tether_hash_siphash(&k2, msg, 8));

	/* Random keys: filled, and different each time (a collision of
	 * two 128-bit random keys would be a broken source). */
	k2 = zero;
	key = zero;
	assert_int_equal(tether_hash_key_random(&key), 0);
	assert_int_equal(tether_hash_key_random(&k2), 0);
	assert_false(key.k0 == 0 && key.k1 == 0);
	assert_false(key.k0 == k2.k0 && key.k1 == k2.k1);
	assert_int_not_equal(tether_hash_siphash(&key, msg, 8),
			     tether_hash_siphash(&k2, msg, 8));
}

/*
 * Pinned values. Load-balancer nodes (and versions of them) must agree
 * on these hashes to send a client to the same backend, so a change in
 * the function is a protocol change: it must fail here first.
 */
static void
test_fast_pinned(void **state)
{
	static const struct {
		size_t len;
		uint64_t seed0, seed1;
	} pins[] = {
		{ 0, UINT64_C(0xd1a86e4d4f313c03),
		     UINT64_C(0x1049ed0a10b6df82) },
		{ 1, UINT64_C(0xe3a2be6e57abc3d1),
		     UINT64_C(0x8e13fcedf1c2c5ff) },
		{ 3, UINT64_C(0x506532d4c7fb683d),
		     UINT64_C(0x3ffc43a3841f7777) },
		{ 4, UINT64_C(0x720bc9a9e8602f17),
		     UINT64_C(0xca41db742756efc3) },
		{ 8, UINT64_C(0xb8462fa80a6f5963),
		     UINT64_C(0x9c168da1d1ad2d5a) },
		{ 16, UINT64_C(0x0a41007c11160a05),
		     UINT64_C(0x105c79fbbfec22e3) },
		{ 17, UINT64_C(0xd591dcabdebede39),
		     UINT64_C(0x93933cbd0e20f3c5) },
		{ 32, UINT64_C(0x95365ebc7bbcaa3f),
		     UINT64_C(0x350d45380ab889a3) },
		{ 100, UINT64_C(0x6a2842caad853903),
		     UINT64_C(0x8810574f4882c3af) },
	};
	unsigned char b[100];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(b); i++)
		b[i] = (unsigned char)i;
	for (i = 0; i < TETHER_ARRAY_SIZE(pins); i++) {
		assert_int_equal(tether_hash_fast(b, pins[i].len, 0),
				 pins[i].seed0);
		assert_int_equal(tether_hash_fast(b, pins[i].len,
						  UINT64_C(0x0123456789abcdef)),
				 pins[i].seed1);
	}
	/* The mixer is splitmix64's finalizer: its well-known first
	 * output for state 0. */
	assert_int_equal(tether_hash_u64(UINT64_C(0x9e3779b97f4a7c15)),
			 UINT64_C(0xe220a8397b1dcdaf));
	assert_int_equal(tether_hash_u64(0), 0);
}

static void
test_mul128_fallback(void **state)
{
	uint64_t s = 5, a, b, lo, hi;
	size_t i;

	(void)state;
	for (i = 0; i < 10000; i++) {
		a = next_rand(&s);
		b = next_rand(&s);
		if (i < 4) {	/* the carries' worst cases */
			a = i & 1 ? UINT64_MAX : a;
			b = i & 2 ? UINT64_MAX : b;
		}
		tether__hash_mul128_portable(a, b, &lo, &hi);
		assert_int_equal(lo, a * b);
#if defined(__SIZEOF_INT128__)
		{
			__extension__ unsigned __int128 r =
				(unsigned __int128)a * b;

			assert_int_equal(hi, (uint64_t)(r >> 64));
		}
#endif
	}
	tether__hash_mul128_portable(UINT64_MAX, UINT64_MAX, &lo, &hi);
	assert_int_equal(lo, 1);
	assert_int_equal(hi, UINT64_MAX - 1);
}

/* Same bytes at any address, same hash; different lengths differ. */
static void
test_fast_deterministic(void **state)
{
	unsigned char src[80], buf[96];
	uint64_t h[80], s = 3;
	size_t len, off, i, j;

	(void)state;
	for (i = 0; i < sizeof(src); i++)
		src[i] = (unsigned char)next_rand(&s);
	for (len = 0; len < sizeof(src); len++) {
		h[len] = tether_hash_fast(src, len, 77);
		assert_int_equal(tether_hash_fast(src, len, 77), h[len]);
		for (off = 1; off < 16; off++) {
			memset(buf, 0xff, sizeof(buf));
			memcpy(buf + off, src, len);
			assert_int_equal(tether_hash_fast(buf + off, len, 77),
					 h[len]);
		}
		/* Trailing bytes beyond len are not read. */
		memset(buf, 0, sizeof(buf));
		memcpy(buf, src, len);
		assert_int_equal(tether_hash_fast(buf, len, 77), h[len]);
		/* The seed matters. */
		assert_int_not_equal(tether_hash_fast(src, len, 78), h[len]);
	}
	/* Prefixes of one buffer all hash differently. */
	for (i = 0; i < sizeof(src); i++)
		for (j = i + 1; j < sizeof(src); j++)
			assert_int_not_equal(h[i], h[j]);
	/* Zero bytes of different lengths differ too. */
	memset(buf, 0, sizeof(buf));
	for (i = 0; i < 40; i++)
		for (j = i + 1; j < 40; j++)
			assert_int_not_equal(tether_hash_fast(buf, i, 0),
					     tether_hash_fast(buf, j, 0));
}

/*
 * Avalanche: flipping one input bit should flip each output bit with
 * probability about 1/2. Over many random inputs, check the mean count
 * of flipped bits per input bit (ideal 32) and the flip rate of every
 * (input bit, output bit) pair (ideal 0.5), within loose bounds: with
 * 200 samples a rate's standard error is 0.035, the bound is 7 of them.
 */
#define AV_SAMPLES 200

static void
avalanche_bytes(size_t len, int flip_seed)
{
	static unsigned short flips[64 * 8 + 64][64];
	unsigned char buf[64];
	uint64_t s = 1000 + len, seed, h, d, total = 0;
	size_t nbits = flip_seed ? 64 : len * 8, bit, o, k;

	memset(flips, 0, sizeof(flips));
	for (k = 0; k < AV_SAMPLES; k++) {
		for (o = 0; o < len; o++)
			buf[o] = (unsigned char)next_rand(&s);
		seed = next_rand(&s);
		h = tether_hash_fast(buf, len, seed);
		for (bit = 0; bit < nbits; bit++) {
			if (flip_seed) {
				d = h ^ tether_hash_fast(buf, len,
						seed ^ (UINT64_C(1) << bit));
			} else {
				buf[bit / 8] ^= (unsigned char)(1u << bit % 8);
				d = h ^ tether_hash_fast(buf, len, seed);
				buf[bit / 8] ^= (unsigned char)(1u << bit % 8);
			}
			total += popcount64(d);
			for (o = 0; o < 64; o++)
				flips[bit][o] += (unsigned short)(d >> o & 1);
		}
	}
	/* mean flipped output bits over everything: 32 +- 0.5 */
	assert_true(total * 2 >= (uint64_t)63 * AV_SAMPLES * nbits);
	assert_true(total * 2 <= (uint64_t)65 * AV_SAMPLES * nbits);
	for (bit = 0; bit < nbits; bit++) {
		unsigned sum = 0;

		for (o = 0; o < 64; o++) {
			sum += flips[bit][o];
			if (flips[bit][o] < AV_SAMPLES / 4 ||
			    flips[bit][o] > AV_SAMPLES * 3 / 4)
				fail_msg("len %zu bit %zu -> out %zu: %u/%d",
					 len, bit, o, flips[bit][o],
					 AV_SAMPLES);
		}
		/* per input bit: 32 +- 4 flipped bits on average */
		assert_true(sum >= 28 * AV_SAMPLES && sum <= 36 * AV_SAMPLES);
	}
}

static void
test_fast_avalanche(void **state)
{
	static const size_t lens[] = { 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16,
				       17, 24, 31, 32, 33, 48, 64 };
	size_t i;

	(void)state;
	for (i = 0; i < TETHER_ARRAY_SIZE(lens); i++)
		avalanche_bytes(lens[i], 0);
	avalanche_bytes(0, 1);
	avalanche_bytes(6, 1);
	avalanche_bytes(40, 1);
}

/* The same for the u64 mixer and for SipHash of 8-byte keys. */
static void
test_u64_siphash_avalanche(void **state)
{
	struct tether_hash_key key;
	unsigned char m[8];
	uint64_t s = 99, x, h, d, tu = 0, ts = 0, hs;
	size_t k, bit, i;

	(void)state;
	paper_key(&key);
	for (k = 0; k < 2000; k++) {
		x = next_rand(&s);
		h = tether_hash_u64(x);
		for (i = 0; i < 8; i++)
			m[i] = (unsigned char)(x >> (8 * i));
		hs = tether_hash_siphash(&key, m, 8);
		for (bit = 0; bit < 64; bit++) {
			d = h ^ tether_hash_u64(x ^ (UINT64_C(1) << bit));
			tu += popcount64(d);
			m[bit / 8] ^= (unsigned char)(1u << bit % 8);
			ts += popcount64(hs ^ tether_hash_siphash(&key, m, 8));
			m[bit / 8] ^= (unsigned char)(1u << bit % 8);
		}
	}
	/* 128000 observations each: 32 +- 0.5 is ~140 standard errors
	 * of slack for a good mix, and far off for a weak one. */
	assert_true(tu * 2 >= 63 * 2000 * 64 && tu * 2 <= 65 * 2000 * 64);
	assert_true(ts * 2 >= 63 * 2000 * 64 && ts * 2 <= 65 * 2000 * 64);
}

/*
 * Pearson's chi-square of n hashes put in 1024 buckets (by low bits
 * and, separately, by high bits). With 1023 degrees of freedom the
 * statistic has mean 1023 and deviation ~45; accept 1023 +- 6 * 45.
 * Too low fails as well: an identity-like hash of sequential keys fills
 * buckets evenly, which a hash never should.
 */
#define BUCKETS 1024

struct chi {
	unsigned lo[BUCKETS], hi[BUCKETS];
	unsigned n;
};

static void
chi_add(struct chi *c, uint64_t h)
{
	c->lo[h % BUCKETS]++;
	c->hi[h >> 54]++;
	c->n++;
}

static double
chi_stat(const unsigned *count, unsigned n)
{
	double e = (double)n / BUCKETS, x = 0;
	size_t i;

	for (i = 0; i < BUCKETS; i++)
		x += (count[i] - e) * (count[i] - e) / e;
	return x;
}

static void
chi_check(const struct chi *c, const char *what)
{
	double lo = chi_stat(c->lo, c->n), hi = chi_stat(c->hi, c->n);

	if (lo < 752 || lo > 1294 || hi < 752 || hi > 1294)
		fail_msg("%s: chi-square low bits %.1f high bits %.1f", what,
			 lo, hi);
}

static void
test_distribution(void **state)
{
	static struct chi c[6];
	struct tether_hash_key key;
	struct sockaddr_in sin;
	unsigned char k8[8];
	uint32_t i;
	size_t j;

	(void)state;
	memset(c, 0, sizeof(c));
	paper_key(&key);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	for (i = 0; i < 65536; i++) {
		for (j = 0; j < 8; j++)
			k8[j] = (unsigned char)((uint64_t)i >> (8 * j));
		chi_add(&c[0], tether_hash_fast(k8, 8, 0));
		chi_add(&c[1], tether_hash_fast(k8, 3, 12345));
		chi_add(&c[2], tether_hash_u64(i));
		chi_add(&c[3], tether_hash_siphash(&key, k8, 8));
		/* 10.0.0.0/16, any port */
		sin.sin_addr.s_addr = htonl(0x0a000000u | i);
		sin.sin_port = htons(111);
		chi_add(&c[4], tether_hash_sockaddr((struct sockaddr *)&sin,
						    sizeof(sin), 0, 1));
		/* one address, every port */
		sin.sin_addr.s_addr = htonl(0xc0000201u);
		sin.sin_port = htons((uint16_t)i);
		chi_add(&c[5], tether_hash_sockaddr((struct sockaddr *)&sin,
						    sizeof(sin), 1, 1));
	}
	chi_check(&c[0], "fast, sequential 8-byte keys");
	chi_check(&c[1], "fast, sequential 3-byte keys");
	chi_check(&c[2], "u64, sequential");
	chi_check(&c[3], "siphash, sequential 8-byte keys");
	chi_check(&c[4], "sockaddr, 10.0.0.0/16");
	chi_check(&c[5], "sockaddr, every port");
}

static void
test_sockaddr(void **state)
{
	struct sockaddr_in sin, sin2;
	struct sockaddr_in6 sin6, sin6b;
	struct sockaddr_un sun1, sun2;
	struct sockaddr_storage ss;
	const unsigned char key4[] = { 4, 192, 0, 2, 1, 0, 111 };
	uint64_t h4, h4p;

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(111);
	assert_int_equal(inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr), 1);
	h4 = tether_hash_sockaddr((struct sockaddr *)&sin, sizeof(sin), 0, 7);
	h4p = tether_hash_sockaddr((struct sockaddr *)&sin, sizeof(sin), 1, 7);
	/* The documented key: tag 4, address, then port, network order. */
	assert_int_equal(h4, tether_hash_fast(key4, 5, 7));
	assert_int_equal(h4p, tether_hash_fast(key4, 7, 7));
	assert_int_not_equal(h4, h4p);
	/* The seed matters. */
	assert_int_not_equal(h4, tether_hash_sockaddr(
		(struct sockaddr *)&sin, sizeof(sin), 0, 8));

	/* Padding is ignored; the port only counts when asked. */
	sin2 = sin;
	memset(sin2.sin_zero, 0xa5, sizeof(sin2.sin_zero));
	sin2.sin_port = htons(2049);
	assert_int_equal(tether_hash_sockaddr((struct sockaddr *)&sin2,
					      sizeof(sin2), 0, 7), h4);
	assert_int_not_equal(tether_hash_sockaddr((struct sockaddr *)&sin2,
						  sizeof(sin2), 1, 7), h4p);
	sin2.sin_addr.s_addr ^= htonl(1);
	assert_int_not_equal(tether_hash_sockaddr((struct sockaddr *)&sin2,
						  sizeof(sin2), 0, 7), h4);

	/* ::ffff:192.0.2.1 is the same client as 192.0.2.1. */
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(111);
	assert_int_equal(inet_pton(AF_INET6, "::ffff:192.0.2.1",
				   &sin6.sin6_addr), 1);
	assert_int_equal(tether_hash_sockaddr((struct sockaddr *)&sin6,
					      sizeof(sin6), 0, 7), h4);
	assert_int_equal(tether_hash_sockaddr((struct sockaddr *)&sin6,
					      sizeof(sin6), 1, 7), h4p);
	/* ... but ::192.0.2.1 (compatible, not mapped) is not. */
	assert_int_equal(inet_pton(AF_INET6, "::192.0.2.1", &sin6.sin6_addr),
			 1);
	assert_int_not_equal(tether_hash_sockaddr((struct sockaddr *)&sin6,
						  sizeof(sin6), 0, 7), h4);

	/* IPv6: flow info ignored, scope id counts. */
	assert_int_equal(inet_pton(AF_INET6, "fe80::1", &sin6.sin6_addr), 1);
	sin6.sin6_scope_id = 2;
	sin6b = sin6;
	sin6b.sin6_flowinfo = htonl(0x12345);
	assert_int_equal(tether_hash_sockaddr((struct sockaddr *)&sin6,
					      sizeof(sin6), 1, 7),
			 tether_hash_sockaddr((struct sockaddr *)&sin6b,
					      sizeof(sin6b), 1, 7));
	sin6b.sin6_scope_id = 3;
	assert_int_not_equal(tether_hash_sockaddr((struct sockaddr *)&sin6,
						  sizeof(sin6), 1, 7),
			     tether_hash_sockaddr((struct sockaddr *)&sin6b,
						  sizeof(sin6b), 1, 7));
	/* A length from sockaddr_storage is fine. */
	memset(&ss, 0x3c, sizeof(ss));
	memcpy(&ss, &sin6, sizeof(sin6));
	assert_int_equal(tether_hash_sockaddr((struct sockaddr *)&ss,
					      sizeof(ss), 1, 7),
			 tether_hash_sockaddr((struct sockaddr *)&sin6,
					      sizeof(sin6), 1, 7));

	/* AF_UNIX: the path up to its NUL; garbage after it ignored. */
	memset(&sun1, 0, sizeof(sun1));
	memset(&sun2, 0x77, sizeof(sun2));
	sun1.sun_family = AF_UNIX;
	sun2.sun_family = AF_UNIX;
	memcpy(sun1.sun_path, "/run/rpcbind.sock", 18);
	memcpy(sun2.sun_path, "/run/rpcbind.sock", 18);
	assert_int_equal(tether_hash_sockaddr((struct sockaddr *)&sun1,
					      sizeof(sun1), 0, 7),
			 tether_hash_sockaddr((struct sockaddr *)&sun2,
					      sizeof(sun2), 0, 7));
	sun2.sun_path[1] = 'R';
	assert_int_not_equal(tether_hash_sockaddr((struct sockaddr *)&sun1,
						  sizeof(sun1), 0, 7),
			     tether_hash_sockaddr((struct sockaddr *)&sun2,
						  sizeof(sun2), 0, 7));
	/* Abstract names: all len bytes count, NULs included. */
	memset(&sun1.sun_path, 0, sizeof(sun1.sun_path));
	memcpy(sun1.sun_path, "\0abc", 4);
	sun2 = sun1;
	sun2.sun_path[3] = 'd';
	assert_int_not_equal(tether_hash_sockaddr((struct sockaddr *)&sun1,
			offsetof(struct sockaddr_un, sun_path) + 4, 0, 7),
			     tether_hash_sockaddr((struct sockaddr *)&sun2,
			offsetof(struct sockaddr_un, sun_path) + 4, 0, 7));

	/* Short or missing addresses do not crash and are stable. */
	assert_int_equal(tether_hash_sockaddr(NULL, 0, 1, 7),
			 tether_hash_fast(NULL, 0, 7));
	assert_int_equal(tether_hash_sockaddr((struct sockaddr *)&sin, 1, 1,
					      7),
			 tether_hash_fast(NULL, 0, 7));
	assert_int_equal(tether_hash_sockaddr((struct sockaddr *)&sin, 6, 1,
					      7),
			 tether_hash_fast(&sin, 6, 7));
	assert_int_equal(tether_hash_sockaddr((struct sockaddr *)&sin6, 10, 1,
					      7),
			 tether_hash_fast(&sin6, 10, 7));
}

/* A test that failed mid-way must not leave fault injection on. */
static int
injection_off(void **state)
{
	(void)state;
	tether_alloc_fail_at(0, 0);
	return 0;
}

#define T(f) cmocka_unit_test_setup(f, injection_off)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_siphash_vectors),
		T(test_siphash_key),
		T(test_fast_pinned),
		T(test_mul128_fallback),
		T(test_fast_deterministic),
		T(test_fast_avalanche),
		T(test_u64_siphash_avalanche),
		T(test_distribution),
		T(test_sockaddr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
