/* Tests for the optimizer room: SGD, Adam and AdamW steps against reference steps computed
 * here by hand from PyTorch's documented update rules, state round trips, bad input. */
#include "test_util.h"

#define NP 3

/* f(p) = 1/2 sum a_i p_i^2 + c_i p_i: a small quadratic with a known gradient. */
static const double qa[NP] = {2.0, 0.5, 10.0}, qc[NP] = {0.3, -1.0, 0.0};

static void quad_grad(const double *p, double *g)
{
    int i;
    for (i = 0; i < NP; i++)
        g[i] = qa[i] * p[i] + qc[i];
}

static hnn_optimizer *make_opt(const hnn_optimizer_def *def)
{
    hnn_optimizer *opt = NULL;
    hnn_error err;
    assert_int_equal(hnn_optimizer_create(def, NP, &opt, &err), HNN_OK);
    return opt;
}

static void assert_close(const double *a, const double *b, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        assert_true(fabs(a[i] - b[i]) <= 1e-15 * fmax(1.0, fabs(b[i])));
}

/* The very first Adam step is lr * sign(g) (up to eps): m_hat = g, v_hat = g^2. */
static void test_first_adam_step_by_hand(void **state)
{
    hnn_optimizer_def def = hnn_optimizer_def_default(HNN_OPT_ADAM);
    hnn_optimizer *opt = make_opt(&def);
    double p[NP] = {1.0, 1.0, 0.0}, g[NP];
    (void)state;
    quad_grad(p, g); /* g = {2.3, -0.5, 0} */
    assert_int_equal(hnn_optimizer_step(opt, p, g, NP), HNN_OK);
    assert_true(fabs(p[0] - (1.0 - 1e-3 * 2.3 / (2.3 + 1e-8))) <= 1e-16);
    assert_true(fabs(p[1] - (1.0 + 1e-3 * 0.5 / (0.5 + 1e-8))) <= 1e-16);
    assert_true(p[2] == 0.0);
    assert_int_equal(hnn_optimizer_steps(opt), 1);
    hnn_optimizer_destroy(opt);
}

/* Reference Adam/AdamW, written from the textbook formulas (Kingma & Ba; Loshchilov &
 * Hutter) as PyTorch documents them. */
static void reference_adam(int decoupled, int amsgrad, double lr, double b1, double b2,
                           double eps, double wd, int steps, double *p)
{
    double m[NP] = {0}, v[NP] = {0}, vmax[NP] = {0}, g[NP];
    int t, i;
    for (t = 1; t <= steps; t++) {
        quad_grad(p, g);
        for (i = 0; i < NP; i++) {
            double mh, vh;
            if (decoupled)
                p[i] -= lr * wd * p[i];
            else
                g[i] += wd * p[i];
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
            vmax[i] = v[i] > vmax[i] ? v[i] : vmax[i];
            mh = m[i] / (1 - pow(b1, t));
            vh = (amsgrad ? vmax[i] : v[i]) / (1 - pow(b2, t));
            p[i] -= lr * mh / (sqrt(vh) + eps);
        }
    }
}

static void run_adam_case(hnn_optimizer_kind kind, int amsgrad, double wd)
{
    hnn_optimizer_def def = hnn_optimizer_def_default(kind);
    hnn_optimizer *opt;
    double p[NP] = {1.0, -2.0, 0.7}, ref[NP] = {1.0, -2.0, 0.7}, g[NP];
    int t;
    def.lr = 0.05;
    def.beta1 = 0.8;
    def.beta2 = 0.99;
    def.eps = 1e-6;
    def.weight_decay = wd;
    def.amsgrad = amsgrad;
    opt = make_opt(&def);
    for (t = 0; t < 25; t++) {
        quad_grad(p, g);
        assert_int_equal(hnn_optimizer_step(opt, p, g, NP), HNN_OK);
    }
    reference_adam(kind == HNN_OPT_ADAMW, amsgrad, 0.05, 0.8, 0.99, 1e-6, wd, 25, ref);
    assert_close(p, ref, NP);
    hnn_optimizer_destroy(opt);
}

static void test_adam_matches_reference(void **state)
{
    (void)state;
    run_adam_case(HNN_OPT_ADAM, 0, 0.0);
    run_adam_case(HNN_OPT_ADAM, 0, 0.1);  /* coupled L2 */
    run_adam_case(HNN_OPT_ADAM, 1, 0.0);  /* amsgrad */
    run_adam_case(HNN_OPT_ADAMW, 0, 0.1); /* decoupled */
    run_adam_case(HNN_OPT_ADAMW, 1, 0.1);
}

