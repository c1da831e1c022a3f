// Keras / TF.js model config -> recur architecture JSON (see keras_convert.hpp for the rules).
#include "interop/keras_convert.hpp"

#include <optional>
#include <regex>
#include <set>

#include "recur/error.hpp"
#include "recur/initializer.hpp"

namespace recur::interop {

using nlohmann::json;

namespace {

bool is_rnn(const std::string& cls) { return cls == "LSTM" || cls == "GRU" || cls == "SimpleRNN"; }

// "2.11.0" -> (2, 11); "2.2.4-tf" -> (2, 2) with the tf suffix; false when unparsable.
bool parse_version(const std::string& text, int& major, int& minor, bool& tf_suffix) {
  static const std::regex re(R"(^\s*(\d+)\.(\d+)(?:\.\d+)?([^\s]*)\s*$)");
  std::smatch m;
  if (!std::regex_match(text, m, re)) return false;
  try {
    major = std::stoi(m[1].str());
    minor = std::stoi(m[2].str());
  } catch (const std::exception&) {
    return false;
  }
  tf_suffix = m[3].str().find("tf") != std::string::npos;
  return true;
}

// Keras 3 configs carry "module" / "registered_name" next to class_name.
bool looks_like_keras3(const json& config) {
  return config.is_object() && (config.contains("module") || config.contains("registered_name"));
}

struct Context {
  const KerasDialect& dialect;
  std::vector<std::string>& notes;
};

// The value an absent key takes in the file's Keras version; nullopt when the version string
// does not decide it (tf.keras "2.2.4-tf" was shipped with TF 1.13-1.15 and TF 2.0-2.1, whose
// recurrent layers had different defaults).
std::optional<std::string> default_recurrent_activation(const KerasDialect& d) {
  switch (d.kind) {
    case KerasDialect::Kind::tfjs: return "hard_sigmoid";
    case KerasDialect::Kind::keras3: return "sigmoid";
    case KerasDialect::Kind::keras2: break;
  }
  if (!d.known) return "sigmoid";
  const int v = d.major * 100 + d.minor;
  if (d.tf_suffix) {
    if (v <= 201) return "hard_sigmoid";
    if (v == 202) return std::nullopt;
    return "sigmoid";
  }
  return v <= 202 ? "hard_sigmoid" : "sigmoid";
}

std::optional<bool> default_reset_after(const KerasDialect& d) {
  switch (d.kind) {
    case KerasDialect::Kind::tfjs: return false;
    case KerasDialect::Kind::keras3: return true;
    case KerasDialect::Kind::keras2: break;
  }
  if (!d.known) return true;
  const int v = d.major * 100 + d.minor;
  if (d.tf_suffix) {
    if (v <= 201) return false;
    if (v == 202) return std::nullopt;
    return true;
  }
  return v >= 204;
}

// An activation as Keras writes it: a name, or (Keras 3 function serialization)
// {"class_name": "function", "config": "tanh", ...}.
std::string activation_name(const json& v, const std::string& where, const char* key) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("config") && v["config"].is_string())
    return v["config"].get<std::string>();
  if (v.is_object() && v.contains("class_name") && v["class_name"].is_string() &&
      (!v.contains("config") || v["config"].is_null() || v["config"].empty()))
    return v["class_name"].get<std::string>();
  fail<ConfigError>(where, ": \"", key, "\" must be an activation name, got ", v.dump());
}

void normalize_activations(json& cfg, const Context& ctx, const std::string& where) {
  for (const char* key : {"activation", "recurrent_activation"}) {
    if (!cfg.contains(key) || cfg[key].is_null()) continue;
    std::string name = activation_name(cfg[key], where, key);
    if (ctx.dialect.kind == KerasDialect::Kind::keras3 && name == "hard_sigmoid")
      name = "hard_sigmoid_v3";  // Keras 3: clip(x/6 + 1/2, 0, 1)
    cfg[key] = name;
  }
}

// Glorot initializers written as VarianceScaling (TF.js, some Keras versions).
std::optional<std::string> variance_scaling_alias(const json& init) {
  if (!init.is_object() || init.value("class_name", json()) != "VarianceScaling") return {};
  const json c = init.value("config", json::object());
  if (!c.is_object() || c.value("scale", json(1.0)) != json(1.0) ||
      c.value("mode", json("fan_in")) != "fan_avg")
    return {};
  const json dist = c.value("distribution", json("truncated_normal"));
  if (dist == "uniform") return "glorot_uniform";
  if (dist == "normal" || dist == "truncated_normal" || dist == "untruncated_normal")
    return "glorot_normal";
  return {};
}

