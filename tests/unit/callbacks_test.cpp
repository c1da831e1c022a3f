// Training callbacks (recur/train/callbacks.hpp), driven directly with a hand-made FitState and
// synthetic logs (no fit() involved): EarlyStopping (patience, min_delta, baseline, mode,
// start_from_epoch, restore_best_weights), ModelCheckpoint (file-name formatting, save_best_only,
// NaN loss, loadable files), CSVLogger (contents, append), TerminateOnNaN, ReduceLROnPlateau
// (cooldown, min_lr) and LearningRateScheduler. Expected sequences follow Keras's callbacks.
#include "recur/train/callbacks.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "recur/error.hpp"
#include "recur/io/model_file.hpp"
#include "recur/layers/dense.hpp"
#include "recur/model/sequential.hpp"
#include "recur/train/optimizer.hpp"
#include "support/errors.hpp"
#include "support/files.hpp"

namespace recur {
namespace {

namespace fs = std::filesystem;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

using recur::testing::error_of;
using recur::testing::read_file;

class CallbacksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(RECUR_BINARY_DIR) / "callbacks_test_tmp" / info->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    model_.add(std::make_unique<Dense>("dense", DenseOptions{.units = 1}));
    model_.build({1, 2}, 7);
    OptimizerOptions oo;
    oo.name = "sgd";
    oo.learning_rate = 0.1;
    optimizer_ = Optimizer::make(oo);
    state_.model = &model_;
    state_.optimizer = optimizer_.get();
    state_.epochs = 100;
    state_.steps_per_epoch = 4;
    state_.verbose = 0;
    state_.out = &out_;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    fs::remove(dir_.parent_path(), ec);  // only when no other test's directory is left
  }

  void set_weights(float v) {
    for (float& w : model_.weights()) w = v;
  }

  // Runs one fit's worth of hooks over `epoch_logs` (one Logs per epoch), stopping when a
  // callback sets stop_training. Before epoch e's end the weights are all set to e. Returns the
  // number of epochs run.
  int run(Callback& cb, std::vector<Logs> epoch_logs) {
    state_.stop_training = false;
    cb.on_train_begin(state_);
    int e = 0;
    for (; e < static_cast<int>(epoch_logs.size()) && !state_.stop_training; ++e) {
      cb.on_epoch_begin(state_, e);
      set_weights(static_cast<float>(e));
      cb.on_epoch_end(state_, e, epoch_logs[static_cast<std::size_t>(e)]);
    }
    cb.on_train_end(state_);
    return e;
  }

  static std::vector<Logs> series(const std::string& key, std::vector<double> values) {
    std::vector<Logs> logs;
    for (double v : values) logs.push_back(Logs{{"loss", 1.0}, {key, v}});
    return logs;
  }

  fs::path dir_;
  Sequential model_;
  std::unique_ptr<Optimizer> optimizer_;
  std::ostringstream out_;
  FitState state_;
};

// ---------------------------------------------------------------------------------------------
// EarlyStopping

TEST_F(CallbacksTest, EarlyStoppingPatience) {
  auto cb = early_stopping({.monitor = "val_loss", .patience = 2});
  // e0 best 1.0; e1 best 0.9; e2 wait 1; e3 wait 2 -> stop after epoch 3.
  EXPECT_EQ(run(*cb, series("val_loss", {1.0, 0.9, 0.95, 0.92, 0.5, 0.4})), 4);
  EXPECT_TRUE(state_.stop_training);
  // A steadily improving run never stops.
  EXPECT_EQ(run(*cb, series("val_loss", {5, 4, 3, 2, 1})), 5);
  EXPECT_FALSE(state_.stop_training);
}

TEST_F(CallbacksTest, EarlyStoppingPatienceZeroNeverStopsAtEpochZero) {
  auto cb = early_stopping({.monitor = "loss", .patience = 0});
  std::vector<Logs> logs = {Logs{{"loss", 1.0}}, Logs{{"loss", 1.0}}, Logs{{"loss", 0.5}}};
  EXPECT_EQ(run(*cb, logs), 2);  // no improvement at epoch 1 -> stop
}

