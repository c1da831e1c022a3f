// What a forward/backward call needs besides its tensors.
#pragma once

#include "recur/rng.hpp"

namespace recur {

struct Context {
  bool training = false;  // dropout and recurrent_dropout are active only when true
  Rng* rng = nullptr;     // dropout masks; required when training with dropout > 0
};

}  // namespace recur
