/* spring: the seed experiment. A Hamiltonian net and a direct-field MLP of the same size
 * are trained on states and exact slopes of the unit spring, H = (q^2 + p^2) / 2; then
 * each, and the true field as the control, is integrated for 50 periods from (q, p) = (1, 0).
 * The table shows what conservation by construction buys: the HNN holds the true energy and
 * phase-space area, the MLP, which fits its data as well, drifts.
 *
 *   spring [--seed S] [--steps N] [--width W] [--periods P] [--integrator NAME]
 *          [--json] [--svg DIR]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hnn/hnn.h>

#include "plot.h"

#define PATCH_SIDE 0.1     /* the square patch of initial states, centred on the start */
#define PATCH_PER_SIDE 12  /* vertices per side: the flow shears the square into a long thin
                              arc, and the polygon's chords cut its curve; at 12 per side that
                              costs about 4e-4 of the area (docs/seed-experiment.md) */
#define PATCH_POINTS (4 * PATCH_PER_SIDE)
#define STEP 0.1           /* integration step; RK4's own energy error over 50 periods ~4e-5 */

typedef struct options {
    uint64_t seed, steps;
    size_t width;
    double periods;
    hnn_method method;
    int json;
    const char *svg_dir;
} options;

typedef struct row {
    const char *model;
    double train_loss, max_rel, final_rel, area_ratio, loop_gap;
    double *orbit;          /* (steps + 1) x 2 */
    double patch_end[PATCH_POINTS * 2];
} row;

static int usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [--seed S] [--steps N] [--width W] [--periods P] "
                    "[--integrator NAME] [--json] [--svg DIR]\n"
                    "  NAME: euler rk4 dopri5 symplectic-euler leapfrog implicit-midpoint "
                    "gauss4 gauss6 yoshida4 tao (default rk4)\n", argv0);
    return 2;
}

static int parse(int argc, char **argv, options *o)
{
    int i;
    o->seed = 0;
    o->steps = 2000;
    o->width = 128;
    o->periods = 50.0;
    o->method = HNN_METHOD_RK4;
    o->json = 0;
    o->svg_dir = NULL;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(a, "--json") == 0) {
            o->json = 1;
            continue;
        }
        if (v == NULL)
            return 0;
        if (strcmp(a, "--seed") == 0)
            o->seed = strtoull(v, &end, 10);
        else if (strcmp(a, "--steps") == 0)
            o->steps = strtoull(v, &end, 10);
        else if (strcmp(a, "--width") == 0)
            o->width = strtoull(v, &end, 10);
        else if (strcmp(a, "--periods") == 0)
            o->periods = strtod(v, &end);
        else if (strcmp(a, "--integrator") == 0) {
            if (hnn_method_from_name(v, &o->method) != HNN_OK)
                return 0;
            end = (char *)v + strlen(v);
        } else if (strcmp(a, "--svg") == 0) {
            o->svg_dir = v;
            end = (char *)v + strlen(v);
        } else
            return 0;
        if (end == v || *end != '\0')
            return 0;
        i++;
    }
    return o->steps > 0 && o->width > 0 && o->periods > 0 && o->periods <= 1e4;
}

/* ---- the patch, carried as one state ---------------------------------------------------- *
 * A field source written here, as user code: the patch's vertices stacked into one state
 * [q_1..q_V, p_1..p_V] (the canonical layout every integrator expects), evaluated as one
 * batch by the net (or vertex by vertex for the true field). Same numbers as carrying each
 * vertex alone, much faster. */

typedef struct stacked {
    hnn_net *net;                    /* NULL: use `single` per vertex */
    const hnn_field_source *single;
    double rows_x[PATCH_POINTS * 2], rows_f[PATCH_POINTS * 2];
} stacked;

