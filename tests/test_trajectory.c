/* Tests for the trajectory room: sets from arrays and CSV files (strict parsing, line-named
 * errors, no leak on any failure), splits that never leak, the difference rules against
 * closed forms and their orders of convergence, and the midpoint loss and its gradient
 * against a direct evaluation of its formula and central differences. */
#include "test_util.h"

#include <stdio.h>
#include <string.h>

/* ---- sets from arrays ------------------------------------------------------------------- */

static void test_create_copies_and_reports(void **state)
{
    const size_t lengths[2] = {3, 2};
    double t[5] = {0, 0.1, 0.3, 5, 5.5};
    double x[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    hnn_trajectories *tr = NULL;
    hnn_error err;
    (void)state;
    assert_int_equal(hnn_trajectories_create(1, 2, lengths, t, x, NULL, &tr, &err), HNN_OK);
    x[0] = 99, t[0] = -1; /* copied: the caller's arrays may change */
    assert_int_equal(hnn_trajectories_count(tr), 2);
    assert_int_equal(hnn_trajectories_dof(tr), 1);
    assert_int_equal(hnn_trajectories_total(tr), 5);
    assert_int_equal(hnn_trajectories_length(tr, 0), 3);
    assert_int_equal(hnn_trajectories_length(tr, 1), 2);
    assert_int_equal(hnn_trajectories_length(tr, 2), 0);
    assert_true(hnn_trajectories_times(tr, 0)[0] == 0.0);
    assert_true(hnn_trajectories_states(tr, 0)[0] == 1.0);
    assert_true(hnn_trajectories_times(tr, 1)[1] == 5.5);
    assert_true(hnn_trajectories_states(tr, 1)[3] == 10.0);
    assert_null(hnn_trajectories_times(tr, 2));
    assert_null(hnn_trajectories_states(NULL, 0));
    assert_int_equal(hnn_trajectories_count(NULL), 0);
    hnn_trajectories_destroy(tr);
    hnn_trajectories_destroy(NULL);
}

static void test_create_refuses_bad_input(void **state)
{
    size_t lengths[2] = {3, 2};
    double t[5] = {0, 0.1, 0.3, 5, 5.5};
    double x[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    hnn_trajectories *tr = (hnn_trajectories *)&tr; /* must be reset to NULL */
    hnn_error err;
    (void)state;
    assert_int_equal(hnn_trajectories_create(1, 2, NULL, t, x, NULL, &tr, &err), HNN_ERR_NULL);
    assert_null(tr);
    assert_int_equal(hnn_trajectories_create(0, 2, lengths, t, x, NULL, &tr, &err),
                     HNN_ERR_INVALID_ARG);
    assert_int_equal(hnn_trajectories_create(1, 0, lengths, t, x, NULL, &tr, &err),
                     HNN_ERR_INVALID_ARG);
    lengths[1] = 0;
    assert_int_equal(hnn_trajectories_create(1, 2, lengths, t, x, NULL, &tr, &err),
                     HNN_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "trajectory 1 has length 0"));
    lengths[1] = 2;
    t[2] = 0.1; /* not after the one before */
    assert_int_equal(hnn_trajectories_create(1, 2, lengths, t, x, NULL, &tr, &err),
                     HNN_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "trajectory 0: time 2"));
    t[2] = NAN;
    assert_int_equal(hnn_trajectories_create(1, 2, lengths, t, x, NULL, &tr, &err),
                     HNN_ERR_NONFINITE);
    t[2] = 0.3;
    x[7] = INFINITY;
    assert_int_equal(hnn_trajectories_create(1, 2, lengths, t, x, NULL, &tr, &err),
                     HNN_ERR_NONFINITE);
    assert_non_null(strstr(err.message, "trajectory 1: state 0"));
    x[7] = 8;
    t[3] = 0.0; /* a new trajectory may start at any time */
    assert_int_equal(hnn_trajectories_create(1, 2, lengths, t, x, NULL, &tr, &err), HNN_OK);
    hnn_trajectories_destroy(tr);
    t[0] = -1e308, t[1] = 1e308; /* increasing, but the span overflows */
    assert_int_equal(hnn_trajectories_create(1, 2, lengths, t, x, NULL, &tr, &err),
                     HNN_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "span overflows"));
    t[0] = 0.0, t[1] = 0.1;
    lengths[0] = SIZE_MAX;
    assert_int_equal(hnn_trajectories_create(1, 2, lengths, t, x, NULL, &tr, &err),
                     HNN_ERR_TOO_LARGE);
    assert_null(tr);
}

/* ---- difference rules ------------------------------------------------------------------- */

/* One trajectory of the unit spring, x(t) = (cos t, -sin t), at uneven times t_k = h (k +
 * 0.3 sin k) from t = 0.2. */
static hnn_trajectories *spring_trajectory(double h, size_t len)
{
    double *t = malloc(len * sizeof *t), *x = malloc(2 * len * sizeof *x);
    hnn_trajectories *tr = NULL;
    size_t k;
    for (k = 0; k < len; k++) {
        t[k] = 0.2 + h * ((double)k + 0.3 * sin((double)k));
        x[2 * k] = cos(t[k]);
        x[2 * k + 1] = -sin(t[k]);
    }
    assert_int_equal(hnn_trajectories_create(1, 1, &len, t, x, NULL, &tr, NULL), HNN_OK);
    free(t);
    free(x);
    return tr;
}

/* Largest slope error of a rule's pairs against the exact field at its state ((p, -q)). */
static double rule_error(hnn_difference rule, double h)
{
    hnn_trajectories *tr = spring_trajectory(h, 1 + (size_t)(2.0 / h));
    hnn_dataset *ds = NULL;
    const double *x, *y;
    double worst = 0.0;
    size_t s;
    assert_int_equal(hnn_trajectories_to_dataset(tr, rule, NULL, &ds, NULL), HNN_OK);
    x = hnn_dataset_states(ds);
    y = hnn_dataset_derivatives(ds);
    for (s = 0; s < hnn_dataset_count(ds); s++) {
        worst = test_worse(worst, fabs(y[2 * s] - x[2 * s + 1]));
        worst = test_worse(worst, fabs(y[2 * s + 1] + x[2 * s]));
    }
    hnn_dataset_destroy(ds);
    hnn_trajectories_destroy(tr);
    return worst;
}

static void test_rules_converge_at_their_orders(void **state)
{
    static const hnn_difference rules[3] = {HNN_DIFF_FORWARD, HNN_DIFF_CENTRAL,
                                            HNN_DIFF_MIDPOINT};
    static const double orders[3] = {1.0, 2.0, 2.0};
    size_t r;
    (void)state;
    for (r = 0; r < 3; r++) {
        const double e1 = rule_error(rules[r], 0.02), e2 = rule_error(rules[r], 0.01);
        const double order = log2(e1 / e2);
        fprintf(stderr, "rule %zu: error %.3e at h = 0.02, %.3e at 0.01: order %.3f\n", r, e1,
                e2, order);
        if (!(fabs(order - orders[r]) <= 0.15))
            fail_msg("rule %zu converges at order %g, expected %g", r, order, orders[r]);
    }
}

/* The central rule is exact for quadratics on uneven steps; forward and midpoint slopes are
 * the chord's, exact at the midpoint time. */
