// recur classify end to end: the built-in sentiment data (JSON keys, baselines, model file with
// tokenizer and labels, pictures), --predict with the written model, string labels and --test,
// and bad input (missing / empty file, wrong column, non-UTF-8, one class) as one clear error.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "recur/recur.hpp"
#include "support/cli_run.hpp"
#include "support/files.hpp"

namespace fs = std::filesystem;
using recur::testing::CliRun;
using recur::testing::expect_one_line_error;
using recur::testing::recur_cli_split;

namespace {

class ClassifyCliTest : public recur::testing::TempDirTest {
 protected:
  // A small two-sentiment table with string labels and CSV quoting.
  std::string small_csv(int rows) const {
    std::string s = "id,review,mood\n";
    const char* pos[] = {"great phone, love it", "\"excellent\" value", "works great, happy",
                         "love the sound", "very good and nice"};
    const char* neg[] = {"terrible, broke fast", "awful battery", "bad sound, hate it",
                         "\"worst\" purchase ever", "poor and useless"};
    for (int i = 0; i < rows; ++i) {
      const bool p = i % 2 == 0;
      std::string text = p ? pos[i / 2 % 5] : neg[i / 2 % 5];
      if (text.find(',') != std::string::npos || text.find('"') != std::string::npos) {
        std::string q;
        for (char c : text) q += c == '"' ? std::string("\"\"") : std::string(1, c);
        text = "\"" + q + "\"";
      }
      s += std::to_string(i) + "," + text + "," + (p ? "happy" : "sad") + "\n";
    }
    return s;
  }
};

TEST_F(ClassifyCliTest, BuiltinSentimentDataJsonModelAndPredict) {
  const std::string model = path("sent.safetensors");
  const CliRun r = recur_cli_split(
      "classify --epochs 2 --units 16 --embedding-dim 16 --patience 0 "
      "--json --model " +
      model);
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* k : {"test_accuracy", "baseline_majority_accuracy",
                        "baseline_naive_bayes_accuracy", "classes", "per_class"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["classes"], nlohmann::json({"0", "1"}));
  EXPECT_EQ(j["test_samples"], 600);
  EXPECT_NEAR(j["baseline_majority_accuracy"].get<double>(), 0.5, 1e-9);
  EXPECT_GT(j["baseline_naive_bayes_accuracy"].get<double>(), 0.78);
  EXPECT_GT(j["test_accuracy"].get<double>(), 0.6);            // two short epochs of a tiny model
  EXPECT_NE(r.err.find("Epoch 1/2"), std::string::npos) << r.err;  // progress goes to stderr

  // The model carries the tokenizer and the label names.
  std::map<std::string, std::string> meta;
  recur::load_model(model, &meta);
  const auto pre = nlohmann::json::parse(meta.at("recur.preprocessing"));
  EXPECT_EQ(pre["task"], "classify");
  EXPECT_EQ(pre["labels"], nlohmann::json({"0", "1"}));
  EXPECT_EQ(pre["tokenizer"]["level"], "word");
  for (const char* f : {"loss.svg", "accuracy.svg", "confusion_matrix.svg", "test_predictions.tsv"})
    EXPECT_TRUE(fs::exists(path("sent_report/") + f)) << f;

  // --predict on new text: one row per text, labels from the model.
  const CliRun p =
      recur_cli_split("classify --model " + model +
                      " --predict --text 'I love it, great value' --text 'awful, broken' "
                      "--json");
  ASSERT_EQ(p.rc, 0) << p.err;
  const auto pj = nlohmann::json::parse(p.out);
  ASSERT_EQ(pj["predictions"].size(), 2u);
  EXPECT_EQ(pj["predictions"][0]["text"], "I love it, great value");
  const std::string l0 = pj["predictions"][0]["label"];
  EXPECT_TRUE(l0 == "0" || l0 == "1");
  // Plain output: a TSV with a header.
  const CliRun t = recur_cli_split("classify --model " + model + " --predict --text 'nice'");
  ASSERT_EQ(t.rc, 0) << t.err;
  EXPECT_EQ(t.out.rfind("label\tprobability\ttext\n", 0), 0u) << t.out;
  // A file: predictions written as TSV, accuracy against its label column.
  write("new.tsv", "label\tsentence\n1\tGreat phone, works well.\n0\tTerrible, it broke.\n");
  const CliRun f = recur_cli_split("classify " + path("new.tsv") + " --model " + model +
                                   " --predict --output " + path("pred.tsv") + " --json");
  ASSERT_EQ(f.rc, 0) << f.err;
  EXPECT_TRUE(nlohmann::json::parse(f.out).contains("accuracy"));
  std::ifstream in(path("pred.tsv"));
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header, "label\tprobability\ttext");
}

TEST_F(ClassifyCliTest, StringLabelsCsvAndSeparateTestFile) {
  write("train.csv", small_csv(80));
  write("test.csv", small_csv(20));
  const CliRun r =
      recur_cli_split("classify " + path("train.csv") + " --test " + path("test.csv") +
                      " --text-column review --label-column mood --epochs 8 --units 8 "
                      "--embedding-dim 8 --cell gru --bidirectional --lr 0.01 --json --model " +
                      path("m.safetensors"));
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["classes"], nlohmann::json({"happy", "sad"}));
  EXPECT_EQ(j["test_samples"], 20);
  EXPECT_GT(j["test_accuracy"].get<double>(), 0.7);
  EXPECT_EQ(j["baseline_naive_bayes_accuracy"], 1.0);
}

TEST_F(ClassifyCliTest, BadInputIsOneClearError) {
  expect_one_line_error(recur_cli_split("classify " + path("nope.csv")), "nope.csv");
  write("empty.csv", "");
  expect_one_line_error(recur_cli_split("classify " + path("empty.csv")), "empty");
  write("t.csv", small_csv(20));
  expect_one_line_error(recur_cli_split("classify " + path("t.csv") + " --text-column body"),
                        "no column 'body'");
  expect_one_line_error(
      recur_cli_split("classify " + path("t.csv") + " --text-column review --label-column x"),
      "no column 'x'");
  // No 'text'/'sentence' column and no --text-column.
  expect_one_line_error(recur_cli_split("classify " + path("t.csv")), "--text-column");
  write("latin1.tsv", "text\tlabel\ncaf\xe9 ok\t1\nbad\t0\n");
  expect_one_line_error(recur_cli_split("classify " + path("latin1.tsv")), "UTF-8");
  write("one.tsv", "text\tlabel\ngood\tpos\nfine\tpos\nnice\tpos\n");
  expect_one_line_error(recur_cli_split("classify " + path("one.tsv")), "only one class");
  write("ok.tsv", "text\tlabel\ngood\tpos\nbad\tneg\ngreat\tpos\nawful\tneg\n");
  write("test.tsv", "text\tlabel\nmeh\tneutral\n");
  expect_one_line_error(
      recur_cli_split("classify " + path("ok.tsv") + " --test " + path("test.tsv")),
      "label 'neutral' does not occur");
  // --predict with a model that is not a classifier, and with nothing to label.
  recur::Sequential m("plain");
  m.add(recur::make_lstm("lstm", {.units = 2}));
  m.build({-1, 1});
  recur::save_model(path("plain.safetensors"), m);
  expect_one_line_error(
      recur_cli_split("classify --predict --text hi --model " + path("plain.safetensors")),
      "not a text classifier");
  expect_one_line_error(
      recur_cli_split("classify --predict --model " + path("missing.safetensors") + " --text hi"),
      "missing.safetensors");
  EXPECT_FALSE(fs::exists(path("classify.safetensors")));
}

}  // namespace
