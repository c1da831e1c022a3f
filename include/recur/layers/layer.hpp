// The layer contract.
//
// A layer is built once for one sample's input shape (no batch axis; -1 = any length):
//   {T, F} a sequence of feature vectors, {T} a sequence of token ids, {F} a vector.
// It then runs time-major batches: x is [T, B, F], [T, B] (ids) or [B, F]; an optional mask is
// [T, B] (1 = real step, 0 = padding). forward() keeps what backward() needs; backward() takes
// dL/dy, returns dL/dx (same shape as x; zeros for token ids) and ACCUMULATES parameter gradients
// into the grad views. Model::zero_grad() is the one place that clears them.
// The tensors returned by forward/backward are owned by the layer and stay valid until its next
// call; the input x must stay alive and unchanged until backward().
//
// Parameters are declared in build() (name, shape, initializer) and bound afterwards to views
// into the model's flat value and gradient arenas; their names are the tensor names of the
// model file (<layer name>/<param name>), Keras layouts (DESIGN.md §3).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "recur/context.hpp"
#include "recur/initializer.hpp"
#include "recur/tensor.hpp"

namespace recur {

struct Param {
  std::string name;  // e.g. "kernel", "forward/recurrent_kernel"
  Shape shape;
  Initializer init;
  TensorView value;  // bound by the model
  TensorView grad;
};

class Layer {
 public:
  explicit Layer(std::string name) : name_(std::move(name)) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  virtual const char* class_name() const = 0;
  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }

  // Builds for `input_shape` (see above) and returns the output sample shape.
  Shape build(const Shape& input_shape);
  bool built() const { return built_; }
  const Shape& input_shape() const { return input_shape_; }
  const Shape& output_shape() const { return output_shape_; }

  virtual const Tensor& forward(const Context& ctx, const Tensor& x, const Tensor* mask) = 0;
  virtual const Tensor& backward(const Context& ctx, const Tensor& dy) = 0;
  // The mask the next layer sees, valid after forward() (nullptr: none).
  virtual const Tensor* output_mask() const { return nullptr; }

  // Every parameter of this layer (wrapped layers' included), in file order.
  virtual void collect_params(std::vector<Param*>& out);
  int64_t param_count();

  // Keras config of this layer ("name" included, "batch_input_shape" not).
  virtual nlohmann::json config() const = 0;
  // Fills the parameters from their initializers (LSTM overrides it for unit_forget_bias).
  virtual void initialize(Rng& rng);
  // stateful recurrent layers forget their carried states; default no-op.
  virtual void reset_states() {}

 protected:
  virtual Shape do_build(const Shape& input_shape) = 0;
  // Declares a parameter during build; returns its index in params_.
  std::size_t add_param(std::string name, Shape shape, Initializer init);
  Param& param(std::size_t i) { return params_[i]; }
  const Param& param(std::size_t i) const { return params_[i]; }
  std::vector<Param>& own_params() { return params_; }

  // "LSTM 'lstm_1'" for messages.
  std::string where() const;
  // For forward(): InvalidArgument unless the layer is built and a model has bound its
  // parameters (a layer built on its own has nowhere to keep its weights).
  void require_params() const;

 private:
  std::string name_;
  bool built_ = false;
  Shape input_shape_, output_shape_;
  std::vector<Param> params_;
};

}  // namespace recur
