// recur forecast / recur demo end to end: the --json keys, the files written, the embedded data
// set equals data/airline_passengers.csv, --predict with a trained model, --test FILE, TSV input,
// the quality target (beats seasonal naive on airline passengers and monthly sunspots with the
// default settings), and one clear error line (exit 1) for each kind of bad input.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/cli_run.hpp"
#include "support/files.hpp"

namespace fs = std::filesystem;
using recur::testing::CliRun;
using recur::testing::read_file;
using recur::testing::recur_cli;

namespace {

const std::string kData = std::string(RECUR_SOURCE_DIR) + "/data/";

class ForecastCliTest : public recur::testing::TempDirTest {
 protected:
  nlohmann::json run_json(const std::string& args) const {
    const CliRun r = recur_cli(args + " --json --quiet --threads 1");
    EXPECT_EQ(r.rc, 0) << r.out;
    return nlohmann::json::parse(r.out);
  }
  // The one-line error of a failing run.
  std::string error_line(const std::string& args) const {
    const CliRun r = recur_cli(args + " --model " + path("m.safetensors"));
    EXPECT_EQ(r.rc, 1) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
    EXPECT_FALSE(fs::exists(path("m.safetensors")));
    return r.out.substr(0, r.out.find('\n'));
  }
};

TEST_F(ForecastCliTest, DefaultJobShortRun) {
  const nlohmann::json j = run_json("forecast --epochs 3 --model " + path("f.safetensors"));
  for (const char* key : {"test_rmse", "test_mae", "baseline_seasonal_naive_rmse",
                          "baseline_last_value_rmse"}) {
    ASSERT_TRUE(j.contains(key)) << key;
    ASSERT_TRUE(j[key].is_number()) << key;
    EXPECT_TRUE(std::isfinite(j[key].get<double>())) << key;
    EXPECT_GT(j[key].get<double>(), 0) << key;
  }
  EXPECT_EQ(j["season"], 12);
  EXPECT_EQ(j["horizon"], 12);
  EXPECT_EQ(j["test_points"], 29);  // the last 20 % of 144 months
  EXPECT_EQ(j["column"], "passengers");
  // The baselines over every (test month, horizon 1..12) pair are fixed numbers (computed
  // independently with numpy; forecast origin = month - horizon).
  EXPECT_NEAR(j["baseline_seasonal_naive_rmse"].get<double>(), 46.0816, 1e-3);
  EXPECT_NEAR(j["baseline_last_value_rmse"].get<double>(), 99.0862, 1e-3);
  EXPECT_NEAR(j["baseline_seasonal_naive_rmse_1_step"].get<double>(), 46.0816, 1e-3);
  EXPECT_EQ(j["test_forecasts"], 29 * 12);
  EXPECT_EQ(j["forecast"].size(), 12u);
  EXPECT_EQ(j["forecast_dates"].front(), "1961-01");
  EXPECT_TRUE(fs::exists(path("f.safetensors")));
  for (const char* f : {"forecast.csv", "test_predictions.csv", "forecast.svg", "loss.svg"})
    EXPECT_TRUE(fs::exists(path("f_report/") + f)) << f;
  const std::string csv = read_file(path("f_report/forecast.csv"));
  EXPECT_EQ(csv.rfind("month,passengers_forecast\n1961-01,", 0), 0u) << csv;
  EXPECT_EQ(read_file(path("f_report/forecast.svg")).rfind("<svg", 0), 0u);
  // The model carries its preprocessing, and recur info reads it.
  const CliRun info = recur_cli("info --model " + path("f.safetensors"));
  EXPECT_EQ(info.rc, 0) << info.out;
  EXPECT_NE(info.out.find("LSTM"), std::string::npos);
}

TEST_F(ForecastCliTest, EmbeddedDataEqualsTheShippedFile) {
  const std::string args = " --epochs 2 --seed 3 --model " + path("a.safetensors");
  const nlohmann::json embedded = run_json("forecast" + args);
  const nlohmann::json file = run_json("forecast " + kData + "airline_passengers.csv" + args);
  EXPECT_EQ(embedded["test_rmse"], file["test_rmse"]);
  EXPECT_EQ(embedded["forecast"], file["forecast"]);
}

TEST_F(ForecastCliTest, PredictWithTrainedModel) {
  run_json("forecast --epochs 3 --model " + path("f.safetensors"));
  // The last 30 months of airline passengers: forecast the 12 after 1951-06.
  std::istringstream lines(read_file(kData + "airline_passengers.csv"));
  std::string line, head;
  std::getline(lines, head);
  std::string text = head + "\n";
  for (int i = 0; i < 30 && std::getline(lines, line); ++i) text += line + "\n";
  write("recent.csv", text);
  const nlohmann::json j = run_json("forecast " + path("recent.csv") + " --predict --model " +
                                    path("f.safetensors") + " --output " + path("out.csv"));
  ASSERT_EQ(j["forecast"].size(), 12u);
  EXPECT_EQ(j["dates"].front(), "1951-07");
  EXPECT_EQ(j["after"], "1951-06");
  for (const auto& v : j["forecast"]) EXPECT_TRUE(v.get<double>() > 50 && v.get<double>() < 500);
  EXPECT_EQ(read_file(path("out.csv")).rfind("month,passengers_forecast\n1951-07,", 0), 0u);
  // Without --output and --json: CSV on stdout.
  const CliRun r = recur_cli("forecast " + path("recent.csv") + " --predict --quiet --model " +
                             path("f.safetensors"));
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out.rfind("month,passengers_forecast\n1951-07,", 0), 0u) << r.out;
  // Too little history for the model's lookback.
  write("tiny.csv", "month,passengers\n1949-01,112\n1949-02,118\n");
  const CliRun tiny = recur_cli("forecast " + path("tiny.csv") + " --predict --model " +
                                path("f.safetensors"));
  EXPECT_EQ(tiny.rc, 1);
  EXPECT_EQ(tiny.out, "recur: error: " + path("tiny.csv") +
                          ": too few rows: 2 values in column 'passengers', but the model needs "
                          "the last 24 (lookback 24, season 12)\n");
}

