// The Keras-style training API: options for Model::compile / fit / evaluate, and History.
//
//   model.compile(compile_options("adam", "mse", {"mae"}));
//   FitOptions fo;  fo.epochs = 10;  fo.validation_split = 0.2;
//   History h = model.fit(x, y, fo);           // x [N, T, F], y [N, U] (batch-first)
//   auto scores = model.evaluate(x_test, y_test, {});
//
// Batches: rows in a shuffled order per epoch (or consecutive rows with shuffle=false); the last
// partial batch is kept; a batch's gradient is the mean over its rows. validation_split takes
// the LAST rows before shuffling (Keras). Same seed + same thread count -> bit-identical weights.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "recur/tensor.hpp"
#include "recur/train/loss.hpp"
#include "recur/train/optimizer.hpp"

namespace recur {

class Callback;

struct CompileOptions {
  OptimizerOptions optimizer;
  std::vector<LossOptions> losses;    // one per output, or a single one for every output
  std::vector<double> loss_weights;   // empty: all 1 (total loss = Σ weight_i · loss_i)
  std::vector<std::string> metrics;   // computed on every output
};
// compile_options("adam", "sparse_categorical_crossentropy", {"accuracy"}).
CompileOptions compile_options(std::string_view optimizer, std::string_view loss,
                               std::vector<std::string> metrics = {});

struct FitOptions {
  int epochs = 1;
  int64_t batch_size = 32;
  double validation_split = 0.0;         // fraction of the last rows held out (before shuffling)
  std::vector<Tensor> validation_x;      // validation_data (takes precedence over the split)
  std::vector<Tensor> validation_y;
  bool shuffle = true;
  uint64_t seed = 0;                     // shuffling and dropout streams
  std::map<int64_t, double> class_weight;  // class id -> weight (single-output models)
  Tensor sample_weight;                  // [N] or empty
  int initial_epoch = 0;                 // epochs are numbered from 0 inside, printed from 1
  std::vector<std::shared_ptr<Callback>> callbacks;
  int verbose = 1;                       // 0 silent, 1 progress bar (plain lines off a TTY), 2 epoch lines
  std::ostream* out = nullptr;           // progress output (default std::cout)
};

struct EvaluateOptions {
  int64_t batch_size = 32;
  Tensor sample_weight;                  // [N] or empty
  int verbose = 0;
  std::ostream* out = nullptr;
};

struct History {
  std::vector<int> epoch;                                // 0-based epoch numbers run
  std::map<std::string, std::vector<double>> history;    // "loss", "mae", "val_loss", "lr", ...
  bool stopped_on_nan = false;                           // TerminateOnNaN ended the run
};

}  // namespace recur
