// Layer base: build bookkeeping, parameter declaration and default initialization.
#include "recur/layers/layer.hpp"

#include "recur/error.hpp"

namespace recur {

Shape Layer::build(const Shape& input_shape) {
  if (built_) fail<ConfigError>(where(), ": already built");
  output_shape_ = do_build(input_shape);
  input_shape_ = input_shape;
  built_ = true;
  return output_shape_;
}

void Layer::collect_params(std::vector<Param*>& out) {
  for (auto& p : params_) out.push_back(&p);
}

int64_t Layer::param_count() {
  std::vector<Param*> ps;
  collect_params(ps);
  int64_t n = 0;
  for (const Param* p : ps) n += shape_numel(p->shape);
  return n;
}

void Layer::initialize(Rng& rng) {
  for (auto& p : params_) p.init.fill(p.value, rng);
}

std::size_t Layer::add_param(std::string name, Shape shape, Initializer init) {
  params_.push_back(Param{std::move(name), std::move(shape), init, {}, {}});
  return params_.size() - 1;
}

void Layer::require_params() const {
  if (!built_) fail<InvalidArgument>(where(), ": forward() before build()");
  for (const Param& p : params_)
    if (p.value.data == nullptr)
      fail<InvalidArgument>(where(), ": its parameters are not allocated; add the layer to a "
                                     "Sequential or Functional model and build the model");
}

std::string Layer::where() const { return std::string(class_name()) + " '" + name_ + "'"; }

}  // namespace recur