TEST_F(CallbacksTest, EarlyStoppingMinDelta) {
  // 0.95 and 0.91 are not better than 1.0 by more than 0.1: stop at epoch 1 with patience 1.
  auto cb = early_stopping({.monitor = "val_loss", .min_delta = 0.1, .patience = 1});
  EXPECT_EQ(run(*cb, series("val_loss", {1.0, 0.95, 0.85})), 2);
  // The sign of min_delta does not matter (Keras takes |min_delta|).
  auto neg = early_stopping({.monitor = "val_loss", .min_delta = -0.1, .patience = 1});
  EXPECT_EQ(run(*neg, series("val_loss", {1.0, 0.95, 0.85})), 2);
  // Improvements larger than min_delta keep it going.
  EXPECT_EQ(run(*cb, series("val_loss", {1.0, 0.85, 0.7, 0.55})), 4);
}

TEST_F(CallbacksTest, EarlyStoppingBaseline) {
  // Improving on the best but never beating the baseline: wait is not reset (Keras), yet an
  // improving epoch never stops; the first non-improving epoch with wait >= patience does.
  auto with = early_stopping({.monitor = "val_loss", .patience = 2, .baseline = 0.5});
  EXPECT_EQ(run(*with, series("val_loss", {1.0, 0.9, 0.8, 0.85, 0.7})), 4);
  auto without = early_stopping({.monitor = "val_loss", .patience = 2});
  EXPECT_EQ(run(*without, series("val_loss", {1.0, 0.9, 0.8, 0.85, 0.7})), 5);
  // Beating the baseline resets wait.
  EXPECT_EQ(run(*with, series("val_loss", {1.0, 0.4, 0.45, 0.3, 0.35, 0.36, 0.37})), 6);
}

TEST_F(CallbacksTest, EarlyStoppingModeAutoIsMaxForAccuracy) {
  auto acc = early_stopping({.monitor = "val_accuracy", .patience = 1});
  EXPECT_EQ(run(*acc, series("val_accuracy", {0.5, 0.6, 0.7, 0.65, 0.9})), 4);
  auto acc_min = early_stopping({.monitor = "val_accuracy", .patience = 1,
                                 .mode = MonitorMode::min});
  EXPECT_EQ(run(*acc_min, series("val_accuracy", {0.5, 0.6, 0.7, 0.65, 0.9})), 2);
  auto mae_max = early_stopping({.monitor = "val_mae", .patience = 1, .mode = MonitorMode::max});
  EXPECT_EQ(run(*mae_max, series("val_mae", {0.5, 0.6, 0.7, 0.65, 0.9})), 4);
  auto mae = early_stopping({.monitor = "val_mae", .patience = 1});
  EXPECT_EQ(run(*mae, series("val_mae", {0.5, 0.6, 0.7, 0.65, 0.9})), 2);
}

TEST_F(CallbacksTest, EarlyStoppingStartFromEpoch) {
  auto cb = early_stopping({.monitor = "loss", .patience = 0, .start_from_epoch = 2});
  std::vector<Logs> logs;
  for (double v : {1.0, 2.0, 3.0, 4.0, 5.0}) logs.push_back(Logs{{"loss", v}});
  EXPECT_EQ(run(*cb, logs), 4);  // epochs 0, 1 ignored; best 3.0 at epoch 2; stop at epoch 3
}

