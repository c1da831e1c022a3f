// ONNX export of SimpleRNN / LSTM / GRU / Bidirectional (see onnx_export_rnn.hpp).
//
// Shapes: T steps, B batch, I inputs, H units, G gates (1 SimpleRNN, 4 LSTM, 3 GRU), D directions.
// recur's weights (Keras layouts, DESIGN.md §3): kernel W [I, G·H], recurrent_kernel U [H, G·H],
// bias [G·H] (GRU reset_after: [2, G·H], row 0 input side, row 1 recurrent side).
#include "interop/onnx_export_rnn.hpp"

#include <array>
#include <limits>

#include "recur/error.hpp"

namespace recur::onnx_export {

namespace {

// ---- weights ------------------------------------------------------------------------------------

struct CellWeights {
  const Param* kernel = nullptr;            // [I, G·H]
  const Param* recurrent_kernel = nullptr;  // [H, G·H]
  const Param* bias = nullptr;              // [G·H] or [2, G·H]; null without use_bias
};

// The parameters of a recurrent layer by their last name part ("forward/kernel" -> "kernel").
CellWeights cell_weights(Recurrent& layer) {
  std::vector<Param*> ps;
  layer.collect_params(ps);
  CellWeights w;
  for (const Param* p : ps) {
    const std::size_t slash = p->name.rfind('/');
    const std::string base = slash == std::string::npos ? p->name : p->name.substr(slash + 1);
    if (base == "kernel")
      w.kernel = p;
    else if (base == "recurrent_kernel")
      w.recurrent_kernel = p;
    else if (base == "bias")
      w.bias = p;
  }
  RECUR_DCHECK(w.kernel && w.recurrent_kernel);
  RECUR_DCHECK(!layer.options().use_bias || w.bias);
  return w;
}

std::vector<float> values_of(const Param& p) {
  return std::vector<float>(p.value.data, p.value.data + p.value.numel());
}

// Columns [c0, c0 + n) of a row-major [rows, cols] matrix, as [rows, n].
std::vector<float> columns(const Param& p, int64_t c0, int64_t n) {
  const int64_t rows = p.value.shape[0], cols = p.value.shape[1];
  std::vector<float> out(static_cast<std::size_t>(rows * n));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < n; ++c) out[r * n + c] = p.value.data[r * cols + c0 + c];
  return out;
}

bool gru_reset_after(const Recurrent& l) {
  return l.cell() == CellKind::gru && l.options().reset_after;
}

// ---- activations -----------------------------------------------------------------------------

// An activation as ONNX's recurrent operators name it, with its alpha/beta when it takes them.
struct OnnxActivation {
  const char* name;
  bool has_params;
  float alpha, beta;
};

OnnxActivation onnx_activation(Activation a) {
  switch (a) {
    case Activation::linear: return {"Affine", true, 1.0f, 0.0f};
    case Activation::tanh: return {"Tanh", false, 0.0f, 0.0f};
    case Activation::sigmoid: return {"Sigmoid", false, 0.0f, 0.0f};
    case Activation::relu: return {"Relu", false, 0.0f, 0.0f};
    case Activation::hard_sigmoid: return {"HardSigmoid", true, 0.2f, 0.5f};
    case Activation::hard_sigmoid_v3: return {"HardSigmoid", true, 1.0f / 6.0f, 0.5f};
    case Activation::softmax: break;
  }
  fail<InternalError>("softmax reached the recurrent ONNX export");
}

// Per direction, the activations of ONNX's operator: RNN [f], GRU [f, g], LSTM [f, g, h].
std::vector<Activation> direction_activations(const Recurrent& l) {
  const RecurrentOptions& o = l.options();
  switch (l.cell()) {
    case CellKind::simple: return {o.activation};
    case CellKind::gru: return {o.recurrent_activation, o.activation};
    case CellKind::lstm: return {o.recurrent_activation, o.activation, o.activation};
  }
  return {};
}

// ---- helpers -----------------------------------------------------------------------------------

// Reverses axis 0 of v (dynamic length): Slice(starts=-1, ends=-inf, steps=-1).
std::string reverse_time(Graph& g, const std::string& v, const std::string& hint) {
  return g.op(
      "Slice",
      {v, g.ints({-1}), g.ints({std::numeric_limits<int64_t>::min()}), g.ints({0}), g.ints({-1})},
      hint);
}

// zeros [B, H] with B taken from x [T, B, I].
std::string zero_state(Graph& g, const std::string& x, int64_t H, const std::string& hint) {
  const std::string shape = g.op("Shape", {x}, hint + "/x_shape");
  const std::string batch =
      g.op("Slice", {shape, g.ints({1}), g.ints({2}), g.ints({0})}, hint + "/batch");
  const std::string dims = g.names().fresh(hint + "/zero_shape");
  attr_int(g.node("Concat", {batch, g.ints({H})}, {dims}), "axis", 0);
  const std::string zeros = g.names().fresh(hint + "/zeros");
  onnx::NodeProto& n = g.node("ConstantOfShape", {dims}, {zeros});
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  onnx::TensorProto* t = a->mutable_t();
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(1);
  t->add_float_data(0.0f);
  return zeros;
}

// Columns [k·H, (k+1)·H) of v [B, n·H].
std::string gate(Graph& g, const std::string& v, int64_t k, int64_t H, const std::string& hint) {
  return g.op("Slice", {v, g.ints({k * H}), g.ints({(k + 1) * H}), g.ints({1})}, hint);
}

// ---- ONNX's own operators (no mask) -------------------------------------------------------------

struct NativeOutput {
  std::string Y;   // [T, D, B, H], each direction in time order
  std::string Yh;  // [D, B, H]
  std::string Yc;  // [D, B, H] (LSTM)
};

// `copies`: one layer (direction from its go_backwards), or a forward and a go_backwards copy
// (direction "bidirectional"). initial: h0 (and c0) [B, H] for a single copy.
NativeOutput emit_native(Graph& g, const std::vector<Recurrent*>& copies, const std::string& hint,
                         const std::string& x, const std::vector<std::string>& initial) {
  const Recurrent& l0 = *copies[0];
  const CellKind kind = l0.cell();
  const int64_t D = static_cast<int64_t>(copies.size());
  const int64_t H = l0.units(), G = l0.gate_count(), GH = G * H;
  // ONNX gate block g takes Keras block keras_gate[g]: LSTM ONNX i,o,f,c <- Keras i,f,c,o.
  static constexpr std::array<int64_t, 4> kLstm = {0, 3, 1, 2};
  static constexpr std::array<int64_t, 4> kSame = {0, 1, 2, 3};
  const std::array<int64_t, 4>& keras_gate = kind == CellKind::lstm ? kLstm : kSame;

  // W [D, G·H, I] = Wᵀ per gate block, R [D, G·H, H] = Uᵀ, B [D, 2·G·H] = [Wb, Rb].
  int64_t I = 0;
  std::vector<float> W, R, Bv;
  bool any_bias = false;
  for (Recurrent* l : copies) {
    const CellWeights w = cell_weights(*l);
    I = w.kernel->value.shape[0];
    const float* K = w.kernel->value.data;
    const float* U = w.recurrent_kernel->value.data;
    for (int64_t gi = 0; gi < G; ++gi)
      for (int64_t j = 0; j < H; ++j) {
        const int64_t col = keras_gate[gi] * H + j;
        for (int64_t i = 0; i < I; ++i) W.push_back(K[i * GH + col]);
      }
    for (int64_t gi = 0; gi < G; ++gi)
      for (int64_t j = 0; j < H; ++j) {
        const int64_t col = keras_gate[gi] * H + j;
        for (int64_t k = 0; k < H; ++k) R.push_back(U[k * GH + col]);
      }
    std::vector<float> wb(GH, 0.0f), rb(GH, 0.0f);
    if (w.bias) {
      any_bias = true;
      const float* b = w.bias->value.data;
      for (int64_t gi = 0; gi < G; ++gi)
        for (int64_t j = 0; j < H; ++j) {
          wb[gi * H + j] = b[keras_gate[gi] * H + j];
          if (gru_reset_after(*l)) rb[gi * H + j] = b[GH + keras_gate[gi] * H + j];
        }
    }
    Bv.insert(Bv.end(), wb.begin(), wb.end());
    Bv.insert(Bv.end(), rb.begin(), rb.end());
  }
  const std::string w_name = g.weights(hint + "/W", {D, GH, I}, W);
  const std::string r_name = g.weights(hint + "/R", {D, GH, H}, R);
  const std::string b_name = any_bias ? g.weights(hint + "/B", {D, 2 * GH}, Bv) : "";

  std::vector<std::string> inputs = {x, w_name, r_name, b_name};
  if (!initial.empty()) {
    RECUR_DCHECK(D == 1);
    inputs.push_back("");  // sequence_lens: every sequence has all T steps
    inputs.push_back(g.op("Unsqueeze", {initial[0], g.ints({0})}, hint + "/initial_h"));
    if (initial.size() > 1)
      inputs.push_back(g.op("Unsqueeze", {initial[1], g.ints({0})}, hint + "/initial_c"));
  }
  while (!inputs.empty() && inputs.back().empty()) inputs.pop_back();

  NativeOutput out;
  out.Y = g.names().fresh(hint + "/Y");
  out.Yh = g.names().fresh(hint + "/Y_h");
  std::vector<std::string> outputs = {out.Y, out.Yh};
  if (kind == CellKind::lstm) {
    out.Yc = g.names().fresh(hint + "/Y_c");
    outputs.push_back(out.Yc);
  }
  const char* op = kind == CellKind::lstm ? "LSTM" : kind == CellKind::gru ? "GRU" : "RNN";
  onnx::NodeProto& n = g.node(op, inputs, outputs);
  attr_int(n, "hidden_size", H);
  attr_string(n, "direction",
              D == 2                      ? "bidirectional"
              : l0.options().go_backwards ? "reverse"
                                          : "forward");
  std::vector<std::string> names;
  std::vector<float> alphas, betas;
  for (Recurrent* l : copies)
    for (Activation a : direction_activations(*l)) {
      const OnnxActivation oa = onnx_activation(a);
      names.push_back(oa.name);
      if (oa.has_params) {
        alphas.push_back(oa.alpha);
        betas.push_back(oa.beta);
      }
    }
  attr_strings(n, "activations", names);
  if (!alphas.empty()) {
    attr_floats(n, "activation_alpha", alphas);
    attr_floats(n, "activation_beta", betas);
  }
  if (kind == CellKind::gru) attr_int(n, "linear_before_reset", l0.options().reset_after ? 1 : 0);
  return out;
}

// ---- Scan over time with recur's mask select ---------------------------------------------------

RnnOutput emit_scan(Graph& g, Recurrent& layer, const std::string& hint, const RnnInput& in,
                    bool reverse_output, bool zero_output_for_mask) {
  const RecurrentOptions& o = layer.options();
  const CellKind kind = layer.cell();
  const int64_t H = layer.units(), G = layer.gate_count(), GH = G * H;
  const CellWeights w = cell_weights(layer);
  const bool lstm = kind == CellKind::lstm;
  const bool gru_after = gru_reset_after(layer);

  // Outside the loop: P = x·W + b_in for all steps, [T, B, G·H]; mask [T, B] -> [T, B, 1].
  std::string P = g.op(
      "MatMul", {in.x, g.weights(hint + "/kernel", w.kernel->value.shape, values_of(*w.kernel))},
      hint + "/xW");
  if (w.bias) {
    std::vector<float> b_in = values_of(*w.bias);
    b_in.resize(static_cast<std::size_t>(GH));  // GRU reset_after: row 0 only
    P = g.op("Add", {P, g.weights(hint + "/input_bias", {GH}, b_in)}, hint + "/P");
  }
  const std::string mask3 = g.op("Unsqueeze", {in.mask, g.ints({2})}, hint + "/mask3");
  // Initial states: the given ones, else zeros [B, H]; the carried output starts at zeros.
  const std::string y0 = zero_state(g, in.x, H, hint);
  std::vector<std::string> init = in.initial;
  if (init.empty()) init.push_back(y0);
  if (lstm && init.size() < 2) init.push_back(y0);

  // The recurrent weights, used by the body from the main graph.
  std::string U, U_zr, U_h, b_rec;
  if (kind == CellKind::gru && !o.reset_after) {
    U_zr = g.weights(hint + "/recurrent_kernel_zr", {H, 2 * H},
                     columns(*w.recurrent_kernel, 0, 2 * H));
    U_h = g.weights(hint + "/recurrent_kernel_h", {H, H}, columns(*w.recurrent_kernel, 2 * H, H));
  } else {
    U = g.weights(hint + "/recurrent_kernel", {H, GH}, values_of(*w.recurrent_kernel));
  }
  if (gru_after && w.bias) {
    const std::vector<float> all = values_of(*w.bias);
    b_rec =
        g.weights(hint + "/recurrent_bias", {GH}, std::vector<float>(all.begin() + GH, all.end()));
  }

  // The Scan node: states (h, [c], y), scan inputs (P_t, m_t); outputs final states, [Y].
  const std::string hT = g.names().fresh(hint + "/h_final");
  const std::string cT = lstm ? g.names().fresh(hint + "/c_final") : "";
  const std::string yT = g.names().fresh(hint + "/y_final");
  const std::string Y = o.return_sequences ? g.names().fresh(hint + "/Y") : "";
  std::vector<std::string> scan_in = {init[0]};
  if (lstm) scan_in.push_back(init[1]);
  scan_in.push_back(y0);
  scan_in.push_back(P);
  scan_in.push_back(mask3);
  std::vector<std::string> scan_out = {hT};
  if (lstm) scan_out.push_back(cT);
  scan_out.push_back(yT);
  if (o.return_sequences) scan_out.push_back(Y);
  onnx::NodeProto& scan = g.node("Scan", scan_in, scan_out);
  attr_int(scan, "num_scan_inputs", 2);
  const int64_t dir = o.go_backwards ? 1 : 0;
  attr_ints(scan, "scan_input_directions", {dir, dir});
  if (o.return_sequences) attr_ints(scan, "scan_output_directions", {reverse_output ? 1 : 0});

  // The body: one step of the cell, then the mask select.
  onnx::GraphProto& body_proto = attr_graph(scan, "body");
  body_proto.set_name(hint + "/step");
  Graph b(body_proto, g.names(), &g);
  const Dim any;
  const std::string h_prev = g.names().fresh(hint + "/h_prev");
  const std::string c_prev = lstm ? g.names().fresh(hint + "/c_prev") : "";
  const std::string y_prev = g.names().fresh(hint + "/y_prev");
  const std::string p_t = g.names().fresh(hint + "/P_t");
  const std::string m_t = g.names().fresh(hint + "/m_t");
  b.input(h_prev, onnx::TensorProto::FLOAT, {any, any});
  if (lstm) b.input(c_prev, onnx::TensorProto::FLOAT, {any, any});
  b.input(y_prev, onnx::TensorProto::FLOAT, {any, any});
  b.input(p_t, onnx::TensorProto::FLOAT, {any, any});
  b.input(m_t, onnx::TensorProto::BOOL, {any, any});

  const Activation act = o.activation, rec = o.recurrent_activation;
  std::string h_new, c_new;
  switch (kind) {
    case CellKind::simple: {
      // h = act(P_t + h_prev·U)
      const std::string z =
          b.op("Add", {p_t, b.op("MatMul", {h_prev, U}, hint + "/hU")}, hint + "/z");
      h_new = emit_activation(b, act, z, hint + "/h_new");
      break;
    }
    case CellKind::lstm: {
      // z = P_t + h_prev·U, blocks i, f, c, o (Keras order)
      // i = rec(z_i), f = rec(z_f), g = act(z_c), o = rec(z_o); c = f·c_prev + i·g; h = o·act(c)
      const std::string z =
          b.op("Add", {p_t, b.op("MatMul", {h_prev, U}, hint + "/hU")}, hint + "/z");
      const std::string i = emit_activation(b, rec, gate(b, z, 0, H, hint + "/z_i"), hint + "/i");
      const std::string f = emit_activation(b, rec, gate(b, z, 1, H, hint + "/z_f"), hint + "/f");
      const std::string gg = emit_activation(b, act, gate(b, z, 2, H, hint + "/z_c"), hint + "/g");
      const std::string og = emit_activation(b, rec, gate(b, z, 3, H, hint + "/z_o"), hint + "/o");
      c_new =
          b.op("Add", {b.op("Mul", {f, c_prev}, hint + "/fc"), b.op("Mul", {i, gg}, hint + "/ig")},
               hint + "/c_new");
      h_new = b.op("Mul", {og, emit_activation(b, act, c_new, hint + "/act_c")}, hint + "/h_new");
      break;
    }
    case CellKind::gru: {
      std::string zr, hh;
      if (gru_after) {
        // q = h_prev·U (+ b_rec); [z, r] = rec(P_zr + q_zr); hh = act(P_h + r·q_h)
        std::string q = b.op("MatMul", {h_prev, U}, hint + "/hU");
        if (!b_rec.empty()) q = b.op("Add", {q, b_rec}, hint + "/q");
        const std::string p_zr =
            b.op("Slice", {p_t, b.ints({0}), b.ints({2 * H}), b.ints({1})}, hint + "/P_zr");
        const std::string q_zr =
            b.op("Slice", {q, b.ints({0}), b.ints({2 * H}), b.ints({1})}, hint + "/q_zr");
        zr = emit_activation(b, rec, b.op("Add", {p_zr, q_zr}, hint + "/pre_zr"), hint + "/zr");
        const std::string r = gate(b, zr, 1, H, hint + "/r");
        hh = b.op("Add",
                  {gate(b, p_t, 2, H, hint + "/P_h"),
                   b.op("Mul", {r, gate(b, q, 2, H, hint + "/q_h")}, hint + "/rq")},
                  hint + "/pre_hh");
      } else {
        // [z, r] = rec(P_zr + h_prev·U_zr); hh = act(P_h + (r·h_prev)·U_h)
        const std::string p_zr =
            b.op("Slice", {p_t, b.ints({0}), b.ints({2 * H}), b.ints({1})}, hint + "/P_zr");
        zr = emit_activation(
            b, rec,
            b.op("Add", {p_zr, b.op("MatMul", {h_prev, U_zr}, hint + "/hU_zr")}, hint + "/pre_zr"),
            hint + "/zr");
        const std::string r = gate(b, zr, 1, H, hint + "/r");
        const std::string rh = b.op("Mul", {r, h_prev}, hint + "/rh");
        hh = b.op("Add",
                  {gate(b, p_t, 2, H, hint + "/P_h"), b.op("MatMul", {rh, U_h}, hint + "/rhU")},
                  hint + "/pre_hh");
      }
      hh = emit_activation(b, act, hh, hint + "/hh");
      // h = z·h_prev + (1 - z)·hh
      const std::string z = gate(b, zr, 0, H, hint + "/zg");
      h_new = b.op("Add",
                   {b.op("Mul", {z, h_prev}, hint + "/zh"),
                    b.op("Mul", {b.op("Sub", {b.float_scalar(1.0f), z}, hint + "/one_minus_z"), hh},
                         hint + "/zhh")},
                   hint + "/h_new");
      break;
    }
  }
  // Mask select: a masked row keeps h (and c); its output repeats the previous output (Keras), or
  // is zero inside Bidirectional with return_sequences.
  const std::string h_out = b.op("Where", {m_t, h_new, h_prev}, hint + "/h");
  const std::string c_out = lstm ? b.op("Where", {m_t, c_new, c_prev}, hint + "/c") : "";
  const std::string y_out = b.op(
      "Where", {m_t, h_new, zero_output_for_mask ? b.float_scalar(0.0f) : y_prev}, hint + "/y");
  b.output(h_out, onnx::TensorProto::FLOAT, {any, any});
  if (lstm) b.output(c_out, onnx::TensorProto::FLOAT, {any, any});
  b.output(y_out, onnx::TensorProto::FLOAT, {any, any});
  if (o.return_sequences) {
    const std::string y_seq = b.op("Identity", {y_out}, hint + "/y_t");
    b.output(y_seq, onnx::TensorProto::FLOAT, {any, any});
  }

  RnnOutput out;
  out.y = o.return_sequences ? Y : yT;
  out.states.push_back(hT);
  if (lstm) out.states.push_back(cT);
  return out;
}

}  // namespace

