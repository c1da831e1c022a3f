// ONNX import, file side (see onnx_import_tensors.hpp): every size a file claims is compared
// with the bytes actually present before anything of that size is allocated.
#include "interop/onnx_import_tensors.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include "io/safetensors.hpp"
#include "recur/error.hpp"

namespace recur::onnx_import {

namespace fs = std::filesystem;

void read_model(const std::string& path, onnx::ModelProto& model) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail<IoError>(path, ": cannot read: no such file");
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) fail<IoError>(path, ": cannot read: ", ec.message());
  if (size > kMaxOnnxFileBytes)
    fail<FormatError>(path, ": file is ", size,
                      " bytes; ONNX files of 2 GiB and more are refused (protobuf's limit; "
                      "large weights belong in external data files)");
  std::string bytes(static_cast<std::size_t>(size), '\0');
  std::ifstream in(path, std::ios::binary);
  if (!in || !in.read(bytes.data(), static_cast<std::streamsize>(size)))
    fail<IoError>(path, ": cannot read ", size, " bytes");
  if (!model.ParseFromArray(bytes.data(), static_cast<int>(size)))
    fail<FormatError>(path, ": not a valid ONNX model (the protobuf does not parse: truncated "
                            "or not an .onnx file)");
  if (!model.has_graph() || model.graph().node_size() == 0)
    fail<FormatError>(path, ": the ONNX model has no graph nodes");
}

namespace {

std::size_t element_size(int dtype) {
  switch (dtype) {
    case onnx::TensorProto::FLOAT: return 4;
    case onnx::TensorProto::INT32: return 4;
    case onnx::TensorProto::INT64: return 8;
    case onnx::TensorProto::BOOL: return 1;
    case onnx::TensorProto::DOUBLE: return 8;
    default: return 0;
  }
}

// Reads `nbytes` of external data for tensor `what`: the location must be a relative path that,
// with `..` and symbolic links resolved, stays inside the model's folder; offset + length must
// lie inside that file.
std::vector<std::uint8_t> read_external(const onnx::TensorProto& t, const std::string& path,
                                        const std::string& what, std::uint64_t nbytes) {
  std::string location;
  std::optional<std::uint64_t> offset, length;
  auto number = [&](const std::string& key, const std::string& v) {
    if (v.empty() || v.size() > 19 || !std::all_of(v.begin(), v.end(), ::isdigit))
      fail<FormatError>(path, ": ", what, ": external data ", key, " \"",
                        io::detail::printable(v), "\" is not a non-negative integer");
    return static_cast<std::uint64_t>(std::stoull(v));
  };
  for (const auto& kv : t.external_data()) {
    if (kv.key() == "location") location = kv.value();
    else if (kv.key() == "offset") offset = number("offset", kv.value());
    else if (kv.key() == "length") length = number("length", kv.value());
  }
  if (location.empty())
    fail<FormatError>(path, ": ", what, ": external data without a \"location\"");
  const fs::path loc(location);
  if (loc.is_absolute())
    fail<FormatError>(path, ": ", what, ": external data location \"",
                      io::detail::printable(location),
                      "\" is an absolute path; it must be relative to the model's folder");
  fs::path folder = fs::path(path).parent_path();
  if (folder.empty()) folder = ".";
  std::error_code ec;
  const fs::path base = fs::weakly_canonical(folder, ec);
  const fs::path target = ec ? fs::path() : fs::weakly_canonical(base / loc, ec);
  if (ec)
    fail<FormatError>(path, ": ", what, ": cannot resolve external data location \"",
                      io::detail::printable(location), "\": ", ec.message());
  // Inside means: the resolved path starts with every component of the resolved folder.
  auto [b, tt] = std::mismatch(base.begin(), base.end(), target.begin(), target.end());
  if (b != base.end() || tt == target.end())
    fail<FormatError>(path, ": ", what, ": external data location \"",
                      io::detail::printable(location),
                      "\" resolves outside the model's folder (", base.string(), ")");
  if (!fs::is_regular_file(target, ec))
    fail<FormatError>(path, ": ", what, ": external data file \"",
                      io::detail::printable(location), "\" does not exist");
  const std::uint64_t file_size = fs::file_size(target, ec);
  if (ec) fail<IoError>(path, ": ", what, ": cannot read \"", target.string(), "\"");
  const std::uint64_t off = offset.value_or(0);
  if (length && *length != nbytes)
    fail<FormatError>(path, ": ", what, ": external data length ", *length,
                      " does not match the declared dims (", nbytes, " bytes)");
  if (off > file_size || nbytes > file_size - off)
    fail<FormatError>(path, ": ", what, ": external data [", off, ", ", off, " + ", nbytes,
                      ") lies beyond the end of \"", io::detail::printable(location), "\" (",
                      file_size, " bytes)");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(nbytes));
  std::ifstream in(target, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(off));
  if (!in || !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(nbytes)))
    fail<IoError>(path, ": ", what, ": cannot read external data from \"", target.string(), "\"");
  return bytes;
}

}  // namespace

