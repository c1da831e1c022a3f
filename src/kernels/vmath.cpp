// Activation dispatch (decided once) and the scalar reference implementations.
#include "kernels/vmath.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/vmath_avx2.hpp"
#include "recur/error.hpp"

namespace recur {

Activation parse_activation(std::string_view name, std::string_view where) {
  if (name == "linear" || name == "None") return Activation::linear;
  if (name == "tanh") return Activation::tanh;
  if (name == "sigmoid") return Activation::sigmoid;
  if (name == "hard_sigmoid") return Activation::hard_sigmoid;
  if (name == "hard_sigmoid_v3") return Activation::hard_sigmoid_v3;
  if (name == "relu") return Activation::relu;
  if (name == "softmax") return Activation::softmax;
  fail<ConfigError>(where, ": unknown activation '", name,
                    "' (supported: linear, tanh, sigmoid, hard_sigmoid, hard_sigmoid_v3, relu, "
                    "softmax)");
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::linear: return "linear";
    case Activation::tanh: return "tanh";
    case Activation::sigmoid: return "sigmoid";
    case Activation::hard_sigmoid: return "hard_sigmoid";
    case Activation::hard_sigmoid_v3: return "hard_sigmoid_v3";
    case Activation::relu: return "relu";
    case Activation::softmax: return "softmax";
  }
  return "?";
}

namespace kernels {

void activation_forward_ref(Activation a, const float* x, float* y, int64_t n) {
  switch (a) {
    case Activation::linear:
      if (x != y) std::copy(x, x + n, y);
      return;
    case Activation::tanh:
      for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
      return;
    case Activation::sigmoid:
      for (int64_t i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
      return;
    case Activation::hard_sigmoid:
      for (int64_t i = 0; i < n; ++i) y[i] = std::clamp(0.2f * x[i] + 0.5f, 0.0f, 1.0f);
      return;
    case Activation::hard_sigmoid_v3:
      for (int64_t i = 0; i < n; ++i) y[i] = std::clamp(x[i] / 6.0f + 0.5f, 0.0f, 1.0f);
      return;
    case Activation::relu:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
      return;
    case Activation::softmax:
      fail<InternalError>("softmax is not elementwise: use softmax_rows");
  }
}

void activation_backward_ref(Activation a, const float* y, const float* dy, float* dx, int64_t n) {
  switch (a) {
    case Activation::linear:
      if (dy != dx) std::copy(dy, dy + n, dx);
      return;
    case Activation::tanh:
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
      return;
    case Activation::sigmoid:
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
      return;
    case Activation::hard_sigmoid:
      for (int64_t i = 0; i < n; ++i) dx[i] = (y[i] > 0.0f && y[i] < 1.0f) ? 0.2f * dy[i] : 0.0f;
      return;
    case Activation::hard_sigmoid_v3:
      for (int64_t i = 0; i < n; ++i)
        dx[i] = (y[i] > 0.0f && y[i] < 1.0f) ? dy[i] / 6.0f : 0.0f;
      return;
    case Activation::relu:
      for (int64_t i = 0; i < n; ++i) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
      return;
    case Activation::softmax:
      fail<InternalError>("softmax is not elementwise: use softmax_rows_backward");
  }
}

namespace {
bool detect_avx2() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}
const bool kUseAvx2 = detect_avx2();
}  // namespace

bool vmath_uses_avx2() { return kUseAvx2; }

void activation_forward(Activation a, const float* x, float* y, int64_t n) {
  if (kUseAvx2)
    avx2::activation_forward(a, x, y, n);
  else
    activation_forward_ref(a, x, y, n);
}

void gate_activation_forward(Activation a, const float* x, float* y, int64_t n) {
  if (kUseAvx2)
    avx2::gate_activation_forward(a, x, y, n);
  else
    activation_forward_ref(a, x, y, n);
}

void activation_backward(Activation a, const float* y, const float* dy, float* dx, int64_t n) {
  if (kUseAvx2)
    avx2::activation_backward(a, y, dy, dx, n);
  else
    activation_backward_ref(a, y, dy, dx, n);
}

void softmax_rows(const float* x, float* y, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    const float m = *std::max_element(xr, xr + n);
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
      yr[i] = std::exp(xr[i] - m);
      sum += yr[i];
    }
    const float inv = 1.0f / sum;
    for (int64_t i = 0; i < n; ++i) yr[i] *= inv;
  }
}

void softmax_rows_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* yr = y + r * n;
    const float* dyr = dy + r * n;
    float* dxr = dx + r * n;
    float dot = 0.0f;
    for (int64_t i = 0; i < n; ++i) dot += dyr[i] * yr[i];
    for (int64_t i = 0; i < n; ++i) dxr[i] = yr[i] * (dyr[i] - dot);
  }
}

}  // namespace kernels
}  // namespace recur
