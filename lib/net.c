/* Networks: definition checks, parameters, initialisation and the (dual) forward pass. */
#include "net_impl.h"

#include <math.h>
#include <string.h>

#include "adjoint.h"
#include "alloc.h"
#include "core.h"
#include "dual.h"
#include "features.h"
#include "kernels.h"
#include "parallel.h"
#include "rng.h"

/* ---- definitions ---------------------------------------------------------------------- */

void hnn_net_def_init(hnn_net_def *def, size_t struct_size)
{
    hnn_net_def d;
    size_t i;
    if (def == NULL)
        return;
    memset(&d, 0, sizeof d);
    d.kind = HNN_NET_HAMILTONIAN;
    d.dof = 1;
    d.depth = 2;
    for (i = 0; i < HNN_MAX_HIDDEN; i++)
        d.widths[i] = 128;
    d.seed = 0;
    d.allocator.fn = NULL;
    d.allocator.user = NULL;
    d.features = HNN_FEATURES_IDENTITY;
    d.bodies = 0;
    d.kinetic_mass = 0.0;
    d.path = HNN_PATH_AUTO;
    hnni_publish_def(def, &d, sizeof d, struct_size);
}

/* The sizes hnn_net_def had in released headers: 0.1 ended at the allocator, 0.2 at
 * kinetic_mass; 0.3 added path (this header's sizeof). */
static const size_t net_def_older[] = {offsetof(hnn_net_def, features),
                                       offsetof(hnn_net_def, path), 0};

/* Reads a caller's def into a full-size one: fields an older caller did not know keep
 * their defaults; a def from a newer header (larger) is refused, since it may hold
 * settings this library cannot honour. */
static hnn_status read_def(const hnn_net_def *def, hnn_net_def *full, hnn_error *err)
{
    hnn_net_def_init(full, sizeof *full);
    return hnni_read_def(def, full, sizeof *full, net_def_older, "hnn_net_def", err);
}

hnn_status hnni_net_read_def(const hnn_net_def *def, hnn_net_def *full, hnn_error *err)
{
    return read_def(def, full, err);
}

int hnni_kinetic_mass_ok(double m)
{
    /* 1e-100 keeps p / m and 1 / m finite for every finite state */
    return m == 0.0 || (m >= 1e-100 && m <= 1e100);
}

static hnn_status check_def(const hnn_net_def *d, hnn_error *err)
{
    size_t l;
    if (d->kind != HNN_NET_HAMILTONIAN && d->kind != HNN_NET_FIELD)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "unknown net kind %d", (int)d->kind);
    if (d->dof == 0)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "dof is 0: a state needs n >= 1");
    if (d->dof > HNN_MAX_DOF)
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "dof %zu is over the cap %u", d->dof,
                         HNN_MAX_DOF);
    if (d->depth == 0 || d->depth > HNN_MAX_HIDDEN)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "depth %zu: a net has 1 to %d hidden layers",
                         d->depth, HNN_MAX_HIDDEN);
    for (l = 0; l < d->depth; l++) {
        if (d->widths[l] == 0)
            return hnni_fail(err, HNN_ERR_INVALID_ARG, "hidden layer %zu has width 0", l);
        if (d->widths[l] > HNN_MAX_WIDTH)
            return hnni_fail(err, HNN_ERR_TOO_LARGE, "hidden layer %zu has width %zu, over the cap %u",
                             l, d->widths[l], HNN_MAX_WIDTH);
    }
    if (!hnni_kinetic_mass_ok(d->kinetic_mass))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "kinetic_mass must be 0 (none) or a mass in "
                         "[1e-100, 1e100]");
    if (d->path != HNN_PATH_AUTO && d->path != HNN_PATH_DUAL && d->path != HNN_PATH_ADJOINT)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "unknown gradient path %d (AUTO, DUAL or "
                         "ADJOINT)", (int)d->path);
    if (d->path == HNN_PATH_ADJOINT && d->kind != HNN_NET_HAMILTONIAN)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "a direct-field net has no grad H: its path "
                         "is AUTO or DUAL (plain passes)");
    if (d->kinetic_mass > 0.0 && d->kind != HNN_NET_HAMILTONIAN)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "a kinetic term needs a Hamiltonian net");
    return hnni_features_check(d, err);
}

