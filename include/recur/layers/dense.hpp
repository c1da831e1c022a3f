// Dense: y = activation(x·kernel + bias) on the last axis; [B, F] or per time step on [T, B, F].
// kernel [F, units], bias [units]. Passes the input mask through (Keras).
#pragma once

#include "recur/activation.hpp"
#include "recur/layers/layer.hpp"

namespace recur {

struct DenseOptions {
  int64_t units = 0;
  Activation activation = Activation::linear;
  bool use_bias = true;
  Initializer kernel_initializer = Initializer::glorot_uniform();
  Initializer bias_initializer = Initializer::zeros();
};

class Dense : public Layer {
 public:
  Dense(std::string name, DenseOptions options);
  const char* class_name() const override { return "Dense"; }
  const DenseOptions& options() const { return opt_; }
  const Tensor& forward(const Context& ctx, const Tensor& x, const Tensor* mask) override;
  const Tensor& backward(const Context& ctx, const Tensor& dy) override;
  const Tensor* output_mask() const override { return mask_; }
  nlohmann::json config() const override;

 protected:
  Shape do_build(const Shape& input_shape) override;

 private:
  DenseOptions opt_;
  int64_t in_ = 0;
  std::size_t kernel_ = 0, bias_ = 0;
  const Tensor* x_ = nullptr;
  const Tensor* mask_ = nullptr;
  Tensor y_;   // [..., units]
  Tensor dz_;  // [..., units] gradient before the activation
  Tensor dx_;  // [..., F]
};

}  // namespace recur
