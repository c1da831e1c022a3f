// Callbacks: hooks into Model::fit (Keras names and semantics).
//
// Logs map metric names to values: "loss", each metric, "val_loss", "val_<metric>" and "lr"
// at epoch end; "loss" and the metrics (running means so far) at batch end.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "recur/model/model.hpp"
#include "recur/tensor.hpp"

namespace recur {

using Logs = std::map<std::string, double>;

// What callbacks may read and change during fit.
struct FitState {
  Model* model = nullptr;
  Optimizer* optimizer = nullptr;
  int epochs = 0;                 // the epoch count asked for (exclusive end, 0-based)
  int64_t steps_per_epoch = 0;
  bool stop_training = false;     // set to end fit after the current batch / epoch
  bool stopped_on_nan = false;
  int verbose = 0;
  std::ostream* out = nullptr;    // for callbacks' messages when verbose
};

class Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_train_begin(FitState&) {}
  virtual void on_epoch_begin(FitState&, int /*epoch*/) {}
  virtual void on_batch_end(FitState&, int64_t /*step*/, const Logs&) {}
  // `logs` may be extended (e.g. "lr").
  virtual void on_epoch_end(FitState&, int /*epoch*/, Logs&) {}
  virtual void on_train_end(FitState&) {}
};

// "min" for losses/errors, "max" for accuracy ("auto" decides from the monitored name, as Keras).
enum class MonitorMode { automatic, min, max };

struct EarlyStoppingOptions {
  std::string monitor = "val_loss";
  double min_delta = 0.0;
  int patience = 0;
  MonitorMode mode = MonitorMode::automatic;
  std::optional<double> baseline{};  // {}: designated initializers may omit it (-Wextra)
  bool restore_best_weights = false;
  int start_from_epoch = 0;
};
// Keras 3: restore_best_weights puts the best epoch's weights back at train end, whether or not
// training stopped early.
std::shared_ptr<Callback> early_stopping(EarlyStoppingOptions options = {});

struct ModelCheckpointOptions {
  std::string filepath;            // may contain {epoch}, {epoch:02d}, {loss:.4f}, {val_loss:.2f}...
  std::string monitor = "val_loss";
  bool save_best_only = false;
  MonitorMode mode = MonitorMode::automatic;
};
// Saves the model file (binding format, atomic) at each epoch end (or when improved).
std::shared_ptr<Callback> model_checkpoint(ModelCheckpointOptions options);

// One row per epoch: "epoch" then the log keys in sorted order (Keras CSVLogger); append = false
// rewrites the file. Rows are flushed as they are written.
std::shared_ptr<Callback> csv_logger(std::string filename, char separator = ',',
                                     bool append = false);

// Stops training when a batch loss is NaN or Inf (History::stopped_on_nan).
std::shared_ptr<Callback> terminate_on_nan();

struct ReduceLROnPlateauOptions {
  std::string monitor = "val_loss";
  double factor = 0.1;
  int patience = 10;
  MonitorMode mode = MonitorMode::automatic;
  double min_delta = 1e-4;
  int cooldown = 0;
  double min_lr = 0.0;
};
std::shared_ptr<Callback> reduce_lr_on_plateau(ReduceLROnPlateauOptions options = {});

// schedule(epoch, current lr) -> new lr, applied at each epoch start.
std::shared_ptr<Callback> learning_rate_scheduler(std::function<double(int, double)> schedule);

// Keras BackupAndRestore: a resumable checkpoint in `backup_dir` (train/checkpoint.hpp) written
// at each epoch end (and every `save_freq` batches when > 0); a fit started with it resumes
// from the checkpoint it finds, bit-identically; the directory is cleared when fit completes
// unless delete_checkpoint is false.
std::shared_ptr<Callback> backup_and_restore(std::string backup_dir, int64_t save_freq = 0,
                                             bool delete_checkpoint = true);

}  // namespace recur
