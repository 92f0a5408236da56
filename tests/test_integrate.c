/* Tests for the integrators: measured orders of convergence, long-run energy behaviour,
 * symplecticity of one step on a learned non-separable H, Tao's method measured, zero
 * allocations, and the failure contract (state untouched, a distinct status). */
#include "test_util.h"

#include <stdio.h>

static const hnn_method symplectic[] = {
    HNN_METHOD_SYMPLECTIC_EULER, HNN_METHOD_LEAPFROG, HNN_METHOD_IMPLICIT_MIDPOINT,
    HNN_METHOD_GAUSS4, HNN_METHOD_GAUSS6, HNN_METHOD_YOSHIDA4,
};

static hnn_integrator *make_integ(hnn_method m, size_t dim, test_counter *counter)
{
    hnn_integrator_def def = hnn_integrator_def_default();
    hnn_integrator *in = NULL;
    hnn_error err;
    def.method = m;
    def.dim = dim;
    def.adaptive = 0;
    if (counter != NULL)
        def.allocator = test_allocator(counter);
    assert_int_equal(hnn_integrator_create(&def, &in, &err), HNN_OK);
    return in;
}

static hnn_field_source system_source(hnn_system sys)
{
    hnn_field_source src = {.struct_size = sizeof src};
    assert_int_equal(hnn_field_source_system(sys, &src), HNN_OK);
    return src;
}

static void run(hnn_method m, const hnn_field_source *src, double *x, double h, size_t steps)
{
    hnn_integrator *in = make_integ(m, src->dim, NULL);
    size_t done = 0;
    assert_int_equal(hnn_integrator_rollout(in, src, x, h, steps, NULL, NULL, NULL, &done), HNN_OK);
    assert_int_equal(done, steps);
    hnn_integrator_destroy(in);
}

/* ---- orders of convergence ------------------------------------------------------------ */

static double order_on(hnn_method m, const hnn_field_source *src, const double *ref)
{
    const int p = hnn_method_order(m);
    const size_t n1 = p >= 6 ? 10 : p >= 4 ? 20 : p >= 2 ? 100 : 400;
    double a[2] = {1.0, 0.0}, b[2] = {1.0, 0.0};
    run(m, src, a, 2.0 / (double)n1, n1);
    run(m, src, b, 1.0 / (double)n1, 2 * n1);
    return log2(test_worse(fabs(a[0] - ref[0]), fabs(a[1] - ref[1])) /
                test_worse(fabs(b[0] - ref[0]), fabs(b[1] - ref[1])));
}

static void test_every_method_converges_at_its_order(void **state)
{
    const hnn_field_source spring = system_source(HNN_SYSTEM_SPRING);
    const hnn_field_source pend = system_source(HNN_SYSTEM_PENDULUM);
    const double exact[2] = {cos(2.0), -sin(2.0)}; /* the spring's flow is a rotation */
    double ref[2] = {1.0, 0.0};
    /* the orders from the literature, not from the library's own table (which is checked
     * against these too): Euler, RK4, DOPRI5, symplectic Euler, leapfrog, midpoint, Gauss4,
     * Gauss6, Yoshida4, Tao */
    static const struct {
        hnn_method method;
        int order;
    } nominal_orders[] = {
        {HNN_METHOD_EULER, 1}, {HNN_METHOD_RK4, 4}, {HNN_METHOD_DOPRI5, 5},
        {HNN_METHOD_SYMPLECTIC_EULER, 1}, {HNN_METHOD_LEAPFROG, 2},
        {HNN_METHOD_IMPLICIT_MIDPOINT, 2}, {HNN_METHOD_GAUSS4, 4}, {HNN_METHOD_GAUSS6, 6},
        {HNN_METHOD_YOSHIDA4, 4}, {HNN_METHOD_TAO, 2},
    };
    size_t i;
    (void)state;
    assert_int_equal(TEST_COUNT(nominal_orders), HNN_METHOD_COUNT);
    run(HNN_METHOD_GAUSS6, &pend, ref, 1e-3, 2000); /* pendulum reference, error ~1e-18 */
    for (i = 0; i < TEST_COUNT(nominal_orders); i++) {
        const hnn_method m = nominal_orders[i].method;
        const double os = order_on(m, &spring, exact);
        const double op = order_on(m, &pend, ref);
        const int nominal = nominal_orders[i].order;
        fprintf(stderr, "%-18s nominal %d  spring %.3f  pendulum %.3f\n", hnn_method_name(m),
                nominal, os, op);
        assert_int_equal(hnn_method_order(m), nominal);
        assert_true(fabs(os - nominal) <= 0.25);
        assert_true(fabs(op - nominal) <= 0.25);
    }
}

/* ---- energy over long runs -------------------------------------------------------------- */

typedef struct energy_track {
    hnn_system sys;
    double h0, max_early, max_all;
    size_t early;
} energy_track;