// ---- public ------------------------------------------------------------------------------------

void check_recurrent(const Recurrent& layer, const std::string& what) {
  const RecurrentOptions& o = layer.options();
  if (o.stateful)
    fail<ConfigError>(what,
                      ": stateful=True is not supported (an ONNX graph keeps no state between "
                      "runs); save the model with stateful=False to export it");
  // softmax never reaches here: Recurrent's constructor refuses it as a cell activation.
  RECUR_DCHECK(o.activation != Activation::softmax &&
               o.recurrent_activation != Activation::softmax);
}

RnnOutput emit_recurrent(Graph& g, Recurrent& layer, const std::string& hint, const RnnInput& in,
                         bool reverse_output, bool zero_output_for_mask) {
  const RecurrentOptions& o = layer.options();
  if (!in.mask.empty()) return emit_scan(g, layer, hint, in, reverse_output, zero_output_for_mask);
  NativeOutput n = emit_native(g, {&layer}, hint, in.x, in.initial);
  RnnOutput out;
  out.states.push_back(g.op("Squeeze", {n.Yh, g.ints({0})}, hint + "/h_final"));
  if (layer.cell() == CellKind::lstm)
    out.states.push_back(g.op("Squeeze", {n.Yc, g.ints({0})}, hint + "/c_final"));
  if (!o.return_sequences) {
    out.y = out.states[0];  // no mask: the last output is the final state
    return out;
  }
  // Y is in time order; Keras wants processing order (reversed time when go_backwards), or its
  // reverse when reverse_output.
  out.y = g.op("Squeeze", {n.Y, g.ints({1})}, hint + "/Y_seq");
  if (o.go_backwards != reverse_output) out.y = reverse_time(g, out.y, hint + "/Y_reversed");
  return out;
}

