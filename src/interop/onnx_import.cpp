// ONNX -> recur model (docs/interop/onnx-import.md): reads the graphs torch.onnx.export writes for
// recurrent models (nn.LSTM / nn.GRU / nn.RNN, stacked or bidirectional, nn.Embedding, nn.Linear,
// activations, and the glue around them; one or several inputs; an encoder's final states
// starting a decoder), and recur's own export of unmasked models (reverse direction, GRU
// linear_before_reset=0, every recur activation).
//
// How it works: a small abstract interpretation over the nodes in order. Every ONNX value is one
// of
//   constant  a known tensor (initializers, Constant, folded arithmetic)
//   shape     a 1-D vector of dimensions, each known, the batch size N, the length T or unknown
//             (Shape, Gather, Concat ... on shapes)
//   filled    a tensor of one repeated value with a (partly symbolic) shape (ConstantOfShape,
//             Expand): the zero initial states torch builds
//   data      a tensor computed from the inputs, tied to recur layer outputs: which layer(s)
//             ("parts"), all steps, the last step or a final state h / c ("mode"), and what
//             each axis is ("roles": N batch, T time, F features, D one entry per part, '1' an
//             extra axis of size 1); "reversed" when its T axis runs against the layer's order
//   unusable  an output recur cannot represent (Dropout's mask), an error once used
// Recurrent operators, MatMul/Gemm (+ bias Add), Gather on a weight matrix and the activations
// create recur layers; the glue only moves roles around. Finally the layers that reach the
// graph's outputs become a Sequential (a chain) or a Functional model, which is saved through the
// ordinary model-file loader so that every validation of a recur file applies.
//
// The recur model is batch-first whatever the torch model was: the input layout (batch-first or
// time-major, the same for every input) is found by interpreting the graph under both
// hypotheses, the one the inputs' declared shapes suggest first.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include "interop/onnx_import_tensors.hpp"
#include "io/model_io.hpp"
#include "io/safetensors.hpp"
#include "recur/error.hpp"
#include "recur/interop/onnx.hpp"
#include "recur/layers/bidirectional.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/embedding.hpp"
#include "recur/layers/merge.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/model/functional.hpp"
#include "recur/model/sequential.hpp"

namespace recur {

namespace {

using onnx_import::ConstTensor;

// ---- values -----------------------------------------------------------------------------------

enum class Sym { known, batch, time, unknown };
struct Dim {
  Sym s = Sym::unknown;
  int64_t v = 0;  // when known
};
Dim known(int64_t v) { return {Sym::known, v}; }

// A float from a file used as an integer (an index, a shape entry): must be integral and in range.
int64_t float_to_int(float x, const std::string& where) {
  if (!(std::fabs(x) < 9.0e15f) || std::trunc(x) != x)
    fail<FormatError>(where, ": ", x, " is not an integer index or size");
  return static_cast<int64_t>(x);
}

std::string dims_str(const std::vector<Dim>& dims) {
  std::string s = "[";
  for (std::size_t k = 0; k < dims.size(); ++k) {
    if (k) s += ", ";
    switch (dims[k].s) {
      case Sym::known: s += std::to_string(dims[k].v); break;
      case Sym::batch: s += "N"; break;
      case Sym::time: s += "T"; break;
      case Sym::unknown: s += "?"; break;
    }
  }
  return s + "]";
}

// Which output of a layer a value is: a recurrent layer's every step or last step (its output
// y), or its final state h or c (return_state outputs 1 and 2).
enum class Mode { seq, last, state_h, state_c };
struct Part {
  int node = 0;
  int dir = -1;  // -1: the whole output; 0 / 1: forward / backward half of a Bidirectional
  bool operator==(const Part&) const = default;
};

struct Value {
  enum Kind { constant, shape, filled, data, unusable } kind = unusable;
  std::shared_ptr<const ConstTensor> c;  // constant
  std::vector<Dim> dims;                 // shape (its entries), filled (its shape)
  bool scalar = false;                   // shape: a single dimension (rank 0)
  double fill = 0;                       // filled: the value, when uniform
  bool uniform = true;                   // filled: false when made from a non-uniform constant
  Mode mode = Mode::seq;                 // data
  std::vector<Part> parts;               // data: one, or one per entry of the 'D' axis
  std::string roles;                     // data: per axis, N T F D 1
  int64_t feat = 0;                      // data: size of the F axis (0 for token ids)
  bool reversed = false;  // data: its T axis runs against the recur layer's output order (the Y
                          // of a direction="reverse" operator, in ONNX's time order)
  std::string reason;                    // unusable
};

// A recur layer being assembled.
struct LNode {
  enum Kind { input, rnn, bidir, dense, embedding, add, concat } kind = input;
  std::string name;
  CellKind cell = CellKind::lstm;
  RecurrentOptions ropt;
  DenseOptions dopt;
  EmbeddingOptions eopt;
  Shape input_shape;                            // input: one sample's shape
  std::vector<std::pair<int, Mode>> inputs;     // (node, which of its outputs)
  std::vector<std::pair<int, Mode>> initial;    // rnn: initial states h[, c] from other layers
  std::vector<std::pair<std::string, Tensor>> tensors;  // param name -> Keras-layout data
  std::string sole_ref;  // the ONNX value that alone refers to this output (bias/activation fold)
  std::string onnx_node; // where it came from, for messages
};

bool is_recurrent(const LNode& n) { return n.kind == LNode::rnn || n.kind == LNode::bidir; }

const char* cell_class(CellKind k) {
  return k == CellKind::lstm ? "LSTM" : k == CellKind::gru ? "GRU" : "SimpleRNN";
}

// ---- the interpreter --------------------------------------------------------------------------

class Importer {
 public:
  Importer(const onnx::GraphProto& g, const std::string& path,
           const std::map<std::string, std::shared_ptr<const ConstTensor>>& inits, int opset,
           bool time_major)
      : g_(g), path_(path), inits_(inits), opset_(opset), time_major_(time_major) {}

  std::unique_ptr<Model> run();

 private:
  // messages
  std::string where(const onnx::NodeProto& n) const {
    std::string name = io::detail::printable(
        n.name().empty() ? (n.output_size() ? "output " + n.output(0) : "?") : n.name());
    return path_ + ": " + n.op_type() + " node '" + name + "'";
  }

  // inputs and attributes
  bool has_input(const onnx::NodeProto& n, int k) const {
    return k < n.input_size() && !n.input(k).empty();
  }
  const Value& input(const onnx::NodeProto& n, int k) {
    if (!has_input(n, k)) fail<FormatError>(where(n), ": input ", k, " is missing");
    auto it = values_.find(n.input(k));
    if (it == values_.end())
      fail<FormatError>(where(n), ": input '", n.input(k),
                        "' is not defined before the node (the graph must be in topological "
                        "order)");
    return it->second;
  }
  const onnx::AttributeProto* attr(const onnx::NodeProto& n, const char* name) const {
    for (const auto& a : n.attribute())
      if (a.name() == name) return &a;
    return nullptr;
  }
  int64_t attr_int(const onnx::NodeProto& n, const char* name, int64_t dflt) const {
    const auto* a = attr(n, name);
    return a ? a->i() : dflt;
  }
  std::vector<int64_t> attr_ints(const onnx::NodeProto& n, const char* name) const {
    std::vector<int64_t> out;
    if (const auto* a = attr(n, name))
      for (int64_t v : a->ints()) out.push_back(v);
    return out;
  }
  void set(const onnx::NodeProto& n, int k, Value v) {
    if (k < n.output_size() && !n.output(k).empty()) values_[n.output(k)] = std::move(v);
  }

  // value helpers
  const ConstTensor& need_const(const onnx::NodeProto& n, int k, const char* what);
  std::vector<int64_t> ints_of(const onnx::NodeProto& n, int k, const char* what);
  std::vector<Dim> dims_of(const onnx::NodeProto& n, int k, const char* what);
  std::vector<Dim> data_dims(const Value& v) const;
  std::vector<int64_t> axes_input(const onnx::NodeProto& n, int input_index);
  // Data value -> (node, mode), checking that it is one whole layer output; marks nothing.
  std::pair<int, Mode> materialize(const Value& v, const std::string& where_, bool for_dense);
  void pass_ref(const onnx::NodeProto& n, const Value& v);
  int new_node(LNode node, const std::string& base);
  void add_input(const onnx::ValueInfoProto& x);  // a graph input -> an input node and value
  Value node_value(int node, const std::string& roles, int64_t feat) const {
    Value v;
    v.kind = Value::data;
    v.parts = {{node, -1}};
    v.roles = roles;
    v.feat = feat;
    return v;
  }

  // operators
  void op(const onnx::NodeProto& n);
  void op_gather(const onnx::NodeProto& n);
  void op_concat(const onnx::NodeProto& n);
  void op_slice(const onnx::NodeProto& n);
  void op_reshape(const onnx::NodeProto& n, std::vector<Dim> target, bool allowzero);
  void op_flatten(const onnx::NodeProto& n);
  void op_dense(const onnx::NodeProto& n, bool gemm);
  void op_add(const onnx::NodeProto& n);
  void op_activation(const onnx::NodeProto& n, Activation act);
  void op_recurrent(const onnx::NodeProto& n, CellKind cell);
  void check_zero_state(const onnx::NodeProto& n, int k, const char* what, int64_t D,
                        int64_t H, bool batch_first_states);
  std::pair<Activation, Activation> recurrent_activations(const onnx::NodeProto& n,
                                                         CellKind cell, int64_t D);
  std::optional<std::pair<int, Mode>> state_from_layer(const onnx::NodeProto& n, int k,
                                                       Mode want, int64_t D, int64_t H,
                                                       bool batch_first_states);

  std::unique_ptr<Model> emit();

