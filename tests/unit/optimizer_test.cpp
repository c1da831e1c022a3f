// Optimizers and learning-rate schedules (recur/train/optimizer.hpp, schedule.hpp):
//   (a) every optimizer × clipping option against torch.optim: final values and every state slot
//       after 5 steps on two variables ([3, 4] and [5]). The fixtures come from
//       tests/oracle/optimizer_cases.py, run here when they are missing or older than the script;
//       the test is skipped without python3-torch, except under CI=true where that is a failure;
//   (b) schedules against their closed forms and PyTorch StepLR;
//   (c) JSON round trips, option validation messages, state() names, scalar state, and no
//       allocation inside step().
#include "recur/train/optimizer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <new>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "recur/error.hpp"
#include "recur/train/schedule.hpp"
#include "support/compare.hpp"

// Counts operator new calls while g_count_allocations is set (house habit: zero allocations in a
// training step).
namespace {
std::atomic<bool> g_count_allocations{false};
std::atomic<int64_t> g_allocations{0};
}  // namespace

// noinline keeps GCC from pairing the inlined malloc/free with new/delete call sites
// (-Wmismatched-new-delete).
[[gnu::noinline]] void* operator new(std::size_t n) {
  if (g_count_allocations.load(std::memory_order_relaxed)) ++g_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using recur::ConfigError;
using recur::Optimizer;
using recur::OptimizerOptions;
using recur::ScheduleOptions;
using recur::Tensor;
using recur::Variable;
using recur::testing::load_npy;
using recur::testing::run_command;
using recur::testing::tensors_close;

constexpr double kAtol = 1e-6, kRtol = 1e-5;
constexpr std::size_t kExpectedCases = 49;  // tests/oracle/optimizer_cases.py: 9 × 4 + 5 + 4 + 4

// Runs `f` and checks that it throws E with `part` in its message.
template <typename E>
void expect_throw_with(const std::function<void()>& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one containing \"" << part << "\"";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << part;
  }
}

json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  return json::parse(in);
}

// Two variables with Keras-like names; gradients start at zero.
struct TwoVariables {
  Tensor kernel{{3, 4}}, kernel_grad{{3, 4}}, bias{{5}}, bias_grad{{5}};
  std::vector<Variable> variables() {
    return {{"lstm/kernel", kernel.view(), kernel_grad.view()},
            {"lstm/bias", bias.view(), bias_grad.view()}};
  }
  void set_grads(float g) {
    kernel_grad.fill(g);
    bias_grad.fill(g);
  }
};

// ------------------------------------------------------------------------------------------------
// (a) PyTorch parity

const fs::path kScript = fs::path(RECUR_SOURCE_DIR) / "tests/oracle/optimizer_cases.py";
const fs::path kFixtures = fs::path(RECUR_BINARY_DIR) / "fixtures/optimizer";

bool fixtures_fresh() {
  std::error_code ec;
  const fs::path index = kFixtures / "index.json";
  if (!fs::exists(index, ec)) return false;
  const auto made = fs::last_write_time(index, ec);
  if (ec) return false;
  for (const fs::path& source :
       {kScript, fs::path(RECUR_SOURCE_DIR) / "tests/oracle/fixture_writer.py"}) {
    const auto changed = fs::last_write_time(source, ec);
    if (ec || changed > made) return false;
  }
  return true;
}

