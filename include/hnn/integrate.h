/* libhnn integrators: classic and symplectic steppers over any field source. */
#ifndef HNN_INTEGRATE_H
#define HNN_INTEGRATE_H

#include "hnn/field.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The methods, with their order and what they conserve (docs/integrators.md). */
typedef enum hnn_method {
    HNN_METHOD_EULER = 0,            /* explicit Euler, order 1 */
    HNN_METHOD_RK4 = 1,              /* classic Runge-Kutta, order 4 */
    HNN_METHOD_DOPRI5 = 2,           /* Dormand-Prince 5(4), adaptive, order 5 */
    HNN_METHOD_SYMPLECTIC_EULER = 3, /* order 1, symplectic; implicit in p unless separable */
    HNN_METHOD_LEAPFROG = 4,         /* Stormer-Verlet, order 2, symplectic; explicit only
                                        for separable sources, else the generalized implicit form */
    HNN_METHOD_IMPLICIT_MIDPOINT = 5,/* order 2, symplectic, keeps quadratic invariants */
    HNN_METHOD_GAUSS4 = 6,           /* Gauss-Legendre collocation, 2 stages, order 4, symplectic */
    HNN_METHOD_GAUSS6 = 7,           /* Gauss-Legendre collocation, 3 stages, order 6, symplectic */
    HNN_METHOD_YOSHIDA4 = 8,         /* Yoshida's triple-jump of leapfrog, order 4, symplectic */
    HNN_METHOD_TAO = 9               /* Tao's explicit extended-phase-space method, order 2 */
} hnn_method;

/* The longest state an integrator takes (a block of many particles stacked into one state
 * may be much longer than one net's 2n). */
#define HNN_MAX_STATE 4194304u

/* Number of methods: valid values are 0 .. HNN_METHOD_COUNT - 1. */
#define HNN_METHOD_COUNT 10

/* "rk4", "leapfrog", ... (NULL for an unknown method), and the method with that name
 * (HNN_ERR_INVALID_ARG for an unknown name). */
HNN_API const char *hnn_method_name(hnn_method method);
HNN_API hnn_status hnn_method_from_name(const char *name, hnn_method *out);

/* The method's order of accuracy (0 for an unknown method) and whether it is symplectic. */
HNN_API int hnn_method_order(hnn_method method);
HNN_API int hnn_method_is_symplectic(hnn_method method);

typedef struct hnn_integrator_def {
    size_t struct_size;
    hnn_method method;      /* default HNN_METHOD_RK4 */
    size_t dim;             /* state length, even, 2..HNN_MAX_STATE; default 2 */
    int adaptive;           /* DOPRI5: 1 (default) controls the error with substeps inside
                               each step; 0 takes one step of the given size */
    double rtol, atol;      /* DOPRI5 tolerances; default 1e-9, 1e-12 */
    size_t max_substeps;    /* DOPRI5: substeps allowed per step; default 100000 */
    size_t max_iterations;  /* implicit solves: fixed-point iterations allowed; default 200 */
    double tao_omega;       /* Tao's coupling constant; default 20 */
    hnn_allocator allocator;
} hnn_integrator_def;

HNN_API void hnn_integrator_def_init(hnn_integrator_def *def, size_t struct_size);

static inline hnn_integrator_def hnn_integrator_def_default(void)
{
    hnn_integrator_def def;
    hnn_integrator_def_init(&def, sizeof def);
    return def;
}

typedef struct hnn_integrator hnn_integrator;

/* Creates an integrator; all its workspace is allocated here, none in steps. */
HNN_API hnn_status hnn_integrator_create(const hnn_integrator_def *def, hnn_integrator **out,
                                         hnn_error *err);

/* Frees it. NULL is harmless. */
HNN_API void hnn_integrator_destroy(hnn_integrator *integ);

/* Advances x (dim doubles) by time h (finite, non-zero; negative runs backwards) in place.
 * On any error x is left exactly as it was: HNN_ERR_NULL, HNN_ERR_SIZE_MISMATCH (source dim
 * differs), HNN_ERR_INVALID_ARG (bad h), HNN_ERR_NONFINITE (x holds NaN/Inf, or the step
 * produced it), HNN_ERR_NO_CONVERGENCE (an implicit stage or the adaptive control failed),
 * or the status the field source returned. hnn_integrator_last_error says more. */
HNN_API hnn_status hnn_integrator_step(hnn_integrator *integ, const hnn_field_source *src,
                                       double *x, double h);

/* Called after each step of a rollout with the step number (1-based), the time and the
 * state; return non-zero to stop the rollout (which then returns HNN_ERR_STOPPED). */
typedef int (*hnn_step_callback)(void *user, size_t step, double t, const double *x);

/* Takes `steps` steps of size h from x (updated in place). If traj is not NULL it receives
 * (steps + 1) x dim doubles: x at times 0, h, ..., steps h. On an error the rollout stops:
 * x holds the last good state, traj is filled up to it, and *done (if not NULL) says how
 * many steps were completed. */
HNN_API hnn_status hnn_integrator_rollout(hnn_integrator *integ, const hnn_field_source *src,
                                          double *x, double h, size_t steps, double *traj,
                                          hnn_step_callback callback, void *user,
                                          size_t *done);

/* Counters since creation or hnn_integrator_reset: field evaluations, implicit-solver
 * iterations, and (DOPRI5) rejected substeps. */
HNN_API uint64_t hnn_integrator_field_evals(const hnn_integrator *integ);
HNN_API uint64_t hnn_integrator_solver_iterations(const hnn_integrator *integ);
HNN_API uint64_t hnn_integrator_rejected_substeps(const hnn_integrator *integ);

/* Zeroes the counters and forgets carried state (DOPRI5's step-size guess, Tao's copies). */
HNN_API void hnn_integrator_reset(hnn_integrator *integ);

/* A sentence about the last failed step ("" after a success); never NULL. */
HNN_API const char *hnn_integrator_last_error(const hnn_integrator *integ);

#ifdef __cplusplus
}
#endif

#endif /* HNN_INTEGRATE_H */
