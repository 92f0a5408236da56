/* Private: error reports, finiteness checks and the def-struct version rule. */
#ifndef HNN_LIB_CORE_H
#define HNN_LIB_CORE_H

#include "hnn/core.h"

#if defined(__GNUC__) || defined(__clang__)
#define HNNI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define HNNI_PRINTF(f, a)
#endif

/* Writes status and a printf-style message into err (if not NULL); returns status. */
hnn_status hnni_fail(hnn_error *err, hnn_status status, const char *fmt, ...) HNNI_PRINTF(3, 4);

/* Marks err (if not NULL) as a success; returns HNN_OK. */
hnn_status hnni_ok(hnn_error *err);

/* Formats a message into a fixed buffer of HNN_ERROR_MESSAGE_SIZE bytes. */
void hnni_format(char *buf, const char *fmt, ...) HNNI_PRINTF(2, 3);

/* The per-call error channel of a handle (integrator, diagnostics, workspace, loss
 * workspace, optimizer, dissipative model, net): formats the message into the handle's
 * buffer (HNN_ERROR_MESSAGE_SIZE bytes) and returns status. */
hnn_status hnni_refuse(char *message, hnn_status status, const char *fmt, ...) HNNI_PRINTF(3, 4);

/* 1 if all count values are finite (no NaN, no infinity). */
int hnni_all_finite(const double *v, size_t count);

/* The index of the first NaN or infinity among count values, or count if there is none. */
size_t hnni_first_nonfinite(const double *v, size_t count);
size_t hnni_first_nonfinite_f32(const float *v, size_t count);

/* Every public def struct starts with `size_t struct_size`, the size of the struct the caller
 * was compiled with: this header's sizeof, or the sizeof of the same struct in a released
 * older header (`older`, a list ending in 0, or NULL when the struct never grew). Any other
 * value is no header's and is refused: it would make the library read bytes that are not the
 * caller's.
 *
 * hnni_publish_def finishes a *_def_init: it stores min(struct_size, full_size) in the
 * defaults' first field and copies that many bytes to def, so a caller compiled against an
 * older, smaller struct is never written past (nothing, if struct_size cannot hold the size
 * field itself).
 *
 * hnni_read_def reads a caller's def into `full` (full_size bytes, already holding this
 * library's defaults): the caller's first struct_size bytes replace the defaults, so fields a
 * caller from an older version did not know keep their defaults. A struct_size that is no
 * released size (a def from a newer header, whose extra settings this library could not
 * honour, or garbage) is refused with HNN_ERR_INVALID_ARG. */
void hnni_publish_def(void *def, void *defaults, size_t full_size, size_t struct_size);
int hnni_released_size(size_t size, size_t full_size, const size_t *older);
hnn_status hnni_read_def(const void *def, void *full, size_t full_size, const size_t *older,
                         const char *type, hnn_error *err);

/* Value structs (hnn_field_source, hnn_quantity, hnn_bodies, hnn_drift, hnn_train_result,
 * hnn_train_meta) start with struct_size too and follow the same rule of released sizes (one
 * each so far; when one grows, its readers copy the caller's part over defaults as
 * hnni_read_def does). hnni_value_ok: 1 if the struct at p has a released size.
 * hnni_value_check says the same as a status, and on refusal writes the one message for it
 * ("hnn_drift.struct_size is 0, expected 48: set it to sizeof(hnn_drift)") into a handle's
 * message buffer (may be NULL); hnni_value_check_err into an hnn_error (may be NULL). A
 * function that fills one writes it with hnni_copy_def_out. */
int hnni_value_ok(const void *p, size_t full_size);
hnn_status hnni_value_check(const void *p, size_t full_size, const char *type, char *message);
hnn_status hnni_value_check_err(const void *p, size_t full_size, const char *type,
                                hnn_error *err);

/* For the *_get_def functions: copies a handle's def (full_size bytes) into the caller's
 * struct, as much of it as the caller's struct_size says it holds; HNN_ERR_INVALID_ARG for a
 * struct_size that is no released size. */
hnn_status hnni_copy_def_out(void *def, const void *src, size_t full_size, const size_t *older);

#endif
