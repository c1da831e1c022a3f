// Activation functions by their Keras names.
#pragma once

#include <string>
#include <string_view>

namespace recur {

enum class Activation {
  linear,
  tanh,
  sigmoid,
  hard_sigmoid,     // clip(0.2 x + 0.5, 0, 1): Keras 2 and TF.js
  hard_sigmoid_v3,  // clip(x / 6 + 0.5, 0, 1): Keras 3's hard_sigmoid, renamed in recur files
  relu,
  softmax,          // over the last axis; Dense only
};

// Keras name -> Activation; `where` names the layer and key for the error message.
Activation parse_activation(std::string_view name, std::string_view where);
const char* activation_name(Activation a);

}  // namespace recur
