// Model files: one safetensors file (DESIGN.md §3, binding). __metadata__ holds
// "recur.format" = "1" and "recur.model" = the Keras-shaped architecture JSON (Sequential or
// functional); tensors are F32, named <layer name>/<weight name>, in Keras layouts.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "recur/model/model.hpp"
#include "recur/model/sequential.hpp"

namespace recur {

// Writes atomically (<path>.tmp, fsync, rename). `metadata` adds entries such as
// "recur.preprocessing"; it may not override "recur.format" or "recur.model".
void save_model(const std::string& path, const Model& model,
                const std::map<std::string, std::string>& metadata = {});

// Validates the whole file (sizes, offsets, dtypes, shapes against the architecture) before
// using it. `metadata`, when given, receives the file's __metadata__.
std::unique_ptr<Model> load_model(const std::string& path,
                                  std::map<std::string, std::string>* metadata = nullptr);
// The same, for callers that need a Sequential (streaming): ConfigError for other models.
Sequential load_sequential(const std::string& path,
                           std::map<std::string, std::string>* metadata = nullptr);

}  // namespace recur