static int track(void *user, size_t step, double t, const double *x)
{
    energy_track *e = (energy_track *)user;
    const double err = fabs(hnn_system_energy(e->sys, x) - e->h0) / fabs(e->h0);
    (void)t;
    e->max_all = test_worse(e->max_all, err);
    if (step <= e->early)
        e->max_early = test_worse(e->max_early, err);
    return 0;
}

static energy_track energy_run(hnn_method m, hnn_system sys, double h, size_t steps)
{
    const hnn_field_source src = system_source(sys);
    hnn_integrator *in = make_integ(m, 2, NULL);
    double x[2] = {1.0, 0.0};
    energy_track e = {sys, 0.0, 0.0, 0.0, 1000};
    e.h0 = hnn_system_energy(sys, x);
    assert_int_equal(hnn_integrator_rollout(in, &src, x, h, steps, NULL, track, &e, NULL), HNN_OK);
    hnn_integrator_destroy(in);
    return e;
}

/* Pendulum, h = 0.1, 10^5 steps: symplectic methods keep the energy error bounded (its
 * maximum over the run is at most twice that of the first 10^3 steps); RK4's keeps growing. */
static void test_symplectic_energy_error_stays_bounded(void **state)
{
    size_t i;
    energy_track rk4;
    (void)state;
    for (i = 0; i < TEST_COUNT(symplectic); i++) {
        const energy_track e = energy_run(symplectic[i], HNN_SYSTEM_PENDULUM, 0.1, 100000);
        fprintf(stderr, "%-18s energy err: first 1e3 steps %.3e, 1e5 steps %.3e\n",
                hnn_method_name(symplectic[i]), e.max_early, e.max_all);
        assert_true(e.max_all <= 2.0 * e.max_early);
    }
    rk4 = energy_run(HNN_METHOD_RK4, HNN_SYSTEM_PENDULUM, 0.1, 100000);
    fprintf(stderr, "%-18s energy err: first 1e3 steps %.3e, 1e5 steps %.3e\n", "rk4",
            rk4.max_early, rk4.max_all);
    assert_true(rk4.max_all > 10.0 * rk4.max_early); /* drift: ~linear in time */
}

/* The implicit midpoint rule keeps quadratic invariants: the spring's energy to round-off. */
static void test_implicit_midpoint_keeps_quadratic_energy(void **state)
{
    const energy_track e = energy_run(HNN_METHOD_IMPLICIT_MIDPOINT, HNN_SYSTEM_SPRING, 0.5, 10000);
    (void)state;
    fprintf(stderr, "implicit midpoint, spring, h = 0.5, 1e4 steps: max rel energy err %.3e\n",
            e.max_all);
    assert_true(e.max_all <= 1e-13);
}

/* ---- symplecticity of one step on a learned, non-separable H ----------------------------- */

/* M = d(step)/dx by Richardson-extrapolated central differences (error O(d^4)). */
static void step_jacobian(hnn_integrator *in, const hnn_field_source *src, const double *x,
                          double h, double *M, size_t dim)
{
    size_t j, i;
    for (j = 0; j < dim; j++) {
        double col[2][8];
        int r;
        for (r = 0; r < 2; r++) {
            const double d = r == 0 ? 1e-3 : 5e-4;
            double xp[8], xm[8];
            memcpy(xp, x, dim * sizeof *x);
            memcpy(xm, x, dim * sizeof *x);
            xp[j] += d;
            xm[j] -= d;
            hnn_integrator_reset(in);
            assert_int_equal(hnn_integrator_step(in, src, xp, h), HNN_OK);
            hnn_integrator_reset(in);
            assert_int_equal(hnn_integrator_step(in, src, xm, h), HNN_OK);
            for (i = 0; i < dim; i++)
                col[r][i] = (xp[i] - xm[i]) / (2 * d);
        }
        for (i = 0; i < dim; i++)
            M[i * dim + j] = (4.0 * col[1][i] - col[0][i]) / 3.0;
    }
}

/* max |M^T J M - J| for J = [[0, I], [-I, 0]]. */
static double symplecticity_defect(const double *M, size_t dim)
{
    const size_t n = dim / 2;
    double worst = 0.0;
    size_t a, b, k;
    for (a = 0; a < dim; a++) {
        for (b = 0; b < dim; b++) {
            double s = 0.0, want;
            for (k = 0; k < n; k++) /* (M^T J M)_ab = sum_k M_ka M_(n+k)b - M_(n+k)a M_kb */
                s += M[k * dim + a] * M[(n + k) * dim + b] - M[(n + k) * dim + a] * M[k * dim + b];
            want = (a < n && b == a + n) ? 1.0 : (a >= n && b == a - n) ? -1.0 : 0.0;
            worst = test_worse(worst, fabs(s - want));
        }
    }
    return worst;
}

