/* Private: what the model-file room needs from an optimizer without copying its state. */
#ifndef HNN_LIB_OPTIM_H
#define HNN_LIB_OPTIM_H

#include "hnn/optim.h"

/* Element i of the flat state of hnn_optimizer_state_get (i < hnn_optimizer_state_size). */
void hnni_optimizer_state_at(const hnn_optimizer *opt, size_t i, double *value);

/* What hnn_optimizer_create asks the allocator for with `slots` values per parameter (1 SGD,
 * 2 Adam, 3 AMSGrad). The caller keeps slots * param_count far from overflowing (the model
 * loader's cap). */
size_t hnni_optimizer_bytes(size_t slots, size_t param_count);

#endif
