/* hnn: the command-line tool. Train a model from a CSV file, inspect it, evaluate it, roll it
 * out. Every model it writes is a libhnn model file (docs/format.md) that hnn_model_load reads.
 *
 *   hnn train --data F.csv --out M.hnn [--model hnn|mlp|dissipative|port] [--width W]
 *             [--depth D] [--steps N] [--batch B] [--lr LR] [--seed S] [--activation NAME]
 *             [--features MAP] [--bodies B]
 *             [--kinetic-mass M] [--optimizer NAME] [--weight-decay W] [--val-split F]
 *             [--resume M.hnn] [--force]
 *   hnn info M.hnn
 *   hnn eval M.hnn q1..qn p1..pn
 *   hnn rollout M.hnn --x0 q1..qn p1..pn [--integrator NAME] [--h H] [--steps N] --csv OUT.csv
 *   hnn --help | --version
 * (`usage` below lists the defaults and limits.)
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

/* The states eval and rollout handle: n <= MAX_CLI_DOF (their arrays are on the stack). */
#define MAX_CLI_DOF 64

static void print_usage(FILE *out)
{
    fprintf(out,
            "usage:\n"
            "  hnn train --data F.csv --out M.hnn [options]    train a model on a CSV\n"
            "  hnn train --trajectories T.csv --out M.hnn [options]\n"
            "                        train on recorded trajectories (trajectory,t,q..,p..)\n"
            "      --loss RULE       fd (forward differences), central, midpoint (the\n"
            "                        implicit-midpoint residual) or rollout (K steps over the\n"
            "                        recorded steps matched to the next K observations; any\n"
            "                        --model) (default midpoint)\n"
            "      --horizon K       the rollout loss's steps, 1..1024 (default 8)\n"
            "      --scheme NAME     the rollout loss's steps: rk4, or leapfrog for a separable\n"
            "                        net (--features positions --kinetic-mass M) (default rk4)\n"
            "      --test-split F    hold out a fraction F in (0, 1) of the trajectories, or\n"
            "                        of each one's time span, and report its loss\n"
            "      --split HOW       trajectories or time (default: trajectories when the\n"
            "                        file holds several, else time)\n"
            "      --model KIND      hnn (Hamiltonian net), mlp (direct-field baseline),\n"
            "                        dissipative (Helmholtz: f = J grad H + grad D, two nets) or\n"
            "                        port (f = (J - R) grad H, R = L L^T learned) (default hnn)\n"
            "      --width W         neurons per hidden layer, 1..%u (default 128)\n"
            "      --depth D         hidden layers, 1..%d (default 2)\n"
            "      --steps N         Adam steps, >= 1 (default 2000)\n"
            "      --batch B         minibatch size, 0 = the whole set (default 256)\n"
            "      --full-batch      the same as --batch 0\n"
            "      --lr LR           learning rate, finite and >= 0 (default 0.001)\n"
            "      --seed S          initialisation and shuffling seed (default 0)\n"
            "      --activation NAME tanh softplus sine silu relu (default tanh; relu only for\n"
            "                        --model mlp)\n"
            "      --features MAP    identity translation rotation positions (default identity)\n"
            "      --bodies B        bodies for translation and rotation maps\n"
            "      --kinetic-mass M  add |p|^2 / (2M) to H, M in [1e-100, 1e100] (default none)\n"
            "      --optimizer NAME  sgd adam adamw (default adam)\n"
            "      --weight-decay W  the optimizer's weight decay (default 0)\n"
            "      --val-split F     hold out the last fraction F of the rows, in [0, 1), and\n"
            "                        report their loss (default 0: none)\n"
            "      --resume M.hnn    continue that model's training for --steps more steps, bit\n"
            "                        for bit (its shape, optimizer and seed; pass the same\n"
            "                        --data, --batch and --val-split)\n"
            "      --force           replace an existing --out that is not the one resumed\n"
            "  hnn info M.hnn                                  what a model file holds (any kind)\n"
            "  hnn eval M.hnn q1..qn p1..pn                    H, grad H and the field at a state\n"
            "                        (a dissipative model: its H net's H and grad H, its field)\n"
            "      --f32             on the float path (hnn_net_field_f32), at the state\n"
            "                        rounded to float, 9 digits (nets only)\n"
            "  hnn rollout M.hnn --x0 q1..qn p1..pn --csv OUT.csv [options]\n"
            "      --integrator NAME (default rk4): euler rk4 dopri5 symplectic-euler leapfrog\n"
            "                        implicit-midpoint gauss4 gauss6 yoshida4 tao\n"
            "      --h H             step, finite and non-zero (default 0.1)\n"
            "      --steps N         steps, 1..100000000 (default 1000); rows are written as\n"
            "                        they are computed\n"
            "      --f32             float states stepped by hnn_stepper_step_f32: leapfrog\n"
            "                        (separable nets) or implicit-midpoint (the default for\n"
            "                        other nets), or symplectic-euler (nets only)\n"
            "  hnn --help | --version\n"
            "eval and rollout take models of n <= %d degrees of freedom; the rollout's H\n"
            "column is the (H) net's energy.\n",
            HNN_MAX_WIDTH, HNN_MAX_HIDDEN, MAX_CLI_DOF);
}

static int usage(void)
{
    print_usage(stderr);
    return 2;
}

/* Why s is not a finite number, or NULL if it is one (then in *out). */
static const char *number_problem(const char *s, double *out)
{
    char *end;
    if (s == NULL || *s == '\0')
        return "is empty";
    errno = 0;
    *out = strtod(s, &end);
    if (*end != '\0' || end == s)
        return "is not a number";
    if (isnan(*out))
        return "is not a number (NaN)";
    if (isinf(*out))
        return errno == ERANGE ? "overflows a double" : "is infinite";
    return NULL;
}

