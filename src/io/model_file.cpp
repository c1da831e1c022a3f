// save_model / load_model on top of the safetensors reader and writer.
#include "recur/io/model_file.hpp"

#include <cstring>
#include <set>

#include "io/keras_config.hpp"
#include "io/safetensors.hpp"
#include "recur/error.hpp"

namespace recur {

void save_model(const std::string& path, Sequential& model,
                const std::map<std::string, std::string>& metadata) {
  if (!model.built()) fail<InvalidArgument>("save_model: the model is not built");
  std::map<std::string, std::string> meta = metadata;
  if (meta.count("recur.format") || meta.count("recur.model"))
    fail<InvalidArgument>("save_model: metadata may not set recur.format or recur.model");
  meta["recur.format"] = "1";
  meta["recur.model"] = model.to_json().dump();
  std::vector<io::RawTensor> raws;
  std::vector<std::string> names;
  raws.reserve(model.params().size());
  // Parameters in file order; the owning layer's name prefixes each.
  for (std::size_t li = 0; li < model.size(); ++li) {
    std::vector<Param*> ps;
    model.layer(li).collect_params(ps);
    for (Param* p : ps) {
      Tensor t(p->shape);
      std::memcpy(t.data(), p->value.data, static_cast<std::size_t>(t.numel()) * sizeof(float));
      raws.push_back(io::raw_from_float(t));
      names.push_back(model.layer(li).name() + "/" + p->name);
    }
  }
  std::vector<std::pair<std::string, const io::RawTensor*>> tensors;
  for (std::size_t i = 0; i < raws.size(); ++i) tensors.emplace_back(names[i], &raws[i]);
  io::write_safetensors(path, meta, tensors);
}

Sequential load_model(const std::string& path, std::map<std::string, std::string>* metadata) {
  io::SafetensorsFile file = io::read_safetensors(path);
  auto fmt = file.metadata.find("recur.format");
  if (fmt != file.metadata.end() && fmt->second != "1")
    fail<FormatError>(path, ": recur.format is \"", fmt->second,
                      "\"; this version reads format \"1\"");
  auto arch = file.metadata.find("recur.model");
  if (arch == file.metadata.end())
    fail<FormatError>(path, ": no \"recur.model\" entry in __metadata__ (not a recur model file)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(arch->second);
  } catch (const nlohmann::json::exception& e) {
    fail<FormatError>(path, ": recur.model is not valid JSON: ", e.what());
  }
  Sequential model = io::sequential_from_keras(j, path);
  std::set<std::string> used;
  for (std::size_t li = 0; li < model.size(); ++li) {
    Layer& layer = model.layer(li);
    std::vector<Param*> ps;
    layer.collect_params(ps);
    for (Param* p : ps) {
      const std::string name = layer.name() + "/" + p->name;
      auto it = file.tensors.find(name);
      if (it == file.tensors.end())
        fail<FormatError>(path, ": ", layer.class_name(), " '", layer.name(),
                          "' needs tensor '", name, "' ", shape_str(p->shape),
                          ", which the file does not have");
      const io::RawTensor& raw = it->second;
      if (raw.dtype != io::DType::F32)
        fail<FormatError>(path, ": tensor '", name, "' has dtype ", io::dtype_name(raw.dtype),
                          ", expected F32");
      if (raw.shape != p->shape)
        fail<FormatError>(path, ": tensor '", name, "' has shape ", shape_str(raw.shape),
                          ", expected ", shape_str(p->shape), " for ", layer.class_name(), " '",
                          layer.name(), "'");
      std::memcpy(p->value.data, raw.bytes.data(), raw.bytes.size());
      used.insert(name);
    }
  }
  for (const auto& [name, raw] : file.tensors)
    if (!used.count(name))
      fail<FormatError>(path, ": tensor '", name, "' does not belong to any layer of the model");
  if (metadata) *metadata = std::move(file.metadata);
  return model;
}

}  // namespace recur
