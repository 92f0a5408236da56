/* Tests for the net room: exact dual-number derivatives, structure of the Hamiltonian field,
 * batching, determinism, parameter order, allocator hooks and bad input. */
#define _POSIX_C_SOURCE 200112L /* posix_memalign */
#include "test_util.h"

#include <stdio.h>

typedef struct shape {
    size_t dof, depth, widths[4];
} shape;

/* Shapes spanning n = 1..3, widths 1..64 and 1..4 hidden layers. */
static const shape shapes[] = {
    {1, 1, {1}},
    {1, 2, {16, 8}},
    {2, 1, {64}},
    {2, 3, {5, 32, 3}},
    {3, 4, {7, 64, 2, 12}},
    {3, 2, {128, 128}},
};

static hnn_net *make_net(const shape *sh, hnn_net_kind kind, uint64_t seed)
{
    return test_make_net(kind, sh->dof, sh->depth, sh->widths, seed);
}

/* Scales all parameters so the random net is far from linear in the test region:
 * otherwise a derivative test could pass on an almost-affine function. */
static void roughen(hnn_net *net, double factor)
{
    size_t count = hnn_net_param_count(net), i;
    double *p = malloc(count * sizeof *p);
    assert_non_null(p);
    assert_int_equal(hnn_net_params_get(net, p, count), HNN_OK);
    for (i = 0; i < count; i++)
        p[i] *= factor;
    assert_int_equal(hnn_net_params_set(net, p, count), HNN_OK);
    free(p);
}

static double energy_at(hnn_net *net, const double *x)
{
    double h;
    assert_int_equal(hnn_net_energy(net, hnn_net_workspace(net), x, 1, &h), HNN_OK);
    return h;
}

static void test_gradient_matches_central_differences(void **state)
{
    size_t si;
    test_rng rng = {42};
    (void)state;
    for (si = 0; si < TEST_COUNT(shapes); si++) {
        hnn_net *net = make_net(&shapes[si], HNN_NET_HAMILTONIAN, 7 + si);
        const size_t dim = 2 * shapes[si].dof;
        int trial;
        roughen(net, 1.5);
        for (trial = 0; trial < 5; trial++) {
            double x[6], g[6], fd[6], h_value, h_plain;
            size_t k;
            test_fill(&rng, x, dim, -2.0, 2.0);
            assert_int_equal(hnn_net_gradient(net, hnn_net_workspace(net), x, 1, &h_value, g), HNN_OK);
            h_plain = energy_at(net, x);
            assert_true(h_value == h_plain); /* the dual pass carries the same value */
            for (k = 0; k < dim; k++) {
                const double step = 1e-5;
                double xp[6], xm[6];
                memcpy(xp, x, sizeof x);
                memcpy(xm, x, sizeof x);
                xp[k] += step;
                xm[k] -= step;
                fd[k] = (energy_at(net, xp) - energy_at(net, xm)) / (2 * step);
            }
            if (test_rel_err(g, fd, dim) > 1e-7) {
                fprintf(stderr, "shape %zu trial %d: rel err %g\n", si, trial,
                        test_rel_err(g, fd, dim));
                fail();
            }
        }
        hnn_net_destroy(net);
    }
}

/* The Hamiltonian field is orthogonal to grad H (dH/dt = 0) and divergence-free. */
static double divergence_by_differences(hnn_net *net, const double *x, size_t dim)
{
    double div = 0.0;
    size_t k;
    for (k = 0; k < dim; k++) {
        const double step = 1e-5;
        double xp[6], xm[6], fp[6], fm[6];
        memcpy(xp, x, dim * sizeof *x);
        memcpy(xm, x, dim * sizeof *x);
        xp[k] += step;
        xm[k] -= step;
        assert_int_equal(hnn_net_field(net, hnn_net_workspace(net), xp, 1, fp), HNN_OK);
        assert_int_equal(hnn_net_field(net, hnn_net_workspace(net), xm, 1, fm), HNN_OK);
        div += (fp[k] - fm[k]) / (2 * step);
    }
    return div;
}

static void test_hamiltonian_field_conserves_and_is_divergence_free(void **state)
{
    size_t si;
    test_rng rng = {3};
    (void)state;
    for (si = 0; si < TEST_COUNT(shapes); si++) {
        hnn_net *net = make_net(&shapes[si], HNN_NET_HAMILTONIAN, 100 + si);
        const size_t dim = 2 * shapes[si].dof;
        int trial;
        roughen(net, 1.5);
        for (trial = 0; trial < 5; trial++) {
            /* H along the field, by differences of H itself (not g . f, which is 0 for any g
             * once f = J g): dH/dt = 0 to the differences' O(eps^2); a field that were not
             * this H's J grad H would move H at the rate |g| |f| */
            const double eps = 1e-4;
            double x[6], g[6], f[6], xp[6], xm[6], hp, hm, scale = 0.0, gn = 0.0, fn = 0.0;
            size_t k;
            test_fill(&rng, x, dim, -2.0, 2.0);
            assert_int_equal(hnn_net_gradient(net, hnn_net_workspace(net), x, 1, NULL, g), HNN_OK);
            assert_int_equal(hnn_net_field(net, hnn_net_workspace(net), x, 1, f), HNN_OK);
            for (k = 0; k < dim; k++) {
                xp[k] = x[k] + eps * f[k];
                xm[k] = x[k] - eps * f[k];
                gn += g[k] * g[k];
                fn += f[k] * f[k];
            }
            scale = sqrt(gn * fn);
            assert_true(scale > 0.0); /* (NaN fails) */
            assert_int_equal(hnn_net_energy(net, hnn_net_workspace(net), xp, 1, &hp), HNN_OK);
            assert_int_equal(hnn_net_energy(net, hnn_net_workspace(net), xm, 1, &hm), HNN_OK);
            assert_true(fabs((hp - hm) / (2 * eps)) <= 1e-5 * scale + 1e-12);
            assert_true(fabs(divergence_by_differences(net, x, dim)) <= 1e-7);
        }
        hnn_net_destroy(net);
    }
}

