// export_onnx and `recur export-onnx`, checked against an outside implementation: each model is
// built with random weights, exported, run in ONNX Runtime (tests/interop/ort_run.mjs on
// onnxruntime-node, which also validates the graph while loading it) on random inputs, and
// compared with recur's own predict: max |diff| <= 1e-5.
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/npy.hpp"
#include "recur/error.hpp"
#include "recur/interop/onnx.hpp"
#include "recur/io/model_file.hpp"
#include "recur/layers/bidirectional.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/dropout.hpp"
#include "recur/layers/embedding.hpp"
#include "recur/layers/masking.hpp"
#include "recur/layers/merge.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/model/functional.hpp"
#include "recur/model/sequential.hpp"
#include "support/cli_run.hpp"
#include "support/compare.hpp"
#include "support/errors.hpp"
#include "support/files.hpp"

namespace recur {
namespace {

namespace fs = std::filesystem;
using testing::TempDirTest;

constexpr double kTol = 1e-5;

// Every weight uniform in [-0.6, 0.6] (biases included, so that bias layouts are tested).
void randomize(Model& m, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-0.6f, 0.6f);
  for (float& w : m.weights()) w = u(gen);
}

// Batch-first float inputs [N, T, F], uniform in [-1, 1].
Tensor random_input(int64_t N, int64_t T, int64_t F, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Tensor x({N, T, F});
  for (float& v : x.span()) v = u(gen);
  return x;
}

// Token ids [N, T] in [1, V), stored as floats like recur's inputs.
Tensor random_ids(int64_t N, int64_t T, int64_t V, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> u(1, static_cast<int>(V) - 1);
  Tensor x({N, T});
  for (float& v : x.span()) v = static_cast<float>(u(gen));
  return x;
}

// Output file name of an ONNX output in ort_run.mjs's folder.
std::string output_file(std::string name) {
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '_';
  return name + ".npy";
}

// check() exports a model and queues an ONNX Runtime run; the queue runs in one Node process
// (ONNX Runtime loads once) at the end of the test, or at run_queued().
class OnnxExportTest : public TempDirTest {
 protected:
  void TearDown() override {
    run_queued();
    TempDirTest::TearDown();
  }

  // Writes `x` for ONNX Runtime: int64 ids when the model takes token ids, else float32.
  void write_input(const std::string& file, const Tensor& x, bool ids) {
    if (!ids) {
      io::write_npy(file, x);
      return;
    }
    io::NpyArray a{io::DType::I64, x.shape(), {}};
    a.bytes.resize(static_cast<std::size_t>(x.numel()) * 8);
    for (int64_t i = 0; i < x.numel(); ++i) {
      const int64_t v = static_cast<int64_t>(x[i]);
      std::memcpy(a.bytes.data() + i * 8, &v, 8);
    }
    io::write_npy(file, a);
  }

  struct Job {
    std::string tag, onnx;
    std::vector<std::string> input_names, input_files;
    std::vector<Tensor> expected;  // empty: only the outputs are wanted (run_ort)
  };

  Job make_job(const std::string& onnx, const std::vector<std::string>& input_names,
               const std::vector<Tensor>& xs, const std::vector<bool>& ids,
               const std::string& tag) {
    Job j{tag, onnx, input_names, {}, {}};
    for (std::size_t i = 0; i < xs.size(); ++i) {
      j.input_files.push_back(path(tag + "_in" + std::to_string(i) + ".npy"));
      write_input(j.input_files.back(), xs[i], ids[i]);
    }
    return j;
  }

