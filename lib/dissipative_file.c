/* Model files of dissipative models (format version 3, docs/format.md): the H net's block,
 * the D net's for Helmholtz, the flat parameters in hnn_dissipative_params_get's order, and
 * the optimizer and training sections as for a net. The bytes are model_format.c's. */
#include "hnn/dissipative.h"

#include <string.h>

#include "core.h"
#include "dissipative_access.h"
#include "model_format.h"
#include "net_access.h"

static void describe(const hnn_dissipative *m, const hnn_optimizer *opt,
                     const hnn_train_meta *meta, const char *fn, hnni_model_out *out)
{
    const hnn_net *h = hnn_dissipative_energy_net(m), *d = hnn_dissipative_dissipation_net(m);
    memset(out, 0, sizeof *out);
    out->model = hnn_dissipative_kind(m) == HNN_DISSIPATION_HELMHOLTZ ? HNN_MODEL_HELMHOLTZ
                                                                      : HNN_MODEL_PORT;
    out->nets = d != NULL ? 2 : 1;
    out->def[0] = out->def[1] = hnn_net_def_default();
    hnn_net_get_def(h, &out->def[0]);
    out->net_params[0] = hnn_net_param_count(h);
    if (d != NULL) {
        hnn_net_get_def(d, &out->def[1]);
        out->net_params[1] = hnn_net_param_count(d);
    }
    out->params = hnni_dissipative_params(m);
    out->count = hnn_dissipative_param_count(m);
    out->opt = opt;
    out->meta = meta;
    out->fn = fn;
}

hnn_status hnn_dissipative_save_buffer(const hnn_dissipative *m, const hnn_optimizer *opt,
                                       const hnn_train_meta *meta, void *buffer,
                                       size_t capacity, size_t *size, hnn_error *err)
{
    hnni_model_out out;
    if (m == NULL || size == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_dissipative_save_buffer: m and size must not "
                         "be NULL");
    describe(m, opt, meta, "hnn_dissipative_save_buffer", &out);
    return hnni_model_encode(&out, buffer, capacity, size, err);
}

hnn_status hnn_dissipative_save(const char *path, const hnn_dissipative *m,
                                const hnn_optimizer *opt, const hnn_train_meta *meta,
                                hnn_error *err)
{
    hnni_model_out out;
    if (path == NULL || m == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_dissipative_save: path and m must not be NULL");
    describe(m, opt, meta, "hnn_dissipative_save", &out);
    return hnni_model_save_file(path, &out, hnni_net_allocator(hnn_dissipative_energy_net(m)),
                                err);
}

/* The model a checked file describes, with its parameters straight from the file. */
static hnn_status build(void *ctx, const hnni_file_params *fp, const hnn_allocator *a,
                        hnn_error *err)
{
    hnn_dissipative **out = (hnn_dissipative **)ctx;
    const hnn_net_def h = hnni_layout_def(fp->L, 0, a), d = hnni_layout_def(fp->L, 1, a);
    const int helmholtz = fp->L->model == HNN_MODEL_HELMHOLTZ;
    hnn_status st;
    size_t bad;
    if ((st = hnn_dissipative_create_with(helmholtz ? HNN_DISSIPATION_HELMHOLTZ
                                                    : HNN_DISSIPATION_PORT,
                                          &h, helmholtz ? &d : NULL, out, err)) != HNN_OK)
        return st;
    if (hnni_dissipative_fill_params(*out, hnni_file_param, fp, &bad) != HNN_OK) {
        hnn_dissipative_destroy(*out);
        *out = NULL;
        return hnni_fail(err, HNN_ERR_CORRUPT, "parameter %zu is not finite", bad);
    }
    return HNN_OK;
}

static void undo(void *ctx)
{
    hnn_dissipative **out = (hnn_dissipative **)ctx;
    hnn_dissipative_destroy(*out);
    *out = NULL;
}

/* The loader's part, with the outputs set to NULL; 0 if m is NULL. */
static int loader(hnn_dissipative **m, hnn_optimizer **opt, hnn_train_meta *meta,
                  hnni_loader *ld)
{
    if (opt != NULL)
        *opt = NULL;
    if (m == NULL)
        return 0;
    *m = NULL;
    ld->dissipative = 1;
    ld->build = build;
    ld->undo = undo;
    ld->ctx = m;
    ld->opt = opt;
    ld->meta = meta;
    return 1;
}

hnn_status hnn_dissipative_load_buffer(const void *buffer, size_t size, const hnn_load_def *def,
                                       hnn_dissipative **m, hnn_optimizer **opt,
                                       hnn_train_meta *meta, hnn_error *err)
{
    hnni_loader ld;
    if (!loader(m, opt, meta, &ld) || buffer == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_dissipative_load_buffer: buffer and m must "
                         "not be NULL");
    return hnni_model_load_bytes(buffer, size, def, &ld, err);
}

hnn_status hnn_dissipative_load(const char *path, const hnn_load_def *def, hnn_dissipative **m,
                                hnn_optimizer **opt, hnn_train_meta *meta, hnn_error *err)
{
    hnni_loader ld;
    if (!loader(m, opt, meta, &ld) || path == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_dissipative_load: path and m must not be NULL");
    return hnni_model_load_file(path, def, &ld, err);
}
