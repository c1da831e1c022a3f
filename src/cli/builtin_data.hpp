// The data files shipped in data/ (the default data of the task commands when no FILE is given).
#pragma once

#include <string>

namespace recur::cli {

// Path of data/<name>: looked up in $RECUR_DATA_DIR, then <executable>/../share/recur/data and
// <executable>/data, then the source tree recur was built from. IoError naming the places when
// none has it.
std::string builtin_data_path(const std::string& name);

}  // namespace recur::cli