/* Lays out the layers and parameter offsets; fails only if a count overflows size_t. */
static hnn_status lay_out(hnn_net *net, hnn_error *err)
{
    const hnn_net_def *d = &net->def;
    size_t l, total = 0;
    net->dim = 2 * d->dof;
    net->features = hnni_feature_count(d->features, d->dof, d->bodies);
    net->layers = d->depth + 1;
    net->max_rows = net->dim > net->features ? net->dim : net->features;
    for (l = 0; l < net->layers; l++) {
        size_t weights;
        net->in[l] = l == 0 ? net->features : d->widths[l - 1];
        net->out[l] = l < d->depth ? d->widths[l] : (d->kind == HNN_NET_HAMILTONIAN ? 1 : net->dim);
        if (net->out[l] > net->max_rows)
            net->max_rows = net->out[l];
        net->w_off[l] = total;
        if (!hnni_mul_size(net->in[l], net->out[l], &weights) ||
            !hnni_add_size(total, weights, &total))
            goto overflow;
        net->b_off[l] = total;
        if (!hnni_add_size(total, net->out[l], &total))
            goto overflow;
    }
    net->param_count = total;
    return HNN_OK;
overflow:
    return hnni_fail(err, HNN_ERR_TOO_LARGE, "the parameter count overflows size_t");
}

hnn_status hnni_net_def_check(const hnn_net_def *full, size_t *param_count, hnn_error *err)
{
    hnn_net shape; /* laid out, never allocated */
    hnn_status st;
    memset(&shape, 0, sizeof shape);
    shape.def = *full;
    if ((st = check_def(&shape.def, err)) != HNN_OK || (st = lay_out(&shape, err)) != HNN_OK)
        return st;
    *param_count = shape.param_count;
    return hnni_ok(err);
}

/* PyTorch's nn.Linear default: weights and biases uniform on [-1/sqrt(fan_in), 1/sqrt(fan_in)),
 * drawn layer by layer in storage order (weights row-major, then biases) from one stream. */
static void init_params(hnn_net *net)
{
    hnni_rng rng;
    size_t l, i;
    hnni_rng_seed(&rng, net->def.seed);
    for (l = 0; l < net->layers; l++) {
        const double bound = 1.0 / sqrt((double)net->in[l]);
        const size_t count = net->in[l] * net->out[l] + net->out[l];
        double *p = net->params + net->w_off[l];
        for (i = 0; i < count; i++)
            p[i] = hnni_rng_range(&rng, -bound, bound);
    }
}

/* ---- workspaces ----------------------------------------------------------------------- */

/* The doubles of each evaluation buffer for `chunk` states on this net's path: the dual
 * pass ping-pongs blocks of 1 + 2n columns per neuron (one for a direct-field net); the
 * adjoint one keeps a column per neuron and layer for the backward sweep (adjoint.h). */
static int eval_doubles(const hnn_net *net, size_t chunk, size_t need[2])
{
    if (net->eval_path == HNN_PATH_ADJOINT)
        return hnni_adjoint_doubles(net, chunk, 0, &need[0], &need[1]);
    if (!hnni_mul_size(net->max_rows, net->def.kind == HNN_NET_HAMILTONIAN ? 1 + net->dim : 1,
                       &need[0]) ||
        !hnni_mul_size(need[0], chunk, &need[0]))
        return 0;
    need[1] = need[0];
    return 1;
}

static int fits(const size_t need[2], const size_t have[2])
{
    return need[0] <= have[0] && need[1] <= have[1];
}

/* A workspace's chunk and the doubles of its two buffers: a chunk of evaluations, or what
 * the Hessian (jacobian.c) needs of each buffer for one state, whichever is more. */
