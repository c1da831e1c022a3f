// Functional: graph building, topological forward/backward with mask and state routing,
// summary and the Keras 2 functional config.
#include "recur/model/functional.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <set>
#include <sstream>

#include "recur/error.hpp"
#include "recur/layers/merge.hpp"
#include "recur/layers/recurrent.hpp"

namespace recur {

namespace {

std::atomic<uint64_t> g_next_graph_id{1};

// A sample shape as Keras prints it, with the batch axis: (None, None, 3).
std::string keras_shape(const Shape& sample) {
  std::string s = "(None";
  for (int64_t d : sample) s += ", " + (d < 0 ? std::string("None") : std::to_string(d));
  return s + ")";
}

nlohmann::json batch_shape_json(const Shape& sample) {
  nlohmann::json shape = nlohmann::json::array({nullptr});
  for (int64_t d : sample) shape.push_back(d < 0 ? nlohmann::json(nullptr) : nlohmann::json(d));
  return shape;
}

// Clears a recurrent layer's initial states when the call that set them ends (or throws).
struct InitialStateScope {
  Recurrent* layer = nullptr;
  ~InitialStateScope() {
    if (layer) layer->clear_initial_states();
  }
};

}  // namespace

Functional::Functional(std::string name) : Model(std::move(name)), id_(g_next_graph_id++) {}
Functional::~Functional() = default;
Functional::Functional(Functional&&) noexcept = default;
Functional& Functional::operator=(Functional&&) noexcept = default;

// ---- building -----------------------------------------------------------------------------------

void Functional::check_open(const char* what) const {
  if (built()) fail<ConfigError>("Functional '", name(), "': ", what, " after build()");
}

const Functional::Node& Functional::node_of(const NodeRef& ref, const char* what) const {
  if (ref.graph != id_ || ref.node >= nodes_.size())
    fail<InvalidArgument>("Functional '", name(), "': ", what,
                          " is not a tensor of this model (made by another Functional?)");
  const Node& n = nodes_[ref.node];
  if (ref.index >= n.shapes.size())
    fail<InvalidArgument>("Functional '", name(), "': ", what, " refers to output ", ref.index,
                          " of '", n.name, "', which has ", n.shapes.size(), " output(s)");
  return n;
}

const Shape& Functional::shape(const NodeRef& ref) const {
  return node_of(ref, "shape()").shapes[ref.index];
}

const std::string& Functional::producer(const NodeRef& ref) const {
  return node_of(ref, "producer()").name;
}

NodeRef Functional::input(std::string name, Shape sample_shape) {
  check_open("input()");
  const bool ok = (sample_shape.size() == 1 && (sample_shape[0] > 0 || sample_shape[0] == -1)) ||
                  (sample_shape.size() == 2 && (sample_shape[0] > 0 || sample_shape[0] == -1) &&
                   sample_shape[1] > 0);
  if (!ok)
    fail<ShapeError>("Functional '", this->name(), "': input '", name, "' has sample shape ",
                     shape_str(sample_shape),
                     "; expected {T, F} (sequences of F features) or {T} (token ids), T = -1 "
                     "for any length");
  for (const Node& n : nodes_)
    if (n.name == name)
      fail<ConfigError>("Functional '", this->name(), "': duplicate layer name '", name, "'");
  Node n;
  n.name = std::move(name);
  n.shapes.push_back(std::move(sample_shape));
  n.out.assign(1, nullptr);
  n.out_mask.assign(1, nullptr);
  n.grad.assign(1, nullptr);
  n.sum.resize(1);
  nodes_.push_back(std::move(n));
  return {id_, nodes_.size() - 1, 0};
}

std::vector<NodeRef> Functional::call(std::unique_ptr<Layer> layer,
                                      const std::vector<NodeRef>& inputs,
                                      const std::vector<NodeRef>& initial_state) {
  check_open("call()");
  if (!layer) fail<InvalidArgument>("Functional '", name(), "': call() got a null layer");
  const std::string where = std::string(layer->class_name()) + " '" + layer->name() + "'";
  if (layer->built())
    fail<ConfigError>(where,
                      " is already built (called before, or used in another model); "
                      "each layer object can be called once: shared layers are not "
                      "supported");
  for (const Node& n : nodes_)
    if (n.name == layer->name())
      fail<ConfigError>("Functional '", name(), "': duplicate layer name '", layer->name(), "'");
  if (inputs.empty()) fail<InvalidArgument>(where, ": called with no inputs");
  std::vector<Shape> in_shapes;
  for (const NodeRef& r : inputs)
    in_shapes.push_back(node_of(r, "an input tensor").shapes[r.index]);

  Node n;
  n.name = layer->name();
  n.inputs = inputs;
  n.merge = dynamic_cast<MergeLayer*>(layer.get());
  n.recurrent = dynamic_cast<Recurrent*>(layer.get());
  if (!n.merge && inputs.size() != 1)
    fail<InvalidArgument>(where, " takes one input, got ", inputs.size(),
                          " (use Concatenate or Add to merge tensors)");
  if (!initial_state.empty()) {
    if (!n.recurrent)
      fail<ConfigError>(where, ": initial_state is only supported for SimpleRNN, LSTM and GRU");
    const auto want = static_cast<std::size_t>(n.recurrent->state_count());
    if (initial_state.size() != want)
      fail<ConfigError>(where, ": initial_state needs ", want,
                        want == 2 ? " tensors (h, c)" : " tensor (h)", ", got ",
                        initial_state.size());
    for (std::size_t k = 0; k < initial_state.size(); ++k) {
      const NodeRef& r = initial_state[k];
      const Shape& s = node_of(r, "an initial_state tensor").shapes[r.index];
      if (s != Shape{n.recurrent->units()})
        fail<ShapeError>(where, ": initial_state ", k, " ('", nodes_[r.node].name, "' output ",
                         r.index, ") has shape ", keras_shape(s), ", expected ",
                         keras_shape({n.recurrent->units()}));
    }
    n.states = initial_state;
  }

  // Build now, so that shape errors point at this call.
  if (n.merge) {
    n.shapes.push_back(n.merge->build_multi(in_shapes));
  } else {
    n.shapes.push_back(layer->build(in_shapes[0]));
  }
  if (n.recurrent && n.recurrent->options().return_state)
    for (int k = 0; k < n.recurrent->state_count(); ++k) n.shapes.push_back({n.recurrent->units()});
  const std::size_t outs = n.shapes.size();
  n.out.assign(outs, nullptr);
  n.out_mask.assign(outs, nullptr);
  n.grad.assign(outs, nullptr);
  n.sum.resize(outs);
  n.in_x.assign(inputs.size(), nullptr);
  n.in_mask.assign(inputs.size(), nullptr);
  n.layer = std::move(layer);
  nodes_.push_back(std::move(n));
  std::vector<NodeRef> refs;
  for (std::size_t k = 0; k < outs; ++k) refs.push_back({id_, nodes_.size() - 1, k});
  return refs;
}

void Functional::build(const std::vector<NodeRef>& inputs, const std::vector<NodeRef>& outputs,
                       uint64_t seed) {
  check_open("build()");
  const std::string me = "Functional '" + name() + "'";
  if (inputs.empty()) fail<ConfigError>(me, ": no inputs");
  if (outputs.empty()) fail<ConfigError>(me, ": no outputs");
  std::set<std::size_t> input_nodes;
  for (const NodeRef& r : inputs) {
    const Node& n = node_of(r, "a model input");
    if (n.layer)
      fail<ConfigError>(me, ": model input '", n.name, "' is the output of a ",
                        n.layer->class_name(), " layer; model inputs come from input()");
    if (!input_nodes.insert(r.node).second)
      fail<ConfigError>(me, ": input '", n.name, "' is listed twice");
  }
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    if (!nodes_[i].layer && !input_nodes.count(i))
      fail<ConfigError>(me, ": input '", nodes_[i].name,
                        "' is not among the model's inputs passed to build()");
  // Which nodes the outputs need (walking back along inputs and initial states).
  std::vector<char> live(nodes_.size(), 0);
  std::vector<std::size_t> stack;
  for (const NodeRef& r : outputs) {
    node_of(r, "a model output");
    stack.push_back(r.node);
  }
  while (!stack.empty()) {
    const std::size_t i = stack.back();
    stack.pop_back();
    if (live[i]) continue;
    live[i] = 1;
    for (const NodeRef& r : nodes_[i].inputs) stack.push_back(r.node);
    for (const NodeRef& r : nodes_[i].states) stack.push_back(r.node);
  }
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].layer && !live[i])
      fail<ConfigError>(me, ": ", nodes_[i].layer->class_name(), " '", nodes_[i].name,
                        "' does not lead to any model output; remove it or make it an output");
  inputs_ = inputs;
  outputs_refs_ = outputs;
  outputs_.assign(outputs.size(), nullptr);
  allocate_params(seed);
}

