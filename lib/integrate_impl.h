/* Private: the integrator handle and the helpers its method files share. */
#ifndef HNN_LIB_INTEGRATE_IMPL_H
#define HNN_LIB_INTEGRATE_IMPL_H

#include "hnn/integrate.h"

/* Work vectors of dim doubles each, carved from one block at creation. */
#define HNNI_WORK_VECTORS 24

struct hnn_integrator {
    hnn_integrator_def def;
    hnn_allocator alloc;
    size_t dim, n;
    double *block;                  /* HNNI_WORK_VECTORS * dim doubles */
    double *v[HNNI_WORK_VECTORS];   /* scratch vectors, meaning per method */
    double *tao_copy;               /* Tao: the extended copies (q~, p~) */
    double *tao_last;               /* Tao: the state the last step returned */
    int tao_valid;
    double dopri_h;                 /* DOPRI5: last accepted substep (0: none yet) */
    uint64_t evals, iterations, rejects;
    char message[HNN_ERROR_MESSAGE_SIZE];
};

/* A method advances x (const) by h into out, using the integrator's scratch vectors. */
typedef hnn_status (*hnni_method_fn)(hnn_integrator *in, const hnn_field_source *src,
                                     const double *x, double h, double *out);

/* f = field(x), counted; a failing source gets a message. */
hnn_status hnni_eval(hnn_integrator *in, const hnn_field_source *src, const double *x,
                     double *f);

/* Solves z = G(z) for z (m doubles) by fixed-point iteration from the guess in z, until the
 * correction stops shrinking (round-off). `map` computes G(z) into out and into *terms the
 * largest magnitude among the terms it summed (|base| + |h f| for base + h f): round-off in
 * out is a few ulps of that, however small out itself is. Returns HNN_ERR_NO_CONVERGENCE
 * (with a message) if the corrections never settle near round-off within
 * def.max_iterations. */
typedef hnn_status (*hnni_map_fn)(hnn_integrator *in, const hnn_field_source *src, void *ctx,
                                  const double *z, double *out, double *terms);
hnn_status hnni_fixed_point(hnn_integrator *in, const hnn_field_source *src, hnni_map_fn map,
                            void *ctx, double *z, double *scratch, size_t m);

/* y = x + a * v over dim entries. */
void hnni_axpy(size_t dim, const double *x, double a, const double *v, double *y);

/* The methods (rk.c, symplectic.c, collocation.c). */
hnn_status hnni_step_euler(hnn_integrator *, const hnn_field_source *, const double *, double, double *);
hnn_status hnni_step_rk4(hnn_integrator *, const hnn_field_source *, const double *, double, double *);
hnn_status hnni_step_dopri5(hnn_integrator *, const hnn_field_source *, const double *, double, double *);
hnn_status hnni_step_symplectic_euler(hnn_integrator *, const hnn_field_source *, const double *, double, double *);
hnn_status hnni_step_leapfrog(hnn_integrator *, const hnn_field_source *, const double *, double, double *);
hnn_status hnni_step_yoshida4(hnn_integrator *, const hnn_field_source *, const double *, double, double *);
hnn_status hnni_step_tao(hnn_integrator *, const hnn_field_source *, const double *, double, double *);
hnn_status hnni_step_midpoint(hnn_integrator *, const hnn_field_source *, const double *, double, double *);
hnn_status hnni_step_gauss4(hnn_integrator *, const hnn_field_source *, const double *, double, double *);
hnn_status hnni_step_gauss6(hnn_integrator *, const hnn_field_source *, const double *, double, double *);

#endif
