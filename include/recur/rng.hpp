// Reproducible random numbers: one seed, independent streams (initializers, shuffling, dropout).
// xoshiro256** seeded through splitmix64 from (seed, stream); uniform and normal draws are
// computed here from the raw bits, so results do not depend on the standard library.
#pragma once

#include <array>
#include <cstdint>

namespace recur {

class Rng {
 public:
  enum Stream : uint64_t { kInit = 1, kShuffle = 2, kDropout = 3, kSample = 4 };

  explicit Rng(uint64_t seed = 0, uint64_t stream = kInit);

  uint64_t next_u64();
  float uniform();                       // [0, 1)
  float uniform(float lo, float hi);     // [lo, hi)
  double normal();                       // standard normal (Box-Muller)
  uint64_t below(uint64_t n);            // uniform integer in [0, n), n > 0

  std::array<uint64_t, 4> state() const { return s_; }
  void set_state(const std::array<uint64_t, 4>& s) { s_ = s; }

 private:
  std::array<uint64_t, 4> s_{};
};

}  // namespace recur
