// Reading single entries of a zip archive (Keras 3 .keras files) into memory, with each entry's
// declared sizes checked before anything is allocated: an entry may be at most `max_bytes`
// uncompressed, a stored entry must be exactly as large as its data, and a compressed one may not
// claim more than deflate can produce from its compressed bytes. Encrypted entries are refused.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace recur::interop {

class ZipReader {
 public:
  // Opens `path` (FormatError when it is not a readable zip archive).
  explicit ZipReader(const std::string& path);
  ~ZipReader();
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  bool has(const std::string& entry) const;
  // The uncompressed bytes of `entry`; nullopt when the archive has no such entry.
  std::optional<std::vector<std::uint8_t>> read(const std::string& entry,
                                                std::uint64_t max_bytes) const;
  // Entry names (for messages).
  std::vector<std::string> names() const;

 private:
  std::string path_;
  void* zip_ = nullptr;  // zip_t*
};

}  // namespace recur::interop
