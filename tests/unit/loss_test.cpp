// Losses (src/train/loss.cpp):
//   (a) values against PyTorch for every loss, rank 2 with row weights and rank 3 with weights
//       and a mask (the literals come from tests/oracle/loss_cases.py);
//   (b) the gradient against central finite differences of forward() for every loss, rank 2 with
//       and without weights, rank 3 with weights and a mask (inputs kept off kinks and clips);
//   (c) the reduction's edge cases (all-zero mask, masked padding, clipped probabilities);
//   (d) bad input: every shape check and the sparse class-id check, with their messages;
//   (e) parse_loss / loss_name and option validation.
#include "recur/train/loss.hpp"

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "recur/error.hpp"
#include "support/errors.hpp"

namespace {

using recur::ConfigError;
using recur::InvalidArgument;
using recur::Loss;
using recur::LossKind;
using recur::LossOptions;
using recur::ShapeError;
using recur::Tensor;
using recur::testing::expect_error;

LossOptions opts(LossKind kind, bool from_logits = false, float delta = 1.0f) {
  LossOptions o;
  o.kind = kind;
  o.from_logits = from_logits;
  o.delta = delta;
  return o;
}

// ---- (a) values against PyTorch ---------------------------------------------------------------
// The inputs of tests/oracle/loss_cases.py, as float32 literals.

const Tensor P2({2, 3}, {0.2f, 0.7f, 0.1f, 0.6f, 0.3f, 0.9f});
const Tensor Z2({2, 3}, {1.5f, -0.3f, 0.2f, -2.0f, 0.7f, 3.1f});
const Tensor R2({2, 3}, {0.5f, -1.0f, 0.3f, 2.0f, 0.1f, -0.4f});
const Tensor B2({2, 3}, {0.0f, 1.0f, 0.25f, 1.0f, 0.0f, 1.0f});
const Tensor C2({2, 3}, {0.0f, 1.0f, 0.0f, 0.2f, 0.0f, 0.8f});
const Tensor S2({2}, {1.0f, 2.0f});
const Tensor W2({2}, {0.5f, 2.0f});

const Tensor P3({2, 2, 3}, {0.3f, 0.3f, 0.4f, 0.05f, 0.9f, 0.05f, 0.5f, 0.25f, 0.25f, 0.8f, 0.1f,
                            0.1f});
const Tensor Z3({2, 2, 3}, {0.1f, -1.2f, 2.2f, 0.4f, 0.4f, -0.9f, -1.7f, 0.3f, 1.1f, 2.5f, -0.5f,
                            0.0f});
const Tensor R3({2, 2, 3}, {0.0f, 0.5f, -1.5f, 1.2f, 0.9f, 0.2f, -0.1f, -2.0f, 0.6f, 9.0f, 9.0f,
                            9.0f});
const Tensor B3({2, 2, 3}, {1.0f, 0.0f, 1.0f, 0.0f, 1.0f, 0.5f, 1.0f, 1.0f, 0.0f, 0.0f, 0.0f,
                            0.0f});
const Tensor C3({2, 2, 3}, {0.0f, 0.0f, 1.0f, 0.5f, 0.5f, 0.0f, 1.0f, 0.0f, 0.0f, 0.0f, 1.0f,
                            0.0f});
const Tensor S3({2, 2}, {2.0f, 0.0f, 1.0f, 0.0f});
const Tensor W3({2}, {0.5f, 2.0f});
const Tensor M3({2, 2}, {1.0f, 1.0f, 1.0f, 0.0f});

enum class Input { probs, logits };       // P or Z
enum class Target { regr, binary, categ, sparse };  // R, B, C or S

struct OracleCase {
  const char* name;
  LossOptions options;
  Input input;
  Target target;
  double rank2, rank3;  // printed by tests/oracle/loss_cases.py
};

// torch.nn.functional: mse_loss, l1_loss, huber_loss(delta), binary_cross_entropy,
// binary_cross_entropy_with_logits, cross_entropy (probability targets and class ids),
// nll_loss(log(p / p.sum(-1))) and -(y * log(p / p.sum(-1))).sum(-1); see loss_cases.py.
const OracleCase kOracleCases[] = {
    {"mse", opts(LossKind::mse), Input::logits, Target::regr, 9.6616664514442299,
     1.8383333712319543},
    {"mae", opts(LossKind::mae), Input::logits, Target::regr, 2.8499999654789767,
     1.0833333399560716},
    {"huber_1", opts(LossKind::huber), Input::logits, Target::regr, 2.2891666335612539,
     0.64500000800523516},
    {"huber_0.5", opts(LossKind::huber, false, 0.5f), Input::logits, Target::regr,
     1.2754166491081318, 0.42111111438936666},
    {"bce", opts(LossKind::binary_crossentropy), Input::probs, Target::binary,
     0.42716079350869796, 0.64248491742191449},
    {"bce_logits", opts(LossKind::binary_crossentropy, true), Input::logits, Target::binary,
     1.3667182913020659, 0.76060981030541441},
    {"cce", opts(LossKind::categorical_crossentropy), Input::probs, Target::categ,
     0.86340897196638444, 1.3019372399219189},
    {"cce_logits", opts(LossKind::categorical_crossentropy, true), Input::logits, Target::categ,
     1.6531941359754476, 1.1067663953404541},
    {"sparse", opts(LossKind::sparse_categorical_crossentropy), Input::probs, Target::sparse,
     0.78231595205314974, 2.3809190088499261},
    {"sparse_logits", opts(LossKind::sparse_categorical_crossentropy, true), Input::logits,
     Target::sparse, 0.63319413847272965, 0.77343305207301327},
};

TEST(LossOracle, MatchesTorch) {
  for (const OracleCase& c : kOracleCases) {
    SCOPED_TRACE(c.name);
    Loss loss(c.options);
    const Tensor& p2 = c.input == Input::probs ? P2 : Z2;
    const Tensor& p3 = c.input == Input::probs ? P3 : Z3;
    const Tensor* t2[] = {&R2, &B2, &C2, &S2};
    const Tensor* t3[] = {&R3, &B3, &C3, &S3};
    const int ti = static_cast<int>(c.target);
    EXPECT_NEAR(loss.forward(p2, *t2[ti], &W2), c.rank2, 1e-12 * std::abs(c.rank2));
    EXPECT_NEAR(loss.forward(p3, *t3[ti], &W3, &M3), c.rank3, 1e-12 * std::abs(c.rank3));
  }
}

// ---- (b) gradient vs finite differences --------------------------------------------------------

struct GradCase {
  const char* name;
  LossOptions options;
};

const GradCase kGradCases[] = {
    {"mse", opts(LossKind::mse)},
    {"mae", opts(LossKind::mae)},
    {"huber_1", opts(LossKind::huber)},
    {"huber_0.3", opts(LossKind::huber, false, 0.3f)},
    {"bce", opts(LossKind::binary_crossentropy)},
    {"bce_logits", opts(LossKind::binary_crossentropy, true)},
    {"cce", opts(LossKind::categorical_crossentropy)},
    {"cce_logits", opts(LossKind::categorical_crossentropy, true)},
    {"sparse", opts(LossKind::sparse_categorical_crossentropy)},
    {"sparse_logits", opts(LossKind::sparse_categorical_crossentropy, true)},
};

// Random pred/target of `shape` for `o`, away from the kinks (mae at x = 0, huber at |x| = δ)
// and the probability clips, so central differences with step 1e-3 are accurate.
void random_inputs(const LossOptions& o, const recur::Shape& shape, std::mt19937& gen,
                   Tensor* pred, Tensor* target) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  *pred = Tensor(shape);
  const int64_t U = shape.back();
  if (o.kind == LossKind::sparse_categorical_crossentropy) {
    *target = Tensor(recur::Shape(shape.begin(), shape.end() - 1));
    for (float& k : target->span()) k = float(std::uniform_int_distribution<int>(0, int(U) - 1)(gen));
  } else {
    *target = Tensor(shape);
  }
  for (int64_t i = 0; i < pred->numel(); ++i) {
    float& p = (*pred)[i];
    const float sgn = unit(gen) < 0.5f ? -1.0f : 1.0f;
    switch (o.kind) {
      case LossKind::mse:
        (*target)[i] = normal(gen);
        p = normal(gen);
        break;
      case LossKind::mae:
        (*target)[i] = normal(gen);
        p = (*target)[i] + sgn * (0.1f + unit(gen));
        break;
      case LossKind::huber: {
        const float d = o.delta;
        const float x = unit(gen) < 0.5f ? d * (0.1f + 0.7f * unit(gen)) : d * (1.2f + 2.0f * unit(gen));
        (*target)[i] = normal(gen);
        p = (*target)[i] + sgn * x;
        break;
      }
      case LossKind::binary_crossentropy:
        (*target)[i] = unit(gen);
        p = o.from_logits ? 2.0f * normal(gen) : 0.05f + 0.9f * unit(gen);
        break;
      case LossKind::categorical_crossentropy:
        (*target)[i] = unit(gen);  // soft, not normalised: the gradient must hold for any y
        p = o.from_logits ? 2.0f * normal(gen) : 0.1f + 0.9f * unit(gen);
        break;
      case LossKind::sparse_categorical_crossentropy:
        p = o.from_logits ? 2.0f * normal(gen) : 0.1f + 0.9f * unit(gen);
        break;
    }
  }
}

