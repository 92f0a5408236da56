/* Private: the layout of a net, shared by the rooms that compute with it (net, workspace,
 * forward (the dual engine), adjoint, eval, features, path, loss, jacobian); every other room
 * uses net_access.h. Dependencies run one way: jacobian -> eval -> forward, adjoint ->
 * net; workspace sizes the buffers of every use; nothing depends on jacobian. */
#ifndef HNN_LIB_NET_IMPL_H
#define HNN_LIB_NET_IMPL_H

#include "hnn/field.h"
#include "hnn/net.h"
#include "net_access.h"

/* States per chunk of a batched evaluation: work buffers are sized for at most this many
 * states, so a batch of any size is evaluated in chunks without allocating. Wide nets with
 * many degrees of freedom get smaller chunks, so that a buffer stays near HNNI_BUFFER_BUDGET
 * doubles (a dual block of one state is max_rows x (1 + 2n), which can be large). Results do
 * not depend on the chunk size. */
#define HNNI_CHUNK 64
#define HNNI_BUFFER_BUDGET ((size_t)1 << 22)

/* The training gradient on the adjoint path takes chunks of up to HNNI_TRAIN_CHUNK states
 * (each chunk reads every weight matrix or its copy four times and its gradient once, from
 * L3 at width 512), within
 * HNNI_TRAIN_BUDGET doubles plus one per parameter: a loss workspace stays within the memory
 * target of docs/performance.md (4 MiB + 4 x the parameters' bytes with the net and a
 * workspace) at every n. */
#define HNNI_TRAIN_CHUNK 256
#define HNNI_TRAIN_BUDGET ((size_t)1 << 18)

/* The chunk for blocks of `per_state` doubles per state: budget / per_state within
 * [1, most], a multiple of 16 (the product kernels' tile) from 16 up. */
size_t hnni_chunk_for(size_t per_state, size_t budget, size_t most);

/* Layer l (0-based, l < depth + 1; the last is the output layer) maps in[l] inputs to
 * out[l] outputs with weight params[w_off[l] ..] ([out][in], row-major) and bias
 * params[b_off[l] ..]. */
struct hnn_net {
    hnn_net_def def;        /* as given, with the resolved allocator */
    hnn_allocator alloc;
    size_t dim;             /* 2n, the length of a state */
    size_t features;        /* m, what layer 0 reads: 2n for the identity map (features.h) */
    size_t layers;          /* depth + 1 */
    size_t in[HNN_MAX_HIDDEN + 1];
    size_t out[HNN_MAX_HIDDEN + 1];
    size_t w_off[HNN_MAX_HIDDEN + 1];
    size_t b_off[HNN_MAX_HIDDEN + 1];
    size_t max_rows;        /* largest of dim, every width and the output size */
    size_t param_count;
    double *params;
    double *wt;             /* each layer's weights transposed ([in][out]) at the same offsets:
                               the narrow products of single states read them contiguously.
                               Derived from params: hnni_net_sync after every change. */
    float *params_f32;      /* params and wt rounded to float, for the float evaluation path */
    float *wt_f32;          /* (eval_f32.c); hnni_net_sync makes them too */
    size_t f32_overflow;    /* the first parameter beyond float's range (param_count: none):
                               the float path refuses such a net */
    hnn_gradient_path eval_path;  /* DUAL or ADJOINT: def.path, or the cost model's choice */
    hnn_gradient_path train_path; /* likewise for the training gradient (lib/path.c) */
    hnn_workspace *own_ws;  /* hnn_net_workspace: the single-threaded one-liner's */
    char message[HNN_ERROR_MESSAGE_SIZE]; /* the last failure of a call that changes the net */
};

struct hnn_workspace {
    hnn_allocator alloc;
    const hnn_net *net;     /* the net it was made for (net field sources evaluate it) */
    size_t dim;             /* the shape it was made for */
    size_t max_rows;
    size_t chunk;           /* states per chunk */
    size_t block[2];        /* doubles in each buffer */
    double *buf[2];         /* the dual path's ping-pong blocks (max_rows x chunk (1 + dim)
                               each), the adjoint path's two parts (adjoint.h), the float
                               path's (eval_f32.c) or the Hessian's (jacobian.c), whichever
                               are largest */
    char message[HNN_ERROR_MESSAGE_SIZE]; /* the last failure of an evaluation with it: the
                                             per-thread channel, since the net is const */
};

/* Lays out, in *shape, the net *def describes (read and checked as hnn_net_create does, the
 * paths chosen) without allocating: for the functions that size what a def will need. */
hnn_status hnni_net_shape(const hnn_net_def *def, hnn_net *shape, hnn_error *err);

/* ---- the weights and their transposed copy (net.c) */

/* Z = W_l A and C = W_l^T G over n columns (row strides lda, ldz, ldg, ldc): every element
 * summed in one fixed order, whatever n is. */
void hnni_layer_product(const hnn_net *net, size_t l, const double *A, size_t lda, size_t n,
                        double *Z, size_t ldz);
void hnni_layer_product_t(const hnn_net *net, size_t l, const double *G, size_t ldg, size_t n,
                          double *C, size_t ldc);

/* The same two products on the float weights (params_f32, wt_f32). */
void hnni_layer_product_f32(const hnn_net *net, size_t l, const float *A, size_t lda, size_t n,
                            float *Z, size_t ldz);
