/* pendulum: the ideal-pendulum task of Greydanus, Dzamba & Yosinski (2019), H = 3(1 - cos q)
 * + p^2, with their protocol: 50 noisy trajectories split in half, two hidden tanh layers of
 * 200, Adam (lr 1e-3, weight decay 1e-4), full batch, 2000 steps; then trajectories from
 * fresh initial states integrated with adaptive Dormand-Prince at a tight tolerance. Reports
 * train loss, test loss and energy MSE for the baseline and the HNN (docs/seed-experiment.md
 * compares them with the paper's Table 1), and for a separable HNN that knows the kinetic
 * term p^2 (mass 1/2) and learns V(q) only; then the game-physics comparison: 100,000 steps of
 * h = 0.1 with the plain HNN (implicit midpoint) and the separable one (explicit leapfrog),
 * field evaluations per step and the largest change of each model's own H.
 *
 *   pendulum [--seed S] [--steps N] [--json]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hnn/hnn.h>

#define WIDTH 200
#define TRIALS 25        /* initial states for the energy MSE */
#define T_END 20.0       /* integrated time for the energy MSE */
#define SAMPLES 201      /* evenly spaced samples on [0, T_END], both ends included */

typedef struct result {
    const char *model;
    double train_loss, test_loss, energy_mse;
} result;

static int fail(const char *what, const char *why)
{
    fprintf(stderr, "pendulum: %s: %s\n", what, why);
    return 0;
}

/* kind HNN_NET_HAMILTONIAN with separable set: H = p^2 + V(q), V the net (docs/symmetry.md). */
static hnn_net *train(hnn_net_kind kind, int separable, uint64_t seed, uint64_t steps,
                      const hnn_dataset *tr, const hnn_dataset *te, result *r)
{
    hnn_net_def nd = hnn_net_def_default();
    hnn_optimizer_def od = hnn_optimizer_def_default(HNN_OPT_ADAM);
    hnn_train_def td = hnn_train_def_default();
    hnn_optimizer *opt = NULL;
    hnn_net *net = NULL;
    hnn_train_result res = {.struct_size = sizeof res};
    hnn_error err;
    nd.kind = kind;
    nd.widths[0] = nd.widths[1] = WIDTH;
    if (separable) {
        nd.features = HNN_FEATURES_POSITIONS;
        nd.kinetic_mass = 0.5; /* p^2 = p^2 / (2 m) */
    }
    nd.seed = seed;
    od.weight_decay = 1e-4; /* the reference code's Adam(..., weight_decay=1e-4) */
    td.steps = steps;
    td.batch_size = 0; /* full batch */
    td.report_every = 0;
    if (hnn_net_create(&nd, &net, &err) != HNN_OK ||
        hnn_optimizer_create(&od, hnn_net_param_count(net), &opt, &err) != HNN_OK ||
        hnn_train(net, opt, tr, te, &td, &res, &err) != HNN_OK) {
        fail("training", err.message);
        hnn_net_destroy(net);
        net = NULL;
    } else {
        r->train_loss = res.train_loss;
        r->test_loss = res.val_loss;
    }
    hnn_optimizer_destroy(opt);
    return net;
}

/* Fresh initial states by the protocol's rule: a random direction, a radius in [1.3, 2.3). */
static void initial_states(uint64_t seed, double *x0)
{
    uint64_t s = seed * 2654435761u + 12345u;
    int k;
    for (k = 0; k < TRIALS; k++) {
        double a, b, norm, radius;
        do { /* a small LCG is enough to pick test states */
            s = s * 6364136223846793005u + 1442695040888963407u;
            a = (double)(s >> 11) * 0x1.0p-53 * 2.0 - 1.0;
            s = s * 6364136223846793005u + 1442695040888963407u;
            b = (double)(s >> 11) * 0x1.0p-53 * 2.0 - 1.0;
            norm = sqrt(a * a + b * b);
        } while (norm == 0.0);
        s = s * 6364136223846793005u + 1442695040888963407u;
        radius = 1.3 + (double)(s >> 11) * 0x1.0p-53;
        x0[2 * k] = a / norm * radius;
        x0[2 * k + 1] = b / norm * radius;
    }
}

