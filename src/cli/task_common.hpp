// Options and helpers every task command shares (forecast, classify, textgen, seqclass,
// seq2seq): --model OUT, --seed, --threads, --quiet, --json, --epochs, --batch-size, and the
// output folder for pictures and CSVs (next to the model file); timing, picking rows, class
// scores, and the pieces of the --predict modes (the model's preprocessing, the prediction table).
// Text formatting lives in report_format.hpp.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "recur/data/table.hpp"
#include "recur/tensor.hpp"
#include "recur/train/fit.hpp"

namespace recur::cli {

struct TaskArgs {
  std::string model;          // where the trained model goes (default "<command>.safetensors")
  uint64_t seed = 0;
  int threads = 0;            // 0: RECUR_NUM_THREADS or all cores
  bool quiet = false;
  bool json = false;
  int verbose() const { return quiet ? 0 : 1; }
};

// ---- options and output streams ----

// Adds --model/--seed/--threads/--quiet/--json; `default_model` is the --model default.
void add_task_options(CLI::App* cmd, TaskArgs& a, const std::string& default_model);
// Applies --threads (GEMM threads) before work starts. Under `mpirun -np N` it first joins the
// job (dist::cli_init): rank 0 returns and runs the command, the other ranks never return — they
// train their share of every fit() rank 0 runs, then exit 0 when rank 0 is done.
void apply_threads(const TaskArgs& a);
// This process is rank > 0 of an mpirun job (from the environment, before MPI is joined): it
// prints nothing (task_log discards).
bool mpi_secondary_rank();
// Before training: creates --model's folder if needed and checks that the model file and the
// report folder can be written there (IoError otherwise), so a long run is not lost to an
// unwritable path.
void check_model_writable(const TaskArgs& a);
// Human progress/notes: stdout normally, stderr with --json (stdout carries only the JSON),
// nothing with --quiet. Returns a stream that discards when quiet.
std::ostream& task_log(const TaskArgs& a);
// The folder for pictures and CSVs: "<model path without extension>_report/" (created).
std::string report_dir(const TaskArgs& a);
// Prints the final JSON object on stdout (when --json) .
void print_json(const TaskArgs& a, const nlohmann::json& j);

// ---- time ----

// Wall-clock seconds since `t0`.
double seconds_since(std::chrono::steady_clock::time_point t0);
// CPU time of the whole process (all threads) in seconds, for runs on a shared machine.
double cpu_seconds();

// ---- data ----

// Reads a CSV/TSV table with a header. The separator is `sep` when given (one character, or
// "tab"), else from the extension (.tsv/.tab: tab, otherwise comma).
data::Table read_table_file(const std::string& path, const std::string& sep);

// The elements of `v` at the positions `idx`, in that order (a train/test split's rows).
template <typename T>
std::vector<T> pick(const std::vector<T>& v, const std::vector<int64_t>& idx) {
  std::vector<T> out;
  out.reserve(idx.size());
  for (int64_t i : idx) out.push_back(v[static_cast<std::size_t>(i)]);
  return out;
}

// Class ids as a float tensor [N]: the targets of sparse categorical crossentropy.
Tensor ids_tensor(const std::vector<int64_t>& y);

// ---- training ----

// InvalidArgument "training stopped: the loss became NaN or Inf ..." when TerminateOnNaN ended
// the run (the model file is then not written).
void check_not_nan(const History& h, const TaskArgs& a);
// The values of `key` ("loss", "val_accuracy", ...) per epoch; empty when it was not logged.
std::vector<double> history_values(const History& h, const std::string& key);
// 1, 2, ..., one per epoch run: the x axis of the per-epoch charts.
std::vector<double> epoch_axis(const History& h);

// ---- classification scores ----

// For probabilities p [N, C]: the most likely class of each row, and (when `best` is given) its
// probability.
std::vector<int64_t> argmax_rows(const Tensor& p, std::vector<float>* best = nullptr);

// Accuracy, the confusion matrix and per-class precision / recall / f1 / support.
struct ClassScores {
  double accuracy = 0.0;
  std::vector<std::vector<int64_t>> confusion;  // [true][predicted]
  std::vector<double> precision, recall, f1;    // 0 where undefined (no predictions / rows)
  std::vector<int64_t> support;                 // rows of each true class
};
// Scores of the predicted class ids `pred` against `truth` (both in [0, C)).
ClassScores score_classes(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred,
                          std::size_t C);
// The most frequent class id in `y` (the lowest on ties): the majority-class baseline.
int64_t majority_class(const std::vector<int64_t>& y, std::size_t C);
// Writes the per-class table: a header "class  precision  recall  f1  support", then one
// aligned row per class.
void print_class_table(std::ostream& out, const std::vector<std::string>& classes,
                       const ClassScores& s);
// The per-class scores as JSON: [{"class", "precision", "recall", "f1", "support"}, ...].
nlohmann::json per_class_json(const std::vector<std::string>& classes, const ClassScores& s);

// ---- --predict with a trained model ----

// The "recur.preprocessing" object in a model file's metadata when the task command `task`
// wrote it (its "task" key); a null JSON value when it is missing, not a JSON object, or from
// another command. The caller reports the null case in its own words.
nlohmann::json find_preprocessing(const std::map<std::string, std::string>& meta,
                                  const std::string& task);

// Writes the prediction table (`rows` lines after the header) to `output` and notes "wrote N
// predictions to ..."; with no `output`, prints it on stdout unless --json (stdout then carries
// only the JSON).
void write_predictions(const TaskArgs& a, const std::string& output, const std::string& table,
                       std::size_t rows);
// The note "accuracy against column 'L': 87.3 % (131 of 150)" after --predict: on stderr when
// the table went to stdout (which stays a clean table), else with the other notes; none with
// --quiet.
void note_accuracy(const TaskArgs& a, const std::string& output, const std::string& column,
                   int64_t correct, int64_t total);

}  // namespace recur::cli
