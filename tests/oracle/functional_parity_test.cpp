// Functional-model parity with PyTorch: for every case written by functional_cases.py (seq2seq
// with the decoder started from the encoder's final states, masked and not; LSTM + GRU branches
// concatenated into a Dense; two inputs added), the model file written by Python loads with
// recur::load_model, and forward_batch / backward_batch reproduce the output, every weight
// gradient and every input gradient of nn.LSTM / nn.GRU / nn.Linear (float64 reference).
//
// The fixtures are generated here, on first use, by running
//   /usr/bin/python3 tests/oracle/functional_cases.py <build>/fixtures/functional
// (functional_cases.py documents the format). Without a Python that can import torch the test is
// skipped, unless CI=true is set, where that is a failure.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/safetensors.hpp"
#include "recur/recur.hpp"
#include "support/compare.hpp"

namespace fs = std::filesystem;
using recur::Tensor;
using recur::testing::load_npy;
using recur::testing::tensors_close;

namespace {

const fs::path kFixtures = fs::path(RECUR_BINARY_DIR) / "fixtures" / "functional";

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

// Runs the generator once per process: "" when the fixtures are ready, "skip: ..." when PyTorch
// is unavailable (outside CI), else an error message.
const std::string& generate_fixtures() {
  static const std::string status = [] {
    std::string log;
    if (recur::testing::run_command("/usr/bin/python3 -c 'import torch, numpy'", &log) != 0) {
      const std::string why =
          "/usr/bin/python3 cannot import torch and numpy (install Debian's "
          "python3-torch): " +
          log;
      return in_ci() ? why : "skip: " + why;
    }
    const std::string cmd = std::string("/usr/bin/python3 ") + RECUR_SOURCE_DIR +
                            "/tests/oracle/functional_cases.py " + kFixtures.string();
    if (recur::testing::run_command(cmd, &log) != 0) return "generator failed: " + cmd + "\n" + log;
    return std::string();
  }();
  return status;
}

std::map<std::string, Tensor> load_tensors(const fs::path& path) {
  std::map<std::string, Tensor> out;
  auto file = recur::io::read_safetensors(path.string());
  for (auto& [name, raw] : file.tensors) out[name] = recur::io::to_float(raw, name);
  return out;
}

// Time-major [T, B, U] -> batch-first [B, T, U]; [B, U] unchanged.
Tensor batch_first(const Tensor& t) { return t.rank() == 3 ? recur::time_to_batch_major(t) : t; }

}  // namespace

TEST(FunctionalParity, PyTorch) {
  const std::string& status = generate_fixtures();
  if (status.rfind("skip: ", 0) == 0) GTEST_SKIP() << status.substr(6);
  ASSERT_EQ(status, "");

  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(kFixtures))
    if (fs::exists(e.path() / "case.json")) cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());
  ASSERT_GE(cases.size(), 6u) << "too few cases under " << kFixtures;

  for (const fs::path& dir : cases) {
    nlohmann::json info;
    std::ifstream(dir / "case.json") >> info;
    const std::string name = info.at("name");
    std::string trace = name;
    trace += ": ";
    trace += info.value("description", std::string());
    SCOPED_TRACE(trace);
    const double atol = info.at("atol"), gatol = info.at("grad_atol"), grtol = info.at("grad_rtol");

    std::unique_ptr<recur::Model> model = recur::load_model((dir / "model.safetensors").string());
    auto* g = dynamic_cast<recur::Functional*>(model.get());
    ASSERT_NE(g, nullptr) << "not loaded as a Functional model";
    const std::size_t n_inputs = info.at("inputs");
    ASSERT_EQ(g->num_inputs(), n_inputs);
    std::vector<Tensor> xs;
    std::vector<const Tensor*> ptrs;
    for (std::size_t i = 0; i < n_inputs; ++i) {
      std::string file = "x";
      file += std::to_string(i);
      file += ".npy";
      xs.push_back(recur::batch_to_time_major(load_npy((dir / file).string())));
    }
    for (const Tensor& x : xs) ptrs.push_back(&x);
    const std::map<std::string, Tensor> expected = load_tensors(dir / "expected.safetensors");

    recur::Context ctx;
    g->zero_grad();
    const Tensor y = batch_first(*g->forward_batch(ctx, ptrs)[0]);
    EXPECT_TRUE(tensors_close(y, expected.at("y"), atol)) << "output";
    const Tensor dy_bf = load_npy((dir / "dy.npy").string());
    const Tensor dy = dy_bf.rank() == 3 ? recur::batch_to_time_major(dy_bf) : dy_bf;
    g->backward_batch(ctx, {&dy});

    std::size_t compared = 0;
    for (const recur::Variable& v : g->variables()) {
      auto it = expected.find("grad/" + v.name);
      ASSERT_NE(it, expected.end()) << "no reference gradient for " << v.name;
      Tensor got(v.grad.shape);
      std::copy(v.grad.data, v.grad.data + v.grad.numel(), got.data());
      EXPECT_TRUE(tensors_close(got, it->second, gatol, grtol)) << "gradient " << v.name;
      ++compared;
    }
    for (std::size_t i = 0; i < n_inputs; ++i) {
      const Tensor* dx = g->input_grad(i);
      ASSERT_NE(dx, nullptr) << "no gradient reached input " << i;
      std::string key = "grad/input/";
      key += std::to_string(i);
      EXPECT_TRUE(tensors_close(batch_first(*dx), expected.at(key), gatol, grtol))
          << "gradient of input " << i;
      ++compared;
    }
    EXPECT_EQ(compared + 1, expected.size()) << "reference tensors left unchecked";
  }
}
