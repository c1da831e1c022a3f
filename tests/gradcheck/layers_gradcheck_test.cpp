// The gradient-check registry: every layer and option of recur as rows of one table, each row
// checked by finite differences over parameters, inputs and (where asked) initial states
// (tests/support/gradcheck.hpp; house rule 7a).
//
// How to add a case: append a row in registry() below — a name, a function adding the layers to
// a Sequential, the time-major input shape ([T, B, F], [B, F] for a Dense-only model, or [T, B]
// token ids with `vocab` > 0), a mask pattern and where the mask comes from, and optionally the
// recurrent layer whose initial states are checked and a dropout seed. Adding a layer or an
// option means adding rows, never a new test body.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "recur/recur.hpp"
#include "support/gradcheck.hpp"

namespace {

using recur::Activation;
using recur::CellKind;
using recur::MergeMode;
using recur::RecurrentOptions;
using recur::Sequential;
using recur::Shape;
using recur::Tensor;

// ---- Masks --------------------------------------------------------------------------------------

enum class MaskPattern {
  none,
  post,        // row b has length T − b (row 0 unpadded)
  pre,         // row b starts at step b
  hole,        // row b misses steps [1, 1 + b) in the middle (never the last step)
  all_masked,  // the last row is masked at every step; the others are post-padded
};
enum class MaskSource {
  argument,  // mask [T, B] passed to Sequential::forward
  zeros,     // masked steps are all-zero feature vectors (the model starts with Masking)
  zero_ids,  // masked steps are token id 0 (the model starts with Embedding(mask_zero))
};

bool step_is_real(MaskPattern p, int64_t t, int64_t b, int64_t T, int64_t B) {
  switch (p) {
    case MaskPattern::none: return true;
    case MaskPattern::post: return t < std::max<int64_t>(1, T - b);
    case MaskPattern::pre: return t >= std::min(b, T - 1);
    case MaskPattern::hole: return !(t >= 1 && t < 1 + b && t < T - 1);
    case MaskPattern::all_masked: return b != B - 1 && t < std::max<int64_t>(1, T - b);
  }
  return true;
}

const char* pattern_name(MaskPattern p) {
  switch (p) {
    case MaskPattern::none: return "none";
    case MaskPattern::post: return "post";
    case MaskPattern::pre: return "pre";
    case MaskPattern::hole: return "hole";
    case MaskPattern::all_masked: return "all_masked";
  }
  return "?";
}

// ---- The case table ---------------------------------------------------------------------------

// Which recurrent layer's initial states are checked.
enum class StateOf { none, layer, bidir_forward, bidir_backward };

struct GradCase {
  std::string name;
  std::function<void(Sequential&)> layers;
  Shape x;                // time-major input shape
  int64_t vocab = 0;      // > 0: token ids in [1, vocab) (0 at masked steps)
  MaskPattern mask = MaskPattern::none;
  MaskSource mask_source = MaskSource::argument;
  StateOf state_of = StateOf::none;
  std::size_t state_layer = 0;  // layer index for state_of
  std::optional<uint64_t> dropout_seed = std::nullopt;
};

void PrintTo(const GradCase& c, std::ostream* os) { *os << c.name; }

struct CellSpec {
  const char* tag;
  CellKind kind;
  bool reset_after;
};
constexpr CellSpec kCells[] = {{"simple", CellKind::simple, true},
                               {"lstm", CellKind::lstm, true},
                               {"gru_ra", CellKind::gru, true},    // reset_after = true
                               {"gru_rb", CellKind::gru, false}};  // reset_after = false

std::unique_ptr<recur::Recurrent> cell(const CellSpec& c, std::string name, RecurrentOptions o) {
  o.reset_after = c.reset_after;
  return std::make_unique<recur::Recurrent>(c.kind, std::move(name), o);
}
std::unique_ptr<recur::Dense> dense(std::string name, int64_t units,
                                    Activation a = Activation::linear, bool use_bias = true) {
  return std::make_unique<recur::Dense>(
      std::move(name), recur::DenseOptions{.units = units, .activation = a, .use_bias = use_bias});
}

std::vector<GradCase> registry() {
  std::vector<GradCase> cases;
  auto add = [&](GradCase c) { cases.push_back(std::move(c)); };
  const Activation acts[] = {Activation::tanh, Activation::relu, Activation::sigmoid,
                             Activation::hard_sigmoid, Activation::linear};
  const Activation recs[] = {Activation::sigmoid, Activation::hard_sigmoid, Activation::tanh};
  const MaskPattern patterns[] = {MaskPattern::post, MaskPattern::pre, MaskPattern::hole,
                                  MaskPattern::all_masked};

  for (const CellSpec& c : kCells) {
    const std::string tag = c.tag;
    // activation × recurrent_activation (SimpleRNN has no recurrent_activation).
    int k = 0;
    for (Activation a : acts) {
      for (Activation r : recs) {
        if (c.kind == CellKind::simple && r != Activation::sigmoid) continue;
        const bool seq = (k++ % 2) == 0;
        std::string name = tag + "_act_" + recur::activation_name(a);
        if (c.kind != CellKind::simple) name += std::string("_rec_") + recur::activation_name(r);
        add({.name = name,
             .layers = [=](Sequential& m) {
               m.add(cell(c, "rnn", {.units = 3, .activation = a, .recurrent_activation = r,
                                     .return_sequences = seq}));
               m.add(dense("dense", 2));
             },
             .x = {4, 2, 3}});
      }
    }
    // return_sequences, use_bias, go_backwards.
    for (bool seq : {false, true}) {
      const std::string s = seq ? "_seq" : "_last";
      add({.name = tag + s,
           .layers = [=](Sequential& m) {
             m.add(cell(c, "rnn", {.units = 4, .return_sequences = seq}));
           },
           .x = {5, 3, 4}});
      add({.name = tag + "_no_bias" + s,
           .layers = [=](Sequential& m) {
             m.add(cell(c, "rnn", {.units = 3, .use_bias = false, .return_sequences = seq}));
           },
           .x = {4, 3, 2}});
      add({.name = tag + "_go_backwards" + s,
           .layers = [=](Sequential& m) {
             m.add(cell(c, "rnn", {.units = 3, .return_sequences = seq, .go_backwards = true}));
             m.add(dense("dense", 2));
           },
           .x = {5, 2, 3}});
    }
    // Masks passed as an argument: every pattern, both output kinds, both directions.
    for (MaskPattern p : patterns) {
      for (bool seq : {false, true}) {
        for (bool back : {false, true}) {
          add({.name = tag + "_mask_" + pattern_name(p) + (seq ? "_seq" : "_last") +
                       (back ? "_backwards" : ""),
               .layers = [=](Sequential& m) {
                 m.add(cell(c, "rnn",
                            {.units = 3, .return_sequences = seq, .go_backwards = back}));
               },
               .x = {5, 3, 2},
               .mask = p});
        }
      }
    }
    // Initial states (h, and c for LSTM).
    add({.name = tag + "_initial_state_seq",
         .layers = [=](Sequential& m) {
           m.add(cell(c, "rnn", {.units = 3, .return_sequences = true}));
         },
         .x = {4, 2, 3},
         .state_of = StateOf::layer});
    add({.name = tag + "_initial_state_backwards_mask_pre",
         .layers = [=](Sequential& m) {
           m.add(cell(c, "rnn", {.units = 3, .go_backwards = true}));
           m.add(dense("dense", 2, Activation::tanh));
         },
         .x = {5, 3, 2},
         .mask = MaskPattern::pre,
         .state_of = StateOf::layer});
    add({.name = tag + "_initial_state_mask_all_masked",
         .layers = [=](Sequential& m) {
           m.add(cell(c, "rnn", {.units = 2, .return_sequences = true}));
         },
         .x = {4, 3, 2},
         .mask = MaskPattern::all_masked,
         .state_of = StateOf::layer});
    // dropout and recurrent_dropout in training mode, the same masks for every forward.
    add({.name = tag + "_dropout_seq",
         .layers = [=](Sequential& m) {
           m.add(cell(c, "rnn", {.units = 4, .return_sequences = true, .dropout = 0.3f,
                                 .recurrent_dropout = 0.3f}));
         },
         .x = {4, 3, 5},
         .dropout_seed = 17});
    add({.name = tag + "_dropout_mask_post_backwards_initial_state",
         .layers = [=](Sequential& m) {
           m.add(cell(c, "rnn", {.units = 3, .go_backwards = true, .dropout = 0.25f,
                                 .recurrent_dropout = 0.4f}));
           m.add(dense("dense", 2));
         },
         .x = {5, 3, 4},
         .mask = MaskPattern::post,
         .state_of = StateOf::layer,
         .dropout_seed = 23});
    add({.name = tag + "_recurrent_dropout_only_last",
         .layers = [=](Sequential& m) {
           m.add(cell(c, "rnn", {.units = 3, .recurrent_dropout = 0.5f}));
         },
         .x = {4, 2, 3},
         .dropout_seed = 5});
    // Degenerate and odd sizes.
    add({.name = tag + "_T1_seq",
         .layers = [=](Sequential& m) {
           m.add(cell(c, "rnn", {.units = 3, .return_sequences = true}));
         },
         .x = {1, 3, 2}});
    add({.name = tag + "_T1_last_initial_state",
         .layers = [=](Sequential& m) { m.add(cell(c, "rnn", {.units = 3})); },
         .x = {1, 2, 2},
         .state_of = StateOf::layer});
    add({.name = tag + "_B1_mask_post_seq",
         .layers = [=](Sequential& m) {
           m.add(cell(c, "rnn", {.units = 3, .return_sequences = true}));
         },
         .x = {5, 1, 3},
         .mask = MaskPattern::post});
    add({.name = tag + "_B1_last",
         .layers = [=](Sequential& m) { m.add(cell(c, "rnn", {.units = 2})); },
         .x = {6, 1, 1}});
    add({.name = tag + "_odd_sizes_mask_hole",
         .layers = [=](Sequential& m) {
           m.add(cell(c, "rnn", {.units = 5, .return_sequences = true}));
           m.add(dense("dense", 3));
         },
         .x = {7, 5, 7},
         .mask = MaskPattern::hole});
  }

  // Bidirectional: every merge mode × return_sequences, with and without masks; cells rotate.
  {
    int k = 0;
    for (MergeMode mm : {MergeMode::concat, MergeMode::sum, MergeMode::mul, MergeMode::ave}) {
      for (bool seq : {false, true}) {
        const CellSpec c = kCells[k % 4];
        const MaskPattern p = patterns[k % 4];
        ++k;
        const std::string stem = std::string("bidir_") + recur::merge_mode_name(mm) +
                                 (seq ? "_seq_" : "_last_") + c.tag;
        add({.name = stem + "_mask_" + pattern_name(p),
             .layers = [=](Sequential& m) {
               RecurrentOptions o{.units = 3, .return_sequences = seq};
               o.reset_after = c.reset_after;
               m.add(std::make_unique<recur::Bidirectional>("bidir", c.kind, o, mm));
               m.add(dense("dense", 2));
             },
             .x = {5, 3, 2},
             .mask = p});
        add({.name = stem + "_nomask",
             .layers = [=](Sequential& m) {
               RecurrentOptions o{.units = 2, .return_sequences = seq};
               o.reset_after = c.reset_after;
               m.add(std::make_unique<recur::Bidirectional>("bidir", c.kind, o, mm));
             },
             .x = {4, 2, 3}});
      }
    }
    add({.name = "bidir_lstm_initial_state_forward_copy_mask_post",
         .layers = [](Sequential& m) {
           m.add(std::make_unique<recur::Bidirectional>(
               "bidir", CellKind::lstm, RecurrentOptions{.units = 3, .return_sequences = true}));
         },
         .x = {4, 2, 2},
         .mask = MaskPattern::post,
         .state_of = StateOf::bidir_forward});
    add({.name = "bidir_gru_initial_state_backward_copy_mask_pre",
         .layers = [](Sequential& m) {
           m.add(std::make_unique<recur::Bidirectional>(
               "bidir", CellKind::gru, RecurrentOptions{.units = 3}, MergeMode::sum));
         },
         .x = {4, 3, 2},
         .mask = MaskPattern::pre,
         .state_of = StateOf::bidir_backward});
    add({.name = "bidir_inner_go_backwards_simple_seq_mask_hole",
         .layers = [](Sequential& m) {
           m.add(std::make_unique<recur::Bidirectional>(
               "bidir", CellKind::simple,
               RecurrentOptions{.units = 3, .return_sequences = true, .go_backwards = true}));
         },
         .x = {4, 2, 3},
         .mask = MaskPattern::hole});
    add({.name = "bidir_lstm_mul_dropout_seq_mask_post",
         .layers = [](Sequential& m) {
           m.add(std::make_unique<recur::Bidirectional>(
               "bidir", CellKind::lstm,
               RecurrentOptions{.units = 3, .return_sequences = true, .dropout = 0.3f,
                                .recurrent_dropout = 0.3f},
               MergeMode::mul));
         },
         .x = {4, 2, 3},
         .mask = MaskPattern::post,
         .dropout_seed = 99});
  }

  // Dense on 2-D [B, F] and 3-D [T, B, F] inputs.
  for (Activation a : {Activation::linear, Activation::tanh, Activation::softmax,
                       Activation::relu, Activation::sigmoid}) {
    const std::string an = recur::activation_name(a);
    add({.name = "dense_" + an + "_2d",
         .layers = [=](Sequential& m) { m.add(dense("dense", 4, a)); },
         .x = {3, 5}});
    add({.name = "dense_" + an + "_3d",
         .layers = [=](Sequential& m) { m.add(dense("dense", 3, a)); },
         .x = {4, 2, 5}});
  }
  add({.name = "dense_no_bias_2d_stack",
       .layers = [](Sequential& m) {
         m.add(dense("dense_1", 4, Activation::tanh, false));
         m.add(dense("dense_2", 3, Activation::softmax));
       },
       .x = {2, 3}});
  add({.name = "dense_3d_after_lstm_seq_softmax_mask_post",
       .layers = [](Sequential& m) {
         m.add(recur::make_lstm("lstm", {.units = 3, .return_sequences = true}));
         m.add(dense("dense", 4, Activation::softmax));
       },
       .x = {4, 2, 3},
       .mask = MaskPattern::post});

  // Embedding (token ids: parameter gradients only).
  add({.name = "embedding_lstm_last",
       .layers = [](Sequential& m) {
         m.add(std::make_unique<recur::Embedding>(
             "emb", recur::EmbeddingOptions{.input_dim = 7, .output_dim = 3}));
         m.add(recur::make_lstm("lstm", {.units = 3}));
       },
       .x = {5, 3},
       .vocab = 7});
  add({.name = "embedding_mask_zero_lstm_post",
       .layers = [](Sequential& m) {
         m.add(std::make_unique<recur::Embedding>(
             "emb", recur::EmbeddingOptions{.input_dim = 6, .output_dim = 3, .mask_zero = true}));
         m.add(recur::make_lstm("lstm", {.units = 3}));
         m.add(dense("dense", 2));
       },
       .x = {5, 3},
       .vocab = 6,
       .mask = MaskPattern::post,
       .mask_source = MaskSource::zero_ids});
  add({.name = "embedding_mask_zero_lstm_pre_seq_softmax",
       .layers = [](Sequential& m) {
         m.add(std::make_unique<recur::Embedding>(
             "emb", recur::EmbeddingOptions{.input_dim = 5, .output_dim = 2, .mask_zero = true}));
         m.add(recur::make_lstm("lstm", {.units = 3, .return_sequences = true}));
         m.add(dense("dense", 3, Activation::softmax));
       },
       .x = {5, 3},
       .vocab = 5,
       .mask = MaskPattern::pre,
       .mask_source = MaskSource::zero_ids});
  add({.name = "embedding_mask_zero_bidir_gru_all_masked",
       .layers = [](Sequential& m) {
         m.add(std::make_unique<recur::Embedding>(
             "emb", recur::EmbeddingOptions{.input_dim = 6, .output_dim = 3, .mask_zero = true}));
         m.add(std::make_unique<recur::Bidirectional>(
             "bidir", CellKind::gru, RecurrentOptions{.units = 2, .return_sequences = true}));
       },
       .x = {4, 3},
       .vocab = 6,
       .mask = MaskPattern::all_masked,
       .mask_source = MaskSource::zero_ids});

  // Masking (masked steps are exact zeros in x and are not perturbed).
  add({.name = "masking_lstm_post",
       .layers = [](Sequential& m) {
         m.add(std::make_unique<recur::Masking>("masking", 0.0f));
         m.add(recur::make_lstm("lstm", {.units = 3}));
       },
       .x = {5, 3, 2},
       .mask = MaskPattern::post,
       .mask_source = MaskSource::zeros});
  add({.name = "masking_gru_all_masked_seq",
       .layers = [](Sequential& m) {
         m.add(std::make_unique<recur::Masking>("masking", 0.0f));
         m.add(recur::make_gru("gru", {.units = 3, .return_sequences = true}));
         m.add(dense("dense", 2));
       },
       .x = {4, 3, 3},
       .mask = MaskPattern::all_masked,
       .mask_source = MaskSource::zeros});
  add({.name = "masking_simple_hole_backwards",
       .layers = [](Sequential& m) {
         m.add(std::make_unique<recur::Masking>("masking", 0.0f));
         m.add(recur::make_simple_rnn("rnn", {.units = 3, .go_backwards = true}));
       },
       .x = {5, 3, 2},
       .mask = MaskPattern::hole,
       .mask_source = MaskSource::zeros});
  add({.name = "masking_bidir_lstm_concat_pre",
       .layers = [](Sequential& m) {
         m.add(std::make_unique<recur::Masking>("masking", 0.0f));
         m.add(std::make_unique<recur::Bidirectional>(
             "bidir", CellKind::lstm, RecurrentOptions{.units = 2, .return_sequences = true}));
       },
       .x = {4, 3, 2},
       .mask = MaskPattern::pre,
       .mask_source = MaskSource::zeros});

  // Dropout layers (training mode, fixed masks), and their inference identity.
  add({.name = "dropout_layers_lstm_dense",
       .layers = [](Sequential& m) {
         m.add(std::make_unique<recur::Dropout>("drop_in", 0.3f));
         m.add(recur::make_lstm("lstm", {.units = 3, .return_sequences = true}));
         m.add(std::make_unique<recur::Dropout>("drop_mid", 0.5f));
         m.add(dense("dense", 2));
       },
       .x = {4, 2, 3},
       .mask = MaskPattern::post,
       .dropout_seed = 3});
  add({.name = "dropout_layer_inference_is_identity",
       .layers = [](Sequential& m) {
         m.add(recur::make_gru("gru", {.units = 3, .return_sequences = true}));
         m.add(std::make_unique<recur::Dropout>("drop", 0.5f));
       },
       .x = {3, 2, 2}});

  // Stacks of three recurrent layers.
  add({.name = "stack_lstm_gru_simple_mask_post",
       .layers = [](Sequential& m) {
         m.add(recur::make_lstm("lstm", {.units = 3, .return_sequences = true}));
         m.add(recur::make_gru("gru", {.units = 4, .return_sequences = true}));
         m.add(recur::make_simple_rnn("rnn", {.units = 2}));
       },
       .x = {5, 3, 2},
       .mask = MaskPattern::post});
  add({.name = "stack_backwards_mixed_mask_hole_seq",
       .layers = [](Sequential& m) {
         m.add(recur::make_gru("gru", {.units = 3, .return_sequences = true,
                                      .go_backwards = true, .reset_after = false}));
         // (sigmoid, not relu: a relu layer inside a stack makes kinks dense around the
         // point; relu itself is covered by simple_act_relu.)
         m.add(recur::make_simple_rnn("rnn", {.units = 2, .activation = Activation::sigmoid,
                                               .return_sequences = true}));
         m.add(recur::make_lstm("lstm", {.units = 3, .return_sequences = true,
                                         .go_backwards = true}));
         m.add(dense("dense", 2, Activation::tanh));
       },
       .x = {5, 3, 3},
       .mask = MaskPattern::hole});
  add({.name = "stack_initial_state_middle_layer_mask_pre",
       .layers = [](Sequential& m) {
         m.add(recur::make_simple_rnn("rnn", {.units = 3, .return_sequences = true}));
         m.add(recur::make_lstm("lstm", {.units = 3, .return_sequences = true}));
         m.add(recur::make_gru("gru", {.units = 2}));
       },
       .x = {4, 2, 2},
       .mask = MaskPattern::pre,
       .state_of = StateOf::layer,
       .state_layer = 1});
  add({.name = "stack_bidir_then_gru_lstm_all_masked",
       .layers = [](Sequential& m) {
         m.add(std::make_unique<recur::Bidirectional>(
             "bidir", CellKind::lstm, RecurrentOptions{.units = 2, .return_sequences = true},
             MergeMode::ave));
         m.add(recur::make_gru("gru", {.units = 3, .return_sequences = true,
                                      .reset_after = false}));
         m.add(recur::make_lstm("lstm", {.units = 2}));
       },
       .x = {4, 3, 2},
       .mask = MaskPattern::all_masked});
  return cases;
}

// ---- Building a case --------------------------------------------------------------------------

struct Built {
  Sequential model;
  Tensor x, mask, select;
  recur::Recurrent* state_layer = nullptr;
};

// Every case draws its weights, inputs and token ids from one fixed seed. On this seed the
// largest relative error of the whole registry is 3.7e-4 (tolerance 1e-3). Over 40 other seeds
// (9120 case runs) 19 runs exceeded 1e-3: 18 in cases with relu as `activation`, where clusters
// of kinks around the point can defeat the checker's kink handling, and one in the deepest
// smooth stack (1.6e-3, rounding noise on a gradient 100× below the largest). So a changed row
// that fails with relu deserves a second seed before a bug hunt; any other failure does not.
Built build_case(const GradCase& c, uint64_t seed = 42) {
  Built b;
  c.layers(b.model);
  const bool ids = c.vocab > 0;
  const Shape sample = ids ? Shape{c.x[0]} : c.x.size() == 3 ? Shape{c.x[0], c.x[2]}
                                                             : Shape{c.x.back()};
  b.model.build(sample, seed);
  recur::Rng rng(seed, recur::Rng::kSample);
  // Weights uniform in (−0.5, 0.5), so that gates differ; inputs standard normal.
  for (float& w : b.model.weights()) w = rng.uniform(-0.5f, 0.5f);
  b.x = Tensor(c.x);
  if (ids) {
    for (float& v : b.x.span()) v = static_cast<float>(1 + rng.below(c.vocab - 1));
  } else {
    for (float& v : b.x.span()) v = static_cast<float>(rng.normal());
  }
  if (c.mask != MaskPattern::none) {
    const int64_t T = c.x[0], B = c.x[1];
    const int64_t F = ids ? 1 : c.x[2];
    b.mask = Tensor({T, B});
    b.select = Tensor(c.x, 1.0f);
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t s = 0; s < B; ++s) {
        const bool real = step_is_real(c.mask, t, s, T, B);
        b.mask[t * B + s] = real ? 1.0f : 0.0f;
        if (real || c.mask_source == MaskSource::argument) continue;
        for (int64_t f = 0; f < F; ++f) {
          b.x[(t * B + s) * F + f] = 0.0f;
          b.select[(t * B + s) * F + f] = 0.0f;
        }
      }
    }
  }
  switch (c.state_of) {
    case StateOf::none: break;
    case StateOf::layer:
      b.state_layer = dynamic_cast<recur::Recurrent*>(&b.model.layer(c.state_layer));
      break;
    case StateOf::bidir_forward:
      b.state_layer =
          &dynamic_cast<recur::Bidirectional&>(b.model.layer(c.state_layer)).forward_layer();
      break;
    case StateOf::bidir_backward:
      b.state_layer =
          &dynamic_cast<recur::Bidirectional&>(b.model.layer(c.state_layer)).backward_layer();
      break;
  }
  return b;
}

