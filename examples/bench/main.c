/* bench: how fast libhnn runs, against the machine's own dgemm and (optionally) PyTorch.
 * One thread unless --threads says otherwise. Each figure is the best of several timed
 * repetitions, each long enough to swamp the clock's resolution. FLOP counts are the models
 * of docs/performance.md.
 *
 *   bench [--json] [--quick] [--sweep [--width W] [--depth D]] [--threads T] [--torch SCRIPT]
 *         [--python PYTHON3]
 *   (SCRIPT: examples/bench/torch_ref.py, run with PYTHON3, default python3; T threads for
 *   libhnn (needs a libhnn built with HNN_OPENMP), OpenBLAS and PyTorch alike)
 *
 * --sweep measures instead how cost and memory grow with the state: n = 1, 2, 4, 8, 16, 64
 * (two hidden layers of 200; --width W and --depth D change them), each on both gradient
 * paths forced and with the path the library picks, against PyTorch's autograd in the same
 * run.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, popen */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hnn/hnn.h>

#ifdef HNN_BENCH_CBLAS
#include <cblas.h>
#endif
#ifdef HNN_BENCH_OPENMP
#include <omp.h>
#endif

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double min_time = 0.25; /* seconds per repetition */
static int repetitions = 3;

/* OpenBLAS picks its kernels from the CPU model; a CPU newer than the OpenBLAS build (Debian
 * 12's 0.3.21 on an Emerald Rapids Xeon, say) gets its generic SSE3 "Prescott" kernels,
 * several times slower, which would make the roof and PyTorch (on the same libblas) look
 * slow. The user fixes it with OPENBLAS_CORETYPE, read when OpenBLAS loads; we can only say. */
static void check_blas_kernels(void)
{
#if defined(HNN_BENCH_CBLAS) && defined(__GNUC__) && defined(__x86_64__)
    const char *core = openblas_get_corename();
    const int old = core == NULL || strcmp(core, "Prescott") == 0 || strcmp(core, "Core2") == 0 ||
                    strcmp(core, "Nehalem") == 0 || strcmp(core, "Penryn") == 0 ||
                    strcmp(core, "Dunnington") == 0;
    if (old && __builtin_cpu_supports("avx2"))
        fprintf(stderr, "bench: OpenBLAS runs its %s kernels on this AVX2%s CPU (it does not "
                        "know the model), so the dgemm roof and PyTorch are slower than they "
                        "should be; run again with OPENBLAS_CORETYPE=%s\n",
                core == NULL ? "generic" : core,
                __builtin_cpu_supports("avx512f") ? "/AVX-512" : "",
                __builtin_cpu_supports("avx512f") ? "SkylakeX" : "Haswell");
#endif
}

/* The BLAS line of the tables' heading. */
static const char *blas_kernels(void)
{
#ifdef HNN_BENCH_CBLAS
    const char *core = openblas_get_corename();
    return core != NULL ? core : "unknown";
#else
    return "none";
#endif
}

/* Seconds per call of fn(ctx): repeat until min_time has passed, best of `repetitions`. */
static double time_per_call(int (*fn)(void *), void *ctx)
{
    double best = INFINITY;
    int r;
    if (!fn(ctx)) /* warm-up, and a check that it works */
        return NAN;
    for (r = 0; r < repetitions; r++) {
        long calls = 0;
        const double t0 = now();
        double t;
        do {
            fn(ctx);
            calls++;
        } while ((t = now() - t0) < min_time);
        if (t / (double)calls < best)
            best = t / (double)calls;
    }
    return best;
}

/* ---- FLOP models (docs/performance.md) -------------------------------------------------- */

/* One dual pass of a 2 x w Hamiltonian net, n = 1: layer 0 on values only (its tangents are
 * copies of weights), the hidden product and the output head on 1 + 2n = 3 columns. */
static double flops_field(size_t w, int hamiltonian)
{
    const double n2 = 2.0, cols = hamiltonian ? 3.0 : 1.0, out = hamiltonian ? 1.0 : 2.0;
    return 2.0 * n2 * (double)w + 2.0 * (double)w * (double)w * cols + 2.0 * (double)w * out * cols;
}

/* A training step per sample: the forward pass plus two products of the same size backwards
 * (weight gradients, input adjoints) for every layer but the input adjoint of the first. */
static double flops_train(size_t w, int hamiltonian)
{
    const double cols = hamiltonian ? 3.0 : 1.0, out = hamiltonian ? 1.0 : 2.0;
    const double hidden = 2.0 * (double)w * (double)w * cols, head = 2.0 * (double)w * out * cols;
    const double first = 2.0 * 2.0 * (double)w;
    return 3.0 * hidden + 3.0 * head + 2.0 * first + (hamiltonian ? 2.0 * first : 0.0);
}

