// Finite-difference gradient checks of Functional graphs (house rule 7a): branches merged by
// Concatenate / Add, fan-out (a tensor consumed several times), seq2seq with the decoder started
// from the encoder's final states (the gradient flows back into the encoder through the states
// only), state tensors as model outputs, outputs without a gradient, masks from Masking and
// Embedding(mask_zero) through merges, and dropout in training mode.
//
// The checker follows tests/support/gradcheck.hpp (whose GradChecker drives a Sequential): the
// scalar is L = Σ_o Σ y_o ⊙ R_o over the outputs that receive a gradient (the others get
// nullptr in backward_batch), R_o fixed standard-normal; analytic gradients from zero_grad +
// forward_batch + backward_batch(R); numerical ones from the same central 6th-order stencil at
// eps = 0.1 (cross-checked at eps/2), with the rounding noise σ_L of L measured by a quadratic
// fit and the same norm-wise metric and noise floors; the report is gradcheck.hpp's
// GradcheckReport. Every activation here is smooth, so the kink search is not needed: an element
// whose two scales disagree is reported as an unresolved kink.
//
// How to add a case: append a row to registry(): a name and a function that builds the graph
// and its time-major inputs from a Rng (helpers below make inputs with masks).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "recur/recur.hpp"
#include "support/gradcheck.hpp"

namespace {

using recur::Activation;
using recur::Context;
using recur::Functional;
using recur::NodeRef;
using recur::Rng;
using recur::Shape;
using recur::Tensor;
using recur::testing::GradcheckReport;
using recur::testing::GradSet;
using recur::testing::GradTensor;
using recur::testing::TensorError;

// ---- A case: a built graph and its inputs -----------------------------------------------------

struct Graph {
  std::unique_ptr<Functional> model = std::make_unique<Functional>("graph");
  std::vector<Tensor> xs;         // time-major inputs, in the model's input order
  std::vector<Tensor> selects;    // per input: elements that are 0 are not perturbed (or empty)
  std::vector<char> check_input;  // per input: compare dL/dx (not for token ids)
  std::vector<char> output_grad;  // per output: receives R (else nullptr); empty = all
  std::optional<uint64_t> dropout_seed;
  std::vector<std::string> zero_grad;  // tensors that get no gradient by design
};

struct FuncCase {
  std::string name;
  std::function<void(Graph&, Rng&)> make;  // builds the model (seed 0), adds its inputs
};
void PrintTo(const FuncCase& c, std::ostream* os) { *os << c.name; }

enum class Pad { none, post, pre };
// Row b of a post-padded batch has T − b real steps (at least 1); pre-padded starts at step b.
bool real_step(Pad p, int64_t t, int64_t b, int64_t T) {
  switch (p) {
    case Pad::none:
      return true;
    case Pad::post:
      return t < std::max<int64_t>(1, T - b);
    case Pad::pre:
      return t >= std::min(b, T - 1);
  }
  return true;
}

// Float sequences [T, B, F] ~ N(0, 1); padded steps are exact zeros (for a Masking layer) and
// are not perturbed.
void add_float_input(Graph& g, Rng& rng, const Shape& tbf, Pad pad = Pad::none) {
  const int64_t T = tbf[0], B = tbf[1], F = tbf[2];
  Tensor x(tbf), sel(tbf, 1.0f);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t f = 0; f < F; ++f) {
        const int64_t k = (t * B + b) * F + f;
        const bool real = real_step(pad, t, b, T);
        x[k] = real ? static_cast<float>(rng.normal()) : 0.0f;
        sel[k] = real ? 1.0f : 0.0f;
      }
  g.xs.push_back(std::move(x));
  g.selects.push_back(pad == Pad::none ? Tensor() : std::move(sel));
  g.check_input.push_back(1);
}

