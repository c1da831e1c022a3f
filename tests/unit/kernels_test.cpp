// Fast kernels against their slow twins (house rule 5/7c):
//   (a) sgemm (OpenBLAS) vs sgemm_ref: every transpose pair, odd sizes, padded leading
//       dimensions, alpha/beta, k = 0;
//   (b) activation_forward/backward (AVX2 + SLEEF) vs the scalar _ref twins, every elementwise
//       activation, every tail length; softmax_rows(_backward) vs a double-precision reference;
//   (c) each cell's fused pointwise forward/backward (src/kernels/cells.hpp) vs a scalar
//       double-precision reference written here from the equations in cells.hpp.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/cells.hpp"
#include "kernels/gemm.hpp"
#include "kernels/parallel.hpp"
#include "kernels/vmath.hpp"
#include "recur/rng.hpp"

namespace {

using recur::Activation;
using recur::Rng;
namespace k = recur::kernels;

std::vector<float> normal(Rng& rng, std::size_t n, double scale = 1.0) {
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(scale * rng.normal());
  return v;
}

// Distance in units in the last place between two finite floats of any sign.
int64_t ulp_distance(float a, float b) {
  auto key = [](float f) {
    int32_t i;
    std::memcpy(&i, &f, sizeof i);
    return i < 0 ? static_cast<int64_t>(std::numeric_limits<int32_t>::min()) - i
                 : static_cast<int64_t>(i);
  };
  return std::llabs(key(a) - key(b));
}

// ---- (a) GEMM -----------------------------------------------------------------------------------

struct GemmShape {
  int64_t m, n, k;
};

TEST(Sgemm, MatchesReferenceForAllTransposesOddSizesAndPaddedStrides) {
  Rng rng(1);
  // The last four are large enough to be cut into blocks of columns / rows across threads;
  // {1, 1000, 300}'s one-row blocks go through each thread's scratch buffer.
  const GemmShape shapes[] = {{1, 1, 1},     {3, 5, 7},     {7, 3, 5},      {17, 9, 33},
                              {33, 65, 17},  {5, 1, 64},    {1, 31, 13},    {64, 48, 3},
                              {70, 301, 61}, {301, 70, 61}, {1, 1000, 300}, {3, 1500, 256}};
  // Three threads: three blocks, the last one shorter.
  const int threads = k::num_threads();
  k::set_num_threads(3);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  int checked = 0;
  for (const GemmShape& s : shapes) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        for (float beta : {0.0f, 1.0f, -0.5f}) {
          for (int64_t pad : {0, 3}) {
            const float alpha = pad ? 0.75f : 1.0f;
            // Stored shapes: A [M, K] or [K, M]; B [K, N] or [N, K]; rows padded by `pad`.
            const int64_t a_rows = ta ? s.k : s.m, a_cols = ta ? s.m : s.k;
            const int64_t b_rows = tb ? s.n : s.k, b_cols = tb ? s.k : s.n;
            const int64_t lda = a_cols + pad, ldb = b_cols + pad, ldc = s.n + pad;
            const std::vector<float> a = normal(rng, static_cast<std::size_t>(a_rows * lda));
            const std::vector<float> b = normal(rng, static_cast<std::size_t>(b_rows * ldb));
            std::vector<float> c0 = normal(rng, static_cast<std::size_t>(s.m * ldc));
            // beta = 0 must not read C (BLAS): poison it. Padding must never be written.
            for (int64_t i = 0; i < s.m; ++i)
              for (int64_t j = 0; j < ldc; ++j)
                if (j >= s.n) c0[i * ldc + j] = -7.0f;
                else if (beta == 0.0f) c0[i * ldc + j] = nan;
            std::vector<float> c = c0, c_ref = c0;
            k::sgemm(ta, tb, s.m, s.n, s.k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(),
                     ldc);
            k::sgemm_ref(ta, tb, s.m, s.n, s.k, alpha, a.data(), lda, b.data(), ldb, beta,
                         c_ref.data(), ldc);
            for (int64_t i = 0; i < s.m; ++i) {
              for (int64_t j = 0; j < ldc; ++j) {
                const float got = c[i * ldc + j], want = c_ref[i * ldc + j];
                if (j >= s.n) {
                  ASSERT_EQ(got, -7.0f) << "padding written at (" << i << ", " << j << ")";
                  continue;
                }
                // Bound: k products and k sums rounded in float, relative to Σ|a||b|.
                double mag = 0.0;
                for (int64_t p = 0; p < s.k; ++p) {
                  const float av = ta ? a[p * lda + i] : a[i * lda + p];
                  const float bv = tb ? b[j * ldb + p] : b[p * ldb + j];
                  mag += std::abs(static_cast<double>(av) * bv);
                }
                const double cterm = beta == 0.0f ? 0.0 : std::abs(beta * c0[i * ldc + j]);
                const double tol = 2.0 * (s.k + 2) * 0x1.0p-24 * (alpha * mag + cterm) + 1e-30;
                ASSERT_TRUE(std::isfinite(got)) << "beta = 0 read the NaN in C";
                ASSERT_LE(std::abs(static_cast<double>(got) - want), tol)
                    << "m " << s.m << " n " << s.n << " k " << s.k << " ta " << ta << " tb " << tb
                    << " beta " << beta << " pad " << pad << " at (" << i << ", " << j << ")";
              }
            }
            ++checked;
          }
        }
      }
    }
  }
  k::set_num_threads(threads);
  EXPECT_EQ(checked, 12 * 4 * 3 * 2);
}

