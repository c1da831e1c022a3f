// recur textgen end to end: a shortened training run on the start of Tiny Shakespeare beats the
// unigram baseline and writes a model with its character vocabulary; sampling streams text that
// starts with the prompt, is reproducible with a seed, and honours --length; bad input (missing,
// empty, non-UTF-8, too short text, a model that is not a language model) is one clear error.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "recur/recur.hpp"
#include "support/compare.hpp"

namespace fs = std::filesystem;
using recur::testing::run_command;

namespace {

const std::string kCli = RECUR_CLI_PATH;

struct CliRun {
  int rc;
  std::string out;
};
CliRun recur_cli(const std::string& args, std::string* err = nullptr) {
  const std::string err_path =
      (fs::temp_directory_path() / ("recur_textgen_err_" + std::to_string(::getpid()))).string();
  CliRun r;
  r.rc = run_command("(" + kCli + " " + args + " 2>" + err_path + ")", &r.out);
  if (err) {
    std::ifstream f(err_path);
    *err = {std::istreambuf_iterator<char>(f), {}};
  }
  fs::remove(err_path);
  return r;
}

std::size_t code_points(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

class TextgenCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / "recur_textgen_cli";
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string path(const std::string& name) { return (dir_ / name).string(); }
  static void write(const std::string& name, const std::string& text) {
    std::ofstream(path(name), std::ios::binary) << text;
  }
  static fs::path dir_;
};
fs::path TextgenCliTest::dir_;

void expect_one_line_error(const CliRun& r, const std::string& err, const std::string& needle) {
  EXPECT_EQ(r.rc, 1) << err;
  EXPECT_EQ(err.rfind("recur: error: ", 0), 0u) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_NE(err.find(needle), std::string::npos) << "expected '" << needle << "' in: " << err;
}

TEST_F(TextgenCliTest, ShortTrainingBeatsUnigramThenSamples) {
  // The first 60,000 characters of the shipped text: 54,000 train, 6,000 validate.
  std::ifstream in(std::string(RECUR_SOURCE_DIR) + "/data/tinyshakespeare.txt", std::ios::binary);
  std::string text(60000, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  write("shake.txt", text);
  const std::string model = path("lm.safetensors");
  std::string err;
  const CliRun r = recur_cli("textgen train " + path("shake.txt") +
                                 " --epochs 3 --units 96 --seq-len 50 --batch-size 32 --lr 0.01 "
                                 "--sample-length 40 --json --model " +
                                 model,
                             &err);
  ASSERT_EQ(r.rc, 0) << err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* k : {"val_loss_nats", "val_bits_per_char", "baseline_unigram_nats"})
    ASSERT_TRUE(j.contains(k) && j[k].is_number()) << k << ": " << r.out;
  const double val = j["val_loss_nats"], unigram = j["baseline_unigram_nats"];
  EXPECT_GT(unigram, 3.0);
  EXPECT_LT(unigram, 3.6);
  EXPECT_LT(val, unigram - 0.3) << err;
  EXPECT_NEAR(j["val_bits_per_char"].get<double>(), val / std::log(2.0), 1e-9);
  EXPECT_EQ(j["val_chars"], 6000);
  EXPECT_NE(err.find("validation loss"), std::string::npos) << err;
  EXPECT_TRUE(fs::exists(path("lm_report/loss.svg")));

  std::map<std::string, std::string> meta;
  recur::Sequential m = recur::load_sequential(model, &meta);
  const auto pre = nlohmann::json::parse(meta.at("recur.preprocessing"));
  EXPECT_EQ(pre["task"], "textgen");
  EXPECT_EQ(pre["tokenizer"]["level"], "character");

  // Sampling: prompt first, then --length characters; the seed makes it reproducible.
  const std::string args = "textgen sample --model " + model +
                           " --prompt 'ROMEO:' --length 60 --temperature 0.7 --top-k 10 --seed 3";
  const CliRun s1 = recur_cli(args, &err), s2 = recur_cli(args);
  ASSERT_EQ(s1.rc, 0) << err;
  EXPECT_EQ(s1.out, s2.out);
  EXPECT_EQ(s1.out.rfind("ROMEO:", 0), 0u) << s1.out;
  EXPECT_EQ(code_points(s1.out), 6u + 60u + 1u) << s1.out;  // + the final newline
  const CliRun s3 = recur_cli("textgen sample --model " + model + " --length 30 --seed 4 --json");
  ASSERT_EQ(s3.rc, 0);
  const auto sj = nlohmann::json::parse(s3.out);
  EXPECT_EQ(code_points(sj["text"].get<std::string>()), 30u);
  const CliRun greedy = recur_cli("textgen sample --model " + model + " --temperature 0 --seed 1"),
               greedy2 = recur_cli("textgen sample --model " + model + " --temperature 0 --seed 2");
  EXPECT_EQ(greedy.out, greedy2.out);  // argmax ignores the seed

  // Sampling errors.
  expect_one_line_error(recur_cli("textgen sample --model " + path("none.safetensors"), &err), err,
                        "none.safetensors");
  recur::Sequential plain("plain");
  plain.add(recur::make_lstm("lstm", {.units = 2}));
  plain.build({-1, 1});
  recur::save_model(path("plain.safetensors"), plain);
  expect_one_line_error(recur_cli("textgen sample --model " + path("plain.safetensors"), &err), err,
                        "not a character language model");
  expect_one_line_error(
      recur_cli("textgen sample --model " + model + " --prompt \"$(printf '\\377')\"", &err), err,
      "UTF-8");
}

TEST_F(TextgenCliTest, BadInputIsOneClearError) {
  std::string err;
  expect_one_line_error(recur_cli("textgen train " + path("nope.txt"), &err), err, "nope.txt");
  write("empty.txt", "");
  expect_one_line_error(recur_cli("textgen train " + path("empty.txt"), &err), err, "empty");
  write("latin1.txt", "Caf\xe9 au lait\n");
  expect_one_line_error(recur_cli("textgen train " + path("latin1.txt"), &err), err, "UTF-8");
  write("short.txt", "To be or not to be.\n");
  expect_one_line_error(recur_cli("textgen train " + path("short.txt"), &err), err, "too few");
  // Usage errors exit 2: --minutes and --epochs together, no subcommand.
  EXPECT_EQ(recur_cli("textgen train --minutes 1 --epochs 1").rc, 2);
  EXPECT_EQ(recur_cli("textgen").rc, 2);
}

}  // namespace
