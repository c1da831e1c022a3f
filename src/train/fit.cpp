// Model::compile / fit / evaluate: the training loop.
//
// One batch:  gather rows (time-major)  ->  forward_batch  ->  loss per output  ->  zero_grad
//             ->  backward_batch  ->  optimizer step  ->  running loss and metrics  ->  callbacks.
// Everything random comes from the trainer's two streams (shuffle, dropout), seeded by
// FitOptions::seed, so a run is bit-identical for a given seed and thread count, and a
// checkpoint that records both streams resumes bit-identically.
//
// Data-parallel (recur/dist.hpp, docs/SCALING.md), with N ranks and batch_size b: every rank
// walks the same shuffled order in GLOBAL batches of N·b rows; rank r takes the rows
// [B·r/N, B·(r+1)/N) of a global batch of B rows (the last one may be partial; a rank may get
// none). Per output o each rank computes its loss divisor D_o,r (rows·steps, or its mask sum),
// the ranks gather them, and rank r scales its dL/dy by D_o,r / Σ D_o — so the summed gradient
// is the gradient of the loss over the global batch. Then: backward, one allreduce of all
// gradients, the same optimizer step on every replica. Logged loss and metrics are the global
// values; validation is split the same way. Callbacks and progress run on rank 0, which
// broadcasts stop / learning rate after them and its weights at the end.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>
#include <numeric>

#include "dist/dist.hpp"
#include "dist/fit_server.hpp"
#include "recur/dist.hpp"
#include "recur/error.hpp"
#include "recur/model/model.hpp"
#include "recur/train/callbacks.hpp"
#include "recur/train/fit.hpp"
#include "train/checkpoint.hpp"
#include "train/progress.hpp"
#include "train/trainer.hpp"

