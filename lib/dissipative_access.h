/* Private: what the model files (dissipative_file.c, model_format.c) may do with a
 * dissipative model beyond its public API. Its layout and rules stay in dissipative.c. */
#ifndef HNN_LIB_DISSIPATIVE_ACCESS_H
#define HNN_LIB_DISSIPATIVE_ACCESS_H

#include "hnn/dissipative.h"

/* The model's own rule for its nets (full defs, as hnni_net_read_def gives them; each one
 * already accepted by hnni_net_def_check): H a Hamiltonian net; for Helmholtz, d a
 * Hamiltonian-kind net of H's n without a kinetic term; for port, d NULL. HNN_OK, or
 * HNN_ERR_INVALID_ARG with the message hnn_dissipative_create_with gives. */
hnn_status hnni_dissipative_check(hnn_dissipation kind, const hnn_net_def *h,
                                  const hnn_net_def *d, hnn_error *err);

/* The entries of L's lower triangle for H's n: 2n(2n + 1) / 2. */
size_t hnni_dissipative_l_count(size_t dof);

/* The bytes hnn_dissipative_create_with asks for: both nets (hnn_net_def_bytes: each with
 * its own workspace) and their loss workspaces, the flat parameters, R and the chunk
 * buffers. The defs as for hnni_dissipative_check. */
hnn_status hnni_dissipative_bytes(hnn_dissipation kind, const hnn_net_def *h,
                                  const hnn_net_def *d, size_t *bytes, size_t *workspace,
                                  hnn_error *err);

/* The flat parameters (hnn_dissipative_param_count values), read-only. */
const double *hnni_dissipative_params(const hnn_dissipative *m);

/* Sets flat parameter i to value(ctx, i) for every i, straight into place, then the nets and
 * R follow. HNN_ERR_NONFINITE for a NaN or infinite value, with its index in *bad; the
 * model is then partly set: destroy it. */
hnn_status hnni_dissipative_fill_params(hnn_dissipative *m,
                                        double (*value)(const void *ctx, size_t i),
                                        const void *ctx, size_t *bad);

/* For the rollout loss (rollout.c): the model's allocator, its message buffer
 * (hnn_dissipative_last_error), its flat parameters for a trainer that updates them in place
 * (call hnni_dissipative_params_changed after every change). */
const hnn_allocator *hnni_dissipative_allocator(const hnn_dissipative *m);
char *hnni_dissipative_message(hnn_dissipative *m);
double *hnni_dissipative_params_for_update(hnn_dissipative *m);
void hnni_dissipative_params_changed(hnn_dissipative *m);

/* out_s = J_f(x_s)^T v_s for count finite states x (count x 2n), v alike: the transposed field
 * Jacobian by the nets' Hessians; jac is count x 2n x 2n of scratch. A Hessian's failure is
 * returned, with the message set. */
hnn_status hnni_dissipative_field_t(hnn_dissipative *m, const double *x, const double *v,
                                    size_t count, double *jac, double *out);

/* Adds to grad (hnn_dissipative_param_count numbers) sum_s v_s . df(x_s)/dtheta at count
 * finite states x. */
void hnni_dissipative_field_vjp(hnn_dissipative *m, const double *x, const double *v,
                                size_t count, double *grad);

#endif
