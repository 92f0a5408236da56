/* Dense kernels. Written so the compiler vectorises the innermost loop over columns
 * (the batch), which keeps every column's arithmetic identical. */
#include "kernels.h"

void hnni_gemm(size_t m, size_t k, size_t n, const double *A, size_t lda, const double *B,
               size_t ldb, double *C, size_t ldc)
{
    size_t i, j, c;
    for (i = 0; i < m; i++) {
        double *restrict crow = C + i * ldc;
        const double *arow = A + i * lda;
        for (c = 0; c < n; c++)
            crow[c] = 0.0;
        for (j = 0; j < k; j++) {
            const double a = arow[j];
            const double *restrict brow = B + j * ldb;
            for (c = 0; c < n; c++)
                crow[c] += a * brow[c];
        }
    }
}

void hnni_gemm_nt_acc(size_t m, size_t k, size_t n, const double *A, size_t lda,
                      const double *B, size_t ldb, double *C, size_t ldc)
{
    size_t i, j, c;
    for (i = 0; i < m; i++) {
        const double *restrict arow = A + i * lda;
        double *restrict crow = C + i * ldc;
        for (j = 0; j < n; j++) {
            const double *restrict brow = B + j * ldb;
            double sum = 0.0;
            for (c = 0; c < k; c++)
                sum += arow[c] * brow[c];
            crow[j] += sum;
        }
    }
}

void hnni_gemm_tn(size_t m, size_t k, size_t n, const double *A, size_t lda, const double *B,
                  size_t ldb, double *C, size_t ldc)
{
    size_t i, j, c;
    for (j = 0; j < m; j++)
        for (c = 0; c < n; c++)
            C[j * ldc + c] = 0.0;
    for (i = 0; i < k; i++) {
        const double *arow = A + i * lda;
        const double *restrict brow = B + i * ldb;
        for (j = 0; j < m; j++) {
            const double a = arow[j];
            double *restrict crow = C + j * ldc;
            for (c = 0; c < n; c++)
                crow[c] += a * brow[c];
        }
    }
}
