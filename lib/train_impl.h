/* Private: the training loop over any model with a flat parameter array and an exact loss
 * gradient (a net; a dissipative model of several nets). */
#ifndef HNN_LIB_TRAIN_IMPL_H
#define HNN_LIB_TRAIN_IMPL_H

#include "hnn/train.h"

typedef struct hnni_trainable {
    void *self;
    const hnn_allocator *alloc;  /* for the loop's buffers */
    size_t dof, param_count;
    double *params;              /* the array the optimizer updates */
    /* the mean-square field loss of count pairs, and its gradient if grad is not NULL */
    hnn_status (*loss)(void *self, const double *x, const double *y, size_t count,
                       double *loss, double *grad);
    void (*sync)(void *self);    /* after params changed */
} hnni_trainable;

/* The checks hnni_train starts with (def, pointers, shapes), for callers that want them done
 * before they allocate. */
hnn_status hnni_train_check(const hnni_trainable *t, hnn_optimizer *opt,
                            const hnn_dataset *train, const hnn_dataset *val,
                            const hnn_train_def *def, const hnn_train_result *result,
                            hnn_error *err);

/* hnn_train's loop and contract for any trainable model. */
hnn_status hnni_train(const hnni_trainable *t, hnn_optimizer *opt, const hnn_dataset *train,
                      const hnn_dataset *val, const hnn_train_def *def,
                      hnn_train_result *result, hnn_error *err);

#endif