/* Energy MSE: mean over trials and samples of (E(model orbit) - E(true orbit))^2, both
 * integrated with adaptive DOPRI5 at rtol = atol = 1e-10 (integration error far below the
 * models' own). */
static int energy_mse(const hnn_field_source *model, const hnn_field_source *truth,
                      const double *x0, double *mse)
{
    hnn_integrator_def idef = hnn_integrator_def_default();
    hnn_integrator *in = NULL;
    double sum = 0.0;
    int k;
    idef.method = HNN_METHOD_DOPRI5;
    idef.rtol = 1e-10;
    idef.atol = 1e-10;
    if (hnn_integrator_create(&idef, &in, NULL) != HNN_OK)
        return fail("integrator", "cannot create");
    for (k = 0; k < TRIALS; k++) {
        double xm[2] = {x0[2 * k], x0[2 * k + 1]}, xt[2] = {x0[2 * k], x0[2 * k + 1]};
        size_t s;
        for (s = 0; s < SAMPLES; s++) {
            const double d = hnn_system_energy(HNN_SYSTEM_PENDULUM, xm) -
                             hnn_system_energy(HNN_SYSTEM_PENDULUM, xt);
            sum += d * d;
            if (s + 1 == SAMPLES)
                break;
            if (hnn_integrator_step(in, model, xm, T_END / (SAMPLES - 1)) != HNN_OK ||
                hnn_integrator_step(in, truth, xt, T_END / (SAMPLES - 1)) != HNN_OK) {
                fail("integrating", hnn_integrator_last_error(in));
                hnn_integrator_destroy(in);
                return 0;
            }
        }
    }
    hnn_integrator_destroy(in);
    *mse = sum / (TRIALS * SAMPLES);
    return 1;
}

/* 100,000 steps of h = 0.1 from x0 with `method`: field evaluations per step and the largest
 * change of the model's own H (relative), sampled every 10 steps. */
static int long_run(hnn_net *net, hnn_method method, const double *x0, double *evals,
                    double *drift)
{
    hnn_integrator_def idef = hnn_integrator_def_default();
    hnn_integrator *in = NULL;
    hnn_field_source src = {.struct_size = sizeof src};
    double x[2] = {x0[0], x0[1]}, h0, h;
    long k;
    idef.method = method;
    if (hnn_integrator_create(&idef, &in, NULL) != HNN_OK ||
        hnn_field_source_net(net, hnn_net_workspace(net), &src) != HNN_OK ||
        hnn_net_energy(net, hnn_net_workspace(net), x, 1, &h0) != HNN_OK) {
        hnn_integrator_destroy(in);
        return fail("long run", "set-up failed");
    }
    *drift = 0.0;
    for (k = 1; k <= 100000; k++) {
        if (hnn_integrator_step(in, &src, x, 0.1) != HNN_OK) {
            fail("long run", hnn_integrator_last_error(in));
            hnn_integrator_destroy(in);
            return 0;
        }
        if (k % 10 == 0) {
            hnn_net_energy(net, hnn_net_workspace(net), x, 1, &h);
            *drift = fmax(*drift, fabs(h - h0) / fabs(h0));
        }
    }
    *evals = (double)hnn_integrator_field_evals(in) / 100000.0;
    hnn_integrator_destroy(in);
    return 1;
}

