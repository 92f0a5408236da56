/* A very small SVG line-plot writer: enough for phase portraits and time series. */
#include "plot.h"

#include <math.h>

#define W 740.0
#define H 480.0
#define LEFT 70.0
#define RIGHT 120.0 /* room for the legend, outside the data */
#define TOP 40.0
#define BOTTOM 55.0

static double px(const plot *p, double x)
{
    return LEFT + (x - p->x0) / (p->x1 - p->x0) * (W - LEFT - RIGHT);
}

static double py(const plot *p, double y)
{
    return H - BOTTOM - (y - p->y0) / (p->y1 - p->y0) * (H - TOP - BOTTOM);
}

/* A tick spacing of 1, 2 or 5 times a power of ten giving about five ticks. */
static double tick_step(double span)
{
    const double raw = span / 5.0, mag = pow(10.0, floor(log10(raw))), r = raw / mag;
    return mag * (r < 1.5 ? 1.0 : r < 3.5 ? 2.0 : r < 7.5 ? 5.0 : 10.0);
}

int plot_begin(plot *p, const char *path, const char *title, const char *xlabel,
               const char *ylabel, double x0, double x1, double y0, double y1, int square)
{
    double step, t;
    p->f = fopen(path, "w");
    if (p->f == NULL)
        return 0;
    if (square) { /* equal scales on both axes, so circles look round */
        const double sx = (x1 - x0) / (W - LEFT - RIGHT), sy = (y1 - y0) / (H - TOP - BOTTOM);
        if (sx > sy) {
            const double mid = 0.5 * (y0 + y1), half = 0.5 * sx * (H - TOP - BOTTOM);
            y0 = mid - half, y1 = mid + half;
        } else {
            const double mid = 0.5 * (x0 + x1), half = 0.5 * sy * (W - LEFT - RIGHT);
            x0 = mid - half, x1 = mid + half;
        }
    }
    p->x0 = x0, p->x1 = x1, p->y0 = y0, p->y1 = y1;
    p->legend_rows = 0;
    fprintf(p->f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" "
                  "viewBox=\"0 0 %g %g\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H, W, H);
    fprintf(p->f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(p->f, "<clipPath id=\"data\"><rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\"/>"
                  "</clipPath>\n", LEFT, TOP, W - LEFT - RIGHT, H - TOP - BOTTOM);
    fprintf(p->f, "<text x=\"%g\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">%s</text>\n",
            W / 2, title);
    fprintf(p->f, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" "
                  "stroke=\"#444\"/>\n", LEFT, TOP, W - LEFT - RIGHT, H - TOP - BOTTOM);
    step = tick_step(x1 - x0);
    for (t = ceil(x0 / step) * step; t <= x1 + 1e-9 * step; t += step)
        fprintf(p->f, "<line x1=\"%.1f\" y1=\"%g\" x2=\"%.1f\" y2=\"%g\" stroke=\"#ddd\"/>"
                      "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">%g</text>\n",
                px(p, t), TOP, px(p, t), H - BOTTOM, px(p, t), H - BOTTOM + 16,
                fabs(t) < 1e-12 * step ? 0.0 : t);
    step = tick_step(y1 - y0);
    for (t = ceil(y0 / step) * step; t <= y1 + 1e-9 * step; t += step)
        fprintf(p->f, "<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                      "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
                LEFT, py(p, t), W - RIGHT, py(p, t), LEFT - 6, py(p, t) + 4,
                fabs(t) < 1e-12 * step ? 0.0 : t);
    fprintf(p->f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">%s</text>\n",
            LEFT + (W - LEFT - RIGHT) / 2, H - 14, xlabel);
    fprintf(p->f, "<text x=\"16\" y=\"%g\" text-anchor=\"middle\" transform=\"rotate(-90 16 %g)\">"
                  "%s</text>\n", TOP + (H - TOP - BOTTOM) / 2, TOP + (H - TOP - BOTTOM) / 2, ylabel);
    return 1;
}

void plot_line(plot *p, const double *xs, const double *ys, size_t count, size_t stride,
               const char *color, double width, int closed, const char *label)
{
    size_t k;
    fprintf(p->f, "<%s clip-path=\"url(#data)\" fill=\"none\" stroke=\"%s\" stroke-width=\"%g\" points=\"",
            closed ? "polygon" : "polyline", color, width);
    for (k = 0; k < count; k++)
        fprintf(p->f, "%.2f,%.2f ", px(p, xs[k * stride]), py(p, ys[k * stride]));
    fprintf(p->f, "\"/>\n");
    if (label != NULL) {
        const double y = TOP + 10 + 18 * p->legend_rows++;
        fprintf(p->f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"%s\" "
                      "stroke-width=\"3\"/><text x=\"%g\" y=\"%g\">%s</text>\n",
                W - RIGHT + 10, y, W - RIGHT + 35, y, color, W - RIGHT + 42, y + 4, label);
    }
}

int plot_end(plot *p)
{
    int ok;
    fprintf(p->f, "</svg>\n");
    ok = !ferror(p->f);
    return fclose(p->f) == 0 && ok;
}