// Token ids [T, B] in [1, vocab); padded steps are id 0.
void add_id_input(Graph& g, Rng& rng, const Shape& tb, int64_t vocab, Pad pad = Pad::none) {
  const int64_t T = tb[0], B = tb[1];
  Tensor x(tb);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b)
      x[t * B + b] = real_step(pad, t, b, T) ? static_cast<float>(1 + rng.below(vocab - 1)) : 0.0f;
  g.xs.push_back(std::move(x));
  g.selects.emplace_back();
  g.check_input.push_back(0);
}

std::unique_ptr<recur::Dense> dense(std::string name, int64_t units,
                                    Activation a = Activation::linear) {
  return std::make_unique<recur::Dense>(std::move(name),
                                        recur::DenseOptions{.units = units, .activation = a});
}
std::unique_ptr<recur::Masking> masking(std::string name) {
  return std::make_unique<recur::Masking>(std::move(name), 0.0f);
}

// ---- The checker ------------------------------------------------------------------------------

constexpr double kAgree = 1e-4, kCentralGain = 1.1, kZeroRel = 1e-7, kNoiseSigmas = 3.0;

class FunctionalGradChecker {
 public:
  FunctionalGradChecker(Graph& g, double eps = 0.1, double tolerance = 1e-3)
      : g_(g), m_(*g.model), eps_(eps), tol_(tolerance) {
    for (const Tensor& x : g_.xs) ptrs_.push_back(&x);
    Rng rng(1234, Rng::kSample);
    const auto& ys = m_.forward_batch(context(), ptrs_);
    for (std::size_t o = 0; o < ys.size(); ++o) {
      r_.emplace_back(ys[o]->shape());
      for (float& v : r_.back().span()) v = static_cast<float>(rng.normal());
    }
    for (std::size_t o = 0; o < r_.size(); ++o)
      dys_.push_back(g_.output_grad.empty() || g_.output_grad[o] ? &r_[o] : nullptr);
  }

  GradcheckReport run() { return compare(analytic(), numeric()); }

 private:
  Context context() {
    Context ctx;
    if (g_.dropout_seed) {
      rng_.emplace(*g_.dropout_seed, Rng::kDropout);
      ctx.training = true;
      ctx.rng = &*rng_;
    }
    return ctx;
  }

  double loss() {
    const auto& ys = m_.forward_batch(context(), ptrs_);
    double l = 0.0;
    for (std::size_t o = 0; o < ys.size(); ++o) {
      if (!dys_[o]) continue;
      for (int64_t i = 0; i < ys[o]->numel(); ++i) l += static_cast<double>((*ys[o])[i]) * r_[o][i];
    }
    return l;
  }
  double loss_at(float* slot, float v) {
    *slot = v;
    return loss();
  }

  GradSet analytic() {
    const Context ctx = context();
    m_.zero_grad();
    m_.forward_batch(ctx, ptrs_);
    m_.backward_batch(ctx, dys_);
    GradSet out;
    for (const recur::Variable& v : m_.variables()) {
      GradTensor t;
      t.name = v.name;
      t.shape = v.grad.shape;
      t.values.assign(v.grad.data, v.grad.data + v.grad.numel());
      out.push_back(std::move(t));
    }
    for (std::size_t i = 0; i < g_.xs.size(); ++i) {
      if (!g_.check_input[i]) continue;
      GradTensor t;
      t.name = "input/" + m_.input_name(i);
      t.shape = g_.xs[i].shape();
      t.values.assign(static_cast<std::size_t>(g_.xs[i].numel()), 0.0);
      if (const Tensor* dx = m_.input_grad(i)) {
        EXPECT_EQ(dx->shape(), g_.xs[i].shape()) << t.name;
        t.values.assign(dx->data(), dx->data() + dx->numel());
      }
      out.push_back(std::move(t));
    }
    return out;
  }