/* The same on the adjoint path (lib/adjoint.c), products only. The field: the forward sweep
 * (2w + w^2; the field needs no H, so no head) and the backward one (w^2 + 2w). A training
 * step per sample: the forward sweep with the head (2w + w^2 + w), the backward sweep
 * (w^2 + 2w), the up sweep (2w + w^2), the down sweep (w^2) and the weight products of twice
 * the states (2 w^2 + 4w). */
static double flops_field_adjoint(size_t w)
{
    const double wd = (double)w;
    return 2.0 * (2.0 * wd * wd + 4.0 * wd);
}

static double flops_train_adjoint(size_t w)
{
    const double wd = (double)w;
    return 2.0 * (6.0 * wd * wd + 11.0 * wd);
}

/* The FLOP count a figure is measured against: the cheaper path's (a fast kernel running
 * an algorithm with more work than necessary is not near the roof). */
static double flops_field_min(size_t w)
{
    return fmin(flops_field(w, 1), flops_field_adjoint(w));
}

static double flops_train_min(size_t w)
{
    return fmin(flops_train(w, 1), flops_train_adjoint(w));
}

/* ---- the benchmarks ---------------------------------------------------------------------- */

typedef struct ctx {
    hnn_net *net;
    hnn_workspace *ws;
    hnn_optimizer *opt;
    hnn_dataset *data;
    hnn_integrator *integ;
    hnn_field_source src;
    hnn_stepper *stepper;
    hnn_train_def td;
    double *x, *f;
    float *x32, *f32;
    size_t count, steps;
#ifdef HNN_BENCH_CBLAS
    double *A, *B, *C;
    float *A32, *B32, *C32;
    int m, n, k;
#endif
} ctx;

static int call_field(void *p)
{
    ctx *c = (ctx *)p;
    return hnn_net_field(c->net, c->ws, c->x, c->count, c->f) == HNN_OK;
}

static int call_field_f32(void *p)
{
    ctx *c = (ctx *)p;
    return hnn_net_field_f32(c->net, c->ws, c->x32, c->count, c->f32) == HNN_OK;
}

/* One implicit-midpoint step of c->count particles with the batched stepper. */
static int call_particles(void *p)
{
    ctx *c = (ctx *)p;
    return hnn_stepper_step(c->stepper, c->net, c->x, c->count, 0.01) == HNN_OK;
}

static int call_particles_f32(void *p)
{
    ctx *c = (ctx *)p;
    return hnn_stepper_step_f32(c->stepper, c->net, c->x32, c->count, 0.01f) == HNN_OK;
}

static int call_train(void *p)
{
    ctx *c = (ctx *)p;
    return hnn_train(c->net, c->opt, c->data, NULL, &c->td, NULL, NULL) == HNN_OK;
}

static int call_rollout(void *p)
{
    ctx *c = (ctx *)p;
    double x[2] = {1.0, 0.0};
    return hnn_integrator_rollout(c->integ, &c->src, x, 0.05, c->steps, NULL, NULL, NULL, NULL) == HNN_OK;
}

#ifdef HNN_BENCH_CBLAS
static int call_dgemm(void *p)
{
    ctx *c = (ctx *)p;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->m, c->n, c->k, 1.0, c->A, c->k,
                c->B, c->n, 0.0, c->C, c->n);
    return 1;
}

static int call_sgemm(void *p)
{
    ctx *c = (ctx *)p;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->m, c->n, c->k, 1.0f, c->A32, c->k,
                c->B32, c->n, 0.0f, c->C32, c->n);
    return 1;
}
#endif

/* Training steps per second and GFLOP/s of c->net (with c->opt, c->data, c->td). */
static void train_rate(ctx *c, size_t w, int hamiltonian, double *steps_per_s, double *gflops)
{
    const double t = time_per_call(call_train, c) / (double)c->td.steps;
    *steps_per_s = 1.0 / t;
    *gflops = 256.0 * (hamiltonian ? flops_train_min(w) : flops_train(w, 0)) / t * 1e-9;
}

/* The hidden layers' activation (--activation), here and in torch_ref.py. */
static const char *const activation_names[] = {"tanh", "softplus", "sine", "silu"};
static hnn_activation activation = HNN_ACTIVATION_TANH;

static hnn_net *make_net(size_t w, hnn_net_kind kind)
{
    hnn_net_def d = hnn_net_def_default();
    hnn_net *net = NULL;
    d.kind = kind;
    d.activation = activation;
    d.widths[0] = d.widths[1] = w;
    hnn_net_create(&d, &net, NULL);
    return net;
}

