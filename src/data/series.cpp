// Time series helpers: splits, windows, scalers, dates, and the forecaster's transform.
#include "recur/data/series.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <string_view>

#include "recur/error.hpp"

namespace recur::data {

// ---- chronological splits ----------------------------------------------------------------

ChronoSplit chronological_split(std::size_t n, double test_fraction, double val_fraction) {
  if (!(test_fraction >= 0 && test_fraction < 1))
    fail<InvalidArgument>("test fraction ", test_fraction, " is not in [0, 1)");
  if (!(val_fraction >= 0 && val_fraction < 1))
    fail<InvalidArgument>("validation fraction ", val_fraction, " is not in [0, 1)");
  const auto count = [n](double f) {
    return static_cast<std::size_t>(std::llround(f * static_cast<double>(n)));
  };
  const std::size_t test = count(test_fraction), val = count(val_fraction);
  if (test_fraction > 0 && test == 0)
    fail<InvalidArgument>("a test fraction of ", test_fraction, " of ", n,
                          " points leaves no test points");
  if (val_fraction > 0 && val == 0)
    fail<InvalidArgument>("a validation fraction of ", val_fraction, " of ", n,
                          " points leaves no validation points");
  if (test + val >= n)
    fail<InvalidArgument>("splitting ", n, " points into ", val, " validation and ", test,
                          " test points leaves none for training");
  ChronoSplit s;
  s.n = n;
  s.val_end = n - test;
  s.train_end = s.val_end - val;
  return s;
}

// ---- windows -----------------------------------------------------------------------------

int64_t window_count(int64_t n, const WindowOptions& o) {
  if (o.lookback < 1 || o.horizon < 0 || o.stride < 1) return 0;
  const int64_t span = o.lookback + o.horizon;
  if (n < span) return 0;
  return (n - span) / o.stride + 1;
}

Windows make_windows(std::span<const double> values, int64_t features,
                     std::span<const double> targets, const WindowOptions& o, std::size_t begin,
                     std::size_t end) {
  if (o.lookback < 1) fail<InvalidArgument>("windows: lookback ", o.lookback, " must be >= 1");
  if (o.horizon < 1) fail<InvalidArgument>("windows: horizon ", o.horizon, " must be >= 1");
  if (o.stride < 1) fail<InvalidArgument>("windows: stride ", o.stride, " must be >= 1");
  if (features < 1) fail<InvalidArgument>("windows: ", features, " features, expected >= 1");
  if (values.size() % static_cast<std::size_t>(features) != 0)
    fail<ShapeError>("windows: ", values.size(), " values are not a whole number of rows of ",
                     features, " features");
  const std::size_t rows = values.size() / static_cast<std::size_t>(features);
  if (targets.size() != rows)
    fail<ShapeError>("windows: ", targets.size(), " targets for ", rows, " rows of inputs");
  if (end == 0) end = rows;
  if (begin > end || end > rows)
    fail<InvalidArgument>("windows: rows [", begin, ", ", end, ") are outside the ", rows,
                          " rows");
  const int64_t n = static_cast<int64_t>(end - begin);
  const int64_t count = window_count(n, o);
  if (count == 0)
    fail<InvalidArgument>("too few rows: ", n, " rows, but lookback ", o.lookback, " + horizon ",
                          o.horizon, " needs at least ", o.lookback + o.horizon);
  Windows w;
  w.x = Tensor({count, o.lookback, features});
  w.y = Tensor({count, o.horizon});
  w.origin.resize(static_cast<std::size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const int64_t s = static_cast<int64_t>(begin) + i * o.stride;
    float* x = w.x.data() + i * o.lookback * features;
    for (int64_t k = 0; k < o.lookback * features; ++k)
      x[k] = static_cast<float>(values[static_cast<std::size_t>(s * features + k)]);
    for (int64_t h = 0; h < o.horizon; ++h)
      w.y[i * o.horizon + h] = static_cast<float>(targets[static_cast<std::size_t>(s + o.lookback + h)]);
    w.origin[static_cast<std::size_t>(i)] = s + o.lookback - 1;
  }
  return w;
}

Windows make_windows(std::span<const double> series, const WindowOptions& options) {
  return make_windows(series, 1, series, options);
}

// ---- scalers -----------------------------------------------------------------------------

ScalerKind parse_scaler_kind(const std::string& name) {
  if (name == "none") return ScalerKind::none;
  if (name == "minmax") return ScalerKind::minmax;
  if (name == "standard") return ScalerKind::standard;
  fail<ConfigError>("unknown scaler '", name, "'; expected none, minmax or standard");
}

const char* scaler_kind_name(ScalerKind kind) {
  switch (kind) {
    case ScalerKind::minmax: return "minmax";
    case ScalerKind::standard: return "standard";
    case ScalerKind::none: break;
  }
  return "none";
}

Scaler Scaler::fit(ScalerKind kind, std::span<const double> values, int64_t features) {
  if (features < 1) fail<InvalidArgument>("scaler: ", features, " features, expected >= 1");
  const std::size_t F = static_cast<std::size_t>(features);
  if (values.empty() || values.size() % F != 0)
    fail<InvalidArgument>("scaler: cannot fit on ", values.size(), " values with ", features,
                          " features per row");
  const std::size_t rows = values.size() / F;
  Scaler s;
  s.kind = kind;
  s.offset.assign(F, 0.0);
  s.scale.assign(F, 1.0);
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i]))
      fail<InvalidArgument>("scaler: value ", values[i], " at row ", i / F, ", feature ", i % F,
                            " is not finite");
  if (kind == ScalerKind::none) return s;
  for (std::size_t f = 0; f < F; ++f) {
    if (kind == ScalerKind::minmax) {
      double lo = values[f], hi = values[f];
      for (std::size_t r = 0; r < rows; ++r) {
        lo = std::min(lo, values[r * F + f]);
        hi = std::max(hi, values[r * F + f]);
      }
      s.offset[f] = lo;
      s.scale[f] = hi > lo ? hi - lo : 1.0;
    } else {
      double mean = 0;
      for (std::size_t r = 0; r < rows; ++r) mean += values[r * F + f];
      mean /= static_cast<double>(rows);
      double var = 0;
      for (std::size_t r = 0; r < rows; ++r) var += (values[r * F + f] - mean) * (values[r * F + f] - mean);
      var /= static_cast<double>(rows);  // population std, as sklearn
      s.offset[f] = mean;
      s.scale[f] = var > 0 ? std::sqrt(var) : 1.0;
    }
  }
  return s;
}

