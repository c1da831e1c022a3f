// Masking: a time step whose features all equal mask_value is masked (mask [T, B]) and zeroed.
#pragma once

#include "recur/layers/layer.hpp"

namespace recur {

class Masking : public Layer {
 public:
  Masking(std::string name, float mask_value = 0.0f);
  const char* class_name() const override { return "Masking"; }
  float mask_value() const { return mask_value_; }
  const Tensor& forward(const Context& ctx, const Tensor& x, const Tensor* mask) override;
  const Tensor& backward(const Context& ctx, const Tensor& dy) override;
  const Tensor* output_mask() const override { return &mask_; }
  nlohmann::json config() const override;

 protected:
  Shape do_build(const Shape& input_shape) override;

 private:
  float mask_value_;
  Tensor y_, mask_, dx_;  // [T, B, F], [T, B], [T, B, F]
};

}  // namespace recur
