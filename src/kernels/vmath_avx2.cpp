// AVX2 + FMA activations, 8 floats per iteration. tanh is Eigen's vectorized rational
// approximation (within 5 ulp of std::tanh, tests/unit/kernels_test.cpp; 2.0 ns per 8 floats
// against 5.2 for SLEEF's 3.5-ULP tanhf and 16.4 for its 1.0-ULP one, docs/PERFORMANCE.md);
// sigmoid is 1 / (1 + e^-x) on SLEEF's 1.0-ULP expf (within 4 ulp, also for tiny outputs), and
// the recurrent gates' sigmoid is ½·tanh(x/2) + ½ on the same tanh (gate_activation_forward:
// 2.3 ns against 3.9, within 1.7e-7 absolute). The scalar reference takes the tail where Eigen
// does not. This file is compiled with -mavx2 -mfma (CMakeLists.txt).
#include "kernels/vmath_avx2.hpp"

#include <immintrin.h>
#include <sleef.h>

#include <Eigen/Core>

#include "kernels/vmath.hpp"

namespace recur::kernels::avx2 {
namespace {

// Applies `op` to full 8-lane blocks, then the scalar reference to the remainder.
template <typename Op>
void forward_blocks(Activation a, const float* x, float* y, int64_t n, Op op) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, op(_mm256_loadu_ps(x + i)));
  if (i < n) activation_forward_ref(a, x + i, y + i, n - i);
}

template <typename Op>
void backward_blocks(Activation a, const float* y, const float* dy, float* dx, int64_t n, Op op) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dx + i, op(_mm256_loadu_ps(y + i), _mm256_loadu_ps(dy + i)));
  if (i < n) activation_backward_ref(a, y + i, dy + i, dx + i, n - i);
}

using ConstSpan = Eigen::Map<const Eigen::ArrayXf>;
using Span = Eigen::Map<Eigen::ArrayXf>;

// y = tanh(x) over n floats, in place allowed (Eigen's packet loop, its own scalar tail).
void tanh_span(const float* x, float* y, int64_t n) { Span(y, n) = ConstSpan(x, n).tanh(); }

}  // namespace

void gate_activation_forward(Activation a, const float* x, float* y, int64_t n) {
  if (a != Activation::sigmoid) {
    activation_forward(a, x, y, n);
    return;
  }
  Span(y, n) = 0.5f * (0.5f * ConstSpan(x, n)).tanh() + 0.5f;
}

void activation_forward(Activation a, const float* x, float* y, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps(), half = _mm256_set1_ps(0.5f);
  switch (a) {
    case Activation::linear:
    case Activation::softmax:
      activation_forward_ref(a, x, y, n);
      return;
    case Activation::tanh:
      tanh_span(x, y, n);
      return;
    case Activation::sigmoid:
      forward_blocks(a, x, y, n, [&](__m256 v) {
        const __m256 e = Sleef_expf8_u10avx2(_mm256_sub_ps(zero, v));
        return _mm256_div_ps(one, _mm256_add_ps(one, e));
      });
      return;
    case Activation::hard_sigmoid: {
      const __m256 k = _mm256_set1_ps(0.2f);
      forward_blocks(a, x, y, n, [&](__m256 v) {
        return _mm256_min_ps(one, _mm256_max_ps(zero, _mm256_fmadd_ps(k, v, half)));
      });
      return;
    }
    case Activation::hard_sigmoid_v3: {
      const __m256 six = _mm256_set1_ps(6.0f);
      forward_blocks(a, x, y, n, [&](__m256 v) {
        return _mm256_min_ps(one, _mm256_max_ps(zero, _mm256_add_ps(_mm256_div_ps(v, six), half)));
      });
      return;
    }
    case Activation::relu:
      forward_blocks(a, x, y, n, [&](__m256 v) { return _mm256_max_ps(v, zero); });
      return;
  }
}

void activation_backward(Activation a, const float* y, const float* dy, float* dx, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
  switch (a) {
    case Activation::linear:
    case Activation::softmax:
      activation_backward_ref(a, y, dy, dx, n);
      return;
    case Activation::tanh:
      backward_blocks(a, y, dy, dx, n, [&](__m256 v, __m256 g) {
        return _mm256_mul_ps(g, _mm256_fnmadd_ps(v, v, one));
      });
      return;
    case Activation::sigmoid:
      backward_blocks(a, y, dy, dx, n, [&](__m256 v, __m256 g) {
        return _mm256_mul_ps(g, _mm256_mul_ps(v, _mm256_sub_ps(one, v)));
      });
      return;
    case Activation::hard_sigmoid:
    case Activation::hard_sigmoid_v3: {
      const __m256 k = _mm256_set1_ps(a == Activation::hard_sigmoid ? 0.2f : 1.0f / 6.0f);
      backward_blocks(a, y, dy, dx, n, [&](__m256 v, __m256 g) {
        const __m256 inside = _mm256_and_ps(_mm256_cmp_ps(v, zero, _CMP_GT_OQ),
                                            _mm256_cmp_ps(v, one, _CMP_LT_OQ));
        return _mm256_and_ps(inside, _mm256_mul_ps(g, k));
      });
      return;
    }
    case Activation::relu:
      backward_blocks(a, y, dy, dx, n, [&](__m256 v, __m256 g) {
        return _mm256_and_ps(_mm256_cmp_ps(v, zero, _CMP_GT_OQ), g);
      });
      return;
  }
}

}  // namespace recur::kernels::avx2
