/* The float evaluation path: H, grad H and the field of float states (hnn_net_*_f32) on the
 * float copy of the weights that hnni_net_sync keeps (params_f32, wt_f32), for programs whose
 * states are float (game engines) and want the wider vectors and half the bytes.
 *
 * Always the adjoint sweeps (adjoint.h's evaluation half: cost flat in n), every product a
 * float kernel with the double kernels' fixed summation order, tanh in float (vmath.c), so a
 * batch gives the bits of its states one by one on every CPU, as in double. What is cheap and
 * sensitive stays in double and is rounded once: a feature map and its transposed Jacobian
 * (per state), the known kinetic term, and activations other than tanh (evaluated in double
 * by activation.c, then rounded). A direct-field net is one forward pass. */
#include "net_impl.h"

#include <string.h>

#include "activation.h"
#include "alloc.h"
#include "dispatch.h"
#include "features.h"
#include "kernels.h"
#include "vmath.h"

enum { SPAN = 64 }; /* values per pass when an activation is evaluated in double */

/* The float blocks of one chunk (bc states, one column each) in the workspace's buffers:
 * buf[0] the inputs x0 and each layer's activations A_l (and s_l in S_l for activations other
 * than tanh); buf[1] two sweep blocks, the energy row, then one state in double for a
 * feature map (x, phi, dH/dphi, dH/dx). */
typedef struct f32_blocks {
    float *x0, *A[HNN_MAX_HIDDEN], *S[HNN_MAX_HIDDEN];
    float *g[2], *row;
    double *xd, *phi, *gphi, *gx;
} f32_blocks;

static int other_activation(const hnn_net *net)
{
    return net->def.activation != HNN_ACTIVATION_TANH;
}

int hnni_f32_doubles(const hnn_net *net, size_t chunk, size_t need[2])
{
    /* floats per state: in0 + sum h (A) [+ sum h (S)] in buf[0]; 2 max_rows + 1 in buf[1],
     * rounded up to whole doubles, then 2 (2n + m) doubles for the feature map's state */
    size_t h = 0, l, f0, f1;
    for (l = 0; l + 1 < net->layers; l++)
        h += net->out[l]; /* depth <= 16 widths <= 2^20: no overflow */
    f0 = net->in[0] + h * (other_activation(net) ? 2 : 1);
    f1 = 2 * net->max_rows + 1;
    if (!hnni_mul_size(f0, chunk, &f0) || !hnni_mul_size(f1, chunk, &f1))
        return 0;
    need[0] = f0 / 2 + 1;
    need[1] = f1 / 2 + 1 + 2 * (net->dim + net->features);
    return 1;
}

static void layout(const hnn_net *net, const hnn_workspace *ws, f32_blocks *b)
{
    const size_t chunk = ws->chunk;
    float *p = (float *)(void *)ws->buf[0];
    size_t l, f1;
    b->x0 = p;
    p += net->in[0] * chunk;
    for (l = 0; l + 1 < net->layers; l++) {
        b->A[l] = p;
        p += net->out[l] * chunk;
    }
    for (l = 0; l + 1 < net->layers; l++) {
        b->S[l] = NULL;
        if (other_activation(net)) {
            b->S[l] = p;
            p += net->out[l] * chunk;
        }
    }
    p = (float *)(void *)ws->buf[1];
    b->g[0] = p;
    b->g[1] = p + net->max_rows * chunk;
    b->row = p + 2 * net->max_rows * chunk;
    f1 = (2 * net->max_rows + 1) * chunk;
    b->xd = ws->buf[1] + f1 / 2 + 1; /* past the floats, on a double's boundary */
    b->phi = b->xd + net->dim;
    b->gphi = b->phi + net->features;
    b->gx = b->gphi + net->features;
}

/* ---- the forward sweep -------------------------------------------------------------------- */

/* Layer 0's inputs: the states (or their positions) transposed, or their features computed
 * in double. */
static void load_inputs(const hnn_net *net, const f32_blocks *b, const float *x, size_t bc)
{
    const size_t dim = net->dim;
    size_t r, s;
    if (net->def.features == HNN_FEATURES_IDENTITY ||
        net->def.features == HNN_FEATURES_POSITIONS) { /* x itself, or its first n numbers */
        for (r = 0; r < net->features; r++)
            for (s = 0; s < bc; s++)
                b->x0[r * bc + s] = x[s * dim + r];
        return;
    }
    for (s = 0; s < bc; s++) {
        for (r = 0; r < dim; r++)
            b->xd[r] = x[s * dim + r];
        hnni_features_eval(&net->def, b->xd, b->phi, 1, 0, 0, 0);
        for (r = 0; r < net->features; r++)
            b->x0[r * bc + s] = (float)b->phi[r];
    }
}

