// Model::fit / evaluate semantics that the PyTorch parity cases do not reach: weights, splits,
// History, console output, and resuming from BackupAndRestore checkpoints mid-epoch.
#include <cstring>
#include <filesystem>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "recur/recur.hpp"
#include "recur/train/checkpoint.hpp"

namespace fs = std::filesystem;
using namespace recur;

namespace {

std::unique_ptr<Sequential> small_model(uint64_t seed = 1, float dropout = 0.0f) {
  auto m = std::make_unique<Sequential>("m");
  m->add(make_lstm("lstm", {.units = 6, .dropout = dropout, .recurrent_dropout = dropout}));
  m->add(std::make_unique<Dense>("dense", DenseOptions{.units = 1}));
  m->build({-1, 2}, seed);
  return m;
}

struct Data {
  Tensor x, y;
};
Data make_data(int64_t n, int64_t T = 5) {
  Data d{Tensor({n, T, 2}), Tensor({n, 1})};
  std::mt19937 g(9);
  std::normal_distribution<float> nd;
  for (int64_t i = 0; i < d.x.numel(); ++i) d.x[i] = nd(g);
  for (int64_t i = 0; i < n; ++i) d.y[i] = d.x[(i * T + T - 1) * 2] - 0.5f * d.x[i * T * 2 + 1];
  return d;
}

std::vector<float> weights_of(Model& m) { return {m.weights().begin(), m.weights().end()}; }

struct TempDir {
  fs::path p;
  TempDir() {
    p = fs::temp_directory_path() /
        ("recur_fit_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(p);
    fs::create_directories(p);
  }
  ~TempDir() { fs::remove_all(p); }
};

TEST(Fit, ValidationSplitUsesTheLastRowsBeforeShuffling) {
  Data d = make_data(40);
  auto m = small_model();
  m->compile(compile_options("adam", "mse", {"mae"}));
  FitOptions fo;
  fo.epochs = 2;
  fo.batch_size = 8;
  fo.validation_split = 0.25;
  fo.verbose = 0;
  History h = m->fit(d.x, d.y, fo);
  ASSERT_EQ(h.epoch, (std::vector<int>{0, 1}));
  for (const char* k : {"loss", "mae", "val_loss", "val_mae"}) ASSERT_EQ(h.history[k].size(), 2u) << k;
  // The last 10 rows, evaluated with the final weights, give the last val_loss.
  Tensor xv({10, 5, 2}), yv({10, 1});
  std::memcpy(xv.data(), d.x.data() + 30 * 10, 100 * sizeof(float));
  std::memcpy(yv.data(), d.y.data() + 30, 10 * sizeof(float));
  auto scores = m->evaluate(xv, yv, {});
  EXPECT_NEAR(scores[0].second, h.history["val_loss"][1], 1e-6 * std::abs(scores[0].second));
  EXPECT_EQ(scores[1].first, "mae");
}

TEST(Fit, ClassWeightEqualsTheSameSampleWeight) {
  // Binary classification: class_weight {0: 1, 1: 3} is sample_weight 3 on the positive rows.
  Data d = make_data(24);
  for (int64_t i = 0; i < 24; ++i) d.y[i] = d.y[i] > 0.0f ? 1.0f : 0.0f;
  auto run = [&](bool class_weights) {
    auto m = small_model();
    m->compile(compile_options("sgd", "binary_crossentropy", {"accuracy"}));
    FitOptions fo;
    fo.epochs = 2;
    fo.batch_size = 5;
    fo.verbose = 0;
    fo.seed = 3;
    if (class_weights) {
      fo.class_weight = {{0, 1.0}, {1, 3.0}};
    } else {
      fo.sample_weight = Tensor({24});
      for (int64_t i = 0; i < 24; ++i) fo.sample_weight[i] = d.y[i] > 0.5f ? 3.0f : 1.0f;
    }
    m->fit(d.x, d.y, fo);
    return weights_of(*m);
  };
  EXPECT_EQ(run(true), run(false));
}

TEST(Fit, ZeroSampleWeightsIgnoreRows) {
  // Rows with weight 0 contribute nothing: training on [A, B] with B weighted 0 equals
  // training on A with B's rows replaced by anything.
  Data d = make_data(16);
  auto run = [&](float garbage) {
    Data e = d;
    for (int64_t i = 8; i < 16; ++i) e.y[i] = garbage;
    auto m = small_model();
    m->compile(compile_options("adam", "mse"));
    FitOptions fo;
    fo.epochs = 2;
    fo.batch_size = 16;
    fo.shuffle = false;
    fo.verbose = 0;
    fo.sample_weight = Tensor({16}, 1.0f);
    for (int64_t i = 8; i < 16; ++i) fo.sample_weight[i] = 0.0f;
    m->fit(e.x, e.y, fo);
    return weights_of(*m);
  };
  EXPECT_EQ(run(100.0f), run(-7.0f));
}

TEST(Fit, InitialEpochAndVerboseOutput) {
  Data d = make_data(20);
  auto m = small_model();
  m->compile(compile_options("rmsprop", "huber"));
  std::ostringstream out;
  FitOptions fo;
  fo.epochs = 3;
  fo.initial_epoch = 1;
  fo.batch_size = 8;
  fo.verbose = 2;
  fo.out = &out;
  History h = m->fit(d.x, d.y, fo);
  EXPECT_EQ(h.epoch, (std::vector<int>{1, 2}));
  const std::string s = out.str();
  EXPECT_EQ(s.find("Epoch 1/3"), std::string::npos) << s;
  EXPECT_NE(s.find("Epoch 2/3\n3/3 - "), std::string::npos) << s;
  EXPECT_NE(s.find("Epoch 3/3\n3/3 - "), std::string::npos) << s;
  EXPECT_NE(s.find(" - loss: "), std::string::npos) << s;
  EXPECT_NE(s.find("/step\n"), std::string::npos) << s;
  std::ostringstream quiet;
  fo.verbose = 0;
  fo.out = &quiet;
  m->fit(d.x, d.y, fo);
  EXPECT_EQ(quiet.str(), "");
}

TEST(Fit, DropoutRunsAreReproducible) {
  Data d = make_data(30);
  auto run = [&](uint64_t seed) {
    auto m = small_model(1, 0.2f);
    m->compile(compile_options("adam", "mse"));
    FitOptions fo;
    fo.epochs = 2;
    fo.batch_size = 7;
    fo.seed = seed;
    fo.verbose = 0;
    m->fit(d.x, d.y, fo);
    return weights_of(*m);
  };
  EXPECT_EQ(run(4), run(4));
  EXPECT_NE(run(4), run(5));
}

// A callback that "crashes" the process (throws) after a given number of batches overall.
class CrashAfter : public Callback {
 public:
  explicit CrashAfter(int64_t batches) : left_(batches) {}
  void on_batch_end(FitState&, int64_t, const Logs&) override {
    if (--left_ == 0) throw std::runtime_error("simulated crash");
  }

