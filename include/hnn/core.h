/* libhnn core: export macro, status codes, error reports, allocator hook, version query. */
#ifndef HNN_CORE_H
#define HNN_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "hnn/version.h"

/* HNN_API marks the symbols the shared library exports; everything else is hidden. */
#if defined(_WIN32) && !defined(HNN_STATIC)
#  if defined(HNN_BUILDING)
#    define HNN_API __declspec(dllexport)
#  else
#    define HNN_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define HNN_API __attribute__((visibility("default")))
#else
#  define HNN_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. The numbers are pinned: a code is never renumbered or reused. */
typedef enum hnn_status {
    HNN_OK = 0,
    HNN_ERR_NULL = 1,           /* a required pointer argument was NULL */
    HNN_ERR_INVALID_ARG = 2,    /* an argument is out of its documented range */
    HNN_ERR_NO_MEMORY = 3,      /* the allocator returned NULL */
    HNN_ERR_TOO_LARGE = 4,      /* a size is over a cap or its byte count would overflow */
    HNN_ERR_NONFINITE = 5,      /* an input holds NaN or infinity */
    HNN_ERR_WRONG_KIND = 6,     /* the operation does not apply to this kind of net */
    HNN_ERR_SIZE_MISMATCH = 7,  /* a buffer length or shape does not match the handle */
    HNN_ERR_IO = 8,             /* a file could not be opened, read or written */
    HNN_ERR_PARSE = 9,          /* text input is malformed */
    HNN_ERR_NO_CONVERGENCE = 10,/* an implicit solve did not converge */
    HNN_ERR_STOPPED = 11,       /* a user callback asked to stop */
    HNN_ERR_TRUNCATED = 12,     /* a model file or buffer ends early */
    HNN_ERR_BAD_MAGIC = 13,     /* not a libhnn model file */
    HNN_ERR_VERSION = 14,       /* a model file from a newer, unknown format version */
    HNN_ERR_CHECKSUM = 15,      /* a model file's checksum does not match its contents */
    HNN_ERR_CORRUPT = 16        /* a model file's fields are inconsistent or out of range */
} hnn_status;

/* A short, static, English description of a status ("invalid argument"). Never NULL. */
HNN_API const char *hnn_status_string(hnn_status status);

/* A detailed report of a failure, filled by functions that take an `hnn_error *`
 * (constructors and loaders, which have no handle to keep a message in).
 * Passing NULL is always allowed. On success, status is HNN_OK and message is "". */
#define HNN_ERROR_MESSAGE_SIZE 256
typedef struct hnn_error {
    hnn_status status;
    char message[HNN_ERROR_MESSAGE_SIZE];
} hnn_error;

/* Allocator hook, shaped like Lua's lua_Alloc:
 *   new_size > 0: return a block of new_size bytes holding the first
 *                 min(old_size, new_size) bytes of ptr (ptr may be NULL), or NULL on failure;
 *   new_size == 0: free ptr (which may be NULL) and return NULL.
 * old_size is the size the block was allocated with (0 when ptr is NULL).
 * All blocks must be aligned for double. */
typedef void *(*hnn_alloc_fn)(void *user, void *ptr, size_t old_size, size_t new_size);

typedef struct hnn_allocator {
    hnn_alloc_fn fn; /* NULL selects the C library's malloc/realloc/free */
    void *user;      /* passed back to fn unchanged */
} hnn_allocator;

/* The library's version as "MAJOR.MINOR.PATCH", matching the header it was built from. */
HNN_API const char *hnn_version_string(void);

/* The library's HNN_VERSION_NUMBER, to compare with the header a program was compiled with. */
HNN_API int hnn_version_number(void);

/* The number of threads a large batched call (evaluation, loss, training) made from the
 * calling thread may use. 1 unless libhnn was built with the CMake option HNN_OPENMP; then
 * OpenMP's setting for the calling thread: OMP_NUM_THREADS, or omp_set_num_threads() called
 * on that thread (and 1 inside an OpenMP parallel region). Results never depend on it: every
 * output is computed by one thread in one fixed order. */
HNN_API int hnn_max_threads(void);

#ifdef __cplusplus
}
#endif

#endif /* HNN_CORE_H */
