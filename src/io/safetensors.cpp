// safetensors reader (validates every header claim before using it) and atomic writer.
#include "io/safetensors.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "io/atomic_file.hpp"
#include "recur/error.hpp"

namespace recur::io {

static_assert(std::endian::native == std::endian::little,
              "the file readers assume a little-endian host");

namespace {

using nlohmann::json;

constexpr int kMaxJsonDepth = 16;  // a valid header nests 3 deep

std::optional<DType> dtype_from_name(const std::string& name) {
  if (name == "F32") return DType::F32;
  if (name == "F64") return DType::F64;
  if (name == "I32") return DType::I32;
  if (name == "I64") return DType::I64;
  if (name == "U8") return DType::U8;
  return std::nullopt;
}

std::uint64_t load_u64_le(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void store_u64_le(std::uint64_t v, std::uint8_t* p) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// 'name' for messages.
std::string q(std::string_view name) {
  std::string out(1, '\'');
  out += detail::printable(name);
  out += '\'';
  return out;
}

// nlohmann's message without its "[json.exception.<kind>.<id>] " prefix.
std::string json_message(const json::exception& e) {
  std::string msg = e.what();
  if (!msg.empty() && msg[0] == '[') {
    const std::size_t close = msg.find("] ");
    if (close != std::string::npos) msg.erase(0, close + 2);
  }
  return detail::printable(msg, 400);
}

// Builds the header DOM from SAX events, rejecting deep nesting, duplicate keys and too many
// entries while parsing, so that an adversarial header cannot make the DOM large. (nlohmann's
// parse callbacks would do, but they rescan the parent object after every child: quadratic.)
class HeaderBuilder {
 public:
  explicit HeaderBuilder(const std::string& what) : what_(what) {}

  bool null() { return add(json(nullptr)) != nullptr; }
  bool boolean(bool v) { return add(json(v)) != nullptr; }
  bool number_integer(json::number_integer_t v) { return add(json(v)) != nullptr; }
  bool number_unsigned(json::number_unsigned_t v) { return add(json(v)) != nullptr; }
  bool number_float(json::number_float_t v, const json::string_t&) {
    return add(json(v)) != nullptr;
  }
  bool string(json::string_t& v) { return add(json(std::move(v))) != nullptr; }
  bool binary(json::binary_t& v) { return add(json::binary(std::move(v))) != nullptr; }
  bool start_object(std::size_t) { return open(json::object()); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(json::string_t& k) {
    if (stack_.back()->contains(k))
      fail<FormatError>(what_, ": header has the key ", q(k), " twice in one object");
    if (stack_.size() == 1 && ++top_level_keys_ > kMaxSafetensorsTensors + 1)
      fail<FormatError>(what_, ": header lists more than ", kMaxSafetensorsTensors, " tensors");
    key_ = std::move(k);
    return true;
  }
  template <typename Exception>
  bool parse_error(std::size_t, const std::string&, const Exception& e) {
    fail<FormatError>(what_, ": header is not valid JSON: ", json_message(e));
  }

  json& root() { return root_; }

 private:
  json* add(json&& v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    json& slot = parent[key_];
    slot = std::move(v);
    return &slot;
  }
  bool open(json&& v) {
    if (stack_.size() >= kMaxJsonDepth)
      fail<FormatError>(what_, ": header JSON nests deeper than ", kMaxJsonDepth, " levels");
    stack_.push_back(add(std::move(v)));
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }

  const std::string& what_;
  json root_;
  std::vector<json*> stack_;  // open containers; a child never moves while it is open
  std::string key_;
  std::size_t top_level_keys_ = 0;
};

json parse_header_json(std::span<const std::uint8_t> header, const std::string& what) {
  HeaderBuilder builder(what);
  try {
    if (!json::sax_parse(header.begin(), header.end(), &builder))
      fail<FormatError>(what, ": header is not valid JSON");
  } catch (const json::exception& e) {
    fail<FormatError>(what, ": header is not valid JSON: ", json_message(e));
  }
  return std::move(builder.root());
}

// A JSON value that is an integer in [0, max].
std::optional<std::uint64_t> as_index(const json& v, std::uint64_t max) {
  if (v.is_number_unsigned()) {
    const std::uint64_t u = v.get<std::uint64_t>();
    if (u <= max) return u;
  } else if (v.is_number_integer()) {
    const std::int64_t i = v.get<std::int64_t>();
    if (i >= 0 && static_cast<std::uint64_t>(i) <= max) return static_cast<std::uint64_t>(i);
  }
  return std::nullopt;
}

std::string compact(const json& v) {
  try {
    return detail::printable(v.dump(), 200);
  } catch (const json::exception&) {
    return "(unprintable)";
  }
}

struct TensorEntry {
  std::string name;
  DType dtype;
  Shape shape;
  std::uint64_t begin, end;
};

TensorEntry check_tensor(const std::string& name, const json& v, std::uint64_t buffer_size,
                         const std::string& what) {
  const std::string tn = what + ": tensor " + q(name);
  if (name.empty()) fail<FormatError>(what, ": header has a tensor with an empty name");
  if (!v.is_object())
    fail<FormatError>(tn, ": entry must be a JSON object, got ", v.type_name(), " ", compact(v));
  for (const auto& [key, value] : v.items()) {
    (void)value;
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      fail<FormatError>(tn, ": unexpected key ", q(key),
                        " (expected \"dtype\", \"shape\", \"data_offsets\")");
  }
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!v.contains(key)) fail<FormatError>(tn, ": missing \"", key, "\"");

  TensorEntry e{name, DType::F32, {}, 0, 0};
  const json& dt = v.at("dtype");
  if (!dt.is_string()) fail<FormatError>(tn, ": dtype must be a string, got ", compact(dt));
  const std::optional<DType> dtype = dtype_from_name(dt.get_ref<const std::string&>());
  if (!dtype)
    fail<FormatError>(tn, ": unsupported dtype ", compact(dt),
                      " (supported: F32, F64, I32, I64, U8)");
  e.dtype = *dtype;

  const json& sh = v.at("shape");
  if (!sh.is_array()) fail<FormatError>(tn, ": shape must be an array, got ", compact(sh));
  if (sh.size() > kMaxSafetensorsRank)
    fail<FormatError>(tn, ": shape ", compact(sh), " has rank ", sh.size(), "; at most ",
                      kMaxSafetensorsRank, " is supported");
  for (std::size_t i = 0; i < sh.size(); ++i) {
    const auto d =
        as_index(sh[i], static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
    if (!d)
      fail<FormatError>(tn, ": shape ", compact(sh), ": extent ", i, " is ", compact(sh[i]),
                        "; extents must be non-negative integers");
    e.shape.push_back(static_cast<std::int64_t>(*d));
  }
  const std::optional<std::uint64_t> nbytes = detail::checked_nbytes(e.shape, dtype_size(e.dtype));
  if (!nbytes) fail<FormatError>(tn, ": shape ", shape_str(e.shape), " has too many elements");

  const json& off = v.at("data_offsets");
  if (!off.is_array() || off.size() != 2)
    fail<FormatError>(tn, ": data_offsets must be an array [begin, end], got ", compact(off));
  const auto any = std::numeric_limits<std::uint64_t>::max();
  const auto begin = as_index(off[0], any);
  const auto end = as_index(off[1], any);
  if (!begin || !end)
    fail<FormatError>(tn, ": data_offsets ", compact(off), " must be two non-negative integers");
  if (*begin > *end)
    fail<FormatError>(tn, ": data_offsets [", *begin, ", ", *end, "] are reversed (begin > end)");
  if (*end > buffer_size)
    fail<FormatError>(what, ": tensor ", q(name), " data [", *begin, ", ", *end,
                      ") extends past the end of the buffer (", buffer_size, " bytes)");
  if (*end - *begin != *nbytes)
    fail<FormatError>(what, ": tensor ", q(name), " data [", *begin, ", ", *end, ") holds ",
                      *end - *begin, " bytes, but dtype ", dtype_name(e.dtype), " shape ",
                      shape_str(e.shape), " needs ", *nbytes, " bytes");
  e.begin = *begin;
  e.end = *end;
  return e;
}

void check_metadata(const json& m, std::map<std::string, std::string>& out,
                    const std::string& what) {
  if (!m.is_object())
    fail<FormatError>(what, ": __metadata__ must be an object of strings, got ", m.type_name());
  for (const auto& [key, value] : m.items()) {
    if (!value.is_string())
      fail<FormatError>(what, ": __metadata__ entry ", q(key), " must be a string, got ",
                        value.type_name(), " ", compact(value));
    out.emplace(key, value.get<std::string>());
  }
}

}  // namespace

namespace detail {

std::string printable(std::string_view s, std::size_t max_len) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  const std::size_t n = std::min(s.size(), max_len);
  out.reserve(n + 8);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > max_len) out += "...";
  return out;
}

std::optional<std::uint64_t> checked_nbytes(const Shape& shape, std::size_t item_size) {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  std::uint64_t nonzero_product = 1;
  bool has_zero = false;
  for (std::int64_t d : shape) {
    if (d < 0) return std::nullopt;
    if (d == 0) {
      has_zero = true;
      continue;
    }
    const auto u = static_cast<std::uint64_t>(d);
    if (nonzero_product > kMax / u) return std::nullopt;
    nonzero_product *= u;
  }
  if (has_zero) return 0;
  if (nonzero_product > kMax / item_size) return std::nullopt;
  return nonzero_product * item_size;
}

}  // namespace detail

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return 4;
    case DType::F64:
      return 8;
    case DType::I32:
      return 4;
    case DType::I64:
      return 8;
    case DType::U8:
      return 1;
  }
  fail<InternalError>("dtype_size: invalid DType ", static_cast<int>(dtype));
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return "F32";
    case DType::F64:
      return "F64";
    case DType::I32:
      return "I32";
    case DType::I64:
      return "I64";
    case DType::U8:
      return "U8";
  }
  fail<InternalError>("dtype_name: invalid DType ", static_cast<int>(dtype));
}

