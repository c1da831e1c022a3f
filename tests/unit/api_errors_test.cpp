// Library misuse and bad options (docs/ERRORS.md "Library API", "Training data and fit options",
// "Optimizers and learning-rate schedules", "Callbacks", "Checkpoints and resuming", "Time
// series", "Text and tokenizers"): one table row per message. Each row runs one call that must
// throw a recur::Error (never an InternalError) whose message holds the row's fragment.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "data/naive_bayes.hpp"
#include "data/sequences.hpp"
#include "io/safetensors.hpp"
#include "recur/data/series.hpp"
#include "recur/data/table.hpp"
#include "recur/data/text.hpp"
#include "kernels/gemm.hpp"
#include "recur/recur.hpp"
#include "recur/report/svg.hpp"
#include "recur/train/checkpoint.hpp"
#include "recur/train/schedule.hpp"
#include "support/files.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace recur;

struct Case {
  const char* name;
  std::function<void()> run;
  std::string fragment;
};

void run_cases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    try {
      c.run();
      ADD_FAILURE() << c.name << ": no error; expected one containing: " << c.fragment;
    } catch (const InternalError& e) {
      ADD_FAILURE() << c.name << ": internal error instead of a user error: " << e.what();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(c.fragment), std::string::npos)
          << c.name << "\nmessage: " << e.what() << "\nexpected to contain: " << c.fragment;
    }
  }
}

RecurrentOptions rnn(int64_t units, bool return_sequences = false) {
  RecurrentOptions o;
  o.units = units;
  o.return_sequences = return_sequences;
  return o;
}
std::unique_ptr<Dense> dense(const std::string& name, int64_t units) {
  DenseOptions d;
  d.units = units;
  return std::make_unique<Dense>(name, d);
}

// Sequential 'm': LSTM 'lstm' (2 units) -> Dense 'dense' (1 unit), on [T, 3] (T = -1: any).
Sequential small(int64_t T = -1, bool build = true) {
  Sequential m("m");
  m.add(make_lstm("lstm", rnn(2)));
  m.add(dense("dense", 1));
  if (build) m.build({T, 3});
  return m;
}

Tensor filled(const Shape& shape, float v = 0.5f) { return Tensor(shape, v); }

// ---- models and layers ------------------------------------------------------------------------

TEST(ApiErrors, SequentialBuildAndUse) {
  run_cases({
      {"add after build", [] { small().add(dense("late", 1)); },
       "Sequential 'm': cannot add layers after build()"},
      {"build twice", [] { small().build({-1, 3}); }, "Sequential 'm': already built"},
      {"layer built twice",
       [] {
         auto d = dense("d", 1);
         d->build({4});
         d->build({4});
       },
       "Dense 'd': already built"},
      {"no layers", [] { Sequential("m").build({-1, 3}); }, "Sequential 'm': no layers"},
      {"null layer", [] { Sequential("m").add(nullptr); }, "Sequential 'm': add() got a null layer"},
      {"duplicate name",
       [] {
         Sequential m("m");
         m.add(dense("d", 1));
         m.add(dense("d", 1));
       },
       "Sequential 'm': duplicate layer name 'd'"},
      {"forward before build",
       [] {
         Sequential m = small(-1, false);
         m.forward(Context{}, filled({4, 2, 3}));
       },
       "Sequential 'm': forward() before build()"},
      {"predict before build", [] { small(-1, false).predict(filled({2, 4, 3})); },
       "Sequential 'm': predict() before build()"},
      {"stream before build", [] { small(-1, false).make_stream_state(1); },
       "Sequential 'm': make_stream_state() before build()"},
      {"no input 1", [] { small().input_shape(1); }, "Sequential 'm': no input 1"},
      {"no output 1 (not built)", [] { small(-1, false).output_shape(1); },
       "Sequential 'm': no output 1 (not built)"},
      {"no layer named", [] { small().layer("x"); }, "Sequential 'm': no layer named 'x'"},
      {"two inputs to a Sequential",
       [] {
         Sequential m = small();
         const Tensor a = filled({4, 2, 3});
         m.forward_batch(Context{}, {&a, &a});
       },
       "Sequential 'm': expected 1 input, got 2"},
      {"backward with two gradients",
       [] {
         Sequential m = small();
         const Tensor a = filled({4, 2, 3});
         m.forward_batch(Context{}, {&a});
         const Tensor g = filled({2, 1});
         m.backward_batch(Context{}, {&g, &g});
       },
       "Sequential 'm': expected 1 output gradient"},
      {"orthogonal bias",
       [] {
         Sequential m("m");
         DenseOptions d;
         d.units = 2;
         d.bias_initializer = Initializer::orthogonal();
         m.add(make_lstm("lstm", rnn(2)));
         m.add(std::make_unique<Dense>("d", d));
         m.build({-1, 3});
       },
       "orthogonal initializer needs a rank >= 2 shape, got [2]"},
  });
}

// Functional 'f' with inputs 'a' [T, 3] and 'b' [T, 3] -> Concatenate -> LSTM -> Dense.
std::unique_ptr<Functional> two_inputs() {
  auto g = std::make_unique<Functional>("f");
  const NodeRef a = g->input("a", {-1, 3}), b = g->input("b", {-1, 3});
  const NodeRef c = g->call(std::make_unique<Concatenate>("cat"), {a, b}).at(0);
  const NodeRef h = g->call(make_lstm("lstm", rnn(2)), {c}).at(0);
  const NodeRef y = g->call(dense("out", 1), {h}).at(0);
  g->build({a, b}, {y});
  return g;
}