int main(int argc, char **argv)
{
    hnn_greydanus_def gd = hnn_greydanus_def_default(HNN_TASK_PENDULUM);
    hnn_dataset *tr = NULL, *te = NULL;
    hnn_net *nets[3] = {NULL, NULL, NULL};
    hnn_field_source truth = {.struct_size = sizeof truth}, src = {.struct_size = sizeof src};
    result res[3] = {{"baseline", 0, 0, 0}, {"hnn", 0, 0, 0}, {"separable", 0, 0, 0}};
    double evals[2], drift[2];
    double x0[2 * TRIALS];
    uint64_t seed = 0, steps = 2000;
    hnn_error err;
    int i, json = 0, ok = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc)
            steps = strtoull(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: %s [--seed S] [--steps N] [--json]\n", argv[0]);
            return 2;
        }
    }
    gd.seed = seed;
    if (steps == 0 || hnn_dataset_greydanus(&gd, &tr, &te, &err) != HNN_OK) {
        fail("data", steps == 0 ? "--steps must be >= 1" : err.message);
        goto done;
    }
    hnn_field_source_system(HNN_SYSTEM_PENDULUM, &truth);
    initial_states(seed, x0);
    for (i = 0; i < 3; i++) {
        nets[i] = train(i ? HNN_NET_HAMILTONIAN : HNN_NET_FIELD, i == 2, seed, steps, tr, te,
                        &res[i]);
        if (nets[i] == NULL)
            goto done;
        hnn_field_source_net(nets[i], hnn_net_workspace(nets[i]), &src);
        if (!energy_mse(&src, &truth, x0, &res[i].energy_mse))
            goto done;
    }
    if (!long_run(nets[1], HNN_METHOD_IMPLICIT_MIDPOINT, x0, &evals[0], &drift[0]) ||
        !long_run(nets[2], HNN_METHOD_LEAPFROG, x0, &evals[1], &drift[1]))
        goto done;
    if (json) {
        printf("{\"task\": \"ideal pendulum\", \"rows\": [");
        for (i = 0; i < 3; i++)
            printf("%s\n  {\"model\": \"%s\", \"train_loss\": %.6e, \"test_loss\": %.6e, "
                   "\"energy_mse\": %.6e}", i ? "," : "", res[i].model, res[i].train_loss,
                   res[i].test_loss, res[i].energy_mse);
        printf("\n], \"long_run\": [\n  {\"model\": \"hnn\", \"method\": \"midpoint\", "
               "\"evals_per_step\": %.3f, \"max_rel_drift\": %.6e},\n  {\"model\": "
               "\"separable\", \"method\": \"leapfrog\", \"evals_per_step\": %.3f, "
               "\"max_rel_drift\": %.6e}\n]}\n", evals[0], drift[0], evals[1], drift[1]);
    } else {
        printf("ideal pendulum (Greydanus et al. 2019 protocol), seed %llu: %zu train and %zu test "
               "states, 2 x %d tanh, Adam, full batch, %llu steps\n\n",
               (unsigned long long)seed, hnn_dataset_count(tr), hnn_dataset_count(te), WIDTH,
               (unsigned long long)steps);
        printf("%-9s %12s %12s %12s\n", "model", "train loss", "test loss", "energy MSE");
        for (i = 0; i < 3; i++)
            printf("%-9s %12.4e %12.4e %12.4e\n", res[i].model, res[i].train_loss,
                   res[i].test_loss, res[i].energy_mse);
        printf("\nenergy MSE: %d fresh initial states (radius 1.3 to 2.3), model and true orbits "
               "integrated by dopri5 (rtol 1e-10) to t = %g, %d samples each\n", TRIALS, T_END,
               SAMPLES);
        printf("separable: H = p^2 + V(q), the kinetic term known, V learned\n\n");
        printf("100,000 steps of h = 0.1 from the first of those states, each model's own H:\n");
        printf("  hnn       implicit midpoint: %5.2f field evaluations per step, max |dH/H| %.2e\n",
               evals[0], drift[0]);
        printf("  separable leapfrog (explicit): %5.2f field evaluations per step, max |dH/H| %.2e\n",
               evals[1], drift[1]);
    }
    ok = 1;
done:
    hnn_net_destroy(nets[0]);
    hnn_net_destroy(nets[1]);
    hnn_net_destroy(nets[2]);
    hnn_dataset_destroy(tr);
    hnn_dataset_destroy(te);
    return ok ? 0 : 1;
}
