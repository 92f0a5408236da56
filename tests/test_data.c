/* Tests for the dataset room: storage, the spring and Greydanus generators, and the CSV
 * loader's parsing and error reports. */
#include "test_util.h"

#include <locale.h>
#include <stdio.h>

static void test_create_copies_and_refuses_nonfinite(void **state)
{
    double x[4] = {1, 2, 3, 4}, y[4] = {5, 6, 7, 8};
    hnn_dataset *ds = NULL;
    hnn_error err;
    (void)state;
    assert_int_equal(hnn_dataset_create(1, 2, x, y, NULL, &ds, &err), HNN_OK);
    x[0] = 99;
    assert_int_equal(hnn_dataset_count(ds), 2);
    assert_int_equal(hnn_dataset_dof(ds), 1);
    assert_true(hnn_dataset_states(ds)[0] == 1.0);
    assert_true(hnn_dataset_derivatives(ds)[3] == 8.0);
    hnn_dataset_destroy(ds);
    y[2] = NAN;
    assert_int_equal(hnn_dataset_create(1, 2, x, y, NULL, &ds, &err), HNN_ERR_NONFINITE);
    assert_null(ds);
    assert_int_equal(hnn_dataset_create(0, 2, x, y, NULL, &ds, &err), HNN_ERR_INVALID_ARG);
    assert_int_equal(hnn_dataset_create(1, 0, x, y, NULL, &ds, &err), HNN_ERR_INVALID_ARG);
    assert_int_equal(hnn_dataset_create(1, SIZE_MAX / 2, x, y, NULL, &ds, &err), HNN_ERR_TOO_LARGE);
    assert_int_equal(hnn_dataset_create(1, 2, NULL, y, NULL, &ds, &err), HNN_ERR_NULL);
    assert_int_equal(hnn_dataset_count(NULL), 0);
    assert_null(hnn_dataset_states(NULL));
    hnn_dataset_destroy(NULL);
}

static void test_spring_states_and_exact_slopes(void **state)
{
    hnn_spring_data_def def = hnn_spring_data_def_default();
    hnn_dataset *ds = NULL, *again = NULL;
    const double *x, *y;
    size_t s;
    (void)state;
    def.count = 500;
    def.radius_min = 0.2;
    def.radius_max = 1.4;
    def.seed = 5;
    assert_int_equal(hnn_dataset_spring(&def, &ds, NULL), HNN_OK);
    assert_int_equal(hnn_dataset_count(ds), 500);
    x = hnn_dataset_states(ds);
    y = hnn_dataset_derivatives(ds);
    for (s = 0; s < 500; s++) {
        const double r = hypot(x[2 * s], x[2 * s + 1]);
        assert_true(r >= 0.2 - 1e-12 && r <= 1.4 + 1e-12);
        assert_true(y[2 * s] == x[2 * s + 1]);  /* dq/dt = p */
        assert_true(y[2 * s + 1] == -x[2 * s]); /* dp/dt = -q */
    }
    assert_int_equal(hnn_dataset_spring(&def, &again, NULL), HNN_OK);
    assert_memory_equal(x, hnn_dataset_states(again), 1000 * sizeof *x); /* same seed */
    hnn_dataset_destroy(ds);
    hnn_dataset_destroy(again);
}

static void test_spring_noise_has_the_requested_std(void **state)
{
    hnn_spring_data_def def = hnn_spring_data_def_default();
    hnn_dataset *ds = NULL;
    const double *x, *y;
    double sum = 0, sum2 = 0;
    size_t s, n = 20000;
    (void)state;
    def.count = n;
    def.noise_std = 0.1;
    assert_int_equal(hnn_dataset_spring(&def, &ds, NULL), HNN_OK);
    x = hnn_dataset_states(ds);
    y = hnn_dataset_derivatives(ds);
    for (s = 0; s < n; s++) {
        const double e = y[2 * s] - x[2 * s + 1];
        sum += e;
        sum2 += e * e;
    }
    assert_true(fabs(sum / n) < 0.005);
    assert_true(fabs(sqrt(sum2 / n) - 0.1) < 0.003); /* ~4 standard errors */
    hnn_dataset_destroy(ds);
    def.noise_std = -1.0;
    assert_int_equal(hnn_dataset_spring(&def, &ds, NULL), HNN_ERR_INVALID_ARG);
}