static void test_direct_field_net_has_divergence(void **state)
{
    const shape sh = {1, 2, {16, 16}};
    hnn_net *net = make_net(&sh, HNN_NET_FIELD, 5);
    test_rng rng = {9};
    double largest = 0.0;
    int trial;
    (void)state;
    for (trial = 0; trial < 10; trial++) {
        double x[2];
        test_fill(&rng, x, 2, -1.0, 1.0);
        largest = test_worse(largest, fabs(divergence_by_differences(net, x, 2)));
    }
    assert_true(largest > 1e-3); /* a generic field is not divergence-free */
    hnn_net_destroy(net);
}

/* Hessian of H and field Jacobians against central differences of the exact gradient and
 * field; a Hamiltonian net's Jacobian has zero trace (divergence) to rounding. */
static void test_second_derivatives_match_differences(void **state)
{
    size_t si;
    test_rng rng = {31};
    (void)state;
    for (si = 0; si < TEST_COUNT(shapes); si++) {
        hnn_net *hnn = make_net(&shapes[si], HNN_NET_HAMILTONIAN, 40 + si);
        hnn_net *mlp = make_net(&shapes[si], HNN_NET_FIELD, 40 + si);
        const size_t dim = 2 * shapes[si].dof;
        double x[2 * 6], hess[2 * 36], jac[2 * 36], jm[2 * 36], fd[36], fdm[36], trace = 0.0;
        size_t k, i;
        roughen(hnn, 1.5);
        test_fill(&rng, x, 2 * dim, -1.5, 1.5);
        assert_int_equal(hnn_net_hessian(hnn, hnn_net_workspace(hnn), x, 2, hess), HNN_OK);
        assert_int_equal(hnn_net_field_jacobian(hnn, hnn_net_workspace(hnn), x, 2, jac), HNN_OK);
        assert_int_equal(hnn_net_field_jacobian(mlp, hnn_net_workspace(mlp), x, 2, jm), HNN_OK);
        for (k = 0; k < dim; k++) { /* column k: derivative along x_k, second state */
            const double step = 1e-5;
            double xp[6], xm[6], gp[6], gm[6], fp[6], fm[6];
            memcpy(xp, x + dim, dim * sizeof *x);
            memcpy(xm, x + dim, dim * sizeof *x);
            xp[k] += step;
            xm[k] -= step;
            assert_int_equal(hnn_net_gradient(hnn, hnn_net_workspace(hnn), xp, 1, NULL, gp), HNN_OK);
            assert_int_equal(hnn_net_gradient(hnn, hnn_net_workspace(hnn), xm, 1, NULL, gm), HNN_OK);
            assert_int_equal(hnn_net_field(mlp, hnn_net_workspace(mlp), xp, 1, fp), HNN_OK);
            assert_int_equal(hnn_net_field(mlp, hnn_net_workspace(mlp), xm, 1, fm), HNN_OK);
            for (i = 0; i < dim; i++) {
                fd[i * dim + k] = (gp[i] - gm[i]) / (2 * step);
                fdm[i * dim + k] = (fp[i] - fm[i]) / (2 * step);
            }
        }
        assert_true(test_rel_err(hess + dim * dim, fd, dim * dim) <= 1e-7);
        assert_true(test_rel_err(jm + dim * dim, fdm, dim * dim) <= 1e-7);
        for (i = 0; i < dim; i++) {
            const size_t n = dim / 2;
            /* J grad H: row i < n is the Hessian's row n + i, row n + i minus row i */
            for (k = 0; k < dim; k++)
                assert_true(jac[i * dim + k] == (i < n ? hess[(n + i) * dim + k] : -hess[(i - n) * dim + k]));
            trace += jac[i * dim + i];
        }
        assert_true(fabs(trace) <= 1e-13 * test_max_abs(hess, dim * dim));
        assert_int_equal(hnn_net_hessian(mlp, hnn_net_workspace(mlp), x, 1, hess), HNN_ERR_WRONG_KIND);
        hnn_net_destroy(hnn);
        hnn_net_destroy(mlp);
    }
}

/* Batches of any size give bit-identical results to single states (across chunk edges). */
static void test_batch_is_bit_identical_to_single_states(void **state)
{
    const size_t count = 150; /* more than two chunks */
    size_t si;
    test_rng rng = {11};
    (void)state;
    for (si = 0; si < TEST_COUNT(shapes); si++) {
        hnn_net *hnn = make_net(&shapes[si], HNN_NET_HAMILTONIAN, si);
        hnn_net *mlp = make_net(&shapes[si], HNN_NET_FIELD, si);
        const size_t dim = 2 * shapes[si].dof;
        double *x = malloc(count * dim * sizeof *x), *g = malloc(count * dim * sizeof *g);
        double *f = malloc(count * dim * sizeof *f), *fm = malloc(count * dim * sizeof *fm);
        double *h = malloc(count * sizeof *h), *h2 = malloc(count * sizeof *h2);
        size_t s;
        test_fill(&rng, x, count * dim, -3.0, 3.0);
        assert_int_equal(hnn_net_gradient(hnn, hnn_net_workspace(hnn), x, count, h, g), HNN_OK);
        assert_int_equal(hnn_net_energy(hnn, hnn_net_workspace(hnn), x, count, h2), HNN_OK);
        assert_int_equal(hnn_net_field(hnn, hnn_net_workspace(hnn), x, count, f), HNN_OK);
        assert_int_equal(hnn_net_field(mlp, hnn_net_workspace(mlp), x, count, fm), HNN_OK);
        assert_memory_equal(h, h2, count * sizeof *h);
        for (s = 0; s < count; s++) {
            double h1, g1[6], f1[6], fm1[6];
            assert_int_equal(hnn_net_gradient(hnn, hnn_net_workspace(hnn), x + s * dim, 1, &h1, g1), HNN_OK);
            assert_int_equal(hnn_net_field(hnn, hnn_net_workspace(hnn), x + s * dim, 1, f1), HNN_OK);
            assert_int_equal(hnn_net_field(mlp, hnn_net_workspace(mlp), x + s * dim, 1, fm1), HNN_OK);
            assert_memory_equal(&h1, h + s, sizeof h1);
            assert_memory_equal(g1, g + s * dim, dim * sizeof *g1);
            assert_memory_equal(f1, f + s * dim, dim * sizeof *f1);
            assert_memory_equal(fm1, fm + s * dim, dim * sizeof *fm1);
        }
        free(x), free(g), free(f), free(fm), free(h), free(h2);
        hnn_net_destroy(hnn);
        hnn_net_destroy(mlp);
    }
}

