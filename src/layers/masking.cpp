// Masking forward (mask + zero masked steps) and backward (pass through unmasked steps).
#include "recur/layers/masking.hpp"

#include "recur/error.hpp"

namespace recur {

Masking::Masking(std::string name, float mask_value)
    : Layer(std::move(name)), mask_value_(mask_value) {}

Shape Masking::do_build(const Shape& input_shape) {
  if (input_shape.size() != 2)
    fail<ShapeError>(where(), ": expects sequences [T, F], got input shape ",
                     shape_str(input_shape));
  return input_shape;
}

const Tensor& Masking::forward(const Context&, const Tensor& x, const Tensor*) {
  // x [T, B, F] -> y [T, B, F], mask [T, B] = any_f(x != mask_value)
  if (x.rank() != 3)
    fail<ShapeError>(where(), ": expects [T, B, F], got shape ", shape_str(x.shape()));
  const int64_t TB = x.dim(0) * x.dim(1), F = x.dim(2);
  y_.resize(x.shape());
  mask_.resize({x.dim(0), x.dim(1)});
  for (int64_t r = 0; r < TB; ++r) {
    bool keep = false;
    for (int64_t f = 0; f < F; ++f) keep = keep || x[r * F + f] != mask_value_;
    mask_[r] = keep ? 1.0f : 0.0f;
    for (int64_t f = 0; f < F; ++f) y_[r * F + f] = keep ? x[r * F + f] : 0.0f;
  }
  return y_;
}

const Tensor& Masking::backward(const Context&, const Tensor& dy) {
  if (dy.shape() != y_.shape())
    fail<ShapeError>(where(), ": output gradient has shape ", shape_str(dy.shape()),
                     ", expected ", shape_str(y_.shape()));
  const int64_t TB = mask_.numel(), F = dy.dim(2);
  dx_.resize(dy.shape());
  for (int64_t r = 0; r < TB; ++r)
    for (int64_t f = 0; f < F; ++f) dx_[r * F + f] = mask_[r] != 0.0f ? dy[r * F + f] : 0.0f;
  return dx_;
}

nlohmann::json Masking::config() const {
  return {{"name", name()}, {"trainable", true}, {"dtype", "float32"},
          {"mask_value", mask_value_}};
}

}  // namespace recur
