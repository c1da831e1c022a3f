// Servant mode: the fit job rank 0 ships to the other ranks, and the loop that receives it.
// Also the launch detection shared by both builds (mpi.cpp, serial.cpp).
//
// One job on the wire, all broadcasts from rank 0: command 1, then a JSON header
//   {"model": <architecture>, "weights": [[name, shape]...], "optimizer": <config>,
//    "losses": [{kind, from_logits, delta}...], "loss_weights": [...], "metrics": [...],
//    "fit": {epochs, batch_size, validation_split, shuffle, seed, initial_epoch, class_weight},
//    "arrays": {"x": [shape...], "y": [...], "validation_x": [...], "validation_y": [...],
//               "sample_weight": [...]}}
// then the weights and the arrays as float32 in that order. The servant's own fit() then syncs
// weights and optimizer state from rank 0 (fit.cpp), so a model trained over several fit()
// calls (recur textgen) continues exactly.
#include "dist/fit_server.hpp"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "dist/dist.hpp"
#include "io/model_io.hpp"
#include "recur/error.hpp"
#include "recur/train/loss.hpp"

namespace recur::dist {

using nlohmann::json;

namespace {

int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return 0;
  return std::atoi(v);
}

json shapes(const std::vector<Tensor>& ts) {
  json a = json::array();
  for (const Tensor& t : ts) a.push_back(t.shape());
  return a;
}

void send_arrays(const std::vector<Tensor>& ts) {
  for (const Tensor& t : ts)
    broadcast(const_cast<float*>(t.data()), static_cast<std::size_t>(t.numel()), "fit job");
}

std::vector<Tensor> receive_arrays(const json& shape_list) {
  std::vector<Tensor> out;
  for (const json& s : shape_list) {
    Tensor t(s.get<Shape>());
    broadcast(t.data(), static_cast<std::size_t>(t.numel()), "fit job");
    out.push_back(std::move(t));
  }
  return out;
}

// Receives one job and runs it.
void run_fit_job() {
  std::string text;
  broadcast(text, "fit job");
  const json h = json::parse(text);
  io::SafetensorsFile file;
  file.metadata = {{"recur.format", "1"}, {"recur.model", h.at("model").dump()}};
  for (const json& w : h.at("weights")) {
    Tensor t(w.at(1).get<Shape>());
    broadcast(t.data(), static_cast<std::size_t>(t.numel()), "fit job");
    file.tensors[w.at(0).get<std::string>()] = io::raw_from_float(t);
  }
  const json& a = h.at("arrays");
  std::vector<Tensor> x = receive_arrays(a.at("x"));
  std::vector<Tensor> y = receive_arrays(a.at("y"));
  FitOptions fo;
  fo.validation_x = receive_arrays(a.at("validation_x"));
  fo.validation_y = receive_arrays(a.at("validation_y"));
  std::vector<Tensor> sw = receive_arrays(a.at("sample_weight"));
  if (!sw.empty()) fo.sample_weight = std::move(sw[0]);

  std::unique_ptr<Model> model = model_from_file(file, "(rank 0's model)", false);
  CompileOptions co;
  co.optimizer = optimizer_from_json(h.at("optimizer"));
  for (const json& l : h.at("losses")) {
    LossOptions lo = parse_loss(l.at("kind").get<std::string>());
    lo.from_logits = l.at("from_logits").get<bool>();
    lo.delta = l.at("delta").get<float>();
    co.losses.push_back(lo);
  }
  co.loss_weights = h.at("loss_weights").get<std::vector<double>>();
  co.metrics = h.at("metrics").get<std::vector<std::string>>();
  model->compile(co);

  const json& f = h.at("fit");
  fo.epochs = f.at("epochs").get<int>();
  fo.batch_size = f.at("batch_size").get<int64_t>();
  fo.validation_split = f.at("validation_split").get<double>();
  fo.shuffle = f.at("shuffle").get<bool>();
  fo.seed = f.at("seed").get<uint64_t>();
  fo.initial_epoch = f.at("initial_epoch").get<int>();
  for (const json& kv : f.at("class_weight"))
    fo.class_weight[kv.at(0).get<int64_t>()] = kv.at(1).get<double>();
  fo.verbose = 0;
  model->fit(x, y, fo);
}

}  // namespace

bool launched_by_mpirun() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") ||
         std::getenv("PMIX_RANK");
}

int launch_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const int n = env_int(name); n > 0) return n;
  return 1;
}

void send_fit(const Model& model, const Trainer& t, const std::vector<Tensor>& x,
              const std::vector<Tensor>& y, const FitOptions& o) {
  send_command(1);
  std::vector<std::pair<std::string, io::RawTensor>> weights = model_tensors(model);
  json w = json::array();
  for (const auto& [name, raw] : weights) w.push_back({name, raw.shape});
  json losses = json::array();
  for (const Loss& l : t.losses)
    losses.push_back({{"kind", loss_name(l.options().kind)},
                      {"from_logits", l.options().from_logits},
                      {"delta", l.options().delta}});
  json cw = json::array();
  for (const auto& [k, v] : o.class_weight) cw.push_back({k, v});
  std::vector<Tensor> sw;
  if (!o.sample_weight.empty()) sw.push_back(o.sample_weight);
  json h = {
      {"model", model.to_json()},
      {"weights", w},
      {"optimizer", optimizer_to_json(t.optimizer->options())},
      {"losses", losses},
      {"loss_weights", t.loss_weights},
      {"metrics", t.options.metrics},
      {"fit",
       {{"epochs", o.epochs},
        {"batch_size", o.batch_size},
        {"validation_split", o.validation_split},
        {"shuffle", o.shuffle},
        {"seed", o.seed},
        {"initial_epoch", o.initial_epoch},
        {"class_weight", cw}}},
      {"arrays",
       {{"x", shapes(x)},
        {"y", shapes(y)},
        {"validation_x", shapes(o.validation_x)},
        {"validation_y", shapes(o.validation_y)},
        {"sample_weight", shapes(sw)}}},
  };
  std::string text = h.dump();
  broadcast(text, "fit job");
  for (auto& [name, raw] : weights)
    broadcast(reinterpret_cast<float*>(raw.bytes.data()), raw.bytes.size() / sizeof(float),
              "fit job");
  send_arrays(x);
  send_arrays(y);
  send_arrays(o.validation_x);
  send_arrays(o.validation_y);
  send_arrays(sw);
}

void serve() {
  while (true) {
    const int cmd = receive_command();
    if (cmd == 0) return;
    try {
      run_fit_job();
    } catch (const Error&) {
      // The same job fails the same way on rank 0, which reports it; wait for the next one.
    }
  }
}

}  // namespace recur::dist
