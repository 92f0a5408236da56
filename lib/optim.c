/* Optimizers over flat arrays, following torch.optim (the single-tensor code path of
 * PyTorch 1.13, the version Debian ships) operation by operation:
 *
 * SGD:   g = grad + wd p;  b = g (first step) or momentum b + (1 - dampening) g;
 *        g = g + momentum b (Nesterov) or b;  p = p - lr g
 * Adam:  g = grad + wd p;  m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;
 *        denom = sqrt(v) / sqrt(1 - beta2^t) + eps;  p = p - (lr / (1 - beta1^t)) m / denom
 * AdamW: p = p (1 - lr wd), then Adam with wd = 0.
 * amsgrad uses max(vmax, v) in place of v in the denominator. */
#include "hnn/optim.h"

#include <math.h>
#include <string.h>

#include <float.h>

#include "alloc.h"
#include "core.h"
#include "dispatch.h"
#include "optim.h"
#include "parallel.h"

struct hnn_optimizer {
    hnn_optimizer_def def;
    hnn_allocator alloc;
    size_t n;          /* parameters */
    size_t slots;      /* state arrays of n doubles: 1 (SGD), 2 or 3 (Adam) */
    uint64_t steps;
    double *state;     /* slots * n doubles: buffer | m, v[, vmax] */
    char message[HNN_ERROR_MESSAGE_SIZE]; /* the last failure of a call that changes it */
};

void hnn_optimizer_def_init(hnn_optimizer_def *def, size_t struct_size, hnn_optimizer_kind kind)
{
    hnn_optimizer_def d;
    if (def == NULL)
        return;
    memset(&d, 0, sizeof d);
    d.kind = kind;
    d.lr = 1e-3;
    d.weight_decay = kind == HNN_OPT_ADAMW ? 1e-2 : 0.0;
    d.momentum = 0.0;
    d.dampening = 0.0;
    d.nesterov = 0;
    d.beta1 = 0.9;
    d.beta2 = 0.999;
    d.eps = 1e-8;
    d.amsgrad = 0;
    hnni_publish_def(def, &d, sizeof d, struct_size);
}

static int nonneg(double v)
{
    return isfinite(v) && v >= 0.0;
}

static hnn_status check_def(const hnn_optimizer_def *d, hnn_error *err)
{
    if (d->kind != HNN_OPT_SGD && d->kind != HNN_OPT_ADAM && d->kind != HNN_OPT_ADAMW)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "unknown optimizer kind %d", (int)d->kind);
    if (!nonneg(d->lr) || !nonneg(d->weight_decay))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "lr and weight_decay must be finite and >= 0");
    if (d->kind == HNN_OPT_SGD) {
        if (!nonneg(d->momentum) || !isfinite(d->dampening))
            return hnni_fail(err, HNN_ERR_INVALID_ARG, "momentum must be >= 0 and dampening finite");
        if (d->nesterov && (d->momentum <= 0.0 || d->dampening != 0.0))
            return hnni_fail(err, HNN_ERR_INVALID_ARG,
                             "Nesterov momentum needs momentum > 0 and dampening 0");
    } else {
        if (!(d->beta1 >= 0.0 && d->beta1 < 1.0) || !(d->beta2 >= 0.0 && d->beta2 < 1.0))
            return hnni_fail(err, HNN_ERR_INVALID_ARG, "beta1 and beta2 must be in [0, 1)");
        if (!(isfinite(d->eps) && d->eps > 0.0))
            return hnni_fail(err, HNN_ERR_INVALID_ARG, "eps must be finite and > 0");
    }
    return HNN_OK;
}

hnn_status hnn_optimizer_create(const hnn_optimizer_def *def, size_t param_count,
                                hnn_optimizer **out, hnn_error *err)
{
    hnn_optimizer_def full;
    hnn_optimizer *opt;
    hnn_allocator alloc;
    size_t doubles, bytes;
    hnn_status st;
    if (out != NULL)
        *out = NULL;
    if (def == NULL || out == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_optimizer_create: def and out must not be NULL");
    hnn_optimizer_def_init(&full, sizeof full, HNN_OPT_SGD);
    if ((st = hnni_read_def(def, &full, sizeof full, NULL, "hnn_optimizer_def", err)) != HNN_OK ||
        (st = check_def(&full, err)) != HNN_OK)
        return st;
    def = &full;
    if (param_count == 0)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "param_count is 0");
    alloc = hnni_allocator_resolve(def->allocator);
    opt = (hnn_optimizer *)hnni_alloc(&alloc, sizeof *opt);
    if (opt == NULL)
        return hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate an optimizer");
    opt->def = *def;
    opt->alloc = alloc;
    opt->n = param_count;
    opt->slots = def->kind == HNN_OPT_SGD ? 1 : (def->amsgrad ? 3 : 2);
    if (!hnni_mul_size(opt->slots, param_count, &doubles) ||
        !hnni_mul_size(doubles, sizeof(double), &bytes)) {
        hnni_free(&alloc, opt, sizeof *opt);
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "optimizer state for %zu parameters overflows",
                         param_count);
    }
    opt->state = (double *)hnni_alloc_aligned(&alloc, bytes);
    if (opt->state == NULL) {
        hnni_free(&alloc, opt, sizeof *opt);
        return hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate optimizer state (%zu bytes)", bytes);
    }
    *out = opt;
    return hnni_ok(err);
}

