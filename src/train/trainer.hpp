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
};

}  // namespace recur
