// Counting operator new, for tests that a repeated call allocates nothing: set g_counting, run
// the call, read g_news. Using these pulls support/alloc_counter.cpp (global operator new/delete
// replacements) into the test executable.
#pragma once

#include <atomic>
#include <cstdint>

namespace recur::testing {
extern std::atomic<bool> g_counting;  // count while true
extern std::atomic<int64_t> g_news;   // operator new calls counted so far
}  // namespace recur::testing
