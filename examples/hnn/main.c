/* hnn: the command-line tool. Train a model from a CSV file, inspect it, evaluate it, roll it
 * out. Every model it writes is a libhnn model file (docs/format.md) that hnn_model_load reads.
 *
 *   hnn train --data F.csv [--model hnn|mlp] [--width W] [--depth D] [--steps N]
 *             [--batch B] [--lr LR] [--seed S] --out M.hnn
 *   hnn info M.hnn
 *   hnn eval M.hnn q1..qn p1..pn
 *   hnn rollout M.hnn --x0 q1..qn p1..pn [--integrator NAME] [--h H] [--steps N] --csv OUT.csv
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#define STDERR_IS_TERMINAL() isatty(fileno(stderr))
#else
#define STDERR_IS_TERMINAL() 0
#endif

#include <hnn/hnn.h>

static int usage(void)
{
    fprintf(stderr,
            "usage:\n"
            "  hnn train --data F.csv [--model hnn|mlp] [--width W] [--depth D] [--steps N]\n"
            "            [--batch B] [--lr LR] [--seed S] --out M.hnn\n"
            "  hnn info M.hnn\n"
            "  hnn eval M.hnn q1..qn p1..pn\n"
            "  hnn rollout M.hnn --x0 q1..qn p1..pn [--integrator NAME] [--h H] [--steps N]\n"
            "              --csv OUT.csv\n"
            "integrators: euler rk4 dopri5 symplectic-euler leapfrog implicit-midpoint gauss4\n"
            "             gauss6 yoshida4 tao\n");
    return 2;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    if (s == NULL || *s == '\0')
        return 0;
    *out = strtod(s, &end);
    return *end == '\0' && isfinite(*out);
}

static int parse_size(const char *s, size_t *out)
{
    char *end;
    unsigned long long v;
    if (s == NULL || *s < '0' || *s > '9')
        return 0;
    errno = 0;
    v = strtoull(s, &end, 10);
    *out = (size_t)v;
    return *end == '\0' && errno != ERANGE && (unsigned long long)*out == v;
}

/* ---- train ------------------------------------------------------------------------------ */

typedef struct progress {
    uint64_t total;
    int terminal;
} progress;

static int show_progress(void *user, uint64_t step, double loss, double val)
{
    const progress *p = (const progress *)user;
    (void)val;
    if (p->terminal) {
        const int width = 30, filled = (int)(width * step / p->total);
        int i;
        fputs("\r[", stderr);
        for (i = 0; i < width; i++)
            fputc(i < filled ? '#' : ' ', stderr);
        fprintf(stderr, "] %3d%%  step %llu/%llu  loss %.3e", (int)(100 * step / p->total),
                (unsigned long long)step, (unsigned long long)p->total, loss);
        if (step == p->total)
            fputc('\n', stderr);
    } else {
        fprintf(stderr, "step %llu/%llu loss %.6e\n", (unsigned long long)step,
                (unsigned long long)p->total, loss);
    }
    fflush(stderr);
    return 0;
}

