// recur bench: throughput of one recurrent layer (+ Dense(1) head) at a given shape.
//
//   recur bench --cell lstm|gru|rnn --input I --units H --steps T --batch B
//               --mode train|infer|stream --threads N [--seconds S] [--json]
//
// Model: Sequential [Recurrent(H) (last step only), Dense(H -> 1)], Keras default options,
// random normal inputs and targets.
//   train   one optimizer step on one batch: forward + MSE + backward + Adam. --loop step
//           (default) runs the library's training step on a time-major batch [T, B, I]:
//           forward_batch -> Loss::forward/backward -> zero_grad -> backward_batch ->
//           Optimizer::step (what Model::fit does per batch, minus gathering rows and
//           metrics); --loop fit calls Model::fit(x, y, epochs=1, batch_size=B) on a
//           batch-first [B, T, I] array per iteration (adds fit's per-call checks).
//   infer   Model::predict on a batch-first [B, T, I] array (forward only).
//   stream  Sequential::step on [B, I] (B independent streams, usually 1); every step timed on
//           its own; the state is reset every T steps (outside the timed calls).
// Timing: warm-up iterations, then iterations until both --seconds and --min-iters are reached;
// the reported time is the median iteration (stream: median step).
//
// FLOP count (GEMMs of the recurrent layer only; the Dense head and the pointwise gate math are
// left out): forward per step 2·B·(I + H)·G·H with G = 1 (rnn), 4 (lstm), 3 (gru); backward
// = 2× forward (dh = dZ·Uᵀ and dU per step, dW and dx over all steps); so
//   train  = 3 · T · 2·B·(I + H)·G·H   per iteration
//   infer  =     T · 2·B·(I + H)·G·H   per iteration
//   stream =         2·B·(I + H)·G·H   per step.
// seq_per_s = B / median iteration time (stream: B / (T · median step time), i.e. sequences of
// T steps fed step by step); us_per_step = median iteration time / T (stream: median step).
// peak_rss_mb = getrusage(RUSAGE_SELF).ru_maxrss, the whole process.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/task_common.hpp"
#include "kernels/gemm.hpp"
#include "recur/recur.hpp"

namespace recur::cli {

namespace {

struct BenchArgs {
  std::string cell = "lstm", mode = "train", loop = "step";
  int64_t input = 128, units = 256, steps = 100, batch = 0;  // batch 0: 64 (stream: 1)
  int threads = 0;                                            // 0: RECUR_NUM_THREADS / all cores
  double seconds = 2.0;
  int warmup = -1;  // -1: 2 iterations (stream: 200 steps)
  int min_iters = 5;
  bool reset_after = true;
  uint64_t seed = 0;
  bool json = false;
};

using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  const std::size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  const double hi = v[mid];
  if (v.size() % 2 == 1) return hi;
  const double lo = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
  return 0.5 * (lo + hi);
}

double peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // Linux: kilobytes
}

Tensor random_tensor(Shape shape, uint64_t seed) {
  Tensor t(std::move(shape));
  Rng rng(seed, Rng::kSample);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(rng.normal());
  return t;
}

CellKind cell_kind(const std::string& name) {
  if (name == "lstm") return CellKind::lstm;
  if (name == "gru") return CellKind::gru;
  return CellKind::simple;
}

// Runs `body` warmup times, then until `seconds` and `min_iters` are both reached; returns the
// duration of every timed call.
template <typename F>
std::vector<double> time_calls(F&& body, int warmup, double seconds, int min_iters) {
  for (int i = 0; i < warmup; ++i) body();
  std::vector<double> times;
  times.reserve(1024);
  const auto start = Clock::now();
  while (static_cast<int>(times.size()) < min_iters || seconds_since(start) < seconds) {
    const auto t0 = Clock::now();
    body();
    times.push_back(seconds_since(t0));
  }
  return times;
}

