/* The dual engine: the hidden layers of a net on a block of states, carrying for each state
 * its values and, along chosen unit directions of the input, their tangents (dual.h's column
 * layout). Evaluation uses it without tangents (plain passes) or with all 2n (grad H on the
 * dual path), the loss keeps every layer for its reverse pass, and the Hessian runs it on
 * groups of a few directions. */
#include "net_impl.h"

#include "dual.h"
#include "features.h"

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
    hnni_dual_activation(net->def.activation, net->out[0], bc, ntan, net->params + net->b_off[0],
                         Z[0], A[0], ld);

    for (l = 1; l + 1 < net->layers; l++) {
        hnni_layer_product(net, l, A[l - 1], ld, ld, Z[l], ld);
        hnni_dual_activation(net->def.activation, net->out[l], bc, ntan,
                             net->params + net->b_off[l], Z[l], A[l], ld);
    }
}
