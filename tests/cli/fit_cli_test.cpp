// recur fit / recur evaluate end to end: training writes a loadable model, --json keys, bad input
// gives one clear error and writes nothing, and a run killed with SIGKILL at random moments
// (checkpoint writes included) resumes to weights bit-identical to an uninterrupted run.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/npy.hpp"
#include "recur/recur.hpp"
#include "recur/train/checkpoint.hpp"
#include "support/cli_run.hpp"
#include "support/files.hpp"

namespace fs = std::filesystem;
using recur::testing::CliRun;
using recur::testing::read_file;
using recur::testing::recur_cli;
using recur::testing::write_file;

namespace {

class FitCliTest : public recur::testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    // A GRU(8) + Dense(1) regressor on y = mean of the last step's features (learnable).
    recur::Sequential m("reg");
    m.add(recur::make_gru("gru", {.units = 8, .dropout = 0.1f}));
    m.add(std::make_unique<recur::Dense>("dense", recur::DenseOptions{.units = 1}));
    m.build({-1, 3}, 7);
    recur::save_model(path("m.safetensors"), m);
    const int64_t N = 96, T = 10;
    recur::Tensor x({N, T, 3}), y({N, 1});
    std::mt19937 g(3);
    std::normal_distribution<float> nd;
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = nd(g);
    for (int64_t n = 0; n < N; ++n) {
      const float* last = x.data() + (n * T + T - 1) * 3;
      y[n] = (last[0] + last[1] + last[2]) / 3.0f;
    }
    recur::io::write_npy(path("x.npy"), x);
    recur::io::write_npy(path("y.npy"), y);
  }
  std::string fit_args(const std::string& out, const std::string& extra = "",
                       int epochs = 6) const {
    return "fit --model " + path("m.safetensors") + " --x " + path("x.npy") + " --y " +
           path("y.npy") + " --loss mse --optimizer adam --lr 0.01 --epochs " +
           std::to_string(epochs) + " --batch-size 16 --seed 5 --quiet --out " + out + " " + extra;
  }
};

TEST_F(FitCliTest, TrainsAndEvaluates) {
  CliRun before = recur_cli("evaluate --model " + path("m.safetensors") + " --x " + path("x.npy") +
                            " --y " + path("y.npy") + " --loss mse --metrics mae,rmse --json");
  ASSERT_EQ(before.rc, 0) << before.out;
  const auto b = nlohmann::json::parse(before.out);
  for (const char* k : {"loss", "mae", "rmse", "samples"}) EXPECT_TRUE(b.contains(k)) << k;

  CliRun r = recur_cli(fit_args(path("m2.safetensors"), "--metrics mae --json"));
  ASSERT_EQ(r.rc, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["epochs"], 6);
  ASSERT_EQ(j["history"]["loss"].size(), 6u);
  ASSERT_EQ(j["history"]["mae"].size(), 6u);
  EXPECT_LT(j["history"]["loss"][5].get<double>(), j["history"]["loss"][0].get<double>());

  CliRun after = recur_cli("evaluate --model " + path("m2.safetensors") + " --x " + path("x.npy") +
                           " --y " + path("y.npy") + " --loss mse --json");
  ASSERT_EQ(after.rc, 0) << after.out;
  EXPECT_LT(nlohmann::json::parse(after.out)["loss"].get<double>(), b["loss"].get<double>());
}

