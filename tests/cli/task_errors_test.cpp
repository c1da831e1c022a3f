// Bad input to the task commands (classify, seq2seq, seqclass, textgen, forecast): option values,
// data files and --predict misuse, one table row per message of docs/ERRORS.md. Every row checks
// the exit status (1 for a runtime error, 2 for a usage error), that stderr starts with one
// "recur: error:" line holding the row's fragment, and that no model file was written.
//
// The --predict rows need trained models: the suite trains one tiny model per command once
// (a second or two in all) and derives damaged copies from it by editing its
// recur.preprocessing metadata.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "io/npy.hpp"
#include "io/safetensors.hpp"
#include "support/cli_run.hpp"
#include "support/files.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using recur::testing::CliRun;
using recur::testing::recur_cli_split;

// Replaces every "{D}" in `s` by `dir`.
std::string in_dir(std::string s, const std::string& dir) {
  for (std::size_t p; (p = s.find("{D}")) != std::string::npos;) s.replace(p, 3, dir);
  return s;
}

class TaskErrorsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = (fs::temp_directory_path() / ("recur_task_errors_" + std::to_string(::getpid())))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    write_data();
    // One tiny model per command (each trains in well under a second).
    const std::vector<std::string> trainings = {
        "classify {D}/c.csv --epochs 1 --units 4 --embedding-dim 4 --model {D}/c.safetensors",
        "seq2seq {D}/p.tsv --epochs 1 --units 4 --embedding-dim 4 --model {D}/q.safetensors",
        "seqclass {D}/s.csv --id-column id --time-column t --label-column label --epochs 1 "
        "--units 4 --ensemble 1 --model {D}/s.safetensors",
        "textgen train {D}/t.txt --epochs 1 --units 8 --embedding-dim 4 --seq-len 10 "
        "--sample-length 0 --model {D}/t.safetensors",
        "forecast {D}/f.csv --epochs 1 --units 4 --model {D}/f.safetensors",
    };
    for (const std::string& t : trainings) {
      const CliRun r = recur_cli_split(in_dir(t, dir_) + " --quiet --threads 1");
      ASSERT_EQ(r.rc, 0) << t << "\n" << r.err;
    }
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static void write_data() {
    using recur::testing::write_file;
    std::string c = "text,label\n", p = "source\ttarget\n", s = "id,t,v,label\n", f = "month,value\n";
    const char* abc[] = {"abca", "bcab", "cabc", "aabb", "bbcc", "ccaa", "abab", "baba"};
    for (int i = 0; i < 40; ++i) {
      c += std::string(i % 2 ? "good fine nice" : "bad awful poor") + " w" + std::to_string(i) +
           "," + (i % 2 ? "pos" : "neg") + "\n";
      std::string src = abc[i % 8], tgt(src.rbegin(), src.rend());
      p += src + "\t" + tgt + "\n";
    }
    for (int i = 0; i < 20; ++i)
      for (int t = 0; t < 5; ++t)
        s += std::to_string(i) + "," + std::to_string(t) + "," +
             std::to_string((i % 2) + 0.1 * t) + "," + (i % 2 ? "a" : "b") + "\n";
    for (int i = 0; i < 60; ++i) {
      char line[64];
      std::snprintf(line, sizeof line, "%d-%02d,%.3f\n", 2000 + i / 12, i % 12 + 1,
                    10.0 + i + 5.0 * (i % 12) / 12.0);
      f += line;
    }
    std::string text;
    for (int i = 0; i < 30; ++i) text += "the quick brown fox jumps over the lazy dog. ";
    write_file(dir_ + "/c.csv", c);
    write_file(dir_ + "/p.tsv", p);
    write_file(dir_ + "/s.csv", s);
    write_file(dir_ + "/t.txt", text);
    write_file(dir_ + "/f.csv", f);
    // Damaged or too small data files.
    write_file(dir_ + "/c_header.csv", "text,label\n");
    write_file(dir_ + "/c_empty_label.csv", "text,label\ngood,pos\nbad,\nfine,pos\npoor,neg\n");
    write_file(dir_ + "/c_two.csv", "text,label\ngood,pos\nbad,neg\n");
    write_file(dir_ + "/s_header.csv", "id,t,v,label\n");
    write_file(dir_ + "/s_two.csv", "id,t,v,label\n1,0,0.5,a\n1,1,0.6,a\n2,0,0.1,b\n2,1,0.2,b\n");
    write_file(dir_ + "/p_no_target.tsv", "source\tanswer\nab\tba\ncd\tdc\n");
    write_file(dir_ + "/p_empty_target.tsv", "source\ttarget\nab\tba\ncd\t\nef\tfe\n");
    write_file(dir_ + "/f_first_missing.csv", "month,value\n2000-01,\n2000-02,3\n2000-03,4\n");
    std::string neg = "month,value\n";
    for (int i = 0; i < 30; ++i)
      neg += "2010-" + std::string(i % 12 + 1 < 10 ? "0" : "") + std::to_string(i % 12 + 1) +
             "," + (i == 20 ? "-5" : std::to_string(10 + i)) + "\n";
    write_file(dir_ + "/f_negative.csv", neg);
    fs::create_directories(dir_ + "/folder.txt");
    write_file(dir_ + "/s_empty_id.csv", "id,t,v,label\n1,0,0.5,a\n,1,0.6,a\n2,0,0.1,b\n");
    write_file(dir_ + "/s_empty_label.csv", "id,t,v,label\n1,0,0.5,a\n1,1,0.6,a\n2,0,0.1,\n");
    write_file(dir_ + "/c_no_header.csv", "\ngood,pos\nbad,neg\n");
    write_file(dir_ + "/plain", "not a folder");
    // Token ids [1, 3] (int32) with 20000000 at step 2: beyond what float32 holds exactly.
    std::vector<std::uint8_t> ids(12, 0);
    const std::int32_t big = 20000000;
    std::memcpy(ids.data() + 8, &big, 4);
    recur::io::write_npy(dir_ + "/big_ids.npy", recur::io::NpyArray{recur::io::DType::I32, {1, 3}, ids});
    write_file(dir_ + "/blocked_report", "a file where the report folder would go");
  }

  // A copy of model `name` (c, q, s, t, f) with its recur.preprocessing edited by `edit`;
  // returns the copy's path.
  static std::string damaged(const std::string& name, const std::function<void(json&)>& edit) {
    recur::io::SafetensorsFile file = recur::io::read_safetensors(dir_ + "/" + name + ".safetensors");
    json pre = json::parse(file.metadata.at("recur.preprocessing"));
    edit(pre);
    file.metadata["recur.preprocessing"] = pre.dump();
    const std::string out = dir_ + "/damaged_" + name + ".safetensors";
    std::vector<std::pair<std::string, const recur::io::RawTensor*>> tensors;
    for (const auto& [tensor_name, raw] : file.tensors) tensors.emplace_back(tensor_name, &raw);
    recur::io::write_safetensors(out, file.metadata, tensors);
    return out;
  }

  // `recur <args>` must fail with `fragment` in its first line, exit `rc` (1: runtime error,
  // 2: usage error), and write no model. Rows without their own --model get
  // `--quiet --model <never>` added.
  static void expect_task_error(const std::string& args, const std::string& fragment, int rc) {
    const std::string never = dir_ + "/never.safetensors";
    fs::remove(never);
    std::string cmd = in_dir(args, dir_);
    if (args.rfind("predict ", 0) != 0) cmd += " --threads 1";  // `predict` has no --threads
    if (args.find("--model") == std::string::npos) cmd += " --quiet --model " + never;
    const CliRun r = recur_cli_split(cmd);
    const std::string first = r.err.substr(0, r.err.find('\n'));
    EXPECT_EQ(r.rc, rc) << r.err;
    EXPECT_EQ(r.err.rfind("recur: error: ", 0), 0u) << r.err;
    EXPECT_NE(first.find(fragment), std::string::npos)
        << "expected '" << fragment << "' in: " << r.err;
    // A runtime error is one line; a usage error adds the "Run 'recur --help'" hint.
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), rc == 1 ? 1 : 2) << r.err;
    EXPECT_FALSE(fs::exists(never)) << "a model was written";
  }

  struct Row {
    const char* args;  // "{D}" is the suite's data folder
    const char* fragment;
    int rc = 1;
  };
  static void run_rows(const std::vector<Row>& rows) {
    for (const Row& r : rows) {
      SCOPED_TRACE(r.args);
      expect_task_error(r.args, r.fragment, r.rc);
    }
  }

  static std::string dir_;
};
std::string TaskErrorsTest::dir_;

