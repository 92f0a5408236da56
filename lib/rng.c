/* xoshiro256** (Blackman & Vigna), seeded by splitmix64. Integer-only, so the stream is
 * identical on every platform; the doubles derived from it are exact conversions. */
#include "rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void hnni_rng_seed(hnni_rng *r, uint64_t seed)
{
    int i;
    for (i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

uint64_t hnni_rng_next(hnni_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double hnni_rng_uniform(hnni_rng *r)
{
    return (double)(hnni_rng_next(r) >> 11) * 0x1.0p-53;
}

double hnni_rng_range(hnni_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * hnni_rng_uniform(r);
}

double hnni_rng_normal(hnni_rng *r)
{
    const double two_pi = 6.283185307179586476925286766559;
    double u1 = 1.0 - hnni_rng_uniform(r); /* in (0, 1]: log is finite */
    double u2 = hnni_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(two_pi * u2);
}
