/* libhnn steppers: one step of a symplectic method for many independent states at once, in
 * double or in float, for particles and game physics (docs/embedding.md). */
#ifndef HNN_STEPPER_H
#define HNN_STEPPER_H

#include "hnn/integrate.h"
#include "hnn/net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How a stepper steps. Get one from hnn_stepper_def_default(), then change fields. */
typedef struct hnn_stepper_def {
    size_t struct_size;
    /* HNN_METHOD_LEAPFROG (the default) or HNN_METHOD_SYMPLECTIC_EULER, explicit, for a
     * separable net (HNN_FEATURES_POSITIONS with a kinetic mass: H = |p|^2 / (2m) + V(q));
     * HNN_METHOD_IMPLICIT_MIDPOINT for any net, its stage solved by fixed-point iteration to
     * the round-off of the step's terms in the precision of the call. */
    hnn_method method;
    size_t max_count;      /* the most states one call may step, 1..2^20; default 1024 */
    size_t max_iterations; /* implicit midpoint: iterations allowed per step, 1..1000;
                              default 100 */
    hnn_allocator allocator;
} hnn_stepper_def;

HNN_API void hnn_stepper_def_init(hnn_stepper_def *def, size_t struct_size);

static inline hnn_stepper_def hnn_stepper_def_default(void)
{
    hnn_stepper_def def;
    hnn_stepper_def_init(&def, sizeof def);
    return def;
}

/* Per-thread state for stepping states of `net` (or any net of its shape: an explicit step
 * uses the kinetic mass of the net it is given): a workspace and the buffers for max_count
 * states in both precisions, all allocated here; a step never allocates. Threads sharing one
 * net each use a stepper of their own. */
typedef struct hnn_stepper hnn_stepper;

/* Creates a stepper for net's shape and the def's method: HNN_ERR_INVALID_ARG for a method
 * the net cannot take explicitly (leapfrog or symplectic Euler on a net that is not separable)
 * or a value out of range, with a message naming it. */
HNN_API hnn_status hnn_stepper_create(const hnn_net *net, const hnn_stepper_def *def,
                                      hnn_stepper **out, hnn_error *err);
HNN_API void hnn_stepper_destroy(hnn_stepper *s);

/* Advances `count` (1..max_count) states x (count x 2n, row-major, as the evaluation functions
 * take them) by one step of size h (finite, non-zero) in place. All or nothing: on any error x
 * is unchanged (HNN_ERR_NULL, HNN_ERR_INVALID_ARG for count or h, HNN_ERR_SIZE_MISMATCH for a
 * net of another shape, HNN_ERR_NONFINITE for a state or a result that is not finite,
 * HNN_ERR_NO_CONVERGENCE when a midpoint stage did not converge, naming the first state that
 * did not). Each state is stepped as if alone: a batch gives the bits of its states one by
 * one, on every CPU. The _f32 form works on float states, evaluated on the float path
 * (hnn_net_gradient_f32), with float arithmetic throughout. */
HNN_API hnn_status hnn_stepper_step(hnn_stepper *s, const hnn_net *net, double *x,
                                    size_t count, double h);
HNN_API hnn_status hnn_stepper_step_f32(hnn_stepper *s, const hnn_net *net, float *x,
                                        size_t count, float h);

/* Why the last step failed, or "" (also for NULL). */
HNN_API const char *hnn_stepper_last_error(const hnn_stepper *s);

#ifdef __cplusplus
}
#endif

#endif /* HNN_STEPPER_H */
