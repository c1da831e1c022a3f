// Losses (Keras names and reductions, numerically stable forms).
//
// Shapes (time-major, as the model produces them):
//   pred    [B, U] (last-step output) or [T, B, U] (return_sequences output)
//   target  same shape as pred; for sparse_categorical_crossentropy the class ids as floats,
//           [B] or [T, B] (a trailing axis of 1 — [B, 1], [T, B, 1] — is accepted too)
//   weight  optional per-row weights [B] (sample_weight × class_weight), nullptr = all 1
//   mask    optional [T, B] (1 = real step) for [T, B, U] predictions, nullptr = all real
//
// Per element (one row, or one row at one step) the loss is reduced over the last axis as Keras
// does (mean for mse/mae/huber/binary_crossentropy, sum over classes for the categorical ones);
// then value = Σ weight·mask·loss / Σ mask (Keras SUM_OVER_BATCH_SIZE with its masked-mean
// normalisation: without a mask the divisor is the number of elements, B or T·B). The gradient
// of a batch is therefore the mean over its rows (Keras's and PyTorch's default reduction).
#pragma once

#include <string>
#include <string_view>

#include "recur/tensor.hpp"

namespace recur {

enum class LossKind {
  mse,
  mae,
  huber,
  binary_crossentropy,
  categorical_crossentropy,
  sparse_categorical_crossentropy,
};

struct LossOptions {
  LossKind kind = LossKind::mse;
  bool from_logits = false;  // crossentropies: pred are logits (sigmoid/softmax applied inside)
  float delta = 1.0f;        // huber
};

// "mse" / "mean_squared_error", "mae" / "mean_absolute_error", "huber" / "huber_loss",
// "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy".
// Unknown names -> ConfigError listing the accepted ones.
LossOptions parse_loss(std::string_view name);
// The canonical Keras name ("mse", "mae", "huber", "binary_crossentropy", ...).
std::string loss_name(LossKind kind);

class Loss {
 public:
  explicit Loss(LossOptions options = {});
  const LossOptions& options() const { return options_; }

  // Checks shapes (ShapeError naming both shapes and what was expected) and, for sparse targets,
  // the class range (InvalidArgument naming the row/step and the id); returns the reduced loss.
  // Keeps what backward() needs; the inputs must stay alive until then.
  double forward(const Tensor& pred, const Tensor& target, const Tensor* weight = nullptr,
                 const Tensor* mask = nullptr);
  // dL/dpred of the value returned by forward(), same shape as pred. Owned by the loss.
  const Tensor& backward();

 private:
  LossOptions options_;
  const Tensor* pred_ = nullptr;
  const Tensor* target_ = nullptr;
  const Tensor* weight_ = nullptr;
  const Tensor* mask_ = nullptr;
  double divisor_ = 1.0;
  Tensor grad_;
};

}  // namespace recur
