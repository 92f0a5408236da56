/* Analytic Hamiltonian systems with one degree of freedom. */
#include "systems.h"

#include <math.h>

double hnni_system_energy(hnni_system sys, const double *x)
{
    const double q = x[0], p = x[1];
    switch (sys) {
    case HNNI_SPRING: return 0.5 * (q * q + p * p);
    case HNNI_GREYDANUS_SPRING: return q * q + p * p;
    case HNNI_PENDULUM: return 3.0 * (1.0 - cos(q)) + p * p;
    }
    return NAN;
}

void hnni_system_field(hnni_system sys, const double *x, double *f)
{
    const double q = x[0], p = x[1];
    switch (sys) {
    case HNNI_SPRING: f[0] = p, f[1] = -q; return;
    case HNNI_GREYDANUS_SPRING: f[0] = 2.0 * p, f[1] = -2.0 * q; return;
    case HNNI_PENDULUM: f[0] = 2.0 * p, f[1] = -3.0 * sin(q); return;
    }
    f[0] = f[1] = NAN;
}

void hnni_system_flow_rk4(hnni_system sys, double *x, double t, size_t substeps)
{
    const double h = t / (double)substeps;
    size_t i;
    for (i = 0; i < substeps; i++) {
        double k1[2], k2[2], k3[2], k4[2], y[2];
        int j;
        hnni_system_field(sys, x, k1);
        for (j = 0; j < 2; j++) y[j] = x[j] + 0.5 * h * k1[j];
        hnni_system_field(sys, y, k2);
        for (j = 0; j < 2; j++) y[j] = x[j] + 0.5 * h * k2[j];
        hnni_system_field(sys, y, k3);
        for (j = 0; j < 2; j++) y[j] = x[j] + h * k3[j];
        hnni_system_field(sys, y, k4);
        for (j = 0; j < 2; j++) x[j] += h / 6.0 * (k1[j] + 2.0 * k2[j] + 2.0 * k3[j] + k4[j]);
    }
}
