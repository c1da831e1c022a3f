// Test helpers: running the recur binary.
#include "support/cli_run.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <gtest/gtest.h>

#include "support/compare.hpp"
#include "support/files.hpp"

namespace recur::testing {

const std::string& recur_cli_path() {
  static const std::string path = RECUR_CLI_PATH;
  return path;
}

CliRun recur_cli(const std::string& args) {
  CliRun r;
  r.rc = run_command(recur_cli_path() + " " + args, &r.out);
  return r;
}

CliRun recur_cli_split(const std::string& args) {
  std::string err_path =
      (std::filesystem::temp_directory_path() / "recur_cli_stderr_XXXXXX").string();
  const int fd = ::mkstemp(err_path.data());
  CliRun r;
  if (fd < 0) {
    ADD_FAILURE() << "cannot create a temporary file for stderr: " << err_path;
    return r;
  }
  ::close(fd);
  r.rc = run_command("(" + recur_cli_path() + " " + args + " 2>" + err_path + ")", &r.out);
  r.err = read_file(err_path);
  std::filesystem::remove(err_path);
  return r;
}

void expect_one_line_error(const CliRun& run, const std::string& needle) {
  const std::string& err = run.err;
  EXPECT_EQ(run.rc, 1) << err;
  EXPECT_EQ(err.rfind("recur: error: ", 0), 0u) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_NE(err.find(needle), std::string::npos) << "expected '" << needle << "' in: " << err;
}

}  // namespace recur::testing
