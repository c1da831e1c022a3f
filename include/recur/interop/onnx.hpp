// ONNX in both directions (docs/interop/onnx-import.md, docs/interop/onnx-export.md).
// Import reads the graphs torch.onnx.export writes for recurrent models; export writes ONNX's own
// LSTM/GRU/RNN operators where their semantics match recur's and an equivalent subgraph otherwise.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "recur/model/model.hpp"

namespace recur {

// Builds a recur model from an ONNX file. Unsupported operators are reported together, in one
// FormatError naming each. External tensor data must lie inside the model's folder; declared
// sizes beyond the bytes present are refused.
std::unique_ptr<Model> import_onnx(const std::string& path);

struct OnnxExportOptions {
  std::int64_t opset = 14;  // ONNX operator set version written into the file
};

// Writes `model` as ONNX (atomically: <path>.tmp, then rename). Inputs are batch-first like
// recur's ([N, T, F] floats or [N, T] int64 token ids) with a dynamic batch dimension.
void export_onnx(const Model& model, const std::string& path, const OnnxExportOptions& options = {});

}  // namespace recur