/* Many degrees of freedom and a wide layer make the workspace use chunks smaller than 64
 * states; results are still bit-identical to single states. */
static void test_wide_nets_use_smaller_chunks_with_the_same_bits(void **state)
{
    const size_t widths[1] = {300}, dof = 200, dim = 400, count = 50;
    hnn_net *net = test_make_net(HNN_NET_HAMILTONIAN, dof, 1, widths, 8);
    double *x = malloc(count * dim * sizeof *x), *g = malloc(count * dim * sizeof *g);
    double g1[400];
    test_rng rng = {12};
    size_t s;
    (void)state;
    test_fill(&rng, x, count * dim, -1.0, 1.0);
    assert_int_equal(hnn_net_gradient(net, hnn_net_workspace(net), x, count, NULL, g), HNN_OK);
    for (s = 0; s < count; s += 7) {
        assert_int_equal(hnn_net_gradient(net, hnn_net_workspace(net), x + s * dim, 1, NULL, g1), HNN_OK);
        assert_memory_equal(g1, g + s * dim, dim * sizeof *g1);
    }
    free(x), free(g);
    hnn_net_destroy(net);
}

/* The library's own vectorised tanh, seen through a net that computes H = tanh(q), is within
 * 2 ulp of the C library's over the whole range (tiny, near the 0.625 switch, saturated). */
static double ulps(double a, double b)
{
    int64_t ia, ib;
    if (a == b)
        return 0.0;
    memcpy(&ia, &a, sizeof ia);
    memcpy(&ib, &b, sizeof ib);
    if ((ia < 0) != (ib < 0))
        return 1e300;
    return fabs((double)(ia - ib));
}

static void test_tanh_within_two_ulp(void **state)
{
    const shape sh = {1, 1, {1}};
    hnn_net *net = make_net(&sh, HNN_NET_HAMILTONIAN, 0);
    const double p[5] = {1.0, 0.0, 0.0, 1.0, 0.0}; /* W1 = [1, 0], b1 = 0, w = 1, b = 0 */
    enum { N = 20000 };
    static double x[2 * N], h[N];
    test_rng rng = {99};
    double worst = 0.0;
    size_t i;
    (void)state;
    assert_int_equal(hnn_net_params_set(net, p, 5), HNN_OK);
    for (i = 0; i < N; i++) {
        const double u = test_uniform(&rng, -1.0, 1.0);
        x[2 * i] = i % 4 == 0 ? 25.0 * u : i % 4 == 1 ? u : i % 4 == 2 ? 0.625 + 0.05 * u : 1e-300 * u;
        x[2 * i + 1] = 0.0;
    }
    x[0] = -0.0, x[2] = 0.625, x[4] = -0.625, x[6] = 22.0, x[8] = -1e300, x[10] = 4.9e-324;
    assert_int_equal(hnn_net_energy(net, hnn_net_workspace(net), x, N, h), HNN_OK);
    for (i = 0; i < N; i++)
        worst = test_worse(worst, ulps(h[i], tanh(x[2 * i])));
    fprintf(stderr, "tanh: worst error over %d arguments %.0f ulp\n", N, worst);
    assert_true(worst <= 2.0);
    hnn_net_destroy(net);
}

/* A caller's workspace gives the same bits as the net's own one. */
static void test_caller_workspace_matches_own(void **state)
{
    const shape sh = {2, 2, {32, 16}};
    hnn_net *net = make_net(&sh, HNN_NET_HAMILTONIAN, 1);
    hnn_workspace *ws = NULL;
    double x[40], g1[40], g2[40];
    test_rng rng = {5};
    (void)state;
    test_fill(&rng, x, 40, -1.0, 1.0);
    assert_int_equal(hnn_workspace_create(net, &ws, NULL), HNN_OK);
    assert_int_equal(hnn_net_gradient(net, ws, x, 10, NULL, g1), HNN_OK);
    assert_int_equal(hnn_net_gradient(net, hnn_net_workspace(net), x, 10, NULL, g2), HNN_OK);
    assert_memory_equal(g1, g2, sizeof g1);
    hnn_workspace_destroy(ws);
    hnn_workspace_destroy(NULL);
    hnn_net_destroy(net);
}

static void test_workspace_of_a_smaller_net_is_refused(void **state)
{
    const shape small = {1, 1, {4}}, big = {1, 1, {64}}, other_dof = {2, 1, {4}};
    hnn_net *a = make_net(&small, HNN_NET_HAMILTONIAN, 1);
    hnn_net *b = make_net(&big, HNN_NET_HAMILTONIAN, 1);
    hnn_net *c = make_net(&other_dof, HNN_NET_HAMILTONIAN, 1);
    hnn_workspace *ws = NULL;
    double x[4] = {0.1, 0.2, 0.3, 0.4}, g[4];
    (void)state;
    assert_int_equal(hnn_workspace_create(a, &ws, NULL), HNN_OK);
    assert_int_equal(hnn_net_gradient(b, ws, x, 1, NULL, g), HNN_ERR_SIZE_MISMATCH);
    assert_int_equal(hnn_net_gradient(c, ws, x, 1, NULL, g), HNN_ERR_SIZE_MISMATCH);
    hnn_workspace_destroy(ws);
    hnn_net_destroy(a), hnn_net_destroy(b), hnn_net_destroy(c);
}

