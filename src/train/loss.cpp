// Losses (recur/train/loss.hpp): Keras names and reductions, PyTorch-equal values.
//
// Shapes: pred [B, U] or [T, B, U] (T = 1 for [B, U]); an element e = (t, b) is one row at one
// step, e = t·B + b. Per element, with x = p − y over the U values of the row:
//
//   mse     l = 1/U Σ x²                              dl/dp = 2x / U
//   mae     l = 1/U Σ |x|                             dl/dp = sign(x) / U
//   huber   l = 1/U Σ (|x| ≤ δ ? ½x² : δ(|x| − ½δ))   dl/dp = (|x| ≤ δ ? x : δ·sign(x)) / U
//   binary_crossentropy, probabilities (Keras clips p to [ε, 1 − ε], ε = 1e-7):
//           l = −1/U Σ (y log p̂ + (1 − y) log(1 − p̂)),  p̂ = clip(p)
//           dl/dp = (p − y) / (p(1 − p)) / U, and 0 where p was clipped (the clip's gradient)
//   binary_crossentropy, logits z (the stable form, as tf.nn.sigmoid_cross_entropy_with_logits):
//           l = 1/U Σ (max(z, 0) − z y + log1p(exp(−|z|)))     dl/dz = (σ(z) − y) / U
//   categorical_crossentropy, probabilities (Keras renormalises, then clips):
//           S = Σ_c p_c,  q_c = clip(p_c / S),  l = −Σ_c y_c log q_c
//           dl/dp_j = −[j kept] y_j / p_j + (Σ_{c kept} y_c) / S      (kept = not clipped)
//   categorical_crossentropy, logits z:  l = (Σ y) lse(z) − Σ y z,  dl/dz = (Σ y) softmax(z) − y
//   sparse_categorical_crossentropy: the categorical forms with y the one-hot row of the id k
//           (k must be an integer in [0, U); checked where the mask is not 0).
//
// Reduction (Keras SUM_OVER_BATCH_SIZE with its masked mean): with c_e = w_b · m_e,
//   L = Σ_e c_e l_e / D,   D = Σ_e m_e with a mask, T·B without;   dL/dp_e = c_e / D · dl_e/dp_e.
// D = 0 (an all-zero mask, or an empty batch) gives L = 0 and a zero gradient. Elements with
// c_e = 0 are skipped, so padded steps may hold any target. Values accumulate in double; the
// gradient is stored as float.
#include "recur/train/loss.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "recur/error.hpp"

