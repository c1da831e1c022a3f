// Keras config JSON -> recur layers and models (the reverse direction is Layer::config()).
#include "io/keras_config.hpp"

#include <optional>
#include <set>

#include "recur/error.hpp"
#include "recur/layers/bidirectional.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/dropout.hpp"
#include "recur/layers/embedding.hpp"
#include "recur/layers/masking.hpp"
#include "recur/layers/merge.hpp"
#include "recur/layers/recurrent.hpp"

namespace recur::io {

using nlohmann::json;

namespace {

// Reads a layer's config keys, remembering which were used; finish() rejects the rest unless
// they are harmless.
class ConfigReader {
 public:
  ConfigReader(const json& cfg, std::string where) : cfg_(cfg), where_(std::move(where)) {
    if (!cfg.is_object()) fail<ConfigError>(where_, ": \"config\" must be an object");
  }
  const std::string& where() const { return where_; }

  bool has(const char* key) {
    used_.insert(key);
    return cfg_.contains(key) && !cfg_[key].is_null();
  }
  const json& raw(const char* key) {
    used_.insert(key);
    return cfg_.at(key);
  }
  bool boolean(const char* key, bool dflt) {
    if (!has(key)) return dflt;
    if (!cfg_[key].is_boolean()) bad(key, "a boolean");
    return cfg_[key].get<bool>();
  }
  int64_t integer(const char* key, int64_t dflt, bool required = false) {
    if (!has(key)) {
      if (required) fail<ConfigError>(where_, ": missing required key \"", key, "\"");
      return dflt;
    }
    if (!cfg_[key].is_number_integer()) bad(key, "an integer");
    return cfg_[key].get<int64_t>();
  }
  float number(const char* key, float dflt) {
    if (!has(key)) return dflt;
    if (!cfg_[key].is_number()) bad(key, "a number");
    return cfg_[key].get<float>();
  }
  std::string string(const char* key, const std::string& dflt) {
    if (!has(key)) return dflt;
    if (!cfg_[key].is_string()) bad(key, "a string");
    return cfg_[key].get<std::string>();
  }
  Activation activation(const char* key, Activation dflt) {
    if (!has(key)) return dflt;
    if (!cfg_[key].is_string()) bad(key, "an activation name");
    return parse_activation(cfg_[key].get<std::string>(), where_ + " " + key);
  }
  Initializer initializer(const char* key, Initializer dflt) {
    if (!has(key)) return dflt;
    return Initializer::from_json(cfg_[key], where_ + " " + key);
  }
  // Keys that must be absent, null or equal to a harmless value.
  void require_default(const char* key, const json& harmless) {
    if (has(key) && cfg_[key] != harmless)
      fail<ConfigError>(where_, ": ", key, "=", cfg_[key].dump(), " is not supported");
  }
  void finish() {
    static const std::set<std::string> harmless = {
        "name", "trainable", "dtype", "batch_input_shape", "batch_shape", "input_shape",
        "unroll", "implementation", "seed", "use_cudnn", "input_length", "sparse", "ragged",
        "autocast", "build_config"};
    for (const auto& [key, value] : cfg_.items()) {
      if (used_.count(key) || harmless.count(key)) continue;
      const bool null_regularizer = (key.find("regularizer") != std::string::npos ||
                                     key.find("constraint") != std::string::npos) &&
                                    value.is_null();
      if (null_regularizer) continue;
      fail<ConfigError>(where_, ": unsupported config key \"", key, "\" = ", value.dump());
    }
  }

