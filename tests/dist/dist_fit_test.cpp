// Data-parallel `mpirun -np 2 recur fit` against one process: with per-rank batch b, two ranks
// train like one process with batch 2·b (every optimizer, a last partial batch that leaves one
// rank without rows), the logged loss, metrics and validation are the global values, the ordered
// reduction is bit-identical run to run, and one rank under mpirun is bit-identical to no mpirun.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "dist/dist_support.hpp"

namespace fs = std::filesystem;
using namespace recur::testing;

namespace {

class DistFitTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    // 49 rows: global batches of 16, 16, 16 and 1 — in the last one rank 0 has no row.
    write_problem([this](const std::string& n) { return path(n); }, 49);
  }
  std::string args(const std::string& out, int batch, const std::string& optimizer,
                   const std::string& extra = "") const {
    return "fit --model " + path("m.safetensors") + " --x " + path("x.npy") + " --y " +
           path("y.npy") + " --loss mse --optimizer " + optimizer + " --epochs 3 --batch-size " +
           std::to_string(batch) + " --seed 5 --quiet --out " + path(out) + " " + extra;
  }
  // One process, global batch 16.
  void single(const std::string& out, const std::string& optimizer,
              const std::string& extra = "") {
    CliRun r = recur_cli(args(out, 16, optimizer, extra));
    ASSERT_EQ(r.rc, 0) << r.out;
  }
  // Two ranks of batch 8.
  void two_ranks(const std::string& out, const std::string& optimizer,
                 const std::string& reduce = "ordered", const std::string& extra = "") {
    std::string log;
    ASSERT_EQ(sh(mpirun(2, "RECUR_MPI_REDUCE=" + reduce) + args(out, 8, optimizer, extra), &log),
              0)
        << log;
  }
};

TEST_F(DistFitTest, EveryOptimizerMatchesOneProcessWithTheGlobalBatch) {
  const std::string optimizers[] = {"sgd --lr 0.05 --momentum 0.9 --nesterov",
                                    "adam --lr 0.01",
                                    "adamw --lr 0.01 --weight-decay 0.01",
                                    "rmsprop --lr 0.005 --momentum 0.5",
                                    "adagrad --lr 0.05",
                                    "adam --lr 0.01 --amsgrad --global-clipnorm 0.5"};
  int i = 0;
  for (const std::string& opt : optimizers) {
    SCOPED_TRACE(opt);
    const std::string a = "one" + std::to_string(i) + ".safetensors";
    const std::string b = "two" + std::to_string(i) + ".safetensors";
    single(a, opt);
    two_ranks(b, opt);
    const double moved = max_weight_diff(path("m.safetensors"), path(a));
    EXPECT_GT(moved, 1e-3) << "training changed nothing";
    EXPECT_LE(max_weight_diff(path(a), path(b)), 1e-5);
    ++i;
  }
}

TEST_F(DistFitTest, FastReductionMatchesToo) {
  single("one.safetensors", "adam --lr 0.01");
  two_ranks("two.safetensors", "adam --lr 0.01", "fast");
  EXPECT_LE(max_weight_diff(path("one.safetensors"), path("two.safetensors")), 1e-5);
}

TEST_F(DistFitTest, OrderedReductionIsBitIdenticalAndOneRankEqualsNoMpirun) {
  two_ranks("a.safetensors", "adam --lr 0.01");
  two_ranks("b.safetensors", "adam --lr 0.01");
  EXPECT_EQ(read_file(path("a.safetensors")), read_file(path("b.safetensors")));
  // One rank under mpirun takes the single-process path: bit-identical to a plain run.
  single("plain.safetensors", "adam --lr 0.01");
  std::string log;
  ASSERT_EQ(sh(mpirun(1) + args("np1.safetensors", 16, "adam --lr 0.01"), &log), 0) << log;
  EXPECT_EQ(read_file(path("plain.safetensors")), read_file(path("np1.safetensors")));
}

