// Sentiment classification with Embedding + SimpleRNN, LSTM and GRU side by side, on 3000 labelled
// review sentences (Amazon, IMDb, Yelp; label 1 = positive). Mirrors the Keras snippet
//
//   tok = Tokenizer(num_words=2000, oov_token='<OOV>'); tok.fit_on_texts(train_texts)
//   X = pad_sequences(tok.texts_to_sequences(texts), maxlen=30)
//   for Cell in (SimpleRNN, LSTM, GRU):
//       model = Sequential([Embedding(2000, 32, mask_zero=True), Cell(32),
//                           Dense(1, activation='sigmoid')])
//       model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])
//       model.fit(X_train, y_train, epochs=8, batch_size=32)
//       loss, acc = model.evaluate(X_test, y_test)
//
// A stratified 20 % of the sentences is the test set. Exits 1 unless every cell beats the
// majority class by 5 points (--quick: the best cell beats it at all).
//
//   sentiment_rnn_lstm_gru [--quick] [data/sentiment_labelled_sentences.tsv]
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

#include "recur/data/table.hpp"
#include "recur/data/text.hpp"
#include "recur/recur.hpp"

using namespace recur;

int main(int argc, char** argv) {
  bool quick = false;
  std::string path = std::string(RECUR_EXAMPLE_DATA_DIR) + "/sentiment_labelled_sentences.tsv";
  if (const char* d = std::getenv("RECUR_DATA_DIR"))
    path = std::string(d) + "/sentiment_labelled_sentences.tsv";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) quick = true;
    else path = argv[i];
  }

  // Columns: label, source, sentence (tabs only).
  const data::Table table = data::read_table(path, '\t');
  const std::vector<std::string> texts = table.strings("sentence");
  std::vector<int64_t> labels;
  for (double v : table.numbers("label")) labels.push_back(static_cast<int64_t>(v));
  const data::Split split = data::stratified_split(labels, 0.2, /*seed=*/0);

  auto rows = [&](const std::vector<int64_t>& idx, std::vector<std::string>& t, Tensor& y) {
    y.resize({static_cast<int64_t>(idx.size()), 1});
    for (std::size_t i = 0; i < idx.size(); ++i) {
      t.push_back(texts[static_cast<std::size_t>(idx[i])]);
      y[static_cast<int64_t>(i)] = static_cast<float>(labels[static_cast<std::size_t>(idx[i])]);
    }
  };
  std::vector<std::string> train_texts, test_texts;
  Tensor y_train, y_test;
  rows(split.train, train_texts, y_train);
  rows(split.test, test_texts, y_test);

  // Word tokenizer fitted on the training sentences; ids padded/truncated to 30 tokens.
  data::Tokenizer tok = data::Tokenizer::words({.num_words = 2000});
  tok.fit(train_texts);
  const data::PadOptions pad{.maxlen = 30};
  const Tensor x_train = data::pad_sequences(tok.encode(train_texts), pad);
  const Tensor x_test = data::pad_sequences(tok.encode(test_texts), pad);

  double positives = 0.0;
  for (int64_t i = 0; i < y_test.numel(); ++i) positives += y_test[i];
  const double majority =
      std::max(positives, static_cast<double>(y_test.numel()) - positives) / y_test.numel();
  std::cout << train_texts.size() << " training and " << test_texts.size()
            << " test sentences, vocabulary " << tok.vocab_size() << "; majority class "
            << std::fixed << std::setprecision(3) << majority << "\n";

  double worst = 1.0, best = 0.0;
  for (CellKind cell : {CellKind::simple, CellKind::lstm, CellKind::gru}) {
    const RecurrentOptions ro{.units = 32};
    Sequential model;
    model.add(std::make_unique<Embedding>(
        "embedding", EmbeddingOptions{.input_dim = tok.vocab_size(), .output_dim = 32,
                                      .mask_zero = true}));
    model.add(cell == CellKind::simple ? make_simple_rnn("rnn", ro)
              : cell == CellKind::lstm ? make_lstm("rnn", ro)
                                       : make_gru("rnn", ro));
    model.add(std::make_unique<Dense>("dense", DenseOptions{.units = 1,
                                                            .activation = Activation::sigmoid}));
    model.build({-1}, /*seed=*/0);
    model.compile(compile_options("adam", "binary_crossentropy", {"accuracy"}));
    FitOptions fit;
    fit.epochs = quick ? 1 : 8;
    fit.batch_size = 32;
    fit.verbose = 0;
    model.fit(x_train, y_train, fit);
    double loss = 0.0, acc = 0.0;
    for (const auto& [name, value] : model.evaluate(x_test, y_test, {}))  // loss, accuracy
      (name == "loss" ? loss : acc) = value;
    std::cout << std::left << std::setw(10) << model.layer("rnn").class_name() << " test loss "
              << loss << ", accuracy " << acc << "\n";
    worst = std::min(worst, acc);
    best = std::max(best, acc);
  }
  const bool ok = quick ? best > majority : worst > majority + 0.05;
  if (!ok) {
    std::cerr << "FAIL: accuracies (worst " << worst << ", best " << best
              << ") do not clear the bound over the majority class " << majority << "\n";
    return 1;
  }
  return 0;
}
