// Model files: one safetensors file (DESIGN.md §3, binding). __metadata__ holds
// "recur.format" = "1" and "recur.model" = the Keras-shaped architecture JSON; tensors are F32,
// named <layer name>/<weight name>, in Keras layouts.
#pragma once

#include <map>
#include <string>

#include "recur/model/sequential.hpp"

namespace recur {

// Writes atomically (<path>.tmp, fsync, rename). `metadata` adds entries such as
// "recur.preprocessing"; it may not override "recur.format" or "recur.model".
void save_model(const std::string& path, Sequential& model,
                const std::map<std::string, std::string>& metadata = {});

// Validates the whole file (sizes, offsets, dtypes, shapes against the architecture) before
// using it. `metadata`, when given, receives the file's __metadata__.
Sequential load_model(const std::string& path,
                      std::map<std::string, std::string>* metadata = nullptr);

}  // namespace recur