const Shape& Functional::input_shape(std::size_t i) const {
  if (!built() || i >= inputs_.size())
    fail<InvalidArgument>("Functional '", name(), "': no input ", i, built() ? "" : " (not built)");
  return nodes_[inputs_[i].node].shapes[0];
}

const Shape& Functional::output_shape(std::size_t i) const {
  if (!built() || i >= outputs_refs_.size())
    fail<InvalidArgument>("Functional '", name(), "': no output ", i,
                          built() ? "" : " (not built)");
  return nodes_[outputs_refs_[i].node].shapes[outputs_refs_[i].index];
}

const std::string& Functional::input_name(std::size_t i) const {
  input_shape(i);
  return nodes_[inputs_[i].node].name;
}

std::vector<Layer*> Functional::layers() const {
  std::vector<Layer*> out;
  for (const Node& n : nodes_)
    if (n.layer) out.push_back(n.layer.get());
  return out;
}

// ---- forward / backward -----------------------------------------------------------------------

const std::vector<const Tensor*>& Functional::forward_batch(const Context& ctx,
                                                            const std::vector<const Tensor*>& xs) {
  // xs[i] [T, B, F] (ids: [T, B]) -> outputs [B, U] or [T, B, U], in the order of build()
  if (!built()) fail<ConfigError>("Functional '", name(), "': forward before build()");
  if (xs.size() != inputs_.size())
    fail<InvalidArgument>("Functional '", name(), "': expected ", inputs_.size(), " input(s), got ",
                          xs.size());
  forwarded_ = false;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    Node& n = nodes_[inputs_[i].node];
    const Tensor* x = xs[i];
    const Shape& s = n.shapes[0];
    if (!x) fail<InvalidArgument>("Functional '", name(), "': input '", n.name, "' is null");
    const bool ok = s.size() == 1 ? x->rank() == 2 : x->rank() == 3 && x->dim(2) == s[1];
    if (!ok || (s[0] > 0 && x->dim(0) != s[0]) || x->dim(1) != xs[0]->dim(1))
      fail<ShapeError>(
          "Functional '", name(), "': input '", n.name, "' has shape ", shape_str(x->shape()),
          ", expected time-major ",
          s.size() == 1 ? std::string("token ids [T, B]") : "[T, B, " + std::to_string(s[1]) + "]",
          s[0] > 0 ? " with T = " + std::to_string(s[0]) : std::string(),
          " and the batch of input 0 (", xs[0]->dim(1), ")");
    n.out[0] = x;
    n.out_mask[0] = nullptr;
  }
  for (Node& n : nodes_) {
    if (!n.layer) continue;
    const Tensor* y = nullptr;
    if (n.merge) {
      for (std::size_t i = 0; i < n.inputs.size(); ++i) {
        const Node& src = nodes_[n.inputs[i].node];
        n.in_x[i] = src.out[n.inputs[i].index];
        n.in_mask[i] = src.out_mask[n.inputs[i].index];
      }
      y = &n.merge->forward_multi(ctx, n.in_x, n.in_mask);
    } else {
      const Node& src = nodes_[n.inputs[0].node];
      const Tensor* x = src.out[n.inputs[0].index];
      const Tensor* mask = src.out_mask[n.inputs[0].index];
      InitialStateScope scope;
      if (!n.states.empty()) {
        const Tensor* h0 = nodes_[n.states[0].node].out[n.states[0].index];
        const Tensor* c0 =
            n.states.size() > 1 ? nodes_[n.states[1].node].out[n.states[1].index] : nullptr;
        n.recurrent->set_initial_states(h0, c0);
        scope.layer = n.recurrent;
      }
      y = &n.layer->forward(ctx, *x, mask);
    }
    n.out[0] = y;
    n.out_mask[0] = n.layer->output_mask();
    for (std::size_t k = 1; k < n.out.size(); ++k) {  // return_state: h (and c), no mask
      n.out[k] = &n.recurrent->final_states()[k - 1];
      n.out_mask[k] = nullptr;
    }
  }
  for (std::size_t o = 0; o < outputs_refs_.size(); ++o)
    outputs_[o] = nodes_[outputs_refs_[o].node].out[outputs_refs_[o].index];
  forwarded_ = true;
  return outputs_;
}

