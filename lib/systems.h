/* Private: analytic Hamiltonian systems, the ground truth for datasets, integrator tests and
 * diagnostics. States are x = [q_1..q_n, p_1..p_n]. */
#ifndef HNN_LIB_SYSTEMS_H
#define HNN_LIB_SYSTEMS_H

#include <stddef.h>

#include "hnn/field.h"

/* The longest state of a built-in system. */
#define HNNI_SYSTEM_MAX_DIM 12

/* 1 if `sys` is a known system. */
int hnni_system_known(hnn_system sys);
/* f = J grad H at x (2 hnn_system_dof(sys) numbers). */
void hnni_system_field(hnn_system sys, const double *x, double *f);
/* Advances x by time t with classic RK4 in `substeps` equal steps (an accurate reference
 * for these smooth systems: error ~ (t / substeps)^4). */
void hnni_system_flow_rk4(hnn_system sys, double *x, double t, size_t substeps);

#endif
