// Model architecture JSON in the shape of Keras model.to_json() (DESIGN.md §3) <-> layers.
// A missing key takes the tf.keras 2.x / Keras 3 default; a key that changes the computation
// and is not supported is rejected naming the layer and key; harmless keys (trainable, dtype,
// null regularizers and constraints, unroll, implementation...) are accepted.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "recur/layers/layer.hpp"
#include "recur/model/sequential.hpp"

namespace recur::io {

// One layer from {"class_name": ..., "config": {...}}; `where` prefixes error messages.
std::unique_ptr<Layer> layer_from_keras(const nlohmann::json& layer, const std::string& where);

// A built Sequential (parameters allocated, zero-initialized) from the model JSON.
Sequential sequential_from_keras(const nlohmann::json& model, const std::string& where);

}  // namespace recur::io