  double stencil(float* slot, double h) {
    // E(h) = [45 (L₁ − L₋₁) − 9 (L₂ − L₋₂) + (L₃ − L₋₃)] / (60 h),  L_k = L(v + k h)
    static constexpr int kK[] = {1, -1, 2, -2, 3, -3};
    static constexpr double kW[] = {45, -45, -9, 9, 1, -1};
    const float v = *slot;
    double acc = 0.0;
    for (int i = 0; i < 6; ++i) acc += kW[i] * loss_at(slot, static_cast<float>(v + kK[i] * h));
    *slot = v;
    return acc / (60.0 * h);
  }

  double rounding_noise(float* slot) {
    // Residual RMS of a least-squares quadratic through L at 41 points within ±2e-4.
    const float v = *slot;
    std::vector<double> s, l;
    for (int k = -20; k <= 20; ++k) {
      const float p = static_cast<float>(v + k * 1e-5);
      s.push_back(static_cast<double>(p) - v);
      l.push_back(loss_at(slot, p) - l0_);
    }
    *slot = v;
    const auto n = static_cast<double>(s.size());
    double mean_s2 = 0.0;
    for (double si : s) mean_s2 += si * si / n;
    double c[3] = {0, 0, 0}, norm[3] = {0, 0, 0};
    for (std::size_t i = 0; i < s.size(); ++i) {
      const double p[3] = {1.0, s[i], s[i] * s[i] - mean_s2};
      for (int k = 0; k < 3; ++k) {
        c[k] += l[i] * p[k];
        norm[k] += p[k] * p[k];
      }
    }
    for (int k = 0; k < 3; ++k) c[k] = norm[k] > 0 ? c[k] / norm[k] : 0.0;
    double rss = 0.0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const double e = l[i] - c[0] - c[1] * s[i] - c[2] * (s[i] * s[i] - mean_s2);
      rss += e * e;
    }
    return std::sqrt(rss / (n - 3));
  }

  GradSet numeric() {
    struct Target {
      std::string name;
      Shape shape;
      float* data;
      const Tensor* select;
    };
    std::vector<Target> targets;
    for (const recur::Variable& v : m_.variables())
      targets.push_back({v.name, v.value.shape, v.value.data, nullptr});
    for (std::size_t i = 0; i < g_.xs.size(); ++i)
      if (g_.check_input[i])
        targets.push_back({"input/" + m_.input_name(i), g_.xs[i].shape(), g_.xs[i].data(),
                           g_.selects[i].empty() ? nullptr : &g_.selects[i]});
    l0_ = loss();
    std::vector<std::vector<int64_t>> chosen(targets.size());
    double noise = 0.0;
    for (std::size_t k = 0; k < targets.size(); ++k) {
      const Target& t = targets[k];
      for (int64_t i = 0; i < recur::shape_numel(t.shape); ++i)
        if (!t.select || (*t.select)[i] != 0) chosen[k].push_back(i);
      if (chosen[k].empty()) continue;
      for (std::size_t j : {std::size_t{0}, chosen[k].size() / 2, chosen[k].size() - 1})
        noise = std::max(noise, rounding_noise(t.data + chosen[k][j]));
    }
    GradSet out;
    for (std::size_t k = 0; k < targets.size(); ++k) {
      const Target& t = targets[k];
      GradTensor g;
      g.name = t.name;
      g.shape = t.shape;
      g.values.assign(static_cast<std::size_t>(recur::shape_numel(t.shape)), 0.0);
      if (t.select) g.skip.assign(g.values.size(), 1);
      for (int64_t i : chosen[k]) {
        if (t.select) g.skip[i] = 0;
        const double c1 = stencil(t.data + i, eps_), c2 = stencil(t.data + i, eps_ / 2);
        const bool agree = std::abs(c1 - c2) <= kAgree * std::max(std::abs(c1), std::abs(c2)) +
                                                    4.0 * kCentralGain * noise / (eps_ / 2);
        if (!agree) ++g.kinks;
        g.values[i] = agree ? c1 : c2;
      }
      g.noise = kCentralGain * noise / eps_ * std::sqrt(static_cast<double>(chosen[k].size()));
      out.push_back(std::move(g));
    }
    return out;
  }

  GradcheckReport compare(const GradSet& a, const GradSet& n) const {
    GradcheckReport rep;
    rep.tolerance = tol_;
    double largest = 0.0;
    auto norm2 = [](const std::vector<double>& v) {
      double s = 0.0;
      for (double x : v) s += x * x;
      return std::sqrt(s);
    };
    for (const GradSet* set : {&a, &n})
      for (const GradTensor& g : *set) largest = std::max(largest, norm2(g.values));
    for (std::size_t t = 0; t < a.size(); ++t) {
      TensorError e;
      e.name = a[t].name;
      e.shape = a[t].shape;
      e.kinks = n[t].kinks;
      double sa = 0.0, sn = 0.0, sd = 0.0, worst = -1.0;
      for (std::size_t i = 0; i < a[t].values.size(); ++i) {
        if (!n[t].skip.empty() && n[t].skip[i]) continue;
        const double d = a[t].values[i] - n[t].values[i];
        sa += a[t].values[i] * a[t].values[i];
        sn += n[t].values[i] * n[t].values[i];
        sd += d * d;
        ++e.compared;
        if (!(std::abs(d) <= worst)) {
          worst = std::abs(d);
          e.worst_index = static_cast<int64_t>(i);
          e.analytic_at_worst = a[t].values[i];
          e.numeric_at_worst = n[t].values[i];
        }
      }
      e.norm_analytic = std::sqrt(sa);
      e.norm_numeric = std::sqrt(sn);
      e.norm_diff = std::sqrt(sd);
      e.floor = std::max({kZeroRel * largest, kNoiseSigmas * n[t].noise / tol_, 1e-300});
      e.rel_error = e.norm_diff / std::max({e.norm_analytic, e.norm_numeric, e.floor});
      rep.tensors.push_back(e);
    }
    return rep;
  }

  Graph& g_;
  Functional& m_;
  double eps_, tol_;
  std::vector<const Tensor*> ptrs_;
  std::vector<Tensor> r_;
  std::vector<const Tensor*> dys_;
  std::optional<Rng> rng_;
  double l0_ = 0.0;
};

