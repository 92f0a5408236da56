/* libhnn diagnostics: conservation and geometry of fields and trajectories. Energy drift,
 * drift of any quantity, Poisson brackets, divergence, the loop gap, phase-space area. */
#ifndef HNN_DIAG_H
#define HNN_DIAG_H

#include "hnn/field.h"
#include "hnn/integrate.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A scalar function F(x) of the state, with its gradient: writes F into *value and, if
 * grad is not NULL, dF/dx (dim doubles). `dim` is the length of the caller's x and grad: a
 * function made for another returns HNN_ERR_SIZE_MISMATCH and writes nothing. */
typedef hnn_status (*hnn_quantity_fn)(void *ctx, size_t dim, const double *x, double *value,
                                      double *grad);

/* A value struct that can grow (docs/api.md "Value structs"): set struct_size to
 * sizeof(hnn_quantity) before a constructor fills it or you do, e.g.
 * `hnn_quantity F = {sizeof F};`; any other value is refused with HNN_ERR_INVALID_ARG. */
typedef struct hnn_quantity {
    size_t struct_size;
    size_t dim;
    hnn_quantity_fn fn;
    void *ctx;
} hnn_quantity;

/* A system's exact energy as a quantity. HNN_ERR_INVALID_ARG for an unknown system. */
HNN_API hnn_status hnn_quantity_system_energy(hnn_system system, hnn_quantity *out);

/* A Hamiltonian net's own H as a quantity (its gradient by hnn_net_gradient), evaluated with
 * ws, made for this net (not NULL: HNN_ERR_NULL; hnn_net_workspace(net) for one thread).
 * HNN_ERR_WRONG_KIND for a direct-field net. */
HNN_API hnn_status hnn_quantity_net_energy(const hnn_net *net, hnn_workspace *ws,
                                           hnn_quantity *out);

/* Momenta of many bodies, laid out body by body as for feature maps: with B bodies of
 * d = n / B coordinates, q = [q_1 (d numbers), .., q_B], p likewise. A value struct:
 * `hnn_bodies spec = {sizeof spec, n, B, axis};`. */
typedef struct hnn_bodies {
    size_t struct_size;
    size_t dof;     /* n */
    size_t bodies;  /* B >= 1, dividing n (the angular momentum needs n = 2B: the plane) */
    size_t axis;    /* for the total momentum: which component, < d */
} hnn_bodies;

/* The total momentum's component P_axis = sum_b p_(b, axis) as a quantity; ctx points at
 * *spec, which must outlive the quantity. HNN_ERR_INVALID_ARG for a spec that does not fit. */
HNN_API hnn_status hnn_quantity_momentum(const hnn_bodies *spec, hnn_quantity *out);

/* The angular momentum about the origin of bodies in the plane, L = sum_b (x_b py_b - y_b
 * px_b), as a quantity (ctx points at *spec). HNN_ERR_INVALID_ARG unless n = 2B. */
HNN_API hnn_status hnn_quantity_angular_momentum(const hnn_bodies *spec, hnn_quantity *out);

typedef struct hnn_diagnostics_def {
    size_t struct_size;
    size_t dim;           /* state length 2n; default 2 */
    size_t max_points;    /* largest polygon for area measurements; default 4096 */
    hnn_allocator allocator;
} hnn_diagnostics_def;

HNN_API void hnn_diagnostics_def_init(hnn_diagnostics_def *def, size_t struct_size);

static inline hnn_diagnostics_def hnn_diagnostics_def_default(void)
{
    hnn_diagnostics_def def;
    hnn_diagnostics_def_init(&def, sizeof def);
    return def;
}

typedef struct hnn_diagnostics hnn_diagnostics;

/* Creates a diagnostics handle; its scratch memory is allocated here, none in measurements. */
HNN_API hnn_status hnn_diagnostics_create(const hnn_diagnostics_def *def,
                                          hnn_diagnostics **out, hnn_error *err);
HNN_API void hnn_diagnostics_destroy(hnn_diagnostics *d);

/* A sentence about the last failed measurement ("" after a success); never NULL. */
HNN_API const char *hnn_diagnostics_last_error(const hnn_diagnostics *d);

