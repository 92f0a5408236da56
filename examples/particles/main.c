/* particles: the game-physics case. One learned Hamiltonian, shared read-only by worker
 * threads that each step their own block of particles with a symplectic integrator at a fixed
 * dt; every buffer is made at set-up, and a counting allocator proves nothing is allocated
 * while the particles move. Reports the drift of the model's energy and the cost per
 * particle-step.
 *
 *   particles [MODEL.hnn] [--particles N] [--frames F] [--dt DT] [--threads T]
 *             [--integrator NAME]
 * Without MODEL.hnn it first trains a small HNN on the unit spring (about a second).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hnn/hnn.h>

#define MAX_THREADS 64

/* ---- an allocator that counts, shared by threads -------------------------------------- */

typedef struct counter {
    pthread_mutex_t lock;
    long allocations;
} counter;

static void *counting_alloc(void *user, void *ptr, size_t old_size, size_t new_size)
{
    counter *c = (counter *)user;
    (void)old_size;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    pthread_mutex_lock(&c->lock);
    c->allocations++;
    pthread_mutex_unlock(&c->lock);
    return realloc(ptr, new_size);
}

/* ---- a block of particles as one state --------------------------------------------------- *
 * The integrator sees [Q, P]: all positions, then all momenta (the layout symplectic methods
 * need); the field gathers them into per-particle rows and evaluates the net once for the
 * whole block with this thread's workspace. */

typedef struct block {
    const hnn_net *net;
    hnn_workspace *ws;
    size_t count, n;
    double *rows_x, *rows_f;  /* count x 2n */
    double *state;            /* 2n x count, [Q, P] */
    double *h0;               /* each particle's initial energy */
    hnn_integrator *integ;
    hnn_field_source src;
    size_t frames;
    double dt, max_drift, sum_drift;
    hnn_status st;
    char message[HNN_ERROR_MESSAGE_SIZE];
} block;

static void gather(const block *b, const double *x)
{
    size_t k, i;
    for (k = 0; k < b->count; k++)
        for (i = 0; i < b->n; i++) {
            b->rows_x[k * 2 * b->n + i] = x[k * b->n + i];
            b->rows_x[k * 2 * b->n + b->n + i] = x[(b->count + k) * b->n + i];
        }
}

static hnn_status block_field(void *ctx, size_t dim, const double *x, double *f)
{
    const block *b = (const block *)ctx;
    size_t k, i;
    hnn_status st;
    if (dim != 2 * b->n * b->count) /* the caller's arrays must be the whole block's state */
        return HNN_ERR_SIZE_MISMATCH;
    gather(b, x);
    if ((st = hnn_net_field(b->net, b->ws, b->rows_x, b->count, b->rows_f)) != HNN_OK)
        return st;
    for (k = 0; k < b->count; k++)
        for (i = 0; i < b->n; i++) {
            f[k * b->n + i] = b->rows_f[k * 2 * b->n + i];
            f[(b->count + k) * b->n + i] = b->rows_f[k * 2 * b->n + b->n + i];
        }
    return HNN_OK;
}

/* The energies of the block's particles into out (count doubles). */
static hnn_status block_energy(const block *b, double *out)
{
    gather(b, b->state);
    return hnn_net_energy(b->net, b->ws, b->rows_x, b->count, out);
}

static void *run_block(void *arg)
{
    block *b = (block *)arg;
    size_t frame, k;
    for (frame = 0; frame < b->frames && b->st == HNN_OK; frame++) {
        b->st = hnn_integrator_step(b->integ, &b->src, b->state, b->dt);
        if (b->st != HNN_OK)
            snprintf(b->message, sizeof b->message, "%s", hnn_integrator_last_error(b->integ));
    }
    /* the drift of each particle's energy under the model's own H (rows_f as scratch) */
    if (b->st == HNN_OK && (b->st = block_energy(b, b->rows_f)) == HNN_OK)
        for (k = 0; k < b->count; k++) {
            const double d = fabs(b->rows_f[k] - b->h0[k]) / fabs(b->h0[k]);
            b->max_drift = d > b->max_drift ? d : b->max_drift;
            b->sum_drift += d;
        }
    return NULL;
}

/* ---- set-up ------------------------------------------------------------------------------ */

typedef struct options {
    const char *model;
    size_t particles, frames, threads;
    double dt;
    hnn_method method;
} options;

/* A whole number written in digits (no sign), at most `cap`. */
static int parse_count(const char *s, size_t cap, size_t *out)
{
    char *end;
    unsigned long long v;
    if (*s < '0' || *s > '9')
        return 0;
    errno = 0;
    v = strtoull(s, &end, 10);
    *out = (size_t)v;
    return *end == '\0' && errno != ERANGE && v <= cap;
}

