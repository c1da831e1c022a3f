// recur::dist over MPI's C API (the build with RECUR_MPI; src/dist/serial.cpp is the twin
// without MPI). Only the main thread calls MPI (MPI_THREAD_FUNNELED); a watchdog thread, started
// when more than one rank joined, ends the process when a collective waits too long.
#define OMPI_SKIP_MPICXX 1  // the C API only (the C++ bindings are deprecated)
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dist/dist.hpp"
#include "dist/fit_server.hpp"
#include "kernels/gemm.hpp"
#include "recur/error.hpp"

namespace recur::dist {

namespace {

using Clock = std::chrono::steady_clock;

struct World {
  bool joined = false;
  bool finalized = false;
  bool driving = false;
  int rank = 0;
  int size = 1;
  Reduction reduction = Reduction::fast;
  double timeout_s = 300.0;
  std::size_t bucket_bytes = std::size_t{16} << 20;
};
World g;

// ---- watchdog ----------------------------------------------------------------------------------

// Armed (since_ns != 0) while a collective runs; the thread checks four times a second.
struct Watchdog {
  std::atomic<int64_t> since_ns{0};
  std::atomic<const char*> what{""};
  std::mutex m;
  std::condition_variable cv;
  bool stop = false;
  std::thread thread;
};
Watchdog* g_watchdog = nullptr;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

void watchdog_loop(Watchdog* w, double timeout_s, int rank) {
  std::unique_lock<std::mutex> lock(w->m);
  while (!w->stop) {
    w->cv.wait_for(lock, std::chrono::milliseconds(250));
    const int64_t since = w->since_ns.load();
    if (since == 0 || w->stop) continue;
    const double waited = static_cast<double>(now_ns() - since) * 1e-9;
    if (waited > timeout_s) {
      std::fprintf(stderr,
                   "recur: error: rank %d: no answer from the other ranks for %.0f s in %s: a "
                   "rank died or hangs; stopping the job (RECUR_MPI_TIMEOUT sets this limit)\n",
                   rank, waited, w->what.load());
      std::fflush(stderr);
      std::_Exit(1);  // mpirun sees a failed rank and stops the others
    }
  }
}

// Arms the watchdog for the lifetime of one collective.
class Guard {
 public:
  explicit Guard(const char* what) {
    if (!g_watchdog) return;
    g_watchdog->what.store(what);
    g_watchdog->since_ns.store(now_ns());
  }
  ~Guard() {
    if (g_watchdog) g_watchdog->since_ns.store(0);
  }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;
};

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  abort_job(std::string(what) + ": MPI error: " + std::string(text, static_cast<std::size_t>(len)));
}

// Waits for a nonblocking request without spinning hard: MPI_Test, then short sleeps.
void wait_idle(MPI_Request& req, const char* what) {
  int done = 0;
  int us = 20;
  while (true) {
    check(MPI_Test(&req, &done, MPI_STATUS_IGNORE), what);
    if (done) return;
    std::this_thread::sleep_for(std::chrono::microseconds(us));
    us = std::min(us * 2, 2000);
  }
}

void finish_at_exit() {
  if (!g.joined || g.finalized) return;
  if (g.driving) send_command(0);  // the servants leave their loop
  if (g_watchdog) {
    {
      std::lock_guard<std::mutex> lock(g_watchdog->m);
      g_watchdog->stop = true;
    }
    g_watchdog->cv.notify_all();
    g_watchdog->thread.join();
    delete g_watchdog;
    g_watchdog = nullptr;
  }
  g.finalized = true;
  MPI_Finalize();
}

double env_double(const char* name, double fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const double d = std::strtod(v, &end);
  if (end == v || *end != '\0' || !(d >= 0.0))
    fail<ConfigError>(name, "='", v, "' is not a number >= 0");
  return d;
}

// Elements per MPI call: within int range and the bucket size.
std::size_t chunk_elems(std::size_t elem_bytes) {
  return std::max<std::size_t>(1, std::min<std::size_t>(g.bucket_bytes / elem_bytes, 1u << 30));
}

template <typename T>
void broadcast_chunks(T* buf, std::size_t n, MPI_Datatype type, const char* what) {
  if (g.size == 1) return;
  Guard guard(what);
  const std::size_t chunk = chunk_elems(sizeof(T));
  for (std::size_t off = 0; off < n; off += chunk) {
    const int c = static_cast<int>(std::min(chunk, n - off));
    check(MPI_Bcast(buf + off, c, type, 0, MPI_COMM_WORLD), what);
  }
}

}  // namespace

// ---- recur/dist.hpp ----------------------------------------------------------------------------

bool built_with_mpi() { return true; }

int init() {
  if (g.joined) return g.size;
  if (!launched_by_mpirun()) return 1;
  g.reduction = Reduction::fast;
  if (const char* r = std::getenv("RECUR_MPI_REDUCE"); r && *r) {
    const std::string s = r;
    if (s == "ordered") g.reduction = Reduction::ordered;
    else if (s != "fast")
      fail<ConfigError>("RECUR_MPI_REDUCE='", s, "': expected fast or ordered");
  }
  g.timeout_s = env_double("RECUR_MPI_TIMEOUT", g.timeout_s);
  const double bucket_mb = env_double("RECUR_MPI_BUCKET_MB", 16.0);
  if (!(bucket_mb > 0.0)) fail<ConfigError>("RECUR_MPI_BUCKET_MB must be > 0");
  g.bucket_bytes = static_cast<std::size_t>(bucket_mb * 1048576.0);
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
      fail<ConfigError>("MPI_Init failed: cannot join the mpirun job");
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &g.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g.size);
  g.joined = true;
  if (g.size > 1 && !std::getenv("RECUR_NUM_THREADS")) {
    // Ranks on this machine share its cores.
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local);
    int local_size = 1;
    MPI_Comm_size(local, &local_size);
    MPI_Comm_free(&local);
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    kernels::set_num_threads(std::max(1, cores / std::max(1, local_size)));
  }
  if (g.size > 1 && g.timeout_s > 0.0) {
    g_watchdog = new Watchdog;
    g_watchdog->thread = std::thread(watchdog_loop, g_watchdog, g.timeout_s, g.rank);
  }
  std::atexit(finish_at_exit);
  return g.size;
}