  const onnx::GraphProto& g_;
  const std::string& path_;
  const std::map<std::string, std::shared_ptr<const ConstTensor>>& inits_;
  int opset_;
  bool time_major_;
  std::map<std::string, Value> values_;
  std::map<std::string, int> uses_;
  std::vector<LNode> nodes_;
  std::map<std::string, int> name_counts_;
};

const ConstTensor& Importer::need_const(const onnx::NodeProto& n, int k, const char* what) {
  const Value& v = input(n, k);
  if (v.kind != Value::constant)
    fail<FormatError>(where(n), ": ", what, " ('", n.input(k),
                      "') must be a constant (an initializer or Constant)");
  return *v.c;
}

std::vector<int64_t> Importer::ints_of(const onnx::NodeProto& n, int k, const char* what) {
  const ConstTensor& c = need_const(n, k, what);
  if (c.dims.size() > 1)
    fail<FormatError>(where(n), ": ", what, " must be a scalar or 1-D, got shape ",
                      shape_str(c.dims));
  std::vector<int64_t> out;
  for (std::size_t i = 0; i < static_cast<std::size_t>(c.numel()); ++i)
    out.push_back(c.is_int ? c.i[i] : float_to_int(c.f[i], where(n)));
  return out;
}

std::vector<Dim> Importer::dims_of(const onnx::NodeProto& n, int k, const char* what) {
  const Value& v = input(n, k);
  if (v.kind == Value::shape) return v.dims;
  std::vector<Dim> out;
  for (int64_t x : ints_of(n, k, what)) out.push_back(known(x));
  return out;
}

// The (partly symbolic) shape of a data value.
std::vector<Dim> Importer::data_dims(const Value& v) const {
  std::vector<Dim> out;
  for (char r : v.roles) {
    switch (r) {
      case 'N': out.push_back({Sym::batch, 0}); break;
      case 'T': out.push_back({Sym::time, 0}); break;
      case 'F': out.push_back(known(v.feat)); break;
      case 'D': out.push_back(known(static_cast<int64_t>(v.parts.size()))); break;
      default: out.push_back(known(1)); break;
    }
  }
  return out;
}

// Axes of Squeeze / Unsqueeze: an attribute before opset 13, the second input from 13 on.
std::vector<int64_t> Importer::axes_input(const onnx::NodeProto& n, int input_index) {
  if (has_input(n, input_index)) return ints_of(n, input_index, "axes");
  return attr_ints(n, "axes");
}

int Importer::new_node(LNode node, const std::string& base) {
  const int count = name_counts_[base]++;
  node.name = count == 0 ? base : base + "_" + std::to_string(count);
  nodes_.push_back(std::move(node));
  return static_cast<int>(nodes_.size()) - 1;
}

// A pass-through node (Identity, Transpose, ...) keeps the right to fold a bias or an
// activation into the layer when its input was the layer's only reference.
void Importer::pass_ref(const onnx::NodeProto& n, const Value& v) {
  if (v.kind != Value::data || v.parts.size() != 1 || n.output_size() == 0) return;
  LNode& node = nodes_[static_cast<std::size_t>(v.parts[0].node)];
  if (node.sole_ref == n.input(0) && uses_[n.input(0)] == 1) node.sole_ref = n.output(0);
}

std::pair<int, Mode> Importer::materialize(const Value& v, const std::string& w, bool for_dense) {
  if (v.kind == Value::unusable) fail<FormatError>(w, ": ", v.reason);
  if (v.kind != Value::data)
    fail<FormatError>(w, ": expected a tensor computed from the model's input, got a constant "
                         "or shape value");
  if (v.roles.find('D') != std::string::npos || v.parts.size() != 1) {
    fail<FormatError>(w, ": the value still has the num_directions/num_layers axis of a "
                         "recurrent operator's output (roles ", v.roles,
                         "); only outputs that select or merge it are supported");
  }
  const Part& p = v.parts[0];
  const LNode& node = nodes_[static_cast<std::size_t>(p.node)];
  if (v.reversed)
    fail<FormatError>(w, ": uses the output sequence of reverse-direction ",
                      cell_class(node.cell), " (recur layer '", node.name,
                      "') in time order; recur's go_backwards layers return it in processing "
                      "order (as Keras does), which is what Slice(starts=-1, ends=-inf, "
                      "steps=-1) of it gives");
  if (p.dir >= 0)
    fail<FormatError>(w, ": uses only the ", p.dir == 0 ? "forward" : "backward",
                      " direction of bidirectional ", cell_class(node.cell),
                      " (recur layer '", node.name,
                      "'); recur's Bidirectional returns both directions concatenated");
  if (v.roles.find('1') != std::string::npos)
    fail<FormatError>(w, ": the value has an extra axis of size 1 (roles ", v.roles,
                      "); squeeze it away");
  const bool ok = v.roles == "NF" || v.roles == "NTF" || v.roles == "TNF" ||
                  (node.kind == LNode::input && (v.roles == "NT" || v.roles == "TN"));
  if (!ok || (for_dense && v.roles.back() != 'F'))
    fail<FormatError>(w, ": unsupported layout (axes ", v.roles,
                      "; recur supports [N, F], and sequences [N, T, F] or [T, N, F] with the "
                      "features last)");
  return {p.node, v.mode};
}

// ---- operators ---------------------------------------------------------------------------------

void Importer::op(const onnx::NodeProto& n) {
  const std::string& t = n.op_type();
  if (t == "Constant") {
    Value v;
    v.kind = Value::constant;
    auto c = std::make_shared<ConstTensor>();
    if (const auto* a = attr(n, "value")) {
      *c = onnx_import::decode_tensor(a->t(), path_, where(n).substr(path_.size() + 2) + " value");
    } else if (const auto* af = attr(n, "value_float")) {
      c->f = {af->f()};
    } else if (const auto* ai = attr(n, "value_int")) {
      c->is_int = true;
      c->i = {ai->i()};
    } else if (const auto* ais = attr(n, "value_ints")) {
      c->is_int = true;
      for (int64_t x : ais->ints()) c->i.push_back(x);
      c->dims = {static_cast<int64_t>(c->i.size())};
    } else if (const auto* afs = attr(n, "value_floats")) {
      for (float x : afs->floats()) c->f.push_back(x);
      c->dims = {static_cast<int64_t>(c->f.size())};
    } else {
      fail<FormatError>(where(n), ": no value attribute recur understands (value, value_float, "
                                  "value_floats, value_int, value_ints)");
    }
    v.c = std::move(c);
    set(n, 0, std::move(v));
  } else if (t == "Identity" || t == "Dropout") {
    if (t == "Dropout" && has_input(n, 2)) {
      const ConstTensor& m = need_const(n, 2, "training_mode");
      if (m.numel() != 1 || m.at(0) != 0)
        fail<FormatError>(where(n), ": training_mode must be false (export in eval mode)");
    }
    Value v = input(n, 0);
    pass_ref(n, v);
    set(n, 0, v);
    Value mask;
    mask.reason = "Dropout's mask output is not supported";
    set(n, 1, std::move(mask));
  } else if (t == "Cast") {
    Value v = input(n, 0);
    const int64_t to = attr_int(n, "to", 0);
    const bool to_int = to == onnx::TensorProto::INT64 || to == onnx::TensorProto::INT32;
    if (v.kind == Value::constant) {
      auto c = std::make_shared<ConstTensor>(*v.c);
      if (to_int && !c->is_int) {
        for (float x : c->f) c->i.push_back(float_to_int(x, where(n)));
        c->f.clear();
        c->is_int = true;
      } else if (!to_int && c->is_int) {
        for (int64_t x : c->i) c->f.push_back(static_cast<float>(x));
        c->i.clear();
        c->is_int = false;
      }
      v.c = std::move(c);
    } else if (v.kind == Value::data) {
      const bool ids = v.feat == 0;
      if (ids ? !to_int : to != onnx::TensorProto::FLOAT)
        fail<FormatError>(where(n), ": casts ", ids ? "token ids" : "float activations",
                          " to element type ", to, "; not supported");
      pass_ref(n, v);
    }
    set(n, 0, std::move(v));
  } else if (t == "Shape") {
    const Value& in = input(n, 0);
    Value v;
    v.kind = Value::shape;
    if (in.kind == Value::data) v.dims = data_dims(in);
    else if (in.kind == Value::filled) v.dims = in.dims;
    else if (in.kind == Value::constant)
      for (int64_t d : in.c->dims) v.dims.push_back(known(d));
    else fail<FormatError>(where(n), ": Shape of an unsupported value");
    const auto rank = static_cast<int64_t>(v.dims.size());
    int64_t start = attr_int(n, "start", 0), end = attr_int(n, "end", rank);
    if (start < 0) start += rank;
    if (end < 0) end += rank;
    start = std::clamp<int64_t>(start, 0, rank);
    end = std::clamp<int64_t>(end, start, rank);
    v.dims = std::vector<Dim>(v.dims.begin() + start, v.dims.begin() + end);
    set(n, 0, std::move(v));
  } else if (t == "Gather") {
    op_gather(n);
  } else if (t == "Unsqueeze" || t == "Squeeze") {
    const bool squeeze = t == "Squeeze";
    Value v = input(n, 0);
    std::vector<int64_t> axes = axes_input(n, 1);
    if (v.kind == Value::shape) {
      if (!squeeze && v.scalar && (axes == std::vector<int64_t>{0} ||
                                   axes == std::vector<int64_t>{-1})) {
        v.scalar = false;
      } else if (squeeze && !v.scalar && v.dims.size() == 1) {
        v.scalar = true;
      } else {
        fail<FormatError>(where(n), ": unsupported ", t, " of a shape value");
      }
      set(n, 0, std::move(v));
      return;
    }
    // Current dims of constants / filled values; roles of data.
    std::vector<Dim> dims;
    if (v.kind == Value::constant) for (int64_t d : v.c->dims) dims.push_back(known(d));
    else if (v.kind == Value::filled) dims = v.dims;
    else if (v.kind == Value::data) dims = data_dims(v);
    else fail<FormatError>(where(n), ": ", v.reason);
    std::string roles = v.kind == Value::data ? v.roles : std::string(dims.size(), '?');
    if (squeeze) {
      const auto rank = static_cast<int64_t>(dims.size());
      if (axes.empty())
        for (int64_t a = 0; a < rank; ++a)
          if (dims[static_cast<std::size_t>(a)].s == Sym::known &&
              dims[static_cast<std::size_t>(a)].v == 1 && roles[static_cast<std::size_t>(a)] != 'F')
            axes.push_back(a);
      std::vector<bool> drop(dims.size(), false);
      for (int64_t a : axes) {
        if (a < 0) a += rank;
        if (a < 0 || a >= rank) fail<FormatError>(where(n), ": axis out of range");
        const auto k = static_cast<std::size_t>(a);
        if (dims[k].s != Sym::known || dims[k].v != 1 ||
            (roles[k] != '1' && roles[k] != 'D' && roles[k] != '?'))
          fail<FormatError>(where(n), ": squeezes axis ", a, " of shape ", dims_str(dims),
                            ", which is not known to have size 1");
        drop[k] = true;
      }
      std::vector<Dim> nd;
      std::string nr;
      for (std::size_t k = 0; k < dims.size(); ++k)
        if (!drop[k]) nd.push_back(dims[k]), nr.push_back(roles[k]);
      dims = nd;
      roles = nr;
    } else {
      const auto rank = static_cast<int64_t>(dims.size() + axes.size());
      for (int64_t& a : axes) a = a < 0 ? a + rank : a;
      std::sort(axes.begin(), axes.end());
      for (int64_t a : axes) {
        if (a < 0 || a > static_cast<int64_t>(dims.size()))
          fail<FormatError>(where(n), ": axis out of range");
        dims.insert(dims.begin() + a, known(1));
        roles.insert(roles.begin() + a, '1');
      }
    }
    if (v.kind == Value::constant) {
      auto c = std::make_shared<ConstTensor>(*v.c);
      c->dims.clear();
      for (const Dim& d : dims) c->dims.push_back(d.v);
      v.c = std::move(c);
    } else if (v.kind == Value::filled) {
      v.dims = dims;
    } else {
      v.roles = roles;
      pass_ref(n, v);
    }
    set(n, 0, std::move(v));
  } else if (t == "Concat") {
    op_concat(n);
  } else if (t == "ConstantOfShape") {
    Value v;
    v.kind = Value::filled;
    v.dims = dims_of(n, 0, "shape");
    if (const auto* a = attr(n, "value")) {
      const ConstTensor c = onnx_import::decode_tensor(a->t(), path_, where(n) + " value");
      if (c.numel() != 1) fail<FormatError>(where(n), ": value must have one element");
      v.fill = c.at(0);
    }
    set(n, 0, std::move(v));
  } else if (t == "Expand") {
    Value v = input(n, 0);
    const std::vector<Dim> shape = dims_of(n, 1, "shape");
    if (v.kind == Value::constant) {
      Value f;
      f.kind = Value::filled;
      for (int64_t d : v.c->dims) f.dims.push_back(known(d));
      f.fill = v.c->numel() ? v.c->at(0) : 0;
      for (std::size_t k = 0; k < static_cast<std::size_t>(v.c->numel()); ++k)
        if (v.c->at(k) != f.fill) f.uniform = false;
      v = std::move(f);
    }
    if (v.kind != Value::filled)
      fail<FormatError>(where(n), ": Expand is supported on constants only (initial states)");
    // Broadcast: align on the right; a size-1 axis takes the target's size.
    std::vector<Dim> out = shape;
    if (v.dims.size() > out.size()) out.insert(out.begin(), v.dims.size() - out.size(), known(1));
    const std::size_t off = out.size() - v.dims.size();
    for (std::size_t k = 0; k < v.dims.size(); ++k) {
      const Dim& d = v.dims[k];
      if (!(d.s == Sym::known && d.v == 1)) out[off + k] = d;
    }
    v.dims = out;
    set(n, 0, std::move(v));
  } else if (t == "Slice") {
    op_slice(n);
  } else if (t == "Transpose") {
    Value v = input(n, 0);
    std::size_t rank = v.kind == Value::data ? v.roles.size()
                       : v.kind == Value::filled ? v.dims.size()
                       : v.kind == Value::constant ? v.c->dims.size() : 0;
    std::vector<int64_t> perm = attr_ints(n, "perm");
    if (perm.empty())
      for (std::size_t k = 0; k < rank; ++k) perm.insert(perm.begin(), static_cast<int64_t>(k));
    std::vector<int64_t> sorted = perm;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t k = 0; k < sorted.size(); ++k)
      if (sorted[k] != static_cast<int64_t>(k) || perm.size() != rank)
        fail<FormatError>(where(n), ": perm does not fit a rank-", rank, " input");
    if (v.kind == Value::data) {
      std::string r;
      for (int64_t p : perm) r.push_back(v.roles[static_cast<std::size_t>(p)]);
      v.roles = r;
      pass_ref(n, v);
    } else if (v.kind == Value::filled) {
      std::vector<Dim> d;
      for (int64_t p : perm) d.push_back(v.dims[static_cast<std::size_t>(p)]);
      v.dims = d;
    } else if (v.kind == Value::constant && rank == 2) {
      auto c = std::make_shared<ConstTensor>(*v.c);
      if (perm[0] == 1) {
        const int64_t R = v.c->dims[0], C = v.c->dims[1];
        c->dims = {C, R};
        for (int64_t i = 0; i < R; ++i)
          for (int64_t j = 0; j < C; ++j) {
            if (c->is_int) c->i[static_cast<std::size_t>(j * R + i)] = v.c->i[static_cast<std::size_t>(i * C + j)];
            else c->f[static_cast<std::size_t>(j * R + i)] = v.c->f[static_cast<std::size_t>(i * C + j)];
          }
      }
      v.c = std::move(c);
    } else if (!(v.kind == Value::constant && rank <= 1)) {
      fail<FormatError>(where(n), ": Transpose of this value is not supported");
    }
    set(n, 0, std::move(v));
  } else if (t == "Reshape") {
    op_reshape(n, dims_of(n, 1, "shape"), attr_int(n, "allowzero", 0) != 0);
  } else if (t == "Flatten") {
    op_flatten(n);
  } else if (t == "Gemm" || t == "MatMul") {
    op_dense(n, t == "Gemm");
  } else if (t == "Add") {
    op_add(n);
  } else if (t == "Relu") {
    op_activation(n, Activation::relu);
  } else if (t == "Tanh") {
    op_activation(n, Activation::tanh);
  } else if (t == "Sigmoid") {
    op_activation(n, Activation::sigmoid);
  } else if (t == "Softmax") {
    op_activation(n, Activation::softmax);
  } else if (t == "LSTM") {
    op_recurrent(n, CellKind::lstm);
  } else if (t == "GRU") {
    op_recurrent(n, CellKind::gru);
  } else if (t == "RNN") {
    op_recurrent(n, CellKind::simple);
  } else {
    fail<InternalError>(where(n), ": operator not handled");  // the pre-check lists supported ops
  }
}

void Importer::op_gather(const onnx::NodeProto& n) {
  const Value& data = input(n, 0);
  const Value& idx = input(n, 1);
  const int64_t axis_attr = attr_int(n, "axis", 0);
  // Embedding: a weight matrix indexed by the token ids.
  if (data.kind == Value::constant && idx.kind == Value::data) {
    const ConstTensor& w = *data.c;
    if (axis_attr != 0 || w.dims.size() != 2 || w.is_int)
      fail<FormatError>(where(n), ": a Gather from a constant by the input must be an embedding "
                                  "lookup (a float [V, E] matrix, axis 0)");
    auto [src, mode] = materialize(idx, where(n), false);
    if (idx.feat != 0 || nodes_[static_cast<std::size_t>(src)].kind != LNode::input)
      fail<FormatError>(where(n), ": the embedding lookup must take the model's integer input");
    LNode e;
    e.kind = LNode::embedding;
    e.eopt.input_dim = w.dims[0];
    e.eopt.output_dim = w.dims[1];
    e.inputs = {{src, mode}};
    Tensor emb(w.dims);
    std::copy(w.f.begin(), w.f.end(), emb.data());
    e.tensors.emplace_back("embeddings", std::move(emb));
    e.sole_ref = n.output(0);
    e.onnx_node = where(n);
    const int id = new_node(std::move(e), "embedding");
    set(n, 0, node_value(id, idx.roles + "F", w.dims[1]));
    return;
  }
  if (idx.kind != Value::constant)
    fail<FormatError>(where(n), ": indices must be a constant here");
  const ConstTensor& ic = *idx.c;
  if (ic.numel() != 1 && data.kind != Value::shape && data.kind != Value::constant)
    fail<FormatError>(where(n), ": only a single index is supported here");
  if (data.kind == Value::shape) {
    Value v;
    v.kind = Value::shape;
    const auto size = static_cast<int64_t>(data.dims.size());
    for (std::size_t k = 0; k < static_cast<std::size_t>(ic.numel()); ++k) {
      int64_t i = ic.is_int ? ic.i[k] : float_to_int(ic.f[k], where(n));
      if (i < 0) i += size;
      if (i < 0 || i >= size) fail<FormatError>(where(n), ": index out of range");
      v.dims.push_back(data.dims[static_cast<std::size_t>(i)]);
    }
    v.scalar = ic.dims.empty();
    set(n, 0, std::move(v));
    return;
  }
  if (data.kind == Value::constant) {
    const ConstTensor& c = *data.c;
    if (axis_attr != 0 || c.dims.empty())
      fail<FormatError>(where(n), ": Gather on constants is supported along axis 0 only");
    const int64_t rows = c.dims[0];
    const int64_t row = rows ? c.numel() / rows : 0;
    auto out = std::make_shared<ConstTensor>();
    out->is_int = c.is_int;
    out->dims = ic.dims;
    out->dims.insert(out->dims.end(), c.dims.begin() + 1, c.dims.end());
    for (std::size_t k = 0; k < static_cast<std::size_t>(ic.numel()); ++k) {
      int64_t i = ic.is_int ? ic.i[k] : float_to_int(ic.f[k], where(n));
      if (i < 0) i += rows;
      if (i < 0 || i >= rows) fail<FormatError>(where(n), ": index out of range");
      for (int64_t j = 0; j < row; ++j) {
        const auto s = static_cast<std::size_t>(i * row + j);
        if (c.is_int) out->i.push_back(c.i[s]);
        else out->f.push_back(c.f[s]);
      }
    }
    Value v;
    v.kind = Value::constant;
    v.c = std::move(out);
    set(n, 0, std::move(v));
    return;
  }
  if (data.kind != Value::data)
    fail<FormatError>(where(n), ": Gather of this value is not supported");
  Value v = data;
  const auto rank = static_cast<int64_t>(v.roles.size());
  const int64_t axis = axis_attr < 0 ? axis_attr + rank : axis_attr;
  if (axis < 0 || axis >= rank || !ic.dims.empty())
    fail<FormatError>(where(n), ": expected a scalar index on an existing axis");
  const auto a = static_cast<std::size_t>(axis);
  int64_t i = ic.is_int ? ic.i[0] : float_to_int(ic.f[0], where(n));
  const char role = v.roles[a];
  if (role == 'T') {
    // The last step processed: index -1, or 0 of a reverse-direction layer's Y.
    if (i != (v.reversed ? 0 : -1))
      fail<FormatError>(where(n), ": takes step ", i,
                        " of the sequence; only the last step processed (index -1, "
                        "out[:, -1]; index 0 of a reverse-direction layer's output) is "
                        "supported");
    v.reversed = false;
    for (const Part& p : v.parts) {
      const LNode& node = nodes_[static_cast<std::size_t>(p.node)];
      if (!is_recurrent(node) || v.mode != Mode::seq)
        fail<FormatError>(where(n), ": takes the last step of a value that is not a recurrent "
                                    "layer's output sequence (recur layer '", node.name, "')");
      if (node.kind == LNode::bidir)
        fail<FormatError>(where(n), ": takes the last step of a bidirectional ",
                          cell_class(node.cell), " output; at the last step the backward "
                          "direction has seen only one input, while recur's Bidirectional "
                          "(Keras) returns each direction's final state: concatenate h_n of "
                          "both directions instead (torch.cat([h_n[-2], h_n[-1]], 1))");
    }
    v.mode = Mode::last;
  } else if (role == 'D') {
    const auto size = static_cast<int64_t>(v.parts.size());
    if (i < 0) i += size;
    if (i < 0 || i >= size) fail<FormatError>(where(n), ": index out of range");
    v.parts = {v.parts[static_cast<std::size_t>(i)]};
  } else if (role == '1') {
    if (i != 0 && i != -1) fail<FormatError>(where(n), ": index out of range");
  } else {
    fail<FormatError>(where(n), ": Gather on the ", role == 'N' ? "batch" : "feature",
                      " axis is not supported");
  }
  v.roles.erase(a, 1);
  set(n, 0, std::move(v));
}

void Importer::op_concat(const onnx::NodeProto& n) {
  const int64_t axis_attr = attr_int(n, "axis", 0);
  std::vector<const Value*> ins;
  for (int k = 0; k < n.input_size(); ++k) ins.push_back(&input(n, k));
  bool all_shape = true, any_data = false;
  for (const Value* v : ins) {
    const bool shapeish = v->kind == Value::shape ||
                          (v->kind == Value::constant && v->c->is_int && v->c->dims.size() <= 1);
    all_shape = all_shape && shapeish;
    any_data = any_data || v->kind == Value::data;
  }
  if (all_shape) {
    Value v;
    v.kind = Value::shape;
    for (int k = 0; k < n.input_size(); ++k) {
      const std::vector<Dim> d = dims_of(n, k, "input");
      v.dims.insert(v.dims.end(), d.begin(), d.end());
    }
    set(n, 0, std::move(v));
    return;
  }
  if (!any_data) fail<FormatError>(where(n), ": Concat of these inputs is not supported");
  for (const Value* v : ins)
    if (v->kind != Value::data)
      fail<FormatError>(where(n), ": concatenates a constant with the model's activations");
  const Value& first = *ins[0];
  const auto rank = static_cast<int64_t>(first.roles.size());
  const int64_t axis = axis_attr < 0 ? axis_attr + rank : axis_attr;
  if (axis < 0 || axis >= rank) fail<FormatError>(where(n), ": axis out of range");
  for (const Value* v : ins)
    if (v->roles != first.roles)
      fail<FormatError>(where(n), ": concatenates values with different layouts (",
                        first.roles, " and ", v->roles, ")");
  const char role = first.roles[static_cast<std::size_t>(axis)];
  Value out = first;
  if (role == 'D') {  // stacking the final states of several layers (h_n of a stack)
    out.parts.clear();
    for (const Value* v : ins) {
      if (v->mode != first.mode || v->feat != first.feat)
        fail<FormatError>(where(n), ": stacks outputs of different kinds");
      out.parts.insert(out.parts.end(), v->parts.begin(), v->parts.end());
    }
    set(n, 0, std::move(out));
    return;
  }
  if (role != 'F' || axis != rank - 1)
    fail<FormatError>(where(n), ": concatenation along the ",
                      role == 'T' ? "time" : role == 'N' ? "batch" : "?",
                      " axis is not supported (features only)");
  // The two directions of one bidirectional layer, in order: that layer's whole output.
  if (ins.size() == 2 && ins[0]->parts.size() == 1 && ins[1]->parts.size() == 1 &&
      ins[0]->parts[0].node == ins[1]->parts[0].node && ins[0]->parts[0].dir == 0 &&
      ins[1]->parts[0].dir == 1 && ins[0]->mode == ins[1]->mode) {
    out.parts = {{ins[0]->parts[0].node, -1}};
    out.feat = ins[0]->feat + ins[1]->feat;
    set(n, 0, std::move(out));
    return;
  }
  LNode c;
  c.kind = LNode::concat;
  int64_t feat = 0;
  for (const Value* v : ins) {
    c.inputs.push_back(materialize(*v, where(n), true));
    feat += v->feat;
  }
  c.sole_ref = n.output(0);
  c.onnx_node = where(n);
  const int id = new_node(std::move(c), "concatenate");
  set(n, 0, node_value(id, first.roles, feat));
}

void Importer::op_slice(const onnx::NodeProto& n) {
  Value v = input(n, 0);
  const std::vector<int64_t> starts = ints_of(n, 1, "starts"), ends = ints_of(n, 2, "ends");
  std::vector<int64_t> axes, steps;
  if (has_input(n, 3)) axes = ints_of(n, 3, "axes");
  else for (std::size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<int64_t>(k));
  if (has_input(n, 4)) steps = ints_of(n, 4, "steps");
  else steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size())
    fail<FormatError>(where(n), ": starts, ends, axes and steps differ in length");
  constexpr int64_t kBig = int64_t{1} << 31;  // "to the end" (torch writes INT64_MAX)
  // The whole axis backwards (Slice(-1, -inf, step -1)): only for the time axis of a sequence.
  const auto whole_reversed = [&](std::size_t k) {
    return steps[k] == -1 && starts[k] == -1 && ends[k] <= -kBig;
  };
  for (std::size_t k = 0; k < steps.size(); ++k)
    if (steps[k] != 1 && !(v.kind == Value::data && whole_reversed(k)))
      fail<FormatError>(where(n), ": steps other than 1 are not supported (except -1 over the "
                                  "whole time axis of a recurrent output)");
  if (v.kind == Value::data) {
    const auto rank = static_cast<int64_t>(v.roles.size());
    // Every part must be a unidirectional recurrent layer's output sequence.
    const auto check_sequence = [&](const char* what) {
      for (const Part& p : v.parts) {
        const LNode& node = nodes_[static_cast<std::size_t>(p.node)];
        if (!is_recurrent(node) || v.mode != Mode::seq || node.kind == LNode::bidir)
          fail<FormatError>(where(n), ": ", what, " a value that is not a unidirectional "
                                      "recurrent layer's output sequence");
      }
    };
    for (std::size_t k = 0; k < starts.size(); ++k) {
      int64_t a = axes[k] < 0 ? axes[k] + rank : axes[k];
      if (a < 0 || a >= rank) fail<FormatError>(where(n), ": axis out of range");
      char& role = v.roles[static_cast<std::size_t>(a)];
      if (starts[k] == 0 && ends[k] >= kBig && steps[k] == 1) continue;  // everything
      if (role == 'T' && whole_reversed(k)) {
        check_sequence("reverses the time axis of");
        v.reversed = !v.reversed;
        continue;
      }
      if (role == 'T' && starts[k] == -1 && ends[k] >= kBig) {
        check_sequence("takes the last step of");
        if (v.reversed)
          fail<FormatError>(where(n), ": takes the last step in time order of a "
                                      "reverse-direction layer's output, its first step "
                                      "processed; only the final state is supported (Y_h, or "
                                      "step 0 of Y)");
        v.mode = Mode::last;
        role = '1';
        continue;
      }
      fail<FormatError>(where(n), ": slices [", starts[k], ", ", ends[k], ") of axis ", a,
                        " (", role, "); only the last time step (-1:) is supported");
    }
    pass_ref(n, v);
    set(n, 0, std::move(v));
    return;
  }
  std::vector<Dim> dims;
  if (v.kind == Value::filled || v.kind == Value::shape) dims = v.dims;
  else if (v.kind == Value::constant && v.c->dims.size() <= 1)
    for (std::size_t k = 0; k < static_cast<std::size_t>(v.c->numel()); ++k)
      dims.push_back(known(static_cast<int64_t>(v.c->at(k))));
  else fail<FormatError>(where(n), ": Slice of this value is not supported");
  const bool along_values = v.kind != Value::filled;  // slicing a 1-D vector's entries
  if (along_values) {
    if (starts.size() != 1 || (axes[0] != 0 && axes[0] != -1))
      fail<FormatError>(where(n), ": Slice of a 1-D vector must be along axis 0");
    const auto size = static_cast<int64_t>(dims.size());
    int64_t s = starts[0] < 0 ? starts[0] + size : starts[0];
    int64_t e = ends[0] < 0 ? ends[0] + size : std::min(ends[0], size);
    s = std::clamp<int64_t>(s, 0, size);
    e = std::clamp<int64_t>(e, s, size);
    Value out;
    out.kind = Value::shape;
    out.dims = std::vector<Dim>(dims.begin() + s, dims.begin() + e);
    if (v.kind == Value::constant) {
      auto c = std::make_shared<ConstTensor>();
      c->is_int = v.c->is_int;
      c->dims = {e - s};
      for (int64_t k = s; k < e; ++k) {
        if (c->is_int) c->i.push_back(v.c->i[static_cast<std::size_t>(k)]);
        else c->f.push_back(v.c->f[static_cast<std::size_t>(k)]);
      }
      out.kind = Value::constant;
      out.c = std::move(c);
    }
    set(n, 0, std::move(out));
    return;
  }
  // A filled tensor (an initial state): the sliced axes get their new sizes where known.
  const auto rank = static_cast<int64_t>(dims.size());
  for (std::size_t k = 0; k < starts.size(); ++k) {
    int64_t a = axes[k] < 0 ? axes[k] + rank : axes[k];
    if (a < 0 || a >= rank) fail<FormatError>(where(n), ": axis out of range");
    Dim& d = dims[static_cast<std::size_t>(a)];
    if (starts[k] == 0 && ends[k] >= kBig) continue;
    if (d.s == Sym::known) {
      int64_t s = starts[k] < 0 ? starts[k] + d.v : starts[k];
      int64_t e = ends[k] < 0 ? ends[k] + d.v : std::min(ends[k], d.v);
      s = std::clamp<int64_t>(s, 0, d.v);
      e = std::clamp<int64_t>(e, s, d.v);
      d = known(e - s);
    } else {
      d = Dim{};
    }
  }
  v.dims = dims;
  set(n, 0, std::move(v));
}

