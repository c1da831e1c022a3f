// Text formatting shared by the task commands' summaries, tables and report files (classify,
// seqclass, seq2seq, textgen, forecast, fit): numbers, percentages, clock times, CSV/TSV cells,
// and writing a text file.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace recur::cli {

// `v` with exactly `digits` decimals: fixed(0.12345, 3) == "0.123".
std::string fixed(double v, int digits);

// A share in [0, 1] as a percentage with one decimal: pct(0.8734) == "87.3 %".
std::string pct(double share);

// A duration as minutes:seconds, rounded to the second: clock_str(75.4) == "1:15".
std::string clock_str(double seconds);

// The strings separated by ", ": join({"a", "b"}) == "a, b" (column lists in messages).
std::string join(const std::vector<std::string>& v);

// One TSV cell: tabs and line breaks inside the text become spaces (TSV has no quoting).
std::string tsv_cell(const std::string& s);

// One CSV field: quoted, with quotes doubled, when it holds a comma, quote or line break
// (RFC 4180); otherwise unchanged.
std::string csv_field(const std::string& s);

// A number for a JSON report: the value when finite, null for NaN and infinities.
nlohmann::json finite_or_null(double v);

// Writes `text` to `path` crash-safely (temporary file, fsync, rename); IoError naming the path
// on failure, leaving an existing file untouched.
void write_text_file(const std::string& path, const std::string& text);

}  // namespace recur::cli
