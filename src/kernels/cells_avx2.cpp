// The LSTM and GRU (reset_after) backward steps for tanh / sigmoid in one pass per row: each
// unit's terms (cells.hpp) computed together, with the derivatives taken from the saved outputs
// (tanh' = 1 - y², sigmoid' = y (1 - y)), where the general path makes nine (LSTM) or eight
// (GRU) passes over the row. Plain loops the compiler vectorizes with AVX2 + FMA (this file is
// compiled with -mavx2 -mfma, CMakeLists.txt). (The LSTM forward fused the same way measured
// slower: docs/PERFORMANCE.md.)
#include "kernels/cells_avx2.hpp"

// The loops below write several gate blocks of one row; no iteration reads what another writes
// (dc_in and dc_out may be the same array, read and written at the same index). GCC is told so.
// Clang is left to its own analysis (it keeps these loops scalar; its assume_safety pragma is an
// error under -Werror where it cannot vectorize, as in the sanitizer / fuzzing build).
#if defined(__clang__)
#define RECUR_INDEPENDENT_ITERATIONS
#else
#define RECUR_INDEPENDENT_ITERATIONS _Pragma("GCC ivdep")
#endif

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
    RECUR_INDEPENDENT_ITERATIONS
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

void gru_after_backward_tanh_sigmoid(int64_t B, int64_t H, const float* gates, const float* qh,
                                     const float* h_prev, const float* dh, float* dp, float* dq,
                                     float* dh_prev) {
  for (int64_t b = 0; b < B; ++b) {
    const float* z_t = gates + b * 3 * H;
    const float* r_t = z_t + H;
    const float* hc_t = z_t + 2 * H;
    const float* hp = h_prev + b * H;
    const float* dh_t = dh + b * H;
    const float* qh_t = qh + b * H;
    float* dp_z = dp + b * 3 * H;
    float* dp_r = dp_z + H;
    float* dp_a = dp_z + 2 * H;
    float* dq_z = dq + b * 3 * H;
    float* dq_r = dq_z + H;
    float* dq_a = dq_z + 2 * H;
    float* dhp = dh_prev + b * H;
    RECUR_INDEPENDENT_ITERATIONS
    for (int64_t j = 0; j < H; ++j) {
      const float z = z_t[j], r = r_t[j], hc = hc_t[j], d = dh_t[j];
      const float da = d * (1.0f - z) * (1.0f - hc * hc);
      const float dz = d * (hp[j] - hc) * (z * (1.0f - z));
      const float dr = da * qh_t[j] * (r * (1.0f - r));
      dp_z[j] = dz;
      dp_r[j] = dr;
      dp_a[j] = da;
      dq_z[j] = dz;
      dq_r[j] = dr;
      dq_a[j] = da * r;
      dhp[j] = d * z;
    }
  }
}

}  // namespace recur::kernels::avx2
