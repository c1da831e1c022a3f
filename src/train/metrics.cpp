// Metrics (recur/train/metrics.hpp): Keras's MeanMetricWrapper over time-major batches.
//
// Every metric is a per-element value v_e (element e = one row, or one row at one step) averaged
// with the weights c_e = w_b · m_e over everything seen since reset():
//   result = Σ c_e v_e / Σ c_e   (0 before any weight was seen)
//
//   binary accuracy       v = 1/U Σ_u [y_u == (p_u > θ ? 1 : 0)]   θ = 0.5, or 0 for logits
//   categorical accuracy  v = [argmax p == argmax y]               (first maximum on ties)
//   sparse accuracy       v = [argmax p == k]                      (k the class id; any other
//                                                                   value of k simply mismatches)
//   mae                   v = 1/U Σ |p − y|
//   mse, rmse             v = 1/U Σ (p − y)²;  rmse reports sqrt(result), the root of the
//                         running weighted mse (Keras RootMeanSquaredError), not a mean of roots
//
// Binary accuracy compares the target exactly with 0/1, as Keras does. Elements with c_e = 0
// are skipped, so padded steps may hold any target.
#include "recur/train/metrics.hpp"

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "recur/error.hpp"

namespace recur {

namespace detail {
// Defined in loss.cpp: the loss's shape checks (ShapeError), shared so that messages match.
void check_loss_inputs(std::string_view who, std::string_view name, bool sparse,
                       const Tensor& pred, const Tensor& target, const Tensor* weight,
                       const Tensor* mask);
}  // namespace detail

namespace {

enum class MetricKind { binary_accuracy, categorical_accuracy, sparse_accuracy, mae, mse, rmse };

int64_t argmax(const float* v, int64_t U) {
  int64_t best = 0;
  for (int64_t c = 1; c < U; ++c)
    if (v[c] > v[best]) best = c;
  return best;
}

class MeanMetric final : public Metric {
 public:
  MeanMetric(std::string name, MetricKind kind, float threshold)
      : Metric(std::move(name)), kind_(kind), threshold_(threshold) {}

  void reset() override {
    sum_ = 0.0;
    count_ = 0.0;
  }

  // pred [T, B, U] (or [B, U]), target like pred (sparse accuracy: [T, B] or [T, B, 1]),
  // weight [B], mask [T, B].
  void update(const Tensor& pred, const Tensor& target, const Tensor* weight,
              const Tensor* mask) override {
    const bool sparse = kind_ == MetricKind::sparse_accuracy;
    detail::check_loss_inputs("metric", name(), sparse, pred, target, weight, mask);
    const bool seq = pred.rank() == 3;
    const int64_t T = seq ? pred.dim(0) : 1;
    const int64_t B = seq ? pred.dim(1) : pred.dim(0);
    const int64_t U = pred.shape().back();
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t b = 0; b < B; ++b) {
        const int64_t e = t * B + b;
        const double c = (weight != nullptr ? double((*weight)[b]) : 1.0) *
                         (mask != nullptr ? double((*mask)[e]) : 1.0);
        if (c == 0.0) continue;
        const float* p = pred.data() + e * U;
        const float* y = sparse ? nullptr : target.data() + e * U;
        sum_ += c * element_value(p, y, sparse ? target[e] : 0.0f, U);
        count_ += c;
      }
    }
  }

  double result() const override {
    if (!(count_ > 0.0)) return 0.0;
    const double mean = sum_ / count_;
    return kind_ == MetricKind::rmse ? std::sqrt(mean) : mean;
  }

 private:
  // One element's value v_e; `id` is the class id for sparse accuracy.
  double element_value(const float* p, const float* y, float id, int64_t U) const {
    double s = 0.0;
    switch (kind_) {
      case MetricKind::binary_accuracy:
        for (int64_t u = 0; u < U; ++u) s += y[u] == (p[u] > threshold_ ? 1.0f : 0.0f) ? 1.0 : 0.0;
        return s / double(U);
      case MetricKind::categorical_accuracy:
        return argmax(p, U) == argmax(y, U) ? 1.0 : 0.0;
      case MetricKind::sparse_accuracy:
        return float(argmax(p, U)) == id ? 1.0 : 0.0;
      case MetricKind::mae:
        for (int64_t u = 0; u < U; ++u) s += std::abs(double(p[u]) - double(y[u]));
        return s / double(U);
      case MetricKind::mse:
      case MetricKind::rmse:
        for (int64_t u = 0; u < U; ++u) {
          const double x = double(p[u]) - double(y[u]);
          s += x * x;
        }
        return s / double(U);
    }
    return 0.0;
  }

  MetricKind kind_;
  float threshold_;
  double sum_ = 0.0, count_ = 0.0;
};

}  // namespace

std::unique_ptr<Metric> make_metric(std::string_view name, const LossOptions& loss) {
  MetricKind kind;
  float threshold = 0.5f;
  if (name == "accuracy" || name == "acc") {
    switch (loss.kind) {
      case LossKind::categorical_crossentropy: kind = MetricKind::categorical_accuracy; break;
      case LossKind::sparse_categorical_crossentropy: kind = MetricKind::sparse_accuracy; break;
      case LossKind::binary_crossentropy:
        kind = MetricKind::binary_accuracy;
        if (loss.from_logits) threshold = 0.0f;
        break;
      default: kind = MetricKind::binary_accuracy; break;
    }
  } else if (name == "binary_accuracy") {
    kind = MetricKind::binary_accuracy;
    if (loss.kind == LossKind::binary_crossentropy && loss.from_logits) threshold = 0.0f;
  } else if (name == "categorical_accuracy") {
    kind = MetricKind::categorical_accuracy;
  } else if (name == "sparse_categorical_accuracy") {
    kind = MetricKind::sparse_accuracy;
  } else if (name == "mae" || name == "mean_absolute_error") {
    kind = MetricKind::mae;
  } else if (name == "mse" || name == "mean_squared_error") {
    kind = MetricKind::mse;
  } else if (name == "rmse" || name == "root_mean_squared_error") {
    kind = MetricKind::rmse;
  } else {
    fail<ConfigError>("unknown metric '", name,
                      "'; expected one of accuracy (acc), binary_accuracy, categorical_accuracy, "
                      "sparse_categorical_accuracy, mae, mse, rmse");
  }
  return std::make_unique<MeanMetric>(std::string(name), kind, threshold);
}

}  // namespace recur