typedef struct result {
    size_t width;
    double latency_us, batch_states_per_s, batch_gflops;
    double train_hnn_steps_per_s, train_hnn_gflops, train_mlp_steps_per_s, train_mlp_gflops;
    double rk4_steps_per_s, midpoint_steps_per_s, midpoint_evals_per_step;
    double dgemm_gflops; /* NaN without a BLAS */
    /* the float path (hnn_net_field_f32, always the adjoint sweeps) and its roof */
    double latency_us_f32, batch_states_per_s_f32, batch_gflops_f32, sgemm_gflops;
    /* 1024 particles stepped by implicit midpoint (hnn_stepper_step, _f32) */
    double particle_steps_per_s, particle_steps_per_s_f32;
} result;

static void bench_width(size_t w, result *r)
{
    ctx c;
    hnn_spring_data_def sd = hnn_spring_data_def_default();
    hnn_optimizer_def od = hnn_optimizer_def_default(HNN_OPT_ADAM);
    hnn_integrator_def id = hnn_integrator_def_default();
    size_t i;
    memset(&c, 0, sizeof c);
    r->width = w;
    c.x = malloc(4096 * 2 * sizeof(double));
    c.f = malloc(4096 * 2 * sizeof(double));
    c.x32 = malloc(4096 * 2 * sizeof(float));
    c.f32 = malloc(4096 * 2 * sizeof(float));
    for (i = 0; i < 4096 * 2; i++)
        c.x32[i] = (float)(c.x[i] = sin(0.37 * (double)i));

    /* field evaluation: one state (latency), then 4096 at once (throughput) */
    c.net = make_net(w, HNN_NET_HAMILTONIAN);
    hnn_workspace_create(c.net, &c.ws, NULL);
    c.count = 1;
    r->latency_us = 1e6 * time_per_call(call_field, &c);
    c.count = 4096;
    {
        const double t = time_per_call(call_field, &c);
        r->batch_states_per_s = 4096.0 / t;
        r->batch_gflops = 4096.0 * flops_field_min(w) / t * 1e-9;
    }
    c.count = 1;
    r->latency_us_f32 = 1e6 * time_per_call(call_field_f32, &c);
    c.count = 4096;
    {
        const double t = time_per_call(call_field_f32, &c);
        r->batch_states_per_s_f32 = 4096.0 / t;
        r->batch_gflops_f32 = 4096.0 * flops_field_adjoint(w) / t * 1e-9;
    }
    {
        hnn_stepper_def sd = hnn_stepper_def_default();
        sd.method = HNN_METHOD_IMPLICIT_MIDPOINT; /* the net is not separable */
        sd.max_count = c.count = 1024;
        hnn_stepper_create(c.net, &sd, &c.stepper, NULL);
        for (i = 0; i < 1024 * 2; i++) /* states in the data's range */
            c.x32[i] = (float)(c.x[i] = sin(0.37 * (double)i));
        r->particle_steps_per_s = 1024.0 / time_per_call(call_particles, &c);
        r->particle_steps_per_s_f32 = 1024.0 / time_per_call(call_particles_f32, &c);
        hnn_stepper_destroy(c.stepper);
        for (i = 0; i < 1024 * 2; i++)
            c.x32[i] = (float)(c.x[i] = sin(0.37 * (double)i));
    }

    /* rollouts of one state: RK4 (4 evaluations a step) and implicit midpoint */
    c.src.struct_size = sizeof c.src;
    hnn_field_source_net(c.net, c.ws, &c.src);
    c.steps = 200;
    id.method = HNN_METHOD_RK4;
    hnn_integrator_create(&id, &c.integ, NULL);
    r->rk4_steps_per_s = (double)c.steps / time_per_call(call_rollout, &c);
    hnn_integrator_destroy(c.integ);
    id.method = HNN_METHOD_IMPLICIT_MIDPOINT;
    hnn_integrator_create(&id, &c.integ, NULL);
    r->midpoint_steps_per_s = (double)c.steps / time_per_call(call_rollout, &c);
    hnn_integrator_reset(c.integ);
    call_rollout(&c);
    r->midpoint_evals_per_step = (double)hnn_integrator_field_evals(c.integ) / (double)c.steps;
    hnn_integrator_destroy(c.integ);

    /* training: the seed's configuration, batch 256, Adam; then the direct-field baseline */
    sd.count = 1024;
    hnn_dataset_spring(&sd, &c.data, NULL);
    c.td = hnn_train_def_default();
    c.td.batch_size = 256;
    c.td.steps = 50; /* per call: the per-call set-up (buffers) is then a small share */
    c.td.report_every = 0;
    hnn_optimizer_create(&od, hnn_net_param_count(c.net), &c.opt, NULL);
    train_rate(&c, w, 1, &r->train_hnn_steps_per_s, &r->train_hnn_gflops);
    hnn_optimizer_destroy(c.opt);
    hnn_workspace_destroy(c.ws);
    hnn_net_destroy(c.net);
    c.net = make_net(w, HNN_NET_FIELD);
    hnn_optimizer_create(&od, hnn_net_param_count(c.net), &c.opt, NULL);
    train_rate(&c, w, 0, &r->train_mlp_steps_per_s, &r->train_mlp_gflops);
    hnn_optimizer_destroy(c.opt);
    hnn_net_destroy(c.net);
    hnn_dataset_destroy(c.data);

    /* the roof: dgemm at the shape of the hidden layer's product over a chunk of 64 states
     * with their tangents (w x w times w x 192) */
    r->dgemm_gflops = r->sgemm_gflops = NAN;
#ifdef HNN_BENCH_CBLAS
    c.m = (int)w, c.k = (int)w, c.n = 192;
    c.A = malloc(w * w * sizeof(double));
    c.B = malloc(w * 192 * sizeof(double));
    c.C = malloc(w * 192 * sizeof(double));
    for (i = 0; i < w * w; i++)
        c.A[i] = cos((double)i);
    for (i = 0; i < w * 192; i++)
        c.B[i] = sin((double)i);
    r->dgemm_gflops = 2.0 * (double)w * (double)w * 192.0 / time_per_call(call_dgemm, &c) * 1e-9;
    c.A32 = malloc(w * w * sizeof(float));
    c.B32 = malloc(w * 192 * sizeof(float));
    c.C32 = malloc(w * 192 * sizeof(float));
    for (i = 0; i < w * w; i++)
        c.A32[i] = (float)c.A[i];
    for (i = 0; i < w * 192; i++)
        c.B32[i] = (float)c.B[i];
    r->sgemm_gflops = 2.0 * (double)w * (double)w * 192.0 / time_per_call(call_sgemm, &c) * 1e-9;
    free(c.A), free(c.B), free(c.C), free(c.A32), free(c.B32), free(c.C32);
#endif
    free(c.x);
    free(c.f);
    free(c.x32);
    free(c.f32);
}