static hnn_status stacked_field(void *ctx, size_t dim, const double *x, double *f)
{
    stacked *s = (stacked *)ctx;
    hnn_status st = HNN_OK;
    size_t k;
    if (dim != 2 * PATCH_POINTS)
        return HNN_ERR_SIZE_MISMATCH;
    for (k = 0; k < PATCH_POINTS; k++) {
        s->rows_x[2 * k] = x[k];
        s->rows_x[2 * k + 1] = x[PATCH_POINTS + k];
    }
    if (s->net != NULL)
        st = hnn_net_field(s->net, hnn_net_workspace(s->net), s->rows_x, PATCH_POINTS, s->rows_f);
    else
        for (k = 0; k < PATCH_POINTS && st == HNN_OK; k++)
            st = s->single->field(s->single->ctx, 2, s->rows_x + 2 * k, s->rows_f + 2 * k);
    for (k = 0; k < PATCH_POINTS; k++) {
        f[k] = s->rows_f[2 * k];
        f[PATCH_POINTS + k] = s->rows_f[2 * k + 1];
    }
    return st;
}

static void square_patch(double *poly)
{
    static const double corners[5][2] = {{-1, -1}, {1, -1}, {1, 1}, {-1, 1}, {-1, -1}};
    size_t s, k;
    for (s = 0; s < 4; s++)
        for (k = 0; k < PATCH_PER_SIDE; k++) {
            const double t = (double)k / PATCH_PER_SIDE;
            double *v = poly + 2 * (s * PATCH_PER_SIDE + k);
            v[0] = 1.0 + 0.5 * PATCH_SIDE * (corners[s][0] + t * (corners[s + 1][0] - corners[s][0]));
            v[1] = 0.5 * PATCH_SIDE * (corners[s][1] + t * (corners[s + 1][1] - corners[s][1]));
        }
}

/* ---- one row of the table ---------------------------------------------------------------- */

static int fail(const char *what, const char *why)
{
    fprintf(stderr, "spring: %s: %s\n", what, why);
    return 0;
}

static int measure(const options *o, const hnn_field_source *src, hnn_net *net,
                   size_t steps, hnn_diagnostics *diag, row *r)
{
    hnn_integrator_def idef = hnn_integrator_def_default();
    hnn_integrator *in = NULL, *patch_in = NULL;
    hnn_quantity energy = {.struct_size = sizeof energy};
    hnn_drift drift = {.struct_size = sizeof drift};
    stacked *st = calloc(1, sizeof *st);
    hnn_field_source patch_src = {sizeof(hnn_field_source), 2 * PATCH_POINTS, stacked_field, NULL,
            NULL, 0, NULL};
    double start[PATCH_POINTS * 2], packed[PATCH_POINTS * 2], x[2] = {1.0, 0.0}, a0, a1;
    const double origin[2] = {0.0, 0.0};
    size_t k;
    int ok = 0;

    idef.method = o->method;
    idef.dim = 2;
    if (st == NULL || hnn_integrator_create(&idef, &in, NULL) != HNN_OK)
        goto done;
    idef.dim = 2 * PATCH_POINTS;
    if (hnn_integrator_create(&idef, &patch_in, NULL) != HNN_OK)
        goto done;
    /* the orbit from (1, 0) and the true energy along it */
    if (hnn_integrator_rollout(in, src, x, STEP, steps, r->orbit, NULL, NULL, NULL) != HNN_OK) {
        fail(r->model, hnn_integrator_last_error(in));
        goto done;
    }
    hnn_quantity_system_energy(HNN_SYSTEM_SPRING, &energy);
    if (hnn_diagnostics_drift(diag, &energy, r->orbit, steps + 1, &drift) != HNN_OK) {
        fail(r->model, hnn_diagnostics_last_error(diag));
        goto done;
    }
    r->max_rel = drift.max_rel_err;
    r->final_rel = drift.final_rel_err;
    /* the loop gap around the unit circle: is there an energy function at all? */
    if (hnn_diagnostics_loop_gap(diag, src, origin, 0, 1.0, 256, &r->loop_gap) != HNN_OK) {
        fail(r->model, hnn_diagnostics_last_error(diag));
        goto done;
    }
    /* Liouville: the square patch carried by the same integrator */
    square_patch(start);
    st->net = net;
    st->single = src;
    patch_src.ctx = st;
    for (k = 0; k < PATCH_POINTS; k++) {
        packed[k] = start[2 * k];
        packed[PATCH_POINTS + k] = start[2 * k + 1];
    }
    if (hnn_integrator_rollout(patch_in, &patch_src, packed, STEP, steps, NULL, NULL, NULL,
                               NULL) != HNN_OK) {
        fail(r->model, hnn_integrator_last_error(patch_in));
        goto done;
    }
    for (k = 0; k < PATCH_POINTS; k++) {
        r->patch_end[2 * k] = packed[k];
        r->patch_end[2 * k + 1] = packed[PATCH_POINTS + k];
    }
    hnn_diagnostics_polygon_area(diag, start, PATCH_POINTS, 0, &a0);
    hnn_diagnostics_polygon_area(diag, r->patch_end, PATCH_POINTS, 0, &a1);
    r->area_ratio = a1 / a0;
    ok = 1;
done:
    hnn_integrator_destroy(in);
    hnn_integrator_destroy(patch_in);
    free(st);
    return ok;
}