namespace {
template <typename T>
void convert_into(const std::uint8_t* src, float* dst, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, src + i * sizeof(T), sizeof(T));
    dst[i] = static_cast<float>(v);
  }
}
}  // namespace

Tensor to_float(const RawTensor& t, const std::string& what) {
  for (std::int64_t d : t.shape)
    if (d < 0) fail<FormatError>(what, ": shape ", shape_str(t.shape), " has a negative extent");
  const std::optional<std::uint64_t> nbytes = detail::checked_nbytes(t.shape, dtype_size(t.dtype));
  if (!nbytes) fail<FormatError>(what, ": shape ", shape_str(t.shape), " has too many elements");
  if (t.bytes.size() != *nbytes)
    fail<FormatError>(what, ": ", t.bytes.size(), " bytes of data, but dtype ", dtype_name(t.dtype),
                      " shape ", shape_str(t.shape), " needs ", *nbytes);
  Tensor out(t.shape);
  const std::size_t n = static_cast<std::size_t>(*nbytes / dtype_size(t.dtype));
  if (n == 0) return out;
  const std::uint8_t* src = t.bytes.data();
  switch (t.dtype) {
    case DType::F32:
      std::memcpy(out.data(), src, n * sizeof(float));
      break;
    case DType::F64:
      convert_into<double>(src, out.data(), n);
      break;
    case DType::I32:
      convert_into<std::int32_t>(src, out.data(), n);
      break;
    case DType::I64:
      convert_into<std::int64_t>(src, out.data(), n);
      break;
    case DType::U8:
      convert_into<std::uint8_t>(src, out.data(), n);
      break;
  }
  return out;
}

