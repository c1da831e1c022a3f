// recur forecast: train a recurrent forecaster on one column of a CSV/TSV time series, compare it
// with the seasonal-naive and last-value baselines on a chronological test span, write the model
// (with its preprocessing), pictures and CSVs; or (--predict) forecast after the end of a file
// with a trained model.
//
//   recur forecast [DATA] [--column C] [--date-column D] [--lookback L] [--horizon H]
//                  [--season M] [--cell lstm|gru|rnn] [--test FILE] [--model OUT] [--json] ...
//   recur forecast [DATA] --model M --predict [--output F.csv] [--json]
//
// The method (docs/commands/forecast.md): each sample is the last L values before an origin o,
// taken relative to the value at o (in log space for positive series); the network (one recurrent
// layer, then Dense(H) starting at zero) predicts the H next values' change from a reference:
// the value at o ("last") or the value one season before the target ("seasonal"), whichever
// baseline is better on the validation span. Inputs and targets are standardized with scalers
// fitted on the training windows; training stops early on the validation span (the end of the
// training span) and restores the best weights.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/report_format.hpp"
#include "cli/task_common.hpp"
#include "recur/data/series.hpp"
#include "recur/data/table.hpp"
#include "recur/error.hpp"
#include "recur/io/model_file.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/model/sequential.hpp"
#include "recur/report/svg.hpp"
#include "recur/train/callbacks.hpp"
#include "recur/train/fit.hpp"

