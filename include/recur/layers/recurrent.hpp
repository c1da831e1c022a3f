// SimpleRNN, LSTM and GRU: one Recurrent layer class around the one recurrent driver
// (src/layers/recurrent_driver.cpp); a cell kind adds only its gate math.
//
// Parameters (Keras layouts, DESIGN.md §3):
//   kernel           [I, G·H]   gate blocks: LSTM i,f,c,o   GRU z,r,h
//   recurrent_kernel [H, G·H]
//   bias             [G·H]      ([2, G·H] for GRU reset_after: row 0 input, row 1 recurrent)
// G = 1 (SimpleRNN), 4 (LSTM), 3 (GRU).
//
// Input [T, B, I] time-major (+ optional mask [T, B]); output [T, B, H] with return_sequences
// (in processing order, like Keras: reversed time when go_backwards), else [B, H].
// Masked steps keep the state; their output repeats the previous output (Keras), or is zero when
// zero_output_for_mask (set by Bidirectional).
#pragma once

#include <optional>
#include <vector>

#include "recur/activation.hpp"
#include "recur/layers/layer.hpp"

namespace recur {

enum class CellKind { simple, lstm, gru };

struct RecurrentOptions {
  int64_t units = 0;
  Activation activation = Activation::tanh;
  Activation recurrent_activation = Activation::sigmoid;  // LSTM, GRU
  bool use_bias = true;
  bool return_sequences = false;
  bool return_state = false;
  bool go_backwards = false;
  bool stateful = false;
  float dropout = 0.0f;            // on the inputs, one mask per sequence (training only)
  float recurrent_dropout = 0.0f;  // on h_{t-1} in the recurrent products (training only)
  bool unit_forget_bias = true;    // LSTM
  bool reset_after = true;         // GRU
  Initializer kernel_initializer = Initializer::glorot_uniform();
  Initializer recurrent_initializer = Initializer::orthogonal();
  Initializer bias_initializer = Initializer::zeros();
};

class RecurrentDriver;

class Recurrent : public Layer {
 public:
  Recurrent(CellKind kind, std::string name, RecurrentOptions options);
  ~Recurrent() override;

  const char* class_name() const override;
  CellKind cell() const { return kind_; }
  const RecurrentOptions& options() const { return opt_; }
  int64_t units() const { return opt_.units; }
  int state_count() const { return kind_ == CellKind::lstm ? 2 : 1; }  // h (and c)
  int gate_count() const;

  const Tensor& forward(const Context& ctx, const Tensor& x, const Tensor* mask) override;
  const Tensor& backward(const Context& ctx, const Tensor& dy) override;
  const Tensor* output_mask() const override;

  // Initial states for the following forward() calls: h (and c for LSTM), [B, H] each. Not
  // owned: they must stay alive until clear_initial_states(). Without them the states start at
  // zero (or, when stateful, at the states carried over from the previous call).
  void set_initial_states(const Tensor* h0, const Tensor* c0 = nullptr);
  void clear_initial_states() { h0_ = c0_ = nullptr; }
  // After forward(): the final states h (and c), [B, H] each.
  const std::vector<Tensor>& final_states() const { return final_states_; }
  // Gradients w.r.t. the final states for the following backward() calls (return_state);
  // not owned; nullptr = zeros.
  void set_final_state_grads(const Tensor* dh, const Tensor* dc = nullptr);
  // After backward(): the gradients w.r.t. the initial states, [B, H] each.
  const std::vector<Tensor>& initial_state_grads() const { return initial_state_grads_; }

  // stateful: forget the carried states (next call starts from zeros).
  void reset_states() override;
  // Initializers, plus Keras's unit_forget_bias (forget-gate bias block = 1) for LSTM.
  void initialize(Rng& rng) override;

  // Set by Bidirectional: masked steps output zeros instead of the previous output.
  void set_zero_output_for_mask(bool on) { zero_output_for_mask_ = on; }
  // Set by Bidirectional for its backward copy: reverse processing order.
  void set_go_backwards(bool on) { opt_.go_backwards = on; }

  nlohmann::json config() const override;

 protected:
  Shape do_build(const Shape& input_shape) override;

 private:
  CellKind kind_;
  RecurrentOptions opt_;
  bool zero_output_for_mask_ = false;
  int64_t input_features_ = 0;
  std::size_t kernel_ = 0, recurrent_kernel_ = 0, bias_ = 0;  // param indices
  std::unique_ptr<RecurrentDriver> driver_;
  const Tensor* h0_ = nullptr;
  const Tensor* c0_ = nullptr;
  const Tensor* d_final_h_ = nullptr;
  const Tensor* d_final_c_ = nullptr;
  std::vector<Tensor> final_states_, initial_state_grads_;
  Tensor input_dropout_mask_, recurrent_dropout_mask_;  // [B, I], [B, H]; empty when inactive
  const Tensor* mask_ = nullptr;
};

// Keras-named conveniences.
std::unique_ptr<Recurrent> make_simple_rnn(std::string name, RecurrentOptions options);
std::unique_ptr<Recurrent> make_lstm(std::string name, RecurrentOptions options);
std::unique_ptr<Recurrent> make_gru(std::string name, RecurrentOptions options);

}  // namespace recur