/* ---- training ------------------------------------------------------------------------------ */

static hnn_net *train(const options *o, hnn_net_kind kind, const hnn_dataset *data, double *loss)
{
    hnn_net_def nd = hnn_net_def_default();
    hnn_optimizer_def od = hnn_optimizer_def_default(HNN_OPT_ADAM); /* lr 1e-3 */
    hnn_train_def td = hnn_train_def_default();
    hnn_optimizer *opt = NULL;
    hnn_net *net = NULL;
    hnn_train_result res = {.struct_size = sizeof res};
    hnn_error err;
    res.train_loss = NAN;
    nd.kind = kind;
    nd.widths[0] = nd.widths[1] = o->width;
    nd.seed = o->seed;
    td.steps = o->steps;
    td.batch_size = 256; /* the seed's configuration as the benchmarks define it */
    td.seed = o->seed;
    if (hnn_net_create(&nd, &net, &err) != HNN_OK ||
        hnn_optimizer_create(&od, hnn_net_param_count(net), &opt, &err) != HNN_OK ||
        hnn_train(net, opt, data, NULL, &td, &res, &err) != HNN_OK) {
        fail("training", err.message);
        hnn_net_destroy(net);
        net = NULL;
    }
    *loss = res.train_loss;
    hnn_optimizer_destroy(opt);
    return net;
}

/* ---- output ------------------------------------------------------------------------------- */

static void print_table(const options *o, const row *rows, size_t steps)
{
    int i;
    printf("unit spring, %s with h = %g for %g periods (%zu steps) from (q, p) = (1, 0)\n",
           hnn_method_name(o->method), STEP, o->periods, steps);
    printf("nets: 2 hidden tanh layers of %zu, Adam lr 1e-3, %llu steps of batches of 256 from "
           "1024 states, seed %llu\n\n",
           o->width, (unsigned long long)o->steps, (unsigned long long)o->seed);
    printf("%-6s %12s %14s %16s %12s %12s\n", "model", "train loss", "max energy err",
           "final energy err", "area ratio", "loop gap");
    for (i = 0; i < 3; i++) {
        char loss[32];
        if (isnan(rows[i].train_loss))
            snprintf(loss, sizeof loss, "-");
        else
            snprintf(loss, sizeof loss, "%.2e", rows[i].train_loss);
        printf("%-6s %12s %13.4f%% %15.4f%% %12.5f %12.2e\n", rows[i].model, loss,
               100 * rows[i].max_rel, 100 * rows[i].final_rel, rows[i].area_ratio,
               rows[i].loop_gap);
    }
    printf("\nenergy err: |E(t) - E(0)| / E(0) of the true energy (q^2 + p^2) / 2 along each "
           "orbit\narea ratio: final / initial area of a %gx%g square of initial states around "
           "(1, 0)\nloop gap: the field's 1-form f_q dp - f_p dq integrated once around the unit "
           "circle\n", PATCH_SIDE, PATCH_SIDE);
}