RawTensor raw_from_float(const Tensor& t) {
  RawTensor raw{DType::F32, t.shape(), {}};
  // A default-constructed Tensor has shape [] but no element; [] would mean one element.
  if (raw.shape.empty() && t.numel() == 0) raw.shape = {0};
  const std::size_t n = static_cast<std::size_t>(t.numel()) * sizeof(float);
  raw.bytes.resize(n);
  if (n) std::memcpy(raw.bytes.data(), t.data(), n);
  return raw;
}

SafetensorsFile parse_safetensors(std::span<const std::uint8_t> bytes, const std::string& what) {
  if (bytes.size() < 8)
    fail<FormatError>(what, ": file has ", bytes.size(),
                      " bytes, too short for a safetensors file (8-byte header length)");
  const std::uint64_t n = load_u64_le(bytes.data());
  if (n > kMaxSafetensorsHeaderBytes)
    fail<FormatError>(what, ": header length ", n, " exceeds the limit of ",
                      kMaxSafetensorsHeaderBytes, " bytes (not a safetensors file?)");
  if (n > bytes.size() - 8)
    fail<FormatError>(what, ": header length ", n, " extends past the end of the file (",
                      bytes.size(), " bytes)");
  const auto header = bytes.subspan(8, static_cast<std::size_t>(n));
  const auto buffer = bytes.subspan(8 + static_cast<std::size_t>(n));

  const json j = parse_header_json(header, what);
  if (!j.is_object())
    fail<FormatError>(what, ": header must be a JSON object, got ", j.type_name());

  SafetensorsFile file;
  std::vector<TensorEntry> entries;
  entries.reserve(j.size());
  for (const auto& [key, value] : j.items()) {
    if (key == "__metadata__") {
      check_metadata(value, file.metadata, what);
    } else {
      entries.push_back(check_tensor(key, value, buffer.size(), what));
    }
  }
  if (entries.size() > kMaxSafetensorsTensors)
    fail<FormatError>(what, ": header lists ", entries.size(), " tensors; at most ",
                      kMaxSafetensorsTensors, " are supported");

  // Non-empty byte ranges must not overlap (empty ones read nothing).
  std::vector<const TensorEntry*> order;
  for (const TensorEntry& e : entries)
    if (e.end > e.begin) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const TensorEntry* a, const TensorEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  for (std::size_t i = 1; i < order.size(); ++i) {
    const TensorEntry& a = *order[i - 1];
    const TensorEntry& b = *order[i];
    if (b.begin < a.end)
      fail<FormatError>(what, ": tensors ", q(a.name), " [", a.begin, ", ", a.end, ") and ",
                        q(b.name), " [", b.begin, ", ", b.end, ") overlap");
  }

  for (TensorEntry& e : entries) {
    const auto* first = buffer.data() + e.begin;
    RawTensor raw{e.dtype, std::move(e.shape),
                  std::vector<std::uint8_t>(first, first + (e.end - e.begin))};
    file.tensors.emplace(std::move(e.name), std::move(raw));
  }
  return file;
}