/* Why s is not a whole number that fits size_t, or NULL if it is one (then in *out). */
static const char *size_problem(const char *s, size_t *out)
{
    char *end;
    unsigned long long v;
    if (s == NULL || *s < '0' || *s > '9')
        return "is not a whole number >= 0";
    errno = 0;
    v = strtoull(s, &end, 10);
    *out = (size_t)v;
    if (*end != '\0')
        return "is not a whole number >= 0";
    if (errno == ERANGE || (unsigned long long)*out != v)
        return "is too large";
    return NULL;
}

/* The message for a bad option or value ("hnn train: --width 'abc' is not a whole number
 * >= 0"), then the usage; exit status 2. */
static int bad_option(const char *cmd, const char *option, const char *value, const char *why)
{
    if (value != NULL)
        fprintf(stderr, "hnn %s: %s '%s' %s\n", cmd, option, value, why);
    else
        fprintf(stderr, "hnn %s: %s %s\n", cmd, option, why);
    return usage();
}

/* ---- a model of any kind -------------------------------------------------------------- */

/* A loaded or new model: a net, or a dissipative model (Helmholtz or port). */
typedef struct model {
    hnn_net *net;
    hnn_dissipative *dm;
} model;

static void model_destroy(model *m)
{
    hnn_net_destroy(m->net);
    hnn_dissipative_destroy(m->dm);
    m->net = NULL;
    m->dm = NULL;
}

static size_t model_params(const model *m)
{
    return m->dm != NULL ? hnn_dissipative_param_count(m->dm) : hnn_net_param_count(m->net);
}

/* The (H) net's definition. */
static hnn_net_def model_def(const model *m)
{
    hnn_net_def def = hnn_net_def_default();
    hnn_net_get_def(m->dm != NULL ? hnn_dissipative_energy_net(m->dm) : m->net, &def);
    return def;
}

/* The net that names the energy (the net itself, or the H net); NULL for a direct field. */
static const hnn_net *model_energy_net(const model *m)
{
    if (m->dm != NULL)
        return hnn_dissipative_energy_net(m->dm);
    return model_def(m).kind == HNN_NET_HAMILTONIAN ? m->net : NULL;
}

/* The field at one state. */
static hnn_status model_field(model *m, const double *x, double *f)
{
    return m->dm != NULL ? hnn_dissipative_field(m->dm, x, 1, f)
                         : hnn_net_field(m->net, hnn_net_workspace(m->net), x, 1, f);
}

/* A model file of any kind: the header says which loader reads it. */
static int model_load(const char *path, model *m, hnn_optimizer **opt, hnn_train_meta *meta,
                      hnn_error *err)
{
    hnn_model_info info;
    m->net = NULL;
    m->dm = NULL;
    info.struct_size = sizeof info;
    if (hnn_model_info_read(path, &info, err) != HNN_OK)
        return 0;
    if (info.model_kind == HNN_MODEL_NET)
        return hnn_model_load(path, NULL, &m->net, opt, meta, err) == HNN_OK;
    return hnn_dissipative_load(path, NULL, &m->dm, opt, meta, err) == HNN_OK;
}

static hnn_status model_save(const char *path, const model *m, const hnn_optimizer *opt,
                             const hnn_train_meta *meta, hnn_error *err)
{
    return m->dm != NULL ? hnn_dissipative_save(path, m->dm, opt, meta, err)
                         : hnn_model_save(path, m->net, opt, meta, err);
}

