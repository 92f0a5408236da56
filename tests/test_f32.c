/* The float evaluation path (hnn_net_*_f32): against the double path on trained and random
 * nets of every kind (the double path evaluated at the same float states, so only the float
 * path's own rounding is measured), the float tanh against the double one, batches against
 * single states bit for bit, parameters that change, loaded models, and the refusals. */
#include "test_util.h"

#include <stdio.h>

enum { COUNT = 200, DIM_MAX = 8 };

/* The float field's and gradient's worst error against the double ones at the same states,
 * relative to the largest component of the double field over the batch (the field's scale),
 * and the energy's relative to the largest |H|. */
typedef struct f32_error {
    double field, grad, energy;
} f32_error;

static f32_error compare(const hnn_net *net, hnn_workspace *ws, const float *x32, size_t count)
{
    const size_t dim = 2 * hnn_net_dof(net);
    static double x[COUNT * DIM_MAX], f[COUNT * DIM_MAX], g[COUNT * DIM_MAX], H[COUNT];
    static float f32[COUNT * DIM_MAX], g32[COUNT * DIM_MAX], H32[COUNT];
    hnn_net_def def = hnn_net_def_default();
    f32_error e = {0.0, 0.0, 0.0};
    double scale_f, scale_h;
    size_t i;
    for (i = 0; i < count * dim; i++)
        x[i] = x32[i];
    assert_int_equal(hnn_net_get_def(net, &def), HNN_OK);
    assert_int_equal(hnn_net_field(net, ws, x, count, f), HNN_OK);
    assert_int_equal(hnn_net_field_f32(net, ws, x32, count, f32), HNN_OK);
    scale_f = test_max_abs(f, count * dim);
    for (i = 0; i < count * dim; i++)
        e.field = test_worse(e.field, fabs((double)f32[i] - f[i]) / scale_f);
    if (def.kind != HNN_NET_HAMILTONIAN)
        return e;
    assert_int_equal(hnn_net_gradient(net, ws, x, count, H, g), HNN_OK);
    assert_int_equal(hnn_net_gradient_f32(net, ws, x32, count, H32, g32), HNN_OK);
    scale_h = test_max_abs(H, count);
    for (i = 0; i < count * dim; i++)
        e.grad = test_worse(e.grad, fabs((double)g32[i] - g[i]) / scale_f);
    for (i = 0; i < count; i++)
        e.energy = test_worse(e.energy, fabs((double)H32[i] - H[i]) / scale_h);
    return e;
}

static void fill_states(test_rng *rng, float *x, size_t count, double lo, double hi)
{
    size_t i;
    for (i = 0; i < count; i++)
        x[i] = (float)test_uniform(rng, lo, hi);
}

static void expect_close(const char *what, f32_error e)
{
    fprintf(stderr, "%-34s field %.2e  grad %.2e  H %.2e\n", what, e.field, e.grad, e.energy);
    if (!(e.field <= 1e-5) || !(e.grad <= 1e-5) || !(e.energy <= 1e-5))
        fail_msg("%s: float against double: field %.3g, grad %.3g, H %.3g", what, e.field,
                 e.grad, e.energy);
}

/* The bound, 1e-5 of the field's scale, on the example nets: trained spring and
 * pendulum nets, translation- and rotation-invariant two-body nets, a separable net of the
 * positions with a kinetic term, a direct-field net, and each activation. */