double Scaler::transform(double v, int64_t feature) const {
  if (kind == ScalerKind::none) return v;
  const auto f = static_cast<std::size_t>(feature);
  return (v - offset.at(f)) / scale.at(f);
}

double Scaler::inverse(double v, int64_t feature) const {
  if (kind == ScalerKind::none) return v;
  const auto f = static_cast<std::size_t>(feature);
  return v * scale.at(f) + offset.at(f);
}

void Scaler::transform(std::span<double> values) const {
  if (kind == ScalerKind::none) return;
  const std::size_t F = offset.size();
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = (values[i] - offset[i % F]) / scale[i % F];
}

void Scaler::inverse_transform(std::span<double> values) const {
  if (kind == ScalerKind::none) return;
  const std::size_t F = offset.size();
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = values[i] * scale[i % F] + offset[i % F];
}

nlohmann::json Scaler::to_json() const {
  nlohmann::json j = {{"kind", scaler_kind_name(kind)}};
  if (kind == ScalerKind::standard) {
    j["mean"] = offset;
    j["std"] = scale;
  } else if (kind == ScalerKind::minmax) {
    std::vector<double> hi(offset.size());
    for (std::size_t f = 0; f < offset.size(); ++f) hi[f] = offset[f] + scale[f];
    j["min"] = offset;
    j["max"] = hi;
  }
  return j;
}

