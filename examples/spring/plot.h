/* A very small SVG line-plot writer for the examples: axes with ticks, polylines, a legend.
 * Not part of the library. */
#ifndef HNN_EXAMPLE_PLOT_H
#define HNN_EXAMPLE_PLOT_H

#include <stddef.h>
#include <stdio.h>

typedef struct plot {
    FILE *f;
    double x0, x1, y0, y1; /* data ranges */
    int legend_rows;
} plot;

/* Opens path and writes the frame, axes, ticks and labels. Returns 0 if it cannot write. */
int plot_begin(plot *p, const char *path, const char *title, const char *xlabel,
               const char *ylabel, double x0, double x1, double y0, double y1, int square);

/* A polyline through (xs[k * stride], ys[k * stride]), k < count; `closed` joins the ends. */
void plot_line(plot *p, const double *xs, const double *ys, size_t count, size_t stride,
               const char *color, double width, int closed, const char *label);

/* Finishes the file; returns 0 if any write failed. */
int plot_end(plot *p);

#endif
