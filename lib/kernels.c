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

enum { NR = 16 };

/* One row tile of the tiled product: C rows i0 .. i0 + MR - 1, columns c0 .. c0 + 15, summed
 * over j from the accumulators' initial values. ROWS4 / ROWS8 write out the rows' broadcasts
 * and FMAs, so that compilers keep the tile in vector registers. */
#define TILE_LOAD(r) const double a##r = A[(i0 + r) * ars + j * acs];
#define TILE_FMA(r) acc[r][c] = fma(a##r, b[c], acc[r][c]);
#define ROWS4(X) X(0) X(1) X(2) X(3)
#define ROWS8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

/* C[i][c] = (accumulate ? C[i][c] : 0) + sum_j A(i, j) B[j][c], with A(i, j) at
 * A[i * ars + j * acs], for i < m, c < n, j < k, in tiles of MR x 16. */
#define GEMM_CORE(name, MR, ROWS)                                                             \
    HNNI_CLONES static void name(size_t m, size_t k, size_t n, const double *A, size_t ars,   \
                                 size_t acs, const double *B, size_t ldb, double *C,          \
                                 size_t ldc, int accumulate)                                  \
    {                                                                                         \
        size_t i0, c0, j, r, c;                                                               \
        for (c0 = 0; c0 < n; c0 += NR) {                                                      \
            const size_t nr = n - c0 < NR ? n - c0 : NR;                                      \
            for (i0 = 0; i0 < m; i0 += MR) {                                                  \
                const size_t mr = m - i0 < MR ? m - i0 : MR;                                  \
                if (mr == MR && nr == NR) {                                                   \
                    double acc[MR][NR];                                                       \
                    for (r = 0; r < MR; r++)                                                  \
                        for (c = 0; c < NR; c++)                                              \
                            acc[r][c] = accumulate ? C[(i0 + r) * ldc + c0 + c] : 0.0;        \
                    for (j = 0; j < k; j++) {                                                 \
                        const double *restrict b = B + j * ldb + c0;                          \
                        ROWS(TILE_LOAD)                                                       \
                        for (c = 0; c < NR; c++) {                                            \
                            ROWS(TILE_FMA)                                                    \
                        }                                                                     \
                    }                                                                         \
                    for (r = 0; r < MR; r++)                                                  \
                        for (c = 0; c < NR; c++)                                              \
                            C[(i0 + r) * ldc + c0 + c] = acc[r][c];                           \
                } else { /* edges: the same sums, a row at a time */                          \
                    for (r = 0; r < mr; r++) {                                                \
                        double s[NR];                                                         \
                        for (c = 0; c < nr; c++)                                              \
                            s[c] = accumulate ? C[(i0 + r) * ldc + c0 + c] : 0.0;             \
                        for (j = 0; j < k; j++) {                                             \
                            const double a = A[(i0 + r) * ars + j * acs];                     \
                            const double *b = B + j * ldb + c0;                               \
                            for (c = 0; c < nr; c++)                                          \
                                s[c] = fma(a, b[c], s[c]);                                    \
                        }                                                                     \
                        for (c = 0; c < nr; c++)                                              \
                            C[(i0 + r) * ldc + c0 + c] = s[c];                                \
                    }                                                                         \
                }                                                                             \
            }                                                                                 \
        }                                                                                     \
    }

/* 4 x 16: 8 accumulators, for 16 vector registers (AVX2, SSE); 8 x 16: 16 accumulators and
 * half the loads of B per multiply-add, for AVX-512's 32 (training 5-15 % faster there; on
 * AVX2 it spills and trains 13 % slower: examples/bench, docs/performance.md). Both compute
 * every element in the same order, so which one runs changes no bit. */
GEMM_CORE(gemm_core4, 4, ROWS4)
GEMM_CORE(gemm_core8, 8, ROWS8)

