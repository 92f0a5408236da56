/* Datasets: storage, and generators from analytic systems. */
#include "dataset.h"

#include <math.h>
#include <string.h>

#include "alloc.h"
#include "core.h"
#include "hnn/integrate.h"
#include "rng.h"
#include "systems.h"

hnn_status hnni_dataset_new(const hnn_allocator *alloc, size_t dof, size_t count,
                            hnn_dataset **out, hnn_error *err)
{
    hnn_allocator a = hnni_allocator_resolve(alloc ? *alloc : (hnn_allocator){NULL, NULL});
    hnn_dataset *ds;
    size_t elems, bytes;
    *out = NULL;
    if (dof == 0 || count == 0)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "a dataset needs dof >= 1 and count >= 1");
    if (dof > 4096 || !hnni_mul_size(count, 2 * dof, &elems) ||
        !hnni_mul_size(elems, sizeof(double), &bytes))
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "a dataset of %zu pairs of dof %zu is too large",
                         count, dof);
    ds = (hnn_dataset *)hnni_alloc(&a, sizeof *ds);
    if (ds == NULL)
        return hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate a dataset");
    ds->alloc = a;
    ds->dof = dof;
    ds->dim = 2 * dof;
    ds->count = count;
    ds->x = (double *)hnni_alloc(&a, bytes);
    ds->y = ds->x ? (double *)hnni_alloc(&a, bytes) : NULL;
    if (ds->y == NULL) {
        hnn_dataset_destroy(ds);
        return hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate %zu bytes for a dataset", 2 * bytes);
    }
    *out = ds;
    return hnni_ok(err);
}

void hnn_dataset_destroy(hnn_dataset *ds)
{
    hnn_allocator a;
    if (ds == NULL)
        return;
    a = ds->alloc;
    hnni_free(&a, ds->x, ds->count * ds->dim * sizeof(double));
    hnni_free(&a, ds->y, ds->count * ds->dim * sizeof(double));
    hnni_free(&a, ds, sizeof *ds);
}

hnn_status hnn_dataset_create(size_t dof, size_t count, const double *x, const double *y,
                              const hnn_allocator *alloc, hnn_dataset **out, hnn_error *err)
{
    size_t i, elems;
    hnn_status st;
    if (out != NULL)
        *out = NULL;
    if (x == NULL || y == NULL || out == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_dataset_create: x, y and out must not be NULL");
    if ((st = hnni_dataset_new(alloc, dof, count, out, err)) != HNN_OK)
        return st;
    elems = count * 2 * dof;
    for (i = 0; i < elems; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i])) {
            hnn_dataset_destroy(*out);
            *out = NULL;
            return hnni_fail(err, HNN_ERR_NONFINITE, "pair %zu holds NaN or infinity",
                             i / (2 * dof));
        }
    }
    memcpy((*out)->x, x, elems * sizeof *x);
    memcpy((*out)->y, y, elems * sizeof *y);
    return HNN_OK;
}

size_t hnn_dataset_count(const hnn_dataset *ds)
{
    return ds == NULL ? 0 : ds->count;
}

size_t hnn_dataset_dof(const hnn_dataset *ds)
{
    return ds == NULL ? 0 : ds->dof;
}

const double *hnn_dataset_states(const hnn_dataset *ds)
{
    return ds == NULL ? NULL : ds->x;
}

const double *hnn_dataset_derivatives(const hnn_dataset *ds)
{
    return ds == NULL ? NULL : ds->y;
}

/* ---- the seed's spring ------------------------------------------------------------------ */

void hnn_spring_data_def_init(hnn_spring_data_def *def, size_t struct_size)
{
    hnn_spring_data_def d;
    if (def == NULL)
        return;
    memset(&d, 0, sizeof d);
    d.count = 1024;
    d.radius_min = 0.0;
    d.radius_max = 1.5;
    d.noise_std = 0.0;
    d.seed = 0;
    hnni_publish_def(def, &d, sizeof d, struct_size);
}

