// sgemm() on oneDNN's dnnl_sgemm (matrix products) and OpenBLAS's sgemv (the matrix-vector
// products it runs faster), and the thread-count setting both obey.
//
// Threads: dnnl_sgemm and OpenBLAS always run on one thread. With N threads set, a product large
// enough is cut into N blocks of C's columns (or rows, when C is tall) and the blocks run at
// once through parallel_for() (kernels/parallel.hpp), recur's own pool. OpenMP's own threads
// spin at barriers; on a shared 2-core machine that made a 2-thread run up to 20× slower than a
// 1-thread one whenever another process was busy (docs/PERFORMANCE.md).
#include "kernels/gemm.hpp"

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>

#include "kernels/parallel.hpp"
#include "recur/error.hpp"

namespace recur::kernels {

namespace {
int initial_threads() {
  if (const char* env = std::getenv("RECUR_NUM_THREADS")) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n >= 1 && n <= 1024) return static_cast<int>(n);
    fail<InvalidArgument>("RECUR_NUM_THREADS='", env, "' is not a positive integer");
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw ? static_cast<int>(hw) : 1;
}

int& thread_setting() {
  static int threads = [] {
    openblas_set_num_threads(1);  // recur splits products itself (below)
    return initial_threads();
  }();
  return threads;
}

// dnnl_sgemm on the calling thread only.
void dnnl_product(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                  int64_t ldc) {
  if (omp_get_max_threads() != 1) omp_set_num_threads(1);
  const dnnl_status_t status =
      dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta,
                 c, ldc);
  if (status != dnnl_success)
    fail<Error>("dnnl_sgemm failed (status ", static_cast<int>(status), ") for ", m, "x", n, "x",
                k);
}

// A matrix-vector product that dnnl_sgemm runs no faster: one column of C, or one row with B
// transposed (OpenBLAS's sgemm would take its blocked GEMM path, about 5× slower at 1×1024×256
// than sgemv, docs/PERFORMANCE.md; one row with B as stored goes to dnnl_sgemm, 8.7 µs there
// against sgemv's 12.2 at 1×1024×256, the streaming step's recurrent product). OpenBLAS
// is kept on one thread (its idle threads spin on sched_yield and took time from recur's own).
// beta = 0 must not read C (it may hold garbage): clear it first so sgemv's beta·y cannot meet
// a NaN.
void gemv_product(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                  int64_t ldc) {
  if (beta == 0.0f) {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = 0.0f;
  }
  if (m == 1) {  // c[1, n] = alpha · a[1, k] · op(B)[k, n]; a's elements are lda apart when trans_a
    const blasint inc_a = trans_a ? static_cast<blasint>(lda) : 1;
    if (trans_b)  // B stored [n, k]: c = B · a
      cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<blasint>(n), static_cast<blasint>(k),
                  alpha, b, static_cast<blasint>(ldb), a, inc_a, beta, c, 1);
    else  // B stored [k, n]: c = Bᵀ · a
      cblas_sgemv(CblasRowMajor, CblasTrans, static_cast<blasint>(k), static_cast<blasint>(n),
                  alpha, b, static_cast<blasint>(ldb), a, inc_a, beta, c, 1);
  } else {  // c[m, 1] = alpha · op(A)[m, k] · b[k, 1]; b's elements are ldb apart unless trans_b
    const blasint inc_b = trans_b ? 1 : static_cast<blasint>(ldb);
    if (trans_a)  // A stored [k, m]: c = Aᵀ · b
      cblas_sgemv(CblasRowMajor, CblasTrans, static_cast<blasint>(k), static_cast<blasint>(m),
                  alpha, a, static_cast<blasint>(lda), b, inc_b, beta, c,
                  static_cast<blasint>(ldc));
    else  // A stored [m, k]: c = A · b
      cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<blasint>(m), static_cast<blasint>(k),
                  alpha, a, static_cast<blasint>(lda), b, inc_b, beta, c,
                  static_cast<blasint>(ldc));
  }
}

