// Keras functional model JSON -> a built Functional.
//
// Accepted shapes (DESIGN.md §3):
//   {"class_name": "Functional" | "Model", "config": {"name", "layers", "input_layers",
//    "output_layers"}}
//   layer: {"class_name", "config", "name", "inbound_nodes"}
//   Keras 2 inbound_nodes: [] or [[[layer, node, tensor, {kwargs}], ...]] (one node: the layer's
//     call arguments; for an RNN called with initial_state the states follow the input, as
//     tf.keras 2 writes them). kwargs may carry "initial_state" (refs), "training": false,
//     "mask": null.
//   Keras 3 inbound_nodes: [{"args": [tensor or [tensors...], (initial_state)], "kwargs":
//     {"initial_state": [tensors], "mask": null, "training": false}}], a tensor being
//     {"class_name": "__keras_tensor__", "config": {"keras_history": [layer, node, tensor]}}.
//   input_layers / output_layers: [[layer, node, tensor], ...] (or one [layer, node, tensor]).
// Layers are created in dependency order (depth-first from the file order), so the model's
// layer order is the file's order whenever that is already topological.
#include "io/keras_functional.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "io/keras_config.hpp"
#include "recur/error.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/model/functional.hpp"

namespace recur::io {

using nlohmann::json;

namespace {

struct TensorRef {
  std::string layer;
  int64_t node = 0;
  int64_t index = 0;
};

struct Entry {
  std::string class_name, name, where;
  const json* spec = nullptr;  // the layer's {"class_name", "config", ...}
  bool is_input = false;
  Shape input_shape;              // InputLayer
  bool called = false;            // has an inbound node
  std::vector<TensorRef> args;    // call inputs (Keras 2: states may follow for an RNN)
  std::vector<TensorRef> states;  // explicit initial_state
};

std::string ref_str(const TensorRef& r) {
  return "[\"" + r.layer + "\", " + std::to_string(r.node) + ", " + std::to_string(r.index) + "]";
}

// [name, node, tensor] or [name, node, tensor, {kwargs}] (Keras 2).
TensorRef parse_ref(const json& j, const std::string& where) {
  if (!j.is_array() || j.size() < 3 || j.size() > 4 || !j[0].is_string() ||
      !j[1].is_number_integer() || !j[2].is_number_integer())
    fail<ConfigError>(where, ": expected a tensor reference [\"layer\", node, tensor], got ",
                      j.dump());
  if (j[0].get<std::string>() == "_CONSTANT_VALUE")
    fail<ConfigError>(where, ": constant call arguments are not supported");
  return {j[0].get<std::string>(), j[1].get<int64_t>(), j[2].get<int64_t>()};
}

// Keras 3: {"class_name": "__keras_tensor__", "config": {"keras_history": [name, node, tensor]}}.
bool is_keras3_tensor(const json& j) {
  return j.is_object() && j.value("class_name", json()) == "__keras_tensor__";
}
TensorRef parse_keras3_tensor(const json& j, const std::string& where) {
  if (!is_keras3_tensor(j) || !j.contains("config") || !j["config"].is_object() ||
      !j["config"].contains("keras_history"))
    fail<ConfigError>(where,
                      ": expected a Keras tensor {\"class_name\": \"__keras_tensor__\", "
                      "\"config\": {\"keras_history\": [...]}}, got ",
                      j.dump());
  return parse_ref(j["config"]["keras_history"], where);
}
// A tensor or a list of tensors (Keras 3).
std::vector<TensorRef> parse_keras3_tensors(const json& j, const std::string& where) {
  std::vector<TensorRef> out;
  if (j.is_array()) {
    for (const json& t : j) out.push_back(parse_keras3_tensor(t, where));
  } else {
    out.push_back(parse_keras3_tensor(j, where));
  }
  return out;
}

// Call keyword arguments that do not change the computation are accepted; initial_state is
// returned through `states`.
void parse_kwargs(const json& kwargs, bool keras3, const std::string& where,
                  std::vector<TensorRef>& states) {
  if (kwargs.is_null()) return;
  if (!kwargs.is_object())
    fail<ConfigError>(where, ": call keyword arguments must be an object, got ", kwargs.dump());
  for (const auto& [key, value] : kwargs.items()) {
    if (key == "initial_state") {
      if (value.is_null()) continue;
      if (!states.empty()) continue;  // Keras 2 repeats the kwargs on every input tensor
      if (keras3) {
        states = parse_keras3_tensors(value, where + ": initial_state");
      } else {
        if (!value.is_array())
          fail<ConfigError>(where, ": initial_state must be a list of tensors, got ", value.dump());
        // [[name, node, tensor], ...] or a single [name, node, tensor]
        if (!value.empty() && value[0].is_string()) {
          states.push_back(parse_ref(value, where + ": initial_state"));
        } else {
          for (const json& r : value) states.push_back(parse_ref(r, where + ": initial_state"));
        }
      }
    } else if (key == "training") {
      if (!value.is_null() && value != false)
        fail<ConfigError>(where, ": call argument training=", value.dump(),
                          " is not supported (the training flag comes from fit/predict)");
    } else if (key == "mask") {
      if (!value.is_null())
        fail<ConfigError>(where,
                          ": an explicit call argument mask is not supported (masks "
                          "flow from Masking / Embedding(mask_zero) layers)");
    } else {
      fail<ConfigError>(where, ": unsupported call argument \"", key, "\" = ", value.dump());
    }
  }
}

void parse_inbound(const json& spec, Entry& e) {
  if (!spec.contains("inbound_nodes") || spec["inbound_nodes"].is_null()) return;
  const json& nodes = spec["inbound_nodes"];
  const std::string where = e.where + ": inbound_nodes";
  if (!nodes.is_array()) fail<ConfigError>(where, " must be a list, got ", nodes.dump());
  if (nodes.empty()) return;
  if (nodes.size() > 1)
    fail<ConfigError>(e.where, " is called ", nodes.size(),
                      " times (inbound_nodes has one entry per call); shared layers are not "
                      "supported: give each call its own layer");
  e.called = true;
  const json& node = nodes[0];
  if (node.is_object()) {  // Keras 3
    if (!node.contains("args") || !node["args"].is_array() || node["args"].empty())
      fail<ConfigError>(where, ": expected {\"args\": [...], \"kwargs\": {...}}, got ",
                        node.dump());
    const json& args = node["args"];
    e.args = parse_keras3_tensors(args[0], where);
    if (args.size() == 2 && !args[1].is_null()) {
      e.states = parse_keras3_tensors(args[1], where + ": initial_state");
    } else if (args.size() > 2) {
      fail<ConfigError>(where,
                        ": expected one positional call argument (two for an RNN with "
                        "initial_state), got ",
                        args.size());
    }
    std::vector<TensorRef> states;
    parse_kwargs(node.value("kwargs", json()), true, where, states);
    if (!states.empty()) {
      if (!e.states.empty())
        fail<ConfigError>(where, ": initial_state given twice (positionally and by keyword)");
      e.states = std::move(states);
    }
    return;
  }
  if (!node.is_array() || node.empty())  // Keras 2
    fail<ConfigError>(where, ": expected [[\"layer\", node, tensor, {}], ...], got ", node.dump());
  for (const json& r : node) {
    e.args.push_back(parse_ref(r, where));
    if (r.size() == 4) parse_kwargs(r[3], false, where, e.states);
  }
}

// [null, T|null, F] -> {T or -1, F};  [null, T|null] -> token ids {T or -1}.
Shape input_layer_shape(const json& cfg, const std::string& where) {
  static const std::set<std::string> known = {
      "batch_input_shape", "batch_shape", "dtype", "sparse", "ragged", "name", "optional"};
  for (const auto& [key, value] : cfg.items())
    if (!known.count(key))
      fail<ConfigError>(where, ": unsupported config key \"", key, "\" = ", value.dump());
  for (const char* key : {"sparse", "ragged", "optional"})
    if (cfg.contains(key) && !cfg[key].is_null() && cfg[key] != false)
      fail<ConfigError>(where, ": ", key, "=", cfg[key].dump(), " is not supported");
  const json* shape = nullptr;
  if (cfg.contains("batch_input_shape") && !cfg["batch_input_shape"].is_null())
    shape = &cfg["batch_input_shape"];
  else if (cfg.contains("batch_shape") && !cfg["batch_shape"].is_null())
    shape = &cfg["batch_shape"];
  else
    fail<ConfigError>(where, ": InputLayer needs \"batch_input_shape\" or \"batch_shape\"");
  const std::string dtype = cfg.contains("dtype") && cfg["dtype"].is_string()
                                ? cfg["dtype"].get<std::string>()
                                : "float32";
  const bool ints = dtype == "int32" || dtype == "int64";
  if (!ints && dtype != "float32" && dtype != "float64" && dtype != "float16")
    fail<ConfigError>(where, ": dtype \"", dtype,
                      "\" is not supported (float32, or int32 / "
                      "int64 token ids)");
  const json& s = *shape;
  if (!s.is_array() || s.size() < 2 || s.size() > 3)
    fail<ConfigError>(where, ": batch shape must be [null, T, F] or token ids [null, T], got ",
                      s.dump());
  if (ints && s.size() != 2)
    fail<ConfigError>(where, ": an integer input must be token ids [null, T], got shape ",
                      s.dump());
  Shape out;
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (s[i].is_null()) {
      if (i == 2)
        fail<ConfigError>(where, ": the feature axis of the input shape must be known, got ",
                          s.dump());
      out.push_back(-1);
    } else if (s[i].is_number_integer() && s[i].get<int64_t>() > 0) {
      out.push_back(s[i].get<int64_t>());
    } else {
      fail<ConfigError>(where, ": bad input shape ", s.dump());
    }
  }
  return out;
}

// input_layers / output_layers: [[name, node, tensor], ...] or a single [name, node, tensor].
std::vector<TensorRef> parse_endpoints(const json& cfg, const char* key, const std::string& where) {
  if (!cfg.contains(key) || !cfg[key].is_array() || cfg[key].empty())
    fail<ConfigError>(where, ": functional config has no \"", key, "\" list");
  const json& j = cfg[key];
  std::vector<TensorRef> out;
  if (j[0].is_string()) {
    out.push_back(parse_ref(j, where + ": " + key));
  } else {
    for (const json& r : j) out.push_back(parse_ref(r, where + ": " + key));
  }
  return out;
}

// Runs f; a recur error (other than an internal one) becomes a ConfigError prefixed by `where`.
template <typename F>
auto in_context(const std::string& where, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const InternalError&) {
    throw;
  } catch (const ConfigError&) {
    throw;  // already names the file
  } catch (const Error& e) {
    fail<ConfigError>(where, ": ", e.what());
  }
}

}  // namespace

