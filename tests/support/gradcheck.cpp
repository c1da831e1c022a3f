// Finite-difference gradient checker (the method and the metric are described in gradcheck.hpp).
#include "support/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>
#include <stdexcept>

namespace recur::testing {

namespace {

// Two estimates agree when they differ by at most kAgree |E| plus 4σ of their rounding noise.
constexpr double kAgree = 1e-4;
// Rounding-noise gains of the stencils, in units of σ_L / h:
// central sqrt(2 (45² + 9² + 1)) / 60 ≈ 1.1; one-sided sqrt(25² + 48² + 36² + 16² + 3²) / 12 ≈ 5.6.
constexpr double kCentralGain = 1.1, kSideGain = 5.6;
// The metric's floors (gradcheck.hpp).
constexpr double kZeroRel = 1e-7;
constexpr double kNoiseSigmas = 3.0;

std::string index_str(const Shape& shape, int64_t flat) {
  if (flat < 0) return "-";
  std::vector<int64_t> idx(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    idx[d] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? flat / shape[d] : 0;
  }
  std::string s = "[";
  for (std::size_t d = 0; d < idx.size(); ++d) s += (d ? ", " : "") + std::to_string(idx[d]);
  return s + "]";
}

GradTensor from_floats(std::string name, const Shape& shape, const float* data) {
  GradTensor g;
  g.name = std::move(name);
  g.shape = shape;
  g.values.assign(data, data + shape_numel(shape));
  return g;
}

double norm2(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

}  // namespace

GradChecker::GradChecker(Sequential& model, const Tensor& x, GradcheckOptions options)
    : model_(model), x_(x), opt_(options) {
  for (std::size_t i = 0; i < model_.size(); ++i) {
    std::vector<Param*> ps;
    model_.layer(i).collect_params(ps);
    for (const Param* p : ps) param_names_.push_back(model_.layer(i).name() + "/" + p->name);
  }
  if (param_names_.size() != model_.params().size())
    throw std::logic_error("gradcheck: layer parameters do not match model.params()");
  Rng rng(opt_.seed, Rng::kSample);
  if (opt_.state_layer) {
    const int64_t B = x_.dim(1), H = opt_.state_layer->units();
    h0_ = Tensor({B, H});
    for (float& v : h0_.span()) v = static_cast<float>(0.5 * rng.normal());
    if (opt_.state_layer->state_count() == 2) {
      c0_ = Tensor({B, H});
      for (float& v : c0_.span()) v = static_cast<float>(0.5 * rng.normal());
    }
    opt_.state_layer->set_initial_states(&h0_, c0_.empty() ? nullptr : &c0_);
  }
  const Tensor& y = model_.forward(context(), x_, opt_.mask);
  r_ = Tensor(y.shape());
  for (float& v : r_.span()) v = static_cast<float>(rng.normal());
}

GradChecker::~GradChecker() {
  if (opt_.state_layer) opt_.state_layer->clear_initial_states();
}

Context GradChecker::context() {
  Context ctx;
  if (opt_.dropout_seed) {
    rng_.emplace(*opt_.dropout_seed, Rng::kDropout);
    ctx.training = true;
    ctx.rng = &*rng_;
  }
  return ctx;
}

double GradChecker::loss() {
  const Tensor& y = model_.forward(context(), x_, opt_.mask);
  if (y.shape() != r_.shape())
    throw std::logic_error("gradcheck: output shape changed to " + shape_str(y.shape()));
  double l = 0.0;
  for (int64_t i = 0; i < y.numel(); ++i) l += static_cast<double>(y[i]) * r_[i];
  return l;
}

double GradChecker::loss_at(float* slot, float v) {
  *slot = v;
  return loss();
}

GradSet GradChecker::analytic() {
  const Context ctx = context();
  model_.zero_grad();
  model_.forward(ctx, x_, opt_.mask);
  const Tensor& dx = model_.backward(ctx, r_);
  GradSet out;
  const auto& params = model_.params();
  for (std::size_t i = 0; i < params.size(); ++i)
    out.push_back(from_floats(param_names_[i], params[i]->shape, params[i]->grad.data));
  if (opt_.check_input) {
    if (dx.shape() != x_.shape())
      throw std::logic_error("gradcheck: dx has shape " + shape_str(dx.shape()) + ", x has " +
                             shape_str(x_.shape()));
    out.push_back(from_floats("input", x_.shape(), dx.data()));
    if (opt_.input_select) {
      out.back().skip.resize(out.back().values.size());
      for (int64_t i = 0; i < x_.numel(); ++i) out.back().skip[i] = (*opt_.input_select)[i] == 0;
    }
  }
  if (opt_.state_layer) {
    const auto& g = opt_.state_layer->initial_state_grads();
    if (g.size() != (c0_.empty() ? 1u : 2u))
      throw std::logic_error("gradcheck: initial_state_grads() has the wrong count");
    out.push_back(from_floats("initial_state/h", h0_.shape(), g[0].data()));
    if (!c0_.empty()) out.push_back(from_floats("initial_state/c", c0_.shape(), g[1].data()));
  }
  return out;
}

double GradChecker::stencil(float* slot, double h, int side) {
  // side 0, central, exact for polynomials of degree 6:
  //   E(h) = [45 (L₁ − L₋₁) − 9 (L₂ − L₋₂) + (L₃ − L₋₃)] / (60 h),   L_k = L(v + k h)
  // side ±1, one-sided on [v, v ± 4h], exact for degree 4:
  //   E(h) = ±[−25 L₀ + 48 L±₁ − 36 L±₂ + 16 L±₃ − 3 L±₄] / (12 h)
  // The offsets v + k h are rounded to float; that moves a point by at most half an ulp of v,
  // a relative error of ~1e-6 in E at these h, far below the tolerances.
  static constexpr int kCentralK[] = {1, -1, 2, -2, 3, -3};
  static constexpr double kCentralW[] = {45, -45, -9, 9, 1, -1};
  static constexpr int kSideK[] = {1, 2, 3, 4};
  static constexpr double kSideW[] = {48, -36, 16, -3};
  const float v = *slot;
  double acc = 0.0, denom = 0.0;
  if (side == 0) {
    for (int i = 0; i < 6; ++i)
      acc += kCentralW[i] * loss_at(slot, static_cast<float>(v + kCentralK[i] * h));
    denom = 60.0 * h;
  } else {
    acc = -25.0 * l0_;
    for (int i = 0; i < 4; ++i)
      acc += kSideW[i] * loss_at(slot, static_cast<float>(v + side * kSideK[i] * h));
    denom = 12.0 * h * side;
  }
  *slot = v;
  return acc / denom;
}

bool GradChecker::agree(double a, double b, double h, double noise_gain) const {
  return std::abs(a - b) <=
         kAgree * std::max(std::abs(a), std::abs(b)) + 4.0 * noise_gain * noise_ / h;
}

double GradChecker::derivative(float* slot, int64_t* kinks) {
  // 1. Smooth neighbourhood: both central scales and both one-sided estimates agree.
  const double h = opt_.eps, hs = opt_.eps / 4;
  const double c1 = stencil(slot, h, 0), c2 = stencil(slot, h / 2, 0);
  const double r = stencil(slot, hs, +1), l = stencil(slot, hs, -1);
  if (agree(c1, c2, h / 2, kCentralGain) && agree(c2, r, hs, kSideGain) &&
      agree(c2, l, hs, kSideGain))
    return c1;
  // 2. A kink lies within reach, at some distance δ from v. A one-sided stencil that does not
  //    reach it is self-consistent across two scales and right; one that straddles it with
  //    δ ~ its width is not self-consistent; one with δ much smaller than its width is
  //    self-consistent but returns the slope beyond the kink. So shrink the scale until the two
  //    sides agree (the kink is out of reach of both) or exactly one side is self-consistent.
  for (double hk = hs; hk >= opt_.eps / 128; hk /= 2) {
    const double r1 = stencil(slot, hk, +1), r2 = stencil(slot, hk / 2, +1);
    const double l1 = stencil(slot, hk, -1), l2 = stencil(slot, hk / 2, -1);
    const bool right = agree(r1, r2, hk / 2, kSideGain), left = agree(l1, l2, hk / 2, kSideGain);
    // Richardson: the one-sided stencil is 4th order, so (16 E(h/2) − E(h)) / 15 removes h⁴.
    const double re = r2 + (r2 - r1) / 15.0, le = l2 + (l2 - l1) / 15.0;
    if (right && left && agree(re, le, hk / 2, 2 * kSideGain)) return 0.5 * (re + le);
    if (right && !left) return re;
    if (left && !right) return le;
  }
  ++*kinks;
  return c2;
}

double GradChecker::rounding_noise(float* slot) {
  // Residual RMS of a least-squares quadratic through L at 41 points within ±2e-4, in the
  // orthogonal basis 1, s, s² − mean(s²) of the symmetric grid. The quadratic absorbs the
  // curvature; what remains is float32 rounding.
  const float v = *slot;
  constexpr int kHalf = 20;
  constexpr double kStep = 1e-5;
  std::vector<double> s, l;
  for (int k = -kHalf; k <= kHalf; ++k) {
    const float p = static_cast<float>(v + k * kStep);
    s.push_back(static_cast<double>(p) - v);
    l.push_back(loss_at(slot, p) - l0_);
  }
  *slot = v;
  const std::size_t n = s.size();
  double mean_s2 = 0.0;
  for (double si : s) mean_s2 += si * si / static_cast<double>(n);
  double c[3] = {0, 0, 0}, norm[3] = {0, 0, 0};
  for (std::size_t i = 0; i < n; ++i) {
    const double p[3] = {1.0, s[i], s[i] * s[i] - mean_s2};
    for (int k = 0; k < 3; ++k) {
      c[k] += l[i] * p[k];
      norm[k] += p[k] * p[k];
    }
  }
  for (int k = 0; k < 3; ++k) c[k] = norm[k] > 0 ? c[k] / norm[k] : 0.0;
  double rss = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double e = l[i] - c[0] - c[1] * s[i] - c[2] * (s[i] * s[i] - mean_s2);
    rss += e * e;
  }
  return std::sqrt(rss / static_cast<double>(n - 3));
}

GradSet GradChecker::numeric() {
  struct Target {
    std::string name;
    Shape shape;
    float* data;
    const Tensor* select;
  };
  std::vector<Target> targets;
  const auto& params = model_.params();
  for (std::size_t i = 0; i < params.size(); ++i)
    targets.push_back({param_names_[i], params[i]->shape, params[i]->value.data, nullptr});
  if (opt_.check_input) targets.push_back({"input", x_.shape(), x_.data(), opt_.input_select});
  if (opt_.state_layer) {
    targets.push_back({"initial_state/h", h0_.shape(), h0_.data(), nullptr});
    if (!c0_.empty()) targets.push_back({"initial_state/c", c0_.shape(), c0_.data(), nullptr});
  }

  // σ_L, measured at the first, middle and last element of every tensor. It varies between
  // elements (one that moves few outputs, or none through a dead relu, sees less rounding), so
  // the agreement tests and the noise floors use the largest measurement. (A kink within
  // ±2e-4 of a measured element would inflate it: that errs towards leniency, not failure.)
  l0_ = loss();
  std::vector<std::vector<int64_t>> chosen(targets.size());
  noise_ = 0.0;
  for (std::size_t k = 0; k < targets.size(); ++k) {
    const Target& t = targets[k];
    for (int64_t i = 0; i < shape_numel(t.shape); ++i)
      if (!t.select || (*t.select)[i] != 0) chosen[k].push_back(i);
    if (chosen[k].empty()) continue;
    for (std::size_t j : {std::size_t{0}, chosen[k].size() / 2, chosen[k].size() - 1})
      noise_ = std::max(noise_, rounding_noise(t.data + chosen[k][j]));
  }

  GradSet out;
  for (std::size_t k = 0; k < targets.size(); ++k) {
    const Target& t = targets[k];
    const int64_t n = shape_numel(t.shape);
    GradTensor g;
    g.name = t.name;
    g.shape = t.shape;
    g.values.assign(static_cast<std::size_t>(n), 0.0);
    if (t.select) g.skip.assign(static_cast<std::size_t>(n), 1);
    for (int64_t i : chosen[k]) {
      if (t.select) g.skip[i] = 0;
      g.values[i] = derivative(t.data + i, &g.kinks);
    }
    g.noise = kCentralGain * noise_ / opt_.eps * std::sqrt(static_cast<double>(chosen[k].size()));
    out.push_back(std::move(g));
  }
  return out;
}

GradcheckReport GradChecker::compare(const GradSet& analytic, const GradSet& numeric) const {
  GradcheckReport rep;
  rep.tolerance = opt_.tolerance;
  if (analytic.size() != numeric.size())
    throw std::logic_error("gradcheck: analytic and numerical gradient sets differ in size");
  double largest = 0.0;
  for (const GradSet* set : {&analytic, &numeric})
    for (const GradTensor& g : *set) largest = std::max(largest, norm2(g.values));
  for (std::size_t t = 0; t < analytic.size(); ++t) {
    const GradTensor& a = analytic[t];
    const GradTensor& n = numeric[t];
    if (a.name != n.name || a.values.size() != n.values.size())
      throw std::logic_error("gradcheck: tensor '" + a.name + "' does not match '" + n.name + "'");
    TensorError e;
    e.name = a.name;
    e.shape = a.shape;
    e.kinks = n.kinks;
    double sa = 0.0, sn = 0.0, sd = 0.0, worst = -1.0;
    for (std::size_t i = 0; i < a.values.size(); ++i) {
      if ((!a.skip.empty() && a.skip[i]) || (!n.skip.empty() && n.skip[i])) continue;
      const double d = a.values[i] - n.values[i];
      sa += a.values[i] * a.values[i];
      sn += n.values[i] * n.values[i];
      sd += d * d;
      ++e.compared;
      if (!(std::abs(d) <= worst)) {  // NaN becomes the worst element
        worst = std::abs(d);
        e.worst_index = static_cast<int64_t>(i);
        e.analytic_at_worst = a.values[i];
        e.numeric_at_worst = n.values[i];
      }
    }
    e.norm_analytic = std::sqrt(sa);
    e.norm_numeric = std::sqrt(sn);
    e.norm_diff = std::sqrt(sd);
    e.floor = std::max({kZeroRel * largest, kNoiseSigmas * n.noise / opt_.tolerance, 1e-300});
    e.rel_error = e.norm_diff / std::max({e.norm_analytic, e.norm_numeric, e.floor});
    rep.tensors.push_back(e);
  }
  return rep;
}

bool GradcheckReport::passed() const {
  for (const TensorError& e : tensors)
    if (!(e.rel_error <= tolerance)) return false;  // NaN fails
  return true;
}

const TensorError* GradcheckReport::worst() const {
  const TensorError* w = nullptr;
  for (const TensorError& e : tensors)
    if (!w || !(e.rel_error <= w->rel_error)) w = &e;
  return w;
}

double GradcheckReport::max_rel_error() const {
  const TensorError* w = worst();
  return w ? w->rel_error : 0.0;
}

std::string GradcheckReport::str() const {
  const TensorError* w = worst();
  if (!w) return "no gradient tensors";
  std::ostringstream out;
  out << std::setprecision(4) << "worst tensor '" << w->name << "' " << shape_str(w->shape)
      << ": relative error " << w->rel_error << (w->rel_error <= tolerance ? " <= " : " > ")
      << tolerance << " (|a| " << w->norm_analytic << ", |n| " << w->norm_numeric
      << ", |a - n| " << w->norm_diff << "); worst element " << index_str(w->shape, w->worst_index)
      << ": analytic " << std::setprecision(8) << w->analytic_at_worst << ", numeric "
      << w->numeric_at_worst << std::setprecision(4) << "\n";
  for (const TensorError& e : tensors) {
    out << "  " << std::left << std::setw(34) << e.name << " " << std::setw(14)
        << shape_str(e.shape) << " rel " << std::setw(10) << e.rel_error << " |a| "
        << std::setw(10) << e.norm_analytic << " (" << e.compared << " compared";
    if (e.noise_limited()) out << ", noise-limited: floor " << e.floor;
    if (e.kinks) out << ", " << e.kinks << " unresolved kinks";
    out << ")\n";
  }
  return out.str();
}

::testing::AssertionResult gradcheck(Sequential& model, const Tensor& x,
                                     const GradcheckOptions& options) {
  GradChecker checker(model, x, options);
  const GradcheckReport rep = checker.run();
  if (rep.passed()) return ::testing::AssertionSuccess() << rep.str();
  return ::testing::AssertionFailure() << rep.str();
}

}  // namespace recur::testing