namespace recur::cli {

namespace {

// The embedded default data set: data/airline_passengers.csv (Box & Jenkins series G), rebuilt
// byte for byte (a test compares it with the file).
std::string embedded_airline_csv() {
  static const int kPassengers[144] = {
      112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118, 115, 126, 141, 135, 125, 149,
      170, 170, 158, 133, 114, 140, 145, 150, 178, 163, 172, 178, 199, 199, 184, 162, 146, 166,
      171, 180, 193, 181, 183, 218, 230, 242, 209, 191, 172, 194, 196, 196, 236, 235, 229, 243,
      264, 272, 237, 211, 180, 201, 204, 188, 235, 227, 234, 264, 302, 293, 259, 229, 203, 229,
      242, 233, 267, 269, 270, 315, 364, 347, 312, 274, 237, 278, 284, 277, 317, 313, 318, 374,
      413, 405, 355, 306, 271, 306, 315, 301, 356, 348, 355, 422, 465, 467, 404, 347, 305, 336,
      340, 318, 362, 348, 363, 435, 491, 505, 404, 359, 310, 337, 360, 342, 406, 396, 420, 472,
      548, 559, 463, 407, 362, 405, 417, 391, 419, 461, 472, 535, 622, 606, 508, 461, 390, 432};
  std::string csv = "month,passengers\n";
  for (int i = 0; i < 144; ++i) {
    const int month = i % 12 + 1;
    csv += std::to_string(1949 + i / 12) + (month < 10 ? "-0" : "-") + std::to_string(month) +
           "," + std::to_string(kPassengers[i]) + "\n";
  }
  return csv;
}

const char* const kEmbeddedName = "airline_passengers.csv (embedded)";

struct ForecastArgs {
  TaskArgs task;
  std::string data, column, date_column, sep, fill, test, output;
  std::optional<int64_t> lookback, horizon, season;
  std::string cell = "lstm";
  int64_t units = 32;
  int epochs = 400;
  int patience = 50;
  std::optional<int64_t> batch_size;  // default: 16, or 64 for 512+ training windows
  double lr = 0.003;
  double test_fraction = 0.2;
  double val_fraction = 0.2;
  std::string transform = "auto", reference = "auto";
  bool predict = false;
  bool demo = false;  // `recur demo`: the wording of the summary
};

using data::ForecastTransform;
using data::Frequency;

// ---- reading the series ----------------------------------------------------------------

struct SeriesData {
  std::string what;  // file name for messages
  std::vector<double> y;
  std::vector<std::string> dates;  // empty when there is no date column
  std::string column, date_column;
  Frequency freq = Frequency::none;
};

// A column counts as numeric when most of its non-empty cells are numbers (so that a stray
// "abc" is reported by Table::numbers with its line, not by the column guess).
bool numeric_column(const data::Table& t, const std::string& name) {
  const std::size_t c = t.column(name);
  std::size_t numbers = 0, filled = 0;
  for (const auto& row : t.rows) {
    const std::string& cell = row[c];
    const auto b = cell.find_first_not_of(" \t");
    if (b == std::string::npos) continue;
    ++filled;
    char* end = nullptr;
    const double v = std::strtod(cell.c_str() + b, &end);
    while (*end == ' ' || *end == '\t') ++end;
    if (end != cell.c_str() + b && *end == '\0' && std::isfinite(v)) ++numbers;
  }
  return numbers > 0 && 2 * numbers >= filled;
}

data::Table read_input_table(const std::string& path, const std::string& sep) {
  if (path.empty()) return data::parse_table(embedded_airline_csv(), ',', kEmbeddedName);
  return read_table_file(path, sep);
}

// Values of `column` with the --fill policy ("" none, "previous", or a number).
std::vector<double> column_values(const data::Table& t, const std::string& column,
                                  const std::string& fill) {
  std::optional<double> fill_value;
  const bool previous = fill == "previous";
  if (previous) {
    fill_value = std::numeric_limits<double>::quiet_NaN();
  } else if (!fill.empty()) {
    char* end = nullptr;
    const double v = std::strtod(fill.c_str(), &end);
    if (end == fill.c_str() || *end != '\0' || !std::isfinite(v))
      fail<InvalidArgument>("--fill '", fill, "' must be a number or 'previous'");
    fill_value = v;
  }
  std::vector<double> y;
  try {
    y = t.numbers(column, fill_value);
  } catch (const FormatError& e) {
    const std::string msg = e.what();
    if (msg.find("missing value") != std::string::npos || msg.find("empty cell") != std::string::npos)
      fail<FormatError>(msg, " (use --fill previous or --fill VALUE for missing values)");
    throw;
  }
  if (previous) {
    for (std::size_t i = 0; i < y.size(); ++i) {
      if (std::isfinite(y[i])) continue;
      if (i == 0)
        fail<FormatError>(t.path, ", line ", t.line.at(0), ", column '", column,
                          "': the first value is missing, so --fill previous has nothing to copy");
      y[i] = y[i - 1];
    }
  }
  return y;
}

SeriesData load_series(const std::string& path, const std::string& sep, std::string column,
                       std::string date_column, const std::string& fill) {
  data::Table t = read_input_table(path, sep);
  SeriesData s;
  s.what = t.path;
  if (!date_column.empty()) {
    t.column(date_column);  // ConfigError naming the columns
  } else {
    // The first column whose labels have a regular date spacing, else the first non-numeric one.
    for (const auto& c : t.columns)
      if (c != column && data::detect_frequency(t.strings(c)) != Frequency::none) {
        date_column = c;
        break;
      }
    if (date_column.empty())
      for (const auto& c : t.columns)
        if (c != column && !numeric_column(t, c)) {
          date_column = c;
          break;
        }
  }
  if (column.empty()) {
    std::vector<std::string> numeric;
    for (const auto& c : t.columns)
      if (c != date_column && numeric_column(t, c)) numeric.push_back(c);
    if (numeric.empty())
      fail<ConfigError>(t.path, ": no numeric column to forecast",
                        date_column.empty() ? "" : " besides the date column '" + date_column + "'",
                        "; columns are ", join(t.columns));
    if (numeric.size() > 1)
      fail<ConfigError>(t.path, ": several numeric columns (", join(numeric),
                        "); choose one with --column");
    column = numeric.front();
  }
  t.column(column);
  if (column == date_column)
    fail<ConfigError>(t.path, ": --column and --date-column are both '", column, "'");
  s.y = column_values(t, column, fill);
  s.column = column;
  s.date_column = date_column;
  if (!date_column.empty()) {
    s.dates = t.strings(date_column);
    s.freq = data::detect_frequency(s.dates);
  }
  return s;
}

// ---- metrics -----------------------------------------------------------------------------

struct Errors {
  double sum_sq = 0, sum_abs = 0;
  int64_t n = 0;
  void add(double forecast, double actual) {
    const double e = forecast - actual;
    sum_sq += e * e;
    sum_abs += std::abs(e);
    ++n;
  }
  double rmse() const { return n ? std::sqrt(sum_sq / static_cast<double>(n)) : NAN; }
  double mae() const { return n ? sum_abs / static_cast<double>(n) : NAN; }
};

// Baselines for target t, h steps after the origin t - h.
double seasonal_naive(const std::vector<double>& y, int64_t t, int64_t h, int64_t m) {
  return y[static_cast<std::size_t>(t - m * ((h + m - 1) / m))];
}
double last_value(const std::vector<double>& y, int64_t t, int64_t h) {
  return y[static_cast<std::size_t>(t - h)];
}

// Numbers in CSV files: shortest round-trip-ish form.
std::string csv_number(double v) {
  if (!std::isfinite(v)) return "";
  std::ostringstream o;
  o << std::setprecision(8) << v;
  return o.str();
}

std::string label_at(const SeriesData& s, int64_t i) {
  if (i >= 0 && i < static_cast<int64_t>(s.dates.size())) return s.dates[static_cast<std::size_t>(i)];
  return "t" + std::to_string(i + 1);
}

// ---- the model ---------------------------------------------------------------------------

CellKind parse_cell(const std::string& name) {
  if (name == "lstm") return CellKind::lstm;
  if (name == "gru") return CellKind::gru;
  if (name == "rnn" || name == "simple_rnn") return CellKind::simple;
  fail<InvalidArgument>("--cell '", name, "' is not one of lstm, gru, rnn");
}

Sequential make_forecaster(CellKind cell, int64_t units, const ForecastTransform& tr,
                           uint64_t seed) {
  Sequential model("forecaster");
  RecurrentOptions ro;
  ro.units = units;
  const std::string name = cell == CellKind::lstm ? "lstm" : cell == CellKind::gru ? "gru" : "rnn";
  model.add(cell == CellKind::lstm  ? make_lstm(name, ro)
            : cell == CellKind::gru ? make_gru(name, ro)
                                    : make_simple_rnn(name, ro));
  // Dense(H) starting at zero: before training the forecast is the reference plus the mean
  // training change (the scaler's offset), i.e. the better baseline with drift.
  DenseOptions dense;
  dense.units = tr.horizon;
  dense.kernel_initializer = Initializer::zeros();
  model.add(std::make_unique<Dense>("dense", dense));
  model.build({tr.lookback, 1}, seed);
  return model;
}

// Progress: one line every few epochs, and the stop.
class ForecastProgress : public Callback {
 public:
  ForecastProgress(std::ostream& out, int epochs) : out_(out), epochs_(epochs) {}
  void on_epoch_end(FitState&, int epoch, Logs& logs) override {
    const double val = logs.count("val_loss") ? logs.at("val_loss") : NAN;
    if (std::isfinite(val) && val < best_) {
      best_ = val;
      best_epoch_ = epoch;
    }
    const int every = std::max(1, epochs_ / 20);
    if ((epoch + 1) % every == 0 || epoch == 0)
      out_ << "  epoch " << std::setw(4) << epoch + 1 << "/" << epochs_ << "  loss "
           << fixed(logs.count("loss") ? logs.at("loss") : NAN, 4) << "  val_loss " << fixed(val, 4)
           << "  (best " << fixed(best_, 4) << " at epoch " << best_epoch_ + 1 << ")\n"
           << std::flush;
    last_epoch_ = epoch;
  }
  int best_epoch() const { return best_epoch_; }
  int last_epoch() const { return last_epoch_; }
  double best() const { return best_; }

