/* Status strings, error reports and the version query. */
#include "core.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define HNNI_STR2(x) #x
#define HNNI_STR(x) HNNI_STR2(x)

const char *hnn_status_string(hnn_status status)
{
    switch (status) {
    case HNN_OK: return "ok";
    case HNN_ERR_NULL: return "a required pointer was NULL";
    case HNN_ERR_INVALID_ARG: return "invalid argument";
    case HNN_ERR_NO_MEMORY: return "out of memory";
    case HNN_ERR_TOO_LARGE: return "size too large";
    case HNN_ERR_NONFINITE: return "input holds NaN or infinity";
    case HNN_ERR_WRONG_KIND: return "operation does not apply to this kind of net";
    case HNN_ERR_SIZE_MISMATCH: return "size does not match";
    case HNN_ERR_IO: return "input/output error";
    case HNN_ERR_PARSE: return "malformed input";
    case HNN_ERR_NO_CONVERGENCE: return "implicit solve did not converge";
    case HNN_ERR_STOPPED: return "stopped by a callback";
    case HNN_ERR_TRUNCATED: return "model data ends early";
    case HNN_ERR_BAD_MAGIC: return "not a libhnn model";
    case HNN_ERR_VERSION: return "model format version is newer than this library";
    case HNN_ERR_CHECKSUM: return "model checksum mismatch";
    case HNN_ERR_CORRUPT: return "model data is inconsistent";
    }
    return "unknown status";
}

const char *hnn_version_string(void)
{
    return HNNI_STR(HNN_VERSION_MAJOR) "." HNNI_STR(HNN_VERSION_MINOR) "." HNNI_STR(
        HNN_VERSION_PATCH);
}

int hnn_version_number(void)
{
    return HNN_VERSION_NUMBER;
}

static void vformat(char *buf, const char *fmt, va_list ap)
{
    int n = vsnprintf(buf, HNN_ERROR_MESSAGE_SIZE, fmt, ap);
    if (n < 0)
        buf[0] = '\0';
}

void hnni_format(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vformat(buf, fmt, ap);
    va_end(ap);
}

hnn_status hnni_refuse(char *message, hnn_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vformat(message, fmt, ap);
    va_end(ap);
    return status;
}

hnn_status hnni_fail(hnn_error *err, hnn_status status, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        err->status = status;
        va_start(ap, fmt);
        vformat(err->message, fmt, ap);
        va_end(ap);
    }
    return status;
}

hnn_status hnni_ok(hnn_error *err)
{
    if (err != NULL) {
        err->status = HNN_OK;
        err->message[0] = '\0';
    }
    return HNN_OK;
}

size_t hnni_first_nonfinite(const double *v, size_t count)
{
    size_t i;
    for (i = 0; i < count; i++)
        if (!isfinite(v[i]))
            return i;
    return count;
}

size_t hnni_first_nonfinite_f32(const float *v, size_t count)
{
    size_t i;
    for (i = 0; i < count; i++)
        if (!isfinite(v[i]))
            return i;
    return count;
}

int hnni_all_finite(const double *v, size_t count)
{
    return hnni_first_nonfinite(v, count) == count;
}

void hnni_publish_def(void *def, void *defaults, size_t full_size, size_t struct_size)
{
    if (struct_size < sizeof(size_t))
        return; /* too small to hold even the size field: nothing of it is the caller's */
    if (struct_size > full_size)
        struct_size = full_size;
    *(size_t *)defaults = struct_size;
    memcpy(def, defaults, struct_size);
}

int hnni_released_size(size_t size, size_t full_size, const size_t *older)
{
    if (size == full_size)
        return 1;
    for (; older != NULL && *older != 0; older++)
        if (size == *older)
            return 1;
    return 0;
}

int hnni_value_ok(const void *p, size_t full_size)
{
    size_t size;
    memcpy(&size, p, sizeof size);
    return hnni_released_size(size, full_size, NULL);
}

hnn_status hnni_value_check(const void *p, size_t full_size, const char *type, char *message)
{
    size_t size;
    if (hnni_value_ok(p, full_size))
        return HNN_OK;
    memcpy(&size, p, sizeof size);
    if (message != NULL)
        hnni_format(message, "%s.struct_size is %zu, expected %zu: set it to sizeof(%s)", type,
                    size, full_size, type);
    return HNN_ERR_INVALID_ARG;
}

hnn_status hnni_value_check_err(const void *p, size_t full_size, const char *type,
                                hnn_error *err)
{
    hnn_status st = hnni_value_check(p, full_size, type, err != NULL ? err->message : NULL);
    if (st != HNN_OK && err != NULL)
        err->status = st;
    return st;
}

hnn_status hnni_copy_def_out(void *def, const void *src, size_t full_size, const size_t *older)
{
    size_t size;
    memcpy(&size, def, sizeof size);
    if (!hnni_released_size(size, full_size, older))
        return HNN_ERR_INVALID_ARG;
    memcpy(def, src, size);
    memcpy(def, &size, sizeof size);
    return HNN_OK;
}

hnn_status hnni_read_def(const void *def, void *full, size_t full_size, const size_t *older,
                         const char *type, hnn_error *err)
{
    size_t size;
    memcpy(&size, def, sizeof size);
    if (!hnni_released_size(size, full_size, older))
        return hnni_fail(err, HNN_ERR_INVALID_ARG,
                         "%s.struct_size is %zu, expected %zu or the size of a released older "
                         "%s: get the def from its default function", type, size, full_size, type);
    memcpy(full, def, size);
    *(size_t *)full = full_size;
    return HNN_OK;
}
