// Text preprocessing: tokenizers (Keras conventions), pad_sequences, to_categorical, windows,
// label encoding, stratified splits, and the naive Bayes baseline on the shipped sentiment data.
#include "recur/data/text.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include "data/naive_bayes.hpp"
#include "recur/data/table.hpp"
#include "recur/error.hpp"
#include "recur/rng.hpp"

using namespace recur;
using namespace recur::data;

namespace {
std::vector<float> row(const Tensor& t, int64_t n) {
  const int64_t T = t.dim(1);
  return {t.data() + n * T, t.data() + (n + 1) * T};
}
}  // namespace

TEST(Tokenizer, WordsLikeKeras) {
  // Keras: Tokenizer(oov_token="<OOV>").fit_on_texts(texts) gives word_index
  // {'<OOV>': 1, 'the': 2, 'cat': 3, 'sat': 4, 'dog': 5, 'ran': 6} (count, then first seen).
  std::vector<std::string> texts = {"The cat sat.", "The dog ran!", "the CAT"};
  Tokenizer tok = Tokenizer::words();
  tok.fit(texts);
  EXPECT_EQ(tok.vocab_size(), 7);
  EXPECT_EQ(tok.id("the"), 2);
  EXPECT_EQ(tok.id("cat"), 3);
  EXPECT_EQ(tok.id("sat"), 4);
  EXPECT_EQ(tok.id("dog"), 5);
  EXPECT_EQ(tok.id("ran"), 6);
  EXPECT_EQ(tok.id("zebra"), Tokenizer::kOov);
  EXPECT_EQ(tok.token(0), "");
  EXPECT_EQ(tok.token(1), "<OOV>");
  EXPECT_EQ(tok.encode("The zebra, the cat"), (std::vector<int32_t>{2, 1, 2, 3}));
  EXPECT_EQ(tok.decode(std::vector<int32_t>{0, 0, 2, 1, 3}), "the <OOV> cat");
  EXPECT_EQ(tok.counts()[2], 3);
  EXPECT_THROW(tok.token(7), InvalidArgument);
}

TEST(Tokenizer, SplitRules) {
  Tokenizer tok = Tokenizer::words();
  // Apostrophes are not in Keras's filters; tabs, CR and several spaces separate.
  EXPECT_EQ(tok.split("Don't  STOP--now\t\r\nÉtÉ"),
            (std::vector<std::string>{"don't", "stop", "now", "été"}));
  Tokenizer punct = Tokenizer::words({.punctuation_tokens = true});
  EXPECT_EQ(punct.split("Great, really great!!"),
            (std::vector<std::string>{"great", ",", "really", "great", "!", "!"}));
  Tokenizer keep_case = Tokenizer::words({.lower = false});
  EXPECT_EQ(keep_case.split("Hello World"), (std::vector<std::string>{"Hello", "World"}));
  EXPECT_THROW(tok.split("bad \xff byte"), InvalidArgument);
}

TEST(Tokenizer, NumWordsAndMinCount) {
  std::vector<std::string> texts = {"a a a b b c", "a b c d"};
  // Keras num_words=4: ids < 4 kept (a=2, b=3); everything else -> OOV.
  Tokenizer tok = Tokenizer::words({.num_words = 4});
  tok.fit(texts);
  EXPECT_EQ(tok.vocab_size(), 4);
  EXPECT_EQ(tok.encode("a b c d e"), (std::vector<int32_t>{2, 3, 1, 1, 1}));
  Tokenizer mc = Tokenizer::words({.min_count = 2});
  mc.fit(texts);
  EXPECT_EQ(mc.vocab_size(), 5);  // pad, oov, a, b, c
  EXPECT_EQ(mc.id("d"), 1);
  EXPECT_THROW(Tokenizer::words({.num_words = 1}), InvalidArgument);
  EXPECT_THROW(Tokenizer::words({.min_count = 0}), InvalidArgument);
}

TEST(Tokenizer, CharactersKeepCaseAndUnicode) {
  Tokenizer tok = Tokenizer::characters();
  tok.fit(std::string_view("abca\nÅé é"));
  // counts: a 2, é 2, then b, c, \n, Å, ' ' once each in first-seen order.
  EXPECT_EQ(tok.id("a"), 2);
  EXPECT_EQ(tok.id("é"), 3);
  EXPECT_EQ(tok.id("b"), 4);
  EXPECT_EQ(tok.id("Å"), 7);
  EXPECT_EQ(tok.vocab_size(), 9);
  const std::vector<int32_t> ids = tok.encode("Åbz");
  EXPECT_EQ(ids, (std::vector<int32_t>{7, 4, 1}));
  EXPECT_EQ(tok.decode(std::vector<int32_t>{7, 4, 3}), "Åbé");
  EXPECT_THROW(tok.encode("a\xc3"), InvalidArgument);  // truncated sequence
}

