/* The multi-step rollout loss (hnn/trajectory.h): from each window's first observation, K
 * steps of classical RK4 over the recorded steps, matched to the next K observations, with
 * the exact parameter gradient by reverse through the steps.
 *
 * Forward, per step j and window b (state X, step h): stages S1 = X, S2 = X + h/2 k1,
 * S3 = X + h/2 k2, S4 = X + h k3, k_i = f(S_i), X' = X + h/6 (k1 + 2 k2 + 2 k3 + k4). The
 * stage states are kept (4 K states per window: memory linear in K). Reverse, from the
 * adjoint Xb' of X': kb4 = h/6 Xb', sb4 = J(S4)^T kb4, kb3 = h/3 Xb' + h sb4, sb3 =
 * J(S3)^T kb3, kb2 = h/3 Xb' + h/2 sb3, sb2 = J(S2)^T kb2, kb1 = h/6 Xb' + h/2 sb2, sb1 =
 * J(S1)^T kb1; Xb = Xb' + sb1 + sb2 + sb3 + sb4 (+ the residual of observation j); the
 * parameters get sum_i kb_i . df(S_i)/dtheta (hnni_field_vjp). J is the net's exact field
 * Jacobian (hnn_net_field_jacobian). Every product of the sweep is batched over the windows. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "core.h"
#include "dataset.h"
#include "hnn/loss.h"
#include "hnn/net.h"
#include "loss_impl.h"
#include "net_access.h"
#include "train_impl.h"
#include "trajectory_impl.h"

/* The longest horizon, and the windows swept at once: the scratch is sized for one chunk,
 * so memory does not grow with the number of windows (only with K, n and the chunk). */
enum { MAX_HORIZON = 1024, ROLLOUT_CHUNK = 256 };

/* The scratch of one call: stage states S[j][i] (K x 4 blocks of count x dim), the stage
 * fields and the running state, their adjoints, the Jacobians of one stage. */
typedef struct sweep {
    size_t count, dim, K;
    double *S;    /* K x 4 x count x dim */
    double *X;    /* (K + 1) x count x dim: the rolled-out states, X_0 the observations */
    double *k;    /* 4 x count x dim: the stage fields of the current step */
    double *bar;  /* count x dim: the adjoint of the current state */
    double *kb;   /* 4 x count x dim: the stage fields' adjoints */
    double *sb;   /* count x dim: one stage state's adjoint */
    double *acc;  /* count x dim: the sum of a step's stage-state adjoints */
    double *jac;  /* count x dim x dim */
    double *h;    /* K x count: the recorded steps */
} sweep;