namespace recur {

CompileOptions compile_options(std::string_view optimizer, std::string_view loss,
                               std::vector<std::string> metrics) {
  CompileOptions o;
  o.optimizer = optimizer_from_json(nlohmann::json(std::string(optimizer)));
  o.losses = {parse_loss(loss)};
  o.metrics = std::move(metrics);
  return o;
}

Trainer& Model::trainer() {
  if (!trainer_)
    fail<ConfigError>(class_name(), " '", name_, "': compile() the model before training it");
  return *trainer_;
}

void Model::compile(const CompileOptions& options) {
  if (!built_) fail<ConfigError>(class_name(), " '", name_, "': compile() before build()");
  const std::size_t outs = num_outputs();
  if (options.losses.empty())
    fail<ConfigError>("compile: no loss given");
  if (options.losses.size() != 1 && options.losses.size() != outs)
    fail<ConfigError>("compile: ", options.losses.size(), " losses for a model with ", outs,
                      " outputs (give one, or one per output)");
  if (!options.loss_weights.empty() && options.loss_weights.size() != outs)
    fail<ConfigError>("compile: ", options.loss_weights.size(),
                      " loss_weights for a model with ", outs, " outputs");
  auto t = std::make_unique<Trainer>();
  t->options = options;
  t->optimizer = Optimizer::make(options.optimizer);
  t->optimizer->attach(variables());
  for (std::size_t o = 0; o < outs; ++o) {
    const LossOptions& lo = options.losses[options.losses.size() == 1 ? 0 : o];
    t->losses.emplace_back(lo);
    t->loss_weights.push_back(options.loss_weights.empty() ? 1.0 : options.loss_weights[o]);
    std::vector<std::unique_ptr<Metric>> ms;
    for (const std::string& m : options.metrics) ms.push_back(make_metric(m, lo));
    t->metrics.push_back(std::move(ms));
  }
  trainer_ = std::move(t);
}

namespace {

// ---- data checks -------------------------------------------------------------------------

// Target i of `model`: does it carry a time axis, and is it sparse (class ids)?
struct TargetKind {
  bool has_time;
  bool sparse;
  int64_t units;
};

TargetKind target_kind(const Model& model, const Trainer& t, std::size_t o) {
  const Shape& os = model.output_shape(o);
  return {os.size() == 2,
          t.losses[o].options().kind == LossKind::sparse_categorical_crossentropy, os.back()};
}

std::string out_name(const Model& model, std::size_t o, const char* what) {
  return model.num_outputs() == 1 ? std::string(what)
                                  : std::string(what) + "[" + std::to_string(o) + "]";
}

// Checks y[o] against output o's shape and loss; T is the inputs' step count.
void check_target(const Model& model, const Trainer& t, std::size_t o, const Tensor& y,
                  int64_t n, int64_t steps, const char* what) {
  const TargetKind k = target_kind(model, t, o);
  const std::string name = out_name(model, o, what);
  const std::string loss = loss_name(t.losses[o].options().kind);
  Shape want{n};
  if (k.has_time) want.push_back(steps);
  if (!k.sparse) want.push_back(k.units);
  bool ok = y.shape() == want;
  if (k.sparse && !ok) {  // a trailing axis of 1 is accepted for class ids
    Shape with1 = want;
    with1.push_back(1);
    ok = y.shape() == with1;
  }
  if (!ok)
    fail<ShapeError>(name, " has shape ", shape_str(y.shape()), ", expected ", shape_str(want),
                     k.sparse ? " of class ids" : "", " for loss ", loss, " (the model output ",
                     k.has_time ? "[N, T, U]" : "[N, U]", " has U = ", k.units, ")");
  const int64_t per_row = n ? y.numel() / n : 0;
  for (int64_t i = 0; i < y.numel(); ++i) {
    const float v = y[i];
    const int64_t row = i / std::max<int64_t>(per_row, 1);
    if (!std::isfinite(v))
      fail<InvalidArgument>(name, " contains ", std::isnan(v) ? "NaN" : "Inf", " at row ", row);
    if (k.sparse && (v < 0.0f || v >= static_cast<float>(k.units) || v != std::floor(v)))
      fail<InvalidArgument>(name, ": label ", v, " at row ", row,
                            k.has_time ? ", step " + std::to_string(i % per_row) : "",
                            " is outside the class range [0, ", k.units, ") of loss ", loss);
  }
}

// Rows `rows` of batch-first x ([N, T, ...] when has_time, else [N, ...]) -> time-major out
// ([T, b, ...] / [b, ...]); resizes only when the shape changes.
void gather_rows(const Tensor& x, std::span<const int64_t> rows, bool has_time, Tensor& out) {
  const int64_t b = static_cast<int64_t>(rows.size());
  const int64_t T = has_time ? x.dim(1) : 1;
  const int64_t inner = x.dim(0) ? x.numel() / (x.dim(0) * T) : 0;
  // Output shape: [T, b, rest...] or [b, rest...] with rest = x's dims after the time axis.
  const std::size_t first_rest = has_time ? 2 : 1;
  const std::size_t rest = x.rank() - first_rest;
  if (has_time) {
    if (rest == 0) out.resize({T, b});
    else if (rest == 1) out.resize({T, b, x.dim(2)});
    else fail<ShapeError>("gather: unsupported array rank ", x.rank());
  } else {
    if (rest == 0) out.resize({b});
    else if (rest == 1) out.resize({b, x.dim(1)});
    else fail<ShapeError>("gather: unsupported array rank ", x.rank());
  }
  const std::size_t bytes = static_cast<std::size_t>(inner) * sizeof(float);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < b; ++i)
      std::memcpy(out.data() + (t * b + i) * inner, x.data() + (rows[i] * T + t) * inner, bytes);
}

// The rows [begin, end) of every array.
std::vector<Tensor> slice_rows(const std::vector<Tensor>& xs, int64_t begin, int64_t end) {
  std::vector<Tensor> out;
  for (const Tensor& x : xs) {
    Shape s = x.shape();
    s[0] = end - begin;
    Tensor part(s);
    const int64_t row = x.dim(0) ? x.numel() / x.dim(0) : 0;
    std::memcpy(part.data(), x.data() + begin * row,
                static_cast<std::size_t>((end - begin) * row) * sizeof(float));
    out.push_back(std::move(part));
  }
  return out;
}

uint64_t fnv1a(uint64_t h, const void* data, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

// ---- one pass over a data set ------------------------------------------------------------

// Buffers and bookkeeping shared by the training and evaluation passes.
class Runner {
 public:
  Runner(Model& model, Trainer& t) : model_(model), t_(t) {
    const std::size_t ni = model.num_inputs(), no = model.num_outputs();
    xb_.resize(ni);
    xptr_.resize(ni);
    yb_.resize(no);
    dy_.resize(no);
    dyptr_.resize(no);
  }

  // Gathers the batch's rows of x, y and the row weights (`w` may be empty).
  void gather(const std::vector<Tensor>& x, const std::vector<Tensor>& y, const Tensor& w,
              std::span<const int64_t> rows) {
    for (std::size_t i = 0; i < x.size(); ++i) {
      gather_rows(x[i], rows, true, xb_[i]);
      xptr_[i] = &xb_[i];
    }
    for (std::size_t o = 0; o < y.size(); ++o)
      gather_rows(y[o], rows, target_kind(model_, t_, o).has_time, yb_[o]);
    has_w_ = !w.empty();
    if (has_w_) {
      wb_.resize({static_cast<int64_t>(rows.size())});
      for (std::size_t i = 0; i < rows.size(); ++i) wb_[static_cast<int64_t>(i)] = w[rows[i]];
    }
  }

  // Forward (and, when training, backward + update). Returns the batch's total loss.
  double step(const Context& ctx, bool train) {
    const std::vector<const Tensor*>& ys = model_.forward_batch(ctx, xptr_);
    const std::vector<const Tensor*>& masks = model_.output_masks();
    double total = 0.0;
    for (std::size_t o = 0; o < ys.size(); ++o) {
      const Tensor* mask = ys[o]->rank() == 3 ? masks[o] : nullptr;
      const double l = t_.losses[o].forward(*ys[o], yb_[o], has_w_ ? &wb_ : nullptr, mask);
      total += t_.loss_weights[o] * l;
      for (auto& m : t_.metrics[o]) m->update(*ys[o], yb_[o], has_w_ ? &wb_ : nullptr, mask);
    }
    if (!train) return total;
    for (std::size_t o = 0; o < ys.size(); ++o) {
      const Tensor& g = t_.losses[o].backward();
      if (t_.loss_weights[o] == 1.0) {
        dyptr_[o] = &g;
      } else {
        dy_[o].resize(g.shape());
        const float s = static_cast<float>(t_.loss_weights[o]);
        for (int64_t i = 0; i < g.numel(); ++i) dy_[o][i] = s * g[i];
        dyptr_[o] = &dy_[o];
      }
    }
    model_.zero_grad();
    model_.backward_batch(ctx, dyptr_);
    t_.optimizer->step();
    return total;
  }

  void reset_metrics() {
    for (auto& ms : t_.metrics)
      for (auto& m : ms) m->reset();
    metric_weight_.assign(t_.metrics.size(), 0.0);
    global_metrics_.clear();
  }

  // Data-parallel step on this rank's `rows` rows (already gathered; may be 0) of a global batch:
  // forward, loss and metrics, then the gather of divisors, losses and metric sums; when
  // training, scaled backward, gradient allreduce and optimizer step. Returns the global batch's
  // total loss (the same on every rank).
  double step_dp(const Context& ctx, bool train, int64_t rows) {
    const std::size_t no = model_.num_outputs();
    // Per rank: per output [D, L·D, C, S_m for each metric]; D = loss divisor, L = loss,
    // C = running metric weight Σ w·mask, S_m = running weighted metric sum.
    std::vector<double> mine;
    const std::vector<const Tensor*>* ys = nullptr;
    if (rows > 0) ys = &model_.forward_batch(ctx, xptr_);
    for (std::size_t o = 0; o < no; ++o) {
      double divisor = 0.0, loss = 0.0;
      if (rows > 0) {
        const Tensor& yo = *(*ys)[o];
        const Tensor* mask = yo.rank() == 3 ? model_.output_masks()[o] : nullptr;
        loss = t_.losses[o].forward(yo, yb_[o], has_w_ ? &wb_ : nullptr, mask);
        for (auto& m : t_.metrics[o]) m->update(yo, yb_[o], has_w_ ? &wb_ : nullptr, mask);
        // D as the loss computes it; C = Σ_e w_b·m_e as the metrics count it.
        const int64_t T = yo.rank() == 3 ? yo.dim(0) : 1;
        double c = 0.0;
        if (mask) {
          for (int64_t e = 0; e < mask->numel(); ++e) {
            divisor += (*mask)[e];
            c += (has_w_ ? double(wb_[e % rows]) : 1.0) * double((*mask)[e]);
          }
        } else {
          divisor = double(T * rows);
          if (has_w_)
            for (int64_t b = 0; b < rows; ++b) c += double(T) * double(wb_[b]);
          else
            c = divisor;
        }
        metric_weight_[o] += c;
      }
      mine.push_back(divisor);
      mine.push_back(loss * divisor);
      mine.push_back(metric_weight_[o]);
      for (const auto& m : t_.metrics[o]) {
        const double r = m->result();
        mine.push_back((is_root_metric(*m) ? r * r : r) * metric_weight_[o]);
      }
    }
    std::vector<double> all;  // [rank][mine.size()]
    dist::allgather(mine.data(), mine.size(), all, "the loss gather");
    const std::size_t width = mine.size();
    const auto ranks = all.size() / width;
    // Sums over ranks in rank order (the same bits on every rank).
    auto total = [&](std::size_t k) {
      double s = 0.0;
      for (std::size_t r = 0; r < ranks; ++r) s += all[r * width + k];
      return s;
    };
    double batch_loss = 0.0;
    std::vector<double> share(no, 0.0);  // D_o,r / Σ D_o
    global_metrics_.clear();
    std::size_t k = 0;
    for (std::size_t o = 0; o < no; ++o) {
      const double d = total(k), ld = total(k + 1), c = total(k + 2);
      if (d > 0.0) {
        batch_loss += t_.loss_weights[o] * ld / d;
        share[o] = mine[k] / d;
      }
      k += 3;
      for (const auto& m : t_.metrics[o]) {
        const double mean = c > 0.0 ? total(k) / c : 0.0;
        global_metrics_.push_back(is_root_metric(*m) ? std::sqrt(mean) : mean);
        ++k;
      }
    }
    if (!train) return batch_loss;

    model_.zero_grad();
    if (rows > 0) {
      for (std::size_t o = 0; o < no; ++o) {
        const Tensor& g = t_.losses[o].backward();
        dy_[o].resize(g.shape());
        const float s = static_cast<float>(t_.loss_weights[o] * share[o]);
        for (int64_t i = 0; i < g.numel(); ++i) dy_[o][i] = s * g[i];
        dyptr_[o] = &dy_[o];
      }
      model_.backward_batch(ctx, dyptr_);
    }
    reduce_gradients();
    t_.optimizer->step();
    return batch_loss;
  }

  // Sums every variable's gradient over the ranks (one flat buffer, bucketed by dist).
  void reduce_gradients() {
    if (vars_.empty()) vars_ = model_.variables();
    std::size_t n = 0;
    for (const Variable& v : vars_) n += static_cast<std::size_t>(v.grad.numel());
    flat_.resize(n);  // [P]
    std::size_t off = 0;
    for (const Variable& v : vars_) {
      const auto c = static_cast<std::size_t>(v.grad.numel());
      std::memcpy(flat_.data() + off, v.grad.data, c * sizeof(float));
      off += c;
    }
    dist::allreduce_sum(flat_.data(), n, "the gradient allreduce");
    off = 0;
    for (const Variable& v : vars_) {
      const auto c = static_cast<std::size_t>(v.grad.numel());
      std::memcpy(v.grad.data, flat_.data() + off, c * sizeof(float));
      off += c;
    }
  }

  // values() for data-parallel runs: the global metrics of the last step_dp().
  std::vector<std::pair<std::string, double>> values_dp(double loss,
                                                        const std::string& prefix) const {
    std::vector<std::pair<std::string, double>> v{{prefix + "loss", loss}};
    std::size_t k = 0;
    for (std::size_t o = 0; o < t_.metrics.size(); ++o)
      for (const auto& m : t_.metrics[o]) {
        const std::string name =
            t_.metrics.size() == 1 ? m->name() : "output_" + std::to_string(o) + "_" + m->name();
        v.emplace_back(prefix + name, k < global_metrics_.size() ? global_metrics_[k] : 0.0);
        ++k;
      }
    return v;
  }

  // ("loss", v), then the metrics (prefixed per output when there are several), with `prefix`.
  std::vector<std::pair<std::string, double>> values(double loss, const std::string& prefix) const {
    std::vector<std::pair<std::string, double>> v{{prefix + "loss", loss}};
    for (std::size_t o = 0; o < t_.metrics.size(); ++o)
      for (const auto& m : t_.metrics[o]) {
        const std::string name =
            t_.metrics.size() == 1 ? m->name() : "output_" + std::to_string(o) + "_" + m->name();
        v.emplace_back(prefix + name, m->result());
      }
    return v;
  }

 private:
  Model& model_;
  Trainer& t_;
  std::vector<Tensor> xb_, yb_, dy_;   // per input [T, b, F]; per output targets / scaled grads
  std::vector<const Tensor*> xptr_, dyptr_;
  Tensor wb_;                          // [b] row weights
  bool has_w_ = false;
  // Data-parallel only.
  static bool is_root_metric(const Metric& m) {
    return m.name() == "rmse" || m.name() == "root_mean_squared_error";
  }
  std::vector<double> metric_weight_;  // [output] this rank's running Σ w·mask since reset
  std::vector<double> global_metrics_; // [output·metric] global values after the last step
  std::vector<Variable> vars_;
  std::vector<float> flat_;            // [P] all gradients, for the allreduce
};

// The step count output o's per-step target must have: the output's fixed length when it has
// one; otherwise the length of the input it follows. With several inputs of different lengths
// (an encoder and a decoder) the target may match any of them; the loss checks each batch.
int64_t target_steps(const Model& model, std::size_t o, const std::vector<Tensor>& x,
                     const Tensor& y) {
  const Shape& s = model.output_shape(o);
  if (s.size() == 2 && s[0] > 0) return s[0];
  if (y.rank() >= 2)
    for (const Tensor& xi : x)
      if (xi.rank() >= 2 && xi.dim(1) == y.dim(1)) return y.dim(1);
  return x[0].dim(1);
}

// Checks x and y together; returns N.
int64_t check_data(Model& model, Trainer& t, const std::vector<Tensor>& x,
                   const std::vector<Tensor>& y, const char* xname, const char* yname) {
  if (x.size() != model.num_inputs())
    fail<InvalidArgument>(model.class_name(), " '", model.name(), "' takes ", model.num_inputs(),
                          " input array(s), got ", x.size());
  if (y.size() != model.num_outputs())
    fail<InvalidArgument>(model.class_name(), " '", model.name(), "' has ", model.num_outputs(),
                          " output(s), got ", y.size(), " target array(s)");
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x[i].rank() == 0 || x[i].dim(0) == 0)
      fail<InvalidArgument>(xname, " is empty (shape ", shape_str(x[i].shape()), "): no rows to use");
    try {
      // check_input is protected; predict-style checks through a zero-row probe are not
      // possible, so the rank/feature/finiteness checks run here directly.
      const Shape& s = model.input_shape(i);
      const bool ids = s.size() == 1;
      if (x[i].rank() != (ids ? 2u : 3u) || (!ids && x[i].dim(2) != s[1]) ||
          (s[0] > 0 && x[i].dim(1) != s[0]))
        fail<ShapeError>("has shape ", shape_str(x[i].shape()), ", expected ",
                         ids ? "token ids [N, T]" : "[N, T, " + std::to_string(s[1]) + "]",
                         s[0] > 0 ? " with T = " + std::to_string(s[0]) : "");
      const int64_t per_row = x[i].numel() / x[i].dim(0);
      for (int64_t k = 0; k < x[i].numel(); ++k)
        if (!std::isfinite(x[i][k]))
          fail<InvalidArgument>("contains ", std::isnan(x[i][k]) ? "NaN" : "Inf", " at row ",
                                k / per_row);
    } catch (const ShapeError& e) {
      fail<ShapeError>(out_name(model, i, xname), " ", e.what());
    } catch (const InvalidArgument& e) {
      fail<InvalidArgument>(out_name(model, i, xname), " ", e.what());
    }
  }
  const int64_t n = x[0].dim(0);
  for (std::size_t i = 1; i < x.size(); ++i)
    if (x[i].dim(0) != n)
      fail<ShapeError>(out_name(model, i, xname), " has ", x[i].dim(0), " rows, ",
                       out_name(model, 0, xname), " has ", n);
  for (std::size_t o = 0; o < y.size(); ++o) {
    if (y[o].rank() == 0 || y[o].dim(0) != n)
      fail<ShapeError>(out_name(model, o, yname), " has ", y[o].rank() ? y[o].dim(0) : 0,
                       " rows but ", xname, " has ", n, " (shapes ", shape_str(x[0].shape()),
                       " and ", shape_str(y[o].shape()), ")");
    check_target(model, t, o, y[o], n, target_steps(model, o, x, y[o]), yname);
  }
  return n;
}