/* a[r * bc + s] += bias[r]; for one state a flat loop, which vectorises. */
HNNI_CLONES static void add_bias(float *a, const float *bias, size_t rows, size_t bc)
{
    size_t r, s;
    if (bc == 1) {
        for (r = 0; r < rows; r++)
            a[r] += bias[r];
        return;
    }
    for (r = 0; r < rows; r++)
        for (s = 0; s < bc; s++)
            a[r * bc + s] += bias[r];
}

/* a = sigma(z + bias) in place on layer l's block (rows x bc, contiguous), and for activations
 * other than tanh sigma' into S, both through double. */
static void activate(const hnn_net *net, const f32_blocks *b, size_t l, size_t bc)
{
    const size_t n = net->out[l] * bc;
    float *a = b->A[l];
    double zd[SPAN], sd[SPAN];
    size_t i0, i;
    add_bias(a, net->params_f32 + net->b_off[l], net->out[l], bc);
    if (b->S[l] == NULL) {
        hnni_tanhf_array(a, n);
        return;
    }
    for (i0 = 0; i0 < n; i0 += SPAN) {
        const size_t nb = n - i0 < SPAN ? n - i0 : SPAN;
        for (i = 0; i < nb; i++)
            zd[i] = a[i0 + i];
        hnni_activation_eval(net->def.activation, zd, nb, zd, sd, NULL);
        for (i = 0; i < nb; i++) {
            a[i0 + i] = (float)zd[i];
            b->S[l][i0 + i] = (float)sd[i];
        }
    }
}

static void forward(const hnn_net *net, const f32_blocks *b, const float *x, size_t bc)
{
    size_t l;
    load_inputs(net, b, x, bc);
    for (l = 0; l + 1 < net->layers; l++) {
        hnni_layer_product_f32(net, l, l == 0 ? b->x0 : b->A[l - 1], bc, bc, b->A[l], bc);
        activate(net, b, l, bc);
    }
}

/* ---- energy and gradient ------------------------------------------------------------------ */

/* |p|^2 / (2 m) of state s in double. */
static double kinetic(const hnn_net *net, const float *xs)
{
    const size_t n = net->def.dof;
    double sum = 0.0;
    size_t i;
    for (i = 0; i < n; i++)
        sum += (double)xs[n + i] * (double)xs[n + i];
    return sum / (2.0 * net->def.kinetic_mass);
}

static void energies(const hnn_net *net, const f32_blocks *b, const float *x, size_t bc,
                     float *energy)
{
    const size_t L = net->layers - 1;
    const float bias = net->params_f32[net->b_off[L]];
    size_t s;
    hnni_gemm_f32(1, net->in[L], bc, net->params_f32 + net->w_off[L], net->in[L], b->A[L - 1],
                  bc, b->row, bc);
    for (s = 0; s < bc; s++) {
        if (net->def.kinetic_mass > 0.0)
            energy[s] = (float)((double)(b->row[s] + bias) + kinetic(net, x + s * net->dim));
        else
            energy[s] = b->row[s] + bias;
    }
}

/* g[r * bc + s] *= s_l: the adjoint through layer l's activation (tanh: 1 - a^2 from A). */
HNNI_CLONES static void times_slope(const hnn_net *net, const f32_blocks *b, size_t l,
                                    size_t bc, float *g)
{
    const size_t n = net->out[l] * bc;
    size_t i;
    if (b->S[l] != NULL) {
        for (i = 0; i < n; i++)
            g[i] *= b->S[l][i];
        return;
    }
    for (i = 0; i < n; i++)
        g[i] *= 1.0f - b->A[l][i] * b->A[l][i];
}

/* The backward sweep: returns the gradient with respect to layer 0's inputs (in0 x bc). */
static const float *backward(const hnn_net *net, const f32_blocks *b, size_t bc)
{
    const size_t K = net->layers - 2;
    const float *w = net->params_f32 + net->w_off[K + 1];
    float *g = b->g[0], *next = b->g[1], *swap;
    size_t r, s, l;
    if (bc == 1) /* one state: a plain copy (the loop below kept its per-row overhead) */
        memcpy(g, w, net->out[K] * sizeof *g);
    else
        for (r = 0; r < net->out[K]; r++)
            for (s = 0; s < bc; s++)
                g[r * bc + s] = w[r];
    times_slope(net, b, K, bc, g);
    for (l = K; l > 0; l--) {
        hnni_layer_product_t_f32(net, l, g, bc, bc, next, bc);
        times_slope(net, b, l - 1, bc, next);
        swap = g, g = next, next = swap;
    }
    hnni_layer_product_t_f32(net, 0, g, bc, bc, next, bc);
    return next;
}

/* State s's gradient (2n floats) from the sweep's g0: through a feature map's transposed
 * Jacobian in double, plus the kinetic term p / m, each rounded once. */