TEST(OptimizerTorch, MatchesTorchOptim) {
  if (!fixtures_fresh()) {
    std::string out;
    if (run_command("/usr/bin/python3 -c 'import torch, numpy'", &out) != 0) {
      const char* ci = std::getenv("CI");
      if (ci && std::string(ci) == "true")
        FAIL() << "CI=true but /usr/bin/python3 with torch is unavailable:\n" << out;
      GTEST_SKIP() << "/usr/bin/python3 with torch is unavailable:\n" << out;
    }
    const int rc = run_command(
        "/usr/bin/python3 '" + kScript.string() + "' '" + kFixtures.string() + "'", &out);
    ASSERT_EQ(rc, 0) << "optimizer_cases.py failed:\n" << out;
  }
  const json index = read_json(kFixtures / "index.json");
  ASSERT_EQ(index.at("cases").size(), kExpectedCases);

  for (const json& name_json : index.at("cases")) {
    const std::string name = name_json.get<std::string>();
    SCOPED_TRACE("case " + name);
    const fs::path dir = kFixtures / name;
    const json info = read_json(dir / "case.json");
    const auto opt = Optimizer::make(recur::optimizer_from_json(info.at("optimizer")));
    const int64_t steps = info.at("steps").get<int64_t>();

    std::vector<Tensor> values, grads, grad_steps;
    for (int k = 0; k < 2; ++k) {
      values.push_back(load_npy((dir / ("init_" + std::to_string(k) + ".npy")).string()));
      grad_steps.push_back(load_npy((dir / ("grads_" + std::to_string(k) + ".npy")).string()));
      grads.emplace_back(values.back().shape());
    }
    opt->attach(
        {{"v0", values[0].view(), grads[0].view()}, {"v1", values[1].view(), grads[1].view()}});
    for (int64_t s = 0; s < steps; ++s) {
      for (int k = 0; k < 2; ++k) {
        const int64_t n = grads[k].numel();
        std::copy_n(grad_steps[k].data() + s * n, n, grads[k].data());
      }
      opt->step();
    }
    EXPECT_EQ(opt->iterations(), steps);
    for (int k = 0; k < 2; ++k) {
      const Tensor expected = load_npy((dir / ("final_" + std::to_string(k) + ".npy")).string());
      EXPECT_TRUE(tensors_close(values[k], expected, kAtol, kRtol)) << "variable " << k;
    }

    // Every state slot matches torch's, and torch has no slot recur lacks.
    std::size_t slot_files = 0;
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.path().filename().string().rfind("slot_", 0) == 0) ++slot_files;
    const auto state = opt->state();
    EXPECT_EQ(state.size(), slot_files);
    for (const auto& [slot_name, view] : state) {
      const std::size_t slash = slot_name.find('/');
      const std::string file =
          "slot_" + slot_name.substr(1, slash - 1) + "_" + slot_name.substr(slash + 1) + ".npy";
      SCOPED_TRACE(slot_name);
      ASSERT_TRUE(fs::exists(dir / file)) << file;
      Tensor actual(view.shape);
      std::copy_n(view.data, view.numel(), actual.data());
      EXPECT_TRUE(tensors_close(actual, load_npy((dir / file).string()), kAtol, kRtol));
    }
  }
}

// ------------------------------------------------------------------------------------------------
// (b) Schedules

TEST(Schedule, ExponentialClosedForm) {
  ScheduleOptions s;
  s.kind = "exponential";
  s.decay_steps = 10;
  s.decay_rate = 0.5;
  EXPECT_DOUBLE_EQ(recur::scheduled_learning_rate(s, 0.1, 0), 0.1);
  EXPECT_DOUBLE_EQ(recur::scheduled_learning_rate(s, 0.1, 5), 0.1 * std::sqrt(0.5));
  EXPECT_DOUBLE_EQ(recur::scheduled_learning_rate(s, 0.1, 15), 0.1 * std::pow(0.5, 1.5));
  EXPECT_DOUBLE_EQ(recur::scheduled_learning_rate(s, 0.1, 20), 0.025);
  s.staircase = true;
  EXPECT_DOUBLE_EQ(recur::scheduled_learning_rate(s, 0.1, 9), 0.1);
  EXPECT_DOUBLE_EQ(recur::scheduled_learning_rate(s, 0.1, 10), 0.05);
  EXPECT_DOUBLE_EQ(recur::scheduled_learning_rate(s, 0.1, 15), 0.05);
  EXPECT_DOUBLE_EQ(recur::scheduled_learning_rate(s, 0.1, 29), 0.025);
}

TEST(Schedule, CosineClosedForm) {
  ScheduleOptions s;
  s.kind = "cosine";
  s.decay_steps = 10;
  s.alpha = 0.2;
  EXPECT_DOUBLE_EQ(recur::scheduled_learning_rate(s, 2.0, 0), 2.0);
  EXPECT_DOUBLE_EQ(recur::scheduled_learning_rate(s, 2.0, 5), 2.0 * (0.8 * 0.5 + 0.2));
  EXPECT_DOUBLE_EQ(recur::scheduled_learning_rate(s, 2.0, 10), 0.4);
  EXPECT_DOUBLE_EQ(recur::scheduled_learning_rate(s, 2.0, 1000), 0.4);  // held at the floor
  const double pi = std::acos(-1.0);
  EXPECT_DOUBLE_EQ(recur::scheduled_learning_rate(s, 2.0, 2),
                   2.0 * (0.8 * 0.5 * (1.0 + std::cos(pi * 0.2)) + 0.2));
}

