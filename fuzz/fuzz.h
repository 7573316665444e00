/*
 * fuzz.h - what the fuzz targets share. CHECK(cond) names the
 * condition and where it is, then aborts: a finding for libFuzzer, a
 * failed replay (fuzz/replay.c) in every other build.
 */
#ifndef TETHER_FUZZ_H
#define TETHER_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                         \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s:%d: check failed: %s\n",    \
				__FILE__, __LINE__, #cond);                 \
			abort();                                            \
		}                                                           \
	} while (0)

#endif /* TETHER_FUZZ_H */
