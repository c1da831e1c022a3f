// parallel_for(): runs part(0..parts-1) at once on recur's own small thread pool, the calling
// thread taking a share. Used by sgemm() to split a product into blocks of C.
//
// Built for the recurrent time loop, which hands the pool one short job (tens to hundreds of
// microseconds) per step, hundreds of times a second:
// - no allocation per job (a function pointer and a context, not std::function);
// - pool threads spin briefly between jobs, then sleep: a job that follows within the spin
//   costs no system call to start (a futex wake-up costs several microseconds in a VM);
// - parts are claimed, not assigned: whoever is free takes the next part, so a pool thread that
//   the OS has descheduled delays nothing, as the caller runs the parts nobody took. (OpenMP's
//   static schedule and spinning barriers made 2 threads up to 20x slower than 1 whenever
//   another process held the second core: docs/PERFORMANCE.md.)
#pragma once

namespace recur::kernels {

namespace detail {
using PartCall = void (*)(const void* context, int part);
void parallel_for_erased(int parts, PartCall call, const void* context);
}  // namespace detail

// part(i) for every i in [0, parts), each exactly once, returning when all are done. Parts may
// run on any thread and in any order. A second user thread that calls while a job is running
// runs its parts itself. If parts throw, the first exception is rethrown to the caller once
// every part that started has finished (the thrower's later parts in its slot do not run).
template <typename Part>
void parallel_for(int parts, const Part& part) {
  detail::parallel_for_erased(
      parts, [](const void* p, int i) { (*static_cast<const Part*>(p))(i); }, &part);
}

// True on a thread while it runs a part of a parallel_for(): a product inside a part runs
// whole on that thread instead of splitting again.
bool in_parallel_for();

}  // namespace recur::kernels
