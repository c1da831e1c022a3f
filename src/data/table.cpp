// Delimited text tables: UTF-8 check, CSV (RFC 4180 quotes) / TSV (tabs only) parsing, and
// typed column access with messages that name the file, the line and the column.
#include "recur/data/table.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string_view>
#include <system_error>

#include "recur/error.hpp"

namespace recur::data {

namespace {

constexpr std::uintmax_t kMaxTableBytes = std::uintmax_t{1} << 30;  // 1 GiB

std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return s.substr(b, e - b);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Cells that mean "no value" in common exports (pandas, R, spreadsheets).
bool is_missing_marker(const std::string& t) {
  const std::string l = lower(t);
  return l.empty() || l == "na" || l == "n/a" || l == "nan" || l == "null" || l == "none" ||
         l == "-" || l == "?";
}

// A cell shortened for messages (long sentences would flood the terminal).
std::string excerpt(const std::string& cell) {
  if (cell.size() <= 40) return cell;
  std::size_t n = 37;
  while (n > 0 && (static_cast<unsigned char>(cell[n]) & 0xC0) == 0x80) --n;  // UTF-8 boundary
  return cell.substr(0, n) + "...";
}

std::string list_columns(const std::vector<std::string>& columns) {
  std::string out;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (i) out += ", ";
    out += columns[i];
  }
  return out;
}

std::string describe_sep(char sep) {
  if (sep == '\t') return "tab";
  if (sep == ',') return "comma";
  if (sep == ';') return "semicolon";
  return std::string("'") + sep + "'";
}

// One logical record: its fields and the 1-based line it starts on.
struct Record {
  std::vector<std::string> fields;
  int64_t line = 0;
  bool blank = false;  // the line was empty
};

// Splits `text` into records. CSV: double quotes per RFC 4180 (a quoted field may hold the
// separator, newlines and "" for a quote); TSV: tabs only.
std::vector<Record> split_records(const std::string& text, char sep, const std::string& what) {
  std::vector<Record> records;
  const bool quotes = sep != '\t';
  std::size_t i = 0;
  int64_t line = 1;
  const std::size_t n = text.size();
  while (i < n) {
    Record r;
    r.line = line;
    std::string field;
    bool field_started = false;  // anything (even an empty quoted field) seen in this record
    bool in_quotes = false;
    int64_t quote_line = 0;
    bool end_of_record = false;
    while (i < n && !end_of_record) {
      const char c = text[i];
      if (in_quotes) {
        if (c == '"') {
          if (i + 1 < n && text[i + 1] == '"') {
            field += '"';
            i += 2;
          } else {
            in_quotes = false;
            ++i;
          }
        } else {
          if (c == '\n') ++line;
          field += c;
          ++i;
        }
        continue;
      }
      if (c == '\n' || c == '\r') {
        // LF or CRLF (a lone CR also ends the line).
        if (c == '\r' && i + 1 < n && text[i + 1] == '\n') ++i;
        ++i;
        ++line;
        end_of_record = true;
      } else if (c == sep) {
        r.fields.push_back(std::move(field));
        field.clear();
        field_started = true;
        ++i;
      } else if (quotes && c == '"' && trim(field).empty()) {
        field.clear();  // spaces before an opening quote are dropped
        in_quotes = true;
        quote_line = line;
        field_started = true;
        ++i;
      } else {
        field += c;
        field_started = true;
        ++i;
      }
    }
    if (in_quotes)
      fail<FormatError>(what, ", line ", quote_line,
                        ": a quoted field is never closed (missing '\"')");
    r.blank = !field_started && field.empty() && r.fields.empty();
    r.fields.push_back(std::move(field));
    records.push_back(std::move(r));
  }
  return records;
}

}  // namespace

std::size_t Table::column(const std::string& name) const {
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == name) return i;
  fail<ConfigError>(path, ": no column '", name, "'; columns are ", list_columns(columns));
}

std::vector<double> Table::numbers(const std::string& name, std::optional<double> fill) const {
  const std::size_t c = column(name);
  std::vector<double> out(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const std::string cell = trim(rows[r][c]);
    const int64_t ln = r < line.size() ? line[r] : static_cast<int64_t>(r) + 2;
    if (is_missing_marker(cell)) {
      if (fill) {
        out[r] = *fill;
        continue;
      }
      fail<FormatError>(path, ", line ", ln, ", column '", name, "': ",
                        cell.empty() ? std::string("empty cell")
                                     : "'" + excerpt(cell) + "' (a missing value)",
                        " is not a number");
    }
    // strtod accepts "inf"/"nan"/hex; we keep decimal and scientific notation only, and
    // thousands separators or units are rejected rather than silently cut off.
    const char* s = cell.c_str();
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(s, &end);
    const bool hexa = cell.find_first_of("xX") != std::string::npos;
    if (end == s || *end != '\0' || hexa || !std::isfinite(v))
      fail<FormatError>(path, ", line ", ln, ", column '", name, "': '", excerpt(cell),
                        "' is not a number");
    out[r] = v;
  }
  return out;
}

