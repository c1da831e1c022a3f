// sgemm() on OpenBLAS, and the thread-count setting it obeys.
#include "kernels/gemm.hpp"

#include <cblas.h>

#include <cstdlib>
#include <string>
#include <thread>

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
    const int n = initial_threads();
    openblas_set_num_threads(n);
    return n;
  }();
  return threads;
}
}  // namespace

int num_threads() { return thread_setting(); }

void set_num_threads(int n) {
  if (n < 1) fail<InvalidArgument>("thread count must be at least 1, got ", n);
  thread_setting() = n;
  openblas_set_num_threads(n);
}

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc) {
  if (m == 0 || n == 0) return;
  (void)thread_setting();  // applies RECUR_NUM_THREADS before the first call
  if (k == 0) {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    return;
  }
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c,
              static_cast<blasint>(ldc));
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