/* Greydanus' spring: 50 trajectories of 30 samples split in half; derivatives are those of
 * the clean state, whose radius is the trajectory's and lies in [0.1, 1]. */
static void test_greydanus_spring_protocol(void **state)
{
    hnn_greydanus_def def = hnn_greydanus_def_default(HNN_TASK_SPRING);
    hnn_dataset *train = NULL, *test = NULL;
    const double *x, *y;
    double noise2 = 0;
    size_t s, t;
    (void)state;
    assert_int_equal(hnn_dataset_greydanus(&def, &train, &test, NULL), HNN_OK);
    assert_int_equal(hnn_dataset_count(train), 750);
    assert_int_equal(hnn_dataset_count(test), 750);
    x = hnn_dataset_states(train);
    y = hnn_dataset_derivatives(train);
    for (t = 0; t < 25; t++) {
        /* clean state (q, p) = (-dp/dt / 2, dq/dt / 2) for H = q^2 + p^2 */
        const double r0 = hypot(y[60 * t] / 2, y[60 * t + 1] / 2);
        assert_true(r0 >= 0.1 && r0 <= 1.0);
        for (s = 30 * t; s < 30 * t + 30; s++) {
            const double q = -y[2 * s + 1] / 2, p = y[2 * s] / 2;
            assert_true(fabs(hypot(q, p) - r0) < 1e-9); /* energy conserved along the orbit */
            noise2 += (x[2 * s] - q) * (x[2 * s] - q) + (x[2 * s + 1] - p) * (x[2 * s + 1] - p);
        }
    }
    assert_true(fabs(sqrt(noise2 / 1500) - 0.1) < 0.01); /* noise std 0.1 on the states */
    hnn_dataset_destroy(train);
    hnn_dataset_destroy(test);
}

/* The two-body task: the split the reference code makes (first 20 % test), near-circular
 * orbits that keep their energy and zero total momentum, and exact derivative targets. */
