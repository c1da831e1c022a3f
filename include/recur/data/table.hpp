// Delimited text tables (CSV / TSV) with a header line.
//
// Rules: UTF-8 (invalid UTF-8 -> FormatError naming line and byte column), LF or CRLF line
// endings, the first line is the header (column names, unique). CSV ('\t' not the separator)
// honours RFC 4180 double quotes; TSV splits on tabs ONLY (no quote rules: a sentence may hold
// unbalanced quotes). Every row must have the header's number of fields (FormatError naming
// file, line and the counts). Empty lines at the end are ignored. Limits: 1 GiB per file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "recur/tensor.hpp"

namespace recur::data {

struct Table {
  std::string path;                          // for messages
  std::vector<std::string> columns;          // header
  std::vector<std::vector<std::string>> rows;
  std::vector<int64_t> line;                 // rows[i] came from this 1-based file line

  // Index of a column by name; ConfigError "<path>: no column 'x'; columns are a, b, c".
  std::size_t column(const std::string& name) const;
  // A column as numbers. Empty / non-numeric cells -> FormatError "<path>, line 12, column
  // 'passengers': 'abc' is not a number" unless `fill` is given (then the cell takes `fill`).
  std::vector<double> numbers(const std::string& name, std::optional<double> fill = {}) const;
  const std::vector<std::string>& strings_at(std::size_t row) const { return rows.at(row); }
  std::vector<std::string> strings(const std::string& name) const;
};

// The separator: `sep` when given (e.g. "\t", ","), else from the extension: .tsv/.tab -> tab,
// anything else -> comma.
char separator_for(const std::string& path, const std::string& sep = "");

// Reads the whole file (IoError for missing/unreadable, FormatError for an empty file or one with
// only a header, naming the path).
Table read_table(const std::string& path, char sep);
Table parse_table(const std::string& text, char sep, const std::string& what);

// Checks that `bytes` is valid UTF-8; FormatError naming `what`, the line and byte offset.
void check_utf8(const std::string& bytes, const std::string& what);

}  // namespace recur::data