// The product on the calling thread.
void product(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
             const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
             int64_t ldc) {
  if ((m == 1 && trans_b) || n == 1)
    gemv_product(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else
    dnnl_product(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// A part of a column-split one-row product (the streaming step's h·U): the product goes to a
// buffer of the calling thread, then into C in one pass. Written straight into C, the parts of
// 1×1024×256 took ≈ 20 % longer, likely because the kernel passes over its block of C again
// and again and the hardware prefetcher runs into the neighbouring part's lines, which then
// move between the cores. (With 8 rows the extra pass costs more than it saves: not used.)
constexpr int64_t kScratchFloats = 4096;

void product_through_scratch(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                             float alpha, const float* a, int64_t lda, const float* b, int64_t ldb,
                             float beta, float* c, int64_t ldc) {
  alignas(64) static thread_local float scratch[kScratchFloats];  // [m, n], m·n ≤ kScratchFloats
  product(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, 0.0f, scratch, n);
  for (int64_t i = 0; i < m; ++i) {
    float* ci = c + i * ldc;
    const float* si = scratch + i * n;
    if (beta == 0.0f) {  // C may hold garbage: not read
      for (int64_t j = 0; j < n; ++j) ci[j] = si[j];
    } else {
      for (int64_t j = 0; j < n; ++j) ci[j] = si[j] + beta * ci[j];
    }
  }
}
}  // namespace

int num_threads() { return thread_setting(); }

void set_num_threads(int n) {
  if (n < 1) fail<InvalidArgument>("thread count must be at least 1, got ", n);
  thread_setting() = n;
}

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    return;
  }
  // Blocks of C for parallel_for: products below kSplitMacs multiply-adds stay whole (matrix-
  // vector products from kSplitMacsGemv: they run at memory speed, and split in two each half of
  // the matrix stays in one core's cache from call to call); blocks are multiples of 16 columns
  // or rows. Inside a parallel_for part (the recurrent driver's row blocks) the product runs
  // whole on that thread.
  constexpr int64_t kSplitMacs = int64_t{1} << 20;
  constexpr int64_t kSplitMacsGemv = int64_t{1} << 17;
  const int64_t long_side = std::max(m, n);
  const int64_t split_from = m == 1 || n == 1 ? kSplitMacsGemv : kSplitMacs;
  const int parts = static_cast<int>(
      std::min<int64_t>(thread_setting(), m * n * k < split_from ? 1 : long_side / 16));
  if (parts < 2 || in_parallel_for()) {
    product(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  const bool split_rows = m > n;
  const int64_t step = (long_side / parts + 15) / 16 * 16;
  const bool through_scratch = m == 1 && step <= kScratchFloats;
  parallel_for(parts, [&](int i) {
    const int64_t begin = std::min<int64_t>(i * step, long_side);
    const int64_t count = i == parts - 1 ? long_side - begin : std::min(step, long_side - begin);
    if (count <= 0) return;
    if (split_rows)  // rows [begin, begin + count) of C and op(A)
      product(trans_a, trans_b, count, n, k, alpha, trans_a ? a + begin : a + begin * lda, lda, b,
              ldb, beta, c + begin * ldc, ldc);
    else  // columns [begin, begin + count) of C and op(B)
      (through_scratch ? product_through_scratch : product)(
          trans_a, trans_b, m, count, k, alpha, a, lda, trans_b ? b + begin * ldb : b + begin, ldb,
          beta, c + begin, ldc);
  });
}

void transpose(int64_t rows, int64_t cols, const float* a, int64_t lda, float* b, int64_t ldb) {
  if (rows == 0 || cols == 0) return;
  thread_setting();  // OpenBLAS on one thread first
  cblas_somatcopy(CblasRowMajor, CblasTrans, static_cast<blasint>(rows),
                  static_cast<blasint>(cols), 1.0f, a, static_cast<blasint>(lda), b,
                  static_cast<blasint>(ldb));
}

void sgemm_ref(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
               const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
               int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0.0;
      for (int64_t p = 0; p < k; ++p) {
        const float av = trans_a ? a[p * lda + i] : a[i * lda + p];
        const float bv = trans_b ? b[j * ldb + p] : b[p * ldb + j];
        acc += static_cast<double>(av) * bv;
      }
      float& out = c[i * ldc + j];
      out = static_cast<float>(alpha * acc + (beta == 0.0f ? 0.0 : static_cast<double>(beta) * out));
    }
  }
}

}  // namespace recur::kernels