namespace {
std::vector<double> number_list(const nlohmann::json& j, const char* key, const char* what) {
  if (!j.contains(key) || !j[key].is_array() || j[key].empty())
    fail<FormatError>(what, ": '", key, "' must be a non-empty list of numbers");
  std::vector<double> out;
  for (const auto& v : j[key]) {
    if (!v.is_number() || !std::isfinite(v.get<double>()))
      fail<FormatError>(what, ": '", key, "' holds a value that is not a finite number");
    out.push_back(v.get<double>());
  }
  return out;
}
}  // namespace

Scaler Scaler::from_json(const nlohmann::json& j) {
  constexpr const char* what = "scaler";
  if (!j.is_object() || !j.contains("kind") || !j["kind"].is_string())
    fail<FormatError>(what, ": expected an object with a string 'kind'");
  Scaler s;
  try {
    s.kind = parse_scaler_kind(j["kind"].get<std::string>());
  } catch (const ConfigError& e) {
    fail<FormatError>(what, ": ", e.what());
  }
  if (s.kind == ScalerKind::none) return s;
  if (s.kind == ScalerKind::standard) {
    s.offset = number_list(j, "mean", what);
    s.scale = number_list(j, "std", what);
  } else {
    s.offset = number_list(j, "min", what);
    std::vector<double> hi = number_list(j, "max", what);
    if (hi.size() == s.offset.size()) {
      s.scale.resize(hi.size());
      for (std::size_t f = 0; f < hi.size(); ++f)
        s.scale[f] = hi[f] > s.offset[f] ? hi[f] - s.offset[f] : 1.0;
    }
  }
  if (s.scale.size() != s.offset.size())
    fail<FormatError>(what, ": ", s.offset.size(), " offsets but ", s.scale.size(), " scales");
  for (double v : s.scale)
    if (!(v > 0)) fail<FormatError>(what, ": scale ", v, " must be positive");
  return s;
}

// ---- dates -------------------------------------------------------------------------------

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int64_t& y, int64_t& m, int64_t& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = yoe + era * 400;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp + (mp < 10 ? 3 : -9);
  y += m <= 2;
}

int64_t days_in_month(int64_t y, int64_t m) {
  return days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) - days_from_civil(y, m, 1);
}

enum class Form { none, year, year_month, year_quarter, date, date_time };

struct Parsed {
  Form form = Form::none;
  int64_t y = 0, m = 1, d = 1, hh = 0, mm = 0, ss = 0, q = 0;
  char date_sep = '-', time_sep = ' ';
  bool seconds = false;
  std::string quarter_sep;  // between the year and "Q" ("", "-", " ")
};

bool digits(std::string_view s, std::size_t pos, std::size_t n, int64_t& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

Parsed parse_date(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  Parsed p;
  int64_t y = 0;
  if (!digits(s, 0, 4, y)) return p;
  p.y = y;
  if (s.size() == 4) {
    p.form = Form::year;
    return p;
  }
  // YYYY-Qn, YYYYQn, YYYY Qn
  {
    std::size_t k = 4;
    std::string sep;
    if (k < s.size() && (s[k] == '-' || s[k] == ' ')) sep = std::string(1, s[k++]);
    int64_t q = 0;
    if (k + 2 == s.size() && (s[k] == 'Q' || s[k] == 'q') && digits(s, k + 1, 1, q) && q >= 1 &&
        q <= 4) {
      p.form = Form::year_quarter;
      p.q = q;
      p.quarter_sep = sep;
      return p;
    }
  }
  const char ds = s[4];
  if (ds != '-' && ds != '/' && ds != '.') return p;
  p.date_sep = ds;
  if (!digits(s, 5, 2, p.m) || p.m < 1 || p.m > 12) return p;
  if (s.size() == 7) {
    p.form = Form::year_month;
    return p;
  }
  if (s.size() < 10 || s[7] != ds || !digits(s, 8, 2, p.d) || p.d < 1 ||
      p.d > days_in_month(p.y, p.m))
    return p;
  if (s.size() == 10) {
    p.form = Form::date;
    return p;
  }
  if (s[10] != ' ' && s[10] != 'T') return p;
  p.time_sep = s[10];
  if (!digits(s, 11, 2, p.hh) || s.size() < 16 || s[13] != ':' || !digits(s, 14, 2, p.mm) ||
      p.hh > 23 || p.mm > 59)
    return p;
  if (s.size() == 19 && s[16] == ':' && digits(s, 17, 2, p.ss) && p.ss <= 59) {
    p.seconds = true;
  } else if (s.size() != 16) {
    return p;
  }
  p.form = Form::date_time;
  return p;
}

int64_t month_index(const Parsed& p) { return p.y * 12 + (p.m - 1); }
int64_t seconds_of(const Parsed& p) {
  return days_from_civil(p.y, p.m, p.d) * 86400 + p.hh * 3600 + p.mm * 60 + p.ss;
}

std::string two(int64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "%02lld", static_cast<long long>(v));
  return b;
}

