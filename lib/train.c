/* The trainer: deterministic minibatching over a dataset, the exact loss gradient, and an
 * optimizer step, with progress reports and validation. */
#include "hnn/train.h"

#include <math.h>
#include <string.h>

#include "alloc.h"
#include "core.h"
#include "dataset.h"
#include "hnn/loss.h"
#include "net_access.h"
#include "rng.h"
#include "train_impl.h"

void hnn_train_def_init(hnn_train_def *def, size_t struct_size)
{
    hnn_train_def d;
    if (def == NULL)
        return;
    memset(&d, 0, sizeof d);
    d.steps = 2000;
    d.batch_size = 0;
    d.seed = 0;
    d.report_every = 100;
    d.progress = NULL;
    d.user = NULL;
    hnni_publish_def(def, &d, sizeof d, struct_size);
}

/* Everything a run needs, allocated once. */
typedef struct session {
    const hnn_allocator *alloc;
    double *grad;       /* param_count */
    double *xb, *yb;    /* batch x dim */
    size_t *perm;       /* count: the permutation of the current epoch */
    uint64_t perm_epoch;
    size_t batch, dim, count, params;
} session;

static void session_free(session *s)
{
    hnni_free_aligned(s->alloc, s->grad, s->params * sizeof *s->grad);
    hnni_free(s->alloc, s->xb, s->batch * s->dim * sizeof *s->xb);
    hnni_free(s->alloc, s->yb, s->batch * s->dim * sizeof *s->yb);
    hnni_free(s->alloc, s->perm, s->count * sizeof *s->perm);
}

static hnn_status session_init(session *s, const hnni_trainable *t, const hnn_dataset *train,
                               size_t batch, hnn_error *err)
{
    memset(s, 0, sizeof *s);
    s->alloc = t->alloc;
    s->dim = 2 * t->dof;
    s->count = train->count;
    s->params = t->param_count;
    s->batch = batch;
    s->perm_epoch = UINT64_MAX;
    s->grad = (double *)hnni_alloc_aligned(s->alloc, s->params * sizeof *s->grad);
    if (batch < s->count) { /* minibatches need gather buffers and a permutation */
        s->xb = (double *)hnni_alloc(s->alloc, batch * s->dim * sizeof *s->xb);
        s->yb = (double *)hnni_alloc(s->alloc, batch * s->dim * sizeof *s->yb);
        s->perm = (size_t *)hnni_alloc(s->alloc, s->count * sizeof *s->perm);
        if (s->xb == NULL || s->yb == NULL || s->perm == NULL)
            goto no_memory;
    }
    if (s->grad == NULL)
        goto no_memory;
    return hnni_ok(err);
no_memory:
    session_free(s);
    return hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate training buffers");
}

/* The permutation of epoch e: Fisher-Yates driven by a stream seeded from (seed, e). */
static void make_permutation(session *s, uint64_t seed, uint64_t epoch)
{
    hnni_rng rng;
    size_t i;
    hnni_rng_seed(&rng, seed ^ (epoch * UINT64_C(0xD1B54A32D192ED03)));
    for (i = 0; i < s->count; i++)
        s->perm[i] = i;
    for (i = s->count; i > 1; i--) {
        size_t j = (size_t)(hnni_rng_next(&rng) % i); /* bias < 2^-40 for any real dataset */
        size_t t = s->perm[i - 1];
        s->perm[i - 1] = s->perm[j];
        s->perm[j] = t;
    }
    s->perm_epoch = epoch;
}

/* Copies the minibatch of global step `step` into xb, yb. */
static void gather_batch(session *s, const hnn_dataset *train, uint64_t seed, uint64_t step)
{
    const uint64_t start = step * (uint64_t)s->batch;
    size_t b;
    for (b = 0; b < s->batch; b++) {
        const uint64_t pos = start + b;
        const uint64_t epoch = pos / s->count;
        size_t idx;
        if (epoch != s->perm_epoch)
            make_permutation(s, seed, epoch);
        idx = s->perm[pos % s->count];
        memcpy(s->xb + b * s->dim, train->x + idx * s->dim, s->dim * sizeof(double));
        memcpy(s->yb + b * s->dim, train->y + idx * s->dim, s->dim * sizeof(double));
    }
}

static hnn_status check_args(const hnni_trainable *t, hnn_optimizer *opt,
                             const hnn_dataset *train, const hnn_dataset *val,
                             const hnn_train_def *def, hnn_error *err)
{
    if (opt == NULL || train == NULL || def == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "training: the model, opt, train and def must not "
                         "be NULL");
    if (def->steps == 0)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "steps is 0");
    if (train->dof != t->dof || (val != NULL && val->dof != t->dof))
        return hnni_fail(err, HNN_ERR_SIZE_MISMATCH, "the dataset has n = %zu, the model n = %zu",
                         val != NULL && val->dof != t->dof ? val->dof : train->dof, t->dof);
    if (hnn_optimizer_param_count(opt) != t->param_count)
        return hnni_fail(err, HNN_ERR_SIZE_MISMATCH, "the optimizer was made for a different "
                         "number of parameters than the model's %zu", t->param_count);
    return HNN_OK;
}

/* A result the caller wants filled must have a released struct_size (a value struct). */
static hnn_status check_result(const hnn_train_result *result, hnn_error *err)
{
    return result == NULL ? HNN_OK
                          : hnni_value_check_err(result, sizeof *result, "hnn_train_result", err);
}

