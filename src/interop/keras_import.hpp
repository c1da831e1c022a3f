// The Keras importer with its details (for `recur import-keras --json`); the public entry point
// recur::import_keras (include/recur/interop/keras.hpp) returns only the model.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "recur/model/model.hpp"

namespace recur::interop {

struct KerasImport {
  std::unique_ptr<Model> model;
  std::string format;         // "h5" | "keras" | "tfjs" | "json+h5"
  std::string keras_version;  // as written in the file ("" when it has none)
  std::vector<std::string> notes;  // dropped keys and other remarks, one line each
};

// See recur::import_keras. `path`: .h5, .keras, TF.js model.json (or its folder), or an
// architecture .json with `weights_path`.
KerasImport import_keras_detailed(const std::string& path, const std::string& weights_path);

}  // namespace recur::interop
