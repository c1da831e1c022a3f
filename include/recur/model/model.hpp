// Model: what Sequential and Functional share — parameter arenas, batch-first predict, and the
// Keras-style training API (compile / fit / evaluate, implemented in src/train/).
//
// Inside, a model runs time-major batches: input i is [T, B, F] (token ids: [T, B]); outputs are
// [B, U] (last step) or [T, B, U] (return_sequences). predict() and fit() take the user's
// batch-first arrays ([N, T, F] / ids [N, T]; targets [N, U], [N, T, U], or class ids [N] / [N, T])
// and gather each batch into time-major buffers.
//
// Parameters live in one flat value arena and one flat gradient arena; layers hold views
// (the optimizer and checkpoints work on the arenas and on named Variables).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "recur/context.hpp"
#include "recur/layers/layer.hpp"
#include "recur/tensor.hpp"
#include "recur/train/optimizer.hpp"

namespace recur {

struct CompileOptions;
struct FitOptions;
struct EvaluateOptions;
struct History;
struct Trainer;

class Model {
 public:
  virtual ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const std::string& name() const { return name_; }
  virtual const char* class_name() const = 0;  // "Sequential" | "Functional"

  virtual std::size_t num_inputs() const = 0;
  virtual std::size_t num_outputs() const = 0;
  // One sample's shape ({T, F}; {T} for token ids; -1 = any length), valid once built.
  virtual const Shape& input_shape(std::size_t i = 0) const = 0;
  virtual const Shape& output_shape(std::size_t i = 0) const = 0;
  bool takes_token_ids(std::size_t i = 0) const { return input_shape(i).size() == 1; }
  bool built() const { return built_; }

  // Time-major forward of one batch; xs.size() == num_inputs(). Returns the outputs (owned by
  // the layers, valid until the next call). Inputs must stay alive until backward_batch().
  virtual const std::vector<const Tensor*>& forward_batch(const Context& ctx,
                                                          const std::vector<const Tensor*>& xs) = 0;
  // Masks of the outputs after forward_batch() ([T, B] for sequence outputs, else nullptr).
  virtual const std::vector<const Tensor*>& output_masks() const = 0;
  // dys[i] = dL/d(output i) (nullptr: no gradient reaches that output). ACCUMULATES parameter
  // gradients; zero_grad() clears them.
  virtual void backward_batch(const Context& ctx, const std::vector<const Tensor*>& dys) = 0;
  void zero_grad();

  // Every layer, in file order (parameters are saved layer by layer in this order).
  virtual std::vector<Layer*> layers() const = 0;
  Layer& layer(const std::string& name) const;
  // stateful=True recurrent layers forget their carried states.
  void reset_states();

  // The flat arenas, every parameter, and the same as named Variables ("<layer>/<weight>").
  std::span<float> weights() { return weights_.span(); }
  std::span<float> grads() { return grads_.span(); }
  const std::vector<Param*>& params() const { return params_; }
  std::vector<Variable> variables() const;
  int64_t param_count() const { return weights_.numel(); }

  // Batch-first inference: one array per input -> one array per output, in batches.
  // Checks rank, feature count and finiteness, naming the input, sample, step and feature.
  std::vector<Tensor> predict(const std::vector<Tensor>& xs, int64_t batch_size = 32);
  // Single-input, single-output models.
  Tensor predict(const Tensor& x, int64_t batch_size = 32);

  // Keras-like summary, and the Keras model JSON (DESIGN.md §3).
  virtual std::string summary() const = 0;
  virtual nlohmann::json to_json() const = 0;
  // save_model(path, *this) (io/model_file.hpp); load with load_model().
  void save(const std::string& path) const;

  // ---- training (src/train/fit.cpp; train/fit.hpp has the option structs) ----
  void compile(const CompileOptions& options);
  bool compiled() const { return trainer_ != nullptr; }
  History fit(const std::vector<Tensor>& x, const std::vector<Tensor>& y,
              const FitOptions& options);
  History fit(const Tensor& x, const Tensor& y, const FitOptions& options);
  // Loss and metrics over (x, y), batch by batch; keys "loss" and the metric names.
  std::vector<std::pair<std::string, double>> evaluate(const std::vector<Tensor>& x,
                                                       const std::vector<Tensor>& y,
                                                       const EvaluateOptions& options);
  std::vector<std::pair<std::string, double>> evaluate(const Tensor& x, const Tensor& y,
                                                       const EvaluateOptions& options);
  // The compiled training state (optimizer, losses, metrics); throws if not compiled.
  Trainer& trainer();

 protected:
  explicit Model(std::string name);
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  // Called by build(): collects every layer's parameters in file order, allocates the arenas,
  // binds the views and initializes from `seed` (Rng stream kInit); marks the model built.
  void allocate_params(uint64_t seed);
  // Checks one batch-first input array against input i's sample shape.
  void check_input(std::size_t i, const Tensor& x) const;

 private:
  // predict() for both overloads: the inputs by pointer (no copy of the caller's arrays).
  std::vector<Tensor> predict_inputs(std::span<const Tensor* const> xs, int64_t batch_size);

  std::string name_;
  bool built_ = false;
  std::vector<Tensor> staged_;             // predict: input i's batch, time-major [T, b, ...]
  std::vector<const Tensor*> staged_ptrs_; // predict: &staged_[i]
  Tensor weights_, grads_;
  std::vector<Param*> params_;
  std::unique_ptr<Trainer> trainer_;
};

// Gathers rows [n0, n0 + b) of a batch-first array [N, T, ...] (or [N, ...] when `has_time` is
// false) into time-major `out` [T, b, ...] (resized only when the shape changes); and back.
void gather_time_major(const Tensor& x, int64_t n0, int64_t b, bool has_time, Tensor& out);
void scatter_batch_first(const Tensor& y, int64_t n0, bool has_time, Tensor& out);

}  // namespace recur