static void test_float_field_within_1e5_of_double(void **state)
{
    static float x[COUNT * DIM_MAX];
    const size_t widths[2] = {32, 32};
    test_rng rng = {21};
    hnn_net *spring = test_trained_net(HNN_SYSTEM_SPRING);
    hnn_net *pendulum = test_trained_net(HNN_SYSTEM_PENDULUM);
    hnn_activation act;
    size_t k;
    (void)state;
    fill_states(&rng, x, COUNT * 2, -1.5, 1.5);
    expect_close("trained spring (n = 1)", compare(spring, hnn_net_workspace(spring), x, COUNT));
    expect_close("trained pendulum (n = 1)",
                 compare(pendulum, hnn_net_workspace(pendulum), x, COUNT));
    hnn_net_destroy(spring);
    hnn_net_destroy(pendulum);
    for (k = 0; k < 5; k++) {
        static const char *const names[5] = {"two bodies, translation map", "two bodies, rotation map",
                                             "separable, positions + kinetic", "direct-field net",
                                             "n = 4, identity, 3 layers"};
        hnn_net_def def = hnn_net_def_default();
        hnn_net *net = NULL;
        def.dof = k == 2 ? 2 : 4;
        def.widths[0] = def.widths[1] = def.widths[2] = 48;
        def.depth = k == 4 ? 3 : 2;
        def.seed = 30 + k;
        def.features = k == 0 ? HNN_FEATURES_TRANSLATION
                       : k == 1 ? HNN_FEATURES_ROTATION
                       : k == 2 ? HNN_FEATURES_POSITIONS
                                : HNN_FEATURES_IDENTITY;
        def.bodies = k < 2 ? 2 : 0;
        def.kinetic_mass = k == 2 ? 1.5 : 0.0;
        def.kind = k == 3 ? HNN_NET_FIELD : HNN_NET_HAMILTONIAN;
        assert_int_equal(hnn_net_create(&def, &net, NULL), HNN_OK);
        fill_states(&rng, x, COUNT * 2 * def.dof, -2.0, 2.0);
        expect_close(names[k], compare(net, hnn_net_workspace(net), x, COUNT));
        hnn_net_destroy(net);
    }
    for (act = HNN_ACTIVATION_TANH; act <= HNN_ACTIVATION_SILU; act++) {
        static const char *const names[4] = {"activation tanh", "activation softplus",
                                             "activation sine", "activation SiLU"};
        hnn_net *net = test_make_net(HNN_NET_HAMILTONIAN, 3, 2, widths, 40);
        hnn_net_def def = hnn_net_def_default();
        hnn_net *other = NULL;
        assert_int_equal(hnn_net_get_def(net, &def), HNN_OK);
        def.activation = act;
        assert_int_equal(hnn_net_create(&def, &other, NULL), HNN_OK);
        fill_states(&rng, x, COUNT * 6, -2.0, 2.0);
        expect_close(names[act], compare(other, hnn_net_workspace(other), x, COUNT));
        hnn_net_destroy(other);
        hnn_net_destroy(net);
    }
}

/* ULPs between two floats (their order as integers). */
static double float_ulps(float a, float b)
{
    int32_t ia, ib;
    memcpy(&ia, &a, sizeof ia);
    memcpy(&ib, &b, sizeof ib);
    if (ia < 0)
        ia = INT32_MIN - ia;
    if (ib < 0)
        ib = INT32_MIN - ib;
    return fabs((double)ia - (double)ib);
}

/* The float tanh, through a net that is tanh itself (H = tanh(q): W = [1, 0], b = 0, w = 1,
 * c = 0), within 2 ulp of the double tanh rounded to float from 0 through the polynomial's
 * edge (0.625) to saturation (9), both signs. */
static void test_float_tanh_within_two_ulp(void **state)
{
    const size_t width = 1;
    const double p[5] = {1.0, 0.0, 0.0, 1.0, 0.0};
    hnn_net *net = test_make_net(HNN_NET_HAMILTONIAN, 1, 1, &width, 1);
    hnn_workspace *ws = hnn_net_workspace(net);
    static float x[2 * 4001], H[4001];
    double worst = 0.0;
    size_t i;
    (void)state;
    assert_int_equal(hnn_net_params_set(net, p, 5), HNN_OK);
    for (i = 0; i <= 4000; i++) {
        x[2 * i] = (float)(-10.0 + 0.005 * (double)i);
        x[2 * i + 1] = 0.0f;
    }
    assert_int_equal(hnn_net_energy_f32(net, ws, x, 4001, H), HNN_OK);
    for (i = 0; i <= 4000; i++)
        worst = test_worse(worst, float_ulps(H[i], (float)tanh((double)x[2 * i])));
    fprintf(stderr, "float tanh: worst %.0f ulp over 4001 arguments in [-10, 10]\n", worst);
    if (!(worst <= 2.0))
        fail_msg("float tanh %.0f ulp from the double one", worst);
    hnn_net_destroy(net);
}

/* The same over every float in [0, 10] and its negative (about 2.2e9 arguments, a minute):
 * run with HNN_TEST_EXHAUSTIVE=1 set (docs/performance.md quotes it); skipped otherwise. */
