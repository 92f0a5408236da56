/* Tests for feature maps (lib/features.c): exact derivatives through phi against central
 * differences (gradient, Hessian, field Jacobian, loss gradient), the invariances each map
 * promises and the conservation laws they buy (Poisson brackets {P, H}, {L, H}), batches
 * against single states, model files, and bad definitions. */
#include "test_util.h"

#include <stdio.h>

typedef struct shape {
    hnn_feature_map map;
    size_t bodies, dof;
    double kinetic_mass; /* for Hamiltonian nets */
} shape;

/* translation: 2 and 3 bodies in 1, 2 and 3 dimensions; rotation: 2 and 3 bodies in the
 * plane; separable: positions only with a known kinetic term (and one kinetic term on a
 * plain net) */
static const shape shapes[] = {
    {HNN_FEATURES_TRANSLATION, 2, 2, 0.0}, {HNN_FEATURES_TRANSLATION, 2, 4, 0.0},
    {HNN_FEATURES_TRANSLATION, 3, 6, 0.0}, {HNN_FEATURES_TRANSLATION, 3, 9, 0.0},
    {HNN_FEATURES_ROTATION, 2, 4, 0.0},    {HNN_FEATURES_ROTATION, 3, 6, 0.0},
    {HNN_FEATURES_POSITIONS, 0, 1, 0.5},   {HNN_FEATURES_POSITIONS, 0, 3, 2.0},
    {HNN_FEATURES_IDENTITY, 0, 2, 1.5},
};

static hnn_net *feature_net(const shape *sh, hnn_net_kind kind, size_t width, uint64_t seed)
{
    hnn_net_def d = hnn_net_def_default();
    hnn_net *net = NULL;
    hnn_error err;
    d.kind = kind;
    d.dof = sh->dof;
    d.features = sh->map;
    d.bodies = sh->bodies;
    d.kinetic_mass = kind == HNN_NET_HAMILTONIAN ? sh->kinetic_mass : 0.0;
    d.widths[0] = width;
    d.widths[1] = width + 3;
    d.seed = seed;
    if (hnn_net_create(&d, &net, &err) != HNN_OK)
        fail_msg("create: %s", err.message);
    return net;
}

static double energy_at(hnn_net *net, const double *x)
{
    double h;
    assert_int_equal(hnn_net_energy(net, hnn_net_workspace(net), x, 1, &h), HNN_OK);
    return h;
}

/* States with bodies spread apart (distances well away from 0). */
static void random_state(test_rng *rng, size_t dim, double *x)
{
    test_fill(rng, x, dim, -1.5, 1.5);
}

static void test_gradient_matches_central_differences(void **state)
{
    size_t k, i, trial;
    test_rng rng = {1};
    (void)state;
    for (k = 0; k < TEST_COUNT(shapes); k++) {
        hnn_net *net = feature_net(&shapes[k], HNN_NET_HAMILTONIAN, 24, k);
        const size_t dim = 2 * shapes[k].dof;
        for (trial = 0; trial < 3; trial++) {
            double x[18], g[18], fd[18], xp[18], h = 1e-5;
            random_state(&rng, dim, x);
            assert_int_equal(hnn_net_gradient(net, hnn_net_workspace(net), x, 1, NULL, g), HNN_OK);
            for (i = 0; i < dim; i++) {
                memcpy(xp, x, sizeof x);
                xp[i] = x[i] + h;
                fd[i] = energy_at(net, xp);
                xp[i] = x[i] - h;
                fd[i] = (fd[i] - energy_at(net, xp)) / (2 * h);
            }
            if (!(test_rel_err(g, fd, dim) <= 1e-7))
                fail_msg("shape %zu: gradient vs differences %.3g", k, test_rel_err(g, fd, dim));
        }
        hnn_net_destroy(net);
    }
}