/* ---- the n-sweep: both gradient paths, memory, PyTorch ------------------------------------- */

enum { SWEEP_BATCH = 256, SWEEP_STATES = 4096, SWEEP_DOFS = 6 };
static const size_t sweep_dofs[SWEEP_DOFS] = {1, 2, 4, 8, 16, 64};
static size_t sweep_width = 200, sweep_depth = 2;

static void sweep_shape(hnn_net_def *d, size_t n)
{
    size_t l;
    d->dof = n;
    d->depth = sweep_depth;
    for (l = 0; l < sweep_depth; l++)
        d->widths[l] = sweep_width;
    d->activation = activation;
}

typedef struct sweep_row {
    size_t n;
    double train[2], latency_us[2], batch[2]; /* [0]: HNN_PATH_DUAL, [1]: HNN_PATH_ADJOINT */
    double bytes[2];                          /* net + loss workspace + one workspace */
    int auto_eval, auto_train;                /* the library's choice: 0 dual, 1 adjoint */
    double torch_train, torch_latency_us, torch_batch; /* NaN without PyTorch */
} sweep_row;

/* An allocator that counts the bytes it holds (the memory figure). */
static void *counting_alloc(void *user, void *ptr, size_t old_size, size_t new_size)
{
    long *live = (long *)user;
    if (new_size == 0) {
        free(ptr);
        *live -= (long)old_size;
        return NULL;
    }
    ptr = realloc(ptr, new_size);
    if (ptr != NULL)
        *live += (long)new_size - (long)old_size;
    return ptr;
}

static int sweep_path(size_t n, hnn_gradient_path path, const hnn_dataset *data, sweep_row *r)
{
    const int p = path == HNN_PATH_ADJOINT;
    hnn_net_def d = hnn_net_def_default();
    hnn_optimizer_def od = hnn_optimizer_def_default(HNN_OPT_ADAM);
    hnn_loss_workspace *lw = NULL;
    long live = 0;
    ctx c;
    size_t i;
    memset(&c, 0, sizeof c);
    sweep_shape(&d, n);
    d.path = path;
    d.allocator.fn = counting_alloc;
    d.allocator.user = &live;
    if (hnn_net_create(&d, &c.net, NULL) != HNN_OK ||
        hnn_loss_workspace_create(c.net, &lw, NULL) != HNN_OK ||
        hnn_workspace_create(c.net, &c.ws, NULL) != HNN_OK)
        return 0;
    r->bytes[p] = (double)live;
    hnn_loss_workspace_destroy(lw);
    c.x = malloc(SWEEP_STATES * 2 * n * sizeof(double));
    c.f = malloc(SWEEP_STATES * 2 * n * sizeof(double));
    for (i = 0; i < SWEEP_STATES * 2 * n; i++)
        c.x[i] = sin(0.37 * (double)i);
    c.count = 1;
    r->latency_us[p] = 1e6 * time_per_call(call_field, &c);
    c.count = SWEEP_STATES;
    r->batch[p] = (double)SWEEP_STATES / time_per_call(call_field, &c);
    c.data = (hnn_dataset *)data;
    c.td = hnn_train_def_default();
    c.td.batch_size = SWEEP_BATCH;
    c.td.steps = n >= 16 && path == HNN_PATH_DUAL ? 2 : 10;
    c.td.report_every = 0;
    hnn_optimizer_create(&od, hnn_net_param_count(c.net), &c.opt, NULL);
    r->train[p] = 1.0 / (time_per_call(call_train, &c) / (double)c.td.steps);
    hnn_optimizer_destroy(c.opt);
    hnn_workspace_destroy(c.ws);
    hnn_net_destroy(c.net);
    free(c.x);
    free(c.f);
    return 1;
}

