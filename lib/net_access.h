/* Private: what the rooms around the engine (model files, the trainer, dissipative models,
 * field sources and diagnostics) may do with a net beyond the public API. They never see
 * struct hnn_net: its layout and its rules (what a valid definition is, how many parameters it
 * implies, that the transposed copy follows every change) stay in net.c. */
#ifndef HNN_LIB_NET_ACCESS_H
#define HNN_LIB_NET_ACCESS_H

#include "hnn/net.h"

/* A caller's net def into *full, its first struct_size bytes over the defaults (the one rule
 * every function taking an hnn_net_def follows). */
hnn_status hnni_net_read_def(const hnn_net_def *def, hnn_net_def *full, hnn_error *err);

/* The one rule for a whole definition (*full, as hnni_net_read_def gives it): HNN_OK and its
 * parameter count if hnn_net_create would accept it, else the status and message
 * hnn_net_create would give. Allocates nothing. */
hnn_status hnni_net_def_check(const hnn_net_def *full, size_t *param_count, hnn_error *err);

/* 1 if m is a kinetic mass a net takes: 0 (none) or within [1e-100, 1e100]. Part of that
 * rule, for a reader that must judge the field before the rest of a definition is known. */
int hnni_kinetic_mass_ok(double m);

hnn_net_kind hnni_net_kind(const hnn_net *net);
const hnn_allocator *hnni_net_allocator(const hnn_net *net);

/* The parameters in storage order (hnn_net_param_count values; docs/format.md): read-only. */
const double *hnni_net_params(const hnn_net *net);

/* The parameter array itself, for a trainer that updates it in place; call
 * hnni_net_params_changed after every change (it rebuilds what is derived from them). */
double *hnni_net_params_for_update(hnn_net *net);
void hnni_net_params_changed(hnn_net *net);

/* Sets parameter i to value(ctx, i) for every i, straight into place (a loader's weights are
 * never held twice). HNN_ERR_NONFINITE for a NaN or infinite value, with its index in *bad;
 * the parameters are then partly set: destroy the net. */
hnn_status hnni_net_fill_params(hnn_net *net, double (*value)(const void *ctx, size_t i),
                                const void *ctx, size_t *bad);

/* For the field sources (sources.c): the net a workspace was made for, and whether the net's
 * H is T(p) + V(q) (positions-only features with a known kinetic term). */
const hnn_net *hnni_workspace_net(const hnn_workspace *ws);
int hnni_net_separable(const hnn_net *net);

#endif
