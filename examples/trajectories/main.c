/* trajectories: learning from recorded states alone (docs/trajectories.md). Greydanus et
 * al.'s spring (H = q^2 + p^2) and ideal pendulum (H = 3 (1 - cos q) + p^2) are recorded as
 * trajectories sampled every h (0.05, 0.2, 0.5) with Gaussian observation noise sigma (0,
 * 0.01, 0.05) and no derivatives; for each difference rule (forward, central, midpoint) an
 * HNN and the direct-field baseline learn from them, and so they do from the rollout loss (4
 * RK4 steps over the recorded steps from each observation, matched to the next 4). Reported
 * per row: the field's relative error on fresh states, and along RK4 rollouts of the learned
 * models from fresh initial states the state error and the energy error (the true H of the
 * model's trajectory against its start). Then a damped spring (dq/dt = p, dp/dt = -q - 0.1 p)
 * recorded the same way, fitted by the HNN, the baseline and a port-Hamiltonian model from
 * the midpoint pairs and from the rollout loss alone (its energy error compares the true
 * energies of the model's and the true trajectory).
 * --quick: a small run (spring, sigma 0, h 0.05 and 0.5) that checks the orderings the
 * rules' orders imply and exits 1 if one fails. --write-recording FILE writes a recording
 * shaped like Schmidt and Lipson's real pendulum (5 trials of 30 s at 1/6 s, about a tenth of
 * the frames dropped, noise 0.01) as a trajectory CSV, for `hnn train --trajectories`.
 *
 *   trajectories [--quick] [--json] [--seed S] [--steps N] [--write-recording FILE]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hnn/hnn.h>

#define WIDTH 64
#define T_RECORD 6.0  /* seconds of each recorded trajectory */
#define T_ROLLOUT 10.0
#define H_ROLLOUT 0.01
#define FRESH 400     /* states for the field error */
#define STARTS 8      /* initial states for the rollouts */
#define SUBSTEPS 50   /* RK4 substeps per recording step for the true motion */

#define GAMMA 0.1     /* the damped spring's friction */

typedef struct task {
    const char *name;
    hnn_system system;   /* the conservative part (and all of it unless damped) */
    double r_min, r_max; /* initial states on |x| in [r_min, r_max] */
    int damped;          /* dp/dt gets -GAMMA p */
} task;

static const task tasks[3] = {{"spring", HNN_SYSTEM_GREYDANUS_SPRING, 0.2, 1.0, 0},
                              {"pendulum", HNN_SYSTEM_PENDULUM, 1.3, 2.3, 0},
                              {"damped", HNN_SYSTEM_SPRING, 0.2, 1.0, 1}};
/* the hnn_difference rules in their order, then the rollout loss */
static const char *const rule_names[4] = {"forward", "central", "midpoint", "rollout"};
#define RULE_ROLLOUT 3
#define HORIZON 4      /* the rollout loss's RK4 steps */
#define ROLLOUT_BATCH 64 /* windows per step (a rollout step costs about 30 midpoint steps) */

typedef struct options {
    int quick, json;
    const char *recording;
    uint64_t seed;
    size_t steps, trajectories;
} options;

/* ---- randomness: xorshift64* and Box-Muller ------------------------------------------- */