/* n independent unit springs: the states of a box, their derivatives J x. */
static hnn_dataset *sweep_data(size_t n)
{
    const size_t count = 1024, dim = 2 * n;
    double *x = malloc(count * dim * sizeof *x), *y = malloc(count * dim * sizeof *y);
    hnn_dataset *ds = NULL;
    size_t s, i;
    for (s = 0; s < count; s++)
        for (i = 0; i < n; i++) {
            x[s * dim + i] = sin(0.71 * (double)(s * dim + i));
            x[s * dim + n + i] = cos(0.53 * (double)(s * dim + i));
            y[s * dim + i] = x[s * dim + n + i];
            y[s * dim + n + i] = -x[s * dim + i];
        }
    hnn_dataset_create(n, count, x, y, NULL, &ds, NULL);
    free(x);
    free(y);
    return ds;
}

/* Runs the PyTorch script's sweep: lines "n latency_us batch train"; returns rows read. */
static int run_torch_sweep(const char *python, const char *script, int quick, int threads,
                           sweep_row *rows)
{
    char cmd[2048], line[512];
    FILE *p;
    int got = 0;
    if (strchr(python, '\'') != NULL || strchr(script, '\'') != NULL)
        return 0;
    snprintf(cmd, sizeof cmd, "'%s' '%s' --sweep --width %zu --depth %zu --threads %d --activation %s%s "
             "2>/dev/null",
             python, script, sweep_width, sweep_depth, threads, activation_names[activation],
             quick ? " --quick" : "");
    if ((p = popen(cmd, "r")) == NULL)
        return 0;
    while (fgets(line, sizeof line, p) != NULL) {
        size_t n;
        double lat, batch, train;
        int i;
        if (sscanf(line, "%zu %lf %lf %lf", &n, &lat, &batch, &train) != 4)
            continue;
        for (i = 0; i < SWEEP_DOFS; i++)
            if (rows[i].n == n) {
                rows[i].torch_latency_us = lat, rows[i].torch_batch = batch;
                rows[i].torch_train = train;
                got++;
            }
    }
    pclose(p);
    return got;
}