TEST_F(CallbacksTest, EarlyStoppingRestoresBestWeightsOnEarlyStop) {
  state_.verbose = 1;
  auto cb = early_stopping({.monitor = "val_loss", .patience = 2, .restore_best_weights = true});
  EXPECT_EQ(run(*cb, series("val_loss", {1.0, 0.5, 0.7, 0.8, 0.1})), 4);
  for (float w : model_.weights()) ASSERT_EQ(w, 1.0f);  // epoch 1's weights
  EXPECT_NE(out_.str().find("Epoch 4: early stopping\n"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("Restoring model weights from the end of the best epoch: 2."),
            std::string::npos)
      << out_.str();
}

TEST_F(CallbacksTest, EarlyStoppingRestoresBestWeightsAtTrainEnd) {
  // Keras 3: restored at train end even when training was not stopped early.
  auto cb = early_stopping({.monitor = "val_loss", .patience = 10, .restore_best_weights = true});
  EXPECT_EQ(run(*cb, series("val_loss", {1.0, 0.9, 0.3, 0.7, 0.8})), 5);
  for (float w : model_.weights()) ASSERT_EQ(w, 2.0f);
  // Without restore_best_weights the last weights stay.
  auto keep = early_stopping({.monitor = "val_loss", .patience = 10});
  run(*keep, series("val_loss", {1.0, 0.9, 0.3, 0.7, 0.8}));
  for (float w : model_.weights()) ASSERT_EQ(w, 4.0f);
  // Never improving (NaN): the first monitored epoch's weights are the best.
  auto nan = early_stopping({.monitor = "val_loss", .patience = 10, .restore_best_weights = true});
  run(*nan, series("val_loss", {kNaN, kNaN, kNaN}));
  for (float w : model_.weights()) ASSERT_EQ(w, 0.0f);
}

TEST_F(CallbacksTest, EarlyStoppingMissingMonitorWarnsOnce) {
  state_.verbose = 1;
  auto cb = early_stopping({.monitor = "val_loss", .patience = 0});
  std::vector<Logs> logs(4, Logs{{"loss", 1.0}, {"mae", 0.5}});
  EXPECT_EQ(run(*cb, logs), 4);
  const std::string msg =
      "Early stopping conditioned on metric `val_loss` which is not available. Available "
      "metrics are: loss,mae";
  const std::string text = out_.str();
  ASSERT_NE(text.find(msg), std::string::npos) << text;
  EXPECT_EQ(text.find(msg, text.find(msg) + 1), std::string::npos) << "warned twice: " << text;
  // Silent when verbose is 0.
  out_.str("");
  state_.verbose = 0;
  run(*cb, logs);
  EXPECT_EQ(out_.str(), "");
}

TEST_F(CallbacksTest, EarlyStoppingRejectsBadOptions) {
  EXPECT_NE(error_of<ConfigError>([] { early_stopping({.patience = -1}); })
                .find("EarlyStopping: patience must be >= 0, got -1"),
            std::string::npos);
  EXPECT_THROW(early_stopping({.monitor = ""}), ConfigError);
}

// ---------------------------------------------------------------------------------------------
// ModelCheckpoint

TEST_F(CallbacksTest, ModelCheckpointFormatsFileNames) {
  auto cb = model_checkpoint({.filepath = (dir_ / "m_{epoch:02d}_{val_loss:.2f}.safetensors")
                                              .string()});
  std::vector<Logs> logs = {Logs{{"loss", 1.0}, {"val_loss", 0.5}},
                            Logs{{"loss", 0.9}, {"val_loss", 0.456}},
                            Logs{{"loss", 0.8}, {"val_loss", 0.6}}};
  EXPECT_EQ(run(*cb, logs), 3);
  EXPECT_TRUE(fs::exists(dir_ / "m_01_0.50.safetensors"));
  EXPECT_TRUE(fs::exists(dir_ / "m_02_0.46.safetensors"));
  EXPECT_TRUE(fs::exists(dir_ / "m_03_0.60.safetensors"));
  // Python format specs: plain repr, exponent, width/fill/align, sign, percent, braces.
  auto many = model_checkpoint(
      {.filepath = (dir_ / "{epoch}-{loss}-{loss:.4f}-{loss:.2e}-{epoch:_>3}-{epoch:<3}|"
                           "{loss:+.1f}-{acc:.0%}-{tiny}-{epoch:03}-{{x}}")
                       .string()});
  std::vector<Logs> one = {Logs{{"loss", 0.123456}, {"acc", 0.875}, {"tiny", 1e-5}}};
  run(*many, one);
  EXPECT_TRUE(fs::exists(dir_ / "1-0.123456-0.1235-1.23e-01-__1-1  |+0.1-88%-1e-05-001-{x}"))
      << [&] {
           std::string names;
           for (const auto& e : fs::directory_iterator(dir_)) names += e.path().string() + "\n";
           return names;
         }();
}

TEST_F(CallbacksTest, ModelCheckpointFilePathErrors) {
  auto missing = model_checkpoint({.filepath = (dir_ / "m_{val_acc:.2f}.safetensors").string()});
  std::vector<Logs> logs = {Logs{{"loss", 1.0}, {"val_loss", 0.5}}};
  const std::string msg = error_of<ConfigError>([&] { run(*missing, logs); });
  EXPECT_NE(msg.find("uses {val_acc}, which is not in the logs; available: epoch,loss,val_loss"),
            std::string::npos)
      << msg;
  auto bad_spec = model_checkpoint({.filepath = (dir_ / "m_{loss:.2q}").string()});
  EXPECT_NE(error_of<ConfigError>([&] { run(*bad_spec, logs); }).find("unsupported format spec"),
            std::string::npos);
  auto float_d = model_checkpoint({.filepath = (dir_ / "m_{loss:02d}").string()});
  EXPECT_NE(error_of<ConfigError>([&] { run(*float_d, logs); })
                .find("format code 'd' needs an integer; {loss:02d} is a float"),
            std::string::npos);
  auto unmatched = model_checkpoint({.filepath = (dir_ / "m_{epoch").string()});
  EXPECT_NE(error_of<ConfigError>([&] { run(*unmatched, logs); }).find("unmatched '{'"),
            std::string::npos);
  EXPECT_THROW(model_checkpoint({.filepath = ""}), ConfigError);
}

TEST_F(CallbacksTest, ModelCheckpointSaveBestOnly) {
  state_.verbose = 1;
  const fs::path pattern = dir_ / "best_{epoch}.safetensors";
  auto cb = model_checkpoint({.filepath = pattern.string(), .save_best_only = true});
  run(*cb, series("val_loss", {0.5, 0.6, 0.4, 0.4}));
  EXPECT_TRUE(fs::exists(dir_ / "best_1.safetensors"));
  EXPECT_FALSE(fs::exists(dir_ / "best_2.safetensors"));
  EXPECT_TRUE(fs::exists(dir_ / "best_3.safetensors"));
  EXPECT_FALSE(fs::exists(dir_ / "best_4.safetensors"));  // equal is not better
  const std::string text = out_.str();
  EXPECT_NE(text.find("\nEpoch 1: val_loss improved from inf to 0.50000, saving model to " +
                      (dir_ / "best_1.safetensors").string() + "\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\nEpoch 2: val_loss did not improve from 0.50000\n"), std::string::npos);
  EXPECT_NE(text.find("\nEpoch 3: val_loss improved from 0.50000 to 0.40000"), std::string::npos);

  // The best is kept across fits (Keras): a worse value in a later fit does not save.
  fs::remove(dir_ / "best_1.safetensors");
  run(*cb, series("val_loss", {0.45}));
  EXPECT_FALSE(fs::exists(dir_ / "best_1.safetensors"));

  // Max mode for accuracy.
  auto acc = model_checkpoint({.filepath = (dir_ / "acc_{epoch}").string(),
                               .monitor = "val_accuracy", .save_best_only = true});
  run(*acc, series("val_accuracy", {0.5, 0.4, 0.6}));
  EXPECT_TRUE(fs::exists(dir_ / "acc_1"));
  EXPECT_FALSE(fs::exists(dir_ / "acc_2"));
  EXPECT_TRUE(fs::exists(dir_ / "acc_3"));
}

TEST_F(CallbacksTest, ModelCheckpointMissingMonitorSkips) {
  state_.verbose = 1;
  auto cb = model_checkpoint({.filepath = (dir_ / "m.safetensors").string(),
                              .save_best_only = true});
  std::vector<Logs> logs(2, Logs{{"loss", 1.0}});
  run(*cb, logs);
  EXPECT_FALSE(fs::exists(dir_ / "m.safetensors"));
  EXPECT_NE(out_.str().find("Can save best model only with val_loss available, skipping."),
            std::string::npos)
      << out_.str();
}

TEST_F(CallbacksTest, ModelCheckpointFileLoadsAndNaNLossKeepsLastGoodFile) {
  const fs::path path = dir_ / "sub" / "dir" / "model.safetensors";  // directories are made
  auto cb = model_checkpoint({.filepath = path.string()});
  cb->on_train_begin(state_);
  set_weights(0.25f);
  Logs good{{"loss", 1.0}, {"val_loss", 1.0}};
  cb->on_epoch_end(state_, 0, good);
  ASSERT_TRUE(fs::exists(path));
  auto loaded = load_model(path.string());
  ASSERT_EQ(loaded->weights().size(), model_.weights().size());
  for (float w : loaded->weights()) EXPECT_EQ(w, 0.25f);

  for (double bad : {kNaN, kInf, -kInf}) {
    set_weights(9.0f);
    Logs logs{{"loss", bad}, {"val_loss", 0.1}};
    cb->on_epoch_end(state_, 1, logs);
    auto again = load_model(path.string());
    for (float w : again->weights()) EXPECT_EQ(w, 0.25f);
  }
  cb->on_train_end(state_);
  // Only the model file is left (atomic save: no temporary file).
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(path.parent_path())) ++files;
  EXPECT_EQ(files, 1);
}

