// Functional models (include/recur/model/functional.hpp) and merge layers: building and shapes,
// equivalences that pin the forward semantics (a chain equals the Sequential; a decoder started
// from the encoder's states equals one long sequence; Concatenate + Dense equals the branches
// run alone), masks through merges, gradient routing details, the Keras 2 / Keras 3 functional
// configs, save/load round trips, the summary, every builder and loader error, and that the graph
// walk adds no allocation of its own.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "io/keras_functional.hpp"
#include "recur/recur.hpp"
#include "support/alloc_counter.hpp"

// ---- Counting operator new (tests/support/alloc_counter.cpp) -----------------------------------

using recur::testing::g_counting;
using recur::testing::g_news;

namespace {

using nlohmann::json;
using recur::Activation;
using recur::Concatenate;
using recur::ConfigError;
using recur::Context;
using recur::Dense;
using recur::DenseOptions;
using recur::Functional;
using recur::InvalidArgument;
using recur::make_gru;
using recur::make_lstm;
using recur::Model;
using recur::NodeRef;
using recur::Rng;
using recur::Sequential;
using recur::Shape;
using recur::ShapeError;
using recur::Tensor;

// EXPECT that `stmt` throws E whose message contains `text`.
#define EXPECT_THROW_MSG(stmt, E, text)                                      \
  do {                                                                       \
    try {                                                                    \
      stmt;                                                                  \
      ADD_FAILURE() << "no exception from " #stmt;                           \
    } catch (const E& e) {                                                   \
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos)         \
          << "message: " << e.what() << "\nexpected to contain: " << (text); \
    } catch (const std::exception& e) {                                      \
      ADD_FAILURE() << "wrong exception type from " #stmt ": " << e.what();  \
    }                                                                        \
  } while (0)

Tensor random_tensor(const Shape& shape, Rng& rng, double scale = 1.0) {
  Tensor t(shape);
  for (float& v : t.span()) v = static_cast<float>(scale * rng.normal());
  return t;
}

void randomize(Model& m, uint64_t seed) {
  Rng rng(seed, Rng::kInit);
  for (float& w : m.weights()) w = rng.uniform(-0.5f, 0.5f);
}

// Copies every variable of `to` from the variable of the same name in `from`.
void copy_weights(const Model& from, Model& to,
                  const std::map<std::string, std::string>& rename = {}) {
  std::map<std::string, recur::TensorView> src;
  for (const recur::Variable& v : from.variables()) src[v.name] = v.value;
  for (const recur::Variable& v : to.variables()) {
    std::string name = v.name;
    for (const auto& [a, b] : rename)
      if (name.rfind(a + "/", 0) == 0) name = b + name.substr(a.size());
    auto it = src.find(name);
    ASSERT_NE(it, src.end()) << "no variable " << name;
    ASSERT_EQ(it->second.shape, v.value.shape) << name;
    std::memcpy(v.value.data, it->second.data, static_cast<std::size_t>(v.value.numel()) * 4);
  }
}

::testing::AssertionResult same(const Tensor& a, const Tensor& b, double tol = 0.0) {
  if (a.shape() != b.shape())
    return ::testing::AssertionFailure()
           << "shapes " << recur::shape_str(a.shape()) << " vs " << recur::shape_str(b.shape());
  for (int64_t i = 0; i < a.numel(); ++i)
    if (!(std::abs(static_cast<double>(a[i]) - b[i]) <= tol))
      return ::testing::AssertionFailure() << "element " << i << ": " << a[i] << " vs " << b[i];
  return ::testing::AssertionSuccess();
}

std::unique_ptr<Dense> dense(std::string name, int64_t units, Activation a = Activation::linear) {
  return std::make_unique<Dense>(std::move(name), DenseOptions{.units = units, .activation = a});
}

std::string temp_path(const std::string& stem) {
  return (std::filesystem::temp_directory_path() /
          (stem + "_" + std::to_string(::getpid()) + ".safetensors"))
      .string();
}

// (a): LSTM and GRU branches on one input, concatenated into one Dense.
std::unique_ptr<Functional> branches_model(uint64_t seed = 0) {
  auto g = std::make_unique<Functional>("branches");
  NodeRef x = g->input("x", {-1, 3});
  NodeRef a = g->call(make_lstm("lstm", {.units = 5}), {x})[0];
  NodeRef b = g->call(make_gru("gru", {.units = 4}), {x})[0];
  NodeRef c = g->call(std::make_unique<Concatenate>("cat"), {a, b})[0];
  NodeRef y = g->call(dense("out", 2, Activation::tanh), {c})[0];
  g->build({x}, {y}, seed);
  return g;
}

// (b): seq2seq, the decoder starting from the encoder's final states.
std::unique_ptr<Functional> seq2seq_model(uint64_t seed = 0) {
  auto g = std::make_unique<Functional>("seq2seq");
  NodeRef e_in = g->input("enc_in", {-1, 3});
  auto enc = g->call(make_lstm("enc", {.units = 6, .return_state = true}), {e_in});
  NodeRef d_in = g->input("dec_in", {-1, 2});
  NodeRef d = g->call(make_lstm("dec", {.units = 6, .return_sequences = true}), {d_in},
                      {enc[1], enc[2]})[0];
  NodeRef y = g->call(dense("out", 2), {d})[0];
  g->build({e_in, d_in}, {y}, seed);
  return g;
}

// ---- Building and shapes -----------------------------------------------------------------------

