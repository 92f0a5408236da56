/* libhnn datasets: states x and their observed time derivatives y = dx/dt, from arrays,
 * from CSV files, or generated from analytic systems. */
#ifndef HNN_DATA_H
#define HNN_DATA_H

#include "hnn/core.h"
#include "hnn/field.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An immutable, in-memory set of `count` pairs (x_s, y_s), each 2n doubles, row-major. */
typedef struct hnn_dataset hnn_dataset;

/* Copies count pairs of states x and derivatives y (both count x 2n) into a new dataset.
 * alloc may be NULL (malloc). Non-finite values are refused (HNN_ERR_NONFINITE). */
HNN_API hnn_status hnn_dataset_create(size_t dof, size_t count, const double *x,
                                      const double *y, const hnn_allocator *alloc,
                                      hnn_dataset **out, hnn_error *err);

/* Frees the dataset. NULL is harmless. */
HNN_API void hnn_dataset_destroy(hnn_dataset *ds);

/* Pairs, degrees of freedom, and the stored arrays (count x 2n, row-major); 0 / NULL for NULL. */
HNN_API size_t hnn_dataset_count(const hnn_dataset *ds);
HNN_API size_t hnn_dataset_dof(const hnn_dataset *ds);
HNN_API const double *hnn_dataset_states(const hnn_dataset *ds);
HNN_API const double *hnn_dataset_derivatives(const hnn_dataset *ds);

/* Loads a CSV file: a header row naming the 4n columns q1..qn, p1..pn, dq1..dqn, dp1..dpn
 * (in that order; n is read from the header), then one row of finite numbers per pair.
 * Blank lines are skipped; CRLF line ends are accepted. On failure *out is NULL, nothing is
 * left allocated, and err names the file and line: HNN_ERR_IO (cannot open or read),
 * HNN_ERR_PARSE (empty file, bad header, wrong column count, a cell that is not a finite
 * number, no data rows), HNN_ERR_TOO_LARGE, HNN_ERR_NO_MEMORY. */
HNN_API hnn_status hnn_dataset_load_csv(const char *path, const hnn_allocator *alloc,
                                        hnn_dataset **out, hnn_error *err);

/* The seed's unit spring, H = (q^2 + p^2) / 2: `count` states drawn uniformly (by area)
 * from the annulus radius_min <= |(q, p)| <= radius_max, each with its exact derivative
 * (dq/dt, dp/dt) = (p, -q), then optional Gaussian noise of std noise_std added to the
 * derivatives (the observed slopes). */
typedef struct hnn_spring_data_def {
    size_t struct_size;
    size_t count;       /* default 1024 */
    double radius_min;  /* default 0 */
    double radius_max;  /* default 1.5 */
    double noise_std;   /* default 0 */
    uint64_t seed;      /* default 0 */
    hnn_allocator allocator;
} hnn_spring_data_def;

HNN_API void hnn_spring_data_def_init(hnn_spring_data_def *def, size_t struct_size);

static inline hnn_spring_data_def hnn_spring_data_def_default(void)
{
    hnn_spring_data_def def;
    hnn_spring_data_def_init(&def, sizeof def);
    return def;
}

HNN_API hnn_status hnn_dataset_spring(const hnn_spring_data_def *def, hnn_dataset **out,
                                      hnn_error *err);

/* The spring and ideal-pendulum tasks of Greydanus, Dzamba & Yosinski (2019), "Hamiltonian
 * Neural Networks" (docs/training.md has the protocol): `trajectories` orbits from random
 * initial states at random radii, sampled at timescale * t_end evenly spaced times over
 * [0, t_end], exact derivatives of the clean states, Gaussian noise of std noise_std added
 * to the states, and the first train_fraction of all points used for training. */
typedef enum hnn_greydanus_task {
    HNN_TASK_SPRING = 0,   /* H = q^2 + p^2 */
    HNN_TASK_PENDULUM = 1  /* H = 3 (1 - cos q) + p^2 */
} hnn_greydanus_task;

typedef struct hnn_greydanus_def {
    size_t struct_size;
    hnn_greydanus_task task;
    size_t trajectories;  /* default 50 */
    double t_end;         /* default 3 */
    double timescale;     /* samples per unit time: 10 (spring), 15 (pendulum) */
    double radius_min;    /* 0.1 (spring), 1.3 (pendulum) */
    double radius_max;    /* 1.0 (spring), 2.3 (pendulum) */
    double noise_std;     /* default 0.1 */
    double train_fraction; /* fraction of points (the first ones) for training, in (0, 1); default 0.5 */
    uint64_t seed;        /* default 0 */
    hnn_allocator allocator;
} hnn_greydanus_def;

HNN_API void hnn_greydanus_def_init(hnn_greydanus_def *def, size_t struct_size,
                                    hnn_greydanus_task task);

static inline hnn_greydanus_def hnn_greydanus_def_default(hnn_greydanus_task task)
{
    hnn_greydanus_def def;
    hnn_greydanus_def_init(&def, sizeof def, task);
    return def;
}

/* Generates the task's data and splits it into *train and *test (both created, or neither). */
HNN_API hnn_status hnn_dataset_greydanus(const hnn_greydanus_def *def, hnn_dataset **train,
                                         hnn_dataset **test, hnn_error *err);