TEST(Tokenizer, JsonRoundTrip) {
  Tokenizer tok = Tokenizer::words({.num_words = 100, .punctuation_tokens = true});
  tok.fit(std::vector<std::string>{"Hello, world!", "hello again"});
  const nlohmann::json j = tok.to_json();
  EXPECT_EQ(j["level"], "word");
  EXPECT_EQ(j["vocabulary"][0], "hello");
  Tokenizer back = Tokenizer::from_json(nlohmann::json::parse(j.dump()));
  EXPECT_EQ(back.vocab_size(), tok.vocab_size());
  EXPECT_EQ(back.encode("again, hello? world"), tok.encode("again, hello? world"));
  EXPECT_EQ(back.to_json(), j);

  Tokenizer ch = Tokenizer::characters();
  ch.fit(std::string_view("to be or not"));
  Tokenizer ch2 = Tokenizer::from_json(ch.to_json());
  EXPECT_EQ(ch2.level(), TokenLevel::character);
  EXPECT_EQ(ch2.encode("Tobe"), ch.encode("Tobe"));

  nlohmann::json bad = j;
  bad["vocabulary"] = {"a", "a"};
  EXPECT_THROW(Tokenizer::from_json(bad), FormatError);
  bad = j;
  bad["level"] = "byte";
  EXPECT_THROW(Tokenizer::from_json(bad), FormatError);
  bad = j;
  bad.erase("vocabulary");
  EXPECT_THROW(Tokenizer::from_json(bad), FormatError);
  EXPECT_THROW(Tokenizer::from_json(nlohmann::json::array()), FormatError);
}