TEST(Functional, BuilderShapesAndLayerOrder) {
  Functional g("m");
  NodeRef x = g.input("x", {-1, 3});
  auto enc =
      g.call(make_lstm("lstm", {.units = 5, .return_sequences = true, .return_state = true}), {x});
  ASSERT_EQ(enc.size(), 3u);
  EXPECT_EQ(g.shape(enc[0]), (Shape{-1, 5}));
  EXPECT_EQ(g.shape(enc[1]), (Shape{5}));
  EXPECT_EQ(g.shape(enc[2]), (Shape{5}));
  auto gru = g.call(make_gru("gru", {.units = 4, .return_state = true}), {x});
  ASSERT_EQ(gru.size(), 2u);  // output, h
  NodeRef c = g.call(std::make_unique<Concatenate>("cat"), {enc[1], gru[0], gru[1]})[0];
  EXPECT_EQ(g.shape(c), (Shape{13}));
  NodeRef y = g.call(dense("out", 2), {c})[0];
  EXPECT_EQ(g.producer(y), "out");
  g.build({x}, {y, enc[0]}, 7);
  EXPECT_EQ(g.num_inputs(), 1u);
  EXPECT_EQ(g.num_outputs(), 2u);
  EXPECT_EQ(g.input_shape(0), (Shape{-1, 3}));
  EXPECT_EQ(g.output_shape(0), (Shape{2}));
  EXPECT_EQ(g.output_shape(1), (Shape{-1, 5}));
  std::vector<std::string> names;
  int64_t params = 0;
  for (recur::Layer* l : g.layers()) {
    names.push_back(l->name());
    params += l->param_count();
  }
  EXPECT_EQ(names, (std::vector<std::string>{"lstm", "gru", "cat", "out"}));
  EXPECT_EQ(g.param_count(), params);
  EXPECT_EQ(g.param_count(), 4 * 5 * (3 + 5 + 1) + (3 * 4 * (3 + 4) + 2 * 12) + (13 * 2 + 2));
  EXPECT_EQ(std::string(g.class_name()), "Functional");
}

TEST(Functional, SequentialEquivalentChainIsIdentical) {
  // Same layers, same seed: the same initial weights (file order) and bit-identical outputs and
  // gradients.
  Sequential s("chain");
  s.add(make_lstm("lstm", {.units = 6, .return_sequences = true}));
  s.add(make_gru("gru", {.units = 5}));
  s.add(dense("dense", 2));
  s.build({-1, 3}, 5);
  Functional g("chain");
  NodeRef x = g.input("x", {-1, 3});
  NodeRef h = g.call(make_lstm("lstm", {.units = 6, .return_sequences = true}), {x})[0];
  h = g.call(make_gru("gru", {.units = 5}), {h})[0];
  NodeRef y = g.call(dense("dense", 2), {h})[0];
  g.build({x}, {y}, 5);
  ASSERT_EQ(s.param_count(), g.param_count());
  for (std::size_t i = 0; i < s.weights().size(); ++i)
    ASSERT_EQ(s.weights()[i], g.weights()[i]) << "weight " << i;
  Rng rng(3);
  const Tensor xs = random_tensor({7, 5, 3}, rng);  // batch-first [N, T, F]
  EXPECT_TRUE(same(s.predict(xs, 3), g.predict(xs, 3)));

  const Tensor xt = random_tensor({5, 4, 3}, rng);  // time-major [T, B, F]
  const Tensor dy = random_tensor({4, 2}, rng);
  Context ctx;
  s.zero_grad();
  g.zero_grad();
  s.forward_batch(ctx, {&xt});
  s.backward_batch(ctx, {&dy});
  g.forward_batch(ctx, {&xt});
  g.backward_batch(ctx, {&dy});
  for (std::size_t i = 0; i < s.grads().size(); ++i)
    ASSERT_EQ(s.grads()[i], g.grads()[i]) << "grad " << i;
  // dL/dx of the chain equals Sequential::backward's.
  const Tensor dx_seq = s.backward(ctx, dy);
  ASSERT_NE(g.input_grad(0), nullptr);
  EXPECT_TRUE(same(*g.input_grad(0), dx_seq));
}

TEST(Functional, ConcatenateBranchesEqualBranchesAlone) {
  auto g = branches_model();
  randomize(*g, 11);
  Sequential la("a"), gb("b");
  la.add(make_lstm("lstm", {.units = 5}));
  la.build({-1, 3});
  gb.add(make_gru("gru", {.units = 4}));
  gb.build({-1, 3});
  copy_weights(*g, la);
  copy_weights(*g, gb);
  Rng rng(4);
  const Tensor x = random_tensor({6, 4, 3}, rng);
  const Tensor y = g->predict(x);
  const Tensor a = la.predict(x), b = gb.predict(x);
  // y = tanh([a | b] · kernel + bias)
  const recur::Layer& out = g->layer("out");
  (void)out;
  std::map<std::string, recur::TensorView> v;
  for (const recur::Variable& var : g->variables()) v[var.name] = var.value;
  const float* K = v["out/kernel"].data;
  const float* bias = v["out/bias"].data;
  Tensor expect({6, 2});
  for (int64_t n = 0; n < 6; ++n)
    for (int64_t j = 0; j < 2; ++j) {
      double z = bias[j];
      for (int64_t i = 0; i < 5; ++i) z += static_cast<double>(a[n * 5 + i]) * K[i * 2 + j];
      for (int64_t i = 0; i < 4; ++i) z += static_cast<double>(b[n * 4 + i]) * K[(5 + i) * 2 + j];
      expect[n * 2 + j] = static_cast<float>(std::tanh(z));
    }
  EXPECT_TRUE(same(y, expect, 1e-5));
}