  // Runs the jobs in one Node process; returns each job's outputs in graph order (and names).
  std::vector<std::vector<Tensor>> run_jobs(
      const std::vector<Job>& jobs, std::vector<std::vector<std::string>>* names = nullptr) {
    nlohmann::json list = nlohmann::json::array();
    for (const Job& j : jobs) {
      nlohmann::json inputs = nlohmann::json::object();
      for (std::size_t i = 0; i < j.input_names.size(); ++i)
        inputs[j.input_names[i]] = j.input_files[i];
      list.push_back({{"model", j.onnx}, {"out", path(j.tag + "_out")}, {"inputs", inputs}});
    }
    const std::string jobs_file = write("jobs_" + std::to_string(batch_++) + ".json", list.dump());
    const std::string cmd = "node " + std::string(RECUR_SOURCE_DIR) +
                            "/tests/interop/ort_run.mjs --jobs '" + jobs_file + "' 2>&1";
    std::string output;
    const int rc = testing::run_command(cmd, &output);
    EXPECT_EQ(rc, 0) << cmd << "\n" << output;
    std::vector<std::vector<Tensor>> all;
    if (rc != 0) return all;
    std::size_t pos = 0;
    for (const Job& j : jobs) {
      const std::size_t brace = output.find("{\"inputs\"", pos);
      EXPECT_NE(brace, std::string::npos) << output;
      if (brace == std::string::npos) return all;
      const std::size_t eol = output.find('\n', brace);
      pos = eol == std::string::npos ? output.size() : eol;
      const nlohmann::json info = nlohmann::json::parse(output.substr(brace, pos - brace));
      EXPECT_EQ(info.at("inputs").get<std::vector<std::string>>(), j.input_names) << j.tag;
      std::vector<Tensor> ys;
      std::vector<std::string> ns;
      for (const auto& n : info.at("outputs")) {
        ys.push_back(testing::load_npy(path(j.tag + "_out/" + output_file(n.get<std::string>()))));
        ns.push_back(n.get<std::string>());
      }
      all.push_back(std::move(ys));
      if (names) names->push_back(ns);
    }
    return all;
  }

  // One ONNX Runtime run now.
  std::vector<Tensor> run_ort(const std::string& onnx, const std::vector<std::string>& input_names,
                              const std::vector<Tensor>& xs, const std::vector<bool>& ids,
                              const std::string& tag, std::vector<std::string>* names = nullptr) {
    std::vector<std::vector<std::string>> ns;
    auto all = run_jobs({make_job(onnx, input_names, xs, ids, tag)}, &ns);
    if (all.empty()) return {};
    if (names) *names = ns[0];
    return all[0];
  }

  static std::vector<std::string> input_names(const Model& m) {
    if (auto* f = dynamic_cast<const Functional*>(&m)) {
      std::vector<std::string> names;
      for (std::size_t i = 0; i < f->num_inputs(); ++i) names.push_back(f->input_name(i));
      return names;
    }
    return {"input"};
  }

  // Exports `m` and queues a comparison of ONNX Runtime's outputs on xs with m.predict(xs).
  void check(Model& m, const std::vector<Tensor>& xs, const std::string& tag, int64_t opset = 14) {
    SCOPED_TRACE(tag);
    const std::string onnx = path(tag + ".onnx");
    OnnxExportOptions options;
    options.opset = opset;
    export_onnx(m, onnx, options);
    ASSERT_TRUE(fs::exists(onnx));
    EXPECT_FALSE(fs::exists(onnx + ".tmp"));
    std::vector<bool> ids;
    for (std::size_t i = 0; i < xs.size(); ++i) ids.push_back(m.takes_token_ids(i));
    Job j = make_job(onnx, input_names(m), xs, ids, tag);
    j.expected = m.predict(xs, 64);
    queued_.push_back(std::move(j));
  }

  // Runs the queued checks: max |ONNX Runtime - recur| <= kTol for every output.
  void run_queued() {
    if (queued_.empty()) return;
    const std::vector<Job> jobs = std::move(queued_);
    queued_.clear();
    const auto got = run_jobs(jobs);
    ASSERT_EQ(got.size(), jobs.size());
    for (std::size_t k = 0; k < jobs.size(); ++k) {
      SCOPED_TRACE(jobs[k].tag);
      ASSERT_EQ(got[k].size(), jobs[k].expected.size());
      for (std::size_t i = 0; i < got[k].size(); ++i)
        EXPECT_TRUE(testing::tensors_close(got[k][i], jobs[k].expected[i], kTol)) << "output " << i;
    }
  }