size_t hnni_optimizer_bytes(size_t slots, size_t param_count)
{
    return sizeof(hnn_optimizer) + slots * param_count * sizeof(double) + HNNI_ALIGN_EXTRA;
}

void hnn_optimizer_destroy(hnn_optimizer *opt)
{
    hnn_allocator alloc;
    if (opt == NULL)
        return;
    alloc = opt->alloc;
    hnni_free_aligned(&alloc, opt->state, opt->slots * opt->n * sizeof(double));
    hnni_free(&alloc, opt, sizeof *opt);
}

/* SGD's new values of one parameter and its momentum buffer, computed without writing, so a
 * step can be checked in full before anything changes. */
typedef struct update {
    double p, buf;
} update;

/* Per-step constants of Adam: bias corrections and the two weight-decay forms. */
typedef struct adam_consts {
    double step_size, bias2_sqrt, coupled_wd, shrink;
} adam_consts;

static update sgd_update(const hnn_optimizer *opt, size_t i, double p, double g)
{
    const hnn_optimizer_def *d = &opt->def;
    update u;
    u.buf = opt->state[i];
    if (d->weight_decay != 0.0)
        g = g + d->weight_decay * p;
    if (d->momentum != 0.0) {
        u.buf = opt->steps == 0 ? g : u.buf * d->momentum + (1.0 - d->dampening) * g;
        g = d->nesterov ? g + d->momentum * u.buf : u.buf;
    }
    u.p = p + -d->lr * g;
    return u;
}

/* 1 unless x is NaN or infinite, written as a comparison so that loops over it vectorise. */
static int finite_value(double x)
{
    return fabs(x) <= DBL_MAX;
}

/* Adam's update (the file comment's formulas, operation by operation) over [begin, end), as
 * loops the compiler vectorises (a training step spent 13 % of its time in a scalar form):
 * the options are selects, so every bit is that of the scalar form. Returns 0 if a check pass (commit 0) meets a
 * non-finite value. (optim.c is compiled with -fno-math-errno: sqrt need not set errno,
 * which would stop the vectorisation; its results are the same.) */
HNNI_CLONES static int adam_range(hnn_optimizer *opt, const adam_consts *c, double *params,
                                  const double *grad, int commit, size_t begin, size_t end)
{
    const hnn_optimizer_def *d = &opt->def;
    double *restrict m = opt->state, *restrict v = m + opt->n;
    /* without amsgrad vmax is never used: point it at v so that every load is valid */
    double *restrict vmax = d->amsgrad ? v + opt->n : v;
    const double b1 = d->beta1, b2 = d->beta2, eps = d->eps, step = c->step_size;
    const double bias2 = c->bias2_sqrt, shrink = c->shrink, wd = c->coupled_wd;
    const int shrinks = shrink != 1.0, decays = wd != 0.0, ams = d->amsgrad;
    int ok = 1;
    size_t i;
#define ADAM_STEP                                                                              \
    const double p = shrinks ? params[i] * shrink : params[i];                                 \
    const double g = decays ? grad[i] + wd * p : grad[i];                                      \
    const double m1 = m[i] * b1 + (1.0 - b1) * g;                                              \
    const double v1 = v[i] * b2 + (1.0 - b2) * (g * g);                                        \
    const double vm = ams ? (vmax[i] > v1 ? vmax[i] : v1) : 0.0;                               \
    const double p1 = p + -step * (m1 / (sqrt(ams ? vm : v1) / bias2 + eps))
    if (!commit) {
        /* First a cheaper sufficient test, without the square root and the division: the
         * denominator sqrt(.) / bias2 + eps is at least eps, so |p1| <= |p| + step / eps |m1|,
         * and that below 1e300 keeps p1 finite whatever the rounding. Only if it fails for
         * some parameter does the exact pass below decide (it is what the update computes). */
        const double step_over_eps = step / eps;
        for (i = begin; i < end; i++) {
            const double p = shrinks ? params[i] * shrink : params[i];
            const double g = decays ? grad[i] + wd * p : grad[i];
            const double m1 = m[i] * b1 + (1.0 - b1) * g;
            const double v1 = v[i] * b2 + (1.0 - b2) * (g * g);
            ok &= (fabs(p) + step_over_eps * fabs(m1) <= 1e300) & finite_value(v1);
        }
        if (ok)
            return 1;
        ok = 1;
        for (i = begin; i < end; i++) {
            ADAM_STEP;
            /* vm = max(vmax, v1) is finite when v1 is: vmax holds committed, finite values */
            ok &= finite_value(p1) & finite_value(m1) & finite_value(v1);
        }
        return ok;
    }
    for (i = begin; i < end; i++) {
        ADAM_STEP;
        params[i] = p1;
        m[i] = m1;
        v[i] = v1;
    }
#undef ADAM_STEP
    if (ams) /* max(vmax, v) with the new v: the vm the step above used */
        for (i = begin; i < end; i++)
            vmax[i] = vmax[i] > v[i] ? vmax[i] : v[i];
    return 1;
}

