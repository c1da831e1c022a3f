// Training parity with PyTorch: for every case written by train_cases.py (the same initial
// weights, data, consecutive batches, loss, optimizer and clipping), Model::fit must end at the
// same weights and report the same per-epoch training loss.
//
// The fixtures are generated here, on first use, by running
//   /usr/bin/python3 tests/oracle/train_cases.py <build>/fixtures/train
// (train_cases.py documents the format). Without a Python that can import torch the test is
// skipped, unless CI=true is set, where that is a failure.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/safetensors.hpp"
#include "recur/recur.hpp"
#include "support/compare.hpp"

namespace fs = std::filesystem;
using recur::Tensor;
using recur::testing::load_npy;

namespace {

const fs::path kFixtures = fs::path(RECUR_BINARY_DIR) / "fixtures" / "train";

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

// Runs the generator once per process. Returns "" when the fixtures are ready, "skip: ..." when
// PyTorch is unavailable (outside CI), or an error message.
const std::string& generate_fixtures() {
  static const std::string status = [] {
    std::string log;
    if (recur::testing::run_command("/usr/bin/python3 -c 'import torch, numpy'", &log) != 0) {
      const std::string why = "/usr/bin/python3 cannot import torch and numpy (install Debian's "
                              "python3-torch): " + log;
      return in_ci() ? why : "skip: " + why;
    }
    const std::string cmd = std::string("/usr/bin/python3 ") + RECUR_SOURCE_DIR +
                            "/tests/oracle/train_cases.py " + kFixtures.string();
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

recur::LossOptions loss_from_json(const nlohmann::json& j) {
  recur::LossOptions o = recur::parse_loss(j.at("name").get<std::string>());
  o.from_logits = j.value("from_logits", false);
  o.delta = j.value("delta", 1.0f);
  return o;
}

// max over elements of |a - e| / (atol + rtol |e|) (<= 1 passes), and where it is reached.
struct Ratio {
  double ratio = 0.0;
  int64_t index = -1;
  double actual = 0.0, expected = 0.0;
};

Ratio worst_ratio(const float* a, const float* e, int64_t n, double atol, double rtol) {
  Ratio r;
  for (int64_t i = 0; i < n; ++i) {
    const double d = std::abs(static_cast<double>(a[i]) - e[i]);
    const double q = std::isfinite(d) ? d / (atol + rtol * std::abs(static_cast<double>(e[i])))
                                      : INFINITY;
    if (q > r.ratio || r.index < 0) r = {q, i, a[i], e[i]};
  }
  return r;
}

// Trains one case; returns its worst tolerance ratio (for the summary line).
double check_case(const fs::path& dir) {
  std::ifstream in(dir / "train.json");
  const nlohmann::json meta = nlohmann::json::parse(in);
  SCOPED_TRACE(dir.filename().string() + ": " + meta.value("description", ""));
  const double rtol = meta.at("rtol").get<double>();
  const double atol = meta.at("atol").get<double>();

  std::unique_ptr<recur::Model> model = recur::load_model((dir / "model.safetensors").string());
  recur::CompileOptions co;
  co.optimizer = recur::optimizer_from_json(meta.at("optimizer"));
  co.losses = {loss_from_json(meta.at("loss"))};
  model->compile(co);

  recur::FitOptions fo;
  fo.epochs = meta.at("epochs").get<int>();
  fo.batch_size = meta.at("batch_size").get<int64_t>();
  fo.shuffle = false;
  fo.verbose = 0;
  const Tensor x = load_npy((dir / "x.npy").string());
  const Tensor y = load_npy((dir / "y.npy").string());
  const recur::History h = model->fit(x, y, fo);
  const auto expected = load_tensors(dir / "expected.safetensors");

  double worst = 0.0;
  std::string worst_name;
  std::size_t compared = 0;
  for (const recur::Variable& v : model->variables()) {
    auto it = expected.find(v.name);
    if (it == expected.end()) {
      ADD_FAILURE() << "the fixture has no expected value for variable " << v.name;
      continue;
    }
    ++compared;
    const Tensor& e = it->second;
    if (v.value.shape != e.shape()) {
      ADD_FAILURE() << v.name << ": shape " << recur::shape_str(v.value.shape) << ", expected "
                    << recur::shape_str(e.shape());
      continue;
    }
    const Ratio r = worst_ratio(v.value.data, e.data(), e.numel(), atol, rtol);
    EXPECT_LE(r.ratio, 1.0) << "variable " << v.name << " element " << r.index << ": got "
                            << r.actual << ", PyTorch " << r.expected << " (|diff| "
                            << std::abs(r.actual - r.expected) << " > " << atol << " + " << rtol
                            << "·|expected|)";
    if (r.ratio > worst) {
      worst = r.ratio;
      worst_name = v.name;
    }
  }
  std::size_t weights_expected = 0;
  for (const auto& [name, t] : expected)
    if (name.rfind("history/", 0) != 0) ++weights_expected;
  EXPECT_EQ(compared, weights_expected) << "the model and the fixture have different variables";

  // The per-epoch training loss (mean of the batch losses weighted by rows).
  const Tensor& want = expected.at("history/loss");
  auto it = h.history.find("loss");
  EXPECT_FALSE(h.stopped_on_nan);
  if (it == h.history.end()) {
    ADD_FAILURE() << "History has no 'loss'";
  } else if (static_cast<int64_t>(it->second.size()) != want.numel()) {
    ADD_FAILURE() << "History has " << it->second.size() << " epochs of 'loss', expected "
                  << want.numel();
  } else {
    for (int64_t e = 0; e < want.numel(); ++e) {
      const double got = it->second[static_cast<std::size_t>(e)];
      const double q = std::abs(got - want[e]) / (atol + rtol * std::abs(want[e]));
      EXPECT_LE(q, 1.0) << "epoch " << e << " loss " << got << ", PyTorch " << want[e];
      if (q > worst) {
        worst = q;
        worst_name = "history/loss";
      }
    }
  }
  std::printf("  %-52s worst %.3f of the tolerance (%s)\n", dir.filename().string().c_str(),
              worst, worst_name.c_str());
  return worst;
}

}  // namespace

TEST(TrainParity, PyTorch) {
  const std::string& status = generate_fixtures();
  if (status.rfind("skip: ", 0) == 0) GTEST_SKIP() << status.substr(6);
  ASSERT_EQ(status, "");

  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(kFixtures))
    if (fs::exists(e.path() / "train.json")) cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());
  ASSERT_GE(cases.size(), 30u) << "too few training cases under " << kFixtures;
  double worst = 0.0;
  for (const fs::path& dir : cases) worst = std::max(worst, check_case(dir));
  std::printf("%zu training cases, worst %.3f of the tolerance\n", cases.size(), worst);
}
