// Model: parameter arenas, batch-first predict and the batch gather/scatter shared by
// Sequential and Functional. Training (compile/fit/evaluate) lives in src/train/fit.cpp.
#include "recur/model/model.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "recur/error.hpp"
#include "train/trainer.hpp"

namespace recur {

Model::Model(std::string name) : name_(std::move(name)) {}
Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

void Model::allocate_params(uint64_t seed) {
  // One flat arena for values, one for gradients; layers get views in file order.
  params_.clear();
  const std::vector<Layer*> all = layers();
  for (Layer* l : all) l->collect_params(params_);
  int64_t total = 0;
  for (const Param* p : params_) total += shape_numel(p->shape);
  weights_ = Tensor({total}, 0.0f);
  grads_ = Tensor({total}, 0.0f);
  int64_t offset = 0;
  for (Param* p : params_) {
    p->value = {weights_.data() + offset, p->shape};
    p->grad = {grads_.data() + offset, p->shape};
    offset += shape_numel(p->shape);
  }
  Rng rng(seed, Rng::kInit);
  for (Layer* l : all) l->initialize(rng);
  built_ = true;
}

void Model::zero_grad() { grads_.fill(0.0f); }

Layer& Model::layer(const std::string& name) const {
  for (Layer* l : layers())
    if (l->name() == name) return *l;
  fail<InvalidArgument>(class_name(), " '", name_, "': no layer named '", name, "'");
}

void Model::reset_states() {
  for (Layer* l : layers()) l->reset_states();
}

std::vector<Variable> Model::variables() const {
  std::vector<Variable> out;
  for (Layer* l : layers()) {
    std::vector<Param*> ps;
    l->collect_params(ps);
    for (Param* p : ps) out.push_back({l->name() + "/" + p->name, p->value, p->grad});
  }
  return out;
}

void Model::check_input(std::size_t i, const Tensor& x) const {
  if (!built_) fail<ConfigError>(class_name(), " '", name_, "': used before build()");
  const Shape& sample = input_shape(i);
  const std::string what =
      num_inputs() == 1 ? std::string("input") : "input " + std::to_string(i);
  const bool ids = takes_token_ids(i);
  const std::size_t rank = ids ? 2 : 3;
  const int64_t T = sample[0];
  if (x.rank() != rank)
    fail<ShapeError>(what, " has shape ", shape_str(x.shape()), ", expected ",
                     ids ? "token ids [N, T]" : "[N, T, F] with F = " + std::to_string(sample[1]));
  if (!ids && x.dim(2) != sample[1])
    fail<ShapeError>(what, " has ", x.dim(2), " features, expected ", sample[1], " (shape ",
                     shape_str(x.shape()), ")");
  if (T > 0 && x.dim(1) != T)
    fail<ShapeError>(what, " has ", x.dim(1), " time steps, the model expects ", T);
  if (x.dim(1) == 0) fail<ShapeError>(what, " has no time steps");
  const int64_t F = ids ? 1 : x.dim(2);
  for (int64_t k = 0; k < x.numel(); ++k) {
    if (!std::isfinite(x[k])) {
      const int64_t n = k / (x.dim(1) * F), t = (k / F) % x.dim(1), f = k % F;
      fail<InvalidArgument>(what, " contains ", std::isnan(x[k]) ? "NaN" : "Inf", " at sample ",
                            n, ", step ", t, ids ? "" : ", feature ",
                            ids ? "" : std::to_string(f));
    }
  }
}

void gather_time_major(const Tensor& x, int64_t n0, int64_t b, bool has_time, Tensor& out) {
  if (!has_time) {
    // [N, ...] -> rows [n0, n0 + b): already "time-major" (no time axis).
    const int64_t row = x.dim(0) ? x.numel() / x.dim(0) : 0;
    if (x.rank() == 1) out.resize({b});
    else if (x.rank() == 2) out.resize({b, x.dim(1)});
    else fail<ShapeError>("gather: expected [N] or [N, U] without a time axis, got ",
                          shape_str(x.shape()));
    std::memcpy(out.data(), x.data() + n0 * row, static_cast<std::size_t>(b * row) * sizeof(float));
    return;
  }
  // rows [n0, n0 + b) of batch-first x [N, T, F] (or [N, T]) -> time-major out [T, b, F]
  const int64_t T = x.dim(1), F = x.rank() == 3 ? x.dim(2) : 1;
  if (x.rank() == 3) out.resize({T, b, F});
  else out.resize({T, b});
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < b; ++i)
      std::memcpy(out.data() + (t * b + i) * F, x.data() + ((n0 + i) * T + t) * F,
                  static_cast<std::size_t>(F) * sizeof(float));
}

