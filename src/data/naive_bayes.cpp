// Binarized multinomial naive Bayes (the bag-of-words baseline of recur classify).
#include "data/naive_bayes.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>

#include "recur/data/text.hpp"
#include "recur/error.hpp"

namespace recur::data {

namespace {
bool is_word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c >= 0x80;
}
bool is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
}  // namespace

std::vector<std::string> naive_bayes_tokens(std::string_view text) {
  const std::string s = lower_utf8(text);
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (is_space(c)) {
      ++i;
    } else if (is_word_byte(c)) {
      std::size_t j = i;
      while (j < s.size() && is_word_byte(static_cast<unsigned char>(s[j]))) ++j;
      out.emplace_back(s, i, j - i);
      i = j;
    } else {
      out.emplace_back(1, s[i]);
      ++i;
    }
  }
  return out;
}

void NaiveBayes::fit(std::span<const std::string> texts, std::span<const int64_t> labels,
                     int64_t num_classes) {
  if (texts.size() != labels.size())
    fail<InvalidArgument>("NaiveBayes::fit: ", texts.size(), " texts but ", labels.size(),
                          " labels");
  if (num_classes < 1) fail<InvalidArgument>("NaiveBayes::fit: num_classes must be >= 1");
  classes_ = num_classes;
  const auto C = static_cast<std::size_t>(num_classes);
  std::vector<double> docs(C, 0.0), totals(C, 0.0);
  std::vector<std::vector<double>> counts;  // [|V|][C]
  word_.clear();
  for (std::size_t k = 0; k < texts.size(); ++k) {
    const int64_t l = labels[k];
    if (l < 0 || l >= num_classes)
      fail<InvalidArgument>("NaiveBayes::fit: label ", l, " at row ", k, " is outside [0, ",
                            num_classes, ")");
    const auto c = static_cast<std::size_t>(l);
    docs[c] += 1.0;
    std::vector<std::string> toks = naive_bayes_tokens(texts[k]);
    std::sort(toks.begin(), toks.end());
    toks.erase(std::unique(toks.begin(), toks.end()), toks.end());
    for (std::string& t : toks) {
      auto [it, fresh] = word_.try_emplace(std::move(t), counts.size());
      if (fresh) counts.emplace_back(C, 0.0);
      counts[it->second][c] += 1.0;
      totals[c] += 1.0;
    }
  }
  const double V = static_cast<double>(word_.size());
  const double N = static_cast<double>(texts.size());
  log_prior_.assign(C, 0.0);
  for (std::size_t c = 0; c < C; ++c)
    log_prior_[c] =
        docs[c] > 0.0 ? std::log(docs[c] / N) : -std::numeric_limits<double>::infinity();
  log_lik_.assign(counts.size() * C, 0.0);
  for (std::size_t w = 0; w < counts.size(); ++w)
    for (std::size_t c = 0; c < C; ++c)
      log_lik_[w * C + c] = std::log((counts[w][c] + 1.0) / (totals[c] + V));
}

int64_t NaiveBayes::predict(std::string_view text) const {
  if (classes_ == 0) fail<InvalidArgument>("NaiveBayes::predict before fit");
  const auto C = static_cast<std::size_t>(classes_);
  std::vector<double> score(log_prior_);
  std::vector<std::string> toks = naive_bayes_tokens(text);
  std::sort(toks.begin(), toks.end());
  toks.erase(std::unique(toks.begin(), toks.end()), toks.end());
  for (const std::string& t : toks) {
    const auto it = word_.find(t);
    if (it == word_.end()) continue;
    for (std::size_t c = 0; c < C; ++c) score[c] += log_lik_[it->second * C + c];
  }
  return static_cast<int64_t>(std::max_element(score.begin(), score.end()) - score.begin());
}

std::vector<int64_t> NaiveBayes::predict(std::span<const std::string> texts) const {
  std::vector<int64_t> out;
  out.reserve(texts.size());
  for (const std::string& t : texts) out.push_back(predict(t));
  return out;
}

}  // namespace recur::data
