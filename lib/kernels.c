/* Dense kernels. Every product is written as row updates C[i][:] += a * B[j][:] so the
 * compiler vectorises the innermost loop over columns (the batch), which keeps every
 * column's arithmetic identical. Four updates are fused per pass over a row of C to cut
 * memory traffic; they are applied in the same order as one at a time, so the fusion does
 * not change a single bit. */
#include "kernels.h"

/* crow[0..n) += sum over t < count of coef[t] * rows[t][0..n), added in order of t. */
static void accumulate_rows(double *restrict crow, size_t n, const double *coef,
                            const double *const *rows, size_t count)
{
    size_t t = 0, c;
    for (; t + 4 <= count; t += 4) {
        const double a0 = coef[t], a1 = coef[t + 1], a2 = coef[t + 2], a3 = coef[t + 3];
        const double *restrict b0 = rows[t], *restrict b1 = rows[t + 1];
        const double *restrict b2 = rows[t + 2], *restrict b3 = rows[t + 3];
        for (c = 0; c < n; c++) {
            double v = crow[c];
            v += a0 * b0[c];
            v += a1 * b1[c];
            v += a2 * b2[c];
            v += a3 * b3[c];
            crow[c] = v;
        }
    }
    for (; t < count; t++) {
        const double a = coef[t];
        const double *restrict b = rows[t];
        for (c = 0; c < n; c++)
            crow[c] += a * b[c];
    }
}

/* Row pointers and coefficients are gathered in small batches so accumulate_rows can fuse. */
#define HNNI_FUSE 64

void hnni_gemm(size_t m, size_t k, size_t n, const double *A, size_t lda, const double *B,
               size_t ldb, double *C, size_t ldc)
{
    const double *rows[HNNI_FUSE];
    size_t i, j, c, t;
    for (i = 0; i < m; i++) {
        double *crow = C + i * ldc;
        for (c = 0; c < n; c++)
            crow[c] = 0.0;
        for (j = 0; j < k; j += HNNI_FUSE) {
            const size_t cnt = k - j < HNNI_FUSE ? k - j : HNNI_FUSE;
            for (t = 0; t < cnt; t++)
                rows[t] = B + (j + t) * ldb;
            accumulate_rows(crow, n, A + i * lda + j, rows, cnt);
        }
    }
}

void hnni_gemm_nt_acc(size_t m, size_t k, size_t n, const double *A, size_t lda,
                      const double *B, size_t ldb, double *C, size_t ldc, double *scratch)
{
    /* Dot products of rows would not vectorise (IEEE order forbids reassociating the sum),
     * so transpose B once (k x n, O(nk)) and accumulate rows of C (O(mnk)). */
    size_t j, c;
    for (j = 0; j < n; j++)
        for (c = 0; c < k; c++)
            scratch[c * n + j] = B[j * ldb + c];
    hnni_gemm_acc_rows(m, k, n, A, lda, scratch, n, C, ldc);
}

void hnni_gemm_acc_rows(size_t m, size_t k, size_t n, const double *A, size_t lda,
                        const double *B, size_t ldb, double *C, size_t ldc)
{
    const double *rows[HNNI_FUSE];
    size_t i, j, t;
    for (i = 0; i < m; i++) {
        for (j = 0; j < k; j += HNNI_FUSE) {
            const size_t cnt = k - j < HNNI_FUSE ? k - j : HNNI_FUSE;
            for (t = 0; t < cnt; t++)
                rows[t] = B + (j + t) * ldb;
            accumulate_rows(C + i * ldc, n, A + i * lda + j, rows, cnt);
        }
    }
}

void hnni_gemm_tn(size_t m, size_t k, size_t n, const double *A, size_t lda, const double *B,
                  size_t ldb, double *C, size_t ldc)
{
    /* C[j][:] = sum over i of A[i][j] * B[i][:]: gather column j of A as coefficients. */
    const double *rows[HNNI_FUSE];
    double coef[HNNI_FUSE];
    size_t i, j, c, t;
    for (j = 0; j < m; j++) {
        double *crow = C + j * ldc;
        for (c = 0; c < n; c++)
            crow[c] = 0.0;
        for (i = 0; i < k; i += HNNI_FUSE) {
            const size_t cnt = k - i < HNNI_FUSE ? k - i : HNNI_FUSE;
            for (t = 0; t < cnt; t++) {
                rows[t] = B + (i + t) * ldb;
                coef[t] = A[(i + t) * lda + j];
            }
            accumulate_rows(crow, n, coef, rows, cnt);
        }
    }
}
