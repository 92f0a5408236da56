/* Second-order derivatives of nets, for diagnostics: the Hessian of a Hamiltonian net's H
 * and the Jacobian of any net's field, exact to rounding, one state at a time.
 *
 * Hessian: forward mode over the reverse pass. The gradient of H runs backwards,
 *     g_L = w_out,  delta_l = s_l * g_l,  g_(l-1) = W_l^T delta_l   (s = sigma'(z)),
 * and grad H = g_0. Carrying, beside each g, its derivative along every input direction e_t
 * (the dual pass gives dz_l^(t), hence ds_l^(t) = sigma''(z_l) dz_l^(t); for tanh, from
 * da_l^(t) alone: -2 a_l da_l^(t)):
 *     dg_L = 0,  d delta_l = ds_l * g_l + s_l * dg_l,  dg_(l-1) = W_l^T d delta_l,
 * gives column t of the Hessian as dg_0^(t). Each layer is one product over 1 + K columns,
 * for groups of K directions at a time (workspace.c sizes the buffers for this layout:
 * hnni_hessian_doubles). Depends on the dual engine (forward.c) and the evaluation rule
 * (eval.c), never the other way. */
#include <string.h>

#include "activation.h"
#include "alloc.h"
#include "core.h"
#include "features.h"
#include "kernels.h"
#include "net_impl.h"

/* The kinetic term |p|^2 / (2 m), if any, adds I / m to the momenta's block. */
static void add_kinetic_curvature(const hnn_net *net, double *hess)
{
    const size_t n = net->def.dof, dim = net->dim;
    size_t i;
    if (net->def.kinetic_mass > 0.0)
        for (i = 0; i < n; i++)
            hess[(n + i) * dim + n + i] += 1.0 / net->def.kinetic_mass;
}

/* delta_l and its tangents in place on row g of layer l: for tanh from the dual row of A;
 * for the others from the pre-activations' row of Z (value without bias, tangents). */
static void tangent_rule(const hnn_net *net, size_t l, size_t r, const double *arow,
                         const double *zrow, size_t ld, double *grow)
{
    const double gv = grow[0];
    double s, c;
    size_t t;
    if (net->def.activation == HNN_ACTIVATION_TANH) {
        const double a = arow[0];
        s = 1.0 - a * a;
        for (t = 1; t < ld; t++)
            grow[t] = -2.0 * a * arow[t] * gv + s * grow[t];
        grow[0] = s * gv;
        return;
    }
    {
        const double z = zrow[0] + net->params[net->b_off[l] + r];
        hnni_activation_eval(net->def.activation, &z, 1, NULL, &s, &c);
    }
    for (t = 1; t < ld; t++)
        grow[t] = c * zrow[t] * gv + s * grow[t];
    grow[0] = s * gv;
}

/* The reverse sweep of grad H with nt tangents (ld = 1 + nt per row) over the dual blocks A
 * (and Z, kept per layer for activations other than tanh); returns the block of the gradient
 * with respect to layer 0's inputs, with its tangents. */
static double *reverse_with_tangents(const hnn_net *net, double *const *A, double *const *Z,
                                     size_t ld, double *g, double *next)
{
    const size_t L = net->layers - 1;
    const double *w = net->params + net->w_off[L];
    size_t l, r, t;
    for (r = 0; r < net->in[L]; r++) {
        g[r * ld] = w[r];
        for (t = 1; t < ld; t++)
            g[r * ld + t] = 0.0;
    }
    for (l = L; l-- > 0;) {
        double *swap;
        for (r = 0; r < net->out[l]; r++)
            tangent_rule(net, l, r, A[l] + r * ld, Z[l] + r * ld, ld, g + r * ld);
        hnni_gemm_tn(net->in[l], net->out[l], ld, net->params + net->w_off[l], net->in[l], g, ld,
                     next, ld);
        swap = g;
        g = next;
        next = swap;
    }
    return g;
}

/* One state: H's Hessian (dim x dim, row-major) into hess, columns t0 .. t0 + nt - 1 from
 * each group's pass. */
static void hessian_one(const hnn_net *net, hnn_workspace *ws, const double *x, double *hess)
{
    const size_t dim = net->dim, L = net->layers - 1, K = hnni_hessian_group(net);
    double *A[HNN_MAX_HIDDEN], *Z[HNN_MAX_HIDDEN];
    double *xT = ws->buf[0], *g = NULL;
    size_t l, r, t, t0, ld = 1, offset = hnni_input_doubles(net, K);

    /* buf[0]: the input block, then every hidden layer's dual block (values and K tangents)
     * and, for activations other than tanh, its pre-activation block; buf[1]: one shared
     * pre-activation block (tanh), then two blocks for the reverse sweep. The workspace sizes
     * its buffers for this (hnni_hessian_doubles). */
    for (l = 0; l < L; l++) {
        A[l] = ws->buf[0] + offset;
        Z[l] = ws->buf[1];
        offset += net->out[l] * (1 + K);
    }
    if (net->def.activation != HNN_ACTIVATION_TANH)
        for (l = 0; l < L; l++) {
            Z[l] = ws->buf[0] + offset;
            offset += net->out[l] * (1 + K);
        }
    for (t0 = 0; t0 < dim; t0 += K) {
        const size_t nt = dim - t0 < K ? dim - t0 : K;
        double *g0 = ws->buf[1] + net->max_rows * (1 + K);
        ld = 1 + nt;
        hnni_net_forward(net, x, 1, t0, nt, xT, Z, A);
        g = reverse_with_tangents(net, A, Z, ld, g0, g0 + net->max_rows * (1 + K));
        if (net->def.features == HNN_FEATURES_IDENTITY) {
            for (r = 0; r < dim; r++)
                for (t = 0; t < nt; t++)
                    hess[r * dim + t0 + t] = g[r * ld + 1 + t];
            continue;
        }
        /* g holds the gradient with respect to the features and its derivatives along
         * e_(t0 + t): chain them through phi, column by column (hess = J^T (d grad_phi H /
         * dx) + the curvature term below) */
        for (t = 0; t < nt; t++) {
            for (r = 0; r < dim; r++)
                hess[r * dim + t0 + t] = 0.0;
            hnni_features_vjp(&net->def, x, g + 1 + t, ld, hess + t0 + t, dim);
        }
    }
    if (net->def.features != HNN_FEATURES_IDENTITY) /* g's values: dH/dphi, the same each group */
        hnni_features_curvature(&net->def, x, g, ld, hess);
    add_kinetic_curvature(net, hess);
}

