/* integrators: every method on the seed's spring and on Greydanus' pendulum. Prints each
 * method's nominal order, its measured order of convergence, the largest relative energy
 * error over a long pendulum run, and field evaluations per step.
 *
 *   integrators [--json] [--steps N]     (N: long-run steps, default 100000, h = 0.1)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hnn/hnn.h>

#define T_END 2.0

/* Step counts for the two resolutions of the order measurement: coarse enough that the
 * error is far above round-off, fine enough to be in the asymptotic regime. */
static size_t coarse_steps(int order)
{
    return order >= 6 ? 10 : order >= 4 ? 20 : order >= 2 ? 100 : 400;
}

static int make(hnn_method m, hnn_integrator **out)
{
    hnn_integrator_def def = hnn_integrator_def_default();
    hnn_error err;
    def.method = m;
    def.adaptive = 0; /* orders are measured with DOPRI5's step control off */
    if (hnn_integrator_create(&def, out, &err) != HNN_OK) {
        fprintf(stderr, "integrators: %s\n", err.message);
        return 0;
    }
    return 1;
}

/* Integrates from x0 to T_END in `steps` equal steps; the final state into x. */
static int solve(hnn_method m, const hnn_field_source *src, const double *x0, size_t steps,
                 double *x)
{
    hnn_integrator *in;
    hnn_status st;
    if (!make(m, &in))
        return 0;
    x[0] = x0[0];
    x[1] = x0[1];
    st = hnn_integrator_rollout(in, src, x, T_END / (double)steps, steps, NULL, NULL, NULL, NULL);
    if (st != HNN_OK)
        fprintf(stderr, "integrators: %s: %s\n", hnn_method_name(m), hnn_integrator_last_error(in));
    hnn_integrator_destroy(in);
    return st == HNN_OK;
}

static double distance(const double *a, const double *b)
{
    return fmax(fabs(a[0] - b[0]), fabs(a[1] - b[1]));
}

/* Measured order on one system against a reference final state. */
static double measured_order(hnn_method m, const hnn_field_source *src, const double *x0,
                             const double *reference)
{
    const size_t n1 = coarse_steps(hnn_method_order(m));
    double a[2], b[2];
    if (!solve(m, src, x0, n1, a) || !solve(m, src, x0, 2 * n1, b))
        return NAN;
    return log2(distance(a, reference) / distance(b, reference));
}

typedef struct energy_run {
    hnn_system sys;
    double h0, max_rel_err;
} energy_run;

static int track_energy(void *user, size_t step, double t, const double *x)
{
    energy_run *r = (energy_run *)user;
    double e = fabs(hnn_system_energy(r->sys, x) - r->h0) / fabs(r->h0);
    (void)step;
    (void)t;
    if (e > r->max_rel_err)
        r->max_rel_err = e;
    return 0;
}

int main(int argc, char **argv)
{
    const double spring_x0[2] = {1.0, 0.0}, pendulum_x0[2] = {1.0, 0.0};
    size_t long_steps = 100000;
    hnn_field_source spring = {.struct_size = sizeof spring};
    hnn_field_source pendulum = {.struct_size = sizeof pendulum};
    double spring_exact[2], pendulum_ref[2];
    int json = 0, i, first = 1;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc)
            long_steps = strtoull(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: %s [--json] [--steps N]\n", argv[0]);
            return 2;
        }
    }
    hnn_field_source_system(HNN_SYSTEM_SPRING, &spring);
    hnn_field_source_system(HNN_SYSTEM_PENDULUM, &pendulum);
    /* the spring's exact flow is a rotation; the pendulum's reference is Gauss6 at h = 1e-3 */
    spring_exact[0] = cos(T_END);
    spring_exact[1] = -sin(T_END);
    if (!solve(HNN_METHOD_GAUSS6, &pendulum, pendulum_x0, 2000, pendulum_ref))
        return 1;

    if (json)
        printf("{\"methods\": [");
    else
        printf("%-18s %7s %14s %16s %20s %10s\n", "method", "nominal", "order (spring)",
               "order (pendulum)", "max rel energy err", "evals/step");
    for (i = 0; i < HNN_METHOD_COUNT; i++) {
        const hnn_method m = (hnn_method)i;
        const double o_spring = measured_order(m, &spring, spring_x0, spring_exact);
        const double o_pend = measured_order(m, &pendulum, pendulum_x0, pendulum_ref);
        energy_run run = {HNN_SYSTEM_PENDULUM, 0.0, 0.0};
        double x[2] = {pendulum_x0[0], pendulum_x0[1]}, evals;
        hnn_integrator *in;
        if (!make(m, &in))
            return 1;
        run.h0 = hnn_system_energy(HNN_SYSTEM_PENDULUM, x);
        if (hnn_integrator_rollout(in, &pendulum, x, 0.1, long_steps, NULL, track_energy, &run,
                                   NULL) != HNN_OK) {
            fprintf(stderr, "integrators: %s: %s\n", hnn_method_name(m), hnn_integrator_last_error(in));
            return 1;
        }
        evals = (double)hnn_integrator_field_evals(in) / (double)long_steps;
        hnn_integrator_destroy(in);
        if (json)
            printf("%s\n  {\"name\": \"%s\", \"nominal_order\": %d, \"measured_order\": %.4f, "
                   "\"measured_order_pendulum\": %.4f, \"max_rel_energy_err\": %.6e, "
                   "\"evals_per_step\": %.3f}", first ? "" : ",", hnn_method_name(m),
                   hnn_method_order(m), o_spring, o_pend, run.max_rel_err, evals);
        else
            printf("%-18s %7d %14.3f %16.3f %20.3e %10.2f\n", hnn_method_name(m),
                   hnn_method_order(m), o_spring, o_pend, run.max_rel_err, evals);
        first = 0;
    }
    if (json)
        printf("\n]}\n");
    else
        printf("order: log2 of the final-state error ratio from (q, p) = (1, 0) to t = %g with "
               "N and 2N steps (N = 400, 100, 20, 10 for orders 1, 2, 4-5, 6)\n"
               "energy: pendulum from (1, 0), h = 0.1, %zu steps\n", T_END, long_steps);
    return 0;
}
