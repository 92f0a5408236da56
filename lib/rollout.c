/* The multi-step rollout loss (hnn/trajectory.h): from each window's first observation, K
 * steps of an explicit scheme over the recorded steps, matched to the next K observations,
 * with the exact parameter gradient by reverse through the steps.
 *
 * Both schemes are explicit stage methods, partitioned where they must be: per step j and
 * window (state X, step h), stage states S_i = X + h sum_{l<i} a_il P_il k_l with
 * k_i = f(S_i), and X' = X + h sum_i b_i P_i k_i, where P selects all components, the
 * positions or the momenta. Classical RK4 (four stages, every P the whole state) and
 * Stormer-Verlet leapfrog (kick p by h/2, drift q by h, kick p by h/2: three stages) for
 * separable nets. The stage states are kept (at most 4 K states per window: memory linear in
 * K). Reverse, from the adjoint Xb' of X': for i from the last stage down,
 *     kb_i = h (b_i P_i Xb' + sum_{i'>i} a_i'i P_i'i sb_i'),   sb_i = J(S_i)^T kb_i,
 * and the parameters get kb_i . df(S_i)/dtheta; then Xb = Xb' + sum_i sb_i (+ the residual
 * of observation j). J is the model's exact field Jacobian. Every product of the sweep is
 * batched over the windows, through the three operations a model gives (model_ops): a net,
 * or a dissipative model (dissipative.c). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "core.h"
#include "dataset.h"
#include "dissipative_access.h"
#include "hnn/loss.h"
#include "hnn/net.h"
#include "loss_impl.h"
#include "net_access.h"
#include "train_impl.h"
#include "trajectory_impl.h"

/* The longest horizon, and the windows swept at once: the scratch is sized for one chunk,
 * so memory does not grow with the number of windows (only with K, n and the chunk). */
enum { MAX_HORIZON = 1024, ROLLOUT_CHUNK = 256, MAX_STAGES = 4 };

/* ---- the schemes ------------------------------------------------------------------------ */

enum part { ALL = 0, POSITIONS = 1, MOMENTA = 2 }; /* which components a coefficient moves */

typedef struct scheme {
    const char *name;
    int stages;
    double a[MAX_STAGES][MAX_STAGES];      /* a[i][l], l < i */
    unsigned char pa[MAX_STAGES][MAX_STAGES];
    double b[MAX_STAGES];
    unsigned char pb[MAX_STAGES];
} scheme;

static const scheme RK4 = {"RK4", 4,
                           {{0}, {0.5}, {0.0, 0.5}, {0.0, 0.0, 1.0}},
                           {{ALL}},
                           {1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0},
                           {ALL, ALL, ALL, ALL}};
/* p += h/2 f_p(q, p); q += h f_q(q, p); p += h/2 f_p(q, p): for H = T(p) + V(q), f_p depends
 * on q only and f_q on p only, so this is the explicit Stormer-Verlet step. */
static const scheme LEAPFROG = {"leapfrog", 3,
                                {{0}, {0.5}, {0.5, 1.0}},
                                {{ALL}, {MOMENTA}, {MOMENTA, POSITIONS}},
                                {0.5, 1.0, 0.5},
                                {MOMENTA, POSITIONS, MOMENTA}};

/* 1 if a coefficient of part p acts on component c of a state of n degrees of freedom. */
static double moves(unsigned char p, size_t c, size_t n)
{
    return p == ALL || (p == POSITIONS) == (c < n) ? 1.0 : 0.0;
}

/* ---- the model ---------------------------------------------------------------------------- */

/* What a rollout needs of a model, on `count` states x (count x dim): its field, the
 * transposed field Jacobian times v (jac: count x dim x dim of scratch), and the parameters'
 * share v . df/dtheta added to grad. */
typedef struct model_ops {
    void *self;
    size_t dim, param_count;
    const hnn_allocator *alloc;
    char *message; /* where failures are explained (the model's last_error) */
    hnn_status (*field)(void *self, const double *x, size_t count, double *f);
    hnn_status (*field_t)(void *self, const double *x, const double *v, size_t count,
                          double *jac, double *out);
    void (*vjp)(void *self, const double *x, const double *v, size_t count, double *grad);
} model_ops;

typedef struct net_model {
    const hnn_net *net;
    hnn_workspace *ws;
    hnn_loss_workspace *lw;
} net_model;

