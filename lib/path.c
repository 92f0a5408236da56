/* Which engine computes a Hamiltonian net's grad H: the cost model (docs/performance.md,
 * "Two engines").
 *
 * Both paths' costs are counted in multiply-adds per state of a full chunk (the throughput
 * of batches and training): matrix products (the bulk), plus the per-neuron element-wise
 * rules (the activation: tanh about 20, activation.c; each tangent or adjoint rule a few) and the feature map's work. The
 * model is evaluated once, when the net is created, from its shape alone, so the choice never
 * depends on a batch's size and a batch keeps giving the bits of its states one by one.
 *
 * Measured (examples/bench --sweep at widths 32 to 512, depths 1 and 2, n = 1 to 64): the
 * adjoint path was faster for batches and training at every shape, as this model predicts.
 * What it does not model is a single state of a wide net at n = 1, where the dual path's one
 * read of the weights beats the adjoint path's two (64 against 94 us at width 512): there a
 * latency-bound program should set HNN_PATH_DUAL. */
#include "net_impl.h"

#include "activation.h"

/* The element-wise work per neuron and state, in multiply-add equivalents, besides the
 * activation's value: each tangent column (dual) or each sweep's rule (adjoint). */
#define RULE_COST 2.0

/* sum over hidden-to-hidden layers and the head of out x in, and layer 0's out x in. */
static void product_sizes(const hnn_net *net, double *hidden, double *first, double *neurons)
{
    size_t l;
    *hidden = 0.0;
    *neurons = 0.0;
    *first = (double)net->out[0] * (double)net->in[0];
    for (l = 1; l < net->layers; l++)
        *hidden += (double)net->out[l] * (double)net->in[l];
    for (l = 0; l + 1 < net->layers; l++)
        *neurons += (double)net->out[l];
}

double hnni_path_cost(const hnn_net *net, hnn_gradient_path path, int training)
{
    const double cols = 1.0 + (double)net->dim; /* a dual block's columns per state */
    const double m = (double)net->features;
    const int mapped = net->def.features != HNN_FEATURES_IDENTITY;
    const double act = hnni_activation_cost(net->def.activation);
    double hidden, first, neurons, cost;
    product_sizes(net, &hidden, &first, &neurons);
    if (path == HNN_PATH_DUAL) {
        /* layer 0: values only from the states (its tangents are copies of W's columns),
         * all columns from a feature map's dual block; the rest carry every column */
        const double first_fwd = mapped ? first * cols : first;
        cost = first_fwd + hidden * cols + neurons * (act + RULE_COST * cols);
        if (mapped)
            cost += m * cols;
        if (training) /* weight gradients and input adjoints over the same columns */
            cost += (mapped ? first * cols : 2.0 * first) + 2.0 * hidden * cols +
                    neurons * 2.0 * RULE_COST * cols;
        return cost;
    }
    /* adjoint: forward and backward sweeps; training adds the up sweep, the down sweep and
     * a weight product of twice the states */
    cost = 2.0 * first + 2.0 * hidden + neurons * (act + 2.0 * RULE_COST);
    if (mapped)
        cost += 8.0 * m;
    if (training)
        cost += 3.0 * first + 4.0 * hidden + neurons * 4.0 * RULE_COST + (mapped ? 8.0 * m : 0.0);
    return cost;
}

hnn_gradient_path hnni_path_choose(const hnn_net *net, int training)
{
    if (net->def.kind != HNN_NET_HAMILTONIAN)
        return HNN_PATH_DUAL; /* no grad H: plain passes, backpropagation for training */
    if (net->def.path != HNN_PATH_AUTO)
        return net->def.path;
    return hnni_path_cost(net, HNN_PATH_ADJOINT, training) <
                   hnni_path_cost(net, HNN_PATH_DUAL, training)
               ? HNN_PATH_ADJOINT
               : HNN_PATH_DUAL;
}
