// export_onnx: a recur model (Sequential or Functional) -> an ONNX file
// (docs/interop/onnx-export.md).
//
// The graph works time-major inside, like recur: each batch-first input [N, T, F] (float) or
// [N, T] (int64 token ids) is transposed to [T, N, ...] once, the layers follow (recurrent ones:
// onnx_export_rnn.cpp), and each output is transposed back to batch-first ([N, T, U]) or passed
// as is ([N, U]). Masks (Masking, Embedding mask_zero) travel next to the values as bool [T, N]
// tensors and follow recur's rules: Dense and Dropout pass them on, a recurrent layer passes them
// on only with return_sequences, Concatenate/Add AND them.
#include "interop/onnx_export.hpp"

#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

#include "interop/onnx_export_graph.hpp"
#include "interop/onnx_export_rnn.hpp"
#include "io/atomic_file.hpp"
#include "recur/error.hpp"
#include "recur/interop/onnx.hpp"
#include "recur/layers/bidirectional.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/dropout.hpp"
#include "recur/layers/embedding.hpp"
#include "recur/layers/masking.hpp"
#include "recur/layers/merge.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/model/functional.hpp"

namespace recur {

namespace {

using onnx_export::attr_int;
using onnx_export::attr_ints;
using onnx_export::Dim;
using onnx_export::Graph;
using onnx_export::Names;

using onnx_export::kMaxOpset;
using onnx_export::kMinOpset;

// The IR version that goes with an opset (ONNX's versioning table).
int64_t ir_version_for(int64_t opset) {
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

// One value of the graph, time-major.
struct Value {
  std::string name;
  int rank = 3;      // 3: [T, B, F]; 2: [B, F], or [T, B] when ids
  bool ids = false;  // int64 token ids [T, B]
  std::string mask;  // bool [T, B], or ""
  Dim time;          // the T of rank-3 (and id) values, for the graph's output types
};

class Exporter {
 public:
  Exporter(const Model& model, const std::string& path, onnx::GraphProto& proto)
      : model_(model), path_(path), g_(proto, names_) {}

  void run();

 private:
  std::string where(const Layer& l) const {
    return path_ + ": cannot export " + l.class_name() + " '" + l.name() + "' to ONNX";
  }
  Value graph_input(const std::string& name, const Shape& sample, const std::string& time_param);
  void graph_output(const std::string& name, const Value& v, int64_t units);
  // The layer's outputs: {y} or, for a recurrent layer with return_state, {y, h(, c)}.
  std::vector<Value> emit(Layer& layer, const std::vector<Value>& inputs,
                          const std::vector<Value>& states);
  void run_sequential();
  void run_functional();

  const Model& model_;
  std::string path_;
  Names names_;
  Graph g_;
};

Value Exporter::graph_input(const std::string& name, const Shape& sample,
                            const std::string& time_param) {
  Value v;
  v.ids = sample.size() == 1;
  v.time = sample[0] >= 0 ? Dim{sample[0], ""} : Dim{-1, time_param};
  std::vector<Dim> dims = {Dim{-1, "batch"}, v.time};
  if (!v.ids) dims.push_back(Dim{sample[1], ""});
  g_.input(name, v.ids ? onnx::TensorProto::INT64 : onnx::TensorProto::FLOAT, dims);
  v.rank = v.ids ? 2 : 3;
  v.name = names_.fresh(name + "/time_major");
  attr_ints(g_.node("Transpose", {name}, {v.name}), "perm",
            v.ids ? std::vector<int64_t>{1, 0} : std::vector<int64_t>{1, 0, 2});
  return v;
}

void Exporter::graph_output(const std::string& name, const Value& v, int64_t units) {
  if (v.ids)
    fail<ConfigError>(path_, ": cannot export to ONNX: output '", name,
                      "' would be the token ids themselves");
  if (v.rank == 3) {
    attr_ints(g_.node("Transpose", {v.name}, {name}), "perm", {1, 0, 2});
    g_.output(name, onnx::TensorProto::FLOAT, {Dim{-1, "batch"}, v.time, Dim{units, ""}});
  } else {
    g_.node("Identity", {v.name}, {name});
    g_.output(name, onnx::TensorProto::FLOAT, {Dim{-1, "batch"}, Dim{units, ""}});
  }
}

std::vector<Value> Exporter::emit(Layer& layer, const std::vector<Value>& inputs,
                                  const std::vector<Value>& states) {
  const std::string hint = layer.name();
  const std::string what = where(layer);
  if (!states.empty() && !dynamic_cast<Recurrent*>(&layer))
    fail<ConfigError>(what, ": only recurrent layers take initial states");
  if (auto* merge = dynamic_cast<MergeLayer*>(&layer)) {
    Value out = inputs[0];
    std::vector<std::string> names;
    for (const Value& v : inputs) names.push_back(v.name);
    if (dynamic_cast<Concatenate*>(merge)) {
      out.name = names_.fresh(hint + "/concat");
      attr_int(g_.node("Concat", names, {out.name}), "axis", -1);
    } else if (dynamic_cast<Add*>(merge)) {
      out.name = names[0];  // ((x0 + x1) + x2) ..., in recur's order
      for (std::size_t i = 1; i < names.size(); ++i)
        out.name = g_.op("Add", {out.name, names[i]}, hint + "/add");
    } else {
      fail<ConfigError>(what, ": this merge layer is not supported (supported: Concatenate, Add)");
    }
    // The output mask: the AND of the inputs' masks.
    out.mask.clear();
    for (const Value& v : inputs) {
      if (v.mask.empty()) continue;
      out.mask = out.mask.empty() ? v.mask : g_.op("And", {out.mask, v.mask}, hint + "/mask");
    }
    return {out};
  }
  if (inputs.size() != 1) fail<ConfigError>(what, ": expected one input, got ", inputs.size());
  const Value& x = inputs[0];
  if (x.ids && !dynamic_cast<Embedding*>(&layer))
    fail<ConfigError>(what, ": its input is token ids; only Embedding takes token ids");

  if (auto* r = dynamic_cast<Recurrent*>(&layer)) {
    onnx_export::check_recurrent(*r, what);
    onnx_export::RnnInput in{x.name, x.mask, {}};
    for (const Value& s : states) in.initial.push_back(s.name);
    if (!in.initial.empty() && in.initial.size() != static_cast<std::size_t>(r->state_count()))
      fail<ConfigError>(what, ": got ", in.initial.size(), " initial state(s), expected ",
                        r->state_count());
    onnx_export::RnnOutput ro = onnx_export::emit_recurrent(g_, *r, hint, in);
    const bool seq = r->options().return_sequences;
    Value y{ro.y, seq ? 3 : 2, false, seq ? x.mask : "", x.time};
    std::vector<Value> outs = {y};
    if (r->options().return_state)
      for (const std::string& s : ro.states) outs.push_back(Value{s, 2, false, "", Dim{}});
    return outs;
  }
  if (auto* bi = dynamic_cast<Bidirectional*>(&layer)) {
    onnx_export::check_recurrent(bi->forward_layer(), what);
    onnx_export::check_recurrent(bi->backward_layer(), what);
    const bool seq = bi->forward_layer().options().return_sequences;
    const std::string y = onnx_export::emit_bidirectional(g_, *bi, hint, {x.name, x.mask, {}});
    return {Value{y, seq ? 3 : 2, false, seq ? x.mask : "", x.time}};
  }
  if (auto* d = dynamic_cast<Dense*>(&layer)) {
    // y = act(x·kernel + bias) on the last axis of [T, B, F] or [B, F].
    std::vector<Param*> ps;
    d->collect_params(ps);
    Value y = x;
    for (const Param* p : ps)
      if (p->name == "kernel")
        y.name = g_.op("MatMul",
                       {x.name, g_.weights(hint + "/kernel", p->value.shape,
                                           {p->value.data, p->value.data + p->value.numel()})},
                       hint + "/xW");
    for (const Param* p : ps)
      if (p->name == "bias")
        y.name = g_.op("Add",
                       {y.name, g_.weights(hint + "/bias", p->value.shape,
                                           {p->value.data, p->value.data + p->value.numel()})},
                       hint + "/z");
    y.name = onnx_export::emit_activation(g_, d->options().activation, y.name, hint + "/y");
    return {y};
  }
  if (auto* e = dynamic_cast<Embedding*>(&layer)) {
    if (!x.ids) fail<ConfigError>(what, ": expects token ids as its input");
    std::vector<Param*> ps;
    e->collect_params(ps);
    const Param& table = *ps.at(0);  // embeddings [input_dim, output_dim]
    Value y{g_.op("Gather",
                  {g_.weights(hint + "/embeddings", table.value.shape,
                              {table.value.data, table.value.data + table.value.numel()}),
                   x.name},
                  hint + "/vectors"),
            3, false, "", x.time};
    // mask_zero: id 0 is padding.
    if (e->options().mask_zero)
      y.mask = g_.op("Not", {g_.op("Equal", {x.name, g_.int_scalar(0)}, hint + "/is_zero")},
                     hint + "/mask");
    return {y};
  }
  if (auto* m = dynamic_cast<Masking*>(&layer)) {
    // mask [T, B] = any_f(x != mask_value), counted with a MatMul by ones [F] (no Reduce op,
    // whose form changes with the opset); masked steps are zeroed.
    const int64_t F = m->input_shape().at(1);
    const std::string differs =
        g_.op("Not", {g_.op("Equal", {x.name, g_.float_scalar(m->mask_value())}, hint + "/equal")},
              hint + "/differs");
    const std::string as_float = names_.fresh(hint + "/differs_f");
    attr_int(g_.node("Cast", {differs}, {as_float}), "to", onnx::TensorProto::FLOAT);
    const std::string count =
        g_.op("MatMul", {as_float, g_.weights(hint + "/ones", {F}, std::vector<float>(F, 1.0f))},
              hint + "/count");
    Value y = x;
    y.mask = g_.op("Greater", {count, g_.float_scalar(0.0f)}, hint + "/mask");
    y.name = g_.op("Where",
                   {g_.op("Unsqueeze", {y.mask, g_.ints({2})}, hint + "/mask3"), x.name,
                    g_.float_scalar(0.0f)},
                   hint + "/y");
    return {y};
  }
  if (dynamic_cast<Dropout*>(&layer)) return {x};  // identity at inference
  fail<ConfigError>(what,
                    ": layer type not supported (supported: InputLayer, Masking, Embedding, "
                    "SimpleRNN, LSTM, GRU, Bidirectional, Dense, Dropout, Concatenate, Add)");
}

void Exporter::run_sequential() {
  const std::string in_name = names_.fresh("input");
  const std::string out_name = names_.fresh("output");
  Value v = graph_input(in_name, model_.input_shape(0), "time");
  for (Layer* l : model_.layers()) v = emit(*l, {v}, {})[0];
  graph_output(out_name, v, model_.output_shape(0).back());
}

void Exporter::run_functional() {
  const auto& fn = dynamic_cast<const Functional&>(model_);
  const nlohmann::json cfg = fn.to_json().at("config");
  // Graph input and output names are claimed first, so that no inner value takes them.
  std::vector<std::string> in_names, out_names;
  for (std::size_t i = 0; i < fn.num_inputs(); ++i)
    in_names.push_back(names_.fresh(fn.input_name(i)));
  const nlohmann::json& out_refs = cfg.at("output_layers");
  for (const nlohmann::json& o : out_refs) {
    const std::string layer = o.at(0).get<std::string>();
    const int64_t index = o.at(2).get<int64_t>();
    out_names.push_back(names_.fresh(index == 0   ? layer
                                     : index == 1 ? layer + "_state_h"
                                                  : layer + "_state_c"));
  }
  std::map<std::pair<std::string, int64_t>, Value> values;  // (producer, output index) -> value
  for (std::size_t i = 0; i < fn.num_inputs(); ++i)
    values[{fn.input_name(i), 0}] =
        graph_input(in_names[i], fn.input_shape(i),
                    fn.num_inputs() == 1 ? std::string("time") : "time_" + in_names[i]);
  auto value_of = [&](const nlohmann::json& ref) -> const Value& {
    auto it = values.find({ref.at(0).get<std::string>(), ref.at(2).get<int64_t>()});
    if (it == values.end())
      fail<InternalError>(path_, ": ONNX export: tensor ", ref.dump(), " used before it is made");
    return it->second;
  };
  for (const nlohmann::json& entry : cfg.at("layers")) {
    if (entry.at("class_name") == "InputLayer") continue;
    const std::string name = entry.at("name").get<std::string>();
    Layer& layer = fn.layer(name);
    const nlohmann::json& node = entry.at("inbound_nodes").at(0);
    std::vector<Value> ins, states;
    const bool merge = dynamic_cast<MergeLayer*>(&layer) != nullptr;
    for (std::size_t k = 0; k < node.size(); ++k)
      (merge || k == 0 ? ins : states).push_back(value_of(node[k]));
    std::vector<Value> outs = emit(layer, ins, states);
    for (std::size_t k = 0; k < outs.size(); ++k) values[{name, static_cast<int64_t>(k)}] = outs[k];
  }
  for (std::size_t i = 0; i < out_refs.size(); ++i)
    graph_output(out_names[i], value_of(out_refs[i]), fn.output_shape(i).back());
}

void Exporter::run() {
  if (dynamic_cast<const Functional*>(&model_))
    run_functional();
  else
    run_sequential();
}

}  // namespace

onnx_export::Summary onnx_export::export_model(const Model& model, const std::string& path,
                                               const OnnxExportOptions& options) {
  if (options.opset < kMinOpset || options.opset > kMaxOpset)
    fail<InvalidArgument>(path, ": ONNX opset ", options.opset,
                          " is not supported (supported: ", kMinOpset, " to ", kMaxOpset, ")");
  if (!model.built())
    fail<InvalidArgument>(path, ": model '", model.name(),
                          "' is not built; build it before exporting");
  onnx::ModelProto proto;
  proto.set_ir_version(ir_version_for(options.opset));
  proto.set_producer_name("recur");
  proto.set_producer_version("0.1.0");
  proto.set_doc_string(std::string("recur ") + model.class_name() + " '" + model.name() + "'");
  onnx::OperatorSetIdProto* opset = proto.add_opset_import();
  opset->set_domain("");
  opset->set_version(options.opset);
  onnx::GraphProto* graph = proto.mutable_graph();
  graph->set_name(model.name());
  Exporter(model, path, *graph).run();

  // Protocol buffers cap one message at 2 GiB (ONNX's external-data files are not written).
  const std::size_t size = proto.ByteSizeLong();
  if (size > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    fail<InvalidArgument>(path, ": the model needs ", size,
                          " bytes as ONNX; an ONNX file holds at most 2 GiB (protobuf's limit)");
  std::string bytes;
  if (!proto.SerializeToString(&bytes))
    fail<InternalError>(path, ": ONNX export: the model could not be serialized");
  io::write_file_atomic(path, {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});

  Summary summary;
  for (const onnx::ValueInfoProto& v : graph->input()) summary.inputs.push_back(v.name());
  for (const onnx::ValueInfoProto& v : graph->output()) summary.outputs.push_back(v.name());
  summary.opset = options.opset;
  summary.nodes = graph->node_size();
  return summary;
}

void export_onnx(const Model& model, const std::string& path, const OnnxExportOptions& options) {
  onnx_export::export_model(model, path, options);
}

}  // namespace recur
