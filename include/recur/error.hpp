// Typed errors. Who is at fault decides the type:
//   InvalidArgument, ShapeError, ConfigError, IoError, FormatError -> the caller's input is wrong;
//   InternalError -> recur has a bug.
// Messages name the thing, the place and both values (got X, expected Y).
// Only src/cli/main.cpp turns errors into exit codes.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace recur {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class InvalidArgument : public Error {
 public:
  using Error::Error;
};
class ShapeError : public Error {
 public:
  using Error::Error;
};
class ConfigError : public Error {
 public:
  using Error::Error;
};
class IoError : public Error {
 public:
  using Error::Error;
};
class FormatError : public Error {
 public:
  using Error::Error;
};
class InternalError : public Error {
 public:
  using Error::Error;
};

namespace detail {
template <typename... Args>
std::string concat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}
}  // namespace detail

// Throws E with the pieces streamed together: fail<ShapeError>("got ", a, ", expected ", b).
template <typename E, typename... Args>
[[noreturn]] void fail(Args&&... args) {
  throw E(detail::concat(std::forward<Args>(args)...));
}

}  // namespace recur

// Internal invariants only (never user input): always on, cheap, throws InternalError.
#define RECUR_DCHECK(cond)                                                              \
  do {                                                                                  \
    if (!(cond))                                                                        \
      ::recur::fail<::recur::InternalError>("internal check failed: ", #cond, " at ", \
                                            __FILE__, ":", __LINE__);                   \
  } while (0)