// A process that forks without exec (a server that pre-forks workers) keeps a working GEMM in the
// child: the child's products split across threads finish and are right.
TEST(Sgemm, ThreadPoolWorksInAForkedChild) {
  const int threads = k::num_threads();
  k::set_num_threads(2);
  const int64_t m = 64, n = 1024, kk = 256;  // large enough to be split across the pool
  std::vector<float> a(m * kk, 0.5f), b(kk * n, 0.25f), c(m * n);
  k::sgemm(false, false, m, n, kk, 1.0f, a.data(), kk, b.data(), n, 0.0f, c.data(), n);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    alarm(20);  // a child waiting for workers it does not have dies here instead of hanging
    std::vector<float> c2(m * n, 1.0f);
    for (int rep = 0; rep < 3; ++rep)
      k::sgemm(false, false, m, n, kk, 1.0f, a.data(), kk, b.data(), n, 0.0f, c2.data(), n);
    _exit(c2 == c ? 0 : 3);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  k::set_num_threads(threads);
  ASSERT_TRUE(WIFEXITED(status)) << "the child hung or crashed (signal "
                                 << (WIFSIGNALED(status) ? WTERMSIG(status) : 0) << ")";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child's product was wrong";
}

// parallel_for (src/kernels/parallel.cpp): every part runs exactly once per job, over many
// back-to-back jobs of varying size (the pool's threads catch some jobs while spinning and
// sleep through gaps); a parallel_for inside a part runs whole on that thread; two user threads
// calling at once both finish with every part done.
TEST(ParallelFor, EveryPartRunsOnceAndNestedCallsRunInline) {
  std::atomic<int> runs[16];
  for (int job = 0; job < 3000; ++job) {
    const int parts = 1 + job % 16;
    for (auto& r : runs) r.store(0);
    k::parallel_for(parts, [&](int i) {
      EXPECT_EQ(k::in_parallel_for(), parts > 1);
      runs[i].fetch_add(1);
    });
    for (int i = 0; i < 16; ++i) ASSERT_EQ(runs[i].load(), i < parts ? 1 : 0) << "job " << job;
    if (job % 500 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // pool sleeps
  }
  EXPECT_FALSE(k::in_parallel_for());

  std::atomic<int> inner{0};
  k::parallel_for(4, [&](int) {
    const std::thread::id self = std::this_thread::get_id();
    k::parallel_for(3, [&](int) {
      EXPECT_EQ(std::this_thread::get_id(), self);
      inner.fetch_add(1);
    });
  });
  EXPECT_EQ(inner.load(), 12);

  std::atomic<long> total{0};
  const auto user = [&] {
    for (int job = 0; job < 2000; ++job) k::parallel_for(3, [&](int i) { total += i + 1; });
  };
  std::thread a(user), b(user);
  a.join();
  b.join();
  EXPECT_EQ(total.load(), 2 * 2000 * 6);
}

TEST(ParallelFor, AThrowingPartReachesTheCallerAfterTheOtherPartsEnd) {
  // Whichever thread runs the throwing part (the caller or a pool thread), parallel_for returns
  // only once the other parts have finished, then rethrows the part's exception; the pool stays
  // usable afterwards.
  for (const int parts : {2, 3, 8}) {
    for (int thrower = 0; thrower < parts; ++thrower) {
      SCOPED_TRACE("parts " + std::to_string(parts) + ", part " + std::to_string(thrower));
      std::atomic<int> finished{0};
      try {
        k::parallel_for(parts, [&](int i) {
          if (i == thrower) throw std::runtime_error("part " + std::to_string(i) + " failed");
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
          finished.fetch_add(1);
        });
        ADD_FAILURE() << "no exception reached the caller";
      } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()), "part " + std::to_string(thrower) + " failed");
        EXPECT_EQ(finished.load(), parts - 1) << "returned before the other parts ended";
      }
      EXPECT_FALSE(k::in_parallel_for());
      std::atomic<int> runs{0};
      k::parallel_for(parts, [&](int) { runs.fetch_add(1); });
      EXPECT_EQ(runs.load(), parts);
    }
  }
}

