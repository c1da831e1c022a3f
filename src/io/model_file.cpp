// save_model / load_model on top of the safetensors reader and writer.
#include "recur/io/model_file.hpp"

#include <cstring>
#include <set>

#include "io/keras_config.hpp"
#include "io/keras_functional.hpp"
#include "io/model_io.hpp"
#include "io/safetensors.hpp"
#include "recur/error.hpp"

namespace recur {

std::vector<std::pair<std::string, io::RawTensor>> model_tensors(const Model& model) {
  std::vector<std::pair<std::string, io::RawTensor>> out;
  // Parameters in file order; the owning layer's name prefixes each.
  for (const Variable& v : model.variables()) {
    Tensor t(v.value.shape);
    std::memcpy(t.data(), v.value.data, static_cast<std::size_t>(t.numel()) * sizeof(float));
    out.emplace_back(v.name, io::raw_from_float(t));
  }
  return out;
}

void save_model(const std::string& path, const Model& model,
                const std::map<std::string, std::string>& metadata) {
  if (!model.built()) fail<InvalidArgument>("save_model: the model is not built");
  std::map<std::string, std::string> meta = metadata;
  if (meta.count("recur.format") || meta.count("recur.model"))
    fail<InvalidArgument>("save_model: metadata may not set recur.format or recur.model");
  meta["recur.format"] = "1";
  meta["recur.model"] = model.to_json().dump();
  const auto raws = model_tensors(model);
  std::vector<std::pair<std::string, const io::RawTensor*>> tensors;
  for (const auto& [name, raw] : raws) tensors.emplace_back(name, &raw);
  io::write_safetensors(path, meta, tensors);
}

void Model::save(const std::string& path) const { save_model(path, *this); }

namespace {

// Checks the file's tensors against the layers' declared parameters (names, dtypes, shapes) and
// rejects tensors no layer uses. Runs before the parameters are allocated (BeforeAllocate) and
// once more after, so the data copy below relies on it either way.
void check_tensors(const io::SafetensorsFile& file, const std::string& path, bool allow_extra,
                   const std::vector<Layer*>& layers) {
  std::set<std::string> used;
  for (Layer* lp : layers) {
    Layer& layer = *lp;
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
      used.insert(name);
    }
  }
  for (const auto& [name, raw] : file.tensors)
    if (!used.count(name) &&
        !(allow_extra && (name.rfind("optimizer/", 0) == 0 || name.rfind("training/", 0) == 0)))
      fail<FormatError>(path, ": tensor '", name, "' does not belong to any layer of the model");
}

}  // namespace

std::unique_ptr<Model> model_from_file(const io::SafetensorsFile& file, const std::string& path,
                                       bool allow_extra) {
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
  // The tensors are checked before the parameters are allocated: the architecture alone must
  // not make the loader allocate (a few bytes of JSON can claim gigabytes of weights).
  const io::BeforeAllocate check = [&](const std::vector<Layer*>& layers) {
    check_tensors(file, path, allow_extra, layers);
  };
  std::unique_ptr<Model> model;
  if (j.is_object() && j.value("class_name", nlohmann::json()) == "Sequential")
    model = std::make_unique<Sequential>(io::sequential_from_keras(j, path, check));
  else
    model = io::functional_from_keras(j, path, check);
  check_tensors(file, path, allow_extra, model->layers());
  for (Layer* layer : model->layers()) {
    std::vector<Param*> ps;
    layer->collect_params(ps);
    for (Param* p : ps) {
      const io::RawTensor& raw = file.tensors.at(layer->name() + "/" + p->name);
      std::memcpy(p->value.data, raw.bytes.data(), raw.bytes.size());
    }
  }
  return model;
}

std::unique_ptr<Model> load_model(const std::string& path,
                                  std::map<std::string, std::string>* metadata) {
  io::SafetensorsFile file = io::read_safetensors(path);
  // A training checkpoint is a model file with optimizer state beside the weights.
  std::unique_ptr<Model> model = model_from_file(file, path, file.metadata.count("recur.training") > 0);
  if (metadata) *metadata = std::move(file.metadata);
  return model;
}

Sequential load_sequential(const std::string& path,
                           std::map<std::string, std::string>* metadata) {
  std::unique_ptr<Model> m = load_model(path, metadata);
  auto* seq = dynamic_cast<Sequential*>(m.get());
  if (!seq)
    fail<ConfigError>(path, ": expected a Sequential model, the file holds a ", m->class_name(),
                      " model");
  return std::move(*seq);
}

}  // namespace recur