TEST(Schedule, StepMatchesTorchStepLR) {
  // torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.1) with lr 1, after n scheduler
  // steps: 1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001
  ScheduleOptions s;
  s.kind = "step";
  s.step_size = 3;
  s.gamma = 0.1;
  const double torch_lr[] = {1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001};
  for (int n = 0; n < 10; ++n)
    EXPECT_NEAR(recur::scheduled_learning_rate(s, 1.0, n), torch_lr[n], 1e-15) << "step " << n;
}

TEST(Schedule, ValidationNamesTheOption) {
  auto check = [](std::function<void(ScheduleOptions&)> edit, const std::string& part) {
    ScheduleOptions s;
    edit(s);
    expect_throw_with<ConfigError>([&] { recur::validate_schedule(s); }, part);
  };
  check([](auto& s) { s.decay_steps = 0; }, "decay_steps must be > 0, got 0");
  check([](auto& s) { s.decay_rate = -0.5; }, "decay_rate must be > 0, got -0.5");
  check([](auto& s) { s.kind = "cosine", s.decay_steps = -3; }, "decay_steps must be > 0, got -3");
  check([](auto& s) { s.kind = "cosine", s.alpha = 1.5; }, "alpha must be in [0, 1], got 1.5");
  check([](auto& s) { s.kind = "step", s.step_size = 0; }, "step_size must be > 0, got 0");
  check([](auto& s) { s.kind = "step", s.gamma = 0; }, "gamma must be > 0, got 0");
  check([](auto& s) { s.kind = "linear"; }, "unknown learning-rate schedule 'linear'");
  OptimizerOptions o;
  o.schedule = ScheduleOptions{};
  o.schedule->decay_steps = 0;
  expect_throw_with<ConfigError>([&] { Optimizer::make(o); }, "decay_steps");
}

TEST(Schedule, JsonRoundTripAndErrors) {
  ScheduleOptions e;
  e.decay_steps = 7, e.decay_rate = 0.3, e.staircase = true;
  ScheduleOptions c;
  c.kind = "cosine", c.decay_steps = 9, c.alpha = 0.25;
  ScheduleOptions st;
  st.kind = "step", st.step_size = 4, st.gamma = 0.7;
  for (const ScheduleOptions& s : {e, c, st}) {
    const json j = recur::schedule_to_json(s);
    const ScheduleOptions back = recur::schedule_from_json(j);
    EXPECT_EQ(recur::schedule_to_json(back), j);
    EXPECT_EQ(back.kind, s.kind);
    for (int64_t n : {0, 3, 11})
      EXPECT_EQ(recur::scheduled_learning_rate(back, 0.1, n),
                recur::scheduled_learning_rate(s, 0.1, n));
  }
  // Keras 3's serialization of a CosineDecay, float step count included.
  const json keras = json::parse(R"({"module": "keras.optimizers.schedules",
      "class_name": "CosineDecay", "registered_name": null,
      "config": {"initial_learning_rate": 0.1, "decay_steps": 1000.0, "alpha": 0.0,
                 "name": "CosineDecay", "warmup_target": null, "warmup_steps": 0}})");
  EXPECT_EQ(recur::schedule_from_json(keras).decay_steps, 1000);
  expect_throw_with<ConfigError>(
      [] {
        recur::schedule_from_json({{"class_name", "PolynomialDecay"}});
      },
      "unknown learning-rate schedule 'PolynomialDecay'");
  expect_throw_with<ConfigError>(
      [] {
        recur::schedule_from_json({{"class_name", "StepDecay"}, {"config", {{"decay_rate", 0.5}}}});
      },
      "unknown key 'decay_rate'");
  expect_throw_with<ConfigError>(
      [] {
        recur::schedule_from_json(
            {{"class_name", "ExponentialDecay"}, {"config", {{"decay_steps", 2.5}}}});
      },
      "'decay_steps' must be an integer");
  expect_throw_with<ConfigError>(
      [] {
        recur::schedule_from_json(
            {{"class_name", "CosineDecay"}, {"config", {{"warmup_steps", 10}}}});
      },
      "warmup_steps");
}