/* One pass of the update over parameters [begin, end): with commit 0 only checks that every
 * new value is finite (returns 0 if not), with commit 1 writes them. Both passes do the same
 * arithmetic. */
static int apply_range(hnn_optimizer *opt, const adam_consts *c, double *params,
                       const double *grad, int commit, size_t begin, size_t end)
{
    const hnn_optimizer_def *d = &opt->def;
    size_t i;
    if (d->kind != HNN_OPT_SGD)
        return adam_range(opt, c, params, grad, commit, begin, end);
    for (i = begin; i < end; i++) {
        const update u = sgd_update(opt, i, params[i], grad[i]);
        if (!commit) {
            if (!isfinite(u.p) || !isfinite(u.buf))
                return 0;
            continue;
        }
        params[i] = u.p;
        opt->state[i] = u.buf; /* SGD has one slot */
    }
    return 1;
}

/* The parameters are updated independently, so the passes split across threads
 * (parallel.h) in at most APPLY_SLICES slices, each reporting into its own flag. */
enum { APPLY_SLICES = 64 };

typedef struct apply_job {
    hnn_optimizer *opt;
    adam_consts c;
    double *params;
    const double *grad;
    int commit;
    size_t align;
    unsigned char bad[APPLY_SLICES];
} apply_job;

static void apply_rows(void *ctx, size_t begin, size_t end)
{
    apply_job *j = (apply_job *)ctx;
    if (!apply_range(j->opt, &j->c, j->params, j->grad, j->commit, begin, end))
        j->bad[begin / j->align] = 1;
}

static int apply(hnn_optimizer *opt, double *params, const double *grad, int commit)
{
    const hnn_optimizer_def *d = &opt->def;
    const double t = (double)(opt->steps + 1);
    apply_job j;
    size_t i;
    j.c.step_size = d->lr / (1.0 - pow(d->beta1, t));
    j.c.bias2_sqrt = sqrt(1.0 - pow(d->beta2, t));
    j.c.coupled_wd = d->kind == HNN_OPT_ADAM ? d->weight_decay : 0.0;
    j.c.shrink = d->kind == HNN_OPT_ADAMW ? 1.0 - d->lr * d->weight_decay : 1.0;
    j.opt = opt, j.params = params, j.grad = grad, j.commit = commit;
    j.align = opt->n > APPLY_SLICES ? (opt->n + APPLY_SLICES - 1) / APPLY_SLICES : 1;
    memset(j.bad, 0, sizeof j.bad);
    /* about 30 operations a parameter (a square root and a division among them) */
    hnni_for_rows(opt->n, j.align, 30.0 * (double)opt->n, apply_rows, &j);
    for (i = 0; i < APPLY_SLICES; i++)
        if (j.bad[i])
            return 0;
    return 1;
}

static hnn_status wrong_count(hnn_optimizer *opt, size_t count, size_t want)
{
    return hnni_refuse(opt->message, HNN_ERR_SIZE_MISMATCH, "count %zu: expected %zu", count,
                       want);
}

const char *hnn_optimizer_last_error(const hnn_optimizer *opt)
{
    return opt == NULL ? "" : opt->message;
}

