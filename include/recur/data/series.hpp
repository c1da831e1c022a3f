// Time series helpers: chronological splits, sliding windows, scalers (fit on the training span
// only, saved in the model file's "recur.preprocessing" metadata), date-frequency detection, and
// the forecaster's transform (log / reference-relative targets).
//
//   auto split = chronological_split(series.size(), 0.2);          // last 20 % is the test span
//   Scaler s = Scaler::fit(ScalerKind::standard, train_values);    // [n, F] row-major, F = 1
//   Windows w = make_windows(values, 1, targets, {.lookback = 24, .horizon = 12});
//   // w.x [N, 24, 1] batch-first, w.y [N, 12]
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "recur/tensor.hpp"

namespace recur::data {

// ---- chronological splits ----------------------------------------------------------------

// [0, train_end) train, [train_end, val_end) validation, [val_end, n) test. Nothing is shuffled.
struct ChronoSplit {
  std::size_t n = 0, train_end = 0, val_end = 0;
  std::size_t train_size() const { return train_end; }
  std::size_t val_size() const { return val_end - train_end; }
  std::size_t test_size() const { return n - val_end; }
};
// The last round(test_fraction·n) points are the test span, and the last round(val_fraction·n)
// points before them the validation span (fractions of n, each in [0, 1)). InvalidArgument when
// a non-zero fraction would leave a span (or the training span) empty.
ChronoSplit chronological_split(std::size_t n, double test_fraction, double val_fraction = 0.0);

// ---- windows -----------------------------------------------------------------------------

struct WindowOptions {
  int64_t lookback = 1;   // input steps per sample
  int64_t horizon = 1;    // target steps per sample (directly after the input steps)
  int64_t stride = 1;     // distance between consecutive samples' first steps
};

// Samples of a series: x [N, lookback, F] (batch-first) and y [N, horizon]; sample i reads rows
// [s, s + lookback) of `values` ([n, F] row-major) and targets [s + lookback, s + lookback +
// horizon) of `targets` ([n]), with s = begin + i·stride. origin[i] = s + lookback - 1 (the last
// input row). Uses rows [begin, end) (end = 0: all). InvalidArgument names the counts when the
// rows cannot hold one sample.
struct Windows {
  Tensor x, y;
  std::vector<int64_t> origin;
};
Windows make_windows(std::span<const double> values, int64_t features,
                     std::span<const double> targets, const WindowOptions& options,
                     std::size_t begin = 0, std::size_t end = 0);
// Univariate: the series is both the input (F = 1) and the target.
Windows make_windows(std::span<const double> series, const WindowOptions& options);
// How many samples `n` rows give (0 when too few).
int64_t window_count(int64_t n, const WindowOptions& options);

// ---- scalers -----------------------------------------------------------------------------

enum class ScalerKind { none, minmax, standard };

// Per-feature affine scaling x' = (x - offset) / scale (sklearn's MinMaxScaler with range [0, 1]
// and StandardScaler). Constant features get scale 1.
struct Scaler {
  ScalerKind kind = ScalerKind::none;
  std::vector<double> offset, scale;  // one per feature

  // Fits on `values` [n, F] row-major (the training span only). InvalidArgument for no rows or
  // non-finite values.
  static Scaler fit(ScalerKind kind, std::span<const double> values, int64_t features = 1);
  int64_t features() const { return static_cast<int64_t>(offset.size()); }
  // In place on [n, F] row-major values.
  void transform(std::span<double> values) const;
  void inverse_transform(std::span<double> values) const;
  double transform(double v, int64_t feature = 0) const;
  double inverse(double v, int64_t feature = 0) const;

  // {"kind": "standard", "mean": [...], "std": [...]} / {"kind": "minmax", "min": [...],
  // "max": [...]} / {"kind": "none"}. from_json throws FormatError naming the bad key.
  nlohmann::json to_json() const;
  static Scaler from_json(const nlohmann::json& j);
};
ScalerKind parse_scaler_kind(const std::string& name);  // "none" | "minmax" | "standard"
const char* scaler_kind_name(ScalerKind kind);

// ---- dates -------------------------------------------------------------------------------

// The spacing of a date column, from its labels: "YYYY-MM" / "YYYY-MM-DD" / "YYYY-MM-DD HH:MM"
// (and "YYYY-Qn", "YYYY"). Unknown formats or irregular spacing give `none`.
enum class Frequency { none, hourly, daily, weekly, monthly, quarterly, yearly };
Frequency detect_frequency(const std::vector<std::string>& dates);
const char* frequency_name(Frequency f);
// The season length a frequency suggests: monthly 12, quarterly 4, daily 7, hourly 24, else 1.
int64_t season_for(Frequency f);
// The `count` labels after `last` in the same format ("1960-12" monthly -> "1961-01", ...);
// for `none` (or a label it cannot parse): "+1", "+2", ...
std::vector<std::string> next_dates(const std::string& last, Frequency f, int64_t count);

// ---- the forecaster's transform ------------------------------------------------------------

// How `recur forecast` turns a series into samples (stored as JSON in "recur.preprocessing").
// With z = log(y) (when `log`) or y:
//   inputs   x_i = z_i - z_o                          for the lookback steps i of origin o
//   targets  d_h = z_{o+h} - ref_h                    h = 1..horizon, with
//            ref_h = z_o                              (reference "last")
//            ref_h = z_{o+h-m·ceil(h/m)}              (reference "seasonal", season m)
// both then standardized (input_scaler, target_scaler: fitted on training windows only); the
// forecast is y = exp(ref_h + d_h) (or ref_h + d_h). The seasonal lag is never after the origin.
struct ForecastTransform {
  bool log = false;
  std::string reference = "last";   // "last" | "seasonal"
  int64_t season = 1;
  int64_t lookback = 1, horizon = 1;
  Scaler input_scaler, target_scaler;

  // How many values before and including the origin one forecast needs.
  int64_t history() const;
  // z from y (log when `log`; InvalidArgument naming the index for y <= 0 with log).
  std::vector<double> to_z(std::span<const double> y) const;
  // Unscaled inputs [lookback] and targets [horizon] for origin o of z (no scaling).
  void raw_sample(std::span<const double> z, int64_t o, double* x, double* d) const;
  // Scaled samples for every origin in `origins`: x [N, lookback, 1], y [N, horizon].
  // Targets past the end of z are NaN (use only for prediction).
  Windows samples(std::span<const double> z, const std::vector<int64_t>& origins) const;
  // The forecast y_{o+1..o+H} from the model's (scaled) outputs for origin o.
  std::vector<double> decode(std::span<const double> z, int64_t o,
                             std::span<const float> output) const;

  nlohmann::json to_json() const;
  static ForecastTransform from_json(const nlohmann::json& j);
};

}  // namespace recur::data
