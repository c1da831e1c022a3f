// recur seqclass end to end: a shortened run on the built-in Japanese Vowels data (quality,
// baselines, model file, pictures, --predict reproducing the test accuracy), long format with a
// stratified hold-out and an ensemble, wide format with variable lengths, and bad input giving
// one clear `recur: error:` line with exit 1 (usage errors exit 2).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "recur/recur.hpp"
#include "support/cli_run.hpp"
#include "support/files.hpp"

namespace fs = std::filesystem;
using recur::testing::CliRun;

namespace {

class SeqclassCliTest : public recur::testing::TempDirTest {
 protected:
  // Runs `recur seqclass <args>` with stdout and stderr kept apart; one thread (the suite runs
  // tests side by side on small machines).
  static CliRun seqclass(const std::string& args) {
    return recur::testing::recur_cli_split("seqclass --threads 1 " + args);
  }
  // A long-format table: class "up" sequences rise, "down" fall; lengths 3..8, two features
  // plus a "step" column written in shuffled order.
  std::string long_table(int per_class, uint32_t seed) const {
    std::mt19937 g(seed);
    std::ostringstream o;
    o << "seq,step,a,b,kind\n";
    int id = 0;
    for (int k = 0; k < 2 * per_class; ++k) {
      const bool up = k % 2 == 0;
      const int len = 3 + static_cast<int>(g() % 6);
      std::vector<int> order(static_cast<std::size_t>(len));
      for (int t = 0; t < len; ++t) order[static_cast<std::size_t>(t)] = t;
      std::shuffle(order.begin(), order.end(), g);
      for (int t : order) {
        const double v = (up ? 1.0 : -1.0) * t + 0.1 * static_cast<double>(g() % 10);
        o << "s" << id << "," << t << "," << v << "," << 0.5 * v << "," << (up ? "up" : "down")
          << "\n";
      }
      ++id;
    }
    return o.str();
  }
};

nlohmann::json parse_json(const std::string& s) { return nlohmann::json::parse(s, nullptr, false); }

// Exit 1, nothing on stdout, exactly one line on stderr that starts "recur: error: " and holds
// `needle`.
void expect_one_error(const CliRun& r, const std::string& needle) {
  recur::testing::expect_one_line_error(r, needle);
  EXPECT_EQ(r.out, "");
}

TEST_F(SeqclassCliTest, JapaneseVowelsShortRunBeatsBaselinesAndPredictReproducesIt) {
  // The defaults (5 members, early stopping) reach 97.8-98.6 % in about 20 s (docs/RESULTS.md);
  // this shortened run trains one model for 10 epochs on all training sequences.
  const std::string model = path("jv.safetensors");
  const CliRun r =
      seqclass("--ensemble 1 --epochs 10 --validation-fraction 0 --json --model " + model);
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = parse_json(r.out);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_GE(j["test_accuracy"].get<double>(), 0.93) << r.out;
  EXPECT_NEAR(j["baseline_majority_accuracy"].get<double>(), 31.0 / 370.0, 1e-9);
  EXPECT_GT(j["baseline_1nn_accuracy"].get<double>(), 0.9);
  EXPECT_EQ(j["test_sequences"], 370);
  EXPECT_EQ(j["train_sequences"], 270);
  EXPECT_EQ(j["classes"].size(), 9u);
  EXPECT_EQ(j["max_length"], 29);
  EXPECT_EQ(j["features"].size(), 12u);  // c1..c12: "frame" is the time index, not a feature
  for (const char* f : {"loss.svg", "accuracy.svg", "confusion_matrix.svg", "test_predictions.csv"})
    EXPECT_TRUE(fs::exists(dir_ / "jv_report" / f)) << f;
  EXPECT_NE(r.err.find("epoch 10/10"), std::string::npos);  // progress goes to stderr with --json

  // --predict on the test file (it has the label column): the same accuracy.
  const CliRun p = seqclass(std::string(RECUR_SOURCE_DIR) +
                            "/data/japanese_vowels_test.csv --predict --json --model " + model);
  ASSERT_EQ(p.rc, 0) << p.err;
  const auto pj = parse_json(p.out);
  EXPECT_DOUBLE_EQ(pj["accuracy"].get<double>(), j["test_accuracy"].get<double>());
  ASSERT_EQ(pj["predictions"].size(), 370u);
  EXPECT_EQ(pj["predictions"][0]["id"], "1");
}

TEST_F(SeqclassCliTest, LongFormatHoldOutEnsembleAndUnlabelledPredict) {
  write("train.csv", long_table(20, 1));
  const std::string model = path("m.safetensors");
  const CliRun r = seqclass(path("train.csv") +
                            " --id-column seq --label-column kind --units 8 --epochs 15 "
                            "--ensemble 2 --lr 0.01 --json --quiet --model " +
                            model);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.err, "");  // --quiet
  const auto j = parse_json(r.out);
  EXPECT_EQ(j["test_sequences"], 8);  // 20 % of 20 per class
  EXPECT_EQ(j["features"], nlohmann::json({"a", "b"}));
  EXPECT_EQ(j["epochs"].size(), 2u);
  EXPECT_GE(j["test_accuracy"].get<double>(), 0.75) << r.out;