static hnn_status workspace_size(const hnn_net *net, size_t *chunk, size_t block[2],
                                 hnn_error *err)
{
    size_t per_state[2], hessian[2], b;
    if (!eval_doubles(net, 1, per_state))
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "workspace size overflows size_t");
    *chunk = hnni_chunk_for(per_state[0] > per_state[1] ? per_state[0] : per_state[1],
                            HNNI_BUFFER_BUDGET, HNNI_CHUNK);
    if (!eval_doubles(net, *chunk, block) || !hnni_hessian_doubles(net, hessian))
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "workspace size overflows size_t");
    for (b = 0; b < 2; b++) {
        size_t bytes;
        if (hessian[b] > block[b])
            block[b] = hessian[b];
        if (!hnni_mul_size(block[b], sizeof(double), &bytes) ||
            !hnni_add_size(bytes, HNNI_ALIGN_EXTRA, &bytes))
            return hnni_fail(err, HNN_ERR_TOO_LARGE, "workspace size overflows size_t");
    }
    return HNN_OK;
}

static hnn_status workspace_new(const hnn_net *net, hnn_workspace **out, hnn_error *err)
{
    const hnn_allocator *alloc = &net->alloc;
    size_t chunk, block[2];
    hnn_workspace *ws;
    hnn_status st;
    if ((st = workspace_size(net, &chunk, block, err)) != HNN_OK)
        return st;
    ws = (hnn_workspace *)hnni_alloc(alloc, sizeof *ws);
    if (ws == NULL)
        return hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate a workspace");
    ws->alloc = *alloc;
    ws->message[0] = '\0';
    ws->net = net;
    ws->dim = net->dim;
    ws->max_rows = net->max_rows;
    ws->chunk = chunk;
    ws->block[0] = block[0];
    ws->block[1] = block[1];
    ws->buf[0] = (double *)hnni_alloc_aligned(alloc, block[0] * sizeof(double));
    ws->buf[1] = ws->buf[0] ? (double *)hnni_alloc_aligned(alloc, block[1] * sizeof(double)) : NULL;
    if (ws->buf[1] == NULL) {
        hnn_workspace_destroy(ws);
        return hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate %zu bytes of workspace",
                         (block[0] + block[1]) * sizeof(double));
    }
    *out = ws;
    return hnni_ok(err);
}

