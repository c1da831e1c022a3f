// Sequential: a chain of layers (Keras Sequential).
//
//   Sequential model;
//   model.add(make_lstm("lstm", {.units = 50, .activation = Activation::relu}));
//   model.add(std::make_unique<Dense>("dense", DenseOptions{.units = 1}));
//   model.build({-1, 1});                 // one sample: any number of steps, 1 feature
//   Tensor y = model.predict(x);          // x [N, T, 1] batch-first -> y [N, 1]
//
// Parameters live in one flat value arena and one flat gradient arena; layers hold views.
// forward()/backward() work on time-major batches (see layers/layer.hpp); predict() and the
// streaming step() take the user's batch-first arrays.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "recur/context.hpp"
#include "recur/layers/layer.hpp"
#include "recur/tensor.hpp"

namespace recur {

class Recurrent;

// A user-owned streaming state: the recurrent states of every recurrent layer for one batch of
// independent streams, plus staging buffers. Made by Sequential::make_stream_state().
class StreamState {
 public:
  int64_t batch() const { return batch_; }

 private:
  friend class Sequential;
  int64_t batch_ = 0;
  std::vector<Tensor> states_;  // h (and c) per recurrent layer, [B, H] each
  Tensor x_;                    // [Tc, B, F] staging for the time-major chunk
  Tensor y_;                    // the last output, batch-first
};

class Sequential {
 public:
  explicit Sequential(std::string name = "sequential");
  ~Sequential();
  Sequential(Sequential&&) noexcept;
  Sequential& operator=(Sequential&&) noexcept;

  const std::string& name() const { return name_; }
  // Appends a layer (unique name required). Returns it.
  Layer& add(std::unique_ptr<Layer> layer);
  std::size_t size() const { return layers_.size(); }
  Layer& layer(std::size_t i) { return *layers_.at(i); }
  const Layer& layer(std::size_t i) const { return *layers_.at(i); }
  Layer& layer(const std::string& name);

  // Builds every layer for one sample's shape ({T, F}, or {T} when the first layer is an
  // Embedding; T = -1 for any length), allocates the parameter arenas and initializes them
  // from `seed`.
  void build(const Shape& input_shape, uint64_t seed = 0);
  bool built() const { return built_; }
  const Shape& input_shape() const { return input_shape_; }
  const Shape& output_shape() const;
  bool takes_token_ids() const { return input_shape_.size() == 1; }

  // Time-major forward/backward (layers/layer.hpp); backward accumulates parameter gradients
  // and returns dL/dx.
  const Tensor& forward(const Context& ctx, const Tensor& x, const Tensor* mask = nullptr);
  const Tensor& backward(const Context& ctx, const Tensor& dy);
  void zero_grad();

  // The flat arenas and every parameter (file order: layer by layer).
  std::span<float> weights() { return weights_.span(); }
  std::span<float> grads() { return grads_.span(); }
  const std::vector<Param*>& params() const { return params_; }
  int64_t param_count() const { return weights_.numel(); }

  // Batch-first inference: x [N, T, F] (or ids [N, T]) -> outputs [N, ...], in batches.
  // Checks rank, feature count and finiteness, naming the sample/step/feature at fault.
  Tensor predict(const Tensor& x, int64_t batch_size = 32);

  // Streaming inference: feed one step x [B, F] (ids: [B]) or a chunk [B, Tc, F] (ids [B, Tc])
  // of B independent streams; states carry over between calls in `state`. Returns the model's
  // output for the chunk, batch-first. No allocation per call once shapes repeat. Rejects
  // models that look at future steps (go_backwards, Bidirectional).
  StreamState make_stream_state(int64_t batch = 1);
  const Tensor& step(StreamState& state, const Tensor& x);
  void reset(StreamState& state);
  // stateful=True layers: forget carried states.
  void reset_states();

  // Keras-like summary: layer (type), output shape, parameter count, totals.
  std::string summary() const;
  // Keras model JSON: {"class_name": "Sequential", "config": {"name", "layers": [...]}}.
  nlohmann::json to_json() const;

 private:
  void check_input(const Tensor& x, const char* what) const;
  std::string name_;
  std::vector<std::unique_ptr<Layer>> layers_;
  bool built_ = false;
  Shape input_shape_;
  Tensor weights_, grads_;
  std::vector<Param*> params_;
  Tensor x_tm_;  // predict(): time-major staging
};

}  // namespace recur
