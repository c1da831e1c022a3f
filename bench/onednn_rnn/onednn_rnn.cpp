// oneDNN's RNN primitives at recur's benchmark shapes: the reference point for `recur bench`
// (bench/compare runs both). One layer, unidirectional, f32, CPU engine.
//
//   onednn_rnn --cell lstm|gru|rnn --mode train|infer|stream --input I --units H --steps T
//              --batch B [--threads N] [--seconds S] [--min-iters K] [--warmup W] [--json]
//
// Cells: lstm = dnnl::lstm_forward/backward; gru = dnnl::lbr_gru_forward/backward (linear before
// reset = Keras reset_after=true = PyTorch's GRU, recur's default); rnn = vanilla_rnn with tanh.
//
// What one timed call contains (the same model as `recur bench`: the recurrent layer and a
// Dense(H -> 1) head on the last step, MSE, Adam):
//   train   reorder user weights (ldigo) into the forward primitive's layout (when it differs),
//           forward_training; Dense head + MSE + its gradient (plain C++); diff_dst_layer is zero
//           except the last step; reorder weights into the backward primitive's layout (when it
//           differs); zero the diff weights (oneDNN accumulates into them); backward (which always
//           computes diff_src_layer, like recur); reorder diff weights back to ldigo (when they
//           differ); Adam (PyTorch formula, lr 1e-3) over every weight in plain C++.
//   infer   forward_inference on [T, B, I] with weights reordered once before timing (they do not
//           change), + the Dense head (plain C++).
//   stream  forward_inference with T = 1 and the states carried between calls (src_iter ->
//           dst_iter ping-pong), + the Dense head; every step timed on its own.
// Threads: Debian's libdnnl uses OpenMP; --threads N calls omp_set_num_threads (default
// OMP_NUM_THREADS / all cores).
//
// Output: the same keys as `recur bench --json` (cell, mode, input, units, steps, batch, threads,
// seq_per_s, us_per_step, gflops, peak_rss_mb) plus engine, impl, isa, iterations, median_s.
// GFLOP/s use recur's formula (recurrent GEMMs only): forward 2·B·(I+H)·G·H per step, train = 3×.
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

namespace {

using namespace dnnl;
using dims = memory::dims;
using tag = memory::format_tag;
using dt = memory::data_type;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string cell = "lstm", mode = "train";
  int64_t input = 128, units = 256, steps = 100, batch = 0;
  int threads = 0;
  double seconds = 2.0;
  int min_iters = 5, warmup = -1;
  bool json = false;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "onednn_rnn: error: %s\n"
               "usage: onednn_rnn --cell lstm|gru|rnn --mode train|infer|stream --input I "
               "--units H --steps T --batch B [--threads N] [--seconds S] [--min-iters K] "
               "[--warmup W] [--json]\n",
               why.c_str());
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--json") {
      a.json = true;
      continue;
    }
    if (i + 1 >= argc) usage("missing value for " + k);
    const std::string v = argv[++i];
    try {
      if (k == "--cell") a.cell = v;
      else if (k == "--mode") a.mode = v;
      else if (k == "--input") a.input = std::stoll(v);
      else if (k == "--units") a.units = std::stoll(v);
      else if (k == "--steps") a.steps = std::stoll(v);
      else if (k == "--batch") a.batch = std::stoll(v);
      else if (k == "--threads") a.threads = std::stoi(v);
      else if (k == "--seconds") a.seconds = std::stod(v);
      else if (k == "--min-iters") a.min_iters = std::stoi(v);
      else if (k == "--warmup") a.warmup = std::stoi(v);
      else usage("unknown option " + k);
    } catch (const std::logic_error&) {
      usage("bad value '" + v + "' for " + k);
    }
  }
  if (a.cell != "lstm" && a.cell != "gru" && a.cell != "rnn") usage("--cell: lstm, gru or rnn");
  if (a.mode != "train" && a.mode != "infer" && a.mode != "stream")
    usage("--mode: train, infer or stream");
  if (a.batch == 0) a.batch = a.mode == "stream" ? 1 : 64;
  if (a.input < 1 || a.units < 1 || a.steps < 1 || a.batch < 1 || a.min_iters < 1 ||
      !(a.seconds > 0))
    usage("sizes, --min-iters and --seconds must be positive");
  return a;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

