// Target: an .onnx file (protobuf ModelProto) through recur::import_onnx, then export_onnx of
// whatever it accepted. import_onnx reads a path (external data is looked up beside the model),
// so each input is written to model.onnx in a private folder first; a sibling file "data.bin"
// (16 bytes) gives external-data references something real to point at.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "fuzz_common.hpp"
#include "recur/interop/onnx.hpp"

namespace {

const std::string& folder() {
  static const std::string dir = [] {
    std::string d = "/tmp/recur_fuzz_onnx_" + std::to_string(::getpid());
    std::string cmd = "mkdir -p " + d;
    if (std::system(cmd.c_str()) != 0) std::abort();
    std::ofstream(d + "/data.bin", std::ios::binary) << std::string(16, '\x01');
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = folder() + "/model.onnx";
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  recur::fuzz::accept_errors([&] {
    auto model = recur::import_onnx(path);
    recur::fuzz::check(model != nullptr, "import_onnx returned null");
    recur::export_onnx(*model, folder() + "/again.onnx");
  });
  return 0;
}