void normalize_initializers_and_extras(json& cfg, const Context& ctx, const std::string& where) {
  std::vector<std::string> erase;
  for (auto it = cfg.begin(); it != cfg.end(); ++it) {
    const std::string& key = it.key();
    json& v = it.value();
    const bool initializer = key.size() > 12 && key.ends_with("_initializer");
    const bool training_only = key.ends_with("_regularizer") || key.ends_with("_constraint");
    if (initializer) {
      if (v.is_null()) {
        erase.push_back(key);
        continue;
      }
      try {
        (void)Initializer::from_json(v, where + " " + key);
        if (v.is_object()) {
          v.erase("module");
          v.erase("registered_name");
        }
      } catch (const ConfigError&) {
        if (std::optional<std::string> alias = variance_scaling_alias(v)) {
          v = *alias;
        } else {
          ctx.notes.push_back(where + ": dropped " + key + " " + v.dump() +
                              " (recur has no such initializer; it only matters when the layer "
                              "is initialized anew)");
          erase.push_back(key);
        }
      }
    } else if (training_only) {
      if (!v.is_null())
        ctx.notes.push_back(where + ": dropped " + key + " " + v.dump() +
                            " (training-time only; the imported weights are unchanged)");
      erase.push_back(key);
    }
  }
  for (const std::string& key : erase) cfg.erase(key);
  // Keras 3 keys with a harmless null value.
  if (cfg.contains("lora_rank")) {
    if (!cfg["lora_rank"].is_null())
      fail<ConfigError>(where, ": lora_rank=", cfg["lora_rank"].dump(),
                        " is not supported (merge the LoRA weights into the layer first)");
    cfg.erase("lora_rank");
    cfg.erase("lora_alpha");
  }
  if (cfg.contains("quantization_config")) {
    if (!cfg["quantization_config"].is_null())
      fail<ConfigError>(where, ": quantized layers are not supported (quantization_config=",
                        cfg["quantization_config"].dump(), ")");
    cfg.erase("quantization_config");
  }
  cfg.erase("dtype");  // float32 (or a Keras 3 dtype policy): recur computes in float32
}

// Writes the version-dependent defaults of a recurrent layer as explicit keys.
void explicit_rnn_defaults(json& cfg, const std::string& cls, const Context& ctx,
                           const std::string& where) {
  const KerasDialect& d = ctx.dialect;
  if (cls != "SimpleRNN" &&
      (!cfg.contains("recurrent_activation") || cfg["recurrent_activation"].is_null())) {
    const std::optional<std::string> ra = default_recurrent_activation(d);
    if (!ra)
      fail<ConfigError>(where, ": recurrent_activation is not in the config, and Keras ",
                        d.version, " (tf.keras in TensorFlow 1.x or 2.0-2.1) used either "
                        "hard_sigmoid or sigmoid by default; add the key to the config");
    cfg["recurrent_activation"] = *ra;
  }
  if (cls == "GRU" && (!cfg.contains("reset_after") || cfg["reset_after"].is_null())) {
    const std::optional<bool> ra = default_reset_after(d);
    if (!ra)
      fail<ConfigError>(where, ": reset_after is not in the config, and Keras ", d.version,
                        " (tf.keras in TensorFlow 1.x or 2.0-2.1) used either false or true by "
                        "default; add the key to the config");
    cfg["reset_after"] = *ra;
  }
}

std::string class_of(const json& layer, const std::string& where) {
  if (!layer.is_object() || !layer.contains("class_name") || !layer["class_name"].is_string())
    fail<ConfigError>(where, ": a layer must be {\"class_name\": ..., \"config\": {...}}");
  return layer["class_name"].get<std::string>();
}

json config_of(const json& layer, const std::string& where) {
  if (!layer.contains("config") || !layer["config"].is_object())
    fail<ConfigError>(where, ": the layer has no \"config\" object");
  return layer["config"];
}

json convert_config(const std::string& cls, json cfg, const Context& ctx,
                    const std::string& where);