// Reshape of activations: allowed when it only drops or adds size-1 axes and merges a
// directions axis into the feature axis right after it (the concat of a bidirectional output).
void Importer::op_reshape(const onnx::NodeProto& n, std::vector<Dim> target, bool allowzero) {
  Value v = input(n, 0);
  std::vector<Dim> in_dims;
  if (v.kind == Value::data) in_dims = data_dims(v);
  else if (v.kind == Value::filled) in_dims = v.dims;
  else if (v.kind == Value::constant) for (int64_t d : v.c->dims) in_dims.push_back(known(d));
  else fail<FormatError>(where(n), ": Reshape of this value is not supported");
  for (std::size_t k = 0; k < target.size(); ++k)
    if (!allowzero && target[k].s == Sym::known && target[k].v == 0) {
      if (k >= in_dims.size()) fail<FormatError>(where(n), ": 0 in shape beyond the input rank");
      target[k] = in_dims[k];
    }
  if (v.kind == Value::constant) {
    // Entries are sizes or one -1; the known product may not exceed the element count.
    const int64_t numel = v.c->numel();
    int64_t known_prod = 1, infers = 0;
    for (const Dim& d : target) {
      if (d.s != Sym::known || d.v < -1)
        fail<FormatError>(where(n), ": bad target shape ", dims_str(target));
      if (d.v == -1) ++infers;
      else if (d.v == 0 || known_prod > numel / d.v) known_prod = numel + 1;  // too many
      else known_prod *= d.v;
    }
    const bool fits = infers == 0 ? known_prod == numel
                                  : infers == 1 && known_prod <= numel && known_prod > 0 &&
                                        numel % known_prod == 0;
    if (!fits)
      fail<FormatError>(where(n), ": cannot reshape ", shape_str(v.c->dims), " to ",
                        dims_str(target));
    auto c = std::make_shared<ConstTensor>(*v.c);
    c->dims.clear();
    for (const Dim& d : target) c->dims.push_back(d.v == -1 ? numel / known_prod : d.v);
    v.c = std::move(c);
    set(n, 0, std::move(v));
    return;
  }
  if (v.kind == Value::filled) {
    for (Dim& d : target)
      if (d.s == Sym::known && d.v == -1) d = Dim{};
    v.dims = target;
    set(n, 0, std::move(v));
    return;
  }
  // Canonical input: '1' axes dropped, a D axis right before F merged into it.
  struct Ax {
    char role;
    Dim dim;
  };
  std::vector<Ax> canon;
  bool merged = false;
  for (std::size_t k = 0; k < v.roles.size(); ++k) {
    const char r = v.roles[k];
    if (r == '1') continue;
    if (r == 'D' && k + 1 < v.roles.size() && v.roles[k + 1] == 'F') {
      canon.push_back({'F', known(static_cast<int64_t>(v.parts.size()) * v.feat)});
      merged = true;
      ++k;
      continue;
    }
    canon.push_back({r, in_dims[k]});
  }
  std::string roles;
  std::size_t c = 0;
  bool ok = true;
  for (const Dim& d : target) {
    if (d.s == Sym::known && d.v == 1 && !(c < canon.size() && canon[c].dim.s == Sym::known &&
                                          canon[c].dim.v == 1 && canon[c].role == 'F')) {
      roles.push_back('1');
      continue;
    }
    if (c >= canon.size()) {
      ok = false;
      break;
    }
    const Ax& ax = canon[c++];
    const bool match = (d.s == Sym::known && d.v == -1) || (d.s == ax.dim.s && d.s != Sym::known &&
                                                            d.s != Sym::unknown) ||
                       (d.s == Sym::known && ax.dim.s == Sym::known && d.v == ax.dim.v);
    if (!match) {
      ok = false;
      break;
    }
    roles.push_back(ax.role);
  }
  if (!ok || c != canon.size())
    fail<FormatError>(where(n), ": reshapes ", dims_str(in_dims), " (axes ", v.roles, ") to ",
                      dims_str(target),
                      ", which moves data between axes; only reshapes that add or drop size-1 "
                      "axes or merge the directions axis into the features are supported");
  if (merged) {
    // The directions must be the two halves of one bidirectional layer, in order.
    const bool halves = v.parts.size() == 2 && v.parts[0].node == v.parts[1].node &&
                        v.parts[0].dir == 0 && v.parts[1].dir == 1;
    if (halves) {
      v.feat *= 2;
      v.parts = {{v.parts[0].node, -1}};
    } else if (v.parts.size() != 1) {
      fail<FormatError>(where(n), ": merges the outputs of several layers into one feature axis; "
                                  "not supported");
    }
  }
  v.roles = roles;
  pass_ref(n, v);
  set(n, 0, std::move(v));
}

