/* two_body, three_body: Noether's lever on bodies under gravity. Trains four models on the
 * two- or three-body task of Greydanus, Dzamba & Yosinski (2019) (their data protocols and
 * training settings: docs/symmetry.md): the direct-field baseline, a plain HNN, and HNNs whose energy reads the
 * state through the translation-invariant and the rotation-invariant feature maps. Then, for
 * each: the field error on the test set and on the same states moved far away (every body
 * shifted by the same vector, which changes nothing physical); RK4 rollouts from test orbits
 * with the drift of the true energy, total momentum and angular momentum; and for the HNNs the
 * Poisson brackets {P, H} and {L, H} at the test states.
 *
 *   two_body [--steps N] [--width W] [--trajectories T] [--shift D] [--seed S]
 *            [--path auto|dual|adjoint] [--json]
 *   (defaults: 2000 steps (the reference trained 10,000), width 200, 1000 orbits, shift 10;
 *   --path forces the HNNs' gradient engine, to compare their training times)
 *   three_body [same options] (defaults as two_body but 5000 orbits, as the reference)
 *
 * One source, built twice: BODIES is 2 or 3 (examples/CMakeLists.txt).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hnn/hnn.h>

#ifndef BODIES
#define BODIES 2
#endif
#define DIM (4 * BODIES) /* the state: a plane position and momentum per body */
#define MODELS 4
#define ORBITS 10     /* test orbits rolled out */
#define STEP 0.02     /* RK4 step */

#if BODIES == 2
#define NAME "two_body"
#define SYSTEM HNN_SYSTEM_TWO_BODY
#define SAMPLES 50    /* states per orbit in the task */
#define T_END 20.0    /* rollout length: the task's orbit length, about one revolution */
#define TRAJECTORIES 1000
#else
#define NAME "three_body"
#define SYSTEM HNN_SYSTEM_THREE_BODY
#define SAMPLES 20
#define T_END 5.0
#define TRAJECTORIES 5000
#endif

typedef struct config {
    uint64_t steps, seed;
    size_t width, trajectories;
    double shift;
    hnn_gradient_path path; /* the HNNs' engine (the baseline has no grad H) */
    int json;
} config;

typedef struct result {
    const char *name;
    hnn_net_kind kind;
    hnn_feature_map features;
    double train_loss, test_loss, shifted_loss;
    double energy_drift;   /* max over rollouts of max_t |E(t) - E(0)| / |E(0)| (true energy) */
    double momentum_drift; /* max over rollouts, components and time of |P(t) - P(0)| */
    double angular_drift;  /* the same for L */
    double state_mse;      /* mean over rollouts, times and coordinates of (x - x_true)^2 */
    double bracket_P, bracket_L; /* max |{P_x, H}|, |{P_y, H}| and |{L, H}| at test states */
    double train_seconds;  /* wall time of hnn_train */
    const char *path;      /* the engine it trained on */
} result;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int fail(const char *what, const char *why)
{
    fprintf(stderr, NAME ": %s: %s\n", what, why);
    return 0;
}

static hnn_net *train_model(const config *c, result *r, const hnn_dataset *tr,
                            const hnn_dataset *te)
{
    hnn_net_def nd = hnn_net_def_default();
    hnn_optimizer_def od = hnn_optimizer_def_default(HNN_OPT_ADAM);
    hnn_train_def td = hnn_train_def_default();
    hnn_optimizer *opt = NULL;
    hnn_net *net = NULL;
    hnn_train_result res = {.struct_size = sizeof res};
    hnn_error err;
    double t0;
    nd.kind = r->kind;
    nd.path = r->kind == HNN_NET_HAMILTONIAN ? c->path : HNN_PATH_AUTO;
    nd.dof = 2 * BODIES;
    nd.widths[0] = nd.widths[1] = c->width;
    nd.features = r->features;
    nd.bodies = r->features == HNN_FEATURES_IDENTITY ? 0 : BODIES;
    nd.seed = c->seed;
    td.steps = c->steps;
    td.batch_size = 200; /* the reference: Adam, lr 1e-3, minibatches of 200 */
    td.seed = c->seed;
    td.report_every = 0;
    t0 = now();
    if (hnn_net_create(&nd, &net, &err) != HNN_OK ||
        hnn_optimizer_create(&od, hnn_net_param_count(net), &opt, &err) != HNN_OK ||
        hnn_train(net, opt, tr, te, &td, &res, &err) != HNN_OK) {
        fail(r->name, err.message);
        hnn_net_destroy(net);
        net = NULL;
    } else {
        r->train_seconds = now() - t0;
        r->path = hnn_net_gradient_path(net, 1) == HNN_PATH_ADJOINT ? "adjoint" : "dual";
        r->train_loss = res.train_loss;
        r->test_loss = res.val_loss;
    }
    hnn_optimizer_destroy(opt);
    return net;
}