// Per-row weights: sample_weight × class_weight (empty when neither is given).
Tensor row_weights(const Model& model, const Trainer& t, const Tensor& sample_weight,
                   const std::map<int64_t, double>& class_weight, const Tensor& y, int64_t n) {
  if (sample_weight.empty() && class_weight.empty()) return {};
  Tensor w({n}, 1.0f);
  if (!sample_weight.empty()) {
    if (sample_weight.rank() != 1 || sample_weight.dim(0) != n)
      fail<ShapeError>("sample_weight has shape ", shape_str(sample_weight.shape()),
                       ", expected [", n, "] (one weight per row)");
    for (int64_t i = 0; i < n; ++i) {
      if (!std::isfinite(sample_weight[i]) || sample_weight[i] < 0.0f)
        fail<InvalidArgument>("sample_weight at row ", i, " is ", sample_weight[i],
                              "; weights must be finite and >= 0");
      w[i] = sample_weight[i];
    }
  }
  if (!class_weight.empty()) {
    if (model.num_outputs() != 1)
      fail<ConfigError>("class_weight needs a single-output model");
    const TargetKind k = target_kind(model, t, 0);
    if (k.has_time)
      fail<ConfigError>("class_weight is not supported for per-time-step targets [N, T, ...]; "
                        "use sample_weight");
    const int64_t per_row = y.numel() / n;
    for (int64_t i = 0; i < n; ++i) {
      const float* r = y.data() + i * per_row;
      int64_t cls;
      if (k.sparse) cls = static_cast<int64_t>(r[0]);
      else if (per_row == 1) cls = static_cast<int64_t>(std::lround(r[0]));
      else cls = std::max_element(r, r + per_row) - r;
      auto it = class_weight.find(cls);
      if (it == class_weight.end())
        fail<InvalidArgument>("class_weight has no weight for class ", cls, " (row ", i, ")");
      w[i] *= static_cast<float>(it->second);
    }
  }
  return w;
}