hnn_status hnn_dataset_spring(const hnn_spring_data_def *def, hnn_dataset **out, hnn_error *err)
{
    hnn_spring_data_def full;
    const double two_pi = 6.283185307179586476925286766559;
    hnni_rng rng;
    hnn_status st;
    size_t s;
    if (out != NULL)
        *out = NULL;
    if (def == NULL || out == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_dataset_spring: def and out must not be NULL");
    hnn_spring_data_def_init(&full, sizeof full);
    if ((st = hnni_read_def(def, &full, sizeof full, NULL, "hnn_spring_data_def", err)) != HNN_OK)
        return st;
    def = &full;
    /* the caps keep squares and sums of radii and noise finite */
    if (!(def->radius_max <= 1e100 && def->radius_min >= 0.0 && def->radius_min <= def->radius_max))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "need 0 <= radius_min <= radius_max <= 1e100");
    if (!(def->noise_std >= 0.0 && def->noise_std <= 1e100))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "noise_std must be in [0, 1e100]");
    if ((st = hnni_dataset_new(&def->allocator, 1, def->count, out, err)) != HNN_OK)
        return st;
    hnni_rng_seed(&rng, def->seed);
    for (s = 0; s < def->count; s++) {
        const double r2min = def->radius_min * def->radius_min;
        const double r2max = def->radius_max * def->radius_max;
        const double r = sqrt(r2min + (r2max - r2min) * hnni_rng_uniform(&rng));
        const double angle = two_pi * hnni_rng_uniform(&rng);
        double *x = (*out)->x + 2 * s, *y = (*out)->y + 2 * s;
        x[0] = r * cos(angle);
        x[1] = r * sin(angle);
        hnni_system_field(HNN_SYSTEM_SPRING, x, y);
        if (def->noise_std > 0.0) {
            y[0] += def->noise_std * hnni_rng_normal(&rng);
            y[1] += def->noise_std * hnni_rng_normal(&rng);
        }
    }
    return HNN_OK;
}

/* Copies the first `first` pairs of `all` into *a and the rest into *b: both, or neither. */
static hnn_status split_rows(const hnn_dataset *all, size_t first, const hnn_allocator *alloc,
                             hnn_dataset **a, hnn_dataset **b, hnn_error *err)
{
    hnn_status st = hnn_dataset_create(all->dof, first, all->x, all->y, alloc, a, err);
    if (st == HNN_OK)
        st = hnn_dataset_create(all->dof, all->count - first, all->x + all->dim * first,
                                all->y + all->dim * first, alloc, b, err);
    if (st != HNN_OK) {
        hnn_dataset_destroy(*a);
        *a = NULL;
    }
    return st;
}

/* The orbit tasks: `trajectories` orbits of `samples` states each, written by orbit(ctx, x, y)
 * (which returns 0 when it cannot make one), then split with the first test_fraction of the
 * states as the test set, as the reference code splits. */
typedef int (*orbit_fn)(void *ctx, double *x, double *y);

static hnn_status orbit_task(size_t dof, size_t trajectories, size_t samples,
                             double test_fraction, const hnn_allocator *alloc, orbit_fn orbit,
                             void *ctx, hnn_dataset **train, hnn_dataset **test, hnn_error *err)
{
    hnn_dataset *all = NULL;
    size_t total, n_test, t;
    hnn_status st;
    if (!hnni_mul_size(samples, trajectories, &total))
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "too many samples");
    n_test = (size_t)((double)total * test_fraction); /* numpy: int(len * split) */
    if (n_test == 0 || n_test >= total)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "the split leaves an empty train or test set");
    if ((st = hnni_dataset_new(alloc, dof, total, &all, err)) != HNN_OK)
        return st;
    for (t = 0; t < trajectories; t++) {
        if (!orbit(ctx, all->x + all->dim * t * samples, all->y + all->dim * t * samples)) {
            hnn_dataset_destroy(all);
            return hnni_fail(err, HNN_ERR_NO_CONVERGENCE, "100 orbits in a row came too close "
                             "to a collision to integrate");
        }
    }
    st = split_rows(all, n_test, alloc, test, train, err);
    hnn_dataset_destroy(all);
    return st;
}

