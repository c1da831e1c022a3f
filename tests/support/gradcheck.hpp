// Finite-difference gradient checks for a built recur::Sequential (mlpack CheckGradient,
// ggml test-backend-ops grad mode; house rule 7a).
//
// The scalar is L = Σ y ⊙ R: y = model.forward(ctx, x, mask), R a fixed standard-normal tensor
// shaped like y, L accumulated in double. Analytic gradients come from one
// model.zero_grad(); model.backward(ctx, R). Numerical gradients are finite differences on every
// parameter element (through model.params()), every input element (float inputs) and,
// optionally, the initial states h0 (and c0) of one Recurrent layer.
//
// Metric, per tensor:   err = ‖a − n‖₂ / max(‖a‖₂, ‖n‖₂, floor)  ≤  tolerance
// `floor` keeps the metric meaningful where a gradient is (nearly) zero or below what float32
// finite differences can resolve: it is the larger of
//   - 1e-7 × the largest gradient norm of the check (an exactly invariant L still yields
//     numerical derivatives of ~1e-14), and
//   - 3 × ν / tolerance, ν = 1.1 σ_L / eps × sqrt(n) the expected norm of the rounding noise in
//     the tensor's numerical gradient (σ_L as measured below). A tensor whose gradient is far
//     above its noise is unaffected; one that is not can only be checked to ~ν/‖a‖, and the
//     report marks it "noise-limited".
// The failure message names the worst tensor, its error and its worst element (analytic and
// numerical value), then one line per tensor.
//
// Numerical derivatives (the model runs in float32; L(v) means L with one element set to v):
//  - σ_L, the rounding noise of L (~1e-8 … 1e-7 on the registry's models), is the largest
//    residual RMS of a least-squares quadratic through L at 41 points within ±2e-4, measured
//    at the first, middle and last element of every tensor.
//  - Smooth neighbourhood: central 6th-order stencils at h = eps and eps/2
//      E(h) = [45 (L₁ − L₋₁) − 9 (L₂ − L₋₂) + (L₃ − L₋₃)] / (60 h),  L_k = L(v + k h),
//    and 4th-order one-sided stencils on each side at eps/4 all agree (within 1e-4 |E| plus 4σ
//    of their noise): E(eps) is the answer. A large eps (noise ∝ σ_L / h) with a high order
//    (truncation ∝ h⁶) beats central differences at small h by an order of magnitude here.
//  - Otherwise a kink (relu, hard_sigmoid) is within reach. Central stencils cannot see a kink
//    very close to v (they return the mean of the two slopes at every scale), one-sided ones can:
//    the scale shrinks until either both sides agree (kink out of reach) or exactly one side is
//    self-consistent across two scales (kink within reach of the other); that side's
//    Richardson-combined estimate is the answer. Elements never resolved are reported as
//    "unresolved kinks" (v on a kink, or kinks closer together than ~eps/256); a cluster of
//    kinks can still fool this, which is why relu cases are the ones that fail under other
//    random seeds (see the registry).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "recur/layers/recurrent.hpp"
#include "recur/model/sequential.hpp"
#include "recur/tensor.hpp"

