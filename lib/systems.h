/* Private: analytic Hamiltonian systems, the ground truth for datasets (and, later, for
 * integrator tests and diagnostics). States are x = [q_1..q_n, p_1..p_n]. */
#ifndef HNN_LIB_SYSTEMS_H
#define HNN_LIB_SYSTEMS_H

#include <stddef.h>

typedef enum hnni_system {
    HNNI_SPRING,           /* the seed's unit spring: H = (q^2 + p^2) / 2 */
    HNNI_GREYDANUS_SPRING, /* Greydanus et al. 2019: H = q^2 + p^2 */
    HNNI_PENDULUM          /* Greydanus et al. 2019: H = 3 (1 - cos q) + p^2 */
} hnni_system;

double hnni_system_energy(hnni_system sys, const double *x);
/* f = J grad H at x (2 entries for these one-degree-of-freedom systems). */
void hnni_system_field(hnni_system sys, const double *x, double *f);
/* Advances x by time t with classic RK4 in `substeps` equal steps (an accurate reference
 * for smooth one-degree-of-freedom systems: error ~ (t / substeps)^4). */
void hnni_system_flow_rk4(hnni_system sys, double *x, double t, size_t substeps);

#endif
