// Model architecture JSON in the shape of Keras model.to_json() (DESIGN.md §3) <-> layers.
// A missing key takes the tf.keras 2.x / Keras 3 default; a key that changes the computation
// and is not supported is rejected naming the layer and key; harmless keys (trainable, dtype,
// null regularizers and constraints, unroll, implementation...) are accepted.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "recur/layers/layer.hpp"
#include "recur/model/sequential.hpp"

namespace recur::io {

// One layer from {"class_name": ..., "config": {...}}; `where` prefixes error messages.
std::unique_ptr<Layer> layer_from_keras(const nlohmann::json& layer, const std::string& where);

// Called with the model's layers, in file order, once they are built (every parameter's name and
// shape declared) and before any parameter memory is allocated. model_from_file checks the file's
// tensors there, so that an architecture claiming huge layers is rejected before its parameters
// are allocated (a 1 KB file could otherwise ask for gigabytes).
using BeforeAllocate = std::function<void(const std::vector<Layer*>& layers)>;

// A built Sequential (parameters allocated, zero-initialized) from the model JSON.
Sequential sequential_from_keras(const nlohmann::json& model, const std::string& where,
                                 const BeforeAllocate& before_allocate = {});

}  // namespace recur::io
