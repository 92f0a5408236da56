/* The integrator handle: definitions, the step contract (check, compute into scratch, commit
 * only on success), rollouts, counters, and the fixed-point solver implicit methods share. */
#include "integrate_impl.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "alloc.h"
#include "core.h"

typedef struct method_info {
    const char *name;
    int order;
    int symplectic;
    hnni_method_fn step;
} method_info;

static const method_info methods[HNN_METHOD_COUNT] = {
    {"euler", 1, 0, hnni_step_euler},
    {"rk4", 4, 0, hnni_step_rk4},
    {"dopri5", 5, 0, hnni_step_dopri5},
    {"symplectic-euler", 1, 1, hnni_step_symplectic_euler},
    {"leapfrog", 2, 1, hnni_step_leapfrog},
    {"implicit-midpoint", 2, 1, hnni_step_midpoint},
    {"gauss4", 4, 1, hnni_step_gauss4},
    {"gauss6", 6, 1, hnni_step_gauss6},
    {"yoshida4", 4, 1, hnni_step_yoshida4},
    /* symplectic in the extended phase space only: see docs/integrators.md */
    {"tao", 2, 0, hnni_step_tao},
};

static int known(hnn_method m)
{
    return (int)m >= 0 && (int)m < HNN_METHOD_COUNT;
}

const char *hnn_method_name(hnn_method method)
{
    return known(method) ? methods[method].name : NULL;
}

hnn_status hnn_method_from_name(const char *name, hnn_method *out)
{
    int i;
    if (name == NULL || out == NULL)
        return HNN_ERR_NULL;
    for (i = 0; i < HNN_METHOD_COUNT; i++) {
        if (strcmp(name, methods[i].name) == 0) {
            *out = (hnn_method)i;
            return HNN_OK;
        }
    }
    return HNN_ERR_INVALID_ARG;
}

int hnn_method_order(hnn_method method)
{
    return known(method) ? methods[method].order : 0;
}

int hnn_method_is_symplectic(hnn_method method)
{
    return known(method) ? methods[method].symplectic : 0;
}

void hnn_integrator_def_init(hnn_integrator_def *def, size_t struct_size)
{
    hnn_integrator_def d;
    if (def == NULL)
        return;
    memset(&d, 0, sizeof d);
    d.method = HNN_METHOD_RK4;
    d.dim = 2;
    d.adaptive = 1;
    d.rtol = 1e-9;
    d.atol = 1e-12;
    d.max_substeps = 100000;
    d.max_iterations = 200;
    d.tao_omega = 20.0;
    hnni_publish_def(def, &d, sizeof d, struct_size);
}

static hnn_status check_def(const hnn_integrator_def *d, hnn_error *err)
{
    if (!known(d->method))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "unknown method %d", (int)d->method);
    if (d->dim < 2 || d->dim % 2 != 0)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "dim %zu: a state [q, p] has an even "
                         "length >= 2", d->dim);
    if (d->dim > HNN_MAX_STATE)
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "dim %zu is over the cap %u", d->dim,
                         HNN_MAX_STATE);
    if (!(isfinite(d->rtol) && isfinite(d->atol) && d->rtol >= 0 && d->atol >= 0 &&
          d->rtol + d->atol > 0))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "rtol and atol must be finite, >= 0, "
                         "not both 0");
    if (d->max_substeps == 0 || d->max_iterations < 2)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "max_substeps must be >= 1 and "
                         "max_iterations >= 2");
    if (!(isfinite(d->tao_omega) && d->tao_omega > 0))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "tao_omega must be finite and > 0");
    return HNN_OK;
}

