// Inputs found by the libFuzzer targets (fuzz/README.md), kept as regression tests. Each file in
// fuzz/regressions/<target>/ is replayed through the reader that target fuzzes: recur::Error (a
// clean rejection) is the only exception allowed to come out. The findings also have a test of
// their own below that pins the error they now give.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/model_io.hpp"
#include "io/npy.hpp"
#include "io/npz.hpp"
#include "io/safetensors.hpp"
#include "recur/data/table.hpp"
#include "recur/data/text.hpp"
#include "recur/error.hpp"
#include "support/errors.hpp"
#include "support/files.hpp"

namespace recur {
namespace {

namespace fs = std::filesystem;
using recur::testing::expect_error;
using recur::testing::read_file;

const fs::path kRegressions = fs::path(RECUR_SOURCE_DIR) / "fuzz" / "regressions";

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string regression(const std::string& target, const std::string& name) {
  const fs::path p = kRegressions / target / name;
  EXPECT_TRUE(fs::exists(p)) << p;
  return read_file(p.string());
}

// What each fuzz target does with its input (fuzz/targets/fuzz_<target>.cpp), minus the
// fuzz-only round-trip checks.
void load_model_file(const std::string& in) {
  const io::SafetensorsFile file = io::parse_safetensors(bytes_of(in), "fuzz.safetensors");
  (void)model_from_file(file, "fuzz.safetensors", file.metadata.count("recur.training") > 0);
}
void load_model_arch(const std::string& in) {
  io::SafetensorsFile file;
  file.metadata["recur.format"] = "1";
  file.metadata["recur.model"] = in;
  (void)model_from_file(file, "fuzz.safetensors", false);
}
void load_tokenizer_json(const std::string& in) {
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (!j.is_discarded()) (void)data::Tokenizer::from_json(j);
}
void load_tokenizer(const std::string& in) {
  data::Tokenizer words = data::Tokenizer::words();
  words.fit(in);
  (void)words.encode(in);
  data::Tokenizer chars = data::Tokenizer::characters();
  chars.fit(in);
  (void)chars.encode(in);
}
void load_table(const std::string& in) {
  for (const char sep : {',', '\t', ';'}) {
    try {
      const data::Table t = data::parse_table(in, sep, "fuzz.csv");
      for (const std::string& c : t.columns) (void)t.numbers(c, 0.0);
    } catch (const Error&) {
    }
  }
}

const std::map<std::string, std::function<void(const std::string&)>>& loaders() {
  static const std::map<std::string, std::function<void(const std::string&)>> m = {
      {"model_file", load_model_file},
      {"model_arch", load_model_arch},
      {"npy", [](const std::string& in) { (void)io::parse_npy(bytes_of(in), "fuzz.npy"); }},
      {"npz", [](const std::string& in) { (void)io::parse_npz(bytes_of(in), "fuzz.npz"); }},
      {"table", load_table},
      {"tokenizer", load_tokenizer},
      {"tokenizer_json", load_tokenizer_json},
  };
  return m;
}

TEST(FuzzRegression, EveryReproducerIsRejectedCleanlyOrAccepted) {
  ASSERT_TRUE(fs::is_directory(kRegressions)) << kRegressions;
  int replayed = 0;
  for (const auto& dir : fs::directory_iterator(kRegressions)) {
    if (!dir.is_directory()) continue;
    const std::string target = dir.path().filename().string();
    const auto loader = loaders().find(target);
    ASSERT_NE(loader, loaders().end()) << "no loader for fuzz/regressions/" << target;
    std::vector<fs::path> files;
    for (const auto& f : fs::directory_iterator(dir.path()))
      if (f.is_regular_file()) files.push_back(f.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) {
      SCOPED_TRACE(f.string());
      try {
        loader->second(read_file(f.string()));
      } catch (const Error&) {
        // A clean rejection.
      } catch (const std::exception& e) {
        ADD_FAILURE() << "an exception other than recur::Error: " << e.what();
      }
      ++replayed;
    }
  }
  EXPECT_GE(replayed, 2);
}

// tokenizer_json: {"class_name": 2, ...} threw nlohmann::json::type_error out of
// Tokenizer::from_json (j.value("class_name", std::string()) on a number).
TEST(FuzzRegression, TokenizerClassNameNotAString) {
  const std::string in = regression("tokenizer_json", "class-name-not-a-string.json");
  expect_error<FormatError>([&] { load_tokenizer_json(in); },
                                     "\"class_name\" must be \"Tokenizer\"");
  for (const char* j : {R"({"class_name": null, "vocabulary": []})",
                        R"({"class_name": ["Tokenizer"], "vocabulary": []})",
                        R"({"vocabulary": []})"})
    expect_error<FormatError>(
        [&] { (void)data::Tokenizer::from_json(nlohmann::json::parse(j)); }, "class_name");
}

// tokenizer_json: "min_count": 1.67e83 went through json's get<int64_t>(), a float-to-integer
// conversion out of range (UBSan: undefined behaviour). Counts must now be JSON integers.
TEST(FuzzRegression, TokenizerCountsMustBeIntegers) {
  const std::string in = regression("tokenizer_json", "min-count-float-out-of-range.json");
  expect_error<FormatError>([&] { load_tokenizer_json(in); },
                                     "\"min_count\" must be an integer, got 1.6");
  for (const char* j : {R"({"class_name": "Tokenizer", "level": "word", "num_words": 2.5,
                            "vocabulary": []})",
                        R"({"class_name": "Tokenizer", "level": "word", "num_words": -1e300,
                            "vocabulary": []})",
                        R"({"class_name": "Tokenizer", "level": "word",
                            "num_words": 18446744073709551615, "vocabulary": []})",
                        R"({"class_name": "Tokenizer", "level": "word", "num_words": null,
                            "vocabulary": []})"})
    expect_error<FormatError>(
        [&] { (void)data::Tokenizer::from_json(nlohmann::json::parse(j)); },
        "\"num_words\" must be an integer");
  // Integers still work, and absent keys take their defaults.
  const data::Tokenizer t = data::Tokenizer::from_json(nlohmann::json::parse(
      R"({"class_name": "Tokenizer", "level": "word", "num_words": 5, "vocabulary": ["a"]})"));
  EXPECT_EQ(t.options().num_words, 5);
  EXPECT_EQ(t.options().min_count, 1);
}

