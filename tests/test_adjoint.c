/* Tests for the adjoint engine and the choice of path: on every model kind the adjoint path
 * gives the dual path's H, grad H, loss and loss gradient to rounding, and both match
 * central differences; batches equal single states bit for bit; memory does not grow with
 * the state; workspaces refuse nets whose path they cannot hold. */
#include "test_util.h"

#include <stdio.h>

/* A model shape: plain, feature maps, known kinetic terms. */
typedef struct model {
    const char *name;
    size_t dof, depth, widths[3];
    hnn_feature_map features;
    size_t bodies;
    double kinetic_mass;
} model;

static const model models[] = {
    {"plain n=1", 1, 1, {6}, HNN_FEATURES_IDENTITY, 0, 0.0},
    {"plain n=2", 2, 2, {8, 5}, HNN_FEATURES_IDENTITY, 0, 0.0},
    {"plain n=3 (17, 13, 11)", 3, 3, {17, 13, 11}, HNN_FEATURES_IDENTITY, 0, 0.0},
    {"plain n=5", 5, 3, {4, 7, 3}, HNN_FEATURES_IDENTITY, 0, 0.0},
    {"identity + kinetic", 2, 2, {6, 6}, HNN_FEATURES_IDENTITY, 0, 0.7},
    {"translation 2 bodies in 2-d", 4, 2, {9, 7}, HNN_FEATURES_TRANSLATION, 2, 0.0},
    {"translation 3 bodies in 2-d", 6, 1, {8}, HNN_FEATURES_TRANSLATION, 3, 0.0},
    {"rotation 3 bodies", 6, 2, {10, 6}, HNN_FEATURES_ROTATION, 3, 0.0},
    {"separable: positions + kinetic", 3, 2, {7, 5}, HNN_FEATURES_POSITIONS, 0, 1.3},
};

static hnn_net_def model_def(const model *m, hnn_gradient_path path, uint64_t seed)
{
    hnn_net_def def = hnn_net_def_default();
    size_t l;
    def.dof = m->dof;
    def.depth = m->depth;
    for (l = 0; l < m->depth; l++)
        def.widths[l] = m->widths[l];
    def.features = m->features;
    def.bodies = m->bodies;
    def.kinetic_mass = m->kinetic_mass;
    def.seed = seed;
    def.path = path;
    return def;
}

/* The model's net on `path`, its parameters scaled by 1.7 (away from a fresh net's
 * near-linear regime, so that every layer's curvature matters). */
static hnn_net *make_net(const model *m, hnn_gradient_path path, uint64_t seed)
{
    hnn_net_def def = model_def(m, path, seed);
    hnn_net *net = NULL;
    double *p;
    size_t np, k;
    assert_int_equal(hnn_net_create(&def, &net, NULL), HNN_OK);
    assert_int_equal(hnn_net_gradient_path(net, 0), path);
    assert_int_equal(hnn_net_gradient_path(net, 1), path);
    np = hnn_net_param_count(net);
    p = malloc(np * sizeof *p);
    assert_int_equal(hnn_net_params_get(net, p, np), HNN_OK);
    for (k = 0; k < np; k++)
        p[k] *= 1.7;
    assert_int_equal(hnn_net_params_set(net, p, np), HNN_OK);
    free(p);
    return net;
}

/* States for model m: positions spread so that no two bodies coincide. */
static void fill_states(test_rng *rng, double *x, size_t count, size_t dim)
{
    test_fill(rng, x, count * dim, -1.5, 1.5);
}

/* ---- grad H -------------------------------------------------------------------------- */