static hnn_status net_field(void *self, const double *x, size_t count, double *f)
{
    const net_model *m = (const net_model *)self;
    return hnn_net_field(m->net, m->ws, x, count, f);
}

static hnn_status net_field_t(void *self, const double *x, const double *v, size_t count,
                              double *jac, double *out)
{
    const net_model *m = (const net_model *)self;
    const size_t d = 2 * hnn_net_dof(m->net);
    size_t s, r, c;
    hnn_status st = hnn_net_field_jacobian(m->net, m->ws, x, count, jac);
    if (st != HNN_OK)
        return st;
    for (s = 0; s < count; s++) {
        const double *J = jac + s * d * d, *vs = v + s * d;
        for (c = 0; c < d; c++) {
            double sum = 0.0;
            for (r = 0; r < d; r++)
                sum += J[r * d + c] * vs[r];
            out[s * d + c] = sum;
        }
    }
    return HNN_OK;
}

static void net_vjp(void *self, const double *x, const double *v, size_t count, double *grad)
{
    const net_model *m = (const net_model *)self;
    hnni_field_vjp(m->net, m->lw, x, v, count, grad);
}

static model_ops net_ops(net_model *m)
{
    model_ops ops;
    ops.self = m;
    ops.dim = 2 * hnn_net_dof(m->net);
    ops.param_count = hnn_net_param_count(m->net);
    ops.alloc = hnni_net_allocator(m->net);
    ops.message = hnni_loss_message(m->lw);
    ops.field = net_field;
    ops.field_t = net_field_t;
    ops.vjp = net_vjp;
    return ops;
}

static hnn_status dm_field(void *self, const double *x, size_t count, double *f)
{
    return hnn_dissipative_field((hnn_dissipative *)self, x, count, f);
}

static hnn_status dm_field_t(void *self, const double *x, const double *v, size_t count,
                             double *jac, double *out)
{
    return hnni_dissipative_field_t((hnn_dissipative *)self, x, v, count, jac, out);
}

static void dm_vjp(void *self, const double *x, const double *v, size_t count, double *grad)
{
    hnni_dissipative_field_vjp((hnn_dissipative *)self, x, v, count, grad);
}

static model_ops dissipative_ops(hnn_dissipative *m)
{
    model_ops ops;
    ops.self = m;
    ops.dim = 2 * hnn_net_dof(hnn_dissipative_energy_net(m));
    ops.param_count = hnn_dissipative_param_count(m);
    ops.alloc = hnni_dissipative_allocator(m);
    ops.message = hnni_dissipative_message(m);
    ops.field = dm_field;
    ops.field_t = dm_field_t;
    ops.vjp = dm_vjp;
    return ops;
}

/* ---- the sweep ---------------------------------------------------------------------------- */

/* The scratch of one chunk: stage states S[j][i] (K x 4 blocks of count x dim), the rolled-out
 * states, the stage fields of one step, their adjoints, the stage states' adjoints, the
 * Jacobians of one stage, the recorded steps. */
typedef struct sweep {
    const scheme *sc;
    const model_ops *ops;
    size_t count, dim, K;
    double *S;    /* K x 4 x count x dim */
    double *X;    /* (K + 1) x count x dim: the rolled-out states, X_0 the observations */
    double *k;    /* 4 x count x dim: the stage fields of the current step */
    double *bar;  /* count x dim: the adjoint of the current state */
    double *kb;   /* 4 x count x dim: the stage fields' adjoints */
    double *sb;   /* 4 x count x dim: the stage states' adjoints */
    double *jac;  /* count x dim x dim */
    double *h;    /* K x count: the recorded steps */
} sweep;

static size_t sweep_doubles(size_t count, size_t dim, size_t K, size_t *ok)
{
    /* count x dim x (4K + K + 1 + 4 + 1 + 4 + 4 + dim) + K count */
    size_t per = 0, total = 0;
    *ok = hnni_mul_size(dim, 5 * K + 14 + dim, &per) && hnni_mul_size(per, count, &total) &&
          hnni_add_size(total, K * count, &total) && hnni_mul_size(total, sizeof(double), &per);
    return total;
}

static double *block(const sweep *w, double *base, size_t i)
{
    return base + i * w->count * w->dim;
}

