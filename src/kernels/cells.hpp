// The cells' fused pointwise steps: everything a cell adds to the recurrent driver.
// One call handles one time step for the whole batch; B rows, H units, G gate blocks per row.
// Each forward overwrites the pre-activations with the activated gates (saved for backward);
// each backward reads those and writes the pre-activation gradients dZ. Equations (Keras
// conventions) are in docs/NUMERICS.md and repeated above each function.
//
// The driver (src/layers/recurrent_driver.cpp) owns time, masks, direction and every GEMM.
#pragma once

#include <cstdint>

#include "recur/activation.hpp"

namespace recur::kernels {

struct CellActivations {
  Activation act;  // candidate / output activation ("activation")
  Activation rec;  // gate activation ("recurrent_activation")
};

// ---- SimpleRNN (G = 1) ----------------------------------------------------------------------
// forward:  h = act(z)                 z [B, H] in, activated in place; h [B, H] out
// backward: dz = dh ⊙ act'(h)          gates = saved h
void simple_forward(CellActivations a, int64_t B, int64_t H, float* z, float* h);
void simple_backward(CellActivations a, int64_t B, int64_t H, const float* gates, const float* dh,
                     float* dz);

// ---- LSTM (G = 4, blocks i, f, c, o) ----------------------------------------------------------
// forward:  i = rec(z_i)  f = rec(z_f)  g = act(z_c)  o = rec(z_o)
//           c = f ⊙ c_prev + i ⊙ g      tc = act(c)   h = o ⊙ tc
// backward: dc_t = dc + dh ⊙ o ⊙ act'(tc)
//           do = dh ⊙ tc ⊙ rec'(o)   di = dc_t ⊙ g ⊙ rec'(i)   df = dc_t ⊙ c_prev ⊙ rec'(f)
//           dg = dc_t ⊙ i ⊙ act'(g)  dc_prev = dc_t ⊙ f
// gates [B, 4H]; c_prev, c, tc, h, dh, dc, dc_prev [B, H]; dz [B, 4H].
void lstm_forward(CellActivations a, int64_t B, int64_t H, float* gates, const float* c_prev,
                  float* c, float* tc, float* h);
void lstm_backward(CellActivations a, int64_t B, int64_t H, const float* gates,
                   const float* c_prev, const float* tc, const float* dh, const float* dc,
                   float* dz, float* dc_prev);

// ---- GRU, reset_after = true (G = 3, blocks z, r, h; PyTorch's GRU) ---------------------------
// p = x·W + b_in (gates in), q = h_prev·U + b_rec (rec in, [B, 3H]):
//   z = rec(p_z + q_z)   r = rec(p_r + q_r)   hc = act(p_h + r ⊙ q_h)
//   h = z ⊙ h_prev + (1 - z) ⊙ hc
// Saves q_h into qh [B, H].
// backward: dhc = dh ⊙ (1 - z)         da = dhc ⊙ act'(hc)           (da: d pre-activation of hc)
//           dz = dh ⊙ (h_prev - hc) ⊙ rec'(z)   dr = da ⊙ q_h ⊙ rec'(r)
//           dp = [dz, dr, da]   dq = [dz, dr, da ⊙ r]   dh_prev (direct part) = dh ⊙ z
void gru_after_forward(CellActivations a, int64_t B, int64_t H, float* gates, const float* rec,
                       const float* h_prev, float* qh, float* h);
void gru_after_backward(CellActivations a, int64_t B, int64_t H, const float* gates,
                        const float* qh, const float* h_prev, const float* dh, float* dp,
                        float* dq, float* dh_prev);

// ---- GRU, reset_after = false (G = 3; Keras 2 / TF.js default) ------------------------------
// Two recurrent products per step; the driver runs the GEMMs between the two halves:
//   (GEMM)  gates[:, z|r] += hd·U_zr
//   part 1: z = rec(.)  r = rec(.)  rh = r ⊙ hd            (hd: h_prev, dropout-masked if any)
//   (GEMM)  gates[:, h] += rh·U_h
//   part 2: hc = act(.)  h = z ⊙ h_prev + (1 - z) ⊙ hc
// backward part 1: dz, da as for reset_after; writes dz, da into dz[:, z], dz[:, h];
//                  dh_prev (direct part) = dh ⊙ z
//   (GEMM)  drh = da·U_hᵀ
// backward part 2: dr = drh ⊙ hd ⊙ rec'(r) into dz[:, r];  dhd += drh ⊙ r
void gru_before_forward1(CellActivations a, int64_t B, int64_t H, float* gates, const float* hd,
                         float* rh);
void gru_before_forward2(CellActivations a, int64_t B, int64_t H, float* gates,
                         const float* h_prev, float* h);
void gru_before_backward1(CellActivations a, int64_t B, int64_t H, const float* gates,
                          const float* h_prev, const float* dh, float* dz, float* dh_prev);
void gru_before_backward2(CellActivations a, int64_t B, int64_t H, const float* gates,
                          const float* hd, const float* drh, float* dz, float* dhd);

}  // namespace recur::kernels