 private:
  std::ostream& out_;
  int epochs_;
  double best_ = std::numeric_limits<double>::infinity();
  int best_epoch_ = 0, last_epoch_ = -1;
};

// Forecasts (y space) for each origin: [origins.size()][H].
std::vector<std::vector<double>> forecast_origins(Model& model, const ForecastTransform& tr,
                                                  const std::vector<double>& z,
                                                  const std::vector<int64_t>& origins) {
  std::vector<std::vector<double>> out;
  if (origins.empty()) return out;
  data::Windows w = tr.samples(z, origins);
  const Tensor pred = model.predict(w.x, 256);
  for (std::size_t i = 0; i < origins.size(); ++i) {
    std::span<const float> row(pred.data() + static_cast<int64_t>(i) * tr.horizon,
                               static_cast<std::size_t>(tr.horizon));
    out.push_back(tr.decode(z, origins[i], row));
  }
  return out;
}

// ---- training ----------------------------------------------------------------------------

int run_train(const ForecastArgs& a) {
  std::ostream& log = task_log(a.task);
  const auto t0 = std::chrono::steady_clock::now();
  SeriesData s = load_series(a.data, a.sep, a.column, a.date_column, a.fill);
  const int64_t n_main = static_cast<int64_t>(s.y.size());

  // The test span: a second file that continues the series, or the last 20 %.
  int64_t test_start = 0;
  if (!a.test.empty()) {
    SeriesData t = load_series(a.test, a.sep, s.column, s.date_column, a.fill);
    s.y.insert(s.y.end(), t.y.begin(), t.y.end());
    if (!s.dates.empty()) s.dates.insert(s.dates.end(), t.dates.begin(), t.dates.end());
    test_start = n_main;
  } else {
    if (s.y.size() < 10)
      fail<InvalidArgument>(s.what, ": too few rows: ", s.y.size(), " values in column '",
                            s.column, "'; forecasting needs a longer series");
    test_start = static_cast<int64_t>(data::chronological_split(s.y.size(), a.test_fraction).val_end);
  }
  const int64_t n = static_cast<int64_t>(s.y.size());

  // Defaults from the data.
  const int64_t m = a.season ? *a.season : data::season_for(s.freq);
  if (m < 1) fail<InvalidArgument>("--season ", m, " must be >= 1");
  const int64_t H = a.horizon ? *a.horizon : std::max<int64_t>(1, m);
  if (H < 1) fail<InvalidArgument>("--horizon ", H, " must be >= 1");
  if (a.lookback && *a.lookback < 1) fail<InvalidArgument>("--lookback ", *a.lookback, " must be >= 1");
  const CellKind cell = parse_cell(a.cell);

  // Validation span at the end of the training span: whole target windows only.
  const int64_t val_len = std::max<int64_t>(
      static_cast<int64_t>(std::llround(a.val_fraction * static_cast<double>(test_start))), H + 4);
  const int64_t val_start = test_start - val_len;

  ForecastTransform tr;
  tr.season = m;
  tr.horizon = H;
  // Lookback: two seasons (or 12 steps), shortened when the training span is small.
  auto train_windows = [&](int64_t lookback) {
    const int64_t hist = std::max(lookback, m);  // enough for either reference
    return val_start - H - hist + 1;             // origins hist-1 .. val_start-1-H
  };
  if (a.lookback) {
    tr.lookback = *a.lookback;
  } else {
    tr.lookback = m > 1 ? 2 * m : 12;
    while (tr.lookback > std::max<int64_t>(2, m) && train_windows(tr.lookback) < 32) --tr.lookback;
  }
  const int64_t hist = std::max(tr.lookback, m);
  constexpr int64_t kMinTrainWindows = 8;
  if (val_start <= 0 || train_windows(tr.lookback) < kMinTrainWindows)
    fail<InvalidArgument>(
        s.what, ": too few rows for lookback ", tr.lookback, " and horizon ", H,
        (m > 1 ? " (season " + std::to_string(m) + ")" : std::string()), ": ", n,
        " values, of which ", test_start, " before the test span; training needs at least ",
        hist + H - 1 + kMinTrainWindows + val_len, " values before the test span (", val_len,
        " of them for validation); use a shorter --lookback/--horizon or more data");
  if (n - test_start < 1) fail<InvalidArgument>(s.what, ": the test span is empty");

  // Transform: log for positive series, reference from the validation span's baselines.
  const bool positive = std::all_of(s.y.begin(), s.y.end(), [](double v) { return v > 0; });
  if (a.transform == "log") {
    if (!positive) {
      const auto it = std::find_if(s.y.begin(), s.y.end(), [](double v) { return !(v > 0); });
      fail<InvalidArgument>(s.what, ": --transform log needs positive values, but value ",
                            std::distance(s.y.begin(), it) + 1, " is ", *it);
    }
    tr.log = true;
  } else if (a.transform == "none") {
    tr.log = false;
  } else if (a.transform == "auto") {
    tr.log = positive;
  } else {
    fail<InvalidArgument>("--transform '", a.transform, "' is not one of auto, log, none");
  }
  Errors val_sn, val_lv;
  for (int64_t t = val_start; t < test_start; ++t)
    for (int64_t h = 1; h <= H; ++h) {
      if (t - h < hist - 1) continue;
      val_sn.add(seasonal_naive(s.y, t, h, m), s.y[static_cast<std::size_t>(t)]);
      val_lv.add(last_value(s.y, t, h), s.y[static_cast<std::size_t>(t)]);
    }
  if (a.reference == "auto") {
    tr.reference = m > 1 && val_sn.rmse() < val_lv.rmse() ? "seasonal" : "last";
  } else if (a.reference == "last" || a.reference == "seasonal") {
    tr.reference = a.reference;
  } else {
    fail<InvalidArgument>("--reference '", a.reference, "' is not one of auto, last, seasonal");
  }

  const std::vector<double> z = tr.to_z(s.y);
  std::vector<int64_t> train_origins, val_origins;
  for (int64_t o = hist - 1; o + H <= val_start - 1; ++o) train_origins.push_back(o);
  for (int64_t o = val_start - 1; o + H <= test_start - 1; ++o) val_origins.push_back(o);

  // Scalers fitted on the training windows only.
  {
    std::vector<double> xs, ds, x(static_cast<std::size_t>(tr.lookback)),
        d(static_cast<std::size_t>(H));
    for (int64_t o : train_origins) {
      tr.raw_sample(z, o, x.data(), d.data());
      xs.insert(xs.end(), x.begin(), x.end());
      ds.insert(ds.end(), d.begin(), d.end());
    }
    tr.input_scaler = data::Scaler::fit(data::ScalerKind::standard, xs);
    tr.target_scaler = data::Scaler::fit(data::ScalerKind::standard, ds);
  }
  data::Windows train = tr.samples(z, train_origins);
  data::Windows val = tr.samples(z, val_origins);

  apply_threads(a.task);
  check_model_writable(a.task);
  log << s.what << ": column '" << s.column << "', " << n << " values"
      << (s.date_column.empty() ? std::string()
                                : ", dates in '" + s.date_column + "' (" +
                                      data::frequency_name(s.freq) + ")")
      << "\n";
  log << "season " << m << ", lookback " << tr.lookback << ", horizon " << H << "; "
      << (tr.log ? "log values, " : "") << "predicting the change from the "
      << (tr.reference == "seasonal" ? "value one season earlier" : "last value") << "\n";
  log << "training " << a.cell << "(" << a.units << ") on " << train_origins.size()
      << " windows, validating on " << val_origins.size() << " (" << label_at(s, val_start)
      << " .. " << label_at(s, test_start - 1) << "), testing on " << n - test_start << " ("
      << label_at(s, test_start) << " .. " << label_at(s, n - 1) << ")\n";

  Sequential model = make_forecaster(cell, a.units, tr, a.task.seed);
  CompileOptions co = compile_options("adam", "mse");
  co.optimizer.learning_rate = a.lr;
  co.optimizer.clipnorm = 1.0;
  model.compile(co);
  FitOptions fo;
  fo.epochs = a.epochs;
  fo.batch_size = a.batch_size ? *a.batch_size : train_origins.size() >= 512 ? 64 : 16;
  fo.validation_x = {val.x};
  fo.validation_y = {val.y};
  fo.shuffle = true;
  fo.seed = a.task.seed;
  fo.verbose = 0;
  auto progress = std::make_shared<ForecastProgress>(log, a.epochs);
  fo.callbacks.push_back(terminate_on_nan());
  fo.callbacks.push_back(progress);
  EarlyStoppingOptions es;
  es.monitor = "val_loss";
  es.patience = a.patience;
  es.restore_best_weights = true;
  fo.callbacks.push_back(early_stopping(es));
  const auto fit_start = std::chrono::steady_clock::now();
  History history = model.fit(train.x, train.y, fo);
  const double fit_seconds = seconds_since(fit_start);
  if (history.stopped_on_nan)
    fail<InvalidArgument>("training stopped: the loss became NaN or Inf (try a lower --lr)");
  log << "stopped after epoch " << progress->last_epoch() + 1 << "; best val_loss "
      << fixed(progress->best(), 4) << " at epoch " << progress->best_epoch() + 1
      << " (weights restored), " << fixed(fit_seconds, 1) << " s\n";

  // Test: every test point t at every horizon h, forecast from origin t - h.
  std::vector<int64_t> test_origins;
  for (int64_t o = std::max(hist - 1, test_start - H); o <= n - 2; ++o) test_origins.push_back(o);
  const auto fc = forecast_origins(model, tr, z, test_origins);
  Errors em, esn, elv, em1, esn1, elv1;
  // per test point: forecast made h steps ahead (NaN when the origin is too early)
  std::vector<std::vector<double>> by_h(static_cast<std::size_t>(H),
                                        std::vector<double>(static_cast<std::size_t>(n - test_start), NAN));
  for (std::size_t i = 0; i < test_origins.size(); ++i) {
    const int64_t o = test_origins[i];
    for (int64_t h = 1; h <= H; ++h) {
      const int64_t t = o + h;
      if (t < test_start || t >= n) continue;
      const double actual = s.y[static_cast<std::size_t>(t)];
      const double f = fc[i][static_cast<std::size_t>(h - 1)];
      by_h[static_cast<std::size_t>(h - 1)][static_cast<std::size_t>(t - test_start)] = f;
      em.add(f, actual);
      esn.add(seasonal_naive(s.y, t, h, m), actual);
      elv.add(last_value(s.y, t, h), actual);
      if (h == 1) {
        em1.add(f, actual);
        esn1.add(seasonal_naive(s.y, t, h, m), actual);
        elv1.add(last_value(s.y, t, h), actual);
      }
    }
  }

  // The forecast after the end of the data.
  const auto future = forecast_origins(model, tr, z, {n - 1}).front();
  const std::vector<std::string> future_dates =
      s.dates.empty() ? data::next_dates("", Frequency::none, H)
                      : data::next_dates(s.dates.back(), s.freq, H);

  // The model file with its preprocessing (check_model_writable created its folder).
  nlohmann::json prep = tr.to_json();
  prep["task"] = "forecast";
  prep["column"] = s.column;
  prep["date_column"] = s.date_column;
  prep["frequency"] = data::frequency_name(s.freq);
  prep["cell"] = a.cell;
  prep["trained_on"] = s.what;
  if (!s.dates.empty()) prep["last_date"] = s.dates.back();
  save_model(a.task.model, model, {{"recur.preprocessing", prep.dump()}});

  // Files: CSVs and pictures next to the model.
  const std::filesystem::path dir = report_dir(a.task);
  const std::string forecast_csv = a.output.empty() ? (dir / "forecast.csv").string() : a.output;
  {
    std::string csv = csv_field(s.date_column.empty() ? "step" : s.date_column) + "," +
                      csv_field(s.column) + "_forecast\n";
    for (int64_t h = 0; h < H; ++h)
      csv += csv_field(future_dates[static_cast<std::size_t>(h)]) + "," +
             csv_number(future[static_cast<std::size_t>(h)]) + "\n";
    write_text_file(forecast_csv, csv);
  }
  const std::string test_csv = (dir / "test_predictions.csv").string();
  {
    std::string csv = csv_field(s.date_column.empty() ? "step" : s.date_column) + ",actual";
    for (int64_t h = 1; h <= H; ++h) csv += ",forecast_h" + std::to_string(h);
    csv += ",seasonal_naive_h1,last_value_h1\n";
    for (int64_t t = test_start; t < n; ++t) {
      csv += csv_field(label_at(s, t)) + "," + csv_number(s.y[static_cast<std::size_t>(t)]);
      for (int64_t h = 1; h <= H; ++h)
        csv += "," + csv_number(by_h[static_cast<std::size_t>(h - 1)][static_cast<std::size_t>(t - test_start)]);
      csv += "," + csv_number(seasonal_naive(s.y, t, 1, m)) + "," + csv_number(last_value(s.y, t, 1)) + "\n";
    }
    write_text_file(test_csv, csv);
  }
  const std::string loss_svg = (dir / "loss.svg").string();
  {
    report::LineChart c;
    c.title = "Training and validation loss (" + s.column + ")";
    c.x_label = "epoch";
    c.y_label = "mean squared error (standardized)";
    for (const char* key : {"loss", "val_loss"}) {
      const auto it = history.history.find(key);
      if (it == history.history.end()) continue;
      report::Series ser;
      ser.label = std::string(key) == "loss" ? "training loss" : "validation loss";
      for (std::size_t e = 0; e < it->second.size(); ++e) {
        ser.x.push_back(static_cast<double>(e + 1));
        ser.y.push_back(it->second[e]);
      }
      c.series.push_back(std::move(ser));
    }
    report::write_line_chart(loss_svg, c);
  }
  const std::string forecast_svg = (dir / "forecast.svg").string();
  {
    // The recent history, the test span with 1-step and H-step forecasts, and the future.
    const int64_t from = std::max<int64_t>(0, test_start - std::max<int64_t>(n - test_start, 3 * std::max<int64_t>(m, H)));
    const int64_t to = n + H;  // exclusive
    report::LineChart c;
    c.title = "Forecast of " + s.column + " (" + a.cell + ")";
    c.x_label = s.date_column.empty() ? "step" : s.date_column;
    c.y_label = s.column;
    for (int64_t i = from; i < to; ++i)
      c.x_tick_labels.push_back(i < n ? label_at(s, i) : future_dates[static_cast<std::size_t>(i - n)]);
    c.shade_from_x = static_cast<double>(test_start - from);
    c.shade_label = "test span";
    const auto len = static_cast<std::size_t>(to - from);
    report::Series actual{"actual", {}, std::vector<double>(len, NAN), "#333333", false};
    report::Series one{"forecast 1 step ahead", {}, std::vector<double>(len, NAN), "", false};
    report::Series multi{"forecast from " + label_at(s, test_start - 1) + " (" + std::to_string(H) + " steps)",
                         {}, std::vector<double>(len, NAN), "", false};
    report::Series naive{"seasonal naive, 1 step", {}, std::vector<double>(len, NAN), "#999999", true};
    report::Series ahead{"forecast after the data", {}, std::vector<double>(len, NAN), "#d62728", false};
    for (int64_t i = from; i < n; ++i) actual.y[static_cast<std::size_t>(i - from)] = s.y[static_cast<std::size_t>(i)];
    for (int64_t t = test_start; t < n; ++t) {
      one.y[static_cast<std::size_t>(t - from)] = by_h[0][static_cast<std::size_t>(t - test_start)];
      naive.y[static_cast<std::size_t>(t - from)] = seasonal_naive(s.y, t, 1, m);
    }
    for (std::size_t i = 0; i < test_origins.size(); ++i)
      if (test_origins[i] == test_start - 1)
        for (int64_t h = 1; h <= H && test_start - 1 + h < n; ++h)
          multi.y[static_cast<std::size_t>(test_start - 1 + h - from)] = fc[i][static_cast<std::size_t>(h - 1)];
    ahead.y[static_cast<std::size_t>(n - 1 - from)] = s.y.back();
    for (int64_t h = 0; h < H; ++h) ahead.y[static_cast<std::size_t>(n + h - from)] = future[static_cast<std::size_t>(h)];
    c.series = {actual, one};
    if (H > 1) c.series.push_back(multi);
    c.series.push_back(naive);
    c.series.push_back(ahead);
    report::write_line_chart(forecast_svg, c);
  }
  const double total_seconds = seconds_since(t0);

  // Summary.
  const std::string model_name = a.cell == "rnn" ? "SimpleRNN" : a.cell == "gru" ? "GRU" : "LSTM";
  log << "\nTest span: " << n - test_start << " points (" << label_at(s, test_start) << " .. "
      << label_at(s, n - 1) << "), forecasts 1 to " << H << " steps ahead (" << em.n
      << " forecasts)\n";
  log << "                       RMSE       MAE    RMSE 1 step\n";
  auto row = [&](const std::string& name, const Errors& e, const Errors& e1) {
    log << "  " << std::left << std::setw(18) << name << std::right << std::setw(8)
        << fixed(e.rmse(), 2) << "  " << std::setw(8) << fixed(e.mae(), 2) << "  "
        << std::setw(13) << fixed(e1.rmse(), 2) << "\n";
  };
  row(model_name, em, em1);
  row("seasonal naive", esn, esn1);
  row("last value", elv, elv1);
  if (esn.rmse() > 0)
    log << model_name << " test RMSE is " << fixed(100.0 * std::abs(1.0 - em.rmse() / esn.rmse()), 0)
        << "% " << (em.rmse() <= esn.rmse() ? "lower" : "higher")
        << " than the seasonal naive forecast's (season " << m << ").\n";
  if (H <= 24) {
    log << "forecast after " << label_at(s, n - 1) << ":";
    for (int64_t h = 0; h < H; ++h)
      log << (h % 6 == 0 ? "\n  " : "  ") << future_dates[static_cast<std::size_t>(h)] << " "
          << fixed(future[static_cast<std::size_t>(h)], 1);
    log << "\n";
  }
  log << "model:    " << a.task.model << "\n"
      << "pictures: " << forecast_svg << " (forecast vs actuals), " << loss_svg << "\n"
      << "forecast: " << forecast_csv << " (" << H << " steps after " << label_at(s, n - 1)
      << "); test predictions: " << test_csv << "\n"
      << "time:     " << fixed(total_seconds, 1) << " s\n";
  if (a.demo)
    log << "\nNext: recur forecast your.csv --column C  (see docs/commands/forecast.md); forecast "
           "new data with\n  recur forecast DATA.csv --model "
        << a.task.model << " --predict\n";

  nlohmann::json j = {
      {"test_rmse", finite_or_null(em.rmse())},
      {"test_mae", finite_or_null(em.mae())},
      {"baseline_seasonal_naive_rmse", finite_or_null(esn.rmse())},
      {"baseline_last_value_rmse", finite_or_null(elv.rmse())},
      {"season", m},
      {"baseline_seasonal_naive_mae", finite_or_null(esn.mae())},
      {"baseline_last_value_mae", finite_or_null(elv.mae())},
      {"test_rmse_1_step", finite_or_null(em1.rmse())},
      {"baseline_seasonal_naive_rmse_1_step", finite_or_null(esn1.rmse())},
      {"baseline_last_value_rmse_1_step", finite_or_null(elv1.rmse())},
      {"test_points", n - test_start},
      {"test_forecasts", em.n},
      {"lookback", tr.lookback},
      {"horizon", H},
      {"cell", a.cell},
      {"units", a.units},
      {"batch_size", fo.batch_size},
      {"column", s.column},
      {"log", tr.log},
      {"reference", tr.reference},
      {"epochs", progress->last_epoch() + 1},
      {"best_epoch", progress->best_epoch() + 1},
      {"train_seconds", fit_seconds},
      {"seconds", total_seconds},
      {"model", a.task.model},
      {"forecast_csv", forecast_csv},
      {"test_predictions_csv", test_csv},
      {"pictures", {forecast_svg, loss_svg}},
      {"forecast", future},
      {"forecast_dates", future_dates}};
  print_json(a.task, j);
  return 0;
}

// ---- prediction with a trained model -----------------------------------------------------

int run_predict_mode(const ForecastArgs& a) {
  std::map<std::string, std::string> meta;
  std::unique_ptr<Model> model = load_model(a.task.model, &meta);
  nlohmann::json prep = find_preprocessing(meta, "forecast");
  if (prep.is_null())
    fail<ConfigError>(a.task.model, ": not a forecasting model (its recur.preprocessing does "
                      "not come from recur forecast); train one with: recur forecast DATA --model "
                      "NEW.safetensors");
  ForecastTransform tr;
  try {
    tr = ForecastTransform::from_json(prep);
  } catch (const FormatError& e) {
    fail<FormatError>(a.task.model, ": ", e.what());
  }
  if (model->num_inputs() != 1 || model->input_shape(0).size() != 2 ||
      (model->input_shape(0)[0] != tr.lookback && model->input_shape(0)[0] != -1) ||
      model->output_shape(0) != Shape{tr.horizon})
    fail<ConfigError>(a.task.model, ": the network's input/output shapes ",
                      shape_str(model->input_shape(0)), " -> ", shape_str(model->output_shape(0)),
                      " do not match its preprocessing (lookback ", tr.lookback, ", horizon ",
                      tr.horizon, ")");
  const std::string column = a.column.empty() ? prep.value("column", "") : a.column;
  std::string date_column = a.date_column;
  SeriesData s;
  {
    // The trained date column when the file has it.
    data::Table t = read_input_table(a.data, a.sep);
    if (date_column.empty()) {
      const std::string trained = prep.value("date_column", "");
      if (!trained.empty() &&
          std::find(t.columns.begin(), t.columns.end(), trained) != t.columns.end())
        date_column = trained;
    }
  }
  s = load_series(a.data, a.sep, column, date_column, a.fill);
  const int64_t n = static_cast<int64_t>(s.y.size());
  if (n < tr.history())
    fail<InvalidArgument>(s.what, ": too few rows: ", n, " values in column '", s.column,
                          "', but the model needs the last ", tr.history(), " (lookback ",
                          tr.lookback, tr.reference == "seasonal"
                                           ? ", season " + std::to_string(tr.season) : std::string(),
                          ")");
  std::vector<double> z;
  try {
    z = tr.to_z(s.y);
  } catch (const InvalidArgument& e) {
    fail<InvalidArgument>(s.what, ", column '", s.column, "': ", e.what());
  }
  apply_threads(a.task);
  const auto future = forecast_origins(*model, tr, z, {n - 1}).front();
  Frequency freq = s.freq;
  if (freq == Frequency::none && prep.contains("frequency") && prep["frequency"].is_string()) {
    const std::string f = prep["frequency"];
    for (Frequency c : {Frequency::hourly, Frequency::daily, Frequency::weekly, Frequency::monthly,
                        Frequency::quarterly, Frequency::yearly})
      if (f == data::frequency_name(c)) freq = c;
  }
  const std::vector<std::string> dates =
      s.dates.empty() ? data::next_dates("", Frequency::none, tr.horizon)
                      : data::next_dates(s.dates.back(), freq, tr.horizon);
  std::string csv = csv_field(s.date_column.empty() ? "step" : s.date_column) + "," +
                    csv_field(s.column) + "_forecast\n";
  for (int64_t h = 0; h < tr.horizon; ++h)
    csv += csv_field(dates[static_cast<std::size_t>(h)]) + "," +
           csv_number(future[static_cast<std::size_t>(h)]) + "\n";
  if (!a.output.empty()) {
    write_text_file(a.output, csv);
    task_log(a.task) << "forecast of " << s.column << " for " << dates.front() << " .. "
                     << dates.back() << " written to " << a.output << "\n";
  } else if (!a.task.json) {
    std::cout << csv;
  }
  nlohmann::json j = {{"column", s.column},
                      {"horizon", tr.horizon},
                      {"after", label_at(s, n - 1)},
                      {"dates", dates},
                      {"forecast", future},
                      {"model", a.task.model}};
  if (!a.output.empty()) j["output"] = a.output;
  print_json(a.task, j);
  return 0;
}

int run_forecast(const ForecastArgs& a) { return a.predict ? run_predict_mode(a) : run_train(a); }

void add_forecast_options(CLI::App* cmd, ForecastArgs& a) {
  cmd->add_option("--column", a.column,
                  "the column to forecast (default: the only numeric column besides the dates)");
  cmd->add_option("--date-column", a.date_column,
                  "the column of dates/labels (default: the first column with regular dates)");
  cmd->add_option("--sep", a.sep, "field separator (default: tab for .tsv/.tab, else comma)");
  cmd->add_option("--fill", a.fill,
                  "missing cells: 'previous' (carry the last value forward) or a number "
                  "(default: missing cells are an error)");
  cmd->add_option("--lookback", a.lookback,
                  "input steps per forecast (default: 2 seasons, or 12)");
  cmd->add_option("--horizon", a.horizon, "steps forecast at once (default: the season, or 1)");
  cmd->add_option("--season", a.season,
                  "season length for the seasonal-naive baseline (default from the dates: "
                  "monthly 12, quarterly 4, daily 7, hourly 24; else 1)");
}

}  // namespace

// `recur demo` (cmd_demo.cpp): the default job on the embedded airline series.
int run_forecast_demo(const TaskArgs& task) {
  ForecastArgs a;
  a.task = task;
  a.demo = true;
  return run_forecast(a);
}

void register_forecast(CLI::App& app, std::function<int()>& run) {
  auto a = std::make_shared<ForecastArgs>();
  CLI::App* cmd = app.add_subcommand(
      "forecast", "Train a recurrent forecaster on a CSV/TSV time series, compare it with "
                  "baselines, write the model, pictures and the forecast; or, with --predict, "
                  "forecast after the end of a file with a trained model");
  cmd->add_option("data", a->data,
                  "CSV or TSV file with a header (default: the embedded airline passengers "
                  "series)");
  add_forecast_options(cmd, *a);
  cmd->add_option("--cell", a->cell, "recurrent layer: lstm, gru or rnn (default lstm)");
  cmd->add_option("--units", a->units, "recurrent units (default 32)")->check(CLI::PositiveNumber);
  cmd->add_option("--test", a->test,
                  "a file continuing the series to test on (default: the last 20 % of DATA)");
  cmd->add_option("--test-fraction", a->test_fraction,
                  "test span without --test: this fraction of the end (default 0.2)")
      ->check(CLI::Range(0.01, 0.9));
  cmd->add_option("--epochs", a->epochs, "most training epochs (default 400; early stopping)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--patience", a->patience,
                  "stop after this many epochs without a better validation loss (default 50)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--batch-size", a->batch_size, "windows per batch (default 16, or 64 with 512+ training windows)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--lr", a->lr, "Adam learning rate (default 0.003)")->check(CLI::PositiveNumber);
  cmd->add_option("--transform", a->transform,
                  "auto (log for positive series), log or none (default auto)");
  cmd->add_option("--reference", a->reference,
                  "predict the change from: auto (the better baseline on the validation span), "
                  "last or seasonal (default auto)");
  cmd->add_flag("--predict", a->predict,
                "load --model and forecast the next H values after the end of DATA");
  cmd->add_option("--output", a->output,
                  "where to write the forecast CSV (default: <model>_report/forecast.csv; with "
                  "--predict: stdout)");
  add_task_options(cmd, a->task, "forecast.safetensors");
  cmd->callback([&run, a] { run = [a] { return run_forecast(*a); }; });
}

}  // namespace recur::cli