/* How a quantity moved along a trajectory, relative to its value at the first state. */
/* A value struct (docs/api.md "Value structs"): `hnn_drift drift = {sizeof drift};`. */
typedef struct hnn_drift {
    size_t struct_size;
    double initial;        /* F(x_0) */
    double max_abs_err;    /* max over k of |F(x_k) - F(x_0)| */
    double final_abs_err;  /* |F(x_last) - F(x_0)| */
    double max_rel_err;    /* max_abs_err / |F(x_0)| (NaN if F(x_0) is 0) */
    double final_rel_err;  /* final_abs_err / |F(x_0)| (NaN if F(x_0) is 0) */
} hnn_drift;

/* Drift of F (the true energy, the net's own H, a momentum...) along `count` states of a
 * trajectory (count x dim, e.g. from hnn_integrator_rollout). */
HNN_API hnn_status hnn_diagnostics_drift(hnn_diagnostics *d, const hnn_quantity *F,
                                         const double *traj, size_t count, hnn_drift *out);

/* The Poisson bracket {F, G}(x) = grad F . J grad G = sum_i dF/dq_i dG/dp_i - dF/dp_i dG/dq_i
 * at each of `count` states into out[0..count-1]. {F, H} is the rate of change of F along
 * H's flow: zero exactly when F is conserved (Noether). */
HNN_API hnn_status hnn_diagnostics_poisson_bracket(hnn_diagnostics *d, const hnn_quantity *F,
                                                   const hnn_quantity *G, const double *x,
                                                   size_t count, double *out);

/* The divergence of the field (trace of its Jacobian) at each state into out. Exact to
 * rounding for sources made by hnn_field_source_net (dual numbers); central differences with
 * relative step 1e-5 for any other source (error about 1e-10 times the field's third
 * derivatives). */
HNN_API hnn_status hnn_diagnostics_divergence(hnn_diagnostics *d, const hnn_field_source *src,
                                              const double *x, size_t count, double *out);

/* The loop gap. Walks once around the circle of `radius` about `center` in the plane of
 * (q_i, p_i), i = plane (0-based, < n), integrating the field's 1-form
 * f_q dp - f_p dq (the interior product of the field with the symplectic form) with the
 * trapezoid rule on `points` (>= 8) equally spaced points, which converges spectrally for
 * smooth fields. For a Hamiltonian field the 1-form is dH, so the recovered "energy" comes home
 * and the gap is 0; by Green's theorem the gap equals the divergence integrated over the
 * disc, so a field with divergence has no energy function at all. */
HNN_API hnn_status hnn_diagnostics_loop_gap(hnn_diagnostics *d, const hnn_field_source *src,
                                            const double *center, size_t plane, double radius,
                                            size_t points, double *gap);

/* The signed area (shoelace formula; positive counter-clockwise in the (q_i, p_i) plane) of
 * the closed polygon of `count` states (count x dim) projected on plane i. */
HNN_API hnn_status hnn_diagnostics_polygon_area(hnn_diagnostics *d, const double *polygon,
                                                size_t count, size_t plane, double *area);

/* Liouville in practice: carries every vertex of a closed polygon of states (count <=
 * max_points) by `steps` steps of size h with `integ`, and returns the ratio of the final to
 * the initial enclosed area in plane i. final_polygon (may be NULL) receives the carried
 * vertices. The polygon should be sampled densely enough for its edges to stay short under
 * the flow. */
HNN_API hnn_status hnn_diagnostics_area_ratio(hnn_diagnostics *d, hnn_integrator *integ,
                                              const hnn_field_source *src,
                                              const double *polygon, size_t count,
                                              size_t plane, double h, size_t steps,
                                              double *ratio, double *final_polygon);

/* The determinant of the Jacobian of the flow map (steps steps of size h with integ) at x,
 * for any n, from Richardson-extrapolated central differences of whole rollouts: 1 for a
 * volume-preserving flow, exp(t * divergence) for a field of constant divergence. */
HNN_API hnn_status hnn_diagnostics_flow_jacobian_det(hnn_diagnostics *d, hnn_integrator *integ,
                                                     const hnn_field_source *src,
                                                     const double *x, double h, size_t steps,
                                                     double *det);

#ifdef __cplusplus
}
#endif

#endif /* HNN_DIAG_H */