void hnni_layer_product_t_f32(const hnn_net *net, size_t l, const float *G, size_t ldg,
                              size_t n, float *C, size_t ldc);

/* Rebuilds the derived copies (the transposed weights) after params changed. */
void hnni_net_sync(hnn_net *net);

/* ---- the cost model (path.c) */

/* The path the cost model picks for evaluation (training = 0) or training (1), or def.path
 * when that is not AUTO (lib/path.c). Needs the layout (in, out, features) filled. */
hnn_gradient_path hnni_path_choose(const hnn_net *net, int training);

/* The cost model: multiply-adds per state of grad H (training = 0) or of the training
 * gradient (1) on `path` (DUAL or ADJOINT). */
double hnni_path_cost(const hnn_net *net, hnn_gradient_path path, int training);

/* ---- the dual engine (forward.c) */

/* Runs the hidden layers of `net` on bc <= chunk states x (row-major), carrying ntan
 * tangent blocks: 0 for a plain pass, else tangent t along the unit direction e_(t0 + t)
 * (t0 + ntan <= 2n; t0 = 0, ntan = 2n for the whole dual pass).
 * xT receives layer 0's input: the transposed states (2n x bc) for the identity map, else the
 * dual block of the features (m x (1 + ntan) bc, see hnni_input_doubles); Z[l] receives hidden layer l's dual block of
 * pre-activations without bias (value z, tangents dz) and A[l] its activations (a, da), row
 * stride (1 + ntan) * bc. Z[l] may equal A[l], and the pointers may repeat across layers, as
 * long as A[l - 1] != Z[l] (the evaluation path ping-pongs two buffers; training keeps every
 * layer). */
void hnni_net_forward(const hnn_net *net, const double *x, size_t bc, size_t t0, size_t ntan,
                      double *xT, double *const *Z, double *const *A);

/* ---- workspaces (workspace.c) */

/* The doubles of each evaluation buffer for `chunk` states on the net's engine (eval.c's
 * layouts); 0 if that overflows size_t. */
int hnni_eval_doubles(const hnn_net *net, size_t chunk, size_t need[2]);
/* 1 if need[b] <= have[b] for both buffers. */
int hnni_fits(const size_t need[2], const size_t have[2]);

/* The Hessian's tangent directions per pass (jacobian.c builds its columns this many at a
 * time, never 2n at once), and need[b] = the doubles buffer b needs for hnn_net_hessian and
 * hnn_net_field_jacobian on this net (one state, every hidden layer's dual block of K
 * tangents, then three reverse-sweep blocks); 0 if that overflows size_t. */
#define HNNI_HESSIAN_GROUP 8
size_t hnni_hessian_group(const hnn_net *net);
int hnni_hessian_doubles(const hnn_net *net, size_t need[2]);

/* A workspace's chunk and buffer sizes for this net (the most any use needs), and a new one
 * made with the net's allocator. */
hnn_status hnni_workspace_size(const hnn_net *net, size_t *chunk, size_t block[2],
                               hnn_error *err);
hnn_status hnni_workspace_new(const hnn_net *net, hnn_workspace **out, hnn_error *err);

/* Doubles per state of layer 0's input block (xT above) in a pass with ntan tangents. */
size_t hnni_input_doubles(const hnn_net *net, size_t ntan);

/* ---- evaluation (eval.c) */

/* Adds the known kinetic energy |p|^2 / (2 m) of state x (net->def.kinetic_mass > 0) to
 * *energy and its gradient p / m to grad_p (n numbers); either may be NULL. */
void hnni_kinetic_add(const hnn_net *net, const double *x, double *energy, double *grad_p);

/* Checks the arguments every evaluation shares (pointers, count, workspace shape, NaN/Inf in
 * x) and the size rule: count states of dim doubles in, count results of out_per_state
 * doubles out, each array's size in bytes within size_t (HNN_ERR_TOO_LARGE, checked before x
 * is read). A NULL *ws is refused: a const net is never written. */
hnn_status hnni_begin_eval(const hnn_net *net, hnn_workspace **ws, const double *x,
                           size_t count, const void *result, size_t out_per_state);

/* The same for the float path: float states and results, and the workspace's buffers judged
 * by what the float layout needs (hnni_f32_doubles). */
hnn_status hnni_begin_eval_f32(const hnn_net *net, hnn_workspace **ws, const float *x,
                               size_t count, const void *result, size_t out_per_state);

/* The doubles of each workspace buffer the float path needs for `chunk` states (eval_f32.c);
 * 0 if a size overflows size_t. */
int hnni_f32_doubles(const hnn_net *net, size_t chunk, size_t need[2]);

/* HNN_ERR_WRONG_KIND with a message in ws: a direct-field net has no `what`. */
hnn_status hnni_wrong_kind(hnn_workspace *ws, const char *what);

/* The hidden layers in a workspace's two buffers: each layer's product goes to buf[1] and
 * its tanh back to buf[0], which also holds the transposed states at the start. Returns the
 * last hidden layer's dual block (in buf[0]). */
const double *hnni_hidden_pass(const hnn_net *net, hnn_workspace *ws, const double *x,
                               size_t bc, size_t ntan);

#endif