static void test_hessian_and_field_jacobian_match_central_differences(void **state)
{
    size_t k, i, t;
    test_rng rng = {2};
    (void)state;
    for (k = 0; k < TEST_COUNT(shapes); k++) {
        hnn_net *hnn = feature_net(&shapes[k], HNN_NET_HAMILTONIAN, 16, 10 + k);
        hnn_net *mlp = feature_net(&shapes[k], HNN_NET_FIELD, 16, 20 + k);
        const size_t dim = 2 * shapes[k].dof;
        double x[18], xp[18], gp[18], gm[18], hess[324], fd[324], h = 1e-5;
        random_state(&rng, dim, x);
        /* Hessian of H: differences of the exact gradient */
        assert_int_equal(hnn_net_hessian(hnn, hnn_net_workspace(hnn), x, 1, hess), HNN_OK);
        for (t = 0; t < dim; t++) {
            memcpy(xp, x, sizeof x);
            xp[t] = x[t] + h;
            assert_int_equal(hnn_net_gradient(hnn, hnn_net_workspace(hnn), xp, 1, NULL, gp), HNN_OK);
            xp[t] = x[t] - h;
            assert_int_equal(hnn_net_gradient(hnn, hnn_net_workspace(hnn), xp, 1, NULL, gm), HNN_OK);
            for (i = 0; i < dim; i++)
                fd[i * dim + t] = (gp[i] - gm[i]) / (2 * h);
        }
        if (!(test_rel_err(hess, fd, dim * dim) <= 1e-6))
            fail_msg("shape %zu: Hessian vs differences %.3g", k, test_rel_err(hess, fd, dim * dim));
        /* a direct-field net's Jacobian: differences of its field */
        assert_int_equal(hnn_net_field_jacobian(mlp, hnn_net_workspace(mlp), x, 1, hess), HNN_OK);
        for (t = 0; t < dim; t++) {
            memcpy(xp, x, sizeof x);
            xp[t] = x[t] + h;
            assert_int_equal(hnn_net_field(mlp, hnn_net_workspace(mlp), xp, 1, gp), HNN_OK);
            xp[t] = x[t] - h;
            assert_int_equal(hnn_net_field(mlp, hnn_net_workspace(mlp), xp, 1, gm), HNN_OK);
            for (i = 0; i < dim; i++)
                fd[i * dim + t] = (gp[i] - gm[i]) / (2 * h);
        }
        if (!(test_rel_err(hess, fd, dim * dim) <= 1e-6))
            fail_msg("shape %zu: field Jacobian vs differences %.3g", k,
                     test_rel_err(hess, fd, dim * dim));
        hnn_net_destroy(hnn);
        hnn_net_destroy(mlp);
    }
}

/* Loss over a small batch as a function of the parameters. */
static double loss_at(hnn_net *net, hnn_loss_workspace *lw, const double *x, const double *y,
                      size_t count)
{
    double loss;
    assert_int_equal(hnn_loss_mse(net, lw, x, y, count, &loss, NULL), HNN_OK);
    return loss;
}

static void test_loss_gradient_matches_central_differences(void **state)
{
    const hnn_net_kind kinds[2] = {HNN_NET_HAMILTONIAN, HNN_NET_FIELD};
    size_t k, c, i;
    test_rng rng = {3};
    (void)state;
    for (k = 0; k < TEST_COUNT(shapes); k++) {
        for (c = 0; c < 2; c++) {
            hnn_net *net = feature_net(&shapes[k], kinds[c], 6, 30 + k);
            const size_t dim = 2 * shapes[k].dof, count = 5, np = hnn_net_param_count(net);
            hnn_loss_workspace *lw = NULL;
            double x[5 * 18], y[5 * 18], *p = malloc(np * sizeof *p), *g = malloc(np * sizeof *g);
            double *fd = malloc(np * sizeof *fd), loss, h = 1e-6;
            assert_true(p && g && fd);
            test_fill(&rng, x, count * dim, -1.5, 1.5);
            test_fill(&rng, y, count * dim, -1.0, 1.0);
            assert_int_equal(hnn_loss_workspace_create(net, &lw, NULL), HNN_OK);
            assert_int_equal(hnn_loss_mse(net, lw, x, y, count, &loss, g), HNN_OK);
            assert_int_equal(hnn_net_params_get(net, p, np), HNN_OK);
            for (i = 0; i < np; i++) {
                const double keep = p[i];
                p[i] = keep + h;
                assert_int_equal(hnn_net_params_set(net, p, np), HNN_OK);
                fd[i] = loss_at(net, lw, x, y, count);
                p[i] = keep - h;
                assert_int_equal(hnn_net_params_set(net, p, np), HNN_OK);
                fd[i] = (fd[i] - loss_at(net, lw, x, y, count)) / (2 * h);
                p[i] = keep;
            }
            if (!(test_rel_err(g, fd, np) <= 1e-6))
                fail_msg("shape %zu kind %zu: loss gradient vs differences %.3g", k, c,
                         test_rel_err(g, fd, np));
            hnn_loss_workspace_destroy(lw);
            free(p), free(g), free(fd);
            hnn_net_destroy(net);
        }
    }
}

