// Keras functional model JSON ({"class_name": "Functional" | "Model", "config": {"name",
// "layers" with "inbound_nodes", "input_layers", "output_layers"}}) -> a built Functional model
// (parameters allocated, zero-initialized). Accepts the Keras 2 and Keras 3 inbound-node shapes.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "io/keras_config.hpp"
#include "recur/model/model.hpp"

namespace recur::io {

// `before_allocate`: as for sequential_from_keras (io/keras_config.hpp).
std::unique_ptr<Model> functional_from_keras(const nlohmann::json& model, const std::string& where,
                                             const BeforeAllocate& before_allocate = {});

}  // namespace recur::io
