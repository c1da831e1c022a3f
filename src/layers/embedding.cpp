// Embedding forward (gather) and backward (scatter-add); ids are range-checked with position.
#include "recur/layers/embedding.hpp"

#include <cmath>
#include <cstring>

#include "recur/error.hpp"

namespace recur {

Embedding::Embedding(std::string name, EmbeddingOptions options)
    : Layer(std::move(name)), opt_(options) {
  if (opt_.input_dim <= 0 || opt_.output_dim <= 0)
    fail<ConfigError>(where(), ": input_dim and output_dim must be positive, got ",
                      opt_.input_dim, " and ", opt_.output_dim);
}

Shape Embedding::do_build(const Shape& input_shape) {
  if (input_shape.size() != 1)
    fail<ShapeError>(where(), ": expects token-id sequences [T], got input shape ",
                     shape_str(input_shape));
  embeddings_ = add_param("embeddings", {opt_.input_dim, opt_.output_dim},
                          opt_.embeddings_initializer);
  return {input_shape[0], opt_.output_dim};
}

const Tensor& Embedding::forward(const Context&, const Tensor& x, const Tensor*) {
  // x [T, B] ids -> y [T, B, D]
  require_params();
  if (x.rank() != 2)
    fail<ShapeError>(where(), ": expects token ids [T, B] (time-major), got shape ",
                     shape_str(x.shape()));
  const int64_t T = x.dim(0), B = x.dim(1), D = opt_.output_dim;
  x_ = &x;
  y_.resize({T, B, D});
  if (opt_.mask_zero) mask_.resize({T, B});
  const float* E = param(embeddings_).value.data;
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t b = 0; b < B; ++b) {
      const float v = x[t * B + b];
      if (!(v >= 0.0f && v < static_cast<float>(opt_.input_dim)) || v != std::floor(v))
        fail<InvalidArgument>(where(), ": token id ", v, " at sample ", b, ", step ", t,
                              " is outside [0, ", opt_.input_dim, ")");
      const auto id = static_cast<int64_t>(v);
      std::memcpy(y_.data() + (t * B + b) * D, E + id * D,
                  static_cast<std::size_t>(D) * sizeof(float));
      if (opt_.mask_zero) mask_[t * B + b] = id != 0 ? 1.0f : 0.0f;
    }
  }
  return y_;
}

const Tensor& Embedding::backward(const Context&, const Tensor& dy) {
  if (dy.shape() != y_.shape())
    fail<ShapeError>(where(), ": output gradient has shape ", shape_str(dy.shape()),
                     ", expected ", shape_str(y_.shape()));
  const int64_t rows = x_->numel(), D = opt_.output_dim;
  float* dE = param(embeddings_).grad.data;
  for (int64_t r = 0; r < rows; ++r) {
    const auto id = static_cast<int64_t>((*x_)[r]);
    const float* g = dy.data() + r * D;
    for (int64_t j = 0; j < D; ++j) dE[id * D + j] += g[j];
  }
  dx_.resize(x_->shape());
  dx_.fill(0.0f);
  return dx_;
}

const Tensor* Embedding::output_mask() const { return opt_.mask_zero ? &mask_ : nullptr; }

nlohmann::json Embedding::config() const {
  return {{"name", name()},
          {"trainable", true},
          {"dtype", "float32"},
          {"input_dim", opt_.input_dim},
          {"output_dim", opt_.output_dim},
          {"mask_zero", opt_.mask_zero},
          {"embeddings_initializer", opt_.embeddings_initializer.to_json()}};
}

}  // namespace recur
