/* Multi-threaded batches (libhnn built with HNN_OPENMP): every result is bit-identical
 * whatever the thread count. Each case runs with 1, 2 and 3 threads and compares bytes;
 * the nets and batches are large enough that every split loop really splits (wide layers,
 * thousands of states, a dual pass with many tangents). */
#include "test_util.h"

#include <omp.h>

enum { THREAD_COUNTS = 3 };
static const int thread_counts[THREAD_COUNTS] = {1, 2, 3};

/* Uneven widths: the slices do not fall on round numbers. */
static hnn_net *make_net(hnn_net_kind kind, size_t dof, size_t width, size_t depth)
{
    size_t widths[HNN_MAX_HIDDEN], l;
    for (l = 0; l < depth; l++)
        widths[l] = width + 7 * l;
    return test_make_net(kind, dof, depth, widths, 11);
}

static void test_threads_follow_openmp(void **state)
{
    (void)state;
    omp_set_num_threads(3);
    assert_int_equal(hnn_max_threads(), 3);
    omp_set_num_threads(1);
    assert_int_equal(hnn_max_threads(), 1);
#pragma omp parallel num_threads(2)
    {
        /* inside the caller's own parallel region the library stays on its thread */
        if (hnn_max_threads() != 1)
            fail_msg("hnn_max_threads() inside a parallel region is %d", hnn_max_threads());
    }
}

/* Energy, gradient and field of `count` states, for each thread count. */
static void evaluations_match(hnn_net_kind kind, size_t dof, size_t width, size_t depth,
                              size_t count)
{
    hnn_net *net = make_net(kind, dof, width, depth);
    const size_t dim = 2 * dof;
    double *x = malloc(count * dim * sizeof *x);
    double *ref = malloc(count * (dim + 1) * sizeof *ref), *out = malloc(count * (dim + 1) * sizeof *out);
    test_rng rng = {99};
    int t;
    assert_non_null(x);
    assert_non_null(ref);
    assert_non_null(out);
    test_fill(&rng, x, count * dim, -2.0, 2.0);
    for (t = 0; t < THREAD_COUNTS; t++) {
        double *dst = t == 0 ? ref : out;
        omp_set_num_threads(thread_counts[t]);
        if (kind == HNN_NET_HAMILTONIAN)
            assert_int_equal(hnn_net_gradient(net, hnn_net_workspace(net), x, count, dst + count * dim, dst), HNN_OK);
        else
            assert_int_equal(hnn_net_field(net, hnn_net_workspace(net), x, count, dst), HNN_OK);
        if (t > 0 && memcmp(ref, out, count * (dim + (kind == HNN_NET_HAMILTONIAN)) * sizeof *ref) != 0)
            fail_msg("w = %zu, n = %zu: %d threads differ from 1", width, dof, thread_counts[t]);
    }
    omp_set_num_threads(1);
    free(x);
    free(ref);
    free(out);
    hnn_net_destroy(net);
}

static void test_evaluation_is_thread_count_independent(void **state)
{
    (void)state;
    evaluations_match(HNN_NET_HAMILTONIAN, 1, 128, 2, 4096);
    evaluations_match(HNN_NET_HAMILTONIAN, 3, 301, 3, 1000);
    evaluations_match(HNN_NET_FIELD, 2, 515, 2, 700);
}

/* The loss and its parameter gradient over a batch. */
static void test_loss_gradient_is_thread_count_independent(void **state)
{
    const hnn_net_kind kinds[2] = {HNN_NET_HAMILTONIAN, HNN_NET_FIELD};
    int k, t;
    (void)state;
    for (k = 0; k < 2; k++) {
        hnn_net *net = make_net(kinds[k], 2, 133, 2);
        const size_t count = 300, dim = 4, np = hnn_net_param_count(net);
        hnn_loss_workspace *lw = NULL;
        double *x = malloc(count * dim * sizeof *x), *y = malloc(count * dim * sizeof *y);
        double *ref = malloc(np * sizeof *ref), *grad = malloc(np * sizeof *grad);
        double ref_loss = 0.0, loss;
        test_rng rng = {5};
        assert_true(x && y && ref && grad);
        test_fill(&rng, x, count * dim, -1.5, 1.5);
        test_fill(&rng, y, count * dim, -1.0, 1.0);
        assert_int_equal(hnn_loss_workspace_create(net, &lw, NULL), HNN_OK);
        for (t = 0; t < THREAD_COUNTS; t++) {
            omp_set_num_threads(thread_counts[t]);
            assert_int_equal(hnn_loss_mse(net, lw, x, y, count, &loss, t == 0 ? ref : grad), HNN_OK);
            if (t == 0) {
                ref_loss = loss;
                continue;
            }
            assert_memory_equal(&loss, &ref_loss, sizeof loss);
            if (memcmp(ref, grad, np * sizeof *ref) != 0)
                fail_msg("kind %d: the gradient with %d threads differs from 1", (int)kinds[k],
                         thread_counts[t]);
        }
        omp_set_num_threads(1);
        hnn_loss_workspace_destroy(lw);
        free(x), free(y), free(ref), free(grad);
        hnn_net_destroy(net);
    }
}

/* Training: the seed's configuration, a few dozen Adam steps, then every parameter and the
 * optimizer's state compared. */
static void test_training_is_thread_count_independent(void **state)
{
    hnn_spring_data_def sd = hnn_spring_data_def_default();
    hnn_optimizer_def od = hnn_optimizer_def_default(HNN_OPT_ADAM);
    hnn_train_def td = hnn_train_def_default();
    hnn_dataset *data = NULL;
    double *ref = NULL, *params = NULL;
    size_t np = 0;
    int t;
    (void)state;
    sd.count = 1024;
    assert_int_equal(hnn_dataset_spring(&sd, &data, NULL), HNN_OK);
    td.batch_size = 256;
    td.steps = 30;
    td.report_every = 0;
    for (t = 0; t < THREAD_COUNTS; t++) {
        /* over 2^19 / 30 parameters, so the optimizer step splits too (lib/optim.c) */
        hnn_net *net = make_net(HNN_NET_HAMILTONIAN, 1, 160, 2);
        hnn_optimizer *opt = NULL;
        hnn_train_result res = {.struct_size = sizeof res};
        np = hnn_net_param_count(net);
        if (ref == NULL) {
            ref = malloc(np * sizeof *ref);
            params = malloc(np * sizeof *params);
            assert_true(ref && params);
        }
        assert_int_equal(hnn_optimizer_create(&od, np, &opt, NULL), HNN_OK);
        omp_set_num_threads(thread_counts[t]);
        assert_int_equal(hnn_train(net, opt, data, NULL, &td, &res, NULL), HNN_OK);
        assert_int_equal(hnn_net_params_get(net, t == 0 ? ref : params, np), HNN_OK);
        if (t > 0 && memcmp(ref, params, np * sizeof *ref) != 0)
            fail_msg("training with %d threads differs from 1", thread_counts[t]);
        hnn_optimizer_destroy(opt);
        hnn_net_destroy(net);
    }
    omp_set_num_threads(1);
    free(ref);
    free(params);
    hnn_dataset_destroy(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_follow_openmp),
        cmocka_unit_test(test_evaluation_is_thread_count_independent),
        cmocka_unit_test(test_loss_gradient_is_thread_count_independent),
        cmocka_unit_test(test_training_is_thread_count_independent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