/* ---- Greydanus et al. 2019 ------------------------------------------------------------- */

void hnn_greydanus_def_init(hnn_greydanus_def *def, size_t struct_size, hnn_greydanus_task task)
{
    hnn_greydanus_def d;
    const int pendulum = task == HNN_TASK_PENDULUM;
    if (def == NULL)
        return;
    memset(&d, 0, sizeof d);
    d.task = task;
    d.trajectories = 50;
    d.t_end = 3.0;
    d.timescale = pendulum ? 15.0 : 10.0;
    d.radius_min = pendulum ? 1.3 : 0.1;
    d.radius_max = pendulum ? 2.3 : 1.0;
    d.noise_std = 0.1;
    d.train_fraction = 0.5;
    d.seed = 0;
    hnni_publish_def(def, &d, sizeof d, struct_size);
}

static hnn_status check_greydanus(const hnn_greydanus_def *d, size_t *per_traj, hnn_error *err)
{
    double samples;
    if (d->task != HNN_TASK_SPRING && d->task != HNN_TASK_PENDULUM)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "unknown task %d", (int)d->task);
    if (d->trajectories == 0)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "trajectories is 0");
    if (!(isfinite(d->t_end) && d->t_end > 0.0 && isfinite(d->timescale) && d->timescale > 0.0))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "t_end and timescale must be finite and > 0");
    /* the caps keep the orbits, their fields and the noise finite */
    if (!(d->radius_max <= 1e100 && d->radius_min > 0.0 && d->radius_min <= d->radius_max))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "need 0 < radius_min <= radius_max <= 1e100");
    if (!(d->noise_std >= 0.0 && d->noise_std <= 1e100))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "noise_std must be in [0, 1e100]");
    if (!(d->train_fraction > 0.0 && d->train_fraction < 1.0))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "train_fraction must be in (0, 1)");
    samples = floor(d->timescale * d->t_end); /* numpy: int(timescale * (t1 - t0)) */
    if (samples < 2.0 || samples > 1e7)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "timescale * t_end gives %g samples per "
                         "trajectory, need 2 to 1e7", samples);
    /* the reference flow takes RK4 substeps of at most 1e-3: cap the total work */
    if (d->t_end / 1e-3 * (double)d->trajectories > 1e9)
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "t_end %g over %zu trajectories needs more than "
                         "1e9 reference substeps", d->t_end, d->trajectories);
    *per_traj = (size_t)samples;
    return HNN_OK;
}

/* One trajectory into x, y (samples x 2): a random direction scaled to a random radius, the
 * exact flow sampled at evenly spaced times, derivatives of the clean states, then noise. */
static void greydanus_trajectory(const hnn_greydanus_def *d, hnni_rng *rng, size_t samples,
                                 double *x, double *y)
{
    const hnn_system sys = d->task == HNN_TASK_PENDULUM ? HNN_SYSTEM_PENDULUM
                                                        : HNN_SYSTEM_GREYDANUS_SPRING;
    const double dt = d->t_end / (double)(samples - 1);
    double state[2], norm, radius;
    size_t i;
    do {
        state[0] = hnni_rng_range(rng, -1.0, 1.0);
        state[1] = hnni_rng_range(rng, -1.0, 1.0);
        norm = sqrt(state[0] * state[0] + state[1] * state[1]);
    } while (norm == 0.0);
    radius = hnni_rng_range(rng, d->radius_min, d->radius_max);
    state[0] *= radius / norm;
    state[1] *= radius / norm;
    for (i = 0; i < samples; i++) {
        if (i > 0) /* RK4 substeps of at most 1e-3: error far below the 0.1 noise */
            hnni_system_flow_rk4(sys, state, dt, (size_t)ceil(dt / 1e-3));
        x[2 * i] = state[0];
        x[2 * i + 1] = state[1];
        hnni_system_field(sys, state, y + 2 * i);
    }
    for (i = 0; i < samples; i++)
        x[2 * i] += d->noise_std * hnni_rng_normal(rng);
    for (i = 0; i < samples; i++)
        x[2 * i + 1] += d->noise_std * hnni_rng_normal(rng);
}

