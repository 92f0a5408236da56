/* The integrators' long tier (ctest label "long"; .ci/run runs it once, in the default
 * build, not under the sanitizers): 10^6 steps of every implicit method on trained spring
 * and pendulum nets, from a state whose orbit passes through q = 0 and p = 0 twice a
 * period, must never report a false "did not converge". It did, after 10^4 to 2 x 10^5
 * steps, when the solver judged round-off relative to an unknown passing through zero.
 *
 *   test_integrate_long [spring|pendulum]   (default: both)                              */
#include "test_util.h"

#include <stdio.h>

static const hnn_method implicit[] = {
    HNN_METHOD_SYMPLECTIC_EULER, HNN_METHOD_LEAPFROG, HNN_METHOD_IMPLICIT_MIDPOINT,
    HNN_METHOD_GAUSS4, HNN_METHOD_GAUSS6,
};

enum { STEPS = 1000000 };

static void soak(hnn_system sys)
{
    hnn_net *net = test_trained_net(sys);
    const double bottom[2] = {0.0, 0.0}, start[2] = {1.0, 0.0};
    hnn_field_source src = {.struct_size = sizeof src};
    double above; /* the orbit's learned energy above the bottom of the well */
    size_t m;
    assert_int_equal(hnn_net_energy(net, hnn_net_workspace(net), start, 1, &above), HNN_OK);
    {
        double h_bottom;
        assert_int_equal(hnn_net_energy(net, hnn_net_workspace(net), bottom, 1, &h_bottom), HNN_OK);
        above -= h_bottom;
    }
    assert_true(above >= 0.1); /* the true wells: 1/2 (spring), 3 (1 - cos 1) = 1.38 */
    assert_int_equal(hnn_field_source_net(net, hnn_net_workspace(net), &src), HNN_OK);
    assert_false(src.separable); /* so leapfrog and symplectic Euler iterate too */
    for (m = 0; m < TEST_COUNT(implicit); m++) {
        hnn_integrator_def def = hnn_integrator_def_default();
        hnn_integrator *in = NULL;
        double x[2] = {1.0, 0.0}, h0, h1, bound;
        size_t done = 0;
        hnn_status st;
        def.method = implicit[m];
        def.dim = 2;
        assert_int_equal(hnn_integrator_create(&def, &in, NULL), HNN_OK);
        assert_int_equal(hnn_net_energy(net, hnn_net_workspace(net), x, 1, &h0), HNN_OK);
        st = hnn_integrator_rollout(in, &src, x, 0.1, STEPS, NULL, NULL, NULL, &done);
        if (st != HNN_OK)
            fail_msg("%s: %s after %zu steps", hnn_method_name(implicit[m]),
                     hnn_integrator_last_error(in), done);
        assert_int_equal(done, STEPS);
        /* a symplectic method keeps the learned energy within a bound over 10^6 steps (no
         * drift), so a run that went astray (NaN, a wrong stage accepted) shows here: O(h)
         * for symplectic Euler, O(h^2) for leapfrog and the midpoint rule, less for Gauss4
         * and 6, of the orbit's energy (measured at h = 0.1: 0.09, 0.008, 3e-5, 1e-6 of it
         * on the pendulum) */
        assert_int_equal(hnn_net_energy(net, hnn_net_workspace(net), x, 1, &h1), HNN_OK);
        switch (hnn_method_order(implicit[m])) {
        case 1: bound = 0.25 * above; break;
        case 2: bound = 0.05 * above; break;
        default: bound = 1e-3 * above; break;
        }
        fprintf(stderr, "%-18s %zu steps, learned H %.6f -> %.6f, %.3g iterations per step\n",
                hnn_method_name(implicit[m]), done, h0, h1,
                (double)hnn_integrator_solver_iterations(in) / (double)STEPS);
        assert_true(fabs(h1 - h0) <= bound);
        hnn_integrator_destroy(in);
    }
    hnn_net_destroy(net);
}

static void test_spring_soak(void **state)
{
    (void)state;
    soak(HNN_SYSTEM_SPRING);
}

static void test_pendulum_soak(void **state)
{
    (void)state;
    soak(HNN_SYSTEM_PENDULUM);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest spring[] = {cmocka_unit_test(test_spring_soak)};
    const struct CMUnitTest pendulum[] = {cmocka_unit_test(test_pendulum_soak)};
    const char *only = argc > 1 ? argv[1] : "";
    int failed = 0;
    if (strcmp(only, "pendulum") != 0)
        failed += cmocka_run_group_tests(spring, NULL, NULL);
    if (strcmp(only, "spring") != 0)
        failed += cmocka_run_group_tests(pendulum, NULL, NULL);
    return failed;
}
