// Optimizers (recur/train/optimizer.hpp): PyTorch 1.13's update formulas in float32, Keras's
// defaults and JSON. Per element, with g the (clipped) gradient, p the value, t the 1-based step,
// and — for every optimizer but AdamW — g ← g + wd·p when weight_decay is set (PyTorch's
// coupled L2 penalty; Keras 3 would decouple it, as AdamW does):
//
//   sgd      b ← μ·b + g;  p ← p - lr·(nesterov ? g + μ·b : b)        (μ = 0: p ← p - lr·g)
//   adam     m ← β1·m + (1-β1)·g;  v ← β2·v + (1-β2)·g²;  (amsgrad: v_max ← max(v_max, v))
//            p ← p - lr/(1-β1^t) · m / (√v / √(1-β2^t) + ε)          (v_max in place of v)
//   adamw    p ← p·(1 - lr·wd), then adam
//   rmsprop  s ← ρ·s + (1-ρ)·g²;  centered: a ← ρ·a + (1-ρ)·g, d = √(s - a²) + ε, else d = √s + ε
//            μ > 0: b ← μ·b + g/d, p ← p - lr·b;  else p ← p - lr·g/d
//   adagrad  S ← S + g²;  p ← p - lr·g/(√S + ε)                      (S starts at the initial
//   value)
//
// Clipping before the update: clipvalue (clamp to [-c, c]), clipnorm (each gradient on its own,
// tf.clip_by_norm: g·c/max(‖g‖, c)), global_clipnorm (PyTorch clip_grad_norm_: g·c/(‖g‖ + 1e-6)
// over all gradients, when that factor is < 1). Norms are summed in double.
#include "recur/train/optimizer.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>
#include <string>
#include <utility>

#include "kernels/gemm.hpp"
#include "kernels/parallel.hpp"
#include "recur/error.hpp"

