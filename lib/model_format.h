/* Private: the bytes of a model file (docs/format.md), for every model kind: the encoder,
 * the checked reader of the header and sections, and the load driver the public loaders
 * (model.c for nets, dissipative_file.c for dissipative models) hand their builders to. */
#ifndef HNN_LIB_MODEL_FORMAT_H
#define HNN_LIB_MODEL_FORMAT_H

#include <stdint.h>
#include <stdio.h>

#include "hnn/model.h"

#define HNNI_OPT_REALS 7 /* lr, weight_decay, momentum, dampening, beta1, beta2, eps */

/* One net's block of the header, as read (nothing trusted before it is checked). */
typedef struct hnni_net_block {
    uint32_t kind, features, bodies, activation, dof, depth, widths[HNN_MAX_HIDDEN];
    double kinetic_mass;
    uint64_t seed, params;
} hnni_net_block;

/* Everything the structure of a file says. */
typedef struct hnni_layout {
    uint32_t version, flags, model; /* model: an hnn_model_kind */
    uint32_t nets;                  /* net blocks: 2 for Helmholtz, else 1 */
    hnni_net_block net[2];
    uint64_t params;                /* the flat count: the nets' and (port) L's */
    size_t params_at;               /* byte offset of the first parameter */
    uint32_t opt_kind, opt_options;
    double opt_reals[HNNI_OPT_REALS];
    uint64_t state_count, first_state; /* first_state: the step count's bits */
    size_t state_at;
    uint64_t steps_done;
    double train_loss, val_loss;
} hnni_layout;

#define HNNI_HAS_OPTIMIZER(L) (((L)->flags & 1u) != 0)
#define HNNI_HAS_TRAINING(L) (((L)->flags & 2u) != 0)

/* ---- writing -------------------------------------------------------------------------- */

/* A model to serialize: its kind, its nets' defs and parameter counts, its flat parameters
 * (the nets' in order, then L's for port) and the optional sections. */
typedef struct hnni_model_out {
    hnn_model_kind model;
    size_t nets;
    hnn_net_def def[2];
    size_t net_params[2];
    const double *params;
    size_t count;
    const hnn_optimizer *opt;  /* or NULL */
    const hnn_train_meta *meta; /* or NULL */
    const char *fn;            /* the public function, for messages */
} hnni_model_out;

/* The save_buffer contract: *size always, the bytes when buffer holds them. */
hnn_status hnni_model_encode(const hnni_model_out *m, void *buffer, size_t capacity,
                             size_t *size, hnn_error *err);

/* Encodes into a new buffer (allocator a) and writes it safely to path. */
hnn_status hnni_model_save_file(const char *path, const hnni_model_out *m,
                                const hnn_allocator *a, hnn_error *err);

/* ---- reading -------------------------------------------------------------------------- */

/* Where bytes come from: memory, or a file read only where asked. */
typedef struct hnni_source {
    const unsigned char *buffer; /* or NULL: f */
    FILE *f;
    uint64_t size;
} hnni_source;

/* The header and the sections' fixed fields (a few hundred bytes), checked as the loader
 * checks them, and the size they imply against the source's; not the parameters or the
 * checksum. */
hnn_status hnni_layout_structure(const hnni_source *s, hnni_layout *L, hnn_error *err);
uint64_t hnni_layout_file_size(const hnni_layout *L);

/* Net `which` (0: the net or H; 1: D) as a definition, with alloc if not NULL. */
hnn_net_def hnni_layout_def(const hnni_layout *L, size_t which, const hnn_allocator *alloc);

/* What loading the model takes from the allocator, besides the file's own bytes. */
typedef struct hnni_needs {
    size_t model, workspace, optimizer, total;
} hnni_needs;
hnn_status hnni_layout_needs(const hnni_layout *L, hnni_needs *n, hnn_error *err);

/* The parameters of a checked buffer, for hnni_net_fill_params and its like. */
typedef struct hnni_file_params {
    const unsigned char *p;
    size_t size;
    const hnni_layout *L;
} hnni_file_params;
double hnni_file_param(const void *ctx, size_t i);

/* A loader's part: build the model from a checked file (nothing left on failure), or undo
 * what build made. The driver does the rest: checks, budget, optimizer, training section. */
typedef struct hnni_loader {
    int dissipative; /* 1: the loader takes Helmholtz and port files; 0: net files */
    hnn_status (*build)(void *ctx, const hnni_file_params *fp, const hnn_allocator *a,
                        hnn_error *err);
    void (*undo)(void *ctx);
    void *ctx;
    hnn_optimizer **opt;  /* may be NULL */
    hnn_train_meta *meta; /* may be NULL */
} hnni_loader;

/* Loads from memory (the bytes are the caller's) or from a file, within def's budget (def
 * NULL: the defaults). The caller has checked its own out-pointers and set them NULL. */
hnn_status hnni_model_load_bytes(const void *buffer, size_t size, const hnn_load_def *def,
                                 const hnni_loader *ld, hnn_error *err);
hnn_status hnni_model_load_file(const char *path, const hnn_load_def *def,
                                const hnni_loader *ld, hnn_error *err);

#endif
