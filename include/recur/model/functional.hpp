// Functional: a model that is a directed acyclic graph of layers with several inputs and outputs
// (the Keras functional API). Two typical graphs:
//
//   // (a) an LSTM branch and a GRU branch on one input, concatenated into one Dense
//   Functional g("branches");
//   NodeRef x = g.input("x", {-1, 3});                 // sample shape: any T, 3 features
//   NodeRef a = g.call(make_lstm("lstm", {.units = 8}), {x})[0];
//   NodeRef b = g.call(make_gru("gru", {.units = 4}), {x})[0];
//   NodeRef c = g.call(std::make_unique<Concatenate>("cat"), {a, b})[0];
//   NodeRef y = g.call(std::make_unique<Dense>("out", DenseOptions{.units = 1}), {c})[0];
//   g.build({x}, {y});                                 // parameters initialized from seed 0
//
//   // (b) seq2seq: the decoder starts from the encoder's final states
//   Functional s("seq2seq");
//   NodeRef e_in = s.input("enc_in", {-1, 3});
//   std::vector<NodeRef> enc =                          // {output, h, c} (return_state)
//       s.call(make_lstm("enc", {.units = 16, .return_state = true}), {e_in});
//   NodeRef d_in = s.input("dec_in", {-1, 2});
//   NodeRef d = s.call(make_lstm("dec", {.units = 16, .return_sequences = true}), {d_in},
//                      /*initial_state=*/{enc[1], enc[2]})[0];
//   NodeRef out = s.call(std::make_unique<Dense>("out", DenseOptions{.units = 2}), {d})[0];
//   s.build({e_in, d_in}, {out});
//   std::vector<Tensor> ys = s.predict({enc_x, dec_x});   // batch-first arrays, like Keras
//
// The builder:
//  - input(name, sample_shape): {T, F} float sequences, {T} token ids (int32/int64 in Keras
//    files); T = -1 for any length. Returns the input's tensor.
//  - call(layer, inputs, initial_state): takes the layer, builds it at once for its inputs'
//    sample shapes (shape errors name the layer here) and returns its output tensors: {output},
//    or for a recurrent layer with return_state {output, h} (SimpleRNN, GRU) / {output, h, c}
//    (LSTM); state outputs are [B, units] and carry no mask. Merge layers (Concatenate, Add;
//    layers/merge.hpp) take one or more inputs, every other layer exactly one. initial_state is
//    for recurrent layers only: {h} or {h, c}, each of sample shape {units}.
//  - build(inputs, outputs, seed): fixes the model's input and output order, checks the graph
//    (every input made by input() is listed, every output is computable from the inputs, every
//    called layer leads to an output) and allocates and initializes the parameters.
// Rules: names are unique across the graph (inputs included); each layer object is called once
// — shared layers (a Keras layer with several inbound nodes) are not supported and are a
// ConfigError when loading a file. Layers are stored, saved and initialized in call order
// (layers()).
//
// Execution: forward_batch() runs the layers in call order (a topological order: a call can
// only use tensors that exist), passing each edge's mask along (the producer's output_mask());
// a recurrent layer's initial_state tensors go through set_initial_states() for that call.
// backward_batch() walks the layers in reverse and accumulates each tensor's gradient over its
// consumers (a tensor used twice gets the sum); state gradients go through
// set_final_state_grads() / initial_state_grads(). An output whose dys entry is nullptr
// contributes no gradient (zeros); a layer none of whose outputs receives a gradient is skipped.
// Buffers are reused: a repeated batch shape allocates nothing in the graph walk.
//
// File format (DESIGN.md §3): to_json() is the Keras 2 functional config, {"class_name":
// "Functional", "config": {"name", "layers": [{"class_name", "config", "name", "inbound_nodes":
// [[["enc_in", 0, 0, {}]]]}, ...], "input_layers": [["enc_in", 0, 0], ...], "output_layers":
// [["out", 0, 0]]}}; a recurrent layer's initial states are extra tensors of its one inbound
// node ([["dec_in", 0, 0, {}], ["enc", 0, 1, {}], ["enc", 0, 2, {}]]), as tf.keras 2 writes
// them. io::functional_from_keras (src/io/keras_functional.cpp) reads that and the Keras 3 form.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "recur/context.hpp"
#include "recur/layers/layer.hpp"
#include "recur/model/model.hpp"
#include "recur/tensor.hpp"

