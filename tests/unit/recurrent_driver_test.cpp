// Properties of the recurrent driver (src/layers/recurrent_driver.cpp), through the public API:
//   (a) a repeated shape allocates nothing: output buffers keep their addresses and a second
//       training step calls no operator new (house rule 4; std::aligned_alloc, which Tensor
//       uses, cannot be interposed, so buffer addresses stand in for it);
//   (b) stateful layers carry their states across calls, reset_states() clears them;
//   (c) streaming (make_stream_state / step) equals predict, step by step and in chunks, with
//       independent stream states; models that read future steps are rejected;
//   (d) go_backwards on x equals forward processing of x reversed in time;
//   (e) with post-padding and a mask, each sample's result equals running its prefix alone.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/gemm.hpp"
#include "recur/recur.hpp"
#include "support/alloc_counter.hpp"

// ---- Counting operator new (tests/support/alloc_counter.cpp) -----------------------------------

using recur::testing::g_counting;
using recur::testing::g_news;

namespace {

using recur::Activation;
using recur::CellKind;
using recur::Context;
using recur::Recurrent;
using recur::RecurrentOptions;
using recur::Rng;
using recur::Sequential;
using recur::Shape;
using recur::Tensor;

Tensor random_tensor(const Shape& shape, Rng& rng, double scale = 1.0) {
  Tensor t(shape);
  for (float& v : t.span()) v = static_cast<float>(scale * rng.normal());
  return t;
}

// Weights uniform in (−0.5, 0.5): gates differ, states do not saturate.
void randomize_weights(Sequential& m, uint64_t seed) {
  Rng rng(seed, Rng::kInit);
  for (float& w : m.weights()) w = rng.uniform(-0.5f, 0.5f);
}

// Steps [t0, t1) of a time-major [T, B, ...] tensor.
Tensor time_slice(const Tensor& x, int64_t t0, int64_t t1) {
  Shape s = x.shape();
  const int64_t block = x.numel() / s[0];
  s[0] = t1 - t0;
  Tensor out(s);
  std::memcpy(out.data(), x.data() + t0 * block,
              static_cast<std::size_t>(out.numel()) * sizeof(float));
  return out;
}

// Sample b's first `len` steps of a time-major [T, B, F] tensor, as [len, 1, F].
Tensor sample_prefix(const Tensor& x, int64_t b, int64_t len) {
  const int64_t B = x.dim(1), F = x.dim(2);
  Tensor out({len, 1, F});
  for (int64_t t = 0; t < len; ++t)
    std::memcpy(out.data() + t * F, x.data() + (t * B + b) * F,
                static_cast<std::size_t>(F) * sizeof(float));
  return out;
}

::testing::AssertionResult near(const float* a, const float* b, int64_t n, double tol,
                                const std::string& what) {
  for (int64_t i = 0; i < n; ++i)
    if (!(std::abs(static_cast<double>(a[i]) - b[i]) <= tol))
      return ::testing::AssertionFailure() << what << ": element " << i << " is " << a[i]
                                           << ", expected " << b[i] << " (tol " << tol << ")";
  return ::testing::AssertionSuccess();
}

// Different GEMM shapes (T·B rows vs B rows) may round differently in the last bits.
constexpr double kTol = 2e-6;

struct CellCase {
  const char* name;
  CellKind kind;
  bool reset_after;
};
const CellCase kCells[] = {{"simple", CellKind::simple, true},
                           {"lstm", CellKind::lstm, true},
                           {"gru_reset_after", CellKind::gru, true},
                           {"gru_reset_before", CellKind::gru, false}};

std::unique_ptr<Recurrent> make_cell(const CellCase& c, const std::string& name,
                                     RecurrentOptions o) {
  o.reset_after = c.reset_after;
  return std::make_unique<Recurrent>(c.kind, name, o);
}

// ---- (a) No allocation for a repeated shape ----------------------------------------------------

struct AllocCase {
  const char* name;
  std::function<void(Sequential&)> layers;
  bool mask;
};

const AllocCase kAllocCases[] = {
    {"lstm_dense",
     [](Sequential& m) {
       m.add(recur::make_lstm("lstm", {.units = 8, .return_sequences = true}));
       m.add(std::make_unique<recur::Dense>("dense", recur::DenseOptions{.units = 3}));
     },
     false},
    {"gru_reset_before_last_masked",
     [](Sequential& m) {
       m.add(recur::make_gru("gru", {.units = 6, .reset_after = false}));
       m.add(std::make_unique<recur::Dense>("dense", recur::DenseOptions{.units = 2}));
     },
     true},
    {"simple_backwards_dropout",
     [](Sequential& m) {
       m.add(recur::make_simple_rnn("rnn", {.units = 5, .return_sequences = true,
                                            .go_backwards = true, .dropout = 0.2f,
                                            .recurrent_dropout = 0.2f}));
     },
     false},
};

// Runs one training step (zero_grad, forward, backward) of `c` twice with the same shapes and
// reports what the second one did.
struct SecondStep {
  int64_t news = 0;  // operator new calls during the second step
  std::vector<std::pair<const char*, bool>> kept;  // buffer, same address in both steps
};

SecondStep run_twice(const AllocCase& c) {
  const int64_t T = 6, B = 4, F = 5;
  Sequential model;
  c.layers(model);
  model.build({T, F}, 1);
  Rng rng(2);
  const Tensor x = random_tensor({T, B, F}, rng);
  Tensor mask({T, B}, 1.0f);
  mask[(T - 1) * B + 1] = mask[(T - 2) * B + 1] = 0.0f;
  const Tensor* m = c.mask ? &mask : nullptr;
  Rng drop(3, Rng::kDropout);
  const Context ctx{.training = true, .rng = &drop};
  auto& rnn = dynamic_cast<Recurrent&>(model.layer(0));

  // First step: plans every buffer.
  model.zero_grad();
  const Tensor& y1 = model.forward(ctx, x, m);
  const Tensor dy = random_tensor(y1.shape(), rng);
  const float* y_data = y1.data();
  const float* dx_data = model.backward(ctx, dy).data();
  const float* h_final = rnn.final_states()[0].data();
  const float* dh0 = rnn.initial_state_grads()[0].data();

  // Second step, same shapes.
  g_news = 0;
  g_counting = true;
  model.zero_grad();
  const Tensor& y2 = model.forward(ctx, x, m);
  const Tensor& dx2 = model.backward(ctx, dy);
  g_counting = false;
  SecondStep out;
  out.news = g_news.load();
  out.kept = {{"output", y2.data() == y_data},
              {"input gradient", dx2.data() == dx_data},
              {"final state", rnn.final_states()[0].data() == h_final},
              {"initial-state gradient", rnn.initial_state_grads()[0].data() == dh0}};
  return out;
}

TEST(RecurrentDriver, RepeatedShapeKeepsEveryBuffer) {
  for (const AllocCase& c : kAllocCases) {
    SCOPED_TRACE(c.name);
    for (const auto& [buffer, kept] : run_twice(c).kept)
      EXPECT_TRUE(kept) << buffer << " buffer moved in the second step";
  }
}

TEST(RecurrentDriver, SecondTrainingStepOfTheSameShapeCallsNoOperatorNew) {
  for (const AllocCase& c : kAllocCases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(run_twice(c).news, 0) << "operator new calls during the second zero_grad + "
                                       "forward + backward of the same shape";
  }
}

// The same for single layers called directly (no Sequential): each case runs forward + backward
// once, then counts operator new in a second forward + backward of the same shapes.
struct BoundLayer {
  std::unique_ptr<recur::Layer> layer;
  std::vector<float> values, grads;  // the parameter arenas the layer's views point into
};

BoundLayer bind(std::unique_ptr<recur::Layer> layer, const Shape& sample) {
  BoundLayer b;
  b.layer = std::move(layer);
  b.layer->build(sample);
  std::vector<recur::Param*> ps;
  b.layer->collect_params(ps);
  int64_t n = 0;
  for (const recur::Param* p : ps) n += recur::shape_numel(p->shape);
  b.values.assign(static_cast<std::size_t>(n), 0.0f);
  b.grads.assign(static_cast<std::size_t>(n), 0.0f);
  int64_t off = 0;
  for (recur::Param* p : ps) {
    p->value = {b.values.data() + off, p->shape};
    p->grad = {b.grads.data() + off, p->shape};
    off += recur::shape_numel(p->shape);
  }
  Rng init(1, Rng::kInit);
  b.layer->initialize(init);
  return b;
}

int64_t second_call_news(recur::Layer& layer, const Context& ctx, const Tensor& x,
                         const Tensor* mask) {
  Rng rng(4);
  const Tensor dy = random_tensor(layer.forward(ctx, x, mask).shape(), rng);
  (void)layer.backward(ctx, dy);
  g_news = 0;
  g_counting = true;
  (void)layer.forward(ctx, x, mask);
  (void)layer.backward(ctx, dy);
  g_counting = false;
  return g_news.load();
}

TEST(RecurrentDriver, RepeatedLayerCallsOfTheSameShapeCallNoOperatorNew) {
  const int64_t T = 5, B = 3, F = 4;
  Rng rng(5);
  const Tensor x = random_tensor({T, B, F}, rng);
  const Tensor x2d = random_tensor({B, F}, rng);
  Tensor mask({T, B}, 1.0f);
  mask[(T - 1) * B + 2] = mask[(T - 2) * B + 2] = 0.0f;
  Rng drop(6, Rng::kDropout);
  const Context train{.training = true, .rng = &drop};
  const Context infer;
  const RecurrentOptions dropout{.units = 3, .return_sequences = true, .dropout = 0.25f,
                                 .recurrent_dropout = 0.25f};

  struct Case {
    std::string name;
    BoundLayer bound;
    const Tensor* x;
    const Tensor* mask;
  };
  std::vector<Case> cases;
  cases.push_back({"dense_3d", bind(std::make_unique<recur::Dense>(
                                        "dense", recur::DenseOptions{.units = 2,
                                                                     .activation =
                                                                         Activation::tanh}),
                                    {T, F}),
                   &x, &mask});
  cases.push_back({"dense_2d_softmax",
                   bind(std::make_unique<recur::Dense>(
                            "dense", recur::DenseOptions{.units = 3,
                                                         .activation = Activation::softmax}),
                        {F}),
                   &x2d, nullptr});
  for (CellKind kind : {CellKind::simple, CellKind::lstm, CellKind::gru}) {
    const std::string k = kind == CellKind::lstm ? "lstm" : kind == CellKind::gru ? "gru" : "rnn";
    cases.push_back({"bidirectional_" + k + "_concat_seq_dropout",
                     bind(std::make_unique<recur::Bidirectional>("bidir", kind, dropout), {T, F}),
                     &x, &mask});
    cases.push_back({"bidirectional_" + k + "_sum_last",
                     bind(std::make_unique<recur::Bidirectional>(
                              "bidir", kind, RecurrentOptions{.units = 3},
                              recur::MergeMode::sum),
                          {T, F}),
                     &x, &mask});
    cases.push_back({"stateful_" + k + "_dropout",
                     bind(std::make_unique<Recurrent>(
                              kind, "rnn",
                              RecurrentOptions{.units = 3, .stateful = true, .dropout = 0.25f,
                                               .recurrent_dropout = 0.25f}),
                          {T, F}),
                     &x, &mask});
  }
  cases.push_back({"masking", bind(std::make_unique<recur::Masking>("masking", 0.0f), {T, F}),
                   &x, nullptr});
  cases.push_back({"dropout", bind(std::make_unique<recur::Dropout>("dropout", 0.3f), {T, F}),
                   &x, nullptr});
  Tensor ids({T, B});
  for (int64_t i = 0; i < ids.numel(); ++i) ids[i] = static_cast<float>(i % 7);
  cases.push_back({"embedding_mask_zero",
                   bind(std::make_unique<recur::Embedding>(
                            "embedding", recur::EmbeddingOptions{.input_dim = 7, .output_dim = 4,
                                                                 .mask_zero = true}),
                        {T}),
                   &ids, nullptr});

  for (Case& c : cases) {
    SCOPED_TRACE(c.name);
    for (const Context* ctx : {&train, &infer})
      EXPECT_EQ(second_call_news(*c.bound.layer, *ctx, *c.x, c.mask), 0)
          << "operator new calls in the second forward + backward (training = "
          << ctx->training << ")";
  }

  // Explicit initial states and final-state gradients (return_state use through the layer API).
  for (CellKind kind : {CellKind::lstm, CellKind::gru}) {
    SCOPED_TRACE(kind == CellKind::lstm ? "lstm_initial_states" : "gru_initial_states");
    const int64_t H = 3;
    BoundLayer b = bind(std::make_unique<Recurrent>(kind, "rnn", RecurrentOptions{.units = H}),
                        {T, F});
    auto& r = dynamic_cast<Recurrent&>(*b.layer);
    const Tensor h0 = random_tensor({B, H}, rng), c0 = random_tensor({B, H}, rng);
    const Tensor dh = random_tensor({B, H}, rng), dc = random_tensor({B, H}, rng);
    const bool lstm = kind == CellKind::lstm;
    r.set_initial_states(&h0, lstm ? &c0 : nullptr);
    r.set_final_state_grads(&dh, lstm ? &dc : nullptr);
    EXPECT_EQ(second_call_news(r, train, x, &mask), 0);
  }
}

// The counter itself works (the tests above can fail).
TEST(RecurrentDriver, AllocationCounterSeesNew) {
  g_news = 0;
  g_counting = true;
  auto* v = new std::vector<int>(100);
  g_counting = false;
  delete v;
  EXPECT_GE(g_news.load(), 2);
}

// ---- (b) stateful ------------------------------------------------------------------------------

TEST(RecurrentDriver, StatefulCarriesStatesAndResetClearsThem) {
  for (const CellCase& c : kCells) {
    for (bool seq : {true, false}) {
      SCOPED_TRACE(std::string(c.name) + (seq ? " return_sequences" : " last"));
      const int64_t T = 6, B = 2, F = 3, H = 4;
      Sequential model;
      model.add(make_cell(c, "rnn", {.units = H, .return_sequences = seq, .stateful = true}));
      model.build({-1, F}, 7);
      randomize_weights(model, 8);
      Rng rng(9);
      const Tensor x = random_tensor({T, B, F}, rng);
      const Context ctx;

      const Tensor full = model.forward(ctx, x);  // fresh layer: starts from zeros
      model.reset_states();
      const Tensor first = model.forward(ctx, time_slice(x, 0, 3));
      const Tensor second = model.forward(ctx, time_slice(x, 3, T));
      if (seq) {
        EXPECT_TRUE(near(first.data(), full.data(), 3 * B * H, kTol, "first half"));
        EXPECT_TRUE(near(second.data(), full.data() + 3 * B * H, 3 * B * H, kTol,
                         "second half continues the state"));
      } else {
        EXPECT_TRUE(near(second.data(), full.data(), B * H, kTol, "final output"));
      }
      // reset_states(): the next call starts from zeros again, not from the carried state.
      model.reset_states();
      const Tensor again = model.forward(ctx, time_slice(x, 0, 3));
      EXPECT_TRUE(near(again.data(), first.data(), again.numel(), 0.0, "after reset_states"));
      // ... and without the reset the same call differs (the state is really carried).
      const Tensor carried = model.forward(ctx, time_slice(x, 0, 3));
      bool differs = false;
      for (int64_t i = 0; i < carried.numel(); ++i) differs |= carried[i] != again[i];
      EXPECT_TRUE(differs) << "a stateful layer ignored its carried state";
    }
  }
}

// ---- (c) streaming -----------------------------------------------------------------------------

// Batch-first helpers: x [N, T, F] → x[:, t0:t1, :] ([N, F] when `one_step`).
Tensor batch_steps(const Tensor& x, int64_t t0, int64_t t1, bool one_step) {
  const int64_t N = x.dim(0), T = x.dim(1), F = x.dim(2), L = t1 - t0;
  Tensor out(one_step ? Shape{N, F} : Shape{N, L, F});
  for (int64_t n = 0; n < N; ++n)
    std::memcpy(out.data() + n * L * F, x.data() + (n * T + t0) * F,
                static_cast<std::size_t>(L * F) * sizeof(float));
  return out;
}

TEST(RecurrentDriver, StreamingEqualsPredictStepByStepAndInChunks) {
  const int64_t N = 2, T = 7, F = 3, U = 2;
  Sequential model;
  model.add(recur::make_gru("gru", {.units = 4, .return_sequences = true}));
  model.add(std::make_unique<recur::Dense>("dense", recur::DenseOptions{.units = U}));
  model.build({-1, F}, 11);
  randomize_weights(model, 12);
  Rng rng(13);
  const Tensor x = random_tensor({N, T, F}, rng), x2 = random_tensor({N, T, F}, rng);
  const Tensor want = model.predict(x), want2 = model.predict(x2);  // [N, T, U]
  ASSERT_EQ(want.shape(), (Shape{N, T, U}));

  // Step by step, two independent streams interleaved.
  recur::StreamState s = model.make_stream_state(N), s2 = model.make_stream_state(N);
  for (int64_t t = 0; t < T; ++t) {
    const Tensor y = model.step(s, batch_steps(x, t, t + 1, true));
    const Tensor y2 = model.step(s2, batch_steps(x2, t, t + 1, true));
    ASSERT_EQ(y.shape(), (Shape{N, U}));
    for (int64_t n = 0; n < N; ++n) {
      EXPECT_TRUE(near(y.data() + n * U, want.data() + (n * T + t) * U, U, kTol,
                       "stream 1, step " + std::to_string(t)));
      EXPECT_TRUE(near(y2.data() + n * U, want2.data() + (n * T + t) * U, U, kTol,
                       "stream 2, step " + std::to_string(t)));
    }
  }
  // Chunks of 3 steps (3 + 3 + 1) on a fresh state.
  recur::StreamState c = model.make_stream_state(N);
  for (int64_t t0 = 0; t0 < T; t0 += 3) {
    const int64_t t1 = std::min(T, t0 + 3);
    const Tensor y = model.step(c, batch_steps(x, t0, t1, false));
    ASSERT_EQ(y.shape(), (Shape{N, t1 - t0, U}));
    for (int64_t n = 0; n < N; ++n)
      EXPECT_TRUE(near(y.data() + n * (t1 - t0) * U, want.data() + (n * T + t0) * U,
                       (t1 - t0) * U, kTol, "chunk at step " + std::to_string(t0)));
  }
  // reset(): the stream starts over.
  model.reset(s);
  const Tensor y0 = model.step(s, batch_steps(x, 0, 1, true));
  for (int64_t n = 0; n < N; ++n)
    EXPECT_TRUE(near(y0.data() + n * U, want.data() + n * T * U, U, kTol, "after reset"));
}

// sequential.hpp promises "No allocation per call once shapes repeat" for step().
TEST(RecurrentDriver, StreamingStepOfARepeatedShapeCallsNoOperatorNew) {
  const int64_t N = 2, F = 3;
  Sequential model;
  model.add(recur::make_lstm("lstm", {.units = 4, .return_sequences = true}));
  model.add(std::make_unique<recur::Dense>("dense", recur::DenseOptions{.units = 2}));
  model.build({-1, F}, 14);
  Rng rng(15);
  const Tensor x = random_tensor({N, F}, rng), chunk = random_tensor({N, 3, F}, rng);
  recur::StreamState s = model.make_stream_state(N);
  (void)model.step(s, x);
  (void)model.step(s, chunk);
  for (const Tensor* in : {&x, &chunk}) {
    (void)model.step(s, *in);  // the shape seen last before counting
    g_news = 0;
    g_counting = true;
    (void)model.step(s, *in);
    g_counting = false;
    EXPECT_EQ(g_news.load(), 0) << "operator new calls in step() with input shape "
                                << recur::shape_str(in->shape());
  }
}

TEST(RecurrentDriver, StreamingLastOutputEqualsPredictOnThePrefix) {
  // return_sequences=false, LSTM (two states per layer) under a second recurrent layer.
  const int64_t N = 3, T = 5, F = 2;
  Sequential model;
  model.add(recur::make_lstm("lstm", {.units = 3, .return_sequences = true}));
  model.add(recur::make_simple_rnn("rnn", {.units = 2}));
  model.build({-1, F}, 21);
  randomize_weights(model, 22);
  Rng rng(23);
  const Tensor x = random_tensor({N, T, F}, rng);
  recur::StreamState s = model.make_stream_state(N);
  for (int64_t t = 0; t < T; ++t) {
    const Tensor y = model.step(s, batch_steps(x, t, t + 1, true));
    const Tensor want = model.predict(batch_steps(x, 0, t + 1, false));
    ASSERT_EQ(y.shape(), want.shape());
    EXPECT_TRUE(near(y.data(), want.data(), y.numel(), kTol, "prefix " + std::to_string(t)));
  }
}

TEST(RecurrentDriver, StreamingRejectsModelsThatReadFutureSteps) {
  {
    Sequential model;
    model.add(std::make_unique<recur::Bidirectional>("bidir", CellKind::lstm,
                                                     RecurrentOptions{.units = 2}));
    model.build({-1, 3});
    try {
      (void)model.make_stream_state(1);
      ADD_FAILURE() << "Bidirectional accepted";
    } catch (const recur::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("'bidir'"), std::string::npos) << e.what();
    }
  }
  {
    Sequential model;
    model.add(recur::make_gru("gru", {.units = 2, .return_sequences = true}));
    model.add(recur::make_lstm("lstm_back", {.units = 2, .go_backwards = true}));
    model.build({-1, 3});
    try {
      (void)model.make_stream_state(1);
      ADD_FAILURE() << "go_backwards accepted";
    } catch (const recur::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("'lstm_back'"), std::string::npos) << e.what();
    }
  }
}

