/* Losses: the field-matching MSE and its exact parameter gradient.
 *
 * For a Hamiltonian net the loss depends on the parameters only through grad H, which the
 * dual pass computes; so the gradient is the dual pass run in reverse (reverse-over-forward):
 * every layer's values, tangents and pre-activation tangents are kept, the adjoint of the
 * field is sent back through the output layer into the tangents, through the activation's
 * rule (hnni_dual_activation_adjoint) and through each linear layer with two matrix products
 * (weights: adjoint times activations^T; inputs: W^T times adjoint) over all columns at once.
 * A direct-field net is the same walk with no tangent columns: plain backpropagation. */
#include "hnn/loss.h"

#include <math.h>
#include <string.h>

#include "adjoint.h"
#include "alloc.h"
#include "core.h"
#include "dual.h"
#include "kernels.h"
#include "loss_impl.h"
#include "net_impl.h"

struct hnn_loss_workspace {
    hnn_allocator alloc;
    size_t dim, depth, widths[HNN_MAX_HIDDEN]; /* the shape it was made for, */
    size_t inputs, input_doubles;              /* layer 0's inputs and its input block */
    hnn_gradient_path path;                    /* and the net's training path */
    int keeps_slopes;                          /* adjoint layout with S and C blocks (an
                                                  activation other than tanh: adjoint.h) */
    size_t ntan;                               /* tangent columns of the dual layout */
    size_t doubles;                            /* size of the one block below */
    size_t chunk;                              /* states per chunk */
    double *block;
    /* the dual layout (and plain backpropagation for direct-field nets, ntan = 0) */
    double *xT;                                /* layer 0's input block (net_impl.h) */
    double *Z[HNN_MAX_HIDDEN], *A[HNN_MAX_HIDDEN]; /* per hidden layer, width x chunk(1+ntan) */
    double *bar[2];                            /* adjoints, ping-pong, max_rows x chunk(1+ntan) */
    double *head[2];                           /* output rows and their adjoints, 2n x chunk(1+ntan) */
    /* the adjoint layout (adjoint.h) */
    hnni_adjoint adj;
    char message[HNN_ERROR_MESSAGE_SIZE]; /* the last failure of a loss with it */
};

/* Tangent columns of the dual layout: 2n for a Hamiltonian net on the dual path, none for a
 * direct-field net (plain backpropagation) or the adjoint path (its own layout). */
static size_t dual_tangents(const hnn_net *net)
{
    return net->def.kind == HNN_NET_HAMILTONIAN && net->train_path == HNN_PATH_DUAL ? net->dim : 0;
}

/* Whether the layout holds the adjoint path's blocks of sigma' and sigma''. */
static int keeps_slopes(const hnn_net *net)
{
    return net->train_path == HNN_PATH_ADJOINT && net->def.activation != HNN_ACTIVATION_TANH;
}

/* Doubles per state of the dual layout with ntan tangents: xT, two blocks per hidden layer,
 * two adjoint blocks, two head blocks, each a row per neuron of 1 + ntan columns. */
static int dual_doubles(const hnn_net *net, size_t ntan, size_t *per_state)
{
    size_t rows = 2 * net->max_rows + 2 * net->dim, l; /* dim <= 8192, widths <= 2^20: no overflow */
    for (l = 0; l + 1 < net->layers; l++)
        rows += 2 * net->out[l];
    return hnni_mul_size(rows, 1 + ntan, per_state) &&
           hnni_add_size(*per_state, hnni_input_doubles(net, ntan), per_state);
}

static void dual_layout(const hnn_net *net, hnn_loss_workspace *lw)
{
    const size_t ld = lw->chunk * (1 + lw->ntan);
    double *p = lw->block;
    size_t l;
    lw->xT = p;
    p += hnni_input_doubles(net, lw->ntan) * lw->chunk;
    for (l = 0; l < lw->depth; l++) {
        lw->Z[l] = p;
        p += net->out[l] * ld;
        lw->A[l] = p;
        p += net->out[l] * ld;
    }
    lw->bar[0] = p;
    p += net->max_rows * ld;
    lw->bar[1] = p;
    p += net->max_rows * ld;
    lw->head[0] = p;
    p += net->dim * ld;
    lw->head[1] = p;
}