const std::vector<const Tensor*>& Functional::output_masks() const {
  out_masks_.resize(outputs_refs_.size());
  for (std::size_t i = 0; i < outputs_refs_.size(); ++i) {
    const NodeRef& r = outputs_refs_[i];
    out_masks_[i] = forwarded_ ? nodes_[r.node].out_mask[r.index] : nullptr;
  }
  return out_masks_;
}

void Functional::add_grad(const NodeRef& ref, const Tensor& g) {
  // The first contribution is used where it lies (no copy); a second one is summed into the
  // tensor's own buffer.
  Node& n = nodes_[ref.node];
  const std::size_t k = ref.index;
  if (g.shape() != n.out[k]->shape())
    fail<InternalError>("Functional '", name(), "': gradient for '", n.name, "' output ", k,
                        " has shape ", shape_str(g.shape()), ", the output has ",
                        shape_str(n.out[k]->shape()));
  if (!n.grad[k]) {
    n.grad[k] = &g;
    return;
  }
  Tensor& sum = n.sum[k];
  const int64_t m = g.numel();
  if (n.grad[k] != &sum) {
    sum.resize(g.shape());
    std::memcpy(sum.data(), n.grad[k]->data(), static_cast<std::size_t>(m) * sizeof(float));
    n.grad[k] = &sum;
  }
  float* s = sum.data();
  const float* a = g.data();
  for (int64_t i = 0; i < m; ++i) s[i] += a[i];
}

