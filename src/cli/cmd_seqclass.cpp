// recur seqclass: multivariate sequence classification. Reads variable-length sequences from a
// CSV/TSV table (long format: one row per time step grouped by an id column; wide format: one row
// per sequence), standardizes the features (fitted on the training sequences), zero-pads after
// each sequence, and trains Masking(0) -> [Bidirectional] GRU/LSTM -> Dropout -> Dense(softmax),
// with early stopping on a stratified validation part of the training set; an ensemble of
// several seeds averages their probabilities inside one model file. Reports test accuracy next
// to a majority-class and a 1-nearest-neighbour baseline, and writes the model (preprocessing in
// recur.preprocessing) plus pictures. With --predict it labels new sequences with a trained
// model.
//
//   recur seqclass [FILE] [--test FILE2] --label-column L (--id-column ID | --wide) ...
//   recur seqclass FILE --model M --predict [--output PRED.csv] [--json]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/builtin_data.hpp"
#include "cli/commands.hpp"
#include "cli/report_format.hpp"
#include "cli/task_common.hpp"
#include "data/sequences.hpp"
#include "recur/data/series.hpp"
#include "recur/data/table.hpp"
#include "recur/error.hpp"
#include "recur/io/model_file.hpp"
#include "recur/layers/bidirectional.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/dropout.hpp"
#include "recur/layers/masking.hpp"
#include "recur/layers/merge.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/model/functional.hpp"
#include "recur/model/sequential.hpp"
#include "recur/report/svg.hpp"
#include "recur/train/callbacks.hpp"
#include "recur/train/fit.hpp"

namespace recur::cli {

namespace {

constexpr const char* kBuiltinTrain = "japanese_vowels_train.csv";
constexpr const char* kBuiltinTest = "japanese_vowels_test.csv";
constexpr int64_t kResampleSteps = 20;  // the 1-NN baseline's fixed length

struct SeqArgs {
  TaskArgs task;
  std::string file, test_file, label_column, id_column, time_column, sep;
  std::vector<std::string> features;
  bool wide = false;
  std::string cell = "gru";
  bool bidirectional = true;
  int64_t units = 64;
  int epochs = 60, patience = 10, ensemble = 5;
  int64_t batch_size = 32;
  double lr = 0.003, dropout = 0.3, test_fraction = 0.2, validation_fraction = 0.15;
  // --predict
  bool predict = false;
  std::string output;
};

// ---- reading sequences ----

// How a table becomes sequences; stored in the model file so --predict reads new files alike.
struct Layout {
  bool wide = false;
  data::LongColumns long_columns;  // id, label, time, features
  data::WideColumns wide_columns;  // label, values
  bool values_chosen = false;      // wide: --features named the value columns