void Importer::op_flatten(const onnx::NodeProto& n) {
  const Value& v = input(n, 0);
  if (v.kind != Value::data) fail<FormatError>(where(n), ": Flatten of this value");
  const auto rank = static_cast<int64_t>(v.roles.size());
  int64_t axis = attr_int(n, "axis", 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank) fail<FormatError>(where(n), ": axis out of range");
  // [prod(dims[:axis]), prod(dims[axis:])]: expressed as a reshape when the leading group is one
  // (non-unit) axis.
  const std::vector<Dim> dims = data_dims(v);
  std::vector<Dim> lead;
  for (int64_t k = 0; k < axis; ++k)
    if (v.roles[static_cast<std::size_t>(k)] != '1') lead.push_back(dims[static_cast<std::size_t>(k)]);
  if (lead.size() != 1)
    fail<FormatError>(where(n), ": flattens axes ", v.roles,
                      " at axis ", axis, "; only Flatten that keeps the batch axis is supported");
  op_reshape(n, {lead[0], known(-1)}, false);
}

void Importer::op_dense(const onnx::NodeProto& n, bool gemm) {
  const Value& a = input(n, 0);
  if (gemm) {
    const auto* alpha = attr(n, "alpha");
    const auto* beta = attr(n, "beta");
    if ((alpha && alpha->f() != 1.0f) || (beta && beta->f() != 1.0f) ||
        attr_int(n, "transA", 0) != 0)
      fail<FormatError>(where(n), ": only alpha = beta = 1 and transA = 0 are supported");
  }
  const ConstTensor& w = need_const(n, 1, "the weight matrix (B)");
  if (w.dims.size() != 2 || w.is_int)
    fail<FormatError>(where(n), ": the weight matrix must be a float matrix, got shape ",
                      shape_str(w.dims));
  auto [src, mode] = materialize(a, where(n), true);
  if (gemm && a.roles != "NF")
    fail<FormatError>(where(n), ": Gemm input must be [N, F], got axes ", a.roles);
  const bool trans_b = gemm && attr_int(n, "transB", 0) != 0;
  const int64_t in = trans_b ? w.dims[1] : w.dims[0];
  const int64_t units = trans_b ? w.dims[0] : w.dims[1];
  if (in != a.feat)
    fail<FormatError>(where(n), ": weight matrix ", shape_str(w.dims), " does not fit ", a.feat,
                      " input features");
  LNode d;
  d.kind = LNode::dense;
  d.dopt.units = units;
  d.dopt.use_bias = false;
  d.inputs = {{src, mode}};
  Tensor kernel({in, units});  // Keras layout [F, U]
  for (int64_t i = 0; i < in; ++i)
    for (int64_t u = 0; u < units; ++u)
      kernel.data()[i * units + u] =
          w.f[static_cast<std::size_t>(trans_b ? u * in + i : i * units + u)];
  d.tensors.emplace_back("kernel", std::move(kernel));
  if (gemm && has_input(n, 2)) {
    const ConstTensor& b = need_const(n, 2, "the bias (C)");
    if (b.is_int || b.numel() != units || (b.dims.size() == 2 && b.dims[0] != 1) ||
        b.dims.size() > 2)
      fail<FormatError>(where(n), ": bias shape ", shape_str(b.dims), " is not [", units, "]");
    Tensor bias({units});
    std::copy(b.f.begin(), b.f.end(), bias.data());
    d.tensors.emplace_back("bias", std::move(bias));
    d.dopt.use_bias = true;
  }
  d.sole_ref = n.output(0);
  d.onnx_node = where(n);
  const int id = new_node(std::move(d), "dense");
  set(n, 0, node_value(id, a.roles, units));
}

