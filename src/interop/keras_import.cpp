// recur::import_keras: Keras 2 .h5 (full model, or architecture JSON + weights .h5), Keras 3
// .keras archives and TF.js layers models -> a recur model (docs/interop/keras-import.md).
//
// Steps, the same for every format:
//   1. read the Keras config and the Keras version (keras_hdf5 / keras_zip / keras_tfjs);
//   2. convert the config to recur's architecture JSON, defaults of that version made explicit
//      (keras_convert);
//   3. build the layers without allocating anything, to learn every parameter's name and shape;
//   4. find each parameter's source in the file (an HDF5 dataset or a TF.js weight), check that
//      all are there with the expected shapes and that nothing is left over, then read them;
//   5. hand an in-memory safetensors file {recur.format, recur.model, tensors} to
//      model_from_file, which validates and builds the model like any recur model file.
// Steps 1-4 of a format read through libhdf5 run once in a forked child first
// (rehearse_hdf5_read, keras_hdf5.hpp): a file that crashes libhdf5 is an error, not a crash.
// Weight names: Keras 2 / TF.js name weights "<layer>/[<cell>/]<weight>[:0]" (Bidirectional:
// "<layer>/forward_<inner>/..." and "backward_..."); Keras 3 stores them by position under
// layers/<entry>/vars/<i> (RNNs: .../cell/vars/<i>; Bidirectional: .../forward_layer/cell/vars
// and .../backward_layer/cell/vars) in the layer's variable order (kernel, recurrent_kernel,
// bias; embeddings), <entry> being the layer's class name in snake_case, numbered per class in
// the order of model.layers ("lstm", "lstm_1", ...).
#include "interop/keras_import.hpp"

#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "interop/keras_convert.hpp"
#include "interop/keras_hdf5.hpp"
#include "interop/keras_tfjs.hpp"
#include "interop/keras_zip.hpp"
#include "io/keras_config.hpp"
#include "io/keras_functional.hpp"
#include "io/model_io.hpp"
#include "io/safetensors.hpp"
#include "recur/error.hpp"
#include "recur/interop/keras.hpp"

namespace recur::interop {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::uint64_t kMaxConfigBytes = 64ull << 20;     // config.json, architecture .json
constexpr std::uint64_t kMaxMetadataBytes = 1ull << 20;    // metadata.json
constexpr std::uint64_t kMaxWeightsBytes = 4ull << 30;     // model.weights.h5 inside a .keras

// ---- reading the inputs --------------------------------------------------------------------

enum class FileKind { hdf5, zip, json, directory };

FileKind sniff(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return FileKind::directory;
  std::ifstream in(path, std::ios::binary);
  if (!in) fail<IoError>(path, ": cannot open");
  char head[64] = {};
  in.read(head, sizeof head);
  const auto n = static_cast<std::size_t>(in.gcount());
  static const char kHdf5[8] = {'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};
  if (n >= 8 && std::memcmp(head, kHdf5, 8) == 0) return FileKind::hdf5;
  if (n >= 4 && std::memcmp(head, "PK\x03\x04", 4) == 0) return FileKind::zip;
  std::size_t i = 0;
  if (n >= 3 && std::memcmp(head, "\xEF\xBB\xBF", 3) == 0) i = 3;  // UTF-8 byte order mark
  while (i < n && std::isspace(static_cast<unsigned char>(head[i]))) ++i;
  if (i < n && head[i] == '{') return FileKind::json;
  // HDF5 files may start with a user block of 512, 1024, 2048, ... bytes.
  for (std::streamoff at = 512; at <= (1 << 20); at *= 2) {
    in.clear();
    in.seekg(at);
    char sig[8] = {};
    in.read(sig, 8);
    if (in.gcount() == 8 && std::memcmp(sig, kHdf5, 8) == 0) return FileKind::hdf5;
    if (!in) break;
  }
  fail<FormatError>(path, ": not a Keras model file (expected a Keras 2 .h5, a Keras 3 .keras "
                          "archive, a TF.js model.json or an architecture .json)");
}

json parse_json(std::string_view text, const std::string& where) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    fail<FormatError>(where, ": not valid JSON: ", e.what());
  }
}

