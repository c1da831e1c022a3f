// Tests for the SVG pictures: well-formed standalone files, escaping, broken lines at NaN,
// shaded spans, date tick labels, and the confusion matrix's cells and checks.
#include "recur/report/svg.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>
#include <string>

#include "recur/error.hpp"

namespace recur::report {
namespace {

namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

class SvgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("recur_svg_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(SvgTest, LineChart) {
  LineChart c;
  c.title = "Loss <&> \"quotes\"";
  c.x_label = "epoch";
  c.y_label = "mse";
  c.series.push_back({"train", {}, {3, 2, 1.5, NAN, 1.2, 1.1}, "", false});
  c.series.push_back({"val", {1, 2, 3}, {3.5, 2.5, 2.0}, "#123456", true});
  c.x_tick_labels = {"1949-01", "1949-02", "1949-03", "1949-04", "1949-05", "1949-06"};
  c.shade_from_x = 4;
  c.shade_label = "test span";
  write_line_chart(file("c.svg"), c);
  const std::string s = slurp(file("c.svg"));
  EXPECT_EQ(s.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(s.find("</svg>"), std::string::npos);
  EXPECT_NE(s.find("Loss &lt;&amp;&gt; &quot;quotes&quot;"), std::string::npos);
  EXPECT_EQ(s.find("<&>"), std::string::npos);
  EXPECT_NE(s.find("test span"), std::string::npos);
  EXPECT_NE(s.find("1949-01"), std::string::npos);
  EXPECT_NE(s.find("stroke-dasharray"), std::string::npos);
  EXPECT_NE(s.find("#123456"), std::string::npos);
  // The NaN breaks the first series into two sub-paths: two "M" commands in its path.
  const std::size_t p = s.find("<path d=\"");
  ASSERT_NE(p, std::string::npos);
  const std::string d = s.substr(p, s.find('"', p + 9) - p);
  EXPECT_EQ(count(d, "M"), 2u);
  EXPECT_EQ(s.find("nan"), std::string::npos);
  EXPECT_EQ(s.find("inf"), std::string::npos);
}

TEST_F(SvgTest, DegenerateDataStillDraws) {
  LineChart c;
  c.series.push_back({"flat", {}, {5, 5, 5}, "", false});
  c.series.push_back({"empty", {}, {}, "", false});
  c.series.push_back({"lonely", {}, {NAN, 4, NAN}, "", false});
  write_line_chart(file("d.svg"), c);
  const std::string s = slurp(file("d.svg"));
  EXPECT_NE(s.find("<circle"), std::string::npos);  // a lone point gets a dot
  EXPECT_EQ(s.find("nan"), std::string::npos);
  LineChart bad;
  bad.title = "t";
  bad.series.push_back({"s", {1, 2}, {1}, "", false});
  EXPECT_THROW(write_line_chart(file("e.svg"), bad), InvalidArgument);
}

TEST_F(SvgTest, ConfusionMatrix) {
  write_confusion_matrix(file("m.svg"), "Speakers", {"a", "b<c"}, {{8, 2}, {0, 5}});
  const std::string s = slurp(file("m.svg"));
  EXPECT_NE(s.find("b&lt;c"), std::string::npos);
  EXPECT_NE(s.find(">8</text>"), std::string::npos);
  EXPECT_NE(s.find(">5</text>"), std::string::npos);
  EXPECT_NE(s.find("predicted"), std::string::npos);
  EXPECT_EQ(count(s, "<rect x="), 4u);
  EXPECT_NE(s.find("#ffffff"), std::string::npos);  // share 0
  EXPECT_NE(s.find("#08519c"), std::string::npos);  // share 1
  EXPECT_THROW(write_confusion_matrix(file("x.svg"), "t", {"a", "b"}, {{1, 2}}), InvalidArgument);
  EXPECT_THROW(write_confusion_matrix(file("x.svg"), "t", {"a"}, {{1, 2}}), InvalidArgument);
  EXPECT_THROW(write_confusion_matrix(file("x.svg"), "t", {}, {}), InvalidArgument);
}

TEST_F(SvgTest, UnwritablePathIsAnIoError) {
  LineChart c;
  EXPECT_THROW(write_line_chart(file("no/such/dir/c.svg"), c), IoError);
}

}  // namespace
}  // namespace recur::report
