// Text preprocessing: tokenizers (word / character), pad_sequences, to_categorical, language
// model windows, label encoding and stratified splits.
#include "recur/data/text.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <numeric>

#include "recur/error.hpp"
#include "recur/rng.hpp"

namespace recur::data {

namespace {

// Length of the UTF-8 code point starting at s[i] (1..4), or 0 when the bytes there are not
// valid UTF-8 (overlong forms, surrogates and values above U+10FFFF are invalid).
std::size_t code_point_length(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  std::size_t len = 0;
  unsigned lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  }
  if (len == 0 || i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return 0;
  }
  return len;
}

[[noreturn]] void invalid_utf8(std::string_view s, std::size_t i) {
  fail<InvalidArgument>("not valid UTF-8 at byte ", i, " (0x", std::hex,
                        static_cast<unsigned>(static_cast<unsigned char>(s[i])), std::dec,
                        "); convert the text to UTF-8 first");
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

const char* level_name(TokenLevel l) { return l == TokenLevel::word ? "word" : "character"; }

// Parses the whole string as a finite number.
bool parse_number(const std::string& s, double& out) {
  if (s.empty()) return false;
  const char* b = s.c_str();
  char* e = nullptr;
  out = std::strtod(b, &e);
  return e == b + s.size() && std::isfinite(out);
}

}  // namespace

std::string lower_utf8(std::string_view text) {
  std::string out(text);
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto c = static_cast<unsigned char>(out[i]);
    if (c >= 'A' && c <= 'Z') {
      out[i] = static_cast<char>(c + 32);
    } else if (c == 0xC3 && i + 1 < out.size()) {
      const auto d = static_cast<unsigned char>(out[i + 1]);
      if (d >= 0x80 && d <= 0x9E && d != 0x97) out[i + 1] = static_cast<char>(d + 0x20);
      ++i;
    }
  }
  return out;
}

std::vector<std::string> utf8_code_points(std::string_view text) {
  std::vector<std::string> out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = code_point_length(text, i);
    if (n == 0) invalid_utf8(text, i);
    out.emplace_back(text.substr(i, n));
    i += n;
  }
  return out;
}

// ---- Tokenizer ----

Tokenizer Tokenizer::words(TokenizerOptions options) {
  Tokenizer t;
  t.level_ = TokenLevel::word;
  t.opt_ = std::move(options);
  if (t.opt_.num_words != 0 && t.opt_.num_words < 2)
    fail<InvalidArgument>(
        "Tokenizer: num_words must be 0 (no limit) or >= 2 (ids 0 and 1 are "
        "padding and OOV), got ",
        t.opt_.num_words);
  if (t.opt_.min_count < 1)
    fail<InvalidArgument>("Tokenizer: min_count must be >= 1, got ", t.opt_.min_count);
  if (t.opt_.oov_token.empty()) fail<InvalidArgument>("Tokenizer: oov_token must not be empty");
  t.index_word_ = {"", t.opt_.oov_token};
  t.counts_ = {0, 0};
  return t;
}

Tokenizer Tokenizer::characters(TokenizerOptions options, bool lower) {
  options.lower = lower;
  Tokenizer t = words(std::move(options));
  t.level_ = TokenLevel::character;
  return t;
}