// ---- (d) time reversal -------------------------------------------------------------------------

TEST(RecurrentDriver, GoBackwardsEqualsForwardOnTimeReversedInput) {
  for (const CellCase& c : kCells) {
    for (bool seq : {false, true}) {
      SCOPED_TRACE(std::string(c.name) + (seq ? " return_sequences" : " last"));
      const int64_t T = 5, B = 3, F = 4, H = 3;
      Sequential back, fwd;
      back.add(make_cell(c, "rnn", {.units = H, .return_sequences = seq, .go_backwards = true}));
      fwd.add(make_cell(c, "rnn", {.units = H, .return_sequences = seq}));
      back.build({T, F}, 31);
      fwd.build({T, F}, 31);
      randomize_weights(back, 32);
      std::copy(back.weights().begin(), back.weights().end(), fwd.weights().begin());
      Rng rng(33);
      const Tensor x = random_tensor({T, B, F}, rng);
      Tensor x_rev({T, B, F});
      for (int64_t t = 0; t < T; ++t)
        std::memcpy(x_rev.data() + t * B * F, x.data() + (T - 1 - t) * B * F,
                    static_cast<std::size_t>(B * F) * sizeof(float));
      const Context ctx;
      const Tensor yb = back.forward(ctx, x);
      const Tensor yf = fwd.forward(ctx, x_rev);
      ASSERT_EQ(yb.shape(), yf.shape());
      // With return_sequences the go_backwards output is in processing order (Keras).
      EXPECT_TRUE(near(yb.data(), yf.data(), yb.numel(), kTol, "output"));
    }
  }
}

