// recur seq2seq: a character-level encoder-decoder on pairs of strings (source -> target), e.g.
// dates written by people -> ISO dates. Trains, decodes a seeded held-out split greedily, reports
// exact match and character accuracy next to trivial baselines, and writes the model (both
// vocabularies, start/end tokens and lengths in recur.preprocessing) plus pictures. With
// --predict it decodes new source strings with a trained model.
//
//   recur seq2seq [FILE] [--test-fraction F] [--units H] [--epochs E] ... [--model OUT] [--json]
//   recur seq2seq [FILE] --model M --predict [--text "..."]... [--output PRED.tsv] [--json]
//
// FILE: UTF-8, tab-separated (tabs only, no quote rules), a header line naming the columns
// `source` and `target` (a header naming neither uses the first two columns).
//
// The model (the Keras lstm_seq2seq example, with embeddings instead of one-hot vectors):
//   encoder: ids -> Embedding(mask_zero) -> LSTM(H, return_state)      -> states h, c
//   decoder: ids -> Embedding(mask_zero) -> LSTM(H, return_sequences, initial_state = [h, c])
//            -> Dense(V_target) logits
// Targets are wrapped in a start token "\t" and an end token "\n" (they can never occur inside a
// field). Training uses teacher forcing: the decoder reads "\t" + target and learns target + "\n"
// (per-step sparse categorical crossentropy; padding is masked out).
//
// Greedy decoding re-runs the whole model on the growing prefix: step t feeds the decoder
// "\t" + the t - 1 characters chosen so far and takes the most likely next character (never
// padding or OOV) at the last position, for all rows of a batch at once, until every row has
// produced "\n" or the length limit. That is O(L²) decoder steps for an output of L characters
// instead of O(L) with a separate one-step inference graph, but it needs no second graph and no
// weight copying, and for outputs of a few dozen characters it costs a few full forward passes.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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
#include "recur/model/functional.hpp"
#include "recur/report/svg.hpp"
#include "recur/rng.hpp"
#include "recur/train/callbacks.hpp"
#include "recur/train/fit.hpp"

namespace recur::cli {

namespace {

constexpr const char* kDefaultData = "seq2seq_dates.tsv";
constexpr const char* kStart = "\t";  // start token: a field never holds a tab
constexpr const char* kEnd = "\n";    // end token: nor a newline
constexpr std::size_t kMonitorRows = 500;  // validation pairs decoded after each epoch
using Clock = std::chrono::steady_clock;

struct Seq2seqArgs {
  TaskArgs task;
  std::string file;
  double test_fraction = 0.15, validation_fraction = 0.1;
  int64_t units = 128, embedding_dim = 32, batch_size = 64;
  int epochs = 12, patience = 3;
  double lr = 0.005;
  // --predict
  bool predict = false;
  std::vector<std::string> texts;
  std::string output;
  int64_t max_output_length = 0;  // 0: the model's longest training target
};

// ---- reading pairs ----

struct Pairs {
  std::vector<std::string> source, target;  // target empty when the file has no target column
  std::vector<int64_t> line;                // file line of each row
};

// Reads FILE (tabs only). need_target: training needs a target column; --predict uses one when
// it is there (to score the predictions).
Pairs read_pairs(const std::string& path, bool need_target) {
  const data::Table t = data::read_table(path, '\t');
  auto has = [&](const char* c) {
    return std::find(t.columns.begin(), t.columns.end(), c) != t.columns.end();
  };
  std::size_t src = 0, tgt = 1;
  bool with_target = t.columns.size() >= 2;
  if (has("source") || has("target")) {
    src = t.column("source");  // ConfigError listing the columns when only 'target' is there
    with_target = has("target");
    if (with_target) tgt = t.column("target");
  } else if (need_target && t.columns.size() < 2) {
    fail<FormatError>(path, ": expected two tab-separated columns (a header line 'source<TAB>"
                      "target', then one pair per line), found ", t.columns.size(),
                      " column in the header");
  }
  if (need_target && !with_target)
    fail<ConfigError>(path, ": no column 'target'; training needs a header 'source<TAB>target'");
  Pairs p;
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    std::string s = t.rows[i][src];
    if (s.empty())
      fail<FormatError>(path, ", line ", t.line[i], ": the source is empty");
    p.source.push_back(std::move(s));
    if (with_target) {
      std::string y = t.rows[i][tgt];
      if (y.empty()) fail<FormatError>(path, ", line ", t.line[i], ": the target is empty");
      p.target.push_back(std::move(y));
    }
    p.line.push_back(t.line[i]);
  }
  return p;
}

// ---- encoding, decoding, scoring ----

// The vocabularies, lengths and special tokens: everything needed to use the model again.
struct Preprocessing {
  data::Tokenizer source, target;
  int64_t max_source_length = 0, max_target_length = 0;  // in characters (code points)