/* 1 if ws holds hessian_one's layout for this net: a workspace may serve a net of the same n
 * and no wider layers, but the Hessian also keeps one block per layer, so a deeper net than
 * the workspace was made for may not fit. */
static int hessian_fits(const hnn_net *net, const hnn_workspace *ws)
{
    size_t need[2];
    return hnni_hessian_doubles(net, need) && ws->block[0] >= need[0] && ws->block[1] >= need[1];
}

/* dim * dim, the doubles of one state's matrix (0 when the net is NULL or the product
 * overflows, which begin_eval refuses by its own size rule on the inputs first) */
static size_t matrix_doubles(const hnn_net *net)
{
    size_t m;
    return net != NULL && hnni_mul_size(net->dim, net->dim, &m) ? m : 0;
}

static hnn_status too_small_for_matrices(hnn_workspace *ws)
{
    return hnni_refuse(ws->message, HNN_ERR_SIZE_MISMATCH, "the workspace was made for a "
                       "smaller net and cannot hold this one's second derivatives: "
                       "hnn_workspace_create(net)");
}

hnn_status hnn_net_hessian(const hnn_net *net, hnn_workspace *ws, const double *x, size_t count,
                           double *hess)
{
    hnn_status st = hnni_begin_eval(net, &ws, x, count, hess, matrix_doubles(net));
    size_t s;
    if (st != HNN_OK)
        return st;
    if (net->def.kind != HNN_NET_HAMILTONIAN)
        return hnni_wrong_kind(ws, "Hessian of H (its Jacobian: hnn_net_field_jacobian)");
    if (!hessian_fits(net, ws))
        return too_small_for_matrices(ws);
    for (s = 0; s < count; s++)
        hessian_one(net, ws, x + s * net->dim, hess + s * net->dim * net->dim);
    return HNN_OK;
}

/* A direct-field net's Jacobian at one state: for each group of directions, the dual pass
 * through the hidden layers, then the output layer applied to the tangent columns. */
static void field_jacobian_one(const hnn_net *net, hnn_workspace *ws, const double *x, double *jac)
{
    const size_t dim = net->dim, L = net->layers - 1, K = hnni_hessian_group(net);
    double *Z[HNN_MAX_HIDDEN], *A[HNN_MAX_HIDDEN];
    size_t i, t, t0, l;
    for (l = 0; l < L; l++) {
        Z[l] = ws->buf[1];
        A[l] = ws->buf[0];
    }
    for (t0 = 0; t0 < dim; t0 += K) {
        const size_t nt = dim - t0 < K ? dim - t0 : K, ld = 1 + nt;
        double *out = ws->buf[1];
        hnni_net_forward(net, x, 1, t0, nt, ws->buf[0], Z, A);
        hnni_gemm(dim, net->in[L], ld, net->params + net->w_off[L], net->in[L], A[L - 1], ld,
                  out, ld);
        for (i = 0; i < dim; i++)
            for (t = 0; t < nt; t++)
                jac[i * dim + t0 + t] = out[i * ld + 1 + t];
    }
}

hnn_status hnn_net_field_jacobian(const hnn_net *net, hnn_workspace *ws, const double *x,
                                  size_t count, double *jac)
{
    hnn_status st = hnni_begin_eval(net, &ws, x, count, jac, matrix_doubles(net));
    const size_t n = net != NULL ? net->def.dof : 0, dim = 2 * n;
    size_t s, i, t;
    if (st != HNN_OK)
        return st;
    if (net->def.kind == HNN_NET_HAMILTONIAN && !hessian_fits(net, ws))
        return too_small_for_matrices(ws);
    for (s = 0; s < count; s++) {
        double *J = jac + s * dim * dim;
        if (net->def.kind == HNN_NET_FIELD) {
            field_jacobian_one(net, ws, x + s * dim, J);
            continue;
        }
        /* f = J grad H: rows of dq/dt are the Hessian's p rows, rows of dp/dt minus its q rows */
        hessian_one(net, ws, x + s * dim, J);
        for (i = 0; i < n; i++) {
            for (t = 0; t < dim; t++) {
                const double hq = J[i * dim + t];
                J[i * dim + t] = J[(n + i) * dim + t];
                J[(n + i) * dim + t] = -hq;
            }
        }
    }
    return HNN_OK;
}
