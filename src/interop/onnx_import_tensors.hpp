// ONNX import, file side: reads an untrusted .onnx file (size-limited, protobuf-parsed) and
// decodes its tensors with every claimed size checked against the bytes present — raw_data,
// the typed repeated fields, or an external data file that must lie inside the model's folder.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "recur/tensor.hpp"

namespace recur::onnx_import {

// protobuf refuses messages of 2 GiB and more; so does the importer, before reading.
inline constexpr std::uint64_t kMaxOnnxFileBytes = 2147483647;

// Reads and parses `path` into `model`: IoError when it cannot be read, FormatError when it is
// too large, not a protobuf ModelProto, or has no graph.
void read_model(const std::string& path, onnx::ModelProto& model);

// A decoded constant: float data (FLOAT, DOUBLE) in `f`, or integer data (INT64, INT32, BOOL)
// in `i`. C order; `dims` as declared (rank 0 = scalar).
struct ConstTensor {
  Shape dims;
  bool is_int = false;
  std::vector<float> f;
  std::vector<int64_t> i;
  int64_t numel() const { return shape_numel(dims); }
  double at(std::size_t k) const { return is_int ? static_cast<double>(i[k]) : f[k]; }
};

// Decodes one tensor (an initializer or a Constant's value). `path` is the model file (errors
// start with it; external data is looked up beside it); `what` names the tensor in messages.
ConstTensor decode_tensor(const onnx::TensorProto& t, const std::string& path,
                          const std::string& what);

}  // namespace recur::onnx_import