TEST(PadSequences, PreAndPostLikeKeras) {
  const std::vector<std::vector<int32_t>> seqs = {{1, 2, 3, 4}, {5, 6}, {}};
  Tensor d = pad_sequences(seqs);  // maxlen = longest, padding pre
  ASSERT_EQ(d.shape(), (Shape{3, 4}));
  EXPECT_EQ(row(d, 1), (std::vector<float>{0, 0, 5, 6}));
  EXPECT_EQ(row(d, 2), (std::vector<float>{0, 0, 0, 0}));
  Tensor pre = pad_sequences(seqs, {.maxlen = 3});  // truncating pre keeps the end
  EXPECT_EQ(row(pre, 0), (std::vector<float>{2, 3, 4}));
  EXPECT_EQ(row(pre, 1), (std::vector<float>{0, 5, 6}));
  Tensor post = pad_sequences(
      seqs, {.maxlen = 3, .padding = PadSide::post, .truncating = PadSide::post, .value = 9});
  EXPECT_EQ(row(post, 0), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(row(post, 1), (std::vector<float>{5, 6, 9}));
  EXPECT_EQ(pad_sequences(std::vector<std::vector<int32_t>>{}, {.maxlen = 5}).shape(),
            (Shape{0, 5}));
  EXPECT_EQ(parse_pad_side("post", "--padding"), PadSide::post);
  EXPECT_THROW(parse_pad_side("middle", "--padding"), InvalidArgument);
}

TEST(ToCategorical, OneHot) {
  const std::vector<int64_t> labels = {0, 2, 1};
  Tensor t = to_categorical(labels);
  ASSERT_EQ(t.shape(), (Shape{3, 3}));
  EXPECT_EQ(row(t, 1), (std::vector<float>{0, 0, 1}));
  EXPECT_EQ(to_categorical(labels, 5).dim(1), 5);
  EXPECT_THROW(to_categorical(labels, 2), InvalidArgument);
  EXPECT_THROW(to_categorical(std::vector<int64_t>{-1}), InvalidArgument);
}

TEST(TokenWindows, NextToken) {
  const std::vector<int32_t> ids = {1, 2, 3, 4, 5, 6, 7};
  TokenWindows w = next_token_windows(ids, 3, 2);
  ASSERT_EQ(w.x.shape(), (Shape{2, 3}));
  EXPECT_EQ(row(w.x, 1), (std::vector<float>{3, 4, 5}));
  EXPECT_EQ(row(w.y, 1), (std::vector<float>{4, 5, 6}));
  TokenWindows o = next_token_windows(ids, 3, 3, 1);
  ASSERT_EQ(o.x.dim(0), 1);
  EXPECT_EQ(row(o.y, 0), (std::vector<float>{3, 4, 5}));
  EXPECT_THROW(next_token_windows(ids, 7, 1), InvalidArgument);
}

TEST(Labels, EncodeAndStratifiedSplit) {
  std::vector<std::string> names;
  const std::vector<std::string> num = {"10", "2", "2", "-1"};
  EXPECT_EQ(encode_labels(num, names), (std::vector<int64_t>{2, 1, 1, 0}));
  EXPECT_EQ(names, (std::vector<std::string>{"-1", "2", "10"}));
  const std::vector<std::string> words = {"pos", "neg", "pos"};
  EXPECT_EQ(encode_labels(words, names), (std::vector<int64_t>{1, 0, 1}));

  std::vector<int64_t> labels(100, 0);
  for (int i = 0; i < 30; ++i) labels[static_cast<std::size_t>(i * 3)] = 1;
  labels[99] = 2;  // a class with one row stays in training
  Split s = stratified_split(labels, 0.2, 7);
  EXPECT_EQ(s.train.size() + s.test.size(), 100u);
  int64_t test_ones = 0;
  for (int64_t i : s.test) test_ones += labels[static_cast<std::size_t>(i)] == 1;
  EXPECT_EQ(test_ones, 6);
  EXPECT_EQ(s.test.size(), 20u);  // 6 of 30 + 14 of 69 (rounded) + 0 of 1
  EXPECT_TRUE(std::is_sorted(s.test.begin(), s.test.end()));
  Split again = stratified_split(labels, 0.2, 7);
  EXPECT_EQ(again.test, s.test);
  EXPECT_NE(stratified_split(labels, 0.2, 8).test, s.test);
}

TEST(NaiveBayes, Tokens) {
  EXPECT_EQ(naive_bayes_tokens("Don't buy it!!  Très BAD."),
            (std::vector<std::string>{"don", "'", "t", "buy", "it", "!", "!", "très", "bad", "."}));
}

TEST(NaiveBayes, TinyProblem) {
  const std::vector<std::string> texts = {"good great fun", "great movie", "bad awful",
                                          "awful boring bad"};
  const std::vector<int64_t> labels = {1, 1, 0, 0};
  NaiveBayes nb;
  nb.fit(texts, labels, 2);
  EXPECT_EQ(nb.predict("a great film"), 1);
  EXPECT_EQ(nb.predict("so boring"), 0);
  EXPECT_THROW(nb.fit(texts, std::vector<int64_t>{1, 1, 0, 3}, 2), InvalidArgument);
}

// The documented baseline (shared/data/README.md §4): 10-fold CV after a seeded shuffle gives
// about 83.5 % on the shipped sentiment sentences.
TEST(NaiveBayes, SentimentTenFoldCrossValidation) {
  const Table t =
      read_table(std::string(RECUR_SOURCE_DIR) + "/data/sentiment_labelled_sentences.tsv", '\t');
  ASSERT_EQ(t.rows.size(), 3000u);
  const std::vector<std::string> text = t.strings("sentence");
  std::vector<std::string> names;
  const std::vector<int64_t> y = encode_labels(t.strings("label"), names);
  ASSERT_EQ(names, (std::vector<std::string>{"0", "1"}));
  std::vector<std::size_t> order(text.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  Rng rng(1, Rng::kShuffle);
  for (std::size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
  int64_t correct = 0;
  for (std::size_t fold = 0; fold < 10; ++fold) {
    std::vector<std::string> tr_x, te_x;
    std::vector<int64_t> tr_y, te_y;
    for (std::size_t k = 0; k < order.size(); ++k) {
      const std::size_t i = order[k];
      if (k % 10 == fold) {
        te_x.push_back(text[i]);
        te_y.push_back(y[i]);
      } else {
        tr_x.push_back(text[i]);
        tr_y.push_back(y[i]);
      }
    }
    NaiveBayes nb;
    nb.fit(tr_x, tr_y, 2);
    const std::vector<int64_t> p = nb.predict(te_x);
    for (std::size_t k = 0; k < p.size(); ++k) correct += p[k] == te_y[k];
  }
  const double acc = static_cast<double>(correct) / 3000.0;
  EXPECT_GT(acc, 0.82);
  EXPECT_LT(acc, 0.85);
}
