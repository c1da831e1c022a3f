// The recur binary end to end: usage errors exit 2, runtime errors exit 1 with one
// "recur: error: ..." line naming what is wrong; bad model files and bad inputs never crash.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <limits>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/npy.hpp"
#include "io/safetensors.hpp"
#include "recur/recur.hpp"
#include "support/cli_run.hpp"
#include "support/compare.hpp"
#include "support/files.hpp"

namespace fs = std::filesystem;
using recur::testing::CliRun;
using recur::testing::recur_cli;

namespace {

class CliTest : public recur::testing::TempDirTest {
 protected:
  // LSTM(4) + Dense(2) on 3 features, saved with the library.
  std::string good_model() {
    recur::Sequential m("m");
    m.add(recur::make_lstm("lstm", {.units = 4}));
    m.add(std::make_unique<recur::Dense>("dense", recur::DenseOptions{.units = 2}));
    m.build({-1, 3}, 1);
    const std::string p = path("good.safetensors");
    recur::save_model(p, m);
    return p;
  }
  std::string embedding_model() {
    recur::Sequential m("m");
    m.add(std::make_unique<recur::Embedding>("emb", recur::EmbeddingOptions{.input_dim = 10,
                                                                            .output_dim = 3}));
    m.add(recur::make_gru("gru", {.units = 4}));
    m.build({-1}, 1);
    const std::string p = path("emb.safetensors");
    recur::save_model(p, m);
    return p;
  }
  std::string write_x(const std::string& name, recur::Tensor x) {
    recur::io::write_npy(path(name), x);
    return path(name);
  }
  std::string write_bytes(const std::string& name, const std::vector<std::uint8_t>& bytes) {
    return write(name, std::string(bytes.begin(), bytes.end()));
  }
  // A safetensors file from a header JSON and a data buffer of `data_bytes` zero bytes.
  std::string raw_safetensors(const std::string& name, const nlohmann::json& header,
                              std::size_t data_bytes) {
    std::string h = header.dump();
    while (h.size() % 8) h += ' ';
    std::vector<std::uint8_t> b(8 + h.size() + data_bytes, 0);
    const std::uint64_t n = h.size();
    std::memcpy(b.data(), &n, 8);
    std::memcpy(b.data() + 8, h.data(), h.size());
    return write_bytes(name, b);
  }
};

nlohmann::json lstm_arch(const std::string& activation = "tanh",
                         const std::string& cls = "LSTM") {
  return {{"class_name", "Sequential"},
          {"config",
           {{"name", "s"},
            {"layers",
             {{{"class_name", cls},
               {"config",
                {{"name", "lstm"}, {"units", 2}, {"activation", activation},
                 {"batch_input_shape", {nullptr, nullptr, 1}}}}}}}}}};
}

// Header for an LSTM(2) on 1 feature: kernel [1, 8], recurrent_kernel [2, 8], bias [8].
nlohmann::json lstm_header(const nlohmann::json& arch, const std::string& kernel_dtype = "F32",
                           std::vector<int> kernel_shape = {1, 8},
                           std::vector<int> rk_offsets = {32, 96}) {
  return {{"__metadata__", {{"recur.format", "1"}, {"recur.model", arch.dump()}}},
          {"lstm/kernel", {{"dtype", kernel_dtype}, {"shape", kernel_shape},
                           {"data_offsets", {0, 32}}}},
          {"lstm/recurrent_kernel", {{"dtype", "F32"}, {"shape", {2, 8}},
                                     {"data_offsets", rk_offsets}}},
          {"lstm/bias", {{"dtype", "F32"}, {"shape", {8}}, {"data_offsets", {96, 128}}}}};
}

void expect_error(const CliRun& r, int rc, const std::string& needle) {
  EXPECT_EQ(r.rc, rc) << r.out;
  EXPECT_NE(r.out.find("recur: error:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(needle), std::string::npos) << "expected '" << needle << "' in: " << r.out;
  EXPECT_EQ(r.out.find("internal error"), std::string::npos) << r.out;
}

}  // namespace

TEST_F(CliTest, HelpOnEveryCommand) {
  for (const char* cmd : {"", "predict", "info"}) {
    CliRun r = recur_cli(std::string(cmd) + " --help");
    EXPECT_EQ(r.rc, 0) << cmd << ": " << r.out;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << r.out;
  }
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  expect_error(recur_cli(""), 2, "subcommand");
  expect_error(recur_cli("frobnicate"), 2, "subcommand");
  expect_error(recur_cli("predict --model m.safetensors"), 2, "--input");
  expect_error(recur_cli("info --model m --bogus"), 2, "--bogus");
}

TEST_F(CliTest, PredictAndInfoWork) {
  const std::string m = good_model();
  const std::string x = write_x("x.npy", recur::Tensor({2, 5, 3}, 0.5f));
  CliRun r = recur_cli("predict --model " + m + " --input " + x + " --output " + path("y.npy"));
  ASSERT_EQ(r.rc, 0) << r.out;
  recur::Tensor y = recur::testing::load_npy(path("y.npy"));
  EXPECT_EQ(y.shape(), (recur::Shape{2, 2}));
  r = recur_cli("info --model " + m);
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("lstm (LSTM)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Total params: 138"), std::string::npos) << r.out;  // 3*16+4*16+16 + 4*2+2
  r = recur_cli("info --json --model " + m);
  ASSERT_EQ(r.rc, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["total_params"], 138);
  EXPECT_EQ(j["layers"][0]["class_name"], "LSTM");
}

// Extreme inputs (docs/NUMERICS.md): huge values, denormals, NaN/Inf and a very long sequence at
// batch 1 never crash; finite inputs give finite outputs; anything that can make an output
// meaningless is named in a warning on stderr, and the outputs are still written.
TEST_F(CliTest, ExtremeInputsWarnInsteadOfFailingSilently) {
  const std::string m = good_model();
  auto predict = [&](const std::string& x) {
    return recur_cli("predict --model " + m + " --input " + x + " --output " + path("y.npy"));
  };
  auto all_finite = [&] {
    const recur::Tensor y = recur::testing::load_npy(path("y.npy"));
    for (int64_t i = 0; i < y.numel(); ++i)
      if (!std::isfinite(y[i])) return false;
    return true;
  };
  CliRun r = predict(write_x("big.npy", recur::Tensor({2, 5, 3}, 1e30f)));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(all_finite());  // saturated gates, not overflow: LSTM outputs stay bounded
  EXPECT_NE(r.out.find("recur: warning: " + path("big.npy") + ": input values reach 1e+30"),
            std::string::npos) << r.out;
  r = predict(write_x("denormal.npy", recur::Tensor({2, 5, 3}, 1e-40f)));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(all_finite());
  EXPECT_EQ(r.out.find("warning"), std::string::npos) << r.out;
  // Values that overflow float32 inside the products: the NaN/Inf outputs are named.
  recur::Tensor x_max({2, 5, 3}, 3e38f);
  for (int64_t i = 0; i < x_max.numel(); i += 2) x_max[i] = -3e38f;
  r = predict(write_x("max.npy", x_max));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(all_finite());  // bounded gates absorb even float32's largest values
  // An unbounded (relu) recurrent layer does overflow: the Inf outputs are named in a warning.
  recur::Sequential relu("relu");
  relu.add(recur::make_simple_rnn("rnn", {.units = 2, .activation = recur::Activation::relu}));
  relu.add(std::make_unique<recur::Dense>("dense", recur::DenseOptions{.units = 1}));
  relu.build({-1, 3}, 1);
  for (std::size_t i = 0; i < relu.weights().size(); ++i) relu.weights()[i] = i % 2 ? -1.0f : 1.0f;
  recur::save_model(path("relu.safetensors"), relu);
  r = recur_cli("predict --model " + path("relu.safetensors") + " --input " + path("max.npy") +
                " --output " + path("y.npy"));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_FALSE(all_finite());
  EXPECT_NE(r.out.find("recur: warning: " + path("y.npy") + ": 1 of 2 output values are NaN or Inf "
                       "(first at row 0)"),
            std::string::npos) << r.out;
  // T = 20,000 at batch 1: runs, stays finite, and equals the same sequence inside a batch of 2.
  recur::Tensor x_long({2, 20000, 3});
  for (int64_t i = 0; i < x_long.numel(); ++i) x_long[i] = std::sin(0.001f * static_cast<float>(i));
  recur::Tensor x_one({1, 20000, 3});
  std::copy(x_long.data(), x_long.data() + x_one.numel(), x_one.data());
  r = predict(write_x("long1.npy", x_one));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(all_finite());
  EXPECT_EQ(r.out.find("warning"), std::string::npos) << r.out;
  const recur::Tensor y_one = recur::testing::load_npy(path("y.npy"));
  ASSERT_EQ(predict(write_x("long2.npy", x_long)).rc, 0);
  const recur::Tensor y_two = recur::testing::load_npy(path("y.npy"));
  for (int64_t j = 0; j < 2; ++j) EXPECT_NEAR(y_one[j], y_two[j], 1e-5f);
}

TEST_F(CliTest, MissingAndCorruptModelFiles) {
  const std::string x = write_x("x.npy", recur::Tensor({1, 2, 1}, 0.5f));
  auto predict = [&](const std::string& m) {
    return recur_cli("predict --model " + m + " --input " + x + " --output " + path("y.npy"));
  };
  expect_error(predict(path("nope.safetensors")), 1, "nope.safetensors");

  // Truncated at several offsets: always a clean error.
  const std::string good = good_model();
  std::ifstream in(good, std::ios::binary);
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  for (std::size_t cut : {std::size_t{0}, std::size_t{4}, std::size_t{12}, bytes.size() / 2,
                          bytes.size() - 1}) {
    std::vector<std::uint8_t> part(bytes.begin(), bytes.begin() + static_cast<long>(cut));
    CliRun r = predict(write_bytes("cut.safetensors", part));
    EXPECT_EQ(r.rc, 1) << "cut at " << cut << ": " << r.out;
    EXPECT_NE(r.out.find("recur: error:"), std::string::npos) << r.out;
  }
  // Header length beyond the file.
  std::vector<std::uint8_t> huge = bytes;
  const std::uint64_t n = 1ull << 40;
  std::memcpy(huge.data(), &n, 8);
  expect_error(predict(write_bytes("huge.safetensors", huge)), 1, "huge.safetensors");

  const nlohmann::json arch = lstm_arch();
  // Overlapping tensor offsets.
  expect_error(predict(raw_safetensors("overlap.safetensors",
                                       lstm_header(arch, "F32", {1, 8}, {16, 80}), 128)),
               1, "overlap");
  // Offsets past the buffer.
  expect_error(predict(raw_safetensors("range.safetensors", lstm_header(arch), 100)), 1,
               "range.safetensors");
  // Wrong dtype, wrong shape for the layer.
  expect_error(predict(raw_safetensors("dtype.safetensors", lstm_header(arch, "I32"), 128)), 1,
               "expected F32");
  nlohmann::json bad_shape = lstm_header(arch, "F32", {2, 4});
  expect_error(predict(raw_safetensors("shape.safetensors", bad_shape, 128)), 1, "[1, 8]");
  // Unknown layer class, unknown activation.
  expect_error(predict(raw_safetensors("class.safetensors", lstm_header(lstm_arch("tanh", "QRNN")),
                                       128)),
               1, "unknown layer class 'QRNN'");
  expect_error(predict(raw_safetensors("act.safetensors", lstm_header(lstm_arch("swishy")), 128)),
               1, "unknown activation 'swishy'");
  // Not a recur file: no recur.model.
  nlohmann::json no_model = lstm_header(arch);
  no_model["__metadata__"].erase("recur.model");
  expect_error(predict(raw_safetensors("nomodel.safetensors", no_model, 128)), 1, "recur.model");
  // A well-formed file works (sanity of the hand-made header).
  CliRun ok = predict(raw_safetensors("ok.safetensors", lstm_header(arch), 128));
  EXPECT_EQ(ok.rc, 0) << ok.out;
}

TEST_F(CliTest, BadInputs) {
  const std::string m = good_model();
  auto predict = [&](const std::string& x) {
    return recur_cli("predict --model " + m + " --input " + x + " --output " + path("y.npy"));
  };
  expect_error(predict(write_x("rank.npy", recur::Tensor({2, 3}, 1.0f))), 1, "[N, T, F]");
  expect_error(predict(write_x("feat.npy", recur::Tensor({2, 4, 5}, 1.0f))), 1,
               "5 features, expected 3");
  recur::Tensor nan({1, 3, 3}, 0.0f);
  nan[4] = std::nanf("");
  expect_error(predict(write_x("nan.npy", nan)), 1, "NaN at sample 0, step 1, feature 1");
  recur::Tensor inf({1, 3, 3}, 0.0f);
  inf[8] = INFINITY;
  expect_error(predict(write_x("inf.npy", inf)), 1, "Inf at sample 0, step 2, feature 2");
  expect_error(predict(path("absent.npy")), 1, "absent.npy");

  // Token ids: out of range, and float input for an id model.
  const std::string em = embedding_model();
  recur::io::NpyArray ids{recur::io::DType::I64, {1, 3}, std::vector<std::uint8_t>(24, 0)};
  const int64_t bad_id = 10;
  std::memcpy(ids.bytes.data() + 8, &bad_id, 8);
  recur::io::write_npy(path("ids.npy"), ids);
  expect_error(recur_cli("predict --model " + em + " --input " + path("ids.npy") + " --output " +
                         path("y.npy")),
               1, "token id 10 at sample 0, step 1 is outside [0, 10)");
  expect_error(recur_cli("predict --model " + em + " --input " +
                         write_x("f.npy", recur::Tensor({1, 3}, 1.0f)) + " --output " +
                         path("y.npy")),
               1, "int32 or int64");
  // Nothing is written when predict fails.
  EXPECT_FALSE(fs::exists(path("y.npy")));
}
