// Shared task-command options and output helpers.
#include "cli/task_common.hpp"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iomanip>
#include <ostream>
#include <streambuf>
#include <system_error>

#include "cli/report_format.hpp"
#include "dist/dist.hpp"
#include "io/atomic_file.hpp"
#include "kernels/gemm.hpp"
#include "recur/error.hpp"

namespace recur::cli {

namespace {
class NullBuffer : public std::streambuf {
 protected:
  int overflow(int c) override { return c; }
};
}  // namespace

// ---- options and output streams ----

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

namespace {
// "<model path without extension>_report".
std::filesystem::path report_path(const TaskArgs& a) {
  const std::filesystem::path p(a.model);
  return p.parent_path() / (p.stem().string() + "_report");
}
}  // namespace

void check_model_writable(const TaskArgs& a) {
  if (const auto parent = std::filesystem::path(a.model).parent_path(); !parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) fail<IoError>(a.model, ": cannot create the folder ", parent.string(), ": ", ec.message());
  }
  io::check_writable(a.model);
  // The pictures' folder must be creatable too; a folder made only to check is removed again,
  // so a run that stops on bad input leaves nothing behind.
  const std::filesystem::path report = report_path(a);
  std::error_code ec;
  if (!std::filesystem::exists(report, ec) && std::filesystem::create_directory(report, ec))
    std::filesystem::remove(report, ec);
  else if (ec)
    fail<IoError>(report.string(), ": cannot create the report folder: ", ec.message());
}

void apply_threads(const TaskArgs& a) {
  if (a.threads > 0) {
    kernels::set_num_threads(a.threads);
    // dist::init() leaves the thread count alone when RECUR_NUM_THREADS is set.
    setenv("RECUR_NUM_THREADS", std::to_string(a.threads).c_str(), 1);
  }
  // Under mpirun: ranks > 0 stay inside cli_init() and serve rank 0's fit() calls.
  dist::cli_init();
}

bool mpi_secondary_rank() {
  const char* r = std::getenv("OMPI_COMM_WORLD_RANK");
  if (!r) r = std::getenv("PMI_RANK");
  return r && std::atoi(r) > 0;
}

std::ostream& task_log(const TaskArgs& a) {
  static NullBuffer null_buffer;
  static std::ostream null_stream(&null_buffer);
  if (a.quiet || mpi_secondary_rank()) return null_stream;
  return a.json ? std::cerr : std::cout;
}

std::string report_dir(const TaskArgs& a) {
  const std::filesystem::path dir = report_path(a);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail<IoError>(dir.string(), ": cannot create the report folder: ", ec.message());
  return dir.string();
}

void print_json(const TaskArgs& a, const nlohmann::json& j) {
  if (a.json) std::cout << j.dump() << "\n";
}

// ---- time ----

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

// ---- data ----

data::Table read_table_file(const std::string& path, const std::string& sep) {
  return data::read_table(path, data::separator_for(path, sep));
}

Tensor ids_tensor(const std::vector<int64_t>& y) {
  Tensor t({static_cast<int64_t>(y.size())});
  for (std::size_t i = 0; i < y.size(); ++i) t[static_cast<int64_t>(i)] = static_cast<float>(y[i]);
  return t;
}

// ---- training ----

void check_not_nan(const History& h, const TaskArgs& a) {
  if (h.stopped_on_nan)
    fail<InvalidArgument>("training stopped: the loss became NaN or Inf (try a lower --lr); ",
                          a.model, " was not written");
}

std::vector<double> history_values(const History& h, const std::string& key) {
  const auto it = h.history.find(key);
  return it == h.history.end() ? std::vector<double>{} : it->second;
}

std::vector<double> epoch_axis(const History& h) {
  std::vector<double> x;
  for (int e : h.epoch) x.push_back(e + 1);
  return x;
}

// ---- classification scores ----

std::vector<int64_t> argmax_rows(const Tensor& p, std::vector<float>* best) {
  const int64_t N = p.dim(0), C = p.dim(1);
  std::vector<int64_t> out(static_cast<std::size_t>(N));
  if (best) best->assign(static_cast<std::size_t>(N), 0.0f);
  for (int64_t n = 0; n < N; ++n) {
    const float* r = p.data() + n * C;
    const int64_t k = std::max_element(r, r + C) - r;
    out[static_cast<std::size_t>(n)] = k;
    if (best) (*best)[static_cast<std::size_t>(n)] = r[k];
  }
  return out;
}

