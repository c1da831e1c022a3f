// Dropout: inverted dropout (kept units scaled by 1 / (1 - rate)) when training; identity
// otherwise. Passes the input mask through.
#pragma once

#include "recur/layers/layer.hpp"

namespace recur {

class Dropout : public Layer {
 public:
  Dropout(std::string name, float rate);
  const char* class_name() const override { return "Dropout"; }
  float rate() const { return rate_; }
  const Tensor& forward(const Context& ctx, const Tensor& x, const Tensor* mask) override;
  const Tensor& backward(const Context& ctx, const Tensor& dy) override;
  const Tensor* output_mask() const override { return mask_; }
  nlohmann::json config() const override;

 protected:
  Shape do_build(const Shape& input_shape) override;

 private:
  float rate_;
  bool active_ = false;
  const Tensor* x_ = nullptr;
  const Tensor* mask_ = nullptr;
  Tensor keep_, y_, dx_;  // same shape as x
};

}  // namespace recur
