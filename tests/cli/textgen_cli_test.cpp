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
#include "support/cli_run.hpp"
#include "support/files.hpp"

namespace fs = std::filesystem;
using recur::testing::CliRun;
using recur::testing::expect_one_line_error;
using recur::testing::recur_cli_split;

namespace {

std::size_t code_points(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

class TextgenCliTest : public recur::testing::TempDirTest {};

TEST_F(TextgenCliTest, ShortTrainingBeatsUnigramThenSamples) {
  // The first 60,000 characters of the shipped text: 54,000 train, 6,000 validate.
  std::ifstream in(std::string(RECUR_SOURCE_DIR) + "/data/tinyshakespeare.txt", std::ios::binary);
  std::string text(60000, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  write("shake.txt", text);
  const std::string model = path("lm.safetensors");
  const CliRun r = recur_cli_split("textgen train " + path("shake.txt") +
                                   " --epochs 3 --units 96 --seq-len 50 --batch-size 32 --lr 0.01 "
                                   "--sample-length 40 --json --model " +
                                   model);
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* k : {"val_loss_nats", "val_bits_per_char", "baseline_unigram_nats"})
    ASSERT_TRUE(j.contains(k) && j[k].is_number()) << k << ": " << r.out;
  const double val = j["val_loss_nats"], unigram = j["baseline_unigram_nats"];
  EXPECT_GT(unigram, 3.0);
  EXPECT_LT(unigram, 3.6);
  EXPECT_LT(val, unigram - 0.3) << r.err;
  EXPECT_NEAR(j["val_bits_per_char"].get<double>(), val / std::log(2.0), 1e-9);
  EXPECT_EQ(j["val_chars"], 6000);
  EXPECT_NE(r.err.find("validation loss"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(path("lm_report/loss.svg")));

  std::map<std::string, std::string> meta;
  recur::Sequential m = recur::load_sequential(model, &meta);
  const auto pre = nlohmann::json::parse(meta.at("recur.preprocessing"));
  EXPECT_EQ(pre["task"], "textgen");
  EXPECT_EQ(pre["tokenizer"]["level"], "character");

  // Sampling: prompt first, then --length characters; the seed makes it reproducible.
  const std::string args = "textgen sample --model " + model +
                           " --prompt 'ROMEO:' --length 60 --temperature 0.7 --top-k 10 --seed 3";
  const CliRun s1 = recur_cli_split(args), s2 = recur_cli_split(args);
  ASSERT_EQ(s1.rc, 0) << s1.err;
  EXPECT_EQ(s1.out, s2.out);
  EXPECT_EQ(s1.out.rfind("ROMEO:", 0), 0u) << s1.out;
  EXPECT_EQ(code_points(s1.out), 6u + 60u + 1u) << s1.out;  // + the final newline
  const CliRun s3 =
      recur_cli_split("textgen sample --model " + model + " --length 30 --seed 4 --json");
  ASSERT_EQ(s3.rc, 0);
  const auto sj = nlohmann::json::parse(s3.out);
  EXPECT_EQ(code_points(sj["text"].get<std::string>()), 30u);
  const CliRun
      greedy = recur_cli_split("textgen sample --model " + model + " --temperature 0 --seed 1"),
      greedy2 = recur_cli_split("textgen sample --model " + model + " --temperature 0 --seed 2");
  EXPECT_EQ(greedy.out, greedy2.out);  // argmax ignores the seed

  // Sampling errors.
  expect_one_line_error(recur_cli_split("textgen sample --model " + path("none.safetensors")),
                        "none.safetensors");
  recur::Sequential plain("plain");
  plain.add(recur::make_lstm("lstm", {.units = 2}));
  plain.build({-1, 1});
  recur::save_model(path("plain.safetensors"), plain);
  expect_one_line_error(recur_cli_split("textgen sample --model " + path("plain.safetensors")),
                        "not a character language model");
  expect_one_line_error(
      recur_cli_split("textgen sample --model " + model + " --prompt \"$(printf '\\377')\""),
      "UTF-8");
}

TEST_F(TextgenCliTest, BadInputIsOneClearError) {
  expect_one_line_error(recur_cli_split("textgen train " + path("nope.txt")), "nope.txt");
  write("empty.txt", "");
  expect_one_line_error(recur_cli_split("textgen train " + path("empty.txt")), "empty");
  write("latin1.txt", "Caf\xe9 au lait\n");
  expect_one_line_error(recur_cli_split("textgen train " + path("latin1.txt")), "UTF-8");
  write("short.txt", "To be or not to be.\n");
  expect_one_line_error(recur_cli_split("textgen train " + path("short.txt")), "too few");
  // Usage errors exit 2: --minutes and --epochs together, no subcommand.
  EXPECT_EQ(recur_cli_split("textgen train --minutes 1 --epochs 1").rc, 2);
  EXPECT_EQ(recur_cli_split("textgen").rc, 2);
}

}  // namespace
