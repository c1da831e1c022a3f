// The ONNX graph builder of the exporter (see onnx_export_graph.hpp).
#include "interop/onnx_export_graph.hpp"

#include <cstring>
#include <sstream>

#include "recur/error.hpp"

namespace recur::onnx_export {

std::string Names::fresh(const std::string& hint) {
  const std::string base = hint.empty() ? std::string("v") : hint;
  if (taken_.insert(base).second) return base;
  // base_2, base_3, ...: the first one not handed out before.
  int& n = next_[base];
  for (;;) {
    std::string name = base + "_" + std::to_string(n < 2 ? (n = 2) : n);
    ++n;
    if (taken_.insert(name).second) return name;
  }
}

Graph::Graph(onnx::GraphProto& proto, Names& names, Graph* root)
    : proto_(proto), names_(names), root_(root) {}

std::string Graph::weights(const std::string& hint, const Shape& shape,
                           const std::vector<float>& data) {
  if (root_) return root_->weights(hint, shape, data);
  RECUR_DCHECK(static_cast<int64_t>(data.size()) == shape_numel(shape));
  const std::string name = names_.fresh(hint);
  onnx::TensorProto* t = proto_.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : shape) t->add_dims(d);
  // raw_data: little-endian float32, C order (the machines recur supports are little-endian).
  t->set_raw_data(
      std::string(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(float)));
  return name;
}

std::string Graph::ints(const std::vector<int64_t>& values) {
  if (root_) return root_->ints(values);
  std::ostringstream key;
  key << "i64[";
  for (int64_t v : values) key << v << ",";
  auto it = constants_.find(key.str());
  if (it != constants_.end()) return it->second;
  const std::string name = names_.fresh("const_i64");
  onnx::TensorProto* t = proto_.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  t->add_dims(static_cast<int64_t>(values.size()));
  for (int64_t v : values) t->add_int64_data(v);
  constants_[key.str()] = name;
  return name;
}

std::string Graph::int_scalar(int64_t value) {
  if (root_) return root_->int_scalar(value);
  const std::string key = "i64 " + std::to_string(value);
  auto it = constants_.find(key);
  if (it != constants_.end()) return it->second;
  const std::string name = names_.fresh("const_i64_scalar");
  onnx::TensorProto* t = proto_.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  t->add_int64_data(value);
  constants_[key] = name;
  return name;
}

std::string Graph::float_scalar(float value) {
  if (root_) return root_->float_scalar(value);
  std::uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  const std::string key = "f32 " + std::to_string(bits);
  auto it = constants_.find(key);
  if (it != constants_.end()) return it->second;
  const std::string name = names_.fresh("const_f32");
  onnx::TensorProto* t = proto_.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_float_data(value);
  constants_[key] = name;
  return name;
}

onnx::NodeProto& Graph::node(const std::string& op, const std::vector<std::string>& inputs,
                             const std::vector<std::string>& outputs) {
  onnx::NodeProto* n = proto_.add_node();
  n->set_op_type(op);
  n->set_name(names_.fresh("node/" + op));
  for (const std::string& i : inputs) n->add_input(i);
  for (const std::string& o : outputs) n->add_output(o);
  return *n;
}

std::string Graph::op(const std::string& op, const std::vector<std::string>& inputs,
                      const std::string& hint) {
  const std::string out = names_.fresh(hint);
  node(op, inputs, {out});
  return out;
}

namespace {
void fill_value_info(onnx::ValueInfoProto& v, const std::string& name, int elem_type,
                     const std::vector<Dim>& dims) {
  v.set_name(name);
  onnx::TypeProto_Tensor* t = v.mutable_type()->mutable_tensor_type();
  t->set_elem_type(elem_type);
  onnx::TensorShapeProto* s = t->mutable_shape();
  for (const Dim& d : dims) {
    onnx::TensorShapeProto_Dimension* dim = s->add_dim();
    if (d.value >= 0)
      dim->set_dim_value(d.value);
    else if (!d.param.empty())
      dim->set_dim_param(d.param);
  }
}
}  // namespace

void Graph::input(const std::string& name, int elem_type, const std::vector<Dim>& dims) {
  fill_value_info(*proto_.add_input(), name, elem_type, dims);
}

void Graph::output(const std::string& name, int elem_type, const std::vector<Dim>& dims) {
  fill_value_info(*proto_.add_output(), name, elem_type, dims);
}

namespace {
onnx::AttributeProto& add_attr(onnx::NodeProto& n, const std::string& name,
                               onnx::AttributeProto_AttributeType type) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(type);
  return *a;
}
}  // namespace

void attr_int(onnx::NodeProto& n, const std::string& name, int64_t value) {
  add_attr(n, name, onnx::AttributeProto::INT).set_i(value);
}
void attr_float(onnx::NodeProto& n, const std::string& name, float value) {
  add_attr(n, name, onnx::AttributeProto::FLOAT).set_f(value);
}
void attr_string(onnx::NodeProto& n, const std::string& name, const std::string& value) {
  add_attr(n, name, onnx::AttributeProto::STRING).set_s(value);
}
void attr_ints(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& values) {
  onnx::AttributeProto& a = add_attr(n, name, onnx::AttributeProto::INTS);
  for (int64_t v : values) a.add_ints(v);
}
void attr_floats(onnx::NodeProto& n, const std::string& name, const std::vector<float>& values) {
  onnx::AttributeProto& a = add_attr(n, name, onnx::AttributeProto::FLOATS);
  for (float v : values) a.add_floats(v);
}
void attr_strings(onnx::NodeProto& n, const std::string& name,
                  const std::vector<std::string>& values) {
  onnx::AttributeProto& a = add_attr(n, name, onnx::AttributeProto::STRINGS);
  for (const std::string& v : values) a.add_strings(v);
}
onnx::GraphProto& attr_graph(onnx::NodeProto& n, const std::string& name) {
  return *add_attr(n, name, onnx::AttributeProto::GRAPH).mutable_g();
}

}  // namespace recur::onnx_export
