/* Networks: definitions and their rule, the layer layout, parameters and their transposed
 * copy, initialisation, the life cycle. Evaluation is eval.c, workspaces workspace.c. */
#include "net_impl.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "alloc.h"
#include "core.h"
#include "features.h"
#include "kernels.h"
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
    d.activation = HNN_ACTIVATION_TANH;
    hnni_publish_def(def, &d, sizeof d, struct_size);
}

/* The sizes hnn_net_def had in released headers: 0.1 ended at the allocator, 0.2 at
 * kinetic_mass, 0.3 to 0.5 at path plus its padding (216 bytes on LP64); 0.6 added
 * activation (this header's sizeof). */
static const size_t net_def_older[] = {offsetof(hnn_net_def, features),
                                       offsetof(hnn_net_def, path),
                                       offsetof(hnn_net_def, activation), 0};

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
    if ((unsigned)d->activation > (unsigned)HNN_ACTIVATION_RELU)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "unknown activation %d (tanh, softplus, "
                         "sine, SiLU, or ReLU for direct-field nets)", (int)d->activation);
    if (d->activation == HNN_ACTIVATION_RELU && d->kind == HNN_NET_HAMILTONIAN)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "activation ReLU is refused for a "
                         "Hamiltonian net: its second derivative is 0, so the field J grad H is "
                         "piecewise constant in the state and training cannot move the biases; "
                         "use softplus, SiLU, sine or tanh");
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



void hnni_net_sync(hnn_net *net)
{
    size_t l, i;
    for (l = 0; l < net->layers; l++)
        hnni_transpose(net->out[l], net->in[l], net->params + net->w_off[l], net->in[l],
                       net->wt + net->w_off[l], net->out[l]);
    net->f32_overflow = net->param_count;
    for (i = 0; i < net->param_count; i++) { /* each rounded to the nearest float */
        net->params_f32[i] = (float)net->params[i];
        net->wt_f32[i] = (float)net->wt[i];
        if (!(fabs(net->params[i]) <= FLT_MAX) && net->f32_overflow == net->param_count)
            net->f32_overflow = i;
    }
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

void hnni_layer_product_f32(const hnn_net *net, size_t l, const float *A, size_t lda, size_t n,
                            float *Z, size_t ldz)
{
    if (n < HNNI_NARROW)
        hnni_gemm_tn_f32(net->out[l], net->in[l], n, net->wt_f32 + net->w_off[l], net->out[l],
                         A, lda, Z, ldz);
    else
        hnni_gemm_f32(net->out[l], net->in[l], n, net->params_f32 + net->w_off[l], net->in[l],
                      A, lda, Z, ldz);
}

void hnni_layer_product_t_f32(const hnn_net *net, size_t l, const float *G, size_t ldg,
                              size_t n, float *C, size_t ldc)
{
    if (n < HNNI_NARROW)
        hnni_gemm_tn_f32(net->in[l], net->out[l], n, net->params_f32 + net->w_off[l],
                         net->in[l], G, ldg, C, ldc);
    else
        hnni_gemm_f32(net->in[l], net->out[l], n, net->wt_f32 + net->w_off[l], net->out[l], G,
                      ldg, C, ldc);
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

hnn_status hnni_net_shape(const hnn_net_def *def, hnn_net *shape, hnn_error *err)
{
    hnn_status st;
    memset(shape, 0, sizeof *shape);
    if ((st = read_def(def, &shape->def, err)) != HNN_OK ||
        (st = check_def(&shape->def, err)) != HNN_OK || (st = lay_out(shape, err)) != HNN_OK)
        return st;
    shape->eval_path = hnni_path_choose(shape, 0);
    shape->train_path = hnni_path_choose(shape, 1);
    return HNN_OK;
}

hnn_status hnn_net_def_bytes(const hnn_net_def *def, size_t *net_bytes, size_t *workspace,
                             hnn_error *err)
{
    hnn_net shape; /* laid out, never allocated */
    size_t chunk, block[2], ws, params;
    hnn_status st;
    if (def == NULL || net_bytes == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_net_def_bytes: def and net_bytes must not be NULL");
    if ((st = hnni_net_shape(def, &shape, err)) != HNN_OK)
        return st;
    if ((st = hnni_workspace_size(&shape, &chunk, block, err)) != HNN_OK)
        return st;
    /* the parameters and their transposed copy, in double and in float */
    if (!workspace_bytes(block, &ws) ||
        !hnni_mul_size(shape.param_count, sizeof(double) + sizeof(float), &params) ||
        !hnni_add_size(params, 2 * HNNI_ALIGN_EXTRA, &params) || !hnni_mul_size(params, 2, &params) ||
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
    memset(net, 0, sizeof *net); /* every pointer NULL until allocated: destroy on failure */
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
    bytes = net->param_count * sizeof(float);
    net->params_f32 = net->wt != NULL ? (float *)hnni_alloc_aligned(&alloc, bytes) : NULL;
    net->wt_f32 = net->params_f32 != NULL ? (float *)hnni_alloc_aligned(&alloc, bytes) : NULL;
    if (net->wt_f32 == NULL) {
        st = hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate %zu parameters", net->param_count);
        goto fail;
    }
    if ((st = hnni_workspace_new(net, &net->own_ws, err)) != HNN_OK)
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
    hnni_free_aligned(&alloc, net->params_f32, net->param_count * sizeof(float));
    hnni_free_aligned(&alloc, net->wt_f32, net->param_count * sizeof(float));
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

const char *hnn_net_last_error(const hnn_net *net)
{
    return net == NULL ? "" : net->message;
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




int hnni_net_separable(const hnn_net *net)
{
    /* H = |p|^2 / (2 m) + V(q): dq/dt depends on p only, dp/dt on q only */
    return net->def.features == HNN_FEATURES_POSITIONS && net->def.kinetic_mass > 0.0;
}
