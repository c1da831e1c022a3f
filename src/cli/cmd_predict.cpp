// recur predict --model M --input X.npy --output Y.npy
#include <memory>
#include <string>

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
  Sequential model = load_model(a.model);
  io::NpyArray arr = io::read_npy(a.input);
  const bool ids = model.takes_token_ids();
  if (ids) {
    if (arr.dtype != io::DType::I32 && arr.dtype != io::DType::I64)
      fail<InvalidArgument>(a.input, ": the model takes token ids: expected an int32 or int64 "
                                     "array [N, T], got dtype ",
                            io::dtype_name(arr.dtype), " shape ", shape_str(arr.shape));
  } else if (arr.dtype != io::DType::F32 && arr.dtype != io::DType::F64) {
    fail<InvalidArgument>(a.input, ": expected a float32 array [N, T, F], got dtype ",
                          io::dtype_name(arr.dtype), " shape ", shape_str(arr.shape));
  }
  Tensor x = io::to_float(io::RawTensor{arr.dtype, arr.shape, std::move(arr.bytes)}, a.input);
  if (ids) {
    // ids are carried as floats inside the library: exact below 2^24.
    for (int64_t i = 0; i < x.numel(); ++i)
      if (x[i] >= 16777216.0f || x[i] < 0.0f)
        fail<InvalidArgument>(a.input, ": token id ", static_cast<int64_t>(x[i]), " at sample ",
                              i / x.dim(1), ", step ", i % x.dim(1),
                              " is outside the supported range [0, 2^24)");
  }
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