json read_json_file(const std::string& path) {
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) fail<IoError>(path, ": cannot read (", ec.message(), ")");
  if (size > kMaxConfigBytes)
    fail<FormatError>(path, ": ", size, " bytes is too large for a model config (limit ",
                      kMaxConfigBytes, ")");
  std::ifstream in(path, std::ios::binary);
  std::string text(static_cast<std::size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  if (!in) fail<IoError>(path, ": short read");
  return parse_json(text, path);
}

bool is_rnn(const std::string& cls) { return cls == "LSTM" || cls == "GRU" || cls == "SimpleRNN"; }

// ---- what the architecture needs -------------------------------------------------------------

struct ExpectedParam {
  std::string param;  // recur's name inside the layer: "kernel", "forward/bias", ...
  Shape shape;
};
struct ExpectedLayer {
  std::string name, class_name;
  std::vector<ExpectedParam> params;
};

// Builds the layers (which only declares parameter shapes) and stops before any parameter memory
// is allocated: the shapes come from the architecture alone and are not trusted until the file's
// weights are found to match them.
std::vector<ExpectedLayer> expected_layers(const ConvertedModel& cm, const std::string& where) {
  struct Stop {};
  std::vector<ExpectedLayer> out;
  const io::BeforeAllocate probe = [&out](const std::vector<Layer*>& layers) {
    for (Layer* l : layers) {
      ExpectedLayer e{l->name(), l->class_name(), {}};
      std::vector<Param*> ps;
      l->collect_params(ps);
      for (const Param* p : ps) e.params.push_back({p->name, p->shape});
      out.push_back(std::move(e));
    }
    throw Stop{};
  };
  try {
    if (cm.sequential)
      (void)io::sequential_from_keras(cm.model, where, probe);
    else
      (void)io::functional_from_keras(cm.model, where, probe);
  } catch (const Stop&) {
    return out;
  }
  fail<InternalError>(where, ": the architecture was built without its parameter check");
}

// ---- where each weight comes from -------------------------------------------------------------

struct Source {
  std::string where;  // e.g. "model.h5: dataset 'model_weights/lstm/lstm/lstm_cell/kernel:0'"
  Shape shape;        // as the file declares it
  // Reads the data once the shape has been checked; `what` names the parameter in messages.
  std::function<std::vector<float>(const Shape& shape, const std::string& what)> read;
};

struct Sources {
  std::map<std::string, Source> by_name;      // "<layer>/<param>" -> its source
  std::map<std::string, std::string> looked;  // "<layer>/<param>" -> where it was looked for
  void add(const std::string& name, Source s) {
    auto it = by_name.find(name);
    if (it != by_name.end())
      fail<FormatError>(it->second.where, " and ", s.where, " both map to '", name, "'");
    by_name.emplace(name, std::move(s));
  }
};