TEST_F(TaskErrorsTest, ForecastOptionsAndData) {
  run_rows({
      {"forecast {D}/f.csv --season 0", "--season 0 must be >= 1"},
      {"forecast {D}/f.csv --horizon 0", "--horizon 0 must be >= 1"},
      {"forecast {D}/f.csv --lookback 0", "--lookback 0 must be >= 1"},
      {"forecast {D}/f.csv --transform sqrt --epochs 1",
       "--transform 'sqrt' is not one of auto, log, none"},
      {"forecast {D}/f.csv --reference mean --epochs 1",
       "--reference 'mean' is not one of auto, last, seasonal"},
      {"forecast {D}/f.csv --cell qrnn", "--cell 'qrnn' is not one of lstm, gru, rnn"},
      {"forecast {D}/f.csv --fill abc", "--fill 'abc' must be a number or 'previous'"},
      {"forecast {D}/f_first_missing.csv --fill previous",
       "f_first_missing.csv, line 2, column 'value': the first value is missing, so --fill "
       "previous has nothing to copy"},
      {"forecast {D}/f.csv --column month --date-column month",
       "f.csv: --column and --date-column are both 'month'"},
      {"forecast {D}/f.csv --epochs 3 --units 4 --lr 1e30",
       "training stopped: the loss became NaN or Inf (try a lower --lr)"},
      {"forecast {D}/f_negative.csv --transform log --lookback 2 --horizon 1 --season 1",
       "f_negative.csv: --transform log needs positive values, but value 21 is -5"},
  });
}