  int32_t start_id() const { return target.id(kStart); }
  int32_t end_id() const { return target.id(kEnd); }

  nlohmann::json to_json() const {
    return {{"task", "seq2seq"},
            {"source_tokenizer", source.to_json()},
            {"target_tokenizer", target.to_json()},
            {"start_token", kStart},
            {"end_token", kEnd},
            {"max_source_length", max_source_length},
            {"max_target_length", max_target_length},
            {"padding", "post"},
            {"decoding", "greedy"}};
  }
};

int64_t length_of(const std::string& s) {
  return static_cast<int64_t>(data::utf8_code_points(s).size());
}

// Source strings -> ids [N, Ts] padded after the end (Ts = the longest).
Tensor encode_sources(const data::Tokenizer& tok, const std::vector<std::string>& sources) {
  return data::pad_sequences(tok.encode(std::span<const std::string>(sources)),
                             {.padding = data::PadSide::post});
}

// Teacher forcing: decoder input "\t" + target, decoder target target + "\n", both [N, Tt + 1].
void encode_targets(const data::Tokenizer& tok, const std::vector<std::string>& targets,
                    Tensor& dec_in, Tensor& dec_out) {
  std::vector<std::vector<int32_t>> in, out;
  const int32_t start = tok.id(kStart), end = tok.id(kEnd);
  for (const auto& t : targets) {
    std::vector<int32_t> ids = tok.encode(t);
    in.push_back({start});
    in.back().insert(in.back().end(), ids.begin(), ids.end());
    ids.push_back(end);
    out.push_back(std::move(ids));
  }
  const data::PadOptions po{.padding = data::PadSide::post};
  dec_in = data::pad_sequences(in, po);
  dec_out = data::pad_sequences(out, po);
}

// The model's inputs in its order. The model is built in the Keras order (encoder input first);
// a model file whose first input is named decoder_input is read too.
std::vector<Tensor> model_inputs(const Model& model, const Tensor& enc_x, const Tensor& dec_x) {
  const auto* f = dynamic_cast<const Functional*>(&model);
  if (f && f->input_name(0) == "decoder_input") return {dec_x, enc_x};
  return {enc_x, dec_x};
}

// Greedy decoding (see the file comment): enc_x [N, Ts] -> up to max_len characters per row.
std::vector<std::string> greedy_decode(Model& model, const Preprocessing& pre, const Tensor& enc_x,
                                       int64_t max_len) {
  const int64_t N = enc_x.dim(0);
  const int32_t start = pre.start_id(), end = pre.end_id();
  std::vector<std::vector<int32_t>> out(static_cast<std::size_t>(N));
  std::vector<char> done(static_cast<std::size_t>(N), 0);
  Tensor prefix({N, 1}, static_cast<float>(start));
  int64_t open = N;
  for (int64_t t = 1; t <= max_len + 1 && open > 0; ++t) {
    const Tensor y = model.predict(model_inputs(model, enc_x, prefix), 256)[0];  // [N, t, V]
    const int64_t V = y.dim(2);
    Tensor next({N, t + 1});
    for (int64_t n = 0; n < N; ++n) {
      std::copy(prefix.data() + n * t, prefix.data() + (n + 1) * t, next.data() + n * (t + 1));
      auto& d = done[static_cast<std::size_t>(n)];
      int32_t id = end;
      if (!d) {
        const float* z = y.data() + (n * t + t - 1) * V;
        id = static_cast<int32_t>(std::max_element(z + 2, z + V) - z);  // never pad (0) / OOV (1)
        if (id == end || t > max_len) {
          d = 1;
          --open;
        } else {
          out[static_cast<std::size_t>(n)].push_back(id);
        }
      }
      next[n * (t + 1) + t] = static_cast<float>(id);
    }
    prefix = std::move(next);
  }
  std::vector<std::string> text;
  text.reserve(out.size());
  for (const auto& ids : out) text.push_back(pre.target.decode(ids));
  return text;
}

// Exact match: share of rows predicted exactly. Character accuracy: Σ matching positions /
// Σ max(len(predicted), len(target)), in code points (a missing or extra character is an error).
struct Scores {
  double exact_match = 0.0, char_accuracy = 0.0;
};

Scores score(const std::vector<std::string>& pred, const std::vector<std::string>& truth) {
  Scores s;
  if (truth.empty()) return s;
  int64_t exact = 0, match = 0, total = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    exact += pred[i] == truth[i];
    const auto p = data::utf8_code_points(pred[i]), t = data::utf8_code_points(truth[i]);
    for (std::size_t k = 0; k < std::min(p.size(), t.size()); ++k) match += p[k] == t[k];
    total += static_cast<int64_t>(std::max(p.size(), t.size()));
  }
  s.exact_match = static_cast<double>(exact) / static_cast<double>(truth.size());
  s.char_accuracy = total ? static_cast<double>(match) / static_cast<double>(total) : 1.0;
  return s;
}