size_t hnn_trajectories_windows(const hnn_trajectories *tr, size_t horizon, size_t *starts)
{
    size_t i, k, n = 0;
    if (tr == NULL || horizon == 0)
        return 0;
    for (i = 0; i < tr->count; i++)
        for (k = tr->start[i]; tr->start[i + 1] - k > horizon; k++, n++)
            if (starts != NULL)
                starts[n] = k;
    return n;
}

/* X_{j+1} from X_j: the stages, kept in S[j]. */
static hnn_status forward_step(sweep *w, size_t j)
{
    const scheme *sc = w->sc;
    const size_t cd = w->count * w->dim, n = w->dim / 2;
    const double *X = block(w, w->X, j);
    double *Xn = block(w, w->X, j + 1);
    size_t e;
    int i, l;
    hnn_status st;
    for (i = 0; i < sc->stages; i++) {
        double *S = block(w, w->S, 4 * j + (size_t)i);
        for (e = 0; e < cd; e++) {
            const double h = w->h[j * w->count + e / w->dim];
            double sum = 0.0;
            for (l = 0; l < i; l++)
                sum += sc->a[i][l] * moves(sc->pa[i][l], e % w->dim, n) *
                       block(w, w->k, (size_t)l)[e];
            S[e] = X[e] + h * sum;
        }
        if ((st = w->ops->field(w->ops->self, S, w->count, block(w, w->k, (size_t)i))) != HNN_OK)
            return st;
    }
    for (e = 0; e < cd; e++) {
        const double h = w->h[j * w->count + e / w->dim];
        double sum = 0.0;
        for (i = 0; i < sc->stages; i++)
            sum += sc->b[i] * moves(sc->pb[i], e % w->dim, n) * block(w, w->k, (size_t)i)[e];
        Xn[e] = X[e] + h * sum;
        if (!isfinite(Xn[e]))
            return HNN_ERR_NONFINITE;
    }
    return HNN_OK;
}

/* From the adjoint of X_{j+1} (in w->bar) to that of X_j, adding the parameters' share of
 * step j to grad. */
static hnn_status reverse_step(sweep *w, size_t j, double *grad)
{
    const scheme *sc = w->sc;
    const model_ops *ops = w->ops;
    const size_t cd = w->count * w->dim, n = w->dim / 2;
    size_t e;
    int i, l;
    hnn_status st;
    for (i = sc->stages - 1; i >= 0; i--) {
        double *kb = block(w, w->kb, (size_t)i), *sb = block(w, w->sb, (size_t)i);
        const double *S = block(w, w->S, 4 * j + (size_t)i);
        for (e = 0; e < cd; e++) {
            const double h = w->h[j * w->count + e / w->dim];
            double sum = sc->b[i] * moves(sc->pb[i], e % w->dim, n) * w->bar[e];
            for (l = i + 1; l < sc->stages; l++)
                sum += sc->a[l][i] * moves(sc->pa[l][i], e % w->dim, n) *
                       block(w, w->sb, (size_t)l)[e];
            kb[e] = h * sum;
        }
        ops->vjp(ops->self, S, kb, w->count, grad);
        if ((st = ops->field_t(ops->self, S, kb, w->count, w->jac, sb)) != HNN_OK)
            return st;
    }
    for (i = 0; i < sc->stages; i++)
        for (e = 0; e < cd; e++)
            w->bar[e] += block(w, w->sb, (size_t)i)[e];
    return HNN_OK;
}

/* The sweep's arrays for bc windows, in the block mem (sweep_doubles(bc, ...) doubles). */
static void layout(sweep *w, double *mem, size_t bc, size_t dim, size_t K)
{
    w->count = bc, w->dim = dim, w->K = K;
    w->S = mem;
    w->X = w->S + 4 * K * bc * dim;
    w->k = w->X + (K + 1) * bc * dim;
    w->bar = w->k + 4 * bc * dim;
    w->kb = w->bar + bc * dim;
    w->sb = w->kb + 4 * bc * dim;
    w->jac = w->sb + 4 * bc * dim;
    w->h = w->jac + bc * dim * dim;
}