bool stream_is_tty(std::ostream& out) {
  return &out == &std::cout && isatty(STDOUT_FILENO) == 1;
}

// ---- data-parallel helpers ---------------------------------------------------------------

// Rank r's rows of a global batch of B rows starting at b0: [lo, hi).
std::pair<int64_t, int64_t> rank_slice(int64_t b0, int64_t B, int64_t rank, int64_t ranks) {
  return {b0 + B * rank / ranks, b0 + B * (rank + 1) / ranks};
}

// Ranks other than 0 draw dropout masks from a stream of their own, a function of (seed,
// epoch, step, rank), so that a resumed run draws the same masks. Rank 0 keeps the trainer's
// checkpointed stream, as a single process does.
Rng rank_dropout_stream(uint64_t seed, int epoch, int64_t step, int rank) {
  const uint64_t mix = seed ^ (0x9E3779B97F4A7C15ull * (static_cast<uint64_t>(epoch) + 1)) ^
                       (0xBF58476D1CE4E5B9ull * (static_cast<uint64_t>(step) + 1));
  return Rng(mix, Rng::kDropout + (static_cast<uint64_t>(rank) << 8));
}

std::vector<std::string> u64_strings(const std::array<uint64_t, 4>& s) {
  std::vector<std::string> v;
  for (uint64_t w : s) v.push_back(std::to_string(w));
  return v;
}
std::array<uint64_t, 4> u64_array(const nlohmann::json& j) {
  std::array<uint64_t, 4> s{};
  for (std::size_t i = 0; i < 4; ++i) s[i] = std::stoull(j.at(i).get<std::string>());
  return s;
}

