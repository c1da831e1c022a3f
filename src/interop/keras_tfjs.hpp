// The TensorFlow.js layers format: model.json {"modelTopology": <Keras config> or
// {"keras_version", "backend", "model_config": <Keras config>}, "weightsManifest": [{"paths":
// [shard files], "weights": [{"name", "shape", "dtype"}]}]} plus binary weight shards next to it.
//
// Shard paths must stay inside model.json's folder (no absolute paths, no "..", no URLs, no
// symbolic link leading out), and each group's shards must hold exactly the bytes its weights
// need (float32 only; quantized weights are refused).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "recur/tensor.hpp"

namespace recur::interop {

struct TfjsWeight {
  std::string name;         // e.g. "lstm/kernel", "bidirectional/forward_lstm/kernel"
  Shape shape;
  std::vector<float> data;  // C order, numel(shape) values
};

struct TfjsModel {
  nlohmann::json config;      // the Keras model config {"class_name", "config"}
  std::string keras_version;  // "tfjs-layers 4.22.0", or the Keras version for converted models
  std::vector<TfjsWeight> weights;
};

// Reads and checks model.json and its shards.
TfjsModel read_tfjs(const std::string& model_json);

}  // namespace recur::interop
