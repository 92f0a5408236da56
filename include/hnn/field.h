/* libhnn field sources: the one way to hand a vector field to an integrator or to the
 * diagnostics, whether it comes from a learned net, an analytic system or the caller. */
#ifndef HNN_FIELD_H
#define HNN_FIELD_H

#include "hnn/net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes the field f = dx/dt at one state x (both dim doubles: dim is the length of the
 * caller's arrays; a function made for another returns HNN_ERR_SIZE_MISMATCH and writes
 * nothing). Returns HNN_OK or a status that the caller (an integrator step, say) passes on,
 * leaving its own state unchanged. */
typedef hnn_status (*hnn_field_fn)(void *ctx, size_t dim, const double *x, double *f);

/* Writes the energy H(x) at one state of dim numbers (optional: for your own diagnostics). */
typedef hnn_status (*hnn_energy_fn)(void *ctx, size_t dim, const double *x, double *energy);

/* Writes the field's Jacobian at one state: jac[i * dim + j] = df_i / dx_j (dim x dim,
 * row-major). `dim` is the length of the caller's state (its arrays hold dim and dim * dim
 * numbers): a function made for another dim returns HNN_ERR_SIZE_MISMATCH and writes
 * nothing. Optional: the diagnostics use it, exact, where they would otherwise take central
 * differences of the field. */
typedef hnn_status (*hnn_jacobian_fn)(void *ctx, size_t dim, const double *x, double *jac);

/* A vector field on states x = [q_1..q_n, p_1..p_n] (dim = 2n), after GSL's
 * gsl_odeiv2_system: function pointers plus a context pointer the library never touches.
 * `separable` promises H = T(p) + V(q), i.e. dq/dt depends on p only and dp/dt on q only;
 * it lets leapfrog and symplectic Euler run explicitly. Leave it 0 when unsure: the methods
 * then solve their implicit stages, which is correct for any field.
 *
 * struct_size (a value struct that can grow, docs/api.md "Value structs"): set it to
 * sizeof(hnn_field_source) before a constructor fills the struct or you fill it yourself,
 * e.g. `hnn_field_source src = {sizeof src};`. A source with any other struct_size is refused
 * with HNN_ERR_INVALID_ARG by the constructors, integrators and diagnostics. */
typedef struct hnn_field_source {
    size_t struct_size;
    size_t dim;
    hnn_field_fn field;       /* required */
    hnn_energy_fn energy;     /* may be NULL */
    void *ctx;
    int separable;
    hnn_jacobian_fn jacobian; /* may be NULL */
} hnn_field_source;

/* A source that evaluates `net` (its field J grad H, or a direct-field net's outputs, and for
 * Hamiltonian nets its energy H) with workspace `ws` (not NULL: HNN_ERR_NULL), which must have
 * been made for `net`: hnn_net_workspace(net) for one thread, or for threads each its own
 * workspace (hnn_workspace_create) and its own source. The net and the
 * workspace must outlive the source. Separable only for a net that reads the positions only
 * and has a known kinetic term (HNN_FEATURES_POSITIONS, kinetic_mass > 0): H = T(p) + V(q).
 * Its jacobian is the net's exact one (hnn_net_field_jacobian). Its callbacks refuse a dim
 * other than the net's 2n with HNN_ERR_SIZE_MISMATCH. */
HNN_API hnn_status hnn_field_source_net(const hnn_net *net, hnn_workspace *ws,
                                        hnn_field_source *out);

/* Analytic systems with their exact energies. */
typedef enum hnn_system {
    HNN_SYSTEM_SPRING = 0,           /* the seed's unit spring: H = (q^2 + p^2) / 2, n = 1 */
    HNN_SYSTEM_GREYDANUS_SPRING = 1, /* H = q^2 + p^2, n = 1 (Greydanus et al. 2019) */
    HNN_SYSTEM_PENDULUM = 2,         /* H = 3 (1 - cos q) + p^2, n = 1 (Greydanus et al. 2019) */
    /* Two unit masses in the plane under gravity (G = 1; Greydanus et al. 2019), n = 4,
     * x = [x1 y1 x2 y2 px1 py1 px2 py2]: H = (|p1|^2 + |p2|^2) / 2 - 1 / |q1 - q2|. */
    HNN_SYSTEM_TWO_BODY = 3,
    /* Three unit masses in the plane under gravity (G = 1; Greydanus et al. 2019), n = 6,
     * x = [x1 y1 x2 y2 x3 y3, px1 .. py3]: H = sum |p_b|^2 / 2 - sum_(i<j) 1 / |q_i - q_j|. */
    HNN_SYSTEM_THREE_BODY = 4,
    /* Four unit masses on a line joined by three unit springs of rest length 0, no wall,
     * n = 4: H = sum p_i^2 / 2 + sum_i (q_(i+1) - q_i)^2 / 2. Translation-invariant. */
    HNN_SYSTEM_CHAIN = 5
} hnn_system;

/* A separable source for an analytic system (field and energy; no jacobian).
 * HNN_ERR_INVALID_ARG for an unknown system. */
HNN_API hnn_status hnn_field_source_system(hnn_system system, hnn_field_source *out);

/* A system's degrees of freedom n (0 for an unknown system). */
HNN_API size_t hnn_system_dof(hnn_system system);

/* A system's energy at x, or NaN for an unknown system or a NULL x. */
HNN_API double hnn_system_energy(hnn_system system, const double *x);

#ifdef __cplusplus
}
#endif

#endif /* HNN_FIELD_H */
