// Vectorized activations and their derivatives over contiguous spans.
//
// activation_forward(a, x, y, n):   y = a(x)            (in place allowed: x == y)
// activation_backward(a, y, dy, dx, n): dx = dy * a'(x) written in terms of the output y = a(x):
//   tanh 1 - y^2, sigmoid y (1 - y), relu [y > 0], linear 1,
//   hard_sigmoid 0.2 [0 < y < 1], hard_sigmoid_v3 1/6 [0 < y < 1]       (in place allowed: dy == dx)
// softmax is not elementwise: softmax_rows / softmax_rows_backward work on [rows, n].
//
// The AVX2 path (Eigen's tanh, SLEEF's expf; 8 lanes) is chosen once at start-up when the CPU
// has AVX2 and FMA; the scalar reference below is the fallback and the twin it is tested against.
#pragma once

#include <cstdint>

#include "recur/activation.hpp"

namespace recur::kernels {

void activation_forward(Activation a, const float* x, float* y, int64_t n);
void activation_backward(Activation a, const float* y, const float* dy, float* dx, int64_t n);

// The recurrent cells' gate activation (recurrent_activation) in their forward step: as
// activation_forward, except that the AVX2 path takes sigmoid as ½·tanh(x/2) + ½, within 1.7e-7
// absolute of the exact value (not relative: outputs below ~1e-7 come out as 0). Gate values
// are multiplied into sums of O(1) terms, where that is below float rounding; it is 1.7× faster
// than the exp-based sigmoid. Backward (y ⊙ (1 − y)) is unchanged.
void gate_activation_forward(Activation a, const float* x, float* y, int64_t n);

// y[r, :] = softmax(x[r, :]) for r < rows; in place allowed.
void softmax_rows(const float* x, float* y, int64_t rows, int64_t n);
// dx[r, :] = y ⊙ (dy - <dy, y>); in place allowed (dy == dx).
void softmax_rows_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t n);

// The scalar twins (tests compare the fast path against them).
void activation_forward_ref(Activation a, const float* x, float* y, int64_t n);
void activation_backward_ref(Activation a, const float* y, const float* dy, float* dx, int64_t n);

// True when the AVX2 path is in use.
bool vmath_uses_avx2();

}  // namespace recur::kernels