static double net_step_defect(hnn_method m, hnn_net *net, const double *x, double h)
{
    hnn_field_source src = {.struct_size = sizeof src};
    hnn_integrator *in = make_integ(m, 4, NULL);
    double M[16], defect;
    assert_int_equal(hnn_field_source_net(net, hnn_net_workspace(net), &src), HNN_OK);
    step_jacobian(in, &src, x, h, M, 4);
    defect = symplecticity_defect(M, 4);
    hnn_integrator_destroy(in);
    return defect;
}

/* A random Hamiltonian net with weights scaled up, so its field is far from linear and
 * strong enough (derivatives of order 1) for RK4's non-symplecticity to show at h = 0.2. */
static hnn_net *rough_net(size_t dof, uint64_t seed, double scale)
{
    const size_t widths[2] = {16, 16};
    hnn_net *net = test_make_net(HNN_NET_HAMILTONIAN, dof, 2, widths, seed);
    const size_t np = hnn_net_param_count(net);
    double *p = malloc(np * sizeof *p);
    size_t i;
    assert_int_equal(hnn_net_params_get(net, p, np), HNN_OK);
    for (i = 0; i < np; i++)
        p[i] *= scale;
    assert_int_equal(hnn_net_params_set(net, p, np), HNN_OK);
    free(p);
    return net;
}

static void test_symplectic_steps_on_a_learned_hamiltonian(void **state)
{
    hnn_net *net = rough_net(2, 21, 2.5);
    const double x[4] = {0.3, -0.5, 0.2, 0.7};
    const double h = 0.2;
    size_t i;
    double rk4;
    (void)state;
    for (i = 0; i < TEST_COUNT(symplectic); i++) {
        const double d = net_step_defect(symplectic[i], net, x, h);
        fprintf(stderr, "%-18s |M^T J M - J| = %.2e\n", hnn_method_name(symplectic[i]), d);
        assert_true(d <= 1e-9);
    }
    rk4 = net_step_defect(HNN_METHOD_RK4, net, x, h);
    fprintf(stderr, "%-18s |M^T J M - J| = %.2e\n", "rk4", rk4);
    assert_true(rk4 > 1e-7); /* measurably not symplectic */
    hnn_net_destroy(net);
}

/* Tao's map is symplectic in the extended phase space (q, p, q~, p~), not in (q, p): its
 * one-step defect on (q, p) is small but not round-off, and shrinks with h. Its energy error
 * on the pendulum stays bounded over 10^5 steps like a symplectic method's. */
static void test_tao_measured(void **state)
{
    hnn_net *net = rough_net(2, 21, 2.5);
    const double x[4] = {0.3, -0.5, 0.2, 0.7};
    const double d1 = net_step_defect(HNN_METHOD_TAO, net, x, 0.2);
    const double d2 = net_step_defect(HNN_METHOD_TAO, net, x, 0.1);
    const energy_track e = energy_run(HNN_METHOD_TAO, HNN_SYSTEM_PENDULUM, 0.1, 100000);
    (void)state;
    fprintf(stderr, "tao: |M^T J M - J| = %.2e (h = 0.2), %.2e (h = 0.1); pendulum energy err "
            "first 1e3 steps %.3e, 1e5 steps %.3e\n", d1, d2, e.max_early, e.max_all);
    assert_true(d1 > 1e-9);  /* not symplectic on (q, p) */
    assert_true(d1 < 1e-1);
    assert_true(d2 < d1);    /* consistent: the defect vanishes as h -> 0 */
    assert_true(e.max_all <= 2.0 * e.max_early);
    hnn_net_destroy(net);
}

/* ---- allocation, rollouts, failures ------------------------------------------------------ */

static void test_steps_and_rollouts_never_allocate(void **state)
{
    test_counter counter = {0, 0, 0, -1, 0};
    hnn_net_def nd = hnn_net_def_default();
    hnn_net *net = NULL;
    hnn_field_source src = {.struct_size = sizeof src};
    double traj[11 * 2];
    int m;
    (void)state;
    nd.allocator = test_allocator(&counter);
    nd.widths[0] = nd.widths[1] = 8;
    assert_int_equal(hnn_net_create(&nd, &net, NULL), HNN_OK);
    assert_int_equal(hnn_field_source_net(net, hnn_net_workspace(net), &src), HNN_OK);
    for (m = 0; m < HNN_METHOD_COUNT; m++) {
        hnn_integrator *in = make_integ((hnn_method)m, 2, &counter);
        double x[2] = {0.5, -0.2};
        const long before = counter.allocs;
        assert_int_equal(hnn_integrator_step(in, &src, x, 0.05), HNN_OK);
        assert_int_equal(hnn_integrator_rollout(in, &src, x, 0.05, 10, traj, NULL, NULL, NULL), HNN_OK);
        assert_int_equal(counter.allocs, before);
        hnn_integrator_destroy(in);
    }
    hnn_net_destroy(net);
    assert_int_equal(counter.live_bytes, 0);
}

