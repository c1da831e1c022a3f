// Text formatting for the task commands' reports (see report_format.hpp).
#include "cli/report_format.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iomanip>
#include <span>
#include <sstream>

#include "io/atomic_file.hpp"

namespace recur::cli {

std::string fixed(double v, int digits) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(digits) << v;
  return o.str();
}

std::string pct(double share) { return fixed(100.0 * share, 1) + " %"; }

std::string clock_str(double seconds) {
  const auto total = static_cast<int64_t>(std::lround(seconds));
  char b[32];
  std::snprintf(b, sizeof b, "%lld:%02lld", static_cast<long long>(total / 60),
                static_cast<long long>(total % 60));
  return b;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string tsv_cell(const std::string& s) {
  std::string o = s;
  for (char& c : o)
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  return o;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

nlohmann::json finite_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

void write_text_file(const std::string& path, const std::string& text) {
  io::write_file_atomic(path, std::span<const std::uint8_t>(
                                  reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

}  // namespace recur::cli
