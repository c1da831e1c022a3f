// Resumable checkpoints (BackupAndRestore) and the fit loop's position they record.
//
// A checkpoint is a model file (DESIGN.md §3) plus: "recur.training" metadata (epoch, step,
// optimizer config and scalars, RNG states, running loss, history so far, a fingerprint of the
// training data) and tensors "optimizer/<variable>/<slot>" and, mid-epoch, "training/order" (I64,
// this epoch's row order). Written atomically, so a kill at any moment leaves the previous
// checkpoint or the new one, never a torn file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "recur/model/model.hpp"
#include "recur/train/callbacks.hpp"
#include "recur/train/fit.hpp"
#include "recur/train/metrics.hpp"
#include "train/trainer.hpp"

namespace recur {

// Where fit() is: what a checkpoint must hold besides weights and optimizer state.
struct LoopState {
  int epoch = 0;               // the epoch running (or next to run when step == 0)
  int64_t step = 0;            // batches already applied in `epoch`
  std::vector<int64_t> order;  // this epoch's order of the training rows
  MeanTracker loss;            // this epoch's running loss
  History history;
};

// What identifies the training data (a resumed run must see the same rows).
struct DataFingerprint {
  int64_t n_train = 0;
  uint64_t hash = 0;  // FNV-1a over the training arrays' bytes and shapes
};

class BackupAndRestore : public Callback {
 public:
  BackupAndRestore(std::string dir, int64_t save_freq, bool delete_checkpoint);
  const std::string& dir() const { return dir_; }
  std::string path() const;
  int64_t save_freq() const { return save_freq_; }

  // Loads the checkpoint if one exists: weights, optimizer state, RNG states and loop
  // position. Returns false when there is none. FormatError/ConfigError when it does not fit
  // this model, optimizer or data.
  bool restore(Model& model, Trainer& trainer, LoopState& loop, const DataFingerprint& data);
  void save(const Model& model, Trainer& trainer, const LoopState& loop,
            const DataFingerprint& data);
  // fit() completed: remove the checkpoint unless asked to keep it.
  void finished();

 private:
  std::string dir_;
  int64_t save_freq_;
  bool delete_checkpoint_;
};

}  // namespace recur
