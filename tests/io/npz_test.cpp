// Tests for .npz archives: files written by numpy.savez are read (zip64 extra fields included),
// recur's archives round-trip, and damaged or compressed archives raise a clear FormatError.
#include "io/npz.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "recur/error.hpp"
#include "support/errors.hpp"

namespace recur::io {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes from_hex(const std::string& hex) {
  Bytes b;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    b.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return b;
}

using recur::testing::error_of;

// numpy 1.24: np.savez(f, x=np.arange(6, dtype=np.float32).reshape(2, 3),
//                         ids=np.array([1, 2, 3], dtype=np.int64))
const char* const kNumpyNpz =
    "504b0304140000000000000021004fe9002a980000009800000005001400782e6e707901001000980000000000000098"
    "00000000000000934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572"
    "273a2046616c73652c20277368617065273a2028322c2033292c207d2020202020202020202020202020202020202020"
    "20202020202020202020202020202020202020202020202020202020202020202020202020200a000000000000803f00"
    "00004000004040000080400000a040504b030414000000000000002100bc91558e980000009800000007001400696473"
    "2e6e70790100100098000000000000009800000000000000934e554d5059010076007b276465736372273a20273c6938"
    "272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028332c292c207d2020202020"
    "202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020"
    "202020202020200a010000000000000002000000000000000300000000000000504b0102140314000000000000002100"
    "4fe9002a9800000098000000050000000000000000000000800100000000782e6e7079504b0102140314000000000000"
    "002100bc91558e98000000980000000700000000000000000000008001cf0000006964732e6e7079504b050600000000"
    "0200020068000000a00100000000";

// np.savez_compressed(f, a=np.zeros(3, dtype=np.float32))
const char* const kCompressedNpz =
    "504b030414000000080000002100a9f69b18470000008c00000005001400612e6e7079010010008c0000000000000047"
    "000000000000009bec17ea1b10c9c850c650ad9e925a9c5ca46ea5a06e9366a2aea3a09e965f54529498179f5f94920a"
    "12774bcc294e058a17672416a402f91ac63a9a3a0ab50a14002e06240000504b0102140314000000080000002100a9f6"
    "9b18470000008c000000050000000000000000000000800100000000612e6e7079504b05060000000001000100330000"
    "007e0000000000";

TEST(Npz, ReadsNumpySavez) {
  const Bytes b = from_hex(kNumpyNpz);
  const auto members = parse_npz(b, "np.npz");
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0].name, "x");
  EXPECT_EQ(members[1].name, "ids");
  const NpyArray& x = npz_member(members, "x", "np.npz");
  EXPECT_EQ(x.dtype, DType::F32);
  EXPECT_EQ(x.shape, (Shape{2, 3}));
  float v[6];
  std::memcpy(v, x.bytes.data(), sizeof v);
  EXPECT_EQ(v[5], 5.0f);
  const NpyArray& ids = npz_member(members, "ids", "np.npz");
  EXPECT_EQ(ids.dtype, DType::I64);
  EXPECT_EQ(ids.shape, (Shape{3}));
  EXPECT_EQ(error_of<FormatError>([&] { npz_member(members, "y", "np.npz"); }),
            "np.npz: no member 'y'; members are x, ids");
}

TEST(Npz, RoundTripAndNpyBytesMatchNumpy) {
  const auto members = parse_npz(from_hex(kNumpyNpz), "np.npz");
  // The .npy bytes recur writes for the same arrays equal numpy's.
  const Bytes numpy = from_hex(kNumpyNpz);
  const Bytes x_npy = encode_npy(members[0].array, "x");
  ASSERT_EQ(x_npy.size(), 0x98u);
  EXPECT_TRUE(std::equal(x_npy.begin(), x_npy.end(), numpy.begin() + 30 + 5 + 20));
  const Bytes z = encode_npz(members, "out.npz");
  const auto back = parse_npz(z, "out.npz");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].name, "ids");
  EXPECT_EQ(back[1].array.bytes, members[1].array.bytes);
  EXPECT_EQ(back[0].array.shape, (Shape{2, 3}));
  EXPECT_EQ(encode_npz({}, "e.npz").size(), 22u);  // an empty archive is just the end record
  EXPECT_TRUE(parse_npz(Bytes(encode_npz({{"a", members[0].array}}, "a")), "a").size() == 1);
}

TEST(Npz, Crc32) {
  const std::string s = "123456789";
  EXPECT_EQ(crc32({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}), 0xCBF43926u);
}

TEST(Npz, Errors) {
  EXPECT_EQ(error_of<FormatError>([] { parse_npz(from_hex(kCompressedNpz), "c.npz"); }),
            "c.npz, member 'a.npy': compressed (deflate); recur reads uncompressed .npz files "
            "only: save with numpy.savez, not numpy.savez_compressed");
  Bytes damaged = from_hex(kNumpyNpz);
  damaged[200] ^= 0x01;  // inside x's data
  EXPECT_EQ(error_of<FormatError>([&] { parse_npz(damaged, "d.npz"); }),
            "d.npz, member 'x.npy': CRC-32 mismatch (the file is damaged)");
  Bytes truncated = from_hex(kNumpyNpz);
  truncated.resize(truncated.size() - 10);
  EXPECT_EQ(error_of<FormatError>([&] { parse_npz(truncated, "t.npz"); }),
            "t.npz: truncated or not a zip file (no end-of-archive record)");
  EXPECT_EQ(error_of<FormatError>([] { parse_npz(Bytes(30, 0), "z.npz"); }),
            "z.npz: not an .npz file (no zip header)");
  NpyArray a{DType::F32, {1}, Bytes(4, 0)};
  EXPECT_EQ(error_of<InvalidArgument>([&] { encode_npz({{"a", a}, {"a", a}}, "w.npz"); }),
            "w.npz: member name 'a' is used twice");
  EXPECT_THROW(encode_npz({{"a/b", a}}, "w.npz"), InvalidArgument);
  EXPECT_THROW(read_npz("/nonexistent/x.npz"), IoError);
}

}  // namespace
}  // namespace recur::io
