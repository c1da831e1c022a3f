// Google Benchmark: recur's kernels on their own — the GEMM at recurrent-step shapes, the cells'
// fused pointwise steps, and the vectorized activations. Run:
//   build/bench/bench_kernels --benchmark_counters_tabular=true
// GEMM counters: GFLOP/s = 2·M·N·K / time. Pointwise: items/s are elements (B·H per cell call).
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <cstdint>
#include <vector>

#include "kernels/cells.hpp"
#include "kernels/gemm.hpp"
#include "kernels/vmath.hpp"
#include "recur/rng.hpp"

namespace {

using namespace recur;

std::vector<float> random_vec(int64_t n, float scale = 1.0f, uint64_t seed = 1) {
  std::vector<float> v(static_cast<std::size_t>(n));
  Rng rng(seed, Rng::kSample);
  for (float& x : v) x = scale * static_cast<float>(rng.normal());
  return v;
}

void set_gflops(benchmark::State& state, double flop) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(flop * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// ---- GEMM ---------------------------------------------------------------------------------
// Args: M, N, K, threads. The driver's calls: recurrent step h[M=B, K=H] · U[K, N=G·H] (N,N,
// U in the Keras layout [H, G·H]), dh = dZ[M=B, K=G·H] · Uᵀ (N,T), weight gradient
// hᵀ[M=H, K=T·B] · dZ (T,N).
void BM_gemm_step_nn(benchmark::State& state) {
  const int64_t M = state.range(0), N = state.range(1), K = state.range(2);
  kernels::set_num_threads(static_cast<int>(state.range(3)));
  auto a = random_vec(M * K), b = random_vec(K * N, 0.05f, 2), c = random_vec(M * N, 1.0f, 3);
  for (auto _ : state) {
    kernels::sgemm(false, false, M, N, K, 1.0f, a.data(), K, b.data(), N, 1.0f, c.data(), N);
    benchmark::DoNotOptimize(c.data());
  }
  set_gflops(state, 2.0 * static_cast<double>(M * N * K));
}

void BM_gemm_dh_nt(benchmark::State& state) {
  const int64_t M = state.range(0), N = state.range(1), K = state.range(2);
  kernels::set_num_threads(static_cast<int>(state.range(3)));
  auto a = random_vec(M * K), b = random_vec(N * K, 0.05f, 2), c = random_vec(M * N, 1.0f, 3);
  for (auto _ : state) {
    kernels::sgemm(false, true, M, N, K, 1.0f, a.data(), K, b.data(), K, 0.0f, c.data(), N);
    benchmark::DoNotOptimize(c.data());
  }
  set_gflops(state, 2.0 * static_cast<double>(M * N * K));
}

void BM_gemm_wgrad_tn(benchmark::State& state) {
  const int64_t M = state.range(0), N = state.range(1), K = state.range(2);
  kernels::set_num_threads(static_cast<int>(state.range(3)));
  auto a = random_vec(K * M), b = random_vec(K * N, 0.05f, 2), c = random_vec(M * N, 1.0f, 3);
  for (auto _ : state) {
    kernels::sgemm(true, false, M, N, K, 1.0f, a.data(), M, b.data(), N, 1.0f, c.data(), N);
    benchmark::DoNotOptimize(c.data());
  }
  set_gflops(state, 2.0 * static_cast<double>(M * N * K));
}

// Batch 1: the same product as BM_gemm_step_nn with M = 1, through cblas_sgemv (y = Uᵀ·h with
// U row-major [K, N]) — what the streaming step could call instead of sgemm.
void BM_gemv_step(benchmark::State& state) {
  const int64_t N = state.range(1), K = state.range(2);
  kernels::set_num_threads(static_cast<int>(state.range(3)));
  auto h = random_vec(K), u = random_vec(K * N, 0.05f, 2), y = random_vec(N, 1.0f, 3);
  for (auto _ : state) {
    cblas_sgemv(CblasRowMajor, CblasTrans, static_cast<blasint>(K), static_cast<blasint>(N),
                1.0f, u.data(), static_cast<blasint>(N), h.data(), 1, 1.0f, y.data(), 1);
    benchmark::DoNotOptimize(y.data());
  }
  set_gflops(state, 2.0 * static_cast<double>(N * K));
}

void gemm_step_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "N", "K", "threads"});
  for (int64_t t : {1, 2}) {
    b->Args({64, 1024, 256, t});   // LSTM H=256, B=64
    b->Args({32, 2048, 512, t});   // LSTM H=512, B=32
    b->Args({1, 1024, 256, t});    // LSTM H=256, batch 1 (streaming)
  }
  b->UseRealTime();
}
void gemm_dh_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "N", "K", "threads"});
  for (int64_t t : {1, 2}) b->Args({64, 256, 1024, t});
  b->UseRealTime();
}
void gemm_wgrad_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "N", "K", "threads"});
  for (int64_t t : {1, 2}) b->Args({256, 1024, 6400, t});  // H=256, G·H=1024, T·B=100·64
  b->UseRealTime();
}
void gemv_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "N", "K", "threads"});
  for (int64_t t : {1, 2}) b->Args({1, 1024, 256, t});
  b->UseRealTime();
}

