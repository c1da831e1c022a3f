// The LSTM backward step for tanh / sigmoid in one pass per row: each unit's terms (cells.hpp)
// computed together, with the derivatives taken from the saved outputs (tanh' = 1 - y²,
// sigmoid' = y (1 - y)), where the general path makes nine passes over the row. A plain loop
// the compiler vectorizes with AVX2 + FMA (this file is compiled with -mavx2 -mfma,
// CMakeLists.txt). (The forward fused the same way measured slower: docs/PERFORMANCE.md.)
#include "kernels/cells_avx2.hpp"

namespace recur::kernels::avx2 {

void lstm_backward_tanh_sigmoid(int64_t B, int64_t H, const float* gates, const float* c_prev,
                                const float* tc, const float* dh, const float* dc, float* dz,
                                float* dc_prev) {
  for (int64_t b = 0; b < B; ++b) {
    const float* i_t = gates + b * 4 * H;
    const float* f_t = i_t + H;
    const float* g_t = i_t + 2 * H;
    const float* o_t = i_t + 3 * H;
    const float* cp = c_prev + b * H;
    const float* tc_t = tc + b * H;
    const float* dh_t = dh + b * H;
    const float* dc_in = dc + b * H;  // may be dc_out: each unit reads its own before writing
    float* di = dz + b * 4 * H;
    float* df = di + H;
    float* dg = di + 2 * H;
    float* d_o = di + 3 * H;
    float* dc_out = dc_prev + b * H;
#pragma GCC ivdep
    for (int64_t j = 0; j < H; ++j) {
      const float i = i_t[j], f = f_t[j], g = g_t[j], o = o_t[j], t = tc_t[j], d = dh_t[j];
      const float dct = dc_in[j] + d * o * (1.0f - t * t);
      d_o[j] = d * t * (o * (1.0f - o));
      di[j] = dct * g * (i * (1.0f - i));
      df[j] = dct * cp[j] * (f * (1.0f - f));
      dg[j] = dct * i * (1.0f - g * g);
      dc_out[j] = dct * f;
    }
  }
}

}  // namespace recur::kernels::avx2
