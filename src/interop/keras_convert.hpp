// Keras model configs (as Keras 2, Keras 3 and TF.js write them) -> recur's architecture JSON
// (DESIGN.md §3), with the defaults of the file's Keras version written out as explicit keys.
//
// Version rules (a key that is present always wins):
//   key absent                  recurrent_activation   GRU reset_after
//   Keras <= 2.2 (standalone)   hard_sigmoid           false
//   Keras 2.3 (standalone)      sigmoid                false
//   tf.keras "2.1.x-tf" or older hard_sigmoid          false
//   tf.keras "2.2.4-tf"         ambiguous (TF 1.x and TF 2.0/2.1 both wrote it): rejected
//   tf.keras >= 2.3 / Keras 2.4+ sigmoid               true
//   Keras 3                     sigmoid                true
//   TF.js (tfjs-layers)         hard_sigmoid           false
//   no version at all           Keras 3 when the config has Keras 3's "module" keys, else
//                               tf.keras 2.4+ (recur's own defaults)
// Keras 3's "hard_sigmoid" is clip(x/6 + 1/2, 0, 1): it becomes "hard_sigmoid_v3".
// Keras 3 shapes are normalized (dtype policies, "module"/"registered_name"/"build_config",
// Bidirectional's explicit backward_layer, null lora_rank / quantization_config); initializers
// recur cannot draw, and regularizers / constraints, are dropped with a note (they do not change
// what the imported model computes).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace recur::interop {

struct KerasDialect {
  enum class Kind { keras2, keras3, tfjs };
  Kind kind = Kind::keras2;
  std::string version;  // as written in the file ("2.11.0", "2.2.4-tf", "3.3.3",
                        // "tfjs-layers 4.22.0"); empty when the file has none
  int major = 0, minor = 0;
  bool tf_suffix = false;  // "-tf": tf.keras inside TensorFlow 1.x / 2.0-2.2
  bool known = false;      // major/minor parsed
};

// The dialect of a file: from its version string, or (when empty) from the config's shape.
// `tfjs`: the file is a TF.js model.json written by TF.js itself (keras_version "tfjs-layers").
KerasDialect keras_dialect(const std::string& version, const nlohmann::json& config,
                           const std::string& where);

struct ConvertedModel {
  nlohmann::json model;  // recur architecture JSON: {"class_name", "config"}
  bool sequential = true;
  // The Keras layers in file order as (name, Keras class name), InputLayers included.
  std::vector<std::pair<std::string, std::string>> keras_layers;
  std::vector<std::string> notes;  // what was dropped or assumed, one line each
};

// `where` prefixes error messages (e.g. "model.h5: model_config").
ConvertedModel convert_keras_model(const nlohmann::json& keras_model, const KerasDialect& dialect,
                                   const std::string& where);

}  // namespace recur::interop
