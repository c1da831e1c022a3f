// The compiled training state a Model carries after compile(): optimizer, one loss per output,
// metrics per output, and the random streams fit() draws from.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "recur/rng.hpp"
#include "recur/train/fit.hpp"
#include "recur/train/loss.hpp"
#include "recur/train/metrics.hpp"
#include "recur/train/optimizer.hpp"

namespace recur {

struct Trainer {
  CompileOptions options;
  std::unique_ptr<Optimizer> optimizer;
  std::vector<Loss> losses;                               // [output]
  std::vector<double> loss_weights;                       // [output]
  std::vector<std::vector<std::unique_ptr<Metric>>> metrics;  // [output][metric]
  Rng shuffle_rng{0, Rng::kShuffle};
  Rng dropout_rng{0, Rng::kDropout};
  // Checkpoint bookkeeping (train/checkpoint.cpp): the global batch (ranks × batch_size) and
  // rank count of this fit, written into checkpoints; the global batch a restored checkpoint
  // was written with (0: not recorded), so that a mid-epoch position survives a new rank count.
  int64_t global_batch = 0;
  int ranks = 1;
  int64_t resume_global_batch = 0;
};

}  // namespace recur