static void state_gradient(const hnn_net *net, const f32_blocks *b, const float *g0,
                           const float *xs, size_t bc, size_t s, float *grad)
{
    const size_t n = net->def.dof, dim = net->dim;
    const double m = net->def.kinetic_mass;
    size_t t;
    if (net->def.features == HNN_FEATURES_IDENTITY ||
        net->def.features == HNN_FEATURES_POSITIONS) { /* the positions map: dH/dp is T's only */
        for (t = 0; t < dim; t++)
            grad[t] = t < net->features ? g0[t * bc + s] : 0.0f;
        if (m > 0.0)
            for (t = 0; t < n; t++)
                grad[n + t] = (float)((double)grad[n + t] + (double)xs[n + t] / m);
        return;
    }
    for (t = 0; t < dim; t++) {
        b->xd[t] = xs[t];
        b->gx[t] = 0.0;
    }
    for (t = 0; t < net->features; t++)
        b->gphi[t] = g0[t * bc + s];
    hnni_features_vjp(&net->def, b->xd, b->gphi, 1, b->gx, 1);
    if (m > 0.0)
        for (t = 0; t < n; t++)
            b->gx[n + t] += b->xd[n + t] / m;
    for (t = 0; t < dim; t++)
        grad[t] = (float)b->gx[t];
}

hnn_status hnn_net_energy_f32(const hnn_net *net, hnn_workspace *ws, const float *x,
                              size_t count, float *energy)
{
    hnn_status st = hnni_begin_eval_f32(net, &ws, x, count, energy, 1);
    f32_blocks b;
    size_t done;
    if (st != HNN_OK)
        return st;
    if (net->def.kind != HNN_NET_HAMILTONIAN)
        return hnni_wrong_kind(ws, "energy H");
    layout(net, ws, &b);
    for (done = 0; done < count; done += ws->chunk) {
        const size_t bc = count - done < ws->chunk ? count - done : ws->chunk;
        forward(net, &b, x + done * net->dim, bc);
        energies(net, &b, x + done * net->dim, bc, energy + done);
    }
    return HNN_OK;
}

hnn_status hnn_net_gradient_f32(const hnn_net *net, hnn_workspace *ws, const float *x,
                                size_t count, float *energy, float *grad)
{
    hnn_status st = hnni_begin_eval_f32(net, &ws, x, count, grad, net != NULL ? net->dim : 0);
    f32_blocks b;
    size_t done, s;
    if (st != HNN_OK)
        return st;
    if (net->def.kind != HNN_NET_HAMILTONIAN)
        return hnni_wrong_kind(ws, "gradient of H");
    layout(net, ws, &b);
    for (done = 0; done < count; done += ws->chunk) {
        const size_t bc = count - done < ws->chunk ? count - done : ws->chunk;
        const float *xc = x + done * net->dim, *g0;
        forward(net, &b, xc, bc);
        if (energy != NULL)
            energies(net, &b, xc, bc, energy + done);
        g0 = backward(net, &b, bc);
        for (s = 0; s < bc; s++)
            state_gradient(net, &b, g0, xc + s * net->dim, bc, s, grad + (done + s) * net->dim);
    }
    return HNN_OK;
}

/* A direct-field net's outputs on a chunk: f = W a + b. */
static void field_outputs(const hnn_net *net, const f32_blocks *b, size_t bc, float *field)
{
    const size_t L = net->layers - 1, dim = net->dim;
    const float *bias = net->params_f32 + net->b_off[L];
    float *out = b->g[0];
    size_t r, s;
    hnni_gemm_f32(dim, net->in[L], bc, net->params_f32 + net->w_off[L], net->in[L],
                  b->A[L - 1], bc, out, bc);
    for (r = 0; r < dim; r++)
        for (s = 0; s < bc; s++)
            field[s * dim + r] = out[r * bc + s] + bias[r];
}

hnn_status hnn_net_field_f32(const hnn_net *net, hnn_workspace *ws, const float *x,
                             size_t count, float *field)
{
    hnn_status st;
    f32_blocks b;
    size_t done, s, i;
    if (net != NULL && net->def.kind == HNN_NET_HAMILTONIAN) {
        const size_t n = net->def.dof;
        if ((st = hnn_net_gradient_f32(net, ws, x, count, NULL, field)) != HNN_OK)
            return st;
        for (s = 0; s < count; s++) { /* [gq, gp] -> [gp, -gq] */
            float *q = field + s * 2 * n, *p = q + n;
            for (i = 0; i < n; i++) {
                const float gq = q[i];
                q[i] = p[i];
                p[i] = -gq;
            }
        }
        return HNN_OK;
    }
    if ((st = hnni_begin_eval_f32(net, &ws, x, count, field, net != NULL ? net->dim : 0)) !=
        HNN_OK)
        return st;
    layout(net, ws, &b);
    for (done = 0; done < count; done += ws->chunk) {
        const size_t bc = count - done < ws->chunk ? count - done : ws->chunk;
        forward(net, &b, x + done * net->dim, bc);
        field_outputs(net, &b, bc, field + done * net->dim);
    }
    return HNN_OK;
}