  const std::string& label() const { return wide ? wide_columns.label : long_columns.label; }
  nlohmann::json to_json() const {
    if (wide)
      return {{"format", "wide"},
              {"label_column", wide_columns.label},
              {"value_columns", wide_columns.values},
              {"value_columns_chosen", values_chosen}};
    return {{"format", "long"},
            {"id_column", long_columns.id},
            {"label_column", long_columns.label},
            {"time_column", long_columns.time},
            {"feature_columns", long_columns.features}};
  }
};

data::Sequences read_sequences(const data::Table& t, const Layout& l) {
  return l.wide ? data::read_wide(t, l.wide_columns) : data::read_long(t, l.long_columns);
}

int64_t min_length(const data::Sequences& s) {
  int64_t lo = s.max_length();
  for (std::size_t i = 0; i < s.values.size(); ++i) lo = std::min(lo, s.length(i));
  return lo;
}

// Standardizes every step of `s` in place.
void standardize(data::Sequences& s, const data::Scaler& scaler) {
  for (auto& v : s.values) scaler.transform(std::span<double>(v));
}

data::Scaler fit_scaler(const data::Sequences& s) {
  std::vector<double> all;
  all.reserve(static_cast<std::size_t>(s.total_steps() * s.features()));
  for (const auto& v : s.values) all.insert(all.end(), v.begin(), v.end());
  return data::Scaler::fit(data::ScalerKind::standard, all, s.features());
}

// 1-nearest-neighbour (Euclidean) on sequences resampled to a fixed length; empty when too large
// to be quick (train × test × length × features > 2·10⁹).
std::vector<int64_t> nearest_neighbour(const data::Sequences& train, const std::vector<int64_t>& y,
                                       const data::Sequences& test) {
  const int64_t D = kResampleSteps * train.features();
  if (static_cast<double>(train.size()) * static_cast<double>(test.size()) *
          static_cast<double>(D) >
      2e9)
    return {};
  const std::vector<double> a = data::resample_flat(train, kResampleSteps),
                            b = data::resample_flat(test, kResampleSteps);
  std::vector<int64_t> pred(static_cast<std::size_t>(test.size()), 0);
  for (int64_t i = 0; i < test.size(); ++i) {
    double best = std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < train.size(); ++j) {
      double d = 0.0;
      const double* p = b.data() + i * D;
      const double* q = a.data() + j * D;
      for (int64_t k = 0; k < D; ++k) d += (p[k] - q[k]) * (p[k] - q[k]);
      if (d < best) {
        best = d;
        pred[static_cast<std::size_t>(i)] = y[static_cast<std::size_t>(j)];
      }
    }
  }
  return pred;
}

// ---- the model ----

CellKind parse_cell(const std::string& cell) {
  if (cell == "gru") return CellKind::gru;
  if (cell == "lstm") return CellKind::lstm;
  fail<InvalidArgument>("--cell: expected lstm or gru, got '", cell, "'");
}

// Masking(0) -> [Bidirectional] GRU/LSTM -> Dropout -> Dense(C, softmax); layer names get
// `suffix` (ensemble members).
std::vector<std::unique_ptr<Layer>> member_layers(const SeqArgs& a, int64_t C,
                                                  const std::string& suffix) {
  std::vector<std::unique_ptr<Layer>> layers;
  layers.push_back(std::make_unique<Masking>("masking" + suffix, 0.0f));
  const CellKind kind = parse_cell(a.cell);
  RecurrentOptions ro;
  ro.units = a.units;
  const std::string rnn = (kind == CellKind::gru ? "gru" : "lstm") + suffix;
  if (a.bidirectional)
    layers.push_back(std::make_unique<Bidirectional>("bidirectional" + suffix, kind, ro,
                                                     MergeMode::concat, rnn));
  else
    layers.push_back(kind == CellKind::gru ? make_gru(rnn, ro) : make_lstm(rnn, ro));
  if (a.dropout > 0)
    layers.push_back(std::make_unique<Dropout>("dropout" + suffix, static_cast<float>(a.dropout)));
  layers.push_back(std::make_unique<Dense>(
      "dense" + suffix, DenseOptions{.units = C, .activation = Activation::softmax}));
  return layers;
}

struct Member {
  Sequential model;
  History history;
  int best_epoch = -1;  // 0-based epoch whose weights were kept (-1: the last)
  double seconds = 0.0;
};

// Compact progress: epoch 1, then every `every` epochs, one line each.
class ProgressLines : public Callback {
 public:
  ProgressLines(std::ostream& out, int every) : out_(out), every_(every) {}
  void on_epoch_end(FitState& state, int epoch, Logs& logs) override {
    if (epoch != 0 && (epoch + 1) % every_ != 0) return;
    const int width = static_cast<int>(std::to_string(state.epochs).size());
    out_ << "  epoch " << std::setw(width) << epoch + 1 << "/" << state.epochs;
    for (const char* k : {"loss", "accuracy", "val_loss", "val_accuracy"}) {
      const auto it = logs.find(k);
      if (it != logs.end()) out_ << "  " << k << " " << fixed(it->second, 4);
    }
    out_ << "\n" << std::flush;
  }