static void gradients_agree_and_match_differences(void **state)
{
    size_t mi;
    test_rng rng = {41};
    (void)state;
    for (mi = 0; mi < TEST_COUNT(models); mi++) {
        const model *m = &models[mi];
        const size_t count = 70, dim = 2 * m->dof; /* 70: two chunks of the dual path */
        hnn_net *dual = make_net(m, HNN_PATH_DUAL, 5 + mi);
        hnn_net *adj = make_net(m, HNN_PATH_ADJOINT, 5 + mi);
        double *x = malloc(count * dim * sizeof *x), *gd = malloc(count * dim * sizeof *gd);
        double *ga = malloc(count * dim * sizeof *ga), *fd = malloc(count * dim * sizeof *fd);
        double Hd[70], Ha[70], err_g, err_h, err_fd;
        size_t s, t;
        fill_states(&rng, x, count, dim);
        assert_int_equal(hnn_net_gradient(dual, hnn_net_workspace(dual), x, count, Hd, gd), HNN_OK);
        assert_int_equal(hnn_net_gradient(adj, hnn_net_workspace(adj), x, count, Ha, ga), HNN_OK);
        err_g = test_rel_err(ga, gd, count * dim);
        err_h = test_rel_err(Ha, Hd, count);
        /* central differences of the adjoint net's own energy: an independent check */
        for (s = 0; s < count; s++)
            for (t = 0; t < dim; t++) {
                double xp[12], hp, hm;
                const double step = 1e-5;
                memcpy(xp, x + s * dim, dim * sizeof *xp);
                xp[t] += step;
                assert_int_equal(hnn_net_energy(adj, hnn_net_workspace(adj), xp, 1, &hp), HNN_OK);
                xp[t] -= 2.0 * step;
                assert_int_equal(hnn_net_energy(adj, hnn_net_workspace(adj), xp, 1, &hm), HNN_OK);
                fd[s * dim + t] = (hp - hm) / (2.0 * step);
            }
        err_fd = test_rel_err(ga, fd, count * dim);
        printf("  %-32s |grad a - d| %.1e, |H a - d| %.1e, |grad a - central diff.| %.1e\n",
               m->name, err_g, err_h, err_fd);
        assert_true(test_max_abs(ga, count * dim) > 1e-3); /* not a zero gradient */
        assert_true(err_g <= 1e-12);
        assert_true(err_h <= 1e-13);
        assert_true(err_fd <= 1e-7);
        hnn_net_destroy(dual);
        hnn_net_destroy(adj);
        free(x), free(gd), free(ga), free(fd);
    }
}

/* A batch that spans chunks gives the bits of its states one by one (narrow and wide
 * kernels), and the field is J grad H. */
static void batch_equals_single_states(void **state)
{
    const model plain = {"plain", 2, 2, {40, 33}, HNN_FEATURES_IDENTITY, 0, 0.0};
    const model rot = {"rotation", 6, 2, {21, 9}, HNN_FEATURES_ROTATION, 3, 0.0};
    const model *ms[2] = {&plain, &rot};
    test_rng rng = {7};
    size_t mi;
    (void)state;
    for (mi = 0; mi < 2; mi++) {
        const size_t count = 150, dim = 2 * ms[mi]->dof, n = ms[mi]->dof;
        hnn_net *net = make_net(ms[mi], HNN_PATH_ADJOINT, 3);
        double *x = malloc(count * dim * sizeof *x), *g = malloc(count * dim * sizeof *g);
        double *f = malloc(count * dim * sizeof *f), H[150];
        size_t s, i;
        fill_states(&rng, x, count, dim);
        assert_int_equal(hnn_net_gradient(net, hnn_net_workspace(net), x, count, H, g), HNN_OK);
        assert_int_equal(hnn_net_field(net, hnn_net_workspace(net), x, count, f), HNN_OK);
        for (s = 0; s < count; s++) {
            double g1[12], H1, f1[12];
            assert_int_equal(hnn_net_gradient(net, hnn_net_workspace(net), x + s * dim, 1, &H1, g1), HNN_OK);
            assert_int_equal(hnn_net_field(net, hnn_net_workspace(net), x + s * dim, 1, f1), HNN_OK);
            assert_memory_equal(g1, g + s * dim, dim * sizeof *g1);
            assert_memory_equal(&H1, H + s, sizeof H1);
            assert_memory_equal(f1, f + s * dim, dim * sizeof *f1);
            for (i = 0; i < n; i++) {
                assert_true(f1[i] == g1[n + i]);
                assert_true(f1[n + i] == -g1[i]);
            }
        }
        hnn_net_destroy(net);
        free(x), free(g), free(f);
    }
}

/* ---- the training gradient ------------------------------------------------------------ */