namespace recur {
namespace {

using nlohmann::json;

constexpr double kDefaultEpsilon = 1e-7;
constexpr double kDefaultAdamwWeightDecay = 0.004;
constexpr double kGlobalNormEpsilon = 1e-6;  // torch.nn.utils.clip_grad_norm_

struct Kind {
  const char* name;        // OptimizerOptions::name
  const char* class_name;  // Keras class
  double learning_rate;    // Keras default
};

constexpr Kind kKinds[] = {
    {"sgd", "SGD", 0.01},          {"adam", "Adam", 0.001},       {"adamw", "AdamW", 0.001},
    {"rmsprop", "RMSprop", 0.001}, {"adagrad", "Adagrad", 0.001},
};

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The kind named `name` ("adam", "Adam", "ADAM"...), or nullptr.
const Kind* find_kind(std::string_view name) {
  const std::string key = lowercase(name);
  for (const Kind& k : kKinds)
    if (key == k.name) return &k;
  return nullptr;
}

const Kind& kind_or_throw(std::string_view name) {
  const Kind* k = find_kind(name);
  if (!k)
    fail<ConfigError>("unknown optimizer '", name,
                      "' (expected sgd, adam, adamw, rmsprop or adagrad)");
  return *k;
}

bool is_adam(std::string_view kind) { return kind == "adam" || kind == "adamw"; }
bool uses_momentum(std::string_view kind) { return kind == "sgd" || kind == "rmsprop"; }
bool uses_epsilon(std::string_view kind) { return kind != "sgd"; }

double resolved_learning_rate(const OptimizerOptions& o) {
  return o.learning_rate ? *o.learning_rate : kind_or_throw(o.name).learning_rate;
}
double resolved_epsilon(const OptimizerOptions& o) {
  return o.epsilon ? *o.epsilon : kDefaultEpsilon;
}
double resolved_weight_decay(const OptimizerOptions& o) {
  if (o.weight_decay) return *o.weight_decay;
  return lowercase(o.name) == "adamw" ? kDefaultAdamwWeightDecay : 0.0;
}

// ---------------------------------------------------------------------------------------------
// Option checks, shared by Optimizer::make() and the JSON reader.

void check_non_negative(const std::string& where, const char* option, double v) {
  if (!(v >= 0.0) || !std::isfinite(v))
    fail<ConfigError>(where, ": ", option, " must be a finite number >= 0, got ", v);
}
void check_positive(const std::string& where, const char* option, double v) {
  if (!(v > 0.0) || !std::isfinite(v))
    fail<ConfigError>(where, ": ", option, " must be > 0, got ", v);
}
void check_unit_interval(const std::string& where, const char* option, double v) {
  if (!(v >= 0.0 && v < 1.0)) fail<ConfigError>(where, ": ", option, " must be in [0, 1), got ", v);
}
void check_unused(const std::string& where, const std::string& kind, const char* option, double v,
                  double default_value) {
  if (v != default_value)
    fail<ConfigError>(where, ": ", option, " is not an option of ", kind, " (got ", v, ")");
}
void check_unused(const std::string& where, const std::string& kind, const char* option, bool v,
                  bool default_value) {
  if (v != default_value)
    fail<ConfigError>(where, ": ", option, " is not an option of ", kind, " (got ",
                      v ? "true" : "false", ")");
}

// Returns the normalized (lowercase) kind name.
std::string validate_options(const OptimizerOptions& o) {
  const std::string kind = kind_or_throw(o.name).name;
  const std::string where = "optimizer '" + kind + "'";
  if (o.learning_rate) check_non_negative(where, "learning_rate", *o.learning_rate);
  if (o.epsilon) {
    if (!uses_epsilon(kind))
      fail<ConfigError>(where, ": epsilon is not an option of ", kind, " (got ", *o.epsilon, ")");
    check_non_negative(where, "epsilon", *o.epsilon);
  }
  if (o.weight_decay) check_non_negative(where, "weight_decay", *o.weight_decay);
  if (uses_momentum(kind)) {
    check_non_negative(where, "momentum", o.momentum);
  } else {
    check_unused(where, kind, "momentum", o.momentum, 0.0);
  }
  if (kind == "sgd") {
    if (o.nesterov && !(o.momentum > 0.0))
      fail<ConfigError>(where, ": nesterov requires momentum > 0, got momentum ", o.momentum);
  } else {
    check_unused(where, kind, "nesterov", o.nesterov, false);
  }
  if (is_adam(kind)) {
    check_unit_interval(where, "beta_1", o.beta_1);
    check_unit_interval(where, "beta_2", o.beta_2);
  } else {
    check_unused(where, kind, "beta_1", o.beta_1, 0.9);
    check_unused(where, kind, "beta_2", o.beta_2, 0.999);
    check_unused(where, kind, "amsgrad", o.amsgrad, false);
  }
  if (kind == "rmsprop") {
    check_unit_interval(where, "rho", o.rho);
  } else {
    check_unused(where, kind, "rho", o.rho, 0.9);
    check_unused(where, kind, "centered", o.centered, false);
  }
  if (kind == "adagrad") {
    check_non_negative(where, "initial_accumulator_value", o.initial_accumulator_value);
  } else {
    check_unused(where, kind, "initial_accumulator_value", o.initial_accumulator_value, 0.1);
  }
  if (o.clipnorm) check_positive(where, "clipnorm", *o.clipnorm);
  if (o.clipvalue) check_positive(where, "clipvalue", *o.clipvalue);
  if (o.global_clipnorm) check_positive(where, "global_clipnorm", *o.global_clipnorm);
  if (o.schedule) validate_schedule(*o.schedule);
  return kind;
}

// ---------------------------------------------------------------------------------------------
// The optimizers. Each update() is one pass over a variable's flat value/grad/slot arrays, in
// one block per thread for large variables (every element on its own: the split changes
// nothing in the result).

namespace {
template <typename Body>  // body(i0, i1) updates elements [i0, i1)
void for_blocks(int64_t n, const Body& body) {
  constexpr int64_t kSplitElements = int64_t{1} << 16;
  const int blocks = n < kSplitElements ? 1 : kernels::num_threads();
  kernels::parallel_for(blocks, [&](int k) { body(n * k / blocks, n * (k + 1) / blocks); });
}
}  // namespace

class Sgd final : public Optimizer {
 public:
  explicit Sgd(OptimizerOptions o)
      : Optimizer(std::move(o)),
        mu_(static_cast<float>(options().momentum)),
        wd_(static_cast<float>(resolved_weight_decay(options()))) {}