// ---- (e) masking -------------------------------------------------------------------------------

struct MaskCase {
  std::string name;
  std::function<void(Sequential&)> layers;
  bool masking_layer;  // the mask comes from a Masking layer (zero padding) instead of an argument
  bool sequences;      // the model returns [T, B, U]
  bool zero_masked;    // masked steps output zeros (Bidirectional) instead of repeating
};

TEST(RecurrentDriver, PostPaddedSampleEqualsItsPrefixAlone) {
  std::vector<MaskCase> cases;
  for (const CellCase& c : kCells) {
    for (bool seq : {false, true}) {
      const std::string s = seq ? "_seq" : "_last";
      cases.push_back({c.name + s + "_mask_argument",
                       [=](Sequential& m) {
                         m.add(make_cell(c, "rnn", {.units = 3, .return_sequences = seq}));
                       },
                       false, seq, false});
      cases.push_back({c.name + s + "_masking_layer_backwards",
                       [=](Sequential& m) {
                         m.add(std::make_unique<recur::Masking>("masking", 0.0f));
                         m.add(make_cell(c, "rnn", {.units = 3, .return_sequences = seq,
                                                    .go_backwards = true}));
                       },
                       true, seq, false});
    }
  }
  for (bool seq : {false, true}) {
    cases.push_back({std::string("bidir_lstm") + (seq ? "_seq" : "_last"),
                     [=](Sequential& m) {
                       m.add(std::make_unique<recur::Bidirectional>(
                           "bidir", CellKind::lstm,
                           RecurrentOptions{.units = 2, .return_sequences = seq}));
                     },
                     false, seq, true});
  }
  cases.push_back({"stack_masking_lstm_gru_dense",
                   [](Sequential& m) {
                     m.add(std::make_unique<recur::Masking>("masking", 0.0f));
                     m.add(recur::make_lstm("lstm", {.units = 3, .return_sequences = true}));
                     m.add(recur::make_gru("gru", {.units = 3}));
                     m.add(std::make_unique<recur::Dense>("dense",
                                                          recur::DenseOptions{.units = 2}));
                   },
                   true, false, false});

  const int64_t T = 6, B = 3, F = 2;
  const int64_t lengths[B] = {6, 4, 1};
  for (const MaskCase& c : cases) {
    SCOPED_TRACE(c.name);
    Sequential model;
    c.layers(model);
    model.build({-1, F}, 41);
    randomize_weights(model, 42);
    Rng rng(43);
    Tensor x = random_tensor({T, B, F}, rng);
    Tensor mask({T, B}, 1.0f);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = lengths[b]; t < T; ++t) {
        mask[t * B + b] = 0.0f;
        for (int64_t f = 0; f < F; ++f) x[(t * B + b) * F + f] = 0.0f;
      }
    const Context ctx;
    const Tensor y = model.forward(ctx, x, c.masking_layer ? nullptr : &mask);
    const int64_t U = y.dim(y.rank() - 1);
    for (int64_t b = 0; b < B; ++b) {
      const int64_t L = lengths[b];
      const Tensor alone = model.forward(ctx, sample_prefix(x, b, L));
      if (!c.sequences) {
        EXPECT_TRUE(near(y.data() + b * U, alone.data(), U, kTol,
                         "sample " + std::to_string(b) + " final output"));
        continue;
      }
      // With return_sequences, steps are in processing order; the real steps come first
      // forward, last with go_backwards.
      const bool backwards = c.name.find("backwards") != std::string::npos;
      for (int64_t k = 0; k < T; ++k) {
        const float* got = y.data() + (k * B + b) * U;
        const int64_t real_k = backwards ? k - (T - L) : k;  // index into `alone`
        std::string what = "sample " + std::to_string(b) + " step " + std::to_string(k);
        if (real_k >= 0 && real_k < L) {
          EXPECT_TRUE(near(got, alone.data() + real_k * U, U, kTol, what));
        } else if (c.zero_masked) {
          const std::vector<float> zeros(static_cast<std::size_t>(U), 0.0f);
          EXPECT_TRUE(near(got, zeros.data(), U, 0.0, what + " (masked: zeros)"));
        } else if (!backwards) {
          // Keras: a masked step repeats the previous output.
          EXPECT_TRUE(near(got, alone.data() + (L - 1) * U, U, kTol, what + " (repeats)"));
        } else {
          // go_backwards: the padding is processed first, before any real step: zeros.
          const std::vector<float> zeros(static_cast<std::size_t>(U), 0.0f);
          EXPECT_TRUE(near(got, zeros.data(), U, 0.0, what + " (before the first real step)"));
        }
      }
    }
  }
}

}  // namespace

