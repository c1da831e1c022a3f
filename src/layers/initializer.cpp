// Keras initializers: glorot_uniform/normal, orthogonal, zeros, ones, random_uniform/normal.
#include "recur/initializer.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "recur/error.hpp"

namespace recur {

namespace {
// Orthogonal [rows, cols] (Keras): QR of a normal [max, min] matrix, Q's columns sign-fixed by
// R's diagonal, transposed when rows < cols. Modified Gram-Schmidt in double precision.
void fill_orthogonal(float* out, int64_t rows, int64_t cols, float gain, Rng& rng) {
  const int64_t n = std::max(rows, cols), k = std::min(rows, cols);
  std::vector<double> a(static_cast<std::size_t>(n * k));  // column-major [n, k]
  for (auto& v : a) v = rng.normal();
  for (int64_t j = 0; j < k; ++j) {
    double* cj = a.data() + j * n;
    for (int64_t i = 0; i < j; ++i) {
      const double* ci = a.data() + i * n;
      double dot = 0.0;
      for (int64_t r = 0; r < n; ++r) dot += ci[r] * cj[r];
      for (int64_t r = 0; r < n; ++r) cj[r] -= dot * ci[r];
    }
    double norm = 0.0;
    for (int64_t r = 0; r < n; ++r) norm += cj[r] * cj[r];
    norm = std::sqrt(norm);
    if (norm == 0.0) fail<InternalError>("orthogonal initializer: degenerate draw");
    for (int64_t r = 0; r < n; ++r) cj[r] /= norm;  // R's diagonal is positive: no sign flip
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      // rows >= cols: out = Q [rows, cols]; rows < cols: out = Qᵀ with Q [cols, rows].
      const double q = rows >= cols ? a[static_cast<std::size_t>(c * n + r)]
                                    : a[static_cast<std::size_t>(r * n + c)];
      out[r * cols + c] = static_cast<float>(gain * q);
    }
}
}  // namespace

void Initializer::fill(TensorView out, Rng& rng) const {
  const int64_t n = out.numel();
  const Shape& s = out.shape;
  const double fan_in = s.size() >= 2 ? static_cast<double>(s[0]) : static_cast<double>(n);
  const double fan_out = s.size() >= 2 ? static_cast<double>(s.back()) : static_cast<double>(n);
  switch (kind) {
    case Kind::zeros:
      std::fill_n(out.data, n, 0.0f);
      return;
    case Kind::ones:
      std::fill_n(out.data, n, 1.0f);
      return;
    case Kind::glorot_uniform: {
      const float limit = static_cast<float>(std::sqrt(6.0 / (fan_in + fan_out)));
      for (int64_t i = 0; i < n; ++i) out.data[i] = rng.uniform(-limit, limit);
      return;
    }
    case Kind::glorot_normal: {
      // Keras: truncated normal (±2 stddev) with stddev sqrt(2 / (fan_in + fan_out)) / .8796.
      const double sd = std::sqrt(2.0 / (fan_in + fan_out)) / 0.87962566103423978;
      for (int64_t i = 0; i < n; ++i) {
        double v;
        do v = rng.normal();
        while (std::abs(v) > 2.0);
        out.data[i] = static_cast<float>(v * sd);
      }
      return;
    }
    case Kind::orthogonal: {
      if (s.size() < 2) fail<ConfigError>("orthogonal initializer needs a rank >= 2 shape, got ",
                                          shape_str(s));
      fill_orthogonal(out.data, n / s.back(), s.back(), a, rng);
      return;
    }
    case Kind::random_uniform:
      for (int64_t i = 0; i < n; ++i) out.data[i] = rng.uniform(a, b);
      return;
    case Kind::random_normal:
      for (int64_t i = 0; i < n; ++i) out.data[i] = static_cast<float>(a + b * rng.normal());
      return;
  }
}

Initializer Initializer::from_json(const nlohmann::json& j, const std::string& where) {
  std::string name;
  nlohmann::json cfg = nlohmann::json::object();
  if (j.is_string()) {
    name = j.get<std::string>();
  } else if (j.is_object() && j.contains("class_name") && j["class_name"].is_string()) {
    name = j["class_name"].get<std::string>();
    if (j.contains("config") && j["config"].is_object()) cfg = j["config"];
  } else {
    fail<ConfigError>(where, ": initializer must be a name or {\"class_name\", \"config\"}, got ",
                      j.dump());
  }
  auto num = [&](const char* key, float dflt) {
    if (!cfg.contains(key) || cfg[key].is_null()) return dflt;
    if (!cfg[key].is_number()) fail<ConfigError>(where, ": initializer ", key, " must be a number");
    return cfg[key].get<float>();
  };
  if (name == "zeros" || name == "Zeros") return zeros();
  if (name == "ones" || name == "Ones") return ones();
  if (name == "glorot_uniform" || name == "GlorotUniform") return glorot_uniform();
  if (name == "glorot_normal" || name == "GlorotNormal") return {Kind::glorot_normal};
  if (name == "orthogonal" || name == "Orthogonal") return orthogonal(num("gain", 1.0f));
  if (name == "uniform" || name == "random_uniform" || name == "RandomUniform")
    return random_uniform(num("minval", -0.05f), num("maxval", 0.05f));
  if (name == "normal" || name == "random_normal" || name == "RandomNormal")
    return {Kind::random_normal, num("mean", 0.0f), num("stddev", 0.05f)};
  fail<ConfigError>(where, ": unsupported initializer '", name,
                    "' (supported: zeros, ones, glorot_uniform, glorot_normal, orthogonal, "
                    "random_uniform, random_normal)");
}

nlohmann::json Initializer::to_json() const {
  using nlohmann::json;
  switch (kind) {
    case Kind::zeros: return {{"class_name", "Zeros"}, {"config", json::object()}};
    case Kind::ones: return {{"class_name", "Ones"}, {"config", json::object()}};
    case Kind::glorot_uniform:
      return {{"class_name", "GlorotUniform"}, {"config", {{"seed", nullptr}}}};
    case Kind::glorot_normal:
      return {{"class_name", "GlorotNormal"}, {"config", {{"seed", nullptr}}}};
    case Kind::orthogonal:
      return {{"class_name", "Orthogonal"}, {"config", {{"gain", a}, {"seed", nullptr}}}};
    case Kind::random_uniform:
      return {{"class_name", "RandomUniform"},
              {"config", {{"minval", a}, {"maxval", b}, {"seed", nullptr}}}};
    case Kind::random_normal:
      return {{"class_name", "RandomNormal"},
              {"config", {{"mean", a}, {"stddev", b}, {"seed", nullptr}}}};
  }
  return nullptr;
}

}  // namespace recur
