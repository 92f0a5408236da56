/* trajectories: learning from recorded states alone (docs/trajectories.md). Greydanus et
 * al.'s spring (H = q^2 + p^2) and ideal pendulum (H = 3 (1 - cos q) + p^2) are recorded as
 * trajectories sampled every h (0.05, 0.2, 0.5) with Gaussian observation noise sigma (0,
 * 0.01, 0.05) and no derivatives; for each difference rule (forward, central, midpoint) an
 * HNN and the direct-field baseline learn from them. Reported per row: the field's relative
 * error on fresh states, and along RK4 rollouts of the learned models from fresh initial
 * states the state error and the energy error (the true H of the model's trajectory against
 * its start). --quick: a small run (spring, sigma 0, h 0.05 and 0.5) that checks the
 * orderings the rules' orders imply and exits 1 if one fails.
 *
 *   trajectories [--quick] [--json] [--seed S] [--steps N]
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

typedef struct task {
    const char *name;
    hnn_system system;
    double r_min, r_max; /* initial states on |x| in [r_min, r_max] */
} task;

static const task tasks[2] = {{"spring", HNN_SYSTEM_GREYDANUS_SPRING, 0.2, 1.0},
                              {"pendulum", HNN_SYSTEM_PENDULUM, 1.3, 2.3}};
static const char *const rule_names[3] = {"forward", "central", "midpoint"};

