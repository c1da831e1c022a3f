// recur seq2seq end to end: a short run on a tiny task (lower case -> upper case) writes the model,
// pictures and the --json keys; --predict on the written test predictions reproduces the test
// exact match and decodes --text; bad input gives one `recur: error:` line with exit 1 (usage
// errors exit 2).
#include <filesystem>
#include <random>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/cli_run.hpp"
#include "support/files.hpp"

namespace fs = std::filesystem;
using recur::testing::CliRun;
using recur::testing::read_file;

namespace {

class Seq2seqCliTest : public recur::testing::TempDirTest {
 protected:
  // `recur seq2seq <args>` with stdout and stderr apart, one thread.
  static CliRun seq2seq(const std::string& args) {
    return recur::testing::recur_cli_split("seq2seq --threads 1 " + args);
  }
  // 300 pairs "cab<TAB>CAB": 2..5 letters of a..f, and the same in upper case.
  std::string upper_table() const {
    std::mt19937 g(7);
    std::ostringstream o;
    o << "source\ttarget\n";
    for (int i = 0; i < 300; ++i) {
      std::string s;
      for (int k = 0, n = 2 + static_cast<int>(g() % 4); k < n; ++k)
        s += static_cast<char>('a' + g() % 6);
      std::string t = s;
      for (char& c : t) c = static_cast<char>(c - 'a' + 'A');
      o << s << '\t' << t << '\n';
    }
    return o.str();
  }
};

TEST_F(Seq2seqCliTest, TrainsWritesModelAndPredicts) {
  write("pairs.tsv", upper_table());
  const std::string model = path("m.safetensors");
  const std::string args = path("pairs.tsv") + " --units 32 --embedding-dim 8 --epochs 20 "
                           "--patience 0 --batch-size 16 --lr 0.01 --seed 3 --json --model ";
  CliRun r = seq2seq(args + model);
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  const auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  for (const char* k : {"test_exact_match", "test_char_accuracy", "baseline_copy_exact_match",
                        "baseline_copy_char_accuracy", "baseline_majority_exact_match",
                        "train_samples", "validation_samples", "test_samples", "epochs",
                        "examples", "seconds", "model", "report_dir"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["test_samples"], 45);  // 15 % of 300
  EXPECT_EQ(j["epochs"], 20);
  EXPECT_EQ(j["baseline_copy_exact_match"].get<double>(), 0.0);
  EXPECT_EQ(j["baseline_copy_char_accuracy"].get<double>(), 0.0);
  // 20 short epochs (well under a second) learn the mapping for most strings; copying gets 0.
  EXPECT_GT(j["test_exact_match"].get<double>(), 0.5) << r.out;
  EXPECT_GT(j["test_char_accuracy"].get<double>(), 0.7) << r.out;
  // Progress goes to stderr with --json: one line per epoch.
  EXPECT_NE(r.err.find("epoch 20/20  loss "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("val exact match"), std::string::npos) << r.err;
  ASSERT_TRUE(fs::exists(model));
  const std::string report = path("m_report");
  for (const char* f : {"loss.svg", "accuracy.svg", "test_predictions.tsv"})
    EXPECT_TRUE(fs::exists(report + "/" + f)) << f;

  // Same seed, same thread count: the same model, byte for byte.
  CliRun again = seq2seq(args + path("m2.safetensors"));
  ASSERT_EQ(again.rc, 0) << again.err;
  EXPECT_TRUE(read_file(model) == read_file(path("m2.safetensors")));

  // The test predictions file has source and target columns: decoding it again gives the same
  // exact match as the training run reported.
  CliRun p = seq2seq(report + "/test_predictions.tsv --predict --json --model " + model);
  ASSERT_EQ(p.rc, 0) << p.out << p.err;
  const auto pj = nlohmann::json::parse(p.out, nullptr, false);
  ASSERT_TRUE(pj.is_object()) << p.out;
  EXPECT_EQ(pj["predictions"].size(), 45u);
  EXPECT_DOUBLE_EQ(pj["exact_match"].get<double>(), j["test_exact_match"].get<double>());
  EXPECT_DOUBLE_EQ(pj["char_accuracy"].get<double>(), j["test_char_accuracy"].get<double>());

  // --text, TSV on stdout; a character outside the vocabulary is a note, not an error.
  CliRun t = seq2seq("--predict --model " + model + " --text abc --text 'fez'");
  ASSERT_EQ(t.rc, 0) << t.out << t.err;
  EXPECT_EQ(t.out.rfind("source\tpredicted\n", 0), 0u) << t.out;
  EXPECT_NE(t.out.find("\nabc\t"), std::string::npos) << t.out;
  EXPECT_NE(t.err.find("1 source character(s) are not in the model's vocabulary"),
            std::string::npos)
      << t.err;
  CliRun o = seq2seq("--predict --model " + model + " --text abc --output " + path("p.tsv"));
  ASSERT_EQ(o.rc, 0) << o.err;
  EXPECT_TRUE(fs::exists(path("p.tsv")));
}

TEST_F(Seq2seqCliTest, BadInputIsOneClearError) {
  auto expect_error = [&](const std::string& args, const std::string& text, int rc = 1) {
    CliRun r = seq2seq(args + " --quiet --model " + path("out.safetensors"));
    EXPECT_EQ(r.rc, rc) << args << "\n" << r.out << r.err;
    EXPECT_EQ(r.err.rfind("recur: error: ", 0), 0u) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(text), std::string::npos) << args << "\n" << r.err;
    EXPECT_FALSE(fs::exists(path("out.safetensors"))) << args;
  };
  expect_error(path("missing.tsv"), "missing.tsv: cannot open: no such file");
  write("empty.tsv", "");
  expect_error(path("empty.tsv"), "empty.tsv: the file is empty");
  write("header.tsv", "source\ttarget\n");
  expect_error(path("header.tsv"), "header.tsv: the file has a header but no data rows");
  write("notab.tsv", "source\ttarget\nabc\tABC\nno tab on this line\n");
  expect_error(path("notab.tsv"), "notab.tsv, line 3: 1 field, expected 2");
  write("latin1.tsv", "source\ttarget\ncaf\xe9\tCAF\xc9\n");
  expect_error(path("latin1.tsv"), "latin1.tsv, line 2, byte 4: not valid UTF-8");
  write("one.tsv", "text\nabc\n");
  expect_error(path("one.tsv"), "one.tsv: expected two tab-separated columns");
  write("nosrc.tsv", "target\tother\nABC\tx\n");
  expect_error(path("nosrc.tsv"), "nosrc.tsv: no column 'source'");
  write("emptysrc.tsv", "source\ttarget\nabc\tABC\n\tXYZ\n");
  expect_error(path("emptysrc.tsv"), "emptysrc.tsv, line 3: the source is empty");
  write("few.tsv", "source\ttarget\nabc\tABC\nab\tAB\n");
  expect_error(path("few.tsv"), "few.tsv: only 2 pairs; training needs at least 10");
  expect_error("--test-fraction 0.9", "--test-fraction", 2);

  // --predict with the wrong model or no strings.
  CliRun m = seq2seq("--predict --text abc --model " + path("missing.safetensors"));
  EXPECT_EQ(m.rc, 1);
  EXPECT_EQ(m.err.rfind("recur: error: ", 0), 0u) << m.err;
  EXPECT_NE(m.err.find("missing.safetensors"), std::string::npos) << m.err;
  const std::string airline = std::string(RECUR_SOURCE_DIR) + "/examples/airline/model.safetensors";
  CliRun r = seq2seq("--predict --text abc --model " + airline);
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("not a model written by recur seq2seq"), std::string::npos) << r.err;
  CliRun n = seq2seq("--predict --model " + airline);
  EXPECT_EQ(n.rc, 1);
  EXPECT_EQ(n.err.rfind("recur: error: ", 0), 0u) << n.err;
}

}  // namespace