std::vector<std::string> Tokenizer::split(std::string_view text_in) const {
  const std::string text = opt_.lower ? lower_utf8(text_in) : std::string(text_in);
  std::vector<std::string> out;
  if (level_ == TokenLevel::character) return utf8_code_points(text);
  std::string cur;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = code_point_length(text, i);
    if (n == 0) invalid_utf8(text, i);
    const std::string_view cp(text.data() + i, n);
    i += n;
    if (n == 1 && is_space(cp[0])) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else if (opt_.filters.find(cp) != std::string::npos) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
      if (opt_.punctuation_tokens) out.emplace_back(cp);
    } else {
      cur.append(cp);
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

void Tokenizer::fit(std::span<const std::string> texts) {
  std::unordered_map<std::string, std::size_t> slot;  // token -> position in `seen`
  std::vector<std::pair<std::string, int64_t>> seen;  // first-seen order
  for (std::size_t k = 0; k < texts.size(); ++k) {
    std::vector<std::string> tokens;
    try {
      tokens = split(texts[k]);
    } catch (const InvalidArgument& e) {
      fail<InvalidArgument>("text ", k, ": ", e.what());
    }
    for (std::string& tok : tokens) {
      auto [it, fresh] = slot.try_emplace(tok, seen.size());
      if (fresh) seen.emplace_back(std::move(tok), 0);
      ++seen[it->second].second;
    }
  }
  std::stable_sort(seen.begin(), seen.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  index_word_ = {"", opt_.oov_token};
  counts_ = {0, 0};
  for (auto& [tok, n] : seen) {
    if (n < opt_.min_count) break;  // sorted: the rest are rarer
    if (opt_.num_words > 0 && static_cast<int64_t>(index_word_.size()) >= opt_.num_words) break;
    if (tok == opt_.oov_token) continue;
    index_word_.push_back(std::move(tok));
    counts_.push_back(n);
  }
  rebuild_index();
}

void Tokenizer::fit(std::string_view text) {
  const std::string one(text);
  fit(std::span<const std::string>(&one, 1));
}

void Tokenizer::rebuild_index() {
  word_index_.clear();
  word_index_.reserve(index_word_.size());
  for (std::size_t i = 2; i < index_word_.size(); ++i)
    word_index_.emplace(index_word_[i], static_cast<int32_t>(i));
}

int32_t Tokenizer::id(std::string_view token) const {
  const auto it = word_index_.find(std::string(token));
  return it == word_index_.end() ? kOov : it->second;
}

const std::string& Tokenizer::token(int32_t id) const {
  if (id < 0 || id >= vocab_size())
    fail<InvalidArgument>("Tokenizer: id ", id, " is outside the vocabulary [0, ", vocab_size(),
                          ")");
  return index_word_[static_cast<std::size_t>(id)];
}

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
  std::vector<int32_t> out;
  if (level_ == TokenLevel::character && !opt_.lower) {
    // Fast path for long texts (language models): no intermediate token strings.
    out.reserve(text.size());
    std::string cp;
    for (std::size_t i = 0; i < text.size();) {
      const std::size_t n = code_point_length(text, i);
      if (n == 0) invalid_utf8(text, i);
      cp.assign(text.data() + i, n);
      out.push_back(id(cp));
      i += n;
    }
    return out;
  }
  for (const std::string& tok : split(text)) out.push_back(id(tok));
  return out;
}

std::vector<std::vector<int32_t>> Tokenizer::encode(std::span<const std::string> texts) const {
  std::vector<std::vector<int32_t>> out;
  out.reserve(texts.size());
  for (std::size_t k = 0; k < texts.size(); ++k) {
    try {
      out.push_back(encode(texts[k]));
    } catch (const InvalidArgument& e) {
      fail<InvalidArgument>("text ", k, ": ", e.what());
    }
  }
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  std::string out;
  bool first = true;
  for (int32_t i : ids) {
    if (i == kPad) continue;
    const std::string& t = token(i);
    if (level_ == TokenLevel::word && !first) out += ' ';
    out += t;
    first = false;
  }
  return out;
}

nlohmann::json Tokenizer::to_json() const {
  nlohmann::json vocab = nlohmann::json::array();
  for (std::size_t i = 2; i < index_word_.size(); ++i) vocab.push_back(index_word_[i]);
  return {{"class_name", "Tokenizer"},
          {"level", level_name(level_)},
          {"lower", opt_.lower},
          {"filters", opt_.filters},
          {"punctuation_tokens", opt_.punctuation_tokens},
          {"num_words", opt_.num_words},
          {"min_count", opt_.min_count},
          {"oov_token", opt_.oov_token},
          {"vocabulary", vocab}};
}

Tokenizer Tokenizer::from_json(const nlohmann::json& j) {
  auto bad = [](const std::string& what) -> void {
    fail<FormatError>("recur.preprocessing tokenizer: ", what);
  };
  if (!j.is_object()) bad("expected a JSON object");
  // A JSON comparison: a class_name that is not a string is rejected, not a json type_error.
  const auto cls = j.find("class_name");
  if (cls == j.end() || *cls != "Tokenizer") bad("\"class_name\" must be \"Tokenizer\"");
  TokenizerOptions o;
  TokenLevel level = TokenLevel::word;
  try {
    const std::string lv = j.at("level").get<std::string>();
    if (lv == "character" || lv == "char")
      level = TokenLevel::character;
    else if (lv != "word")
      bad("\"level\" must be \"word\" or \"character\", got \"" + lv + "\"");
    o.lower = j.value("lower", level == TokenLevel::word);
    o.filters = j.value("filters", std::string(kKerasFilters));
    o.punctuation_tokens = j.value("punctuation_tokens", false);
    // Integers only: json's get<int64_t>() on a float such as 1e83 is an out-of-range
    // conversion (undefined behaviour), and 2.5 would be cut silently.
    auto integer = [&](const char* key, int64_t dflt) -> int64_t {
      if (!j.contains(key)) return dflt;
      const nlohmann::json& v = j.at(key);
      if (!v.is_number_integer() ||
          (v.is_number_unsigned() &&
           v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)))
        bad(std::string("\"") + key + "\" must be an integer, got " + v.dump());
      return v.get<int64_t>();
    };
    o.num_words = integer("num_words", 0);
    o.min_count = integer("min_count", 1);
    o.oov_token = j.value("oov_token", std::string("<OOV>"));
  } catch (const nlohmann::json::exception& e) {
    bad(std::string("malformed option: ") + e.what());
  }
  if (!j.contains("vocabulary") || !j.at("vocabulary").is_array())
    bad("\"vocabulary\" must be an array of strings");
  Tokenizer t;
  try {
    t = level == TokenLevel::word ? words(o) : characters(o, o.lower);
  } catch (const InvalidArgument& e) {
    bad(e.what());
  }
  for (const auto& v : j.at("vocabulary")) {
    if (!v.is_string()) bad("\"vocabulary\" must be an array of strings");
    t.index_word_.push_back(v.get<std::string>());
    t.counts_.push_back(0);
  }
  t.rebuild_index();
  if (t.word_index_.size() + 2 != t.index_word_.size()) bad("\"vocabulary\" repeats a token");
  if (o.num_words > 0 && t.vocab_size() > o.num_words)
    bad("\"vocabulary\" has more tokens than num_words allows");
  return t;
}

