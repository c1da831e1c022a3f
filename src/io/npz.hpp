// NumPy .npz archives: a zip of .npy members (numpy.savez). Members must be stored
// (uncompressed); numpy.savez_compressed's deflated members are rejected with a message that says
// so. Zip64 records (numpy writes them) are understood; CRC-32 is checked.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "io/npy.hpp"

namespace recur::io {

struct NpzMember {
  std::string name;  // without ".npy", e.g. "x" (numpy.savez(x=...)) or "arr_0"
  NpyArray array;
};

// Reads every member in archive order. FormatError / IoError messages start with the path and
// name the member.
std::vector<NpzMember> read_npz(const std::string& path);
std::vector<NpzMember> parse_npz(std::span<const std::uint8_t> bytes, const std::string& what);
// The member called `name`; FormatError listing the members when there is none.
const NpyArray& npz_member(const std::vector<NpzMember>& members, const std::string& name,
                           const std::string& what);

// Writes a stored (uncompressed) zip atomically; numpy.load reads it. Names must be unique,
// non-empty and free of '/' and '\\'.
void write_npz(const std::string& path, const std::vector<NpzMember>& members);
std::vector<std::uint8_t> encode_npz(const std::vector<NpzMember>& members,
                                     const std::string& what);

// The .npy file bytes of one array (format 1.0, or 2.0 when the header needs it).
std::vector<std::uint8_t> encode_npy(const NpyArray& a, const std::string& what);

// CRC-32 (zip, IEEE 802.3 polynomial).
std::uint32_t crc32(std::span<const std::uint8_t> bytes);

}  // namespace recur::io