hnn_status hnn_dataset_greydanus(const hnn_greydanus_def *def, hnn_dataset **train,
                                 hnn_dataset **test, hnn_error *err)
{
    hnn_greydanus_def full;
    hnn_dataset *all = NULL;
    hnni_rng rng;
    size_t per_traj, total, n_train, t;
    hnn_status st;
    if (train != NULL)
        *train = NULL;
    if (test != NULL)
        *test = NULL;
    if (def == NULL || train == NULL || test == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_dataset_greydanus: def, train and test must not be NULL");
    hnn_greydanus_def_init(&full, sizeof full, HNN_TASK_SPRING);
    if ((st = hnni_read_def(def, &full, sizeof full, NULL, "hnn_greydanus_def", err)) != HNN_OK ||
        (st = check_greydanus(&full, &per_traj, err)) != HNN_OK)
        return st;
    def = &full;
    if (!hnni_mul_size(per_traj, def->trajectories, &total))
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "too many samples");
    n_train = (size_t)((double)total * def->train_fraction); /* numpy: int(len * split) */
    if (n_train == 0 || n_train >= total)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "the split leaves an empty train or test set");
    if ((st = hnni_dataset_new(&def->allocator, 1, total, &all, err)) != HNN_OK)
        return st;
    hnni_rng_seed(&rng, def->seed);
    for (t = 0; t < def->trajectories; t++)
        greydanus_trajectory(def, &rng, per_traj, all->x + 2 * t * per_traj,
                             all->y + 2 * t * per_traj);
    st = split_rows(all, n_train, &def->allocator, train, test, err);
    hnn_dataset_destroy(all);
    return st;
}

/* ---- the two-body task (Greydanus et al. 2019) ------------------------------------------- */

void hnn_two_body_def_init(hnn_two_body_def *def, size_t struct_size)
{
    hnn_two_body_def d;
    if (def == NULL)
        return;
    memset(&d, 0, sizeof d);
    d.trajectories = 1000;
    d.samples = 50;
    d.t_end = 20.0;
    d.orbit_noise = 0.05;
    d.radius_min = 0.5;
    d.radius_max = 1.5;
    d.test_fraction = 0.2;
    d.seed = 0;
    hnni_publish_def(def, &d, sizeof d, struct_size);
}

/* Reference substeps of RK4 are at most this long. At the default noise (0.05) the bodies stay
 * more than 0.6 apart and the energy error along an orbit is below 1e-12 (tests/test_data.c
 * checks 1e-9); with orbit_noise near 0.2 a rare draw passes within about 0.03, where the
 * error grows (2e-5 was seen in 20,000 orbits): such data is exact at each sampled state
 * (targets are the field there) but its trajectories are less faithful. */
#define TWO_BODY_SUBSTEP 2e-3

static hnn_status check_two_body(const hnn_two_body_def *d, hnn_error *err)
{
    if (d->trajectories == 0)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "trajectories is 0");
    if (d->samples < 2 || d->samples > 1000000)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "samples = %zu: need 2 to 1e6", d->samples);
    if (!(isfinite(d->t_end) && d->t_end > 0.0))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "t_end must be finite and > 0");
    if (!(d->orbit_noise >= 0.0 && d->orbit_noise <= 0.2))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "orbit_noise must be in [0, 0.2]");
    if (!(d->radius_min > 0.0 && d->radius_min <= d->radius_max && d->radius_max <= 100.0))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "need 0 < radius_min <= radius_max <= 100");
    if (!(d->test_fraction > 0.0 && d->test_fraction < 1.0))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "test_fraction must be in (0, 1)");
    if (d->t_end / TWO_BODY_SUBSTEP * (double)d->trajectories > 1e10)
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "t_end %g over %zu orbits needs more than 1e10 "
                         "reference substeps", d->t_end, d->trajectories);
    return HNN_OK;
}