 private:
  [[noreturn]] void bad(const char* key, const char* what) {
    fail<ConfigError>(where_, ": \"", key, "\" must be ", what, ", got ", cfg_[key].dump());
  }
  const json& cfg_;
  std::string where_;
  std::set<std::string> used_;
};

RecurrentOptions recurrent_options(ConfigReader& r, CellKind kind) {
  RecurrentOptions o;
  o.units = r.integer("units", 0, true);
  o.activation = r.activation("activation", Activation::tanh);
  if (kind != CellKind::simple)
    o.recurrent_activation = r.activation("recurrent_activation", Activation::sigmoid);
  o.use_bias = r.boolean("use_bias", true);
  o.return_sequences = r.boolean("return_sequences", false);
  o.return_state = r.boolean("return_state", false);
  o.go_backwards = r.boolean("go_backwards", false);
  o.stateful = r.boolean("stateful", false);
  o.dropout = r.number("dropout", 0.0f);
  o.recurrent_dropout = r.number("recurrent_dropout", 0.0f);
  if (kind == CellKind::lstm) o.unit_forget_bias = r.boolean("unit_forget_bias", true);
  if (kind == CellKind::gru) o.reset_after = r.boolean("reset_after", true);
  o.kernel_initializer = r.initializer("kernel_initializer", Initializer::glorot_uniform());
  o.recurrent_initializer = r.initializer("recurrent_initializer", Initializer::orthogonal());
  o.bias_initializer = r.initializer("bias_initializer", Initializer::zeros());
  r.require_default("time_major", false);
  r.require_default("zero_output_for_mask", false);
  return o;
}

std::string layer_name(const json& cfg, const std::string& dflt) {
  if (cfg.is_object() && cfg.contains("name") && cfg["name"].is_string())
    return cfg["name"].get<std::string>();
  return dflt;
}

}  // namespace

std::unique_ptr<Layer> layer_from_keras(const json& layer, const std::string& where) {
  if (!layer.is_object() || !layer.contains("class_name") || !layer["class_name"].is_string())
    fail<ConfigError>(where, ": a layer must be {\"class_name\": ..., \"config\": {...}}");
  const std::string cls = layer["class_name"].get<std::string>();
  const json cfg = layer.contains("config") ? layer["config"] : json::object();
  if (!cfg.is_object())
    fail<ConfigError>(where, ": \"config\" of ", cls, " must be an object, got ", cfg.type_name());
  const std::string name = layer_name(cfg, "");
  if (name.empty()) fail<ConfigError>(where, ": ", cls, " has no \"name\" in its config");
  ConfigReader r(cfg, where + ": " + cls + " '" + name + "'");
  std::unique_ptr<Layer> out;
  if (cls == "LSTM" || cls == "GRU" || cls == "SimpleRNN") {
    const CellKind kind = cls == "LSTM" ? CellKind::lstm : cls == "GRU" ? CellKind::gru
                                                                        : CellKind::simple;
    out = std::make_unique<Recurrent>(kind, name, recurrent_options(r, kind));
  } else if (cls == "Bidirectional") {
    const MergeMode mode = parse_merge_mode(r.string("merge_mode", "concat"), r.where());
    if (!r.has("layer")) fail<ConfigError>(r.where(), ": missing \"layer\"");
    const json& inner = r.raw("layer");
    r.require_default("backward_layer", nullptr);
    const std::string inner_cls =
        inner.is_object() && inner.contains("class_name") && inner["class_name"].is_string()
            ? inner["class_name"].get<std::string>() : "";
    if (inner_cls != "LSTM" && inner_cls != "GRU" && inner_cls != "SimpleRNN")
      fail<ConfigError>(r.where(), ": wrapped layer must be LSTM, GRU or SimpleRNN, got '",
                        inner_cls, "'");
    const json inner_cfg = inner.contains("config") ? inner["config"] : json::object();
    const std::string inner_name = layer_name(inner_cfg, cls);
    ConfigReader ir(inner_cfg, r.where() + ": " + inner_cls + " '" + inner_name + "'");
    const CellKind kind = inner_cls == "LSTM" ? CellKind::lstm
                          : inner_cls == "GRU" ? CellKind::gru : CellKind::simple;
    RecurrentOptions o = recurrent_options(ir, kind);
    ir.finish();
    out = std::make_unique<Bidirectional>(name, kind, o, mode, inner_name);
  } else if (cls == "Dense") {
    DenseOptions o;
    o.units = r.integer("units", 0, true);
    o.activation = r.activation("activation", Activation::linear);
    o.use_bias = r.boolean("use_bias", true);
    o.kernel_initializer = r.initializer("kernel_initializer", Initializer::glorot_uniform());
    o.bias_initializer = r.initializer("bias_initializer", Initializer::zeros());
    out = std::make_unique<Dense>(name, o);
  } else if (cls == "Embedding") {
    EmbeddingOptions o;
    o.input_dim = r.integer("input_dim", 0, true);
    o.output_dim = r.integer("output_dim", 0, true);
    o.mask_zero = r.boolean("mask_zero", false);
    o.embeddings_initializer =
        r.initializer("embeddings_initializer", Initializer::random_uniform(-0.05f, 0.05f));
    r.require_default("lora_rank", nullptr);
    out = std::make_unique<Embedding>(name, o);
  } else if (cls == "Masking") {
    out = std::make_unique<Masking>(name, r.number("mask_value", 0.0f));
  } else if (cls == "Dropout") {
    const float rate = r.number("rate", 0.0f);
    r.require_default("noise_shape", nullptr);
    out = std::make_unique<Dropout>(name, rate);
  } else if (cls == "Concatenate") {
    out = std::make_unique<Concatenate>(name, r.integer("axis", -1));
  } else if (cls == "Add") {
    out = std::make_unique<Add>(name);
  } else {
    fail<ConfigError>(where, ": unknown layer class '", cls,
                      "' (supported: InputLayer, SimpleRNN, LSTM, GRU, Bidirectional, Dense, "
                      "Embedding, Masking, Dropout, Concatenate, Add)");
  }
  r.finish();
  return out;
}

namespace {
// [null, T|null, F] (or [null, T|null] for ids) -> sample shape {T or -1, F}.
Shape sample_shape(const json& shape, const std::string& where) {
  if (!shape.is_array() || shape.size() < 2 || shape.size() > 3)
    fail<ConfigError>(where, ": batch input shape must be [null, T, F] or [null, T], got ",
                      shape.dump());
  Shape out;
  for (std::size_t i = 1; i < shape.size(); ++i) {
    if (shape[i].is_null()) {
      if (i == shape.size() - 1 && shape.size() == 3)
        fail<ConfigError>(where, ": the feature axis of the input shape must be known, got ",
                          shape.dump());
      out.push_back(-1);
    } else if (shape[i].is_number_integer() && shape[i].get<int64_t>() > 0) {
      out.push_back(shape[i].get<int64_t>());
    } else {
      fail<ConfigError>(where, ": bad input shape ", shape.dump());
    }
  }
  return out;
}
}  // namespace

Sequential sequential_from_keras(const json& model, const std::string& where,
                                 const BeforeAllocate& before_allocate) {
  if (!model.is_object() || model.value("class_name", json()) != "Sequential")
    fail<ConfigError>(where, ": the model must be {\"class_name\": \"Sequential\", ...}, got "
                             "class_name ",
                      model.is_object() && model.contains("class_name")
                          ? model["class_name"].dump() : "none");
  if (!model.contains("config") || !model["config"].is_object())
    fail<ConfigError>(where, ": Sequential has no \"config\" object");
  const json& cfg = model["config"];
  // Not cfg.value(): a "name" that is not a string is ignored, not a json type_error.
  const std::string name =
      cfg.contains("name") && cfg["name"].is_string() ? cfg["name"].get<std::string>()
                                                      : "sequential";
  if (!cfg.contains("layers") || !cfg["layers"].is_array())
    fail<ConfigError>(where, ": Sequential config has no \"layers\" array");
  Sequential seq(name);
  std::optional<Shape> input;
  for (std::size_t i = 0; i < cfg["layers"].size(); ++i) {
    const json& l = cfg["layers"][i];
    const std::string lw = where + ": layer " + std::to_string(i);
    if (l.is_object() && l.value("class_name", json()) == "InputLayer") {
      const json c = l.value("config", json::object());
      if (c.contains("batch_input_shape")) input = sample_shape(c["batch_input_shape"], lw);
      else if (c.contains("batch_shape")) input = sample_shape(c["batch_shape"], lw);
      else fail<ConfigError>(lw, ": InputLayer without batch_input_shape/batch_shape");
      continue;
    }
    if (!input && l.is_object() && l.contains("config") && l["config"].is_object()) {
      const json& c = l["config"];
      if (c.contains("batch_input_shape")) input = sample_shape(c["batch_input_shape"], lw);
      else if (c.contains("batch_shape")) input = sample_shape(c["batch_shape"], lw);
    }
    seq.add(layer_from_keras(l, lw));
  }
  if (!input)
    fail<ConfigError>(where, ": no input shape: the first layer (or an InputLayer) needs "
                             "\"batch_input_shape\" or \"batch_shape\"");
  if (before_allocate) {
    // Sequential::build builds the layers and allocates in one step, so a second copy of the
    // layers is built here (cheap: building only declares shapes) for before_allocate. Where
    // that build fails, seq.build below fails the same way, before allocating anything.
    std::vector<std::unique_ptr<Layer>> probe;
    std::vector<Layer*> layers;
    bool built = seq.size() > 0;
    try {
      Shape shape = *input;
      for (std::size_t i = 0; built && i < cfg["layers"].size(); ++i) {
        const json& l = cfg["layers"][i];
        if (l.is_object() && l.value("class_name", json()) == "InputLayer") continue;
        probe.push_back(layer_from_keras(l, where + ": layer " + std::to_string(i)));
        auto* r = dynamic_cast<Recurrent*>(probe.back().get());
        if (r && r->options().return_state) built = false;  // seq.build rejects it
        else shape = probe.back()->build(shape);
        layers.push_back(probe.back().get());
      }
    } catch (const Error&) {
      built = false;
    }
    if (built) before_allocate(layers);
  }
  seq.build(*input);
  return seq;
}

}  // namespace recur::io
