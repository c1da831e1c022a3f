// .npy reader (with its own parser for the header's Python dict literal) and atomic writer.
#include "io/npy.hpp"

#include <cstring>
#include <limits>
#include <optional>
#include <string_view>

#include "io/atomic_file.hpp"
#include "recur/error.hpp"

namespace recur::io {

namespace {

constexpr std::uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr std::size_t kMaxRank = 64;  // numpy 2's limit
constexpr std::size_t kAlign = 64;    // numpy pads the header so data starts on 64 bytes
constexpr const char* kSupported = "'<f4', '<f8', '<i4', '<i8', '|u1'";

std::optional<DType> dtype_from_descr(std::string_view d) {
  if (d == "<f4") return DType::F32;
  if (d == "<f8") return DType::F64;
  if (d == "<i4") return DType::I32;
  if (d == "<i8") return DType::I64;
  if (d == "|u1") return DType::U8;
  return std::nullopt;
}

// A value of the header dict.
struct PyValue {
  enum Kind { kString, kBool, kTuple, kList } kind;
  std::string text;   // kString
  bool flag = false;  // kBool
  Shape items;        // kTuple
};

// Parser for the dict literal numpy writes, e.g.
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// Accepts any whitespace, single or double quotes, trailing commas and Python 2 'L' suffixes.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& what) : s_(text), what_(what) {}

  struct Dict {
    std::optional<PyValue> descr, fortran_order, shape;
  };

  Dict parse() {
    Dict dict;
    skip_ws();
    expect('{');
    for (;;) {
      skip_ws();
      if (peek() == '}') {
        ++pos_;
        break;
      }
      const std::string key = parse_string();
      skip_ws();
      expect(':');
      skip_ws();
      std::optional<PyValue>* slot = nullptr;
      if (key == "descr") {
        slot = &dict.descr;
      } else if (key == "fortran_order") {
        slot = &dict.fortran_order;
      } else if (key == "shape") {
        slot = &dict.shape;
      } else {
        error("has the unexpected key '" + detail::printable(key) + "'");
      }
      if (slot->has_value()) error("has the key '" + key + "' twice");
      *slot = parse_value();
      skip_ws();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != '}') {
        error("expects ',' or '}'");
      }
    }
    skip_ws();
    if (pos_ != s_.size()) error("has text after the closing '}'");
    return dict;
  }

 private:
  [[noreturn]] void error(const std::string& msg) const {
    fail<FormatError>(what_, ": .npy header ", msg, " (at offset ", pos_, " of \"",
                      detail::printable(s_, 300), "\")");
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  void expect(char c) {
    if (peek() != c || pos_ >= s_.size()) error(std::string("expects '") + c + "'");
    ++pos_;
  }
  std::string parse_string() {
    const char quote = peek();
    if (quote != '\'' && quote != '"') error("expects a quoted string");
    const std::size_t start = ++pos_;
    while (pos_ < s_.size() && s_[pos_] != quote) {
      if (s_[pos_] == '\\') error("has an escape sequence in a string (not supported)");
      if (s_[pos_] == '\n') error("has an unterminated string");
      ++pos_;
    }
    if (pos_ >= s_.size()) error("has an unterminated string");
    return std::string(s_.substr(start, pos_++ - start));
  }
  std::int64_t parse_int() {
    if (peek() == '-') error("has a negative extent in 'shape'");
    if (peek() < '0' || peek() > '9') error("expects a non-negative integer in 'shape'");
    std::int64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      const int digit = peek() - '0';
      if (v > (std::numeric_limits<std::int64_t>::max() - digit) / 10)
        error("has an extent in 'shape' that is too large");
      v = v * 10 + digit;
      ++pos_;
    }
    if (peek() == 'L' || peek() == 'l') ++pos_;  // Python 2 long
    return v;
  }
  PyValue parse_value() {
    PyValue v{PyValue::kString, {}, false, {}};
    const char c = peek();
    if (c == '\'' || c == '"') {
      v.text = parse_string();
    } else if (s_.substr(pos_, 4) == "True") {
      v.kind = PyValue::kBool;
      v.flag = true;
      pos_ += 4;
    } else if (s_.substr(pos_, 5) == "False") {
      v.kind = PyValue::kBool;
      pos_ += 5;
    } else if (c == '(') {
      // (), (5,), (2, 3), (2, 3,)   -- "(5)" is an int in Python, not a tuple.
      v.kind = PyValue::kTuple;
      ++pos_;
      skip_ws();
      bool saw_comma = false;
      while (peek() != ')') {
        if (v.items.size() >= kMaxRank) error("has a shape with more than 64 dimensions");
        v.items.push_back(parse_int());
        skip_ws();
        if (peek() == ',') {
          ++pos_;
          saw_comma = true;
          skip_ws();
        } else if (peek() != ')') {
          error("expects ',' or ')' in a tuple");
        }
      }
      ++pos_;
      if (v.items.size() == 1 && !saw_comma) error("has a shape like (5) that is not a tuple");
    } else if (c == '[') {
      v.kind = PyValue::kList;  // only structured dtypes use lists; rejected by the caller
      int depth = 0;
      do {
        if (peek() == '\0' && pos_ >= s_.size()) error("has an unterminated list");
        if (peek() == '[') ++depth;
        if (peek() == ']') --depth;
        ++pos_;
      } while (depth > 0);
    } else {
      error("has a value that is not a string, True, False or a tuple");
    }
    return v;
  }