TEST(Functional, Seq2SeqDecoderContinuesTheEncoderSequence) {
  // With the decoder's weights set to the encoder's, a decoder started from the encoder's final
  // (h, c) computes exactly what one LSTM computes on the two sequences joined in time.
  for (const char* cell : {"lstm", "gru"}) {
    SCOPED_TRACE(cell);
    const bool lstm = std::string(cell) == "lstm";
    auto make = [&](const char* name, recur::RecurrentOptions o) {
      return lstm ? make_lstm(name, o) : make_gru(name, o);
    };
    Functional g("s2s");
    NodeRef e_in = g.input("enc_in", {-1, 3});
    auto enc = g.call(make("enc", {.units = 4, .return_state = true}), {e_in});
    NodeRef d_in = g.input("dec_in", {-1, 3});
    std::vector<NodeRef> states(enc.begin() + 1, enc.end());
    NodeRef d = g.call(make("dec", {.units = 4, .return_sequences = true}), {d_in}, states)[0];
    g.build({e_in, d_in}, {d});
    randomize(g, 5);
    Sequential one("one");
    one.add(make("enc", {.units = 4, .return_sequences = true}));
    one.build({-1, 3});
    copy_weights(g, one);
    copy_weights(one, g, {{"dec", "enc"}});  // decoder := encoder
    const int64_t T1 = 5, T2 = 3, B = 2;
    Rng rng(8);
    const Tensor x1 = random_tensor({T1, B, 3}, rng), x2 = random_tensor({T2, B, 3}, rng);
    Tensor joined({T1 + T2, B, 3});
    std::memcpy(joined.data(), x1.data(), x1.numel() * sizeof(float));
    std::memcpy(joined.data() + x1.numel(), x2.data(), x2.numel() * sizeof(float));
    Context ctx;
    const Tensor y = *g.forward_batch(ctx, {&x1, &x2})[0];  // [T2, B, 4]
    const Tensor& all = one.forward(ctx, joined);           // [T1 + T2, B, 4]
    Tensor tail({T2, B, 4});
    std::memcpy(tail.data(), all.data() + T1 * B * 4, tail.numel() * sizeof(float));
    EXPECT_TRUE(same(y, tail, 2e-6));
  }
}

TEST(Functional, MultiOutputPredictWithStateOutputs) {
  Functional g("multi");
  NodeRef x = g.input("x", {-1, 3});
  auto enc = g.call(make_lstm("enc", {.units = 4, .return_state = true}), {x});
  NodeRef y = g.call(dense("out", 2), {enc[1]})[0];
  g.build({x}, {y, enc[0], enc[1], enc[2]}, 3);
  Rng rng(2);
  const Tensor xs = random_tensor({5, 6, 3}, rng);
  const std::vector<Tensor> ys = g.predict(std::vector<Tensor>{xs}, 2);
  ASSERT_EQ(ys.size(), 4u);
  EXPECT_EQ(ys[0].shape(), (Shape{5, 2}));
  for (int k = 1; k < 4; ++k) EXPECT_EQ(ys[k].shape(), (Shape{5, 4}));
  EXPECT_TRUE(same(ys[1], ys[2]));  // return_sequences=false: the output is h
  EXPECT_FALSE(same(ys[2], ys[3]));
  EXPECT_THROW_MSG(g.predict(xs), InvalidArgument, "4 outputs");
}

TEST(Functional, FitTrainsBranchesAndSeq2SeqTogether) {
  // compile/fit work through the Model interface: the LSTM and GRU branches (and the encoder
  // through its states) are trained together and the loss falls.
  Rng rng(21);
  const int64_t N = 64, T = 6;
  {
    auto g = branches_model(1);
    Tensor x = random_tensor({N, T, 3}, rng), y({N, 2});
    for (int64_t n = 0; n < N; ++n) {  // targets: tanh of the mean of features 0 and 1
      double s0 = 0, s1 = 0;
      for (int64_t t = 0; t < T; ++t) {
        s0 += x[(n * T + t) * 3];
        s1 += x[(n * T + t) * 3 + 1];
      }
      y[n * 2] = static_cast<float>(std::tanh(s0 / T));
      y[n * 2 + 1] = static_cast<float>(std::tanh(s1 / T));
    }
    recur::CompileOptions co = recur::compile_options("adam", "mse");
    co.optimizer.learning_rate = 0.01;
    g->compile(co);
    recur::FitOptions fo;
    fo.epochs = 40;
    fo.batch_size = 16;
    fo.verbose = 0;
    const recur::History h = g->fit(x, y, fo);
    const auto& loss = h.history.at("loss");
    EXPECT_LT(loss.back(), 0.1 * loss.front())
        << "branches: " << loss.front() << " -> " << loss.back();
  }
  {
    auto g = seq2seq_model(2);
    // The decoder must output the encoder's first input features at every step: only the
    // states carry them across. The encoder reads more steps than the decoder writes, and the
    // encoder is input 0: the per-step target follows the decoder's length.
    const int64_t Te = T + 3, Td = T - 1;
    Tensor xe = random_tensor({N, Te, 3}, rng), xd = random_tensor({N, Td, 2}, rng), y({N, Td, 2});
    for (int64_t n = 0; n < N; ++n)
      for (int64_t t = 0; t < Td; ++t)
        for (int64_t k = 0; k < 2; ++k) y[(n * Td + t) * 2 + k] = 0.5f * xe[(n * Te) * 3 + k];
    recur::CompileOptions co = recur::compile_options("adam", "mse");
    co.optimizer.learning_rate = 0.01;
    g->compile(co);
    recur::FitOptions fo;
    fo.epochs = 40;
    fo.batch_size = 16;
    fo.verbose = 0;
    const recur::History h = g->fit({xe, xd}, {y}, fo);
    const auto& loss = h.history.at("loss");
    EXPECT_LT(loss.back(), 0.25 * loss.front())
        << "seq2seq: " << loss.front() << " -> " << loss.back();
    // A target whose length matches neither input is refused before training.
    Tensor bad({N, Td + 1, 2});
    EXPECT_THROW(g->fit({xe, xd}, {bad}, fo), recur::ShapeError);
  }
}

// ---- Masks through merges
// ------------------------------------------------------------------------

