/* The activations (hnn_activation): each one's values and first two derivatives against
 * closed forms written here from the C library, every engine (dual, adjoint, Hessian, both
 * training gradients) against central differences, the two paths against each other, the
 * refusals (ReLU for Hamiltonian nets, unknown values, workspaces of another activation),
 * extreme pre-activations, and training. */
#include "test_util.h"

#include <stdio.h>

static const hnn_activation SMOOTH[] = {HNN_ACTIVATION_TANH, HNN_ACTIVATION_SOFTPLUS,
                                        HNN_ACTIVATION_SINE, HNN_ACTIVATION_SILU};

/* ---- closed forms, independent of the library's ------------------------------------- */

static double logistic(double z)
{
    return 1.0 / (1.0 + exp(-z));
}

/* sigma^(order)(z), order 0, 1 or 2, for |z| < 30 (where the plain formulas are accurate). */
static double sigma(hnn_activation act, int order, double z)
{
    const double p = logistic(z);
    switch (act) {
    case HNN_ACTIVATION_TANH:
        return order == 0 ? tanh(z)
               : order == 1 ? 1.0 / (cosh(z) * cosh(z))
                            : -2.0 * tanh(z) / (cosh(z) * cosh(z));
    case HNN_ACTIVATION_SOFTPLUS:
        return order == 0 ? log1p(exp(z)) : order == 1 ? p : exp(-z) * p * p;
    case HNN_ACTIVATION_SINE:
        return order == 0 ? sin(z) : order == 1 ? cos(z) : -sin(z);
    case HNN_ACTIVATION_SILU:
        return order == 0 ? z * p
               : order == 1 ? p + z * p * (1.0 - p)
                            : p * (1.0 - p) * (2.0 + z * (1.0 - 2.0 * p));
    default: /* ReLU */
        return order == 0 ? (z > 0.0 ? z : 0.0) : order == 1 ? (z > 0.0 ? 1.0 : 0.0) : 0.0;
    }
}

static hnn_net *make_mapped_net(hnn_net_kind kind, hnn_activation act, hnn_gradient_path path,
                                size_t dof, size_t depth, const size_t *widths, uint64_t seed,
                                hnn_feature_map features, size_t bodies)
{
    hnn_net_def def = hnn_net_def_default();
    hnn_net *net = NULL;
    hnn_error err;
    size_t l;
    def.kind = kind;
    def.activation = act;
    def.path = path;
    def.dof = dof;
    def.depth = depth;
    for (l = 0; l < depth; l++)
        def.widths[l] = widths[l];
    def.seed = seed;
    def.features = features;
    def.bodies = bodies;
    if (hnn_net_create(&def, &net, &err) != HNN_OK)
        fail_msg("hnn_net_create: %s", err.message);
    return net;
}

static hnn_net *make_net(hnn_net_kind kind, hnn_activation act, hnn_gradient_path path,
                         size_t dof, size_t depth, const size_t *widths, uint64_t seed)
{
    return make_mapped_net(kind, act, path, dof, depth, widths, seed, HNN_FEATURES_IDENTITY, 0);
}

/* ---- one hidden layer: H, grad H and the Hessian by hand ------------------------------ */

/* H = sum_j w_j sigma(W_j x + b_j) + c for a 2-input, 3-neuron net, its gradient and
 * Hessian, from the 13 parameters in PyTorch order (W 3 x 2, b, w, c). */
static void by_hand(hnn_activation act, const double *p, const double *x, double *H,
                    double grad[2], double hess[4])
{
    size_t j, k, m;
    *H = p[12];
    for (k = 0; k < 2; k++)
        grad[k] = hess[2 * k] = hess[2 * k + 1] = 0.0;
    for (j = 0; j < 3; j++) {
        const double z = p[2 * j] * x[0] + p[2 * j + 1] * x[1] + p[6 + j], w = p[9 + j];
        *H += w * sigma(act, 0, z);
        for (k = 0; k < 2; k++) {
            grad[k] += w * sigma(act, 1, z) * p[2 * j + k];
            for (m = 0; m < 2; m++)
                hess[2 * k + m] += w * sigma(act, 2, z) * p[2 * j + k] * p[2 * j + m];
        }
    }
}