void Importer::op_add(const onnx::NodeProto& n) {
  const Value& a = input(n, 0);
  const Value& b = input(n, 1);
  if (a.kind == Value::data && b.kind == Value::data) {
    if (a.roles != b.roles || a.feat != b.feat)
      fail<FormatError>(where(n), ": adds values of different layouts (", a.roles, " [", a.feat,
                        "] and ", b.roles, " [", b.feat, "])");
    LNode add;
    add.kind = LNode::add;
    add.inputs = {materialize(a, where(n), true), materialize(b, where(n), true)};
    add.sole_ref = n.output(0);
    add.onnx_node = where(n);
    const int id = new_node(std::move(add), "add");
    set(n, 0, node_value(id, a.roles, a.feat));
    return;
  }
  const bool a_data = a.kind == Value::data;
  const Value& d = a_data ? a : b;
  const Value& c = a_data ? b : a;
  const std::string& d_name = n.input(a_data ? 0 : 1);
  if (d.kind != Value::data || c.kind != Value::constant)
    fail<FormatError>(where(n), ": Add is supported for a bias after MatMul and between two "
                                "activations");
  // The bias of a Linear on sequences: MatMul, then Add.
  const bool one_part = d.parts.size() == 1 && d.parts[0].dir == -1;
  LNode* node = one_part ? &nodes_[static_cast<std::size_t>(d.parts[0].node)] : nullptr;
  const bool foldable = node && node->kind == LNode::dense && !node->dopt.use_bias &&
                        node->dopt.activation == Activation::linear && node->sole_ref == d_name &&
                        uses_[d_name] == 1;
  const ConstTensor& bc = *c.c;
  bool bias_shape = !bc.is_int && bc.numel() == d.feat && !bc.dims.empty();
  for (std::size_t k = 0; k + 1 < bc.dims.size(); ++k) bias_shape = bias_shape && bc.dims[k] == 1;
  if (!foldable || !bias_shape)
    fail<FormatError>(where(n), ": adds a constant of shape ", shape_str(bc.dims),
                      " to the activations; only the bias of a Linear (MatMul + Add of a [",
                      d.feat, "] vector) is supported");
  Tensor bias({d.feat});
  std::copy(bc.f.begin(), bc.f.end(), bias.data());
  node->tensors.emplace_back("bias", std::move(bias));
  node->dopt.use_bias = true;
  node->sole_ref = n.output(0);
  Value out = d;
  set(n, 0, std::move(out));
}