 protected:
  std::vector<std::pair<std::string, float>> slots() const override {
    if (mu_ == 0.0f) return {};
    return {{"momentum", 0.0f}};
  }

  void update(Variable& v, std::vector<Tensor>& slot, double lr, int64_t /*t*/) override {
    float* p = v.value.data;
    const float* grad = v.grad.data;
    const int64_t n = v.value.numel();
    const float lr_f = static_cast<float>(lr);
    if (mu_ == 0.0f) {
      for_blocks(n, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) p[i] -= lr_f * (grad[i] + wd_ * p[i]);
      });
      return;
    }
    // b starts at zero, so the first step gives b = g as in PyTorch.
    float* b = slot[0].data();
    const bool nesterov = options().nesterov;
    for_blocks(n, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        const float g = grad[i] + wd_ * p[i];
        b[i] = b[i] * mu_ + g;
        p[i] -= lr_f * (nesterov ? g + mu_ * b[i] : b[i]);
      }
    });
  }

 private:
  float mu_, wd_;
};

// One Adam step's constants, and the step on elements [i0, i1): a branch-free loop over
// unaliased arrays, which the compiler vectorizes (v_max only with amsgrad).
struct AdamStep {
  float decay, l2, b1, one_minus_b1, b2, one_minus_b2, bias2_sqrt, eps, step_size;
};

template <bool kAmsgrad>
void adam_elements(const AdamStep k, int64_t i0, int64_t i1, float* __restrict p,
                   const float* __restrict grad, float* __restrict m, float* __restrict v,
                   float* __restrict v_max) {
  for (int64_t i = i0; i < i1; ++i) {
    p[i] *= k.decay;  // 1 unless AdamW
    const float g = grad[i] + k.l2 * p[i];
    m[i] = m[i] * k.b1 + k.one_minus_b1 * g;
    v[i] = v[i] * k.b2 + k.one_minus_b2 * g * g;
    float v_hat = v[i];
    if constexpr (kAmsgrad) v_hat = v_max[i] = std::max(v_max[i], v[i]);
    const float denom = std::sqrt(v_hat) / k.bias2_sqrt + k.eps;
    p[i] -= k.step_size * (m[i] / denom);
  }
}

class Adam final : public Optimizer {
 public:
  explicit Adam(OptimizerOptions o)
      : Optimizer(std::move(o)),
        decoupled_(options().name == "adamw"),
        amsgrad_(options().amsgrad),
        b1_(options().beta_1),
        b2_(options().beta_2),
        eps_(static_cast<float>(resolved_epsilon(options()))),
        wd_(resolved_weight_decay(options())) {}

 protected:
  std::vector<std::pair<std::string, float>> slots() const override {
    if (amsgrad_) return {{"m", 0.0f}, {"v", 0.0f}, {"v_max", 0.0f}};
    return {{"m", 0.0f}, {"v", 0.0f}};
  }