void scatter_batch_first(const Tensor& y, int64_t n0, bool has_time, Tensor& out) {
  if (!has_time) {
    std::memcpy(out.data() + n0 * (y.dim(0) ? y.numel() / y.dim(0) : 0), y.data(),
                static_cast<std::size_t>(y.numel()) * sizeof(float));
    return;
  }
  // time-major y [T, b, U] -> rows [n0, n0 + b) of batch-first out [N, T, U]
  const int64_t T = y.dim(0), b = y.dim(1), U = y.rank() == 3 ? y.dim(2) : 1;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < b; ++i)
      std::memcpy(out.data() + ((n0 + i) * T + t) * U, y.data() + (t * b + i) * U,
                  static_cast<std::size_t>(U) * sizeof(float));
}

std::vector<Tensor> Model::predict(const std::vector<Tensor>& xs, int64_t batch_size) {
  std::vector<const Tensor*> ptrs;
  for (const Tensor& x : xs) ptrs.push_back(&x);
  return predict_inputs(ptrs, batch_size);
}

Tensor Model::predict(const Tensor& x, int64_t batch_size) {
  if (num_inputs() != 1 || num_outputs() != 1)
    fail<InvalidArgument>("predict: ", class_name(), " '", name_, "' has ", num_inputs(),
                          " inputs and ", num_outputs(),
                          " outputs; pass one array per input and read one per output");
  const Tensor* xs[] = {&x};
  return std::move(predict_inputs(xs, batch_size)[0]);
}

std::vector<Tensor> Model::predict_inputs(std::span<const Tensor* const> xs, int64_t batch_size) {
  if (!built_) fail<ConfigError>(class_name(), " '", name_, "': predict() before build()");
  if (xs.size() != num_inputs())
    fail<InvalidArgument>("predict: ", class_name(), " '", name_, "' takes ", num_inputs(),
                          " input(s), got ", xs.size());
  if (batch_size < 1) fail<InvalidArgument>("predict: batch_size must be >= 1, got ", batch_size);
  for (std::size_t i = 0; i < xs.size(); ++i) check_input(i, *xs[i]);
  const int64_t N = xs[0]->dim(0);
  for (std::size_t i = 1; i < xs.size(); ++i)
    if (xs[i]->dim(0) != N)
      fail<ShapeError>("predict: input ", i, " has ", xs[i]->dim(0), " samples, input 0 has ", N);
  // Output o: [N, U] or [N, T_o, U]; T_o is known after the first batch (inputs may differ in
  // length, e.g. an encoder and a decoder).
  std::vector<Tensor> outs(num_outputs());
  staged_.resize(xs.size());  // kept between calls: a repeated batch shape allocates nothing
  staged_ptrs_.resize(xs.size());
  Context ctx;
  for (int64_t n0 = 0; n0 < N; n0 += batch_size) {
    const int64_t b = std::min(batch_size, N - n0);
    for (std::size_t i = 0; i < xs.size(); ++i) {
      gather_time_major(*xs[i], n0, b, true, staged_[i]);
      staged_ptrs_[i] = &staged_[i];
    }
    const std::vector<const Tensor*>& ys = forward_batch(ctx, staged_ptrs_);
    if (n0 == 0)
      for (std::size_t o = 0; o < ys.size(); ++o) {
        Shape s{N};
        if (ys[o]->rank() == 3) s.insert(s.end(), {ys[o]->dim(0), ys[o]->dim(2)});
        else s.push_back(ys[o]->dim(1));
        outs[o] = Tensor(s);
      }
    for (std::size_t o = 0; o < ys.size(); ++o)
      scatter_batch_first(*ys[o], n0, ys[o]->rank() == 3, outs[o]);
  }
  return outs;
}

}  // namespace recur
