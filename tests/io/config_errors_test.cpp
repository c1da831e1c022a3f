// Architecture JSON that recur rejects: every Sequential / layer-config error and every
// functional-loader structure error of docs/ERRORS.md ("Architecture JSON" and "Functional
// graphs"), one table row per message. Each row starts from a small valid model, changes one
// thing and expects the loader to throw a recur::Error whose message holds the row's fragment.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "io/keras_config.hpp"
#include "io/keras_functional.hpp"
#include "recur/error.hpp"

namespace {

using nlohmann::json;

// A row: a name for the failure report, an edit of the valid model, the expected fragment.
struct Case {
  const char* name;
  std::function<void(json&)> edit;
  std::string fragment;
};

// The message of the recur::Error that `load` throws ("" and a test failure when it does not).
template <typename Load>
std::string message_of(const Load& load, const char* name) {
  try {
    load();
  } catch (const recur::InternalError& e) {
    ADD_FAILURE() << name << ": internal error instead of a user error: " << e.what();
    return e.what();
  } catch (const recur::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << name << ": no error";
  return "";
}

// Sequential: LSTM 'l' (4 units) on [null, 5, 3] sequences, then Dense 'd' (1 unit).
json sequential_base() {
  return json::parse(R"({"class_name": "Sequential", "config": {"name": "m", "layers": [
      {"class_name": "LSTM", "config": {"name": "l", "units": 4, "batch_input_shape": [null, 5, 3]}},
      {"class_name": "Dense", "config": {"name": "d", "units": 1}}]}})");
}
json& seq_layer(json& j, std::size_t i) { return j["config"]["layers"][i]; }
json& seq_cfg(json& j, std::size_t i) { return j["config"]["layers"][i]["config"]; }

void run_sequential_cases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    json j = sequential_base();
    c.edit(j);
    const std::string msg =
        message_of([&] { recur::io::sequential_from_keras(j, "m.safetensors"); }, c.name);
    EXPECT_NE(msg.find(c.fragment), std::string::npos)
        << c.name << "\nmessage: " << msg << "\nexpected to contain: " << c.fragment;
  }
}

TEST(SequentialConfigErrors, ModelStructure) {
  run_sequential_cases({
      {"class X", [](json& j) { j["class_name"] = "X"; },
       "m.safetensors: the model must be {\"class_name\": \"Sequential\", ...}, got class_name "
       "\"X\""},
      {"no config", [](json& j) { j.erase("config"); },
       "m.safetensors: Sequential has no \"config\" object"},
      {"no layers", [](json& j) { j["config"].erase("layers"); },
       "m.safetensors: Sequential config has no \"layers\" array"},
      {"layer not an object", [](json& j) { seq_layer(j, 1) = 3; },
       "m.safetensors: layer 1: a layer must be {\"class_name\": ..., \"config\": {...}}"},
      {"layer without name", [](json& j) { seq_cfg(j, 1).erase("name"); },
       "m.safetensors: layer 1: Dense has no \"name\" in its config"},
      {"unknown class", [](json& j) { seq_layer(j, 1)["class_name"] = "QRNN"; },
       "layer 1: unknown layer class 'QRNN' (supported: InputLayer, SimpleRNN, LSTM, GRU, "
       "Bidirectional, Dense, Embedding, Masking, Dropout, Concatenate, Add)"},
      {"duplicate name", [](json& j) { seq_cfg(j, 1)["name"] = "l"; },
       "Sequential 'm': duplicate layer name 'l'"},
      {"no input shape", [](json& j) { seq_cfg(j, 0).erase("batch_input_shape"); },
       "no input shape: the first layer (or an InputLayer) needs \"batch_input_shape\" or "
       "\"batch_shape\""},
      {"InputLayer without shape",
       [](json& j) {
         j["config"]["layers"].insert(j["config"]["layers"].begin(),
                                      json::parse(R"({"class_name": "InputLayer",
                                                      "config": {"name": "in"}})"));
       },
       "layer 0: InputLayer without batch_input_shape/batch_shape"},
      {"rank 1 input shape", [](json& j) { seq_cfg(j, 0)["batch_input_shape"] = {nullptr}; },
       "batch input shape must be [null, T, F] or [null, T], got [null]"},
      {"unknown feature axis",
       [](json& j) { seq_cfg(j, 0)["batch_input_shape"] = json::parse("[null, 5, null]"); },
       "the feature axis of the input shape must be known, got [null,5,null]"},
      {"zero steps", [](json& j) { seq_cfg(j, 0)["batch_input_shape"] = {nullptr, 0, 3}; },
       "bad input shape [null,0,3]"},
      {"batch_shape bad too", [](json& j) {
         seq_cfg(j, 0).erase("batch_input_shape");
         seq_cfg(j, 0)["batch_shape"] = json::parse(R"([null, "x", 3])");
       },
       "bad input shape [null,\"x\",3]"},
      {"return_state in Sequential", [](json& j) { seq_cfg(j, 0)["return_state"] = true; },
       "LSTM 'l': return_state=true gives several outputs, which a Sequential model cannot pass "
       "on; use the layer API (final_states()) instead"},
  });
}

