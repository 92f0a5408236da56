/* Vectorisable elementary functions: tanh (in double and in float), and for softplus and
 * SiLU (activation.c) e^-|z| and log(1 + u) on [0, 1].
 *
 * tanh: libm's tanh is a scalar call per element and took about a third of
 * a training step; this one has no branches and no calls, so the compiler runs it 2, 4 or 8
 * elements at a time (whatever the CPU chosen at load time has), with the same bits on each.
 *
 * The method is Cephes' (S. L. Moshier): for |x| < 0.625 a rational approximation
 * x + x^3 P(x^2) / Q(x^2); above, 1 - 2 / (exp(2|x|) + 1) with the sign restored. exp is
 * Cephes' too: 2^k e^r with r reduced by a two-part ln 2 and a rational approximation of
 * e^r; 2^k is built directly in the exponent bits. Both branches end in one shared division
 * (each lane picks its numerator and denominator), 1.6 ulp from the exact tanh at worst
 * (20 million arguments against long double tanhl; tests/test_net.c checks 2 ulp against
 * the C library's). Rounding to the nearest integer uses the
 * 1.5 * 2^52 trick, which is exact without a floor instruction. */
#include "vmath.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "dispatch.h"

static inline double bits_to_double(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static inline uint64_t double_to_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

/* e^y for 0 <= y <= 707 (tanh needs up to 45) as scale * (qe + pr) / (qe - pr): the caller
 * folds that quotient into its own division, so tanh divides once, not three times (vector
 * division is the slowest instruction here: three took about a third of tanh). */
typedef struct exp_parts {
    double scale, qe, pr;
} exp_parts;

static inline exp_parts exp_small(double y)
{
    const double log2e = 1.4426950408889634073599, round_magic = 0x1.8p52;
    const double c1 = 6.93145751953125E-1, c2 = 1.42860682030941723212E-6;
    const double p0 = 1.26177193074810590878E-4, p1 = 3.02994407707441961300E-2,
                 p2 = 9.99999999999999999910E-1;
    const double q0 = 3.00198505138664455042E-6, q1 = 2.52448340349684104192E-3,
                 q2 = 2.27265548208155028766E-1, q3 = 2.00000000000000000009E0;
    const double shifted = y * log2e + round_magic; /* k in the low mantissa bits */
    const double k = shifted - round_magic;         /* round(y / ln 2) */
    const double r = (y - k * c1) - k * c2;         /* |r| <= ln 2 / 2 */
    const double rr = r * r;
    exp_parts e; /* e^r = 1 + 2 pr / (qe - pr) = (qe + pr) / (qe - pr) */
    e.pr = r * ((p0 * rr + p1) * rr + p2);
    e.qe = ((q0 * rr + q1) * rr + q2) * rr + q3;
    e.scale = bits_to_double((double_to_bits(shifted) + 1023u) << 52); /* 2^k */
    return e;
}

static inline double tanh_one(double x)
{
    const double p0 = -9.64399179425052238628E-1, p1 = -9.92877231001918586564E1,
                 p2 = -1.61468768441708447952E3;
    const double q0 = 1.12811678491632931402E2, q1 = 2.23548839060100448583E3,
                 q2 = 4.84406305325125486048E3;
    const double ax = fabs(x);
    const int small = ax < 0.625;
    /* |x| < 0.625: x + x^3 P(x^2) / Q(x^2) (computed on 0 otherwise, so that huge x raises
     * no overflow flag) */
    const double xs = small ? x : 0.0;
    const double s = xs * xs;
    const double ps = (p0 * s + p1) * s + p2, qs = ((s + q0) * s + q1) * s + q2;
    /* |x| >= 0.625: 1 - 2 / (e^2|x| + 1) = 1 - 2 (qe - pr) / (scale (qe + pr) + (qe - pr));
     * past 22 it rounds to 1 */
    const exp_parts e = exp_small(2.0 * (ax < 22.0 ? ax : 22.0));
    const double below = e.qe - e.pr;
    const double ratio = (small ? ps : 2.0 * below) / (small ? qs : e.scale * (e.qe + e.pr) + below);
    if (small)
        return ax == 0.0 ? x : xs + xs * s * ratio; /* tanh(-0) = -0 */
    return copysign(1.0 - ratio, x);
}

HNNI_CLONES void hnni_tanh_array(double *x, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        x[i] = tanh_one(x[i]);
}

HNNI_CLONES void hnni_exp_neg_abs_array(const double *z, double *e, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        const double y = fabs(z[i]);
        const exp_parts p = exp_small(y < 707.0 ? y : 707.0);
        const double v = (p.qe - p.pr) / (p.scale * (p.qe + p.pr)); /* 1 / e^y */
        e[i] = y < 707.0 ? v : 0.0;
    }
}

