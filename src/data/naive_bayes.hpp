// A bag-of-words baseline for text classification: binarized multinomial naive Bayes with add-one
// (Laplace) smoothing over lower-cased word and punctuation unigrams.
//
//   tokens:   lower_utf8(text), then runs of word characters (ASCII letters, digits, '_' and every
//             non-ASCII code point) and every other non-space character on its own
//             (the regex \w+|[^\w\s] on lower-cased text, ASCII-wise)
//   training: n_c(w) = number of class-c documents containing w (binarized), N_c = Σ_w n_c(w)
//             log P(w | c) = log((n_c(w) + 1) / (N_c + |V|)),  log P(c) = log(docs_c / docs)
//   predict:  argmax_c log P(c) + Σ_{w in doc, w in V, each once} log P(w | c); ties -> lower id
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace recur::data {

std::vector<std::string> naive_bayes_tokens(std::string_view text);

class NaiveBayes {
 public:
  // labels in [0, num_classes); InvalidArgument for mismatched sizes or ids out of range.
  void fit(std::span<const std::string> texts, std::span<const int64_t> labels,
           int64_t num_classes);
  int64_t predict(std::string_view text) const;
  std::vector<int64_t> predict(std::span<const std::string> texts) const;
  int64_t vocabulary_size() const { return static_cast<int64_t>(word_.size()); }

 private:
  int64_t classes_ = 0;
  std::vector<double> log_prior_;                      // [C]
  std::unordered_map<std::string, std::size_t> word_;  // token -> row of log_lik_
  std::vector<double> log_lik_;                        // [|V|, C]
};

}  // namespace recur::data