/* Moves every body by the same vector (and, for rotations, turns every position and
 * momentum by the same angle about the origin). */
static void move_rigidly(const shape *sh, const double *x, double angle, const double *shift,
                         double *out)
{
    const size_t n = sh->dof, d = n / sh->bodies;
    size_t b, c;
    memcpy(out, x, 2 * n * sizeof *x);
    for (b = 0; b < sh->bodies; b++) {
        if (d == 2) {
            const double cs = cos(angle), sn = sin(angle);
            double *q = out + 2 * b, *p = out + n + 2 * b;
            const double qx = q[0], qy = q[1], px = p[0], py = p[1];
            q[0] = cs * qx - sn * qy, q[1] = sn * qx + cs * qy;
            p[0] = cs * px - sn * py, p[1] = sn * px + cs * py;
        }
        for (c = 0; c < d; c++)
            out[b * d + c] += shift[c];
    }
}

/* {P_c, H} = -sum_b dH/dq_(b,c) and, in the plane, {L, H} = sum_b (q_b x dH/dq_b + p_b x dH/dp_b)
 * (up to sign conventions: both vanish exactly when H is invariant). */
static void brackets(const shape *sh, const double *x, const double *g, double *P, double *L)
{
    const size_t n = sh->dof, d = n / sh->bodies;
    size_t b, c;
    *P = 0.0;
    *L = 0.0;
    for (c = 0; c < d; c++) {
        double sum = 0.0;
        for (b = 0; b < sh->bodies; b++)
            sum += g[b * d + c];
        *P = test_worse(*P, fabs(sum));
    }
    if (d == 2)
        for (b = 0; b < sh->bodies; b++) {
            const double *q = x + 2 * b, *p = x + n + 2 * b, *gq = g + 2 * b, *gp = g + n + 2 * b;
            *L += q[0] * gq[1] - q[1] * gq[0] + p[0] * gp[1] - p[1] * gp[0];
        }
    *L = fabs(*L);
}

static void test_invariance_and_noether(void **state)
{
    size_t k, trial;
    test_rng rng = {4};
    (void)state;
    for (k = 0; k < TEST_COUNT(shapes); k++) {
        const shape *sh = &shapes[k];
        const shape plain = {HNN_FEATURES_IDENTITY, 0, sh->dof, 0.0};
        hnn_net *net, *ref;
        if (sh->map != HNN_FEATURES_TRANSLATION && sh->map != HNN_FEATURES_ROTATION)
            continue; /* no symmetry promised */
        net = feature_net(sh, HNN_NET_HAMILTONIAN, 32, 40 + k);
        ref = feature_net(&plain, HNN_NET_HAMILTONIAN, 32, 40 + k);
        const size_t dim = 2 * sh->dof;
        double worst_P = 0.0, worst_L = 0.0, plain_P = 0.0, plain_L = 0.0;
        for (trial = 0; trial < 20; trial++) {
            double x[18], moved[18], g[18], shift[3], P, L, h0, h1;
            random_state(&rng, dim, x);
            test_fill(&rng, shift, 3, -50.0, 50.0);
            move_rigidly(sh, x, sh->map == HNN_FEATURES_ROTATION ? 2.0 : 0.0, shift, moved);
            h0 = energy_at(net, x);
            h1 = energy_at(net, moved);
            /* the moved state's features differ from the original's by rounding only */
            if (!(fabs(h1 - h0) <= 1e-11 * (1.0 + fabs(h0))))
                fail_msg("shape %zu: H changed by %.3g under a rigid motion", k, h1 - h0);
            assert_int_equal(hnn_net_gradient(net, hnn_net_workspace(net), x, 1, NULL, g), HNN_OK);
            brackets(sh, x, g, &P, &L);
            worst_P = test_worse(worst_P, P);
            worst_L = test_worse(worst_L, L);
            assert_int_equal(hnn_net_gradient(ref, hnn_net_workspace(ref), x, 1, NULL, g), HNN_OK);
            brackets(sh, x, g, &P, &L);
            plain_P = P > plain_P ? P : plain_P;
            plain_L = L > plain_L ? L : plain_L;
        }
        if (!(worst_P <= 1e-12))
            fail_msg("shape %zu: {P, H} up to %.3g", k, worst_P);
        if (sh->map == HNN_FEATURES_ROTATION && !(worst_L <= 1e-12))
            fail_msg("shape %zu: {L, H} up to %.3g", k, worst_L);
        /* an identity net of the same size has no reason to conserve either */
        assert_true(plain_P > 1e-3);
        if (sh->dof / sh->bodies == 2)
            assert_true(plain_L > 1e-3);
        hnn_net_destroy(net);
        hnn_net_destroy(ref);
    }
}

