/* Feature maps: what a net reads its state through (features.h). Translation features are
 * linear in x (differences of positions, momenta as they are); rotation features are dot and
 * cross products of the plane vectors the state holds (relative positions, momenta) and the
 * distances between bodies, all unchanged when every body is moved or turned together. */
#include "features.h"

#include <math.h>
#include <stdint.h>

#include "core.h"

/* A plane vector made from the state: sum over its terms of c * (x[off], x[off + 1]). A
 * relative position q_j - q_i has two terms, a momentum p_i one. */
typedef struct planar {
    size_t off[2];
    double c[2];
    int terms;
} planar;

enum { DISTANCE, DOT, CROSS };

static uint64_t pair_count(uint64_t bodies)
{
    return bodies * (bodies - 1) / 2;
}

size_t hnni_feature_count(hnn_feature_map map, size_t dof, size_t bodies)
{
    uint64_t m, v;
    switch (map) {
    case HNN_FEATURES_IDENTITY:
        return bodies == 0 ? 2 * dof : 0;
    case HNN_FEATURES_POSITIONS:
        return bodies == 0 ? dof : 0;
    case HNN_FEATURES_TRANSLATION:
        if (bodies < 2 || bodies > dof || dof % bodies != 0)
            return 0;
        m = pair_count(bodies) * (dof / bodies) + dof;
        break;
    case HNN_FEATURES_ROTATION:
        if (bodies < 2 || dof % 2 != 0 || bodies != dof / 2) /* no 2 * bodies: it could wrap */
            return 0;
        v = pair_count(bodies) + bodies;
        m = v * v;
        break;
    default:
        return 0;
    }
    return m > HNN_MAX_WIDTH ? 0 : (size_t)m; /* dof <= 4096: no overflow above */
}

hnn_status hnni_features_check(const hnn_net_def *d, hnn_error *err)
{
    switch (d->features) {
    case HNN_FEATURES_IDENTITY:
    case HNN_FEATURES_POSITIONS:
        if (d->bodies != 0)
            return hnni_fail(err, HNN_ERR_INVALID_ARG, "bodies = %zu: only the invariant maps "
                             "use bodies (leave it 0)", d->bodies);
        return HNN_OK;
    case HNN_FEATURES_TRANSLATION:
    case HNN_FEATURES_ROTATION:
        if (d->bodies < 2 || d->bodies > d->dof)
            return hnni_fail(err, HNN_ERR_INVALID_ARG, "bodies = %zu: an invariant feature map "
                             "needs 2 to n = %zu bodies", d->bodies, d->dof);
        if (d->features == HNN_FEATURES_TRANSLATION && d->dof % d->bodies != 0)
            return hnni_fail(err, HNN_ERR_INVALID_ARG, "n = %zu is not a multiple of bodies = %zu",
                             d->dof, d->bodies);
        if (d->features == HNN_FEATURES_ROTATION && (d->dof % 2 != 0 || d->bodies != d->dof / 2))
            return hnni_fail(err, HNN_ERR_INVALID_ARG, "the rotation map is for bodies in the "
                             "plane: n must be 2 x bodies (n = %zu, bodies = %zu)", d->dof,
                             d->bodies);
        if (hnni_feature_count(d->features, d->dof, d->bodies) == 0)
            return hnni_fail(err, HNN_ERR_TOO_LARGE, "%zu bodies give more than %u features",
                             d->bodies, HNN_MAX_WIDTH);
        return HNN_OK;
    default:
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "unknown feature map %d", (int)d->features);
    }
}

/* ---- rotation features ------------------------------------------------------------------ */

/* Vector a of the planar state: the relative positions q_j - q_i (i < j) in pair order, then
 * the momenta p_1..p_B. */
static planar plane_vector(size_t bodies, size_t a)
{
    const size_t pairs = (size_t)pair_count(bodies);
    planar u;
    if (a < pairs) {
        size_t i = 0, left = a;
        while (left >= bodies - 1 - i) { /* pair a is (i, j) in the order (0,1), (0,2), .. */
            left -= bodies - 1 - i;
            i++;
        }
        u.off[0] = 2 * (i + 1 + left); /* q_j */
        u.c[0] = 1.0;
        u.off[1] = 2 * i;              /* minus q_i */
        u.c[1] = -1.0;
        u.terms = 2;
    } else {
        u.off[0] = 2 * bodies + 2 * (a - pairs); /* p_b starts after the n = 2B positions */
        u.c[0] = 1.0;
        u.terms = 1;
    }
    return u;
}

static void plane_value(const planar *u, const double *x, double v[2])
{
    int e;
    v[0] = v[1] = 0.0;
    for (e = 0; e < u->terms; e++) {
        v[0] += u->c[e] * x[u->off[e]];
        v[1] += u->c[e] * x[u->off[e] + 1];
    }
}

typedef void (*rotation_visit)(void *ctx, size_t f, int kind, const planar *u, const planar *v);

/* Calls visit for every rotation feature in order: for each pair of vectors a <= b their dot
 * product (a relative position with itself: its length, the distance between two bodies),
 * then for each a < b their cross product u_x v_y - u_y v_x. */
