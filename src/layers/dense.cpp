// Dense forward (GEMM + bias + activation) and backward (activation', dW, db, dx).
#include "recur/layers/dense.hpp"

#include <algorithm>
#include <array>
#include <span>

#include "kernels/gemm.hpp"
#include "kernels/vmath.hpp"
#include "recur/error.hpp"

namespace recur {

namespace {
// t.resize(`like` with its last extent replaced by `last`) without building a Shape, so a
// repeated shape allocates nothing.
void resize_with_last(Tensor& t, const Shape& like, int64_t last) {
  constexpr std::size_t kMaxRank = 8;
  if (like.size() > kMaxRank) {
    Shape s = like;
    s.back() = last;
    t.resize(s);
    return;
  }
  std::array<int64_t, kMaxRank> dims{};
  std::copy(like.begin(), like.end(), dims.begin());
  dims[like.size() - 1] = last;
  t.resize(std::span<const int64_t>(dims.data(), like.size()));
}
}  // namespace

Dense::Dense(std::string name, DenseOptions options) : Layer(std::move(name)), opt_(options) {
  if (opt_.units <= 0) fail<ConfigError>(where(), ": units must be positive, got ", opt_.units);
}

Shape Dense::do_build(const Shape& input_shape) {
  if (input_shape.empty() || input_shape.back() <= 0)
    fail<ShapeError>(where(), ": input needs a known last axis, got input shape ",
                     shape_str(input_shape));
  in_ = input_shape.back();
  kernel_ = add_param("kernel", {in_, opt_.units}, opt_.kernel_initializer);
  if (opt_.use_bias) bias_ = add_param("bias", {opt_.units}, opt_.bias_initializer);
  Shape out = input_shape;
  out.back() = opt_.units;
  return out;
}

const Tensor& Dense::forward(const Context&, const Tensor& x, const Tensor* mask) {
  // x [..., F] (rows = everything before the last axis) -> y [..., U]
  require_params();
  if (x.rank() < 2 || x.shape().back() != in_)
    fail<ShapeError>(where(), ": input has shape ", shape_str(x.shape()), ", expected last axis ",
                     in_, " (kernel is [", in_, ", ", opt_.units, "])");
  x_ = &x;
  mask_ = mask;
  const int64_t rows = x.numel() / in_, U = opt_.units;
  resize_with_last(y_, x.shape(), U);
  if (opt_.use_bias) {
    const float* b = param(bias_).value.data;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < U; ++j) y_[r * U + j] = b[j];
  }
  kernels::sgemm(false, false, rows, U, in_, 1.0f, x.data(), in_, param(kernel_).value.data, U,
                 opt_.use_bias ? 1.0f : 0.0f, y_.data(), U);
  if (opt_.activation == Activation::softmax)
    kernels::softmax_rows(y_.data(), y_.data(), rows, U);
  else
    kernels::activation_forward(opt_.activation, y_.data(), y_.data(), rows * U);
  return y_;
}

const Tensor& Dense::backward(const Context&, const Tensor& dy) {
  if (dy.shape() != y_.shape())
    fail<ShapeError>(where(), ": output gradient has shape ", shape_str(dy.shape()),
                     ", expected ", shape_str(y_.shape()));
  const int64_t rows = x_->numel() / in_, U = opt_.units;
  dz_.resize(dy.shape());
  if (opt_.activation == Activation::softmax)
    kernels::softmax_rows_backward(y_.data(), dy.data(), dz_.data(), rows, U);
  else
    kernels::activation_backward(opt_.activation, y_.data(), dy.data(), dz_.data(), rows * U);
  // dW [F, U] += xᵀ dz;  db += Σ dz;  dx = dz Wᵀ
  kernels::sgemm(true, false, in_, U, rows, 1.0f, x_->data(), in_, dz_.data(), U, 1.0f,
                 param(kernel_).grad.data, U);
  if (opt_.use_bias) {
    float* db = param(bias_).grad.data;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < U; ++j) db[j] += dz_[r * U + j];
  }
  dx_.resize(x_->shape());
  kernels::sgemm(false, true, rows, in_, U, 1.0f, dz_.data(), U, param(kernel_).value.data, U,
                 0.0f, dx_.data(), in_);
  return dx_;
}

nlohmann::json Dense::config() const {
  return {{"name", name()},
          {"trainable", true},
          {"dtype", "float32"},
          {"units", opt_.units},
          {"activation", activation_name(opt_.activation)},
          {"use_bias", opt_.use_bias},
          {"kernel_initializer", opt_.kernel_initializer.to_json()},
          {"bias_initializer", opt_.bias_initializer.to_json()}};
}

}  // namespace recur
