// The pool behind parallel_for(). A job is published as one atomic ticket (generation, slot
// count, a bit per claimed slot); the caller and the pool threads claim slots from it with a
// compare-and-swap until none is left (each preferring its own: the caller slot 0, pool thread
// i slot i), and the caller then waits until every claimed slot is done. Pool threads spin for
// kSpin after each job before they go to sleep on a condition variable; the caller spins as
// long before it sleeps waiting for the slots others claimed. An exception thrown by a part is
// kept (the first one), the part's slot stops, and the caller rethrows it once every slot is done.
#include "kernels/parallel.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace recur::kernels::detail {

namespace {

// How long a thread spins before it sleeps: far longer than the gap between two jobs of the
// time loop (one per step), short enough that an idle pool costs next to nothing. (Under
// contention 0-100 us measured alike: docs/PERFORMANCE.md, "1 thread and 2 threads".)
constexpr auto kSpin = std::chrono::microseconds(100);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// Spins until done() or until kSpin has passed; returns done().
template <typename Done>
bool spin_until(const Done& done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() >= deadline) return done();
  }
}

thread_local bool t_in_part = false;

// Runs one part with in_parallel_for() true (restored after, also when the part throws: parts
// may nest).
inline void run_part(PartCall call, const void* context, int i) {
  struct Restore {
    bool outer;
    ~Restore() { t_in_part = outer; }
  } restore{t_in_part};
  t_in_part = true;
  call(context, i);
}

// A job runs as up to kMaxSlots slots; slot s runs parts s, s + slots, s + 2·slots, ...
constexpr int kMaxSlots = 32;

// Ticket layout: generation in bits 40-63, slot count in bits 32-39, claimed slots as a bit mask
// in bits 0-31.
constexpr uint64_t ticket(uint32_t generation, int slots) {
  return (uint64_t{generation & 0xffffff} << 40) | (static_cast<uint64_t>(slots) << 32);
}
constexpr int ticket_slots(uint64_t t) { return static_cast<int>((t >> 32) & 0xff); }

class Pool {
 public:
  void run(int parts, PartCall call, const void* context) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock() || parts < 2) {
      for (int i = 0; i < parts; ++i) run_part(call, context, i);
      return;
    }
    const int slots = std::min(parts, kMaxSlots);
    // Pool threads are created on first need and live for the process (they sleep when idle).
    while (static_cast<int>(workers_.size()) < slots - 1) {
      const int id = static_cast<int>(workers_.size()) + 1;
      workers_.push_back(std::make_unique<Worker>());
      std::thread(&Pool::work, this, workers_.back().get(), id).detach();
    }

    // Publish the job: its fields first, then the ticket (release) that makes them visible to
    // whoever claims a slot.
    call_ = call;
    context_ = context;
    parts_ = parts;
    done_.store(0, std::memory_order_relaxed);
    ++generation_;
    ticket_.store(ticket(generation_, slots), std::memory_order_release);
    for (int i = 0; i < slots - 1; ++i) workers_[i]->posted.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lock(sleep_mu_);
      sleep_cv_.notify_all();
    }

    run_slots(0);
    const auto all_done = [&] { return done_.load(std::memory_order_acquire) == slots; };
    if (!spin_until(all_done)) {
      std::unique_lock<std::mutex> lock(done_mu_);
      caller_waiting_.store(true, std::memory_order_seq_cst);
      done_cv_.wait(lock, all_done);
      caller_waiting_.store(false, std::memory_order_relaxed);
    }
    // Every slot is done: nothing refers to the caller's part any more.
    std::exception_ptr error;
    {
      std::lock_guard<std::mutex> lock(error_mu_);
      error.swap(error_);
    }
    if (error) std::rethrow_exception(error);
  }

 private:
  struct Worker {
    std::atomic<uint32_t> posted{0};  // bumped once per job this worker is asked to join
  };

  // Claims and runs slots of the current job until none is left unclaimed; slot `preferred`
  // first when it is free, so that from one time step to the next the same thread tends to
  // take the same batch rows (whose states stay in its core's cache).
  void run_slots(int preferred) {
    uint64_t t = ticket_.load(std::memory_order_acquire);
    for (;;) {
      const int slots = ticket_slots(t);
      const uint64_t all = (uint64_t{1} << slots) - 1;
      const uint64_t free = all & ~t;
      if (free == 0) return;
      const int slot = preferred < slots && ((free >> preferred) & 1)
                           ? preferred
                           : std::countr_zero(free);
      if (!ticket_.compare_exchange_weak(t, t | (uint64_t{1} << slot), std::memory_order_acquire,
                                         std::memory_order_acquire))
        continue;  // t now holds the current ticket
      // The slot is ours; the job's fields stay put until every slot is done.
      try {
        for (int part = slot; part < parts_; part += slots) run_part(call_, context_, part);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mu_);
        if (!error_) error_ = std::current_exception();
      }
      if (done_.fetch_add(1, std::memory_order_seq_cst) + 1 == slots &&
          caller_waiting_.load(std::memory_order_seq_cst)) {
        std::lock_guard<std::mutex> lock(done_mu_);
        done_cv_.notify_one();
      }
      t = ticket_.load(std::memory_order_acquire);
    }
  }

  void work(Worker* self, int id) {
    uint32_t seen = 0;
    const auto posted = [&] { return self->posted.load(std::memory_order_seq_cst) != seen; };
    for (;;) {
      if (!spin_until(posted)) {
        std::unique_lock<std::mutex> lock(sleep_mu_);
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        sleep_cv_.wait(lock, posted);
        sleepers_.fetch_sub(1, std::memory_order_relaxed);
      }
      seen = self->posted.load(std::memory_order_acquire);
      run_slots(id);
    }
  }

  std::mutex busy_;  // held by the caller for a whole job: one job at a time
  std::vector<std::unique_ptr<Worker>> workers_;

  // The current job; written by the caller before the ticket is published.
  PartCall call_ = nullptr;
  const void* context_ = nullptr;
  int parts_ = 0;
  uint32_t generation_ = 0;
  std::atomic<uint64_t> ticket_{0};
  std::atomic<int> done_{0};  // slots finished
  std::mutex error_mu_;
  std::exception_ptr error_;  // the first exception a part of the current job threw

  // Sleeping: a waker checks the counter / flag after its own store (both seq_cst), a sleeper
  // sets it before re-checking under the mutex, so no wake-up is lost.
  std::mutex sleep_mu_;
  std::condition_variable sleep_cv_;
  std::atomic<int> sleepers_{0};
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  std::atomic<bool> caller_waiting_{false};
};

// The pool lives for the whole process (never destroyed: its threads sleep until exit). A child
// made by fork() has none of the parent's threads, so the child starts a fresh pool and abandons
// the inherited one (whose workers do not exist there, and whose mutexes another thread may have
// held at the fork).
Pool* g_pool = nullptr;

Pool& pool() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_pool = new Pool();
    pthread_atfork(nullptr, nullptr, [] { g_pool = new Pool(); });
  });
  return *g_pool;
}

}  // namespace

void parallel_for_erased(int parts, PartCall call, const void* context) {
  if (parts <= 0) return;
  if (parts == 1) {  // not parallel: products inside may still split
    call(context, 0);
    return;
  }
  pool().run(parts, call, context);
}

}  // namespace recur::kernels::detail

namespace recur::kernels {
bool in_parallel_for() { return detail::t_in_part; }
}  // namespace recur::kernels
