/* Tests for dissipative models (lib/dissipative.c): the field is what the decomposition says,
 * port-Hamiltonian models lose H for any weights, the loss gradient matches central
 * differences for every parameter, training fits a damped spring, and bad input is refused. */
#include "test_util.h"

#include <stddef.h>

static hnn_dissipative *make_model(hnn_dissipation kind, size_t dof, size_t width, uint64_t seed)
{
    hnn_net_def d = hnn_net_def_default();
    hnn_dissipative *m = NULL;
    hnn_error err;
    d.dof = dof;
    d.widths[0] = width;
    d.widths[1] = width + 2;
    d.seed = seed;
    if (hnn_dissipative_create(kind, &d, &m, &err) != HNN_OK)
        fail_msg("create: %s", err.message);
    return m;
}

/* Random parameters (so that R is a general PSD matrix, not 0.01 I). */
static void randomize(hnn_dissipative *m, test_rng *rng)
{
    const size_t np = hnn_dissipative_param_count(m);
    double *p = malloc(np * sizeof *p);
    assert_non_null(p);
    test_fill(rng, p, np, -0.5, 0.5);
    assert_int_equal(hnn_dissipative_params_set(m, p, np), HNN_OK);
    free(p);
}

/* grad of one of a model's (const) nets, with a workspace of our own. */
static hnn_status gradient_of(const hnn_net *net, const double *x, size_t count, double *g)
{
    hnn_workspace *ws = NULL;
    hnn_status st = hnn_workspace_create(net, &ws, NULL);
    if (st == HNN_OK)
        st = hnn_net_gradient(net, ws, x, count, NULL, g);
    hnn_workspace_destroy(ws);
    return st;
}

static void test_field_is_the_decomposition(void **state)
{
    test_rng rng = {1};
    size_t dof, s, i, c;
    (void)state;
    for (dof = 1; dof <= 2; dof++) {
        hnn_dissipative *hm = make_model(HNN_DISSIPATION_HELMHOLTZ, dof, 8, 3);
        hnn_dissipative *pm = make_model(HNN_DISSIPATION_PORT, dof, 8, 4);
        const size_t dim = 2 * dof;
        double x[3 * 4], f[3 * 4], gh[3 * 4], gd[3 * 4], R[16];
        randomize(hm, &rng);
        randomize(pm, &rng);
        test_fill(&rng, x, 3 * dim, -1.0, 1.0);
        /* Helmholtz: J grad H + grad D, from the two nets' own gradients */
        assert_int_equal(hnn_dissipative_field(hm, x, 3, f), HNN_OK);
        assert_int_equal(gradient_of(hnn_dissipative_energy_net(hm), x, 3, gh), HNN_OK);
        assert_int_equal(gradient_of(hnn_dissipative_dissipation_net(hm), x, 3, gd), HNN_OK);
        for (s = 0; s < 3; s++)
            for (i = 0; i < dof; i++) {
                assert_true(fabs(f[s * dim + i] - (gh[s * dim + dof + i] + gd[s * dim + i])) < 1e-15);
                assert_true(fabs(f[s * dim + dof + i] - (-gh[s * dim + i] + gd[s * dim + dof + i])) < 1e-15);
            }
        assert_int_equal(hnn_dissipative_damping(hm, R), HNN_ERR_WRONG_KIND);
        /* port: (J - R) grad H, R symmetric and positive semidefinite, so H decreases */
        assert_null(hnn_dissipative_dissipation_net(pm));
        assert_int_equal(hnn_dissipative_damping(pm, R), HNN_OK);
        assert_int_equal(hnn_dissipative_field(pm, x, 3, f), HNN_OK);
        assert_int_equal(gradient_of(hnn_dissipative_energy_net(pm), x, 3, gh), HNN_OK);
        for (i = 0; i < dim; i++)
            for (c = 0; c < dim; c++)
                assert_true(R[i * dim + c] == R[c * dim + i]);
        for (s = 0; s < 3; s++) {
            const double *g = gh + s * dim;
            double dHdt = 0.0;
            for (i = 0; i < dim; i++) {
                double want = i < dof ? g[dof + i] : -g[i - dof], rg = 0.0;
                for (c = 0; c < dim; c++)
                    rg += R[i * dim + c] * g[c];
                assert_true(fabs(f[s * dim + i] - (want - rg)) < 1e-14);
                dHdt += g[i] * f[s * dim + i];
            }
            assert_true(dHdt <= 1e-15); /* -g.R g */
        }
        hnn_dissipative_destroy(hm);
        hnn_dissipative_destroy(pm);
    }
}

