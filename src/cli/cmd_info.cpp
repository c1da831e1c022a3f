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
  Sequential model = load_model(a.model, &meta);
  if (!a.json) {
    std::cout << model.summary();
    return 0;
  }
  nlohmann::json layers = nlohmann::json::array();
  for (std::size_t i = 0; i < model.size(); ++i) {
    Layer& l = model.layer(i);
    nlohmann::json shape = nlohmann::json::array({nullptr});
    for (int64_t d : l.output_shape()) shape.push_back(d < 0 ? nlohmann::json(nullptr) : nlohmann::json(d));
    layers.push_back({{"name", l.name()}, {"class_name", l.class_name()},
                      {"output_shape", shape}, {"params", l.param_count()}});
  }
  nlohmann::json input = nlohmann::json::array({nullptr});
  for (int64_t d : model.input_shape()) input.push_back(d < 0 ? nlohmann::json(nullptr) : nlohmann::json(d));
  nlohmann::json out = {{"name", model.name()},
                        {"input_shape", input},
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
