/* Diagnostics: how well a field or a trajectory keeps what Hamiltonian mechanics keeps.
 * Quantities (energies with their gradients), drift along trajectories, Poisson brackets,
 * divergence, the loop gap of the field's 1-form, and phase-space area. */
#include "hnn/diag.h"

#include <math.h>
#include <string.h>

#include "alloc.h"
#include "core.h"

/* ---- the handle ------------------------------------------------------------------------ */

/* Scratch vectors of dim doubles each. */
enum { V_GRAD_F, V_GRAD_G, V_FIELD, V_X, V_XP, V_XM, V_COUNT };

struct hnn_diagnostics {
    hnn_diagnostics_def def;
    hnn_allocator alloc;
    size_t dim, n, doubles;
    double *block;
    double *v[V_COUNT];
    double *matrix;   /* dim x dim */
    double *polygon;  /* max_points x dim */
    char message[HNN_ERROR_MESSAGE_SIZE];
};

void hnn_diagnostics_def_init(hnn_diagnostics_def *def, size_t struct_size)
{
    hnn_diagnostics_def d;
    if (def == NULL)
        return;
    memset(&d, 0, sizeof d);
    d.dim = 2;
    d.max_points = 4096;
    hnni_publish_def(def, &d, sizeof d, struct_size);
}

hnn_status hnn_diagnostics_create(const hnn_diagnostics_def *def, hnn_diagnostics **out,
                                  hnn_error *err)
{
    hnn_diagnostics_def full;
    hnn_diagnostics *d;
    hnn_allocator alloc;
    size_t i, doubles, part, bytes;
    hnn_status st;
    if (out != NULL)
        *out = NULL;
    if (def == NULL || out == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_diagnostics_create: def and out must not be NULL");
    hnn_diagnostics_def_init(&full, sizeof full);
    if ((st = hnni_read_def(def, &full, sizeof full, NULL, "hnn_diagnostics_def", err)) != HNN_OK)
        return st;
    if (full.dim < 2 || full.dim % 2 != 0)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "dim %zu: a state [q, p] has an even length >= 2",
                         full.dim);
    if (full.dim > 2 * (size_t)HNN_MAX_DOF)
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "dim %zu is over the cap %u", full.dim,
                         2 * HNN_MAX_DOF);
    if (full.max_points < 3)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "max_points must be >= 3");
    doubles = (V_COUNT + full.dim) * full.dim; /* dim <= 8192: no overflow */
    if (!hnni_mul_size(full.max_points, full.dim, &part) || !hnni_add_size(doubles, part, &doubles) ||
        !hnni_mul_size(doubles, sizeof(double), &bytes))
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "max_points %zu is too large", full.max_points);
    alloc = hnni_allocator_resolve(full.allocator);
    d = (hnn_diagnostics *)hnni_alloc(&alloc, sizeof *d);
    if (d == NULL)
        return hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate diagnostics");
    d->block = (double *)hnni_alloc(&alloc, bytes);
    if (d->block == NULL) {
        hnni_free(&alloc, d, sizeof *d);
        return hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate %zu bytes of diagnostics "
                         "workspace", bytes);
    }
    d->def = full;
    d->alloc = alloc;
    d->dim = full.dim;
    d->n = full.dim / 2;
    d->doubles = doubles;
    for (i = 0; i < V_COUNT; i++)
        d->v[i] = d->block + i * d->dim;
    d->matrix = d->block + V_COUNT * d->dim;
    d->polygon = d->matrix + d->dim * d->dim;
    *out = d;
    return hnni_ok(err);
}

void hnn_diagnostics_destroy(hnn_diagnostics *d)
{
    hnn_allocator alloc;
    if (d == NULL)
        return;
    alloc = d->alloc;
    hnni_free(&alloc, d->block, d->doubles * sizeof(double));
    hnni_free(&alloc, d, sizeof *d);
}