static void test_rules_match_closed_forms(void **state)
{
    const size_t len = 5;
    const double t[5] = {0.0, 0.1, 0.35, 0.4, 1.0};
    double x[10], qd[5];
    hnn_trajectories *tr = NULL;
    hnn_dataset *ds = NULL;
    size_t k, j;
    (void)state;
    for (k = 0; k < len; k++) { /* q = 1 + 2t - 3t^2, p = -0.5 + t^2 */
        x[2 * k] = 1.0 + 2.0 * t[k] - 3.0 * t[k] * t[k];
        x[2 * k + 1] = -0.5 + t[k] * t[k];
        qd[k] = 2.0 - 6.0 * t[k];
    }
    assert_int_equal(hnn_trajectories_create(1, 1, &len, t, x, NULL, &tr, NULL), HNN_OK);
    assert_int_equal(hnn_trajectories_to_dataset(tr, HNN_DIFF_CENTRAL, NULL, &ds, NULL), HNN_OK);
    assert_int_equal(hnn_dataset_count(ds), 3);
    for (j = 0; j < 3; j++) {
        const double *xs = hnn_dataset_states(ds) + 2 * j;
        const double *ys = hnn_dataset_derivatives(ds) + 2 * j;
        assert_true(xs[0] == x[2 * (j + 1)] && xs[1] == x[2 * (j + 1) + 1]);
        if (!(fabs(ys[0] - qd[j + 1]) <= 1e-13 && fabs(ys[1] - 2.0 * t[j + 1]) <= 1e-13))
            fail_msg("central slope %zu: %.17g %.17g", j, ys[0], ys[1]);
    }
    hnn_dataset_destroy(ds);
    assert_int_equal(hnn_trajectories_to_dataset(tr, HNN_DIFF_MIDPOINT, NULL, &ds, NULL), HNN_OK);
    assert_int_equal(hnn_dataset_count(ds), 4);
    for (j = 0; j < 4; j++) {
        const double tm = 0.5 * (t[j] + t[j + 1]);
        const double *xs = hnn_dataset_states(ds) + 2 * j;
        const double *ys = hnn_dataset_derivatives(ds) + 2 * j;
        if (!(fabs(xs[0] - 0.5 * (x[2 * j] + x[2 * j + 2])) <= 1e-15 &&
              fabs(ys[0] - (2.0 - 6.0 * tm)) <= 1e-13 && fabs(ys[1] - 2.0 * tm) <= 1e-13))
            fail_msg("midpoint pair %zu: %.17g %.17g %.17g", j, xs[0], ys[0], ys[1]);
    }
    hnn_dataset_destroy(ds);
    assert_int_equal(hnn_trajectories_to_dataset(tr, HNN_DIFF_FORWARD, NULL, &ds, NULL), HNN_OK);
    assert_int_equal(hnn_dataset_count(ds), 4);
    for (j = 0; j < 4; j++) { /* state x_j, slope the chord's: q'(t_mid) for a quadratic */
        const double tm = 0.5 * (t[j] + t[j + 1]);
        const double *xs = hnn_dataset_states(ds) + 2 * j;
        const double *ys = hnn_dataset_derivatives(ds) + 2 * j;
        if (!(xs[0] == x[2 * j] && xs[1] == x[2 * j + 1] &&
              fabs(ys[0] - (2.0 - 6.0 * tm)) <= 1e-13 && fabs(ys[1] - 2.0 * tm) <= 1e-13))
            fail_msg("forward pair %zu: %.17g %.17g %.17g", j, xs[0], ys[0], ys[1]);
    }
    hnn_dataset_destroy(ds);
    hnn_trajectories_destroy(tr);
}

/* Pairs never span two trajectories; too-short trajectories give none; overflow refused. */
static void test_pairs_stay_inside_trajectories(void **state)
{
    const size_t lengths[3] = {2, 1, 3};
    const double t[6] = {0, 1, 7, 0, 1, 2};
    double x[12] = {0, 0, 1, 1, 1e6, -1e6, 5, 5, 6, 6, 7, 7};
    const size_t one = 2;
    const double tiny[2] = {0.0, 1e-300}, far[4] = {0.0, 0.0, 1e10, -1e10};
    hnn_trajectories *tr = NULL;
    hnn_dataset *ds = NULL;
    hnn_error err;
    size_t s;
    (void)state;
    assert_int_equal(hnn_trajectories_create(1, 3, lengths, t, x, NULL, &tr, NULL), HNN_OK);
    assert_int_equal(hnn_trajectories_to_dataset(tr, HNN_DIFF_FORWARD, NULL, &ds, NULL), HNN_OK);
    assert_int_equal(hnn_dataset_count(ds), 1 + 0 + 2);
    for (s = 0; s < 6; s++) /* every slope is 1: none crosses the jump to 1e6 */
        assert_true(hnn_dataset_derivatives(ds)[s] == 1.0);
    hnn_dataset_destroy(ds);
    assert_int_equal(hnn_trajectories_to_dataset(tr, HNN_DIFF_CENTRAL, NULL, &ds, NULL), HNN_OK);
    assert_int_equal(hnn_dataset_count(ds), 1);
    assert_true(hnn_dataset_states(ds)[0] == 6.0);
    hnn_dataset_destroy(ds);
    assert_int_equal(hnn_trajectories_to_dataset(tr, (hnn_difference)7, NULL, &ds, &err),
                     HNN_ERR_INVALID_ARG);
    assert_null(ds);
    hnn_trajectories_destroy(tr);
    assert_int_equal(hnn_trajectories_create(1, 1, &one, tiny, far, NULL, &tr, NULL), HNN_OK);
    assert_int_equal(hnn_trajectories_to_dataset(tr, HNN_DIFF_CENTRAL, NULL, &ds, &err),
                     HNN_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "at least 3"));
    assert_int_equal(hnn_trajectories_to_dataset(tr, HNN_DIFF_FORWARD, NULL, &ds, &err),
                     HNN_ERR_NONFINITE); /* 1e10 / 1e-300 overflows */
    assert_null(ds);
    hnn_trajectories_destroy(tr);
}

/* ---- splits ----------------------------------------------------------------------------- */

/* Four trajectories of lengths 5, 6, 7, 8 with t = 10 i + k and states (i, k). */
static hnn_trajectories *four_trajectories(void)
{
    const size_t lengths[4] = {5, 6, 7, 8};
    double t[26], x[52];
    hnn_trajectories *tr = NULL;
    size_t i, k, o = 0;
    for (i = 0; i < 4; i++)
        for (k = 0; k < lengths[i]; k++, o++) {
            t[o] = 10.0 * (double)i + (double)k;
            x[2 * o] = (double)i;
            x[2 * o + 1] = (double)k;
        }
    assert_int_equal(hnn_trajectories_create(1, 4, lengths, t, x, NULL, &tr, NULL), HNN_OK);
    return tr;
}

static void test_split_by_trajectories(void **state)
{
    hnn_trajectories *tr = four_trajectories(), *a = NULL, *b = NULL;
    hnn_error err;
    (void)state;
    assert_int_equal(hnn_trajectories_split(tr, HNN_SPLIT_TRAJECTORIES, 0.75, &a, &b, &err),
                     HNN_OK);
    assert_int_equal(hnn_trajectories_count(a), 3);
    assert_int_equal(hnn_trajectories_count(b), 1);
    assert_int_equal(hnn_trajectories_total(a) + hnn_trajectories_total(b), 26);
    assert_int_equal(hnn_trajectories_length(b, 0), 8);
    assert_true(hnn_trajectories_states(b, 0)[0] == 3.0); /* the last one, whole */
    assert_true(hnn_trajectories_times(a, 2)[6] == 26.0);
    hnn_trajectories_destroy(a);
    hnn_trajectories_destroy(b);
    /* round(0.625 x 4) = 3 (floor would give 2) */
    assert_int_equal(hnn_trajectories_split(tr, HNN_SPLIT_TRAJECTORIES, 0.625, &a, &b, &err),
                     HNN_OK);
    assert_int_equal(hnn_trajectories_count(a), 3);
    hnn_trajectories_destroy(a);
    hnn_trajectories_destroy(b);
    a = b = (hnn_trajectories *)&a;
    assert_int_equal(hnn_trajectories_split(tr, HNN_SPLIT_TRAJECTORIES, 0.1, &a, &b, &err),
                     HNN_ERR_INVALID_ARG); /* rounds to no training trajectory */
    assert_null(a);
    assert_null(b);
    assert_non_null(strstr(err.message, "training"));
    assert_int_equal(hnn_trajectories_split(tr, HNN_SPLIT_TRAJECTORIES, 1.0, &a, &b, &err),
                     HNN_ERR_INVALID_ARG);
    a = b = (hnn_trajectories *)&a;
    assert_int_equal(hnn_trajectories_split(tr, HNN_SPLIT_TRAJECTORIES, NAN, &a, &b, &err),
                     HNN_ERR_INVALID_ARG);
    assert_null(a);
    assert_null(b);
    assert_int_equal(hnn_trajectories_split(tr, (hnn_split)5, 0.5, &a, &b, &err),
                     HNN_ERR_INVALID_ARG);
    assert_int_equal(hnn_trajectories_split(NULL, HNN_SPLIT_TIME, 0.5, &a, &b, &err),
                     HNN_ERR_NULL);
    hnn_trajectories_destroy(tr);
}

