// ONNX export of the recurrent layers (SimpleRNN, LSTM, GRU, Bidirectional) and of activations.
//
// Two forms, chosen per layer (docs/interop/onnx-export.md):
//  - no mask reaches the layer: ONNX's own RNN / LSTM / GRU operator (time-major X [T, B, I]),
//    with the weights transposed and the gate blocks reordered (LSTM Keras i,f,c,o -> ONNX
//    i,o,f,c; GRU z,r,h in both), and a Slice with step -1 where Keras's go_backwards output
//    order differs from ONNX's direction="reverse" (which returns time order);
//  - a mask reaches it: P = x·W + b for all steps (one MatMul), then a Scan over time whose body
//    is the cell followed by recur's mask select (h_t = m ? h_new : h_{t-1}, the same for c, and
//    the output repeats the previous output, or is zero inside Bidirectional with
//    return_sequences). This is exact for any mask (left or right padding, holes).
#pragma once

#include <string>
#include <vector>

#include "interop/onnx_export_graph.hpp"
#include "recur/activation.hpp"
#include "recur/layers/bidirectional.hpp"
#include "recur/layers/recurrent.hpp"

namespace recur::onnx_export {

// The inputs of one recurrent layer in the graph.
struct RnnInput {
  std::string x;                     // [T, B, I] float, time-major
  std::string mask;                  // bool [T, B] (true = real step), or "" for none
  std::vector<std::string> initial;  // h0 (and c0 for LSTM), [B, H] each; empty = zeros
};

// The values a recurrent layer produces.
struct RnnOutput {
  std::string y;                    // [T, B, H] with return_sequences, else [B, H]
  std::vector<std::string> states;  // final h (and c), [B, H] each
};

// `what` names the layer in messages ("m.onnx: cannot export LSTM 'lstm' to ONNX"). Throws
// ConfigError for what cannot be exported (stateful layers).
void check_recurrent(const Recurrent& layer, const std::string& what);

// One recurrent layer. With return_sequences the output is in Keras's processing order (reversed
// time when go_backwards), or the reverse of that when `reverse_output` (Bidirectional's backward
// copy, put back into time order). `zero_output_for_mask`: masked steps output zeros.
RnnOutput emit_recurrent(Graph& g, Recurrent& layer, const std::string& hint, const RnnInput& in,
                         bool reverse_output = false, bool zero_output_for_mask = false);

// Bidirectional: both copies (one ONNX operator with direction="bidirectional" when no mask) and
// the merge (concat on the last axis, sum, mul, ave). Returns [T, B, W] or [B, W].
std::string emit_bidirectional(Graph& g, Bidirectional& layer, const std::string& hint,
                               const RnnInput& in);

// An elementwise activation on value x (softmax: over the last axis). Returns the result's name
// (x itself for linear).
std::string emit_activation(Graph& g, Activation a, const std::string& x, const std::string& hint);

}  // namespace recur::onnx_export