static void test_same_seed_same_bits(void **state)
{
    const shape sh = {2, 3, {9, 17, 5}};
    hnn_net *a = make_net(&sh, HNN_NET_HAMILTONIAN, 1234);
    hnn_net *b = make_net(&sh, HNN_NET_HAMILTONIAN, 1234);
    hnn_net *c = make_net(&sh, HNN_NET_HAMILTONIAN, 1235);
    size_t count = hnn_net_param_count(a);
    double *pa = malloc(count * sizeof *pa), *pb = malloc(count * sizeof *pb);
    double *pc = malloc(count * sizeof *pc);
    (void)state;
    assert_int_equal(hnn_net_params_get(a, pa, count), HNN_OK);
    assert_int_equal(hnn_net_params_get(b, pb, count), HNN_OK);
    assert_int_equal(hnn_net_params_get(c, pc, count), HNN_OK);
    assert_memory_equal(pa, pb, count * sizeof *pa);
    assert_memory_not_equal(pa, pc, count * sizeof *pa);
    free(pa), free(pb), free(pc);
    hnn_net_destroy(a), hnn_net_destroy(b), hnn_net_destroy(c);
}

/* PyTorch's nn.Linear default: every parameter of a layer within 1/sqrt(fan_in), and
 * filling that range (so the bound is not, say, twice too tight). */
static void test_initialisation_follows_torch_bounds(void **state)
{
    const shape sh = {2, 2, {50, 30}};
    hnn_net *net = make_net(&sh, HNN_NET_HAMILTONIAN, 77);
    const size_t fan_in[3] = {4, 50, 30}, fan_out[3] = {50, 30, 1};
    size_t count = hnn_net_param_count(net), l, i, off = 0;
    double *p = malloc(count * sizeof *p);
    (void)state;
    assert_int_equal(count, 4 * 50 + 50 + 50 * 30 + 30 + 30 * 1 + 1);
    assert_int_equal(hnn_net_params_get(net, p, count), HNN_OK);
    for (l = 0; l < 3; l++) {
        const double bound = 1.0 / sqrt((double)fan_in[l]);
        const size_t n = fan_in[l] * fan_out[l];
        double largest = test_max_abs(p + off, n);
        for (i = 0; i < n + fan_out[l]; i++)
            assert_true(fabs(p[off + i]) <= bound);
        assert_true(largest > 0.9 * bound);
        off += n + fan_out[l];
    }
    free(p);
    hnn_net_destroy(net);
}

/* Parameter order is PyTorch's: W1 [out][in], b1, W2, b2. Check it by hand on n = 1,
 * one hidden layer of width 2: H = w2 . tanh(W1 x + b1) + b2. */
static void test_parameter_order_matches_hand_computation(void **state)
{
    const shape sh = {1, 1, {2}};
    hnn_net *net = make_net(&sh, HNN_NET_HAMILTONIAN, 0);
    const double p[] = {
        0.5, -0.25,  /* W1 row 0: weights from (q, p) into neuron 0 */
        1.5, 0.75,   /* W1 row 1 */
        0.1, -0.2,   /* b1 */
        2.0, -3.0,   /* W2 (1 x 2) */
        0.125,       /* b2 */
    };
    const double x[2] = {0.3, -0.7};
    double h, g[2], a0, a1, want_h, want_gq, want_gp;
    (void)state;
    assert_int_equal(hnn_net_param_count(net), TEST_COUNT(p));
    assert_int_equal(hnn_net_params_set(net, p, TEST_COUNT(p)), HNN_OK);
    assert_int_equal(hnn_net_gradient(net, hnn_net_workspace(net), x, 1, &h, g), HNN_OK);
    a0 = tanh(0.5 * x[0] - 0.25 * x[1] + 0.1);
    a1 = tanh(1.5 * x[0] + 0.75 * x[1] - 0.2);
    want_h = 2.0 * a0 - 3.0 * a1 + 0.125;
    want_gq = 2.0 * (1 - a0 * a0) * 0.5 - 3.0 * (1 - a1 * a1) * 1.5;
    want_gp = 2.0 * (1 - a0 * a0) * -0.25 - 3.0 * (1 - a1 * a1) * 0.75;
    assert_true(fabs(h - want_h) <= 1e-15);
    assert_true(fabs(g[0] - want_gq) <= 1e-15);
    assert_true(fabs(g[1] - want_gp) <= 1e-15);
    hnn_net_destroy(net);
}

static void test_params_round_trip(void **state)
{
    const shape sh = {3, 2, {13, 7}};
    hnn_net *net = make_net(&sh, HNN_NET_FIELD, 2);
    size_t count = hnn_net_param_count(net);
    double *p = malloc(count * sizeof *p), *q = malloc(count * sizeof *q);
    test_rng rng = {8};
    (void)state;
    test_fill(&rng, p, count, -1.0, 1.0);
    assert_int_equal(hnn_net_params_set(net, p, count), HNN_OK);
    assert_int_equal(hnn_net_params_get(net, q, count), HNN_OK);
    assert_memory_equal(p, q, count * sizeof *p);
    free(p), free(q);
    hnn_net_destroy(net);
}

static void test_def_round_trips_through_the_net(void **state)
{
    const shape sh = {2, 3, {4, 5, 6}};
    hnn_net *net = make_net(&sh, HNN_NET_FIELD, 99);
    hnn_net_def def = hnn_net_def_default();
    (void)state;
    assert_int_equal(hnn_net_get_def(net, &def), HNN_OK);
    assert_int_equal(def.kind, HNN_NET_FIELD);
    assert_int_equal(def.dof, 2);
    assert_int_equal(def.depth, 3);
    assert_int_equal(def.widths[2], 6);
    assert_true(def.seed == 99);
    assert_int_equal(hnn_net_dof(net), 2);
    assert_int_equal(hnn_net_dof(NULL), 0);
    assert_int_equal(hnn_net_param_count(NULL), 0);
    hnn_net_destroy(net);
}