const char *hnn_diagnostics_last_error(const hnn_diagnostics *d)
{
    return d == NULL ? "" : d->message;
}

/* Common checks: handle, dims, pointers; sets a message on failure. */
static hnn_status begin(hnn_diagnostics *d, size_t dim, const void *a, const void *b)
{
    if (d == NULL)
        return HNN_ERR_NULL;
    d->message[0] = '\0';
    if (a == NULL || b == NULL) {
        hnni_format(d->message, "a required pointer was NULL");
        return HNN_ERR_NULL;
    }
    if (dim != d->dim) {
        hnni_format(d->message, "dim %zu does not match the diagnostics' %zu", dim, d->dim);
        return HNN_ERR_SIZE_MISMATCH;
    }
    return HNN_OK;
}

/* begin for a value struct the caller passed (a source, a quantity, a result to fill): not
 * NULL, with a released struct_size (checked before any other field is read), and b not
 * NULL. */
static hnn_status begin_value(hnn_diagnostics *d, const void *value, size_t full_size,
                              const char *type, const void *b)
{
    hnn_status st = begin(d, d != NULL ? d->dim : 0, value, b);
    return st != HNN_OK ? st : hnni_value_check(value, full_size, type, d->message);
}

/* ... and, for a source or quantity, its dim the handle's. */
static hnn_status begin_source(hnn_diagnostics *d, const hnn_field_source *src, const void *b)
{
    hnn_status st = begin_value(d, src, sizeof *src, "hnn_field_source", b);
    return st != HNN_OK ? st : begin(d, src->dim, src, b);
}

static hnn_status begin_quantity(hnn_diagnostics *d, const hnn_quantity *F, const void *b)
{
    hnn_status st = begin_value(d, F, sizeof *F, "hnn_quantity", b);
    return st != HNN_OK ? st : begin(d, F->dim, F, b);
}

/* The size rule for arrays of count states: count * dim doubles must have a size in bytes that
 * size_t holds, or no pointer arithmetic over them is defined. */
static hnn_status states_fit(hnn_diagnostics *d, size_t count)
{
    size_t bytes;
    if (hnni_mul_size(count, d->dim, &bytes) && hnni_mul_size(bytes, sizeof(double), &bytes))
        return HNN_OK;
    hnni_format(d->message, "count %zu of %zu-dimensional states overflows size_t", count, d->dim);
    return HNN_ERR_TOO_LARGE;
}

static hnn_status fail(hnn_diagnostics *d, hnn_status st, const char *what)
{
    hnni_format(d->message, "%s: %s", what, hnn_status_string(st));
    return st;
}

/* ---- drift and brackets ------------------------------------------------------------------ */

hnn_status hnn_diagnostics_drift(hnn_diagnostics *d, const hnn_quantity *F, const double *traj,
                                 size_t count, hnn_drift *out)
{
    hnn_status st = begin_quantity(d, F, traj);
    hnn_drift drift;
    double f0, worst = 0.0, last = 0.0;
    size_t k;
    if (st != HNN_OK ||
        (st = begin_value(d, out, sizeof *out, "hnn_drift", F->fn != NULL ? out : NULL)) !=
            HNN_OK ||
        (st = states_fit(d, count)) != HNN_OK)
        return st;
    if (count == 0 || !hnni_all_finite(traj, count * d->dim)) {
        hnni_format(d->message, "need count >= 1 finite states");
        return count == 0 ? HNN_ERR_INVALID_ARG : HNN_ERR_NONFINITE;
    }
    if ((st = F->fn(F->ctx, d->dim, traj, &f0, NULL)) != HNN_OK)
        return fail(d, st, "the quantity failed");
    for (k = 1; k < count; k++) {
        double fk;
        if ((st = F->fn(F->ctx, d->dim, traj + k * d->dim, &fk, NULL)) != HNN_OK)
            return fail(d, st, "the quantity failed");
        last = fabs(fk - f0);
        worst = last > worst || isnan(last) ? last : worst;
    }
    drift.struct_size = sizeof drift;
    drift.initial = f0;
    drift.max_abs_err = worst;
    drift.final_abs_err = last;
    drift.max_rel_err = f0 != 0.0 ? worst / fabs(f0) : NAN;
    drift.final_rel_err = f0 != 0.0 ? last / fabs(f0) : NAN;
    return hnni_copy_def_out(out, &drift, sizeof drift, NULL);
}

