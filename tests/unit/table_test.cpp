// Tests for delimited tables: CSV quoting, TSV (tabs only), line endings, BOM, UTF-8 checks,
// column access, and the exact error messages (file, line, column).
#include "recur/data/table.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "recur/error.hpp"
#include "support/errors.hpp"

namespace recur::data {
namespace {

namespace fs = std::filesystem;
using recur::testing::error_of;

TEST(Table, ParsesHeaderRowsAndLines) {
  const Table t = parse_table("month,passengers\r\n1949-01,112\r\n1949-02,118\r\n\r\n", ',', "a.csv");
  ASSERT_EQ(t.columns, (std::vector<std::string>{"month", "passengers"}));
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.line, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t.strings("month"), (std::vector<std::string>{"1949-01", "1949-02"}));
  EXPECT_EQ(t.numbers("passengers"), (std::vector<double>{112, 118}));
  EXPECT_EQ(t.column("passengers"), 1u);
}

TEST(Table, CsvQuotesHoldSeparatorsQuotesAndNewlines) {
  const Table t = parse_table("a,b\n\"x, y\",\"say \"\"hi\"\"\"\n\"two\nlines\",3\nlast,4", ',', "q.csv");
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_EQ(t.rows[0][0], "x, y");
  EXPECT_EQ(t.rows[0][1], "say \"hi\"");
  EXPECT_EQ(t.rows[1][0], "two\nlines");
  EXPECT_EQ(t.line, (std::vector<int64_t>{2, 3, 5}));
}

TEST(Table, TsvSplitsOnTabsOnly) {
  const Table t = parse_table("label\tsentence\n1\tHe said \"great\n0\ta, b\n", '\t', "s.tsv");
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0][1], "He said \"great");
  EXPECT_EQ(t.rows[1][1], "a, b");
}

TEST(Table, BomAndHeaderSpacesAreDropped) {
  const Table t = parse_table("\xEF\xBB\xBF month , value\n2000-01,1\n", ',', "b.csv");
  EXPECT_EQ(t.columns, (std::vector<std::string>{"month", "value"}));
}

TEST(Table, NumbersWithFill) {
  const Table t = parse_table("v\n1.5\n\nNA\n 2e3 \n", ',', "f.csv");
  // The empty line in the middle is a row with one empty field (single column).
  const auto v = t.numbers("v", -1.0);
  EXPECT_EQ(v, (std::vector<double>{1.5, -1, -1, 2000}));
}

TEST(Table, Errors) {
  EXPECT_EQ(error_of<ConfigError>([] { parse_table("a,b\n1,2\n", ',', "x.csv").column("c"); }),
            "x.csv: no column 'c'; columns are a, b");
  EXPECT_EQ(error_of<FormatError>([] {
              parse_table("month,passengers\n1949-01,112\n1949-02,abc\n", ',', "x.csv")
                  .numbers("passengers");
            }),
            "x.csv, line 3, column 'passengers': 'abc' is not a number");
  EXPECT_EQ(error_of<FormatError>([] {
              parse_table("a,b\n1,\n", ',', "x.csv").numbers("b");
            }),
            "x.csv, line 2, column 'b': empty cell is not a number");
  EXPECT_EQ(error_of<FormatError>([] {
              parse_table("a,b\n1,NaN\n", ',', "x.csv").numbers("b");
            }),
            "x.csv, line 2, column 'b': 'NaN' (a missing value) is not a number");
  EXPECT_EQ(error_of<FormatError>([] { parse_table("a,b\n1,inf\n", ',', "x.csv").numbers("b"); }),
            "x.csv, line 2, column 'b': 'inf' is not a number");
  EXPECT_EQ(error_of<FormatError>([] { parse_table("a,b\n1,2\n3\n", ',', "x.csv"); }),
            "x.csv, line 3: 1 field, expected 2 as in the header (is the separator right? "
            "reading with comma)");
  EXPECT_EQ(error_of<FormatError>([] { parse_table("a,b\n1,2,3\n", ',', "x.csv"); }),
            "x.csv, line 2: 3 fields, expected 2 as in the header");
  EXPECT_EQ(error_of<FormatError>([] { parse_table("\n\n", ',', "x.csv"); }),
            "x.csv: the file is empty (expected a header line)");
  EXPECT_EQ(error_of<FormatError>([] { parse_table("a,b\n", ',', "x.csv"); }),
            "x.csv: the file has a header but no data rows");
  EXPECT_EQ(error_of<FormatError>([] { parse_table("a,a\n1,2\n", ',', "x.csv"); }),
            "x.csv, line 1: column name 'a' appears twice in the header");
  EXPECT_EQ(error_of<FormatError>([] { parse_table("a,\n1,2\n", ',', "x.csv"); }),
            "x.csv, line 1: column 2 of the header has no name");
  EXPECT_EQ(error_of<FormatError>([] { parse_table("a,b\n\"1,2\n", ',', "x.csv"); }),
            "x.csv, line 2: a quoted field is never closed (missing '\"')");
}