static void rotation_walk(size_t bodies, rotation_visit visit, void *ctx)
{
    const size_t count = (size_t)(pair_count(bodies) + bodies), pairs = (size_t)pair_count(bodies);
    size_t a, b, f = 0;
    for (a = 0; a < count; a++) {
        const planar u = plane_vector(bodies, a);
        for (b = a; b < count; b++) {
            const planar v = plane_vector(bodies, b);
            visit(ctx, f++, a == b && a < pairs ? DISTANCE : DOT, &u, &v);
        }
    }
    for (a = 0; a < count; a++) {
        const planar u = plane_vector(bodies, a);
        for (b = a + 1; b < count; b++) {
            const planar v = plane_vector(bodies, b);
            visit(ctx, f++, CROSS, &u, &v);
        }
    }
}

/* Value and gradient of one feature with respect to its two vectors. At zero distance the
 * length's gradient is taken as 0 (two bodies on top of each other). */
static double feature_value(int kind, const double u[2], const double v[2], double du[2],
                            double dv[2])
{
    double r;
    switch (kind) {
    case DISTANCE:
        r = sqrt(u[0] * u[0] + u[1] * u[1]);
        du[0] = r > 0.0 ? u[0] / r : 0.0;
        du[1] = r > 0.0 ? u[1] / r : 0.0;
        dv[0] = dv[1] = 0.0;
        return r;
    case DOT:
        du[0] = v[0], du[1] = v[1];
        dv[0] = u[0], dv[1] = u[1];
        return u[0] * v[0] + u[1] * v[1];
    default: /* CROSS */
        du[0] = v[1], du[1] = -v[0];
        dv[0] = -u[1], dv[1] = u[0];
        return u[0] * v[1] - u[1] * v[0];
    }
}

/* ---- the map and its Jacobian ----------------------------------------------------------- */

/* Where one feature's Jacobian row goes: fn(ctx, f, coords, values, count) gets the nonzero
 * entries d phi_f / dx_coords[e] = values[e] (at most 8: a feature of two plane vectors of
 * two terms each). Every map but the identity is sparse this way, which is what keeps the
 * adjoint path's cost per feature constant however many bodies there are. */
typedef void (*row_fn)(void *ctx, size_t f, double value, const size_t *coords,
                       const double *values, int count);

typedef struct row_job {
    const double *x;
    row_fn fn;
    void *ctx;
} row_job;

static void emit_planar(const planar *u, const double g[2], size_t *coords, double *values,
                        int *count)
{
    int e;
    for (e = 0; e < u->terms; e++) {
        coords[*count] = u->off[e], values[(*count)++] = u->c[e] * g[0];
        coords[*count] = u->off[e] + 1, values[(*count)++] = u->c[e] * g[1];
    }
}

static void rotation_row(void *ctx, size_t f, int kind, const planar *u, const planar *v)
{
    const row_job *j = (const row_job *)ctx;
    double uv[2], vv[2], du[2], dv[2], values[8], value;
    size_t coords[8];
    int count = 0;
    plane_value(u, j->x, uv);
    plane_value(v, j->x, vv);
    value = feature_value(kind, uv, vv, du, dv);
    emit_planar(u, du, coords, values, &count);
    if (kind != DISTANCE)
        emit_planar(v, dv, coords, values, &count);
    j->fn(j->ctx, f, value, coords, values, count);
}

/* Calls fn for every feature of a (non-identity) map at x, in feature order. */
static void jacobian_rows(const hnn_net_def *d, const double *x, row_fn fn, void *ctx)
{
    const size_t n = d->dof;
    static const double plus_minus[2] = {1.0, -1.0};
    size_t k, i, j, c, f = 0, coords[2];
    if (d->features == HNN_FEATURES_ROTATION) {
        row_job job;
        job.x = x, job.fn = fn, job.ctx = ctx;
        rotation_walk(d->bodies, rotation_row, &job);
        return;
    }
    if (d->features == HNN_FEATURES_POSITIONS) {
        for (k = 0; k < n; k++) {
            coords[0] = k;
            fn(ctx, k, x[k], coords, plus_minus, 1);
        }
        return;
    }
    if (d->features == HNN_FEATURES_TRANSLATION) {
        const size_t dd = n / d->bodies;
        for (i = 0; i < d->bodies; i++)
            for (j = i + 1; j < d->bodies; j++)
                for (c = 0; c < dd; c++, f++) {
                    coords[0] = j * dd + c, coords[1] = i * dd + c;
                    fn(ctx, f, x[coords[0]] - x[coords[1]], coords, plus_minus, 2);
                }
    }
    /* the momenta as they are (the translation map ends with them) */
    for (k = 0; k < n; k++, f++) {
        coords[0] = n + k;
        fn(ctx, f, x[n + k], coords, plus_minus, 1);
    }
}

typedef struct eval_job {
    double *out;
    size_t row, tan, t0, ntan;
} eval_job;