static int cmd_train(int argc, char **argv)
{
    hnn_net_def nd = hnn_net_def_default();
    hnn_optimizer_def od = hnn_optimizer_def_default(HNN_OPT_ADAM);
    hnn_train_def td = hnn_train_def_default();
    const char *data_path = NULL, *out = NULL;
    size_t width = 128, depth = 2, steps = 2000, batch = 256, l;
    hnn_dataset *data = NULL;
    hnn_net *net = NULL;
    hnn_optimizer *opt = NULL;
    hnn_train_result res = {.struct_size = sizeof res};
    hnn_train_meta meta = {.struct_size = sizeof meta};
    progress prog;
    hnn_error err;
    int i, ok = 0;

    for (i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int good;
        if (v == NULL)
            return usage();
        if (strcmp(a, "--data") == 0)
            data_path = v, good = 1;
        else if (strcmp(a, "--out") == 0)
            out = v, good = 1;
        else if (strcmp(a, "--model") == 0) {
            good = strcmp(v, "hnn") == 0 || strcmp(v, "mlp") == 0;
            nd.kind = strcmp(v, "mlp") == 0 ? HNN_NET_FIELD : HNN_NET_HAMILTONIAN;
        } else if (strcmp(a, "--width") == 0)
            good = parse_size(v, &width);
        else if (strcmp(a, "--depth") == 0)
            good = parse_size(v, &depth);
        else if (strcmp(a, "--steps") == 0)
            good = parse_size(v, &steps);
        else if (strcmp(a, "--batch") == 0)
            good = parse_size(v, &batch);
        else if (strcmp(a, "--lr") == 0)
            good = parse_double(v, &od.lr);
        else if (strcmp(a, "--seed") == 0) {
            size_t s;
            good = parse_size(v, &s);
            nd.seed = td.seed = s;
        } else
            good = 0;
        if (!good) {
            fprintf(stderr, "hnn train: bad option %s %s\n", a, v);
            return usage();
        }
        i++;
    }
    if (data_path == NULL || out == NULL) {
        fprintf(stderr, "hnn train: --data and --out are required\n");
        return usage();
    }
    /* the library judges depth, width and steps (and says what is wrong); the widths array
     * only bounds the loop */
    nd.depth = depth;
    for (l = 0; l < depth && l < HNN_MAX_HIDDEN; l++)
        nd.widths[l] = width;
    td.steps = steps;
    td.batch_size = batch;
    prog.total = steps;
    prog.terminal = STDERR_IS_TERMINAL();
    td.report_every = prog.terminal ? (steps >= 100 ? steps / 100 : 1) : (steps >= 10 ? steps / 10 : 1);
    td.progress = show_progress;
    td.user = &prog;
    if (hnn_dataset_load_csv(data_path, NULL, &data, &err) != HNN_OK)
        goto done;
    nd.dof = hnn_dataset_dof(data);
    if (hnn_net_create(&nd, &net, &err) != HNN_OK ||
        hnn_optimizer_create(&od, hnn_net_param_count(net), &opt, &err) != HNN_OK ||
        hnn_train(net, opt, data, NULL, &td, &res, &err) != HNN_OK)
        goto done;
    meta.present = 1;
    meta.steps_done = hnn_optimizer_steps(opt);
    meta.train_loss = res.train_loss;
    meta.val_loss = NAN;
    if (hnn_model_save(out, net, opt, &meta, &err) != HNN_OK)
        goto done;
    printf("trained a %s (n = %zu, %zu x %zu tanh, %zu parameters) on %zu states: loss %.4e\n"
           "saved %s\n", nd.kind == HNN_NET_HAMILTONIAN ? "Hamiltonian net" : "direct-field net",
           nd.dof, depth, width, hnn_net_param_count(net), hnn_dataset_count(data),
           res.train_loss, out);
    ok = 1;
done:
    if (!ok)
        fprintf(stderr, "hnn train: %s\n", err.message);
    hnn_optimizer_destroy(opt);
    hnn_net_destroy(net);
    hnn_dataset_destroy(data);
    return ok ? 0 : 1;
}

/* ---- info, eval, rollout ------------------------------------------------------------------- */

static hnn_net *load(const char *cmd, const char *path, hnn_optimizer **opt, hnn_train_meta *meta)
{
    hnn_net *net = NULL;
    hnn_error err;
    if (hnn_model_load(path, NULL, &net, opt, meta, &err) != HNN_OK)
        fprintf(stderr, "hnn %s: %s\n", cmd, err.message);
    return net;
}

static double mib(double bytes)
{
    return bytes / (1024.0 * 1024.0);
}

/* Reads the header and the sections' fixed fields only: what a file holds and what loading
 * it would take, without building the net (a hostile file costs nothing to inspect). */