ConstTensor decode_tensor(const onnx::TensorProto& t, const std::string& path,
                          const std::string& what) {
  const int dtype = t.data_type();
  const std::size_t esize = element_size(dtype);
  if (esize == 0)
    fail<FormatError>(path, ": ", what, ": tensor element type ", dtype,
                      " is not supported (FLOAT, DOUBLE, INT64, INT32, BOOL)");
  ConstTensor out;
  if (t.dims_size() > 8) fail<FormatError>(path, ": ", what, ": rank ", t.dims_size(), " > 8");
  for (int64_t d : t.dims()) {
    if (d < 0) fail<FormatError>(path, ": ", what, ": negative dimension ", d);
    out.dims.push_back(d);
  }
  const std::optional<std::uint64_t> nbytes = io::detail::checked_nbytes(out.dims, esize);
  if (!nbytes)
    fail<FormatError>(path, ": ", what, ": dims ", shape_str(out.dims),
                      " describe more elements than can exist");
  const auto n = static_cast<std::size_t>(*nbytes / esize);
  if (t.has_segment()) fail<FormatError>(path, ": ", what, ": segmented tensors are not supported");
  out.is_int = dtype == onnx::TensorProto::INT64 || dtype == onnx::TensorProto::INT32 ||
               dtype == onnx::TensorProto::BOOL;

  // The bytes, from one of three places; the count is checked before any allocation.
  std::vector<std::uint8_t> external;
  const std::uint8_t* raw = nullptr;
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    external = read_external(t, path, what, *nbytes);
    raw = external.data();
  } else if (t.has_raw_data()) {
    if (t.raw_data().size() != *nbytes)
      fail<FormatError>(path, ": ", what, ": raw_data has ", t.raw_data().size(),
                        " bytes, dims ", shape_str(out.dims), " need ", *nbytes);
    raw = reinterpret_cast<const std::uint8_t*>(t.raw_data().data());
  } else {
    int have = 0;
    switch (dtype) {
      case onnx::TensorProto::FLOAT: have = t.float_data_size(); break;
      case onnx::TensorProto::DOUBLE: have = t.double_data_size(); break;
      case onnx::TensorProto::INT64: have = t.int64_data_size(); break;
      default: have = t.int32_data_size(); break;  // INT32, BOOL
    }
    if (static_cast<std::size_t>(have) != n)
      fail<FormatError>(path, ": ", what, ": has ", have, " values, dims ", shape_str(out.dims),
                        " need ", n);
  }

  if (out.is_int) out.i.resize(n);
  else out.f.resize(n);
  for (std::size_t k = 0; k < n; ++k) {
    switch (dtype) {
      case onnx::TensorProto::FLOAT: {
        float v;
        if (raw) std::memcpy(&v, raw + 4 * k, 4);
        else v = t.float_data(static_cast<int>(k));
        out.f[k] = v;
        break;
      }
      case onnx::TensorProto::DOUBLE: {
        double v;
        if (raw) std::memcpy(&v, raw + 8 * k, 8);
        else v = t.double_data(static_cast<int>(k));
        out.f[k] = static_cast<float>(v);
        break;
      }
      case onnx::TensorProto::INT64: {
        int64_t v;
        if (raw) std::memcpy(&v, raw + 8 * k, 8);
        else v = t.int64_data(static_cast<int>(k));
        out.i[k] = v;
        break;
      }
      case onnx::TensorProto::INT32: {
        int32_t v;
        if (raw) std::memcpy(&v, raw + 4 * k, 4);
        else v = t.int32_data(static_cast<int>(k));
        out.i[k] = v;
        break;
      }
      default: {  // BOOL
        out.i[k] = raw ? (raw[k] != 0) : (t.int32_data(static_cast<int>(k)) != 0);
        break;
      }
    }
  }
  return out;
}

}  // namespace recur::onnx_import
