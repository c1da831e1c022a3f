// Predicting every time step with GRU(return_sequences=True): the target at step t is the running
// mean of the first feature so far plus the second feature three steps ago (a delayed copy), so
// the network has to remember both a sum and a short history. Mirrors the Keras snippet
//
//   model = Sequential([GRU(32, return_sequences=True, input_shape=(None, 3)), Dense(1)])
//   model.compile(optimizer='rmsprop', loss='mae')
//   model.fit(X, Y, epochs=20)          # X [N, T, 3], Y [N, T, 1]
//
// Prints the test MAE next to the best constant prediction (the median: about 0.8 here). Exits 1
// unless the MAE is below a fifth of that (--quick: below half).
//
//   gru_every_step [--quick]
#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>
#include <vector>

#include "recur/recur.hpp"

using namespace recur;

// x [N, T, 3] standard normal; y[n, t] = mean(x[n, 0..t, 0]) + x[n, t - 3, 1] (0 for t < 3).
void make_data(int64_t N, int64_t T, uint64_t seed, Tensor& x, Tensor& y) {
  Rng rng(seed);
  x.resize({N, T, 3});
  y.resize({N, T, 1});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(rng.normal());
  for (int64_t n = 0; n < N; ++n) {
    double sum = 0.0;
    for (int64_t t = 0; t < T; ++t) {
      sum += x[(n * T + t) * 3];
      const float delayed = t >= 3 ? x[(n * T + t - 3) * 3 + 1] : 0.0f;
      y[n * T + t] = static_cast<float>(sum / static_cast<double>(t + 1)) + delayed;
    }
  }
}

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int64_t T = 20;
  Tensor x, y, x_test, y_test;
  make_data(quick ? 1024 : 2048, T, 1, x, y);
  make_data(256, T, 2, x_test, y_test);

  Sequential model;
  model.add(make_gru("gru", {.units = 32, .return_sequences = true}));
  model.add(std::make_unique<Dense>("dense", DenseOptions{.units = 1}));  // on every step
  model.build({-1, 3}, /*seed=*/0);
  CompileOptions co = compile_options("rmsprop", "mae");
  co.optimizer.learning_rate = 3e-3;
  model.compile(co);
  FitOptions fit;
  fit.epochs = quick ? 10 : 20;
  fit.verbose = 0;
  model.fit(x, y, fit);

  const Tensor pred = model.predict(x_test);  // [256, T, 1]
  std::vector<float> v(y_test.data(), y_test.data() + y_test.numel());
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  const float median = v[v.size() / 2];
  double mae = 0.0, mae_const = 0.0;
  for (int64_t i = 0; i < y_test.numel(); ++i) {
    mae += std::abs(pred[i] - y_test[i]);
    mae_const += std::abs(median - y_test[i]);
  }
  mae /= static_cast<double>(y_test.numel());
  mae_const /= static_cast<double>(y_test.numel());
  std::cout << model.summary() << "output shape [" << pred.dim(0) << ", " << pred.dim(1) << ", "
            << pred.dim(2) << "]; test MAE " << mae << " (constant median " << mae_const << ")\n";
  const double bound = (quick ? 0.5 : 0.2) * mae_const;
  if (!(mae < bound)) {
    std::cerr << "FAIL: test MAE " << mae << " is not below " << bound << "\n";
    return 1;
  }
  return 0;
}
