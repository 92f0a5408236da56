/* Explicit Runge-Kutta methods: Euler, classic RK4, and Dormand-Prince 5(4) with error
 * control. None is symplectic: over long runs their energy error drifts. */
#include <math.h>
#include <string.h>

#include "core.h"
#include "integrate_impl.h"

hnn_status hnni_step_euler(hnn_integrator *in, const hnn_field_source *src, const double *x,
                           double h, double *out)
{
    double *k = in->v[0];
    hnn_status st = hnni_eval(in, src, x, k);
    if (st == HNN_OK)
        hnni_axpy(in->dim, x, h, k, out);
    return st;
}

hnn_status hnni_step_rk4(hnn_integrator *in, const hnn_field_source *src, const double *x,
                         double h, double *out)
{
    const size_t dim = in->dim;
    double *k1 = in->v[0], *k2 = in->v[1], *k3 = in->v[2], *k4 = in->v[3], *y = in->v[4];
    hnn_status st;
    size_t i;
    if ((st = hnni_eval(in, src, x, k1)) != HNN_OK)
        return st;
    hnni_axpy(dim, x, 0.5 * h, k1, y);
    if ((st = hnni_eval(in, src, y, k2)) != HNN_OK)
        return st;
    hnni_axpy(dim, x, 0.5 * h, k2, y);
    if ((st = hnni_eval(in, src, y, k3)) != HNN_OK)
        return st;
    hnni_axpy(dim, x, h, k3, y);
    if ((st = hnni_eval(in, src, y, k4)) != HNN_OK)
        return st;
    for (i = 0; i < dim; i++)
        out[i] = x[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
    return HNN_OK;
}

/* Dormand & Prince (1980), the 5(4) pair with the first-same-as-last property. */
static const double dp_c[7] = {0.0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1.0, 1.0};
static const double dp_a[7][6] = {
    {0},
    {1.0 / 5},
    {3.0 / 40, 9.0 / 40},
    {44.0 / 45, -56.0 / 15, 32.0 / 9},
    {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
    {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
    {35.0 / 384, 0.0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84},
};
/* 5th-order weights (= the last row of a) minus the embedded 4th-order ones. */
static const double dp_e[7] = {71.0 / 57600, 0.0, -71.0 / 16695, 71.0 / 1920,
                               -17253.0 / 339200, 22.0 / 525, -1.0 / 40};

/* One Dormand-Prince substep of size h from x (k[0] = f(x) already computed) into xn; with
 * `with_error`, also evaluates k[6] = f(xn) and returns the scaled RMS error in *err. */
static hnn_status dopri_substep(hnn_integrator *in, const hnn_field_source *src,
                                const double *x, double h, double **k, double *y, double *xn,
                                int with_error, double *err)
{
    const size_t dim = in->dim;
    size_t s, j, i;
    hnn_status st;
    for (s = 1; s < 6; s++) {
        for (i = 0; i < dim; i++) {
            double acc = 0.0;
            for (j = 0; j < s; j++)
                acc += dp_a[s][j] * k[j][i];
            y[i] = x[i] + h * acc;
        }
        if ((st = hnni_eval(in, src, y, k[s])) != HNN_OK)
            return st;
    }
    for (i = 0; i < dim; i++) {
        double acc = 0.0;
        for (j = 0; j < 6; j++)
            acc += dp_a[6][j] * k[j][i];
        xn[i] = x[i] + h * acc;
    }
    if (!with_error)
        return HNN_OK;
    if ((st = hnni_eval(in, src, xn, k[6])) != HNN_OK)
        return st;
    *err = 0.0;
    for (i = 0; i < dim; i++) {
        double e = 0.0, scale;
        for (j = 0; j < 7; j++)
            e += dp_e[j] * k[j][i];
        scale = in->def.atol + in->def.rtol * fmax(fabs(x[i]), fabs(xn[i]));
        if (h * e == 0.0) /* nothing to weigh (with atol 0, a component at 0 has scale 0) */
            continue;
        if (scale == 0.0) {
            *err = INFINITY;
            return HNN_OK;
        }
        *err += (h * e / scale) * (h * e / scale);
    }
    *err = sqrt(*err / (double)dim);
    return HNN_OK;
}

hnn_status hnni_step_dopri5(hnn_integrator *in, const hnn_field_source *src, const double *x,
                            double h, double *out)
{
    const size_t dim = in->dim;
    double *k[7], *y = in->v[7], *cur = in->v[8], *next = in->v[9];
    double t = 0.0, sub, err;
    size_t substeps = 0;
    hnn_status st;
    int i;
    for (i = 0; i < 7; i++)
        k[i] = in->v[i];
    (void)dp_c; /* the field is autonomous: stage times are not needed */
    if ((st = hnni_eval(in, src, x, k[0])) != HNN_OK)
        return st;
    if (!in->def.adaptive)
        return dopri_substep(in, src, x, h, k, y, out, 0, &err);

    /* Cover [0, h] with accepted substeps; the size carries over between calls. */
    memcpy(cur, x, dim * sizeof *x);
    sub = in->dopri_h != 0.0 && fabs(in->dopri_h) < fabs(h) ? copysign(fabs(in->dopri_h), h) : h;
    while (fabs(t) < fabs(h)) {
        double factor;
        int remember = 0;
        const int last = fabs(h - t) <= fabs(sub) * (1.0 + 1e-12);
        if (last)
            sub = h - t;
        if (++substeps > in->def.max_substeps || fabs(sub) < 1e-14 * fabs(h)) {
            hnni_format(in->message, "dopri5 could not meet rtol %g, atol %g within %zu "
                        "substeps (step size %.3g)", in->def.rtol, in->def.atol,
                        in->def.max_substeps, sub);
            return HNN_ERR_NO_CONVERGENCE;
        }
        if ((st = dopri_substep(in, src, cur, sub, k, y, next, 1, &err)) != HNN_OK)
            return st;
        factor = err == 0.0 ? 5.0 : fmin(5.0, fmax(0.2, 0.9 * pow(err, -0.2)));
        if (err <= 1.0 && isfinite(err)) {
            double *swap = cur;
            t = last ? h : t + sub;
            cur = next;
            next = swap;
            memcpy(k[0], k[6], dim * sizeof *x); /* first same as last */
            remember = !last; /* a final substep clipped to fit says nothing about the size */
        } else {
            in->rejects++;
            if (!isfinite(err))
                factor = 0.2;
        }
        sub *= factor;
        if (remember)
            in->dopri_h = sub;
    }
    memcpy(out, cur, dim * sizeof *x);
    return HNN_OK;
}