TEST(SequentialConfigErrors, ConfigKeysAndTypes) {
  run_sequential_cases({
      {"missing units", [](json& j) { seq_cfg(j, 0).erase("units"); },
       "m.safetensors: layer 0: LSTM 'l': missing required key \"units\""},
      {"unknown key", [](json& j) { seq_cfg(j, 0)["peepholes"] = 1; },
       "LSTM 'l': unsupported config key \"peepholes\" = 1"},
      {"time_major", [](json& j) { seq_cfg(j, 0)["time_major"] = true; },
       "LSTM 'l': time_major=true is not supported"},
      {"noise_shape", [](json& j) { seq_layer(j, 1) = json::parse(
           R"({"class_name": "Dropout", "config": {"name": "d", "rate": 0.1, "noise_shape": [1]}})"); },
       "Dropout 'd': noise_shape=[1] is not supported"},
      {"non-null regularizer", [](json& j) { seq_cfg(j, 1)["kernel_regularizer"] = "l2"; },
       "Dense 'd': unsupported config key \"kernel_regularizer\" = \"l2\""},
      {"units 1.5", [](json& j) { seq_cfg(j, 0)["units"] = 1.5; },
       "LSTM 'l': \"units\" must be an integer, got 1.5"},
      {"use_bias string", [](json& j) { seq_cfg(j, 1)["use_bias"] = "yes"; },
       "Dense 'd': \"use_bias\" must be a boolean, got \"yes\""},
      {"dropout string", [](json& j) { seq_cfg(j, 0)["dropout"] = "x"; },
       "LSTM 'l': \"dropout\" must be a number, got \"x\""},
      {"activation number", [](json& j) { seq_cfg(j, 1)["activation"] = 3; },
       "Dense 'd': \"activation\" must be an activation name, got 3"},
      {"unknown activation", [](json& j) { seq_cfg(j, 1)["activation"] = "swishy"; },
       "unknown activation 'swishy' (supported: linear, tanh, sigmoid"},
      {"initializer number", [](json& j) { seq_cfg(j, 1)["kernel_initializer"] = 3; },
       "Dense 'd' kernel_initializer: initializer must be a name or {\"class_name\", "
       "\"config\"}, got 3"},
      {"initializer parameter",
       [](json& j) {
         seq_cfg(j, 1)["kernel_initializer"] =
             json::parse(R"({"class_name": "RandomUniform", "config": {"minval": "a"}})");
       },
       "Dense 'd' kernel_initializer: initializer minval must be a number"},
      {"unknown initializer", [](json& j) { seq_cfg(j, 0)["recurrent_initializer"] = "he_normal"; },
       "unsupported initializer 'he_normal' (supported: zeros, ones, glorot_uniform, "
       "glorot_normal, orthogonal, random_uniform, random_normal)"},
  });
}