// Compares backward() with (L(p + h) − L(p − h)) / (p₊ − p₋) for every element of pred.
void check_gradient(const LossOptions& o, const Tensor& pred, const Tensor& target,
                    const Tensor* weight, const Tensor* mask) {
  Loss loss(o);
  loss.forward(pred, target, weight, mask);
  const Tensor analytic = loss.backward();
  ASSERT_EQ(analytic.shape(), pred.shape());
  Tensor probe = pred;
  double worst = 0.0;
  for (int64_t i = 0; i < pred.numel(); ++i) {
    const float h = 1e-3f;
    probe[i] = pred[i] + h;
    const double up = loss.forward(probe, target, weight, mask);
    const double step_up = double(probe[i]);
    probe[i] = pred[i] - h;
    const double down = loss.forward(probe, target, weight, mask);
    const double step = step_up - double(probe[i]);
    probe[i] = pred[i];
    const double numeric = (up - down) / step;
    const double err = std::abs(double(analytic[i]) - numeric);
    worst = std::max(worst, err);
    EXPECT_LE(err, 1e-6 + 1e-3 * std::abs(numeric))
        << "element " << i << ": analytic " << analytic[i] << ", numeric " << numeric;
  }
  // The check can fail: a gradient that is not all zeros was compared.
  double norm = 0.0;
  for (float g : analytic.span()) norm += double(g) * g;
  EXPECT_GT(norm, 0.0);
}