typedef struct stopper {
    size_t calls, stop_at;
} stopper;

static int stop_cb(void *user, size_t step, double t, const double *x)
{
    stopper *s = (stopper *)user;
    (void)t;
    (void)x;
    s->calls++;
    return step == s->stop_at;
}

static void test_rollout_matches_steps_and_can_stop(void **state)
{
    const hnn_field_source src = system_source(HNN_SYSTEM_PENDULUM);
    hnn_integrator *a = make_integ(HNN_METHOD_YOSHIDA4, 2, NULL);
    hnn_integrator *b = make_integ(HNN_METHOD_YOSHIDA4, 2, NULL);
    double x[2] = {1.0, 0.0}, y[2] = {1.0, 0.0}, traj[21 * 2];
    stopper s = {0, 7};
    size_t k, done;
    (void)state;
    assert_int_equal(hnn_integrator_rollout(a, &src, x, 0.1, 20, traj, NULL, NULL, &done), HNN_OK);
    assert_int_equal(done, 20);
    assert_true(traj[0] == 1.0 && traj[1] == 0.0);
    for (k = 1; k <= 20; k++) {
        assert_int_equal(hnn_integrator_step(b, &src, y, 0.1), HNN_OK);
        assert_memory_equal(traj + 2 * k, y, sizeof y);
    }
    assert_memory_equal(x, y, sizeof x);
    assert_int_equal(hnn_integrator_field_evals(a), 20 * 9);
    x[0] = 1.0, x[1] = 0.0;
    assert_int_equal(hnn_integrator_rollout(a, &src, x, 0.1, 20, NULL, stop_cb, &s, &done),
                     HNN_ERR_STOPPED);
    assert_int_equal(done, 7);
    assert_int_equal(s.calls, 7);
    assert_memory_equal(x, traj + 14, sizeof x);
    hnn_integrator_destroy(a);
    hnn_integrator_destroy(b);
}

/* An implicit step that cannot converge returns its own status and leaves x untouched. */
static void test_non_convergence_leaves_state_untouched(void **state)
{
    const hnn_method implicit[] = {HNN_METHOD_IMPLICIT_MIDPOINT, HNN_METHOD_GAUSS4,
                                   HNN_METHOD_GAUSS6, HNN_METHOD_LEAPFROG,
                                   HNN_METHOD_SYMPLECTIC_EULER};
    hnn_net *net = rough_net(1, 3, 4.0);
    hnn_field_source src = {.struct_size = sizeof src};
    hnn_integrator_def def = hnn_integrator_def_default();
    hnn_integrator *in;
    size_t i;
    (void)state;
    assert_int_equal(hnn_field_source_net(net, hnn_net_workspace(net), &src), HNN_OK);
    for (i = 0; i < TEST_COUNT(implicit); i++) {
        double x[2] = {1.5, -0.5};
        const double before[2] = {1.5, -0.5};
        in = make_integ(implicit[i], 2, NULL);
        assert_int_equal(hnn_integrator_step(in, &src, x, 50.0), HNN_ERR_NO_CONVERGENCE);
        assert_memory_equal(x, before, sizeof x);
        assert_non_null(strstr(hnn_integrator_last_error(in), "converge"));
        assert_true(hnn_integrator_solver_iterations(in) > 0);
        hnn_integrator_destroy(in);
    }
    /* the adaptive method's own failure: a tolerance it cannot meet in few substeps */
    def.method = HNN_METHOD_DOPRI5;
    def.rtol = 1e-14;
    def.atol = 1e-16;
    def.max_substeps = 3;
    assert_int_equal(hnn_integrator_create(&def, &in, NULL), HNN_OK);
    {
        const hnn_field_source pend = system_source(HNN_SYSTEM_PENDULUM);
        double x[2] = {1.0, 0.0};
        assert_int_equal(hnn_integrator_step(in, &pend, x, 10.0), HNN_ERR_NO_CONVERGENCE);
        assert_true(x[0] == 1.0 && x[1] == 0.0);
    }
    hnn_integrator_destroy(in);
    hnn_net_destroy(net);
}

static hnn_status nan_field(void *ctx, size_t dim, const double *x, double *f)
{
    (void)ctx, (void)dim; /* a 2-number state: the tests call it with nothing else */
    f[0] = x[1];
    f[1] = x[0] > 1.05 ? NAN : -x[0];
    return HNN_OK;
}

/* The spring's field at the start (p = 0.5), and NaN in dp/dt anywhere else: symplectic
 * Euler's second evaluation, at (q, p'), is read for dq/dt only, so the NaN went unseen. */
static hnn_status half_nan_field(void *ctx, size_t dim, const double *x, double *f)
{
    (void)ctx, (void)dim; /* a 2-number state: the tests call it with nothing else */
    f[0] = x[1];
    f[1] = x[1] == 0.5 ? -x[0] : NAN;
    return HNN_OK;
}

