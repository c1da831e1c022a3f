// Sequences from long- and wide-format tables, stratified hold-out, post-padding, resampling.
#include "data/sequences.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "recur/data/text.hpp"
#include "recur/error.hpp"

namespace recur::data {

namespace {

std::string lower(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return s.substr(b, e - b);
}

int64_t line_of(const Table& t, std::size_t r) {
  return r < t.line.size() ? t.line[r] : static_cast<int64_t>(r) + 2;
}

// ConfigError when two roles name one column.
void check_distinct(const std::string& path,
                    const std::vector<std::pair<std::string, std::string>>& roles) {
  for (std::size_t i = 0; i < roles.size(); ++i)
    for (std::size_t j = i + 1; j < roles.size(); ++j)
      if (!roles[i].second.empty() && roles[i].second == roles[j].second)
        fail<ConfigError>(path, ": column '", roles[i].second, "' is given as both the ",
                          roles[i].first, " and the ", roles[j].first, " column");
}

}  // namespace

int64_t Sequences::length(std::size_t i) const {
  const int64_t F = features();
  return F > 0 ? static_cast<int64_t>(values.at(i).size()) / F : 0;
}

int64_t Sequences::max_length() const {
  int64_t m = 0;
  for (std::size_t i = 0; i < values.size(); ++i) m = std::max(m, length(i));
  return m;
}

int64_t Sequences::total_steps() const {
  int64_t n = 0;
  for (std::size_t i = 0; i < values.size(); ++i) n += length(i);
  return n;
}

// ---- long format --------------------------------------------------------------------------

bool is_time_column_name(std::string_view name) {
  const std::string l = lower(name);
  for (const char* k :
       {"frame", "step", "t", "time", "timestep", "time_step", "time_idx", "time_index"})
    if (l == k) return true;
  return false;
}

LongColumns resolve_long_columns(const Table& t, LongColumns asked) {
  if (asked.id.empty()) fail<ConfigError>(t.path, ": no id column given");
  t.column(asked.id);  // ConfigError listing the columns
  if (!asked.label.empty()) t.column(asked.label);
  for (const auto& f : asked.features) t.column(f);
  const bool listed_time =
      std::find(asked.features.begin(), asked.features.end(), asked.time) != asked.features.end();
  if (asked.time == "none") {
    asked.time.clear();
  } else if (!asked.time.empty()) {
    t.column(asked.time);
    if (listed_time)
      fail<ConfigError>(t.path, ": column '", asked.time,
                        "' is given as both the time column "
                        "and a feature");
  } else {
    for (const auto& c : t.columns) {
      if (c == asked.id || c == asked.label || !is_time_column_name(c)) continue;
      if (std::find(asked.features.begin(), asked.features.end(), c) != asked.features.end())
        continue;
      asked.time = c;
      break;
    }
  }
  check_distinct(t.path, {{"id", asked.id}, {"label", asked.label}, {"time", asked.time}});
  for (const auto& f : asked.features)
    check_distinct(t.path, {{"id", asked.id}, {"label", asked.label}, {"feature", f}});
  if (asked.features.empty())
    for (const auto& c : t.columns)
      if (c != asked.id && c != asked.label && c != asked.time) asked.features.push_back(c);
  if (asked.features.empty())
    fail<ConfigError>(t.path, ": no feature column left (columns are id '", asked.id, "'",
                      asked.label.empty() ? std::string() : ", label '" + asked.label + "'",
                      asked.time.empty() ? std::string() : ", time '" + asked.time + "'", ")");
  return asked;
}

Sequences read_long(const Table& t, const LongColumns& c) {
  Sequences s;
  s.path = t.path;
  s.feature_names = c.features;
  const std::size_t F = c.features.size();
  if (F == 0) fail<ConfigError>(t.path, ": no feature columns");

  // Group rows by id, in order of first appearance.
  const std::size_t id_col = t.column(c.id);
  std::unordered_map<std::string, std::size_t> group_of;
  std::vector<std::vector<std::size_t>> groups;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    std::string id = trim(t.rows[r][id_col]);
    if (id.empty())
      fail<FormatError>(t.path, ", line ", line_of(t, r), ": the id column '", c.id, "' is empty");
    auto [it, added] = group_of.emplace(id, groups.size());
    if (added) {
      groups.emplace_back();
      s.ids.push_back(std::move(id));
    }
    groups[it->second].push_back(r);
  }