TEST(ApiErrors, FunctionalBuildAndPredict) {
  run_cases({
      {"no inputs",
       [] {
         Functional g("f");
         const NodeRef x = g.input("x", {-1, 3});
         const NodeRef y = g.call(make_lstm("l", rnn(2)), {x}).at(0);
         g.build({}, {y});
       },
       "Functional 'f': no inputs"},
      {"no outputs",
       [] {
         Functional g("f");
         const NodeRef x = g.input("x", {-1, 3});
         g.call(make_lstm("l", rnn(2)), {x});
         g.build({x}, {});
       },
       "Functional 'f': no outputs"},
      {"null layer",
       [] {
         Functional g("f");
         const NodeRef x = g.input("x", {-1, 3});
         g.call(nullptr, {x});
       },
       "Functional 'f': call() got a null layer"},
      {"layer with no inputs",
       [] {
         Functional g("f");
         g.input("x", {-1, 3});
         g.call(make_lstm("l", rnn(2)), {});
       },
       "LSTM 'l': called with no inputs"},
      {"no input 2", [] { two_inputs()->input_shape(2); }, "Functional 'f': no input 2"},
      {"forward before build",
       [] {
         Functional g("f");
         const NodeRef x = g.input("x", {-1, 3});
         g.call(make_lstm("l", rnn(2)), {x});
         const Tensor t = filled({4, 2, 3});
         g.forward_batch(Context{}, {&t});
       },
       "Functional 'f': forward before build()"},
      {"predict one array for two inputs", [] { two_inputs()->predict(filled({2, 4, 3})); },
       "predict: Functional 'f' has 2 inputs and 1 outputs; pass one array per input and read "
       "one per output"},
      {"predict batch_size 0",
       [] { two_inputs()->predict({filled({2, 4, 3}), filled({2, 4, 3})}, 0); },
       "predict: batch_size must be >= 1, got 0"},
      {"predict sample counts differ",
       [] { two_inputs()->predict({filled({4, 4, 3}), filled({5, 4, 3})}); },
       "predict: input 1 has 5 samples, input 0 has 4"},
      {"null input",
       [] {
         auto g = two_inputs();
         const Tensor t = filled({4, 2, 3});
         g->forward_batch(Context{}, {&t, nullptr});
       },
       "Functional 'f': input 'b' is null"},
      {"time-major input of another batch",
       [] {
         auto g = two_inputs();
         const Tensor a = filled({4, 2, 3}), b = filled({4, 3, 3});
         g->forward_batch(Context{}, {&a, &b});
       },
       "Functional 'f': input 'b' has shape [4, 3, 3], expected time-major [T, B, 3] and the "
       "batch of input 0"},
      {"two gradients for one output",
       [] {
         auto g = two_inputs();
         const Tensor a = filled({4, 2, 3});
         g->forward_batch(Context{}, {&a, &a});
         const Tensor d = filled({2, 1});
         g->backward_batch(Context{}, {&d, &d});
       },
       "Functional 'f': expected 1 output gradient(s) (nullptr for none), got 2"},
      {"gradient of the wrong shape",
       [] {
         auto g = two_inputs();
         const Tensor a = filled({4, 2, 3});
         g->forward_batch(Context{}, {&a, &a});
         const Tensor d = filled({2, 5});
         g->backward_batch(Context{}, {&d});
       },
       "Functional 'f': gradient for output 0 ('out') has shape [2, 5]"},
  });
}

TEST(ApiErrors, PredictInputsAndStreaming) {
  run_cases({
      {"time steps differ", [] { small(5).predict(filled({2, 7, 3})); },
       "input has 7 time steps, the model expects 5"},
      {"no time steps", [] { small().predict(filled({2, 0, 3})); }, "input has no time steps"},
      {"stream Bidirectional",
       [] {
         Sequential m("m");
         m.add(std::make_unique<Bidirectional>("bi", CellKind::lstm, rnn(2)));
         m.build({-1, 3});
         m.make_stream_state(1);
       },
       "streaming: Bidirectional 'bi' reads future steps and cannot run step by step"},
      {"stream go_backwards",
       [] {
         Sequential m("m");
         RecurrentOptions o = rnn(2);
         o.go_backwards = true;
         m.add(make_lstm("l", o));
         m.build({-1, 3});
         m.make_stream_state(1);
       },
       "streaming: LSTM 'l' has go_backwards=true and cannot run step by step"},
      {"stream batch 0", [] { small().make_stream_state(0); },
       "make_stream_state: batch must be >= 1, got 0"},
      {"step features",
       [] {
         Sequential m = small();
         StreamState s = m.make_stream_state(2);
         m.step(s, filled({2, 5}));
       },
       "step: input has 5 features, expected 3"},
      {"step batch",
       [] {
         Sequential m = small();
         StreamState s = m.make_stream_state(2);
         m.step(s, filled({3, 3}));
       },
       "step: input has shape [3, 3], expected batch 2 (the stream state's)"},
      {"step NaN",
       [] {
         Sequential m = small();
         StreamState s = m.make_stream_state(2);
         Tensor x = filled({2, 3});
         x[4] = std::numeric_limits<float>::quiet_NaN();
         m.step(s, x);
       },
       "step: input contains NaN at stream 1"},
      {"step with another model's state",
       [] {
         Sequential one = small();
         Sequential two("two");
         two.add(make_lstm("a", rnn(2, true)));
         two.add(make_lstm("b", rnn(2)));
         two.build({-1, 3});
         StreamState s = one.make_stream_state(1);
         two.step(s, filled({1, 3}));
       },
       "step: the stream state was made for another model"},
  });
}

