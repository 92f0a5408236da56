/* Tests for the loss room: the exact parameter gradient of the field-matching loss
 * against central differences, the invisible "sea level" b_out, and bad input. */
#include "test_util.h"

#include <stdio.h>

typedef struct shape {
    size_t dof, depth, widths[3];
} shape;

/* n = 1..3, 1..3 hidden layers */
static const shape shapes[] = {
    {1, 1, {6}}, {1, 2, {8, 5}}, {2, 1, {10}}, {2, 3, {4, 7, 3}}, {3, 2, {9, 6}}, {3, 3, {5, 4, 6}},
};

static hnn_net *make_net(const shape *sh, hnn_net_kind kind, uint64_t seed)
{
    return test_make_net(kind, sh->dof, sh->depth, sh->widths, seed);
}

static double loss_at(hnn_net *net, hnn_loss_workspace *lw, const double *p, size_t np,
                      const double *x, const double *y, size_t count)
{
    double loss;
    assert_int_equal(hnn_net_params_set(net, p, np), HNN_OK);
    assert_int_equal(hnn_loss_mse(net, lw, x, y, count, &loss, NULL), HNN_OK);
    return loss;
}

/* dL/dtheta against central differences of L, parameter by parameter, for both kinds of
 * net and batches that span several chunks. */
static void check_gradient(hnn_net_kind kind)
{
    size_t si;
    test_rng rng = {17};
    for (si = 0; si < TEST_COUNT(shapes); si++) {
        const size_t count = 70, dim = 2 * shapes[si].dof;
        hnn_net *net = make_net(&shapes[si], kind, 30 + si);
        hnn_loss_workspace *lw = NULL;
        const size_t np = hnn_net_param_count(net);
        double *p = malloc(np * sizeof *p), *g = malloc(np * sizeof *g);
        double *fd = malloc(np * sizeof *fd), *x = malloc(count * dim * sizeof *x);
        double *y = malloc(count * dim * sizeof *y), loss, err;
        size_t k;
        assert_int_equal(hnn_loss_workspace_create(net, &lw, NULL), HNN_OK);
        test_fill(&rng, x, count * dim, -1.5, 1.5);
        test_fill(&rng, y, count * dim, -1.0, 1.0);
        assert_int_equal(hnn_net_params_get(net, p, np), HNN_OK);
        for (k = 0; k < np; k++)
            p[k] *= 1.7; /* away from the near-linear regime of a fresh net */
        assert_int_equal(hnn_net_params_set(net, p, np), HNN_OK);
        assert_int_equal(hnn_loss_mse(net, lw, x, y, count, &loss, g), HNN_OK);
        assert_true(loss == loss_at(net, lw, p, np, x, y, count));
        for (k = 0; k < np; k++) {
            const double step = 1e-5 * fmax(1.0, fabs(p[k])), keep = p[k];
            double lp, lm;
            p[k] = keep + step;
            lp = loss_at(net, lw, p, np, x, y, count);
            p[k] = keep - step;
            lm = loss_at(net, lw, p, np, x, y, count);
            p[k] = keep;
            fd[k] = (lp - lm) / (2 * step);
        }
        err = test_rel_err(g, fd, np);
        if (!(err <= 1e-6)) {
            fprintf(stderr, "kind %d shape %zu: gradient rel err %g\n", (int)kind, si, err);
            fail();
        }
        hnn_loss_workspace_destroy(lw);
        hnn_net_destroy(net);
        free(p), free(g), free(fd), free(x), free(y);
    }
}

static void test_hamiltonian_gradient_matches_central_differences(void **state)
{
    (void)state;
    check_gradient(HNN_NET_HAMILTONIAN);
}

static void test_field_gradient_matches_central_differences(void **state)
{
    (void)state;
    check_gradient(HNN_NET_FIELD);
}

