// .npy inputs and targets for the commands.
#include "cli/arrays.hpp"

#include "io/npy.hpp"
#include "recur/error.hpp"

namespace recur::cli {

namespace {
void check_id_range(const Tensor& x, const std::string& path, const char* what) {
  const int64_t per_row = x.rank() > 1 && x.dim(0) ? x.numel() / x.dim(0) : 1;
  for (int64_t i = 0; i < x.numel(); ++i)
    if (x[i] >= 16777216.0f || x[i] < 0.0f)
      fail<InvalidArgument>(path, ": ", what, " ", static_cast<int64_t>(x[i]), " at sample ",
                            i / per_row, x.rank() > 1 ? ", step " + std::to_string(i % per_row) : "",
                            " is outside the supported range [0, 2^24)");
}
}  // namespace

Tensor read_model_input(const std::string& path, const Model& model, std::size_t i) {
  io::NpyArray arr = io::read_npy(path);
  const bool ids = model.takes_token_ids(i);
  if (ids) {
    if (arr.dtype != io::DType::I32 && arr.dtype != io::DType::I64)
      fail<InvalidArgument>(path, ": the model takes token ids: expected an int32 or int64 "
                                  "array [N, T], got dtype ",
                            io::dtype_name(arr.dtype), " shape ", shape_str(arr.shape));
  } else if (arr.dtype != io::DType::F32 && arr.dtype != io::DType::F64) {
    fail<InvalidArgument>(path, ": expected a float32 array [N, T, F], got dtype ",
                          io::dtype_name(arr.dtype), " shape ", shape_str(arr.shape));
  }
  Tensor x = io::to_float(io::RawTensor{arr.dtype, arr.shape, std::move(arr.bytes)}, path);
  if (ids) check_id_range(x, path, "token id");
  return x;
}

Tensor read_targets(const std::string& path) {
  io::NpyArray arr = io::read_npy(path);
  const bool ints = arr.dtype == io::DType::I32 || arr.dtype == io::DType::I64;
  if (!ints && arr.dtype != io::DType::F32 && arr.dtype != io::DType::F64)
    fail<InvalidArgument>(path, ": expected float32/float64 targets or int32/int64 class ids, "
                                "got dtype ", io::dtype_name(arr.dtype));
  Tensor y = io::to_float(io::RawTensor{arr.dtype, arr.shape, std::move(arr.bytes)}, path);
  if (ints) check_id_range(y, path, "class id");
  return y;
}

}  // namespace recur::cli