  std::string_view s_;
  const std::string& what_;
  std::size_t pos_ = 0;
};

std::uint32_t load_le(const std::uint8_t* p, int n) {
  std::uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

const char* npy_descr(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return "<f4";
    case DType::F64:
      return "<f8";
    case DType::I32:
      return "<i4";
    case DType::I64:
      return "<i8";
    case DType::U8:
      return "|u1";
  }
  fail<InternalError>("npy_descr: invalid DType ", static_cast<int>(dtype));
}

NpyArray parse_npy(std::span<const std::uint8_t> bytes, const std::string& what) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0) {
    if (bytes.size() >= 6 && std::memcmp(bytes.data(), kMagic, 6) != 0)
      fail<FormatError>(what, ": not a .npy file (the magic string \\x93NUMPY is missing)");
    fail<FormatError>(what, ": file has ", bytes.size(),
                      " bytes, too short for a .npy file (at least 10 bytes of preamble)");
  }
  const int major = bytes[6];
  const int minor = bytes[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0)
    fail<FormatError>(what, ": unsupported .npy format version ", major, ".", minor,
                      " (supported: 1.0, 2.0, 3.0)");
  const std::size_t len_bytes = major == 1 ? 2 : 4;
  const std::size_t prefix = 8 + len_bytes;
  if (bytes.size() < prefix)
    fail<FormatError>(what, ": file has ", bytes.size(), " bytes, too short for a version ", major,
                      ".0 .npy preamble (", prefix, " bytes)");
  const std::uint64_t header_len = load_le(bytes.data() + 8, static_cast<int>(len_bytes));
  if (header_len > bytes.size() - prefix)
    fail<FormatError>(what, ": header length ", header_len, " extends past the end of the file (",
                      bytes.size(), " bytes)");
  const std::string_view header(reinterpret_cast<const char*>(bytes.data() + prefix),
                                static_cast<std::size_t>(header_len));
  const HeaderParser::Dict dict = HeaderParser(header, what).parse();
  if (!dict.descr) fail<FormatError>(what, ": .npy header has no 'descr'");
  if (!dict.fortran_order) fail<FormatError>(what, ": .npy header has no 'fortran_order'");
  if (!dict.shape) fail<FormatError>(what, ": .npy header has no 'shape'");

  if (dict.descr->kind == PyValue::kList)
    fail<FormatError>(what,
                      ": structured arrays (record dtypes) are not supported; supported "
                      "dtypes: ",
                      kSupported);
  if (dict.descr->kind != PyValue::kString)
    fail<FormatError>(what, ": .npy header 'descr' must be a string");
  const std::string& descr = dict.descr->text;
  const std::optional<DType> dtype = dtype_from_descr(descr);
  if (!dtype) {
    const std::string d = detail::printable(descr, 40);
    std::string little = descr;
    if (!little.empty()) little[0] = '<';
    if (!descr.empty() && descr[0] == '>' && dtype_from_descr(little))
      fail<FormatError>(what, ": big-endian data ('", d,
                        "') is not supported; save it little-endian, e.g. a.astype('<", d.substr(1),
                        "')");
    if (descr == "|b1")
      fail<FormatError>(what, ": dtype '|b1' (bool) is not supported; supported: ", kSupported);
    fail<FormatError>(what, ": dtype '", d, "' is not supported; supported: ", kSupported);
  }
  if (dict.fortran_order->kind != PyValue::kBool)
    fail<FormatError>(what, ": .npy header 'fortran_order' must be True or False");
  if (dict.fortran_order->flag)
    fail<FormatError>(what,
                      ": Fortran-order (column-major) arrays are not supported; save "
                      "np.ascontiguousarray(a) instead");
  if (dict.shape->kind != PyValue::kTuple)
    fail<FormatError>(what, ": .npy header 'shape' must be a tuple");
  const Shape& shape = dict.shape->items;
  const std::optional<std::uint64_t> nbytes = detail::checked_nbytes(shape, dtype_size(*dtype));
  if (!nbytes) fail<FormatError>(what, ": shape ", shape_str(shape), " has too many elements");

  const std::size_t data_start = prefix + static_cast<std::size_t>(header_len);
  const std::uint64_t have = bytes.size() - data_start;
  if (have != *nbytes)
    fail<FormatError>(what, ": data has ", have, " bytes, but dtype '", descr, "' shape ",
                      shape_str(shape), " needs ", *nbytes, " bytes");
  NpyArray out{*dtype, shape, std::vector<std::uint8_t>(bytes.begin() + data_start, bytes.end())};
  return out;
}

