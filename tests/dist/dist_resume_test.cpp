// Checkpoints and failures of `mpirun -np 2 recur fit`: a checkpoint written by two ranks resumes
// in one process (and the other way round) like an uninterrupted run; a rank killed with SIGKILL
// makes the whole job stop within seconds (mpirun's own behaviour), and its last checkpoint
// resumes bit-identically; a rank that stops answering (SIGSTOP) ends the job through the
// collective timeout (RECUR_MPI_TIMEOUT) with a message saying so.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "dist/dist_support.hpp"
#include "recur/train/checkpoint.hpp"

namespace fs = std::filesystem;
using namespace recur::testing;
using Clock = std::chrono::steady_clock;

namespace {

class DistResumeTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    write_problem([this](const std::string& n) { return path(n); }, 64);
  }
  std::string args(const std::string& out, int batch, int epochs,
                   const std::string& extra = "") const {
    return "fit --model " + path("m.safetensors") + " --x " + path("x.npy") + " --y " +
           path("y.npy") + " --loss mse --optimizer sgd --lr 0.02 --momentum 0.9 --epochs " +
           std::to_string(epochs) + " --batch-size " + std::to_string(batch) +
           " --seed 5 --quiet --out " + path(out) + " " + extra;
  }
};

// Starts `command` through /bin/sh in the background (output to `log`); returns its pid.
pid_t spawn(const std::string& command, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    execl("/bin/sh", "sh", "-c", (command + " >" + log + " 2>&1").c_str(), nullptr);
    _exit(127);
  }
  return pid;
}

// The pid of the process whose environment holds MARK=<mark> and OMPI_COMM_WORLD_RANK=<rank>.
pid_t find_rank(const std::string& mark, int rank) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "environ", std::ios::binary);
    const std::string env((std::istreambuf_iterator<char>(in)), {});
    if (env.find("RECUR_TEST_MARK=" + mark + '\0') != std::string::npos &&
        env.find("OMPI_COMM_WORLD_RANK=" + std::to_string(rank) + '\0') != std::string::npos)
      return static_cast<pid_t>(std::stoi(name));
  }
  return 0;
}