TEST(Functional, MergeMasksAreAndedAndStatesCarryNone) {
  Functional g("masks");
  NodeRef x1 = g.input("x1", {-1, 2});
  NodeRef x2 = g.input("x2", {-1, 2});
  NodeRef m1 = g.call(std::make_unique<recur::Masking>("m1"), {x1})[0];
  NodeRef m2 = g.call(std::make_unique<recur::Masking>("m2"), {x2})[0];
  NodeRef sum = g.call(std::make_unique<recur::Add>("add"), {m1, m2})[0];
  NodeRef one = g.call(std::make_unique<Concatenate>("cat"), {m1, x2})[0];
  NodeRef none = g.call(std::make_unique<Concatenate>("cat2"), {x1, x2})[0];
  auto r =
      g.call(make_gru("gru", {.units = 2, .return_sequences = true, .return_state = true}), {sum});
  g.build({x1, x2}, {sum, one, none, r[0], r[1]});
  const int64_t T = 4, B = 3;
  Rng rng(1);
  Tensor a = random_tensor({T, B, 2}, rng), b = random_tensor({T, B, 2}, rng);
  // a: sample 1 padded at step 3; b: sample 2 padded at step 0 (all-zero features).
  for (int f = 0; f < 2; ++f) {
    a[(3 * B + 1) * 2 + f] = 0.0f;
    b[(0 * B + 2) * 2 + f] = 0.0f;
  }
  Context ctx;
  g.forward_batch(ctx, {&a, &b});
  const auto masks = g.output_masks();
  ASSERT_EQ(masks.size(), 5u);
  ASSERT_NE(masks[0], nullptr);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t s = 0; s < B; ++s) {
      const bool real = !(t == 3 && s == 1) && !(t == 0 && s == 2);
      EXPECT_EQ((*masks[0])[t * B + s], real ? 1.0f : 0.0f) << t << "," << s;
    }
  ASSERT_NE(masks[1], nullptr);  // only m1 carries a mask: it is passed on
  EXPECT_EQ((*masks[1])[3 * B + 1], 0.0f);
  EXPECT_EQ((*masks[1])[0 * B + 2], 1.0f);
  EXPECT_EQ(masks[2], nullptr);
  EXPECT_EQ(masks[3], masks[0]);  // a return_sequences output passes its input mask on
  EXPECT_EQ(masks[4], nullptr);   // states carry no mask
}

TEST(Functional, EmbeddingMaskZeroThroughConcatenate) {
  Functional g("emb");
  NodeRef ids = g.input("ids", {-1});
  NodeRef e = g.call(
      std::make_unique<recur::Embedding>(
          "emb", recur::EmbeddingOptions{.input_dim = 5, .output_dim = 3, .mask_zero = true}),
      {ids})[0];
  NodeRef a = g.call(make_lstm("lstm", {.units = 2, .return_sequences = true}), {e})[0];
  NodeRef b = g.call(make_gru("gru", {.units = 2, .return_sequences = true}), {e})[0];
  NodeRef c = g.call(std::make_unique<Concatenate>("cat"), {a, b})[0];
  g.build({ids}, {c});
  EXPECT_TRUE(g.takes_token_ids(0));
  Tensor x({3, 2}, {1, 2, 3, 0, 4, 0});  // [T, B]: sample 1 padded after step 0
  Context ctx;
  const Tensor& y = *g.forward_batch(ctx, {&x})[0];
  EXPECT_EQ(y.shape(), (Shape{3, 2, 4}));
  const Tensor* m = g.output_masks()[0];
  ASSERT_NE(m, nullptr);
  EXPECT_TRUE(same(*m, Tensor({3, 2}, {1, 1, 1, 0, 1, 0})));
  // Masked steps repeat the previous output (Keras), in both halves of the concatenation.
  for (int k = 0; k < 4; ++k) EXPECT_EQ(y[(2 * 2 + 1) * 4 + k], y[(0 * 2 + 1) * 4 + k]);
}

// ---- Gradient routing
// ----------------------------------------------------------------------------

TEST(Functional, OutputsWithoutGradientContributeZeros) {
  Functional g("two");
  NodeRef x = g.input("x", {-1, 2});
  auto enc = g.call(make_lstm("lstm", {.units = 3, .return_state = true}), {x});
  NodeRef y = g.call(dense("out", 2), {enc[0]})[0];
  g.build({x}, {y, enc[2]});
  randomize(g, 2);
  Rng rng(5);
  const Tensor xt = random_tensor({4, 3, 2}, rng), dy = random_tensor({3, 2}, rng);
  const Tensor zeros({3, 3}, 0.0f);
  Context ctx;
  auto grads = [&](std::vector<const Tensor*> dys) {
    g.zero_grad();
    g.forward_batch(ctx, {&xt});
    g.backward_batch(ctx, dys);
    return std::vector<float>(g.grads().begin(), g.grads().end());
  };
  EXPECT_EQ(grads({&dy, nullptr}), grads({&dy, &zeros}));
  const std::vector<float> none = grads({nullptr, nullptr});
  for (float v : none) EXPECT_EQ(v, 0.0f);
  EXPECT_EQ(g.input_grad(0), nullptr);
  // Gradients accumulate over calls until zero_grad().
  const std::vector<float> once = grads({&dy, nullptr});
  g.forward_batch(ctx, {&xt});
  g.backward_batch(ctx, {&dy, nullptr});
  for (std::size_t i = 0; i < once.size(); ++i) EXPECT_FLOAT_EQ(g.grads()[i], 2 * once[i]);
}

