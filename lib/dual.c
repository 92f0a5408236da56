/* The dual-number rules of an activation: forward, d sigma(z) = sigma'(z) dz on every
 * tangent; and their reverse, which training needs because its loss depends on the tangents.
 * tanh has its own vectorised loops, taking its derivatives from its values; every other
 * activation shares one pair of loops over activation.c's values and derivatives. */
#include "dual.h"

#include "activation.h"
#include "dispatch.h"
#include "parallel.h"
#include "vmath.h"

enum { SPAN = 64 }; /* states per pass of the loops for the other activations */

HNNI_CLONES static void dual_tanh(size_t rows, size_t bc, size_t ntan, const double *bias,
                                const double *Z, double *A, size_t ld)
{
    enum { GATHER = 256 };
    double values[GATHER];
    size_t r, s, t;
    if (bc == 1) { /* one state, the game-loop case: straight loops, no per-row set-up */
        size_t r0;
        for (r0 = 0; r0 < rows; r0 += GATHER) {
            const size_t nr = rows - r0 < GATHER ? rows - r0 : GATHER;
            for (r = 0; r < nr; r++)
                values[r] = Z[(r0 + r) * ld] + bias[r0 + r];
            hnni_tanh_array(values, nr);
            for (r = 0; r < nr; r++) {
                const double a = values[r], slope = 1.0 - a * a;
                double *arow = A + (r0 + r) * ld;
                const double *zrow = Z + (r0 + r) * ld;
                arow[0] = a;
                for (t = 1; t <= ntan; t++)
                    arow[t] = slope * zrow[t];
            }
        }
        return;
    }
    if (bc < 16) {
        /* Few states: a row holds too few values for tanh's vector loop, so gather the values
         * of many rows, take tanh once, and scatter them back (the same bits either way). */
        size_t r0, per = GATHER / bc;
        for (r0 = 0; r0 < rows; r0 += per) {
            const size_t nr = rows - r0 < per ? rows - r0 : per;
            for (r = 0; r < nr; r++)
                for (s = 0; s < bc; s++)
                    values[r * bc + s] = Z[(r0 + r) * ld + s] + bias[r0 + r];
            hnni_tanh_array(values, nr * bc);
            for (r = 0; r < nr; r++)
                for (s = 0; s < bc; s++)
                    A[(r0 + r) * ld + s] = values[r * bc + s];
        }
    } else {
        for (r = 0; r < rows; r++) {
            double *arow = A + r * ld;
            const double *zrow = Z + r * ld;
            for (s = 0; s < bc; s++)
                arow[s] = zrow[s] + bias[r];
            hnni_tanh_array(arow, bc);
        }
    }
    if (bc < 16) { /* few states: loops over so few columns only cost their set-up */
        for (r = 0; r < rows; r++) {
            const double *zrow = Z + r * ld;
            double *arow = A + r * ld;
            for (s = 0; s < bc; s++) {
                const double slope = 1.0 - arow[s] * arow[s];
                for (t = 1; t <= ntan; t++)
                    arow[t * bc + s] = slope * zrow[t * bc + s];
            }
        }
        return;
    }
    for (r = 0; r < rows; r++) {
        const double *zrow = Z + r * ld;
        double *arow = A + r * ld;
        for (t = 1; t <= ntan; t++)
            for (s = 0; s < bc; s++)
                arow[t * bc + s] = (1.0 - arow[s] * arow[s]) * zrow[t * bc + s];
    }
}

HNNI_CLONES static void tanh_adjoint(size_t rows, size_t bc, size_t ntan, const double *A,
                                     const double *Z, double *BAR, size_t ld)
{
    /* The rule per state s, vectorised across states: the same operations in the same order
     * as one state at a time. */
    enum { BLOCK = 64 };
    double slope[BLOCK], slope_bar[BLOCK];
    size_t r, s0, s, t;
    for (r = 0; r < rows; r++) {
        const double *arow = A + r * ld, *zrow = Z + r * ld;
        double *bar = BAR + r * ld;
        for (s0 = 0; s0 < bc; s0 += BLOCK) {
            const size_t nb = bc - s0 < BLOCK ? bc - s0 : BLOCK;
            for (s = 0; s < nb; s++) {
                slope[s] = 1.0 - arow[s0 + s] * arow[s0 + s];
                slope_bar[s] = 0.0;
            }
            for (t = 1; t <= ntan; t++) {
                double *restrict bt = bar + t * bc + s0;
                const double *restrict zt = zrow + t * bc + s0;
                for (s = 0; s < nb; s++) {
                    slope_bar[s] += bt[s] * zt[s];
                    bt[s] *= slope[s];
                }
            }
            for (s = 0; s < nb; s++)
                bar[s0 + s] = slope[s] * (bar[s0 + s] - 2.0 * arow[s0 + s] * slope_bar[s]);
        }
    }
}

/* sigma and sigma' (and sigma'' with c) of z + bias for nb states of a row's value columns. */
static void row_derivatives(hnn_activation act, const double *zrow, double bias, size_t nb,
                            double *a, double *s, double *c)
{
    size_t i;
    for (i = 0; i < nb; i++)
        a[i] = zrow[i] + bias;
    hnni_activation_eval(act, a, nb, a, s, c);
}

