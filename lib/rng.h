/* Private: the library's deterministic random numbers (no global state). */
#ifndef HNN_LIB_RNG_H
#define HNN_LIB_RNG_H

#include <stdint.h>

/* xoshiro256** seeded through splitmix64: the same seed gives the same stream everywhere. */
typedef struct hnni_rng {
    uint64_t s[4];
} hnni_rng;

void hnni_rng_seed(hnni_rng *r, uint64_t seed);
uint64_t hnni_rng_next(hnni_rng *r);
/* Uniform on [0, 1), with 53 random bits. */
double hnni_rng_uniform(hnni_rng *r);
/* Uniform on [lo, hi). */
double hnni_rng_range(hnni_rng *r, double lo, double hi);
/* Standard normal (Box-Muller; the second value is discarded to keep the stream simple). */
double hnni_rng_normal(hnni_rng *r);

#endif