  // Unlabelled new data (no label column), rows in another order: CSV on stdout.
  write("new.csv", "seq,step,a,b\nq,1,-1,-0.5\nq,0,0,0\nq,2,-2,-1\nr,0,0,0\nr,1,1,0.5\nr,2,2,1\n");
  const CliRun p = seqclass(path("new.csv") + " --predict --model " + model);
  ASSERT_EQ(p.rc, 0) << p.err;
  EXPECT_EQ(p.out.rfind("id,predicted,probability\nq,", 0), 0u) << p.out;
  EXPECT_NE(p.out.find("\nr,"), std::string::npos) << p.out;
  EXPECT_EQ(p.err, "");  // no label column: no accuracy note

  // Bad input for --predict: another feature count, a missing column.
  expect_one_error(seqclass(path("new.csv") + " --predict --features a --model " + model),
                   "new.csv: 1 feature column(s) (a), but the model was trained on 2");
  write("renamed.csv", "seq,step,a,c\nq,0,1,2\n");
  expect_one_error(seqclass(path("renamed.csv") + " --predict --model " + model),
                   "renamed.csv: no column 'b'; columns are seq, step, a, c");
  // A test label that training never saw.
  write("test_new_label.csv", "seq,step,a,b,kind\nz,0,1,1,sideways\n");
  expect_one_error(
      seqclass(path("train.csv") + " --id-column seq --label-column kind --test " +
               path("test_new_label.csv") + " --epochs 1 --ensemble 1 --model " +
               path("x.safetensors")),
      "test_new_label.csv, line 2: label 'sideways' of sequence 'z' does not occur in");
}

TEST_F(SeqclassCliTest, WideFormatWithVariableLengths) {
  std::ostringstream o;
  o << "label,x1,x2,x3,x4,x5,x6\n";
  std::mt19937 g(5);
  for (int k = 0; k < 40; ++k) {
    const bool up = k % 2 == 0;
    const int len = 3 + static_cast<int>(g() % 4);
    o << (up ? "rise" : "fall");
    for (int t = 0; t < 6; ++t) {
      o << ",";
      if (t < len) o << (up ? t : -t) + 0.1 * static_cast<double>(g() % 5);
    }
    o << "\n";
  }
  write("wide.csv", o.str());
  write("wide_test.csv", "label,x1,x2,x3\nrise,0,1,2\nfall,0,-1,-2\n");
  const CliRun r =
      seqclass(path("wide.csv") + " --wide --label-column label --test " + path("wide_test.csv") +
               " --cell lstm --no-bidirectional --units 8 --epochs 10 --ensemble 1 "
               "--lr 0.02 --json --model " +
               path("w.safetensors"));
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = parse_json(r.out);
  EXPECT_EQ(j["test_sequences"], 2);
  EXPECT_EQ(j["max_length"], 6);
  EXPECT_TRUE(j.contains("test_accuracy"));
  EXPECT_TRUE(j.contains("baseline_majority_accuracy"));
  const CliRun p = seqclass(path("wide_test.csv") + " --predict --output " + path("p.csv") +
                            " --model " + path("w.safetensors"));
  ASSERT_EQ(p.rc, 0) << p.err;
  std::ifstream f(path("p.csv"));
  std::string header;
  std::getline(f, header);
  EXPECT_EQ(header, "id,label,predicted,probability");
  // To stdout: only the CSV (the accuracy note goes to stderr).
  const CliRun q = seqclass(path("wide_test.csv") + " --predict --model " + path("w.safetensors"));
  ASSERT_EQ(q.rc, 0) << q.err;
  EXPECT_EQ(std::count(q.out.begin(), q.out.end(), '\n'), 3) << q.out;
  EXPECT_EQ(q.out.rfind("id,label,predicted,probability\nline 2,rise,", 0), 0u) << q.out;
  EXPECT_NE(q.err.find("accuracy against column 'label'"), std::string::npos) << q.err;
}

