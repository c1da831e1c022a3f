// recur textgen: a character-level LSTM language model.
//
//   recur textgen train [TXT] [--minutes M | --epochs E] [--units H] [--layers L] [--seq-len T]
//                       [--batch-size B] [--lr R] [--model OUT] [--json]
//   recur textgen sample --model M [--prompt P] [--length N] [--temperature T] [--top-k K]
//                        [--seed S]
//
// Training: the first 90 % of the text's characters train, the last 10 % validate. Each epoch
// cuts the training text into non-overlapping windows of T characters starting at a random
// offset (stateless windows: every window starts from zero state); the model is
// Embedding -> LSTM(return_sequences) x L -> Dense(vocab) (logits), trained with per-step
// sparse categorical crossentropy and Adam with a cosine learning-rate decay over the budget.
// Validation runs the model as a stream (state carried over the whole validation text, split
// into up to 32 parallel streams), which is how `sample` uses it.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "cli/builtin_data.hpp"
#include "cli/commands.hpp"
#include "cli/report_format.hpp"
#include "cli/task_common.hpp"
#include "recur/data/table.hpp"
#include "recur/data/text.hpp"
#include "recur/error.hpp"
#include "recur/io/model_file.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/embedding.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/model/sequential.hpp"
#include "recur/report/svg.hpp"
#include "recur/rng.hpp"
#include "recur/train/callbacks.hpp"
#include "recur/train/fit.hpp"
#include "recur/train/optimizer.hpp"