static void test_allocator_hook_sees_every_block(void **state)
{
    test_counter counter = {0, 0, 0, -1, 0};
    hnn_net_def def = hnn_net_def_default();
    hnn_net *net = NULL;
    hnn_workspace *ws = NULL;
    double x[2] = {0.5, 0.5}, g[2];
    long allocs_after_setup;
    (void)state;
    def.allocator = test_allocator(&counter);
    assert_int_equal(hnn_net_create(&def, &net, NULL), HNN_OK);
    assert_int_equal(hnn_workspace_create(net, &ws, NULL), HNN_OK);
    assert_true(counter.allocs > 0);
    allocs_after_setup = counter.allocs;
    assert_int_equal(hnn_net_gradient(net, ws, x, 1, NULL, g), HNN_OK);
    assert_int_equal(hnn_net_field(net, hnn_net_workspace(net), x, 1, g), HNN_OK);
    assert_int_equal(counter.allocs, allocs_after_setup); /* evaluation never allocates */
    hnn_workspace_destroy(ws);
    hnn_net_destroy(net);
    assert_int_equal(counter.allocs, counter.frees);
    assert_int_equal(counter.live_bytes, 0);
}

/* An allocator that keeps its promise (alignment for double) and no more: every block starts
 * 8 bytes past a 64-byte boundary. The library aligns its numeric arrays itself; results
 * must not change and every block must come back whole (ASan checks the frees). */
typedef struct skew_alloc {
    long live;
} skew_alloc;

static void *skewed_alloc(void *user, void *ptr, size_t old_size, size_t new_size)
{
    skew_alloc *s = (skew_alloc *)user;
    void *block = NULL;
    unsigned char *raw;
    if (ptr != NULL) { /* the library never grows its blocks: free only */
        assert_int_equal(new_size, 0);
        s->live -= (long)old_size;
        raw = (unsigned char *)ptr - 8;
        assert_int_equal((uintptr_t)raw % 64, 0);
        free(raw);
        return NULL;
    }
    if (new_size == 0)
        return NULL;
    assert_int_equal(posix_memalign(&block, 64, new_size + 8), 0);
    raw = (unsigned char *)block;
    s->live += (long)new_size;
    return raw + 8;
}

static void test_results_do_not_depend_on_the_allocators_alignment(void **state)
{
    skew_alloc skew = {0};
    hnn_net_def def = hnn_net_def_default();
    hnn_net *plain = NULL, *skewed = NULL;
    double x[6] = {0.5, -0.25, 1.0, 0.0, -1.5, 2.0}, g1[6], g2[6], e1[3], e2[3];
    (void)state;
    def.seed = 3;
    assert_int_equal(hnn_net_create(&def, &plain, NULL), HNN_OK);
    def.allocator.fn = skewed_alloc;
    def.allocator.user = &skew;
    assert_int_equal(hnn_net_create(&def, &skewed, NULL), HNN_OK);
    assert_int_equal(hnn_net_gradient(plain, hnn_net_workspace(plain), x, 3, e1, g1), HNN_OK);
    assert_int_equal(hnn_net_gradient(skewed, hnn_net_workspace(skewed), x, 3, e2, g2), HNN_OK);
    assert_memory_equal(g1, g2, sizeof g1);
    assert_memory_equal(e1, e2, sizeof e1);
    hnn_net_destroy(skewed);
    hnn_net_destroy(plain);
    assert_int_equal(skew.live, 0);
}

/* A net with many degrees of freedom and narrow layers: its workspaces are sized for what
 * evaluation and the Hessian need, not for depth + 1 whole dual blocks (a 66 KB model file
 * with n = 4096, depth 16 and width 1 once asked for 9 GB per workspace buffer, now 1.6 GB).
 * Here n = 512, depth 16, width 1: one state's dual block is 1024 x 1025 doubles, and a buffer
 * holds three of them (the Hessian's reverse sweep). */
static void test_workspaces_of_wide_states_stay_small(void **state)
{
    test_counter counter = {0, 0, 0, -1, 0};
    hnn_net_def def = hnn_net_def_default();
    hnn_net *net = NULL;
    double *x, *hess;
    size_t l;
    (void)state;
    def.dof = 512;
    def.depth = 16;
    for (l = 0; l < 16; l++)
        def.widths[l] = 1;
    def.allocator = test_allocator(&counter);
    assert_int_equal(hnn_net_create(&def, &net, NULL), HNN_OK);
    /* two buffers of 3 x 1024 x 1025 doubles, plus small change; 17 blocks would be 285 MB */
    assert_true(counter.live_bytes < 2 * 3 * 1024 * 1025 * 8 + (1 << 20));
    x = calloc(1024, sizeof *x);
    hess = malloc(1024 * 1024 * sizeof *hess);
    assert_true(x && hess);
    x[3] = 0.5;
    assert_int_equal(hnn_net_hessian(net, hnn_net_workspace(net), x, 1, hess), HNN_OK); /* it still fits */
    /* symmetric to rounding (forward over reverse is not bit-symmetric) */
    assert_true(fabs(hess[5 * 1024 + 9] - hess[9 * 1024 + 5]) <=
                1e-12 * (fabs(hess[5 * 1024 + 9]) + 1e-300));
    free(x);
    free(hess);
    hnn_net_destroy(net);
    assert_int_equal(counter.live_bytes, 0);
}

/* Every allocation failing in turn gives HNN_ERR_NO_MEMORY and leaks nothing. */
static void test_allocation_failures_are_reported_without_leaks(void **state)
{
    long budget;
    int saw_success = 0;
    (void)state;
    for (budget = 0; budget < 10 && !saw_success; budget++) {
        test_counter counter = {0, 0, 0, budget, 0};
        hnn_net_def def = hnn_net_def_default();
        hnn_net *net = NULL;
        hnn_error err;
        hnn_status st;
        def.allocator = test_allocator(&counter);
        st = hnn_net_create(&def, &net, &err);
        if (st == HNN_OK) {
            saw_success = 1;
            hnn_net_destroy(net);
        } else {
            assert_int_equal(st, HNN_ERR_NO_MEMORY);
            assert_int_equal(err.status, HNN_ERR_NO_MEMORY);
            assert_true(strlen(err.message) > 0);
            assert_null(net);
        }
        assert_int_equal(counter.live_bytes, 0);
    }
    assert_true(saw_success);
}