TEST(Schedule, DrivesTheOptimizer) {
  OptimizerOptions o;
  o.name = "sgd";
  o.learning_rate = 0.5;
  o.schedule = ScheduleOptions{"step", 1000, 0.96, false, 0.0, 2, 0.5};
  auto opt = Optimizer::make(o);
  Tensor w({1}, 0.0f), g({1}, 1.0f);
  opt->attach({{"w", w.view(), g.view()}});
  // Updates use 0.5, 0.5, 0.25, 0.25: w = -(0.5 + 0.5 + 0.25 + 0.25).
  for (int i = 0; i < 4; ++i) {
    EXPECT_DOUBLE_EQ(opt->current_learning_rate(), i < 2 ? 0.5 : 0.25);
    g.fill(1.0f);
    opt->step();
  }
  EXPECT_FLOAT_EQ(w[0], -1.5f);
  EXPECT_DOUBLE_EQ(opt->current_learning_rate(), 0.125);
  EXPECT_DOUBLE_EQ(opt->learning_rate(), 0.5);
  opt->set_learning_rate(0.1);  // the base rate; the schedule still applies on top
  EXPECT_DOUBLE_EQ(opt->learning_rate(), 0.1);
  EXPECT_DOUBLE_EQ(opt->current_learning_rate(), 0.025);
}

// ------------------------------------------------------------------------------------------------
// (c) JSON, validation, state

std::vector<OptimizerOptions> option_table() {
  std::vector<OptimizerOptions> out;
  OptimizerOptions o;
  for (const char* name : {"sgd", "adam", "adamw", "rmsprop", "adagrad"}) {
    o = {};
    o.name = name;
    out.push_back(o);  // Keras defaults
  }
  o = {};
  o.name = "sgd", o.learning_rate = 0.2, o.momentum = 0.8, o.nesterov = true, o.weight_decay = 0.01;
  o.clipnorm = 1.0;
  out.push_back(o);
  o = {};
  o.name = "adam", o.beta_1 = 0.5, o.beta_2 = 0.75, o.epsilon = 1e-5, o.amsgrad = true;
  o.clipvalue = 0.25, o.global_clipnorm = 3.0;
  o.schedule = ScheduleOptions{"cosine", 50, 0.96, false, 0.1, 1000, 0.1};
  out.push_back(o);
  o = {};
  o.name = "adamw", o.learning_rate = 0.003, o.weight_decay = 0.1;
  o.schedule = ScheduleOptions{"exponential", 20, 0.9, true, 0.0, 1000, 0.1};
  out.push_back(o);
  o = {};
  o.name = "rmsprop", o.rho = 0.7, o.momentum = 0.3, o.centered = true, o.epsilon = 0.0;
  o.schedule = ScheduleOptions{"step", 1000, 0.96, false, 0.0, 5, 0.5};
  out.push_back(o);
  o = {};
  o.name = "adagrad", o.initial_accumulator_value = 0.0, o.learning_rate = 0.0;
  out.push_back(o);
  return out;
}

TEST(OptimizerJson, RoundTrip) {
  for (const OptimizerOptions& o : option_table()) {
    SCOPED_TRACE(o.name);
    const json j = recur::optimizer_to_json(o);
    const OptimizerOptions back = recur::optimizer_from_json(j);
    EXPECT_EQ(recur::optimizer_to_json(back), j) << j.dump();
    EXPECT_EQ(back.name, o.name);
    EXPECT_EQ(back.momentum, o.momentum);
    EXPECT_EQ(back.nesterov, o.nesterov);
    EXPECT_EQ(back.beta_1, o.beta_1);
    EXPECT_EQ(back.beta_2, o.beta_2);
    EXPECT_EQ(back.amsgrad, o.amsgrad);
    EXPECT_EQ(back.rho, o.rho);
    EXPECT_EQ(back.centered, o.centered);
    EXPECT_EQ(back.initial_accumulator_value, o.initial_accumulator_value);
    EXPECT_EQ(back.clipnorm, o.clipnorm);
    EXPECT_EQ(back.clipvalue, o.clipvalue);
    EXPECT_EQ(back.global_clipnorm, o.global_clipnorm);
    EXPECT_EQ(back.schedule.has_value(), o.schedule.has_value());
    EXPECT_EQ(Optimizer::make(back)->learning_rate(), Optimizer::make(o)->learning_rate());
  }
}

