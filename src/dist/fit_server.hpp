// Servant mode (dist.hpp: cli_init): rank 0's fit() ships the job to the other ranks, which
// rebuild the model, compile it the same way and run the same fit() on their share.
#pragma once

#include <vector>

#include "recur/model/model.hpp"
#include "recur/tensor.hpp"
#include "recur/train/fit.hpp"
#include "train/trainer.hpp"

namespace recur::dist {

// Rank 0: sends command "fit", then the model (architecture and weights), the compile options,
// the fit options (callbacks stay on rank 0) and every array to the servants.
void send_fit(const Model& model, const Trainer& trainer, const std::vector<Tensor>& x,
              const std::vector<Tensor>& y, const FitOptions& options);
// Servants: runs fit jobs until rank 0 sends "quit".
void serve();

}  // namespace recur::dist
