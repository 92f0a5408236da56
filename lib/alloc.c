/* Allocation through a Lua-style hook, and the overflow checks every size goes through. */
#include "alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void *default_alloc(void *user, void *ptr, size_t old_size, size_t new_size)
{
    (void)user;
    (void)old_size;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, new_size);
}

hnn_allocator hnni_allocator_resolve(hnn_allocator a)
{
    if (a.fn == NULL) {
        a.fn = default_alloc;
        a.user = NULL;
    }
    return a;
}

void *hnni_alloc(const hnn_allocator *a, size_t size)
{
    void *p = a->fn(a->user, NULL, 0, size);
    if (p != NULL)
        memset(p, 0, size);
    return p;
}

void hnni_free(const hnn_allocator *a, void *ptr, size_t size)
{
    if (ptr != NULL)
        a->fn(a->user, ptr, size, 0);
}

enum { ALIGNMENT = HNNI_ALIGN_EXTRA };

void *hnni_alloc_aligned(const hnn_allocator *a, size_t size)
{
    unsigned char *raw, *p;
    size_t offset;
    if (size > SIZE_MAX - ALIGNMENT || (raw = (unsigned char *)hnni_alloc(a, size + ALIGNMENT)) == NULL)
        return NULL;
    offset = ALIGNMENT - (size_t)((uintptr_t)raw % ALIGNMENT); /* 1..64: room for the byte */
    p = raw + offset;
    p[-1] = (unsigned char)offset;
    return p;
}

void hnni_free_aligned(const hnn_allocator *a, void *ptr, size_t size)
{
    unsigned char *p = (unsigned char *)ptr;
    if (p != NULL)
        hnni_free(a, p - p[-1], size + ALIGNMENT);
}

int hnni_mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

int hnni_add_size(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a)
        return 0;
    *out = a + b;
    return 1;
}