recur::testing::GradcheckOptions options_for(const GradCase& c, Built& b) {
  recur::testing::GradcheckOptions o;
  o.check_input = c.vocab == 0;
  if (c.mask != MaskPattern::none && c.mask_source == MaskSource::argument) o.mask = &b.mask;
  if (c.mask != MaskPattern::none && c.mask_source == MaskSource::zeros) o.input_select = &b.select;
  o.state_layer = b.state_layer;
  o.dropout_seed = c.dropout_seed;
  return o;
}

// ---- The tests --------------------------------------------------------------------------------

class LayerGradcheck : public ::testing::TestWithParam<GradCase> {};

TEST_P(LayerGradcheck, MatchesFiniteDifferences) {
  const GradCase& c = GetParam();
  Built b = build_case(c);
  ASSERT_TRUE(c.state_of == StateOf::none || b.state_layer != nullptr) << c.name;
  const auto opt = options_for(c, b);
  recur::testing::GradChecker checker(b.model, b.x, opt);
  const recur::testing::GradcheckReport rep = checker.run();
  RecordProperty("max_rel_error", std::to_string(rep.max_rel_error()));
  if (std::getenv("RECUR_GRADCHECK_VERBOSE")) {
    int limited = 0;
    for (const auto& e : rep.tensors) limited += e.noise_limited();
    std::printf("%-58s max rel error %.3e (%d noise-limited tensors)\n", c.name.c_str(),
                rep.max_rel_error(), limited);
  }
  EXPECT_TRUE(rep.passed()) << c.name << ": " << rep.str();
}