static void test_values_and_derivatives_match_closed_forms(void **state)
{
    const size_t width = 3;
    const hnn_gradient_path paths[2] = {HNN_PATH_DUAL, HNN_PATH_ADJOINT};
    test_rng rng = {42};
    size_t a, pi, trial;
    (void)state;
    for (a = 0; a < TEST_COUNT(SMOOTH); a++) {
        for (pi = 0; pi < 2; pi++) {
            hnn_net *net = make_net(HNN_NET_HAMILTONIAN, SMOOTH[a], paths[pi], 1, 1, &width, 1);
            hnn_workspace *ws = hnn_net_workspace(net);
            double p[13], x[2], H, grad[2], hess[4], H0, g0[2], h0[4];
            double worst = 0.0;
            assert_int_equal(hnn_net_param_count(net), 13);
            for (trial = 0; trial < 20; trial++) {
                test_fill(&rng, p, 13, -2.0, 2.0);
                test_fill(&rng, x, 2, -3.0, 3.0);
                assert_int_equal(hnn_net_params_set(net, p, 13), HNN_OK);
                assert_int_equal(hnn_net_gradient(net, ws, x, 1, &H, grad), HNN_OK);
                assert_int_equal(hnn_net_hessian(net, ws, x, 1, hess), HNN_OK);
                by_hand(SMOOTH[a], p, x, &H0, g0, h0);
                worst = test_worse(worst, fabs(H - H0) / (1.0 + fabs(H0)));
                worst = test_worse(worst, test_rel_err(grad, g0, 2));
                worst = test_worse(worst, test_rel_err(hess, h0, 4));
            }
            if (!(worst <= 1e-12)) /* sums of terms up to ~10 that cancel */
                fail_msg("activation %d, path %d: %.3g from the closed forms", (int)SMOOTH[a],
                         (int)paths[pi], worst);
            hnn_net_destroy(net);
        }
    }
}

/* sigma, sigma' and sigma'' through a net that is sigma itself (H = sigma(q): W = [1, 0],
 * b = 0, w = 1, c = 0, so H, dH/dq and the Hessian's corner are computed exactly from them)
 * against long double closed forms, over [-40, 40] and out to +-700. The bound is 4 ulp of
 * the larger of the value and its terms' size (where a derivative crosses zero, 1 + z m and
 * 2 + z (m - p) cancel). */