/* The doubles of the whole block for `chunk` states on lw's path. */
static int layout_doubles(const hnn_net *net, const hnn_loss_workspace *lw, size_t chunk,
                          size_t *total)
{
    size_t part0, part1;
    if (lw->path == HNN_PATH_ADJOINT)
        return hnni_adjoint_doubles(net, chunk, 1, &part0, &part1) &&
               hnni_add_size(part0, part1, total);
    return dual_doubles(net, lw->ntan, &part0) && hnni_mul_size(part0, chunk, total);
}

/* The loss workspace's settings for `net` in *shape (path, chunk), its doubles and the bytes
 * of its block. 0 if a size overflows size_t. */
static int size_for(const hnn_net *net, hnn_loss_workspace *shape, size_t *total,
                    size_t *bytes)
{
    size_t per_state;
    memset(shape, 0, sizeof *shape);
    shape->path = net->train_path;
    shape->keeps_slopes = keeps_slopes(net);
    shape->ntan = dual_tangents(net);
    if (!layout_doubles(net, shape, 1, &per_state))
        return 0;
    shape->chunk = shape->path == HNN_PATH_ADJOINT
                       ? hnni_chunk_for(per_state, HNNI_TRAIN_BUDGET + net->param_count,
                                        HNNI_TRAIN_CHUNK)
                       : hnni_chunk_for(per_state, HNNI_BUFFER_BUDGET * 4, HNNI_CHUNK);
    return layout_doubles(net, shape, shape->chunk, total) &&
           hnni_mul_size(*total, sizeof(double), bytes);
}

hnn_status hnn_loss_workspace_def_bytes(const hnn_net_def *def, size_t *bytes, hnn_error *err)
{
    hnn_net net; /* laid out, never allocated */
    hnn_loss_workspace shape;
    size_t total, block;
    hnn_status st;
    if (def == NULL || bytes == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_loss_workspace_def_bytes: def and bytes must "
                         "not be NULL");
    if ((st = hnni_net_shape(def, &net, err)) != HNN_OK)
        return st;
    if (!size_for(&net, &shape, &total, &block) ||
        !hnni_add_size(block, sizeof shape + HNNI_ALIGN_EXTRA, bytes))
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "loss workspace size overflows size_t");
    return hnni_ok(err);
}