// Runs the forward pass of an Add 'add' built in a functional graph on two [T, 3] inputs.
const Tensor kSeq = Tensor({4, 2, 3}, 0.5f);
void merge_forward(const std::vector<const Tensor*>& xs, const std::vector<const Tensor*>& masks) {
  Functional g("f");  // merge layers are built through a functional graph
  const NodeRef x = g.input("x", {-1, 3}), y = g.input("y", {-1, 3});
  auto layer = std::make_unique<Add>("add");
  Add* raw = layer.get();
  const NodeRef s = g.call(std::move(layer), {x, y}).at(0);
  g.build({x, y}, {s});
  raw->forward_multi(Context{}, xs, masks);
}

TEST(ApiErrors, LayerForwardShapesAndStates) {
  run_cases({
      // A layer built on its own has no parameters to run with: refused, not a crash.
      {"dense built alone",
       [] {
         auto d = dense("d", 1);
         d->build({2});
         d->forward(Context{}, filled({3, 2}), nullptr);
       },
       "Dense 'd': its parameters are not allocated; add the layer to a Sequential or Functional "
       "model and build the model"},
      {"lstm built alone",
       [] {
         auto l = make_lstm("l", rnn(2));
         l->build({-1, 3});
         l->forward(Context{}, filled({4, 2, 3}), nullptr);
       },
       "LSTM 'l': its parameters are not allocated"},
      // Otherwise layers are used inside a built model, which allocates their parameters.
      {"recurrent features", [] { small().layer(0).forward(Context{}, filled({4, 2, 5}), nullptr); },
       "LSTM 'lstm': input has shape [4, 2, 5] (time-major [T, B, F]); expected F = 3"},
      {"dense last axis", [] { small().layer(1).forward(Context{}, filled({2, 3}), nullptr); },
       "Dense 'dense': input has shape [2, 3], expected last axis 2 (kernel is [2, 1])"},
      {"recurrent build on vectors",
       [] { make_lstm("l", rnn(2))->build({3}); },
       "LSTM 'l': expects sequences of feature vectors [T, F], got input shape [3]"},
      {"dense unknown last axis", [] { dense("d", 1)->build({-1}); },
       "Dense 'd': input needs a known last axis, got input shape [-1]"},
      {"LSTM initial state without c",
       [] {
         Sequential m = small();
         const Tensor h = filled({2, 2});
         dynamic_cast<Recurrent&>(m.layer(0)).set_initial_states(&h);
       },
       "LSTM 'lstm': expected h and c as initial state"},
      {"initial state width",
       [] {
         Sequential m = small();
         const Tensor h = filled({2, 5});
         dynamic_cast<Recurrent&>(m.layer(0)).set_initial_states(&h, &h);
       },
       "LSTM 'lstm': initial state must be [batch, 2], got [2, 5]"},
      {"initial state batch",
       [] {
         Sequential m = small();
         const Tensor h = filled({2, 2});
         dynamic_cast<Recurrent&>(m.layer(0)).set_initial_states(&h, &h);
         m.layer(0).forward(Context{}, filled({4, 3, 3}), nullptr);
       },
       "LSTM 'lstm': initial state has batch 2, input has batch 3"},
      {"final-state gradient",
       [] {
         Sequential m = small();
         auto& r = dynamic_cast<Recurrent&>(m.layer(0));
         r.forward(Context{}, filled({4, 2, 3}), nullptr);
         const Tensor dh = filled({3, 2});
         r.set_final_state_grads(&dh);
         r.backward(Context{}, filled({2, 2}));
       },
       "LSTM 'lstm': final-state gradient has shape [3, 2], expected [2, 2]"},
      {"merge of token ids of unknown length",
       [] {
         Functional g("f");
         const NodeRef a = g.input("a", {-1}), b = g.input("b", {-1});
         g.call(std::make_unique<Concatenate>("cat"), {a, b});
       },
       "Concatenate 'cat': the last axis of every input must be known, got "},
      {"masking rank",
       [] {
         Masking m("m", 0.0f);
         m.build({-1, 3});
         m.forward(Context{}, filled({2, 3}), nullptr);
       },
       "Masking 'm': expects [T, B, F], got shape [2, 3]"},
      {"embedding rank",
       [] {
         EmbeddingOptions o;
         o.input_dim = 5;
         o.output_dim = 2;
         Sequential m("m");
         m.add(std::make_unique<Embedding>("e", o));
         m.build({-1}, 1);
         m.layer(0).forward(Context{}, filled({2, 3, 1}, 1.0f), nullptr);
       },
       "Embedding 'e': expects token ids [T, B] (time-major), got shape [2, 3, 1]"},
      {"recurrent mask shape",
       [] {
         Sequential m("m");
         m.add(make_gru("g", rnn(2)));
         m.build({-1, 3});
         const Tensor mask = filled({3, 2}, 1.0f);
         m.layer(0).forward(Context{}, filled({4, 2, 3}), &mask);
       },
       "GRU 'g': mask has shape [3, 2], expected [4, 2]"},
      {"recurrent output gradient",
       [] {
         Sequential m = small();
         m.layer(0).forward(Context{}, filled({4, 2, 3}), nullptr);
         m.layer(0).backward(Context{}, filled({2, 5}));
       },
       "LSTM 'lstm': output gradient has shape [2, 5], expected [2, 2]"},
      {"dense output gradient",
       [] {
         Sequential m = small();
         m.layer(1).forward(Context{}, filled({2, 2}), nullptr);
         m.layer(1).backward(Context{}, filled({2, 3}));
       },
       "Dense 'dense': output gradient has shape [2, 3], expected [2, 1]"},
      {"stateful batch change",
       [] {
         RecurrentOptions o = rnn(2);
         o.stateful = true;
         Sequential m("m");
         m.add(make_lstm("l", o));
         m.build({-1, 3});
         m.layer(0).forward(Context{}, filled({4, 2, 3}), nullptr);
         m.layer(0).forward(Context{}, filled({4, 3, 3}), nullptr);
       },
       "LSTM 'l': stateful layer saw batch 2 and now batch 3; call reset_states() between "
       "different batch sizes"},
      {"merge input count", [] { merge_forward({&kSeq}, {}); }, "Add 'add': expected 2 inputs, got 1"},
      {"merge mask count", [] { merge_forward({&kSeq, &kSeq}, {nullptr}); },
       "Add 'add': expected 2 masks (or none), got 1"},
      {"merge null input", [] { merge_forward({&kSeq, nullptr}, {}); },
       "Add 'add': input 1 is null"},
      {"merge shapes",
       [] {
         const Tensor other = filled({4, 2, 5});
         merge_forward({&kSeq, &other}, {});
       },
       "Add 'add': input 1 has shape [4, 2, 5], input 0 has shape [4, 2, 3]; expected every axis "
       "but the last to match and the last to be 3"},
  });
}

