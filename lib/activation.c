/* The activations and their derivatives (activation.h). tanh, softplus and SiLU run through
 * the vectorised functions of vmath.c; sine through the C library's sin and cos, one value at
 * a time. Written so that no intermediate overflows or cancels for any finite z:
 *
 *   softplus  log(1 + e^z) = max(z, 0) + log1p(e^-|z|);  sigma' = p;  sigma'' = p m
 *   SiLU      z p;  sigma' = p (1 + z m);  sigma'' = p m (2 + z (m - p))
 *   sine      sin z;  cos z;  -sin z
 *   ReLU      max(z, 0);  1 for z > 0 else 0;  0
 *
 * with p = 1 / (1 + e^-z) and m = 1 - p = 1 / (1 + e^z), each taken from e = e^-|z| so that
 * the small one keeps its relative accuracy (p m loses nothing to 1 - p). */
#include "activation.h"

#include <math.h>

#include "dispatch.h"
#include "vmath.h"

enum { SPAN = 64 }; /* values per pass of the vectorised loops */

/* p and m of z from e = e^-|z| (one division: 1 / (1 + e), and e times it). */
static inline void logistic_pair(double z, double e, double *p, double *m)
{
    const double big = 1.0 / (1.0 + e), small = e * big;
    *p = z >= 0.0 ? big : small;
    *m = z >= 0.0 ? small : big;
}

HNNI_CLONES static void softplus_span(const double *z, size_t n, double *a, double *s,
                                      double *c)
{
    double e[SPAN], l[SPAN];
    size_t i;
    hnni_exp_neg_abs_array(z, e, n);
    hnni_log1p_unit_array(e, l, n);
    for (i = 0; i < n; i++) {
        double p, m;
        logistic_pair(z[i], e[i], &p, &m);
        s[i] = p;
        c[i] = p * m;
        a[i] = (z[i] > 0.0 ? z[i] : 0.0) + l[i];
    }
}

HNNI_CLONES static void silu_span(const double *z, size_t n, double *a, double *s, double *c)
{
    double e[SPAN];
    size_t i;
    hnni_exp_neg_abs_array(z, e, n);
    for (i = 0; i < n; i++) {
        const double zi = z[i];
        double p, m;
        logistic_pair(zi, e[i], &p, &m);
        s[i] = p * (1.0 + zi * m);
        c[i] = p * m * (2.0 + zi * (m - p));
        a[i] = zi * p;
    }
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

static void sine_span(const double *z, size_t n, double *a, double *s, double *c)
{
    size_t i;
    for (i = 0; i < n; i++)
        sine_one(z[i], &a[i], &s[i], &c[i]);
}

static void relu_span(const double *z, size_t n, double *a, double *s, double *c)
{
    size_t i;
    for (i = 0; i < n; i++)
        relu_one(z[i], &a[i], &s[i], &c[i]);
}

void hnni_activation_eval(hnn_activation act, const double *z, size_t n, double *a, double *s,
                          double *c)
{
    void (*span)(const double *, size_t, double *, double *, double *) =
        act == HNN_ACTIVATION_SOFTPLUS ? softplus_span
        : act == HNN_ACTIVATION_SILU   ? silu_span
        : act == HNN_ACTIVATION_SINE   ? sine_span
                                       : relu_span;
    double as[SPAN], ss[SPAN], cs[SPAN];
    size_t i0, i;
    if (act == HNN_ACTIVATION_TANH) {
        if (a != NULL) {
            tanh_values(z, n, a, s, c);
            return;
        }
        for (i0 = 0; i0 < n; i0 += SPAN) /* no room for the values given: a few at a time */
            tanh_values(z + i0, n - i0 < SPAN ? n - i0 : SPAN, as, s ? s + i0 : NULL,
                        c ? c + i0 : NULL);
        return;
    }
    for (i0 = 0; i0 < n; i0 += SPAN) { /* through local spans: a may be z, any may be NULL */
        const size_t nb = n - i0 < SPAN ? n - i0 : SPAN;
        span(z + i0, nb, as, ss, cs);
        for (i = 0; i < nb; i++) {
            if (a != NULL)
                a[i0 + i] = as[i];
            if (s != NULL)
                s[i0 + i] = ss[i];
            if (c != NULL)
                c[i0 + i] = cs[i];
        }
    }
}

double hnni_activation_cost(hnn_activation act)
{
    /* an estimate: tanh, softplus and SiLU vectorised, about 20 (softplus a log too); a
     * scalar libm sine with a cosine about 4 times that; ReLU a compare */
    return act == HNN_ACTIVATION_TANH || act == HNN_ACTIVATION_SILU ? 20.0
           : act == HNN_ACTIVATION_SOFTPLUS                          ? 30.0
           : act == HNN_ACTIVATION_SINE                              ? 80.0
                                                                     : 2.0;
}
