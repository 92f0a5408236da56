/* Private: the adjoint (reverse-mode) engine of a Hamiltonian net (DESIGN 2.2b).
 *
 * grad H by one backward sweep over the layers, and the training gradient by reverse over
 * that sweep, with blocks of one row per neuron and one column per state: no tangents, so
 * the cost and memory per state do not grow with the state's length 2n. With z_l = W_l a_(l-1)
 * + b_l, s_l = sigma'(z_l), c_l = sigma''(z_l) (tanh: 1 - a_l^2 and -2 a_l s_l) and the
 * hidden layers 0..K (K = depth - 1), W_0 reading layer 0's input x0 (the state, or its
 * features):
 *
 *   forward    a_l = sigma(z_l),  H = w . a_K + b_out
 *   backward   G_K = w * s_K;  M_(l-1) = W_l^T G_l;  G_(l-1) = M_(l-1) * s_(l-1);
 *              grad_x0 H = W_0^T G_0   (then J_phi^T of it for a feature map)
 *
 * and for a loss whose adjoint of grad_x0 H is u (J_phi u for a feature map):
 *
 *   up         Gbar_0 = W_0 u;  for l < K: Mbar_l = Gbar_l * s_l, Sbar_l = Gbar_l * M_l,
 *              Gbar_(l+1) = W_(l+1) Mbar_l;  wbar += sum_s Gbar_K * s_K, Sbar_K = Gbar_K * w
 *   down       abar = 0;  for l = K..0: Zbar_l = abar * s_l + c_l * Sbar_l (tanh:
 *              (abar - 2 a_l Sbar_l) * s_l),
 *              bbar_l += sum_s Zbar_l, abar = W_l^T Zbar_l
 *   weights    Wbar_l += [G_l | Zbar_l] [Mbar_(l-1) | a_(l-1)]^T   (one product of inner
 *              size 2 x states; Mbar_(-1) = u, a_(-1) = x0)
 *
 * Per hidden-to-hidden layer and state: 6 h^2 multiply-adds, against 3 (1 + 2n) h^2 for the
 * dual training gradient. H itself is in no loss (its adjoint is taken as 0), and b_out gets
 * no gradient: a constant in H is invisible to the field. */
#ifndef HNN_LIB_ADJOINT_H
#define HNN_LIB_ADJOINT_H

#include "net_impl.h"

/* The blocks of one chunk of up to `chunk` states. For training the paired blocks have rows
 * of 2 x bc (bc = the states of the current chunk): left half, right half; evaluation keeps
 * only x0, a_l, G_l and M_l (and s_l for activations other than tanh), in rows of bc. */
typedef struct hnni_adjoint {
    int training;              /* laid out for the training gradient, or evaluation only */
    double *in;                /* layer 0's inputs: [u | x0], in[0] rows (evaluation: x0) */
    double *P[HNN_MAX_HIDDEN]; /* [Mbar_l | a_l] */
    double *Q[HNN_MAX_HIDDEN]; /* [G_l | Zbar_l] */
    double *M[HNN_MAX_HIDDEN]; /* M_l, then Sbar_l (rows of bc) */
    double *S[HNN_MAX_HIDDEN]; /* s_l (rows of bc), for activations other than tanh (whose
                                  s_l comes from a_l); else NULL */
    double *C[HNN_MAX_HIDDEN]; /* c_l likewise, for training only */
    double *tmp;               /* max_rows x bc: grad_x0 H = W_0^T G_0, then Gbar and abar */
    double *scratch;           /* 2 bc x max_rows: the weight product's transposed operand */
    double *row;               /* H - b_out (row[s]), and for training dH/dx_t at
                                  row[(1 + t) bc + s]: (1 + 2n) x bc */
    double *rowbar;            /* the adjoint of row (training) */
} hnni_adjoint;

/* The doubles the blocks need in two parts (they may live in two buffers): the forward state
 * (in, P) and the rest; without `training`, what only the training gradient uses (u, Mbar,
 * Zbar, C, scratch, rowbar, grad H's rows) is left out. 0 if a size overflows size_t. */
int hnni_adjoint_doubles(const hnn_net *net, size_t chunk, int training, size_t *part0,
                         size_t *part1);

/* Lays the blocks out for `net` and up to `chunk` states in part0 and part1 (scratch and
 * rowbar NULL without `training`). */
void hnni_adjoint_layout(const hnn_net *net, size_t chunk, int training, double *part0,
                         double *part1, hnni_adjoint *b);

/* Forward and backward sweeps of bc <= chunk states x: b->tmp receives the gradient with
 * respect to layer 0's inputs (in0 x bc: grad H itself for the identity map, before the
 * kinetic term), and with `energy` b->row[s] H without the output bias. Keeps what
 * hnni_adjoint_backward needs. */
void hnni_adjoint_forward(const hnn_net *net, const hnni_adjoint *b, const double *x, size_t bc,
                          int energy);

/* grad H of state s (2n numbers at grad, kinetic term included) from b->tmp: for evaluation. */
void hnni_adjoint_state_gradient(const hnn_net *net, const hnni_adjoint *b, const double *x,
                                 size_t bc, size_t s, double *grad);

/* grad H of every state into b->row's blocks 1 + t (kinetic term included): for training. */
void hnni_adjoint_gradient_rows(const hnn_net *net, const hnni_adjoint *b, const double *x,
                                size_t bc);

/* Adds to grad (param_count numbers) the gradient of a loss whose adjoint of dH/dx_t is
 * rowbar[(1 + t) bc + s], after hnni_adjoint_forward on the same states. */
void hnni_adjoint_backward(const hnn_net *net, const hnni_adjoint *b, const double *x, size_t bc,
                           double *grad);

#endif