// Decodes the validation rows at each epoch end: progress lines, and "val_exact_match" /
// "val_char_accuracy" in the logs (early stopping watches the exact match).
class DecodeMonitor : public Callback {
 public:
  DecodeMonitor(std::ostream& log, const Preprocessing& pre, Tensor enc_x,
                std::vector<std::string> truth, int epochs)
      : log_(log), pre_(pre), enc_x_(std::move(enc_x)), truth_(std::move(truth)), epochs_(epochs),
        t0_(Clock::now()) {}

  void on_epoch_end(FitState& s, int epoch, Logs& logs) override {
    const Scores sc = score(greedy_decode(*s.model, pre_, enc_x_, pre_.max_target_length), truth_);
    logs["val_exact_match"] = sc.exact_match;
    logs["val_char_accuracy"] = sc.char_accuracy;
    log_ << "epoch " << epoch + 1 << "/" << epochs_ << "  loss " << fixed(logs["loss"], 4)
         << "  val_loss " << fixed(logs["val_loss"], 4) << "  val exact match "
         << fixed(sc.exact_match, 3) << "  val char accuracy " << fixed(sc.char_accuracy, 3)
         << "  " << clock_str(seconds_since(t0_)) << std::endl;
    if (sc.exact_match >= 1.0) {  // nothing left to gain on the validation rows
      log_ << "validation exact match is 100 %: stopping" << std::endl;
      s.stop_training = true;
    }
  }

 private:
  std::ostream& log_;
  const Preprocessing& pre_;
  Tensor enc_x_;
  std::vector<std::string> truth_;
  int epochs_;
  Clock::time_point t0_;
};

// ---- training ----

Functional build_model(const Preprocessing& pre, const Seq2seqArgs& a) {
  Functional m("seq2seq");
  const NodeRef enc_in = m.input("encoder_input", {-1});
  const NodeRef enc_emb = m.call(
      std::make_unique<Embedding>("encoder_embedding",
                                  EmbeddingOptions{.input_dim = pre.source.vocab_size(),
                                                   .output_dim = a.embedding_dim,
                                                   .mask_zero = true}),
      {enc_in})[0];
  const std::vector<NodeRef> enc =  // {output, h, c}
      m.call(make_lstm("encoder", {.units = a.units, .return_state = true}), {enc_emb});
  const NodeRef dec_in = m.input("decoder_input", {-1});
  const NodeRef dec_emb = m.call(
      std::make_unique<Embedding>("decoder_embedding",
                                  EmbeddingOptions{.input_dim = pre.target.vocab_size(),
                                                   .output_dim = a.embedding_dim,
                                                   .mask_zero = true}),
      {dec_in})[0];
  const NodeRef dec = m.call(make_lstm("decoder", {.units = a.units, .return_sequences = true}),
                             {dec_emb}, /*initial_state=*/{enc[1], enc[2]})[0];
  const NodeRef out = m.call(
      std::make_unique<Dense>("output", DenseOptions{.units = pre.target.vocab_size()}), {dec})[0];
  m.build({enc_in, dec_in}, {out}, a.task.seed);
  return m;
}