typedef struct two_body_job {
    const hnn_two_body_def *def;
    hnni_rng rng;
} two_body_job;

/* One orbit into x, y (samples x 8). */
static int two_body_orbit(void *ctx, double *x, double *y)
{
    two_body_job *job = (two_body_job *)ctx;
    const hnn_two_body_def *d = job->def;
    hnni_rng *rng = &job->rng;
    const double dt = d->t_end / (double)(d->samples - 1);
    double state[8], r, z, speed;
    size_t i;
    state[0] = hnni_rng_range(rng, d->radius_min, d->radius_max);
    state[1] = hnni_rng_range(rng, d->radius_min, d->radius_max);
    r = sqrt(state[0] * state[0] + state[1] * state[1]);
    do
        z = hnni_rng_normal(rng);
    while (fabs(z) > 4.0);
    /* circular orbit about the origin: each body at distance r, 2r apart, speed 1 / (2 sqrt r),
     * perpendicular to the position: (-y, x) / (2 r^1.5) */
    speed = (1.0 + d->orbit_noise * z) / (2.0 * r * sqrt(r));
    state[4] = -state[1] * speed;
    state[5] = state[0] * speed;
    state[2] = -state[0], state[3] = -state[1]; /* body 2 mirrors body 1 */
    state[6] = -state[4], state[7] = -state[5];
    for (i = 0; i < d->samples; i++) {
        if (i > 0)
            hnni_system_flow_rk4(HNN_SYSTEM_TWO_BODY, state, dt, (size_t)ceil(dt / TWO_BODY_SUBSTEP));
        memcpy(x + 8 * i, state, sizeof state);
        hnni_system_field(HNN_SYSTEM_TWO_BODY, state, y + 8 * i);
    }
    return 1;
}

hnn_status hnn_dataset_two_body(const hnn_two_body_def *def, hnn_dataset **train,
                                hnn_dataset **test, hnn_error *err)
{
    hnn_two_body_def full;
    two_body_job job;
    hnn_status st;
    if (train != NULL)
        *train = NULL;
    if (test != NULL)
        *test = NULL;
    if (def == NULL || train == NULL || test == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_dataset_two_body: def, train and test must not be NULL");
    hnn_two_body_def_init(&full, sizeof full);
    if ((st = hnni_read_def(def, &full, sizeof full, NULL, "hnn_two_body_def", err)) != HNN_OK ||
        (st = check_two_body(&full, err)) != HNN_OK)
        return st;
    job.def = &full;
    hnni_rng_seed(&job.rng, full.seed);
    return orbit_task(4, full.trajectories, full.samples, full.test_fraction, &full.allocator,
                      two_body_orbit, &job, train, test, err);
}

/* ---- the three-body task (Greydanus et al. 2019) ----------------------------------------- */

void hnn_three_body_def_init(hnn_three_body_def *def, size_t struct_size)
{
    hnn_three_body_def d;
    if (def == NULL)
        return;
    memset(&d, 0, sizeof d);
    d.trajectories = 5000;
    d.samples = 20;
    d.t_end = 5.0;
    d.orbit_noise = 0.2;
    d.radius_min = 0.9;
    d.radius_max = 1.2;
    d.test_fraction = 0.2;
    d.seed = 0;
    hnni_publish_def(def, &d, sizeof d, struct_size);
}

static hnn_status check_three_body(const hnn_three_body_def *d, hnn_error *err)
{
    if (d->trajectories == 0 || d->trajectories > 10000000)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "trajectories must be 1 to 1e7");
    if (d->samples < 2 || d->samples > 1000000)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "samples = %zu: need 2 to 1e6", d->samples);
    if (!(isfinite(d->t_end) && d->t_end > 0.0 && d->t_end <= 1e4))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "t_end must be in (0, 1e4]");
    if (!(d->orbit_noise >= 0.0 && d->orbit_noise <= 0.5))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "orbit_noise must be in [0, 0.5]");
    if (!(d->radius_min > 0.0 && d->radius_min <= d->radius_max && d->radius_max <= 100.0))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "need 0 < radius_min <= radius_max <= 100");
    if (!(d->test_fraction > 0.0 && d->test_fraction < 1.0))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "test_fraction must be in (0, 1)");
    return HNN_OK;
}