TEST(SequentialConfigErrors, LayerOptions) {
  run_sequential_cases({
      {"LSTM units 0", [](json& j) { seq_cfg(j, 0)["units"] = 0; },
       "LSTM 'l': units must be positive, got 0"},
      {"dropout 1", [](json& j) { seq_cfg(j, 0)["dropout"] = 1; },
       "LSTM 'l': dropout must be in [0, 1), got 1"},
      {"recurrent_dropout 1", [](json& j) { seq_cfg(j, 0)["recurrent_dropout"] = 1; },
       "LSTM 'l': recurrent_dropout must be in [0, 1), got 1"},
      {"softmax cell", [](json& j) { seq_cfg(j, 0)["recurrent_activation"] = "softmax"; },
       "LSTM 'l': softmax is not supported inside a recurrent cell"},
      {"Dense units 0", [](json& j) { seq_cfg(j, 1)["units"] = 0; },
       "Dense 'd': units must be positive, got 0"},
      {"Embedding input_dim 0",
       [](json& j) {
         seq_layer(j, 0) = json::parse(R"({"class_name": "Embedding", "config": {"name": "e",
             "input_dim": 0, "output_dim": 8, "batch_input_shape": [null, 5]}})");
       },
       "Embedding 'e': input_dim and output_dim must be positive, got 0 and 8"},
      {"Dropout rate 1.5",
       [](json& j) {
         seq_layer(j, 1) = json::parse(
             R"({"class_name": "Dropout", "config": {"name": "drop", "rate": 1.5}})");
       },
       "Dropout 'drop': rate must be in [0, 1), got 1.5"},
  });
}

// Bidirectional 'bi' around an LSTM 'fw', replacing layer 0.
json bidirectional(const std::string& merge_mode, const json& inner) {
  json b = json::parse(R"({"class_name": "Bidirectional", "config": {"name": "bi",
                           "batch_input_shape": [null, 5, 3]}})");
  if (!merge_mode.empty()) b["config"]["merge_mode"] = merge_mode;
  if (!inner.is_null()) b["config"]["layer"] = inner;
  return b;
}
const char* kInnerLstm = R"({"class_name": "LSTM", "config": {"name": "fw", "units": 4}})";

TEST(SequentialConfigErrors, Bidirectional) {
  run_sequential_cases({
      {"no layer", [](json& j) { seq_layer(j, 0) = bidirectional("", nullptr); },
       "Bidirectional 'bi': missing \"layer\""},
      {"wraps Dense",
       [](json& j) {
         seq_layer(j, 0) = bidirectional(
             "", json::parse(R"({"class_name": "Dense", "config": {"name": "x", "units": 2}})"));
       },
       "Bidirectional 'bi': wrapped layer must be LSTM, GRU or SimpleRNN, got 'Dense'"},
      {"merge_mode x", [](json& j) { seq_layer(j, 0) = bidirectional("x", json::parse(kInnerLstm)); },
       "Bidirectional 'bi': unsupported merge_mode 'x' (supported: concat, sum, mul, ave)"},
      {"merge_mode number",
       [](json& j) {
         seq_layer(j, 0) = bidirectional("", json::parse(kInnerLstm));
         seq_cfg(j, 0)["merge_mode"] = 3;
       },
       "Bidirectional 'bi': \"merge_mode\" must be a string, got 3"},
      {"inner return_state",
       [](json& j) {
         json inner = json::parse(kInnerLstm);
         inner["config"]["return_state"] = true;
         seq_layer(j, 0) = bidirectional("", inner);
       },
       "Bidirectional 'bi': return_state on the wrapped layer is not supported in Bidirectional"},
      {"inner config not an object",
       [](json& j) {
         seq_layer(j, 0) = bidirectional("", json::parse(R"({"class_name": "GRU", "config": 3})"));
       },
       "Bidirectional 'bi': GRU 'Bidirectional': \"config\" must be an object"},
      {"inner unknown key",
       [](json& j) {
         json inner = json::parse(kInnerLstm);
         inner["config"]["foo"] = true;
         seq_layer(j, 0) = bidirectional("", inner);
       },
       "Bidirectional 'bi': LSTM 'fw': unsupported config key \"foo\" = true"},
      {"backward_layer",
       [](json& j) {
         seq_layer(j, 0) = bidirectional("", json::parse(kInnerLstm));
         seq_cfg(j, 0)["backward_layer"] = json::parse(kInnerLstm);
       },
       "Bidirectional 'bi': backward_layer="},
  });
}