  std::vector<Job> queued_;
  int batch_ = 0;
};

std::unique_ptr<Dense> dense(const std::string& name, int64_t units,
                             Activation a = Activation::linear) {
  return std::make_unique<Dense>(name, DenseOptions{.units = units, .activation = a});
}

// ---- single recurrent layers (ONNX's own operators: no mask)
// --------------------------------------

TEST_F(OnnxExportTest, LstmLastStepWithDenseHead) {
  Sequential m("lstm_model");
  m.add(make_lstm("lstm", {.units = 5}));
  m.add(dense("out", 2));
  m.build({-1, 3});
  randomize(m, 1);
  check(m, {random_input(5, 7, 3, 2)}, "lstm");
}

TEST_F(OnnxExportTest, GruResetAfterTrueAndFalse) {
  for (bool after : {true, false}) {
    Sequential m("gru_model");
    m.add(make_gru("gru", {.units = 4, .return_sequences = true, .reset_after = after}));
    m.build({-1, 3});
    randomize(m, 3);
    check(m, {random_input(5, 6, 3, 4)}, after ? "gru_after" : "gru_before");
  }
}

TEST_F(OnnxExportTest, SimpleRnnActivations) {
  for (Activation a :
       {Activation::tanh, Activation::relu, Activation::linear, Activation::sigmoid}) {
    Sequential m("rnn_model");
    m.add(make_simple_rnn("rnn", {.units = 4, .activation = a, .return_sequences = true}));
    m.build({-1, 2});
    randomize(m, 5);
    check(m, {random_input(3, 5, 2, 6)}, std::string("rnn_") + activation_name(a));
  }
}

TEST_F(OnnxExportTest, HardSigmoidRecurrentActivations) {
  // hard_sigmoid = clip(0.2x + 0.5) and hard_sigmoid_v3 = clip(x/6 + 0.5) -> ONNX HardSigmoid
  // with alpha/beta; linear -> Affine(1, 0); large weights so the clipping is reached.
  int n = 0;
  for (Activation rec : {Activation::hard_sigmoid, Activation::hard_sigmoid_v3}) {
    for (CellKind kind : {CellKind::lstm, CellKind::gru}) {
      Sequential m("hs");
      RecurrentOptions o{.units = 4,
                         .activation = Activation::linear,
                         .recurrent_activation = rec,
                         .return_sequences = true};
      m.add(kind == CellKind::lstm ? make_lstm("r", o) : make_gru("r", o));
      m.build({-1, 3});
      randomize(m, 7);
      for (float& w : m.weights()) w *= 4.0f;
      check(m, {random_input(4, 6, 3, 8)}, "hard_sigmoid_" + std::to_string(n++));
    }
  }
}

TEST_F(OnnxExportTest, NoBias) {
  Sequential m("nb");
  m.add(make_lstm("lstm", {.units = 3, .use_bias = false, .return_sequences = true}));
  m.add(make_gru("gru",
                 {.units = 3, .use_bias = false, .return_sequences = true, .reset_after = true}));
  m.add(std::make_unique<Dense>("out", DenseOptions{.units = 2, .use_bias = false}));
  m.build({-1, 2});
  randomize(m, 9);
  check(m, {random_input(3, 4, 2, 10)}, "no_bias");
}

TEST_F(OnnxExportTest, StackedReturnSequences) {
  Sequential m("stack");
  m.add(make_lstm("l1", {.units = 6, .return_sequences = true}));
  m.add(std::make_unique<Dropout>("drop", 0.3f));
  m.add(make_gru("l2", {.units = 5, .return_sequences = true}));
  m.add(make_simple_rnn("l3", {.units = 4}));
  m.add(dense("out", 3, Activation::softmax));
  m.build({-1, 3});
  randomize(m, 11);
  check(m, {random_input(5, 8, 3, 12)}, "stacked");
}

TEST_F(OnnxExportTest, GoBackwards) {
  int n = 0;
  for (CellKind kind : {CellKind::lstm, CellKind::gru, CellKind::simple})
    for (bool seq : {true, false}) {
      Sequential m("back");
      RecurrentOptions o{.units = 4, .return_sequences = seq, .go_backwards = true};
      m.add(kind == CellKind::lstm  ? make_lstm("r", o)
            : kind == CellKind::gru ? make_gru("r", o)
                                    : make_simple_rnn("r", o));
      m.build({-1, 3});
      randomize(m, 13);
      check(m, {random_input(3, 6, 3, 14)}, "back_" + std::to_string(n++));
    }
}

TEST_F(OnnxExportTest, DenseSoftmaxOn2dAnd3d) {
  for (bool seq : {false, true}) {
    Sequential m("sm");
    m.add(make_gru("gru", {.units = 5, .return_sequences = seq}));
    m.add(dense("hidden", 6, Activation::relu));
    m.add(dense("probs", 4, Activation::softmax));
    m.build({-1, 3});
    randomize(m, 15);
    check(m, {random_input(5, 4, 3, 16)}, seq ? "softmax_3d" : "softmax_2d");
  }
}

TEST_F(OnnxExportTest, EveryDenseActivation) {
  Sequential m("acts");
  m.add(make_lstm("lstm", {.units = 4, .return_sequences = true}));
  m.add(dense("a", 4, Activation::tanh));
  m.add(dense("b", 4, Activation::sigmoid));
  m.add(dense("c", 4, Activation::hard_sigmoid));
  m.add(dense("d", 4, Activation::hard_sigmoid_v3));
  m.add(dense("e", 4, Activation::relu));
  m.add(dense("f", 2));
  m.build({-1, 3});
  randomize(m, 17);
  for (float& w : m.weights()) w *= 3.0f;
  check(m, {random_input(3, 5, 3, 18)}, "dense_acts");
}

TEST_F(OnnxExportTest, FixedLengthInput) {
  Sequential m("fixed");
  m.add(make_lstm("lstm", {.units = 3, .return_sequences = true}));
  m.build({5, 2});
  randomize(m, 19);
  check(m, {random_input(4, 5, 2, 20)}, "fixed");
}

// ---- Bidirectional
// ---------------------------------------------------------------------------------

TEST_F(OnnxExportTest, BidirectionalEveryMergeMode) {
  int n = 0;
  for (MergeMode mode : {MergeMode::concat, MergeMode::sum, MergeMode::mul, MergeMode::ave})
    for (bool seq : {true, false}) {
      Sequential m("bi");
      m.add(std::make_unique<Bidirectional>("bi",
                                            n % 3 == 0   ? CellKind::lstm
                                            : n % 3 == 1 ? CellKind::gru
                                                         : CellKind::simple,
                                            RecurrentOptions{.units = 4, .return_sequences = seq},
                                            mode));
      m.add(dense("out", 2));
      m.build({-1, 3});
      randomize(m, 21 + n);
      check(m, {random_input(5, 6, 3, 22)}, "bi_" + std::to_string(n++));
    }
}

TEST_F(OnnxExportTest, BidirectionalAroundGoBackwardsLayer) {
  Sequential m("bi_back");
  m.add(std::make_unique<Bidirectional>(
      "bi", CellKind::gru,
      RecurrentOptions{.units = 3, .return_sequences = true, .go_backwards = true}));
  m.build({-1, 2});
  randomize(m, 23);
  check(m, {random_input(3, 5, 2, 24)}, "bi_back");
}

// ---- masks (the Scan form) ---------------------------------------------------------------------

// Ids with left padding (row 0), right padding (row 1), holes (row 2), nothing (row 3), and a
// row of padding only (row 4).
Tensor padded_ids(int64_t V, unsigned seed) {
  Tensor x = random_ids(5, 7, V, seed);
  for (int64_t t = 0; t < 3; ++t) x[0 * 7 + t] = 0.0f;
  for (int64_t t = 4; t < 7; ++t) x[1 * 7 + t] = 0.0f;
  x[2 * 7 + 1] = x[2 * 7 + 4] = x[2 * 7 + 6] = 0.0f;
  for (int64_t t = 0; t < 7; ++t) x[4 * 7 + t] = 0.0f;
  return x;
}

TEST_F(OnnxExportTest, EmbeddingMaskZeroVariableLengths) {
  int n = 0;
  for (CellKind kind : {CellKind::lstm, CellKind::gru, CellKind::simple})
    for (bool seq : {true, false}) {
      Sequential m("emb");
      m.add(std::make_unique<Embedding>(
          "emb", EmbeddingOptions{.input_dim = 11, .output_dim = 4, .mask_zero = true}));
      RecurrentOptions o{.units = 5, .return_sequences = seq};
      m.add(kind == CellKind::lstm  ? make_lstm("r", o)
            : kind == CellKind::gru ? make_gru("r", o)
                                    : make_simple_rnn("r", o));
      m.add(dense("out", 3, Activation::softmax));
      m.build({-1});
      randomize(m, 25 + n);
      check(m, {padded_ids(11, 26)}, "emb_mask_" + std::to_string(n++));
    }
}

TEST_F(OnnxExportTest, EmbeddingWithoutMask) {
  Sequential m("emb_plain");
  m.add(std::make_unique<Embedding>("emb", EmbeddingOptions{.input_dim = 9, .output_dim = 3}));
  m.add(make_lstm("lstm", {.units = 4}));
  m.build({-1});
  randomize(m, 27);
  check(m, {padded_ids(9, 28)}, "emb_plain");
}

// x [5, 6, 3] with fully masked steps (all features 0) in several rows, a step with only some
// features 0 (not masked), and a row masked everywhere.
Tensor masked_input(unsigned seed) {
  Tensor x = random_input(5, 6, 3, seed);
  auto zero_step = [&](int64_t n, int64_t t) {
    for (int64_t f = 0; f < 3; ++f) x[(n * 6 + t) * 3 + f] = 0.0f;
  };
  zero_step(0, 0);
  zero_step(0, 1);
  zero_step(1, 5);
  zero_step(2, 2);
  zero_step(2, 3);
  x[(3 * 6 + 2) * 3 + 0] = 0.0f;  // partial: not masked
  for (int64_t t = 0; t < 6; ++t) zero_step(4, t);
  return x;
}

TEST_F(OnnxExportTest, MaskingLayerEveryCellAndDirection) {
  int n = 0;
  for (CellKind kind : {CellKind::lstm, CellKind::gru, CellKind::simple})
    for (bool back : {false, true})
      for (bool seq : {true, false}) {
        Sequential m("masking");
        m.add(std::make_unique<Masking>("mask", 0.0f));
        RecurrentOptions o{.units = 4, .return_sequences = seq, .go_backwards = back};
        m.add(kind == CellKind::lstm  ? make_lstm("r", o)
              : kind == CellKind::gru ? make_gru("r", o)
                                      : make_simple_rnn("r", o));
        m.add(dense("out", 2));
        m.build({-1, 3});
        randomize(m, 29 + n);
        check(m, {masked_input(30)}, "masking_" + std::to_string(n++));
      }
}

TEST_F(OnnxExportTest, MaskedGruResetBeforeAndActivations) {
  int n = 0;
  for (Activation rec :
       {Activation::sigmoid, Activation::hard_sigmoid, Activation::hard_sigmoid_v3})
    for (Activation act : {Activation::tanh, Activation::relu, Activation::linear}) {
      Sequential m("masked_acts");
      m.add(std::make_unique<Masking>("mask", 0.0f));
      m.add(make_gru("gru", {.units = 4,
                             .activation = act,
                             .recurrent_activation = rec,
                             .return_sequences = true,
                             .reset_after = n % 2 == 0}));
      m.add(make_lstm(
          "lstm",
          {.units = 3, .activation = act, .recurrent_activation = rec, .return_sequences = true}));
      m.build({-1, 3});
      randomize(m, 31 + n);
      for (float& w : m.weights()) w *= 2.0f;
      check(m, {masked_input(32)}, "masked_acts_" + std::to_string(n++));
    }
}

TEST_F(OnnxExportTest, MaskedBidirectionalEveryMergeMode) {
  int n = 0;
  for (MergeMode mode : {MergeMode::concat, MergeMode::sum, MergeMode::mul, MergeMode::ave})
    for (bool seq : {true, false}) {
      Sequential m("bi_mask");
      m.add(std::make_unique<Embedding>(
          "emb", EmbeddingOptions{.input_dim = 13, .output_dim = 3, .mask_zero = true}));
      m.add(std::make_unique<Bidirectional>("bi", n % 2 == 0 ? CellKind::lstm : CellKind::gru,
                                            RecurrentOptions{.units = 4, .return_sequences = seq},
                                            mode));
      m.add(dense("out", 2));
      m.build({-1});
      randomize(m, 33 + n);
      check(m, {padded_ids(13, 34)}, "bi_mask_" + std::to_string(n++));
    }
}

TEST_F(OnnxExportTest, MaskingValueOtherThanZero) {
  Sequential m("mask_value");
  m.add(std::make_unique<Masking>("mask", -1.0f));
  m.add(make_lstm("lstm", {.units = 3, .return_sequences = true}));
  m.build({-1, 2});
  randomize(m, 57);
  Tensor x = random_input(3, 5, 2, 58);
  x[0] = x[1] = -1.0f;                    // row 0, step 0: masked
  x[2 * 10 + 8] = -1.0f;                  // row 2, step 4: one feature only, not masked
  x[1 * 10 + 6] = x[1 * 10 + 7] = -1.0f;  // row 1, step 3: masked
  check(m, {x}, "mask_value");
}

TEST_F(OnnxExportTest, MaskThroughStackAndDense) {
  // The mask reaches every recurrent layer of a stack (return_sequences passes it on), and a
  // Dense between them passes it on too.
  Sequential m("mask_stack");
  m.add(std::make_unique<Masking>("mask", 0.0f));
  m.add(make_lstm("l1", {.units = 5, .return_sequences = true}));
  m.add(dense("mid", 4, Activation::tanh));
  m.add(make_gru("l2", {.units = 3, .return_sequences = true, .go_backwards = true}));
  m.add(make_simple_rnn("l3", {.units = 3}));
  m.build({-1, 3});
  randomize(m, 35);
  check(m, {masked_input(36)}, "mask_stack");
}

// ---- dynamic batch, opsets ----------------------------------------------------------------------

TEST_F(OnnxExportTest, OneFileServesBatchOneAndFive) {
  Sequential m("dyn");
  m.add(std::make_unique<Masking>("mask", 0.0f));
  m.add(make_lstm("lstm", {.units = 4, .return_sequences = true}));
  m.add(make_gru("gru", {.units = 3}));
  m.build({-1, 3});
  randomize(m, 37);
  const std::string onnx = path("dyn.onnx");
  export_onnx(m, onnx);
  const Tensor x5 = masked_input(38);
  Tensor x1({1, 6, 3});
  for (int64_t i = 0; i < 18; ++i) x1[i] = x5[2 * 18 + i];  // row 2 (two masked steps)
  const Tensor x9 = random_input(5, 9, 3, 39);              // another length too
  const std::vector<const Tensor*> xs = {&x5, &x1, &x9};
  std::vector<Job> jobs;
  for (std::size_t k = 0; k < xs.size(); ++k)
    jobs.push_back(make_job(onnx, {"input"}, {*xs[k]}, {false}, "dyn_" + std::to_string(k)));
  const auto got = run_jobs(jobs);
  ASSERT_EQ(got.size(), xs.size());
  for (std::size_t k = 0; k < xs.size(); ++k) {
    ASSERT_EQ(got[k].size(), 1u);
    EXPECT_EQ(got[k][0].dim(0), xs[k]->dim(0));
    EXPECT_TRUE(testing::tensors_close(got[k][0], m.predict(*xs[k]), kTol)) << "input " << k;
  }
}

TEST_F(OnnxExportTest, EverySupportedOpset) {
  Sequential m("opsets");
  m.add(std::make_unique<Masking>("mask", 0.0f));
  m.add(std::make_unique<Bidirectional>("bi", CellKind::lstm,
                                        RecurrentOptions{.units = 3, .return_sequences = true}));
  m.add(make_gru("gru", {.units = 3, .return_sequences = true}));
  m.add(dense("out", 2, Activation::softmax));
  m.build({-1, 3});
  randomize(m, 41);
  Sequential plain("plain");
  plain.add(std::make_unique<Bidirectional>("bi", CellKind::gru, RecurrentOptions{.units = 3},
                                            MergeMode::sum));
  plain.build({-1, 3});
  randomize(plain, 42);
  for (int64_t opset = 14; opset <= 21; ++opset) {
    check(m, {masked_input(43)}, "opset_masked_" + std::to_string(opset), opset);
    check(plain, {random_input(2, 4, 3, 44)}, "opset_plain_" + std::to_string(opset), opset);
  }
}

// ---- functional models --------------------------------------------------------------------------

TEST_F(OnnxExportTest, FunctionalTwoInputs) {
  Functional g("two_inputs");
  NodeRef a = g.input("series", {-1, 3});
  NodeRef b = g.input("tokens", {-1});
  NodeRef ma = g.call(std::make_unique<Masking>("mask", 0.0f), {a})[0];
  NodeRef ra = g.call(make_lstm("lstm", {.units = 4, .return_sequences = true}), {ma})[0];
  NodeRef eb =
      g.call(std::make_unique<Embedding>(
                 "emb", EmbeddingOptions{.input_dim = 10, .output_dim = 3, .mask_zero = true}),
             {b})[0];
  NodeRef rb = g.call(make_gru("gru", {.units = 4, .return_sequences = true}), {eb})[0];
  NodeRef sum = g.call(std::make_unique<Add>("add"), {ra, rb})[0];
  NodeRef cat = g.call(std::make_unique<Concatenate>("cat"), {ra, rb, sum})[0];
  NodeRef last = g.call(make_simple_rnn("rnn", {.units = 3}), {cat})[0];  // sees the AND mask
  NodeRef y = g.call(dense("head", 2, Activation::softmax), {last})[0];
  NodeRef y2 = g.call(dense("seq_head", 2), {sum})[0];
  g.build({a, b}, {y, y2});
  randomize(g, 45);
  Tensor ids = random_ids(5, 6, 10, 46);
  ids[0] = ids[1] = 0.0f;  // row 0: two padded steps
  ids[3 * 6 + 5] = 0.0f;   // row 3: last step padded
  check(g, {masked_input(47), ids}, "functional_two");
}

TEST_F(OnnxExportTest, FunctionalEncoderDecoderWithStates) {
  Functional s("seq2seq");
  NodeRef e_in = s.input("enc_in", {-1, 3});
  std::vector<NodeRef> enc = s.call(make_lstm("enc", {.units = 4, .return_state = true}), {e_in});
  NodeRef d_in = s.input("dec_in", {-1, 2});
  NodeRef d =
      s.call(make_lstm("dec", {.units = 4, .return_sequences = true}), {d_in}, {enc[1], enc[2]})[0];
  std::vector<NodeRef> g2 =
      s.call(make_gru("dec2", {.units = 4, .return_sequences = true, .return_state = true}), {d},
             {enc[1]});
  NodeRef out = s.call(dense("out", 2), {g2[0]})[0];
  s.build({e_in, d_in}, {out, enc[2], g2[1]});
  randomize(s, 49);
  check(s, {random_input(5, 6, 3, 50), random_input(5, 4, 2, 51)}, "seq2seq");

  // The same with a masked encoder input (Scan form, initial states from outside the loop).
  Functional m("seq2seq_masked");
  NodeRef mi = m.input("enc_in", {-1, 3});
  NodeRef mm = m.call(std::make_unique<Masking>("mask", 0.0f), {mi})[0];
  std::vector<NodeRef> menc = m.call(make_gru("enc", {.units = 4, .return_state = true}), {mm});
  NodeRef mdi = m.input("dec_in", {-1, 3});
  NodeRef mdm = m.call(std::make_unique<Masking>("dec_mask", 0.0f), {mdi})[0];
  NodeRef md = m.call(make_gru("dec", {.units = 4, .return_sequences = true}), {mdm}, {menc[1]})[0];
  m.build({mi, mdi}, {md, menc[1]});
  randomize(m, 52);
  check(m, {masked_input(53), masked_input(54)}, "seq2seq_masked");

  std::vector<std::string> names;
  run_ort(path("seq2seq.onnx"), {"enc_in", "dec_in"},
          {random_input(1, 2, 3, 1), random_input(1, 2, 2, 2)}, {false, false}, "names", &names);
  EXPECT_EQ(names, (std::vector<std::string>{"out", "enc_state_c", "dec2_state_h"}));
}

// ---- errors
// ---------------------------------------------------------------------------------------

// A layer recur's exporter does not know.
class Square : public Layer {
 public:
  Square() : Layer("square") {}
  const char* class_name() const override { return "Square"; }
  const Tensor& forward(const Context&, const Tensor& x, const Tensor*) override {
    y_ = x;
    for (float& v : y_.span()) v *= v;
    return y_;
  }
  const Tensor& backward(const Context&, const Tensor& dy) override { return dy; }
  nlohmann::json config() const override { return {{"name", name()}}; }