/* A constant added to H changes no field: the gradient for the output bias is exactly 0. */
static void test_output_bias_gradient_is_exactly_zero(void **state)
{
    size_t si;
    test_rng rng = {23};
    (void)state;
    for (si = 0; si < TEST_COUNT(shapes); si++) {
        const size_t count = 33, dim = 2 * shapes[si].dof;
        hnn_net *net = make_net(&shapes[si], HNN_NET_HAMILTONIAN, si);
        hnn_loss_workspace *lw = NULL;
        const size_t np = hnn_net_param_count(net);
        double *g = malloc(np * sizeof *g), x[33 * 6], y[33 * 6];
        assert_int_equal(hnn_loss_workspace_create(net, &lw, NULL), HNN_OK);
        test_fill(&rng, x, count * dim, -1.0, 1.0);
        test_fill(&rng, y, count * dim, -1.0, 1.0);
        assert_int_equal(hnn_loss_mse(net, lw, x, y, count, NULL, g), HNN_OK);
        assert_true(g[np - 1] == 0.0);              /* b_out: the sea level */
        assert_true(test_max_abs(g, np - 1) > 1e-6); /* while the rest is not */
        hnn_loss_workspace_destroy(lw);
        hnn_net_destroy(net);
        free(g);
    }
}

/* The loss is the mean of squared residuals of the field the net reports. */
static void test_loss_value_is_mean_squared_field_error(void **state)
{
    const shape sh = {2, 2, {8, 8}};
    hnn_net *net = make_net(&sh, HNN_NET_HAMILTONIAN, 4);
    hnn_loss_workspace *lw = NULL;
    double x[5 * 4], y[5 * 4], f[5 * 4], loss, want = 0.0;
    test_rng rng = {2};
    size_t i;
    (void)state;
    test_fill(&rng, x, 20, -1, 1);
    test_fill(&rng, y, 20, -1, 1);
    assert_int_equal(hnn_loss_workspace_create(net, &lw, NULL), HNN_OK);
    assert_int_equal(hnn_net_field(net, hnn_net_workspace(net), x, 5, f), HNN_OK);
    for (i = 0; i < 20; i++)
        want += (f[i] - y[i]) * (f[i] - y[i]);
    want /= 20;
    assert_int_equal(hnn_loss_mse(net, lw, x, y, 5, &loss, NULL), HNN_OK);
    assert_true(fabs(loss - want) <= 1e-15 * want);
    hnn_loss_workspace_destroy(lw);
    hnn_net_destroy(net);
}

static void test_loss_never_allocates(void **state)
{
    test_counter counter = {0, 0, 0, -1, 0};
    hnn_net_def def = hnn_net_def_default();
    hnn_net *net = NULL;
    hnn_loss_workspace *lw = NULL;
    double x[200 * 2], y[200 * 2], *g, loss;
    long before;
    test_rng rng = {6};
    (void)state;
    def.allocator = test_allocator(&counter);
    def.widths[0] = def.widths[1] = 16;
    assert_int_equal(hnn_net_create(&def, &net, NULL), HNN_OK);
    assert_int_equal(hnn_loss_workspace_create(net, &lw, NULL), HNN_OK);
    g = malloc(hnn_net_param_count(net) * sizeof *g);
    test_fill(&rng, x, 400, -1, 1);
    test_fill(&rng, y, 400, -1, 1);
    before = counter.allocs;
    assert_int_equal(hnn_loss_mse(net, lw, x, y, 200, &loss, g), HNN_OK);
    assert_int_equal(counter.allocs, before);
    hnn_loss_workspace_destroy(lw);
    hnn_net_destroy(net);
    assert_int_equal(counter.live_bytes, 0);
    free(g);
}