int run_bench(const BenchArgs& a) {
  const bool stream = a.mode == "stream";
  const int64_t B = a.batch > 0 ? a.batch : (stream ? 1 : 64);
  const int64_t I = a.input, H = a.units, T = a.steps;
  if (a.threads > 0) kernels::set_num_threads(a.threads);
  const int threads = kernels::num_threads();
  const CellKind kind = cell_kind(a.cell);
  const int64_t G = kind == CellKind::lstm ? 4 : kind == CellKind::gru ? 3 : 1;

  Sequential model("bench");
  RecurrentOptions ro;
  ro.units = H;
  ro.reset_after = a.reset_after;
  model.add(std::make_unique<Recurrent>(kind, "rnn", ro));
  model.add(std::make_unique<Dense>("head", DenseOptions{.units = 1}));
  model.build({stream ? -1 : T, I}, a.seed);

  const double step_flop = 2.0 * static_cast<double>(B) * static_cast<double>(I + H) *
                           static_cast<double>(G * H);
  std::vector<double> times;
  double flop = 0.0;  // per timed call
  int warmup = a.warmup;
  if (a.mode == "train") {
    flop = 3.0 * static_cast<double>(T) * step_flop;
    if (warmup < 0) warmup = 2;
    if (a.loop == "fit") {
      model.compile(compile_options("adam", "mse"));
      Tensor x = random_tensor({B, T, I}, a.seed + 1);
      Tensor y = random_tensor({B, 1}, a.seed + 2);
      FitOptions fo;
      fo.epochs = 1;
      fo.batch_size = B;
      fo.shuffle = false;
      fo.verbose = 0;
      times = time_calls([&] { model.fit(x, y, fo); }, warmup, a.seconds, a.min_iters);
    } else {
      auto opt = Optimizer::make(OptimizerOptions{});  // adam, Keras defaults
      opt->attach(model.variables());
      Loss loss(LossOptions{.kind = LossKind::mse});
      Tensor x = random_tensor({T, B, I}, a.seed + 1);  // time-major
      Tensor y = random_tensor({B, 1}, a.seed + 2);
      Context ctx;
      ctx.training = true;
      Rng dropout_rng(a.seed, Rng::kDropout);
      ctx.rng = &dropout_rng;
      const std::vector<const Tensor*> xs{&x};
      std::vector<const Tensor*> dys{nullptr};
      times = time_calls(
          [&] {
            const std::vector<const Tensor*>& ys = model.forward_batch(ctx, xs);
            loss.forward(*ys[0], y);
            dys[0] = &loss.backward();
            model.zero_grad();
            model.backward_batch(ctx, dys);
            opt->step();
          },
          warmup, a.seconds, a.min_iters);
    }
  } else if (a.mode == "infer") {
    flop = static_cast<double>(T) * step_flop;
    if (warmup < 0) warmup = 2;
    Tensor x = random_tensor({B, T, I}, a.seed + 1);
    times = time_calls([&] { (void)model.predict(x, B); }, warmup, a.seconds, a.min_iters);
  } else {
    flop = step_flop;
    if (warmup < 0) warmup = 200;
    StreamState state = model.make_stream_state(B);
    Tensor x = random_tensor({B, I}, a.seed + 1);
    int64_t k = 0;
    auto body = [&] { (void)model.step(state, x); };
    for (int i = 0; i < warmup; ++i) body();
    model.reset(state);
    times.reserve(1 << 16);
    const auto start = Clock::now();
    while (static_cast<int64_t>(times.size()) < std::max<int64_t>(a.min_iters, 100) ||
           seconds_since(start) < a.seconds) {
      const auto t0 = Clock::now();
      body();
      times.push_back(seconds_since(t0));
      if (++k == T) {
        model.reset(state);
        k = 0;
      }
    }
  }

  const double med = median(times);
  const double min_t = *std::min_element(times.begin(), times.end());
  const double seq_per_s = stream ? static_cast<double>(B) / (static_cast<double>(T) * med)
                                  : static_cast<double>(B) / med;
  const double us_per_step = stream ? med * 1e6 : med * 1e6 / static_cast<double>(T);
  const double gflops = flop / med / 1e9;
  const double rss = peak_rss_mb();

  if (a.json) {
    nlohmann::json out = {
        {"cell", a.cell},
        {"mode", a.mode},
        {"input", I},
        {"units", H},
        {"steps", T},
        {"batch", B},
        {"threads", threads},
        {"seq_per_s", seq_per_s},
        {"us_per_step", us_per_step},
        {"gflops", gflops},
        {"peak_rss_mb", rss},
        // extras
        {"engine", "recur"},
        {"loop", a.mode == "train" ? a.loop : std::string("n/a")},
        {"iterations", times.size()},
        {"median_s", med},
        {"min_s", min_t},
        {"flop_per_iteration", flop},
    };
    std::cout << out.dump() << "\n";
    return 0;
  }
  const char* cell_name = kind == CellKind::lstm ? "LSTM" : kind == CellKind::gru ? "GRU"
                                                                                   : "SimpleRNN";
  std::printf("recur bench: %s %s  input=%lld units=%lld steps=%lld batch=%lld threads=%d%s\n",
              cell_name, a.mode.c_str(), static_cast<long long>(I), static_cast<long long>(H),
              static_cast<long long>(T), static_cast<long long>(B), threads,
              a.mode == "train" ? (a.loop == "fit" ? "  (Model::fit per batch)"
                                                   : "  (library training step, time-major)")
                                : "");
  if (stream) {
    std::printf("  %.2f us/step (median of %zu steps, min %.2f)  %.1f GFLOP/s  "
                "%.0f seq/s of %lld steps\n",
                us_per_step, times.size(), min_t * 1e6, gflops, seq_per_s,
                static_cast<long long>(T));
  } else {
    std::printf("  %.3f ms/iteration (median of %zu, min %.3f)  %.1f seq/s  %.2f us/step  "
                "%.1f GFLOP/s\n",
                med * 1e3, times.size(), min_t * 1e3, seq_per_s, us_per_step, gflops);
  }
  std::printf("  peak RSS %.1f MB\n", rss);
  return 0;
}

}  // namespace

