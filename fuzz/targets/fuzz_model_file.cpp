// Target: a whole model file (safetensors header length, JSON header, __metadata__ with the
// Keras architecture, tensor table and data) through the same steps as recur::load_model, on
// bytes in memory: parse_safetensors, then model_from_file.
#include <cstddef>
#include <cstdint>

#include "fuzz_common.hpp"
#include "io/model_io.hpp"
#include "io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  recur::fuzz::accept_errors([&] {
    const recur::io::SafetensorsFile file =
        recur::io::parse_safetensors(recur::fuzz::bytes_of(data, size), "fuzz.safetensors");
    // load_model: a training checkpoint may carry optimizer/ and training/ tensors.
    auto model = recur::model_from_file(file, "fuzz.safetensors",
                                        file.metadata.count("recur.training") > 0);
    recur::fuzz::check(model != nullptr, "model_from_file returned null");
    (void)model->to_json().dump();
  });
  return 0;
}
