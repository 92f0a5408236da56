/* Workspaces: the per-thread scratch of evaluations. Their two buffers are sized for the
 * largest use on the net's shape: a chunk of states on the engine the net picked (dual
 * blocks, or the adjoint path's parts, adjoint.h), or one state's Hessian groups (jacobian.c
 * lays them out as hnni_hessian_doubles says). A workspace also carries the message of the
 * last evaluation that failed with it. */
#include "net_impl.h"

#include "adjoint.h"
#include "alloc.h"
#include "core.h"

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

size_t hnni_hessian_group(const hnn_net *net)
{
    return net->dim < HNNI_HESSIAN_GROUP ? net->dim : HNNI_HESSIAN_GROUP;
}

int hnni_hessian_doubles(const hnn_net *net, size_t need[2])
{
    /* buf[0]: the input block and every hidden layer's dual block of one state (for
     * activations other than tanh its pre-activation block too); buf[1]: a shared
     * pre-activation block and the two reverse-sweep blocks, max_rows x (1 + K) each,
     * K = hnni_hessian_group (at most HNNI_HESSIAN_GROUP) */
    const size_t K = hnni_hessian_group(net), ld = 1 + K;
    const size_t per_layer = net->def.activation == HNN_ACTIVATION_TANH ? 1 : 2;
    size_t need0 = hnni_input_doubles(net, K), need1, l, b;
    for (l = 0; l + 1 < net->layers; l++)
        if (!hnni_mul_size(net->out[l], ld * per_layer, &b) || !hnni_add_size(need0, b, &need0))
            return 0;
    if (!hnni_mul_size(net->max_rows, ld, &b) || !hnni_mul_size(b, 3, &need1))
        return 0;
    need[0] = need0;
    need[1] = need1;
    return 1;
}

/* The doubles of each evaluation buffer for `chunk` states on this net's path: the dual
 * pass ping-pongs blocks of 1 + 2n columns per neuron (one for a direct-field net); the
 * adjoint one keeps a column per neuron and layer for the backward sweep (adjoint.h). */
int hnni_eval_doubles(const hnn_net *net, size_t chunk, size_t need[2])
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

int hnni_fits(const size_t need[2], const size_t have[2])
{
    return need[0] <= have[0] && need[1] <= have[1];
}

/* A workspace's chunk and the doubles of its two buffers: a chunk of evaluations in double or
 * in float (eval_f32.c), or what the Hessian (jacobian.c) needs of each buffer for one
 * state, whichever is more. */
hnn_status hnni_workspace_size(const hnn_net *net, size_t *chunk, size_t block[2],
                                 hnn_error *err)
{
    size_t per_state[2], hessian[2], f32[2], b;
    if (!hnni_eval_doubles(net, 1, per_state))
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "workspace size overflows size_t");
    *chunk = hnni_chunk_for(per_state[0] > per_state[1] ? per_state[0] : per_state[1],
                            HNNI_BUFFER_BUDGET, HNNI_CHUNK);
    if (!hnni_eval_doubles(net, *chunk, block) || !hnni_hessian_doubles(net, hessian) ||
        !hnni_f32_doubles(net, *chunk, f32))
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "workspace size overflows size_t");
    for (b = 0; b < 2; b++) {
        size_t bytes;
        if (hessian[b] > block[b])
            block[b] = hessian[b];
        if (f32[b] > block[b]) /* the float path's layout, in the same two buffers */
            block[b] = f32[b];
        if (!hnni_mul_size(block[b], sizeof(double), &bytes) ||
            !hnni_add_size(bytes, HNNI_ALIGN_EXTRA, &bytes))
            return hnni_fail(err, HNN_ERR_TOO_LARGE, "workspace size overflows size_t");
    }
    return HNN_OK;
}

hnn_status hnni_workspace_new(const hnn_net *net, hnn_workspace **out, hnn_error *err)
{
    const hnn_allocator *alloc = &net->alloc;
    size_t chunk, block[2];
    hnn_workspace *ws;
    hnn_status st;
    if ((st = hnni_workspace_size(net, &chunk, block, err)) != HNN_OK)
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
    return hnni_workspace_new(net, out, err);
}

void hnn_workspace_destroy(hnn_workspace *ws)
{
    if (ws == NULL)
        return;
    hnni_free_aligned(&ws->alloc, ws->buf[0], ws->block[0] * sizeof(double));
    hnni_free_aligned(&ws->alloc, ws->buf[1], ws->block[1] * sizeof(double));
    hnni_free(&ws->alloc, ws, sizeof *ws);
}

const hnn_net *hnni_workspace_net(const hnn_workspace *ws)
{
    return ws->net;
}

const char *hnn_workspace_last_error(const hnn_workspace *ws)
{
    return ws == NULL ? "" : ws->message;
}