TEST(ApiErrors, Tensors) {
  run_cases({
      {"values for shape", [] { Tensor({2, 3}, {1, 2, 3, 4, 5}); },
       "Tensor: 5 values given for shape [2, 3]"},
      {"reshape", [] { (void)filled({2, 3}).reshaped({4, 2}); }, "cannot reshape [2, 3] to [4, 2]"},
      {"negative extent", [] { Tensor(Shape{-1, 2}); }, "negative extent in shape [-1, 2]"},
      {"too many elements", [] { Tensor(Shape{1LL << 40, 1LL << 40}); },
       "has too many elements"},
  });
}

// ---- compile and fit --------------------------------------------------------------------------

Sequential compiled(const char* optimizer = "adam") {
  Sequential m = small(4);
  m.compile(compile_options(optimizer, "mse"));
  return m;
}
FitOptions quiet(int epochs = 1) {
  FitOptions o;
  o.epochs = epochs;
  o.verbose = 0;
  return o;
}
const Tensor kX = Tensor({8, 4, 3}, 0.25f);
const Tensor kY = Tensor({8, 1}, 0.5f);

TEST(ApiErrors, CompileAndFitOptions) {
  run_cases({
      {"compile before build",
       [] { small(4, false).compile(compile_options("adam", "mse")); },
       "Sequential 'm': compile() before build()"},
      {"no loss",
       [] {
         CompileOptions c = compile_options("adam", "mse");
         c.losses.clear();
         small(4).compile(c);
       },
       "compile: no loss given"},
      {"two losses",
       [] {
         CompileOptions c = compile_options("adam", "mse");
         c.losses.push_back(c.losses[0]);
         small(4).compile(c);
       },
       "compile: 2 losses for a model with 1 outputs (give one, or one per output)"},
      {"two loss weights",
       [] {
         CompileOptions c = compile_options("adam", "mse");
         c.loss_weights = {1.0, 2.0};
         small(4).compile(c);
       },
       "compile: 2 loss_weights for a model with 1 outputs"},
      {"epochs -1",
       [] {
         FitOptions o = quiet(-1);
         compiled().fit(kX, kY, o);
       },
       "fit: epochs must be >= 0, got -1"},
      {"batch_size 0",
       [] {
         FitOptions o = quiet();
         o.batch_size = 0;
         compiled().fit(kX, kY, o);
       },
       "fit: batch_size must be >= 1, got 0"},
      {"initial_epoch -1",
       [] {
         FitOptions o = quiet();
         o.initial_epoch = -1;
         compiled().fit(kX, kY, o);
       },
       "fit: initial_epoch must be >= 0, got -1"},
      {"validation_split 1",
       [] {
         FitOptions o = quiet();
         o.validation_split = 1.0;
         compiled().fit(kX, kY, o);
       },
       "fit: validation_split must be in [0, 1), got 1"},
      {"verbose 3",
       [] {
         FitOptions o = quiet();
         o.verbose = 3;
         compiled().fit(kX, kY, o);
       },
       "fit: verbose must be 0, 1 or 2, got 3"},
      {"evaluate batch_size 0",
       [] {
         EvaluateOptions e;
         e.batch_size = 0;
         compiled().evaluate(kX, kY, e);
       },
       "evaluate: batch_size must be >= 1, got 0"},
      {"negative sample weight",
       [] {
         FitOptions o = quiet();
         o.sample_weight = Tensor({8}, 1.0f);
         o.sample_weight[2] = -1.0f;
         compiled().fit(kX, kY, o);
       },
       "sample_weight at row 2 is -1; weights must be finite and >= 0"},
      {"class_weight per time step",
       [] {
         Sequential m("m");
         m.add(make_lstm("lstm", rnn(2, true)));
         m.add(dense("dense", 2));
         m.build({4, 3});
         m.compile(compile_options("adam", "sparse_categorical_crossentropy"));
         FitOptions o = quiet();
         o.class_weight = {{0, 1.0}, {1, 2.0}};
         m.fit(kX, Tensor({8, 4}, 0.0f), o);
       },
       "class_weight is not supported for per-time-step targets [N, T, ...]; use sample_weight"},
      {"validation x of the wrong shape",
       [] {
         FitOptions o = quiet();
         o.validation_x = {Tensor({2, 4, 5}, 0.0f)};
         o.validation_y = {Tensor({2, 1}, 0.0f)};
         compiled().fit(kX, kY, o);
       },
       "validation x has shape [2, 4, 5]"},
  });
}