/* The field error on the test states moved by (shift, shift) (every body alike). */
static int shifted_loss(const config *c, hnn_net *net, const hnn_dataset *te, double *loss)
{
    const size_t count = hnn_dataset_count(te);
    double *x = malloc(count * DIM * sizeof *x);
    hnn_loss_workspace *lw = NULL;
    size_t s, k;
    int ok;
    if (x == NULL)
        return fail("shift", "out of memory");
    memcpy(x, hnn_dataset_states(te), count * DIM * sizeof *x);
    for (s = 0; s < count; s++)
        for (k = 0; k < DIM / 2; k++)
            x[DIM * s + k] += c->shift;
    ok = hnn_loss_workspace_create(net, &lw, NULL) == HNN_OK &&
         hnn_loss_mse(net, lw, x, hnn_dataset_derivatives(te), count, loss, NULL) == HNN_OK;
    hnn_loss_workspace_destroy(lw);
    free(x);
    return ok ? 1 : fail("shift", "evaluating the shifted states failed");
}

typedef struct probes {
    hnn_diagnostics *diag;
    hnn_bodies bodies[2]; /* axis 0 and axis 1 */
    hnn_quantity energy, px, py, L;
} probes;

/* Drifts along one rollout of `src` from x0, and its squared error against `truth`. */
static int rollout(probes *p, hnn_integrator *integ, const hnn_field_source *src,
                   const double *x0, const double *truth, double *traj, result *r,
                   double *sq_err)
{
    const size_t steps = (size_t)(T_END / STEP + 0.5);
    double x[DIM];
    hnn_drift d = {.struct_size = sizeof d};
    size_t i;
    memcpy(x, x0, sizeof x);
    hnn_integrator_reset(integ);
    if (hnn_integrator_rollout(integ, src, x, STEP, steps, traj, NULL, NULL, NULL) != HNN_OK)
        return fail(r->name, hnn_integrator_last_error(integ));
    if (hnn_diagnostics_drift(p->diag, &p->energy, traj, steps + 1, &d) != HNN_OK)
        return fail(r->name, "energy drift");
    r->energy_drift = fmax(r->energy_drift, d.max_rel_err);
    if (hnn_diagnostics_drift(p->diag, &p->px, traj, steps + 1, &d) != HNN_OK)
        return fail(r->name, "momentum drift");
    r->momentum_drift = fmax(r->momentum_drift, d.max_abs_err);
    if (hnn_diagnostics_drift(p->diag, &p->py, traj, steps + 1, &d) != HNN_OK)
        return fail(r->name, "momentum drift");
    r->momentum_drift = fmax(r->momentum_drift, d.max_abs_err);
    if (hnn_diagnostics_drift(p->diag, &p->L, traj, steps + 1, &d) != HNN_OK)
        return fail(r->name, "angular momentum drift");
    r->angular_drift = fmax(r->angular_drift, d.max_abs_err);
    *sq_err = 0.0;
    if (truth != NULL)
        for (i = 0; i < (steps + 1) * DIM; i++)
            *sq_err += (traj[i] - truth[i]) * (traj[i] - truth[i]);
    *sq_err /= (double)((steps + 1) * DIM);
    return 1;
}

/* max |{F, H}| over the test states for a Hamiltonian net. */
static int bracket(probes *p, const hnn_quantity *F, hnn_net *net, const hnn_dataset *te,
                   double *out)
{
    const size_t count = hnn_dataset_count(te);
    double *b = malloc(count * sizeof *b);
    hnn_quantity H = {.struct_size = sizeof H};
    size_t s;
    int ok = b != NULL && hnn_quantity_net_energy(net, hnn_net_workspace(net), &H) == HNN_OK &&
             hnn_diagnostics_poisson_bracket(p->diag, F, &H, hnn_dataset_states(te), count, b) ==
                 HNN_OK;
    for (s = 0; ok && s < count; s++)
        *out = fmax(*out, fabs(b[s]));
    free(b);
    return ok ? 1 : fail("bracket", "failed");
}

