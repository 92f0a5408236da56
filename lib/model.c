/* Model files of one net: the public save, load and info calls. The bytes are
 * model_format.c's (docs/format.md), the safe write path model_io.c's; the dissipative
 * models' calls are in dissipative_file.c. */
#include "hnn/model.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "alloc.h"
#include "core.h"
#include "model_format.h"
#include "model_io.h"
#include "net_access.h"

/* ---- saving ------------------------------------------------------------------------------- */

static void describe(const hnn_net *net, const hnn_optimizer *opt, const hnn_train_meta *meta,
                     const char *fn, hnni_model_out *m)
{
    memset(m, 0, sizeof *m);
    m->model = HNN_MODEL_NET;
    m->nets = 1;
    m->def[0] = hnn_net_def_default();
    hnn_net_get_def(net, &m->def[0]);
    m->net_params[0] = m->count = hnn_net_param_count(net);
    m->params = hnni_net_params(net);
    m->opt = opt;
    m->meta = meta;
    m->fn = fn;
}

hnn_status hnn_model_save_buffer(const hnn_net *net, const hnn_optimizer *opt,
                                 const hnn_train_meta *meta, void *buffer, size_t capacity,
                                 size_t *size, hnn_error *err)
{
    hnni_model_out m;
    if (net == NULL || size == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_model_save_buffer: net and size must not be NULL");
    describe(net, opt, meta, "hnn_model_save_buffer", &m);
    return hnni_model_encode(&m, buffer, capacity, size, err);
}

hnn_status hnn_model_save(const char *path, const hnn_net *net, const hnn_optimizer *opt,
                          const hnn_train_meta *meta, hnn_error *err)
{
    hnni_model_out m;
    if (path == NULL || net == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_model_save: path and net must not be NULL");
    describe(net, opt, meta, "hnn_model_save", &m);
    return hnni_model_save_file(path, &m, hnni_net_allocator(net), err);
}

/* ---- loading ------------------------------------------------------------------------------ */

void hnn_load_def_init(hnn_load_def *def, size_t struct_size)
{
    hnn_load_def d;
    if (def == NULL)
        return;
    memset(&d, 0, sizeof d);
    d.allocator.fn = NULL;
    d.allocator.user = NULL;
    d.max_bytes = HNN_LOAD_DEFAULT_MAX_BYTES;
    hnni_publish_def(def, &d, sizeof d, struct_size);
}

static hnn_status build_net(void *ctx, const hnni_file_params *fp, const hnn_allocator *a,
                            hnn_error *err)
{
    hnn_net **out = (hnn_net **)ctx;
    const hnn_net_def def = hnni_layout_def(fp->L, 0, a);
    hnn_status st;
    size_t bad;
    if ((st = hnn_net_create(&def, out, err)) != HNN_OK)
        return st;
    if (hnni_net_fill_params(*out, hnni_file_param, fp, &bad) != HNN_OK) {
        hnn_net_destroy(*out);
        *out = NULL;
        return hnni_fail(err, HNN_ERR_CORRUPT, "parameter %zu is not finite", bad);
    }
    return HNN_OK;
}

static void undo_net(void *ctx)
{
    hnn_net **out = (hnn_net **)ctx;
    hnn_net_destroy(*out);
    *out = NULL;
}

static hnni_loader net_loader(hnn_net **net, hnn_optimizer **opt, hnn_train_meta *meta)
{
    hnni_loader ld;
    ld.dissipative = 0;
    ld.build = build_net;
    ld.undo = undo_net;
    ld.ctx = net;
    ld.opt = opt;
    ld.meta = meta;
    *net = NULL;
    if (opt != NULL)
        *opt = NULL;
    return ld;
}

hnn_status hnn_model_load_buffer_with(const void *buffer, size_t size, const hnn_load_def *def,
                                      hnn_net **net, hnn_optimizer **opt, hnn_train_meta *meta,
                                      hnn_error *err)
{
    hnni_loader ld;
    if (opt != NULL)
        *opt = NULL;
    if (net == NULL || buffer == NULL) {
        if (net != NULL)
            *net = NULL;
        return hnni_fail(err, HNN_ERR_NULL, "hnn_model_load_buffer: buffer and net must not be "
                         "NULL");
    }
    ld = net_loader(net, opt, meta);
    return hnni_model_load_bytes(buffer, size, def, &ld, err);
}

hnn_status hnn_model_load_buffer(const void *buffer, size_t size, const hnn_allocator *alloc,
                                 hnn_net **net, hnn_optimizer **opt, hnn_train_meta *meta,
                                 hnn_error *err)
{
    hnn_load_def def = hnn_load_def_default();
    if (alloc != NULL)
        def.allocator = *alloc;
    return hnn_model_load_buffer_with(buffer, size, &def, net, opt, meta, err);
}

hnn_status hnn_model_load_with(const char *path, const hnn_load_def *def, hnn_net **net,
                               hnn_optimizer **opt, hnn_train_meta *meta, hnn_error *err)
{
    hnni_loader ld;
    if (opt != NULL)
        *opt = NULL;
    if (path == NULL || net == NULL) {
        if (net != NULL)
            *net = NULL;
        return hnni_fail(err, HNN_ERR_NULL, "hnn_model_load: path and net must not be NULL");
    }
    ld = net_loader(net, opt, meta);
    return hnni_model_load_file(path, def, &ld, err);
}

hnn_status hnn_model_load(const char *path, const hnn_allocator *alloc, hnn_net **net,
                          hnn_optimizer **opt, hnn_train_meta *meta, hnn_error *err)
{
    hnn_load_def def = hnn_load_def_default();
    if (alloc != NULL)
        def.allocator = *alloc;
    return hnn_model_load_with(path, &def, net, opt, meta, err);
}

/* ---- model info ------------------------------------------------------------------------- */

/* 0.4-0.5's hnn_model_info ended at load_bytes. */
static const size_t info_older[] = {offsetof(hnn_model_info, model_kind), 0};

static hnn_status info_from(const hnni_source *s, hnn_model_info *info, hnn_error *err)
{
    hnn_model_info full;
    hnni_layout L;
    hnni_needs n;
    const hnni_net_block *h = &L.net[0], *d = &L.net[1];
    double steps;
    uint32_t l;
    hnn_status st;
    if (info == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_model_info: info must not be NULL");
    if (!hnni_released_size(info->struct_size, sizeof full, info_older))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "hnn_model_info: struct_size %zu is not one "
                         "this library knows (%zu, or %zu from 0.4-0.5)", info->struct_size,
                         sizeof full, info_older[0]);
    if ((st = hnni_layout_structure(s, &L, err)) != HNN_OK ||
        (st = hnni_layout_needs(&L, &n, err)) != HNN_OK)
        return st;
    memset(&full, 0, sizeof full);
    full.struct_size = info->struct_size;
    full.format_version = L.version;
    full.kind = (hnn_net_kind)h->kind;
    full.features = (hnn_feature_map)h->features;
    full.dof = h->dof;
    full.bodies = h->bodies;
    full.depth = h->depth;
    for (l = 0; l < h->depth; l++)
        full.widths[l] = h->widths[l];
    full.kinetic_mass = h->kinetic_mass;
    full.seed = h->seed;
    full.params = (size_t)L.params;
    full.has_optimizer = HNNI_HAS_OPTIMIZER(&L);
    full.optimizer_kind = (hnn_optimizer_kind)L.opt_kind;
    full.lr = full.has_optimizer ? L.opt_reals[0] : NAN;
    /* the state's first value is the step count, stored as a double */
    memcpy(&steps, &L.first_state, sizeof steps);
    full.optimizer_steps = full.has_optimizer && steps >= 0.0 && steps < 1.8e19 ? (uint64_t)steps
                                                                                : 0;
    full.has_training = HNNI_HAS_TRAINING(&L);
    full.steps_done = full.has_training ? L.steps_done : 0;
    full.train_loss = full.has_training ? L.train_loss : NAN;
    full.val_loss = full.has_training ? L.val_loss : NAN;
    full.file_bytes = hnni_layout_file_size(&L);
    full.net_bytes = n.model;
    full.workspace_bytes = n.workspace;
    full.optimizer_bytes = n.optimizer;
    full.load_bytes = n.total + (size_t)full.file_bytes;
    full.model_kind = (hnn_model_kind)L.model;
    full.activation = (hnn_activation)h->activation;
    full.h_params = (size_t)h->params;
    full.l_params = L.model == HNN_MODEL_PORT ? (size_t)(L.params - h->params) : 0;
    if (L.nets == 2) {
        full.d_features = (hnn_feature_map)d->features;
        full.d_activation = (hnn_activation)d->activation;
        full.d_bodies = d->bodies;
        full.d_depth = d->depth;
        for (l = 0; l < d->depth; l++)
            full.d_widths[l] = d->widths[l];
        full.d_seed = d->seed;
        full.d_params = (size_t)d->params;
    }
    memcpy(info, &full, info->struct_size);
    return hnni_ok(err);
}

hnn_status hnn_model_info_buffer(const void *buffer, size_t size, hnn_model_info *info,
                                 hnn_error *err)
{
    hnni_source s;
    if (buffer == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_model_info_buffer: buffer must not be NULL");
    s.buffer = (const unsigned char *)buffer;
    s.f = NULL;
    s.size = size;
    return info_from(&s, info, err);
}

hnn_status hnn_model_info_read(const char *path, hnn_model_info *info, hnn_error *err)
{
    hnni_source s;
    hnn_status st;
    FILE *f;
    if (path == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_model_info_read: path must not be NULL");
    if ((st = hnni_model_open(path, &f, &s.size, err)) != HNN_OK)
        return st;
    s.buffer = NULL;
    s.f = f;
    st = hnni_model_named(info_from(&s, info, err), path, err);
    fclose(f);
    return st;
}
