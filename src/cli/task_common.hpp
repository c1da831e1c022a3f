// Options and helpers every task command shares (forecast, classify, textgen, seqclass,
// seq2seq): --model OUT, --seed, --threads, --quiet, --json, --epochs, --batch-size, and the
// output folder for pictures and CSVs (next to the model file).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

namespace recur::cli {

struct TaskArgs {
  std::string model;          // where the trained model goes (default "<command>.safetensors")
  uint64_t seed = 0;
  int threads = 0;            // 0: RECUR_NUM_THREADS or all cores
  bool quiet = false;
  bool json = false;
  int verbose() const { return quiet ? 0 : 1; }
};

// Adds --model/--seed/--threads/--quiet/--json; `default_model` is the --model default.
void add_task_options(CLI::App* cmd, TaskArgs& a, const std::string& default_model);
// Applies --threads (GEMM threads) before work starts.
void apply_threads(const TaskArgs& a);
// Human progress/notes: stdout normally, stderr with --json (stdout carries only the JSON),
// nothing with --quiet. Returns a stream that discards when quiet.
std::ostream& task_log(const TaskArgs& a);
// The folder for pictures and CSVs: "<model path without extension>_report/" (created).
std::string report_dir(const TaskArgs& a);
// Prints the final JSON object on stdout (when --json) .
void print_json(const TaskArgs& a, const nlohmann::json& j);

}  // namespace recur::cli
