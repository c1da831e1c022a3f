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

Sequential::Sequential(std::string name) : Model(std::move(name)) {}
Sequential::~Sequential() = default;
Sequential::Sequential(Sequential&&) noexcept = default;
Sequential& Sequential::operator=(Sequential&&) noexcept = default;

Layer& Sequential::add(std::unique_ptr<Layer> layer) {
  if (!layer) fail<InvalidArgument>("Sequential '", name(), "': add() got a null layer");
  if (built()) fail<ConfigError>("Sequential '", name(), "': cannot add layers after build()");
  for (const auto& l : layers_)
    if (l->name() == layer->name())
      fail<ConfigError>("Sequential '", name(), "': duplicate layer name '", layer->name(), "'");
  layers_.push_back(std::move(layer));
  return *layers_.back();
}

void Sequential::build(const Shape& input_shape, uint64_t seed) {
  if (built()) fail<ConfigError>("Sequential '", name(), "': already built");
  if (layers_.empty()) fail<ConfigError>("Sequential '", name(), "': no layers");
  Shape shape = input_shape;
  for (auto& l : layers_) {
    if (auto* r = dynamic_cast<Recurrent*>(l.get()); r && r->options().return_state)
      fail<ConfigError>(r->class_name(), " '", r->name(),
                        "': return_state=true gives several outputs, which a Sequential model "
                        "cannot pass on; use the layer API (final_states()) instead");
    shape = l->build(shape);
  }
  input_shape_ = input_shape;
  allocate_params(seed);
  first_weighted_ = 0;
  while (first_weighted_ + 1 < layers_.size() && layers_[first_weighted_]->param_count() == 0)
    ++first_weighted_;
}

const Shape& Sequential::input_shape(std::size_t i) const {
  if (!built() || i != 0)
    fail<InvalidArgument>("Sequential '", name(), "': no input ", i, built() ? "" : " (not built)");
  return input_shape_;
}

const Shape& Sequential::output_shape(std::size_t i) const {
  if (!built() || i != 0)
    fail<InvalidArgument>("Sequential '", name(), "': no output ", i, built() ? "" : " (not built)");
  return layers_.back()->output_shape();
}

const Tensor& Sequential::forward(const Context& ctx, const Tensor& x, const Tensor* mask) {
  if (!built()) fail<ConfigError>("Sequential '", name(), "': forward() before build()");
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

const std::vector<const Tensor*>& Sequential::forward_batch(const Context& ctx,
                                                         const std::vector<const Tensor*>& xs) {
  if (xs.size() != 1 || !xs[0])
    fail<InvalidArgument>("Sequential '", name(), "': expected 1 input, got ", xs.size());
  outputs_.assign(1, &forward(ctx, *xs[0]));
  return outputs_;
}

const std::vector<const Tensor*>& Sequential::output_masks() const {
  out_masks_.assign(1, layers_.empty() ? nullptr : layers_.back()->output_mask());
  return out_masks_;
}

void Sequential::backward_batch(const Context& ctx, const std::vector<const Tensor*>& dys) {
  if (dys.size() != 1 || !dys[0])
    fail<InvalidArgument>("Sequential '", name(), "': expected 1 output gradient");
  // Training needs no dL/dx: layers before the first one with weights are not visited, and that
  // one skips its input gradient.
  Context first = ctx;
  first.input_grad = false;
  const Tensor* g = dys[0];
  for (std::size_t i = layers_.size(); i-- > first_weighted_;)
    g = &layers_[i]->backward(i == first_weighted_ ? first : ctx, *g);
}

std::vector<Layer*> Sequential::layers() const {
  std::vector<Layer*> out;
  for (const auto& l : layers_) out.push_back(l.get());
  return out;
}

StreamState Sequential::make_stream_state(int64_t batch) {
  if (!built()) fail<ConfigError>("Sequential '", name(), "': make_stream_state() before build()");
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
    if (ids)
      state.x_.resize({1, B});
    else
      state.x_.resize({1, B, F});
    std::memcpy(state.x_.data(), x.data(), static_cast<std::size_t>(x.numel()) * sizeof(float));
    for (int64_t i = 0; i < x.numel(); ++i)
      if (!std::isfinite(x[i]))
        fail<InvalidArgument>("step: input contains ", std::isnan(x[i]) ? "NaN" : "Inf",
                              " at stream ", i / F);
  } else {
    check_input(0, x);
    gather_time_major(x, 0, B, true, state.x_);
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
    if (one_step)
      state.y_.resize({B, y.dim(2)});
    else
      state.y_.resize({B, Tc, y.dim(2)});
    if (one_step)
      std::memcpy(state.y_.data(), y.data(), static_cast<std::size_t>(y.numel()) * sizeof(float));
    else
      scatter_batch_first(y, 0, true, state.y_);
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
  out << "Model: \"" << name() << "\"\n" << rule << "\n";
  out << " " << pad("Layer (type)", 27) << pad("Output Shape", 25) << "Param #\n" << dbl << "\n";
  int64_t total = 0;
  for (const auto& l : layers_) {
    const int64_t n = built() ? const_cast<Layer&>(*l).param_count() : 0;
    total += n;
    out << " " << pad(l->name() + " (" + l->class_name() + ")", 27)
        << pad(built() ? shape_tuple(l->output_shape()) : "?", 25) << with_commas(n) << "\n";
  }
  out << dbl << "\nTotal params: " << with_commas(total) << "\nTrainable params: "
      << with_commas(total) << "\nNon-trainable params: 0\n" << rule << "\n";
  return out.str();
}

nlohmann::json Sequential::to_json() const {
  nlohmann::json layers = nlohmann::json::array();
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    nlohmann::json cfg = layers_[i]->config();
    if (i == 0 && built()) {
      nlohmann::json shape = nlohmann::json::array({nullptr});
      for (int64_t d : input_shape_) shape.push_back(d < 0 ? nlohmann::json(nullptr) : nlohmann::json(d));
      cfg["batch_input_shape"] = shape;
    }
    layers.push_back({{"class_name", layers_[i]->class_name()}, {"config", cfg}});
  }
  return {{"class_name", "Sequential"}, {"config", {{"name", name()}, {"layers", layers}}}};
}

}  // namespace recur