TEST(Sgemm, KZeroScalesCByBeta) {
  for (float beta : {0.0f, 1.0f, 2.0f}) {
    std::vector<float> c = {1, 2, 3, 4, 5, 6}, c_ref = c;
    if (beta == 0.0f) c[0] = c_ref[0] = std::numeric_limits<float>::quiet_NaN();
    const float a = 1.0f, b = 1.0f;  // never read
    k::sgemm(false, false, 2, 3, 0, 1.0f, &a, 1, &b, 3, beta, c.data(), 3);
    k::sgemm_ref(false, false, 2, 3, 0, 1.0f, &a, 1, &b, 3, beta, c_ref.data(), 3);
    for (int i = 0; i < 6; ++i) {
      const float want = beta == 0.0f ? 0.0f : beta * static_cast<float>(i + 1);
      EXPECT_EQ(c[i], want) << "beta " << beta << " i " << i;
      EXPECT_EQ(c_ref[i], want) << "beta " << beta << " i " << i;
    }
  }
}

TEST(Sgemm, EmptyOutputTouchesNothing) {
  std::vector<float> c = {42.0f};
  const float a = 1.0f, b = 1.0f;
  k::sgemm(false, false, 0, 1, 3, 1.0f, &a, 3, &b, 1, 0.0f, c.data(), 1);
  k::sgemm(false, false, 1, 0, 3, 1.0f, &a, 3, &b, 1, 0.0f, c.data(), 1);
  EXPECT_EQ(c[0], 42.0f);
}

// ---- (b) Activations ---------------------------------------------------------------------------

const Activation kElementwise[] = {Activation::linear,       Activation::tanh,
                                   Activation::sigmoid,      Activation::hard_sigmoid,
                                   Activation::hard_sigmoid_v3, Activation::relu};

// Inputs with large magnitudes, exact kinks and the saturation edges mixed into N(0, 3²).
std::vector<float> activation_inputs(Rng& rng, std::size_t n) {
  std::vector<float> x = normal(rng, n, 3.0);
  const float specials[] = {100.0f, -100.0f, 0.0f,  2.5f,  -2.5f, 3.0f,  -3.0f,
                            20.0f,  -20.0f,  88.0f, -88.0f, 1e-8f, -1e-8f};
  for (std::size_t i = 0; i < n; i += 3) x[i] = specials[(i / 3) % std::size(specials)];
  return x;
}

TEST(Activations, FastPathMatchesReferenceForEveryLengthAndMagnitude) {
  RecordProperty("avx2", k::vmath_uses_avx2() ? "yes" : "no (fast path is the reference)");
  Rng rng(2);
  std::vector<std::size_t> lengths;
  for (std::size_t n = 0; n <= 37; ++n) lengths.push_back(n);
  lengths.push_back(1000);
  for (Activation a : kElementwise) {
    SCOPED_TRACE(recur::activation_name(a));
    for (std::size_t n : lengths) {
      SCOPED_TRACE("n = " + std::to_string(n));
      const std::vector<float> x = activation_inputs(rng, n + 1);  // +1: never empty vectors
      std::vector<float> y(n + 1, -9.0f), y_ref(n + 1, -9.0f);
      k::activation_forward(a, x.data(), y.data(), static_cast<int64_t>(n));
      k::activation_forward_ref(a, x.data(), y_ref.data(), static_cast<int64_t>(n));
      ASSERT_EQ(y[n], -9.0f) << "wrote past the end";
      for (std::size_t i = 0; i < n; ++i) {
        // 5 ulp (Eigen's tanh; SLEEF's sigmoid stays within 4), or 2.4e-7 absolute (2 ulp of
        // 1.0) where a fused multiply-add changes a value near 0 (hard_sigmoid: 0.2 x + 0.5 ≈ 0
        // differs by up to 6e-8, thousands of ulp).
        ASSERT_TRUE(std::abs(y[i] - y_ref[i]) <= 2.4e-7f || ulp_distance(y[i], y_ref[i]) <= 5)
            << "forward x " << x[i] << ": fast " << y[i] << ", reference " << y_ref[i];
      }
      // In place (x == y) gives the same values.
      std::vector<float> inplace = x;
      k::activation_forward(a, inplace.data(), inplace.data(), static_cast<int64_t>(n));
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(inplace[i], y[i]) << "in-place forward";

      // Backward from the outputs y = a(x). 1 − y² loses up to an ulp of 1.0 to cancellation
      // when y ≈ ±1 depending on fused multiply-adds (measured: 1.2e-7 |dy|, over 1000 ulp of
      // the result), hence the |dy|-scaled term.
      const std::vector<float> dy = normal(rng, n + 1);
      std::vector<float> dx(n + 1, -9.0f), dx_ref(n + 1, -9.0f);
      k::activation_backward(a, y_ref.data(), dy.data(), dx.data(), static_cast<int64_t>(n));
      k::activation_backward_ref(a, y_ref.data(), dy.data(), dx_ref.data(),
                                 static_cast<int64_t>(n));
      ASSERT_EQ(dx[n], -9.0f) << "wrote past the end";
      for (std::size_t i = 0; i < n; ++i) {
        const double tol = 2.4e-7 * std::abs(dy[i]) + 1e-30;
        ASSERT_TRUE(std::abs(static_cast<double>(dx[i]) - dx_ref[i]) <= tol ||
                    ulp_distance(dx[i], dx_ref[i]) <= 4)
            << "backward y " << y_ref[i] << " dy " << dy[i] << ": fast " << dx[i]
            << ", reference " << dx_ref[i];
      }
      std::vector<float> g = dy;
      k::activation_backward(a, y_ref.data(), g.data(), g.data(), static_cast<int64_t>(n));
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(g[i], dx[i]) << "in-place backward";
    }
  }
}