// A seeded shuffle split: round(fraction · n) rows (at least 1) -> {rest, held out}, each sorted.
data::Split random_split(int64_t n, double fraction, uint64_t seed) {
  std::vector<int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  Rng rng(seed, Rng::kShuffle);
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(order[static_cast<std::size_t>(i)],
              order[rng.below(static_cast<uint64_t>(i + 1))]);
  const auto k = std::max<int64_t>(1, std::llround(fraction * static_cast<double>(n)));
  data::Split s;
  s.test.assign(order.begin(), order.begin() + k);
  s.train.assign(order.begin() + k, order.end());
  std::sort(s.test.begin(), s.test.end());
  std::sort(s.train.begin(), s.train.end());
  return s;
}

int run_train(const Seq2seqArgs& a) {
  apply_threads(a.task);
  check_model_writable(a.task);
  const auto t_start = Clock::now();
  std::ostream& log = task_log(a.task);
  const std::string path = a.file.empty() ? builtin_data_path(kDefaultData) : a.file;
  const Pairs all = read_pairs(path, true);
  const auto n_all = static_cast<int64_t>(all.source.size());
  if (n_all < 10)
    fail<InvalidArgument>(path, ": only ", n_all, n_all == 1 ? " pair" : " pairs",
                          "; training needs at least 10 (test and validation pairs are held out)");

  // Test rows (seeded), then validation rows out of the rest.
  const data::Split ts = random_split(n_all, a.test_fraction, a.task.seed);
  const std::vector<std::string> tr_src_all = pick(all.source, ts.train),
                                 tr_tgt_all = pick(all.target, ts.train),
                                 te_src = pick(all.source, ts.test),
                                 te_tgt = pick(all.target, ts.test);
  const data::Split vs = random_split(static_cast<int64_t>(ts.train.size()),
                                      a.validation_fraction, a.task.seed + 1);
  const std::vector<std::string> fit_src = pick(tr_src_all, vs.train),
                                 fit_tgt = pick(tr_tgt_all, vs.train),
                                 val_src = pick(tr_src_all, vs.test),
                                 val_tgt = pick(tr_tgt_all, vs.test);

  // Vocabularies from the training rows (validation included: it is not the test set).
  Preprocessing pre;
  pre.source = data::Tokenizer::characters();
  pre.target = data::Tokenizer::characters();
  std::vector<std::string> wrapped;
  for (const auto& t : tr_tgt_all) wrapped.push_back(kStart + t + kEnd);
  pre.source.fit(tr_src_all);
  pre.target.fit(wrapped);
  for (const auto& s : all.source) pre.max_source_length = std::max(pre.max_source_length, length_of(s));
  for (const auto& t : tr_tgt_all) pre.max_target_length = std::max(pre.max_target_length, length_of(t));

  const Tensor x_fit = encode_sources(pre.source, fit_src), x_val = encode_sources(pre.source, val_src),
               x_te = encode_sources(pre.source, te_src);
  Tensor d_fit, y_fit, d_val, y_val, d_te, y_te;
  encode_targets(pre.target, fit_tgt, d_fit, y_fit);
  encode_targets(pre.target, val_tgt, d_val, y_val);

  Functional model = build_model(pre, a);
  CompileOptions co = compile_options("adam", "sparse_categorical_crossentropy");
  co.losses[0].from_logits = true;
  co.optimizer.learning_rate = a.lr;
  co.optimizer.global_clipnorm = 5.0;
  model.compile(co);

  log << "seq2seq: " << path << ": " << n_all << " pairs; train " << fit_src.size()
      << ", validation " << val_src.size() << ", test " << te_src.size() << " (seeded hold-out)\n"
      << "vocabularies: source " << pre.source.vocab_size() - 2 << " characters, target "
      << pre.target.vocab_size() - 4 << " characters + start/end; longest source "
      << pre.max_source_length << ", longest target " << pre.max_target_length << "\n"
      << "model: Embedding(" << a.embedding_dim << ") -> LSTM(" << a.units
      << ") encoder, Embedding(" << a.embedding_dim << ") -> LSTM(" << a.units
      << ", initial_state = encoder states) -> Dense(" << pre.target.vocab_size()
      << ") decoder; " << model.param_count() << " parameters\n"
      << "training: teacher forcing, Adam lr " << a.lr << ", batches of " << a.batch_size
      << ", at most " << a.epochs << " epochs (stops after " << a.patience
      << " without a better validation exact match; greedy decoding of "
      << std::min<std::size_t>(val_src.size(), kMonitorRows) << " validation pairs)\n";

  // Greedy decoding of (up to) 500 validation pairs per epoch: the progress lines and early
  // stopping watch exact match, the metric that matters (decoding all of them would cost a third
  // of an epoch on the default data).
  const std::size_t n_mon = std::min<std::size_t>(val_src.size(), kMonitorRows);
  const std::vector<std::string> mon_src(val_src.begin(), val_src.begin() + n_mon),
      mon_tgt(val_tgt.begin(), val_tgt.begin() + n_mon);
  auto monitor = std::make_shared<DecodeMonitor>(log, pre, encode_sources(pre.source, mon_src),
                                                 mon_tgt, a.epochs);
  FitOptions fo;
  fo.epochs = a.epochs;
  fo.batch_size = a.batch_size;
  fo.seed = a.task.seed;
  fo.verbose = 0;
  fo.validation_x = model_inputs(model, x_val, d_val);
  fo.validation_y = {y_val};
  fo.callbacks = {monitor, terminate_on_nan()};
  if (a.patience > 0)
    fo.callbacks.push_back(early_stopping({.monitor = "val_exact_match", .min_delta = 1e-9,
                                           .patience = a.patience, .mode = MonitorMode::max,
                                           .restore_best_weights = true}));
  const History h = model.fit(model_inputs(model, x_fit, d_fit), {y_fit}, fo);
  check_not_nan(h, a.task);
  const double train_seconds = seconds_since(t_start);

  // Test: greedy decoding, and the baselines.
  const std::vector<std::string> te_pred = greedy_decode(model, pre, x_te, pre.max_target_length);
  const Scores sc = score(te_pred, te_tgt);
  const Scores copy = score(te_src, te_tgt);
  std::map<std::string, int64_t> freq;
  for (const auto& t : tr_tgt_all) ++freq[t];
  const std::string majority =
      std::max_element(freq.begin(), freq.end(), [](const auto& x, const auto& y) {
        return x.second < y.second;
      })->first;
  const Scores maj = score(std::vector<std::string>(te_tgt.size(), majority), te_tgt);

  save_model(a.task.model, model, {{"recur.preprocessing", pre.to_json().dump()}});

  // Pictures and the test predictions.
  const std::string dir = report_dir(a.task);
  const std::vector<double> ex = epoch_axis(h);
  report::LineChart loss{"recur seq2seq: loss per epoch (teacher forcing)", "epoch",
                         "crossentropy per character (nats)", {}, {}, -1, ""};
  loss.series.push_back({"train", ex, history_values(h, "loss"), "", false});
  loss.series.push_back({"validation", ex, history_values(h, "val_loss"), "", true});
  report::write_line_chart(dir + "/loss.svg", loss);
  report::LineChart acc{"recur seq2seq: validation accuracy per epoch (greedy decoding)", "epoch",
                        "accuracy", {}, {}, -1, ""};
  acc.series.push_back({"exact match", ex, history_values(h, "val_exact_match"), "", false});
  acc.series.push_back(
      {"character accuracy", ex, history_values(h, "val_char_accuracy"), "", true});
  report::write_line_chart(dir + "/accuracy.svg", acc);
  {
    std::ostringstream o;
    o << "source\ttarget\tpredicted\tcorrect\n";
    for (std::size_t i = 0; i < te_src.size(); ++i)
      o << te_src[i] << '\t' << te_tgt[i] << '\t' << te_pred[i] << '\t'
        << (te_pred[i] == te_tgt[i] ? "yes" : "no") << '\n';
    write_text_file(dir + "/test_predictions.tsv", o.str());
  }
  const double seconds = seconds_since(t_start);

  log << "\ntest exact match " << pct(sc.exact_match) << ", character accuracy "
      << pct(sc.char_accuracy) << " on " << te_src.size() << " pairs (greedy decoding)\n"
      << "baselines: copy the source " << pct(copy.exact_match) << " exact, "
      << pct(copy.char_accuracy) << " characters; most frequent target " << pct(maj.exact_match)
      << " exact\n";
  nlohmann::json examples = nlohmann::json::array();
  for (std::size_t i = 0; i < std::min<std::size_t>(5, te_src.size()); ++i) {
    log << "  " << te_src[i] << "  ->  " << te_pred[i]
        << (te_pred[i] == te_tgt[i] ? "" : "   (expected " + te_tgt[i] + ")") << "\n";
    examples.push_back({{"source", te_src[i]}, {"target", te_tgt[i]}, {"predicted", te_pred[i]}});
  }
  log << h.epoch.size() << " epochs in " << clock_str(train_seconds) << "\nmodel: " << a.task.model
      << "\npictures: " << dir << "/ (loss.svg, accuracy.svg, test_predictions.tsv)\n";

  print_json(a.task, {{"test_exact_match", sc.exact_match},
                      {"test_char_accuracy", sc.char_accuracy},
                      {"baseline_copy_exact_match", copy.exact_match},
                      {"baseline_copy_char_accuracy", copy.char_accuracy},
                      {"baseline_majority_exact_match", maj.exact_match},
                      {"train_samples", fit_src.size()},
                      {"validation_samples", val_src.size()},
                      {"test_samples", te_src.size()},
                      {"epochs", h.epoch.size()},
                      {"source_vocab_size", pre.source.vocab_size()},
                      {"target_vocab_size", pre.target.vocab_size()},
                      {"max_source_length", pre.max_source_length},
                      {"max_target_length", pre.max_target_length},
                      {"examples", examples},
                      {"seconds", seconds},
                      {"model", a.task.model},
                      {"report_dir", dir}});
  return 0;
}

