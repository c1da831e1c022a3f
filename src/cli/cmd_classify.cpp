// recur classify: text -> label. Trains Embedding -> LSTM/GRU/SimpleRNN (optionally
// Bidirectional) -> Dropout -> Dense(softmax) on a CSV/TSV table, reports held-out accuracy and
// per-class precision/recall next to a majority-class and a naive Bayes baseline, and writes the
// model (tokenizer and label names in recur.preprocessing) plus pictures. With --predict it
// labels new text with a trained model.
//
//   recur classify [FILE] [--text-column T] [--label-column L] [--test FILE2] [--cell lstm|gru|rnn]
//                  [--bidirectional] [--epochs E] ... [--model OUT] [--json]
//   recur classify [FILE] --model M --predict [--text "..."]... [--output PRED.tsv] [--json]
#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/builtin_data.hpp"
#include "cli/commands.hpp"
#include "cli/report_format.hpp"
#include "cli/task_common.hpp"
#include "data/naive_bayes.hpp"
#include "recur/data/table.hpp"
#include "recur/data/text.hpp"
#include "recur/error.hpp"
#include "recur/io/model_file.hpp"
#include "recur/layers/bidirectional.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/dropout.hpp"
#include "recur/layers/embedding.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/model/sequential.hpp"
#include "recur/report/svg.hpp"
#include "recur/train/callbacks.hpp"
#include "recur/train/fit.hpp"

