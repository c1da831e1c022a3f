// Resumable training checkpoints: see backup_and_restore() in train/callbacks.hpp.
#pragma once

#include <string>

namespace recur {

// The file backup_and_restore(dir) keeps: <dir>/checkpoint.safetensors.
std::string checkpoint_file(const std::string& dir);

}  // namespace recur