float* ptr(const memory& m) { return static_cast<float*>(m.get_data_handle()); }
std::size_t count(const memory& m) { return m.get_desc().get_size() / sizeof(float); }

void fill_uniform(const memory& m, float scale, std::mt19937& g) {
  std::uniform_real_distribution<float> u(-scale, scale);
  float* p = ptr(m);
  for (std::size_t i = 0; i < count(m); ++i) p[i] = u(g);
}

// Memory in `want`'s layout: `user` itself when the layouts agree, else a new buffer.
memory like(const memory::desc& want, const memory& user, const engine& eng) {
  return want == user.get_desc() ? user : memory(want, eng);
}

// Adam (PyTorch formula, bias-corrected), one flat array.
struct Adam {
  std::vector<float> m, v;
  void step(float* w, const float* g, std::size_t n, int64_t t) {
    if (m.size() != n) {
      m.assign(n, 0.0f);
      v.assign(n, 0.0f);
    }
    const float lr = 1e-3f, b1 = 0.9f, b2 = 0.999f, eps = 1e-7f;
    const float c1 = 1.0f - std::pow(b1, static_cast<float>(t));
    const float c2 = 1.0f - std::pow(b2, static_cast<float>(t));
    const float step = lr / c1, rc2 = 1.0f / std::sqrt(c2);
    for (std::size_t i = 0; i < n; ++i) {
      m[i] = b1 * m[i] + (1.0f - b1) * g[i];
      v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
      w[i] -= step * m[i] / (std::sqrt(v[i]) * rc2 + eps);
    }
  }
};

// The three cells behind one interface: descriptors for a given propagation kind.
struct Cell {
  std::string name;
  int G = 4, Gb = 4;  // gates; bias gates (lbr_gru: 4)
  bool has_c = false;
};

Cell make_cell(const std::string& name) {
  if (name == "lstm") return {name, 4, 4, true};
  if (name == "gru") return {name, 3, 4, false};
  return {name, 1, 1, false};
}

struct Descs {
  memory::desc src_layer, src_iter, src_iter_c, w_layer, w_iter, bias, dst_layer, dst_iter,
      dst_iter_c;
};

primitive_desc_base make_fwd(const Cell& c, prop_kind pk, const Descs& d, const engine& eng,
                             primitive& prim) {
  const auto dir = rnn_direction::unidirectional_left2right;
  if (c.name == "lstm") {
    lstm_forward::primitive_desc pd(
        lstm_forward::desc(pk, dir, d.src_layer, d.src_iter, d.src_iter_c, d.w_layer, d.w_iter,
                           d.bias, d.dst_layer, d.dst_iter, d.dst_iter_c),
        eng);
    prim = lstm_forward(pd);
    return pd;
  }
  if (c.name == "gru") {
    lbr_gru_forward::primitive_desc pd(
        lbr_gru_forward::desc(pk, dir, d.src_layer, d.src_iter, d.w_layer, d.w_iter, d.bias,
                              d.dst_layer, d.dst_iter),
        eng);
    prim = lbr_gru_forward(pd);
    return pd;
  }
  vanilla_rnn_forward::primitive_desc pd(
      vanilla_rnn_forward::desc(pk, algorithm::eltwise_tanh, dir, d.src_layer, d.src_iter,
                                d.w_layer, d.w_iter, d.bias, d.dst_layer, d.dst_iter),
      eng);
  prim = vanilla_rnn_forward(pd);
  return pd;
}

// A copy of `pd`'s C handle, for the typed constructors that take ownership of one.
dnnl_primitive_desc_t clone(const primitive_desc_base& pd) {
  dnnl_primitive_desc_t c = nullptr;
  error::wrap_c_api(dnnl_primitive_desc_clone(&c, pd.get()), "could not clone a primitive desc");
  return c;
}