TEST(LossGradient, Rank2) {
  std::mt19937 gen(7);
  for (const GradCase& c : kGradCases) {
    SCOPED_TRACE(c.name);
    Tensor pred, target;
    random_inputs(c.options, {5, 4}, gen, &pred, &target);
    check_gradient(c.options, pred, target, nullptr, nullptr);
    const Tensor weight({5}, {0.5f, 2.0f, 0.0f, 1.0f, 3.0f});
    check_gradient(c.options, pred, target, &weight, nullptr);
  }
}

TEST(LossGradient, Rank3WithWeightsAndMask) {
  std::mt19937 gen(11);
  for (const GradCase& c : kGradCases) {
    SCOPED_TRACE(c.name);
    Tensor pred, target;
    random_inputs(c.options, {3, 4, 3}, gen, &pred, &target);
    const Tensor weight({4}, {0.5f, 2.0f, 1.0f, 1.5f});
    // Sequences of length 3, 2, 1, 3 (padding at the end).
    const Tensor mask({3, 4}, {1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 1});
    check_gradient(c.options, pred, target, &weight, &mask);
    check_gradient(c.options, pred, target, nullptr, &mask);
    check_gradient(c.options, pred, target, &weight, nullptr);
  }
}

// ---- (c) reduction edge cases ------------------------------------------------------------------