  // Order each group by time.
  if (!c.time.empty()) {
    const std::vector<double> time = t.numbers(c.time);  // FormatError names line and column
    for (std::size_t g = 0; g < groups.size(); ++g) {
      auto& rows = groups[g];
      std::stable_sort(rows.begin(), rows.end(),
                       [&](std::size_t a, std::size_t b) { return time[a] < time[b]; });
      for (std::size_t k = 1; k < rows.size(); ++k)
        if (time[rows[k]] == time[rows[k - 1]])
          fail<FormatError>(t.path, ", lines ", line_of(t, std::min(rows[k - 1], rows[k])), " and ",
                            line_of(t, std::max(rows[k - 1], rows[k])), ": sequence '", s.ids[g],
                            "' has two rows with ", c.time, " = ",
                            t.rows[rows[k]][t.column(c.time)]);
    }
  }

  // Features, column by column (the table names the line and column of a bad cell).
  std::vector<std::vector<double>> cols;
  cols.reserve(F);
  for (const auto& f : c.features) cols.push_back(t.numbers(f));

  std::vector<std::string> row_label;
  if (!c.label.empty()) row_label = t.strings(c.label);
  s.values.resize(groups.size());
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const auto& rows = groups[g];
    const std::size_t first = *std::min_element(rows.begin(), rows.end());
    s.lines.push_back(line_of(t, first));
    auto& v = s.values[g];
    v.reserve(rows.size() * F);
    for (std::size_t r : rows)
      for (std::size_t f = 0; f < F; ++f) v.push_back(cols[f][r]);
    if (!c.label.empty()) {
      const std::string label = trim(row_label[first]);
      if (label.empty())
        fail<FormatError>(t.path, ", line ", line_of(t, first), ": the label column '", c.label,
                          "' is empty");
      for (std::size_t r : rows)
        if (trim(row_label[r]) != label)
          fail<FormatError>(t.path, ": sequence '", s.ids[g], "' has label '", label, "' on line ",
                            line_of(t, first), " but '", trim(row_label[r]), "' on line ",
                            line_of(t, r), "; every row of a sequence needs the same label");
      s.labels.push_back(label);
    }
  }
  return s;
}

// ---- wide format --------------------------------------------------------------------------

WideColumns resolve_wide_columns(const Table& t, WideColumns asked) {
  if (!asked.label.empty()) t.column(asked.label);
  for (const auto& v : asked.values) {
    t.column(v);
    if (v == asked.label)
      fail<ConfigError>(t.path, ": column '", v, "' is given as both the label and a value column");
  }
  if (asked.values.empty())
    for (const auto& c : t.columns)
      if (c != asked.label) asked.values.push_back(c);
  if (asked.values.empty())
    fail<ConfigError>(t.path, ": no value column besides the label column '", asked.label, "'");
  return asked;
}

Sequences read_wide(const Table& t, const WideColumns& c) {
  Sequences s;
  s.path = t.path;
  s.feature_names = {"value"};
  std::vector<std::vector<double>> cols;
  cols.reserve(c.values.size());
  const double missing = std::numeric_limits<double>::quiet_NaN();
  for (const auto& v : c.values) cols.push_back(t.numbers(v, missing));  // names bad cells
  std::vector<std::string> row_label;
  if (!c.label.empty()) row_label = t.strings(c.label);
  s.values.resize(t.rows.size());
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const int64_t ln = line_of(t, r);
    auto& v = s.values[r];
    std::size_t gap = c.values.size();  // first missing cell
    for (std::size_t k = 0; k < c.values.size(); ++k) {
      const double x = cols[k][r];
      if (std::isnan(x)) {
        if (gap == c.values.size()) gap = k;
        continue;
      }
      if (gap < k)
        fail<FormatError>(t.path, ", line ", ln, ", column '", c.values[gap],
                          "': missing value inside the series (only trailing cells may be empty)");
      v.push_back(x);
    }
    if (v.empty()) fail<FormatError>(t.path, ", line ", ln, ": the row has no values");
    s.ids.push_back("line " + std::to_string(ln));
    s.lines.push_back(ln);
    if (!c.label.empty()) {
      std::string label = trim(row_label[r]);
      if (label.empty())
        fail<FormatError>(t.path, ", line ", ln, ": the label column '", c.label, "' is empty");
      s.labels.push_back(std::move(label));
    }
  }
  return s;
}

