// recur import-onnx / import_onnx against PyTorch: tests/interop/torch_onnx_cases.py exports small
// seeded torch models with torch.onnx.export and writes torch's outputs; each file is imported
// and recur's predictions must match torch's within 1e-5 (batch sizes 4 and 1 through the same
// file). Then the error cases: unsupported operators, nonzero initial states, a bidirectional
// last step, and hostile files (truncated, external data escaping the folder or beyond its end,
// raw_data sizes that do not match the dims).
#ifndef ONNX_NAMESPACE
#define ONNX_NAMESPACE onnx
#endif
#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "recur/error.hpp"
#include "recur/interop/onnx.hpp"
#include "recur/layers/bidirectional.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/io/model_file.hpp"
#include "recur/model/sequential.hpp"
#include "support/cli_run.hpp"
#include "support/compare.hpp"
#include "support/errors.hpp"
#include "support/files.hpp"

namespace recur {
namespace {

namespace fs = std::filesystem;
using testing::expect_error;
using testing::load_npy;
using testing::tensors_close;

// The torch fixtures, made once per run of this executable (one python start: torch's import
// costs seconds).
const std::string& fixtures() {
  static const std::string dir = [] {
    const std::string d = std::string(RECUR_BINARY_DIR) + "/fixtures/onnx_import";
    const char* py = std::getenv("RECUR_PYTHON");
    const std::string cmd = std::string(py && *py ? py : "/usr/bin/python3") + " " +
                            RECUR_SOURCE_DIR + "/tests/interop/torch_onnx_cases.py " + d;
    std::string out;
    if (testing::run_command(cmd, &out) != 0) {
      ADD_FAILURE() << cmd << " failed:\n" << out;
      return std::string();
    }
    return d;
  }();
  return dir;
}

std::string fixture(const std::string& name) { return fixtures() + "/" + name; }

// Imports <name>.onnx and compares with torch at batch sizes 4 and 1.
void expect_matches_torch(const Model& model_in, const std::string& name) {
  Model& model = const_cast<Model&>(model_in);
  for (const char* suffix : {"", "1"}) {
    const Tensor x = load_npy(fixture(name + "_x" + suffix + ".npy"));
    const Tensor want = load_npy(fixture(name + "_y" + suffix + ".npy"));
    EXPECT_TRUE(tensors_close(model.predict(x), want, 1e-5))
        << name << " batch " << x.shape()[0];
  }
}

class TorchOnnxCase : public ::testing::TestWithParam<const char*> {};

TEST_P(TorchOnnxCase, MatchesTorch) {
  const std::string name = GetParam();
  std::unique_ptr<Model> model = import_onnx(fixture(name + ".onnx"));
  expect_matches_torch(*model, name);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TorchOnnxCase,
    ::testing::Values("lstm_last_linear", "gru_seq_linear", "rnn_tanh_last", "rnn_relu_seq",
                      "lstm_2layer", "bilstm_seq", "bigru_seq", "bigru_hn", "lstm_time_major",
                      "gru_time_major_last", "rnn_seq_tm", "gru_relu_seq", "lstm_slice_last",
                      "two_branch", "two_branch_add", "embed_lstm_softmax"));

// Two graph inputs (of different lengths and widths) become a Functional model's two inputs,
// in the graph's order; a decoder starting from an encoder's final states (h_n, and c_n for
// LSTM) is that layer called with the encoder's return_state outputs as its initial state, and
// the encoder's c_n can be a model output too.
void expect_two_input_case_matches_torch(const std::string& name,
                                         const std::vector<std::string>& outputs) {
  SCOPED_TRACE(name);
  auto model = import_onnx(fixture(name + ".onnx"));
  ASSERT_STREQ(model->class_name(), "Functional");
  for (const std::string suffix : {"", "1"}) {
    const Tensor a = load_npy(fixture(name + "_a" + suffix + ".npy"));
    const Tensor b = load_npy(fixture(name + "_b" + suffix + ".npy"));
    const std::vector<Tensor> got = model->predict({a, b});
    ASSERT_EQ(got.size(), outputs.size());
    for (std::size_t k = 0; k < outputs.size(); ++k) {
      const Tensor want = load_npy(fixture(name + "_" + outputs[k] + suffix + ".npy"));
      EXPECT_TRUE(tensors_close(got[k], want, 1e-5))
          << "output " << outputs[k] << ", batch " << a.shape()[0];
    }
  }
}

TEST(OnnxImport, SeveralGraphInputsAreAFunctionalModelsInputs) {
  expect_two_input_case_matches_torch("two_inputs", {"y"});
}

TEST(OnnxImport, InitialStatesFromAnotherLayersFinalStates) {
  expect_two_input_case_matches_torch("enc_dec_lstm", {"y", "c"});
  expect_two_input_case_matches_torch("enc_dec_gru", {"y"});
  auto model = import_onnx(fixture("enc_dec_lstm.onnx"));
  int with_states = 0;
  for (Layer* layer : model->layers())
    if (auto* r = dynamic_cast<Recurrent*>(layer)) with_states += r->options().return_state;
  EXPECT_EQ(with_states, 1);  // the encoder
}

// What the importer built: the layers and their options (not only the numbers).
TEST(OnnxImport, BuildsTheExpectedLayers) {
  auto model = import_onnx(fixture("lstm_2layer.onnx"));
  ASSERT_STREQ(model->class_name(), "Sequential");
  const auto layers = model->layers();
  ASSERT_EQ(layers.size(), 3u);
  auto* l0 = dynamic_cast<Recurrent*>(layers[0]);
  auto* l1 = dynamic_cast<Recurrent*>(layers[1]);
  auto* dense = dynamic_cast<Dense*>(layers[2]);
  ASSERT_TRUE(l0 && l1 && dense);
  EXPECT_EQ(l0->cell(), CellKind::lstm);
  EXPECT_TRUE(l0->options().return_sequences);   // feeds the second layer
  EXPECT_FALSE(l1->options().return_sequences);  // out[:, -1, :]
  EXPECT_EQ(dense->options().activation, Activation::sigmoid);  // Sigmoid folded into the Linear
  EXPECT_EQ(model->input_shape(), (Shape{-1, 3}));

  auto bi = import_onnx(fixture("bigru_hn.onnx"));
  auto* b = dynamic_cast<Bidirectional*>(bi->layers()[0]);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->merge_mode(), MergeMode::concat);
  EXPECT_FALSE(b->forward_layer().options().return_sequences);  // h_n of both directions
  EXPECT_TRUE(b->forward_layer().options().reset_after);
}

// GRU linear_before_reset=0 is Keras's reset_after=false. torch never writes it; recur's own
// export does (tests/interop/onnx_export_test.cpp checks that file against ONNX Runtime), so
// the round trip export -> import must give back the model: same options, same outputs.
class OnnxRoundTrip : public testing::TempDirTest {};

TEST_F(OnnxRoundTrip, GruLinearBeforeResetZeroIsResetAfterFalse) {
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> u(-0.6f, 0.6f);
  Tensor x({3, 5, 2});
  for (float& v : x.span()) v = u(gen);
  for (const bool bidirectional : {false, true})
    for (const bool use_bias : {true, false}) {
      SCOPED_TRACE(std::string(bidirectional ? "Bidirectional " : "") +
                   (use_bias ? "with bias" : "without bias"));
      const RecurrentOptions o{.units = 4, .use_bias = use_bias, .return_sequences = true,
                               .reset_after = false};
      Sequential m("gru_before");
      if (bidirectional)
        m.add(std::make_unique<Bidirectional>("bi", CellKind::gru, o));
      else
        m.add(make_gru("gru", o));
      m.add(std::make_unique<Dense>("out", DenseOptions{.units = 2}));
      m.build({-1, 2});
      for (float& w : m.weights()) w = u(gen);
      const std::string file = path("gru_before.onnx");
      export_onnx(m, file);
      std::unique_ptr<Model> back = import_onnx(file);
      const Recurrent* gru = bidirectional
                                 ? &dynamic_cast<Bidirectional*>(back->layers()[0])->forward_layer()
                                 : dynamic_cast<Recurrent*>(back->layers()[0]);
      ASSERT_TRUE(gru);
      EXPECT_EQ(gru->cell(), CellKind::gru);
      EXPECT_FALSE(gru->options().reset_after);
      EXPECT_TRUE(tensors_close(back->predict(x), m.predict(x), 1e-6));
    }
}

// direction="reverse" is a go_backwards layer. recur's export writes it for go_backwards layers
// (Y_h for the last output; for sequences, Y reversed by Slice(-1, -inf, step -1) into Keras's
// processing order), so those models must come back with the same outputs.
TEST_F(OnnxRoundTrip, ReverseDirectionIsGoBackwards) {
  std::mt19937 gen(11);
  std::uniform_real_distribution<float> u(-0.6f, 0.6f);
  Tensor x({3, 6, 2});
  for (float& v : x.span()) v = u(gen);
  const auto backwards = [](int64_t units, bool seq) {
    return RecurrentOptions{.units = units, .return_sequences = seq, .go_backwards = true};
  };
  struct Case {
    const char* name;
    std::function<void(Sequential&)> build;
  };
  const std::vector<Case> cases = {
      {"lstm_seq_dense", [&](Sequential& m) { m.add(make_lstm("l", backwards(4, true))); }},
      {"gru_last", [&](Sequential& m) { m.add(make_gru("g", backwards(3, false))); }},
      {"gru_before_last",
       [&](Sequential& m) {
         RecurrentOptions o = backwards(3, false);
         o.reset_after = false;
         m.add(make_gru("g", o));
       }},
      {"rnn_seq_then_lstm",
       [&](Sequential& m) {
         m.add(make_simple_rnn("r", backwards(5, true)));
         m.add(make_lstm("l2", {.units = 3, .return_sequences = true}));
       }},
      {"bidirectional_then_lstm",
       [&](Sequential& m) {
         m.add(std::make_unique<Bidirectional>(
             "b", CellKind::gru, RecurrentOptions{.units = 3, .return_sequences = true}));
         m.add(make_lstm("l", backwards(4, true)));
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Sequential m(c.name);
    c.build(m);
    m.add(std::make_unique<Dense>("out", DenseOptions{.units = 2}));
    m.build({-1, 2});
    for (float& w : m.weights()) w = u(gen);
    const std::string file = path(std::string(c.name) + ".onnx");
    export_onnx(m, file);
    std::unique_ptr<Model> back = import_onnx(file);
    bool any_backwards = false;
    for (Layer* layer : back->layers())
      if (auto* r = dynamic_cast<Recurrent*>(layer)) any_backwards |= r->options().go_backwards;
    EXPECT_TRUE(any_backwards);
    EXPECT_TRUE(tensors_close(back->predict(x), m.predict(x), 1e-6));
  }

  // The reversed Y used in ONNX's time order (the Slice that reverses it taken out): recur has
  // no layer for that, so it is refused by name.
  Sequential m("lstm_seq");
  m.add(make_lstm("l", backwards(4, true)));
  m.build({-1, 2});
  const std::string file = path("lstm_seq.onnx");
  export_onnx(m, file);
  onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromString(testing::read_file(file)));
  bool found = false;
  for (auto& node : *proto.mutable_graph()->mutable_node()) {
    if (node.op_type() != "Slice" || node.input_size() != 5) continue;
    const std::string data = node.input(0);
    node.clear_input();
    node.add_input(data);
    node.set_op_type("Identity");
    found = true;
  }
  ASSERT_TRUE(found);
  const std::string edited = path("lstm_seq_time_order.onnx");
  testing::write_file(edited, proto.SerializeAsString());
  expect_error<FormatError>([&] { import_onnx(edited); },
                            "uses the output sequence of reverse-direction LSTM (recur layer 'l");
}

// ONNX's activation lists (with HardSigmoid / Affine alpha and beta) map back onto recur's
// activation and recurrent_activation; recur's export writes them for every recur activation.
TEST_F(OnnxRoundTrip, ActivationsAndRecurrentActivations) {
  std::mt19937 gen(13);
  std::uniform_real_distribution<float> u(-0.6f, 0.6f);
  Tensor x({3, 5, 2});
  for (float& v : x.span()) v = u(gen);
  struct Case {
    const char* name;
    CellKind cell;
    Activation act, rec;
    bool bidirectional;
  };
  const std::vector<Case> cases = {
      {"lstm_hard_sigmoid", CellKind::lstm, Activation::tanh, Activation::hard_sigmoid, false},
      {"lstm_relu", CellKind::lstm, Activation::relu, Activation::sigmoid, false},
      {"gru_hard_sigmoid_v3", CellKind::gru, Activation::tanh, Activation::hard_sigmoid_v3, false},
      {"rnn_linear", CellKind::simple, Activation::linear, Activation::sigmoid, false},
      {"rnn_sigmoid", CellKind::simple, Activation::sigmoid, Activation::sigmoid, false},
      {"bi_gru_relu_hard", CellKind::gru, Activation::relu, Activation::hard_sigmoid, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const RecurrentOptions o{.units = 3, .activation = c.act, .recurrent_activation = c.rec,
                             .return_sequences = true};
    Sequential m(c.name);
    if (c.bidirectional)
      m.add(std::make_unique<Bidirectional>("bi", c.cell, o));
    else
      m.add(std::make_unique<Recurrent>(c.cell, "r", o));
    m.build({-1, 2});
    for (float& w : m.weights()) w = u(gen);
    const std::string file = path(std::string(c.name) + ".onnx");
    export_onnx(m, file);
    std::unique_ptr<Model> back = import_onnx(file);
    Layer* first = back->layers()[0];
    const Recurrent* r = c.bidirectional ? &dynamic_cast<Bidirectional*>(first)->forward_layer()
                                         : dynamic_cast<Recurrent*>(first);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->options().activation, c.act);
    if (c.cell != CellKind::simple) {
      EXPECT_EQ(r->options().recurrent_activation, c.rec);
    }
    EXPECT_TRUE(tensors_close(back->predict(x), m.predict(x), 1e-6));
  }

  // What recur has no layer for: an LSTM whose g and h differ, an activation recur lacks.
  Sequential m("lstm");
  m.add(make_lstm("l", {.units = 3, .return_sequences = true}));
  m.build({-1, 2});
  const std::string file = path("lstm_acts.onnx");
  export_onnx(m, file);
  const auto with_activations = [&](const std::vector<std::string>& names) {
    onnx::ModelProto proto;
    EXPECT_TRUE(proto.ParseFromString(testing::read_file(file)));
    for (auto& node : *proto.mutable_graph()->mutable_node())
      for (auto& a : *node.mutable_attribute())
        if (a.name() == "activations") {
          a.clear_strings();
          for (const std::string& name : names) a.add_strings(name);
        }
    const std::string edited = path("lstm_acts_edited.onnx");
    testing::write_file(edited, proto.SerializeAsString());
    return edited;
  };
  expect_error<FormatError>(
      [&] { import_onnx(with_activations({"Sigmoid", "Tanh", "Relu"})); },
      "the LSTM's cell activation (Tanh) and output activation (Relu) differ");
  expect_error<FormatError>([&] { import_onnx(with_activations({"Sigmoid", "Softsign", "Softsign"})); },
                            "activation Softsign is not supported");
  expect_error<FormatError>([&] { import_onnx(with_activations({"Sigmoid", "Tanh"})); },
                            "activations lists 2 functions, expected 3 (3 per direction)");
}

class OnnxImportFiles : public testing::TempDirTest {
 protected:
  // lstm_last_linear.onnx, parsed, to be damaged by a test.
  onnx::ModelProto base() {
    onnx::ModelProto m;
    const std::string bytes = testing::read_file(fixture("lstm_last_linear.onnx"));
    EXPECT_TRUE(m.ParseFromString(bytes));
    return m;
  }
  // The initializer that holds the LSTM's W (shape [1, 20, 3]).
  static onnx::TensorProto& lstm_w(onnx::ModelProto& m) {
    for (auto& t : *m.mutable_graph()->mutable_initializer())
      if (t.dims_size() == 3 && t.dims(2) == 3) return t;
    throw std::runtime_error("no LSTM W initializer");
  }
  std::string save(const onnx::ModelProto& m, const std::string& name) {
    return write(name, m.SerializeAsString());
  }
  // Moves W's bytes to an external file at `location` (written at `file`, after `offset` bytes).
  static void externalize(onnx::TensorProto& t, const std::string& location,
                          const std::string& file, std::size_t offset) {
    testing::write_file(file, std::string(offset, 'x') + t.raw_data());
    t.clear_raw_data();
    t.set_data_location(onnx::TensorProto::EXTERNAL);
    auto* loc = t.add_external_data();
    loc->set_key("location");
    loc->set_value(location);
    auto* off = t.add_external_data();
    off->set_key("offset");
    off->set_value(std::to_string(offset));
  }
};

TEST_F(OnnxImportFiles, CliWritesTheModelAndJson) {
  const std::string out = path("m.safetensors");
  const auto run = testing::recur_cli_split("import-onnx " + fixture("embed_lstm_softmax.onnx") +
                                            " --output " + out + " --json");
  ASSERT_EQ(run.rc, 0) << run.err;
  const auto j = nlohmann::json::parse(run.out);
  EXPECT_EQ(j["output"], out);
  ASSERT_EQ(j["layers"].size(), 3u);
  EXPECT_EQ(j["layers"][0]["class_name"], "Embedding");
  EXPECT_EQ(j["layers"][1]["class_name"], "LSTM");
  EXPECT_EQ(j["layers"][2]["class_name"], "Dense");
  EXPECT_EQ(j["inputs"], nlohmann::json::parse("[[null, null]]"));
  EXPECT_EQ(j["outputs"], nlohmann::json::parse("[[null, 3]]"));
  expect_matches_torch(*load_model(out), "embed_lstm_softmax");
}

TEST_F(OnnxImportFiles, CliListsEveryUnsupportedOperator) {
  const auto run = testing::recur_cli_split("import-onnx " + fixture("err_cumsum.onnx") +
                                            " --output " + path("m.safetensors"));
  testing::expect_one_line_error(run, "unsupported ONNX operators: CumSum (node ");
  EXPECT_FALSE(fs::exists(path("m.safetensors")));
  const auto usage = testing::recur_cli_split("import-onnx " + fixture("err_cumsum.onnx"));
  EXPECT_EQ(usage.rc, 2);  // --output is required
}

TEST_F(OnnxImportFiles, RejectsAGraphInputNoOutputUses) {
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(testing::read_file(fixture("two_inputs.onnx"))));
  onnx::ValueInfoProto* extra = m.mutable_graph()->add_input();
  extra->CopyFrom(m.graph().input(0));
  extra->set_name("unused");
  expect_error<FormatError>([&] { import_onnx(save(m, "unused_input.onnx")); },
                            "graph input 'unused' reaches no graph output");
}

TEST_F(OnnxImportFiles, RejectsNonzeroInitialState) {
  expect_error<FormatError>([] { import_onnx(fixture("err_h0_ones.onnx")); },
                            "initial_h is not zero (filled with 1");
}

TEST_F(OnnxImportFiles, RejectsLearnedInitialState) {
  expect_error<FormatError>([] { import_onnx(fixture("err_h0_param.onnx")); },
                            "GRU node '/rnn/GRU': initial_h is a nonzero constant");
}

TEST_F(OnnxImportFiles, RejectsSequenceAndLastStepOfOneLayer) {
  expect_error<FormatError>([] { import_onnx(fixture("err_seq_and_last.onnx")); },
                            "is used both as the whole sequence and as its last step");
}

TEST_F(OnnxImportFiles, RejectsTheLastStepOfABidirectionalOutput) {
  expect_error<FormatError>([] { import_onnx(fixture("err_bilstm_last.onnx")); },
                            "takes the last step of a bidirectional LSTM output");
}

TEST_F(OnnxImportFiles, RejectsTruncatedFile) {
  const std::string bytes = testing::read_file(fixture("lstm_last_linear.onnx"));
  const std::string p = write("cut.onnx", bytes.substr(0, bytes.size() / 2));
  expect_error<FormatError>([&] { import_onnx(p); }, "not a valid ONNX model");
  expect_error<IoError>([&] { import_onnx(path("missing.onnx")); }, "cannot read");
}

TEST_F(OnnxImportFiles, RejectsRawDataSizeMismatch) {
  onnx::ModelProto m = base();
  onnx::TensorProto& w = lstm_w(m);
  w.set_raw_data(w.raw_data().substr(4));
  const std::string p = save(m, "m.onnx");
  expect_error<FormatError>([&] { import_onnx(p); }, "raw_data has 236 bytes, dims [1, 20, 3] need 240");
}

TEST_F(OnnxImportFiles, RejectsDimsBeyondTheBytesPresent) {
  onnx::ModelProto m = base();
  onnx::TensorProto& w = lstm_w(m);
  w.set_dims(0, int64_t{1} << 40);
  w.set_dims(1, int64_t{1} << 40);
  std::string p = save(m, "overflow.onnx");
  expect_error<FormatError>([&] { import_onnx(p); }, "describe more elements than can exist");
  w.set_dims(0, 1000000);
  w.set_dims(1, 1000);
  p = save(m, "big.onnx");
  expect_error<FormatError>([&] { import_onnx(p); }, "need 12000000000");
}

TEST_F(OnnxImportFiles, ReadsExternalDataInsideTheFolder) {
  onnx::ModelProto m = base();
  externalize(lstm_w(m), "w.bin", path("w.bin"), 16);
  expect_matches_torch(*import_onnx(save(m, "m.onnx")), "lstm_last_linear");
}

TEST_F(OnnxImportFiles, RejectsExternalDataOutsideTheFolder) {
  fs::create_directories(dir_ / "model");
  onnx::ModelProto m = base();
  externalize(lstm_w(m), "../x", path("x"), 0);  // exists, but outside model/
  const std::string p = save(m, "model/m.onnx");
  expect_error<FormatError>([&] { import_onnx(p); }, "resolves outside the model's folder");

  // A symbolic link inside the folder that points outside is outside too.
  fs::create_symlink(path("x"), dir_ / "model" / "link.bin");
  onnx::ModelProto m2 = base();
  externalize(lstm_w(m2), "link.bin", path("y"), 0);
  const std::string p2 = save(m2, "model/m2.onnx");
  expect_error<FormatError>([&] { import_onnx(p2); }, "resolves outside the model's folder");

  onnx::ModelProto m3 = base();
  externalize(lstm_w(m3), "/etc/passwd", path("z"), 0);
  const std::string p3 = save(m3, "model/m3.onnx");
  expect_error<FormatError>([&] { import_onnx(p3); }, "is an absolute path");
}

TEST_F(OnnxImportFiles, RejectsExternalDataBeyondTheFileEnd) {
  onnx::ModelProto m = base();
  onnx::TensorProto& w = lstm_w(m);
  externalize(w, "w.bin", path("w.bin"), 0);
  w.mutable_external_data(1)->set_value("200");  // 240 bytes from offset 200 of a 240-byte file
  const std::string p = save(m, "m.onnx");
  expect_error<FormatError>([&] { import_onnx(p); }, "lies beyond the end of \"w.bin\"");
}

}  // namespace
}  // namespace recur
