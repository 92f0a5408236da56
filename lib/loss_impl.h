/* Private: the pieces of the Hamiltonian loss gradient, for models built from several nets
 * (dissipative.c): the dual pass of one chunk forward, an adjoint on its grad H, and the way
 * back to the parameters. */
#ifndef HNN_LIB_LOSS_IMPL_H
#define HNN_LIB_LOSS_IMPL_H

#include "hnn/loss.h"

/* States per chunk of this loss workspace, and 1 if it was made for the net's shape. */
size_t hnni_loss_chunk(const hnn_loss_workspace *lw);
int hnni_loss_fits(const hnn_loss_workspace *lw, const hnn_net *net);

/* The dual pass of a Hamiltonian net on bc <= chunk states x: returns the row block of
 * 1 + 2n blocks of bc columns: H without the output bias (block 0) and dH/dx_t (block 1 + t),
 * kinetic term included. Zeroes the value block of the adjoint row (below). */
double *hnni_gradient_forward(const hnn_net *net, hnn_loss_workspace *lw, const double *x,
                              size_t bc);

/* The adjoint row of that block: the caller writes dL/d(dH/dx_t) into block 1 + t. */
double *hnni_gradient_adjoint(hnn_loss_workspace *lw);

/* Adds to grad (the net's param_count numbers) the gradient that adjoint sends back. Call
 * after hnni_gradient_forward on the same chunk (the same states x), before the next
 * forward. Either path (the net's training path) behind the same layout of rows. */
void hnni_gradient_backward(const hnn_net *net, hnn_loss_workspace *lw, const double *x,
                            size_t bc, double *grad);

/* Adds to grad the field's parameter vector-Jacobian product at `count` states x (count x 2n,
 * finite, checked by the caller): sum over s of v_s . df(x_s)/dtheta, for a Hamiltonian or
 * a direct-field net, chunk by chunk through the loss engine (the rollout loss, rollout.c). */
void hnni_field_vjp(const hnn_net *net, hnn_loss_workspace *lw, const double *x,
                    const double *v, size_t count, double *grad);

/* The workspace's message buffer (hnn_loss_workspace_last_error), for losses in other rooms
 * to refuse through (hnni_refuse). */
char *hnni_loss_message(hnn_loss_workspace *lw);

#endif