static void print_json(const row *rows)
{
    int i;
    printf("{\"rows\": [");
    for (i = 0; i < 3; i++) {
        printf("%s\n  {\"model\": \"%s\", \"train_loss\": ", i ? "," : "", rows[i].model);
        if (isnan(rows[i].train_loss))
            printf("null");
        else
            printf("%.6e", rows[i].train_loss);
        printf(", \"max_rel_energy_err\": %.6e, \"final_rel_energy_err\": %.6e, "
               "\"area_ratio\": %.9f, \"loop_gap\": %.6e}", rows[i].max_rel, rows[i].final_rel,
               rows[i].area_ratio, rows[i].loop_gap);
    }
    printf("\n]}\n");
}

static const char *const colors[3] = {"#999999", "#1f77b4", "#d62728"};
static const char *const labels[3] = {"true field", "HNN", "MLP"};

/* The three orbits in a window of phase space. */
static int orbit_plot(const options *o, const row *rows, size_t steps, const char *name,
                      const char *title, double q0, double q1, double p0, double p1)
{
    char path[1024];
    int i;
    plot p;
    snprintf(path, sizeof path, "%s/%s", o->svg_dir, name);
    if (!plot_begin(&p, path, title, "q", "p", q0, q1, p0, p1, 1))
        return fail(path, "cannot write (does the folder exist?)");
    for (i = 0; i < 3; i++)
        plot_line(&p, rows[i].orbit, rows[i].orbit + 1, steps + 1, 2, colors[i], i ? 0.7 : 3.0, 0,
                  labels[i]);
    return plot_end(&p);
}

static int write_svgs(const options *o, const row *rows, size_t steps)
{
    char path[1024], title[256];
    double start[PATCH_POINTS * 2], *t, *e;
    size_t k;
    int i, ok = 1;
    plot p;

    snprintf(title, sizeof title, "Phase space: %g periods of %s from (1, 0)", o->periods,
             hnn_method_name(o->method));
    ok &= orbit_plot(o, rows, steps, "orbits.svg", title, -1.6, 1.6, -1.6, 1.6);
    snprintf(title, sizeof title, "Where the orbits pass (q, p) = (1, 0), magnified");
    ok &= orbit_plot(o, rows, steps, "orbits_zoom.svg", title, 0.8, 1.1, -0.12, 0.12);

    t = malloc((steps + 1) * sizeof *t);
    e = malloc(3 * (steps + 1) * sizeof *e);
    if (t == NULL || e == NULL) {
        free(t), free(e);
        return fail("svg", "out of memory");
    }
    for (k = 0; k <= steps; k++) {
        t[k] = STEP * (double)k;
        for (i = 0; i < 3; i++)
            e[i * (steps + 1) + k] = hnn_system_energy(HNN_SYSTEM_SPRING, rows[i].orbit + 2 * k);
    }
    snprintf(path, sizeof path, "%s/energy.svg", o->svg_dir);
    {
        double lo = 0.5, hi = 0.5;
        for (k = 0; k < 3 * (steps + 1); k++)
            lo = fmin(lo, e[k]), hi = fmax(hi, e[k]);
        if (!plot_begin(&p, path, "True energy (q\xc2\xb2 + p\xc2\xb2)/2 along each orbit", "t",
                        "E", 0.0, t[steps], lo - 0.05 * (hi - lo + 1e-3), hi + 0.05 * (hi - lo + 1e-3), 0)) {
            free(t), free(e);
            return fail(path, "cannot write (does the folder exist?)");
        }
    }
    for (i = 0; i < 3; i++)
        plot_line(&p, t, e + i * (steps + 1), steps + 1, 1, colors[i], 1.5, 0, labels[i]);
    ok &= plot_end(&p);
    free(t), free(e);

    snprintf(path, sizeof path, "%s/patch.svg", o->svg_dir);
    if (!plot_begin(&p, path, "A square of initial states, at the start and at the end", "q",
                    "p", -1.6, 1.6, -1.6, 1.6, 1))
        return fail(path, "cannot write (does the folder exist?)");
    square_patch(start);
    plot_line(&p, start, start + 1, PATCH_POINTS, 2, "#000000", 1.0, 1, "start");
    for (i = 0; i < 3; i++)
        plot_line(&p, rows[i].patch_end, rows[i].patch_end + 1, PATCH_POINTS, 2, colors[i], 1.5, 1,
                  labels[i]);
    ok &= plot_end(&p);
    if (!ok)
        return fail(o->svg_dir, "writing a picture failed");
    if (!o->json)
        printf("pictures: %s/orbits.svg, %s/orbits_zoom.svg, %s/energy.svg, %s/patch.svg\n",
               o->svg_dir, o->svg_dir, o->svg_dir, o->svg_dir);
    return 1;
}

