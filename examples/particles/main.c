/* particles: the game-physics case. One learned Hamiltonian, shared read-only by worker
 * threads that each step their own block of particles with one batched call per frame
 * (hnn_stepper_step, or hnn_stepper_step_f32 on float states) at a fixed dt; every buffer is
 * made at set-up, and a counting allocator proves nothing is allocated while the particles
 * move. Reports the drift of the model's energy and the cost per particle-step.
 *
 *   particles [MODEL.hnn] [--particles N] [--frames F] [--dt DT] [--threads T]
 *             [--integrator leapfrog|symplectic-euler|implicit-midpoint] [--f32]
 * Without MODEL.hnn it first trains a small separable HNN on the unit spring (about a
 * second). The default method is leapfrog for a separable net, implicit midpoint otherwise.
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

/* ---- a block of particles, stepped by one batched call ---------------------------------- *
 * Each thread owns a block: its particles' states (count x 2n, as the evaluation functions
 * take them, in double or in float) and a stepper (hnn/stepper.h) that advances them all by
 * one step per call, on the one net every thread shares read-only. */

typedef struct block {
    const hnn_net *net;
    hnn_stepper *stepper;
    hnn_workspace *ws;        /* for the energies */
    size_t count, n;
    int f32;
    double *state;            /* count x 2n (the double run, and the float run's energies) */
    float *state32;           /* count x 2n (the float run) */
    double *h0, *h;           /* each particle's energy at the start, and now */
    size_t frames;
    double dt, max_drift, sum_drift;
    hnn_status st;
    char message[HNN_ERROR_MESSAGE_SIZE];
} block;

/* The energies of the block's particles (in double, at the float states for a float run). */
static hnn_status block_energy(const block *b, double *out)
{
    size_t i;
    if (b->f32)
        for (i = 0; i < b->count * 2 * b->n; i++)
            b->state[i] = b->state32[i];
    return hnn_net_energy(b->net, b->ws, b->state, b->count, out);
}

static void *run_block(void *arg)
{
    block *b = (block *)arg;
    size_t frame, k;
    for (frame = 0; frame < b->frames && b->st == HNN_OK; frame++) {
        b->st = b->f32 ? hnn_stepper_step_f32(b->stepper, b->net, b->state32, b->count,
                                              (float)b->dt)
                       : hnn_stepper_step(b->stepper, b->net, b->state, b->count, b->dt);
        if (b->st != HNN_OK)
            snprintf(b->message, sizeof b->message, "%s", hnn_stepper_last_error(b->stepper));
    }
    /* the drift of each particle's energy under the model's own H */
    if (b->st == HNN_OK && (b->st = block_energy(b, b->h)) == HNN_OK)
        for (k = 0; k < b->count; k++) {
            const double d = fabs(b->h[k] - b->h0[k]) / fabs(b->h0[k]);
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
    int method_given, f32;
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
    o->method = HNN_METHOD_LEAPFROG;
    o->method_given = o->f32 = 0;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int good;
        if (a[0] != '-' && o->model == NULL) {
            o->model = a;
            continue;
        }
        if (strcmp(a, "--f32") == 0) {
            o->f32 = 1;
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
            good = (o->method_given = hnn_method_from_name(v, &o->method) == HNN_OK);
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

/* A small separable HNN of the unit spring, when no model file is given: the known kinetic
 * term |p|^2 / 2 and a learned potential of the positions (two hidden layers of 32), so that
 * explicit leapfrog applies. */
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
    nd.features = HNN_FEATURES_POSITIONS;
    nd.kinetic_mass = 1.0;
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
    const size_t dim = 2 * b->n;
    size_t k, i;
    for (k = 0; k < b->count; k++) {
        const double u = (double)((first + k) * 2654435761u % 100000) / 100000.0;
        const double angle = 6.283185307179586 * (double)(first + k) * 0.6180339887498949;
        const double r = 0.3 + 0.9 * u;
        for (i = 0; i < b->n; i++) {
            b->state[k * dim + i] = r * cos(angle + (double)i);
            b->state[k * dim + b->n + i] = r * sin(angle + (double)i);
        }
    }
    for (i = 0; i < b->count * dim; i++) /* the float run starts from the same states */
        b->state32[i] = (float)b->state[i];
}

static int setup_block(block *b, const hnn_net *net, const options *o, size_t count,
                       size_t first, const hnn_allocator *alloc, hnn_error *err)
{
    hnn_stepper_def sd = hnn_stepper_def_default();
    memset(b, 0, sizeof *b);
    if (count > ((size_t)1 << 24)) /* parse() caps it; keeps every size below far from overflow */
        return 0;
    b->net = net;
    b->count = count;
    b->n = hnn_net_dof(net);
    b->f32 = o->f32;
    b->frames = o->frames;
    b->dt = o->dt;
    b->state = malloc(count * 2 * b->n * sizeof(double));
    b->state32 = malloc(count * 2 * b->n * sizeof(float));
    b->h0 = malloc(count * sizeof(double));
    b->h = malloc(count * sizeof(double));
    if (b->state == NULL || b->state32 == NULL || b->h0 == NULL || b->h == NULL ||
        hnn_workspace_create(net, &b->ws, err) != HNN_OK)
        return 0;
    sd.method = o->method;
    sd.max_count = count;
    sd.allocator = *alloc;
    if (hnn_stepper_create(net, &sd, &b->stepper, err) != HNN_OK)
        return 0;
    place(b, first);
    return block_energy(b, b->h0) == HNN_OK;
}

static void free_block(block *b)
{
    free(b->state), free(b->state32), free(b->h0), free(b->h);
    hnn_workspace_destroy(b->ws);
    hnn_stepper_destroy(b->stepper);
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
    size_t t, first = 0;
    int ok = 0;

    alloc.user = &count;
    if (!parse(argc, argv, &o)) {
        fprintf(stderr, "usage: %s [MODEL.hnn] [--particles N (1..2^24)] [--frames F] [--dt DT > 0] "
                        "[--threads T (1..%d)] [--integrator leapfrog|symplectic-euler|"
                        "implicit-midpoint] [--f32]\n", argv[0], MAX_THREADS);
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
        /* leapfrog is explicit only for a separable net: else the implicit midpoint rule */
        if (!o.method_given && !(def.features == HNN_FEATURES_POSITIONS && def.kinetic_mass > 0))
            o.method = HNN_METHOD_IMPLICIT_MIDPOINT;
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
    }
    printf("%zu particles (n = %zu), %zu frames of %s at dt = %g in %s on %zu threads sharing "
           "one net\n", o.particles, hnn_net_dof(net), o.frames, hnn_method_name(o.method), o.dt,
           o.f32 ? "float" : "double", o.threads);
    printf("model energy drift after %g time units: mean %.3e, max %.3e (relative)\n",
           o.dt * (double)o.frames, sum_drift / (double)o.particles, max_drift);
    printf("time: %.3f s wall, %.1f ns per particle-step\n", wall,
           1e9 * wall / ((double)o.particles * (double)o.frames));
    printf("allocations while stepping: %ld\n", count.allocations - allocs_before);
    ok = count.allocations == allocs_before;
done:
    for (t = 0; t < MAX_THREADS; t++)
        free_block(&blocks[t]);
    hnn_net_destroy(net);
    return ok ? 0 : 1;
}
