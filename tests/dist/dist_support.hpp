// Shared by the tests/dist tests: running `mpirun -np N recur ...` on loopback as root, and the
// small regression problem they train (a GRU(8) + Dense(2) on [N, 10, 3] inputs).
#pragma once

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "io/npy.hpp"
#include "recur/recur.hpp"
#include "support/cli_run.hpp"
#include "support/compare.hpp"
#include "support/files.hpp"

namespace recur::testing {

// The environment mpirun needs here: running as root, more ranks than cores, shared memory only.
inline std::string mpi_env() {
  return "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
         "OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl=self,vader "
         "OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_hwloc_base_binding_policy=none ";
}

// "mpirun -np N <recur> " with the environment above (`env`: more VAR=value words).
inline std::string mpirun(int ranks, const std::string& env = "") {
  return mpi_env() + env + " mpirun --oversubscribe -np " + std::to_string(ranks) + " " +
         recur_cli_path() + " ";
}

// Runs a shell command; output (stdout + stderr) in `out`.
inline int sh(const std::string& command, std::string* out = nullptr) {
  return run_command(command, out);
}

// Largest |a - b| over every tensor of two model files (FAIL when the names or shapes differ).
inline double max_weight_diff(const std::string& a, const std::string& b) {
  auto ma = load_model(a);
  auto mb = load_model(b);
  const auto va = ma->variables(), vb = mb->variables();
  EXPECT_EQ(va.size(), vb.size());
  double d = 0.0;
  for (std::size_t i = 0; i < va.size() && i < vb.size(); ++i) {
    EXPECT_EQ(va[i].name, vb[i].name);
    EXPECT_EQ(va[i].value.numel(), vb[i].value.numel());
    for (int64_t k = 0; k < va[i].value.numel() && k < vb[i].value.numel(); ++k)
      d = std::max(d, std::fabs(double(va[i].value.data[k]) - double(vb[i].value.data[k])));
  }
  return d;
}

// Writes m.safetensors (untrained GRU(8) + Dense(2)), x.npy [n, 10, 3], y.npy [n, 2] into the
// test directory through `path`.
template <typename PathFn>
void write_problem(PathFn path, int64_t n, float dropout = 0.0f) {
  Sequential m("reg");
  m.add(make_gru("gru", {.units = 8, .dropout = dropout}));
  m.add(std::make_unique<Dense>("dense", DenseOptions{.units = 2}));
  m.build({-1, 3}, 7);
  save_model(path("m.safetensors"), m);
  const int64_t T = 10;
  Tensor x({n, T, 3}), y({n, 2});
  std::mt19937 g(3);
  std::normal_distribution<float> nd;
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = nd(g);
  for (int64_t r = 0; r < n; ++r) {
    const float* last = x.data() + (r * T + T - 1) * 3;
    y[2 * r] = (last[0] + last[1] + last[2]) / 3.0f;
    y[2 * r + 1] = last[0] * last[1];
  }
  io::write_npy(path("x.npy"), x);
  io::write_npy(path("y.npy"), y);
}

}  // namespace recur::testing