TEST(Activations, GateSigmoidIsWithinItsAbsoluteBound) {
  // gate_activation_forward: sigmoid as ½·tanh(x/2) + ½ on the AVX2 path, within 1.7e-7 of
  // the exact value (absolute); every other activation exactly as activation_forward.
  Rng rng(5);
  for (std::size_t n : {std::size_t{1}, std::size_t{7}, std::size_t{8}, std::size_t{29},
                        std::size_t{1000}}) {
    SCOPED_TRACE("n = " + std::to_string(n));
    const std::vector<float> x = activation_inputs(rng, n);
    for (Activation a : kElementwise) {
      SCOPED_TRACE(recur::activation_name(a));
      std::vector<float> y(n + 1, -9.0f), y_plain(n + 1, -9.0f);
      k::gate_activation_forward(a, x.data(), y.data(), static_cast<int64_t>(n));
      k::activation_forward(a, x.data(), y_plain.data(), static_cast<int64_t>(n));
      ASSERT_EQ(y[n], -9.0f) << "wrote past the end";
      for (std::size_t i = 0; i < n; ++i) {
        if (a != Activation::sigmoid) {
          ASSERT_EQ(y[i], y_plain[i]) << "x " << x[i];
          continue;
        }
        const double want = 1.0 / (1.0 + std::exp(-static_cast<double>(x[i])));
        ASSERT_NEAR(y[i], want, 1.7e-7) << "x " << x[i];
        ASSERT_TRUE(y[i] >= 0.0f && y[i] <= 1.0f) << "x " << x[i] << " gives " << y[i];
      }
      std::vector<float> inplace = x;
      k::gate_activation_forward(a, inplace.data(), inplace.data(), static_cast<int64_t>(n));
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(inplace[i], y[i]) << "in-place forward";
    }
  }
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> v(9, nan);
  k::gate_activation_forward(Activation::sigmoid, v.data(), v.data(), 9);
  for (float f : v) EXPECT_TRUE(std::isnan(f)) << "NaN must stay NaN";
  k::activation_forward(Activation::tanh, std::vector<float>(9, nan).data(), v.data(), 9);
  for (float f : v) EXPECT_TRUE(std::isnan(f)) << "NaN must stay NaN";
}

TEST(Activations, ReferenceMatchesTheDefinitions) {
  // The twins agree with each other; this pins both to the math (double precision).
  Rng rng(3);
  const std::vector<float> x = activation_inputs(rng, 200);
  for (Activation a : kElementwise) {
    std::vector<float> y(x.size());
    k::activation_forward_ref(a, x.data(), y.data(), static_cast<int64_t>(x.size()));
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double v = x[i];
      double want = 0.0;
      switch (a) {
        case Activation::linear: want = v; break;
        case Activation::tanh: want = std::tanh(v); break;
        case Activation::sigmoid: want = 1.0 / (1.0 + std::exp(-v)); break;
        case Activation::hard_sigmoid: want = std::clamp(0.2 * v + 0.5, 0.0, 1.0); break;
        case Activation::hard_sigmoid_v3: want = std::clamp(v / 6.0 + 0.5, 0.0, 1.0); break;
        case Activation::relu: want = v > 0 ? v : 0.0; break;
        case Activation::softmax: break;
      }
      ASSERT_NEAR(y[i], want, 1e-7 + 2e-7 * std::abs(want))
          << recur::activation_name(a) << "(" << v << ")";
    }
  }
}

