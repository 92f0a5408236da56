/* The CSV dataset loader. Reads line by line with a growing buffer (lines up to 1 GiB),
 * parses strictly (every cell a finite decimal number whatever the C locale, every row the
 * header's width, no NUL bytes), and on any failure frees everything and reports the file
 * and line. */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "core.h"
#include "dataset.h"
#include "hnn/net.h"

typedef struct reader {
    FILE *f;
    const hnn_allocator *alloc;
    char *line;
    size_t cap;
    size_t number; /* 1-based number of the line in `line` */
} reader;

/* Reads the next line (without its end) into r->line. Returns 1, 0 at end of file, or -1
 * on a read error, an allocation failure or a NUL byte (*st says which). */
static int read_line(reader *r, hnn_status *st)
{
    size_t len = 0;
    int c;
    if (r->line == NULL) {
        r->cap = 256;
        r->line = (char *)r->alloc->fn(r->alloc->user, NULL, 0, r->cap);
        if (r->line == NULL)
            return *st = HNN_ERR_NO_MEMORY, -1;
    }
    while ((c = fgetc(r->f)) != EOF && c != '\n') {
        if (c == '\0') { /* text after it would be invisible to the C string functions */
            r->number++;
            return *st = HNN_ERR_PARSE, -1;
        }
        if (len + 1 >= r->cap) {
            size_t cap = r->cap * 2;
            char *p;
            if (cap > ((size_t)1 << 30))
                return *st = HNN_ERR_TOO_LARGE, -1;
            p = (char *)r->alloc->fn(r->alloc->user, r->line, r->cap, cap);
            if (p == NULL)
                return *st = HNN_ERR_NO_MEMORY, -1;
            r->line = p;
            r->cap = cap;
        }
        r->line[len++] = (char)c;
    }
    if (ferror(r->f))
        return *st = HNN_ERR_IO, -1;
    if (c == EOF && len == 0)
        return 0;
    if (len > 0 && r->line[len - 1] == '\r')
        len--;
    r->line[len] = '\0';
    r->number++;
    return 1;
}

static int is_blank(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == '\0';
}

/* Splits the line in place at commas; returns the number of cells (up to max). Each cell is
 * trimmed of spaces and tabs. */
static size_t split_cells(char *line, char **cells, size_t max)
{
    size_t n = 0;
    char *p = line;
    for (;;) {
        char *start = p, *end;
        while (*p != ',' && *p != '\0')
            p++;
        end = p;
        while (*start == ' ' || *start == '\t')
            start++;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (n < max)
            cells[n] = start;
        n++;
        if (*p == '\0') {
            *end = '\0';
            break;
        }
        *end = '\0';
        p++;
    }
    return n;
}

/* Counts the cells of a line without changing it. */
static size_t count_cells(const char *line)
{
    size_t n = 1;
    for (; *line; line++)
        n += *line == ',';
    return n;
}

/* Parses a cell as a finite decimal number (as strtod in the "C" locale: digits, an optional
 * sign, point and exponent). Hexadecimal, inf and nan are refused. strtod follows the
 * program's locale, so the point is translated to the locale's own decimal separator first
 * (a program may have called setlocale; the library never does). Returns 1 on success. */
static int parse_number(const char *cell, double *out)
{
    char buf[128], *end;
    const char *point = localeconv()->decimal_point;
    size_t len = strlen(cell), i, j = 0;
    if (len == 0 || len >= sizeof buf - 8 || strpbrk(cell, "xXiInN") != NULL)
        return 0;
    for (i = 0; i < len; i++) {
        if (cell[i] == '.' && point != NULL && point[0] != '\0' && strcmp(point, ".") != 0) {
            size_t k;
            for (k = 0; point[k] != '\0' && j < sizeof buf - 1; k++)
                buf[j++] = point[k];
        } else if (j < sizeof buf - 1) {
            buf[j++] = cell[i];
        }
    }
    buf[j] = '\0';
    *out = strtod(buf, &end);
    return end != buf && *end == '\0' && isfinite(*out);
}

/* Header cell k of 4n must be q<i>, p<i>, dq<i> or dp<i> for the right i. */
static int header_cell_ok(const char *cell, size_t k, size_t n)
{
    static const char *const prefixes[4] = {"q", "p", "dq", "dp"};
    char want[32];
    snprintf(want, sizeof want, "%s%zu", prefixes[k / n], k % n + 1);
    return strcmp(cell, want) == 0;
}

typedef struct growing {
    double *v;
    size_t len, cap;
} growing;

static hnn_status push_row(const hnn_allocator *a, growing *g, const double *row, size_t width)
{
    if (g->len + width > g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 1024, bytes;
        double *p;
        while (cap < g->len + width)
            cap *= 2;
        if (!hnni_mul_size(cap, sizeof(double), &bytes) || bytes > ((size_t)1 << 34))
            return HNN_ERR_TOO_LARGE;
        p = (double *)a->fn(a->user, g->v, g->cap * sizeof(double), bytes);
        if (p == NULL)
            return HNN_ERR_NO_MEMORY;
        g->v = p;
        g->cap = cap;
    }
    memcpy(g->v + g->len, row, width * sizeof *row);
    g->len += width;
    return HNN_OK;
}

typedef struct csv_job {
    const char *path;
    reader r;
    growing data;
    char **cells;
    double *row;
    size_t width, n;
} csv_job;

static hnn_status read_header(csv_job *job, hnn_error *err)
{
    hnn_status st = HNN_OK;
    size_t k;
    int got;
    while ((got = read_line(&job->r, &st)) == 1 && is_blank(job->r.line))
        ;
    if (got < 0)
        return hnni_fail(err, st, "%s:%zu: %s", job->path, job->r.number + (st != HNN_ERR_PARSE),
                         st == HNN_ERR_PARSE ? "a NUL byte: not a text file" : hnn_status_string(st));
    if (got == 0)
        return hnni_fail(err, HNN_ERR_PARSE, "%s: empty file, expected a header row "
                         "q1..qn,p1..pn,dq1..dqn,dp1..dpn", job->path);
    job->width = count_cells(job->r.line);
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
    split_cells(job->r.line, job->cells, job->width);
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
    while ((got = read_line(&job->r, &st)) == 1) {
        size_t k, cells;
        if (is_blank(job->r.line))
            continue;
        cells = split_cells(job->r.line, job->cells, job->width);
        if (cells != job->width)
            return hnni_fail(err, HNN_ERR_PARSE, "%s:%zu: %zu columns, expected %zu", job->path,
                             job->r.number, cells, job->width);
        for (k = 0; k < job->width; k++) {
            if (!parse_number(job->cells[k], &job->row[k]))
                return hnni_fail(err, HNN_ERR_PARSE, "%s:%zu: column %zu ('%.40s') is not a "
                                 "finite number", job->path, job->r.number, k + 1, job->cells[k]);
        }
        if ((st = push_row(job->r.alloc, &job->data, job->row, job->width)) != HNN_OK)
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
    job.r.alloc = &a;
    job.r.f = fopen(path, "rb");
    if (job.r.f == NULL)
        return hnni_fail(err, HNN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    st = read_header(&job, err);
    if (st == HNN_OK)
        st = read_rows(&job, err);
    if (st == HNN_OK)
        st = build_dataset(&job, out, err);
    fclose(job.r.f);
    hnni_free(&a, job.r.line, job.r.cap);
    hnni_free(&a, job.cells, job.width * sizeof *job.cells);
    hnni_free(&a, job.row, job.width * sizeof *job.row);
    hnni_free(&a, job.data.v, job.data.cap * sizeof(double));
    return st;
}