/* log(1 + f) for sqrt(1/2) - 1 <= f <= sqrt(2) - 1: with s = f / (2 + f),
 * log(1 + f) = 2 atanh(s) = f - f^2/2 + s (f^2/2 + R(s^2)), R the minimax polynomial of
 * fdlibm's log (K. C. Ng, Sun Microsystems), accurate to 2^-58.45 there. */
static inline double log1p_reduced(double f)
{
    const double lg1 = 6.666666666666735130e-01, lg2 = 3.999999999940941908e-01,
                 lg3 = 2.857142874366239149e-01, lg4 = 2.222219843214978396e-01,
                 lg5 = 1.818357216161805012e-01, lg6 = 1.531383769920937332e-01,
                 lg7 = 1.479819860511658591e-01;
    const double s = f / (2.0 + f), z = s * s, w = z * z, hfsq = 0.5 * f * f;
    const double r = z * (lg1 + w * (lg3 + w * (lg5 + w * lg7))) + w * (lg2 + w * (lg4 + w * lg6));
    return f - (hfsq - s * (hfsq + r));
}

HNNI_CLONES void hnni_log1p_unit_array(const double *u, double *y, size_t n)
{
    /* u <= sqrt(2) - 1: log1p(u) directly (no 1 + u, which would lose a small u's bits);
     * above: log 2 + log1p(f) with 1 + f = (1 + u) / 2, f = (u - 1) / 2 in [-0.3, 0] */
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    size_t i;
    for (i = 0; i < n; i++) {
        const int small = u[i] <= 0.41421356237309503;
        const double f = small ? u[i] : 0.5 * (u[i] - 1.0);
        const double k = small ? 0.0 : 1.0;
        y[i] = k * ln2_hi + (log1p_reduced(f) + k * ln2_lo);
    }
}

/* ---- tanh in float (Cephes' tanhf, S. L. Moshier) ----------------------------------------- */

static inline float floatbits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t bitsfloat(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* |x| < 0.625: x + x^3 P(x^2); above: 1 - 2 / (e^(2|x|) + 1), e^y = 2^k e^r with
 * |r| <= ln 2 / 2 and Cephes' expf polynomial, 2^k built in the exponent bits; past 9 it
 * rounds to 1. One division per value, branch-free. Both branches run in every lane, so
 * their polynomials are Horner chains of explicit fmaf (the library builds with contraction
 * off, for fixed bits): one instruction per term where a multiply and an add were two. That
 * took the float batch at width 128 from 2.0-2.1x to 2.4x the double one (examples/bench,
 * two runs each). Within 1 ulp of (float) tanh((double) x) over every float in [-10, 10],
 * before and after (HNN_TEST_EXHAUSTIVE=1 build/tests/test_f32; by default it checks a
 * sample). */
static HNNI_INLINE_IN_CLONES float tanhf_one(float x)
{
    const float ax = fabsf(x);
    const int small = ax < 0.625f;
    const float s = x * x;
    const float ps = fmaf(fmaf(fmaf(fmaf(-5.70498872745e-3f, s, 2.06390887954e-2f), s,
                                    -5.37397155531e-2f), s, 1.33314422036e-1f), s,
                          -3.33332819422e-1f);
    const float poly = fmaf(ps * s, x, x);
    const float y = 2.0f * (ax < 9.0f ? ax : 9.0f), magic = 0x1.8p23f;
    const float shifted = fmaf(y, 1.44269504088896341f, magic); /* k in the low mantissa bits */
    const float k = shifted - magic;
    const float r = fmaf(k, 2.12194440e-4f, fmaf(k, -0.693359375f, y));
    const float pe = fmaf(fmaf(fmaf(fmaf(fmaf(1.9875691500e-4f, r, 1.3981999507e-3f), r,
                                         8.3334519073e-3f), r, 4.1665795894e-2f), r,
                               1.6666665459e-1f), r, 5.0000001201e-1f);
    const float er = fmaf(pe, r * r, r) + 1.0f;
    const float e = er * floatbits((bitsfloat(shifted) + 127u) << 23); /* e^y */
    const float big = 1.0f - 2.0f / (e + 1.0f);
    if (small)
        return ax == 0.0f ? x : poly; /* tanh(-0) = -0, as in double */
    return x < 0.0f ? -big : big;
}

HNNI_CLONES void hnni_tanhf_array(float *x, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        x[i] = tanhf_one(x[i]);
}
