// AVX2 + FMA bodies of the vectorized activations (compiled with -mavx2 -mfma; called only when
// the CPU supports them). Same contracts as vmath.hpp.
#pragma once

#include <cstdint>

#include "recur/activation.hpp"

namespace recur::kernels::avx2 {
void activation_forward(Activation a, const float* x, float* y, int64_t n);
void activation_backward(Activation a, const float* y, const float* dy, float* dx, int64_t n);
void gate_activation_forward(Activation a, const float* x, float* y, int64_t n);
}  // namespace recur::kernels::avx2