/* ---- bad input ------------------------------------------------------------------------ */

static hnn_status create_with(hnn_net_def def, hnn_error *err)
{
    hnn_net *net = (hnn_net *)&def; /* must be reset to NULL on failure */
    hnn_status st = hnn_net_create(&def, &net, err);
    if (st == HNN_OK)
        hnn_net_destroy(net);
    else
        assert_null(net);
    return st;
}

static void test_bad_definitions_are_refused(void **state)
{
    hnn_net_def def;
    hnn_error err;
    hnn_net *net = NULL;
    (void)state;

    assert_int_equal(hnn_net_create(NULL, &net, &err), HNN_ERR_NULL);
    def = hnn_net_def_default();
    assert_int_equal(hnn_net_create(&def, NULL, NULL), HNN_ERR_NULL);

    def = hnn_net_def_default();
    def.dof = 0;
    assert_int_equal(create_with(def, &err), HNN_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "dof"));

    def = hnn_net_def_default();
    def.depth = 0;
    assert_int_equal(create_with(def, &err), HNN_ERR_INVALID_ARG);
    def.depth = HNN_MAX_HIDDEN + 1;
    assert_int_equal(create_with(def, &err), HNN_ERR_INVALID_ARG);
    def.depth = HNN_MAX_HIDDEN; /* the most layers allowed works */
    {
        size_t l;
        for (l = 0; l < HNN_MAX_HIDDEN; l++)
            def.widths[l] = 3;
    }
    assert_int_equal(create_with(def, &err), HNN_OK);

    def = hnn_net_def_default();
    def.widths[1] = 0;
    assert_int_equal(create_with(def, &err), HNN_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "layer 1"));

    def = hnn_net_def_default();
    def.kind = (hnn_net_kind)7;
    assert_int_equal(create_with(def, &err), HNN_ERR_INVALID_ARG);

    def = hnn_net_def_default();
    def.struct_size = 3;
    assert_int_equal(create_with(def, &err), HNN_ERR_INVALID_ARG);
}

/* Sizes whose byte counts would overflow are refused before any allocation. */
static void test_overflowing_sizes_are_refused(void **state)
{
    test_counter counter = {0, 0, 0, -1, 0};
    hnn_net_def def = hnn_net_def_default();
    hnn_error err;
    (void)state;
    def.allocator = test_allocator(&counter);
    def.widths[0] = SIZE_MAX;
    assert_int_equal(create_with(def, &err), HNN_ERR_TOO_LARGE);
    def.widths[0] = (size_t)HNN_MAX_WIDTH + 1;
    assert_int_equal(create_with(def, &err), HNN_ERR_TOO_LARGE);
    def.widths[0] = 128;
    def.dof = SIZE_MAX / 2 + 1; /* 2n would wrap to 0 */
    assert_int_equal(create_with(def, &err), HNN_ERR_TOO_LARGE);
    assert_int_equal(counter.allocs, 0);
    /* widths at the cap are legal, but the parameters do not fit in memory: a clean
     * HNN_ERR_NO_MEMORY (or, on 32-bit hosts, HNN_ERR_TOO_LARGE), never a crash */
    def = hnn_net_def_default();
    def.allocator = test_allocator(&counter);
    def.depth = 3;
    def.widths[0] = def.widths[1] = def.widths[2] = HNN_MAX_WIDTH;
    counter.fail_after = 1; /* refuse the big block: never ask the OS (or a sanitizer) for it */
    {
        hnn_status st = create_with(def, &err);
        assert_true(st == HNN_ERR_NO_MEMORY || st == HNN_ERR_TOO_LARGE);
    }
    assert_int_equal(counter.live_bytes, 0);
}

/* hnn_net_def_bytes says what hnn_net_create and hnn_workspace_create will take from the
 * allocator, byte for byte (a counting allocator measures it), without allocating; a bad
 * definition gets the status hnn_net_create gives it. */
static void test_def_bytes_match_the_allocations(void **state)
{
    static const struct {
        hnn_net_kind kind;
        hnn_feature_map features;
        size_t dof, bodies, width;
        hnn_gradient_path path;
    } shapes[] = {
        {HNN_NET_HAMILTONIAN, HNN_FEATURES_IDENTITY, 1, 0, 32, HNN_PATH_AUTO},
        {HNN_NET_HAMILTONIAN, HNN_FEATURES_IDENTITY, 16, 0, 200, HNN_PATH_DUAL},
        {HNN_NET_HAMILTONIAN, HNN_FEATURES_IDENTITY, 256, 0, 64, HNN_PATH_ADJOINT},
        {HNN_NET_FIELD, HNN_FEATURES_IDENTITY, 3, 0, 16, HNN_PATH_AUTO},
        {HNN_NET_HAMILTONIAN, HNN_FEATURES_ROTATION, 6, 3, 24, HNN_PATH_AUTO},
        {HNN_NET_HAMILTONIAN, HNN_FEATURES_TRANSLATION, 4, 2, 8, HNN_PATH_DUAL},
    };
    size_t i;
    (void)state;
    for (i = 0; i < TEST_COUNT(shapes); i++) {
        test_counter c = {0, 0, 0, -1, 0};
        hnn_net_def def = hnn_net_def_default();
        hnn_net *net = NULL;
        hnn_workspace *ws = NULL;
        size_t net_bytes = 0, ws_bytes = 0;
        long before;
        def.kind = shapes[i].kind;
        def.features = shapes[i].features;
        def.dof = shapes[i].dof;
        def.bodies = shapes[i].bodies;
        def.widths[0] = def.widths[1] = shapes[i].width;
        def.path = shapes[i].path;
        def.allocator = test_allocator(&c);
        assert_int_equal(hnn_net_def_bytes(&def, &net_bytes, &ws_bytes, NULL), HNN_OK);
        assert_int_equal(c.allocs, 0);
        assert_int_equal(hnn_net_create(&def, &net, NULL), HNN_OK);
        assert_true(c.live_bytes == (long)net_bytes);
        before = c.live_bytes;
        assert_int_equal(hnn_workspace_create(net, &ws, NULL), HNN_OK);
        assert_true(c.live_bytes - before == (long)ws_bytes);
        hnn_workspace_destroy(ws);
        hnn_net_destroy(net);
    }
    {
        hnn_net_def def = hnn_net_def_default();
        hnn_error err;
        size_t bytes = 7;
        def.dof = 0;
        assert_int_equal(hnn_net_def_bytes(&def, &bytes, NULL, &err), HNN_ERR_INVALID_ARG);
        assert_true(bytes == 7 && err.message[0] != '\0');
        assert_int_equal(hnn_net_def_bytes(NULL, &bytes, NULL, NULL), HNN_ERR_NULL);
    }
}

