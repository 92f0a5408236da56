/* The CSV trajectory loader: header trajectory,t,q1..qn,p1..pn, then one observation per
 * row. Rows with one label form one trajectory; a label that comes back after another one
 * is refused (a trajectory's rows must be contiguous), found by sorting the labels once at
 * the end. Strict as the dataset loader (csv_reader.c), and every message names the line. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "core.h"
#include "csv_reader.h"
#include "hnn/net.h"
#include "trajectory_impl.h"

/* Where a trajectory starts: its label, the file line and the observation index. */
typedef struct run {
    double label;
    size_t line, first;
} run;

typedef struct traj_job {
    const char *path;
    hnni_csv_reader r;
    hnni_csv_growing data; /* rows [label t q p] */
    run *runs;
    size_t nruns, runs_cap;
    char **cells;
    double *row;
    size_t width, n;
} traj_job;

static hnn_status line_failure(traj_job *job, hnn_status st, hnn_error *err)
{
    return hnni_fail(err, st, "%s:%zu: %s", job->path, job->r.number + (st != HNN_ERR_PARSE),
                     st == HNN_ERR_PARSE ? "a NUL byte: not a text file" : hnn_status_string(st));
}

/* Header cell k of 2 + 2n must be trajectory, t, q<i> or p<i>. */
static int header_cell_ok(const char *cell, size_t k, size_t n)
{
    char want[32];
    if (k < 2)
        return strcmp(cell, k == 0 ? "trajectory" : "t") == 0;
    snprintf(want, sizeof want, "%s%zu", k - 2 < n ? "q" : "p", (k - 2) % n + 1);
    return strcmp(cell, want) == 0;
}

static hnn_status read_header(traj_job *job, hnn_error *err)
{
    hnn_status st = HNN_OK;
    size_t k;
    int got;
    while ((got = hnni_csv_read_line(&job->r, &st)) == 1 && hnni_csv_is_blank(job->r.line))
        ;
    if (got < 0)
        return line_failure(job, st, err);
    if (got == 0)
        return hnni_fail(err, HNN_ERR_PARSE, "%s: empty file, expected a header row "
                         "trajectory,t,q1..qn,p1..pn", job->path);
    job->width = hnni_csv_count_cells(job->r.line);
    if (job->width < 4 || job->width % 2 != 0)
        return hnni_fail(err, HNN_ERR_PARSE, "%s:%zu: the header has %zu columns; expected "
                         "2 + 2n (trajectory, t, q1..qn, p1..pn)", job->path, job->r.number,
                         job->width);
    job->n = (job->width - 2) / 2;
    if (job->n > HNN_MAX_DOF)
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "%s:%zu: the header has n = %zu degrees of "
                         "freedom, over the cap %u", job->path, job->r.number, job->n,
                         HNN_MAX_DOF);
    job->cells = (char **)hnni_alloc(job->r.alloc, job->width * sizeof *job->cells);
    job->row = (double *)hnni_alloc(job->r.alloc, job->width * sizeof *job->row);
    if (job->cells == NULL || job->row == NULL)
        return hnni_fail(err, HNN_ERR_NO_MEMORY, "%s:%zu: out of memory", job->path,
                         job->r.number);
    hnni_csv_split_cells(job->r.line, job->cells, job->width);
    for (k = 0; k < job->width; k++)
        if (!header_cell_ok(job->cells[k], k, job->n))
            return hnni_fail(err, HNN_ERR_PARSE, "%s:%zu: header column %zu is '%.40s'; "
                             "expected trajectory,t,q1..q%zu,p1..p%zu", job->path,
                             job->r.number, k + 1, job->cells[k], job->n, job->n);
    return HNN_OK;
}

/* Records that a trajectory starts at this row. */
static hnn_status push_run(traj_job *job, double label, size_t first)
{
    if (job->nruns == job->runs_cap) {
        const size_t cap = job->runs_cap ? 2 * job->runs_cap : 64;
        size_t bytes;
        run *p;
        if (!hnni_mul_size(cap, sizeof(run), &bytes) || bytes > ((size_t)1 << 34))
            return HNN_ERR_TOO_LARGE;
        p = (run *)job->r.alloc->fn(job->r.alloc->user, job->runs,
                                    job->runs_cap * sizeof(run), bytes);
        if (p == NULL)
            return HNN_ERR_NO_MEMORY;
        job->runs = p;
        job->runs_cap = cap;
    }
    job->runs[job->nruns].label = label;
    job->runs[job->nruns].line = job->r.number;
    job->runs[job->nruns].first = first;
    job->nruns++;
    return HNN_OK;
}

/* A label is an optional sign and 1 to 15 digits: every such number is exact in a double
 * (below 2^53), so two labels are one trajectory exactly when they are equal numbers. */
static int label_ok(const char *cell)
{
    size_t digits = 0;
    if (*cell == '+' || *cell == '-')
        cell++;
    while (cell[digits] >= '0' && cell[digits] <= '9')
        digits++;
    return digits >= 1 && digits <= 15 && cell[digits] == '\0';
}

/* Parses one data row into job->row and appends it, starting a trajectory when its label
 * differs from the row before, and checking that time increases within one. */