hnn_status hnn_loss_workspace_create(const hnn_net *net, hnn_loss_workspace **out,
                                     hnn_error *err)
{
    hnn_loss_workspace shape, *lw;
    size_t total, l, bytes, part0, part1;
    if (out != NULL)
        *out = NULL;
    if (net == NULL || out == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_loss_workspace_create: net and out must not be NULL");
    if (!size_for(net, &shape, &total, &bytes))
        goto too_large;

    lw = (hnn_loss_workspace *)hnni_alloc(&net->alloc, sizeof *lw);
    if (lw == NULL)
        return hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate a loss workspace");
    *lw = shape;
    lw->block = (double *)hnni_alloc_aligned(&net->alloc, bytes);
    if (lw->block == NULL) {
        hnni_free(&net->alloc, lw, sizeof *lw);
        return hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate %zu bytes of loss workspace", bytes);
    }
    lw->alloc = net->alloc;
    lw->dim = net->dim;
    lw->depth = net->layers - 1;
    lw->inputs = net->in[0];
    lw->input_doubles = hnni_input_doubles(net, lw->ntan);
    lw->doubles = total;
    for (l = 0; l < lw->depth; l++)
        lw->widths[l] = net->out[l];
    if (lw->path == HNN_PATH_ADJOINT) {
        hnni_adjoint_doubles(net, lw->chunk, 1, &part0, &part1);
        hnni_adjoint_layout(net, lw->chunk, 1, lw->block, lw->block + part0, &lw->adj);
    } else {
        dual_layout(net, lw);
    }
    *out = lw;
    return hnni_ok(err);
too_large:
    return hnni_fail(err, HNN_ERR_TOO_LARGE, "loss workspace size overflows size_t");
}

const char *hnn_loss_workspace_last_error(const hnn_loss_workspace *lw)
{
    return lw == NULL ? "" : lw->message;
}

void hnn_loss_workspace_destroy(hnn_loss_workspace *lw)
{
    hnn_allocator alloc;
    if (lw == NULL)
        return;
    alloc = lw->alloc;
    hnni_free_aligned(&alloc, lw->block, lw->doubles * sizeof(double));
    hnni_free(&alloc, lw, sizeof *lw);
}

size_t hnni_loss_chunk(const hnn_loss_workspace *lw)
{
    return lw->chunk;
}

int hnni_loss_fits(const hnn_loss_workspace *lw, const hnn_net *net)
{
    size_t l;
    /* a feature map changes layer 0's inputs and the input block (and with them max_rows);
     * the two paths lay the block out differently */
    if (lw->dim != net->dim || lw->depth != net->layers - 1 || lw->inputs != net->in[0] ||
        lw->path != net->train_path || lw->keeps_slopes != keeps_slopes(net) ||
        lw->ntan != dual_tangents(net) ||
        lw->input_doubles != hnni_input_doubles(net, lw->ntan))
        return 0;
    for (l = 0; l < lw->depth; l++)
        if (lw->widths[l] != net->out[l])
            return 0;
    return 1;
}

/* ---- the dual pass of a Hamiltonian net, forward and back (loss_impl.h) ------------------- */

double *hnni_gradient_forward(const hnn_net *net, hnn_loss_workspace *lw, const double *x,
                              size_t bc)
{
    const size_t L = net->layers - 1, n = net->def.dof, dim = net->dim;
    const size_t ld = (1 + dim) * bc;
    double *row = lw->head[0];
    size_t s, i;
    if (lw->path == HNN_PATH_ADJOINT) {
        hnni_adjoint_forward(net, &lw->adj, x, bc, 1);
        hnni_adjoint_gradient_rows(net, &lw->adj, x, bc);
        for (s = 0; s < bc; s++)
            lw->adj.rowbar[s] = 0.0; /* H itself is in no loss */
        return lw->adj.row;
    }
    hnni_net_forward(net, x, bc, 0, dim, lw->xT, lw->Z, lw->A);
    hnni_gemm(1, net->in[L], ld, net->params + net->w_off[L], net->in[L], lw->A[L - 1], ld, row,
              ld);
    if (net->def.kinetic_mass > 0.0) /* the known kinetic term: dH/dp += p / m, no parameters */
        for (s = 0; s < bc; s++)
            for (i = 0; i < n; i++)
                row[(1 + n + i) * bc + s] += x[s * dim + n + i] / net->def.kinetic_mass;
    for (s = 0; s < bc; s++)
        lw->head[1][s] = 0.0; /* H itself is in no loss: its adjoint is 0 */
    return row;
}

double *hnni_gradient_adjoint(hnn_loss_workspace *lw)
{
    return lw->path == HNN_PATH_ADJOINT ? lw->adj.rowbar : lw->head[1];
}

static void backward_hidden(const hnn_net *net, hnn_loss_workspace *lw, double *bar,
                            size_t bc, size_t ntan, double *grad);

void hnni_gradient_backward(const hnn_net *net, hnn_loss_workspace *lw, const double *x,
                            size_t bc, double *grad)
{
    const size_t L = net->layers - 1, ld = (1 + net->dim) * bc;
    const double *w = net->params + net->w_off[L];
    if (lw->path == HNN_PATH_ADJOINT) {
        hnni_adjoint_backward(net, &lw->adj, x, bc, grad);
        return;
    }
    /* w_out_bar += gbar . da_L (the value columns of gbar are 0), then
     * da_L_bar = w_out (outer) gbar, then the hidden layers */
    hnni_gemm_nt_acc(1, ld, net->in[L], lw->head[1], ld, lw->A[L - 1], ld, grad + net->w_off[L],
                     net->in[L], lw->bar[1]);
    hnni_gemm_tn(net->in[L], 1, ld, w, net->in[L], lw->head[1], ld, lw->bar[0], ld);
    backward_hidden(net, lw, lw->bar[0], bc, net->dim, grad);
}

/* The Hamiltonian loss of one chunk: the residual of the field f = J grad H against y, and
 * the adjoint of grad H it sends back. Returns the chunk's sum of squares. */
static double hamiltonian_residual(const hnn_net *net, const double *row, double *gbar,
                                   const double *y, size_t bc, double scale)
{
    const size_t n = net->def.dof, dim = net->dim;
    double sum = 0.0;
    size_t s, i;
    for (s = 0; s < bc; s++) {
        for (i = 0; i < n; i++) {
            /* f_q = dH/dp and f_p = -dH/dq, so the residual's adjoint goes back rotated:
             * gbar_q = -fbar_p, gbar_p = fbar_q */
            const double rq = row[(1 + n + i) * bc + s] - y[s * dim + i];
            const double rp = -row[(1 + i) * bc + s] - y[s * dim + n + i];
            sum += rq * rq + rp * rp;
            gbar[(1 + i) * bc + s] = -scale * rp;
            gbar[(1 + n + i) * bc + s] = scale * rq;
        }
    }
    return sum;
}

/* Backprop through a direct-field net's output layer from its adjoint lw->head[1] (dim
 * rows of bc): accumulates the layer's weight and bias gradients and returns the adjoint of
 * the last hidden layer. */
static double *field_head_backward(const hnn_net *net, hnn_loss_workspace *lw, size_t bc,
                                   double *grad)
{
    const size_t L = net->layers - 1, dim = net->dim;
    const double *W = net->params + net->w_off[L];
    const double *fbar = lw->head[1];
    size_t s, i;
    hnni_gemm_nt_acc(dim, bc, net->in[L], fbar, bc, lw->A[L - 1], bc, grad + net->w_off[L],
                     net->in[L], lw->bar[1]);
    for (i = 0; i < dim; i++)
        for (s = 0; s < bc; s++)
            grad[net->b_off[L] + i] += fbar[i * bc + s];
    hnni_gemm_tn(net->in[L], dim, bc, W, net->in[L], fbar, bc, lw->bar[0], bc);
    return lw->bar[0];
}

/* The direct-field head of one chunk: f = W a + b, its residual, and plain backprop. */
static double field_head(const hnn_net *net, hnn_loss_workspace *lw, const double *y,
                         size_t bc, double scale, double *grad, double **bar_out)
{
    const size_t L = net->layers - 1, dim = net->dim;
    const double *W = net->params + net->w_off[L], *b = net->params + net->b_off[L];
    double *out = lw->head[0], *fbar = lw->head[1];
    double sum = 0.0;
    size_t s, i;

    hnni_gemm(dim, net->in[L], bc, W, net->in[L], lw->A[L - 1], bc, out, bc);
    for (i = 0; i < dim; i++) {
        for (s = 0; s < bc; s++) {
            const double r = out[i * bc + s] + b[i] - y[s * dim + i];
            sum += r * r;
            fbar[i * bc + s] = scale * r;
        }
    }
    if (grad != NULL)
        *bar_out = field_head_backward(net, lw, bc, grad);
    return sum;
}

/* Sends the adjoint block of the last hidden layer back through every hidden layer,
 * accumulating weight and bias gradients. */
static void backward_hidden(const hnn_net *net, hnn_loss_workspace *lw, double *bar,
                            size_t bc, size_t ntan, double *grad)
{
    const size_t ld = (1 + ntan) * bc;
    size_t l = net->layers - 1, r, s, t;
    while (l-- > 0) {
        double *gw = grad + net->w_off[l], *gb = grad + net->b_off[l];
        double *next = bar == lw->bar[0] ? lw->bar[1] : lw->bar[0]; /* free until written */
        hnni_dual_activation_adjoint(net->def.activation, net->out[l], bc, ntan,
                                     net->params + net->b_off[l], lw->A[l], lw->Z[l], bar, ld);
        for (r = 0; r < net->out[l]; r++)
            for (s = 0; s < bc; s++)
                gb[r] += bar[r * ld + s];
        if (l > 0) {
            hnni_gemm_nt_acc(net->out[l], ld, net->in[l], bar, ld, lw->A[l - 1], ld, gw,
                             net->in[l], next);
            hnni_gemm_tn(net->in[l], net->out[l], ld, net->params + net->w_off[l], net->in[l],
                         bar, ld, next, ld);
            bar = next;
        } else if (net->def.features != HNN_FEATURES_IDENTITY) {
            /* value and tangent columns met the features' dual block, kept in xT */
            hnni_gemm_nt_acc(net->out[0], ld, net->features, bar, ld, lw->xT, ld, gw,
                             net->features, next);
        } else {
            /* value columns met the states; tangent column t met the unit vector e_t */
            hnni_gemm_nt_acc(net->out[0], bc, net->dim, bar, ld, lw->xT, bc, gw, net->dim, next);
            for (r = 0; r < net->out[0]; r++)
                for (t = 0; t < ntan; t++)
                    for (s = 0; s < bc; s++)
                        gw[r * net->dim + t] += bar[r * ld + (1 + t) * bc + s];
        }
    }
}

hnn_status hnn_loss_mse(const hnn_net *net, hnn_loss_workspace *lw, const double *x,
                        const double *y, size_t count, double *loss, double *grad)
{
    size_t elems, done, bad;
    double sum = 0.0, scale;
    int hamiltonian;
    if (lw == NULL)
        return HNN_ERR_NULL;
    lw->message[0] = '\0';
    if (net == NULL || x == NULL || y == NULL)
        return hnni_refuse(lw->message, HNN_ERR_NULL, "the net, x and y must not be NULL");
    if (count == 0)
        return hnni_refuse(lw->message, HNN_ERR_INVALID_ARG, "count is 0: pass >= 1 pair");
    if (!hnni_loss_fits(lw, net))
        return hnni_refuse(lw->message, HNN_ERR_SIZE_MISMATCH, "the loss workspace was made "
                           "for another shape of net: hnn_loss_workspace_create(net)");
    if (!hnni_mul_size(count, net->dim, &elems) || !hnni_mul_size(elems, sizeof(double), &done))
        return hnni_refuse(lw->message, HNN_ERR_TOO_LARGE, "count %zu: the arrays' sizes "
                           "overflow size_t", count);
    if ((bad = hnni_first_nonfinite(x, elems)) != elems ||
        (bad = elems + hnni_first_nonfinite(y, elems)) != 2 * elems)
        return hnni_refuse(lw->message, HNN_ERR_NONFINITE, "%s of state %zu holds NaN or "
                           "infinity (number %zu)", bad < elems ? "x" : "y",
                           bad % elems / net->dim, bad % elems % net->dim);

    hamiltonian = net->def.kind == HNN_NET_HAMILTONIAN;
    scale = 2.0 / (double)elems; /* d/df of the mean of squares */
    if (grad != NULL)
        memset(grad, 0, net->param_count * sizeof *grad);
    for (done = 0; done < count; done += lw->chunk) {
        const size_t bc = count - done < lw->chunk ? count - done : lw->chunk;
        const double *xc = x + done * net->dim, *yc = y + done * net->dim;
        double *bar = NULL;
        if (hamiltonian) {
            const double *row = hnni_gradient_forward(net, lw, xc, bc);
            sum += hamiltonian_residual(net, row, hnni_gradient_adjoint(lw), yc, bc, scale);
            if (grad != NULL)
                hnni_gradient_backward(net, lw, xc, bc, grad);
            continue;
        }
        hnni_net_forward(net, xc, bc, 0, 0, lw->xT, lw->Z, lw->A);
        sum += field_head(net, lw, yc, bc, scale, grad, &bar);
        if (grad != NULL)
            backward_hidden(net, lw, bar, bc, 0, grad);
    }
    if (loss != NULL)
        *loss = sum / (double)elems;
    return HNN_OK;
}

void hnni_field_vjp(const hnn_net *net, hnn_loss_workspace *lw, const double *x,
                    const double *v, size_t count, double *grad)
{
    const size_t n = net->def.dof, dim = net->dim;
    size_t done, s, i;
    for (done = 0; done < count; done += lw->chunk) {
        const size_t bc = count - done < lw->chunk ? count - done : lw->chunk;
        const double *xc = x + done * dim, *vc = v + done * dim;
        if (net->def.kind == HNN_NET_HAMILTONIAN) {
            double *gbar;
            hnni_gradient_forward(net, lw, xc, bc);
            gbar = hnni_gradient_adjoint(lw);
            for (s = 0; s < bc; s++)
                for (i = 0; i < n; i++) { /* f = (dH/dp, -dH/dq): v goes back rotated */
                    gbar[(1 + i) * bc + s] = -vc[s * dim + n + i];
                    gbar[(1 + n + i) * bc + s] = vc[s * dim + i];
                }
            hnni_gradient_backward(net, lw, xc, bc, grad);
            continue;
        }
        hnni_net_forward(net, xc, bc, 0, 0, lw->xT, lw->Z, lw->A);
        for (i = 0; i < dim; i++)
            for (s = 0; s < bc; s++)
                lw->head[1][i * bc + s] = vc[s * dim + i];
        backward_hidden(net, lw, field_head_backward(net, lw, bc, grad), bc, 0, grad);
    }
}

char *hnni_loss_message(hnn_loss_workspace *lw)
{
    return lw->message;
}
