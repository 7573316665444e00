/*
 * diff_main.c - the differential test's driver: for every type and many
 * seeds, the value both sides fill must encode to the same bytes, and
 * each side must decode the other's bytes and re-encode them unchanged.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

size_t ours_ntypes(void);
const char *ours_type_name(size_t i);
int ours_encode(size_t i, uint64_t seed, unsigned char *buf, size_t n,
		size_t *len);
int ours_reencode(size_t i, const unsigned char *in, size_t inlen,
		  unsigned char *buf, size_t n, size_t *len);
size_t rp_ntypes(void);
const char *rp_type_name(size_t i);
int rp_encode(size_t i, uint64_t seed, unsigned char *buf, size_t n,
	      size_t *len);
int rp_reencode(size_t i, const unsigned char *in, size_t inlen,
		unsigned char *buf, size_t n, size_t *len);

#define SEEDS 200

static unsigned char a[1 << 18], b[1 << 18], c[1 << 18], d[1 << 18];

int
main(void)
{
	size_t i, n = ours_ntypes(), la, lb, lc, ld;
	uint64_t seed;
	unsigned long checked = 0;
	int fail = 0;

	if (n != rp_ntypes()) {
		fprintf(stderr, "diff: %zu types against %zu\n", n,
			rp_ntypes());
		return 1;
	}
	for (i = 0; i < n && fail < 10; i++) {
		const char *t = ours_type_name(i);

		if (strcmp(t, rp_type_name(i)) != 0)
			return 1;
		for (seed = 1; seed <= SEEDS && fail < 10; seed++) {
			int ra = ours_encode(i, seed, a, sizeof(a), &la);
			int rb = rp_encode(i, seed, b, sizeof(b), &lb);

			if ((ra == 0) != (rb == 0)) {
				fprintf(stderr, "%s seed %llu: encode %s here, "
						"%s in rpcgen's code\n",
					t, (unsigned long long)seed,
					ra ? "fails" : "works",
					rb ? "fails" : "works");
				fail++;
				continue;
			}
			if (ra != 0)
				continue;	/* neither can encode it */
			if (la != lb || memcmp(a, b, la) != 0) {
				fprintf(stderr, "%s seed %llu: the same value "
						"encodes differently\n",
					t, (unsigned long long)seed);
				fail++;
				continue;
			}
			if (rp_reencode(i, a, la, c, sizeof(c), &lc) != 0 ||
			    lc != la || memcmp(a, c, la) != 0) {
				fprintf(stderr,
					"%s seed %llu: rpcgen's code "
					"does not round-trip our bytes\n",
					t, (unsigned long long)seed);
				fail++;
			}
			if (ours_reencode(i, b, lb, d, sizeof(d), &ld) != 0 ||
			    ld != lb || memcmp(b, d, lb) != 0) {
				fprintf(stderr,
					"%s seed %llu: our code does "
					"not round-trip rpcgen's bytes\n",
					t, (unsigned long long)seed);
				fail++;
			}
			checked++;
		}
	}
	printf("diff: %zu types, %lu values checked both ways, %d "
	       "failures\n", n, checked, fail);
	return fail != 0 || checked == 0;
}