static double loss_at(hnn_net *net, hnn_loss_workspace *lw, double *p, size_t np,
                      const double *x, const double *y, size_t count)
{
    double loss;
    assert_int_equal(hnn_net_params_set(net, p, np), HNN_OK);
    assert_int_equal(hnn_loss_mse(net, lw, x, y, count, &loss, NULL), HNN_OK);
    return loss;
}

static void loss_gradients_agree_and_match_differences(void **state)
{
    size_t mi;
    test_rng rng = {23};
    (void)state;
    for (mi = 0; mi < TEST_COUNT(models); mi++) {
        const model *m = &models[mi];
        const size_t count = 70, dim = 2 * m->dof;
        hnn_net *dual = make_net(m, HNN_PATH_DUAL, 11 + mi);
        hnn_net *adj = make_net(m, HNN_PATH_ADJOINT, 11 + mi);
        hnn_loss_workspace *lwd = NULL, *lwa = NULL;
        const size_t np = hnn_net_param_count(adj);
        double *p = malloc(np * sizeof *p), *gd = malloc(np * sizeof *gd);
        double *ga = malloc(np * sizeof *ga), *fd = malloc(np * sizeof *fd);
        double *x = malloc(count * dim * sizeof *x), *y = malloc(count * dim * sizeof *y);
        double ld, la, err_g, err_fd;
        size_t k;
        assert_int_equal(hnn_loss_workspace_create(dual, &lwd, NULL), HNN_OK);
        assert_int_equal(hnn_loss_workspace_create(adj, &lwa, NULL), HNN_OK);
        fill_states(&rng, x, count, dim);
        test_fill(&rng, y, count * dim, -1.0, 1.0);
        assert_int_equal(hnn_loss_mse(dual, lwd, x, y, count, &ld, gd), HNN_OK);
        assert_int_equal(hnn_loss_mse(adj, lwa, x, y, count, &la, ga), HNN_OK);
        assert_int_equal(hnn_net_params_get(adj, p, np), HNN_OK);
        for (k = 0; k < np; k++) {
            const double step = 1e-5 * fmax(1.0, fabs(p[k])), keep = p[k];
            double lp, lm;
            p[k] = keep + step;
            lp = loss_at(adj, lwa, p, np, x, y, count);
            p[k] = keep - step;
            lm = loss_at(adj, lwa, p, np, x, y, count);
            p[k] = keep;
            fd[k] = (lp - lm) / (2.0 * step);
        }
        assert_int_equal(hnn_net_params_set(adj, p, np), HNN_OK);
        err_g = test_rel_err(ga, gd, np);
        err_fd = test_rel_err(ga, fd, np);
        printf("  %-32s |dL a - d| %.1e, |L a - d| %.1e, |dL a - central diff.| %.1e\n",
               m->name, err_g, fabs(la - ld) / ld, err_fd);
        assert_true(test_max_abs(ga, np) > 1e-4);
        assert_true(fabs(la - ld) <= 1e-13 * ld);
        assert_true(err_g <= 1e-11);
        assert_true(err_fd <= 1e-6);
        assert_true(ga[np - 1] == 0.0); /* b_out, the sea level: exactly no gradient */
        hnn_loss_workspace_destroy(lwd);
        hnn_loss_workspace_destroy(lwa);
        hnn_net_destroy(dual);
        hnn_net_destroy(adj);
        free(p), free(gd), free(ga), free(fd), free(x), free(y);
    }
}

/* The loss gradient of a batch is the same whichever chunk boundaries the workspace uses
 * (here: the full batch against the sum of its halves, each weighted by its share). */
