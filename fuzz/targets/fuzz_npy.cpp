// Target: a .npy file in memory (parse_npy). An accepted array must survive encode_npy and a
// second parse unchanged.
#include <cstddef>
#include <cstdint>

#include "fuzz_common.hpp"
#include "io/npy.hpp"
#include "io/npz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace recur;
  fuzz::accept_errors([&] {
    const io::NpyArray a = io::parse_npy(fuzz::bytes_of(data, size), "fuzz.npy");
    const std::vector<std::uint8_t> again = io::encode_npy(a, "fuzz.npy");
    const io::NpyArray b = io::parse_npy(again, "fuzz.npy (re-encoded)");
    fuzz::check(a.dtype == b.dtype && a.shape == b.shape && a.bytes == b.bytes,
                "npy round trip changed the array");
  });
  return 0;
}