// ---- Training skips the input gradient nobody reads -------------------------------------------

namespace {
std::vector<std::vector<float>> grads_of(const Sequential& m) {
  std::vector<std::vector<float>> out;
  for (const recur::Variable& v : m.variables())
    out.emplace_back(v.grad.data, v.grad.data + v.grad.numel());
  return out;
}
}  // namespace

TEST(RecurrentDriver, TrainingBackwardSkipsTheFirstLayersInputGradientWithSameWeightGrads) {
  // backward_batch (what fit runs) gives the same weight gradients as the full backward(), which
  // also returns dL/dx; the first weighted layer, called with input_grad = false, returns an
  // empty tensor. Masking and Dropout in front of it are not visited.
  for (const bool bidirectional : {false, true}) {
    SCOPED_TRACE(bidirectional ? "Bidirectional(LSTM)" : "LSTM");
    const int64_t T = 5, B = 3, F = 4;
    Sequential m;
    m.add(std::make_unique<recur::Masking>("mask"));
    m.add(std::make_unique<recur::Dropout>("drop", 0.0f));
    if (bidirectional)
      m.add(std::make_unique<recur::Bidirectional>(
          "bi", CellKind::lstm, RecurrentOptions{.units = 6, .return_sequences = true}));
    else
      m.add(recur::make_lstm("lstm", {.units = 6, .return_sequences = true}));
    m.add(std::make_unique<recur::Dense>("dense", recur::DenseOptions{.units = 2}));
    m.build({T, F}, 4);
    Rng rng(5);
    const Tensor x = random_tensor({T, B, F}, rng);
    const Context ctx;
    m.zero_grad();
    const Tensor dy = random_tensor(m.forward(ctx, x).shape(), rng);
    const Tensor& dx = m.backward(ctx, dy);
    EXPECT_EQ(dx.shape(), (Shape{T, B, F}));
    const auto full = grads_of(m);

    m.zero_grad();
    const std::vector<const Tensor*> xs{&x}, dys{&dy};
    m.forward_batch(ctx, xs);
    m.backward_batch(ctx, dys);
    EXPECT_EQ(grads_of(m), full);

    Context no_dx;
    no_dx.input_grad = false;
    m.forward(ctx, x);
    recur::Layer& rnn = m.layer(2);
    const Tensor& drnn = m.layer(3).backward(ctx, dy);
    EXPECT_EQ(rnn.backward(no_dx, drnn).numel(), 0);
  }
}