static void test_two_body_protocol(void **state)
{
    hnn_two_body_def d = hnn_two_body_def_default();
    hnn_dataset *train = NULL, *test = NULL;
    const double *x, *y;
    size_t i, k, orbit;
    double worst_energy = 0.0, worst_momentum = 0.0;
    (void)state;
    d.trajectories = 20;
    assert_int_equal(hnn_dataset_two_body(&d, &train, &test, NULL), HNN_OK);
    assert_int_equal(hnn_dataset_dof(train), 4);
    assert_int_equal(hnn_dataset_count(test), 200);   /* int(1000 x 0.2) */
    assert_int_equal(hnn_dataset_count(train), 800);
    x = hnn_dataset_states(test);
    y = hnn_dataset_derivatives(test);
    /* the first orbit starts as the protocol says: body 2 mirrors body 1, whose coordinates
     * are in [0.5, 1.5), moving within 4 x 5 % of the circular speed 1 / (2 sqrt r) */
    assert_true(x[2] == -x[0] && x[3] == -x[1] && x[6] == -x[4] && x[7] == -x[5]);
    assert_true(x[0] >= 0.5 && x[0] < 1.5 && x[1] >= 0.5 && x[1] < 1.5);
    {
        const double r = sqrt(x[0] * x[0] + x[1] * x[1]);
        const double v = sqrt(x[4] * x[4] + x[5] * x[5]) * 2.0 * sqrt(r);
        assert_true(fabs(v - 1.0) <= 0.2);
        assert_true(fabs(x[0] * x[4] + x[1] * x[5]) < 1e-12); /* perpendicular to the position */
    }
    /* along every orbit of the test set: energy constant, total momentum zero */
    for (orbit = 0; orbit < 4; orbit++) {
        const double *o = x + orbit * 50 * 8;
        const double e0 = hnn_system_energy(HNN_SYSTEM_TWO_BODY, o);
        for (i = 0; i < 50; i++) {
            const double *s = o + 8 * i;
            const double de = fabs(hnn_system_energy(HNN_SYSTEM_TWO_BODY, s) - e0);
            worst_energy = test_worse(worst_energy, de);
            for (k = 0; k < 2; k++)
                worst_momentum = test_worse(worst_momentum, fabs(s[4 + k] + s[6 + k]));
        }
    }
    assert_true(worst_energy < 1e-9);
    assert_true(worst_momentum < 1e-12);
    /* targets are the exact field: dq/dt = p, and the pull 1 / r^2 along q2 - q1 on body 1 */
    for (i = 0; i < 200; i += 37) {
        const double *s = x + 8 * i, *f = y + 8 * i;
        const double dx = s[2] - s[0], dy = s[3] - s[1], r = sqrt(dx * dx + dy * dy);
        assert_true(f[0] == s[4] && f[3] == s[7]);
        assert_true(fabs(f[4] - dx / (r * r * r)) < 1e-15 && fabs(f[7] + dy / (r * r * r)) < 1e-15);
    }
    hnn_dataset_destroy(train);
    hnn_dataset_destroy(test);

    d.orbit_noise = 0.5;
    assert_int_equal(hnn_dataset_two_body(&d, &train, &test, NULL), HNN_ERR_INVALID_ARG);
    assert_null(train);
    assert_null(test);
    d = hnn_two_body_def_default();
    d.samples = 1;
    assert_int_equal(hnn_dataset_two_body(&d, &train, &test, NULL), HNN_ERR_INVALID_ARG);
    d = hnn_two_body_def_default();
    d.test_fraction = 1.0;
    assert_int_equal(hnn_dataset_two_body(&d, &train, &test, NULL), HNN_ERR_INVALID_ARG);
    assert_int_equal(hnn_dataset_two_body(NULL, &train, &test, NULL), HNN_ERR_NULL);
}

/* Every built-in system's field is J grad H: central differences of its energy. */
static void test_system_fields_are_hamiltonian(void **state)
{
    const hnn_system systems[] = {HNN_SYSTEM_SPRING, HNN_SYSTEM_GREYDANUS_SPRING,
                                  HNN_SYSTEM_PENDULUM, HNN_SYSTEM_TWO_BODY,
                                  HNN_SYSTEM_THREE_BODY, HNN_SYSTEM_CHAIN};
    test_rng rng = {77};
    size_t k, i;
    (void)state;
    for (k = 0; k < TEST_COUNT(systems); k++) {
        hnn_field_source src = {.struct_size = sizeof src};
        const size_t n = hnn_system_dof(systems[k]);
        double x[12], xp[12], f[12], g[12], h = 1e-6;
        assert_int_equal(hnn_field_source_system(systems[k], &src), HNN_OK);
        assert_int_equal(src.dim, 2 * n);
        test_fill(&rng, x, 2 * n, -1.0, 1.0);
        if (n >= 4) /* keep bodies apart: spread them along x */
            for (i = 0; i < n / 2; i++)
                x[2 * i] += 3.0 * (double)i;
        assert_int_equal(src.field(src.ctx, src.dim, x, f), HNN_OK);
        for (i = 0; i < 2 * n; i++) {
            memcpy(xp, x, sizeof x);
            xp[i] = x[i] + h;
            g[i] = hnn_system_energy(systems[k], xp);
            xp[i] = x[i] - h;
            g[i] = (g[i] - hnn_system_energy(systems[k], xp)) / (2 * h);
        }
        for (i = 0; i < n; i++) {
            assert_true(fabs(f[i] - g[n + i]) < 1e-7 * (1.0 + fabs(f[i])));
            assert_true(fabs(f[n + i] + g[i]) < 1e-7 * (1.0 + fabs(f[n + i])));
        }
    }
}

