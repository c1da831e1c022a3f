// BackupAndRestore: resumable checkpoints written atomically at epoch ends (and every
// save_freq batches), restored at the start of fit(). The metadata also records the global
// batch (ranks × batch_size) and rank count of the run, so that fit() can resume a mid-epoch
// checkpoint with another rank count (docs/SCALING.md).
#include "train/checkpoint.hpp"

#include <cstring>
#include <filesystem>
#include <system_error>

#include "io/model_io.hpp"
#include "io/safetensors.hpp"
#include "recur/error.hpp"
#include "recur/train/checkpoint.hpp"

namespace recur {

namespace fs = std::filesystem;
using nlohmann::json;

std::string checkpoint_file(const std::string& dir) {
  return (fs::path(dir) / "checkpoint.safetensors").string();
}

namespace {

json rng_json(const Rng& r) {
  json a = json::array();
  for (uint64_t w : r.state()) a.push_back(std::to_string(w));  // u64 exactly, as strings
  return a;
}

Rng rng_from_json(const json& a, const std::string& where) {
  if (!a.is_array() || a.size() != 4) fail<FormatError>(where, ": bad RNG state");
  std::array<uint64_t, 4> s{};
  for (std::size_t i = 0; i < 4; ++i) {
    if (!a[i].is_string()) fail<FormatError>(where, ": bad RNG state");
    try {
      s[i] = std::stoull(a[i].get<std::string>());
    } catch (const std::exception&) {
      fail<FormatError>(where, ": bad RNG state");
    }
  }
  Rng r;
  r.set_state(s);
  return r;
}

io::RawTensor raw_i64(const std::vector<int64_t>& v) {
  io::RawTensor r{io::DType::I64, {static_cast<int64_t>(v.size())}, {}};
  r.bytes.resize(v.size() * sizeof(int64_t));
  if (!v.empty()) std::memcpy(r.bytes.data(), v.data(), r.bytes.size());
  return r;
}

// Copies a checkpoint tensor into `dst` after checking its dtype and shape.
void copy_f32(const io::SafetensorsFile& file, const std::string& name, const TensorView& dst,
              const std::string& where) {
  auto it = file.tensors.find(name);
  if (it == file.tensors.end())
    fail<FormatError>(where, ": checkpoint has no tensor '", name, "'");
  const io::RawTensor& raw = it->second;
  if (raw.dtype != io::DType::F32 || raw.shape != dst.shape)
    fail<FormatError>(where, ": checkpoint tensor '", name, "' is ", io::dtype_name(raw.dtype), " ",
                      shape_str(raw.shape), ", expected F32 ", shape_str(dst.shape));
  std::memcpy(dst.data, raw.bytes.data(), raw.bytes.size());
}

}  // namespace

BackupAndRestore::BackupAndRestore(std::string dir, int64_t save_freq, bool delete_checkpoint)
    : dir_(std::move(dir)), save_freq_(save_freq), delete_checkpoint_(delete_checkpoint) {
  if (dir_.empty()) fail<InvalidArgument>("backup_and_restore: backup_dir is empty");
  if (save_freq_ < 0)
    fail<InvalidArgument>("backup_and_restore: save_freq must be >= 0, got ", save_freq_);
}

std::string BackupAndRestore::path() const { return checkpoint_file(dir_); }

void BackupAndRestore::save(const Model& model, Trainer& t, const LoopState& loop,
                            const DataFingerprint& data) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) fail<IoError>(dir_, ": cannot create the checkpoint directory: ", ec.message());
  json hist = json::object();
  for (const auto& [k, v] : loop.history.history) hist[k] = v;
  json training = {
      {"kind", "checkpoint"},
      {"epoch", loop.epoch},
      {"step", loop.step},
      {"n_train", data.n_train},
      {"data_hash", std::to_string(data.hash)},
      {"optimizer", optimizer_to_json(t.optimizer->options())},
      {"optimizer_state", t.optimizer->scalar_state()},
      {"rng_shuffle", rng_json(t.shuffle_rng)},
      {"rng_dropout", rng_json(t.dropout_rng)},
      {"loss_sum", loop.loss.sum()},
      {"loss_count", loop.loss.count()},
      {"history", hist},
      {"history_epochs", loop.history.epoch},
      {"global_batch", t.global_batch},
      {"ranks", t.ranks},
  };
  std::map<std::string, std::string> meta{{"recur.format", "1"},
                                          {"recur.model", model.to_json().dump()},
                                          {"recur.training", training.dump()}};
  std::vector<std::pair<std::string, io::RawTensor>> raws = model_tensors(model);
  for (auto& [name, view] : t.optimizer->state()) {
    Tensor copy(view.shape);
    std::memcpy(copy.data(), view.data, static_cast<std::size_t>(copy.numel()) * sizeof(float));
    raws.emplace_back("optimizer/" + name, io::raw_from_float(copy));
  }
  if (loop.step > 0) raws.emplace_back("training/order", raw_i64(loop.order));
  std::vector<std::pair<std::string, const io::RawTensor*>> tensors;
  for (const auto& [name, raw] : raws) tensors.emplace_back(name, &raw);
  io::write_safetensors(path(), meta, tensors);
}

