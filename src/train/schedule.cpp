// Learning-rate schedules (recur/train/schedule.hpp): closed forms of the step count, and their
// Keras-style JSON {"class_name": "ExponentialDecay" | "CosineDecay" | "StepDecay", "config":
// {...}}.
//
//   exponential  lr(s) = lr0 · r^(s / N)              (staircase: r^floor(s / N))
//   cosine       lr(s) = lr0 · ((1 - α) · ½(1 + cos(π · min(s, N) / N)) + α)
//   step         lr(s) = lr0 · γ^floor(s / k)          (PyTorch StepLR, stepped once per update)
//
// lr0 is the optimizer's base rate, so a schedule's JSON has no rate of its own; Keras's
// "initial_learning_rate" key is accepted here and read by optimizer_from_json().
#include "recur/train/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "recur/error.hpp"

namespace recur {
namespace {

using nlohmann::json;

double positive(double v, const char* kind, const char* option) {
  if (!(v > 0.0) || !std::isfinite(v))
    fail<ConfigError>("learning-rate schedule '", kind, "': ", option, " must be > 0, got ", v);
  return v;
}

double number_at(const json& config, const std::string& key, const std::string& where) {
  const json& v = config.at(key);
  if (!v.is_number()) fail<ConfigError>(where, ": '", key, "' must be a number, got ", v.dump());
  return v.get<double>();
}

int64_t integer_at(const json& config, const std::string& key, const std::string& where) {
  const json& v = config.at(key);
  if (v.is_number_integer()) return v.get<int64_t>();
  // Python writes 1000.0 for a float-typed step count; accept integral values.
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::abs(d) < 9.0e15)
      return static_cast<int64_t>(d);
  }
  fail<ConfigError>(where, ": '", key, "' must be an integer, got ", v.dump());
}

bool bool_at(const json& config, const std::string& key, const std::string& where) {
  const json& v = config.at(key);
  if (!v.is_boolean())
    fail<ConfigError>(where, ": '", key, "' must be true or false, got ", v.dump());
  return v.get<bool>();
}

}  // namespace

void validate_schedule(const ScheduleOptions& s) {
  if (s.kind == "exponential") {
    if (s.decay_steps <= 0)
      fail<ConfigError>("learning-rate schedule 'exponential': decay_steps must be > 0, got ",
                        s.decay_steps);
    positive(s.decay_rate, "exponential", "decay_rate");
  } else if (s.kind == "cosine") {
    if (s.decay_steps <= 0)
      fail<ConfigError>("learning-rate schedule 'cosine': decay_steps must be > 0, got ",
                        s.decay_steps);
    if (!(s.alpha >= 0.0 && s.alpha <= 1.0))
      fail<ConfigError>("learning-rate schedule 'cosine': alpha must be in [0, 1], got ", s.alpha);
  } else if (s.kind == "step") {
    if (s.step_size <= 0)
      fail<ConfigError>("learning-rate schedule 'step': step_size must be > 0, got ", s.step_size);
    positive(s.gamma, "step", "gamma");
  } else {
    fail<ConfigError>("unknown learning-rate schedule '", s.kind,
                      "' (expected exponential, cosine or step)");
  }
}

double scheduled_learning_rate(const ScheduleOptions& s, double lr0, int64_t step) {
  if (step < 0) fail<InvalidArgument>("learning-rate schedule: step must be >= 0, got ", step);
  if (s.kind == "exponential") {
    if (s.decay_steps <= 0) validate_schedule(s);
    double p = static_cast<double>(step) / static_cast<double>(s.decay_steps);
    if (s.staircase) p = std::floor(p);
    return lr0 * std::pow(s.decay_rate, p);
  }
  if (s.kind == "cosine") {
    if (s.decay_steps <= 0) validate_schedule(s);
    const double n = static_cast<double>(s.decay_steps);
    const double t = static_cast<double>(std::min(step, s.decay_steps));
    const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * t / n));
    return lr0 * ((1.0 - s.alpha) * cosine + s.alpha);
  }
  if (s.kind == "step") {
    if (s.step_size <= 0) validate_schedule(s);
    return lr0 * std::pow(s.gamma, static_cast<double>(step / s.step_size));
  }
  validate_schedule(s);  // throws: unknown kind
  return lr0;
}

