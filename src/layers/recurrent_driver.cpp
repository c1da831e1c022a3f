// The recurrent driver: forward and backward through time (see recurrent_driver.hpp).
#include "layers/recurrent_driver.hpp"

#include <algorithm>
#include <cstring>

#include "kernels/gemm.hpp"
#include "kernels/parallel.hpp"
#include "recur/error.hpp"

namespace recur {

using kernels::sgemm;

namespace {
void copy_row(float* dst, const float* src, int64_t n) {
  std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(float));
}
void zero_row(float* dst, int64_t n) { std::fill_n(dst, n, 0.0f); }
// Row blocks per time step: a step's work splits by batch rows across the threads when every
// block gets at least kMinRows rows; a smaller batch runs whole (its products may still split
// by columns inside sgemm). Block p holds rows [block_begin(B, blocks, p), ..(p + 1)).
int row_blocks(int64_t B) {
  constexpr int64_t kMinRows = 8;
  return static_cast<int>(std::clamp<int64_t>(B / kMinRows, 1, kernels::num_threads()));
}
int64_t block_begin(int64_t B, int blocks, int p) { return B * p / blocks; }
// Blocks for work over `rows` rows of `row_cost` multiply-adds each: one per thread once the
// work reaches about 1 M multiply-adds (a few hundred microseconds), else one.
int parallel_blocks(int64_t rows, int64_t row_cost) {
  constexpr int64_t kSplitCost = int64_t{1} << 20;
  if (rows * row_cost < kSplitCost) return 1;
  return static_cast<int>(std::min<int64_t>(rows, kernels::num_threads()));
}
// out[j] += Σ_r m[r, j] over `rows` rows of width n, in column blocks on the threads.
void add_column_sums(const float* m, int64_t rows, int64_t n, float* out) {
  const int blocks = parallel_blocks(n, rows);
  kernels::parallel_for(blocks, [&](int p) {
    const int64_t j0 = block_begin(n, blocks, p), j1 = block_begin(n, blocks, p + 1);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = j0; j < j1; ++j) out[j] += m[r * n + j];
  });
}
}  // namespace

const float* RecurrentDriver::final_h() const {
  return hs_.data() + (spec_.go_backwards ? 0 : T_) * B_ * spec_.units;
}
const float* RecurrentDriver::final_c() const {
  return cs_.data() + (spec_.go_backwards ? 0 : T_) * B_ * spec_.units;
}