bool BackupAndRestore::restore(Model& model, Trainer& t, LoopState& loop,
                               const DataFingerprint& data) {
  const std::string p = path();
  std::error_code ec;
  if (!fs::exists(p, ec)) return false;
  io::SafetensorsFile file = io::read_safetensors(p);
  auto arch = file.metadata.find("recur.model");
  auto tr = file.metadata.find("recur.training");
  if (arch == file.metadata.end() || tr == file.metadata.end())
    fail<FormatError>(p, ": not a recur training checkpoint (no recur.model/recur.training)");
  json training;
  try {
    if (json::parse(arch->second) != model.to_json())
      fail<ConfigError>(p, ": the checkpoint was written for another model architecture");
    training = json::parse(tr->second);
  } catch (const json::exception& e) {
    fail<FormatError>(p, ": bad checkpoint metadata: ", e.what());
  }
  try {
    if (training.at("n_train").get<int64_t>() != data.n_train ||
        training.at("data_hash").get<std::string>() != std::to_string(data.hash))
      fail<ConfigError>(p, ": the checkpoint was written for other training data (",
                        training.at("n_train").get<int64_t>(), " rows; now ", data.n_train,
                        "); resume with the same data, or use a new checkpoint directory");
    if (optimizer_from_json(training.at("optimizer")).name != t.optimizer->options().name)
      fail<ConfigError>(p, ": the checkpoint's optimizer is '",
                        optimizer_from_json(training.at("optimizer")).name, "', the model is "
                        "compiled with '", t.optimizer->options().name, "'");
    for (const Variable& v : model.variables()) copy_f32(file, v.name, v.value, p);
    for (auto& [name, view] : t.optimizer->state()) copy_f32(file, "optimizer/" + name, view, p);
    t.optimizer->set_scalar_state(training.at("optimizer_state"));
    t.shuffle_rng = rng_from_json(training.at("rng_shuffle"), p);
    t.dropout_rng = rng_from_json(training.at("rng_dropout"), p);
    t.resume_global_batch = training.value("global_batch", int64_t{0});
    loop.epoch = training.at("epoch").get<int>();
    loop.step = training.at("step").get<int64_t>();
    loop.loss.set(training.at("loss_sum").get<double>(), training.at("loss_count").get<double>());
    loop.history = History{};
    loop.history.epoch = training.at("history_epochs").get<std::vector<int>>();
    for (const auto& [k, v] : training.at("history").items())
      loop.history.history[k] = v.get<std::vector<double>>();
    loop.order.clear();
    if (loop.step > 0) {
      auto it = file.tensors.find("training/order");
      if (it == file.tensors.end() || it->second.dtype != io::DType::I64 ||
          it->second.shape != Shape{data.n_train})
        fail<FormatError>(p, ": mid-epoch checkpoint without a valid training/order tensor");
      loop.order.resize(static_cast<std::size_t>(data.n_train));
      std::memcpy(loop.order.data(), it->second.bytes.data(), it->second.bytes.size());
      for (int64_t r : loop.order)
        if (r < 0 || r >= data.n_train) fail<FormatError>(p, ": training/order out of range");
    }
  } catch (const json::exception& e) {
    fail<FormatError>(p, ": bad recur.training metadata: ", e.what());
  }
  return true;
}

void BackupAndRestore::finished() {
  if (!delete_checkpoint_) return;
  std::error_code ec;
  fs::remove(path(), ec);
}

std::shared_ptr<Callback> backup_and_restore(std::string backup_dir, int64_t save_freq,
                                             bool delete_checkpoint) {
  return std::make_shared<BackupAndRestore>(std::move(backup_dir), save_freq, delete_checkpoint);
}

}  // namespace recur
