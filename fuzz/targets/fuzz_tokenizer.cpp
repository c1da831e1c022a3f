// Target: the text Tokenizer on arbitrary text: word level (Keras defaults, and punctuation
// tokens with num_words and min_count limits) and character level; fit on the input's lines,
// encode, decode, pad_sequences, and a to_json / from_json round trip.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "recur/data/text.hpp"

namespace {

void exercise(recur::data::Tokenizer tok, const std::vector<std::string>& lines,
              const std::string& all) {
  using namespace recur;
  tok.fit(lines);
  const std::vector<std::vector<int32_t>> ids = tok.encode(lines);
  fuzz::check(ids.size() == lines.size(), "encode returned the wrong number of sequences");
  for (const auto& seq : ids) {
    for (int32_t id : seq)
      fuzz::check(id >= 0 && id < tok.vocab_size(), "encode returned an id outside the vocabulary");
    (void)tok.decode(seq);
  }
  (void)data::pad_sequences(ids, {.maxlen = 8});
  (void)tok.split(all);
  const data::Tokenizer back = data::Tokenizer::from_json(tok.to_json());
  fuzz::check(back.vocab_size() == tok.vocab_size(), "to_json/from_json changed the vocabulary");
  fuzz::check(back.encode(all) == tok.encode(all), "to_json/from_json changed encode()");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace recur;
  const std::string all = fuzz::string_of(data, size);
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= all.size(); ++i)
    if (i == all.size() || all[i] == '\n') {
      lines.push_back(all.substr(start, i - start));
      start = i + 1;
    }
  // Invalid UTF-8 is rejected by fit() with InvalidArgument: a clean rejection.
  fuzz::accept_errors([&] { exercise(data::Tokenizer::words(), lines, all); });
  fuzz::accept_errors([&] {
    exercise(data::Tokenizer::words({.num_words = 6, .min_count = 2, .punctuation_tokens = true}),
             lines, all);
  });
  fuzz::accept_errors([&] { exercise(data::Tokenizer::characters(), lines, all); });
  fuzz::accept_errors([&] {
    exercise(data::Tokenizer::characters({.num_words = 4}, /*lower=*/true), lines, all);
  });
  return 0;
}
