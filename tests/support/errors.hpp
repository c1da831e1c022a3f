// Checks on thrown errors: the message of an expected exception, or an expectation on it.
#pragma once

#include <exception>
#include <string>

#include <gtest/gtest.h>

namespace recur::testing {

// Runs `fn` and returns the message of the E it throws; fails the test (and returns "") when it
// throws nothing.
template <typename E, typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "no exception of the expected type";
  return "";
}

// Runs `fn` and expects it to throw E with `text` somewhere in its message; any other exception
// fails the test too.
template <typename E, typename Fn>
void expect_error(Fn&& fn, const std::string& text) {
  try {
    fn();
    ADD_FAILURE() << "no exception; expected one containing: " << text;
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << text;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

}  // namespace recur::testing