/* Coupled and decoupled decay are genuinely different updates. */
static void test_adam_and_adamw_differ_with_decay(void **state)
{
    hnn_optimizer_def a = hnn_optimizer_def_default(HNN_OPT_ADAM);
    hnn_optimizer_def w = hnn_optimizer_def_default(HNN_OPT_ADAMW);
    hnn_optimizer *oa, *ow;
    double pa[NP] = {1, 1, 1}, pw[NP] = {1, 1, 1}, g[NP] = {0.1, 0.1, 0.1};
    (void)state;
    assert_true(w.weight_decay == 1e-2); /* PyTorch's AdamW default */
    assert_true(a.weight_decay == 0.0);
    a.weight_decay = w.weight_decay = 0.5;
    oa = make_opt(&a);
    ow = make_opt(&w);
    assert_int_equal(hnn_optimizer_step(oa, pa, g, NP), HNN_OK);
    assert_int_equal(hnn_optimizer_step(ow, pw, g, NP), HNN_OK);
    /* AdamW: p (1 - lr wd) - lr sign(g) = 1 - 5e-4 - 1e-3; Adam: g' = 0.6 so only - 1e-3 */
    assert_true(fabs(pw[0] - (1.0 - 5e-4 - 1e-3 * 0.1 / (0.1 + 1e-8))) <= 1e-15);
    assert_true(fabs(pa[0] - (1.0 - 1e-3 * 0.6 / (0.6 + 1e-8))) <= 1e-15);
    hnn_optimizer_destroy(oa);
    hnn_optimizer_destroy(ow);
}

/* Reference SGD from PyTorch's documented rule. */
static void reference_sgd(double lr, double mom, double damp, int nesterov, double wd,
                          int steps, double *p)
{
    double b[NP] = {0}, g[NP];
    int t, i;
    for (t = 1; t <= steps; t++) {
        quad_grad(p, g);
        for (i = 0; i < NP; i++) {
            g[i] += wd * p[i];
            if (mom != 0.0) {
                b[i] = t == 1 ? g[i] : mom * b[i] + (1 - damp) * g[i];
                g[i] = nesterov ? g[i] + mom * b[i] : b[i];
            }
            p[i] -= lr * g[i];
        }
    }
}

static void run_sgd_case(double mom, double damp, int nesterov, double wd)
{
    hnn_optimizer_def def = hnn_optimizer_def_default(HNN_OPT_SGD);
    hnn_optimizer *opt;
    double p[NP] = {1.0, -2.0, 0.7}, ref[NP] = {1.0, -2.0, 0.7}, g[NP];
    int t;
    def.lr = 0.04;
    def.momentum = mom;
    def.dampening = damp;
    def.nesterov = nesterov;
    def.weight_decay = wd;
    opt = make_opt(&def);
    for (t = 0; t < 30; t++) {
        quad_grad(p, g);
        assert_int_equal(hnn_optimizer_step(opt, p, g, NP), HNN_OK);
    }
    reference_sgd(0.04, mom, damp, nesterov, wd, 30, ref);
    assert_close(p, ref, NP);
    hnn_optimizer_destroy(opt);
}

static void test_sgd_matches_reference(void **state)
{
    hnn_optimizer_def def = hnn_optimizer_def_default(HNN_OPT_SGD);
    hnn_optimizer *opt;
    double p[NP] = {1.0, 1.0, 1.0}, g[NP];
    (void)state;
    /* plain SGD by hand: p - lr g */
    opt = make_opt(&def);
    quad_grad(p, g);
    assert_int_equal(hnn_optimizer_step(opt, p, g, NP), HNN_OK);
    assert_true(p[0] == 1.0 - 1e-3 * 2.3 && p[1] == 1.0 - 1e-3 * -0.5 && p[2] == 1.0 - 1e-3 * 10.0);
    hnn_optimizer_destroy(opt);
    run_sgd_case(0.0, 0.0, 0, 0.0);
    run_sgd_case(0.9, 0.0, 0, 0.0);
    run_sgd_case(0.9, 0.1, 0, 0.01);
    run_sgd_case(0.8, 0.0, 1, 0.05);
}