static void test_vector_softplus_and_silu_within_four_ulp(void **state)
{
    const size_t width = 1;
    const double p5[5] = {1.0, 0.0, 0.0, 1.0, 0.0};
    const hnn_activation acts[2] = {HNN_ACTIVATION_SOFTPLUS, HNN_ACTIVATION_SILU};
    size_t a, i;
    (void)state;
    for (a = 0; a < 2; a++) {
        hnn_net *net = make_net(HNN_NET_HAMILTONIAN, acts[a], HNN_PATH_AUTO, 1, 1, &width, 1);
        hnn_workspace *ws = hnn_net_workspace(net);
        double worst = 0.0;
        assert_int_equal(hnn_net_params_set(net, p5, 5), HNN_OK);
        for (i = 0; i <= 20000; i++) {
            const double z = i < 16001 ? -40.0 + 0.005 * (double)i : -700.0 + 0.35 * (double)(i - 16001);
            const double x[2] = {z, 0.0};
            const long double zl = z, p = 1.0L / (1.0L + expl(-zl)), m = 1.0L / (1.0L + expl(zl));
            long double want[3], size[3];
            double H, g[2], h[4], got[3];
            int k;
            assert_int_equal(hnn_net_gradient(net, ws, x, 1, &H, g), HNN_OK);
            assert_int_equal(hnn_net_hessian(net, ws, x, 1, h), HNN_OK);
            got[0] = H, got[1] = g[0], got[2] = h[0];
            if (acts[a] == HNN_ACTIVATION_SOFTPLUS) {
                want[0] = zl > 0 ? zl + log1pl(expl(-zl)) : log1pl(expl(zl));
                want[1] = p, want[2] = p * m;
                size[0] = fabsl(want[0]), size[1] = p, size[2] = p * m;
            } else {
                want[0] = zl * p, want[1] = p * (1.0L + zl * m);
                want[2] = p * m * (2.0L + zl * (m - p));
                size[0] = fabsl(want[0]), size[1] = p * (1.0L + fabsl(zl) * m);
                size[2] = p * m * (2.0L + fabsl(zl) * (m + p));
            }
            for (k = 0; k < 3; k++) {
                const double ulp = (double)(size[k] > 0 ? size[k] : 1e-300) * 0x1p-52;
                worst = test_worse(worst, (double)fabsl((long double)got[k] - want[k]) / ulp);
            }
        }
        if (!(worst <= 4.0))
            fail_msg("activation %d: %.2f ulp from long double", (int)acts[a], worst);
        fprintf(stderr, "activation %d: worst %.2f ulp over 20001 arguments\n", (int)acts[a], worst);
        hnn_net_destroy(net);
    }
}

/* ---- deep nets: every engine against central differences ------------------------------ */

static double energy_at(hnn_net *net, const double *x)
{
    double H;
    assert_int_equal(hnn_net_energy(net, hnn_net_workspace(net), x, 1, &H), HNN_OK);
    return H;
}

/* grad H and the Hessian of state x against central differences of H and of grad H. */
static double derivative_error(hnn_net *net, const double *x0)
{
    enum { DIM = 4 };
    const double h = 1e-5;
    hnn_workspace *ws = hnn_net_workspace(net);
    double x[DIM], grad[DIM], hess[DIM * DIM], fd[DIM], fdh[DIM * DIM], gp[DIM], gm[DIM];
    double worst;
    size_t i, k;
    memcpy(x, x0, sizeof x);
    assert_int_equal(hnn_net_gradient(net, ws, x, 1, NULL, grad), HNN_OK);
    assert_int_equal(hnn_net_hessian(net, ws, x, 1, hess), HNN_OK);
    for (i = 0; i < DIM; i++) {
        x[i] = x0[i] + h;
        fd[i] = energy_at(net, x);
        assert_int_equal(hnn_net_gradient(net, ws, x, 1, NULL, gp), HNN_OK);
        x[i] = x0[i] - h;
        fd[i] = (fd[i] - energy_at(net, x)) / (2.0 * h);
        assert_int_equal(hnn_net_gradient(net, ws, x, 1, NULL, gm), HNN_OK);
        x[i] = x0[i];
        for (k = 0; k < DIM; k++) /* column i: d grad H / dx_i */
            fdh[k * DIM + i] = (gp[k] - gm[k]) / (2.0 * h);
    }
    worst = test_rel_err(grad, fd, DIM);
    return test_worse(worst, test_rel_err(hess, fdh, DIM * DIM));
}