/* The three-body task: split, the symmetric start, energy kept along orbits, exact targets. */
static void test_three_body_protocol(void **state)
{
    hnn_three_body_def d = hnn_three_body_def_default();
    hnn_dataset *train = NULL, *test = NULL;
    const double *x, *y;
    double worst = 0.0, r[3];
    size_t i, b, orbit;
    (void)state;
    d.trajectories = 50;
    assert_int_equal(hnn_dataset_three_body(&d, &train, &test, NULL), HNN_OK);
    assert_int_equal(hnn_dataset_dof(train), 6);
    assert_int_equal(hnn_dataset_count(test), 200); /* int(1000 x 0.2) */
    assert_int_equal(hnn_dataset_count(train), 800);
    x = hnn_dataset_states(test);
    y = hnn_dataset_derivatives(test);
    /* bodies start on one circle of radius in [0.9, 1.2), 120 degrees apart */
    for (b = 0; b < 3; b++)
        r[b] = sqrt(x[2 * b] * x[2 * b] + x[2 * b + 1] * x[2 * b + 1]);
    assert_true(r[0] >= 0.9 && r[0] < 1.2);
    assert_true(fabs(r[1] - r[0]) < 1e-12 && fabs(r[2] - r[0]) < 1e-12);
    assert_true(fabs(x[0] + x[2] + x[4]) < 1e-12 && fabs(x[1] + x[3] + x[5]) < 1e-12);
    for (orbit = 0; orbit < 10; orbit++) {
        const double *o = x + orbit * 20 * 12;
        const double e0 = hnn_system_energy(HNN_SYSTEM_THREE_BODY, o);
        for (i = 0; i < 20; i++) {
            const double de = fabs(hnn_system_energy(HNN_SYSTEM_THREE_BODY, o + 12 * i) - e0);
            worst = test_worse(worst, de / fabs(e0));
        }
    }
    assert_true(worst < 1e-8);
    for (i = 0; i < 200; i += 41) {
        double f[12];
        hnn_field_source src = {.struct_size = sizeof src};
        assert_int_equal(hnn_field_source_system(HNN_SYSTEM_THREE_BODY, &src), HNN_OK);
        src.field(src.ctx, src.dim, x + 12 * i, f);
        assert_memory_equal(f, y + 12 * i, sizeof f);
    }
    hnn_dataset_destroy(train);
    hnn_dataset_destroy(test);
    d.orbit_noise = 0.6;
    assert_int_equal(hnn_dataset_three_body(&d, &train, &test, NULL), HNN_ERR_INVALID_ARG);
    assert_null(train);
    d = hnn_three_body_def_default();
    d.radius_min = 2.0, d.radius_max = 1.0;
    assert_int_equal(hnn_dataset_three_body(&d, &train, &test, NULL), HNN_ERR_INVALID_ARG);
}

