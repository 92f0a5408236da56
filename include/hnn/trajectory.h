/* libhnn trajectories: recorded states over time, with no measured derivatives (a motion
 * capture, an encoder log, a simulation's output), and the ways to learn from them.
 *
 * A set holds `count` trajectories of one system (n degrees of freedom), trajectory i being
 * length_i states x = [q1..qn p1..pn] at strictly increasing times t; steps may be uneven
 * (dropped frames). Splits cut it into training and test sets that share no observation.
 * hnn_trajectories_to_dataset turns it into (state, slope) pairs by a difference rule, so
 * every model kind and every trainer learns from it through the usual derivative loss
 * (docs/trajectories.md says which rule to use when). */
#ifndef HNN_TRAJECTORY_H
#define HNN_TRAJECTORY_H

#include "hnn/core.h"
#include "hnn/data.h"
#include "hnn/dissipative.h"
#include "hnn/integrate.h"
#include "hnn/loss.h"
#include "hnn/net.h"
#include "hnn/optim.h"
#include "hnn/train.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hnn_trajectories hnn_trajectories;

/* Copies `count` trajectories into a new set: lengths[i] states each (every length >= 1),
 * times t (sum of lengths) and states x (sum of lengths x 2n, row-major), trajectory after
 * trajectory. Times must be finite and strictly increasing within a trajectory, states
 * finite. alloc may be NULL (malloc). Errors name the bad value: HNN_ERR_NULL,
 * HNN_ERR_INVALID_ARG (dof 0 or over HNN_MAX_DOF, count 0, a zero length, a time not after
 * the previous one or too far from the first for the span to be finite), HNN_ERR_NONFINITE,
 * HNN_ERR_TOO_LARGE, HNN_ERR_NO_MEMORY. */
HNN_API hnn_status hnn_trajectories_create(size_t dof, size_t count, const size_t *lengths,
                                           const double *t, const double *x,
                                           const hnn_allocator *alloc, hnn_trajectories **out,
                                           hnn_error *err);

/* Loads a CSV file: the header trajectory,t,q1..qn,p1..pn (n read from it), then one row per
 * observation: a trajectory label (a whole number written with at most 15 digits and an
 * optional sign, -0 being 0: rows with one label form one trajectory and must be
 * contiguous), the time, the state. Times strictly increase within a
 * trajectory. Blank lines are skipped; CRLF is accepted. On failure *out is NULL, nothing
 * is left allocated, and err names the file and line: HNN_ERR_IO, HNN_ERR_PARSE (a bad
 * header, a wrong column count, a cell that is not a finite number, a bad label, a time that
 * does not increase or whose distance from the trajectory's first overflows, a trajectory
 * whose rows are split, no data rows), HNN_ERR_TOO_LARGE,
 * HNN_ERR_NO_MEMORY. */
HNN_API hnn_status hnn_trajectories_load_csv(const char *path, const hnn_allocator *alloc,
                                             hnn_trajectories **out, hnn_error *err);

/* Frees the set. NULL is harmless. */
HNN_API void hnn_trajectories_destroy(hnn_trajectories *tr);

/* Trajectories, degrees of freedom, and observations in all (0 for NULL). */
HNN_API size_t hnn_trajectories_count(const hnn_trajectories *tr);
HNN_API size_t hnn_trajectories_dof(const hnn_trajectories *tr);
HNN_API size_t hnn_trajectories_total(const hnn_trajectories *tr);

/* Trajectory i: its length (0 if i is out of range or tr is NULL), and pointers to its
 * times and its states (length x 2n, row-major; NULL if out of range), valid while the set
 * lives. */
HNN_API size_t hnn_trajectories_length(const hnn_trajectories *tr, size_t i);
HNN_API const double *hnn_trajectories_times(const hnn_trajectories *tr, size_t i);
HNN_API const double *hnn_trajectories_states(const hnn_trajectories *tr, size_t i);