TEST(OptimizerJson, NamesAndKerasDefaults) {
  for (const char* name : {"adam", "Adam", "ADAM"})
    EXPECT_EQ(recur::optimizer_from_json(name).name, "adam");
  EXPECT_EQ(recur::optimizer_from_json("SGD").name, "sgd");
  EXPECT_EQ(recur::optimizer_from_json("RMSprop").name, "rmsprop");
  EXPECT_EQ(recur::optimizer_from_json("adamw").name, "adamw");
  EXPECT_EQ(recur::optimizer_from_json("adagrad").name, "adagrad");

  const json sgd = recur::optimizer_to_json(recur::optimizer_from_json("sgd"));
  EXPECT_EQ(sgd["class_name"], "SGD");
  EXPECT_EQ(sgd["config"]["learning_rate"], 0.01);
  EXPECT_FALSE(sgd["config"].contains("epsilon"));
  const json adam = recur::optimizer_to_json(recur::optimizer_from_json("Adam"));
  EXPECT_EQ(adam["class_name"], "Adam");
  EXPECT_EQ(adam["config"]["learning_rate"], 0.001);
  EXPECT_EQ(adam["config"]["epsilon"], 1e-7);
  EXPECT_TRUE(adam["config"]["weight_decay"].is_null());
  const json adamw = recur::optimizer_to_json(recur::optimizer_from_json("adamw"));
  EXPECT_EQ(adamw["class_name"], "AdamW");
  EXPECT_EQ(adamw["config"]["weight_decay"], 0.004);
  const json adagrad = recur::optimizer_to_json(recur::optimizer_from_json("adagrad"));
  EXPECT_EQ(adagrad["config"]["initial_accumulator_value"], 0.1);
  const json rmsprop = recur::optimizer_to_json(recur::optimizer_from_json("rmsprop"));
  EXPECT_EQ(rmsprop["class_name"], "RMSprop");
  EXPECT_EQ(rmsprop["config"]["rho"], 0.9);

  const auto opt = Optimizer::make(recur::optimizer_from_json("sgd"));
  EXPECT_EQ(opt->learning_rate(), 0.01);
}

TEST(OptimizerJson, AcceptsKerasConfigs) {
  // Keras 3 model.optimizer.get_config() / serialize(), and tf.keras 2.11+.
  const json keras3 = json::parse(R"({"module": "keras.optimizers", "class_name": "Adam",
      "registered_name": null, "config": {"name": "adam", "learning_rate": 0.002,
      "weight_decay": null, "clipnorm": null, "global_clipnorm": null, "clipvalue": null,
      "use_ema": false, "ema_momentum": 0.99, "ema_overwrite_frequency": null,
      "loss_scale_factor": null, "gradient_accumulation_steps": null, "beta_1": 0.9,
      "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": false}})");
  OptimizerOptions o = recur::optimizer_from_json(keras3);
  EXPECT_EQ(o.name, "adam");
  EXPECT_EQ(o.learning_rate, 0.002);
  EXPECT_FALSE(o.weight_decay.has_value());
  const json tf2 = json::parse(R"({"class_name": "SGD", "config": {"name": "SGD",
      "weight_decay": null, "clipnorm": 2.0, "global_clipnorm": null, "clipvalue": null,
      "use_ema": false, "ema_momentum": 0.99, "ema_overwrite_frequency": null,
      "jit_compile": true, "is_legacy_optimizer": false, "learning_rate": 0.05,
      "momentum": 0.9, "nesterov": true, "decay": 0.0}})");
  o = recur::optimizer_from_json(tf2);
  EXPECT_EQ(o.name, "sgd");
  EXPECT_EQ(o.momentum, 0.9);
  EXPECT_TRUE(o.nesterov);
  EXPECT_EQ(o.clipnorm, 2.0);
  const json scheduled = json::parse(R"({"class_name": "RMSprop", "config": {"learning_rate":
      {"class_name": "ExponentialDecay", "config": {"initial_learning_rate": 0.05,
       "decay_steps": 100, "decay_rate": 0.9, "staircase": false, "name": null}}}})");
  o = recur::optimizer_from_json(scheduled);
  EXPECT_EQ(o.learning_rate, 0.05);
  ASSERT_TRUE(o.schedule.has_value());
  EXPECT_EQ(o.schedule->kind, "exponential");
  EXPECT_EQ(o.schedule->decay_steps, 100);
}

