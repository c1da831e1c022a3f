// Running the recur binary (RECUR_CLI_PATH) from tests: exit status and output of one run, and
// the check for a runtime error reported as one `recur: error: ...` line.
#pragma once

#include <string>

namespace recur::testing {

// The recur executable under test.
const std::string& recur_cli_path();

struct CliRun {
  int rc = -1;      // exit status (-1: did not exit normally)
  std::string out;  // stdout; for recur_cli, stdout and stderr together
  std::string err;  // stderr (recur_cli_split only)
};

// `recur <args>` through /bin/sh (args may quote and substitute); stdout and stderr merged in
// `out`, in the order written.
CliRun recur_cli(const std::string& args);

// `recur <args>` through /bin/sh with stdout in `out` and stderr in `err`, kept apart (so that
// stdout can be parsed as JSON while progress goes to stderr).
CliRun recur_cli_split(const std::string& args);

// A runtime error (recur_cli_split run): exit 1, and stderr is exactly one line that starts with
// "recur: error: " and contains `needle`.
void expect_one_line_error(const CliRun& run, const std::string& needle);

}  // namespace recur::testing