SafetensorsFile read_safetensors(const std::string& path) {
  const std::vector<std::uint8_t> bytes = read_file(path);
  return parse_safetensors(bytes, path);
}

namespace {
// JSON string literal for s; FormatError when s is not valid UTF-8.
std::string json_string(const std::string& s, const std::string& path, const char* role) {
  try {
    return json(s).dump();
  } catch (const json::exception&) {
    fail<FormatError>(path, ": ", role, " ", q(s), " is not valid UTF-8");
  }
}
}  // namespace

void write_safetensors(const std::string& path, const std::map<std::string, std::string>& metadata,
                       const std::vector<std::pair<std::string, const RawTensor*>>& tensors) {
  if (tensors.size() > kMaxSafetensorsTensors)
    fail<FormatError>(path, ": ", tensors.size(), " tensors; at most ", kMaxSafetensorsTensors,
                      " are supported");
  // The header is assembled by hand so that keys keep the required order.
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : metadata) {
      if (!first) header += ',';
      first = false;
      header += json_string(key, path, "metadata key");
      header += ':';
      header += json_string(value, path, "metadata value");
    }
    header += '}';
  }
  std::set<std::string> seen;
  std::uint64_t offset = 0;
  for (const auto& [name, raw] : tensors) {
    if (name.empty()) fail<FormatError>(path, ": cannot write a tensor with an empty name");
    if (name == "__metadata__")
      fail<FormatError>(path, ": \"__metadata__\" is reserved and cannot name a tensor");
    if (!seen.insert(name).second)
      fail<FormatError>(path, ": tensor ", q(name), " is listed twice");
    if (raw == nullptr) fail<FormatError>(path, ": tensor ", q(name), " is null");
    if (raw->shape.size() > kMaxSafetensorsRank)
      fail<FormatError>(path, ": tensor ", q(name), " has rank ", raw->shape.size(), "; at most ",
                        kMaxSafetensorsRank, " is supported");
    const std::optional<std::uint64_t> nbytes =
        detail::checked_nbytes(raw->shape, dtype_size(raw->dtype));
    if (!nbytes)
      fail<FormatError>(path, ": tensor ", q(name), " has an invalid shape ",
                        shape_str(raw->shape));
    if (raw->bytes.size() != *nbytes)
      fail<FormatError>(path, ": tensor ", q(name), " has ", raw->bytes.size(),
                        " bytes of data, but dtype ", dtype_name(raw->dtype), " shape ",
                        shape_str(raw->shape), " needs ", *nbytes);
    if (header.size() > 1) header += ',';
    header += json_string(name, path, "tensor name");
    header += ":{\"dtype\":\"";
    header += dtype_name(raw->dtype);
    header += "\",\"shape\":[";
    for (std::size_t i = 0; i < raw->shape.size(); ++i) {
      if (i) header += ',';
      header += std::to_string(raw->shape[i]);
    }
    header += "],\"data_offsets\":[";
    header += std::to_string(offset) + "," + std::to_string(offset + *nbytes) + "]}";
    offset += *nbytes;
  }
  header += '}';
  while (header.size() % 8 != 0) header += ' ';
  if (header.size() > kMaxSafetensorsHeaderBytes)
    fail<FormatError>(path, ": header would be ", header.size(), " bytes; at most ",
                      kMaxSafetensorsHeaderBytes, " are supported");

  std::vector<std::uint8_t> out(8 + header.size());
  store_u64_le(header.size(), out.data());
  std::memcpy(out.data() + 8, header.data(), header.size());
  out.reserve(out.size() + static_cast<std::size_t>(offset));
  for (const auto& entry : tensors)
    out.insert(out.end(), entry.second->bytes.begin(), entry.second->bytes.end());
  write_file_atomic(path, out);
}

}  // namespace recur::io