/* The loss gradient against central differences of the loss, along every parameter. */
static double loss_gradient_error(hnn_net *net, const double *x, const double *y, size_t count)
{
    const size_t np = hnn_net_param_count(net);
    const double h = 1e-6;
    hnn_loss_workspace *lw = NULL;
    double *p = malloc(np * sizeof *p), *g = malloc(np * sizeof *g), *fd = malloc(np * sizeof *fd);
    double loss, lp, lm, err;
    size_t i;
    assert_int_equal(hnn_loss_workspace_create(net, &lw, NULL), HNN_OK);
    assert_int_equal(hnn_net_params_get(net, p, np), HNN_OK);
    assert_int_equal(hnn_loss_mse(net, lw, x, y, count, &loss, g), HNN_OK);
    for (i = 0; i < np; i++) {
        const double keep = p[i];
        p[i] = keep + h;
        assert_int_equal(hnn_net_params_set(net, p, np), HNN_OK);
        assert_int_equal(hnn_loss_mse(net, lw, x, y, count, &lp, NULL), HNN_OK);
        p[i] = keep - h;
        assert_int_equal(hnn_net_params_set(net, p, np), HNN_OK);
        assert_int_equal(hnn_loss_mse(net, lw, x, y, count, &lm, NULL), HNN_OK);
        p[i] = keep;
        fd[i] = (lp - lm) / (2.0 * h);
    }
    assert_int_equal(hnn_net_params_set(net, p, np), HNN_OK);
    err = test_rel_err(g, fd, np);
    hnn_loss_workspace_destroy(lw);
    free(p);
    free(g);
    free(fd);
    return err;
}

static void test_every_engine_against_central_differences(void **state)
{
    enum { COUNT = 5, DIM = 4 };
    const size_t widths[2] = {7, 5};
    const hnn_gradient_path paths[2] = {HNN_PATH_DUAL, HNN_PATH_ADJOINT};
    test_rng rng = {7};
    double x[COUNT * DIM], y[COUNT * DIM];
    size_t a, pi, s, map;
    (void)state;
    test_fill(&rng, x, COUNT * DIM, -1.5, 1.5);
    test_fill(&rng, y, COUNT * DIM, -1.0, 1.0);
    for (a = 0; a < TEST_COUNT(SMOOTH); a++) {
        for (pi = 0; pi < 4; pi++) { /* each path, on the states and on a feature map */
            map = pi / 2;
            hnn_net *net = make_mapped_net(HNN_NET_HAMILTONIAN, SMOOTH[a], paths[pi % 2], 2, 2,
                                           widths, 11, map ? HNN_FEATURES_TRANSLATION
                                                           : HNN_FEATURES_IDENTITY, map ? 2 : 0);
            double worst = 0.0, lg;
            assert_int_equal(hnn_net_gradient_path(net, 0), paths[pi % 2]);
            assert_int_equal(hnn_net_gradient_path(net, 1), paths[pi % 2]);
            for (s = 0; s < COUNT; s++)
                worst = test_worse(worst, derivative_error(net, x + s * DIM));
            lg = loss_gradient_error(net, x, y, COUNT);
            if (!(worst <= 1e-7) || !(lg <= 1e-7))
                fail_msg("activation %d, path %d, map %zu: grad H and Hessian %.3g, loss "
                         "gradient %.3g from central differences", (int)SMOOTH[a],
                         (int)paths[pi % 2], map, worst, lg);
            hnn_net_destroy(net);
        }
    }
}

/* The two paths give the same H, grad H, loss and loss gradient to rounding, and a batch the
 * bits of its states one by one, for every activation. */
