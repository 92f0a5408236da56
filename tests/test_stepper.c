/* The batched steppers (hnn/stepper.h): each method against the one-state integrator
 * (hnn_integrator_step, an independent implementation), batches against single states bit for
 * bit in both precisions, float leapfrog's energy over 10^6 steps against the double one,
 * refusals that leave the states unchanged, and no allocation while stepping. */
#include "test_util.h"

#include <float.h>
#include <stdio.h>

enum { COUNT = 48 };

/* A net trained on the unit spring (512 states, 2 x 16, 400 Adam steps): separable (the
 * positions only, with the known kinetic term |p|^2 / 2) or not (the whole state). */
static hnn_net *spring_net(int separable, test_counter *c)
{
    hnn_net_def def = hnn_net_def_default();
    hnn_net *net = NULL;
    def.widths[0] = def.widths[1] = 16;
    def.seed = 3;
    if (separable) {
        def.features = HNN_FEATURES_POSITIONS;
        def.kinetic_mass = 1.0;
    }
    if (c != NULL)
        def.allocator = test_allocator(c);
    assert_int_equal(hnn_net_create(&def, &net, NULL), HNN_OK);
    test_train_on(net, HNN_SYSTEM_SPRING);
    return net;
}

static hnn_stepper *make_stepper(const hnn_net *net, hnn_method method, size_t max_count)
{
    hnn_stepper_def sd = hnn_stepper_def_default();
    hnn_stepper *s = NULL;
    hnn_error err;
    sd.method = method;
    sd.max_count = max_count;
    if (hnn_stepper_create(net, &sd, &s, &err) != HNN_OK)
        fail_msg("hnn_stepper_create: %s", err.message);
    return s;
}

/* 100 steps of one state by the stepper and by hnn_integrator_step on the net's field source:
 * the same method, computed by two implementations, agrees to rounding. */
static void test_each_method_matches_the_integrator(void **state)
{
    const hnn_method methods[3] = {HNN_METHOD_LEAPFROG, HNN_METHOD_SYMPLECTIC_EULER,
                                   HNN_METHOD_IMPLICIT_MIDPOINT};
    hnn_net *sep = spring_net(1, NULL), *full = spring_net(0, NULL);
    size_t k, i;
    (void)state;
    for (k = 0; k < 3; k++) {
        hnn_net *net = k < 2 ? sep : full;
        hnn_stepper *s = make_stepper(net, methods[k], 4);
        hnn_integrator_def id = hnn_integrator_def_default();
        hnn_integrator *in = NULL;
        hnn_field_source src = {.struct_size = sizeof src};
        double a[2] = {1.0, 0.3}, b[2] = {1.0, 0.3}, c[2], err, err32;
        float af[2] = {1.0f, 0.3f};
        id.method = methods[k];
        assert_int_equal(hnn_integrator_create(&id, &in, NULL), HNN_OK);
        assert_int_equal(hnn_field_source_net(net, hnn_net_workspace(net), &src), HNN_OK);
        for (i = 0; i < 100; i++) {
            assert_int_equal(hnn_stepper_step(s, net, a, 1, 0.05), HNN_OK);
            assert_int_equal(hnn_stepper_step_f32(s, net, af, 1, 0.05f), HNN_OK);
            assert_int_equal(hnn_integrator_step(in, &src, b, 0.05), HNN_OK);
        }
        c[0] = af[0], c[1] = af[1];
        err = test_rel_err(a, b, 2);
        err32 = test_rel_err(c, b, 2); /* float: 100 steps of float round-off */
        if (!(err <= 1e-12) || !(err32 <= 1e-4) || !(fabs(b[0] - 1.0) > 0.1))
            fail_msg("%s: after 100 steps the stepper is %.3g (float %.3g) from the "
                     "integrator", hnn_method_name(methods[k]), err, err32);
        hnn_integrator_destroy(in);
        hnn_stepper_destroy(s);
    }
    hnn_net_destroy(sep);
    hnn_net_destroy(full);
}