static void eval_row(void *ctx, size_t f, double value, const size_t *coords,
                     const double *values, int count)
{
    const eval_job *j = (const eval_job *)ctx;
    int e;
    j->out[f * j->row] = value;
    for (e = 0; e < count; e++)
        if (coords[e] >= j->t0 && coords[e] < j->t0 + j->ntan)
            j->out[f * j->row + (1 + coords[e] - j->t0) * j->tan] += values[e];
}

void hnni_features_eval(const hnn_net_def *d, const double *x, double *out, size_t row,
                        size_t tan, size_t t0, size_t ntan)
{
    const size_t m = hnni_feature_count(d->features, d->dof, d->bodies);
    eval_job job;
    size_t k, t;
    for (k = 0; k < m; k++)
        for (t = 0; t < ntan; t++)
            out[k * row + (1 + t) * tan] = 0.0;
    job.out = out, job.row = row, job.tan = tan, job.t0 = t0, job.ntan = ntan;
    jacobian_rows(d, x, eval_row, &job);
}

typedef struct product_job {
    const double *in;
    double *out;
    size_t in_stride, out_stride;
} product_job;

static void vjp_row(void *ctx, size_t f, double value, const size_t *coords,
                    const double *values, int count)
{
    const product_job *j = (const product_job *)ctx;
    const double v = j->in[f * j->in_stride];
    int e;
    (void)value;
    for (e = 0; e < count; e++)
        j->out[coords[e] * j->out_stride] += values[e] * v;
}

static void jvp_row(void *ctx, size_t f, double value, const size_t *coords,
                    const double *values, int count)
{
    const product_job *j = (const product_job *)ctx;
    double sum = 0.0;
    int e;
    (void)value;
    for (e = 0; e < count; e++)
        sum += values[e] * j->in[coords[e] * j->in_stride];
    j->out[f * j->out_stride] = sum;
}

void hnni_features_vjp(const hnn_net_def *d, const double *x, const double *v, size_t vstride,
                       double *out, size_t ostride)
{
    product_job job;
    job.in = v, job.out = out, job.in_stride = vstride, job.out_stride = ostride;
    jacobian_rows(d, x, vjp_row, &job);
}

void hnni_features_jvp(const hnn_net_def *d, const double *x, const double *u, size_t ustride,
                       double *out, size_t ostride)
{
    product_job job;
    job.in = u, job.out = out, job.in_stride = ustride, job.out_stride = ostride;
    jacobian_rows(d, x, jvp_row, &job);
}

typedef struct curvature_job {
    const double *x, *g;
    size_t gstride, dim;
    double *hess;
} curvature_job;

/* hess += g (U^T M V + V^T M^T U) for vectors u = U x, v = V x and a 2 x 2 matrix M. */
static void add_bilinear(const curvature_job *j, double g, const planar *u, const planar *v,
                         const double M[2][2])
{
    int e, e2, k, l;
    for (e = 0; e < u->terms; e++)
        for (e2 = 0; e2 < v->terms; e2++)
            for (k = 0; k < 2; k++)
                for (l = 0; l < 2; l++) {
                    const double h = g * u->c[e] * v->c[e2] * M[k][l];
                    j->hess[(u->off[e] + k) * j->dim + v->off[e2] + l] += h;
                    j->hess[(v->off[e2] + l) * j->dim + u->off[e] + k] += h;
                }
}

static void curvature_rotation_feature(void *ctx, size_t f, int kind, const planar *u,
                                       const planar *v)
{
    const curvature_job *j = (const curvature_job *)ctx;
    const double g = j->g[f * j->gstride];
    static const double identity[2][2] = {{1.0, 0.0}, {0.0, 1.0}};
    static const double rotation[2][2] = {{0.0, 1.0}, {-1.0, 0.0}};
    if (kind == DISTANCE) {
        /* d^2 |r| / dr^2 = (I - r r^T / |r|^2) / |r|; U^T M U counted once: half of
         * add_bilinear's symmetric pair */
        double r[2], len, M[2][2];
        plane_value(u, j->x, r);
        len = sqrt(r[0] * r[0] + r[1] * r[1]);
        if (len == 0.0)
            return;
        M[0][0] = 0.5 * (1.0 - r[0] * r[0] / (len * len)) / len;
        M[0][1] = M[1][0] = -0.5 * r[0] * r[1] / (len * len) / len;
        M[1][1] = 0.5 * (1.0 - r[1] * r[1] / (len * len)) / len;
        add_bilinear(j, g, u, u, (const double(*)[2])M);
    } else {
        add_bilinear(j, g, u, v, kind == DOT ? identity : rotation);
    }
}

void hnni_features_curvature(const hnn_net_def *d, const double *x, const double *g,
                             size_t gstride, double *hess)
{
    curvature_job job;
    if (d->features != HNN_FEATURES_ROTATION)
        return; /* the other maps are linear */
    job.x = x, job.g = g, job.gstride = gstride, job.dim = 2 * d->dof, job.hess = hess;
    rotation_walk(d->bodies, curvature_rotation_feature, &job);
}
