// Google Benchmark: recurrent layers at fixed shapes — forward (inference), forward + backward
// (training without the optimizer) and the streaming single step. Run:
//   build/bench/bench_layers --benchmark_counters_tabular=true
// Items/s are sequences per second (streaming: steps per second).
#include <benchmark/benchmark.h>

#include "recur/recur.hpp"

namespace {

using namespace recur;

// Sample shape {T, I}; one recurrent layer + Dense(1) head on the last step.
Sequential make_model(CellKind cell, int64_t I, int64_t H, int64_t T) {
  Sequential m;
  m.add(std::make_unique<Recurrent>(cell, "rnn", RecurrentOptions{.units = H}));
  m.add(std::make_unique<Dense>("head", DenseOptions{.units = 1}));
  m.build({T, I}, 1);
  return m;
}

Tensor random_input(int64_t T, int64_t B, int64_t I) {
  Tensor x({T, B, I});
  Rng rng(3);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(rng.normal());
  return x;
}

// Args: cell, I, H, T, B
void BM_forward(benchmark::State& state) {
  const auto cell = static_cast<CellKind>(state.range(0));
  const int64_t I = state.range(1), H = state.range(2), T = state.range(3), B = state.range(4);
  Sequential m = make_model(cell, I, H, T);
  Tensor x = random_input(T, B, I);
  Context ctx;
  for (auto _ : state) benchmark::DoNotOptimize(m.forward(ctx, x).data());
  state.SetItemsProcessed(state.iterations() * B);
}

void BM_forward_backward(benchmark::State& state) {
  const auto cell = static_cast<CellKind>(state.range(0));
  const int64_t I = state.range(1), H = state.range(2), T = state.range(3), B = state.range(4);
  Sequential m = make_model(cell, I, H, T);
  Tensor x = random_input(T, B, I);
  Tensor dy({B, 1}, 1.0f);
  Context ctx{.training = true};
  for (auto _ : state) {
    m.forward(ctx, x);
    m.zero_grad();
    benchmark::DoNotOptimize(m.backward(ctx, dy).data());
  }
  state.SetItemsProcessed(state.iterations() * B);
}

void BM_stream_step(benchmark::State& state) {
  const auto cell = static_cast<CellKind>(state.range(0));
  const int64_t I = state.range(1), H = state.range(2);
  Sequential m = make_model(cell, I, H, -1);
  StreamState s = m.make_stream_state(1);
  Tensor x({1, I}, 0.1f);
  for (auto _ : state) benchmark::DoNotOptimize(m.step(s, x).data());
  state.SetItemsProcessed(state.iterations());
}

constexpr int64_t kSimple = static_cast<int64_t>(CellKind::simple);
constexpr int64_t kLstm = static_cast<int64_t>(CellKind::lstm);
constexpr int64_t kGru = static_cast<int64_t>(CellKind::gru);

// Configurations S = (32, 128, 50, 64) and M = (128, 256, 100, 64) of docs/PERFORMANCE.md.
void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"cell", "I", "H", "T", "B"});
  for (int64_t cell : {kSimple, kLstm, kGru}) {
    b->Args({cell, 32, 128, 50, 64});
    b->Args({cell, 128, 256, 100, 64});
  }
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

BENCHMARK(BM_forward)->Apply(shapes);
BENCHMARK(BM_forward_backward)->Apply(shapes);
BENCHMARK(BM_stream_step)
    ->ArgNames({"cell", "I", "H"})
    ->Args({kLstm, 32, 256})
    ->Args({kGru, 32, 256})
    ->Args({kSimple, 32, 256})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