hnn_status hnn_workspace_create(const hnn_net *net, hnn_workspace **out, hnn_error *err)
{
    if (out != NULL)
        *out = NULL;
    if (net == NULL || out == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_workspace_create: net and out must not be NULL");
    return workspace_new(net, out, err);
}

void hnn_workspace_destroy(hnn_workspace *ws)
{
    if (ws == NULL)
        return;
    hnni_free_aligned(&ws->alloc, ws->buf[0], ws->block[0] * sizeof(double));
    hnni_free_aligned(&ws->alloc, ws->buf[1], ws->block[1] * sizeof(double));
    hnni_free(&ws->alloc, ws, sizeof *ws);
}

size_t hnni_input_doubles(const hnn_net *net, size_t ntan)
{
    return net->def.features == HNN_FEATURES_IDENTITY ? net->dim : net->features * (1 + ntan);
}

size_t hnni_chunk_for(size_t per_state, size_t budget, size_t most)
{
    size_t chunk = per_state == 0 ? most : budget / per_state;
    if (chunk > most)
        return most;
    return chunk >= 16 ? chunk - chunk % 16 : chunk < 1 ? 1 : chunk; /* whole kernel tiles */
}

void hnni_net_sync(hnn_net *net)
{
    size_t l;
    for (l = 0; l < net->layers; l++)
        hnni_transpose(net->out[l], net->in[l], net->params + net->w_off[l], net->in[l],
                       net->wt + net->w_off[l], net->out[l]);
}

/* Wide blocks use the tiled kernel on W (or W^T); narrow ones (a few states) the kernel
 * that runs down the other copy. Both sum every element in the same order, so they give the
 * same bits. */
void hnni_layer_product(const hnn_net *net, size_t l, const double *A, size_t lda, size_t n,
                        double *Z, size_t ldz)
{
    if (n < HNNI_NARROW)
        hnni_gemm_tn(net->out[l], net->in[l], n, net->wt + net->w_off[l], net->out[l], A, lda,
                     Z, ldz);
    else
        hnni_gemm(net->out[l], net->in[l], n, net->params + net->w_off[l], net->in[l], A, lda,
                  Z, ldz);
}

void hnni_layer_product_t(const hnn_net *net, size_t l, const double *G, size_t ldg, size_t n,
                          double *C, size_t ldc)
{
    if (n < HNNI_NARROW)
        hnni_gemm_tn(net->in[l], net->out[l], n, net->params + net->w_off[l], net->in[l], G, ldg,
                     C, ldc);
    else
        hnni_gemm(net->in[l], net->out[l], n, net->wt + net->w_off[l], net->out[l], G, ldg, C,
                  ldc);
}

/* ---- life cycle ----------------------------------------------------------------------- */

/* What the allocator hook is asked for: a workspace (its struct and two aligned buffers) and
 * a whole net (its struct, parameters and their transposed copy, its own workspace). */
static int workspace_bytes(const size_t block[2], size_t *bytes)
{
    size_t b0, b1;
    return hnni_mul_size(block[0], sizeof(double), &b0) &&
           hnni_mul_size(block[1], sizeof(double), &b1) && hnni_add_size(b0, b1, bytes) &&
           hnni_add_size(*bytes, 2 * HNNI_ALIGN_EXTRA + sizeof(hnn_workspace), bytes);
}

hnn_status hnn_net_def_bytes(const hnn_net_def *def, size_t *net_bytes, size_t *workspace,
                             hnn_error *err)
{
    hnn_net shape; /* laid out, never allocated */
    size_t chunk, block[2], ws, params;
    hnn_status st;
    if (def == NULL || net_bytes == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_net_def_bytes: def and net_bytes must not be NULL");
    memset(&shape, 0, sizeof shape);
    if ((st = read_def(def, &shape.def, err)) != HNN_OK || (st = check_def(&shape.def, err)) != HNN_OK ||
        (st = lay_out(&shape, err)) != HNN_OK)
        return st;
    shape.eval_path = hnni_path_choose(&shape, 0);
    shape.train_path = hnni_path_choose(&shape, 1);
    if ((st = workspace_size(&shape, &chunk, block, err)) != HNN_OK)
        return st;
    if (!workspace_bytes(block, &ws) || !hnni_mul_size(shape.param_count, sizeof(double), &params) ||
        !hnni_add_size(params, HNNI_ALIGN_EXTRA, &params) || !hnni_mul_size(params, 2, &params) ||
        !hnni_add_size(params, ws, net_bytes) || !hnni_add_size(*net_bytes, sizeof(hnn_net), net_bytes))
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "the net's size overflows size_t");
    if (workspace != NULL)
        *workspace = ws;
    return hnni_ok(err);
}

hnn_status hnn_net_create(const hnn_net_def *def, hnn_net **out, hnn_error *err)
{
    hnn_net_def full;
    hnn_allocator alloc;
    hnn_net *net;
    size_t bytes;
    hnn_status st;

    if (out != NULL)
        *out = NULL;
    if (def == NULL || out == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_net_create: def and out must not be NULL");
    if ((st = read_def(def, &full, err)) != HNN_OK || (st = check_def(&full, err)) != HNN_OK)
        return st;

    alloc = hnni_allocator_resolve(full.allocator);
    net = (hnn_net *)hnni_alloc(&alloc, sizeof *net);
    if (net == NULL)
        return hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate a net");
    net->def = full;
    net->def.kinetic_mass += 0.0; /* -0.0 becomes +0.0: one "none" */
    net->alloc = alloc;
    net->message[0] = '\0';
    if ((st = lay_out(net, err)) != HNN_OK)
        goto fail;
    net->eval_path = hnni_path_choose(net, 0);
    net->train_path = hnni_path_choose(net, 1);
    if (!hnni_mul_size(net->param_count, sizeof(double), &bytes)) {
        st = hnni_fail(err, HNN_ERR_TOO_LARGE, "the parameter array overflows size_t");
        goto fail;
    }
    /* 64-byte aligned: the single-state product streams wt, and a vector load split across
     * cache lines made it 25 % slower (examples/bench latency, 5.0 against 3.9 us) */
    net->params = (double *)hnni_alloc_aligned(&alloc, bytes);
    net->wt = net->params != NULL ? (double *)hnni_alloc_aligned(&alloc, bytes) : NULL;
    if (net->wt == NULL) {
        st = hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate %zu parameters", net->param_count);
        goto fail;
    }
    if ((st = workspace_new(net, &net->own_ws, err)) != HNN_OK)
        goto fail;
    init_params(net);
    hnni_net_sync(net);
    *out = net;
    return hnni_ok(err);
fail:
    hnn_net_destroy(net);
    return st;
}

void hnn_net_destroy(hnn_net *net)
{
    hnn_allocator alloc;
    if (net == NULL)
        return;
    alloc = net->alloc;
    hnn_workspace_destroy(net->own_ws);
    hnni_free_aligned(&alloc, net->params, net->param_count * sizeof(double));
    hnni_free_aligned(&alloc, net->wt, net->param_count * sizeof(double));
    hnni_free(&alloc, net, sizeof *net);
}

hnn_workspace *hnn_net_workspace(hnn_net *net)
{
    return net == NULL ? NULL : net->own_ws;
}

hnn_status hnn_net_get_def(const hnn_net *net, hnn_net_def *def)
{
    if (net == NULL || def == NULL)
        return HNN_ERR_NULL;
    return hnni_copy_def_out(def, &net->def, sizeof *def, net_def_older);
}

hnn_gradient_path hnn_net_gradient_path(const hnn_net *net, int training)
{
    if (net == NULL)
        return HNN_PATH_AUTO;
    return training ? net->train_path : net->eval_path;
}

hnn_net_kind hnni_net_kind(const hnn_net *net)
{
    return net->def.kind;
}

const hnn_allocator *hnni_net_allocator(const hnn_net *net)
{
    return &net->alloc;
}

const double *hnni_net_params(const hnn_net *net)
{
    return net->params;
}

double *hnni_net_params_for_update(hnn_net *net)
{
    return net->params;
}

void hnni_net_params_changed(hnn_net *net)
{
    hnni_net_sync(net);
}

hnn_status hnni_net_fill_params(hnn_net *net, double (*value)(const void *ctx, size_t i),
                                const void *ctx, size_t *bad)
{
    size_t i;
    for (i = 0; i < net->param_count; i++) {
        const double v = value(ctx, i);
        if (!isfinite(v)) {
            *bad = i;
            return HNN_ERR_NONFINITE;
        }
        net->params[i] = v;
    }
    hnni_net_sync(net);
    return HNN_OK;
}

const hnn_net *hnni_workspace_net(const hnn_workspace *ws)
{
    return ws->net;
}

size_t hnn_net_dof(const hnn_net *net)
{
    return net == NULL ? 0 : net->def.dof;
}

size_t hnn_net_param_count(const hnn_net *net)
{
    return net == NULL ? 0 : net->param_count;
}

hnn_status hnn_net_params_get(const hnn_net *net, double *params, size_t count)
{
    if (net == NULL || params == NULL)
        return HNN_ERR_NULL;
    if (count != net->param_count)
        return HNN_ERR_SIZE_MISMATCH;
    memcpy(params, net->params, count * sizeof(double));
    return HNN_OK;
}

hnn_status hnn_net_params_set(hnn_net *net, const double *params, size_t count)
{
    size_t bad;
    if (net == NULL)
        return HNN_ERR_NULL;
    net->message[0] = '\0';
    if (params == NULL)
        return hnni_refuse(net->message, HNN_ERR_NULL, "params must not be NULL");
    if (count != net->param_count)
        return hnni_refuse(net->message, HNN_ERR_SIZE_MISMATCH, "count %zu: the net has %zu "
                           "parameters", count, net->param_count);
    if ((bad = hnni_first_nonfinite(params, count)) != count)
        return hnni_refuse(net->message, HNN_ERR_NONFINITE, "params[%zu] is NaN or infinite; "
                           "the net keeps its parameters", bad);
    memcpy(net->params, params, count * sizeof(double));
    hnni_net_sync(net);
    return HNN_OK;
}

/* ---- evaluation ----------------------------------------------------------------------- */

hnn_status hnni_begin_eval(const hnn_net *net, hnn_workspace **ws, const double *x,
                           size_t count, const void *result, size_t out_per_state)
{
    size_t elems, out_elems, need[2], bad;
    if (*ws == NULL) /* never the net's own: a const net is not written (hnn_net_workspace) */
        return HNN_ERR_NULL;
    (*ws)->message[0] = '\0';
    if (net == NULL || x == NULL || result == NULL)
        return hnni_refuse((*ws)->message, HNN_ERR_NULL,
                           "the net, the states and the output must not be NULL");
    if (count == 0)
        return hnni_refuse((*ws)->message, HNN_ERR_INVALID_ARG, "count is 0: pass >= 1 state");
    /* a workspace serves any net of the same n whose buffers it can hold */
    if ((*ws)->dim != net->dim || (*ws)->max_rows < net->max_rows ||
        !eval_doubles(net, (*ws)->chunk, need) || !fits(need, (*ws)->block))
        return hnni_refuse((*ws)->message, HNN_ERR_SIZE_MISMATCH,
                           "the workspace was made for states of %zu numbers and smaller "
                           "buffers; this net takes %zu: hnn_workspace_create(net)",
                           (*ws)->dim, net->dim);
    if (!hnni_mul_size(count, net->dim, &elems) || !hnni_mul_size(elems, sizeof(double), &elems) ||
        !hnni_mul_size(count, out_per_state, &out_elems) ||
        !hnni_mul_size(out_elems, sizeof(double), &out_elems))
        return hnni_refuse((*ws)->message, HNN_ERR_TOO_LARGE,
                           "count %zu: the arrays' sizes overflow size_t", count);
    if ((bad = hnni_first_nonfinite(x, count * net->dim)) != count * net->dim)
        return hnni_refuse((*ws)->message, HNN_ERR_NONFINITE,
                           "state %zu holds NaN or infinity (number %zu of it)", bad / net->dim,
                           bad % net->dim);
    return HNN_OK;
}

const char *hnn_workspace_last_error(const hnn_workspace *ws)
{
    return ws == NULL ? "" : ws->message;
}

const char *hnn_net_last_error(const hnn_net *net)
{
    return net == NULL ? "" : net->message;
}

/* The refusal of an evaluation for a net of the wrong kind. */
hnn_status hnni_wrong_kind(hnn_workspace *ws, const char *what)
{
    return hnni_refuse(ws->message, HNN_ERR_WRONG_KIND, "a direct-field net has no %s (it "
                       "outputs the field: hnn_net_field)", what);
}

void hnni_net_forward(const hnn_net *net, const double *x, size_t bc, size_t t0, size_t ntan,
                      double *xT, double *const *Z, double *const *A)
{
    const size_t dim = net->dim;
    const size_t ld = (1 + ntan) * bc;
    size_t l, r, s, t;

    if (net->def.features != HNN_FEATURES_IDENTITY) {
        /* Layer 0 from features: xT becomes the dual block of phi (values and, along e_t,
         * d phi / dx_t), and one product gives z and all its tangents. */
        for (s = 0; s < bc; s++)
            hnni_features_eval(&net->def, x + s * dim, xT + s, ld, bc, t0, ntan);
        hnni_layer_product(net, 0, xT, ld, ld, Z[0], ld);
    } else {
        /* Layer 0 from the states: z = W x on the value columns; its tangent along
         * e_(t0 + t) is column t0 + t of W, the same for every state. */
        for (r = 0; r < dim; r++)
            for (s = 0; s < bc; s++)
                xT[r * bc + s] = x[s * dim + r];
        hnni_layer_product(net, 0, xT, bc, bc, Z[0], ld);
        for (r = 0; r < net->out[0]; r++) {
            const double *wrow = net->params + net->w_off[0] + r * dim;
            for (t = 0; t < ntan; t++)
                for (s = 0; s < bc; s++)
                    Z[0][r * ld + (1 + t) * bc + s] = wrow[t0 + t];
        }
    }
    hnni_dual_tanh(net->out[0], bc, ntan, net->params + net->b_off[0], Z[0], A[0], ld);

    for (l = 1; l + 1 < net->layers; l++) {
        hnni_layer_product(net, l, A[l - 1], ld, ld, Z[l], ld);
        hnni_dual_tanh(net->out[l], bc, ntan, net->params + net->b_off[l], Z[l], A[l], ld);
    }
}

const double *hnni_hidden_pass(const hnn_net *net, hnn_workspace *ws, const double *x,
                               size_t bc, size_t ntan)
{
    double *Z[HNN_MAX_HIDDEN], *A[HNN_MAX_HIDDEN];
    size_t l;
    for (l = 0; l + 1 < net->layers; l++) {
        Z[l] = ws->buf[1];
        A[l] = ws->buf[0];
    }
    hnni_net_forward(net, x, bc, 0, ntan, ws->buf[0], Z, A);
    return ws->buf[0];
}

void hnni_kinetic_add(const hnn_net *net, const double *x, double *energy, double *grad_p)
{
    const size_t n = net->def.dof;
    const double m = net->def.kinetic_mass;
    double sum = 0.0;
    size_t i;
    for (i = 0; i < n; i++)
        sum += x[n + i] * x[n + i];
    if (energy != NULL)
        *energy += sum / (2.0 * m);
    if (grad_p != NULL)
        for (i = 0; i < n; i++)
            grad_p[i] += x[n + i] / m;
}

/* The output layer of a Hamiltonian net on a dual block: H = w . a + b and
 * dH/dx_t = w . da_t, one row-vector product over all columns; plus the kinetic term, if any,
 * of the states x. */
static void energy_head(const hnn_net *net, hnn_workspace *ws, const double *hidden,
                        const double *x, size_t bc, size_t ntan, double *energy, double *grad)
{
    const size_t L = net->layers - 1;
    const size_t ld = (1 + ntan) * bc;
    const double *w = net->params + net->w_off[L];
    const double bias = net->params[net->b_off[L]];
    double *row = hidden == ws->buf[0] ? ws->buf[1] : ws->buf[0];
    size_t s, t;
    hnni_gemm(1, net->in[L], ld, w, net->in[L], hidden, ld, row, ld);
    if (energy != NULL)
        for (s = 0; s < bc; s++)
            energy[s] = row[s] + bias;
    for (t = 0; t < ntan; t++)
        for (s = 0; s < bc; s++)
            grad[s * net->dim + t] = row[(1 + t) * bc + s];
    if (net->def.kinetic_mass > 0.0)
        for (s = 0; s < bc; s++)
            hnni_kinetic_add(net, x + s * net->dim, energy != NULL ? energy + s : NULL,
                             ntan > 0 ? grad + s * net->dim + net->def.dof : NULL);
}

hnn_status hnn_net_energy(const hnn_net *net, hnn_workspace *ws, const double *x, size_t count,
                          double *energy)
{
    hnn_status st = hnni_begin_eval(net, &ws, x, count, energy, 1);
    size_t done;
    if (st != HNN_OK)
        return st;
    if (net->def.kind != HNN_NET_HAMILTONIAN)
        return hnni_wrong_kind(ws, "energy H");
    for (done = 0; done < count; done += ws->chunk) {
        size_t bc = count - done < ws->chunk ? count - done : ws->chunk;
        const double *h = hnni_hidden_pass(net, ws, x + done * net->dim, bc, 0);
        energy_head(net, ws, h, x + done * net->dim, bc, 0, energy + done, NULL);
    }
    return HNN_OK;
}

/* One chunk of hnn_net_gradient on the adjoint path: the sweeps, then each state's gradient
 * straight into the caller's array. */
static void adjoint_gradient(const hnn_net *net, hnn_workspace *ws, const double *x, size_t bc,
                             double *energy, double *grad)
{
    const double bias = net->params[net->b_off[net->layers - 1]];
    hnni_adjoint b;
    size_t s;
    hnni_adjoint_layout(net, ws->chunk, 0, ws->buf[0], ws->buf[1], &b);
    hnni_adjoint_forward(net, &b, x, bc, energy != NULL);
    for (s = 0; s < bc; s++)
        hnni_adjoint_state_gradient(net, &b, x, bc, s, grad + s * net->dim);
    if (energy == NULL)
        return;
    for (s = 0; s < bc; s++) {
        energy[s] = b.row[s] + bias;
        if (net->def.kinetic_mass > 0.0)
            hnni_kinetic_add(net, x + s * net->dim, energy + s, NULL);
    }
}

hnn_status hnn_net_gradient(const hnn_net *net, hnn_workspace *ws, const double *x,
                            size_t count, double *energy, double *grad)
{
    hnn_status st = hnni_begin_eval(net, &ws, x, count, grad, net != NULL ? net->dim : 0);
    size_t done;
    if (st != HNN_OK)
        return st;
    if (net->def.kind != HNN_NET_HAMILTONIAN)
        return hnni_wrong_kind(ws, "gradient of H");
    for (done = 0; done < count; done += ws->chunk) {
        if (net->eval_path == HNN_PATH_ADJOINT) {
            size_t bc = count - done < ws->chunk ? count - done : ws->chunk;
            adjoint_gradient(net, ws, x + done * net->dim, bc, energy ? energy + done : NULL,
                             grad + done * net->dim);
            continue;
        }
        size_t bc = count - done < ws->chunk ? count - done : ws->chunk;
        const double *h = hnni_hidden_pass(net, ws, x + done * net->dim, bc, net->dim);
        energy_head(net, ws, h, x + done * net->dim, bc, net->dim, energy ? energy + done : NULL,
                    grad + done * net->dim);
    }
    return HNN_OK;
}

/* Rotates gradients into Hamiltonian fields in place: [gq, gp] -> [gp, -gq]. */
static void apply_symplectic_j(double *v, size_t count, size_t n)
{
    size_t s, i;
    for (s = 0; s < count; s++) {
        double *q = v + s * 2 * n, *p = q + n;
        for (i = 0; i < n; i++) {
            double gq = q[i];
            q[i] = p[i];
            p[i] = -gq;
        }
    }
}

/* The output layer of a direct-field net on plain values: f = W a + b. */
static void field_head(const hnn_net *net, hnn_workspace *ws, const double *hidden, size_t bc,
                       double *field)
{
    const size_t L = net->layers - 1;
    const double *bias = net->params + net->b_off[L];
    double *out = hidden == ws->buf[0] ? ws->buf[1] : ws->buf[0];
    size_t r, s;
    hnni_gemm(net->dim, net->in[L], bc, net->params + net->w_off[L], net->in[L], hidden, bc, out,
              bc);
    for (r = 0; r < net->dim; r++)
        for (s = 0; s < bc; s++)
            field[s * net->dim + r] = out[r * bc + s] + bias[r];
}

hnn_status hnn_net_field(const hnn_net *net, hnn_workspace *ws, const double *x, size_t count,
                         double *field)
{
    hnn_status st;
    size_t done;
    if (net != NULL && net->def.kind == HNN_NET_HAMILTONIAN) {
        st = hnn_net_gradient(net, ws, x, count, NULL, field);
        if (st == HNN_OK)
            apply_symplectic_j(field, count, net->def.dof);
        return st;
    }
    if ((st = hnni_begin_eval(net, &ws, x, count, field, net != NULL ? net->dim : 0)) != HNN_OK)
        return st;
    for (done = 0; done < count; done += ws->chunk) {
        size_t bc = count - done < ws->chunk ? count - done : ws->chunk;
        const double *h = hnni_hidden_pass(net, ws, x + done * net->dim, bc, 0);
        field_head(net, ws, h, bc, field + done * net->dim);
    }
    return HNN_OK;
}

int hnni_net_separable(const hnn_net *net)
{
    /* H = |p|^2 / (2 m) + V(q): dq/dt depends on p only, dp/dt on q only */
    return net->def.features == HNN_FEATURES_POSITIONS && net->def.kinetic_mass > 0.0;
}