TEST_F(FitCliTest, ProgressLinesInKerasStyle) {
  CliRun r = recur_cli("fit --model " + path("m.safetensors") + " --x " + path("x.npy") +
                       " --y " + path("y.npy") + " --loss mse --epochs 2 --validation-split 0.25 "
                       "--out " + path("m2.safetensors"));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("Epoch 1/2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Epoch 2/2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3/3 - "), std::string::npos) << r.out;  // 72 rows / 32 = 3 batches
  EXPECT_NE(r.out.find(" - loss: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" - val_loss: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/step"), std::string::npos) << r.out;
  CliRun q = recur_cli(fit_args(path("m3.safetensors")));
  ASSERT_EQ(q.rc, 0);
  EXPECT_EQ(q.out, "");
}

TEST_F(FitCliTest, SameSeedIsBitIdentical) {
  ASSERT_EQ(recur_cli(fit_args(path("a.safetensors"))).rc, 0);
  ASSERT_EQ(recur_cli(fit_args(path("b.safetensors"))).rc, 0);
  EXPECT_EQ(read_file(path("a.safetensors")), read_file(path("b.safetensors")));
}

TEST_F(FitCliTest, BadInputIsOneClearErrorAndWritesNothing) {
  auto expect_error = [&](const std::string& args, const std::string& needle) {
    CliRun r = recur_cli(args);
    EXPECT_EQ(r.rc, 1) << args << "\n" << r.out;
    EXPECT_NE(r.out.find("recur: error: "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(needle), std::string::npos) << "wanted '" << needle << "' in: " << r.out;
    EXPECT_FALSE(fs::exists(path("bad.safetensors")));
  };
  recur::io::write_npy(path("y_short.npy"), recur::Tensor({10, 1}));
  expect_error("fit --model " + path("m.safetensors") + " --x " + path("x.npy") + " --y " +
                   path("y_short.npy") + " --loss mse --out " + path("bad.safetensors"),
               "y has 10 rows but x has 96");
  recur::io::write_npy(path("y_wide.npy"), recur::Tensor({96, 2}));
  expect_error("fit --model " + path("m.safetensors") + " --x " + path("x.npy") + " --y " +
                   path("y_wide.npy") + " --loss mse --out " + path("bad.safetensors"),
               "y has shape [96, 2], expected [96, 1]");
  expect_error("fit --model " + path("m.safetensors") + " --x " + path("x.npy") + " --y " +
                   path("y.npy") + " --loss sparse_categorical_crossentropy --out " +
                   path("bad.safetensors"),
               "label");
  expect_error("fit --model " + path("m.safetensors") + " --x " + path("x.npy") + " --y " +
                   path("y.npy") + " --loss hinge --out " + path("bad.safetensors"),
               "unknown loss 'hinge'");
  recur::io::write_npy(path("x_empty.npy"), recur::Tensor({0, 10, 3}));
  recur::io::write_npy(path("y_empty.npy"), recur::Tensor({0, 1}));
  expect_error("fit --model " + path("m.safetensors") + " --x " + path("x_empty.npy") + " --y " +
                   path("y_empty.npy") + " --loss mse --out " + path("bad.safetensors"),
               "empty");
  // A learning rate that blows the loss up: TerminateOnNaN stops, nothing is written.
  recur::Tensor xb({96, 10, 3}, 1e18f);
  recur::io::write_npy(path("x_big.npy"), xb);
  expect_error("fit --model " + path("m.safetensors") + " --x " + path("x_big.npy") + " --y " +
                   path("y.npy") + " --loss mse --optimizer sgd --lr 1e30 --epochs 3 --quiet --out " +
                   path("bad.safetensors"),
               "NaN or Inf");
  expect_error(fit_args(path("bad.safetensors"), "--resume --checkpoint " + path("none")),
               "no checkpoint to resume");
  ASSERT_EQ(recur_cli(fit_args(path("ok.safetensors"), "--checkpoint " + path("used"))).rc, 0);
  expect_error(fit_args(path("bad.safetensors"), "--checkpoint " + path("used")),
               "already holds a checkpoint; pass --resume");
}

// Runs `recur <args>` with the file-size limit RLIMIT_FSIZE = limit_bytes and SIGXFSZ ignored, so
// a write past the limit fails with EFBIG the way a full disk fails with ENOSPC. Returns the exit
// code; the output goes to `log`.
int recur_with_file_size_limit(const std::string& args, rlim_t limit_bytes, const std::string& log) {
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    const rlimit lim{limit_bytes, limit_bytes};
    setrlimit(RLIMIT_FSIZE, &lim);
    signal(SIGXFSZ, SIG_IGN);
    execl("/bin/sh", "sh", "-c",
          ("exec " + recur::testing::recur_cli_path() + " " + args + " >" + log + " 2>&1").c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Disk full while a checkpoint is written: one clear error naming the file, the previous
// checkpoint byte-for-byte intact and resumable, no temporary file left behind, no model written.
TEST_F(FitCliTest, DiskFullKeepsThePreviousCheckpoint) {
  const std::string ckpt = path("ckpt");
  ASSERT_EQ(recur_cli(fit_args(path("first.safetensors"), "--checkpoint " + ckpt, 2)).rc, 0);
  const std::string before = read_file(recur::checkpoint_file(ckpt));
  ASSERT_GT(before.size(), 1000u);
  const std::string log = path("full.log");
  const int rc = recur_with_file_size_limit(
      fit_args(path("more.safetensors"), "--checkpoint " + ckpt + " --resume", 4),
      before.size() / 2, log);
  const std::string out = read_file(log);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("recur: error: "), std::string::npos) << out;
  EXPECT_NE(out.find(recur::checkpoint_file(ckpt)), std::string::npos) << out;
  EXPECT_NE(out.find("File too large"), std::string::npos) << out;
  EXPECT_EQ(read_file(recur::checkpoint_file(ckpt)), before);
  for (const auto& e : fs::directory_iterator(ckpt))
    EXPECT_EQ(e.path().extension(), ".safetensors") << "left behind: " << e.path();
  EXPECT_FALSE(fs::exists(path("more.safetensors")));
  // With room again, the same command resumes from the intact checkpoint and finishes.
  EXPECT_EQ(recur_cli(fit_args(path("more.safetensors"), "--checkpoint " + ckpt + " --resume", 4)).rc,
            0);
  EXPECT_NO_THROW(recur::load_model(path("more.safetensors")));
}

// An output or checkpoint path that cannot be written is refused before any training.
TEST_F(FitCliTest, UnwritableOutputIsRefusedBeforeTraining) {
  write_file(path("plain_file"), "x");
  CliRun r = recur_cli(fit_args(path("no/such/dir/m.safetensors"), "", 200));
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("no/such/dir/m.safetensors: cannot write here"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Epoch"), std::string::npos) << r.out;
  r = recur_cli(fit_args(path("m2.safetensors"), "--checkpoint " + path("plain_file") + "/ck", 200));
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("cannot create the checkpoint directory"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(path("m2.safetensors")));
}

void expect_same_weights(const std::string& straight, const std::string& resumed, int kills) {
  auto a = recur::load_model(straight);
  auto b = recur::load_model(resumed);
  ASSERT_EQ(a->weights().size(), b->weights().size());
  EXPECT_EQ(0, std::memcmp(a->weights().data(), b->weights().data(),
                           a->weights().size() * sizeof(float)))
      << "resumed weights differ from the uninterrupted run (" << kills << " kills)";
}

// Kill `recur fit` with SIGKILL at random moments, resume each time, and compare with a run that
// was never interrupted. RECUR_KILL_STRESS=N (the stress version, docs/TESTING.md) kills at least
// N times: a chain of resumes that ends sooner is checked and a new one started, and after the
// N-th kill the last resume runs to the end. By default one chain, ended whenever an attempt
// outlives its random kill time.
TEST_F(FitCliTest, KillAndResumeIsBitIdentical) {
  const char* stress = std::getenv("RECUR_KILL_STRESS");
  const int want_kills = stress ? std::max(1, std::atoi(stress)) : 0;
  const std::string extra = "--save-freq 2";
  const int epochs = 60;
  ASSERT_EQ(recur_cli(fit_args(path("straight.safetensors"), extra, epochs)).rc, 0);
  // How long a checkpointed run takes (checkpoint writes fsync, so it is slower than a plain one).
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(recur_cli(fit_args(path("timing.safetensors"),
                               extra + " --checkpoint " + path("timing_ckpt"), epochs)).rc, 0);
  const int run_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now() - t0).count());
  // A process's fixed cost (start, load, first GEMM calls) up to its first checkpoint: a resumed
  // run must live longer than this to make progress.
  const auto t1 = std::chrono::steady_clock::now();
  ASSERT_EQ(recur_cli(fit_args(path("startup.safetensors"),
                               extra + " --checkpoint " + path("startup_ckpt"), 1)).rc, 0);
  const int startup_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::steady_clock::now() - t1).count());
  // Kill within the run's own duration, so most attempts die somewhere inside it.
  const std::string ckpt = path("ckpt");
  std::mt19937 g(11);
  // With N kills wanted, each attempt's progress is bounded by run / N, so N kills fit in a run.
  std::uniform_int_distribution<int> delay_ms(
      1, std::max(2, startup_ms + run_ms / std::max(6, want_kills)));
  int kills = 0;
  bool started = false;
  for (int attempt = 0; attempt < 200 + 4 * want_kills; ++attempt) {
    const bool resume = fs::exists(recur::checkpoint_file(ckpt));
    std::string args = fit_args(path("resumed.safetensors"),
                                extra + " --checkpoint " + ckpt + (resume ? " --resume" : ""),
                                epochs);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      execl("/bin/sh", "sh", "-c",
            ("exec " + recur::testing::recur_cli_path() + " " + args + " >/dev/null 2>&1").c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    started = true;
    // After the wanted kills, the next resume runs to the end (an hour at most).
    const int wait_ms = want_kills && kills >= want_kills ? 3600 * 1000 : delay_ms(g);
    int status = 0;
    bool done = false;
    for (int waited = 0; waited < wait_ms; ++waited) {
      if (waitpid(pid, &status, WNOHANG) == pid) {
        done = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (!done) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ++kills;
      // Whatever moment it died at, the checkpoint on disk (if any) is complete and loadable.
      if (fs::exists(recur::checkpoint_file(ckpt))) {
        EXPECT_NO_THROW(recur::load_model(recur::checkpoint_file(ckpt)));
      }
      continue;
    }
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    if (kills >= want_kills) break;
    // Stress: a chain finished before the wanted kills. Check it, then start a new chain.
    expect_same_weights(path("straight.safetensors"), path("resumed.safetensors"), kills);
    fs::remove(path("resumed.safetensors"));
    fs::remove_all(ckpt);
  }
  ASSERT_TRUE(started);
  ASSERT_TRUE(fs::exists(path("resumed.safetensors")))
      << "never finished after " << kills << " kills (run " << run_ms << " ms, start-up "
      << startup_ms << " ms)";
  EXPECT_GE(kills, std::max(1, want_kills))
      << "the run finished before enough kills; the test proved less than it should";
  std::cout << "checkpointed run " << run_ms << " ms (start-up " << startup_ms << " ms); " << kills
            << " kills before it finished\n";
  expect_same_weights(path("straight.safetensors"), path("resumed.safetensors"), kills);
}

}  // namespace
