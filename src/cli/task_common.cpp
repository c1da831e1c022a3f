// Shared task-command options and output helpers.
#include "cli/task_common.hpp"

#include <filesystem>
#include <ostream>
#include <streambuf>
#include <system_error>

#include "kernels/gemm.hpp"
#include "recur/error.hpp"

namespace recur::cli {

namespace {
class NullBuffer : public std::streambuf {
 protected:
  int overflow(int c) override { return c; }
};
}  // namespace

void add_task_options(CLI::App* cmd, TaskArgs& a, const std::string& default_model) {
  a.model = default_model;
  cmd->add_option("--model", a.model, "where to write the trained model (default " +
                                          default_model + "); pictures go to <model>_report/");
  cmd->add_option("--seed", a.seed, "seed for initialization, shuffling, dropout (default 0)");
  cmd->add_option("--threads", a.threads, "GEMM threads (default: RECUR_NUM_THREADS or all cores)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--quiet", a.quiet, "no progress output");
  cmd->add_flag("--json", a.json, "print the final metrics as one JSON object on stdout");
}

void apply_threads(const TaskArgs& a) {
  if (a.threads > 0) kernels::set_num_threads(a.threads);
}

std::ostream& task_log(const TaskArgs& a) {
  static NullBuffer null_buffer;
  static std::ostream null_stream(&null_buffer);
  if (a.quiet) return null_stream;
  return a.json ? std::cerr : std::cout;
}

std::string report_dir(const TaskArgs& a) {
  std::filesystem::path p(a.model);
  std::filesystem::path dir = p.parent_path() / (p.stem().string() + "_report");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail<IoError>(dir.string(), ": cannot create the report folder: ", ec.message());
  return dir.string();
}

void print_json(const TaskArgs& a, const nlohmann::json& j) {
  if (a.json) std::cout << j.dump() << "\n";
}

}  // namespace recur::cli
