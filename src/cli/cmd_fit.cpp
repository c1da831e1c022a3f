// recur fit: train a model file on .npy arrays; recur evaluate: loss and metrics of a model.
//
//   recur fit --model M --x X.npy --y Y.npy --loss L --optimizer O --lr R --epochs E
//             --batch-size B [--epsilon ..] [--momentum ..] [--clipnorm ..] [--validation-split F]
//             [--no-shuffle] [--seed S] [--checkpoint DIR] [--resume] [--quiet] --out M2
//   recur evaluate --model M --x X.npy --y Y.npy --loss L [--json]
//
// Under `mpirun -np N recur fit ...` the training is data-parallel: --batch-size is the batch of
// each rank, the global batch N times it (docs/SCALING.md).
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/arrays.hpp"
#include "cli/commands.hpp"
#include "cli/report_format.hpp"
#include "dist/dist.hpp"
#include "io/atomic_file.hpp"
#include "recur/error.hpp"
#include "recur/io/model_file.hpp"
#include "recur/train/callbacks.hpp"
#include "recur/train/checkpoint.hpp"
#include "recur/train/fit.hpp"
#include "recur/train/metrics.hpp"

namespace recur::cli {

namespace {

struct CommonArgs {
  std::string model, x, y, loss;
  bool from_logits = false;
  std::vector<std::string> metrics;
  int64_t batch_size = 32;
  bool json = false;
};

struct FitArgs : CommonArgs {
  std::string optimizer = "adam", out, checkpoint, csv_log;
  std::optional<double> lr, epsilon, momentum, clipnorm, clipvalue, global_clipnorm, weight_decay;
  bool nesterov = false, amsgrad = false;
  int epochs = 1;
  double validation_split = 0.0;
  std::string val_x, val_y;
  bool no_shuffle = false, resume = false, quiet = false;
  uint64_t seed = 0;
  int64_t save_freq = 0;
  int verbose = -1;
};

void add_common(CLI::App* cmd, CommonArgs& a) {
  cmd->add_option("--model", a.model, "model file (.safetensors)")->required();
  cmd->add_option("--x", a.x, "inputs (.npy, batch-first: float [N, T, F] or int ids [N, T])")
      ->required();
  cmd->add_option("--y", a.y, "targets (.npy: [N, U], [N, T, U], or int class ids [N] / [N, T])")
      ->required();
  cmd->add_option("--loss", a.loss,
                  "mse | mae | huber | binary_crossentropy | categorical_crossentropy | "
                  "sparse_categorical_crossentropy")
      ->required();
  cmd->add_flag("--from-logits", a.from_logits, "crossentropy losses: the model outputs logits");
  cmd->add_option("--metrics", a.metrics, "metrics: accuracy, mae, mse, rmse (comma-separated)")
      ->delimiter(',');
  cmd->add_option("--batch-size", a.batch_size,
                  "rows per batch (default 32); under mpirun, per rank")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--json", a.json, "print the final metrics as one JSON object on stdout");
}

// Loads the model and the arrays, compiles with the loss and metrics (and `optimizer`).
struct Loaded {
  std::unique_ptr<Model> model;
  std::map<std::string, std::string> meta;
  Tensor x, y;
};

Loaded load_and_compile(const CommonArgs& a, const OptimizerOptions& optimizer) {
  Loaded l;
  l.model = load_model(a.model, &l.meta);
  if (l.model->num_inputs() != 1 || l.model->num_outputs() != 1)
    fail<InvalidArgument>(a.model, ": the model has ", l.model->num_inputs(), " inputs and ",
                          l.model->num_outputs(), " outputs; the command line trains "
                          "single-input, single-output models (use the library for others)");
  LossOptions loss = parse_loss(a.loss);
  loss.from_logits = a.from_logits;
  CompileOptions co;
  co.optimizer = optimizer;
  co.losses = {loss};
  co.metrics = a.metrics;
  l.model->compile(co);
  l.x = read_model_input(a.x, *l.model);
  l.y = read_targets(a.y);
  return l;
}

int run_fit(const FitArgs& a) {
  // Under `mpirun -np N`: rank 0 runs this command (reads, prints, writes); the other ranks stay
  // in cli_init() and train their share of each global batch (recur/dist.hpp).
  dist::cli_init();
  OptimizerOptions opt = optimizer_from_json(nlohmann::json(a.optimizer));
  opt.learning_rate = a.lr;
  opt.epsilon = a.epsilon;
  if (a.momentum) opt.momentum = *a.momentum;
  opt.nesterov = a.nesterov;
  opt.amsgrad = a.amsgrad;
  opt.weight_decay = a.weight_decay;
  opt.clipnorm = a.clipnorm;
  opt.clipvalue = a.clipvalue;
  opt.global_clipnorm = a.global_clipnorm;
  if (a.resume && a.checkpoint.empty())
    fail<InvalidArgument>("--resume needs --checkpoint DIR (the directory to resume from)");
  if (!a.checkpoint.empty()) {
    const bool exists = std::filesystem::exists(checkpoint_file(a.checkpoint));
    if (a.resume && !exists)
      fail<IoError>(a.checkpoint, ": no checkpoint to resume (", checkpoint_file(a.checkpoint),
                    " does not exist)");
    if (!a.resume && exists)
      fail<InvalidArgument>(a.checkpoint, " already holds a checkpoint; pass --resume to "
                            "continue it, or choose another --checkpoint directory");
  }
  // Refuse an output or checkpoint folder nobody can write before training, not after it.
  io::check_writable(a.out);
  if (!a.checkpoint.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(a.checkpoint, ec);
    if (ec)
      fail<IoError>(a.checkpoint, ": cannot create the checkpoint directory: ", ec.message());
    io::check_writable(checkpoint_file(a.checkpoint));
  }
  Loaded l = load_and_compile(a, opt);

  FitOptions fo;
  fo.epochs = a.epochs;
  fo.batch_size = a.batch_size;
  fo.validation_split = a.validation_split;
  if (!a.val_x.empty() || !a.val_y.empty()) {
    if (a.val_x.empty() || a.val_y.empty())
      fail<InvalidArgument>("--validation-x and --validation-y go together");
    fo.validation_x = {read_model_input(a.val_x, *l.model)};
    fo.validation_y = {read_targets(a.val_y)};
  }
  fo.shuffle = !a.no_shuffle;
  fo.seed = a.seed;
  fo.verbose = a.quiet ? 0 : (a.verbose >= 0 ? a.verbose : 1);
  fo.out = a.json ? &std::cerr : &std::cout;  // stdout carries only the JSON
  fo.callbacks.push_back(terminate_on_nan());
  if (!a.csv_log.empty()) fo.callbacks.push_back(csv_logger(a.csv_log));
  if (!a.checkpoint.empty())
    fo.callbacks.push_back(backup_and_restore(a.checkpoint, a.save_freq, false));

  History h = l.model->fit(l.x, l.y, fo);
  if (h.stopped_on_nan)
    fail<InvalidArgument>("training stopped at epoch ",
                          (h.epoch.empty() ? a.epochs > 0 ? 1 : 0 : h.epoch.back() + 2),
                          ": the loss became NaN or Inf (try a lower --lr or --clipnorm); ",
                          a.out, " was not written",
                          a.checkpoint.empty() ? std::string()
                                               : "; the last good checkpoint is kept in " + a.checkpoint);
  std::map<std::string, std::string> meta;
  for (const auto& [k, v] : l.meta)
    if (k != "recur.format" && k != "recur.model" && k != "recur.training") meta[k] = v;
  save_model(a.out, *l.model, meta);
  if (a.json) {
    nlohmann::json hist = nlohmann::json::object(), final = nlohmann::json::object();
    for (const auto& [k, v] : h.history) {
      nlohmann::json arr = nlohmann::json::array();
      for (double d : v) arr.push_back(finite_or_null(d));
      hist[k] = arr;
      if (!v.empty()) final[k] = finite_or_null(v.back());
    }
    nlohmann::json out = {{"epochs", h.epoch.size()}, {"history", hist},
                          {"final", final}, {"model", a.out}};
    std::cout << out.dump() << "\n";
  }
  return 0;
}

int run_evaluate(const CommonArgs& a) {
  dist::cli_init();  // under mpirun, rank 0 evaluates alone
  Loaded l = load_and_compile(a, OptimizerOptions{});
  EvaluateOptions eo;
  eo.batch_size = a.batch_size;
  const auto scores = l.model->evaluate(l.x, l.y, eo);
  if (a.json) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, v] : scores) out[k] = finite_or_null(v);
    out["samples"] = l.x.dim(0);
    std::cout << out.dump() << "\n";
  } else {
    for (const auto& [k, v] : scores) std::cout << k << ": " << v << "\n";
  }
  return 0;
}

}  // namespace

