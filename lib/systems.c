/* Analytic Hamiltonian systems and their field sources. */
#include "systems.h"

#include <math.h>

int hnni_system_known(hnn_system sys)
{
    return sys == HNN_SYSTEM_SPRING || sys == HNN_SYSTEM_GREYDANUS_SPRING ||
           sys == HNN_SYSTEM_PENDULUM || sys == HNN_SYSTEM_TWO_BODY;
}

size_t hnn_system_dof(hnn_system sys)
{
    if (sys == HNN_SYSTEM_TWO_BODY)
        return 4;
    return hnni_system_known(sys) ? 1 : 0;
}

double hnn_system_energy(hnn_system sys, const double *x)
{
    double q, p;
    if (x == NULL)
        return NAN;
    q = x[0];
    p = x[1];
    switch (sys) {
    case HNN_SYSTEM_SPRING: return 0.5 * (q * q + p * p);
    case HNN_SYSTEM_GREYDANUS_SPRING: return q * q + p * p;
    case HNN_SYSTEM_PENDULUM: return 3.0 * (1.0 - cos(q)) + p * p;
    case HNN_SYSTEM_TWO_BODY: {
        const double dx = x[2] - x[0], dy = x[3] - x[1];
        const double kinetic = 0.5 * (x[4] * x[4] + x[5] * x[5] + x[6] * x[6] + x[7] * x[7]);
        return kinetic - 1.0 / sqrt(dx * dx + dy * dy);
    }
    }
    return NAN;
}

/* Two bodies: dq/dt = p; body 1 is pulled towards body 2 by 1 / r^2, body 2 the other way. */
static void two_body_field(const double *x, double *f)
{
    const double dx = x[2] - x[0], dy = x[3] - x[1];
    const double r2 = dx * dx + dy * dy, inv_r3 = 1.0 / (r2 * sqrt(r2));
    f[0] = x[4], f[1] = x[5], f[2] = x[6], f[3] = x[7];
    f[4] = dx * inv_r3, f[5] = dy * inv_r3;
    f[6] = -dx * inv_r3, f[7] = -dy * inv_r3;
}

void hnni_system_field(hnn_system sys, const double *x, double *f)
{
    const double q = x[0], p = x[1];
    switch (sys) {
    case HNN_SYSTEM_SPRING: f[0] = p, f[1] = -q; return;
    case HNN_SYSTEM_GREYDANUS_SPRING: f[0] = 2.0 * p, f[1] = -2.0 * q; return;
    case HNN_SYSTEM_PENDULUM: f[0] = 2.0 * p, f[1] = -3.0 * sin(q); return;
    case HNN_SYSTEM_TWO_BODY: two_body_field(x, f); return;
    }
    f[0] = f[1] = NAN;
}

void hnni_system_flow_rk4(hnn_system sys, double *x, double t, size_t substeps)
{
    const double h = t / (double)substeps;
    const size_t dim = 2 * hnn_system_dof(sys);
    size_t i, j;
    for (i = 0; i < substeps; i++) {
        double k1[HNNI_SYSTEM_MAX_DIM], k2[HNNI_SYSTEM_MAX_DIM], k3[HNNI_SYSTEM_MAX_DIM],
            k4[HNNI_SYSTEM_MAX_DIM], y[HNNI_SYSTEM_MAX_DIM];
        hnni_system_field(sys, x, k1);
        for (j = 0; j < dim; j++) y[j] = x[j] + 0.5 * h * k1[j];
        hnni_system_field(sys, y, k2);
        for (j = 0; j < dim; j++) y[j] = x[j] + 0.5 * h * k2[j];
        hnni_system_field(sys, y, k3);
        for (j = 0; j < dim; j++) y[j] = x[j] + h * k3[j];
        hnni_system_field(sys, y, k4);
        for (j = 0; j < dim; j++) x[j] += h / 6.0 * (k1[j] + 2.0 * k2[j] + 2.0 * k3[j] + k4[j]);
    }
}

/* ---- field sources -------------------------------------------------------------------- */

/* The context of a system source names the system; these constants are never written. */
static const hnn_system system_ids[] = {HNN_SYSTEM_SPRING, HNN_SYSTEM_GREYDANUS_SPRING,
                                        HNN_SYSTEM_PENDULUM, HNN_SYSTEM_TWO_BODY};

static hnn_status system_field(void *ctx, const double *x, double *f)
{
    hnni_system_field(*(const hnn_system *)ctx, x, f);
    return HNN_OK;
}

static hnn_status system_energy(void *ctx, const double *x, double *energy)
{
    *energy = hnn_system_energy(*(const hnn_system *)ctx, x);
    return HNN_OK;
}

hnn_status hnn_field_source_system(hnn_system system, hnn_field_source *out)
{
    if (out == NULL)
        return HNN_ERR_NULL;
    if (!hnni_system_known(system))
        return HNN_ERR_INVALID_ARG;
    out->dim = 2 * hnn_system_dof(system);
    out->field = system_field;
    out->energy = system_energy;
    out->ctx = (void *)&system_ids[system];
    out->separable = 1;
    return HNN_OK;
}
