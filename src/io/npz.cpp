// .npz = zip of .npy members. Reader: end-of-central-directory record (and its zip64 form), the
// central directory (zip64 extra fields for sizes/offsets), each member's local header, CRC-32.
// Writer: stored members (encode_npy, io/npy.hpp), classic zip records, fixed timestamps
// (reproducible bytes).
#include "io/npz.hpp"

#include <array>
#include <limits>
#include <optional>
#include <set>

#include "io/atomic_file.hpp"
#include "recur/error.hpp"

namespace recur::io {

namespace {

constexpr std::uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50,
                        kZip64EndSig = 0x06064b50, kZip64LocatorSig = 0x07064b50;
constexpr std::size_t kMaxMembers = 100000;

std::uint64_t le(std::span<const std::uint8_t> b, std::size_t pos, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(b[pos + i]) << (8 * i);
  return v;
}

void put(std::vector<std::uint8_t>& out, std::uint64_t v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

const std::array<std::uint32_t, 256>& crc_table() {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

}  // namespace

std::uint32_t crc32(std::span<const std::uint8_t> bytes) {
  const auto& t = crc_table();
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::uint8_t b : bytes) c = t[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::vector<NpzMember> parse_npz(std::span<const std::uint8_t> b, const std::string& what) {
  const std::size_t n = b.size();
  if (n < 22 || le(b, 0, 4) != kLocalSig) {
    if (n >= 6 && b[0] == 0x93 && b[1] == 'N')
      fail<FormatError>(what, ": this is a .npy file, not an .npz archive");
    fail<FormatError>(what, ": not an .npz file (no zip header)");
  }
  // The end-of-central-directory record: the last signature within 22 + 65535 bytes of the end.
  std::optional<std::size_t> eocd;
  const std::size_t lowest = n > 22 + 65535 ? n - 22 - 65535 : 0;
  for (std::size_t p = n - 22 + 1; p-- > lowest;) {
    if (le(b, p, 4) == kEndSig && p + 22 + le(b, p + 20, 2) == n) {
      eocd = p;
      break;
    }
  }
  if (!eocd) fail<FormatError>(what, ": truncated or not a zip file (no end-of-archive record)");
  std::uint64_t count = le(b, *eocd + 10, 2), cd_size = le(b, *eocd + 12, 4),
                cd_offset = le(b, *eocd + 16, 4);
  if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    if (*eocd < 20 || le(b, *eocd - 20, 4) != kZip64LocatorSig)
      fail<FormatError>(what, ": zip64 archive without its zip64 locator");
    const std::uint64_t z = le(b, *eocd - 20 + 8, 8);
    if (n < 56 || z > n - 56 || le(b, z, 4) != kZip64EndSig)
      fail<FormatError>(what, ": the zip64 end record is missing or out of bounds");
    count = le(b, z + 32, 8);
    cd_size = le(b, z + 40, 8);
    cd_offset = le(b, z + 48, 8);
  }
  if (count > kMaxMembers) fail<FormatError>(what, ": ", count, " members is too many");
  if (cd_offset > n || cd_size > n - cd_offset)
    fail<FormatError>(what, ": the central directory lies outside the file");

  std::vector<NpzMember> members;
  std::set<std::string> names;
  std::size_t p = cd_offset;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (p + 46 > cd_offset + cd_size || le(b, p, 4) != kCentralSig)
      fail<FormatError>(what, ": central directory entry ", i + 1, " is damaged");
    const std::uint64_t flags = le(b, p + 8, 2), method = le(b, p + 10, 2);
    const std::uint32_t crc = static_cast<std::uint32_t>(le(b, p + 16, 4));
    std::uint64_t csize = le(b, p + 20, 4), usize = le(b, p + 24, 4);
    const std::size_t name_len = le(b, p + 28, 2), extra_len = le(b, p + 30, 2),
                      comment_len = le(b, p + 32, 2);
    std::uint64_t offset = le(b, p + 42, 4);
    const std::size_t end = p + 46 + name_len + extra_len + comment_len;
    if (end > cd_offset + cd_size)
      fail<FormatError>(what, ": central directory entry ", i + 1, " runs past its end");
    std::string name(reinterpret_cast<const char*>(b.data() + p + 46), name_len);
    // Zip64 extra field: the 8-byte values present are those whose 4-byte field is 0xFFFFFFFF,
    // in the order usize, csize, offset.
    for (std::size_t e = p + 46 + name_len; e + 4 <= p + 46 + name_len + extra_len;) {
      const std::uint64_t id = le(b, e, 2), len = le(b, e + 2, 2);
      if (e + 4 + len > p + 46 + name_len + extra_len) break;
      if (id == 0x0001) {
        std::size_t q = e + 4;
        auto take = [&](std::uint64_t& v) {
          if (v != 0xFFFFFFFF) return;
          if (q + 8 > e + 4 + len)
            fail<FormatError>(what, ": member '", detail::printable(name), "': bad zip64 field");
          v = le(b, q, 8);
          q += 8;
        };
        take(usize);
        take(csize);
        take(offset);
      }
      e += 4 + len;
    }
    p = end;
    const std::string label = what + ", member '" + detail::printable(name) + "'";
    if (flags & 1) fail<FormatError>(label, ": encrypted members are not supported");
    if (method == 8)
      fail<FormatError>(label, ": compressed (deflate); recur reads uncompressed .npz files "
                        "only: save with numpy.savez, not numpy.savez_compressed");
    if (method != 0)
      fail<FormatError>(label, ": compression method ", method, " is not supported "
                        "(uncompressed .npz files only)");
    if (csize != usize)
      fail<FormatError>(label, ": stored member with different sizes (", csize, " vs ", usize, ")");
    if (offset > n || n - offset < 30 || le(b, offset, 4) != kLocalSig)
      fail<FormatError>(label, ": the local header is missing or out of bounds");
    const std::uint64_t data = offset + 30 + le(b, offset + 26, 2) + le(b, offset + 28, 2);
    if (data > n || usize > n - data) fail<FormatError>(label, ": the data runs past the end of the file");
    const auto bytes = b.subspan(data, usize);
    if (crc32(bytes) != crc) fail<FormatError>(label, ": CRC-32 mismatch (the file is damaged)");
    if (name.size() < 4 || name.substr(name.size() - 4) != ".npy")
      fail<FormatError>(label, ": not a .npy member");
    std::string key = name.substr(0, name.size() - 4);
    if (!names.insert(key).second) fail<FormatError>(label, ": appears twice");
    members.push_back({key, parse_npy(bytes, label)});
  }
  return members;
}

std::vector<NpzMember> read_npz(const std::string& path) {
  const std::vector<std::uint8_t> bytes = read_file(path);
  return parse_npz(bytes, path);
}

const NpyArray& npz_member(const std::vector<NpzMember>& members, const std::string& name,
                           const std::string& what) {
  std::string list;
  for (const auto& m : members) {
    if (m.name == name) return m.array;
    list += (list.empty() ? "" : ", ") + m.name;
  }
  fail<FormatError>(what, ": no member '", name, "'; members are ",
                    list.empty() ? std::string("(none)") : list);
}

std::vector<std::uint8_t> encode_npz(const std::vector<NpzMember>& members,
                                     const std::string& what) {
  std::set<std::string> names;
  std::vector<std::uint8_t> out, central;
  constexpr std::uint64_t kDosTime = 0, kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01
  for (const NpzMember& m : members) {
    if (m.name.empty() || m.name.find_first_of("/\\") != std::string::npos)
      fail<InvalidArgument>(what, ": member name '", detail::printable(m.name),
                            "' must be non-empty without '/' or '\\'");
    if (!names.insert(m.name).second)
      fail<InvalidArgument>(what, ": member name '", m.name, "' is used twice");
    const std::string name = m.name + ".npy";
    const std::vector<std::uint8_t> data = encode_npy(m.array, what + ", member '" + m.name + "'");
    if (data.size() >= 0xFFFFFFFFull || out.size() >= 0xFFFFFFFFull - data.size())
      fail<InvalidArgument>(what, ": the archive would exceed 4 GiB (zip64 writing is not supported)");
    const std::uint32_t crc = crc32(data);
    const std::uint64_t offset = out.size();
    put(out, kLocalSig, 4);
    put(out, 20, 2);  // version needed
    put(out, 0, 2);   // flags
    put(out, 0, 2);   // stored
    put(out, kDosTime, 2);
    put(out, kDosDate, 2);
    put(out, crc, 4);
    put(out, data.size(), 4);
    put(out, data.size(), 4);
    put(out, name.size(), 2);
    put(out, 0, 2);
    out.insert(out.end(), name.begin(), name.end());
    out.insert(out.end(), data.begin(), data.end());

    put(central, kCentralSig, 4);
    put(central, 20, 2);  // made by
    put(central, 20, 2);  // needed
    put(central, 0, 2);
    put(central, 0, 2);
    put(central, kDosTime, 2);
    put(central, kDosDate, 2);
    put(central, crc, 4);
    put(central, data.size(), 4);
    put(central, data.size(), 4);
    put(central, name.size(), 2);
    put(central, 0, 2);  // extra
    put(central, 0, 2);  // comment
    put(central, 0, 2);  // disk
    put(central, 0, 2);  // internal attributes
    put(central, 0, 4);  // external attributes
    put(central, offset, 4);
    central.insert(central.end(), name.begin(), name.end());
  }
  if (members.size() > 0xFFFE) fail<InvalidArgument>(what, ": too many members for a zip file");
  const std::uint64_t cd_offset = out.size();
  out.insert(out.end(), central.begin(), central.end());
  put(out, kEndSig, 4);
  put(out, 0, 2);
  put(out, 0, 2);
  put(out, members.size(), 2);
  put(out, members.size(), 2);
  put(out, central.size(), 4);
  put(out, cd_offset, 4);
  put(out, 0, 2);
  return out;
}

void write_npz(const std::string& path, const std::vector<NpzMember>& members) {
  write_file_atomic(path, encode_npz(members, path));
}

}  // namespace recur::io
