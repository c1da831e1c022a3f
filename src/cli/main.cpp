// The recur command line: subcommand registration, and the one place where errors become
// "recur: error: <what>" and an exit code (1 runtime error, 2 usage error).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <iostream>

#include "cli/commands.hpp"
#include "recur/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{"recur: recurrent neural networks (SimpleRNN, LSTM, GRU) — train, evaluate, serve",
               "recur"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "recur 0.1.0");
  std::function<int()> run;
  recur::cli::register_predict(app, run);
  recur::cli::register_info(app, run);
  recur::cli::register_fit(app, run);
  recur::cli::register_evaluate(app, run);
  recur::cli::register_bench(app, run);
  recur::cli::register_classify(app, run);
  recur::cli::register_textgen(app, run);
  recur::cli::register_seqclass(app, run);
  recur::cli::register_seq2seq(app, run);
  recur::cli::register_forecast(app, run);
  recur::cli::register_demo(app, run);
  recur::cli::register_import_onnx(app, run);
  recur::cli::register_import_keras(app, run);
  recur::cli::register_export_onnx(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "recur: error: " << e.what() << "\n"
              << "Run 'recur --help' or 'recur <command> --help' for usage.\n";
    return 2;
  }
  try {
    return run ? run() : 2;
  } catch (const recur::InternalError& e) {
    std::cerr << "recur: internal error (please report): " << e.what() << "\n";
    return 1;
  } catch (const recur::Error& e) {
    std::cerr << "recur: error: " << e.what() << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "recur: error: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "recur: error: " << e.what() << "\n";
    return 1;
  }
}