static void rotate(const double *v, double angle, double *out)
{
    const double c = cos(angle), s = sin(angle);
    out[0] = c * v[0] - s * v[1];
    out[1] = s * v[0] + c * v[1];
}

/* The starting state: three bodies 120 degrees apart on a circle, moving along it. */
static void three_body_start(const hnn_three_body_def *d, hnni_rng *rng, double *state)
{
    const double third = 2.0943951023931954923; /* 2 pi / 3 */
    /* the circular orbit's speed factor sqrt(sin(pi/3) / (2 cos^2(pi/6))) = 3^(-1/4) */
    const double circular = sqrt(sin(third / 2.0) / (2.0 * cos(third / 4.0) * cos(third / 4.0)));
    double norm, r, v[2];
    int b, c;
    do {
        state[0] = hnni_rng_range(rng, -1.0, 1.0);
        state[1] = hnni_rng_range(rng, -1.0, 1.0);
        norm = sqrt(state[0] * state[0] + state[1] * state[1]);
    } while (norm == 0.0);
    r = hnni_rng_range(rng, d->radius_min, d->radius_max);
    state[0] *= r / norm, state[1] *= r / norm;
    rotate(state, third, state + 2);
    rotate(state + 2, third, state + 4);
    rotate(state, 1.5707963267948966192, v); /* 90 degrees: along the circle */
    state[6] = v[0] / (r * sqrt(r)) * circular, state[7] = v[1] / (r * sqrt(r)) * circular;
    rotate(state + 6, third, state + 8);
    rotate(state + 8, third, state + 10);
    for (b = 0; b < 3; b++)
        for (c = 0; c < 2; c++)
            state[6 + 2 * b + c] *= 1.0 + d->orbit_noise * hnni_rng_range(rng, -1.0, 1.0);
}

typedef struct three_body_job {
    const hnn_three_body_def *def;
    hnni_rng rng;
    hnn_integrator *integ;
    hnn_field_source src;
} three_body_job;

/* One orbit into x, y (samples x 12); a start the reference flow cannot follow (a
 * near-collision) is drawn again, up to 100 times (then 0). */
static int three_body_orbit(void *ctx, double *x, double *y)
{
    three_body_job *job = (three_body_job *)ctx;
    const hnn_three_body_def *d = job->def;
    const double dt = d->t_end / (double)(d->samples - 1);
    int tries;
    for (tries = 0; tries < 100; tries++) {
        double state[12];
        size_t i;
        three_body_start(d, &job->rng, state);
        hnn_integrator_reset(job->integ);
        for (i = 0; i < d->samples; i++) {
            if (i > 0 && hnn_integrator_step(job->integ, &job->src, state, dt) != HNN_OK)
                break;
            memcpy(x + 12 * i, state, sizeof state);
            hnni_system_field(HNN_SYSTEM_THREE_BODY, state, y + 12 * i);
        }
        if (i == d->samples)
            return 1;
    }
    return 0;
}