// ---- splitting and padding ----------------------------------------------------------------

Sequences take(const Sequences& s, std::span<const int64_t> index) {
  Sequences o;
  o.path = s.path;
  o.feature_names = s.feature_names;
  for (int64_t i : index) {
    const auto k = static_cast<std::size_t>(i);
    o.values.push_back(s.values.at(k));
    o.ids.push_back(s.ids.at(k));
    o.lines.push_back(s.lines.at(k));
    if (!s.labels.empty()) o.labels.push_back(s.labels.at(k));
  }
  return o;
}

std::vector<int64_t> class_ids(std::span<const std::string> labels,
                               std::vector<std::string>& names) {
  return encode_labels(labels, names);
}

Holdout stratified_holdout(std::span<const int64_t> classes, double fraction, uint64_t seed) {
  Split sp = stratified_split(classes, fraction, seed);
  return {std::move(sp.train), std::move(sp.test)};
}

Tensor pad_post(const Sequences& s, int64_t min_steps) {
  // x [N, T, F] batch-first; sequence n fills steps [0, len_n).
  const int64_t N = s.size(), F = s.features(), T = std::max(s.max_length(), min_steps);
  Tensor x({N, T, F}, 0.0f);
  for (int64_t n = 0; n < N; ++n) {
    const auto& v = s.values[static_cast<std::size_t>(n)];
    const int64_t len = s.length(static_cast<std::size_t>(n));
    float* dst = x.data() + n * T * F;
    for (int64_t t = 0; t < len; ++t) {
      bool all_zero = true;
      for (int64_t f = 0; f < F; ++f) {
        const auto val = static_cast<float>(v[static_cast<std::size_t>(t * F + f)]);
        dst[t * F + f] = val;
        all_zero = all_zero && val == 0.0f;
      }
      if (all_zero) dst[t * F] = kZeroStepNudge;
    }
  }
  return x;
}

std::vector<double> resample_flat(const Sequences& s, int64_t steps) {
  const int64_t N = s.size(), F = s.features();
  if (steps < 1) fail<InvalidArgument>("resample_flat: steps must be >= 1, got ", steps);
  std::vector<double> out(static_cast<std::size_t>(N * steps * F));
  for (int64_t n = 0; n < N; ++n) {
    const auto& v = s.values[static_cast<std::size_t>(n)];
    const int64_t len = s.length(static_cast<std::size_t>(n));
    double* dst = out.data() + n * steps * F;
    for (int64_t k = 0; k < steps; ++k) {
      // Position k of `steps` maps to u in [0, len - 1]; interpolate between floor and ceil.
      const double u = steps == 1 ? 0.0
                                  : static_cast<double>(k) * static_cast<double>(len - 1) /
                                        static_cast<double>(steps - 1);
      const auto i0 = static_cast<int64_t>(std::floor(u));
      const int64_t i1 = std::min(i0 + 1, len - 1);
      const double w = u - static_cast<double>(i0);
      for (int64_t f = 0; f < F; ++f)
        dst[k * F + f] = (1.0 - w) * v[static_cast<std::size_t>(i0 * F + f)] +
                         w * v[static_cast<std::size_t>(i1 * F + f)];
    }
  }
  return out;
}

}  // namespace recur::data
