/* Private: the trajectory set's layout, shared by trajectory.c and the CSV loader. */
#ifndef HNN_LIB_TRAJECTORY_IMPL_H
#define HNN_LIB_TRAJECTORY_IMPL_H

#include "hnn/trajectory.h"

struct hnn_trajectories {
    hnn_allocator alloc;
    size_t dof, dim, count, total;
    size_t *start; /* count + 1 offsets: trajectory i is observations start[i] .. start[i+1]-1 */
    double *t;     /* total times */
    double *x;     /* total x dim states */
};

/* A set with room for `count` trajectories and `total` observations (start, t and x zeroed;
 * the caller fills them), or an error. */
hnn_status hnni_trajectories_new(const hnn_allocator *alloc, size_t dof, size_t count,
                                 size_t total, hnn_trajectories **out, hnn_error *err);

#endif
