// Sequential: a chain of layers (Keras Sequential).
//
//   Sequential model;
//   model.add(make_lstm("lstm", {.units = 50, .activation = Activation::relu}));
//   model.add(std::make_unique<Dense>("dense", DenseOptions{.units = 1}));
//   model.build({-1, 1});                 // one sample: any number of steps, 1 feature
//   Tensor y = model.predict(x);          // x [N, T, 1] batch-first -> y [N, 1]
//
// forward()/backward() work on time-major batches (see layers/layer.hpp); predict() (Model) and
// the streaming step() take the user's batch-first arrays.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "recur/context.hpp"
#include "recur/layers/layer.hpp"
#include "recur/model/model.hpp"
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

class Sequential : public Model {
 public:
  explicit Sequential(std::string name = "sequential");
  ~Sequential() override;
  Sequential(Sequential&&) noexcept;
  Sequential& operator=(Sequential&&) noexcept;

  const char* class_name() const override { return "Sequential"; }
  // Appends a layer (unique name required). Returns it.
  Layer& add(std::unique_ptr<Layer> layer);
  std::size_t size() const { return layers_.size(); }
  using Model::layer;
  Layer& layer(std::size_t i) { return *layers_.at(i); }
  const Layer& layer(std::size_t i) const { return *layers_.at(i); }

  // Builds every layer for one sample's shape ({T, F}, or {T} when the first layer is an
  // Embedding; T = -1 for any length), allocates the parameter arenas and initializes them
  // from `seed`.
  void build(const Shape& input_shape, uint64_t seed = 0);

  std::size_t num_inputs() const override { return 1; }
  std::size_t num_outputs() const override { return 1; }
  const Shape& input_shape(std::size_t i = 0) const override;
  const Shape& output_shape(std::size_t i = 0) const override;

  // Time-major forward/backward of the chain (layers/layer.hpp); backward accumulates
  // parameter gradients and returns dL/dx.
  const Tensor& forward(const Context& ctx, const Tensor& x, const Tensor* mask = nullptr);
  const Tensor& backward(const Context& ctx, const Tensor& dy);

  const std::vector<const Tensor*>& forward_batch(const Context& ctx,
                                                  const std::vector<const Tensor*>& xs) override;
  const std::vector<const Tensor*>& output_masks() const override;
  void backward_batch(const Context& ctx, const std::vector<const Tensor*>& dys) override;
  std::vector<Layer*> layers() const override;

  // Streaming inference: feed one step x [B, F] (ids: [B]) or a chunk [B, Tc, F] (ids [B, Tc])
  // of B independent streams; states carry over between calls in `state`. Returns the model's
  // output for the chunk, batch-first. No allocation per call once shapes repeat. Rejects
  // models that look at future steps (go_backwards, Bidirectional).
  StreamState make_stream_state(int64_t batch = 1);
  const Tensor& step(StreamState& state, const Tensor& x);
  void reset(StreamState& state);

  // Keras-like summary: layer (type), output shape, parameter count, totals.
  std::string summary() const override;
  // Keras model JSON: {"class_name": "Sequential", "config": {"name", "layers": [...]}}.
  nlohmann::json to_json() const override;

 private:
  std::vector<std::unique_ptr<Layer>> layers_;
  std::size_t first_weighted_ = 0;  // first layer with weights (set by build)
  Shape input_shape_;
  std::vector<const Tensor*> outputs_;             // forward_batch(): the one output
  mutable std::vector<const Tensor*> out_masks_;   // output_masks(): its mask
};

}  // namespace recur