namespace recur::cli {

namespace {

constexpr const char* kDefaultText = "tinyshakespeare.txt";
using Clock = std::chrono::steady_clock;

struct TrainArgs {
  TaskArgs task;
  std::string file;
  std::optional<double> minutes;
  std::optional<int> epochs;
  int64_t units = 256, layers = 1, embedding_dim = 64, seq_len = 50, batch_size = 64;
  double lr = 0.003, val_fraction = 0.1;
  int64_t sample_length = 300;
};

struct SampleArgs {
  std::string model, prompt = "\n";
  int64_t length = 500, top_k = 0;
  double temperature = 0.8;
  uint64_t seed = 0;
  int threads = 0;
  bool json = false;
};

// The whole file as UTF-8 text (IoError when missing, FormatError when empty or not UTF-8).
std::string read_text(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail<IoError>(path, ": cannot open: no such file");
  if (std::filesystem::is_directory(path, ec))
    fail<IoError>(path, ": cannot open: it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail<IoError>(path, ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string text = std::move(ss).str();
  if (text.empty()) fail<FormatError>(path, ": the file is empty (expected text)");
  data::check_utf8(text, path);
  if (text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);  // BOM
  return text;
}

// ---- evaluation and sampling (the streaming API) ----

// Mean next-character crossentropy (nats) over `ids`, run as S parallel streams with carried
// state (stream s reads its own contiguous part). Returns the loss and the characters scored.
std::pair<double, int64_t> stream_loss(Sequential& model, std::span<const int32_t> ids,
                                       int64_t chunk = 200) {
  const auto L = static_cast<int64_t>(ids.size());
  const int64_t S = std::clamp<int64_t>((L - 1) / 256, 1, 32);
  const int64_t Ls = (L - 1) / S;
  if (Ls < 1) return {std::numeric_limits<double>::quiet_NaN(), 0};
  StreamState st = model.make_stream_state(S);
  Tensor x;
  double sum = 0.0;
  for (int64_t t0 = 0; t0 < Ls; t0 += chunk) {
    const int64_t tc = std::min(chunk, Ls - t0);
    x.resize({S, tc});
    for (int64_t s = 0; s < S; ++s)
      for (int64_t t = 0; t < tc; ++t)
        x[s * tc + t] = static_cast<float>(ids[static_cast<std::size_t>(s * Ls + t0 + t)]);
    const Tensor& y = model.step(st, x);  // [S, tc, V] logits
    const int64_t V = y.dim(2);
    for (int64_t s = 0; s < S; ++s)
      for (int64_t t = 0; t < tc; ++t) {
        const float* z = y.data() + (s * tc + t) * V;
        const float m = *std::max_element(z, z + V);
        double e = 0.0;
        for (int64_t v = 0; v < V; ++v) e += std::exp(static_cast<double>(z[v] - m));
        const int32_t target = ids[static_cast<std::size_t>(s * Ls + t0 + t + 1)];
        sum += std::log(e) + m - z[target];
      }
  }
  return {sum / static_cast<double>(S * Ls), S * Ls};
}

// Draws the next id from logits: padding and OOV are never drawn; temperature 0 = argmax;
// top_k > 0 keeps the k most likely.
int32_t draw(const float* logits, int64_t V, double temperature, int64_t top_k, Rng& rng,
             std::vector<double>& p) {
  p.assign(static_cast<std::size_t>(V), -std::numeric_limits<double>::infinity());
  for (int64_t v = 2; v < V; ++v) p[static_cast<std::size_t>(v)] = logits[v];
  if (temperature <= 0.0)
    return static_cast<int32_t>(std::max_element(p.begin(), p.end()) - p.begin());
  if (top_k > 0 && top_k < V - 2) {
    std::vector<double> sorted(p.begin() + 2, p.end());
    std::nth_element(sorted.begin(), sorted.begin() + (top_k - 1), sorted.end(),
                     std::greater<double>());
    const double kth = sorted[static_cast<std::size_t>(top_k - 1)];
    for (double& z : p)
      if (z < kth) z = -std::numeric_limits<double>::infinity();
  }
  const double m = *std::max_element(p.begin(), p.end());
  double total = 0.0;
  for (double& z : p) {
    z = std::isfinite(z) ? std::exp((z - m) / temperature) : 0.0;
    total += z;
  }
  double u = static_cast<double>(rng.uniform()) * total;
  for (int64_t v = 2; v < V; ++v) {
    u -= p[static_cast<std::size_t>(v)];
    if (u < 0.0) return static_cast<int32_t>(v);
  }
  for (int64_t v = V - 1; v >= 2; --v)
    if (p[static_cast<std::size_t>(v)] > 0.0) return static_cast<int32_t>(v);
  return 2;
}

// Feeds the prompt, then draws `length` characters one step at a time; `emit` receives each.
void generate(Sequential& model, const data::Tokenizer& tok, const std::vector<int32_t>& prompt,
              int64_t length, double temperature, int64_t top_k, uint64_t seed,
              const std::function<void(const std::string&)>& emit) {
  StreamState st = model.make_stream_state(1);
  Rng rng(seed, Rng::kSample);
  Tensor x({1, static_cast<int64_t>(prompt.size())});
  for (std::size_t i = 0; i < prompt.size(); ++i)
    x[static_cast<int64_t>(i)] = static_cast<float>(prompt[i]);
  const Tensor& y = model.step(st, x);  // [1, Tp, V]
  const int64_t V = y.dim(2);
  std::vector<float> logits(y.data() + (y.dim(1) - 1) * V, y.data() + y.dim(1) * V);
  std::vector<double> p;
  Tensor one({1});
  for (int64_t n = 0; n < length; ++n) {
    const int32_t id = draw(logits.data(), V, temperature, top_k, rng, p);
    emit(tok.token(id));
    one[0] = static_cast<float>(id);
    const Tensor& z = model.step(st, one);  // [1, V]
    std::copy(z.data(), z.data() + V, logits.begin());
  }
}

// ---- training ----

double cosine_lr(double base, double f) {
  f = std::clamp(f, 0.0, 1.0);
  return base * (0.05 + 0.95 * 0.5 * (1.0 + std::cos(3.14159265358979323846 * f)));
}

// Time budget, learning-rate schedule and progress lines across the per-epoch fit() calls.
class TrainDriver : public Callback {
 public:
  TrainDriver(std::ostream& log, double budget_s, int epochs, double base_lr)
      : log_(log),
        budget_s_(budget_s),
        epochs_(epochs),
        base_lr_(base_lr),
        t0_(Clock::now()),
        last_print_(t0_) {}

  void begin_epoch(int e) { epoch_ = e; }
  double fraction(int64_t step, int64_t steps) const {
    if (budget_s_ > 0) return seconds_since(t0_) / budget_s_;
    return (epoch_ + static_cast<double>(step) / static_cast<double>(std::max<int64_t>(steps, 1))) /
           epochs_;
  }
  double epochs_done() const { return epochs_done_; }
  int64_t steps() const { return global_step_; }
  bool out_of_time() const { return budget_s_ > 0 && seconds_since(t0_) >= budget_s_; }
  double elapsed() const { return seconds_since(t0_); }
  // (epochs, mean training loss) every few hundred steps.
  const std::vector<std::pair<double, double>>& curve() const { return curve_; }

  void on_epoch_begin(FitState& s, int) override {
    s.optimizer->set_learning_rate(cosine_lr(base_lr_, fraction(0, s.steps_per_epoch)));
  }
  void on_batch_end(FitState& s, int64_t step, const Logs& logs) override {
    ++global_step_;
    epochs_done_ = epoch_ + static_cast<double>(step + 1) / static_cast<double>(s.steps_per_epoch);
    const auto it = logs.find("batch_loss");
    if (it != logs.end()) {
      sum_ += it->second;
      ++count_;
      print_sum_ += it->second;
      ++print_count_;
    }
    if (count_ >= 100) {
      curve_.emplace_back(epochs_done_, sum_ / static_cast<double>(count_));
      sum_ = 0.0;
      count_ = 0;
    }
    const double f = fraction(step + 1, s.steps_per_epoch);
    if (out_of_time()) s.stop_training = true;
    s.optimizer->set_learning_rate(cosine_lr(base_lr_, f));
    if (std::chrono::duration<double>(Clock::now() - last_print_).count() >= 15.0) {
      last_print_ = Clock::now();
      log_ << "  epoch " << fixed(epochs_done_, 2) << "  step " << global_step_ << "  loss "
           << fixed(print_sum_ / static_cast<double>(std::max<int64_t>(print_count_, 1)), 4)
           << "  lr " << fixed(s.optimizer->current_learning_rate(), 5) << "  "
           << clock_str(elapsed());
      if (budget_s_ > 0) log_ << " / " << clock_str(budget_s_);
      log_ << std::endl;
      print_sum_ = 0.0;
      print_count_ = 0;
    }
  }

 private:
  std::ostream& log_;
  double budget_s_;
  int epochs_;
  double base_lr_;
  Clock::time_point t0_, last_print_;
  int epoch_ = 0;
  double epochs_done_ = 0.0;
  int64_t global_step_ = 0;
  double sum_ = 0.0, print_sum_ = 0.0;  // batch losses since the last curve point / line
  int64_t count_ = 0, print_count_ = 0;
  std::vector<std::pair<double, double>> curve_;
};

int run_train(const TrainArgs& a) {
  apply_threads(a.task);
  check_model_writable(a.task);
  std::ostream& log = task_log(a.task);
  const std::string path = a.file.empty() ? builtin_data_path(kDefaultText) : a.file;
  const std::string text = read_text(path);
  const std::vector<std::string> chars = data::utf8_code_points(text);
  const auto n_all = static_cast<int64_t>(chars.size());
  const auto n_val =
      static_cast<int64_t>(std::llround(a.val_fraction * static_cast<double>(n_all)));
  const int64_t n_train = n_all - n_val;
  const int64_t min_train = 2 * a.seq_len + 1;
  if (n_train < min_train || n_val < 2)
    fail<InvalidArgument>(path, ": ", n_all, " characters are too few: training on windows of ",
                          a.seq_len, " needs at least ", min_train, " training characters plus ",
                          "a 10 % validation part (try a smaller --seq-len or a longer text)");
  // Byte offset where the validation part (the last 10 % of characters) begins.
  std::size_t split_byte = 0;
  for (int64_t i = 0; i < n_train; ++i) split_byte += chars[static_cast<std::size_t>(i)].size();
  const std::string_view train_text(text.data(), split_byte);
  const std::string_view val_text(text.data() + split_byte, text.size() - split_byte);

  data::Tokenizer tok = data::Tokenizer::characters();
  tok.fit(train_text);
  const std::vector<int32_t> train_ids = tok.encode(train_text), val_ids = tok.encode(val_text);
  const int64_t V = tok.vocab_size();

  // Unigram baseline: add-one smoothed training frequencies over the ids a model can output.
  double unigram = 0.0;
  {
    std::vector<double> count(static_cast<std::size_t>(V), 1.0);
    count[0] = 0.0;
    for (int32_t i : train_ids) count[static_cast<std::size_t>(i)] += 1.0;
    const double total = static_cast<double>(n_train) + static_cast<double>(V - 1);
    for (std::size_t i = 1; i < val_ids.size(); ++i)
      unigram -= std::log(count[static_cast<std::size_t>(val_ids[i])] / total);
    unigram /= static_cast<double>(val_ids.size() - 1);
  }

  Sequential model("char_lm");
  model.add(std::make_unique<Embedding>(
      "embedding", EmbeddingOptions{.input_dim = V, .output_dim = a.embedding_dim}));
  for (int64_t l = 0; l < a.layers; ++l)
    model.add(make_lstm(l == 0 ? "lstm" : "lstm_" + std::to_string(l),
                        {.units = a.units, .return_sequences = true}));
  model.add(std::make_unique<Dense>("dense", DenseOptions{.units = V}));
  model.build({-1}, a.task.seed);
  CompileOptions co = compile_options("adam", "sparse_categorical_crossentropy");
  co.losses[0].from_logits = true;
  co.optimizer.learning_rate = a.lr;
  co.optimizer.global_clipnorm = 5.0;
  model.compile(co);

  const double budget_s = a.epochs ? 0.0 : 60.0 * a.minutes.value_or(15.0);
  const int max_epochs = a.epochs ? *a.epochs : std::numeric_limits<int>::max();
  log << "textgen: " << path << ": " << n_all << " characters (" << n_train << " train, " << n_val
      << " validation), vocabulary " << V - 2 << " characters\n"
      << "model: Embedding(" << a.embedding_dim << ") -> LSTM(" << a.units << ")"
      << (a.layers > 1 ? " x " + std::to_string(a.layers) : std::string()) << " -> Dense(" << V
      << "), " << model.param_count() << " parameters; windows of " << a.seq_len
      << " characters, batches of " << a.batch_size << "; "
      << (budget_s > 0 ? "time budget " + clock_str(budget_s)
                       : std::to_string(max_epochs) + " epochs")
      << "\nbaselines: unigram " << fixed(unigram, 3) << " nats/char, uniform "
      << fixed(std::log(static_cast<double>(V - 2)), 3) << "\n";

  const double cpu0 = cpu_seconds();
  auto driver = std::make_shared<TrainDriver>(log, budget_s, a.epochs ? *a.epochs : 1, a.lr);
  Rng offsets(a.task.seed, Rng::kShuffle);
  std::vector<std::pair<double, double>> val_curve;  // (epochs, val loss)
  double val_loss = std::numeric_limits<double>::quiet_NaN();
  for (int e = 0; e < max_epochs && !driver->out_of_time(); ++e) {
    const auto offset =
        static_cast<int64_t>(e == 0 ? 0 : offsets.below(static_cast<uint64_t>(a.seq_len)));
    const data::TokenWindows w = data::next_token_windows(train_ids, a.seq_len, a.seq_len, offset);
    FitOptions fo;
    fo.epochs = 1;
    fo.batch_size = a.batch_size;
    fo.seed = a.task.seed + static_cast<uint64_t>(e);
    fo.verbose = 0;
    fo.callbacks = {driver, terminate_on_nan()};
    driver->begin_epoch(e);
    const History h = model.fit(w.x, w.y, fo);
    check_not_nan(h, a.task);
    val_loss = stream_loss(model, val_ids).first;
    val_curve.emplace_back(driver->epochs_done(), val_loss);
    log << "epoch " << fixed(driver->epochs_done(), 2) << ": validation loss " << fixed(val_loss, 4)
        << " nats/char (" << fixed(val_loss / std::log(2.0), 3) << " bits/char)  "
        << clock_str(driver->elapsed()) << " (cpu " << clock_str(cpu_seconds() - cpu0) << ")"
        << std::endl;
  }
  const double seconds = driver->elapsed(), cpu = cpu_seconds() - cpu0;

  const nlohmann::json pre = {{"task", "textgen"},
                              {"tokenizer", tok.to_json()},
                              {"seq_len", a.seq_len},
                              {"outputs", "logits"}};
  save_model(a.task.model, model, {{"recur.preprocessing", pre.dump()}});

  std::string sample;
  generate(model, tok, tok.encode("\n"), a.sample_length, 0.8, 0, a.task.seed,
           [&](const std::string& c) { sample += c; });

  const std::string dir = report_dir(a.task);
  report::LineChart chart{
      "recur textgen: loss per character", "epoch", "nats / character", {}, {}, -1, ""};
  report::Series tr{"train (mean of 100 batches)", {}, {}, "", false};
  for (const auto& [x, y] : driver->curve()) {
    tr.x.push_back(x);
    tr.y.push_back(y);
  }
  report::Series va{"validation", {}, {}, "", false};
  for (const auto& [x, y] : val_curve) {
    va.x.push_back(x);
    va.y.push_back(y);
  }
  report::Series uni{"unigram baseline",
                     {0.0, std::max(driver->epochs_done(), 1e-3)},
                     {unigram, unigram},
                     "",
                     true};
  chart.series = {tr, va, uni};
  report::write_line_chart(dir + "/loss.svg", chart);
  write_text_file(dir + "/sample.txt", sample);

  log << "\nvalidation loss " << fixed(val_loss, 4) << " nats/char ("
      << fixed(val_loss / std::log(2.0), 3) << " bits/char); unigram baseline " << fixed(unigram, 3)
      << "; " << fixed(driver->epochs_done(), 2) << " epochs in " << clock_str(seconds) << " (cpu "
      << clock_str(cpu) << ")\nmodel: " << a.task.model << "\npictures: " << dir
      << "/ (loss.svg, sample.txt)\n\nsample (temperature 0.8):\n"
      << sample << "\n";
  print_json(a.task, {{"val_loss_nats", finite_or_null(val_loss)},
                      {"val_bits_per_char", finite_or_null(val_loss / std::log(2.0))},
                      {"baseline_unigram_nats", unigram},
                      {"baseline_uniform_nats", std::log(static_cast<double>(V - 2))},
                      {"train_chars", n_train},
                      {"val_chars", n_val},
                      {"vocab_size", V},
                      {"epochs", driver->epochs_done()},
                      {"steps", driver->steps()},
                      {"seconds", seconds},
                      {"cpu_seconds", cpu},
                      {"sample", sample},
                      {"model", a.task.model},
                      {"report_dir", dir}});
  return 0;
}

// ---- sampling ----

int run_sample(const SampleArgs& a) {
  TaskArgs t;
  t.threads = a.threads;
  apply_threads(t);
  std::map<std::string, std::string> meta;
  Sequential model = load_sequential(a.model, &meta);
  const nlohmann::json pre = find_preprocessing(meta, "textgen");
  if (pre.is_null())
    fail<FormatError>(a.model,
                      ": not a character language model written by recur textgen train "
                      "(recur.preprocessing has no textgen vocabulary)");
  data::Tokenizer tok;
  try {
    tok = data::Tokenizer::from_json(pre.at("tokenizer"));
  } catch (const nlohmann::json::exception& e) {
    fail<FormatError>(a.model, ": malformed recur.preprocessing: ", e.what());
  } catch (const Error& e) {  // the tokenizer's own checks
    fail<FormatError>(a.model, ": malformed recur.preprocessing: ", e.what());
  }
  if (tok.level() != data::TokenLevel::character || !model.takes_token_ids() ||
      model.output_shape().back() != tok.vocab_size())
    fail<FormatError>(a.model, ": the vocabulary (", tok.vocab_size(),
                      " ids) does not match the model's output ", shape_str(model.output_shape()));
  if (a.prompt.empty()) fail<InvalidArgument>("--prompt must not be empty");
  std::vector<int32_t> prompt;
  try {
    prompt = tok.encode(a.prompt);
  } catch (const InvalidArgument& e) {
    fail<InvalidArgument>("--prompt: ", e.what());
  }
  const auto unknown = std::count(prompt.begin(), prompt.end(), data::Tokenizer::kOov);
  if (unknown > 0)
    std::cerr << "recur: note: " << unknown << " prompt character(s) are not in the model's "
              << "vocabulary and are read as unknown\n";
  std::string out;
  if (!a.json) std::cout << a.prompt << std::flush;
  generate(model, tok, prompt, a.length, a.temperature, a.top_k, a.seed, [&](const std::string& c) {
    out += c;
    if (!a.json) std::cout << c << std::flush;
  });
  if (a.json)
    std::cout << nlohmann::json{{"prompt", a.prompt},
                                {"text", out},
                                {"seed", a.seed},
                                {"temperature", a.temperature},
                                {"top_k", a.top_k}}
                     .dump()
              << "\n";
  else
    std::cout << "\n";
  return 0;
}

}  // namespace

void register_textgen(CLI::App& app, std::function<int()>& run) {
  CLI::App* cmd = app.add_subcommand(
      "textgen", "Character-level LSTM language model: train on a text, then sample from it");
  cmd->require_subcommand(1);

  auto a = std::make_shared<TrainArgs>();
  CLI::App* train = cmd->add_subcommand(
      "train",
      "Train on a UTF-8 text file (no TXT: the built-in Tiny Shakespeare); the last 10 % "
      "of the characters validate");
  train->add_option("txt", a->file, "UTF-8 text file (default: data/tinyshakespeare.txt)");
  auto* minutes =
      train->add_option("--minutes", a->minutes, "train for this many minutes (default 15)")
          ->check(CLI::PositiveNumber);
  auto* epochs = train->add_option("--epochs", a->epochs, "train for this many epochs instead")
                     ->check(CLI::PositiveNumber);
  minutes->excludes(epochs);
  train->add_option("--units", a->units, "LSTM units (default 256)")->check(CLI::PositiveNumber);
  train->add_option("--layers", a->layers, "stacked LSTM layers (default 1)")
      ->check(CLI::Range(1, 4));
  train->add_option("--embedding-dim", a->embedding_dim, "character embedding size (default 64)")
      ->check(CLI::PositiveNumber);
  train->add_option("--seq-len", a->seq_len, "characters per training window (default 50)")
      ->check(CLI::PositiveNumber);
  train->add_option("--batch-size", a->batch_size, "windows per batch (default 64)")
      ->check(CLI::PositiveNumber);
  train->add_option("--lr", a->lr, "peak Adam learning rate, cosine-decayed (default 0.003)")
      ->check(CLI::PositiveNumber);
  train
      ->add_option("--sample-length", a->sample_length,
                   "characters of the sample shown after training (default 300)")
      ->check(CLI::NonNegativeNumber);
  add_task_options(train, a->task, "textgen.safetensors");
  train->callback([&run, a] { run = [a] { return run_train(*a); }; });

  auto s = std::make_shared<SampleArgs>();
  CLI::App* sample = cmd->add_subcommand(
      "sample", "Generate text with a trained model, one character at a time (streamed)");
  sample->add_option("--model", s->model, "model written by 'recur textgen train'")->required();
  sample->add_option("--prompt", s->prompt, "text to start from (default: a newline)");
  sample->add_option("--length", s->length, "characters to generate (default 500)")
      ->check(CLI::NonNegativeNumber);
  sample
      ->add_option("--temperature", s->temperature,
                   "softmax temperature; 0 = always the most likely character (default 0.8)")
      ->check(CLI::Range(0.0, 100.0));
  sample->add_option("--top-k", s->top_k, "draw only among the K most likely (default 0: all)")
      ->check(CLI::NonNegativeNumber);
  sample->add_option("--seed", s->seed, "random seed (default 0)");
  sample->add_option("--threads", s->threads, "GEMM threads (default: RECUR_NUM_THREADS or all)")
      ->check(CLI::NonNegativeNumber);
  sample->add_flag("--json", s->json, "print {\"prompt\", \"text\", ...} instead of streaming");
  sample->callback([&run, s] { run = [s] { return run_sample(*s); }; });
}

}  // namespace recur::cli