std::string format_date(int64_t y, int64_t m, int64_t d, char sep) {
  return std::to_string(y) + sep + two(m) + sep + two(d);
}

}  // namespace

Frequency detect_frequency(const std::vector<std::string>& dates) {
  if (dates.size() < 2) return Frequency::none;
  std::vector<Parsed> p;
  p.reserve(dates.size());
  for (const auto& d : dates) {
    p.push_back(parse_date(d));
    if (p.back().form == Form::none || p.back().form != p.front().form) return Frequency::none;
  }
  auto all_steps = [&](auto&& step_ok) {
    for (std::size_t i = 1; i < p.size(); ++i)
      if (!step_ok(p[i - 1], p[i])) return false;
    return true;
  };
  switch (p.front().form) {
    case Form::year:
      return all_steps([](const Parsed& a, const Parsed& b) { return b.y == a.y + 1; })
                 ? Frequency::yearly : Frequency::none;
    case Form::year_quarter:
      return all_steps([](const Parsed& a, const Parsed& b) {
               return b.y * 4 + b.q == a.y * 4 + a.q + 1;
             }) ? Frequency::quarterly : Frequency::none;
    case Form::year_month:
      if (all_steps([](const Parsed& a, const Parsed& b) { return month_index(b) == month_index(a) + 1; }))
        return Frequency::monthly;
      if (all_steps([](const Parsed& a, const Parsed& b) { return month_index(b) == month_index(a) + 3; }))
        return Frequency::quarterly;
      return Frequency::none;
    case Form::date: {
      auto day_step = [&](int64_t k) {
        return all_steps([k](const Parsed& a, const Parsed& b) {
          return days_from_civil(b.y, b.m, b.d) - days_from_civil(a.y, a.m, a.d) == k;
        });
      };
      if (day_step(1)) return Frequency::daily;
      if (day_step(7)) return Frequency::weekly;
      // Month steps: the same day of the month, or month ends.
      auto month_step = [&](int64_t k) {
        return all_steps([k](const Parsed& a, const Parsed& b) {
          if (month_index(b) != month_index(a) + k) return false;
          const bool ends = a.d == days_in_month(a.y, a.m) && b.d == days_in_month(b.y, b.m);
          return b.d == a.d || ends;
        });
      };
      if (month_step(1)) return Frequency::monthly;
      if (month_step(3)) return Frequency::quarterly;
      if (month_step(12)) return Frequency::yearly;
      return Frequency::none;
    }
    case Form::date_time:
      if (all_steps([](const Parsed& a, const Parsed& b) { return seconds_of(b) - seconds_of(a) == 3600; }))
        return Frequency::hourly;
      if (all_steps([](const Parsed& a, const Parsed& b) { return seconds_of(b) - seconds_of(a) == 86400; }))
        return Frequency::daily;
      return Frequency::none;
    case Form::none: break;
  }
  return Frequency::none;
}

const char* frequency_name(Frequency f) {
  switch (f) {
    case Frequency::hourly: return "hourly";
    case Frequency::daily: return "daily";
    case Frequency::weekly: return "weekly";
    case Frequency::monthly: return "monthly";
    case Frequency::quarterly: return "quarterly";
    case Frequency::yearly: return "yearly";
    case Frequency::none: break;
  }
  return "none";
}

