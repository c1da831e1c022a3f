// Sequential: build + arenas, chained forward/backward, batch-first predict, streaming, summary.
#include "recur/model/sequential.hpp"

#include <cmath>
#include <cstring>
#include <set>
#include <sstream>

#include "recur/error.hpp"
#include "recur/layers/bidirectional.hpp"
#include "recur/layers/embedding.hpp"
#include "recur/layers/recurrent.hpp"

namespace recur {

Sequential::Sequential(std::string name) : name_(std::move(name)) {}
Sequential::~Sequential() = default;
Sequential::Sequential(Sequential&&) noexcept = default;
Sequential& Sequential::operator=(Sequential&&) noexcept = default;

Layer& Sequential::add(std::unique_ptr<Layer> layer) {
  if (!layer) fail<InvalidArgument>("Sequential '", name_, "': add() got a null layer");
  if (built_) fail<ConfigError>("Sequential '", name_, "': cannot add layers after build()");
  for (const auto& l : layers_)
    if (l->name() == layer->name())
      fail<ConfigError>("Sequential '", name_, "': duplicate layer name '", layer->name(), "'");
  layers_.push_back(std::move(layer));
  return *layers_.back();
}

Layer& Sequential::layer(const std::string& name) {
  for (auto& l : layers_)
    if (l->name() == name) return *l;
  fail<InvalidArgument>("Sequential '", name_, "': no layer named '", name, "'");
}

void Sequential::build(const Shape& input_shape, uint64_t seed) {
  if (built_) fail<ConfigError>("Sequential '", name_, "': already built");
  if (layers_.empty()) fail<ConfigError>("Sequential '", name_, "': no layers");
  Shape shape = input_shape;
  for (auto& l : layers_) {
    if (auto* r = dynamic_cast<Recurrent*>(l.get()); r && r->options().return_state)
      fail<ConfigError>(r->class_name(), " '", r->name(),
                        "': return_state=true gives several outputs, which a Sequential model "
                        "cannot pass on; use the layer API (final_states()) instead");
    shape = l->build(shape);
  }
  input_shape_ = input_shape;
  // One flat arena for values, one for gradients; layers get views in file order.
  params_.clear();
  for (auto& l : layers_) l->collect_params(params_);
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
  for (auto& l : layers_) l->initialize(rng);
  built_ = true;
}

const Shape& Sequential::output_shape() const {
  if (!built_) fail<ConfigError>("Sequential '", name_, "': not built");
  return layers_.back()->output_shape();
}

const Tensor& Sequential::forward(const Context& ctx, const Tensor& x, const Tensor* mask) {
  if (!built_) fail<ConfigError>("Sequential '", name_, "': forward() before build()");
  const Tensor* h = &x;
  const Tensor* m = mask;
  for (auto& l : layers_) {
    h = &l->forward(ctx, *h, m);
    m = l->output_mask();
  }
  return *h;
}

const Tensor& Sequential::backward(const Context& ctx, const Tensor& dy) {
  const Tensor* g = &dy;
  for (auto it = layers_.rbegin(); it != layers_.rend(); ++it) g = &(*it)->backward(ctx, *g);
  return *g;
}

void Sequential::zero_grad() { grads_.fill(0.0f); }

void Sequential::check_input(const Tensor& x, const char* what) const {
  if (!built_) fail<ConfigError>("Sequential '", name_, "': ", what, " before build()");
  const bool ids = takes_token_ids();
  const std::size_t rank = ids ? 2 : 3;
  const int64_t T = input_shape_[0];
  if (x.rank() != rank)
    fail<ShapeError>(what, ": input has shape ", shape_str(x.shape()), ", expected ",
                     ids ? "token ids [N, T]" : "[N, T, F]", " with ",
                     ids ? "" : ("F = " + std::to_string(input_shape_[1]) + " "),
                     "(first layer ", layers_[0]->class_name(), " '", layers_[0]->name(), "')");
  if (!ids && x.dim(2) != input_shape_[1])
    fail<ShapeError>(what, ": input has ", x.dim(2), " features, expected ", input_shape_[1],
                     " (first layer ", layers_[0]->class_name(), " '", layers_[0]->name(),
                     "', input shape ", shape_str(x.shape()), ")");
  if (T > 0 && x.dim(1) != T)
    fail<ShapeError>(what, ": input has ", x.dim(1), " time steps, the model expects ", T);
  if (x.dim(1) == 0) fail<ShapeError>(what, ": input has no time steps");
  const int64_t F = ids ? 1 : x.dim(2);
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (!std::isfinite(x[i])) {
      const int64_t n = i / (x.dim(1) * F), t = (i / F) % x.dim(1), f = i % F;
      fail<InvalidArgument>(what, ": input contains ", std::isnan(x[i]) ? "NaN" : "Inf",
                            " at sample ", n, ", step ", t, ids ? "" : ", feature ",
                            ids ? "" : std::to_string(f));
    }
  }
}

