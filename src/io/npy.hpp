// NumPy .npy arrays (format versions 1.0, 2.0, 3.0): C order, little-endian
// '<f4', '<f8', '<i4', '<i8' and '|u1' only.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "io/safetensors.hpp"
#include "recur/tensor.hpp"

namespace recur::io {

struct NpyArray {
  DType dtype;
  Shape shape;
  std::vector<std::uint8_t> bytes;  // exactly numel * dtype_size bytes, little-endian
};

// Reads and validates a file; FormatError / IoError messages start with the path.
NpyArray read_npy(const std::string& path);
// Same on bytes in memory; `what` is the name used in messages.
NpyArray parse_npy(std::span<const std::uint8_t> bytes, const std::string& what);

// The bytes of a .npy file holding `a`: format 1.0 (2.0 when the header needs it), data on a
// 64-byte boundary. `what` is the name used in messages.
std::vector<std::uint8_t> encode_npy(const NpyArray& a, const std::string& what);

// Atomic writes (write_file_atomic) of encode_npy's bytes.
void write_npy(const std::string& path, const Tensor& t);    // '<f4'
void write_npy(const std::string& path, const NpyArray& a);  // any supported dtype

// The descr string numpy uses for a dtype: "<f4", "<f8", "<i4", "<i8", "|u1".
const char* npy_descr(DType dtype);

}  // namespace recur::io
