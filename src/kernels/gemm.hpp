// The only GEMM entry point in recur. Row-major, BLAS semantics:
//   C[M, N] = alpha * op(A) op(B) + beta * C,  op(A) is [M, K], op(B) is [K, N]
// A is stored [M, K] (lda >= K), or [K, M] when trans_a (lda >= M); likewise B.
// Backed by oneDNN's dnnl_sgemm, and by OpenBLAS's sgemv when C is one row or one column
// (chosen by measurement: docs/PERFORMANCE.md).
#pragma once

#include <cstdint>

namespace recur::kernels {

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc);

// Triple-loop reference with the same contract (tests compare the two).
void sgemm_ref(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
               const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
               int64_t ldc);

// b[cols, rows] = aᵀ for a stored [rows, cols] (lda >= cols, ldb >= rows): OpenBLAS's
// somatcopy. Lets a product read a matrix in the layout dnnl_sgemm runs fastest.
void transpose(int64_t rows, int64_t cols, const float* a, int64_t lda, float* b, int64_t ldb);

// Threads used by the GEMM backend: RECUR_NUM_THREADS, else all cores. set_num_threads(n)
// overrides it (n >= 1).
int num_threads();
void set_num_threads(int n);

}  // namespace recur::kernels