TEST(Functional, NoAllocationOnceShapesRepeat) {
  // The graph walk itself allocates nothing once shapes repeat: a chain as a Functional makes
  // exactly as many operator new calls per training step as the same chain as a Sequential.
  auto layers = [] {
    std::vector<std::unique_ptr<recur::Layer>> l;
    l.push_back(std::make_unique<recur::Masking>("mask"));
    l.push_back(make_lstm("lstm", {.units = 6, .return_sequences = true}));
    l.push_back(make_gru("gru", {.units = 5}));
    l.push_back(dense("dense", 2));
    return l;
  };
  Sequential s("chain");
  for (auto& l : layers()) s.add(std::move(l));
  s.build({-1, 3});
  Functional g("chain");
  NodeRef h = g.input("x", {-1, 3});
  const NodeRef x = h;
  for (auto& l : layers()) h = g.call(std::move(l), {h})[0];
  g.build({x}, {h});
  Rng rng(1);
  const Tensor xt = random_tensor({6, 4, 3}, rng), dy = random_tensor({4, 2}, rng);
  auto news_of_second_step = [&](Model& m) {
    Context ctx;
    const std::vector<const Tensor*> xs{&xt}, dys{&dy};
    int64_t news = 0;
    for (int step = 0; step < 2; ++step) {
      g_news = 0;
      g_counting = step == 1;
      m.zero_grad();
      m.forward_batch(ctx, xs);
      m.backward_batch(ctx, dys);
      g_counting = false;
      news = g_news;
    }
    return news;
  };
  const int64_t seq = news_of_second_step(s), func = news_of_second_step(g);
  EXPECT_EQ(func, seq) << "Sequential: " << seq << " operator new calls per step";

  // Graphs with states, merges and masks: nothing after the first step (the layers allocate
  // nothing for a repeated shape either).
  auto steady_news = [](Model& m, const std::vector<const Tensor*>& ins,
                        const std::vector<const Tensor*>& douts) {
    Context ctx;
    int64_t news = 0;
    for (int step = 0; step < 3; ++step) {
      g_news = 0;
      g_counting = step > 0;
      m.zero_grad();
      m.forward_batch(ctx, ins);
      m.backward_batch(ctx, douts);
      g_counting = false;
      news += g_news;
    }
    return news;
  };
  auto s2s = seq2seq_model();
  const Tensor x1 = random_tensor({5, 4, 3}, rng), x2 = random_tensor({3, 4, 2}, rng);
  const Tensor d2 = random_tensor({3, 4, 2}, rng);
  EXPECT_EQ(steady_news(*s2s, {&x1, &x2}, {&d2}), 0);
  Functional m("merges");
  NodeRef in = m.input("x", {-1, 3});
  NodeRef masked = m.call(std::make_unique<recur::Masking>("mask"), {in})[0];
  auto a = m.call(make_lstm("a", {.units = 3, .return_sequences = true, .return_state = true}),
                  {masked});
  NodeRef b = m.call(make_gru("b", {.units = 3, .return_sequences = true}), {in}, {a[1]})[0];
  NodeRef sum = m.call(std::make_unique<recur::Add>("add"), {a[0], b, a[0]})[0];
  NodeRef cat = m.call(std::make_unique<Concatenate>("cat"), {sum, masked})[0];
  m.build({in}, {cat, a[2]});
  Tensor x3 = random_tensor({5, 4, 3}, rng);
  for (int f = 0; f < 3; ++f) x3[(4 * 4 + 1) * 3 + f] = 0.0f;  // a padded step
  const Tensor d3 = random_tensor({5, 4, 6}, rng), dc = random_tensor({4, 3}, rng);
  EXPECT_EQ(steady_news(m, {&x3}, {&d3, &dc}), 0);
}

// ---- Keras configs, files, summary -------------------------------------------------------------

TEST(Functional, ToJsonIsTheKeras2FunctionalConfig) {
  auto g = seq2seq_model();
  const json j = g->to_json();
  EXPECT_EQ(j["class_name"], "Functional");
  const json& cfg = j["config"];
  EXPECT_EQ(cfg["name"], "seq2seq");
  EXPECT_EQ(cfg["input_layers"], json::parse(R"([["enc_in", 0, 0], ["dec_in", 0, 0]])"));
  EXPECT_EQ(cfg["output_layers"], json::parse(R"([["out", 0, 0]])"));
  std::map<std::string, json> by_name;
  for (const json& l : cfg["layers"]) by_name[l["name"]] = l;
  ASSERT_EQ(by_name.size(), 5u);
  EXPECT_EQ(by_name["enc_in"]["class_name"], "InputLayer");
  EXPECT_EQ(by_name["enc_in"]["config"]["batch_input_shape"], json::parse("[null, null, 3]"));
  EXPECT_EQ(by_name["enc_in"]["inbound_nodes"], json::array());
  EXPECT_EQ(by_name["enc"]["inbound_nodes"], json::parse(R"([[["enc_in", 0, 0, {}]]])"));
  EXPECT_EQ(by_name["enc"]["config"]["return_state"], true);
  EXPECT_EQ(by_name["dec"]["inbound_nodes"],
            json::parse(R"([[["dec_in", 0, 0, {}], ["enc", 0, 1, {}], ["enc", 0, 2, {}]]])"));
  EXPECT_EQ(by_name["out"]["inbound_nodes"], json::parse(R"([[["dec", 0, 0, {}]]])"));

  auto b = branches_model();
  const json jb = b->to_json();
  for (const json& l : jb["config"]["layers"]) {
    if (l["name"] == "cat") {
      EXPECT_EQ(l["class_name"], "Concatenate");
      EXPECT_EQ(l["config"]["axis"], -1);
      EXPECT_EQ(l["inbound_nodes"], json::parse(R"([[["lstm", 0, 0, {}], ["gru", 0, 0, {}]]])"));
    }
  }
  // Token-id inputs are int32 with batch shape [null, T].
  Functional e("ids");
  NodeRef ids = e.input("ids", {7});
  NodeRef v = e.call(std::make_unique<recur::Embedding>(
                         "emb", recur::EmbeddingOptions{.input_dim = 4, .output_dim = 2}),
                     {ids})[0];
  e.build({ids}, {v});
  const json ji = e.to_json()["config"]["layers"][0]["config"];
  EXPECT_EQ(ji["dtype"], "int32");
  EXPECT_EQ(ji["batch_input_shape"], json::parse("[null, 7]"));
}