static void test_batches_equal_single_states(void **state)
{
    size_t k, s;
    test_rng rng = {5};
    (void)state;
    for (k = 0; k < TEST_COUNT(shapes); k++) {
        hnn_net *net = feature_net(&shapes[k], HNN_NET_HAMILTONIAN, 20, 50 + k);
        const size_t dim = 2 * shapes[k].dof, count = 150;
        double *x = malloc(count * dim * sizeof *x), *f = malloc(count * dim * sizeof *f);
        double one[18];
        assert_true(x && f);
        test_fill(&rng, x, count * dim, -2.0, 2.0);
        assert_int_equal(hnn_net_field(net, hnn_net_workspace(net), x, count, f), HNN_OK);
        for (s = 0; s < count; s++) {
            assert_int_equal(hnn_net_field(net, hnn_net_workspace(net), x + s * dim, 1, one), HNN_OK);
            assert_memory_equal(one, f + s * dim, dim * sizeof *one);
        }
        free(x), free(f);
        hnn_net_destroy(net);
    }
}

static void test_model_files_keep_the_map(void **state)
{
    size_t k, size;
    test_rng rng = {6};
    (void)state;
    for (k = 0; k < TEST_COUNT(shapes); k++) {
        hnn_net *net = feature_net(&shapes[k], HNN_NET_HAMILTONIAN, 12, 60 + k), *back = NULL;
        hnn_net_def d = hnn_net_def_default();
        unsigned char *buf;
        double x[18], g1[18], g2[18];
        const size_t dim = 2 * shapes[k].dof;
        assert_int_equal(hnn_model_save_buffer(net, NULL, NULL, NULL, 0, &size, NULL), HNN_OK);
        buf = malloc(size);
        assert_non_null(buf);
        assert_int_equal(hnn_model_save_buffer(net, NULL, NULL, buf, size, &size, NULL), HNN_OK);
        assert_int_equal(buf[8], 2); /* a feature map needs format version 2 */
        assert_int_equal(hnn_model_load_buffer(buf, size, NULL, &back, NULL, NULL, NULL), HNN_OK);
        assert_int_equal(hnn_net_get_def(back, &d), HNN_OK);
        assert_int_equal(d.features, shapes[k].map);
        assert_int_equal(d.bodies, shapes[k].bodies);
        assert_true(d.kinetic_mass == shapes[k].kinetic_mass);
        random_state(&rng, dim, x);
        assert_int_equal(hnn_net_gradient(net, hnn_net_workspace(net), x, 1, NULL, g1), HNN_OK);
        assert_int_equal(hnn_net_gradient(back, hnn_net_workspace(back), x, 1, NULL, g2), HNN_OK);
        assert_memory_equal(g1, g2, dim * sizeof *g1);
        free(buf);
        hnn_net_destroy(net);
        hnn_net_destroy(back);
    }
}

/* H = |p|^2 / (2 m) + V(q): dq/dt is exactly p / m, dp/dt depends on q only, the field source
 * says separable, and explicit leapfrog then needs no solver iterations. */