/* The two-body task of Greydanus et al. (2019), experiment-2body/data.py (docs/symmetry.md):
 * `trajectories` near-circular orbits of two unit masses under gravity (G = 1,
 * HNN_SYSTEM_TWO_BODY), each sampled at `samples` evenly spaced times over [0, t_end] (both
 * ends included), with the exact derivatives of the states (no noise is added). Body 1 starts
 * at a position whose two coordinates are uniform in [radius_min, radius_max), moving at the
 * speed of a circular orbit about the origin times 1 + orbit_noise z, z ~ N(0, 1) (redrawn if
 * |z| > 4); body 2 mirrors it through the origin. As in the reference code, the FIRST
 * test_fraction of all states (whole orbits first) is the test set, the rest the training set.
 * States are x = [x1 y1 x2 y2 px1 py1 px2 py2] (the reference orders them x1 x2 y1 y2 ...). */
typedef struct hnn_two_body_def {
    size_t struct_size;
    size_t trajectories;  /* default 1000 */
    size_t samples;       /* states per orbit, 2..1e6; default 50 */
    double t_end;         /* default 20 */
    double orbit_noise;   /* relative noise of the initial speed, 0..0.2; default 0.05 */
    double radius_min;    /* default 0.5 */
    double radius_max;    /* default 1.5 (at most 100) */
    double test_fraction; /* in (0, 1); default 0.2 */
    uint64_t seed;        /* default 0 */
    hnn_allocator allocator;
} hnn_two_body_def;

HNN_API void hnn_two_body_def_init(hnn_two_body_def *def, size_t struct_size);

static inline hnn_two_body_def hnn_two_body_def_default(void)
{
    hnn_two_body_def def;
    hnn_two_body_def_init(&def, sizeof def);
    return def;
}

/* Generates the two-body data and splits it into *train and *test (both created, or neither). */
HNN_API hnn_status hnn_dataset_two_body(const hnn_two_body_def *def, hnn_dataset **train,
                                        hnn_dataset **test, hnn_error *err);

/* The three-body task of Greydanus et al. (2019), experiment-3body/data.py (docs/symmetry.md):
 * `trajectories` orbits of three unit masses under gravity (HNN_SYSTEM_THREE_BODY), each
 * sampled at `samples` evenly spaced times over [0, t_end] (both ends), with exact derivatives
 * and no noise. The bodies start on a circle of radius r uniform in [radius_min, radius_max),
 * 120 degrees apart (body 1 in a uniformly random direction), each moving along the circle at
 * the speed of the circular three-body orbit, every velocity component then scaled by
 * 1 + orbit_noise u, u uniform in [-1, 1). The FIRST test_fraction of all states is the test
 * set. Reference flow: adaptive Dormand-Prince 5(4), rtol 1e-10, atol 1e-12; an orbit it cannot
 * follow (a near-collision) is drawn again. x = [x1 y1 x2 y2 x3 y3 px1 py1 .. py3]. */
typedef struct hnn_three_body_def {
    size_t struct_size;
    size_t trajectories;  /* default 5000 */
    size_t samples;       /* states per orbit, 2..1e6; default 20 */
    double t_end;         /* default 5 */
    double orbit_noise;   /* 0..0.5; default 0.2 */
    double radius_min;    /* default 0.9 */
    double radius_max;    /* default 1.2 (at most 100) */
    double test_fraction; /* in (0, 1); default 0.2 */
    uint64_t seed;        /* default 0 */
    hnn_allocator allocator;
} hnn_three_body_def;

HNN_API void hnn_three_body_def_init(hnn_three_body_def *def, size_t struct_size);

static inline hnn_three_body_def hnn_three_body_def_default(void)
{
    hnn_three_body_def def;
    hnn_three_body_def_init(&def, sizeof def);
    return def;
}

/* Generates the three-body data and splits it into *train and *test (both, or neither). */
HNN_API hnn_status hnn_dataset_three_body(const hnn_three_body_def *def, hnn_dataset **train,
                                          hnn_dataset **test, hnn_error *err);

/* States of any built-in system drawn uniformly from a box, with exact derivatives: every
 * position coordinate uniform in [-q_max, q_max], every momentum in [-p_max, p_max]. For the
 * chain (HNN_SYSTEM_CHAIN) and other systems without a task protocol; gravity systems may
 * draw near-collisions, where the field is huge. */
typedef struct hnn_system_data_def {
    size_t struct_size;
    hnn_system system;    /* default HNN_SYSTEM_CHAIN */
    size_t count;         /* default 1024 */
    double q_max, p_max;  /* default 1, 1 (each in (0, 1e6]) */
    uint64_t seed;        /* default 0 */
    hnn_allocator allocator;
} hnn_system_data_def;

HNN_API void hnn_system_data_def_init(hnn_system_data_def *def, size_t struct_size);

static inline hnn_system_data_def hnn_system_data_def_default(void)
{
    hnn_system_data_def def;
    hnn_system_data_def_init(&def, sizeof def);
    return def;
}

HNN_API hnn_status hnn_dataset_system(const hnn_system_data_def *def, hnn_dataset **out,
                                      hnn_error *err);

#ifdef __cplusplus
}
#endif

#endif /* HNN_DATA_H */