TEST(LossReduction, DivisorIsMaskSumOrElementCount) {
  // mse per element: row 0 -> 1, row 1 -> 4 (one unit).
  const Tensor pred({2, 2, 1}, {1.0f, 2.0f, 1.0f, 2.0f});
  const Tensor target({2, 2, 1}, 0.0f);
  Loss loss(opts(LossKind::mse));
  EXPECT_DOUBLE_EQ(loss.forward(pred, target), (1 + 4 + 1 + 4) / 4.0);
  const Tensor mask({2, 2}, {1, 1, 1, 0});
  EXPECT_DOUBLE_EQ(loss.forward(pred, target, nullptr, &mask), (1 + 4 + 1) / 3.0);
  const Tensor weight({2}, {3.0f, 0.5f});
  // Weights do not enter the divisor (Keras SUM_OVER_BATCH_SIZE).
  EXPECT_DOUBLE_EQ(loss.forward(pred, target, &weight, &mask), (3 + 2 + 3) / 3.0);
  const Tensor& g = loss.backward();
  EXPECT_FLOAT_EQ(g[0], 3.0f * 2.0f * 1.0f / 3.0f);
  EXPECT_FLOAT_EQ(g[1], 0.5f * 2.0f * 2.0f / 3.0f);
  EXPECT_FLOAT_EQ(g[3], 0.0f);  // masked
}

TEST(LossReduction, AllZeroMaskGivesZeroAndZeroGradient) {
  const Tensor pred({2, 2, 3}, 0.7f);
  const Tensor target({2, 2}, 5.0f);  // invalid ids, but every step is padding
  const Tensor mask({2, 2}, 0.0f);
  Loss loss(opts(LossKind::sparse_categorical_crossentropy, true));
  EXPECT_EQ(loss.forward(pred, target, nullptr, &mask), 0.0);
  for (float g : loss.backward().span()) EXPECT_EQ(g, 0.0f);
}

TEST(LossReduction, PaddedStepsMayHoldAnyTarget) {
  const Tensor pred({2, 1, 3}, {1.0f, 2.0f, 3.0f, 1.0f, 2.0f, 3.0f});
  const Tensor target({2, 1}, {2.0f, -1.0f});
  const Tensor mask({2, 1}, {1.0f, 0.0f});
  Loss loss(opts(LossKind::sparse_categorical_crossentropy, true));
  // -log softmax(1, 2, 3)[2] = log(e^-2 + e^-1 + 1)
  EXPECT_NEAR(loss.forward(pred, target, nullptr, &mask),
              std::log(std::exp(-2.0) + std::exp(-1.0) + 1.0), 1e-12);
}

TEST(LossReduction, SparseTargetWithTrailingOne) {
  Loss loss(opts(LossKind::sparse_categorical_crossentropy, true));
  const double flat = loss.forward(Z2, S2, &W2);
  EXPECT_EQ(loss.forward(Z2, S2.reshaped({2, 1}), &W2), flat);
  const double flat3 = loss.forward(Z3, S3, &W3, &M3);
  EXPECT_EQ(loss.forward(Z3, S3.reshaped({2, 2, 1}), &W3, &M3), flat3);
}

