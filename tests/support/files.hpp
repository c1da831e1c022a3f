// Files for tests: whole-file read and write, and a fixture that gives each test a fresh
// temporary directory.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace recur::testing {

// The bytes of a file ("" when it cannot be opened).
std::string read_file(const std::string& path);

// Writes `bytes` to `path` (created or truncated; binary, no newline translation).
void write_file(const std::string& path, std::string_view bytes);

// Fixture: each test gets an empty directory <tmp>/recur_<suite>_<test>_<pid>, removed with its
// contents after the test (the pid keeps concurrent runs of the same suite apart).
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  // A path inside the test's directory.
  std::string path(const std::string& name) const;
  // Writes `bytes` to path(name) and returns that path.
  std::string write(const std::string& name, std::string_view bytes) const;

  std::filesystem::path dir_;
};

}  // namespace recur::testing