// ---- Functional -------------------------------------------------------------------------------

// Keras 2 functional model: InputLayer 'in' [null, 5, 2] -> LSTM 'l' (3 units) -> Dense 'out'.
json functional_base() {
  return json::parse(R"({"class_name": "Functional", "config": {"name": "f",
    "layers": [
      {"class_name": "InputLayer", "name": "in",
       "config": {"name": "in", "batch_input_shape": [null, 5, 2], "dtype": "float32"},
       "inbound_nodes": []},
      {"class_name": "LSTM", "name": "l", "config": {"name": "l", "units": 3},
       "inbound_nodes": [[["in", 0, 0, {}]]]},
      {"class_name": "Dense", "name": "out", "config": {"name": "out", "units": 1},
       "inbound_nodes": [[["l", 0, 0, {}]]]}],
    "input_layers": [["in", 0, 0]], "output_layers": [["out", 0, 0]]}})");
}
json& fn_layer(json& j, std::size_t i) { return j["config"]["layers"][i]; }
json& fn_input_cfg(json& j) { return j["config"]["layers"][0]["config"]; }
// Keras 3 form of a tensor reference.
json k3(const char* layer) {
  return {{"class_name", "__keras_tensor__"},
          {"config", {{"shape", nullptr}, {"keras_history", {layer, 0, 0}}}}};
}

void run_functional_cases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    json j = functional_base();
    c.edit(j);
    const std::string msg =
        message_of([&] { recur::io::functional_from_keras(j, "f.safetensors"); }, c.name);
    EXPECT_NE(msg.find(c.fragment), std::string::npos)
        << c.name << "\nmessage: " << msg << "\nexpected to contain: " << c.fragment;
  }
}

TEST(FunctionalConfigErrors, BaseModelLoads) {
  // The rows below are one change away from this model, which loads.
  EXPECT_NO_THROW(recur::io::functional_from_keras(functional_base(), "f.safetensors"));
  EXPECT_NO_THROW(recur::io::sequential_from_keras(sequential_base(), "m.safetensors"));
}

TEST(FunctionalConfigErrors, ModelAndLayerEntries) {
  run_functional_cases({
      {"class X", [](json& j) { j["class_name"] = "X"; },
       "f.safetensors: the model must be {\"class_name\": \"Sequential\" | \"Functional\" | "
       "\"Model\", ...}, got class_name \"X\""},
      {"no class", [](json& j) { j.erase("class_name"); }, "got class_name none"},
      {"no config", [](json& j) { j.erase("config"); },
       "f.safetensors: Functional has no \"config\" object"},
      {"Model without config", [](json& j) { j = {{"class_name", "Model"}}; },
       "f.safetensors: Model has no \"config\" object"},
      {"layer not an object", [](json& j) { fn_layer(j, 2) = 3; },
       "f.safetensors: layer 2: a layer must be {\"class_name\": ..., \"config\": {...}, "
       "\"inbound_nodes\": [...]}"},
      {"no name",
       [](json& j) {
         fn_layer(j, 2).erase("name");
         fn_layer(j, 2)["config"].erase("name");
       },
       "f.safetensors: layer 2: Dense has no \"name\""},
      {"names differ", [](json& j) { fn_layer(j, 2)["config"]["name"] = "b"; },
       "layer 2: layer name \"out\" differs from its config name \"b\""},
      {"InputLayer config not an object", [](json& j) { fn_layer(j, 0)["config"] = 3; },
       "layer 0 (InputLayer 'in'): \"config\" must be an object"},
      {"Dense config not an object",
       [](json& j) { fn_layer(j, 2)["config"] = json::array(); },
       "layer 2 (Dense 'out'): \"config\" of Dense must be an object, got array"},
      {"never called", [](json& j) { fn_layer(j, 2)["inbound_nodes"] = json::array(); },
       "layer 2 (Dense 'out'): has no inbound nodes (is not called on any tensor)"},
  });
}

