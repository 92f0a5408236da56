/* Private: the dense kernels' code for one element type, compiled once per type: kernels.c
 * (double) and kernels_f32.c (float) define REAL, FMA (its fused multiply-add: fma, fmaf),
 * KN(name) (the names they export), KNR (a tiled product's columns: two vectors of the
 * widest width) and KNW (the narrow product's rows for one state: four vectors) before
 * including it. kernels.c says how the kernels keep every bit fixed. */

/* One row tile of the tiled product: C rows i0 .. i0 + MR - 1, columns c0 .. c0 + 15, summed
 * over j from the accumulators' initial values. ROWS4 / ROWS8 write out the rows' broadcasts
 * and FMAs, so that compilers keep the tile in vector registers. */
#define TILE_LOAD(r) const REAL a##r = A[(i0 + r) * ars + j * acs];
#define TILE_FMA(r) acc[r][c] = FMA(a##r, b[c], acc[r][c]);
#define ROWS4(X) X(0) X(1) X(2) X(3)
#define ROWS8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

/* C[i][c] = (accumulate ? C[i][c] : 0) + sum_j A(i, j) B[j][c], with A(i, j) at
 * A[i * ars + j * acs], for i < m, c < n, j < k, in tiles of MR x 16. */
#define GEMM_CORE(name, MR, ROWS)                                                               \
    HNNI_CLONES static void name(size_t m, size_t k, size_t n, const REAL *A, size_t ars,       \
                                 size_t acs, const REAL *B, size_t ldb, REAL *C,                \
                                 size_t ldc, int accumulate)                                    \
    {                                                                                           \
        size_t i0, c0, j, r, c;                                                                 \
        for (c0 = 0; c0 < n; c0 += KNR) {                                                       \
            const size_t nr = n - c0 < KNR ? n - c0 : KNR;                                      \
            for (i0 = 0; i0 < m; i0 += MR) {                                                    \
                const size_t mr = m - i0 < MR ? m - i0 : MR;                                    \
                if (mr == MR && nr == KNR) {                                                    \
                    REAL acc[MR][KNR];                                                          \
                    for (r = 0; r < MR; r++)                                                    \
                        for (c = 0; c < KNR; c++)                                               \
                            acc[r][c] = accumulate ? C[(i0 + r) * ldc + c0 + c] : 0.0;          \
                    for (j = 0; j < k; j++) {                                                   \
                        const REAL *restrict b = B + j * ldb + c0;                              \
                        ROWS(TILE_LOAD)                                                         \
                        for (c = 0; c < KNR; c++) {                                             \
                            ROWS(TILE_FMA)                                                      \
                        }                                                                       \
                    }                                                                           \
                    for (r = 0; r < MR; r++)                                                    \
                        for (c = 0; c < KNR; c++)                                               \
                            C[(i0 + r) * ldc + c0 + c] = acc[r][c];                             \
                } else { /* edges: the same sums, a row at a time */                            \
                    for (r = 0; r < mr; r++) {                                                  \
                        REAL s[KNR];                                                            \
                        for (c = 0; c < nr; c++)                                                \
                            s[c] = accumulate ? C[(i0 + r) * ldc + c0 + c] : 0.0;               \
                        for (j = 0; j < k; j++) {                                               \
                            const REAL a = A[(i0 + r) * ars + j * acs];                         \
                            const REAL *b = B + j * ldb + c0;                                   \
                            for (c = 0; c < nr; c++)                                            \
                                s[c] = FMA(a, b[c], s[c]);                                      \
                        }                                                                       \
                        for (c = 0; c < nr; c++)                                                \
                            C[(i0 + r) * ldc + c0 + c] = s[c];                                  \
                    }                                                                           \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    }

/* 4 x 16: 8 accumulators, for 16 vector registers (AVX2, SSE); 8 x 16: 16 accumulators and
 * half the loads of B per multiply-add, for AVX-512's 32 (training 5-15 % faster there; on
 * AVX2 it spills and trains 13 % slower: examples/bench, docs/performance.md). Both compute
 * every element in the same order, so which one runs changes no bit. */
GEMM_CORE(KN(gemm_core4), 4, ROWS4)
GEMM_CORE(KN(gemm_core8), 8, ROWS8)

static int use_tall_tiles(void)
{
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(HNN_NO_DISPATCH)
    /* reads libgcc's CPU model, filled in before main: a load and a test */
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

static void KN(gemm_core)(size_t m, size_t k, size_t n, const REAL *A, size_t ars, size_t acs,
                      const REAL *B, size_t ldb, REAL *C, size_t ldc, int accumulate)
{
    if (use_tall_tiles())
        KN(gemm_core8)(m, k, n, A, ars, acs, B, ldb, C, ldc, accumulate);
    else
        KN(gemm_core4)(m, k, n, A, ars, acs, B, ldb, C, ldc, accumulate);
}

/* A KN(gemm_core) call, split by rows of C across threads (parallel.h): rows r0..r1 of C need
 * rows r0..r1 of A(i, j), which start at A + r0 * ars. */
typedef struct KN(gemm_job) {
    size_t k, n, ars, acs, ldb, ldc;
    const REAL *A, *B;
    REAL *C;
    int accumulate;
} KN(gemm_job);

static void KN(gemm_rows)(void *ctx, size_t r0, size_t r1)
{
    const KN(gemm_job) *g = (const KN(gemm_job) *)ctx;
    KN(gemm_core)(r1 - r0, g->k, g->n, g->A + r0 * g->ars, g->ars, g->acs, g->B, g->ldb,
              g->C + r0 * g->ldc, g->ldc, g->accumulate);
}

static void KN(gemm_split)(size_t m, size_t k, size_t n, const REAL *A, size_t ars, size_t acs,
                       const REAL *B, size_t ldb, REAL *C, size_t ldc, int accumulate)
{
    KN(gemm_job) g;
    g.k = k, g.n = n, g.ars = ars, g.acs = acs, g.ldb = ldb, g.ldc = ldc;
    g.A = A, g.B = B, g.C = C, g.accumulate = accumulate;
    hnni_for_rows(m, 8, (double)m * (double)k * (double)n, KN(gemm_rows), &g);
}

void KN(hnni_gemm)(size_t m, size_t k, size_t n, const REAL *A, size_t lda, const REAL *B,
               size_t ldb, REAL *C, size_t ldc)
{
    KN(gemm_split)(m, k, n, A, lda, 1, B, ldb, C, ldc, 0);
}

void KN(hnni_gemm_acc_rows)(size_t m, size_t k, size_t n, const REAL *A, size_t lda,
                        const REAL *B, size_t ldb, REAL *C, size_t ldc)
{
    KN(gemm_split)(m, k, n, A, lda, 1, B, ldb, C, ldc, 1);
}

/* One tile of KN(gemm_narrow): MB rows by nc (1..4) columns of C. Written out per nc with one
 * accumulator array per column, the shape compilers keep in vector registers. */
#define NARROW_TILE(name, NCOLS, MB)                                                            \
    static void name(size_t k, const REAL *AT, size_t ldat, const REAL *B, size_t ldb,          \
                     REAL *C, size_t ldc)                                                       \
    {                                                                                           \
        REAL acc0[MB], acc1[MB], acc2[MB], acc3[MB];                                            \
        size_t j, r;                                                                            \
        for (r = 0; r < MB; r++)                                                                \
            acc0[r] = acc1[r] = acc2[r] = acc3[r] = 0.0;                                        \
        for (j = 0; j < k; j++) {                                                               \
            const REAL *restrict a = AT + j * ldat;                                             \
            const REAL *b = B + j * ldb;                                                        \
            const REAL b0 = b[0], b1 = NCOLS > 1 ? b[1] : 0.0, b2 = NCOLS > 2 ? b[2] : 0.0,     \
                         b3 = NCOLS > 3 ? b[3] : 0.0;                                           \
            for (r = 0; r < MB; r++) {                                                          \
                acc0[r] = FMA(a[r], b0, acc0[r]);                                               \
                if (NCOLS > 1)                                                                  \
                    acc1[r] = FMA(a[r], b1, acc1[r]);                                           \
                if (NCOLS > 2)                                                                  \
                    acc2[r] = FMA(a[r], b2, acc2[r]);                                           \
                if (NCOLS > 3)                                                                  \
                    acc3[r] = FMA(a[r], b3, acc3[r]);                                           \
            }                                                                                   \
        }                                                                                       \
        for (r = 0; r < MB; r++) {                                                              \
            C[r * ldc] = acc0[r];                                                               \
            if (NCOLS > 1)                                                                      \
                C[r * ldc + 1] = acc1[r];                                                       \
            if (NCOLS > 2)                                                                      \
                C[r * ldc + 2] = acc2[r];                                                       \
            if (NCOLS > 3)                                                                      \
                C[r * ldc + 3] = acc3[r];                                                       \
        }                                                                                       \
    }
HNNI_CLONES NARROW_TILE(KN(narrow_tile1), 1, 16)
HNNI_CLONES NARROW_TILE(KN(narrow_tile2), 2, 16)
HNNI_CLONES NARROW_TILE(KN(narrow_tile3), 3, 16)
HNNI_CLONES NARROW_TILE(KN(narrow_tile4), 4, 16)
/* 8 rows: the remainder of widths that are not multiples of 16 (200 = 12 x 16 + 8) */
HNNI_CLONES NARROW_TILE(KN(narrow_edge1), 1, 8)
HNNI_CLONES NARROW_TILE(KN(narrow_edge2), 2, 8)
HNNI_CLONES NARROW_TILE(KN(narrow_edge3), 3, 8)
HNNI_CLONES NARROW_TILE(KN(narrow_edge4), 4, 8)
/* KNW rows (four vectors): more independent accumulators, for the one- and two-state cases */
HNNI_CLONES NARROW_TILE(KN(narrow_wide1), 1, KNW)
HNNI_CLONES NARROW_TILE(KN(narrow_wide2), 2, KNW)
HNNI_CLONES NARROW_TILE(KN(narrow_wide3), 3, KNW)

/* C = AT^T B for few columns: vectorised across the rows of C, which are contiguous in AT
 * (k x m); up to four columns at a time give independent accumulators, hiding the adds'
 * latency that a single state's one column would wait on. Each element is still summed over
 * j in increasing order from 0. */
HNNI_CLONES static void KN(gemm_narrow)(size_t m, size_t k, size_t n, const REAL *AT, size_t ldat,
                                    const REAL *B, size_t ldb, REAL *C, size_t ldc)
{
    size_t i0, c0, c, j;
    for (c0 = 0; c0 < n; c0 += 4) {
        const size_t nc = n - c0 < 4 ? n - c0 : 4;
        i0 = 0;
        for (; nc < 4 && i0 + KNW <= m; i0 += KNW) {
            const REAL *at = AT + i0;
            REAL *ct = C + i0 * ldc + c0;
            switch (nc) {
            case 3: KN(narrow_wide3)(k, at, ldat, B + c0, ldb, ct, ldc); break;
            case 2: KN(narrow_wide2)(k, at, ldat, B + c0, ldb, ct, ldc); break;
            default: KN(narrow_wide1)(k, at, ldat, B + c0, ldb, ct, ldc); break;
            }
        }
        for (; i0 + 16 <= m; i0 += 16) {
            const REAL *at = AT + i0;
            REAL *ct = C + i0 * ldc + c0;
            switch (nc) {
            case 4: KN(narrow_tile4)(k, at, ldat, B + c0, ldb, ct, ldc); break;
            case 3: KN(narrow_tile3)(k, at, ldat, B + c0, ldb, ct, ldc); break;
            case 2: KN(narrow_tile2)(k, at, ldat, B + c0, ldb, ct, ldc); break;
            default: KN(narrow_tile1)(k, at, ldat, B + c0, ldb, ct, ldc); break;
            }
        }
        for (; i0 + 8 <= m; i0 += 8) {
            const REAL *at = AT + i0;
            REAL *ct = C + i0 * ldc + c0;
            switch (nc) {
            case 4: KN(narrow_edge4)(k, at, ldat, B + c0, ldb, ct, ldc); break;
            case 3: KN(narrow_edge3)(k, at, ldat, B + c0, ldb, ct, ldc); break;
            case 2: KN(narrow_edge2)(k, at, ldat, B + c0, ldb, ct, ldc); break;
            default: KN(narrow_edge1)(k, at, ldat, B + c0, ldb, ct, ldc); break;
            }
        }
        if (i0 < m) { /* fewer than 8 rows: their chains side by side (fma inlined per clone) */
            const size_t rest = m - i0;
            for (c = 0; c < nc; c++) {
                REAL s[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
                size_t r;
                for (j = 0; j < k; j++) {
                    const REAL b = B[j * ldb + c0 + c];
                    for (r = 0; r < rest; r++)
                        s[r] = FMA(AT[j * ldat + i0 + r], b, s[r]);
                }
                for (r = 0; r < rest; r++)
                    C[(i0 + r) * ldc + c0 + c] = s[r];
            }
        }
    }
}

void KN(hnni_gemm_tn)(size_t m, size_t k, size_t n, const REAL *A, size_t lda, const REAL *B,
                  size_t ldb, REAL *C, size_t ldc)
{
    /* C[i][c] = sum_j A[j][i] B[j][c]: rows of A are the columns needed */
    if (n < HNNI_NARROW)
        KN(gemm_narrow)(m, k, n, A, lda, B, ldb, C, ldc);
    else
        KN(gemm_split)(m, k, n, A, 1, lda, B, ldb, C, ldc, 0);
}