int64_t season_for(Frequency f) {
  switch (f) {
    case Frequency::monthly: return 12;
    case Frequency::quarterly: return 4;
    case Frequency::daily: return 7;
    case Frequency::hourly: return 24;
    default: return 1;
  }
}

std::vector<std::string> next_dates(const std::string& last, Frequency f, int64_t count) {
  std::vector<std::string> out;
  const Parsed p = parse_date(last);
  auto fallback = [&] {
    out.clear();
    for (int64_t k = 1; k <= count; ++k) {
      std::string label(1, '+');
      label += std::to_string(k);
      out.push_back(std::move(label));
    }
    return out;
  };
  if (f == Frequency::none || p.form == Form::none) return fallback();
  for (int64_t k = 1; k <= count; ++k) {
    switch (p.form) {
      case Form::year:
        out.push_back(std::to_string(p.y + k));
        break;
      case Form::year_quarter: {
        const int64_t qi = p.y * 4 + (p.q - 1) + k;
        out.push_back(std::to_string(qi / 4) + p.quarter_sep + "Q" + std::to_string(qi % 4 + 1));
        break;
      }
      case Form::year_month: {
        const int64_t mi = month_index(p) + k * (f == Frequency::quarterly ? 3 : 1);
        out.push_back(std::to_string(mi / 12) + p.date_sep + two(mi % 12 + 1));
        break;
      }
      case Form::date: {
        if (f == Frequency::daily || f == Frequency::weekly) {
          int64_t y, m, d;
          civil_from_days(days_from_civil(p.y, p.m, p.d) + k * (f == Frequency::daily ? 1 : 7), y, m, d);
          out.push_back(format_date(y, m, d, p.date_sep));
        } else {
          const int64_t step = f == Frequency::monthly ? 1 : f == Frequency::quarterly ? 3 : 12;
          const int64_t mi = month_index(p) + k * step;
          const int64_t y = mi / 12, m = mi % 12 + 1;
          const bool end = p.d == days_in_month(p.y, p.m);
          const int64_t d = end ? days_in_month(y, m) : std::min(p.d, days_in_month(y, m));
          out.push_back(format_date(y, m, d, p.date_sep));
        }
        break;
      }
      case Form::date_time: {
        const int64_t step = f == Frequency::hourly ? 3600 : 86400;
        const int64_t t = seconds_of(p) + k * step;
        const int64_t days = (t >= 0 ? t : t - 86399) / 86400, sec = t - days * 86400;
        int64_t y, m, d;
        civil_from_days(days, y, m, d);
        std::string s = format_date(y, m, d, p.date_sep) + p.time_sep + two(sec / 3600) + ":" +
                        two(sec / 60 % 60);
        if (p.seconds) s += ":" + two(sec % 60);
        out.push_back(s);
        break;
      }
      case Form::none: return fallback();
    }
  }
  return out;
}

// ---- the forecaster's transform ------------------------------------------------------------

int64_t ForecastTransform::history() const {
  return reference == "seasonal" ? std::max(lookback, season) : lookback;
}

std::vector<double> ForecastTransform::to_z(std::span<const double> y) const {
  std::vector<double> z(y.begin(), y.end());
  if (!log) return z;
  for (std::size_t i = 0; i < z.size(); ++i) {
    if (!(y[i] > 0))
      fail<InvalidArgument>("value ", y[i], " at position ", i + 1,
                            " is not positive, but the model works on log values");
    z[i] = std::log(y[i]);
  }
  return z;
}

void ForecastTransform::raw_sample(std::span<const double> z, int64_t o, double* x,
                                   double* d) const {
  // x [lookback]: z_i - z_o for i = o-lookback+1..o;  d [horizon]: z_{o+h} - ref_h (NaN past end).
  const auto at = [&](int64_t i) { return z[static_cast<std::size_t>(i)]; };
  const int64_t n = static_cast<int64_t>(z.size());
  RECUR_DCHECK(o >= history() - 1 && o < n);
  const double zo = at(o);
  if (x)
    for (int64_t k = 0; k < lookback; ++k) x[k] = at(o - lookback + 1 + k) - zo;
  if (d)
    for (int64_t h = 1; h <= horizon; ++h) {
      const double ref =
          reference == "seasonal" ? at(o + h - season * ((h + season - 1) / season)) : zo;
      d[h - 1] = o + h < n ? at(o + h) - ref : std::numeric_limits<double>::quiet_NaN();
    }
}

