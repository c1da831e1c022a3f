// Weight initializers with Keras names and defaults.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "recur/rng.hpp"
#include "recur/tensor.hpp"

namespace recur {

struct Initializer {
  enum class Kind { zeros, ones, glorot_uniform, glorot_normal, orthogonal, random_uniform,
                    random_normal };
  Kind kind = Kind::zeros;
  float a = 0.0f;  // random_uniform: minval; random_normal: mean; orthogonal: gain
  float b = 0.0f;  // random_uniform: maxval; random_normal: stddev

  static Initializer zeros() { return {Kind::zeros}; }
  static Initializer ones() { return {Kind::ones}; }
  static Initializer glorot_uniform() { return {Kind::glorot_uniform}; }
  static Initializer orthogonal(float gain = 1.0f) { return {Kind::orthogonal, gain}; }
  static Initializer random_uniform(float lo = -0.05f, float hi = 0.05f) {
    return {Kind::random_uniform, lo, hi};
  }

  // Fills `out` (shape given, Keras fan conventions: fan_in = shape[0], fan_out = shape[-1]
  // for rank 2; orthogonal works on [prod(shape[:-1]), shape[-1]]).
  void fill(TensorView out, Rng& rng) const;

  // Keras forms: "glorot_uniform" or {"class_name": "GlorotUniform", "config": {...}}.
  static Initializer from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
};

}  // namespace recur