static size_t sweep_doubles(size_t count, size_t dim, size_t K, size_t *ok)
{
    /* count x dim x (4K + K + 1 + 4 + 1 + 4 + 1 + 1 + dim) + K count */
    size_t per = 0, total = 0;
    *ok = hnni_mul_size(dim, 5 * K + 12 + dim, &per) && hnni_mul_size(per, count, &total) &&
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

/* X_{j+1} from X_j: the four stages, kept in S[j]. */
static hnn_status forward_step(const hnn_net *net, hnn_workspace *ws, sweep *w, size_t j)
{
    static const double stage_at[4] = {0.0, 0.5, 0.5, 1.0};
    const size_t cd = w->count * w->dim;
    const double *X = block(w, w->X, j);
    double *Xn = block(w, w->X, j + 1);
    size_t i, e;
    hnn_status st;
    for (i = 0; i < 4; i++) {
        double *S = block(w, w->S, 4 * j + i);
        for (e = 0; e < cd; e++) {
            const double h = w->h[j * w->count + e / w->dim];
            S[e] = i == 0 ? X[e] : X[e] + stage_at[i] * h * block(w, w->k, i - 1)[e];
        }
        if ((st = hnn_net_field(net, ws, S, w->count, block(w, w->k, i))) != HNN_OK)
            return st;
    }
    for (e = 0; e < cd; e++) {
        const double h = w->h[j * w->count + e / w->dim];
        const double *k1 = block(w, w->k, 0), *k2 = block(w, w->k, 1), *k3 = block(w, w->k, 2),
                     *k4 = block(w, w->k, 3);
        Xn[e] = X[e] + h / 6.0 * (k1[e] + 2.0 * k2[e] + 2.0 * k3[e] + k4[e]);
        if (!isfinite(Xn[e]))
            return HNN_ERR_NONFINITE;
    }
    return HNN_OK;
}

/* sb = J(S)^T v for the count states of S. */
static hnn_status jacobian_t(const hnn_net *net, hnn_workspace *ws, sweep *w, const double *S,
                             const double *v, double *sb)
{
    const size_t d = w->dim;
    size_t b, r, c;
    hnn_status st = hnn_net_field_jacobian(net, ws, S, w->count, w->jac);
    if (st != HNN_OK)
        return st;
    for (b = 0; b < w->count; b++) {
        const double *J = w->jac + b * d * d, *vb = v + b * d;
        double *out = sb + b * d;
        for (c = 0; c < d; c++) {
            double sum = 0.0;
            for (r = 0; r < d; r++)
                sum += J[r * d + c] * vb[r];
            out[c] = sum;
        }
    }
    return HNN_OK;
}

/* From the adjoint of X_{j+1} (in w->bar) to that of X_j, adding the parameters' share of
 * step j to grad. */
static hnn_status reverse_step(const hnn_net *net, hnn_workspace *ws, hnn_loss_workspace *lw,
                               sweep *w, size_t j, double *grad)
{
    /* kb_i = a_i h Xb' + c_i h sb_{i+1}: a = 1/6, 1/3, 1/3, 1/6; c = 1/2, 1/2, 1 */
    static const double a[4] = {1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0};
    static const double c[3] = {0.5, 0.5, 1.0};
    const size_t cd = w->count * w->dim;
    size_t e;
    int i;
    hnn_status st;
    memset(w->acc, 0, cd * sizeof *w->acc);
    for (i = 3; i >= 0; i--) {
        double *kb = block(w, w->kb, (size_t)i);
        const double *S = block(w, w->S, 4 * j + (size_t)i);
        for (e = 0; e < cd; e++) {
            const double h = w->h[j * w->count + e / w->dim];
            kb[e] = a[i] * h * w->bar[e] + (i < 3 ? c[i] * h * w->sb[e] : 0.0);
        }
        hnni_field_vjp(net, lw, S, kb, w->count, grad);
        /* J(S_i)^T kb_i: the stage below needs it, and it adds to X_j's adjoint */
        if ((st = jacobian_t(net, ws, w, S, kb, w->sb)) != HNN_OK)
            return st;
        for (e = 0; e < cd; e++)
            w->acc[e] += w->sb[e];
    }
    for (e = 0; e < cd; e++)
        w->bar[e] += w->acc[e];
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
    w->acc = w->sb + bc * dim;
    w->jac = w->acc + bc * dim;
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
static hnn_status rollout_chunk(const hnn_net *net, hnn_workspace *ws, hnn_loss_workspace *lw,
                                const hnn_trajectories *tr, const size_t *starts, double scale,
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
        st = forward_step(net, ws, w, j);
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
            st = reverse_step(net, ws, lw, w, j - 1, grad);
    }
    return st;
}

hnn_status hnn_rollout_loss(const hnn_net *net, hnn_workspace *ws, hnn_loss_workspace *lw,
                            const hnn_trajectories *tr, size_t horizon, const size_t *starts,
                            size_t count, double *loss, double *grad)
{
    const hnn_allocator *alloc;
    const size_t chunk = count < ROLLOUT_CHUNK ? count : ROLLOUT_CHUNK;
    char *msg;
    sweep w;
    size_t ok, doubles, b, done;
    double sum = 0.0, scale, *mem;
    hnn_status st = HNN_OK;
    if (lw == NULL)
        return HNN_ERR_NULL;
    msg = hnni_loss_message(lw);
    msg[0] = '\0';
    if (net == NULL || ws == NULL || tr == NULL || starts == NULL)
        return hnni_refuse(msg, HNN_ERR_NULL, "hnn_rollout_loss: net, ws, tr and starts must "
                           "not be NULL");
    if (horizon == 0 || horizon > MAX_HORIZON || count == 0)
        return hnni_refuse(msg, HNN_ERR_INVALID_ARG, "hnn_rollout_loss: horizon %zu (1..%d) "
                           "and count %zu (>= 1)", horizon, MAX_HORIZON, count);
    if (hnn_net_dof(net) != tr->dof || !hnni_loss_fits(lw, net) || hnni_workspace_net(ws) != net)
        return hnni_refuse(msg, HNN_ERR_SIZE_MISMATCH, "hnn_rollout_loss: the net (n = %zu), "
                           "its workspaces and the trajectories (n = %zu) do not match",
                           hnn_net_dof(net), tr->dof);
    for (b = 0; b < count; b++) { /* each window inside one trajectory */
        size_t i;
        if (starts[b] >= tr->total)
            return hnni_refuse(msg, HNN_ERR_INVALID_ARG, "hnn_rollout_loss: window %zu starts "
                               "at observation %zu of %zu", b, starts[b], tr->total);
        i = trajectory_of(tr, starts[b]);
        if (tr->start[i + 1] - starts[b] <= horizon)
            return hnni_refuse(msg, HNN_ERR_INVALID_ARG, "hnn_rollout_loss: window %zu (start "
                               "%zu) needs %zu more observations of trajectory %zu, which ends "
                               "at %zu", b, starts[b], horizon, i, tr->start[i + 1] - 1);
    }
    doubles = sweep_doubles(chunk, tr->dim, horizon, &ok);
    if (!ok || doubles > ((size_t)1 << 31))
        return hnni_refuse(msg, HNN_ERR_TOO_LARGE, "hnn_rollout_loss: a chunk of %zu windows "
                           "of horizon %zu for n = %zu needs more than 16 GiB", chunk, horizon,
                           tr->dof);
    alloc = hnni_net_allocator(net);
    mem = (double *)hnni_alloc(alloc, doubles * sizeof(double));
    if (mem == NULL)
        return hnni_refuse(msg, HNN_ERR_NO_MEMORY, "hnn_rollout_loss: cannot allocate %zu "
                           "bytes", doubles * sizeof(double));
    scale = 2.0 / ((double)count * (double)horizon * (double)tr->dim);
    if (grad != NULL)
        memset(grad, 0, hnn_net_param_count(net) * sizeof *grad);
    for (done = 0; done < count && st == HNN_OK; done += chunk) {
        layout(&w, mem, count - done < chunk ? count - done : chunk, tr->dim, horizon);
        st = rollout_chunk(net, ws, lw, tr, starts + done, scale, &w, &sum, grad);
    }
    if (st == HNN_OK && loss != NULL)
        *loss = sum / ((double)count * (double)horizon * (double)tr->dim);
    hnni_free(alloc, mem, doubles * sizeof(double));
    if (st != HNN_OK && msg[0] == '\0')
        hnni_refuse(msg, st, "hnn_rollout_loss: %s in the rollout (a step left the range where "
                    "the net is finite?)", hnn_status_string(st));
    return st;
}

/* ---- training on the rollout loss: hnni_train's loop over windows ----------------------- */

/* The trainer shuffles and batches rows of a dataset; here each row stands for a window: its
 * first number is the window's start, its second which set (0 training, 1 validation), the
 * rest 0. So the rollout loss trains with hnn_train's batches, seeds, progress and results. */
typedef struct rollout_model {
    hnn_net *net;
    hnn_loss_workspace *lw;
    const hnn_trajectories *sets[2];
    size_t horizon;
    size_t *starts; /* a batch's window starts */
    size_t cap;
} rollout_model;

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
    rollout_model *m = (rollout_model *)self;
    const size_t dim = 2 * hnn_net_dof(m->net);
    const hnn_trajectories *tr = m->sets[x[1] != 0.0];
    size_t b;
    (void)y;
    for (b = 0; b < count; b++) /* count <= cap: no batch is larger than the larger set */
        m->starts[b] = (size_t)x[b * dim];
    return hnn_rollout_loss(m->net, hnn_net_workspace(m->net), m->lw, tr, m->horizon,
                            m->starts, count, loss, grad);
}

