// TF.js layers-format reader (see keras_tfjs.hpp).
#include "interop/keras_tfjs.hpp"

#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "io/safetensors.hpp"
#include "recur/error.hpp"

namespace recur::interop {

namespace fs = std::filesystem;
using nlohmann::json;

static_assert(std::endian::native == std::endian::little,
              "TF.js shards are little-endian float32; this reader copies them as they are");

namespace {

constexpr std::uintmax_t kMaxModelJson = 256ull << 20;
constexpr std::size_t kMaxWeights = 100'000;

std::string read_text(const std::string& path, std::uintmax_t limit) {
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) fail<IoError>(path, ": cannot read (", ec.message(), ")");
  if (size > limit) fail<FormatError>(path, ": ", size, " bytes is too large (limit ", limit, ")");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail<IoError>(path, ": cannot open");
  std::string text(static_cast<std::size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  if (static_cast<std::uintmax_t>(in.gcount()) != size) fail<IoError>(path, ": short read");
  return text;
}

// A shard path from the manifest, resolved inside `dir` (the folder of model.json).
fs::path shard_path(const fs::path& dir, const json& p, const std::string& where) {
  if (!p.is_string()) fail<FormatError>(where, ": a shard path must be a string, got ", p.dump());
  const std::string s = p.get<std::string>();
  if (s.empty()) fail<FormatError>(where, ": empty shard path");
  if (s.find("://") != std::string::npos || s.find('\\') != std::string::npos ||
      s.find('\0') != std::string::npos)
    fail<FormatError>(where, ": shard path \"", io::detail::printable(s),
                      "\" is not a plain relative file path");
  const fs::path rel(s);
  if (rel.is_absolute())
    fail<FormatError>(where, ": shard path \"", s, "\" is absolute; shards must sit next to "
                                                    "model.json");
  for (const fs::path& part : rel)
    if (part == "..")
      fail<FormatError>(where, ": shard path \"", s,
                        "\" leaves the model's folder (\"..\"); shards must sit next to "
                        "model.json");
  const fs::path full = dir / rel;
  std::error_code ec;
  const fs::path real = fs::canonical(full, ec);
  if (ec) fail<IoError>(where, ": shard \"", s, "\" cannot be opened (", ec.message(), ")");
  const fs::path real_dir = fs::canonical(dir, ec);
  if (ec) fail<IoError>(where, ": cannot resolve the model's folder (", ec.message(), ")");
  const std::string a = real.string(), b = real_dir.string() + "/";
  if (a.compare(0, b.size(), b) != 0)
    fail<FormatError>(where, ": shard \"", s, "\" resolves to ", a,
                      ", outside the model's folder (symbolic link?)");
  if (!fs::is_regular_file(real, ec))
    fail<FormatError>(where, ": shard \"", s, "\" is not a regular file");
  return real;
}

Shape weight_shape(const json& w, const std::string& where) {
  if (!w.contains("shape") || !w["shape"].is_array())
    fail<FormatError>(where, ": no \"shape\" list");
  if (w["shape"].size() > io::kMaxSafetensorsRank)
    fail<FormatError>(where, ": rank ", w["shape"].size(), " (at most ",
                      io::kMaxSafetensorsRank, ")");
  Shape shape;
  for (const json& d : w["shape"]) {
    if (!d.is_number_integer() || d.get<std::int64_t>() < 0)
      fail<FormatError>(where, ": bad shape ", w["shape"].dump());
    shape.push_back(d.get<std::int64_t>());
  }
  return shape;
}

}  // namespace

TfjsModel read_tfjs(const std::string& model_json) {
  json j;
  try {
    j = json::parse(read_text(model_json, kMaxModelJson));
  } catch (const json::exception& e) {
    fail<FormatError>(model_json, ": not valid JSON: ", e.what());
  }
  if (!j.is_object()) fail<FormatError>(model_json, ": expected a JSON object");
  if (j.contains("format") && j["format"] == "graph-model")
    fail<FormatError>(model_json, ": a TF.js graph model (tf.loadGraphModel) has no Keras "
                                  "layers; only layers models (tf.loadLayersModel) can be "
                                  "imported");
  if (!j.contains("modelTopology") || !j["modelTopology"].is_object())
    fail<FormatError>(model_json, ": no \"modelTopology\" object");
  TfjsModel out;
  const json& topo = j["modelTopology"];
  if (topo.contains("keras_version") && topo["keras_version"].is_string())
    out.keras_version = topo["keras_version"].get<std::string>();
  if (topo.contains("model_config")) {  // the tensorflowjs converter's shape
    out.config = topo["model_config"];
  } else {
    out.config = topo;
    out.config.erase("keras_version");
    out.config.erase("backend");
  }
  if (!j.contains("weightsManifest") || !j["weightsManifest"].is_array())
    fail<FormatError>(model_json, ": no \"weightsManifest\" list");

  const fs::path dir = fs::path(model_json).parent_path().empty()
                           ? fs::path(".")
                           : fs::path(model_json).parent_path();
  const json& manifest = j["weightsManifest"];
  for (std::size_t g = 0; g < manifest.size(); ++g) {
    const std::string gw = model_json + ": weightsManifest[" + std::to_string(g) + "]";
    const json& group = manifest[g];
    if (!group.is_object() || !group.contains("paths") || !group["paths"].is_array() ||
        !group.contains("weights") || !group["weights"].is_array())
      fail<FormatError>(gw, ": expected {\"paths\": [...], \"weights\": [...]}");
    // 1. What the weights need, from the manifest alone.
    struct Spec {
      std::string name;
      Shape shape;
      std::uint64_t bytes;
    };
    std::vector<Spec> specs;
    std::uint64_t need = 0;
    for (std::size_t i = 0; i < group["weights"].size(); ++i) {
      const json& w = group["weights"][i];
      const std::string ww = gw + ".weights[" + std::to_string(i) + "]";
      if (!w.is_object() || !w.contains("name") || !w["name"].is_string())
        fail<FormatError>(ww, ": expected {\"name\", \"shape\", \"dtype\"}");
      const std::string name = w["name"].get<std::string>();
      const std::string wn = ww + " ('" + name + "')";
      if (w.contains("quantization") && !w["quantization"].is_null())
        fail<FormatError>(wn, ": quantized weights are not supported (save without "
                              "quantization)");
      const std::string dtype = w.value("dtype", std::string("float32"));
      if (dtype != "float32")
        fail<FormatError>(wn, ": dtype \"", dtype, "\" is not supported (float32 weights only)");
      Shape shape = weight_shape(w, wn);
      const std::optional<std::uint64_t> bytes = io::detail::checked_nbytes(shape, 4);
      if (!bytes) fail<FormatError>(wn, ": shape ", shape_str(shape), " is too large");
      need += *bytes;
      specs.push_back({name, std::move(shape), *bytes});
      if (out.weights.size() + specs.size() > kMaxWeights)
        fail<FormatError>(model_json, ": more than ", kMaxWeights, " weights");
    }
    // 2. The shards: inside the folder, and exactly as many bytes as the weights need.
    std::vector<fs::path> shards;
    std::uint64_t have = 0;
    for (const json& p : group["paths"]) {
      shards.push_back(shard_path(dir, p, gw));
      std::error_code ec;
      have += fs::file_size(shards.back(), ec);
      if (ec) fail<IoError>(gw, ": cannot read shard ", shards.back().string());
    }
    if (have != need)
      fail<FormatError>(gw, ": its shards hold ", have, " bytes, but its weights need ", need,
                        " (", specs.size(), " float32 weights): truncated or mismatched shards");
    // 3. Read the group's bytes (shards concatenated in order) and cut out the weights.
    std::vector<std::uint8_t> data(static_cast<std::size_t>(need));  // [need] bytes
    std::uint64_t at = 0;
    for (const fs::path& shard : shards) {
      std::ifstream in(shard, std::ios::binary);
      if (!in) fail<IoError>(gw, ": cannot open shard ", shard.string());
      in.read(reinterpret_cast<char*>(data.data() + at),
              static_cast<std::streamsize>(need - at));
      at += static_cast<std::uint64_t>(in.gcount());
    }
    if (at != need) fail<IoError>(gw, ": shards changed while being read");
    std::uint64_t offset = 0;
    for (Spec& s : specs) {
      TfjsWeight w{s.name, s.shape, std::vector<float>(static_cast<std::size_t>(s.bytes / 4))};
      std::memcpy(w.data.data(), data.data() + offset, static_cast<std::size_t>(s.bytes));
      offset += s.bytes;
      out.weights.push_back(std::move(w));
    }
  }
  return out;
}

}  // namespace recur::interop