// Bidirectional: the wrapped layer's config, and Keras 3's explicit backward_layer, which must
// mirror it (same class and config, opposite go_backwards).
void convert_bidirectional(json& cfg, const Context& ctx, const std::string& where) {
  if (cfg.contains("merge_mode") && cfg["merge_mode"].is_null())
    fail<ConfigError>(where, ": merge_mode=None (two separate outputs) is not supported");
  if (!cfg.contains("layer")) fail<ConfigError>(where, ": missing \"layer\"");
  const std::string inner_where = where + " layer";
  const std::string fcls = class_of(cfg["layer"], inner_where);
  json fcfg = convert_config(fcls, config_of(cfg["layer"], inner_where), ctx, inner_where);
  fcfg.erase("zero_output_for_mask");  // Bidirectional zeroes masked steps itself (Keras does)
  if (fcfg.contains("name") && fcfg["name"].is_string()) {
    const std::string n = fcfg["name"].get<std::string>();
    if (n.starts_with("forward_") && n.size() > 8) fcfg["name"] = n.substr(8);  // Keras 3
  }
  if (cfg.contains("backward_layer") && !cfg["backward_layer"].is_null()) {
    const std::string bw = where + " backward_layer";
    const std::string bcls = class_of(cfg["backward_layer"], bw);
    std::vector<std::string> mirror_notes;  // the same notes as the forward layer's: not repeated
    const Context quiet{ctx.dialect, mirror_notes};
    json bcfg = convert_config(bcls, config_of(cfg["backward_layer"], bw), quiet, bw);
    if (bcls != fcls)
      fail<ConfigError>(where, ": backward_layer is a ", bcls, " but layer is a ", fcls,
                        "; recur's Bidirectional runs one layer type in both directions");
    const bool fgb = fcfg.value("go_backwards", false), bgb = bcfg.value("go_backwards", false);
    if (fgb == bgb)
      fail<ConfigError>(where, ": backward_layer has the same go_backwards as layer");
    json f = fcfg, b = bcfg;
    for (json* c : {&f, &b})
      for (const char* key : {"name", "go_backwards", "zero_output_for_mask", "trainable"})
        c->erase(key);
    for (auto it = f.begin(); it != f.end(); ++it)
      if (!b.contains(it.key()) || b[it.key()] != it.value())
        fail<ConfigError>(where, ": backward_layer differs from layer in \"", it.key(), "\" (",
                          b.contains(it.key()) ? b[it.key()].dump() : "absent", " vs ",
                          it.value().dump(),
                          "); recur's Bidirectional needs two mirror copies of one layer");
    for (auto it = b.begin(); it != b.end(); ++it)
      if (!f.contains(it.key()))
        fail<ConfigError>(where, ": backward_layer has \"", it.key(),
                          "\", which layer does not have");
  }
  cfg.erase("backward_layer");
  cfg["layer"] = json{{"class_name", fcls}, {"config", fcfg}};
}

json convert_config(const std::string& cls, json cfg, const Context& ctx,
                    const std::string& where) {
  if (cls == "InputLayer") {
    if (cfg.contains("dtype") && cfg["dtype"].is_object()) {  // a Keras 3 dtype policy
      const json& p = cfg["dtype"];
      cfg["dtype"] = p.contains("config") && p["config"].is_object() &&
                             p["config"].contains("name") && p["config"]["name"].is_string()
                         ? p["config"]["name"]
                         : json("float32");
    }
    return cfg;
  }
  normalize_activations(cfg, ctx, where);
  normalize_initializers_and_extras(cfg, ctx, where);
  if (is_rnn(cls)) explicit_rnn_defaults(cfg, cls, ctx, where);
  if (cls == "Bidirectional") convert_bidirectional(cfg, ctx, where);
  return cfg;
}

json convert_layer(const json& layer, bool functional, const Context& ctx,
                   const std::string& where, ConvertedModel& out) {
  const std::string cls = class_of(layer, where);
  json cfg = config_of(layer, where);
  std::string name = layer.contains("name") && layer["name"].is_string()
                         ? layer["name"].get<std::string>()
                         : cfg.value("name", json("")).is_string()
                               ? cfg.value("name", std::string())
                               : std::string();
  const std::string lw = where + " (" + cls + (name.empty() ? "" : " '" + name + "'") + ")";
  out.keras_layers.emplace_back(name, cls);
  json result = {{"class_name", cls}, {"config", convert_config(cls, std::move(cfg), ctx, lw)}};
  if (functional) {
    if (layer.contains("name")) result["name"] = layer["name"];
    if (layer.contains("inbound_nodes")) result["inbound_nodes"] = layer["inbound_nodes"];
  }
  return result;
}

