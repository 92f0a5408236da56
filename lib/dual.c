/* The dual-number rules for tanh: forward, d tanh(z) = (1 - tanh(z)^2) dz on every tangent;
 * and their reverse, which training needs because its loss depends on the tangents. */
#include "dual.h"

#include <math.h>

void hnni_dual_tanh(size_t rows, size_t bc, size_t ntan, const double *bias, const double *Z,
                    double *A, size_t ld)
{
    size_t r, s, t;
    for (r = 0; r < rows; r++) {
        const double *zrow = Z + r * ld;
        double *arow = A + r * ld;
        const double b = bias[r];
        for (s = 0; s < bc; s++)
            arow[s] = tanh(zrow[s] + b);
        for (t = 1; t <= ntan; t++)
            for (s = 0; s < bc; s++)
                arow[t * bc + s] = (1.0 - arow[s] * arow[s]) * zrow[t * bc + s];
    }
}

void hnni_dual_tanh_adjoint(size_t rows, size_t bc, size_t ntan, const double *A,
                            const double *Z, double *BAR, size_t ld)
{
    size_t r, s, t;
    for (r = 0; r < rows; r++) {
        const double *arow = A + r * ld, *zrow = Z + r * ld;
        double *bar = BAR + r * ld;
        for (s = 0; s < bc; s++) {
            const double a = arow[s], slope = 1.0 - a * a;
            double slope_bar = 0.0;
            for (t = 1; t <= ntan; t++) {
                slope_bar += bar[t * bc + s] * zrow[t * bc + s];
                bar[t * bc + s] *= slope;
            }
            bar[s] = slope * (bar[s] - 2.0 * a * slope_bar);
        }
    }
}
