/* damped_spring: a spring with friction, dq/dt = p, dp/dt = -q - gamma p (gamma = 0.1), which
 * no Hamiltonian field can follow. Trains four models of the seed's size (2 x 128 tanh, Adam,
 * batch 256) on states and their slopes: the direct-field baseline, a plain HNN, a
 * dissipative HNN (f = J grad H + grad D) and a port-Hamiltonian HNN (f = (J - R) grad H).
 * Reports each model's field error, how well the H part recovers the undamped energy
 * (q^2 + p^2)/2 and the D part the dissipation -gamma p^2/2, the learned R, and how each
 * model's rollout from (1, 0) loses energy against the true one (docs/dissipation.md).
 *
 *   damped_spring [--steps N] [--seed S] [--json]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hnn/hnn.h>

#define GAMMA 0.1
#define RADIUS 1.5   /* states uniform in the disc of this radius, as the seed's spring data */
#define COUNT 1024
#define H_STEP 0.05  /* rollouts: RK4 to t = 30 */
#define T_END 30.0

typedef struct result {
    const char *name;
    double train_loss, test_loss;
    double energy_err;      /* max over a grid of |H(x) - H(0) - (q^2 + p^2)/2| / max energy */
    double dissipation_err; /* max over the grid of |D(x) - D(0) + gamma p^2 / 2| / max energy */
    double R[4];            /* port: the learned damping */
    double rollout_err;     /* max over t of |E(model rollout) - E(true rollout)| */
} result;

static int fail(const char *what, const char *why)
{
    fprintf(stderr, "damped_spring: %s: %s\n", what, why);
    return 0;
}

/* States uniform by area in the disc, with the damped spring's exact slopes. */
static hnn_dataset *make_data(uint64_t seed)
{
    hnn_spring_data_def sd = hnn_spring_data_def_default();
    hnn_dataset *spring = NULL, *out = NULL;
    double *y = malloc(COUNT * 2 * sizeof *y);
    const double *x;
    size_t s;
    sd.count = COUNT;
    sd.radius_max = RADIUS;
    sd.seed = seed;
    if (y != NULL && hnn_dataset_spring(&sd, &spring, NULL) == HNN_OK) {
        x = hnn_dataset_states(spring);
        for (s = 0; s < COUNT; s++) {
            y[2 * s] = x[2 * s + 1];
            y[2 * s + 1] = -x[2 * s] - GAMMA * x[2 * s + 1];
        }
        hnn_dataset_create(1, COUNT, x, y, NULL, &out, NULL);
    }
    hnn_dataset_destroy(spring);
    free(y);
    return out;
}

static hnn_status damped_field(void *ctx, size_t dim, const double *x, double *f)
{
    (void)ctx;
    if (dim != 2) /* the caller's arrays must be this field's state */
        return HNN_ERR_SIZE_MISMATCH;
    f[0] = x[1];
    f[1] = -x[0] - GAMMA * x[1];
    return HNN_OK;
}

/* Largest |E(model) - E(true)| along RK4 rollouts from (1, 0), E = (q^2 + p^2)/2. */
static int rollout_error(const hnn_field_source *model, double *err)
{
    hnn_integrator_def id = hnn_integrator_def_default();
    hnn_integrator *in = NULL;
    hnn_field_source truth = {sizeof(hnn_field_source), 2, damped_field, NULL, NULL, 0, NULL};
    double xm[2] = {1.0, 0.0}, xt[2] = {1.0, 0.0};
    size_t k;
    id.method = HNN_METHOD_RK4;
    if (hnn_integrator_create(&id, &in, NULL) != HNN_OK)
        return fail("integrator", "cannot create");
    *err = 0.0;
    for (k = 0; k < (size_t)(T_END / H_STEP + 0.5); k++) {
        if (hnn_integrator_step(in, model, xm, H_STEP) != HNN_OK ||
            hnn_integrator_step(in, &truth, xt, H_STEP) != HNN_OK) {
            hnn_integrator_destroy(in);
            return fail("rollout", "a step failed");
        }
        *err = fmax(*err, fabs(0.5 * (xm[0] * xm[0] + xm[1] * xm[1]) -
                               0.5 * (xt[0] * xt[0] + xt[1] * xt[1])));
    }
    hnn_integrator_destroy(in);
    return 1;
}

/* max over a 41 x 41 grid of the disc of |F(x) - F(0) - want(x)|, relative to the largest
 * energy there, for a scalar net F. */
