// data/sequences: long-format grouping and ordering, time-column detection, wide format with
// variable lengths, the errors each names, stratified hold-out, post-padding (with the all-zero
// step nudge that keeps real steps visible to Masking(0)) and resampling.
#include "data/sequences.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>

#include "recur/data/table.hpp"
#include "recur/error.hpp"
#include "recur/layers/masking.hpp"
#include "support/errors.hpp"

namespace {

using recur::data::LongColumns;
using recur::data::parse_table;
using recur::data::Sequences;
using recur::data::WideColumns;
using recur::testing::error_of;

TEST(Sequences, LongFormatGroupsByIdAndOrdersByTime) {
  // Ids interleave; rows of "b" come out of order; "frame" is detected as the time column.
  const auto t = parse_table(
      "id,frame,x,y,cls\n"
      "a,0,1,10,p\n"
      "b,1,5,50,q\n"
      "a,1,2,20,p\n"
      "b,0,4,40,q\n"
      "a,2,3,30,p\n",
      ',', "t.csv");
  const LongColumns c = recur::data::resolve_long_columns(t, {.id = "id", .label = "cls"});
  EXPECT_EQ(c.time, "frame");
  EXPECT_EQ(c.features, (std::vector<std::string>{"x", "y"}));
  const Sequences s = recur::data::read_long(t, c);
  ASSERT_EQ(s.size(), 2);
  EXPECT_EQ(s.ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.labels, (std::vector<std::string>{"p", "q"}));
  EXPECT_EQ(s.lines, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(s.length(0), 3);
  EXPECT_EQ(s.length(1), 2);
  EXPECT_EQ(s.values[0], (std::vector<double>{1, 10, 2, 20, 3, 30}));
  EXPECT_EQ(s.values[1], (std::vector<double>{4, 40, 5, 50}));
  EXPECT_EQ(s.max_length(), 3);
  EXPECT_EQ(s.total_steps(), 5);
}

TEST(Sequences, TimeColumnDetectionAndOverrides) {
  for (const char* name : {"frame", "Step", "t", "TIME", "timestep", "time_step", "time_idx"})
    EXPECT_TRUE(recur::data::is_time_column_name(name)) << name;
  for (const char* name : {"temperature", "frames", "x", "id"})
    EXPECT_FALSE(recur::data::is_time_column_name(name)) << name;
  const auto t = parse_table("id,t,x\n1,1,5\n1,0,6\n", ',', "t.csv");
  // "none": no time column, t is a feature and the file order stays.
  LongColumns c = recur::data::resolve_long_columns(t, {.id = "id", .time = "none"});
  EXPECT_EQ(c.time, "");
  EXPECT_EQ(c.features, (std::vector<std::string>{"t", "x"}));
  EXPECT_EQ(recur::data::read_long(t, c).values[0], (std::vector<double>{1, 5, 0, 6}));
  // Listing t as a feature keeps it out of detection.
  c = recur::data::resolve_long_columns(t, {.id = "id", .features = {"t", "x"}});
  EXPECT_EQ(c.time, "");
  // Explicit time column of another name.
  const auto u = parse_table("id,when,x\n1,1,5\n1,0,6\n", ',', "u.csv");
  c = recur::data::resolve_long_columns(u, {.id = "id", .time = "when"});
  EXPECT_EQ(c.features, (std::vector<std::string>{"x"}));
  EXPECT_EQ(recur::data::read_long(u, c).values[0], (std::vector<double>{6, 5}));
}

TEST(Sequences, LongFormatErrorsNameTheLineAndColumn) {
  const auto bad = parse_table("id,x,cls\n1,0.5,a\n1,abc,a\n", ',', "bad.csv");
  const LongColumns c = recur::data::resolve_long_columns(bad, {.id = "id", .label = "cls"});
  const std::string m = error_of<recur::FormatError>([&] { recur::data::read_long(bad, c); });
  EXPECT_NE(m.find("bad.csv, line 3, column 'x'"), std::string::npos) << m;
  EXPECT_NE(m.find("'abc' is not a number"), std::string::npos) << m;

  const auto mixed = parse_table("id,x,cls\n7,1,a\n7,2,b\n", ',', "mixed.csv");
  const std::string m2 = error_of<recur::FormatError>([&] {
    recur::data::read_long(mixed,
                           recur::data::resolve_long_columns(mixed, {.id = "id", .label = "cls"}));
  });
  EXPECT_NE(m2.find("sequence '7' has label 'a' on line 2 but 'b' on line 3"), std::string::npos)
      << m2;

  const auto dup = parse_table("id,step,x\n7,0,1\n7,0,2\n", ',', "dup.csv");
  const std::string m3 = error_of<recur::FormatError>(
      [&] { recur::data::read_long(dup, recur::data::resolve_long_columns(dup, {.id = "id"})); });
  EXPECT_NE(m3.find("dup.csv, lines 2 and 3: sequence '7' has two rows with step = 0"),
            std::string::npos)
      << m3;

  const std::string m4 = error_of<recur::ConfigError>(
      [&] { recur::data::resolve_long_columns(bad, {.id = "utterance"}); });
  EXPECT_NE(m4.find("no column 'utterance'"), std::string::npos) << m4;
  EXPECT_NE(m4.find("id, x, cls"), std::string::npos) << m4;

  const std::string m5 = error_of<recur::ConfigError>(
      [&] { recur::data::resolve_long_columns(bad, {.id = "id", .label = "id"}); });
  EXPECT_NE(m5.find("column 'id' is given as both the id and the label column"), std::string::npos)
      << m5;

  const auto only = parse_table("id,cls\n1,a\n", ',', "only.csv");
  const std::string m6 = error_of<recur::ConfigError>(
      [&] { recur::data::resolve_long_columns(only, {.id = "id", .label = "cls"}); });
  EXPECT_NE(m6.find("no feature column left"), std::string::npos) << m6;
}

TEST(Sequences, WideFormatVariableLengths) {
  const auto t = parse_table(
      "label,v1,v2,v3\n"
      "up,1,2,3\n"
      "down,3,2,\n"
      "up,0,NA,\n",
      ',', "w.csv");
  const WideColumns c = recur::data::resolve_wide_columns(t, {.label = "label"});
  EXPECT_EQ(c.values, (std::vector<std::string>{"v1", "v2", "v3"}));
  const Sequences s = recur::data::read_wide(t, c);
  ASSERT_EQ(s.size(), 3);
  EXPECT_EQ(s.features(), 1);
  EXPECT_EQ(s.values[0], (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(s.values[1], (std::vector<double>{3, 2}));
  EXPECT_EQ(s.values[2], (std::vector<double>{0}));
  EXPECT_EQ(s.labels, (std::vector<std::string>{"up", "down", "up"}));
  EXPECT_EQ(s.ids[1], "line 3");

  const auto gap = parse_table("label,v1,v2,v3\nup,1,,3\n", ',', "gap.csv");
  const std::string m = error_of<recur::FormatError>([&] {
    recur::data::read_wide(gap, recur::data::resolve_wide_columns(gap, {.label = "label"}));
  });
  EXPECT_NE(m.find("gap.csv, line 2, column 'v2': missing value inside the series"),
            std::string::npos)
      << m;
  const auto none = parse_table("label,v1\nup,\n", ',', "none.csv");
  const std::string m2 = error_of<recur::FormatError>([&] {
    recur::data::read_wide(none, recur::data::resolve_wide_columns(none, {.label = "label"}));
  });
  EXPECT_NE(m2.find("none.csv, line 2: the row has no values"), std::string::npos) << m2;
  const auto text = parse_table("label,v1\nup,x1\n", ',', "text.csv");
  const std::string m3 = error_of<recur::FormatError>([&] {
    recur::data::read_wide(text, recur::data::resolve_wide_columns(text, {.label = "label"}));
  });
  EXPECT_NE(m3.find("text.csv, line 2, column 'v1': 'x1' is not a number"), std::string::npos)
      << m3;
}

TEST(Sequences, PadPostKeepsAllZeroStepsVisibleToMasking) {
  Sequences s;
  s.feature_names = {"a", "b"};
  s.values = {{1, 2, 0, 0, 3, 4}, {5, 6}};  // sequence 0 has a real all-zero step in the middle
  s.ids = {"x", "y"};
  s.lines = {2, 5};
  const recur::Tensor x = recur::data::pad_post(s);
  ASSERT_EQ(x.shape(), (recur::Shape{2, 3, 2}));
  const std::vector<float> want = {1, 2, recur::data::kZeroStepNudge,
                                   0, 3, 4,  // sequence 0
                                   5, 6, 0,
                                   0, 0, 0};  // 1 + padding
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(x[static_cast<int64_t>(i)], want[i]) << i;
  EXPECT_EQ(recur::data::pad_post(s, 5).shape(), (recur::Shape{2, 5, 2}));

  // Masking(0) sees exactly the real steps: 3 for sequence 0, 1 for sequence 1.
  recur::Masking masking("masking", 0.0f);
  masking.build({-1, 2});
  const recur::Tensor xt = recur::batch_to_time_major(x);
  masking.forward(recur::Context{}, xt, nullptr);
  const recur::Tensor& mask = *masking.output_mask();  // [T, B]
  EXPECT_EQ(mask[0 * 2 + 0] + mask[1 * 2 + 0] + mask[2 * 2 + 0], 3.0f);
  EXPECT_EQ(mask[0 * 2 + 1] + mask[1 * 2 + 1] + mask[2 * 2 + 1], 1.0f);
}

TEST(Sequences, StratifiedHoldoutAndTake) {
  std::vector<int64_t> y;
  for (int i = 0; i < 30; ++i) y.push_back(i % 3);  // 10 per class
  const auto h = recur::data::stratified_holdout(y, 0.2, 42);
  EXPECT_EQ(h.test.size(), 6u);
  EXPECT_EQ(h.train.size(), 24u);
  std::map<int64_t, int> per_class;
  for (int64_t i : h.test) per_class[y[static_cast<std::size_t>(i)]] += 1;
  for (int c = 0; c < 3; ++c) EXPECT_EQ(per_class[c], 2) << c;
  const auto again = recur::data::stratified_holdout(y, 0.2, 42);
  EXPECT_EQ(again.test, h.test);  // seeded

  std::vector<std::string> names;
  const auto ids = recur::data::class_ids(std::vector<std::string>{"10", "9", "10", "2"}, names);
  EXPECT_EQ(names, (std::vector<std::string>{"2", "9", "10"}));
  EXPECT_EQ(ids, (std::vector<int64_t>{2, 1, 2, 0}));

  Sequences s;
  s.feature_names = {"v"};
  s.values = {{1}, {2, 3}, {4}};
  s.ids = {"a", "b", "c"};
  s.labels = {"p", "q", "p"};
  s.lines = {2, 3, 4};
  const std::vector<int64_t> idx = {2, 0};
  const Sequences t = recur::data::take(s, idx);
  EXPECT_EQ(t.ids, (std::vector<std::string>{"c", "a"}));
  EXPECT_EQ(t.labels, (std::vector<std::string>{"p", "p"}));
  EXPECT_EQ(t.values[0], (std::vector<double>{4}));
}

TEST(Sequences, ResampleFlatInterpolatesLinearly) {
  Sequences s;
  s.feature_names = {"a", "b"};
  s.values = {{0, 10, 2, 30}, {7, 8}};  // lengths 2 and 1
  s.ids = {"x", "y"};
  s.lines = {2, 4};
  const std::vector<double> r = recur::data::resample_flat(s, 3);
  ASSERT_EQ(r.size(), 2u * 3u * 2u);
  const std::vector<double> want = {0, 10, 1, 20, 2, 30, 7, 8, 7, 8, 7, 8};
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_DOUBLE_EQ(r[i], want[i]) << i;
}

}  // namespace
