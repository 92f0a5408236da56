/* Trajectory sets: creation from arrays, splits that never leak, and the difference rules
 * that turn observations into (state, slope) pairs (hnn/trajectory.h). */
#include "trajectory_impl.h"

#include <math.h>
#include <string.h>

#include "alloc.h"
#include "core.h"
#include "dataset.h"
#include "hnn/net.h"

static void free_arrays(hnn_trajectories *tr)
{
    hnni_free(&tr->alloc, tr->start, (tr->count + 1) * sizeof *tr->start);
    hnni_free(&tr->alloc, tr->t, tr->total * sizeof *tr->t);
    hnni_free(&tr->alloc, tr->x, tr->total * tr->dim * sizeof *tr->x);
}

hnn_status hnni_trajectories_new(const hnn_allocator *alloc, size_t dof, size_t count,
                                 size_t total, hnn_trajectories **out, hnn_error *err)
{
    hnn_allocator a = hnni_allocator_resolve(alloc ? *alloc : (hnn_allocator){NULL, NULL});
    hnn_trajectories *tr;
    size_t xbytes, sbytes;
    *out = NULL;
    if (dof == 0 || dof > HNN_MAX_DOF)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "trajectories need 1 <= dof <= %u, not %zu",
                         HNN_MAX_DOF, dof);
    if (count == 0 || total < count)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "a trajectory set needs at least one "
                         "trajectory of at least one observation (count %zu, total %zu)",
                         count, total);
    if (!hnni_mul_size(total, 2 * dof * sizeof(double), &xbytes) ||
        !hnni_mul_size(count + 1, sizeof(size_t), &sbytes) || xbytes > ((size_t)1 << 34))
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "%zu observations of dof %zu are too many",
                         total, dof);
    tr = (hnn_trajectories *)hnni_alloc(&a, sizeof *tr);
    if (tr == NULL)
        return hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate a trajectory set");
    tr->alloc = a;
    tr->dof = dof;
    tr->dim = 2 * dof;
    tr->count = count;
    tr->total = total;
    tr->start = (size_t *)hnni_alloc(&a, sbytes);
    tr->t = (double *)hnni_alloc(&a, total * sizeof(double));
    tr->x = (double *)hnni_alloc(&a, xbytes);
    if (tr->start == NULL || tr->t == NULL || tr->x == NULL) {
        hnn_trajectories_destroy(tr);
        return hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate %zu bytes for trajectories",
                         xbytes + sbytes + total * sizeof(double));
    }
    *out = tr;
    return HNN_OK;
}

void hnn_trajectories_destroy(hnn_trajectories *tr)
{
    hnn_allocator a;
    if (tr == NULL)
        return;
    a = tr->alloc;
    free_arrays(tr);
    hnni_free(&a, tr, sizeof *tr);
}

/* Times finite and strictly increasing, states finite, in trajectory i of `tr`. */
static hnn_status check_trajectory(const hnn_trajectories *tr, size_t i, hnn_error *err)
{
    size_t k, j;
    for (k = tr->start[i]; k < tr->start[i + 1]; k++) {
        const size_t local = k - tr->start[i];
        if (!isfinite(tr->t[k]))
            return hnni_fail(err, HNN_ERR_NONFINITE, "trajectory %zu: time %zu is not finite",
                             i, local);
        if (k > tr->start[i] && !(tr->t[k] > tr->t[k - 1]))
            return hnni_fail(err, HNN_ERR_INVALID_ARG, "trajectory %zu: time %zu (%.17g) is not "
                             "after the one before it (%.17g)", i, local, tr->t[k], tr->t[k - 1]);
        if (!isfinite(tr->t[k] - tr->t[tr->start[i]])) /* every step and span must be finite */
            return hnni_fail(err, HNN_ERR_INVALID_ARG, "trajectory %zu: time %zu (%.17g) is too "
                             "far from its first (%.17g): the span overflows", i, local,
                             tr->t[k], tr->t[tr->start[i]]);
        for (j = 0; j < tr->dim; j++)
            if (!isfinite(tr->x[k * tr->dim + j]))
                return hnni_fail(err, HNN_ERR_NONFINITE, "trajectory %zu: state %zu (t = %.17g) "
                                 "holds NaN or infinity", i, local, tr->t[k]);
    }
    return HNN_OK;
}

