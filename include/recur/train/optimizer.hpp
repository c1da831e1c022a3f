// Optimizers: PyTorch's update formulas, Keras's default hyperparameters.
//
//   sgd      p -= lr·b, b = μ·b + g (b = g on the first step; nesterov: p -= lr·(g + μ·b));
//            defaults lr 0.01, momentum 0
//   adam     PyTorch Adam (bias-corrected m̂/(√v̂ + ε); amsgrad keeps max v̂);
//            defaults lr 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7
//   adamw    PyTorch AdamW: p *= 1 - lr·weight_decay, then Adam; weight_decay 0.004
//   rmsprop  PyTorch RMSprop: v = ρ·v + (1-ρ)·g², p -= lr·g/(√v + ε) (momentum, centered);
//            defaults lr 0.001, rho 0.9, epsilon 1e-7
//   adagrad  PyTorch Adagrad: s += g², p -= lr·g/(√s + ε); defaults lr 0.001,
//            initial_accumulator_value 0.1, epsilon 1e-7
// Gradient clipping before the update, in this order: clipvalue (each element to [-c, c]),
// clipnorm (each variable's gradient scaled to norm ≤ c on its own, as Keras),
// global_clipnorm (all gradients together, PyTorch's clip_grad_norm_: scale by
// c / (‖g‖ + 1e-6) when that is < 1). Updates run in float32; the step counter t starts at 1.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "recur/tensor.hpp"
#include "recur/train/schedule.hpp"

namespace recur {

struct OptimizerOptions {
  std::string name = "adam";                 // sgd | adam | adamw | rmsprop | adagrad
  std::optional<double> learning_rate;       // unset: the optimizer's Keras default
  double momentum = 0.0;                     // sgd, rmsprop
  bool nesterov = false;                     // sgd
  double beta_1 = 0.9, beta_2 = 0.999;       // adam, adamw
  std::optional<double> epsilon;             // unset: 1e-7
  bool amsgrad = false;                      // adam, adamw
  std::optional<double> weight_decay;        // adamw (unset: 0.004); others: unset = none
  double rho = 0.9;                          // rmsprop
  bool centered = false;                     // rmsprop
  double initial_accumulator_value = 0.1;    // adagrad
  std::optional<double> clipnorm, clipvalue, global_clipnorm;
  std::optional<ScheduleOptions> schedule;   // per-iteration learning-rate schedule
};

// Options from a Keras-style optimizer config {"class_name": "Adam", "config": {...}} or a
// plain name ("adam"); unknown names or keys -> ConfigError. to_json() gives the same shape.
OptimizerOptions optimizer_from_json(const nlohmann::json& j);
nlohmann::json optimizer_to_json(const OptimizerOptions& o);

// One trainable variable: its file name ("<layer>/<weight>") and views of value and gradient.
struct Variable {
  std::string name;
  TensorView value;
  TensorView grad;
};

class Optimizer {
 public:
  virtual ~Optimizer();
  // Checks the options (ConfigError for negative/invalid values, naming the option).
  static std::unique_ptr<Optimizer> make(const OptimizerOptions& options);

  const OptimizerOptions& options() const { return options_; }
  // Binds the variables and allocates (zeroed / initial-valued) state for each.
  void attach(std::vector<Variable> variables);
  // Clips the gradients in place, then updates every variable once; iterations() += 1.
  // The learning rate used is schedule(iterations) when a schedule is set, else the base rate.
  void step();

  int64_t iterations() const { return iterations_; }
  // The base learning rate (what ReduceLROnPlateau and LearningRateScheduler change).
  double learning_rate() const { return lr_; }
  void set_learning_rate(double lr);
  // The rate the next step() will use (schedule applied).
  double current_learning_rate() const;

  // Every state tensor, named "<variable name>/<slot>" (slots: momentum, m, v, v_max, square_avg,
  // grad_avg, sum), for checkpoints; plus the scalars (iterations, learning rate) as JSON.
  std::vector<std::pair<std::string, TensorView>> state();
  nlohmann::json scalar_state() const;
  void set_scalar_state(const nlohmann::json& j);

 protected:
  explicit Optimizer(OptimizerOptions options);
  // The slots each variable needs, in order, with their initial value.
  virtual std::vector<std::pair<std::string, float>> slots() const = 0;
  // Updates variable v (value, grad already clipped) with its slot tensors; t = step (1-based).
  virtual void update(Variable& v, std::vector<Tensor>& slot, double lr, int64_t t) = 0;

 private:
  void clip();
  OptimizerOptions options_;
  double lr_ = 0.0;
  int64_t iterations_ = 0;
  std::vector<Variable> vars_;
  std::vector<std::vector<Tensor>> slots_;  // [variable][slot], each the variable's shape
};

}  // namespace recur