// Functional 'f': inputs 'a' and 'b' [4, 3] -> Add -> LSTM -> Dense 'out1' and Dense 'out2'.
std::unique_ptr<Functional> two_in_two_out() {
  auto g = std::make_unique<Functional>("f");
  const NodeRef a = g->input("a", {4, 3}), b = g->input("b", {4, 3});
  const NodeRef s = g->call(std::make_unique<Add>("add"), {a, b}).at(0);
  const NodeRef h = g->call(make_lstm("lstm", rnn(2)), {s}).at(0);
  const NodeRef y1 = g->call(dense("out1", 1), {h}).at(0);
  const NodeRef y2 = g->call(dense("out2", 1), {h}).at(0);
  g->build({a, b}, {y1, y2});
  g->compile(compile_options("adam", "mse"));
  return g;
}

TEST(ApiErrors, FitArrays) {
  run_cases({
      {"one input array for two",
       [] { two_in_two_out()->fit({kX}, {kY, kY}, quiet()); },
       "Functional 'f' takes 2 input array(s), got 1"},
      {"three target arrays for two",
       [] { two_in_two_out()->fit({kX, kX}, {kY, kY, kY}, quiet()); },
       "Functional 'f' has 2 output(s), got 3 target array(s)"},
      {"input rows differ",
       [] { two_in_two_out()->fit({kX, Tensor({5, 4, 3}, 0.0f)}, {kY, kY}, quiet()); },
       "x[1] has 5 rows, x[0] has 8"},
      {"class_weight on two outputs",
       [] {
         FitOptions o = quiet();
         o.class_weight = {{0, 1.0}};
         two_in_two_out()->fit({kX, kX}, {kY, kY}, o);
       },
       "class_weight needs a single-output model"},
  });
}

// ---- callbacks --------------------------------------------------------------------------------

class ApiCallbackErrors : public recur::testing::TempDirTest {};

TEST_F(ApiCallbackErrors, OptionsAndFiles) {
  const std::string blocker = write("plain_file", "x");
  const std::string dir = dir_.string();
  run_cases({
      {"EarlyStopping monitor", [] { early_stopping({.monitor = ""}); },
       "EarlyStopping: monitor is empty"},
      {"EarlyStopping min_delta",
       [] { early_stopping({.min_delta = std::numeric_limits<double>::quiet_NaN()}); },
       "EarlyStopping: min_delta is NaN"},
      {"ReduceLROnPlateau monitor", [] { reduce_lr_on_plateau({.monitor = ""}); },
       "ReduceLROnPlateau: monitor is empty"},
      {"factor 1", [] { reduce_lr_on_plateau({.factor = 1.0}); },
       "ReduceLROnPlateau: factor must be < 1.0, got 1"},
      {"factor -1", [] { reduce_lr_on_plateau({.factor = -1.0}); },
       "ReduceLROnPlateau: factor must be >= 0, got -1"},
      {"patience -1", [] { reduce_lr_on_plateau({.patience = -1}); },
       "ReduceLROnPlateau: patience must be >= 0, got -1"},
      {"cooldown -1", [] { reduce_lr_on_plateau({.cooldown = -1}); },
       "ReduceLROnPlateau: cooldown must be >= 0, got -1"},
      {"min_lr -1", [] { reduce_lr_on_plateau({.min_lr = -1.0}); },
       "ReduceLROnPlateau: min_lr must be a finite number >= 0, got -1"},
      {"plateau min_delta",
       [] { reduce_lr_on_plateau({.min_delta = std::numeric_limits<double>::quiet_NaN()}); },
       "ReduceLROnPlateau: min_delta is NaN"},
      {"CSVLogger filename", [] { csv_logger(""); }, "CSVLogger: filename is empty"},
      {"CSVLogger separator", [] { csv_logger("log.csv", '"'); },
       "CSVLogger 'log.csv': separator may not be a quote, a line break or NUL"},
      {"CSVLogger cannot open",
       [&] {
         FitOptions o = quiet();
         o.callbacks = {csv_logger(blocker + "/log.csv")};
         compiled().fit(kX, kY, o);
       },
       "CSVLogger: cannot open '" + blocker + "/log.csv' for writing: "},
      {"ModelCheckpoint filepath", [] { model_checkpoint({.filepath = ""}); },
       "ModelCheckpoint: filepath is empty"},
      {"ModelCheckpoint monitor",
       [] { model_checkpoint({.filepath = "m.st", .monitor = "", .save_best_only = true}); },
       "ModelCheckpoint: save_best_only needs a monitor, got an empty one"},
      {"ModelCheckpoint bad pattern",
       [&] {
         FitOptions o = quiet();
         o.callbacks = {model_checkpoint({.filepath = dir + "/m-{}.st", .monitor = "loss"})};
         compiled().fit(kX, kY, o);
       },
       "ModelCheckpoint: cannot format filepath \"" + dir + "/m-{}.st\": "},
      {"ModelCheckpoint directory",
       [&] {
         FitOptions o = quiet();
         o.callbacks = {model_checkpoint({.filepath = blocker + "/sub/m.st", .monitor = "loss"})};
         compiled().fit(kX, kY, o);
       },
       "ModelCheckpoint: cannot create directory '" + blocker + "/sub' for '"},
      {"LearningRateScheduler empty", [] { learning_rate_scheduler(nullptr); },
       "LearningRateScheduler: the schedule is empty"},
      {"LearningRateScheduler NaN",
       [] {
         FitOptions o = quiet();
         o.callbacks = {learning_rate_scheduler(
             [](int, double) { return std::numeric_limits<double>::quiet_NaN(); })};
         compiled().fit(kX, kY, o);
       },
       "returned nan; expected a finite learning rate >= 0"},
      {"backup_dir empty", [] { backup_and_restore(""); },
       "backup_and_restore: backup_dir is empty"},
      {"save_freq -1", [&] { backup_and_restore(dir + "/b", -1); },
       "backup_and_restore: save_freq must be >= 0, got -1"},
  });
  EXPECT_FALSE(fs::exists(path("m-.st")));
}