TEST(Softmax, RowsMatchDoublePrecisionReference) {
  Rng rng(4);
  for (int64_t n : {1, 2, 7, 8, 9, 33}) {
    const int64_t rows = 5;
    std::vector<float> x = normal(rng, static_cast<std::size_t>(rows * n), 4.0);
    x[0] = 100.0f;  // large logits must not overflow (max subtraction)
    if (n > 1) x[static_cast<std::size_t>(n + 1)] = -100.0f;
    std::vector<float> y(x.size());
    k::softmax_rows(x.data(), y.data(), rows, n);
    std::vector<double> y_ref(x.size());
    for (int64_t r = 0; r < rows; ++r) {
      double m = -1e300, sum = 0.0;
      for (int64_t i = 0; i < n; ++i) m = std::max(m, static_cast<double>(x[r * n + i]));
      for (int64_t i = 0; i < n; ++i) sum += std::exp(x[r * n + i] - m);
      double total = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        y_ref[r * n + i] = std::exp(x[r * n + i] - m) / sum;
        total += y[r * n + i];
      }
      EXPECT_NEAR(total, 1.0, 1e-6 * n) << "row " << r << " n " << n;
    }
    for (std::size_t i = 0; i < x.size(); ++i)
      ASSERT_NEAR(y[i], y_ref[i], 1e-7 + 1e-6 * y_ref[i]) << "n " << n << " i " << i;

    // Backward: dx = y ⊙ (dy − <dy, y>), here from the double reference, and in place.
    const std::vector<float> dy = normal(rng, x.size());
    std::vector<float> dx(x.size());
    k::softmax_rows_backward(y.data(), dy.data(), dx.data(), rows, n);
    std::vector<float> inplace = dy;
    k::softmax_rows_backward(y.data(), inplace.data(), inplace.data(), rows, n);
    for (int64_t r = 0; r < rows; ++r) {
      double dot = 0.0;
      for (int64_t i = 0; i < n; ++i) dot += static_cast<double>(dy[r * n + i]) * y[r * n + i];
      for (int64_t i = 0; i < n; ++i) {
        const std::size_t j = static_cast<std::size_t>(r * n + i);
        const double want = y[j] * (dy[j] - dot);
        ASSERT_NEAR(dx[j], want, 1e-6 * (std::abs(dy[j]) + std::abs(dot)) * y[j] + 1e-12)
            << "n " << n << " row " << r << " i " << i;
        ASSERT_EQ(inplace[j], dx[j]) << "in-place backward";
      }
    }
  }
}

// ---- (c) Cells ---------------------------------------------------------------------------------

// Activation and its derivative at the pre-activation u, in double.
double act(Activation a, double u) {
  switch (a) {
    case Activation::linear: return u;
    case Activation::tanh: return std::tanh(u);
    case Activation::sigmoid: return 1.0 / (1.0 + std::exp(-u));
    case Activation::hard_sigmoid: return std::clamp(0.2 * u + 0.5, 0.0, 1.0);
    case Activation::hard_sigmoid_v3: return std::clamp(u / 6.0 + 0.5, 0.0, 1.0);
    case Activation::relu: return u > 0 ? u : 0.0;
    case Activation::softmax: break;
  }
  ADD_FAILURE() << "no elementwise activation";
  return 0.0;
}
double dact(Activation a, double u) {
  switch (a) {
    case Activation::linear: return 1.0;
    case Activation::tanh: return 1.0 - std::tanh(u) * std::tanh(u);
    case Activation::sigmoid: {
      const double s = act(a, u);
      return s * (1.0 - s);
    }
    case Activation::hard_sigmoid: return (u > -2.5 && u < 2.5) ? 0.2 : 0.0;
    case Activation::hard_sigmoid_v3: return (u > -3.0 && u < 3.0) ? 1.0 / 6.0 : 0.0;
    case Activation::relu: return u > 0 ? 1.0 : 0.0;
    case Activation::softmax: break;
  }
  ADD_FAILURE() << "no elementwise activation";
  return 0.0;
}

// float result vs double reference: |got − want| ≤ 2e-6 + 2e-5 |want|.
::testing::AssertionResult close(const std::vector<float>& got, const std::vector<double>& want,
                                 const char* what) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << what << ": size " << got.size() << " vs "
                                         << want.size();
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double tol = 2e-6 + 2e-5 * std::abs(want[i]);
    if (!(std::abs(got[i] - want[i]) <= tol))
      return ::testing::AssertionFailure() << what << "[" << i << "]: kernel " << got[i]
                                           << ", reference " << want[i];
  }
  return ::testing::AssertionSuccess();
}

struct CellActs {
  Activation act, rec;
};
// Keras defaults first, then the other activations the layers accept.
const CellActs kCellActs[] = {{Activation::tanh, Activation::sigmoid},
                              {Activation::relu, Activation::hard_sigmoid},
                              {Activation::linear, Activation::tanh},
                              {Activation::sigmoid, Activation::hard_sigmoid_v3},
                              {Activation::hard_sigmoid, Activation::sigmoid}};

constexpr int64_t B = 3, H = 5;

std::string acts_name(CellActs a) {
  return std::string(recur::activation_name(a.act)) + "/" + recur::activation_name(a.rec);
}

TEST(Cells, SimpleRnnMatchesScalarReference) {
  Rng rng(10);
  for (CellActs ca : kCellActs) {
    SCOPED_TRACE(acts_name(ca));
    const k::CellActivations a{ca.act, ca.rec};
    const std::vector<float> z0 = normal(rng, B * H, 1.5), dh = normal(rng, B * H);
    std::vector<float> z = z0, h(B * H), dz(B * H);
    k::simple_forward(a, B, H, z.data(), h.data());
    k::simple_backward(a, B, H, z.data(), dh.data(), dz.data());
    std::vector<double> h_ref(B * H), dz_ref(B * H);
    for (int64_t i = 0; i < B * H; ++i) {
      h_ref[i] = act(ca.act, z0[i]);                 // h = act(z)
      dz_ref[i] = dh[i] * dact(ca.act, z0[i]);       // dz = dh ⊙ act'(z)
    }
    EXPECT_TRUE(close(h, h_ref, "h"));
    EXPECT_TRUE(close(z, h_ref, "saved gates"));
    EXPECT_TRUE(close(dz, dz_ref, "dz"));
  }
}

