// Shared by the libFuzzer targets (fuzz/README.md): recur's documented errors are clean
// rejections; anything else (a crash, a sanitizer report, another exception escaping, a
// timeout, a huge allocation) is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>

#include "recur/error.hpp"

namespace recur::fuzz {

inline std::span<const std::uint8_t> bytes_of(const std::uint8_t* data, std::size_t size) {
  return {data, size};
}
inline std::string string_of(const std::uint8_t* data, std::size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// Runs fn; recur::Error (and its subclasses) is an accepted outcome, other exceptions escape
// and libFuzzer reports them as a crash ("deadly signal" after std::terminate).
template <typename Fn>
void accept_errors(Fn&& fn) {
  try {
    fn();
  } catch (const recur::Error&) {
  }
}

// A property that must hold for every accepted input (round trips); aborts with a message.
inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz check failed: %s\n", what);
    std::abort();
  }
}

}  // namespace recur::fuzz