hnn_status hnni_train_check(const hnni_trainable *t, hnn_optimizer *opt,
                            const hnn_dataset *train, const hnn_dataset *val,
                            const hnn_train_def *def, const hnn_train_result *result,
                            hnn_error *err)
{
    hnn_train_def full;
    hnn_status st;
    if ((st = check_result(result, err)) != HNN_OK)
        return st;
    if (def != NULL) {
        hnn_train_def_init(&full, sizeof full);
        if ((st = hnni_read_def(def, &full, sizeof full, NULL, "hnn_train_def", err)) != HNN_OK)
            return st;
        def = &full;
    }
    return check_args(t, opt, train, val, def, err);
}

hnn_status hnni_train(const hnni_trainable *t, hnn_optimizer *opt, const hnn_dataset *train,
                      const hnn_dataset *val, const hnn_train_def *def,
                      hnn_train_result *result, hnn_error *err)
{
    hnn_train_def full;
    session s;
    hnn_train_result res;
    hnn_status st;
    uint64_t k;
    size_t batch;

    if ((st = check_result(result, err)) != HNN_OK)
        return st;
    if (def != NULL) {
        hnn_train_def_init(&full, sizeof full);
        if ((st = hnni_read_def(def, &full, sizeof full, NULL, "hnn_train_def", err)) != HNN_OK)
            return st;
        def = &full;
    }
    if ((st = check_args(t, opt, train, val, def, err)) != HNN_OK)
        return st;
    batch = def->batch_size == 0 || def->batch_size >= train->count ? train->count
                                                                     : def->batch_size;
    if ((st = session_init(&s, t, train, batch, err)) != HNN_OK)
        return st;
    memset(&res, 0, sizeof res);
    res.struct_size = sizeof res;
    res.val_loss = NAN;
    for (k = 0; k < def->steps; k++) {
        const int full = batch == train->count;
        const double *xb = full ? train->x : s.xb, *yb = full ? train->y : s.yb;
        double loss;
        if (!full)
            gather_batch(&s, train, def->seed, hnn_optimizer_steps(opt));
        st = t->loss(t->self, xb, yb, batch, &loss, s.grad);
        if (st == HNN_OK && (st = hnn_optimizer_step(opt, t->params, s.grad, t->param_count)) == HNN_OK)
            t->sync(t->self);
        if (st != HNN_OK) {
            hnni_fail(err, st, "training stopped at step %llu: %s", (unsigned long long)k + 1,
                      st == HNN_ERR_NONFINITE ? "the gradient is not finite (diverging? try a "
                                                "smaller learning rate)" : hnn_status_string(st));
            break;
        }
        res.steps_done = k + 1;
        if (def->progress != NULL &&
            ((def->report_every != 0 && res.steps_done % def->report_every == 0) ||
             res.steps_done == def->steps)) {
            double vl = NAN;
            if (val != NULL)
                t->loss(t->self, val->x, val->y, val->count, &vl, NULL);
            if (def->progress(def->user, res.steps_done, loss, vl)) {
                res.stopped = 1;
                break;
            }
        }
    }
    if (st == HNN_OK) {
        st = t->loss(t->self, train->x, train->y, train->count, &res.train_loss, NULL);
        if (st == HNN_OK && val != NULL)
            st = t->loss(t->self, val->x, val->y, val->count, &res.val_loss, NULL);
        if (st != HNN_OK)
            hnni_fail(err, st, "final loss: %s", hnn_status_string(st));
        else
            hnni_ok(err);
    }
    session_free(&s);
    if (result != NULL)
        hnni_copy_def_out(result, &res, sizeof res, NULL);
    return st;
}

/* ---- a net as a trainable model --------------------------------------------------------- */

typedef struct net_model {
    hnn_net *net;
    hnn_loss_workspace *lw;
} net_model;

static hnn_status net_loss(void *self, const double *x, const double *y, size_t count,
                           double *loss, double *grad)
{
    net_model *m = (net_model *)self;
    return hnn_loss_mse(m->net, m->lw, x, y, count, loss, grad);
}

static void net_sync(void *self)
{
    hnni_net_params_changed(((net_model *)self)->net);
}

hnn_status hnn_train(hnn_net *net, hnn_optimizer *opt, const hnn_dataset *train,
                     const hnn_dataset *val, const hnn_train_def *def,
                     hnn_train_result *result, hnn_error *err)
{
    net_model m;
    hnni_trainable t;
    hnn_status st;
    if (net == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_train: net, opt, train and def must not be NULL");
    m.net = net;
    m.lw = NULL;
    t.self = &m;
    t.alloc = hnni_net_allocator(net);
    t.dof = hnn_net_dof(net);
    t.param_count = hnn_net_param_count(net);
    t.params = hnni_net_params_for_update(net);
    t.loss = net_loss;
    t.sync = net_sync;
    /* arguments first, so a wrong dataset or optimizer costs no allocation */
    if ((st = hnni_train_check(&t, opt, train, val, def, result, err)) != HNN_OK ||
        (st = hnn_loss_workspace_create(net, &m.lw, err)) != HNN_OK)
        return st;
    st = hnni_train(&t, opt, train, val, def, result, err);
    hnn_loss_workspace_destroy(m.lw);
    return st;
}