static int run_sweep(const char *python, const char *script, int quick, int threads, int json)
{
    sweep_row rows[SWEEP_DOFS];
    int i, p;
    for (i = 0; i < SWEEP_DOFS; i++) {
        sweep_row *r = &rows[i];
        hnn_net_def d = hnn_net_def_default();
        hnn_net *net = NULL;
        hnn_dataset *data = sweep_data(sweep_dofs[i]);
        memset(r, 0, sizeof *r);
        r->n = sweep_dofs[i];
        r->torch_train = r->torch_latency_us = r->torch_batch = NAN;
        sweep_shape(&d, r->n);
        if (data == NULL || hnn_net_create(&d, &net, NULL) != HNN_OK)
            return 1;
        r->auto_eval = hnn_net_gradient_path(net, 0) == HNN_PATH_ADJOINT;
        r->auto_train = hnn_net_gradient_path(net, 1) == HNN_PATH_ADJOINT;
        hnn_net_destroy(net);
        for (p = 0; p < 2; p++)
            if (!sweep_path(r->n, p ? HNN_PATH_ADJOINT : HNN_PATH_DUAL, data, r))
                return 1;
        hnn_dataset_destroy(data);
    }
    if (script != NULL)
        run_torch_sweep(python, script, quick, threads, rows);
    if (json) {
        printf("{\"threads\": %d, \"width\": %zu, \"depth\": %zu, \"batch\": %d, \"sweep\": [",
               threads, sweep_width, sweep_depth, SWEEP_BATCH);
        for (i = 0; i < SWEEP_DOFS; i++) {
            const sweep_row *r = &rows[i];
            printf("%s\n  {\"n\": %zu, \"auto_eval\": \"%s\", \"auto_train\": \"%s\"", i ? "," : "",
                   r->n, r->auto_eval ? "adjoint" : "dual", r->auto_train ? "adjoint" : "dual");
            for (p = 0; p < 2; p++)
                printf(", \"%s\": {\"train_steps_per_s\": %.2f, \"latency_us\": %.3f, "
                       "\"batch_states_per_s\": %.1f, \"bytes\": %.0f}", p ? "adjoint" : "dual",
                       r->train[p], r->latency_us[p], r->batch[p], r->bytes[p]);
            if (!isnan(r->torch_train))
                printf(", \"torch\": {\"train_steps_per_s\": %.2f, \"latency_us\": %.3f, "
                       "\"batch_states_per_s\": %.1f}", r->torch_train, r->torch_latency_us,
                       r->torch_batch);
            printf("}");
        }
        printf("\n]}\n");
        return 0;
    }
    printf("libhnn %s, %d thread(s); %zu hidden %s layer(s) of %zu, training batch %d (Adam), "
           "batched field %d states\n(d: HNN_PATH_DUAL, a: HNN_PATH_ADJOINT forced; "
           "* marks the path HNN_PATH_AUTO picks; OpenBLAS kernels: %s)\n\n",
           hnn_version_string(), threads, sweep_depth, activation_names[activation], sweep_width,
           SWEEP_BATCH, SWEEP_STATES,
           blas_kernels());
    printf("%4s %10s %10s %9s %9s %11s %11s %9s %9s\n", "n", "train d", "train a", "lat d",
           "lat a", "batch d", "batch a", "MiB d", "MiB a");
    printf("%4s %10s %10s %9s %9s %11s %11s %9s %9s\n", "", "steps/s", "steps/s", "us", "us",
           "states/s", "states/s", "", "");
    for (i = 0; i < SWEEP_DOFS; i++) {
        const sweep_row *r = &rows[i];
        printf("%4zu %9.1f%c %9.1f%c %8.2f%c %8.2f%c %10.0f%c %10.0f%c %9.2f %9.2f\n", r->n,
               r->train[0], r->auto_train ? ' ' : '*', r->train[1], r->auto_train ? '*' : ' ',
               r->latency_us[0], r->auto_eval ? ' ' : '*', r->latency_us[1], r->auto_eval ? '*' : ' ',
               r->batch[0], r->auto_eval ? ' ' : '*', r->batch[1], r->auto_eval ? '*' : ' ',
               r->bytes[0] / 1048576.0, r->bytes[1] / 1048576.0);
    }
    printf("\nthe library's pick against its own n = 1 rate: training %.2f at n = 16, %.2f at "
           "n = 64\n", rows[4].train[rows[4].auto_train] / rows[0].train[rows[0].auto_train],
           rows[5].train[rows[5].auto_train] / rows[0].train[rows[0].auto_train]);
    if (isnan(rows[0].torch_train)) {
        if (script != NULL)
            printf("\n(PyTorch not available: %s printed nothing)\n", script);
        return 0;
    }
    printf("\nlibhnn (the path it picks) / PyTorch, same run:\n%4s %10s %14s %10s\n", "n",
           "training", "latency (x faster)", "batch");
    for (i = 0; i < SWEEP_DOFS; i++) {
        const sweep_row *r = &rows[i];
        printf("%4zu %10.2f %14.1f %10.2f\n", r->n, r->train[r->auto_train] / r->torch_train,
               r->torch_latency_us / r->latency_us[r->auto_eval],
               r->batch[r->auto_eval] / r->torch_batch);
    }
    return 0;
}

/* ---- PyTorch, measured in the same run ----------------------------------------------------- */

typedef struct torch_row {
    size_t width;
    double latency_us, batch_states_per_s, train_hnn_steps_per_s, train_mlp_steps_per_s,
        rk4_steps_per_s;
} torch_row;

/* Runs the PyTorch reference script and reads its lines "width latency_us batch train_hnn
 * train_mlp rk4"; returns the number of rows read. */
static int run_torch(const char *python, const char *script, int quick, int threads,
                     torch_row *rows, int max)
{
    char cmd[2048], line[512];
    FILE *p;
    int n = 0;
    if (strchr(python, '\'') != NULL || strchr(script, '\'') != NULL)
        return 0;
    snprintf(cmd, sizeof cmd, "'%s' '%s' --lines --threads %d --activation %s%s 2>/dev/null",
             python, script, threads, activation_names[activation], quick ? " --quick" : "");
    if ((p = popen(cmd, "r")) == NULL)
        return 0;
    while (n < max && fgets(line, sizeof line, p) != NULL) {
        torch_row *t = &rows[n];
        if (sscanf(line, "%zu %lf %lf %lf %lf %lf", &t->width, &t->latency_us,
                   &t->batch_states_per_s, &t->train_hnn_steps_per_s, &t->train_mlp_steps_per_s,
                   &t->rk4_steps_per_s) == 6)
            n++;
    }
    pclose(p);
    return n;
}

