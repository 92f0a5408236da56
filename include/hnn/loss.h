/* libhnn losses: field-matching mean squared error and its exact parameter gradient. */
#ifndef HNN_LOSS_H
#define HNN_LOSS_H

#include "hnn/net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Scratch memory for computing losses and their gradients for one net shape from one
 * thread. It keeps every layer's activations and tangents for the reverse pass, so it is
 * larger than an hnn_workspace; it is sized for chunks of states, never for the batch. */
typedef struct hnn_loss_workspace hnn_loss_workspace;

/* Creates a loss workspace for nets shaped like `net` (same n, depth, widths and feature
 * map inputs). */
HNN_API hnn_status hnn_loss_workspace_create(const hnn_net *net, hnn_loss_workspace **out,
                                             hnn_error *err);

/* The bytes hnn_loss_workspace_create asks the allocator for, for a net made from *def
 * (checked as hnn_net_create checks it), without creating anything. */
HNN_API hnn_status hnn_loss_workspace_def_bytes(const hnn_net_def *def, size_t *bytes,
                                                hnn_error *err);

/* Frees a loss workspace. NULL is harmless. */
HNN_API void hnn_loss_workspace_destroy(hnn_loss_workspace *lw);

/* Why the last hnn_loss_mse with this workspace failed, or "" (also for NULL). */
HNN_API const char *hnn_loss_workspace_last_error(const hnn_loss_workspace *lw);

/* The field-matching loss on a batch of `count` states x with observed time derivatives y
 * (both count x 2n, row-major):
 *     L = 1 / (2n count) * sum over states s and components i of (f_i(x_s) - y_si)^2,
 * where f is the net's field (J grad H for a Hamiltonian net, the outputs for a direct-field
 * net). loss may be NULL. If grad is not NULL it receives dL/dtheta for every parameter, in
 * the order of hnn_net_params_get (hnn_net_param_count doubles, overwritten), exact to
 * rounding: for a Hamiltonian net by running the dual pass in reverse, at about three times
 * the cost of the dual pass whatever the number of parameters; for a direct-field net by
 * ordinary backpropagation. Never allocates. Errors: HNN_ERR_NULL, HNN_ERR_INVALID_ARG
 * (count 0), HNN_ERR_TOO_LARGE, HNN_ERR_NONFINITE (x or y), HNN_ERR_SIZE_MISMATCH
 * (workspace made for another shape); nothing is written on error. */
HNN_API hnn_status hnn_loss_mse(const hnn_net *net, hnn_loss_workspace *lw, const double *x,
                                const double *y, size_t count, double *loss, double *grad);

#ifdef __cplusplus
}
#endif

#endif /* HNN_LOSS_H */