// Waits for `pid` up to `limit` seconds; returns its wait status, or -1 on timeout.
int wait_for(pid_t pid, double limit) {
  const auto t0 = Clock::now();
  while (std::chrono::duration<double>(Clock::now() - t0).count() < limit) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

// Waits until `file` exists (up to `limit` seconds).
bool wait_file(const std::string& file, double limit) {
  const auto t0 = Clock::now();
  while (std::chrono::duration<double>(Clock::now() - t0).count() < limit) {
    if (fs::exists(file)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

TEST_F(DistResumeTest, CheckpointResumesWithAnotherRankCount) {
  std::string log;
  // Reference: one process, 4 epochs of batch 16.
  ASSERT_EQ(recur_cli(args("ref.safetensors", 16, 4)).rc, 0);
  // Two ranks x 8 for 2 epochs, then one process x 16 for the last 2.
  const std::string ck = " --checkpoint " + path("ck2");
  ASSERT_EQ(sh(mpirun(2) + args("half.safetensors", 8, 2, ck), &log), 0) << log;
  CliRun r = recur_cli(args("one.safetensors", 16, 4, ck + " --resume"));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_LE(max_weight_diff(path("ref.safetensors"), path("one.safetensors")), 1e-5);
  // One process for 2 epochs, then two ranks for the last 2.
  const std::string ck1 = " --checkpoint " + path("ck1");
  ASSERT_EQ(recur_cli(args("half1.safetensors", 16, 2, ck1)).rc, 0);
  ASSERT_EQ(sh(mpirun(2) + args("two.safetensors", 8, 4, ck1 + " --resume"), &log), 0) << log;
  EXPECT_LE(max_weight_diff(path("ref.safetensors"), path("two.safetensors")), 1e-5);
}

// Stops fit() by throwing after batch `at` (the checkpoint of the batches before it is kept).
class StopAt : public recur::Callback {
 public:
  explicit StopAt(int64_t at) : at_(at) {}
  void on_batch_end(recur::FitState&, int64_t step, const recur::Logs&) override {
    if (step == at_) throw std::runtime_error("stopped by the test");
  }

 private:
  int64_t at_;
};

TEST_F(DistResumeTest, MidEpochCheckpointResumesWhenTheNewGlobalBatchDividesItsPosition) {
  // A one-process checkpoint after 1 batch of 24 rows (what `recur fit --batch-size 24
  // --save-freq 1 --checkpoint ck` leaves when it dies during batch 2).
  auto model = recur::load_model(path("m.safetensors"));
  recur::CompileOptions co = recur::compile_options("sgd", "mse");
  co.optimizer.learning_rate = 0.02;
  co.optimizer.momentum = 0.9;
  model->compile(co);
  recur::FitOptions fo;
  fo.epochs = 4;
  fo.batch_size = 24;
  fo.seed = 5;
  fo.verbose = 0;
  fo.callbacks = {recur::terminate_on_nan(), recur::backup_and_restore(path("ck"), 1, false),
                  std::make_shared<StopAt>(1)};
  EXPECT_THROW(model->fit(recur::testing::load_npy(path("x.npy")),
                          recur::testing::load_npy(path("y.npy")), fo),
               std::runtime_error);
  ASSERT_TRUE(fs::exists(path("ck/checkpoint.safetensors")));
  const std::string ck = " --checkpoint " + path("ck") + " --resume";
  // 2 ranks x 8 = 16 rows per step cannot continue at row 24: refused, naming both.
  std::string log;
  EXPECT_NE(sh(mpirun(2) + args("no.safetensors", 8, 4, ck), &log), 0);
  EXPECT_NE(log.find("mid-epoch checkpoint is at row 24 of epoch 1"), std::string::npos) << log;
  EXPECT_NE(log.find("does not divide"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(path("no.safetensors")));
  // 2 ranks x 6 = 12 divides 24: continues at step 2 of 12 rows, like one process resuming the
  // same checkpoint with batch 12.
  fs::copy(path("ck"), path("ck_b"));
  ASSERT_EQ(sh(mpirun(2) + args("yes.safetensors", 6, 4, ck), &log), 0) << log;
  ASSERT_EQ(recur_cli(args("one.safetensors", 12, 4, " --checkpoint " + path("ck_b") +
                                                          " --resume")).rc, 0);
  EXPECT_LE(max_weight_diff(path("one.safetensors"), path("yes.safetensors")), 1e-5);
}

TEST_F(DistResumeTest, KilledRankStopsTheJobAndItsCheckpointResumesExactly) {
  const int epochs = 80;
  const std::string ck = " --checkpoint " + path("ck") + " --save-freq 1";
  const std::string env = "RECUR_MPI_REDUCE=ordered";
  // Reference: the same 2-rank job, uninterrupted.
  std::string log;
  ASSERT_EQ(sh(mpirun(2, env) + args("ref.safetensors", 8, epochs), &log), 0) << log;

  const std::string mark = std::to_string(getpid()) + "k";
  const pid_t job = spawn(mpirun(2, env + " RECUR_TEST_MARK=" + mark) +
                              args("cut.safetensors", 8, epochs, ck),
                          path("log.txt"));
  ASSERT_TRUE(wait_file(path("ck/checkpoint.safetensors"), 60.0)) << read_file(path("log.txt"));
  pid_t victim = 0;
  for (int i = 0; i < 200 && !victim; ++i) {
    victim = find_rank(mark, 1);
    if (!victim) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_NE(victim, 0) << "rank 1 not found";
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  const auto t0 = Clock::now();
  const int status = wait_for(job, 30.0);
  const double took = std::chrono::duration<double>(Clock::now() - t0).count();
  if (status == -1) kill(-job, SIGKILL);
  ASSERT_NE(status, -1) << "the job did not stop within 30 s after rank 1 was killed";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << status;
  const std::string out = read_file(path("log.txt"));
  EXPECT_NE(out.find("signal 9"), std::string::npos) << out;
  EXPECT_LT(took, 30.0);
  EXPECT_FALSE(fs::exists(path("cut.safetensors"))) << "the cut run finished before the kill";

  // Resume from its last checkpoint (2 ranks again): exactly the uninterrupted result.
  ASSERT_EQ(sh(mpirun(2, env) + args("resumed.safetensors", 8, epochs, ck + " --resume"), &log),
            0)
      << log;
  EXPECT_EQ(read_file(path("ref.safetensors")), read_file(path("resumed.safetensors")));
}

TEST_F(DistResumeTest, RankThatStopsAnsweringEndsTheJobThroughTheTimeout) {
  const std::string mark = std::to_string(getpid()) + "s";
  const std::string ck = " --checkpoint " + path("ck");
  const pid_t job = spawn(mpirun(2, "RECUR_MPI_TIMEOUT=2 RECUR_TEST_MARK=" + mark) +
                              args("x.safetensors", 8, 100000, ck),
                          path("log.txt"));
  ASSERT_TRUE(wait_file(path("ck/checkpoint.safetensors"), 60.0)) << read_file(path("log.txt"));
  pid_t victim = find_rank(mark, 1);
  ASSERT_NE(victim, 0);
  ASSERT_EQ(kill(victim, SIGSTOP), 0);
  const int status = wait_for(job, 30.0);
  kill(victim, SIGKILL);  // whatever mpirun did to it
  if (status == -1) kill(-job, SIGKILL);
  ASSERT_NE(status, -1) << "the job did not stop within 30 s after rank 1 stopped answering";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << status;
  const std::string out = read_file(path("log.txt"));
  EXPECT_NE(out.find("recur: error: rank 0: no answer from the other ranks"), std::string::npos)
      << out;
}

}  // namespace
