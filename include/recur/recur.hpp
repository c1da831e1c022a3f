// recur: recurrent neural networks (SimpleRNN, LSTM, GRU) in C++ — the public API in one include.
#pragma once

#include "recur/activation.hpp"
#include "recur/context.hpp"
#include "recur/error.hpp"
#include "recur/initializer.hpp"
#include "recur/io/model_file.hpp"
#include "recur/layers/bidirectional.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/dropout.hpp"
#include "recur/layers/embedding.hpp"
#include "recur/layers/layer.hpp"
#include "recur/layers/masking.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/model/sequential.hpp"
#include "recur/rng.hpp"
#include "recur/tensor.hpp"