static int parse_activation(const char *name)
{
    size_t i;
    for (i = 0; i < sizeof activation_names / sizeof *activation_names; i++)
        if (strcmp(name, activation_names[i]) == 0) {
            activation = (hnn_activation)i;
            return 1;
        }
    return 0;
}

int main(int argc, char **argv)
{
    const size_t widths[3] = {32, 128, 512};
    result res[3];
    torch_row torch[3];
    const char *script = NULL, *python = "python3";
    int json = 0, quick = 0, sweep = 0, i, ntorch = 0, threads = 1;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--sweep") == 0)
            sweep = 1;
        else if (strcmp(argv[i], "--width") == 0 && i + 1 < argc && atoi(argv[i + 1]) >= 1 &&
                 atoi(argv[i + 1]) <= 4096)
            sweep_width = (size_t)atoi(argv[++i]);
        else if (strcmp(argv[i], "--depth") == 0 && i + 1 < argc && atoi(argv[i + 1]) >= 1 &&
                 atoi(argv[i + 1]) <= 16)
            sweep_depth = (size_t)atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc && atoi(argv[i + 1]) >= 1 &&
                 atoi(argv[i + 1]) <= 256)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--torch") == 0 && i + 1 < argc)
            script = argv[++i];
        else if (strcmp(argv[i], "--python") == 0 && i + 1 < argc)
            python = argv[++i];
        else if (strcmp(argv[i], "--activation") == 0 && i + 1 < argc &&
                 parse_activation(argv[i + 1]))
            i++;
        else {
            fprintf(stderr, "usage: %s [--json] [--quick] [--sweep [--width 1..4096] [--depth 1..16]] [--threads 1..256] "
                            "[--torch examples/bench/torch_ref.py] [--python PYTHON3] "
                            "[--activation tanh|softplus|sine|silu]\n", argv[0]);
            return 2;
        }
    }
    if (quick)
        min_time = 0.02, repetitions = 1;
#ifdef HNN_BENCH_OPENMP
    omp_set_num_threads(threads); /* libhnn's threads: OpenMP's setting of this thread */
#endif
    if (hnn_max_threads() != threads) {
        fprintf(stderr, "bench: libhnn would use %d thread(s), not %d: %s\n", hnn_max_threads(),
                threads, "threads need libhnn and this bench built with -DHNN_OPENMP=ON");
        return 2;
    }
#ifdef HNN_BENCH_CBLAS
    openblas_set_num_threads(threads); /* the roof with as many cores as libhnn gets */