std::unique_ptr<Model> functional_from_keras(const json& model, const std::string& where,
                                             const BeforeAllocate& before_allocate) {
  const json cls = model.is_object() ? model.value("class_name", json()) : json();
  if (cls != "Functional" && cls != "Model")
    fail<ConfigError>(where,
                      ": the model must be {\"class_name\": \"Sequential\" | "
                      "\"Functional\" | \"Model\", ...}, got class_name ",
                      cls.is_null() ? std::string("none") : cls.dump());
  if (!model.contains("config") || !model["config"].is_object())
    fail<ConfigError>(where, ": ", cls.get<std::string>(), " has no \"config\" object");
  const json& cfg = model["config"];
  if (!cfg.contains("layers") || !cfg["layers"].is_array())
    fail<ConfigError>(where, ": functional config has no \"layers\" list");
  const std::string name =
      cfg.contains("name") && cfg["name"].is_string() ? cfg["name"].get<std::string>() : "model";

  // 1. Entries by name, with their inbound tensors.
  std::vector<Entry> entries;
  std::map<std::string, std::size_t> by_name;
  for (std::size_t i = 0; i < cfg["layers"].size(); ++i) {
    const json& l = cfg["layers"][i];
    Entry e;
    e.where = where + ": layer " + std::to_string(i);
    if (!l.is_object() || !l.contains("class_name") || !l["class_name"].is_string())
      fail<ConfigError>(e.where,
                        ": a layer must be {\"class_name\": ..., \"config\": {...}, "
                        "\"inbound_nodes\": [...]}");
    e.class_name = l["class_name"].get<std::string>();
    const json lcfg = l.value("config", json::object());
    const std::string cfg_name =
        lcfg.is_object() && lcfg.contains("name") && lcfg["name"].is_string()
            ? lcfg["name"].get<std::string>()
            : "";
    e.name = l.contains("name") && l["name"].is_string() ? l["name"].get<std::string>() : cfg_name;
    if (e.name.empty()) fail<ConfigError>(e.where, ": ", e.class_name, " has no \"name\"");
    if (!cfg_name.empty() && cfg_name != e.name)
      fail<ConfigError>(e.where, ": layer name \"", e.name, "\" differs from its config name \"",
                        cfg_name, "\"");
    e.where += " (" + e.class_name + " '" + e.name + "')";
    e.spec = &l;
    if (by_name.count(e.name)) fail<ConfigError>(e.where, ": duplicate layer name '", e.name, "'");
    e.is_input = e.class_name == "InputLayer";
    if (e.is_input) {
      if (!lcfg.is_object()) fail<ConfigError>(e.where, ": \"config\" must be an object");
      e.input_shape = input_layer_shape(lcfg, e.where);
    } else {
      parse_inbound(l, e);
      if (!e.called)
        fail<ConfigError>(e.where, ": has no inbound nodes (is not called on any tensor)");
    }
    by_name[e.name] = entries.size();
    entries.push_back(std::move(e));
  }

  // 2. Create the nodes depth-first so that every producer exists before its consumers.
  auto g = std::make_unique<Functional>(name);
  std::vector<int> state(entries.size(), 0);  // 0 new, 1 in progress, 2 done
  std::vector<std::vector<NodeRef>> made(entries.size());
  std::vector<std::size_t> path;
  std::vector<Layer*> called;  // in call order, the order of g->layers()
  auto resolve = [&](const TensorRef& r, const Entry& consumer) -> NodeRef {
    const std::size_t k = by_name.at(r.layer);
    if (r.node != 0)
      fail<ConfigError>(consumer.where, ": inbound tensor ", ref_str(r), " is from call ", r.node,
                        " of '", r.layer,
                        "'; shared layers (called more than once) "
                        "are not supported");
    if (r.index < 0 || static_cast<std::size_t>(r.index) >= made[k].size())
      fail<ConfigError>(consumer.where, ": inbound tensor ", ref_str(r), " does not exist: '",
                        r.layer, "' has ", made[k].size(), " output(s)");
    return made[k][static_cast<std::size_t>(r.index)];
  };
  std::function<void(std::size_t)> visit = [&](std::size_t i) {
    if (state[i] == 2) return;
    Entry& e = entries[i];
    if (state[i] == 1) {
      // path holds consumers before their producers; print the cycle in data-flow order.
      std::string cycle = "'" + e.name + "'";
      const auto first = std::find(path.begin(), path.end(), i);
      for (auto it = path.end(); it != first + 1;) cycle += " -> '" + entries[*--it].name + "'";
      fail<ConfigError>(where, ": the layers form a cycle: ", cycle, " -> '", e.name, "'");
    }
    state[i] = 1;
    path.push_back(i);
    for (const std::vector<TensorRef>* refs : {&e.args, &e.states})
      for (const TensorRef& r : *refs) {
        if (!by_name.count(r.layer))
          fail<ConfigError>(e.where, ": inbound layer '", r.layer, "' is not in the model");
        visit(by_name.at(r.layer));
      }
    if (e.is_input) {
      made[i].push_back(in_context(e.where, [&] { return g->input(e.name, e.input_shape); }));
    } else {
      std::vector<NodeRef> args, states;
      for (const TensorRef& r : e.args) args.push_back(resolve(r, e));
      for (const TensorRef& r : e.states) states.push_back(resolve(r, e));
      std::unique_ptr<Layer> layer = layer_from_keras(*e.spec, e.where);
      // Keras 2 writes RNN(x, initial_state=[h, c]) as one node with inputs [x, h, c].
      if (states.empty() && args.size() > 1 && dynamic_cast<Recurrent*>(layer.get())) {
        states.assign(args.begin() + 1, args.end());
        args.resize(1);
      }
      Layer* raw = layer.get();
      made[i] = in_context(e.where, [&] { return g->call(std::move(layer), args, states); });
      called.push_back(raw);
    }
    path.pop_back();
    state[i] = 2;
  };
  for (std::size_t i = 0; i < entries.size(); ++i) visit(i);

  // 3. Inputs and outputs.
  auto endpoints = [&](const char* key) {
    std::vector<NodeRef> out;
    for (const TensorRef& r : parse_endpoints(cfg, key, where)) {
      if (!by_name.count(r.layer))
        fail<ConfigError>(where, ": ", key, " names layer '", r.layer,
                          "', which is not in the model");
      Entry consumer;
      consumer.where = where + ": " + key;
      out.push_back(resolve(r, consumer));
    }
    return out;
  };
  const std::vector<NodeRef> inputs = endpoints("input_layers");
  const std::vector<NodeRef> outputs = endpoints("output_layers");
  for (const NodeRef& r : inputs)
    if (!entries[by_name.at(g->producer(r))].is_input)
      fail<ConfigError>(where, ": input_layers names '", g->producer(r),
                        "', which is not an InputLayer");
  // The layers are built (g->call builds each); g->build allocates the parameters.
  if (before_allocate) before_allocate(called);
  in_context(where, [&] { g->build(inputs, outputs, 0); });
  // Parameters start at zero: the caller fills them from the file.
  for (float& w : g->weights()) w = 0.0f;
  return g;
}

}  // namespace recur::io