static void test_separable_nets(void **state)
{
    const shape sh = {HNN_FEATURES_POSITIONS, 0, 2, 0.5};
    hnn_net *net = feature_net(&sh, HNN_NET_HAMILTONIAN, 16, 70);
    hnn_integrator_def id = hnn_integrator_def_default();
    hnn_integrator *integ = NULL;
    hnn_field_source src = {.struct_size = sizeof src};
    double x[4] = {0.3, -0.7, 1.1, -0.4}, x2[4], f[4], f2[4], h0, h1;
    size_t i;
    (void)state;
    assert_int_equal(hnn_net_field(net, hnn_net_workspace(net), x, 1, f), HNN_OK);
    assert_true(f[0] == 1.1 / 0.5 && f[1] == -0.4 / 0.5);
    memcpy(x2, x, sizeof x);
    x2[2] = -2.0, x2[3] = 0.9; /* other momenta: the same force */
    assert_int_equal(hnn_net_field(net, hnn_net_workspace(net), x2, 1, f2), HNN_OK);
    assert_memory_equal(f + 2, f2 + 2, 2 * sizeof *f);
    {   /* the loss sees the same field, kinetic term included */
        hnn_loss_workspace *lw = NULL;
        const double y[8] = {0.5, 0.1, -0.3, 0.2, 1.0, -1.0, 0.25, 0.0};
        double xs[8], fs[8], loss, want = 0.0;
        memcpy(xs, x, sizeof x);
        memcpy(xs + 4, x2, sizeof x2);
        assert_int_equal(hnn_net_field(net, hnn_net_workspace(net), xs, 2, fs), HNN_OK);
        for (i = 0; i < 8; i++)
            want += (fs[i] - y[i]) * (fs[i] - y[i]) / 8.0;
        assert_int_equal(hnn_loss_workspace_create(net, &lw, NULL), HNN_OK);
        assert_int_equal(hnn_loss_mse(net, lw, xs, y, 2, &loss, NULL), HNN_OK);
        assert_true(fabs(loss - want) < 1e-14 * want);
        hnn_loss_workspace_destroy(lw);
    }
    assert_int_equal(hnn_field_source_net(net, hnn_net_workspace(net), &src), HNN_OK);
    assert_int_equal(src.separable, 1);
    id.method = HNN_METHOD_LEAPFROG;
    id.dim = 4;
    assert_int_equal(hnn_integrator_create(&id, &integ, NULL), HNN_OK);
    h0 = energy_at(net, x);
    for (i = 0; i < 1000; i++)
        assert_int_equal(hnn_integrator_step(integ, &src, x, 0.01), HNN_OK);
    h1 = energy_at(net, x);
    assert_true(hnn_integrator_solver_iterations(integ) == 0); /* explicit */
    assert_true(fabs(h1 - h0) < 1e-3 * (1.0 + fabs(h0)));      /* a symplectic method's bound */
    hnn_integrator_destroy(integ);
    hnn_net_destroy(net);
    {   /* a plain net is not separable */
        const shape plain = {HNN_FEATURES_IDENTITY, 0, 2, 0.5};
        net = feature_net(&plain, HNN_NET_HAMILTONIAN, 8, 71);
        assert_int_equal(hnn_field_source_net(net, hnn_net_workspace(net), &src), HNN_OK);
        assert_int_equal(src.separable, 0);
        hnn_net_destroy(net);
    }
}

