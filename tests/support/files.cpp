// Test helpers: whole-file read and write, a temporary directory per test.
#include "support/files.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>

namespace fs = std::filesystem;

namespace recur::testing {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_file(const std::string& path, std::string_view bytes) {
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void TempDirTest::SetUp() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = "recur_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" +
                     std::to_string(::getpid());
  std::replace(name.begin(), name.end(), '/', '_');  // parameterized tests: Prefix/Suite, Test/0
  dir_ = fs::temp_directory_path() / name;
  fs::remove_all(dir_);
  fs::create_directories(dir_);
}

void TempDirTest::TearDown() { fs::remove_all(dir_); }

std::string TempDirTest::path(const std::string& name) const { return (dir_ / name).string(); }

std::string TempDirTest::write(const std::string& name, std::string_view bytes) const {
  const std::string p = path(name);
  write_file(p, bytes);
  return p;
}

}  // namespace recur::testing