/* How a split keeps the test set apart from the training set. */
typedef enum hnn_split {
    /* the first round(train_fraction x count) whole trajectories train, the rest test */
    HNN_SPLIT_TRAJECTORIES = 0,
    /* every trajectory is cut in time: observations with t - t_first < train_fraction x
     * (t_last - t_first) train, the later ones test (one long recording: its start trains) */
    HNN_SPLIT_TIME = 1
} hnn_split;

/* Splits into *train and *test (both created, or neither), train_fraction in (0, 1). No
 * observation is in both, and no difference pair spans the cut. HNN_ERR_INVALID_ARG when a
 * side would be empty (names the fraction and the counts); a time split drops the pieces
 * with fewer than 2 observations (they make no pair) and fails if a side is left empty. */
HNN_API hnn_status hnn_trajectories_split(const hnn_trajectories *tr, hnn_split how,
                                          double train_fraction, hnn_trajectories **train,
                                          hnn_trajectories **test, hnn_error *err);

/* The difference rules that make (state, slope) pairs from consecutive observations, with
 * h_k = t_{k+1} - t_k the actual step; pairs never cross from one trajectory to the next. */
typedef enum hnn_difference {
    /* state x_k, slope (x_{k+1} - x_k) / h_k: first order in h (Greydanus et al.'s real
     * pendulum); length - 1 pairs per trajectory */
    HNN_DIFF_FORWARD = 0,
    /* interior state x_k, the three-point slope exact for quadratics on uneven steps,
     * [h_{k-1}^2 (x_{k+1} - x_k) + h_k^2 (x_k - x_{k-1})] / (h_{k-1} h_k (h_{k-1} + h_k)):
     * second order; length - 2 pairs per trajectory */
    HNN_DIFF_CENTRAL = 1,
    /* state (x_k + x_{k+1}) / 2, slope (x_{k+1} - x_k) / h_k: the loss
     * mean |(x_{k+1} - x_k) / h_k - f((x_k + x_{k+1}) / 2)|^2 that the implicit midpoint
     * rule satisfies exactly (no solve needed); second order; length - 1 pairs */
    HNN_DIFF_MIDPOINT = 2
} hnn_difference;

/* The pairs of `rule` as a new dataset, trajectory after trajectory in time order (train it
 * with hnn_train or any trainer: its derivative loss is then the rule's loss). alloc may be
 * NULL. HNN_ERR_INVALID_ARG when no trajectory is long enough for one pair (names the rule
 * and the lengths it needs). */
HNN_API hnn_status hnn_trajectories_to_dataset(const hnn_trajectories *tr, hnn_difference rule,
                                               const hnn_allocator *alloc, hnn_dataset **out,
                                               hnn_error *err);

/* ---- the multi-step rollout loss (0.7) ------------------------------------------------- */

/* The windows of `horizon` steps: observations with at least `horizon` later ones in their
 * trajectory. Returns how many; if starts is not NULL, writes their indices in the set's
 * flat order (trajectory i's observation k is number sum_{i' < i} length_i' + k). */
HNN_API size_t hnn_trajectories_windows(const hnn_trajectories *tr, size_t horizon,
                                        size_t *starts);

/* The rollout loss of a net on `count` windows: from each window's first observation x_k,
 * `horizon` = K steps of classical RK4 over the recorded steps h_k .. h_{k+K-1} give
 * y_1 .. y_K, and
 *     L = 1 / (2n K count) * sum over windows, j = 1..K and components of (y_j - x_{k+j})^2.
 * If grad is not NULL it receives dL/dtheta (hnn_net_param_count numbers, overwritten),
 * exact to rounding, by reverse through the steps: per step and window four field
 * evaluations forward, and back four field Jacobians (hnn_net_field_jacobian) and four
 * parameter products of the loss engine; cost and memory linear in K. ws and lw are the
 * net's (hnn_workspace_create / hnn_net_workspace, hnn_loss_workspace_create). Sweeps 256
 * windows at a time, allocating one chunk's scratch (min(count, 256) x (2n (5K + 2n + 14) +
 * K) doubles) through the net's allocator for the call. On error grad may be partly written.
 * Hamiltonian and direct-field nets with any feature map or kinetic term. Errors, with
 * hnn_loss_workspace_last_error saying why: HNN_ERR_NULL, HNN_ERR_INVALID_ARG (horizon
 * outside 1..1024, count 0, a window that leaves its trajectory), HNN_ERR_SIZE_MISMATCH,
 * HNN_ERR_TOO_LARGE, HNN_ERR_NO_MEMORY, HNN_ERR_NONFINITE (the rollout overflowed). */