static void test_split_by_time_never_leaks(void **state)
{
    hnn_trajectories *tr = four_trajectories(), *a = NULL, *b = NULL;
    size_t i;
    (void)state;
    /* cut at 60 % of each span: lengths 5..8 give 3 + 2, 3 + 3, 4 + 3, 5 + 3 observations */
    assert_int_equal(hnn_trajectories_split(tr, HNN_SPLIT_TIME, 0.6, &a, &b, NULL), HNN_OK);
    assert_int_equal(hnn_trajectories_count(a), 4);
    assert_int_equal(hnn_trajectories_count(b), 4);
    assert_int_equal(hnn_trajectories_total(a) + hnn_trajectories_total(b), 26);
    for (i = 0; i < 4; i++) {
        const size_t la = hnn_trajectories_length(a, i), lb = hnn_trajectories_length(b, i);
        const double *ta = hnn_trajectories_times(a, i), *tb = hnn_trajectories_times(b, i);
        const double span = (double)(la + lb - 1), t0 = 10.0 * (double)i;
        assert_true(ta[0] == t0 && tb[lb - 1] == t0 + span);
        assert_true(ta[la - 1] < tb[0]); /* the sides share no observation */
        assert_true(ta[la - 1] - t0 < 0.6 * span && tb[0] - t0 >= 0.6 * span);
        assert_true(hnn_trajectories_states(b, i)[0] == (double)i);
    }
    hnn_trajectories_destroy(a);
    hnn_trajectories_destroy(b);
    /* at 0.9, the test pieces are single observations: dropped, and the test side is empty */
    assert_int_equal(hnn_trajectories_split(tr, HNN_SPLIT_TIME, 0.9, &a, &b, NULL),
                     HNN_ERR_INVALID_ARG);
    /* at 0.85 only the 8-long one keeps a test piece of 2 (t = 36, 37 past the cut 35.95) */
    assert_int_equal(hnn_trajectories_split(tr, HNN_SPLIT_TIME, 0.85, &a, &b, NULL), HNN_OK);
    assert_int_equal(hnn_trajectories_count(b), 1);
    assert_true(hnn_trajectories_states(b, 0)[0] == 3.0);
    hnn_trajectories_destroy(a);
    hnn_trajectories_destroy(b);
    hnn_trajectories_destroy(tr);
}

/* ---- the midpoint loss: the library's value and gradient against the formula ------------ */

/* mean |(x_{k+1} - x_k) / h_k - f((x_k + x_{k+1}) / 2)|^2 / (2n), evaluated directly from
 * the trajectories with hnn_net_field (no dataset). */
static double midpoint_loss_direct(const hnn_net *net, hnn_workspace *ws,
                                   const hnn_trajectories *tr)
{
    const size_t dim = 2 * hnn_trajectories_dof(tr);
    double sum = 0.0, mid[8], f[8];
    size_t i, k, c, pairs = 0;
    for (i = 0; i < hnn_trajectories_count(tr); i++) {
        const double *t = hnn_trajectories_times(tr, i), *x = hnn_trajectories_states(tr, i);
        for (k = 0; k + 1 < hnn_trajectories_length(tr, i); k++, pairs++) {
            for (c = 0; c < dim; c++)
                mid[c] = 0.5 * (x[k * dim + c] + x[(k + 1) * dim + c]);
            assert_int_equal(hnn_net_field(net, ws, mid, 1, f), HNN_OK);
            for (c = 0; c < dim; c++) {
                const double r = (x[(k + 1) * dim + c] - x[k * dim + c]) / (t[k + 1] - t[k]) - f[c];
                sum += r * r;
            }
        }
    }
    return sum / (double)(pairs * dim);
}

static void check_midpoint_loss(hnn_net_kind kind)
{
    const size_t widths[2] = {12, 10};
    hnn_net *net = test_make_net(kind, 2, 2, widths, 3);
    hnn_trajectories *tr = NULL;
    hnn_dataset *ds = NULL;
    hnn_loss_workspace *lw = NULL;
    const size_t lengths[2] = {4, 3}, np = hnn_net_param_count(net);
    double t[7] = {0, 0.3, 0.5, 1.1, 2, 2.2, 2.9}, x[28], *p = malloc(np * sizeof *p);
    double *g = malloc(np * sizeof *g), loss, direct, worst = 0.0;
    test_rng rng = {11};
    size_t j;
    test_fill(&rng, x, 28, -1.0, 1.0);
    assert_int_equal(hnn_trajectories_create(2, 2, lengths, t, x, NULL, &tr, NULL), HNN_OK);
    assert_int_equal(hnn_trajectories_to_dataset(tr, HNN_DIFF_MIDPOINT, NULL, &ds, NULL), HNN_OK);
    assert_int_equal(hnn_loss_workspace_create(net, &lw, NULL), HNN_OK);
    assert_int_equal(hnn_loss_mse(net, lw, hnn_dataset_states(ds), hnn_dataset_derivatives(ds),
                                  hnn_dataset_count(ds), &loss, g),
                     HNN_OK);
    direct = midpoint_loss_direct(net, hnn_net_workspace(net), tr);
    if (!(fabs(loss - direct) <= 1e-14 * fabs(loss)))
        fail_msg("midpoint loss %.17g, formula %.17g", loss, direct);
    assert_int_equal(hnn_net_params_get(net, p, np), HNN_OK);
    for (j = 0; j < np; j += 7) { /* central differences of the formula, every 7th parameter */
        const double h = 1e-5, keep = p[j];
        double up, down, cd;
        p[j] = keep + h;
        assert_int_equal(hnn_net_params_set(net, p, np), HNN_OK);
        up = midpoint_loss_direct(net, hnn_net_workspace(net), tr);
        p[j] = keep - h;
        assert_int_equal(hnn_net_params_set(net, p, np), HNN_OK);
        down = midpoint_loss_direct(net, hnn_net_workspace(net), tr);
        p[j] = keep;
        cd = (up - down) / (2.0 * h);
        worst = test_worse(worst, fabs(cd - g[j]) / (fabs(cd) + 1e-3));
    }
    assert_int_equal(hnn_net_params_set(net, p, np), HNN_OK);
    fprintf(stderr, "midpoint loss gradient (kind %d): worst relative gap to central "
            "differences %.2e\n", (int)kind, worst);
    if (!(worst <= 1e-6))
        fail_msg("midpoint loss gradient off by %g", worst);
    free(p);
    free(g);
    hnn_loss_workspace_destroy(lw);
    hnn_dataset_destroy(ds);
    hnn_trajectories_destroy(tr);
    hnn_net_destroy(net);
}

static void test_midpoint_loss_and_gradient(void **state)
{
    (void)state;
    check_midpoint_loss(HNN_NET_HAMILTONIAN);
    check_midpoint_loss(HNN_NET_FIELD);
}

/* ---- the rollout loss: its value against the library's RK4 integrator, its gradient
 * against central differences of that ---------------------------------------------------- */

/* A model under test: its parameters, the library's rollout loss, and a field source with the
 * method that computes the same loss independently (hnn_integrator_step). */
