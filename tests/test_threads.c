/* One net evaluated from many threads at once, each with its own workspace: results must be
 * bit-identical to single-threaded ones. Run under ThreadSanitizer in CI (.ci/run). */
#include "test_util.h"

#include <pthread.h>

#define THREADS 4
#define COUNT 300
#define REPEATS 20

typedef struct job {
    const hnn_net *net;
    const double *x;
    double field[COUNT * 4], grad[COUNT * 4], energy[COUNT];
    hnn_status st;
} job;

static void *worker(void *arg)
{
    job *j = (job *)arg;
    hnn_workspace *ws = NULL;
    int r;
    j->st = hnn_workspace_create(j->net, &ws, NULL);
    for (r = 0; r < REPEATS && j->st == HNN_OK; r++) {
        j->st = hnn_net_field(j->net, ws, j->x, COUNT, j->field);
        if (j->st == HNN_OK)
            j->st = hnn_net_gradient(j->net, ws, j->x, COUNT, j->energy, j->grad);
    }
    hnn_workspace_destroy(ws);
    return NULL;
}

static void test_one_net_many_threads(void **state)
{
    const size_t widths[2] = {32, 32};
    hnn_net *net = test_make_net(HNN_NET_HAMILTONIAN, 2, 2, widths, 11);
    static double x[THREADS][COUNT * 4];
    static job jobs[THREADS];
    pthread_t threads[THREADS];
    test_rng rng = {77};
    int t;
    (void)state;
    for (t = 0; t < THREADS; t++) {
        test_fill(&rng, x[t], COUNT * 4, -2.0, 2.0);
        jobs[t].net = net;
        jobs[t].x = x[t];
        assert_int_equal(pthread_create(&threads[t], NULL, worker, &jobs[t]), 0);
    }
    for (t = 0; t < THREADS; t++)
        assert_int_equal(pthread_join(threads[t], NULL), 0);
    for (t = 0; t < THREADS; t++) { /* the same work on this thread, with the net's own workspace */
        double field[COUNT * 4], grad[COUNT * 4], energy[COUNT];
        assert_int_equal(jobs[t].st, HNN_OK);
        assert_int_equal(hnn_net_field(net, NULL, x[t], COUNT, field), HNN_OK);
        assert_int_equal(hnn_net_gradient(net, NULL, x[t], COUNT, energy, grad), HNN_OK);
        assert_memory_equal(field, jobs[t].field, sizeof field);
        assert_memory_equal(grad, jobs[t].grad, sizeof grad);
        assert_memory_equal(energy, jobs[t].energy, sizeof energy);
    }
    hnn_net_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_net_many_threads),
    };
    return cmocka_run_group_tests_name("threads", tests, NULL, NULL);
}
