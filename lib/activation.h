/* Private: the hidden layers' activations (hnn_activation) and their first two derivatives.
 *
 * Every engine needs sigma(z) and sigma'(z); the training gradient and the Hessian also
 * sigma''(z). tanh, the default, is special everywhere: its derivatives are functions of its
 * value (sigma' = 1 - a^2, sigma'' = -2 a sigma'), so the engines compute them from the
 * activations they keep, with no extra memory, and tanh runs vectorised (vmath.c). Every
 * other activation keeps sigma' (and for training sigma'') beside the values where an engine
 * needs them, computed here from z once. */
#ifndef HNN_LIB_ACTIVATION_H
#define HNN_LIB_ACTIVATION_H

#include <stddef.h>

#include "hnn/net.h"

/* sigma(z[i]), sigma'(z[i]) and sigma''(z[i]) for i < n into a, s and c (any may be NULL; a
 * may be z, in place), each within a few ulp for finite z. */
void hnni_activation_eval(hnn_activation act, const double *z, size_t n, double *a, double *s,
                          double *c);

/* The work of one sigma with its derivatives, in multiply-add equivalents (path.c's model). */
double hnni_activation_cost(hnn_activation act);

#endif