hnn_status hnn_trajectories_create(size_t dof, size_t count, const size_t *lengths,
                                   const double *t, const double *x,
                                   const hnn_allocator *alloc, hnn_trajectories **out,
                                   hnn_error *err)
{
    hnn_trajectories *tr;
    size_t total = 0, i;
    hnn_status st;
    if (out != NULL)
        *out = NULL;
    if (lengths == NULL || t == NULL || x == NULL || out == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_trajectories_create: lengths, t, x and out "
                         "must not be NULL");
    for (i = 0; i < count; i++) {
        if (lengths[i] == 0)
            return hnni_fail(err, HNN_ERR_INVALID_ARG, "trajectory %zu has length 0", i);
        if (!hnni_add_size(total, lengths[i], &total))
            return hnni_fail(err, HNN_ERR_TOO_LARGE, "the lengths overflow at trajectory %zu", i);
    }
    if ((st = hnni_trajectories_new(alloc, dof, count, total, &tr, err)) != HNN_OK)
        return st;
    for (i = 0; i < count; i++)
        tr->start[i + 1] = tr->start[i] + lengths[i];
    memcpy(tr->t, t, total * sizeof *t);
    memcpy(tr->x, x, total * tr->dim * sizeof *x);
    for (i = 0; i < count; i++) {
        if ((st = check_trajectory(tr, i, err)) != HNN_OK) {
            hnn_trajectories_destroy(tr);
            return st;
        }
    }
    *out = tr;
    return hnni_ok(err);
}

size_t hnn_trajectories_count(const hnn_trajectories *tr)
{
    return tr != NULL ? tr->count : 0;
}

size_t hnn_trajectories_dof(const hnn_trajectories *tr)
{
    return tr != NULL ? tr->dof : 0;
}

size_t hnn_trajectories_total(const hnn_trajectories *tr)
{
    return tr != NULL ? tr->total : 0;
}

size_t hnn_trajectories_length(const hnn_trajectories *tr, size_t i)
{
    return tr != NULL && i < tr->count ? tr->start[i + 1] - tr->start[i] : 0;
}

const double *hnn_trajectories_times(const hnn_trajectories *tr, size_t i)
{
    return tr != NULL && i < tr->count ? tr->t + tr->start[i] : NULL;
}

const double *hnn_trajectories_states(const hnn_trajectories *tr, size_t i)
{
    return tr != NULL && i < tr->count ? tr->x + tr->start[i] * tr->dim : NULL;
}

/* ---- splits ------------------------------------------------------------------------------- */

/* The observations of trajectory i that one side of a split keeps: [first, first + len). */
typedef struct piece {
    size_t first, len;
} piece;

/* Where trajectory i is cut in time: the index of its first observation with
 * t - t_first >= train_fraction (t_last - t_first); the ones before it train. */
static size_t time_cut(const hnn_trajectories *tr, size_t i, double train_fraction)
{
    const size_t a = tr->start[i], b = tr->start[i + 1];
    const double span = train_fraction * (tr->t[b - 1] - tr->t[a]);
    size_t k = a;
    while (k < b && tr->t[k] - tr->t[a] < span)
        k++;
    return k;
}