hnn_status hnn_diagnostics_poisson_bracket(hnn_diagnostics *d, const hnn_quantity *F,
                                           const hnn_quantity *G, const double *x,
                                           size_t count, double *out)
{
    hnn_status st = begin_quantity(d, F, G);
    double *gf, *gg, value;
    size_t s, i;
    if (st != HNN_OK || (st = begin_quantity(d, G, x)) != HNN_OK ||
        (st = begin(d, d->dim, x, out)) != HNN_OK || (st = states_fit(d, count)) != HNN_OK)
        return st;
    if (F->fn == NULL || G->fn == NULL)
        return begin(d, d->dim, NULL, NULL);
    gf = d->v[V_GRAD_F];
    gg = d->v[V_GRAD_G];
    for (s = 0; s < count; s++) {
        const double *xs = x + s * d->dim;
        double b = 0.0;
        if ((st = F->fn(F->ctx, d->dim, xs, &value, gf)) != HNN_OK ||
            (st = G->fn(G->ctx, d->dim, xs, &value, gg)) != HNN_OK)
            return fail(d, st, "a quantity failed");
        for (i = 0; i < d->n; i++)
            b += gf[i] * gg[d->n + i] - gf[d->n + i] * gg[i];
        out[s] = b;
    }
    return HNN_OK;
}

/* ---- divergence and the loop gap ---------------------------------------------------------- */

hnn_status hnn_diagnostics_divergence(hnn_diagnostics *d, const hnn_field_source *src,
                                      const double *x, size_t count, double *out)
{
    hnn_status st = begin_source(d, src, x);
    size_t s, k;
    if (st != HNN_OK || (st = begin(d, d->dim, out, src->field != NULL ? out : NULL)) != HNN_OK ||
        (st = states_fit(d, count)) != HNN_OK)
        return st;
    for (s = 0; s < count; s++) {
        const double *xs = x + s * d->dim;
        double div = 0.0;
        if (src->jacobian != NULL) { /* exact: the trace of the Jacobian */
            if ((st = src->jacobian(src->ctx, d->dim, xs, d->matrix)) != HNN_OK)
                return fail(d, st, "the source's Jacobian failed");
            for (k = 0; k < d->dim; k++)
                div += d->matrix[k * d->dim + k];
        } else {
            for (k = 0; k < d->dim; k++) {
                const double step = 1e-5 * fmax(1.0, fabs(xs[k]));
                double fp, *xp = d->v[V_XP], *f = d->v[V_FIELD];
                memcpy(xp, xs, d->dim * sizeof *xs);
                xp[k] = xs[k] + step;
                if ((st = src->field(src->ctx, d->dim, xp, f)) != HNN_OK)
                    return fail(d, st, "the field source failed");
                fp = f[k];
                xp[k] = xs[k] - step;
                if ((st = src->field(src->ctx, d->dim, xp, f)) != HNN_OK)
                    return fail(d, st, "the field source failed");
                div += (fp - f[k]) / (2.0 * step);
            }
        }
        out[s] = div;
    }
    return HNN_OK;
}

