// The one time loop in recur: forward and backward through time for every cell kind.
//
// Forward (shapes: T steps, B batch, I inputs, H units, G gates):
//   1. P = x·W for all steps at once: one GEMM [T·B, I] × [I, G·H]   (gates_, in place)
//   2. per step (in processing order; reversed time when go_backwards):
//        recurrent GEMM [B, H] × [H, G·H] into the step's gates (two GEMMs for GRU
//        reset_after=false), + b_in, the cell's fused pointwise step, then the mask select
//        h_t = m ⊙ h_new + (1 - m) ⊙ h_{t-1} (and c).
// Backward (reverse processing order):
//   per step: the cell's pointwise backward turns dh (+ dc) into dZ, masked rows pass their
//   state gradient through, then dh_{t-1} += dZ·Uᵀ (Uᵀ: a transposed copy made once per pass),
//   and each row's dZ is added to its bias-gradient row;
//   per chunk of ≈ 1024 rows (Tc steps), once complete: dW += xᵀ·dZ, dU += h_prevᵀ·dZ,
//   dx = dZ·Wᵀ — GEMMs over the chunk's steps; after the loop db = Σ of the bias rows.
//
// Buffers are indexed by input time t; state slots hs_[T+1] hold h_prev of step t at slot t
// (forward) or t+1 (go_backwards), so the h_prev of all steps is one contiguous [T·B, H] block.
// All buffers are members sized by the first call for a (T, B) and reused afterwards:
// no allocation inside the time loop, none at all for a repeated shape.
// Threads: a step's work for one batch row never reads another row, so with 16+ rows the time
// loop runs as row blocks on kernels::parallel_for (one per thread), each block through all
// steps (backward: through one chunk's steps) without waiting for the others; the products over
// many steps split inside sgemm().
#pragma once

#include <cstdint>

#include "kernels/cells.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/tensor.hpp"

namespace recur {

class RecurrentDriver {
 public:
  struct Spec {
    CellKind kind = CellKind::lstm;
    kernels::CellActivations acts{Activation::tanh, Activation::sigmoid};
    bool reset_after = true;  // GRU only
    int64_t input = 0;        // I
    int64_t units = 0;        // H
    bool go_backwards = false;
    bool return_sequences = false;
    bool zero_output_for_mask = false;
  };
  struct Weights {
    const float* kernel = nullptr;            // W [I, G·H]
    const float* recurrent_kernel = nullptr;  // U [H, G·H]
    const float* bias = nullptr;              // [G·H], or [2, G·H] for GRU reset_after; may be null
    float* d_kernel = nullptr;                // gradients, accumulated by backward()
    float* d_recurrent_kernel = nullptr;
    float* d_bias = nullptr;
  };

  static int gate_count(CellKind kind) {
    return kind == CellKind::lstm ? 4 : kind == CellKind::gru ? 3 : 1;
  }

  // x [T, B, I]; mask [T, B] or null; h0, c0 [B, H] or null (zeros); input_dropout [B, I] and
  // recurrent_dropout [B, H] multiplicative masks or null.
  void forward(const Spec& spec, const Weights& w, const float* x, int64_t T, int64_t B,
               const float* mask, const float* h0, const float* c0, const float* input_dropout,
               const float* recurrent_dropout);
  const Tensor& output() const { return y_; }  // [T, B, H] (return_sequences) or [B, H]
  const float* final_h() const;                // [B, H]
  const float* final_c() const;                // [B, H], LSTM only

  // dy shaped like output(); d_final_h, d_final_c [B, H] or null. Accumulates parameter
  // gradients into w's d_* pointers. input_grad = false skips dx (left empty).
  void backward(const Weights& w, const float* dy, const float* d_final_h, const float* d_final_c,
                bool input_grad = true);
  const Tensor& dx() const { return dx_; }  // [T, B, I], or [0] when skipped
  const float* d_h0() const { return dh_.data(); }  // [B, H]
  const float* d_c0() const { return dc_.data(); }  // [B, H], LSTM only

 private:
  int64_t prev_slot(int64_t t) const { return spec_.go_backwards ? t + 1 : t; }
  int64_t next_slot(int64_t t) const { return spec_.go_backwards ? t : t + 1; }
  int64_t time_of_step(int64_t k) const { return spec_.go_backwards ? T_ - 1 - k : k; }

  Spec spec_;
  int64_t T_ = 0, B_ = 0;
  const float* x_ = nullptr;     // caller's input [T, B, I]
  const float* mask_ = nullptr;  // [T, B]
  const float* input_dropout_ = nullptr;
  const float* recurrent_dropout_ = nullptr;

  // Forward, kept for backward.
  Tensor xd_;     // [T, B, I]     input after dropout (only with input dropout)
  Tensor gates_;  // [T, B, G·H]   activated gates
  Tensor hs_;     // [T+1, B, H]   states
  Tensor cs_;     // [T+1, B, H]   LSTM cell states
  Tensor hd_;     // [T, B, H]     h_prev ⊙ recurrent-dropout mask (only with recurrent dropout)
  Tensor extra_;  // [T, B, H]     LSTM act(c_t); GRU reset_after q_h; GRU reset_before r ⊙ hd
  Tensor rec_;    // [B, 3H]       GRU reset_after: h_prev·U + b_rec of the current step
  Tensor y_;      // [T, B, H] or [B, H]

  // Backward.
  Tensor ut_;     // [G·H, H]      Uᵀ, for dh = dZ·Uᵀ as an N,N product
  Tensor dz_;     // [Tc, B, G·H]  gradients w.r.t. the gate pre-activations (input side), one
                  //               chunk of Tc time steps (backward() says how many)
  Tensor dq_;     // [Tc, B, 3H]   GRU reset_after: gradients w.r.t. h_prev·U + b_rec
  Tensor dh_, dc_;        // [B, H] running state gradients (after the loop: w.r.t. h0, c0)
  Tensor dc_prev_;        // [B, H] LSTM: the step's dc_{t-1} before it becomes dc_
  Tensor dh_new_;         // [B, H] gradient into the step's new state
  Tensor dhd_, drh_;      // [B, H] gradient w.r.t. the GEMM input h, GRU d(r ⊙ hd)
  Tensor carry_;          // [B, H] output gradient carried through masked steps
  Tensor dx_;             // [T, B, I]
  Tensor bias_rows_;      // [1 or 2, B, G·H] bias gradient per batch row (GRU reset_after: 2)
};

}  // namespace recur