 private:
  int64_t left_;
};

TEST(Fit, BackupAndRestoreResumesBitIdenticallyMidEpoch) {
  TempDir tmp;
  Data d = make_data(37);  // 5 batches of 8 per epoch, the last partial
  auto options = [&](std::vector<std::shared_ptr<Callback>> cbs) {
    FitOptions fo;
    fo.epochs = 4;
    fo.batch_size = 8;
    fo.seed = 21;
    fo.verbose = 0;
    fo.callbacks = std::move(cbs);
    return fo;
  };
  auto straight = small_model(2, 0.1f);
  straight->compile(compile_options("adam", "mse", {"mae"}));
  History hs = straight->fit(d.x, d.y, options({}));

  // Crash at several points (mid-epoch, right after an epoch end), resuming each time from a
  // fresh model object, as a new process would.
  const std::string dir = (tmp.p / "backup").string();
  for (int64_t crash_at : {3, 4, 7}) {
    auto m = small_model(2, 0.1f);
    m->compile(compile_options("adam", "mse", {"mae"}));
    EXPECT_THROW(m->fit(d.x, d.y,
                        options({backup_and_restore(dir, 2), std::make_shared<CrashAfter>(crash_at)})),
                 std::runtime_error);
    EXPECT_TRUE(fs::exists(checkpoint_file(dir)));
  }
  auto m = small_model(2, 0.1f);
  m->compile(compile_options("adam", "mse", {"mae"}));
  History hr = m->fit(d.x, d.y, options({backup_and_restore(dir, 2)}));
  EXPECT_EQ(weights_of(*m), weights_of(*straight));
  EXPECT_EQ(hr.epoch, hs.epoch);
  EXPECT_FALSE(fs::exists(checkpoint_file(dir))) << "a completed fit removes its checkpoint";
  // Epoch-end losses of epochs run without interruption match exactly.
  EXPECT_EQ(hr.history["loss"].back(), hs.history["loss"].back());
}

TEST(Fit, CheckpointForOtherDataIsRefused) {
  TempDir tmp;
  const std::string dir = (tmp.p / "backup").string();
  Data d = make_data(20);
  auto m = small_model();
  m->compile(compile_options("adam", "mse"));
  FitOptions fo;
  fo.epochs = 1;
  fo.verbose = 0;
  fo.callbacks = {backup_and_restore(dir, 0, false)};
  m->fit(d.x, d.y, fo);
  Data other = make_data(21);
  auto m2 = small_model();
  m2->compile(compile_options("adam", "mse"));
  try {
    m2->fit(other.x, other.y, fo);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("other training data"), std::string::npos) << e.what();
  }
}

TEST(Fit, BadInputErrors) {
  Data d = make_data(10);
  auto m = small_model();
  auto expect_msg = [&](auto&& f, const std::string& needle) {
    try {
      f();
      ADD_FAILURE() << "no error; wanted " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_msg([&] { m->fit(d.x, d.y, {}); }, "compile()");
  m->compile(compile_options("adam", "mse"));
  FitOptions fo;
  fo.verbose = 0;
  expect_msg([&] { m->fit(d.x, Tensor({9, 1}), fo); }, "y has 9 rows but x has 10");
  expect_msg([&] { m->fit(d.x, Tensor({10, 3}), fo); }, "expected [10, 1]");
  expect_msg([&] { m->fit(Tensor({0, 5, 2}), Tensor({0, 1}), fo); }, "empty");
  expect_msg([&] { m->fit(Tensor({10, 5, 3}), d.y, fo); }, "x has shape [10, 5, 3]");
  Tensor ynan = d.y;
  ynan[4] = NAN;
  expect_msg([&] { m->fit(d.x, ynan, fo); }, "y contains NaN at row 4");
  fo.validation_split = 0.99;
  expect_msg([&] { m->fit(d.x, d.y, fo); }, "validation_split");
  fo.validation_split = 0.0;
  fo.sample_weight = Tensor({3});
  expect_msg([&] { m->fit(d.x, d.y, fo); }, "sample_weight has shape [3]");
  fo.sample_weight = Tensor();
  fo.class_weight = {{0, 1.0}};
  expect_msg([&] { m->fit(d.x, d.y, fo); }, "class_weight has no weight for class");

  auto c = std::make_unique<Sequential>("c");
  c->add(make_gru("gru", {.units = 4}));
  c->add(std::make_unique<Dense>("dense", DenseOptions{.units = 3}));
  c->build({-1, 2}, 0);
  c->compile(compile_options("adam", "sparse_categorical_crossentropy", {"accuracy"}));
  Tensor labels({10}, 1.0f);
  labels[7] = 3.0f;
  expect_msg([&] { c->fit(d.x, labels, fo); }, "label 3 at row 7 is outside the class range [0, 3)");
  labels[7] = 1.5f;
  expect_msg([&] { c->fit(d.x, labels, fo); }, "label 1.5 at row 7");
}

TEST(Fit, NanLossStopsWithTerminateOnNaN) {
  Data d = make_data(16);
  for (int64_t i = 0; i < d.x.numel(); ++i) d.x[i] *= 1e19f;
  auto m = small_model();
  OptimizerOptions o;
  o.name = "sgd";
  o.learning_rate = 1e30;
  CompileOptions co;
  co.optimizer = o;
  co.losses = {parse_loss("mse")};
  m->compile(co);
  FitOptions fo;
  fo.epochs = 5;
  fo.batch_size = 4;
  fo.verbose = 0;
  fo.callbacks = {terminate_on_nan()};
  History h = m->fit(d.x, d.y, fo);
  EXPECT_TRUE(h.stopped_on_nan);
  EXPECT_LT(h.epoch.size(), 5u);
}

}  // namespace
