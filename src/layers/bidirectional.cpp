// Bidirectional: a forward and a go_backwards copy of one recurrent layer, outputs merged.
#include "recur/layers/bidirectional.hpp"

#include <cstring>

#include "recur/error.hpp"

namespace recur {

MergeMode parse_merge_mode(const std::string& name, const std::string& where) {
  if (name == "concat") return MergeMode::concat;
  if (name == "sum") return MergeMode::sum;
  if (name == "mul") return MergeMode::mul;
  if (name == "ave") return MergeMode::ave;
  fail<ConfigError>(where, ": unsupported merge_mode '", name,
                    "' (supported: concat, sum, mul, ave)");
}

const char* merge_mode_name(MergeMode m) {
  switch (m) {
    case MergeMode::concat: return "concat";
    case MergeMode::sum: return "sum";
    case MergeMode::mul: return "mul";
    case MergeMode::ave: return "ave";
  }
  return "?";
}

namespace {
// Reverses the time axis of [T, B, H]: out[t] = in[T-1-t].
void reverse_time(const Tensor& in, Tensor& out) {
  out.resize(in.shape());
  const int64_t T = in.dim(0), block = in.numel() / (T ? T : 1);
  for (int64_t t = 0; t < T; ++t)
    std::memcpy(out.data() + t * block, in.data() + (T - 1 - t) * block,
                static_cast<std::size_t>(block) * sizeof(float));
}
}  // namespace

Bidirectional::Bidirectional(std::string name, CellKind cell, RecurrentOptions layer_options,
                             MergeMode merge_mode, std::string layer_name)
    : Layer(std::move(name)), merge_(merge_mode) {
  if (layer_options.return_state)
    fail<ConfigError>(where(), ": return_state on the wrapped layer is not supported in "
                               "Bidirectional");
  if (layer_name.empty()) layer_name = this->name();
  RecurrentOptions back = layer_options;
  back.go_backwards = !layer_options.go_backwards;
  fwd_ = std::make_unique<Recurrent>(cell, "forward_" + layer_name, layer_options);
  bwd_ = std::make_unique<Recurrent>(cell, "backward_" + layer_name, back);
  fwd_->set_zero_output_for_mask(layer_options.return_sequences);
  bwd_->set_zero_output_for_mask(layer_options.return_sequences);
}

Shape Bidirectional::do_build(const Shape& input_shape) {
  Shape out = fwd_->build(input_shape);
  bwd_->build(input_shape);
  // Parameter names inside this layer: forward/<w>, backward/<w> (DESIGN.md §3).
  std::vector<Param*> ps;
  fwd_->collect_params(ps);
  for (Param* p : ps) p->name = "forward/" + p->name;
  ps.clear();
  bwd_->collect_params(ps);
  for (Param* p : ps) p->name = "backward/" + p->name;
  if (merge_ == MergeMode::concat) out.back() *= 2;
  return out;
}

void Bidirectional::collect_params(std::vector<Param*>& out) {
  fwd_->collect_params(out);
  bwd_->collect_params(out);
}

void Bidirectional::initialize(Rng& rng) {
  fwd_->initialize(rng);
  bwd_->initialize(rng);
}

void Bidirectional::reset_states() {
  fwd_->reset_states();
  bwd_->reset_states();
}

const Tensor& Bidirectional::forward(const Context& ctx, const Tensor& x, const Tensor* mask) {
  mask_ = mask;
  const Tensor& yf = fwd_->forward(ctx, x, mask);
  const Tensor& yb_raw = bwd_->forward(ctx, x, mask);
  const bool seq = fwd_->options().return_sequences;
  const Tensor* yb = &yb_raw;
  yf_ = &yf;
  if (seq) {
    reverse_time(yb_raw, yb_);  // back into time order
    yb = &yb_;
  }
  yb_time_ = yb;
  const int64_t H = fwd_->units(), rows = yf.numel() / H;
  // yf is [T, B, H] or [B, H]; y_ is the same with the last axis 2H for concat (no Shape copy:
  // a repeated shape allocates nothing).
  const int64_t W = merge_ == MergeMode::concat ? 2 * H : H;
  if (seq)
    y_.resize({yf.dim(0), yf.dim(1), W});
  else
    y_.resize({yf.dim(0), W});
  for (int64_t r = 0; r < rows; ++r) {
    const float* f = yf.data() + r * H;
    const float* b = yb->data() + r * H;
    switch (merge_) {
      case MergeMode::concat:
        std::memcpy(y_.data() + r * 2 * H, f, static_cast<std::size_t>(H) * sizeof(float));
        std::memcpy(y_.data() + r * 2 * H + H, b, static_cast<std::size_t>(H) * sizeof(float));
        break;
      case MergeMode::sum:
        for (int64_t j = 0; j < H; ++j) y_[r * H + j] = f[j] + b[j];
        break;
      case MergeMode::mul:
        for (int64_t j = 0; j < H; ++j) y_[r * H + j] = f[j] * b[j];
        break;
      case MergeMode::ave:
        for (int64_t j = 0; j < H; ++j) y_[r * H + j] = 0.5f * (f[j] + b[j]);
        break;
    }
  }
  return y_;
}

const Tensor& Bidirectional::backward(const Context& ctx, const Tensor& dy) {
  if (dy.shape() != y_.shape())
    fail<ShapeError>(where(), ": output gradient has shape ", shape_str(dy.shape()),
                     ", expected ", shape_str(y_.shape()));
  const bool seq = fwd_->options().return_sequences;
  const Tensor& yf = *yf_;
  const Tensor& yb = *yb_time_;
  const int64_t H = fwd_->units(), rows = yf.numel() / H;
  dyf_.resize(yf.shape());
  dyb_.resize(yf.shape());  // time order first
  for (int64_t r = 0; r < rows; ++r) {
    float* gf = dyf_.data() + r * H;
    float* gb = dyb_.data() + r * H;
    switch (merge_) {
      case MergeMode::concat:
        for (int64_t j = 0; j < H; ++j) {
          gf[j] = dy[r * 2 * H + j];
          gb[j] = dy[r * 2 * H + H + j];
        }
        break;
      case MergeMode::sum:
        for (int64_t j = 0; j < H; ++j) gf[j] = gb[j] = dy[r * H + j];
        break;
      case MergeMode::mul:
        for (int64_t j = 0; j < H; ++j) {
          gf[j] = dy[r * H + j] * yb[r * H + j];
          gb[j] = dy[r * H + j] * yf[r * H + j];
        }
        break;
      case MergeMode::ave:
        for (int64_t j = 0; j < H; ++j) gf[j] = gb[j] = 0.5f * dy[r * H + j];
        break;
    }
  }
  const Tensor* gb_raw = &dyb_;
  if (seq) {
    reverse_time(dyb_, dyb_raw_);  // back into the backward copy's processing order
    gb_raw = &dyb_raw_;
  }
  const Tensor& dxf = fwd_->backward(ctx, dyf_);
  const Tensor& dxb = bwd_->backward(ctx, *gb_raw);
  if (!ctx.input_grad) {  // both copies skipped dx
    dx_.resize({0});
    return dx_;
  }
  dx_ = dxf;
  for (int64_t i = 0; i < dx_.numel(); ++i) dx_[i] += dxb[i];
  return dx_;
}

const Tensor* Bidirectional::output_mask() const {
  return fwd_->options().return_sequences ? mask_ : nullptr;
}

nlohmann::json Bidirectional::config() const {
  nlohmann::json inner = {{"class_name", fwd_->class_name()}, {"config", fwd_->config()}};
  inner["config"]["name"] = fwd_->name().substr(8);  // drop "forward_"
  return {{"name", name()},
          {"trainable", true},
          {"dtype", "float32"},
          {"merge_mode", merge_mode_name(merge_)},
          {"layer", inner}};
}

}  // namespace recur