TEST(OptimizerJson, RejectsWithTheKeyNamed) {
  auto parse = [](const char* text) {
    return [text] { recur::optimizer_from_json(json::parse(text)); };
  };
  expect_throw_with<ConfigError>(parse(R"("nadam")"), "unknown optimizer 'nadam'");
  expect_throw_with<ConfigError>(parse(R"({"class_name": "Ftrl"})"), "unknown optimizer 'Ftrl'");
  expect_throw_with<ConfigError>(parse(R"({"class_name": "Adam", "config": {"foo": 1}})"),
                                 "optimizer 'Adam': unknown key 'foo'");
  expect_throw_with<ConfigError>(parse(R"({"class_name": "Adam", "config": {"rho": 0.9}})"),
                                 "unknown key 'rho'");
  expect_throw_with<ConfigError>(parse(R"({"class_name": "SGD", "config": {"epsilon": 1e-7}})"),
                                 "unknown key 'epsilon'");
  expect_throw_with<ConfigError>(parse(R"({"class_name": "Adam", "extra": 1})"),
                                 "unknown key 'extra'");
  expect_throw_with<ConfigError>(parse(R"({"class_name": "Adam", "config": {"beta_1": "x"}})"),
                                 "'beta_1' must be a number");
  expect_throw_with<ConfigError>(parse(R"({"class_name": "SGD", "config": {"nesterov": 1}})"),
                                 "'nesterov' must be true or false");
  expect_throw_with<ConfigError>(parse(R"({"class_name": "SGD", "config": {"decay": 0.01}})"),
                                 "'decay'");
  expect_throw_with<ConfigError>(parse(R"({"class_name": "SGD", "config": {"use_ema": true}})"),
                                 "'use_ema'");
  expect_throw_with<ConfigError>(
      parse(R"({"class_name": "SGD", "config": {"gradient_accumulation_steps": 4}})"),
      "'gradient_accumulation_steps'");
  expect_throw_with<ConfigError>(parse(R"({"class_name": "Adam", "config": {"beta_2": 1.0}})"),
                                 "beta_2 must be in [0, 1), got 1");
  expect_throw_with<ConfigError>(parse(R"(42)"), "optimizer: expected a name");
}

TEST(OptimizerOptionsCheck, ErrorsNameTheOptionAndValue) {
  auto check = [](std::function<void(OptimizerOptions&)> edit, const std::string& part) {
    OptimizerOptions o;
    edit(o);
    expect_throw_with<ConfigError>([&] { Optimizer::make(o); }, part);
  };
  check([](auto& o) { o.learning_rate = -1.0; },
        "learning_rate must be a finite number >= 0, got -1");
  check([](auto& o) { o.epsilon = -0.001; }, "epsilon must be a finite number >= 0, got -0.001");
  check([](auto& o) { o.name = "sgd", o.momentum = -0.5; },
        "momentum must be a finite number >= 0, got -0.5");
  check([](auto& o) { o.beta_1 = 1.0; }, "beta_1 must be in [0, 1), got 1");
  check([](auto& o) { o.beta_2 = -0.1; }, "beta_2 must be in [0, 1), got -0.1");
  check([](auto& o) { o.name = "sgd", o.nesterov = true; }, "nesterov requires momentum > 0");
  check([](auto& o) { o.clipnorm = 0.0; }, "clipnorm must be > 0, got 0");
  check([](auto& o) { o.clipvalue = -1.0; }, "clipvalue must be > 0, got -1");
  check([](auto& o) { o.global_clipnorm = 0.0; }, "global_clipnorm must be > 0, got 0");
  check([](auto& o) { o.name = "rmsprop", o.rho = 1.0; }, "rho must be in [0, 1), got 1");
  check([](auto& o) { o.weight_decay = -0.1; },
        "weight_decay must be a finite number >= 0, got -0.1");
  check([](auto& o) { o.name = "adagrad", o.initial_accumulator_value = -1; },
        "initial_accumulator_value must be a finite number >= 0, got -1");
  check([](auto& o) { o.name = "nadam"; }, "unknown optimizer 'nadam'");
  check([](auto& o) { o.momentum = 0.9; }, "momentum is not an option of adam (got 0.9)");
  check([](auto& o) { o.name = "sgd", o.epsilon = 1e-7; }, "epsilon is not an option of sgd");
  check([](auto& o) { o.name = "adagrad", o.centered = true; },
        "centered is not an option of adagrad (got true)");

  OptimizerOptions o;
  o.name = "Adam";  // names are case-insensitive
  auto opt = Optimizer::make(o);
  EXPECT_EQ(opt->options().name, "adam");
  expect_throw_with<ConfigError>([&] { opt->set_learning_rate(-0.5); },
                                 "learning_rate must be a finite number >= 0, got -0.5");
  opt->set_learning_rate(0.25);
  EXPECT_EQ(opt->learning_rate(), 0.25);
  EXPECT_EQ(opt->current_learning_rate(), 0.25);
}

