/* Private: the layout of a net, shared by the rooms that compute with it (net, loss). */
#ifndef HNN_LIB_NET_IMPL_H
#define HNN_LIB_NET_IMPL_H

#include "hnn/field.h"
#include "hnn/net.h"

/* States per chunk of a batched evaluation: work buffers are sized for at most this many
 * states, so a batch of any size is evaluated in chunks without allocating. Wide nets with
 * many degrees of freedom get smaller chunks, so that a buffer stays near HNNI_BUFFER_BUDGET
 * doubles (a dual block of one state is max_rows x (1 + 2n), which can be large). Results do
 * not depend on the chunk size. */
#define HNNI_CHUNK 64
#define HNNI_BUFFER_BUDGET ((size_t)1 << 22)

/* The chunk for blocks of `per_state` doubles per state: budget / per_state within [1, 64]. */
size_t hnni_chunk_for(size_t per_state, size_t budget);

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
    hnn_workspace *own_ws;  /* used when a caller passes a NULL workspace */
};

struct hnn_workspace {
    hnn_allocator alloc;
    const hnn_net *net;     /* the net it was made for (net field sources evaluate it) */
    size_t dim;             /* the shape it was made for */
    size_t max_rows;
    size_t chunk;           /* states per chunk */
    size_t block;           /* doubles in each buffer */
    double *buf[2];         /* ping-pong dual blocks, max_rows x chunk * (1 + dim) at least */
};

/* Runs the hidden layers of `net` on bc <= chunk states x (row-major), carrying ntan
 * tangent blocks: 0 for a plain pass, 2n for the dual pass seeded with the unit directions.
 * xT receives layer 0's input: the transposed states (2n x bc) for the identity map, else the
 * dual block of the features (m x (1 + ntan) bc, see hnni_input_doubles); Z[l] receives hidden layer l's dual block of
 * pre-activations without bias (value z, tangents dz) and A[l] its activations (a, da), row
 * stride (1 + ntan) * bc. Z[l] may equal A[l], and the pointers may repeat across layers, as
 * long as A[l - 1] != Z[l] (the evaluation path ping-pongs two buffers; training keeps every
 * layer). */
void hnni_net_forward(const hnn_net *net, const double *x, size_t bc, size_t ntan, double *xT,
                      double *const *Z, double *const *A);

/* *out = the doubles each workspace buffer needs for hnn_net_hessian on this net (one state,
 * every layer's dual block kept; jacobian.c); 0 if that overflows size_t. */
int hnni_hessian_doubles(const hnn_net *net, size_t *out);

/* Doubles per state of layer 0's input block (xT above) in a pass with ntan tangents. */
size_t hnni_input_doubles(const hnn_net *net, size_t ntan);

/* Adds the known kinetic energy |p|^2 / (2 m) of state x (net->def.kinetic_mass > 0) to
 * *energy and its gradient p / m to grad_p (n numbers); either may be NULL. */
void hnni_kinetic_add(const hnn_net *net, const double *x, double *energy, double *grad_p);

/* Rebuilds the derived copies (the transposed weights) after params changed. */
void hnni_net_sync(hnn_net *net);

/* Checks the arguments every evaluation shares (pointers, count, workspace shape, overflow,
 * NaN/Inf in x) and picks the workspace (the net's own when *ws is NULL). */
hnn_status hnni_begin_eval(const hnn_net *net, hnn_workspace **ws, const double *x,
                           size_t count, const void *result);

/* The hidden layers in a workspace's two buffers: each layer's product goes to buf[1] and
 * its tanh back to buf[0], which also holds the transposed states at the start. Returns the
 * last hidden layer's dual block (in buf[0]). */
const double *hnni_hidden_pass(const hnn_net *net, hnn_workspace *ws, const double *x,
                               size_t bc, size_t ntan);

/* 1 if src was made by hnn_field_source_net; then *net and *ws are what it evaluates. */
int hnni_net_source_parts(const hnn_field_source *src, const hnn_net **net, hnn_workspace **ws);

#endif