static int evaluate(const config *c, probes *p, hnn_net *net, const hnn_dataset *te,
                    const double *truths, result *r)
{
    const size_t steps = (size_t)(T_END / STEP + 0.5);
    hnn_integrator_def id = hnn_integrator_def_default();
    hnn_integrator *integ = NULL;
    hnn_field_source src = {.struct_size = sizeof src};
    double *traj = malloc((steps + 1) * DIM * sizeof *traj), mse = 0.0, e;
    size_t k;
    int ok = traj != NULL;
    id.method = HNN_METHOD_RK4;
    id.dim = DIM;
    ok = ok && hnn_integrator_create(&id, &integ, NULL) == HNN_OK &&
         hnn_field_source_net(net, hnn_net_workspace(net), &src) == HNN_OK && shifted_loss(c, net, te, &r->shifted_loss);
    for (k = 0; ok && k < ORBITS; k++) {
        ok = rollout(p, integ, &src, hnn_dataset_states(te) + k * SAMPLES * DIM,
                     truths + k * (steps + 1) * DIM, traj, r, &e);
        mse += e / ORBITS;
    }
    r->state_mse = mse;
    r->bracket_P = r->bracket_L = NAN;
    if (ok && r->kind == HNN_NET_HAMILTONIAN) {
        r->bracket_P = r->bracket_L = 0.0;
        ok = bracket(p, &p->px, net, te, &r->bracket_P) && bracket(p, &p->py, net, te, &r->bracket_P) &&
             bracket(p, &p->L, net, te, &r->bracket_L);
    }
    hnn_integrator_destroy(integ);
    free(traj);
    return ok;
}

/* The true rollouts (same integrator and step) the models are compared with; NULL on error. */
static double *true_rollouts(probes *p, const hnn_dataset *te, result *truth)
{
    const size_t steps = (size_t)(T_END / STEP + 0.5);
    hnn_integrator_def id = hnn_integrator_def_default();
    hnn_integrator *integ = NULL;
    hnn_field_source src = {.struct_size = sizeof src};
    double *all = malloc(ORBITS * (steps + 1) * DIM * sizeof *all), e;
    size_t k;
    int ok = all != NULL;
    id.method = HNN_METHOD_RK4;
    id.dim = DIM;
    ok = ok && hnn_integrator_create(&id, &integ, NULL) == HNN_OK &&
         hnn_field_source_system(SYSTEM, &src) == HNN_OK;
    for (k = 0; ok && k < ORBITS; k++)
        ok = rollout(p, integ, &src, hnn_dataset_states(te) + k * SAMPLES * DIM, NULL,
                     all + k * (steps + 1) * DIM, truth, &e);
    hnn_integrator_destroy(integ);
    if (!ok) {
        free(all);
        return NULL;
    }
    return all;
}

static void print_value(double v)
{
    if (isnan(v))
        printf("null");
    else
        printf("%.6e", v);
}

/* What holds for any weights, trained or not: the invariant nets' field error does not move
 * under the shift (up to rounding of the shifted positions), they keep total momentum along
 * RK4 rollouts (a linear invariant, which Runge-Kutta methods keep), and their brackets with
 * the momenta they conserve vanish. Returns the number of checks that failed. */
static int noether_checks(const result *r, int print)
{
    int failed = 0;
    size_t m;
    for (m = 0; m < MODELS; m++) {
        const int invariant = r[m].features != HNN_FEATURES_IDENTITY;
        const int rotation = r[m].features == HNN_FEATURES_ROTATION;
        int bad = 0;
        if (!invariant)
            continue;
        bad |= fabs(r[m].shifted_loss - r[m].test_loss) > 1e-8 * r[m].test_loss;
        bad |= !(r[m].momentum_drift <= 1e-10) || !(r[m].bracket_P <= 1e-12);
        bad |= rotation && !(r[m].bracket_L <= 1e-12);
        if (bad && print)
            fprintf(stderr, NAME ": %s does not keep what its feature map promises\n", r[m].name);
        failed += bad;
    }
    return failed;
}

