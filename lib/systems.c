/* Analytic Hamiltonian systems and their field sources. */
#include "systems.h"

#include <math.h>

int hnni_system_known(hnn_system sys)
{
    return sys == HNN_SYSTEM_SPRING || sys == HNN_SYSTEM_GREYDANUS_SPRING ||
           sys == HNN_SYSTEM_PENDULUM || sys == HNN_SYSTEM_TWO_BODY ||
           sys == HNN_SYSTEM_THREE_BODY || sys == HNN_SYSTEM_CHAIN;
}

size_t hnn_system_dof(hnn_system sys)
{
    if (sys == HNN_SYSTEM_TWO_BODY || sys == HNN_SYSTEM_CHAIN)
        return 4;
    if (sys == HNN_SYSTEM_THREE_BODY)
        return 6;
    return hnni_system_known(sys) ? 1 : 0;
}

/* B unit masses in the plane, G = 1: kinetic energy minus 1 / distance for every pair. */
static double gravity_energy(int bodies, const double *x)
{
    const double *p = x + 2 * bodies;
    double h = 0.0;
    int i, j;
    for (i = 0; i < 2 * bodies; i++)
        h += 0.5 * p[i] * p[i];
    for (i = 0; i < bodies; i++)
        for (j = i + 1; j < bodies; j++) {
            const double dx = x[2 * j] - x[2 * i], dy = x[2 * j + 1] - x[2 * i + 1];
            h -= 1.0 / sqrt(dx * dx + dy * dy);
        }
    return h;
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
    case HNN_SYSTEM_TWO_BODY:
        return gravity_energy(2, x);
    case HNN_SYSTEM_THREE_BODY:
        return gravity_energy(3, x);
    case HNN_SYSTEM_CHAIN: {
        double h = 0.0;
        int i;
        for (i = 0; i < 4; i++)
            h += 0.5 * x[4 + i] * x[4 + i];
        for (i = 0; i < 3; i++)
            h += 0.5 * (x[i + 1] - x[i]) * (x[i + 1] - x[i]);
        return h;
    }
    }
    return NAN;
}

/* B bodies under gravity: dq/dt = p; every pair pulls its two bodies together by 1 / r^2. */
static void gravity_field(int bodies, const double *x, double *f)
{
    const int n = 2 * bodies;
    int i, j;
    for (i = 0; i < n; i++) {
        f[i] = x[n + i];
        f[n + i] = 0.0;
    }
    for (i = 0; i < bodies; i++)
        for (j = i + 1; j < bodies; j++) {
            const double dx = x[2 * j] - x[2 * i], dy = x[2 * j + 1] - x[2 * i + 1];
            const double r2 = dx * dx + dy * dy, inv_r3 = 1.0 / (r2 * sqrt(r2));
            f[n + 2 * i] += dx * inv_r3, f[n + 2 * i + 1] += dy * inv_r3;
            f[n + 2 * j] -= dx * inv_r3, f[n + 2 * j + 1] -= dy * inv_r3;
        }
}

/* The chain: dq/dt = p; each spring pulls its two ends together by its extension. */
static void chain_field(const double *x, double *f)
{
    int i;
    for (i = 0; i < 4; i++) {
        f[i] = x[4 + i];
        f[4 + i] = 0.0;
    }
    for (i = 0; i < 3; i++) {
        const double stretch = x[i + 1] - x[i];
        f[4 + i] += stretch;
        f[4 + i + 1] -= stretch;
    }
}

void hnni_system_field(hnn_system sys, const double *x, double *f)
{
    const double q = x[0], p = x[1];
    switch (sys) {
    case HNN_SYSTEM_SPRING: f[0] = p, f[1] = -q; return;
    case HNN_SYSTEM_GREYDANUS_SPRING: f[0] = 2.0 * p, f[1] = -2.0 * q; return;
    case HNN_SYSTEM_PENDULUM: f[0] = 2.0 * p, f[1] = -3.0 * sin(q); return;
    case HNN_SYSTEM_TWO_BODY: gravity_field(2, x, f); return;
    case HNN_SYSTEM_THREE_BODY: gravity_field(3, x, f); return;
    case HNN_SYSTEM_CHAIN: chain_field(x, f); return;
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