static int cmd_info(int argc, char **argv)
{
    static const char *const optimizers[3] = {"SGD", "Adam", "AdamW"};
    hnn_model_info info;
    hnn_error err;
    size_t l;
    if (argc != 3)
        return usage();
    info.struct_size = sizeof info;
    if (hnn_model_info_read(argv[2], &info, &err) != HNN_OK) {
        fprintf(stderr, "hnn info: %s\n", err.message);
        return 1;
    }
    printf("file:        %s (format version %u, %llu bytes)\n", argv[2], info.format_version,
           (unsigned long long)info.file_bytes);
    printf("kind:        %s\n", info.kind == HNN_NET_HAMILTONIAN ? "Hamiltonian (outputs H)"
                                                                  : "direct field (outputs dx/dt)");
    printf("state:       n = %zu degrees of freedom, x = [q1..q%zu, p1..p%zu]\n", info.dof,
           info.dof, info.dof);
    if (info.features == HNN_FEATURES_POSITIONS)
        printf("features:    positions only\n");
    else if (info.features != HNN_FEATURES_IDENTITY)
        printf("features:    %s-invariant, %zu bodies\n",
               info.features == HNN_FEATURES_TRANSLATION ? "translation" : "rotation-and-translation",
               info.bodies);
    if (info.kinetic_mass > 0.0)
        printf("kinetic:     |p|^2 / (2 x %g) added to H%s\n", info.kinetic_mass,
               info.features == HNN_FEATURES_POSITIONS ? " (separable)" : "");
    printf("hidden:      %zu tanh layers:", info.depth);
    for (l = 0; l < info.depth; l++)
        printf(" %zu", info.widths[l]);
    printf("\nparameters:  %zu (initialisation seed %llu)\n", info.params,
           (unsigned long long)info.seed);
    if (info.has_optimizer)
        printf("optimizer:   %s, lr %g, %llu steps taken\n", optimizers[info.optimizer_kind],
               info.lr, (unsigned long long)info.optimizer_steps);
    else
        printf("optimizer:   none stored\n");
    if (info.has_training)
        printf("training:    %llu steps, last loss %.4e\n", (unsigned long long)info.steps_done,
               info.train_loss);
    printf("memory:      loading takes %.2f MiB (net with its workspace %.2f, optimizer %.2f, "
           "the file %.2f); each further workspace %.2f MiB\n", mib((double)info.load_bytes),
           mib((double)info.net_bytes), mib((double)info.optimizer_bytes),
           mib((double)info.file_bytes), mib((double)info.workspace_bytes));
    return 0;
}

/* Parses exactly `count` numbers from argv[first..]; returns 0 on any mismatch. */
static int parse_state(int argc, char **argv, int first, size_t count, double *x)
{
    size_t k;
    for (k = 0; k < count; k++)
        if (first + (int)k >= argc || !parse_double(argv[first + (int)k], &x[k]))
            return 0;
    return 1;
}

static int cmd_eval(int argc, char **argv)
{
    hnn_net *net;
    hnn_net_def def = hnn_net_def_default();
    double x[2 * 64], f[2 * 64], g[2 * 64], h;
    size_t dim, i;
    if (argc < 3)
        return usage();
    if ((net = load("eval", argv[2], NULL, NULL)) == NULL)
        return 1;
    hnn_net_get_def(net, &def);
    dim = 2 * def.dof;
    if (dim > 2 * 64 || argc != 3 + (int)dim || !parse_state(argc, argv, 3, dim, x)) {
        fprintf(stderr, "hnn eval: this model takes %zu numbers (q1..q%zu p1..p%zu)%s\n", dim,
                def.dof, def.dof, dim > 128 ? "; eval handles n <= 64" : "");
        hnn_net_destroy(net);
        return usage();
    }
    if (def.kind == HNN_NET_HAMILTONIAN) {
        hnn_net_gradient(net, hnn_net_workspace(net), x, 1, &h, g);
        printf("H     %.17g\ngrad ", h);
        for (i = 0; i < dim; i++)
            printf(" %.17g", g[i]);
        printf("\n");
    }
    hnn_net_field(net, hnn_net_workspace(net), x, 1, f);
    printf("field");
    for (i = 0; i < dim; i++)
        printf(" %.17g", f[i]);
    printf("\n");
    hnn_net_destroy(net);
    return 0;
}