// Refuses to start when the ranks were given different data or options (SPMD library use):
// every rank sees every rank's values, so all of them throw the same error.
void check_same_everywhere(const DataFingerprint& fp, const FitOptions& o, const Model& model) {
  const uint64_t arch = std::hash<std::string>{}(model.to_json().dump());
  const double mine[] = {static_cast<double>(fp.n_train),
                         static_cast<double>(fp.hash >> 32),
                         static_cast<double>(fp.hash & 0xffffffffu),
                         static_cast<double>(o.batch_size),
                         static_cast<double>(o.epochs),
                         static_cast<double>(o.seed >> 32),
                         static_cast<double>(o.seed & 0xffffffffu),
                         o.shuffle ? 1.0 : 0.0,
                         static_cast<double>(arch >> 32),
                         static_cast<double>(arch & 0xffffffffu)};
  const std::size_t n = std::size(mine);
  std::vector<double> all;
  dist::allgather(mine, n, all, "the start-of-fit check");
  const char* what[] = {"training rows", "training data", "training data", "batch_size",
                        "epochs", "seed", "seed", "shuffle", "model", "model"};
  for (std::size_t r = 1; r < all.size() / n; ++r)
    for (std::size_t k = 0; k < n; ++k)
      if (all[r * n + k] != all[k])
        fail<ConfigError>("fit under MPI: rank ", r, " was given other ", what[k],
                          " than rank 0; every rank must call fit() with the same model, data "
                          "and options");
}

// Rank 0's training state -> every rank: weights, optimizer state, random streams and, after
// a restore, the loop position. `resumed` is rank 0's answer.
void sync_from_root(Model& model, Trainer& t, LoopState& loop, bool& resumed) {
  using nlohmann::json;
  std::string text;
  if (dist::rank() == 0) {
    json hist = json::object();
    for (const auto& [k, v] : loop.history.history) hist[k] = v;
    text = json{{"resumed", resumed},
                {"optimizer_state", t.optimizer->scalar_state()},
                {"rng_shuffle", u64_strings(t.shuffle_rng.state())},
                {"rng_dropout", u64_strings(t.dropout_rng.state())},
                {"resume_global_batch", t.resume_global_batch},
                {"epoch", loop.epoch},
                {"step", loop.step},
                {"loss", {loop.loss.sum(), loop.loss.count()}},
                {"history", hist},
                {"history_epochs", loop.history.epoch},
                {"order", loop.order.size()}}
               .dump();
  }
  dist::broadcast(text, "the start-of-fit state broadcast");
  if (dist::rank() != 0) {
    const json j = json::parse(text);
    resumed = j.at("resumed").get<bool>();
    t.optimizer->set_scalar_state(j.at("optimizer_state"));
    Rng r;
    r.set_state(u64_array(j.at("rng_shuffle")));
    t.shuffle_rng = r;
    r.set_state(u64_array(j.at("rng_dropout")));
    t.dropout_rng = r;
    t.resume_global_batch = j.at("resume_global_batch").get<int64_t>();
    loop.epoch = j.at("epoch").get<int>();
    loop.step = j.at("step").get<int64_t>();
    loop.loss.set(j.at("loss").at(0).get<double>(), j.at("loss").at(1).get<double>());
    loop.history = History{};
    loop.history.epoch = j.at("history_epochs").get<std::vector<int>>();
    for (const auto& [k, v] : j.at("history").items())
      loop.history.history[k] = v.get<std::vector<double>>();
    loop.order.resize(j.at("order").get<std::size_t>());
  }
  for (const Variable& v : model.variables())
    dist::broadcast(v.value.data, static_cast<std::size_t>(v.value.numel()),
                    "the start-of-fit state broadcast");
  for (auto& [name, view] : t.optimizer->state())
    dist::broadcast(view.data, static_cast<std::size_t>(view.numel()),
                    "the start-of-fit state broadcast");
  dist::broadcast(loop.order.data(), loop.order.size(), "the start-of-fit state broadcast");
}

