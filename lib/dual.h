/* Private: dual numbers, stored as columns of a block.
 *
 * A "dual block" for `rows` neurons and a batch of bc states holds, in each row, bc value
 * columns followed by ntan tangent blocks of bc columns: element [r][t * bc + s] is the
 * value (t = 0) or the derivative along input direction t - 1 (t >= 1) of neuron r for
 * state s. Linear layers act on all columns at once (one matrix product); the activation
 * rules below are the only places values and tangents meet. */
#ifndef HNN_LIB_DUAL_H
#define HNN_LIB_DUAL_H

#include <stddef.h>

#include "hnn/net.h"

/* The forward rule. From a block Z of pre-activations without bias (value z, tangents dz)
 * writes A: value a = sigma(z + bias[r]), tangents sigma'(z + bias[r]) * dz. Z == A is
 * allowed. */
void hnni_dual_activation(hnn_activation act, size_t rows, size_t bc, size_t ntan,
                          const double *bias, const double *Z, double *A, size_t ld);

/* The reverse rule, in place on an adjoint block BAR: on entry BAR holds dL/da (value
 * columns) and dL/d(da) (tangent columns); on exit it holds dL/dz and dL/d(dz). Needs the
 * forward block A and the block Z it came from (kept apart: z's value columns and the
 * tangents dz). With s = sigma'(z), c = sigma''(z):
 * dz_bar = s * da_bar;  s_bar = sum_t da_bar_t * dz_t;  z_bar = s * a_bar + c * s_bar
 * (for tanh, s = 1 - a^2 and c = -2 a s from A: z_bar = s * (a_bar - 2 a s_bar)). */
void hnni_dual_activation_adjoint(hnn_activation act, size_t rows, size_t bc, size_t ntan,
                                  const double *bias, const double *A, const double *Z,
                                  double *BAR, size_t ld);

#endif