TEST(Cells, LstmMatchesScalarReference) {
  // tanh / sigmoid backward takes the fused AVX2 path (cells_avx2.cpp): Hn = 21 runs its
  // vectorized loop body, Hn = 5 only its remainder.
  Rng rng(11);
  for (const int64_t Hn : {int64_t{5}, int64_t{21}}) {
    for (CellActs ca : kCellActs) {
      SCOPED_TRACE(acts_name(ca) + " H=" + std::to_string(Hn));
      const k::CellActivations a{ca.act, ca.rec};
      const std::vector<float> z0 = normal(rng, B * 4 * Hn, 1.5), c_prev = normal(rng, B * Hn);
      const std::vector<float> dh = normal(rng, B * Hn), dc = normal(rng, B * Hn);
      std::vector<float> gates = z0, c(B * Hn), tc(B * Hn), h(B * Hn);
      k::lstm_forward(a, B, Hn, gates.data(), c_prev.data(), c.data(), tc.data(), h.data());
      std::vector<float> dz(B * 4 * Hn), dc_prev(B * Hn);
      k::lstm_backward(a, B, Hn, gates.data(), c_prev.data(), tc.data(), dh.data(), dc.data(),
                       dz.data(), dc_prev.data());

      std::vector<double> gates_ref(B * 4 * Hn), c_ref(B * Hn), tc_ref(B * Hn), h_ref(B * Hn);
      std::vector<double> dz_ref(B * 4 * Hn), dc_prev_ref(B * Hn);
      for (int64_t b = 0; b < B; ++b) {
        for (int64_t j = 0; j < Hn; ++j) {
          const auto Z = [&](int g) { return static_cast<double>(z0[b * 4 * Hn + g * Hn + j]); };
          // i = rec(z_i)  f = rec(z_f)  g = act(z_c)  o = rec(z_o)
          const double i = act(ca.rec, Z(0)), f = act(ca.rec, Z(1)), g = act(ca.act, Z(2)),
                       o = act(ca.rec, Z(3));
          // c = f ⊙ c_prev + i ⊙ g    tc = act(c)    h = o ⊙ tc
          const double cp = c_prev[b * Hn + j];
          const double cn = f * cp + i * g, tcn = act(ca.act, cn);
          gates_ref[b * 4 * Hn + 0 * Hn + j] = i;
          gates_ref[b * 4 * Hn + 1 * Hn + j] = f;
          gates_ref[b * 4 * Hn + 2 * Hn + j] = g;
          gates_ref[b * 4 * Hn + 3 * Hn + j] = o;
          c_ref[b * Hn + j] = cn;
          tc_ref[b * Hn + j] = tcn;
          h_ref[b * Hn + j] = o * tcn;
          // dc_t = dc + dh ⊙ o ⊙ act'(c);  do = dh ⊙ tc ⊙ rec'(z_o);  di = dc_t ⊙ g ⊙ rec'(z_i)
          // df = dc_t ⊙ c_prev ⊙ rec'(z_f);  dg = dc_t ⊙ i ⊙ act'(z_c);  dc_prev = dc_t ⊙ f
          const double dhj = dh[b * Hn + j];
          const double dct = dc[b * Hn + j] + dhj * o * dact(ca.act, cn);
          dz_ref[b * 4 * Hn + 0 * Hn + j] = dct * g * dact(ca.rec, Z(0));
          dz_ref[b * 4 * Hn + 1 * Hn + j] = dct * cp * dact(ca.rec, Z(1));
          dz_ref[b * 4 * Hn + 2 * Hn + j] = dct * i * dact(ca.act, Z(2));
          dz_ref[b * 4 * Hn + 3 * Hn + j] = dhj * tcn * dact(ca.rec, Z(3));
          dc_prev_ref[b * Hn + j] = dct * f;
        }
      }
      EXPECT_TRUE(close(gates, gates_ref, "gates"));
      EXPECT_TRUE(close(c, c_ref, "c"));
      EXPECT_TRUE(close(tc, tc_ref, "tc"));
      EXPECT_TRUE(close(h, h_ref, "h"));
      EXPECT_TRUE(close(dz, dz_ref, "dz"));
      EXPECT_TRUE(close(dc_prev, dc_prev_ref, "dc_prev"));

      // dc may alias dc_prev (the driver relies on it).
      std::vector<float> dc_alias = dc, dz2(B * 4 * Hn);
      k::lstm_backward(a, B, Hn, gates.data(), c_prev.data(), tc.data(), dh.data(), dc_alias.data(),
                       dz2.data(), dc_alias.data());
      EXPECT_TRUE(close(dc_alias, dc_prev_ref, "dc_prev (aliased with dc)"));
      EXPECT_TRUE(close(dz2, dz_ref, "dz (dc aliased)"));
    }
  }
}