static int cmd_rollout(int argc, char **argv)
{
    hnn_integrator_def idef = hnn_integrator_def_default();
    hnn_net_def def = hnn_net_def_default();
    hnn_integrator *in = NULL;
    hnn_field_source src = {.struct_size = sizeof src};
    hnn_net *net;
    const char *csv = NULL;
    double x[2 * 64], h = 0.1, *traj = NULL;
    size_t steps = 1000, dim, k, i;
    int a, have_x0 = 0, ok = 0, bad_args = 0;
    hnn_status st;
    FILE *f = NULL;
    if (argc < 3)
        return usage();
    if ((net = load("rollout", argv[2], NULL, NULL)) == NULL)
        return 1;
    hnn_net_get_def(net, &def);
    dim = 2 * def.dof;
    for (a = 3; a < argc; a++) {
        const char *v = a + 1 < argc ? argv[a + 1] : NULL;
        const char *option = argv[a];
        int good = v != NULL;
        if (good && strcmp(option, "--x0") == 0) {
            good = dim <= 128 && parse_state(argc, argv, a + 1, dim, x);
            have_x0 = good;
            if (good) /* skip only what was read: never past the end of argv */
                a += (int)dim - 1;
        } else if (good && strcmp(option, "--integrator") == 0)
            good = hnn_method_from_name(v, &idef.method) == HNN_OK;
        else if (good && strcmp(option, "--h") == 0)
            good = parse_double(v, &h) && h != 0.0;
        else if (good && strcmp(option, "--steps") == 0)
            good = parse_size(v, &steps) && steps > 0 && steps <= 100000000;
        else if (good && strcmp(option, "--csv") == 0)
            csv = v;
        else
            good = 0;
        if (!good) {
            fprintf(stderr, "hnn rollout: bad option %s (the model's state has %zu numbers; "
                            "steps 1..1e8)\n", option, dim);
            bad_args = 1;
            goto done;
        }
        a++;
    }
    if (!have_x0 || csv == NULL || !isfinite(h * (double)steps)) {
        fprintf(stderr, "hnn rollout: --x0 (%zu numbers) and --csv are required, and h * steps "
                        "must be finite\n", dim);
        bad_args = 1;
        goto done;
    }
    idef.dim = dim;
    traj = malloc((steps + 1) * dim * sizeof *traj);
    if (traj == NULL || hnn_integrator_create(&idef, &in, NULL) != HNN_OK ||
        hnn_field_source_net(net, hnn_net_workspace(net), &src) != HNN_OK) {
        fprintf(stderr, "hnn rollout: out of memory\n");
        goto done;
    }
    if ((st = hnn_integrator_rollout(in, &src, x, h, steps, traj, NULL, NULL, NULL)) != HNN_OK) {
        const char *why = hnn_integrator_last_error(in);
        fprintf(stderr, "hnn rollout: %s\n", *why ? why : hnn_status_string(st));
        goto done;
    }
    if ((f = fopen(csv, "w")) == NULL) {
        fprintf(stderr, "hnn rollout: cannot write %s\n", csv);
        goto done;
    }
    fprintf(f, "t");
    for (i = 0; i < dim; i++)
        fprintf(f, ",%c%zu", i < def.dof ? 'q' : 'p', i % def.dof + 1);
    fprintf(f, def.kind == HNN_NET_HAMILTONIAN ? ",H\n" : "\n");
    for (k = 0; k <= steps; k++) {
        fprintf(f, "%.17g", h * (double)k);
        for (i = 0; i < dim; i++)
            fprintf(f, ",%.17g", traj[k * dim + i]);
        if (def.kind == HNN_NET_HAMILTONIAN) {
            double e;
            hnn_net_energy(net, hnn_net_workspace(net), traj + k * dim, 1, &e);
            fprintf(f, ",%.17g", e);
        }
        fprintf(f, "\n");
    }
    if (fclose(f) != 0) {
        f = NULL;
        fprintf(stderr, "hnn rollout: writing %s failed\n", csv);
        goto done;
    }
    f = NULL;
    printf("%zu steps of %s, h = %g: %s\n", steps, hnn_method_name(idef.method), h, csv);
    ok = 1;
done:
    if (f != NULL)
        fclose(f);
    free(traj);
    hnn_integrator_destroy(in);
    hnn_net_destroy(net);
    if (bad_args)
        return usage();
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "train") == 0)
        return cmd_train(argc, argv);
    if (strcmp(argv[1], "info") == 0)
        return cmd_info(argc, argv);
    if (strcmp(argv[1], "eval") == 0)
        return cmd_eval(argc, argv);
    if (strcmp(argv[1], "rollout") == 0)
        return cmd_rollout(argc, argv);
    if (strcmp(argv[1], "--version") == 0) {
        printf("hnn %s\n", hnn_version_string());
        return 0;
    }
    return usage();
}
