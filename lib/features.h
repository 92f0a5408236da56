/* Private: the fixed feature maps a net may read its state through (DESIGN 2.4).
 *
 * H(x) = MLP(phi(x)). phi is fixed (no parameters), so the first layer sees m = phi's length
 * inputs, and the dual pass carries phi's Jacobian: the tangent of layer 0 along input e_t is
 * W_0 (d phi / d x_t). States of many bodies are laid out body by body: with B bodies in d
 * dimensions (n = B d), q = [q_1 (d numbers), .., q_B], and p likewise. */
#ifndef HNN_LIB_FEATURES_H
#define HNN_LIB_FEATURES_H

#include "hnn/net.h"

/* m, the number of features, for a valid (map, dof, bodies); 0 if they do not fit together. */
size_t hnni_feature_count(hnn_feature_map map, size_t dof, size_t bodies);

/* Checks a def's map and bodies against its dof, with a message saying what is wrong. */
hnn_status hnni_features_check(const hnn_net_def *d, hnn_error *err);

/* phi(x) of one state, and ntan columns of its Jacobian, written into a dual block: feature
 * k's value at out[k * row] and its derivative along x_(t0 + t) at out[k * row + (1 + t) *
 * tan], for t < ntan (t0 + ntan <= 2n); every entry is written (zeros included). ntan = 0
 * writes the values only. */
void hnni_features_eval(const hnn_net_def *d, const double *x, double *out, size_t row,
                        size_t tan, size_t t0, size_t ntan);

/* out[r * ostride] += sum_k (d phi_k / dx_r) v[k * vstride] for r < 2n: the Jacobian,
 * transposed, times a vector over the features (grad H with respect to x from its gradient
 * with respect to phi). Sparse: a few operations per feature. */
void hnni_features_vjp(const hnn_net_def *d, const double *x, const double *v, size_t vstride,
                       double *out, size_t ostride);

/* out[k * ostride] = sum_r (d phi_k / dx_r) u[r * ustride] for every feature k: the
 * Jacobian times a vector over the state. */
void hnni_features_jvp(const hnn_net_def *d, const double *x, const double *u, size_t ustride,
                       double *out, size_t ostride);

/* hess (2n x 2n, row-major) += sum_k g[k * gstride] * (second derivative of phi_k at x):
 * the term the chain rule adds to a Hessian when phi is not linear. */
void hnni_features_curvature(const hnn_net_def *d, const double *x, const double *g,
                             size_t gstride, double *hess);

#endif
