// The ONNX exporter's entry point with a summary of what it wrote (for `recur export-onnx
// --json`); recur::export_onnx (include/recur/interop/onnx.hpp) is this without the summary.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "recur/interop/onnx.hpp"

namespace recur::onnx_export {

struct Summary {
  std::vector<std::string> inputs, outputs;  // graph input / output names, in order
  int64_t opset = 0;
  int64_t nodes = 0;  // nodes of the main graph (Scan bodies not counted)
};

// Writes the file like export_onnx and describes it.
Summary export_model(const Model& model, const std::string& path, const OnnxExportOptions& options);

// The opsets export_onnx accepts, [min, max].
constexpr int64_t kMinOpset = 14;
constexpr int64_t kMaxOpset = 21;

}  // namespace recur::onnx_export