namespace recur {

namespace detail {
// Shape checks shared with the metrics (metrics.cpp declares it too). `who` and `name` open the
// message ("loss" "mse" -> "loss mse: ..."); nothing is allocated unless a check fails.
void check_loss_inputs(std::string_view who, std::string_view name, bool sparse,
                       const Tensor& pred, const Tensor& target, const Tensor* weight,
                       const Tensor* mask);
}  // namespace detail

namespace {

constexpr double kEpsilon = 1e-7;  // Keras's backend.epsilon(), the probability clip

const char* kind_name(LossKind kind) {
  switch (kind) {
    case LossKind::mse: return "mse";
    case LossKind::mae: return "mae";
    case LossKind::huber: return "huber";
    case LossKind::binary_crossentropy: return "binary_crossentropy";
    case LossKind::categorical_crossentropy: return "categorical_crossentropy";
    case LossKind::sparse_categorical_crossentropy: return "sparse_categorical_crossentropy";
  }
  return "?";
}

bool is_crossentropy(LossKind kind) {
  return kind == LossKind::binary_crossentropy || kind == LossKind::categorical_crossentropy ||
         kind == LossKind::sparse_categorical_crossentropy;
}

// pred [B, U] -> T = 1; pred [T, B, U].
struct Dims {
  int64_t T, B, U;
};

Dims dims_of(const Tensor& pred) {
  if (pred.rank() == 2) return {1, pred.dim(0), pred.dim(1)};
  return {pred.dim(0), pred.dim(1), pred.dim(2)};
}

std::string lead_shape_str(const Tensor& pred, int64_t extra) {
  Shape s(pred.shape().begin(), pred.shape().end() - 1);
  if (extra > 0) s.push_back(extra);
  return shape_str(s);
}

double sign(double x) { return x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0); }

double sigmoid(double z) {
  if (z >= 0.0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

// ---- mse / mae / huber: one row of U values --------------------------------------------------

double mse_row(const float* p, const float* y, int64_t U) {
  double s = 0.0;
  for (int64_t u = 0; u < U; ++u) {
    const double x = double(p[u]) - double(y[u]);
    s += x * x;
  }
  return s / double(U);
}

void mse_row_backward(float* dp, const float* p, const float* y, int64_t U, double scale) {
  const double k = 2.0 * scale / double(U);
  for (int64_t u = 0; u < U; ++u) dp[u] = float(k * (double(p[u]) - double(y[u])));
}

double mae_row(const float* p, const float* y, int64_t U) {
  double s = 0.0;
  for (int64_t u = 0; u < U; ++u) s += std::abs(double(p[u]) - double(y[u]));
  return s / double(U);
}

void mae_row_backward(float* dp, const float* p, const float* y, int64_t U, double scale) {
  const double k = scale / double(U);
  for (int64_t u = 0; u < U; ++u) dp[u] = float(k * sign(double(p[u]) - double(y[u])));
}

double huber_row(const float* p, const float* y, int64_t U, double delta) {
  double s = 0.0;
  for (int64_t u = 0; u < U; ++u) {
    const double x = std::abs(double(p[u]) - double(y[u]));
    s += x <= delta ? 0.5 * x * x : delta * (x - 0.5 * delta);
  }
  return s / double(U);
}

void huber_row_backward(float* dp, const float* p, const float* y, int64_t U, double delta,
                        double scale) {
  const double k = scale / double(U);
  for (int64_t u = 0; u < U; ++u) {
    const double x = double(p[u]) - double(y[u]);
    dp[u] = float(k * (std::abs(x) <= delta ? x : delta * sign(x)));
  }
}

// ---- binary crossentropy -----------------------------------------------------------------------

double bce_row(const float* p, const float* y, int64_t U) {
  double s = 0.0;
  for (int64_t u = 0; u < U; ++u) {
    const double q = std::clamp(double(p[u]), kEpsilon, 1.0 - kEpsilon);
    const double t = y[u];
    s -= t * std::log(q) + (1.0 - t) * std::log(1.0 - q);
  }
  return s / double(U);
}

void bce_row_backward(float* dp, const float* p, const float* y, int64_t U, double scale) {
  const double k = scale / double(U);
  for (int64_t u = 0; u < U; ++u) {
    const double q = p[u];
    const bool clipped = q < kEpsilon || q > 1.0 - kEpsilon;
    dp[u] = clipped ? 0.0f : float(k * (q - double(y[u])) / (q * (1.0 - q)));
  }
}

double bce_logits_row(const float* z, const float* y, int64_t U) {
  double s = 0.0;
  for (int64_t u = 0; u < U; ++u) {
    const double v = z[u];
    s += std::max(v, 0.0) - v * double(y[u]) + std::log1p(std::exp(-std::abs(v)));
  }
  return s / double(U);
}

void bce_logits_row_backward(float* dz, const float* z, const float* y, int64_t U, double scale) {
  const double k = scale / double(U);
  for (int64_t u = 0; u < U; ++u) dz[u] = float(k * (sigmoid(z[u]) - double(y[u])));
}

// ---- categorical crossentropy (dense targets, or the one-hot row of a sparse id) --------------

struct DenseTarget {
  const float* y;
  double operator()(int64_t c) const { return y[c]; }
};
struct OneHotTarget {
  int64_t k;
  double operator()(int64_t c) const { return c == k ? 1.0 : 0.0; }
};

template <typename Y>
double cce_row(const float* p, Y y, int64_t U) {
  double total = 0.0;
  for (int64_t c = 0; c < U; ++c) total += p[c];
  double s = 0.0;
  for (int64_t c = 0; c < U; ++c) {
    const double t = y(c);
    if (t != 0.0) s -= t * std::log(std::clamp(double(p[c]) / total, kEpsilon, 1.0 - kEpsilon));
  }
  return s;
}

template <typename Y>
void cce_row_backward(float* dp, const float* p, Y y, int64_t U, double scale) {
  double total = 0.0;
  for (int64_t c = 0; c < U; ++c) total += p[c];
  double kept_y = 0.0;  // Σ y_c over the classes whose q_c was not clipped
  for (int64_t c = 0; c < U; ++c) {
    const double q = double(p[c]) / total;
    if (q >= kEpsilon && q <= 1.0 - kEpsilon) kept_y += y(c);
  }
  for (int64_t c = 0; c < U; ++c) {
    const double q = double(p[c]) / total;
    const bool kept = q >= kEpsilon && q <= 1.0 - kEpsilon;
    const double t = y(c);
    dp[c] = float(scale * ((kept && t != 0.0 ? -t / double(p[c]) : 0.0) + kept_y / total));
  }
}

double log_sum_exp(const float* z, int64_t U) {
  double m = z[0];
  for (int64_t c = 1; c < U; ++c) m = std::max(m, double(z[c]));
  double s = 0.0;
  for (int64_t c = 0; c < U; ++c) s += std::exp(double(z[c]) - m);
  return m + std::log(s);
}

template <typename Y>
double cce_logits_row(const float* z, Y y, int64_t U) {
  const double lse = log_sum_exp(z, U);
  double s = 0.0;
  for (int64_t c = 0; c < U; ++c) {
    const double t = y(c);
    if (t != 0.0) s += t * (lse - double(z[c]));
  }
  return s;
}

template <typename Y>
void cce_logits_row_backward(float* dz, const float* z, Y y, int64_t U, double scale) {
  const double lse = log_sum_exp(z, U);
  double sum_y = 0.0;
  for (int64_t c = 0; c < U; ++c) sum_y += y(c);
  for (int64_t c = 0; c < U; ++c)
    dz[c] = float(scale * (sum_y * std::exp(double(z[c]) - lse) - y(c)));
}

}  // namespace

namespace detail {

void check_loss_inputs(std::string_view who, std::string_view name, bool sparse,
                       const Tensor& pred, const Tensor& target, const Tensor* weight,
                       const Tensor* mask) {
  const std::size_t rank = pred.rank();
  if (rank != 2 && rank != 3)
    fail<ShapeError>(who, " ", name, ": the model output has shape ", shape_str(pred.shape()),
                     ", expected [B, U] or [T, B, U]");
  if (pred.shape().back() < 1)
    fail<ShapeError>(who, " ", name, ": the model output has shape ", shape_str(pred.shape()),
                     ", expected at least one unit on its last axis");
  const Dims d = dims_of(pred);
  const Shape& ts = target.shape();
  if (sparse) {
    // [..lead] or [..lead, 1], lead = pred's shape without its last axis.
    bool ok = ts.size() == rank || ts.size() == rank - 1;
    for (std::size_t i = 0; ok && i + 1 < rank; ++i) ok = ts[i] == pred.shape()[i];
    if (ok && ts.size() == rank) ok = ts.back() == 1;
    if (!ok)
      fail<ShapeError>(who, " ", name, ": target has shape ", shape_str(ts), ", expected ",
                       lead_shape_str(pred, 0), " or ", lead_shape_str(pred, 1),
                       " (class ids for the model output ", shape_str(pred.shape()), ")");
  } else if (ts != pred.shape()) {
    fail<ShapeError>(who, " ", name, ": target has shape ", shape_str(ts), ", expected ",
                     shape_str(pred.shape()), " (the model output's shape)");
  }
  if (weight != nullptr && (weight->rank() != 1 || weight->dim(0) != d.B))
    fail<ShapeError>(who, " ", name, ": sample weights have shape ", shape_str(weight->shape()),
                     ", expected [", d.B, "] (one per row of the batch)");
  if (mask != nullptr) {
    if (rank != 3)
      fail<ShapeError>(who, " ", name, ": a mask [T, B] was given for the model output of shape ",
                       shape_str(pred.shape()), "; masks apply only to sequence outputs [T, B, U]");
    if (mask->rank() != 2 || mask->dim(0) != d.T || mask->dim(1) != d.B)
      fail<ShapeError>(who, " ", name, ": mask has shape ", shape_str(mask->shape()),
                       ", expected [T, B] = [", d.T, ", ", d.B, "]");
  }
}

}  // namespace detail

LossOptions parse_loss(std::string_view name) {
  LossOptions o;
  if (name == "mse" || name == "mean_squared_error") {
    o.kind = LossKind::mse;
  } else if (name == "mae" || name == "mean_absolute_error") {
    o.kind = LossKind::mae;
  } else if (name == "huber" || name == "huber_loss") {
    o.kind = LossKind::huber;
  } else if (name == "binary_crossentropy") {
    o.kind = LossKind::binary_crossentropy;
  } else if (name == "categorical_crossentropy") {
    o.kind = LossKind::categorical_crossentropy;
  } else if (name == "sparse_categorical_crossentropy") {
    o.kind = LossKind::sparse_categorical_crossentropy;
  } else {
    fail<ConfigError>("unknown loss '", name,
                      "'; expected one of mse, mae, huber, binary_crossentropy, "
                      "categorical_crossentropy, sparse_categorical_crossentropy");
  }
  return o;
}

std::string loss_name(LossKind kind) { return kind_name(kind); }

Loss::Loss(LossOptions options) : options_(options) {
  if (options_.from_logits && !is_crossentropy(options_.kind))
    fail<ConfigError>("loss ", kind_name(options_.kind),
                      ": from_logits applies only to the crossentropy losses");
  if (options_.kind == LossKind::huber && !(options_.delta > 0.0f && std::isfinite(options_.delta)))
    fail<ConfigError>("loss huber: delta must be a finite number > 0, got ", options_.delta);
}

// pred [T, B, U] (or [B, U]), target like pred (sparse: [T, B] or [T, B, 1]), weight [B],
// mask [T, B]. Returns L = Σ_e w_b m_e l_e / D (see the top of this file).
double Loss::forward(const Tensor& pred, const Tensor& target, const Tensor* weight,
                     const Tensor* mask) {
  const LossKind kind = options_.kind;
  const bool sparse = kind == LossKind::sparse_categorical_crossentropy;
  detail::check_loss_inputs("loss", kind_name(kind), sparse, pred, target, weight, mask);
  pred_ = &pred;
  target_ = &target;
  weight_ = weight;
  mask_ = mask;

  const Dims d = dims_of(pred);
  const double delta = options_.delta;
  const bool logits = options_.from_logits;
  double sum = 0.0, mask_sum = 0.0;
  for (int64_t t = 0; t < d.T; ++t) {
    for (int64_t b = 0; b < d.B; ++b) {
      const int64_t e = t * d.B + b;
      const double m = mask != nullptr ? double((*mask)[e]) : 1.0;
      if (m == 0.0) continue;
      mask_sum += m;
      const float* p = pred.data() + e * d.U;
      int64_t k = 0;
      if (sparse) {
        const float id = target[e];
        if (!(id >= 0.0f && id < float(d.U) && id == std::floor(id))) {
          if (pred.rank() == 3)
            fail<InvalidArgument>("loss sparse_categorical_crossentropy: target at row ", b,
                                  ", step ", t, " is ", id,
                                  ", expected an integer class id in [0, ", d.U,
                                  ") (the model output has ", d.U, " classes)");
          fail<InvalidArgument>("loss sparse_categorical_crossentropy: target at row ", b, " is ",
                                id, ", expected an integer class id in [0, ", d.U,
                                ") (the model output has ", d.U, " classes)");
        }
        k = static_cast<int64_t>(id);
      }
      const double c = (weight != nullptr ? double((*weight)[b]) : 1.0) * m;
      if (c == 0.0) continue;
      const float* y = sparse ? nullptr : target.data() + e * d.U;
      double l = 0.0;
      switch (kind) {
        case LossKind::mse: l = mse_row(p, y, d.U); break;
        case LossKind::mae: l = mae_row(p, y, d.U); break;
        case LossKind::huber: l = huber_row(p, y, d.U, delta); break;
        case LossKind::binary_crossentropy:
          l = logits ? bce_logits_row(p, y, d.U) : bce_row(p, y, d.U);
          break;
        case LossKind::categorical_crossentropy:
          l = logits ? cce_logits_row(p, DenseTarget{y}, d.U) : cce_row(p, DenseTarget{y}, d.U);
          break;
        case LossKind::sparse_categorical_crossentropy:
          l = logits ? cce_logits_row(p, OneHotTarget{k}, d.U) : cce_row(p, OneHotTarget{k}, d.U);
          break;
      }
      sum += c * l;
    }
  }
  divisor_ = mask != nullptr ? mask_sum : double(d.T * d.B);
  if (!(divisor_ > 0.0)) {
    divisor_ = 0.0;
    return 0.0;
  }
  return sum / divisor_;
}

// dL/dpred [T, B, U] (or [B, U]) of the last forward(): row e gets (w_b m_e / D) · dl_e/dp.
const Tensor& Loss::backward() {
  if (pred_ == nullptr)
    fail<InvalidArgument>("loss ", kind_name(options_.kind),
                          ": backward() was called before forward()");
  const Tensor& pred = *pred_;
  const Tensor& target = *target_;
  const LossKind kind = options_.kind;
  const bool sparse = kind == LossKind::sparse_categorical_crossentropy;
  const bool logits = options_.from_logits;
  const double delta = options_.delta;
  const Dims d = dims_of(pred);

  grad_.resize(pred.shape());
  grad_.fill(0.0f);
  if (divisor_ == 0.0) return grad_;
  for (int64_t t = 0; t < d.T; ++t) {
    for (int64_t b = 0; b < d.B; ++b) {
      const int64_t e = t * d.B + b;
      const double m = mask_ != nullptr ? double((*mask_)[e]) : 1.0;
      const double c = (weight_ != nullptr ? double((*weight_)[b]) : 1.0) * m;
      if (c == 0.0) continue;
      const double scale = c / divisor_;
      const float* p = pred.data() + e * d.U;
      float* dp = grad_.data() + e * d.U;
      const float* y = sparse ? nullptr : target.data() + e * d.U;
      const int64_t k = sparse ? static_cast<int64_t>(target[e]) : 0;  // validated by forward()
      switch (kind) {
        case LossKind::mse: mse_row_backward(dp, p, y, d.U, scale); break;
        case LossKind::mae: mae_row_backward(dp, p, y, d.U, scale); break;
        case LossKind::huber: huber_row_backward(dp, p, y, d.U, delta, scale); break;
        case LossKind::binary_crossentropy:
          if (logits)
            bce_logits_row_backward(dp, p, y, d.U, scale);
          else
            bce_row_backward(dp, p, y, d.U, scale);
          break;
        case LossKind::categorical_crossentropy:
          if (logits)
            cce_logits_row_backward(dp, p, DenseTarget{y}, d.U, scale);
          else
            cce_row_backward(dp, p, DenseTarget{y}, d.U, scale);
          break;
        case LossKind::sparse_categorical_crossentropy:
          if (logits)
            cce_logits_row_backward(dp, p, OneHotTarget{k}, d.U, scale);
          else
            cce_row_backward(dp, p, OneHotTarget{k}, d.U, scale);
          break;
      }
    }
  }
  return grad_;
}

}  // namespace recur
