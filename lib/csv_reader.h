/* Private: the strict CSV reading shared by the dataset and trajectory loaders. */
#ifndef HNN_LIB_CSV_READER_H
#define HNN_LIB_CSV_READER_H

#include <stdio.h>

#include "hnn/core.h"

typedef struct hnni_csv_reader {
    FILE *f;
    const hnn_allocator *alloc;
    char *line;
    size_t cap;
    size_t number; /* 1-based number of the line in `line` */
} hnni_csv_reader;

/* Opens path for reading through the allocator a (kept by pointer: it must outlive the
 * reader); HNN_ERR_IO with the system's reason if it cannot. */
hnn_status hnni_csv_open(hnni_csv_reader *r, const char *path, const hnn_allocator *a,
                         hnn_error *err);

/* Closes the file and frees the line buffer. */
void hnni_csv_close(hnni_csv_reader *r);

/* Reads the next line (without its end) into r->line. Returns 1, 0 at end of file, or -1
 * on a read error, an allocation failure or a NUL byte (*st says which: HNN_ERR_IO,
 * HNN_ERR_NO_MEMORY, HNN_ERR_TOO_LARGE, HNN_ERR_PARSE for the NUL byte). */
int hnni_csv_read_line(hnni_csv_reader *r, hnn_status *st);

/* 1 if the line holds only spaces and tabs. */
int hnni_csv_is_blank(const char *s);

/* Splits the line in place at commas; returns the number of cells (writing up to max of
 * them). Each cell is trimmed of spaces and tabs. */
size_t hnni_csv_split_cells(char *line, char **cells, size_t max);

/* Counts the cells of a line without changing it. */
size_t hnni_csv_count_cells(const char *line);

/* Parses a cell as a finite decimal number ("C" locale rules, whatever the program's
 * locale; hexadecimal, inf and nan refused). Returns 1 on success. */
int hnni_csv_parse_number(const char *cell, double *out);

/* A growing array of doubles. */
typedef struct hnni_csv_growing {
    double *v;
    size_t len, cap;
} hnni_csv_growing;

/* Appends `width` values; HNN_ERR_TOO_LARGE past 16 GiB, HNN_ERR_NO_MEMORY. */
hnn_status hnni_csv_push_row(const hnn_allocator *a, hnni_csv_growing *g, const double *row,
                             size_t width);

#endif
