// Writes the model-file seeds of fuzz/corpus/model_file (small .safetensors files saved by
// recur itself) and their architecture JSON into fuzz/corpus/model_arch. Run by
// `scripts/fuzz --seeds`; the outputs are committed, so this only needs rerunning when the
// model-file format changes.
//
//   make_model_seeds <corpus dir>   (writes <dir>/model_file/*.safetensors, <dir>/model_arch/*.json)
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/model_io.hpp"
#include "io/safetensors.hpp"
#include "recur/io/model_file.hpp"
#include "recur/layers/bidirectional.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/dropout.hpp"
#include "recur/layers/embedding.hpp"
#include "recur/layers/masking.hpp"
#include "recur/layers/merge.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/model/functional.hpp"
#include "recur/model/sequential.hpp"

namespace fs = std::filesystem;
using namespace recur;

namespace {

fs::path g_dir;

void save(const std::string& name, const Model& model,
          const std::map<std::string, std::string>& meta = {}) {
  save_model((g_dir / "model_file" / (name + ".safetensors")).string(), model, meta);
  std::ofstream((g_dir / "model_arch" / (name + ".json")).string(), std::ios::binary)
      << model.to_json().dump();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_model_seeds <corpus dir>\n");
    return 2;
  }
  g_dir = argv[1];
  fs::create_directories(g_dir / "model_file");
  fs::create_directories(g_dir / "model_arch");

  {  // forecaster: LSTM -> Dense
    Sequential m("forecast");
    m.add(make_lstm("lstm", {.units = 4}));
    m.add(std::make_unique<Dense>("dense", DenseOptions{.units = 1}));
    m.build({-1, 1}, 1);
    save("seq_lstm_dense", m);
  }
  {  // text classifier: Embedding (mask_zero) -> GRU -> Dense softmax, with a tokenizer
    Sequential m("classify");
    m.add(std::make_unique<Embedding>("embedding",
                                      EmbeddingOptions{.input_dim = 12, .output_dim = 3,
                                                       .mask_zero = true}));
    m.add(make_gru("gru", {.units = 3, .reset_after = false}));
    m.add(std::make_unique<Dense>(
        "out", DenseOptions{.units = 2, .activation = Activation::softmax}));
    m.build({-1}, 2);
    nlohmann::json pre;
    pre["tokenizer"] = {{"class_name", "Tokenizer"}, {"level", "word"}, {"num_words", 12},
                        {"vocabulary", {"the", "a", "good", "bad"}}};
    save("seq_embedding_gru", m, {{"recur.preprocessing", pre.dump()}});
  }
  {  // Masking -> Bidirectional SimpleRNN (sum) -> Dropout -> Dense
    Sequential m("bidi");
    m.add(std::make_unique<Masking>("masking", -1.0f));
    m.add(std::make_unique<Bidirectional>(
        "bidi", CellKind::simple, RecurrentOptions{.units = 2, .return_sequences = true},
        MergeMode::sum, "simple_rnn"));
    m.add(std::make_unique<Dropout>("dropout", 0.25f));
    m.add(std::make_unique<Dense>("dense", DenseOptions{.units = 2, .use_bias = false}));
    m.build({5, 2}, 3);
    save("seq_masking_bidi", m);
  }
  {  // functional: LSTM and GRU branches -> Concatenate -> Dense
    Functional g("branches");
    NodeRef x = g.input("x", {-1, 3});
    NodeRef a = g.call(make_lstm("lstm", {.units = 2}), {x})[0];
    NodeRef b = g.call(make_gru("gru", {.units = 2}), {x})[0];
    NodeRef c = g.call(std::make_unique<Concatenate>("cat"), {a, b})[0];
    NodeRef y = g.call(std::make_unique<Dense>("out", DenseOptions{.units = 1}), {c})[0];
    g.build({x}, {y}, 4);
    save("functional_branches", g);
  }
  {  // functional seq2seq: the decoder starts from the encoder's states; two inputs, Add
    Functional s("seq2seq");
    NodeRef e_in = s.input("enc_in", {-1, 3});
    std::vector<NodeRef> enc = s.call(make_lstm("enc", {.units = 2, .return_state = true}), {e_in});
    NodeRef d_in = s.input("dec_in", {-1, 2});
    NodeRef d = s.call(make_lstm("dec", {.units = 2, .return_sequences = true}), {d_in},
                       {enc[1], enc[2]})[0];
    NodeRef o1 = s.call(std::make_unique<Dense>("out", DenseOptions{.units = 2}), {d})[0];
    NodeRef o2 = s.call(std::make_unique<Dense>("skip", DenseOptions{.units = 2}), {d})[0];
    NodeRef sum = s.call(std::make_unique<Add>("add"), {o1, o2})[0];
    s.build({e_in, d_in}, {sum}, 5);
    save("functional_seq2seq", s);
  }
  {  // a training checkpoint: recur.training metadata and optimizer/ tensors beside the weights
    Sequential m("ckpt");
    m.add(make_simple_rnn("rnn", {.units = 2}));
    m.add(std::make_unique<Dense>("dense", DenseOptions{.units = 1}));
    m.build({-1, 2}, 6);
    auto raws = model_tensors(m);
    io::RawTensor step{io::DType::I64, {1}, std::vector<std::uint8_t>(8, 0)};
    step.bytes[0] = 3;
    raws.emplace_back("optimizer/iterations", step);
    std::vector<std::pair<std::string, const io::RawTensor*>> tensors;
    for (const auto& [n, r] : raws) tensors.emplace_back(n, &r);
    io::write_safetensors((g_dir / "model_file" / "checkpoint.safetensors").string(),
                          {{"recur.format", "1"}, {"recur.model", m.to_json().dump()},
                           {"recur.training", R"({"epoch": 1})"}},
                          tensors);
  }
  std::printf("make_model_seeds: wrote %s/model_file and %s/model_arch\n", argv[1], argv[1]);
  return 0;
}