primitive_desc_base make_bwd(const Cell& c, const Descs& d, const Descs& dd, const engine& eng,
                             const primitive_desc_base& fwd_pd, primitive& prim) {
  const auto dir = rnn_direction::unidirectional_left2right;
  const auto pk = prop_kind::backward;
  if (c.name == "lstm") {
    lstm_backward::primitive_desc pd(
        lstm_backward::desc(pk, dir, d.src_layer, d.src_iter, d.src_iter_c, d.w_layer, d.w_iter,
                            d.bias, d.dst_layer, d.dst_iter, d.dst_iter_c, dd.src_layer,
                            dd.src_iter, dd.src_iter_c, dd.w_layer, dd.w_iter, dd.bias,
                            dd.dst_layer, dd.dst_iter, dd.dst_iter_c),
        eng, lstm_forward::primitive_desc(clone(fwd_pd)));
    prim = lstm_backward(pd);
    return pd;
  }
  if (c.name == "gru") {
    lbr_gru_backward::primitive_desc pd(
        lbr_gru_backward::desc(pk, dir, d.src_layer, d.src_iter, d.w_layer, d.w_iter, d.bias,
                               d.dst_layer, d.dst_iter, dd.src_layer, dd.src_iter, dd.w_layer,
                               dd.w_iter, dd.bias, dd.dst_layer, dd.dst_iter),
        eng, lbr_gru_forward::primitive_desc(clone(fwd_pd)));
    prim = lbr_gru_backward(pd);
    return pd;
  }
  vanilla_rnn_backward::primitive_desc pd(
      vanilla_rnn_backward::desc(pk, algorithm::eltwise_tanh, dir, d.src_layer, d.src_iter,
                                 d.w_layer, d.w_iter, d.bias, d.dst_layer, d.dst_iter,
                                 dd.src_layer, dd.src_iter, dd.w_layer, dd.w_iter, dd.bias,
                                 dd.dst_layer, dd.dst_iter),
      eng,
      vanilla_rnn_forward::primitive_desc(clone(fwd_pd)));
  prim = vanilla_rnn_backward(pd);
  return pd;
}

// Dense(H -> 1) on h [B, H] (row-major): y = h·w + b.
void dense_forward(const float* h, const float* w, float b, int64_t B, int64_t H, float* y) {
  for (int64_t i = 0; i < B; ++i) {
    float s = b;
    for (int64_t j = 0; j < H; ++j) s += h[i * H + j] * w[j];
    y[i] = s;
  }
}