std::string emit_bidirectional(Graph& g, Bidirectional& layer, const std::string& hint,
                               const RnnInput& in) {
  Recurrent& f = layer.forward_layer();
  Recurrent& bk = layer.backward_layer();
  const bool seq = f.options().return_sequences;
  std::string yf, yb;  // [T, B, H] time order (backward copy reversed), or [B, H]
  if (in.mask.empty() && !f.options().go_backwards) {
    // One operator, direction="bidirectional": Y [T, 2, B, H], both directions in time order.
    NativeOutput n = emit_native(g, {&f, &bk}, hint, in.x, {});
    // Y [T, 2, B, H] (sequences) or Y_h [2, B, H]: direction d is Gather(index d) on axis 1 / 0.
    const std::string src = seq ? n.Y : n.Yh;
    const int64_t axis = seq ? 1 : 0;
    yf = g.names().fresh(hint + "/forward");
    attr_int(g.node("Gather", {src, g.int_scalar(0)}, {yf}), "axis", axis);
    yb = g.names().fresh(hint + "/backward");
    attr_int(g.node("Gather", {src, g.int_scalar(1)}, {yb}), "axis", axis);
  } else {
    // Keras zeroes masked steps' outputs in both copies when return_sequences.
    yf = emit_recurrent(g, f, hint + "/forward", in, false, seq).y;
    yb = emit_recurrent(g, bk, hint + "/backward", in, true, seq).y;
  }
  switch (layer.merge_mode()) {
    case MergeMode::concat: {
      const std::string y = g.names().fresh(hint + "/concat");
      attr_int(g.node("Concat", {yf, yb}, {y}), "axis", -1);
      return y;
    }
    case MergeMode::sum: return g.op("Add", {yf, yb}, hint + "/sum");
    case MergeMode::mul: return g.op("Mul", {yf, yb}, hint + "/mul");
    case MergeMode::ave:
      return g.op("Mul", {g.float_scalar(0.5f), g.op("Add", {yf, yb}, hint + "/sum")},
                  hint + "/ave");
  }
  fail<InternalError>("unknown merge mode");
}

std::string emit_activation(Graph& g, Activation a, const std::string& x, const std::string& hint) {
  switch (a) {
    case Activation::linear: return x;
    case Activation::tanh: return g.op("Tanh", {x}, hint);
    case Activation::sigmoid: return g.op("Sigmoid", {x}, hint);
    case Activation::relu: return g.op("Relu", {x}, hint);
    case Activation::hard_sigmoid:
    case Activation::hard_sigmoid_v3: {
      const std::string y = g.names().fresh(hint);
      onnx::NodeProto& n = g.node("HardSigmoid", {x}, {y});
      attr_float(n, "alpha", a == Activation::hard_sigmoid ? 0.2f : 1.0f / 6.0f);
      attr_float(n, "beta", 0.5f);
      return y;
    }
    case Activation::softmax: {
      const std::string y = g.names().fresh(hint);
      attr_int(g.node("Softmax", {x}, {y}), "axis", -1);
      return y;
    }
  }
  fail<InternalError>("unknown activation");
}

}  // namespace recur::onnx_export