TEST(FunctionalConfigErrors, InboundNodes) {
  run_functional_cases({
      {"not a list", [](json& j) { fn_layer(j, 2)["inbound_nodes"] = 3; },
       "layer 2 (Dense 'out'): inbound_nodes must be a list, got 3"},
      {"keras3 node without args",
       [](json& j) { fn_layer(j, 2)["inbound_nodes"] = json::parse(R"([{"kwargs": {}}])"); },
       "inbound_nodes: expected {\"args\": [...], \"kwargs\": {...}}, got {\"kwargs\":{}}"},
      {"keras2 node not a list", [](json& j) { fn_layer(j, 2)["inbound_nodes"] = {3}; },
       "inbound_nodes: expected [[\"layer\", node, tensor, {}], ...], got 3"},
      {"short reference",
       [](json& j) { fn_layer(j, 2)["inbound_nodes"] = json::parse(R"([[["l", 0]]])"); },
       "inbound_nodes: expected a tensor reference [\"layer\", node, tensor], got [\"l\",0]"},
      {"keras3 arg not a tensor",
       [](json& j) { fn_layer(j, 2)["inbound_nodes"] = json::parse(R"([{"args": [3]}])"); },
       "inbound_nodes: expected a Keras tensor {\"class_name\": \"__keras_tensor__\", "
       "\"config\": {\"keras_history\": [...]}}, got 3"},
      {"constant argument",
       [](json& j) {
         fn_layer(j, 2)["inbound_nodes"] = json::parse(R"([[["_CONSTANT_VALUE", -1, 0]]])");
       },
       "inbound_nodes: constant call arguments are not supported"},
      {"kwargs not an object",
       [](json& j) { fn_layer(j, 2)["inbound_nodes"] = json::parse(R"([[["l", 0, 0, 3]]])"); },
       "inbound_nodes: call keyword arguments must be an object, got 3"},
      {"explicit mask",
       [](json& j) {
         fn_layer(j, 2)["inbound_nodes"] =
             json::parse(R"([[["l", 0, 0, {"mask": ["in", 0, 0]}]]])");
       },
       "inbound_nodes: an explicit call argument mask is not supported (masks flow from "
       "Masking / Embedding(mask_zero) layers)"},
      {"unknown kwarg",
       [](json& j) { fn_layer(j, 2)["inbound_nodes"] = json::parse(R"([[["l", 0, 0, {"foo": 1}]]])"); },
       "inbound_nodes: unsupported call argument \"foo\" = 1"},
      {"training=true",
       [](json& j) {
         fn_layer(j, 2)["inbound_nodes"] = json::parse(R"([[["l", 0, 0, {"training": true}]]])");
       },
       "call argument training=true is not supported (the training flag comes from fit/predict)"},
      {"keras2 initial_state not a list",
       [](json& j) {
         fn_layer(j, 1)["inbound_nodes"] =
             json::parse(R"([[["in", 0, 0, {"initial_state": 3}]]])");
       },
       "layer 1 (LSTM 'l'): inbound_nodes: initial_state must be a list of tensors, got 3"},
      {"keras3 three positional arguments",
       [](json& j) {
         fn_layer(j, 1)["inbound_nodes"] = {{{"args", {k3("in"), json::array(), 1}}}};
       },
       "inbound_nodes: expected one positional call argument (two for an RNN with "
       "initial_state), got 3"},
      {"keras3 initial_state twice",
       [](json& j) {
         fn_layer(j, 1)["inbound_nodes"] = {
             {{"args", {k3("in"), json::array({k3("in")})}},
              {"kwargs", {{"initial_state", json::array({k3("in")})}}}}};
       },
       "inbound_nodes: initial_state given twice (positionally and by keyword)"},
      {"unknown inbound layer",
       [](json& j) { fn_layer(j, 2)["inbound_nodes"] = json::parse(R"([[["nope", 0, 0, {}]]])"); },
       "layer 2 (Dense 'out'): inbound layer 'nope' is not in the model"},
  });
}