void RecurrentDriver::forward(const Spec& spec, const Weights& w, const float* x, int64_t T,
                              int64_t B, const float* mask, const float* h0, const float* c0,
                              const float* input_dropout, const float* recurrent_dropout) {
  spec_ = spec;
  T_ = T;
  B_ = B;
  x_ = x;
  mask_ = mask;
  input_dropout_ = input_dropout;
  recurrent_dropout_ = recurrent_dropout;
  const CellKind kind = spec.kind;
  const int64_t I = spec.input, H = spec.units, G = gate_count(kind), GH = G * H, BH = B * H;
  const kernels::CellActivations acts = spec.acts;
  const bool gru_after = kind == CellKind::gru && spec.reset_after;

  // Plan the workspace for (T, B): no-ops when the shape repeats.
  gates_.resize({T, B, GH});
  hs_.resize({T + 1, B, H});
  if (kind == CellKind::lstm) cs_.resize({T + 1, B, H});
  if (kind != CellKind::simple) extra_.resize({T, B, H});
  if (gru_after) rec_.resize({B, 3 * H});
  if (recurrent_dropout) hd_.resize({T, B, H});
  if (spec.return_sequences)
    y_.resize({T, B, H});
  else
    y_.resize({B, H});

  // 1. P = x·W over all steps, as blocks of the T·B rows on the threads (each block applies its
  //    input dropout, then writes its product). The input-side bias b_in is added step by step
  //    in the time loop, while the step's gates are in cache: written here as bias rows under
  //    the product it cost a pass over all of [T, B, G·H] (≈ 3 % of LSTM inference).
  if (input_dropout) xd_.resize({T, B, I});
  float* gates = gates_.data();
  const int64_t rows = T * B;
  const int projection_blocks = parallel_blocks(rows, GH * I);
  kernels::parallel_for(projection_blocks, [&](int p) {
    const int64_t r0 = block_begin(rows, projection_blocks, p);
    const int64_t nr = block_begin(rows, projection_blocks, p + 1) - r0;
    const float* xin = x + r0 * I;  // [nr, I]
    if (input_dropout) {
      float* xd = xd_.data() + r0 * I;
      for (int64_t r = 0; r < nr; ++r) {
        const float* m = input_dropout + ((r0 + r) % B) * I;
        for (int64_t i = 0; i < I; ++i) xd[r * I + i] = xin[r * I + i] * m[i];
      }
      xin = xd;
    }
    sgemm(false, false, nr, GH, I, 1.0f, xin, I, w.kernel, GH, 0.0f, gates + r0 * GH, GH);
  });

  // 2. The time loop.
  const int64_t init = spec.go_backwards ? T : 0;
  float* hs = hs_.data();
  float* cs = kind == CellKind::lstm ? cs_.data() : nullptr;
  if (h0) copy_row(hs + init * BH, h0, BH); else zero_row(hs + init * BH, BH);
  if (cs) {
    if (c0) copy_row(cs + init * BH, c0, BH); else zero_row(cs + init * BH, BH);
  }
  float* y = y_.data();
  if (!spec.return_sequences) zero_row(y, BH);
  const float* U = w.recurrent_kernel;
  // One step for batch rows [b0, b0 + nb): every row's work is independent of the others.
  const auto step_rows = [&](int64_t k, int64_t b0, int64_t nb) {
    const int64_t t = time_of_step(k);
    float* z = gates + (t * B + b0) * GH;                      // [nb, G·H]
    const float* hp = hs + prev_slot(t) * BH + b0 * H;        // [nb, H]
    float* hn = hs + next_slot(t) * BH + b0 * H;              // [nb, H]
    const int64_t n = nb * H;
    const float* hg = hp;  // the recurrent GEMM's input
    if (recurrent_dropout) {
      float* hd = hd_.data() + t * BH + b0 * H;
      const float* rd = recurrent_dropout + b0 * H;
      for (int64_t i = 0; i < n; ++i) hd[i] = hp[i] * rd[i];
      hg = hd;
    }
    float* ex = extra_.empty() ? nullptr : extra_.data() + t * BH + b0 * H;
    const auto add_input_bias = [&] {  // z += b_in, row by row
      if (!w.bias) return;
      for (int64_t b = 0; b < nb; ++b) {
        float* zb = z + b * GH;
        for (int64_t j = 0; j < GH; ++j) zb[j] += w.bias[j];
      }
    };
    switch (kind) {
      case CellKind::simple:
        sgemm(false, false, nb, H, H, 1.0f, hg, H, U, H, 1.0f, z, H);
        add_input_bias();
        kernels::simple_forward(acts, nb, H, z, hn);
        break;
      case CellKind::lstm:
        sgemm(false, false, nb, GH, H, 1.0f, hg, H, U, GH, 1.0f, z, GH);
        add_input_bias();
        kernels::lstm_forward(acts, nb, H, z, cs + prev_slot(t) * BH + b0 * H,
                              cs + next_slot(t) * BH + b0 * H, ex, hn);
        break;
      case CellKind::gru:
        if (gru_after) {
          float* q = rec_.data() + b0 * GH;
          if (w.bias) {
            for (int64_t b = 0; b < nb; ++b) copy_row(q + b * GH, w.bias + GH, GH);
          }
          sgemm(false, false, nb, GH, H, 1.0f, hg, H, U, GH, w.bias ? 1.0f : 0.0f, q, GH);
          add_input_bias();
          kernels::gru_after_forward(acts, nb, H, z, q, hp, ex, hn);
        } else {
          sgemm(false, false, nb, 2 * H, H, 1.0f, hg, H, U, GH, 1.0f, z, GH);
          add_input_bias();  // all three blocks: the third one's product adds on later
          kernels::gru_before_forward1(acts, nb, H, z, hg, ex);
          sgemm(false, false, nb, H, H, 1.0f, ex, H, U + 2 * H, GH, 1.0f, z + 2 * H, GH);
          kernels::gru_before_forward2(acts, nb, H, z, hp, hn);
        }
        break;
    }
    // Mask select: masked rows keep their state; their output repeats (or zeroes) the previous.
    const float* m = mask ? mask + t * B : nullptr;
    float* yk = spec.return_sequences ? y + k * BH : y;
    const float* y_prev = spec.return_sequences ? (k > 0 ? y + (k - 1) * BH : nullptr) : y;
    const float* hp_all = hs + prev_slot(t) * BH;
    float* hn_all = hs + next_slot(t) * BH;
    // Without a mask the last-step output is only needed after the last step.
    if (!m && !spec.return_sequences && k != T - 1) return;
    for (int64_t b = b0; b < b0 + nb; ++b) {
      if (!m || m[b] != 0.0f) {
        copy_row(yk + b * H, hn_all + b * H, H);
        continue;
      }
      copy_row(hn_all + b * H, hp_all + b * H, H);
      if (cs) copy_row(cs + next_slot(t) * BH + b * H, cs + prev_slot(t) * BH + b * H, H);
      if (spec.zero_output_for_mask || !y_prev)
        zero_row(yk + b * H, H);
      else if (y_prev != yk)
        copy_row(yk + b * H, y_prev + b * H, H);
    }
  };
  // Rows never meet inside the time loop, so each row block runs all T steps on its own thread,
  // with no wait for the other blocks between steps.
  const int blocks = row_blocks(B);
  kernels::parallel_for(blocks, [&](int p) {
    const int64_t b0 = block_begin(B, blocks, p), nb = block_begin(B, blocks, p + 1) - b0;
    for (int64_t k = 0; k < T; ++k) step_rows(k, b0, nb);
  });
}

