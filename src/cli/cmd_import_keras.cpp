// recur import-keras MODEL --output M.safetensors [--weights W.h5] [--json]
//
// Converts a Keras model (Keras 2 .h5, Keras 3 .keras, TF.js model.json, or an architecture
// .json with --weights) into a recur model file (docs/interop/keras-import.md).
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "interop/keras_import.hpp"
#include "recur/io/model_file.hpp"

namespace recur::cli {

namespace {
struct ImportKerasArgs {
  std::string model, output, weights;
  bool json = false;
};

int run_import_keras(const ImportKerasArgs& a) {
  interop::KerasImport imported = interop::import_keras_detailed(a.model, a.weights);
  const Model& model = *imported.model;
  const nlohmann::json source = {{"format", imported.format},
                                 {"keras_version", imported.keras_version},
                                 {"file", a.model}};
  save_model(a.output, model, {{"recur.imported_from", source.dump()}});
  if (a.json) {
    nlohmann::json layers = nlohmann::json::array();
    for (const Layer* l : model.layers())
      layers.push_back({{"name", l->name()}, {"class_name", l->class_name()}});
    const nlohmann::json out = {{"output", a.output},
                                {"keras_version", imported.keras_version},
                                {"format", imported.format},
                                {"layers", layers},
                                {"params", model.param_count()},
                                {"notes", imported.notes}};
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  for (const std::string& note : imported.notes) std::cerr << "recur: note: " << note << "\n";
  const std::string& v = imported.keras_version;
  std::cout << "imported " << a.model << " (" << imported.format << ", "
            << (v.empty() ? "Keras version unknown" : v.starts_with("tfjs") ? v : "Keras " + v)
            << "): " << model.layers().size() << " layers, " << model.param_count()
            << " parameters -> " << a.output << "\n";
  return 0;
}
}  // namespace

void register_import_keras(CLI::App& app, std::function<int()>& run) {
  auto args = std::make_shared<ImportKerasArgs>();
  CLI::App* cmd = app.add_subcommand(
      "import-keras", "Convert a Keras model (.h5, .keras, TF.js model.json, or architecture "
                      ".json + --weights) into a recur model file");
  cmd->add_option("model", args->model,
                  "Keras 2 .h5, Keras 3 .keras, TF.js model.json (or its folder), or an "
                  "architecture .json (model.to_json) used with --weights")
      ->required();
  cmd->add_option("--output", args->output, "recur model file to write (.safetensors)")
      ->required();
  cmd->add_option("--weights", args->weights,
                  "weights .h5 (model.save_weights) for an architecture .json");
  cmd->add_flag("--json", args->json,
                "print {output, keras_version, format, layers, params, notes} as JSON");
  cmd->callback([&run, args] { run = [args] { return run_import_keras(*args); }; });
}

}  // namespace recur::cli