static void test_float_tanh_every_float(void **state)
{
    enum { BLOCK = 4096 };
    const size_t width = 1;
    const double p[5] = {1.0, 0.0, 0.0, 1.0, 0.0};
    hnn_net *net;
    static float x[2 * BLOCK], H[BLOCK];
    const uint32_t last = 0x41200000u; /* 10.0f */
    double worst = 0.0;
    uint32_t u = 0;
    size_t i;
    (void)state;
    if (getenv("HNN_TEST_EXHAUSTIVE") == NULL)
        skip();
    net = test_make_net(HNN_NET_HAMILTONIAN, 1, 1, &width, 1);
    assert_int_equal(hnn_net_params_set(net, p, 5), HNN_OK);
    while (u <= last) {
        const size_t n = last - u + 1 < BLOCK / 2 ? last - u + 1 : BLOCK / 2;
        for (i = 0; i < n; i++) { /* u + i and its negative */
            const uint32_t v = u + (uint32_t)i;
            memcpy(&x[4 * i], &v, sizeof v);
            x[4 * i + 2] = -x[4 * i];
            x[4 * i + 1] = x[4 * i + 3] = 0.0f;
        }
        assert_int_equal(hnn_net_energy_f32(net, hnn_net_workspace(net), x, 2 * n, H), HNN_OK);
        for (i = 0; i < 2 * n; i++)
            worst = test_worse(worst, float_ulps(H[i], (float)tanh((double)x[2 * i])));
        u += (uint32_t)n;
    }
    fprintf(stderr, "float tanh: worst %.0f ulp over every float in [-10, 10]\n", worst);
    if (!(worst <= 1.0))
        fail_msg("float tanh %.0f ulp from the double one", worst);
    hnn_net_destroy(net);
}

/* A batch gives the bits of its states one by one (chunks, tiles and the narrow kernel all
 * sum in one order), for a plain net, a feature map and another activation. */
static void test_float_batch_matches_single_states(void **state)
{
    static float x[COUNT * DIM_MAX], f[COUNT * DIM_MAX], g[COUNT * DIM_MAX], H[COUNT];
    test_rng rng = {5};
    size_t k, s;
    (void)state;
    for (k = 0; k < 3; k++) {
        hnn_net_def def = hnn_net_def_default();
        hnn_net *net = NULL;
        hnn_workspace *ws = NULL;
        def.dof = 4;
        def.widths[0] = 40;
        def.widths[1] = 24;
        def.features = k == 1 ? HNN_FEATURES_ROTATION : HNN_FEATURES_IDENTITY;
        def.bodies = k == 1 ? 2 : 0;
        def.activation = k == 2 ? HNN_ACTIVATION_SOFTPLUS : HNN_ACTIVATION_TANH;
        assert_int_equal(hnn_net_create(&def, &net, NULL), HNN_OK);
        assert_int_equal(hnn_workspace_create(net, &ws, NULL), HNN_OK);
        fill_states(&rng, x, COUNT * 8, -2.0, 2.0);
        assert_int_equal(hnn_net_field_f32(net, ws, x, COUNT, f), HNN_OK);
        assert_int_equal(hnn_net_gradient_f32(net, ws, x, COUNT, H, g), HNN_OK);
        for (s = 0; s < COUNT; s += 7) {
            float f1[8], g1[8], h1;
            assert_int_equal(hnn_net_field_f32(net, ws, x + s * 8, 1, f1), HNN_OK);
            assert_int_equal(hnn_net_gradient_f32(net, ws, x + s * 8, 1, &h1, g1), HNN_OK);
            assert_memory_equal(f1, f + s * 8, sizeof f1);
            assert_memory_equal(g1, g + s * 8, sizeof g1);
            assert_memory_equal(&h1, H + s, sizeof h1);
        }
        hnn_workspace_destroy(ws);
        hnn_net_destroy(net);
    }
}

/* The float weights follow the parameters: after hnn_net_params_set, and in a net loaded
 * from a model file, the float path agrees with the double one again. */