void Importer::op_activation(const onnx::NodeProto& n, Activation act) {
  const Value& v = input(n, 0);
  if (v.kind != Value::data)
    fail<FormatError>(where(n), ": activation of a constant is not supported");
  if (act == Activation::softmax) {
    const auto rank = static_cast<int64_t>(v.roles.size());
    int64_t axis = attr_int(n, "axis", opset_ >= 13 ? -1 : 1);
    if (axis < 0) axis += rank;
    if (axis != rank - 1)
      fail<FormatError>(where(n), ": softmax over axis ", axis, " of ", rank,
                        "; only the last (feature) axis is supported");
  }
  const bool one_part = v.parts.size() == 1 && v.parts[0].dir == -1;
  LNode* node = one_part ? &nodes_[static_cast<std::size_t>(v.parts[0].node)] : nullptr;
  if (node && node->kind == LNode::dense && node->dopt.activation == Activation::linear &&
      node->sole_ref == n.input(0) && uses_[n.input(0)] == 1) {
    node->dopt.activation = act;
    node->sole_ref = n.output(0);
    set(n, 0, v);
    return;
  }
  // No Linear to fold into: an identity Dense carries the activation (x·I is exact).
  auto [src, mode] = materialize(v, where(n), true);
  constexpr int64_t kMaxIdentity = 8192;  // the identity kernel is [F, F]: not in the file
  if (v.feat > kMaxIdentity)
    fail<FormatError>(where(n), ": an activation on ", v.feat,
                      " features without a Linear before it is not supported (more than ",
                      kMaxIdentity, ")");
  LNode d;
  d.kind = LNode::dense;
  d.dopt.units = v.feat;
  d.dopt.use_bias = false;
  d.dopt.activation = act;
  d.inputs = {{src, mode}};
  Tensor eye({v.feat, v.feat});
  for (int64_t k = 0; k < v.feat; ++k) eye.data()[k * v.feat + k] = 1.0f;
  d.tensors.emplace_back("kernel", std::move(eye));
  d.sole_ref = n.output(0);
  d.onnx_node = where(n);
  const int id = new_node(std::move(d), "activation");
  set(n, 0, node_value(id, v.roles, v.feat));
}

// An initial state must be zeros (recur's layers start from zero states).
void Importer::check_zero_state(const onnx::NodeProto& n, int k, const char* what, int64_t D,
                                int64_t H, bool batch_first_states) {
  if (!has_input(n, k)) return;
  const Value& v = input(n, k);
  std::vector<Dim> dims;
  if (v.kind == Value::filled) {
    if (!v.uniform || v.fill != 0)
      fail<FormatError>(where(n), ": ", what, " is not zero (",
                        v.uniform ? "filled with " + std::to_string(v.fill) : "a non-uniform "
                        "constant", "); recur's layers start from zero states, so nonzero "
                        "initial states are not supported");
    dims = v.dims;
  } else if (v.kind == Value::constant) {
    for (std::size_t i = 0; i < static_cast<std::size_t>(v.c->numel()); ++i)
      if (v.c->at(i) != 0)
        fail<FormatError>(where(n), ": ", what, " is a nonzero constant; recur's layers start "
                                    "from zero states, so nonzero initial states are not "
                                    "supported");
    for (int64_t d : v.c->dims) dims.push_back(known(d));
    if (dims.size() == 3) dims[batch_first_states ? 0 : 1] = {Sym::batch, 0};
  } else {
    fail<FormatError>(where(n), ": ", what, " is computed by the graph; recur's layers start "
                                "from zero states, so initial states are not supported");
  }
  std::vector<Dim> want = {known(D), {Sym::batch, 0}, known(H)};
  if (batch_first_states) std::swap(want[0], want[1]);
  bool ok = dims.size() == 3;
  for (std::size_t i = 0; ok && i < 3; ++i)
    ok = dims[i].s == Sym::unknown || (dims[i].s == want[i].s &&
                                       (dims[i].s != Sym::known || dims[i].v == want[i].v));
  if (!ok)
    fail<FormatError>(where(n), ": ", what, " has shape ", dims_str(dims), ", expected ",
                      dims_str(want));
}

// One of ONNX's recurrent activation functions as recur's Activation; `alphas`/`betas` are
// consumed (from `*ai`, `*bi`) by the functions that take them, in order, as recur's export
// writes them. ONNX's defaults: HardSigmoid 0.2, 0.5; Affine 1, 0.
Activation activation_of(const std::string& name, const std::vector<float>& alphas,
                         const std::vector<float>& betas, std::size_t* ai, std::size_t* bi,
                         const std::string& where) {
  const auto param = [&](const std::vector<float>& v, std::size_t* i, float dflt) {
    return v.empty() ? dflt : *i < v.size() ? v[(*i)++] : std::numeric_limits<float>::quiet_NaN();
  };
  if (name == "Sigmoid") return Activation::sigmoid;
  if (name == "Tanh") return Activation::tanh;
  if (name == "Relu") return Activation::relu;
  if (name == "HardSigmoid" || name == "Affine") {
    const bool hard = name == "HardSigmoid";
    const float alpha = param(alphas, ai, hard ? 0.2f : 1.0f);
    const float beta = param(betas, bi, hard ? 0.5f : 0.0f);
    const auto near = [](float a, float b) { return std::fabs(a - b) <= 1e-6f; };
    if (hard && near(alpha, 0.2f) && near(beta, 0.5f)) return Activation::hard_sigmoid;
    if (hard && near(alpha, 1.0f / 6.0f) && near(beta, 0.5f)) return Activation::hard_sigmoid_v3;
    if (!hard && near(alpha, 1.0f) && near(beta, 0.0f)) return Activation::linear;
    fail<FormatError>(where, ": ", name, " with alpha ", alpha, ", beta ", beta,
                      " is not one of recur's activations (HardSigmoid 0.2, 0.5 is hard_sigmoid; "
                      "1/6, 0.5 hard_sigmoid_v3; Affine 1, 0 linear)");
  }
  fail<FormatError>(where, ": activation ", name, " is not supported (recur's recurrent layers "
                           "use Sigmoid, Tanh, Relu, HardSigmoid or Affine 1, 0)");
}

// The (recurrent_activation, activation) pair of a recurrent operator: its `activations` (RNN
// [f], GRU [f, g], LSTM [f, g, h] per direction; ONNX's defaults otherwise). Both directions, and
// LSTM's g and h, must agree: recur's layers have one of each.
std::pair<Activation, Activation> Importer::recurrent_activations(const onnx::NodeProto& n,
                                                                  CellKind cell, int64_t D) {
  std::vector<std::string> names;
  if (cell == CellKind::lstm) names = {"Sigmoid", "Tanh", "Tanh"};
  else if (cell == CellKind::gru) names = {"Sigmoid", "Tanh"};
  else names = {"Tanh"};
  const std::size_t per_direction = names.size();
  if (const auto* a = attr(n, "activations")) {
    if (a->strings_size() != static_cast<int>(per_direction * static_cast<std::size_t>(D)))
      fail<FormatError>(where(n), ": activations lists ", a->strings_size(), " functions, "
                                  "expected ", per_direction * static_cast<std::size_t>(D), " (",
                                  per_direction, " per direction)");
    names.assign(a->strings().begin(), a->strings().end());
  } else if (D == 2) {
    const std::vector<std::string> one = names;
    names.insert(names.end(), one.begin(), one.end());
  }
  std::vector<float> alphas, betas;
  if (const auto* a = attr(n, "activation_alpha")) alphas.assign(a->floats().begin(), a->floats().end());
  if (const auto* b = attr(n, "activation_beta")) betas.assign(b->floats().begin(), b->floats().end());
  std::size_t ai = 0, bi = 0;
  std::vector<Activation> acts;
  for (const std::string& name : names)
    acts.push_back(activation_of(name, alphas, betas, &ai, &bi, where(n)));
  if (ai != alphas.size() || bi != betas.size())
    fail<FormatError>(where(n), ": activation_alpha / activation_beta hold ", alphas.size(), " / ",
                      betas.size(), " values; the activations take ", ai, " / ", bi);
  for (std::size_t k = per_direction; k < acts.size(); ++k)
    if (acts[k] != acts[k - per_direction])
      fail<FormatError>(where(n), ": the two directions use different activations; recur's "
                                  "Bidirectional runs one configuration both ways");
  if (cell == CellKind::lstm && acts[1] != acts[2])
    fail<FormatError>(where(n), ": the LSTM's cell activation (", names[1], ") and output "
                                "activation (", names[2], ") differ; recur's LSTM uses one "
                                "activation for both");
  if (cell == CellKind::simple) return {Activation::sigmoid, acts[0]};
  return {acts[0], acts[1]};
}

// An initial state that is another layer's final state (its Y_h for h, Y_c for c): that layer
// will return its states and this one start from them. Anything else must be zero.
std::optional<std::pair<int, Mode>> Importer::state_from_layer(const onnx::NodeProto& n, int k,
                                                               Mode want, int64_t D, int64_t H,
                                                               bool batch_first_states) {
  const char* what = want == Mode::state_h ? "initial_h" : "initial_c";
  if (!has_input(n, k) || input(n, k).kind != Value::data) {
    check_zero_state(n, k, what, D, H, batch_first_states);
    return std::nullopt;
  }
  const Value& v = input(n, k);
  const Mode from = want == Mode::state_h ? Mode::last : Mode::state_c;
  const bool layer_state = v.parts.size() == 1 && v.parts[0].dir < 0 && v.mode == from &&
                           v.roles == (batch_first_states ? "NDF" : "DNF") &&
                           nodes_[static_cast<std::size_t>(v.parts[0].node)].kind == LNode::rnn;
  if (!layer_state)
    fail<FormatError>(where(n), ": ", what, " is computed by the graph; recur's layers start "
                                "from zero states or from another unidirectional layer's final "
                                "states (its ", want == Mode::state_h ? "Y_h" : "Y_c",
                                " as it is), so this initial state is not supported");
  if (D != 1)
    fail<FormatError>(where(n), ": ", what, " comes from another layer, which is supported for "
                                "unidirectional layers only");
  if (v.feat != H)
    fail<FormatError>(where(n), ": ", what, " has ", v.feat, " units, expected ", H);
  return std::make_pair(v.parts[0].node, want);
}