static double uniform(uint64_t *s)
{
    *s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
    return (double)((*s * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
}

static double gaussian(uint64_t *s)
{
    const double u = uniform(s), v = uniform(s);
    return sqrt(-2.0 * log(u > 0.0 ? u : 1e-300)) * cos(6.283185307179586 * v);
}

static void random_state(const task *tk, uint64_t *s, double *x)
{
    const double r = tk->r_min + (tk->r_max - tk->r_min) * uniform(s);
    const double a = 6.283185307179586 * uniform(s);
    x[0] = r * cos(a);
    x[1] = r * sin(a);
}

/* ---- the true motion and the recording ------------------------------------------------ */

static hnn_status damped_field(void *ctx, size_t dim, const double *x, double *f)
{
    (void)ctx;
    if (dim != 2)
        return HNN_ERR_SIZE_MISMATCH;
    f[0] = x[1];
    f[1] = -x[0] - GAMMA * x[1];
    return HNN_OK;
}

/* The task's true field as a source. */
static void truth_source(const task *tk, hnn_field_source *src)
{
    src->struct_size = sizeof *src;
    if (!tk->damped) {
        hnn_field_source_system(tk->system, src);
        return;
    }
    memset(src, 0, sizeof *src);
    src->struct_size = sizeof *src;
    src->dim = 2;
    src->field = damped_field;
}

/* x advanced by time h through the system's own field (RK4, SUBSTEPS substeps). */
static int true_step(hnn_integrator *rk, const hnn_field_source *truth, double *x, double h)
{
    int i;
    for (i = 0; i < SUBSTEPS; i++)
        if (hnn_integrator_step(rk, truth, x, h / SUBSTEPS) != HNN_OK)
            return 0;
    return 1;
}

/* `count` trajectories sampled every h over T_RECORD, each observation with noise sigma. */
static hnn_trajectories *record(const task *tk, hnn_integrator *rk, size_t count, double h,
                                double sigma, uint64_t seed)
{
    const size_t len = (size_t)(T_RECORD / h + 0.5) + 1;
    size_t *lengths = malloc(count * sizeof *lengths), i, k;
    double *t = malloc(count * len * sizeof *t), *x = malloc(2 * count * len * sizeof *x);
    hnn_field_source truth;
    hnn_trajectories *tr = NULL;
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    int ok = lengths && t && x;
    truth_source(tk, &truth);
    for (i = 0; ok && i < count; i++) {
        double now[2];
        lengths[i] = len;
        random_state(tk, &s, now);
        for (k = 0; ok && k < len; k++) {
            double *o = x + 2 * (i * len + k);
            t[i * len + k] = (double)k * h;
            o[0] = now[0] + sigma * gaussian(&s);
            o[1] = now[1] + sigma * gaussian(&s);
            ok = k + 1 == len || true_step(rk, &truth, now, h);
        }
    }
    if (ok && hnn_trajectories_create(1, count, lengths, t, x, NULL, &tr, NULL) != HNN_OK)
        tr = NULL;
    free(lengths);
    free(t);
    free(x);
    return tr;
}

/* ---- one model, trained on one rule's pairs, and its errors --------------------------- */

typedef struct row {
    const char *task, *rule, *model;
    double sigma, h;
    double field_err, state_err, energy_err;
} row;

/* A trained model: a net (HNN or baseline) or a port-Hamiltonian model. */
typedef struct model {
    hnn_net *net;
    hnn_dissipative *dm;
} model;

enum { MODEL_HNN, MODEL_BASELINE, MODEL_PORT };
static const char *const model_names[3] = {"HNN", "baseline", "port"};

static void model_destroy(model *m)
{
    hnn_net_destroy(m->net);
    hnn_dissipative_destroy(m->dm);
}

static hnn_status model_field(model *m, const double *x, double *f)
{
    return m->net != NULL ? hnn_net_field(m->net, hnn_net_workspace(m->net), x, 1, f)
                          : hnn_dissipative_field(m->dm, x, 1, f);
}

static void model_source(model *m, hnn_field_source *src)
{
    src->struct_size = sizeof *src;
    if (m->net != NULL)
        hnn_field_source_net(m->net, hnn_net_workspace(m->net), src);
    else
        hnn_field_source_dissipative(m->dm, src);
}

/* Trains a new model of the kind on one rule's pairs (pairs) or, for RULE_ROLLOUT, on the
 * rollout loss over the trajectories tr. */
static int train(int kind, int rule, const hnn_dataset *pairs, const hnn_trajectories *tr,
                 const options *o, model *m)
{
    hnn_net_def nd = hnn_net_def_default();
    hnn_optimizer_def od = hnn_optimizer_def_default(HNN_OPT_ADAM);
    hnn_train_def td = hnn_train_def_default();
    hnn_train_result res = {.struct_size = sizeof res};
    hnn_optimizer *opt = NULL;
    hnn_error err;
    hnn_status st;
    m->net = NULL, m->dm = NULL;
    nd.kind = kind == MODEL_BASELINE ? HNN_NET_FIELD : HNN_NET_HAMILTONIAN;
    nd.widths[0] = nd.widths[1] = WIDTH;
    nd.seed = o->seed;
    td.steps = o->steps;
    td.batch_size = rule == RULE_ROLLOUT ? ROLLOUT_BATCH : 256;
    td.seed = o->seed;
    td.report_every = 0;
    st = kind == MODEL_PORT ? hnn_dissipative_create(HNN_DISSIPATION_PORT, &nd, &m->dm, &err)
                            : hnn_net_create(&nd, &m->net, &err);
    if (st == HNN_OK)
        st = hnn_optimizer_create(&od, m->net != NULL ? hnn_net_param_count(m->net)
                                                      : hnn_dissipative_param_count(m->dm),
                                  &opt, &err);
    if (st == HNN_OK && rule == RULE_ROLLOUT)
        st = m->net != NULL
                 ? hnn_train_rollout(m->net, opt, tr, NULL, HORIZON, &td, &res, &err)
                 : hnn_dissipative_train_rollout(m->dm, opt, tr, NULL, HORIZON, &td, &res, &err);
    else if (st == HNN_OK)
        st = m->net != NULL ? hnn_train(m->net, opt, pairs, NULL, &td, &res, &err)
                            : hnn_dissipative_train(m->dm, opt, pairs, NULL, &td, &res, &err);
    hnn_optimizer_destroy(opt);
    if (st != HNN_OK) {
        fprintf(stderr, "trajectories: training: %s\n", err.message);
        model_destroy(m);
        return 0;
    }
    return 1;
}

/* sum |f_model - f_true|^2 / sum |f_true|^2 over FRESH fresh states. */
static double field_error(const task *tk, model *m, uint64_t seed)
{
    hnn_field_source truth;
    double num = 0.0, den = 0.0, x[2], f[2], g[2];
    uint64_t s = seed * 0xD1B54A32D192ED03ull + 7;
    int i;
    truth_source(tk, &truth);
    for (i = 0; i < FRESH; i++) {
        random_state(tk, &s, x);
        if (model_field(m, x, f) != HNN_OK || truth.field(truth.ctx, 2, x, g) != HNN_OK)
            return NAN;
        num += (f[0] - g[0]) * (f[0] - g[0]) + (f[1] - g[1]) * (f[1] - g[1]);
        den += g[0] * g[0] + g[1] * g[1];
    }
    return num / den;
}

/* Mean over STARTS fresh initial states and T_ROLLOUT / H_ROLLOUT RK4 steps of the squared
 * state error against the true motion, and of the squared difference between the true
 * energies of the model's state and the true state (for a conservative system: the
 * change of the true energy along the model's trajectory). */
static void rollout_errors(const task *tk, model *m, hnn_integrator *rk, uint64_t seed,
                           double *state_err, double *energy_err)
{
    const size_t steps = (size_t)(T_ROLLOUT / H_ROLLOUT + 0.5);
    hnn_field_source model_src, truth;
    double se = 0.0, ee = 0.0;
    uint64_t s = seed * 0xA24BAED4963EE407ull + 3;
    size_t i, k;
    model_source(m, &model_src);
    truth_source(tk, &truth);
    for (i = 0; i < STARTS; i++) {
        double x[2], y[2];
        random_state(tk, &s, x);
        y[0] = x[0], y[1] = x[1];
        for (k = 0; k < steps; k++) {
            double dq, dp, dh;
            if (hnn_integrator_step(rk, &model_src, x, H_ROLLOUT) != HNN_OK ||
                hnn_integrator_step(rk, &truth, y, H_ROLLOUT) != HNN_OK) {
                *state_err = *energy_err = NAN;
                return;
            }
            dq = x[0] - y[0], dp = x[1] - y[1];
            dh = hnn_system_energy(tk->system, x) - hnn_system_energy(tk->system, y);
            se += dq * dq + dp * dp;
            ee += dh * dh;
        }
    }
    *state_err = se / (double)(STARTS * steps);
    *energy_err = ee / (double)(STARTS * steps);
}

/* Records the task at (sigma, h) and fits each model to each listed rule's pairs. */
static int measure(const task *tk, double sigma, double h, const options *o, hnn_integrator *rk,
                   row *rows, size_t *nrows)
{
    hnn_trajectories *tr = record(tk, rk, o->trajectories, h, sigma, o->seed + 1);
    const int first_rule = tk->damped ? HNN_DIFF_MIDPOINT : HNN_DIFF_FORWARD;
    const int models = tk->damped ? 3 : 2;
    int r, k, ok = tr != NULL;
    for (r = first_rule; ok && r <= RULE_ROLLOUT; r++) {
        hnn_dataset *pairs = NULL;
        if (r != RULE_ROLLOUT &&
            hnn_trajectories_to_dataset(tr, (hnn_difference)r, NULL, &pairs, NULL) != HNN_OK)
            ok = 0;
        for (k = 0; ok && k < models; k++) {
            row *w = &rows[*nrows];
            model m;
            if (!(ok = train(k, r, pairs, tr, o, &m)))
                break;
            w->task = tk->name, w->rule = rule_names[r], w->model = model_names[k];
            w->sigma = sigma, w->h = h;
            w->field_err = field_error(tk, &m, o->seed);
            rollout_errors(tk, &m, rk, o->seed, &w->state_err, &w->energy_err);
            model_destroy(&m);
            (*nrows)++;
        }
        hnn_dataset_destroy(pairs);
    }
    hnn_trajectories_destroy(tr);
    return ok;
}

/* A recording shaped like Schmidt and Lipson's real pendulum: 5 trials of 30 s sampled every
 * 1/6 s, each frame dropped with probability 0.1, noise 0.01 on q and p. */
static int write_recording(const char *path, hnn_integrator *rk, uint64_t seed)
{
    const task *tk = &tasks[1];
    const double h = 1.0 / 6.0;
    hnn_field_source truth;
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 5;
    FILE *f = fopen(path, "w");
    int trial, k, ok = f != NULL;
    truth_source(tk, &truth);
    if (ok)
        fprintf(f, "trajectory,t,q1,p1\n");
    for (trial = 0; ok && trial < 5; trial++) {
        double x[2];
        random_state(tk, &s, x);
        for (k = 0; ok && k <= 180; k++) {
            if (uniform(&s) >= 0.1)
                fprintf(f, "%d,%.6f,%.6f,%.6f\n", trial, (double)k * h, x[0] + 0.01 * gaussian(&s),
                        x[1] + 0.01 * gaussian(&s));
            ok = true_step(rk, &truth, x, h);
        }
    }
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    if (!ok)
        fprintf(stderr, "trajectories: cannot write %s\n", path);
    return ok;
}

/* ---- output and the --quick checks ------------------------------------------------------ */

static void print_rows(const row *rows, size_t n, int json)
{
    size_t i;
    if (json) {
        printf("[");
        for (i = 0; i < n; i++)
            printf("%s\n {\"task\": \"%s\", \"sigma\": %g, \"h\": %g, \"rule\": \"%s\", "
                   "\"model\": \"%s\", \"field_err\": %.4e, \"state_err\": %.4e, "
                   "\"energy_err\": %.4e}", i ? "," : "", rows[i].task, rows[i].sigma,
                   rows[i].h, rows[i].rule, rows[i].model, rows[i].field_err,
                   rows[i].state_err, rows[i].energy_err);
        printf("\n]\n");
        return;
    }
    printf("%-9s %6s %5s %-9s %-9s %12s %12s %12s\n", "task", "sigma", "h", "rule", "model",
           "field err", "state err", "energy err");
    for (i = 0; i < n; i++)
        printf("%-9s %6.2f %5.2f %-9s %-9s %12.3e %12.3e %12.3e\n", rows[i].task, rows[i].sigma,
               rows[i].h, rows[i].rule, rows[i].model, rows[i].field_err, rows[i].state_err,
               rows[i].energy_err);
}

static const row *find(const row *rows, size_t n, double h, const char *rule, const char *model)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (rows[i].h == h && strcmp(rows[i].rule, rule) == 0 && strcmp(rows[i].model, model) == 0)
            return &rows[i];
    return NULL;
}

/* What the rules' orders imply on noiseless data (quick run: spring, h 0.05 and 0.5):
 * forward differences get worse as h grows; at h = 0.5 the second-order rules beat them and
 * the rollout loss (RK4 steps, fourth order) beats the midpoint rule; the HNN trained on the
 * rollout loss keeps the true energy better than the baseline does. */
static int check_orderings(const row *rows, size_t n)
{
    int ok = 1, m;
    for (m = 0; m < 2; m++) {
        const char *model = m == 0 ? "HNN" : "baseline";
        const row *f1 = find(rows, n, 0.05, "forward", model);
        const row *f5 = find(rows, n, 0.5, "forward", model);
        const row *c5 = find(rows, n, 0.5, "central", model);
        const row *m5 = find(rows, n, 0.5, "midpoint", model);
        const row *r5 = find(rows, n, 0.5, "rollout", model);
        if (!(f1 && f5 && c5 && m5 && r5))
            return 0;
        if (!(r5->field_err < 0.5 * m5->field_err)) {
            fprintf(stderr, "%s at h = 0.5: rollout %.3e not below midpoint %.3e / 2\n", model,
                    r5->field_err, m5->field_err);
            ok = 0;
        }
        if (!(f5->field_err > 2.0 * f1->field_err)) {
            fprintf(stderr, "%s: forward differences at h = 0.5 (%.3e) not worse than at 0.05 "
                    "(%.3e)\n", model, f5->field_err, f1->field_err);
            ok = 0;
        }
        if (!(m5->field_err < 0.5 * f5->field_err && c5->field_err < 0.5 * f5->field_err)) {
            fprintf(stderr, "%s at h = 0.5: midpoint %.3e and central %.3e not below forward "
                    "%.3e / 2\n", model, m5->field_err, c5->field_err, f5->field_err);
            ok = 0;
        }
    }
    {
        const row *hnn = find(rows, n, 0.5, "rollout", "HNN");
        const row *base = find(rows, n, 0.5, "rollout", "baseline");
        if (!(hnn->energy_err < 0.5 * base->energy_err)) {
            fprintf(stderr, "rollout at h = 0.5: the HNN's energy error %.3e not below the "
                    "baseline's %.3e / 2\n", hnn->energy_err, base->energy_err);
            ok = 0;
        }
    }
    return ok;
}

static int parse(int argc, char **argv, options *o)
{
    int i;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            o->quick = 1;
        else if (strcmp(argv[i], "--json") == 0)
            o->json = 1;
        else if (strcmp(argv[i], "--write-recording") == 0 && i + 1 < argc)
            o->recording = argv[++i];
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            o->seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc && atol(argv[i + 1]) > 0)
            o->steps = (size_t)atol(argv[++i]);
        else
            return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    static const double sigmas[3] = {0.0, 0.01, 0.05}, hs[3] = {0.05, 0.2, 0.5};
    static const double quick_hs[2] = {0.05, 0.5};
    options o = {0, 0, NULL, 0, 0, 25};
    hnn_integrator_def id = hnn_integrator_def_default();
    hnn_integrator *rk = NULL;
    row *rows = malloc((2 * 3 * 3 * 4 * 2 + 2 * 3) * sizeof *rows);
    size_t n = 0, t, si, hi;
    int ok = 1;
    if (rows == NULL || !parse(argc, argv, &o)) {
        fprintf(stderr, "usage: %s [--quick] [--json] [--seed S] [--steps N] "
                "[--write-recording FILE]\n", argv[0]);
        free(rows);
        return 2;
    }
    if (o.steps == 0)
        o.steps = o.quick ? 1500 : 3000;
    if (o.quick)
        o.trajectories = 10;
    if (hnn_integrator_create(&id, &rk, NULL) != HNN_OK) {
        free(rows);
        return 1;
    }
    if (o.recording != NULL) {
        ok = write_recording(o.recording, rk, o.seed);
        hnn_integrator_destroy(rk);
        free(rows);
        return ok ? 0 : 1;
    }
    for (t = 0; ok && t < (o.quick ? 1u : 2u); t++)
        for (si = 0; ok && si < (o.quick ? 1u : 3u); si++)
            for (hi = 0; ok && hi < (o.quick ? 2u : 3u); hi++)
                ok = measure(&tasks[t], sigmas[si], o.quick ? quick_hs[hi] : hs[hi], &o, rk,
                             rows, &n);
    if (ok && !o.quick) /* the damped spring: midpoint pairs at h = 0.2, no noise */
        ok = measure(&tasks[2], 0.0, 0.2, &o, rk, rows, &n);
    if (ok)
        print_rows(rows, n, o.json);
    if (ok && o.quick)
        ok = check_orderings(rows, n);
    hnn_integrator_destroy(rk);
    free(rows);
    return ok ? 0 : 1;
}