NpyArray read_npy(const std::string& path) {
  const std::vector<std::uint8_t> bytes = read_file(path);
  return parse_npy(bytes, path);
}

std::vector<std::uint8_t> encode_npy(const NpyArray& a, const std::string& what) {
  if (a.shape.size() > kMaxRank)
    fail<FormatError>(what, ": rank ", a.shape.size(), " exceeds the .npy limit of ", kMaxRank);
  const std::optional<std::uint64_t> nbytes = detail::checked_nbytes(a.shape, dtype_size(a.dtype));
  if (!nbytes) fail<FormatError>(what, ": invalid shape ", shape_str(a.shape));
  if (a.bytes.size() != *nbytes)
    fail<FormatError>(what, ": ", a.bytes.size(), " bytes of data, but dtype ", dtype_name(a.dtype),
                      " shape ", shape_str(a.shape), " needs ", *nbytes);

  std::string header = "{'descr': '";
  header += npy_descr(a.dtype);
  header += "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < a.shape.size(); ++i) {
    if (i) header += ", ";
    header += std::to_string(a.shape[i]);
  }
  if (a.shape.size() == 1) header += ',';
  header += "), }";
  // Pad with spaces and end with '\n' so that the data starts on a 64-byte boundary.
  auto padded = [&](std::size_t prefix_len) {
    std::size_t total = prefix_len + header.size() + 1;
    total = (total + kAlign - 1) / kAlign * kAlign;
    return total - prefix_len;  // header length including padding and '\n'
  };
  // Version 1.0 stores the header length in 2 bytes; version 2.0 in 4.
  const std::size_t prefix = padded(10) <= 65535 ? 10 : 12;
  header.append(padded(prefix) - header.size() - 1, ' ');
  header += '\n';

  // [magic, version, header length (little-endian), header, data]
  const std::size_t hl = header.size();
  std::vector<std::uint8_t> out(prefix + hl + a.bytes.size());
  std::memcpy(out.data(), kMagic, 6);
  out[6] = prefix == 10 ? 1 : 2;
  out[7] = 0;
  for (std::size_t i = 0; i < prefix - 8; ++i) out[8 + i] = static_cast<std::uint8_t>(hl >> (8 * i));
  std::memcpy(out.data() + prefix, header.data(), hl);
  if (!a.bytes.empty()) std::memcpy(out.data() + prefix + hl, a.bytes.data(), a.bytes.size());
  return out;
}

void write_npy(const std::string& path, const NpyArray& a) {
  write_file_atomic(path, encode_npy(a, path));
}

void write_npy(const std::string& path, const Tensor& t) {
  RawTensor raw = raw_from_float(t);
  write_npy(path, NpyArray{raw.dtype, std::move(raw.shape), std::move(raw.bytes)});
}

}  // namespace recur::io