/* States from a box: inside it, with the system's exact field. */
static void test_system_box_data(void **state)
{
    hnn_system_data_def d = hnn_system_data_def_default();
    hnn_dataset *ds = NULL;
    hnn_field_source src = {.struct_size = sizeof src};
    const double *x, *y;
    size_t i, k;
    (void)state;
    d.count = 300;
    d.q_max = 2.0;
    d.p_max = 0.5;
    assert_int_equal(hnn_dataset_system(&d, &ds, NULL), HNN_OK);
    assert_int_equal(hnn_dataset_dof(ds), 4);
    assert_int_equal(hnn_field_source_system(HNN_SYSTEM_CHAIN, &src), HNN_OK);
    x = hnn_dataset_states(ds);
    y = hnn_dataset_derivatives(ds);
    for (i = 0; i < 300; i++) {
        double f[8];
        for (k = 0; k < 4; k++) {
            assert_true(fabs(x[8 * i + k]) <= 2.0);
            assert_true(fabs(x[8 * i + 4 + k]) <= 0.5);
        }
        src.field(src.ctx, src.dim, x + 8 * i, f);
        assert_memory_equal(f, y + 8 * i, sizeof f);
        /* no wall: the springs' forces cancel, so total momentum is constant */
        assert_true(fabs(f[4] + f[5] + f[6] + f[7]) < 1e-14);
    }
    hnn_dataset_destroy(ds);
    d.system = (hnn_system)77;
    assert_int_equal(hnn_dataset_system(&d, &ds, NULL), HNN_ERR_INVALID_ARG);
    assert_null(ds);
    d = hnn_system_data_def_default();
    d.p_max = 0.0;
    assert_int_equal(hnn_dataset_system(&d, &ds, NULL), HNN_ERR_INVALID_ARG);
    /* gravity with the bodies squeezed together (q_max 1e-105): the field overflows, and the
     * dataset is refused as hnn_dataset_create refuses the same arrays (it once stored 400
     * of 800 non-finite derivatives and returned OK) */
    {
        const hnn_system gravity[2] = {HNN_SYSTEM_TWO_BODY, HNN_SYSTEM_THREE_BODY};
        hnn_error err;
        for (k = 0; k < 2; k++) {
            d = hnn_system_data_def_default();
            d.system = gravity[k];
            d.count = 800;
            d.q_max = 1e-105;
            assert_int_equal(hnn_dataset_system(&d, &ds, &err), HNN_ERR_NONFINITE);
            assert_null(ds);
            assert_non_null(strstr(err.message, "q_max"));
            d.q_max = 1.0; /* ordinary boxes still work */
            assert_int_equal(hnn_dataset_system(&d, &ds, NULL), HNN_OK);
            assert_true(test_all_finite(hnn_dataset_derivatives(ds), 800 * 2 * hnn_dataset_dof(ds)));
            hnn_dataset_destroy(ds);
            ds = NULL;
        }
    }
}

static void test_greydanus_pendulum_protocol(void **state)
{
    hnn_greydanus_def def = hnn_greydanus_def_default(HNN_TASK_PENDULUM);
    hnn_dataset *train = NULL, *test = NULL;
    const double *x, *y;
    size_t s, t;
    (void)state;
    def.noise_std = 0.0; /* clean states, to check the trajectories themselves */
    assert_int_equal(hnn_dataset_greydanus(&def, &train, &test, NULL), HNN_OK);
    assert_int_equal(hnn_dataset_count(train) + hnn_dataset_count(test), 50 * 45);
    x = hnn_dataset_states(train);
    y = hnn_dataset_derivatives(train);
    for (t = 0; t < hnn_dataset_count(train) / 45; t++) {
        const double *x0 = x + 90 * t;
        const double h0 = 3 * (1 - cos(x0[0])) + x0[1] * x0[1];
        const double r0 = hypot(x0[0], x0[1]);
        assert_true(r0 >= 1.3 - 1e-12 && r0 <= 2.3 + 1e-12);
        for (s = 45 * t; s < 45 * t + 45; s++) {
            const double h = 3 * (1 - cos(x[2 * s])) + x[2 * s + 1] * x[2 * s + 1];
            assert_true(fabs(h - h0) < 1e-9);
            assert_true(y[2 * s] == 2 * x[2 * s + 1]);
            assert_true(y[2 * s + 1] == -3 * sin(x[2 * s]));
        }
    }
    hnn_dataset_destroy(train);
    hnn_dataset_destroy(test);
    def.train_fraction = 1.0;
    assert_int_equal(hnn_dataset_greydanus(&def, &train, &test, NULL), HNN_ERR_INVALID_ARG);
    assert_null(train);
    assert_null(test);
}

/* ---- CSV ---------------------------------------------------------------------------- */

static char csv_path[256];