static void test_bad_evaluation_arguments(void **state)
{
    const shape sh = {1, 1, {8}};
    hnn_net *hnn = make_net(&sh, HNN_NET_HAMILTONIAN, 1);
    hnn_net *mlp = make_net(&sh, HNN_NET_FIELD, 1);
    double x[4] = {0.1, 0.2, 0.3, 0.4}, out[4] = {-1, -1, -1, -1};
    (void)state;
    assert_null(hnn_net_workspace(NULL));
    assert_non_null(hnn_net_workspace(hnn));
    assert_int_equal(hnn_net_energy(NULL, hnn_net_workspace(NULL), x, 1, out), HNN_ERR_NULL);
    /* a NULL workspace is refused, never replaced by the net's own (test_threads: all) */
    assert_int_equal(hnn_net_energy(hnn, NULL, x, 1, out), HNN_ERR_NULL);
    assert_int_equal(hnn_net_field(mlp, NULL, x, 1, out), HNN_ERR_NULL);
    assert_true(out[0] == -1.0 && out[1] == -1.0);
    assert_int_equal(hnn_net_energy(hnn, hnn_net_workspace(hnn), NULL, 1, out), HNN_ERR_NULL);
    assert_int_equal(hnn_net_energy(hnn, hnn_net_workspace(hnn), x, 1, NULL), HNN_ERR_NULL);
    assert_int_equal(hnn_net_gradient(hnn, hnn_net_workspace(hnn), x, 1, out, NULL), HNN_ERR_NULL);
    assert_int_equal(hnn_net_field(NULL, hnn_net_workspace(NULL), x, 1, out), HNN_ERR_NULL);
    assert_int_equal(hnn_net_field(mlp, hnn_net_workspace(mlp), x, 1, NULL), HNN_ERR_NULL);
    assert_int_equal(hnn_net_energy(hnn, hnn_net_workspace(hnn), x, 0, out), HNN_ERR_INVALID_ARG);
    assert_int_equal(hnn_net_field(mlp, hnn_net_workspace(mlp), x, 0, out), HNN_ERR_INVALID_ARG);
    assert_int_equal(hnn_net_field(hnn, hnn_net_workspace(hnn), x, SIZE_MAX / 2, out), HNN_ERR_TOO_LARGE);
    /* the size rule covers the outputs too: SIZE_MAX / 16 states of 2 numbers fit in size_t,
     * as many 2 x 2 matrices do not; refused before x is read past its 4 numbers */
    assert_int_equal(hnn_net_hessian(hnn, hnn_net_workspace(hnn), x, SIZE_MAX / 16, out),
                     HNN_ERR_TOO_LARGE);
    assert_int_equal(hnn_net_field_jacobian(hnn, hnn_net_workspace(hnn), x, SIZE_MAX / 16, out),
                     HNN_ERR_TOO_LARGE);
    assert_int_equal(hnn_net_field_jacobian(mlp, hnn_net_workspace(mlp), x, SIZE_MAX / 16, out),
                     HNN_ERR_TOO_LARGE);
    assert_true(out[0] == -1.0 && out[3] == -1.0);
    assert_int_equal(hnn_net_energy(mlp, hnn_net_workspace(mlp), x, 1, out), HNN_ERR_WRONG_KIND);
    assert_int_equal(hnn_net_gradient(mlp, hnn_net_workspace(mlp), x, 1, NULL, out), HNN_ERR_WRONG_KIND);
    assert_int_equal(hnn_workspace_create(NULL, NULL, NULL), HNN_ERR_NULL);
    hnn_net_destroy(hnn);
    hnn_net_destroy(mlp);
}

/* Every refused evaluation says why in its workspace (the per-thread channel: the net is
 * const), a success clears it; params_set says why in the net. */
static void test_evaluation_errors_have_messages(void **state)
{
    const shape sh = {1, 1, {8}}, big = {1, 2, {64, 64}};
    hnn_net *hnn = make_net(&sh, HNN_NET_HAMILTONIAN, 1);
    hnn_net *mlp = make_net(&sh, HNN_NET_FIELD, 1);
    hnn_net *deep = make_net(&big, HNN_NET_HAMILTONIAN, 1);
    hnn_workspace *ws = hnn_net_workspace(hnn);
    double x[6] = {0.1, 0.2, 0.3, NAN, 0.5, 0.6}, out[36], p[1] = {0.0};
    (void)state;
    assert_int_equal(hnn_net_energy(hnn, ws, x, 3, out), HNN_ERR_NONFINITE);
    assert_string_equal(hnn_workspace_last_error(ws),
                        "state 1 holds NaN or infinity (number 1 of it)");
    assert_int_equal(hnn_net_energy(hnn, ws, x, 1, out), HNN_OK);
    assert_string_equal(hnn_workspace_last_error(ws), "");
    assert_int_equal(hnn_net_gradient(hnn, ws, x, 0, NULL, out), HNN_ERR_INVALID_ARG);
    assert_non_null(strstr(hnn_workspace_last_error(ws), "count is 0"));
    assert_int_equal(hnn_net_energy(mlp, hnn_net_workspace(mlp), x, 1, out), HNN_ERR_WRONG_KIND);
    assert_non_null(strstr(hnn_workspace_last_error(hnn_net_workspace(mlp)), "direct-field"));
    assert_int_equal(hnn_net_field(deep, ws, x, 1, out), HNN_ERR_SIZE_MISMATCH);
    assert_non_null(strstr(hnn_workspace_last_error(ws), "hnn_workspace_create"));
    assert_int_equal(hnn_net_hessian(hnn, ws, NULL, 1, out), HNN_ERR_NULL);
    assert_non_null(strstr(hnn_workspace_last_error(ws), "must not be NULL"));
    assert_string_equal(hnn_workspace_last_error(NULL), "");
    assert_int_equal(hnn_net_params_set(hnn, p, 1), HNN_ERR_SIZE_MISMATCH);
    assert_non_null(strstr(hnn_net_last_error(hnn), "count 1: the net has"));
    assert_string_equal(hnn_net_last_error(NULL), "");
    hnn_net_destroy(hnn);
    hnn_net_destroy(mlp);
    hnn_net_destroy(deep);
}