  void update(Variable& v, std::vector<Tensor>& slot, double lr, int64_t t) override {
    float* p = v.value.data;
    const float* grad = v.grad.data;
    const int64_t n = v.value.numel();
    float* m = slot[0].data();
    float* s = slot[1].data();
    float* s_max = amsgrad_ ? slot[2].data() : s;
    const double bias1 = 1.0 - std::pow(b1_, static_cast<double>(t));
    const double bias2 = 1.0 - std::pow(b2_, static_cast<double>(t));
    const float step_size = static_cast<float>(lr / bias1);
    const float bias2_sqrt = static_cast<float>(std::sqrt(bias2));
    const float b1 = static_cast<float>(b1_), one_minus_b1 = static_cast<float>(1.0 - b1_);
    const float b2 = static_cast<float>(b2_), one_minus_b2 = static_cast<float>(1.0 - b2_);
    const float decay = static_cast<float>(decoupled_ ? 1.0 - lr * wd_ : 1.0);
    const float l2 = static_cast<float>(decoupled_ ? 0.0 : wd_);
    const AdamStep k{decay, l2, b1, one_minus_b1, b2, one_minus_b2, bias2_sqrt, eps_, step_size};
    for_blocks(n, [&](int64_t i0, int64_t i1) {
      if (amsgrad_)
        adam_elements<true>(k, i0, i1, p, grad, m, s, s_max);
      else
        adam_elements<false>(k, i0, i1, p, grad, m, s, nullptr);
    });
  }

 private:
  bool decoupled_, amsgrad_;
  double b1_, b2_;
  float eps_;
  double wd_;
};

class RmsProp final : public Optimizer {
 public:
  explicit RmsProp(OptimizerOptions o)
      : Optimizer(std::move(o)),
        centered_(options().centered),
        rho_(static_cast<float>(options().rho)),
        one_minus_rho_(static_cast<float>(1.0 - options().rho)),
        mu_(static_cast<float>(options().momentum)),
        eps_(static_cast<float>(resolved_epsilon(options()))),
        wd_(static_cast<float>(resolved_weight_decay(options()))) {}

 protected:
  std::vector<std::pair<std::string, float>> slots() const override {
    std::vector<std::pair<std::string, float>> out = {{"square_avg", 0.0f}};
    if (centered_) out.emplace_back("grad_avg", 0.0f);
    if (mu_ > 0.0f) out.emplace_back("momentum", 0.0f);
    return out;
  }

  void update(Variable& v, std::vector<Tensor>& slot, double lr, int64_t /*t*/) override {
    float* p = v.value.data;
    const float* grad = v.grad.data;
    const int64_t n = v.value.numel();
    float* sq = slot[0].data();
    float* ga = centered_ ? slot[1].data() : nullptr;
    float* b = mu_ > 0.0f ? slot[centered_ ? 2 : 1].data() : nullptr;
    const float lr_f = static_cast<float>(lr);
    for_blocks(n, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        const float g = grad[i] + wd_ * p[i];
        sq[i] = sq[i] * rho_ + one_minus_rho_ * g * g;
        float d;
        if (centered_) {
          ga[i] = ga[i] * rho_ + one_minus_rho_ * g;
          d = std::sqrt(sq[i] - ga[i] * ga[i]) + eps_;
        } else {
          d = std::sqrt(sq[i]) + eps_;
        }
        if (b) {
          b[i] = b[i] * mu_ + g / d;
          p[i] -= lr_f * b[i];
        } else {
          p[i] -= lr_f * (g / d);
        }
      }
    });
  }

 private:
  bool centered_;
  float rho_, one_minus_rho_, mu_, eps_, wd_;
};

class Adagrad final : public Optimizer {
 public:
  explicit Adagrad(OptimizerOptions o)
      : Optimizer(std::move(o)),
        eps_(static_cast<float>(resolved_epsilon(options()))),
        wd_(static_cast<float>(resolved_weight_decay(options()))) {}

 protected:
  std::vector<std::pair<std::string, float>> slots() const override {
    return {{"sum", static_cast<float>(options().initial_accumulator_value)}};
  }

  void update(Variable& v, std::vector<Tensor>& slot, double lr, int64_t /*t*/) override {
    float* p = v.value.data;
    const float* grad = v.grad.data;
    const int64_t n = v.value.numel();
    float* sum = slot[0].data();
    const float lr_f = static_cast<float>(lr);  // PyTorch's lr_decay is 0
    for_blocks(n, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        const float g = grad[i] + wd_ * p[i];
        sum[i] += g * g;
        p[i] -= lr_f * (g / (std::sqrt(sum[i]) + eps_));
      }
    });
  }

 private:
  float eps_, wd_;
};

