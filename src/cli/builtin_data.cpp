// Finding the shipped data files (data/README.md lists them with their provenance).
#include "cli/builtin_data.hpp"

#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <vector>

#include "recur/error.hpp"

namespace recur::cli {

std::string builtin_data_path(const std::string& name) {
  namespace fs = std::filesystem;
  std::vector<fs::path> dirs;
  if (const char* env = std::getenv("RECUR_DATA_DIR"); env && *env) dirs.emplace_back(env);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    dirs.push_back(exe.parent_path().parent_path() / "share" / "recur" / "data");
    dirs.push_back(exe.parent_path() / "data");
  }
  // This file is <source>/src/cli/builtin_data.cpp.
  dirs.push_back(fs::path(__FILE__).parent_path().parent_path().parent_path() / "data");
  std::string looked;
  for (const fs::path& d : dirs) {
    const fs::path p = d / name;
    if (fs::is_regular_file(p, ec)) return p.string();
    looked += (looked.empty() ? "" : ", ") + d.string();
  }
  fail<IoError>("the built-in data file '", name, "' was not found (looked in ", looked,
                "); set RECUR_DATA_DIR to the folder that holds it, or pass a FILE");
}

}  // namespace recur::cli
