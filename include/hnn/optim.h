/* libhnn optimizers: SGD (with momentum), Adam and AdamW over flat parameter arrays, with
 * PyTorch's update rules and defaults. */
#ifndef HNN_OPTIM_H
#define HNN_OPTIM_H

#include "hnn/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hnn_optimizer_kind {
    HNN_OPT_SGD = 0,   /* torch.optim.SGD */
    HNN_OPT_ADAM = 1,  /* torch.optim.Adam: weight decay is an L2 term added to the gradient */
    HNN_OPT_ADAMW = 2  /* torch.optim.AdamW: weight decay shrinks the parameters directly */
} hnn_optimizer_kind;

/* Get one from hnn_optimizer_def_default(kind), which sets PyTorch's defaults for that kind. */
typedef struct hnn_optimizer_def {
    size_t struct_size;
    hnn_optimizer_kind kind;
    double lr;            /* learning rate, >= 0; default 1e-3 */
    double weight_decay;  /* >= 0; default 0 (SGD, Adam), 1e-2 (AdamW) */
    double momentum;      /* SGD: >= 0; default 0 */
    double dampening;     /* SGD: default 0 */
    int nesterov;         /* SGD: Nesterov momentum (needs momentum > 0, dampening 0); default 0 */
    double beta1, beta2;  /* Adam(W): in [0, 1); default 0.9, 0.999 */
    double eps;           /* Adam(W): > 0; default 1e-8 */
    int amsgrad;          /* Adam(W): keep the running maximum of the second moment; default 0 */
    hnn_allocator allocator; /* default malloc */
} hnn_optimizer_def;

HNN_API void hnn_optimizer_def_init(hnn_optimizer_def *def, size_t struct_size,
                                    hnn_optimizer_kind kind);

static inline hnn_optimizer_def hnn_optimizer_def_default(hnn_optimizer_kind kind)
{
    hnn_optimizer_def def;
    hnn_optimizer_def_init(&def, sizeof def, kind);
    return def;
}

typedef struct hnn_optimizer hnn_optimizer;

/* Creates an optimizer for `param_count` parameters (its state starts at zero, step 0). */
HNN_API hnn_status hnn_optimizer_create(const hnn_optimizer_def *def, size_t param_count,
                                        hnn_optimizer **out, hnn_error *err);

/* Frees the optimizer. NULL is harmless. */
HNN_API void hnn_optimizer_destroy(hnn_optimizer *opt);

/* Why the last call that changes the optimizer (step, set_lr, state_set) failed, or "" after
 * one that succeeded (also for NULL). Calls on a const optimizer return only a status. */
HNN_API const char *hnn_optimizer_last_error(const hnn_optimizer *opt);

/* One update of params[0..count-1] from grad (count must be the optimizer's param_count).
 * A non-finite gradient, or an update that would make a parameter or a moment non-finite
 * (a learning rate so large it overflows, a gradient whose square overflows), is refused with
 * HNN_ERR_NONFINITE and changes nothing: the update is checked in full before it is applied.
 * Never allocates. */
HNN_API hnn_status hnn_optimizer_step(hnn_optimizer *opt, double *params, const double *grad,
                                      size_t count);

/* Copies the optimizer's settings into *def (def->struct_size must be set, e.g. by
 * hnn_optimizer_def_default()); the learning rate is the current one. */
HNN_API hnn_status hnn_optimizer_get_def(const hnn_optimizer *opt, hnn_optimizer_def *def);

/* The number of parameters the optimizer was created for (0 for NULL). */
HNN_API size_t hnn_optimizer_param_count(const hnn_optimizer *opt);

/* Learning rate for the following steps (>= 0, finite), and its current value (0 for NULL). */
HNN_API hnn_status hnn_optimizer_set_lr(hnn_optimizer *opt, double lr);
HNN_API double hnn_optimizer_lr(const hnn_optimizer *opt);

/* Steps taken since creation or the last reset (0 for NULL). */
HNN_API uint64_t hnn_optimizer_steps(const hnn_optimizer *opt);

/* Forgets all state (moments, momentum, step count), as if newly created. NULL is harmless. */
HNN_API void hnn_optimizer_reset(hnn_optimizer *opt);

/* The whole state as a flat array, for checkpoints: [step count, then per kind:
 * SGD: momentum buffer (param_count); Adam(W): first moment, second moment (param_count
 * each), and with amsgrad the running maximum of the second moment]. */
HNN_API size_t hnn_optimizer_state_size(const hnn_optimizer *opt);
HNN_API hnn_status hnn_optimizer_state_get(const hnn_optimizer *opt, double *state,
                                           size_t count);
/* Restores a state from hnn_optimizer_state_get. Refuses (HNN_ERR_INVALID_ARG, nothing
 * changed) a step count that is not a whole number in [0, 2^53] (-0 included), a negative second moment,
 * or non-finite values (HNN_ERR_NONFINITE). */
HNN_API hnn_status hnn_optimizer_state_set(hnn_optimizer *opt, const double *state,
                                           size_t count);

#ifdef __cplusplus
}
#endif

#endif /* HNN_OPTIM_H */