// Keras 2 / TF.js weight name -> recur parameter name. "lstm/lstm_cell/kernel:0" -> "kernel";
// Bidirectional "bidirectional/forward_lstm/lstm_cell/kernel:0" -> "forward/kernel".
std::string keras_param(const ExpectedLayer& layer, const std::string& weight,
                        const std::string& where) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = weight.find('/', start);
    parts.push_back(weight.substr(start, end == std::string::npos ? end : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  std::string base = parts.back();
  static const std::regex suffix(R"(:\d+$)");
  base = std::regex_replace(base, suffix, "");
  static const std::set<std::string> known = {"kernel", "recurrent_kernel", "bias", "embeddings"};
  if (!known.count(base))
    fail<FormatError>(where, ": weight '", weight, "' of ", layer.class_name, " '", layer.name,
                      "' is not one recur knows (kernel, recurrent_kernel, bias, embeddings)");
  if (layer.class_name != "Bidirectional") return base;
  // The component nearest the weight decides ("bidi/forward_lstm/lstm_cell/kernel:0"), so that
  // a Bidirectional layer itself named "forward_..." does not.
  for (std::size_t i = parts.size() - 1; i-- > 0;) {
    if (parts[i].starts_with("forward_")) return "forward/" + base;
    if (parts[i].starts_with("backward_")) return "backward/" + base;
  }
  fail<FormatError>(where, ": weight '", weight, "' of Bidirectional '", layer.name,
                    "' does not say whether it belongs to the forward or the backward layer");
}

std::string join_path(const std::string& a, const std::string& b) {
  return a.empty() ? b : a + "/" + b;
}

// Keras 2 layout (model.save / model.save_weights): <root>/<layer>/ with attribute weight_names
// and the datasets at <root>/<layer>/<weight name>.
void collect_keras2(const H5Reader& r, const std::string& root,
                    const std::vector<ExpectedLayer>& layers, Sources& out) {
  std::set<std::string> known;
  for (const ExpectedLayer& layer : layers) {
    known.insert(layer.name);
    const std::string group = join_path(root, layer.name);
    for (const ExpectedParam& p : layer.params)
      out.looked[layer.name + "/" + p.param] = r.where("group", group);
    if (!r.exists(group)) continue;  // reported as missing weights below
    const auto names = r.string_attr(group, "weight_names");
    if (!names) {
      if (layer.params.empty()) continue;
      fail<FormatError>(r.where("group", group), " has no weight_names attribute");
    }
    for (const std::string& wn : *names) {
      const std::string param = keras_param(layer, wn, r.where("group", group));
      const std::string ds = group + "/" + wn;
      const H5Reader* reader = &r;
      out.add(layer.name + "/" + param,
              Source{r.where("dataset", ds), r.dataset_shape(ds),
                     [reader, ds](const Shape& shape, const std::string& what) {
                       return reader->read_floats(ds, shape, what);
                     }});
    }
  }
  // Weights of layers the architecture does not have.
  const auto file_layers = r.string_attr(root, "layer_names");
  if (!file_layers) return;
  for (const std::string& name : *file_layers) {
    if (known.count(name)) continue;
    const std::string group = join_path(root, name);
    if (!r.exists(group)) continue;
    const auto names = r.string_attr(group, "weight_names");
    if (names && !names->empty())
      fail<FormatError>(r.where("group", group), " holds ", names->size(),
                        " weight(s) of layer '", name,
                        "', which the architecture does not have");
  }
}

// Keras 3's name for a layer's entry: its class name in snake_case (as keras.src.utils.naming).
std::string snake_case(const std::string& cls) {
  static const std::regex non_word(R"([^A-Za-z0-9_]+)");
  static const std::regex word(R"((.)([A-Z][a-z]+))");
  static const std::regex step(R"(([a-z])([A-Z]))");
  std::string s = std::regex_replace(cls, non_word, "");
  s = std::regex_replace(s, word, "$1_$2");
  s = std::regex_replace(s, step, "$1_$2");
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Keras 3 layout (model.weights.h5): variables by position, see the file comment. `prefix` is
// "layers" (tf.keras 2.13-2.15 .keras files use "_layer_checkpoint_dependencies").
void collect_keras3(const H5Reader& r, const std::string& prefix, const ConvertedModel& cm,
                    const std::vector<ExpectedLayer>& layers, Sources& out) {
  std::map<std::string, std::string> entry;  // layer name -> "layers/<entry>"
  std::map<std::string, int> used;
  for (const auto& [name, cls] : cm.keras_layers) {
    if (cm.sequential && cls == "InputLayer") continue;  // Sequential.layers leaves it out
    std::string base = snake_case(cls);
    auto it = used.find(base);
    if (it == used.end())
      used[base] = 0;
    else
      base += "_" + std::to_string(++it->second);
    entry[name] = prefix + "/" + base;
  }
  static const char* const kOrder[] = {"kernel", "recurrent_kernel", "bias", "embeddings"};
  for (const ExpectedLayer& layer : layers) {
    auto e = entry.find(layer.name);
    if (e == entry.end())
      fail<InternalError>(r.name(), ": layer '", layer.name, "' is not in the Keras config");
    std::vector<std::pair<std::string, std::string>> groups;  // (vars group, param prefix)
    if (layer.class_name == "Bidirectional")
      groups = {{e->second + "/forward_layer/cell/vars", "forward/"},
                {e->second + "/backward_layer/cell/vars", "backward/"}};
    else if (is_rnn(layer.class_name))
      groups = {{e->second + "/cell/vars", ""}};
    else
      groups = {{e->second + "/vars", ""}};
    for (const auto& [group, pfx] : groups) {
      std::vector<const ExpectedParam*> params;  // in Keras's variable order
      for (const char* k : kOrder)
        for (const ExpectedParam& p : layer.params)
          if (p.param == pfx + k) params.push_back(&p);
      for (std::size_t i = 0; i < params.size(); ++i)
        out.looked[layer.name + "/" + params[i]->param] =
            r.where("dataset", group + "/" + std::to_string(i));
      if (!r.exists(group)) continue;  // reported as missing weights below
      std::set<std::string> expected_names;
      for (std::size_t i = 0; i < params.size(); ++i) expected_names.insert(std::to_string(i));
      const std::vector<std::string> present = r.children(group);
      for (const std::string& v : present)
        if (!expected_names.count(v)) {
          std::string names;
          for (const ExpectedParam* p : params) names += (names.empty() ? "" : ", ") + p->param;
          fail<FormatError>(r.where("group", group), " holds ", present.size(),
                            " variable(s), but ", layer.class_name, " '", layer.name, "' has ",
                            params.size(), (names.empty() ? "" : " (" + names + ")"),
                            "; unexpected variable '", v, "'");
        }
      for (std::size_t i = 0; i < params.size(); ++i) {
        const std::string ds = group + "/" + std::to_string(i);
        if (!r.exists(ds)) continue;
        const H5Reader* reader = &r;
        out.add(layer.name + "/" + params[i]->param,
                Source{r.where("dataset", ds), r.dataset_shape(ds),
                       [reader, ds](const Shape& shape, const std::string& what) {
                         return reader->read_floats(ds, shape, what);
                       }});
      }
    }
  }
}

void collect_tfjs(const TfjsModel& m, const std::string& path,
                  const std::vector<ExpectedLayer>& layers, Sources& out) {
  std::map<std::string, const ExpectedLayer*> by_name;
  for (const ExpectedLayer& layer : layers) {
    by_name[layer.name] = &layer;
    for (const ExpectedParam& p : layer.params)
      out.looked[layer.name + "/" + p.param] = path + " (weightsManifest)";
  }
  for (const TfjsWeight& w : m.weights) {
    const std::size_t slash = w.name.find('/');
    if (slash == std::string::npos)
      fail<FormatError>(path, ": weight name '", w.name,
                        "' does not name its layer ('<layer>/<weight>')");
    const std::string layer = w.name.substr(0, slash);
    auto it = by_name.find(layer);
    if (it == by_name.end())
      fail<FormatError>(path, ": weight '", w.name, "' belongs to layer '", layer,
                        "', which the architecture does not have");
    const std::string param = keras_param(*it->second, w.name, path);
    const TfjsWeight* src = &w;
    out.add(layer + "/" + param,
            Source{path + ": weight '" + w.name + "'", w.shape,
                   [src](const Shape&, const std::string&) { return src->data; }});
  }
}

// Checks every expected parameter against its source (presence, shape, nothing left over)
// before reading any data, then reads them into a recur model file in memory.
io::SafetensorsFile gather(const ConvertedModel& cm, const std::vector<ExpectedLayer>& layers,
                           const Sources& sources, const std::string& path) {
  std::set<std::string> used;
  for (const ExpectedLayer& layer : layers)
    for (const ExpectedParam& p : layer.params) {
      const std::string name = layer.name + "/" + p.param;
      auto it = sources.by_name.find(name);
      if (it == sources.by_name.end()) {
        auto looked = sources.looked.find(name);
        fail<FormatError>(path, ": ", layer.class_name, " '", layer.name, "' needs weight '",
                          p.param, "' ", shape_str(p.shape), ", which the file does not have",
                          looked == sources.looked.end() ? "" : " (looked in " + looked->second +
                                                                    ")");
      }
      if (it->second.shape != p.shape)
        fail<FormatError>(it->second.where, " has shape ", shape_str(it->second.shape),
                          ", expected ", shape_str(p.shape), " for ", layer.class_name, " '",
                          layer.name, "' ", p.param);
      used.insert(name);
    }
  for (const auto& [name, source] : sources.by_name)
    if (!used.count(name)) {
      const std::string layer = name.substr(0, name.find('/'));
      fail<FormatError>(source.where, " would be '", name.substr(layer.size() + 1), "' of layer '",
                        layer, "', which has no such parameter");
    }
  io::SafetensorsFile file;
  file.metadata["recur.format"] = "1";
  file.metadata["recur.model"] = cm.model.dump();
  for (const ExpectedLayer& layer : layers)
    for (const ExpectedParam& p : layer.params) {
      const std::string name = layer.name + "/" + p.param;
      const std::vector<float> data =
          sources.by_name.at(name).read(p.shape, layer.class_name + " '" + layer.name + "' " +
                                                     p.param);
      io::RawTensor raw{io::DType::F32, p.shape, std::vector<std::uint8_t>(data.size() * 4)};
      std::memcpy(raw.bytes.data(), data.data(), raw.bytes.size());
      file.tensors.emplace(name, std::move(raw));
    }
  return file;
}

// ---- the formats ------------------------------------------------------------------------------

struct Prepared {
  ConvertedModel converted;
  std::vector<ExpectedLayer> layers;
};

// One format read into memory (steps 1-4): the recur model file, and what the import reports.
struct Gathered {
  io::SafetensorsFile file;
  std::string where;  // names the source in model_from_file's messages
  std::string format, keras_version;
  std::vector<std::string> notes;
};

// Runs `read` once in a child process first (rehearse_hdf5_read), then here.
Gathered read_hdf5_guarded(const std::string& file, const std::function<Gathered()>& read) {
  rehearse_hdf5_read(file, [&] { (void)read(); });
  return read();
}

Prepared prepare(const json& config, const std::string& version, const std::string& where) {
  Prepared p;
  const KerasDialect dialect = keras_dialect(version, config, where);
  p.converted = convert_keras_model(config, dialect, where);
  p.layers = expected_layers(p.converted, where);
  return p;
}

Gathered read_h5(const std::string& path) {
  Gathered out;
  out.format = "h5";
  const H5Reader r = H5Reader::open(path);
  const std::optional<std::string> config_text = r.scalar_string_attr("", "model_config");
  if (!config_text)
    fail<FormatError>(path, ": no model_config attribute: the file holds only weights "
                            "(model.save_weights); pass the architecture .json as the model and "
                            "this file with --weights");
  if (!r.is_group("model_weights")) fail<FormatError>(path, ": no model_weights group");
  std::optional<std::string> version = r.scalar_string_attr("", "keras_version");
  if (!version) version = r.scalar_string_attr("model_weights", "keras_version");
  out.keras_version = version.value_or("");
  const json config = parse_json(*config_text, path + ": model_config");
  Prepared p = prepare(config, out.keras_version, path + ": model_config");
  Sources sources;
  collect_keras2(r, "model_weights", p.layers, sources);
  out.file = gather(p.converted, p.layers, sources, path);
  out.where = path;
  out.notes = std::move(p.converted.notes);
  return out;
}

Gathered read_json_h5(const std::string& path, const std::string& weights) {
  Gathered out;
  out.format = "json+h5";
  const json arch = read_json_file(path);
  if (!arch.is_object()) fail<FormatError>(path, ": expected a JSON object");
  if (sniff(weights) != FileKind::hdf5)
    fail<FormatError>(weights, ": --weights must be an HDF5 .h5 file (model.save_weights)");
  const H5Reader r = H5Reader::open(weights);
  if (arch.contains("keras_version") && arch["keras_version"].is_string())
    out.keras_version = arch["keras_version"].get<std::string>();
  else
    out.keras_version = r.scalar_string_attr("", "keras_version").value_or("");
  json config = arch;
  config.erase("keras_version");
  config.erase("backend");
  Prepared p = prepare(config, out.keras_version, path);
  Sources sources;
  if (r.string_attr("", "layer_names"))
    collect_keras2(r, "", p.layers, sources);
  else if (r.is_group("model_weights"))
    collect_keras2(r, "model_weights", p.layers, sources);
  else if (r.is_group("layers"))
    collect_keras3(r, "layers", p.converted, p.layers, sources);
  else
    fail<FormatError>(weights, ": not a Keras weights file (no layer_names attribute, no "
                               "model_weights group, no Keras 3 layers group)");
  out.file = gather(p.converted, p.layers, sources, weights);
  out.where = weights;
  out.notes = std::move(p.converted.notes);
  return out;
}

Gathered read_keras_zip(const std::string& path) {
  Gathered out;
  out.format = "keras";
  const ZipReader z(path);
  const auto config_bytes = z.read("config.json", kMaxConfigBytes);
  if (!config_bytes) {
    std::string names;
    for (const std::string& n : z.names()) names += (names.empty() ? "" : ", ") + n;
    fail<FormatError>(path, ": the archive has no config.json (entries: ",
                      names.empty() ? "none" : names, "); not a Keras 3 .keras file");
  }
  const json config = parse_json(
      std::string_view(reinterpret_cast<const char*>(config_bytes->data()), config_bytes->size()),
      path + ": config.json");
  if (const auto meta = z.read("metadata.json", kMaxMetadataBytes)) {
    const json m = parse_json(
        std::string_view(reinterpret_cast<const char*>(meta->data()), meta->size()),
        path + ": metadata.json");
    if (m.is_object() && m.contains("keras_version") && m["keras_version"].is_string())
      out.keras_version = m["keras_version"].get<std::string>();
  }
  auto weights = z.read("model.weights.h5", kMaxWeightsBytes);
  if (!weights) {
    if (z.has("model.weights.npz"))
      fail<FormatError>(path, ": weights saved as model.weights.npz are not supported (save "
                              "with the default weights_format=\"h5\")");
    fail<FormatError>(path, ": the archive has no model.weights.h5");
  }
  const H5Reader r = H5Reader::open_image(std::move(*weights), path + ": model.weights.h5");
  Prepared p = prepare(config, out.keras_version, path + ": config.json");
  Sources sources;
  if (r.is_group("layers"))
    collect_keras3(r, "layers", p.converted, p.layers, sources);
  else if (r.is_group("_layer_checkpoint_dependencies"))
    collect_keras3(r, "_layer_checkpoint_dependencies", p.converted, p.layers, sources);
  else
    fail<FormatError>(r.name(), ": no 'layers' group (not a Keras 3 weights file)");
  out.file = gather(p.converted, p.layers, sources, path);
  out.where = path;
  out.notes = std::move(p.converted.notes);
  return out;
}

Gathered read_tfjs_model(const std::string& path) {
  Gathered out;
  out.format = "tfjs";
  const TfjsModel m = read_tfjs(path);
  out.keras_version = m.keras_version;
  Prepared p = prepare(m.config, m.keras_version, path + ": modelTopology");
  Sources sources;
  collect_tfjs(m, path, p.layers, sources);
  out.file = gather(p.converted, p.layers, sources, path);
  out.where = path;
  out.notes = std::move(p.converted.notes);
  return out;
}

bool is_tfjs_json(const std::string& path) {
  const json j = read_json_file(path);
  return j.is_object() && (j.contains("modelTopology") || j.contains("weightsManifest"));
}

// Steps 1-4 for any format; HDF5 reads are rehearsed in a child process (read_hdf5_guarded).
Gathered read_keras(const std::string& path, const std::string& weights_path) {
  const FileKind kind = sniff(path);
  if (kind == FileKind::directory) {
    const std::string model_json = (fs::path(path) / "model.json").string();
    if (!fs::exists(model_json))
      fail<IoError>(path, ": a folder without model.json (expected a TF.js layers model)");
    return read_keras(model_json, weights_path);
  }
  const bool architecture = kind == FileKind::json && !is_tfjs_json(path);
  if (!weights_path.empty() && !architecture)
    fail<InvalidArgument>(path, ": --weights is only for an architecture .json (model.to_json); "
                                "this file carries its own weights");
  switch (kind) {
    case FileKind::hdf5: return read_hdf5_guarded(path, [&] { return read_h5(path); });
    case FileKind::zip: return read_hdf5_guarded(path, [&] { return read_keras_zip(path); });
    case FileKind::json:
      if (!architecture) return read_tfjs_model(path);
      if (weights_path.empty())
        fail<InvalidArgument>(path, ": an architecture .json holds no weights; give the "
                                    "weights .h5 (model.save_weights) with --weights");
      return read_hdf5_guarded(weights_path,
                               [&] { return read_json_h5(path, weights_path); });
    case FileKind::directory: break;
  }
  fail<InternalError>("import_keras: unhandled file kind");
}

}  // namespace

KerasImport import_keras_detailed(const std::string& path, const std::string& weights_path) {
  Gathered g = read_keras(path, weights_path);
  KerasImport out;
  out.model = model_from_file(g.file, g.where, false);
  out.format = std::move(g.format);
  out.keras_version = std::move(g.keras_version);
  out.notes = std::move(g.notes);
  return out;
}

}  // namespace recur::interop

namespace recur {

std::unique_ptr<Model> import_keras(const std::string& path, const std::string& weights_path) {
  return interop::import_keras_detailed(path, weights_path).model;
}

}  // namespace recur