// ---- optimizers and schedules -----------------------------------------------------------------

TEST(ApiErrors, OptimizerAndScheduleJson) {
  run_cases({
      {"optimizer unknown key", [] { optimizer_from_json({{"class_name", "Adam"}, {"x", 1}}); },
       "optimizer: unknown key 'x'"},
      {"optimizer class_name number", [] { optimizer_from_json({{"class_name", 3}}); },
       "optimizer: 'class_name' must be a string, got 3"},
      {"optimizer config number",
       [] { optimizer_from_json({{"class_name", "Adam"}, {"config", 3}}); },
       "optimizer 'Adam': 'config' must be an object, got 3"},
      {"optimizer name number",
       [] { optimizer_from_json({{"class_name", "Adam"}, {"config", {{"name", 3}}}}); },
       "optimizer 'Adam': 'name' must be a string, got 3"},
      {"optimizer loss_scale_factor",
       [] { optimizer_from_json({{"class_name", "Adam"}, {"config", {{"loss_scale_factor", 2}}}}); },
       "optimizer 'Adam': 'loss_scale_factor' is not supported, got 2"},
      {"scalar state unknown key",
       [] {
         auto opt = Optimizer::make(compile_options("adam", "mse").optimizer);
         opt->set_scalar_state({{"iterations", 0}, {"learning_rate", 0.1}, {"x", 1}});
       },
       "optimizer scalar state: unknown key 'x'"},
      {"variable without data",
       [] {
         auto opt = Optimizer::make(compile_options("sgd", "mse").optimizer);
         opt->attach({Variable{"x", TensorView{nullptr, {2}}, TensorView{nullptr, {2}}}});
       },
       "optimizer: variable 'x' has no data"},
      {"schedule not an object", [] { schedule_from_json(3); },
       "learning-rate schedule: expected {\"class_name\": ..., \"config\": {...}}, got 3"},
      {"schedule unknown key",
       [] { schedule_from_json({{"class_name", "ExponentialDecay"}, {"x", 1}}); },
       "learning-rate schedule: unknown key 'x'"},
      {"schedule class_name number", [] { schedule_from_json({{"class_name", 3}}); },
       "learning-rate schedule: 'class_name' must be a string, got 3"},
      {"schedule number",
       [] {
         schedule_from_json({{"class_name", "ExponentialDecay"}, {"config", {{"decay_rate", "x"}}}});
       },
       "learning-rate schedule 'ExponentialDecay': 'decay_rate' must be a number, got \"x\""},
      {"schedule staircase",
       [] {
         schedule_from_json({{"class_name", "ExponentialDecay"}, {"config", {{"staircase", 1}}}});
       },
       "learning-rate schedule 'ExponentialDecay': 'staircase' must be true or false, got 1"},
      {"schedule name",
       [] { schedule_from_json({{"class_name", "CosineDecay"}, {"config", {{"name", 3}}}}); },
       "learning-rate schedule 'CosineDecay': 'name' must be a string, got 3"},
      {"warmup_steps",
       [] {
         schedule_from_json({{"class_name", "CosineDecay"}, {"config", {{"warmup_steps", 100}}}});
       },
       "learning-rate schedule 'CosineDecay': warmup_steps is not supported, got 100"},
      {"warmup_target",
       [] {
         schedule_from_json({{"class_name", "CosineDecay"}, {"config", {{"warmup_target", 0.1}}}});
       },
       "learning-rate schedule 'CosineDecay': warmup_target is not supported, got 0.1"},
      {"negative step", [] { scheduled_learning_rate(ScheduleOptions{}, 0.1, -1); },
       "learning-rate schedule: step must be >= 0, got -1"},
  });
}

// ---- checkpoints ------------------------------------------------------------------------------

class ApiCheckpointErrors : public recur::testing::TempDirTest {
 protected:
  // Trains `small(4)` one epoch with a kept checkpoint in path("ckpt"); returns its file.
  std::string make_checkpoint() {
    Sequential m = compiled();
    FitOptions o = quiet();
    o.callbacks = {backup_and_restore(path("ckpt"), 0, false)};
    m.fit(kX, kY, o);
    const std::string file = checkpoint_file(path("ckpt"));
    EXPECT_TRUE(fs::exists(file));
    return file;
  }
  // Resumes `model` (compiled) from path("ckpt").
  void resume(Sequential& model) {
    FitOptions o = quiet(2);
    o.callbacks = {backup_and_restore(path("ckpt"), 0, false)};
    model.fit(kX, kY, o);
  }
  // Rewrites the checkpoint file with `edit` applied.
  static void edit(const std::string& file,
                   const std::function<void(io::SafetensorsFile&)>& change) {
    io::SafetensorsFile f = io::read_safetensors(file);
    change(f);
    std::vector<std::pair<std::string, const io::RawTensor*>> tensors;
    for (const auto& [n, raw] : f.tensors) tensors.emplace_back(n, &raw);
    io::write_safetensors(file, f.metadata, tensors);
  }
  static json training(const io::SafetensorsFile& f) {
    return json::parse(f.metadata.at("recur.training"));
  }
  static void set_training(io::SafetensorsFile& f, const json& j) {
    f.metadata.insert_or_assign("recur.training", j.dump());
  }
};

