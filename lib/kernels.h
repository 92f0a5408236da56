/* Private: the dense matrix kernels every pass is built from. */
#ifndef HNN_LIB_KERNELS_H
#define HNN_LIB_KERNELS_H

#include <stddef.h>

/* Products with fewer columns than this (a few states) take the narrow kernel. */
#define HNNI_NARROW 16

/* C = A * B for row-major A (m x k, row stride lda), B (k x n, stride ldb),
 * C (m x n, stride ldc); C is overwritten. Each C[i][c] is summed over j in increasing
 * order starting from +0.0, whatever n is: a column's bits do not depend on its neighbours,
 * which is what makes a batch bit-identical to its states evaluated one by one. */
void hnni_gemm(size_t m, size_t k, size_t n, const double *A, size_t lda, const double *B,
               size_t ldb, double *C, size_t ldc);

/* C += A * B^T for row-major A (m x k, stride lda), B (n x k, stride ldb), C (m x n, stride
 * ldc): the weight-gradient shape. scratch holds k * n doubles (B transposed). */
void hnni_gemm_nt_acc(size_t m, size_t k, size_t n, const double *A, size_t lda,
                      const double *B, size_t ldb, double *C, size_t ldc, double *scratch);

/* T (cols x rows, stride ldt) = S^T for S (rows x cols, stride lds), in cache-sized blocks. */
void hnni_transpose(size_t rows, size_t cols, const double *S, size_t lds, double *T, size_t ldt);

/* C += A * B, shapes as hnni_gemm. */
void hnni_gemm_acc_rows(size_t m, size_t k, size_t n, const double *A, size_t lda,
                        const double *B, size_t ldb, double *C, size_t ldc);

/* C = A^T * B for row-major A (k x m, stride lda), B (k x n, stride ldb), C (m x n, stride
 * ldc); C is overwritten: the shape of sending adjoints back through a layer. */
void hnni_gemm_tn(size_t m, size_t k, size_t n, const double *A, size_t lda, const double *B,
                  size_t ldb, double *C, size_t ldc);

/* The same three products in float (kernels_f32.c), with the same summation rule. */
void hnni_gemm_f32(size_t m, size_t k, size_t n, const float *A, size_t lda, const float *B,
                   size_t ldb, float *C, size_t ldc);
void hnni_gemm_acc_rows_f32(size_t m, size_t k, size_t n, const float *A, size_t lda,
                            const float *B, size_t ldb, float *C, size_t ldc);
void hnni_gemm_tn_f32(size_t m, size_t k, size_t n, const float *A, size_t lda,
                      const float *B, size_t ldb, float *C, size_t ldc);

#endif
