// Tests for the time-series helpers: splits, windows, scalers (and their JSON), date frequency,
// next dates, and the forecaster's transform (samples and decode are inverse of each other).
#include "recur/data/series.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "recur/error.hpp"
#include "support/errors.hpp"

namespace recur::data {
namespace {

using recur::testing::error_of;

TEST(Split, Chronological) {
  const ChronoSplit s = chronological_split(144, 0.2, 0.1);
  EXPECT_EQ(s.val_end, 144u - 29u);
  EXPECT_EQ(s.train_end, 144u - 29u - 14u);
  EXPECT_EQ(s.test_size(), 29u);
  EXPECT_EQ(s.val_size(), 14u);
  EXPECT_EQ(chronological_split(10, 0.0).val_end, 10u);
  EXPECT_EQ(error_of<InvalidArgument>([] { chronological_split(3, 0.1); }),
            "a test fraction of 0.1 of 3 points leaves no test points");
  EXPECT_EQ(error_of<InvalidArgument>([] { chronological_split(4, 0.5, 0.5); }),
            "splitting 4 points into 2 validation and 2 test points leaves none for training");
  EXPECT_THROW(chronological_split(10, 1.0), InvalidArgument);
}

TEST(Windows, LookbackHorizonStride) {
  const std::vector<double> s = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  const Windows w = make_windows(s, {.lookback = 3, .horizon = 2, .stride = 2});
  // starts 0, 2, 4 (start 6 would need rows up to 10)
  ASSERT_EQ(w.x.shape(), (Shape{3, 3, 1}));
  ASSERT_EQ(w.y.shape(), (Shape{3, 2}));
  EXPECT_EQ(w.x[3], 2.0f);  // sample 1, step 0
  EXPECT_EQ(w.y[2], 5.0f);  // sample 1: targets 5, 6
  EXPECT_EQ(w.y[3], 6.0f);
  EXPECT_EQ(w.origin, (std::vector<int64_t>{2, 4, 6}));
  EXPECT_EQ(window_count(10, {.lookback = 3, .horizon = 2, .stride = 2}), 3);
  EXPECT_EQ(window_count(4, {.lookback = 3, .horizon = 2, .stride = 1}), 0);
  EXPECT_EQ(error_of<InvalidArgument>([&] {
              make_windows(std::vector<double>{1, 2, 3, 4}, {.lookback = 3, .horizon = 2});
            }),
            "too few rows: 4 rows, but lookback 3 + horizon 2 needs at least 5");
}

TEST(Windows, MultivariateRange) {
  // two features per row; targets from a separate column; rows [2, 8)
  std::vector<double> x, y;
  for (int r = 0; r < 10; ++r) {
    x.push_back(r);
    x.push_back(100 + r);
    y.push_back(-r);
  }
  const Windows w = make_windows(x, 2, y, {.lookback = 2, .horizon = 1}, 2, 8);
  ASSERT_EQ(w.x.shape(), (Shape{4, 2, 2}));
  EXPECT_EQ(w.x[0], 2.0f);
  EXPECT_EQ(w.x[1], 102.0f);
  EXPECT_EQ(w.y[0], -4.0f);
  EXPECT_EQ(w.origin.back(), 6);
  EXPECT_THROW(make_windows(x, 3, y, {.lookback = 2}), ShapeError);
}

TEST(Scaler, StandardAndMinMaxRoundTrip) {
  const std::vector<double> v = {1, 10, 3, 20, 5, 30};  // two features
  const Scaler s = Scaler::fit(ScalerKind::standard, v, 2);
  EXPECT_DOUBLE_EQ(s.offset[0], 3);
  EXPECT_NEAR(s.scale[0], std::sqrt(8.0 / 3.0), 1e-12);
  EXPECT_DOUBLE_EQ(s.offset[1], 20);
  std::vector<double> t = v;
  s.transform(t);
  EXPECT_NEAR(t[0], -2 / std::sqrt(8.0 / 3.0), 1e-12);
  s.inverse_transform(t);
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(t[i], v[i], 1e-12);

  const Scaler mm = Scaler::fit(ScalerKind::minmax, v, 2);
  EXPECT_DOUBLE_EQ(mm.transform(5, 0), 1.0);
  EXPECT_DOUBLE_EQ(mm.transform(20, 1), 0.5);
  EXPECT_DOUBLE_EQ(mm.inverse(0.5, 1), 20);

  for (const Scaler& x : {s, mm, Scaler::fit(ScalerKind::none, v)}) {
    const Scaler back = Scaler::from_json(nlohmann::json::parse(x.to_json().dump()));
    EXPECT_EQ(back.kind, x.kind);
    if (x.kind != ScalerKind::none) {
      for (std::size_t f = 0; f < x.offset.size(); ++f) {
        EXPECT_DOUBLE_EQ(back.offset[f], x.offset[f]);
        EXPECT_NEAR(back.scale[f], x.scale[f], 1e-12);
      }
    }
  }
  // a constant feature gets scale 1
  EXPECT_EQ(Scaler::fit(ScalerKind::standard, std::vector<double>{4, 4, 4}).scale[0], 1.0);
}

TEST(Scaler, Errors) {
  EXPECT_EQ(error_of<InvalidArgument>([] {
              Scaler::fit(ScalerKind::standard, std::vector<double>{1, NAN});
            }),
            "scaler: value nan at row 1, feature 0 is not finite");
  EXPECT_THROW(Scaler::fit(ScalerKind::standard, std::vector<double>{}), InvalidArgument);
  EXPECT_EQ(error_of<FormatError>([] { Scaler::from_json({{"kind", "robust"}}); }),
            "scaler: unknown scaler 'robust'; expected none, minmax or standard");
  EXPECT_EQ(error_of<FormatError>([] {
              Scaler::from_json({{"kind", "standard"}, {"mean", {1.0}}});
            }),
            "scaler: 'std' must be a non-empty list of numbers");
  EXPECT_EQ(error_of<FormatError>([] {
              Scaler::from_json({{"kind", "standard"}, {"mean", {1.0}}, {"std", {0.0}}});
            }),
            "scaler: scale 0 must be positive");
  EXPECT_EQ(parse_scaler_kind("minmax"), ScalerKind::minmax);
}

TEST(Dates, Frequency) {
  EXPECT_EQ(detect_frequency({"1949-01", "1949-02", "1949-03"}), Frequency::monthly);
  EXPECT_EQ(detect_frequency({"1949-11", "1949-12", "1950-01"}), Frequency::monthly);
  EXPECT_EQ(detect_frequency({"1949-01", "1949-04", "1949-07"}), Frequency::quarterly);
  EXPECT_EQ(detect_frequency({"2020-02-28", "2020-02-29", "2020-03-01"}), Frequency::daily);
  EXPECT_EQ(detect_frequency({"2020-01-06", "2020-01-13", "2020-01-20"}), Frequency::weekly);
  EXPECT_EQ(detect_frequency({"2020-01-31", "2020-02-29", "2020-03-31"}), Frequency::monthly);
  EXPECT_EQ(detect_frequency({"2020-01-01", "2020-04-01", "2020-07-01"}), Frequency::quarterly);
  EXPECT_EQ(detect_frequency({"2019Q4", "2020Q1", "2020Q2"}), Frequency::quarterly);
  EXPECT_EQ(detect_frequency({"1990", "1991", "1992"}), Frequency::yearly);
  EXPECT_EQ(detect_frequency({"2020-01-01 23:00", "2020-01-02 00:00"}), Frequency::hourly);
  EXPECT_EQ(detect_frequency({"2020-01-01", "2020-01-03"}), Frequency::none);  // gap
  EXPECT_EQ(detect_frequency({"a", "b"}), Frequency::none);
  EXPECT_EQ(detect_frequency({"1949-01", "1949-13"}), Frequency::none);
  EXPECT_EQ(detect_frequency({"112", "118"}), Frequency::none);
  EXPECT_EQ(season_for(Frequency::monthly), 12);
  EXPECT_EQ(season_for(Frequency::quarterly), 4);
  EXPECT_EQ(season_for(Frequency::daily), 7);
  EXPECT_EQ(season_for(Frequency::none), 1);
}

TEST(Dates, Next) {
  EXPECT_EQ(next_dates("1960-11", Frequency::monthly, 3),
            (std::vector<std::string>{"1960-12", "1961-01", "1961-02"}));
  EXPECT_EQ(next_dates("2020-02-28", Frequency::daily, 2),
            (std::vector<std::string>{"2020-02-29", "2020-03-01"}));
  EXPECT_EQ(next_dates("2020-01-31", Frequency::monthly, 2),
            (std::vector<std::string>{"2020-02-29", "2020-03-31"}));
  EXPECT_EQ(next_dates("2020Q4", Frequency::quarterly, 2),
            (std::vector<std::string>{"2021Q1", "2021Q2"}));
  EXPECT_EQ(next_dates("2020-12-31 23:00", Frequency::hourly, 1),
            (std::vector<std::string>{"2021-01-01 00:00"}));
  EXPECT_EQ(next_dates("x", Frequency::none, 2), (std::vector<std::string>{"+1", "+2"}));
}

TEST(ForecastTransform, SamplesDecodeAndJson) {
  std::vector<double> y;
  for (int i = 0; i < 40; ++i) y.push_back(100 + i + 10 * (i % 4));
  for (const char* ref : {"last", "seasonal"}) {
    ForecastTransform tr;
    tr.log = true;
    tr.reference = ref;
    tr.season = 4;
    tr.lookback = 3;
    tr.horizon = 6;
    const auto z = tr.to_z(y);
    tr.input_scaler = Scaler::fit(ScalerKind::standard, std::vector<double>{-0.1, 0.0, 0.2});
    tr.target_scaler = Scaler::fit(ScalerKind::standard, std::vector<double>{-0.3, 0.1, 0.5});
    EXPECT_EQ(tr.history(), std::string(ref) == "seasonal" ? 4 : 3);
    const Windows w = tr.samples(z, {5, 20});
    ASSERT_EQ(w.x.shape(), (Shape{2, 3, 1}));
    ASSERT_EQ(w.y.shape(), (Shape{2, 6}));
    EXPECT_NEAR(tr.input_scaler.inverse(w.x[2]), 0.0, 1e-6);  // z_o - z_o
    // Decoding the true (scaled) targets gives back the series.
    std::vector<float> out(w.y.data() + 6, w.y.data() + 12);
    const auto f = tr.decode(z, 20, out);
    for (int h = 0; h < 6; ++h) EXPECT_NEAR(f[static_cast<std::size_t>(h)], y[static_cast<std::size_t>(21 + h)], 1e-3) << ref << h;
    const ForecastTransform back = ForecastTransform::from_json(tr.to_json());
    EXPECT_EQ(back.reference, tr.reference);
    EXPECT_EQ(back.lookback, 3);
    EXPECT_EQ(back.horizon, 6);
    EXPECT_EQ(back.season, 4);
    EXPECT_TRUE(back.log);
  }
  ForecastTransform tr;
  tr.log = true;
  EXPECT_EQ(error_of<InvalidArgument>([&] { tr.to_z(std::vector<double>{1, 0}); }),
            "value 0 at position 2 is not positive, but the model works on log values");
  EXPECT_EQ(error_of<FormatError>([] {
              ForecastTransform::from_json({{"log", true}, {"reference", "mean"}});
            }),
            "recur.preprocessing: 'reference' is \"mean\", expected \"last\" or \"seasonal\"");
}

}  // namespace
}  // namespace recur::data
