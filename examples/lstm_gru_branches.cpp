// Two recurrent branches on one input, concatenated into one Dense (the functional API). The
// target needs both a long memory (the mean of feature 0 over the whole sequence) and the last
// steps (feature 1 at the last step times feature 2 one step earlier). Mirrors the Keras snippet
//
//   x = Input(shape=(None, 3))
//   a = LSTM(16)(x)
//   b = GRU(16)(x)
//   y = Dense(1)(Concatenate()([a, b]))
//   model = Model(x, y)
//   model.compile(optimizer='adam', loss='mse')
//   model.fit(X, Y, epochs=30, validation_split=0.1)
//
// Prints the test MSE next to the variance of the targets (the MSE of predicting their mean).
// Exits 1 unless the MSE is below 5 % of the variance (--quick: 30 %).
//
//   lstm_gru_branches [--quick]
#include <cstring>
#include <iostream>

#include "recur/recur.hpp"

using namespace recur;

// x [N, T, 3] standard normal; y[n] = mean_t x[n, t, 0] · 2 + x[n, T-1, 1] · x[n, T-2, 2].
void make_data(int64_t N, int64_t T, uint64_t seed, Tensor& x, Tensor& y) {
  Rng rng(seed);
  x.resize({N, T, 3});
  y.resize({N, 1});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(rng.normal());
  for (int64_t n = 0; n < N; ++n) {
    const float* s = x.data() + n * T * 3;
    double mean = 0.0;
    for (int64_t t = 0; t < T; ++t) mean += s[t * 3];
    y[n] = static_cast<float>(2.0 * mean / static_cast<double>(T)) +
           s[(T - 1) * 3 + 1] * s[(T - 2) * 3 + 2];
  }
}

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int64_t T = 15;
  Tensor x, y, x_test, y_test;
  make_data(quick ? 1024 : 4096, T, 1, x, y);
  make_data(512, T, 2, x_test, y_test);

  Functional model("branches");
  NodeRef in = model.input("x", {-1, 3});
  NodeRef a = model.call(make_lstm("lstm", {.units = 16}), {in})[0];
  NodeRef b = model.call(make_gru("gru", {.units = 16}), {in})[0];
  NodeRef c = model.call(std::make_unique<Concatenate>("concat"), {a, b})[0];
  NodeRef out = model.call(std::make_unique<Dense>("dense", DenseOptions{.units = 1}), {c})[0];
  model.build({in}, {out}, /*seed=*/0);
  CompileOptions co = compile_options("adam", "mse");
  co.optimizer.learning_rate = 3e-3;
  model.compile(co);
  FitOptions fit;
  fit.epochs = quick ? 10 : 30;
  fit.validation_split = 0.1;
  fit.verbose = 0;
  const History h = model.fit(x, y, fit);

  const Tensor pred = model.predict(x_test);
  double mean = 0.0, mse = 0.0, var = 0.0;
  for (int64_t i = 0; i < y_test.numel(); ++i) mean += y_test[i];
  mean /= static_cast<double>(y_test.numel());
  for (int64_t i = 0; i < y_test.numel(); ++i) {
    mse += (pred[i] - y_test[i]) * (pred[i] - y_test[i]);
    var += (y_test[i] - mean) * (y_test[i] - mean);
  }
  mse /= static_cast<double>(y_test.numel());
  var /= static_cast<double>(y_test.numel());
  std::cout << model.summary() << "val_loss " << h.history.at("val_loss").back() << "; test MSE "
            << mse << " (variance of the targets " << var << ")\n";
  const double bound = (quick ? 0.3 : 0.05) * var;
  if (!(mse < bound)) {
    std::cerr << "FAIL: test MSE " << mse << " is not below " << bound << "\n";
    return 1;
  }
  return 0;
}