void Functional::backward_batch(const Context& ctx, const std::vector<const Tensor*>& dys) {
  if (!forwarded_) fail<ConfigError>("Functional '", name(), "': backward before forward");
  if (dys.size() != outputs_refs_.size())
    fail<InvalidArgument>("Functional '", name(), "': expected ", outputs_refs_.size(),
                          " output gradient(s) (nullptr for none), got ", dys.size());
  for (Node& n : nodes_) std::fill(n.grad.begin(), n.grad.end(), nullptr);
  for (std::size_t o = 0; o < dys.size(); ++o) {
    if (!dys[o]) continue;
    if (dys[o]->shape() != outputs_[o]->shape())
      fail<ShapeError>("Functional '", name(), "': gradient for output ", o, " ('",
                       nodes_[outputs_refs_[o].node].name, "') has shape ",
                       shape_str(dys[o]->shape()), ", the output has ",
                       shape_str(outputs_[o]->shape()));
    add_grad(outputs_refs_[o], *dys[o]);
  }
  for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it) {
    Node& n = *it;
    if (!n.layer) continue;
    if (std::none_of(n.grad.begin(), n.grad.end(), [](const Tensor* g) { return g; }))
      continue;        // nothing flows back through this layer
    if (!n.grad[0]) {  // only state outputs got a gradient: the main output's is zero
      n.sum[0].resize(n.out[0]->shape());
      n.sum[0].fill(0.0f);
      n.grad[0] = &n.sum[0];
    }
    if (n.merge) {
      const std::vector<Tensor>& dxs = n.merge->backward_multi(ctx, *n.grad[0]);
      for (std::size_t i = 0; i < n.inputs.size(); ++i) add_grad(n.inputs[i], dxs[i]);
      continue;
    }
    const Tensor* dx = nullptr;
    if (n.recurrent && n.out.size() > 1) {
      n.recurrent->set_final_state_grads(n.grad[1], n.out.size() > 2 ? n.grad[2] : nullptr);
      try {
        dx = &n.layer->backward(ctx, *n.grad[0]);
      } catch (...) {
        n.recurrent->set_final_state_grads(nullptr, nullptr);
        throw;
      }
      n.recurrent->set_final_state_grads(nullptr, nullptr);
    } else {
      dx = &n.layer->backward(ctx, *n.grad[0]);
    }
    add_grad(n.inputs[0], *dx);
    if (!n.states.empty()) {
      const std::vector<Tensor>& ds = n.recurrent->initial_state_grads();
      for (std::size_t k = 0; k < n.states.size(); ++k) add_grad(n.states[k], ds[k]);
    }
  }
}

const Tensor* Functional::input_grad(std::size_t i) const {
  input_shape(i);
  return nodes_[inputs_[i].node].grad[0];
}

// ---- summary and config -----------------------------------------------------------------------

namespace {
std::string with_commas(int64_t n) {
  std::string s = std::to_string(n), out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}
std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s + " ";
}
}  // namespace

std::vector<std::string> Functional::connections(const Node& n) const {
  std::vector<std::string> out;
  for (const std::vector<NodeRef>* refs : {&n.inputs, &n.states})
    for (const NodeRef& r : *refs)
      out.push_back("'" + nodes_[r.node].name + "[0][" + std::to_string(r.index) + "]'");
  return out;
}