static int parse(int argc, char **argv, options *o)
{
    int i;
    o->model = NULL;
    o->particles = 10000;
    o->frames = 1000;
    o->threads = 2;
    o->dt = 0.05;
    o->method = HNN_METHOD_IMPLICIT_MIDPOINT;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int good;
        if (a[0] != '-' && o->model == NULL) {
            o->model = a;
            continue;
        }
        if (v == NULL)
            return 0;
        if (strcmp(a, "--particles") == 0)
            good = parse_count(v, (size_t)1 << 24, &o->particles) && o->particles >= 1;
        else if (strcmp(a, "--frames") == 0)
            good = parse_count(v, (size_t)1 << 30, &o->frames) && o->frames >= 1;
        else if (strcmp(a, "--threads") == 0)
            good = parse_count(v, MAX_THREADS, &o->threads) && o->threads >= 1;
        else if (strcmp(a, "--dt") == 0) {
            char *end;
            o->dt = strtod(v, &end);
            good = end != v && *end == '\0' && isfinite(o->dt) && o->dt > 0;
        } else if (strcmp(a, "--integrator") == 0)
            good = hnn_method_from_name(v, &o->method) == HNN_OK;
        else
            good = 0;
        if (!good)
            return 0;
        i++;
    }
    if (o->threads > o->particles) /* no empty blocks: one thread per particle at most */
        o->threads = o->particles;
    return 1;
}