// FNV-1a over every weight: equal on all ranks unless the replicas drifted apart.
uint64_t weights_hash(const Model& model) {
  uint64_t h = 1469598103934665603ull;
  for (const Variable& v : model.variables())
    h = fnv1a(h, v.value.data, static_cast<std::size_t>(v.value.numel()) * sizeof(float));
  return h;
}

// Rank 0's callback decisions -> every rank: {stop_training, stopped_on_nan, learning rate}.
// `idle`: the other ranks may wait long (rank 0 runs epoch-level callbacks), without spinning.
void sync_control(FitState& state, Trainer& t, bool idle) {
  double c[3] = {state.stop_training ? 1.0 : 0.0, state.stopped_on_nan ? 1.0 : 0.0,
                 t.optimizer->learning_rate()};
  if (idle) dist::broadcast_idle(c, 3);
  else dist::broadcast(c, 3, "the batch-end broadcast");
  state.stop_training = c[0] != 0.0;
  state.stopped_on_nan = c[1] != 0.0;
  if (c[2] != t.optimizer->learning_rate()) t.optimizer->set_learning_rate(c[2]);
}

}  // namespace

History Model::fit(const Tensor& x, const Tensor& y, const FitOptions& options) {
  return fit(std::vector<Tensor>{x}, std::vector<Tensor>{y}, options);
}

