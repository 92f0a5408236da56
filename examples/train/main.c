/* train: the seed's experiment, training half. Fits a Hamiltonian net (or, with --mlp, the
 * direct-field baseline) to states and exact slopes of the unit spring, H = (q^2 + p^2) / 2,
 * then shows that the net's own H, never supervised, came out as the spring's energy up to
 * the additive constant no data can fix.
 *
 *   train [--mlp] [--steps N] [--batch B] [--width W] [--seed S]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hnn/hnn.h>

static int report(void *user, uint64_t step, double train_loss, double val_loss)
{
    (void)user;
    printf("step %5llu  batch loss %.3e  validation loss %.3e\n", (unsigned long long)step,
           train_loss, val_loss);
    return 0; /* non-zero would stop training here */
}

static int parse_args(int argc, char **argv, hnn_net_def *net, hnn_train_def *train)
{
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--mlp") == 0) {
            net->kind = HNN_NET_FIELD;
            continue;
        }
        if (v == NULL)
            return 0;
        if (strcmp(a, "--steps") == 0)
            train->steps = strtoull(v, NULL, 10);
        else if (strcmp(a, "--batch") == 0)
            train->batch_size = strtoull(v, NULL, 10);
        else if (strcmp(a, "--width") == 0)
            net->widths[0] = net->widths[1] = strtoull(v, NULL, 10);
        else if (strcmp(a, "--seed") == 0)
            net->seed = train->seed = strtoull(v, NULL, 10);
        else
            return 0;
        i++;
    }
    return 1;
}

int main(int argc, char **argv)
{
    hnn_net_def nd = hnn_net_def_default();        /* n = 1, 2 hidden tanh layers of 128 */
    hnn_train_def td = hnn_train_def_default();    /* 2000 steps */
    hnn_spring_data_def sd = hnn_spring_data_def_default();
    hnn_optimizer_def od = hnn_optimizer_def_default(HNN_OPT_ADAM); /* lr 1e-3 */
    hnn_net *net = NULL;
    hnn_optimizer *opt = NULL;
    hnn_dataset *data = NULL, *val = NULL;
    hnn_train_result result = {.struct_size = sizeof result};
    hnn_error err;
    int ok = 0;

    td.batch_size = 64;
    td.report_every = 500;
    td.progress = report;
    if (!parse_args(argc, argv, &nd, &td)) {
        fprintf(stderr, "usage: %s [--mlp] [--steps N] [--batch B] [--width W] [--seed S]\n", argv[0]);
        return 2;
    }
    sd.seed = 1; /* training states */
    if (hnn_dataset_spring(&sd, &data, &err) != HNN_OK)
        goto done;
    sd.seed = 2; /* held-out states from the same region */
    sd.count = 256;
    if (hnn_dataset_spring(&sd, &val, &err) != HNN_OK ||
        hnn_net_create(&nd, &net, &err) != HNN_OK ||
        hnn_optimizer_create(&od, hnn_net_param_count(net), &opt, &err) != HNN_OK ||
        hnn_train(net, opt, data, val, &td, &result, &err) != HNN_OK)
        goto done;
    printf("%s after %llu steps: train loss %.3e, validation loss %.3e\n",
           nd.kind == HNN_NET_HAMILTONIAN ? "HNN" : "MLP", (unsigned long long)result.steps_done,
           result.train_loss, result.val_loss);

    if (nd.kind == HNN_NET_HAMILTONIAN) {
        /* The latent energy: H was never a target, yet H(x) - H(0) tracks (q^2 + p^2) / 2. */
        const double x[4][2] = {{0, 0}, {1, 0}, {0, -1}, {0.6, 0.8}};
        double h[4];
        int i;
        hnn_status st = hnn_net_energy(net, hnn_net_workspace(net), &x[0][0], 4, h);
        if (st != HNN_OK) {
            snprintf(err.message, sizeof err.message, "%s", hnn_status_string(st));
            goto done;
        }
        printf("%6s %6s | %14s | %14s\n", "q", "p", "H(x) - H(0)", "(q^2 + p^2)/2");
        for (i = 1; i < 4; i++)
            printf("%6.2f %6.2f | %14.6f | %14.6f\n", x[i][0], x[i][1], h[i] - h[0],
                   0.5 * (x[i][0] * x[i][0] + x[i][1] * x[i][1]));
    }
    ok = 1;
done:
    if (!ok)
        fprintf(stderr, "train: %s\n", err.message);
    hnn_optimizer_destroy(opt);
    hnn_net_destroy(net);
    hnn_dataset_destroy(data);
    hnn_dataset_destroy(val);
    return ok ? 0 : 1;
}
