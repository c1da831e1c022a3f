// Metrics (src/train/metrics.cpp): each metric on hand-checked inputs, with row weights and a
// mask, accumulated over two updates and reset; the accuracy variant chosen from the loss; the
// reported name; unknown names and bad shapes.
#include "recur/train/metrics.hpp"

#include <cmath>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "recur/error.hpp"
#include "support/errors.hpp"

namespace {

using recur::ConfigError;
using recur::LossKind;
using recur::LossOptions;
using recur::make_metric;
using recur::ShapeError;
using recur::Tensor;
using recur::testing::expect_error;

LossOptions loss_of(LossKind kind, bool from_logits = false) {
  LossOptions o;
  o.kind = kind;
  o.from_logits = from_logits;
  return o;
}

TEST(Metrics, BinaryAccuracyForBinaryCrossentropy) {
  auto m = make_metric("accuracy", loss_of(LossKind::binary_crossentropy));
  EXPECT_EQ(m->name(), "accuracy");
  // Row 0: (0.7 -> 1 == 1), (0.2 -> 0 == 0) -> 1; row 1: (0.6 -> 1 != 0), (0.4 -> 0 == 0) -> 0.5.
  const Tensor pred({2, 2}, {0.7f, 0.2f, 0.6f, 0.4f});
  const Tensor target({2, 2}, {1.0f, 0.0f, 0.0f, 0.0f});
  m->update(pred, target, nullptr, nullptr);
  EXPECT_DOUBLE_EQ(m->result(), 0.75);
  // Second update, weights (3, 1): row 0 -> 0 (0.5 is not > 0.5), row 1 -> 1.
  const Tensor pred2({2, 1}, {0.5f, 0.9f});
  const Tensor target2({2, 1}, {1.0f, 1.0f});
  const Tensor w({2}, {3.0f, 1.0f});
  m->update(pred2, target2, &w, nullptr);
  EXPECT_DOUBLE_EQ(m->result(), (1.0 + 0.5 + 0.0 * 3 + 1.0 * 1) / (2 + 3 + 1));
  m->reset();
  EXPECT_EQ(m->result(), 0.0);
  m->update(pred2, target2, nullptr, nullptr);
  EXPECT_DOUBLE_EQ(m->result(), 0.5);
}

TEST(Metrics, BinaryAccuracyThresholdZeroForLogits) {
  auto m = make_metric("acc", loss_of(LossKind::binary_crossentropy, true));
  EXPECT_EQ(m->name(), "acc");
  // Logits (0.1, -0.1, 0.4) -> classes (1, 0, 1) with threshold 0: all three right.
  const Tensor logits({3, 1}, {0.1f, -0.1f, 0.4f});
  const Tensor target({3, 1}, {1.0f, 0.0f, 1.0f});
  m->update(logits, target, nullptr, nullptr);
  EXPECT_DOUBLE_EQ(m->result(), 1.0);
  // As probabilities (threshold 0.5) the same numbers are all class 0: one right.
  auto p = make_metric("acc", loss_of(LossKind::binary_crossentropy));
  p->update(logits, target, nullptr, nullptr);
  EXPECT_DOUBLE_EQ(p->result(), 1.0 / 3.0);
}

TEST(Metrics, BinaryAccuracyForRegressionLosses) {
  for (LossKind kind : {LossKind::mse, LossKind::mae, LossKind::huber}) {
    auto m = make_metric("accuracy", loss_of(kind));
    const Tensor pred({2, 1}, {0.8f, 0.3f});
    const Tensor target({2, 1}, {1.0f, 1.0f});
    m->update(pred, target, nullptr, nullptr);
    EXPECT_DOUBLE_EQ(m->result(), 0.5);
  }
}

TEST(Metrics, CategoricalAccuracyWithMask) {
  auto m = make_metric("accuracy", loss_of(LossKind::categorical_crossentropy));
  // [T=2, B=2, U=3]; argmax pred: (2, 0 | 1, 1), argmax target: (2, 1 | 1, 0); step 1 of row 1
  // is padding. Weights (1, 4): correct (t0 b0) 1, wrong (t0 b1) 4, correct (t1 b0) 1.
  const Tensor pred({2, 2, 3}, {0.1f, 0.2f, 0.7f, 0.5f, 0.3f, 0.2f,  //
                                0.2f, 0.6f, 0.2f, 0.1f, 0.8f, 0.1f});
  const Tensor target({2, 2, 3}, {0, 0, 1, 0, 1, 0,  //
                                  0, 1, 0, 1, 0, 0});
  const Tensor w({2}, {1.0f, 4.0f});
  const Tensor mask({2, 2}, {1, 1, 1, 0});
  m->update(pred, target, &w, &mask);
  EXPECT_DOUBLE_EQ(m->result(), 2.0 / 6.0);
  // No mask: the padded step counts too (wrong, weight 4).
  m->reset();
  m->update(pred, target, &w, nullptr);
  EXPECT_DOUBLE_EQ(m->result(), 2.0 / 10.0);
}

TEST(Metrics, SparseAccuracy) {
  auto m = make_metric("acc", loss_of(LossKind::sparse_categorical_crossentropy, true));
  const Tensor logits({3, 3}, {2.0f, 1.0f, 0.0f, 0.0f, 0.0f, 5.0f, 1.0f, 3.0f, 2.0f});
  m->update(logits, Tensor({3}, {0.0f, 2.0f, 2.0f}), nullptr, nullptr);
  EXPECT_DOUBLE_EQ(m->result(), 2.0 / 3.0);
  // Second update, [T=2, B=1, U=3] with ids [T, B, 1] and the second step masked.
  const Tensor seq({2, 1, 3}, {0.0f, 9.0f, 0.0f, 9.0f, 0.0f, 0.0f});
  const Tensor ids({2, 1, 1}, {1.0f, 1.0f});
  const Tensor mask({2, 1}, {1.0f, 0.0f});
  m->update(seq, ids, nullptr, &mask);
  EXPECT_DOUBLE_EQ(m->result(), 3.0 / 4.0);
  expect_error<ShapeError>([&] { m->update(logits, Tensor({3, 3}), nullptr, nullptr); },
                           "metric acc: target has shape [3, 3], expected [3] or [3, 1]");
}

TEST(Metrics, ExplicitAccuracyNames) {
  EXPECT_EQ(make_metric("categorical_accuracy", loss_of(LossKind::mse))->name(),
            "categorical_accuracy");
  auto s = make_metric("sparse_categorical_accuracy", loss_of(LossKind::mse));
  s->update(Tensor({1, 2}, {0.0f, 1.0f}), Tensor({1}, {1.0f}), nullptr, nullptr);
  EXPECT_DOUBLE_EQ(s->result(), 1.0);
  auto b = make_metric("binary_accuracy", loss_of(LossKind::categorical_crossentropy));
  b->update(Tensor({1, 2}, {0.6f, 0.4f}), Tensor({1, 2}, {1.0f, 0.0f}), nullptr, nullptr);
  EXPECT_DOUBLE_EQ(b->result(), 1.0);
}

TEST(Metrics, MaeAndMseWithWeightsMaskAndTwoUpdates) {
  auto mae = make_metric("mae", loss_of(LossKind::mse));
  auto mse = make_metric("mean_squared_error", loss_of(LossKind::mse));
  EXPECT_EQ(mse->name(), "mean_squared_error");
  // [T=2, B=2, U=2]; |p - y| per element: (1, 3), (2, 2) | (0, 4), (9, 9 padding).
  const Tensor pred({2, 2, 2}, {1, 3, 2, 2, 0, 4, 9, 9});
  const Tensor target({2, 2, 2}, 0.0f);
  const Tensor w({2}, {1.0f, 2.0f});
  const Tensor mask({2, 2}, {1, 1, 1, 0});
  for (auto* m : {mae.get(), mse.get()}) m->update(pred, target, &w, &mask);
  // mae per element: 2, 2, 2; weights 1, 2, 1.
  EXPECT_DOUBLE_EQ(mae->result(), (2.0 * 1 + 2.0 * 2 + 2.0 * 1) / 4.0);
  // mse per element: 5, 4, 8.
  EXPECT_DOUBLE_EQ(mse->result(), (5.0 * 1 + 4.0 * 2 + 8.0 * 1) / 4.0);
  // Second update [B=1, U=2], no weights: mae 1, mse 1.
  const Tensor p2({1, 2}, {1.0f, -1.0f});
  const Tensor t2({1, 2}, 0.0f);
  for (auto* m : {mae.get(), mse.get()}) m->update(p2, t2, nullptr, nullptr);
  EXPECT_DOUBLE_EQ(mae->result(), (8.0 + 1.0) / 5.0);
  EXPECT_DOUBLE_EQ(mse->result(), (21.0 + 1.0) / 5.0);
  mae->reset();
  EXPECT_EQ(mae->result(), 0.0);
  mae->update(p2, t2, nullptr, nullptr);
  EXPECT_DOUBLE_EQ(mae->result(), 1.0);
}

TEST(Metrics, RmseIsRootOfRunningMse) {
  auto m = make_metric("rmse", loss_of(LossKind::mae));
  EXPECT_EQ(m->name(), "rmse");
  m->update(Tensor({2, 1}, {3.0f, 0.0f}), Tensor({2, 1}, 0.0f), nullptr, nullptr);
  EXPECT_DOUBLE_EQ(m->result(), std::sqrt(9.0 / 2.0));
  m->update(Tensor({1, 1}, {4.0f}), Tensor({1, 1}, 0.0f), nullptr, nullptr);
  // sqrt((9 + 0 + 16) / 3), not the mean of per-batch roots.
  EXPECT_DOUBLE_EQ(m->result(), std::sqrt(25.0 / 3.0));
  auto r = make_metric("root_mean_squared_error", loss_of(LossKind::mse));
  EXPECT_EQ(r->name(), "root_mean_squared_error");
  const Tensor w({2}, {0.0f, 2.0f});
  r->update(Tensor({2, 1}, {3.0f, 1.0f}), Tensor({2, 1}, 0.0f), &w, nullptr);
  EXPECT_DOUBLE_EQ(r->result(), 1.0);
}

TEST(Metrics, ZeroWeightGivesZero) {
  auto m = make_metric("mse", loss_of(LossKind::mse));
  const Tensor mask({1, 2}, 0.0f);
  m->update(Tensor({1, 2, 1}, 5.0f), Tensor({1, 2, 1}, 0.0f), nullptr, &mask);
  EXPECT_EQ(m->result(), 0.0);
}

TEST(Metrics, ShapeErrors) {
  auto m = make_metric("mae", loss_of(LossKind::mse));
  expect_error<ShapeError>(
      [&] { m->update(Tensor({4, 1}), Tensor({4, 2}), nullptr, nullptr); },
      "metric mae: target has shape [4, 2], expected [4, 1] (the model output's shape)");
  const Tensor w({3});
  expect_error<ShapeError>([&] { m->update(Tensor({4, 1}), Tensor({4, 1}), &w, nullptr); },
                           "metric mae: sample weights have shape [3], expected [4]");
}

TEST(Metrics, UnknownName) {
  expect_error<ConfigError>([] { make_metric("f1", loss_of(LossKind::mse)); },
                            "unknown metric 'f1'; expected one of accuracy (acc), binary_accuracy, "
                            "categorical_accuracy, sparse_categorical_accuracy, mae, mse, rmse");
}

}  // namespace