/* The trajectory that observation k belongs to (binary search over the starts). */
static size_t trajectory_of(const hnn_trajectories *tr, size_t k)
{
    size_t lo = 0, hi = tr->count; /* start[lo] <= k < start[hi] */
    while (hi - lo > 1) {
        const size_t mid = lo + (hi - lo) / 2;
        if (tr->start[mid] <= k)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* One chunk of bc windows: adds its squared residuals to *sum and, with grad, its share of
 * the gradient (scale = d/dy of the whole loss's mean). */
static hnn_status rollout_chunk(const hnn_trajectories *tr, const size_t *starts, double scale,
                                sweep *w, double *sum, double *grad)
{
    const size_t bc = w->count, dim = w->dim, K = w->K;
    size_t b, j, e;
    hnn_status st = HNN_OK;
    for (b = 0; b < bc; b++) {
        memcpy(w->X + b * dim, tr->x + starts[b] * dim, dim * sizeof(double));
        for (j = 0; j < K; j++)
            w->h[j * bc + b] = tr->t[starts[b] + j + 1] - tr->t[starts[b] + j];
    }
    for (j = 0; j < K && st == HNN_OK; j++)
        st = forward_step(w, j);
    /* the residuals, and their adjoints dL/dX_j = scale (X_j - x_obs), from the last step */
    for (j = K; st == HNN_OK && j >= 1; j--) {
        for (b = 0; b < bc; b++)
            for (e = 0; e < dim; e++) {
                const double r = block(w, w->X, j)[b * dim + e] - tr->x[(starts[b] + j) * dim + e];
                *sum += r * r;
                if (grad != NULL)
                    w->bar[b * dim + e] = (j == K ? 0.0 : w->bar[b * dim + e]) + scale * r;
            }
        if (grad != NULL)
            st = reverse_step(w, j - 1, grad);
    }
    return st;
}

/* The rollout loss of any model (ops) with scheme sc: the checks every model shares, then the
 * windows chunk by chunk. `fn` names the public function in messages. */
static hnn_status rollout_run(const char *fn, const model_ops *ops, const scheme *sc,
                              const hnn_trajectories *tr, size_t horizon, const size_t *starts,
                              size_t count, double *loss, double *grad)
{
    const size_t chunk = count < ROLLOUT_CHUNK ? count : ROLLOUT_CHUNK;
    char *msg = ops->message;
    sweep w;
    size_t ok, doubles, b, done;
    double sum = 0.0, scale, *mem;
    hnn_status st = HNN_OK;
    if (horizon == 0 || horizon > MAX_HORIZON || count == 0)
        return hnni_refuse(msg, HNN_ERR_INVALID_ARG, "%s: horizon %zu (1..%d) and count %zu "
                           "(>= 1)", fn, horizon, MAX_HORIZON, count);
    if (ops->dim != tr->dim)
        return hnni_refuse(msg, HNN_ERR_SIZE_MISMATCH, "%s: the model (n = %zu) and the "
                           "trajectories (n = %zu) do not match", fn, ops->dim / 2, tr->dof);
    for (b = 0; b < count; b++) { /* each window inside one trajectory */
        size_t i;
        if (starts[b] >= tr->total)
            return hnni_refuse(msg, HNN_ERR_INVALID_ARG, "%s: window %zu starts at "
                               "observation %zu of %zu", fn, b, starts[b], tr->total);
        i = trajectory_of(tr, starts[b]);
        if (tr->start[i + 1] - starts[b] <= horizon)
            return hnni_refuse(msg, HNN_ERR_INVALID_ARG, "%s: window %zu (start %zu) needs "
                               "%zu more observations of trajectory %zu, which ends at %zu",
                               fn, b, starts[b], horizon, i, tr->start[i + 1] - 1);
    }
    doubles = sweep_doubles(chunk, tr->dim, horizon, &ok);
    if (!ok || doubles > ((size_t)1 << 31))
        return hnni_refuse(msg, HNN_ERR_TOO_LARGE, "%s: a chunk of %zu windows of horizon "
                           "%zu for n = %zu needs more than 16 GiB", fn, chunk, horizon,
                           tr->dof);
    mem = (double *)hnni_alloc(ops->alloc, doubles * sizeof(double));
    if (mem == NULL)
        return hnni_refuse(msg, HNN_ERR_NO_MEMORY, "%s: cannot allocate %zu bytes", fn,
                           doubles * sizeof(double));
    scale = 2.0 / ((double)count * (double)horizon * (double)tr->dim);
    if (grad != NULL)
        memset(grad, 0, ops->param_count * sizeof *grad);
    w.sc = sc;
    w.ops = ops;
    for (done = 0; done < count && st == HNN_OK; done += chunk) {
        layout(&w, mem, count - done < chunk ? count - done : chunk, tr->dim, horizon);
        st = rollout_chunk(tr, starts + done, scale, &w, &sum, grad);
    }
    if (st == HNN_OK && loss != NULL)
        *loss = sum / ((double)count * (double)horizon * (double)tr->dim);
    hnni_free(ops->alloc, mem, doubles * sizeof(double));
    if (st != HNN_OK && msg[0] == '\0')
        hnni_refuse(msg, st, "%s: %s in the rollout (a step left the range where the model "
                    "is finite?)", fn, hnn_status_string(st));
    return st;
}

/* The scheme a net takes for `method`, or NULL with the reason in msg. */
static const scheme *net_scheme(const hnn_net *net, hnn_method method, const char *fn,
                                char *msg)
{
    if (method == HNN_METHOD_RK4)
        return &RK4;
    if (method != HNN_METHOD_LEAPFROG) {
        hnni_refuse(msg, HNN_ERR_INVALID_ARG, "%s: method %d: the rollout steps by "
                    "HNN_METHOD_RK4 or HNN_METHOD_LEAPFROG", fn, (int)method);
        return NULL;
    }
    if (!hnni_net_separable(net)) {
        hnni_refuse(msg, HNN_ERR_INVALID_ARG, "%s: explicit leapfrog needs a separable net "
                    "(positions features with a kinetic mass); this net is not: use "
                    "HNN_METHOD_RK4", fn);
        return NULL;
    }
    return &LEAPFROG;
}

hnn_status hnn_rollout_loss_with(const hnn_net *net, hnn_workspace *ws, hnn_loss_workspace *lw,
                                 const hnn_trajectories *tr, hnn_method method,
                                 size_t horizon, const size_t *starts, size_t count,
                                 double *loss, double *grad)
{
    static const char fn[] = "hnn_rollout_loss";
    net_model nm;
    model_ops ops;
    const scheme *sc;
    if (lw == NULL)
        return HNN_ERR_NULL;
    hnni_loss_message(lw)[0] = '\0';
    if (net == NULL || ws == NULL || tr == NULL || starts == NULL)
        return hnni_refuse(hnni_loss_message(lw), HNN_ERR_NULL, "%s: net, ws, tr and starts "
                           "must not be NULL", fn);
    if (!hnni_loss_fits(lw, net) || hnni_workspace_net(ws) != net)
        return hnni_refuse(hnni_loss_message(lw), HNN_ERR_SIZE_MISMATCH, "%s: the "
                           "workspaces were not made for this net", fn);
    if ((sc = net_scheme(net, method, fn, hnni_loss_message(lw))) == NULL)
        return HNN_ERR_INVALID_ARG;
    nm.net = net, nm.ws = ws, nm.lw = lw;
    ops = net_ops(&nm);
    return rollout_run(fn, &ops, sc, tr, horizon, starts, count, loss, grad);
}

hnn_status hnn_rollout_loss(const hnn_net *net, hnn_workspace *ws, hnn_loss_workspace *lw,
                            const hnn_trajectories *tr, size_t horizon, const size_t *starts,
                            size_t count, double *loss, double *grad)
{
    return hnn_rollout_loss_with(net, ws, lw, tr, HNN_METHOD_RK4, horizon, starts, count,
                                 loss, grad);
}

hnn_status hnn_dissipative_rollout_loss(hnn_dissipative *m, const hnn_trajectories *tr,
                                        size_t horizon, const size_t *starts, size_t count,
                                        double *loss, double *grad)
{
    model_ops ops;
    if (m == NULL)
        return HNN_ERR_NULL;
    hnni_dissipative_message(m)[0] = '\0';
    if (tr == NULL || starts == NULL)
        return hnni_refuse(hnni_dissipative_message(m), HNN_ERR_NULL,
                           "hnn_dissipative_rollout_loss: tr and starts must not be NULL");
    ops = dissipative_ops(m);
    return rollout_run("hnn_dissipative_rollout_loss", &ops, &RK4, tr, horizon, starts, count,
                       loss, grad);
}

/* ---- training on the rollout loss: hnni_train's loop over windows ----------------------- */

/* The trainer shuffles and batches rows of a dataset; here each row stands for a window: its
 * first number is the window's start, its second which set (0 training, 1 validation), the
 * rest 0. So the rollout loss trains with hnn_train's batches, seeds, progress and results. */
typedef struct rollout_trainer {
    model_ops ops;
    const scheme *sc;
    const hnn_trajectories *sets[2];
    size_t horizon;
    size_t *starts; /* a batch's window starts */
    size_t cap;
    void *model;                /* the net or the dissipative model, for sync */
    void (*sync)(void *model);  /* after the optimizer changed its parameters */
} rollout_trainer;

static hnn_status rollout_rows(const hnn_trajectories *tr, size_t horizon, int set,
                               const hnn_allocator *alloc, hnn_dataset **out, size_t *max,
                               hnn_error *err)
{
    const size_t count = hnn_trajectories_windows(tr, horizon, NULL), dim = tr->dim;
    size_t w = 0, i, k;
    hnn_status st;
    if (count == 0)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "the %s trajectories have no window of %zu "
                         "steps (a trajectory of at least %zu observations)",
                         set ? "validation" : "training", horizon, horizon + 1);
    if ((st = hnni_dataset_new(alloc, tr->dof, count, out, err)) != HNN_OK)
        return st;
    for (i = 0; i < tr->count; i++)
        for (k = tr->start[i]; tr->start[i + 1] - k > horizon; k++, w++) {
            (*out)->x[w * dim] = (double)k;
            (*out)->x[w * dim + 1] = (double)set;
        }
    if (count > *max)
        *max = count;
    return HNN_OK;
}

static hnn_status rollout_batch_loss(void *self, const double *x, const double *y, size_t count,
                                     double *loss, double *grad)
{
    rollout_trainer *rt = (rollout_trainer *)self;
    const hnn_trajectories *tr = rt->sets[x[1] != 0.0];
    size_t b;
    (void)y;
    for (b = 0; b < count; b++) /* count <= cap: no batch is larger than the larger set */
        rt->starts[b] = (size_t)x[b * rt->ops.dim];
    return rollout_run("the rollout loss", &rt->ops, rt->sc, tr, rt->horizon, rt->starts, count,
                       loss, grad);
}

static void rollout_sync(void *self)
{
    rollout_trainer *rt = (rollout_trainer *)self;
    rt->sync(rt->model);
}

/* hnni_train over the windows of train and val, for the model behind rt (its ops, scheme,
 * sync and model set by the caller) whose parameters are params. */
static hnn_status train_windows(rollout_trainer *rt, double *params, hnn_optimizer *opt,
                                const hnn_trajectories *train, const hnn_trajectories *val,
                                size_t horizon, const hnn_train_def *def,
                                hnn_train_result *result, hnn_error *err)
{
    hnni_trainable t;
    hnn_dataset *rows[2] = {NULL, NULL};
    hnn_status st;
    size_t max = 0;
    rt->sets[0] = train;
    rt->sets[1] = val;
    rt->horizon = horizon;
    rt->starts = NULL;
    rt->cap = 0;
    t.self = rt;
    t.alloc = rt->ops.alloc;
    t.dof = rt->ops.dim / 2;
    t.param_count = rt->ops.param_count;
    t.params = params;
    t.loss = rollout_batch_loss;
    t.sync = rollout_sync;
    if ((st = rollout_rows(train, horizon, 0, t.alloc, &rows[0], &max, err)) == HNN_OK &&
        (val == NULL || (st = rollout_rows(val, horizon, 1, t.alloc, &rows[1], &max, err)) ==
                            HNN_OK) &&
        (st = hnni_train_check(&t, opt, rows[0], rows[1], def, result, err)) == HNN_OK) {
        rt->cap = max;
        rt->starts = (size_t *)hnni_alloc(t.alloc, max * sizeof *rt->starts);
        st = rt->starts == NULL ? hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate %zu "
                                            "window starts", max)
                                : hnni_train(&t, opt, rows[0], rows[1], def, result, err);
    }
    if (st != HNN_OK && err != NULL && rt->ops.message[0] != '\0' &&
        strstr(err->message, rt->ops.message) == NULL) {
        char why[2 * HNN_ERROR_MESSAGE_SIZE]; /* the trainer's words, then the loss's */
        snprintf(why, sizeof why, "%s (%s)", err->message, rt->ops.message);
        memcpy(err->message, why, sizeof err->message - 1);
        err->message[sizeof err->message - 1] = '\0';
    }
    hnni_free(t.alloc, rt->starts, rt->cap * sizeof *rt->starts);
    hnn_dataset_destroy(rows[0]);
    hnn_dataset_destroy(rows[1]);
    return st;
}

/* The checks both trainers make before they allocate: a horizon in range, sets of the
 * model's n. */
static hnn_status check_sets(const char *fn, size_t dof, const hnn_trajectories *train,
                             const hnn_trajectories *val, size_t horizon, hnn_error *err)
{
    if (horizon == 0 || horizon > MAX_HORIZON)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "%s: horizon %zu is not in 1..%d", fn,
                         horizon, MAX_HORIZON);
    if (train->dof != dof || (val != NULL && val->dof != dof))
        return hnni_fail(err, HNN_ERR_SIZE_MISMATCH, "%s: the trajectories have n = %zu, the "
                         "model n = %zu", fn, val != NULL && val->dof != dof ? val->dof
                                                                             : train->dof, dof);
    return HNN_OK;
}

