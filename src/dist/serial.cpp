// recur::dist without MPI (RECUR_MPI=OFF or no MPI found; src/dist/mpi.cpp is the MPI twin):
// one rank, every collective the identity. A process that mpirun started with several ranks is
// refused, so that N copies do not each train alone and overwrite each other's files.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "dist/dist.hpp"
#include "recur/error.hpp"

namespace recur::dist {

namespace {
Reduction g_reduction = Reduction::fast;
double g_timeout_s = 300.0;
}  // namespace

bool built_with_mpi() { return false; }

int init() {
  if (launch_size() > 1)
    fail<ConfigError>("this recur was built without MPI (CMake RECUR_MPI=OFF, or no MPI library "
                      "found) and cannot train across the ", launch_size(),
                      " processes mpirun started; rebuild with libopenmpi-dev installed, or run "
                      "without mpirun");
  return 1;
}

int rank() { return 0; }
int size() { return 1; }
bool active() { return false; }
void set_reduction(Reduction r) { g_reduction = r; }
Reduction reduction() { return g_reduction; }
void set_timeout_seconds(double s) { g_timeout_s = s; }
double timeout_seconds() { return g_timeout_s; }

std::size_t bucket_bytes() { return std::size_t{16} << 20; }
void allreduce_sum(float*, std::size_t, const char*) {}
void allgather(const double* mine, std::size_t n, std::vector<double>& all, const char*) {
  all.assign(mine, mine + n);
}
void broadcast(float*, std::size_t, const char*) {}
void broadcast(double*, std::size_t, const char*) {}
void broadcast(int64_t*, std::size_t, const char*) {}
void broadcast(std::string&, const char*) {}
void broadcast_idle(double*, std::size_t) {}

void abort_job(const std::string& message) {
  std::fprintf(stderr, "recur: error: %s\n", message.c_str());
  std::_Exit(1);
}

void cli_init() { init(); }
bool driving() { return false; }
int receive_command() { return 0; }
void send_command(int) {}

}  // namespace recur::dist