/* A new set of the given pieces (count of them, each of at least one observation). */
static hnn_status gather(const hnn_trajectories *tr, const piece *pieces, size_t count,
                         hnn_trajectories **out, hnn_error *err)
{
    size_t total = 0, i;
    hnn_status st;
    for (i = 0; i < count; i++)
        total += pieces[i].len;
    if ((st = hnni_trajectories_new(&tr->alloc, tr->dof, count, total, out, err)) != HNN_OK)
        return st;
    for (i = 0; i < count; i++) {
        const size_t at = (*out)->start[i];
        (*out)->start[i + 1] = at + pieces[i].len;
        memcpy((*out)->t + at, tr->t + pieces[i].first, pieces[i].len * sizeof(double));
        memcpy((*out)->x + at * tr->dim, tr->x + pieces[i].first * tr->dim,
               pieces[i].len * tr->dim * sizeof(double));
    }
    return HNN_OK;
}

/* The pieces of each side: by whole trajectories, or every trajectory cut in time (pieces
 * of fewer than 2 observations dropped). */
static void plan_split(const hnn_trajectories *tr, hnn_split how, double train_fraction,
                       piece *train, size_t *ntrain, piece *test, size_t *ntest)
{
    size_t i;
    *ntrain = *ntest = 0;
    if (how == HNN_SPLIT_TRAJECTORIES) {
        const size_t cut = (size_t)round(train_fraction * (double)tr->count);
        for (i = 0; i < tr->count; i++) {
            const piece p = {tr->start[i], tr->start[i + 1] - tr->start[i]};
            if (i < cut)
                train[(*ntrain)++] = p;
            else
                test[(*ntest)++] = p;
        }
        return;
    }
    for (i = 0; i < tr->count; i++) {
        const size_t a = tr->start[i], b = tr->start[i + 1], k = time_cut(tr, i, train_fraction);
        if (k - a >= 2)
            train[(*ntrain)++] = (piece){a, k - a};
        if (b - k >= 2)
            test[(*ntest)++] = (piece){k, b - k};
    }
}

hnn_status hnn_trajectories_split(const hnn_trajectories *tr, hnn_split how,
                                  double train_fraction, hnn_trajectories **train,
                                  hnn_trajectories **test, hnn_error *err)
{
    piece *a = NULL, *b = NULL;
    size_t na, nb, bytes;
    hnn_status st;
    if (train != NULL)
        *train = NULL;
    if (test != NULL)
        *test = NULL;
    if (tr == NULL || train == NULL || test == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_trajectories_split: tr, train and test must "
                         "not be NULL");
    if (how != HNN_SPLIT_TRAJECTORIES && how != HNN_SPLIT_TIME)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "hnn_trajectories_split: %d is not a split",
                         (int)how);
    if (!(train_fraction > 0.0 && train_fraction < 1.0))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "hnn_trajectories_split: train_fraction "
                         "%g is not in (0, 1)", train_fraction);
    bytes = tr->count * sizeof(piece); /* no overflow: count <= 2^30 (the states' 2^34-byte cap) */
    a = (piece *)hnni_alloc(&tr->alloc, bytes);
    b = a != NULL ? (piece *)hnni_alloc(&tr->alloc, bytes) : NULL;
    if (b == NULL) {
        hnni_free(&tr->alloc, a, bytes);
        return hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate a split plan");
    }
    plan_split(tr, how, train_fraction, a, &na, b, &nb);
    if (na == 0 || nb == 0)
        st = hnni_fail(err, HNN_ERR_INVALID_ARG, "a %s split at train_fraction %g of %zu "
                       "trajectories (%zu observations) leaves the %s side without %s",
                       how == HNN_SPLIT_TIME ? "time" : "trajectory", train_fraction, tr->count,
                       tr->total, na == 0 ? "training" : "test",
                       how == HNN_SPLIT_TIME ? "a piece of 2 observations" : "a trajectory");
    else if ((st = gather(tr, a, na, train, err)) == HNN_OK &&
             (st = gather(tr, b, nb, test, err)) != HNN_OK) {
        hnn_trajectories_destroy(*train);
        *train = NULL;
    }
    hnni_free(&tr->alloc, a, bytes);
    hnni_free(&tr->alloc, b, bytes);
    return st == HNN_OK ? hnni_ok(err) : st;
}