TEST_F(TaskErrorsTest, ClassifyOptionsAndData) {
  run_rows({
      {"classify {D}/c.csv --sep ';;'", "--sep: expected ',', ';' or tab, got ';;'"},
      {"classify {D}/c_empty_label.csv", "c_empty_label.csv, line 3: the label column 'label' is empty"},
      {"classify {D}/c_two.csv",
       "c_two.csv: 2 rows are too few to hold out a test set (each class needs at least two rows)"},
      {"classify {D}/c.csv --test {D}/c_header.csv",
       "c_header.csv: the file has a header but no data rows"},
      {"classify {D}/c.csv --cell qrnn", "--cell", 2},
  });
}

TEST_F(TaskErrorsTest, SeqclassSeq2seqTextgenData) {
  run_rows({
      // A file without data rows stops at the table reader, before "no sequences" (to test on).
      {"seqclass {D}/s_header.csv --id-column id --label-column label",
       "s_header.csv: the file has a header but no data rows"},
      {"seqclass {D}/s_two.csv --id-column id --time-column t --label-column label",
       "s_two.csv: 2 sequences are too few to hold out a test set (each class needs at least "
       "two sequences)"},
      {"seqclass --wide", "--wide: needs FILE (the built-in data is in long format)", 2},
      {"seqclass {D}/s.csv --wide --time-column t --label-column label",
       "--time-column: only for the long format (--id-column)", 2},
      {"seq2seq {D}/p_no_target.tsv",
       "p_no_target.tsv: no column 'target'; training needs a header 'source<TAB>target'"},
      {"seq2seq {D}/p_empty_target.tsv", "p_empty_target.tsv, line 3: the target is empty"},
      {"textgen train {D}/folder.txt", "folder.txt: cannot open: it is a directory"},
      {"seqclass {D}/s_empty_id.csv --id-column id --time-column t --label-column label",
       "s_empty_id.csv, line 3: the id column 'id' is empty"},
      {"seqclass {D}/s_empty_label.csv --id-column id --time-column t --label-column label",
       "s_empty_label.csv, line 4: the label column 'label' is empty"},
      {"classify {D}/c_no_header.csv", "c_no_header.csv, line 1: the header line is empty"},
  });
}

