// Character-level text generation: train Embedding -> LSTM(return_sequences) -> Dense(logits)
// briefly on a slice of Tiny Shakespeare, then sample one character at a time with a streaming
// state and a temperature. Mirrors the Keras (TensorFlow text generation tutorial) snippet
//
//   model = Sequential([Embedding(vocab, 64), LSTM(256, return_sequences=True), Dense(vocab)])
//   model.compile(optimizer='adam',
//                 loss=SparseCategoricalCrossentropy(from_logits=True))
//   model.fit(dataset, epochs=...)
//   # sampling: a stateful copy fed one character at a time
//   logits = model(next_char)[:, -1, :] / temperature
//   next_char = tf.random.categorical(logits, num_samples=1)
//
// Prints the loss per epoch and 300 sampled characters. Exits 1 unless the final training loss is
// below the unigram entropy of the slice (what a model that ignores context gets).
//
//   char_textgen [--quick] [data/tinyshakespeare.txt]
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "recur/data/text.hpp"
#include "recur/recur.hpp"

using namespace recur;

// Draws an id from logits / temperature (never id 0 = padding or 1 = unknown).
int32_t sample(const float* logits, int64_t V, double temperature, Rng& rng) {
  std::vector<double> p(static_cast<std::size_t>(V), 0.0);
  double m = -std::numeric_limits<double>::infinity(), total = 0.0;
  for (int64_t v = 2; v < V; ++v) m = std::max(m, static_cast<double>(logits[v]));
  for (int64_t v = 2; v < V; ++v)
    total += p[static_cast<std::size_t>(v)] = std::exp((logits[v] - m) / temperature);
  double u = rng.uniform() * total;
  for (int64_t v = 2; v < V; ++v)
    if ((u -= p[static_cast<std::size_t>(v)]) < 0.0) return static_cast<int32_t>(v);
  return static_cast<int32_t>(V - 1);
}

int main(int argc, char** argv) {
  bool quick = false;
  std::string path = std::string(RECUR_EXAMPLE_DATA_DIR) + "/tinyshakespeare.txt";
  if (const char* d = std::getenv("RECUR_DATA_DIR")) path = std::string(d) + "/tinyshakespeare.txt";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) quick = true;
    else path = argv[i];
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << path << ": cannot open\n";
    return 1;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str().substr(0, quick ? 20000 : 200000);

  // Characters -> ids (0 padding, 1 unknown, 2.. by frequency), windows of 64 characters whose
  // targets are the same characters shifted by one.
  data::Tokenizer tok = data::Tokenizer::characters();
  tok.fit(text);
  const std::vector<int32_t> ids = tok.encode(text);
  const int64_t V = tok.vocab_size(), T = 64;
  const data::TokenWindows w = data::next_token_windows(ids, T, T);  // x, y [N, 64]
  double unigram = 0.0;
  for (int64_t c : tok.counts())
    if (c > 0) {
      const double p = static_cast<double>(c) / static_cast<double>(ids.size());
      unigram -= p * std::log(p);
    }

  Sequential model("char_lm");
  model.add(std::make_unique<Embedding>("embedding",
                                        EmbeddingOptions{.input_dim = V, .output_dim = 32}));
  model.add(make_lstm("lstm", {.units = quick ? 128 : 256, .return_sequences = true}));
  model.add(std::make_unique<Dense>("dense", DenseOptions{.units = V}));  // logits
  model.build({-1}, /*seed=*/0);
  CompileOptions co = compile_options("adam", "sparse_categorical_crossentropy");
  co.losses[0].from_logits = true;
  co.optimizer.learning_rate = 5e-3;
  co.optimizer.global_clipnorm = 5.0;
  model.compile(co);
  FitOptions fit;
  fit.epochs = quick ? 3 : 5;
  fit.batch_size = quick ? 16 : 64;
  fit.verbose = 2;  // one line per epoch
  const History h = model.fit(w.x, w.y, fit);
  const double loss = h.history.at("loss").back();
  std::cout << "final loss " << loss << " nats/char (unigram entropy " << unigram << ")\n";

  // Sampling: feed a prompt, then one character at a time; the LSTM state carries over.
  Rng rng(0, Rng::kSample);
  StreamState state = model.make_stream_state(1);
  const std::vector<int32_t> prompt = tok.encode("ROMEO:");
  Tensor x({1, static_cast<int64_t>(prompt.size())});
  for (std::size_t i = 0; i < prompt.size(); ++i) x[static_cast<int64_t>(i)] = static_cast<float>(prompt[i]);
  const Tensor& y = model.step(state, x);  // [1, 6, V]: logits after each prompt character
  std::vector<float> logits(y.data() + (y.dim(1) - 1) * V, y.data() + y.dim(1) * V);
  std::string out = "ROMEO:";
  Tensor one({1});
  for (int n = 0; n < 300; ++n) {
    const int32_t id = sample(logits.data(), V, /*temperature=*/0.8, rng);
    out += tok.token(id);
    one[0] = static_cast<float>(id);
    const Tensor& z = model.step(state, one);  // [1, V]
    logits.assign(z.data(), z.data() + V);
  }
  std::cout << "--- sample (temperature 0.8) ---\n" << out << "\n";
  if (!(loss < unigram)) {
    std::cerr << "FAIL: final loss " << loss << " is not below the unigram entropy " << unigram
              << "\n";
    return 1;
  }
  return 0;
}
