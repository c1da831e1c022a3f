// What a forward/backward call needs besides its tensors.
#pragma once

#include "recur/rng.hpp"

namespace recur {

struct Context {
  bool training = false;  // dropout and recurrent_dropout are active only when true
  Rng* rng = nullptr;     // dropout masks; required when training with dropout > 0
  // Whether the caller needs dL/dx from backward(). When false, a layer may skip that work and
  // return an empty tensor (recurrent layers skip their dx GEMM, about a tenth of a training
  // step). Sequential training sets it false for its first layer with weights.
  bool input_grad = true;
};

}  // namespace recur