typedef struct rollout_case {
    void *model;
    size_t np;
    hnn_field_source src;
    hnn_method method;
    hnn_status (*get)(void *model, double *p, size_t np);
    hnn_status (*set)(void *model, const double *p, size_t np);
    hnn_status (*loss)(void *model, hnn_method method, const hnn_trajectories *tr, size_t K,
                       const size_t *starts, size_t count, double *loss, double *grad);
} rollout_case;

static hnn_status net_get(void *m, double *p, size_t np)
{
    return hnn_net_params_get((hnn_net *)m, p, np);
}

static hnn_status net_set(void *m, const double *p, size_t np)
{
    return hnn_net_params_set((hnn_net *)m, p, np);
}

static hnn_status net_rollout(void *m, hnn_method method, const hnn_trajectories *tr, size_t K,
                              const size_t *starts, size_t count, double *loss, double *grad)
{
    hnn_net *net = (hnn_net *)m;
    hnn_loss_workspace *lw = NULL;
    hnn_status st;
    assert_int_equal(hnn_loss_workspace_create(net, &lw, NULL), HNN_OK);
    st = hnn_rollout_loss_with(net, hnn_net_workspace(net), lw, tr, method, K, starts, count,
                               loss, grad);
    hnn_loss_workspace_destroy(lw);
    return st;
}

static hnn_status dm_get(void *m, double *p, size_t np)
{
    return hnn_dissipative_params_get((hnn_dissipative *)m, p, np);
}

static hnn_status dm_set(void *m, const double *p, size_t np)
{
    return hnn_dissipative_params_set((hnn_dissipative *)m, p, np);
}

static hnn_status dm_rollout(void *m, hnn_method method, const hnn_trajectories *tr, size_t K,
                             const size_t *starts, size_t count, double *loss, double *grad)
{
    assert_int_equal(method, HNN_METHOD_RK4);
    return hnn_dissipative_rollout_loss((hnn_dissipative *)m, tr, K, starts, count, loss, grad);
}

static rollout_case net_case(hnn_net *net, hnn_method method)
{
    rollout_case c = {net, hnn_net_param_count(net), {.struct_size = sizeof c.src}, method,
                      net_get, net_set, net_rollout};
    assert_int_equal(hnn_field_source_net(net, hnn_net_workspace(net), &c.src), HNN_OK);
    return c;
}

static rollout_case dissipative_case(hnn_dissipative *m)
{
    rollout_case c = {m, hnn_dissipative_param_count(m), {.struct_size = sizeof c.src},
                      HNN_METHOD_RK4, dm_get, dm_set, dm_rollout};
    assert_int_equal(hnn_field_source_dissipative(m, &c.src), HNN_OK);
    return c;
}

/* The loss computed independently: each window stepped by hnn_integrator_step (c->method). */
static double rollout_loss_direct(const rollout_case *c, const hnn_trajectories *tr, size_t K,
                                  const size_t *starts, size_t count)
{
    const size_t dim = 2 * hnn_trajectories_dof(tr);
    hnn_integrator_def id = hnn_integrator_def_default();
    hnn_integrator *in = NULL;
    const double *t = hnn_trajectories_times(tr, 0), *x = hnn_trajectories_states(tr, 0);
    double sum = 0.0, y[8];
    size_t b, j, e;
    id.dim = dim;
    id.method = c->method;
    assert_int_equal(hnn_integrator_create(&id, &in, NULL), HNN_OK);
    for (b = 0; b < count; b++) {
        memcpy(y, x + starts[b] * dim, dim * sizeof *y);
        for (j = 1; j <= K; j++) {
            const size_t o = starts[b] + j;
            assert_int_equal(hnn_integrator_step(in, &c->src, y, t[o] - t[o - 1]), HNN_OK);
            for (e = 0; e < dim; e++)
                sum += (y[e] - x[o * dim + e]) * (y[e] - x[o * dim + e]);
        }
    }
    hnn_integrator_destroy(in);
    return sum / (double)(count * K * dim);
}

/* The loss of c against the integrator's, and its gradient against central differences of
 * that (every parameter of a small model, every fifth of a larger one). */
static void check_rollout_case(const rollout_case *c, const hnn_trajectories *tr, size_t K,
                               const size_t *starts, size_t count, const char *what)
{
    const size_t np = c->np, every = np > 200 ? 5 : 1;
    double *p = malloc(np * sizeof *p), *g = malloc(np * sizeof *g), loss, direct, worst = 0.0;
    size_t j;
    assert_int_equal(c->loss(c->model, c->method, tr, K, starts, count, &loss, g), HNN_OK);
    direct = rollout_loss_direct(c, tr, K, starts, count);
    if (!(fabs(loss - direct) <= 1e-13 * fabs(direct)))
        fail_msg("%s: rollout loss %.17g, the integrator's %.17g (K = %zu)", what, loss, direct,
                 K);
    assert_int_equal(c->get(c->model, p, np), HNN_OK);
    for (j = 0; j < np; j += every) {
        const double h = 1e-5, keep = p[j];
        double up, down, cd;
        p[j] = keep + h;
        assert_int_equal(c->set(c->model, p, np), HNN_OK);
        up = rollout_loss_direct(c, tr, K, starts, count);
        p[j] = keep - h;
        assert_int_equal(c->set(c->model, p, np), HNN_OK);
        down = rollout_loss_direct(c, tr, K, starts, count);
        p[j] = keep;
        cd = (up - down) / (2.0 * h);
        worst = test_worse(worst, fabs(cd - g[j]) / (fabs(cd) + 1e-3));
    }
    assert_int_equal(c->set(c->model, p, np), HNN_OK);
    fprintf(stderr, "rollout loss, %s, K = %zu: worst relative gap to central differences "
            "%.2e\n", what, K, worst);
    if (!(worst <= 1e-6))
        fail_msg("%s: rollout loss gradient off by %g (K = %zu)", what, worst, K);
    free(p);
    free(g);
}

/* Two trajectories (9 and 7 observations, uneven steps of 0.05 to 0.15) of random states. */
static hnn_trajectories *random_pair(size_t dof)
{
    const size_t dim = 2 * dof, lengths[2] = {9, 7};
    double t[16], x[16 * 8]; /* n <= 4 */
    hnn_trajectories *tr = NULL;
    test_rng rng = {29};
    size_t k;
    for (k = 0; k < 16; k++) /* the second trajectory from 0 */
        t[k] = k == 0 || k == 9 ? 0.0 : t[k - 1] + test_uniform(&rng, 0.05, 0.15);
    test_fill(&rng, x, 16 * dim, -0.8, 0.8);
    assert_int_equal(hnn_trajectories_create(dof, 2, lengths, t, x, NULL, &tr, NULL), HNN_OK);
    return tr;
}

static void check_rollout_model(const rollout_case *c, size_t dof, size_t K, const char *what)
{
    hnn_trajectories *tr = random_pair(dof);
    size_t starts[16];
    const size_t count = hnn_trajectories_windows(tr, K, starts);
    assert_int_equal(count, 16 - 2 * K); /* (9 - K) + (7 - K) */
    check_rollout_case(c, tr, K, starts, count, what);
    hnn_trajectories_destroy(tr);
}

static void check_rollout_loss(hnn_net *net, size_t K)
{
    const rollout_case c = net_case(net, HNN_METHOD_RK4);
    check_rollout_model(&c, hnn_net_dof(net), K, "net, RK4");
}