// ---- The registry -----------------------------------------------------------------------------

std::vector<FuncCase> registry() {
  using recur::make_gru;
  using recur::make_lstm;
  using recur::make_simple_rnn;
  std::vector<FuncCase> cases;
  auto add = [&](std::string name, std::function<void(Graph&, Rng&)> make) {
    cases.push_back({std::move(name), std::move(make)});
  };

  // (a) An LSTM branch and a GRU branch on one input, concatenated into one Dense.
  add("branches_lstm_gru_concat_dense", [](Graph& g, Rng& rng) {
    Functional& m = *g.model;
    NodeRef x = m.input("x", {-1, 3});
    NodeRef a = m.call(make_lstm("lstm", {.units = 4}), {x})[0];
    NodeRef b = m.call(make_gru("gru", {.units = 3}), {x})[0];
    NodeRef c = m.call(std::make_unique<recur::Concatenate>("cat"), {a, b})[0];
    NodeRef y = m.call(dense("out", 2, Activation::tanh), {c})[0];
    m.build({x}, {y});
    add_float_input(g, rng, {5, 3, 3});
  });
  add("branches_seq_concat_masking_post_then_lstm", [](Graph& g, Rng& rng) {
    Functional& m = *g.model;
    NodeRef x = m.input("x", {-1, 3});
    NodeRef xm = m.call(masking("mask"), {x})[0];
    NodeRef a = m.call(make_lstm("lstm", {.units = 3, .return_sequences = true}), {xm})[0];
    NodeRef b = m.call(
        make_gru("gru", {.units = 3, .return_sequences = true, .reset_after = false}), {xm})[0];
    NodeRef c = m.call(std::make_unique<recur::Concatenate>("cat"), {a, b})[0];
    NodeRef h = m.call(make_lstm("top", {.units = 3}), {c})[0];
    NodeRef y = m.call(dense("out", 2), {h})[0];
    m.build({x}, {y});
    add_float_input(g, rng, {5, 3, 3}, Pad::post);
  });
  add("add_two_inputs_seq_per_step_dense", [](Graph& g, Rng& rng) {
    Functional& m = *g.model;
    NodeRef x1 = m.input("x1", {4, 3});
    NodeRef x2 = m.input("x2", {4, 2});
    NodeRef a = m.call(make_lstm("lstm", {.units = 3, .return_sequences = true}), {x1})[0];
    NodeRef b = m.call(make_simple_rnn("rnn", {.units = 3, .return_sequences = true}), {x2})[0];
    NodeRef s = m.call(std::make_unique<recur::Add>("add"), {a, b})[0];
    NodeRef y = m.call(dense("out", 2), {s})[0];
    m.build({x1, x2}, {y});
    add_float_input(g, rng, {4, 2, 3});
    add_float_input(g, rng, {4, 2, 2});
  });
  // A tensor consumed three times (twice by one Add, once by a Dense) and also a model output.
  add("fan_out_add_same_tensor_twice_and_output", [](Graph& g, Rng& rng) {
    Functional& m = *g.model;
    NodeRef x = m.input("x", {-1, 2});
    NodeRef a = m.call(make_gru("gru", {.units = 3}), {x})[0];
    NodeRef d = m.call(dense("d", 3, Activation::tanh), {a})[0];
    NodeRef s = m.call(std::make_unique<recur::Add>("add"), {a, a, d})[0];
    NodeRef y = m.call(dense("out", 2), {s})[0];
    m.build({x}, {y, a});
    add_float_input(g, rng, {4, 3, 2});
  });
  // (b) seq2seq: the decoder starts from the encoder's (h, c); the encoder's output is unused,
  // so its parameters and input get their gradient through the states alone.
  add("seq2seq_lstm_encoder_states_to_decoder", [](Graph& g, Rng& rng) {
    Functional& m = *g.model;
    NodeRef e_in = m.input("enc_in", {-1, 3});
    auto enc = m.call(make_lstm("enc", {.units = 4, .return_state = true}), {e_in});
    NodeRef d_in = m.input("dec_in", {-1, 2});
    NodeRef d = m.call(make_lstm("dec", {.units = 4, .return_sequences = true}), {d_in},
                       {enc[1], enc[2]})[0];
    NodeRef y = m.call(dense("out", 2), {d})[0];
    m.build({e_in, d_in}, {y});
    add_float_input(g, rng, {5, 3, 3});
    add_float_input(g, rng, {4, 3, 2});
  });
  add("seq2seq_gru_masked_encoder_reset_before", [](Graph& g, Rng& rng) {
    Functional& m = *g.model;
    NodeRef e_in = m.input("enc_in", {-1, 2});
    NodeRef em = m.call(masking("enc_mask"), {e_in})[0];
    auto enc =
        m.call(make_gru("enc", {.units = 3, .return_state = true, .reset_after = false}), {em});
    NodeRef d_in = m.input("dec_in", {-1, 3});
    NodeRef d =
        m.call(make_gru("dec", {.units = 3, .return_sequences = true}), {d_in}, {enc[1]})[0];
    NodeRef y = m.call(dense("out", 2), {d})[0];
    m.build({e_in, d_in}, {y});
    add_float_input(g, rng, {5, 3, 2}, Pad::post);
    add_float_input(g, rng, {3, 3, 3});
  });
  // A Dense "bridge" maps the encoder's h to the decoder's initial state; a second decoder
  // continues from the first one's states.
  add("seq2seq_bridge_and_chained_decoders", [](Graph& g, Rng& rng) {
    Functional& m = *g.model;
    NodeRef e_in = m.input("enc_in", {-1, 2});
    auto enc = m.call(make_lstm("enc", {.units = 3, .return_state = true}), {e_in});
    NodeRef bridge = m.call(dense("bridge", 4, Activation::tanh), {enc[1]})[0];
    NodeRef d_in = m.input("dec_in", {-1, 2});
    auto dec1 =
        m.call(make_gru("dec1", {.units = 4, .return_sequences = true, .return_state = true}),
               {d_in}, {bridge});
    auto dec2 = m.call(make_simple_rnn("dec2", {.units = 4, .return_sequences = true}), {dec1[0]},
                       {dec1[1]});
    NodeRef y = m.call(dense("out", 2), {dec2[0]})[0];
    m.build({e_in, d_in}, {y});
    add_float_input(g, rng, {4, 2, 2});
    add_float_input(g, rng, {3, 2, 2});
  });
  // State tensors as model outputs (with their own gradients).
  add("state_outputs_seq_h_c", [](Graph& g, Rng& rng) {
    Functional& m = *g.model;
    NodeRef x = m.input("x", {-1, 3});
    auto enc = m.call(
        make_lstm("lstm", {.units = 3, .return_sequences = true, .return_state = true}), {x});
    NodeRef y = m.call(dense("out", 2), {enc[0]})[0];
    m.build({x}, {y, enc[1], enc[2]});
    add_float_input(g, rng, {4, 2, 3});
  });
  // return_sequences=false: the output and h are the same values; both gradients must add up.
  // c is an output without a gradient (nullptr).
  add("output_and_state_h_same_tensor_c_without_grad", [](Graph& g, Rng& rng) {
    Functional& m = *g.model;
    NodeRef x = m.input("x", {-1, 2});
    auto enc = m.call(make_lstm("lstm", {.units = 3, .return_state = true}), {x});
    m.build({x}, {enc[0], enc[1], enc[2]});
    add_float_input(g, rng, {4, 3, 2});
    g.output_grad = {1, 1, 0};
  });
  add("only_a_state_gets_a_gradient_gru", [](Graph& g, Rng& rng) {
    Functional& m = *g.model;
    NodeRef x = m.input("x", {-1, 2});
    auto enc =
        m.call(make_gru("gru", {.units = 3, .return_sequences = true, .return_state = true}), {x});
    NodeRef y = m.call(dense("out", 2), {enc[0]})[0];
    m.build({x}, {y, enc[1]});
    add_float_input(g, rng, {4, 2, 2});
    g.output_grad = {0, 1};
    g.zero_grad = {"out/kernel", "out/bias"};  // only the state output has a gradient
  });
  // Masks through merges: Embedding(mask_zero) into two branches, added, into an RNN.
  add("embedding_mask_zero_branches_add_post", [](Graph& g, Rng& rng) {
    Functional& m = *g.model;
    NodeRef ids = m.input("ids", {-1});
    NodeRef e = m.call(
        std::make_unique<recur::Embedding>(
            "emb", recur::EmbeddingOptions{.input_dim = 6, .output_dim = 3, .mask_zero = true}),
        {ids})[0];
    NodeRef a = m.call(make_lstm("lstm", {.units = 3, .return_sequences = true}), {e})[0];
    NodeRef b = m.call(make_gru("gru", {.units = 3, .return_sequences = true}), {e})[0];
    NodeRef s = m.call(std::make_unique<recur::Add>("add"), {a, b})[0];
    NodeRef h = m.call(make_simple_rnn("rnn", {.units = 3}), {s})[0];
    NodeRef y = m.call(dense("out", 2), {h})[0];
    m.build({ids}, {y});
    add_id_input(g, rng, {5, 3}, 6, Pad::post);
  });
  // Two inputs with different padding: the merged mask is their AND.
  add("different_masks_add_and_concat", [](Graph& g, Rng& rng) {
    Functional& m = *g.model;
    NodeRef x1 = m.input("x1", {-1, 2});
    NodeRef x2 = m.input("x2", {-1, 2});
    NodeRef m1 = m.call(masking("mask1"), {x1})[0];
    NodeRef m2 = m.call(masking("mask2"), {x2})[0];
    NodeRef a = m.call(make_lstm("lstm", {.units = 3, .return_sequences = true}), {m1})[0];
    NodeRef b = m.call(make_gru("gru", {.units = 3, .return_sequences = true}), {m2})[0];
    NodeRef s = m.call(std::make_unique<recur::Add>("add"), {a, b})[0];
    NodeRef c = m.call(std::make_unique<recur::Concatenate>("cat"), {s, x2})[0];
    NodeRef h = m.call(make_gru("top", {.units = 3}), {c})[0];
    NodeRef y = m.call(dense("out", 2), {h})[0];
    m.build({x1, x2}, {y});
    add_float_input(g, rng, {5, 3, 2}, Pad::post);
    add_float_input(g, rng, {5, 3, 2}, Pad::pre);
  });
  add("bidirectional_and_gru_branches_concat_masking_pre", [](Graph& g, Rng& rng) {
    Functional& m = *g.model;
    NodeRef x = m.input("x", {-1, 2});
    NodeRef xm = m.call(masking("mask"), {x})[0];
    NodeRef a = m.call(std::make_unique<recur::Bidirectional>(
                           "bidir", recur::CellKind::lstm,
                           recur::RecurrentOptions{.units = 2, .return_sequences = true}),
                       {xm})[0];
    NodeRef b = m.call(make_gru("gru", {.units = 3, .return_sequences = true}), {xm})[0];
    NodeRef c = m.call(std::make_unique<recur::Concatenate>("cat"), {a, b})[0];
    NodeRef y = m.call(dense("out", 2), {c})[0];
    m.build({x}, {y});
    add_float_input(g, rng, {4, 3, 2}, Pad::pre);
  });
  // Training mode: recurrent dropout in one branch, a Dropout layer in the other (the same
  // masks on every forward).
  add("dropout_branches_training", [](Graph& g, Rng& rng) {
    Functional& m = *g.model;
    NodeRef x = m.input("x", {-1, 3});
    NodeRef a =
        m.call(make_lstm("lstm", {.units = 3, .dropout = 0.3f, .recurrent_dropout = 0.3f}), {x})[0];
    NodeRef xd = m.call(std::make_unique<recur::Dropout>("drop", 0.4f), {x})[0];
    NodeRef b = m.call(make_gru("gru", {.units = 2}), {xd})[0];
    NodeRef c = m.call(std::make_unique<recur::Concatenate>("cat"), {a, b})[0];
    NodeRef y = m.call(dense("out", 2), {c})[0];
    m.build({x}, {y});
    add_float_input(g, rng, {4, 2, 3});
    g.dropout_seed = 11;
  });
  return cases;
}

