// MPI_Allreduce (float sum, in place) time against message size, and the ordered reduction
// recur offers (MPI_Allgather, then a rank-order sum): the numbers behind docs/SCALING.md.
//
//   mpirun -np 2 --mca btl self,vader build/bench/mpi_allreduce [--reps R]
//
// Prints one line per size: bytes, median and minimum microseconds per call of each method,
// and the implied bus bandwidth of the allreduce (2·(N-1)/N · bytes / time, NCCL's busbw).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

// Median and minimum of `reps` timed calls of f (after 3 warm-up calls), in microseconds; the
// time of a call is the slowest rank's.
template <typename F>
std::pair<double, double> time_us(int reps, F&& f) {
  for (int i = 0; i < 3; ++i) f();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    f();
    double dt = MPI_Wtime() - t0;
    MPI_Allreduce(MPI_IN_PLACE, &dt, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    t.push_back(dt * 1e6);
  }
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], t.front()};
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int reps = 200;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--reps") == 0) reps = std::max(5, std::atoi(argv[i + 1]));
  if (rank == 0)
    std::printf("# %d ranks; float32 sum; microseconds per call (median / min over %d)\n"
                "%12s %12s %10s %10s %12s %10s\n",
                size, reps, "bytes", "allreduce", "min", "busbw_GB/s", "ordered", "min");
  for (std::size_t n = 1; n <= (std::size_t{1} << 24); n *= 4) {  // floats: 4 B .. 64 MiB
    std::vector<float> buf(n, 1.0f), all(n * static_cast<std::size_t>(size));
    const int r = n >= (1u << 20) ? std::max(5, reps / 10) : reps;
    const auto ar = time_us(r, [&] {
      MPI_Allreduce(MPI_IN_PLACE, buf.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM,
                    MPI_COMM_WORLD);
    });
    const auto ord = time_us(r, [&] {
      MPI_Allgather(buf.data(), static_cast<int>(n), MPI_FLOAT, all.data(), static_cast<int>(n),
                    MPI_FLOAT, MPI_COMM_WORLD);
      std::memcpy(buf.data(), all.data(), n * sizeof(float));
      for (int k = 1; k < size; ++k)
        for (std::size_t i = 0; i < n; ++i) buf[i] += all[static_cast<std::size_t>(k) * n + i];
    });
    const double bytes = static_cast<double>(n * sizeof(float));
    const double busbw = 2.0 * (size - 1) / size * bytes / (ar.first * 1e-6) / 1e9;
    if (rank == 0)
      std::printf("%12.0f %12.1f %10.1f %10.2f %12.1f %10.1f\n", bytes, ar.first, ar.second,
                  busbw, ord.first, ord.second);
  }
  MPI_Finalize();
  return 0;
}
