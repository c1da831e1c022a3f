// Variable-length multivariate sequences from tables, for sequence classification (and later
// seq2seq): long format (one row per time step, rows grouped by an id column) or wide format (one
// row per sequence: a label and the values of a univariate series), a stratified hold-out, and
// batch-first padded tensors for a Masking(0) model.
//
//   Table t = read_table("ae.csv", ',');
//   LongColumns c = resolve_long_columns(t, {.id = "utterance", .label = "speaker"});
//   Sequences s = read_long(t, c);                 // c.features: c1..c12 (frame is the time index)
//   Tensor x = pad_post(s);                        // [N, T_max, F], zeros after each sequence
//
// Layout: sequence i's steps are s.values[i], [len_i, F] row-major (len_i >= 1).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "recur/data/table.hpp"
#include "recur/tensor.hpp"

namespace recur::data {

struct Sequences {
  std::string path;                         // the file, for messages
  std::vector<std::string> feature_names;   // F names
  std::vector<std::string> ids;             // one per sequence (wide format: "line <n>")
  std::vector<std::string> labels;          // one per sequence; empty without a label column
  std::vector<int64_t> lines;               // the file line of each sequence's first row
  std::vector<std::vector<double>> values;  // [len_i, F] row-major each

  int64_t features() const { return static_cast<int64_t>(feature_names.size()); }
  int64_t size() const { return static_cast<int64_t>(values.size()); }
  int64_t length(std::size_t i) const;
  int64_t max_length() const;  // 0 when there is no sequence
  int64_t total_steps() const;
};

// ---- long format: one row per time step -------------------------------------------------

// Column roles. `time` orders the rows of a sequence and is not a feature; empty `time` in the
// request means "detect": the first column named (case-insensitively) frame, step, t, time,
// timestep, time_step, time_idx or time_index — unless it is the id or label column or listed in
// `features`. Pass time = "none" to switch detection off. Empty `features` means every other
// column (all must be numeric).
// (Every member has an initializer, so designated initializers may omit any: -Wextra.)
struct LongColumns {
  std::string id{};
  std::string label{};                  // empty: no labels (prediction on unlabelled data)
  std::string time{};                   // after resolve_long_columns: the column used, or empty
  std::vector<std::string> features{};  // after resolve_long_columns: the columns used, in order
};
// True for the names detection takes as a time index.
bool is_time_column_name(std::string_view name);
// Checks every named column exists (ConfigError listing the table's columns), detects the time
// column and fills in the feature columns. ConfigError when no feature column is left, or when
// a role names the same column twice.
LongColumns resolve_long_columns(const Table& t, LongColumns asked);
// Groups the rows by id (first appearance order; an id's rows need not be adjacent), orders each
// group by the time column when there is one (FormatError for a non-numeric or repeated time
// value, naming both lines), reads the features (FormatError naming line and column for a cell
// that is not a number) and checks that the label is the same on every row of a sequence.
Sequences read_long(const Table& t, const LongColumns& columns);

// ---- wide format: one row per sequence ----------------------------------------------------

// `values`: the columns holding the series, in time order (empty: every column but the label).
// A row may end early: trailing empty or missing cells (NA, NaN, ...) shorten its sequence;
// a missing cell before a value is a FormatError (naming line and column), as is a row with no
// value at all.
struct WideColumns {
  std::string label{};                // empty: no labels
  std::vector<std::string> values{};  // after resolve_wide_columns: the columns used
};
WideColumns resolve_wide_columns(const Table& t, WideColumns asked);
Sequences read_wide(const Table& t, const WideColumns& columns);

// ---- splitting and padding ------------------------------------------------------------------

// The sequences at `index`, in that order.
Sequences take(const Sequences& s, std::span<const int64_t> index);

// Class names -> ids 0..C-1 (sorted; numerically when every label is a number), as
// data::encode_labels (text.hpp). `names` gets the class names by id.
std::vector<int64_t> class_ids(std::span<const std::string> labels,
                               std::vector<std::string>& names);

// A seeded stratified hold-out: per class round(fraction · count) sequences (at least one when
// the class has two or more), as data::stratified_split (text.hpp). {train, test}, each sorted.
struct Holdout {
  std::vector<int64_t> train, test;
};
Holdout stratified_holdout(std::span<const int64_t> classes, double fraction, uint64_t seed);

// Batch-first [N, T, F] with sequence i in steps [0, len_i) and zeros after it ("post" padding);
// T = max(max_length(), min_steps). A real step whose features are all exactly 0 would look like
// padding to Masking(mask_value = 0): its first feature is set to kZeroStepNudge instead (a tiny
// normal float that changes no prediction), so every real step stays visible.
inline constexpr float kZeroStepNudge = 1e-30f;
Tensor pad_post(const Sequences& s, int64_t min_steps = 0);

// Each sequence linearly resampled to `steps` steps and flattened: [N, steps·F] row-major
// (fixed-length features for a nearest-neighbour baseline). A one-step sequence is repeated.
std::vector<double> resample_flat(const Sequences& s, int64_t steps);

}  // namespace recur::data