TEST_F(TaskErrorsTest, OutputFoldersAndEnvironment) {
  run_rows({
      {"forecast {D}/f.csv --epochs 1 --units 4 --quiet --model {D}/plain/sub/m.safetensors",
       "plain/sub/m.safetensors: cannot create the folder "},
      // (The report folder is made after training: the model itself is written by then.)
      {"forecast {D}/f.csv --epochs 1 --units 4 --quiet --model {D}/blocked.safetensors",
       "blocked_report: cannot create the report folder: "},
  });
  // RECUR_NUM_THREADS is read by the GEMM backend on first use; the child inherits it.
  ::setenv("RECUR_NUM_THREADS", "abc", 1);
  const CliRun r = recur_cli_split(in_dir("forecast {D}/f.csv --epochs 1 --units 4 --quiet "
                                          "--model {D}/never.safetensors", dir_));
  ::unsetenv("RECUR_NUM_THREADS");
  recur::testing::expect_one_line_error(r, "RECUR_NUM_THREADS='abc' is not a positive integer");
  EXPECT_FALSE(fs::exists(dir_ + "/never.safetensors"));
}

TEST_F(TaskErrorsTest, PredictArguments) {
  run_rows({
      {"classify --predict --model {D}/c.safetensors",
       "--predict needs a FILE or one or more --text \"...\""},
      {"classify {D}/c.csv --predict --text good --model {D}/c.safetensors",
       "--predict: give either FILE or --text, not both"},
      {"seq2seq --predict --model {D}/q.safetensors",
       "--predict needs a FILE or one or more --text \"...\""},
      {"seq2seq {D}/p.tsv --predict --text ab --model {D}/q.safetensors",
       "--predict: give either FILE or --text, not both"},
      // Text that is not UTF-8 (a file's text is checked by the table reader, before this).
      {"classify --predict --text \"$(printf 'good\\377')\" --model {D}/c.safetensors",
       "--text: text 0: not valid UTF-8 at byte 4 (0xff)"},
      {"seq2seq --predict --text \"$(printf 'ab\\377')\" --model {D}/q.safetensors",
       "--text: text 0: not valid UTF-8 at byte 2 (0xff)"},
      {"seq2seq --predict --text ab --text '' --model {D}/q.safetensors",
       "--text: a source string is empty"},
      {"seqclass --predict --model {D}/s.safetensors",
       "--predict needs a FILE with the sequences to label"},
      {"textgen sample --prompt '' --model {D}/t.safetensors", "--prompt must not be empty"},
      {"textgen sample --model {D}/q.safetensors",
       "q.safetensors: expected a Sequential model, the file holds a Functional model"},
      {"predict --model {D}/q.safetensors --input {D}/x.npy --output {D}/y.npy",
       "q.safetensors: the model has 2 inputs and 1 outputs; recur predict runs single-input, "
       "single-output models"},
      {"predict --model {D}/t.safetensors --input {D}/big_ids.npy --output {D}/y.npy",
       "big_ids.npy: token id 20000000 at sample 0, step 2 is outside the supported range [0, "
       "2^24)"},
      {"forecast {D}/f_negative.csv --predict --model {D}/f.safetensors",
       "f_negative.csv, column 'value': value -5 at position 21 is not positive, but the model "
       "works on log values"},
  });
}

// --predict with a model whose recur.preprocessing was damaged.
struct DamagedRow {
  const char* model;  // c, q, s, t, f
  std::function<void(json&)> edit;
  const char* args;   // "{M}" is the damaged model
  const char* fragment;
};