TEST_F(ForecastCliTest, PredictNeedsAForecastingModel) {
  const std::string example = std::string(RECUR_SOURCE_DIR) + "/examples/airline/model.safetensors";
  const CliRun r = recur_cli("forecast --predict --model " + example);
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out, "recur: error: " + example +
                       ": not a forecasting model (its recur.preprocessing does not come from "
                       "recur forecast); train one with: recur forecast DATA --model "
                       "NEW.safetensors\n");
}

TEST_F(ForecastCliTest, TestFileTsvAndExplicitOptions) {
  // Airline as TSV, split in two files: 120 months to train on, 24 to test on.
  std::istringstream lines(read_file(kData + "airline_passengers.csv"));
  std::string line, train = "month\tpassengers\n", test = train;
  std::getline(lines, line);
  for (int i = 0; std::getline(lines, line); ++i) {
    line[line.find(',')] = '\t';
    (i < 120 ? train : test) += line + "\n";
  }
  write("train.tsv", train);
  write("test.tsv", test);
  const nlohmann::json j =
      run_json("forecast " + path("train.tsv") + " --test " + path("test.tsv") +
               " --column passengers --date-column month --lookback 12 --horizon 3 --season 12 "
               "--cell gru --epochs 2 --model " + path("g.safetensors"));
  EXPECT_EQ(j["test_points"], 24);
  EXPECT_EQ(j["horizon"], 3);
  EXPECT_EQ(j["lookback"], 12);
  EXPECT_EQ(j["cell"], "gru");
  EXPECT_EQ(j["test_forecasts"], 24 * 3);
  EXPECT_TRUE(std::isfinite(j["test_rmse"].get<double>()));
}

TEST_F(ForecastCliTest, FillMissingValues) {
  write("gaps.csv", "month,v\n");
  std::string text = "month,v\n";
  for (int i = 0; i < 120; ++i) {
    const std::string v = i == 50 ? "" : std::to_string(100 + 10 * std::sin(i * 0.5) + i);
    text += std::to_string(1950 + i / 12) + "-" + (i % 12 < 9 ? "0" : "") +
            std::to_string(i % 12 + 1) + "," + v + "\n";
  }
  write("gaps.csv", text);
  EXPECT_EQ(error_line("forecast " + path("gaps.csv")),
            "recur: error: " + path("gaps.csv") +
                ", line 52, column 'v': empty cell is not a number (use --fill previous or "
                "--fill VALUE for missing values)");
  const nlohmann::json j = run_json("forecast " + path("gaps.csv") +
                                    " --fill previous --epochs 2 --model " + path("g.safetensors"));
  EXPECT_EQ(j["column"], "v");
  EXPECT_EQ(j["season"], 12);
}

// The quality target: with the default settings the forecaster beats the seasonal-naive
// baseline (test RMSE, last 20 %) on airline passengers and on monthly sunspots.
TEST_F(ForecastCliTest, BeatsSeasonalNaiveOnAirline) {
  const nlohmann::json j = run_json("forecast --model " + path("air.safetensors"));
  EXPECT_LT(j["test_rmse"].get<double>(), j["baseline_seasonal_naive_rmse"].get<double>());
  EXPECT_LT(j["test_rmse"].get<double>(), j["baseline_last_value_rmse"].get<double>());
}