static void rollout_sync(void *self)
{
    hnni_net_params_changed(((rollout_model *)self)->net);
}

hnn_status hnn_train_rollout(hnn_net *net, hnn_optimizer *opt, const hnn_trajectories *train,
                             const hnn_trajectories *val, size_t horizon,
                             const hnn_train_def *def, hnn_train_result *result,
                             hnn_error *err)
{
    rollout_model m;
    hnni_trainable t;
    hnn_dataset *rows[2] = {NULL, NULL};
    hnn_status st;
    size_t max = 0;
    if (net == NULL || train == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_train_rollout: net, opt, train and def must "
                         "not be NULL");
    if (horizon == 0 || horizon > MAX_HORIZON)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "hnn_train_rollout: horizon %zu is not in "
                         "1..%d", horizon, MAX_HORIZON);
    if (train->dof != hnn_net_dof(net) || (val != NULL && val->dof != hnn_net_dof(net)))
        return hnni_fail(err, HNN_ERR_SIZE_MISMATCH, "hnn_train_rollout: the trajectories "
                         "have n = %zu, the net n = %zu",
                         val != NULL && val->dof != hnn_net_dof(net) ? val->dof : train->dof,
                         hnn_net_dof(net));
    memset(&m, 0, sizeof m);
    m.net = net;
    m.sets[0] = train;
    m.sets[1] = val;
    m.horizon = horizon;
    t.self = &m;
    t.alloc = hnni_net_allocator(net);
    t.dof = hnn_net_dof(net);
    t.param_count = hnn_net_param_count(net);
    t.params = hnni_net_params_for_update(net);
    t.loss = rollout_batch_loss;
    t.sync = rollout_sync;
    if ((st = rollout_rows(train, horizon, 0, t.alloc, &rows[0], &max, err)) == HNN_OK &&
        (val == NULL || (st = rollout_rows(val, horizon, 1, t.alloc, &rows[1], &max, err)) ==
                            HNN_OK) &&
        (st = hnni_train_check(&t, opt, rows[0], rows[1], def, result, err)) == HNN_OK &&
        (st = hnn_loss_workspace_create(net, &m.lw, err)) == HNN_OK) {
        m.cap = max;
        m.starts = (size_t *)hnni_alloc(t.alloc, max * sizeof *m.starts);
        st = m.starts == NULL ? hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate %zu window "
                                          "starts", max)
                              : hnni_train(&t, opt, rows[0], rows[1], def, result, err);
    }
    if (st != HNN_OK && err != NULL && m.lw != NULL &&
        hnn_loss_workspace_last_error(m.lw)[0] != '\0' &&
        strstr(err->message, hnn_loss_workspace_last_error(m.lw)) == NULL) {
        char why[2 * HNN_ERROR_MESSAGE_SIZE]; /* the trainer's words, then the loss's */
        snprintf(why, sizeof why, "%s (%s)", err->message,
                 hnn_loss_workspace_last_error(m.lw));
        memcpy(err->message, why, sizeof err->message - 1);
        err->message[sizeof err->message - 1] = '\0';
    }
    hnni_free(t.alloc, m.starts, m.cap * sizeof *m.starts);
    hnn_loss_workspace_destroy(m.lw);
    hnn_dataset_destroy(rows[0]);
    hnn_dataset_destroy(rows[1]);
    return st;
}