TEST_F(TaskErrorsTest, PredictWithDamagedPreprocessing) {
  const std::vector<DamagedRow> rows = {
      {"c", [](json& j) { j.erase("tokenizer"); }, "classify --predict --text good --model {M}",
       ": malformed recur.preprocessing: "},
      {"c", [](json& j) { j["sequence"]["padding"] = "mid"; },
       "classify --predict --text good --model {M}",
       ": malformed recur.preprocessing: padding: expected \"pre\" or \"post\", got \"mid\""},
      {"c", [](json& j) { j["labels"].push_back("extra"); },
       "classify --predict --text good --model {M}",
       ": recur.preprocessing does not match the model (3 labels, model output [2])"},
      {"q", [](json& j) { j["start_token"] = "<s>"; }, "seq2seq --predict --text ab --model {M}",
       ": start/end tokens other than tab/newline are not supported"},
      {"q", [](json& j) { j.erase("max_source_length"); },
       "seq2seq --predict --text ab --model {M}", ": malformed recur.preprocessing: "},
      {"q", [](json& j) { j["target_tokenizer"]["vocabulary"].push_back("z"); },
       "seq2seq --predict --text ab --model {M}",
       ": recur.preprocessing does not match the model (target vocabulary 8 ids, model output "
       "[-1, 7])"},
      {"s", [](json& j) { j.erase("scaler"); }, "seqclass {D}/s.csv --predict --model {M}",
       ": malformed recur.preprocessing: "},
      {"s", [](json& j) { j["labels"].push_back("c"); }, "seqclass {D}/s.csv --predict --model {M}",
       ": recur.preprocessing does not match the model (3 labels, model output [2])"},
      {"t", [](json& j) { j.erase("tokenizer"); }, "textgen sample --model {M}",
       ": malformed recur.preprocessing: "},
      {"t", [](json& j) { j["tokenizer"]["vocabulary"].push_back("Q"); },
       "textgen sample --model {M}",
       ": the vocabulary (31 ids) does not match the model's output [-1, 30]"},
      {"f", [](json& j) { j["lookback"] = 24; }, "forecast {D}/f.csv --predict --model {M}",
       ": the network's input/output shapes [12, 1] -> [12] do not match its preprocessing "
       "(lookback 24, horizon 12)"},
      {"f", [](json& j) { j["lookback"] = "x"; }, "forecast {D}/f.csv --predict --model {M}",
       ": recur.preprocessing: 'lookback' must be an integer"},
      {"f", [](json& j) { j["season"] = -1; }, "forecast {D}/f.csv --predict --model {M}",
       ": recur.preprocessing: 'season' = -1 is out of range"},
      {"f", [](json& j) { j["log"] = "yes"; }, "forecast {D}/f.csv --predict --model {M}",
       ": recur.preprocessing: 'log' must be true or false"},
      {"f", [](json& j) { j["reference"] = 1; }, "forecast {D}/f.csv --predict --model {M}",
       ": recur.preprocessing: 'reference' must be \"last\" or \"seasonal\""},
      {"f", [](json& j) { j.erase("target_scaler"); }, "forecast {D}/f.csv --predict --model {M}",
       ": recur.preprocessing: 'input_scaler' and 'target_scaler' are required"},
      {"f", [](json& j) { j["input_scaler"] = 3; }, "forecast {D}/f.csv --predict --model {M}",
       ": scaler: expected an object with a string 'kind'"},
      {"f", [](json& j) { j["input_scaler"]["std"] = {1.0, 2.0}; },
       "forecast {D}/f.csv --predict --model {M}", ": scaler: 1 offsets but 2 scales"},
      {"f", [](json& j) { j["input_scaler"]["mean"] = {"x"}; },
       "forecast {D}/f.csv --predict --model {M}",
       ": scaler: 'mean' holds a value that is not a finite number"},
  };
  for (const DamagedRow& row : rows) {
    SCOPED_TRACE(row.args);
    const std::string model = damaged(row.model, row.edit);
    std::string args = row.args;
    args.replace(args.find("{M}"), 3, model);
    args = in_dir(args, dir_);
    const CliRun r = recur_cli_split(args + " --threads 1");
    recur::testing::expect_one_line_error(r, model + row.fragment);
  }
}

}  // namespace