static void loss_gradient_of_halves(void **state)
{
    const model m = {"plain", 3, 2, {24, 16}, HNN_FEATURES_IDENTITY, 0, 0.0};
    const size_t count = 200, dim = 6;
    hnn_net *net = make_net(&m, HNN_PATH_ADJOINT, 2);
    hnn_loss_workspace *lw = NULL;
    const size_t np = hnn_net_param_count(net);
    double *g = malloc(np * sizeof *g), *g1 = malloc(np * sizeof *g1);
    double *g2 = malloc(np * sizeof *g2), *x = malloc(count * dim * sizeof *x);
    double *y = malloc(count * dim * sizeof *y), l, l1, l2, *sum = malloc(np * sizeof *sum);
    test_rng rng = {5};
    size_t k;
    (void)state;
    assert_int_equal(hnn_loss_workspace_create(net, &lw, NULL), HNN_OK);
    fill_states(&rng, x, count, dim);
    test_fill(&rng, y, count * dim, -1.0, 1.0);
    assert_int_equal(hnn_loss_mse(net, lw, x, y, count, &l, g), HNN_OK);
    assert_int_equal(hnn_loss_mse(net, lw, x, y, 100, &l1, g1), HNN_OK);
    assert_int_equal(hnn_loss_mse(net, lw, x + 100 * dim, y + 100 * dim, 100, &l2, g2), HNN_OK);
    for (k = 0; k < np; k++)
        sum[k] = 0.5 * (g1[k] + g2[k]);
    assert_true(fabs(l - 0.5 * (l1 + l2)) <= 1e-14 * l);
    assert_true(test_rel_err(g, sum, np) <= 1e-13);
    hnn_loss_workspace_destroy(lw);
    hnn_net_destroy(net);
    free(g), free(g1), free(g2), free(x), free(y), free(sum);
}

/* Dissipative and port-Hamiltonian models run each net's gradient on its path. */
static void dissipative_models_on_both_paths(void **state)
{
    const hnn_dissipation kinds[2] = {HNN_DISSIPATION_HELMHOLTZ, HNN_DISSIPATION_PORT};
    const model m = {"plain", 2, 2, {9, 7}, HNN_FEATURES_IDENTITY, 0, 0.0};
    test_rng rng = {99};
    size_t ki;
    (void)state;
    for (ki = 0; ki < 2; ki++) {
        const size_t count = 90, dim = 4;
        hnn_net_def dd = model_def(&m, HNN_PATH_DUAL, 4), da = model_def(&m, HNN_PATH_ADJOINT, 4);
        hnn_dissipative *md = NULL, *ma = NULL;
        double *x = malloc(count * dim * sizeof *x), *y = malloc(count * dim * sizeof *y);
        double *fdual = malloc(count * dim * sizeof *fdual), *fadj = malloc(count * dim * sizeof *fadj);
        double *gd, *ga, ld, la;
        size_t np;
        assert_int_equal(hnn_dissipative_create(kinds[ki], &dd, &md, NULL), HNN_OK);
        assert_int_equal(hnn_dissipative_create(kinds[ki], &da, &ma, NULL), HNN_OK);
        assert_int_equal(hnn_net_gradient_path(hnn_dissipative_energy_net(ma), 1), HNN_PATH_ADJOINT);
        np = hnn_dissipative_param_count(ma);
        gd = malloc(np * sizeof *gd), ga = malloc(np * sizeof *ga);
        fill_states(&rng, x, count, dim);
        test_fill(&rng, y, count * dim, -1.0, 1.0);
        assert_int_equal(hnn_dissipative_field(md, x, count, fdual), HNN_OK);
        assert_int_equal(hnn_dissipative_field(ma, x, count, fadj), HNN_OK);
        assert_int_equal(hnn_dissipative_loss_mse(md, x, y, count, &ld, gd), HNN_OK);
        assert_int_equal(hnn_dissipative_loss_mse(ma, x, y, count, &la, ga), HNN_OK);
        assert_true(test_max_abs(ga, np) > 1e-4);
        assert_true(test_rel_err(fadj, fdual, count * dim) <= 1e-12);
        assert_true(fabs(la - ld) <= 1e-13 * ld);
        assert_true(test_rel_err(ga, gd, np) <= 1e-11);
        hnn_dissipative_destroy(md);
        hnn_dissipative_destroy(ma);
        free(x), free(y), free(fdual), free(fadj), free(gd), free(ga);
    }
}