static void net_sync(void *net)
{
    hnni_net_params_changed((hnn_net *)net);
}

hnn_status hnn_train_rollout_with(hnn_net *net, hnn_optimizer *opt,
                                  const hnn_trajectories *train, const hnn_trajectories *val,
                                  hnn_method method, size_t horizon, const hnn_train_def *def,
                                  hnn_train_result *result, hnn_error *err)
{
    static const char fn[] = "hnn_train_rollout";
    rollout_trainer rt;
    net_model nm;
    hnn_loss_workspace *lw = NULL;
    char why[HNN_ERROR_MESSAGE_SIZE];
    hnn_status st;
    if (net == NULL || train == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "%s: net, opt, train and def must not be NULL", fn);
    if ((st = check_sets(fn, hnn_net_dof(net), train, val, horizon, err)) != HNN_OK)
        return st;
    why[0] = '\0';
    if ((rt.sc = net_scheme(net, method, fn, why)) == NULL)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "%s", why);
    if ((st = hnn_loss_workspace_create(net, &lw, err)) != HNN_OK)
        return st;
    nm.net = net, nm.ws = hnn_net_workspace(net), nm.lw = lw;
    rt.ops = net_ops(&nm);
    rt.model = net;
    rt.sync = net_sync;
    st = train_windows(&rt, hnni_net_params_for_update(net), opt, train, val, horizon, def,
                       result, err);
    hnn_loss_workspace_destroy(lw);
    return st;
}