void Importer::op_recurrent(const onnx::NodeProto& n, CellKind cell) {
  const int G = cell == CellKind::lstm ? 4 : cell == CellKind::gru ? 3 : 1;
  // Attributes recur cannot honour are refused by name.
  if (attr(n, "clip")) fail<FormatError>(where(n), ": attribute clip is not supported");
  if (cell == CellKind::lstm && attr_int(n, "input_forget", 0) != 0)
    fail<FormatError>(where(n), ": input_forget=1 (coupled input and forget gates) is not "
                                "supported");
  // GRU: linear_before_reset=1 (torch's GRU) is Keras's reset_after=true; 0, ONNX's default,
  // is reset_after=false, whose single bias is the sum of ONNX's Wb and Rb.
  const int64_t linear_before_reset = attr_int(n, "linear_before_reset", 0);
  if (linear_before_reset != 0 && linear_before_reset != 1)
    fail<FormatError>(where(n), ": linear_before_reset must be 0 or 1, got ",
                      linear_before_reset);
  const bool split_bias = cell == CellKind::gru && linear_before_reset == 1;
  std::string direction = "forward";
  if (const auto* a = attr(n, "direction")) direction = a->s();
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
    fail<FormatError>(where(n), ": direction \"", direction,
                      "\" is not supported (forward, reverse or bidirectional)");
  const int64_t D = direction == "bidirectional" ? 2 : 1;
  const int64_t layout = attr_int(n, "layout", 0);
  if (layout != 0 && layout != 1) fail<FormatError>(where(n), ": layout must be 0 or 1");
  const auto [rec_act, act] = recurrent_activations(n, cell, D);
  if (has_input(n, 4))
    fail<FormatError>(where(n), ": sequence_lens is not supported (all sequences run the full "
                                "length)");
  if (cell == CellKind::lstm && has_input(n, 7))
    fail<FormatError>(where(n), ": peephole weights (input P) are not supported");

  const Value& x = input(n, 0);
  auto [src, mode] = materialize(x, where(n), true);
  const std::string want_roles = layout == 0 ? "TNF" : "NTF";
  if (x.roles != want_roles)
    fail<FormatError>(where(n), ": input X has axes ", x.roles, ", expected ", want_roles,
                      " (layout=", layout, ")");
  const int64_t I = x.feat;
  const int64_t H = attr_int(n, "hidden_size", 0);
  if (H <= 0 || H > (int64_t{1} << 24))
    fail<FormatError>(where(n), ": hidden_size must be given, positive and at most 2^24, got ", H);
  const ConstTensor& W = need_const(n, 1, "W");
  const ConstTensor& R = need_const(n, 2, "R");
  const Shape wantW = {D, G * H, I}, wantR = {D, G * H, H}, wantB = {D, 2 * G * H};
  if (W.dims != wantW || W.is_int)
    fail<FormatError>(where(n), ": W has shape ", shape_str(W.dims), ", expected ",
                      shape_str(wantW), " (", D, " directions, ", G, " gates x ", H,
                      " units, ", I, " inputs)");
  if (R.dims != wantR || R.is_int)
    fail<FormatError>(where(n), ": R has shape ", shape_str(R.dims), ", expected ",
                      shape_str(wantR));
  const ConstTensor* B = nullptr;
  if (has_input(n, 3)) {
    B = &need_const(n, 3, "B");
    if (B->dims != wantB || B->is_int)
      fail<FormatError>(where(n), ": B has shape ", shape_str(B->dims), ", expected ",
                        shape_str(wantB));
  }
  // Initial states: zeros, or the final states of another layer (an encoder's h_n, c_n).
  std::vector<std::pair<int, Mode>> initial;
  if (auto h0 = state_from_layer(n, 5, Mode::state_h, D, H, layout == 1)) initial.push_back(*h0);
  if (cell == CellKind::lstm) {
    auto c0 = state_from_layer(n, 6, Mode::state_c, D, H, layout == 1);
    if (c0.has_value() != !initial.empty())
      fail<FormatError>(where(n), ": initial_h and initial_c must both be another layer's "
                                  "final states (h_n, c_n) or both be zero");
    if (c0) initial.push_back(*c0);
  }

  // Gate blocks: Keras block kg comes from ONNX block onnx_gate[kg].
  // LSTM: Keras i, f, c, o  <-  ONNX i, o, f, c.   GRU: z, r, h  <-  z, r, h.
  static const int lstm_map[4] = {0, 2, 3, 1};
  static const int same_map[3] = {0, 1, 2};
  const int* onnx_gate = cell == CellKind::lstm ? lstm_map : same_map;
  const int64_t GH = G * H;
  LNode node;
  node.kind = D == 2 ? LNode::bidir : LNode::rnn;
  node.cell = cell;
  node.ropt.units = H;
  node.ropt.activation = act;
  node.ropt.recurrent_activation = rec_act;
  node.ropt.go_backwards = direction == "reverse";
  if (cell == CellKind::gru) node.ropt.reset_after = split_bias;
  node.inputs = {{src, mode}};
  for (int64_t d = 0; d < D; ++d) {
    const std::string prefix = D == 2 ? (d == 0 ? "forward/" : "backward/") : "";
    Tensor kernel({I, GH}), recurrent({H, GH});  // [I, G·H], [H, G·H]
    Tensor bias = split_bias ? Tensor({2, GH}) : Tensor({GH});
    for (int kg = 0; kg < G; ++kg) {
      const int64_t og = onnx_gate[kg];
      for (int64_t j = 0; j < H; ++j) {
        const int64_t col = kg * H + j, row = og * H + j;  // Keras column, ONNX row
        for (int64_t i = 0; i < I; ++i)
          kernel.data()[i * GH + col] = W.f[static_cast<std::size_t>((d * GH + row) * I + i)];
        for (int64_t i = 0; i < H; ++i)
          recurrent.data()[i * GH + col] = R.f[static_cast<std::size_t>((d * GH + row) * H + i)];
        if (B) {
          const float wb = B->f[static_cast<std::size_t>(d * 2 * GH + row)];
          const float rb = B->f[static_cast<std::size_t>(d * 2 * GH + GH + row)];
          if (split_bias) {  // GRU reset_after: row 0 input bias, row 1 recurrent bias
            bias.data()[col] = wb;
            bias.data()[GH + col] = rb;
          } else {
            bias.data()[col] = wb + rb;
          }
        }
      }
    }
    node.tensors.emplace_back(prefix + "kernel", std::move(kernel));
    node.tensors.emplace_back(prefix + "recurrent_kernel", std::move(recurrent));
    node.tensors.emplace_back(prefix + "bias", std::move(bias));
  }
  node.onnx_node = where(n);
  node.initial = std::move(initial);
  const std::string base = D == 2 ? "bidirectional"
                           : cell == CellKind::lstm ? "lstm"
                           : cell == CellKind::gru ? "gru" : "simple_rnn";
  const bool node_is_reverse = node.ropt.go_backwards;
  const int id = new_node(std::move(node), base);
  std::vector<Part> parts;
  if (D == 2) parts = {{id, 0}, {id, 1}};
  else parts = {{id, -1}};
  Value y;
  y.kind = Value::data;
  y.parts = parts;
  y.feat = H;
  y.roles = layout == 0 ? "TDNF" : "NTDF";
  y.reversed = node_is_reverse;
  set(n, 0, y);
  Value yh = y;
  yh.reversed = false;
  yh.mode = Mode::last;
  yh.roles = layout == 0 ? "DNF" : "NDF";
  set(n, 1, yh);
  if (cell != CellKind::lstm) return;
  Value yc = yh;  // the final cell state: return_state's output 2
  yc.mode = Mode::state_c;
  set(n, 2, std::move(yc));
}

// ---- emission ----------------------------------------------------------------------------------