int rank() { return g.rank; }
int size() { return g.size; }
bool active() { return g.joined && g.size > 1; }
void set_reduction(Reduction r) { g.reduction = r; }
Reduction reduction() { return g.reduction; }
void set_timeout_seconds(double s) { g.timeout_s = s; }
double timeout_seconds() { return g.timeout_s; }

// ---- collectives -------------------------------------------------------------------------------

std::size_t bucket_bytes() { return g.bucket_bytes; }

void allreduce_sum(float* buf, std::size_t n, const char* what) {
  if (g.size == 1) return;
  Guard guard(what);
  if (g.reduction == Reduction::fast) {
    const std::size_t chunk = chunk_elems(sizeof(float));
    for (std::size_t off = 0; off < n; off += chunk) {
      const int c = static_cast<int>(std::min(chunk, n - off));
      check(MPI_Allreduce(MPI_IN_PLACE, buf + off, c, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), what);
    }
    return;
  }
  // ordered: gather [size][chunk], then sum in rank order, the same on every rank.
  const auto ranks = static_cast<std::size_t>(g.size);
  const std::size_t chunk = std::max<std::size_t>(1, chunk_elems(sizeof(float)) / ranks);
  std::vector<float> all(ranks * std::min(chunk, n));  // [size][c]
  for (std::size_t off = 0; off < n; off += chunk) {
    const std::size_t c = std::min(chunk, n - off);
    check(MPI_Allgather(buf + off, static_cast<int>(c), MPI_FLOAT, all.data(),
                        static_cast<int>(c), MPI_FLOAT, MPI_COMM_WORLD),
          what);
    float* out = buf + off;
    std::memcpy(out, all.data(), c * sizeof(float));
    for (std::size_t r = 1; r < ranks; ++r) {
      const float* part = all.data() + r * c;
      for (std::size_t i = 0; i < c; ++i) out[i] += part[i];
    }
  }
}

void allgather(const double* mine, std::size_t n, std::vector<double>& all, const char* what) {
  all.resize(n * static_cast<std::size_t>(g.size));
  if (g.size == 1) {
    std::copy(mine, mine + n, all.begin());
    return;
  }
  Guard guard(what);
  check(MPI_Allgather(mine, static_cast<int>(n), MPI_DOUBLE, all.data(), static_cast<int>(n),
                      MPI_DOUBLE, MPI_COMM_WORLD),
        what);
}

void broadcast(float* buf, std::size_t n, const char* what) {
  broadcast_chunks(buf, n, MPI_FLOAT, what);
}
void broadcast(double* buf, std::size_t n, const char* what) {
  broadcast_chunks(buf, n, MPI_DOUBLE, what);
}
void broadcast(int64_t* buf, std::size_t n, const char* what) {
  broadcast_chunks(buf, n, MPI_INT64_T, what);
}

void broadcast(std::string& s, const char* what) {
  if (g.size == 1) return;
  int64_t len = static_cast<int64_t>(s.size());
  broadcast(&len, 1, what);
  s.resize(static_cast<std::size_t>(len));
  broadcast_chunks(s.data(), s.size(), MPI_CHAR, what);
}

void broadcast_idle(double* buf, std::size_t n) {
  if (g.size == 1) return;
  MPI_Request req;
  check(MPI_Ibcast(buf, static_cast<int>(n), MPI_DOUBLE, 0, MPI_COMM_WORLD, &req), "broadcast");
  if (g.rank == 0) check(MPI_Wait(&req, MPI_STATUS_IGNORE), "broadcast");
  else wait_idle(req, "broadcast");
}

void abort_job(const std::string& message) {
  std::fprintf(stderr, "recur: error: rank %d: %s\n", g.rank, message.c_str());
  std::fflush(stderr);
  if (g.joined && !g.finalized) MPI_Abort(MPI_COMM_WORLD, 1);
  std::_Exit(1);
}

// ---- servant mode ------------------------------------------------------------------------------

void cli_init() {
  if (init() == 1) return;
  if (g.rank == 0) {
    g.driving = true;
    return;
  }
  int code = 0;
  try {
    serve();
  } catch (const std::exception& e) {
    abort_job(e.what());
  }
  std::exit(code);  // runs finish_at_exit: MPI_Finalize
}

bool driving() { return g.driving; }

int receive_command() {
  int64_t cmd = 0;
  MPI_Request req;
  check(MPI_Ibcast(&cmd, 1, MPI_INT64_T, 0, MPI_COMM_WORLD, &req), "command");
  wait_idle(req, "command");
  return static_cast<int>(cmd);
}

void send_command(int command) {
  int64_t cmd = command;
  MPI_Request req;
  check(MPI_Ibcast(&cmd, 1, MPI_INT64_T, 0, MPI_COMM_WORLD, &req), "command");
  check(MPI_Wait(&req, MPI_STATUS_IGNORE), "command");
}

}  // namespace recur::dist