std::vector<std::string> Table::strings(const std::string& name) const {
  const std::size_t c = column(name);
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back(row[c]);
  return out;
}

char separator_for(const std::string& path, const std::string& sep) {
  if (!sep.empty()) {
    const std::string l = lower(sep);
    if (l == "\t" || l == "\\t" || l == "tab") return '\t';
    if (l == "comma") return ',';
    if (l == "semicolon") return ';';
    if (sep.size() == 1 && sep[0] != '"' && sep[0] != '\n' && sep[0] != '\r') return sep[0];
    fail<InvalidArgument>("separator '", sep,
                          "' is not supported; use one character, e.g. ',', ';' or 'tab'");
  }
  const std::string ext = lower(std::filesystem::path(path).extension().string());
  if (ext == ".tsv" || ext == ".tab") return '\t';
  return ',';
}

void check_utf8(const std::string& bytes, const std::string& what) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  int64_t line = 1;
  std::size_t line_start = 0;
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      if (c == '\n') {
        ++line;
        line_start = i + 1;
      }
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // > U+10FFFF
    }
    bool ok = len > 0 && i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) {
      const unsigned b = p[i + k];
      ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    }
    if (!ok) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned>(c));
      fail<FormatError>(what, ", line ", line, ", byte ", i - line_start + 1,
                        ": not valid UTF-8 (byte ", hex,
                        "); save the file as UTF-8 text (e.g. iconv -f latin1 -t utf-8)");
    }
    i += len;
  }
}

Table parse_table(const std::string& text_in, char sep, const std::string& what) {
  check_utf8(text_in, what);
  std::string_view text(text_in);
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // BOM
  Table t;
  t.path = what;
  std::vector<Record> records = split_records(std::string(text), sep, what);
  // Empty lines at the end are ignored.
  while (!records.empty() && records.back().blank) records.pop_back();
  if (records.empty()) fail<FormatError>(what, ": the file is empty (expected a header line)");
  const Record& header = records.front();
  if (header.blank) fail<FormatError>(what, ", line 1: the header line is empty");
  std::set<std::string> seen;
  for (const std::string& raw : header.fields) {
    std::string name = trim(raw);
    if (name.empty())
      fail<FormatError>(what, ", line ", header.line, ": column ", t.columns.size() + 1,
                        " of the header has no name");
    if (!seen.insert(name).second)
      fail<FormatError>(what, ", line ", header.line, ": column name '", name,
                        "' appears twice in the header");
    t.columns.push_back(std::move(name));
  }
  if (records.size() == 1)
    fail<FormatError>(what, ": the file has a header but no data rows");
  t.rows.reserve(records.size() - 1);
  t.line.reserve(records.size() - 1);
  for (std::size_t k = 1; k < records.size(); ++k) {
    Record& r = records[k];
    if (r.fields.size() != t.columns.size()) {
      std::string hint;
      if (r.fields.size() == 1 && t.columns.size() > 1)
        hint = r.blank ? " (an empty line)"
                       : " (is the separator right? reading with " + describe_sep(sep) + ")";
      fail<FormatError>(what, ", line ", r.line, ": ", r.fields.size(),
                        r.fields.size() == 1 ? " field" : " fields", ", expected ",
                        t.columns.size(), " as in the header", hint);
    }
    t.rows.push_back(std::move(r.fields));
    t.line.push_back(r.line);
  }
  return t;
}

Table read_table(const std::string& path, char sep) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st))
    fail<IoError>(path, ": cannot open: no such file");
  if (fs::is_directory(st)) fail<IoError>(path, ": cannot open: it is a directory");
  const std::uintmax_t size = fs::file_size(path, ec);
  if (!ec && size > kMaxTableBytes)
    fail<FormatError>(path, ": the file has ", size, " bytes; tables are limited to 1 GiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail<IoError>(path, ": cannot open: ", std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail<IoError>(path, ": read error");
  std::string text = std::move(ss).str();
  if (text.empty()) fail<FormatError>(path, ": the file is empty (expected a header line)");
  return parse_table(text, sep, path);
}

}  // namespace recur::data