static int use_tall_tiles(void)
{
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(HNN_NO_DISPATCH)
    /* reads libgcc's CPU model, filled in before main: a load and a test */
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

static void gemm_core(size_t m, size_t k, size_t n, const double *A, size_t ars, size_t acs,
                      const double *B, size_t ldb, double *C, size_t ldc, int accumulate)
{
    if (use_tall_tiles())
        gemm_core8(m, k, n, A, ars, acs, B, ldb, C, ldc, accumulate);
    else
        gemm_core4(m, k, n, A, ars, acs, B, ldb, C, ldc, accumulate);
}

/* A gemm_core call, split by rows of C across threads (parallel.h): rows r0..r1 of C need
 * rows r0..r1 of A(i, j), which start at A + r0 * ars. */
typedef struct gemm_job {
    size_t k, n, ars, acs, ldb, ldc;
    const double *A, *B;
    double *C;
    int accumulate;
} gemm_job;

static void gemm_rows(void *ctx, size_t r0, size_t r1)
{
    const gemm_job *g = (const gemm_job *)ctx;
    gemm_core(r1 - r0, g->k, g->n, g->A + r0 * g->ars, g->ars, g->acs, g->B, g->ldb,
              g->C + r0 * g->ldc, g->ldc, g->accumulate);
}

static void gemm_split(size_t m, size_t k, size_t n, const double *A, size_t ars, size_t acs,
                       const double *B, size_t ldb, double *C, size_t ldc, int accumulate)
{
    gemm_job g;
    g.k = k, g.n = n, g.ars = ars, g.acs = acs, g.ldb = ldb, g.ldc = ldc;
    g.A = A, g.B = B, g.C = C, g.accumulate = accumulate;
    hnni_for_rows(m, 8, (double)m * (double)k * (double)n, gemm_rows, &g);
}

void hnni_gemm(size_t m, size_t k, size_t n, const double *A, size_t lda, const double *B,
               size_t ldb, double *C, size_t ldc)
{
    gemm_split(m, k, n, A, lda, 1, B, ldb, C, ldc, 0);
}

void hnni_gemm_acc_rows(size_t m, size_t k, size_t n, const double *A, size_t lda,
                        const double *B, size_t ldb, double *C, size_t ldc)
{
    gemm_split(m, k, n, A, lda, 1, B, ldb, C, ldc, 1);
}

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

/* One tile of gemm_narrow: MB rows by nc (1..4) columns of C. Written out per nc with one
 * accumulator array per column, the shape compilers keep in vector registers. */
#define NARROW_TILE(name, NCOLS, MB)                                                          \
    static void name(size_t k, const double *AT, size_t ldat, const double *B, size_t ldb,    \
                     double *C, size_t ldc)                                                   \
    {                                                                                         \
        double acc0[MB], acc1[MB], acc2[MB], acc3[MB];                                        \
        size_t j, r;                                                                          \
        for (r = 0; r < MB; r++)                                                              \
            acc0[r] = acc1[r] = acc2[r] = acc3[r] = 0.0;                                      \
        for (j = 0; j < k; j++) {                                                             \
            const double *restrict a = AT + j * ldat;                                         \
            const double *b = B + j * ldb;                                                    \
            const double b0 = b[0], b1 = NCOLS > 1 ? b[1] : 0.0, b2 = NCOLS > 2 ? b[2] : 0.0,  \
                         b3 = NCOLS > 3 ? b[3] : 0.0;                                         \
            for (r = 0; r < MB; r++) {                                                        \
                acc0[r] = fma(a[r], b0, acc0[r]);                                                         \
                if (NCOLS > 1)                                                                \
                    acc1[r] = fma(a[r], b1, acc1[r]);                                                     \
                if (NCOLS > 2)                                                                \
                    acc2[r] = fma(a[r], b2, acc2[r]);                                                     \
                if (NCOLS > 3)                                                                \
                    acc3[r] = fma(a[r], b3, acc3[r]);                                                     \
            }                                                                                 \
        }                                                                                     \
        for (r = 0; r < MB; r++) {                                                            \
            C[r * ldc] = acc0[r];                                                             \
            if (NCOLS > 1)                                                                    \
                C[r * ldc + 1] = acc1[r];                                                     \
            if (NCOLS > 2)                                                                    \
                C[r * ldc + 2] = acc2[r];                                                     \
            if (NCOLS > 3)                                                                    \
                C[r * ldc + 3] = acc3[r];                                                     \
        }                                                                                     \
    }
HNNI_CLONES NARROW_TILE(narrow_tile1, 1, 16)
HNNI_CLONES NARROW_TILE(narrow_tile2, 2, 16)
HNNI_CLONES NARROW_TILE(narrow_tile3, 3, 16)
HNNI_CLONES NARROW_TILE(narrow_tile4, 4, 16)
/* 8 rows: the remainder of widths that are not multiples of 16 (200 = 12 x 16 + 8) */
HNNI_CLONES NARROW_TILE(narrow_edge1, 1, 8)
HNNI_CLONES NARROW_TILE(narrow_edge2, 2, 8)
HNNI_CLONES NARROW_TILE(narrow_edge3, 3, 8)
HNNI_CLONES NARROW_TILE(narrow_edge4, 4, 8)
/* 32 rows: twice the independent accumulators, for the one- and two-state cases */
HNNI_CLONES NARROW_TILE(narrow_wide1, 1, 32)
HNNI_CLONES NARROW_TILE(narrow_wide2, 2, 32)
HNNI_CLONES NARROW_TILE(narrow_wide3, 3, 32)

/* C = AT^T B for few columns: vectorised across the rows of C, which are contiguous in AT
 * (k x m); up to four columns at a time give independent accumulators, hiding the adds'
 * latency that a single state's one column would wait on. Each element is still summed over
 * j in increasing order from 0. */
HNNI_CLONES static void gemm_narrow(size_t m, size_t k, size_t n, const double *AT, size_t ldat,
                                    const double *B, size_t ldb, double *C, size_t ldc)
{
    size_t i0, c0, c, j;
    for (c0 = 0; c0 < n; c0 += 4) {
        const size_t nc = n - c0 < 4 ? n - c0 : 4;
        i0 = 0;
        for (; nc < 4 && i0 + 32 <= m; i0 += 32) {
            const double *at = AT + i0;
            double *ct = C + i0 * ldc + c0;
            switch (nc) {
            case 3: narrow_wide3(k, at, ldat, B + c0, ldb, ct, ldc); break;
            case 2: narrow_wide2(k, at, ldat, B + c0, ldb, ct, ldc); break;
            default: narrow_wide1(k, at, ldat, B + c0, ldb, ct, ldc); break;
            }
        }
        for (; i0 + 16 <= m; i0 += 16) {
            const double *at = AT + i0;
            double *ct = C + i0 * ldc + c0;
            switch (nc) {
            case 4: narrow_tile4(k, at, ldat, B + c0, ldb, ct, ldc); break;
            case 3: narrow_tile3(k, at, ldat, B + c0, ldb, ct, ldc); break;
            case 2: narrow_tile2(k, at, ldat, B + c0, ldb, ct, ldc); break;
            default: narrow_tile1(k, at, ldat, B + c0, ldb, ct, ldc); break;
            }
        }
        for (; i0 + 8 <= m; i0 += 8) {
            const double *at = AT + i0;
            double *ct = C + i0 * ldc + c0;
            switch (nc) {
            case 4: narrow_edge4(k, at, ldat, B + c0, ldb, ct, ldc); break;
            case 3: narrow_edge3(k, at, ldat, B + c0, ldb, ct, ldc); break;
            case 2: narrow_edge2(k, at, ldat, B + c0, ldb, ct, ldc); break;
            default: narrow_edge1(k, at, ldat, B + c0, ldb, ct, ldc); break;
            }
        }
        if (i0 < m) { /* fewer than 8 rows: their chains side by side (fma inlined per clone) */
            const size_t rest = m - i0;
            for (c = 0; c < nc; c++) {
                double s[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
                size_t r;
                for (j = 0; j < k; j++) {
                    const double b = B[j * ldb + c0 + c];
                    for (r = 0; r < rest; r++)
                        s[r] = fma(AT[j * ldat + i0 + r], b, s[r]);
                }
                for (r = 0; r < rest; r++)
                    C[(i0 + r) * ldc + c0 + c] = s[r];
            }
        }
    }
}

void hnni_gemm_tn(size_t m, size_t k, size_t n, const double *A, size_t lda, const double *B,
                  size_t ldb, double *C, size_t ldc)
{
    /* C[i][c] = sum_j A[j][i] B[j][c]: rows of A are the columns needed */
    if (n < HNNI_NARROW)
        gemm_narrow(m, k, n, A, lda, B, ldb, C, ldc);
    else
        gemm_split(m, k, n, A, 1, lda, B, ldb, C, ldc, 0);
}