hnn_status hnn_integrator_create(const hnn_integrator_def *def, hnn_integrator **out,
                                 hnn_error *err)
{
    hnn_integrator_def full;
    hnn_integrator *in;
    hnn_allocator alloc;
    hnn_status st;
    size_t i, doubles = 0;
    if (out != NULL)
        *out = NULL;
    if (def == NULL || out == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_integrator_create: def and out must not be NULL");
    hnn_integrator_def_init(&full, sizeof full);
    if ((st = hnni_read_def(def, &full, sizeof full, NULL, "hnn_integrator_def", err)) != HNN_OK ||
        (st = check_def(&full, err)) != HNN_OK)
        return st;
    def = &full;
    alloc = hnni_allocator_resolve(def->allocator);
    in = (hnn_integrator *)hnni_alloc(&alloc, sizeof *in);
    if (in == NULL)
        return hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate an integrator");
    in->def = *def;
    in->alloc = alloc;
    in->dim = def->dim;
    in->n = def->dim / 2;
    doubles = (HNNI_WORK_VECTORS + 2) * in->dim; /* dim <= HNN_MAX_STATE: no overflow */
    in->block = (double *)hnni_alloc(&alloc, doubles * sizeof(double));
    if (in->block == NULL) {
        hnni_free(&alloc, in, sizeof *in);
        return hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate integrator workspace");
    }
    for (i = 0; i < HNNI_WORK_VECTORS; i++)
        in->v[i] = in->block + i * in->dim;
    in->tao_copy = in->block + HNNI_WORK_VECTORS * in->dim;
    in->tao_last = in->tao_copy + in->dim;
    *out = in;
    return hnni_ok(err);
}

void hnn_integrator_destroy(hnn_integrator *integ)
{
    hnn_allocator alloc;
    if (integ == NULL)
        return;
    alloc = integ->alloc;
    hnni_free(&alloc, integ->block, (HNNI_WORK_VECTORS + 2) * integ->dim * sizeof(double));
    hnni_free(&alloc, integ, sizeof *integ);
}

hnn_status hnni_eval(hnn_integrator *in, const hnn_field_source *src, const double *x,
                     double *f)
{
    hnn_status st;
    in->evals++;
    st = src->field(src->ctx, in->dim, x, f);
    if (st != HNN_OK) {
        hnni_format(in->message, "the field source failed: %s", hnn_status_string(st));
        return st;
    }
    /* every component, used by this method or not: a field that is NaN anywhere is broken,
     * and a method that happens not to read that component must not hide it */
    if (!hnni_all_finite(f, in->dim)) {
        hnni_format(in->message, "the field source returned NaN or infinity");
        return HNN_ERR_NONFINITE;
    }
    return HNN_OK;
}

void hnni_axpy(size_t dim, const double *x, double a, const double *v, double *y)
{
    size_t i;
    for (i = 0; i < dim; i++)
        y[i] = x[i] + a * v[i];
}

/* The fixed-point iteration. A correction that beats the best one so far is progress. One
 * that does not means the iteration has reached its floor: that is convergence if the
 * correction is at round-off, and failure if the iteration makes no progress for
 * STALL_LIMIT corrections in a row above round-off (it diverges or oscillates: h too large).
 * Round-off is judged against the terms the map sums, not the solution: a half-step momentum
 * p + h/2 f_p that passes through zero is computed from terms of ordinary size, and its
 * correction stalls at their round-off, which relative to the tiny solution would look like
 * a failure (it did: "did not converge" with a last correction of 1e-17 on a unit spring).
 * Comparing with the best so far, not just the last correction, tolerates corrections that
 * swap between differently scaled components from one iteration to the next. */
#define STALL_LIMIT 3
#define ROUNDOFF (1e3 * DBL_EPSILON)

hnn_status hnni_fixed_point(hnn_integrator *in, const hnn_field_source *src, hnni_map_fn map,
                            void *ctx, double *z, double *scratch, size_t m)
{
    double best = INFINITY, delta = INFINITY, terms = 0.0;
    size_t it, i, stalls = 0;
    for (it = 0; it < in->def.max_iterations; it++) {
        hnn_status st = map(in, src, ctx, z, scratch, &terms);
        if (st != HNN_OK)
            return st;
        in->iterations++;
        delta = 0.0;
        for (i = 0; i < m; i++) {
            const double d = fabs(scratch[i] - z[i]);
            delta = d > delta || isnan(d) ? d : delta;
            z[i] = scratch[i];
        }
        if (delta == 0.0)
            return HNN_OK;
        if (!isfinite(delta))
            break;
        if (delta < best) {
            best = delta;
            stalls = 0;
            continue;
        }
        if (delta <= ROUNDOFF * terms)
            return HNN_OK;
        if (++stalls >= STALL_LIMIT)
            break;
    }
    /* out of iterations while still creeping down at round-off: as converged as it gets */
    if (it == in->def.max_iterations && delta <= ROUNDOFF * terms)
        return HNN_OK;
    hnni_format(in->message, "implicit stage did not converge (%s after %zu iterations, "
                "last correction %.3g against terms of size %.3g): try a smaller step",
                hnn_method_name(in->def.method), it < in->def.max_iterations ? it + 1 : it,
                delta, terms);
    return HNN_ERR_NO_CONVERGENCE;
}

static hnn_status check_step_args(hnn_integrator *in, const hnn_field_source *src,
                                  const double *x, double h)
{
    if (src != NULL && hnni_value_check(src, sizeof *src, "hnn_field_source", in->message))
        return HNN_ERR_INVALID_ARG;
    if (src == NULL || x == NULL || src->field == NULL) {
        hnni_format(in->message, "the source, its field function and the state must not be NULL");
        return HNN_ERR_NULL;
    }
    if (src->dim != in->dim) {
        hnni_format(in->message, "the source has dim %zu, the integrator %zu", src->dim, in->dim);
        return HNN_ERR_SIZE_MISMATCH;
    }
    if (!isfinite(h) || h == 0.0) {
        hnni_format(in->message, "the step h must be finite and non-zero");
        return HNN_ERR_INVALID_ARG;
    }
    if (!hnni_all_finite(x, in->dim)) {
        hnni_format(in->message, "the state holds NaN or infinity");
        return HNN_ERR_NONFINITE;
    }
    return HNN_OK;
}

/* Scratch vector reserved for the step's result (methods use v[0] .. v[OUT - 1]). */
#define OUT (HNNI_WORK_VECTORS - 1)

hnn_status hnn_integrator_step(hnn_integrator *integ, const hnn_field_source *src, double *x,
                               double h)
{
    hnn_status st;
    if (integ == NULL)
        return HNN_ERR_NULL;
    integ->message[0] = '\0';
    if ((st = check_step_args(integ, src, x, h)) != HNN_OK)
        return st;
    st = methods[integ->def.method].step(integ, src, x, h, integ->v[OUT]);
    if (st != HNN_OK)
        return st;
    if (!hnni_all_finite(integ->v[OUT], integ->dim)) {
        hnni_format(integ->message, "the step produced NaN or infinity (the field overflowed?)");
        return HNN_ERR_NONFINITE;
    }
    memcpy(x, integ->v[OUT], integ->dim * sizeof *x);
    if (integ->def.method == HNN_METHOD_TAO) { /* commit the extended copies (symplectic.c) */
        memcpy(integ->tao_copy, integ->v[OUT - 1], integ->dim * sizeof *x);
        memcpy(integ->tao_last, x, integ->dim * sizeof *x);
        integ->tao_valid = 1;
    }
    return HNN_OK;
}

hnn_status hnn_integrator_rollout(hnn_integrator *integ, const hnn_field_source *src,
                                  double *x, double h, size_t steps, double *traj,
                                  hnn_step_callback callback, void *user, size_t *done)
{
    hnn_status st = HNN_OK;
    size_t k;
    if (done != NULL)
        *done = 0;
    if (integ == NULL || x == NULL)
        return HNN_ERR_NULL;
    if (traj != NULL) {
        size_t elems;
        if (!hnni_mul_size(steps, integ->dim, &elems) || !hnni_add_size(elems, integ->dim, &elems) ||
            !hnni_mul_size(elems, sizeof(double), &elems))
            return HNN_ERR_TOO_LARGE;
        memcpy(traj, x, integ->dim * sizeof *x);
    }
    for (k = 1; k <= steps; k++) {
        if ((st = hnn_integrator_step(integ, src, x, h)) != HNN_OK)
            break;
        if (done != NULL)
            *done = k;
        if (traj != NULL)
            memcpy(traj + k * integ->dim, x, integ->dim * sizeof *x);
        if (callback != NULL && callback(user, k, (double)k * h, x)) {
            hnni_format(integ->message, "stopped by the callback after step %zu", k);
            st = HNN_ERR_STOPPED;
            break;
        }
    }
    return st;
}

uint64_t hnn_integrator_field_evals(const hnn_integrator *integ)
{
    return integ == NULL ? 0 : integ->evals;
}

uint64_t hnn_integrator_solver_iterations(const hnn_integrator *integ)
{
    return integ == NULL ? 0 : integ->iterations;
}

uint64_t hnn_integrator_rejected_substeps(const hnn_integrator *integ)
{
    return integ == NULL ? 0 : integ->rejects;
}

void hnn_integrator_reset(hnn_integrator *integ)
{
    if (integ == NULL)
        return;
    integ->evals = integ->iterations = integ->rejects = 0;
    integ->dopri_h = 0.0;
    integ->tao_valid = 0;
    integ->message[0] = '\0';
}

const char *hnn_integrator_last_error(const hnn_integrator *integ)
{
    return integ == NULL ? "" : integ->message;
}
