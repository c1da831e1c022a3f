// Test helpers: tensor comparison, .npy loading, running commands.
#include "support/compare.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <sys/wait.h>

#include "io/npy.hpp"
#include "io/safetensors.hpp"

namespace recur::testing {

::testing::AssertionResult tensors_close(const Tensor& actual, const Tensor& expected, double atol,
                                         double rtol) {
  if (actual.shape() != expected.shape())
    return ::testing::AssertionFailure() << "shape " << shape_str(actual.shape())
                                         << ", expected " << shape_str(expected.shape());
  double worst = 0.0;
  int64_t worst_i = -1, bad = 0;
  for (int64_t i = 0; i < actual.numel(); ++i) {
    const double a = actual[i], e = expected[i];
    const double d = std::abs(a - e), tol = atol + rtol * std::abs(e);
    if (!(d <= tol)) {
      ++bad;
      if (!(d <= worst)) {
        worst = d;
        worst_i = i;
      }
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << bad << " of " << actual.numel() << " elements differ; worst at flat index "
         << worst_i << ": got " << actual[worst_i] << ", expected " << expected[worst_i]
         << " (|diff| " << worst << ", atol " << atol << ", rtol " << rtol << ")";
}

Tensor load_npy(const std::string& path) {
  io::NpyArray a = io::read_npy(path);
  return io::to_float(io::RawTensor{a.dtype, a.shape, std::move(a.bytes)}, path);
}

int run_command(const std::string& command, std::string* output) {
  std::string cmd = command + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return -1;
  std::array<char, 4096> buf;
  std::string out;
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = pclose(pipe);
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace recur::testing