/* NaN or infinity anywhere in a batch is refused before anything is written. */
static void test_nonfinite_states_are_refused(void **state)
{
    const shape sh = {1, 1, {8}};
    hnn_net *hnn = make_net(&sh, HNN_NET_HAMILTONIAN, 1);
    hnn_net *mlp = make_net(&sh, HNN_NET_FIELD, 1);
    const double bad[] = {NAN, INFINITY, -INFINITY};
    size_t i;
    (void)state;
    for (i = 0; i < TEST_COUNT(bad); i++) {
        double x[6] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, out[6] = {7, 7, 7, 7, 7, 7};
        double h[3] = {7, 7, 7};
        const double untouched[6] = {7, 7, 7, 7, 7, 7};
        x[5] = bad[i]; /* the last component of the last state */
        assert_int_equal(hnn_net_energy(hnn, hnn_net_workspace(hnn), x, 3, h), HNN_ERR_NONFINITE);
        assert_int_equal(hnn_net_gradient(hnn, hnn_net_workspace(hnn), x, 3, h, out), HNN_ERR_NONFINITE);
        assert_int_equal(hnn_net_field(hnn, hnn_net_workspace(hnn), x, 3, out), HNN_ERR_NONFINITE);
        assert_int_equal(hnn_net_field(mlp, hnn_net_workspace(mlp), x, 3, out), HNN_ERR_NONFINITE);
        assert_memory_equal(out, untouched, sizeof out);
        assert_memory_equal(h, untouched, sizeof h);
    }
    hnn_net_destroy(hnn);
    hnn_net_destroy(mlp);
}

static void test_bad_parameter_arguments(void **state)
{
    const shape sh = {1, 1, {2}};
    hnn_net *net = make_net(&sh, HNN_NET_HAMILTONIAN, 1);
    size_t count = hnn_net_param_count(net);
    double p[9], before[9];
    hnn_net_def def;
    (void)state;
    assert_int_equal(count, 9);
    assert_int_equal(hnn_net_params_get(net, before, count), HNN_OK);
    assert_int_equal(hnn_net_params_get(NULL, p, count), HNN_ERR_NULL);
    assert_int_equal(hnn_net_params_get(net, NULL, count), HNN_ERR_NULL);
    assert_int_equal(hnn_net_params_get(net, p, count - 1), HNN_ERR_SIZE_MISMATCH);
    assert_int_equal(hnn_net_params_set(net, NULL, count), HNN_ERR_NULL);
    assert_int_equal(hnn_net_params_set(net, p, count + 1), HNN_ERR_SIZE_MISMATCH);
    memcpy(p, before, sizeof p);
    p[4] = NAN;
    assert_int_equal(hnn_net_params_set(net, p, count), HNN_ERR_NONFINITE);
    assert_int_equal(hnn_net_params_get(net, p, count), HNN_OK);
    assert_memory_equal(p, before, sizeof p); /* unchanged */
    assert_int_equal(hnn_net_get_def(NULL, &def), HNN_ERR_NULL);
    assert_int_equal(hnn_net_get_def(net, NULL), HNN_ERR_NULL);
    hnn_net_destroy(net);
    hnn_net_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradient_matches_central_differences),
        cmocka_unit_test(test_hamiltonian_field_conserves_and_is_divergence_free),
        cmocka_unit_test(test_direct_field_net_has_divergence),
        cmocka_unit_test(test_second_derivatives_match_differences),
        cmocka_unit_test(test_batch_is_bit_identical_to_single_states),
        cmocka_unit_test(test_tanh_within_two_ulp),
        cmocka_unit_test(test_caller_workspace_matches_own),
        cmocka_unit_test(test_wide_nets_use_smaller_chunks_with_the_same_bits),
        cmocka_unit_test(test_workspace_of_a_smaller_net_is_refused),
        cmocka_unit_test(test_same_seed_same_bits),
        cmocka_unit_test(test_initialisation_follows_torch_bounds),
        cmocka_unit_test(test_parameter_order_matches_hand_computation),
        cmocka_unit_test(test_params_round_trip),
        cmocka_unit_test(test_def_round_trips_through_the_net),
        cmocka_unit_test(test_allocator_hook_sees_every_block),
        cmocka_unit_test(test_workspaces_of_wide_states_stay_small),
        cmocka_unit_test(test_results_do_not_depend_on_the_allocators_alignment),
        cmocka_unit_test(test_allocation_failures_are_reported_without_leaks),
        cmocka_unit_test(test_bad_definitions_are_refused),
        cmocka_unit_test(test_overflowing_sizes_are_refused),
        cmocka_unit_test(test_def_bytes_match_the_allocations),
        cmocka_unit_test(test_bad_evaluation_arguments),
        cmocka_unit_test(test_nonfinite_states_are_refused),
        cmocka_unit_test(test_evaluation_errors_have_messages),
        cmocka_unit_test(test_bad_parameter_arguments),
    };
    return cmocka_run_group_tests_name("net", tests, NULL, NULL);
}
