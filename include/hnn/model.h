/* libhnn model files: a portable, checked binary format for a net, optionally with its
 * optimizer state and training progress (docs/format.md specifies it byte by byte). */
#ifndef HNN_MODEL_H
#define HNN_MODEL_H

#include "hnn/net.h"
#include "hnn/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The newest format version this library reads and writes. Each model has one encoding, the
 * oldest that can hold it: a tanh net without a feature map or kinetic term is version 1
 * (which libhnn 0.1.0 reads), any other tanh net version 2 (0.2.0 on), and a net with another
 * activation or a dissipative model version 3 (0.6.0 on; older libraries refuse it with
 * HNN_ERR_VERSION). */
#define HNN_MODEL_FORMAT_VERSION 3

/* What a model file holds (hnn_model_info.model_kind). hnn_model_load* reads the first,
 * hnn_dissipative_load* (hnn/dissipative.h) the other two; each refuses the others with
 * HNN_ERR_WRONG_KIND. */
typedef enum hnn_model_kind {
    HNN_MODEL_NET = 0,       /* one hnn_net */
    HNN_MODEL_HELMHOLTZ = 1, /* a dissipative model: H and D nets */
    HNN_MODEL_PORT = 2       /* a port-Hamiltonian model: H net and L's lower triangle */
} hnn_model_kind;

/* Training progress stored beside a model, so training can resume. A value struct (docs/api.md
 * "Value structs"): set struct_size, `hnn_train_meta meta = {sizeof meta};`, before a save
 * reads it or a load writes it. */
typedef struct hnn_train_meta {
    size_t struct_size;
    int present;          /* on load: 1 if the file had this section */
    uint64_t steps_done;  /* optimizer steps taken so far */
    double train_loss;    /* last training loss (NaN if unknown) */
    double val_loss;      /* last validation loss (NaN if none) */
} hnn_train_meta;

/* Serializes net (and opt and meta, each optional: NULL leaves the section out) into
 * buffer[0..capacity). *size receives the exact size needed in every case; a NULL buffer asks
 * for the size only (HNN_OK). A buffer too small gets HNN_ERR_SIZE_MISMATCH and is not
 * written. opt must have been made for the net's parameter count. */
HNN_API hnn_status hnn_model_save_buffer(const hnn_net *net, const hnn_optimizer *opt,
                                         const hnn_train_meta *meta, void *buffer,
                                         size_t capacity, size_t *size, hnn_error *err);

/* Writes the model to `path` safely: into a new temporary file in the same directory,
 * flushed to disk, then renamed over `path`, so a failed or interrupted save leaves any
 * previous file intact (on POSIX systems the rename is atomic). The temporary is created
 * exclusively (unnamed while written on Linux; elsewhere "<path>.tmp-<16 hex digits>" with
 * O_EXCL | O_NOFOLLOW), so no file or symlink is ever written through; the replaced file's
 * permission bits are kept. docs/api.md says what a save promises under signals.
 * HNN_ERR_IO with the reason on failure. */
HNN_API hnn_status hnn_model_save(const char *path, const hnn_net *net, const hnn_optimizer *opt,
                                  const hnn_train_meta *meta, hnn_error *err);

/* Reads a net's model from `size` bytes of memory (a dissipative model's file is refused with
 * HNN_ERR_WRONG_KIND, naming hnn_dissipative_load). Every field is checked before use, sizes
 * are capped, and nothing is read out of bounds whatever the bytes: a short buffer is
 * HNN_ERR_TRUNCATED, a foreign one HNN_ERR_BAD_MAGIC, a newer format HNN_ERR_VERSION, damaged
 * contents HNN_ERR_CHECKSUM, inconsistent fields HNN_ERR_CORRUPT, sizes over the caps
 * HNN_ERR_TOO_LARGE. On success *net is a new net; if opt is not NULL, *opt is a new
 * optimizer when the model has one (else NULL); if meta is not NULL it receives the training
 * section (meta->present says whether there was one). On failure nothing is created. alloc
 * (may be NULL) is used for everything created. */
HNN_API hnn_status hnn_model_load_buffer(const void *buffer, size_t size,
                                         const hnn_allocator *alloc, hnn_net **net,
                                         hnn_optimizer **opt, hnn_train_meta *meta,
                                         hnn_error *err);

/* Reads a model file (at most 2 GiB); as hnn_model_load_buffer, plus HNN_ERR_IO. The header
 * is read and checked first, so a file that is not a model, or larger than its header says,
 * is refused before the rest is read. */
HNN_API hnn_status hnn_model_load(const char *path, const hnn_allocator *alloc, hnn_net **net,
                                  hnn_optimizer **opt, hnn_train_meta *meta, hnn_error *err);

/* ---- loading within a memory budget ---------------------------------------------------- */