TEST(Cells, GruResetAfterMatchesScalarReference) {
  // tanh / sigmoid backward takes the fused AVX2 path (cells_avx2.cpp): Hn = 21 runs its
  // vectorized loop body, Hn = 5 only its remainder.
  Rng rng(12);
  for (const int64_t Hn : {int64_t{5}, int64_t{21}}) {
    for (CellActs ca : kCellActs) {
      SCOPED_TRACE(acts_name(ca) + " H=" + std::to_string(Hn));
      const k::CellActivations a{ca.act, ca.rec};
      // p = x·W + b_in, q = h_prev·U + b_rec, both [B, 3H] (z, r, h blocks).
      const std::vector<float> p0 = normal(rng, B * 3 * Hn, 1.2), q = normal(rng, B * 3 * Hn, 1.2);
      const std::vector<float> h_prev = normal(rng, B * Hn, 0.7), dh = normal(rng, B * Hn);
      std::vector<float> gates = p0, qh(B * Hn), h(B * Hn);
      k::gru_after_forward(a, B, Hn, gates.data(), q.data(), h_prev.data(), qh.data(), h.data());
      std::vector<float> dp(B * 3 * Hn), dq(B * 3 * Hn), dh_prev(B * Hn);
      k::gru_after_backward(a, B, Hn, gates.data(), qh.data(), h_prev.data(), dh.data(), dp.data(),
                            dq.data(), dh_prev.data());

      std::vector<double> gates_ref(B * 3 * Hn), qh_ref(B * Hn), h_ref(B * Hn);
      std::vector<double> dp_ref(B * 3 * Hn), dq_ref(B * 3 * Hn), dh_prev_ref(B * Hn);
      for (int64_t b = 0; b < B; ++b) {
        for (int64_t j = 0; j < Hn; ++j) {
          const auto P = [&](int g) { return static_cast<double>(p0[b * 3 * Hn + g * Hn + j]); };
          const auto Q = [&](int g) { return static_cast<double>(q[b * 3 * Hn + g * Hn + j]); };
          // z = rec(p_z + q_z)  r = rec(p_r + q_r)  hc = act(p_h + r ⊙ q_h)
          // h = z ⊙ h_prev + (1 − z) ⊙ hc
          const double uz = P(0) + Q(0), ur = P(1) + Q(1);
          const double z = act(ca.rec, uz), r = act(ca.rec, ur);
          const double uh = P(2) + r * Q(2), hc = act(ca.act, uh);
          const double hp = h_prev[b * Hn + j];
          gates_ref[b * 3 * Hn + j] = z;
          gates_ref[b * 3 * Hn + Hn + j] = r;
          gates_ref[b * 3 * Hn + 2 * Hn + j] = hc;
          qh_ref[b * Hn + j] = Q(2);
          h_ref[b * Hn + j] = z * hp + (1 - z) * hc;
          // da = dh (1 − z) act'(u_h);  dz = dh (h_prev − hc) rec'(u_z);  dr = da q_h rec'(u_r)
          // dp = [dz, dr, da];  dq = [dz, dr, da ⊙ r];  dh_prev (direct) = dh ⊙ z
          const double d = dh[b * Hn + j];
          const double da = d * (1 - z) * dact(ca.act, uh);
          const double dz = d * (hp - hc) * dact(ca.rec, uz);
          const double dr = da * Q(2) * dact(ca.rec, ur);
          dp_ref[b * 3 * Hn + j] = dq_ref[b * 3 * Hn + j] = dz;
          dp_ref[b * 3 * Hn + Hn + j] = dq_ref[b * 3 * Hn + Hn + j] = dr;
          dp_ref[b * 3 * Hn + 2 * Hn + j] = da;
          dq_ref[b * 3 * Hn + 2 * Hn + j] = da * r;
          dh_prev_ref[b * Hn + j] = d * z;
        }
      }
      EXPECT_TRUE(close(gates, gates_ref, "gates"));
      EXPECT_TRUE(close(qh, qh_ref, "qh"));
      EXPECT_TRUE(close(h, h_ref, "h"));
      EXPECT_TRUE(close(dp, dp_ref, "dp"));
      EXPECT_TRUE(close(dq, dq_ref, "dq"));
      EXPECT_TRUE(close(dh_prev, dh_prev_ref, "dh_prev"));
    }
  }
}