std::unique_ptr<Model> Importer::emit() {
  // Graph outputs -> (node, mode).
  if (g_.output_size() == 0) fail<FormatError>(path_, ": the graph has no outputs");
  std::vector<std::pair<int, Mode>> outs;
  for (const auto& o : g_.output()) {
    auto it = values_.find(o.name());
    if (it == values_.end())
      fail<FormatError>(path_, ": graph output '", o.name(), "' is not computed by any node");
    outs.push_back(materialize(it->second, path_ + ": graph output '" + o.name() + "'", false));
    if (nodes_[static_cast<std::size_t>(outs.back().first)].kind == LNode::input)
      fail<FormatError>(path_, ": graph output '", o.name(),
                        "' is the input itself; there is no layer to import");
  }
  // Layers that reach an output, and how each recurrent output is used.
  std::vector<bool> live(nodes_.size(), false);
  std::vector<int> stack;
  for (const auto& [id, m] : outs) stack.push_back(id);
  while (!stack.empty()) {
    const int id = stack.back();
    stack.pop_back();
    if (live[static_cast<std::size_t>(id)]) continue;
    live[static_cast<std::size_t>(id)] = true;
    for (const auto& [src, m] : nodes_[static_cast<std::size_t>(id)].inputs) stack.push_back(src);
    for (const auto& [src, m] : nodes_[static_cast<std::size_t>(id)].initial) stack.push_back(src);
  }
  for (std::size_t k = 0; k < nodes_.size(); ++k)
    if (nodes_[k].kind == LNode::input && !live[k])
      fail<FormatError>(nodes_[k].onnx_node, " reaches no graph output; the recur model would "
                                             "take fewer inputs than the graph");
  std::vector<std::set<Mode>> used(nodes_.size());
  std::vector<int> consumers(nodes_.size(), 0);
  for (const auto& [id, m] : outs) used[static_cast<std::size_t>(id)].insert(m), ++consumers[static_cast<std::size_t>(id)];
  for (std::size_t k = 0; k < nodes_.size(); ++k)
    if (live[k]) {
      for (const auto& [src, m] : nodes_[k].inputs)
        used[static_cast<std::size_t>(src)].insert(m), ++consumers[static_cast<std::size_t>(src)];
      for (const auto& [src, m] : nodes_[k].initial)
        used[static_cast<std::size_t>(src)].insert(m), ++consumers[static_cast<std::size_t>(src)];
    }
  for (std::size_t k = 0; k < nodes_.size(); ++k) {
    LNode& node = nodes_[k];
    if (!live[k] || !is_recurrent(node)) continue;
    if (used[k].count(Mode::seq) && used[k].count(Mode::last))
      fail<FormatError>(node.onnx_node, ": the output of ", cell_class(node.cell),
                        " (recur layer '", node.name,
                        "') is used both as the whole sequence and as its last step; a recur "
                        "layer returns one or the other");
    node.ropt.return_sequences = used[k].count(Mode::seq) > 0;
    node.ropt.return_state = used[k].count(Mode::state_h) || used[k].count(Mode::state_c);
  }

  // A chain (one input, each layer feeding only the next, one output) is a Sequential.
  std::vector<int> order;
  for (std::size_t k = 0; k < nodes_.size(); ++k)
    if (live[k]) order.push_back(static_cast<int>(k));
  bool chain = outs.size() == 1 && outs[0].first == order.back() &&
               nodes_[static_cast<std::size_t>(order[0])].kind == LNode::input;
  for (std::size_t k = 1; chain && k < order.size(); ++k) {
    const LNode& node = nodes_[static_cast<std::size_t>(order[k])];
    chain = node.inputs.size() == 1 && node.inputs[0].first == order[k - 1] &&
            consumers[static_cast<std::size_t>(order[k - 1])] == 1 && node.initial.empty() &&
            !node.ropt.return_state;
  }

  auto make_layer = [&](const LNode& node) -> std::unique_ptr<Layer> {
    switch (node.kind) {
      case LNode::rnn: return std::make_unique<Recurrent>(node.cell, node.name, node.ropt);
      case LNode::bidir:
        return std::make_unique<Bidirectional>(node.name, node.cell, node.ropt);
      case LNode::dense: return std::make_unique<Dense>(node.name, node.dopt);
      case LNode::embedding: return std::make_unique<Embedding>(node.name, node.eopt);
      case LNode::add: return std::make_unique<Add>(node.name);
      case LNode::concat: return std::make_unique<Concatenate>(node.name, -1);
      default: fail<InternalError>("onnx import: no layer for an input node");
    }
  };
  std::unique_ptr<Model> built;
  const LNode& in = nodes_[static_cast<std::size_t>(order[0])];
  if (chain) {
    auto seq = std::make_unique<Sequential>("sequential");
    for (std::size_t k = 1; k < order.size(); ++k)
      seq->add(make_layer(nodes_[static_cast<std::size_t>(order[k])]));
    seq->build(in.input_shape);
    built = std::move(seq);
  } else {
    auto fn = std::make_unique<Functional>("model");
    std::map<int, std::vector<NodeRef>> refs;  // node -> its outputs (y[, h[, c]])
    const auto ref = [&](int id, Mode m) {
      const std::vector<NodeRef>& r = refs.at(id);
      const std::size_t k = m == Mode::state_h ? 1 : m == Mode::state_c ? 2 : 0;
      if (k >= r.size()) fail<InternalError>("onnx import: layer output ", k, " missing");
      return r[k];
    };
    std::vector<NodeRef> inputs, outputs;
    for (int id : order) {
      const LNode& node = nodes_[static_cast<std::size_t>(id)];
      if (node.kind == LNode::input) {
        refs[id] = {fn->input(node.name, node.input_shape)};
        inputs.push_back(refs[id][0]);
        continue;
      }
      std::vector<NodeRef> args, states;
      for (const auto& [src, m] : node.inputs) args.push_back(ref(src, m));
      for (const auto& [src, m] : node.initial) states.push_back(ref(src, m));
      refs[id] = fn->call(make_layer(node), args, states);
    }
    for (const auto& [id, m] : outs) outputs.push_back(ref(id, m));
    fn->build(inputs, outputs);
    built = std::move(fn);
  }
  // The file a recur user would have written: architecture + Keras-layout tensors, loaded back
  // through the model-file reader (all its checks apply).
  io::SafetensorsFile file;
  file.metadata["recur.format"] = "1";
  file.metadata["recur.model"] = built->to_json().dump();
  for (int id : order)
    for (const auto& [pname, t] : nodes_[static_cast<std::size_t>(id)].tensors)
      file.tensors[nodes_[static_cast<std::size_t>(id)].name + "/" + pname] = io::raw_from_float(t);
  return model_from_file(file, path_, false);
}

void Importer::add_input(const onnx::ValueInfoProto& x) {
  const auto& tt = x.type().tensor_type();
  const int elem = tt.elem_type();
  const bool ids = elem == onnx::TensorProto::INT64 || elem == onnx::TensorProto::INT32;
  if (!ids && elem != onnx::TensorProto::FLOAT)
    fail<FormatError>(path_, ": input '", x.name(), "' has element type ", elem,
                      "; expected float32 sequences or int64/int32 token ids");
  const int rank = tt.shape().dim_size();
  if (rank != (ids ? 2 : 3))
    fail<FormatError>(path_, ": input '", x.name(), "' has rank ", rank, "; expected ",
                      ids ? "[N, T] token ids" : "[N, T, F] (or [T, N, F]) float sequences");
  LNode in;
  in.kind = LNode::input;
  const std::string& name = x.name();
  const bool plain = !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
  });
  int64_t F = 0;
  if (!ids) {
    const auto& fd = tt.shape().dim(2);
    if (!fd.has_dim_value() || fd.dim_value() <= 0)
      fail<FormatError>(path_, ": input '", x.name(),
                        "' must declare its feature count (the last axis)");
    F = fd.dim_value();
    in.input_shape = {-1, F};
  } else {
    in.input_shape = {-1};
  }
  in.onnx_node = path_ + ": graph input '" + io::detail::printable(name) + "'";
  const int id = new_node(std::move(in), plain ? name : "input");
  values_[x.name()] =
      node_value(id, time_major_ ? (ids ? "TN" : "TNF") : (ids ? "NT" : "NTF"), F);
}

std::unique_ptr<Model> Importer::run() {
  // Uses of each value: by nodes and as graph outputs (folding needs a single use).
  for (const auto& n : g_.node())
    for (const auto& i : n.input()) ++uses_[i];
  for (const auto& o : g_.output()) ++uses_[o.name()];
  for (const auto& [name, c] : inits_) {
    Value v;
    v.kind = Value::constant;
    v.c = c;
    values_[name] = std::move(v);
  }
  // The real inputs, in the graph's order (graph inputs that are initializers are constants):
  // one is a Sequential's input, several a Functional model's.
  std::vector<const onnx::ValueInfoProto*> xs;
  for (const auto& i : g_.input())
    if (!inits_.count(i.name())) xs.push_back(&i);
  if (xs.empty()) fail<FormatError>(path_, ": the graph has no input");
  for (const onnx::ValueInfoProto* x : xs) add_input(*x);

  // Interpret only the nodes that lead to an output.
  std::set<std::string> needed;
  for (const auto& o : g_.output()) needed.insert(o.name());
  std::vector<bool> live(static_cast<std::size_t>(g_.node_size()), false);
  for (int k = g_.node_size() - 1; k >= 0; --k) {
    const auto& n = g_.node(k);
    bool any = false;
    for (const auto& o : n.output()) any = any || needed.count(o);
    if (!any) continue;
    live[static_cast<std::size_t>(k)] = true;
    for (const auto& i : n.input()) needed.insert(i);
  }
  for (int k = 0; k < g_.node_size(); ++k)
    if (live[static_cast<std::size_t>(k)]) op(g_.node(k));
  return emit();
}

const std::set<std::string>& supported_ops() {
  static const std::set<std::string> ops = {
      "Constant", "Identity", "Dropout", "Cast",    "Shape",   "Gather",  "Unsqueeze",
      "Squeeze",  "Concat",   "ConstantOfShape", "Expand", "Slice", "Transpose", "Reshape",
      "Flatten",  "Gemm",     "MatMul",  "Add",     "Relu",    "Tanh",    "Sigmoid",
      "Softmax",  "LSTM",     "GRU",     "RNN"};
  return ops;
}

}  // namespace

std::unique_ptr<Model> import_onnx(const std::string& path) {
  onnx::ModelProto model;
  onnx_import::read_model(path, model);
  const onnx::GraphProto& g = model.graph();
  int opset = 0;
  for (const auto& o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = static_cast<int>(o.version());
  if (opset < 7)
    fail<FormatError>(path, ": opset ", opset, " is not supported (torch.onnx.export writes "
                            "opset 7 and later; tested: 11 to 14)");

  // Every unsupported operator, in one message.
  std::map<std::string, std::vector<std::string>> unsupported;  // op -> node names
  for (int k = 0; k < g.node_size(); ++k) {
    const auto& n = g.node(k);
    const bool std_domain = n.domain().empty() || n.domain() == "ai.onnx";
    if (std_domain && supported_ops().count(n.op_type())) continue;
    const std::string op = std_domain ? n.op_type() : n.domain() + "." + n.op_type();
    unsupported[io::detail::printable(op)].push_back(
        n.name().empty() ? "#" + std::to_string(k) : io::detail::printable(n.name()));
  }
  if (!unsupported.empty()) {
    std::string list;
    for (const auto& [op, names] : unsupported) {
      if (!list.empty()) list += ", ";
      list += op + (names.size() == 1 ? " (node " : " (nodes ");
      for (std::size_t k = 0; k < names.size(); ++k) list += (k ? ", " : "") + names[k];
      list += ")";
    }
    fail<FormatError>(path, ": unsupported ONNX operators: ", list);
  }

  std::map<std::string, std::shared_ptr<const ConstTensor>> inits;
  for (const auto& t : g.initializer())
    inits[t.name()] = std::make_shared<const ConstTensor>(
        onnx_import::decode_tensor(t, path, "initializer '" + t.name() + "'"));

  // Batch-first or time-major input: try the layout the declared input shape suggests first
  // (a symbolic axis 1 and a fixed axis 0 mean time-major), then the other.
  bool time_major_first = false;
  for (const auto& i : g.input()) {
    if (inits.count(i.name()) || i.type().tensor_type().shape().dim_size() < 2) continue;
    const auto& s = i.type().tensor_type().shape();
    time_major_first = s.dim(0).has_dim_value() && !s.dim(1).has_dim_value();
  }
  try {
    return Importer(g, path, inits, opset, time_major_first).run();
  } catch (const FormatError& first) {
    try {
      return Importer(g, path, inits, opset, !time_major_first).run();
    } catch (const Error&) {
      throw first;
    }
  }
}

}  // namespace recur