// ---- padding, one-hot, windows ----

PadSide parse_pad_side(std::string_view name, std::string_view what) {
  if (name == "pre") return PadSide::pre;
  if (name == "post") return PadSide::post;
  fail<InvalidArgument>(what, ": expected \"pre\" or \"post\", got \"", name, "\"");
}

const char* pad_side_name(PadSide side) { return side == PadSide::pre ? "pre" : "post"; }

Tensor pad_sequences(std::span<const std::vector<int32_t>> sequences, PadOptions options) {
  if (options.maxlen < 0)
    fail<InvalidArgument>("pad_sequences: maxlen must be >= 0, got ", options.maxlen);
  int64_t T = options.maxlen;
  if (T == 0)
    for (const auto& s : sequences) T = std::max(T, static_cast<int64_t>(s.size()));
  const auto N = static_cast<int64_t>(sequences.size());
  Tensor out({N, T}, static_cast<float>(options.value));
  for (int64_t n = 0; n < N; ++n) {
    const auto& s = sequences[static_cast<std::size_t>(n)];
    const auto len = static_cast<int64_t>(s.size());
    const int64_t keep = std::min(len, T);
    const int64_t src0 = options.truncating == PadSide::pre ? len - keep : 0;
    const int64_t dst0 = options.padding == PadSide::pre ? T - keep : 0;
    float* row = out.data() + n * T;
    for (int64_t k = 0; k < keep; ++k)
      row[dst0 + k] = static_cast<float>(s[static_cast<std::size_t>(src0 + k)]);
  }
  return out;
}

Tensor to_categorical(std::span<const int64_t> labels, int64_t num_classes) {
  if (num_classes < 0)
    fail<InvalidArgument>("to_categorical: num_classes must be >= 0, got ", num_classes);
  int64_t C = num_classes;
  if (C == 0)
    for (int64_t l : labels) C = std::max(C, l + 1);
  const auto N = static_cast<int64_t>(labels.size());
  Tensor out({N, C}, 0.0f);
  for (int64_t n = 0; n < N; ++n) {
    const int64_t l = labels[static_cast<std::size_t>(n)];
    if (l < 0 || l >= C)
      fail<InvalidArgument>("to_categorical: label ", l, " at row ", n, " is outside [0, ", C, ")");
    out[n * C + l] = 1.0f;
  }
  return out;
}

