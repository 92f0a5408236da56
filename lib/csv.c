/* The CSV dataset loader. Reads line by line with a growing buffer (lines up to 1 GiB),
 * parses strictly (every cell a finite decimal number whatever the C locale, every row the
 * header's width, no NUL bytes), and on any failure frees everything and reports the file
 * and line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "core.h"
#include "csv_reader.h"
#include "dataset.h"
#include "hnn/net.h"

/* Header cell k of 4n must be q<i>, p<i>, dq<i> or dp<i> for the right i. */
static int header_cell_ok(const char *cell, size_t k, size_t n)
{
    static const char *const prefixes[4] = {"q", "p", "dq", "dp"};
    char want[32];
    snprintf(want, sizeof want, "%s%zu", prefixes[k / n], k % n + 1);
    return strcmp(cell, want) == 0;
}

typedef struct csv_job {
    const char *path;
    hnni_csv_reader r;
    hnni_csv_growing data;
    char **cells;
    double *row;
    size_t width, n;
} csv_job;

static hnn_status read_header(csv_job *job, hnn_error *err)
{
    hnn_status st = HNN_OK;
    size_t k;
    int got;
    while ((got = hnni_csv_read_line(&job->r, &st)) == 1 && hnni_csv_is_blank(job->r.line))
        ;
    if (got < 0)
        return hnni_fail(err, st, "%s:%zu: %s", job->path, job->r.number + (st != HNN_ERR_PARSE),
                         st == HNN_ERR_PARSE ? "a NUL byte: not a text file" : hnn_status_string(st));
    if (got == 0)
        return hnni_fail(err, HNN_ERR_PARSE, "%s: empty file, expected a header row "
                         "q1..qn,p1..pn,dq1..dqn,dp1..dpn", job->path);
    job->width = hnni_csv_count_cells(job->r.line);
    if (job->width % 4 != 0)
        return hnni_fail(err, HNN_ERR_PARSE, "%s:%zu: the header has %zu columns; expected 4n "
                         "(q1..qn, p1..pn, dq1..dqn, dp1..dpn)", job->path, job->r.number, job->width);
    if (job->width / 4 > HNN_MAX_DOF)
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "%s:%zu: the header has n = %zu degrees of "
                         "freedom, over the cap %u", job->path, job->r.number, job->width / 4,
                         HNN_MAX_DOF);
    job->n = job->width / 4;
    job->cells = (char **)hnni_alloc(job->r.alloc, job->width * sizeof *job->cells);
    job->row = (double *)hnni_alloc(job->r.alloc, job->width * sizeof *job->row);
    if (job->cells == NULL || job->row == NULL)
        return hnni_fail(err, HNN_ERR_NO_MEMORY, "%s:%zu: out of memory", job->path, job->r.number);
    hnni_csv_split_cells(job->r.line, job->cells, job->width);
    for (k = 0; k < job->width; k++) {
        if (header_cell_ok(job->cells[k], k, job->n))
            continue;
        if (job->n == 1)
            return hnni_fail(err, HNN_ERR_PARSE, "%s:%zu: header column %zu is '%.40s'; expected "
                             "q1, p1, dq1, dp1", job->path, job->r.number, k + 1, job->cells[k]);
        return hnni_fail(err, HNN_ERR_PARSE, "%s:%zu: header column %zu is '%.40s'; expected "
                         "q1..q%zu, p1..p%zu, dq1..dq%zu, dp1..dp%zu", job->path,
                         job->r.number, k + 1, job->cells[k], job->n, job->n, job->n, job->n);
    }
    return HNN_OK;
}

static hnn_status read_rows(csv_job *job, hnn_error *err)
{
    hnn_status st = HNN_OK;
    int got;
    while ((got = hnni_csv_read_line(&job->r, &st)) == 1) {
        size_t k, cells;
        if (hnni_csv_is_blank(job->r.line))
            continue;
        cells = hnni_csv_split_cells(job->r.line, job->cells, job->width);
        if (cells != job->width)
            return hnni_fail(err, HNN_ERR_PARSE, "%s:%zu: %zu columns, expected %zu", job->path,
                             job->r.number, cells, job->width);
        for (k = 0; k < job->width; k++) {
            if (!hnni_csv_parse_number(job->cells[k], &job->row[k]))
                return hnni_fail(err, HNN_ERR_PARSE, "%s:%zu: column %zu ('%.40s') is not a "
                                 "finite number", job->path, job->r.number, k + 1, job->cells[k]);
        }
        if ((st = hnni_csv_push_row(job->r.alloc, &job->data, job->row, job->width)) != HNN_OK)
            return hnni_fail(err, st, "%s:%zu: %s", job->path, job->r.number,
                             hnn_status_string(st));
    }
    if (got < 0)
        return hnni_fail(err, st, "%s:%zu: %s", job->path, job->r.number + (st != HNN_ERR_PARSE),
                         st == HNN_ERR_PARSE ? "a NUL byte: not a text file" : hnn_status_string(st));
    if (job->data.len == 0)
        return hnni_fail(err, HNN_ERR_PARSE, "%s: no data rows after the header", job->path);
    return HNN_OK;
}

/* Moves the parsed rows [q p dq dp] into a dataset's x = [q p] and y = [dq dp]. */
static hnn_status build_dataset(csv_job *job, hnn_dataset **out, hnn_error *err)
{
    const size_t count = job->data.len / job->width, dim = 2 * job->n;
    size_t s;
    hnn_status st = hnni_dataset_new(job->r.alloc, job->n, count, out, err);
    if (st != HNN_OK)
        return st;
    for (s = 0; s < count; s++) {
        memcpy((*out)->x + s * dim, job->data.v + s * job->width, dim * sizeof(double));
        memcpy((*out)->y + s * dim, job->data.v + s * job->width + dim, dim * sizeof(double));
    }
    return HNN_OK;
}

hnn_status hnn_dataset_load_csv(const char *path, const hnn_allocator *alloc,
                                hnn_dataset **out, hnn_error *err)
{
    hnn_allocator a = hnni_allocator_resolve(alloc ? *alloc : (hnn_allocator){NULL, NULL});
    csv_job job;
    hnn_status st;
    if (out != NULL)
        *out = NULL;
    if (path == NULL || out == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_dataset_load_csv: path and out must not be NULL");
    memset(&job, 0, sizeof job);
    job.path = path;
    if ((st = hnni_csv_open(&job.r, path, &a, err)) != HNN_OK)
        return st;
    st = read_header(&job, err);
    if (st == HNN_OK)
        st = read_rows(&job, err);
    if (st == HNN_OK)
        st = build_dataset(&job, out, err);
    hnni_csv_close(&job.r);
    hnni_free(&a, job.cells, job.width * sizeof *job.cells);
    hnni_free(&a, job.row, job.width * sizeof *job.row);
    hnni_free(&a, job.data.v, job.data.cap * sizeof(double));
    return st;
}
