// Target: CSV / TSV tables (parse_table with comma, tab and semicolon), then every column read
// as numbers (with and without a fill value) and as strings.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_common.hpp"
#include "recur/data/table.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace recur;
  const std::string text = fuzz::string_of(data, size);
  for (const char sep : {',', '\t', ';'}) {
    fuzz::accept_errors([&] {
      const data::Table t = data::parse_table(text, sep, "fuzz.csv");
      fuzz::check(!t.columns.empty() && !t.rows.empty() && t.rows.size() == t.line.size(),
                  "parse_table returned an inconsistent table");
      for (const auto& row : t.rows)
        fuzz::check(row.size() == t.columns.size(), "a row with the wrong number of fields");
      for (const std::string& c : t.columns) {
        fuzz::check(t.strings(c).size() == t.rows.size(), "strings() has the wrong length");
        fuzz::check(t.numbers(c, 0.0).size() == t.rows.size(), "numbers() has the wrong length");
        fuzz::accept_errors([&] { (void)t.numbers(c); });
      }
      fuzz::accept_errors([&] { (void)t.column("no such column"); });
    });
  }
  return 0;
}
