// Merge layers (Keras Concatenate and Add): several inputs, one output. They live in functional
// models (model/functional.hpp), which call forward_multi()/backward_multi(); the single-input
// forward()/backward() and build() throw InvalidArgument.
//
// Inputs: i = 0..n-1, all of one rank, either vectors [B, U_i] (sample shape {U_i}) or
// time-major sequences [T, B, U_i] (sample shape {T, U_i}); every axis but the last must match
// (a sample length of -1 matches any length).
//   Concatenate  y = [x_0 | x_1 | ...] (last axis)  [..., Σ U_i]  dx_i = dy[..., columns of i]
//   Add          y = Σ x_i  (all U_i equal)          [..., U]      dx_i = dy
// Output mask (Keras compute_mask): the logical AND of the masks the inputs carry ([T, B]; inputs
// without a mask do not restrict it); nullptr when no input has one.
#pragma once

#include <vector>

#include "recur/layers/layer.hpp"

namespace recur {

class MergeLayer : public Layer {
 public:
  using Layer::Layer;

  // Builds for the inputs' sample shapes (at least one); returns the output sample shape.
  // ShapeError naming the layer and the shapes when they do not fit together.
  Shape build_multi(const std::vector<Shape>& input_shapes);
  const std::vector<Shape>& input_shapes() const { return input_shapes_; }

  // xs[i] time-major as above; masks empty or one entry per input (nullptr = no mask). Returns
  // y (owned by the layer, valid until the next call); the inputs must stay alive until
  // backward_multi().
  const Tensor& forward_multi(const Context& ctx, const std::vector<const Tensor*>& xs,
                              const std::vector<const Tensor*>& masks);
  // dL/dy -> dL/dx_i, one per input (owned by the layer, valid until the next call).
  const std::vector<Tensor>& backward_multi(const Context& ctx, const Tensor& dy);
  const Tensor* output_mask() const override { return out_mask_; }

  // Not usable with one input: throw InvalidArgument ("... use it in a functional model").
  const Tensor& forward(const Context& ctx, const Tensor& x, const Tensor* mask) override;
  const Tensor& backward(const Context& ctx, const Tensor& dy) override;

 protected:
  Shape do_build(const Shape& first_input_shape) override;
  // The output sample shape for checked input shapes (same rank, leading axes compatible).
  virtual Shape merged_shape(const std::vector<Shape>& shapes) const = 0;
  // y [R, U_out] (already shaped) from xs[i] [R, U_i] (R = every axis but the last, flattened).
  virtual void merge_forward(const std::vector<const Tensor*>& xs, Tensor& y) = 0;
  // dxs[i] (already shaped like xs[i]) from dy.
  virtual void merge_backward(const Tensor& dy, std::vector<Tensor>& dxs) = 0;
  [[noreturn]] void needs_several_inputs() const;

 private:
  std::vector<Shape> input_shapes_;
  std::vector<const Tensor*> xs_;  // forward's inputs, for backward's shapes
  Shape y_shape_;
  Tensor y_, mask_;
  const Tensor* out_mask_ = nullptr;
  std::vector<Tensor> dxs_;
};

// Concatenation on the last axis. Keras `axis`: -1, or the index of the last axis of the
// batch-first input (2 for sequences, 1 for vectors); any other axis is a ConfigError.
class Concatenate : public MergeLayer {
 public:
  explicit Concatenate(std::string name, int64_t axis = -1);
  const char* class_name() const override { return "Concatenate"; }
  int64_t axis() const { return axis_; }
  nlohmann::json config() const override;

 protected:
  Shape merged_shape(const std::vector<Shape>& shapes) const override;
  void merge_forward(const std::vector<const Tensor*>& xs, Tensor& y) override;
  void merge_backward(const Tensor& dy, std::vector<Tensor>& dxs) override;

 private:
  int64_t axis_;
};

// Elementwise sum of inputs of one shape (no broadcasting).
class Add : public MergeLayer {
 public:
  explicit Add(std::string name);
  const char* class_name() const override { return "Add"; }
  nlohmann::json config() const override;

 protected:
  Shape merged_shape(const std::vector<Shape>& shapes) const override;
  void merge_forward(const std::vector<const Tensor*>& xs, Tensor& y) override;
  void merge_backward(const Tensor& dy, std::vector<Tensor>& dxs) override;
};

}  // namespace recur