TokenWindows next_token_windows(std::span<const int32_t> ids, int64_t seq_len, int64_t stride,
                           int64_t offset) {
  if (seq_len < 1 || stride < 1 || offset < 0)
    fail<InvalidArgument>(
        "next_token_windows: seq_len and stride must be >= 1 and offset >= 0, "
        "got ",
        seq_len, ", ", stride, ", ", offset);
  const auto L = static_cast<int64_t>(ids.size());
  if (L - 1 - offset < seq_len)
    fail<InvalidArgument>("next_token_windows: a sequence of ", L, " tokens (offset ", offset,
                          ") is too short for one window of ", seq_len, " steps (needs ",
                          seq_len + 1 + offset, ")");
  const int64_t N = (L - 1 - offset - seq_len) / stride + 1;
  TokenWindows w{Tensor({N, seq_len}), Tensor({N, seq_len})};
  for (int64_t n = 0; n < N; ++n) {
    const int64_t s = offset + n * stride;
    for (int64_t t = 0; t < seq_len; ++t) {
      w.x[n * seq_len + t] = static_cast<float>(ids[static_cast<std::size_t>(s + t)]);
      w.y[n * seq_len + t] = static_cast<float>(ids[static_cast<std::size_t>(s + t + 1)]);
    }
  }
  return w;
}

// ---- labels and splits ----

std::vector<int64_t> encode_labels(std::span<const std::string> labels,
                                   std::vector<std::string>& names) {
  names.assign(labels.begin(), labels.end());
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  bool numeric = !names.empty();
  std::vector<double> values(names.size());
  for (std::size_t i = 0; i < names.size() && numeric; ++i)
    numeric = parse_number(names[i], values[i]);
  if (numeric) {
    std::vector<std::size_t> order(names.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
    std::vector<std::string> sorted;
    for (std::size_t i : order) sorted.push_back(names[i]);
    names = std::move(sorted);
  }
  std::unordered_map<std::string, int64_t> index;
  for (std::size_t i = 0; i < names.size(); ++i) index.emplace(names[i], static_cast<int64_t>(i));
  std::vector<int64_t> out;
  out.reserve(labels.size());
  for (const std::string& l : labels) out.push_back(index.at(l));
  return out;
}

Split stratified_split(std::span<const int64_t> labels, double fraction, uint64_t seed) {
  if (!(fraction >= 0.0 && fraction < 1.0))
    fail<InvalidArgument>("stratified_split: fraction must be in [0, 1), got ", fraction);
  int64_t C = 0;
  for (int64_t l : labels) {
    if (l < 0) fail<InvalidArgument>("stratified_split: negative class id ", l);
    C = std::max(C, l + 1);
  }
  std::vector<std::vector<int64_t>> by_class(static_cast<std::size_t>(C));
  for (std::size_t i = 0; i < labels.size(); ++i)
    by_class[static_cast<std::size_t>(labels[i])].push_back(static_cast<int64_t>(i));
  Rng rng(seed, Rng::kShuffle);
  Split s;
  for (auto& rows : by_class) {
    const auto n = static_cast<int64_t>(rows.size());
    for (int64_t i = n - 1; i > 0; --i)
      std::swap(rows[static_cast<std::size_t>(i)], rows[rng.below(static_cast<uint64_t>(i + 1))]);
    auto k = static_cast<int64_t>(std::llround(fraction * static_cast<double>(n)));
    if (n >= 2 && fraction > 0.0) k = std::clamp<int64_t>(k, 1, n - 1);
    if (n < 2) k = 0;
    s.test.insert(s.test.end(), rows.begin(), rows.begin() + k);
    s.train.insert(s.train.end(), rows.begin() + k, rows.end());
  }
  std::sort(s.train.begin(), s.train.end());
  std::sort(s.test.begin(), s.test.end());
  return s;
}

}  // namespace recur::data
