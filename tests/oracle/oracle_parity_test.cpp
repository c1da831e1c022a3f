// Parity with outside oracles (tests/oracle/README.md): for every fixture case written by
// torch_cases.py (PyTorch) and tfjs_cases.mjs (Keras semantics via TF.js), load the model file,
// compare the outputs, final states and every gradient; run `recur predict` end to end; and,
// for causal models, check that streaming step by step reproduces the whole-sequence outputs.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/safetensors.hpp"
#include "recur/recur.hpp"
#include "support/compare.hpp"

namespace fs = std::filesystem;
using recur::Tensor;
using recur::testing::load_npy;
using recur::testing::tensors_close;

namespace {

struct Case {
  fs::path dir;
  nlohmann::json meta;
};

std::vector<Case> find_cases(const std::string& oracle) {
  std::vector<Case> out;
  const fs::path root = fs::path(RECUR_BINARY_DIR) / "fixtures" / oracle;
  if (!fs::exists(root)) return out;
  for (const auto& e : fs::directory_iterator(root)) {
    const fs::path meta = e.path() / "case.json";
    if (!fs::exists(meta)) continue;
    std::ifstream in(meta);
    out.push_back({e.path(), nlohmann::json::parse(in)});
  }
  std::sort(out.begin(), out.end(), [](const Case& a, const Case& b) { return a.dir < b.dir; });
  return out;
}

std::map<std::string, Tensor> load_tensors(const fs::path& path) {
  std::map<std::string, Tensor> out;
  if (!fs::exists(path)) return out;
  auto file = recur::io::read_safetensors(path.string());
  for (auto& [name, raw] : file.tensors) out[name] = recur::io::to_float(raw, name);
  return out;
}

recur::Recurrent* single_recurrent(recur::Sequential& model) {
  recur::Recurrent* found = nullptr;
  for (std::size_t i = 0; i < model.size(); ++i)
    if (auto* r = dynamic_cast<recur::Recurrent*>(&model.layer(i))) found = r;
  return found;
}

Tensor to_time_major(const Tensor& x) { return recur::batch_to_time_major(x); }
Tensor to_batch_first(const Tensor& y) {
  return y.rank() == 3 ? recur::time_to_batch_major(y) : y;
}

bool streamable(recur::Sequential& model) {
  for (std::size_t i = 0; i < model.size(); ++i) {
    if (dynamic_cast<recur::Bidirectional*>(&model.layer(i))) return false;
    // Masked steps repeat the previous output within one call; a stream has no previous call's
    // output to repeat, so masked models are compared on whole sequences only.
    if (dynamic_cast<recur::Masking*>(&model.layer(i))) return false;
    if (auto* e = dynamic_cast<recur::Embedding*>(&model.layer(i)); e && e->options().mask_zero)
      return false;
    if (auto* r = dynamic_cast<recur::Recurrent*>(&model.layer(i)); r && r->options().go_backwards)
      return false;
  }
  return true;
}

void check_case(const Case& c) {
  SCOPED_TRACE(c.dir.filename().string() + ": " + c.meta.value("description", ""));
  const double atol = c.meta.value("atol", 1e-5);
  const double grad_atol = c.meta.value("grad_atol", 1e-4);
  const double grad_rtol = c.meta.value("grad_rtol", 1e-3);
  const std::string model_path = (c.dir / "model.safetensors").string();
  recur::Sequential model = recur::load_sequential(model_path);
  const Tensor x = load_npy((c.dir / "x.npy").string());
  auto expected = load_tensors(c.dir / "expected.safetensors");
  auto init = load_tensors(c.dir / "initial_state.safetensors");
  recur::Recurrent* rnn = single_recurrent(model);
  const bool with_init = c.meta.value("initial_state", false);
  if (with_init) {
    ASSERT_NE(rnn, nullptr);
    rnn->set_initial_states(&init.at("initial_state/0"),
                            rnn->state_count() == 2 ? &init.at("initial_state/1") : nullptr);
  }

  // Forward.
  recur::Context ctx;
  const Tensor x_tm = to_time_major(x);
  const Tensor y = to_batch_first(model.forward(ctx, x_tm));
  EXPECT_TRUE(tensors_close(y, expected.at("y"), atol)) << "output y";
  if (c.meta.value("final_states", false)) {
    ASSERT_NE(rnn, nullptr);
    for (int k = 0; k < rnn->state_count(); ++k)
      EXPECT_TRUE(tensors_close(rnn->final_states()[k],
                                expected.at("final_state/" + std::to_string(k)), atol))
          << "final state " << k;
  }

  // Backward: every gradient.
  if (c.meta.value("check_grads", false)) {
    const Tensor dy = load_npy((c.dir / "dy.npy").string());
    model.zero_grad();
    const Tensor dx = model.backward(ctx, dy.rank() == 3 ? to_time_major(dy) : dy);
    for (std::size_t li = 0; li < model.size(); ++li) {
      std::vector<recur::Param*> ps;
      model.layer(li).collect_params(ps);
      for (recur::Param* p : ps) {
        const std::string name = "grad/" + model.layer(li).name() + "/" + p->name;
        auto it = expected.find(name);
        ASSERT_NE(it, expected.end()) << "fixture lacks " << name;
        Tensor g(p->shape);
        std::copy(p->grad.data, p->grad.data + g.numel(), g.data());
        EXPECT_TRUE(tensors_close(g, it->second, grad_atol, grad_rtol)) << name;
      }
    }
    if (expected.count("grad/input")) {
      EXPECT_TRUE(tensors_close(to_batch_first(dx), expected.at("grad/input"), grad_atol,
                                grad_rtol))
          << "grad/input";
    }
    for (int k = 0; with_init && k < rnn->state_count(); ++k) {
      const std::string name = "grad/initial_state/" + std::to_string(k);
      if (expected.count(name)) {
        EXPECT_TRUE(tensors_close(rnn->initial_state_grads()[k], expected.at(name), grad_atol,
                                  grad_rtol))
            << name;
      }
    }
  }
  if (with_init) {
    rnn->clear_initial_states();
    return;  // the CLI and streaming paths start from zero states
  }

  // End to end through the command-line tool.
  const fs::path out = fs::temp_directory_path() /
                       ("recur_oracle_" + c.dir.filename().string() + ".npy");
  std::string log;
  const int rc = recur::testing::run_command(std::string(RECUR_CLI_PATH) + " predict --model " +
                                                 model_path + " --input " +
                                                 (c.dir / "x.npy").string() + " --output " +
                                                 out.string(),
                                             &log);
  ASSERT_EQ(rc, 0) << log;
  EXPECT_TRUE(tensors_close(load_npy(out.string()), expected.at("y"), atol)) << "recur predict";
  fs::remove(out);

  // Streaming: one step at a time reproduces the whole sequence.
  if (!streamable(model)) return;
  recur::StreamState state = model.make_stream_state(x.dim(0));
  const int64_t N = x.dim(0), T = x.dim(1), F = x.rank() == 3 ? x.dim(2) : 1;
  const Tensor& full = expected.at("y");
  const bool seq = full.rank() == 3;
  Tensor xt(x.rank() == 3 ? recur::Shape{N, F} : recur::Shape{N});
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t n = 0; n < N; ++n)
      for (int64_t f = 0; f < F; ++f) xt[n * F + f] = x[(n * T + t) * F + f];
    const Tensor& yt = model.step(state, xt);
    if (seq) {
      const int64_t U = full.dim(2);
      Tensor want({N, U});
      for (int64_t n = 0; n < N; ++n)
        for (int64_t u = 0; u < U; ++u) want[n * U + u] = full[(n * T + t) * U + u];
      ASSERT_TRUE(tensors_close(yt, want, atol)) << "streaming step " << t;
    } else if (t == T - 1) {
      EXPECT_TRUE(tensors_close(yt, full, atol)) << "streaming final step";
    }
  }
}

void run_oracle(const std::string& oracle) {
  auto cases = find_cases(oracle);
  ASSERT_FALSE(cases.empty()) << "no fixtures under " << RECUR_BINARY_DIR << "/fixtures/"
                              << oracle << " (run ctest, which generates them first)";
  for (const Case& c : cases) check_case(c);
}

}  // namespace

TEST(OracleParity, PyTorch) { run_oracle("torch"); }
TEST(OracleParity, KerasViaTfjs) { run_oracle("tfjs"); }