History Model::fit(const std::vector<Tensor>& x_all, const std::vector<Tensor>& y_all,
                   const FitOptions& options) {
  Trainer& t = trainer();
  if (options.epochs < 0) fail<InvalidArgument>("fit: epochs must be >= 0, got ", options.epochs);
  if (options.batch_size < 1)
    fail<InvalidArgument>("fit: batch_size must be >= 1, got ", options.batch_size);
  if (options.initial_epoch < 0)
    fail<InvalidArgument>("fit: initial_epoch must be >= 0, got ", options.initial_epoch);
  if (!(options.validation_split >= 0.0 && options.validation_split < 1.0))
    fail<InvalidArgument>("fit: validation_split must be in [0, 1), got ",
                          options.validation_split);
  if (options.verbose < 0 || options.verbose > 2)
    fail<InvalidArgument>("fit: verbose must be 0, 1 or 2, got ", options.verbose);
  // Data-parallel when joined to an MPI job of several ranks (recur/dist.hpp).
  if (dist::driving()) dist::send_fit(*this, t, x_all, y_all, options);
  const bool dp = dist::active();
  const int rank = dp ? dist::rank() : 0;
  const int64_t ranks = dp ? dist::size() : 1;
  const bool root = rank == 0;  // callbacks, progress and checkpoints
  const int64_t global_batch = options.batch_size * ranks;
  t.global_batch = global_batch;
  t.ranks = static_cast<int>(ranks);
  t.resume_global_batch = 0;
  const int64_t n_all = check_data(*this, t, x_all, y_all, "x", "y");
  Tensor w_all = row_weights(*this, t, options.sample_weight, options.class_weight,
                             y_all.empty() ? Tensor() : y_all[0], n_all);

  // Validation: validation_data, or the LAST rows before shuffling (Keras).
  std::vector<Tensor> x_tr, y_tr, x_val, y_val;
  Tensor w_tr;
  const bool has_val_data = !options.validation_x.empty() || !options.validation_y.empty();
  int64_t n_tr = n_all;
  if (has_val_data) {
    x_val = options.validation_x;
    y_val = options.validation_y;
    check_data(*this, t, x_val, y_val, "validation x", "validation y");
  } else if (options.validation_split > 0.0) {
    n_tr = static_cast<int64_t>(static_cast<double>(n_all) * (1.0 - options.validation_split));
    if (n_tr < 1 || n_tr == n_all)
      fail<InvalidArgument>("fit: validation_split ", options.validation_split, " of ", n_all,
                            " rows leaves ", n_tr, " training and ", n_all - n_tr,
                            " validation rows; both need at least one");
    x_val = slice_rows(x_all, n_tr, n_all);
    y_val = slice_rows(y_all, n_tr, n_all);
  }
  const bool split = n_tr != n_all;
  if (split) {
    x_tr = slice_rows(x_all, 0, n_tr);
    y_tr = slice_rows(y_all, 0, n_tr);
    if (!w_all.empty()) w_tr = slice_rows({w_all}, 0, n_tr)[0];
  }
  const std::vector<Tensor>& x = split ? x_tr : x_all;
  const std::vector<Tensor>& y = split ? y_tr : y_all;
  const Tensor& w = split ? w_tr : w_all;
  const bool validate = !x_val.empty();

  DataFingerprint fp{n_tr, 1469598103934665603ull};
  for (const auto* arrays : {&x, &y})
    for (const Tensor& a : *arrays) {
      fp.hash = fnv1a(fp.hash, a.shape().data(), a.shape().size() * sizeof(int64_t));
      fp.hash = fnv1a(fp.hash, a.data(), static_cast<std::size_t>(a.numel()) * sizeof(float));
    }

  if (dp) check_same_everywhere(fp, options, *this);

  std::ostream& out = options.out ? *options.out : std::cout;
  const int verbose = root ? options.verbose : 0;
  Progbar bar(out, verbose, stream_is_tty(out));
  FitState state;
  state.model = this;
  state.optimizer = t.optimizer.get();
  state.epochs = options.epochs;
  state.steps_per_epoch = (n_tr + global_batch - 1) / global_batch;
  state.verbose = verbose;
  state.out = &out;

  t.shuffle_rng = Rng(options.seed, Rng::kShuffle);
  t.dropout_rng = Rng(options.seed, Rng::kDropout);
  LoopState loop;
  loop.epoch = options.initial_epoch;
  BackupAndRestore* backup = nullptr;
  for (const auto& cb : options.callbacks)
    if (auto* b = dynamic_cast<BackupAndRestore*>(cb.get())) backup = b;
  bool resumed = false;
  if (!dp) {
    resumed = backup && backup->restore(*this, t, loop, fp);
  } else {
    // Rank 0 alone reads the checkpoint; its error (or its state) reaches every rank.
    std::string error;
    std::exception_ptr root_error;
    if (root && backup) {
      try {
        resumed = backup->restore(*this, t, loop, fp);
      } catch (const std::exception& e) {
        error = e.what();
        root_error = std::current_exception();
      }
    }
    dist::broadcast(error, "the checkpoint restore");
    if (root_error) std::rethrow_exception(root_error);
    if (!error.empty()) fail<ConfigError>(error);
    sync_from_root(*this, t, loop, resumed);
  }
  // A mid-epoch checkpoint counts steps of the global batch it was written with: convert.
  if (resumed && loop.step > 0 && t.resume_global_batch > 0 &&
      t.resume_global_batch != global_batch) {
    const int64_t rows_done = loop.step * t.resume_global_batch;
    if (rows_done % global_batch != 0)
      fail<ConfigError>(backup ? backup->path() : std::string("checkpoint"),
                        ": the mid-epoch checkpoint is at row ", rows_done, " of epoch ",
                        loop.epoch + 1, " (", loop.step, " batches of ", t.resume_global_batch,
                        " rows), which a global batch of ", global_batch, " (", ranks,
                        " rank(s) x batch size ", options.batch_size,
                        ") does not divide; resume with a global batch that divides it, or "
                        "checkpoint at epoch ends only (save_freq 0)");
    loop.step = rows_done / global_batch;
  }

  Runner run(*this, t);
  Context train_ctx{true, &t.dropout_rng};
  History& hist = loop.history;
  if (root)
    for (const auto& cb : options.callbacks) cb->on_train_begin(state);
  if (dp) sync_control(state, t, true);

  try {
    for (; loop.epoch < options.epochs && !state.stop_training; ++loop.epoch) {
      const int epoch = loop.epoch;
      const bool mid_epoch = resumed && loop.step > 0 && !loop.order.empty();
      if (!mid_epoch) {
        loop.order.resize(static_cast<std::size_t>(n_tr));
        std::iota(loop.order.begin(), loop.order.end(), int64_t{0});
        if (options.shuffle)  // Fisher-Yates from the shuffle stream
          for (int64_t i = n_tr - 1; i > 0; --i)
            std::swap(loop.order[static_cast<std::size_t>(i)],
                      loop.order[t.shuffle_rng.below(static_cast<uint64_t>(i + 1))]);
        loop.step = 0;
        loop.loss.reset();
      }
      if (root)
        for (const auto& cb : options.callbacks) cb->on_epoch_begin(state, epoch);
      if (dp) sync_control(state, t, true);
      bar.epoch_begin(epoch, options.epochs, state.steps_per_epoch);
      run.reset_metrics();
      reset_states();

      Logs batch_logs;
      for (; loop.step < state.steps_per_epoch && !state.stop_training; ++loop.step) {
        const int64_t b0 = loop.step * global_batch;
        const int64_t b = std::min(global_batch, n_tr - b0);
        double l;
        std::vector<std::pair<std::string, double>> values;
        if (!dp) {
          run.gather(x, y, w, std::span<const int64_t>(loop.order).subspan(
                                  static_cast<std::size_t>(b0), static_cast<std::size_t>(b)));
          l = run.step(train_ctx, true);
          loop.loss.update(l, static_cast<double>(b));
          values = run.values(loop.loss.result(), "");
        } else {
          const auto [lo, hi] = rank_slice(b0, b, rank, ranks);
          if (rank != 0) t.dropout_rng = rank_dropout_stream(options.seed, epoch, loop.step, rank);
          run.gather(x, y, w, std::span<const int64_t>(loop.order).subspan(
                                  static_cast<std::size_t>(lo), static_cast<std::size_t>(hi - lo)));
          l = run.step_dp(train_ctx, true, hi - lo);
          loop.loss.update(l, static_cast<double>(b));
          values = run.values_dp(loop.loss.result(), "");
        }
        if (root) {
          batch_logs.clear();
          for (const auto& [k, v] : values) batch_logs[k] = v;
          batch_logs["batch_loss"] = l;
          for (const auto& cb : options.callbacks) cb->on_batch_end(state, loop.step, batch_logs);
          bar.update(loop.step + 1, values);
        }
        if (dp) sync_control(state, t, false);
        if (state.stopped_on_nan) break;
        if (root && backup && backup->save_freq() > 0 &&
            (loop.step + 1) % backup->save_freq() == 0 &&
            loop.step + 1 < state.steps_per_epoch && std::isfinite(l)) {
          LoopState snapshot = loop;
          snapshot.step = loop.step + 1;
          backup->save(*this, t, snapshot, fp);
        }
      }
      if (state.stopped_on_nan) {
        hist.stopped_on_nan = true;
        if (options.verbose > 0) out << "\n";
        break;
      }

      // Epoch end: training values, then validation.
      std::vector<std::pair<std::string, double>> values =
          dp ? run.values_dp(loop.loss.result(), "") : run.values(loop.loss.result(), "");
      if (validate && !dp) {
        const EvaluateOptions eo{options.batch_size, Tensor(), 0, nullptr};
        for (const auto& [k, v] : evaluate(x_val, y_val, eo)) values.emplace_back("val_" + k, v);
      } else if (validate) {
        // Split like training: global batches of N·batch_size, each rank its slice.
        const int64_t n_val = x_val[0].dim(0);
        std::vector<int64_t> rows(static_cast<std::size_t>(n_val));
        std::iota(rows.begin(), rows.end(), int64_t{0});
        run.reset_metrics();
        reset_states();
        MeanTracker val_loss;
        const Context ctx;
        for (int64_t v0 = 0; v0 < n_val; v0 += global_batch) {
          const int64_t vb = std::min(global_batch, n_val - v0);
          const auto [lo, hi] = rank_slice(v0, vb, rank, ranks);
          run.gather(x_val, y_val, Tensor(), std::span<const int64_t>(rows).subspan(
                         static_cast<std::size_t>(lo), static_cast<std::size_t>(hi - lo)));
          val_loss.update(run.step_dp(ctx, false, hi - lo), static_cast<double>(vb));
        }
        for (const auto& kv : run.values_dp(val_loss.result(), "val_")) values.push_back(kv);
      }
      if (dp) {
        // The replicas must hold the same weights; a difference would mean MPI's reduction gave
        // the ranks different sums.
        const uint64_t h = weights_hash(*this);
        const double mine[2] = {static_cast<double>(h >> 32), static_cast<double>(h & 0xffffffffu)};
        std::vector<double> all;
        dist::allgather(mine, 2, all, "the replica check");
        for (std::size_t r = 1; r < all.size() / 2; ++r)
          if (all[2 * r] != all[0] || all[2 * r + 1] != all[1])
            dist::abort_job("after epoch " + std::to_string(epoch + 1) + " rank " +
                            std::to_string(r) + "'s weights differ from rank 0's (the MPI "
                            "reduction gave the ranks different sums); rerun with "
                            "RECUR_MPI_REDUCE=ordered");
      }
      Logs logs(values.begin(), values.end());
      if (root)
        for (const auto& cb : options.callbacks) cb->on_epoch_end(state, epoch, logs);
      if (dp) sync_control(state, t, true);
      bar.epoch_end(values);
      hist.epoch.push_back(epoch);
      for (const auto& [k, v] : logs) hist.history[k].push_back(v);
      if (root && backup && std::isfinite(loop.loss.result())) {
        LoopState next = loop;
        next.epoch = epoch + 1;
        next.step = 0;
        next.order.clear();
        next.loss.reset();
        backup->save(*this, t, next, fp);
      }
      loop.step = 0;
    }
    hist.stopped_on_nan = hist.stopped_on_nan || state.stopped_on_nan;
    if (root)
      for (const auto& cb : options.callbacks) cb->on_train_end(state);
    if (dp) {  // callbacks may have changed rank 0's weights (restore_best_weights)
      double idle = 0.0;
      dist::broadcast_idle(&idle, 1);
      for (const Variable& v : variables())
        dist::broadcast(v.value.data, static_cast<std::size_t>(v.value.numel()),
                        "the end-of-fit weight broadcast");
    }
    if (root && backup && !hist.stopped_on_nan) backup->finished();
  } catch (const std::exception& e) {
    // The other ranks wait in a collective this rank will never join: end the job.
    if (dp) dist::abort_job(e.what());
    throw;
  }
  return hist;
}

