// recur demo: the README's main job. Trains the default forecaster on the embedded airline
// passengers series (1949-1960), prints its test errors next to the seasonal-naive and
// last-value baselines, and says where the model, pictures and forecast are.
//
//   recur demo [--model recur-demo/airline.safetensors] [--seed S] [--threads N] [--quiet] [--json]
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "cli/task_common.hpp"

namespace recur::cli {

int run_forecast_demo(const TaskArgs& task);  // cmd_forecast.cpp

void register_demo(CLI::App& app, std::function<int()>& run) {
  auto a = std::make_shared<TaskArgs>();
  CLI::App* cmd = app.add_subcommand(
      "demo", "Forecast the monthly airline passengers series (embedded) with an LSTM and "
              "compare it with simple baselines (same as: recur forecast --model "
              "recur-demo/airline.safetensors)");
  add_task_options(cmd, *a, "recur-demo/airline.safetensors");
  cmd->callback([&run, a] {
    run = [a] {
      task_log(*a) << "recur demo: an LSTM forecaster for monthly airline passengers "
                      "(1949-1960, thousands), trained on the first 80 %, tested on the last "
                      "20 %\n\n";
      return run_forecast_demo(*a);
    };
  });
}

}  // namespace recur::cli