static void test_bad_definitions_are_refused(void **state)
{
    struct {
        hnn_feature_map map;
        size_t bodies, dof;
        hnn_status want;
    } bad[] = {
        {HNN_FEATURES_IDENTITY, 2, 2, HNN_ERR_INVALID_ARG},    /* bodies without a map */
        {HNN_FEATURES_TRANSLATION, 1, 2, HNN_ERR_INVALID_ARG}, /* one body has no differences */
        {HNN_FEATURES_TRANSLATION, 0, 2, HNN_ERR_INVALID_ARG},
        {HNN_FEATURES_TRANSLATION, 2, 3, HNN_ERR_INVALID_ARG}, /* 3 is not a multiple of 2 */
        {HNN_FEATURES_ROTATION, 3, 9, HNN_ERR_INVALID_ARG},    /* not planar */
        {HNN_FEATURES_ROTATION, 2048, 4096, HNN_ERR_TOO_LARGE},/* millions of features */
        {(hnn_feature_map)7, 2, 4, HNN_ERR_INVALID_ARG},
        {HNN_FEATURES_POSITIONS, 2, 4, HNN_ERR_INVALID_ARG},   /* positions take no bodies */
        /* 2 x bodies wraps to 6 = n: must not pass as three planar bodies */
        {HNN_FEATURES_ROTATION, (SIZE_MAX / 2) + 4, 6, HNN_ERR_INVALID_ARG},
        {HNN_FEATURES_TRANSLATION, 8, 4, HNN_ERR_INVALID_ARG}, /* more bodies than n */
    };
    size_t k;
    (void)state;
    for (k = 0; k < TEST_COUNT(bad); k++) {
        hnn_net_def d = hnn_net_def_default();
        hnn_net *net = NULL;
        hnn_error err;
        d.features = bad[k].map;
        d.bodies = bad[k].bodies;
        d.dof = bad[k].dof;
        assert_int_equal(hnn_net_create(&d, &net, &err), bad[k].want);
        assert_null(net);
        assert_true(strlen(err.message) > 0);
    }
    {   /* kinetic terms: a mass in [1e-100, 1e100], on Hamiltonian nets only */
        const double masses[4] = {-1.0, NAN, 1e300, 1e-310};
        hnn_net_def d = hnn_net_def_default();
        hnn_net *net = NULL;
        for (k = 0; k < 4; k++) {
            d.kinetic_mass = masses[k];
            assert_int_equal(hnn_net_create(&d, &net, NULL), HNN_ERR_INVALID_ARG);
        }
        d.kinetic_mass = -0.0; /* "none", stored as +0.0: one encoding */
        assert_int_equal(hnn_net_create(&d, &net, NULL), HNN_OK);
        assert_int_equal(hnn_net_get_def(net, &d), HNN_OK);
        assert_false(signbit(d.kinetic_mass));
        hnn_net_destroy(net);
        d.kinetic_mass = 1.0;
        d.kind = HNN_NET_FIELD;
        assert_int_equal(hnn_net_create(&d, &net, NULL), HNN_ERR_INVALID_ARG);
        assert_null(net);
    }
}

/* A loss workspace made for a plain net must not serve a net of the same n and widths whose
 * first layer reads features: its input block and adjoints are larger (a heap overflow once). */
static void test_loss_workspace_knows_the_feature_map(void **state)
{
    const shape plain = {HNN_FEATURES_IDENTITY, 0, 8, 0.0}, rot = {HNN_FEATURES_ROTATION, 4, 8, 0.0};
    hnn_net *a = feature_net(&plain, HNN_NET_HAMILTONIAN, 4, 1);
    hnn_net *b = feature_net(&rot, HNN_NET_HAMILTONIAN, 4, 1);
    hnn_loss_workspace *lw = NULL;
    double x[16] = {0}, y[16] = {0}, loss;
    (void)state;
    x[2] = 1.0, x[5] = 2.0, x[6] = -1.0;
    assert_int_equal(hnn_loss_workspace_create(a, &lw, NULL), HNN_OK);
    assert_int_equal(hnn_loss_mse(b, lw, x, y, 1, &loss, NULL), HNN_ERR_SIZE_MISMATCH);
    assert_int_equal(hnn_loss_mse(a, lw, x, y, 1, &loss, NULL), HNN_OK);
    hnn_loss_workspace_destroy(lw);
    hnn_net_destroy(a);
    hnn_net_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradient_matches_central_differences),
        cmocka_unit_test(test_hessian_and_field_jacobian_match_central_differences),
        cmocka_unit_test(test_loss_gradient_matches_central_differences),
        cmocka_unit_test(test_invariance_and_noether),
        cmocka_unit_test(test_batches_equal_single_states),
        cmocka_unit_test(test_model_files_keep_the_map),
        cmocka_unit_test(test_separable_nets),
        cmocka_unit_test(test_bad_definitions_are_refused),
        cmocka_unit_test(test_loss_workspace_knows_the_feature_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