hnn_status hnn_dataset_three_body(const hnn_three_body_def *def, hnn_dataset **train,
                                  hnn_dataset **test, hnn_error *err)
{
    hnn_three_body_def full;
    hnn_integrator_def id = hnn_integrator_def_default();
    three_body_job job;
    hnn_status st;
    if (train != NULL)
        *train = NULL;
    if (test != NULL)
        *test = NULL;
    if (def == NULL || train == NULL || test == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_dataset_three_body: def, train and test must not be NULL");
    hnn_three_body_def_init(&full, sizeof full);
    if ((st = hnni_read_def(def, &full, sizeof full, NULL, "hnn_three_body_def", err)) != HNN_OK ||
        (st = check_three_body(&full, err)) != HNN_OK)
        return st;
    id.method = HNN_METHOD_DOPRI5;
    id.dim = 12;
    id.rtol = 1e-10;
    id.atol = 1e-12;
    id.allocator = full.allocator;
    job.def = &full;
    hnni_rng_seed(&job.rng, full.seed);
    job.src.struct_size = sizeof job.src;
    hnn_field_source_system(HNN_SYSTEM_THREE_BODY, &job.src);
    if ((st = hnn_integrator_create(&id, &job.integ, err)) != HNN_OK)
        return st;
    st = orbit_task(6, full.trajectories, full.samples, full.test_fraction, &full.allocator,
                    three_body_orbit, &job, train, test, err);
    hnn_integrator_destroy(job.integ);
    return st;
}

/* ---- states from a box ------------------------------------------------------------------- */

void hnn_system_data_def_init(hnn_system_data_def *def, size_t struct_size)
{
    hnn_system_data_def d;
    if (def == NULL)
        return;
    memset(&d, 0, sizeof d);
    d.system = HNN_SYSTEM_CHAIN;
    d.count = 1024;
    d.q_max = 1.0;
    d.p_max = 1.0;
    d.seed = 0;
    hnni_publish_def(def, &d, sizeof d, struct_size);
}

hnn_status hnn_dataset_system(const hnn_system_data_def *def, hnn_dataset **out, hnn_error *err)
{
    hnn_system_data_def full;
    hnni_rng rng;
    size_t i, k, n;
    hnn_status st;
    if (out != NULL)
        *out = NULL;
    if (def == NULL || out == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_dataset_system: def and out must not be NULL");
    hnn_system_data_def_init(&full, sizeof full);
    if ((st = hnni_read_def(def, &full, sizeof full, NULL, "hnn_system_data_def", err)) != HNN_OK)
        return st;
    def = &full;
    if (!hnni_system_known(def->system))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "unknown system %d", (int)def->system);
    if (def->count == 0)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "count is 0");
    if (!(def->q_max > 0.0 && def->q_max <= 1e6 && def->p_max > 0.0 && def->p_max <= 1e6))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "q_max and p_max must be in (0, 1e6]");
    n = hnn_system_dof(def->system);
    if ((st = hnni_dataset_new(&def->allocator, n, def->count, out, err)) != HNN_OK)
        return st;
    hnni_rng_seed(&rng, def->seed);
    for (i = 0; i < def->count; i++) {
        double *x = (*out)->x + 2 * n * i;
        for (k = 0; k < n; k++)
            x[k] = hnni_rng_range(&rng, -def->q_max, def->q_max);
        for (k = 0; k < n; k++)
            x[n + k] = hnni_rng_range(&rng, -def->p_max, def->p_max);
        hnni_system_field(def->system, x, (*out)->y + 2 * n * i);
        /* gravity overflows where bodies (nearly) coincide, as a tiny q_max makes them: the
         * same arrays hnn_dataset_create would refuse, so refuse them here too */
        if (!hnni_all_finite((*out)->y + 2 * n * i, 2 * n)) {
            hnn_dataset_destroy(*out);
            *out = NULL;
            return hnni_fail(err, HNN_ERR_NONFINITE, "state %zu: the system's field is not "
                             "finite there (bodies too close: raise q_max above %g)", i,
                             def->q_max);
        }
    }
    return hnni_ok(err);
}
