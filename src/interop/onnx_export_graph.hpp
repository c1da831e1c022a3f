// A small builder for ONNX graphs (the protobuf messages of <onnx/onnx_pb.h>), used by the ONNX
// exporter (onnx_export.cpp, onnx_export_rnn.cpp).
//
// Every value name is made unique by one Names table shared by the main graph and all the
// subgraphs (Scan bodies), since ONNX wants each name assigned once in the whole model.
// Weights and constants always go to the main graph as initializers; subgraphs use them by name
// (ONNX's outer-scope references), so a constant such as the int64 vector [1] exists once.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "recur/tensor.hpp"

namespace recur::onnx_export {

// Unique value and node names: fresh("lstm/Y") returns "lstm/Y", then "lstm/Y_2", ...
class Names {
 public:
  std::string fresh(const std::string& hint);

 private:
  std::set<std::string> taken_;
  std::map<std::string, int> next_;  // next suffix to try per hint
};

// One dimension of a graph input/output type: a fixed size, a symbolic name, or unknown.
struct Dim {
  int64_t value = -1;  // >= 0: fixed
  std::string param;   // non-empty: symbolic ("batch", "time")
};

class Graph {
 public:
  // `root` is the main graph (nullptr when this is the main graph): initializers live there.
  Graph(onnx::GraphProto& proto, Names& names, Graph* root = nullptr);

  onnx::GraphProto& proto() { return proto_; }
  Names& names() { return names_; }

  // A float32 initializer of `shape` (row-major data); returns its (unique) name.
  std::string weights(const std::string& hint, const Shape& shape, const std::vector<float>& data);
  // Cached constants in the main graph: a 1-D int64 vector, a 0-D int64, a 0-D float.
  std::string ints(const std::vector<int64_t>& values);
  std::string int_scalar(int64_t value);
  std::string float_scalar(float value);

  // Adds a node `op`(inputs) -> outputs and returns it (for attributes).
  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs);
  // A node with one fresh output named after `hint`; returns the output's name.
  std::string op(const std::string& op, const std::vector<std::string>& inputs,
                 const std::string& hint);

  // Graph inputs / outputs with element type (onnx::TensorProto::FLOAT, INT64, BOOL) and dims.
  void input(const std::string& name, int elem_type, const std::vector<Dim>& dims);
  void output(const std::string& name, int elem_type, const std::vector<Dim>& dims);

 private:
  onnx::GraphProto& proto_;
  Names& names_;
  Graph* root_;
  std::map<std::string, std::string> constants_;  // cache key -> initializer name (main graph)
};

// Attributes.
void attr_int(onnx::NodeProto& n, const std::string& name, int64_t value);
void attr_float(onnx::NodeProto& n, const std::string& name, float value);
void attr_string(onnx::NodeProto& n, const std::string& name, const std::string& value);
void attr_ints(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& values);
void attr_floats(onnx::NodeProto& n, const std::string& name, const std::vector<float>& values);
void attr_strings(onnx::NodeProto& n, const std::string& name,
                  const std::vector<std::string>& values);
// A graph attribute (Scan's body); returns the subgraph to fill.
onnx::GraphProto& attr_graph(onnx::NodeProto& n, const std::string& name);

}  // namespace recur::onnx_export