static double scalar_error(const hnn_net *net, double want_q2, double want_p2)
{
    const double e_max = 0.5 * RADIUS * RADIUS, zero[2] = {0.0, 0.0};
    double f0, worst = 0.0;
    hnn_workspace *ws = NULL; /* the model's nets are const: evaluate them with our own */
    int i, j;
    if (hnn_workspace_create(net, &ws, NULL) != HNN_OK)
        return NAN;
    hnn_net_energy(net, ws, zero, 1, &f0);
    for (i = 0; i <= 40; i++)
        for (j = 0; j <= 40; j++) {
            const double x[2] = {-RADIUS + 2.0 * RADIUS * i / 40.0, -RADIUS + 2.0 * RADIUS * j / 40.0};
            double f;
            if (x[0] * x[0] + x[1] * x[1] > RADIUS * RADIUS)
                continue;
            hnn_net_energy(net, ws, x, 1, &f);
            worst = fmax(worst, fabs(f - f0 - (want_q2 * x[0] * x[0] + want_p2 * x[1] * x[1])));
        }
    hnn_workspace_destroy(ws);
    return worst / e_max;
}

typedef struct setup {
    uint64_t steps, seed;
    const hnn_dataset *train, *test;
} setup;

static int train_opts(const setup *su, size_t params, hnn_optimizer **opt, hnn_train_def *td)
{
    hnn_optimizer_def od = hnn_optimizer_def_default(HNN_OPT_ADAM);
    *td = hnn_train_def_default();
    td->steps = su->steps;
    td->batch_size = 256;
    td->seed = su->seed;
    td->report_every = 0;
    return hnn_optimizer_create(&od, params, opt, NULL) == HNN_OK;
}

/* The baseline and the plain HNN: one net each. */
static int run_net(const setup *su, hnn_net_kind kind, result *r)
{
    hnn_net_def nd = hnn_net_def_default();
    hnn_net *net = NULL;
    hnn_optimizer *opt = NULL;
    hnn_train_def td;
    hnn_train_result res = {.struct_size = sizeof res};
    hnn_field_source src = {.struct_size = sizeof src};
    hnn_error err = {HNN_OK, {0}}; /* a failing step below that does not fill it says "" */
    int ok;
    nd.kind = kind;
    nd.seed = su->seed;
    ok = hnn_net_create(&nd, &net, &err) == HNN_OK &&
         train_opts(su, hnn_net_param_count(net), &opt, &td) &&
         hnn_train(net, opt, su->train, su->test, &td, &res, &err) == HNN_OK &&
         hnn_field_source_net(net, hnn_net_workspace(net), &src) == HNN_OK && rollout_error(&src, &r->rollout_err);
    if (ok) {
        r->train_loss = res.train_loss;
        r->test_loss = res.val_loss;
        r->energy_err = kind == HNN_NET_HAMILTONIAN ? scalar_error(net, 0.5, 0.5) : NAN;
    }
    r->dissipation_err = NAN;
    r->R[0] = r->R[1] = r->R[2] = r->R[3] = NAN;
    hnn_optimizer_destroy(opt);
    hnn_net_destroy(net);
    return ok ? 1 : fail(r->name, err.message);
}

static int run_dissipative(const setup *su, hnn_dissipation kind, result *r)
{
    hnn_net_def nd = hnn_net_def_default();
    hnn_dissipative *m = NULL;
    hnn_optimizer *opt = NULL;
    hnn_train_def td;
    hnn_train_result res = {.struct_size = sizeof res};
    hnn_field_source src = {.struct_size = sizeof src};
    hnn_error err = {HNN_OK, {0}}; /* a failing step below that does not fill it says "" */
    int ok;
    nd.seed = su->seed;
    ok = hnn_dissipative_create(kind, &nd, &m, &err) == HNN_OK &&
         train_opts(su, hnn_dissipative_param_count(m), &opt, &td) &&
         hnn_dissipative_train(m, opt, su->train, su->test, &td, &res, &err) == HNN_OK &&
         hnn_field_source_dissipative(m, &src) == HNN_OK && rollout_error(&src, &r->rollout_err);
    if (ok) {
        r->train_loss = res.train_loss;
        r->test_loss = res.val_loss;
        r->energy_err = scalar_error(hnn_dissipative_energy_net(m), 0.5, 0.5);
        r->dissipation_err = kind == HNN_DISSIPATION_HELMHOLTZ
                                 ? scalar_error(hnn_dissipative_dissipation_net(m), 0.0, -0.5 * GAMMA)
                                 : NAN;
        if (kind == HNN_DISSIPATION_PORT)
            hnn_dissipative_damping(m, r->R);
        else
            r->R[0] = r->R[1] = r->R[2] = r->R[3] = NAN;
    }
    hnn_optimizer_destroy(opt);
    hnn_dissipative_destroy(m);
    return ok ? 1 : fail(r->name, err.message);
}