namespace recur::testing {

struct GradcheckOptions {
  // Largest finite-difference step. Inputs are ~N(0, 1) and weights ~U(−0.5, 0.5): with the
  // 6th-order stencil, eps = 0.1 keeps the truncation error below 1e-5 relative on the registry's
  // smooth cases while the rounding noise (σ_L ≈ 2e-8 … 7e-8 → ~3e-7 per derivative) stays
  // two to three orders of magnitude below the gradients; smaller eps is noise-limited (eps =
  // 0.01 gives errors up to 3e-3 on the smallest tensors), and where the neighbourhood is not
  // smooth the checker falls back to smaller one-sided steps by itself.
  double eps = 0.1;
  // Allowed norm-wise relative error per tensor.
  double tolerance = 1e-3;
  // Check dL/dx (off for token ids: they have no gradient).
  bool check_input = true;
  // Optional [T, B] mask passed to model.forward().
  const Tensor* mask = nullptr;
  // Optional, shaped like x: elements where it is 0 are not perturbed (e.g. padding steps that a
  // Masking layer recognizes by their exact value: any perturbation would unmask them).
  const Tensor* input_select = nullptr;
  // When set, h0 (and c0) [B, H] are drawn here, fed through set_initial_states() and their
  // gradients (initial_state_grads()) are checked too.
  Recurrent* state_layer = nullptr;
  // When set, every forward runs in training mode with Context::rng re-created from this seed
  // (stream Rng::kDropout), so each forward draws the same dropout masks.
  std::optional<uint64_t> dropout_seed;
  // Seed for R and the initial states.
  uint64_t seed = 1234;
};

// One gradient tensor, flattened, in double.
struct GradTensor {
  std::string name;  // "<layer>/<param>", "input", "initial_state/h", "initial_state/c"
  Shape shape;
  std::vector<double> values;
  std::vector<uint8_t> skip;  // 1: not compared (input_select); empty = compare all
  int64_t kinks = 0;          // numerical: elements never resolved (see above)
  double noise = 0.0;         // numerical: expected norm ν of the rounding noise in `values`
};
using GradSet = std::vector<GradTensor>;

struct TensorError {
  std::string name;
  Shape shape;
  double rel_error = 0.0;
  double norm_analytic = 0.0, norm_numeric = 0.0, norm_diff = 0.0;
  double floor = 0.0;        // the metric's floor for this tensor
  int64_t worst_index = -1;  // flat index of the largest |a − n|
  double analytic_at_worst = 0.0, numeric_at_worst = 0.0;
  int64_t compared = 0, kinks = 0;
  bool noise_limited() const { return floor > std::max(norm_analytic, norm_numeric); }
};

struct GradcheckReport {
  double tolerance = 0.0;
  std::vector<TensorError> tensors;  // in the order of the gradient sets
  bool passed() const;
  // The tensor with the largest relative error (nullptr when there are none).
  const TensorError* worst() const;
  double max_rel_error() const;
  // Worst tensor first, with its worst element; then one line per tensor.
  std::string str() const;
};

// Runs the three phases (analytic, numerical, compare) for one model and input. Holds the
// initial states for `state_layer` and clears them again on destruction.
class GradChecker {
 public:
  GradChecker(Sequential& model, const Tensor& x, GradcheckOptions options);
  ~GradChecker();
  GradChecker(const GradChecker&) = delete;
  GradChecker& operator=(const GradChecker&) = delete;

  // One forward: L = Σ y ⊙ R in double.
  double loss();
  // zero_grad, forward, backward(R): parameter grads, then "input", then initial states.
  GradSet analytic();
  // Finite differences on the same tensors, in the same order.
  GradSet numeric();
  GradcheckReport compare(const GradSet& analytic, const GradSet& numeric) const;
  GradcheckReport run() { return compare(analytic(), numeric()); }

  const Tensor& r() const { return r_; }
  const GradcheckOptions& options() const { return opt_; }

 private:
  Context context();
  // L with *slot temporarily set to v (restored by the callers).
  double loss_at(float* slot, float v);
  // side 0: central 6th-order stencil at h; side ±1: one-sided 4th-order stencil at h.
  double stencil(float* slot, double h, int side);
  bool agree(double a, double b, double h, double noise_gain) const;
  double derivative(float* slot, int64_t* kinks);
  double rounding_noise(float* slot);

  Sequential& model_;
  Tensor x_;  // a private copy, perturbed in place
  GradcheckOptions opt_;
  Tensor r_;
  Tensor h0_, c0_;
  std::optional<Rng> rng_;
  std::vector<std::string> param_names_;
  double l0_ = 0.0;     // L at the unperturbed point
  double noise_ = 0.0;  // σ_L used by the stencils' agreement tests (the largest measured)
};

// gtest helper: EXPECT_TRUE(gradcheck(model, x, options)).
::testing::AssertionResult gradcheck(Sequential& model, const Tensor& x,
                                     const GradcheckOptions& options);

}  // namespace recur::testing
