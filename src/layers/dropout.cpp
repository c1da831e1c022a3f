// Dropout forward (mask from the Context's RNG, saved) and backward (same mask).
#include "recur/layers/dropout.hpp"

#include "recur/error.hpp"

namespace recur {

Dropout::Dropout(std::string name, float rate) : Layer(std::move(name)), rate_(rate) {
  if (!(rate >= 0.0f && rate < 1.0f))
    fail<ConfigError>(where(), ": rate must be in [0, 1), got ", rate);
}

Shape Dropout::do_build(const Shape& input_shape) { return input_shape; }

const Tensor& Dropout::forward(const Context& ctx, const Tensor& x, const Tensor* mask) {
  x_ = &x;
  mask_ = mask;
  active_ = ctx.training && rate_ > 0.0f;
  if (!active_) return x;
  if (!ctx.rng) fail<InternalError>(where(), ": training with dropout needs Context::rng");
  keep_.resize(x.shape());
  y_.resize(x.shape());
  const float scale = 1.0f / (1.0f - rate_);
  for (int64_t i = 0; i < x.numel(); ++i) {
    keep_[i] = ctx.rng->uniform() < rate_ ? 0.0f : scale;
    y_[i] = x[i] * keep_[i];
  }
  return y_;
}

const Tensor& Dropout::backward(const Context&, const Tensor& dy) {
  if (dy.shape() != x_->shape())
    fail<ShapeError>(where(), ": output gradient has shape ", shape_str(dy.shape()),
                     ", expected ", shape_str(x_->shape()));
  if (!active_) return dy;
  dx_.resize(dy.shape());
  for (int64_t i = 0; i < dy.numel(); ++i) dx_[i] = dy[i] * keep_[i];
  return dx_;
}

nlohmann::json Dropout::config() const {
  return {{"name", name()}, {"trainable", true}, {"dtype", "float32"}, {"rate", rate_},
          {"noise_shape", nullptr}, {"seed", nullptr}};
}

}  // namespace recur
