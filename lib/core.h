/* Private: filling hnn_error reports. */
#ifndef HNN_LIB_CORE_H
#define HNN_LIB_CORE_H

#include "hnn/core.h"

#if defined(__GNUC__) || defined(__clang__)
#define HNNI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define HNNI_PRINTF(f, a)
/* 1 if all count values are finite (no NaN, no infinity). */
int hnni_all_finite(const double *v, size_t count);

/* Finishes a *_def_init: every public def struct starts with `size_t struct_size`. Stores
 * min(struct_size, full_size) in the defaults' first field and copies that many bytes to
 * def, so a caller compiled against an older, smaller struct is never written past. */
void hnni_publish_def(void *def, void *defaults, size_t full_size, size_t struct_size);

#endif

/* Writes status and a printf-style message into err (if not NULL); returns status. */
hnn_status hnni_fail(hnn_error *err, hnn_status status, const char *fmt, ...) HNNI_PRINTF(3, 4);

/* Marks err (if not NULL) as a success; returns HNN_OK. */
hnn_status hnni_ok(hnn_error *err);

/* Formats a message into a fixed buffer of HNN_ERROR_MESSAGE_SIZE bytes. */
void hnni_format(char *buf, const char *fmt, ...) HNNI_PRINTF(2, 3);

/* 1 if all count values are finite (no NaN, no infinity). */
int hnni_all_finite(const double *v, size_t count);

/* Finishes a *_def_init: every public def struct starts with `size_t struct_size`. Stores
 * min(struct_size, full_size) in the defaults' first field and copies that many bytes to
 * def, so a caller compiled against an older, smaller struct is never written past. */
void hnni_publish_def(void *def, void *defaults, size_t full_size, size_t struct_size);

#endif
