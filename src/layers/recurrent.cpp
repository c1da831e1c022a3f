// SimpleRNN / LSTM / GRU layer: parameters, states, dropout masks; the math is in the driver.
#include "recur/layers/recurrent.hpp"

#include <cmath>
#include <cstring>

#include "layers/recurrent_driver.hpp"
#include "recur/error.hpp"

namespace recur {

namespace {
// dst = src as [rows, cols]; a repeated shape allocates nothing (no temporary Shape).
void copy_into(Tensor& dst, const float* src, int64_t rows, int64_t cols) {
  dst.resize({rows, cols});
  std::memcpy(dst.data(), src, static_cast<std::size_t>(dst.numel()) * sizeof(float));
}
// Inverted-dropout mask [rows, cols]: 0 with probability `rate`, else 1 / (1 - rate).
void draw_dropout_mask(Tensor& m, int64_t rows, int64_t cols, float rate, Rng& rng) {
  m.resize({rows, cols});
  const float keep = 1.0f / (1.0f - rate);
  for (int64_t i = 0; i < m.numel(); ++i) m[i] = rng.uniform() < rate ? 0.0f : keep;
}
}  // namespace

Recurrent::Recurrent(CellKind kind, std::string name, RecurrentOptions options)
    : Layer(std::move(name)), kind_(kind), opt_(std::move(options)),
      driver_(std::make_unique<RecurrentDriver>()) {
  if (opt_.units <= 0) fail<ConfigError>(where(), ": units must be positive, got ", opt_.units);
  if (!(opt_.dropout >= 0.0f && opt_.dropout < 1.0f))
    fail<ConfigError>(where(), ": dropout must be in [0, 1), got ", opt_.dropout);
  if (!(opt_.recurrent_dropout >= 0.0f && opt_.recurrent_dropout < 1.0f))
    fail<ConfigError>(where(), ": recurrent_dropout must be in [0, 1), got ",
                      opt_.recurrent_dropout);
  if (opt_.activation == Activation::softmax || opt_.recurrent_activation == Activation::softmax)
    fail<ConfigError>(where(), ": softmax is not supported inside a recurrent cell");
}

Recurrent::~Recurrent() = default;

const char* Recurrent::class_name() const {
  switch (kind_) {
    case CellKind::simple: return "SimpleRNN";
    case CellKind::lstm: return "LSTM";
    case CellKind::gru: return "GRU";
  }
  return "?";
}

int Recurrent::gate_count() const { return RecurrentDriver::gate_count(kind_); }

Shape Recurrent::do_build(const Shape& input_shape) {
  if (input_shape.size() != 2 || input_shape[1] <= 0)
    fail<ShapeError>(where(), ": expects sequences of feature vectors [T, F], got input shape ",
                     shape_str(input_shape));
  input_features_ = input_shape[1];
  const int64_t H = opt_.units, GH = gate_count() * H;
  kernel_ = add_param("kernel", {input_features_, GH}, opt_.kernel_initializer);
  recurrent_kernel_ = add_param("recurrent_kernel", {H, GH}, opt_.recurrent_initializer);
  if (opt_.use_bias) {
    const bool two_rows = kind_ == CellKind::gru && opt_.reset_after;
    bias_ = add_param("bias", two_rows ? Shape{2, GH} : Shape{GH}, opt_.bias_initializer);
  }
  if (opt_.return_sequences) return {input_shape[0], H};
  return {H};
}

void Recurrent::initialize(Rng& rng) {
  Layer::initialize(rng);
  // Keras unit_forget_bias: the forget gate's bias block starts at 1.
  if (kind_ == CellKind::lstm && opt_.use_bias && opt_.unit_forget_bias) {
    float* b = param(bias_).value.data;
    std::fill_n(b + opt_.units, opt_.units, 1.0f);
  }
}

void Recurrent::set_initial_states(const Tensor* h0, const Tensor* c0) {
  if (!h0 || (state_count() == 2) != (c0 != nullptr))
    fail<ShapeError>(where(), ": expected ", state_count() == 2 ? "h and c" : "h",
                     " as initial state");
  for (const Tensor* s : {h0, c0})
    if (s && (s->rank() != 2 || s->dim(1) != opt_.units || s->dim(0) != h0->dim(0)))
      fail<ShapeError>(where(), ": initial state must be [batch, ", opt_.units, "], got ",
                       shape_str(s->shape()));
  h0_ = h0;
  c0_ = c0;
}

void Recurrent::set_final_state_grads(const Tensor* dh, const Tensor* dc) {
  d_final_h_ = dh;
  d_final_c_ = state_count() == 2 ? dc : nullptr;
}

void Recurrent::reset_states() {
  if (opt_.stateful)
    for (Tensor& s : final_states_) s.fill(0.0f);
}

const Tensor& Recurrent::forward(const Context& ctx, const Tensor& x, const Tensor* mask) {
  require_params();
  if (x.rank() != 3 || x.dim(2) != input_features_)
    fail<ShapeError>(where(), ": input has shape ", shape_str(x.shape()),
                     " (time-major [T, B, F]); expected F = ", input_features_, " (kernel is [",
                     input_features_, ", ", gate_count() * opt_.units, "])");
  const int64_t T = x.dim(0), B = x.dim(1), H = opt_.units;
  if (mask && (mask->rank() != 2 || mask->dim(0) != T || mask->dim(1) != B))
    fail<ShapeError>(where(), ": mask has shape ", shape_str(mask->shape()), ", expected [", T,
                     ", ", B, "]");
  mask_ = mask;

  // Initial states: explicit ones, else (stateful) the carried ones, else zeros.
  const float* h0 = nullptr;
  const float* c0 = nullptr;
  if (h0_) {
    if (h0_->dim(0) != B)
      fail<ShapeError>(where(), ": initial state has batch ", h0_->dim(0), ", input has batch ",
                       B);
    h0 = h0_->data();
    if (c0_) c0 = c0_->data();
  } else if (opt_.stateful && !final_states_.empty() && final_states_[0].dim(0) == B) {
    h0 = final_states_[0].data();
    if (state_count() == 2) c0 = final_states_[1].data();
  } else if (opt_.stateful && !final_states_.empty()) {
    fail<ShapeError>(where(), ": stateful layer saw batch ", final_states_[0].dim(0),
                     " and now batch ", B, "; call reset_states() between different batch sizes");
  }

  // Dropout masks: one per sequence, shared by all steps (training only).
  const float* mx = nullptr;
  const float* mh = nullptr;
  if (ctx.training && (opt_.dropout > 0.0f || opt_.recurrent_dropout > 0.0f)) {
    if (!ctx.rng) fail<InternalError>(where(), ": training with dropout needs Context::rng");
    if (opt_.dropout > 0.0f) {
      draw_dropout_mask(input_dropout_mask_, B, input_features_, opt_.dropout, *ctx.rng);
      mx = input_dropout_mask_.data();
    }
    if (opt_.recurrent_dropout > 0.0f) {
      draw_dropout_mask(recurrent_dropout_mask_, B, H, opt_.recurrent_dropout, *ctx.rng);
      mh = recurrent_dropout_mask_.data();
    }
  }

  RecurrentDriver::Spec spec;
  spec.kind = kind_;
  spec.acts = {opt_.activation, opt_.recurrent_activation};
  spec.reset_after = opt_.reset_after;
  spec.input = input_features_;
  spec.units = H;
  spec.go_backwards = opt_.go_backwards;
  spec.return_sequences = opt_.return_sequences;
  spec.zero_output_for_mask = zero_output_for_mask_;
  RecurrentDriver::Weights w;
  w.kernel = param(kernel_).value.data;
  w.recurrent_kernel = param(recurrent_kernel_).value.data;
  w.bias = opt_.use_bias ? param(bias_).value.data : nullptr;
  // h0/c0 may point into final_states_ (stateful): the driver copies them before writing.
  driver_->forward(spec, w, x.data(), T, B, mask ? mask->data() : nullptr, h0, c0, mx, mh);

  final_states_.resize(static_cast<std::size_t>(state_count()));
  copy_into(final_states_[0], driver_->final_h(), B, H);
  if (state_count() == 2) copy_into(final_states_[1], driver_->final_c(), B, H);
  return driver_->output();
}

const Tensor& Recurrent::backward(const Context& ctx, const Tensor& dy) {
  const Tensor& y = driver_->output();
  if (dy.shape() != y.shape())
    fail<ShapeError>(where(), ": output gradient has shape ", shape_str(dy.shape()),
                     ", expected ", shape_str(y.shape()));
  const int64_t B = y.rank() == 3 ? y.dim(1) : y.dim(0), H = opt_.units;
  const float* dhT = nullptr;
  const float* dcT = nullptr;
  for (const Tensor* g : {d_final_h_, d_final_c_})
    if (g && (g->rank() != 2 || g->dim(0) != B || g->dim(1) != H))
      fail<ShapeError>(where(), ": final-state gradient has shape ", shape_str(g->shape()),
                       ", expected [", B, ", ", H, "]");
  if (d_final_h_) dhT = d_final_h_->data();
  if (d_final_c_) dcT = d_final_c_->data();
  RecurrentDriver::Weights w;
  w.kernel = param(kernel_).value.data;
  w.recurrent_kernel = param(recurrent_kernel_).value.data;
  w.bias = opt_.use_bias ? param(bias_).value.data : nullptr;
  w.d_kernel = param(kernel_).grad.data;
  w.d_recurrent_kernel = param(recurrent_kernel_).grad.data;
  w.d_bias = opt_.use_bias ? param(bias_).grad.data : nullptr;
  driver_->backward(w, dy.data(), dhT, dcT, ctx.input_grad);
  initial_state_grads_.resize(static_cast<std::size_t>(state_count()));
  copy_into(initial_state_grads_[0], driver_->d_h0(), B, H);
  if (state_count() == 2) copy_into(initial_state_grads_[1], driver_->d_c0(), B, H);
  return driver_->dx();
}

const Tensor* Recurrent::output_mask() const { return opt_.return_sequences ? mask_ : nullptr; }

nlohmann::json Recurrent::config() const {
  nlohmann::json c = {
      {"name", name()},
      {"trainable", true},
      {"dtype", "float32"},
      {"return_sequences", opt_.return_sequences},
      {"return_state", opt_.return_state},
      {"go_backwards", opt_.go_backwards},
      {"stateful", opt_.stateful},
      {"unroll", false},
      {"units", opt_.units},
      {"activation", activation_name(opt_.activation)},
      {"use_bias", opt_.use_bias},
      {"kernel_initializer", opt_.kernel_initializer.to_json()},
      {"recurrent_initializer", opt_.recurrent_initializer.to_json()},
      {"bias_initializer", opt_.bias_initializer.to_json()},
      {"dropout", opt_.dropout},
      {"recurrent_dropout", opt_.recurrent_dropout},
  };
  if (kind_ != CellKind::simple)
    c["recurrent_activation"] = activation_name(opt_.recurrent_activation);
  if (kind_ == CellKind::lstm) c["unit_forget_bias"] = opt_.unit_forget_bias;
  if (kind_ == CellKind::gru) c["reset_after"] = opt_.reset_after;
  return c;
}

std::unique_ptr<Recurrent> make_simple_rnn(std::string name, RecurrentOptions options) {
  return std::make_unique<Recurrent>(CellKind::simple, std::move(name), std::move(options));
}
std::unique_ptr<Recurrent> make_lstm(std::string name, RecurrentOptions options) {
  return std::make_unique<Recurrent>(CellKind::lstm, std::move(name), std::move(options));
}
std::unique_ptr<Recurrent> make_gru(std::string name, RecurrentOptions options) {
  return std::make_unique<Recurrent>(CellKind::gru, std::move(name), std::move(options));
}

}  // namespace recur