static void test_paths_agree_and_batches_match_single_states(void **state)
{
    enum { COUNT = 37, DIM = 6 };
    const size_t widths[2] = {16, 12};
    test_rng rng = {9};
    double x[COUNT * DIM], y[COUNT * DIM], g[2][COUNT * DIM], H[2][COUNT], one[DIM], h1;
    size_t a, pi, s;
    (void)state;
    test_fill(&rng, x, COUNT * DIM, -2.0, 2.0);
    test_fill(&rng, y, COUNT * DIM, -1.0, 1.0);
    for (a = 0; a < TEST_COUNT(SMOOTH); a++) {
        double loss[2], *lg[2];
        size_t np = 0;
        for (pi = 0; pi < 2; pi++) {
            const hnn_gradient_path path = pi == 0 ? HNN_PATH_DUAL : HNN_PATH_ADJOINT;
            hnn_net *net = make_net(HNN_NET_HAMILTONIAN, SMOOTH[a], path, 3, 2, widths, 5);
            hnn_workspace *ws = hnn_net_workspace(net);
            hnn_loss_workspace *lw = NULL;
            np = hnn_net_param_count(net);
            lg[pi] = malloc(np * sizeof(double));
            assert_int_equal(hnn_net_gradient(net, ws, x, COUNT, H[pi], g[pi]), HNN_OK);
            for (s = 0; s < COUNT; s += 6) {
                assert_int_equal(hnn_net_gradient(net, ws, x + s * DIM, 1, &h1, one), HNN_OK);
                assert_memory_equal(one, g[pi] + s * DIM, sizeof one);
                assert_memory_equal(&h1, &H[pi][s], sizeof h1);
            }
            assert_int_equal(hnn_loss_workspace_create(net, &lw, NULL), HNN_OK);
            assert_int_equal(hnn_loss_mse(net, lw, x, y, COUNT, &loss[pi], lg[pi]), HNN_OK);
            hnn_loss_workspace_destroy(lw);
            hnn_net_destroy(net);
        }
        if (!(test_rel_err(g[1], g[0], COUNT * DIM) <= 1e-13) ||
            !(test_rel_err(H[1], H[0], COUNT) <= 1e-13) ||
            !(fabs(loss[1] - loss[0]) <= 1e-13 * loss[0]) ||
            !(test_rel_err(lg[1], lg[0], np) <= 1e-12))
            fail_msg("activation %d: the adjoint path differs from the dual path",
                     (int)SMOOTH[a]);
        free(lg[0]);
        free(lg[1]);
    }
}

/* ---- direct-field nets, ReLU included ------------------------------------------------- */

static void test_field_nets_train_and_differentiate_with_every_activation(void **state)
{
    enum { COUNT = 6, DIM = 4 };
    const size_t widths[2] = {9, 6};
    const double h = 1e-6;
    test_rng rng = {13};
    double x[COUNT * DIM], y[COUNT * DIM];
    hnn_activation act;
    (void)state;
    test_fill(&rng, x, COUNT * DIM, -1.5, 1.5);
    test_fill(&rng, y, COUNT * DIM, -1.0, 1.0);
    for (act = HNN_ACTIVATION_TANH; act <= HNN_ACTIVATION_RELU; act++) {
        hnn_net *net = make_net(HNN_NET_FIELD, act, HNN_PATH_AUTO, 2, 2, widths, 17);
        hnn_workspace *ws = hnn_net_workspace(net);
        double jac[DIM * DIM], fd[DIM * DIM], fp[DIM], fm[DIM], xs[DIM], lg;
        size_t i, k;
        memcpy(xs, x, sizeof xs);
        assert_int_equal(hnn_net_field_jacobian(net, ws, xs, 1, jac), HNN_OK);
        for (i = 0; i < DIM; i++) {
            xs[i] = x[i] + h;
            assert_int_equal(hnn_net_field(net, ws, xs, 1, fp), HNN_OK);
            xs[i] = x[i] - h;
            assert_int_equal(hnn_net_field(net, ws, xs, 1, fm), HNN_OK);
            xs[i] = x[i];
            for (k = 0; k < DIM; k++)
                fd[k * DIM + i] = (fp[k] - fm[k]) / (2.0 * h);
        }
        lg = loss_gradient_error(net, x, y, COUNT);
        if (!(test_rel_err(jac, fd, DIM * DIM) <= 1e-7) || !(lg <= 1e-6))
            fail_msg("field net, activation %d: Jacobian %.3g, loss gradient %.3g from central "
                     "differences", (int)act, test_rel_err(jac, fd, DIM * DIM), lg);
        hnn_net_destroy(net);
    }
}