hnn_status hnn_optimizer_step(hnn_optimizer *opt, double *params, const double *grad,
                              size_t count)
{
    size_t bad;
    if (opt == NULL)
        return HNN_ERR_NULL;
    opt->message[0] = '\0';
    if (params == NULL || grad == NULL)
        return hnni_refuse(opt->message, HNN_ERR_NULL, "params and grad must not be NULL");
    if (count != opt->n)
        return wrong_count(opt, count, opt->n);
    if ((bad = hnni_first_nonfinite(grad, count)) != count)
        return hnni_refuse(opt->message, HNN_ERR_NONFINITE, "grad[%zu] is NaN or infinite; "
                           "nothing was changed", bad);
    if (!apply(opt, params, grad, 0))
        return hnni_refuse(opt->message, HNN_ERR_NONFINITE, "this step would make a "
                           "parameter or the state non-finite (learning rate %g too large?); "
                           "nothing was changed", opt->def.lr);
    apply(opt, params, grad, 1);
    opt->steps++;
    return HNN_OK;
}

hnn_status hnn_optimizer_get_def(const hnn_optimizer *opt, hnn_optimizer_def *def)
{
    if (opt == NULL || def == NULL)
        return HNN_ERR_NULL;
    return hnni_copy_def_out(def, &opt->def, sizeof *def, NULL);
}

size_t hnn_optimizer_param_count(const hnn_optimizer *opt)
{
    return opt == NULL ? 0 : opt->n;
}

hnn_status hnn_optimizer_set_lr(hnn_optimizer *opt, double lr)
{
    if (opt == NULL)
        return HNN_ERR_NULL;
    opt->message[0] = '\0';
    if (!nonneg(lr))
        return hnni_refuse(opt->message, HNN_ERR_INVALID_ARG, "learning rate %g: it must be "
                           "finite and >= 0", lr);
    opt->def.lr = lr;
    return HNN_OK;
}

double hnn_optimizer_lr(const hnn_optimizer *opt)
{
    return opt == NULL ? 0.0 : opt->def.lr;
}

uint64_t hnn_optimizer_steps(const hnn_optimizer *opt)
{
    return opt == NULL ? 0 : opt->steps;
}

void hnn_optimizer_reset(hnn_optimizer *opt)
{
    if (opt == NULL)
        return;
    opt->steps = 0;
    memset(opt->state, 0, opt->slots * opt->n * sizeof(double));
}

size_t hnn_optimizer_state_size(const hnn_optimizer *opt)
{
    return opt == NULL ? 0 : 1 + opt->slots * opt->n;
}

hnn_status hnn_optimizer_state_get(const hnn_optimizer *opt, double *state, size_t count)
{
    if (opt == NULL || state == NULL)
        return HNN_ERR_NULL;
    if (count != hnn_optimizer_state_size(opt))
        return HNN_ERR_SIZE_MISMATCH;
    state[0] = (double)opt->steps;
    memcpy(state + 1, opt->state, (count - 1) * sizeof *state);
    return HNN_OK;
}

hnn_status hnn_optimizer_state_set(hnn_optimizer *opt, const double *state, size_t count)
{
    size_t i;
    if (opt == NULL)
        return HNN_ERR_NULL;
    opt->message[0] = '\0';
    if (state == NULL)
        return hnni_refuse(opt->message, HNN_ERR_NULL, "state must not be NULL");
    if (count != hnn_optimizer_state_size(opt))
        return wrong_count(opt, count, hnn_optimizer_state_size(opt));
    if ((i = hnni_first_nonfinite(state, count)) != count)
        return hnni_refuse(opt->message, HNN_ERR_NONFINITE, "state[%zu] is NaN or infinite", i);
    if (signbit(state[0]) || state[0] > 0x1p53 || state[0] != floor(state[0]))
        return hnni_refuse(opt->message, HNN_ERR_INVALID_ARG, "state[0] = %g: the step count "
                           "is a whole number in [0, 2^53]", state[0]);
    if (opt->def.kind != HNN_OPT_SGD)
        for (i = 1 + opt->n; i < count; i++) /* second moments (and their maximum) */
            if (state[i] < 0.0)
                return hnni_refuse(opt->message, HNN_ERR_INVALID_ARG, "state[%zu] = %g: a "
                                   "second moment cannot be negative", i, state[i]);
    opt->steps = (uint64_t)state[0];
    memcpy(opt->state, state + 1, (count - 1) * sizeof *state);
    return HNN_OK;
}

void hnni_optimizer_state_at(const hnn_optimizer *opt, size_t i, double *value)
{
    *value = i == 0 ? (double)opt->steps : opt->state[i - 1];
}
