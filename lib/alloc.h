/* Private: allocation through a handle's allocator hook, and overflow-checked sizes. */
#ifndef HNN_LIB_ALLOC_H
#define HNN_LIB_ALLOC_H

#include "hnn/core.h"

/* Replaces a NULL hook with the C library's allocator. */
hnn_allocator hnni_allocator_resolve(hnn_allocator a);

/* A zero-filled block of `size` bytes (size > 0), or NULL. */
void *hnni_alloc(const hnn_allocator *a, size_t size);

/* Frees a block from hnni_alloc; `size` is the size it was allocated with. NULL is fine. */
void hnni_free(const hnn_allocator *a, void *ptr, size_t size);

/* A zero-filled block of `size` bytes starting on a 64-byte boundary (a cache line, an
 * AVX-512 vector), or NULL: for the numeric arrays the kernels stream. The hook only promises
 * alignment for double, so this asks for 64 bytes more and keeps the offset in the byte
 * before the block. Free it with hnni_free_aligned and the same size. */
void *hnni_alloc_aligned(const hnn_allocator *a, size_t size);
void hnni_free_aligned(const hnn_allocator *a, void *ptr, size_t size);

/* The bytes more than `size` that hnni_alloc_aligned asks the hook for. */
#define HNNI_ALIGN_EXTRA 64

/* *out = a * b, or 0 (and *out untouched) when that would overflow size_t. */
int hnni_mul_size(size_t a, size_t b, size_t *out);

/* *out = a + b, or 0 (and *out untouched) when that would overflow size_t. */
int hnni_add_size(size_t a, size_t b, size_t *out);

#endif
