/* The activations and their derivatives (activation.h). tanh goes through the vectorised
 * hnni_tanh_array; the others through the C library's exp, log1p, sin and cos, one value at a
 * time, written so that no intermediate overflows or cancels for any finite z:
 *
 *   softplus  log(1 + e^z) = max(z, 0) + log1p(e^-|z|);  sigma' = p;  sigma'' = p m
 *   SiLU      z p;  sigma' = p (1 + z m);  sigma'' = p m (2 + z (m - p))
 *   sine      sin z;  cos z;  -sin z
 *   ReLU      max(z, 0);  1 for z > 0 else 0;  0
 *
 * with p = 1 / (1 + e^-z) and m = 1 - p = 1 / (1 + e^z), each taken from e^-|z| so that the
 * small one keeps its relative accuracy (p m loses nothing to 1 - p). */
#include "activation.h"

#include <math.h>

#include "vmath.h"

/* p = 1 / (1 + e^-z) and m = 1 / (1 + e^z) from e = e^-|z|. */
static void logistic_pair(double z, double e, double *p, double *m)
{
    const double big = 1.0 / (1.0 + e), small = e / (1.0 + e);
    *p = z >= 0.0 ? big : small;
    *m = z >= 0.0 ? small : big;
}

static void softplus_one(double z, double *a, double *s, double *c)
{
    const double e = exp(-fabs(z));
    double p, m;
    logistic_pair(z, e, &p, &m);
    *a = (z > 0.0 ? z : 0.0) + log1p(e);
    *s = p;
    *c = p * m;
}

static void silu_one(double z, double *a, double *s, double *c)
{
    double p, m;
    logistic_pair(z, exp(-fabs(z)), &p, &m);
    *a = z * p;
    *s = p * (1.0 + z * m);
    *c = p * m * (2.0 + z * (m - p));
}

static void sine_one(double z, double *a, double *s, double *c)
{
    *a = sin(z);
    *s = cos(z);
    *c = -*a;
}

static void relu_one(double z, double *a, double *s, double *c)
{
    *a = z > 0.0 ? z : 0.0;
    *s = z > 0.0 ? 1.0 : 0.0;
    *c = 0.0;
}

static void tanh_values(const double *z, size_t n, double *a, double *s, double *c)
{
    size_t i;
    if (a != z)
        for (i = 0; i < n; i++)
            a[i] = z[i];
    hnni_tanh_array(a, n);
    for (i = 0; i < n; i++) {
        const double slope = 1.0 - a[i] * a[i];
        if (s != NULL)
            s[i] = slope;
        if (c != NULL)
            c[i] = -2.0 * a[i] * slope;
    }
}

void hnni_activation_eval(hnn_activation act, const double *z, size_t n, double *a, double *s,
                          double *c)
{
    void (*one)(double, double *, double *, double *) =
        act == HNN_ACTIVATION_SOFTPLUS ? softplus_one
        : act == HNN_ACTIVATION_SILU   ? silu_one
        : act == HNN_ACTIVATION_SINE   ? sine_one
                                       : relu_one;
    size_t i;
    if (act == HNN_ACTIVATION_TANH) {
        double scratch[64];
        size_t i0;
        if (a != NULL) {
            tanh_values(z, n, a, s, c);
            return;
        }
        for (i0 = 0; i0 < n; i0 += 64) /* no room for the values given: a few at a time */
            tanh_values(z + i0, n - i0 < 64 ? n - i0 : 64, scratch, s ? s + i0 : NULL,
                        c ? c + i0 : NULL);
        return;
    }
    for (i = 0; i < n; i++) {
        double ai, si, ci;
        one(z[i], &ai, &si, &ci);
        if (a != NULL)
            a[i] = ai;
        if (s != NULL)
            s[i] = si;
        if (c != NULL)
            c[i] = ci;
    }
}

double hnni_activation_cost(hnn_activation act)
{
    /* an estimate: tanh, vectorised, about 20; a scalar libm exponential with a log1p, or a
     * sine with a cosine, about 4 times that; ReLU a compare */
    return act == HNN_ACTIVATION_TANH ? 20.0 : act == HNN_ACTIVATION_RELU ? 2.0 : 80.0;
}