std::vector<std::pair<std::string, double>> Model::evaluate(const Tensor& x, const Tensor& y,
                                                            const EvaluateOptions& options) {
  return evaluate(std::vector<Tensor>{x}, std::vector<Tensor>{y}, options);
}

std::vector<std::pair<std::string, double>> Model::evaluate(const std::vector<Tensor>& x,
                                                            const std::vector<Tensor>& y,
                                                            const EvaluateOptions& options) {
  Trainer& t = trainer();
  if (options.batch_size < 1)
    fail<InvalidArgument>("evaluate: batch_size must be >= 1, got ", options.batch_size);
  const int64_t n = check_data(*this, t, x, y, "x", "y");
  Tensor w = row_weights(*this, t, options.sample_weight, {}, y[0], n);
  Runner run(*this, t);
  run.reset_metrics();
  MeanTracker loss;
  std::vector<int64_t> rows(static_cast<std::size_t>(n));
  std::iota(rows.begin(), rows.end(), int64_t{0});
  Context ctx;
  std::ostream& out = options.out ? *options.out : std::cout;
  Progbar bar(out, options.verbose, stream_is_tty(out));
  const int64_t steps = (n + options.batch_size - 1) / options.batch_size;
  if (options.verbose > 0) bar.epoch_begin(0, 1, steps);
  reset_states();
  for (int64_t s = 0; s < steps; ++s) {
    const int64_t b0 = s * options.batch_size, b = std::min(options.batch_size, n - b0);
    run.gather(x, y, w, std::span<const int64_t>(rows).subspan(static_cast<std::size_t>(b0),
                                                               static_cast<std::size_t>(b)));
    loss.update(run.step(ctx, false), static_cast<double>(b));
    bar.update(s + 1, run.values(loss.result(), ""));
  }
  auto values = run.values(loss.result(), "");
  bar.epoch_end(values);
  return values;
}

}  // namespace recur
