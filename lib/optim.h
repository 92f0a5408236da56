/* Private: what the model-file room needs from an optimizer without copying its state. */
#ifndef HNN_LIB_OPTIM_H
#define HNN_LIB_OPTIM_H

#include "hnn/optim.h"

/* Element i of the flat state of hnn_optimizer_state_get (i < hnn_optimizer_state_size). */
void hnni_optimizer_state_at(const hnn_optimizer *opt, size_t i, double *value);

#endif
