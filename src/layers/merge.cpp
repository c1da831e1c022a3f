// Merge layers: shape checks, mask merging, Concatenate and Add forward/backward.
#include "recur/layers/merge.hpp"

#include <cstring>

#include "recur/error.hpp"

namespace recur {

namespace {
// A sample shape as Keras prints it, with the batch axis: (None, None, 3).
std::string keras_shape(const Shape& sample) {
  std::string s = "(None";
  for (int64_t d : sample) s += ", " + (d < 0 ? std::string("None") : std::to_string(d));
  return s + ")";
}
std::string shapes_str(const std::vector<Shape>& shapes) {
  std::string s;
  for (std::size_t i = 0; i < shapes.size(); ++i) s += (i ? ", " : "") + keras_shape(shapes[i]);
  return s;
}
}  // namespace

// ---- MergeLayer -------------------------------------------------------------------------------

void MergeLayer::needs_several_inputs() const {
  fail<InvalidArgument>(where(),
                        " needs several inputs; use it in a functional model "
                        "(Functional::call with a list of inputs)");
}

Shape MergeLayer::build_multi(const std::vector<Shape>& input_shapes) {
  if (input_shapes.empty()) fail<ShapeError>(where(), ": called with no inputs");
  input_shapes_ = input_shapes;
  try {
    return build(input_shapes.front());
  } catch (...) {
    input_shapes_.clear();
    throw;
  }
}

Shape MergeLayer::do_build(const Shape&) {
  if (input_shapes_.empty()) needs_several_inputs();
  const std::size_t rank = input_shapes_.front().size();
  for (const Shape& s : input_shapes_) {
    if (s.size() != rank || (rank != 1 && rank != 2))
      fail<ShapeError>(where(),
                       ": inputs must all be vectors (None, U) or all sequences "
                       "(None, T, U), got ",
                       shapes_str(input_shapes_));
    if (s.back() <= 0)
      fail<ShapeError>(where(), ": the last axis of every input must be known, got ",
                       shapes_str(input_shapes_));
    // Leading (time) axis: equal, or unknown on one side.
    if (rank == 2 && s[0] >= 0 && input_shapes_.front()[0] >= 0 && s[0] != input_shapes_.front()[0])
      fail<ShapeError>(
          where(), ": inputs have different numbers of time steps: ", shapes_str(input_shapes_));
  }
  xs_.assign(input_shapes_.size(), nullptr);
  dxs_.resize(input_shapes_.size());
  return merged_shape(input_shapes_);
}

const Tensor& MergeLayer::forward(const Context&, const Tensor&, const Tensor*) {
  needs_several_inputs();
}

const Tensor& MergeLayer::backward(const Context&, const Tensor&) { needs_several_inputs(); }

const Tensor& MergeLayer::forward_multi(const Context&, const std::vector<const Tensor*>& xs,
                                        const std::vector<const Tensor*>& masks) {
  // xs[i] [T, B, U_i] or [B, U_i]; masks[i] [T, B] or null -> y [T, B, U_out] or [B, U_out]
  if (!built()) fail<InternalError>(where(), ": forward before build");
  const std::size_t n = input_shapes_.size();
  if (xs.size() != n) fail<InvalidArgument>(where(), ": expected ", n, " inputs, got ", xs.size());
  if (!masks.empty() && masks.size() != n)
    fail<InvalidArgument>(where(), ": expected ", n, " masks (or none), got ", masks.size());
  const std::size_t rank = input_shapes_.front().size() + 1;
  for (std::size_t i = 0; i < n; ++i) {
    const Tensor* x = xs[i];
    if (!x) fail<InvalidArgument>(where(), ": input ", i, " is null");
    bool ok = x->rank() == rank && x->shape().back() == input_shapes_[i].back();
    for (std::size_t d = 0; ok && d + 1 < rank; ++d) ok = x->dim(d) == xs[0]->dim(d);
    if (!ok)
      fail<ShapeError>(where(), ": input ", i, " has shape ", shape_str(x->shape()),
                       ", input 0 has shape ", shape_str(xs[0]->shape()),
                       "; expected every axis but the last to match and the last to be ",
                       input_shapes_[i].back());
    xs_[i] = x;
  }
  // Output mask: AND of the masks present (the one mask itself when only one is present).
  out_mask_ = nullptr;
  int present = 0;
  for (const Tensor* m : masks) present += m != nullptr;
  if (rank == 3 && present > 0) {
    const int64_t T = xs[0]->dim(0), B = xs[0]->dim(1);
    for (const Tensor* m : masks)
      if (m && (m->rank() != 2 || m->dim(0) != T || m->dim(1) != B))
        fail<ShapeError>(where(), ": mask has shape ", shape_str(m->shape()), ", expected [", T,
                         ", ", B, "]");
    if (present == 1) {
      for (const Tensor* m : masks)
        if (m) out_mask_ = m;
    } else {
      mask_.resize({T, B});
      mask_.fill(1.0f);
      for (const Tensor* m : masks)
        if (m)
          for (int64_t k = 0; k < T * B; ++k)
            if ((*m)[k] == 0.0f) mask_[k] = 0.0f;
      out_mask_ = &mask_;
    }
  }
  y_shape_ = xs[0]->shape();
  y_shape_.back() = output_shape().back();
  y_.resize(y_shape_);
  merge_forward(xs, y_);
  return y_;
}

const std::vector<Tensor>& MergeLayer::backward_multi(const Context&, const Tensor& dy) {
  if (dy.shape() != y_.shape())
    fail<ShapeError>(where(), ": output gradient has shape ", shape_str(dy.shape()), ", expected ",
                     shape_str(y_.shape()));
  for (std::size_t i = 0; i < xs_.size(); ++i) dxs_[i].resize(xs_[i]->shape());
  merge_backward(dy, dxs_);
  return dxs_;
}

// ---- Concatenate ------------------------------------------------------------------------------

Concatenate::Concatenate(std::string name, int64_t axis)
    : MergeLayer(std::move(name)), axis_(axis) {
  if (axis_ != -1 && axis_ < 1)
    fail<ConfigError>(where(), ": axis=", axis_,
                      " is not supported; only the last axis (-1) can be concatenated");
}

Shape Concatenate::merged_shape(const std::vector<Shape>& shapes) const {
  const auto last = static_cast<int64_t>(shapes.front().size());  // batch-first index
  if (axis_ != -1 && axis_ != last)
    fail<ConfigError>(where(), ": axis=", axis_, " is not supported for inputs ",
                      shapes_str(shapes), "; only the last axis (-1 or ", last,
                      ") can be concatenated");
  Shape out = shapes.front();
  out.back() = 0;
  for (const Shape& s : shapes) {
    out.back() += s.back();
    if (out.size() == 2 && out[0] < 0) out[0] = s[0];
  }
  return out;
}

void Concatenate::merge_forward(const std::vector<const Tensor*>& xs, Tensor& y) {
  // xs[i] [R, U_i] -> y [R, ΣU_i], row by row
  const int64_t U = y.shape().back(), R = y.numel() / U;
  int64_t col = 0;
  for (const Tensor* x : xs) {
    const int64_t Ui = x->shape().back();
    for (int64_t r = 0; r < R; ++r)
      std::memcpy(y.data() + r * U + col, x->data() + r * Ui,
                  static_cast<std::size_t>(Ui) * sizeof(float));
    col += Ui;
  }
}

void Concatenate::merge_backward(const Tensor& dy, std::vector<Tensor>& dxs) {
  // dy [R, ΣU_i] -> dxs[i] [R, U_i]
  const int64_t U = dy.shape().back(), R = dy.numel() / U;
  int64_t col = 0;
  for (Tensor& dx : dxs) {
    const int64_t Ui = dx.shape().back();
    for (int64_t r = 0; r < R; ++r)
      std::memcpy(dx.data() + r * Ui, dy.data() + r * U + col,
                  static_cast<std::size_t>(Ui) * sizeof(float));
    col += Ui;
  }
}

nlohmann::json Concatenate::config() const {
  return {{"name", name()}, {"trainable", true}, {"dtype", "float32"}, {"axis", axis_}};
}

// ---- Add --------------------------------------------------------------------------------------

Add::Add(std::string name) : MergeLayer(std::move(name)) {}

Shape Add::merged_shape(const std::vector<Shape>& shapes) const {
  Shape out = shapes.front();
  for (const Shape& s : shapes) {
    if (s.back() != out.back())
      fail<ShapeError>(where(), ": inputs must have the same shape, got ", shapes_str(shapes));
    if (out.size() == 2 && out[0] < 0) out[0] = s[0];
  }
  return out;
}

void Add::merge_forward(const std::vector<const Tensor*>& xs, Tensor& y) {
  // xs[i] [R, U] -> y [R, U] = Σ xs[i]
  const int64_t n = y.numel();
  std::memcpy(y.data(), xs[0]->data(), static_cast<std::size_t>(n) * sizeof(float));
  for (std::size_t i = 1; i < xs.size(); ++i) {
    const float* x = xs[i]->data();
    float* out = y.data();
    for (int64_t k = 0; k < n; ++k) out[k] += x[k];
  }
}

void Add::merge_backward(const Tensor& dy, std::vector<Tensor>& dxs) {
  // dy [R, U] -> dxs[i] = dy
  for (Tensor& dx : dxs)
    std::memcpy(dx.data(), dy.data(), static_cast<std::size_t>(dy.numel()) * sizeof(float));
}

nlohmann::json Add::config() const {
  return {{"name", name()}, {"trainable", true}, {"dtype", "float32"}};
}

}  // namespace recur
