// Target: Tokenizer::from_json on the input parsed as JSON (the "tokenizer" object a model file's
// recur.preprocessing carries), then encode / decode with the tokenizer it gives.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz_common.hpp"
#include "recur/data/text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace recur;
  // Not JSON at all: nothing to test (the JSON parser is not recur's).
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  fuzz::accept_errors([&] {
    const data::Tokenizer tok = data::Tokenizer::from_json(j);
    fuzz::check(tok.vocab_size() >= 2, "from_json gave a vocabulary without ids 0 and 1");
    const std::string sample = "The quick brown Fox, jumps! over the lazy dog. \xc3\xa9t\xc3\xa9 <OOV>";
    fuzz::accept_errors([&] {
      const std::vector<int32_t> ids = tok.encode(sample);
      for (int32_t id : ids)
        fuzz::check(id >= 0 && id < tok.vocab_size(), "encode returned an id outside the vocabulary");
      (void)tok.decode(ids);
    });
    std::vector<int32_t> every;
    for (int64_t id = 0; id < tok.vocab_size(); ++id) every.push_back(static_cast<int32_t>(id));
    (void)tok.decode(every);
    const data::Tokenizer back = data::Tokenizer::from_json(tok.to_json());
    fuzz::check(back.vocab_size() == tok.vocab_size(), "to_json/from_json changed the vocabulary");
  });
  return 0;
}