static const char *model_name(const model *m)
{
    if (m->dm != NULL)
        return hnn_dissipative_kind(m->dm) == HNN_DISSIPATION_HELMHOLTZ
                   ? "Helmholtz dissipative model"
                   : "port-Hamiltonian model";
    return model_def(m).kind == HNN_NET_HAMILTONIAN ? "Hamiltonian net" : "direct-field net";
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

/* Loads a model of any kind for a command, saying why not; 0 on failure. */
static int load(const char *cmd, const char *path, model *m)
{
    hnn_error err;
    if (model_load(path, m, NULL, NULL, &err))
        return 1;
    fprintf(stderr, "hnn %s: %s\n", cmd, err.message);
    return 0;
}

/* The index of name in names[0..count), or -1. */
static int name_index(const char *name, const char *const *names, int count)
{
    int i;
    for (i = 0; i < count; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

static int file_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f != NULL)
        fclose(f);
    return f != NULL;
}

/* The training run a command line asks for. */
typedef struct train_args {
    const char *data, *trajectories, *out, *resume;
    size_t width, depth, steps, batch;
    double val_split, test_split;
    int force;
    int dissipation; /* -1: a net; else an hnn_dissipation */
    int rule;        /* an hnn_difference or RULE_ROLLOUT (--loss), or -1: not given (midpoint) */
    size_t horizon;  /* --horizon: the rollout loss's steps */
    int scheme;      /* --scheme: an index of scheme_names, or -1: not given (rk4) */
    int split;       /* an hnn_split (--split), or -1: by the file */
} train_args;

static const char *const feature_names[4] = {"identity", "translation", "rotation", "positions"};
static const char *const optimizer_names[3] = {"sgd", "adam", "adamw"};
static const char *const activation_names[5] = {"tanh", "softplus", "sine", "silu", "relu"};
static const char *const model_names[4] = {"hnn", "mlp", "dissipative", "port"};
/* --loss: the hnn_difference rules in their order, then the rollout loss */
static const char *const rule_names[4] = {"fd", "central", "midpoint", "rollout"};
#define RULE_ROLLOUT 3
static const char *const split_names[2] = {"trajectories", "time"};     /* hnn_split order */
static const char *const scheme_names[2] = {"rk4", "leapfrog"};
static const hnn_method scheme_methods[2] = {HNN_METHOD_RK4, HNN_METHOD_LEAPFROG};

/* Reads hnn train's options into *t, *nd and *od; prints and returns 2 on a bad one, else 0. */
static int train_options(int argc, char **argv, train_args *t, hnn_net_def *nd,
                         hnn_optimizer_def *od)
{
    double lr = od->lr, wd = od->weight_decay;
    int kind = HNN_OPT_ADAM, i;
    for (i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char *why = NULL; /* what is wrong with v, if anything */
        int k;
        if (strcmp(a, "--force") == 0) { /* the flags without a value */
            t->force = 1;
            continue;
        }
        if (strcmp(a, "--full-batch") == 0) {
            t->batch = 0;
            continue;
        }
        if (v == NULL)
            return bad_option("train", a, NULL, "needs a value");
        if (strcmp(a, "--data") == 0)
            t->data = v;
        else if (strcmp(a, "--trajectories") == 0)
            t->trajectories = v;
        else if (strcmp(a, "--loss") == 0) {
            if ((t->rule = name_index(v, rule_names, 4)) < 0)
                why = "is not fd, central, midpoint or rollout";
        } else if (strcmp(a, "--horizon") == 0) {
            if ((why = size_problem(v, &t->horizon)) == NULL &&
                !(t->horizon >= 1 && t->horizon <= 1024))
                why = "is not in 1..1024";
        } else if (strcmp(a, "--scheme") == 0) {
            if ((t->scheme = name_index(v, scheme_names, 2)) < 0)
                why = "is not rk4 or leapfrog";
        } else if (strcmp(a, "--split") == 0) {
            if ((t->split = name_index(v, split_names, 2)) < 0)
                why = "is not trajectories or time";
        } else if (strcmp(a, "--test-split") == 0) {
            if ((why = number_problem(v, &t->test_split)) == NULL &&
                !(t->test_split > 0.0 && t->test_split < 1.0))
                why = "is not in (0, 1)";
        } else if (strcmp(a, "--out") == 0)
            t->out = v;
        else if (strcmp(a, "--resume") == 0)
            t->resume = v;
        else if (strcmp(a, "--model") == 0) {
            if ((k = name_index(v, model_names, 4)) < 0)
                why = "is not hnn, mlp, dissipative or port";
            nd->kind = k == 1 ? HNN_NET_FIELD : HNN_NET_HAMILTONIAN;
            t->dissipation = k == 2   ? HNN_DISSIPATION_HELMHOLTZ
                             : k == 3 ? HNN_DISSIPATION_PORT
                                      : -1;
        } else if (strcmp(a, "--activation") == 0) {
            if ((k = name_index(v, activation_names, 5)) < 0)
                why = "is not tanh, softplus, sine, silu or relu";
            else
                nd->activation = (hnn_activation)k;
        } else if (strcmp(a, "--features") == 0) {
            if ((k = name_index(v, feature_names, 4)) < 0)
                why = "is not identity, translation, rotation or positions";
            else
                nd->features = (hnn_feature_map)k;
        } else if (strcmp(a, "--bodies") == 0)
            why = size_problem(v, &nd->bodies);
        else if (strcmp(a, "--kinetic-mass") == 0)
            why = number_problem(v, &nd->kinetic_mass);
        else if (strcmp(a, "--width") == 0)
            why = size_problem(v, &t->width);
        else if (strcmp(a, "--depth") == 0)
            why = size_problem(v, &t->depth);
        else if (strcmp(a, "--steps") == 0)
            why = size_problem(v, &t->steps);
        else if (strcmp(a, "--batch") == 0)
            why = size_problem(v, &t->batch);
        else if (strcmp(a, "--lr") == 0)
            why = number_problem(v, &lr);
        else if (strcmp(a, "--weight-decay") == 0)
            why = number_problem(v, &wd);
        else if (strcmp(a, "--optimizer") == 0) {
            if ((kind = name_index(v, optimizer_names, 3)) < 0)
                why = "is not sgd, adam or adamw";
        } else if (strcmp(a, "--val-split") == 0) {
            if ((why = number_problem(v, &t->val_split)) == NULL &&
                !(t->val_split >= 0.0 && t->val_split < 1.0))
                why = "is not in [0, 1)";
        } else if (strcmp(a, "--seed") == 0) {
            size_t s = 0;
            why = size_problem(v, &s);
            nd->seed = s;
        } else
            return bad_option("train", a, NULL, "is not an option of hnn train");
        if (why != NULL)
            return bad_option("train", a, v, why);
        i++;
    }
    if ((t->data == NULL) == (t->trajectories == NULL) || t->out == NULL) {
        fprintf(stderr, "hnn train: --out and one of --data or --trajectories are required\n");
        return usage();
    }
    if (t->trajectories != NULL && t->val_split > 0.0) {
        fprintf(stderr, "hnn train: with --trajectories, hold data out with --test-split (a "
                "row split would share observations between the sides)\n");
        return usage();
    }
    if ((t->horizon != 0 || t->scheme >= 0) && t->rule != RULE_ROLLOUT) {
        fprintf(stderr, "hnn train: --horizon and --scheme are the rollout loss's: give --loss "
                "rollout\n");
        return usage();
    }
    if (t->scheme == 1 && t->dissipation >= 0) {
        fprintf(stderr, "hnn train: --scheme leapfrog steps separable nets; a dissipative "
                "model's field is not separable: use rk4\n");
        return usage();
    }
    if (t->scheme < 0)
        t->scheme = 0;
    if (t->horizon == 0)
        t->horizon = 8;
    if (t->split >= 0 && !(t->test_split > 0.0)) {
        fprintf(stderr, "hnn train: --split says how to hold data out; give --test-split too\n");
        return usage();
    }
    if (t->data != NULL && (t->test_split > 0.0 || t->split >= 0 || t->rule >= 0)) {
        fprintf(stderr, "hnn train: --loss, --test-split and --split need --trajectories\n");
        return usage();
    }
    *od = hnn_optimizer_def_default((hnn_optimizer_kind)kind);
    od->lr = lr;
    od->weight_decay = wd;
    /* the library judges depth, width, steps, features and masses (and says what is wrong);
     * the widths array only bounds the loop */
    nd->depth = t->depth;
    for (i = 0; i < (int)t->depth && i < HNN_MAX_HIDDEN; i++)
        nd->widths[i] = t->width;
    return 0;
}

/* The net and optimizer to train: new ones from the options, or, with --resume, the ones
 * saved in that file (its shape, optimizer and seed; --steps more steps). */
static int train_start(const train_args *t, hnn_net_def *nd, const hnn_optimizer_def *od,
                       size_t dof, model *m, hnn_optimizer **opt, uint64_t *steps_before,
                       hnn_error *err)
{
    hnn_train_meta meta = {.struct_size = sizeof meta};
    if (t->resume != NULL) {
        if (!model_load(t->resume, m, opt, &meta, err))
            return 0;
        if (*opt == NULL) {
            snprintf(err->message, sizeof err->message, "%s holds no optimizer state to resume "
                     "from", t->resume);
            return 0;
        }
        *nd = model_def(m);
        if (nd->dof != dof) {
            snprintf(err->message, sizeof err->message, "%s is a model of n = %zu, the data has "
                     "n = %zu", t->resume, nd->dof, dof);
            return 0;
        }
        *steps_before = meta.present ? meta.steps_done : hnn_optimizer_steps(*opt);
        return 1;
    }
    nd->dof = dof;
    *steps_before = 0;
    if (t->dissipation >= 0) {
        if (hnn_dissipative_create((hnn_dissipation)t->dissipation, nd, &m->dm, err) != HNN_OK)
            return 0;
    } else if (hnn_net_create(nd, &m->net, err) != HNN_OK)
        return 0;
    return hnn_optimizer_create(od, model_params(m), opt, err) == HNN_OK;
}

/* The last `fraction` of the rows, for validation, and the rest (new datasets). */
static int split_data(const hnn_dataset *all, double fraction, hnn_dataset **train,
                      hnn_dataset **val, hnn_error *err)
{
    const size_t count = hnn_dataset_count(all), dim = 2 * hnn_dataset_dof(all);
    const size_t nval = (size_t)(fraction * (double)count);
    const double *x = hnn_dataset_states(all), *y = hnn_dataset_derivatives(all);
    if (nval == 0 || nval == count) {
        snprintf(err->message, sizeof err->message, "--val-split %g of %zu rows leaves a side "
                 "empty", fraction, count);
        return 0;
    }
    return hnn_dataset_create(hnn_dataset_dof(all), count - nval, x, y, NULL, train, err) ==
               HNN_OK &&
           hnn_dataset_create(hnn_dataset_dof(all), nval, x + (count - nval) * dim,
                              y + (count - nval) * dim, NULL, val, err) == HNN_OK;
}

/* --trajectories: the file's trajectories as *tr_train and, with --test-split, the held-out
 * part as *tr_test (by whole trajectories or in time); for a difference rule (--loss) also
 * their pairs as *train and *test. */
static int trajectory_data(const train_args *t, hnn_trajectories **tr_train,
                           hnn_trajectories **tr_test, hnn_dataset **train, hnn_dataset **test,
                           hnn_error *err)
{
    const int rule = t->rule >= 0 ? t->rule : HNN_DIFF_MIDPOINT;
    hnn_trajectories *all = NULL;
    const char *where = "splitting";
    hnn_split how = HNN_SPLIT_TRAJECTORIES;
    int ok;
    if (hnn_trajectories_load_csv(t->trajectories, NULL, &all, err) != HNN_OK)
        return 0;
    if (t->test_split > 0.0) {
        how = t->split >= 0 ? (hnn_split)t->split
                            : hnn_trajectories_count(all) > 1 ? HNN_SPLIT_TRAJECTORIES
                                                              : HNN_SPLIT_TIME;
        ok = hnn_trajectories_split(all, how, 1.0 - t->test_split, tr_train, tr_test, err) ==
             HNN_OK;
        hnn_trajectories_destroy(all);
    } else {
        *tr_train = all;
        ok = 1;
    }
    if (ok && rule != RULE_ROLLOUT) {
        where = "the training part";
        ok = hnn_trajectories_to_dataset(*tr_train, (hnn_difference)rule, NULL, train, err) ==
             HNN_OK;
        if (ok && *tr_test != NULL) {
            where = "the held-out part";
            ok = hnn_trajectories_to_dataset(*tr_test, (hnn_difference)rule, NULL, test, err) ==
                 HNN_OK;
        }
    }
    if (!ok && t->test_split > 0.0) { /* say which side, and the option as the user gave it */
        char why[2 * sizeof err->message]; /* room for both; cut to the message's size */
        snprintf(why, sizeof why, "--test-split %g by %s, %s: %s", t->test_split,
                 split_names[how], where, err->message);
        memcpy(err->message, why, sizeof err->message - 1);
        err->message[sizeof err->message - 1] = '\0';
    }
    return ok;
}

static int cmd_train(int argc, char **argv)
{
    hnn_net_def nd = hnn_net_def_default();
    hnn_optimizer_def od = hnn_optimizer_def_default(HNN_OPT_ADAM);
    hnn_train_def td = hnn_train_def_default();
    train_args t = {NULL, NULL, NULL, NULL, 128, 2, 2000, 256, 0.0, 0.0, 0, -1, -1, 0, -1, -1};
    hnn_dataset *all = NULL, *train = NULL, *val = NULL;
    hnn_trajectories *tr_train = NULL, *tr_test = NULL;
    model m = {NULL, NULL};
    hnn_optimizer *opt = NULL;
    hnn_train_result res = {.struct_size = sizeof res};
    hnn_train_meta meta = {.struct_size = sizeof meta};
    uint64_t before = 0;
    progress prog;
    hnn_error err;
    int st, ok = 0;

    if ((st = train_options(argc, argv, &t, &nd, &od)) != 0)
        return st;
    /* an existing file is replaced only when it is the one resumed from, or when asked */
    if (file_exists(t.out) && !t.force && (t.resume == NULL || strcmp(t.resume, t.out) != 0)) {
        fprintf(stderr, "hnn train: %s exists: pass --force to replace it, or --resume %s to "
                "continue its training\n", t.out, t.out);
        return 1;
    }
    err.message[0] = '\0';
    if ((t.trajectories != NULL
             ? !trajectory_data(&t, &tr_train, &tr_test, &all, &val, &err)
             : hnn_dataset_load_csv(t.data, NULL, &all, &err) != HNN_OK) ||
        (t.val_split > 0.0 && !split_data(all, t.val_split, &train, &val, &err)) ||
        !train_start(&t, &nd, &od,
                     tr_train != NULL ? hnn_trajectories_dof(tr_train) : hnn_dataset_dof(all),
                     &m, &opt, &before, &err))
        goto done;
    td.seed = nd.seed; /* one seed: initialisation and shuffling, so a resumed run continues */
    td.steps = t.steps;
    td.batch_size = t.batch;
    prog.total = t.steps;
    prog.terminal = STDERR_IS_TERMINAL();
    td.report_every = prog.terminal ? (t.steps >= 100 ? t.steps / 100 : 1)
                                    : (t.steps >= 10 ? t.steps / 10 : 1);
    td.progress = show_progress;
    td.user = &prog;
    if (t.rule == RULE_ROLLOUT && m.dm != NULL)
        st = hnn_dissipative_train_rollout(m.dm, opt, tr_train, tr_test, t.horizon, &td, &res,
                                           &err);
    else if (t.rule == RULE_ROLLOUT)
        st = hnn_train_rollout_with(m.net, opt, tr_train, tr_test, scheme_methods[t.scheme],
                                    t.horizon, &td, &res, &err);
    else if (m.dm != NULL)
        st = hnn_dissipative_train(m.dm, opt, train != NULL ? train : all, val, &td, &res, &err);
    else
        st = hnn_train(m.net, opt, train != NULL ? train : all, val, &td, &res, &err);
    if (st != HNN_OK)
        goto done;
    meta.present = 1;
    meta.steps_done = before + res.steps_done;
    meta.train_loss = res.train_loss;
    meta.val_loss = res.val_loss;
    if (model_save(t.out, &m, opt, &meta, &err) != HNN_OK)
        goto done;
    printf("trained a %s (n = %zu, %zu hidden %s layers, %zu parameters) on %zu %s for %llu "
           "steps (%llu in all): loss %.4e", model_name(&m), nd.dof, nd.depth,
           activation_names[nd.activation], model_params(&m),
           t.rule == RULE_ROLLOUT ? hnn_trajectories_windows(tr_train, t.horizon, NULL)
                                  : hnn_dataset_count(train != NULL ? train : all),
           t.rule == RULE_ROLLOUT ? "windows" : "states", (unsigned long long)res.steps_done,
           (unsigned long long)meta.steps_done, res.train_loss);
    if (t.rule == RULE_ROLLOUT && tr_test != NULL)
        printf(", validation loss %.4e on %zu windows", res.val_loss,
               hnn_trajectories_windows(tr_test, t.horizon, NULL));
    else if (val != NULL)
        printf(", validation loss %.4e on %zu states", res.val_loss, hnn_dataset_count(val));
    printf("\nsaved %s\n", t.out);
    ok = 1;
done:
    if (!ok)
        fprintf(stderr, "hnn train: %s\n", err.message);
    hnn_optimizer_destroy(opt);
    model_destroy(&m);
    hnn_dataset_destroy(train);
    hnn_dataset_destroy(val);
    hnn_dataset_destroy(all);
    hnn_trajectories_destroy(tr_train);
    hnn_trajectories_destroy(tr_test);
    return ok ? 0 : 1;
}

/* ---- info, eval, rollout ------------------------------------------------------------------- */

static double mib(double bytes)
{
    return bytes / (1024.0 * 1024.0);
}

/* Reads the header and the sections' fixed fields only: what a file holds and what loading
 * it would take, without building the net (a hostile file costs nothing to inspect). */
static int cmd_info(int argc, char **argv)
{
    static const char *const optimizers[3] = {"SGD", "Adam", "AdamW"};
    static const char *const activations[5] = {"tanh", "softplus", "sine", "SiLU", "ReLU"};
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
    if (info.model_kind == HNN_MODEL_HELMHOLTZ)
        printf("model:       Helmholtz dissipative, f = J grad H + grad D (H and D nets)\n");
    else if (info.model_kind == HNN_MODEL_PORT)
        printf("model:       port-Hamiltonian, f = (J - R) grad H, R = L L^T (%zu entries of L)\n",
               info.l_params);
    else
        printf("model:       one net\n");
    printf("kind:        %s%s\n", info.model_kind != HNN_MODEL_NET ? "H net: " : "",
           info.kind == HNN_NET_HAMILTONIAN ? "Hamiltonian (outputs H)"
                                            : "direct field (outputs dx/dt)");
    printf("state:       n = %zu degrees of freedom, x = [q1..q%zu, p1..p%zu]\n", info.dof,
           info.dof, info.dof);
    if (info.features == HNN_FEATURES_POSITIONS)
        printf("features:    positions only\n");
    else if (info.features != HNN_FEATURES_IDENTITY)
        printf("features:    %s-invariant, %zu bodies\n",
               info.features == HNN_FEATURES_TRANSLATION ? "translation"
                                                         : "rotation-and-translation",
               info.bodies);
    if (info.kinetic_mass > 0.0)
        printf("kinetic:     |p|^2 / (2 x %g) added to H%s\n", info.kinetic_mass,
               info.features == HNN_FEATURES_POSITIONS ? " (separable)" : "");
    printf("hidden:      %zu %s layers:", info.depth, activations[info.activation]);
    for (l = 0; l < info.depth; l++)
        printf(" %zu", info.widths[l]);
    printf("\nparameters:  %zu (initialisation seed %llu)\n", info.h_params,
           (unsigned long long)info.seed);
    if (info.model_kind == HNN_MODEL_HELMHOLTZ) {
        printf("D net:       scalar, %s, %zu %s layers:",
               info.d_features == HNN_FEATURES_IDENTITY ? "reads the full state" : "features",
               info.d_depth, activations[info.d_activation]);
        for (l = 0; l < info.d_depth; l++)
            printf(" %zu", info.d_widths[l]);
        printf("; %zu parameters (seed %llu)\n", info.d_params, (unsigned long long)info.d_seed);
    }
    if (info.model_kind != HNN_MODEL_NET)
        printf("all:         %zu parameters\n", info.params);
    if (info.has_optimizer)
        printf("optimizer:   %s, lr %g, %llu steps taken\n", optimizers[info.optimizer_kind],
               info.lr, (unsigned long long)info.optimizer_steps);
    else
        printf("optimizer:   none stored\n");
    if (info.has_training) {
        printf("training:    %llu steps, last loss %.4e", (unsigned long long)info.steps_done,
               info.train_loss);
        if (!isnan(info.val_loss))
            printf(", validation loss %.4e", info.val_loss);
        printf("\n");
    }
    printf("memory:      loading takes %.2f MiB (model with its workspace %.2f, optimizer %.2f, "
           "the file %.2f); each further workspace %.2f MiB\n", mib((double)info.load_bytes),
           mib((double)info.net_bytes), mib((double)info.optimizer_bytes),
           mib((double)info.file_bytes), mib((double)info.workspace_bytes));
    return 0;
}

/* Reads the 2n numbers of a state from argv[first..]; on any problem prints which number is
 * wrong and why ("hnn eval: p1 'abc' is not a number") and returns 0. */
static int parse_state(const char *cmd, int argc, char **argv, int first, size_t dof, double *x)
{
    const size_t dim = 2 * dof;
    size_t k;
    if (dof > MAX_CLI_DOF) {
        fprintf(stderr, "hnn %s: the model has n = %zu; %s handles n <= %d\n", cmd, dof, cmd,
                MAX_CLI_DOF);
        return 0;
    }
    for (k = 0; k < dim; k++) {
        const char *why;
        if (first + (int)k >= argc || strncmp(argv[first + (int)k], "--", 2) == 0) {
            fprintf(stderr, "hnn %s: this model takes %zu numbers (q1..q%zu p1..p%zu); got %zu\n",
                    cmd, dim, dof, dof, k);
            return 0;
        }
        if ((why = number_problem(argv[first + (int)k], &x[k])) != NULL) {
            fprintf(stderr, "hnn %s: %c%zu '%s' %s\n", cmd, k < dof ? 'q' : 'p', k % dof + 1,
                    argv[first + (int)k], why);
            return 0;
        }
    }
    return 1;
}

/* Removes every `flag` from argv[3..] (after the command and the model); 1 if there was one. */
static int take_flag(int *argc, char **argv, const char *flag)
{
    int a, out = 3, found = 0;
    for (a = 3; a < *argc; a++) {
        if (strcmp(argv[a], flag) == 0)
            found = 1;
        else
            argv[out++] = argv[a];
    }
    *argc = out;
    return found;
}

/* hnn eval --f32: H, grad H and the field on the float path, at the state rounded to float. */
static int eval_f32(const hnn_net *net, const double *x, size_t dim)
{
    hnn_workspace *ws = NULL;
    float xf[2 * MAX_CLI_DOF], f[2 * MAX_CLI_DOF], g[2 * MAX_CLI_DOF], h;
    hnn_net_def def = hnn_net_def_default();
    size_t i;
    int ok;
    for (i = 0; i < dim; i++)
        xf[i] = (float)x[i];
    hnn_net_get_def(net, &def);
    ok = hnn_workspace_create(net, &ws, NULL) == HNN_OK &&
         hnn_net_field_f32(net, ws, xf, 1, f) == HNN_OK &&
         (def.kind != HNN_NET_HAMILTONIAN || hnn_net_gradient_f32(net, ws, xf, 1, &h, g) == HNN_OK);
    if (ok && def.kind == HNN_NET_HAMILTONIAN) {
        printf("H     %.9g\ngrad ", (double)h);
        for (i = 0; i < dim; i++)
            printf(" %.9g", (double)g[i]);
        printf("\n");
    }
    if (ok) {
        printf("field");
        for (i = 0; i < dim; i++)
            printf(" %.9g", (double)f[i]);
        printf("\n");
    }
    hnn_workspace_destroy(ws);
    return ok;
}

static int cmd_eval(int argc, char **argv)
{
    model m;
    hnn_net_def def;
    hnn_workspace *ws = NULL;
    const hnn_net *energy;
    double x[2 * MAX_CLI_DOF], f[2 * MAX_CLI_DOF], g[2 * MAX_CLI_DOF], h;
    size_t dim, i;
    int status = 2, f32 = take_flag(&argc, argv, "--f32");
    if (argc < 3)
        return usage();
    if (!load("eval", argv[2], &m))
        return 1;
    if (f32 && m.dm != NULL) {
        fprintf(stderr, "hnn eval: --f32 evaluates nets; %s holds a dissipative model\n",
                argv[2]);
        model_destroy(&m);
        return 2;
    }
    def = model_def(&m);
    dim = 2 * def.dof;
    energy = model_energy_net(&m);
    if (!parse_state("eval", argc, argv, 3, def.dof, x))
        goto done;
    if (argc != 3 + (int)dim) {
        fprintf(stderr, "hnn eval: this model takes %zu numbers (q1..q%zu p1..p%zu); got %d\n",
                dim, def.dof, def.dof, argc - 3);
        goto done;
    }
    status = 1;
    if (f32) {
        status = eval_f32(m.net, x, dim) ? 0 : 1;
        goto done;
    }
    if (energy != NULL) { /* the (H) net's energy, with a workspace of our own */
        if (hnn_workspace_create(energy, &ws, NULL) != HNN_OK ||
            hnn_net_gradient(energy, ws, x, 1, &h, g) != HNN_OK)
            goto done;
        printf("H     %.17g\ngrad ", h);
        for (i = 0; i < dim; i++)
            printf(" %.17g", g[i]);
        printf("\n");
    }
    if (model_field(&m, x, f) != HNN_OK)
        goto done;
    printf("field");
    for (i = 0; i < dim; i++)
        printf(" %.17g", f[i]);
    printf("\n");
    status = 0;
done:
    if (status == 1)
        fprintf(stderr, "hnn eval: the model failed to evaluate\n");
    hnn_workspace_destroy(ws);
    model_destroy(&m);
    return status;
}

/* One CSV row of a float rollout (9 digits: a float's), with the net's float H. */
static void write_row_f32(FILE *f, const hnn_net *net, hnn_workspace *ws, int hamiltonian,
                          double t, const float *x, size_t dim)
{
    size_t i;
    fprintf(f, "%.17g", t);
    for (i = 0; i < dim; i++)
        fprintf(f, ",%.9g", (double)x[i]);
    if (hamiltonian) {
        float e;
        hnn_net_energy_f32(net, ws, x, 1, &e);
        fprintf(f, ",%.9g", (double)e);
    }
    fprintf(f, "\n");
}

/* One CSV row of a rollout: t, the state, and the (H) net's own H if there is one. */
static void write_row(FILE *f, const hnn_net *net, hnn_workspace *ws, int hamiltonian,
                      double t, const double *x, size_t dim)
{
    size_t i;
    fprintf(f, "%.17g", t);
    for (i = 0; i < dim; i++)
        fprintf(f, ",%.17g", x[i]);
    if (hamiltonian) {
        double e;
        hnn_net_energy(net, ws, x, 1, &e);
        fprintf(f, ",%.17g", e);
    }
    fprintf(f, "\n");
}

static int cmd_rollout(int argc, char **argv)
{
    hnn_integrator_def idef = hnn_integrator_def_default();
    hnn_net_def def = hnn_net_def_default();
    hnn_integrator *in = NULL;
    hnn_field_source src = {.struct_size = sizeof src};
    hnn_workspace *ws = NULL;
    const hnn_net *energy;
    model m;
    const char *csv = NULL;
    double x[2 * MAX_CLI_DOF], h = 0.1;
    size_t steps = 1000, dim, k, i;
    int a, have_x0 = 0, ok = 0, terminal = STDERR_IS_TERMINAL(), hamiltonian, method_given = 0;
    int f32 = take_flag(&argc, argv, "--f32");
    hnn_stepper *stepper = NULL;
    float xf[2 * MAX_CLI_DOF];
    hnn_status st;
    FILE *f = NULL;
    if (argc < 3)
        return usage();
    if (!load("rollout", argv[2], &m))
        return 1;
    if (f32 && m.dm != NULL) {
        fprintf(stderr, "hnn rollout: --f32 steps nets; %s holds a dissipative model\n", argv[2]);
        model_destroy(&m);
        return 2;
    }
    def = model_def(&m);
    dim = 2 * def.dof;
    energy = model_energy_net(&m);
    hamiltonian = energy != NULL;
    for (a = 3; a < argc; a++) {
        const char *v = a + 1 < argc ? argv[a + 1] : NULL;
        const char *option = argv[a], *why = NULL;
        if (v == NULL) {
            model_destroy(&m);
            return bad_option("rollout", option, NULL, "needs a value");
        }
        if (strcmp(option, "--x0") == 0) {
            if (!parse_state("rollout", argc, argv, a + 1, def.dof, x)) {
                model_destroy(&m);
                return 2;
            }
            have_x0 = 1;
            a += (int)dim - 1; /* skip only what was read: never past the end of argv */
        } else if (strcmp(option, "--integrator") == 0) {
            if (hnn_method_from_name(v, &idef.method) != HNN_OK)
                why = "is not an integrator (see the list below)";
            else if (f32 && idef.method != HNN_METHOD_LEAPFROG &&
                     idef.method != HNN_METHOD_SYMPLECTIC_EULER &&
                     idef.method != HNN_METHOD_IMPLICIT_MIDPOINT)
                why = "is not one --f32 steps with (leapfrog, symplectic-euler, "
                      "implicit-midpoint)";
            method_given = 1;
        } else if (strcmp(option, "--h") == 0) {
            if ((why = number_problem(v, &h)) == NULL && h == 0.0)
                why = "is zero";
        } else if (strcmp(option, "--steps") == 0) {
            if ((why = size_problem(v, &steps)) == NULL && (steps == 0 || steps > 100000000))
                why = "is not in 1..100000000";
        } else if (strcmp(option, "--csv") == 0)
            csv = v;
        else {
            model_destroy(&m);
            return bad_option("rollout", option, NULL, "is not an option of hnn rollout");
        }
        if (why != NULL) {
            model_destroy(&m);
            return bad_option("rollout", option, v, why);
        }
        a++;
    }
    if (!have_x0 || csv == NULL || !isfinite(h * (double)steps)) {
        fprintf(stderr, "hnn rollout: --x0 (%zu numbers) and --csv are required, and h * steps "
                        "must be finite\n", dim);
        model_destroy(&m);
        return usage();
    }
    if (f32) { /* the float stepper: leapfrog for a separable net, else implicit midpoint */
        hnn_stepper_def sd = hnn_stepper_def_default();
        hnn_error err;
        if (!method_given)
            idef.method = def.features == HNN_FEATURES_POSITIONS && def.kinetic_mass > 0
                              ? HNN_METHOD_LEAPFROG
                              : HNN_METHOD_IMPLICIT_MIDPOINT;
        sd.method = idef.method;
        sd.max_count = 1;
        if (hnn_stepper_create(m.net, &sd, &stepper, &err) != HNN_OK) {
            fprintf(stderr, "hnn rollout: %s\n", err.message);
            model_destroy(&m);
            return 2;
        }
        for (i = 0; i < dim; i++)
            xf[i] = (float)x[i];
    }
    idef.dim = dim;
    if (hnn_integrator_create(&idef, &in, NULL) != HNN_OK ||
        (energy != NULL && hnn_workspace_create(energy, &ws, NULL) != HNN_OK) ||
        (m.dm != NULL ? hnn_field_source_dissipative(m.dm, &src)
                      : hnn_field_source_net(m.net, hnn_net_workspace(m.net), &src)) != HNN_OK) {
        fprintf(stderr, "hnn rollout: out of memory\n");
        goto done;
    }
    if ((f = fopen(csv, "w")) == NULL) {
        fprintf(stderr, "hnn rollout: cannot write %s: %s\n", csv, strerror(errno));
        goto done;
    }
    /* rows as they are computed: memory does not grow with the steps, and a failed step keeps
     * every row before it */
    fprintf(f, "t");
    for (i = 0; i < dim; i++)
        fprintf(f, ",%c%zu", i < def.dof ? 'q' : 'p', i % def.dof + 1);
    fprintf(f, hamiltonian ? ",H\n" : "\n");
    if (f32)
        write_row_f32(f, energy, ws, hamiltonian, 0.0, xf, dim);
    else
        write_row(f, energy, ws, hamiltonian, 0.0, x, dim);
    for (k = 1; k <= steps; k++) {
        st = f32 ? hnn_stepper_step_f32(stepper, m.net, xf, 1, (float)h)
                 : hnn_integrator_step(in, &src, x, h);
        if (st != HNN_OK) {
            const char *why = f32 ? hnn_stepper_last_error(stepper) : hnn_integrator_last_error(in);
            fprintf(stderr, "%shnn rollout: step %zu of %zu failed: %s; %s keeps steps 0..%zu\n",
                    terminal ? "\n" : "", k, steps, *why ? why : hnn_status_string(st), csv,
                    k - 1);
            goto done;
        }
        if (f32)
            write_row_f32(f, energy, ws, hamiltonian, h * (double)k, xf, dim);
        else
            write_row(f, energy, ws, hamiltonian, h * (double)k, x, dim);
        if (terminal && (k % (steps / 100 + 1) == 0 || k == steps)) {
            fprintf(stderr, "\r%3d%%  step %zu/%zu", (int)(100.0 * (double)k / (double)steps), k,
                    steps);
            if (k == steps)
                fputc('\n', stderr);
        }
    }
    ok = 1;
done:
    if (f != NULL && fclose(f) != 0) {
        fprintf(stderr, "hnn rollout: writing %s failed\n", csv);
        ok = 0;
    }
    if (ok)
        printf("%zu steps of %s%s, h = %g: %s\n", steps, hnn_method_name(idef.method),
               f32 ? " in float" : "", h, csv);
    hnn_stepper_destroy(stepper);
    hnn_integrator_destroy(in);
    hnn_workspace_destroy(ws);
    model_destroy(&m);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_usage(stdout);
        return 0;
    }
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
    fprintf(stderr, "hnn: '%s' is not a command\n", argv[1]);
    return usage();
}