// ---- decoding new strings with a trained model ----

int run_predict(const Seq2seqArgs& a) {
  apply_threads(a.task);
  std::map<std::string, std::string> meta;
  std::unique_ptr<Model> model = load_model(a.task.model, &meta);
  const nlohmann::json j = find_preprocessing(meta, "seq2seq");
  if (j.is_null())
    fail<FormatError>(a.task.model, ": not a model written by recur seq2seq (recur.preprocessing "
                      "has no seq2seq vocabularies)");
  Preprocessing pre;
  std::string start_token, end_token;
  try {
    pre.source = data::Tokenizer::from_json(j.at("source_tokenizer"));
    pre.target = data::Tokenizer::from_json(j.at("target_tokenizer"));
    pre.max_source_length = j.at("max_source_length").get<int64_t>();
    pre.max_target_length = j.at("max_target_length").get<int64_t>();
    start_token = j.at("start_token").get<std::string>();
    end_token = j.at("end_token").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    fail<FormatError>(a.task.model, ": malformed recur.preprocessing: ", e.what());
  } catch (const Error& e) {  // the tokenizers' own checks
    fail<FormatError>(a.task.model, ": malformed recur.preprocessing: ", e.what());
  }
  if (start_token != kStart || end_token != kEnd)
    fail<FormatError>(a.task.model, ": start/end tokens other than tab/newline are not supported");
  if (model->num_inputs() != 2 || model->num_outputs() != 1 || !model->takes_token_ids(0) ||
      !model->takes_token_ids(1) || model->output_shape().back() != pre.target.vocab_size() ||
      pre.start_id() < 2 || pre.end_id() < 2)
    fail<FormatError>(a.task.model, ": recur.preprocessing does not match the model (target "
                      "vocabulary ", pre.target.vocab_size(), " ids, model output ",
                      shape_str(model->output_shape()), ")");

  std::vector<std::string> sources = a.texts, truth;
  std::string from = "--text";
  if (!a.file.empty()) {
    if (!sources.empty()) fail<InvalidArgument>("--predict: give either FILE or --text, not both");
    Pairs p = read_pairs(a.file, false);
    sources = std::move(p.source);
    truth = std::move(p.target);
    from = a.file;
  }
  if (sources.empty()) fail<InvalidArgument>("--predict needs a FILE or one or more --text \"...\"");
  for (const auto& s : sources)
    if (s.empty()) fail<InvalidArgument>("--text: a source string is empty");
  Tensor x;
  try {
    x = encode_sources(pre.source, sources);
  } catch (const InvalidArgument& e) {
    fail<FormatError>(from, ": ", e.what());
  }
  int64_t unknown = 0;
  for (int64_t i = 0; i < x.numel(); ++i) unknown += x[i] == static_cast<float>(data::Tokenizer::kOov);
  if (unknown > 0 && !a.task.quiet)
    std::cerr << "recur: note: " << unknown << " source character(s) are not in the model's "
              << "vocabulary and are read as unknown\n";
  const int64_t max_len = a.max_output_length > 0 ? a.max_output_length : pre.max_target_length;
  const std::vector<std::string> pred = greedy_decode(*model, pre, x, max_len);

  std::ostringstream o;
  o << "source\tpredicted" << (truth.empty() ? "" : "\ttarget") << "\n";
  nlohmann::json rows = nlohmann::json::array();
  for (std::size_t i = 0; i < sources.size(); ++i) {
    o << sources[i] << '\t' << pred[i] << (truth.empty() ? "" : "\t" + truth[i]) << '\n';
    rows.push_back({{"source", sources[i]}, {"predicted", pred[i]}});
    if (!truth.empty()) rows.back()["target"] = truth[i];
  }
  write_predictions(a.task, a.output, o.str(), sources.size());
  nlohmann::json out = {{"predictions", rows}};
  if (!truth.empty()) {
    const Scores sc = score(pred, truth);
    task_log(a.task) << "exact match " << pct(sc.exact_match) << ", character accuracy "
                     << pct(sc.char_accuracy) << " against column 'target' (" << truth.size()
                     << " rows)\n";
    out["exact_match"] = sc.exact_match;
    out["char_accuracy"] = sc.char_accuracy;
  }
  print_json(a.task, out);
  return 0;
}

}  // namespace

