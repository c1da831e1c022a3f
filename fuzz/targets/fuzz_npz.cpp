// Target: a .npz archive in memory (parse_npz: zip records, zip64, CRC-32, .npy members). An
// accepted archive must survive encode_npz and a second parse unchanged.
#include <cstddef>
#include <cstdint>

#include "fuzz_common.hpp"
#include "io/npz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace recur;
  fuzz::accept_errors([&] {
    const std::vector<io::NpzMember> members = io::parse_npz(fuzz::bytes_of(data, size), "fuzz.npz");
    if (!members.empty()) (void)io::npz_member(members, members.front().name, "fuzz.npz");
    (void)io::npz_member(members, "no such member", "fuzz.npz");
  });
  fuzz::accept_errors([&] {
    const std::vector<io::NpzMember> a = io::parse_npz(fuzz::bytes_of(data, size), "fuzz.npz");
    const std::vector<std::uint8_t> again = io::encode_npz(a, "fuzz.npz");
    const std::vector<io::NpzMember> b = io::parse_npz(again, "fuzz.npz (re-encoded)");
    fuzz::check(a.size() == b.size(), "npz round trip changed the member count");
    for (std::size_t i = 0; i < a.size(); ++i)
      fuzz::check(a[i].name == b[i].name && a[i].array.dtype == b[i].array.dtype &&
                      a[i].array.shape == b[i].array.shape && a[i].array.bytes == b[i].array.bytes,
                  "npz round trip changed a member");
  });
  return 0;
}