// model_arch: a Sequential config whose "name" is not a string threw nlohmann::json::type_error
// out of load_model (cfg.value("name", std::string(...))). The name now falls back to
// "sequential" (as a functional model's falls back to "model"), and the file is judged on the
// rest: here it has no input shape.
TEST(FuzzRegression, SequentialNameNotAString) {
  const std::string in = regression("model_arch", "sequential-name-not-a-string.json");
  expect_error<ConfigError>([&] { load_model_arch(in); }, "no input shape");
  // With layers, the model is built and the missing weights are what the loader reports.
  const std::string with_layer =
      R"({"class_name": "Sequential", "config": {"name": {"x": 1}, "layers": [)"
      R"({"class_name": "Dense", "config": {"name": "d", "units": 2,)"
      R"( "batch_input_shape": [null, 4, 3]}}]}})";
  expect_error<FormatError>([&] { load_model_arch(with_layer); },
                                     "needs tensor 'd/kernel'");
}

// model_arch / model_file: a 1 KB file whose architecture claims LSTM(units=100000) made the
// loader allocate the parameters (160 GB: ASan "allocator is out of memory", a plain build
// "out of memory allocating a tensor", or with smaller claims gigabytes actually allocated and
// initialized) before looking at the tensors. The tensors are now checked against the built
// layers' declared shapes first: the missing weights are reported, nothing large is allocated.
TEST(FuzzRegression, HugeLayerClaimsAreCheckedBeforeAllocating) {
  expect_error<FormatError>(
      [&] { load_model_arch(regression("model_arch", "huge-lstm-units.json")); },
      "LSTM 'lstm' needs tensor 'lstm/kernel' [1, 400000]");
  expect_error<FormatError>(
      [&] { load_model_file(regression("model_file", "huge-lstm-units.safetensors")); },
      "LSTM 'lstm' needs tensor 'lstm/kernel' [1, 400000]");
  // Functional models too (the GRU branch claims 100000 units; the LSTM comes first).
  expect_error<FormatError>(
      [&] { load_model_arch(regression("model_arch", "huge-gru-units-functional.json")); },
      "needs tensor 'lstm/kernel'");
  // A file that has every tensor but one of the wrong shape fails the same way, before
  // allocating: the shape check runs on the declared parameters.
  io::SafetensorsFile file;
  file.metadata["recur.model"] = regression("model_arch", "huge-lstm-units.json");
  io::RawTensor small{io::DType::F32, {1, 4}, std::vector<std::uint8_t>(16, 0)};
  file.tensors["lstm/kernel"] = small;
  expect_error<FormatError>([&] { (void)model_from_file(file, "f.safetensors", false); },
                                     "tensor 'lstm/kernel' has shape [1, 4], expected [1, 400000]");
}

}  // namespace
}  // namespace recur
