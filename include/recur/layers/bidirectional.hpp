// Bidirectional(layer, merge_mode): runs a forward copy and a go_backwards copy of a recurrent
// layer over the same input and merges their outputs (concat, sum, mul, ave). With
// return_sequences the backward copy's outputs are put back in time order and masked steps
// output zeros (Keras). Tensors: <name>/forward/<w>, <name>/backward/<w>.
#pragma once

#include <memory>

#include "recur/layers/recurrent.hpp"

namespace recur {

enum class MergeMode { concat, sum, mul, ave };

class Bidirectional : public Layer {
 public:
  // `layer` configures both directions; the backward copy gets the opposite go_backwards.
  Bidirectional(std::string name, CellKind cell, RecurrentOptions layer_options,
                MergeMode merge_mode = MergeMode::concat, std::string layer_name = "");
  const char* class_name() const override { return "Bidirectional"; }
  MergeMode merge_mode() const { return merge_; }
  Recurrent& forward_layer() { return *fwd_; }
  Recurrent& backward_layer() { return *bwd_; }

  const Tensor& forward(const Context& ctx, const Tensor& x, const Tensor* mask) override;
  const Tensor& backward(const Context& ctx, const Tensor& dy) override;
  const Tensor* output_mask() const override;
  void collect_params(std::vector<Param*>& out) override;
  void initialize(Rng& rng) override;
  void reset_states() override;
  nlohmann::json config() const override;

 protected:
  Shape do_build(const Shape& input_shape) override;

 private:
  MergeMode merge_;
  std::unique_ptr<Recurrent> fwd_, bwd_;
  const Tensor* mask_ = nullptr;
  Tensor yb_;        // backward copy's output in time order
  Tensor y_;         // merged output
  const Tensor* yf_ = nullptr;       // forward copy's output
  const Tensor* yb_time_ = nullptr;  // backward copy's output in time order
  Tensor dyf_, dyb_, dyb_raw_;       // gradients for each direction (dyb_raw_: processing order)
  Tensor dx_;
};

MergeMode parse_merge_mode(const std::string& name, const std::string& where);
const char* merge_mode_name(MergeMode m);

}  // namespace recur