static void test_bad_loss_arguments(void **state)
{
    const shape sh = {1, 1, {4}}, other = {1, 1, {5}};
    hnn_net *net = make_net(&sh, HNN_NET_HAMILTONIAN, 1);
    hnn_net *wider = make_net(&other, HNN_NET_HAMILTONIAN, 1);
    hnn_loss_workspace *lw = NULL;
    double x[4] = {0.1, 0.2, 0.3, 0.4}, y[4] = {0, 0, 0, 0}, loss = 42.0, g[17];
    const double untouched = 42.0;
    (void)state;
    assert_int_equal(hnn_loss_workspace_create(NULL, &lw, NULL), HNN_ERR_NULL);
    assert_int_equal(hnn_loss_workspace_create(net, NULL, NULL), HNN_ERR_NULL);
    assert_int_equal(hnn_loss_workspace_create(net, &lw, NULL), HNN_OK);
    assert_int_equal(hnn_loss_mse(NULL, lw, x, y, 2, &loss, g), HNN_ERR_NULL);
    assert_int_equal(hnn_loss_mse(net, NULL, x, y, 2, &loss, g), HNN_ERR_NULL);
    assert_int_equal(hnn_loss_mse(net, lw, NULL, y, 2, &loss, g), HNN_ERR_NULL);
    assert_int_equal(hnn_loss_mse(net, lw, x, NULL, 2, &loss, g), HNN_ERR_NULL);
    assert_int_equal(hnn_loss_mse(net, lw, x, y, 0, &loss, g), HNN_ERR_INVALID_ARG);
    assert_int_equal(hnn_loss_mse(net, lw, x, y, SIZE_MAX / 2, &loss, g), HNN_ERR_TOO_LARGE);
    assert_int_equal(hnn_loss_mse(wider, lw, x, y, 2, &loss, g), HNN_ERR_SIZE_MISMATCH);
    assert_non_null(strstr(hnn_loss_workspace_last_error(lw), "another shape"));
    y[3] = NAN;
    assert_int_equal(hnn_loss_mse(net, lw, x, y, 2, &loss, g), HNN_ERR_NONFINITE);
    assert_non_null(strstr(hnn_loss_workspace_last_error(lw), "y of state 1 holds NaN or infinity "
                                                               "(number 1)"));
    y[3] = 0.0;
    x[0] = INFINITY;
    assert_int_equal(hnn_loss_mse(net, lw, x, y, 2, &loss, g), HNN_ERR_NONFINITE);
    assert_non_null(strstr(hnn_loss_workspace_last_error(lw), "x of state 0"));
    x[0] = 0.1;
    assert_int_equal(hnn_loss_mse(net, lw, x, y, 2, NULL, g), HNN_OK);
    assert_string_equal(hnn_loss_workspace_last_error(lw), "");
    assert_true(loss == untouched);
    hnn_loss_workspace_destroy(lw);
    hnn_loss_workspace_destroy(NULL);
    hnn_net_destroy(net);
    hnn_net_destroy(wider);
}

/* hnn_loss_workspace_def_bytes says what hnn_loss_workspace_create then takes, on both paths,
 * with a feature map, another activation and for a direct-field net; and refuses a bad def
 * as hnn_net_create does. */
static void test_def_bytes_is_what_create_takes(void **state)
{
    hnn_net_def defs[5];
    size_t i, bytes;
    hnn_error err;
    (void)state;
    for (i = 0; i < 5; i++) {
        defs[i] = hnn_net_def_default();
        defs[i].dof = 4;
        defs[i].widths[0] = 24;
        defs[i].widths[1] = 16;
    }
    defs[0].path = HNN_PATH_DUAL;
    defs[1].path = HNN_PATH_ADJOINT;
    defs[2].path = HNN_PATH_ADJOINT;
    defs[2].activation = HNN_ACTIVATION_SOFTPLUS;
    defs[3].features = HNN_FEATURES_ROTATION;
    defs[3].bodies = 2;
    defs[4].kind = HNN_NET_FIELD;
    for (i = 0; i < 5; i++) {
        test_counter c = {0, 0, 0, -1, 0};
        hnn_net *net = NULL;
        hnn_loss_workspace *lw = NULL;
        long before;
        defs[i].allocator = test_allocator(&c);
        assert_int_equal(hnn_loss_workspace_def_bytes(&defs[i], &bytes, &err), HNN_OK);
        assert_int_equal(hnn_net_create(&defs[i], &net, NULL), HNN_OK);
        before = c.live_bytes;
        assert_int_equal(hnn_loss_workspace_create(net, &lw, NULL), HNN_OK);
        assert_int_equal(c.live_bytes - before, (long)bytes);
        hnn_loss_workspace_destroy(lw);
        hnn_net_destroy(net);
    }
    defs[0].depth = 0;
    assert_int_equal(hnn_loss_workspace_def_bytes(&defs[0], &bytes, &err), HNN_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "depth 0"));
    assert_int_equal(hnn_loss_workspace_def_bytes(NULL, &bytes, &err), HNN_ERR_NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hamiltonian_gradient_matches_central_differences),
        cmocka_unit_test(test_field_gradient_matches_central_differences),
        cmocka_unit_test(test_output_bias_gradient_is_exactly_zero),
        cmocka_unit_test(test_loss_value_is_mean_squared_field_error),
        cmocka_unit_test(test_loss_never_allocates),
        cmocka_unit_test(test_bad_loss_arguments),
        cmocka_unit_test(test_def_bytes_is_what_create_takes),
    };
    return cmocka_run_group_tests_name("loss", tests, NULL, NULL);
}
