// AVX2 + FMA bodies of the cells' fused fast paths (compiled with -mavx2 -mfma; called only when
// the CPU supports them, for the activations named). Same contracts as cells.hpp.
#pragma once

#include <cstdint>

namespace recur::kernels::avx2 {
// lstm_backward for act = tanh, rec = sigmoid (Keras's and PyTorch's LSTM).
void lstm_backward_tanh_sigmoid(int64_t B, int64_t H, const float* gates, const float* c_prev,
                                const float* tc, const float* dh, const float* dc, float* dz,
                                float* dc_prev);
// gru_after_backward for act = tanh, rec = sigmoid (PyTorch's GRU, Keras's with reset_after).
void gru_after_backward_tanh_sigmoid(int64_t B, int64_t H, const float* gates, const float* qh,
                                     const float* h_prev, const float* dh, float* dp, float* dq,
                                     float* dh_prev);
}  // namespace recur::kernels::avx2
