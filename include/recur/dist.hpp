// Data-parallel training over MPI (docs/SCALING.md has the semantics and the measurements).
//
//   mpirun -np 4 recur fit ... --batch-size 32     # 4 replicas, global batch 4·32 = 128
//
// Library use (SPMD): every rank calls recur::dist::init(), then builds and compiles the same
// model and calls Model::fit with the same data and options. fit() then splits each global batch
// (N·batch_size rows of the shared shuffled order) across the ranks, averages the gradients over
// the GLOBAL batch (each rank's gradient weighted by its share of the loss divisor), and steps
// every replica identically. Callbacks, progress output and checkpoints run on rank 0 only; rank
// 0 broadcasts what callbacks decide (stop, learning rate, final weights).
//
// Without MPI support (RECUR_MPI=OFF, or no MPI found) init() is a no-op returning 1, and a
// process launched by mpirun with more than one rank is refused with a ConfigError.
#pragma once

namespace recur::dist {

// Built with MPI (CMake RECUR_MPI found an MPI library).
bool built_with_mpi();
// The environment says this process was started by mpirun/mpiexec (OMPI_COMM_WORLD_SIZE,
// PMI_SIZE or PMIX_RANK is set). Launch size from that environment; 1 when not launched.
bool launched_by_mpirun();
int launch_size();

// Joins the MPI job when launched by mpirun (MPI_Init; idempotent) and returns the number of
// ranks (1 when not launched: a plain process never touches MPI). Unless RECUR_NUM_THREADS is
// set, each rank then uses (cores / ranks on this machine) GEMM threads, at least 1.
// Reads RECUR_MPI_REDUCE (fast | ordered) and RECUR_MPI_TIMEOUT (seconds, 0 = no limit).
int init();
int rank();   // 0 when not joined
int size();   // 1 when not joined
// True when fit() trains data-parallel: joined with more than one rank.
bool active();

// How gradients are summed across ranks.
//   fast     MPI_Allreduce (the MPI library's order; the same on every rank for a given run
//            layout, but not guaranteed by MPI to be the same across layouts)
//   ordered  gather every rank's gradient, then sum in rank order: r0 + r1 + ... — bit-identical
//            from run to run and on every rank, whatever MPI's algorithm; costs N× the traffic
enum class Reduction { fast, ordered };
void set_reduction(Reduction r);
Reduction reduction();

// Seconds a rank waits in a collective before it gives up, prints which collective timed out
// and ends the job (exit 1, which makes mpirun stop the other ranks). 0 = wait forever.
void set_timeout_seconds(double s);
double timeout_seconds();

}  // namespace recur::dist
