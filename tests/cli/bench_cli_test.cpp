// recur bench end to end, at tiny shapes and a short measuring time: --json prints one object
// with the documented keys and sane values for every mode and cell; bad options are usage
// errors (exit 2) with a message naming the option.
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/cli_run.hpp"

using recur::testing::CliRun;
using recur::testing::recur_cli;

namespace {

// The one JSON line of the output (stdout and stderr are merged by recur_cli).
nlohmann::json json_line(const std::string& out) {
  std::istringstream in(out);
  std::string line, found;
  int count = 0;
  while (std::getline(in, line))
    if (!line.empty() && line[0] == '{') {
      found = line;
      ++count;
    }
  EXPECT_EQ(count, 1) << out;
  return nlohmann::json::parse(found);
}

const std::set<std::string> kRequired = {"cell",  "mode",      "input",       "units",
                                         "steps", "batch",     "threads",     "seq_per_s",
                                         "us_per_step", "gflops", "peak_rss_mb"};

void expect_report(const nlohmann::json& j, const std::string& cell, const std::string& mode,
                   int64_t I, int64_t H, int64_t T, int64_t B, int threads) {
  for (const std::string& k : kRequired) EXPECT_TRUE(j.contains(k)) << "missing " << k << ": " << j;
  EXPECT_EQ(j.at("cell"), cell);
  EXPECT_EQ(j.at("mode"), mode);
  EXPECT_EQ(j.at("input"), I);
  EXPECT_EQ(j.at("units"), H);
  EXPECT_EQ(j.at("steps"), T);
  EXPECT_EQ(j.at("batch"), B);
  EXPECT_EQ(j.at("threads"), threads);
  for (const char* k : {"seq_per_s", "us_per_step", "gflops", "peak_rss_mb"}) {
    ASSERT_TRUE(j.at(k).is_number()) << k << ": " << j;
    EXPECT_GT(j.at(k).get<double>(), 0.0) << k << ": " << j;
  }
}

TEST(BenchCli, TrainJsonHasTheRequiredKeys) {
  const CliRun r = recur_cli(
      "bench --cell gru --mode train --input 4 --units 8 --steps 5 --batch 2 --threads 1 --json "
      "--seconds 0.05");
  ASSERT_EQ(r.rc, 0) << r.out;
  const nlohmann::json j = json_line(r.out);
  expect_report(j, "gru", "train", 4, 8, 5, 2, 1);
  // seq/s and µs/step describe the same median iteration: B / t and t / T.
  const double t = 2.0 / j.at("seq_per_s").get<double>();
  EXPECT_NEAR(j.at("us_per_step").get<double>(), t * 1e6 / 5.0, 1e-6 * t * 1e6);
}

TEST(BenchCli, EveryCellAndMode) {
  for (const std::string cell : {"lstm", "gru", "rnn"})
    for (const std::string mode : {"train", "infer", "stream"}) {
      const CliRun r = recur_cli("bench --cell " + cell + " --mode " + mode +
                                 " --input 3 --units 5 --steps 4 --batch 2 --threads 1 "
                                 "--json --seconds 0.02 --min-iters 2");
      ASSERT_EQ(r.rc, 0) << cell << " " << mode << ": " << r.out;
      expect_report(json_line(r.out), cell, mode, 3, 5, 4, 2, 1);
    }
}

TEST(BenchCli, FitLoopAndHumanOutput) {
  const CliRun fit = recur_cli(
      "bench --cell lstm --mode train --loop fit --input 3 --units 4 --steps 3 --batch 4 "
      "--threads 1 --json --seconds 0.02");
  ASSERT_EQ(fit.rc, 0) << fit.out;
  EXPECT_EQ(json_line(fit.out).at("loop"), "fit");
  const CliRun human = recur_cli(
      "bench --cell rnn --mode stream --input 3 --units 4 --steps 3 --threads 1 --seconds 0.02");
  ASSERT_EQ(human.rc, 0) << human.out;
  EXPECT_NE(human.out.find("us/step"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("peak RSS"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("batch=1"), std::string::npos) << human.out;  // stream default
}

TEST(BenchCli, BadOptionsAreUsageErrors) {
  struct Case {
    std::string args, needle;
  };
  const Case cases[] = {
      {"bench --cell tcn", "--cell"},
      {"bench --mode predict", "--mode"},
      {"bench --units 0", "--units"},
      {"bench --batch -3", "--batch"},
      {"bench --steps x", "--steps"},
      {"bench --threads 0", "--threads"},
      {"bench --seconds 0", "--seconds"},
      {"bench --loop epoch", "--loop"},
      {"bench --no-such-option", "--no-such-option"},
  };
  for (const Case& c : cases) {
    const CliRun r = recur_cli(c.args);
    EXPECT_EQ(r.rc, 2) << c.args << ": " << r.out;
    EXPECT_NE(r.out.find("recur: error:"), std::string::npos) << c.args << ": " << r.out;
    EXPECT_NE(r.out.find(c.needle), std::string::npos) << c.args << ": " << r.out;
  }
}

TEST(BenchCli, Help) {
  const CliRun r = recur_cli("bench --help");
  ASSERT_EQ(r.rc, 0) << r.out;
  for (const char* opt : {"--cell", "--mode", "--input", "--units", "--steps", "--batch",
                          "--threads", "--seconds", "--json"})
    EXPECT_NE(r.out.find(opt), std::string::npos) << opt;
}

}  // namespace