int main(int argc, char **argv)
{
    options o;
    hnn_spring_data_def sd = hnn_spring_data_def_default(); /* 1024 states, |x| <= 1.5 */
    hnn_diagnostics_def dd = hnn_diagnostics_def_default();
    hnn_dataset *data = NULL;
    hnn_diagnostics *diag = NULL;
    hnn_net *hnn = NULL, *mlp = NULL;
    hnn_field_source sources[3];
    row rows[3];
    size_t steps;
    hnn_error err;
    int i, ok = 0;

    if (!parse(argc, argv, &o))
        return usage(argv[0]);
    steps = (size_t)floor(o.periods * 6.283185307179586 / STEP + 0.5);
    memset(rows, 0, sizeof rows);
    rows[0].model = "true", rows[1].model = "hnn", rows[2].model = "mlp";
    rows[0].train_loss = NAN;
    sd.seed = o.seed;
    if (hnn_dataset_spring(&sd, &data, &err) != HNN_OK || hnn_diagnostics_create(&dd, &diag, &err) != HNN_OK) {
        fail("setup", err.message);
        goto done;
    }
    if ((hnn = train(&o, HNN_NET_HAMILTONIAN, data, &rows[1].train_loss)) == NULL ||
        (mlp = train(&o, HNN_NET_FIELD, data, &rows[2].train_loss)) == NULL)
        goto done;
    for (i = 0; i < 3; i++)
        sources[i].struct_size = sizeof sources[i];
    hnn_field_source_system(HNN_SYSTEM_SPRING, &sources[0]);
    hnn_field_source_net(hnn, hnn_net_workspace(hnn), &sources[1]);
    hnn_field_source_net(mlp, hnn_net_workspace(mlp), &sources[2]);
    for (i = 0; i < 3; i++) {
        rows[i].orbit = malloc((steps + 1) * 2 * sizeof(double));
        if (rows[i].orbit == NULL || !measure(&o, &sources[i], i ? (i == 1 ? hnn : mlp) : NULL,
                                              steps, diag, &rows[i]))
            goto done;
    }
    if (o.json)
        print_json(rows);
    else
        print_table(&o, rows, steps);
    if (o.svg_dir != NULL && !write_svgs(&o, rows, steps))
        goto done;
    ok = 1;
done:
    for (i = 0; i < 3; i++)
        free(rows[i].orbit);
    hnn_net_destroy(hnn);
    hnn_net_destroy(mlp);
    hnn_dataset_destroy(data);
    hnn_diagnostics_destroy(diag);
    return ok ? 0 : 1;
}
