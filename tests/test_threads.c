/* One net evaluated from many threads at once: the pattern that once raced (4 threads sharing
 * one net, passing NULL for the workspace, wrote the net's own workspace: 402 of 600 results
 * wrong). Now a NULL workspace is refused without a write, and with a workspace each, every
 * evaluation function on every feature map gives bit-identical results to a single thread.
 * Run under ThreadSanitizer in CI (.ci/run), which would report any write to the shared net. */
#include "test_util.h"

#include <pthread.h>

#define THREADS 4
#define COUNT 40
#define REPEATS 5
#define DIM_MAX 12

/* Everything one thread computes, per evaluation function. */
typedef struct results {
    double energy[COUNT], grad[COUNT * DIM_MAX], field[COUNT * DIM_MAX];
    double hess[COUNT * DIM_MAX * DIM_MAX], jac[COUNT * DIM_MAX * DIM_MAX];
    double source_field[DIM_MAX], quantity[1 + DIM_MAX];
    float field32[COUNT * DIM_MAX], energy32[COUNT], grad32[COUNT * DIM_MAX];
} results;

typedef struct job {
    const hnn_net *net; /* shared, read-only */
    int hamiltonian;
    const double *x;
    results r;
    hnn_status st;
    int null_refused; /* every NULL-workspace call answered HNN_ERR_NULL */
} job;

static hnn_status evaluate(const hnn_net *net, int hamiltonian, hnn_workspace *ws,
                           const double *x, results *r)
{
    hnn_field_source src = {.struct_size = sizeof src};
    hnn_quantity q = {.struct_size = sizeof q};
    float x32[COUNT * DIM_MAX];
    size_t i;
    hnn_status st;
    for (i = 0; i < COUNT * hnn_net_dof(net) * 2; i++)
        x32[i] = (float)x[i];
    if ((st = hnn_net_field_f32(net, ws, x32, COUNT, r->field32)) != HNN_OK ||
        (hamiltonian &&
         (st = hnn_net_gradient_f32(net, ws, x32, COUNT, r->energy32, r->grad32)) != HNN_OK))
        return st;
    if ((st = hnn_net_field(net, ws, x, COUNT, r->field)) != HNN_OK ||
        (st = hnn_net_field_jacobian(net, ws, x, COUNT, r->jac)) != HNN_OK ||
        (st = hnn_field_source_net(net, ws, &src)) != HNN_OK ||
        (st = src.field(src.ctx, src.dim, x, r->source_field)) != HNN_OK)
        return st;
    if (!hamiltonian)
        return HNN_OK;
    if ((st = hnn_net_energy(net, ws, x, COUNT, r->energy)) != HNN_OK ||
        (st = hnn_net_gradient(net, ws, x, COUNT, r->energy, r->grad)) != HNN_OK ||
        (st = hnn_net_hessian(net, ws, x, COUNT, r->hess)) != HNN_OK ||
        (st = hnn_quantity_net_energy(net, ws, &q)) != HNN_OK)
        return st;
    return q.fn(q.ctx, q.dim, x, r->quantity, r->quantity + 1);
}

/* Each NULL-workspace entry point refuses (a direct-field net has no energy: those answer
 * HNN_ERR_WRONG_KIND first), and writes nothing. */
static int null_workspace_refused(const hnn_net *net, int hamiltonian, const double *x)
{
    const hnn_status energy_st = hamiltonian ? HNN_ERR_NULL : HNN_ERR_WRONG_KIND;
    double out[COUNT * DIM_MAX * DIM_MAX];
    hnn_field_source src = {.struct_size = sizeof src};
    hnn_quantity q = {.struct_size = sizeof q};
    return hnn_net_field(net, NULL, x, COUNT, out) == HNN_ERR_NULL &&
           hnn_net_field_jacobian(net, NULL, x, COUNT, out) == HNN_ERR_NULL &&
           hnn_field_source_net(net, NULL, &src) == HNN_ERR_NULL &&
           hnn_quantity_net_energy(net, NULL, &q) == energy_st &&
           (!hamiltonian || (hnn_net_energy(net, NULL, x, COUNT, out) == HNN_ERR_NULL &&
                             hnn_net_gradient(net, NULL, x, COUNT, out, out) == HNN_ERR_NULL &&
                             hnn_net_hessian(net, NULL, x, COUNT, out) == HNN_ERR_NULL));
}