TEST_F(ApiCheckpointErrors, OtherModelOrOptimizer) {
  const std::string file = make_checkpoint();
  Sequential other("m");
  other.add(make_lstm("lstm", rnn(3)));
  other.add(dense("dense", 1));
  other.build({4, 3});
  other.compile(compile_options("adam", "mse"));
  run_cases({
      {"other architecture", [&] { resume(other); },
       file + ": the checkpoint was written for another model architecture"},
      {"other optimizer",
       [&] {
         Sequential m = compiled("sgd");
         resume(m);
       },
       file + ": the checkpoint's optimizer is 'adam', the model is compiled with 'sgd'"},
  });
}

TEST_F(ApiCheckpointErrors, DamagedCheckpoints) {
  const std::string file = make_checkpoint();
  const std::string pristine = recur::testing::read_file(file);
  using Edit = std::function<void(io::SafetensorsFile&)>;
  struct Row {
    const char* name;
    Edit change;
    std::string fragment;
  };
  const std::vector<Row> rows = {
      {"no recur.training", [](io::SafetensorsFile& f) { f.metadata.erase("recur.training"); },
       ": not a recur training checkpoint (no recur.model/recur.training)"},
      {"training not JSON",
       [](io::SafetensorsFile& f) { f.metadata.insert_or_assign("recur.training", std::string("{x")); },
       ": bad checkpoint metadata: "},
      {"no epoch",
       [](io::SafetensorsFile& f) {
         json j = training(f);
         j.erase("epoch");
         set_training(f, j);
       },
       ": bad recur.training metadata: "},
      {"bad RNG",
       [](io::SafetensorsFile& f) {
         json j = training(f);
         j["rng_shuffle"] = {1};
         set_training(f, j);
       },
       ": bad RNG state"},
      {"missing tensor", [](io::SafetensorsFile& f) { f.tensors.erase("lstm/kernel"); },
       ": checkpoint has no tensor 'lstm/kernel'"},
      {"tensor dtype",
       [](io::SafetensorsFile& f) { f.tensors.at("dense/bias").dtype = io::DType::I32; },
       ": checkpoint tensor 'dense/bias' is I32 [1], expected F32 [1]"},
      {"mid-epoch without order",
       [](io::SafetensorsFile& f) {
         json j = training(f);
         j["step"] = 1;
         set_training(f, j);
       },
       ": mid-epoch checkpoint without a valid training/order tensor"},
      {"order out of range",
       [](io::SafetensorsFile& f) {
         json j = training(f);
         j["step"] = 1;
         set_training(f, j);
         io::RawTensor order{io::DType::I64, {8}, std::vector<std::uint8_t>(64, 0)};
         order.bytes[0] = 99;  // row 99 of 8
         f.tensors["training/order"] = order;
       },
       ": training/order out of range"},
  };
  for (const Row& r : rows) {
    recur::testing::write_file(file, pristine);
    edit(file, r.change);
    run_cases({{r.name,
                [&] {
                  Sequential m = compiled();
                  resume(m);
                },
                file + r.fragment}});
  }
}

// ---- reports, threads, naive Bayes ------------------------------------------------------------

class ApiReportErrors : public recur::testing::TempDirTest {};

TEST_F(ApiReportErrors, ChartsThreadsAndNaiveBayes) {
  const std::string svg = path("c.svg");
  run_cases({
      {"chart lengths",
       [&] {
         report::LineChart c;
         c.title = "loss";
         report::Series val;
         val.label = "val";
         val.x.assign(9, 1.0);
         val.y.assign(10, 1.0);
         c.series.push_back(val);
         report::write_line_chart(svg, c);
       },
       "chart 'loss', series 'val': 9 x values for 10 y values"},
      {"confusion no classes", [&] { report::write_confusion_matrix(svg, "test", {}, {}); },
       "confusion matrix 'test': no classes"},
      {"confusion rows",
       [&] { report::write_confusion_matrix(svg, "test", {"a", "b"}, {{1, 2}, {3, 4}, {5, 6}}); },
       "confusion matrix 'test': 3 rows for 2 classes"},
      {"confusion columns",
       [&] { report::write_confusion_matrix(svg, "test", {"a", "b"}, {{1, 2}, {3, 4, 5}}); },
       "confusion matrix 'test': row 1 has 3 columns, expected 2"},
      {"thread count", [] { kernels::set_num_threads(0); },
       "thread count must be at least 1, got 0"},
      {"naive Bayes sizes",
       [] {
         const std::vector<std::string> t = {"a", "b", "c"};
         const std::vector<int64_t> l = {0, 1};
         data::NaiveBayes().fit(t, l, 2);
       },
       "NaiveBayes::fit: 3 texts but 2 labels"},
      {"naive Bayes classes",
       [] {
         const std::vector<std::string> t = {"a"};
         const std::vector<int64_t> l = {0};
         data::NaiveBayes().fit(t, l, 0);
       },
       "NaiveBayes::fit: num_classes must be >= 1"},
      {"naive Bayes label",
       [] {
         const std::vector<std::string> t = {"a"};
         const std::vector<int64_t> l = {4};
         data::NaiveBayes().fit(t, l, 2);
       },
       "NaiveBayes::fit: label 4 at row 0 is outside [0, 2)"},
      {"naive Bayes unfitted", [] { data::NaiveBayes().predict(std::string_view("a")); },
       "NaiveBayes::predict before fit"},
  });
  EXPECT_FALSE(std::filesystem::exists(svg));
}

