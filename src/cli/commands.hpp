// Subcommand registration: each register_x adds its options to `app` and, when the command is
// chosen, sets `run` to the function that does the work (called after parsing).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace recur::cli {

void register_predict(CLI::App& app, std::function<int()>& run);
void register_info(CLI::App& app, std::function<int()>& run);
void register_fit(CLI::App& app, std::function<int()>& run);
void register_evaluate(CLI::App& app, std::function<int()>& run);
void register_bench(CLI::App& app, std::function<int()>& run);
void register_classify(CLI::App& app, std::function<int()>& run);
void register_textgen(CLI::App& app, std::function<int()>& run);
void register_seqclass(CLI::App& app, std::function<int()>& run);
void register_seq2seq(CLI::App& app, std::function<int()>& run);
void register_forecast(CLI::App& app, std::function<int()>& run);
void register_demo(CLI::App& app, std::function<int()>& run);
void register_import_onnx(CLI::App& app, std::function<int()>& run);
void register_import_keras(CLI::App& app, std::function<int()>& run);
void register_export_onnx(CLI::App& app, std::function<int()>& run);

}  // namespace recur::cli