/* Saving the state mid-way and restoring it gives the same bits as never stopping. */
static void test_state_round_trip_resumes_exactly(void **state)
{
    const hnn_optimizer_kind kinds[3] = {HNN_OPT_SGD, HNN_OPT_ADAM, HNN_OPT_ADAMW};
    int k;
    (void)state;
    for (k = 0; k < 3; k++) {
        hnn_optimizer_def def = hnn_optimizer_def_default(kinds[k]);
        hnn_optimizer *a, *b;
        double pa[NP] = {1, 2, 3}, pb[NP], g[NP], saved[1 + 3 * NP];
        size_t size;
        int t;
        def.momentum = kinds[k] == HNN_OPT_SGD ? 0.9 : 0.0;
        def.amsgrad = kinds[k] == HNN_OPT_ADAMW;
        a = make_opt(&def);
        b = make_opt(&def);
        size = hnn_optimizer_state_size(a);
        assert_int_equal(size, kinds[k] == HNN_OPT_SGD ? 1 + NP : (def.amsgrad ? 1 + 3 * NP : 1 + 2 * NP));
        for (t = 0; t < 7; t++) {
            quad_grad(pa, g);
            assert_int_equal(hnn_optimizer_step(a, pa, g, NP), HNN_OK);
        }
        assert_int_equal(hnn_optimizer_state_get(a, saved, size), HNN_OK);
        assert_true(saved[0] == 7.0);
        assert_int_equal(hnn_optimizer_state_set(b, saved, size), HNN_OK);
        memcpy(pb, pa, sizeof pa);
        for (t = 0; t < 5; t++) {
            quad_grad(pa, g);
            assert_int_equal(hnn_optimizer_step(a, pa, g, NP), HNN_OK);
            quad_grad(pb, g);
            assert_int_equal(hnn_optimizer_step(b, pb, g, NP), HNN_OK);
        }
        assert_memory_equal(pa, pb, sizeof pa);
        assert_int_equal(hnn_optimizer_steps(b), 12);
        hnn_optimizer_destroy(a);
        hnn_optimizer_destroy(b);
    }
}

static void test_reset_and_learning_rate(void **state)
{
    hnn_optimizer_def def = hnn_optimizer_def_default(HNN_OPT_ADAM);
    hnn_optimizer *a = make_opt(&def), *fresh = make_opt(&def);
    double pa[NP] = {1, 2, 3}, pf[NP] = {1, 2, 3}, g[NP];
    int t;
    (void)state;
    for (t = 0; t < 4; t++) {
        quad_grad(pa, g);
        assert_int_equal(hnn_optimizer_step(a, pa, g, NP), HNN_OK);
    }
    hnn_optimizer_reset(a);
    hnn_optimizer_reset(NULL);
    assert_int_equal(hnn_optimizer_steps(a), 0);
    memcpy(pf, pa, sizeof pa);
    quad_grad(pa, g);
    assert_int_equal(hnn_optimizer_step(a, pa, g, NP), HNN_OK);
    assert_int_equal(hnn_optimizer_step(fresh, pf, g, NP), HNN_OK);
    assert_memory_equal(pa, pf, sizeof pa); /* as if newly created */

    assert_true(hnn_optimizer_lr(a) == 1e-3);
    assert_int_equal(hnn_optimizer_set_lr(a, 0.5), HNN_OK);
    assert_true(hnn_optimizer_lr(a) == 0.5);
    assert_int_equal(hnn_optimizer_set_lr(a, -1.0), HNN_ERR_INVALID_ARG);
    assert_int_equal(hnn_optimizer_set_lr(a, NAN), HNN_ERR_INVALID_ARG);
    assert_int_equal(hnn_optimizer_set_lr(NULL, 0.1), HNN_ERR_NULL);
    assert_true(hnn_optimizer_lr(a) == 0.5);
    assert_int_equal(hnn_optimizer_param_count(a), NP);
    hnn_optimizer_destroy(a);
    hnn_optimizer_destroy(fresh);
}

