/* libhnn model files: a portable, checked binary format for a net, optionally with its
 * optimizer state and training progress (docs/format.md specifies it byte by byte). */
#ifndef HNN_MODEL_H
#define HNN_MODEL_H

#include "hnn/net.h"
#include "hnn/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The newest format version this library reads and writes. A net without a feature map or
 * kinetic term is still written as version 1 (which libhnn 0.1.0 reads); any other as 2. */
#define HNN_MODEL_FORMAT_VERSION 2

/* Training progress stored beside a model, so training can resume. */
typedef struct hnn_train_meta {
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

/* Writes the model to `path` safely: into "<path>.tmp" first, flushed to disk, then renamed
 * over `path`, so a failed or interrupted save leaves any previous file intact (on POSIX
 * systems the rename is atomic). HNN_ERR_IO with the reason on failure. */
HNN_API hnn_status hnn_model_save(const char *path, const hnn_net *net, const hnn_optimizer *opt,
                                  const hnn_train_meta *meta, hnn_error *err);

/* Reads a model from `size` bytes of memory. Every field is checked before use, sizes are
 * capped, and nothing is read out of bounds whatever the bytes: a short buffer is
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

/* Reads a model file (at most 2 GiB); as hnn_model_load_buffer, plus HNN_ERR_IO. */
HNN_API hnn_status hnn_model_load(const char *path, const hnn_allocator *alloc, hnn_net **net,
                                  hnn_optimizer **opt, hnn_train_meta *meta, hnn_error *err);

/* CRC-32 (IEEE 802.3: reflected polynomial 0xEDB88320, initial value and final xor
 * 0xFFFFFFFF) of size bytes, continuing from `crc` (start with 0). The model files' checksum. */
HNN_API uint32_t hnn_crc32(uint32_t crc, const void *data, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* HNN_MODEL_H */
