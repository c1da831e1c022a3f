// The collectives fit() uses for data-parallel training, and the command-line "servant" mode.
//
// Implemented twice, selected by CMake (RECUR_MPI): src/dist/mpi.cpp over MPI's C API, and
// src/dist/serial.cpp for a build without MPI (one rank: every collective is the identity).
// Every collective here is called by all ranks in the same order; each is guarded by the
// watchdog (recur::dist::timeout_seconds): a rank that waits longer prints what it was waiting
// for and exits 1, so mpirun ends the job instead of hanging.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "recur/dist.hpp"

namespace recur::dist {

// Sums buf [n] over all ranks in place (every rank gets the same bits), by reduction(): fast =
// MPI_Allreduce in buckets of at most bucket_bytes(); ordered = allgather, then r0 + r1 + ...
// `what` names the collective in a timeout message.
void allreduce_sum(float* buf, std::size_t n, const char* what);
// all [size()·n] = every rank's mine [n], in rank order.
void allgather(const double* mine, std::size_t n, std::vector<double>& all, const char* what);
// Broadcasts from rank 0 (the receivers' buffers must already have the size).
void broadcast(float* buf, std::size_t n, const char* what);
void broadcast(double* buf, std::size_t n, const char* what);
void broadcast(int64_t* buf, std::size_t n, const char* what);
// Broadcasts a string from rank 0 (receivers' `s` is replaced).
void broadcast(std::string& s, const char* what);
// Like broadcast(double*), but the receivers wait without spinning and without the watchdog:
// for waits while rank 0 runs callbacks of unbounded length.
void broadcast_idle(double* buf, std::size_t n);

// Bytes per MPI_Allreduce call in fast mode (RECUR_MPI_BUCKET_MB, default 16 MiB).
std::size_t bucket_bytes();

// Prints "recur: error: rank R: <message>" on stderr and ends the whole job (MPI_Abort with
// exit code 1). For an error on one rank while the others wait in a collective.
[[noreturn]] void abort_job(const std::string& message);

// ---- command-line servant mode ---------------------------------------------------------------
//
// The CLI calls cli_init() before a command's work. Launched by mpirun with N > 1 ranks, rank 0
// returns and runs the command alone (it reads the files, prints, writes every output); ranks
// 1..N-1 never return: they serve() — wait for rank 0's fit() to send them the model, compile
// and fit options and data (send_fit()), train their share, and go back to waiting — until
// rank 0 exits (its atexit handler sends "quit"); then they leave with exit code 0.
// Without mpirun it does nothing.
void cli_init();
// Rank 0 of a servant-mode job (its fit() must send the job to the servants first).
bool driving();
// Servant side of one command: 0 quit, 1 fit. Waits without spinning.
int receive_command();
void send_command(int command);

}  // namespace recur::dist