static const char *write_file(const char *text)
{
    FILE *f;
    snprintf(csv_path, sizeof csv_path, "hnn_test_data.csv"); /* in the test's build folder */
    f = fopen(csv_path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return csv_path;
}

static void test_csv_loads_rows(void **state)
{
    hnn_dataset *ds = NULL;
    hnn_error err;
    const double *x, *y;
    (void)state;
    write_file("q1,p1,dq1,dp1\n1.5,-2,0.25,1e-3\n\n 3 , 4 ,5,6\r\n");
    assert_int_equal(hnn_dataset_load_csv(csv_path, NULL, &ds, &err), HNN_OK);
    assert_int_equal(hnn_dataset_count(ds), 2);
    assert_int_equal(hnn_dataset_dof(ds), 1);
    x = hnn_dataset_states(ds);
    y = hnn_dataset_derivatives(ds);
    assert_true(x[0] == 1.5 && x[1] == -2.0 && y[0] == 0.25 && y[1] == 1e-3);
    assert_true(x[2] == 3.0 && x[3] == 4.0 && y[2] == 5.0 && y[3] == 6.0);
    hnn_dataset_destroy(ds);

    write_file("q1,q2,p1,p2,dq1,dq2,dp1,dp2\n1,2,3,4,5,6,7,8");
    assert_int_equal(hnn_dataset_load_csv(csv_path, NULL, &ds, &err), HNN_OK);
    assert_int_equal(hnn_dataset_dof(ds), 2);
    assert_true(hnn_dataset_states(ds)[3] == 4.0 && hnn_dataset_derivatives(ds)[0] == 5.0);
    hnn_dataset_destroy(ds);
    remove(csv_path);
}

/* Each malformed file: its own status, a message naming the file (and line), nothing
 * allocated left behind. */
static void expect_csv_error(const char *text, hnn_status want, const char *where)
{
    test_counter counter = {0, 0, 0, -1, 0};
    hnn_allocator a = test_allocator(&counter);
    hnn_dataset *ds = (hnn_dataset *)&counter;
    hnn_error err;
    const char *path = text ? write_file(text) : "no/such/file.csv";
    assert_int_equal(hnn_dataset_load_csv(path, &a, &ds, &err), want);
    assert_null(ds);
    assert_int_equal(err.status, want);
    assert_non_null(strstr(err.message, path));
    if (where != NULL && strstr(err.message, where) == NULL) {
        fprintf(stderr, "message '%s' lacks '%s'\n", err.message, where);
        fail();
    }
    assert_int_equal(counter.live_bytes, 0);
    if (text)
        remove(path);
}

static void test_csv_errors(void **state)
{
    (void)state;
    expect_csv_error(NULL, HNN_ERR_IO, "cannot open");
    expect_csv_error("", HNN_ERR_PARSE, "empty file");
    expect_csv_error("\n\n", HNN_ERR_PARSE, "empty file");
    expect_csv_error("q1,p1,dq1,dp1\n", HNN_ERR_PARSE, "no data rows");
    expect_csv_error("q1,p1,dq1\n1,2,3\n", HNN_ERR_PARSE, ":1:");
    expect_csv_error("q1,p1,dp1,dq1\n1,2,3,4\n", HNN_ERR_PARSE, "header column 3");
    expect_csv_error("q1,p1,dp1,dq1\n1,2,3,4\n", HNN_ERR_PARSE, "expected q1, p1, dq1, dp1");
    expect_csv_error("q1,p1,dq1,dp1\n1,2,3,4\n1,2,3\n", HNN_ERR_PARSE, ":3: 3 columns, expected 4");
    expect_csv_error("q1,p1,dq1,dp1\n1,2,3,4,5\n", HNN_ERR_PARSE, ":2: 5 columns");
    expect_csv_error("q1,p1,dq1,dp1\n1,2,3,4\n1,abc,3,4\n", HNN_ERR_PARSE, ":3: column 2 ('abc')");
    expect_csv_error("q1,p1,dq1,dp1\n1,2,,4\n", HNN_ERR_PARSE, ":2: column 3");
    expect_csv_error("q1,p1,dq1,dp1\n1,2,3,nan\n", HNN_ERR_PARSE, "finite");
    expect_csv_error("q1,p1,dq1,dp1\n1,2,3,4x\n", HNN_ERR_PARSE, ":2: column 4");
    expect_csv_error("q1,p1,dq1,dp1\n1,2,3,0x1p3\n", HNN_ERR_PARSE, ":2: column 4"); /* no hex */
    expect_csv_error("q1,p1,dq1,dp1\n1,2,3,inf\n", HNN_ERR_PARSE, ":2: column 4");
}

/* A NUL byte would hide the rest of its line from a C-string parser: refused, with its line. */
static void test_csv_refuses_nul_bytes(void **state)
{
    static const char text[] = "q1,p1,dq1,dp1\n1,2,3,4\n5,6,7,8\0,junk\n";
    hnn_dataset *ds = NULL;
    hnn_error err;
    FILE *f = fopen("hnn_test_nul.csv", "wb");
    (void)state;
    assert_non_null(f);
    fwrite(text, 1, sizeof text - 1, f);
    fclose(f);
    assert_int_equal(hnn_dataset_load_csv("hnn_test_nul.csv", NULL, &ds, &err), HNN_ERR_PARSE);
    assert_null(ds);
    assert_non_null(strstr(err.message, "hnn_test_nul.csv:3:"));
    assert_non_null(strstr(err.message, "NUL"));
    remove("hnn_test_nul.csv");
}

/* Numbers are read the same whatever LC_NUMERIC the program set. */
static void test_csv_ignores_the_locale(void **state)
{
    hnn_dataset *ds = NULL;
    const char *loc = setlocale(LC_NUMERIC, "de_DE.UTF-8");
    (void)state;
    if (loc == NULL)
        loc = setlocale(LC_NUMERIC, "fr_FR.UTF-8");
    write_file("q1,p1,dq1,dp1\n1.5,-2.25,+3e-1,4\n");
    assert_int_equal(hnn_dataset_load_csv(csv_path, NULL, &ds, NULL), HNN_OK);
    assert_true(hnn_dataset_states(ds)[0] == 1.5 && hnn_dataset_states(ds)[1] == -2.25);
    assert_true(hnn_dataset_derivatives(ds)[0] == 0.3);
    hnn_dataset_destroy(ds);
    remove(csv_path);
    setlocale(LC_NUMERIC, "C");
    if (loc == NULL)
        fprintf(stderr, "note: no comma-decimal locale installed; tested in the C locale only\n");
}

/* A long line (longer than any fixed buffer) is read whole. */
static void test_csv_long_lines(void **state)
{
    char *text = malloc(20000);
    hnn_dataset *ds = NULL;
    size_t len;
    (void)state;
    strcpy(text, "q1,p1,dq1,dp1\n");
    len = strlen(text);
    memset(text + len, ' ', 5000);
    strcpy(text + len + 5000, "1,2,3,4\n");
    write_file(text);
    assert_int_equal(hnn_dataset_load_csv(csv_path, NULL, &ds, NULL), HNN_OK);
    assert_true(hnn_dataset_states(ds)[0] == 1.0);
    hnn_dataset_destroy(ds);
    remove(csv_path);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_copies_and_refuses_nonfinite),
        cmocka_unit_test(test_spring_states_and_exact_slopes),
        cmocka_unit_test(test_spring_noise_has_the_requested_std),
        cmocka_unit_test(test_greydanus_spring_protocol),
        cmocka_unit_test(test_greydanus_pendulum_protocol),
        cmocka_unit_test(test_csv_loads_rows),
        cmocka_unit_test(test_csv_errors),
        cmocka_unit_test(test_two_body_protocol),
        cmocka_unit_test(test_system_fields_are_hamiltonian),
        cmocka_unit_test(test_three_body_protocol),
        cmocka_unit_test(test_system_box_data),
        cmocka_unit_test(test_csv_long_lines),
        cmocka_unit_test(test_csv_refuses_nul_bytes),
        cmocka_unit_test(test_csv_ignores_the_locale),
    };
    return cmocka_run_group_tests_name("data", tests, NULL, NULL);
}