TEST(Functional, SaveLoadRoundTrip) {
  std::vector<std::unique_ptr<Functional>> models;
  models.push_back(seq2seq_model(4));
  models.push_back(branches_model(5));
  {  // Add, Embedding with mask_zero, state outputs, several outputs.
    auto g = std::make_unique<Functional>("misc");
    NodeRef ids = g->input("ids", {-1});
    NodeRef x = g->input("x", {-1, 3});
    NodeRef e = g->call(
        std::make_unique<recur::Embedding>(
            "emb", recur::EmbeddingOptions{.input_dim = 9, .output_dim = 3, .mask_zero = true}),
        {ids})[0];
    NodeRef s = g->call(std::make_unique<recur::Add>("add"), {e, x})[0];
    auto r = g->call(
        make_gru(
            "gru",
            {.units = 3, .return_sequences = true, .return_state = true, .reset_after = false}),
        {s});
    NodeRef c = g->call(std::make_unique<Concatenate>("cat", 2), {r[0], s})[0];
    g->build({ids, x}, {c, r[1]}, 6);
    models.push_back(std::move(g));
  }
  Rng rng(9);
  for (auto& g : models) {
    SCOPED_TRACE(g->name());
    std::vector<Tensor> xs;
    for (std::size_t i = 0; i < g->num_inputs(); ++i) {
      if (g->takes_token_ids(i)) {
        Tensor t({4, 5});
        for (float& v : t.span()) v = static_cast<float>(rng.below(9));
        xs.push_back(t);
      } else {
        xs.push_back(random_tensor({4, 5, g->input_shape(i)[1]}, rng));
      }
    }
    const std::string path = temp_path("functional_" + g->name());
    recur::save_model(path, *g);
    std::unique_ptr<Model> back = recur::load_model(path);
    std::filesystem::remove(path);
    EXPECT_EQ(std::string(back->class_name()), "Functional");
    EXPECT_EQ(back->to_json(), g->to_json());
    EXPECT_EQ(back->summary(), g->summary());
    const std::vector<Tensor> a = g->predict(xs), b = back->predict(xs);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t o = 0; o < a.size(); ++o) EXPECT_TRUE(same(a[o], b[o])) << "output " << o;
  }
}

// The seq2seq model of seq2seq_model() as Keras 3 writes it (module / registered_name /
// build_config keys, batch_shape, __keras_tensor__ arguments, initial_state as a keyword).
const char* kKeras3Seq2Seq = R"({
  "module": "keras.src.models.functional", "class_name": "Functional", "registered_name": "Functional",
  "config": {"name": "seq2seq", "trainable": true,
    "layers": [
      {"module": "keras.layers", "class_name": "InputLayer", "registered_name": null, "name": "enc_in",
       "config": {"batch_shape": [null, null, 3], "dtype": "float32", "sparse": false, "name": "enc_in"},
       "inbound_nodes": []},
      {"module": "keras.layers", "class_name": "LSTM", "registered_name": null, "name": "enc",
       "build_config": {"input_shape": [null, null, 3]},
       "config": {"name": "enc", "trainable": true, "dtype": "float32", "return_sequences": false,
                  "return_state": true, "go_backwards": false, "stateful": false, "unroll": false,
                  "zero_output_for_mask": false, "units": 6, "activation": "tanh",
                  "recurrent_activation": "sigmoid", "use_bias": true, "unit_forget_bias": true,
                  "kernel_regularizer": null, "dropout": 0.0, "recurrent_dropout": 0.0, "seed": null},
       "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, null, 3], "dtype": "float32", "keras_history": ["enc_in", 0, 0]}}],
                          "kwargs": {"training": false, "mask": null}}]},
      {"module": "keras.layers", "class_name": "InputLayer", "registered_name": null, "name": "dec_in",
       "config": {"batch_shape": [null, null, 2], "dtype": "float32", "sparse": false, "ragged": false, "name": "dec_in"},
       "inbound_nodes": []},
      {"module": "keras.layers", "class_name": "LSTM", "registered_name": null, "name": "dec",
       "config": {"name": "dec", "units": 6, "return_sequences": true},
       "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, null, 2], "dtype": "float32", "keras_history": ["dec_in", 0, 0]}}],
                          "kwargs": {"initial_state": [
                             {"class_name": "__keras_tensor__", "config": {"shape": [null, 6], "dtype": "float32", "keras_history": ["enc", 0, 1]}},
                             {"class_name": "__keras_tensor__", "config": {"shape": [null, 6], "dtype": "float32", "keras_history": ["enc", 0, 2]}}],
                                     "training": false, "mask": null}}]},
      {"module": "keras.layers", "class_name": "Dense", "registered_name": null, "name": "out",
       "config": {"name": "out", "units": 2, "activation": "linear"},
       "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, null, 6], "dtype": "float32", "keras_history": ["dec", 0, 0]}}], "kwargs": {}}]}
    ],
    "input_layers": [["enc_in", 0, 0], ["dec_in", 0, 0]],
    "output_layers": ["out", 0, 0]}})";

TEST(Functional, LoadsTheKeras3FunctionalConfig) {
  auto ref = seq2seq_model(3);
  std::unique_ptr<Model> k3 = recur::io::functional_from_keras(json::parse(kKeras3Seq2Seq), "k3");
  EXPECT_EQ(k3->to_json(), ref->to_json());
  copy_weights(*ref, *k3);
  Rng rng(2);
  const std::vector<Tensor> xs{random_tensor({3, 4, 3}, rng), random_tensor({3, 4, 2}, rng)};
  EXPECT_TRUE(same(k3->predict(xs)[0], ref->predict(xs)[0]));
  // Keras 3 Concatenate: the tensors as one list argument.
  json j = branches_model()->to_json();
  for (json& l : j["config"]["layers"]) {
    if (l["inbound_nodes"].empty()) continue;
    json args = json::array();
    for (const json& r : l["inbound_nodes"][0])
      args.push_back({{"class_name", "__keras_tensor__"},
                      {"config", {{"keras_history", {r[0], r[1], r[2]}}}}});
    l["inbound_nodes"] = json::array(
        {{{"args", json::array({args.size() == 1 ? args[0] : args})}, {"kwargs", json::object()}}});
  }
  j["class_name"] = "Model";  // Keras 2.0–2.3's name loads too
  auto b = recur::io::functional_from_keras(j, "k3b");
  EXPECT_EQ(b->to_json(), branches_model()->to_json());
}