ScheduleOptions schedule_from_json(const json& j) {
  if (!j.is_object() || !j.contains("class_name"))
    fail<ConfigError>(
        "learning-rate schedule: expected {\"class_name\": ..., \"config\": {...}}, got ",
        j.dump());
  for (const auto& [key, value] : j.items()) {
    if (key != "class_name" && key != "config" && key != "module" && key != "registered_name")
      fail<ConfigError>("learning-rate schedule: unknown key '", key, "'");
  }
  if (!j["class_name"].is_string())
    fail<ConfigError>("learning-rate schedule: 'class_name' must be a string, got ",
                      j["class_name"].dump());
  const std::string class_name = j["class_name"].get<std::string>();
  ScheduleOptions s;
  if (class_name == "ExponentialDecay") {
    s.kind = "exponential";
  } else if (class_name == "CosineDecay") {
    s.kind = "cosine";
  } else if (class_name == "StepDecay") {
    s.kind = "step";
  } else {
    fail<ConfigError>("unknown learning-rate schedule '", class_name,
                      "' (expected ExponentialDecay, CosineDecay or StepDecay)");
  }
  const json config = j.value("config", json::object());
  if (!config.is_object())
    fail<ConfigError>("learning-rate schedule '", class_name, "': 'config' must be an object, got ",
                      config.dump());
  const std::string where = "learning-rate schedule '" + class_name + "'";
  for (const auto& [key, value] : config.items()) {
    if (key == "name") {
      if (!value.is_null() && !value.is_string())
        fail<ConfigError>(where, ": 'name' must be a string, got ", value.dump());
    } else if (key == "initial_learning_rate") {
      number_at(config, key, where);  // the optimizer's base rate; read by optimizer_from_json()
    } else if (key == "decay_steps" && s.kind != "step") {
      s.decay_steps = integer_at(config, key, where);
    } else if (key == "decay_rate" && s.kind == "exponential") {
      s.decay_rate = number_at(config, key, where);
    } else if (key == "staircase" && s.kind == "exponential") {
      s.staircase = bool_at(config, key, where);
    } else if (key == "alpha" && s.kind == "cosine") {
      s.alpha = number_at(config, key, where);
    } else if (key == "warmup_steps" && s.kind == "cosine") {
      if (integer_at(config, key, where) != 0)
        fail<ConfigError>(where, ": warmup_steps is not supported, got ", value.dump());
    } else if (key == "warmup_target" && s.kind == "cosine") {
      if (!value.is_null())
        fail<ConfigError>(where, ": warmup_target is not supported, got ", value.dump());
    } else if (key == "step_size" && s.kind == "step") {
      s.step_size = integer_at(config, key, where);
    } else if (key == "gamma" && s.kind == "step") {
      s.gamma = number_at(config, key, where);
    } else {
      fail<ConfigError>(where, ": unknown key '", key, "'");
    }
  }
  validate_schedule(s);
  return s;
}

json schedule_to_json(const ScheduleOptions& s) {
  validate_schedule(s);
  if (s.kind == "exponential")
    return {{"class_name", "ExponentialDecay"},
            {"config",
             {{"decay_steps", s.decay_steps},
              {"decay_rate", s.decay_rate},
              {"staircase", s.staircase}}}};
  if (s.kind == "cosine")
    return {{"class_name", "CosineDecay"},
            {"config", {{"decay_steps", s.decay_steps}, {"alpha", s.alpha}}}};
  return {{"class_name", "StepDecay"},
          {"config", {{"step_size", s.step_size}, {"gamma", s.gamma}}}};
}

}  // namespace recur