static void test_rollout_loss_and_gradient(void **state)
{
    const size_t widths[2] = {10, 8};
    hnn_net_def d = hnn_net_def_default();
    hnn_net *net;
    (void)state;
    net = test_make_net(HNN_NET_HAMILTONIAN, 1, 2, widths, 5);
    check_rollout_loss(net, 1);
    check_rollout_loss(net, 4);
    hnn_net_destroy(net);
    net = test_make_net(HNN_NET_FIELD, 1, 2, widths, 6);
    check_rollout_loss(net, 3);
    /* more windows than one sweep holds (256): the chunks add up to the whole */
    {
        hnn_trajectories *tr = spring_trajectory(0.02, 302);
        hnn_loss_workspace *lw = NULL;
        const rollout_case c = net_case(net, HNN_METHOD_RK4);
        size_t starts[300];
        const size_t np = hnn_net_param_count(net), count = hnn_trajectories_windows(tr, 2, starts);
        double *g = malloc(np * sizeof *g), *p = malloc(np * sizeof *p), loss, direct, up, down;
        assert_int_equal(count, 300);
        assert_int_equal(hnn_loss_workspace_create(net, &lw, NULL), HNN_OK);
        assert_int_equal(hnn_rollout_loss(net, hnn_net_workspace(net), lw, tr, 2, starts, count,
                                          &loss, g),
                         HNN_OK);
        direct = rollout_loss_direct(&c, tr, 2, starts, count);
        if (!(fabs(loss - direct) <= 1e-13 * fabs(direct)))
            fail_msg("300 windows: rollout loss %.17g, the integrator's %.17g", loss, direct);
        assert_int_equal(hnn_net_params_get(net, p, np), HNN_OK);
        p[3] += 1e-5; /* one parameter by central differences */
        assert_int_equal(hnn_net_params_set(net, p, np), HNN_OK);
        up = rollout_loss_direct(&c, tr, 2, starts, count);
        p[3] -= 2e-5;
        assert_int_equal(hnn_net_params_set(net, p, np), HNN_OK);
        down = rollout_loss_direct(&c, tr, 2, starts, count);
        p[3] += 1e-5;
        assert_int_equal(hnn_net_params_set(net, p, np), HNN_OK);
        if (!(fabs((up - down) / 2e-5 - g[3]) <= 1e-6 * (fabs(g[3]) + 1e-3)))
            fail_msg("300 windows: gradient %.17g, central differences %.17g", g[3],
                     (up - down) / 2e-5);
        free(g);
        free(p);
        hnn_loss_workspace_destroy(lw);
        hnn_trajectories_destroy(tr);
    }
    hnn_net_destroy(net);
    /* a separable net of n = 2: positions only, a known kinetic term */
    d.dof = 2, d.depth = 2, d.widths[0] = 10, d.widths[1] = 8, d.seed = 7;
    d.features = HNN_FEATURES_POSITIONS, d.kinetic_mass = 0.7;
    d.activation = HNN_ACTIVATION_SOFTPLUS;
    assert_int_equal(hnn_net_create(&d, &net, NULL), HNN_OK);
    check_rollout_loss(net, 3);
    hnn_net_destroy(net);
    /* feature maps: two planar bodies (n = 4) through the rotation and translation maps */
    d.dof = 4, d.bodies = 2, d.widths[0] = 8, d.widths[1] = 6, d.activation = HNN_ACTIVATION_TANH;
    d.features = HNN_FEATURES_ROTATION, d.kinetic_mass = 0.9;
    assert_int_equal(hnn_net_create(&d, &net, NULL), HNN_OK);
    check_rollout_loss(net, 2);
    hnn_net_destroy(net);
    d.features = HNN_FEATURES_TRANSLATION, d.kinetic_mass = 0.0;
    assert_int_equal(hnn_net_create(&d, &net, NULL), HNN_OK);
    check_rollout_loss(net, 2);
    hnn_net_destroy(net);
}

static void test_rollout_loss_refusals(void **state)
{
    const size_t widths[1] = {6}, lengths[2] = {4, 3};
    const double t[7] = {0, 1, 2, 3, 0, 1, 2}, x[14] = {0};
    hnn_net *net = test_make_net(HNN_NET_HAMILTONIAN, 1, 1, widths, 1);
    hnn_trajectories *tr = NULL;
    hnn_loss_workspace *lw = NULL;
    size_t starts[8] = {0, 1, 4}, bad = 2;
    double loss = -1.0;
    (void)state;
    assert_int_equal(hnn_trajectories_create(1, 2, lengths, t, x, NULL, &tr, NULL), HNN_OK);
    assert_int_equal(hnn_loss_workspace_create(net, &lw, NULL), HNN_OK);
    assert_int_equal(hnn_trajectories_windows(tr, 2, NULL), 2 + 1);
    assert_int_equal(hnn_trajectories_windows(tr, 3, starts), 1);
    assert_int_equal(starts[0], 0);
    assert_int_equal(hnn_trajectories_windows(tr, 0, NULL), 0);
    assert_int_equal(hnn_trajectories_windows(tr, SIZE_MAX, NULL), 0); /* no wrap-around */
    assert_int_equal(hnn_trajectories_windows(tr, SIZE_MAX - 2, NULL), 0);
    assert_int_equal(hnn_rollout_loss(net, hnn_net_workspace(net), lw, tr, 2, &bad, 1, &loss,
                                      NULL),
                     HNN_ERR_INVALID_ARG); /* observation 2 has one later one */
    assert_non_null(strstr(hnn_loss_workspace_last_error(lw), "window 0 (start 2)"));
    assert_true(loss == -1.0);
    assert_int_equal(hnn_rollout_loss(net, hnn_net_workspace(net), lw, tr, 0, starts, 1, &loss,
                                      NULL),
                     HNN_ERR_INVALID_ARG);
    assert_int_equal(hnn_rollout_loss(net, NULL, lw, tr, 1, starts, 1, &loss, NULL),
                     HNN_ERR_NULL);
    starts[0] = 99;
    assert_int_equal(hnn_rollout_loss(net, hnn_net_workspace(net), lw, tr, 1, starts, 1, &loss,
                                      NULL),
                     HNN_ERR_INVALID_ARG);
    starts[0] = 4; /* one step inside the second trajectory: fine */
    assert_int_equal(hnn_rollout_loss(net, hnn_net_workspace(net), lw, tr, 2, starts, 1, &loss,
                                      NULL),
                     HNN_OK);
    assert_true(loss >= 0.0);
    hnn_loss_workspace_destroy(lw);
    hnn_trajectories_destroy(tr);
    hnn_net_destroy(net);
}

/* Explicit leapfrog for a separable net: the loss is the library's Stormer-Verlet integrator's
 * (a different room, symplectic.c), its gradient central differences'; a net that is not
 * separable, and a method the rollout does not take, are refused with the reason. */
static void test_rollout_leapfrog(void **state)
{
    const size_t widths[2] = {10, 8};
    hnn_net_def d = hnn_net_def_default();
    hnn_net *net = NULL, *plain;
    rollout_case c;
    hnn_trajectories *tr = random_pair(1);
    hnn_loss_workspace *lw = NULL;
    size_t starts[16];
    double rk4, lf;
    (void)state;
    d.dof = 2, d.depth = 2, d.widths[0] = 10, d.widths[1] = 8, d.seed = 11;
    d.features = HNN_FEATURES_POSITIONS, d.kinetic_mass = 1.3;
    assert_int_equal(hnn_net_create(&d, &net, NULL), HNN_OK);
    c = net_case(net, HNN_METHOD_LEAPFROG);
    check_rollout_model(&c, 2, 1, "separable net, leapfrog");
    check_rollout_model(&c, 2, 4, "separable net, leapfrog");
    hnn_net_destroy(net);
    /* n = 1: leapfrog and RK4 give different losses (the scheme is not silently RK4) */
    d.dof = 1, d.activation = HNN_ACTIVATION_SILU;
    assert_int_equal(hnn_net_create(&d, &net, NULL), HNN_OK);
    c = net_case(net, HNN_METHOD_LEAPFROG);
    check_rollout_model(&c, 1, 3, "separable net (n = 1, SiLU), leapfrog");
    assert_int_equal(hnn_trajectories_windows(tr, 3, starts), 10);
    assert_int_equal(net_rollout(net, HNN_METHOD_RK4, tr, 3, starts, 10, &rk4, NULL), HNN_OK);
    assert_int_equal(net_rollout(net, HNN_METHOD_LEAPFROG, tr, 3, starts, 10, &lf, NULL), HNN_OK);
    if (!(fabs(rk4 - lf) > 1e-9 * rk4))
        fail_msg("leapfrog loss %.17g equals RK4's %.17g", lf, rk4);
    assert_int_equal(hnn_loss_workspace_create(net, &lw, NULL), HNN_OK);
    assert_int_equal(hnn_rollout_loss_with(net, hnn_net_workspace(net), lw, tr,
                                           HNN_METHOD_EULER, 3, starts, 10, &lf, NULL),
                     HNN_ERR_INVALID_ARG);
    assert_non_null(strstr(hnn_loss_workspace_last_error(lw), "HNN_METHOD_RK4 or"));
    hnn_loss_workspace_destroy(lw);
    hnn_net_destroy(net);
    plain = test_make_net(HNN_NET_HAMILTONIAN, 1, 2, widths, 5);
    assert_int_equal(hnn_loss_workspace_create(plain, &lw, NULL), HNN_OK);
    assert_int_equal(hnn_rollout_loss_with(plain, hnn_net_workspace(plain), lw, tr,
                                           HNN_METHOD_LEAPFROG, 3, starts, 10, &lf, NULL),
                     HNN_ERR_INVALID_ARG);
    assert_non_null(strstr(hnn_loss_workspace_last_error(lw), "separable"));
    hnn_loss_workspace_destroy(lw);
    hnn_net_destroy(plain);
    hnn_trajectories_destroy(tr);
}

