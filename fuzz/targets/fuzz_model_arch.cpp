// Target: the "recur.model" architecture JSON of a model file (Sequential or functional Keras
// config) as raw bytes, so the fuzzer mutates the JSON directly instead of through the
// safetensors header's string escaping. The file has no tensors, so a model with parameters ends
// in "needs tensor ..." after its layers are built; that is what this target exercises.
#include <cstddef>
#include <cstdint>

#include "fuzz_common.hpp"
#include "io/model_io.hpp"
#include "io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  recur::io::SafetensorsFile file;
  file.metadata["recur.format"] = "1";
  file.metadata["recur.model"] = recur::fuzz::string_of(data, size);
  recur::fuzz::accept_errors([&] {
    auto model = recur::model_from_file(file, "fuzz.safetensors", false);
    recur::fuzz::check(model != nullptr, "model_from_file returned null");
    (void)model->to_json().dump();
  });
  return 0;
}