static void print_number(double v, int json)
{
    if (json)
        printf(isnan(v) ? "null" : "%.6e", v);
    else if (isnan(v))
        printf(" %10s", "-");
    else
        printf(" %10.2e", v);
}

int main(int argc, char **argv)
{
    setup su = {2000, 0, NULL, NULL};
    result r[4] = {{"baseline", 0, 0, 0, 0, {0, 0, 0, 0}, 0}, {"hnn", 0, 0, 0, 0, {0, 0, 0, 0}, 0},
                   {"dissipative", 0, 0, 0, 0, {0, 0, 0, 0}, 0}, {"port", 0, 0, 0, 0, {0, 0, 0, 0}, 0}};
    hnn_dataset *train = NULL, *test = NULL;
    int i, json = 0, ok;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0)
            su.steps = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            su.seed = strtoull(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: damped_spring [--steps N] [--seed S] [--json]\n");
            return 2;
        }
    }
    train = make_data(2 * su.seed);
    test = make_data(2 * su.seed + 1);
    su.train = train, su.test = test;
    ok = train != NULL && test != NULL && run_net(&su, HNN_NET_FIELD, &r[0]) &&
         run_net(&su, HNN_NET_HAMILTONIAN, &r[1]) &&
         run_dissipative(&su, HNN_DISSIPATION_HELMHOLTZ, &r[2]) &&
         run_dissipative(&su, HNN_DISSIPATION_PORT, &r[3]);
    if (ok && json) {
        printf("{\"gamma\": %g, \"steps\": %llu, \"seed\": %llu, \"models\": [", GAMMA,
               (unsigned long long)su.steps, (unsigned long long)su.seed);
        for (i = 0; i < 4; i++) {
            const double v[5] = {r[i].train_loss, r[i].test_loss, r[i].energy_err,
                                 r[i].dissipation_err, r[i].rollout_err};
            static const char *const keys[5] = {"train_loss", "test_loss", "energy_err",
                                                "dissipation_err", "rollout_energy_err"};
            int k;
            printf("%s\n  {\"model\": \"%s\"", i ? "," : "", r[i].name);
            for (k = 0; k < 5; k++) {
                printf(", \"%s\": ", keys[k]);
                print_number(v[k], 1);
            }
            printf(", \"R\": [");
            for (k = 0; k < 4; k++) {
                printf(k ? ", " : "");
                print_number(r[i].R[k], 1);
            }
            printf("]}");
        }
        printf("\n]}\n");
    } else if (ok) {
        printf("damped spring dq/dt = p, dp/dt = -q - %g p: %d train and %d test states in the disc "
               "of radius %g, 2 x 128 tanh, Adam, batch 256, %llu steps\n\n", GAMMA, COUNT, COUNT,
               RADIUS, (unsigned long long)su.steps);
        printf("%-12s %10s %10s %10s %10s %10s\n", "model", "train", "test", "H vs", "D vs",
               "rollout");
        printf("%-12s %10s %10s %10s %10s %10s\n", "", "loss", "loss", "(q2+p2)/2", "-g p2/2",
               "energy");
        for (i = 0; i < 4; i++) {
            printf("%-12s", r[i].name);
            print_number(r[i].train_loss, 0);
            print_number(r[i].test_loss, 0);
            print_number(r[i].energy_err, 0);
            print_number(r[i].dissipation_err, 0);
            print_number(r[i].rollout_err, 0);
            printf("\n");
        }
        printf("\nport model's learned R = [[%.4f, %.4f], [%.4f, %.4f]] (true: [[0, 0], [0, %g]])\n",
               r[3].R[0], r[3].R[1], r[3].R[2], r[3].R[3], GAMMA);
        printf("H vs, D vs: max over the disc of |F(x) - F(0) - target| / max energy; rollout "
               "energy: max over t in [0, %g] of |E(model) - E(true)| from (1, 0), RK4 h = %g\n",
               T_END, H_STEP);
    }
    hnn_dataset_destroy(train);
    hnn_dataset_destroy(test);
    return ok ? 0 : 1;
}