namespace recur::cli {

namespace {

constexpr const char* kDefaultData = "sentiment_labelled_sentences.tsv";
constexpr int64_t kMaxDefaultLen = 200;  // cap of the automatic --maxlen

struct ClassifyArgs {
  TaskArgs task;
  std::string file, test_file, text_column, label_column, sep;  // label_column "" = "label"
  std::string cell = "lstm";
  bool bidirectional = false;
  int64_t units = 64, embedding_dim = 64, max_words = 2000, min_count = 1, maxlen = 0;
  int epochs = 15, patience = 3;
  int64_t batch_size = 32;
  double lr = 0.001, dropout = 0.5, input_dropout = 0.5, recurrent_dropout = 0.0;
  double test_fraction = 0.2, validation_fraction = 0.1;
  bool keep_punctuation = true;
  // --predict
  bool predict = false;
  std::vector<std::string> texts;
  std::string output;
};

// ---- reading the table ----

struct Labelled {
  std::string path;
  std::vector<std::string> text, label;
  std::vector<int64_t> line;  // file line of each row
};

std::string pick_text_column(const data::Table& t, const std::string& asked) {
  if (!asked.empty()) {
    t.column(asked);  // ConfigError listing the columns
    return asked;
  }
  for (const char* c : {"text", "sentence"})
    if (std::find(t.columns.begin(), t.columns.end(), c) != t.columns.end()) return c;
  std::string cols;
  for (const auto& c : t.columns) cols += (cols.empty() ? "" : ", ") + c;
  fail<ConfigError>(t.path, ": no column 'text' or 'sentence'; pass --text-column (columns are ",
                    cols, ")");
}

// A CSV/TSV table; classify takes only ',', ';' or tab as --sep.
data::Table read_text_table(const std::string& path, const std::string& sep) {
  if (!sep.empty() && sep != "," && sep != "\t" && sep != "\\t" && sep != ";" && sep != "tab")
    fail<InvalidArgument>("--sep: expected ',', ';' or tab, got '", sep, "'");
  return read_table_file(path, sep);
}

Labelled read_labelled(const std::string& path, const std::string& sep, std::string& text_column,
                       const std::string& label_column, bool need_labels) {
  const data::Table t = read_text_table(path, sep);
  text_column = pick_text_column(t, text_column);
  Labelled l;
  l.path = path;
  l.text = t.strings(text_column);
  l.line = t.line;
  if (need_labels) {
    l.label = t.strings(label_column);
    for (std::size_t i = 0; i < l.label.size(); ++i) {
      std::string& s = l.label[i];
      while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.pop_back();
      while (!s.empty() && s.front() == ' ') s.erase(s.begin());
      if (s.empty())
        fail<FormatError>(path, ", line ", l.line[i], ": the label column '", label_column,
                          "' is empty");
    }
  }
  return l;
}

// ---- training ----

std::unique_ptr<Layer> make_recurrent_layer(const ClassifyArgs& a) {
  CellKind kind = CellKind::lstm;
  if (a.cell == "gru")
    kind = CellKind::gru;
  else if (a.cell == "rnn" || a.cell == "simple_rnn" || a.cell == "simplernn")
    kind = CellKind::simple;
  else if (a.cell != "lstm")
    fail<InvalidArgument>("--cell: expected lstm, gru or rnn, got '", a.cell, "'");
  RecurrentOptions ro;
  ro.units = a.units;
  ro.dropout = static_cast<float>(a.input_dropout);
  ro.recurrent_dropout = static_cast<float>(a.recurrent_dropout);
  const char* name = kind == CellKind::lstm ? "lstm" : kind == CellKind::gru ? "gru" : "simple_rnn";
  if (a.bidirectional)
    return std::make_unique<Bidirectional>("bidirectional", kind, ro, MergeMode::concat, name);
  if (kind == CellKind::lstm) return make_lstm(name, ro);
  if (kind == CellKind::gru) return make_gru(name, ro);
  return make_simple_rnn(name, ro);
}

int run_train(const ClassifyArgs& a) {
  apply_threads(a.task);
  check_model_writable(a.task);
  const auto t_start = std::chrono::steady_clock::now();
  std::ostream& log = task_log(a.task);
  const bool builtin = a.file.empty();
  const std::string path = builtin ? builtin_data_path(kDefaultData) : a.file;
  std::string text_column = a.text_column;
  if (builtin && text_column.empty()) text_column = "sentence";
  const std::string label_column = a.label_column.empty() ? "label" : a.label_column;
  Labelled all = read_labelled(path, a.sep, text_column, label_column, true);

  std::vector<std::string> classes;
  const std::vector<int64_t> y_all = data::encode_labels(all.label, classes);
  if (classes.size() < 2)
    fail<InvalidArgument>(path, ": the label column '", label_column, "' has only one class ('",
                          classes.empty() ? std::string() : classes[0], "' on all ",
                          all.label.size(), " rows); classification needs at least two");
  const std::size_t C = classes.size();

  // Train / test texts and ids.
  std::vector<std::string> tr_text, te_text;
  std::vector<int64_t> tr_y, te_y;
  if (!a.test_file.empty()) {
    std::string tc = text_column;
    Labelled test = read_labelled(a.test_file, a.sep, tc, label_column, true);
    tr_text = all.text;
    tr_y = y_all;
    te_text = test.text;
    for (std::size_t i = 0; i < test.label.size(); ++i) {
      const auto it = std::find(classes.begin(), classes.end(), test.label[i]);
      if (it == classes.end())
        fail<InvalidArgument>(a.test_file, ", line ", test.line[i], ": label '", test.label[i],
                              "' does not occur in the training file ", path);
      te_y.push_back(it - classes.begin());
    }
    if (te_text.empty()) fail<FormatError>(a.test_file, ": no rows to test on");
  } else {
    const data::Split s = data::stratified_split(y_all, a.test_fraction, a.task.seed);
    if (s.test.empty() || s.train.empty())
      fail<InvalidArgument>(path, ": ", all.text.size(),
                            " rows are too few to hold out a test set"
                            " (each class needs at least two rows)");
    tr_text = pick(all.text, s.train);
    tr_y = pick(y_all, s.train);
    te_text = pick(all.text, s.test);
    te_y = pick(y_all, s.test);
  }
  // A validation part of the training rows decides when to stop (early stopping).
  const data::Split vs = data::stratified_split(tr_y, a.validation_fraction, a.task.seed + 1);
  const std::vector<std::string> fit_text = pick(tr_text, vs.train),
                                 val_text = pick(tr_text, vs.test);
  const std::vector<int64_t> fit_y = pick(tr_y, vs.train), val_y = pick(tr_y, vs.test);

  // Tokenizer (fit on the training rows only) and padded ids.
  data::TokenizerOptions to;
  to.num_words = a.max_words;
  to.min_count = a.min_count;
  to.punctuation_tokens = a.keep_punctuation;
  data::Tokenizer tok = data::Tokenizer::words(to);
  try {
    tok.fit(tr_text);
  } catch (const InvalidArgument& e) {
    fail<FormatError>(path, ": ", e.what());
  }
  const auto fit_ids = tok.encode(fit_text), val_ids = tok.encode(val_text),
             te_ids = tok.encode(te_text);
  int64_t maxlen = a.maxlen;
  if (maxlen == 0) {
    for (const auto& s : fit_ids) maxlen = std::max(maxlen, static_cast<int64_t>(s.size()));
    maxlen = std::clamp<int64_t>(maxlen, 1, kMaxDefaultLen);
  }
  const data::PadOptions po{.maxlen = maxlen};
  const Tensor x_fit = data::pad_sequences(fit_ids, po), x_val = data::pad_sequences(val_ids, po),
               x_te = data::pad_sequences(te_ids, po);

  log << "classify: " << path << ": " << all.text.size() << " rows, " << C << " classes; train "
      << fit_text.size() << ", validation " << val_text.size() << ", test " << te_text.size()
      << (a.test_file.empty() ? " (stratified hold-out)" : " (" + a.test_file + ")") << "\n"
      << "vocabulary " << tok.vocab_size() << " tokens, sequences padded to " << maxlen << "\n";

  // Model.
  Sequential model("text_classifier");
  model.add(std::make_unique<Embedding>("embedding", EmbeddingOptions{.input_dim = tok.vocab_size(),
                                                                      .output_dim = a.embedding_dim,
                                                                      .mask_zero = true}));
  model.add(make_recurrent_layer(a));
  if (a.dropout > 0) model.add(std::make_unique<Dropout>("dropout", static_cast<float>(a.dropout)));
  model.add(std::make_unique<Dense>(
      "dense", DenseOptions{.units = static_cast<int64_t>(C), .activation = Activation::softmax}));
  model.build({-1}, a.task.seed);
  CompileOptions co = compile_options("adam", "sparse_categorical_crossentropy", {"accuracy"});
  co.optimizer.learning_rate = a.lr;
  co.optimizer.global_clipnorm = 5.0;
  model.compile(co);

  FitOptions fo;
  fo.epochs = a.epochs;
  fo.batch_size = a.batch_size;
  fo.seed = a.task.seed;
  fo.verbose = a.task.verbose();
  fo.out = &log;
  if (!val_text.empty()) {
    fo.validation_x = {x_val};
    fo.validation_y = {ids_tensor(val_y)};
    if (a.patience > 0)
      fo.callbacks.push_back(early_stopping(
          {.monitor = "val_loss", .patience = a.patience, .restore_best_weights = true}));
  }
  fo.callbacks.push_back(terminate_on_nan());
  const History h = model.fit(x_fit, ids_tensor(fit_y), fo);
  check_not_nan(h, a.task);

  // Test scores and baselines.
  std::vector<float> prob;
  const std::vector<int64_t> pred = argmax_rows(model.predict(x_te, 256), &prob);
  const ClassScores sc = score_classes(te_y, pred, C);
  const ClassScores maj =
      score_classes(te_y, std::vector<int64_t>(te_y.size(), majority_class(tr_y, C)), C);
  data::NaiveBayes nb;
  nb.fit(tr_text, tr_y, static_cast<int64_t>(C));
  const ClassScores nbs = score_classes(te_y, nb.predict(te_text), C);

  // Model file with everything needed to label new text.
  const nlohmann::json pre = {
      {"task", "classify"},
      {"tokenizer", tok.to_json()},
      {"sequence", {{"maxlen", maxlen}, {"padding", "pre"}, {"truncating", "pre"}}},
      {"labels", classes},
      {"text_column", text_column},
      {"label_column", label_column}};
  save_model(a.task.model, model, {{"recur.preprocessing", pre.dump()}});

  // Pictures and the test predictions.
  const std::string dir = report_dir(a.task);
  const std::vector<double> epochs_x = epoch_axis(h);
  report::LineChart loss{
      "recur classify: loss per epoch", "epoch", "crossentropy (nats)", {}, {}, -1, ""};
  loss.series.push_back({"train", epochs_x, history_values(h, "loss"), "", false});
  if (!history_values(h, "val_loss").empty())
    loss.series.push_back({"validation", epochs_x, history_values(h, "val_loss"), "", true});
  report::write_line_chart(dir + "/loss.svg", loss);
  report::LineChart acc{"recur classify: accuracy per epoch", "epoch", "accuracy", {}, {}, -1, ""};
  acc.series.push_back({"train", epochs_x, history_values(h, "accuracy"), "", false});
  if (!history_values(h, "val_accuracy").empty())
    acc.series.push_back({"validation", epochs_x, history_values(h, "val_accuracy"), "", true});
  report::write_line_chart(dir + "/accuracy.svg", acc);
  report::write_confusion_matrix(dir + "/confusion_matrix.svg",
                                 "test accuracy " + pct(sc.accuracy),
                                 classes, sc.confusion);
  {
    std::ostringstream o;
    o << "label\tpredicted\tprobability\ttext\n";
    for (std::size_t i = 0; i < te_text.size(); ++i)
      o << tsv_cell(classes[static_cast<std::size_t>(te_y[i])]) << '\t'
        << tsv_cell(classes[static_cast<std::size_t>(pred[i])]) << '\t' << fixed(prob[i], 3) << '\t'
        << tsv_cell(te_text[i]) << '\n';
    write_text_file(dir + "/test_predictions.tsv", o.str());
  }
  const double seconds = seconds_since(t_start);

  // Human summary.
  log << "\ntest accuracy " << pct(sc.accuracy) << " on " << te_text.size()
      << " rows  (majority class " << pct(maj.accuracy) << ", naive Bayes " << pct(nbs.accuracy)
      << ")\n";
  print_class_table(log, classes, sc);
  log << "model: " << a.task.model << "\npictures: " << dir << "/ (loss.svg, accuracy.svg, "
      << "confusion_matrix.svg, test_predictions.tsv)\n";

  print_json(a.task, {{"test_accuracy", sc.accuracy},
                      {"baseline_majority_accuracy", maj.accuracy},
                      {"baseline_naive_bayes_accuracy", nbs.accuracy},
                      {"classes", classes},
                      {"per_class", per_class_json(classes, sc)},
                      {"confusion_matrix", sc.confusion},
                      {"train_samples", fit_text.size()},
                      {"validation_samples", val_text.size()},
                      {"test_samples", te_text.size()},
                      {"epochs", h.epoch.size()},
                      {"vocab_size", tok.vocab_size()},
                      {"maxlen", maxlen},
                      {"seconds", seconds},
                      {"model", a.task.model},
                      {"report_dir", dir}});
  return 0;
}

// ---- labelling new text with a trained model ----

int run_predict(const ClassifyArgs& a) {
  apply_threads(a.task);
  std::map<std::string, std::string> meta;
  std::unique_ptr<Model> model = load_model(a.task.model, &meta);
  const nlohmann::json pre = find_preprocessing(meta, "classify");
  if (pre.is_null())
    fail<FormatError>(a.task.model,
                      ": not a text classifier written by recur classify "
                      "(recur.preprocessing has no classify tokenizer and labels)");
  data::Tokenizer tok;
  std::vector<std::string> classes;
  int64_t maxlen = 0;
  data::PadOptions po;
  try {
    tok = data::Tokenizer::from_json(pre.at("tokenizer"));
    classes = pre.at("labels").get<std::vector<std::string>>();
    const auto& seq = pre.at("sequence");
    maxlen = seq.at("maxlen").get<int64_t>();
    po = {.maxlen = maxlen,
          .padding = data::parse_pad_side(seq.value("padding", "pre"), "padding"),
          .truncating = data::parse_pad_side(seq.value("truncating", "pre"), "truncating")};
  } catch (const nlohmann::json::exception& e) {
    fail<FormatError>(a.task.model, ": malformed recur.preprocessing: ", e.what());
  } catch (const Error& e) {  // the tokenizer's and padding options' own checks
    fail<FormatError>(a.task.model, ": malformed recur.preprocessing: ", e.what());
  }
  if (maxlen < 1 || classes.size() < 2 ||
      model->output_shape().back() != static_cast<int64_t>(classes.size()))
    fail<FormatError>(a.task.model, ": recur.preprocessing does not match the model (",
                      classes.size(), " labels, model output ", shape_str(model->output_shape()),
                      ")");

  std::vector<std::string> texts = a.texts;
  std::vector<std::string> truth;
  std::string source = "--text", lc;
  if (!a.file.empty()) {
    if (!texts.empty()) fail<InvalidArgument>("--predict: give either FILE or --text, not both");
    std::string tc =
        a.text_column.empty() ? pre.value("text_column", std::string()) : a.text_column;
    const data::Table t = read_text_table(a.file, a.sep);
    if (tc.empty() || std::find(t.columns.begin(), t.columns.end(), tc) == t.columns.end())
      tc = pick_text_column(t, a.text_column);
    texts = t.strings(tc);
    lc = a.label_column.empty() ? pre.value("label_column", std::string("label")) : a.label_column;
    if (std::find(t.columns.begin(), t.columns.end(), lc) != t.columns.end()) truth = t.strings(lc);
    source = a.file;
  }
  if (texts.empty()) fail<InvalidArgument>("--predict needs a FILE or one or more --text \"...\"");
  std::vector<std::vector<int32_t>> ids;
  try {
    ids = tok.encode(texts);
  } catch (const InvalidArgument& e) {
    fail<FormatError>(source, ": ", e.what());
  }
  const Tensor probs = model->predict(data::pad_sequences(ids, po), 256);
  std::vector<float> best;
  const std::vector<int64_t> pred = argmax_rows(probs, &best);

  std::ostringstream o;
  o << "label\tprobability\ttext\n";
  nlohmann::json rows = nlohmann::json::array();
  int64_t correct = 0, known = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const std::string& label = classes[static_cast<std::size_t>(pred[i])];
    o << tsv_cell(label) << '\t' << fixed(best[i], 3) << '\t' << tsv_cell(texts[i]) << '\n';
    rows.push_back({{"label", label}, {"probability", best[i]}, {"text", texts[i]}});
    if (!truth.empty()) {
      std::string t = truth[i];
      while (!t.empty() && (t.back() == ' ' || t.back() == '\r')) t.pop_back();
      ++known;
      correct += t == label;
    }
  }
  write_predictions(a.task, a.output, o.str(), texts.size());
  if (known > 0) note_accuracy(a.task, a.output, lc, correct, known);
  nlohmann::json out = {{"classes", classes}, {"predictions", rows}};
  if (known > 0) out["accuracy"] = static_cast<double>(correct) / static_cast<double>(known);
  print_json(a.task, out);
  return 0;
}

}  // namespace