 private:
  std::ostream& out_;
  int every_;
};

// Trains one member with early stopping on (x_val, y_val) when given.
Member train_member(const SeqArgs& a, int64_t C, int64_t F, uint64_t seed, const Tensor& x_fit,
                    const Tensor& y_fit, const Tensor& x_val, const Tensor& y_val,
                    std::ostream& log) {
  Member m{Sequential("sequence_classifier"), {}};
  for (auto& l : member_layers(a, C, "")) m.model.add(std::move(l));
  m.model.build({-1, F}, seed);
  CompileOptions co = compile_options("adam", "sparse_categorical_crossentropy", {"accuracy"});
  co.optimizer.learning_rate = a.lr;
  co.optimizer.global_clipnorm = 5.0;
  m.model.compile(co);
  FitOptions fo;
  fo.epochs = a.epochs;
  fo.batch_size = a.batch_size;
  fo.seed = seed;
  fo.verbose = 0;  // ProgressLines instead: an ensemble would print hundreds of epoch lines
  fo.callbacks.push_back(std::make_shared<ProgressLines>(log, 10));
  const bool validate = x_val.dim(0) > 0;
  if (validate) {
    fo.validation_x = {x_val};
    fo.validation_y = {y_val};
    if (a.patience > 0)
      fo.callbacks.push_back(early_stopping(
          {.monitor = "val_loss", .patience = a.patience, .restore_best_weights = true}));
  }
  fo.callbacks.push_back(terminate_on_nan());
  const auto t0 = std::chrono::steady_clock::now();
  m.history = m.model.fit(x_fit, y_fit, fo);
  m.seconds = seconds_since(t0);
  check_not_nan(m.history, a.task);
  const auto ran = static_cast<int>(m.history.epoch.size());
  const auto vl = m.history.history.find("val_loss");
  if (validate && a.patience > 0 && vl != m.history.history.end() && !vl->second.empty()) {
    m.best_epoch = static_cast<int>(std::min_element(vl->second.begin(), vl->second.end()) -
                                    vl->second.begin());
    log << "  " << (ran < a.epochs ? "stopped after" : "ran") << " epoch " << ran
        << "; best val_loss " << fixed(vl->second[static_cast<std::size_t>(m.best_epoch)], 4)
        << " at epoch " << m.best_epoch + 1 << " (weights restored), " << fixed(m.seconds, 1)
        << " s\n";
  } else {
    log << "  ran " << ran << " epochs, " << fixed(m.seconds, 1) << " s\n";
  }
  return m;
}

// One model file for K members: a functional graph x -> K branches -> Add -> Dense(1/K · I)
// (the mean of the members' probabilities), with each member's trained weights copied in.
std::unique_ptr<Model> ensemble_model(const SeqArgs& a, int64_t C, int64_t F,
                                      std::vector<Member>& members) {
  auto g = std::make_unique<Functional>("sequence_classifier_ensemble");
  const NodeRef x = g->input("sequences", {-1, F});
  std::vector<NodeRef> outs;
  for (std::size_t k = 0; k < members.size(); ++k) {
    NodeRef h = x;
    for (auto& l : member_layers(a, C, "_" + std::to_string(k + 1)))
      h = g->call(std::move(l), {h})[0];
    outs.push_back(h);
  }
  const NodeRef sum = g->call(std::make_unique<Add>("add"), outs)[0];
  const NodeRef mean = g->call(std::make_unique<Dense>("mean", DenseOptions{.units = C}), {sum})[0];
  g->build({x}, {mean});
  // Copy weights: member k's "<layer>/<w>" is "<layer>_<k+1>/<w>" in the graph.
  std::map<std::string, TensorView> dst;
  for (Variable& v : g->variables()) dst[v.name] = v.value;
  for (std::size_t k = 0; k < members.size(); ++k) {
    for (Variable& v : members[k].model.variables()) {
      const std::size_t slash = v.name.find('/');
      const std::string mapped =
          v.name.substr(0, slash) + "_" + std::to_string(k + 1) + v.name.substr(slash);
      const auto it = dst.find(mapped);
      if (it == dst.end() || it->second.numel() != v.value.numel())
        fail<InternalError>("ensemble: no matching weight for '", v.name, "' (looked for '", mapped,
                            "')");
      std::copy(v.value.data, v.value.data + v.value.numel(), it->second.data);
    }
  }
  // The averaging Dense: kernel = I / K, bias = 0.
  TensorView kernel = dst.at("mean/kernel"), bias = dst.at("mean/bias");
  std::fill(kernel.data, kernel.data + kernel.numel(), 0.0f);
  std::fill(bias.data, bias.data + bias.numel(), 0.0f);
  for (int64_t c = 0; c < C; ++c)
    kernel.data[c * C + c] = 1.0f / static_cast<float>(members.size());
  return g;
}

// ---- training ----

int run_train(const SeqArgs& a) {
  apply_threads(a.task);
  check_model_writable(a.task);
  const auto t_start = std::chrono::steady_clock::now();
  std::ostream& log = task_log(a.task);
  const bool builtin = a.file.empty();
  const std::string path = builtin ? builtin_data_path(kBuiltinTrain) : a.file;
  std::string test_path = a.test_file;
  if (builtin && test_path.empty()) test_path = builtin_data_path(kBuiltinTest);

  Layout layout;
  layout.wide = a.wide;
  layout.values_chosen = !a.features.empty();
  const data::Table table = read_table_file(path, a.sep);
  if (layout.wide) {
    layout.wide_columns = data::resolve_wide_columns(table, {a.label_column, a.features});
  } else {
    layout.long_columns = data::resolve_long_columns(
        table, {.id = builtin && a.id_column.empty() ? "utterance" : a.id_column,
                .label = builtin && a.label_column.empty() ? "speaker" : a.label_column,
                .time = a.time_column,
                .features = a.features});
  }
  const std::string& label_column = layout.label();
  if (label_column.empty()) fail<InvalidArgument>("--label-column is required");
  data::Sequences all = read_sequences(table, layout);
  if (all.size() == 0) fail<FormatError>(path, ": no sequences");

  std::vector<std::string> classes;
  const std::vector<int64_t> y_all = data::class_ids(all.labels, classes);
  if (classes.size() < 2)
    fail<InvalidArgument>(path, ": the label column '", label_column, "' has only one class ('",
                          classes.empty() ? std::string() : classes[0], "' on all ", all.size(),
                          " sequences); classification needs at least two");
  const auto C = static_cast<int64_t>(classes.size());
  const int64_t F = all.features();

  // Train / test sequences.
  data::Sequences train, test;
  std::vector<int64_t> tr_y, te_y;
  if (!test_path.empty()) {
    const data::Table tt = read_table_file(test_path, a.sep);
    Layout tl = layout;
    if (tl.wide) {
      // The test file's series may be longer or shorter: take its own value columns unless given.
      tl.wide_columns = data::resolve_wide_columns(tt, {label_column, a.features});
    } else {
      tl.long_columns = data::resolve_long_columns(tt, layout.long_columns);
    }
    test = read_sequences(tt, tl);
    if (test.size() == 0) fail<FormatError>(test_path, ": no sequences to test on");
    for (std::size_t i = 0; i < test.labels.size(); ++i) {
      const auto it = std::find(classes.begin(), classes.end(), test.labels[i]);
      if (it == classes.end())
        fail<InvalidArgument>(test_path, ", line ", test.lines[i], ": label '", test.labels[i],
                              "' of sequence '", test.ids[i], "' does not occur in ", path);
      te_y.push_back(it - classes.begin());
    }
    train = std::move(all);
    tr_y = y_all;
  } else {
    const data::Holdout s = data::stratified_holdout(y_all, a.test_fraction, a.task.seed);
    if (s.test.empty() || s.train.empty())
      fail<InvalidArgument>(path, ": ", all.size(),
                            " sequences are too few to hold out a test "
                            "set (each class needs at least two sequences)");
    train = data::take(all, s.train);
    test = data::take(all, s.test);
    tr_y = pick(y_all, s.train);
    te_y = pick(y_all, s.test);
  }

  // Standardize with statistics of the training sequences; the validation part (early
  // stopping) is a stratified share of them.
  const data::Scaler scaler = fit_scaler(train);
  standardize(train, scaler);
  standardize(test, scaler);
  // Each member k holds out its own stratified validation share (seeded by its seed), so the
  // members see different training subsets.
  const auto member_seed = [&](int k) { return a.task.seed + static_cast<uint64_t>(k) * 1000003u; };
  const auto validation_split = [&](int k) {
    return data::stratified_holdout(tr_y, a.validation_fraction, member_seed(k) + 1);
  };
  const auto n_val = static_cast<int64_t>(validation_split(0).test.size());
  const int64_t n_fit = train.size() - n_val;
  const Tensor x_te = data::pad_post(test);
  const int64_t max_len = std::max(train.max_length(), test.max_length());

  log << "seqclass: " << path << (builtin ? " (built-in)" : "") << ": " << train.size()
      << " training sequences, " << C << " classes, " << F << " features, lengths "
      << min_length(train) << "-" << train.max_length() << "\n"
      << "fit " << n_fit << ", validation " << n_val << (a.ensemble > 1 ? " (per member)" : "")
      << ", test " << test.size()
      << (a.test_file.empty() && !builtin ? " (stratified hold-out)" : " (" + test_path + ")")
      << "\n";

  // Train the members.
  std::vector<Member> members;
  for (int k = 0; k < a.ensemble; ++k) {
    log << (a.ensemble > 1
                ? "member " + std::to_string(k + 1) + "/" + std::to_string(a.ensemble) + ": "
                : std::string("training "))
        << (a.bidirectional ? "bidirectional " : "") << a.cell << "(" << a.units << "), seed "
        << member_seed(k) << "\n";
    const data::Holdout vs = validation_split(k);
    members.push_back(
        train_member(a, C, F, member_seed(k), data::pad_post(data::take(train, vs.train)),
                     ids_tensor(pick(tr_y, vs.train)), data::pad_post(data::take(train, vs.test)),
                     ids_tensor(pick(tr_y, vs.test)), log));
  }
  std::unique_ptr<Model> ens;
  Model* model = &members[0].model;
  if (members.size() > 1) {
    ens = ensemble_model(a, C, F, members);
    model = ens.get();
  }

  // Test scores and baselines.
  std::vector<float> prob;
  const std::vector<int64_t> pred = argmax_rows(model->predict(x_te, 256), &prob);
  const auto n_classes = static_cast<std::size_t>(C);
  const ClassScores sc = score_classes(te_y, pred, n_classes);
  const ClassScores maj = score_classes(
      te_y, std::vector<int64_t>(te_y.size(), majority_class(tr_y, n_classes)), n_classes);
  const std::vector<int64_t> nn = nearest_neighbour(train, tr_y, test);
  const double nn_acc = nn.empty() ? -1.0 : score_classes(te_y, nn, n_classes).accuracy;

  // The model file, with everything --predict needs.
  nlohmann::json pre = layout.to_json();
  pre["task"] = "seqclass";
  pre["scaler"] = scaler.to_json();
  pre["labels"] = classes;
  pre["max_length"] = max_len;
  pre["padding"] = "post";
  pre["mask_value"] = 0.0;
  pre["separator"] = a.sep;
  save_model(a.task.model, *model, {{"recur.preprocessing", pre.dump()}});

  // Pictures and the test predictions.
  const std::string dir = report_dir(a.task);
  report::LineChart loss{
      "recur seqclass: loss per epoch", "epoch", "crossentropy (nats)", {}, {}, -1, ""};
  report::LineChart acc{"recur seqclass: accuracy per epoch", "epoch", "accuracy", {}, {}, -1, ""};
  for (std::size_t k = 0; k < members.size(); ++k) {
    const History& h = members[k].history;
    const std::string who = members.size() > 1 ? " " + std::to_string(k + 1) : "";
    const std::vector<double> ex = epoch_axis(h);
    // One colour per member: training solid, validation dashed.
    static const char* const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
    const std::string color = palette[k % 10];
    loss.series.push_back({"train" + who, ex, history_values(h, "loss"), color, false});
    acc.series.push_back({"train" + who, ex, history_values(h, "accuracy"), color, false});
    if (!history_values(h, "val_loss").empty()) {
      loss.series.push_back({"validation" + who, ex, history_values(h, "val_loss"), color, true});
      acc.series.push_back(
          {"validation" + who, ex, history_values(h, "val_accuracy"), color, true});
    }
  }
  report::write_line_chart(dir + "/loss.svg", loss);
  report::write_line_chart(dir + "/accuracy.svg", acc);
  report::write_confusion_matrix(dir + "/confusion_matrix.svg",
                                 "recur seqclass: test set (accuracy " + pct(sc.accuracy) + ")",
                                 classes, sc.confusion);
  {
    std::ostringstream o;
    o << "id,label,predicted,probability\n";
    for (std::size_t i = 0; i < te_y.size(); ++i)
      o << csv_field(test.ids[i]) << ',' << csv_field(classes[static_cast<std::size_t>(te_y[i])])
        << ',' << csv_field(classes[static_cast<std::size_t>(pred[i])]) << ','
        << fixed(prob[i], 3) << '\n';
    write_text_file(dir + "/test_predictions.csv", o.str());
  }
  const double seconds = seconds_since(t_start);

  // Human summary.
  log << "\ntest accuracy " << pct(sc.accuracy) << " on " << te_y.size()
      << " sequences  (majority class " << pct(maj.accuracy) << ", 1-nearest-neighbour "
      << (nn.empty() ? std::string("skipped: too large") : pct(nn_acc)) << ")\n";
  print_class_table(log, classes, sc);
  log << "model: " << a.task.model << "\npictures: " << dir << "/ (loss.svg, accuracy.svg, "
      << "confusion_matrix.svg, test_predictions.csv)\ntime: " << fixed(seconds, 1) << " s\n";

  nlohmann::json epochs = nlohmann::json::array(), best = nlohmann::json::array();
  for (const auto& m : members) {
    epochs.push_back(m.history.epoch.size());
    best.push_back(m.best_epoch >= 0 ? nlohmann::json(m.best_epoch + 1) : nlohmann::json(nullptr));
  }
  print_json(a.task, {{"test_accuracy", sc.accuracy},
                      {"baseline_majority_accuracy", maj.accuracy},
                      {"baseline_1nn_accuracy",
                       nn.empty() ? nlohmann::json(nullptr) : nlohmann::json(nn_acc)},
                      {"classes", classes},
                      {"per_class", per_class_json(classes, sc)},
                      {"confusion_matrix", sc.confusion},
                      {"train_sequences", n_fit},
                      {"validation_sequences", n_val},
                      {"test_sequences", test.size()},
                      {"features", train.feature_names},
                      {"max_length", max_len},
                      {"cell", a.cell},
                      {"units", a.units},
                      {"bidirectional", a.bidirectional},
                      {"ensemble", a.ensemble},
                      {"epochs", epochs},
                      {"best_epochs", best},
                      {"seconds", seconds},
                      {"model", a.task.model},
                      {"report_dir", dir}});
  return 0;
}

// ---- labelling new sequences with a trained model ----

int run_predict(const SeqArgs& a) {
  apply_threads(a.task);
  if (a.file.empty()) fail<InvalidArgument>("--predict needs a FILE with the sequences to label");
  std::map<std::string, std::string> meta;
  std::unique_ptr<Model> model = load_model(a.task.model, &meta);
  const nlohmann::json pre = find_preprocessing(meta, "seqclass");
  if (pre.is_null())
    fail<FormatError>(a.task.model,
                      ": not a sequence classifier written by recur seqclass "
                      "(recur.preprocessing has no seqclass columns, scaler and labels)");
  Layout layout;
  data::Scaler scaler;
  std::vector<std::string> classes;
  try {
    layout.wide = pre.at("format").get<std::string>() == "wide";
    if (layout.wide) {
      layout.wide_columns.label = pre.at("label_column").get<std::string>();
      if (pre.value("value_columns_chosen", false))
        layout.wide_columns.values = pre.at("value_columns").get<std::vector<std::string>>();
    } else {
      layout.long_columns.id = pre.at("id_column").get<std::string>();
      layout.long_columns.label = pre.at("label_column").get<std::string>();
      layout.long_columns.time = pre.at("time_column").get<std::string>();
      layout.long_columns.features = pre.at("feature_columns").get<std::vector<std::string>>();
    }
    scaler = data::Scaler::from_json(pre.at("scaler"));
    classes = pre.at("labels").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    fail<FormatError>(a.task.model, ": malformed recur.preprocessing: ", e.what());
  } catch (const Error& e) {  // the scaler's own checks
    fail<FormatError>(a.task.model, ": malformed recur.preprocessing: ", e.what());
  }
  if (classes.size() < 2 || model->output_shape().back() != static_cast<int64_t>(classes.size()))
    fail<FormatError>(a.task.model, ": recur.preprocessing does not match the model (",
                      classes.size(), " labels, model output ", shape_str(model->output_shape()),
                      ")");

  const data::Table t = read_table_file(a.file, a.sep.empty() ? pre.value("separator", "") : a.sep);
  // The label column is optional here: when the file has it, accuracy is reported too.
  const std::string label_column = a.label_column.empty() ? layout.label() : a.label_column;
  const bool has_labels =
      std::find(t.columns.begin(), t.columns.end(), label_column) != t.columns.end();
  if (layout.wide) {
    // The value columns: --features, else those chosen in training, else (a new file's series
    // may have other lengths) every column but the label.
    layout.wide_columns.label = has_labels ? label_column : "";
    if (!a.features.empty()) layout.wide_columns.values = a.features;
    layout.wide_columns = data::resolve_wide_columns(t, layout.wide_columns);
  } else {
    // The columns of training unless overridden (a new file may name them differently).
    if (!a.id_column.empty()) layout.long_columns.id = a.id_column;
    if (!a.time_column.empty()) layout.long_columns.time = a.time_column;
    if (!a.features.empty()) layout.long_columns.features = a.features;
    layout.long_columns.label = has_labels ? label_column : "";
    if (layout.long_columns.time.empty()) layout.long_columns.time = "none";
    layout.long_columns = data::resolve_long_columns(t, layout.long_columns);
  }
  data::Sequences s = read_sequences(t, layout);
  if (s.size() == 0) fail<FormatError>(a.file, ": no sequences");
  if (scaler.features() != s.features())
    fail<ShapeError>(a.file, ": ", s.features(), " feature column(s) (", join(s.feature_names),
                     "), but the model was trained on ", scaler.features());
  standardize(s, scaler);
  std::vector<float> best;
  const Tensor probs = model->predict(data::pad_post(s), 256);
  const std::vector<int64_t> pred = argmax_rows(probs, &best);

  std::ostringstream o;
  o << "id," << (has_labels ? "label," : "") << "predicted,probability\n";
  nlohmann::json rows = nlohmann::json::array();
  int64_t correct = 0;
  for (std::size_t i = 0; i < pred.size(); ++i) {
    const std::string& label = classes[static_cast<std::size_t>(pred[i])];
    o << csv_field(s.ids[i]) << ',' << (has_labels ? csv_field(s.labels[i]) + "," : "")
      << csv_field(label) << ',' << fixed(best[i], 3) << '\n';
    nlohmann::json r = {{"id", s.ids[i]}, {"predicted", label}, {"probability", best[i]}};
    if (has_labels) {
      r["label"] = s.labels[i];
      correct += s.labels[i] == label;
    }
    rows.push_back(r);
  }
  write_predictions(a.task, a.output, o.str(), pred.size());
  const double accuracy =
      pred.empty() ? 0.0 : static_cast<double>(correct) / static_cast<double>(pred.size());
  if (has_labels)
    note_accuracy(a.task, a.output, label_column, correct, static_cast<int64_t>(pred.size()));
  nlohmann::json out = {{"classes", classes}, {"predictions", rows}};
  if (has_labels) out["accuracy"] = accuracy;
  print_json(a.task, out);
  return 0;
}

}  // namespace