static hnn_status failing_field(void *ctx, size_t dim, const double *x, double *f)
{
    (void)ctx, (void)dim; /* a 2-number state: the tests call it with nothing else */
    (void)x;
    (void)f;
    return HNN_ERR_WRONG_KIND;
}

static void test_nonfinite_and_failing_fields_are_reported(void **state)
{
    hnn_field_source src = system_source(HNN_SYSTEM_SPRING);
    hnn_integrator *in = make_integ(HNN_METHOD_RK4, 2, NULL);
    double x[2] = {NAN, 0.0};
    size_t done;
    (void)state;
    assert_int_equal(hnn_integrator_step(in, &src, x, 0.1), HNN_ERR_NONFINITE);
    assert_true(isnan(x[0]) && x[1] == 0.0);
    /* a field that turns NaN mid-run: the rollout stops at the last good state */
    src.field = nan_field;
    src.energy = NULL;
    x[0] = 0.0;
    x[1] = 1.2;
    assert_int_equal(hnn_integrator_rollout(in, &src, x, 0.1, 100, NULL, NULL, NULL, &done),
                     HNN_ERR_NONFINITE);
    assert_true(done > 0 && done < 100);
    assert_true(isfinite(x[0]) && isfinite(x[1]));
    src.field = failing_field;
    assert_int_equal(hnn_integrator_step(in, &src, x, 0.1), HNN_ERR_WRONG_KIND);
    assert_non_null(strstr(hnn_integrator_last_error(in), "field source"));
    hnn_integrator_destroy(in);
    /* a field NaN in a component the method does not read at that stage (symplectic Euler
     * once stepped on with OK): every method that evaluates past the start (all but Euler),
     * separable or not, refuses and keeps x */
    {
        static const hnn_method all[] = {
            HNN_METHOD_RK4, HNN_METHOD_DOPRI5, HNN_METHOD_SYMPLECTIC_EULER,
            HNN_METHOD_LEAPFROG, HNN_METHOD_YOSHIDA4, HNN_METHOD_TAO,
            HNN_METHOD_IMPLICIT_MIDPOINT, HNN_METHOD_GAUSS4, HNN_METHOD_GAUSS6,
        };
        size_t m, sep;
        src.field = half_nan_field;
        for (sep = 0; sep < 2; sep++)
            for (m = 0; m < TEST_COUNT(all); m++) {
                double y[2] = {1.0, 0.5};
                src.separable = (int)sep;
                in = make_integ(all[m], 2, NULL);
                if (hnn_integrator_step(in, &src, y, 0.1) != HNN_ERR_NONFINITE)
                    fail_msg("%s (separable %zu): not refused", hnn_method_name(all[m]), sep);
                assert_true(y[0] == 1.0 && y[1] == 0.5);
                assert_non_null(strstr(hnn_integrator_last_error(in), "field source returned"));
                hnn_integrator_destroy(in);
            }
    }
}

/* The adaptive method meets its tolerance with as many substeps as it needs. */
static void test_dopri5_step_control(void **state)
{
    const hnn_field_source src = system_source(HNN_SYSTEM_SPRING);
    hnn_integrator_def def = hnn_integrator_def_default();
    hnn_integrator *in;
    double x[2] = {1.0, 0.0};
    (void)state;
    def.method = HNN_METHOD_DOPRI5;
    def.rtol = 1e-10;
    def.atol = 1e-12;
    assert_int_equal(hnn_integrator_create(&def, &in, NULL), HNN_OK);
    assert_int_equal(hnn_integrator_rollout(in, &src, x, 2.5, 4, NULL, NULL, NULL, NULL), HNN_OK);
    fprintf(stderr, "dopri5 rtol 1e-10 to t = 10: error %.2e, %llu evaluations, %llu rejected\n",
            fmax(fabs(x[0] - cos(10.0)), fabs(x[1] + sin(10.0))),
            (unsigned long long)hnn_integrator_field_evals(in),
            (unsigned long long)hnn_integrator_rejected_substeps(in));
    assert_true(fabs(x[0] - cos(10.0)) < 1e-8 && fabs(x[1] + sin(10.0)) < 1e-8);
    assert_true(hnn_integrator_field_evals(in) > 4 * 7); /* it took substeps */
    hnn_integrator_destroy(in);
}

/* With the separable promise the explicit forms run; without it the implicit solve lands on
 * the same answer. */
