// Metrics: running means over an epoch, as Keras's stateful metrics.
//
// update() takes the same time-major tensors as Loss::forward (pred, target, optional row
// weights [B], optional mask [T, B]); result() is the weighted mean over everything seen since
// reset(). Names: "accuracy"/"acc" (binary / categorical / sparse chosen from the loss as Keras
// does: binary_crossentropy -> binary (threshold 0.5, or 0 for logits), categorical ->
// argmax vs argmax, sparse -> argmax vs id; mse/mae/huber -> binary), "mae", "mse", "rmse"
// (the square root of the running mse). The reported name is the one the user gave
// ("acc" stays "acc"), like Keras.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "recur/tensor.hpp"
#include "recur/train/loss.hpp"

namespace recur {

class Metric {
 public:
  virtual ~Metric() = default;
  const std::string& name() const { return name_; }
  virtual void reset() = 0;
  virtual void update(const Tensor& pred, const Tensor& target, const Tensor* weight,
                      const Tensor* mask) = 0;
  virtual double result() const = 0;

 protected:
  explicit Metric(std::string name) : name_(std::move(name)) {}

 private:
  std::string name_;
};

// Unknown names -> ConfigError listing the accepted ones.
std::unique_ptr<Metric> make_metric(std::string_view name, const LossOptions& loss);

// The running mean of the loss over batches, weighted by each batch's row count (Keras's "loss").
class MeanTracker {
 public:
  void reset() { sum_ = 0.0; count_ = 0.0; }
  void update(double value, double weight) { sum_ += value * weight; count_ += weight; }
  double result() const { return count_ > 0.0 ? sum_ / count_ : 0.0; }
  // For checkpoints.
  double sum() const { return sum_; }
  double count() const { return count_; }
  void set(double sum, double count) { sum_ = sum; count_ = count; }

 private:
  double sum_ = 0.0, count_ = 0.0;
};

}  // namespace recur
