// The library's SPMD use (recur/dist.hpp): every rank calls dist::init() and Model::fit with the
// same arguments. This test runs itself under `mpirun -np 2` (the DistSpmdChild test, skipped
// unless RECUR_DIST_CHILD_OUT is set) and checks what the ranks wrote: both replicas end with
// the same weights, equal to one process with the global batch; callbacks ran on rank 0 only;
// ranks given different options all refuse with the same error.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "dist/dist_support.hpp"
#include "recur/dist.hpp"
#include "recur/train/callbacks.hpp"

namespace fs = std::filesystem;
using namespace recur::testing;

namespace {

class CountBatches : public recur::Callback {
 public:
  void on_batch_end(recur::FitState&, int64_t, const recur::Logs&) override { ++count; }
  int count = 0;
};

// The problem both sides train: the data of dist_support's write_problem, in memory.
struct Problem {
  std::unique_ptr<recur::Model> model;
  recur::Tensor x, y;
};

Problem make_problem(const std::string& dir) {
  write_problem([&](const std::string& n) { return dir + "/" + n; }, 40);
  Problem p;
  p.model = recur::load_model(dir + "/m.safetensors");
  recur::CompileOptions co = recur::compile_options("adam", "mse", {"mae"});
  co.optimizer.learning_rate = 0.01;
  p.model->compile(co);
  p.x = load_npy(dir + "/x.npy");
  p.y = load_npy(dir + "/y.npy");
  return p;
}

recur::FitOptions options(int64_t batch) {
  recur::FitOptions fo;
  fo.epochs = 2;
  fo.batch_size = batch;
  fo.seed = 5;
  fo.verbose = 0;
  fo.validation_split = 0.2;
  return fo;
}

TEST(DistSpmdChild, Run) {
  const char* out = std::getenv("RECUR_DIST_CHILD_OUT");
  if (!out) GTEST_SKIP() << "runs under mpirun only (DistSpmd launches it)";
  ASSERT_EQ(recur::dist::init(), 2);
  const int rank = recur::dist::rank();
  const std::string dir = std::string(out) + "/rank" + std::to_string(rank);
  fs::create_directories(dir);
  Problem p = make_problem(dir);
  auto counter = std::make_shared<CountBatches>();
  recur::FitOptions fo = options(8);
  fo.callbacks = {counter};
  const recur::History h = p.model->fit(p.x, p.y, fo);
  recur::save_model(dir + "/trained.safetensors", *p.model);
  std::ofstream(dir + "/batches.txt") << counter->count << " " << h.history.at("val_mae").back();
  // Different seeds on the ranks: every rank refuses with the same message.
  recur::FitOptions bad = options(8);
  bad.seed = 5 + static_cast<uint64_t>(rank);
  std::string error;
  try {
    p.model->fit(p.x, p.y, bad);
  } catch (const recur::ConfigError& e) {
    error = e.what();
  }
  std::ofstream(dir + "/error.txt") << error;
}

TEST(DistSpmd, TwoRanksTrainLikeOneProcessWithTheGlobalBatch) {
  const fs::path dir = fs::temp_directory_path() / ("recur_dist_spmd_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string log;
  ASSERT_EQ(sh(mpi_env() + "RECUR_MPI_REDUCE=ordered RECUR_DIST_CHILD_OUT=" + dir.string() +
                   " mpirun --oversubscribe -np 2 " + fs::read_symlink("/proc/self/exe").string() +
                   " --gtest_filter=DistSpmdChild.Run",
               &log),
            0)
      << log;
  const std::string r0 = (dir / "rank0").string(), r1 = (dir / "rank1").string();
  EXPECT_EQ(read_file(r0 + "/trained.safetensors"), read_file(r1 + "/trained.safetensors"));
  // 32 training rows in global batches of 16: 2 steps x 2 epochs, counted on rank 0 only.
  std::ifstream b0(r0 + "/batches.txt"), b1(r1 + "/batches.txt");
  int n0 = -1, n1 = -1;
  double mae0 = 0, mae1 = 0;
  b0 >> n0 >> mae0;
  b1 >> n1 >> mae1;
  EXPECT_EQ(n0, 4);
  EXPECT_EQ(n1, 0);
  EXPECT_EQ(mae0, mae1);
  for (const std::string& r : {r0, r1})
    EXPECT_NE(read_file(r + "/error.txt").find("rank 1 was given other seed than rank 0"),
              std::string::npos)
        << read_file(r + "/error.txt");

  // One process, batch 16.
  Problem p = make_problem(dir.string());
  const recur::History h = p.model->fit(p.x, p.y, options(16));
  recur::save_model((dir / "one.safetensors").string(), *p.model);
  EXPECT_LE(max_weight_diff((dir / "one.safetensors").string(), r0 + "/trained.safetensors"), 1e-5);
  EXPECT_NEAR(h.history.at("val_mae").back(), mae0, 1e-5);
  fs::remove_all(dir);
}

}  // namespace
