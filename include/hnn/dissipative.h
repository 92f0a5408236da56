/* libhnn dissipative models: fields that lose energy, learned with a Hamiltonian part that
 * still names the energy (docs/dissipation.md).
 *
 *   HNN_DISSIPATION_HELMHOLTZ  f = J grad H + grad D: two scalar nets, H conserved by the
 *                              first term and D a dissipation potential (the Helmholtz
 *                              decomposition of Sosanya & Greydanus 2022);
 *   HNN_DISSIPATION_PORT       f = (J - R) grad H, R = L L^T a learned constant symmetric
 *                              positive semidefinite matrix (port-Hamiltonian, no input),
 *                              so dH/dt = -grad H . R grad H <= 0 for any weights. */
#ifndef HNN_DISSIPATIVE_H
#define HNN_DISSIPATIVE_H

#include "hnn/field.h"
#include "hnn/model.h"
#include "hnn/net.h"
#include "hnn/optim.h"
#include "hnn/train.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hnn_dissipation {
    HNN_DISSIPATION_HELMHOLTZ = 0,
    HNN_DISSIPATION_PORT = 1
} hnn_dissipation;

typedef struct hnn_dissipative hnn_dissipative;

/* Creates a model whose H net is made from *net_def, which must describe a Hamiltonian net,
 * and, for Helmholtz, whose D net has H's widths over the full state: no feature map, no
 * kinetic term, seed + 1 (so a separable H, positions only, still gets a D that can damp
 * dp/dt). R starts as 0.01 I (L = 0.1 I). Its parameters are one flat array: H's, then D's
 * (Helmholtz) or the 2n(2n+1)/2 entries of L's lower triangle row by row (port). Each def is
 * read as hnn_net_create reads it (its first struct_size bytes); the model uses H's
 * allocator for everything. */
HNN_API hnn_status hnn_dissipative_create(hnn_dissipation kind, const hnn_net_def *net_def,
                                          hnn_dissipative **out, hnn_error *err);

/* As hnn_dissipative_create, with D's own definition (Helmholtz only; NULL: the default
 * above): a Hamiltonian-kind (scalar) net of H's n, any widths or feature map, no kinetic
 * term. HNN_ERR_INVALID_ARG for a d_def on a port model or a D that does not fit. */
HNN_API hnn_status hnn_dissipative_create_with(hnn_dissipation kind, const hnn_net_def *h_def,
                                               const hnn_net_def *d_def,
                                               hnn_dissipative **out, hnn_error *err);
HNN_API void hnn_dissipative_destroy(hnn_dissipative *m);

/* Why the last call that failed on this model (params_set, field, loss_mse) failed, or ""
 * after one that succeeded (also for NULL). hnn_dissipative_train reports through its err. */
HNN_API const char *hnn_dissipative_last_error(const hnn_dissipative *m);

HNN_API hnn_dissipation hnn_dissipative_kind(const hnn_dissipative *m);
HNN_API size_t hnn_dissipative_param_count(const hnn_dissipative *m);
HNN_API hnn_status hnn_dissipative_params_get(const hnn_dissipative *m, double *params,
                                              size_t count);
HNN_API hnn_status hnn_dissipative_params_set(hnn_dissipative *m, const double *params,
                                              size_t count);

/* The H net (always) and the D net (Helmholtz; NULL for port): evaluate them with the net
 * functions (with workspaces of yours: hnn_workspace_create), save H as a model file, build
 * quantities. */
HNN_API const hnn_net *hnn_dissipative_energy_net(const hnn_dissipative *m);
HNN_API const hnn_net *hnn_dissipative_dissipation_net(const hnn_dissipative *m);

/* R (2n x 2n, row-major) of a port model; HNN_ERR_WRONG_KIND for Helmholtz. */
HNN_API hnn_status hnn_dissipative_damping(const hnn_dissipative *m, double *R);

/* The field at `count` states (count x 2n). Uses the model's own workspaces: one thread at a
 * time per model. Status codes as hnn_net_field. Never allocates. */
HNN_API hnn_status hnn_dissipative_field(hnn_dissipative *m, const double *x, size_t count,
                                         double *field);

/* The field-matching MSE of `count` pairs and, if grad is not NULL, its exact gradient with
 * respect to the flat parameters (hnn_dissipative_param_count numbers). */
HNN_API hnn_status hnn_dissipative_loss_mse(hnn_dissipative *m, const double *x,
                                            const double *y, size_t count, double *loss,
                                            double *grad);

/* hnn_train for a dissipative model: the same loop, batches, progress and results. */
HNN_API hnn_status hnn_dissipative_train(hnn_dissipative *m, hnn_optimizer *opt,
                                         const hnn_dataset *train, const hnn_dataset *val,
                                         const hnn_train_def *def, hnn_train_result *result,
                                         hnn_error *err);

/* ---- model files (format version 3, docs/format.md; docs/dissipation.md) ---------------- */

/* As hnn_model_save_buffer and hnn_model_save, for a dissipative model: its kind, its nets'
 * shapes and activations, its flat parameters (hnn_dissipative_params_get's order) and,
 * each optional, the optimizer (made for hnn_dissipative_param_count parameters) and the
 * training progress, so training resumes bit for bit. The file is written as safely as a
 * net's (a flushed temporary renamed over path). */
HNN_API hnn_status hnn_dissipative_save_buffer(const hnn_dissipative *m, const hnn_optimizer *opt,
                                               const hnn_train_meta *meta, void *buffer,
                                               size_t capacity, size_t *size, hnn_error *err);
HNN_API hnn_status hnn_dissipative_save(const char *path, const hnn_dissipative *m,
                                        const hnn_optimizer *opt, const hnn_train_meta *meta,
                                        hnn_error *err);

/* As hnn_model_load_buffer_with and hnn_model_load_with (def NULL: the defaults; the budget
 * covers the model's nets with their workspaces and loss workspaces, its arrays and the
 * optimizer), for a file of a Helmholtz or
 * port-Hamiltonian model: a net's file is refused with HNN_ERR_WRONG_KIND, naming
 * hnn_model_load. Every status of the net loaders; on failure nothing is created. */
HNN_API hnn_status hnn_dissipative_load_buffer(const void *buffer, size_t size,
                                               const hnn_load_def *def, hnn_dissipative **m,
                                               hnn_optimizer **opt, hnn_train_meta *meta,
                                               hnn_error *err);
HNN_API hnn_status hnn_dissipative_load(const char *path, const hnn_load_def *def,
                                        hnn_dissipative **m, hnn_optimizer **opt,
                                        hnn_train_meta *meta, hnn_error *err);

/* A field source for integrators and diagnostics (not separable; no energy: the model's
 * energy is its H net's, but the field does not keep it). The model must outlive it. */
HNN_API hnn_status hnn_field_source_dissipative(hnn_dissipative *m, hnn_field_source *out);

#ifdef __cplusplus
}
#endif

#endif /* HNN_DISSIPATIVE_H */