static void test_bad_optimizer_input(void **state)
{
    hnn_optimizer_def def;
    hnn_optimizer *opt = NULL;
    hnn_error err;
    double p[NP] = {1, 2, 3}, before[NP] = {1, 2, 3}, g[NP] = {0.1, NAN, 0.1}, st[1 + 2 * NP];
    (void)state;
    def = hnn_optimizer_def_default(HNN_OPT_ADAM);
    assert_int_equal(hnn_optimizer_create(NULL, NP, &opt, &err), HNN_ERR_NULL);
    assert_int_equal(hnn_optimizer_create(&def, NP, NULL, &err), HNN_ERR_NULL);
    assert_int_equal(hnn_optimizer_create(&def, 0, &opt, &err), HNN_ERR_INVALID_ARG);
    assert_int_equal(hnn_optimizer_create(&def, SIZE_MAX / 2, &opt, &err), HNN_ERR_TOO_LARGE);
    def.lr = -1;
    assert_int_equal(hnn_optimizer_create(&def, NP, &opt, &err), HNN_ERR_INVALID_ARG);
    def = hnn_optimizer_def_default(HNN_OPT_ADAM);
    def.beta2 = 1.0;
    assert_int_equal(hnn_optimizer_create(&def, NP, &opt, &err), HNN_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "beta"));
    def = hnn_optimizer_def_default(HNN_OPT_ADAM);
    def.eps = 0.0;
    assert_int_equal(hnn_optimizer_create(&def, NP, &opt, &err), HNN_ERR_INVALID_ARG);
    def = hnn_optimizer_def_default(HNN_OPT_SGD);
    def.nesterov = 1; /* without momentum */
    assert_int_equal(hnn_optimizer_create(&def, NP, &opt, &err), HNN_ERR_INVALID_ARG);
    def = hnn_optimizer_def_default(HNN_OPT_SGD);
    def.kind = (hnn_optimizer_kind)9;
    assert_int_equal(hnn_optimizer_create(&def, NP, &opt, &err), HNN_ERR_INVALID_ARG);
    assert_null(opt);

    def = hnn_optimizer_def_default(HNN_OPT_ADAM);
    opt = make_opt(&def);
    assert_int_equal(hnn_optimizer_step(opt, p, g, NP), HNN_ERR_NONFINITE);
    assert_non_null(strstr(hnn_optimizer_last_error(opt), "grad[1]"));
    assert_memory_equal(p, before, sizeof p);
    assert_int_equal(hnn_optimizer_steps(opt), 0);
    assert_int_equal(hnn_optimizer_step(opt, p, before, NP - 1), HNN_ERR_SIZE_MISMATCH);
    assert_non_null(strstr(hnn_optimizer_last_error(opt), "count 2: expected 3"));
    assert_int_equal(hnn_optimizer_set_lr(opt, -1.0), HNN_ERR_INVALID_ARG);
    assert_non_null(strstr(hnn_optimizer_last_error(opt), "learning rate -1"));
    assert_int_equal(hnn_optimizer_set_lr(opt, 1e-3), HNN_OK);
    assert_string_equal(hnn_optimizer_last_error(opt), ""); /* a success clears it */
    assert_string_equal(hnn_optimizer_last_error(NULL), "");
    assert_int_equal(hnn_optimizer_step(NULL, p, before, NP), HNN_ERR_NULL);
    assert_int_equal(hnn_optimizer_step(opt, NULL, before, NP), HNN_ERR_NULL);
    assert_int_equal(hnn_optimizer_state_get(opt, st, 3), HNN_ERR_SIZE_MISMATCH);
    assert_int_equal(hnn_optimizer_state_get(opt, st, 1 + 2 * NP), HNN_OK);
    st[0] = 2.5; /* not a whole step count */
    assert_int_equal(hnn_optimizer_state_set(opt, st, 1 + 2 * NP), HNN_ERR_INVALID_ARG);
    assert_non_null(strstr(hnn_optimizer_last_error(opt), "state[0] = 2.5"));
    st[0] = -0.0; /* would not save back as itself */
    assert_int_equal(hnn_optimizer_state_set(opt, st, 1 + 2 * NP), HNN_ERR_INVALID_ARG);
    st[0] = 3;
    st[1 + NP] = -1.0; /* negative second moment */
    assert_int_equal(hnn_optimizer_state_set(opt, st, 1 + 2 * NP), HNN_ERR_INVALID_ARG);
    st[1 + NP] = INFINITY;
    assert_int_equal(hnn_optimizer_state_set(opt, st, 1 + 2 * NP), HNN_ERR_NONFINITE);
    assert_non_null(strstr(hnn_optimizer_last_error(opt), "state[4]"));
    assert_int_equal(hnn_optimizer_steps(opt), 0); /* refused states changed nothing */
    hnn_optimizer_destroy(opt);
    hnn_optimizer_destroy(NULL);
    assert_int_equal(hnn_optimizer_state_size(NULL), 0);
}

