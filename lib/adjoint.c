/* The adjoint engine: grad H by a backward sweep and the training gradient by reverse over
 * it (adjoint.h has the recipe). Every product is a kernel call over the chunk's states, so
 * a batch gives the bits of its states one by one, as on the dual path. */
#include "adjoint.h"

#include <string.h>

#include "activation.h"
#include "alloc.h"
#include "dual.h"
#include "features.h"
#include "kernels.h"

static int hidden_rows(const hnn_net *net, size_t *sum)
{
    size_t l;
    *sum = 0;
    for (l = 0; l + 1 < net->layers; l++)
        if (!hnni_add_size(*sum, net->out[l], sum))
            return 0;
    return 1;
}

int hnni_adjoint_doubles(const hnn_net *net, size_t chunk, int training, size_t *part0,
                         size_t *part1)
{
    /* per state: part0 = in0 (x0; training: and u) + sum h (P: a; training: and Mbar);
     * part1 = sum h (Q: G; training: and Zbar) + sum h (M) + max_rows (tmp) + 1 (row), and
     * for training 2 max_rows (scratch) + 2n (row) + 1 + 2n (rowbar); an activation other
     * than tanh adds sum h (S; training: and C) */
    const size_t pair = training ? 2 : 1;
    const size_t kept = net->def.activation == HNN_ACTIVATION_TANH ? 0 : pair;
    size_t h, a, b;
    if (!hidden_rows(net, &h) || !hnni_mul_size(h, pair, &a) ||
        !hnni_add_size(a, pair * net->in[0], &a) || !hnni_mul_size(a, chunk, part0))
        return 0;
    if (!hnni_mul_size(h, pair + 1 + kept, &b) || !hnni_mul_size(net->max_rows, training ? 3 : 1, &a) ||
        !hnni_add_size(a, b, &b) || !hnni_add_size(b, training ? 2 * (1 + net->dim) : 1, &b) ||
        !hnni_mul_size(b, chunk, part1))
        return 0;
    return 1;
}

/* Training pairs blocks in rows of 2 bc (left half, right half: adjoint.h); evaluation keeps
 * only what the sweeps need, the right halves of in and P and the left half of Q, in rows of
 * bc. These give a row's stride and where its right half starts. */
static size_t pair_ld(const hnni_adjoint *b, size_t bc)
{
    return b->training ? 2 * bc : bc;
}

static size_t right(const hnni_adjoint *b, size_t bc)
{
    return b->training ? bc : 0;
}

void hnni_adjoint_layout(const hnn_net *net, size_t chunk, int training, double *part0,
                         double *part1, hnni_adjoint *b)
{
    const size_t pair = training ? 2 : 1;
    const int other = net->def.activation != HNN_ACTIVATION_TANH;
    size_t l;
    b->training = training;
    b->in = part0;
    part0 += pair * net->in[0] * chunk;
    for (l = 0; l + 1 < net->layers; l++) {
        b->P[l] = part0;
        part0 += pair * net->out[l] * chunk;
        b->Q[l] = part1;
        part1 += pair * net->out[l] * chunk;
        b->M[l] = part1;
        part1 += net->out[l] * chunk;
        b->S[l] = b->C[l] = NULL;
        if (other) {
            b->S[l] = part1;
            part1 += net->out[l] * chunk;
        }
        if (other && training) {
            b->C[l] = part1;
            part1 += net->out[l] * chunk;
        }
    }
    b->tmp = part1;
    part1 += net->max_rows * chunk;
    b->row = part1;
    b->scratch = b->rowbar = NULL;
    if (!training) /* the buffer ends here: no pointer is formed past it */
        return;
    part1 += (1 + net->dim) * chunk;
    b->scratch = part1;
    part1 += 2 * net->max_rows * chunk;
    b->rowbar = part1;
}

/* ---- forward and backward sweeps ---------------------------------------------------------- */

/* Layer 0's inputs x0: the states transposed, or their features' values. */
static void load_inputs(const hnn_net *net, const hnni_adjoint *b, const double *x, size_t bc)
{
    const size_t dim = net->dim, ld = pair_ld(b, bc);
    double *x0 = b->in + right(b, bc);
    size_t r, s;
    if (net->def.features != HNN_FEATURES_IDENTITY) {
        for (s = 0; s < bc; s++)
            hnni_features_eval(&net->def, x + s * dim, x0 + s, ld, 0, 0, 0);
        return;
    }
    for (r = 0; r < dim; r++)
        for (s = 0; s < bc; s++)
            x0[r * ld + s] = x[s * dim + r];
}

/* The activation of layer l from its pre-activations without bias (a's place in P): a in
 * place, and for activations other than tanh their s and c (training) into S and C. */