static void test_float_weights_follow_parameters(void **state)
{
    static float x[COUNT * 2], before[COUNT * 2], after[COUNT * 2];
    const size_t widths[2] = {16, 16};
    hnn_net *net = test_make_net(HNN_NET_HAMILTONIAN, 1, 2, widths, 8), *loaded = NULL;
    hnn_workspace *ws = hnn_net_workspace(net);
    const size_t np = hnn_net_param_count(net);
    double *p = malloc(np * sizeof *p);
    unsigned char *buf;
    size_t size, i;
    test_rng rng = {6};
    (void)state;
    fill_states(&rng, x, COUNT * 2, -1.0, 1.0);
    assert_int_equal(hnn_net_field_f32(net, ws, x, COUNT, before), HNN_OK);
    assert_int_equal(hnn_net_params_get(net, p, np), HNN_OK);
    for (i = 0; i < np; i++)
        p[i] *= 1.5;
    assert_int_equal(hnn_net_params_set(net, p, np), HNN_OK);
    assert_int_equal(hnn_net_field_f32(net, ws, x, COUNT, after), HNN_OK);
    assert_true(memcmp(before, after, sizeof before) != 0);
    expect_close("after hnn_net_params_set", compare(net, ws, x, COUNT));
    assert_int_equal(hnn_model_save_buffer(net, NULL, NULL, NULL, 0, &size, NULL), HNN_OK);
    buf = malloc(size);
    assert_int_equal(hnn_model_save_buffer(net, NULL, NULL, buf, size, &size, NULL), HNN_OK);
    assert_int_equal(hnn_model_load_buffer(buf, size, NULL, &loaded, NULL, NULL, NULL), HNN_OK);
    assert_int_equal(hnn_net_field_f32(loaded, hnn_net_workspace(loaded), x, COUNT, before),
                     HNN_OK);
    assert_memory_equal(before, after, sizeof before);
    free(buf);
    free(p);
    hnn_net_destroy(loaded);
    hnn_net_destroy(net);
}

static void test_float_refusals(void **state)
{
    const size_t widths[2] = {8, 8}, wide[2] = {64, 64};
    hnn_net *net = test_make_net(HNN_NET_HAMILTONIAN, 1, 2, widths, 1);
    hnn_net *field = test_make_net(HNN_NET_FIELD, 1, 2, widths, 1);
    hnn_net *big = test_make_net(HNN_NET_HAMILTONIAN, 1, 2, wide, 1);
    hnn_workspace *ws = hnn_net_workspace(net);
    float x[4] = {0.5f, 0.25f, 0.0f, 0.0f}, out[4] = {7.0f, 7.0f, 7.0f, 7.0f};
    (void)state;
    assert_int_equal(hnn_net_field_f32(net, NULL, x, 1, out), HNN_ERR_NULL);
    assert_int_equal(hnn_net_field_f32(net, ws, NULL, 1, out), HNN_ERR_NULL);
    assert_int_equal(hnn_net_field_f32(net, ws, x, 0, out), HNN_ERR_INVALID_ARG);
    x[3] = NAN;
    assert_int_equal(hnn_net_gradient_f32(net, ws, x, 2, NULL, out), HNN_ERR_NONFINITE);
    assert_non_null(strstr(hnn_workspace_last_error(ws), "state 1 holds NaN"));
    x[3] = INFINITY;
    assert_int_equal(hnn_net_energy_f32(net, ws, x, 2, out), HNN_ERR_NONFINITE);
    assert_true(out[0] == 7.0f && out[1] == 7.0f); /* nothing written */
    x[3] = 0.0f;
    assert_int_equal(hnn_net_energy_f32(field, hnn_net_workspace(field), x, 1, out),
                     HNN_ERR_WRONG_KIND);
    assert_int_equal(hnn_net_gradient_f32(field, hnn_net_workspace(field), x, 1, NULL, out),
                     HNN_ERR_WRONG_KIND);
    assert_int_equal(hnn_net_field_f32(field, hnn_net_workspace(field), x, 1, out), HNN_OK);
    assert_int_equal(hnn_net_field_f32(big, ws, x, 1, out), HNN_ERR_SIZE_MISMATCH);
    assert_int_equal(hnn_net_field_f32(net, ws, x, SIZE_MAX / 2, out), HNN_ERR_TOO_LARGE);
    {   /* a weight beyond float's range: the double path works, the float one refuses */
        const size_t np = hnn_net_param_count(net);
        double *p = malloc(np * sizeof *p), f64[2], x64[2] = {0.5, 0.25};
        assert_int_equal(hnn_net_params_get(net, p, np), HNN_OK);
        p[3] = 1e39;
        assert_int_equal(hnn_net_params_set(net, p, np), HNN_OK);
        assert_int_equal(hnn_net_field(net, ws, x64, 1, f64), HNN_OK);
        assert_int_equal(hnn_net_field_f32(net, ws, x, 1, out), HNN_ERR_NONFINITE);
        assert_non_null(strstr(hnn_workspace_last_error(ws), "parameter 3"));
        free(p);
    }
    hnn_net_destroy(big);
    hnn_net_destroy(field);
    hnn_net_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_float_field_within_1e5_of_double),
        cmocka_unit_test(test_float_tanh_within_two_ulp),
        cmocka_unit_test(test_float_tanh_every_float),
        cmocka_unit_test(test_float_batch_matches_single_states),
        cmocka_unit_test(test_float_weights_follow_parameters),
        cmocka_unit_test(test_float_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