static double loss_of(hnn_dissipative *m, const double *x, const double *y, size_t count)
{
    double loss;
    assert_int_equal(hnn_dissipative_loss_mse(m, x, y, count, &loss, NULL), HNN_OK);
    return loss;
}

static void test_loss_gradient_matches_central_differences(void **state)
{
    const hnn_dissipation kinds[2] = {HNN_DISSIPATION_HELMHOLTZ, HNN_DISSIPATION_PORT};
    test_rng rng = {2};
    size_t k, dof, i;
    (void)state;
    for (k = 0; k < 2; k++)
        for (dof = 1; dof <= 2; dof++) {
            hnn_dissipative *m = make_model(kinds[k], dof, 5, 10 + dof);
            const size_t dim = 2 * dof, count = 70, np = hnn_dissipative_param_count(m); /* 2 chunks */
            double *x = malloc(count * dim * sizeof *x), *y = malloc(count * dim * sizeof *y);
            double *p = malloc(np * sizeof *p), *g = malloc(np * sizeof *g);
            double *fd = malloc(np * sizeof *fd), loss, f[4], direct = 0.0, h = 1e-6;
            assert_true(x && y && p && g && fd);
            randomize(m, &rng);
            test_fill(&rng, x, count * dim, -1.0, 1.0);
            test_fill(&rng, y, count * dim, -1.0, 1.0);
            assert_int_equal(hnn_dissipative_loss_mse(m, x, y, count, &loss, g), HNN_OK);
            for (i = 0; i < count; i++) { /* the loss is the field's mean squared error */
                size_t c;
                assert_int_equal(hnn_dissipative_field(m, x + i * dim, 1, f), HNN_OK);
                for (c = 0; c < dim; c++)
                    direct += (f[c] - y[i * dim + c]) * (f[c] - y[i * dim + c]);
            }
            assert_true(fabs(loss - direct / (double)(count * dim)) < 1e-13 * loss);
            assert_int_equal(hnn_dissipative_params_get(m, p, np), HNN_OK);
            for (i = 0; i < np; i++) {
                const double keep = p[i];
                p[i] = keep + h;
                assert_int_equal(hnn_dissipative_params_set(m, p, np), HNN_OK);
                fd[i] = loss_of(m, x, y, count);
                p[i] = keep - h;
                assert_int_equal(hnn_dissipative_params_set(m, p, np), HNN_OK);
                fd[i] = (fd[i] - loss_of(m, x, y, count)) / (2 * h);
                p[i] = keep;
            }
            if (!(test_rel_err(g, fd, np) <= 1e-6))
                fail_msg("kind %zu, n = %zu: gradient vs differences %.3g", k, dof,
                         test_rel_err(g, fd, np));
            free(x), free(y), free(p), free(g), free(fd);
            hnn_dissipative_destroy(m);
        }
}

/* A damped spring, dq/dt = p, dp/dt = -q - 0.1 p: both kinds fit it, and a port model's R
 * finds the damping on p. */
static void test_training_fits_a_damped_spring(void **state)
{
    const hnn_dissipation kinds[2] = {HNN_DISSIPATION_HELMHOLTZ, HNN_DISSIPATION_PORT};
    enum { COUNT = 512 };
    static double x[2 * COUNT], y[2 * COUNT];
    test_rng rng = {3};
    hnn_dataset *data = NULL;
    size_t s, k;
    (void)state;
    test_fill(&rng, x, 2 * COUNT, -1.2, 1.2);
    for (s = 0; s < COUNT; s++) {
        y[2 * s] = x[2 * s + 1];
        y[2 * s + 1] = -x[2 * s] - 0.1 * x[2 * s + 1];
    }
    assert_int_equal(hnn_dataset_create(1, COUNT, x, y, NULL, &data, NULL), HNN_OK);
    for (k = 0; k < 2; k++) {
        hnn_dissipative *m = make_model(kinds[k], 1, 32, 5);
        hnn_optimizer_def od = hnn_optimizer_def_default(HNN_OPT_ADAM);
        hnn_train_def td = hnn_train_def_default();
        hnn_optimizer *opt = NULL;
        hnn_train_result res = {.struct_size = sizeof res};
        double R[4];
        td.steps = 1500;
        td.batch_size = 128;
        td.report_every = 0;
        assert_int_equal(hnn_optimizer_create(&od, hnn_dissipative_param_count(m), &opt, NULL), HNN_OK);
        assert_int_equal(hnn_dissipative_train(m, opt, data, NULL, &td, &res, NULL), HNN_OK);
        assert_true(res.train_loss < 1e-3);
        if (kinds[k] == HNN_DISSIPATION_PORT) {
            assert_int_equal(hnn_dissipative_damping(m, R), HNN_OK);
            assert_true(fabs(R[3] - 0.1) < 0.03 && fabs(R[0]) < 0.03);
        }
        hnn_optimizer_destroy(opt);
        hnn_dissipative_destroy(m);
    }
    hnn_dataset_destroy(data);
}