static void *worker(void *arg)
{
    job *j = (job *)arg;
    hnn_workspace *ws = NULL;
    int r;
    j->null_refused = 1;
    j->st = hnn_workspace_create(j->net, &ws, NULL);
    for (r = 0; r < REPEATS && j->st == HNN_OK; r++) {
        j->null_refused &= null_workspace_refused(j->net, j->hamiltonian, j->x);
        j->st = evaluate(j->net, j->hamiltonian, ws, j->x, &j->r);
    }
    hnn_workspace_destroy(ws);
    return NULL;
}

typedef struct shape {
    hnn_net_kind kind;
    hnn_feature_map features;
    size_t dof, bodies;
    double kinetic_mass;
} shape;

static void one_net_many_threads(const shape *sh, uint64_t seed)
{
    hnn_net_def def = hnn_net_def_default();
    hnn_net *net = NULL;
    static double x[THREADS][COUNT * DIM_MAX];
    static job jobs[THREADS];
    static results mine;
    pthread_t threads[THREADS];
    const size_t dim = 2 * sh->dof;
    test_rng rng = {seed};
    int t;
    def.kind = sh->kind;
    def.features = sh->features;
    def.dof = sh->dof;
    def.bodies = sh->bodies;
    def.kinetic_mass = sh->kinetic_mass;
    def.widths[0] = def.widths[1] = 16;
    def.seed = seed;
    assert_int_equal(hnn_net_create(&def, &net, NULL), HNN_OK);
    for (t = 0; t < THREADS; t++) {
        test_fill(&rng, x[t], COUNT * dim, -2.0, 2.0);
        jobs[t].net = net;
        jobs[t].hamiltonian = sh->kind == HNN_NET_HAMILTONIAN;
        jobs[t].x = x[t];
        assert_int_equal(pthread_create(&threads[t], NULL, worker, &jobs[t]), 0);
    }
    for (t = 0; t < THREADS; t++)
        assert_int_equal(pthread_join(threads[t], NULL), 0);
    for (t = 0; t < THREADS; t++) { /* the same work on this thread, with the net's own workspace */
        assert_int_equal(jobs[t].st, HNN_OK);
        assert_true(jobs[t].null_refused);
        memset(&mine, 0, sizeof mine);
        assert_int_equal(evaluate(net, jobs[t].hamiltonian, hnn_net_workspace(net), x[t], &mine),
                         HNN_OK);
        assert_memory_equal(mine.field, jobs[t].r.field, COUNT * dim * sizeof(double));
        assert_memory_equal(mine.jac, jobs[t].r.jac, COUNT * dim * dim * sizeof(double));
        assert_memory_equal(mine.source_field, jobs[t].r.source_field, dim * sizeof(double));
        assert_memory_equal(mine.field32, jobs[t].r.field32, COUNT * dim * sizeof(float));
        if (jobs[t].hamiltonian) {
            assert_memory_equal(mine.energy, jobs[t].r.energy, COUNT * sizeof(double));
            assert_memory_equal(mine.grad, jobs[t].r.grad, COUNT * dim * sizeof(double));
            assert_memory_equal(mine.hess, jobs[t].r.hess, COUNT * dim * dim * sizeof(double));
            assert_memory_equal(mine.quantity, jobs[t].r.quantity, (1 + dim) * sizeof(double));
            assert_memory_equal(mine.energy32, jobs[t].r.energy32, COUNT * sizeof(float));
            assert_memory_equal(mine.grad32, jobs[t].r.grad32, COUNT * dim * sizeof(float));
        }
    }
    hnn_net_destroy(net);
}

/* Every feature map (and the direct-field baseline, and a known kinetic term). */
static void test_one_net_many_threads(void **state)
{
    static const shape shapes[] = {
        {HNN_NET_HAMILTONIAN, HNN_FEATURES_IDENTITY, 2, 0, 0.0},
        {HNN_NET_FIELD, HNN_FEATURES_IDENTITY, 2, 0, 0.0},
        {HNN_NET_HAMILTONIAN, HNN_FEATURES_TRANSLATION, 6, 3, 0.0},
        {HNN_NET_HAMILTONIAN, HNN_FEATURES_ROTATION, 4, 2, 0.0},
        {HNN_NET_HAMILTONIAN, HNN_FEATURES_ROTATION, 6, 3, 0.0},
        {HNN_NET_HAMILTONIAN, HNN_FEATURES_POSITIONS, 2, 0, 1.5},
    };
    size_t i;
    (void)state;
    for (i = 0; i < TEST_COUNT(shapes); i++)
        one_net_many_threads(&shapes[i], 11 + i);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_net_many_threads),
    };
    return cmocka_run_group_tests_name("threads", tests, NULL, NULL);
}