typedef struct options {
    int quick, json;
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
    hnn_field_source truth = {.struct_size = sizeof truth};
    hnn_trajectories *tr = NULL;
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    int ok = lengths && t && x && hnn_field_source_system(tk->system, &truth) == HNN_OK;
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

static hnn_net *train(hnn_net_kind kind, const hnn_dataset *pairs, const options *o)
{
    hnn_net_def nd = hnn_net_def_default();
    hnn_optimizer_def od = hnn_optimizer_def_default(HNN_OPT_ADAM);
    hnn_train_def td = hnn_train_def_default();
    hnn_train_result res = {.struct_size = sizeof res};
    hnn_optimizer *opt = NULL;
    hnn_net *net = NULL;
    hnn_error err;
    nd.kind = kind;
    nd.widths[0] = nd.widths[1] = WIDTH;
    nd.seed = o->seed;
    td.steps = o->steps;
    td.batch_size = 256;
    td.seed = o->seed;
    td.report_every = 0;
    if (hnn_net_create(&nd, &net, &err) != HNN_OK ||
        hnn_optimizer_create(&od, hnn_net_param_count(net), &opt, &err) != HNN_OK ||
        hnn_train(net, opt, pairs, NULL, &td, &res, &err) != HNN_OK) {
        fprintf(stderr, "trajectories: training: %s\n", err.message);
        hnn_net_destroy(net);
        net = NULL;
    }
    hnn_optimizer_destroy(opt);
    return net;
}

/* sum |f_net - f_true|^2 / sum |f_true|^2 over FRESH fresh states. */
static double field_error(const task *tk, const hnn_net *net, hnn_workspace *ws, uint64_t seed)
{
    hnn_field_source truth = {.struct_size = sizeof truth};
    double num = 0.0, den = 0.0, x[2], f[2], g[2];
    uint64_t s = seed * 0xD1B54A32D192ED03ull + 7;
    int i;
    hnn_field_source_system(tk->system, &truth);
    for (i = 0; i < FRESH; i++) {
        random_state(tk, &s, x);
        if (hnn_net_field(net, ws, x, 1, f) != HNN_OK ||
            truth.field(truth.ctx, 2, x, g) != HNN_OK)
            return NAN;
        num += (f[0] - g[0]) * (f[0] - g[0]) + (f[1] - g[1]) * (f[1] - g[1]);
        den += g[0] * g[0] + g[1] * g[1];
    }
    return num / den;
}

/* Mean over STARTS fresh initial states and T_ROLLOUT / H_ROLLOUT RK4 steps of the squared
 * state error against the true motion, and of the squared error of the true energy of the
 * model's state against the start's. */
static void rollout_errors(const task *tk, const hnn_net *net, hnn_workspace *ws,
                           hnn_integrator *rk, uint64_t seed, double *state_err,
                           double *energy_err)
{
    const size_t steps = (size_t)(T_ROLLOUT / H_ROLLOUT + 0.5);
    hnn_field_source model = {.struct_size = sizeof model};
    hnn_field_source truth = {.struct_size = sizeof truth};
    double se = 0.0, ee = 0.0;
    uint64_t s = seed * 0xA24BAED4963EE407ull + 3;
    size_t i, k;
    hnn_field_source_net(net, ws, &model);
    hnn_field_source_system(tk->system, &truth);
    for (i = 0; i < STARTS; i++) {
        double x[2], y[2], h0;
        random_state(tk, &s, x);
        y[0] = x[0], y[1] = x[1];
        h0 = hnn_system_energy(tk->system, x);
        for (k = 0; k < steps; k++) {
            const double dq = x[0] - y[0], dp = x[1] - y[1];
            double dh;
            if (hnn_integrator_step(rk, &model, x, H_ROLLOUT) != HNN_OK ||
                hnn_integrator_step(rk, &truth, y, H_ROLLOUT) != HNN_OK) {
                *state_err = *energy_err = NAN;
                return;
            }
            dh = hnn_system_energy(tk->system, x) - h0;
            se += dq * dq + dp * dp;
            ee += dh * dh;
        }
    }
    *state_err = se / (double)(STARTS * steps);
    *energy_err = ee / (double)(STARTS * steps);
}

static int measure(const task *tk, double sigma, double h, const options *o, hnn_integrator *rk,
                   row *rows, size_t *nrows)
{
    hnn_trajectories *tr = record(tk, rk, o->trajectories, h, sigma, o->seed + 1);
    int r, m, ok = tr != NULL;
    for (r = 0; ok && r < 3; r++) {
        hnn_dataset *pairs = NULL;
        if (hnn_trajectories_to_dataset(tr, (hnn_difference)r, NULL, &pairs, NULL) != HNN_OK)
            ok = 0;
        for (m = 0; ok && m < 2; m++) {
            hnn_net *net = train(m == 0 ? HNN_NET_HAMILTONIAN : HNN_NET_FIELD, pairs, o);
            row *w = &rows[(*nrows)++];
            if (net == NULL) {
                ok = 0;
                break;
            }
            w->task = tk->name, w->rule = rule_names[r], w->model = m == 0 ? "HNN" : "baseline";
            w->sigma = sigma, w->h = h;
            w->field_err = field_error(tk, net, hnn_net_workspace(net), o->seed);
            rollout_errors(tk, net, hnn_net_workspace(net), rk, o->seed, &w->state_err,
                           &w->energy_err);
            hnn_net_destroy(net);
        }
        hnn_dataset_destroy(pairs);
    }
    hnn_trajectories_destroy(tr);
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
 * forward differences get worse as h grows; at h = 0.5 the second-order rules beat them. */
static int check_orderings(const row *rows, size_t n)
{
    int ok = 1, m;
    for (m = 0; m < 2; m++) {
        const char *model = m == 0 ? "HNN" : "baseline";
        const row *f1 = find(rows, n, 0.05, "forward", model);
        const row *f5 = find(rows, n, 0.5, "forward", model);
        const row *c5 = find(rows, n, 0.5, "central", model);
        const row *m5 = find(rows, n, 0.5, "midpoint", model);
        if (!(f1 && f5 && c5 && m5))
            return 0;
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
    options o = {0, 0, 0, 0, 25};
    hnn_integrator_def id = hnn_integrator_def_default();
    hnn_integrator *rk = NULL;
    row *rows = malloc(2 * 3 * 3 * 6 * sizeof *rows);
    size_t n = 0, t, si, hi;
    int ok = 1;
    if (rows == NULL || !parse(argc, argv, &o)) {
        fprintf(stderr, "usage: %s [--quick] [--json] [--seed S] [--steps N]\n", argv[0]);
        return 2;
    }
    if (o.steps == 0)
        o.steps = o.quick ? 1500 : 3000;
    if (o.quick)
        o.trajectories = 10;
    if (hnn_integrator_create(&id, &rk, NULL) != HNN_OK)
        return 1;
    for (t = 0; ok && t < (o.quick ? 1u : 2u); t++)
        for (si = 0; ok && si < (o.quick ? 1u : 3u); si++)
            for (hi = 0; ok && hi < (o.quick ? 2u : 3u); hi++)
                ok = measure(&tasks[t], sigmas[si], o.quick ? quick_hs[hi] : hs[hi], &o, rk,
                             rows, &n);
    if (ok)
        print_rows(rows, n, o.json);
    if (ok && o.quick)
        ok = check_orderings(rows, n);
    hnn_integrator_destroy(rk);
    free(rows);
    return ok ? 0 : 1;
}