static void test_relu_hamiltonian_and_unknown_activations_are_refused(void **state)
{
    hnn_net_def def = hnn_net_def_default();
    hnn_net *net = NULL;
    hnn_error err;
    (void)state;
    def.activation = HNN_ACTIVATION_RELU;
    assert_int_equal(hnn_net_create(&def, &net, &err), HNN_ERR_INVALID_ARG);
    assert_null(net);
    assert_non_null(strstr(err.message, "ReLU"));
    assert_non_null(strstr(err.message, "second derivative"));
    def.activation = (hnn_activation)5;
    assert_int_equal(hnn_net_create(&def, &net, &err), HNN_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "unknown activation 5"));
    def.activation = (hnn_activation)-1;
    assert_int_equal(hnn_net_create(&def, &net, &err), HNN_ERR_INVALID_ARG);
    assert_null(net);
}

/* A workspace holds what its net's activation needs: one made for a tanh net (which keeps no
 * derivative blocks on the adjoint path) is refused by a softplus net of the same shape,
 * never run as tanh. */
static void test_workspaces_of_tanh_nets_are_refused_by_other_activations(void **state)
{
    const size_t widths[2] = {8, 8};
    hnn_net *tanh_net = make_net(HNN_NET_HAMILTONIAN, HNN_ACTIVATION_TANH, HNN_PATH_ADJOINT, 2,
                                 2, widths, 1);
    hnn_net *soft = make_net(HNN_NET_HAMILTONIAN, HNN_ACTIVATION_SOFTPLUS, HNN_PATH_ADJOINT, 2,
                             2, widths, 1);
    hnn_loss_workspace *lw = NULL;
    hnn_workspace *ws = NULL;
    double x[4] = {0.1, 0.2, 0.3, 0.4}, y[4] = {0}, loss, grad[4], hess[16];
    (void)state;
    assert_int_equal(hnn_loss_workspace_create(tanh_net, &lw, NULL), HNN_OK);
    assert_int_equal(hnn_loss_mse(soft, lw, x, y, 1, &loss, NULL), HNN_ERR_SIZE_MISMATCH);
    assert_int_equal(hnn_workspace_create(tanh_net, &ws, NULL), HNN_OK);
    assert_int_equal(hnn_net_gradient(soft, ws, x, 1, NULL, grad), HNN_ERR_SIZE_MISMATCH);
    assert_int_equal(hnn_net_hessian(soft, ws, x, 1, hess), HNN_ERR_SIZE_MISMATCH);
    hnn_workspace_destroy(ws);
    hnn_loss_workspace_destroy(lw);
    hnn_net_destroy(tanh_net);
    hnn_net_destroy(soft);
}

/* Pre-activations of +-800 (e^800 overflows): values and derivatives stay finite and right:
 * softplus(z) = z and SiLU(z) = z far right, 0 far left, slopes 1 and 0. */
static void test_extreme_pre_activations_stay_finite(void **state)
{
    const size_t width = 1;
    const hnn_activation acts[3] = {HNN_ACTIVATION_SOFTPLUS, HNN_ACTIVATION_SILU,
                                    HNN_ACTIVATION_TANH};
    /* W = [1, 0], b = 0, w = 1, c = 0: H = sigma(q) */
    const double p[5] = {1.0, 0.0, 0.0, 1.0, 0.0};
    size_t a, side;
    (void)state;
    for (a = 0; a < 3; a++) {
        hnn_net *net = make_net(HNN_NET_HAMILTONIAN, acts[a], HNN_PATH_AUTO, 1, 1, &width, 1);
        hnn_workspace *ws = hnn_net_workspace(net);
        hnn_loss_workspace *lw = NULL;
        assert_int_equal(hnn_net_params_set(net, p, 5), HNN_OK);
        assert_int_equal(hnn_loss_workspace_create(net, &lw, NULL), HNN_OK);
        for (side = 0; side < 2; side++) {
            const double q = side == 0 ? 800.0 : -800.0;
            const double x[2] = {q, 0.0}, y[2] = {0.0, 0.0};
            const double want_h = acts[a] == HNN_ACTIVATION_TANH ? (q > 0 ? 1.0 : -1.0)
                                  : q > 0                        ? q
                                                                 : 0.0;
            const double want_slope = acts[a] == HNN_ACTIVATION_TANH ? 0.0 : q > 0 ? 1.0 : 0.0;
            double H, grad[2], hess[4], loss, lg[5];
            assert_int_equal(hnn_net_gradient(net, ws, x, 1, &H, grad), HNN_OK);
            assert_int_equal(hnn_net_hessian(net, ws, x, 1, hess), HNN_OK);
            assert_int_equal(hnn_loss_mse(net, lw, x, y, 1, &loss, lg), HNN_OK);
            assert_true(fabs(H - want_h) <= 1e-12 * (1.0 + fabs(want_h)));
            assert_true(fabs(grad[0] - want_slope) <= 1e-12 && grad[1] == 0.0);
            assert_true(test_all_finite(hess, 4) && fabs(hess[0]) <= 1e-12);
            assert_true(isfinite(loss) && test_all_finite(lg, 5));
        }
        hnn_loss_workspace_destroy(lw);
        hnn_net_destroy(net);
    }
}

