// Model::compile / fit / evaluate: the training loop.
//
// One batch:  gather rows (time-major)  ->  forward_batch  ->  loss per output  ->  zero_grad
//             ->  backward_batch  ->  optimizer step  ->  running loss and metrics  ->  callbacks.
// Everything random comes from the trainer's two streams (shuffle, dropout), seeded by
// FitOptions::seed, so a run is bit-identical for a given seed and thread count, and a
// checkpoint that records both streams resumes bit-identically.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>
#include <numeric>

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

  std::ostream& out = options.out ? *options.out : std::cout;
  Progbar bar(out, options.verbose, stream_is_tty(out));
  FitState state;
  state.model = this;
  state.optimizer = t.optimizer.get();
  state.epochs = options.epochs;
  state.steps_per_epoch = (n_tr + options.batch_size - 1) / options.batch_size;
  state.verbose = options.verbose;
  state.out = &out;

  t.shuffle_rng = Rng(options.seed, Rng::kShuffle);
  t.dropout_rng = Rng(options.seed, Rng::kDropout);
  LoopState loop;
  loop.epoch = options.initial_epoch;
  BackupAndRestore* backup = nullptr;
  for (const auto& cb : options.callbacks)
    if (auto* b = dynamic_cast<BackupAndRestore*>(cb.get())) backup = b;
  const bool resumed = backup && backup->restore(*this, t, loop, fp);

  Runner run(*this, t);
  Context train_ctx{true, &t.dropout_rng};
  History& hist = loop.history;
  for (const auto& cb : options.callbacks) cb->on_train_begin(state);

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
    for (const auto& cb : options.callbacks) cb->on_epoch_begin(state, epoch);
    bar.epoch_begin(epoch, options.epochs, state.steps_per_epoch);
    run.reset_metrics();
    reset_states();

    Logs batch_logs;
    for (; loop.step < state.steps_per_epoch && !state.stop_training; ++loop.step) {
      const int64_t b0 = loop.step * options.batch_size;
      const int64_t b = std::min(options.batch_size, n_tr - b0);
      run.gather(x, y, w, std::span<const int64_t>(loop.order).subspan(
                              static_cast<std::size_t>(b0), static_cast<std::size_t>(b)));
      const double l = run.step(train_ctx, true);
      loop.loss.update(l, static_cast<double>(b));
      auto values = run.values(loop.loss.result(), "");
      batch_logs.clear();
      for (const auto& [k, v] : values) batch_logs[k] = v;
      batch_logs["batch_loss"] = l;
      for (const auto& cb : options.callbacks) cb->on_batch_end(state, loop.step, batch_logs);
      bar.update(loop.step + 1, values);
      if (state.stopped_on_nan) break;
      if (backup && backup->save_freq() > 0 && (loop.step + 1) % backup->save_freq() == 0 &&
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
    std::vector<std::pair<std::string, double>> values = run.values(loop.loss.result(), "");
    if (validate) {
      const EvaluateOptions eo{options.batch_size, Tensor(), 0, nullptr};
      for (const auto& [k, v] : evaluate(x_val, y_val, eo)) values.emplace_back("val_" + k, v);
    }
    Logs logs(values.begin(), values.end());
    for (const auto& cb : options.callbacks) cb->on_epoch_end(state, epoch, logs);
    bar.epoch_end(values);
    hist.epoch.push_back(epoch);
    for (const auto& [k, v] : logs) hist.history[k].push_back(v);
    if (backup && std::isfinite(loop.loss.result())) {
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
  for (const auto& cb : options.callbacks) cb->on_train_end(state);
  if (backup && !hist.stopped_on_nan) backup->finished();
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