void RecurrentDriver::backward(const Weights& w, const float* dy, const float* d_final_h,
                               const float* d_final_c, bool input_grad) {
  const CellKind kind = spec_.kind;
  const int64_t T = T_, B = B_, I = spec_.input, H = spec_.units, G = gate_count(kind),
                GH = G * H, BH = B * H;
  const kernels::CellActivations acts = spec_.acts;
  const bool gru_after = kind == CellKind::gru && spec_.reset_after;
  const bool gru_before = kind == CellKind::gru && !spec_.reset_after;

  // dZ is kept for one chunk of Tc time steps (time t in slot t mod Tc); once a chunk is
  // complete its weight and input gradients are taken as GEMMs over its Tc·B ≈ kChunkRows rows:
  // few enough that dZ stays in cache and memory stays small, enough for full GEMM speed.
  constexpr int64_t kChunkRows = 1024;
  const int64_t Tc = std::clamp<int64_t>((kChunkRows + B - 1) / std::max<int64_t>(B, 1), 1,
                                         std::max<int64_t>(T, 1));
  dz_.resize({Tc, B, GH});
  if (gru_after) dq_.resize({Tc, B, GH});
  dh_.resize({B, H});
  dc_.resize({B, H});
  dc_prev_.resize({B, H});
  dh_new_.resize({B, H});
  dhd_.resize({B, H});
  drh_.resize({B, H});
  carry_.resize({B, H});
  if (input_grad) dx_.resize({T, B, I}); else dx_.resize({0});
  if (d_final_h) copy_row(dh_.data(), d_final_h, BH); else dh_.fill(0.0f);
  if (d_final_c) copy_row(dc_.data(), d_final_c, BH); else dc_.fill(0.0f);
  carry_.fill(0.0f);
  // Bias gradients accumulate per batch row while each step's dz is still in cache; rows are
  // summed once after the loop (the order of every sum is the same for any thread count).
  if (w.d_bias) {
    bias_rows_.resize({gru_after ? 2 : 1, B, GH});
    bias_rows_.fill(0.0f);
  }

  // Uᵀ [G·H, H], once per pass: dnnl_sgemm runs dh = dZ·Uᵀ about twice as fast as N,N on this
  // copy as it does as N,T on U (94 → 183 GFLOP/s at 32×256×1024, docs/PERFORMANCE.md). Column
  // block [c0, c1) of U is then row block [c0, c1) of Ut.
  ut_.resize({GH, H});
  kernels::transpose(H, GH, w.recurrent_kernel, GH, ut_.data(), H);
  const float* Ut = ut_.data();
  const float* hs = hs_.data();
  const float* cs = kind == CellKind::lstm ? cs_.data() : nullptr;
  // One step for batch rows [b0, b0 + nb): every row's work is independent of the others.
  // Row buffers below are [nb, H] (dz, dq: [nb, G·H]).
  const auto step_rows = [&](int64_t k, int64_t b0, int64_t nb) {
    const int64_t t = time_of_step(k);
    const int64_t n = nb * H;
    float* dh = dh_.data() + b0 * H;
    float* dc = dc_.data() + b0 * H;
    float* dc_prev = dc_prev_.data() + b0 * H;
    float* dh_new = dh_new_.data() + b0 * H;
    float* dhd = dhd_.data() + b0 * H;
    float* drh = drh_.data() + b0 * H;
    float* carry = carry_.data() + b0 * H;
    const float* m = mask_ ? mask_ + t * B + b0 : nullptr;  // [nb]
    // Gradient reaching this step's output: dy at k (or the last-step dy) plus the carry.
    const float* dyk = spec_.return_sequences ? dy + k * BH : (k == T - 1 ? dy : nullptr);
    if (dyk) dyk += b0 * H;
    for (int64_t b = 0; b < nb; ++b) {
      float* dn = dh_new + b * H;
      float* cr = carry + b * H;
      const float* dyb = dyk ? dyk + b * H : nullptr;
      const float* dhb = dh + b * H;
      if (!m || m[b] != 0.0f) {
        for (int64_t j = 0; j < H; ++j) dn[j] = dhb[j] + cr[j] + (dyb ? dyb[j] : 0.0f);
        zero_row(cr, H);
      } else {
        zero_row(dn, H);
        if (spec_.zero_output_for_mask)
          zero_row(cr, H);
        else if (dyb)
          for (int64_t j = 0; j < H; ++j) cr[j] += dyb[j];
      }
    }
    const float* z = gates_.data() + (t * B + b0) * GH;
    float* dz = dz_.data() + (t % Tc * B + b0) * GH;
    float* dq = gru_after ? dq_.data() + (t % Tc * B + b0) * GH : nullptr;
    const float* hp = hs + prev_slot(t) * BH + b0 * H;
    const float* hg = recurrent_dropout_ ? hd_.data() + t * BH + b0 * H : hp;
    const float* ex = extra_.empty() ? nullptr : extra_.data() + t * BH + b0 * H;
    // dh_prev's direct part (not through U) is written into dh_new's buffer once consumed;
    // dh (running) becomes dh_prev at the end of the step.
    switch (kind) {
      case CellKind::simple:
        kernels::simple_backward(acts, nb, H, z, dh_new, dz);
        break;
      case CellKind::lstm:
        // Without a mask dc_{t-1} overwrites dc in place (each unit reads its own first).
        kernels::lstm_backward(acts, nb, H, z, cs + prev_slot(t) * BH + b0 * H, ex, dh_new, dc,
                               dz, m ? dc_prev : dc);
        break;
      case CellKind::gru:
        if (gru_after)
          kernels::gru_after_backward(acts, nb, H, z, ex, hp, dh_new, dz, dq, drh);
        else
          kernels::gru_before_backward1(acts, nb, H, z, hp, dh_new, dz, drh);
        break;
    }
    // Direct (non-U) part of dh_prev: GRU z ⊙ dh (in drh for now), zero for SimpleRNN/LSTM,
    // whose dh_prev = dZ·Uᵀ goes straight into dh when no row is masked and there is no
    // recurrent dropout (dh was consumed into dh_new above).
    const bool product_into_dh = kind != CellKind::gru && !m && !recurrent_dropout_;
    float* direct = drh;
    if (kind != CellKind::gru && !product_into_dh) zero_row(direct, n);
    // Masked rows: no gate gradient; state gradients pass straight through.
    if (m) {
      for (int64_t b = 0; b < nb; ++b) {
        if (m[b] != 0.0f) continue;
        zero_row(dz + b * GH, GH);
        if (gru_after) zero_row(dq + b * GH, GH);
        copy_row(direct + b * H, dh + b * H, H);
        if (kind == CellKind::lstm) copy_row(dc_prev + b * H, dc + b * H, H);
      }
    }
    // dh_prev = direct + (dZ·Uᵀ) [⊙ recurrent-dropout mask].
    switch (kind) {
      case CellKind::simple:
      case CellKind::lstm:
        sgemm(false, false, nb, H, GH, 1.0f, dz, GH, Ut, H, 0.0f, product_into_dh ? dh : dhd, H);
        break;
      case CellKind::gru:
        if (gru_after) {
          sgemm(false, false, nb, H, GH, 1.0f, dq, GH, Ut, H, 0.0f, dhd, H);
        } else {
          // drh = da·U_hᵀ, then dr and dhd += drh ⊙ r, then dhd += [dz, dr]·U_zrᵀ.
          // `direct` holds dh ⊙ z; keep it in dh_new (free now) while drh is reused.
          copy_row(dh_new, direct, n);
          direct = dh_new;
          sgemm(false, false, nb, H, H, 1.0f, dz + 2 * H, GH, Ut + 2 * H * H, H, 0.0f, drh, H);
          zero_row(dhd, n);
          kernels::gru_before_backward2(acts, nb, H, z, hg, drh, dz, dhd);
          sgemm(false, false, nb, H, 2 * H, 1.0f, dz, GH, Ut, H, 1.0f, dhd, H);
        }
        break;
    }
    if (!product_into_dh) {
      const float* rd = recurrent_dropout_ ? recurrent_dropout_ + b0 * H : nullptr;
      for (int64_t i = 0; i < n; ++i) dh[i] = direct[i] + (rd ? dhd[i] * rd[i] : dhd[i]);
    }
    if (kind == CellKind::lstm && m) copy_row(dc, dc_prev, n);
    if (w.d_bias) {
      float* acc = bias_rows_.data() + b0 * GH;  // [nb, G·H]
      for (int64_t i = 0; i < nb * GH; ++i) acc[i] += dz[i];
      if (gru_after) {
        float* acc_q = bias_rows_.data() + (B + b0) * GH;  // [nb, G·H]
        for (int64_t i = 0; i < nb * GH; ++i) acc_q[i] += dq[i];
      }
    }
  };
  // Weight and input gradients of time steps [t0, t0 + nt), a complete chunk (dZ slots 0..nt).
  const float* h_prev_all =
      recurrent_dropout_ ? hd_.data() : hs + (spec_.go_backwards ? BH : 0);  // [T·B, H]
  const auto chunk_grads = [&](int64_t t0, int64_t nt) {
    const int64_t rows = nt * B;
    const float* dz = dz_.data();                                           // [rows, G·H]
    const float* xin = (input_dropout_ ? xd_.data() : x_) + t0 * B * I;    // [rows, I]
    const float* h_prev = h_prev_all + t0 * BH;                            // [rows, H]
    sgemm(true, false, I, GH, rows, 1.0f, xin, I, dz, GH, 1.0f, w.d_kernel, GH);
    if (gru_after) {
      sgemm(true, false, H, GH, rows, 1.0f, h_prev, H, dq_.data(), GH, 1.0f,
            w.d_recurrent_kernel, GH);
    } else if (gru_before) {
      sgemm(true, false, H, 2 * H, rows, 1.0f, h_prev, H, dz, GH, 1.0f, w.d_recurrent_kernel,
            GH);
      sgemm(true, false, H, H, rows, 1.0f, extra_.data() + t0 * BH, H, dz + 2 * H, GH, 1.0f,
            w.d_recurrent_kernel + 2 * H, GH);
    } else {
      sgemm(true, false, H, GH, rows, 1.0f, h_prev, H, dz, GH, 1.0f, w.d_recurrent_kernel, GH);
    }
    if (!input_grad) return;
    float* dx = dx_.data() + t0 * B * I;  // [rows, I]
    sgemm(false, true, rows, I, GH, 1.0f, dz, GH, w.kernel, GH, 0.0f, dx, I);
    if (input_dropout_) {
      for (int64_t r = 0; r < rows; ++r) {
        const float* m = input_dropout_ + (r % B) * I;
        for (int64_t i = 0; i < I; ++i) dx[r * I + i] *= m[i];
      }
    }
  };

  // The chunk holding step k's time is complete after step k when k is its last step in
  // backward order (time runs down, or up when the layer goes backwards). Step 0 always ends one.
  const auto ends_chunk = [&](int64_t k) {
    const int64_t t = time_of_step(k), t0 = t / Tc * Tc, t1 = std::min(T, t0 + Tc);
    return t == (spec_.go_backwards ? t1 - 1 : t0);
  };
  // Rows meet only in the chunks' weight gradients: each row block runs a chunk's steps on its
  // own thread, then the chunk's gradients are taken.
  const int blocks = row_blocks(B);
  for (int64_t hi = T - 1; hi >= 0;) {
    int64_t lo = hi;  // steps hi, hi - 1, ..., lo
    while (!ends_chunk(lo)) --lo;
    kernels::parallel_for(blocks, [&](int p) {
      const int64_t b0 = block_begin(B, blocks, p), nb = block_begin(B, blocks, p + 1) - b0;
      for (int64_t k = hi; k >= lo; --k) step_rows(k, b0, nb);
    });
    const int64_t t0 = time_of_step(lo) / Tc * Tc;
    chunk_grads(t0, std::min(T, t0 + Tc) - t0);
    hi = lo - 1;
  }
  if (w.d_bias) {
    add_column_sums(bias_rows_.data(), B, GH, w.d_bias);
    if (gru_after) add_column_sums(bias_rows_.data() + B * GH, B, GH, w.d_bias + GH);
  }
}

}  // namespace recur
