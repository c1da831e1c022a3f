// recur::import_keras and `recur import-keras` against files written the way Keras writes them
// (tests/interop/keras_cases.py, h5py) and by TF.js itself, with expected outputs from outside
// oracles (tests/interop/keras_tfjs_cases.mjs: TF.js layers with the same weights; PyTorch for
// GRU reset_after=True, which TF.js cannot run). Both scripts run once for the suite.
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "interop/keras_hdf5.hpp"
#include "interop/keras_import.hpp"
#include "recur/error.hpp"
#include "recur/interop/keras.hpp"
#include "recur/io/model_file.hpp"
#include "support/cli_run.hpp"
#include "support/compare.hpp"
#include "support/errors.hpp"
#include "support/files.hpp"

namespace recur::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr double kTol = 1e-5;

std::string env_or(const char* name, const std::string& dflt) {
  const char* v = std::getenv(name);
  return v && *v ? v : dflt;
}

class KerasImportTest : public ::testing::Test {
 protected:
  // Writes the Keras files and the oracle outputs into one folder for the whole suite.
  static void SetUpTestSuite() {
    dir_ = (fs::temp_directory_path() / ("recur_keras_cases_" + std::to_string(::getpid())))
               .string();
    const std::string src = std::string(RECUR_SOURCE_DIR) + "/tests/interop/";
    const std::string python = env_or("RECUR_PYTHON", "/usr/bin/python3");
    std::string out;
    ok_ = run_command(python + " " + src + "keras_cases.py " + dir_ + " 2>&1", &out) == 0;
    log_ = out;
    if (ok_) {
      ok_ = run_command("node " + src + "keras_tfjs_cases.mjs " + dir_ + " 2>&1", &out) == 0;
      log_ += out;
    }
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  void SetUp() override { ASSERT_TRUE(ok_) << "fixture scripts failed:\n" << log_; }

  static std::string at(const std::string& rel) { return dir_ + "/" + rel; }

  // Predictions of `model` on <case>/x.npy against <case>/expected.npy.
  static void expect_matches_oracle(Model& model, const std::string& c) {
    const Tensor x = load_npy(at(c + "/x.npy"));
    const Tensor expected = load_npy(at(c + "/expected.npy"));
    EXPECT_TRUE(tensors_close(model.predict(x), expected, kTol)) << c;
  }

  // A copy of a case folder inside the test's own scratch folder.
  static std::string copy_case(const std::string& c, const std::string& to) {
    fs::remove_all(to);
    fs::create_directories(to);
    fs::copy(at(c), to, fs::copy_options::recursive);
    return to;
  }

  static json layer_config(const Model& model, std::size_t i) {
    return model.to_json()["config"]["layers"][i]["config"];
  }

  static std::string dir_, log_;
  static bool ok_;
};

std::string KerasImportTest::dir_, KerasImportTest::log_;
bool KerasImportTest::ok_ = false;

json read_json(const std::string& path) { return json::parse(read_file(path)); }
void write_json(const std::string& path, const json& j) { write_file(path, j.dump()); }

// ---- valid files, compared with the oracles ---------------------------------------------------

TEST_F(KerasImportTest, Keras2FullModelH5Lstm) {
  auto model = import_keras(at("k2_lstm/model.h5"));
  EXPECT_EQ(model->class_name(), std::string("Sequential"));
  expect_matches_oracle(*model, "k2_lstm");
}

TEST_F(KerasImportTest, Keras2ArchitectureJsonPlusWeightsGruResetAfterFalseAndSimpleRnn) {
  auto model = import_keras(at("k2_gru_json/arch.json"), at("k2_gru_json/weights.h5"));
  EXPECT_EQ(layer_config(*model, 0)["reset_after"], false);
  expect_matches_oracle(*model, "k2_gru_json");
}

TEST_F(KerasImportTest, GruResetAfterTrueAgainstPyTorchAndRecurFile) {
  // TF.js has no reset_after=True: PyTorch's GRU is the oracle, and the same weights written
  // directly as a recur model file are a second path into recur.
  const Tensor x = load_npy(at("gru_reset_after/x.npy"));
  const Tensor expected = load_npy(at("gru_reset_after/expected.npy"));
  auto reference = load_model(at("gru_reset_after/ref.safetensors"));
  const Tensor y_ref = reference->predict(x);
  EXPECT_TRUE(tensors_close(y_ref, expected, kTol));
  for (const char* file : {"gru_reset_after/model.h5", "gru_reset_after/model.keras"}) {
    auto model = import_keras(at(file));
    EXPECT_EQ(layer_config(*model, 0)["reset_after"], true) << file;
    const Tensor y = model->predict(x);
    EXPECT_TRUE(tensors_close(y, expected, kTol)) << file;
    EXPECT_TRUE(tensors_close(y, y_ref, 1e-6)) << file;
  }
}

TEST_F(KerasImportTest, Keras2EmbeddingMaskZeroBidirectionalDenseSoftmax) {
  auto model = import_keras(at("k2_embedding_bidi/model.h5"));
  EXPECT_TRUE(layer_config(*model, 0)["mask_zero"].get<bool>());
  expect_matches_oracle(*model, "k2_embedding_bidi");
}

TEST_F(KerasImportTest, Keras22DefaultsAreHardSigmoidAndResetAfterFalse) {
  // Standalone Keras 2.2.4 file without recurrent_activation / reset_after in its config.
  auto model = import_keras(at("k22_defaults/model.h5"));
  EXPECT_EQ(layer_config(*model, 0)["recurrent_activation"], "hard_sigmoid");
  EXPECT_EQ(layer_config(*model, 1)["recurrent_activation"], "hard_sigmoid");
  EXPECT_EQ(layer_config(*model, 1)["reset_after"], false);
  expect_matches_oracle(*model, "k22_defaults");
}

TEST_F(KerasImportTest, Keras3HardSigmoidBecomesHardSigmoidV3) {
  auto model = import_keras(at("k3_sequential/model.keras"));
  EXPECT_EQ(layer_config(*model, 0)["recurrent_activation"], "hard_sigmoid_v3");
  expect_matches_oracle(*model, "k3_sequential");
}

TEST_F(KerasImportTest, Keras3FunctionalWithBidirectional) {
  auto model = import_keras(at("k3_functional/model.keras"));
  EXPECT_EQ(model->class_name(), std::string("Functional"));
  expect_matches_oracle(*model, "k3_functional");
}

TEST_F(KerasImportTest, Keras2FunctionalH5) {
  auto model = import_keras(at("k2_functional/model.h5"));
  EXPECT_EQ(model->class_name(), std::string("Functional"));
  expect_matches_oracle(*model, "k2_functional");
}

TEST_F(KerasImportTest, TfjsModelSavedByTfjs) {
  auto model = import_keras(at("tfjs_native/model.json"));
  expect_matches_oracle(*model, "tfjs_native");
  auto from_folder = import_keras(at("tfjs_native"));  // the folder holding model.json
  expect_matches_oracle(*from_folder, "tfjs_native");
}

TEST_F(KerasImportTest, TfjsMissingKeysTakeTfjsDefaults) {
  auto model = import_keras(at("tfjs_defaults/model.json"));
  EXPECT_EQ(layer_config(*model, 1)["layer"]["config"]["recurrent_activation"], "hard_sigmoid");
  EXPECT_EQ(layer_config(*model, 2)["recurrent_activation"], "hard_sigmoid");
  EXPECT_EQ(layer_config(*model, 2)["reset_after"], false);
  expect_matches_oracle(*model, "tfjs_defaults");
}

TEST_F(KerasImportTest, TfjsConverterTopologyWithModelConfig) {
  auto model = import_keras(at("tfjs_keras/model.json"));
  expect_matches_oracle(*model, "tfjs_keras");
}

TEST_F(KerasImportTest, VersionRulesForAbsentResetAfter) {
  // The same GRU(reset_after=False) weights with the key removed from the architecture:
  // standalone Keras 2.3 defaults to false (matches the oracle), Keras 2.4+ to true (the bias
  // shape no longer fits), and tf.keras "2.2.4-tf" is ambiguous.
  json arch = read_json(at("k2_gru_json/arch.json"));
  arch["config"]["layers"][1]["config"].erase("reset_after");
  const std::string weights = at("k2_gru_json/weights.h5");
  const std::string path = at("k2_gru_json/arch_no_reset_after.json");

  arch["keras_version"] = "2.3.1";
  write_json(path, arch);
  auto model = import_keras(path, weights);
  EXPECT_EQ(layer_config(*model, 0)["reset_after"], false);
  expect_matches_oracle(*model, "k2_gru_json");

  arch["keras_version"] = "2.4.0";
  write_json(path, arch);
  expect_error<FormatError>([&] { import_keras(path, weights); },
                            "has shape [12], expected [2, 12] for GRU 'gru' bias");

  arch["keras_version"] = "2.2.4-tf";
  write_json(path, arch);
  expect_error<ConfigError>([&] { import_keras(path, weights); },
                            "reset_after is not in the config, and Keras 2.2.4-tf");
}

TEST_F(KerasImportTest, TrainingOnlyKeysAreDroppedWithANote) {
  json arch = read_json(at("k2_gru_json/arch.json"));
  json& gru = arch["config"]["layers"][1]["config"];
  gru["kernel_regularizer"] = {{"class_name", "L2"}, {"config", {{"l2", 0.01}}}};
  gru["kernel_initializer"] = {{"class_name", "HeNormal"}, {"config", {{"seed", nullptr}}}};
  const std::string path = at("k2_gru_json/arch_extras.json");
  write_json(path, arch);
  interop::KerasImport imported =
      interop::import_keras_detailed(path, at("k2_gru_json/weights.h5"));
  ASSERT_EQ(imported.notes.size(), 2u);
  EXPECT_NE(imported.notes[0].find("dropped kernel_initializer"), std::string::npos)
      << imported.notes[0];
  EXPECT_NE(imported.notes[1].find("dropped kernel_regularizer"), std::string::npos)
      << imported.notes[1];
  EXPECT_EQ(imported.format, "json+h5");
  EXPECT_EQ(imported.keras_version, "2.11.0");
  expect_matches_oracle(*imported.model, "k2_gru_json");
}

// ---- refused files ------------------------------------------------------------------------------

TEST_F(KerasImportTest, RefusesExternalLink) {
  expect_error<FormatError>([&] { import_keras(at("errors/external_link.h5")); },
                            "lstm_cell/kernel:0' is an external link (to another file)");
}

TEST_F(KerasImportTest, RefusesSoftLink) {
  expect_error<FormatError>([&] { import_keras(at("errors/soft_link.h5")); },
                            "lstm_cell/kernel:0' is a soft link");
}

TEST_F(KerasImportTest, RefusesVirtualDataset) {
  expect_error<FormatError>([&] { import_keras(at("errors/virtual.h5")); },
                            "kernel:0' is a virtual dataset");
}

TEST_F(KerasImportTest, RefusesExternalStorage) {
  expect_error<FormatError>([&] { import_keras(at("errors/external_storage.h5")); },
                            "keeps its data in 1 external file(s)");
}

TEST_F(KerasImportTest, RefusesUnwrittenDataset) {
  expect_error<FormatError>([&] { import_keras(at("errors/unwritten.h5")); },
                            "is not fully written: 0 of 3 chunks are stored");
}

TEST_F(KerasImportTest, MissingWeight) {
  expect_error<FormatError>(
      [&] { import_keras(at("errors/missing_weight.h5")); },
      "LSTM 'lstm' needs weight 'recurrent_kernel' [5, 20], which the file does not have "
      "(looked in ");
}

TEST_F(KerasImportTest, WrongWeightShape) {
  expect_error<FormatError>([&] { import_keras(at("errors/wrong_shape.h5")); },
                            "lstm_cell/kernel:0' has shape [4, 20], expected [3, 20] for LSTM "
                            "'lstm' kernel");
}

TEST_F(KerasImportTest, WeightsOnlyH5WithoutWeightsOption) {
  expect_error<FormatError>([&] { import_keras(at("errors/no_config.h5")); },
                            "no model_config attribute");
  expect_error<InvalidArgument>([&] { import_keras(at("k2_gru_json/arch.json")); },
                                "give the weights .h5 (model.save_weights) with --weights");
  expect_error<InvalidArgument>(
      [&] { import_keras(at("k2_lstm/model.h5"), at("k2_gru_json/weights.h5")); },
      "--weights is only for an architecture .json");
}

// libhdf5 itself crashes on this file (a global heap object claims ~2^45 bytes); the trial read
// in a child process turns that into an error. (A libhdf5 that catches the damage itself
// reports it while reading keras_version: either way a FormatError naming the file.)
TEST_F(KerasImportTest, DamagedGlobalHeapIsAnErrorNotACrash) {
  expect_error<FormatError>([&] { import_keras(at("errors/heap_overrun.h5")); },
                            "heap_overrun.h5: ");
  const std::string out = at("never_heap.safetensors");
  expect_one_line_error(recur_cli_split("import-keras " + at("errors/heap_overrun.h5") +
                                        " --output " + out),
                        "heap_overrun.h5: ");
  EXPECT_FALSE(fs::exists(out));
}

TEST(RehearseHdf5Read, ACrashOrAFailedExitInTheTrialIsAnError) {
  expect_error<FormatError>(
      [] { interop::rehearse_hdf5_read("f.h5", [] { std::raise(SIGSEGV); }); },
      "f.h5: damaged HDF5 file: the HDF5 library crashes reading it (signal 11, ");
  expect_error<FormatError>(
      [] { interop::rehearse_hdf5_read("g.h5", [] { _exit(3); }); },
      "g.h5: damaged HDF5 file: reading it ended the trial process with exit status 3");
}

TEST(RehearseHdf5Read, TheTrialRunsInAnotherProcessAndItsErrorsAreLeftToTheCaller) {
  int runs = 0;
  interop::rehearse_hdf5_read("f.h5", [&] { ++runs; });
  EXPECT_EQ(runs, 0);  // the child's count, not ours
  interop::rehearse_hdf5_read("f.h5", [] { throw FormatError("met again by the caller"); });
}

TEST_F(KerasImportTest, UnsupportedArchitectures) {
  json arch = read_json(at("k2_gru_json/arch.json"));
  arch["config"]["layers"][2]["class_name"] = "Conv1D";
  const std::string path = at("k2_gru_json/arch_conv.json");
  write_json(path, arch);
  expect_error<ConfigError>([&] { import_keras(path, at("k2_gru_json/weights.h5")); },
                            "unknown layer class 'Conv1D'");
  expect_error<ConfigError>([&] { import_keras(at("errors/bidi_mismatch.keras")); },
                            "backward_layer differs from layer in \"activation\"");
}

TEST_F(KerasImportTest, KerasZipWithoutConfig) {
  expect_error<FormatError>([&] { import_keras(at("errors/no_config.keras")); },
                            "the archive has no config.json");
}

TEST_F(KerasImportTest, KerasZipEntrySizesAreCheckedBeforeExtraction) {
  expect_error<FormatError>([&] { import_keras(at("errors/huge_entry.keras")); },
                            "entry 'model.weights.h5' declares 4294967280 bytes from only ");
}

TEST_F(KerasImportTest, KerasZipWithBrokenWeights) {
  expect_error<FormatError>([&] { import_keras(at("errors/bad_weights.keras")); },
                            "model.weights.h5: not an HDF5 file");
  expect_error<FormatError>(
      [&] { import_keras(at("errors/missing_var.keras")); },
      "GRU 'gru' needs weight 'bias' [9], which the file does not have (looked in ");
}

TEST_F(KerasImportTest, TfjsShardPathLeavingTheFolder) {
  const std::string d = copy_case("tfjs_native", at("scratch_dotdot"));
  json m = read_json(d + "/model.json");
  m["weightsManifest"][0]["paths"][0] = "../tfjs_native/group1-shard1of2.bin";
  write_json(d + "/model.json", m);
  expect_error<FormatError>([&] { import_keras(d + "/model.json"); },
                            "leaves the model's folder (\"..\")");
  m["weightsManifest"][0]["paths"][0] = at("tfjs_native/group1-shard1of2.bin");
  write_json(d + "/model.json", m);
  expect_error<FormatError>([&] { import_keras(d + "/model.json"); }, "is absolute");
  // A symbolic link inside the folder that points out of it.
  fs::create_symlink(at("tfjs_native/group1-shard1of2.bin"), d + "/link.bin");
  m["weightsManifest"][0]["paths"][0] = "link.bin";
  write_json(d + "/model.json", m);
  expect_error<FormatError>([&] { import_keras(d + "/model.json"); },
                            "outside the model's folder");
}

TEST_F(KerasImportTest, TfjsTruncatedShard) {
  const std::string d = copy_case("tfjs_native", at("scratch_truncated"));
  const std::string shard = d + "/group1-shard2of2.bin";
  fs::resize_file(shard, fs::file_size(shard) - 4);
  expect_error<FormatError>([&] { import_keras(d + "/model.json"); },
                            "truncated or mismatched shards");
}

// ---- the command line ------------------------------------------------------------------------------

TEST_F(KerasImportTest, CliImportsAndPredicts) {
  const std::string out = at("cli_model.safetensors");
  const CliRun run = recur_cli_split("import-keras " + at("k2_lstm/model.h5") + " --output " +
                                     out + " --json");
  ASSERT_EQ(run.rc, 0) << run.out << run.err;
  const json j = json::parse(run.out);
  EXPECT_EQ(j["output"], out);
  EXPECT_EQ(j["format"], "h5");
  EXPECT_EQ(j["keras_version"], "2.11.0");
  ASSERT_EQ(j["layers"].size(), 3u);
  EXPECT_EQ(j["layers"][0]["name"], "lstm");
  EXPECT_EQ(j["layers"][0]["class_name"], "LSTM");
  EXPECT_EQ(j["layers"][2]["class_name"], "Dense");
  const std::string y = at("cli_y.npy");
  const CliRun pred = recur_cli("predict --model " + out + " --input " + at("k2_lstm/x.npy") +
                                " --output " + y);
  ASSERT_EQ(pred.rc, 0) << pred.out;
  EXPECT_TRUE(tensors_close(load_npy(y), load_npy(at("k2_lstm/expected.npy")), kTol));

  const CliRun arch = recur_cli_split("import-keras " + at("k2_gru_json/arch.json") +
                                      " --weights " + at("k2_gru_json/weights.h5") +
                                      " --output " + out + " --json");
  ASSERT_EQ(arch.rc, 0) << arch.err;
  EXPECT_EQ(json::parse(arch.out)["format"], "json+h5");
  auto model = load_model(out);
  expect_matches_oracle(*model, "k2_gru_json");
}

TEST_F(KerasImportTest, CliErrors) {
  expect_one_line_error(recur_cli_split("import-keras " + at("errors/external_link.h5") +
                                        " --output " + at("never.safetensors")),
                        "is an external link");
  EXPECT_FALSE(fs::exists(at("never.safetensors")));
  EXPECT_EQ(recur_cli_split("import-keras " + at("k2_lstm/model.h5")).rc, 2);  // no --output
}

}  // namespace
}  // namespace recur::testing