bool has_input_shape(const json& layer) {
  if (!layer.is_object() || !layer.contains("config") || !layer["config"].is_object()) return false;
  const json& c = layer["config"];
  return (c.contains("batch_input_shape") && !c["batch_input_shape"].is_null()) ||
         (c.contains("batch_shape") && !c["batch_shape"].is_null());
}

}  // namespace

KerasDialect keras_dialect(const std::string& version, const json& config,
                           const std::string& where) {
  KerasDialect d;
  d.version = version;
  if (version.starts_with("tfjs")) {
    d.kind = KerasDialect::Kind::tfjs;
    return d;
  }
  if (!version.empty()) {
    d.known = parse_version(version, d.major, d.minor, d.tf_suffix);
    if (d.known && d.major < 2)
      fail<ConfigError>(where, ": Keras ", version,
                        " files are not supported (Keras 2 and 3, and TF.js, are)");
    if (d.known) {
      d.kind = d.major >= 3 ? KerasDialect::Kind::keras3 : KerasDialect::Kind::keras2;
      return d;
    }
  }
  d.kind = looks_like_keras3(config) ? KerasDialect::Kind::keras3 : KerasDialect::Kind::keras2;
  return d;
}

ConvertedModel convert_keras_model(const json& keras_model, const KerasDialect& dialect,
                                   const std::string& where) {
  ConvertedModel out;
  Context ctx{dialect, out.notes};
  if (!keras_model.is_object() || !keras_model.contains("class_name") ||
      !keras_model["class_name"].is_string())
    fail<ConfigError>(where, ": expected a Keras model config {\"class_name\": ..., "
                             "\"config\": ...}");
  const std::string cls = keras_model["class_name"].get<std::string>();
  if (!keras_model.contains("config"))
    fail<ConfigError>(where, ": the ", cls, " model has no \"config\"");
  const json& cfg = keras_model["config"];
  if (cls == "Sequential") {
    // Keras 2.0-2.2.2 wrote a Sequential config as the bare list of layers.
    const json* layers = cfg.is_array() ? &cfg : nullptr;
    if (!layers) {
      if (!cfg.is_object() || !cfg.contains("layers") || !cfg["layers"].is_array())
        fail<ConfigError>(where, ": the Sequential config has no \"layers\" list");
      layers = &cfg["layers"];
    }
    const std::string name = cfg.is_object() && cfg.contains("name") && cfg["name"].is_string()
                                 ? cfg["name"].get<std::string>()
                                 : "sequential";
    json converted = json::array();
    for (std::size_t i = 0; i < layers->size(); ++i)
      converted.push_back(convert_layer((*layers)[i], false, ctx,
                                        where + ": layer " + std::to_string(i), out));
    // A model built with model.build(shape) (no InputLayer, no batch_input_shape) records the
    // shape as build_input_shape (Keras 2.x and 3) or build_config.input_shape (Keras 3).
    bool shaped = false;
    for (const json& l : converted) shaped = shaped || has_input_shape(l);
    if (!shaped && !converted.empty()) {
      json shape;
      if (cfg.is_object() && cfg.contains("build_input_shape"))
        shape = cfg["build_input_shape"];
      else if (keras_model.contains("build_config") && keras_model["build_config"].is_object())
        shape = keras_model["build_config"].value("input_shape", json());
      if (!shape.is_null()) converted[0]["config"]["batch_input_shape"] = shape;
    }
    out.model = {{"class_name", "Sequential"},
                 {"config", {{"name", name}, {"layers", converted}}}};
    out.sequential = true;
    return out;
  }
  if (cls == "Functional" || cls == "Model") {
    if (!cfg.is_object() || !cfg.contains("layers") || !cfg["layers"].is_array())
      fail<ConfigError>(where, ": the ", cls, " config has no \"layers\" list");
    json c = json::object();
    if (cfg.contains("name")) c["name"] = cfg["name"];
    json converted = json::array();
    for (std::size_t i = 0; i < cfg["layers"].size(); ++i)
      converted.push_back(convert_layer(cfg["layers"][i], true, ctx,
                                        where + ": layer " + std::to_string(i), out));
    c["layers"] = std::move(converted);
    for (const char* key : {"input_layers", "output_layers"})
      if (cfg.contains(key)) c[key] = cfg[key];
    out.model = {{"class_name", "Functional"}, {"config", c}};
    out.sequential = false;
    return out;
  }
  fail<ConfigError>(where, ": model class '", cls,
                    "' is not supported (Sequential, Functional or Model; a subclassed model "
                    "has no config recur can rebuild)");
}

}  // namespace recur::interop
