// The cells' fused pointwise forward and backward steps (equations in cells.hpp and
// docs/NUMERICS.md). Rows are independent; each row's gate blocks stay in L1 while a step runs.
#include "kernels/cells.hpp"

#include "kernels/cells_avx2.hpp"
#include "kernels/vmath.hpp"

namespace recur::kernels {

// ---- SimpleRNN --------------------------------------------------------------------------------

void simple_forward(CellActivations a, int64_t B, int64_t H, float* z, float* h) {
  // z [B, H] -> act(z) in place (saved), copied to h [B, H].
  activation_forward(a.act, z, z, B * H);
  for (int64_t i = 0; i < B * H; ++i) h[i] = z[i];
}

void simple_backward(CellActivations a, int64_t B, int64_t H, const float* gates, const float* dh,
                     float* dz) {
  // dz = dh ⊙ act'(h), h = gates [B, H].
  activation_backward(a.act, gates, dh, dz, B * H);
}

// ---- LSTM -------------------------------------------------------------------------------------

void lstm_forward(CellActivations a, int64_t B, int64_t H, float* gates, const float* c_prev,
                  float* c, float* tc, float* h) {
  // gates [B, 4H] blocks i, f, c, o: pre-activations in, activations out.
  for (int64_t b = 0; b < B; ++b) {
    float* z = gates + b * 4 * H;
    const float* i_t = z;
    const float* f_t = z + H;
    const float* g_t = z + 2 * H;
    const float* o_t = z + 3 * H;
    gate_activation_forward(a.rec, z, z, 2 * H);  // i, f
    activation_forward(a.act, z + 2 * H, z + 2 * H, H);
    gate_activation_forward(a.rec, z + 3 * H, z + 3 * H, H);
    const float* cp = c_prev + b * H;
    float* c_t = c + b * H;
    float* tc_t = tc + b * H;
    float* h_t = h + b * H;
    for (int64_t j = 0; j < H; ++j) c_t[j] = f_t[j] * cp[j] + i_t[j] * g_t[j];
    activation_forward(a.act, c_t, tc_t, H);
    for (int64_t j = 0; j < H; ++j) h_t[j] = o_t[j] * tc_t[j];
  }
}

void lstm_backward(CellActivations a, int64_t B, int64_t H, const float* gates,
                   const float* c_prev, const float* tc, const float* dh, const float* dc,
                   float* dz, float* dc_prev) {
  // dc may alias dc_prev.
  if (a.act == Activation::tanh && a.rec == Activation::sigmoid && vmath_uses_avx2()) {
    avx2::lstm_backward_tanh_sigmoid(B, H, gates, c_prev, tc, dh, dc, dz, dc_prev);
    return;
  }
  for (int64_t b = 0; b < B; ++b) {
    const float* i_t = gates + b * 4 * H;
    const float* f_t = i_t + H;
    const float* g_t = i_t + 2 * H;
    const float* o_t = i_t + 3 * H;
    const float* cp = c_prev + b * H;
    const float* tc_t = tc + b * H;
    const float* dh_t = dh + b * H;
    const float* dc_in = dc + b * H;
    float* di = dz + b * 4 * H;
    float* df = di + H;
    float* dg = di + 2 * H;
    float* d_o = di + 3 * H;
    float* dct = dc_prev + b * H;
    // dc_t = dc + dh ⊙ o ⊙ act'(tc)   (dg is scratch here)
    for (int64_t j = 0; j < H; ++j) dg[j] = dh_t[j] * o_t[j];
    activation_backward(a.act, tc_t, dg, dg, H);
    for (int64_t j = 0; j < H; ++j) dct[j] = dc_in[j] + dg[j];
    for (int64_t j = 0; j < H; ++j) d_o[j] = dh_t[j] * tc_t[j];
    activation_backward(a.rec, o_t, d_o, d_o, H);
    for (int64_t j = 0; j < H; ++j) di[j] = dct[j] * g_t[j];
    activation_backward(a.rec, i_t, di, di, H);
    for (int64_t j = 0; j < H; ++j) df[j] = dct[j] * cp[j];
    activation_backward(a.rec, f_t, df, df, H);
    for (int64_t j = 0; j < H; ++j) dg[j] = dct[j] * i_t[j];
    activation_backward(a.act, g_t, dg, dg, H);
    for (int64_t j = 0; j < H; ++j) dct[j] *= f_t[j];
  }
}

// ---- GRU, reset_after = true ------------------------------------------------------------------

void gru_after_forward(CellActivations a, int64_t B, int64_t H, float* gates, const float* rec,
                       const float* h_prev, float* qh, float* h) {
  for (int64_t b = 0; b < B; ++b) {
    float* p = gates + b * 3 * H;  // z, r, h blocks
    const float* q = rec + b * 3 * H;
    for (int64_t j = 0; j < 2 * H; ++j) p[j] += q[j];
    gate_activation_forward(a.rec, p, p, 2 * H);
    const float* r_t = p + H;
    float* hc = p + 2 * H;
    float* qh_t = qh + b * H;
    for (int64_t j = 0; j < H; ++j) {
      qh_t[j] = q[2 * H + j];
      hc[j] += r_t[j] * qh_t[j];
    }
    activation_forward(a.act, hc, hc, H);
    const float* hp = h_prev + b * H;
    float* h_t = h + b * H;
    for (int64_t j = 0; j < H; ++j) h_t[j] = p[j] * hp[j] + (1.0f - p[j]) * hc[j];
  }
}

void gru_after_backward(CellActivations a, int64_t B, int64_t H, const float* gates,
                        const float* qh, const float* h_prev, const float* dh, float* dp,
                        float* dq, float* dh_prev) {
  if (a.act == Activation::tanh && a.rec == Activation::sigmoid && vmath_uses_avx2()) {
    avx2::gru_after_backward_tanh_sigmoid(B, H, gates, qh, h_prev, dh, dp, dq, dh_prev);
    return;
  }
  for (int64_t b = 0; b < B; ++b) {
    const float* z_t = gates + b * 3 * H;
    const float* r_t = z_t + H;
    const float* hc = z_t + 2 * H;
    const float* hp = h_prev + b * H;
    const float* dh_t = dh + b * H;
    const float* qh_t = qh + b * H;
    float* dz = dp + b * 3 * H;
    float* dr = dz + H;
    float* da = dz + 2 * H;
    for (int64_t j = 0; j < H; ++j) da[j] = dh_t[j] * (1.0f - z_t[j]);
    activation_backward(a.act, hc, da, da, H);
    for (int64_t j = 0; j < H; ++j) dz[j] = dh_t[j] * (hp[j] - hc[j]);
    activation_backward(a.rec, z_t, dz, dz, H);
    for (int64_t j = 0; j < H; ++j) dr[j] = da[j] * qh_t[j];
    activation_backward(a.rec, r_t, dr, dr, H);
    float* dq_t = dq + b * 3 * H;
    for (int64_t j = 0; j < 2 * H; ++j) dq_t[j] = dz[j];
    for (int64_t j = 0; j < H; ++j) dq_t[2 * H + j] = da[j] * r_t[j];
    float* dhp = dh_prev + b * H;
    for (int64_t j = 0; j < H; ++j) dhp[j] = dh_t[j] * z_t[j];
  }
}

// ---- GRU, reset_after = false -----------------------------------------------------------------

void gru_before_forward1(CellActivations a, int64_t B, int64_t H, float* gates, const float* hd,
                         float* rh) {
  for (int64_t b = 0; b < B; ++b) {
    float* p = gates + b * 3 * H;
    gate_activation_forward(a.rec, p, p, 2 * H);  // z, r
    const float* r_t = p + H;
    const float* hd_t = hd + b * H;
    float* rh_t = rh + b * H;
    for (int64_t j = 0; j < H; ++j) rh_t[j] = r_t[j] * hd_t[j];
  }
}

void gru_before_forward2(CellActivations a, int64_t B, int64_t H, float* gates,
                         const float* h_prev, float* h) {
  for (int64_t b = 0; b < B; ++b) {
    float* p = gates + b * 3 * H;
    float* hc = p + 2 * H;
    activation_forward(a.act, hc, hc, H);
    const float* hp = h_prev + b * H;
    float* h_t = h + b * H;
    for (int64_t j = 0; j < H; ++j) h_t[j] = p[j] * hp[j] + (1.0f - p[j]) * hc[j];
  }
}

void gru_before_backward1(CellActivations a, int64_t B, int64_t H, const float* gates,
                          const float* h_prev, const float* dh, float* dz, float* dh_prev) {
  for (int64_t b = 0; b < B; ++b) {
    const float* z_t = gates + b * 3 * H;
    const float* hc = z_t + 2 * H;
    const float* hp = h_prev + b * H;
    const float* dh_t = dh + b * H;
    float* dz_t = dz + b * 3 * H;
    float* da = dz_t + 2 * H;
    for (int64_t j = 0; j < H; ++j) da[j] = dh_t[j] * (1.0f - z_t[j]);
    activation_backward(a.act, hc, da, da, H);
    for (int64_t j = 0; j < H; ++j) dz_t[j] = dh_t[j] * (hp[j] - hc[j]);
    activation_backward(a.rec, z_t, dz_t, dz_t, H);
    float* dhp = dh_prev + b * H;
    for (int64_t j = 0; j < H; ++j) dhp[j] = dh_t[j] * z_t[j];
  }
}

void gru_before_backward2(CellActivations a, int64_t B, int64_t H, const float* gates,
                          const float* hd, const float* drh, float* dz, float* dhd) {
  for (int64_t b = 0; b < B; ++b) {
    const float* r_t = gates + b * 3 * H + H;
    const float* hd_t = hd + b * H;
    const float* drh_t = drh + b * H;
    float* dr = dz + b * 3 * H + H;
    for (int64_t j = 0; j < H; ++j) dr[j] = drh_t[j] * hd_t[j];
    activation_backward(a.rec, r_t, dr, dr, H);
    float* dhd_t = dhd + b * H;
    for (int64_t j = 0; j < H; ++j) dhd_t[j] += drh_t[j] * r_t[j];
  }
}

}  // namespace recur::kernels