hnn_status hnn_diagnostics_loop_gap(hnn_diagnostics *d, const hnn_field_source *src,
                                    const double *center, size_t plane, double radius,
                                    size_t points, double *gap)
{
    const double two_pi = 6.283185307179586476925286766559;
    hnn_status st = begin_source(d, src, center);
    double sum = 0.0, *x, *f;
    size_t k;
    if (st != HNN_OK || (st = begin(d, d->dim, gap, src->field != NULL ? gap : NULL)) != HNN_OK)
        return st;
    if (plane >= d->n || points < 8 || !(radius > 0.0 && isfinite(radius)) ||
        !hnni_all_finite(center, d->dim)) {
        hnni_format(d->message, "need plane < n, points >= 8, a finite radius > 0 and a finite "
                    "center");
        return HNN_ERR_INVALID_ARG;
    }
    x = d->v[V_X];
    f = d->v[V_FIELD];
    memcpy(x, center, d->dim * sizeof *x);
    for (k = 0; k < points; k++) {
        const double theta = two_pi * (double)k / (double)points;
        const double c = cos(theta), s = sin(theta);
        x[plane] = center[plane] + radius * c;
        x[d->n + plane] = center[d->n + plane] + radius * s;
        if ((st = src->field(src->ctx, d->dim, x, f)) != HNN_OK)
            return fail(d, st, "the field source failed");
        /* f_q dp - f_p dq with dq = -r sin, dp = r cos (per unit angle) */
        sum += f[plane] * radius * c + f[d->n + plane] * radius * s;
    }
    *gap = sum * two_pi / (double)points;
    return HNN_OK;
}

/* ---- area ----------------------------------------------------------------------------------- */

static double shoelace(const double *poly, size_t count, size_t dim, size_t n, size_t plane)
{
    double twice = 0.0;
    size_t k;
    for (k = 0; k < count; k++) {
        const double *a = poly + k * dim, *b = poly + ((k + 1) % count) * dim;
        twice += a[plane] * b[n + plane] - b[plane] * a[n + plane];
    }
    return 0.5 * twice;
}

hnn_status hnn_diagnostics_polygon_area(hnn_diagnostics *d, const double *polygon, size_t count,
                                        size_t plane, double *area)
{
    hnn_status st = begin(d, d != NULL ? d->dim : 0, polygon, area);
    if (st != HNN_OK || (st = states_fit(d, count)) != HNN_OK)
        return st;
    if (count < 3 || plane >= d->n) {
        hnni_format(d->message, "need a polygon of >= 3 states and plane < n");
        return HNN_ERR_INVALID_ARG;
    }
    *area = shoelace(polygon, count, d->dim, d->n, plane);
    return HNN_OK;
}

hnn_status hnn_diagnostics_area_ratio(hnn_diagnostics *d, hnn_integrator *integ,
                                      const hnn_field_source *src, const double *polygon,
                                      size_t count, size_t plane, double h, size_t steps,
                                      double *ratio, double *final_polygon)
{
    hnn_status st = begin_source(d, src, polygon);
    double before;
    size_t k;
    if (st != HNN_OK || (st = begin(d, d->dim, integ, ratio)) != HNN_OK)
        return st;
    if (count < 3 || count > d->def.max_points || plane >= d->n) {
        hnni_format(d->message, "need 3 to max_points (%zu) vertices and plane < n",
                    d->def.max_points);
        return HNN_ERR_INVALID_ARG;
    }
    before = shoelace(polygon, count, d->dim, d->n, plane);
    if (before == 0.0) {
        hnni_format(d->message, "the polygon encloses no area");
        return HNN_ERR_INVALID_ARG;
    }
    memcpy(d->polygon, polygon, count * d->dim * sizeof *polygon);
    for (k = 0; k < count; k++) {
        hnn_integrator_reset(integ); /* every vertex starts afresh (Tao's copies, DOPRI's h) */
        st = hnn_integrator_rollout(integ, src, d->polygon + k * d->dim, h, steps, NULL, NULL,
                                    NULL, NULL);
        if (st != HNN_OK) {
            hnni_format(d->message, "carrying vertex %zu: %s", k, hnn_integrator_last_error(integ));
            return st;
        }
    }
    *ratio = shoelace(d->polygon, count, d->dim, d->n, plane) / before;
    if (final_polygon != NULL)
        memcpy(final_polygon, d->polygon, count * d->dim * sizeof *polygon);
    return HNN_OK;
}