namespace {
// rows [n0, n0 + b) of batch-first x [N, T, F] -> time-major out [T, b, F]
void gather_time_major(const Tensor& x, int64_t n0, int64_t b, Tensor& out) {
  const int64_t N = x.dim(0), T = x.dim(1), F = x.rank() == 3 ? x.dim(2) : 1;
  (void)N;
  out.resize(x.rank() == 3 ? Shape{T, b, F} : Shape{T, b});
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < b; ++i)
      std::memcpy(out.data() + (t * b + i) * F, x.data() + ((n0 + i) * T + t) * F,
                  static_cast<std::size_t>(F) * sizeof(float));
}
// time-major y [T, b, U] (or [b, U]) -> rows [n0, n0 + b) of batch-first out [N, T, U] / [N, U]
void scatter_batch_first(const Tensor& y, int64_t n0, Tensor& out) {
  if (y.rank() == 2) {
    std::memcpy(out.data() + n0 * y.dim(1), y.data(),
                static_cast<std::size_t>(y.numel()) * sizeof(float));
    return;
  }
  const int64_t T = y.dim(0), b = y.dim(1), U = y.dim(2);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < b; ++i)
      std::memcpy(out.data() + ((n0 + i) * T + t) * U, y.data() + (t * b + i) * U,
                  static_cast<std::size_t>(U) * sizeof(float));
}
}  // namespace

Tensor Sequential::predict(const Tensor& x, int64_t batch_size) {
  check_input(x, "predict");
  if (batch_size < 1) fail<InvalidArgument>("predict: batch_size must be >= 1, got ", batch_size);
  const int64_t N = x.dim(0), T = x.dim(1);
  Shape out_shape{N};
  for (int64_t d : output_shape()) out_shape.push_back(d < 0 ? T : d);
  Tensor out(out_shape);
  Context ctx;
  for (int64_t n0 = 0; n0 < N; n0 += batch_size) {
    const int64_t b = std::min(batch_size, N - n0);
    gather_time_major(x, n0, b, x_tm_);
    scatter_batch_first(forward(ctx, x_tm_), n0, out);
  }
  return out;
}

StreamState Sequential::make_stream_state(int64_t batch) {
  if (!built_) fail<ConfigError>("Sequential '", name_, "': make_stream_state() before build()");
  if (batch < 1) fail<InvalidArgument>("make_stream_state: batch must be >= 1, got ", batch);
  StreamState s;
  s.batch_ = batch;
  for (auto& l : layers_) {
    if (dynamic_cast<Bidirectional*>(l.get()))
      fail<ConfigError>("streaming: Bidirectional '", l->name(),
                        "' reads future steps and cannot run step by step");
    if (auto* r = dynamic_cast<Recurrent*>(l.get())) {
      if (r->options().go_backwards)
        fail<ConfigError>("streaming: ", r->class_name(), " '", r->name(),
                          "' has go_backwards=true and cannot run step by step");
      for (int i = 0; i < r->state_count(); ++i) s.states_.emplace_back(Shape{batch, r->units()});
    }
  }
  return s;
}

void Sequential::reset(StreamState& state) {
  for (Tensor& t : state.states_) t.fill(0.0f);
}

void Sequential::reset_states() {
  for (auto& l : layers_) l->reset_states();
}