static hnn_status take_row(traj_job *job, hnn_error *err)
{
    const size_t cells = hnni_csv_split_cells(job->r.line, job->cells, job->width);
    const size_t rows = job->data.len / job->width;
    const double *prev = rows > 0 ? job->data.v + (rows - 1) * job->width : NULL;
    hnn_status st;
    size_t k;
    if (cells != job->width)
        return hnni_fail(err, HNN_ERR_PARSE, "%s:%zu: %zu columns, expected %zu", job->path,
                         job->r.number, cells, job->width);
    for (k = 0; k < job->width; k++)
        if (!hnni_csv_parse_number(job->cells[k], &job->row[k]))
            return hnni_fail(err, HNN_ERR_PARSE, "%s:%zu: column %zu ('%.40s') is not a "
                             "finite number", job->path, job->r.number, k + 1, job->cells[k]);
    if (!label_ok(job->cells[0]))
        return hnni_fail(err, HNN_ERR_PARSE, "%s:%zu: the trajectory label '%.40s' is not a "
                         "whole number of at most 15 digits", job->path, job->r.number,
                         job->cells[0]);
    job->row[0] += 0.0; /* -0 is the label 0 */
    if (prev == NULL || prev[0] != job->row[0]) {
        if ((st = push_run(job, job->row[0], rows)) != HNN_OK)
            return hnni_fail(err, st, "%s:%zu: %s", job->path, job->r.number,
                             hnn_status_string(st));
    } else if (!(job->row[1] > prev[1])) {
        return hnni_fail(err, HNN_ERR_PARSE, "%s:%zu: time %.17g is not after the row before "
                         "(%.17g) in trajectory %.17g", job->path, job->r.number, job->row[1],
                         prev[1], job->row[0]);
    } else {
        const double first = job->data.v[job->runs[job->nruns - 1].first * job->width + 1];
        if (!isfinite(job->row[1] - first))
            return hnni_fail(err, HNN_ERR_PARSE, "%s:%zu: time %.17g is too far from the "
                             "trajectory's first (%.17g): the span overflows", job->path,
                             job->r.number, job->row[1], first);
    }
    if ((st = hnni_csv_push_row(job->r.alloc, &job->data, job->row, job->width)) != HNN_OK)
        return hnni_fail(err, st, "%s:%zu: %s", job->path, job->r.number, hnn_status_string(st));
    return HNN_OK;
}

static hnn_status read_rows(traj_job *job, hnn_error *err)
{
    hnn_status st = HNN_OK;
    int got;
    while ((got = hnni_csv_read_line(&job->r, &st)) == 1) {
        if (hnni_csv_is_blank(job->r.line))
            continue;
        if ((st = take_row(job, err)) != HNN_OK)
            return st;
    }
    if (got < 0)
        return line_failure(job, st, err);
    if (job->data.len == 0)
        return hnni_fail(err, HNN_ERR_PARSE, "%s: no data rows after the header", job->path);
    return HNN_OK;
}

static int by_label_then_line(const void *a, const void *b)
{
    const run *x = (const run *)a, *y = (const run *)b;
    if (x->label != y->label)
        return x->label < y->label ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* Refuses a label that starts two runs (its rows are not contiguous), naming both lines.
 * Sorts a copy: the runs keep file order for building the set. */
static hnn_status check_contiguous(traj_job *job, hnn_error *err)
{
    const size_t bytes = job->nruns * sizeof(run);
    run *sorted = (run *)hnni_alloc(job->r.alloc, bytes);
    hnn_status st = HNN_OK;
    size_t i;
    if (sorted == NULL)
        return hnni_fail(err, HNN_ERR_NO_MEMORY, "%s: out of memory", job->path);
    memcpy(sorted, job->runs, bytes);
    qsort(sorted, job->nruns, sizeof(run), by_label_then_line);
    for (i = 1; i < job->nruns && st == HNN_OK; i++)
        if (sorted[i].label == sorted[i - 1].label)
            st = hnni_fail(err, HNN_ERR_PARSE, "%s:%zu: trajectory %.17g starts again (its rows "
                           "began at line %zu and another trajectory came between): a "
                           "trajectory's rows must be contiguous", job->path, sorted[i].line,
                           sorted[i].label, sorted[i - 1].line);
    hnni_free(job->r.alloc, sorted, bytes);
    return st;
}

static hnn_status build_set(traj_job *job, hnn_trajectories **out, hnn_error *err)
{
    const size_t total = job->data.len / job->width, dim = 2 * job->n;
    size_t i, k;
    hnn_status st = hnni_trajectories_new(job->r.alloc, job->n, job->nruns, total, out, err);
    if (st != HNN_OK)
        return st;
    for (i = 0; i < job->nruns; i++)
        (*out)->start[i + 1] = i + 1 < job->nruns ? job->runs[i + 1].first : total;
    for (k = 0; k < total; k++) {
        const double *row = job->data.v + k * job->width;
        (*out)->t[k] = row[1];
        memcpy((*out)->x + k * dim, row + 2, dim * sizeof(double));
    }
    return HNN_OK;
}

hnn_status hnn_trajectories_load_csv(const char *path, const hnn_allocator *alloc,
                                     hnn_trajectories **out, hnn_error *err)
{
    hnn_allocator a = hnni_allocator_resolve(alloc ? *alloc : (hnn_allocator){NULL, NULL});
    traj_job job;
    hnn_status st;
    if (out != NULL)
        *out = NULL;
    if (path == NULL || out == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_trajectories_load_csv: path and out must not "
                         "be NULL");
    memset(&job, 0, sizeof job);
    job.path = path;
    if ((st = hnni_csv_open(&job.r, path, &a, err)) != HNN_OK)
        return st;
    st = read_header(&job, err);
    if (st == HNN_OK)
        st = read_rows(&job, err);
    if (st == HNN_OK)
        st = check_contiguous(&job, err);
    if (st == HNN_OK)
        st = build_set(&job, out, err);
    hnni_csv_close(&job.r);
    hnni_free(&a, job.cells, job.width * sizeof *job.cells);
    hnni_free(&a, job.row, job.width * sizeof *job.row);
    hnni_free(&a, job.data.v, job.data.cap * sizeof(double));
    hnni_free(&a, job.runs, job.runs_cap * sizeof(run));
    return st == HNN_OK ? hnni_ok(err) : st;
}