const char* isa_name(cpu_isa isa) {
  switch (isa) {
    case cpu_isa::avx2: return "avx2";
    case cpu_isa::avx512_core: return "avx512_core";
    case cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

int run(const Args& a) {
  if (a.threads > 0) omp_set_num_threads(a.threads);
  const int threads = omp_get_max_threads();
  const bool train = a.mode == "train", stream = a.mode == "stream";
  const Cell c = make_cell(a.cell);
  const int64_t I = a.input, H = a.units, B = a.batch, T = stream ? 1 : a.steps, G = c.G;
  engine eng(engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  std::mt19937 gen(7);

  // User memories (plain layouts).
  const memory::desc src_layer_md({T, B, I}, dt::f32, tag::tnc);
  const memory::desc dst_layer_md({T, B, H}, dt::f32, tag::tnc);
  const memory::desc state_md({1, 1, B, H}, dt::f32, tag::ldnc);
  const memory::desc w_layer_md({1, 1, I, G, H}, dt::f32, tag::ldigo);
  const memory::desc w_iter_md({1, 1, H, G, H}, dt::f32, tag::ldigo);
  const memory::desc bias_md({1, 1, c.Gb, H}, dt::f32, tag::ldgo);
  memory src_layer(src_layer_md, eng), dst_layer(dst_layer_md, eng);
  memory w_layer(w_layer_md, eng), w_iter(w_iter_md, eng), bias(bias_md, eng);
  const float scale = 1.0f / std::sqrt(static_cast<float>(H));
  fill_uniform(src_layer, 1.0f, gen);
  fill_uniform(w_layer, scale, gen);
  fill_uniform(w_iter, scale, gen);
  fill_uniform(bias, scale, gen);
  std::vector<float> head_w(static_cast<std::size_t>(H)), head_dw(head_w.size());
  for (float& v : head_w) v = std::uniform_real_distribution<float>(-scale, scale)(gen);
  float head_b = 0.0f;
  std::vector<float> target(static_cast<std::size_t>(B)), yhat(target.size()), dy(target.size());
  for (float& v : target) v = std::normal_distribution<float>()(gen);

  // Primitive descriptors: weights in the layout the primitive prefers (format `any`).
  const memory::desc w_layer_any({1, 1, I, G, H}, dt::f32, tag::any);
  const memory::desc w_iter_any({1, 1, H, G, H}, dt::f32, tag::any);
  Descs d;
  d.src_layer = src_layer_md;
  d.w_layer = w_layer_any;
  d.w_iter = w_iter_any;
  d.bias = bias_md;
  d.dst_layer = dst_layer_md;
  if (stream) {
    d.src_iter = d.dst_iter = state_md;
    if (c.has_c) d.src_iter_c = d.dst_iter_c = state_md;
  }
  primitive fwd;
  const primitive_desc_base fwd_pd = make_fwd(
      c, train ? prop_kind::forward_training : prop_kind::forward_inference, d, eng, fwd);
  memory fw_layer = like(fwd_pd.query_md(query::weights_md, 0), w_layer, eng);
  memory fw_iter = like(fwd_pd.query_md(query::weights_md, 1), w_iter, eng);
  const memory::desc scratch_md = fwd_pd.query_md(query::scratchpad_md);
  memory scratch(scratch_md, eng);
  auto reorder_if = [&](memory& from, memory& to) {
    if (from.get() != to.get()) reorder(from, to).execute(strm, from, to);
  };
  std::unordered_map<int, memory> fargs{{DNNL_ARG_SRC_LAYER, src_layer},
                                        {DNNL_ARG_WEIGHTS_LAYER, fw_layer},
                                        {DNNL_ARG_WEIGHTS_ITER, fw_iter},
                                        {DNNL_ARG_BIAS, bias},
                                        {DNNL_ARG_DST_LAYER, dst_layer},
                                        {DNNL_ARG_SCRATCHPAD, scratch}};
  std::string impl = fwd_pd.impl_info_str();

  std::vector<double> times;
  double flop = 2.0 * static_cast<double>(B) * static_cast<double>(I + H) *
                static_cast<double>(G * H) * static_cast<double>(T);
  int warmup = a.warmup;
  auto timed = [&](auto&& body) {
    for (int i = 0; i < warmup; ++i) body();
    times.reserve(stream ? 1 << 16 : 1024);
    const auto start = Clock::now();
    const int min_iters = stream ? std::max(a.min_iters, 100) : a.min_iters;
    while (static_cast<int>(times.size()) < min_iters || seconds_since(start) < a.seconds) {
      const auto t0 = Clock::now();
      body();
      times.push_back(seconds_since(t0));
    }
  };

  if (train) {
    flop *= 3.0;
    if (warmup < 0) warmup = 2;
    memory workspace(fwd_pd.query_md(query::workspace_md), eng);
    fargs.insert({DNNL_ARG_WORKSPACE, workspace});
    // Backward: diff memories in plain layouts; weights / diff weights `any`.
    Descs dd = d;
    dd.w_layer = w_layer_any;
    dd.w_iter = w_iter_any;
    primitive bwd;
    Descs db = d;  // forward-side descs for the backward primitive
    const primitive_desc_base bwd_pd = make_bwd(c, db, dd, eng, fwd_pd, bwd);
    memory bw_layer = like(bwd_pd.query_md(query::weights_md, 0), w_layer, eng);
    memory bw_iter = like(bwd_pd.query_md(query::weights_md, 1), w_iter, eng);
    memory dw_layer_user(w_layer_md, eng), dw_iter_user(w_iter_md, eng), dbias(bias_md, eng);
    memory dw_layer = like(bwd_pd.query_md(query::diff_weights_md, 0), dw_layer_user, eng);
    memory dw_iter = like(bwd_pd.query_md(query::diff_weights_md, 1), dw_iter_user, eng);
    memory diff_src_layer(src_layer_md, eng), diff_dst_layer(dst_layer_md, eng);
    std::memset(ptr(diff_dst_layer), 0, count(diff_dst_layer) * sizeof(float));
    memory bscratch(bwd_pd.query_md(query::scratchpad_md), eng);
    std::unordered_map<int, memory> bargs{{DNNL_ARG_SRC_LAYER, src_layer},
                                          {DNNL_ARG_WEIGHTS_LAYER, bw_layer},
                                          {DNNL_ARG_WEIGHTS_ITER, bw_iter},
                                          {DNNL_ARG_BIAS, bias},
                                          {DNNL_ARG_DST_LAYER, dst_layer},
                                          {DNNL_ARG_WORKSPACE, workspace},
                                          {DNNL_ARG_DIFF_SRC_LAYER, diff_src_layer},
                                          {DNNL_ARG_DIFF_WEIGHTS_LAYER, dw_layer},
                                          {DNNL_ARG_DIFF_WEIGHTS_ITER, dw_iter},
                                          {DNNL_ARG_DIFF_BIAS, dbias},
                                          {DNNL_ARG_DIFF_DST_LAYER, diff_dst_layer},
                                          {DNNL_ARG_SCRATCHPAD, bscratch}};
    impl += " / " + std::string(bwd_pd.impl_info_str());
    Adam adam_wl, adam_wi, adam_b, adam_hw, adam_hb;
    int64_t t = 0;
    const float* h_last = ptr(dst_layer) + (T - 1) * B * H;
    float* dh_last = ptr(diff_dst_layer) + (T - 1) * B * H;
    timed([&] {
      reorder_if(w_layer, fw_layer);
      reorder_if(w_iter, fw_iter);
      fwd.execute(strm, fargs);
      strm.wait();
      // Dense head + MSE (mean over B) and its gradient.
      dense_forward(h_last, head_w.data(), head_b, B, H, yhat.data());
      float dhb = 0.0f;
      std::fill(head_dw.begin(), head_dw.end(), 0.0f);
      for (int64_t i = 0; i < B; ++i) {
        dy[i] = 2.0f * (yhat[i] - target[i]) / static_cast<float>(B);
        dhb += dy[i];
        for (int64_t j = 0; j < H; ++j) {
          head_dw[j] += dy[i] * h_last[i * H + j];
          dh_last[i * H + j] = dy[i] * head_w[j];
        }
      }
      reorder_if(w_layer, bw_layer);
      reorder_if(w_iter, bw_iter);
      std::memset(ptr(dw_layer), 0, count(dw_layer) * sizeof(float));
      std::memset(ptr(dw_iter), 0, count(dw_iter) * sizeof(float));
      std::memset(ptr(dbias), 0, count(dbias) * sizeof(float));
      bwd.execute(strm, bargs);
      reorder_if(dw_layer, dw_layer_user);
      reorder_if(dw_iter, dw_iter_user);
      strm.wait();
      ++t;
      adam_wl.step(ptr(w_layer), ptr(dw_layer_user), count(w_layer), t);
      adam_wi.step(ptr(w_iter), ptr(dw_iter_user), count(w_iter), t);
      adam_b.step(ptr(bias), ptr(dbias), count(bias), t);
      adam_hw.step(head_w.data(), head_dw.data(), head_w.size(), t);
      adam_hb.step(&head_b, &dhb, 1, t);
    });
  } else if (!stream) {
    if (warmup < 0) warmup = 2;
    reorder_if(w_layer, fw_layer);  // weights are constant at inference: reorder once
    reorder_if(w_iter, fw_iter);
    const float* h_last = ptr(dst_layer) + (T - 1) * B * H;
    timed([&] {
      fwd.execute(strm, fargs);
      strm.wait();
      dense_forward(h_last, head_w.data(), head_b, B, H, yhat.data());
    });
  } else {
    if (warmup < 0) warmup = 200;
    reorder_if(w_layer, fw_layer);
    reorder_if(w_iter, fw_iter);
    memory h[2] = {memory(state_md, eng), memory(state_md, eng)};
    memory cst[2] = {memory(state_md, eng), memory(state_md, eng)};
    for (int k = 0; k < 2; ++k) {
      std::memset(ptr(h[k]), 0, count(h[k]) * sizeof(float));
      std::memset(ptr(cst[k]), 0, count(cst[k]) * sizeof(float));
    }
    std::unordered_map<int, memory> args2[2];
    for (int k = 0; k < 2; ++k) {
      args2[k] = fargs;
      args2[k][DNNL_ARG_SRC_ITER] = h[k];
      args2[k][DNNL_ARG_DST_ITER] = h[1 - k];
      if (c.has_c) {
        args2[k][DNNL_ARG_SRC_ITER_C] = cst[k];
        args2[k][DNNL_ARG_DST_ITER_C] = cst[1 - k];
      }
    }
    int k = 0;
    int64_t n = 0;
    const float* h_last = ptr(dst_layer);
    timed([&] {
      fwd.execute(strm, args2[k]);
      strm.wait();
      dense_forward(h_last, head_w.data(), head_b, B, H, yhat.data());
      k = 1 - k;
      if (++n == a.steps) {  // a new sequence every T steps (outside nothing: two memsets)
        n = 0;
        std::memset(ptr(h[k]), 0, count(h[k]) * sizeof(float));
        std::memset(ptr(cst[k]), 0, count(cst[k]) * sizeof(float));
      }
    });
  }

  const double med = median(times);
  const double Td = static_cast<double>(a.steps);
  const double seq_per_s = stream ? static_cast<double>(B) / (Td * med) : static_cast<double>(B) / med;
  const double us_per_step = stream ? med * 1e6 : med * 1e6 / Td;
  const double gflops = flop / med / 1e9;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double rss = static_cast<double>(ru.ru_maxrss) / 1024.0;
  const dnnl_version_t* ver = dnnl_version();
  if (a.json) {
    std::printf(
        "{\"cell\":\"%s\",\"mode\":\"%s\",\"input\":%lld,\"units\":%lld,\"steps\":%lld,"
        "\"batch\":%lld,\"threads\":%d,\"seq_per_s\":%.6g,\"us_per_step\":%.6g,\"gflops\":%.6g,"
        "\"peak_rss_mb\":%.6g,\"engine\":\"onednn\",\"version\":\"%d.%d.%d\",\"impl\":\"%s\","
        "\"isa\":\"%s\",\"iterations\":%zu,\"median_s\":%.6g}\n",
        a.cell.c_str(), a.mode.c_str(), static_cast<long long>(I), static_cast<long long>(H),
        static_cast<long long>(a.steps), static_cast<long long>(B), threads, seq_per_s,
        us_per_step, gflops, rss, ver->major, ver->minor, ver->patch, impl.c_str(),
        isa_name(get_effective_cpu_isa()), times.size(), med);
  } else {
    std::printf("oneDNN %d.%d.%d %s %s I=%lld H=%lld T=%lld B=%lld threads=%d (%s, %s)\n",
                ver->major, ver->minor, ver->patch, a.cell.c_str(), a.mode.c_str(),
                static_cast<long long>(I), static_cast<long long>(H),
                static_cast<long long>(a.steps), static_cast<long long>(B), threads,
                impl.c_str(), isa_name(get_effective_cpu_isa()));
    std::printf("  median %.4f ms (%zu calls)  %.1f seq/s  %.2f us/step  %.1f GFLOP/s  "
                "peak RSS %.1f MB\n",
                med * 1e3, times.size(), seq_per_s, us_per_step, gflops, rss);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  try {
    return run(a);
  } catch (const dnnl::error& e) {
    std::fprintf(stderr, "onednn_rnn: oneDNN error: %s (status %d)\n", e.what(),
                 static_cast<int>(e.status));
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "onednn_rnn: error: %s\n", e.what());
    return 1;
  }
}