const Tensor& Sequential::step(StreamState& state, const Tensor& x) {
  const bool ids = takes_token_ids();
  const int64_t B = state.batch_;
  // One step [B, F] / [B] or a chunk [B, Tc, F] / [B, Tc].
  const bool one_step = x.rank() == (ids ? 1u : 2u);
  if (x.rank() < 1 || x.dim(0) != B)
    fail<ShapeError>("step: input has shape ", shape_str(x.shape()), ", expected batch ", B,
                     " (the stream state's)");
  const int64_t Tc = one_step ? 1 : x.dim(1);
  if (one_step) {
    const int64_t F = ids ? 1 : x.dim(1);
    if (!ids && F != input_shape_[1])
      fail<ShapeError>("step: input has ", F, " features, expected ", input_shape_[1]);
    state.x_.resize(ids ? Shape{1, B} : Shape{1, B, F});
    std::memcpy(state.x_.data(), x.data(), static_cast<std::size_t>(x.numel()) * sizeof(float));
    for (int64_t i = 0; i < x.numel(); ++i)
      if (!std::isfinite(x[i]))
        fail<InvalidArgument>("step: input contains ", std::isnan(x[i]) ? "NaN" : "Inf",
                              " at stream ", i / F);
  } else {
    check_input(x, "step");
    gather_time_major(x, 0, B, state.x_);
  }
  // Point each recurrent layer at this stream's states, run, copy the final states back.
  std::size_t si = 0;
  for (auto& l : layers_) {
    if (auto* r = dynamic_cast<Recurrent*>(l.get())) {
      if (si + static_cast<std::size_t>(r->state_count()) > state.states_.size())
        fail<InvalidArgument>("step: the stream state was made for another model");
      r->set_initial_states(&state.states_[si],
                            r->state_count() == 2 ? &state.states_[si + 1] : nullptr);
      si += static_cast<std::size_t>(r->state_count());
    }
  }
  Context ctx;
  const Tensor& y = forward(ctx, state.x_);
  si = 0;
  for (auto& l : layers_) {
    if (auto* r = dynamic_cast<Recurrent*>(l.get())) {
      for (int i = 0; i < r->state_count(); ++i) state.states_[si++] = r->final_states()[i];
      r->clear_initial_states();
    }
  }
  // Output, batch-first.
  if (y.rank() == 3) {
    state.y_.resize(one_step ? Shape{B, y.dim(2)} : Shape{B, Tc, y.dim(2)});
    if (one_step)
      std::memcpy(state.y_.data(), y.data(), static_cast<std::size_t>(y.numel()) * sizeof(float));
    else
      scatter_batch_first(y, 0, state.y_);
  } else {
    state.y_ = y;
  }
  return state.y_;
}

namespace {
std::string shape_tuple(const Shape& sample) {
  std::string s = "(None";
  for (int64_t d : sample) s += ", " + (d < 0 ? std::string("None") : std::to_string(d));
  return s + ")";
}
std::string with_commas(int64_t n) {
  std::string s = std::to_string(n), out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}
std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s + " ";
}
}  // namespace

std::string Sequential::summary() const {
  std::ostringstream out;
  const std::string rule(65, '_'), dbl(65, '=');
  out << "Model: \"" << name_ << "\"\n" << rule << "\n";
  out << " " << pad("Layer (type)", 27) << pad("Output Shape", 25) << "Param #\n" << dbl << "\n";
  int64_t total = 0;
  for (const auto& l : layers_) {
    const int64_t n = built_ ? const_cast<Layer&>(*l).param_count() : 0;
    total += n;
    out << " " << pad(l->name() + " (" + l->class_name() + ")", 27)
        << pad(built_ ? shape_tuple(l->output_shape()) : "?", 25) << with_commas(n) << "\n";
  }
  out << dbl << "\nTotal params: " << with_commas(total) << "\nTrainable params: "
      << with_commas(total) << "\nNon-trainable params: 0\n" << rule << "\n";
  return out.str();
}

nlohmann::json Sequential::to_json() const {
  nlohmann::json layers = nlohmann::json::array();
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    nlohmann::json cfg = layers_[i]->config();
    if (i == 0 && built_) {
      nlohmann::json shape = nlohmann::json::array({nullptr});
      for (int64_t d : input_shape_) shape.push_back(d < 0 ? nlohmann::json(nullptr) : nlohmann::json(d));
      cfg["batch_input_shape"] = shape;
    }
    layers.push_back({{"class_name", layers_[i]->class_name()}, {"config", cfg}});
  }
  return {{"class_name", "Sequential"}, {"config", {{"name", name_}, {"layers", layers}}}};
}

}  // namespace recur