/* D's definition: by default H's widths over the full state, so a separable H (positions
 * only, with a kinetic term) still gets a D that sees p and can damp dp/dt (it once copied
 * H's feature map, and dD/dp was exactly 0); or one of the caller's own. */
static void test_dissipation_net_has_its_own_definition(void **state)
{
    hnn_net_def h = hnn_net_def_default(), d = hnn_net_def_default(), got;
    hnn_dissipative *m = NULL;
    double x[6 * 4], g[6 * 4];
    test_rng rng = {8};
    size_t s, worst_zero = 0;
    (void)state;
    h.dof = 2;
    h.features = HNN_FEATURES_POSITIONS;
    h.kinetic_mass = 1.0;
    h.widths[0] = h.widths[1] = 8;
    assert_int_equal(hnn_dissipative_create(HNN_DISSIPATION_HELMHOLTZ, &h, &m, NULL), HNN_OK);
    got.struct_size = sizeof got;
    assert_int_equal(hnn_net_get_def(hnn_dissipative_dissipation_net(m), &got), HNN_OK);
    assert_true(got.features == HNN_FEATURES_IDENTITY && got.kinetic_mass == 0.0 &&
                got.widths[0] == 8 && got.seed == h.seed + 1);
    test_fill(&rng, x, 6 * 4, -1.0, 1.0);
    assert_int_equal(gradient_of(hnn_dissipative_dissipation_net(m), x, 6, g), HNN_OK);
    for (s = 0; s < 6; s++) /* dD/dp_1, dD/dp_2: not identically zero */
        worst_zero += g[s * 4 + 2] == 0.0 && g[s * 4 + 3] == 0.0;
    assert_int_equal(worst_zero, 0);
    hnn_dissipative_destroy(m);
    /* a D of the caller's own shape */
    d.dof = 2;
    d.depth = 1;
    d.widths[0] = 5;
    assert_int_equal(hnn_dissipative_create_with(HNN_DISSIPATION_HELMHOLTZ, &h, &d, &m, NULL), HNN_OK);
    assert_int_equal(hnn_net_get_def(hnn_dissipative_dissipation_net(m), &got), HNN_OK);
    assert_true(got.depth == 1 && got.widths[0] == 5);
    assert_int_equal(hnn_dissipative_param_count(m),
                     hnn_net_param_count(hnn_dissipative_energy_net(m)) + (4 * 5 + 5 + 5 + 1));
    hnn_dissipative_destroy(m);
    /* what does not fit is refused, naming why */
    {
        hnn_error err;
        d.dof = 3;
        assert_int_equal(hnn_dissipative_create_with(HNN_DISSIPATION_HELMHOLTZ, &h, &d, &m, &err),
                         HNN_ERR_INVALID_ARG);
        assert_non_null(strstr(err.message, "n = 2"));
        d.dof = 2;
        d.kind = HNN_NET_FIELD;
        assert_int_equal(hnn_dissipative_create_with(HNN_DISSIPATION_HELMHOLTZ, &h, &d, &m, &err),
                         HNN_ERR_INVALID_ARG);
        d.kind = HNN_NET_HAMILTONIAN;
        d.kinetic_mass = 2.0;
        assert_int_equal(hnn_dissipative_create_with(HNN_DISSIPATION_HELMHOLTZ, &h, &d, &m, &err),
                         HNN_ERR_INVALID_ARG);
        d.kinetic_mass = 0.0;
        assert_int_equal(hnn_dissipative_create_with(HNN_DISSIPATION_PORT, &h, &d, &m, &err),
                         HNN_ERR_INVALID_ARG);
        assert_null(m);
    }
}

/* A def from an older, shorter header (0.1's, which ended at the allocator) is read only as
 * far as its struct_size: on the heap, exactly that long, so AddressSanitizer sees any read
 * past it (one once read the feature map there, and, for a shorter struct, called a garbage
 * allocator pointer when the bytes beyond were not the caller's). */