TEST(Cells, GruResetBeforeHalvesMatchScalarReference) {
  Rng rng(13);
  for (CellActs ca : kCellActs) {
    SCOPED_TRACE(acts_name(ca));
    const k::CellActivations a{ca.act, ca.rec};
    // Pre-activations after the input GEMM and the z|r recurrent GEMM; hd = h_prev (or its
    // dropout-masked copy, here different from h_prev to tell them apart).
    const std::vector<float> pre = normal(rng, B * 3 * H, 1.2);
    const std::vector<float> h_prev = normal(rng, B * H, 0.7), hd = normal(rng, B * H, 0.7);
    const std::vector<float> u_h = normal(rng, H * H, 0.5);  // U_h [H, H] for the second GEMM
    const std::vector<float> dh = normal(rng, B * H), drh = normal(rng, B * H);
    const std::vector<float> dhd0 = normal(rng, B * H);

    // part 1: z = rec(.), r = rec(.), rh = r ⊙ hd
    std::vector<float> gates = pre, rh(B * H);
    k::gru_before_forward1(a, B, H, gates.data(), hd.data(), rh.data());
    // (GEMM, done here as the driver would) gates[:, h] += rh·U_h
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t j = 0; j < H; ++j) {
        float acc = 0.0f;
        for (int64_t m = 0; m < H; ++m) acc += rh[b * H + m] * u_h[m * H + j];
        gates[b * 3 * H + 2 * H + j] += acc;
      }
    }
    const std::vector<float> gates_mid = gates;
    // part 2: hc = act(.), h = z ⊙ h_prev + (1 − z) ⊙ hc
    std::vector<float> h(B * H);
    k::gru_before_forward2(a, B, H, gates.data(), h_prev.data(), h.data());
    // backward part 1 (dz[:, z], dz[:, h], dh_prev direct), then part 2 (dz[:, r], dhd +=).
    const float poison = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> dz(B * 3 * H, poison), dh_prev(B * H);
    k::gru_before_backward1(a, B, H, gates.data(), h_prev.data(), dh.data(), dz.data(),
                            dh_prev.data());
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < H; ++j)
        EXPECT_TRUE(std::isnan(dz[b * 3 * H + H + j])) << "part 1 wrote the r block";
    std::vector<float> dhd = dhd0;
    k::gru_before_backward2(a, B, H, gates.data(), hd.data(), drh.data(), dz.data(), dhd.data());

    std::vector<double> zr_ref(B * 2 * H), rh_ref(B * H), gates_ref(B * 3 * H), h_ref(B * H);
    std::vector<double> dz_ref(B * 3 * H), dh_prev_ref(B * H), dhd_ref(B * H);
    std::vector<float> zr(B * 2 * H);
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t j = 0; j < H; ++j) {
        const double uz = pre[b * 3 * H + j], ur = pre[b * 3 * H + H + j];
        const double z = act(ca.rec, uz), r = act(ca.rec, ur);
        zr_ref[b * 2 * H + j] = z;
        zr_ref[b * 2 * H + H + j] = r;
        rh_ref[b * H + j] = r * hd[b * H + j];
        // The h pre-activation as the kernel saw it (its own rh·U_h, so only part 2 is tested
        // against it).
        const double uh = gates_mid[b * 3 * H + 2 * H + j];
        const double hc = act(ca.act, uh), hp = h_prev[b * H + j];
        gates_ref[b * 3 * H + j] = z;
        gates_ref[b * 3 * H + H + j] = r;
        gates_ref[b * 3 * H + 2 * H + j] = hc;
        h_ref[b * H + j] = z * hp + (1 - z) * hc;
        // part 1: dz = dh (h_prev − hc) rec'(u_z);  da = dh (1 − z) act'(u_h);  dh_prev = dh z
        const double d = dh[b * H + j];
        dz_ref[b * 3 * H + j] = d * (hp - hc) * dact(ca.rec, uz);
        dz_ref[b * 3 * H + 2 * H + j] = d * (1 - z) * dact(ca.act, uh);
        dh_prev_ref[b * H + j] = d * z;
        // part 2: dr = drh ⊙ hd ⊙ rec'(u_r);  dhd += drh ⊙ r
        dz_ref[b * 3 * H + H + j] = drh[b * H + j] * hd[b * H + j] * dact(ca.rec, ur);
        dhd_ref[b * H + j] = dhd0[b * H + j] + drh[b * H + j] * r;
      }
      for (int64_t j = 0; j < 2 * H; ++j) zr[b * 2 * H + j] = gates_mid[b * 3 * H + j];
    }
    EXPECT_TRUE(close(zr, zr_ref, "z, r after part 1"));
    EXPECT_TRUE(close(rh, rh_ref, "rh"));
    EXPECT_TRUE(close(gates, gates_ref, "gates after part 2"));
    EXPECT_TRUE(close(h, h_ref, "h"));
    EXPECT_TRUE(close(dz, dz_ref, "dz"));
    EXPECT_TRUE(close(dh_prev, dh_prev_ref, "dh_prev"));
    EXPECT_TRUE(close(dhd, dhd_ref, "dhd"));
  }
}

}  // namespace