static void activate(const hnn_net *net, const hnni_adjoint *b, size_t l, double *a, size_t ld,
                     size_t bc)
{
    const double *bias = net->params + net->b_off[l];
    size_t r, s;
    if (b->S[l] == NULL) {
        hnni_dual_activation(HNN_ACTIVATION_TANH, net->out[l], bc, 0, bias, a, a, ld);
        return;
    }
    if (ld == bc) { /* the evaluation layout: one run of rows x bc values, one call */
        for (r = 0; r < net->out[l]; r++)
            for (s = 0; s < bc; s++)
                a[r * bc + s] += bias[r];
        hnni_activation_eval(net->def.activation, a, net->out[l] * bc, a, b->S[l], b->C[l]);
        return;
    }
    for (r = 0; r < net->out[l]; r++) {
        double *arow = a + r * ld;
        for (s = 0; s < bc; s++)
            arow[s] += bias[r];
        hnni_activation_eval(net->def.activation, arow, bc, arow, b->S[l] + r * bc,
                             b->C[l] != NULL ? b->C[l] + r * bc : NULL);
    }
}

/* s_l of row r's bc states: S's row, or for tanh 1 - a^2 from a (A's row) into tmp. */
static const double *slopes(const double *S, const double *arow, size_t r, size_t bc,
                            double *tmp)
{
    size_t s;
    if (S != NULL)
        return S + r * bc;
    for (s = 0; s < bc; s++)
        tmp[s] = 1.0 - arow[s] * arow[s];
    return tmp;
}

/* G[r * ld + s] = U[r * ldu + s * cs] s_l, s_l = 1 - a^2 for tanh (a = A[r * ld + s]) or
 * S[r * bc + s]: the adjoint through the activation, U the output weights (one per row:
 * ldu = 1, cs = 0) or a product's rows (ldu = bc, cs = 1). In the evaluation layout
 * (ld = bc) both are contiguous runs: one flat loop, which vectorises even for one state. */
static void times_slope(size_t rows, size_t bc, const double *U, size_t ldu, size_t cs,
                        const double *A, const double *S, size_t ld, double *G)
{
    size_t r, s;
    if (S != NULL) {
        for (r = 0; r < rows; r++)
            for (s = 0; s < bc; s++)
                G[r * ld + s] = U[r * ldu + s * cs] * S[r * bc + s];
        return;
    }
    if (ld == bc && (bc == 1 || (cs == 1 && ldu == bc))) {
        for (r = 0; r < rows * bc; r++)
            G[r] = U[r] * (1.0 - A[r] * A[r]);
        return;
    }
    for (r = 0; r < rows; r++)
        for (s = 0; s < bc; s++) {
            const double a = A[r * ld + s];
            G[r * ld + s] = U[r * ldu + s * cs] * (1.0 - a * a);
        }
}

void hnni_adjoint_forward(const hnn_net *net, const hnni_adjoint *b, const double *x, size_t bc,
                          int energy)
{
    const size_t K = net->layers - 2, ld = pair_ld(b, bc), ra = right(b, bc);
    const double *w = net->params + net->w_off[K + 1];
    size_t l;

    load_inputs(net, b, x, bc);
    for (l = 0; l <= K; l++) {
        double *a = b->P[l] + ra;
        hnni_layer_product(net, l, l == 0 ? b->in + ra : b->P[l - 1] + ra, ld, bc, a, ld);
        activate(net, b, l, a, ld, bc);
    }
    if (energy) /* a dot product of the width per state, latency-bound for one state */
        hnni_gemm(1, net->in[K + 1], bc, w, net->in[K + 1], b->P[K] + ra, ld, b->row, bc);

    /* the backward sweep, keeping G_l (Q's left half) and M_l for the training gradient */
    times_slope(net->out[K], bc, w, 1, 0, b->P[K] + ra, b->S[K], ld, b->Q[K]);
    for (l = K; l > 0; l--) {
        hnni_layer_product_t(net, l, b->Q[l], ld, bc, b->M[l - 1], bc);
        times_slope(net->out[l - 1], bc, b->M[l - 1], bc, 1, b->P[l - 1] + ra, b->S[l - 1], ld,
                    b->Q[l - 1]);
    }
    hnni_layer_product_t(net, 0, b->Q[0], ld, bc, b->tmp, bc);
}

void hnni_adjoint_state_gradient(const hnn_net *net, const hnni_adjoint *b, const double *x,
                                 size_t bc, size_t s, double *grad)
{
    const size_t dim = net->dim;
    size_t t;
    if (net->def.features == HNN_FEATURES_IDENTITY) {
        for (t = 0; t < dim; t++)
            grad[t] = b->tmp[t * bc + s];
    } else { /* through phi: J_phi^T times the gradient with respect to the features */
        for (t = 0; t < dim; t++)
            grad[t] = 0.0;
        hnni_features_vjp(&net->def, x + s * dim, b->tmp + s, bc, grad, 1);
    }
    if (net->def.kinetic_mass > 0.0) /* the known kinetic term: dH/dp += p / m */
        hnni_kinetic_add(net, x + s * dim, NULL, grad + net->def.dof);
}