/* Determinant by LU with partial pivoting, in place. */
static double determinant(double *a, size_t m)
{
    double det = 1.0;
    size_t i, j, k;
    for (k = 0; k < m; k++) {
        size_t pivot = k;
        for (i = k + 1; i < m; i++)
            if (fabs(a[i * m + k]) > fabs(a[pivot * m + k]))
                pivot = i;
        if (a[pivot * m + k] == 0.0)
            return 0.0;
        if (pivot != k) {
            for (j = 0; j < m; j++) {
                double t = a[k * m + j];
                a[k * m + j] = a[pivot * m + j];
                a[pivot * m + j] = t;
            }
            det = -det;
        }
        det *= a[k * m + k];
        for (i = k + 1; i < m; i++) {
            const double factor = a[i * m + k] / a[k * m + k];
            for (j = k; j < m; j++)
                a[i * m + j] -= factor * a[k * m + j];
        }
    }
    return det;
}

/* One difference quotient of the flow map along e_j with step `step` into col (dim). */
static hnn_status flow_difference(hnn_diagnostics *d, hnn_integrator *integ,
                                  const hnn_field_source *src, const double *x, size_t j,
                                  double step, double h, size_t steps, double *col)
{
    double *xp = d->v[V_XP], *xm = d->v[V_XM];
    hnn_status st;
    size_t i;
    memcpy(xp, x, d->dim * sizeof *x);
    memcpy(xm, x, d->dim * sizeof *x);
    xp[j] += step;
    xm[j] -= step;
    hnn_integrator_reset(integ);
    if ((st = hnn_integrator_rollout(integ, src, xp, h, steps, NULL, NULL, NULL, NULL)) != HNN_OK)
        return st;
    hnn_integrator_reset(integ);
    if ((st = hnn_integrator_rollout(integ, src, xm, h, steps, NULL, NULL, NULL, NULL)) != HNN_OK)
        return st;
    for (i = 0; i < d->dim; i++)
        col[i] = (xp[i] - xm[i]) / (2.0 * step);
    return HNN_OK;
}

hnn_status hnn_diagnostics_flow_jacobian_det(hnn_diagnostics *d, hnn_integrator *integ,
                                             const hnn_field_source *src, const double *x,
                                             double h, size_t steps, double *det)
{
    hnn_status st = begin_source(d, src, x);
    double *coarse = d->v[V_GRAD_F], *fine = d->v[V_GRAD_G];
    size_t i, j;
    if (st != HNN_OK || (st = begin(d, d->dim, integ, det)) != HNN_OK)
        return st;
    if (!hnni_all_finite(x, d->dim)) {
        hnni_format(d->message, "the state holds NaN or infinity");
        return HNN_ERR_NONFINITE;
    }
    for (j = 0; j < d->dim; j++) {
        /* Richardson: (4 D(s/2) - D(s)) / 3 cancels the s^2 error of central differences */
        const double step = 1e-3 * fmax(1.0, fabs(x[j]));
        if ((st = flow_difference(d, integ, src, x, j, step, h, steps, coarse)) != HNN_OK ||
            (st = flow_difference(d, integ, src, x, j, 0.5 * step, h, steps, fine)) != HNN_OK) {
            hnni_format(d->message, "rolling out a perturbed state: %s",
                        hnn_integrator_last_error(integ));
            return st;
        }
        for (i = 0; i < d->dim; i++)
            d->matrix[i * d->dim + j] = (4.0 * fine[i] - coarse[i]) / 3.0;
    }
    *det = determinant(d->matrix, d->dim);
    return HNN_OK;
}