/* Each smooth activation learns the spring: 300 Adam steps cut the loss tenfold. */
static void test_every_activation_trains(void **state)
{
    const size_t widths[2] = {16, 16};
    hnn_system_data_def dd = hnn_system_data_def_default();
    hnn_dataset *data = NULL;
    size_t a;
    (void)state;
    dd.system = HNN_SYSTEM_SPRING;
    dd.count = 256;
    assert_int_equal(hnn_dataset_system(&dd, &data, NULL), HNN_OK);
    for (a = 0; a < TEST_COUNT(SMOOTH); a++) {
        hnn_net *net = make_net(HNN_NET_HAMILTONIAN, SMOOTH[a], HNN_PATH_AUTO, 1, 2, widths, 2);
        hnn_optimizer_def od = hnn_optimizer_def_default(HNN_OPT_ADAM);
        hnn_train_def td = hnn_train_def_default();
        hnn_train_result res = {.struct_size = sizeof res};
        hnn_optimizer *opt = NULL;
        hnn_loss_workspace *lw = NULL;
        double before;
        od.lr = 1e-2;
        td.steps = 300;
        td.batch_size = 64;
        assert_int_equal(hnn_loss_workspace_create(net, &lw, NULL), HNN_OK);
        assert_int_equal(hnn_loss_mse(net, lw, hnn_dataset_states(data),
                                      hnn_dataset_derivatives(data), hnn_dataset_count(data),
                                      &before, NULL), HNN_OK);
        hnn_loss_workspace_destroy(lw);
        assert_int_equal(hnn_optimizer_create(&od, hnn_net_param_count(net), &opt, NULL), HNN_OK);
        assert_int_equal(hnn_train(net, opt, data, NULL, &td, &res, NULL), HNN_OK);
        if (!(res.train_loss <= 0.1 * before))
            fail_msg("activation %d: loss %.3g -> %.3g", (int)SMOOTH[a], before, res.train_loss);
        hnn_optimizer_destroy(opt);
        hnn_net_destroy(net);
    }
    hnn_dataset_destroy(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_derivatives_match_closed_forms),
        cmocka_unit_test(test_vector_softplus_and_silu_within_four_ulp),
        cmocka_unit_test(test_every_engine_against_central_differences),
        cmocka_unit_test(test_paths_agree_and_batches_match_single_states),
        cmocka_unit_test(test_field_nets_train_and_differentiate_with_every_activation),
        cmocka_unit_test(test_relu_hamiltonian_and_unknown_activations_are_refused),
        cmocka_unit_test(test_workspaces_of_tanh_nets_are_refused_by_other_activations),
        cmocka_unit_test(test_extreme_pre_activations_stay_finite),
        cmocka_unit_test(test_every_activation_trains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
