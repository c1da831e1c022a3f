// Text preprocessing as Keras does it: a word or character Tokenizer (index 0 = padding,
// 1 = out-of-vocabulary, 2.. = tokens by falling frequency), pad_sequences, to_categorical, and
// next-token windows for language models.
//
//   Tokenizer tok = Tokenizer::words({.num_words = 10000});
//   tok.fit(train_texts);                              // fit_on_texts
//   Tensor x = pad_sequences(tok.encode(texts), {.maxlen = 50});   // ids [N, 50] as floats
//   model.add(std::make_unique<Embedding>("embedding",
//       EmbeddingOptions{.input_dim = tok.vocab_size(), .output_dim = 64, .mask_zero = true}));
//   save_model(path, model, {{"recur.preprocessing", pre.dump()}});   // pre["tokenizer"] =
//                                                                       //   tok.to_json()
//
// Splitting rules (documented in docs/FORMAT.md, "Text preprocessing"):
//   word level: lower-case (ASCII and Latin-1 letters), then every character of `filters` (Keras's
//     default: !"#$%&()*+,-./:;<=>?@[\]^_`{|}~ tab newline) becomes a separator, or — with
//     punctuation_tokens — a token of its own; tokens are the non-empty pieces between ASCII
//     whitespace (space, \t, \n, \r, \v, \f).
//   character level: every UTF-8 code point is a token (no lower-casing unless asked).
// The vocabulary is ordered by count, descending; ties keep first-seen order (Keras).
// With num_words = n > 0 only ids < n are used: the n - 2 most frequent tokens keep their ids,
// the rest map to the OOV id 1 (Keras with oov_token set).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "recur/tensor.hpp"

namespace recur::data {

enum class TokenLevel { word, character };

// Keras Tokenizer's default `filters`.
inline constexpr std::string_view kKerasFilters = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n";

struct TokenizerOptions {
  int64_t num_words = 0;  // vocabulary limit including ids 0 and 1; 0 = no limit
  int64_t min_count = 1;  // tokens seen fewer times in fit() map to OOV
  bool lower = true;      // words: lower-case first (character level: see characters())
  std::string filters = std::string(kKerasFilters);  // word level only
  bool punctuation_tokens = false;  // word level: filter characters become tokens, not separators
  std::string oov_token = "<OOV>";
};

class Tokenizer {
 public:
  static constexpr int32_t kPad = 0;
  static constexpr int32_t kOov = 1;

  Tokenizer() = default;  // a word tokenizer with default options
  static Tokenizer words(TokenizerOptions options = {});
  // Character level: `options.lower` defaults to false here unless set explicitly through
  // characters(options, true).
  static Tokenizer characters(TokenizerOptions options = {}, bool lower = false);

  TokenLevel level() const { return level_; }
  const TokenizerOptions& options() const { return opt_; }

  // Counts tokens over `texts` and builds the vocabulary (replaces any earlier one).
  // InvalidArgument for text that is not valid UTF-8 (naming the text's index).
  void fit(std::span<const std::string> texts);
  void fit(std::string_view text);  // one long text (character language models)

  // The tokens of one text after lower-casing and splitting (no vocabulary lookup).
  std::vector<std::string> split(std::string_view text) const;
  // Ids of one text's tokens (unknown -> 1); texts_to_sequences.
  std::vector<int32_t> encode(std::string_view text) const;
  std::vector<std::vector<int32_t>> encode(std::span<const std::string> texts) const;
  // Tokens joined by ' ' (words) or concatenated (characters); 0 is skipped, 1 gives the OOV
  // token; ids outside the vocabulary -> InvalidArgument.
  std::string decode(std::span<const int32_t> ids) const;

  // Ids in use: [0, vocab_size()) — the Embedding's input_dim (at least 2).
  int64_t vocab_size() const { return static_cast<int64_t>(index_word_.size()); }
  // Id of a token (1 when unknown or beyond num_words).
  int32_t id(std::string_view token) const;
  // Token of an id ("" for 0, the OOV token for 1); InvalidArgument outside [0, vocab_size()).
  const std::string& token(int32_t id) const;
  // How often each vocabulary token was seen in fit() (index = id; 0 for ids 0 and 1).
  const std::vector<int64_t>& counts() const { return counts_; }

  // {"class_name": "Tokenizer", "level": "word"|"character", "lower", "filters",
  //  "punctuation_tokens", "num_words", "min_count", "oov_token", "vocabulary": [ids 2..]}
  nlohmann::json to_json() const;
  // FormatError naming the key for a malformed object.
  static Tokenizer from_json(const nlohmann::json& j);

 private:
  void rebuild_index();
  TokenLevel level_ = TokenLevel::word;
  TokenizerOptions opt_;
  std::vector<std::string> index_word_{"", "<OOV>"};
  std::vector<int64_t> counts_{0, 0};
  std::unordered_map<std::string, int32_t> word_index_;
};

// Lower-cases ASCII and Latin-1 (U+00C0–U+00DE) letters of UTF-8 text; other bytes unchanged.
std::string lower_utf8(std::string_view text);
// Splits UTF-8 text into code points (each a 1–4 byte string). InvalidArgument when invalid.
std::vector<std::string> utf8_code_points(std::string_view text);

// Keras pad_sequences.
enum class PadSide { pre, post };
struct PadOptions {
  int64_t maxlen = 0;  // 0: the longest sequence
  PadSide padding = PadSide::pre;
  PadSide truncating = PadSide::pre;
  int32_t value = 0;
};
// -> ids as floats [N, maxlen] (the model's token-id input). N = 0 gives [0, maxlen].
Tensor pad_sequences(std::span<const std::vector<int32_t>> sequences, PadOptions options = {});
PadSide parse_pad_side(std::string_view name, std::string_view what);  // "pre" | "post"
const char* pad_side_name(PadSide side);

// Keras to_categorical: class ids [N] -> one-hot [N, num_classes] (num_classes 0: max id + 1).
// InvalidArgument for a negative id or one >= num_classes (naming the row).
Tensor to_categorical(std::span<const int64_t> labels, int64_t num_classes = 0);

// Language-model windows over one id sequence: sample i starts at offset + i·stride, its input is
// ids[s, s + T) and its target ids[s + 1, s + T + 1). -> x [N, T], y [N, T] (floats).
// N = the number of whole windows that fit; InvalidArgument when none does.
struct TokenWindows {
  Tensor x, y;
};
TokenWindows next_token_windows(std::span<const int32_t> ids, int64_t seq_len, int64_t stride,
                           int64_t offset = 0);

// Classes as strings -> ids 0..C-1 in sorted order (numbers compare numerically when every label
// is a number: "2" < "10"); `names` gets the class names by id.
std::vector<int64_t> encode_labels(std::span<const std::string> labels,
                                   std::vector<std::string>& names);

// Indices of a stratified hold-out: per class, round(fraction · count) rows (at least one when the
// class has two or more rows), picked by a seeded shuffle. Returns {train, test}, each sorted.
struct Split {
  std::vector<int64_t> train, test;
};
Split stratified_split(std::span<const int64_t> labels, double fraction, uint64_t seed);

}  // namespace recur::data