void register_fit(CLI::App& app, std::function<int()>& run) {
  auto a = std::make_shared<FitArgs>();
  CLI::App* cmd = app.add_subcommand("fit", "Train a model file on .npy arrays and write the "
                                            "trained model");
  add_common(cmd, *a);
  cmd->add_option("--optimizer", a->optimizer, "sgd | adam | adamw | rmsprop | adagrad (default adam)");
  cmd->add_option("--lr", a->lr, "learning rate (default: the optimizer's Keras default)");
  cmd->add_option("--epochs", a->epochs, "passes over the data (default 1)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--epsilon", a->epsilon, "adam/adamw/rmsprop/adagrad epsilon (default 1e-7)");
  cmd->add_option("--momentum", a->momentum, "sgd/rmsprop momentum (default 0)");
  cmd->add_flag("--nesterov", a->nesterov, "sgd: Nesterov momentum");
  cmd->add_flag("--amsgrad", a->amsgrad, "adam/adamw: AMSGrad");
  cmd->add_option("--weight-decay", a->weight_decay, "adamw decoupled weight decay (default 0.004)");
  cmd->add_option("--clipnorm", a->clipnorm, "clip each variable's gradient to this norm");
  cmd->add_option("--clipvalue", a->clipvalue, "clip every gradient element to [-v, v]");
  cmd->add_option("--global-clipnorm", a->global_clipnorm,
                  "clip all gradients together to this norm");
  cmd->add_option("--validation-split", a->validation_split,
                  "fraction of the LAST rows held out for validation (before shuffling)")
      ->check(CLI::Range(0.0, 0.999999));
  cmd->add_option("--validation-x", a->val_x, "validation inputs (.npy)");
  cmd->add_option("--validation-y", a->val_y, "validation targets (.npy)");
  cmd->add_flag("--no-shuffle", a->no_shuffle, "consecutive rows per batch (last partial kept)");
  cmd->add_option("--seed", a->seed, "seed for shuffling and dropout (default 0)");
  cmd->add_option("--checkpoint", a->checkpoint,
                  "directory for a resumable checkpoint, written atomically every epoch");
  cmd->add_option("--save-freq", a->save_freq, "also checkpoint every N batches")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--resume", a->resume, "continue the run saved in --checkpoint DIR");
  cmd->add_option("--csv-log", a->csv_log, "write one CSV row of metrics per epoch");
  cmd->add_option("--verbose", a->verbose, "0 silent, 1 progress bar, 2 one line per epoch")
      ->check(CLI::Range(0, 2));
  cmd->add_flag("--quiet", a->quiet, "no progress output");
  cmd->add_option("--out", a->out, "where to write the trained model (.safetensors)")->required();
  cmd->callback([&run, a] { run = [a] { return run_fit(*a); }; });
}

void register_evaluate(CLI::App& app, std::function<int()>& run) {
  auto a = std::make_shared<CommonArgs>();
  CLI::App* cmd = app.add_subcommand("evaluate", "Loss and metrics of a model on .npy arrays");
  add_common(cmd, *a);
  cmd->callback([&run, a] { run = [a] { return run_evaluate(*a); }; });
}

}  // namespace recur::cli