// ---------------------------------------------------------------------------------------------
// JSON helpers: typed values with messages naming the key.

double json_number(const json& v, const std::string& where, const std::string& key) {
  if (!v.is_number()) fail<ConfigError>(where, ": '", key, "' must be a number, got ", v.dump());
  return v.get<double>();
}
bool json_bool(const json& v, const std::string& where, const std::string& key) {
  if (!v.is_boolean())
    fail<ConfigError>(where, ": '", key, "' must be true or false, got ", v.dump());
  return v.get<bool>();
}
std::optional<double> json_optional_number(const json& v, const std::string& where,
                                           const std::string& key) {
  if (v.is_null()) return std::nullopt;
  return json_number(v, where, key);
}
void json_expect_null(const json& v, const std::string& where, const std::string& key) {
  if (!v.is_null()) fail<ConfigError>(where, ": '", key, "' is not supported, got ", v.dump());
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Optimizer

Optimizer::Optimizer(OptimizerOptions options) : options_(std::move(options)) {
  options_.name = validate_options(options_);
  lr_ = resolved_learning_rate(options_);
}

Optimizer::~Optimizer() = default;

std::unique_ptr<Optimizer> Optimizer::make(const OptimizerOptions& options) {
  const std::string kind = validate_options(options);
  if (kind == "sgd") return std::make_unique<Sgd>(options);
  if (is_adam(kind)) return std::make_unique<Adam>(options);
  if (kind == "rmsprop") return std::make_unique<RmsProp>(options);
  return std::make_unique<Adagrad>(options);
}

void Optimizer::attach(std::vector<Variable> variables) {
  std::set<std::string> names;
  for (const Variable& v : variables) {
    if (v.grad.shape != v.value.shape)
      fail<ShapeError>("optimizer: variable '", v.name, "' has value ", shape_str(v.value.shape),
                       " but gradient ", shape_str(v.grad.shape));
    if (v.value.numel() > 0 && (!v.value.data || !v.grad.data))
      fail<InvalidArgument>("optimizer: variable '", v.name, "' has no data");
    if (!names.insert(v.name).second)
      fail<InvalidArgument>("optimizer: variable name '", v.name, "' is used twice");
  }
  const auto slot_inits = slots();
  vars_ = std::move(variables);
  slots_.clear();
  slots_.reserve(vars_.size());
  for (const Variable& v : vars_) {
    std::vector<Tensor> per_var;
    per_var.reserve(slot_inits.size());
    for (const auto& [slot_name, init] : slot_inits) per_var.emplace_back(v.value.shape, init);
    slots_.push_back(std::move(per_var));
  }
}

void Optimizer::clip() {
  if (options_.clipvalue) {
    const float c = static_cast<float>(*options_.clipvalue);
    for (Variable& v : vars_)
      for (float& g : v.grad.span()) g = std::min(std::max(g, -c), c);
  }
  if (options_.clipnorm) {
    const double c = *options_.clipnorm;
    for (Variable& v : vars_) {
      double sum = 0.0;
      for (float g : v.grad.span()) sum += static_cast<double>(g) * g;
      const double norm = std::sqrt(sum);
      if (!(norm > c)) continue;
      const float scale = static_cast<float>(c / norm);
      for (float& g : v.grad.span()) g *= scale;
    }
  }
  if (options_.global_clipnorm) {
    double sum = 0.0;
    for (const Variable& v : vars_)
      for (float g : v.grad.span()) sum += static_cast<double>(g) * g;
    const double coef = *options_.global_clipnorm / (std::sqrt(sum) + kGlobalNormEpsilon);
    if (coef < 1.0) {
      const float scale = static_cast<float>(coef);
      for (Variable& v : vars_)
        for (float& g : v.grad.span()) g *= scale;
    }
  }
}

void Optimizer::step() {
  clip();
  const double lr = current_learning_rate();
  const int64_t t = iterations_ + 1;
  for (std::size_t k = 0; k < vars_.size(); ++k) update(vars_[k], slots_[k], lr, t);
  iterations_ = t;
}

void Optimizer::set_learning_rate(double lr) {
  if (!(lr >= 0.0) || !std::isfinite(lr))
    fail<ConfigError>("optimizer '", options_.name,
                      "': learning_rate must be a finite number >= 0, got ", lr);
  lr_ = lr;
}

double Optimizer::current_learning_rate() const {
  return options_.schedule ? scheduled_learning_rate(*options_.schedule, lr_, iterations_) : lr_;
}

std::vector<std::pair<std::string, TensorView>> Optimizer::state() {
  const auto slot_inits = slots();
  std::vector<std::pair<std::string, TensorView>> out;
  out.reserve(vars_.size() * slot_inits.size());
  for (std::size_t k = 0; k < vars_.size(); ++k)
    for (std::size_t s = 0; s < slot_inits.size(); ++s)
      out.emplace_back(vars_[k].name + "/" + slot_inits[s].first, slots_[k][s].view());
  return out;
}

json Optimizer::scalar_state() const {
  return {{"iterations", iterations_}, {"learning_rate", lr_}};
}

void Optimizer::set_scalar_state(const json& j) {
  const char* where = "optimizer scalar state";
  if (!j.is_object() || !j.contains("iterations") || !j.contains("learning_rate"))
    fail<FormatError>(where, ": expected {\"iterations\": n, \"learning_rate\": lr}, got ",
                      j.dump());
  for (const auto& [key, value] : j.items())
    if (key != "iterations" && key != "learning_rate")
      fail<FormatError>(where, ": unknown key '", key, "'");
  const json& it = j["iterations"];
  if (!it.is_number_integer() || it.get<int64_t>() < 0)
    fail<FormatError>(where, ": 'iterations' must be an integer >= 0, got ", it.dump());
  const json& lr = j["learning_rate"];
  if (!lr.is_number() || !(lr.get<double>() >= 0.0) || !std::isfinite(lr.get<double>()))
    fail<FormatError>(where, ": 'learning_rate' must be a finite number >= 0, got ", lr.dump());
  iterations_ = it.get<int64_t>();
  lr_ = lr.get<double>();
}

// ---------------------------------------------------------------------------------------------
// JSON

OptimizerOptions optimizer_from_json(const json& j) {
  OptimizerOptions o;
  if (j.is_string()) {
    o.name = kind_or_throw(j.get<std::string>()).name;
    return o;
  }
  if (!j.is_object() || !j.contains("class_name"))
    fail<ConfigError>(
        "optimizer: expected a name or {\"class_name\": ..., \"config\": {...}}, got ", j.dump());
  for (const auto& [key, value] : j.items())
    if (key != "class_name" && key != "config" && key != "module" && key != "registered_name")
      fail<ConfigError>("optimizer: unknown key '", key, "'");
  if (!j["class_name"].is_string())
    fail<ConfigError>("optimizer: 'class_name' must be a string, got ", j["class_name"].dump());
  const std::string class_name = j["class_name"].get<std::string>();
  const std::string kind = kind_or_throw(class_name).name;
  o.name = kind;
  const std::string where = "optimizer '" + class_name + "'";
  const json config = j.value("config", json::object());
  if (!config.is_object())
    fail<ConfigError>(where, ": 'config' must be an object, got ", config.dump());

  for (const auto& [key, v] : config.items()) {
    if (key == "learning_rate") {
      if (v.is_object()) {
        o.schedule = schedule_from_json(v);
        const json& sc = v.contains("config") ? v["config"] : json::object();
        if (sc.is_object() && sc.contains("initial_learning_rate"))
          o.learning_rate =
              json_number(sc["initial_learning_rate"], where, "initial_learning_rate");
      } else {
        o.learning_rate = json_number(v, where, key);
      }
    } else if (key == "weight_decay") {
      o.weight_decay = json_optional_number(v, where, key);
    } else if (key == "clipnorm") {
      o.clipnorm = json_optional_number(v, where, key);
    } else if (key == "clipvalue") {
      o.clipvalue = json_optional_number(v, where, key);
    } else if (key == "global_clipnorm") {
      o.global_clipnorm = json_optional_number(v, where, key);
    } else if (key == "epsilon" && uses_epsilon(kind)) {
      o.epsilon = json_number(v, where, key);
    } else if (key == "momentum" && uses_momentum(kind)) {
      o.momentum = json_number(v, where, key);
    } else if (key == "nesterov" && kind == "sgd") {
      o.nesterov = json_bool(v, where, key);
    } else if (key == "beta_1" && is_adam(kind)) {
      o.beta_1 = json_number(v, where, key);
    } else if (key == "beta_2" && is_adam(kind)) {
      o.beta_2 = json_number(v, where, key);
    } else if (key == "amsgrad" && is_adam(kind)) {
      o.amsgrad = json_bool(v, where, key);
    } else if (key == "rho" && kind == "rmsprop") {
      o.rho = json_number(v, where, key);
    } else if (key == "centered" && kind == "rmsprop") {
      o.centered = json_bool(v, where, key);
    } else if (key == "initial_accumulator_value" && kind == "adagrad") {
      o.initial_accumulator_value = json_number(v, where, key);
    } else if (key == "name") {
      if (!v.is_null() && !v.is_string())
        fail<ConfigError>(where, ": 'name' must be a string, got ", v.dump());
    } else if (key == "jit_compile" || key == "is_legacy_optimizer") {
      json_bool(v, where, key);
    } else if (key == "decay") {
      if (json_number(v, where, key) != 0.0)
        fail<ConfigError>(where, ": 'decay' (legacy per-step decay) is not supported, got ",
                          v.dump(), "; use a learning-rate schedule");
    } else if (key == "use_ema") {
      if (json_bool(v, where, key)) fail<ConfigError>(where, ": 'use_ema' true is not supported");
    } else if (key == "ema_momentum") {
      json_number(v, where, key);  // unused while use_ema is false
    } else if (key == "ema_overwrite_frequency" || key == "loss_scale_factor" ||
               key == "gradient_accumulation_steps") {
      json_expect_null(v, where, key);
    } else {
      fail<ConfigError>(where, ": unknown key '", key, "'");
    }
  }
  validate_options(o);
  return o;
}

json optimizer_to_json(const OptimizerOptions& o) {
  const std::string kind = validate_options(o);
  const Kind& k = kind_or_throw(kind);
  const double lr = resolved_learning_rate(o);
  auto optional = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };

  json config = json::object();
  config["name"] = kind;
  if (o.schedule) {
    json schedule = schedule_to_json(*o.schedule);
    schedule["config"]["initial_learning_rate"] = lr;
    config["learning_rate"] = std::move(schedule);
  } else {
    config["learning_rate"] = lr;
  }
  config["weight_decay"] =
      kind == "adamw" ? json(resolved_weight_decay(o)) : optional(o.weight_decay);
  config["clipnorm"] = optional(o.clipnorm);
  config["clipvalue"] = optional(o.clipvalue);
  config["global_clipnorm"] = optional(o.global_clipnorm);
  if (uses_epsilon(kind)) config["epsilon"] = resolved_epsilon(o);
  if (uses_momentum(kind)) config["momentum"] = o.momentum;
  if (kind == "sgd") config["nesterov"] = o.nesterov;
  if (is_adam(kind)) {
    config["beta_1"] = o.beta_1;
    config["beta_2"] = o.beta_2;
    config["amsgrad"] = o.amsgrad;
  }
  if (kind == "rmsprop") {
    config["rho"] = o.rho;
    config["centered"] = o.centered;
  }
  if (kind == "adagrad") config["initial_accumulator_value"] = o.initial_accumulator_value;
  return {{"class_name", k.class_name}, {"config", std::move(config)}};
}

}  // namespace recur
