/* Private: the dataset layout, shared by the dataset, CSV and trainer rooms. */
#ifndef HNN_LIB_DATASET_H
#define HNN_LIB_DATASET_H

#include "hnn/data.h"

struct hnn_dataset {
    hnn_allocator alloc;
    size_t dof, dim, count;
    double *x; /* count x dim states */
    double *y; /* count x dim derivatives */
};

/* A dataset with room for count pairs (contents zeroed), or an error. */
hnn_status hnni_dataset_new(const hnn_allocator *alloc, size_t dof, size_t count,
                            hnn_dataset **out, hnn_error *err);

#endif