hnn_status hnn_train_rollout(hnn_net *net, hnn_optimizer *opt, const hnn_trajectories *train,
                             const hnn_trajectories *val, size_t horizon,
                             const hnn_train_def *def, hnn_train_result *result,
                             hnn_error *err)
{
    return hnn_train_rollout_with(net, opt, train, val, HNN_METHOD_RK4, horizon, def, result,
                                  err);
}

static void dissipative_sync(void *m)
{
    hnni_dissipative_params_changed((hnn_dissipative *)m);
}

hnn_status hnn_dissipative_train_rollout(hnn_dissipative *m, hnn_optimizer *opt,
                                         const hnn_trajectories *train,
                                         const hnn_trajectories *val, size_t horizon,
                                         const hnn_train_def *def, hnn_train_result *result,
                                         hnn_error *err)
{
    static const char fn[] = "hnn_dissipative_train_rollout";
    rollout_trainer rt;
    hnn_status st;
    if (m == NULL || train == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "%s: m, opt, train and def must not be NULL", fn);
    if ((st = check_sets(fn, hnn_net_dof(hnn_dissipative_energy_net(m)), train, val, horizon,
                         err)) != HNN_OK)
        return st;
    rt.ops = dissipative_ops(m);
    rt.sc = &RK4;
    rt.model = m;
    rt.sync = dissipative_sync;
    rt.ops.message[0] = '\0';
    return train_windows(&rt, hnni_dissipative_params_for_update(m), opt, train, val, horizon,
                         def, result, err);
}