namespace recur {

class MergeLayer;
class Recurrent;

// One tensor of a Functional graph (a Keras "KerasTensor"): output `index` of node `node`.
struct NodeRef {
  uint64_t graph = 0;  // the owning Functional's id (refs from another graph are rejected)
  std::size_t node = 0;
  std::size_t index = 0;
};

class Functional : public Model {
 public:
  explicit Functional(std::string name = "model");
  ~Functional() override;
  Functional(Functional&&) noexcept;
  Functional& operator=(Functional&&) noexcept;

  const char* class_name() const override { return "Functional"; }

  // ---- building (see above) ----
  NodeRef input(std::string name, Shape sample_shape);
  std::vector<NodeRef> call(std::unique_ptr<Layer> layer, const std::vector<NodeRef>& inputs,
                            const std::vector<NodeRef>& initial_state = {});
  void build(const std::vector<NodeRef>& inputs, const std::vector<NodeRef>& outputs,
             uint64_t seed = 0);
  // A tensor's sample shape (no batch axis; -1 = any length), e.g. {-1, 16} or {16}.
  const Shape& shape(const NodeRef& ref) const;
  // The name of the layer (or input) that makes the tensor.
  const std::string& producer(const NodeRef& ref) const;

  std::size_t num_inputs() const override { return inputs_.size(); }
  std::size_t num_outputs() const override { return outputs_refs_.size(); }
  const Shape& input_shape(std::size_t i = 0) const override;
  const Shape& output_shape(std::size_t i = 0) const override;
  const std::string& input_name(std::size_t i) const;

  const std::vector<const Tensor*>& forward_batch(const Context& ctx,
                                                  const std::vector<const Tensor*>& xs) override;
  const std::vector<const Tensor*>& output_masks() const override;
  void backward_batch(const Context& ctx, const std::vector<const Tensor*>& dys) override;
  // After backward_batch(): dL/d(input i), shaped like that input ([T, B, F]; zeros for token
  // ids), or nullptr when no gradient reached it. Valid until the next forward/backward.
  const Tensor* input_grad(std::size_t i) const;
  std::vector<Layer*> layers() const override;

  // Keras functional-style summary: Layer (type), Output Shape, Param #, Connected to.
  std::string summary() const override;
  // The Keras 2 functional config (see above).
  nlohmann::json to_json() const override;

 private:
  struct Node {
    std::string name;                // the layer's (or input's) name
    std::unique_ptr<Layer> layer;    // null for model inputs
    MergeLayer* merge = nullptr;     // `layer` as a merge layer, if it is one
    Recurrent* recurrent = nullptr;  // `layer` as a recurrent layer, if it is one
    std::vector<NodeRef> inputs;     // main inputs (one, or several for a merge layer)
    std::vector<NodeRef> states;     // initial_state tensors (recurrent layers)
    std::vector<Shape> shapes;       // sample shape of each output
    // Per batch: the outputs and their masks (forward), their gradients (backward: `grad`
    // points at the one contribution, or at `sum` once several were added up; nullptr = none).
    std::vector<const Tensor*> out, out_mask, grad;
    std::vector<Tensor> sum;
    std::vector<const Tensor*> in_x, in_mask;  // merge layers' argument lists
  };

  const Node& node_of(const NodeRef& ref, const char* what) const;
  void check_open(const char* what) const;
  void add_grad(const NodeRef& ref, const Tensor& g);
  std::vector<std::string> connections(const Node& n) const;

  uint64_t id_;
  std::vector<Node> nodes_;             // in call order (topological)
  std::vector<NodeRef> inputs_;         // the model's inputs (build order)
  std::vector<NodeRef> outputs_refs_;   // the model's outputs
  std::vector<const Tensor*> outputs_;  // forward_batch()'s result
  bool forwarded_ = false;
  mutable std::vector<const Tensor*> out_masks_;  // output_masks(): one per output
};

}  // namespace recur