/* Training takes the same steps on both paths (to rounding, over a short run). */
static void training_on_both_paths(void **state)
{
    const model m = {"plain", 1, 2, {16, 16}, HNN_FEATURES_IDENTITY, 0, 0.0};
    hnn_spring_data_def sd = hnn_spring_data_def_default();
    hnn_optimizer_def od = hnn_optimizer_def_default(HNN_OPT_ADAM);
    hnn_train_def td = hnn_train_def_default();
    hnn_dataset *data = NULL;
    hnn_train_result rd = {.struct_size = sizeof rd}, ra = {.struct_size = sizeof ra};
    hnn_net *nets[2];
    double *p[2];
    size_t np, i;
    (void)state;
    double first_loss;
    sd.count = 256;
    assert_int_equal(hnn_dataset_spring(&sd, &data, NULL), HNN_OK);
    td.steps = 30;
    td.batch_size = 64;
    td.report_every = 0;
    for (i = 0; i < 2; i++) {
        hnn_optimizer *opt = NULL;
        nets[i] = make_net(&m, i == 0 ? HNN_PATH_DUAL : HNN_PATH_ADJOINT, 8);
        np = hnn_net_param_count(nets[i]);
        if (i == 1) { /* the loss before training, from the dual net's untrained twin */
            hnn_net *fresh = make_net(&m, HNN_PATH_DUAL, 8);
            hnn_loss_workspace *lw = NULL;
            const double *xs = hnn_dataset_states(data), *ys = hnn_dataset_derivatives(data);
            const size_t count = hnn_dataset_count(data);
            assert_int_equal(hnn_loss_workspace_create(fresh, &lw, NULL), HNN_OK);
            assert_int_equal(hnn_loss_mse(fresh, lw, xs, ys, count, &first_loss, NULL), HNN_OK);
            hnn_loss_workspace_destroy(lw);
            hnn_net_destroy(fresh);
        }
        assert_int_equal(hnn_optimizer_create(&od, np, &opt, NULL), HNN_OK);
        assert_int_equal(hnn_train(nets[i], opt, data, NULL, &td, i == 0 ? &rd : &ra, NULL), HNN_OK);
        p[i] = malloc(np * sizeof *p[i]);
        assert_int_equal(hnn_net_params_get(nets[i], p[i], np), HNN_OK);
        hnn_optimizer_destroy(opt);
    }
    assert_true(ra.train_loss < 0.9 * first_loss); /* it learned something */
    assert_true(fabs(ra.train_loss - rd.train_loss) <= 1e-9 * rd.train_loss);
    assert_true(test_rel_err(p[1], p[0], np) <= 1e-9);
    for (i = 0; i < 2; i++) {
        hnn_net_destroy(nets[i]);
        free(p[i]);
    }
    hnn_dataset_destroy(data);
}

/* ---- memory and workspaces -------------------------------------------------------------- */

/* The memory target: net + loss workspace + one evaluation workspace within
 * 4 MiB + 4 x the parameter bytes at every n up to 256 (2 x 256 tanh, the default path). */
static void memory_does_not_grow_with_n(void **state)
{
    const size_t dofs[5] = {1, 16, 64, 128, 256};
    size_t i;
    (void)state;
    for (i = 0; i < TEST_COUNT(dofs); i++) {
        test_counter c = {0, 0, 0, -1, 0};
        hnn_net_def def = hnn_net_def_default();
        hnn_net *net = NULL;
        hnn_loss_workspace *lw = NULL;
        hnn_workspace *ws = NULL;
        double budget;
        def.dof = dofs[i];
        def.widths[0] = def.widths[1] = 256;
        def.allocator = test_allocator(&c);
        assert_int_equal(hnn_net_create(&def, &net, NULL), HNN_OK);
        assert_int_equal(hnn_loss_workspace_create(net, &lw, NULL), HNN_OK);
        assert_int_equal(hnn_workspace_create(net, &ws, NULL), HNN_OK);
        budget = 4.0 * 1048576.0 + 4.0 * 8.0 * (double)hnn_net_param_count(net);
        printf("  n = %3zu: %.2f MiB held, budget %.2f MiB (paths: eval %d, train %d)\n",
               dofs[i], (double)c.live_bytes / 1048576.0, budget / 1048576.0,
               (int)hnn_net_gradient_path(net, 0), (int)hnn_net_gradient_path(net, 1));
        assert_true((double)c.live_bytes <= budget);
        hnn_workspace_destroy(ws);
        hnn_loss_workspace_destroy(lw);
        hnn_net_destroy(net);
        assert_int_equal(c.live_bytes, 0);
    }
}