/* A dissipative model with every parameter moved off its initial value (so L is full and no
 * gradient entry is zero by symmetry). */
static hnn_dissipative *perturbed_model(hnn_dissipation kind, const hnn_net_def *d,
                                        unsigned long seed)
{
    hnn_dissipative *m = NULL;
    test_rng rng = {seed};
    size_t np, i;
    double *p;
    assert_int_equal(hnn_dissipative_create(kind, d, &m, NULL), HNN_OK);
    np = hnn_dissipative_param_count(m);
    p = malloc(np * sizeof *p);
    assert_int_equal(hnn_dissipative_params_get(m, p, np), HNN_OK);
    for (i = 0; i < np; i++)
        p[i] += test_uniform(&rng, -0.1, 0.1);
    assert_int_equal(hnn_dissipative_params_set(m, p, np), HNN_OK);
    free(p);
    return m;
}

/* The rollout loss of Helmholtz and port-Hamiltonian models: the loss is the RK4 integrator's
 * on the model's field source, its gradient (H's, D's and L's parameters) central
 * differences'. */
static void test_rollout_dissipative(void **state)
{
    hnn_net_def d = hnn_net_def_default();
    hnn_dissipative *m;
    rollout_case c;
    hnn_trajectories *tr = random_pair(1);
    size_t starts[2] = {0, 13};
    double loss;
    (void)state;
    d.dof = 1, d.depth = 2, d.widths[0] = 8, d.widths[1] = 6, d.seed = 3;
    m = perturbed_model(HNN_DISSIPATION_HELMHOLTZ, &d, 41);
    c = dissipative_case(m);
    check_rollout_model(&c, 1, 1, "Helmholtz model");
    check_rollout_model(&c, 1, 3, "Helmholtz model");
    /* a refusal names the window, in the model's message */
    assert_int_equal(hnn_dissipative_rollout_loss(m, tr, 3, starts, 2, &loss, NULL),
                     HNN_ERR_INVALID_ARG);
    assert_non_null(strstr(hnn_dissipative_last_error(m), "window 1 (start 13)"));
    assert_int_equal(hnn_dissipative_rollout_loss(m, NULL, 3, starts, 2, &loss, NULL),
                     HNN_ERR_NULL);
    assert_int_equal(hnn_dissipative_rollout_loss(NULL, tr, 3, starts, 2, &loss, NULL),
                     HNN_ERR_NULL);
    hnn_dissipative_destroy(m);
    m = perturbed_model(HNN_DISSIPATION_PORT, &d, 43);
    c = dissipative_case(m);
    check_rollout_model(&c, 1, 3, "port model");
    hnn_dissipative_destroy(m);
    /* n = 2, a separable H (positions with a kinetic term) and a port R of 4 x 4 */
    d.dof = 2, d.features = HNN_FEATURES_POSITIONS, d.kinetic_mass = 0.8;
    m = perturbed_model(HNN_DISSIPATION_PORT, &d, 47);
    c = dissipative_case(m);
    check_rollout_model(&c, 2, 2, "port model, n = 2, separable H");
    hnn_dissipative_destroy(m);
    m = perturbed_model(HNN_DISSIPATION_HELMHOLTZ, &d, 53);
    c = dissipative_case(m);
    check_rollout_model(&c, 2, 2, "Helmholtz model, n = 2, separable H");
    hnn_dissipative_destroy(m);
    /* n = 4: H through the rotation map of two planar bodies */
    d.dof = 4, d.bodies = 2, d.features = HNN_FEATURES_ROTATION, d.kinetic_mass = 0.0;
    m = perturbed_model(HNN_DISSIPATION_PORT, &d, 59);
    c = dissipative_case(m);
    check_rollout_model(&c, 4, 2, "port model, n = 4, rotation map");
    hnn_dissipative_destroy(m);
    hnn_trajectories_destroy(tr);
}

/* hnn_dissipative_train_rollout: one full-batch step is the optimizer's step on the model's
 * rollout gradient; minibatch training lowers the loss of a damped spring; and
 * hnn_train_rollout_with trains a separable net by leapfrog. */