static void test_def_is_read_only_to_struct_size(void **state)
{
    const size_t short_size = offsetof(hnn_net_def, features);
    hnn_net_def *d = (hnn_net_def *)malloc(short_size);
    hnn_net_def full = hnn_net_def_default();
    hnn_dissipative *m = NULL;
    (void)state;
    memcpy(d, &full, short_size);
    d->struct_size = short_size;
    d->widths[0] = d->widths[1] = 6;
    assert_int_equal(hnn_dissipative_create(HNN_DISSIPATION_HELMHOLTZ, d, &m, NULL), HNN_OK);
    hnn_dissipative_destroy(m);
    assert_int_equal(hnn_dissipative_create_with(HNN_DISSIPATION_HELMHOLTZ, d, d, &m, NULL), HNN_OK);
    hnn_dissipative_destroy(m);
    assert_int_equal(hnn_dissipative_create(HNN_DISSIPATION_PORT, d, &m, NULL), HNN_OK);
    hnn_dissipative_destroy(m);
    free(d);
}

static void test_bad_input_and_allocation_failures(void **state)
{
    hnn_net_def d = hnn_net_def_default();
    hnn_dissipative *m = NULL;
    hnn_error err;
    double x[2] = {0.1, 0.2}, nan_x[2] = {NAN, 0.0}, f[2], p[1];
    long budget;
    int saw_success = 0;
    (void)state;
    assert_int_equal(hnn_dissipative_create((hnn_dissipation)5, &d, &m, &err), HNN_ERR_INVALID_ARG);
    assert_null(m);
    d.kind = HNN_NET_FIELD;
    assert_int_equal(hnn_dissipative_create(HNN_DISSIPATION_PORT, &d, &m, &err), HNN_ERR_INVALID_ARG);
    assert_true(strlen(err.message) > 0);
    assert_int_equal(hnn_dissipative_create(HNN_DISSIPATION_PORT, NULL, &m, &err), HNN_ERR_NULL);
    m = make_model(HNN_DISSIPATION_HELMHOLTZ, 1, 4, 0);
    assert_int_equal(hnn_dissipative_field(m, x, 0, f), HNN_ERR_INVALID_ARG);
    assert_int_equal(hnn_dissipative_field(m, nan_x, 1, f), HNN_ERR_NONFINITE);
    assert_non_null(strstr(hnn_dissipative_last_error(m), "x of state 0 holds NaN"));
    assert_int_equal(hnn_dissipative_field(NULL, x, 1, f), HNN_ERR_NULL);
    assert_int_equal(hnn_dissipative_params_set(m, p, 1), HNN_ERR_SIZE_MISMATCH);
    assert_non_null(strstr(hnn_dissipative_last_error(m), "count 1: the model has"));
    assert_int_equal(hnn_dissipative_loss_mse(m, x, nan_x, 1, NULL, NULL), HNN_ERR_NONFINITE);
    assert_non_null(strstr(hnn_dissipative_last_error(m), "y of state 0"));
    assert_int_equal(hnn_dissipative_field(m, x, 1, f), HNN_OK);
    assert_string_equal(hnn_dissipative_last_error(m), "");
    hnn_dissipative_destroy(m);
    hnn_dissipative_destroy(NULL);
    /* every allocation failing in turn: HNN_ERR_NO_MEMORY, nothing leaked */
    for (budget = 0; budget < 40 && !saw_success; budget++) {
        test_counter counter = {0, 0, 0, budget, 0};
        hnn_net_def dd = hnn_net_def_default();
        hnn_status st;
        dd.allocator = test_allocator(&counter);
        st = hnn_dissipative_create(HNN_DISSIPATION_HELMHOLTZ, &dd, &m, &err);
        if (st == HNN_OK) {
            saw_success = 1;
            hnn_dissipative_destroy(m);
        } else {
            assert_int_equal(st, HNN_ERR_NO_MEMORY);
            assert_null(m);
        }
        assert_int_equal(counter.live_bytes, 0);
    }
    assert_true(saw_success);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_field_is_the_decomposition),
        cmocka_unit_test(test_loss_gradient_matches_central_differences),
        cmocka_unit_test(test_training_fits_a_damped_spring),
        cmocka_unit_test(test_dissipation_net_has_its_own_definition),
        cmocka_unit_test(test_def_is_read_only_to_struct_size),
        cmocka_unit_test(test_bad_input_and_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