/* A workspace serves a net of the same shape on another path only if its buffers can hold
 * that path's blocks; otherwise the call is refused, never overrun. */
static void workspaces_across_paths(void **state)
{
    const model m = {"plain", 64, 2, {16, 16}, HNN_FEATURES_IDENTITY, 0, 0.0};
    hnn_net *adj = make_net(&m, HNN_PATH_ADJOINT, 1), *dual = make_net(&m, HNN_PATH_DUAL, 1);
    hnn_workspace *ws_adj = NULL, *ws_dual = NULL;
    double x[128], g1[128], g2[128];
    test_rng rng = {3};
    (void)state;
    test_fill(&rng, x, 128, -1.0, 1.0);
    assert_int_equal(hnn_workspace_create(adj, &ws_adj, NULL), HNN_OK);
    assert_int_equal(hnn_workspace_create(dual, &ws_dual, NULL), HNN_OK);
    /* the adjoint workspace is far smaller than one dual block of 64 states x 129 columns */
    assert_int_equal(hnn_net_gradient(dual, ws_adj, x, 1, NULL, g1), HNN_ERR_SIZE_MISMATCH);
    assert_int_equal(hnn_net_gradient(adj, ws_dual, x, 1, NULL, g1), HNN_OK);
    assert_int_equal(hnn_net_gradient(adj, ws_adj, x, 1, NULL, g2), HNN_OK);
    assert_memory_equal(g1, g2, sizeof g1);
    hnn_workspace_destroy(ws_adj);
    hnn_workspace_destroy(ws_dual);
    hnn_net_destroy(adj);
    hnn_net_destroy(dual);
}

/* A loss workspace is laid out for its net's path: a net on the other path is refused. */
static void loss_workspace_knows_its_path(void **state)
{
    const model m = {"plain", 2, 2, {8, 8}, HNN_FEATURES_IDENTITY, 0, 0.0};
    hnn_net *adj = make_net(&m, HNN_PATH_ADJOINT, 1), *dual = make_net(&m, HNN_PATH_DUAL, 1);
    hnn_loss_workspace *lw = NULL;
    double x[4] = {0.1, 0.2, 0.3, 0.4}, y[4] = {0}, loss;
    (void)state;
    assert_int_equal(hnn_loss_workspace_create(adj, &lw, NULL), HNN_OK);
    assert_int_equal(hnn_loss_mse(dual, lw, x, y, 1, &loss, NULL), HNN_ERR_SIZE_MISMATCH);
    assert_int_equal(hnn_loss_mse(adj, lw, x, y, 1, &loss, NULL), HNN_OK);
    hnn_loss_workspace_destroy(lw);
    hnn_net_destroy(adj);
    hnn_net_destroy(dual);
}

/* The Hessian of a net with a long state, built from groups of tangent directions, against
 * central differences of grad H; its workspace holds a few columns per neuron, not 2n. */
static void hessian_of_a_long_state(void **state)
{
    const model m = {"plain", 40, 2, {12, 9}, HNN_FEATURES_IDENTITY, 0, 0.0};
    const model t = {"translation", 12, 2, {10, 8}, HNN_FEATURES_TRANSLATION, 6, 0.0};
    const model *ms[2] = {&m, &t};
    size_t mi;
    (void)state;
    for (mi = 0; mi < 2; mi++) {
        const size_t dim = 2 * ms[mi]->dof;
        hnn_net *net = make_net(ms[mi], HNN_PATH_ADJOINT, 6);
        double *x = malloc(dim * sizeof *x), *hess = malloc(dim * dim * sizeof *hess);
        double *fd = malloc(dim * dim * sizeof *fd), *gp = malloc(dim * sizeof *gp);
        double *gm = malloc(dim * sizeof *gm), *jac = malloc(dim * dim * sizeof *jac), trace = 0.0;
        test_rng rng = {77};
        size_t r, c;
        test_fill(&rng, x, dim, -1.0, 1.0);
        assert_int_equal(hnn_net_hessian(net, hnn_net_workspace(net), x, 1, hess), HNN_OK);
        for (c = 0; c < dim; c++) {
            const double step = 1e-5, keep = x[c];
            x[c] = keep + step;
            assert_int_equal(hnn_net_gradient(net, hnn_net_workspace(net), x, 1, NULL, gp), HNN_OK);
            x[c] = keep - step;
            assert_int_equal(hnn_net_gradient(net, hnn_net_workspace(net), x, 1, NULL, gm), HNN_OK);
            x[c] = keep;
            for (r = 0; r < dim; r++)
                fd[r * dim + c] = (gp[r] - gm[r]) / (2.0 * step);
        }
        assert_true(test_max_abs(hess, dim * dim) > 1e-3);
        assert_true(test_rel_err(hess, fd, dim * dim) <= 1e-7);
        assert_int_equal(hnn_net_field_jacobian(net, hnn_net_workspace(net), x, 1, jac), HNN_OK);
        for (r = 0; r < dim; r++)
            trace += jac[r * dim + r];
        assert_true(fabs(trace) <= 1e-12 * test_max_abs(jac, dim * dim)); /* divergence 0 */
        hnn_net_destroy(net);
        free(x), free(hess), free(fd), free(gp), free(gm), free(jac);
    }
}

