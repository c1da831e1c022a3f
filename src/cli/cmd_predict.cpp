// recur predict --model M --input X.npy --output Y.npy
#include <memory>
#include <string>

#include "cli/arrays.hpp"
#include "cli/commands.hpp"
#include "io/npy.hpp"
#include "recur/error.hpp"
#include "recur/io/model_file.hpp"

namespace recur::cli {

namespace {
struct PredictArgs {
  std::string model, input, output;
  int64_t batch_size = 32;
};

int run_predict(const PredictArgs& a) {
  std::unique_ptr<Model> loaded = load_model(a.model);
  Model& model = *loaded;
  if (model.num_inputs() != 1 || model.num_outputs() != 1)
    fail<InvalidArgument>(a.model, ": the model has ", model.num_inputs(), " inputs and ",
                          model.num_outputs(), " outputs; recur predict runs single-input, "
                          "single-output models");
  Tensor x = read_model_input(a.input, model);
  Tensor y;
  try {
    y = model.predict(x, a.batch_size);
  } catch (const ShapeError& e) {
    fail<ShapeError>(a.input, ": ", e.what());
  } catch (const InvalidArgument& e) {
    fail<InvalidArgument>(a.input, ": ", e.what());
  }
  io::write_npy(a.output, y);
  return 0;
}
}  // namespace

void register_predict(CLI::App& app, std::function<int()>& run) {
  auto args = std::make_shared<PredictArgs>();
  CLI::App* cmd = app.add_subcommand(
      "predict", "Run a model on a .npy array (float32 [N, T, F], or int32/int64 ids [N, T]) "
                 "and write the outputs as float32 .npy");
  cmd->add_option("--model", args->model, "model file (.safetensors)")->required();
  cmd->add_option("--input", args->input, "input array (.npy, batch-first)")->required();
  cmd->add_option("--output", args->output, "where to write the outputs (.npy)")->required();
  cmd->add_option("--batch-size", args->batch_size, "rows per forward pass")
      ->check(CLI::PositiveNumber);
  cmd->callback([&run, args] { run = [args] { return run_predict(*args); }; });
}

}  // namespace recur::cli