Windows ForecastTransform::samples(std::span<const double> z,
                                   const std::vector<int64_t>& origins) const {
  const int64_t N = static_cast<int64_t>(origins.size());
  Windows w;
  w.x = Tensor({N, lookback, 1});
  w.y = Tensor({N, horizon});
  w.origin = origins;
  std::vector<double> x(static_cast<std::size_t>(lookback)), d(static_cast<std::size_t>(horizon));
  for (int64_t i = 0; i < N; ++i) {
    raw_sample(z, origins[static_cast<std::size_t>(i)], x.data(), d.data());
    for (int64_t k = 0; k < lookback; ++k)
      w.x[i * lookback + k] = static_cast<float>(input_scaler.transform(x[static_cast<std::size_t>(k)]));
    for (int64_t h = 0; h < horizon; ++h)
      w.y[i * horizon + h] = static_cast<float>(target_scaler.transform(d[static_cast<std::size_t>(h)]));
  }
  return w;
}

std::vector<double> ForecastTransform::decode(std::span<const double> z, int64_t o,
                                              std::span<const float> output) const {
  RECUR_DCHECK(static_cast<int64_t>(output.size()) == horizon);
  std::vector<double> y(static_cast<std::size_t>(horizon));
  const double zo = z[static_cast<std::size_t>(o)];
  for (int64_t h = 1; h <= horizon; ++h) {
    const double ref = reference == "seasonal"
                           ? z[static_cast<std::size_t>(o + h - season * ((h + season - 1) / season))]
                           : zo;
    const double v = ref + target_scaler.inverse(output[static_cast<std::size_t>(h - 1)]);
    y[static_cast<std::size_t>(h - 1)] = log ? std::exp(v) : v;
  }
  return y;
}

nlohmann::json ForecastTransform::to_json() const {
  return {{"log", log},
          {"reference", reference},
          {"season", season},
          {"lookback", lookback},
          {"horizon", horizon},
          {"input_scaler", input_scaler.to_json()},
          {"target_scaler", target_scaler.to_json()}};
}

ForecastTransform ForecastTransform::from_json(const nlohmann::json& j) {
  constexpr const char* what = "recur.preprocessing";
  if (!j.is_object()) fail<FormatError>(what, ": expected a JSON object");
  auto integer = [&](const char* key, int64_t lo) {
    if (!j.contains(key) || !j[key].is_number_integer())
      fail<FormatError>(what, ": '", key, "' must be an integer");
    const int64_t v = j[key].get<int64_t>();
    if (v < lo || v > 1000000) fail<FormatError>(what, ": '", key, "' = ", v, " is out of range");
    return v;
  };
  ForecastTransform t;
  if (!j.contains("log") || !j["log"].is_boolean())
    fail<FormatError>(what, ": 'log' must be true or false");
  t.log = j["log"].get<bool>();
  if (!j.contains("reference") || !j["reference"].is_string())
    fail<FormatError>(what, ": 'reference' must be \"last\" or \"seasonal\"");
  t.reference = j["reference"].get<std::string>();
  if (t.reference != "last" && t.reference != "seasonal")
    fail<FormatError>(what, ": 'reference' is \"", t.reference,
                      "\", expected \"last\" or \"seasonal\"");
  t.season = integer("season", 1);
  t.lookback = integer("lookback", 1);
  t.horizon = integer("horizon", 1);
  if (!j.contains("input_scaler") || !j.contains("target_scaler"))
    fail<FormatError>(what, ": 'input_scaler' and 'target_scaler' are required");
  t.input_scaler = Scaler::from_json(j["input_scaler"]);
  t.target_scaler = Scaler::from_json(j["target_scaler"]);
  return t;
}

}  // namespace recur::data
