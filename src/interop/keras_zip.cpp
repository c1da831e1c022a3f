// ZipReader on libzip (see keras_zip.hpp).
#include "interop/keras_zip.hpp"

#include <zip.h>

#include "recur/error.hpp"

namespace recur::interop {

namespace {

zip_t* as_zip(void* p) { return static_cast<zip_t*>(p); }

// Deflate's best case is about 1032:1; anything claiming more is not data that is there.
constexpr std::uint64_t kMaxRatio = 1100;
constexpr std::uint64_t kMaxEntries = 100'000;

}  // namespace

ZipReader::ZipReader(const std::string& path) : path_(path) {
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err);
  if (!z) {
    zip_error_t error;
    zip_error_init_with_code(&error, err);
    const std::string text = zip_error_strerror(&error);
    zip_error_fini(&error);
    fail<FormatError>(path, ": not a readable zip archive (", text, ")");
  }
  zip_ = z;
  const zip_int64_t n = zip_get_num_entries(z, 0);
  if (n < 0 || static_cast<std::uint64_t>(n) > kMaxEntries)
    fail<FormatError>(path, ": the archive lists ", n, " entries (at most ", kMaxEntries, ")");
}

ZipReader::~ZipReader() {
  if (zip_) zip_discard(as_zip(zip_));
}

bool ZipReader::has(const std::string& entry) const {
  return zip_name_locate(as_zip(zip_), entry.c_str(), 0) >= 0;
}

std::vector<std::string> ZipReader::names() const {
  std::vector<std::string> out;
  const zip_int64_t n = zip_get_num_entries(as_zip(zip_), 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    const char* name = zip_get_name(as_zip(zip_), static_cast<zip_uint64_t>(i), 0);
    if (name) out.emplace_back(name);
  }
  return out;
}

std::optional<std::vector<std::uint8_t>> ZipReader::read(const std::string& entry,
                                                         std::uint64_t max_bytes) const {
  zip_t* z = as_zip(zip_);
  const zip_int64_t index = zip_name_locate(z, entry.c_str(), 0);
  if (index < 0) return std::nullopt;
  const std::string where = path_ + ": entry '" + entry + "'";
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(z, static_cast<zip_uint64_t>(index), 0, &st) != 0)
    fail<FormatError>(where, ": cannot read its header (", zip_strerror(z), ")");
  const zip_uint64_t need = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD;
  if ((st.valid & need) != need) fail<FormatError>(where, ": its header lacks the sizes");
  if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
    fail<FormatError>(where, " is encrypted");
  if (st.size > max_bytes)
    fail<FormatError>(where, " is ", st.size, " bytes uncompressed (limit ", max_bytes, ")");
  if (st.comp_method == ZIP_CM_STORE && st.size != st.comp_size)
    fail<FormatError>(where, " is stored uncompressed but declares ", st.size,
                      " bytes of content in ", st.comp_size, " bytes");
  if (st.comp_method != ZIP_CM_STORE && st.size > kMaxRatio * st.comp_size + 4096)
    fail<FormatError>(where, " declares ", st.size, " bytes from only ", st.comp_size,
                      " compressed bytes");
  zip_file_t* f = zip_fopen_index(z, static_cast<zip_uint64_t>(index), 0);
  if (!f) fail<FormatError>(where, ": cannot be opened (", zip_strerror(z), ")");
  std::vector<std::uint8_t> out(static_cast<std::size_t>(st.size));
  std::uint64_t got = 0;
  while (got < st.size) {
    const zip_int64_t n = zip_fread(f, out.data() + got, st.size - got);
    if (n < 0) {
      const std::string text = zip_file_strerror(f);
      zip_fclose(f);
      fail<FormatError>(where, ": cannot be read (", text, ")");
    }
    if (n == 0) break;
    got += static_cast<std::uint64_t>(n);
  }
  std::uint8_t extra = 0;
  const zip_int64_t more = zip_fread(f, &extra, 1);
  const int closed = zip_fclose(f);  // also checks the CRC
  if (got != st.size || more != 0)
    fail<FormatError>(where, ": its content does not match its declared size of ", st.size,
                      " bytes");
  if (closed != 0) fail<FormatError>(where, ": is damaged (checksum or inflate error)");
  return out;
}

}  // namespace recur::interop