static void test_train_rollout_dissipative_and_leapfrog(void **state)
{
    hnn_net_def d = hnn_net_def_default();
    hnn_dissipative *m = NULL, *twin = NULL;
    hnn_optimizer_def od = hnn_optimizer_def_default(HNN_OPT_ADAM);
    hnn_train_def td = hnn_train_def_default();
    hnn_train_result res = {.struct_size = sizeof res};
    hnn_optimizer *opt = NULL, *opt2 = NULL;
    hnn_trajectories *tr;
    hnn_net *net = NULL;
    const size_t K = 3, len = 30;
    double t[30], x[60], first, *p, *q, *g;
    size_t np, i, starts[30], count;
    hnn_error err;
    (void)state;
    od.lr = 0.01;
    for (i = 0; i < len; i++) { /* a damped spring, x = e^{-0.1 t} (cos t, -sin t) roughly */
        t[i] = 0.15 * (double)i;
        x[2 * i] = exp(-0.1 * t[i]) * cos(t[i]);
        x[2 * i + 1] = -exp(-0.1 * t[i]) * sin(t[i]);
    }
    assert_int_equal(hnn_trajectories_create(1, 1, &len, t, x, NULL, &tr, NULL), HNN_OK);
    d.dof = 1, d.depth = 2, d.widths[0] = 8, d.widths[1] = 8, d.seed = 5;
    assert_int_equal(hnn_dissipative_create(HNN_DISSIPATION_PORT, &d, &m, NULL), HNN_OK);
    assert_int_equal(hnn_dissipative_create(HNN_DISSIPATION_PORT, &d, &twin, NULL), HNN_OK);
    np = hnn_dissipative_param_count(m);
    p = malloc(np * sizeof *p), q = malloc(np * sizeof *q), g = malloc(np * sizeof *g);
    assert_int_equal(hnn_optimizer_create(&od, np, &opt, NULL), HNN_OK);
    assert_int_equal(hnn_optimizer_create(&od, np, &opt2, NULL), HNN_OK);
    td.steps = 1, td.batch_size = 0, td.report_every = 0;
    assert_int_equal(hnn_dissipative_train_rollout(m, opt, tr, NULL, K, &td, &res, &err),
                     HNN_OK);
    count = hnn_trajectories_windows(tr, K, starts);
    assert_int_equal(hnn_dissipative_rollout_loss(twin, tr, K, starts, count, &first, g), HNN_OK);
    assert_int_equal(hnn_dissipative_params_get(twin, q, np), HNN_OK);
    assert_int_equal(hnn_optimizer_step(opt2, q, g, np), HNN_OK);
    assert_int_equal(hnn_dissipative_params_get(m, p, np), HNN_OK);
    for (i = 0; i < np; i++)
        if (!(p[i] == q[i]))
            fail_msg("parameter %zu after one step: %.17g, by hand %.17g", i, p[i], q[i]);
    td.steps = 150, td.batch_size = 8;
    assert_int_equal(hnn_dissipative_train_rollout(m, opt, tr, tr, K, &td, &res, &err), HNN_OK);
    if (!(res.train_loss < 0.5 * first && res.val_loss < 0.5 * first))
        fail_msg("port model: rollout loss %g (validation %g) from %g", res.train_loss,
                 res.val_loss, first);
    assert_int_equal(hnn_dissipative_train_rollout(m, opt, tr, NULL, 0, &td, &res, &err),
                     HNN_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "horizon 0"));
    /* leapfrog training of a separable net on the undamped part of the data */
    d.features = HNN_FEATURES_POSITIONS, d.kinetic_mass = 1.0;
    assert_int_equal(hnn_net_create(&d, &net, NULL), HNN_OK);
    hnn_optimizer_destroy(opt);
    opt = NULL;
    assert_int_equal(hnn_optimizer_create(&od, hnn_net_param_count(net), &opt, NULL), HNN_OK);
    td.steps = 1;
    assert_int_equal(hnn_train_rollout_with(net, opt, tr, NULL, HNN_METHOD_LEAPFROG, K, &td,
                                            &res, &err),
                     HNN_OK);
    first = res.train_loss;
    td.steps = 150;
    assert_int_equal(hnn_train_rollout_with(net, opt, tr, NULL, HNN_METHOD_LEAPFROG, K, &td,
                                            &res, &err),
                     HNN_OK);
    if (!(res.train_loss < 0.5 * first))
        fail_msg("leapfrog training: loss %g from %g", res.train_loss, first);
    hnn_net_destroy(net);
    net = NULL;
    d.features = HNN_FEATURES_IDENTITY, d.kinetic_mass = 0.0;
    assert_int_equal(hnn_net_create(&d, &net, NULL), HNN_OK);
    assert_int_equal(hnn_train_rollout_with(net, opt, tr, NULL, HNN_METHOD_LEAPFROG, K, &td,
                                            &res, &err),
                     HNN_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "separable"));
    hnn_net_destroy(net);
    free(p), free(q), free(g);
    hnn_optimizer_destroy(opt);
    hnn_optimizer_destroy(opt2);
    hnn_dissipative_destroy(m);
    hnn_dissipative_destroy(twin);
    hnn_trajectories_destroy(tr);
}

/* hnn_train_rollout: one full-batch step is the optimizer's step on hnn_rollout_loss's
 * gradient over every window; runs repeat bit for bit; the loss falls; refusals. */
static void test_train_rollout(void **state)
{
    const size_t widths[2] = {8, 8};
    hnn_net *net = test_make_net(HNN_NET_HAMILTONIAN, 1, 2, widths, 9);
    hnn_net *twin = test_make_net(HNN_NET_HAMILTONIAN, 1, 2, widths, 9);
    hnn_trajectories *tr = spring_trajectory(0.1, 40), *val = spring_trajectory(0.13, 12);
    hnn_optimizer_def od = hnn_optimizer_def_default(HNN_OPT_ADAM);
    hnn_train_def td = hnn_train_def_default();
    hnn_train_result res = {.struct_size = sizeof res};
    hnn_optimizer *opt = NULL, *opt2 = NULL;
    hnn_loss_workspace *lw = NULL;
    const size_t np = hnn_net_param_count(net), K = 3;
    double *p = malloc(np * sizeof *p), *q = malloc(np * sizeof *q), *g = malloc(np * sizeof *g);
    size_t starts[64], count, i;
    double first;
    hnn_error err;
    (void)state;
    td.steps = 1, td.batch_size = 0, td.report_every = 0;
    assert_int_equal(hnn_optimizer_create(&od, np, &opt, NULL), HNN_OK);
    assert_int_equal(hnn_optimizer_create(&od, np, &opt2, NULL), HNN_OK);
    assert_int_equal(hnn_train_rollout(net, opt, tr, val, K, &td, &res, &err), HNN_OK);
    count = hnn_trajectories_windows(tr, K, starts);
    assert_int_equal(count, 40 - K);
    assert_int_equal(hnn_loss_workspace_create(twin, &lw, NULL), HNN_OK);
    assert_int_equal(hnn_rollout_loss(twin, hnn_net_workspace(twin), lw, tr, K, starts, count,
                                      &first, g),
                     HNN_OK);
    assert_int_equal(hnn_net_params_get(twin, q, np), HNN_OK);
    assert_int_equal(hnn_optimizer_step(opt2, q, g, np), HNN_OK);
    assert_int_equal(hnn_net_params_get(net, p, np), HNN_OK);
    for (i = 0; i < np; i++)
        if (!(p[i] == q[i]))
            fail_msg("parameter %zu after one trainer step: %.17g, by hand %.17g", i, p[i], q[i]);
    assert_true(res.steps_done == 1 && isfinite(res.val_loss) && res.train_loss < first);
    /* 200 more minibatch steps: the loss falls well below its start, and a second run from
     * the same start repeats every bit */
    td.steps = 200, td.batch_size = 8, td.seed = 4;
    assert_int_equal(hnn_net_params_set(twin, p, np), HNN_OK);
    hnn_optimizer_destroy(opt2);
    opt2 = NULL;
    {
        const size_t ss = hnn_optimizer_state_size(opt);
        double *st = malloc(ss * sizeof *st);
        assert_int_equal(hnn_optimizer_state_get(opt, st, ss), HNN_OK);
        assert_int_equal(hnn_optimizer_create(&od, np, &opt2, NULL), HNN_OK);
        assert_int_equal(hnn_optimizer_state_set(opt2, st, ss), HNN_OK);
        free(st);
    }
    assert_int_equal(hnn_train_rollout(net, opt, tr, val, K, &td, &res, &err), HNN_OK);
    assert_true(res.train_loss < 0.5 * first);
    { /* the reported losses are the rollout losses of the right sets' windows */
        size_t vstarts[16];
        const size_t vcount = hnn_trajectories_windows(val, K, vstarts);
        double tl, vl;
        assert_int_equal(hnn_rollout_loss(net, hnn_net_workspace(net), lw, tr, K, starts, count,
                                          &tl, NULL),
                         HNN_OK);
        assert_int_equal(hnn_rollout_loss(net, hnn_net_workspace(net), lw, val, K, vstarts,
                                          vcount, &vl, NULL),
                         HNN_OK);
        assert_true(tl == res.train_loss && vl == res.val_loss && vl != tl);
    }
    assert_int_equal(hnn_train_rollout(twin, opt2, tr, val, K, &td, NULL, &err), HNN_OK);
    assert_int_equal(hnn_net_params_get(net, p, np), HNN_OK);
    assert_int_equal(hnn_net_params_get(twin, q, np), HNN_OK);
    assert_memory_equal(p, q, np * sizeof *p);
    /* refusals */
    assert_int_equal(hnn_train_rollout(net, opt, tr, val, 0, &td, NULL, &err), HNN_ERR_INVALID_ARG);
    assert_int_equal(hnn_train_rollout(net, opt, tr, val, 12, &td, NULL, &err),
                     HNN_ERR_INVALID_ARG); /* val has 12 observations: no window of 12 steps */
    assert_non_null(strstr(err.message, "validation trajectories have no window of 12"));
    assert_int_equal(hnn_train_rollout(NULL, opt, tr, val, 2, &td, NULL, &err), HNN_ERR_NULL);
    free(p);
    free(q);
    free(g);
    hnn_loss_workspace_destroy(lw);
    hnn_optimizer_destroy(opt);
    hnn_optimizer_destroy(opt2);
    hnn_trajectories_destroy(tr);
    hnn_trajectories_destroy(val);
    hnn_net_destroy(net);
    hnn_net_destroy(twin);
}

