// recur info --model M [--json]
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "recur/io/model_file.hpp"

namespace recur::cli {

namespace {
struct InfoArgs {
  std::string model;
  bool json = false;
};

int run_info(const InfoArgs& a) {
  std::map<std::string, std::string> meta;
  std::unique_ptr<Model> loaded = load_model(a.model, &meta);
  Model& model = *loaded;
  if (!a.json) {
    std::cout << model.summary();
    return 0;
  }
  nlohmann::json layers = nlohmann::json::array();
  for (Layer* lp : model.layers()) {
    Layer& l = *lp;
    nlohmann::json shape = nlohmann::json::array({nullptr});
    for (int64_t d : l.output_shape()) shape.push_back(d < 0 ? nlohmann::json(nullptr) : nlohmann::json(d));
    layers.push_back({{"name", l.name()}, {"class_name", l.class_name()},
                      {"output_shape", shape}, {"params", l.param_count()}});
  }
  auto batch_shape = [](const Shape& sample) {
    nlohmann::json s = nlohmann::json::array({nullptr});
    for (int64_t d : sample) s.push_back(d < 0 ? nlohmann::json(nullptr) : nlohmann::json(d));
    return s;
  };
  nlohmann::json inputs = nlohmann::json::array(), outputs = nlohmann::json::array();
  for (std::size_t i = 0; i < model.num_inputs(); ++i) inputs.push_back(batch_shape(model.input_shape(i)));
  for (std::size_t i = 0; i < model.num_outputs(); ++i) outputs.push_back(batch_shape(model.output_shape(i)));
  nlohmann::json out = {{"name", model.name()},
                        {"class_name", model.class_name()},
                        {"input_shape", inputs[0]},
                        {"input_shapes", inputs},
                        {"output_shapes", outputs},
                        {"layers", layers},
                        {"total_params", model.param_count()},
                        {"format", meta.count("recur.format") ? meta["recur.format"] : ""}};
  std::cout << out.dump(2) << "\n";
  return 0;
}
}  // namespace

void register_info(CLI::App& app, std::function<int()>& run) {
  auto args = std::make_shared<InfoArgs>();
  CLI::App* cmd = app.add_subcommand("info", "Summarize a model file (layers, output shapes, "
                                             "parameter counts)");
  cmd->add_option("--model", args->model, "model file (.safetensors)")->required();
  cmd->add_flag("--json", args->json, "print a JSON object instead of the table");
  cmd->callback([&run, args] { run = [args] { return run_info(*args); }; });
}

}  // namespace recur::cli