std::string Functional::summary() const {
  // Keras 2 layout: 98 columns, fields at 0, 32, 58, 70.
  constexpr std::size_t kName = 31, kShape = 25, kParams = 11;
  std::ostringstream out;
  const std::string rule(98, '_'), dbl(98, '=');
  out << "Model: \"" << name() << "\"\n" << rule << "\n";
  out << " " << pad("Layer (type)", kName) << pad("Output Shape", kShape) << pad("Param #", kParams)
      << "Connected to\n"
      << dbl << "\n";
  int64_t total = 0;
  for (const Node& n : nodes_) {
    const int64_t params = n.layer && built() ? n.layer->param_count() : 0;
    total += params;
    // Output shapes: (…) for one, [(…), (…)] for several (and for inputs, as Keras prints).
    std::vector<std::string> shapes;
    for (const Shape& s : n.shapes) shapes.push_back(keras_shape(s));
    if (!n.layer || shapes.size() > 1) {
      shapes.front() = "[" + shapes.front();
      for (std::size_t k = 0; k + 1 < shapes.size(); ++k) shapes[k] += ",";
      shapes.back() += "]";
      for (std::size_t k = 1; k < shapes.size(); ++k) shapes[k] = " " + shapes[k];
    }
    std::vector<std::string> conn = connections(n);
    if (conn.empty())
      conn.push_back("[]");
    else {
      conn.front() = "[" + conn.front();
      for (std::size_t k = 0; k + 1 < conn.size(); ++k) conn[k] += ",";
      conn.back() += "]";
      for (std::size_t k = 1; k < conn.size(); ++k) conn[k] = " " + conn[k];
    }
    // "name (Type)", wrapped at a space (or cut) where it is wider than its column.
    std::vector<std::string> type;
    std::string rest = n.name;
    rest += " (";
    rest += n.layer ? n.layer->class_name() : "InputLayer";
    rest += ")";
    while (rest.size() > kName) {
      std::size_t cut = rest.rfind(' ', kName);
      if (cut == std::string::npos || cut == 0) cut = kName;
      type.push_back(rest.substr(0, cut));
      rest = rest.substr(cut + (rest[cut] == ' ' ? 1 : 0));
    }
    type.push_back(rest);
    const std::size_t lines = std::max({type.size(), shapes.size(), conn.size()});
    for (std::size_t l = 0; l < lines; ++l) {
      std::string line(1, ' ');
      line += pad(l < type.size() ? type[l] : "", kName);
      line += pad(l < shapes.size() ? shapes[l] : "", kShape);
      line += pad(l == 0 ? with_commas(params) : "", kParams);
      if (l < conn.size()) line += conn[l];
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out << line << "\n";
    }
  }
  out << dbl << "\nTotal params: " << with_commas(total)
      << "\nTrainable params: " << with_commas(total) << "\nNon-trainable params: 0\n"
      << rule << "\n";
  return out.str();
}

nlohmann::json Functional::to_json() const {
  using nlohmann::json;
  json layers = json::array();
  for (const Node& n : nodes_) {
    if (!n.layer) {
      const bool ids = n.shapes[0].size() == 1;
      layers.push_back({{"class_name", "InputLayer"},
                        {"config",
                         {{"batch_input_shape", batch_shape_json(n.shapes[0])},
                          {"dtype", ids ? "int32" : "float32"},
                          {"sparse", false},
                          {"ragged", false},
                          {"name", n.name}}},
                        {"name", n.name},
                        {"inbound_nodes", json::array()}});
      continue;
    }
    // One inbound node: the main inputs, then (recurrent) the initial states — tf.keras 2's
    // form for RNN(x, initial_state=[...]).
    json node = json::array();
    for (const std::vector<NodeRef>* refs : {&n.inputs, &n.states})
      for (const NodeRef& r : *refs)
        node.push_back({nodes_[r.node].name, 0, r.index, json::object()});
    layers.push_back({{"class_name", n.layer->class_name()},
                      {"config", n.layer->config()},
                      {"name", n.name},
                      {"inbound_nodes", json::array({node})}});
  }
  json ins = json::array(), outs = json::array();
  for (const NodeRef& r : inputs_) ins.push_back({nodes_[r.node].name, 0, r.index});
  for (const NodeRef& r : outputs_refs_) outs.push_back({nodes_[r.node].name, 0, r.index});
  return {{"class_name", "Functional"},
          {"config",
           {{"name", name()}, {"layers", layers}, {"input_layers", ins}, {"output_layers", outs}}}};
}

}  // namespace recur