TEST(LossReduction, ClippedProbabilitiesGiveFiniteValueAndZeroGradient) {
  // Keras clips p to [1e-7, 1 - 1e-7]: -log(1e-7) per wrong certain answer; no gradient there.
  const Tensor pred({1, 2}, {0.0f, 1.0f});
  const Tensor target({1, 2}, {1.0f, 0.0f});
  Loss loss(opts(LossKind::binary_crossentropy));
  EXPECT_NEAR(loss.forward(pred, target), -std::log(1e-7), 1e-9);
  for (float g : loss.backward().span()) EXPECT_EQ(g, 0.0f);
}

TEST(LossReduction, CategoricalRenormalisesProbabilities) {
  // p = (1, 3) / 4 after renormalisation; y = (0, 1) -> -log 0.75, the same as for (2, 6).
  Loss loss(opts(LossKind::categorical_crossentropy));
  const Tensor target({1, 2}, {0.0f, 1.0f});
  EXPECT_NEAR(loss.forward(Tensor({1, 2}, {1.0f, 3.0f}), target), -std::log(0.75), 1e-12);
  EXPECT_NEAR(loss.forward(Tensor({1, 2}, {2.0f, 6.0f}), target), -std::log(0.75), 1e-12);
}

// ---- (d) bad input -----------------------------------------------------------------------------

TEST(LossErrors, TargetShape) {
  Loss loss(opts(LossKind::mse));
  const Tensor pred({32, 1});
  const Tensor target({32, 2});
  expect_error<ShapeError>([&] { loss.forward(pred, target); },
                           "loss mse: target has shape [32, 2], expected [32, 1] (the model "
                           "output's shape)");
  expect_error<ShapeError>([&] { loss.forward(Tensor({4, 3, 2}), Tensor({3, 4, 2})); },
                           "target has shape [3, 4, 2], expected [4, 3, 2]");
}

TEST(LossErrors, PredRank) {
  Loss loss(opts(LossKind::mae));
  expect_error<ShapeError>([&] { loss.forward(Tensor({5}), Tensor({5})); },
                           "loss mae: the model output has shape [5], expected [B, U] or [T, B, U]");
  expect_error<ShapeError>([&] { loss.forward(Tensor({5, 0}), Tensor({5, 0})); },
                           "expected at least one unit on its last axis");
}

TEST(LossErrors, SparseTargetShape) {
  Loss loss(opts(LossKind::sparse_categorical_crossentropy));
  expect_error<ShapeError>(
      [&] { loss.forward(Tensor({8, 10}), Tensor({8, 10})); },
      "loss sparse_categorical_crossentropy: target has shape [8, 10], expected [8] or [8, 1] "
      "(class ids for the model output [8, 10])");
  expect_error<ShapeError>([&] { loss.forward(Tensor({5, 8, 10}), Tensor({8})); },
                           "expected [5, 8] or [5, 8, 1]");
  expect_error<ShapeError>([&] { loss.forward(Tensor({5, 8, 10}), Tensor({5, 8, 2})); },
                           "target has shape [5, 8, 2]");
}

TEST(LossErrors, SparseClassIds) {
  Loss loss(opts(LossKind::sparse_categorical_crossentropy, true));
  expect_error<InvalidArgument>(
      [&] { loss.forward(Tensor({2, 3}), Tensor({2}, {0.0f, 3.0f})); },
      "loss sparse_categorical_crossentropy: target at row 1 is 3, expected an integer class id "
      "in [0, 3) (the model output has 3 classes)");
  expect_error<InvalidArgument>([&] { loss.forward(Tensor({2, 3}), Tensor({2}, {-1.0f, 0.0f})); },
                                "target at row 0 is -1, expected");
  expect_error<InvalidArgument>([&] { loss.forward(Tensor({2, 3}), Tensor({2}, {1.5f, 0.0f})); },
                                "target at row 0 is 1.5, expected an integer class id");
  expect_error<InvalidArgument>(
      [&] { loss.forward(Tensor({2, 2, 4}), Tensor({2, 2}, {0.0f, 1.0f, 2.0f, 7.0f})); },
      "target at row 1, step 1 is 7, expected an integer class id in [0, 4)");
  expect_error<InvalidArgument>([&] { loss.forward(Tensor({1, 3}), Tensor({1}, {NAN})); },
                                "target at row 0 is nan");
}