TEST(Table, Utf8) {
  EXPECT_NO_THROW(check_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", "ok"));
  EXPECT_EQ(error_of<FormatError>([] { check_utf8("a,b\n1,caf\xE9\n", "l.csv"); }),
            "l.csv, line 2, byte 6: not valid UTF-8 (byte 0xE9); save the file as UTF-8 text "
            "(e.g. iconv -f latin1 -t utf-8)");
  EXPECT_THROW(check_utf8("\xC0\xAF", "overlong"), FormatError);
  EXPECT_THROW(check_utf8("\xED\xA0\x80", "surrogate"), FormatError);
  EXPECT_THROW(check_utf8("\xF4\x90\x80\x80", "too large"), FormatError);
  EXPECT_THROW(check_utf8("\xE2\x82", "truncated"), FormatError);
  EXPECT_THROW(parse_table("a\n\xFF\n", ',', "x.csv"), FormatError);
}

TEST(Table, Separator) {
  EXPECT_EQ(separator_for("a.tsv"), '\t');
  EXPECT_EQ(separator_for("a.TAB"), '\t');
  EXPECT_EQ(separator_for("a.csv"), ',');
  EXPECT_EQ(separator_for("a.txt"), ',');
  EXPECT_EQ(separator_for("a.csv", "\\t"), '\t');
  EXPECT_EQ(separator_for("a.csv", "tab"), '\t');
  EXPECT_EQ(separator_for("a.csv", ";"), ';');
  EXPECT_EQ(error_of<InvalidArgument>([] { separator_for("a.csv", ";;"); }),
            "separator ';;' is not supported; use one character, e.g. ',', ';' or 'tab'");
}

TEST(Table, ReadFile) {
  const fs::path dir = fs::temp_directory_path() / "recur_table_test";
  fs::create_directories(dir);
  const std::string path = (dir / "t.tsv").string();
  { std::ofstream(path) << "a\tb\n1\t2\n"; }
  const Table t = read_table(path, separator_for(path));
  EXPECT_EQ(t.path, path);
  EXPECT_EQ(t.numbers("b"), std::vector<double>{2});
  const std::string empty = (dir / "empty.csv").string();
  { std::ofstream(empty) << ""; }
  EXPECT_EQ(error_of<FormatError>([&] { read_table(empty, ','); }),
            empty + ": the file is empty (expected a header line)");
  const std::string missing = (dir / "missing.csv").string();
  EXPECT_EQ(error_of<IoError>([&] { read_table(missing, ','); }),
            missing + ": cannot open: no such file");
  EXPECT_EQ(error_of<IoError>([&] { read_table(dir.string(), ','); }),
            dir.string() + ": cannot open: it is a directory");
  fs::remove_all(dir);
}

TEST(Table, ReadsTheShippedDataFiles) {
  const std::string path = std::string(RECUR_SOURCE_DIR) + "/data/airline_passengers.csv";
  const Table t = read_table(path, separator_for(path));
  EXPECT_EQ(t.rows.size(), 144u);
  const auto v = t.numbers("passengers");
  EXPECT_EQ(v.front(), 112);
  EXPECT_EQ(v.back(), 432);
  const std::string sun = std::string(RECUR_SOURCE_DIR) + "/data/monthly_sunspots.csv";
  EXPECT_EQ(read_table(sun, ',').numbers("sunspots").size(), 2820u);
}

}  // namespace
}  // namespace recur::data
