/* Gauss-Legendre collocation: the implicit midpoint rule (1 stage, order 2) and the 2- and
 * 3-stage methods (orders 4 and 6). All are symplectic for any Hamiltonian (separable or not)
 * and keep quadratic invariants exactly; their stages are solved by fixed-point iteration. */
#include <math.h>
#include <string.h>

#include "core.h"
#include "integrate_impl.h"

typedef struct tableau {
    size_t stages;
    double a[3][3];
    double b[3];
} tableau;

#define SQ3 1.7320508075688772935274463415059
#define SQ15 3.8729833462074168851792653997824

static const tableau midpoint = {1, {{0.5}}, {1.0}};
static const tableau gauss4 = {
    2, {{0.25, 0.25 - SQ3 / 6.0}, {0.25 + SQ3 / 6.0, 0.25}}, {0.5, 0.5}};
static const tableau gauss6 = {
    3,
    {{5.0 / 36.0, 2.0 / 9.0 - SQ15 / 15.0, 5.0 / 36.0 - SQ15 / 30.0},
     {5.0 / 36.0 + SQ15 / 24.0, 2.0 / 9.0, 5.0 / 36.0 - SQ15 / 24.0},
     {5.0 / 36.0 + SQ15 / 30.0, 2.0 / 9.0 + SQ15 / 15.0, 5.0 / 36.0}},
    {5.0 / 18.0, 4.0 / 9.0, 5.0 / 18.0}};

typedef struct stage_map {
    const tableau *t;
    const double *x;
    double h;
    double *y; /* scratch state */
} stage_map;

/* K -> [f(x + h sum_j a_ij K_j)]_i, stages stored one after another. *terms: the largest
 * |K| or |x| / |h|, for a slope below round-off of that size moves the step's result
 * x + h sum b_i K_i by less than round-off of the state (the field's own terms are out of
 * sight; near an equilibrium both K and the field are small while x is not). */
static hnn_status map_stages(hnn_integrator *in, const hnn_field_source *src, void *ctx,
                             const double *K, double *out, double *terms)
{
    const stage_map *m = (const stage_map *)ctx;
    const size_t dim = in->dim, s = m->t->stages;
    size_t i, j, c;
    hnn_status st;
    for (i = 0; i < s; i++) {
        for (c = 0; c < dim; c++) {
            double acc = 0.0;
            for (j = 0; j < s; j++)
                acc += m->t->a[i][j] * K[j * dim + c];
            m->y[c] = m->x[c] + m->h * acc;
        }
        if ((st = hnni_eval(in, src, m->y, out + i * dim)) != HNN_OK)
            return st;
    }
    *terms = 0.0;
    for (c = 0; c < dim; c++)
        *terms = fmax(*terms, fabs(m->x[c]) / fabs(m->h));
    for (c = 0; c < s * dim; c++)
        *terms = fmax(*terms, fabs(out[c]));
    return HNN_OK;
}

/* Stages K in v[0..2], the iteration's scratch in v[3..5], a stage state in v[6]. */
static hnn_status collocation(hnn_integrator *in, const hnn_field_source *src,
                              const tableau *t, const double *x, double h, double *out)
{
    const size_t dim = in->dim, s = t->stages;
    double *K = in->v[0];
    stage_map m;
    size_t i, c;
    hnn_status st;
    m.t = t;
    m.x = x;
    m.h = h;
    m.y = in->v[6];
    if ((st = hnni_eval(in, src, x, K)) != HNN_OK) /* guess: every stage slope = f(x) */
        return st;
    for (i = 1; i < s; i++)
        memcpy(K + i * dim, K, dim * sizeof *K);
    if ((st = hnni_fixed_point(in, src, map_stages, &m, K, in->v[3], s * dim)) != HNN_OK)
        return st;
    for (c = 0; c < dim; c++) {
        double acc = 0.0;
        for (i = 0; i < s; i++)
            acc += t->b[i] * K[i * dim + c];
        out[c] = x[c] + h * acc;
    }
    return HNN_OK;
}

hnn_status hnni_step_midpoint(hnn_integrator *in, const hnn_field_source *src, const double *x,
                              double h, double *out)
{
    return collocation(in, src, &midpoint, x, h, out);
}

hnn_status hnni_step_gauss4(hnn_integrator *in, const hnn_field_source *src, const double *x,
                            double h, double *out)
{
    return collocation(in, src, &gauss4, x, h, out);
}

hnn_status hnni_step_gauss6(hnn_integrator *in, const hnn_field_source *src, const double *x,
                            double h, double *out)
{
    return collocation(in, src, &gauss6, x, h, out);
}