static void test_separable_and_implicit_forms_agree(void **state)
{
    hnn_field_source sep = system_source(HNN_SYSTEM_PENDULUM), gen = sep;
    const hnn_method ms[2] = {HNN_METHOD_LEAPFROG, HNN_METHOD_SYMPLECTIC_EULER};
    int i;
    (void)state;
    gen.separable = 0;
    for (i = 0; i < 2; i++) {
        hnn_integrator *a = make_integ(ms[i], 2, NULL), *b = make_integ(ms[i], 2, NULL);
        double x[2] = {1.0, 0.3}, y[2] = {1.0, 0.3};
        assert_int_equal(hnn_integrator_rollout(a, &sep, x, 0.1, 50, NULL, NULL, NULL, NULL), HNN_OK);
        assert_int_equal(hnn_integrator_rollout(b, &gen, y, 0.1, 50, NULL, NULL, NULL, NULL), HNN_OK);
        assert_true(fabs(x[0] - y[0]) < 1e-13 && fabs(x[1] - y[1]) < 1e-13);
        assert_int_equal(hnn_integrator_solver_iterations(a), 0);
        assert_true(hnn_integrator_solver_iterations(b) > 0);
        hnn_integrator_destroy(a);
        hnn_integrator_destroy(b);
    }
}

/* Tao's copies persist while the caller continues from the returned state, and reset when
 * the state is changed from outside. */
static void test_tao_copies_follow_the_caller(void **state)
{
    const hnn_field_source src = system_source(HNN_SYSTEM_PENDULUM);
    hnn_integrator *a = make_integ(HNN_METHOD_TAO, 2, NULL), *fresh = make_integ(HNN_METHOD_TAO, 2, NULL);
    double x[2] = {1.0, 0.0}, y[2];
    int k;
    (void)state;
    for (k = 0; k < 5; k++)
        assert_int_equal(hnn_integrator_step(a, &src, x, 0.1), HNN_OK);
    x[1] += 0.25; /* a kick from outside */
    memcpy(y, x, sizeof x);
    assert_int_equal(hnn_integrator_step(a, &src, x, 0.1), HNN_OK);
    assert_int_equal(hnn_integrator_step(fresh, &src, y, 0.1), HNN_OK);
    assert_memory_equal(x, y, sizeof x);
    hnn_integrator_destroy(a);
    hnn_integrator_destroy(fresh);
}

/* A stiffly scaled oscillator, H = p^2 / (2m) + k q^2 / 2 with m = k = 1e-3 (omega = 1): the
 * implicit iterations' corrections swap between q and p from one iteration to the next. */
static hnn_status scaled_field(void *ctx, size_t dim, const double *x, double *f)
{
    (void)ctx, (void)dim; /* a 2-number state: the tests call it with nothing else */
    f[0] = x[1] / 1e-3;
    f[1] = -1e-3 * x[0];
    return HNN_OK;
}

/* Regressions from review: the convergence test must judge tiny states as strictly as large
 * ones, tolerate corrections that alternate between components, and DOPRI5 must accept
 * atol = 0 with a component at exactly 0. */
static void test_convergence_test_edge_cases(void **state)
{
    const hnn_field_source spring = system_source(HNN_SYSTEM_SPRING);
    const hnn_field_source scaled = {sizeof(hnn_field_source), 2, scaled_field, NULL, NULL, 0,
            NULL};
    const hnn_method implicit[3] = {HNN_METHOD_IMPLICIT_MIDPOINT, HNN_METHOD_GAUSS4, HNN_METHOD_GAUSS6};
    size_t i;
    (void)state;
    for (i = 0; i < 3; i++) {
        hnn_integrator *in = make_integ(implicit[i], 2, NULL);
        double tiny[2] = {1e-12, 0.0}, x[2] = {0.0, 1.0};
        /* h = 10 on the unit spring diverges whatever the state's size */
        assert_int_equal(hnn_integrator_step(in, &spring, tiny, 10.0), HNN_ERR_NO_CONVERGENCE);
        assert_true(tiny[0] == 1e-12 && tiny[1] == 0.0);
        /* h = 0.01 on the scaled oscillator contracts strongly: it must converge, and right */
        assert_int_equal(hnn_integrator_rollout(in, &scaled, x, 0.01, 100, NULL, NULL, NULL, NULL), HNN_OK);
        /* (the midpoint rule's phase error over t = 1 is h^2 / 12 ~ 8e-6 of the amplitude) */
        assert_true(fabs(x[0] - 1000.0 * sin(1.0)) < 2e-2 && fabs(x[1] - cos(1.0)) < 2e-5);
        hnn_integrator_destroy(in);
    }
    {
        hnn_integrator_def def = hnn_integrator_def_default();
        hnn_integrator *in;
        double x[2] = {1.0, 0.0};
        def.method = HNN_METHOD_DOPRI5;
        def.atol = 0.0;
        def.rtol = 1e-9;
        assert_int_equal(hnn_integrator_create(&def, &in, NULL), HNN_OK);
        /* p starts at exactly 0 and the first stage's error estimate there is 0 */
        assert_int_equal(hnn_integrator_step(in, &spring, x, 0.1), HNN_OK);
        assert_true(fabs(x[0] - cos(0.1)) < 1e-9);
        hnn_integrator_destroy(in);
    }
    {
        hnn_integrator *in = make_integ(HNN_METHOD_RK4, 2, NULL);
        stopper s = {0, 3};
        double x[2] = {1.0, 0.0};
        size_t done;
        /* a stop asked at the very last step is still reported */
        assert_int_equal(hnn_integrator_rollout(in, &spring, x, 0.1, 3, NULL, stop_cb, &s, &done),
                         HNN_ERR_STOPPED);
        assert_int_equal(done, 3);
        hnn_integrator_destroy(in);
    }
}