void register_seq2seq(CLI::App& app, std::function<int()>& run) {
  auto a = std::make_shared<Seq2seqArgs>();
  CLI::App* cmd = app.add_subcommand(
      "seq2seq",
      "Sequence to sequence: train a character-level LSTM encoder-decoder on source/target "
      "string pairs and report exact match on a held-out split (no FILE: the built-in dates "
      "task, e.g. 'Nov 24, 2026' -> '2026-11-24'); or, with --predict, decode new strings");
  cmd->add_option("file", a->file,
                  "UTF-8 TSV with a header 'source<TAB>target' (tabs only, no quote rules); "
                  "default: data/seq2seq_dates.tsv");
  cmd->add_option("--test-fraction", a->test_fraction,
                  "share of pairs held out for testing, seeded (default 0.15)")
      ->check(CLI::Range(0.01, 0.5));
  cmd->add_option("--units", a->units, "LSTM units of the encoder and the decoder (default 128)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--embedding-dim", a->embedding_dim, "character embedding size (default 32)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--epochs", a->epochs, "most passes over the data (default 12)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--patience", a->patience,
                  "stop after this many epochs without a better validation exact match and keep "
                  "the best weights; 0 = off (default 3)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch-size", a->batch_size, "pairs per batch (default 64)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--lr", a->lr, "Adam learning rate (default 0.005)")->check(CLI::PositiveNumber);
  add_task_options(cmd, a->task, "seq2seq.safetensors");
  cmd->add_flag("--predict", a->predict,
                "decode new strings with the trained model --model M (FILE's 'source' column, or "
                "--text); a 'target' column is scored");
  cmd->add_option("--text", a->texts, "--predict: a source string to decode (repeatable)");
  cmd->add_option("--output", a->output,
                  "--predict: write source, prediction (and target) as TSV here instead of stdout");
  cmd->add_option("--max-output-length", a->max_output_length,
                  "--predict: most characters per output (default: the longest training target)")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([&run, a] {
    run = [a] { return a->predict ? run_predict(*a) : run_train(*a); };
  });
}

}  // namespace recur::cli