class FunctionalGradcheck : public ::testing::TestWithParam<FuncCase> {};

TEST_P(FunctionalGradcheck, AnalyticMatchesFiniteDifferences) {
  const FuncCase& c = GetParam();
  Graph g;
  Rng rng(42, Rng::kSample);
  c.make(g, rng);
  // Weights uniform in (−0.5, 0.5), so that gates differ and states do not saturate.
  for (float& w : g.model->weights()) w = rng.uniform(-0.5f, 0.5f);
  FunctionalGradChecker checker(g);
  const GradcheckReport rep = checker.run();
  EXPECT_TRUE(rep.passed()) << c.name << ": " << rep.str();
  // Every parameter and checked input received a non-zero gradient (the graph is connected),
  // except where the case says otherwise.
  for (const TensorError& e : rep.tensors) {
    if (std::find(g.zero_grad.begin(), g.zero_grad.end(), e.name) != g.zero_grad.end())
      EXPECT_EQ(e.norm_analytic, 0.0) << c.name << ": " << e.name << " should get no gradient";
    else
      EXPECT_GT(e.norm_analytic, 0.0) << c.name << ": no gradient reached " << e.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Registry, FunctionalGradcheck, ::testing::ValuesIn(registry()),
                         [](const ::testing::TestParamInfo<FuncCase>& p) { return p.param.name; });

}  // namespace