void hnni_adjoint_gradient_rows(const hnn_net *net, const hnni_adjoint *b, const double *x,
                                size_t bc)
{
    const size_t dim = net->dim, n = net->def.dof;
    double *grad_rows = b->row + bc;
    size_t s, i;
    if (net->def.features == HNN_FEATURES_IDENTITY) {
        memcpy(grad_rows, b->tmp, dim * bc * sizeof *grad_rows);
    } else {
        memset(grad_rows, 0, dim * bc * sizeof *grad_rows);
        for (s = 0; s < bc; s++)
            hnni_features_vjp(&net->def, x + s * dim, b->tmp + s, bc, grad_rows + s, bc);
    }
    if (net->def.kinetic_mass > 0.0)
        for (i = 0; i < n; i++)
            for (s = 0; s < bc; s++)
                grad_rows[(n + i) * bc + s] += x[s * dim + n + i] / net->def.kinetic_mass;
}

/* The up sweep: from u (the left half of b->in) to Mbar_l (P's left halves) and Sbar_l (in
 * M, in place); adds the output weights' gradient to gw. */
static void up_sweep(const hnn_net *net, const hnni_adjoint *b, size_t bc, double *gw)
{
    const size_t K = net->layers - 2, ld = 2 * bc;
    const double *w = net->params + net->w_off[K + 1];
    double *gbar = b->tmp, tmp[HNNI_TRAIN_CHUNK];
    size_t l, r, s;
    hnni_layer_product(net, 0, b->in, ld, bc, gbar, bc);
    for (l = 0; l < K; l++) {
        for (r = 0; r < net->out[l]; r++) {
            const double *sl = slopes(b->S[l], b->P[l] + r * ld + bc, r, bc, tmp);
            for (s = 0; s < bc; s++) {
                const double g = gbar[r * bc + s];
                b->P[l][r * ld + s] = g * sl[s];
                b->M[l][r * bc + s] *= g;
            }
        }
        hnni_layer_product(net, l + 1, b->P[l], ld, bc, gbar, bc);
    }
    for (r = 0; r < net->out[K]; r++) {
        const double *sl = slopes(b->S[K], b->P[K] + r * ld + bc, r, bc, tmp);
        double sum = 0.0;
        for (s = 0; s < bc; s++) {
            const double g = gbar[r * bc + s];
            sum += g * sl[s];
            b->M[K][r * bc + s] = g * w[r];
        }
        gw[r] += sum;
    }
}

/* Zbar_l of row r (Q's right half) from abar and Sbar_l (M): abar s + c Sbar, for tanh
 * (abar - 2 a Sbar) s. Returns the row's sum over the states, its bias gradient. */
static double down_rule(const hnni_adjoint *b, size_t l, size_t r, size_t bc,
                        const double *abar)
{
    const size_t ld = 2 * bc;
    const double *sbar = b->M[l] + r * bc, *arow = b->P[l] + r * ld + bc;
    double *zbar = b->Q[l] + r * ld + bc, sum = 0.0;
    size_t s;
    if (b->S[l] != NULL) {
        const double *sl = b->S[l] + r * bc, *cl = b->C[l] + r * bc;
        for (s = 0; s < bc; s++) {
            zbar[s] = abar[s] * sl[s] + cl[s] * sbar[s];
            sum += zbar[s];
        }
        return sum;
    }
    for (s = 0; s < bc; s++) {
        const double a = arow[s];
        zbar[s] = (abar[s] - 2.0 * a * sbar[s]) * (1.0 - a * a);
        sum += zbar[s];
    }
    return sum;
}

void hnni_adjoint_backward(const hnn_net *net, const hnni_adjoint *b, const double *x, size_t bc,
                           double *grad)
{
    const size_t K = net->layers - 2, ld = 2 * bc, dim = net->dim;
    const double *u = b->rowbar + bc;
    double *abar = b->tmp;
    size_t l, r, s;

    /* u, the adjoint of grad_x0 H: the loss's adjoint of grad H, or J_phi times it */
    if (net->def.features == HNN_FEATURES_IDENTITY) {
        for (r = 0; r < dim; r++)
            for (s = 0; s < bc; s++)
                b->in[r * ld + s] = u[r * bc + s];
    } else {
        for (s = 0; s < bc; s++)
            hnni_features_jvp(&net->def, x + s * dim, u + s, bc, b->in + s, ld);
    }
    up_sweep(net, b, bc, grad + net->w_off[K + 1]);

    memset(abar, 0, net->out[K] * bc * sizeof *abar);
    for (l = K + 1; l-- > 0;) {
        double *gb = grad + net->b_off[l];
        for (r = 0; r < net->out[l]; r++)
            gb[r] += down_rule(b, l, r, bc, abar + r * bc);
        hnni_gemm_nt_acc(net->out[l], ld, net->in[l], b->Q[l], ld, l == 0 ? b->in : b->P[l - 1],
                         ld, grad + net->w_off[l], net->in[l], b->scratch); /* in = [u | x0] */
        if (l > 0)
            hnni_layer_product_t(net, l, b->Q[l] + bc, ld, bc, abar, bc);
    }
}