/* ---- CSV ------------------------------------------------------------------------------- */

static char csv_path[64];

static const char *write_file(const char *text)
{
    FILE *f;
    snprintf(csv_path, sizeof csv_path, "hnn_test_trajectories.csv");
    f = fopen(csv_path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return csv_path;
}

static void test_csv_loads_trajectories(void **state)
{
    hnn_trajectories *tr = NULL;
    hnn_error err;
    (void)state;
    write_file("trajectory,t,q1,p1\n7,0,1,2\n7,0.5,1.5,2.5\n\n 3 , 0.25 ,-1,1e-3\r\n"
               "3,0.3,0,0\n3,1,1,1\n");
    assert_int_equal(hnn_trajectories_load_csv(csv_path, NULL, &tr, &err), HNN_OK);
    assert_int_equal(hnn_trajectories_count(tr), 2);
    assert_int_equal(hnn_trajectories_dof(tr), 1);
    assert_int_equal(hnn_trajectories_length(tr, 0), 2);
    assert_int_equal(hnn_trajectories_length(tr, 1), 3);
    assert_true(hnn_trajectories_times(tr, 1)[0] == 0.25);
    assert_true(hnn_trajectories_states(tr, 1)[1] == 1e-3);
    assert_true(hnn_trajectories_states(tr, 0)[3] == 2.5);
    hnn_trajectories_destroy(tr);
    write_file("trajectory,t,q1,p1\n-0,0,1,2\n0,1,1,2\n+12,0,1,2\n");
    assert_int_equal(hnn_trajectories_load_csv(csv_path, NULL, &tr, &err), HNN_OK);
    assert_int_equal(hnn_trajectories_count(tr), 2); /* -0 and 0 are one label */
    hnn_trajectories_destroy(tr);
    write_file("trajectory,t,q1,q2,p1,p2\n0,0,1,2,3,4\n");
    assert_int_equal(hnn_trajectories_load_csv(csv_path, NULL, &tr, &err), HNN_OK);
    assert_int_equal(hnn_trajectories_dof(tr), 2);
    assert_true(hnn_trajectories_states(tr, 0)[2] == 3.0);
    hnn_trajectories_destroy(tr);
}

static void expect_csv_error(const char *text, hnn_status want, const char *words)
{
    hnn_trajectories *tr = (hnn_trajectories *)&tr;
    hnn_error err;
    const char *path = text ? write_file(text) : "no/such/trajectories.csv";
    assert_int_equal(hnn_trajectories_load_csv(path, NULL, &tr, &err), want);
    assert_null(tr);
    if (strstr(err.message, words) == NULL)
        fail_msg("message '%s' lacks '%s'", err.message, words);
}

static void test_csv_errors_name_the_line(void **state)
{
    (void)state;
    expect_csv_error(NULL, HNN_ERR_IO, "cannot open");
    expect_csv_error("", HNN_ERR_PARSE, "empty file");
    expect_csv_error("t,q1,p1\n", HNN_ERR_PARSE, "3 columns");
    expect_csv_error("trajectory,time,q1,p1\n", HNN_ERR_PARSE, ":1: header column 2 is 'time'");
    expect_csv_error("trajectory,t,q1,q2\n", HNN_ERR_PARSE, "header column 4");
    expect_csv_error("trajectory,t,q1,p1\n", HNN_ERR_PARSE, "no data rows");
    expect_csv_error("trajectory,t,q1,p1\n0,0,1,2\n0,1,1\n", HNN_ERR_PARSE, ":3: 3 columns");
    expect_csv_error("trajectory,t,q1,p1\n0,0,1,nan\n", HNN_ERR_PARSE, ":2: column 4");
    expect_csv_error("trajectory,t,q1,p1\n0,0,1,2\n0,0,1,2\n", HNN_ERR_PARSE,
                     ":3: time 0 is not after");
    expect_csv_error("trajectory,t,q1,p1\n0,0,1,2\n1,0,1,2\n\n0,5,1,2\n", HNN_ERR_PARSE,
                     ":5: trajectory 0 starts again (its rows began at line 2");
    expect_csv_error("trajectory,t,q1,p1\n-0,0,1,2\n1,0,1,2\n0,5,1,2\n", HNN_ERR_PARSE,
                     ":4: trajectory 0 starts again"); /* -0 is 0 */
    expect_csv_error("trajectory,t,q1,p1\n1.5,0,1,2\n", HNN_ERR_PARSE, ":2: the trajectory label");
    expect_csv_error("trajectory,t,q1,p1\n9007199254740993,0,1,2\n", HNN_ERR_PARSE,
                     "at most 15 digits"); /* would round to 2^53 and merge with it */
    expect_csv_error("trajectory,t,q1,p1\n0,-1e308,1,2\n0,1e308,1,2\n", HNN_ERR_PARSE,
                     ":3: time 1e+308 is too far");
}

/* Every allocation failure of loading and splitting: a clean error, nothing leaked. */
static void test_allocation_failures_leak_nothing(void **state)
{
    long budget;
    (void)state;
    write_file("trajectory,t,q1,p1\n0,0,1,2\n0,1,1,2\n0,2,1,2\n0,3,1,2\n1,0,3,4\n1,1,3,4\n"
               "1,2,3,4\n1,3,3,4\n");
    for (budget = 0; budget < 40; budget++) {
        test_counter c = {0, 0, 0, budget, 0};
        hnn_allocator a = test_allocator(&c);
        hnn_trajectories *tr = NULL, *x = NULL, *y = NULL;
        hnn_dataset *ds = NULL;
        hnn_status st = hnn_trajectories_load_csv(csv_path, &a, &tr, NULL);
        if (st == HNN_OK)
            st = hnn_trajectories_split(tr, HNN_SPLIT_TIME, 0.5, &x, &y, NULL);
        if (st == HNN_OK)
            st = hnn_trajectories_to_dataset(x, HNN_DIFF_FORWARD, &a, &ds, NULL);
        if (!(st == HNN_OK || st == HNN_ERR_NO_MEMORY))
            fail_msg("budget %ld: status %d", budget, (int)st);
        hnn_dataset_destroy(ds);
        hnn_trajectories_destroy(x);
        hnn_trajectories_destroy(y);
        hnn_trajectories_destroy(tr);
        assert_int_equal(c.live_bytes, 0);
        assert_int_equal(c.allocs, c.frees);
        if (st == HNN_OK)
            break;
    }
    assert_true(budget < 40); /* and it did succeed with enough memory */
    assert_true(budget > 5);  /* every step allocates: the failures were exercised */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_copies_and_reports),
        cmocka_unit_test(test_create_refuses_bad_input),
        cmocka_unit_test(test_rules_converge_at_their_orders),
        cmocka_unit_test(test_rules_match_closed_forms),
        cmocka_unit_test(test_pairs_stay_inside_trajectories),
        cmocka_unit_test(test_split_by_trajectories),
        cmocka_unit_test(test_split_by_time_never_leaks),
        cmocka_unit_test(test_midpoint_loss_and_gradient),
        cmocka_unit_test(test_rollout_loss_and_gradient),
        cmocka_unit_test(test_rollout_loss_refusals),
        cmocka_unit_test(test_train_rollout),
        cmocka_unit_test(test_rollout_leapfrog),
        cmocka_unit_test(test_rollout_dissipative),
        cmocka_unit_test(test_train_rollout_dissipative_and_leapfrog),
        cmocka_unit_test(test_csv_loads_trajectories),
        cmocka_unit_test(test_csv_errors_name_the_line),
        cmocka_unit_test(test_allocation_failures_leak_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