void register_bench(CLI::App& app, std::function<int()>& run) {
  auto a = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "bench", "Measure training / inference / streaming speed of one recurrent layer");
  cmd->add_option("--cell", a->cell, "lstm | gru | rnn (default lstm)")
      ->check(CLI::IsMember({"lstm", "gru", "rnn"}));
  cmd->add_option("--mode", a->mode,
                  "train (forward + MSE + backward + Adam) | infer (predict) | stream "
                  "(single-step API) (default train)")
      ->check(CLI::IsMember({"train", "infer", "stream"}));
  cmd->add_option("--input", a->input, "input features I (default 128)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--units", a->units, "units H (default 256)")->check(CLI::PositiveNumber);
  cmd->add_option("--steps", a->steps, "time steps T (default 100)")->check(CLI::PositiveNumber);
  cmd->add_option("--batch", a->batch, "batch B (default 64; stream: 1)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--threads", a->threads,
                  "GEMM threads (default RECUR_NUM_THREADS, else all cores)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--seconds", a->seconds, "minimum measuring time in seconds (default 2)")
      ->check(CLI::Range(1e-6, 3600.0));
  cmd->add_option("--min-iters", a->min_iters, "minimum timed iterations (default 5)")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--warmup", a->warmup,
                  "untimed warm-up iterations (default 2; stream: 200 steps)")
      ->check(CLI::Range(0, 1000000));
  cmd->add_option("--loop", a->loop,
                  "train only: step (library training step on a time-major batch, default) | "
                  "fit (Model::fit per batch)")
      ->check(CLI::IsMember({"step", "fit"}));
  cmd->add_option("--reset-after", a->reset_after, "GRU reset_after (default true)");
  cmd->add_option("--seed", a->seed, "seed for weights and data (default 0)");
  cmd->add_flag("--json", a->json,
                "print one JSON object: cell, mode, input, units, steps, batch, threads, "
                "seq_per_s, us_per_step, gflops, peak_rss_mb (+ extras)");
  cmd->callback([&run, a] { run = [a] { return run_bench(*a); }; });
}

}  // namespace recur::cli