static void dual_other(hnn_activation act, size_t rows, size_t bc, size_t ntan,
                       const double *bias, const double *Z, double *A, size_t ld)
{
    double a[SPAN], slope[SPAN];
    size_t r, s0, s, t;
    if (bc < SPAN / 4) { /* few states: gather several rows' values for one call */
        const size_t per = SPAN / bc;
        size_t r0;
        for (r0 = 0; r0 < rows; r0 += per) {
            const size_t nr = rows - r0 < per ? rows - r0 : per;
            for (r = 0; r < nr; r++)
                for (s = 0; s < bc; s++)
                    a[r * bc + s] = Z[(r0 + r) * ld + s] + bias[r0 + r];
            hnni_activation_eval(act, a, nr * bc, a, slope, NULL);
            for (r = 0; r < nr; r++) {
                const double *zrow = Z + (r0 + r) * ld;
                double *arow = A + (r0 + r) * ld;
                for (t = 1; t <= ntan; t++)
                    for (s = 0; s < bc; s++)
                        arow[t * bc + s] = slope[r * bc + s] * zrow[t * bc + s];
                for (s = 0; s < bc; s++)
                    arow[s] = a[r * bc + s];
            }
        }
        return;
    }
    for (r = 0; r < rows; r++) {
        const double *zrow = Z + r * ld;
        double *arow = A + r * ld;
        for (s0 = 0; s0 < bc; s0 += SPAN) {
            const size_t nb = bc - s0 < SPAN ? bc - s0 : SPAN;
            row_derivatives(act, zrow + s0, bias[r], nb, a, slope, NULL);
            for (t = 1; t <= ntan; t++)
                for (s = 0; s < nb; s++)
                    arow[t * bc + s0 + s] = slope[s] * zrow[t * bc + s0 + s];
            for (s = 0; s < nb; s++)
                arow[s0 + s] = a[s];
        }
    }
}

static void other_adjoint(hnn_activation act, size_t rows, size_t bc, size_t ntan,
                          const double *bias, const double *Z, double *BAR, size_t ld)
{
    double a[SPAN], slope[SPAN], curve[SPAN], slope_bar[SPAN];
    size_t r, s0, s, t;
    for (r = 0; r < rows; r++) {
        const double *zrow = Z + r * ld;
        double *bar = BAR + r * ld;
        for (s0 = 0; s0 < bc; s0 += SPAN) {
            const size_t nb = bc - s0 < SPAN ? bc - s0 : SPAN;
            row_derivatives(act, zrow + s0, bias[r], nb, a, slope, curve);
            for (s = 0; s < nb; s++)
                slope_bar[s] = 0.0;
            for (t = 1; t <= ntan; t++) {
                double *bt = bar + t * bc + s0;
                const double *zt = zrow + t * bc + s0;
                for (s = 0; s < nb; s++) {
                    slope_bar[s] += bt[s] * zt[s];
                    bt[s] *= slope[s];
                }
            }
            for (s = 0; s < nb; s++)
                bar[s0 + s] = slope[s] * bar[s0 + s] + curve[s] * slope_bar[s];
        }
    }
}

/* Both rules act on each row by itself: split the rows across threads (parallel.h). A row
 * is worth the activation's cost per value plus a few multiply-adds per tangent. */
typedef struct rows_job {
    hnn_activation act;
    size_t bc, ntan, ld;
    const double *bias, *A, *Z;
    double *out;
} rows_job;

static void dual_rows(void *ctx, size_t r0, size_t r1)
{
    const rows_job *j = (const rows_job *)ctx;
    if (j->act == HNN_ACTIVATION_TANH)
        dual_tanh(r1 - r0, j->bc, j->ntan, j->bias + r0, j->Z + r0 * j->ld,
                  j->out + r0 * j->ld, j->ld);
    else
        dual_other(j->act, r1 - r0, j->bc, j->ntan, j->bias + r0, j->Z + r0 * j->ld,
                   j->out + r0 * j->ld, j->ld);
}

static void adjoint_rows(void *ctx, size_t r0, size_t r1)
{
    const rows_job *j = (const rows_job *)ctx;
    if (j->act == HNN_ACTIVATION_TANH)
        tanh_adjoint(r1 - r0, j->bc, j->ntan, j->A + r0 * j->ld, j->Z + r0 * j->ld,
                     j->out + r0 * j->ld, j->ld);
    else
        other_adjoint(j->act, r1 - r0, j->bc, j->ntan, j->bias + r0, j->Z + r0 * j->ld,
                      j->out + r0 * j->ld, j->ld);
}

static double rows_work(hnn_activation act, size_t rows, size_t bc, size_t ntan)
{
    return (double)rows * (double)bc * (hnni_activation_cost(act) + 4.0 * (double)ntan);
}

void hnni_dual_activation(hnn_activation act, size_t rows, size_t bc, size_t ntan,
                          const double *bias, const double *Z, double *A, size_t ld)
{
    rows_job j;
    j.act = act, j.bc = bc, j.ntan = ntan, j.ld = ld, j.bias = bias, j.A = NULL, j.Z = Z;
    j.out = A;
    hnni_for_rows(rows, 1, rows_work(act, rows, bc, ntan), dual_rows, &j);
}

void hnni_dual_activation_adjoint(hnn_activation act, size_t rows, size_t bc, size_t ntan,
                                  const double *bias, const double *A, const double *Z,
                                  double *BAR, size_t ld)
{
    rows_job j;
    j.act = act, j.bc = bc, j.ntan = ntan, j.ld = ld, j.bias = bias, j.A = A, j.Z = Z;
    j.out = BAR;
    hnni_for_rows(rows, 1, rows_work(act, rows, bc, ntan), adjoint_rows, &j);
}