void register_seqclass(CLI::App& app, std::function<int()>& run) {
  auto a = std::make_shared<SeqArgs>();
  CLI::App* cmd = app.add_subcommand(
      "seqclass",
      "Sequence classification: train Masking -> (Bidirectional) GRU/LSTM -> softmax on "
      "variable-length multivariate sequences from a CSV/TSV table and compare it with a "
      "majority-class and a 1-nearest-neighbour baseline (no FILE: the built-in Japanese Vowels "
      "speakers); or, with --predict, label new sequences with a trained model");
  cmd->add_option("file", a->file,
                  "CSV or TSV table with a header; default: data/japanese_vowels_train.csv "
                  "(tested on data/japanese_vowels_test.csv)");
  cmd->add_option("--test", a->test_file,
                  "separate test table (same columns); default: a seeded stratified hold-out");
  cmd->add_option("--label-column", a->label_column,
                  "column holding the class (required with FILE; built-in data: speaker)");
  cmd->add_option("--id-column", a->id_column,
                  "long format: column naming the sequence of each row (one row per time step; "
                  "built-in data: utterance)");
  cmd->add_flag("--wide", a->wide,
                "wide format: one row per sequence, the label and then the values of a "
                "univariate series in time order (trailing empty cells end a shorter series)");
  cmd->add_option("--time-column", a->time_column,
                  "long format: column that orders a sequence's rows and is not a feature "
                  "(default: a column named frame, step, t, time, timestep, time_step, time_idx "
                  "or time_index, if any; 'none': no time column)");
  cmd->add_option("--features", a->features,
                  "comma-separated feature columns (long) or value columns (wide); default: "
                  "every other column")
      ->delimiter(',');
  cmd->add_option("--sep", a->sep,
                  "field separator: ',', ';' or tab (default: from the extension)");
  cmd->add_option("--test-fraction", a->test_fraction,
                  "share of sequences held out for testing without --test (default 0.2)")
      ->check(CLI::Range(0.01, 0.9));
  cmd->add_option("--validation-fraction", a->validation_fraction,
                  "share of the training sequences used for early stopping; 0 = train all "
                  "--epochs on everything (default 0.15)")
      ->check(CLI::Range(0.0, 0.5));
  cmd->add_option("--cell", a->cell, "recurrent cell: gru | lstm (default gru)")
      ->check(CLI::IsMember({"gru", "lstm"}));
  cmd->add_flag("!--no-bidirectional", a->bidirectional,
                "one direction only (default: Bidirectional, both directions concatenated)");
  cmd->add_option("--units", a->units, "recurrent units per direction (default 64)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--epochs", a->epochs, "most passes over the data (default 60)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--patience", a->patience,
                  "stop after this many epochs without a better validation loss and keep the "
                  "best weights; 0 = off (default 10)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch-size", a->batch_size, "sequences per batch (default 32)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--lr", a->lr, "Adam learning rate (default 0.003)")->check(CLI::PositiveNumber);
  cmd->add_option("--dropout", a->dropout, "dropout before the output layer (default 0.3)")
      ->check(CLI::Range(0.0, 0.95));
  cmd->add_option("--ensemble", a->ensemble,
                  "train this many models from different seeds and average their probabilities "
                  "(saved as one model file; default 5)")
      ->check(CLI::Range(1, 20));
  add_task_options(cmd, a->task, "seqclass.safetensors");
  cmd->add_flag("--predict", a->predict,
                "label the sequences in FILE with the trained model --model M (columns as in "
                "training; the label column is optional and gives an accuracy)");
  cmd->add_option("--output", a->output,
                  "--predict: write id, predicted class and probability as CSV here instead of "
                  "stdout");
  cmd->callback([&run, a] {
    if (!a->predict && !a->file.empty()) {
      if (a->label_column.empty())
        throw CLI::ValidationError("--label-column", "required when FILE is given");
      if (a->wide == !a->id_column.empty())
        throw CLI::ValidationError("--id-column/--wide",
                                   "give exactly one: --id-column ID (long format: one row per "
                                   "time step) or --wide (one row per sequence)");
    }
    if (!a->predict && a->file.empty() && a->wide)
      throw CLI::ValidationError("--wide", "needs FILE (the built-in data is in long format)");
    if (a->wide && !a->time_column.empty())
      throw CLI::ValidationError("--time-column", "only for the long format (--id-column)");
    run = [a] { return a->predict ? run_predict(*a) : run_train(*a); };
  });
}

}  // namespace recur::cli