/* An update that would overflow is refused whole: a learning rate whose step is infinite, a
 * gradient whose square overflows the second moment. */
static void test_overflowing_updates_change_nothing(void **state)
{
    hnn_optimizer_def def = hnn_optimizer_def_default(HNN_OPT_ADAM);
    hnn_optimizer *opt;
    double p[NP] = {1, 2, 3}, g[NP] = {0.5, -0.5, 0.25}, st[1 + 2 * NP], st2[1 + 2 * NP];
    const double before[NP] = {1, 2, 3};
    (void)state;
    def.lr = 1e308; /* lr / (1 - beta1) overflows */
    opt = make_opt(&def);
    assert_int_equal(hnn_optimizer_step(opt, p, g, NP), HNN_ERR_NONFINITE);
    assert_memory_equal(p, before, sizeof p);
    assert_int_equal(hnn_optimizer_steps(opt), 0);
    hnn_optimizer_destroy(opt);

    def = hnn_optimizer_def_default(HNN_OPT_ADAM);
    opt = make_opt(&def);
    assert_int_equal(hnn_optimizer_step(opt, p, g, NP), HNN_OK);
    assert_int_equal(hnn_optimizer_state_get(opt, st, 1 + 2 * NP), HNN_OK);
    memcpy(p, before, sizeof p);
    g[1] = 1e200; /* g^2 overflows */
    assert_int_equal(hnn_optimizer_step(opt, p, g, NP), HNN_ERR_NONFINITE);
    assert_memory_equal(p, before, sizeof p);
    assert_int_equal(hnn_optimizer_state_get(opt, st2, 1 + 2 * NP), HNN_OK);
    assert_memory_equal(st, st2, sizeof st); /* the state too */
    hnn_optimizer_destroy(opt);

    /* a huge but finite first step (|p1| ~ 1e295) fails the cheap sufficient test and is
     * decided by the exact one: accepted, and equal to p - lr g / (|g| + eps) (the first Adam
     * step, m_hat = g, v_hat = g^2) */
    def = hnn_optimizer_def_default(HNN_OPT_ADAM);
    def.lr = 1e295;
    opt = make_opt(&def);
    memcpy(p, before, sizeof p);
    g[1] = -0.5;
    assert_int_equal(hnn_optimizer_step(opt, p, g, NP), HNN_OK);
    {
        size_t i;
        for (i = 0; i < NP; i++) {
            const double want = before[i] - def.lr * g[i] / (fabs(g[i]) + def.eps);
            assert_true(fabs(p[i] - want) <= 1e-13 * fabs(want));
        }
    }
    hnn_optimizer_destroy(opt);
}

static void test_steps_never_allocate(void **state)
{
    test_counter counter = {0, 0, 0, -1, 0};
    hnn_optimizer_def def = hnn_optimizer_def_default(HNN_OPT_ADAMW);
    hnn_optimizer *opt;
    double p[NP] = {1, 2, 3}, g[NP];
    long before;
    int t;
    (void)state;
    def.allocator = test_allocator(&counter);
    opt = make_opt(&def);
    before = counter.allocs;
    for (t = 0; t < 10; t++) {
        quad_grad(p, g);
        assert_int_equal(hnn_optimizer_step(opt, p, g, NP), HNN_OK);
    }
    assert_int_equal(counter.allocs, before);
    hnn_optimizer_destroy(opt);
    assert_int_equal(counter.live_bytes, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_adam_step_by_hand),
        cmocka_unit_test(test_adam_matches_reference),
        cmocka_unit_test(test_adam_and_adamw_differ_with_decay),
        cmocka_unit_test(test_sgd_matches_reference),
        cmocka_unit_test(test_state_round_trip_resumes_exactly),
        cmocka_unit_test(test_reset_and_learning_rate),
        cmocka_unit_test(test_bad_optimizer_input),
        cmocka_unit_test(test_overflowing_updates_change_nothing),
        cmocka_unit_test(test_steps_never_allocate),
    };
    return cmocka_run_group_tests_name("optim", tests, NULL, NULL);
}
