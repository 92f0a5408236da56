/* Private: model files on disk, whatever model they hold (model_io.c). */
#ifndef HNN_LIB_MODEL_IO_H
#define HNN_LIB_MODEL_IO_H

#include <stdint.h>
#include <stdio.h>

#include "hnn/core.h"

/* Writes size bytes to `path` safely (docs/format.md "How a file is written"): a new
 * temporary in the same directory, flushed, renamed over path; a failure leaves the old file
 * and no temporary. a is used for the temporary's name. HNN_ERR_IO with the reason. */
hnn_status hnni_model_write(const char *path, const unsigned char *data, size_t size,
                            const hnn_allocator *a, hnn_error *err);

/* Opens a model file for reading: a regular file of at most 2 GiB, its size in *size. */
hnn_status hnni_model_open(const char *path, FILE **out, uint64_t *size, hnn_error *err);

/* Puts the file's name in front of a failure's message (once); returns st. */
hnn_status hnni_model_named(hnn_status st, const char *path, hnn_error *err);

#endif