ClassScores score_classes(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred,
                          std::size_t C) {
  ClassScores s;
  s.confusion.assign(C, std::vector<int64_t>(C, 0));
  int64_t correct = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    s.confusion[static_cast<std::size_t>(truth[i])][static_cast<std::size_t>(pred[i])] += 1;
    correct += truth[i] == pred[i];
  }
  s.accuracy =
      truth.empty() ? 0.0 : static_cast<double>(correct) / static_cast<double>(truth.size());
  for (std::size_t c = 0; c < C; ++c) {
    int64_t col = 0, row = 0;
    for (std::size_t k = 0; k < C; ++k) {
      col += s.confusion[k][c];
      row += s.confusion[c][k];
    }
    const auto tp = static_cast<double>(s.confusion[c][c]);
    const double p = col ? tp / static_cast<double>(col) : 0.0;
    const double r = row ? tp / static_cast<double>(row) : 0.0;
    s.precision.push_back(p);
    s.recall.push_back(r);
    s.f1.push_back(p + r > 0 ? 2 * p * r / (p + r) : 0.0);
    s.support.push_back(row);
  }
  return s;
}

int64_t majority_class(const std::vector<int64_t>& y, std::size_t C) {
  std::vector<int64_t> counts(C, 0);
  for (int64_t v : y) counts[static_cast<std::size_t>(v)] += 1;
  return static_cast<int64_t>(std::max_element(counts.begin(), counts.end()) - counts.begin());
}

void print_class_table(std::ostream& out, const std::vector<std::string>& classes,
                       const ClassScores& s) {
  std::size_t w = 5;
  for (const auto& c : classes) w = std::max(w, c.size());
  out << std::left << std::setw(static_cast<int>(w) + 2) << "class" << std::right << std::setw(10)
      << "precision" << std::setw(8) << "recall" << std::setw(8) << "f1" << std::setw(9)
      << "support"
      << "\n";
  for (std::size_t c = 0; c < classes.size(); ++c)
    out << std::left << std::setw(static_cast<int>(w) + 2) << classes[c] << std::right
        << std::setw(10) << fixed(s.precision[c], 3) << std::setw(8) << fixed(s.recall[c], 3)
        << std::setw(8) << fixed(s.f1[c], 3) << std::setw(9) << s.support[c] << "\n";
}

nlohmann::json per_class_json(const std::vector<std::string>& classes, const ClassScores& s) {
  nlohmann::json per_class = nlohmann::json::array();
  for (std::size_t c = 0; c < classes.size(); ++c)
    per_class.push_back({{"class", classes[c]},
                         {"precision", s.precision[c]},
                         {"recall", s.recall[c]},
                         {"f1", s.f1[c]},
                         {"support", s.support[c]}});
  return per_class;
}

// ---- --predict with a trained model ----

nlohmann::json find_preprocessing(const std::map<std::string, std::string>& meta,
                                  const std::string& task) {
  const auto it = meta.find("recur.preprocessing");
  nlohmann::json pre;
  if (it != meta.end()) pre = nlohmann::json::parse(it->second, nullptr, false);
  if (pre.is_discarded() || !pre.is_object() || pre.value("task", std::string()) != task)
    return nullptr;
  return pre;
}

void write_predictions(const TaskArgs& a, const std::string& output, const std::string& table,
                       std::size_t rows) {
  if (!output.empty()) {
    write_text_file(output, table);
    task_log(a) << "wrote " << rows << " predictions to " << output << "\n";
  } else if (!a.json) {
    std::cout << table;
  }
}

void note_accuracy(const TaskArgs& a, const std::string& output, const std::string& column,
                   int64_t correct, int64_t total) {
  if (a.quiet) return;
  (output.empty() && !a.json ? std::cerr : task_log(a))
      << "accuracy against column '" << column
      << "': " << pct(static_cast<double>(correct) / static_cast<double>(total)) << " ("
      << correct << " of " << total << ")\n";
}

}  // namespace recur::cli
