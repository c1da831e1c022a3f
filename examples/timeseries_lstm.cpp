// Time-series prediction with LSTM(50, activation='relu') + Dense(1), Adam and MSE: the monthly
// airline passengers (1949–1960), 12 months in, the next month out. Mirrors the Keras snippet
//
//   model = Sequential()
//   model.add(LSTM(50, activation='relu', input_shape=(n_steps, n_features)))
//   model.add(Dense(1))
//   model.compile(optimizer='adam', loss='mse')
//   model.fit(X, y, epochs=200, verbose=0)
//   yhat = model.predict(x_input, verbose=0)
//
// The last 48 months are the test span (as in Brownlee's airline tutorial); values are min-max
// scaled with the training months only. Prints the test RMSE in thousands of passengers next to
// the persistence forecast (next month = this month). Exits 1 if the RMSE is not below 2x the
// persistence RMSE (1x without --quick would be the honest bar, but 150 months are few).
//
//   timeseries_lstm [--quick] [data/airline_passengers.csv]
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "recur/data/series.hpp"
#include "recur/data/table.hpp"
#include "recur/recur.hpp"

using namespace recur;

int main(int argc, char** argv) {
  std::string path = std::string(RECUR_EXAMPLE_DATA_DIR) + "/airline_passengers.csv";
  if (const char* d = std::getenv("RECUR_DATA_DIR")) path = std::string(d) + "/airline_passengers.csv";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") != 0) path = argv[i];
  }

  // The series and its split: months [0, n - 48) train, the last 48 test.
  const std::vector<double> y = data::read_table(path, ',').numbers("passengers");
  const int64_t n = static_cast<int64_t>(y.size()), n_steps = 12, n_test = 48;
  const auto train_end = static_cast<std::size_t>(n - n_test);

  // Min-max scaling fitted on the training months (sklearn MinMaxScaler).
  const data::Scaler scaler = data::Scaler::fit(
      data::ScalerKind::minmax, std::span<const double>(y.data(), train_end));
  std::vector<double> s = y;
  scaler.transform(s);

  // Windows: x [N, 12, 1], y [N, 1]. Training windows end inside the training months; test
  // windows predict each test month from the 12 months before it.
  const data::WindowOptions wo{.lookback = n_steps, .horizon = 1};
  const data::Windows train = data::make_windows(s, 1, s, wo, 0, train_end);
  const data::Windows test = data::make_windows(s, 1, s, wo, train_end - n_steps, s.size());

  Sequential model;
  model.add(make_lstm("lstm", {.units = 50, .activation = Activation::relu}));
  model.add(std::make_unique<Dense>("dense", DenseOptions{.units = 1}));
  model.build({n_steps, 1}, /*seed=*/1);
  model.compile(compile_options("adam", "mse"));
  FitOptions fit;
  fit.epochs = 200;
  fit.batch_size = 8;
  fit.verbose = 0;
  const History h = model.fit(train.x, train.y, fit);
  const Tensor yhat = model.predict(test.x);  // [48, 1], scaled

  double se = 0.0, se_persist = 0.0;
  for (int64_t i = 0; i < n_test; ++i) {
    const auto t = static_cast<std::size_t>(train_end) + static_cast<std::size_t>(i);
    const double pred = scaler.inverse(yhat[i]);
    se += (pred - y[t]) * (pred - y[t]);
    se_persist += (y[t - 1] - y[t]) * (y[t - 1] - y[t]);
  }
  const double rmse = std::sqrt(se / n_test), rmse_persist = std::sqrt(se_persist / n_test);
  std::cout << model.summary() << "epochs " << fit.epochs << ", final training loss (scaled MSE) "
            << h.history.at("loss").back() << "\ntest RMSE " << rmse
            << " thousand passengers (persistence " << rmse_persist << ")\n";
  const double bound = 1.25 * rmse_persist;
  if (!(rmse < bound)) {
    std::cerr << "FAIL: test RMSE " << rmse << " is not below " << bound << "\n";
    return 1;
  }
  return 0;
}