 protected:
  Shape do_build(const Shape& s) override { return s; }

 private:
  Tensor y_;
};

TEST_F(OnnxExportTest, UnsupportedLayerIsNamed) {
  Sequential m("odd");
  m.add(make_lstm("lstm", {.units = 3, .return_sequences = true}));
  m.add(std::make_unique<Square>());
  m.build({-1, 2});
  const std::string out = path("odd.onnx");
  testing::expect_error<ConfigError>(
      [&] { export_onnx(m, out); },
      out + ": cannot export Square 'square' to ONNX: layer type not supported (supported: ");
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out + ".tmp"));
}

TEST_F(OnnxExportTest, StatefulLayerIsRejected) {
  Sequential m("st");
  m.add(make_gru("gru", {.units = 3, .stateful = true}));
  m.build({-1, 2});
  const std::string out = path("st.onnx");
  testing::expect_error<ConfigError>(
      [&] { export_onnx(m, out); },
      out + ": cannot export GRU 'gru' to ONNX: stateful=True is not supported");
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(OnnxExportTest, UnsupportedOpsetIsRejected) {
  Sequential m("o");
  m.add(make_lstm("lstm", {.units = 3}));
  m.build({-1, 2});
  for (int64_t opset : {13, 22}) {
    OnnxExportOptions o;
    o.opset = opset;
    testing::expect_error<InvalidArgument>(
        [&] { export_onnx(m, path("o.onnx"), o); },
        "o.onnx: ONNX opset " + std::to_string(opset) + " is not supported (supported: 14 to 21)");
  }
  EXPECT_FALSE(fs::exists(path("o.onnx")));
}

TEST_F(OnnxExportTest, UnbuiltModelIsRejected) {
  Sequential m("unbuilt");
  m.add(make_lstm("lstm", {.units = 3}));
  testing::expect_error<InvalidArgument>(
      [&] { export_onnx(m, path("u.onnx")); },
      "u.onnx: model 'unbuilt' is not built; build it before exporting");
  EXPECT_FALSE(fs::exists(path("u.onnx")));
}

TEST_F(OnnxExportTest, UnwritablePathLeavesNothingBehind) {
  Sequential m("w");
  m.add(make_lstm("lstm", {.units = 3}));
  m.build({-1, 2});
  const std::string out = path("missing_dir/m.onnx");
  testing::expect_error<IoError>([&] { export_onnx(m, out); }, "missing_dir/m.onnx");
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out + ".tmp"));
  // An existing file is replaced only by a complete one: a directory in its place stays.
  fs::create_directories(path("is_dir.onnx"));
  testing::expect_error<IoError>([&] { export_onnx(m, path("is_dir.onnx")); }, "is_dir.onnx");
  EXPECT_TRUE(fs::is_directory(path("is_dir.onnx")));
  EXPECT_FALSE(fs::exists(path("is_dir.onnx.tmp")));
}