TEST(OptimizerState, NamesShapesAndInitialValues) {
  TwoVariables tv;
  auto names_of = [&](OptimizerOptions o) {
    auto opt = Optimizer::make(o);
    opt->attach(tv.variables());
    std::vector<std::string> names;
    for (const auto& [name, view] : opt->state()) {
      names.push_back(name);
      EXPECT_EQ(view.shape,
                name.rfind("lstm/kernel", 0) == 0 ? recur::Shape({3, 4}) : recur::Shape({5}));
      const float init = name.ends_with("/sum") ? 0.1f : 0.0f;
      for (float x : view.span()) EXPECT_EQ(x, init) << name;
    }
    return names;
  };
  using V = std::vector<std::string>;
  OptimizerOptions o;
  o.name = "sgd";
  EXPECT_EQ(names_of(o), V{});
  o.momentum = 0.9;
  EXPECT_EQ(names_of(o), (V{"lstm/kernel/momentum", "lstm/bias/momentum"}));
  o = {};
  o.amsgrad = true;
  EXPECT_EQ(names_of(o), (V{"lstm/kernel/m", "lstm/kernel/v", "lstm/kernel/v_max", "lstm/bias/m",
                            "lstm/bias/v", "lstm/bias/v_max"}));
  o = {};
  o.name = "adamw";
  EXPECT_EQ(names_of(o), (V{"lstm/kernel/m", "lstm/kernel/v", "lstm/bias/m", "lstm/bias/v"}));
  o = {};
  o.name = "rmsprop", o.centered = true, o.momentum = 0.5;
  EXPECT_EQ(names_of(o),
            (V{"lstm/kernel/square_avg", "lstm/kernel/grad_avg", "lstm/kernel/momentum",
               "lstm/bias/square_avg", "lstm/bias/grad_avg", "lstm/bias/momentum"}));
  o = {};
  o.name = "adagrad";
  EXPECT_EQ(names_of(o), (V{"lstm/kernel/sum", "lstm/bias/sum"}));
}

TEST(OptimizerState, AttachChecksVariables) {
  Tensor a({3, 4}), ga({4, 3}), b({2});
  auto opt = Optimizer::make({});
  expect_throw_with<recur::ShapeError>(
      [&] {
        opt->attach({{"dense/kernel", a.view(), ga.view()}});
      },
      "variable 'dense/kernel' has value [3, 4] but gradient [4, 3]");
  expect_throw_with<recur::InvalidArgument>(
      [&] {
        opt->attach({{"x", b.view(), b.view()}, {"x", b.view(), b.view()}});
      },
      "variable name 'x' is used twice");
}