HNN_API hnn_status hnn_rollout_loss(const hnn_net *net, hnn_workspace *ws,
                                    hnn_loss_workspace *lw, const hnn_trajectories *tr,
                                    size_t horizon, const size_t *starts, size_t count,
                                    double *loss, double *grad);

/* hnn_train on the rollout loss: every window of `horizon` steps of `train` is a sample
 * (shuffled, batched, def->batch_size windows per step; 0: all), `val`'s windows (NULL: none)
 * give the validation loss; the same determinism, progress, stopping and result as
 * hnn_train (docs/training.md), except that each loss evaluation allocates its sweep.
 * Hamiltonian and direct-field nets. Errors as hnn_train, HNN_ERR_INVALID_ARG for a horizon
 * outside 1..1024 or a set with no window that long, and HNN_ERR_TOO_LARGE /
 * HNN_ERR_NONFINITE from the loss. */
HNN_API hnn_status hnn_train_rollout(hnn_net *net, hnn_optimizer *opt,
                                     const hnn_trajectories *train,
                                     const hnn_trajectories *val, size_t horizon,
                                     const hnn_train_def *def, hnn_train_result *result,
                                     hnn_error *err);

/* hnn_rollout_loss and hnn_train_rollout with the scheme chosen: HNN_METHOD_RK4 (what the
 * two above use) or HNN_METHOD_LEAPFROG, explicit Stormer-Verlet (kick, drift, kick: three
 * field evaluations per step, order 2, symplectic) for separable nets only (positions
 * features with a kinetic mass, H = |p|^2 / (2m) + V(q)); any other method, or leapfrog on
 * a net that is not separable, is HNN_ERR_INVALID_ARG with the reason. The same loss
 * otherwise, its exact gradient by reverse through the leapfrog steps. (0.7) */
HNN_API hnn_status hnn_rollout_loss_with(const hnn_net *net, hnn_workspace *ws,
                                         hnn_loss_workspace *lw, const hnn_trajectories *tr,
                                         hnn_method method, size_t horizon,
                                         const size_t *starts, size_t count, double *loss,
                                         double *grad);
HNN_API hnn_status hnn_train_rollout_with(hnn_net *net, hnn_optimizer *opt,
                                          const hnn_trajectories *train,
                                          const hnn_trajectories *val, hnn_method method,
                                          size_t horizon, const hnn_train_def *def,
                                          hnn_train_result *result, hnn_error *err);

/* The rollout loss and its training for a dissipative or port-Hamiltonian model: the same
 * windows, RK4 steps and L as hnn_rollout_loss, on the model's field (hnn_dissipative_field);
 * grad receives hnn_dissipative_param_count numbers in the model's flat order. The field's
 * Jacobian comes from the Hessians of H and D (hnn_net_hessian), so a step costs more than a
 * net's; scratch as hnn_rollout_loss, through the model's allocator. The model's own buffers
 * are used: one thread per model. Errors as hnn_rollout_loss, with
 * hnn_dissipative_last_error saying why; the trainer as hnn_train_rollout, the model's
 * parameters updated in place. (0.7) */
HNN_API hnn_status hnn_dissipative_rollout_loss(hnn_dissipative *m,
                                                const hnn_trajectories *tr, size_t horizon,
                                                const size_t *starts, size_t count,
                                                double *loss, double *grad);
HNN_API hnn_status hnn_dissipative_train_rollout(hnn_dissipative *m, hnn_optimizer *opt,
                                                 const hnn_trajectories *train,
                                                 const hnn_trajectories *val, size_t horizon,
                                                 const hnn_train_def *def,
                                                 hnn_train_result *result, hnn_error *err);

#ifdef __cplusplus
}
#endif

#endif /* HNN_TRAJECTORY_H */