/* The default budget: far above any model a program trains (a 2 x 512 net with n = 256 and
 * Adam takes 38 MiB to load), far below what a small hostile file could ask for. */
#define HNN_LOAD_DEFAULT_MAX_BYTES ((size_t)1 << 30)

/* How a model is loaded. Get one from hnn_load_def_default(). */
typedef struct hnn_load_def {
    size_t struct_size;
    hnn_allocator allocator; /* for everything created; default malloc */
    size_t max_bytes;        /* the most the load may ask the allocator for in all: the file's
                                bytes (file loads), the net with its own workspace, the
                                optimizer and the copy of its state it reads through; default
                                HNN_LOAD_DEFAULT_MAX_BYTES */
} hnn_load_def;

HNN_API void hnn_load_def_init(hnn_load_def *def, size_t struct_size);

static inline hnn_load_def hnn_load_def_default(void)
{
    hnn_load_def def;
    hnn_load_def_init(&def, sizeof def);
    return def;
}

/* hnn_model_load_buffer and hnn_model_load with a budget (def NULL: the defaults, which is
 * what those two use): a model that needs more than def->max_bytes is refused with
 * HNN_ERR_TOO_LARGE, naming what it needs, before anything large is allocated. */
HNN_API hnn_status hnn_model_load_buffer_with(const void *buffer, size_t size,
                                              const hnn_load_def *def, hnn_net **net,
                                              hnn_optimizer **opt, hnn_train_meta *meta,
                                              hnn_error *err);
HNN_API hnn_status hnn_model_load_with(const char *path, const hnn_load_def *def,
                                       hnn_net **net, hnn_optimizer **opt,
                                       hnn_train_meta *meta, hnn_error *err);

/* ---- what a file holds, without loading it --------------------------------------------- */

/* A model file's header, sections and memory needs. Set struct_size (sizeof) before the
 * call; the library writes only that many bytes (0.4-0.5's size, which ends at load_bytes,
 * is still accepted). For a dissipative model the fields from kind to seed describe its H
 * net, the d_ fields its D net (Helmholtz), and params, net_bytes and load_bytes the whole
 * model. */
typedef struct hnn_model_info {
    size_t struct_size;
    uint32_t format_version;
    hnn_net_kind kind;
    hnn_feature_map features;
    size_t dof, bodies, depth, widths[HNN_MAX_HIDDEN];
    double kinetic_mass;
    uint64_t seed;
    size_t params;
    int has_optimizer;            /* then optimizer_kind, lr and optimizer_steps are set */
    hnn_optimizer_kind optimizer_kind;
    double lr;
    uint64_t optimizer_steps;
    int has_training;             /* then steps_done, train_loss, val_loss are set */
    uint64_t steps_done;
    double train_loss, val_loss;
    uint64_t file_bytes;          /* the size the header implies (and the file has) */
    size_t net_bytes;             /* what the loaded net takes (hnn_net_def_bytes) */
    size_t workspace_bytes;       /* each further workspace for it */
    size_t optimizer_bytes;       /* the optimizer, while loading (0 without one) */
    size_t load_bytes;            /* what hnn_model_load asks for in all: the budget it needs */
    /* 0.6 on: */
    hnn_model_kind model_kind;
    hnn_activation activation;    /* the (H) net's hidden layers' */
    size_t h_params;              /* the (H) net's parameters (the first of the flat ones) */
    size_t l_params;              /* port: the entries of L's lower triangle, 2n(2n+1)/2 */
    /* Helmholtz only (zero otherwise): the D net, a scalar net of the same n */
    hnn_feature_map d_features;
    hnn_activation d_activation;
    size_t d_bodies, d_depth, d_widths[HNN_MAX_HIDDEN];
    uint64_t d_seed;
    size_t d_params;
} hnn_model_info;

/* Reads the header and the sections' fixed fields of a model file or buffer of any kind (a
 * few hundred bytes, whatever the file's size) and checks them as the loader does, but not the
 * parameters or the checksum: hnn_model_load still can refuse a file this accepts. The same
 * status codes as the loader; HNN_ERR_INVALID_ARG for a struct_size this library does not
 * know. */
HNN_API hnn_status hnn_model_info_read(const char *path, hnn_model_info *info, hnn_error *err);
HNN_API hnn_status hnn_model_info_buffer(const void *buffer, size_t size, hnn_model_info *info,
                                         hnn_error *err);

/* CRC-32 (IEEE 802.3: reflected polynomial 0xEDB88320, initial value and final xor
 * 0xFFFFFFFF) of size bytes, continuing from `crc` (start with 0). The model files' checksum. */
HNN_API uint32_t hnn_crc32(uint32_t crc, const void *data, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* HNN_MODEL_H */
