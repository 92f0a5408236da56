/* Dense kernels. Every product is built from register-blocked micro-kernels: a tile of C is
 * held in registers while the inner dimension streams past, the compiler vectorising across
 * the tile. Each C element is summed over the inner index in increasing order from its
 * initial value, one fused multiply-add (C99 fma, a single rounding) at a time, exactly as the
 * plain triple loop written with fma would, so the tiling, the vector width and the CPU chosen
 * at run time change no bit: a batch stays bit-identical to its states evaluated one by one,
 * and runs agree across machines. (fma is an instruction on every x86-64-v3, ARMv8 or newer
 * CPU; on older x86 CPUs the C library computes it, correctly but slowly.) Elsewhere the
 * library is built with -ffp-contract=off, so no other multiply and add is ever fused. */
#include "kernels.h"

#include <math.h>

#include "dispatch.h"
#include "parallel.h"

/* the double kernels: 16 columns per tile row (two AVX-512 vectors), 32 rows for one state */
#define REAL double
#define FMA fma
#define KN(name) name
enum { KNR = 16, KNW = 32 };
#include "kernels_tmpl.h"

/* T (cols x rows) = S^T for S (rows x cols), in 8 x 8 blocks that stay in cache. */
HNNI_CLONES static void transpose(size_t rows, size_t cols, const double *S, size_t lds,
                                  double *T, size_t ldt)
{
    enum { TB = 8 };
    size_t r0, c0, r, c;
    for (r0 = 0; r0 < rows; r0 += TB) {
        const size_t nr = rows - r0 < TB ? rows - r0 : TB;
        for (c0 = 0; c0 < cols; c0 += TB) {
            const size_t nc = cols - c0 < TB ? cols - c0 : TB;
            for (c = 0; c < nc; c++)
                for (r = 0; r < nr; r++)
                    T[(c0 + c) * ldt + r0 + r] = S[(r0 + r) * lds + c0 + c];
        }
    }
}

/* A transpose split by rows of T (columns c0..c1 of S). */
typedef struct transpose_job {
    size_t rows, lds, ldt;
    const double *S;
    double *T;
} transpose_job;

static void transpose_rows(void *ctx, size_t c0, size_t c1)
{
    const transpose_job *j = (const transpose_job *)ctx;
    transpose(j->rows, c1 - c0, j->S + c0, j->lds, j->T + c0 * j->ldt, j->ldt);
}

static void transpose_split(size_t rows, size_t cols, const double *S, size_t lds, double *T,
                            size_t ldt)
{
    transpose_job j;
    j.rows = rows, j.lds = lds, j.ldt = ldt, j.S = S, j.T = T;
    /* a copy is worth about 8 multiply-adds an element: it is memory-bound */
    hnni_for_rows(cols, 8, 8.0 * (double)rows * (double)cols, transpose_rows, &j);
}

void hnni_transpose(size_t rows, size_t cols, const double *S, size_t lds, double *T, size_t ldt)
{
    transpose_split(rows, cols, S, lds, T, ldt);
}

void hnni_gemm_nt_acc(size_t m, size_t k, size_t n, const double *A, size_t lda,
                      const double *B, size_t ldb, double *C, size_t ldc, double *scratch)
{
    /* Dot products of rows would not vectorise (IEEE order forbids reassociating the sum),
     * so transpose B once (k x n, O(nk)) and run the tiled kernel (O(mnk)). */
    transpose_split(n, k, B, ldb, scratch, n);
    gemm_split(m, k, n, A, lda, 1, scratch, n, C, ldc, 1);
}