#endif
    check_blas_kernels();
    if (sweep)
        return run_sweep(python, script, quick, threads, json);
    for (i = 0; i < 3; i++)
        bench_width(widths[i], &res[i]);
    if (script != NULL)
        ntorch = run_torch(python, script, quick, threads, torch, 3);

    if (json) {
        printf("{\"threads\": %d, \"blas\": %s, \"blas_kernels\": \"%s\", \"rows\": [",
               threads, isnan(res[0].dgemm_gflops) ? "false" : "true", blas_kernels());
        for (i = 0; i < 3; i++) {
            const result *r = &res[i];
            printf("%s\n  {\"width\": %zu, \"latency_us\": %.3f, \"batch_states_per_s\": %.1f, "
                   "\"batch_gflops\": %.3f, \"train_hnn_steps_per_s\": %.2f, \"train_hnn_gflops\": %.3f, "
                   "\"train_mlp_steps_per_s\": %.2f, \"train_mlp_gflops\": %.3f, "
                   "\"rk4_steps_per_s\": %.1f, \"midpoint_steps_per_s\": %.1f, "
                   "\"midpoint_evals_per_step\": %.2f, \"dgemm_gflops\": ",
                   i ? "," : "", r->width, r->latency_us, r->batch_states_per_s, r->batch_gflops,
                   r->train_hnn_steps_per_s, r->train_hnn_gflops, r->train_mlp_steps_per_s,
                   r->train_mlp_gflops, r->rk4_steps_per_s, r->midpoint_steps_per_s,
                   r->midpoint_evals_per_step);
            if (isnan(r->dgemm_gflops))
                printf("null");
            else
                printf("%.3f", r->dgemm_gflops);
            printf(", \"latency_us_f32\": %.3f, \"batch_states_per_s_f32\": %.1f, "
                   "\"batch_gflops_f32\": %.3f, \"particle_steps_per_s\": %.1f, "
                   "\"particle_steps_per_s_f32\": %.1f, \"sgemm_gflops\": ",
                   r->latency_us_f32, r->batch_states_per_s_f32, r->batch_gflops_f32,
                   r->particle_steps_per_s, r->particle_steps_per_s_f32);
            if (isnan(r->sgemm_gflops))
                printf("null");
            else
                printf("%.3f", r->sgemm_gflops);
            if (i < ntorch)
                printf(", \"torch\": {\"latency_us\": %.3f, \"batch_states_per_s\": %.1f, "
                       "\"train_hnn_steps_per_s\": %.2f, \"train_mlp_steps_per_s\": %.2f, "
                       "\"rk4_steps_per_s\": %.1f}", torch[i].latency_us, torch[i].batch_states_per_s,
                       torch[i].train_hnn_steps_per_s, torch[i].train_mlp_steps_per_s,
                       torch[i].rk4_steps_per_s);
            printf("}");
        }
        printf("\n]}\n");
        return 0;
    }
    printf("libhnn %s, %d thread(s); n = 1 (a state of 2), two hidden %s layers of width w\n"
           "(OpenBLAS kernels: %s)\n\n", hnn_version_string(), threads,
           activation_names[activation], blas_kernels());
    printf("%5s %10s %12s %8s %10s %8s %10s %8s %10s %10s %8s\n", "w", "latency", "batch",
           "GFLOP/s", "HNN train", "GFLOP/s", "MLP train", "GFLOP/s", "RK4", "midpoint", "dgemm");
    printf("%5s %10s %12s %8s %10s %8s %10s %8s %10s %10s %8s\n", "", "us/state", "states/s", "",
           "steps/s", "", "steps/s", "", "steps/s", "steps/s", "GFLOP/s");
    for (i = 0; i < 3; i++) {
        const result *r = &res[i];
        printf("%5zu %10.2f %12.0f %8.2f %10.1f %8.2f %10.1f %8.2f %10.0f %10.0f %8.2f\n", r->width,
               r->latency_us, r->batch_states_per_s, r->batch_gflops, r->train_hnn_steps_per_s,
               r->train_hnn_gflops, r->train_mlp_steps_per_s, r->train_mlp_gflops,
               r->rk4_steps_per_s, r->midpoint_steps_per_s, r->dgemm_gflops);
    }
    if (!isnan(res[0].dgemm_gflops)) {
        printf("\nfraction of dgemm (same machine, same run, w x w times w x 192):\n");
        for (i = 0; i < 3; i++)
            printf("  w = %3zu: batched evaluation %3.0f %%, HNN training %3.0f %%, MLP training %3.0f %%\n",
                   res[i].width, 100 * res[i].batch_gflops / res[i].dgemm_gflops,
                   100 * res[i].train_hnn_gflops / res[i].dgemm_gflops,
                   100 * res[i].train_mlp_gflops / res[i].dgemm_gflops);
    } else {
        printf("\n(no BLAS found at build time: install OpenBLAS for the dgemm roof)\n");
    }
    printf("\nfloat32 (hnn_net_field_f32, adjoint sweeps), same run:\n");
    printf("%5s %10s %12s %8s %14s %14s %10s %12s %10s\n", "w", "latency", "batch",
           "GFLOP/s", "latency f32/64", "batch f32/64", "of sgemm", "particles/s", "f32/64");
    for (i = 0; i < 3; i++) {
        const result *r = &res[i];
        printf("%5zu %10.2f %12.0f %8.2f %14.2f %14.2f %9.0f%% %12.0f %10.2f\n", r->width,
               r->latency_us_f32, r->batch_states_per_s_f32, r->batch_gflops_f32,
               r->latency_us_f32 / r->latency_us,
               r->batch_states_per_s_f32 / r->batch_states_per_s,
               100.0 * r->batch_gflops_f32 / r->sgemm_gflops, r->particle_steps_per_s_f32,
               r->particle_steps_per_s_f32 / r->particle_steps_per_s);
    }
    printf("(particles/s: particle-steps per second of 1024 states by implicit midpoint, "
           "hnn_stepper_step_f32; f32/64 against hnn_stepper_step)\n");
    if (ntorch > 0) {
        printf("\nlibhnn / PyTorch (same run, %d thread(s) each, double precision):\n", threads);
        printf("%5s %14s %12s %12s %12s %10s\n", "w", "latency (x faster)", "batch", "HNN train",
               "MLP train", "RK4");
        for (i = 0; i < ntorch && i < 3; i++)
            printf("%5zu %14.1f %12.2f %12.2f %12.2f %10.1f\n", torch[i].width,
                   torch[i].latency_us / res[i].latency_us,
                   res[i].batch_states_per_s / torch[i].batch_states_per_s,
                   res[i].train_hnn_steps_per_s / torch[i].train_hnn_steps_per_s,
                   res[i].train_mlp_steps_per_s / torch[i].train_mlp_steps_per_s,
                   res[i].rk4_steps_per_s / torch[i].rk4_steps_per_s);
    } else if (script != NULL) {
        printf("\n(PyTorch not available: %s printed nothing)\n", script);
    }
    return 0;
}