/* ---- the definition ---------------------------------------------------------------------- */

static void bad_paths_are_refused(void **state)
{
    hnn_net_def def = hnn_net_def_default();
    hnn_net *net = NULL;
    hnn_error err;
    (void)state;
    assert_int_equal(def.path, HNN_PATH_AUTO);
    def.path = (hnn_gradient_path)7;
    assert_int_equal(hnn_net_create(&def, &net, &err), HNN_ERR_INVALID_ARG);
    assert_null(net);
    assert_non_null(strstr(err.message, "7"));
    def = hnn_net_def_default();
    def.kind = HNN_NET_FIELD;
    def.path = HNN_PATH_ADJOINT;
    assert_int_equal(hnn_net_create(&def, &net, &err), HNN_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "direct-field"));
    def.path = HNN_PATH_AUTO;
    assert_int_equal(hnn_net_create(&def, &net, NULL), HNN_OK);
    assert_int_equal(hnn_net_gradient_path(net, 0), HNN_PATH_DUAL);
    assert_int_equal(hnn_net_gradient_path(net, 1), HNN_PATH_DUAL);
    hnn_net_destroy(net);
    assert_int_equal(hnn_net_gradient_path(NULL, 0), HNN_PATH_AUTO);
}

/* The measured crossover (docs/performance.md, "Two engines"): for batches and training the
 * adjoint path was the faster at every shape of examples/bench --sweep, so HNN_PATH_AUTO
 * picks it for them; direct-field nets stay on plain passes. */
static void auto_picks_the_measured_winner(void **state)
{
    const size_t widths[4] = {16, 32, 200, 512}, depths[2] = {1, 2}, dofs[3] = {1, 2, 64};
    size_t wi, di, ni;
    (void)state;
    for (wi = 0; wi < 4; wi++)
        for (di = 0; di < 2; di++)
            for (ni = 0; ni < 3; ni++) {
                hnn_net_def def = hnn_net_def_default();
                hnn_net *net = NULL;
                def.dof = dofs[ni];
                def.depth = depths[di];
                def.widths[0] = def.widths[1] = widths[wi];
                assert_int_equal(hnn_net_create(&def, &net, NULL), HNN_OK);
                assert_int_equal(hnn_net_gradient_path(net, 0), HNN_PATH_ADJOINT);
                assert_int_equal(hnn_net_gradient_path(net, 1), HNN_PATH_ADJOINT);
                hnn_net_destroy(net);
            }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gradients_agree_and_match_differences),
        cmocka_unit_test(batch_equals_single_states),
        cmocka_unit_test(loss_gradients_agree_and_match_differences),
        cmocka_unit_test(loss_gradient_of_halves),
        cmocka_unit_test(dissipative_models_on_both_paths),
        cmocka_unit_test(training_on_both_paths),
        cmocka_unit_test(memory_does_not_grow_with_n),
        cmocka_unit_test(workspaces_across_paths),
        cmocka_unit_test(loss_workspace_knows_its_path),
        cmocka_unit_test(hessian_of_a_long_state),
        cmocka_unit_test(bad_paths_are_refused),
        cmocka_unit_test(auto_picks_the_measured_winner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
