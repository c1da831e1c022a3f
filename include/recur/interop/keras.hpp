// Keras models in their own files (docs/interop/keras-import.md): Keras 2 .h5 (full model with
// model_config, or architecture JSON + weights .h5), Keras 3 .keras archives, and the TensorFlow.js
// layers format (model.json + weight shards).
#pragma once

#include <memory>
#include <string>

#include "recur/model/model.hpp"

namespace recur {

// `path`: a .h5 / .keras file, a TF.js model.json, or a Keras architecture .json; `weights_path`
// names the weights .h5 when `path` holds only the architecture. Defaults and activations follow
// the file's Keras version. HDF5 external links and virtual datasets are refused.
std::unique_ptr<Model> import_keras(const std::string& path, const std::string& weights_path = "");

}  // namespace recur