// ---------------------------------------------------------------------------------------------
// CSVLogger

TEST_F(CallbacksTest, CsvLoggerWritesSortedKeysAndFlushes) {
  const fs::path path = dir_ / "log.csv";
  auto cb = csv_logger(path.string());
  cb->on_train_begin(state_);
  Logs e0{{"val_loss", 0.75}, {"loss", 0.5}, {"mae", 0.1}, {"lr", 0.001}};
  cb->on_epoch_end(state_, 0, e0);
  // Flushed before train end.
  EXPECT_EQ(read_file(path), "epoch,loss,lr,mae,val_loss\n0,0.5,0.001,0.1,0.75\n");
  Logs e1{{"loss", 3.0}, {"mae", 1e-5}, {"lr", 1e16}, {"extra", 1.0}};  // val_loss missing
  cb->on_epoch_end(state_, 1, e1);
  Logs e2{{"loss", kNaN}, {"mae", 123456.789}, {"lr", -kInf}, {"val_loss", 0.1 + 0.2}};
  cb->on_epoch_end(state_, 2, e2);
  cb->on_train_end(state_);
  EXPECT_EQ(read_file(path),
            "epoch,loss,lr,mae,val_loss\n"
            "0,0.5,0.001,0.1,0.75\n"
            "1,3.0,1e+16,1e-05,NA\n"
            "2,nan,-inf,123456.789,0.30000000000000004\n");
}