INSTANTIATE_TEST_SUITE_P(Registry, LayerGradcheck, ::testing::ValuesIn(registry()),
                         [](const ::testing::TestParamInfo<GradCase>& p) {
                           return p.param.name;
                         });

// Case names are unique (gtest needs it) and every registered option is exercised.
TEST(GradcheckRegistry, NamesAreUniqueAndCoverTheLayers) {
  const auto cases = registry();
  std::set<std::string> names;
  std::set<std::string> classes;
  for (const GradCase& c : cases) {
    EXPECT_TRUE(names.insert(c.name).second) << "duplicate case " << c.name;
    Built b = build_case(c);
    for (std::size_t i = 0; i < b.model.size(); ++i) classes.insert(b.model.layer(i).class_name());
  }
  for (const char* cls : {"SimpleRNN", "LSTM", "GRU", "Bidirectional", "Dense", "Embedding",
                          "Masking", "Dropout"})
    EXPECT_TRUE(classes.count(cls)) << "no gradcheck case uses " << cls;
}

// The checker can fail: one wrong analytic element is reported, with its tensor and position.
TEST(GradcheckSelfTest, ReportsAPerturbedAnalyticGradient) {
  const auto cases = registry();
  const auto it = std::find_if(cases.begin(), cases.end(), [](const GradCase& c) {
    return c.name == "lstm_initial_state_backwards_mask_pre";
  });
  ASSERT_NE(it, cases.end());
  Built b = build_case(*it);
  recur::testing::GradChecker checker(b.model, b.x, options_for(*it, b));
  const recur::testing::GradSet analytic = checker.analytic();
  const recur::testing::GradSet numeric = checker.numeric();
  ASSERT_TRUE(checker.compare(analytic, numeric).passed());

  // Which tensors does the set hold? Parameters first, then "input", then initial states.
  std::vector<std::string> names;
  for (const auto& g : analytic) names.push_back(g.name);
  for (const char* name : {"rnn/recurrent_kernel", "input", "initial_state/c"}) {
    const auto pos = std::find(names.begin(), names.end(), name);
    ASSERT_NE(pos, names.end()) << name;
    const std::size_t t = static_cast<std::size_t>(pos - names.begin());
    // A change of 1% of the tensor's norm in one element.
    double norm = 0.0;
    for (double v : analytic[t].values) norm += v * v;
    recur::testing::GradSet bad = analytic;
    const std::size_t i = bad[t].values.size() / 2;
    bad[t].values[i] += 1e-2 * std::sqrt(norm);
    const recur::testing::GradcheckReport rep = checker.compare(bad, numeric);
    EXPECT_FALSE(rep.passed()) << name;
    ASSERT_NE(rep.worst(), nullptr);
    EXPECT_EQ(rep.worst()->name, name);
    EXPECT_EQ(rep.worst()->worst_index, static_cast<int64_t>(i));
    EXPECT_NE(rep.str().find(std::string("worst tensor '") + name + "'"), std::string::npos)
        << rep.str();
  }
  // A wrong sign on a whole tensor is reported too, and NaN never passes.
  recur::testing::GradSet flipped = analytic;
  for (double& v : flipped[0].values) v = -v;
  EXPECT_FALSE(checker.compare(flipped, numeric).passed());
  recur::testing::GradSet nan = analytic;
  nan[1].values[0] = std::nan("");
  EXPECT_FALSE(checker.compare(nan, numeric).passed());
}

// Dropout cases are only meaningful if the re-seeded masks really repeat: two forwards with the
// same seed agree bit for bit, and a different seed changes the output.
TEST(GradcheckSelfTest, DropoutMasksRepeatWithTheSeed) {
  const auto cases = registry();
  const auto it = std::find_if(cases.begin(), cases.end(), [](const GradCase& c) {
    return c.name == "dropout_layers_lstm_dense";
  });
  ASSERT_NE(it, cases.end());
  Built b = build_case(*it);
  auto run = [&](uint64_t seed) {
    recur::Rng rng(seed, recur::Rng::kDropout);
    return Tensor(b.model.forward({.training = true, .rng = &rng}, b.x, &b.mask));
  };
  const Tensor y1 = run(3), y2 = run(3), y3 = run(4);
  ASSERT_EQ(y1.shape(), y2.shape());
  bool same = true, differs = false;
  for (int64_t i = 0; i < y1.numel(); ++i) {
    same = same && y1[i] == y2[i];
    differs = differs || y1[i] != y3[i];
  }
  EXPECT_TRUE(same);
  EXPECT_TRUE(differs);
}

}  // namespace