TEST(RecurrentDriver, GemmSplitAcrossThreadsCallsNoOperatorNew) {
  // A product big enough to be cut into blocks for the thread pool (src/kernels/gemm.cpp): once
  // the pool's threads exist, a call allocates nothing (it runs inside the time loop).
  const int threads = recur::kernels::num_threads();
  recur::kernels::set_num_threads(2);
  const int64_t M = 64, N = 1024, K = 256;
  std::vector<float> a(M * K, 0.5f), b(K * N, 0.25f), c(M * N, 0.0f);
  auto call = [&] {
    recur::kernels::sgemm(false, false, M, N, K, 1.0f, a.data(), K, b.data(), N, 0.0f, c.data(),
                          N);
  };
  call();
  g_news = 0;
  g_counting = true;
  call();
  g_counting = false;
  recur::kernels::set_num_threads(threads);
  EXPECT_EQ(g_news.load(), 0);
  EXPECT_FLOAT_EQ(c[0], 0.5f * 0.25f * K);
}

// ---- Batch rows split across threads ------------------------------------------------------------

TEST(RecurrentDriver, StepsSplitByBatchRowsEqualOneThread) {
  // With 2+ threads and a batch of 16+ rows, the time loop runs as row blocks on the thread
  // pool (src/layers/recurrent_driver.cpp): each block its own GEMM rows, gate math, mask select
  // and state gradients, step after step without waiting for the other blocks. Outputs, final states, weight and input gradients must match a
  // 1-thread run of every cell (masks with holes and padding, both directions, dropout on both
  // paths, an odd batch so the blocks differ in size).
  const int threads = recur::kernels::num_threads();
  const int64_t T = 7, B = 37, F = 5;
  for (const CellCase& c : kCells) {
    for (const bool backwards : {false, true}) {
      SCOPED_TRACE(std::string(c.name) + (backwards ? " go_backwards" : ""));
      Sequential model;
      model.add(make_cell(c, "rnn", {.units = 20, .return_sequences = true,
                                     .go_backwards = backwards, .dropout = 0.25f,
                                     .recurrent_dropout = 0.25f}));
      model.build({T, F}, 7);
      randomize_weights(model, 8);
      Rng rng(9);
      const Tensor x = random_tensor({T, B, F}, rng);
      Tensor mask({T, B}, 1.0f);
      for (int64_t b = 0; b < B; b += 3) mask[(T - 1) * B + b] = 0.0f;  // padding
      for (int64_t b = 1; b < B; b += 5) mask[2 * B + b] = 0.0f;        // holes
      const Tensor dy = random_tensor({T, B, 20}, rng);

      struct Run {
        std::vector<float> y, dx, h;
        std::vector<std::vector<float>> grads;
      };
      const auto run = [&](int n) {
        recur::kernels::set_num_threads(n);
        Rng drop(10, Rng::kDropout);
        const Context ctx{.training = true, .rng = &drop};
        model.zero_grad();
        const Tensor& y = model.forward(ctx, x, &mask);
        Run r;
        r.y.assign(y.data(), y.data() + y.numel());
        const Tensor& dx = model.backward(ctx, dy);
        r.dx.assign(dx.data(), dx.data() + dx.numel());
        const Tensor& h = dynamic_cast<Recurrent&>(model.layer(0)).final_states()[0];
        r.h.assign(h.data(), h.data() + h.numel());
        r.grads = grads_of(model);
        return r;
      };
      const Run one = run(1), two = run(2);
      recur::kernels::set_num_threads(threads);
      EXPECT_TRUE(near(two.y.data(), one.y.data(), static_cast<int64_t>(one.y.size()), kTol, "y"));
      EXPECT_TRUE(near(two.h.data(), one.h.data(), static_cast<int64_t>(one.h.size()), kTol, "h"));
      EXPECT_TRUE(
          near(two.dx.data(), one.dx.data(), static_cast<int64_t>(one.dx.size()), 1e-5, "dx"));
      for (std::size_t v = 0; v < one.grads.size(); ++v)
        EXPECT_TRUE(near(two.grads[v].data(), one.grads[v].data(),
                         static_cast<int64_t>(one.grads[v].size()), 1e-4,
                         "gradient " + std::to_string(v)));
    }
  }
}