TEST(FunctionalConfigErrors, InputLayers) {
  run_functional_cases({
      {"no shape", [](json& j) { fn_input_cfg(j).erase("batch_input_shape"); },
       "layer 0 (InputLayer 'in'): InputLayer needs \"batch_input_shape\" or \"batch_shape\""},
      {"dtype string", [](json& j) { fn_input_cfg(j)["dtype"] = "string"; },
       "layer 0 (InputLayer 'in'): dtype \"string\" is not supported (float32, or int32 / int64 "
       "token ids)"},
      {"rank 1 shape", [](json& j) { fn_input_cfg(j)["batch_input_shape"] = {nullptr}; },
       "batch shape must be [null, T, F] or token ids [null, T], got [null]"},
      {"int input with features", [](json& j) { fn_input_cfg(j)["dtype"] = "int32"; },
       "an integer input must be token ids [null, T], got shape [null,5,2]"},
      {"unknown feature axis",
       [](json& j) { fn_input_cfg(j)["batch_input_shape"] = json::parse("[null, 5, null]"); },
       "the feature axis of the input shape must be known, got [null,5,null]"},
      {"negative steps",
       [](json& j) {
         fn_input_cfg(j).erase("batch_input_shape");
         fn_input_cfg(j)["batch_shape"] = {nullptr, -2, 2};
       },
       "layer 0 (InputLayer 'in'): bad input shape [null,-2,2]"},
      {"unknown key", [](json& j) { fn_input_cfg(j)["foo"] = 1; },
       "layer 0 (InputLayer 'in'): unsupported config key \"foo\" = 1"},
      {"sparse", [](json& j) { fn_input_cfg(j)["sparse"] = true; },
       "layer 0 (InputLayer 'in'): sparse=true is not supported"},
      {"ragged", [](json& j) { fn_input_cfg(j)["ragged"] = true; }, "ragged=true is not supported"},
  });
}

TEST(FunctionalConfigErrors, EndpointsAndMerges) {
  run_functional_cases({
      {"no layers list", [](json& j) { j["config"].erase("layers"); },
       "f.safetensors: functional config has no \"layers\" list"},
      {"no input_layers", [](json& j) { j["config"]["input_layers"] = json::array(); },
       "f.safetensors: functional config has no \"input_layers\" list"},
      {"input_layers names a Dense",
       [](json& j) { j["config"]["input_layers"] = json::parse(R"([["out", 0, 0]])"); },
       "input_layers names 'out', which is not an InputLayer"},
      {"output_layers malformed",
       [](json& j) { j["config"]["output_layers"] = json::parse(R"([["out", 0]])"); },
       "output_layers: expected a tensor reference [\"layer\", node, tensor], got [\"out\",0]"},
      {"time steps differ",
       [](json& j) {
         json& layers = j["config"]["layers"];
         layers.push_back(json::parse(R"({"class_name": "InputLayer", "name": "in2",
             "config": {"name": "in2", "batch_input_shape": [null, 6, 2]}, "inbound_nodes": []})"));
         layers.push_back(json::parse(R"({"class_name": "Concatenate", "name": "cat",
             "config": {"name": "cat", "axis": -1},
             "inbound_nodes": [[["in", 0, 0, {}], ["in2", 0, 0, {}]]]})"));
         j["config"]["input_layers"] = json::parse(R"([["in", 0, 0], ["in2", 0, 0]])");
         j["config"]["output_layers"] = json::parse(R"([["out", 0, 0], ["cat", 0, 0]])");
       },
       "Concatenate 'cat': inputs have different numbers of time steps: "},
  });
}

}  // namespace