TEST(Functional, LoadAcceptsAnyTopologicalFileOrderAndKeras2StateKwargs) {
  // Layers listed consumers-first, and initial_state as a Keras 2 call keyword.
  json j = seq2seq_model()->to_json();
  json& layers = j["config"]["layers"];
  std::reverse(layers.begin(), layers.end());
  for (json& l : layers)
    if (l["name"] == "dec")
      l["inbound_nodes"] =
          json::parse(R"([[["dec_in", 0, 0, {"initial_state": [["enc", 0, 1], ["enc", 0, 2]]}]]])");
  auto g = recur::io::functional_from_keras(j, "rev");
  std::vector<std::string> names;
  for (recur::Layer* l : g->layers()) names.push_back(l->name());
  EXPECT_EQ(names, (std::vector<std::string>{"enc", "dec", "out"}));
  json back = g->to_json();
  for (const json& l : back["config"]["layers"]) {
    if (l["name"] == "dec") {
      EXPECT_EQ(l["inbound_nodes"],
                json::parse(R"([[["dec_in", 0, 0, {}], ["enc", 0, 1, {}], ["enc", 0, 2, {}]]])"));
    }
  }
}

TEST(Functional, SummaryHasConnections) {
  auto g = seq2seq_model();
  const std::string s = g->summary();
  for (const char* piece :
       {"Model: \"seq2seq\"", "Layer (type)", "Output Shape", "Param #", "Connected to",
        "enc_in (InputLayer)", "[(None, None, 3)]", "enc (LSTM)", "[(None, 6),", " (None, 6)]",
        "['enc_in[0][0]']", "['dec_in[0][0]',", "'enc[0][1]',", "'enc[0][2]']", "(None, None, 6)",
        "out (Dense)", "(None, None, 2)"})
    EXPECT_NE(s.find(piece), std::string::npos) << "missing " << piece << " in\n" << s;
  const int64_t total = g->param_count();
  EXPECT_NE(s.find("Total params: " + std::to_string(total)), std::string::npos) << s;
  EXPECT_EQ(total, 4 * 6 * (3 + 6 + 1) + 4 * 6 * (2 + 6 + 1) + 6 * 2 + 2);
}

// ---- Errors
// --------------------------------------------------------------------------------------

TEST(Functional, BuilderErrors) {
  {
    Functional g("e");
    NodeRef x = g.input("x", {-1, 3});
    EXPECT_THROW_MSG(g.input("x", {-1, 2}), ConfigError, "duplicate layer name 'x'");
    EXPECT_THROW_MSG(g.input("bad", {-1, 2, 3}), ShapeError, "input 'bad' has sample shape");
    EXPECT_THROW_MSG(g.call(make_lstm("x", {.units = 2}), {x}), ConfigError,
                     "duplicate layer name 'x'");
    auto seq = g.call(make_lstm("seq", {.units = 2, .return_sequences = true}), {x});
    auto last = g.call(make_gru("last", {.units = 2, .return_state = true}), {x});
    EXPECT_THROW_MSG(g.call(make_lstm("two", {.units = 2}), {x, x}), InvalidArgument,
                     "LSTM 'two' takes one input, got 2");
    EXPECT_THROW_MSG(g.call(std::make_unique<Concatenate>("cat"), {seq[0], last[0]}), ShapeError,
                     "Concatenate 'cat': inputs must all be vectors (None, U) or all sequences");
    EXPECT_THROW_MSG(g.call(std::make_unique<recur::Add>("add"), {seq[0], x}), ShapeError,
                     "Add 'add': inputs must have the same shape, got (None, None, 2), "
                     "(None, None, 3)");
    EXPECT_THROW_MSG(g.call(std::make_unique<Concatenate>("cat1", 1), {seq[0], x}), ConfigError,
                     "axis=1 is not supported");
    EXPECT_THROW_MSG(Concatenate("cat0", 0), ConfigError, "axis=0 is not supported");
    EXPECT_THROW_MSG(g.call(make_lstm("dec", {.units = 3}), {x}, {last[1]}), ConfigError,
                     "initial_state needs 2 tensors (h, c), got 1");
    EXPECT_THROW_MSG(g.call(make_gru("dec2", {.units = 3}), {x}, {last[1]}), ShapeError,
                     "GRU 'dec2': initial_state 0 ('last' output 1) has shape (None, 2), "
                     "expected (None, 3)");
    EXPECT_THROW_MSG(g.call(dense("d", 2), {x}, {last[1]}), ConfigError,
                     "Dense 'd': initial_state is only supported for SimpleRNN, LSTM and GRU");
    EXPECT_THROW_MSG(g.call(make_gru("bad_ref", {.units = 2}), {NodeRef{x.graph, 0, 5}}),
                     InvalidArgument, "refers to output 5 of 'x', which has 1 output(s)");
    Functional other("other");
    NodeRef y = other.input("y", {-1, 3});
    EXPECT_THROW_MSG(g.call(make_gru("foreign", {.units = 2}), {y}), InvalidArgument,
                     "is not a tensor of this model");
    NodeRef unused = g.call(dense("unused", 2), {last[0]})[0];
    (void)unused;
    EXPECT_THROW_MSG(g.build({x}, {seq[0]}), ConfigError,
                     "GRU 'last' does not lead to any model output");
    EXPECT_THROW_MSG(g.build({x, x}, {seq[0]}), ConfigError, "input 'x' is listed twice");
    EXPECT_THROW_MSG(g.build({seq[0]}, {seq[0]}), ConfigError, "model input 'seq' is the output");
  }
  {
    Functional g("e2");
    NodeRef x = g.input("x", {-1, 3});
    NodeRef z = g.input("z", {-1, 3});
    NodeRef y = g.call(std::make_unique<recur::Add>("add"), {x, z})[0];
    EXPECT_THROW_MSG(g.build({x}, {y}), ConfigError,
                     "input 'z' is not among the model's inputs passed to build()");
    g.build({x, z}, {y});
    EXPECT_THROW_MSG(g.call(dense("late", 2), {y}), ConfigError, "call() after build()");
    EXPECT_THROW_MSG(g.input("late_in", {-1, 3}), ConfigError, "input() after build()");
    Rng rng(1);
    const Tensor a = random_tensor({4, 2, 3}, rng), b = random_tensor({4, 3, 3}, rng);
    Context ctx;
    EXPECT_THROW_MSG(g.forward_batch(ctx, {&a, &b}), ShapeError, "input 'z' has shape [4, 3, 3]");
    EXPECT_THROW_MSG(g.forward_batch(ctx, {&a}), InvalidArgument, "expected 2 input(s), got 1");
    EXPECT_THROW_MSG(g.backward_batch(ctx, {&a}), ConfigError, "backward before forward");
  }
  // Merge layers outside a functional model.
  Concatenate cat("cat");
  Context ctx;
  const Tensor t({2, 3});
  EXPECT_THROW_MSG(cat.forward(ctx, t, nullptr), InvalidArgument,
                   "Concatenate 'cat' needs several inputs; use it in a functional model");
  Sequential s("s");
  s.add(std::make_unique<recur::Add>("add"));
  EXPECT_THROW_MSG(s.build({-1, 3}), InvalidArgument, "Add 'add' needs several inputs");
}