static void report(const config *c, const result *truth, const result *r)
{
    size_t m;
    if (c->json) {
        printf("{\"steps\": %llu, \"width\": %zu, \"trajectories\": %zu, \"shift\": %g, \"seed\": %llu,\n",
               (unsigned long long)c->steps, c->width, c->trajectories, c->shift,
               (unsigned long long)c->seed);
        printf(" \"truth\": {\"energy_drift\": %.6e, \"momentum_drift\": %.6e, \"angular_drift\": %.6e},\n",
               truth->energy_drift, truth->momentum_drift, truth->angular_drift);
        printf(" \"models\": [");
        for (m = 0; m < MODELS; m++) {
            const double v[10] = {r[m].train_loss, r[m].test_loss, r[m].shifted_loss,
                                  r[m].energy_drift, r[m].momentum_drift, r[m].angular_drift,
                                  r[m].state_mse, r[m].bracket_P, r[m].bracket_L, 0};
            static const char *const keys[9] = {"train_loss", "test_loss", "shifted_test_loss",
                                                "energy_drift", "momentum_drift", "angular_drift",
                                                "state_mse", "bracket_P", "bracket_L"};
            size_t k;
            printf("%s\n  {\"model\": \"%s\", \"path\": \"%s\", \"train_seconds\": %.3f", m ? "," : "",
                   r[m].name, r[m].path, r[m].train_seconds);
            for (k = 0; k < 9; k++) {
                printf(", \"%s\": ", keys[k]);
                print_value(v[k]);
            }
            printf("}");
        }
        printf("\n], \"noether_checks_passed\": %s}\n", noether_checks(r, 0) ? "false" : "true");
        return;
    }
    printf("%d bodies under gravity: %zu orbits (first 20 %% test), %llu Adam steps, 2 x %zu tanh\n",
           BODIES, c->trajectories, (unsigned long long)c->steps, c->width);
    printf("rollouts: RK4, h = %g, t = 0..%g, from %d test orbits; shift: every body moved by (%g, %g)\n\n",
           STEP, T_END, ORBITS, c->shift, c->shift);
    printf("%-16s %10s %10s %10s %10s %10s %10s %10s %10s %10s\n", "model", "train", "test",
           "shifted", "energy", "momentum", "angular", "state", "{P,H}", "{L,H}");
    printf("%-16s %10s %10s %10s %10s %10s %10s %10s %10s %10s\n", "", "loss", "loss", "loss",
           "drift", "drift", "drift", "MSE", "max", "max");
    printf("%-16s %10s %10s %10s %10.2e %10.2e %10.2e %10s %10s %10s\n", "true system", "", "", "",
           truth->energy_drift, truth->momentum_drift, truth->angular_drift, "", "", "");
    for (m = 0; m < MODELS; m++) {
        printf("%-16s %10.2e %10.2e %10.2e %10.2e %10.2e %10.2e %10.2e", r[m].name,
               r[m].train_loss, r[m].test_loss, r[m].shifted_loss, r[m].energy_drift,
               r[m].momentum_drift, r[m].angular_drift, r[m].state_mse);
        if (isnan(r[m].bracket_P))
            printf(" %10s %10s\n", "-", "-");
        else
            printf(" %10.2e %10.2e\n", r[m].bracket_P, r[m].bracket_L);
    }
    printf("\ntraining time (s; gradient path):");
    for (m = 0; m < MODELS; m++)
        printf(" %s %.1f (%s)%s", r[m].name, r[m].train_seconds, r[m].path, m + 1 < MODELS ? "," : "");
    printf("\nnoether checks (invariant nets: shift changes nothing, P kept along RK4, {P,H} and "
           "{L,H} <= 1e-12): %s\n", noether_checks(r, 0) ? "FAILED" : "passed");
}

static int parse(int argc, char **argv, config *c)
{
    int i;
    c->steps = 2000, c->seed = 0, c->width = 200, c->trajectories = TRAJECTORIES, c->shift = 10.0;
    c->json = 0;
    c->path = HNN_PATH_AUTO;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(a, "--json") == 0) {
            c->json = 1;
            continue;
        }
        if (v == NULL)
            return 0;
        i++;
        if (strcmp(a, "--path") == 0) {
            if (strcmp(v, "auto") == 0)
                c->path = HNN_PATH_AUTO;
            else if (strcmp(v, "dual") == 0)
                c->path = HNN_PATH_DUAL;
            else if (strcmp(v, "adjoint") == 0)
                c->path = HNN_PATH_ADJOINT;
            else
                return 0;
            continue;
        }
        if (strcmp(a, "--steps") == 0)
            c->steps = strtoull(v, &end, 10);
        else if (strcmp(a, "--seed") == 0)
            c->seed = strtoull(v, &end, 10);
        else if (strcmp(a, "--width") == 0)
            c->width = (size_t)strtoul(v, &end, 10);
        else if (strcmp(a, "--trajectories") == 0)
            c->trajectories = (size_t)strtoul(v, &end, 10);
        else if (strcmp(a, "--shift") == 0)
            c->shift = strtod(v, &end);
        else
            return 0;
        if (end == v || *end != '\0' || v[0] == '-')
            return 0;
    }
    /* at least ORBITS test orbits: 20 % of the trajectories */
    return c->steps >= 1 && c->width >= 1 && c->width <= 4096 && c->trajectories >= 5 * ORBITS &&
           c->trajectories <= 100000 && isfinite(c->shift) && fabs(c->shift) <= 1e6;
}