/* Newton's method on f(x) = 0 for a 2-dimensional state, with the exact field Jacobian. */
static void equilibrium_of(hnn_net *net, double *x)
{
    size_t it;
    for (it = 0; it < 20; it++) {
        double f[2], J[4], det;
        assert_int_equal(hnn_net_field(net, hnn_net_workspace(net), x, 1, f), HNN_OK);
        assert_int_equal(hnn_net_field_jacobian(net, hnn_net_workspace(net), x, 1, J), HNN_OK);
        det = J[0] * J[3] - J[1] * J[2];
        x[0] -= (J[3] * f[0] - J[1] * f[1]) / det;
        x[1] -= (J[0] * f[1] - J[2] * f[0]) / det;
    }
}

/* Regression (false "did not converge" at round-off). States where the implicit unknown
 * passes through zero: a half-step momentum p + c f_p(q, p_new) of round-off size (p chosen
 * near -c f_p(q, 0)), and a state at rest on the learned equilibrium, where every stage slope
 * K of the collocation methods is round-off while x is not. The corrections there stall at
 * the round-off of terms of ordinary size, which the solver once judged relative to the
 * tiny unknown and refused ("try a smaller step", last correction ~1e-17). */
static void test_unknowns_through_zero_converge(void **state)
{
    const hnn_system systems[2] = {HNN_SYSTEM_SPRING, HNN_SYSTEM_PENDULUM};
    const hnn_method at_rest[3] = {HNN_METHOD_IMPLICIT_MIDPOINT, HNN_METHOD_GAUSS4,
                                   HNN_METHOD_GAUSS6};
    const double h = 0.1;
    size_t sys, k, m;
    (void)state;
    for (sys = 0; sys < 2; sys++) {
        hnn_net *net = test_trained_net(systems[sys]);
        hnn_field_source src = {.struct_size = sizeof src};
        double eq[2] = {0.0, 0.0}, f[2];
        assert_int_equal(hnn_field_source_net(net, hnn_net_workspace(net), &src), HNN_OK);
        assert_false(src.separable);
        for (m = 0; m < 2; m++) { /* symplectic Euler (p' = p + h f_p), leapfrog (h / 2) */
            const hnn_method method = m == 0 ? HNN_METHOD_SYMPLECTIC_EULER : HNN_METHOD_LEAPFROG;
            const double c = m == 0 ? h : 0.5 * h;
            hnn_integrator *in = make_integ(method, 2, NULL);
            for (k = 0; k < 100; k++) {
                double x[2] = {-1.2 + 0.024 * (double)k, 0.0}, x0[2];
                assert_int_equal(hnn_net_field(net, hnn_net_workspace(net), x, 1, f), HNN_OK);
                /* then p_new = O(round-off), its fixed point at 0 or off it by an ulp or so */
                x[1] = -c * f[1] + 1e-17 * (double)(k % 7) - 3e-17;
                memcpy(x0, x, sizeof x0);
                if (hnn_integrator_step(in, &src, x, h) != HNN_OK)
                    fail_msg("%s at q = %.17g: %s", hnn_method_name(method), x0[0],
                             hnn_integrator_last_error(in));
                /* q moved by h f_q(q, 0) to first order (p_new ~ 0), p stayed as small */
                assert_true(fabs(x[0] - (x0[0] + h * f[0])) <= 0.1 * h * fabs(f[0]) + 1e-4);
                assert_true(fabs(x[1]) <= 2.0 * fabs(x0[1]) + 1e-12);
            }
            hnn_integrator_destroy(in);
        }
        equilibrium_of(net, eq);
        assert_int_equal(hnn_net_field(net, hnn_net_workspace(net), eq, 1, f), HNN_OK);
        fprintf(stderr, "%s net: learned equilibrium (%.2e, %.2e), |f| = %.1e, %.1e\n",
                sys == 0 ? "spring" : "pendulum", eq[0], eq[1], f[0], f[1]);
        assert_true(fabs(f[0]) <= 1e-14 && fabs(f[1]) <= 1e-14);
        assert_true(fabs(eq[0]) + fabs(eq[1]) <= 0.1); /* near the true one, (0, 0) */
        for (m = 0; m < 3; m++) {
            hnn_integrator *in = make_integ(at_rest[m], 2, NULL);
            double x[2];
            memcpy(x, eq, sizeof x);
            for (k = 0; k < 100; k++)
                if (hnn_integrator_step(in, &src, x, h) != HNN_OK)
                    fail_msg("%s at rest, step %zu: %s", hnn_method_name(at_rest[m]), k,
                             hnn_integrator_last_error(in));
            assert_true(fabs(x[0] - eq[0]) <= 1e-12 && fabs(x[1] - eq[1]) <= 1e-12); /* at rest */
            hnn_integrator_destroy(in);
        }
        hnn_net_destroy(net);
    }
}

