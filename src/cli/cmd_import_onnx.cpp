// recur import-onnx MODEL.onnx --output M.safetensors [--json]: converts a torch.onnx.export
// graph of a recurrent model into a recur model file (docs/interop/onnx-import.md).
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "recur/interop/onnx.hpp"
#include "recur/io/model_file.hpp"

namespace recur::cli {

namespace {
struct ImportOnnxArgs {
  std::string model;
  std::string output;
  bool json = false;
};

// One sample's shape as a Keras batch shape: [null, T or null, F].
nlohmann::json batch_shape(const Shape& sample) {
  nlohmann::json s = nlohmann::json::array({nullptr});
  for (int64_t d : sample) s.push_back(d < 0 ? nlohmann::json(nullptr) : nlohmann::json(d));
  return s;
}

int run_import_onnx(const ImportOnnxArgs& a) {
  std::unique_ptr<Model> model = import_onnx(a.model);
  save_model(a.output, *model);
  if (!a.json) {
    std::cout << "imported " << a.model << " -> " << a.output << " (" << model->class_name()
              << ", " << model->layers().size() << " layers, " << model->param_count()
              << " parameters)\n";
    return 0;
  }
  nlohmann::json layers = nlohmann::json::array();
  for (Layer* l : model->layers())
    layers.push_back({{"name", l->name()}, {"class_name", l->class_name()}});
  nlohmann::json inputs = nlohmann::json::array(), outputs = nlohmann::json::array();
  for (std::size_t i = 0; i < model->num_inputs(); ++i)
    inputs.push_back(batch_shape(model->input_shape(i)));
  for (std::size_t i = 0; i < model->num_outputs(); ++i)
    outputs.push_back(batch_shape(model->output_shape(i)));
  nlohmann::json out = {{"output", a.output}, {"class_name", model->class_name()},
                        {"layers", layers},   {"inputs", inputs},
                        {"outputs", outputs}, {"params", model->param_count()}};
  std::cout << out.dump(2) << "\n";
  return 0;
}
}  // namespace

void register_import_onnx(CLI::App& app, std::function<int()>& run) {
  auto args = std::make_shared<ImportOnnxArgs>();
  CLI::App* cmd = app.add_subcommand(
      "import-onnx", "Convert an ONNX file written by torch.onnx.export (LSTM/GRU/RNN models) "
                     "into a recur model file");
  cmd->add_option("model", args->model, "the .onnx file")->required();
  cmd->add_option("--output", args->output, "the recur model file to write (.safetensors)")
      ->required();
  cmd->add_flag("--json", args->json,
                "print {\"output\", \"layers\": [{\"name\", \"class_name\"}], \"inputs\", "
                "\"outputs\"} as JSON");
  cmd->callback([&run, args] { run = [args] { return run_import_onnx(*args); }; });
}

}  // namespace recur::cli