/* A batch of 48 states gives, in both precisions, the bits of each state stepped alone. */
static void test_batches_match_single_states(void **state)
{
    const hnn_method methods[3] = {HNN_METHOD_LEAPFROG, HNN_METHOD_SYMPLECTIC_EULER,
                                   HNN_METHOD_IMPLICIT_MIDPOINT};
    hnn_net *sep = spring_net(1, NULL), *full = spring_net(0, NULL);
    test_rng rng = {4};
    size_t k, i, st;
    (void)state;
    for (k = 0; k < 3; k++) {
        hnn_net *net = k < 2 ? sep : full;
        hnn_stepper *s = make_stepper(net, methods[k], COUNT);
        double x[COUNT * 2], one[2];
        float xf[COUNT * 2], onef[2], keep[COUNT * 2];
        test_fill(&rng, x, COUNT * 2, -1.5, 1.5);
        for (i = 0; i < COUNT * 2; i++)
            keep[i] = xf[i] = (float)x[i];
        for (st = 0; st < COUNT; st += 5) {
            one[0] = x[2 * st], one[1] = x[2 * st + 1];
            onef[0] = xf[2 * st], onef[1] = xf[2 * st + 1];
            for (i = 0; i < 10; i++) {
                assert_int_equal(hnn_stepper_step(s, net, one, 1, 0.1), HNN_OK);
                assert_int_equal(hnn_stepper_step_f32(s, net, onef, 1, 0.1f), HNN_OK);
            }
            x[2 * st] = one[0], x[2 * st + 1] = one[1]; /* kept to compare below */
            keep[2 * st] = onef[0], keep[2 * st + 1] = onef[1];
        }
        {
            double xb[COUNT * 2];
            float xbf[COUNT * 2];
            test_rng again = {4};
            for (i = 0; i < k; i++) /* the same states as above */
                test_fill(&again, xb, COUNT * 2, -1.5, 1.5);
            test_fill(&again, xb, COUNT * 2, -1.5, 1.5);
            for (i = 0; i < COUNT * 2; i++)
                xbf[i] = (float)xb[i];
            for (i = 0; i < 10; i++) {
                assert_int_equal(hnn_stepper_step(s, net, xb, COUNT, 0.1), HNN_OK);
                assert_int_equal(hnn_stepper_step_f32(s, net, xbf, COUNT, 0.1f), HNN_OK);
            }
            for (st = 0; st < COUNT; st += 5) {
                assert_memory_equal(xb + 2 * st, x + 2 * st, 2 * sizeof(double));
                assert_memory_equal(xbf + 2 * st, keep + 2 * st, 2 * sizeof(float));
            }
        }
        hnn_stepper_destroy(s);
    }
    hnn_net_destroy(sep);
    hnn_net_destroy(full);
}

/* Float leapfrog over 10^6 steps of h = 0.05 (about 8000 periods) on the separable spring
 * net: its energy error (H in double at the float states, relative to H at the start) stays
 * within the double run's (the method's own O(h^2) oscillation) plus a random walk of float
 * round-off, sqrt(steps) x 4 FLT_EPSILON; and the last tenth of the run is no worse than the
 * first tenth by more than that walk (no secular drift). */
static void test_float_leapfrog_energy_over_a_million_steps(void **state)
{
    enum { N = 4, STEPS = 1000000 };
    hnn_net *net = spring_net(1, NULL);
    hnn_stepper *s = make_stepper(net, HNN_METHOD_LEAPFROG, N);
    hnn_workspace *ws = hnn_net_workspace(net);
    double x[2 * N] = {1.0, 0.0, 0.5, 0.5, -0.3, 0.9, 0.0, -1.2}, xd[2 * N], H0[N], H[N];
    float xf[2 * N];
    double worst_f = 0.0, worst_d = 0.0, first = 0.0, last = 0.0, walk;
    size_t i, k;
    (void)state;
    for (i = 0; i < 2 * N; i++)
        xf[i] = (float)x[i];
    for (i = 0; i < 2 * N; i++)
        xd[i] = xf[i];
    assert_int_equal(hnn_net_energy(net, ws, xd, N, H0), HNN_OK);
    for (k = 1; k <= STEPS; k++) {
        assert_int_equal(hnn_stepper_step_f32(s, net, xf, N, 0.05f), HNN_OK);
        assert_int_equal(hnn_stepper_step(s, net, x, N, 0.05), HNN_OK);
        if (k % 1000 != 0)
            continue;
        for (i = 0; i < 2 * N; i++)
            xd[i] = xf[i];
        assert_int_equal(hnn_net_energy(net, ws, xd, N, H), HNN_OK);
        for (i = 0; i < N; i++) {
            const double e = fabs(H[i] - H0[i]) / fabs(H0[i]);
            worst_f = test_worse(worst_f, e);
            if (k <= STEPS / 10)
                first = test_worse(first, e);
            if (k > STEPS - STEPS / 10)
                last = test_worse(last, e);
        }
        assert_int_equal(hnn_net_energy(net, ws, x, N, H), HNN_OK);
        for (i = 0; i < N; i++)
            worst_d = test_worse(worst_d, fabs(H[i] - H0[i]) / fabs(H0[i]));
    }
    walk = sqrt((double)STEPS) * 4.0 * FLT_EPSILON;
    fprintf(stderr, "10^6 leapfrog steps: energy error float %.3g, double %.3g; float first "
                    "tenth %.3g, last tenth %.3g; round-off walk %.3g\n",
            worst_f, worst_d, first, last, walk);
    if (!(worst_f <= worst_d + walk) || !(last <= first + walk))
        fail_msg("float leapfrog energy error %.3g (double %.3g, first tenth %.3g, last %.3g)",
                 worst_f, worst_d, first, last);
    hnn_stepper_destroy(s);
    hnn_net_destroy(net);
}