BENCHMARK(BM_gemm_step_nn)->Apply(gemm_step_shapes);
BENCHMARK(BM_gemv_step)->Apply(gemv_shapes);
BENCHMARK(BM_gemm_dh_nt)->Apply(gemm_dh_shapes);
BENCHMARK(BM_gemm_wgrad_tn)->Apply(gemm_wgrad_shapes);

// ---- cells: fused pointwise step (Args: B, H) -----------------------------------------------
constexpr kernels::CellActivations kActs{Activation::tanh, Activation::sigmoid};

void BM_simple_forward(benchmark::State& state) {
  const int64_t B = state.range(0), H = state.range(1);
  auto z = random_vec(B * H), h = random_vec(B * H);
  for (auto _ : state) {
    kernels::simple_forward(kActs, B, H, z.data(), h.data());
    benchmark::DoNotOptimize(h.data());
  }
  state.SetItemsProcessed(state.iterations() * B * H);
}

void BM_simple_backward(benchmark::State& state) {
  const int64_t B = state.range(0), H = state.range(1);
  auto g = random_vec(B * H, 0.5f), dh = random_vec(B * H, 1.0f, 2), dz = random_vec(B * H);
  for (auto _ : state) {
    kernels::simple_backward(kActs, B, H, g.data(), dh.data(), dz.data());
    benchmark::DoNotOptimize(dz.data());
  }
  state.SetItemsProcessed(state.iterations() * B * H);
}

// The forward calls activate `gates` in place; repeated calls keep them bounded (fixed points of
// sigmoid / tanh), so no pristine copy is needed per iteration.
void BM_lstm_forward(benchmark::State& state) {
  const int64_t B = state.range(0), H = state.range(1);
  auto gates = random_vec(B * 4 * H), c_prev = random_vec(B * H, 1.0f, 2);
  auto c = random_vec(B * H), tc = random_vec(B * H), h = random_vec(B * H);
  for (auto _ : state) {
    kernels::lstm_forward(kActs, B, H, gates.data(), c_prev.data(), c.data(), tc.data(),
                          h.data());
    benchmark::DoNotOptimize(h.data());
  }
  state.SetItemsProcessed(state.iterations() * B * H);
}

void BM_lstm_backward(benchmark::State& state) {
  const int64_t B = state.range(0), H = state.range(1);
  auto gates = random_vec(B * 4 * H, 0.3f), c_prev = random_vec(B * H, 1.0f, 2);
  auto tc = random_vec(B * H, 0.5f, 3), dh = random_vec(B * H, 1.0f, 4);
  auto dc = random_vec(B * H, 1.0f, 5), dz = random_vec(B * 4 * H), dc_prev = random_vec(B * H);
  for (auto _ : state) {
    kernels::lstm_backward(kActs, B, H, gates.data(), c_prev.data(), tc.data(), dh.data(),
                           dc.data(), dz.data(), dc_prev.data());
    benchmark::DoNotOptimize(dz.data());
  }
  state.SetItemsProcessed(state.iterations() * B * H);
}

