// Reading the .npy arrays commands take: model inputs (float features or integer token ids)
// and training targets.
#pragma once

#include <string>

#include "recur/model/model.hpp"
#include "recur/tensor.hpp"

namespace recur::cli {

// Input i of `model` from `path`: float32/float64 [N, T, F], or int32/int64 ids [N, T] when the
// model takes token ids (ids must lie in [0, 2^24): they travel as float32 inside).
Tensor read_model_input(const std::string& path, const Model& model, std::size_t i = 0);
// Targets: float32/float64 values, or int32/int64 class ids (converted exactly below 2^24).
Tensor read_targets(const std::string& path);

}  // namespace recur::cli