TEST_F(CallbacksTest, CsvLoggerAppendAndRewrite) {
  const fs::path path = dir_ / "log.csv";
  std::vector<Logs> logs = {Logs{{"loss", 0.5}}, Logs{{"loss", 0.25}}};
  auto first = csv_logger(path.string());
  run(*first, logs);
  const std::string one = "epoch,loss\n0,0.5\n1,0.25\n";
  EXPECT_EQ(read_file(path), one);
  // append: no second header.
  auto appender = csv_logger(path.string(), ',', true);
  run(*appender, logs);
  EXPECT_EQ(read_file(path), one + "0,0.5\n1,0.25\n");
  // append = false rewrites.
  run(*first, logs);
  EXPECT_EQ(read_file(path), one);
  // append to an empty or missing file writes the header.
  std::ofstream(path, std::ios::trunc).close();
  run(*appender, logs);
  EXPECT_EQ(read_file(path), one);
  fs::remove(path);
  run(*appender, logs);
  EXPECT_EQ(read_file(path), one);
}

TEST_F(CallbacksTest, CsvLoggerSeparatorAndQuoting) {
  const fs::path path = dir_ / "log.csv";
  auto cb = csv_logger(path.string(), ';');
  run(*cb, {Logs{{"loss", 0.5}, {"a;b", 2.0}}});
  EXPECT_EQ(read_file(path), "epoch;\"a;b\";loss\n0;2.0;0.5\n");
  EXPECT_THROW(csv_logger(path.string(), '"'), ConfigError);
}