void BM_gru_forward(benchmark::State& state) {  // reset_after = true
  const int64_t B = state.range(0), H = state.range(1);
  auto gates = random_vec(B * 3 * H), rec = random_vec(B * 3 * H, 1.0f, 2);
  auto h_prev = random_vec(B * H, 0.5f, 3), qh = random_vec(B * H), h = random_vec(B * H);
  for (auto _ : state) {
    kernels::gru_after_forward(kActs, B, H, gates.data(), rec.data(), h_prev.data(), qh.data(),
                               h.data());
    benchmark::DoNotOptimize(h.data());
  }
  state.SetItemsProcessed(state.iterations() * B * H);
}

void BM_gru_backward(benchmark::State& state) {  // reset_after = true
  const int64_t B = state.range(0), H = state.range(1);
  auto gates = random_vec(B * 3 * H, 0.3f), qh = random_vec(B * H, 1.0f, 2);
  auto h_prev = random_vec(B * H, 0.5f, 3), dh = random_vec(B * H, 1.0f, 4);
  auto dp = random_vec(B * 3 * H), dq = random_vec(B * 3 * H), dh_prev = random_vec(B * H);
  for (auto _ : state) {
    kernels::gru_after_backward(kActs, B, H, gates.data(), qh.data(), h_prev.data(), dh.data(),
                                dp.data(), dq.data(), dh_prev.data());
    benchmark::DoNotOptimize(dp.data());
  }
  state.SetItemsProcessed(state.iterations() * B * H);
}

void cell_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"B", "H"});
  b->Args({64, 256});
  b->Args({32, 512});
  b->Args({1, 256});
}

BENCHMARK(BM_simple_forward)->Apply(cell_shapes);
BENCHMARK(BM_simple_backward)->Apply(cell_shapes);
BENCHMARK(BM_lstm_forward)->Apply(cell_shapes);
BENCHMARK(BM_lstm_backward)->Apply(cell_shapes);
BENCHMARK(BM_gru_forward)->Apply(cell_shapes);
BENCHMARK(BM_gru_backward)->Apply(cell_shapes);

// ---- activations (Args: activation, n; ref = 1 for the scalar reference) -------------------
void BM_activation_forward(benchmark::State& state) {
  const auto act = static_cast<Activation>(state.range(0));
  const int64_t n = state.range(1);
  const bool ref = state.range(2) != 0;
  auto x = random_vec(n, 2.0f), y = random_vec(n);
  for (auto _ : state) {
    if (ref) kernels::activation_forward_ref(act, x.data(), y.data(), n);
    else kernels::activation_forward(act, x.data(), y.data(), n);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetLabel(ref ? "scalar reference" : (kernels::vmath_uses_avx2() ? "avx2" : "scalar"));
}

void BM_activation_backward(benchmark::State& state) {
  const auto act = static_cast<Activation>(state.range(0));
  const int64_t n = state.range(1);
  const bool ref = state.range(2) != 0;
  auto y = random_vec(n, 0.5f), dy = random_vec(n, 1.0f, 2), dx = random_vec(n);
  for (auto _ : state) {
    if (ref) kernels::activation_backward_ref(act, y.data(), dy.data(), dx.data(), n);
    else kernels::activation_backward(act, y.data(), dy.data(), dx.data(), n);
    benchmark::DoNotOptimize(dx.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetLabel(ref ? "scalar reference" : (kernels::vmath_uses_avx2() ? "avx2" : "scalar"));
}

void activation_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"act", "n", "ref"});
  for (Activation a : {Activation::tanh, Activation::sigmoid, Activation::relu,
                       Activation::hard_sigmoid})
    for (int64_t ref : {0, 1}) b->Args({static_cast<int64_t>(a), 64 * 1024, ref});
}

BENCHMARK(BM_activation_forward)->Apply(activation_args);
BENCHMARK(BM_activation_backward)->Apply(activation_args);

}  // namespace

BENCHMARK_MAIN();
