/* libhnn training: minibatch gradient descent of the field-matching loss, deterministic. */
#ifndef HNN_TRAIN_H
#define HNN_TRAIN_H

#include "hnn/data.h"
#include "hnn/net.h"
#include "hnn/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Called every report_every steps and after the last step: `step` is the number of steps
 * done in this call, train_loss the loss of the minibatch of that step (before its update),
 * val_loss the loss on the whole validation set (NaN when there is none). Return non-zero
 * to stop training there. */
typedef int (*hnn_progress_fn)(void *user, uint64_t step, double train_loss, double val_loss);

typedef struct hnn_train_def {
    size_t struct_size;
    uint64_t steps;         /* optimizer steps to take; default 2000 */
    size_t batch_size;      /* states per step; 0 (default) or >= the dataset: full batch */
    uint64_t seed;          /* shuffling seed; default 0 */
    uint64_t report_every;  /* progress period in steps; 0: only after the last; default 100 */
    hnn_progress_fn progress; /* may be NULL */
    void *user;             /* passed to progress */
} hnn_train_def;

HNN_API void hnn_train_def_init(hnn_train_def *def, size_t struct_size);

static inline hnn_train_def hnn_train_def_default(void)
{
    hnn_train_def def;
    hnn_train_def_init(&def, sizeof def);
    return def;
}

/* A value struct (docs/api.md "Value structs"): `hnn_train_result r = {sizeof r};`; a result
 * with any other struct_size is refused (HNN_ERR_INVALID_ARG) before training starts. */
typedef struct hnn_train_result {
    size_t struct_size;
    uint64_t steps_done;  /* steps taken in this call */
    int stopped;          /* 1 if the progress callback stopped training */
    double train_loss;    /* loss on the whole training set after the last step */
    double val_loss;      /* loss on the whole validation set, or NaN without one */
} hnn_train_result;

/* Trains `net` on `train` with `opt` (created for hnn_net_param_count(net) parameters).
 *
 * Minibatches are consecutive windows of a stream that visits the dataset in a fresh
 * permutation every epoch; the permutation of epoch e depends only on (seed, e), and the
 * stream position is taken from the optimizer's step count. So the same seed, data, net and
 * optimizer state give bit-identical weights, and a run resumed from a checkpoint of the net
 * and the optimizer continues exactly as if it had not stopped. Full-batch training uses the
 * dataset in its stored order.
 *
 * val may be NULL. result may be NULL. Allocates its buffers once at the start (with the
 * net's allocator), never per step. Errors: HNN_ERR_NULL, HNN_ERR_INVALID_ARG (steps 0),
 * HNN_ERR_SIZE_MISMATCH (dataset n or optimizer size differs from the net),
 * HNN_ERR_NONFINITE (the gradient became NaN or infinite: training stops there, err says at
 * which step, and the net keeps its last finite parameters), HNN_ERR_NO_MEMORY. */
HNN_API hnn_status hnn_train(hnn_net *net, hnn_optimizer *opt, const hnn_dataset *train,
                             const hnn_dataset *val, const hnn_train_def *def,
                             hnn_train_result *result, hnn_error *err);

#ifdef __cplusplus
}
#endif

#endif /* HNN_TRAIN_H */