TEST_F(DistFitTest, LossMetricsAndValidationAreTheGlobalValues) {
  const std::string extra = "--metrics mae,rmse --validation-split 0.25 --json";
  auto history = [&](const std::string& command) {
    std::string out;
    EXPECT_EQ(sh("{ " + command + " 2>/dev/null; }", &out), 0) << out;
    return nlohmann::json::parse(out).at("history");
  };
  const auto h1 = history(recur_cli_path() + " " + args("one.safetensors", 16, "adam", extra));
  const auto h2 = history(mpirun(2, "RECUR_MPI_REDUCE=ordered") +
                          args("two.safetensors", 8, "adam", extra));
  for (const char* key : {"loss", "mae", "rmse", "val_loss", "val_mae", "val_rmse"}) {
    SCOPED_TRACE(key);
    ASSERT_TRUE(h1.contains(key) && h2.contains(key));
    ASSERT_EQ(h1[key].size(), 3u);
    ASSERT_EQ(h2[key].size(), 3u);
    for (std::size_t e = 0; e < 3; ++e)
      EXPECT_NEAR(h1[key][e].get<double>(), h2[key][e].get<double>(), 1e-5);
  }
}

TEST_F(DistFitTest, OnlyRankZeroPrintsAndWrites) {
  std::string command = mpirun(2) + args("two.safetensors", 8, "adam", "--verbose 2 --csv-log " +
                                                                          path("log.csv"));
  command.replace(command.find(" --quiet"), 8, "");
  std::string out;
  ASSERT_EQ(sh(command, &out), 0) << out;
  // One "Epoch 1/3" line (rank 0's), one CSV with a header and 3 rows.
  std::size_t count = 0;
  for (std::size_t p = out.find("Epoch 1/3"); p != std::string::npos;
       p = out.find("Epoch 1/3", p + 1))
    ++count;
  EXPECT_EQ(count, 1u) << out;
  const std::string csv = read_file(path("log.csv"));
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4) << csv;
}

TEST_F(DistFitTest, DropoutModelTrainsAndRepeatsExactly) {
  write_problem([this](const std::string& n) { return path(n); }, 49, 0.2f);
  two_ranks("a.safetensors", "adam --lr 0.01");
  two_ranks("b.safetensors", "adam --lr 0.01");
  EXPECT_EQ(read_file(path("a.safetensors")), read_file(path("b.safetensors")));
  EXPECT_GT(max_weight_diff(path("m.safetensors"), path("a.safetensors")), 1e-3);
}

}  // namespace

namespace {

class DistTaskTest : public TempDirTest {};

// A task command under mpirun: rank 0 runs it (one set of notes, every output file), rank 1
// trains its half of each batch; the model equals the one-process run with the global batch.
TEST_F(DistTaskTest, ForecastUnderMpirunMatchesOneProcessWithTheGlobalBatch) {
  std::string two, one;
  ASSERT_EQ(sh(mpirun(2, "RECUR_MPI_REDUCE=ordered") +
                   "forecast --epochs 3 --batch-size 16 --model " + path("two/f.safetensors"),
               &two),
            0)
      << two;
  ASSERT_EQ(sh(recur_cli_path() + " forecast --epochs 3 --batch-size 32 --model " +
                   path("one/f.safetensors"),
               &one),
            0)
      << one;
  EXPECT_EQ(two.find("forecast after"), two.rfind("forecast after")) << two;  // printed once
  EXPECT_NE(two.find("forecast after"), std::string::npos) << two;
  for (const char* f : {"f.safetensors", "f_report/forecast.csv", "f_report/loss.svg"})
    EXPECT_TRUE(fs::exists(path(std::string("two/") + f))) << f;
  EXPECT_LE(max_weight_diff(path("one/f.safetensors"), path("two/f.safetensors")), 1e-5);
}

}  // namespace