class ApiDataFileErrors : public recur::testing::TempDirTest {};

TEST_F(ApiDataFileErrors, HugeTableIsRefusedBeforeReading) {
  // A sparse file one byte over the limit: the size is checked before anything is read.
  const std::string big = write("big.csv", "a,b\n");
  std::filesystem::resize_file(big, (std::uintmax_t{1} << 30) + 1);
  run_cases({{"table over 1 GiB", [&] { data::read_table(big, ','); },
              big + ": the file has 1073741825 bytes; tables are limited to 1 GiB"}});
}

// ---- data utilities ---------------------------------------------------------------------------

TEST(ApiErrors, TimeSeriesOptions) {
  const std::vector<double> series(8, 1.0);
  run_cases({
      {"test fraction", [] { data::chronological_split(10, 1.5); },
       "test fraction 1.5 is not in [0, 1)"},
      {"validation fraction", [] { data::chronological_split(10, 0.2, 1.0); },
       "validation fraction 1 is not in [0, 1)"},
      {"no validation points", [] { data::chronological_split(3, 0.0, 0.1); },
       "a validation fraction of 0.1 of 3 points leaves no validation points"},
      {"lookback 0", [&] { data::make_windows(series, {.lookback = 0}); },
       "windows: lookback 0 must be >= 1"},
      {"horizon 0", [&] { data::make_windows(series, {.horizon = 0}); },
       "windows: horizon 0 must be >= 1"},
      {"stride 0", [&] { data::make_windows(series, {.stride = 0}); },
       "windows: stride 0 must be >= 1"},
      {"features 0", [&] { data::make_windows(series, 0, series, {}); },
       "windows: 0 features, expected >= 1"},
      {"not whole rows",
       [] {
         const std::vector<double> v(7, 1.0), t(3, 1.0);
         data::make_windows(v, 2, t, {});
       },
       "windows: 7 values are not a whole number of rows of 2 features"},
      {"targets for rows",
       [] {
         const std::vector<double> v(8, 1.0), t(3, 1.0);
         data::make_windows(v, 2, t, {});
       },
       "windows: 3 targets for 4 rows of inputs"},
      {"rows outside", [&] { data::make_windows(series, 1, series, {}, 0, 9); },
       "windows: rows [0, 9) are outside the 8 rows"},
      {"scaler features", [&] { data::Scaler::fit(data::ScalerKind::standard, series, 0); },
       "scaler: 0 features, expected >= 1"},
      {"scaler rows",
       [] {
         const std::vector<double> v(5, 1.0);
         data::Scaler::fit(data::ScalerKind::standard, v, 2);
       },
       "scaler: cannot fit on 5 values with 2 features per row"},
      {"forecast preprocessing not an object",
       [] { data::ForecastTransform::from_json(json::array()); },
       "recur.preprocessing: expected a JSON object"},
      {"resample steps",
       [] {
         data::Sequences s;
         data::resample_flat(s, 0);
       },
       "resample_flat: steps must be >= 1, got 0"},
  });
}

TEST(ApiErrors, TextUtilities) {
  run_cases({
      {"num_words 1", [] { data::Tokenizer::words({.num_words = 1}); },
       "Tokenizer: num_words must be 0 (no limit) or >= 2 (ids 0 and 1 are padding and OOV), "
       "got 1"},
      {"min_count 0", [] { data::Tokenizer::words({.min_count = 0}); },
       "Tokenizer: min_count must be >= 1, got 0"},
      {"oov empty", [] { data::Tokenizer::words({.oov_token = ""}); },
       "Tokenizer: oov_token must not be empty"},
      {"id outside", [] { data::Tokenizer::words().token(99); },
       "Tokenizer: id 99 is outside the vocabulary [0, 2)"},
      {"padding side", [] { data::parse_pad_side("mid", "padding"); },
       "padding: expected \"pre\" or \"post\", got \"mid\""},
      {"maxlen -1",
       [] {
         const std::vector<std::vector<int32_t>> s = {{1, 2}};
         data::pad_sequences(s, {.maxlen = -1});
       },
       "pad_sequences: maxlen must be >= 0, got -1"},
      {"num_classes -1",
       [] {
         const std::vector<int64_t> l = {0};
         data::to_categorical(l, -1);
       },
       "to_categorical: num_classes must be >= 0, got -1"},
      {"label outside",
       [] {
         const std::vector<int64_t> l = {3};
         data::to_categorical(l, 3);
       },
       "to_categorical: label 3 at row 0 is outside [0, 3)"},
      {"window options",
       [] {
         const std::vector<int32_t> ids = {1, 2, 3};
         data::next_token_windows(ids, 0, 1, 0);
       },
       "next_token_windows: seq_len and stride must be >= 1 and offset >= 0, got 0, 1, 0"},
      {"sequence too short",
       [] {
         const std::vector<int32_t> ids = {1, 2, 3, 4, 5};
         data::next_token_windows(ids, 10, 1, 0);
       },
       "next_token_windows: a sequence of 5 tokens (offset 0) is too short for one window of 10 "
       "steps (needs 11)"},
      {"split fraction",
       [] {
         const std::vector<int64_t> l = {0, 1};
         data::stratified_split(l, 1.0, 0);
       },
       "stratified_split: fraction must be in [0, 1), got 1"},
      {"negative class",
       [] {
         const std::vector<int64_t> l = {0, -1};
         data::stratified_split(l, 0.5, 0);
       },
       "stratified_split: negative class id -1"},
  });
}

}  // namespace