void register_classify(CLI::App& app, std::function<int()>& run) {
  auto a = std::make_shared<ClassifyArgs>();
  CLI::App* cmd = app.add_subcommand(
      "classify",
      "Text classification: train Embedding -> LSTM/GRU -> softmax on a CSV/TSV table and compare "
      "it with a majority-class and a naive Bayes baseline (no FILE: the built-in sentiment "
      "sentences); or, with --predict, label new text with a trained model");
  cmd->add_option("file", a->file,
                  "CSV or TSV table with a header (.tsv/.tab: tabs only, no quote rules); default: "
                  "data/sentiment_labelled_sentences.tsv");
  cmd->add_option("--text-column", a->text_column,
                  "column holding the text (default: 'text', else 'sentence')");
  cmd->add_option("--label-column", a->label_column,
                  "column holding the label (default 'label'; --predict: the training one)");
  cmd->add_option("--sep", a->sep,
                  "field separator: ',', ';' or tab (default: from the extension)");
  cmd->add_option("--test", a->test_file,
                  "separate test table (same columns); default: a seeded stratified hold-out");
  cmd->add_option("--test-fraction", a->test_fraction,
                  "share of rows held out for testing without --test (default 0.2)")
      ->check(CLI::Range(0.01, 0.9));
  cmd->add_option("--validation-fraction", a->validation_fraction,
                  "share of the training rows used for early stopping (default 0.1; 0 = train "
                  "all --epochs on every training row)")
      ->check(CLI::Range(0.0, 0.5));
  cmd->add_option("--cell", a->cell, "recurrent cell: lstm | gru | rnn (default lstm)")
      ->check(CLI::IsMember({"lstm", "gru", "rnn"}));
  cmd->add_flag("--bidirectional", a->bidirectional, "wrap the recurrent layer in Bidirectional");
  cmd->add_option("--units", a->units, "recurrent units (default 64)")->check(CLI::PositiveNumber);
  cmd->add_option("--embedding-dim", a->embedding_dim, "embedding size (default 64)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-words", a->max_words,
                  "vocabulary limit including padding and OOV ids; 0 = no limit (default 2000)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--min-count", a->min_count,
                  "words seen fewer times in training map to OOV (default 1)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--maxlen", a->maxlen,
                  "tokens per text; longer texts keep their end (default: the longest training "
                  "text, at most 200)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("!--no-punctuation", a->keep_punctuation,
                "drop punctuation (Keras's default filters) instead of keeping it as tokens");
  cmd->add_option("--input-dropout", a->input_dropout,
                  "dropout on the recurrent layer's inputs (the word vectors), one mask per text "
                  "(default 0.5)")
      ->check(CLI::Range(0.0, 0.95));
  cmd->add_option("--recurrent-dropout", a->recurrent_dropout,
                  "dropout on the recurrent state (default 0)")
      ->check(CLI::Range(0.0, 0.95));
  cmd->add_option("--epochs", a->epochs, "most passes over the data (default 15)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--patience", a->patience,
                  "stop after this many epochs without a better validation loss and keep the "
                  "best weights; 0 = off (default 3)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch-size", a->batch_size, "rows per batch (default 32)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--lr", a->lr, "Adam learning rate (default 0.001)")->check(CLI::PositiveNumber);
  cmd->add_option("--dropout", a->dropout, "dropout before the output layer (default 0.5)")
      ->check(CLI::Range(0.0, 0.95));
  add_task_options(cmd, a->task, "classify.safetensors");
  cmd->add_flag("--predict", a->predict,
                "label new text with the trained model --model M (FILE's text column, or --text)");
  cmd->add_option("--text", a->texts, "--predict: a text to label (repeatable)");
  cmd->add_option("--output", a->output,
                  "--predict: write label, probability and text as TSV here instead of stdout");
  cmd->callback([&run, a] { run = [a] { return a->predict ? run_predict(*a) : run_train(*a); }; });
}

}  // namespace recur::cli