TEST(LossErrors, WeightAndMaskShapes) {
  Loss loss(opts(LossKind::mse));
  const Tensor pred({3, 4, 2}), target({3, 4, 2});
  const Tensor bad_weight({3});
  expect_error<ShapeError>([&] { loss.forward(pred, target, &bad_weight); },
                           "loss mse: sample weights have shape [3], expected [4] (one per row of "
                           "the batch)");
  const Tensor weight_2d({4, 1});
  expect_error<ShapeError>([&] { loss.forward(pred, target, &weight_2d); },
                           "sample weights have shape [4, 1], expected [4]");
  const Tensor bad_mask({4, 3});
  expect_error<ShapeError>([&] { loss.forward(pred, target, nullptr, &bad_mask); },
                           "loss mse: mask has shape [4, 3], expected [T, B] = [3, 4]");
  const Tensor mask({4, 2});
  expect_error<ShapeError>([&] { loss.forward(Tensor({4, 2}), Tensor({4, 2}), nullptr, &mask); },
                           "masks apply only to sequence outputs [T, B, U]");
}

TEST(LossErrors, BackwardBeforeForward) {
  Loss loss;
  expect_error<InvalidArgument>([&] { loss.backward(); }, "backward() was called before forward()");
}

// ---- (e) names and options ---------------------------------------------------------------------

TEST(LossNames, ParseAndName) {
  const std::pair<const char*, LossKind> names[] = {
      {"mse", LossKind::mse},
      {"mean_squared_error", LossKind::mse},
      {"mae", LossKind::mae},
      {"mean_absolute_error", LossKind::mae},
      {"huber", LossKind::huber},
      {"huber_loss", LossKind::huber},
      {"binary_crossentropy", LossKind::binary_crossentropy},
      {"categorical_crossentropy", LossKind::categorical_crossentropy},
      {"sparse_categorical_crossentropy", LossKind::sparse_categorical_crossentropy},
  };
  for (const auto& [name, kind] : names) {
    const LossOptions o = recur::parse_loss(name);
    EXPECT_EQ(o.kind, kind) << name;
    EXPECT_FALSE(o.from_logits);
    EXPECT_EQ(recur::parse_loss(recur::loss_name(kind)).kind, kind);
  }
  EXPECT_EQ(recur::loss_name(LossKind::huber), "huber");
  EXPECT_EQ(recur::loss_name(LossKind::sparse_categorical_crossentropy),
            "sparse_categorical_crossentropy");
}

TEST(LossNames, Unknown) {
  expect_error<ConfigError>([] { recur::parse_loss("foo"); },
                            "unknown loss 'foo'; expected one of mse, mae, huber, "
                            "binary_crossentropy, categorical_crossentropy, "
                            "sparse_categorical_crossentropy");
  expect_error<ConfigError>([] { recur::parse_loss("MSE"); }, "unknown loss 'MSE'");
  expect_error<ConfigError>([] { recur::parse_loss("bce"); }, "unknown loss 'bce'");
}

TEST(LossNames, OptionValidation) {
  expect_error<ConfigError>([] { Loss l(opts(LossKind::mse, true)); },
                            "loss mse: from_logits applies only to the crossentropy losses");
  expect_error<ConfigError>([] { Loss l(opts(LossKind::huber, false, 0.0f)); },
                            "loss huber: delta must be a finite number > 0, got 0");
  EXPECT_NO_THROW(Loss(opts(LossKind::mse, false, 0.0f)));  // delta is huber's only
}

}  // namespace