// ---- the command line ---------------------------------------------------------------------------

TEST_F(OnnxExportTest, CliExportsAndDescribes) {
  Sequential m("cli_model");
  m.add(std::make_unique<Embedding>(
      "emb", EmbeddingOptions{.input_dim = 8, .output_dim = 3, .mask_zero = true}));
  m.add(std::make_unique<Bidirectional>("bi", CellKind::lstm, RecurrentOptions{.units = 3}));
  m.add(dense("out", 2, Activation::softmax));
  m.build({-1});
  randomize(m, 55);
  const std::string model = path("m.safetensors"), onnx = path("m.onnx");
  save_model(model, m);
  testing::CliRun r = testing::recur_cli_split("export-onnx --model '" + model + "' --output '" +
                                               onnx + "' --opset 17 --json");
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("output"), onnx);
  EXPECT_EQ(j.at("inputs"), nlohmann::json::array({"input"}));
  EXPECT_EQ(j.at("outputs"), nlohmann::json::array({"output"}));
  EXPECT_EQ(j.at("opset"), 17);
  EXPECT_GT(j.at("nodes").get<int>(), 5);
  // ModelProto field 2 (producer_name) = "recur": tag 0x12, length 5.
  EXPECT_NE(testing::read_file(onnx).find(std::string("\x12\x05recur", 7)), std::string::npos);
  const Tensor ids = padded_ids(8, 56);
  const std::vector<Tensor> got = run_ort(onnx, {"input"}, {ids}, {true}, "cli");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(testing::tensors_close(got[0], m.predict(ids), kTol));

  // Without --json: silent success.
  r = testing::recur_cli_split("export-onnx --model '" + model + "' --output '" + onnx + "'");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(OnnxExportTest, CliErrors) {
  Sequential m("cli_err");
  m.add(make_gru("gru", {.units = 3, .stateful = true}));
  m.build({-1, 2});
  const std::string model = path("st.safetensors");
  save_model(model, m);
  // Unsupported opset: a usage error.
  testing::CliRun r = testing::recur_cli_split("export-onnx --model '" + model + "' --output '" +
                                               path("x.onnx") + "' --opset 9");
  EXPECT_EQ(r.rc, 2) << r.err;
  EXPECT_NE(r.err.find("--opset"), std::string::npos) << r.err;
  // Stateful model: a runtime error naming the layer; no file written.
  r = testing::recur_cli_split("export-onnx --model '" + model + "' --output '" + path("x.onnx") +
                               "'");
  testing::expect_one_line_error(r, "cannot export GRU 'gru' to ONNX: stateful=True");
  EXPECT_FALSE(fs::exists(path("x.onnx")));
  // Missing model file.
  r = testing::recur_cli_split("export-onnx --model '" + path("none.safetensors") + "' --output '" +
                               path("x.onnx") + "'");
  testing::expect_one_line_error(r, "none.safetensors");
}

}  // namespace
}  // namespace recur