static void test_refusals_leave_the_states_unchanged(void **state)
{
    hnn_net *sep = spring_net(1, NULL), *full = spring_net(0, NULL);
    hnn_stepper_def sd = hnn_stepper_def_default();
    hnn_stepper *s = NULL, *mid = NULL;
    hnn_net *wide = NULL;
    hnn_net_def wd = hnn_net_def_default();
    hnn_error err;
    double x[4] = {0.5, 0.1, 0.2, 0.3}, keep[4];
    float xf[2] = {0.5f, 0.1f};
    (void)state;
    memcpy(keep, x, sizeof x);
    assert_int_equal(hnn_stepper_create(full, &sd, &s, &err), HNN_ERR_INVALID_ARG);
    assert_null(s);
    assert_non_null(strstr(err.message, "separable"));
    sd.method = HNN_METHOD_RK4;
    assert_int_equal(hnn_stepper_create(sep, &sd, &s, &err), HNN_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "rk4"));
    sd = hnn_stepper_def_default();
    sd.max_count = 0;
    assert_int_equal(hnn_stepper_create(sep, &sd, &s, &err), HNN_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "max_count 0"));
    s = make_stepper(sep, HNN_METHOD_LEAPFROG, 2);
    assert_int_equal(hnn_stepper_step(NULL, sep, x, 1, 0.1), HNN_ERR_NULL);
    assert_int_equal(hnn_stepper_step(s, sep, x, 3, 0.1), HNN_ERR_INVALID_ARG);
    assert_non_null(strstr(hnn_stepper_last_error(s), "count 3"));
    assert_int_equal(hnn_stepper_step(s, sep, x, 1, 0.0), HNN_ERR_INVALID_ARG);
    assert_int_equal(hnn_stepper_step(s, sep, x, 1, NAN), HNN_ERR_INVALID_ARG);
    assert_int_equal(hnn_stepper_step_f32(s, sep, xf, 1, INFINITY), HNN_ERR_INVALID_ARG);
    x[3] = NAN;
    assert_int_equal(hnn_stepper_step(s, sep, x, 2, 0.1), HNN_ERR_NONFINITE);
    assert_non_null(strstr(hnn_stepper_last_error(s), "state 1 holds NaN"));
    assert_memory_equal(x, keep, 3 * sizeof(double));
    x[3] = keep[3];
    assert_int_equal(hnn_stepper_step(s, full, x, 1, 0.1), HNN_ERR_INVALID_ARG); /* not separable */
    wd.dof = 2;
    assert_int_equal(hnn_net_create(&wd, &wide, NULL), HNN_OK);
    assert_int_equal(hnn_stepper_step(s, wide, x, 1, 0.1), HNN_ERR_SIZE_MISMATCH);
    assert_memory_equal(x, keep, sizeof x);
    /* one iteration cannot converge: refused, the states as they were */
    sd = hnn_stepper_def_default();
    sd.method = HNN_METHOD_IMPLICIT_MIDPOINT;
    sd.max_iterations = 1;
    assert_int_equal(hnn_stepper_create(full, &sd, &mid, &err), HNN_OK);
    assert_int_equal(hnn_stepper_step(mid, full, x, 2, 0.5), HNN_ERR_NO_CONVERGENCE);
    assert_non_null(strstr(hnn_stepper_last_error(mid), "did not converge"));
    assert_null(strstr(hnn_stepper_last_error(mid), "last correction 0)")); /* the real one */
    assert_memory_equal(x, keep, sizeof x);
    assert_int_equal(hnn_stepper_step_f32(mid, full, xf, 1, 0.5f), HNN_ERR_NO_CONVERGENCE);
    assert_true(xf[0] == 0.5f && xf[1] == 0.1f);
    hnn_stepper_destroy(mid);
    hnn_stepper_destroy(s);
    hnn_net_destroy(wide);
    hnn_net_destroy(sep);
    hnn_net_destroy(full);
}

