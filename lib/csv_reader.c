/* The strict CSV reading both loaders share (csv.c: derivative datasets; trajectory_csv.c:
 * trajectories): lines through a growing buffer (up to 1 GiB), cells split at commas and
 * trimmed, numbers parsed strictly whatever the C locale, rows appended to a growing array
 * (up to 16 GiB). */
#include "csv_reader.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "core.h"

hnn_status hnni_csv_open(hnni_csv_reader *r, const char *path, const hnn_allocator *a,
                         hnn_error *err)
{
    memset(r, 0, sizeof *r);
    r->alloc = a;
    r->f = fopen(path, "rb");
    if (r->f == NULL)
        return hnni_fail(err, HNN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    return HNN_OK;
}

void hnni_csv_close(hnni_csv_reader *r)
{
    if (r->f != NULL)
        fclose(r->f);
    hnni_free(r->alloc, r->line, r->cap);
    r->f = NULL;
    r->line = NULL;
}

/* Reads the next line (without its end) into r->line. Returns 1, 0 at end of file, or -1
 * on a read error, an allocation failure or a NUL byte (*st says which). */
int hnni_csv_read_line(hnni_csv_reader *r, hnn_status *st)
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

int hnni_csv_is_blank(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == '\0';
}

/* Splits the line in place at commas; returns the number of cells (up to max). Each cell is
 * trimmed of spaces and tabs. */
size_t hnni_csv_split_cells(char *line, char **cells, size_t max)
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
size_t hnni_csv_count_cells(const char *line)
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
int hnni_csv_parse_number(const char *cell, double *out)
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


hnn_status hnni_csv_push_row(const hnn_allocator *a, hnni_csv_growing *g, const double *row,
                             size_t width)
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
