// recur export-onnx --model M.safetensors --output M.onnx [--opset N] [--json]
// (docs/interop/onnx-export.md)
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "interop/onnx_export.hpp"
#include "recur/io/model_file.hpp"

namespace recur::cli {

namespace {
struct ExportOnnxArgs {
  std::string model, output;
  int64_t opset = 14;
  bool json = false;
};

int run_export_onnx(const ExportOnnxArgs& a) {
  std::unique_ptr<Model> model = load_model(a.model);
  OnnxExportOptions options;
  options.opset = a.opset;
  const onnx_export::Summary s = onnx_export::export_model(*model, a.output, options);
  if (a.json) {
    const nlohmann::json out = {{"output", a.output},
                                {"inputs", s.inputs},
                                {"outputs", s.outputs},
                                {"opset", s.opset},
                                {"nodes", s.nodes}};
    std::cout << out.dump(2) << "\n";
  }
  return 0;
}
}  // namespace

void register_export_onnx(CLI::App& app, std::function<int()>& run) {
  auto args = std::make_shared<ExportOnnxArgs>();
  CLI::App* cmd =
      app.add_subcommand("export-onnx",
                         "Write a model as ONNX (batch-first inputs, dynamic batch; ONNX's "
                         "LSTM/GRU/RNN operators, a Scan over time where a mask is involved)");
  cmd->add_option("--model", args->model, "model file (.safetensors)")->required();
  cmd->add_option("--output", args->output, "where to write the ONNX file (.onnx)")->required();
  cmd->add_option("--opset", args->opset,
                  "ONNX operator set version (" + std::to_string(onnx_export::kMinOpset) + " to " +
                      std::to_string(onnx_export::kMaxOpset) + ", default 14)")
      ->check(CLI::Range(onnx_export::kMinOpset, onnx_export::kMaxOpset));
  cmd->add_flag("--json", args->json, "print what was written as a JSON object");
  cmd->callback([&run, args] { run = [args] { return run_export_onnx(*args); }; });
}

}  // namespace recur::cli