static void test_bad_integrator_input(void **state)
{
    hnn_integrator_def def = hnn_integrator_def_default();
    hnn_integrator *in = NULL;
    hnn_field_source src = system_source(HNN_SYSTEM_SPRING);
    hnn_method m;
    double x[2] = {1, 0};
    hnn_error err;
    int i;
    (void)state;
    assert_int_equal(hnn_integrator_create(NULL, &in, &err), HNN_ERR_NULL);
    def.dim = 3;
    assert_int_equal(hnn_integrator_create(&def, &in, &err), HNN_ERR_INVALID_ARG);
    def.dim = 0;
    assert_int_equal(hnn_integrator_create(&def, &in, &err), HNN_ERR_INVALID_ARG);
    def.dim = SIZE_MAX - 1;
    assert_int_equal(hnn_integrator_create(&def, &in, &err), HNN_ERR_TOO_LARGE);
    def = hnn_integrator_def_default();
    def.method = (hnn_method)HNN_METHOD_COUNT;
    assert_int_equal(hnn_integrator_create(&def, &in, &err), HNN_ERR_INVALID_ARG);
    def = hnn_integrator_def_default();
    def.rtol = def.atol = 0.0;
    assert_int_equal(hnn_integrator_create(&def, &in, &err), HNN_ERR_INVALID_ARG);
    def = hnn_integrator_def_default();
    def.tao_omega = -1.0;
    assert_int_equal(hnn_integrator_create(&def, &in, &err), HNN_ERR_INVALID_ARG);
    assert_null(in);

    in = make_integ(HNN_METHOD_RK4, 4, NULL);
    assert_int_equal(hnn_integrator_step(in, &src, x, 0.1), HNN_ERR_SIZE_MISMATCH);
    hnn_integrator_destroy(in);
    in = make_integ(HNN_METHOD_RK4, 2, NULL);
    assert_int_equal(hnn_integrator_step(NULL, &src, x, 0.1), HNN_ERR_NULL);
    assert_int_equal(hnn_integrator_step(in, NULL, x, 0.1), HNN_ERR_NULL);
    assert_int_equal(hnn_integrator_step(in, &src, NULL, 0.1), HNN_ERR_NULL);
    assert_int_equal(hnn_integrator_step(in, &src, x, 0.0), HNN_ERR_INVALID_ARG);
    assert_int_equal(hnn_integrator_step(in, &src, x, INFINITY), HNN_ERR_INVALID_ARG);
    assert_true(x[0] == 1.0 && x[1] == 0.0);
    hnn_integrator_destroy(in);
    hnn_integrator_destroy(NULL);

    for (i = 0; i < HNN_METHOD_COUNT; i++) {
        assert_int_equal(hnn_method_from_name(hnn_method_name((hnn_method)i), &m), HNN_OK);
        assert_int_equal(m, i);
    }
    assert_int_equal(hnn_method_from_name("rk5", &m), HNN_ERR_INVALID_ARG);
    assert_null(hnn_method_name((hnn_method)99));
    assert_int_equal(hnn_field_source_system((hnn_system)42, &src), HNN_ERR_INVALID_ARG);
    assert_true(isnan(hnn_system_energy((hnn_system)42, x)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_method_converges_at_its_order),
        cmocka_unit_test(test_symplectic_energy_error_stays_bounded),
        cmocka_unit_test(test_implicit_midpoint_keeps_quadratic_energy),
        cmocka_unit_test(test_symplectic_steps_on_a_learned_hamiltonian),
        cmocka_unit_test(test_tao_measured),
        cmocka_unit_test(test_steps_and_rollouts_never_allocate),
        cmocka_unit_test(test_rollout_matches_steps_and_can_stop),
        cmocka_unit_test(test_non_convergence_leaves_state_untouched),
        cmocka_unit_test(test_nonfinite_and_failing_fields_are_reported),
        cmocka_unit_test(test_dopri5_step_control),
        cmocka_unit_test(test_separable_and_implicit_forms_agree),
        cmocka_unit_test(test_tao_copies_follow_the_caller),
        cmocka_unit_test(test_convergence_test_edge_cases),
        cmocka_unit_test(test_unknowns_through_zero_converge),
        cmocka_unit_test(test_bad_integrator_input),
    };
    return cmocka_run_group_tests_name("integrate", tests, NULL, NULL);
}
