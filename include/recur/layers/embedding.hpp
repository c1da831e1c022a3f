// Embedding: token ids [T, B] (integers stored as floats) -> vectors [T, B, output_dim].
// embeddings [input_dim, output_dim]. mask_zero: id 0 is padding and produces the mask.
#pragma once

#include "recur/layers/layer.hpp"

namespace recur {

struct EmbeddingOptions {
  int64_t input_dim = 0;
  int64_t output_dim = 0;
  bool mask_zero = false;
  Initializer embeddings_initializer = Initializer::random_uniform(-0.05f, 0.05f);
};

class Embedding : public Layer {
 public:
  Embedding(std::string name, EmbeddingOptions options);
  const char* class_name() const override { return "Embedding"; }
  const EmbeddingOptions& options() const { return opt_; }
  const Tensor& forward(const Context& ctx, const Tensor& x, const Tensor* mask) override;
  const Tensor& backward(const Context& ctx, const Tensor& dy) override;
  const Tensor* output_mask() const override;
  nlohmann::json config() const override;

 protected:
  Shape do_build(const Shape& input_shape) override;

 private:
  EmbeddingOptions opt_;
  std::size_t embeddings_ = 0;
  const Tensor* x_ = nullptr;
  Tensor y_;     // [T, B, D]
  Tensor mask_;  // [T, B]
  Tensor dx_;    // [T, B] zeros: ids have no gradient
};

}  // namespace recur