/* The task's data, by its protocol (docs/symmetry.md). */
static hnn_status make_data(const config *c, hnn_dataset **tr, hnn_dataset **te, hnn_error *err)
{
#if BODIES == 2
    hnn_two_body_def dd = hnn_two_body_def_default();
    dd.trajectories = c->trajectories;
    dd.seed = c->seed;
    return hnn_dataset_two_body(&dd, tr, te, err);
#else
    hnn_three_body_def dd = hnn_three_body_def_default();
    dd.trajectories = c->trajectories;
    dd.seed = c->seed;
    return hnn_dataset_three_body(&dd, tr, te, err);
#endif
}

int main(int argc, char **argv)
{
    config c;
    hnn_diagnostics_def gd = hnn_diagnostics_def_default();
    hnn_dataset *tr = NULL, *te = NULL;
    probes p;
    result truth, r[MODELS] = {
        {"baseline", HNN_NET_FIELD, HNN_FEATURES_IDENTITY, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL},
        {"hnn", HNN_NET_HAMILTONIAN, HNN_FEATURES_IDENTITY, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL},
        {"hnn_translation", HNN_NET_HAMILTONIAN, HNN_FEATURES_TRANSLATION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL},
        {"hnn_rotation", HNN_NET_HAMILTONIAN, HNN_FEATURES_ROTATION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL},
    };
    double *truths;
    hnn_error err;
    size_t m;
    int ok = 1;
    if (!parse(argc, argv, &c)) {
        fprintf(stderr, "usage: " NAME " [--steps N] [--width 1..4096] [--trajectories 50..100000] "
                        "[--shift D] [--seed S] [--path auto|dual|adjoint] [--json]\n");
        return 2;
    }
    gd.dim = DIM;
    memset(&truth, 0, sizeof truth);
    truth.name = "true system";
    p.bodies[0].struct_size = p.bodies[1].struct_size = sizeof p.bodies[0];
    p.energy.struct_size = p.px.struct_size = p.py.struct_size = p.L.struct_size = sizeof p.L;
    p.bodies[0].dof = p.bodies[1].dof = 2 * BODIES;
    p.bodies[0].bodies = p.bodies[1].bodies = BODIES;
    p.bodies[0].axis = 0, p.bodies[1].axis = 1;
    if (make_data(&c, &tr, &te, &err) != HNN_OK)
        return fail("data", err.message) ? 0 : 1;
    if (hnn_diagnostics_create(&gd, &p.diag, &err) != HNN_OK ||
        hnn_quantity_system_energy(SYSTEM, &p.energy) != HNN_OK ||
        hnn_quantity_momentum(&p.bodies[0], &p.px) != HNN_OK ||
        hnn_quantity_momentum(&p.bodies[1], &p.py) != HNN_OK ||
        hnn_quantity_angular_momentum(&p.bodies[0], &p.L) != HNN_OK ||
        (truths = true_rollouts(&p, te, &truth)) == NULL) {
        hnn_dataset_destroy(tr);
        hnn_dataset_destroy(te);
        return fail("set-up", "diagnostics or the true rollouts failed") ? 0 : 1;
    }
    for (m = 0; ok && m < MODELS; m++) {
        hnn_net *net = train_model(&c, &r[m], tr, te);
        ok = net != NULL && evaluate(&c, &p, net, te, truths, &r[m]);
        hnn_net_destroy(net);
    }
    if (ok) {
        report(&c, &truth, r);
        ok = noether_checks(r, 1) == 0;
    }
    free(truths);
    hnn_diagnostics_destroy(p.diag);
    hnn_dataset_destroy(tr);
    hnn_dataset_destroy(te);
    return ok ? 0 : 1;
}
