// safetensors model files (DESIGN.md §3, binding): an 8-byte little-endian header length N,
// N bytes of JSON header, then the tensor bytes. Also the element types shared with .npy files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "recur/tensor.hpp"

namespace recur::io {

// Element types. Names in safetensors files: "F32", "F64", "I32", "I64", "U8".
enum class DType { F32, F64, I32, I64, U8 };
std::size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);

// One tensor as stored: C order, little-endian, exactly numel * dtype_size bytes.
struct RawTensor {
  DType dtype;
  Shape shape;
  std::vector<std::uint8_t> bytes;
};

// Converts to float32 (F32 copied, F64/I32/I64/U8 converted); `what` names it in errors.
// Throws FormatError when the byte count does not match the dtype and shape.
Tensor to_float(const RawTensor& t, const std::string& what);

// F32 RawTensor copy of a Tensor. A default-constructed (empty) Tensor becomes shape [0].
RawTensor raw_from_float(const Tensor& t);

struct SafetensorsFile {
  std::map<std::string, std::string> metadata;  // "__metadata__" (string -> string only)
  std::map<std::string, RawTensor> tensors;
};

// Limits a file must respect (checked before anything is allocated from header claims).
inline constexpr std::uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;
inline constexpr std::size_t kMaxSafetensorsTensors = 100'000;
inline constexpr std::size_t kMaxSafetensorsRank = 8;

// Reads and fully validates a file; FormatError / IoError messages start with the path.
SafetensorsFile read_safetensors(const std::string& path);
// Same on bytes in memory; `what` is the name used in messages.
SafetensorsFile parse_safetensors(std::span<const std::uint8_t> bytes, const std::string& what);

// Writes atomically (write_file_atomic). Tensors are stored contiguously in the given order;
// header keys: "__metadata__" (left out when `metadata` is empty), then the tensors, each
// {"dtype", "shape", "data_offsets"}; the header is padded with spaces to a multiple of 8 bytes.
void write_safetensors(const std::string& path, const std::map<std::string, std::string>& metadata,
                       const std::vector<std::pair<std::string, const RawTensor*>>& tensors);

namespace detail {
// Helpers shared by the file readers.

// s for an error message: control bytes escaped as \xNN, cut after max_len bytes ("...").
std::string printable(std::string_view s, std::size_t max_len = 200);
// Byte count of a C-order array, or nullopt when the element count or byte count does not fit
// in int64 (zero extents make it 0, but the product of the other extents must still fit).
// Extents must be non-negative (callers check).
std::optional<std::uint64_t> checked_nbytes(const Shape& shape, std::size_t item_size);
}  // namespace detail

}  // namespace recur::io