TEST_F(ForecastCliTest, BeatsSeasonalNaiveOnSunspots) {
  const nlohmann::json j =
      run_json("forecast " + kData + "monthly_sunspots.csv --model " + path("sun.safetensors"));
  EXPECT_EQ(j["test_points"], 564);
  EXPECT_LT(j["test_rmse"].get<double>(), j["baseline_seasonal_naive_rmse"].get<double>());
  EXPECT_LT(j["test_rmse"].get<double>(), j["baseline_last_value_rmse"].get<double>());
}

TEST_F(ForecastCliTest, Demo) {
  const CliRun r = recur_cli("demo --threads 1 --model " + path("demo/airline.safetensors"));
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("seasonal naive"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("last value"), std::string::npos);
  EXPECT_NE(r.out.find(path("demo/airline_report/forecast.svg")), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(path("demo/airline.safetensors")));
}

TEST_F(ForecastCliTest, BadInput) {
  EXPECT_EQ(error_line("forecast " + path("missing.csv")),
            "recur: error: " + path("missing.csv") + ": cannot open: no such file");
  write("empty.csv", "");
  EXPECT_EQ(error_line("forecast " + path("empty.csv")),
            "recur: error: " + path("empty.csv") + ": the file is empty (expected a header line)");
  write("header.csv", "month,passengers\n");
  EXPECT_EQ(error_line("forecast " + path("header.csv")),
            "recur: error: " + path("header.csv") + ": the file has a header but no data rows");
  EXPECT_EQ(error_line("forecast --column passenger"),
            "recur: error: airline_passengers.csv (embedded): no column 'passenger'; columns "
            "are month, passengers");
  write("short.csv", "month,passengers\n1949-01,112\n1949-02,118\n1949-03,132\n1949-04,129\n");
  EXPECT_EQ(error_line("forecast " + path("short.csv")),
            "recur: error: " + path("short.csv") +
                ": too few rows: 4 values in column 'passengers'; forecasting needs a longer "
                "series");
  {
    std::string text = "month,passengers\n";
    for (int i = 0; i < 30; ++i)
      text += std::to_string(1950 + i / 12) + "-" + (i % 12 < 9 ? "0" : "") +
              std::to_string(i % 12 + 1) + "," + std::to_string(100 + i) + "\n";
    write("short30.csv", text);
  }
  EXPECT_EQ(error_line("forecast " + path("short30.csv") + " --lookback 12 --horizon 3"),
            "recur: error: " + path("short30.csv") +
                ": too few rows for lookback 12 and horizon 3 (season 12): 30 values, of which 24 "
                "before the test span; training needs at least 29 values before the test span "
                "(7 of them for validation); use a shorter --lookback/--horizon or more data");
  write("latin1.csv", "month,passengers\n1949-01,112\n1949-02,118\nm\xE4rz,132\n");
  EXPECT_EQ(error_line("forecast " + path("latin1.csv")),
            "recur: error: " + path("latin1.csv") +
                ", line 4, byte 2: not valid UTF-8 (byte 0xE4); save the file as UTF-8 text "
                "(e.g. iconv -f latin1 -t utf-8)");
  write("bad.csv", "month,passengers\n1949-01,112\n1949-02,118\n1949-03,n/a1\n1949-04,129\n");
  EXPECT_EQ(error_line("forecast " + path("bad.csv")),
            "recur: error: " + path("bad.csv") +
                ", line 4, column 'passengers': 'n/a1' is not a number");
  write("multi.csv", "a,b\n1,2\n3,4\n");
  EXPECT_EQ(error_line("forecast " + path("multi.csv")),
            "recur: error: " + path("multi.csv") + ": several numeric columns (a, b); choose one "
            "with --column");
  write("words.csv", "a,b\nx,y\n");
  EXPECT_EQ(error_line("forecast " + path("words.csv")),
            "recur: error: " + path("words.csv") + ": no numeric column to forecast besides the "
            "date column 'a'; columns are a, b");
  {
    std::string text = "month,passengers\n";
    for (int i = 0; i < 60; ++i)
      text += std::to_string(1950 + i / 12) + "-" + (i % 12 < 9 ? "0" : "") +
              std::to_string(i % 12 + 1) + "," + std::to_string(i == 2 ? 0 : 100 + i) + "\n";
    write("zero.csv", text);
  }
  EXPECT_EQ(error_line("forecast " + path("zero.csv") + " --transform log"),
            "recur: error: " + path("zero.csv") +
                ": --transform log needs positive values, but value 3 is 0");
  EXPECT_EQ(error_line("forecast --cell lstmm"),
            "recur: error: --cell 'lstmm' is not one of lstm, gru, rnn");
  EXPECT_EQ(error_line("forecast --fill maybe"),
            "recur: error: --fill 'maybe' must be a number or 'previous'");
  // Usage errors exit 2.
  EXPECT_EQ(recur_cli("forecast --horizon x").rc, 2);
}

}  // namespace