/* A small HNN of the unit spring, when no model file is given. */
static hnn_net *demo_model(const hnn_allocator *alloc, hnn_error *err)
{
    hnn_net_def nd = hnn_net_def_default();
    hnn_spring_data_def sd = hnn_spring_data_def_default();
    hnn_optimizer_def od = hnn_optimizer_def_default(HNN_OPT_ADAM);
    hnn_train_def td = hnn_train_def_default();
    hnn_dataset *data = NULL;
    hnn_optimizer *opt = NULL;
    hnn_net *net = NULL;
    nd.widths[0] = nd.widths[1] = 32;
    nd.allocator = *alloc;
    td.batch_size = 256;
    td.steps = 1500;
    if (hnn_dataset_spring(&sd, &data, err) != HNN_OK || hnn_net_create(&nd, &net, err) != HNN_OK ||
        hnn_optimizer_create(&od, hnn_net_param_count(net), &opt, err) != HNN_OK ||
        hnn_train(net, opt, data, NULL, &td, NULL, err) != HNN_OK) {
        hnn_net_destroy(net);
        net = NULL;
    }
    hnn_optimizer_destroy(opt);
    hnn_dataset_destroy(data);
    return net;
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Particles spread over an annulus of phase space (radius 0.3 to 1.2, inside the spring
 * data's disc), each a state of n degrees of freedom. */
static void place(block *b, size_t first)
{
    size_t k, i;
    for (k = 0; k < b->count; k++) {
        const double u = (double)((first + k) * 2654435761u % 100000) / 100000.0;
        const double angle = 6.283185307179586 * (double)(first + k) * 0.6180339887498949;
        const double r = 0.3 + 0.9 * u;
        for (i = 0; i < b->n; i++) {
            b->state[k * b->n + i] = r * cos(angle + (double)i);
            b->state[(b->count + k) * b->n + i] = r * sin(angle + (double)i);
        }
    }
}

static int setup_block(block *b, const hnn_net *net, const options *o, size_t count,
                       size_t first, const hnn_allocator *alloc, hnn_error *err)
{
    hnn_integrator_def idef = hnn_integrator_def_default();
    memset(b, 0, sizeof *b);
    if (count > ((size_t)1 << 24)) /* parse() caps it; keeps every size below far from overflow */
        return 0;
    b->net = net;
    b->count = count;
    b->n = hnn_net_dof(net);
    b->frames = o->frames;
    b->dt = o->dt;
    b->rows_x = malloc(count * 2 * b->n * sizeof(double));
    b->rows_f = malloc(count * 2 * b->n * sizeof(double));
    b->state = malloc(count * 2 * b->n * sizeof(double));
    b->h0 = malloc(count * sizeof(double));
    if (b->rows_x == NULL || b->rows_f == NULL || b->state == NULL || b->h0 == NULL ||
        hnn_workspace_create(net, &b->ws, err) != HNN_OK)
        return 0;
    idef.method = o->method;
    idef.dim = count * 2 * b->n;
    idef.allocator = *alloc;
    if (hnn_integrator_create(&idef, &b->integ, err) != HNN_OK)
        return 0;
    b->src.struct_size = sizeof b->src;
    b->src.dim = idef.dim;
    b->src.field = block_field;
    b->src.energy = NULL;
    b->src.ctx = b;
    b->src.separable = 0;
    place(b, first);
    return block_energy(b, b->h0) == HNN_OK;
}

static void free_block(block *b)
{
    free(b->rows_x), free(b->rows_f), free(b->state), free(b->h0);
    hnn_workspace_destroy(b->ws);
    hnn_integrator_destroy(b->integ);
}

int main(int argc, char **argv)
{
    static block blocks[MAX_THREADS];
    pthread_t threads[MAX_THREADS];
    counter count = {PTHREAD_MUTEX_INITIALIZER, 0};
    hnn_allocator alloc = {counting_alloc, NULL};
    options o;
    hnn_net *net = NULL;
    hnn_error err;
    long allocs_before;
    double t0, wall, max_drift = 0.0, sum_drift = 0.0;
    size_t t, first = 0, evals = 0, iterations = 0;
    int ok = 0;

    alloc.user = &count;
    if (!parse(argc, argv, &o)) {
        fprintf(stderr, "usage: %s [MODEL.hnn] [--particles N (1..2^24)] [--frames F] [--dt DT > 0] "
                        "[--threads T (1..%d)] [--integrator NAME]\n", argv[0], MAX_THREADS);
        return 2;
    }
    if (o.model != NULL ? hnn_model_load(o.model, &alloc, &net, NULL, NULL, &err) != HNN_OK
                        : (net = demo_model(&alloc, &err)) == NULL) {
        fprintf(stderr, "particles: %s\n", err.message);
        return 1;
    }
    {
        hnn_net_def def = hnn_net_def_default();
        hnn_net_get_def(net, &def);
        if (def.kind != HNN_NET_HAMILTONIAN) {
            fprintf(stderr, "particles: %s is a direct-field net: the particles' energy needs a "
                            "Hamiltonian one\n", o.model);
            hnn_net_destroy(net);
            return 1;
        }
    }
    memset(blocks, 0, sizeof blocks);
    for (t = 0; t < o.threads; t++) {
        const size_t share = o.particles / o.threads + (t < o.particles % o.threads);
        if (!setup_block(&blocks[t], net, &o, share, first, &alloc, &err)) {
            fprintf(stderr, "particles: set-up: %s\n", err.message);
            goto done;
        }
        first += share;
    }

    allocs_before = count.allocations;
    t0 = seconds();
    for (t = 0; t < o.threads; t++)
        if (pthread_create(&threads[t], NULL, run_block, &blocks[t]) != 0) {
            size_t started = t;
            fprintf(stderr, "particles: cannot start a thread\n");
            for (t = 0; t < started; t++) /* the others still use the blocks: wait for them */
                pthread_join(threads[t], NULL);
            goto done;
        }
    for (t = 0; t < o.threads; t++)
        pthread_join(threads[t], NULL);
    wall = seconds() - t0;
    for (t = 0; t < o.threads; t++) {
        if (blocks[t].st != HNN_OK) {
            fprintf(stderr, "particles: thread %zu: %s (%s)\n", t, hnn_status_string(blocks[t].st),
                    blocks[t].message);
            goto done;
        }
        max_drift = fmax(max_drift, blocks[t].max_drift);
        sum_drift += blocks[t].sum_drift;
        evals += (size_t)hnn_integrator_field_evals(blocks[t].integ);
        iterations += (size_t)hnn_integrator_solver_iterations(blocks[t].integ);
    }
    printf("%zu particles (n = %zu), %zu frames of %s at dt = %g on %zu threads sharing one net\n",
           o.particles, hnn_net_dof(net), o.frames, hnn_method_name(o.method), o.dt, o.threads);
    printf("model energy drift after %g time units: mean %.3e, max %.3e (relative)\n",
           o.dt * (double)o.frames, sum_drift / (double)o.particles, max_drift);
    printf("time: %.3f s wall, %.1f ns per particle-step; %.1f field evaluations per step "
           "(%zu solver iterations in all)\n", wall, 1e9 * wall / ((double)o.particles * (double)o.frames),
           (double)evals / (double)(o.threads * o.frames), iterations);
    printf("allocations while stepping: %ld\n", count.allocations - allocs_before);
    ok = count.allocations == allocs_before;
done:
    for (t = 0; t < MAX_THREADS; t++)
        free_block(&blocks[t]);
    hnn_net_destroy(net);
    return ok ? 0 : 1;
}