TEST_F(CallbacksTest, CsvLoggerOpenFailureNamesTheFile) {
  const std::string bad = (dir_ / "no_such_dir" / "log.csv").string();
  auto cb = csv_logger(bad);
  const std::string msg = error_of<IoError>([&] { cb->on_train_begin(state_); });
  EXPECT_NE(msg.find("CSVLogger: cannot open '" + bad + "' for writing"), std::string::npos)
      << msg;
}

// ---------------------------------------------------------------------------------------------
// TerminateOnNaN

TEST_F(CallbacksTest, TerminateOnNaN) {
  state_.verbose = 1;
  auto cb = terminate_on_nan();
  cb->on_batch_end(state_, 0, Logs{{"loss", 0.5}});
  cb->on_batch_end(state_, 1, Logs{{"mae", kNaN}});  // only "loss" counts
  EXPECT_FALSE(state_.stop_training);
  EXPECT_FALSE(state_.stopped_on_nan);
  cb->on_batch_end(state_, 3, Logs{{"loss", kNaN}});
  EXPECT_TRUE(state_.stop_training);
  EXPECT_TRUE(state_.stopped_on_nan);
  EXPECT_EQ(out_.str(), "Batch 3: Invalid loss, terminating training\n");

  FitState inf_state;
  cb->on_batch_end(inf_state, 0, Logs{{"loss", kInf}});  // no output stream: silent
  EXPECT_TRUE(inf_state.stop_training);
  EXPECT_TRUE(inf_state.stopped_on_nan);
}

// ---------------------------------------------------------------------------------------------
// ReduceLROnPlateau

// Runs `cb` over `values` of "loss"; returns the learning rate after each epoch and checks the
// "lr" log (the rate before that epoch's reduction).
std::vector<double> lr_sequence(Callback& cb, FitState& state, const std::vector<double>& values,
                                const std::string& key = "loss") {
  std::vector<double> lrs;
  cb.on_train_begin(state);
  for (std::size_t e = 0; e < values.size(); ++e) {
    Logs logs{{key, values[e]}};
    const double before = state.optimizer->learning_rate();
    cb.on_epoch_end(state, static_cast<int>(e), logs);
    EXPECT_EQ(logs.at("lr"), before);
    lrs.push_back(state.optimizer->learning_rate());
  }
  cb.on_train_end(state);
  return lrs;
}

void expect_lrs(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-12) << "epoch " << i;
}