// Checkpoint resume: 3 steps, copy slots + scalar state into a fresh optimizer, 2 more steps;
// the result equals 5 uninterrupted steps (Adam's bias correction depends on iterations).
TEST(OptimizerState, ScalarStateRoundTripResumes) {
  OptimizerOptions o;
  o.name = "adam", o.learning_rate = 0.01, o.amsgrad = true;
  o.schedule = ScheduleOptions{"exponential", 2, 0.5, false, 0.0, 1000, 0.1};
  const float grads[5] = {0.5f, -1.0f, 2.0f, 0.25f, -0.75f};

  TwoVariables straight;
  auto a = Optimizer::make(o);
  a->attach(straight.variables());
  for (float g : grads) {
    straight.set_grads(g);
    a->step();
  }

  TwoVariables resumed;
  auto b = Optimizer::make(o);
  b->attach(resumed.variables());
  for (int i = 0; i < 3; ++i) {
    resumed.set_grads(grads[i]);
    b->step();
  }
  const json scalars = b->scalar_state();
  EXPECT_EQ(scalars, json::parse(R"({"iterations": 3, "learning_rate": 0.01})"));
  auto c = Optimizer::make(o);
  c->attach(resumed.variables());
  c->set_scalar_state(scalars);
  EXPECT_EQ(c->iterations(), 3);
  EXPECT_EQ(c->learning_rate(), 0.01);
  EXPECT_EQ(c->current_learning_rate(), b->current_learning_rate());
  auto from = b->state();
  auto to = c->state();
  ASSERT_EQ(from.size(), to.size());
  for (std::size_t i = 0; i < from.size(); ++i) {
    ASSERT_EQ(from[i].first, to[i].first);
    std::copy_n(from[i].second.data, from[i].second.numel(), to[i].second.data);
  }
  for (int i = 3; i < 5; ++i) {
    resumed.set_grads(grads[i]);
    c->step();
  }
  EXPECT_TRUE(tensors_close(resumed.kernel, straight.kernel, 0.0));
  EXPECT_TRUE(tensors_close(resumed.bias, straight.bias, 0.0));

  expect_throw_with<recur::FormatError>(
      [&] {
        c->set_scalar_state({{"iterations", 1}});
      },
      "expected {\"iterations\"");
  expect_throw_with<recur::FormatError>(
      [&] {
        c->set_scalar_state({{"iterations", -1}, {"learning_rate", 0.1}});
      },
      "'iterations' must be an integer >= 0, got -1");
  expect_throw_with<recur::FormatError>(
      [&] {
        c->set_scalar_state({{"iterations", 1}, {"learning_rate", "x"}});
      },
      "'learning_rate' must be a finite number >= 0");
  expect_throw_with<recur::FormatError>(
      [&] {
        c->set_scalar_state({{"iterations", 1}, {"learning_rate", 0.1}, {"lr", 1}});
      },
      "unknown key 'lr'");
}

TEST(OptimizerStep, ClippingIsInPlaceAndInOrder) {
  // clipvalue 1 first: g = [3, 4] → [1, 1]; then clipnorm 1: ‖[1, 1]‖ = √2 → [1/√2, 1/√2].
  OptimizerOptions o;
  o.name = "sgd", o.learning_rate = 1.0, o.clipvalue = 1.0, o.clipnorm = 1.0;
  auto opt = Optimizer::make(o);
  Tensor w({2}, 0.0f), g({2}, {3.0f, 4.0f});
  opt->attach({{"w", w.view(), g.view()}});
  opt->step();
  const float r = static_cast<float>(1.0 / std::sqrt(2.0));
  EXPECT_NEAR(g[0], r, 1e-7);
  EXPECT_NEAR(g[1], r, 1e-7);
  EXPECT_NEAR(w[0], -r, 1e-7);
  // global_clipnorm over both variables: ‖(3, 4, 12)‖ = 13 → scale 6.5/(13 + 1e-6).
  OptimizerOptions og;
  og.name = "sgd", og.learning_rate = 1.0, og.global_clipnorm = 6.5;
  auto opt2 = Optimizer::make(og);
  Tensor x({2}, 0.0f), gx({2}, {3.0f, 4.0f}), y({1}, 0.0f), gy({1}, {12.0f});
  opt2->attach({{"x", x.view(), gx.view()}, {"y", y.view(), gy.view()}});
  opt2->step();
  const double scale = 6.5 / (13.0 + 1e-6);
  EXPECT_FLOAT_EQ(gy[0], static_cast<float>(12.0 * scale));
  EXPECT_FLOAT_EQ(y[0], -static_cast<float>(12.0 * scale));
}

TEST(OptimizerStep, DoesNotAllocate) {
  for (const OptimizerOptions& o : option_table()) {
    SCOPED_TRACE(o.name);
    TwoVariables tv;
    auto opt = Optimizer::make(o);
    opt->attach(tv.variables());
    tv.set_grads(0.5f);
    opt->step();
    tv.set_grads(-0.25f);
    g_allocations = 0;
    g_count_allocations = true;
    opt->step();
    (void)opt->current_learning_rate();
    g_count_allocations = false;
    EXPECT_EQ(g_allocations.load(), 0);
  }
}

}  // namespace
