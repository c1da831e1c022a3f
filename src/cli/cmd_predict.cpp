// recur predict --model M --input X.npy --output Y.npy
#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <string>

#include "cli/arrays.hpp"
#include "cli/commands.hpp"
#include "io/npy.hpp"
#include "recur/error.hpp"
#include "recur/io/model_file.hpp"

namespace recur::cli {

namespace {
// Extreme inputs do not crash, but they can saturate every gate or overflow float32 into Inf/NaN.
// (NaN/Inf inputs are refused by read_model_input.) Float inputs beyond `kLargeInput` in
// magnitude, and NaN/Inf outputs, get one warning line on stderr each ("recur: warning: ...");
// the outputs are still written.
constexpr float kLargeInput = 1e6f;

struct Finiteness {
  int64_t non_finite = 0, first = -1;  // count, and flat index of the first NaN/Inf
  float max_abs = 0.0f;                // over the finite values
};

Finiteness finiteness(const Tensor& t) {
  Finiteness f;
  for (int64_t i = 0; i < t.numel(); ++i) {
    const float v = t[i];
    if (!std::isfinite(v)) {
      if (f.first < 0) f.first = i;
      ++f.non_finite;
    } else {
      f.max_abs = std::max(f.max_abs, std::fabs(v));
    }
  }
  return f;
}

// "row r" (and ", step s" for [N, T, ...] arrays) of flat index i.
std::string where_in(const Tensor& t, int64_t i) {
  const int64_t per_row = t.numel() / std::max<int64_t>(1, t.dim(0));
  std::string s = "row " + std::to_string(i / per_row);
  if (t.rank() >= 3) s += ", step " + std::to_string((i % per_row) / (per_row / t.dim(1)));
  return s;
}

void warn_extreme_values(const std::string& input, const Tensor& x, bool ids,
                         const std::string& output, const Tensor& y) {
  const Finiteness fx = finiteness(x), fy = finiteness(y);
  if (!ids && fx.max_abs > kLargeInput)
    std::cerr << "recur: warning: " << input << ": input values reach " << fx.max_abs
              << " in magnitude; recurrent gates saturate (or overflow float32) at such scales "
                 "— scale the inputs as they were scaled for training\n";
  if (fy.non_finite)
    std::cerr << "recur: warning: " << output << ": " << fy.non_finite << " of " << y.numel()
              << " output values are NaN or Inf (first at " << where_in(y, fy.first) << ")\n";
}

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
  warn_extreme_values(a.input, x, model.takes_token_ids(0), a.output, y);
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