TEST_F(CallbacksTest, ReduceLROnPlateauCooldownAndMinLr) {
  state_.verbose = 1;
  auto cb = reduce_lr_on_plateau({.monitor = "loss", .factor = 0.5, .patience = 2,
                                  .min_delta = 0.0, .cooldown = 1, .min_lr = 0.02});
  // e0 best; e1 wait 1; e2 wait 2 -> 0.05, cooldown 1; e3 cooldown ends, wait 1; e4 -> 0.025;
  // e5 wait 1; e6 -> max(0.0125, 0.02) = 0.02; then lr == min_lr: no more reductions.
  expect_lrs(lr_sequence(*cb, state_, std::vector<double>(10, 1.0)),
             {0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02, 0.02, 0.02});
  const std::string text = out_.str();
  EXPECT_NE(text.find("\nEpoch 3: ReduceLROnPlateau reducing learning rate to 0.05.\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\nEpoch 7: ReduceLROnPlateau reducing learning rate to 0.02.\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("Epoch 9:"), std::string::npos) << text;
  // lr and min_lr are compared as float32 (Keras): 0.1 is not above 0.1 * (1 - 1e-9).
  optimizer_->set_learning_rate(0.1);
  auto f32 = reduce_lr_on_plateau({.monitor = "loss", .patience = 0, .min_lr = 0.1 * (1 - 1e-9)});
  expect_lrs(lr_sequence(*f32, state_, {1.0, 2.0}), {0.1, 0.1});
}

TEST_F(CallbacksTest, ReduceLROnPlateauImprovementAndMinDelta) {
  // Improvements smaller than min_delta count as plateaus.
  auto cb = reduce_lr_on_plateau({.monitor = "loss", .factor = 0.1, .patience = 2,
                                  .min_delta = 0.01});
  expect_lrs(lr_sequence(*cb, state_, {1.0, 0.995, 0.99, 0.5, 0.45, 0.46, 0.459}),
             {0.1, 0.1, 0.01, 0.01, 0.01, 0.01, 0.001});
  // Mode auto: "acc" maximizes.
  optimizer_->set_learning_rate(0.1);
  auto acc = reduce_lr_on_plateau({.monitor = "val_accuracy", .factor = 0.5, .patience = 1});
  expect_lrs(lr_sequence(*acc, state_, {0.5, 0.6, 0.7, 0.65}, "val_accuracy"),
             {0.1, 0.1, 0.1, 0.05});
  // Patience 0 with cooldown 0: every non-improving epoch reduces.
  optimizer_->set_learning_rate(0.1);
  auto eager = reduce_lr_on_plateau({.monitor = "loss", .factor = 0.5, .patience = 0});
  expect_lrs(lr_sequence(*eager, state_, {1.0, 2.0, 2.0, 0.5}), {0.1, 0.05, 0.025, 0.025});
}

TEST_F(CallbacksTest, ReduceLROnPlateauMissingMonitorAndBadOptions) {
  state_.verbose = 1;
  auto cb = reduce_lr_on_plateau({.patience = 0});
  expect_lrs(lr_sequence(*cb, state_, {1.0, 2.0, 3.0}), {0.1, 0.1, 0.1});
  EXPECT_NE(out_.str().find("Learning rate reduction is conditioned on metric `val_loss` which "
                            "is not available. Available metrics are: loss,lr"),
            std::string::npos)
      << out_.str();
  EXPECT_NE(error_of<ConfigError>([] { reduce_lr_on_plateau({.factor = 1.0}); })
                .find("ReduceLROnPlateau: factor must be < 1.0, got 1"),
            std::string::npos);
  EXPECT_THROW(reduce_lr_on_plateau({.factor = -0.5}), ConfigError);
  EXPECT_THROW(reduce_lr_on_plateau({.patience = -1}), ConfigError);
  EXPECT_THROW(reduce_lr_on_plateau({.cooldown = -1}), ConfigError);
  EXPECT_THROW(reduce_lr_on_plateau({.min_lr = -1e-3}), ConfigError);
}

// ---------------------------------------------------------------------------------------------
// LearningRateScheduler

TEST_F(CallbacksTest, LearningRateScheduler) {
  std::vector<std::pair<int, double>> calls;
  auto cb = learning_rate_scheduler([&](int epoch, double lr) {
    calls.emplace_back(epoch, lr);
    return epoch < 2 ? lr : lr * 0.5;
  });
  std::vector<double> lrs;
  cb->on_train_begin(state_);
  for (int e = 0; e < 4; ++e) {
    cb->on_epoch_begin(state_, e);
    lrs.push_back(optimizer_->learning_rate());
    Logs logs{{"loss", 1.0}};
    cb->on_epoch_end(state_, e, logs);
    EXPECT_EQ(logs.at("lr"), lrs.back());
  }
  expect_lrs(lrs, {0.1, 0.1, 0.05, 0.025});
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(calls[3].first, 3);
  EXPECT_DOUBLE_EQ(calls[3].second, 0.05);

  auto negative = learning_rate_scheduler([](int, double) { return -1.0; });
  const std::string msg = error_of<InvalidArgument>([&] { negative->on_epoch_begin(state_, 2); });
  EXPECT_NE(msg.find("LearningRateScheduler: schedule(epoch 2, lr 0.025) returned -1"),
            std::string::npos)
      << msg;
  auto nan = learning_rate_scheduler([](int, double) { return kNaN; });
  EXPECT_THROW(nan->on_epoch_begin(state_, 0), InvalidArgument);
  EXPECT_DOUBLE_EQ(optimizer_->learning_rate(), 0.025);  // unchanged by the failures
  EXPECT_THROW(learning_rate_scheduler(nullptr), InvalidArgument);
}

}  // namespace
}  // namespace recur