/* ---- difference rules --------------------------------------------------------------------- */

/* The pairs `rule` makes from a trajectory of `len` observations. */
static size_t pairs_of(hnn_difference rule, size_t len)
{
    const size_t need = rule == HNN_DIFF_CENTRAL ? 3 : 2;
    return len >= need ? len - need + 1 : 0;
}

/* Pair j of the trajectory whose observations start at t, x: its state and slope. */
static void make_pair(hnn_difference rule, size_t dim, const double *t, const double *x,
                      size_t j, double *state, double *slope)
{
    size_t i;
    if (rule == HNN_DIFF_CENTRAL) { /* around observation j + 1 */
        const double hm = t[j + 1] - t[j], hp = t[j + 2] - t[j + 1];
        const double wp = hm / (hp * (hm + hp)), wm = hp / (hm * (hm + hp));
        const double *x0 = x + j * dim, *x1 = x0 + dim, *x2 = x1 + dim;
        for (i = 0; i < dim; i++) {
            state[i] = x1[i];
            slope[i] = wp * (x2[i] - x1[i]) + wm * (x1[i] - x0[i]);
        }
        return;
    }
    {
        const double h = t[j + 1] - t[j];
        const double *x0 = x + j * dim, *x1 = x0 + dim;
        for (i = 0; i < dim; i++) {
            state[i] = rule == HNN_DIFF_MIDPOINT ? 0.5 * (x0[i] + x1[i]) : x0[i];
            slope[i] = (x1[i] - x0[i]) / h;
        }
    }
}

static const char *rule_name(hnn_difference rule)
{
    return rule == HNN_DIFF_FORWARD ? "forward" : rule == HNN_DIFF_CENTRAL ? "central" : "midpoint";
}

hnn_status hnn_trajectories_to_dataset(const hnn_trajectories *tr, hnn_difference rule,
                                       const hnn_allocator *alloc, hnn_dataset **out,
                                       hnn_error *err)
{
    size_t count = 0, i, j, s = 0, c;
    hnn_status st;
    if (out != NULL)
        *out = NULL;
    if (tr == NULL || out == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_trajectories_to_dataset: tr and out must not "
                         "be NULL");
    if (rule != HNN_DIFF_FORWARD && rule != HNN_DIFF_CENTRAL && rule != HNN_DIFF_MIDPOINT)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "hnn_trajectories_to_dataset: %d is not a "
                         "difference rule", (int)rule);
    for (i = 0; i < tr->count; i++)
        count += pairs_of(rule, tr->start[i + 1] - tr->start[i]);
    if (count == 0)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "the %s rule needs a trajectory of at least "
                         "%d observations; none of the %zu given has that many",
                         rule_name(rule), rule == HNN_DIFF_CENTRAL ? 3 : 2, tr->count);
    if ((st = hnni_dataset_new(alloc, tr->dof, count, out, err)) != HNN_OK)
        return st;
    for (i = 0; i < tr->count; i++) {
        const double *t = tr->t + tr->start[i], *x = tr->x + tr->start[i] * tr->dim;
        const size_t np = pairs_of(rule, tr->start[i + 1] - tr->start[i]);
        for (j = 0; j < np; j++, s++) {
            double *state = (*out)->x + s * tr->dim, *slope = (*out)->y + s * tr->dim;
            make_pair(rule, tr->dim, t, x, j, state, slope);
            for (c = 0; c < tr->dim; c++)
                if (!isfinite(state[c]) || !isfinite(slope[c])) {
                    hnn_dataset_destroy(*out);
                    *out = NULL;
                    return hnni_fail(err, HNN_ERR_NONFINITE, "trajectory %zu: the %s pair at "
                                     "t = %.17g overflows (a step of %.3g)", i, rule_name(rule),
                                     t[j], t[j + 1] - t[j]);
                }
        }
    }
    return hnni_ok(err);
}