TEST_F(SeqclassCliTest, BadInputIsOneClearError) {
  const std::string quick = " --epochs 1 --ensemble 1 --units 4 --model " + path("m.safetensors");
  const std::string cols = " --id-column seq --label-column kind";
  // Missing file.
  expect_one_error(seqclass(path("nope.csv") + cols + quick), "nope.csv");
  // Empty file.
  write("empty.csv", "");
  expect_one_error(seqclass(path("empty.csv") + cols + quick), "empty.csv: the file is empty");
  // Wrong column name: the message lists the columns.
  write("ok.csv", long_table(3, 2));
  expect_one_error(seqclass(path("ok.csv") + " --id-column utterance --label-column kind" + quick),
                   "no column 'utterance'");
  expect_one_error(seqclass(path("ok.csv") + " --id-column seq --label-column speaker" + quick),
                   "seq, step, a, b, kind");
  // A non-numeric feature cell names the line and the column.
  write("text.csv", "seq,step,a,b,kind\n1,0,0.5,0.1,x\n1,1,0.7,n/a?,x\n2,0,0.1,0.2,y\n");
  expect_one_error(seqclass(path("text.csv") + cols + quick),
                   "text.csv, line 3, column 'b': 'n/a?' is not a number");
  // A single class.
  write("one.csv", "seq,step,a,kind\n1,0,0.5,x\n1,1,0.7,x\n2,0,0.1,x\n");
  expect_one_error(seqclass(path("one.csv") + cols + quick),
                   "the label column 'kind' has only one class ('x' on all 2 sequences)");
  // Not UTF-8.
  write("latin1.csv", "seq,step,a,kind\n1,0,0.5,caf\xE9\n2,0,0.1,b\n");
  expect_one_error(seqclass(path("latin1.csv") + cols + quick), "latin1.csv");
  EXPECT_NE(seqclass(path("latin1.csv") + cols + quick).err.find("UTF-8"), std::string::npos);
  // A sequence whose rows disagree on the label.
  write("mixed.csv", "seq,step,a,kind\n1,0,0.5,x\n1,1,0.7,y\n2,0,0.1,x\n");
  expect_one_error(seqclass(path("mixed.csv") + cols + quick),
                   "sequence '1' has label 'x' on line 2 but 'y' on line 3");
  // --predict with a file that is not a model, and with a model not made by seqclass.
  write("m.safetensors", "not a model");
  expect_one_error(seqclass(path("ok.csv") + " --predict --model " + path("m.safetensors")),
                   "m.safetensors");
  recur::Sequential other("other");
  other.add(recur::make_gru("gru", {.units = 2}));
  other.build({-1, 2});
  recur::save_model(path("other.safetensors"), other);
  expect_one_error(seqclass(path("ok.csv") + " --predict --model " + path("other.safetensors")),
                   "other.safetensors: not a sequence classifier written by recur seqclass");
  EXPECT_FALSE(fs::exists(dir_ / "m_report"));
}

TEST_F(SeqclassCliTest, UsageErrorsExit2) {
  write("ok.csv", long_table(3, 2));
  CliRun r = seqclass(path("ok.csv") + " --id-column seq");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--label-column"), std::string::npos) << r.err;
  r = seqclass(path("ok.csv") + " --label-column kind");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--id-column"), std::string::npos) << r.err;
  r = seqclass(path("ok.csv") + " --label-column kind --id-column seq --wide");
  EXPECT_EQ(r.rc, 2);
  r = seqclass("--cell qrnn --epochs 1");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--cell"), std::string::npos) << r.err;
}

}  // namespace