/* A stepper serves any separable net of its shape, with that net's own mass: symplectic
 * Euler from (0, 1) on an untrained net of mass 5 drifts q by h p' / 5. */
static void test_the_step_uses_the_given_nets_mass(void **state)
{
    hnn_net_def def = hnn_net_def_default();
    hnn_net *a = NULL, *b = NULL;
    hnn_stepper *s;
    double x[2] = {0.0, 1.0}, g[2];
    float xf[2] = {0.0f, 1.0f};
    (void)state;
    def.widths[0] = def.widths[1] = 8;
    def.features = HNN_FEATURES_POSITIONS;
    def.kinetic_mass = 1.0;
    assert_int_equal(hnn_net_create(&def, &a, NULL), HNN_OK);
    def.kinetic_mass = 5.0;
    assert_int_equal(hnn_net_create(&def, &b, NULL), HNN_OK);
    s = make_stepper(a, HNN_METHOD_SYMPLECTIC_EULER, 1);
    assert_int_equal(hnn_net_gradient(b, hnn_net_workspace(b), x, 1, NULL, g), HNN_OK);
    assert_int_equal(hnn_stepper_step(s, b, x, 1, 0.1), HNN_OK);
    assert_int_equal(hnn_stepper_step_f32(s, b, xf, 1, 0.1f), HNN_OK);
    /* p' = 1 - 0.1 dH/dq(0), q' = 0.1 p' / 5 */
    assert_true(fabs(x[1] - (1.0 - 0.1 * g[0])) <= 1e-15);
    assert_true(fabs(x[0] - 0.1 * x[1] / 5.0) <= 1e-15);
    assert_true(fabs((double)xf[0] - x[0]) <= 1e-6);
    hnn_stepper_destroy(s);
    hnn_net_destroy(a);
    hnn_net_destroy(b);
}

/* Everything is allocated at creation: 1000 steps of each precision allocate nothing, and
 * destroying the stepper returns every byte. */
static void test_steps_never_allocate(void **state)
{
    test_counter c = {0, 0, 0, -1, 0};
    hnn_net *net = spring_net(1, &c);
    hnn_stepper_def sd = hnn_stepper_def_default();
    hnn_stepper *s = NULL;
    double x[2 * COUNT];
    float xf[2 * COUNT];
    long before, held;
    size_t i;
    (void)state;
    for (i = 0; i < 2 * COUNT; i++)
        xf[i] = (float)(x[i] = 0.01 * (double)i);
    held = c.live_bytes;
    sd.allocator = test_allocator(&c);
    sd.max_count = COUNT;
    assert_int_equal(hnn_stepper_create(net, &sd, &s, NULL), HNN_OK);
    before = c.allocs;
    for (i = 0; i < 1000; i++) {
        assert_int_equal(hnn_stepper_step(s, net, x, COUNT, 0.01), HNN_OK);
        assert_int_equal(hnn_stepper_step_f32(s, net, xf, COUNT, 0.01f), HNN_OK);
    }
    assert_int_equal(c.allocs, before);
    hnn_stepper_destroy(s);
    assert_int_equal(c.live_bytes, held);
    hnn_net_destroy(net);
    assert_int_equal(c.live_bytes, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_method_matches_the_integrator),
        cmocka_unit_test(test_batches_match_single_states),
        cmocka_unit_test(test_float_leapfrog_energy_over_a_million_steps),
        cmocka_unit_test(test_refusals_leave_the_states_unchanged),
        cmocka_unit_test(test_steps_never_allocate),
        cmocka_unit_test(test_the_step_uses_the_given_nets_mass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