// A Keras 2 config to break in several ways.
json keras2_base() { return seq2seq_model()->to_json(); }
json& layer_named(json& j, const std::string& name) {
  for (json& l : j["config"]["layers"])
    if (l["name"] == name) return l;
  throw std::runtime_error("no layer " + name);
}

TEST(Functional, LoaderErrors) {
  using recur::io::functional_from_keras;
  {
    json j = keras2_base();
    layer_named(j, "out")["inbound_nodes"] =
        json::parse(R"([[["dec", 0, 0, {}]], [["dec", 0, 0, {}]]])");
    EXPECT_THROW_MSG(functional_from_keras(j, "f.st"), ConfigError,
                     "Dense 'out') is called 2 times (inbound_nodes has one entry per call); "
                     "shared layers are not supported");
  }
  {
    json j = keras2_base();
    layer_named(j, "out")["inbound_nodes"] = json::parse(R"([[["dec", 1, 0, {}]]])");
    EXPECT_THROW_MSG(functional_from_keras(j, "f.st"), ConfigError,
                     "is from call 1 of 'dec'; shared layers");
  }
  {
    json j = keras2_base();
    layer_named(j, "out")["inbound_nodes"] = json::parse(R"([[["nope", 0, 0, {}]]])");
    EXPECT_THROW_MSG(functional_from_keras(j, "f.st"), ConfigError,
                     "f.st: layer 4 (Dense 'out'): inbound layer 'nope' is not in the model");
  }
  {
    json j = keras2_base();
    layer_named(j, "enc")["inbound_nodes"] = json::parse(R"([[["out", 0, 0, {}]]])");
    EXPECT_THROW_MSG(functional_from_keras(j, "f.st"), ConfigError,
                     "the layers form a cycle: 'enc' -> 'dec' -> 'out' -> 'enc'");
  }
  {
    json j = keras2_base();
    layer_named(j, "out")["inbound_nodes"] = json::parse(R"([[["enc", 0, 3, {}]]])");
    EXPECT_THROW_MSG(functional_from_keras(j, "f.st"), ConfigError,
                     "inbound tensor [\"enc\", 0, 3] does not exist: 'enc' has 3 output(s)");
  }
  {
    json j = keras2_base();
    j["config"]["input_layers"] = json::parse(R"([["enc_in", 0, 0], ["missing", 0, 0]])");
    EXPECT_THROW_MSG(functional_from_keras(j, "f.st"), ConfigError,
                     "input_layers names layer 'missing', which is not in the model");
  }
  {
    json j = keras2_base();
    j["config"]["input_layers"] = json::parse(R"([["enc_in", 0, 0]])");
    EXPECT_THROW_MSG(functional_from_keras(j, "f.st"), ConfigError,
                     "input 'dec_in' is not among the model's inputs");
  }
  {
    json j = keras2_base();
    j["config"].erase("output_layers");
    EXPECT_THROW_MSG(functional_from_keras(j, "f.st"), ConfigError,
                     "functional config has no \"output_layers\" list");
  }
  {
    json j = keras2_base();
    j["config"]["output_layers"] = json::parse(R"([["enc_in", 0, 0], ["dec", 0, 0]])");
    EXPECT_THROW_MSG(functional_from_keras(j, "f.st"), ConfigError,
                     "Dense 'out' does not lead to any model output");
  }
  {  // Shape mismatch: the decoder's initial state has the wrong size.
    json j = keras2_base();
    layer_named(j, "dec")["config"]["units"] = 5;
    EXPECT_THROW_MSG(functional_from_keras(j, "f.st"), ConfigError,
                     "f.st: layer 3 (LSTM 'dec'): LSTM 'dec': initial_state 0 ('enc' output 1) "
                     "has shape (None, 6), expected (None, 5)");
  }
  {
    json j = keras2_base();
    layer_named(j, "out")["inbound_nodes"] =
        json::parse(R"([[["dec", 0, 0, {"training": true}]]])");
    EXPECT_THROW_MSG(functional_from_keras(j, "f.st"), ConfigError,
                     "call argument training=true is not supported");
  }
  {
    json j = keras2_base();
    layer_named(j, "enc_in")["config"]["dtype"] = "int32";
    EXPECT_THROW_MSG(functional_from_keras(j, "f.st"), ConfigError,
                     "an integer input must be token ids [null, T]");
  }
  {
    json j = keras2_base();
    layer_named(j, "enc_in")["config"].erase("batch_input_shape");
    EXPECT_THROW_MSG(functional_from_keras(j, "f.st"), ConfigError,
                     "InputLayer needs \"batch_input_shape\" or \"batch_shape\"");
  }
  {
    json j = keras2_base();
    j["class_name"] = "Graph";
    EXPECT_THROW_MSG(functional_from_keras(j, "f.st"), ConfigError, "got class_name \"Graph\"");
  }
  {
    json j = keras2_base();
    j["config"]["layers"].push_back(layer_named(j, "out"));
    EXPECT_THROW_MSG(functional_from_keras(j, "f.st"), ConfigError, "duplicate layer name 'out'");
  }
  {  // Concatenate on another axis, through the file.
    json j = branches_model()->to_json();
    layer_named(j, "cat")["config"]["axis"] = 0;
    EXPECT_THROW_MSG(functional_from_keras(j, "f.st"), ConfigError, "axis=0 is not supported");
  }
}

}  // namespace
