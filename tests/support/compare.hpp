// Tensor comparison for tests: reports the shape mismatch or the worst elements (llm.c style).
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "recur/tensor.hpp"

namespace recur::testing {

// |actual - expected| <= atol + rtol * |expected| everywhere.
::testing::AssertionResult tensors_close(const Tensor& actual, const Tensor& expected, double atol,
                                         double rtol = 0.0);

// Reads .npy / a safetensors entry into float tensors (ids converted to float).
Tensor load_npy(const std::string& path);

// Runs a shell command; returns its exit status and fills `output` with stdout+stderr.
int run_command(const std::string& command, std::string* output = nullptr);

}  // namespace recur::testing
