// Pieces of the model-file reader and writer that checkpoints reuse.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "io/safetensors.hpp"
#include "recur/model/model.hpp"

namespace recur {

// Every parameter as (file name "<layer>/<weight>", F32 tensor), in file order.
std::vector<std::pair<std::string, io::RawTensor>> model_tensors(const Model& model);
// Builds the model from a read file's metadata and fills its weights, validating everything.
// `allow_extra`: tensors named "optimizer/..." or "training/..." (a checkpoint's optimizer state
// and data order) are left alone instead of being an error.
std::unique_ptr<Model> model_from_file(const io::SafetensorsFile& file, const std::string& path,
                                       bool allow_extra);

}  // namespace recur