TEST(RecurrentDriver, WeightGradientsTakenInChunksEqualTheSumOverSingleRows) {
  // backward() keeps dZ for one chunk of about 1024 rows (Tc = ceil(1024 / B) time steps) and
  // takes the weight and input gradients chunk by chunk. With B = 37 and T = 60 that is chunks
  // of 28, 28 and 4 steps; a batch of one row runs all 60 steps as one chunk. Rows are
  // independent, so the batch's weight gradients must equal the sum of its rows' own, and its
  // input gradient each row's own (every cell, both directions, masks with holes and padding).
  // On 2 threads the batch runs as two row blocks, each through a whole chunk's steps between
  // the chunks' gradients.
  struct Threads {
    int saved = recur::kernels::num_threads();
    Threads() { recur::kernels::set_num_threads(2); }
    ~Threads() { recur::kernels::set_num_threads(saved); }
  } two_threads;
  const int64_t T = 60, B = 37, F = 5, U = 6;
  for (const CellCase& c : kCells) {
    for (const bool backwards : {false, true}) {
      SCOPED_TRACE(std::string(c.name) + (backwards ? " go_backwards" : ""));
      Sequential model;
      model.add(make_cell(c, "rnn", {.units = U, .return_sequences = true,
                                     .go_backwards = backwards}));
      model.build({T, F}, 7);
      randomize_weights(model, 8);
      Rng rng(9);
      const Tensor x = random_tensor({T, B, F}, rng);
      Tensor mask({T, B}, 1.0f);
      for (int64_t b = 0; b < B; b += 3) mask[(T - 1) * B + b] = 0.0f;  // padding
      for (int64_t b = 1; b < B; b += 5) mask[30 * B + b] = 0.0f;       // holes
      const Tensor dy = random_tensor({T, B, U}, rng);
      const Context ctx{.training = true};

      model.zero_grad();
      model.forward(ctx, x, &mask);
      const Tensor dx = model.backward(ctx, dy);
      const std::vector<std::vector<float>> batch = grads_of(model);

      std::vector<std::vector<float>> summed;
      Tensor xb({T, 1, F}), mb({T, 1}), dyb({T, 1, U});
      for (int64_t b = 0; b < B; ++b) {
        for (int64_t t = 0; t < T; ++t) {
          std::copy_n(x.data() + (t * B + b) * F, F, xb.data() + t * F);
          std::copy_n(dy.data() + (t * B + b) * U, U, dyb.data() + t * U);
          mb[t] = mask[t * B + b];
        }
        model.zero_grad();
        model.forward(ctx, xb, &mb);
        const Tensor& dxb = model.backward(ctx, dyb);
        for (int64_t t = 0; t < T; ++t)
          ASSERT_TRUE(near(dxb.data() + t * F, dx.data() + (t * B + b) * F, F, 1e-5,
                           "dx row " + std::to_string(b) + " step " + std::to_string(t)));
        const std::vector<std::vector<float>> row = grads_of(model);
        if (summed.empty()) summed.assign(row.size(), {});
        for (std::size_t v = 0; v < row.size(); ++v) {
          summed[v].resize(row[v].size(), 0.0f);
          for (std::size_t i = 0; i < row[v].size(); ++i) summed[v][i] += row[v][i];
        }
      }
      ASSERT_EQ(summed.size(), batch.size());
      for (std::size_t v = 0; v < batch.size(); ++v)
        EXPECT_TRUE(near(summed[v].data(), batch[v].data(),
                         static_cast<int64_t>(batch[v].size()), 1e-3,  // sums of 2,220 terms
                         "gradient " + std::to_string(v)));
    }
  }
}
